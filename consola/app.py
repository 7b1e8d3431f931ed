"""The console's Flask application (CONSOLE §1-§3): :func:`crear_app`.

Every module of :mod:`consola.vistas` that defines a blueprint ``bp`` is registered
automatically; its views declare their role with :func:`consola.rutas.ruta` (see
:mod:`consola`). The app refuses to start with an undeclared endpoint. Templates
(``consola/templates``, autoescaped) and the CSS (``consola/static``) ship with the package.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from common.clock import Clock
from common.database.sql_client import DatabaseError
from common.operaciones import formularios
from common.utils.config_manager import ajuste
from common.version import __version__
from consola import rechazos, rutas, seguridad, vistas, web
from consola.limite_login import LimiteLogin

log = logging.getLogger("sam.consola")

NOMBRE_COOKIE = "sam_consola"
MAX_CUERPO = 2 * 1024 * 1024

_TITULOS = {
    400: "Petición no válida", 401: "Sesión no iniciada", 403: "Acceso denegado", 404: "Página no encontrada",
    405: "Método no permitido", 413: "Petición demasiado grande", 429: "Demasiados intentos", 500: "Error interno",
    503: "Servicio no disponible",
}
_MENSAJES = {
    400: "La petición no es válida.",
    403: "Su rol no permite esta acción. Pida a un administrador de la consola el rol necesario.",
    404: "La página pedida no existe.",
    405: "Esta dirección no admite ese método.",
    413: "La petición supera el tamaño máximo admitido.",
    500: "Se produjo un error inesperado; el detalle quedó en el log de la consola.",
    503: "La base de datos SAM no responde; vuelva a intentarlo en unos momentos.",
}


@dataclass
class Contexto:
    """What the views share: ``app.extensions["sam"]``."""

    cfg: Any
    db: Any
    clock: Clock
    ldap: Any = None  # consola.ldap_auth.AutenticadorLdap or None
    revocadas: seguridad.Revocadas = field(default_factory=seguridad.Revocadas)
    #: Failed sign-ins of names without a local row (LDAP users): name -> (count, locked until).
    fallos_sin_fila: dict = field(default_factory=dict)
    fallos_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Sign-in attempts per client address (created by crear_app from CONSOLA_LOGIN_MAX_POR_MIN).
    limite_login: Any = None

    @property
    def inactividad_seg(self) -> float:
        return float(ajuste(self.cfg, "CONSOLA_SESION_INACTIVIDAD_MIN")) * 60.0

    @property
    def sesion_maxima_seg(self) -> float:
        return float(ajuste(self.cfg, "CONSOLA_SESION_MAXIMA_HORAS")) * 3600.0


def crear_app(cfg: Any, db: Any, *, clock: Clock | None = None, ldap: Any = None) -> Flask:
    """The console app over ``db`` with the settings of ``cfg``."""
    app = Flask("consola", root_path=str(_raiz()), static_folder="static", template_folder="templates")
    app.json = web.ProveedorJson(app)
    app.config.update(
        SECRET_KEY=str(ajuste(cfg, "CONSOLA_SECRETO")),
        SESSION_COOKIE_NAME=NOMBRE_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(ajuste(cfg, "CONSOLA_COOKIE_SEGURA")),
        MAX_CONTENT_LENGTH=MAX_CUERPO,
        TEMPLATES_AUTO_RELOAD=False,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.extensions["sam"] = Contexto(cfg, db, clock or Clock(ajuste(cfg, "SAM_ZONA_HORARIA") or None), ldap,
                                     limite_login=LimiteLogin(int(ajuste(cfg, "CONSOLA_LOGIN_MAX_POR_MIN"))))
    for modulo in _modulos_de_vistas():
        bp = getattr(modulo, "bp", None)
        if bp is not None:
            app.register_blueprint(bp)
    rutas.comprobar_declaradas(app)
    app.before_request(seguridad.antes_de_cada_peticion)
    app.after_request(seguridad.despues_de_cada_respuesta)
    app.register_error_handler(HTTPException, _error_http)
    app.register_error_handler(DatabaseError, _error_bd)
    app.register_error_handler(Exception, _error_inesperado)
    app.context_processor(_contexto_plantillas)
    # A fresh one-time token per rendered create form (a form sent twice applies once).
    app.jinja_env.globals["id_formulario"] = formularios.nuevo
    proxies = int(ajuste(cfg, "CONSOLA_PROXIES_CONFIABLES") or 0)
    if proxies:
        # Behind IIS/ARR: the client's address (sign-in lockout log, Auditoria.Ip) is the one the
        # trusted proxies appended to X-Forwarded-For; without a trusted proxy the header is ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    return app


def _raiz():
    from pathlib import Path

    return Path(__file__).resolve().parent


def _modulos_de_vistas() -> list[Any]:
    nombres = sorted(m.name for m in pkgutil.iter_modules(vistas.__path__) if not m.name.startswith("_"))
    return [importlib.import_module(f"{vistas.__name__}.{n}") for n in nombres]


def _contexto_plantillas() -> dict[str, Any]:
    usuario = web.usuario()
    return {
        "usuario_actual": usuario,
        "csrf_token": seguridad.token_csrf,
        "puede": lambda rol: usuario is not None and rutas.puede(usuario.rol, rol),
        "version_sam": __version__,
    }


def pagina_error(codigo: int, mensaje: str | None = None):
    """The Spanish error page (or JSON body) for ``codigo``."""
    texto = mensaje or _MENSAJES.get(codigo, "Error.")
    if web.quiere_json():
        return web.jsonify(estado="error", codigo=codigo, mensaje=texto), codigo
    return render_template("error.html", titulo=_TITULOS.get(codigo, "Error"), mensaje=texto, codigo=codigo), codigo


def _error_http(exc: HTTPException):
    codigo = exc.code or 500
    if codigo == 400 and exc.description == "csrf":
        return pagina_error(400, "El formulario caducó o no es válido (token CSRF). Vuelva a cargar la página "
                                 "e inténtelo de nuevo.")
    mensaje = getattr(exc, "mensaje", None)  # a view's own Spanish message, if any
    if codigo in (400, 403):
        rechazos.auditar(codigo, mensaje or _MENSAJES.get(codigo, ""), _ahora_local())
    respuesta = pagina_error(codigo, mensaje)
    if codigo == 405 and getattr(exc, "valid_methods", None):
        cuerpo, estado = respuesta
        return cuerpo, estado, {"Allow": ", ".join(exc.valid_methods)}
    return respuesta


def _ahora_local():
    """SAM's clock, naive local time (the audit row's Fecha)."""
    return web.contexto().clock.now_local().replace(tzinfo=None)


def _error_bd(exc: DatabaseError):
    log.error("La base de datos SAM no respondió: %s", exc)
    return pagina_error(503)


def _error_inesperado(exc: Exception):
    log.exception("Error inesperado en la consola: %s", exc)
    return pagina_error(500)
