"""SAM schema: SAM.sql (SQL Server) and sam_sqlite.sql define the same tables, columns, views and
state lists; ensure_schema creates the SQLite DB on first start, idempotently."""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
import threading

import pytest

from common import execution_states as es
from common.database.schema import (
    SQLITE_SCHEMA_FILE,
    TABLES,
    VIEWS,
    ensure_schema,
    missing_tables,
    sqlite_schema_sql,
)
from common.database.sql_client import DatabaseClient, DatabaseError
from tests.sqlcheck import SAM_SQL_PATH, _split_top_level, sam_schema, split_batches, tokenize

SAM_TEXT = SAM_SQL_PATH.read_text(encoding="utf-8")


@pytest.fixture
def db(tmp_path):
    client = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "data" / "sam.db")
    ensure_schema(client)
    yield client
    client.close_all()


def _sqlite_columns(conn: sqlite3.Connection, name: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({name})")]


@pytest.fixture(scope="module")
def mem():
    conn = sqlite3.connect(":memory:")
    conn.executescript(sqlite_schema_sql())
    yield conn
    conn.close()


# --- parity between the two engines -----------------------------------------------------------


def test_same_tables_and_columns_in_sam_sql_and_sqlite(mem):
    schema = sam_schema()
    sqlite_tables = {
        r[0]
        for r in mem.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if r[0] != "sqlite_sequence"
    }
    assert sqlite_tables == set(TABLES)
    assert {schema.names[k] for k in schema.tables} == set(TABLES)
    for table in TABLES:
        assert _sqlite_columns(mem, table) == schema.columns(table), table


def test_same_views_and_view_columns(mem):
    schema = sam_schema()
    sqlite_views = {r[0] for r in mem.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert sqlite_views == set(VIEWS)
    assert {schema.names[k] for k in schema.views} == set(VIEWS)
    for view in VIEWS:
        assert _sqlite_columns(mem, view) == schema.columns(view), view


def _sam_sql_defaults() -> dict[tuple[str, str], str]:
    """(table, column) -> DEFAULT expression text from the CREATE TABLE blocks of SAM.sql."""
    out = {}
    for batch in split_batches(SAM_TEXT):
        m = re.search(r"CREATE TABLE dbo\.(\w+) \((.*)\);\s*END;", batch, re.DOTALL)
        if not m:
            continue
        for item in _split_top_level(m.group(2)):
            toks = tokenize(item)
            d = re.search(r"\bDEFAULT \((.*)\)$", item)
            if d:
                out[(m.group(1), toks[0].text)] = d.group(1)
    return out


def test_defaults_match_between_engines(mem):
    defaults = _sam_sql_defaults()
    assert defaults[("Robots", "MaxEquipos")] == "-1"
    for (table, column), expr in defaults.items():
        info = {r[1]: r[4] for r in mem.execute(f"PRAGMA table_info({table})")}
        lite = info[column]
        if expr == "GETDATE()":
            assert lite is not None and "localtime" in lite, (table, column)
        else:
            norm = expr[1:] if expr.startswith("N'") else expr
            assert lite == norm, (table, column, expr, lite)


def test_contract_defaults_in_sqlite(db):
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'P1_Bot')")
    db.execute("INSERT INTO Equipos (EquipoId, Equipo) VALUES (10, 'VM10')")
    db.execute(
        "INSERT INTO Programaciones (RobotId, TipoProgramacion, HoraInicio) VALUES (1, 'Diaria', ?)",
        (dt.time(8),),
    )
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId) VALUES (1, 10)")
    robot = db.query_one("SELECT * FROM Robots")
    assert (robot["EsOnline"], robot["Activo"], robot["MinEquipos"], robot["MaxEquipos"]) == (0, 1, 1, -1)
    assert (robot["PrioridadBalanceo"], robot["TicketsPorEquipoAdicional"], robot["ExisteEnA360"]) == (
        100,
        None,
        1,
    )
    equipo = db.query_one("SELECT * FROM Equipos")
    assert (equipo["Activo_SAM"], equipo["PermiteBalanceoDinamico"], equipo["UsuarioActivoA360"]) == (1, 1, 1)
    prog = db.query_one("SELECT * FROM Programaciones")
    assert (prog["Tolerancia"], prog["Activo"], prog["HoraInicio"]) == (60, 1, dt.time(8))
    asig = db.query_one("SELECT * FROM Asignaciones")
    assert (asig["EsProgramado"], asig["Reservado"], asig["AsignadoPor"], asig["ProgramacionId"]) == (
        0,
        0,
        "Manual",
        None,
    )
    assert isinstance(asig["FechaAsignacion"], dt.datetime)


