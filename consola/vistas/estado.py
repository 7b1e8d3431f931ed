"""``GET /``: the Estado page (CONSOLE §3). Placeholder of the foundation: the read views replace
its content; the route and its role are part of the contract."""

from __future__ import annotations

from flask import Blueprint

from consola import web
from consola.rutas import LECTOR, ruta

bp = Blueprint("estado", __name__)


@ruta(bp, "/", rol=LECTOR)
def estado():
    return web.responder("estado.html", {"servicios": []})
