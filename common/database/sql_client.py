"""Database client for the SAM DB (SQL Server through pyodbc, or embedded SQLite).

One ``DatabaseClient`` per database per process. Every thread gets its own connection
(``threading.local``); nothing probes the connection before a statement: a broken connection is
detected when a statement fails, dropped, and the retry opens a fresh one.

Retries (exponential backoff) happen only for errors classified as retryable: the configured
SQLSTATEs (``SQL_<P>_CODIGOS_SQLSTATE_REINTENTABLES``), deadlocks (native 1205 / SQLSTATE 40001),
SQLite "database is locked"/busy, and a connection found closed or broken. Statements inside
``transaction()`` are never retried one by one (the server may already have rolled the whole
transaction back); ``run_in_transaction`` retries the whole unit of work instead.

Parameters use the qmark style (``?``) on both engines. Datetimes are naive local ``datetime``
objects in and out; on SQLite they are stored as ISO text ``YYYY-MM-DD HH:MM:SS.ffffff`` and
columns declared ``DATETIME``/``DATETIME2``/``DATE``/``TIME`` come back as Python objects.

Error messages are Spanish and never contain the password or the connection string.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from common import metricas
from common.utils.redaccion import redactar

try:  # pyodbc is a runtime requirement, but SQLite-only installs must still import this module.
    import pyodbc
except ImportError as _exc:  # pragma: no cover - exercised only where pyodbc or libodbc is missing
    # On Linux the wheel imports only where the ODBC driver manager is installed (libodbc.so.2,
    # Debian package unixodbc); on Windows it is part of the OS.
    pyodbc = None  # type: ignore[assignment]
    PYODBC_ERROR: str | None = f"{type(_exc).__name__}: {_exc}"
else:
    PYODBC_ERROR = None

#: Observers of every SQL text sent to a database (``fn(sql)``); the test suite uses one to prove
#: that services run only statements of the SQL registry (common/database/sentencias.py).
OBSERVADORES_SQL: list[Callable[[str], None]] = []

T = TypeVar("T")

logger = logging.getLogger("sam.database")

DEFAULT_RETRYABLE_SQLSTATES: tuple[str, ...] = (
    "08S01",
    "08001",
    "08004",
    "08007",
    "40001",
    "HYT00",
    "HYT01",
)

ENGINES = ("sqlserver", "sqlite", "odbc")

_SQLITE_BUSY_MARKERS = ("database is locked", "database table is locked", "database is busy", "sqlite_busy")
_CONNECTION_LOST_MARKERS = (
    "connection has been closed",
    "closed connection",
    "cannot operate on a closed database",
    "communication link failure",
    "connection is busy",
    "connection failure",
    "tcp provider",
    "connection reset",
    "broken pipe",
)
_DEADLOCK_RE = re.compile(r"\(1205\)|deadlock", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# SQLite datetime adapters and converters (module-level registration, idempotent)
# --------------------------------------------------------------------------------------------


def _adapt_datetime(value: _dt.datetime) -> str:
    if value.tzinfo is not None:
        # SAM stores naive local times; an aware value is a caller bug, but never lose the instant.
        value = value.astimezone().replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _adapt_date(value: _dt.date) -> str:
    return value.isoformat()


def _adapt_time(value: _dt.time) -> str:
    if value.microsecond:
        return value.strftime("%H:%M:%S.%f")
    return value.strftime("%H:%M:%S")


_DT_RE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)
_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*$")


def _micro(frac: str | None) -> int:
    if not frac:
        return 0
    return int((frac + "000000")[:6])


def parse_datetime(text: str | bytes | None) -> _dt.datetime | None:
    """Parse ISO-like text (``T`` or space, 0-9 fraction digits, optional offset) to naive datetime."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    m = _DT_RE.match(text)
    if not m:
        raise ValueError(f"fecha/hora no reconocida: {text!r}")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    value = _dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), _micro(frac))
    if tz:
        sign = 1 if tz[0] == "+" else -1
        if tz == "Z":
            offset = _dt.timedelta(0)
        else:
            digits = tz[1:].replace(":", "")
            offset = sign * _dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        value = value.replace(tzinfo=_dt.timezone(offset)).astimezone().replace(tzinfo=None)
    return value


