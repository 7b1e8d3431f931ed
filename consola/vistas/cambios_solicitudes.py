"""``POST /solicitudes`` (CONSOLE §3, rule L8.2), role operador: ``Tipo=sincronizar`` (the
Lanzador's leader syncs robots and equipos with A360 now) or ``Tipo=balancear`` (the Balanceador's
leader runs a cycle now). The request is a ``SolicitudesServicio`` row
(:func:`common.operaciones.solicitudes.solicitar`: audited; an identical request still waiting is
returned instead of a second one); the Estado page lists the latest requests with their state and
the result the service wrote back."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.operaciones import solicitudes
from common.operaciones.programaciones import OperacionRechazada
from consola import web
from consola.rutas import OPERADOR, ruta
from consola.vistas import _cambios as c

bp = Blueprint("cambios_solicitudes", __name__)

#: How many requests the Estado page lists.
EN_ESTADO = 10
_NOMBRES = {"sincronizar": "sincronización con A360", "balancear": "ciclo de balanceo"}


@ruta(bp, "/solicitudes", rol=OPERADOR, metodos=("POST",))
def solicitar():
    tipo = c.texto("Tipo", obligatorio=True, maximo=40)
    try:
        fila = solicitudes.solicitar(web.db(), c.actor(), None, tipo, ahora=c.ahora())
    except OperacionRechazada as exc:
        return c.rechazado("cambios_solicitudes.html", {"solicitudes": solicitudes.listar(web.db(), EN_ESTADO)},
                           exc.mensaje, 422)
    que = _NOMBRES.get(fila["Tipo"], fila["Tipo"])
    if fila["Nueva"]:
        mensaje = f"Solicitud {fila['SolicitudId']} registrada: {que} por el líder de {fila['Servicio']}."
    else:
        mensaje = f"Ya había una solicitud pendiente de {que} (solicitud {fila['SolicitudId']}); no se duplica."
    return c.hecho(mensaje, "/#solicitudes", solicitud=fila)


@bp.app_context_processor
def _para_estado() -> dict[str, Any]:
    """``solicitudes_recientes()`` for the list on the Estado page (newest first)."""
    def solicitudes_recientes() -> list[dict[str, Any]]:
        return solicitudes.listar(web.db(), EN_ESTADO)

    return {"solicitudes_recientes": solicitudes_recientes}
