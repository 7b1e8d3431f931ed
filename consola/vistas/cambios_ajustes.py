"""Live settings from the console (CONSOLE §3, BEHAVIOUR §13): ``POST /pausa`` (pause launching
until a time, or resume: ``LANZADOR_PAUSA_MANUAL_HASTA``) and ``GET``/``POST /configuracion``
(the whitelisted settings, validated by :mod:`common.operaciones.ajustes`, each shown with where
its value comes from: a ``ConfiguracionSistema`` row, the environment, ``.env`` or the default).

A blank value deletes the row (the setting goes back to its start-up value). Resubmitting the same
form writes the same value again: the write is idempotent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, request

from common.operaciones.ajustes import escribir_ajuste
from common.utils.ajustes_vivos import CLAVES_VIVAS, ORIGEN_BD, AjusteNoValido, decidir, leer_filas
from common.utils.config_manager import SETTINGS_BY_NAME, ajuste
from consola import web
from consola.rutas import ADMINISTRADOR, OPERADOR, ruta
from consola.vistas import _cambios as c

bp = Blueprint("cambios_ajustes", __name__)

PAUSA = "LANZADOR_PAUSA_MANUAL_HASTA"


def _mostrar(valor: Any) -> str:
    if valor is None or valor == "" or valor == []:
        return ""
    if isinstance(valor, list):
        return ", ".join(map(str, valor))
    if isinstance(valor, datetime):
        return f"{valor:%Y-%m-%d %H:%M:%S}"
    if hasattr(valor, "hour"):
        return f"{valor:%H:%M}"
    return str(valor)


def ajustes_vivos(db: Any, cfg: Any) -> list[dict[str, Any]]:
    """Each whitelisted setting: effective value, the row (if any), the start-up value and its origin."""
    filas = leer_filas(db)
    decision = decidir(cfg, filas)
    out = []
    for clave in CLAVES_VIVAS:
        origen_base = cfg.source(clave) if hasattr(cfg, "source") else "por defecto"
        invalida = decision.invalidas.get(clave)
        out.append({
            "Clave": clave,
            "Descripcion": SETTINGS_BY_NAME[clave].help,
            "Valor": _mostrar(decision.valores.get(clave)),
            "Origen": ORIGEN_BD if clave in decision.desde_bd else origen_base,
            "ValorFila": filas.get(clave),
            "ValorArranque": _mostrar(ajuste(cfg, clave)),
            "OrigenArranque": origen_base,
            "Problema": invalida[1] if invalida else None,
        })
    return out


def _pagina(estado: int = 200, **extra: Any):
    datos = {"ajustes": ajustes_vivos(web.db(), web.contexto().cfg)}
    if extra.get("error"):
        return c.rechazado("cambios_configuracion.html", datos, extra.pop("error"), estado, **extra)
    return web.responder("cambios_configuracion.html", datos, estado, **extra)


@ruta(bp, "/configuracion", rol=ADMINISTRADOR)
def configuracion():
    return _pagina()


@ruta(bp, "/configuracion", rol=ADMINISTRADOR, metodos=("POST",), endpoint="configuracion_guardar")
def guardar():
    clave = c.texto("Clave", obligatorio=True, maximo=100)
    valor = c.texto("Valor", maximo=2000)
    try:
        escribir_ajuste(web.db(), clave, valor, c.actor(), cfg=web.contexto().cfg, ahora=c.ahora())
    except AjusteNoValido as exc:
        return _pagina(422, error=str(exc), clave_escrita=clave, valor_escrito=valor or "")
    hecho = f"{clave} = {valor}" if valor else f"{clave} vuelve a su valor de arranque"
    return c.hecho(f"Ajuste guardado: {hecho}. Los servicios lo aplican en su próxima recarga.",
                   "/configuracion", Clave=clave, Valor=valor)


@ruta(bp, "/pausa", rol=OPERADOR, metodos=("POST",))
def pausa():
    accion = (request.form.get("accion") or "").strip()
    if accion not in ("pausar", "reanudar"):
        raise c.EntradaNoValida("Acción desconocida (válidas: pausar, reanudar).")
    hasta = c.fecha_hora(PAUSA) if accion == "pausar" else None
    if accion == "pausar" and (hasta is None or hasta <= c.ahora()):
        return c.rechazado("cambios_pausa.html", {}, f"Indique en {PAUSA} una fecha y hora futura hasta la que "
                           "pausar los lanzamientos.", 422)
    valor = None if hasta is None else f"{hasta:%Y-%m-%d %H:%M:%S}"
    try:
        escribir_ajuste(web.db(), PAUSA, valor, c.actor(), cfg=web.contexto().cfg, ahora=c.ahora())
    except AjusteNoValido as exc:
        return c.rechazado("cambios_pausa.html", {}, str(exc), 422)
    mensaje = (f"Lanzamientos en pausa hasta {valor}." if valor else
               "Pausa manual retirada: el Lanzador vuelve a lanzar en su próxima recarga de ajustes.")
    return c.hecho(mensaje, "/", **{PAUSA: valor})
