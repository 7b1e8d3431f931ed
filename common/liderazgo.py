"""Leader election of the Lanzador and the Balanceador through the SAM DB (BEHAVIOUR §15, H1-H3).

One implementation for both roles (``servicio`` is ``"lanzador"`` or ``"balanceador"``):

- **SQL Server**: a session app lock, ``sp_getapplock @Resource = 'SAM-<servicio>', @LockMode =
  'Exclusive', @LockOwner = 'Session', @LockTimeout = 0``, taken on a connection of its own (a
  private ``DatabaseClient`` whose statements all run on one worker thread of the election, so the
  same session takes, checks and releases the lock and no job ever shares it). A lost connection
  is a lost lock: renewing asks ``APPLOCK_MODE`` on that connection, and a reconnected session
  answers ``NoLock``. The ``dbo.Liderazgo`` row is written by the holder only to say who holds the
  role (host, pid, since when) for the refusal message and for operators.
- **SQLite**: the ``Liderazgo`` row *is* the lease. Taking and renewing are one conditional
  UPSERT (:data:`SQL_TOMAR`): it writes the row only when it is ours or its ``ExpiraUtc`` has
  passed. Times are the database's own UTC clock (no DST, one clock for every process).

Timing, with ``L = HA_LEASE_SEG``: the holder renews every ``L/3``; it stops taking new work when
``2L/3`` have passed since the *start* of its last successful renewal (H3), which is before its
lease can expire (``L`` after that renewal reached the database). On SQL Server a newly elected
leader waits ``2L/3`` before working, so a leader whose session was killed without it noticing
has given up by then. A standby retries at the lease's expiry (SQLite) or every ``L/3``.

Fencing (H3): with HA on, the work itself is conditional in the DB on this process still being
the holder recorded in ``Liderazgo`` (:class:`Cerco`, :data:`CONDICION_CERCO`,
:func:`comprobar_cerco`): the Lanzador's intent insert embeds the condition, the Balanceador's plan
transaction checks it first; a refusal is :class:`LiderazgoPerdido`.

With ``HA_HABILITADO=false`` the same lock/lease makes a second instance refuse to start
(:class:`RolOcupado`, naming host and pid of the holder); the running one keeps working through
DB outages as in Part 1 (role ``activo``), but stops if it ever finds another holder. A holder that
is gone is no reason to refuse (a restart after kill -9 or a crash, :func:`decidir_arranque`): on
this host, a pid that no longer runs, or runs a process younger than the lease's last renewal (a
reused pid; :func:`estado_proceso`, psutil), is taken over at once; a holder on another host that
stopped renewing is waited for until its lease ends. With HA on nothing of this applies: a standby
on the same host still waits for the lease (failover timing is the same wherever the leader ran).

Read-only API for other components (heartbeats in ``EstadoServicios.Rol``, the ``sam_lider``
metric)::

    from common import liderazgo
    liderazgo.rol_actual()               # "lider" | "espera" | "activo" for this process
    liderazgo.rol_actual("balanceador")  # of one role, when a process holds several
    liderazgo.es_lider()                 # True when this process may do the role's work now

A process without election (the callback server, the console) is ``"activo"``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from common.database.sentencias import dialecto, registrar, sql
from common.database.sql_client import DatabaseError

_log = logging.getLogger("sam.liderazgo")

ROL_LIDER = "lider"
ROL_ESPERA = "espera"
ROL_ACTIVO = "activo"
ROLES = (ROL_LIDER, ROL_ESPERA, ROL_ACTIVO)

#: Fraction of the lease after the last successful renewal at which a leader stops taking work.
FRACCION_ABANDONO = 2.0 / 3.0
#: Fraction of the lease between renewals.
FRACCION_RENOVACION = 1.0 / 3.0

# ---------------------------------------------------------------------------------------------
# SQL (both engines; the T-SQL app-lock statements exist on SQL Server only)
# ---------------------------------------------------------------------------------------------

SQL_TOMAR = """
INSERT INTO Liderazgo (Rol, Titular, Host, Pid, DesdeUtc, RenovadoUtc, ExpiraUtc)
VALUES (?, ?, ?, ?, strftime('%Y-%m-%d %H:%M:%f', 'now'), strftime('%Y-%m-%d %H:%M:%f', 'now'),
        strftime('%Y-%m-%d %H:%M:%f', julianday('now') + ? / 86400.0))
ON CONFLICT (Rol) DO UPDATE SET
    DesdeUtc = CASE WHEN Liderazgo.Titular = excluded.Titular THEN Liderazgo.DesdeUtc ELSE excluded.DesdeUtc END,
    Titular = excluded.Titular,
    Host = excluded.Host,
    Pid = excluded.Pid,
    RenovadoUtc = excluded.RenovadoUtc,
    ExpiraUtc = excluded.ExpiraUtc
