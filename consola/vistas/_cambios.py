"""What every console POST handler shares (CONSOLE §3, §4): the :class:`Actor` of the request,
strict parsing of form fields (a malformed value is a 400 with a Spanish message, never a 500),
redirect-after-POST with a flash message, and the form re-shown with the operation's refusal.

Not a views module (leading underscore): it has no blueprint.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from flask import flash, jsonify, redirect, request
from werkzeug.exceptions import BadRequest

from common.operaciones import formularios
from common.operaciones.auditoria import Actor
from common.utils.enteros import MAX_INT_SQL as MAX_ENTERO
from common.utils.enteros import entero_ascii
from consola import web

#: Longest text a form field may carry (bigger bodies are cut by MAX_CONTENT_LENGTH anyway).
MAX_TEXTO = 4000
#: Every date a form carries is SAM's local time, as the DB stores it: an offset or zone is refused.
SIN_ZONA = "sin zona horaria: hora local de SAM_ZONA_HORARIA"


class EntradaNoValida(BadRequest):
    """A malformed form field: 400 with the Spanish ``mensaje`` (shown by the error page)."""

    def __init__(self, mensaje: str) -> None:
        super().__init__(mensaje)
        self.mensaje = mensaje


def actor() -> Actor:
    u = web.usuario()
    if u is None:  # the security layer answers 401 before any handler runs; defensive only
        raise EntradaNoValida("Sesión no válida.")
    return Actor(u.usuario, u.rol, request.remote_addr)


def ahora() -> datetime:
    """SAM's clock, naive local time (as the DB stores it)."""
    return web.contexto().clock.now_local().replace(tzinfo=None)


def texto(nombre: str, *, obligatorio: bool = False, maximo: int = MAX_TEXTO) -> str | None:
    valor = request.form.get(nombre)
    valor = None if valor is None else valor.strip()
    if not valor:
        if obligatorio:
            raise EntradaNoValida(f"Falta el campo {nombre}.")
        return None
    if len(valor) > maximo:
        raise EntradaNoValida(f"El campo {nombre} admite como máximo {maximo} caracteres.")
    return valor


def entero(nombre: str, *, obligatorio: bool = False, minimo: int | None = None,
           maximo: int | None = None) -> int | None:
    """A whole number in ASCII digits (:func:`entero_ascii`), within ``minimo``..``maximo`` and never
    beyond SQL Server's INT (a bigger value would fail in the DB, not here)."""
    valor = texto(nombre, obligatorio=obligatorio, maximo=50)
    if valor is None:
        return None
    numero = entero_ascii(request.form.get(nombre) or "")  # the raw value: " 1" is not a number either
    if numero is None:
        raise EntradaNoValida(f"El campo {nombre} debe ser un número entero (se recibió '{valor[:20]}').")
    bajo = -MAX_ENTERO - 1 if minimo is None else max(minimo, -MAX_ENTERO - 1)
    alto = MAX_ENTERO if maximo is None else min(maximo, MAX_ENTERO)
    if not bajo <= numero <= alto:
        raise EntradaNoValida(f"El campo {nombre} debe estar entre {bajo} y {alto} (se recibió {numero}).")
    return numero


def enteros(nombre: str) -> list[int]:
    """Every value of a repeated field (e.g. the equipos of a schedule), as ids (1..INT)."""
    return [id_de_campo(nombre, valor) for valor in request.form.getlist(nombre) if valor.strip()]


def id_de_campo(nombre: str, valor: str) -> int:
    """One id a form field carries: ASCII digits, 1..SQL Server's INT, else a Spanish 400."""
    numero = entero_ascii(valor)
    if numero is None or not 1 <= numero <= MAX_ENTERO:
        raise EntradaNoValida(f"El campo {nombre} debe llevar identificadores numéricos entre 1 y {MAX_ENTERO} "
                              f"(se recibió '{valor[:20]}').")
    return numero


def casilla(nombre: str) -> bool:
    """A checkbox: present with 1/true/on/si → True; absent → False; anything else → 400."""
    valor = (request.form.get(nombre) or "").strip().lower()
    if valor in ("", "0", "false", "no"):
        return False
    if valor in ("1", "true", "on", "si", "sí"):
        return True
    raise EntradaNoValida(f"El campo {nombre} debe ser 0 o 1 (se recibió '{valor[:20]}').")