# --- state lists ------------------------------------------------------------------------------


def _not_in_list(text: str, view: str) -> set[str]:
    m = re.search(rf"VIEW (?:dbo\.)?{view}\b.*?Estado NOT IN \(([^)]*)\)", text, re.DOTALL | re.IGNORECASE)
    assert m, view
    return {s.strip().strip("'") for s in m.group(1).split(",")}


def test_ejecuciones_activas_terminal_list_matches_execution_states():
    """BEHAVIOUR §1: active = not terminal; the SQL lists are exactly TERMINAL_STATES."""
    assert _not_in_list(SAM_TEXT, "EjecucionesActivas") == set(es.TERMINAL_STATES)
    assert _not_in_list(sqlite_schema_sql(), "EjecucionesActivas") == set(es.TERMINAL_STATES)
    assert es.TERMINAL_SQL_LIST in SAM_TEXT
    assert es.TERMINAL_SQL_LIST in sqlite_schema_sql()


def test_ejecuciones_activas_view_returns_exactly_non_terminal_rows(db):
    states = sorted(es.TERMINAL_STATES | es.KNOWN_ACTIVE_STATES | {"ALGO_NUEVO"})
    now = dt.datetime(2024, 1, 1, 12, 0)
    db.executemany(
        "INSERT INTO Ejecuciones (RobotId, EquipoId, Estado, FechaInicio) VALUES (1, 1, ?, ?)",
        [(s, now) for s in states],
    )
    # An UNKNOWN closed after its tolerance (FechaFin set) no longer keeps its equipo busy (L5.4).
    db.execute(
        "INSERT INTO Ejecuciones (RobotId, EquipoId, Estado, FechaInicio, FechaFin) VALUES (1, 2, 'UNKNOWN', ?, ?)",
        (now, now),
    )
    rows = db.query("SELECT Estado, EquipoId FROM EjecucionesActivas")
    assert {r["Estado"] for r in rows} == {s for s in states if es.is_active(s)}
    assert all(r["EquipoId"] == 1 for r in rows)


# --- keys and constraints ---------------------------------------------------------------------


def test_deployment_id_unique_when_not_null(db):
    db.executemany(
        "INSERT INTO Ejecuciones (RobotId, EquipoId, Estado, DeploymentId) VALUES (1, 1, 'LANZANDO', ?)",
        [(None,), (None,), ("dep-1",)],
    )
    with pytest.raises(DatabaseError) as info:
        db.execute(
            "INSERT INTO Ejecuciones (RobotId, EquipoId, Estado, DeploymentId) VALUES (1, 1, 'DEPLOYED', 'dep-1')"
        )
    assert info.value.integrity


def test_asignaciones_primary_key_and_foreign_keys(db):
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'R')")
    db.execute("INSERT INTO Equipos (EquipoId, Equipo) VALUES (1, 'E')")
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId) VALUES (1, 1)")
    with pytest.raises(DatabaseError):
        db.execute("INSERT INTO Asignaciones (RobotId, EquipoId) VALUES (1, 1)")
    with pytest.raises(DatabaseError):
        db.execute("INSERT INTO Asignaciones (RobotId, EquipoId) VALUES (2, 1)")
    with pytest.raises(DatabaseError):
        db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, ProgramacionId) VALUES (1, 1, 99)")