WHERE Liderazgo.Titular = excluded.Titular OR Liderazgo.ExpiraUtc <= excluded.RenovadoUtc
"""
registrar("liderazgo.tomar", tsql=None, sqlite=SQL_TOMAR)

registrar(
    "liderazgo.bloqueo_tomar",
    tsql="""
DECLARE @recurso NVARCHAR(255) = ?;
DECLARE @resultado INT;
EXEC @resultado = sys.sp_getapplock @Resource = @recurso, @LockMode = 'Exclusive', @LockOwner = 'Session',
    @LockTimeout = 0;
SELECT @resultado AS Resultado;
""",
    sqlite=None,
)
registrar(
    "liderazgo.bloqueo_modo",
    tsql="SELECT APPLOCK_MODE('public', CAST(? AS NVARCHAR(255)), 'Session') AS Modo",
    sqlite=None,
)
registrar(
    "liderazgo.bloqueo_soltar",
    tsql="""
DECLARE @recurso NVARCHAR(255) = ?;
IF APPLOCK_MODE('public', @recurso, 'Session') <> 'NoLock'
    EXEC sys.sp_releaseapplock @Resource = @recurso, @LockOwner = 'Session';
""",
    sqlite=None,
)
# SQL Server: the holder (and only the holder: it owns the app lock) writes who holds the role.
registrar(
    "liderazgo.anotar",
    tsql="""
MERGE dbo.Liderazgo WITH (HOLDLOCK) AS d
USING (SELECT CAST(? AS NVARCHAR(50)) AS Rol, CAST(? AS NVARCHAR(200)) AS Titular,
              CAST(? AS NVARCHAR(255)) AS Host, CAST(? AS INT) AS Pid, CAST(? AS FLOAT) AS Lease) AS s
    ON d.Rol = s.Rol
WHEN MATCHED THEN UPDATE SET
    DesdeUtc = CASE WHEN d.Titular = s.Titular THEN d.DesdeUtc ELSE SYSUTCDATETIME() END,
    Titular = s.Titular, Host = s.Host, Pid = s.Pid, RenovadoUtc = SYSUTCDATETIME(),
    ExpiraUtc = DATEADD(MILLISECOND, CAST(s.Lease * 1000 AS INT), SYSUTCDATETIME())
WHEN NOT MATCHED THEN INSERT (Rol, Titular, Host, Pid, DesdeUtc, RenovadoUtc, ExpiraUtc)
    VALUES (s.Rol, s.Titular, s.Host, s.Pid, SYSUTCDATETIME(), SYSUTCDATETIME(),
            DATEADD(MILLISECOND, CAST(s.Lease * 1000 AS INT), SYSUTCDATETIME()));
""",
    sqlite=None,
)
# Restante: seconds until the lease ends; Antiguedad: seconds since its last renewal (DB clock).
registrar(
    "liderazgo.titular",
    tsql="SELECT Titular, Host, Pid, DesdeUtc, RenovadoUtc, ExpiraUtc, "
    "CAST(DATEDIFF_BIG(MILLISECOND, SYSUTCDATETIME(), ExpiraUtc) / 1000.0 AS FLOAT) AS Restante, "
    "CAST(DATEDIFF_BIG(MILLISECOND, RenovadoUtc, SYSUTCDATETIME()) / 1000.0 AS FLOAT) AS Antiguedad "
    "FROM dbo.Liderazgo WHERE Rol = ?",
    sqlite="SELECT Titular, Host, Pid, DesdeUtc, RenovadoUtc, ExpiraUtc, "
    "(julianday(ExpiraUtc) - julianday('now')) * 86400.0 AS Restante, "
    "(julianday('now') - julianday(RenovadoUtc)) * 86400.0 AS Antiguedad FROM Liderazgo WHERE Rol = ?",
)
# SQLite, HA off: take the role over from a holder found dead (issue 14). Conditional on the row
# still naming that holder, so of two instances restarting at once only one takes it. On SQL Server
# the app lock is the truth: a dead holder's session lock goes with its connection.
registrar(
    "liderazgo.relevar",
    tsql=None,
    sqlite="""
UPDATE Liderazgo SET Titular = ?, Host = ?, Pid = ?,
    DesdeUtc = strftime('%Y-%m-%d %H:%M:%f', 'now'), RenovadoUtc = strftime('%Y-%m-%d %H:%M:%f', 'now'),
    ExpiraUtc = strftime('%Y-%m-%d %H:%M:%f', julianday('now') + ? / 86400.0)
