"""Prometheus metrics of a SAM process (BEHAVIOUR M1): the one registry, the ``sam_*`` families and
the ``/metrics`` HTTP endpoint.

Each process has one registry (:data:`REGISTRO`). The adapters record with one-line calls
(:func:`despliegue`, :func:`callback`, :func:`cierres`, :func:`llamada_a360`, :func:`error_bd`…);
recording is cheap and happens whether or not the endpoint is served. :func:`instalar` serves
``/metrics`` with prometheus_client's own HTTP server on its own thread, bound to ``METRICAS_HOST``
and the service's port setting (``LANZADOR_METRICAS_PUERTO``, ``BALANCEADOR_METRICAS_PUERTO``,
``CALLBACK_METRICAS_PUERTO``; unset = no endpoint), and feeds the job families from the runner.

Label values are bounded: states outside the known vocabulary become ``OTRO``, A360 paths are
templated (digits and UUIDs become ``{id}``) and any free-text label keeps at most
:data:`MAX_VALORES_ETIQUETA` distinct values (the rest are ``otro``). Robot names are bounded by
``dbo.Robots``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily

from common.database import sentencias
from common.execution_states import KNOWN_ACTIVE_STATES, TERMINAL_STATES, normalize

_log = logging.getLogger("sam.metricas")
disable_created_metrics()  # no *_created series: nothing here reads them

REGISTRO = CollectorRegistry(auto_describe=True)
MAX_VALORES_ETIQUETA = 50
ORIGENES_CIERRE = ("callback", "conciliador", "recuperacion")
#: Roles whose process does its service's work (``sam_lider`` = 1).
ROLES_CON_TRABAJO = ("lider", "activo")

_BUCKETS_A360 = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_BUCKETS_TAREA = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

INFO = Gauge("sam_info", "Proceso de SAM en marcha (siempre 1), con su servicio y versión.",
             ["servicio", "version"], registry=REGISTRO)
DESPLIEGUES = Counter("sam_despliegues", "Despliegues intentados por el Lanzador, por resultado.",
                      ["resultado"], registry=REGISTRO)
DESPLIEGUE_SEGUNDOS = Histogram("sam_despliegue_segundos",
                                "Duración de un lanzamiento (intención, despliegue con reintentos y registro).",
                                buckets=_BUCKETS_A360, registry=REGISTRO)
EJECUCIONES_ACTIVAS = Gauge("sam_ejecuciones_activas", "Ejecuciones abiertas en la BD SAM, por estado.",
                            ["estado"], registry=REGISTRO)
CALLBACKS = Counter("sam_callbacks", "Peticiones recibidas en la ruta de callbacks, por código HTTP de respuesta.",
                    ["codigo"], registry=REGISTRO)
CIERRES = Counter("sam_cierres", "Ejecuciones cerradas (estado final), por origen del cierre.",
                  ["origen"], registry=REGISTRO)
A360_SEGUNDOS = Histogram("sam_a360_llamada_segundos",
                          "Llamadas a la API de A360 por ruta y resultado (código HTTP, timeout o error_red), con su latencia.",
                          ["endpoint", "estado"], buckets=_BUCKETS_A360, registry=REGISTRO)
ERRORES_BD = Counter("sam_errores_bd", "Errores de base de datos que llegaron al código (tras los reintentos), por base y tipo.",
                     ["base", "tipo"], registry=REGISTRO)
TAREA_SEGUNDOS = Histogram("sam_tarea_segundos", "Duración de cada ejecución de una tarea periódica.",
                           ["tarea"], buckets=_BUCKETS_TAREA, registry=REGISTRO)
TAREA_FALLOS = Counter("sam_tarea_fallos", "Ejecuciones de una tarea periódica que terminaron con una excepción.",
                       ["tarea"], registry=REGISTRO)
TAREA_ULTIMO_OK = Gauge("sam_tarea_ultimo_ok_timestamp_segundos",
                        "Momento (epoch, s) de la última ejecución sin excepción de cada tarea.",
                        ["tarea"], registry=REGISTRO)
for _origen in ORIGENES_CIERRE:  # every origin scrapes from the start (0), so rate() sees the first one
    CIERRES.labels(_origen)
LIDER = Gauge("sam_lider", "1 si este proceso hace el trabajo de su servicio (rol lider o activo), 0 en espera.",
              registry=REGISTRO)


class _PorRobot:
    """Tickets and equipos per robot of the last balancing cycle (``sam_balanceo_*``): a collector,
    so a robot that leaves the cycle leaves the scrape with it (no stale series)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets: dict[str, int] = {}
        self._equipos: dict[str, int] = {}

    def fijar(self, tickets: Mapping[str, int], equipos: Mapping[str, int]) -> None:
        with self._lock:
            self._tickets, self._equipos = dict(tickets), dict(equipos)

    def describe(self) -> list:
        return []

    def collect(self) -> Iterable[GaugeMetricFamily]:
        with self._lock:
            tickets, equipos = dict(self._tickets), dict(self._equipos)
        t = GaugeMetricFamily("sam_balanceo_tickets", "Tickets pendientes por robot en el último ciclo de balanceo.",
                              labels=["robot"])
        e = GaugeMetricFamily("sam_balanceo_equipos",
                              "Equipos asignados por el Balanceador a cada robot tras el último ciclo.",
                              labels=["robot"])
        for robot, n in sorted(tickets.items()):
            t.add_metric([robot], n)
        for robot, n in sorted(equipos.items()):
            e.add_metric([robot], n)
        yield t
        yield e


