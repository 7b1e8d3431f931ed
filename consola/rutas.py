"""Route declarations of the console: every route states who may use it (CONSOLE §2, §3).

A view is registered with :func:`ruta` on its blueprint, never with ``bp.route``::

    bp = Blueprint("robots", __name__)

    @ruta(bp, "/robots", rol=LECTOR)
    def lista(): ...

    @ruta(bp, "/robots/<int:robot_id>", rol=OPERADOR, metodos=("POST",))
    def guardar(robot_id): ...

One endpoint has one role; a GET and a POST of the same path with different roles are two views.
:func:`comprobar_declaradas` (run by the app factory) refuses to build an app with an endpoint
that has no declared role, so a route cannot slip in unprotected; ``tests/test_consola_rutas.py``
holds the contract table (path, method, role) the app must match exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

PUBLICA = "publica"
LECTOR, OPERADOR, ADMINISTRADOR = "lector", "operador", "administrador"
ROLES = (LECTOR, OPERADOR, ADMINISTRADOR)
NIVEL = {LECTOR: 1, OPERADOR: 2, ADMINISTRADOR: 3}
_ATRIBUTO = "_sam_rol"
#: Endpoints of Flask itself and their role.
_PROPIOS = {"static": PUBLICA}


def ruta(bp: Any, regla: str, *, rol: str, metodos: Iterable[str] = ("GET",),
         endpoint: str | None = None) -> Callable[[Callable], Callable]:
    """Register the decorated view on ``bp`` for ``regla`` and ``metodos``, declaring ``rol``."""
    if rol != PUBLICA and rol not in ROLES:
        raise ValueError(f"rol desconocido para {regla}: {rol!r}")
    metodos = tuple(m.upper() for m in metodos)

    def decorar(vista: Callable) -> Callable:
        setattr(vista, _ATRIBUTO, rol)
        bp.add_url_rule(regla, endpoint=endpoint, view_func=vista, methods=list(metodos))
        return vista

    return decorar


def rol_de(app: Any, endpoint: str | None) -> str | None:
    """The declared role of ``endpoint`` (None: undeclared, or no such endpoint)."""
    if endpoint in _PROPIOS:
        return _PROPIOS[endpoint]
    vista = app.view_functions.get(endpoint) if endpoint else None
    return getattr(vista, _ATRIBUTO, None)


def puede(rol_usuario: str | None, rol_ruta: str) -> bool:
    """Whether a user of ``rol_usuario`` may use a route of ``rol_ruta`` (roles are cumulative)."""
    if rol_ruta == PUBLICA:
        return True
    return NIVEL.get(rol_usuario or "", 0) >= NIVEL[rol_ruta]


def tabla(app: Any) -> set[tuple[str, str, str | None]]:
    """(rule, method, role) of every route of ``app`` (HEAD and OPTIONS, which Flask adds, left out)."""
    out = set()
    for regla in app.url_map.iter_rules():
        for metodo in regla.methods - {"HEAD", "OPTIONS"}:
            out.add((regla.rule, metodo, rol_de(app, regla.endpoint)))
    return out


def comprobar_declaradas(app: Any) -> None:
    """Raise RuntimeError naming every endpoint of ``app`` without a declared role."""
    sin_rol = sorted(e for e in app.view_functions if rol_de(app, e) is None)
    if sin_rol:
        raise RuntimeError("rutas de la consola sin rol declarado (regístrelas con consola.rutas.ruta): "
                           + ", ".join(sin_rol))
