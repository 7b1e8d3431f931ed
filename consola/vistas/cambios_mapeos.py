"""``POST /mapeos`` (CONSOLE §3), role administrador: ``accion=crear`` (``Proveedor``,
``NombreExterno``, ``RobotId``: an external robot name mapped to a SAM robot) or
``accion=eliminar`` (``MapeoId``). The rules (known provider, one mapping per external name, a
repeated form applies once, audit) are :mod:`common.operaciones.mapeos`'s; the forms are on
``GET /mapeos``."""

from __future__ import annotations

from flask import Blueprint, request

from common.operaciones import mapeos
from common.operaciones.programaciones import NoEncontrada, OperacionRechazada
from consola import consultas, web
from consola.rutas import ADMINISTRADOR, ruta
from consola.vistas import _cambios as c
from consola.vistas.cambios_asignaciones import accion

bp = Blueprint("cambios_mapeos", __name__)


@ruta(bp, "/mapeos", rol=ADMINISTRADOR, metodos=("POST",), endpoint="mapeos_guardar")
def guardar():
    que = accion(("crear", "eliminar"))
    db, actor, ahora = web.db(), c.actor(), c.ahora()
    try:
        if que == "crear":
            proveedor = c.texto("Proveedor", obligatorio=True, maximo=20)
            nombre = c.texto("NombreExterno", obligatorio=True, maximo=mapeos.LARGO_NOMBRE)
            robot_id = c.entero("RobotId", obligatorio=True, minimo=1, maximo=10**12)
            resultado = mapeos.crear(db, actor, proveedor, nombre, robot_id, ahora=ahora,
                                     id_formulario=c.id_formulario())
        else:
            mapeo_id = c.entero("MapeoId", obligatorio=True, minimo=1, maximo=10**12)
            resultado = mapeos.eliminar(db, actor, mapeo_id, ahora=ahora)
    except OperacionRechazada as exc:
        estado = 404 if isinstance(exc, NoEncontrada) else 409
        return c.rechazado("mapeos.html", {"mapeos": consultas.filas(db, "consola.mapeos")}, exc.mensaje, estado,
                           valores=dict(request.form))
    return c.hecho(resultado.mensaje, "/mapeos", resultado=resultado.como_dict())