def parse_time(text: str | bytes | None) -> _dt.time | None:
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    m = _TIME_RE.match(text)
    if not m:
        # A full datetime stored in a TIME column: keep its time part.
        return parse_datetime(text).time()  # type: ignore[union-attr]
    h, mi, s, frac = m.groups()
    return _dt.time(int(h), int(mi), int(s or 0), _micro(frac))


def _safe(conv: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def wrapper(raw: bytes) -> Any:
        try:
            return conv(raw)
        except (ValueError, TypeError):
            # Unexpected content: hand back the text rather than failing the whole query.
            return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw

    return wrapper


def _convert_datetime(raw: bytes) -> _dt.datetime | None:
    return parse_datetime(raw)


def _convert_date(raw: bytes) -> _dt.date | None:
    value = parse_datetime(raw)
    return value.date() if value is not None else None


def _convert_time(raw: bytes) -> _dt.time | None:
    return parse_time(raw)


def register_sqlite_types() -> None:
    """Register adapters/converters on the stdlib ``sqlite3`` module (idempotent)."""
    sqlite3.register_adapter(_dt.datetime, _adapt_datetime)
    sqlite3.register_adapter(_dt.date, _adapt_date)
    sqlite3.register_adapter(_dt.time, _adapt_time)
    for name in ("DATETIME", "DATETIME2", "TIMESTAMP", "SMALLDATETIME"):
        sqlite3.register_converter(name, _safe(_convert_datetime))
    sqlite3.register_converter("DATE", _safe(_convert_date))
    sqlite3.register_converter("TIME", _safe(_convert_time))


register_sqlite_types()


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class DatabaseError(Exception):
    """A database failure with a Spanish, secret-free message.

    Attributes: ``retryable`` (a retry may succeed), ``connection_lost`` (the connection was
    dropped), ``integrity`` (constraint violation, e.g. duplicate key), ``datos`` (a value the
    database cannot store: truncation, conversion, out of range), ``sqlstate`` and ``native_code``
    when known. :attr:`permanente_por_fila` tells a row the database refuses from an unreachable
    database (:func:`es_error_de_fila`).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        connection_lost: bool = False,
        integrity: bool = False,
        sqlstate: str | None = None,
        native_code: int | None = None,
        datos: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.connection_lost = connection_lost
        self.integrity = integrity
        self.datos = datos
        self.sqlstate = sqlstate
        self.native_code = native_code
        #: The error happened while opening the connection (server unreachable, login refused…).
        self.al_conectar = False

    @property
    def permanente_por_fila(self) -> bool:
        """The database refused this row (constraint, duplicate key, truncation, conversion, a
        trigger's refusal): the same write fails again, while other rows and the connection are
        fine. Never true for a connectivity error (those are ``retryable``/``connection_lost``)."""
        return (self.integrity or self.datos) and not (self.retryable or self.connection_lost)


#: SQL Server native errors that refuse one row: duplicate key (2627, 2601), NULL (515), FK/CHECK
#: (547), truncation (8152, 2628), conversion and overflow (245, 241, 8114, 8115, 220). A user error
#: (>= 50000, e.g. a trigger's THROW) refuses the row too.
_NATIVOS_DE_FILA = frozenset({2627, 2601, 515, 547, 8152, 2628, 245, 241, 8114, 8115, 220})


def es_error_de_fila(exc: BaseException) -> bool:
    """True for a permanent per-row error (:attr:`DatabaseError.permanente_por_fila`); False for
    anything else, connectivity included: only those mean "database unavailable"."""
    return isinstance(exc, DatabaseError) and exc.permanente_por_fila


# --------------------------------------------------------------------------------------------
# Connection strings
# --------------------------------------------------------------------------------------------


def odbc_quote(value: str) -> str:
    """Quote an ODBC connection-string value when it needs it (``;``, braces, spaces at ends)."""
    if value == "" or any(c in value for c in ";{}=") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


def build_sqlserver_connection_string(
    *,
    driver: str,
    host: str,
    database: str,
    uid: str = "",
    pwd: str = "",
    connect_timeout: int = 30,
    extra: str = "",
) -> str:
    parts = [
        f"DRIVER={{{driver.strip('{}')}}}",
        f"SERVER={odbc_quote(host)}",
        f"DATABASE={odbc_quote(database)}",
    ]
    if uid or pwd:
        parts.append(f"UID={odbc_quote(uid)}")
        parts.append(f"PWD={odbc_quote(pwd)}")
    else:
        parts.append("Trusted_Connection=yes")
    parts.append(f"Connection Timeout={int(connect_timeout)}")
    cs = ";".join(parts) + ";"
    extra = (extra or "").strip().strip(";")
    if extra:
        cs += extra + ";"
    return cs


_CS_PAIR_RE = re.compile(r"\s*([^=;]+?)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)\s*(?:;|$)")


def parse_connection_string(cs: str) -> dict[str, str]:
    """Parse ``key=value;`` pairs (braced values allowed); keys upper-cased."""
    out: dict[str, str] = {}
    for m in _CS_PAIR_RE.finditer(cs or ""):
        key, val = m.group(1).strip().upper(), m.group(2).strip()
        if val.startswith("{") and val.endswith("}"):
            val = val[1:-1].replace("}}", "}")
        out[key] = val
    return out


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.conn: Any = None
        self.generation = -1
        self.tx_depth = 0
        self.tx_broken = False


class DatabaseClient:
    """Thread-safe client: one connection per thread, rows as dicts, retries, transactions."""

    def __init__(
        self,
        *,
        engine: str,
        sqlite_path: str | Path | None = None,
        connection_string: str | None = None,
        max_retries: int = 3,
        retry_base_delay: float = 1.0,
        retryable_sqlstates: Sequence[str] = DEFAULT_RETRYABLE_SQLSTATES,
        connect_timeout: int = 30,
        query_timeout: int = 0,
        name: str = "SAM",
        sqlite_busy_timeout: float | None = None,
        retry_max_delay: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        secrets: Sequence[str] = (),
    ) -> None:
        engine = (engine or "").strip().lower()
        if engine not in ENGINES:
            raise ValueError(
                f"Motor de base de datos desconocido: {engine!r} (se esperaba sqlserver o sqlite)"
            )
        self.engine = engine
        self.name = name
        self.max_retries = max(0, int(max_retries))
        self.retry_base_delay = max(0.0, float(retry_base_delay))
        self.retry_max_delay = float(retry_max_delay)
        self.retryable_sqlstates = frozenset(s.strip().upper() for s in retryable_sqlstates if s.strip())
        self.connect_timeout = int(connect_timeout)
        self.query_timeout = max(0, int(query_timeout))
        self._sleep = sleep
        self._state = _ThreadState()
        self._lock = threading.Lock()
        # id(conn) -> (conn, owning thread); connections of finished threads are closed lazily.
        self._connections: dict[int, tuple[Any, threading.Thread]] = {}
        self._generation = 0
        self._statement_count = 0
        self._secrets: list[str] = [s for s in secrets if s]

        if engine == "sqlite":
            if sqlite_path is None:
                raise ValueError("sqlite_path es obligatorio con el motor sqlite")
            if str(sqlite_path) == ":memory:":
                # One in-memory database shared by every thread of this client (tests, tools);
                # it lives while at least one connection is open.
                self.sqlite_path: Path | None = None
                self._sqlite_target = f"file:sam_memoria_{id(self)}?mode=memory&cache=shared"
            else:
                self.sqlite_path = Path(sqlite_path)
                self._sqlite_target = str(sqlite_path)
            self.sqlite_busy_timeout = float(
                sqlite_busy_timeout if sqlite_busy_timeout is not None else max(1, connect_timeout)
            )
            self.connection_string = None
            self.driver = "sqlite3"
        else:
            if not connection_string:
                raise ValueError("connection_string es obligatorio con el motor sqlserver")
            self.sqlite_path = None
            self.connection_string = connection_string
            self.driver = "pyodbc"
            parsed = parse_connection_string(connection_string)
            for key in ("PWD", "PASSWORD"):
                if parsed.get(key):
                    self._secrets.append(parsed[key])
            self._cs_info = parsed
        self._secrets.sort(key=len, reverse=True)

    # ---------------------------------------------------------------- construction helpers

    @classmethod
    def from_config(cls, cfg: Any, prefix: str = "SAM") -> DatabaseClient:
        """Build from ``SQL_<prefix>_*`` settings of a ``Config`` (defaults: the settings' own)."""
        from common.utils.config_manager import ajuste

        p = f"SQL_{prefix.upper()}_"

        def get(key: str) -> Any:
            return ajuste(cfg, p + key)

        engine = str(get("ENGINE")).strip().lower()
        sqlstates = get("CODIGOS_SQLSTATE_REINTENTABLES")
        if isinstance(sqlstates, str):
            sqlstates = [s for s in re.split(r"[,;]", sqlstates) if s.strip()]
        common: dict[str, Any] = dict(
            max_retries=int(get("MAX_REINTENTOS_QUERY")),
            retry_base_delay=float(get("DELAY_REINTENTO_QUERY_BASE_SEG")),
            retryable_sqlstates=tuple(sqlstates),
            connect_timeout=int(get("TIMEOUT_CONEXION_INICIAL")),
            name=prefix.upper(),
        )
        if engine == "sqlite":
            return cls(engine="sqlite", sqlite_path=get("SQLITE_PATH"), **common)
        pwd = str(get("PWD") or "")
        cs = build_sqlserver_connection_string(
            driver=str(get("DRIVER")),
            host=str(get("HOST")),
            database=str(get("DB_NAME")),
            uid=str(get("UID") or ""),
            pwd=pwd,
            connect_timeout=common["connect_timeout"],
            extra=str(get("PARAMETROS_ODBC_EXTRA") or ""),
        )
        return cls(engine="sqlserver", connection_string=cs, secrets=[pwd],
                   query_timeout=int(get("TIMEOUT_CONSULTA_SEG")), **common)

    def describe(self) -> str:
        """Secret-free description for the startup log line (Spanish)."""
        if self.engine == "sqlite":
            if self.sqlite_path is None:
                return "motor sqlite, base de datos en memoria"
            return f"motor sqlite, archivo {self._sqlite_target}"
        info = self._cs_info
        server = info.get("SERVER") or info.get("HOST") or "-"
        database = info.get("DATABASE") or info.get("DB") or "-"
        driver = info.get("DRIVER", "-")
        return f"motor {self.engine}, servidor {server}, base de datos {database}, driver {driver}"

    def __repr__(self) -> str:
        return f"DatabaseClient({self.name}: {self.describe()})"

    # ---------------------------------------------------------------- secrets / messages

    def _redact(self, text: str) -> str:
        if self.connection_string:
            text = text.replace(self.connection_string, "<cadena de conexión>")
        return redactar(text, self._secrets)

    # ---------------------------------------------------------------- connections

    def _connect(self) -> Any:
        if self.engine == "sqlite":
            if self.sqlite_path is not None:
                self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self._sqlite_target,
                timeout=self.sqlite_busy_timeout,
                detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES,
                isolation_level=None,
                check_same_thread=False,
                uri=self.sqlite_path is None,
            )
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self.sqlite_busy_timeout * 1000)}")
                conn.execute("PRAGMA foreign_keys = ON")
                if self.sqlite_path is not None:
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("PRAGMA synchronous = NORMAL")
            except Exception:
                conn.close()
                raise
            return conn
        if pyodbc is None:
            raise DatabaseError(
                f"Error de base de datos {self.name}: no se puede cargar pyodbc ({PYODBC_ERROR}). Instale "
                "pyodbc (requirements.txt) y, en Linux, el gestor de controladores ODBC (paquete unixodbc)."
            )
        conn = pyodbc.connect(self.connection_string, autocommit=True, timeout=self.connect_timeout)
        if self.query_timeout:
            conn.timeout = self.query_timeout  # a hung query fails (HYT00) instead of blocking a cycle
        return conn

    def _connection(self) -> Any:
        st = self._state
        if st.conn is not None and st.generation == self._generation:
            return st.conn
        if st.conn is not None:  # invalidated by close_all()
            self._discard(st.conn)
            st.conn = None
            if st.tx_depth > 0:
                st.tx_broken = True
        if st.tx_depth > 0 and st.tx_broken:
            raise DatabaseError(
                f"Error de base de datos {self.name}: la conexión se perdió dentro de una transacción; "
                "la transacción se ha deshecho",
                retryable=True,
                connection_lost=True,
            )
        try:
            conn = self._connect()
        except Exception as exc:
            err = self._wrap(exc, "conectar")
            err.al_conectar = True
            raise err from None
        with self._lock:
            orphans = [c for c, owner in self._connections.values() if not owner.is_alive()]
            for c in orphans:
                self._connections.pop(id(c), None)
            self._connections[id(conn)] = (conn, threading.current_thread())
            st.conn, st.generation = conn, self._generation
        for c in orphans:  # threads that ended without closing their connection
            try:
                c.close()
            except Exception:  # noqa: S110 - best effort
                pass
        logger.debug("Nueva conexión a la base de datos %s (%s)", self.name, self.describe())
        return conn

    def _discard(self, conn: Any) -> None:
        with self._lock:
            self._connections.pop(id(conn), None)
        try:
            conn.close()
        except Exception:  # noqa: S110 - closing a broken connection may fail; nothing to do
            pass

    def _drop_thread_connection(self) -> None:
        st = self._state
        if st.conn is not None:
            self._discard(st.conn)
        st.conn = None
        if st.tx_depth > 0:
            # The open transaction died with the connection: the rest of it must fail, never
            # continue in autocommit on a fresh connection.
            st.tx_broken = True

    def close_all(self) -> None:
        """Close every connection of every thread (shutdown). Later use reconnects lazily."""
        with self._lock:
            conns = [c for c, _owner in self._connections.values()]
            self._connections.clear()
            self._generation += 1
        for conn in conns:
            try:
                conn.close()
            except Exception as exc:  # pragma: no cover - defensive
                logger.debug("Error al cerrar una conexión: %s", self._redact(str(exc)))
        st = self._state
        st.conn = None
        if st.tx_depth > 0:
            st.tx_broken = True

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    @property
    def statement_count(self) -> int:
        return self._statement_count

    def reset_statement_count(self) -> None:
        with self._lock:
            self._statement_count = 0

    def _count(self) -> None:
        with self._lock:
            self._statement_count += 1

    # ---------------------------------------------------------------- error classification

    def _wrap(self, exc: BaseException, action: str) -> DatabaseError:
        if isinstance(exc, DatabaseError):
            return exc
        sqlstate: str | None = None
        native: int | None = None
        message = str(exc)
        integrity = False
        datos = False
        lost = False
        retryable = False

        if isinstance(exc, sqlite3.Error):
            low = message.lower()
            integrity = isinstance(exc, sqlite3.IntegrityError)  # RAISE(ABORT) in a trigger too
            datos = isinstance(exc, sqlite3.DataError)
            if isinstance(exc, sqlite3.ProgrammingError) and "closed" in low:
                lost = True
            retryable = lost or any(m in low for m in _SQLITE_BUSY_MARKERS)
            code = getattr(exc, "sqlite_errorname", None)
            sqlstate = code if isinstance(code, str) else None
        elif pyodbc is not None and isinstance(exc, pyodbc.Error):
            args = exc.args
            if len(args) >= 2 and isinstance(args[0], str) and len(args[0]) == 5:
                sqlstate = args[0].upper()
                message = str(args[1])
            elif args:
                message = str(args[0])
            low = message.lower()
            m = re.search(r"\((\d+)\)\s*\(SQL\w+\)", message)
            if m:
                native = int(m.group(1))
            integrity = isinstance(exc, pyodbc.IntegrityError) or (sqlstate or "").startswith("23")
            datos = (isinstance(exc, pyodbc.DataError) or (sqlstate or "").startswith("22")
                     or native in _NATIVOS_DE_FILA or (native or 0) >= 50000)
            lost = (sqlstate or "").startswith("08") or any(mk in low for mk in _CONNECTION_LOST_MARKERS)
            deadlock = sqlstate == "40001" or native == 1205 or bool(_DEADLOCK_RE.search(message))
            busy = any(mk in low for mk in _SQLITE_BUSY_MARKERS)
            retryable = (
                lost or deadlock or busy or (sqlstate is not None and sqlstate in self.retryable_sqlstates)
            )
        else:
            message = f"{type(exc).__name__}: {message}"

        detail = self._redact(message.strip())
        if sqlstate and detail.startswith(f"[{sqlstate}]"):
            detail = detail[len(sqlstate) + 2 :].lstrip()  # pyodbc repeats the SQLSTATE in its message
        code_txt = f" [{sqlstate}]" if sqlstate else ""
        text = f"Error de base de datos {self.name} al {action}{code_txt}: {detail}"
        return DatabaseError(
            text,
            retryable=retryable,
            connection_lost=lost,
            integrity=integrity,
            sqlstate=sqlstate,
            native_code=native,
            datos=datos,
        )

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        if pyodbc is not None:
            return (sqlite3.Error, pyodbc.Error)
        return (sqlite3.Error,)

    def _backoff(self, attempt: int) -> float:
        return min(self.retry_max_delay, self.retry_base_delay * (2**attempt))

    # ---------------------------------------------------------------- core execution

    def _run(self, op: Callable[[Any], T], action: str) -> T:
        """Run ``op(conn)`` with classification, reconnect and (outside transactions) retries."""
        attempt = 0
        errors = self._driver_errors()
        while True:
            in_tx = self._state.tx_depth > 0
            try:
                conn = self._connection()
                return op(conn)
            except DatabaseError as err:  # connect failure already wrapped
                error = err
            except errors as exc:
                error = self._wrap(exc, action)
            if error.connection_lost:
                self._drop_thread_connection()
            if in_tx or not error.retryable or attempt >= self.max_retries:
                metricas.error_bd(self.name, error)  # M1
                raise error
            delay = self._backoff(attempt)
            attempt += 1
            logger.warning("%s; reintento %d de %d en %.2f s", str(error), attempt, self.max_retries, delay)
            self._sleep(delay)

    @staticmethod
    def _rows(cursor: Any, require_result_set: bool = False) -> list[dict]:
        # Skip row counts of statements without a result set (e.g. EXEC without NOCOUNT).
        while cursor.description is None:
            try:
                more = cursor.nextset()
            except Exception:
                more = False
            if not more:
                if require_result_set:
                    # A procedure that swallowed its own error returns nothing: that is not "no rows".
                    raise DatabaseError("la consulta no devolvió ningún conjunto de resultados")
                return []
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=False)) for row in cursor.fetchall()]
        DatabaseClient._drain(cursor)
        return rows

    @staticmethod
    def _drain(cursor: Any) -> None:
        """Read the remaining results of a batch. SQL Server reports an error raised after a first
        result set (a procedure that SELECTs, then THROWs) only when its result is reached: without
        this the partial rows would be taken for the whole answer. sqlite3 has one result only."""
        nextset = getattr(cursor, "nextset", None)
        if nextset is None:
            return
        while nextset():
            if cursor.description is not None:
                cursor.fetchall()

    @staticmethod
    def _observe(sql: str) -> None:
        for observer in OBSERVADORES_SQL:
            observer(sql)

    def _cursor_execute(self, conn: Any, sql: str, params: Sequence) -> Any:
        cur = conn.cursor()
        self._count()
        self._observe(sql)
        if params:
            cur.execute(sql, tuple(params))
        else:
            cur.execute(sql)
        return cur

    def query(self, sql: str, params: Sequence = (), *, require_result_set: bool = False) -> list[dict]:
        """Run a statement returning rows; rows as dicts keyed by column name.

        ``require_result_set=True``: a statement that yields no result set at all (not even an
        empty one) raises ``DatabaseError`` instead of returning ``[]``.
        """

        def op(conn: Any) -> list[dict]:
            cur = self._cursor_execute(conn, sql, params)
            try:
                return self._rows(cur, require_result_set)
            finally:
                cur.close()

        return self._run(op, "consultar")

    def query_one(self, sql: str, params: Sequence = ()) -> dict | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def execute(self, sql: str, params: Sequence = ()) -> int:
        """Run a statement; returns the row count. Outside a transaction it is committed at once.

        On SQLite the count is the connection's change counter, so a write that starts with a
        ``WITH`` clause is counted too (``sqlite3`` reports -1 for it). On pyodbc it is the
        driver's count of a single-statement batch; a T-SQL batch of several statements reports
        its count itself (``SELECT @@ROWCOUNT``, see ``common.database.sentencias.ejecutar``).
        """

        def op(conn: Any) -> int:
            antes = conn.total_changes if self.engine == "sqlite" else 0
            cur = self._cursor_execute(conn, sql, params)
            try:
                if self.engine == "sqlite":
                    return conn.total_changes - antes
                return cur.rowcount
            finally:
                cur.close()

        return self._run(op, "ejecutar")

    def executemany(self, sql: str, seq: Sequence[Sequence]) -> int:
        """Run one statement for many parameter rows in one call (a single round trip on SQL Server).

        Outside a transaction the batch is its own transaction: all rows or none. Returns the rows
        affected on SQLite and **-1 on pyodbc** (``Cursor.executemany`` never counts, with or
        without ``fast_executemany``): a caller that needs a count must not use this.
        """
        rows = [tuple(r) for r in seq]
        if not rows:
            return 0

        def op(conn: Any) -> int:
            cur = conn.cursor()
            try:
                if self.engine == "sqlserver":
                    cur.fast_executemany = True
                self._count()
                self._observe(sql)
                cur.executemany(sql, rows)
                return cur.rowcount
            finally:
                cur.close()

        if self._state.tx_depth > 0:
            return self._run(op, "ejecutar")
        # Autocommit (pyodbc, and SQLite with isolation_level=None) would commit row by row: run
        # the batch as one transaction on both engines, retried as a whole on retryable errors.
        return self.run_in_transaction(lambda _tx: self._run(op, "ejecutar"))

    def execute_script(self, script: str) -> None:
        """Run a multi-statement script. SQLite: one atomic ``executescript``; ODBC: GO batches in order."""
        if self.engine == "sqlite":

            def op(conn: Any) -> None:
                self._count()
                self._observe(script)
                try:
                    conn.executescript("BEGIN IMMEDIATE;\n" + script + "\nCOMMIT;")
                except BaseException:
                    if conn.in_transaction:
                        try:
                            conn.execute("ROLLBACK")
                        except sqlite3.Error:
                            pass
                    raise

            self._run(op, "ejecutar el script")
            return
        for batch in split_go_batches(script):
            self.execute(batch)

    def ping(self) -> bool:
        """One ``SELECT 1`` without retries; True when the database answers."""
        try:
            conn = self._connection()
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchall()
            cur.close()
            return True
        except Exception as exc:
            err = self._wrap(exc, "comprobar la conexión")
            if err.connection_lost or not isinstance(exc, DatabaseError):
                self._drop_thread_connection()
            logger.debug("%s", err)
            return False

    # ---------------------------------------------------------------- transactions

    @property
    def in_transaction(self) -> bool:
        return self._state.tx_depth > 0

    def _begin(self) -> Any:
        def op(conn: Any) -> Any:
            if self.engine == "sqlite":
                conn.execute("BEGIN IMMEDIATE")
            else:
                conn.autocommit = False
            return conn

        # Nothing has been done yet, so beginning may be retried (locked DB, stale connection).
        return self._run(op, "iniciar la transacción")

    def _end(self, conn: Any, commit: bool) -> None:
        if self.engine == "sqlite":
            if conn.in_transaction:
                conn.execute("COMMIT" if commit else "ROLLBACK")
            return
        try:
            if commit:
                conn.commit()
            else:
                conn.rollback()
        finally:
            try:
                conn.autocommit = True
            except Exception:  # noqa: S110 - a broken connection is dropped by the caller
                pass

    @contextmanager
    def transaction(self) -> Iterator[DatabaseClient]:
        """Commit at exit, roll back on exception. Nested use joins the outer transaction.

        Yields the client itself: its methods run on this thread's connection inside the
        transaction (no autocommit, no per-statement retry). If the connection is lost inside
        the transaction, every later statement of it fails and nothing is committed.
        """
        st = self._state
        if st.tx_depth > 0:
            st.tx_depth += 1
            try:
                yield self
            finally:
                st.tx_depth = max(1, st.tx_depth - 1)
            return
        conn = self._begin()
        st.tx_depth = 1
        st.tx_broken = False
        try:
            yield self
        except BaseException:
            self._finish(conn, commit=False)
            raise
        else:
            self._finish(conn, commit=True)

    def _finish(self, conn: Any, commit: bool) -> None:
        st = self._state
        broken = st.tx_broken or st.conn is not conn
        st.tx_depth = 0
        st.tx_broken = False
        if broken:
            if commit:
                raise DatabaseError(
                    f"Error de base de datos {self.name}: la conexión se perdió dentro de una "
                    "transacción; no se ha confirmado nada",
                    retryable=True,
                    connection_lost=True,
                )
            return
        if not commit:
            try:
                self._end(conn, commit=False)
            except Exception as exc:
                logger.warning("%s", self._wrap(exc, "deshacer la transacción"))
                self._drop_thread_connection()
            return
        try:
            self._end(conn, commit=True)
        except self._driver_errors() as exc:
            err = self._wrap(exc, "confirmar la transacción")
            try:
                self._end(conn, commit=False)
            except Exception:
                self._drop_thread_connection()
            if err.connection_lost:
                self._drop_thread_connection()
            raise err from None

    def run_in_transaction(self, fn: Callable[[DatabaseClient], T]) -> T:
        """Run ``fn(tx)`` in one transaction; on a retryable error retry the whole of it."""
        if self._state.tx_depth > 0:
            return fn(self)
        attempt = 0
        while True:
            try:
                with self.transaction() as tx:
                    return fn(tx)
            except DatabaseError as err:
                if not err.retryable or attempt >= self.max_retries:
                    raise
                delay = self._backoff(attempt)
                attempt += 1
                logger.warning(
                    "%s; se reintenta la transacción (%d de %d) en %.2f s",
                    str(err),
                    attempt,
                    self.max_retries,
                    delay,
                )
                self._sleep(delay)


_GO_RE = re.compile(r"^\s*GO\s*(?:--.*)?$", re.IGNORECASE | re.MULTILINE)


def split_go_batches(script: str) -> list[str]:
    """Split a T-SQL script on ``GO`` lines; empty batches dropped."""
    return [b.strip() for b in _GO_RE.split(script) if b.strip()]
