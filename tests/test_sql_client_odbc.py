"""DatabaseClient's pyodbc path against a real ODBC driver: unixODBC + Debian's SQLite ODBC driver.

No SQL Server runs here, so the pyodbc code (thread-local connections, autocommit toggling for
transactions, SQLSTATE-based retry classification, reconnect) is exercised through the
``SQLite3`` ODBC driver with an ordinary connection string.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading

import pytest

from tests.componentes import falta

try:
    import pyodbc
except ImportError as exc:  # pragma: no cover - .ci/run installs unixodbc
    # The wheel imports only where the ODBC driver manager is installed (libodbc.so.2).
    falta(f"pyodbc no se puede cargar ({exc}): instale el gestor ODBC (paquete Debian unixodbc)", modulo=True)

if "SQLite3" not in pyodbc.drivers():  # pragma: no cover - .ci/run installs libsqliteodbc
    falta("el controlador ODBC SQLite3 no está instalado (paquete Debian libsqliteodbc)", modulo=True)

from common.database.sql_client import DatabaseClient, DatabaseError  # noqa: E402


class SleepRecorder:
    def __init__(self, on_sleep=None):
        self.calls: list[float] = []
        self.on_sleep = on_sleep

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(len(self.calls))


@pytest.fixture
def dbfile(tmp_path):
    path = tmp_path / "odbc.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n TEXT, d DATETIME)")
    conn.commit()
    conn.close()
    return path


def make_db(path, **kw) -> DatabaseClient:
    kw.setdefault("retry_base_delay", 0.001)
    # Timeout (ms) is the SQLite ODBC driver's busy timeout.
    return DatabaseClient(engine="odbc", connection_string=f"Driver=SQLite3;Database={path};Timeout=50", **kw)


def test_odbc_rows_as_dicts_and_autocommit(dbfile):
    db = make_db(dbfile)
    assert db.driver == "pyodbc"
    db.execute("INSERT INTO t (n, d) VALUES (?, ?)", ("a", dt.datetime(2024, 5, 6, 7, 8, 9)))
    assert db.query("SELECT n, d FROM t") == [{"n": "a", "d": dt.datetime(2024, 5, 6, 7, 8, 9)}]
    # Committed: visible to an independent connection.
    other = sqlite3.connect(dbfile)
    assert other.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 1
    other.close()
    db.close_all()


def test_odbc_transaction_commit_and_rollback(dbfile):
    db = make_db(dbfile)
    with db.transaction() as tx:
        tx.execute("INSERT INTO t (n) VALUES ('ok')")
    with pytest.raises(RuntimeError):
        with db.transaction() as tx:
            tx.execute("INSERT INTO t (n) VALUES ('lost')")
            raise RuntimeError("boom")
    assert [r["n"] for r in db.query("SELECT n FROM t")] == ["ok"]
    # After a transaction the connection is back in autocommit.
    assert db._state.conn.autocommit is True
    db.close_all()


def test_odbc_thread_local_connections(dbfile):
    db = make_db(dbfile)
    inserted = threading.Event()
    checked = threading.Event()
    seen = {}

    def writer():
        with db.transaction() as tx:
            tx.execute("INSERT INTO t (n) VALUES ('w')")
            inserted.set()
            checked.wait(10)

    th = threading.Thread(target=writer)
    th.start()
    assert inserted.wait(10)
    seen["during"] = db.query_one("SELECT COUNT(*) AS c FROM t")["c"]
    checked.set()
    th.join(10)
    seen["after"] = db.query_one("SELECT COUNT(*) AS c FROM t")["c"]
    assert seen == {"during": 0, "after": 1}
    assert db.open_connections == 2
    db.close_all()
    assert db.open_connections == 0


def test_odbc_retry_on_locked_database(dbfile):
    """'database is locked' through ODBC (SQLSTATE HY000 + message) is retried, then succeeds."""
    db = make_db(dbfile)
    holder = sqlite3.connect(dbfile, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    sleeper = SleepRecorder(lambda n: holder.execute("ROLLBACK") if n == 1 else None)
    db._sleep = sleeper
    assert db.execute("INSERT INTO t (n) VALUES ('x')") == 1
    assert len(sleeper.calls) == 1
    holder.close()
    db.close_all()


def test_odbc_configured_sqlstate_is_retryable(dbfile):
    """The retry decision follows the configured SQLSTATE list (here the driver's HY000)."""
    db = make_db(dbfile, max_retries=2, retryable_sqlstates=("HY000",))
    sleeper = SleepRecorder()
    db._sleep = sleeper
    before = db.statement_count
    with pytest.raises(DatabaseError) as info:
        db.query("SELECT * FROM tabla_que_no_existe")
    assert info.value.sqlstate == "HY000" and info.value.retryable
    assert db.statement_count - before == 3 and len(sleeper.calls) == 2


def test_odbc_no_retry_on_syntax_error(dbfile):
    db = make_db(dbfile)
    sleeper = SleepRecorder()
    db._sleep = sleeper
    before = db.statement_count
    with pytest.raises(DatabaseError) as info:
        db.query("SELEC 1")
    assert not info.value.retryable
    assert db.statement_count - before == 1
    assert sleeper.calls == []
    db.close_all()


def test_odbc_reconnect_after_connection_closed_under_it(dbfile):
    db = make_db(dbfile)
    db.execute("INSERT INTO t (n) VALUES ('a')")
    old = db._state.conn
    old.close()
    db._sleep = SleepRecorder()
    assert db.query_one("SELECT n FROM t") == {"n": "a"}
    assert db._state.conn is not old
    db.close_all()


def test_odbc_executemany_is_one_statement_and_atomic(dbfile):
    db = make_db(dbfile)
    before = db.statement_count
    db.executemany("INSERT INTO t (n) VALUES (?)", [("a",), ("b",)])
    assert db.statement_count - before == 1
    assert db.query_one("SELECT COUNT(*) AS c FROM t")["c"] == 2
    with pytest.raises(DatabaseError):
        db.executemany("INSERT INTO t (id, n) VALUES (?, ?)", [(10, "x"), (10, "dup")])
    assert db.query_one("SELECT COUNT(*) AS c FROM t WHERE id = 10")["c"] == 0
    db.close_all()


def test_odbc_connect_error_is_spanish_and_secret_free(tmp_path):
    db = DatabaseClient(
        engine="sqlserver",
        connection_string="DRIVER={Driver Que No Existe};SERVER=h;DATABASE=d;UID=u;PWD=SuperSecreto123;",
        max_retries=0,
    )
    with pytest.raises(DatabaseError) as info:
        db.query("SELECT 1")
    msg = str(info.value)
    assert "SuperSecreto123" not in msg and "PWD" not in msg
    assert msg.startswith("Error de base de datos SAM al conectar")
    assert "SuperSecreto123" not in repr(db)
    assert db.ping() is False


def test_odbc_executemany_retried_as_a_whole_on_locked_database(dbfile):
    db = make_db(dbfile)
    holder = sqlite3.connect(dbfile, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    sleeper = SleepRecorder(lambda n: holder.execute("ROLLBACK") if n == 1 else None)
    db._sleep = sleeper
    db.executemany("INSERT INTO t (n) VALUES (?)", [("a",), ("b",)])
    assert len(sleeper.calls) == 1
    assert db.query_one("SELECT COUNT(*) AS c FROM t")["c"] == 2
    holder.close()
    db.close_all()


def test_B8_statement_without_a_result_set_is_an_error_when_rows_are_required(dbfile):
    """A ticket procedure that swallows its own error returns no result set at all: the rpa360
    source must see a failure, never 'no tickets' (BEHAVIOUR §10)."""
    db = make_db(dbfile)
    assert db.query("SELECT n FROM t WHERE 1 = 0", require_result_set=True) == []  # empty set: fine
    assert db.query("UPDATE t SET n = n WHERE 1 = 0") == []  # lenient default
    with pytest.raises(DatabaseError, match="ningún conjunto de resultados"):
        db.query("UPDATE t SET n = n WHERE 1 = 0", require_result_set=True)
    db.close_all()


def test_query_timeout_is_set_on_odbc_connections(dbfile):
    """A hung rpa360/SAM query must fail (HYT00, retryable) instead of blocking a cycle forever."""
    db = make_db(dbfile, query_timeout=7)
    db.query("SELECT 1 AS x")
    (conn,) = [c for c, _ in db._connections.values()]
    assert conn.timeout == 7
    db.close_all()


def test_query_timeout_comes_from_config():
    from common.utils.config_manager import load_config

    cfg = load_config("balanceador", environ={
        "SQL_SAM_ENGINE": "sqlite", "SQL_RPA360_ENGINE": "sqlserver", "SQL_RPA360_HOST": "srv",
        "SQL_RPA360_DB_NAME": "rpa360", "SQL_RPA360_TIMEOUT_CONSULTA_SEG": "45",
        "BALANCEADOR_PROVEEDORES_CARGA": "rpa360",
    })
    assert DatabaseClient.from_config(cfg, "RPA360").query_timeout == 45


# --- pyodbc's parameter binding: long text and datetimes through the real driver manager -------------


def test_odbc_json_over_4000_characters_and_datetimes_round_trip(dbfile):
    """pyodbc binds a str over 2,000 characters as SQL_WLONGVARCHAR (ntext on SQL Server): the value
    must still arrive whole, and datetimes (with microseconds) and dates must come back as sent."""
    import json

    db = make_db(dbfile)
    payload = json.dumps([{"EquipoId": i, "Equipo": f"VM-{i:05d}-ñ", "Licencia": "RUNTIME"} for i in range(120)],
                         ensure_ascii=False)
    assert len(payload) > 4000
    instante = dt.datetime(2026, 3, 2, 10, 0, 0, 123000)
    db.execute("INSERT INTO t (n, d) VALUES (?, ?)", (payload, instante))
    fila = db.query_one("SELECT n, d FROM t")
    assert fila["n"] == payload and json.loads(fila["n"])[119]["Equipo"] == "VM-00119-ñ"
    assert fila["d"] == instante
    # equality on the stored datetime through a parameter finds the row (SQLite compares the text)
    assert db.query_one("SELECT COUNT(*) AS c FROM t WHERE d = ?", (instante,))["c"] == 1
    db.close_all()


def test_odbc_executemany_reports_minus_one_as_documented(dbfile):
    """pyodbc's Cursor.executemany never counts rows: DatabaseClient.executemany says -1 on pyodbc."""
    db = make_db(dbfile)
    assert db.executemany("INSERT INTO t (n) VALUES (?)", [("a",), ("b",), ("c",)]) == -1
    assert db.query_one("SELECT COUNT(*) AS c FROM t")["c"] == 3
    db.close_all()


class _CursorConErrorFinal:
    """A batch whose first result set arrives and whose error comes after it (a procedure that
    SELECTs and then THROWs): pyodbc raises it from nextset(), as SQL Server's driver does."""

    def __init__(self):
        self.description = [("Robot",), ("CantidadTickets",)]
        self.llamadas = 0

    def fetchall(self):
        return [("R1", 3)]

    def nextset(self):
        self.llamadas += 1
        raise pyodbc.ProgrammingError("42000", "[42000] Error 50000 (50000) (SQLExecDirectW)")


def test_odbc_error_after_the_first_result_set_is_raised_not_dropped():
    cur = _CursorConErrorFinal()
    with pytest.raises(pyodbc.Error):
        DatabaseClient._rows(cur)
    assert cur.llamadas == 1