POR_ROBOT = _PorRobot()
REGISTRO.register(POR_ROBOT)


class _Acotador:
    """At most ``maximo`` distinct values per label; later new values read ``otro``."""

    def __init__(self, maximo: int = MAX_VALORES_ETIQUETA) -> None:
        self.maximo = maximo
        self._vistos: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, valor: str) -> str:
        with self._lock:
            if valor in self._vistos:
                return valor
            if len(self._vistos) >= self.maximo:
                return "otro"
            self._vistos.add(valor)
            return valor


_RESULTADOS = _Acotador(20)
_ENDPOINTS = _Acotador()
_TAREAS = _Acotador()
_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|(?<=/)\d+(?=/|$)")


def plantilla_ruta(ruta: str) -> str:
    """An A360 path as a bounded label: no query string, ids (digits, UUIDs) as ``{id}``."""
    base = (ruta or "").split("?", 1)[0]
    return _ENDPOINTS(_ID.sub("{id}", base) or "/")


def estado_etiqueta(estado: Any) -> str:
    """An execution state as a label: known states as they are, anything else ``OTRO``."""
    e = normalize(str(estado or ""))
    return e if e in KNOWN_ACTIVE_STATES or e in TERMINAL_STATES else "OTRO"


# ------------------------------------------------------------------------------ recording (adapters)


def despliegue(resultado: str, segundos: float) -> None:
    DESPLIEGUES.labels(_RESULTADOS(str(resultado))).inc()
    DESPLIEGUE_SEGUNDOS.observe(max(0.0, segundos))


def callback(codigo: int) -> None:
    CALLBACKS.labels(str(int(codigo))).inc()


def cierres(origen: str, cuantos: int = 1) -> None:
    if origen not in ORIGENES_CIERRE:
        raise ValueError(f"origen de cierre desconocido: {origen!r}")
    if cuantos > 0:
        CIERRES.labels(origen).inc(cuantos)


