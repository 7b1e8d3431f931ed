"""The rpa360 ticket source on SQLite (ARCHITECTURE §4, BEHAVIOUR §7 B2)."""

from __future__ import annotations

import sqlite3

import pytest

from balanceador.clients.fuentes import read_all
from balanceador.clients.rpa360_client import Rpa360Source, parse_rows
from common.database import sentencias
from common.database.sql_client import DatabaseClient


class _SqliteQueryOnly:
    engine = "sqlite"

    def __init__(self, path):
        self.path = path

    def query(self, sql, params=(), require_result_set=False):
        con = sqlite3.connect(self.path)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(sql, params).fetchall()]
        finally:
            con.close()

    def close_all(self):
        pass


def _db(path):
    if DatabaseClient is not None:
        return DatabaseClient(engine="sqlite", sqlite_path=path, name="RPA360")
    return _SqliteQueryOnly(path)


def _make(path, with_id, rows):
    con = sqlite3.connect(path)
    if with_id:
        con.execute("CREATE TABLE TicketsPendientesPorRobot (Robot TEXT, RobotId INTEGER NULL, CantidadTickets INTEGER)")
        con.executemany("INSERT INTO TicketsPendientesPorRobot VALUES (?, ?, ?)", rows)
    else:
        con.execute("CREATE TABLE TicketsPendientesPorRobot (Robot TEXT, CantidadTickets INTEGER)")
        con.executemany("INSERT INTO TicketsPendientesPorRobot VALUES (?, ?)", rows)
    con.commit()
    con.close()


def test_B2_rpa360_sqlite_with_robot_id(tmp_path):
    path = tmp_path / "rpa360.db"
    _make(path, True, [("RobotA", 1, 12), ("Robot 'B'", None, 0), ("Ñandú\tbot", 7, 3)])
    src = Rpa360Source(_db(path))
    try:
        rows = src.read()
    finally:
        src.close()
    assert sorted(rows) == sorted([("RobotA", 1, 12), ("Robot 'B'", None, 0), ("Ñandú\tbot", 7, 3)])


def test_B2_rpa360_sqlite_without_robot_id_column(tmp_path):
    path = tmp_path / "rpa360.db"
    _make(path, False, [("RobotA", 4), ("RobotB", None)])
    src = Rpa360Source(_db(path))
    assert sorted(src.read()) == [("RobotA", None, 4), ("RobotB", None, 0)]


def test_B2_rpa360_missing_table_is_a_failure_not_zero_tickets(tmp_path):
    path = tmp_path / "rpa360.db"
    sqlite3.connect(path).close()
    (result,) = read_all([Rpa360Source(_db(path))], None)
    assert result.ok is False and result.rows == ()
    assert "TicketsPendientesPorRobot" in result.error


def test_B2_rpa360_bad_count_fails_the_whole_source(tmp_path):
    path = tmp_path / "rpa360.db"
    _make(path, True, [("RobotA", 1, 3), ("RobotB", 2, "muchos")])
    (result,) = read_all([Rpa360Source(_db(path))], None)
    assert result.ok is False and "CantidadTickets" in result.error


def test_B2_rpa360_sqlserver_runs_the_procedure():
    class FakeSqlServer:
        engine = "sqlserver"

        def __init__(self):
            self.sql = []

        def query(self, sql, params=(), require_result_set=False):
            assert require_result_set  # no result set at all must fail, not read as zero tickets
            self.sql.append(sql)
            return [{"Robot": "RobotA", "RobotId": 5, "CantidadTickets": 9}, {"Robot": "RobotB", "CantidadTickets": 2}]

    db = FakeSqlServer()
    assert Rpa360Source(db).read() == [("RobotA", 5, 9), ("RobotB", None, 2)]
    assert db.sql == [sentencias.sentencia("rpa360.tickets_pendientes").tsql]
    assert db.sql[0].startswith("EXEC dbo.usp_obtener_tickets_pendientes_por_robot")


def test_B2_rpa360_db_error_is_reported_in_spanish():
    class Broken:
        engine = "sqlserver"

        def query(self, sql, params=(), require_result_set=False):
            raise RuntimeError("conexión perdida")

    (result,) = read_all([Rpa360Source(Broken())], None)
    assert result.ok is False and "rpa360" in result.error and "conexión perdida" in result.error


@pytest.mark.parametrize(
    "rows",
    [[{"Robot": "A"}], [{"Robot": None, "RobotId": None, "CantidadTickets": 1}], [{"Robot": "A", "CantidadTickets": -2}]],
)
def test_B2_rpa360_parse_rows_strict(rows):
    from balanceador.clients.base import SourceError

    with pytest.raises(SourceError):
        parse_rows(rows)


def test_B2_B10_rpa360_missing_sqlite_file_is_a_failure_and_is_not_created(tmp_path):
    """A missing rpa360 file is a failed read (never zero tickets) and the source does not create
    an empty file (``--simular`` must change nothing)."""
    path = tmp_path / "no_existe" / "rpa360.db"
    (result,) = read_all([Rpa360Source(_db(path))], None)
    assert result.ok is False and result.rows == ()
    assert "no existe" in result.error and str(path) in result.error
    assert not path.exists() and not path.parent.exists()
