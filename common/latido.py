"""Heartbeats (BEHAVIOUR H5): each SAM process keeps its own row in ``EstadoServicios``.

One row per process, keyed by (``Servicio``, ``Host``, ``Pid``), written every ``SAM_LATIDO_SEG``
whether HA is on or off: version, role (``lider``/``espera``/``activo``), start time, last beat,
the end of the last job run without an exception (``UltimoCicloOk``) and the last job exception
(``UltimoError``: time, job and message, redacted, at most 4000 characters). A job that handled an
error itself and returned :class:`common.service_runner.CicloFallido` counts as failed: the runner
hands its error to the observer like an exception.

- :func:`instalar` wires it into a :class:`common.service_runner.ServiceRunner`: a ``latido`` job
  (also at start), the runner's job observer feeding ``UltimoCicloOk``/``UltimoError`` and a
  shutdown hook that removes the row (a stopped service has no row; one that died keeps a row
  whose ``UltimoLatido`` no longer moves). At start, rows of the same service and host that stopped
  beating (older than three beats) are removed: those processes are gone.
- A database failure never stops the service: the first one is logged as a WARNING, the next ones
  at DEBUG, the beat is retried at the next interval and the recovery is logged once.
- The role comes from a callable; by default :func:`common.liderazgo.rol_actual` of the service
  (``activo`` when HA is off).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from common import metricas
from common.database import sentencias
from common.utils.redaccion import redactar
from common.version import __version__

_log = logging.getLogger("sam.latido")

SERVICIOS = ("lanzador", "callback", "balanceador", "consola")
ROLES = ("lider", "espera", "activo")
MAX_ERROR = 4000
#: A row of the same service and host older than this many beats belongs to a dead process.
LATIDOS_PARA_DAR_POR_MUERTO = 3
TAREA = "latido"

sentencias.registrar(
    "latido.escribir",
    tsql="""DECLARE @Servicio NVARCHAR(20) = ?;
DECLARE @Host NVARCHAR(255) = ?;
DECLARE @Pid INT = ?;
DECLARE @Version NVARCHAR(50) = ?;
DECLARE @Rol NVARCHAR(10) = ?;
DECLARE @Inicio DATETIME2(3) = ?;
DECLARE @Ahora DATETIME2(3) = ?;
DECLARE @UltimoCicloOk DATETIME2(3) = ?;
DECLARE @UltimoError NVARCHAR(4000) = CAST(? AS NVARCHAR(MAX));
DECLARE @Filas INT;
UPDATE dbo.EstadoServicios WITH (UPDLOCK, HOLDLOCK)
SET Version = @Version, Rol = @Rol, Inicio = @Inicio, UltimoLatido = @Ahora,
    UltimoCicloOk = @UltimoCicloOk, UltimoError = @UltimoError
WHERE Servicio = @Servicio AND Host = @Host AND Pid = @Pid;
SET @Filas = @@ROWCOUNT;
IF @Filas = 0
BEGIN
    INSERT INTO dbo.EstadoServicios (Servicio, Host, Pid, Version, Rol, Inicio, UltimoLatido, UltimoCicloOk,
                                     UltimoError)
    VALUES (@Servicio, @Host, @Pid, @Version, @Rol, @Inicio, @Ahora, @UltimoCicloOk, @UltimoError);
    SET @Filas = @@ROWCOUNT;
END;
SELECT @Filas AS Filas;""",
    sqlite=(
        "INSERT INTO EstadoServicios (Servicio, Host, Pid, Version, Rol, Inicio, UltimoLatido, UltimoCicloOk, "
        "UltimoError) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (Servicio, Host, Pid) DO UPDATE SET Version = excluded.Version, Rol = excluded.Rol, "
        "Inicio = excluded.Inicio, UltimoLatido = excluded.UltimoLatido, "
        "UltimoCicloOk = excluded.UltimoCicloOk, UltimoError = excluded.UltimoError"
    ),
    filas="select",
)
sentencias.registrar(
    "latido.retirar",
    tsql="DELETE FROM dbo.EstadoServicios WHERE Servicio = ? AND Host = ? AND Pid = ?",
    sqlite="DELETE FROM EstadoServicios WHERE Servicio = ? AND Host = ? AND Pid = ?",
)
sentencias.registrar(
    "latido.retirar_muertos",
    tsql="""DECLARE @Servicio NVARCHAR(20) = ?;