WHERE Rol = ? AND Titular = ?
""",
)
# A clean stop hands the role over at once: the lease ends now (only if it is still ours).
registrar(
    "liderazgo.soltar",
    tsql="UPDATE dbo.Liderazgo SET ExpiraUtc = SYSUTCDATETIME() WHERE Rol = ? AND Titular = ?",
    sqlite="UPDATE Liderazgo SET ExpiraUtc = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE Rol = ? AND Titular = ?",
)


# ---------------------------------------------------------------------------------------------
# Fencing (H3): the work itself is conditional, in the DB, on this process still holding the role
# ---------------------------------------------------------------------------------------------

#: The holder test a fenced write embeds (two parameters: Rol, Titular). On SQL Server the read
#: keeps its lock until the write's transaction ends, so a takeover (the new holder's MERGE of the
#: row) waits for it and every write is ordered wholly before or wholly after the takeover; on
#: SQLite the write transaction (BEGIN IMMEDIATE) holds the database.
CONDICION_CERCO = {
    "tsql": "EXISTS (SELECT 1 FROM dbo.Liderazgo AS l WITH (UPDLOCK, HOLDLOCK) WHERE l.Rol = ? AND "
            "l.Titular = ? AND l.ExpiraUtc > SYSUTCDATETIME())",
    "sqlite": "EXISTS (SELECT 1 FROM Liderazgo AS l WHERE l.Rol = ? AND l.Titular = ? AND "
              "l.ExpiraUtc > strftime('%Y-%m-%d %H:%M:%f', 'now'))",
}
registrar(
    "liderazgo.cerco",
    tsql=f"SELECT CASE WHEN {CONDICION_CERCO['tsql']} THEN 1 ELSE 0 END AS Titular",
    sqlite=f"SELECT CASE WHEN {CONDICION_CERCO['sqlite']} THEN 1 ELSE 0 END AS Titular",
)


@dataclass(frozen=True)
class Cerco:
    """Fencing token of one role: the ``Titular`` this process writes in the ``Liderazgo`` row.
    A fenced write succeeds only while that row still names it (and, on both engines, has not
    expired); a process that lost the role without knowing it writes nothing."""

    servicio: str
    titular: str

    def parametros(self) -> tuple[str, str]:
        return (self.servicio, self.titular)


class LiderazgoPerdido(Exception):
    """A fenced write found another holder in ``Liderazgo``: this process is no longer the leader."""

    def __init__(self, servicio: str, que: str) -> None:
        self.servicio = servicio
        super().__init__(f"la base de datos SAM no reconoce a este {_NOMBRES.get(servicio, servicio)} como líder: "
                         f"no se ha hecho {que}")


def comprobar_cerco(tx: Any, cerco: Cerco | None, que: str) -> None:
    """Inside a write transaction, before its writes: raise :class:`LiderazgoPerdido` (the caller's
    transaction then rolls back) unless ``cerco`` still holds the role. ``None`` (no election, or
    HA off) checks nothing."""
    if cerco is None:
        return
    fila = tx.query_one(sql(tx, "liderazgo.cerco"), cerco.parametros())
    if not fila or not int(fila.get("Titular") or 0):
        raise LiderazgoPerdido(cerco.servicio, que)


# ---------------------------------------------------------------------------------------------
# The holder of a role, and the refusal of a second instance
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Titular:
    """Who holds a role, from the ``Liderazgo`` row (times in UTC)."""

    titular: str
    host: str
    pid: int
    desde: Any = None
    renovado: Any = None
    expira: Any = None
    restante_s: float | None = None
    antiguedad_s: float | None = None  # seconds since the last renewal (DB clock)

    def describir(self) -> str:
        texto = f"servidor {self.host}, proceso {self.pid}"
        if self.renovado is not None:
            texto += f", última renovación {_hora(self.renovado)} UTC"
        return texto


def _hora(valor: Any) -> str:
    return valor.strftime("%Y-%m-%d %H:%M:%S") if hasattr(valor, "strftime") else str(valor)[:19]


class RolOcupado(Exception):
    """HA off and the role is held by another instance: this one must not start."""

    def __init__(self, servicio: str, titular: Titular | None) -> None:
        self.servicio = servicio
        self.titular = titular
        quien = titular.describir() if titular else "otra instancia (sin datos en dbo.Liderazgo)"
        super().__init__(
            f"Ya hay un {_NOMBRES.get(servicio, servicio)} en marcha sobre esta base de datos SAM ({quien}). "
            "Con HA_HABILITADO=false sólo puede haber una instancia: detenga la otra o active "
            "HA_HABILITADO=true en los dos servidores."
        )


_NOMBRES = {"lanzador": "Lanzador", "balanceador": "Balanceador"}

# ---------------------------------------------------------------------------------------------
# Pure core: what the state allows, and the state after an attempt
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estado:
    """What this process knows about its hold on the role (times on the monotonic clock)."""

    tiene: bool = False               # the last attempt took/renewed it (or no attempt said otherwise)
    ultimo_ok: float | None = None    # start of the last successful take/renew
    trabajo_desde: float = 0.0        # a new leader may work from here (SQL Server grace)
    desplazado: bool = False          # HA off: another instance was found holding the role


def puede_trabajar(estado: Estado, ahora: float, lease_s: float, ha: bool) -> bool:
    """H2/H3: may this process start new work of the role at ``ahora``?"""
    if not ha:
        return not estado.desplazado
    if not estado.tiene or estado.ultimo_ok is None:
        return False
    return estado.trabajo_desde <= ahora < estado.ultimo_ok + FRACCION_ABANDONO * lease_s


def rol(estado: Estado, ahora: float, lease_s: float, ha: bool) -> str:
    if not ha:
        return ROL_ACTIVO if not estado.desplazado else ROL_ESPERA
    return ROL_LIDER if puede_trabajar(estado, ahora, lease_s, ha) else ROL_ESPERA


def tras_intento(estado: Estado, tomado: bool | None, inicio: float, *, ha: bool, gracia_s: float) -> Estado:
    """The state after an attempt started at ``inicio``: ``True`` taken/renewed, ``False`` held by
    someone else (or our lock was lost), ``None`` the database could not answer (nothing learnt:
    the deadline of the last success keeps running)."""
    if tomado is None:
        return estado
    if not tomado:
        return replace(estado, tiene=False, desplazado=(not ha) or estado.desplazado)
    if estado.tiene and estado.ultimo_ok is not None:
        return replace(estado, ultimo_ok=inicio)
    return replace(estado, tiene=True, ultimo_ok=inicio, trabajo_desde=inicio + gracia_s, desplazado=False)


def espera_siguiente(estado: Estado, lease_s: float, restante_s: float | None) -> float:
    """Seconds until the next attempt: a holder renews every third of the lease; a standby tries
    again right after the lease it saw ends (never later than a third of the lease)."""
    tercio = FRACCION_RENOVACION * lease_s
    if estado.tiene or restante_s is None:
        return tercio
    return min(tercio, max(0.1, restante_s + 0.05))


# -- HA off, the role found taken at start-up (issue 14): a dead holder is no reason to refuse ------

PROCESO_VIVO = "vivo"                # the holder's pid runs and is (as far as we can tell) the holder
PROCESO_MUERTO = "muerto"            # no such pid, or a process started after the lease's last renewal
PROCESO_DESCONOCIDO = "desconocido"  # another host, or this host could not tell

ARRANQUE_RECHAZAR = "rechazar"   # a live holder: refuse to start (RolOcupado, exit 3)
ARRANQUE_RELEVAR = "relevar"     # the holder is dead: take the role now
ARRANQUE_ESPERAR = "esperar"     # the lease is not being renewed: wait for it to end, then take it

#: Clock slack when telling a reused pid from the holder (process age against lease age).
HOLGURA_PID_S = 1.0


@dataclass(frozen=True)
class DecisionArranque:
    accion: str
    espera_s: float = 0.0


def mismo_host(a: str, b: str) -> bool:
    """Host names as Windows compares them (case-insensitive)."""
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def es_otro_proceso(edad_proceso_s: float, antiguedad_lease_s: float | None) -> bool:
    """A process younger than the lease's last renewal cannot be the holder that renewed it: the pid
    was reused after the holder died. Both are intervals, so the DB's and this host's clocks need not
    agree."""
    if antiguedad_lease_s is None:
        return False
    return edad_proceso_s + HOLGURA_PID_S < antiguedad_lease_s


def se_renueva(titular: Titular, lease_s: float) -> bool:
    """The holder's lease is alive and was renewed within two renewal periods."""
    if titular.restante_s is None or titular.antiguedad_s is None:
        return True  # nothing to go by: as if it were renewed
    return titular.restante_s > 0 and titular.antiguedad_s <= 2 * FRACCION_RENOVACION * lease_s


