"""DatabaseClient on the embedded SQLite engine (real files, real locks, real threads)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from types import SimpleNamespace

import pytest

from common.database.sql_client import (
    DatabaseClient,
    DatabaseError,
    build_sqlserver_connection_string,
    parse_datetime,
    split_go_batches,
)


class SleepRecorder:
    def __init__(self, on_sleep=None):
        self.calls: list[float] = []
        self.on_sleep = on_sleep

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(len(self.calls))


def make_db(tmp_path, **kw) -> DatabaseClient:
    kw.setdefault("retry_base_delay", 0.001)
    kw.setdefault("sqlite_busy_timeout", 0.05)
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sub" / "sam.db", **kw)
    db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, n TEXT, d DATETIME, f DATE, h TIME)")
    return db


def test_sqlite_pragmas_wal_foreign_keys_busy_timeout(tmp_path):
    db = make_db(tmp_path, sqlite_busy_timeout=2.5)
    assert (tmp_path / "sub" / "sam.db").exists()  # parent directory created
    assert db.query_one("PRAGMA journal_mode")["journal_mode"] == "wal"
    assert db.query_one("PRAGMA foreign_keys")["foreign_keys"] == 1
    assert db.query_one("PRAGMA busy_timeout")["timeout"] == 2500
    db.close_all()


def test_rows_are_dicts_and_query_one(tmp_path):
    db = make_db(tmp_path)
    assert db.execute("INSERT INTO t (n) VALUES (?)", ("a",)) == 1
    assert db.query("SELECT id, n FROM t") == [{"id": 1, "n": "a"}]
    assert db.query_one("SELECT n FROM t WHERE id = ?", (1,)) == {"n": "a"}
    assert db.query_one("SELECT n FROM t WHERE id = ?", (99,)) is None
    db.close_all()


def test_naive_datetimes_dates_and_times_round_trip(tmp_path):
    db = make_db(tmp_path)
    when = dt.datetime(2024, 2, 29, 23, 59, 58, 123456)
    db.execute(
        "INSERT INTO t (n, d, f, h) VALUES (?, ?, ?, ?)",
        ("x", when, dt.date(2024, 3, 1), dt.time(7, 30)),
    )
    row = db.query_one("SELECT d, f, h FROM t")
    assert row == {"d": when, "f": dt.date(2024, 3, 1), "h": dt.time(7, 30)}
    assert type(row["d"]) is dt.datetime and row["d"].tzinfo is None
    # Stored as sortable ISO text.
    raw = db.query_one("SELECT CAST(d AS TEXT) AS s FROM t")["s"]
    assert raw == "2024-02-29 23:59:58.123456"
    # Comparisons with parameters work on the stored text.
    assert db.query_one("SELECT COUNT(*) AS c FROM t WHERE d > ?", (dt.datetime(2024, 2, 29),))["c"] == 1
    db.close_all()


def test_parse_datetime_tolerates_common_forms():
    assert parse_datetime("2024-01-02 03:04:05") == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert parse_datetime("2024-01-02T03:04:05.12") == dt.datetime(2024, 1, 2, 3, 4, 5, 120000)
    assert parse_datetime("2024-01-02") == dt.datetime(2024, 1, 2)


def test_transaction_commits_on_success_and_rolls_back_on_exception(tmp_path):
    db = make_db(tmp_path)
    with db.transaction() as tx:
        tx.execute("INSERT INTO t (n) VALUES ('ok')")
    with pytest.raises(RuntimeError):
        with db.transaction() as tx:
            tx.execute("INSERT INTO t (n) VALUES ('lost')")
            raise RuntimeError("boom")
    assert [r["n"] for r in db.query("SELECT n FROM t")] == ["ok"]
    assert not db.in_transaction
    db.close_all()


def test_nested_transaction_joins_the_outer_one(tmp_path):
    db = make_db(tmp_path)
    with pytest.raises(RuntimeError):
        with db.transaction():
            with db.transaction() as inner:
                inner.execute("INSERT INTO t (n) VALUES ('inner')")
            assert db.in_transaction  # leaving the inner block did not commit/end
            raise RuntimeError("outer fails")
    assert db.query("SELECT n FROM t") == []
    db.close_all()


def test_thread_local_connections_isolate_uncommitted_work(tmp_path):
    db = make_db(tmp_path)
    inserted = threading.Event()
    checked = threading.Event()
    seen: dict[str, int] = {}
    errors: list[BaseException] = []

    def writer():
        try:
            with db.transaction() as tx:
                tx.execute("INSERT INTO t (n) VALUES ('w')")
                inserted.set()
                checked.wait(10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    th = threading.Thread(target=writer)
    th.start()
    assert inserted.wait(10)
    seen["during"] = db.query_one("SELECT COUNT(*) AS c FROM t")["c"]  # main thread's own connection
    checked.set()
    th.join(10)
    seen["after"] = db.query_one("SELECT COUNT(*) AS c FROM t")["c"]
    assert not errors
    assert seen == {"during": 0, "after": 1}
    assert db.open_connections == 2  # one per thread
    db.close_all()


def test_retry_on_locked_database_then_success(tmp_path):
    """A real 'database is locked' is retryable: backoff, retry, succeed."""
    db = make_db(tmp_path)
    holder = sqlite3.connect(tmp_path / "sub" / "sam.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")

    def release(n):
        if n == 1:
            holder.execute("ROLLBACK")

    sleeper = SleepRecorder(release)
    db._sleep = sleeper
    before = db.statement_count
    assert db.execute("INSERT INTO t (n) VALUES ('after lock')") == 1
    assert len(sleeper.calls) == 1
    assert db.statement_count - before == 2  # failed attempt + successful retry
    assert db.query_one("SELECT n FROM t")["n"] == "after lock"
    holder.close()
    db.close_all()


def test_retries_are_bounded_with_exponential_backoff(tmp_path):
    db = make_db(tmp_path, max_retries=3, retry_base_delay=0.5)
    holder = sqlite3.connect(tmp_path / "sub" / "sam.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    sleeper = SleepRecorder()
    db._sleep = sleeper
    with pytest.raises(DatabaseError) as info:
        db.execute("INSERT INTO t (n) VALUES ('never')")
    assert info.value.retryable
    assert sleeper.calls == [0.5, 1.0, 2.0]  # 1 attempt + 3 retries
    holder.execute("ROLLBACK")
    holder.close()
    db.close_all()


def test_no_retry_on_syntax_error(tmp_path):
    db = make_db(tmp_path)
    sleeper = SleepRecorder()
    db._sleep = sleeper
    before = db.statement_count
    with pytest.raises(DatabaseError) as info:
        db.query("SELEC 1")
    assert not info.value.retryable
    assert db.statement_count - before == 1  # exactly one attempt
    assert sleeper.calls == []
    assert "Error de base de datos SAM" in str(info.value)
    db.close_all()


def test_integrity_error_is_flagged_and_not_retried(tmp_path):
    db = make_db(tmp_path)
    db.execute("INSERT INTO t (id, n) VALUES (1, 'a')")
    with pytest.raises(DatabaseError) as info:
        db.execute("INSERT INTO t (id, n) VALUES (1, 'b')")
    assert info.value.integrity and not info.value.retryable
    db.close_all()


def test_reconnect_after_connection_closed_under_it(tmp_path):
    db = make_db(tmp_path)
    db.execute("INSERT INTO t (n) VALUES ('a')")
    old = db._state.conn
    old.close()  # the connection dies under the client
    sleeper = SleepRecorder()
    db._sleep = sleeper
    assert db.query_one("SELECT n FROM t")["n"] == "a"
    assert db._state.conn is not old
    assert len(sleeper.calls) == 1
    db.close_all()


def test_connection_lost_inside_transaction_never_continues_in_autocommit(tmp_path):
    db = make_db(tmp_path)
    with pytest.raises(DatabaseError) as info:
        with db.transaction() as tx:
            tx.execute("INSERT INTO t (n) VALUES ('x')")
            db._state.conn.close()
            try:
                tx.execute("INSERT INTO t (n) VALUES ('y')")
            except DatabaseError:
                pass  # a careless caller swallows it...
            tx.execute("INSERT INTO t (n) VALUES ('z')")  # ...but the transaction stays dead
    assert info.value.retryable
    assert db.query("SELECT n FROM t") == []
    db.close_all()


def test_run_in_transaction_retries_whole_unit_only_when_retryable(tmp_path):
    db = make_db(tmp_path)
    db._sleep = SleepRecorder()
    calls = {"n": 0}

    def flaky(tx):
        calls["n"] += 1
        tx.execute("INSERT INTO t (n) VALUES (?)", (f"try{calls['n']}",))
        if calls["n"] == 1:
            raise DatabaseError("simulado", retryable=True)
        return "hecho"

    assert db.run_in_transaction(flaky) == "hecho"
    assert [r["n"] for r in db.query("SELECT n FROM t")] == ["try2"]

    attempts = {"n": 0}

    def broken(tx):
        attempts["n"] += 1
        tx.query("SELEC 1")

    with pytest.raises(DatabaseError):
        db.run_in_transaction(broken)
    assert attempts["n"] == 1
    db.close_all()


def test_executemany_and_statement_count(tmp_path):
    db = make_db(tmp_path)
    before = db.statement_count
    assert db.executemany("INSERT INTO t (n) VALUES (?)", [("a",), ("b",), ("c",)]) == 3
    assert db.statement_count - before == 1
    assert db.executemany("INSERT INTO t (n) VALUES (?)", []) == 0
    db.close_all()


def test_close_all_closes_every_thread_connection_and_reconnects_lazily(tmp_path):
    db = make_db(tmp_path)
    th = threading.Thread(target=lambda: db.query("SELECT 1 AS x"))
    th.start()
    th.join(10)
    assert db.open_connections == 2
    db.close_all()
    assert db.open_connections == 0
    assert db.query_one("SELECT 1 AS x") == {"x": 1}
    assert db.open_connections == 1
    db.close_all()


def test_ping(tmp_path):
    db = make_db(tmp_path)
    assert db.ping() is True
    bad = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "dir_instead_of_file")
    (tmp_path / "dir_instead_of_file").mkdir()
    assert bad.ping() is False
    db.close_all()


def test_execute_script_is_atomic(tmp_path):
    db = make_db(tmp_path)
    with pytest.raises(DatabaseError):
        db.execute_script("INSERT INTO t (n) VALUES ('s1');\nINSERT INTO nope VALUES (1);")
    assert db.query("SELECT n FROM t") == []
    db.execute_script("INSERT INTO t (n) VALUES ('s1');\nINSERT INTO t (n) VALUES ('s2');")
    assert len(db.query("SELECT n FROM t")) == 2
    db.close_all()


def test_unknown_engine_is_rejected():
    with pytest.raises(ValueError):
        DatabaseClient(engine="oracle")


def test_connection_string_from_config_has_timeout_extra_and_no_secret_in_repr():
    cfg = SimpleNamespace(
        get=lambda k, d=None: {
            "SQL_SAM_ENGINE": "sqlserver",
            "SQL_SAM_DRIVER": "ODBC Driver 18 for SQL Server",
            "SQL_SAM_HOST": "srv01,1433",
            "SQL_SAM_DB_NAME": "SAM",
            "SQL_SAM_UID": "sam",
            "SQL_SAM_PWD": "p;a}ss",
            "SQL_SAM_TIMEOUT_CONEXION_INICIAL": 12,
            "SQL_SAM_MAX_REINTENTOS_QUERY": 4,
            "SQL_SAM_DELAY_REINTENTO_QUERY_BASE_SEG": 0.25,
            "SQL_SAM_CODIGOS_SQLSTATE_REINTENTABLES": ["08S01", "HYT00"],
            "SQL_SAM_PARAMETROS_ODBC_EXTRA": "Encrypt=yes;TrustServerCertificate=no",
        }.get(k, d)
    )
    db = DatabaseClient.from_config(cfg)
    cs = db.connection_string
    assert cs.startswith("DRIVER={ODBC Driver 18 for SQL Server};SERVER=srv01,1433;DATABASE=SAM;")
    assert "PWD={p;a}}ss};" in cs
    assert "Connection Timeout=12;" in cs and cs.endswith("Encrypt=yes;TrustServerCertificate=no;")
    assert db.max_retries == 4 and db.retry_base_delay == 0.25 and db.connect_timeout == 12
    assert db.retryable_sqlstates == {"08S01", "HYT00"}
    text = repr(db) + db.describe()
    assert "p;a}ss" not in text and "srv01" in text
    assert "PWD=********" in db._redact(f"fallo con PWD={{p;a}}}}ss}} y {cs}")
    assert "p;a" not in db._redact(f"fallo con {cs}")


def test_trusted_connection_when_no_credentials():
    cs = build_sqlserver_connection_string(driver="ODBC Driver 17 for SQL Server", host="h", database="d")
    assert "Trusted_Connection=yes" in cs and "UID" not in cs and "Connection Timeout=30" in cs


def test_split_go_batches():
    assert split_go_batches("SELECT 1\nGO\n  go -- fin\nSELECT 2\nGO") == ["SELECT 1", "SELECT 2"]


def test_connections_of_finished_threads_are_closed_when_a_new_one_opens(tmp_path):
    """Job threads come and go: their connections must not pile up (file handles)."""
    db = make_db(tmp_path)  # main thread holds one connection
    for _ in range(5):
        th = threading.Thread(target=lambda: db.query("SELECT 1 AS x"))
        th.start()
        th.join(10)
    assert db.open_connections == 2  # main + the last (finished, not yet swept) thread
    db.close_all()


def test_concurrent_read_modify_write_transactions_serialize(tmp_path):
    """BEGIN IMMEDIATE + busy timeout: concurrent transactions never lose an update."""
    db = make_db(tmp_path, sqlite_busy_timeout=10.0)
    db.execute("CREATE TABLE contador (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
    db.execute("INSERT INTO contador (id, v) VALUES (1, 0)")
    errors: list[BaseException] = []

    def worker():
        try:
            for _ in range(20):
                with db.transaction() as tx:
                    v = tx.query_one("SELECT v FROM contador WHERE id = 1")["v"]
                    tx.execute("UPDATE contador SET v = ? WHERE id = 1", (v + 1,))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    assert db.query_one("SELECT v FROM contador WHERE id = 1")["v"] == 120
    db.close_all()


def test_memory_database_is_shared_by_the_client_threads():
    db = DatabaseClient(engine="sqlite", sqlite_path=":memory:")
    db.execute("CREATE TABLE m (x INTEGER)")
    th = threading.Thread(target=lambda: db.execute("INSERT INTO m (x) VALUES (1)"))
    th.start()
    th.join(10)
    assert db.query("SELECT x FROM m") == [{"x": 1}]
    assert "memoria" in db.describe()
    other = DatabaseClient(engine="sqlite", sqlite_path=":memory:")
    with pytest.raises(DatabaseError):
        other.query("SELECT x FROM m")  # a different client: a different database
    db.close_all()
    other.close_all()


def test_executemany_outside_a_transaction_is_all_or_nothing_on_sqlite_as_on_sql_server(tmp_path):
    """Outside a transaction, executemany runs as one transaction on both engines: a row that fails
    leaves none of the batch applied (SQLite in autocommit would otherwise keep the rows before it)."""
    db = make_db(tmp_path)
    db.execute("INSERT INTO t (id, n) VALUES (3, 'ya')")
    with pytest.raises(DatabaseError) as exc:
        db.executemany("INSERT INTO t (id, n) VALUES (?, ?)", [(1, "a"), (2, "b"), (3, "duplicada")])
    assert exc.value.integrity
    assert [r["id"] for r in db.query("SELECT id FROM t ORDER BY id")] == [3]
    assert not db.in_transaction
    db.close_all()


def test_from_config_takes_missing_settings_from_their_declared_defaults_not_its_own():
    """C9: one source of defaults. A partial mapping (a tool, a test) gets the setting's declared value:
    SQL_SAM_TIMEOUT_CONSULTA_SEG is 120 s, not the 0 (no limit) the client once assumed."""
    from common.utils.config_manager import SETTINGS_BY_NAME, ajuste

    cfg = {"SQL_SAM_ENGINE": "sqlserver", "SQL_SAM_HOST": "srv", "SQL_SAM_DB_NAME": "SAM"}
    db = DatabaseClient.from_config(cfg)
    assert db.query_timeout == 120 == int(SETTINGS_BY_NAME["SQL_SAM_TIMEOUT_CONSULTA_SEG"].default)
    assert db.max_retries == 3 and db.connect_timeout == 30
    assert "ODBC Driver 17 for SQL Server" in db.connection_string
    assert ajuste({"SAM_FALLOS_CONSECUTIVOS_ALERTA": 7}, "SAM_FALLOS_CONSECUTIVOS_ALERTA") == 7
