"""``GET /balanceador`` (CONSOLE §3): the Balanceador's decisions (HistoricoBalanceo, keyset paging,
filter robot), a per-robot SVG chart of tickets and equipos over time, the plan the next cycle would
apply and the forecast per robot (B15).

The plan is a dry run that writes nothing: the Balanceador's own planner (``balanceo.planificar``)
over the SAM DB as it is now, with the cooling state rebuilt from HistoricoBalanceo. The console
does not read the ticket sources (it holds no source credentials): the plan uses each robot's tickets
of its last recorded decision, and the page says so.

Over a big fleet the plan is a fleet-wide computation: it is computed at most once per
:data:`PLAN_VIGENCIA_SEG` per console process (:mod:`consola.calculo_vigente`; the page says when,
``?recalcular=1`` computes it now) and the page draws at most :data:`MAX_FILAS_PLAN` rows of each
table (with the totals; the robot filter narrows the plan to that robot)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, current_app
from markupsafe import Markup

from balanceador.database import historico_client, repositorio
from balanceador.database import pronostico as pronostico_sql
from balanceador.modelo import AjustesBalanceo
from balanceador.pronostico import CABECERA as CABECERA_PRONOSTICO
from balanceador.pronostico import NOTA as NOTA_PRONOSTICO
from balanceador.pronostico import filas_tabla
from balanceador.service.balanceo import planificar
from balanceador.service.cooling_manager import CoolingManager
from common.utils import ajustes_vivos
from common.utils.config_manager import ajuste
from consola import consultas, graficos, web
from consola.calculo_vigente import CalculoVigente
from consola.rutas import LECTOR, ruta
from consola.vistas import _entrada

bp = Blueprint("balanceador", __name__)

HORAS_GRAFICO = (6, 24, 72, 168)
#: Seconds a computed plan is shown before it is recomputed (the Balanceador's cycle is minutes).
PLAN_VIGENCIA_SEG = 30
#: Rows of each plan table (actions, held changes, forecast) a page draws.
MAX_FILAS_PLAN = 50


def _config_viva(db: Any, cfg: Any) -> ajustes_vivos.ConfigViva:
    viva = ajustes_vivos.ConfigViva(cfg)
    viva.aplicar(ajustes_vivos.decidir(cfg, ajustes_vivos.leer_filas(db)).valores)
    return viva


def plan_siguiente(db: Any, cfg: Any, ahora: datetime) -> dict[str, Any]:
    """What the next cycle would do with the last recorded tickets (writes nothing)."""
    viva = _config_viva(db, cfg)
    ajustes = AjustesBalanceo.desde_config(viva, aislamiento_estricto=ajuste(viva, "BALANCEADOR_AISLAMIENTO_ESTRICTO"),
                                           preempcion=ajuste(viva, "BALANCEADOR_PREEMPCION"))
    lectura = repositorio.leer_todo(db, ajustes.licencias, ahora - timedelta(minutes=ajustes.tolerancia_unknown_min))
    tickets = {int(f["RobotId"]): int(f["TicketsPendientes"] or 0) for f in consultas.filas(db, "consola.ultimos_tickets")}
    cooling = CoolingManager.desde_config(viva)
    cooling.reconstruir(historico_client.ultimos_cambios(db, ahora, ajustes.cooling.periodo_seg))
    plan = planificar(lectura.robots, lectura.pool, lectura.asignaciones, lectura.ocupados, tickets, (),
                      cooling.snapshot(), ajustes, ahora)
    nombres = {r.robot_id: r.robot for r in lectura.robots}
    acciones = [{"RobotId": a.robot_id, "Robot": nombres.get(a.robot_id, str(a.robot_id)), "Accion": a.accion,
                 "Equipos": list(a.equipo_ids), "Antes": a.antes, "Despues": a.despues, "Tickets": a.tickets,
                 "CodigoMotivo": a.codigo_motivo, "Justificacion": a.justificacion} for a in plan.acciones]
    retenidos = [{"RobotId": r.robot_id, "Robot": nombres.get(r.robot_id, str(r.robot_id)), "Codigo": r.codigo,
                  "Texto": r.justificacion} for r in plan.retenidos]
    pronosticos = pronostico_sql.pronosticos(db, [r for r in lectura.robots if r.robot_id in plan.deseados], tickets,
                                             lectura.asignaciones, ahora)
    return {"calculado": ahora, "acciones": acciones, "retenidos": retenidos,
            "deseados": {str(k): v for k, v in plan.deseados.items()},
            "fuente_tickets": "últimos tickets registrados en HistoricoBalanceo (la consola no lee las fuentes)",
            "pronostico": {"cabecera": list(CABECERA_PRONOSTICO), "filas": [list(f) for f in filas_tabla(
                pronosticos, nombres)], "nota": NOTA_PRONOSTICO}}


def plan_vigente(ctx: Any, forzar: bool = False) -> dict[str, Any]:
    """The plan of :func:`plan_siguiente`, computed at most once per PLAN_VIGENCIA_SEG per process."""
    cache = current_app.extensions.setdefault("sam_plan_balanceo", CalculoVigente(PLAN_VIGENCIA_SEG))
    db, cfg, clock = ctx.db, ctx.cfg, ctx.clock
    return cache.obtener(lambda: plan_siguiente(db, cfg, clock.now_local()), forzar=forzar)


def plan_para_pagina(plan: dict[str, Any], robot: int | None) -> dict[str, Any]:
    """What a page shows of ``plan``: only ``robot``'s rows when filtered, at most MAX_FILAS_PLAN
    rows per table, with the totals and the number of actions of each kind."""
    acciones = [a for a in plan["acciones"] if robot is None or a["RobotId"] == robot]
    retenidos = [r for r in plan["retenidos"] if robot is None or r["RobotId"] == robot]
    filas = [f for f in plan["pronostico"]["filas"] if robot is None or f[1] == str(robot)]
    por_accion: dict[str, int] = {}
    for a in acciones:
        por_accion[a["Accion"]] = por_accion.get(a["Accion"], 0) + 1
    return {**plan, "acciones": acciones[:MAX_FILAS_PLAN], "total_acciones": len(acciones),
            "por_accion": por_accion, "retenidos": retenidos[:MAX_FILAS_PLAN], "total_retenidos": len(retenidos),
            "pronostico": {**plan["pronostico"], "filas": filas[:MAX_FILAS_PLAN], "total_filas": len(filas)},
            "max_filas": MAX_FILAS_PLAN}


def _nombre_robot(db: Any, robots: list[dict[str, Any]], robot_id: int) -> str:
    """The robot's name for the chart's title (its id when it is not in Robots)."""
    fila = next((r for r in robots if r.get("RobotId") == robot_id), None) or consultas.fila(
        db, "consola.robot", (robot_id,))
    return str(fila["Robot"]) if fila and fila.get("Robot") else str(robot_id)


@ruta(bp, "/balanceador", rol=LECTOR)
def vista():
    ctx = web.contexto()
    db, ahora = ctx.db, ctx.clock.now_local()
    robot = _entrada.entero("robot", 1)
    antes = _entrada.entero("antes", 1, 2**62)
    horas = _entrada.entero("horas", 1, max(HORAS_GRAFICO)) or 24
    if horas not in HORAS_GRAFICO:
        _entrada.rechazar(f"El filtro «horas» admite {', '.join(map(str, HORAS_GRAFICO))}; se recibió {horas}.")
    tam = _entrada.tamano()
    consulta = "consola.historico_balanceo" if robot is None else "consola.historico_balanceo_robot"
    decisiones = consultas.filas(db, consulta, (antes or 2**62, robot, tam))
    siguiente = decisiones[-1]["HistoricoId"] if len(decisiones) >= tam else None
    serie = []
    if robot is not None:
        serie = [(consultas.fecha(f["FechaBalanceo"]), f["TicketsPendientes"], f["EquiposAsignadosDespues"])
                 for f in consultas.filas(db, "consola.serie_balanceo", (robot, ahora - timedelta(hours=horas)))]
    datos = {"filtros": {"robot": robot, "horas": horas}, "decisiones": decisiones, "siguiente": siguiente,
             "antes": antes, "serie": [{"FechaBalanceo": m, "TicketsPendientes": t, "EquiposAsignadosDespues": e}
                                       for m, t, e in serie],
             "plan": plan_para_pagina(plan_vigente(ctx, forzar=_entrada.bit("recalcular") == 1), robot)}
    robots = consultas.filas(db, "consola.robots_con_balanceo")
    grafico = Markup(graficos.serie_svg(f"Tickets y equipos del robot {_nombre_robot(db, robots, robot)} en las "
                                        f"últimas {horas} h", serie)) if robot is not None else None
    return web.responder("balanceador.html", datos, grafico=grafico, robots=robots, horas_grafico=HORAS_GRAFICO,
                         plan_vigencia_seg=PLAN_VIGENCIA_SEG)
