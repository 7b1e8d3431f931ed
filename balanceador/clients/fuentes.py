"""Reading the Balanceador's ticket sources (BEHAVIOUR §7, B1, B2, B8).

The interface every source implements, the read result and the error type are in
:mod:`balanceador.clients.base`. Each enabled source (``BALANCEADOR_PROVEEDORES_CARGA``) is read
concurrently every cycle by :func:`read_all`, which never raises and always returns one :class:`SourceResult` per source
within a bounded time. A failing source is reported with ``ok=False`` and an empty ``rows``;
it is never read as "zero tickets" (a defect of the original, BEHAVIOUR §10).
:class:`SourceHealth` counts consecutive failures per source and sends one alert after
``BALANCEADOR_FALLOS_PARA_ALERTA`` of them and one more on recovery (B8).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from balanceador.clients.base import (
    SourceResult,
    TicketSource,
    describe_error,
    mapped_names_of,
    max_read_seconds_of,
    name_of,
    normalize_rows,
    secrets_of,
)
from balanceador.clients.clouders_client import CloudersSource
from balanceador.clients.rpa360_client import Rpa360Source
from common.utils.alertas import RachaDeFallos, plural

logger = logging.getLogger("sam.balanceador.fuentes")

KNOWN_SOURCES = ("rpa360", "clouders")

# Extra slack read_all grants on top of the slowest source's own bound.
READ_ALL_MARGIN_SECONDS = 5.0


def _failed(source: Any, error: str) -> SourceResult:
    return SourceResult(name=name_of(source), ok=False, rows=(), error=error,
                        mapped_names=mapped_names_of(source))


def _read_one(source: Any) -> SourceResult:
    name = name_of(source)
    started = time.monotonic()
    try:
        rows = normalize_rows(source.read(), name)
    except Exception as exc:  # a source failing must never stop the cycle
        error = describe_error(exc, secrets_of(source))
        logger.debug("Lectura de la fuente %r fallida tras %.2f s: %s", name, time.monotonic() - started, error)
        return _failed(source, error)
    logger.debug(
        "Fuente %r leída: %s, %s en %.2f s",
        name,
        plural(len(rows), "fila", "filas"),
        plural(sum(r[2] for r in rows), "ticket", "tickets"),
        time.monotonic() - started,
    )
    return SourceResult(name=name, ok=True, rows=rows, error=None, mapped_names=mapped_names_of(source))


def read_all(
    sources: Sequence[Any],
    executor: concurrent.futures.Executor | None,
    *,
    timeout: float | None = None,
) -> list[SourceResult]:
    """Read every source concurrently; one result per source, in the order given. Never raises.

    The wait is bounded by ``timeout`` (default: the slowest source's ``max_read_seconds`` plus a
    margin). A source still running at the deadline is reported as failed; its read keeps running
    in the background and the source itself refuses overlapping reads.
    """
    sources = list(sources)
    if not sources:
        return []
    if timeout is None:
        timeout = max(max_read_seconds_of(s) for s in sources) + READ_ALL_MARGIN_SECONDS
    own_executor = executor is None
    if own_executor:
        executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=len(sources), thread_name_prefix="fuente-tickets"
        )
    results: list[SourceResult | None] = [None] * len(sources)
    futures: dict[concurrent.futures.Future, int] = {}
    try:
        for index, source in enumerate(sources):
            try:
                futures[executor.submit(_read_one, source)] = index
            except Exception as exc:  # executor shut down, ...
                results[index] = _failed(source, describe_error(exc))
        done, _pending = concurrent.futures.wait(futures, timeout=timeout)
        for future, index in futures.items():
            source = sources[index]
            if future in done:
                try:
                    results[index] = future.result()
                except Exception as exc:  # _read_one never raises; belt and braces
                    results[index] = _failed(source, describe_error(exc))
            else:
                future.cancel()
                results[index] = _failed(source, f"la fuente {name_of(source)!r} no respondió en {timeout:.0f} s")
    finally:
        if own_executor:
            executor.shutdown(wait=False, cancel_futures=True)
    return [r for r in results if r is not None]


class SourceHealth:
    """B8: consecutive failures per source; one alert at ``threshold``, one on recovery (one
    :class:`common.utils.alertas.RachaDeFallos` per source: an alert the SMTP server did not take is
    retried on the next failed cycle)."""

    def __init__(self, alerts: Any, threshold: int, logger: logging.Logger | None = None) -> None:
        self._alerts = alerts
        self._threshold = max(1, int(threshold))
        self._logger = logger or logging.getLogger("sam.balanceador.fuentes")
        self._rachas: dict[str, RachaDeFallos] = {}
        self._lock = threading.Lock()

    @staticmethod
    def alert_key(name: str) -> str:
        return f"balanceador.fuente.{name}"

    def _racha(self, name: str) -> RachaDeFallos:
        with self._lock:
            if name not in self._rachas:
                self._rachas[name] = RachaDeFallos(self._alerts, self.alert_key(name), umbral=self._threshold,
                                                   logger=self._logger)
            return self._rachas[name]

    def consecutive_failures(self, name: str) -> int:
        return self._racha(name).fallos

    def is_alerting(self, name: str) -> bool:
        return self._racha(name).alertada

    def record(self, results: list[SourceResult]) -> None:
        for result in results:
            try:
                self._record_one(result)
            except Exception:  # alerting must never break a cycle
                self._logger.exception("Error registrando el estado de la fuente %r", result.name)

    def _record_one(self, result: SourceResult) -> None:
        name, racha = result.name, self._racha(result.name)
        if result.ok:
            previous = racha.fallos
            if previous:
                self._logger.info("Fuente de tickets %r recuperada tras %s", name,
                                  plural(previous, "lectura fallida", "lecturas fallidas seguidas"))
            racha.exito(
                f"Fuente de tickets '{name}' recuperada",
                f"La fuente de tickets '{name}' vuelve a responder tras "
                f"{plural(previous, 'ciclo con error', 'ciclos seguidos con error')}. El Balanceador vuelve a usar sus datos para ajustar "
                "las asignaciones.",
            )
            return
        count = racha.fallo(
            f"Fuente de tickets '{name}' sin respuesta",
            lambda n: f"La fuente de tickets '{name}' ha fallado en "
            f"{plural(n, 'ciclo', 'ciclos seguidos')} del Balanceador. Último error: {result.error or 'desconocido'}. Mientras tanto no se "
            "liberan equipos de los robots que alimenta esta fuente.",
            que_revisar=_WHAT_TO_CHECK.get(name, "La conectividad y el estado de la fuente."),
        )
        self._logger.warning(
            "Fuente de tickets %r no disponible (%s); sus robots no se reducen en este ciclo: %s",
            name,
            plural(count, "fallo", "fallos seguidos"),
            result.error,
        )
        if count == self._threshold:
            self._logger.error("Fuente de tickets %r caída durante %s; se envía alerta", name,
                               plural(count, "ciclo", "ciclos seguidos"))


_WHAT_TO_CHECK = {
    "rpa360": (
        "La base de datos rpa360 (variables SQL_RPA360_*), que el servidor responda y que "
        "dbo.usp_obtener_tickets_pendientes_por_robot (o la tabla TicketsPendientesPorRobot) exista."
    ),
    "clouders": (
        "El servidor SSH de clouders (CLOUDERS_SSH_HOST/PORT, credenciales, known_hosts), que MySQL "
        "responda en CLOUDERS_MYSQL_DB_HOST:CLOUDERS_MYSQL_DB_PORT desde ese servidor y que la base "
        "CLOUDERS_MYSQL_DB_NAME tenga las tablas task_task y task_robot."
    ),
}


def enabled_source_names(cfg: Any) -> list[str]:
    raw = cfg.BALANCEADOR_PROVEEDORES_CARGA
    if isinstance(raw, str):
        raw = raw.replace(";", ",").split(",")
    names: list[str] = []
    for item in raw or ():
        name = str(item).strip().lower()
        if name and name not in names:
            names.append(name)
    return names


def build_sources(cfg: Any, sam_db: Any = None) -> list[TicketSource]:
    """The sources listed in ``BALANCEADOR_PROVEEDORES_CARGA``, in that order.

    Building opens no connection (each source connects on its first read), so a source that is
    down at start-up is reported by the first cycle instead of preventing the start. ``sam_db``
    is accepted for interface stability; the rpa360 source always uses its own SQL_RPA360_*
    connection.
    """
    del sam_db
    sources: list[TicketSource] = []
    for name in enabled_source_names(cfg):
        if name == "rpa360":
            sources.append(Rpa360Source.from_config(cfg))
        elif name == "clouders":
            sources.append(CloudersSource.from_config(cfg))
        else:
            raise ValueError(
                f"BALANCEADOR_PROVEEDORES_CARGA: fuente desconocida {name!r} "
                f"(valores admitidos: {', '.join(KNOWN_SOURCES)})"
            )
    return sources


def close_sources(sources: Iterable[Any]) -> None:
    """Close every source; never raises (for shutdown hooks)."""
    for source in sources:
        try:
            source.close()
        except Exception:
            logger.warning("Error cerrando la fuente %r", name_of(source), exc_info=True)
