"""What every ``python -m consola`` command shares: SAM's clock, the typed parsing of the options
(each with a Spanish error naming the expected form; argparse adds the option's name and exits 2)
and the ``--json`` output (exactly one JSON object per command: ``{"estado": ..., "mensaje": ...}``).
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime, time
from typing import Any

from common.operaciones import edicion

#: ``estado`` of a ``--json`` answer besides the operations' own (``aplicado``, ``ya_aplicado``...).
OK, RECHAZADO, ERROR = "ok", "rechazado", "error"

_VERDADERO = {"1", "true", "si", "sí", "s", "yes", "y", "verdadero"}
_FALSO = {"0", "false", "no", "n", "falso"}


def ahora_sam(cfg: Any) -> datetime:
    """Now in SAM's clock (``SAM_ZONA_HORARIA``), naive local time as the DB stores it: the same
    clock as the console's, whatever the zone of the OS that runs the command."""
    from common.clock import Clock
    from common.utils.config_manager import ajuste

    return Clock(ajuste(cfg, "SAM_ZONA_HORARIA") or None).now_local()


# --------------------------------------------------------------------------------------------
# Typed options (argparse ``type=``): the value as the operations expect it, or a Spanish error
# --------------------------------------------------------------------------------------------
def entero(texto: str) -> int:
    try:
        return int(str(texto).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"debe ser un número entero (p. ej. 2), no «{texto}»") from None


def entero_o_vacio(texto: str) -> str:
    """An integer as text, or empty (the column goes back to NULL)."""
    limpio = str(texto).strip()
    if limpio:
        entero(limpio)
    return limpio


def booleano(texto: str) -> str:
    """``sí``/``no`` (also 1/0, true/false) as ``"1"``/``"0"``."""
    limpio = str(texto).strip().lower()
    if limpio in _VERDADERO:
        return "1"
    if limpio in _FALSO:
        return "0"
    raise argparse.ArgumentTypeError(f"debe ser sí o no (también 1/0), no «{texto}»")


def hora(texto: str) -> str:
    """``HH:MM`` or ``HH:MM:SS`` (00:00-23:59); empty: no time."""
    limpio = str(texto).strip()
    if not limpio:
        return limpio
    try:
        if len(limpio) in (5, 8) and limpio[2] == ":":
            return time.fromisoformat(limpio).isoformat(timespec="seconds")[: len(limpio)]
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"hora no válida «{texto}»: use HH:MM de 00:00 a 23:59 (p. ej. 09:30)")


def fecha(texto: str) -> str:
    """``AAAA-MM-DD``; empty: no date."""
    limpio = str(texto).strip()
    if not limpio:
        return limpio
    try:
        if len(limpio) == 10:
            return date.fromisoformat(limpio).isoformat()
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"fecha no válida «{texto}»: use AAAA-MM-DD (p. ej. 2026-03-31)")


def fecha_hora(texto: str) -> datetime:
    """``AAAA-MM-DD HH:MM[:SS]`` (SAM's local time)."""
    for formato in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(str(texto).strip(), formato)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"fecha y hora no válida «{texto}»: use \"AAAA-MM-DD HH:MM\" "
                                     "(p. ej. \"2026-03-31 18:00\")")


def version(texto: str) -> datetime | None:
    try:
        return edicion.leer_version(texto)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def segundos(texto: str) -> float:
    try:
        valor = float(str(texto).strip().replace(",", "."))
    except ValueError:
        valor = -1.0
    if not 0 <= valor <= 86400:
        raise argparse.ArgumentTypeError(f"debe ser un número de segundos entre 0 y 86400, no «{texto}»")
    return valor


def texto(valor: str) -> str:
    return valor


#: Parser of a column by the operations' field kind (common/operaciones/edicion.py).
POR_TIPO = {edicion.BOOL: booleano, edicion.ENTERO: entero_o_vacio, edicion.ENTERO_NULO: entero_o_vacio,
            edicion.TEXTO: texto, edicion.TEXTO_NULO: texto}


def de_anotacion(anotacion: Any) -> Any:
    """Parser of a ``Programacion`` field by its annotation (``time | None``, ``int | None``...)."""
    nombre = str(anotacion)
    for clave, tipo in (("time", hora), ("date", fecha), ("int", entero_o_vacio), ("bool", booleano)):
        if nombre.split(" ")[0] == clave or nombre == f"<class '{clave}'>":
            return tipo
    return texto


# --------------------------------------------------------------------------------------------
# --json output
# --------------------------------------------------------------------------------------------
def a_texto(valor: Any) -> str:
    if isinstance(valor, datetime):
        return edicion.texto_version(valor) or ""
    iso = getattr(valor, "isoformat", None)
    return iso() if callable(iso) else str(valor)


def imprimir_json(estado: str, mensaje: str, **datos: Any) -> None:
    """The one JSON object of a command: ``estado``, ``mensaje`` and the command's data."""
    print(json.dumps({"estado": estado, "mensaje": mensaje, **datos}, ensure_ascii=False, default=a_texto,
                     indent=2))


def listado(filas: list[Any], que: str) -> dict[str, Any]:
    """The fields of a listing's JSON object (``filas``), with a Spanish ``mensaje``."""
    return {"mensaje": f"{len(filas)} {que}.", "filas": filas}
