"""The Balanceador service (B1-B10): wiring, the cycle and the ``--simular`` dry run.

Cycle (B1): read the enabled ticket sources concurrently, record their health (B8 alerts), read
robots, pool, assignments and busy equipos from the SAM DB, consolidate (B3), plan (pure,
``balanceo.planificar``), apply in one transaction (B9) and feed the CoolingManager (B7).

Robots with tickets that are not balanced (inactive, not online, not in A360, a name no SAM robot
has, no equipo of the pool for them) are listed with the reason (:func:`no_balanceados`): in the
dry run always, in the cycle's log once a day per robot and reason.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from balanceador.clients.base import SourceResult
from balanceador.clients.fuentes import SourceHealth, build_sources, close_sources, read_all
from balanceador.database import historico_client, repositorio
from balanceador.database import pronostico as pronostico_sql
from balanceador.modelo import (
    COOLING_SIN_TICKETS,
    MAX_EQUIPOS_CERO,
    NOMBRE_DESCONOCIDO,
    POOL_INACTIVO,
    ROBOT_INACTIVO,
    ROBOT_NO_EN_A360,
    ROBOT_NO_ONLINE,
    SIN_EQUIPOS_LIBRES,
    SIN_POOL,
    AjustesBalanceo,
    Asignacion,
    Plan,
    RobotBalanceo,
)
from balanceador.pronostico import CABECERA as CABECERA_PRONOSTICO
from balanceador.pronostico import NOTA as NOTA_PRONOSTICO
from balanceador.pronostico import TITULO as TITULO_PRONOSTICO
from balanceador.pronostico import filas_tabla as filas_pronostico
from balanceador.service.balanceo import planificar
from balanceador.service.consolidacion import (
    AvisosDiarios,
    Consolidado,
    TicketsSinRobot,
    consolidar,
    sin_robot_activo,
)
from balanceador.service.cooling_manager import CoolingManager
from balanceador.service.mapeo import MapeoNombres
from common import latido, metricas
from common.database.sql_client import DatabaseClient, DatabaseError
from common.liderazgo import LiderazgoPerdido, comprobar_cerco
from common.service_runner import CicloFallido
from common.utils.alertas import AlertaBdSam, RachaDeFallos, con_nombre, es_bd_no_accesible, plural
from common.utils.config_manager import ajuste

_log = logging.getLogger("sam.balanceador")

CLAVE_ALERTA_BD = "balanceador.bd_sam"  # the SAM DB answers but refuses the cycle (permissions, schema)
#: What the Balanceador stops doing while the SAM DB cannot be reached (the body of its one alert).
CONSECUENCIA_BD_SAM = "Mientras tanto no se aplica ningún cambio de balanceo; las asignaciones siguen como estaban."

# ---------------------------------------------------------------------------------- not balanced
#: Why a robot with tickets is not balanced, read as "no se balancea: <texto>" (SIN_POOL: _texto_sin_pool).
TEXTOS_NO_BALANCEADO = {
    ROBOT_INACTIVO: "está inactivo en SAM (Activo = 0)",
    ROBOT_NO_ONLINE: "no está online (EsOnline = 0)",
    ROBOT_NO_EN_A360: "no existe en A360 (ExisteEnA360 = 0)",
    NOMBRE_DESCONOCIDO: "ningún robot de SAM tiene ese nombre (revise dbo.MapeoRobots, MAPA_ROBOTS o dbo.Robots)",
    MAX_EQUIPOS_CERO: "su MaxEquipos es 0",
    POOL_INACTIVO: "su pool está inactivo (Pools.Activo = 0)",
}


def nombre_pool(pool_id: int | None, pools: Mapping[int, str]) -> str:
    """How the dry run names a pool: its name and id, or "general"."""
    if pool_id is None:
        return "general"
    return f"{pools.get(pool_id, '?')} ({pool_id})"


@dataclass(frozen=True)
class NoBalanceado:
    """A robot with tickets this cycle that the balancer does not balance, and why."""

    robot: str  # its SAM name; for NOMBRE_DESCONOCIDO the name the source reports
    robot_id: int | None  # None: a name no SAM robot has, reported without RobotId
    tickets: int
    fuentes: tuple[str, ...]
    codigo: str
    motivo: str  # Spanish


def _texto_sin_pool(n_pool: int) -> str:
    if n_pool == 0:
        return ("no hay ningún equipo en el pool (con PermiteBalanceoDinamico = 1, una licencia de "
                "BALANCEADOR_LICENCIAS_POOL, CONNECTED, usuario activo y sin asignación manual, reservada "
                "o programada)")
    return (f"ninguno de los {plural(n_pool, 'equipo', 'equipos')} del pool queda libre para él: los tienen robots que no "
            "pueden cederlos (de mayor o igual prioridad, en su mínimo o con una ejecución en curso)")


def _motivo_no_balanceado(r: RobotBalanceo, plan: Plan) -> str | None:
    if not r.activo:
        return ROBOT_INACTIVO
    if not r.es_online:
        return ROBOT_NO_ONLINE
    if not r.existe_en_a360:
        return ROBOT_NO_EN_A360
    if not r.pool_activo:
        return POOL_INACTIVO
    if plan.final.get(r.robot_id):
        return None
    if plan.deseados.get(r.robot_id, 0) == 0:
        return MAX_EQUIPOS_CERO
    if any(x.robot_id == r.robot_id and x.codigo == SIN_EQUIPOS_LIBRES for x in plan.retenidos):
        return SIN_POOL
    return None  # e.g. the cooling holds its rise: the plan's table says so


def no_balanceados(plan: Plan, cons: Consolidado, lectura: repositorio.Lectura,
                   sin_robot: Iterable[TicketsSinRobot] = ()) -> list[NoBalanceado]:
    """The robots with tickets this cycle that end it with no VM of the balancer, and why
    (``sin_robot``: :func:`~balanceador.service.consolidacion.sin_robot_activo`). Pure."""
    out = [NoBalanceado(t.nombre, t.robot_id, t.tickets, t.fuentes, codigo, TEXTOS_NO_BALANCEADO[codigo])
           for t in sin_robot if t.tickets > 0
           for codigo in [ROBOT_INACTIVO if t.inactivo else NOMBRE_DESCONOCIDO]]
    robots = {r.robot_id: r for r in lectura.robots}
    for rid, tickets in cons.tickets.items():
        r = robots.get(rid)
        codigo = _motivo_no_balanceado(r, plan) if r is not None and tickets > 0 else None
        if codigo is not None:
            texto = _texto_sin_pool(len(lectura.pool)) if codigo == SIN_POOL else TEXTOS_NO_BALANCEADO[codigo]
            out.append(NoBalanceado(r.robot, rid, tickets, cons.fuentes_por_robot.get(rid, ()), codigo, texto))
    return sorted(out, key=lambda x: (x.robot.casefold(), x.robot_id or 0, x.codigo))


def por_robot(plan: Plan, cons: Consolidado, lectura: repositorio.Lectura) -> tuple[dict[str, int], dict[str, int]]:
    """Tickets and balancer equipos per robot name after a cycle (the ``sam_balanceo_*`` gauges)."""
    nombres = {r.robot_id: r.robot or str(r.robot_id) for r in lectura.robots}
    tickets = {nombres.get(rid, str(rid)): int(n) for rid, n in cons.tickets.items()}
    equipos = {nombres.get(rid, str(rid)): len(vms) for rid, vms in plan.final.items()}
    return tickets, equipos


def _cuenta(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


class ServicioBalanceador:
    def __init__(self, cfg: Any, db: Any, fuentes: Sequence[Any], salud: Any, cooling: CoolingManager,
                 clock: Any, *, alerts: Any = None, logger: logging.Logger | None = None,
                 executor: concurrent.futures.Executor | None = None,
                 avisos: AvisosDiarios | None = None) -> None:
        self.cfg = cfg
        self.db = db
        self.fuentes = list(fuentes)
        self.salud = salud
        self.cooling = cooling
        #: What the consolidation carries across cycles (B3, B8): kept by the cycle, never by the dry run.
        self.alimentados: Mapping[str, frozenset[int]] = {}
        self.avisos = avisos or AvisosDiarios()
        self.clock = clock
        self.alerts = alerts
        self.log = logger or _log
        self.ajustes = self._leer_ajustes()
        self.executor = executor
        self.cooling_reconstruido = False
        #: Never two cycles at once: the periodic job and an operator's request (L8.2) take turns.
        self._cerrojo_ciclo = threading.Lock()
        #: The SAM DB error of the last cycle, None when it could use the DB (reported by job_ciclo).
        self.error_bd: DatabaseError | None = None
        #: H3: checked right before applying a plan; main() sets it to the election's puede_trabajar.
        self.puede_aplicar: Callable[[], bool] = lambda: True
        #: H3 fencing token (common.liderazgo.Cerco, HA on): the DB refuses the plan of a process that
        #: lost the role. None (HA off): not fenced.
        self.cerco: Any = None
        umbral = int(ajuste(cfg, "SAM_FALLOS_CONSECUTIVOS_ALERTA"))
        self._racha_bd = RachaDeFallos(alerts, CLAVE_ALERTA_BD, umbral=umbral, logger=self.log)
        #: The process' one alert for "SAM DB unreachable" (common.utils.alertas.AlertaBdSam).
        self.bd_sam = AlertaBdSam(alerts, db, umbral=umbral, consecuencia=CONSECUENCIA_BD_SAM, logger=self.log)

    # ------------------------------------------------------------------ pieces
    def reconstruir_cooling(self, now: datetime) -> None:
        filas = historico_client.ultimos_cambios(self.db, now, self.ajustes.cooling.periodo_seg)
        n = self.cooling.reconstruir(filas)
        self.cooling_reconstruido = True
        self.log.info("Estado de enfriamiento reconstruido desde HistoricoBalanceo: %s.", plural(n, "robot", "robots"))

    def leer_fuentes(self) -> list[SourceResult]:
        return read_all(self.fuentes, self.executor)

    def preparar(self, now: datetime, resultados: list, *, simulacion: bool = False
                 ) -> tuple[Plan, Consolidado, repositorio.Lectura, list[NoBalanceado]]:
        """Read the SAM DB, consolidate and plan; also the robots with tickets left unbalanced.
        The cycle keeps what consolidation and cooling carry to the next cycle; the dry run
        (``simulacion=True``) keeps nothing and logs no name."""
        limite_unknown = now - timedelta(minutes=self.ajustes.tolerancia_unknown_min)
        lectura = repositorio.leer_todo(self.db, self.ajustes.licencias, limite_unknown)
        mapeo = MapeoNombres(lectura.mapeo, ajuste(self.cfg, "MAPA_ROBOTS"))  # B14, every cycle
        cons = consolidar(resultados, lectura.robots, self.alimentados, mapeo)
        sin_robot = sin_robot_activo(cons, repositorio.leer_robots_inactivos(self.db)) if cons.filas_desconocidas else ()
        balanceados = [r.robot_id for r in lectura.robots if r.balanceado]
        if not simulacion:
            self.alimentados = cons.alimentados
            # B3's daily warning is for names no SAM robot has; an inactive robot's line is the cycle's.
            self.avisos.avisar([par for t in sin_robot if not t.inactivo for par in t.filas], now)
            self.cooling.observar(cons.tickets, balanceados, cons.protegidos, now)
            snapshot = self.cooling.snapshot()
        else:  # the dry run observes on a copy: the service's cooling state stays as it was
            copia = self.cooling.copia()
            copia.observar(cons.tickets, balanceados, cons.protegidos, now)
            snapshot = copia.snapshot()
        plan = planificar(lectura.robots, lectura.pool, lectura.asignaciones, lectura.ocupados, cons.tickets,
                          cons.protegidos, snapshot, self.ajustes, now)
        return plan, cons, lectura, no_balanceados(plan, cons, lectura, sin_robot)

    def _leer_ajustes(self) -> AjustesBalanceo:
        cfg = self.cfg
        return AjustesBalanceo.desde_config(cfg, aislamiento_estricto=ajuste(cfg, "BALANCEADOR_AISLAMIENTO_ESTRICTO"),
                                            preempcion=ajuste(cfg, "BALANCEADOR_PREEMPCION"))

    def aplicar_ajustes_vivos(self) -> None:
        """C6: the balancer's settings as the live config has them now (read before each cycle)."""
        nuevos = self._leer_ajustes()
        if nuevos != self.ajustes:
            self.ajustes = nuevos
            self.cooling.ajustes = nuevos.cooling

    # ------------------------------------------------------------------ the cycle
    def job_ciclo(self) -> CicloFallido | None:
        """The runner's job: one cycle; one that could not use the SAM DB (handled by :meth:`ciclo`:
        logged, alerted) is reported as failed, so the heartbeat does not call it OK (H5)."""
        self.ciclo()
        return CicloFallido(self.error_bd) if self.error_bd is not None else None

    def ciclo(self) -> Plan | None:
        """One balancing cycle; a call made while another runs waits for it and then balances again."""
        with self._cerrojo_ciclo:
            return self._ciclo()

    def _ciclo(self) -> Plan | None:
        self.error_bd = None
        self.aplicar_ajustes_vivos()
        now = self.clock.now_local()
        resultados = self.leer_fuentes()
        self.salud.record(resultados)
        try:
            if not self.cooling_reconstruido:
                self.reconstruir_cooling(now)
            plan, cons, lectura, sin_balancear = self.preparar(now, resultados)
            if not self.puede_aplicar():  # H3: leadership lost during the cycle: apply nothing
                self.log.warning("Ciclo de balanceo descartado: este Balanceador ya no es el líder.")
                return None
            self._aplicar(plan, now)
        except LiderazgoPerdido as exc:  # H3: the DB says another process took the role
            self.log.warning("Ciclo de balanceo descartado: %s.", exc)
            return None
        except DatabaseError as exc:
            self.error_bd = exc
            self._fallo_bd(exc)
            return None
        self._bd_ok()
        metricas.balanceo(*por_robot(plan, cons, lectura))  # M1
        self.cooling.registrar_plan(plan, now)
        self._registrar_log(plan, cons, lectura, len(sin_balancear))
        self._registrar_no_balanceados(sin_balancear, now)
        return plan

    def _aplicar(self, plan: Plan, now: datetime) -> int:
        """Apply the plan; with HA on (H3) in one transaction that first checks, holding the
        ``Liderazgo`` row until it ends, that this process still holds the role
        (:class:`~common.liderazgo.LiderazgoPerdido` and nothing written when another one took it)."""
        if self.cerco is None or plan.vacio:
            return repositorio.aplicar(self.db, plan, now)

        def _tx(tx: Any) -> int:
            comprobar_cerco(tx, self.cerco, "ningún cambio del plan de balanceo")
            return repositorio.aplicar(tx, plan, now)  # joins this transaction

        return self.db.run_in_transaction(_tx)

    def _registrar_no_balanceados(self, sin_balancear: Sequence[NoBalanceado], now: datetime) -> None:
        """One INFO line per robot and reason, once a day; a name no SAM robot has is B3's warning."""
        for x in sin_balancear:
            if x.codigo == NOMBRE_DESCONOCIDO or not self.avisos.toca_hoy(("no_balanceado", x.robot_id, x.codigo), now):
                continue
            self.log.info("El %s tiene %s (%s %s) y no se balancea: %s [%s]. Se avisa una vez al día.",
                          con_nombre("robot", x.robot_id, x.robot), _cuenta(x.tickets, "ticket", "tickets"),
                          "fuente" if len(x.fuentes) == 1 else "fuentes", ", ".join(x.fuentes), x.motivo,
                          x.codigo)

    def _registrar_log(self, plan: Plan, cons: Consolidado, lectura: repositorio.Lectura,
                       sin_balancear: int = 0) -> None:
        nombres = {r.robot_id: r.robot for r in lectura.robots}
        equipos = {e.equipo_id: e.equipo for e in lectura.pool}
        for a in plan.acciones:
            self.log.info("%s %s: %s [%s] %s", a.accion, con_nombre("robot", a.robot_id, nombres.get(a.robot_id)),
                          ", ".join(con_nombre("equipo", e, equipos.get(e)) for e in a.equipo_ids),
                          a.codigo_motivo, a.justificacion)
        for r in plan.retenidos:
            self.log.info("Retenido %s de %s para el %s [%s]: %s", r.direccion.lower(),
                          plural(r.cantidad, "equipo", "equipos"),
                          con_nombre("robot", r.robot_id, nombres.get(r.robot_id)), r.codigo, r.justificacion)
        self.log.info(
            "Ciclo de balanceo: %s, %s en el pool, %s, %s, %s%s%s.",
            plural(len(plan.deseados), "robot balanceado", "robots balanceados"),
            plural(len(lectura.pool), "equipo", "equipos"), plural(sum(cons.tickets.values()), "ticket", "tickets"),
            plural(len(plan.acciones), "acción", "acciones"), plural(len(plan.retenidos), "retenida", "retenidas"),
            f"; {plural(sin_balancear, 'robot', 'robots')} con tickets sin balancear (ver --simular)"
            if sin_balancear else "",
            f"; fuentes caídas: {', '.join(cons.fuentes_caidas)} (sus robots no se reducen)"
            if cons.fuentes_caidas else "",
        )

    @property
    def fallos_bd(self) -> int:
        return max(self._racha_bd.fallos, self.bd_sam.fallos)

    def _fallo_bd(self, exc: Exception) -> None:
        if es_bd_no_accesible(exc):  # the process' one alert for this root cause
            fallos = self.bd_sam.fallo("el ciclo de balanceo", exc)
        else:
            fallos = self._racha_bd.fallo(
                "El Balanceador no puede usar la base de datos SAM",
                lambda n: f"El ciclo de balanceo ha fallado {plural(n, 'vez', 'veces seguidas')} por la base de "
                f"datos SAM: {exc}",
                que_revisar="La base de datos responde pero rechaza el ciclo: permisos del login SQL_SAM_UID y "
                "esquema de SAM (SAM.sql aplicado).",
            )
        self.log.error("No se pudo completar el ciclo de balanceo (%s de la BD SAM): %s; no se ha aplicado "
                       "ningún cambio.", plural(fallos, "fallo", "fallos seguidos"), exc)

    def _bd_ok(self) -> None:
        if self.fallos_bd:
            self.log.info("La base de datos SAM vuelve a responder tras %s.",
                          plural(self.fallos_bd, "fallo", "fallos seguidos"))
        self.bd_sam.exito()
        self._racha_bd.exito("El Balanceador vuelve a usar la base de datos SAM",
                             "El ciclo de balanceo vuelve a completarse.")

    # ------------------------------------------------------------------ dry run
    def simular(self) -> str:
        now = self.clock.now_local()
        resultados = self.leer_fuentes()
        self.reconstruir_cooling(now)
        plan, cons, lectura, sin_balancear = self.preparar(now, resultados, simulacion=True)
        texto = tabla_plan(plan, cons, lectura, resultados, now, sin_balancear, self.ajustes)
        return texto + self.seccion_pronostico(plan, cons, lectura, now)

    def seccion_pronostico(self, plan: Plan, cons: Consolidado, lectura: repositorio.Lectura, now: datetime) -> str:
        """B15: per balanced robot, the time to drain its queue at the last hour's throughput, now and
        with one more equipo; an estimate, with the data it rests on."""
        robots = [r for r in lectura.robots if r.robot_id in plan.deseados]
        if not robots:
            return ""
        pronosticos = pronostico_sql.pronosticos(self.db, robots, cons.tickets, lectura.asignaciones, now)
        filas = filas_pronostico(pronosticos, {r.robot_id: r.robot for r in robots})
        return "\n".join(["", TITULO_PRONOSTICO, *_tabla(CABECERA_PRONOSTICO, filas), NOTA_PRONOSTICO]) + "\n"


