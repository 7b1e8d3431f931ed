"""The Lanzador process: wiring of sync (L1), launch (L2/L3), pause (L6) and conciliation (L5).

Three separate jobs on the common runner, so a slow sync never delays launches:

- ``sincronizacion``: at start and every ``LANZADOR_INTERVALO_SYNC_TABLAS_SEG``;
- ``lanzamiento``: every ``LANZADOR_INTERVALO_LANZADOR_SEG``, skipped inside the pause window;
  before its first real cycle the Conciliador's start-up recovery of ``LANZANDO`` rows runs (L5.5)
  — until it succeeds, nothing is launched;
- ``conciliacion``: every ``LANZADOR_INTERVALO_CONCILIADOR_SEG`` (also during the pause);
- ``mantenimiento``: checked every minute; once a day from ``MANTENIMIENTO_HORA_HHMM`` it moves old
  closed executions to history and purges old rows, batch by batch (R2,
  :mod:`lanzador.service.mantenimiento`).

Shutdown (SIGINT/SIGTERM/SIGBREAK): the runner lets in-flight jobs finish, then the hooks close the
launch pool (in-flight deploys record their outcome), log out of A360 and close the DB connections.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any

from common import latido, metricas
from common.clock import Clock
from common.database.sql_client import DatabaseError
from common.service_runner import CicloFallido
from common.utils.alertas import AlertaBdSam, RachaDeFallos, es_bd_no_accesible, plural
from common.utils.config_manager import ajuste
from lanzador.service.caida_a360 import FallosPorEquipo, VigilanciaA360
from lanzador.service.desplegador import AjustesLanzamiento, Desplegador
from lanzador.service.mantenimiento import INTERVALO_SEG as INTERVALO_MANTENIMIENTO_SEG
from lanzador.service.mantenimiento import TrabajoMantenimiento
from lanzador.service.pausa import VentanaPausa
from lanzador.service.sincronizador import Nombres, Sincronizador

_log = logging.getLogger("sam.lanzador.main")

ALERTA_BD = "lanzador:bd"  # a launch cycle's database error that is not connectivity
#: What the process stops doing while the SAM DB cannot be reached (the body of its one alert).
CONSECUENCIA_BD_SAM = ("Mientras tanto no se lanza ningún robot ni se concilia ninguna ejecución; no se pierde "
                       "nada y todo se reanuda solo cuando la base de datos responda.")


def describir_recuperacion(resumen: dict[str, int]) -> str:
    """The start-up recovery of LANZANDO rows (L5.5) as a sentence, not a dict."""
    return (f"{plural(resumen.get('adoptadas', 0), 'ejecución adoptada', 'ejecuciones adoptadas')} (A360 "
            f"tenía su despliegue), {plural(resumen.get('fallidas', 0), 'pasa', 'pasan')} a DEPLOY_FAILED "
            f"(sin confirmación de A360) y {plural(resumen.get('pendientes', 0), 'queda', 'quedan')} "
            "pendiente de A360.")
#: The maintenance job never waits longer than this for a launch cycle to end (no starvation).
ESPERA_MAXIMA_CEDER_SEG = 60.0


class Lanzador:
    """Holds the Lanzador's parts; :meth:`registrar` adds its jobs and hooks to a runner."""

    def __init__(
        self,
        cfg: Any,
        *,
        db: Any,
        aa: Any,
        clock: Any,
        alerts: Any = None,
        conciliador: Any = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.cfg = cfg
        self.db = db
        self.aa = aa
        self.clock = clock
        self.alerts = alerts
        self.log = logger or _log
        self.stop_event = threading.Event()
        umbral = int(ajuste(cfg, "SAM_FALLOS_CONSECUTIVOS_ALERTA"))
        #: One alert for "SAM DB unreachable", whichever job finds it (shared with the Conciliador).
        self.bd_sam = AlertaBdSam(alerts, db, umbral=umbral, consecuencia=CONSECUENCIA_BD_SAM, logger=self.log)
        self.nombres = Nombres()
        self.sincronizador = Sincronizador(db, aa, clock=clock, alerts=alerts, bd_sam=self.bd_sam,
                                           nombres=self.nombres)
        #: M2: one view of A360's availability, fed by every call of the client (sync, deploy, activity).
        self.caida = VigilanciaA360.from_config(cfg, alerts, clock, logger=self.log)
        aa.observador = self.caida.observar
        self.sincronizador.caida = self.caida
        #: M3: each equipo's run of failed deploys.
        self.fallos_equipo = FallosPorEquipo(alerts, umbral=int(ajuste(cfg, "LANZADOR_FALLOS_EQUIPO_UMBRAL")),
                                             nombre=self.nombres.equipo, logger=self.log)
        self.desplegador = Desplegador(
            db,
            aa,
            AjustesLanzamiento.from_config(cfg),
            clock=clock,
            alerts=alerts,
            stop_event=self.stop_event,
            nombres=self.nombres,
            caida=self.caida,
            fallos_equipo=self.fallos_equipo,
        )
        self.pausa = VentanaPausa(ajuste(cfg, "LANZADOR_PAUSA_INICIO_HHMM"), ajuste(cfg, "LANZADOR_PAUSA_FIN_HHMM"),
                                  hasta=ajuste(cfg, "LANZADOR_PAUSA_MANUAL_HASTA"))
        self.conciliador = conciliador
        if conciliador is not None:
            conciliador.en_vuelo = self.desplegador.en_vuelo
            conciliador.nombres = self.nombres
            conciliador.caida = self.caida
        self._recuperacion_hecha = conciliador is None
        self._error_recuperacion: Exception | None = None
        self._recuperacion_lock = threading.Lock()
        self._racha_bd = RachaDeFallos(alerts, ALERTA_BD, umbral=umbral, logger=self.log)
        #: Set while no launch cycle runs: the maintenance job waits for it before each batch, so a
        #: launch cycle waits at most for the one batch it found running (R2).
        self.lanzamiento_libre = threading.Event()
        self.lanzamiento_libre.set()
        self.mantenimiento = TrabajoMantenimiento(
            db, cfg, clock, alerts=alerts, stop_event=self.stop_event, logger=self.log,
            ceder=lambda: self.lanzamiento_libre.wait(ESPERA_MAXIMA_CEDER_SEG), bd_sam=self.bd_sam,
        )

    # -- jobs ------------------------------------------------------------------------------------
    def job_sincronizacion(self) -> CicloFallido | None:
        resultado = self.sincronizador.sincronizar()
        if resultado.errores:  # handled (logged, alerted) by the Sincronizador; not an OK run (H5)
            return CicloFallido("; ".join(f"{tabla}: {msg}" for tabla, msg in resultado.errores.items()))
        return None

    def recuperacion_inicial(self) -> bool:
        """L5.5 at start-up: recover LANZANDO rows before the first launch. True when done."""
        with self._recuperacion_lock:
            if self._recuperacion_hecha:
                return True
            try:
                resumen = self.conciliador.recuperacion_inicial()  # once per process (shared with the rounds)
                if resumen and any(resumen.values()):
                    self.log.info("Revisión inicial de ejecuciones LANZANDO: %s", describir_recuperacion(resumen))
            except Exception as exc:  # noqa: BLE001 - retried before the next launch cycle
                self._error_recuperacion = exc
                self.log.error(
                    "No se pudo revisar las ejecuciones LANZANDO pendientes (%s); no se lanza nada "
                    "hasta conseguirlo.",
                    exc,
                )
                if es_bd_no_accesible(exc):
                    self.bd_sam.fallo("la revisión inicial de las ejecuciones LANZANDO", exc)
                return False
            self._recuperacion_hecha = True
            return True

    def job_lanzamiento(self) -> CicloFallido | None:
        """One launch cycle; one that could not use the SAM DB is handled here (logged, alerted)
        and reported to the runner as failed, so the heartbeat does not call it OK (H5)."""
        metricas.refrescar_ejecuciones_activas(self.db)  # M1: once per cycle, also in the pause
        self._aplicar_ajustes_vivos()
        if self.pausa.comprobar(self.clock.now_local()):
            return None
        if not self.recuperacion_inicial():
            return CicloFallido(self._error_recuperacion or "revisión inicial de ejecuciones LANZANDO pendiente")
        self.lanzamiento_libre.clear()
        try:
            self.desplegador.ciclo()
        except DatabaseError as exc:
            self._fallo_bd(exc)
            return CicloFallido(exc)
        finally:
            self.lanzamiento_libre.set()
        self._bd_ok()
        return None

    def _aplicar_ajustes_vivos(self) -> None:
        """C6: the settings of ConfigViva that may have changed since the last cycle."""
        cfg = self.cfg
        self.pausa.actualizar(ajuste(cfg, "LANZADOR_PAUSA_INICIO_HHMM"), ajuste(cfg, "LANZADOR_PAUSA_FIN_HHMM"),
                              ajuste(cfg, "LANZADOR_PAUSA_MANUAL_HASTA"))
        espera = int(ajuste(cfg, "LANZADOR_ESPERA_TRAS_FALLO_SEG"))
        if self.desplegador.ajustes.espera_tras_fallo_seg != espera:
            self.desplegador.ajustes = dataclasses.replace(self.desplegador.ajustes, espera_tras_fallo_seg=espera)

    # -- DB unreachable for SAM_FALLOS_CONSECUTIVOS_ALERTA cycles → one alert, then one recovery (§8)
    def _fallo_bd(self, exc: Exception) -> None:
        if es_bd_no_accesible(exc):  # the process' one alert for this root cause
            fallos = self.bd_sam.fallo("el ciclo de lanzamiento", exc)
        else:
            fallos = self._racha_bd.fallo(
                "El Lanzador no puede usar la base de datos SAM",
                lambda n: f"{plural(n, 'ciclo de lanzamiento ha', 'ciclos de lanzamiento seguidos han')} "
                f"fallado al usar la base de datos SAM: {exc}. No se lanza ningún robot mientras tanto.",
                que_revisar="Permisos del login SQL_SAM_UID sobre el esquema de SAM (SAM.sql aplicado) y el "
                "log del Lanzador.",
            )
        self.log.error("Ciclo de lanzamiento sin base de datos SAM (%s): %s",
                       plural(fallos, "fallo seguido", "fallos seguidos"), exc)

    def _bd_ok(self) -> None:
        if self._racha_bd.fallos or self.bd_sam.fallos:
            self.log.info("El ciclo de lanzamiento vuelve a usar la base de datos SAM.")
        self.bd_sam.exito()
        self._racha_bd.exito(
            "El Lanzador vuelve a usar la base de datos SAM",
            "Los ciclos de lanzamiento vuelven a completarse con normalidad.",
        )

    def job_mantenimiento(self) -> CicloFallido | None:
        resultado = self.mantenimiento.tick()
        return resultado if isinstance(resultado, CicloFallido) else None

    def job_conciliacion(self) -> CicloFallido | None:
        if self.conciliador is None:
            return None
        resultado = self.conciliador.run_round()
        if resultado.get("error"):  # SAM DB or A360, handled by the Conciliador; not an OK run (H5)
            return CicloFallido(self.conciliador.ultimo_error_ronda or f"ronda de conciliación sin {resultado['error']}")
        return None

    # -- runner wiring ---------------------------------------------------------------------------
    def registrar(self, runner: Any) -> None:
        cfg = self.cfg
        self.stop_event = runner.stop_event
        self.desplegador.stop_event = runner.stop_event
        self.mantenimiento.stop_event = runner.stop_event
        # H2: the role's work runs only on the leader (solo_lider; without an election, always).
        runner.add_job("sincronizacion", cfg.LANZADOR_INTERVALO_SYNC_TABLAS_SEG, self.job_sincronizacion,
                       solo_lider=True)
        runner.add_job("lanzamiento", cfg.LANZADOR_INTERVALO_LANZADOR_SEG, self.job_lanzamiento, solo_lider=True)
        if self.conciliador is not None:
            runner.add_job("conciliacion", cfg.LANZADOR_INTERVALO_CONCILIADOR_SEG, self.job_conciliacion,
                           solo_lider=True)
        runner.add_job("mantenimiento", INTERVALO_MANTENIMIENTO_SEG, self.job_mantenimiento, solo_lider=True)
        from lanzador.service import solicitudes

        solicitudes.instalar(runner, self)  # L8.2: "sincronizar ahora", served by the leader
        if getattr(runner, "liderazgo", None) is not None:
            # H3: a launch cycle that outlives the leadership starts no new deploy.
            self.desplegador.puede_lanzar = runner.liderazgo.puede_trabajar
            self.desplegador.cerco = runner.liderazgo.cerco()  # and the DB refuses its intents
        runner.add_shutdown_hook(self.cerrar)

    def cerrar(self) -> None:
        self.log.info("Cerrando el Lanzador: esperando a los despliegues en curso.")
        try:
            self.desplegador.cerrar(wait=True)
        finally:
            self.caida.cerrar()  # the outage mails already queued go out
            try:
                self.aa.logout()
            except Exception as exc:  # noqa: BLE001
                self.log.debug("Logout de A360 fallido: %s", exc)
            try:
                self.db.close_all()
            except Exception as exc:  # noqa: BLE001
                self.log.debug("Cierre de la base de datos fallido: %s", exc)


def main(argv: list[str] | None = None) -> int:
    from common.database.schema import ensure_schema
    from common.database.sql_client import DatabaseClient
    from common.service_runner import ServiceRunner
    from common.utils.config_manager import load_config_or_exit
    from common.utils.logging_setup import setup_logging
    from common.utils.mail_client import EmailAlertClient
    from common.version import __version__
    from lanzador.clients.aa_client import AutomationAnywhereClient
    from lanzador.service.conciliador import Conciliador

    cfg = load_config_or_exit("lanzador")
    logger = setup_logging(cfg, "lanzador")
    log = logging.getLogger("sam.lanzador.main")
    clock = Clock(cfg.SAM_ZONA_HORARIA or None)
    db = DatabaseClient.from_config(cfg, "SAM")
    log.info("SAM Lanzador versión %s iniciando. Base de datos SAM: %s.", __version__, db.describe())
    try:
        ensure_schema(db)
    except Exception as exc:  # noqa: BLE001 - the DB may come up later; jobs retry every cycle
        log.error("No se pudo comprobar/crear el esquema de la base de datos SAM: %s", exc)
    from common.utils.ajustes_vivos import ConfigViva, RecargaAjustes

    cfg = ConfigViva(cfg)  # C6: every part reads the live config (ConfiguracionSistema over the environment)
    alerts = EmailAlertClient(cfg, "lanzador")
    ajustes_vivos = RecargaAjustes(db, cfg, alerts=alerts, logger=log)
    ajustes_vivos.recargar()  # before the first cycle: a manual pause holds across a restart
    aa = AutomationAnywhereClient.from_config(cfg)
    conciliador = Conciliador(db, aa, cfg, clock, alerts)
    lanzador = Lanzador(cfg, db=db, aa=aa, clock=clock, alerts=alerts, conciliador=conciliador)
    log.info(
        "Lanzador configurado: lanzamiento cada %s s, conciliación cada %s s, sincronización cada %s s, "
        "%s hilos de despliegue, %s.",
        cfg.LANZADOR_INTERVALO_LANZADOR_SEG,
        cfg.LANZADOR_INTERVALO_CONCILIADOR_SEG,
        cfg.LANZADOR_INTERVALO_SYNC_TABLAS_SEG,
        cfg.LANZADOR_MAX_LANZAMIENTOS_CONCURRENTES,
        lanzador.pausa.describir(),
    )
    from common.liderazgo import elegir_al_arrancar

    eleccion = elegir_al_arrancar(cfg, "lanzador", alerts=alerts, logger=log)  # H1: before any work
    if isinstance(eleccion, int):
        return eleccion
    runner = ServiceRunner(
        "lanzador", logger=logger, alerts=alerts, shutdown_timeout=float(cfg.LANZADOR_SHUTDOWN_TIMEOUT_SEG)
    )
    runner.usar_liderazgo(eleccion)
    latido.instalar(runner, db, "lanzador", cfg, clock=clock)  # H5 (before the hooks that close the DB)
    metricas.instalar(runner, cfg, "lanzador")  # M1
    lanzador.registrar(runner)
    ajustes_vivos.registrar(runner)
    return runner.run()