DECLARE @Host NVARCHAR(255) = ?;
DECLARE @Pid INT = ?;
DECLARE @Corte DATETIME2(3) = ?;
DELETE FROM dbo.EstadoServicios
WHERE Servicio = @Servicio AND Host = @Host AND Pid <> @Pid AND UltimoLatido < @Corte;
SELECT @@ROWCOUNT AS Filas;""",
    sqlite="DELETE FROM EstadoServicios WHERE Servicio = ? AND Host = ? AND Pid <> ? AND UltimoLatido < ?",
    filas="select",
)
sentencias.registrar(
    "latido.leer",
    tsql="SELECT UltimoLatido FROM dbo.EstadoServicios WHERE Servicio = ? AND Host = ? AND Pid = ?",
    sqlite="SELECT UltimoLatido FROM EstadoServicios WHERE Servicio = ? AND Host = ? AND Pid = ?",
)


def rol_por_defecto(servicio: str) -> Callable[[], str]:
    """The role source: :func:`common.liderazgo.rol_actual` of ``servicio`` (``activo`` when HA is off
    or the service has no election)."""
    try:
        from common import liderazgo
    except ImportError:  # a tree without leader election: one instance, always active
        return lambda: "activo"
    return lambda: liderazgo.rol_actual(servicio)


def texto_error(cuando: datetime, tarea: str, exc: BaseException, secretos: tuple[str, ...] = ()) -> str:
    """``UltimoError``: time, job and exception, redacted and cut to the column size."""
    texto = f"{cuando:%Y-%m-%d %H:%M:%S} {tarea}: {type(exc).__name__}: {exc}"
    return redactar(texto, secretos)[:MAX_ERROR]


class Latido:
    """The heartbeat of one process. Thread-safe; :meth:`latir` never raises."""

    def __init__(self, db: Any, servicio: str, *, clock: Any, rol: Callable[[], str] | None = None,
                 host: str | None = None, pid: int | None = None, secretos: tuple[str, ...] = (),
                 logger: logging.Logger | None = None) -> None:
        if servicio not in SERVICIOS:
            raise ValueError(f"servicio desconocido para EstadoServicios: {servicio!r}")
        self.db = db
        self.servicio = servicio
        self.clock = clock
        self.rol = rol or rol_por_defecto(servicio)
        self.host = (host or socket.gethostname() or "?")[:255]
        self.pid = int(os.getpid() if pid is None else pid)
        self.version = __version__
        self.secretos = tuple(s for s in secretos if s)
        self.log = logger or _log
        self.inicio = clock.now_local()
        self.ultimo_ciclo_ok: datetime | None = None
        self.ultimo_error: str | None = None
        self.ultimo_escrito: datetime | None = None
        self.fallos = 0
        self._lock = threading.Lock()

    @property
    def clave(self) -> tuple[str, str, int]:
        return (self.servicio, self.host, self.pid)

    # -- fed by the runner -----------------------------------------------------------------------
    def observar(self, tarea: str, _segundos: float, error: BaseException | None) -> None:
        """Runner observer: a job run ended (``error`` None = without exception)."""
        if tarea == TAREA:
            return
        ahora = self.clock.now_local()
        with self._lock:
            if error is None:
                self.ultimo_ciclo_ok = ahora
            else:
                self.ultimo_error = texto_error(ahora, tarea, error, self.secretos)

    def _rol(self) -> str:
        try:
            valor = str(self.rol())
        except Exception:  # noqa: BLE001 - an unknown role is reported as such, never raised
            return "activo"
        return valor if valor in ROLES else "activo"

    # -- writing ---------------------------------------------------------------------------------
    def latir(self) -> bool:
        """Write this process' row; True when written. Never raises."""
        rol = self._rol()
        metricas.rol(rol)
        ahora = self.clock.now_local()
        with self._lock:
            params = (*self.clave, self.version, rol, self.inicio, ahora, self.ultimo_ciclo_ok, self.ultimo_error)
        try:
            sentencias.ejecutar(self.db, "latido.escribir", params)
        except Exception as exc:  # noqa: BLE001 - a heartbeat never stops the service
            self.fallos += 1
            nivel = logging.WARNING if self.fallos == 1 else logging.DEBUG
            self.log.log(nivel, "No se pudo escribir el latido en EstadoServicios (%s); se reintenta en el "
                         "próximo latido.", redactar(str(exc), self.secretos))
            return False
        if self.fallos:
            self.log.info("El latido vuelve a escribirse en EstadoServicios tras %d %s.", self.fallos,
                          "fallo" if self.fallos == 1 else "fallos")
            self.fallos = 0
        self.ultimo_escrito = ahora
        return True

    def retirar_muertos(self, intervalo_s: float) -> int:
        """Remove rows of this service and host that stopped beating (dead processes)."""
        corte = self.clock.now_local() - timedelta(seconds=LATIDOS_PARA_DAR_POR_MUERTO * intervalo_s)
        try:
            n = sentencias.ejecutar(self.db, "latido.retirar_muertos", (self.servicio, self.host, self.pid, corte))
        except Exception as exc:  # noqa: BLE001
            self.log.debug("No se pudieron retirar los latidos antiguos: %s", exc)
            return 0
        if n:
            self.log.info("EstadoServicios: retiradas %d filas de procesos de %s en %s que ya no laten.",
                          n, self.servicio, self.host)
        return n

    def retirar(self) -> None:
        """Remove this process' row (clean stop)."""
        try:
            sentencias.ejecutar(self.db, "latido.retirar", self.clave)
        except Exception as exc:  # noqa: BLE001
            self.log.warning("No se pudo retirar la fila de EstadoServicios al detener el servicio: %s",
                             redactar(str(exc), self.secretos))

    def edad_segundos(self) -> float | None:
        """Age (s) of this process' row as stored in the DB; None when there is none. Raises on DB errors."""
        fila = self.db.query_one(sentencias.sql(self.db, "latido.leer"), self.clave)
        if not fila or fila["UltimoLatido"] is None:
            return None
        ultimo = fila["UltimoLatido"]
        if isinstance(ultimo, str):
            ultimo = datetime.fromisoformat(ultimo)
        return max(0.0, round((self.clock.now_local() - ultimo).total_seconds(), 3))


def instalar(runner: Any, db: Any, servicio: str, cfg: Any, *, clock: Any, rol: Callable[[], str] | None = None,
             logger: logging.Logger | None = None) -> Latido:
    """Give ``runner`` the heartbeat of ``servicio``: the ``latido`` job every ``SAM_LATIDO_SEG``
    (also at start), the job observer and the shutdown hook that removes the row."""
    from common.utils.config_manager import ajuste

    secretos = tuple(cfg.secrets()) if hasattr(cfg, "secrets") else ()
    latido = Latido(db, servicio, clock=clock, rol=rol, secretos=secretos, logger=logger)
    intervalo = float(ajuste(cfg, "SAM_LATIDO_SEG"))
    latido.retirar_muertos(intervalo)
    runner.observar_tareas(latido.observar)
    runner.add_job(TAREA, intervalo, latido.latir)
    runner.add_shutdown_hook(latido.retirar)
    return latido
