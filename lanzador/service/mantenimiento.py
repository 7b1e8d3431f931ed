"""The Lanzador's daily retention job (BEHAVIOUR §14 R2): when to run :mod:`common.database.mantenimiento`.

Checked every minute by the runner (its own thread, so a launch cycle never waits for it except on
the one batch that holds the database at that moment). It runs at the first tick at or after
``MANTENIMIENTO_HORA_HHMM`` (local time of SAM) on a day whose run has not completed yet; the date
of the last completed run lives in the database (``Mantenimiento``), so a service that was down at
that hour, or was killed in the middle of the run, runs it at its next start the same day. A run
stopped by the shutdown is not completed and resumes at the next tick; a failed run is logged,
alerted once (``RachaDeFallos``, key ``lanzador:mantenimiento``) and retried at the next tick; the
first run that then completes announces the recovery once. A SAM DB it cannot reach is not a
failure of its own: it counts in the process' one "SAM DB unreachable" alert (``AlertaBdSam``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from common.database import mantenimiento
from common.service_runner import CicloFallido
from common.utils.alertas import AlertaBdSam, RachaDeFallos, es_bd_no_accesible
from common.utils.config_manager import ajuste

_log = logging.getLogger("sam.lanzador.mantenimiento")

ALERTA_MANTENIMIENTO = "lanzador:mantenimiento"
#: Seconds between two checks of the job (runner interval).
INTERVALO_SEG = 60
#: Pause between two batches: other writers get the database between them.
PAUSA_ENTRE_LOTES_SEG = 0.05


class TrabajoMantenimiento:
    def __init__(
        self,
        db: Any,
        cfg: Any,
        clock: Any,
        *,
        alerts: Any = None,
        stop_event: threading.Event | None = None,
        logger: logging.Logger | None = None,
        pausa: float = PAUSA_ENTRE_LOTES_SEG,
        ceder: Callable[[], object] | None = None,
        bd_sam: AlertaBdSam | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.hora: time = ajuste(cfg, "MANTENIMIENTO_HORA_HHMM")
        self.ajustes = mantenimiento.AjustesMantenimiento.from_config(cfg)
        self.stop_event = stop_event or threading.Event()
        self.log = logger or _log
        self.pausa = pausa
        self.ceder = ceder
        self._racha = RachaDeFallos(alerts, ALERTA_MANTENIMIENTO, umbral=1, logger=self.log)
        self.bd_sam = bd_sam or AlertaBdSam(alerts, db, logger=self.log)

    def toca(self, ahora: datetime) -> bool:
        """True at or after today's hour when today's run has not completed (read from the DB)."""
        if ahora.time() < self.hora:
            return False
        ultima = mantenimiento.ultima_completa(self.db)
        return ultima is None or ultima < ahora.date()

    def tick(self) -> mantenimiento.ResumenMantenimiento | CicloFallido | None:
        """One check; runs the job when it is due. Never raises (the runner logs nothing twice); a
        failure it handled is returned as :class:`CicloFallido`."""
        ahora = self.clock.now_local().replace(tzinfo=None)
        if ahora.time() < self.hora:
            return None
        try:
            if not self.toca(ahora):
                self.bd_sam.exito()  # the SAM DB answered and there is nothing to do today
                return None
            self.log.info(
                "Mantenimiento del historial: se mueven a Ejecuciones_Historico las ejecuciones "
                "terminadas hace más de %d días (lotes de %d filas).",
                self.ajustes.dias_ejecuciones,
                self.ajustes.lote,
            )
            resumen = mantenimiento.ejecutar(
                self.db, ahora, self.ajustes, detener=self.stop_event, pausa=self.pausa, ceder=self.ceder,
                log=self.log,
            )
        except Exception as exc:  # noqa: BLE001 - logged, alerted once, retried at the next tick
            self._fallo(exc)
            return CicloFallido(exc)  # handled here; the heartbeat and metrics see a failed run (H5)
        self.bd_sam.exito()
        if resumen.completo:
            self._ok(resumen)
        return resumen

    def _fallo(self, exc: Exception) -> None:
        self.log.error("El mantenimiento del historial de ejecuciones ha fallado (se reintenta): %s", exc)
        if es_bd_no_accesible(exc):
            # The SAM DB is unreachable (cannot connect, connection lost, transient): the process'
            # one alert for that root cause, shared with the other jobs; no mail of its own.
            self.bd_sam.fallo("el mantenimiento del historial de ejecuciones", exc)
            return
        self._racha.fallo(
            "El mantenimiento del historial de ejecuciones de SAM ha fallado",
            f"El trabajo diario que mueve las ejecuciones terminadas a Ejecuciones_Historico y purga "
            f"los datos antiguos ha fallado: {exc}. Nada se ha perdido (cada lote es una transacción); "
            f"se reintenta cada {INTERVALO_SEG} s.",
            que_revisar="Base de datos SAM (espacio, registro de transacciones), MANTENIMIENTO_LOTE.",
        )

    def _ok(self, resumen: mantenimiento.ResumenMantenimiento) -> None:
        self._racha.exito(
            "El mantenimiento del historial de ejecuciones de SAM vuelve a funcionar",
            f"El mantenimiento diario se ha completado: {resumen.describir()}.",
        )
