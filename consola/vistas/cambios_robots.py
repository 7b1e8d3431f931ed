"""``POST /robots/<id>`` and ``POST /equipos/<id>`` (CONSOLE §3, §4): the operator-owned columns of
a robot (``Activo``, ``EsOnline``, ``MinEquipos``, ``MaxEquipos``, ``PrioridadBalanceo``,
``TicketsPorEquipoAdicional``, ``Parametros``, ``PoolId``) or an equipo (``Activo_SAM``,
``PermiteBalanceoDinamico``, ``PoolId``). Only the columns the form sends are changed; the rules,
the version check (``version``) and the audit are :mod:`common.operaciones.edicion`'s. A form sent
twice applies once (the operation reports it as already applied); a save over a newer version is
refused showing each field that differs (yours / now)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from common.operaciones import edicion, equipos, robots
from common.operaciones.programaciones import NoEncontrada, OperacionRechazada
from consola import web
from consola.rutas import OPERADOR, ruta
from consola.vistas import _cambios as c

bp = Blueprint("cambios_robots", __name__)


def _cambios(campos: dict[str, str]) -> dict[str, Any]:
    cambios = {}
    for campo in campos:
        if campo in request.form:
            valor = request.form.get(campo, "")
            if len(valor) > c.MAX_TEXTO:
                raise c.EntradaNoValida(f"El campo {campo} admite como máximo {c.MAX_TEXTO} caracteres.")
            cambios[campo] = valor
    if not cambios:
        raise c.EntradaNoValida("El formulario no trae ningún campo que cambiar.")
    return cambios


def _version():
    """The form's ``version``: required (a console edit without it would be last-writer-wins)."""
    return c.version_obligatoria()


def _diferencias(exc: OperacionRechazada) -> list[dict[str, Any]]:
    return [{"Campo": campo, "Enviado": suyo, "Ahora": ahora}
            for campo, suyo, ahora in getattr(exc, "diferencias", [])]


def _guardar(modulo: Any, entidad_id: int, plantilla: str, destino: str, leer: Any):
    cambios = _cambios(modulo.CAMPOS)
    try:
        resultado = modulo.cambiar(web.db(), c.actor(), entidad_id, cambios, ahora=c.ahora(), version=_version())
    except OperacionRechazada as exc:
        estado = 404 if isinstance(exc, NoEncontrada) else 409
        fila = leer(entidad_id)
        return c.rechazado(plantilla, {"fila": fila, "cambios": _diferencias(exc)}, exc.mensaje, estado,
                           valores=dict(request.form),
                           version=edicion.texto_version(fila and fila.get("FechaActualizacion")))
    return c.hecho(resultado.mensaje, destino, resultado=resultado.como_dict())


@ruta(bp, "/robots/<robot_id>", rol=OPERADOR, metodos=("POST",))
def guardar_robot(robot_id: str | int):
    robot_id = c.identificador(str(robot_id))
    return _guardar(robots, robot_id, "cambios_robot.html", f"/robots/{robot_id}",
                    lambda i: robots.mostrar(web.db(), i))


def _equipo(equipo_id: int) -> dict[str, Any] | None:
    return next((e for e in equipos.listar(web.db()) if e["EquipoId"] == equipo_id), None)


@ruta(bp, "/equipos/<equipo_id>", rol=OPERADOR, metodos=("POST",))
def guardar_equipo(equipo_id: str | int):
    equipo_id = c.identificador(str(equipo_id))
    return _guardar(equipos, equipo_id, "cambios_equipo.html", "/equipos", _equipo)


@bp.app_context_processor
def _para_formularios() -> dict[str, Any]:
    """``version_de(entidad, id)`` for the edit forms included in the read views' pages (the row's
    current ``FechaActualizacion`` as the hidden ``version`` field carries it)."""
    def version_de(entidad: str, entidad_id: Any) -> str:
        if entidad == "Robots":
            fila = robots.mostrar(web.db(), int(entidad_id))
        else:
            fila = _equipo(int(entidad_id))
        return edicion.texto_version(fila and fila.get("FechaActualizacion")) or ""

    from common.programacion import TIPOS

    return {"version_de": version_de, "tipos_programacion": TIPOS}