def bit(nombre: str) -> bool | None:
    """A 0/1 select: absent or blank → None (not changed)."""
    if not (request.form.get(nombre) or "").strip():
        return None
    return casilla(nombre)


def hora(nombre: str) -> time | None:
    valor = texto(nombre, maximo=8)
    if valor is None:
        return None
    for formato in ("%H:%M", "%H:%M:%S"):
        try:
            return datetime.strptime(valor, formato).time()
        except ValueError:
            pass
    raise EntradaNoValida(f"El campo {nombre} debe ser una hora HH:MM (se recibió '{valor}').")


def fecha(nombre: str) -> date | None:
    valor = texto(nombre, maximo=10)
    if valor is None:
        return None
    try:
        return date.fromisoformat(valor)
    except ValueError:
        raise EntradaNoValida(f"El campo {nombre} debe ser una fecha AAAA-MM-DD (se recibió '{valor}').") from None


def fecha_hora(nombre: str) -> datetime | None:
    """A ``datetime-local`` field (``AAAA-MM-DDTHH:MM``) or ``AAAA-MM-DD HH:MM``."""
    valor = texto(nombre, maximo=40)
    if valor is None:
        return None
    try:
        momento = datetime.fromisoformat(valor.replace(" ", "T"))
    except ValueError:
        raise EntradaNoValida(f"El campo {nombre} debe ser una fecha y hora AAAA-MM-DD HH:MM "
                              f"(se recibió '{valor}').") from None
    if momento.tzinfo is not None:
        raise EntradaNoValida(f"El campo {nombre} debe ir {SIN_ZONA} (se recibió '{valor}').")
    return momento


def version(nombre: str = "version") -> datetime | None:
    """The row version the form carried (``FechaActualizacion`` as ISO text)."""
    valor = texto(nombre, maximo=40)
    if valor is None:
        return None
    try:
        leida = datetime.fromisoformat(valor)
    except ValueError:
        raise EntradaNoValida("El campo version no es válido; vuelva a abrir el formulario.") from None
    if leida.tzinfo is not None:
        raise EntradaNoValida(f"El campo version debe ir {SIN_ZONA}; vuelva a abrir el formulario.")
    return leida


def version_obligatoria(nombre: str = "version") -> datetime:
    """The row version a console form MUST carry to edit, delete, activate or move a versioned row
    (CONSOLE §4: without it a save would overwrite blindly). Missing or malformed → 400."""
    valor = version(nombre)
    if valor is None:
        raise EntradaNoValida("Falta el campo version (la FechaActualizacion de la fila que se leyó): vuelva a "
                              "abrir el formulario; sin versión no se guarda nada.")
    return valor


def version_texto(valor: Any) -> str:
    """The hidden ``version`` field's value for a row's ``FechaActualizacion``."""
    if valor is None:
        return ""
    if isinstance(valor, str):
        valor = datetime.fromisoformat(valor)
    return valor.isoformat(timespec="milliseconds")


def hecho(mensaje: str, destino: str, **datos: Any):
    """Success: 303 to ``destino`` with a flash message (JSON clients: 200 with the data)."""
    if web.quiere_json():
        return jsonify(estado="ok", mensaje=mensaje, **datos), 200
    flash(mensaje, "ok")
    return redirect(destino, 303)


def rechazado(plantilla: str, datos: dict[str, Any], mensaje: str, estado: int = 409, **solo_html: Any):
    """A refusal: the form re-shown with the Spanish ``mensaje`` (nothing was written)."""
    return web.responder(plantilla, {"estado": "rechazado", "mensaje": mensaje, **datos}, estado,
                         error=mensaje, **solo_html)


def identificador(valor: str) -> int:
    """A row id from the URL (``/robots/<id>``): a positive integer, else 400."""
    numero = entero_ascii(valor)
    if numero is None or not 1 <= numero <= MAX_ENTERO:
        raise EntradaNoValida(f"Identificador no válido: '{valor[:20]}' (se esperaba un número entre 1 y "
                              f"{MAX_ENTERO}).")
    return numero


def id_formulario() -> str | None:
    """The create form's one-time token (hidden ``id_formulario``); None when absent (a script's POST:
    no de-duplication). Malformed → 400."""
    try:
        return formularios.validar(request.form.get("id_formulario"))
    except formularios.FormularioNoValido as exc:
        raise EntradaNoValida(str(exc)) from None
