"""``POST /asignaciones`` (CONSOLE §3, BEHAVIOUR §1 B9): an operator reserves equipos for a robot
(``accion=reservar``) or frees the robot's manual assignments (``accion=liberar``); fields
``RobotId`` and ``EquipoId`` (repeated, or ids separated by commas). The rules (the balancer's and
the schedules' rows are never edited, a repeated form applies once, audit) are
:mod:`common.operaciones.asignaciones`'s; the form is on the robot's page."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, request

from common.operaciones import asignaciones
from common.operaciones.programaciones import NoEncontrada, OperacionRechazada
from consola import consultas, web
from consola.rutas import OPERADOR, ruta
from consola.vistas import _cambios as c

bp = Blueprint("cambios_asignaciones", __name__)

#: An A360 device name as the form may carry it (anything else is a 400).
_NOMBRE_EQUIPO = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
#: Equipos one form may name: every name becomes a parameter of one IN list (SQL Server allows 2,100).
MAX_EQUIPOS_POR_FORMULARIO = 200

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
            out.append(c.id_de_campo(nombre, parte))
    return out


def _robot(robot_id: int) -> dict[str, Any] | None:
    return next(iter(consultas.filas(web.db(), "consola.robot", (robot_id,))), None)


@ruta(bp, "/asignaciones", rol=OPERADOR, metodos=("POST",))
def guardar():
    robot_id = c.entero("RobotId", obligatorio=True, minimo=1)
    que = accion(ACCIONES)
    elegidos, nombres = equipos_del_formulario()
    if not elegidos and not nombres:
        raise c.EntradaNoValida("Indique al menos un equipo (EquipoId).")
    try:
        elegidos += por_nombre(nombres)
        una_vez = {"id_formulario": c.id_formulario()} if que == "reservar" else {}  # a form sent twice applies once
        resultado = ACCIONES[que](web.db(), c.actor(), robot_id, elegidos, ahora=c.ahora(), **una_vez)
    except OperacionRechazada as exc:
        estado = 404 if isinstance(exc, NoEncontrada) else 409
        return c.rechazado("cambios_asignaciones.html", {"RobotId": robot_id, "accion": que, "EquipoId": elegidos},
                           exc.mensaje, estado, robot=_robot(robot_id))
    return c.hecho(resultado.mensaje, f"/robots/{robot_id}", resultado=resultado.como_dict())


def equipos_del_formulario() -> tuple[list[int], list[str]]:
    """The ``EquipoId`` field's ids and names (repeated fields and/or separated by commas or spaces):
    digits are an id, anything else a device name (letters, digits, ``_ . -``), else a Spanish 400."""
    numeros, nombres = [], []
    for valor in request.form.getlist("EquipoId"):
        for parte in valor.replace(",", " ").split():
            if parte.isascii() and parte.isdigit():
                numeros.append(c.id_de_campo("EquipoId", parte))
            elif _NOMBRE_EQUIPO.fullmatch(parte):
                nombres.append(parte)
            else:
                raise c.EntradaNoValida(f"El campo EquipoId debe llevar identificadores o nombres de equipo "
                                        f"(se recibió '{parte[:20]}').")
            if len(numeros) + len(nombres) > MAX_EQUIPOS_POR_FORMULARIO:
                raise c.EntradaNoValida(f"Se admiten como máximo {MAX_EQUIPOS_POR_FORMULARIO} equipos por envío; "
                                        "divida el cambio en varios envíos.")
    return numeros, nombres


def por_nombre(nombres: list[str]) -> list[int]:
    """The EquipoId of each name (case-insensitive); an unknown or ambiguous name is refused (409)."""
    if not nombres:
        return []
    encontrados: dict[str, list[int]] = {}
    for f in consultas.filas(web.db(), "consola.equipos_por_nombre", nombres, marcas=len(nombres)):
        encontrados.setdefault(str(f["Equipo"]).casefold(), []).append(int(f["EquipoId"]))
    out = []
    for nombre in nombres:
        ids_nombre = encontrados.get(nombre.casefold(), [])
        if len(ids_nombre) != 1:
            motivo = "no existe" if not ids_nombre else f"es ambiguo (equipos {', '.join(map(str, ids_nombre))})"
            raise OperacionRechazada(f"El equipo «{nombre}» {motivo}: indique su identificador.")
        out.append(ids_nombre[0])
    return out


@bp.app_context_processor
def _para_formulario() -> dict[str, Any]:
    """``equipos_para_asignar(robot_id)`` for the form on the robot's page: at most
    :data:`consultas.MAX_CANDIDATOS` free, active equipos of the robot's pool or general (a
    ``<datalist>`` of suggestions; the field takes any equipo's id or name)."""
    def equipos_para_asignar(robot_id: Any) -> list[dict[str, Any]]:
        return consultas.filas(web.db(), "consola.equipos_para_asignar", (robot_id, consultas.MAX_CANDIDATOS))

    return {"equipos_para_asignar": equipos_para_asignar, "max_candidatos": consultas.MAX_CANDIDATOS}
