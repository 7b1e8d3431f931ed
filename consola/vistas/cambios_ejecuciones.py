"""``POST /ejecuciones/<id>/destrabar`` (CONSOLE §3, rule O2.1): close a stuck execution as
``RUN_ABORTED`` with the operator's reason (``motivo``), freeing its equipo. The rules (open rows
only, reason required, audit) are :func:`common.operaciones.ejecuciones.destrabar`'s; a second
submission finds the row closed and is refused, so it cannot close anything twice."""

from __future__ import annotations

from flask import Blueprint, request

from common.operaciones import ejecuciones as ops
from common.operaciones.programaciones import NoEncontrada, OperacionRechazada
from common.utils.config_manager import ajuste
from consola import web
from consola.rutas import OPERADOR, ruta
from consola.vistas import _cambios as c

bp = Blueprint("cambios_ejecuciones", __name__)


@ruta(bp, "/ejecuciones/<ejecucion_id>/destrabar", rol=OPERADOR, metodos=("POST",))
def destrabar(ejecucion_id: str | int):
    ejecucion_id = c.identificador(str(ejecucion_id))
    motivo = (request.form.get("motivo") or "").strip()
    if len(motivo) > c.MAX_TEXTO:
        raise c.EntradaNoValida(f"El motivo admite como máximo {ops.MAX_MOTIVO} caracteres.")
    try:
        fila = ops.destrabar(web.db(), c.actor(), ejecucion_id, motivo, ahora=c.ahora(),
                             forzar=request.form.get("forzar") in ("1", "on", "true", "si", "sí"),
                             lanzando_timeout_seg=int(ajuste(web.contexto().cfg, "LANZADOR_LANZANDO_TIMEOUT_SEG")))
    except OperacionRechazada as exc:
        estado = 404 if isinstance(exc, NoEncontrada) else 409
        return c.rechazado("cambios_destrabar.html", {"EjecucionId": ejecucion_id}, exc.mensaje, estado,
                           motivo=motivo)
    return c.hecho(f"Ejecución {ejecucion_id} destrabada: {fila['Estado']}, su equipo queda libre.",
                   f"/ejecuciones/{ejecucion_id}", EjecucionId=ejecucion_id, Estado=fila["Estado"])