def decidir_arranque(titular: Titular | None, *, host: str, proceso: str, lease_s: float) -> DecisionArranque:
    """HA off, the role is held by someone else at start-up: refuse, take it over, or wait for it.

    - holder on this host whose process is gone (or whose pid now belongs to a younger process):
      take over at once;
    - holder on this host whose process runs: refuse (a second instance);
    - holder elsewhere (or unknown) renewing its lease: refuse;
    - holder elsewhere no longer renewing: wait until its lease ends, then take it.
    """
    tercio = FRACCION_RENOVACION * lease_s
    if titular is None:  # SQL Server: the lock is held but nobody wrote the row yet
        return DecisionArranque(ARRANQUE_ESPERAR, tercio)
    if mismo_host(titular.host, host) and proceso == PROCESO_MUERTO:
        return DecisionArranque(ARRANQUE_RELEVAR)
    if mismo_host(titular.host, host) and proceso == PROCESO_VIVO:
        return DecisionArranque(ARRANQUE_RECHAZAR)
    if se_renueva(titular, lease_s):
        return DecisionArranque(ARRANQUE_RECHAZAR)
    restante = titular.restante_s or 0.0
    # expired already (SQL Server: the row is stale but the lock is still held): try again soon
    return DecisionArranque(ARRANQUE_ESPERAR, restante + 0.05 if restante > 0 else tercio)


# ---------------------------------------------------------------------------------------------
# Engines
# ---------------------------------------------------------------------------------------------


