"""Upgrading a SQLite SAM file created by an older version (common/database/schema.py).

SQLite cannot ALTER a CHECK or a default, so ``ensure_schema`` rebuilds a table whose stored
definition is not the current one (the TipoProgramacion CHECK without 'RangoMensual', a
FechaActualizacion added without its default), keeping rows, ids, AUTOINCREMENT sequences,
foreign keys, indexes, views and triggers. The "old" file is built with the schema script of
commit 50a9814 (tests/data/sam_sqlite_50a9814.sql), before L7 and pools existed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import datetime, time
from pathlib import Path

import pytest

from common.database.schema import (
    TABLES,
    _expected_sqlite_tables,
    ensure_schema,
    forma_canonica,
    missing_tables,
    tablas_desfasadas,
)
from common.database.sql_client import DatabaseClient, DatabaseError
from common.operaciones import programaciones as ops
from common.operaciones.auditoria import Actor
from common.programacion import Programacion
from lanzador.database.seleccion import obtener_robots_ejecutables

ANTIGUO = Path(__file__).resolve().parent / "data" / "sam_sqlite_50a9814.sql"
LOGGER = "sam.database.schema"
AHORA = datetime(2026, 3, 30, 12, 0, 0)  # Monday; the last 3 days of March are 29..31


def _archivo_antiguo(path: Path, extra: str = "") -> Path:
    """A SAM file as the old version left it: its schema, a few rows and their references."""
    conn = sqlite3.connect(path)
    conn.executescript(ANTIGUO.read_text(encoding="utf-8"))
    conn.executescript(
        """
        INSERT INTO Robots (RobotId, Robot, EsOnline, Activo) VALUES (1, 'P1_Diario', 0, 1);
        INSERT INTO Robots (RobotId, Robot, EsOnline, Activo) VALUES (2, 'P2_Rango', 0, 1);
        INSERT INTO Robots (RobotId, Robot, EsOnline, Activo) VALUES (3, 'P3_Ciclico', 0, 1);
        INSERT INTO Equipos (EquipoId, Equipo, UserId, Licencia, Activo_SAM, EstadoA360)
            VALUES (10, 'VM10', 1010, 'ATTENDEDRUNTIME', 1, 'CONNECTED');
        INSERT INTO Equipos (EquipoId, Equipo, UserId, Licencia, Activo_SAM, EstadoA360)
            VALUES (11, 'VM11', 1011, 'ATTENDEDRUNTIME', 1, 'CONNECTED');
        INSERT INTO Equipos (EquipoId, Equipo, UserId, Licencia, Activo_SAM, EstadoA360)
            VALUES (12, 'VM12', 1012, 'ATTENDEDRUNTIME', 1, 'CONNECTED');
        -- ids with gaps, and the highest one deleted: AUTOINCREMENT must not hand 9 out again
        INSERT INTO Programaciones (ProgramacionId, RobotId, TipoProgramacion, HoraInicio, Tolerancia, Activo)
            VALUES (4, 1, 'Diaria', '11:30', 60, 1);
        INSERT INTO Programaciones (ProgramacionId, RobotId, TipoProgramacion, HoraInicio, DiaSemana, Activo)
            VALUES (7, 1, 'Semanal', '06:00', 'Lu', 0);
        INSERT INTO Programaciones (ProgramacionId, RobotId, TipoProgramacion, HoraInicio) VALUES (9, 1, 'Diaria', '01:00');
        DELETE FROM Programaciones WHERE ProgramacionId = 9;
        INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, AsignadoPor, ProgramacionId)
            VALUES (1, 10, 1, 0, 'Programacion', 4);
        INSERT INTO Ejecuciones (EjecucionId, DeploymentId, RobotId, EquipoId, UserId, Estado, FechaInicio, FechaFin)
            VALUES (30, 'dep-30', 1, 10, 1010, 'COMPLETED', '2026-03-29 11:30:00', '2026-03-29 11:40:00');
        """
        + extra
    )
    conn.commit()
    conn.close()
    return path


def _cliente(path: Path) -> DatabaseClient:
    return DatabaseClient(engine="sqlite", sqlite_path=path)


def _definiciones(db: DatabaseClient) -> dict[str, str]:
    return {r["name"]: r["sql"] for r in db.query("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")}


@pytest.fixture()
def antiguo(tmp_path):
    path = _archivo_antiguo(tmp_path / "sam.db")
    client = _cliente(path)
    yield client
    client.close_all()


def test_the_old_file_really_refuses_rangomensual_before_the_upgrade(tmp_path):
    conn = sqlite3.connect(_archivo_antiguo(tmp_path / "viejo.db"))
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute(
            "INSERT INTO Programaciones (RobotId, TipoProgramacion, HoraInicio) VALUES (2, 'RangoMensual', '09:00')"
        )
    conn.close()


def test_L7_an_upgraded_file_takes_rangomensual_and_cyclic_schedules_and_the_selection_sees_them(antiguo, caplog):
    with caplog.at_level(logging.INFO, logger=LOGGER):
        ensure_schema(antiguo)
    assert "Programaciones" in caplog.text and "reconstruidas" in caplog.text
    assert missing_tables(antiguo) == []
    # Through the operations module, as an operator would (validation, overlap, audit).
    actor = Actor("prueba", "administrador")
    rango = ops.crear(antiguo, actor, Programacion(RobotId=2, TipoProgramacion="RangoMensual", HoraInicio=time(11, 45),
                                                   Tolerancia=60, UltimosDiasMes=3), [11], ahora=AHORA)
    ciclica = ops.crear(antiguo, actor, Programacion(RobotId=3, TipoProgramacion="Diaria", HoraInicio=time(8, 0),
                                                     HoraFin=time(17, 0), EsCiclico=True,
                                                     IntervaloEntreEjecuciones=0), [12], ahora=AHORA)
    assert (rango, ciclica) == (10, 11)  # after the old rows, never the deleted 9
    filas = {(r.robot_id, r.equipo_id) for r in obtener_robots_ejecutables(antiguo, AHORA)}
    assert filas == {(1, 10), (2, 11), (3, 12)}
    # A plain INSERT (no FechaActualizacion) gets the column's default on the rebuilt table.
    antiguo.execute("INSERT INTO Programaciones (RobotId, TipoProgramacion, HoraInicio, DiaInicioMes, DiaFinMes) "
                    "VALUES (2, 'RangoMensual', '20:00', 1, 31)")
    assert antiguo.query_one("SELECT COUNT(*) AS n FROM Programaciones WHERE FechaActualizacion IS NULL")["n"] == 0


def test_the_upgrade_keeps_rows_ids_and_references_and_is_idempotent(antiguo, caplog):
    ensure_schema(antiguo)
    primera = _definiciones(antiguo)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        ensure_schema(antiguo)
    assert "reconstruida" not in caplog.text
    assert _definiciones(antiguo) == primera
    filas = antiguo.query("SELECT ProgramacionId, RobotId, TipoProgramacion, HoraInicio, DiaSemana, Activo, "
                          "EsCiclico, Tolerancia FROM Programaciones ORDER BY ProgramacionId")
    assert [(f["ProgramacionId"], f["TipoProgramacion"], f["DiaSemana"], f["Activo"], f["EsCiclico"]) for f in filas] == [
        (4, "Diaria", None, 1, 0), (7, "Semanal", "Lu", 0, 0)]
    assert filas[0]["HoraInicio"] == time(11, 30) and filas[0]["Tolerancia"] == 60
    # Rows the old version wrote get the value code reads (FechaActualizacion is the write version).
    assert all(r["FechaActualizacion"] is not None for r in antiguo.query("SELECT FechaActualizacion FROM Programaciones"))
    assert antiguo.query_one("SELECT seq FROM sqlite_sequence WHERE name = 'Programaciones'")["seq"] == 9
    asign = antiguo.query_one("SELECT RobotId, EquipoId, ProgramacionId FROM Asignaciones")
    assert (asign["RobotId"], asign["EquipoId"], asign["ProgramacionId"]) == (1, 10, 4)
    assert antiguo.query_one("SELECT EjecucionId FROM Ejecuciones WHERE DeploymentId = 'dep-30'")["EjecucionId"] == 30


def test_other_tables_foreign_keys_stay_intact_and_enforced(antiguo):
    ensure_schema(antiguo)
    assert antiguo.query("PRAGMA foreign_key_check") == []
    assert antiguo.query_one("PRAGMA foreign_keys")["foreign_keys"] == 1
    referencias = {(r["table"], r["from"]) for r in antiguo.query("PRAGMA foreign_key_list(Asignaciones)")}
    assert referencias == {("Programaciones", "ProgramacionId"), ("Equipos", "EquipoId"), ("Robots", "RobotId")}
    with pytest.raises(DatabaseError):
        antiguo.execute("INSERT INTO Asignaciones (RobotId, EquipoId, ProgramacionId) VALUES (1, 11, 999)")
    with pytest.raises(DatabaseError):
        antiguo.execute("DELETE FROM Programaciones WHERE ProgramacionId = 4")  # still referenced


def test_the_rebuilt_table_has_exactly_the_current_definition(antiguo):
    ensure_schema(antiguo)
    guardadas = {t: antiguo.query_one("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (t,))["sql"]
                 for t in TABLES}
    assert tablas_desfasadas(guardadas, _expected_sqlite_tables()) == []
    cols = {r["name"]: r for r in antiguo.query("PRAGMA table_info(Programaciones)")}
    assert cols["FechaActualizacion"]["notnull"] == 1 and "strftime" in cols["FechaActualizacion"]["dflt_value"]


def test_a_column_an_older_version_added_without_its_default_gets_it_and_its_rows_a_value(tmp_path):
    path = _archivo_antiguo(tmp_path / "sam.db",
                            "ALTER TABLE Programaciones ADD COLUMN FechaActualizacion DATETIME NULL;")
    db = _cliente(path)
    try:
        ensure_schema(db)
        assert db.query("SELECT ProgramacionId FROM Programaciones WHERE FechaActualizacion IS NULL") == []
        db.execute("INSERT INTO Programaciones (RobotId, TipoProgramacion, HoraInicio) VALUES (1, 'Diaria', '03:00')")
        fila = db.query_one("SELECT FechaActualizacion FROM Programaciones ORDER BY ProgramacionId DESC LIMIT 1")
        assert isinstance(fila["FechaActualizacion"], datetime)
    finally:
        db.close_all()


def test_views_triggers_and_indexes_of_the_operator_survive_the_rebuild(tmp_path):
    extra = """
        CREATE TABLE NotasOperador (Id INTEGER PRIMARY KEY, Texto TEXT);
        CREATE INDEX IX_Operador_Programaciones_Tipo ON Programaciones (TipoProgramacion);
        CREATE VIEW VistaOperador AS SELECT p.ProgramacionId, r.Robot FROM Programaciones p JOIN Robots r
            ON r.RobotId = p.RobotId;
        CREATE TRIGGER TrOperador AFTER INSERT ON Programaciones BEGIN
            INSERT INTO NotasOperador (Texto) VALUES ('nueva ' || NEW.ProgramacionId); END;
    """
    db = _cliente(_archivo_antiguo(tmp_path / "sam.db", extra))
    try:
        ensure_schema(db)
        nombres = {r["name"] for r in db.query("SELECT name FROM sqlite_master")}
        assert {"IX_Operador_Programaciones_Tipo", "VistaOperador", "TrOperador", "IX_Programaciones_RobotId"} <= nombres
        assert [r["Robot"] for r in db.query("SELECT Robot FROM VistaOperador ORDER BY ProgramacionId")] == [
            "P1_Diario", "P1_Diario"]
        db.execute("INSERT INTO Programaciones (RobotId, TipoProgramacion, HoraInicio, UltimosDiasMes) "
                   "VALUES (2, 'RangoMensual', '09:00', 3)")
        assert db.query_one("SELECT Texto FROM NotasOperador")["Texto"] == "nueva 10"
    finally:
        db.close_all()


def test_a_table_with_columns_this_version_does_not_know_is_left_alone_and_said_so(tmp_path, caplog):
    db = _cliente(_archivo_antiguo(tmp_path / "sam.db",
                                   "ALTER TABLE Programaciones ADD COLUMN CampoPropio TEXT NULL;"
                                   "UPDATE Programaciones SET CampoPropio = 'conservar';"))
    try:
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            ensure_schema(db)
        assert "Programaciones" in caplog.text and "CampoPropio" in caplog.text and "no se reconstruye" in caplog.text
        assert db.query_one("SELECT COUNT(*) AS n FROM Programaciones WHERE CampoPropio = 'conservar'")["n"] == 2
        # the columns of this version are still added (ALTER TABLE ADD COLUMN), the others rebuilt
        cols = {r["name"] for r in db.query("PRAGMA table_info(Programaciones)")}
        assert {"EsCiclico", "UltimosDiasMes", "FechaActualizacion"} <= cols
        assert "PoolId" in {r["name"] for r in db.query("PRAGMA table_info(Robots)")}
    finally:
        db.close_all()


def test_a_rebuild_the_old_rows_cannot_satisfy_is_rolled_back_and_logged_and_start_up_goes_on(tmp_path, caplog):
    # An old Mantenimiento-like case: a column the current schema declares NOT NULL without a
    # default holds NULL in an old row, so the copy fails; nothing of that table may be lost.
    extra = """
        CREATE TABLE Pools (PoolId INTEGER PRIMARY KEY AUTOINCREMENT, Nombre TEXT NULL, Activo INTEGER NOT NULL DEFAULT 1);
        INSERT INTO Pools (PoolId, Nombre) VALUES (1, NULL);
    """
    db = _cliente(_archivo_antiguo(tmp_path / "sam.db", extra))
    try:
        with caplog.at_level(logging.INFO, logger=LOGGER):
            ensure_schema(db)
        errores = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errores) == 1 and "Pools" in errores[0] and "se conserva la anterior" in errores[0]
        assert db.query_one("SELECT COUNT(*) AS n FROM Pools")["n"] == 1
        assert "Programaciones" in caplog.text  # the other tables were rebuilt all the same
        assert missing_tables(db) == []
        assert db.query_one("PRAGMA foreign_keys")["foreign_keys"] == 1
    finally:
        db.close_all()


def test_two_processes_upgrading_the_same_file_at_once_rebuild_it_once(tmp_path):
    path = _archivo_antiguo(tmp_path / "sam.db")
    errores: list[BaseException] = []

    def arrancar() -> None:
        c = _cliente(path)
        try:
            ensure_schema(c)
        except BaseException as exc:  # pragma: no cover - reported below
            errores.append(exc)
        finally:
            c.close_all()

    hilos = [threading.Thread(target=arrancar) for _ in range(3)]
    for h in hilos:
        h.start()
    for h in hilos:
        h.join(60)
    assert errores == []
    db = _cliente(path)
    try:
        assert db.query_one("SELECT COUNT(*) AS n FROM Programaciones")["n"] == 2
        assert db.query("PRAGMA foreign_key_check") == []
    finally:
        db.close_all()


@pytest.mark.parametrize(("a", "b", "iguales"), [
    ("CREATE TABLE IF NOT EXISTS T (\n  a INT -- note\n, b TEXT DEFAULT 'x  y')", 'CREATE TABLE "T" (a int,b TEXT DEFAULT \'x  y\')', True),
    ("CREATE TABLE T (a INT CHECK (a IN ('A', 'B')))", "CREATE TABLE T (a INT CHECK (a IN ('A', 'B', 'C')))", False),
    ("CREATE TABLE T (a TEXT DEFAULT 'x')", "CREATE TABLE T (a TEXT DEFAULT 'X')", False),  # literals keep case
    ("CREATE TABLE T (a INT, /* c */ b INT)", "CREATE TABLE T (a INT, b INT NOT NULL)", False),
])
def test_canonical_form_ignores_layout_but_not_definitions(a, b, iguales):
    assert (forma_canonica(a) == forma_canonica(b)) is iguales


def test_a_fresh_schema_has_nothing_to_rebuild(db):
    guardadas = {t: db.query_one("SELECT sql FROM sqlite_master WHERE name = ?", (t,))["sql"] for t in TABLES}
    assert tablas_desfasadas(guardadas, _expected_sqlite_tables()) == []
