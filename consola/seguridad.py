"""Who is asking and may they (CONSOLE §2, §3): the session, CSRF, roles and security headers.

- The session is Flask's signed cookie (``CONSOLA_SECRETO``): user, role, origin, a random session
  id (``sid``), the CSRF token and the time of the last activity, checked by the server on every
  request: after ``CONSOLA_SESION_INACTIVIDAD_MIN`` without activity the session is gone. A
  request with ``?auto=1`` or the header ``X-SAM-Auto: 1`` (auto-refresh) is not activity. A signed
  out ``sid`` is refused until it would have expired anyway (a copied cookie does not outlive the
  logout). Whatever the activity, a session lasts at most ``CONSOLA_SESION_MAXIMA_HORAS`` (for LDAP
  users, whose groups are only checked at sign-in, this bounds how long a removal from an AD group
  takes). A local user is re-read on every request and the session stores the row's
  ``VersionSesion`` at sign-in: a password change, a role change, a deactivation or a sign-out of
  that user (any browser) raise it, and every older session ends at its next request, also after
  a restart of the console (the version is in the DB; for LDAP users the signed-out ``sid`` is kept
  in memory only, and the maximum lifetime bounds a copied cookie after a restart).
- CSRF: every POST (the login included) carries ``csrf_token`` (form field) or ``X-CSRF-Token``
  (header) equal to the session's; otherwise 400.
- Unauthenticated: GET → 302 to ``/login?siguiente=…``; POST → 401; JSON → 401 with a JSON body.
  Wrong role → 403 with a Spanish page (JSON for JSON clients).
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
from typing import Any
from urllib.parse import urlencode

from flask import abort, current_app, g, jsonify, redirect, render_template, request, session

from common.operaciones import usuarios
from consola import web
from consola.rutas import PUBLICA, puede, rol_de

log = logging.getLogger("sam.consola")

CAMPO_CSRF = "csrf_token"
CABECERA_CSRF = "X-CSRF-Token"
_SEGUROS = ("GET", "HEAD", "OPTIONS")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
CABECERAS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class Revocadas:
    """Session ids signed out, kept until they would have expired by inactivity."""

    def __init__(self) -> None:
        self._hasta: dict[str, float] = {}
        self._lock = threading.Lock()

    def revocar(self, sid: str, hasta: float) -> None:
        with self._lock:
            self._hasta[sid] = hasta

    def revocada(self, sid: str, ahora: float) -> bool:
        with self._lock:
            for s in [s for s, h in self._hasta.items() if h < ahora]:
                del self._hasta[s]
            return sid in self._hasta


def token_csrf() -> str:
    """The session's CSRF token (created on first use, also for a visitor not signed in)."""
    if CAMPO_CSRF not in session:
        session[CAMPO_CSRF] = secrets.token_urlsafe(32)
    return session[CAMPO_CSRF]


def _ahora() -> float:
    return web.contexto().clock.now_utc().timestamp()


def abrir_sesion(usuario: str, rol: str, nombre: str | None, origen: str, *, version: int | None = None) -> None:
    """A brand-new session for a signed-in user (no value of the previous one survives)."""
    session.clear()
    ahora = _ahora()
    session.update(usuario=usuario, rol=rol, nombre=nombre, origen=origen, sid=secrets.token_urlsafe(24),
                   inicio=ahora, ultimo=ahora, version=version)
    session[CAMPO_CSRF] = secrets.token_urlsafe(32)


def cerrar_sesion() -> None:
    ctx = web.contexto()
    sid = session.get("sid")
    if sid:
        ctx.revocadas.revocar(sid, _ahora() + ctx.inactividad_seg + 60)
    if session.get("origen") == "local" and session.get("usuario"):
        usuarios.cerrar_sesiones(ctx.db, session["usuario"])  # in the DB: survives a restart
    session.clear()


def _usuario_de_sesion() -> web.UsuarioSesion | None:
    """The session's user if it is still valid (it is cleared otherwise)."""
    if "usuario" not in session:
        return None
    ctx = web.contexto()
    ahora = _ahora()
    ultimo, inicio = float(session.get("ultimo") or 0), float(session.get("inicio") or 0)
    if (ahora - ultimo > ctx.inactividad_seg or ahora - inicio > ctx.sesion_maxima_seg
            or ctx.revocadas.revocada(str(session.get("sid")), ahora)):
        g.sesion_caducada = True
        session.clear()
        return None
    rol, nombre = session.get("rol"), session.get("nombre")
    if session.get("origen") == "local":
        fila = usuarios.consultar(ctx.db, session["usuario"])
        if fila is None or not fila.get("Activo") or int(fila.get("VersionSesion") or 0) != session.get("version"):
            session.clear()  # deactivated, or password/role changed or signed out elsewhere since sign-in
            return None
        rol, nombre = fila["Rol"], fila.get("Nombre")
    if not (request.args.get("auto") == "1" or request.headers.get("X-SAM-Auto") == "1"):
        session["ultimo"] = ahora
    return web.UsuarioSesion(session["usuario"], rol, nombre, session.get("origen") or "local")


def _csrf_valido() -> bool:
    esperado = session.get(CAMPO_CSRF)
    recibido = request.form.get(CAMPO_CSRF) or request.headers.get(CABECERA_CSRF) or ""
    return bool(esperado) and hmac.compare_digest(str(esperado).encode(), str(recibido).encode())


def siguiente_seguro(destino: str | None) -> str:
    """``destino`` if it is a path of this site, else ``/`` (no open redirect)."""
    destino = (destino or "").strip()
    if not destino.startswith("/") or destino.startswith("//") or "\\" in destino or any(
            ord(c) < 32 for c in destino):
        return "/"
    return destino


def antes_de_cada_peticion() -> Any:
    """Flask ``before_request``: authentication, CSRF and role, in this order."""
    g.usuario = None
    rol = rol_de(current_app, request.endpoint)
    if request.endpoint is None or request.endpoint == "static":
        return None  # 404/405 and static files: nothing to protect
    if rol is None:  # cannot happen: the factory checks every endpoint
        abort(500)
    g.usuario = _usuario_de_sesion()
    if rol != PUBLICA and g.usuario is None:
        return _no_autenticado()
    if request.method not in _SEGUROS and not _csrf_valido():
        log.warning("Petición %s %s rechazada: token CSRF ausente o incorrecto (IP %s)", request.method,
                    request.path, request.remote_addr)
        abort(400, description="csrf")
    if not puede(g.usuario.rol if g.usuario else None, rol):
        abort(403)
    return None


def _no_autenticado() -> Any:
    if request.method in ("GET", "HEAD") and not web.quiere_json():
        destino = request.full_path if request.query_string else request.path
        return redirect("/login?" + urlencode({"siguiente": destino}), 302)
    mensaje = "Sesión no iniciada o caducada: inicie sesión en /login."
    if web.quiere_json() or request.method in ("GET", "HEAD"):
        return jsonify(estado="no_autenticado", mensaje=mensaje), 401
    return render_template("error.html", titulo="Sesión no iniciada", mensaje=mensaje, codigo=401), 401


def despues_de_cada_respuesta(respuesta: Any) -> Any:
    """Flask ``after_request``: the security headers; no caching but for static files."""
    for nombre, valor in CABECERAS.items():
        respuesta.headers.setdefault(nombre, valor)
    if request.endpoint != "static":
        respuesta.headers["Cache-Control"] = "no-store"
        respuesta.headers["Pragma"] = "no-cache"
    respuesta.headers.add("Vary", "Cookie")
    return respuesta