class _MotorSqlite:
    """The lease row is the lease."""

    def __init__(self, db: Any, servicio: str, titular: str, host: str, pid: int, lease_s: float) -> None:
        self.db, self.servicio, self.titular, self.host, self.pid, self.lease_s = db, servicio, titular, host, pid, lease_s

    def intentar(self) -> bool:
        filas = self.db.execute(sql(self.db, "liderazgo.tomar"),
                                (self.servicio, self.titular, self.host, self.pid, float(self.lease_s)))
        return filas > 0

    def relevar(self, anterior: Titular) -> bool:
        filas = self.db.execute(sql(self.db, "liderazgo.relevar"),
                                (self.titular, self.host, self.pid, float(self.lease_s), self.servicio,
                                 anterior.titular))
        return filas > 0

    def soltar(self) -> None:
        self.db.execute(sql(self.db, "liderazgo.soltar"), (self.servicio, self.titular))


class _MotorSqlServer:
    """A session app lock held by ONE connection. ``DatabaseClient`` keeps one connection per thread,
    so every statement of the lock (take, check, note, release) runs on this motor's own worker
    thread, whichever thread asks: start-up on the main thread, renewals on the election's, the
    release at shutdown. Otherwise a renewal would ask ``APPLOCK_MODE`` from a session that never
    took the lock (``NoLock``) while the main thread's session still held it: the only instance
    would demote itself a third of a lease after starting."""

    def __init__(self, db: Any, servicio: str, titular: str, host: str, pid: int, lease_s: float) -> None:
        self.db, self.servicio, self.titular, self.host, self.pid, self.lease_s = db, servicio, titular, host, pid, lease_s
        self.recurso = f"SAM-{servicio}"
        self._tomado = False
        self._sesion = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sam-applock-{servicio}")

    def _en_su_sesion(self, fn: Callable[[], Any]) -> Any:
        return self._sesion.submit(fn).result()

    def intentar(self) -> bool:
        return bool(self._en_su_sesion(self._intentar))

    def _intentar(self) -> bool:
        if self._tomado:
            fila = self.db.query_one(sql(self.db, "liderazgo.bloqueo_modo"), (self.recurso,))
            self._tomado = bool(fila) and str(fila.get("Modo") or "NoLock") != "NoLock"
        if not self._tomado:
            fila = self.db.query_one(sql(self.db, "liderazgo.bloqueo_tomar"), (self.recurso,))
            # 0 granted at once, 1 granted after waiting; -1 timeout (held), -2/-3 cancelled/deadlock.
            self._tomado = bool(fila) and int(fila.get("Resultado", -1)) >= 0
        if self._tomado:
            self.db.execute(sql(self.db, "liderazgo.anotar"),
                            (self.servicio, self.titular, self.host, self.pid, float(self.lease_s)))
        return self._tomado

    def relevar(self, anterior: Titular) -> bool:
        """The row is only informational here: the dead holder's lock is released by SQL Server
        when its connection closes, so taking over is asking for the lock again (polled)."""
        return self.intentar()

    def soltar(self) -> None:
        self._en_su_sesion(self._soltar)

    def _soltar(self) -> None:
        if self._tomado:
            self.db.execute(sql(self.db, "liderazgo.soltar"), (self.servicio, self.titular))
            self.db.execute(sql(self.db, "liderazgo.bloqueo_soltar"), (self.recurso,))
        self._tomado = False


def leer_titular(db: Any, servicio: str) -> Titular | None:
    fila = db.query_one(sql(db, "liderazgo.titular"), (servicio,))
    if not fila:
        return None
    restante, antiguedad = fila.get("Restante"), fila.get("Antiguedad")
    return Titular(str(fila.get("Titular") or ""), str(fila.get("Host") or "?"), int(fila.get("Pid") or 0),
                   fila.get("DesdeUtc"), fila.get("RenovadoUtc"), fila.get("ExpiraUtc"),
                   float(restante) if restante is not None else None,
                   float(antiguedad) if antiguedad is not None else None)


