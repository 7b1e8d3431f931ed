"""``GET /robots`` and ``GET /robots/<id>`` (CONSOLE §3): the list with search (``q``), filters
(activo, online, programado, pool), sort (whitelisted columns) and paging; the detail with the
robot's assignments, schedules and last executions."""

from __future__ import annotations

from flask import Blueprint

from consola import consultas, web
from consola.rutas import LECTOR, ruta
from consola.vistas import _entrada
from consola.vistas.programaciones import describir_fila

bp = Blueprint("robots", __name__)

ULTIMAS_EJECUCIONES = 20


@ruta(bp, "/robots", rol=LECTOR)
def lista():
    db = web.db()
    pool, sin_pool = _entrada.pool()
    filtros = {"q": _entrada.texto("q"), "activo": _entrada.bit("activo"), "online": _entrada.bit("online"),
               "programado": _entrada.bit("programado"), "pool": pool, "sin_pool": sin_pool}
    orden = _entrada.opcion("orden", consultas.ORDEN_ROBOTS, "robot")
    direccion = _entrada.opcion("dir", ("asc", "desc"), "asc")
    tam = _entrada.tamano()
    params = (filtros["activo"], filtros["online"], filtros["programado"], pool, sin_pool,
              consultas.patron_like(filtros["q"]))
    total = int((consultas.fila(db, "consola.robots.total", params) or {}).get("Total") or 0)
    pag = _entrada.paginacion(total, tam)
    robots = consultas.filas(db, f"consola.robots.{orden}.{direccion}", (*params, pag.tamano, pag.salto))
    datos = {"filtros": filtros, "orden": orden, "dir": direccion, "paginacion": pag.como_dict(), "robots": robots}
    return web.responder("robots.html", datos, columnas=tuple(consultas.ORDEN_ROBOTS))


@ruta(bp, "/robots/<robot_id>", rol=LECTOR)
def detalle(robot_id: str):
    robot_id = _entrada.identificador(robot_id)
    db = web.db()
    robot = consultas.fila(db, "consola.robot", (robot_id,))
    if robot is None:
        _entrada.no_existe(f"El robot {robot_id} no existe.")
    programaciones = [{**p, "Descripcion": describir_fila(p)}
                      for p in consultas.filas(db, "consola.programaciones_de_robot", (robot_id,))]
    ultimas = consultas.ejecuciones_pagina(db, antes=None, robot=robot_id, equipo=None, estado=None, desde=None,
                                           hasta=None, limite=ULTIMAS_EJECUCIONES)
    datos = {"robot": robot, "asignaciones": consultas.filas(db, "consola.asignaciones_de_robot", (robot_id,)),
             "programaciones": programaciones, "ultimas_ejecuciones": ultimas.filas}
    return web.responder("robot.html", datos)
