"""L7 schema: the new Programaciones columns on both engines, and an older SQLite file upgraded."""

from __future__ import annotations

import sqlite3

from common.database.schema import _add_missing_sqlite_columns, ensure_schema, sqlite_schema_sql
from common.database.sql_client import DatabaseClient
from common.paths import SAM_SQL

NUEVAS = ("EsCiclico", "HoraFin", "FechaInicioVentana", "FechaFinVentana", "IntervaloEntreEjecuciones",
          "DiaInicioMes", "DiaFinMes", "UltimosDiasMes", "FechaActualizacion")

# Programaciones as the SQLite schema had it before L7.
PROGRAMACIONES_ANTIGUA = """
CREATE TABLE Programaciones (
    ProgramacionId   INTEGER PRIMARY KEY AUTOINCREMENT,
    RobotId          INTEGER NOT NULL REFERENCES Robots (RobotId),
    TipoProgramacion TEXT NOT NULL,
    HoraInicio       TIME NOT NULL,
    DiaSemana        TEXT NULL,
    DiaDelMes        INTEGER NULL,
    FechaEspecifica  DATE NULL,
    Tolerancia       INTEGER NULL DEFAULT 60,
    Activo           INTEGER NOT NULL DEFAULT 1
);
"""


def test_L7_1_sam_sql_adds_every_new_column_to_an_existing_table():
    text = SAM_SQL.read_text(encoding="utf-8")
    for col in NUEVAS:
        assert f"IF COL_LENGTH(N'dbo.Programaciones', N'{col}') IS NULL" in text, col
    assert "CONSTRAINT DF_Programaciones_EsCiclico DEFAULT (0)" in text
    assert "N'ESPECIFICA', N'RANGOMENSUAL'))" in text  # the type check admits RangoMensual
    # An existing database keeps its legacy rows: the replaced type check is added WITH NOCHECK.
    assert "ALTER TABLE dbo.Programaciones WITH NOCHECK ADD CONSTRAINT CK_Programaciones_Tipo" in text


def test_L7_1_fresh_sqlite_schema_has_the_columns_and_accepts_rango_mensual(tmp_path):
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(db)
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'R1')")
    db.execute("INSERT INTO Programaciones (RobotId, TipoProgramacion, HoraInicio, UltimosDiasMes) "
               "VALUES (1, 'RangoMensual', '08:00:00', 3)")
    fila = db.query_one("SELECT * FROM Programaciones")
    assert fila["EsCiclico"] == 0 and fila["UltimosDiasMes"] == 3 and fila["FechaActualizacion"] is not None
    db.close_all()


def test_L7_1_an_older_sqlite_file_gets_the_new_columns_idempotently(tmp_path):
    path = tmp_path / "viejo.db"
    old = sqlite3.connect(path)
    script = sqlite_schema_sql()
    old.executescript(script)
    old.executescript("PRAGMA foreign_keys = OFF; DROP TABLE Programaciones;" + PROGRAMACIONES_ANTIGUA)
    old.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'R1')")
    old.execute("INSERT INTO Programaciones (RobotId, TipoProgramacion, HoraInicio) VALUES (1, 'Diaria', '08:00:00')")
    old.commit()
    old.close()
    db = DatabaseClient(engine="sqlite", sqlite_path=path)
    ensure_schema(db)
    cols = [r["name"] for r in db.query("PRAGMA table_info(Programaciones)")]
    assert all(c in cols for c in NUEVAS), cols
    fila = db.query_one("SELECT * FROM Programaciones")
    assert fila["EsCiclico"] == 0 and fila["HoraFin"] is None  # the legacy row stays one-shot
    ensure_schema(db)  # idempotent
    assert _add_missing_sqlite_columns(db) == []
    db.close_all()