def estado_proceso(pid: int, antiguedad_lease_s: float | None) -> str:
    """Is ``pid`` on this host still the holder that last renewed a lease ``antiguedad_lease_s``
    seconds ago? psutil answers on Windows and POSIX alike (no ``os.kill(pid, 0)``)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is in requirements.txt
        return PROCESO_DESCONOCIDO
    if pid <= 0:
        return PROCESO_DESCONOCIDO
    try:
        proceso = psutil.Process(pid)
        if proceso.status() == psutil.STATUS_ZOMBIE:  # POSIX: exited, not yet reaped
            return PROCESO_MUERTO
        edad = time.time() - proceso.create_time()
    except psutil.NoSuchProcess:  # ZombieProcess included
        return PROCESO_MUERTO
    except (psutil.AccessDenied, OSError):
        return PROCESO_DESCONOCIDO  # it exists and we may not look at it: not ours to judge
    return PROCESO_MUERTO if es_otro_proceso(edad, antiguedad_lease_s) else PROCESO_VIVO


# ---------------------------------------------------------------------------------------------
# The process' election (a thread of its own)
# ---------------------------------------------------------------------------------------------

#: Fault injection for the tests only (tests/test_ha_perdida_bd.py): while the file this variable
#: names exists, this process' election cannot reach the SAM DB (each attempt fails as a lost
#: connection) while its other connections keep working - one process losing the DB on a SQLite
#: file that every process shares. Unset in production.
ENV_CORTE_PRUEBA = "SAM_TEST_LIDERAZGO_CORTE"


def _corte_de_prueba() -> None:
    ruta = os.environ.get(ENV_CORTE_PRUEBA)
    if ruta and Path(ruta).exists():
        raise DatabaseError(f"Error de base de datos SAM: sin conexión (corte de prueba {ENV_CORTE_PRUEBA})",
                            retryable=True, connection_lost=True)


_ACTUALES: dict[str, Liderazgo] = {}
_ACTUALES_LOCK = threading.Lock()


def rol_actual(servicio: str | None = None) -> str:
    """``"lider"``, ``"espera"`` or ``"activo"`` of this process (of ``servicio`` if given)."""
    with _ACTUALES_LOCK:
        if servicio is not None:
            actual = _ACTUALES.get(servicio)
        else:
            actual = next(iter(_ACTUALES.values()), None) if len(_ACTUALES) == 1 else None
    return actual.rol() if actual is not None else ROL_ACTIVO


def es_lider(servicio: str | None = None) -> bool:
    """True when this process may do the role's work now (``lider`` or, HA off, ``activo``)."""
    return rol_actual(servicio) != ROL_ESPERA


