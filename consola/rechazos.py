"""Audit of the console's refused POSTs that never reach an operation (CONSOLE §4: "refused
attempts (validation, permission, conflict) are audited too").

An operation audits its own refusals (role, rules, version conflict) inside its transaction. This
module covers the two refusals the console makes *before* any operation runs, for a signed-in user:

- 403: the user's role does not reach the route's (``consola.seguridad``);
- 400: a malformed or missing form field (``EntradaNoValida`` and other ``BadRequest``).

One ``Auditoria`` row each, ``Resultado = 'rechazado'``: the user, role and IP, ``Accion`` from
the form's ``accion`` field (else ``POST``), ``Entidad`` from the path's first segment,
``EntidadId`` from its second when numeric, and in ``Despues`` the route, the HTTP status, the
reason and the *names* of the fields sent — never a value (a ``Clave`` or password must not reach
the table).

Not audited: CSRF refusals (the request may not come from the signed-in user at all: an attacker's
page can make the browser post; auditing it in the victim's name would mislead) and requests of
a client not signed in (401: there is no user to name). A failure writing the row is logged and
the refusal is answered anyway.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from flask import request

from common.operaciones import auditoria
from common.operaciones.auditoria import Actor
from consola import web

log = logging.getLogger("sam.consola")

#: First path segment -> Auditoria.Entidad (as the operations name their tables).
ENTIDADES = {
    "robots": "Robots", "equipos": "Equipos", "programaciones": "Programaciones", "pools": "Pools",
    "asignaciones": "Asignaciones", "mapeos": "MapeoRobots", "usuarios": "UsuariosConsola",
    "configuracion": "ConfiguracionSistema", "pausa": "ConfiguracionSistema", "ejecuciones": "Ejecuciones",
    "solicitudes": "SolicitudesServicio",
}  # fmt: skip
_ACCION = re.compile(r"^[A-Za-z_]{1,40}$")
#: Fields never named in the row (the CSRF token is the session's secret).
_OCULTOS = {"csrf_token"}


def descripcion(metodo: str, ruta: str, formulario: dict[str, Any], codigo: int, motivo: str) -> dict[str, Any]:
    """Accion, Entidad, EntidadId and Despues of the row for one refused request (pure)."""
    partes = [p for p in ruta.split("/") if p]
    primero = partes[0] if partes else ""
    entidad_id = partes[1] if len(partes) > 1 and partes[1].isdigit() and len(partes[1]) <= 12 else None
    accion = str(formulario.get("accion") or "").strip()
    return {
        "accion": accion if _ACCION.match(accion) else metodo,
        "entidad": ENTIDADES.get(primero, primero[:50] or "Consola"),
        "entidad_id": entidad_id,
        "despues": {"Ruta": f"{metodo} {ruta[:200]}", "Codigo": codigo, "Motivo": motivo[:1000],
                    "Campos": sorted(k[:60] for k in formulario if k not in _OCULTOS)[:50]},
    }


def auditar(codigo: int, motivo: str, ahora: datetime) -> None:
    """Write the refusal row of the current request, if a signed-in user POSTed it."""
    usuario = web.usuario()
    if usuario is None or request.method != "POST":
        return
    d = descripcion(request.method, request.path, request.form.to_dict(), codigo, motivo)
    actor = Actor(usuario.usuario, usuario.rol, request.remote_addr)
    try:
        web.db().run_in_transaction(lambda tx: auditoria.registrar(
            tx, actor, accion=d["accion"], entidad=d["entidad"], entidad_id=d["entidad_id"], antes=None,
            despues=d["despues"], resultado=auditoria.RECHAZADO, ahora=ahora))
    except Exception as exc:  # noqa: BLE001 - the refusal is answered even if its audit row fails
        log.error("No se pudo auditar el rechazo de %s %s (usuario %s): %s", request.method, request.path,
                  usuario.usuario, exc)
