"""``POST /asignaciones`` (CONSOLE §3, BEHAVIOUR §1 B9): an operator reserves equipos for a robot
(``accion=reservar``) or frees the robot's manual assignments (``accion=liberar``); fields
``RobotId`` and ``EquipoId`` (repeated, or ids separated by commas). The rules (the balancer's and
the schedules' rows are never edited, a repeated form applies once, audit) are
:mod:`common.operaciones.asignaciones`'s; the form is on the robot's page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from common.operaciones import asignaciones, equipos
from common.operaciones.programaciones import NoEncontrada, OperacionRechazada
from consola import consultas, web
from consola.rutas import OPERADOR, ruta
from consola.vistas import _cambios as c

bp = Blueprint("cambios_asignaciones", __name__)

ACCIONES = {"reservar": asignaciones.reservar, "liberar": asignaciones.liberar}


def accion(validas: dict[str, Any] | tuple[str, ...]) -> str:
    """The form's ``accion``: one of ``validas``, else a Spanish 400."""
    valor = (request.form.get("accion") or "").strip().lower()
    if valor not in validas:
        raise c.EntradaNoValida(f"Acción desconocida (válidas: {', '.join(validas)}).")
    return valor


def ids(nombre: str) -> list[int]:
    """Every id of ``nombre``: repeated fields and/or ids separated by commas or spaces."""
    out = []
    for valor in request.form.getlist(nombre):
        for parte in valor.replace(",", " ").split():
            if not parte.isdigit() or len(parte) > 12:
                raise c.EntradaNoValida(f"El campo {nombre} debe llevar identificadores numéricos "
                                        f"(se recibió '{parte[:20]}').")
            out.append(int(parte))
    return out


def _robot(robot_id: int) -> dict[str, Any] | None:
    return next(iter(consultas.filas(web.db(), "consola.robot", (robot_id,))), None)


@ruta(bp, "/asignaciones", rol=OPERADOR, metodos=("POST",))
def guardar():
    robot_id = c.entero("RobotId", obligatorio=True, minimo=1, maximo=10**12)
    que = accion(ACCIONES)
    elegidos = ids("EquipoId")
    if not elegidos:
        raise c.EntradaNoValida("Indique al menos un equipo (EquipoId).")
    try:
        resultado = ACCIONES[que](web.db(), c.actor(), robot_id, elegidos, ahora=c.ahora())
    except OperacionRechazada as exc:
        estado = 404 if isinstance(exc, NoEncontrada) else 409
        return c.rechazado("cambios_asignaciones.html", {"RobotId": robot_id, "accion": que, "EquipoId": elegidos},
                           exc.mensaje, estado, robot=_robot(robot_id))
    return c.hecho(resultado.mensaje, f"/robots/{robot_id}", resultado=resultado.como_dict())


@bp.app_context_processor
def _para_formulario() -> dict[str, Any]:
    """``equipos_para_asignar()`` for the form on the robot's page (every equipo, id and name)."""
    def equipos_para_asignar() -> list[dict[str, Any]]:
        return [{"EquipoId": e["EquipoId"], "Equipo": e["Equipo"]} for e in equipos.listar(web.db())]

    return {"equipos_para_asignar": equipos_para_asignar}
