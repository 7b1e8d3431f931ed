"""What the read views accept in their query string (CONSOLE §3): every filter is parsed here and a
value that does not fit answers 400 with a Spanish message naming the field (never a 500, never a
value reaching SQL unchecked)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from math import ceil
from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest, NotFound

from common.utils.enteros import MAX_INT_SQL, entero_ascii

MAX_ENTERO = MAX_INT_SQL
MAX_PAGINA = 100_000
TAMANOS = (25, 50, 100, 200)


class EntradaNoValida(BadRequest):
    """A query-string value refused: 400 with a Spanish ``mensaje`` naming the field."""

    def __init__(self, mensaje: str) -> None:
        super().__init__(description=mensaje)
        self.mensaje = mensaje


class NoExiste(NotFound):
    """404 with a Spanish ``mensaje`` (an id that is not in the DB)."""

    def __init__(self, mensaje: str) -> None:
        super().__init__(description=mensaje)
        self.mensaje = mensaje


def no_existe(mensaje: str):
    raise NoExiste(mensaje)


def rechazar(mensaje: str):
    raise EntradaNoValida(mensaje)


def texto(nombre: str, maximo: int = 200) -> str | None:
    valor = (request.args.get(nombre) or "").strip()
    if len(valor) > maximo:
        rechazar(f"El filtro «{nombre}» admite como mucho {maximo} caracteres.")
    return valor or None


def entero(nombre: str, minimo: int = 0, maximo: int = MAX_ENTERO) -> int | None:
    valor = texto(nombre, 50)
    if valor is None:
        return None
    n = entero_ascii(request.args.get(nombre) or "")  # the raw value: " 1" is not a number either
    if n is None:
        rechazar(f"El filtro «{nombre}» debe ser un número entero; se recibió «{valor}».")
    if not minimo <= n <= maximo:
        rechazar(f"El filtro «{nombre}» debe estar entre {minimo} y {maximo}; se recibió {n}.")
    return n


def identificador(valor: str) -> int:
    """An id from the URL path: a positive integer, else 400."""
    n = entero_ascii(valor)
    if n is None or not 1 <= n <= MAX_ENTERO:
        rechazar(f"El identificador debe ser un número entero positivo; se recibió «{valor[:40]}».")
    return n


def bit(nombre: str) -> int | None:
    """``1``/``0`` (also ``si``/``no``); empty: no filter."""
    valor = texto(nombre, 5)
    if valor is None:
        return None
    mapa = {"1": 1, "0": 0, "si": 1, "sí": 1, "no": 0}
    if valor.lower() not in mapa:
        rechazar(f"El filtro «{nombre}» admite 1 (sí) o 0 (no); se recibió «{valor}».")
    return mapa[valor.lower()]


def opcion(nombre: str, validas: Iterable[str], defecto: str | None = None) -> str | None:
    validas = tuple(validas)
    valor = texto(nombre, 50)
    if valor is None:
        return defecto
    if valor.lower() not in validas:
        rechazar(f"El filtro «{nombre}» admite {', '.join(validas)}; se recibió «{valor}».")
    return valor.lower()


def fecha_hora(nombre: str, fin_del_dia: bool = False) -> datetime | None:
    """``AAAA-MM-DD`` or ``AAAA-MM-DDTHH:MM`` (local time). A bare date as an upper bound means the
    whole day (the next midnight)."""
    valor = texto(nombre, 40)
    if valor is None:
        return None
    try:
        if len(valor) == 10:
            d = date.fromisoformat(valor)
            base = datetime.combine(d, time())
            return _dia_siguiente(base) if fin_del_dia else base
        momento = datetime.fromisoformat(valor.replace(" ", "T"))
    except ValueError:
        rechazar(f"El filtro «{nombre}» debe ser una fecha AAAA-MM-DD o AAAA-MM-DDTHH:MM; se recibió «{valor}».")
    if momento.tzinfo is not None:
        rechazar(f"El filtro «{nombre}» debe ir sin zona horaria: hora local de SAM_ZONA_HORARIA; "
                 f"se recibió «{valor}».")
    return momento


def _dia_siguiente(base: datetime) -> datetime:
    from datetime import timedelta

    return base + timedelta(days=1)


def pool() -> tuple[int | None, int]:
    """The ``pool`` filter: a PoolId, ``general`` (robots/equipos of no pool) or empty.
    Returns (PoolId or None, 1 when only the general pool)."""
    valor = texto("pool", 50)
    if valor is None:
        return None, 0
    if valor.lower() == "general":
        return None, 1
    return entero("pool", 1), 0


@dataclass(frozen=True)
class Paginacion:
    pagina: int
    tamano: int
    total: int

    @property
    def paginas(self) -> int:
        return max(1, ceil(self.total / self.tamano))

    @property
    def salto(self) -> int:
        return (self.pagina - 1) * self.tamano

    def como_dict(self) -> dict[str, Any]:
        return {"pagina": self.pagina, "tamano": self.tamano, "total": self.total, "paginas": self.paginas}


def tamano() -> int:
    n = entero("tamano", 1, max(TAMANOS))
    if n is None:
        return 50
    if n not in TAMANOS:
        rechazar(f"El filtro «tamano» admite {', '.join(map(str, TAMANOS))}; se recibió {n}.")
    return n


def paginacion(total: int, tam: int) -> Paginacion:
    """Page ``pagina`` (1 by default) of ``total`` rows; a page past the last one is refused."""
    pagina = entero("pagina", 1, MAX_PAGINA) or 1
    p = Paginacion(pagina, tam, total)
    if pagina > p.paginas:
        rechazar(f"La página {pagina} no existe: hay {p.paginas}.")
    return p


def enlace(**cambios: Any) -> str:
    """The current URL with some query values replaced (None removes one)."""
    from urllib.parse import urlencode

    args = {k: v for k, v in request.args.items() if k != "auto"}
    for k, v in cambios.items():
        if v is None:
            args.pop(k, None)
        else:
            args[k] = str(v)
    consulta = urlencode(args)
    return request.path + ("?" + consulta if consulta else "")
