"""Administrator read views (CONSOLE §3): ``GET /pools`` (pools with their robot and equipo counts),
``GET /mapeos`` (MapeoRobots) and ``GET /auditoria`` (the audit trail, filters usuario, entidad,
resultado, desde, hasta; keyset paging by AuditoriaId)."""

from __future__ import annotations

from flask import Blueprint

from consola import consultas, web
from consola.rutas import ADMINISTRADOR, ruta
from consola.vistas import _entrada

bp = Blueprint("administracion", __name__)

RESULTADOS = ("ok", "forzado", "rechazado")


@ruta(bp, "/pools", rol=ADMINISTRADOR)
def pools():
    return web.responder("pools.html", {"pools": consultas.filas(web.db(), "consola.pools")})


@ruta(bp, "/mapeos", rol=ADMINISTRADOR)
def mapeos():
    return web.responder("mapeos.html", {"mapeos": consultas.filas(web.db(), "consola.mapeos")})


@ruta(bp, "/auditoria", rol=ADMINISTRADOR)
def auditoria():
    filtros = {"usuario": _entrada.texto("usuario", 128), "entidad": _entrada.texto("entidad", 100),
               "resultado": _entrada.opcion("resultado", RESULTADOS),
               "desde": _entrada.fecha_hora("desde"), "hasta": _entrada.fecha_hora("hasta", fin_del_dia=True)}
    antes = _entrada.entero("antes", 1, 2**62)
    tam = _entrada.tamano()
    filas = consultas.filas(web.db(), "consola.auditoria", (antes or 2**62, filtros["usuario"], filtros["entidad"],
                                                              filtros["resultado"], filtros["desde"],
                                                              filtros["hasta"], tam))
    siguiente = filas[-1]["AuditoriaId"] if len(filas) >= tam else None
    return web.responder("auditoria.html", {"filtros": filtros, "auditoria": filas, "antes": antes,
                                            "siguiente": siguiente}, resultados=RESULTADOS)
