"""``GET /equipos`` (CONSOLE §3): the equipos with their state tags (Programado, Reservado, Dinámico,
Libre), filters (etiqueta, activo, dinámico, pool), search (``q``), sort and paging."""

from __future__ import annotations

from flask import Blueprint

from consola import consultas, web
from consola.rutas import LECTOR, ruta
from consola.vistas import _entrada

bp = Blueprint("equipos", __name__)

ETIQUETAS = ("programado", "reservado", "dinamico", "libre")


def etiquetas(fila: dict) -> list[str]:
    """The state tags of an equipo from its assignment counts."""
    out = []
    if fila.get("NumProgramadas"):
        out.append("Programado")
    if fila.get("NumReservadas"):
        out.append("Reservado")
    if fila.get("NumDinamicas"):
        out.append("Dinámico")
    if not fila.get("NumAsignaciones"):
        out.append("Libre")
    return out


@ruta(bp, "/equipos", rol=LECTOR)
def lista():
    db = web.db()
    pool, sin_pool = _entrada.pool()
    filtros = {"q": _entrada.texto("q"), "etiqueta": _entrada.opcion("etiqueta", ETIQUETAS),
               "activo": _entrada.bit("activo"), "dinamico": _entrada.bit("dinamico"), "pool": pool,
               "sin_pool": sin_pool}
    orden = _entrada.opcion("orden", consultas.ORDEN_EQUIPOS, "equipo")
    direccion = _entrada.opcion("dir", ("asc", "desc"), "asc")
    tam = _entrada.tamano()
    params = (filtros["activo"], filtros["etiqueta"], pool, sin_pool, consultas.patron_like(filtros["q"]),
              filtros["dinamico"])
    total = int((consultas.fila(db, "consola.equipos.total", params) or {}).get("Total") or 0)
    pag = _entrada.paginacion(total, tam)
    filas = consultas.filas(db, f"consola.equipos.{orden}.{direccion}", (*params, pag.tamano, pag.salto))
    robots: dict[int, list[dict]] = {}
    ids = [f["EquipoId"] for f in filas]
    if ids:
        for a in consultas.filas(db, "consola.robots_de_equipos", ids, marcas=len(ids)):
            robots.setdefault(a["EquipoId"], []).append({"RobotId": a["RobotId"], "Robot": a["Robot"]})
    equipos = [{**f, "Etiquetas": etiquetas(f), "Robots": robots.get(f["EquipoId"], [])} for f in filas]
    datos = {"filtros": filtros, "orden": orden, "dir": direccion, "paginacion": pag.como_dict(), "equipos": equipos}
    return web.responder("equipos.html", datos, etiquetas=ETIQUETAS)
