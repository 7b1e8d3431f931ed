"""The one runner shared by the three SAM services.

Named periodic jobs; each run happens in its own worker thread so a slow job (a long sync) never
delays another (the launch cycle). A job never overlaps itself: when it is due while its previous
run is still going, that tick is skipped. Intervals are measured on the monotonic clock, so a wall
clock that goes back (DST fall-back on the host, an NTP correction) never stalls the jobs. An exception in a job is logged,
alerted (throttled by the mail client) and the loop goes on; the next successful run announces
the recovery. A job that handles its own errors (the SAM DB down) returns a :class:`CicloFallido`
so the observers (heartbeat, metrics) do not count that run as OK.

SIGINT, SIGTERM and, on Windows, SIGBREAK (NSSM sends Ctrl+C / Ctrl+Break to console apps) stop
the loop: no new runs start, in-flight runs get up to ``shutdown_timeout`` seconds to finish,
then the shutdown hooks run (close pools, DB connections, log out) and ``run()`` returns 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from common.utils.alertas import RachaDeFallos

_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, name)
)


class CicloFallido(Exception):  # noqa: N818 - a verdict the job returns, not an error it raises
    """Returned (never raised) by a job whose run hit an error it handled itself (logged, alerted,
    retried next time): the runner logs and alerts nothing more, but its observers see the run as
    failed (``UltimoCicloOk`` does not move, ``UltimoError`` and ``sam_tarea_fallos_total`` do).
    ``causa``: the handled exception, or a text when there is none."""

    def __init__(self, causa: BaseException | str) -> None:
        super().__init__(str(causa))
        self.causa = causa

    @property
    def error(self) -> BaseException:
        """What the observers receive: the handled exception itself when there is one."""
        return self.causa if isinstance(self.causa, BaseException) else self


@dataclass
class _Job:
    name: str
    interval_s: float
    fn: Callable[[], Any]
    run_at_start: bool
    thread: threading.Thread | None = None
    next_due: float = 0.0
    failing: bool = False
    runs: int = 0
    skipped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    racha: RachaDeFallos | None = None
    solo_lider: bool = False
    en_espera: int = 0


class ServiceRunner:
    """Runs named periodic jobs until a stop signal or :meth:`request_stop`."""

    def __init__(
        self,
        name: str,
        *,
        logger: logging.Logger | None = None,
        alerts: Any = None,
        shutdown_timeout: float = 30.0,
        tick_s: float = 0.2,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.log = logger or logging.getLogger(f"sam.{name}.runner")
        self.alerts = alerts
        self.shutdown_timeout = float(shutdown_timeout)
        self.tick_s = tick_s
        self.stop_event = threading.Event()
        self._jobs: dict[str, _Job] = {}
        self._hooks: list[Callable[[], Any]] = []
        self._monotonic = monotonic
        #: Called after every job run with (job name, seconds, exception or None): metrics, heartbeat.
        self._observadores: list[Callable[[str, float, BaseException | None], Any]] = []
        #: The process' leader election (common/liderazgo.py), or None (no election: always works).
        self.liderazgo: Any = None

    # -- configuration -------------------------------------------------------------------
    def add_job(
        self, name: str, interval_s: float, fn: Callable[[], Any], *, run_at_start: bool = True,
        solo_lider: bool = False,
    ) -> None:
        """``solo_lider=True``: the role's work (sync, launch, conciliation, balancing, maintenance);
        with an election (:meth:`usar_liderazgo`) it runs only while this process may work (H2).
        Heartbeats and settings refresh keep the default and run in standby too."""
        if name in self._jobs:
            raise ValueError(f"job {name!r} already registered")
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        job = _Job(name, float(interval_s), fn, run_at_start, solo_lider=solo_lider)
        self._jobs[name] = job

    def usar_liderazgo(self, liderazgo: Any) -> None:
        """Gate the ``solo_lider`` jobs on ``liderazgo.puede_trabajar()`` (common/liderazgo.py); the
        election is stopped (the role handed over) after the shutdown hooks."""
        self.liderazgo = liderazgo

    def observar_tareas(self, fn: Callable[[str, float, BaseException | None], Any]) -> None:
        """``fn(job, seconds, exception or None)`` after every job run; its errors are logged, never raised."""
        self._observadores.append(fn)

    def add_shutdown_hook(self, fn: Callable[[], Any]) -> None:
        """Hooks run in registration order after in-flight jobs ended (or timed out)."""
        self._hooks.append(fn)

    def request_stop(self, reason: str = "solicitud interna") -> None:
        if not self.stop_event.is_set():
            self.log.info("Detención solicitada (%s).", reason)
        self.stop_event.set()

    def job_stats(self, name: str) -> dict[str, int]:
        job = self._jobs[name]
        return {"runs": job.runs, "skipped": job.skipped, "en_espera": job.en_espera}

    # -- running -------------------------------------------------------------------------
    def run(self) -> int:
        self._install_signal_handlers()
        self.log.info(
            "Servicio %s iniciado con %d tareas: %s.",
            self.name,
            len(self._jobs),
            ", ".join(f"{j.name} cada {j.interval_s:g} s" for j in self._jobs.values()) or "ninguna",
        )
        start = self._monotonic()
        for job in self._jobs.values():
            job.next_due = start + job.interval_s
            if job.run_at_start and not self.stop_event.is_set():
                self._launch(job)
        try:
            while not self.stop_event.wait(self.tick_s):
                self._run_pending()
        except KeyboardInterrupt:  # a Ctrl+C that arrived before our handler was installed
            self.request_stop("Ctrl+C")
        return self._shutdown()

    def _run_pending(self) -> None:
        """Launch every job whose interval has elapsed; the next run is one interval from now."""
        now = self._monotonic()
        for job in self._jobs.values():
            if now >= job.next_due and not self.stop_event.is_set():
                job.next_due = now + job.interval_s
                self._launch(job)

    def _launch(self, job: _Job) -> None:
        if self.stop_event.is_set():
            return
        if job.solo_lider and self.liderazgo is not None and not self.liderazgo.puede_trabajar():
            job.en_espera += 1  # H2: a standby (or a leader that could not renew) takes no work
            return
        with job.lock:
            if job.thread is not None and job.thread.is_alive():
                job.skipped += 1
                self.log.debug("La tarea %s sigue en curso; se omite este turno.", job.name)
                return
            job.thread = threading.Thread(
                target=self._run_job, args=(job,), name=f"{self.name}-{job.name}", daemon=True
            )
            job.thread.start()

    def _racha(self, job: _Job) -> RachaDeFallos:
        if job.racha is None:
            job.racha = RachaDeFallos(self.alerts, f"{self.name}:tarea:{job.name}", umbral=1, logger=self.log)
        return job.racha

    def _run_job(self, job: _Job) -> None:
        started = time.monotonic()
        error: BaseException | None = None
        try:
            resultado = job.fn()
        except Exception as exc:  # noqa: BLE001 - a job's failure must never stop the service
            error = exc
            job.failing = True
            self.log.exception("La tarea %s falló: %s", job.name, exc)
            self._racha(job).fallo(
                f"Error inesperado en la tarea {job.name}",
                f"La tarea periódica {job.name} del servicio {self.name} lanzó una excepción: "
                f"{type(exc).__name__}: {exc}",
                que_revisar="Revise el log del servicio para ver la traza completa.",
            )
        else:
            if isinstance(resultado, CicloFallido):  # handled by the job: only the observers learn it
                error = resultado.error
            elif job.failing:
                job.failing = False
                self.log.info("La tarea %s vuelve a funcionar.", job.name)
                self._racha(job).exito(
                    f"La tarea {job.name} se ha recuperado",
                    f"La tarea periódica {job.name} del servicio {self.name} vuelve a completarse sin errores.",
                )
        finally:
            job.runs += 1
            self.log.debug("Tarea %s terminada en %.3f s.", job.name, time.monotonic() - started)
            self._notificar(job.name, time.monotonic() - started, error)

    def _notificar(self, nombre: str, segundos: float, error: BaseException | None) -> None:
        for observador in self._observadores:
            try:
                observador(nombre, segundos, error)
            except Exception:  # noqa: BLE001 - an observer never affects the jobs
                self.log.debug("Error en un observador de tareas.", exc_info=True)

    def _shutdown(self) -> int:
        self.log.info(
            "Deteniendo el servicio %s: se espera a las tareas en curso (máximo %g s).",
            self.name,
            self.shutdown_timeout,
        )
        deadline = time.monotonic() + self.shutdown_timeout
        for job in self._jobs.values():
            thread = job.thread
            if thread is not None and thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
                if thread.is_alive():
                    self.log.warning(
                        "La tarea %s no terminó dentro del tiempo de cierre; se abandona.", job.name
                    )
        for hook in self._hooks:
            try:
                hook()
            except Exception:  # noqa: BLE001 - one failing hook must not skip the others
                self.log.exception("Error al cerrar un recurso durante la detención.")
        if self.liderazgo is not None:  # last: the work is over, another server may take the role now
            try:
                self.liderazgo.detener()
            except Exception:  # noqa: BLE001 - the lease expires by itself
                self.log.exception("Error al ceder el liderazgo durante la detención.")
        self.log.info("Servicio %s detenido correctamente.", self.name)
        return 0

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            self.log.debug("Runner fuera del hilo principal: sin manejadores de señales.")
            return

        def _handler(signum: int, _frame: Any) -> None:
            try:
                label = signal.Signals(signum).name
            except ValueError:
                label = str(signum)
            self.request_stop(f"señal {label}")

        for sig in _STOP_SIGNALS:
            signal.signal(sig, _handler)