class Liderazgo:
    """The election of one role in this process: :meth:`arrancar`, then :meth:`puede_trabajar`
    before any new work, :meth:`detener` at shutdown."""

    def __init__(self, db: Any, servicio: str, *, ha: bool, lease_s: float, alerts: Any = None,
                 logger: logging.Logger | None = None, monotonic: Callable[[], float] = time.monotonic,
                 host: str | None = None, pid: int | None = None,
                 proceso: Callable[[int, float | None], str] = estado_proceso) -> None:
        self.db = db
        self.servicio = servicio
        self.ha = bool(ha)
        self.lease_s = float(lease_s)
        self.alerts = alerts
        self.log = logger or _log
        self.host = host or socket.gethostname()
        self.pid = int(pid if pid is not None else os.getpid())
        self.titular = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:12]}"
        self._monotonic = monotonic
        self._proceso = proceso  # is a holder's pid on this host still that holder (estado_proceso)
        motor = _MotorSqlite if dialecto(db) != "tsql" else _MotorSqlServer
        self.motor = motor(db, servicio, self.titular, self.host, self.pid, self.lease_s)
        # SQL Server: a new leader waits until a leader that lost its session has given up (H3).
        self.gracia_s = FRACCION_ABANDONO * self.lease_s if motor is _MotorSqlServer and self.ha else 0.0
        self.estado = Estado(tiene=not self.ha)
        self._lock = threading.Lock()
        self._parar = threading.Event()
        self._hilo: threading.Thread | None = None
        self._rol_anunciado: str | None = None
        self._restante: float | None = None
        self.intentos = 0
        self.cambios = 0
        #: Terms of office: how many times this process took the role (not counting renewals).
        self.mandatos = 0
        #: Called (in the election's thread) each time this process takes the role after not holding it.
        self.al_tomar: list[Callable[[], Any]] = []

    @classmethod
    def from_config(cls, cfg: Any, servicio: str, *, alerts: Any = None,
                    logger: logging.Logger | None = None) -> Liderazgo:
        """With a private client of the SAM DB (its connection holds the app lock on SQL Server)."""
        from common.database.sql_client import DatabaseClient
        from common.utils.config_manager import ajuste

        db = DatabaseClient.from_config(cfg, "SAM")
        db.max_retries = 0  # a failed renewal is a fact to act on, not something to hide behind retries
        return cls(db, servicio, ha=bool(ajuste(cfg, "HA_HABILITADO")), lease_s=float(ajuste(cfg, "HA_LEASE_SEG")),
                   alerts=alerts, logger=logger)

    # -- state ------------------------------------------------------------------------------
    def cerco(self) -> Cerco | None:
        """The fencing token of this process' work (H3), or None with HA off: a single instance
        keeps working through DB outages and lease gaps as in Part 1, so nothing is fenced."""
        return Cerco(self.servicio, self.titular) if self.ha else None

    def puede_trabajar(self) -> bool:
        with self._lock:
            return puede_trabajar(self.estado, self._monotonic(), self.lease_s, self.ha)

    def rol(self) -> str:
        with self._lock:
            return rol(self.estado, self._monotonic(), self.lease_s, self.ha)

    # -- start / stop -----------------------------------------------------------------------
    def arrancar(self) -> str:
        """Take the role without waiting. HA off: :class:`RolOcupado` if another instance holds it.
        Returns the role, logged in Spanish; starts the renewal thread."""
        tomado = self._intentar()
        if tomado is False and not self.ha:
            tomado = self._tomar_si_el_titular_no_sigue()
        if tomado is None and not self.ha:
            self.log.warning("SAM %s: no se pudo comprobar en la base de datos SAM que no haya otra instancia; "
                             "se reintenta cada %.0f s.", self._nombre, FRACCION_RENOVACION * self.lease_s)
        actual = self.rol()
        self._rol_anunciado = actual
        self.log.info("SAM %s: rol %s%s.", self._nombre, _TEXTO_ROL[actual], self._detalle(actual))
        with _ACTUALES_LOCK:
            _ACTUALES[self.servicio] = self
        self._hilo = threading.Thread(target=self._bucle, name=f"{self.servicio}-liderazgo", daemon=True)
        self._hilo.start()
        return actual

    def detener(self) -> None:
        """Stop renewing and hand the role over (the lease ends now; the app lock is released)."""
        self._parar.set()
        if self._hilo is not None and self._hilo is not threading.current_thread():
            self._hilo.join(timeout=max(5.0, self.lease_s))
        try:
            self.motor.soltar()
        except Exception as exc:  # noqa: BLE001 - the lease expires by itself
            self.log.debug("No se pudo soltar el liderazgo: %s", exc)
        with _ACTUALES_LOCK:
            if _ACTUALES.get(self.servicio) is self:
                del _ACTUALES[self.servicio]
        try:
            self.db.close_all()
        except Exception:  # noqa: BLE001, S110 - closing at shutdown
            pass

    # -- the loop ---------------------------------------------------------------------------
    @property
    def _nombre(self) -> str:
        return _NOMBRES.get(self.servicio, self.servicio)

    def _tomar_si_el_titular_no_sigue(self) -> bool | None:
        """HA off and the role is taken at start-up (issue 14): take it over from a dead holder on
        this host, wait (up to one lease) for a holder elsewhere that stopped renewing, or raise
        :class:`RolOcupado` for a live one. Returns the last attempt's answer."""
        limite = time.monotonic() + self.lease_s + 1.0
        anunciado: tuple[str, str] | None = None
        tomado: bool | None = False
        while tomado is False:
            titular = self._leer_titular()
            cerca = titular is not None and mismo_host(titular.host, self.host)
            if cerca and titular.pid == self.pid and titular.titular != self.titular:
                proceso = PROCESO_MUERTO  # our own pid, reused from the dead holder: it cannot be running
            else:
                proceso = self._proceso(titular.pid, titular.antiguedad_s) if cerca else PROCESO_DESCONOCIDO
            decision = decidir_arranque(titular, host=self.host, proceso=proceso, lease_s=self.lease_s)
            if decision.accion == ARRANQUE_RECHAZAR or time.monotonic() >= limite:
                raise RolOcupado(self.servicio, titular)
            if anunciado != (decision.accion, titular.titular if titular else ""):
                anunciado = (decision.accion, titular.titular if titular else "")
                self._anunciar_arranque(decision, titular)
            if decision.accion == ARRANQUE_RELEVAR:
                tomado = self._intentar(relevar=titular)
                espera = 0.5  # SQL Server: the dead session's lock is not released yet
            else:
                tomado, espera = None, decision.espera_s
            if tomado is not True and self._parar.wait(max(0.05, min(espera, limite - time.monotonic()))):
                return tomado
            if tomado is None:
                tomado = self._intentar()
        return tomado

    def _anunciar_arranque(self, decision: DecisionArranque, titular: Titular | None) -> None:
        if decision.accion == ARRANQUE_RELEVAR and titular is not None:
            self.log.warning("SAM %s: El titular anterior (%s, %s) ya no existe: se toma el rol.",
                             self._nombre, titular.host, titular.pid)
        elif titular is not None:
            self.log.warning("SAM %s: el rol lo tiene %s, que no lo renueva; se espera hasta %.0f s a que caduque "
                             "su arrendamiento para tomarlo.", self._nombre, titular.describir(), decision.espera_s)
        else:
            self.log.warning("SAM %s: el rol está tomado en la base de datos SAM sin titular anotado; se espera "
                             "hasta %.0f s.", self._nombre, self.lease_s)

    def _intentar(self, relevar: Titular | None = None) -> bool | None:
        inicio = self._monotonic()
        self.intentos += 1
        try:
            _corte_de_prueba()
            tomado: bool | None = self.motor.intentar() if relevar is None else self.motor.relevar(relevar)
        except DatabaseError as exc:
            tomado = None
            self.log.warning("SAM %s: no se pudo renovar el liderazgo en la base de datos SAM: %s",
                             self._nombre, exc)
        with self._lock:
            antes = self.estado
            self.estado = tras_intento(antes, tomado, inicio, ha=self.ha, gracia_s=self.gracia_s)
            nuevo_mandato = tomado is True and (not antes.tiene or antes.ultimo_ok is None)
        if nuevo_mandato:
            self.mandatos += 1
            for fn in self.al_tomar:
                try:
                    fn()
                except Exception:  # noqa: BLE001 - a listener never stops the election
                    self.log.exception("Error al preparar el trabajo tras tomar el liderazgo.")
        if tomado is False:
            self._restante = self._leer_restante()
        return tomado

    def _leer_titular(self) -> Titular | None:
        try:
            return leer_titular(self.db, self.servicio)
        except DatabaseError:
            return None

    def _leer_restante(self) -> float | None:
        if self.gracia_s:  # SQL Server: the lock has no expiry to wait for
            return None
        titular = self._leer_titular()
        return titular.restante_s if titular is not None else None

    def _bucle(self) -> None:
        while True:
            with self._lock:
                espera = espera_siguiente(self.estado, self.lease_s, self._restante)
                if self.estado.tiene and self.gracia_s:
                    espera = min(espera, max(0.05, self.estado.trabajo_desde - self._monotonic()))
            if self._parar.wait(espera):
                return
            if not (self.estado.tiene and self.gracia_s and self._monotonic() < self.estado.trabajo_desde):
                self._intentar()
            self._anunciar_cambio()

    def vigilar(self) -> None:
        """Log and alert a role change found since the last call (also called by the loop)."""
        self._anunciar_cambio()

    def _anunciar_cambio(self) -> None:
        actual = self.rol()
        previo, self._rol_anunciado = self._rol_anunciado, actual
        if previo is None or previo == actual:
            return
        self.cambios += 1
        detalle = self._detalle(actual)
        if actual == ROL_LIDER:
            self.log.warning("SAM %s: cambio de rol, %s -> líder%s.", self._nombre, _TEXTO_ROL[previo], detalle)
            asunto = f"SAM {self._nombre}: este servidor ({self.host}) pasa a ser el líder"
            cuerpo = (f"El {self._nombre} del servidor {self.host} (proceso {self.pid}) ha tomado el liderazgo y "
                      "empieza a trabajar: el líder anterior dejó de renovarlo (se detuvo, cayó o perdió la "
                      "base de datos SAM).")
            nivel = "WARNING"
        else:
            self.log.error("SAM %s: cambio de rol, %s -> en espera%s. No se toma trabajo nuevo.",
                           self._nombre, _TEXTO_ROL[previo], detalle)
            asunto = f"SAM {self._nombre}: este servidor ({self.host}) deja de ser el líder"
            cuerpo = (f"El {self._nombre} del servidor {self.host} (proceso {self.pid}) no ha podido renovar el "
                      f"liderazgo{detalle} y deja de lanzar trabajo nuevo; sigue en espera y lo retoma cuando "
                      "pueda.")
            nivel = "ERROR"
        if self.alerts is not None:
            try:
                self.alerts.send_alert(f"{self.servicio}:liderazgo:{actual}", asunto, cuerpo, level=nivel,
                                       what_to_check="Los logs del Lanzador/Balanceador de los dos servidores y "
                                       "la conexión de cada uno a la base de datos SAM.")
            except Exception:  # noqa: BLE001 - an alert never stops the election
                self.log.exception("No se pudo enviar la alerta de cambio de rol.")

    def _detalle(self, actual: str) -> str:
        if actual == ROL_LIDER or (actual == ROL_ACTIVO and not self.ha):
            return f" (servidor {self.host}, proceso {self.pid})" if self.ha else ""
        titular = self._leer_titular()
        if titular is None or titular.titular == self.titular:
            return ""
        return f" (el líder es {titular.describir()})"


_TEXTO_ROL = {ROL_LIDER: "líder", ROL_ESPERA: "en espera", ROL_ACTIVO: "activo"}


#: Exit code of a second instance that refuses to start (HA off and the role is taken).
CODIGO_ROL_OCUPADO = 3


def elegir_al_arrancar(cfg: Any, servicio: str, *, alerts: Any = None,
                       logger: logging.Logger | None = None) -> Liderazgo | int:
    """Start the election of ``servicio`` for a service's ``main``: the running :class:`Liderazgo`
    (give it to the runner with ``runner.usar_liderazgo``), or the exit code when this instance must
    not start (HA off and another instance holds the role: Spanish line in the log and on stderr)."""
    from common.cli import salir_con_error

    log = logger or _log
    eleccion = Liderazgo.from_config(cfg, servicio, alerts=alerts, logger=log)
    try:
        eleccion.arrancar()
    except RolOcupado as exc:
        log.error("SAM %s no arranca: %s", _NOMBRES.get(servicio, servicio), exc)
        eleccion.db.close_all()
        return salir_con_error(_NOMBRES.get(servicio, servicio), str(exc), CODIGO_ROL_OCUPADO)
    return eleccion