def test_hot_query_indexes_exist_in_both_engines(db):
    names = {r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    for idx in (
        "UX_Ejecuciones_DeploymentId",
        "IX_Ejecuciones_Estado",
        "IX_Ejecuciones_EquipoId_Estado",
        "IX_Asignaciones_EquipoId",
    ):
        assert idx in names
        assert f"INDEX {idx}" in SAM_TEXT
    assert re.search(
        r"CREATE UNIQUE NONCLUSTERED INDEX UX_Ejecuciones_DeploymentId\s+ON dbo\.Ejecuciones \(DeploymentId\)\s+"
        r"WHERE DeploymentId IS NOT NULL;",
        SAM_TEXT,
    )
    assert "ON dbo.Ejecuciones (EquipoId, Estado)" in SAM_TEXT
    assert "ON dbo.Asignaciones (EquipoId)" in SAM_TEXT


# --- SAM.sql idempotency and procedures (static) ---------------------------------------------


def test_sam_sql_is_idempotent_by_construction():
    for batch in split_batches(SAM_TEXT):
        code = "\n".join(line for line in batch.splitlines() if not line.lstrip().startswith("--"))
        for m in re.finditer(r"\bCREATE\s+(?:UNIQUE\s+)?(?:NONCLUSTERED\s+)?(\w+)", code):
            kind = m.group(1).upper()
            if kind == "TABLE" and "#" in code[m.end() : m.end() + 3]:
                continue  # temp table inside a procedure
            if kind in ("OR",):
                continue  # CREATE OR ALTER
            head = code[: m.start()]
            if kind == "TABLE":
                if "CREATE PROCEDURE" in code or "CREATE OR ALTER PROCEDURE" in code:
                    continue
                assert re.search(r"IF OBJECT_ID\(N'dbo\.\w+', N'U'\) IS NULL", head), batch[:120]
            elif kind == "INDEX":
                assert "IF NOT EXISTS" in head, batch[:120]
            else:
                pytest.fail(f"CREATE {kind} sin CREATE OR ALTER / IF NOT EXISTS: {batch[:120]}")
    assert re.search(r"^SET NOCOUNT ON;", SAM_TEXT, re.MULTILINE)
    assert "SET QUOTED_IDENTIFIER ON;" in SAM_TEXT  # filtered index + procedures
    assert "-- @@PROCEDIMIENTOS_LANZADOR@@" in SAM_TEXT or "ObtenerRobotsEjecutables" in SAM_TEXT


def _procedure(name: str) -> str:
    m = re.search(
        rf"CREATE OR ALTER PROCEDURE dbo\.{name}\b(.*?)(?=^GO$)", SAM_TEXT, re.DOTALL | re.MULTILINE
    )
    assert m, name
    return m.group(1)


@pytest.mark.parametrize(
    "name",
    [
        "AsignarRobotOnline",
        "CargarProgramacionDiaria",
        "CargarProgramacionSemanal",
        "CargarProgramacionMensual",
        "CargarProgramacionEspecifica",
        "CargarProgramacionRangoMensual",
        "ActualizarProgramacion",
        "DesactivarProgramacion",
        "EliminarProgramacion",
    ],
)
def test_operator_procedures_log_to_errorlog_and_rethrow(name):
    body = _procedure(name)
    assert "SET NOCOUNT ON;" in body and "SET XACT_ABORT ON;" in body
    assert "BEGIN TRY" in body and "BEGIN CATCH" in body
    catch = body[body.index("BEGIN CATCH") :]
    assert "ROLLBACK TRANSACTION" in catch
    assert "dbo.RegistrarErrorSAM" in catch and re.search(r"\bTHROW;", catch)
    assert "INSERT INTO dbo.ErrorLog" in _procedure("RegistrarErrorSAM")


def test_scheduling_procedures_create_programado_assignments_with_programacion_id():
    body = _procedure("CargarProgramacionSAM")
    assert "BEGIN TRANSACTION;" in body and "COMMIT TRANSACTION;" in body
    assert re.search(
        r"SELECT DISTINCT @RobotId, q\.EquipoId, 1, 0, @Ahora, N'Programacion', @ProgramacionId", body
    )
    validar = _procedure("ValidarProgramacionSAM")  # shared with dbo.ActualizarProgramacion
    assert "EXEC dbo.ValidarProgramacionSAM" in body
    assert "THROW 50024" in validar  # invalid weekday token
    assert "THROW 50025" in validar  # invalid day of month
    assert "THROW 50026" in validar  # missing specific date
    resolver = _procedure("ResolverRobotYEquiposSAM")
    assert "no existe en dbo.Robots" in resolver and "no existe en dbo.Equipos" in resolver


# --- ensure_schema ----------------------------------------------------------------------------


def test_ensure_schema_creates_everything_on_first_start_and_is_idempotent(tmp_path):
    path = tmp_path / "nuevo" / "sam.db"
    client = DatabaseClient(engine="sqlite", sqlite_path=path)
    ensure_schema(client)
    client.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'R')")
    ensure_schema(client)  # second start: nothing lost, nothing fails
    assert client.query_one("SELECT COUNT(*) AS c FROM Robots")["c"] == 1
    assert missing_tables(client) == []
    client.close_all()
    assert path.exists()


