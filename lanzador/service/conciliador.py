"""Conciliador (BEHAVIOUR L5.4–L5.6): brings SAM's executions in line with A360's activity list.

One round (:meth:`Conciliador.run_round`, every ``LANZADOR_INTERVALO_CONCILIADOR_SEG``):

1. reads every busy execution in one query;
2. recovers ``LANZANDO`` rows older than ``LANZADOR_LANZANDO_TIMEOUT_SEG`` (L5.5,
   :meth:`Conciliador.recover_lanzando`, also run at start-up before the first launch cycle);
3. asks A360 for the executions with a ``DeploymentId`` older than ``CONCILIADOR_EDAD_MINIMA_SEG``,
   ``LANZADOR_CONCILIADOR_BATCH_SIZE`` ids per ``/v3/activity/list`` request. Any A360 error → no
   state changes this round (never "mark everything UNKNOWN"); consecutive failures are alerted
   after ``SAM_FALLOS_CONSECUTIVOS_ALERTA`` rounds;
4. found → state and end time (A360 UTC → ``SAM_ZONA_HORARIA``), never over a terminal state;
   not found → ``RondasNoEncontrado + 1``, and ``UNKNOWN`` only after
   ``CONCILIADOR_RONDAS_NO_ENCONTRADO`` rounds *and* ``CONCILIADOR_EDAD_NO_ENCONTRADO_MIN`` of age
   (A360 purges ended runs, so "not found" is ambiguous);
5. closes (``FechaFin``) ``UNKNOWN`` rows older than ``CONCILIADOR_TOLERANCIA_UNKNOWN_MIN`` — until
   then they keep their equipo busy;
6. alerts once per execution active longer than ``LANZADOR_MAX_DURACION_EJECUCION_MIN`` (L5.6);
7. applies callbacks still pending whose execution is now recorded (safety net for L4.3).

Writes are batched (``executemany``): a round over 1,000 active executions costs a handful of DB
statements and ``ceil(1000 / batch)`` A360 calls.

A row never stops a round: when the database refuses one row (:func:`es_error_de_fila`: duplicate
key, truncation, conversion, a trigger) a batch is written again row by row, the refused row is
logged with its ids and retried in the next rounds, and after ``MAX_RONDAS_FILA`` refusals it is set
aside (left out of this process' rounds) with one alert of its own (key per execution, the same as
the launcher's). Only the other database errors count as "database unavailable": a connectivity
error in the process' one "SAM DB unreachable" alert (:class:`~common.utils.alertas.AlertaBdSam`,
shared with the launcher, the sync and the maintenance job), any other in the Conciliador's own.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from common import metricas
from common.database import ejecuciones as E
from common.database.sql_client import DatabaseError, es_error_de_fila
from common.execution_states import LANZANDO, is_known, is_terminal, normalize
from common.utils.alertas import AlertaBdSam, RachaDeFallos, con_nombre, es_bd_no_accesible, plural
from common.utils.config_manager import ajuste
from lanzador.clients.aa_client import A360Error, Activity
from lanzador.service.adopcion import MARGEN_ADOPCION, adopciones_tardias, mejor_despliegue
from lanzador.service.caida_a360 import es_fallo_por_caida
from lanzador.service.conciliacion import (
    ActualizarEstado,
    AdoptarDespliegue,
    AjustesRonda,
    ContarNoEncontrado,
    DecisionActiva,
    PasarAUnknown,
    ReiniciarRondas,
    RespuestaA360,
    a_consultar,
    a_recuperar,
    alerta_duracion,
    decidir_activa,
    decidir_lanzando,
    nuevos_estados,
)

#: Clock-skew margin when matching a LANZANDO intent with A360's start time (L5.5): the SAM host
#: and the Control Room clocks may differ by minutes; a deployment that A360 says started up to
#: this long before SAM's intent is still a candidate (the closest in time wins).

ALERT_A360 = "conciliador_a360"
ALERT_BD = "conciliador_bd"  # a database error that is not connectivity (permissions, schema)
ALERT_DURACION = "ejecucion_larga"
ALERT_FILA = "fila_rechazada"  # + ":<EjecucionId>", shared with the launcher (desplegador.ALERTA_FILA)
#: Rounds in which the database refuses the same row before it is set aside.
MAX_RONDAS_FILA = 3
#: L5.7 late deployments: given-up intents are matched with pending callbacks for this long (a
#: callback comes when the run ends), and with the device's A360 activity for this long after
#: they were given up (one activity read per such equipo and round).
VENTANA_CALLBACKS_TARDIOS = timedelta(hours=24)
VENTANA_ACTIVIDAD_TARDIA = timedelta(minutes=30)


def _chunks(items: list, size: int):
    size = max(1, int(size))
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _describir_ronda(r: dict[str, Any]) -> str:
    return ", ".join([
        plural(r["consultadas"], "consultada", "consultadas"), plural(r["actualizadas"], "actualizada", "actualizadas"),
        plural(r["no_encontradas"], "no encontrada", "no encontradas"),
        f"{plural(r['unknown'], 'pasa', 'pasan')} a UNKNOWN",
        plural(r["cerradas"], "UNKNOWN cerrada", "UNKNOWN cerradas")])


class Conciliador:
    def __init__(self, db: Any, aa_client: Any, cfg: Any, clock: Any, alerts: Any = None,
                 logger: logging.Logger | None = None) -> None:
        self.db = db
        self.aa = aa_client
        self.cfg = cfg
        self.clock = clock
        self.alerts = alerts
        self.log = logger or logging.getLogger("sam.lanzador.conciliador")
        umbral = int(ajuste(cfg, "SAM_FALLOS_CONSECUTIVOS_ALERTA"))
        self._racha_a360 = RachaDeFallos(alerts, ALERT_A360, umbral=umbral, logger=self.log)
        self._racha_bd = RachaDeFallos(alerts, ALERT_BD, umbral=umbral, logger=self.log)
        self.bd_sam = AlertaBdSam(alerts, db, umbral=umbral, logger=self.log)
        #: The error (SAM DB or A360) of the last round that had to give up its work (the job reports it, H5).
        self.ultimo_error_ronda: BaseException | None = None
        self._unknown_seen: set[str] = set()
        self._rechazos: dict[int, int] = {}  # EjecucionId -> rounds in which the DB refused the row
        self._apartadas: set[int] = set()  # EjecucionIds set aside (MAX_RONDAS_FILA refusals)
        self._despliegues: dict[int, Any] = {}  # EjecucionId -> DeploymentId, for the messages
        #: One L5.5 recovery at a time (the launch job's start-up call and a conciliation round may
        #: run at once); the start-up one runs once and its summary is kept for every caller.
        self._recuperacion_lock = threading.Lock()
        self._recuperacion_inicial: dict[str, int] | None = None
        #: EjecucionIds the launcher of this process still has in flight (L5.5 leaves them alone).
        self.en_vuelo: Callable[[], Collection[int]] = frozenset
        #: Names of robots and equipos for alerts and logs (the Lanzador gives its sync's ``Nombres``).
        self.nombres: Any = None
        #: The process' A360 outage watch (M2, given by the Lanzador): an outage it alerted is not
        #: alerted again by the conciliation.
        self.caida: Any = None

    # ------------------------------------------------------------------ settings

    @property
    def batch_size(self) -> int:
        return int(ajuste(self.cfg, "LANZADOR_CONCILIADOR_BATCH_SIZE"))

    def _cutoff(self, now: datetime, age: timedelta) -> datetime:
        """Local wall time ``age`` ago, for comparing with the naive local times in the DB.

        Never later than the real instant ``age`` ago: across the DST spring gap ``now - age`` on
        the wall clock is an hour too late (an UNKNOWN row would be closed after 60 real minutes
        instead of 120); when DST ends the wall-clock difference errs on the safe side (later).
        """
        real = self.clock.to_local(self.clock.local_to_utc(now) - age)
        return min(now - age, real)

    # ------------------------------------------------------------------ alerts bookkeeping

    def _alert(self, key: str, subject: str, body: str, what_to_check: str = "", level: str = "ERROR") -> None:
        if self.alerts is None:
            self.log.warning("ALERTA %s: %s", subject, body)
            return
        try:
            self.alerts.send_alert(key, subject, body, level=level, what_to_check=what_to_check)
        except Exception as exc:  # never let e-mail stop a round
            self.log.warning("No se pudo enviar la alerta %s: %s", key, exc)

    @property
    def fallos_a360(self) -> int:
        return self._racha_a360.fallos

    @property
    def fallos_bd(self) -> int:
        return max(self._racha_bd.fallos, self.bd_sam.fallos)

    def _robot(self, robot_id: Any) -> str:
        return self.nombres.robot(robot_id) if self.nombres is not None else con_nombre("robot", robot_id)

    def _equipo(self, equipo_id: Any) -> str:
        return self.nombres.equipo(equipo_id) if self.nombres is not None else con_nombre("equipo", equipo_id)

    def _a360_failed(self, exc: A360Error) -> None:
        self.ultimo_error_ronda = exc
        error = exc.message or exc
        if self.caida is not None and self.caida.activa and es_fallo_por_caida(exc):
            self.log.error("Conciliación: A360 no disponible (caída ya avisada): %s; no se cambia nada en esta ronda",
                           error)
            return
        fallos = self._racha_a360.fallo(
            "A360 no accesible para la conciliación",
            lambda n: f"La conciliación no ha podido consultar A360 en {n} rondas seguidas. Último error: {error}",
            que_revisar="Compruebe AA_URL, las credenciales de A360 y la conectividad con la Control Room.",
        )
        self.log.error("Conciliación: A360 no responde (%s): %s; no se cambia nada en esta ronda",
                       plural(fallos, "ronda fallida", "rondas fallidas seguidas"), error)

    def _a360_ok(self) -> None:
        if self._racha_a360.fallos:
            self.log.info("Conciliación: A360 vuelve a responder tras %s",
                          plural(self._racha_a360.fallos, "ronda fallida", "rondas fallidas"))
        self._racha_a360.exito("A360 accesible de nuevo para la conciliación",
                               "La conciliación vuelve a consultar A360 con normalidad.")

    def _db_failed(self, exc: BaseException) -> None:
        self.ultimo_error_ronda = exc
        if es_bd_no_accesible(exc):  # the process' one alert for this root cause
            fallos = self.bd_sam.fallo("la conciliación", exc)
        else:
            fallos = self._racha_bd.fallo(
                "La conciliación no puede usar la base de datos SAM",
                lambda n: f"La conciliación no ha podido usar la base de datos SAM en "
                f"{plural(n, 'ronda', 'rondas seguidas')}. Último error: {exc}",
                que_revisar="La base de datos responde pero rechaza la conciliación: permisos del login "
                "SQL_SAM_UID, esquema de SAM (SAM.sql aplicado) y el log del Lanzador.",
            )
        self.log.error("Conciliación: base de datos SAM no disponible (%s): %s",
                       plural(fallos, "fallo seguido", "fallos seguidos"), exc)

    def _db_ok(self) -> None:
        self.bd_sam.exito()
        self._racha_bd.exito("La conciliación vuelve a usar la base de datos SAM",
                             "La conciliación vuelve a usar la base de datos SAM con normalidad.")

    # ------------------------------------------------------------------ L5.5

    def recuperacion_inicial(self) -> dict[str, int]:
        """L5.5 at start-up, run once per process whoever asks first (the launch job before its first
        cycle, or the first conciliation round); every caller gets the summary of that one run. A
        failed run (A360 or the database) is not remembered: the next caller runs it again."""
        return self._una_vez()[0]

    def _una_vez(self) -> tuple[dict[str, int], bool]:
        """The start-up recovery's summary, and whether this call is the one that ran it."""
        with self._recuperacion_lock:
            if self._recuperacion_inicial is not None:
                return dict(self._recuperacion_inicial), False
            self._recuperacion_inicial = self._recuperar(None)
            return dict(self._recuperacion_inicial), True

    def recover_lanzando(self, rows: list[dict] | None = None) -> dict[str, int]:
        """Adopt or fail ``LANZANDO`` rows older than ``LANZADOR_LANZANDO_TIMEOUT_SEG`` (L5.5).

        For each equipo one ``activity_by_device`` call; a run of the same file (and user) whose
        deploymentId no other row holds, that started at or after the intent minus a clock-skew
        margin (or has no start time yet, e.g. ``QUEUED``), is adopted — the closest in time to the
        intent; otherwise the row becomes ``DEPLOY_FAILED`` ("sin confirmación de A360").
        An A360 error for an equipo leaves its rows ``LANZANDO`` until the next round.

        ``rows`` (the round's read of open executions) only says whether there is anything to do;
        the rows themselves are read again under the recovery lock, so two recoveries never judge
        the same row, and the counts are what was written (a row another writer settled meanwhile
        counts nowhere).
        """
        with self._recuperacion_lock:
            return self._recuperar(rows)

    def _recuperacion_de_ronda(self, rows: list[dict]) -> dict[str, int]:
        """The round's L5.5 pass: the start-up recovery when no one ran it yet (it is the same one,
        run once), else a normal pass; the counts are only what this pass wrote."""
        if self._recuperacion_inicial is None:
            summary, mine = self._una_vez()
            if mine:
                return summary
        return self.recover_lanzando(rows)

    def _recuperar(self, rows: list[dict] | None) -> dict[str, int]:
        summary = {"adoptadas": 0, "fallidas": 0, "pendientes": 0}
        now = self.clock.now_local()
        timeout = timedelta(seconds=int(ajuste(self.cfg, "LANZADOR_LANZANDO_TIMEOUT_SEG")))
        corte = self._cutoff(now, timeout)
        if rows is not None and not any(a_recuperar(r, corte) for r in rows):
            return summary
        rows = E.lanzando_older_than(self.db, corte)
        ocupadas = set(self.en_vuelo()) | self._apartadas
        rows = [r for r in rows if r["EjecucionId"] not in ocupadas]
        if not rows:
            return summary
        by_device: dict[Any, list[dict]] = defaultdict(list)
        for r in rows:
            by_device[r["EquipoId"]].append(r)
        for device_id, group in by_device.items():
            self._recover_device(device_id, group, now, summary)
        return summary

    def _recover_device(self, device_id: Any, group: list[dict], now: datetime, summary: dict[str, int]) -> None:
        """L5.5 for one equipo's timed-out LANZANDO rows: one A360 call, then adopt or fail each."""
        margin = MARGEN_ADOPCION
        group.sort(key=lambda r: (r["FechaInicio"], r["EjecucionId"]))
        # In UTC: a local time minus the margin may not exist (DST spring gap) or be ambiguous.
        since_utc = self.clock.local_to_utc(group[0]["FechaInicio"]) - margin
        try:
            acts = self.aa.activity_by_device(int(device_id), since_utc)
        except A360Error as exc:
            self.log.error("Recuperación de LANZANDO en el %s aplazada: A360 no responde: %s",
                           self._equipo(device_id), exc.message or exc)
            summary["pendientes"] += len(group)
            return
        acts = [a for a in acts if a.deployment_id]
        in_use = E.deployment_ids_in_use(self.db, [a.deployment_id for a in acts]) if acts else set()
        for r in group:
            try:
                self._recover_row(r, acts, in_use, device_id, now, summary)
            except DatabaseError as exc:
                if not es_error_de_fila(exc):
                    raise
                self._rechazo(r["EjecucionId"], exc, "recuperar la ejecución LANZANDO")
                summary["pendientes"] += 1

    def _recover_row(self, r: dict, acts: list, in_use: set, device_id: Any, now: datetime,
                     summary: dict[str, int]) -> None:
        """L5.5 for one timed-out LANZANDO row: adopt the matching deployment or fail the row."""
        match = mejor_despliegue(acts, robot_id=r["RobotId"], user_id=r.get("UserId"),
                                 intencion_utc=self.clock.local_to_utc(r["FechaInicio"]),
                                 en_uso=in_use, margen=MARGEN_ADOPCION)
        decision = decidir_lanzando(self._respuesta(match) if match is not None else None)
        if isinstance(decision, AdoptarDespliegue):
            in_use.add(decision.deployment_id)
            if not E.adopt_deployment(self.db, r["EjecucionId"], decision.deployment_id, decision.estado, now,
                                      fecha_fin=decision.fin, mensaje=decision.mensaje):
                return  # the row got another deployment meanwhile: nothing adopted
            summary["adoptadas"] += 1
            metricas.cierres("recuperacion", int(is_terminal(decision.estado)))  # M1
            self.log.warning("Ejecución %s (%s, %s) quedó LANZANDO: adoptado el despliegue %s encontrado "
                             "en A360 (%s)", r["EjecucionId"], self._robot(r["RobotId"]), self._equipo(device_id),
                             decision.deployment_id, decision.estado)
        elif E.mark_unconfirmed(self.db, r["EjecucionId"], now):
            summary["fallidas"] += 1
            metricas.cierres("recuperacion")  # M1
            self.log.warning("Ejecución %s (%s, %s) quedó LANZANDO y A360 no tiene un despliegue que le "
                             "corresponda: DEPLOY_FAILED (%s)", r["EjecucionId"], self._robot(r["RobotId"]),
                             self._equipo(device_id), E.MENSAJE_SIN_CONFIRMACION)

    # ------------------------------------------------------------------ L5.7

    def _adoptar_tardias(self, rows: list[dict], now: datetime) -> int:
        """L5.7: a deployment that appeared after the recovery gave its intent up — a pending
        callback whose DeploymentId no row has, or an A360 run on the equipo of a recently given-up
        intent that no row records — reopens the row it belongs to (the one revival of the
        transition table); reopened, its equipo is busy again. Returns the rows reopened."""
        abandonadas = E.given_up_since(self.db, self._cutoff(now, VENTANA_CALLBACKS_TARDIOS))
        if not abandonadas:
            return 0
        recientes = self._cutoff(now, VENTANA_ACTIVIDAD_TARDIA)
        equipos: dict[int, datetime] = {}
        for f in abandonadas:
            if f["FechaFin"] is not None and f["FechaFin"] >= recientes:
                eq = int(f["EquipoId"])
                equipos[eq] = min(equipos.get(eq, f["FechaInicio"]), f["FechaInicio"])
        try:
            actividades = self._actividades_tardias(E.orphan_callbacks(self.db), equipos)
        except A360Error as exc:
            self.log.warning("Conciliación: la búsqueda de despliegues tardíos se aplaza, A360 no responde: %s",
                             exc.message or exc)
            return 0
        if not actividades:
            return 0
        en_uso = E.deployment_ids_in_use(self.db, [a.deployment_id for a in actividades])
        en_curso = [r for r in rows if r.get("Estado") == LANZANDO and not r.get("DeploymentId")]
        pares = adopciones_tardias(abandonadas, actividades, en_uso=en_uso, a_utc=self.clock.local_to_utc,
                                   en_curso=en_curso)
        reabiertas = 0
        por_id = {int(f["EjecucionId"]): f for f in abandonadas}
        for eid, act in pares:
            try:
                reabiertas += self._reabrir(por_id[eid], act, now)
            except DatabaseError as exc:
                if not es_error_de_fila(exc):
                    raise
                self._rechazo(eid, exc, "reabrir la ejecución con su despliegue tardío")
        return reabiertas

    def _actividades_tardias(self, huerfanos: list[dict], equipos: dict[int, datetime]) -> list[Any]:
        """A360's runs that may be late deployments: those of the orphan callbacks (A360's activity
        row, or what the callback itself says when A360 no longer lists it) and the recent runs of
        the equipos given in ``equipos`` (equipo -> earliest given-up intent there)."""
        por_id: dict[str, Any] = {}
        for equipo, desde in equipos.items():
            for a in self.aa.activity_by_device(equipo, self.clock.local_to_utc(desde) - MARGEN_ADOPCION):
                if a.deployment_id:
                    por_id.setdefault(a.deployment_id, a)
        ids = [c["DeploymentId"] for c in huerfanos if c.get("DeploymentId") and c["DeploymentId"] not in por_id]
        if ids:
            por_id.update(self.aa.activity_by_deployment_ids(ids))
        for c in huerfanos:
            dep = c.get("DeploymentId")
            if dep and dep not in por_id:
                por_id[dep] = _actividad_de_callback(c)
        return [a for a in por_id.values() if a is not None]

    def _reabrir(self, fila: dict, act: Any, now: datetime) -> int:
        respuesta = self._respuesta(act)
        if E.adopt_deployment(self.db, fila["EjecucionId"], act.deployment_id, respuesta.estado or None, now,
                              fecha_fin=respuesta.fin, mensaje=respuesta.mensaje) is None:
            return 0
        self.log.warning("Despliegue tardío %s: A360 lo creó después de que la ejecución %s (%s, %s) se diera "
                         "por fallida sin confirmación; se reabre con ese despliegue (%s)", act.deployment_id,
                         fila["EjecucionId"], self._robot(fila["RobotId"]), self._equipo(fila["EquipoId"]),
                         respuesta.estado or "DEPLOYED")
        return 1

    def _respuesta(self, act: Any) -> RespuestaA360:
        """A360's activity row as plain data: state normalised, end time in local time."""
        return RespuestaA360(
            deployment_id=act.deployment_id,
            estado=normalize(act.status or ""),
            fin=self.clock.to_local(act.end_utc) if act.end_utc is not None else None,
            mensaje=act.message or None,
        )

    # ------------------------------------------------------------------ L5.4 / L5.6

    def run_round(self) -> dict[str, Any]:
        """One conciliation round; returns counters (for logs, tests and benchmarks)."""
        result: dict[str, Any] = {"consultadas": 0, "actualizadas": 0, "no_encontradas": 0, "unknown": 0,
                                  "cerradas": 0, "alertas_duracion": 0, "error": None}
        now = self.clock.now_local()
        try:
            rows = E.active_executions(self.db)
        except DatabaseError as exc:
            self._db_failed(exc)
            result["error"] = "bd"
            return result
        self._despliegues = {r["EjecucionId"]: r.get("DeploymentId") for r in rows}
        try:
            result["lanzando"] = self._recuperacion_de_ronda(rows)
            result["tardias"] = self._adoptar_tardias(rows, now)
            nuevos = self._conciliate(rows, now, result)
            result["cerradas"] = self._sin_parar("cerrar las ejecuciones UNKNOWN", lambda: self._close_unknown(now))
            metricas.cierres("conciliador", result["cerradas"] + sum(map(is_terminal, nuevos.values())))  # M1
            result["alertas_duracion"] = self._duration_alerts(rows, now, nuevos)
            pending = self._sin_parar("aplicar los callbacks pendientes",
                                      lambda: E.apply_pending_callbacks(self.db, now))
            if pending:
                self.log.info("Conciliación: %s", plural(pending, "callback pendiente aplicado",
                                                        "callbacks pendientes aplicados"))
        except DatabaseError as exc:
            self._db_failed(exc)
            result["error"] = "bd"
            return result
        self._db_ok()
        self.log.info("Conciliación: %s", _describir_ronda(result))
        return result

    def _conciliate(self, rows: list[dict], now: datetime, result: dict[str, Any]) -> dict[Any, str]:
        """L5.4; returns EjecucionId -> the state written this round."""
        min_age = timedelta(seconds=int(ajuste(self.cfg, "CONCILIADOR_EDAD_MINIMA_SEG")))
        corte = self._cutoff(now, min_age)
        todo = [r for r in rows if a_consultar(r, corte) and r["EjecucionId"] not in self._apartadas]
        if not todo:
            return {}
        result["consultadas"] = len(todo)
        found: dict[str, Any] = {}
        try:
            for batch in _chunks([r["DeploymentId"] for r in todo], self.batch_size):
                found.update(self.aa.activity_by_deployment_ids(batch))
        except A360Error as exc:
            self._a360_failed(exc)
            result["error"] = "a360"
            return {}
        self._a360_ok()
        ajustes = AjustesRonda(
            rondas_no_encontrado=int(ajuste(self.cfg, "CONCILIADOR_RONDAS_NO_ENCONTRADO")),
            corte_no_encontrado=self._cutoff(
                now, timedelta(minutes=int(ajuste(self.cfg, "CONCILIADOR_EDAD_NO_ENCONTRADO_MIN")))),
        )
        decisiones: list[tuple[Any, DecisionActiva]] = []
        for r in todo:
            act = found.get(r["DeploymentId"])
            respuesta = self._respuesta(act) if act is not None else None
            if respuesta is not None and respuesta.estado:
                self._note_unrecognised(respuesta.estado)
            decisiones.append((r["EjecucionId"], decidir_activa(r, respuesta, now, ajustes)))
            self._count(r, decisiones[-1][1], now, result)
        updates = [(i, d.estado, now, d.fin, d.mensaje) for i, d in decisiones if isinstance(d, ActualizarEstado)]
        counters = [(i, d.rondas, d.estado, now) for i, d in decisiones
                    if isinstance(d, (ReiniciarRondas, ContarNoEncontrado, PasarAUnknown))]
        self._por_filas(E.apply_status_batch, updates, "actualizar el estado")
        self._por_filas(E.update_not_found_batch, counters, "contar las rondas sin encontrar")
        result["actualizadas"] = len(updates)
        return nuevos_estados(decisiones)

    def _count(self, r: dict, decision: DecisionActiva, now: datetime, result: dict[str, Any]) -> None:
        if isinstance(decision, PasarAUnknown):
            result["unknown"] += 1
            self.log.warning("Ejecución %s (%s) no aparece en A360 tras %s y %s de antigüedad: pasa a "
                             "UNKNOWN (el %s sigue ocupado durante la tolerancia)", r["EjecucionId"],
                             r["DeploymentId"], plural(decision.rondas, "ronda", "rondas"),
                             now - r["FechaInicio"], self._equipo(r["EquipoId"]))
        if isinstance(decision, (PasarAUnknown, ContarNoEncontrado)):
            result["no_encontradas"] += 1

    def _note_unrecognised(self, estado: str) -> None:
        if not is_known(estado) and estado not in self._unknown_seen and len(self._unknown_seen) < 1000:
            self._unknown_seen.add(estado)
            self.log.warning("Estado de A360 no reconocido %r: se trata como activo", estado)

    def _close_unknown(self, now: datetime) -> int:
        tolerance = timedelta(minutes=int(ajuste(self.cfg, "CONCILIADOR_TOLERANCIA_UNKNOWN_MIN")))
        closed = E.close_unknown(self.db, self._cutoff(now, tolerance), now)
        if closed:
            self.log.warning("Conciliación: %s tras %s de tolerancia; %s", plural(
                closed, "ejecución UNKNOWN cerrada", "ejecuciones UNKNOWN cerradas"), tolerance,
                "su equipo queda libre" if closed == 1 else "sus equipos quedan libres")
        return closed

    def _duration_alerts(self, rows: list[dict], now: datetime, nuevos: dict[Any, str]) -> int:
        """L5.6; ``nuevos``: EjecucionId -> the state written this round (it may be terminal now)."""
        limit = timedelta(minutes=int(ajuste(self.cfg, "LANZADOR_MAX_DURACION_EJECUCION_MIN")))
        corte = self._cutoff(now, limit)
        stuck = [r for r in rows if r["EjecucionId"] not in self._apartadas
                 and alerta_duracion(r, nuevos.get(r["EjecucionId"], r["Estado"]), corte)]
        if not stuck:
            return 0
        lines = [f"- Ejecución {r['EjecucionId']}: {self._robot(r['RobotId'])}, {self._equipo(r['EquipoId'])}, estado "
                 f"{r['Estado']}, DeploymentId {r.get('DeploymentId') or '-'}, inicio {r['FechaInicio']:%Y-%m-%d %H:%M}"
                 for r in stuck[:50]]
        if len(stuck) > 50:
            lines.append(f"... y {len(stuck) - 50} más")
        ids = [r["EjecucionId"] for r in stuck]
        self.log.warning("%s más de %s: %s", plural(len(stuck), "ejecución activa", "ejecuciones activas"),
                         limit, ", ".join(map(str, ids)))
        self._alert(f"{ALERT_DURACION}:{min(ids)}:{len(ids)}",
                    f"{plural(len(stuck), 'ejecución activa', 'ejecuciones activas')} más de "
                    f"{int(limit.total_seconds() // 60)} min",
                    "Ejecuciones que siguen activas más allá de LANZADOR_MAX_DURACION_EJECUCION_MIN:\n"
                    + "\n".join(lines),
                    "Revise en la Control Room si el bot sigue ejecutándose o está bloqueado.", level="WARNING")
        self._por_filas(lambda db, filas: E.mark_duration_alerted(db, [f[0] for f in filas]),
                        [(i,) for i in ids], "anotar la alerta de duración")
        return len(stuck)

    # ------------------------------------------------------------------ a row never stops a round

    def _por_filas(self, escribir: Callable[[Any, list], Any], filas: list, accion: str) -> None:
        """``escribir(db, filas)`` as one batch; when the database refuses a row, row by row, so
        that only the refused rows (first item: ``EjecucionId``) are left out and counted."""
        if not filas:
            return
        try:
            escribir(self.db, filas)
            return
        except DatabaseError as exc:
            if not es_error_de_fila(exc):
                raise
            self.log.warning("Conciliación: la base de datos rechaza una fila al %s en bloque (%s); se "
                             "escribe fila a fila", accion, exc)
        for fila in filas:
            try:
                escribir(self.db, [fila])
            except DatabaseError as exc:
                if not es_error_de_fila(exc):
                    raise
                self._rechazo(fila[0], exc, accion)

    def _sin_parar(self, accion: str, fn: Callable[[], int]) -> int:
        """A set-based write the database refuses because of some row: logged and alerted once per
        step, the round goes on (the database is reachable)."""
        try:
            return fn()
        except DatabaseError as exc:
            if not es_error_de_fila(exc):
                raise
            self.log.error("Conciliación: la base de datos rechaza una fila al %s: %s; el resto de la "
                           "ronda sigue", accion, exc)
            self._alert(f"{ALERT_FILA}:conciliador:{accion}", f"La base de datos SAM rechaza una fila al {accion}",
                        f"La conciliación no ha podido {accion} porque la base de datos SAM rechaza una "
                        f"fila: {exc}. El resto de la conciliación sigue; la base de datos está accesible.",
                        "Revise las filas de Ejecuciones / CallbacksRecibidos afectadas (restricción o trigger).")
            return 0

    def _rechazo(self, ejecucion_id: Any, exc: BaseException, accion: str) -> None:
        """One more round in which the database refused this row; set aside at ``MAX_RONDAS_FILA``."""
        fallos = self._rechazos.get(ejecucion_id, 0) + 1
        self._rechazos[ejecucion_id] = fallos
        despliegue = self._despliegues.get(ejecucion_id) or "sin DeploymentId"
        if fallos < MAX_RONDAS_FILA:
            self.log.error("Conciliación: la base de datos rechaza %s de la ejecución %s (%s), ronda %d de %d: "
                           "%s; se reintentará en la próxima ronda", accion, ejecucion_id, despliegue, fallos,
                           MAX_RONDAS_FILA, exc)
            return
        self._rechazos.pop(ejecucion_id, None)
        self._apartadas.add(ejecucion_id)
        self.log.error("Conciliación: ejecución %s (%s) apartada tras %d rondas rechazada por la base de "
                       "datos (%s): %s; la conciliación ya no la toca hasta reiniciar el Lanzador",
                       ejecucion_id, despliegue, MAX_RONDAS_FILA, accion, exc)
        self._alert(f"{ALERT_FILA}:{ejecucion_id}",
                    f"La base de datos SAM rechaza la ejecución {ejecucion_id} ({despliegue})",
                    f"La conciliación no ha podido {accion} de la ejecución {ejecucion_id} ({despliegue}) en "
                    f"{MAX_RONDAS_FILA} rondas: {exc}.\nLa fila queda apartada (la conciliación ya no la toca "
                    "hasta reiniciar el Lanzador); el resto de ejecuciones se concilia con normalidad y la "
                    "base de datos está accesible.",
                    "Revise la fila en Ejecuciones (valor demasiado largo, tipo, restricción o trigger) y el "
                    "despliegue en la Control Room.")


def _actividad_de_callback(callback: dict) -> Activity | None:
    """What a pending callback says about its run (A360_API §3: device and run-as user, no file
    and no start time), for matching it when A360 no longer lists the run (L5.7)."""
    try:
        cuerpo = json.loads(callback.get("Payload") or "{}")
    except ValueError:
        return None
    if not isinstance(cuerpo, dict):
        return None

    def entero(valor: Any) -> int | None:
        try:
            return int(str(valor).strip())
        except (TypeError, ValueError):
            return None

    equipo = entero(cuerpo.get("deviceId"))
    if equipo is None:
        return None
    return Activity(deployment_id=str(callback["DeploymentId"]), status=str(callback.get("Estado") or ""),
                    start_utc=None, end_utc=None, device_id=equipo, user_id=entero(cuerpo.get("userId")),
                    file_id=None, message=None)