def llamada_a360(ruta: str, enviar: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``enviar(*args, **kwargs)`` (one HTTP call), recorded by templated path, result and latency."""
    inicio = time.monotonic()
    estado = "error_red"
    try:
        resp = enviar(*args, **kwargs)
        estado = str(getattr(resp, "status_code", "?"))
        return resp
    except Exception as exc:
        if "timeout" in type(exc).__name__.lower():
            estado = "timeout"
        raise
    finally:
        A360_SEGUNDOS.labels(plantilla_ruta(ruta), estado).observe(time.monotonic() - inicio)


def error_bd(base: str, error: Any) -> None:
    """A database error that reached the code (no retry left): ``conexion``, ``fila`` or ``otro``."""
    if getattr(error, "connection_lost", False) or getattr(error, "al_conectar", False):
        tipo = "conexion"
    elif getattr(error, "integrity", False) or getattr(error, "datos", False):
        tipo = "fila"
    else:
        tipo = "otro"
    ERRORES_BD.labels(str(base or "?")[:30], tipo).inc()


def tarea(nombre: str, segundos: float, error: BaseException | None) -> None:
    """The runner's observer: duration, failures and last success per job."""
    etiqueta = _TAREAS(nombre)
    TAREA_SEGUNDOS.labels(etiqueta).observe(max(0.0, segundos))
    if error is None:
        TAREA_ULTIMO_OK.labels(etiqueta).set(time.time())
    else:
        TAREA_FALLOS.labels(etiqueta).inc()


def rol(valor: str) -> None:
    LIDER.set(1 if valor in ROLES_CON_TRABAJO else 0)


def balanceo(tickets: Mapping[str, int], equipos: Mapping[str, int]) -> None:
    POR_ROBOT.fijar(tickets, equipos)


# ------------------------------------------------------------------------------ active executions

sentencias.registrar(
    "metricas.ejecuciones_activas_por_estado",
    tsql="SELECT Estado, COUNT(*) AS Cuantas FROM dbo.EjecucionesActivas GROUP BY Estado",
    sqlite="SELECT Estado, COUNT(*) AS Cuantas FROM EjecucionesActivas GROUP BY Estado",
)
_servido = threading.Event()


def refrescar_ejecuciones_activas(db: Any) -> None:
    """``sam_ejecuciones_activas`` from the SAM DB; only while ``/metrics`` is served (no query
    otherwise). A failure leaves the last values (the error is counted in ``sam_errores_bd``)."""
    if not _servido.is_set():
        return
    try:
        filas = db.query(sentencias.sql(db, "metricas.ejecuciones_activas_por_estado"))
    except Exception as exc:  # noqa: BLE001 - a metric never stops a cycle
        _log.debug("No se pudieron leer las ejecuciones activas para las métricas: %s", exc)
        return
    por_estado: dict[str, int] = {e: 0 for e in sorted(KNOWN_ACTIVE_STATES)}
    for f in filas:
        clave = estado_etiqueta(f["Estado"])
        por_estado[clave] = por_estado.get(clave, 0) + int(f["Cuantas"] or 0)
    for estado, n in por_estado.items():
        EJECUCIONES_ACTIVAS.labels(estado).set(n)


# ------------------------------------------------------------------------------ serving

#: Port setting of each service.
AJUSTE_PUERTO = {"lanzador": "LANZADOR_METRICAS_PUERTO", "balanceador": "BALANCEADOR_METRICAS_PUERTO",
                 "callback": "CALLBACK_METRICAS_PUERTO"}


def servir(host: str, puerto: int) -> Callable[[], None]:
    """Serve ``/metrics`` of :data:`REGISTRO` on ``host:puerto`` (own thread); returns the closer.
    Raises OSError when the port cannot be opened."""
    servidor, hilo = start_http_server(int(puerto), addr=host, registry=REGISTRO)
    hilo.name = "sam-metricas"
    _servido.set()

    def cerrar() -> None:
        _servido.clear()
        servidor.shutdown()
        servidor.server_close()

    return cerrar


def instalar(runner: Any, cfg: Any, servicio: str, *, log: logging.Logger | None = None) -> bool:
    """Metrics of a service: ``sam_info``, the runner's job observer and, when the service's port
    setting is set, ``/metrics`` (closed by a shutdown hook). True when the endpoint is served.

    A port that cannot be opened is logged as an ERROR and the service goes on without endpoint:
    metrics never stop the work."""
    from common.utils.config_manager import ajuste
    from common.version import __version__

    log = log or _log
    INFO.labels(servicio, __version__).set(1)
    runner.observar_tareas(tarea)
    puerto = ajuste(cfg, AJUSTE_PUERTO[servicio])
    if not puerto:
        return False
    host = ajuste(cfg, "METRICAS_HOST")
    try:
        cerrar = servir(host, int(puerto))
    except OSError as exc:
        log.error("No se pudo abrir el puerto de métricas %s:%s (%s): el servicio sigue sin /metrics; "
                  "revise %s y METRICAS_HOST.", host, puerto, exc, AJUSTE_PUERTO[servicio])
        return False
    runner.add_shutdown_hook(cerrar)
    log.info("Métricas Prometheus en http://%s:%s/metrics", host, puerto)
    return True