def _otras_asignaciones(asignaciones: Iterable[Asignacion]) -> dict[int, str]:
    """Per robot, its equipos the balancer does not move (manual, reserved, scheduled), as text."""
    cuentas: dict[int, dict[str, int]] = {}
    for a in asignaciones:
        if not a.del_balanceador:
            tipo = "programado" if a.es_programado else "reservado" if a.reservado else "manual"
            por_tipo = cuentas.setdefault(a.robot_id, {})
            por_tipo[tipo] = por_tipo.get(tipo, 0) + 1
    plurales = {"manual": "manuales", "reservado": "reservados", "programado": "programados"}
    return {rid: ", ".join(_cuenta(c[t], t, plurales[t]) for t in plurales if t in c)
            for rid, c in cuentas.items()}


def _tabla(cab: Sequence[str], filas: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell (at most 40); the last one is left free."""
    anchos = [min(40, max(len(c), *(len(f[i]) for f in filas))) for i, c in enumerate(cab[:-1])]

    def fmt(f: Sequence[str]) -> str:
        celdas = [str(v)[:anchos[i]].ljust(anchos[i]) for i, v in enumerate(f[:-1])]
        return " | ".join([*celdas, f[-1]])

    return [fmt(cab), "-+-".join("-" * w for w in anchos) + "-+-" + "-" * 13, *(fmt(f) for f in filas)]


def _filas_plan(plan: Plan, cons: Consolidado, lectura: repositorio.Lectura) -> list[tuple[str, ...]]:
    robots = {r.robot_id: r for r in lectura.robots}
    otras = _otras_asignaciones(lectura.asignaciones)
    antes: dict[int, int] = {}  # the balancer's VMs per robot before the plan
    for a in lectura.asignaciones:
        if a.del_balanceador:
            antes[a.robot_id] = antes.get(a.robot_id, 0) + 1

    def col_antes(rid: int, n: int) -> str:
        return f"{n} (+{otras[rid]})" if rid in otras else str(n)

    filas: list[tuple[str, ...]] = []
    for a in plan.acciones:
        r = robots.get(a.robot_id)
        filas.append((r.robot if r else "?", str(a.robot_id), nombre_pool(a.pool_id, lectura.pools),
                      str(r.prioridad if r else ""), str(a.tickets),
                      col_antes(a.robot_id, a.antes), str(plan.deseados.get(a.robot_id, 0)), a.accion,
                      ",".join(map(str, a.equipo_ids)), a.codigo_motivo, a.justificacion))
    for x in plan.retenidos:
        r = robots.get(x.robot_id)
        filas.append((r.robot if r else "?", str(x.robot_id), nombre_pool(x.pool_id, lectura.pools),
                      str(r.prioridad if r else ""),
                      str(cons.tickets.get(x.robot_id, 0)), col_antes(x.robot_id, antes.get(x.robot_id, 0)),
                      str(plan.deseados.get(x.robot_id, 0)), f"RETENIDO ({x.direccion})",
                      plural(x.cantidad, "equipo", "equipos"), x.codigo, x.justificacion))
    return filas


def _seccion_no_balanceados(sin_balancear: Sequence[NoBalanceado], lectura: repositorio.Lectura) -> list[str]:
    if not sin_balancear:
        return []
    otras = _otras_asignaciones(lectura.asignaciones)
    propias: dict[int, int] = {}
    for a in lectura.asignaciones:
        if a.del_balanceador:
            propias[a.robot_id] = propias.get(a.robot_id, 0) + 1
    filas = []
    for x in sin_balancear:
        antes = "-" if x.robot_id is None else str(propias.get(x.robot_id, 0))
        if x.robot_id in otras:
            antes += f" (+{otras[x.robot_id]})"
        filas.append((x.robot, "-" if x.robot_id is None else str(x.robot_id), str(x.tickets),
                      ", ".join(x.fuentes), antes, x.codigo, x.motivo))
    cab = ("Robot", "RobotId", "Tickets", "Fuente", "Antes", "Motivo", "Por qué no se balancea")
    return ["", f"Robots con tickets que el Balanceador no balancea ({len(sin_balancear)}):",
            *_tabla(cab, filas)]


def tabla_plan(plan: Plan, cons: Consolidado, lectura: repositorio.Lectura, resultados: Sequence[Any],
               now: datetime, sin_balancear: Sequence[NoBalanceado] = (),
               ajustes: AjustesBalanceo | None = None) -> str:
    """The plan as a Spanish text table (``--simular``), then the robots with tickets left unbalanced.

    "Antes": the balancer's equipos of the robot before the plan, plus (as context, never counted
    nor moved) its manual, reserved and scheduled ones: ``1 (+2 manuales, 1 reservado)``."""
    ajustes = ajustes or AjustesBalanceo()
    lineas = [f"Simulación del Balanceador ({now:%Y-%m-%d %H:%M:%S}); no se ha modificado nada.", ""]
    for res in resultados:
        estado = "OK" if res.ok else f"ERROR: {res.error}"
        lineas.append(f"Fuente {res.name}: {estado} ({plural(len(res.rows), 'fila', 'filas')})")
    if not resultados:
        lineas.append("Ninguna fuente de tickets habilitada.")
    if cons.desconocidos:
        nombres = ", ".join(f"{fuente}: {nombre!r}" for fuente, nombre in sorted(set(cons.desconocidos)))
        lineas.append(f"Nombres sin robot activo en SAM (se ignoran; revise MapeoRobots, MAPA_ROBOTS o Robots): "
                      f"{nombres}")
    if cons.protegidos:
        lineas.append(f"Robots protegidos por fuente caída: {', '.join(map(str, sorted(cons.protegidos)))}")
    lineas.append(f"Equipos en el pool: {len(lectura.pool)}; robots balanceados: {len(plan.deseados)}")
    if lectura.pools:
        aislamiento = "estricto" if ajustes.aislamiento_estricto else "con préstamos del pool general"
        lineas.append(f"Pools: {len(lectura.pools)}; aislamiento {aislamiento}; preempción "
                      f"{'activada' if ajustes.preempcion else 'desactivada'}.")
    lineas.append("")
    filas = _filas_plan(plan, cons, lectura)
    if not filas:
        lineas.append("El próximo ciclo no cambiaría ninguna asignación.")
    else:
        cab = ("Robot", "RobotId", "Pool", "Prio", "Tickets", "Antes", "Deseados", "Acción", "Equipos", "Motivo",
               "Justificación")
        lineas.extend(_tabla(cab, filas))
        lineas.append("")
        lineas.append(f"{plural(len(plan.acciones), 'acción planificada', 'acciones planificadas')}, "
                      f"{plural(len(plan.retenidos), 'retenida', 'retenidas')}.")
        if any(x.codigo == COOLING_SIN_TICKETS for x in plan.retenidos):
            lineas.append("Nota: la simulación cuenta el tiempo sin tickets desde ahora; el servicio en marcha "
                          "puede llevar más tiempo contándolo y liberar esos equipos antes.")
    lineas.extend(_seccion_no_balanceados(sin_balancear, lectura))
    return "\n".join(lineas) + "\n"


def _parser(prog: str = "python balanceador/run_balanceador.py") -> argparse.ArgumentParser:
    from common.cli import ParserSAM

    p = ParserSAM(prog, "SAM Balanceador: asigna equipos a robots según los tickets pendientes.",
                  epilog="Sin opciones, arranca el servicio con la configuración de los archivos .env y del "
                         "entorno (ver .env.example).")
    p.add_argument("--simular", action="store_true",
                   help="muestra el plan del próximo ciclo con sus motivos y no modifica nada")
    return p


def main(argv: Sequence[str] | None = None, *, prog: str = "python balanceador/run_balanceador.py") -> int:
    args = _parser(prog).parse_args(None if argv is None else list(argv))  # --help/--version exit here

    from common.clock import Clock
    from common.utils.config_manager import load_config_or_exit
    from common.utils.logging_setup import setup_logging

    cfg = load_config_or_exit("balanceador")
    logger = setup_logging(cfg, "balanceador")
    log = logging.getLogger("sam.balanceador")
    clock = Clock(cfg.SAM_ZONA_HORARIA or None)

    if args.simular:
        return _simular(cfg, clock, log)

    from common.database.schema import ensure_schema
    from common.service_runner import ServiceRunner
    from common.utils.ajustes_vivos import ConfigViva, RecargaAjustes
    from common.utils.mail_client import EmailAlertClient
    from common.version import __version__

    cfg = ConfigViva(cfg)  # C6: every part reads the live config (ConfiguracionSistema over the environment)
    alerts = EmailAlertClient(cfg, "balanceador")
    db = DatabaseClient.from_config(cfg)
    log.info("SAM Balanceador versión %s iniciando. BD SAM: %s. Fuentes: %s.", __version__, db.describe(),
             ", ".join(cfg.BALANCEADOR_PROVEEDORES_CARGA) or "ninguna")
    try:
        ensure_schema(db)
    except DatabaseError as exc:  # the cycle retries; do not die because the DB is down at start
        log.error("No se pudo comprobar el esquema de la BD SAM al arrancar: %s", exc)
    ajustes_vivos = RecargaAjustes(db, cfg, alerts=alerts, logger=log)
    ajustes_vivos.recargar()  # before the first cycle
    fuentes = build_sources(cfg, db)
    salud = SourceHealth(alerts, int(cfg.BALANCEADOR_FALLOS_PARA_ALERTA), logging.getLogger("sam.balanceador.fuentes"))
    cooling = CoolingManager.desde_config(cfg)
    executor = EjecutorDaemon("fuente-tickets")
    servicio = ServicioBalanceador(cfg, db, fuentes, salud, cooling, clock, alerts=alerts, logger=log,
                                   executor=executor)
    try:
        servicio.reconstruir_cooling(clock.now_local())
    except DatabaseError as exc:
        log.error("No se pudo leer HistoricoBalanceo al arrancar (se reintenta en cada ciclo): %s", exc)

    from common.liderazgo import elegir_al_arrancar

    eleccion = elegir_al_arrancar(cfg, "balanceador", alerts=alerts, logger=log)  # H1: before any work
    if isinstance(eleccion, int):
        close_sources(fuentes)
        db.close_all()
        return eleccion
    servicio.puede_aplicar = eleccion.puede_trabajar
    servicio.cerco = eleccion.cerco()
    # A standby that takes over reads the cooling state the old leader left in HistoricoBalanceo.
    eleccion.al_tomar.append(lambda: setattr(servicio, "cooling_reconstruido", False))
    runner = ServiceRunner("balanceador", logger=logger.getChild("runner"), alerts=alerts,
                           shutdown_timeout=float(cfg.BALANCEADOR_SHUTDOWN_TIMEOUT_SEG))
    runner.usar_liderazgo(eleccion)
    latido.instalar(runner, db, "balanceador", cfg, clock=clock)  # H5 (before the hook that closes the DB)
    metricas.instalar(runner, cfg, "balanceador")  # M1
    runner.add_job("ciclo_balanceo", float(cfg.BALANCEADOR_INTERVALO_CICLO_SEG), servicio.job_ciclo, solo_lider=True)
    from balanceador.service import solicitudes

    solicitudes.instalar(runner, servicio)  # L8.2: "balancear ahora", served by the leader
    ajustes_vivos.registrar(runner)
    runner.add_shutdown_hook(lambda: close_sources(fuentes))
    runner.add_shutdown_hook(lambda: executor.shutdown(wait=False, cancel_futures=True))
    runner.add_shutdown_hook(db.close_all)
    return runner.run()


def _simular(cfg: Any, clock: Any, log: logging.Logger) -> int:
    """B10: print the next plan and write nothing (no schema creation, no history, no alerts)."""

    if str(cfg.SQL_SAM_ENGINE).lower() == "sqlite":
        ruta = cfg.SQL_SAM_SQLITE_PATH
        if not ruta or not Path(ruta).exists():
            print(f"La base de datos SAM (SQLite) todavía no existe: {ruta}.\n"
                  "Los servicios (Lanzador o Balanceador) la crean en su primer arranque; arranque uno de "
                  "ellos (o revise SQL_SAM_SQLITE_PATH) y vuelva a ejecutar --simular. No se ha creado "
                  "ni modificado nada.", file=sys.stderr)
            return 1
    db = DatabaseClient.from_config(cfg)
    from common.utils.ajustes_vivos import ConfigViva, RecargaAjustes

    cfg = ConfigViva(cfg)  # C6: the plan the service would make, with the rows of ConfiguracionSistema
    RecargaAjustes(db, cfg, logger=log).recargar()
    fuentes = build_sources(cfg, db)
    try:
        servicio = ServicioBalanceador(cfg, db, fuentes, _SinSalud(), CoolingManager.desde_config(cfg), clock,
                                       alerts=None, logger=log, executor=EjecutorDaemon("fuente-tickets"))
        texto = servicio.simular()
    except DatabaseError as exc:
        print(f"No se pudo leer la base de datos SAM: {exc}", file=sys.stderr)
        return 1
    finally:
        close_sources(fuentes)
        db.close_all()
    sys.stdout.write(texto)
    sys.stdout.flush()
    return 0


class EjecutorDaemon(concurrent.futures.Executor):
    """Runs each source read in its own daemon thread.

    A ``ThreadPoolExecutor`` worker is joined at interpreter exit, so a read stuck in a driver call
    (SQL Server has no query timeout; an SSH connect can take several timeouts) would keep the
    process alive after SIGTERM well past BALANCEADOR_SHUTDOWN_TIMEOUT_SEG. A daemon thread is
    abandoned instead; ``read_all`` already bounds the wait and each source refuses overlapping
    reads, so at most one thread per source is ever stuck.
    """

    def __init__(self, prefijo: str = "fuente-tickets") -> None:
        self._prefijo = prefijo
        self._lock = threading.Lock()
        self._cerrado = False
        self._n = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        with self._lock:
            if self._cerrado:
                raise RuntimeError("el ejecutor de lecturas de fuentes está cerrado")
            self._n += 1
            nombre = f"{self._prefijo}-{self._n}"
        futuro: concurrent.futures.Future = concurrent.futures.Future()

        def _correr() -> None:
            if not futuro.set_running_or_notify_cancel():
                return
            try:
                resultado = fn(*args, **kwargs)
            except BaseException as exc:  # delivered to the caller through the future
                futuro.set_exception(exc)
            else:
                futuro.set_result(resultado)

        threading.Thread(target=_correr, name=nombre, daemon=True).start()
        return futuro

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._cerrado = True


class _SinSalud:
    def record(self, results: list) -> None:  # a dry run sends no alert
        pass
