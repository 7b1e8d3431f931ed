"""The launch cycle (BEHAVIOUR L3): select, record the intent, deploy, record the outcome.

- One thread pool of ``LANZADOR_MAX_LANZAMIENTOS_CONCURRENTES`` workers, created once per process
  (L3.1); a cycle submits every selected row and waits for all of them.
- **Intent first** (L3.2): the ``Ejecuciones`` row (``LANZANDO``) is inserted and committed before
  A360 is called; if that insert fails nothing is deployed. Then ``deploy(fileId=RobotId,
  runAsUserIds=[UserId], botInput, callbackInfo{url, headers{X-Authorization}})``.
- Outcome (L3.3): success → ``mark_deployed``; a retriable ``A360Error`` is retried with backoff up
  to ``LANZADOR_MAX_REINTENTOS_DEPLOY`` more times within the cycle (``DEVICE_NOT_CONNECTED`` is not
  retried); a permanent error or exhausted retries → ``mark_deploy_failed`` with ``MensajeError``.
  A transport error (timeout, reset) is ambiguous — A360 may have accepted the deploy — and so is a
  2xx answer without a usable ``deploymentId`` (never retried: A360 took it); before
  retrying, the equipo's activity since the intent is checked and a matching unrecorded deployment
  is adopted instead of deploying again; if the outcome stays unknown (lookup failed, or the last
  attempt was ambiguous, or an earlier ambiguous attempt is still not visible in A360 when the
  retries end) the row stays ``LANZANDO`` for the Conciliador (L5.5), never ``DEPLOY_FAILED`` over
  a run that may exist.
  A row whose deploy outcome cannot be written stays ``LANZANDO`` (its equipo stays busy) and is
  never deployed twice by this module: an accepted deployment whose record failed is kept in
  memory and written at the start of the next cycle, before anything is selected; after a restart
  the Conciliador's recovery (L5.5) is the fallback.
- **A row never stops a cycle**: a write the database refuses for that row alone (duplicate
  ``DeploymentId``, truncation, conversion, a trigger: :func:`es_error_de_fila`) is logged with its
  ids and retried at the next cycles; after ``MAX_INTENTOS_FILA`` failures the row is set aside
  (an accepted deployment: ``DEPLOY_FAILED`` with the reason when the row takes that, else left
  ``LANZANDO`` for the Conciliador; a refused intent: that robot/equipo pair is not launched again
  until the service restarts) with one alert of its own (key per row). Only the other database
  errors (connectivity) fail the cycle and count as "database unavailable".
- Alerts (L3.4): a failure is alerted once per (robot, equipo, error kind) per
  ``EMAIL_INTERVALO_REPETICION_MIN``; all new failures of a cycle go in **one** summary e-mail.
  A 412 ``NO_COMPATIBLE_TARGETS`` (robot configuration) is flagged as such in that e-mail at once.

Test-only fault hook: the environment variable ``SAM_TEST_PAUSA_TRAS_INTENCION_SEG`` (seconds,
float) makes each launch sleep right after its intent row is committed and before calling A360.
It exists only so that the system tests can kill the process in that window (L5.5); never set
it in production.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from common import metricas
from common.database import ejecuciones
from common.database.sql_client import es_error_de_fila
from common.liderazgo import LiderazgoPerdido
from common.utils.alertas import con_nombre, plural
from common.utils.config_manager import (
    BACKOFF_DEPLOY_BASE_SEG,
    BACKOFF_DEPLOY_MAX_SEG,
    LLAMADAS_POR_INTENTO_DEPLOY,
    MARGEN_LANZANDO_SEG,
)
from lanzador.clients.aa_client import RETRY_AFTER_CAP_S, A360Error
from lanzador.database import robots
from lanzador.database.seleccion import RobotEjecutable, obtener_robots_ejecutables
from lanzador.service.adopcion import MARGEN_ADOPCION, mejor_despliegue
from lanzador.service.bot_input import build_bot_input
from lanzador.service.caida_a360 import es_fallo_por_caida, mensaje_por_caida
from lanzador.service.programaciones_invalidas import VigilanteProgramaciones
from lanzador.service.reintentos import (
    ADOPTADO_INTENTO_ANTERIOR,
    ADOPTADO_TRAS_ERROR,
    AjustesReintento,
    Buscar,
    Busqueda,
    Clase,
    DejarLanzando,
    Desenlace,
    Desplegar,
    Paso,
    RegistrarDesplegado,
    RegistrarFallo,
    registrar_fallo,
    siguiente_paso,
)

_log = logging.getLogger("sam.lanzador.desplegador")

ENV_PAUSA_TRAS_INTENCION = "SAM_TEST_PAUSA_TRAS_INTENCION_SEG"

#: A360 codes never retried within the cycle even when the client marks them retriable.
CODIGOS_SIN_REINTENTO = frozenset({"DEVICE_NOT_CONNECTED"})
CODIGO_SIN_DESTINOS = "NO_COMPATIBLE_TARGETS"
#: Clock-skew margin when looking in A360 for a deploy whose answer was lost.

RESULTADO_DESPLEGADO = "desplegado"
RESULTADO_FALLIDO = "fallido"
RESULTADO_SIN_INTENCION = "sin_intencion"
RESULTADO_INCIERTO = "incierto"  # deployed (or maybe) but the outcome could not be written

#: Writes of one row the database refuses (es_error_de_fila) before the row is set aside.
MAX_INTENTOS_FILA = 3
ALERTA_FILA = "fila_rechazada"  # + ":<EjecucionId>" or ":intencion:<RobotId>:<EquipoId>"


@dataclass(frozen=True)
class AjustesLanzamiento:
    max_concurrentes: int = 10
    max_reintentos: int = 2
    vueltas_defecto: int = 3
    espera_tras_fallo_seg: int = 300
    tolerancia_unknown_min: int = 120
    url_callback: str = ""
    token_callback: str | None = None
    intervalo_alertas_min: float = 30.0
    backoff_base_seg: float = BACKOFF_DEPLOY_BASE_SEG
    backoff_max_seg: float = BACKOFF_DEPLOY_MAX_SEG
    #: L3.5: no deploy attempt starts unless it ends (every call up to ``api_timeout_seg``) before the
    #: LANZANDO recovery may judge the intent, ``lanzando_timeout_seg`` after it (None: no limit).
    lanzando_timeout_seg: float | None = None
    api_timeout_seg: float = 60.0

    @classmethod
    def from_config(cls, cfg: Any) -> AjustesLanzamiento:
        """From a validated ``Config`` (every setting exists and is typed)."""
        return cls(
            max_concurrentes=cfg.LANZADOR_MAX_LANZAMIENTOS_CONCURRENTES,
            max_reintentos=cfg.LANZADOR_MAX_REINTENTOS_DEPLOY,
            vueltas_defecto=cfg.LANZADOR_BOT_INPUT_VUELTAS,
            espera_tras_fallo_seg=cfg.LANZADOR_ESPERA_TRAS_FALLO_SEG,
            tolerancia_unknown_min=cfg.CONCILIADOR_TOLERANCIA_UNKNOWN_MIN,
            url_callback=cfg.AA_URL_CALLBACK,
            token_callback=cfg.CALLBACK_TOKEN or None,
            intervalo_alertas_min=float(cfg.EMAIL_INTERVALO_REPETICION_MIN),
            lanzando_timeout_seg=float(cfg.LANZADOR_LANZANDO_TIMEOUT_SEG),
            api_timeout_seg=float(cfg.AA_API_TIMEOUT_SECONDS),
        )


@dataclass
class ResultadoLanzamiento:
    fila: RobotEjecutable
    resultado: str
    ejecucion_id: int | None = None
    deployment_id: str | None = None
    intentos: int = 0
    error: str | None = None
    tipo_error: str | None = None  # e.g. "http:400:INVALID_ARGUMENT", "transport", "input"
    configuracion_robot: bool = False
    error_de_caida: bool = False  # the last deploy error is one an A360 outage explains (5xx, timeout)
    por_caida: bool = False  # DEPLOY_FAILED while A360 was down (M2): no wait, no per-robot alert


@dataclass
class ResumenCiclo:
    seleccionados: int = 0
    desplegados: int = 0
    fallidos: int = 0
    inciertos: int = 0
    sin_intencion: int = 0
    retrasados: int = 0  # not attempted: A360 is down (M2)
    alertas_nuevas: int = 0
    resultados: list[ResultadoLanzamiento] = field(default_factory=list)


def _clave_lanzamiento(fila: RobotEjecutable) -> tuple:
    """One launch: an online (robot, equipo) or one scheduled slot (M2 counts delayed launches once)."""
    return (fila.robot_id, fila.equipo_id, fila.fecha_slot, fila.hora)


def tipo_de_error(exc: BaseException) -> str:
    """Alert de-duplication key part: error kind + status + code (never the message)."""
    if isinstance(exc, A360Error):
        parts = [exc.kind or "a360"]
        if exc.status_code is not None:
            parts.append(str(exc.status_code))
        if exc.code:
            parts.append(str(exc.code))
        return ":".join(parts)
    return type(exc).__name__


def es_error_configuracion_robot(exc: BaseException) -> bool:
    if not isinstance(exc, A360Error):
        return False
    if exc.kind == "input":
        return True
    text = (exc.message or "").upper()
    return exc.status_code == 412 and (exc.code == CODIGO_SIN_DESTINOS or "NO_COMPATIBLE_TARGETS" in text
                                       or "NO COMPATIBLE TARGETS" in text)


def es_ambiguo(exc: BaseException) -> bool:
    """Whether A360 may have accepted the deploy despite the error: a transport failure (timeout,
    reset) may hide an accepted deploy (A360_API §2.6), and a 2xx whose body is unusable (not JSON,
    no ``deploymentId``: ``kind=protocol``) means A360 took it."""
    if not isinstance(exc, A360Error):
        return False
    if exc.kind == "transport":
        return True
    return exc.kind == "protocol" and exc.status_code is not None and 200 <= int(exc.status_code) <= 299


def es_reintentable(exc: BaseException) -> bool:
    return (
        isinstance(exc, A360Error)
        and bool(exc.retriable)
        and (exc.code or "") not in CODIGOS_SIN_REINTENTO
    )


def clasificar(exc: A360Error) -> Desenlace:
    """The plain-data outcome of a failed deploy call (or of an unusable botInput)."""
    if es_ambiguo(exc):
        clase = Clase.AMBIGUO
    elif es_reintentable(exc):
        clase = Clase.REINTENTABLE
    elif es_error_configuracion_robot(exc):
        clase = Clase.CONFIGURACION_ROBOT
    elif (exc.code or "") in CODIGOS_SIN_REINTENTO:
        clase = Clase.EQUIPO_DESCONECTADO
    else:
        clase = Clase.PERMANENTE
    return Desenlace(
        clase,
        mensaje=exc.message or str(exc),
        tipo_error=tipo_de_error(exc),
        reintentable=es_reintentable(exc),
        configuracion_robot=es_error_configuracion_robot(exc),
        retry_after=exc.retry_after,
    )


class Desplegador:
    """Owns the launch pool; :meth:`ciclo` is the runner's launch job body."""

    def __init__(
        self,
        db: Any,
        aa: Any,
        ajustes: AjustesLanzamiento,
        *,
        clock: Any,
        alerts: Any = None,
        logger: logging.Logger | None = None,
        sleep: Callable[[float], Any] | None = None,
        stop_event: threading.Event | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        nombres: Any = None,
        caida: Any = None,
        fallos_equipo: Any = None,
    ) -> None:
        self.db = db
        self.aa = aa
        #: The process' A360 outage watch (``caida_a360.VigilanciaA360``, M2) and the per-equipo
        #: failure runs (``caida_a360.FallosPorEquipo``, M3); None = not watched.
        self.caida = caida
        self.fallos_equipo = fallos_equipo
        self.ajustes = ajustes
        self.clock = clock
        self.alerts = alerts
        self.log = logger or _log
        self.stop_event = stop_event or threading.Event()
        self._sleep = sleep or self._interruptible_sleep
        self._monotonic = monotonic
        #: Names of robots, equipos and users (the sync's ``Nombres``); unknown ones are named by id.
        self.nombres = nombres
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, int(ajustes.max_concurrentes)), thread_name_prefix="lanzador-deploy"
        )
        self._alertados: dict[tuple[int, int, str], float] = {}
        # EjecucionId -> deploymentId accepted by A360 whose mark_deployed failed (DB hiccup).
        self._sin_registrar: dict[int, str] = {}
        self._en_vuelo: set[int] = set()  # intent recorded, outcome not yet recorded
        # Per-row refusals (es_error_de_fila): EjecucionId -> failed writes of its deployment, and
        # (RobotId, EquipoId) -> failed intents in a row; pairs set aside are not launched again.
        self._rechazos: dict[int, int] = {}
        self._rechazos_intencion: dict[tuple[int, int], int] = {}
        self._pares_apartados: set[tuple[int, int]] = set()
        #: L7.1: one alert per invalid active schedule (the selection skips those rows).
        self.programaciones = VigilanteProgramaciones(db, alerts, logger=self.log)
        self._sin_registrar_lock = threading.Lock()
        self._alert_lock = threading.Lock()
        self._cerrado = False
        self._ciclos = 0
        #: H3: checked before each new launch; the Lanzador sets it to its election's puede_trabajar.
        self.puede_lanzar: Callable[[], bool] = lambda: True
        #: H3 fencing token (common.liderazgo.Cerco, HA on): the intent insert is refused by the DB
        #: once another process holds the role. None (HA off, no election): not fenced.
        self.cerco: Any = None

    # -- lifecycle -------------------------------------------------------------------------------
    def cerrar(self, wait: bool = True) -> None:
        """Stop taking work; in-flight launches finish and record their outcome (``wait=True``)."""
        self._cerrado = True
        self.stop_event.set()
        self._pool.shutdown(wait=wait, cancel_futures=True)
        if wait:
            try:
                self._registrar_pendientes()
            except Exception as exc:  # noqa: BLE001 - L5.5 recovers them at the next start
                self.log.error(
                    "Al cerrar no se pudieron registrar %s por A360 (%s); quedan LANZANDO y el Conciliador "
                    "los recuperará al arrancar.",
                    plural(len(self._sin_registrar), "despliegue aceptado", "despliegues aceptados"),
                    exc,
                )

    @property
    def ajustes_reintento(self) -> AjustesReintento:
        return AjustesReintento(
            max_reintentos=self.ajustes.max_reintentos,
            backoff_base_seg=self.ajustes.backoff_base_seg,
            backoff_max_seg=self.ajustes.backoff_max_seg,
            retry_after_max_seg=RETRY_AFTER_CAP_S,
        )

    def _interruptible_sleep(self, seconds: float) -> None:
        self.stop_event.wait(max(0.0, seconds))

    def _revisar_programaciones(self) -> None:
        """L7.1: alert about active schedules the selection skips as invalid; never stops the cycle."""
        try:
            self.programaciones.revisar()
        except Exception:  # noqa: BLE001
            self.log.warning("No se pudieron revisar las programaciones activas.", exc_info=True)

    # -- one cycle -------------------------------------------------------------------------------
    def ciclo(self) -> ResumenCiclo:
        """Select what to launch now and launch it all concurrently; one alert e-mail at most."""
        resumen = ResumenCiclo()
        if self._cerrado:
            return resumen
        self._ciclos += 1
        self._registrar_pendientes()
        ahora = self.clock.now_local()
        filas = obtener_robots_ejecutables(
            self.db,
            ahora,
            espera_tras_fallo_seg=self.ajustes.espera_tras_fallo_seg,
            tolerancia_unknown_min=self.ajustes.tolerancia_unknown_min,
        )
        self._revisar_programaciones()
        filas = [f for f in filas if (f.robot_id, f.equipo_id) not in self._pares_apartados]
        resumen.seleccionados = len(filas)
        if not filas:
            self.log.debug("Ciclo de lanzamiento: nada que lanzar.")
            return resumen
        parametros = self._parametros({f.robot_id for f in filas})
        self.log.info("Ciclo de lanzamiento: %s.", plural(len(filas), "robot seleccionado", "robots seleccionados"))
        if self._a360_caido():
            # M2: one deploy probes A360; the rest go out in this cycle only if it answered.
            filas = sorted(filas, key=lambda f: f.es_programado)
            self._recoger(resumen, [self._pool.submit(self.lanzar, filas[0], parametros.get(filas[0].robot_id))])
            filas = filas[1:]
            if filas and self._a360_caido():
                resumen.retrasados = len(filas)
                self.caida.retrasar([(_clave_lanzamiento(f), f.robot_id) for f in filas])
                self.log.warning("A360 no disponible: %s para el próximo ciclo.",
                                 plural(len(filas), "lanzamiento queda", "lanzamientos quedan"))
                filas = []
        futures = []
        for fila in filas:
            if self.stop_event.is_set():
                break
            futures.append(self._pool.submit(self.lanzar, fila, parametros.get(fila.robot_id)))
        self._recoger(resumen, futures)
        self._contar_caida_y_equipos(resumen.resultados)
        resumen.alertas_nuevas = self._alertar(resumen.resultados)
        self.log.info(
            "Ciclo de lanzamiento terminado: %s, %s, %d sin confirmar, %d sin registrar%s.",
            plural(resumen.desplegados, "desplegado", "desplegados"),
            plural(resumen.fallidos, "fallido", "fallidos"),
            resumen.inciertos,
            resumen.sin_intencion,
            f", {resumen.retrasados} aplazados por la caída de A360" if resumen.retrasados else "",
        )
        return resumen

    def _recoger(self, resumen: ResumenCiclo, futures: list) -> None:
        """Wait for the launches and count their outcomes."""
        for fut in futures:
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - never lose the cycle for one launch
                self.log.exception("Error inesperado en un lanzamiento: %s", exc)
                continue
            resumen.resultados.append(res)
            if res.resultado == RESULTADO_DESPLEGADO:
                resumen.desplegados += 1
            elif res.resultado == RESULTADO_FALLIDO:
                resumen.fallidos += 1
            elif res.resultado == RESULTADO_INCIERTO:
                resumen.inciertos += 1
            else:
                resumen.sin_intencion += 1

    def _a360_caido(self) -> bool:
        return self.caida is not None and bool(self.caida.activa)

    def _contar_caida_y_equipos(self, resultados: list[ResultadoLanzamiento]) -> None:
        """M2: the launches an outage delayed; M3: each equipo's run of failed deploys."""
        if self.caida is not None:
            self.caida.retrasar([(_clave_lanzamiento(r.fila), r.fila.robot_id) for r in resultados if r.por_caida])
        if self.fallos_equipo is None:
            return
        for r in resultados:
            if r.resultado == RESULTADO_DESPLEGADO:
                self.fallos_equipo.exito(r.fila.equipo_id)
            elif r.resultado == RESULTADO_FALLIDO and not r.por_caida:
                self.fallos_equipo.fallo(r.fila.equipo_id, r.error or "?")

    def _registrar_pendientes(self) -> None:
        """Write the deployments A360 accepted whose record failed, before selecting anything.

        A row the database refuses (:func:`es_error_de_fila`) is counted and, after
        ``MAX_INTENTOS_FILA`` failures, set aside (:meth:`_apartar`); the other rows and the cycle
        go on. Any other ``DatabaseError`` propagates (the cycle is a DB failure and launches
        nothing); what could not be written stays pending for the next cycle.
        """
        with self._sin_registrar_lock:
            pendientes = dict(self._sin_registrar)
        for ejecucion_id, deployment_id in pendientes.items():
            try:
                ejecuciones.mark_deployed(self.db, ejecucion_id, deployment_id, self.clock.now_local())
            except Exception as exc:
                if not es_error_de_fila(exc):
                    raise
                self._rechazo_de_fila(ejecucion_id, deployment_id, exc)
                continue
            with self._sin_registrar_lock:
                self._sin_registrar.pop(ejecucion_id, None)
                self._rechazos.pop(ejecucion_id, None)
            self.log.warning(
                "Registrado el despliegue %s de la ejecución %s, que había quedado sin registrar.",
                deployment_id,
                ejecucion_id,
            )

    def _rechazo_de_fila(self, ejecucion_id: int, deployment_id: str, exc: BaseException) -> None:
        """One more refusal of this row's deployment record; set aside at ``MAX_INTENTOS_FILA``."""
        with self._sin_registrar_lock:
            fallos = self._rechazos.get(ejecucion_id, 0) + 1
            self._rechazos[ejecucion_id] = fallos
        if fallos < MAX_INTENTOS_FILA:
            self.log.error(
                "La base de datos rechaza registrar el despliegue %s de la ejecución %s (intento %d de %d): "
                "%s. Se reintentará en el próximo ciclo; los demás robots siguen lanzándose.",
                deployment_id, ejecucion_id, fallos, MAX_INTENTOS_FILA, exc,
            )
            return
        self._apartar(ejecucion_id, deployment_id, exc)

    def _apartar(self, ejecucion_id: int, deployment_id: str, exc: BaseException) -> None:
        """Give up recording this deployment: ``DEPLOY_FAILED`` with the reason when the row takes
        it (its equipo is freed), else the row stays ``LANZANDO`` for the Conciliador (L5.5)."""
        with self._sin_registrar_lock:
            self._sin_registrar.pop(ejecucion_id, None)
            self._rechazos.pop(ejecucion_id, None)
        mensaje = (f"A360 aceptó el despliegue {deployment_id}, pero la base de datos SAM rechaza "
                   f"registrarlo: {exc}")
        try:
            ejecuciones.mark_deploy_failed(self.db, ejecucion_id, mensaje, self.clock.now_local())
            destino = "queda DEPLOY_FAILED con ese motivo y su equipo libre"
        except Exception as exc_fallo:  # noqa: BLE001 - the Conciliador retries it (L5.5)
            destino = f"queda LANZANDO (tampoco admite DEPLOY_FAILED: {exc_fallo}) para el Conciliador"
        self.log.error(
            "Despliegue %s de la ejecución %s apartado tras %d intentos rechazados por la base de datos "
            "(%s); la ejecución %s.", deployment_id, ejecucion_id, MAX_INTENTOS_FILA, exc, destino,
        )
        self._alertar_fila(
            f"{ALERTA_FILA}:{ejecucion_id}",
            f"La base de datos SAM rechaza la ejecución {ejecucion_id} (despliegue {deployment_id})",
            f"A360 aceptó el despliegue {deployment_id} (ejecución {ejecucion_id}), pero la base de datos "
            f"SAM rechazó registrarlo {MAX_INTENTOS_FILA} veces: {exc}.\nLa ejecución {destino}. El resto "
            "de robots se sigue lanzando con normalidad; la base de datos está accesible.",
            "Un DeploymentId repetido (p. ej. un simulador reiniciado con la misma semilla) o un valor que "
            "la tabla Ejecuciones no admite (longitud, tipo, restricción o trigger). Revise la fila en "
            "Ejecuciones y el despliegue en la Control Room.",
        )

    def _alertar_fila(self, clave: str, asunto: str, cuerpo: str, que_revisar: str) -> None:
        if self.alerts is None:
            self.log.warning("ALERTA %s: %s", asunto, cuerpo)
            return
        try:
            self.alerts.send_alert(clave, asunto, cuerpo, what_to_check=que_revisar)
        except Exception:  # noqa: BLE001 - alerts never break the cycle
            self.log.exception("No se pudo enviar la alerta %s.", clave)

    def _rechazo_de_intencion(self, fila: RobotEjecutable, desc: str, exc: BaseException) -> None:
        """The intent row of this robot/equipo pair refused again; set the pair aside at the limit."""
        par = (fila.robot_id, fila.equipo_id)
        with self._sin_registrar_lock:
            fallos = self._rechazos_intencion.get(par, 0) + 1
            self._rechazos_intencion[par] = fallos
            if fallos >= MAX_INTENTOS_FILA:
                self._pares_apartados.add(par)
                self._rechazos_intencion.pop(par, None)
        if fallos < MAX_INTENTOS_FILA:
            return
        self.log.error(
            "El %s queda apartado: la base de datos rechazó su intención de lanzamiento %d veces seguidas "
            "(%s). No se volverá a lanzar hasta reiniciar el Lanzador.", desc, MAX_INTENTOS_FILA, exc,
        )
        self._alertar_fila(
            f"{ALERTA_FILA}:intencion:{fila.robot_id}:{fila.equipo_id}",
            f"La base de datos SAM rechaza lanzar el {self._nombre_robot(fila.robot_id)} en el "
            f"{self._nombre_equipo(fila.equipo_id)}",
            f"La base de datos SAM rechazó {MAX_INTENTOS_FILA} veces seguidas la fila de intención del "
            f"{desc}: {exc}.\nEse par robot/equipo no se lanza hasta reiniciar el servicio Lanzador; el "
            "resto de robots se sigue lanzando con normalidad.",
            "Un valor que la tabla Ejecuciones no admite (longitud, tipo, restricción o trigger).",
        )

    def _nombre_robot(self, robot_id: Any) -> str:
        return self.nombres.robot(robot_id) if self.nombres is not None else con_nombre("robot", robot_id)

    def _nombre_equipo(self, equipo_id: Any) -> str:
        return self.nombres.equipo(equipo_id) if self.nombres is not None else con_nombre("equipo", equipo_id)

    def _nombre_usuario(self, user_id: Any) -> str:
        return self.nombres.usuario(user_id) if self.nombres is not None else con_nombre("usuario", user_id)

    def describir(self, fila: RobotEjecutable) -> str:
        """``robot Facturas (5101) en el equipo VMRPA05 (82), usuario svc_bot (702)``."""
        return (f"{self._nombre_robot(fila.robot_id)} en el {self._nombre_equipo(fila.equipo_id)}, "
                f"{self._nombre_usuario(fila.user_id)}")

    def _parametros(self, robot_ids: Iterable[int]) -> dict[int, Any]:
        return robots.parametros(self.db, robot_ids)

    # -- one launch ------------------------------------------------------------------------------
    def en_vuelo(self) -> frozenset[int]:
        """EjecucionIds this process is still deploying or has yet to record (L5.5 must not touch
        them: a deploy with retries may outlive ``LANZADOR_LANZANDO_TIMEOUT_SEG``)."""
        with self._sin_registrar_lock:
            return frozenset(self._en_vuelo) | frozenset(self._sin_registrar)

    def lanzar(self, fila: RobotEjecutable, parametros: Any = None) -> ResultadoLanzamiento:
        res = ResultadoLanzamiento(fila=fila, resultado=RESULTADO_SIN_INTENCION)
        comienzo = time.monotonic()
        try:
            return self._lanzar(res, fila, parametros)
        finally:
            metricas.despliegue(res.resultado, time.monotonic() - comienzo)  # M1
            if res.ejecucion_id is not None:
                with self._sin_registrar_lock:
                    self._en_vuelo.discard(int(res.ejecucion_id))

    def _lanzar(self, res: ResultadoLanzamiento, fila: RobotEjecutable, parametros: Any) -> ResultadoLanzamiento:
        desc = self.describir(fila)
        if not self.puede_lanzar():  # H3: leadership lost during the cycle: no new deploy
            res.error = "este proceso ya no es el líder"
            self.log.warning("No se lanza el %s: este Lanzador ya no es el líder.", desc)
            return res
        # 1. Intent, committed. No row -> no deploy.
        inicio = self.clock.now_local()
        try:
            res.ejecucion_id = ejecuciones.insert_intent(
                self.db,
                robot_id=fila.robot_id,
                equipo_id=fila.equipo_id,
                user_id=fila.user_id,
                hora=fila.hora,
                fecha_slot=fila.fecha_slot,
                now=inicio,
                cerco=self.cerco,
            )
        except LiderazgoPerdido as exc:  # H3: the DB says another process took the role
            res.error = "este proceso ya no es el líder"
            self.log.warning("No se lanza el %s: %s.", desc, exc)
            return res
        except Exception as exc:  # noqa: BLE001
            res.error = f"no se pudo registrar la intención: {exc}"
            res.tipo_error = "db"
            self.log.error("No se lanza el %s: no se pudo registrar la intención (%s).", desc, exc)
            if es_error_de_fila(exc):
                self._rechazo_de_intencion(fila, desc, exc)
            return res
        with self._sin_registrar_lock:
            self._rechazos_intencion.pop((fila.robot_id, fila.equipo_id), None)
            self._en_vuelo.add(int(res.ejecucion_id))
        self._pausa_de_prueba()

        # 2. Bot input (a robot configuration error is recorded like a refused deploy).
        try:
            bot_input = build_bot_input(parametros, self.ajustes.vueltas_defecto)
        except A360Error as exc:
            return self._fallo(res, registrar_fallo(clasificar(exc), intentos=0), desc)

        return self._desplegar(res, fila, bot_input, inicio, desc)

    def _desplegar(self, res: ResultadoLanzamiento, fila: RobotEjecutable, bot_input: dict, inicio: Any,
                   desc: str) -> ResultadoLanzamiento:
        """3. Deploy with retries within the cycle; the decisions are :func:`siguiente_paso`'s."""
        headers = {"X-Authorization": self.ajustes.token_callback} if self.ajustes.token_callback else None
        intento = 0
        posible_aceptado = False  # an earlier attempt was ambiguous and A360 did not show it yet
        while True:
            intento += 1
            res.intentos = intento
            try:
                deployment_id = self.aa.deploy(
                    fila.robot_id, fila.user_id, bot_input, self.ajustes.url_callback, headers
                )
                desenlace = Desenlace(Clase.ACEPTADO, deployment_id=deployment_id)
            except A360Error as exc:
                desenlace = clasificar(exc)
                res.error_de_caida = es_fallo_por_caida(exc)
            except Exception as exc:  # noqa: BLE001 - unexpected: the deploy may or may not have happened
                res.resultado = RESULTADO_INCIERTO
                res.error = f"{type(exc).__name__}: {exc}"
                res.tipo_error = type(exc).__name__
                self.log.exception(
                    "Error inesperado al desplegar el %s; la ejecución %s queda LANZANDO para el Conciliador.",
                    desc,
                    res.ejecucion_id,
                )
                return res
            paso = self._decidir(fila, inicio, intento, desenlace, posible_aceptado)
            if isinstance(paso, Desplegar):
                self.log.warning(
                    "Despliegue del %s falló (intento %d de %d): %s. Reintento en %.1f s.",
                    desc,
                    intento,
                    self.ajustes.max_reintentos + 1,
                    desenlace.mensaje,
                    paso.espera,
                )
                self._sleep(paso.espera)
                posible_aceptado = paso.posible_aceptado
                if not self.stop_event.is_set():
                    continue
                paso = self._decidir(fila, inicio, intento, desenlace, posible_aceptado, espera_interrumpida=True)
            return self._realizar(res, paso, desenlace, fila, desc)

    def _decidir(self, fila: RobotEjecutable, inicio: Any, intento: int, desenlace: Desenlace,
                 posible_aceptado: bool, *, espera_interrumpida: bool = False) -> Paso:
        """The next step after attempt ``intento``, performing the A360 lookups it asks for."""
        busqueda: Busqueda | None = None
        while True:
            paso = siguiente_paso(
                intento,
                desenlace,
                self.ajustes_reintento,
                busqueda=busqueda,
                posible_aceptado=posible_aceptado,
                parado=self.stop_event.is_set(),
                espera_interrumpida=espera_interrumpida,
                restante_seg=self._restante(inicio),
            )
            if not isinstance(paso, Buscar):
                return paso
            try:
                encontrado = self._despliegue_existente(fila, inicio)
            except Exception as look_exc:  # noqa: BLE001 - cannot know: leave it to L5.5
                busqueda = Busqueda(paso.intento_anterior, error=str(look_exc))
            else:
                busqueda = Busqueda(paso.intento_anterior, deployment_id=encontrado)

    def _restante(self, inicio: Any) -> float | None:
        """L3.5: seconds left in which another deploy attempt may start and still end before the
        LANZANDO recovery may judge this intent. Measured on the wall clock the recovery uses
        (``FechaInicio`` against now), in UTC so that a DST change does not distort it."""
        a = self.ajustes
        if a.lanzando_timeout_seg is None:
            return None
        transcurrido = (self.clock.local_to_utc(self.clock.now_local()) - self.clock.local_to_utc(inicio))
        return (a.lanzando_timeout_seg - MARGEN_LANZANDO_SEG - LLAMADAS_POR_INTENTO_DEPLOY * a.api_timeout_seg
                - transcurrido.total_seconds())

    def _realizar(self, res: ResultadoLanzamiento, paso: Paso, desenlace: Desenlace, fila: RobotEjecutable,
                  desc: str) -> ResultadoLanzamiento:
        """Perform a final step: record the deployment or the failure, or leave the row LANZANDO."""
        if isinstance(paso, RegistrarFallo):
            return self._fallo(res, paso, desc)
        if isinstance(paso, DejarLanzando):
            return self._incierto(res, paso, desc)
        assert isinstance(paso, RegistrarDesplegado), paso
        if paso.adopcion == ADOPTADO_TRAS_ERROR:
            self.log.warning(
                "El despliegue del %s dio error (%s) pero A360 lo aceptó: se adopta %s.",
                desc,
                desenlace.mensaje,
                paso.deployment_id,
            )
        elif paso.adopcion == ADOPTADO_INTENTO_ANTERIOR:
            self.log.warning(
                "Un intento anterior de desplegar el %s dio error pero A360 lo aceptó: se adopta %s.",
                desc,
                paso.deployment_id,
            )
        return self._registrar_desplegado(res, paso.deployment_id, fila, desc)

    def _registrar_desplegado(self, res: ResultadoLanzamiento, deployment_id: str, fila: RobotEjecutable,
                              desc: str) -> ResultadoLanzamiento:
        """4. Success."""
        res.deployment_id = deployment_id
        try:
            ejecuciones.mark_deployed(self.db, res.ejecucion_id, deployment_id, self.clock.now_local())
        except Exception as exc:  # noqa: BLE001
            res.resultado = RESULTADO_INCIERTO
            res.error = f"no se pudo registrar el despliegue: {exc}"
            with self._sin_registrar_lock:
                self._sin_registrar[int(res.ejecucion_id)] = deployment_id
                if es_error_de_fila(exc):  # the first of MAX_INTENTOS_FILA
                    self._rechazos[int(res.ejecucion_id)] = 1
            self.log.error(
                "El %s se desplegó (deploymentId %s) pero no se pudo registrar: %s. Se registrará al "
                "inicio del próximo ciclo (la ejecución %s queda LANZANDO y su equipo ocupado).",
                desc,
                deployment_id,
                exc,
                res.ejecucion_id,
            )
            return res
        res.resultado = RESULTADO_DESPLEGADO
        self.log.info(
            "Desplegado el %s: deploymentId %s, ejecución %s%s.",
            desc,
            deployment_id,
            res.ejecucion_id,
            f", franja {fila.fecha_slot} {fila.hora}" if fila.es_programado else "",
        )
        return res

    def _fallo(self, res: ResultadoLanzamiento, paso: RegistrarFallo, desc: str) -> ResultadoLanzamiento:
        mensaje = paso.mensaje
        if res.error_de_caida and self._a360_caido():
            mensaje, res.por_caida = mensaje_por_caida(mensaje), True  # M2: no wait after it
        res.error = mensaje
        res.tipo_error = paso.tipo_error
        res.configuracion_robot = paso.alerta_robot
        res.resultado = RESULTADO_FALLIDO
        try:
            ejecuciones.mark_deploy_failed(self.db, res.ejecucion_id, mensaje, self.clock.now_local())
        except Exception as db_exc:  # noqa: BLE001
            res.resultado = RESULTADO_INCIERTO
            self.log.error(
                "No se pudo registrar DEPLOY_FAILED de la ejecución %s (%s); el Conciliador la cerrará.",
                res.ejecucion_id,
                db_exc,
            )
        self.log.error(
            "Despliegue fallido del %s%s: %s",
            desc,
            " (error de configuración del robot)" if res.configuracion_robot else "",
            mensaje,
        )
        return res

    def _incierto(self, res: ResultadoLanzamiento, paso: DejarLanzando, desc: str) -> ResultadoLanzamiento:
        """Deploy outcome unknown (the last error may hide an accepted deploy): the row stays
        ``LANZANDO`` and the Conciliador adopts the deployment or fails it (L5.5)."""
        res.resultado = RESULTADO_INCIERTO
        res.error = paso.error
        res.tipo_error = paso.tipo_error
        self.log.error(
            "Resultado incierto del despliegue del %s (%s; %s): la ejecución %s queda LANZANDO y el "
            "Conciliador la adoptará o la cerrará como DEPLOY_FAILED.",
            desc,
            res.error,
            paso.motivo,
            res.ejecucion_id,
        )
        return res

    def _despliegue_existente(self, fila: RobotEjecutable, inicio: Any) -> str | None:
        """A deployment of this bot on this equipo around the intent, not yet recorded (L3.3)."""
        intencion = self.clock.local_to_utc(inicio)
        acts = self.aa.activity_by_device(fila.equipo_id, intencion - MARGEN_ADOPCION)
        acts = [a for a in acts if a.deployment_id]
        if not acts:
            return None
        usados = ejecuciones.deployment_ids_in_use(self.db, [a.deployment_id for a in acts])
        elegido = mejor_despliegue(acts, robot_id=fila.robot_id, user_id=fila.user_id,
                                   intencion_utc=intencion, en_uso=usados)
        return str(elegido.deployment_id) if elegido is not None else None

    def _pausa_de_prueba(self) -> None:
        raw = os.environ.get(ENV_PAUSA_TRAS_INTENCION)
        if not raw:
            return
        try:
            segundos = float(raw)
        except ValueError:
            return
        if segundos > 0:
            self.log.warning("%s=%s: pausa de prueba tras registrar la intención.", ENV_PAUSA_TRAS_INTENCION, raw)
            time.sleep(segundos)

    # -- alerts (L3.4) ---------------------------------------------------------------------------
    def _alertar(self, resultados: list[ResultadoLanzamiento]) -> int:
        # M2: a failure an A360 outage explains is in the outage's one alert, not in a per-robot one.
        fallos = [r for r in resultados if r.resultado == RESULTADO_FALLIDO and not r.por_caida]
        if not fallos:
            return 0
        ventana = self.ajustes.intervalo_alertas_min * 60.0
        ahora = self._monotonic()
        nuevos: list[ResultadoLanzamiento] = []
        with self._alert_lock:
            for r in fallos:
                clave = (r.fila.robot_id, r.fila.equipo_id, r.tipo_error or "?")
                ultimo = self._alertados.get(clave)
                if ultimo is not None and ahora - ultimo < ventana:
                    continue
                self._alertados[clave] = ahora
                nuevos.append(r)
            # forget keys long expired so the dict does not grow forever
            for clave in [k for k, t in self._alertados.items() if ahora - t >= 2 * ventana]:
                del self._alertados[clave]
        if not nuevos:
            self.log.info("%s de lanzamiento ya %s recientemente; no se envía correo.",
                          plural(len(fallos), "fallo", "fallos"), "alertado" if len(fallos) == 1 else "alertados")
            return 0
        config = [r for r in nuevos if r.configuracion_robot]
        lineas = []
        for r in nuevos:
            lineas.append(
                f"- {self._nombre_robot(r.fila.robot_id)}, {self._nombre_equipo(r.fila.equipo_id)}, "
                f"{self._nombre_usuario(r.fila.user_id)}"
                f"{' [CONFIGURACIÓN DEL ROBOT]' if r.configuracion_robot else ''}: {r.error}"
            )
        omitidos = len(fallos) - len(nuevos)
        cuerpo = (
            f"En el ciclo de lanzamiento {self._ciclos} "
            f"{'falló 1 despliegue' if len(fallos) == 1 else f'fallaron {len(fallos)} despliegues'}; "
            f"{plural(len(nuevos), 'no se había alertado', 'no se habían alertado')} en los últimos "
            f"{self.ajustes.intervalo_alertas_min:g} min"
            + (f" ({plural(omitidos, 'ya alertado se omite', 'ya alertados se omiten')})" if omitidos else "")
            + ":\n"
            + "\n".join(lineas)
            + "\nLas ejecuciones quedan en DEPLOY_FAILED con su MensajeError; el par robot/equipo no se "
            f"reintenta hasta pasados {self.ajustes.espera_tras_fallo_seg} s."
        )
        if config:
            asunto = (
                f"Error de configuración de {plural(len(config), 'robot', 'robots')} y "
                f"{plural(len(nuevos), 'fallo', 'fallos')} de lanzamiento"
            )
            que_revisar = (
                "412 NO_COMPATIBLE_TARGETS: el robot no es compatible con ningún equipo (revise su "
                "configuración/dependencias en A360). Parametros inválido: revise Robots.Parametros. "
                "Resto: usuario A360 deshabilitado, equipo desconectado o sin usuario por defecto."
            )
        else:
            asunto = f"{plural(len(nuevos), 'fallo', 'fallos')} de lanzamiento de robots"
            que_revisar = (
                "Usuario de ejecución deshabilitado o sin licencia en A360, equipo desconectado, "
                "disponibilidad de A360 (errores 5xx/429/tiempo agotado)."
            )
        self.log.warning("Alerta de lanzamiento: %s", asunto)
        if self.alerts is not None:
            try:
                self.alerts.send_alert(
                    f"lanzador:despliegue:ciclo:{self._ciclos}:{int(time.time())}",
                    asunto,
                    cuerpo,
                    what_to_check=que_revisar,
                )
            except Exception:  # noqa: BLE001 - alerts never break the cycle
                self.log.exception("No se pudo enviar la alerta de lanzamiento.")
        return len(nuevos)
