"""What a console view needs: the request's user, the database, the clock, and one way to answer
HTML or JSON (:func:`responder`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from flask import current_app, g, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider


@dataclass(frozen=True)
class UsuarioSesion:
    """The signed-in user of a request (``g.usuario``)."""

    usuario: str
    rol: str
    nombre: str | None
    origen: str  # "local" (UsuariosConsola) or "ldap"
    #: UsuariosConsola.VersionSesion at sign-in (local users; None for LDAP).
    version: int | None = None


def contexto() -> Any:
    """The app's :class:`consola.app.Contexto` (settings, database, clock, LDAP)."""
    return current_app.extensions["sam"]


def db() -> Any:
    return contexto().db


def usuario() -> UsuarioSesion | None:
    return g.get("usuario")


def quiere_json() -> bool:
    """True when the client prefers JSON (``Accept: application/json``) over HTML."""
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def responder(plantilla: str, datos: dict[str, Any], estado: int = 200, **solo_html: Any):
    """Render ``plantilla`` with ``datos`` (and ``solo_html``), or answer ``datos`` as JSON when
    the client asks for JSON. Both carry the same data and pass the same authorization."""
    if quiere_json():
        return jsonify(datos), estado
    return render_template(plantilla, **datos, **solo_html), estado


def a_json(valor: Any) -> Any:
    """JSON form of DB values: dates/times as ISO text, Decimal as number, bytes dropped."""
    if isinstance(valor, (datetime, date, time)):
        return valor.isoformat()
    if isinstance(valor, Decimal):
        return float(valor)
    if isinstance(valor, (bytes, bytearray)):
        return None
    raise TypeError(f"no serializable a JSON: {type(valor).__name__}")


class ProveedorJson(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        return a_json(o)


def json_texto(valor: Any) -> str:
    return json.dumps(valor, ensure_ascii=False, default=a_json)