def test_ensure_schema_concurrent_first_start(tmp_path):
    path = tmp_path / "sam.db"
    errors: list[BaseException] = []

    def start():
        c = DatabaseClient(engine="sqlite", sqlite_path=path)
        try:
            ensure_schema(c)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            c.close_all()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []


def test_ensure_schema_adds_columns_missing_from_an_older_sqlite_file(tmp_path):
    path = tmp_path / "viejo.db"
    old = sqlite3.connect(path)
    old.executescript(sqlite_schema_sql())
    old.executescript(
        "DROP VIEW EjecucionesActivas; DROP VIEW EjecucionesTodas; "
        "ALTER TABLE Ejecuciones DROP COLUMN AlertaDuracionEnviada;"
        "ALTER TABLE Robots DROP COLUMN ExisteEnA360;"
    )
    old.close()
    client = DatabaseClient(engine="sqlite", sqlite_path=path)
    ensure_schema(client)
    cols = [r["name"] for r in client.query("PRAGMA table_info(Ejecuciones)")]
    assert "AlertaDuracionEnviada" in cols
    client.execute("INSERT INTO Robots (RobotId, Robot) VALUES (5, 'R5')")
    assert client.query_one("SELECT ExisteEnA360 FROM Robots")["ExisteEnA360"] == 1
    client.close_all()


class _FakeSqlServer:
    engine = "sqlserver"

    def __init__(self, tables):
        self.tables = tables
        self.sql: list[str] = []

    def query(self, sql, params=()):
        self.sql.append(sql)
        return [{"Nombre": t} for t in self.tables]

    def describe(self):
        return "motor sqlserver, servidor srv, base de datos SAM"


def test_ensure_schema_on_sql_server_only_checks_and_names_sam_sql(caplog):
    fake = _FakeSqlServer(["Robots", "Equipos"])
    with caplog.at_level(logging.ERROR, logger="sam.database.schema"):
        ensure_schema(fake)
    assert "INFORMATION_SCHEMA.TABLES" in fake.sql[0]
    text = caplog.text
    # \b: "MapeoRobots" is missing, "Robots" is not.
    assert "SAM.sql" in text and "Ejecuciones" in text and not re.search(r"\bRobots\b", text)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="sam.database.schema"):
        ensure_schema(_FakeSqlServer(list(TABLES)))
    assert caplog.text == ""


def test_sqlite_schema_file_lives_beside_the_module():
    assert SQLITE_SCHEMA_FILE.name == "sam_sqlite.sql" and SQLITE_SCHEMA_FILE.exists()
