"""L2 and L7: the scenario table (tests/data/seleccion_escenarios.json) run against the SQLite twin of
``dbo.ObtenerRobotsEjecutables``. One parametrized test; each test id names the rule it proves."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from lanzador.database.seleccion import obtener_robots_ejecutables

DATA = Path(__file__).resolve().parent / "data" / "seleccion_escenarios.json"
DOC = json.loads(DATA.read_text(encoding="utf-8"))
DEFAULTS = DOC["valores_por_defecto"]
ESCENARIOS = DOC["escenarios"]


def _fill(defaults: dict, row: dict) -> dict:
    out = {}
    for key, value in defaults.items():
        if isinstance(value, str) and "{" in value:
            value = value.format(**row)
            if key.endswith("Id"):
                value = int(value)
        out[key] = value
    out.update(row)
    return out


def _insert(db: DatabaseClient, table: str, row: dict) -> None:
    cols = list(row)
    db.execute(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        [row[c] for c in cols],
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    client = DatabaseClient(engine="sqlite", sqlite_path=tmp_path_factory.mktemp("l2") / "sam.db")
    ensure_schema(client)
    yield client
    client.close_all()


def _load(db: DatabaseClient, esc: dict) -> None:
    for table in ("Ejecuciones", "Asignaciones", "Programaciones", "Equipos", "Robots"):
        db.execute(f"DELETE FROM {table}")
    for r in esc.get("robots", DEFAULTS["robots"]):
        _insert(db, "Robots", _fill(DEFAULTS["robot"], r))
    for e in esc.get("equipos", DEFAULTS["equipos"]):
        _insert(db, "Equipos", _fill(DEFAULTS["equipo"], e))
    for p in esc.get("programaciones", []):
        _insert(db, "Programaciones", _fill(DEFAULTS["programacion"], p))
    for a in esc.get("asignaciones", []):
        _insert(db, "Asignaciones", _fill(DEFAULTS["asignacion"], a))
    for x in esc.get("ejecuciones", []):
        _insert(db, "Ejecuciones", _fill(DEFAULTS["ejecucion"], x))


def _shape(rows) -> list[dict]:
    return [
        {
            "RobotId": r.robot_id,
            "EquipoId": r.equipo_id,
            "EsProgramado": 1 if r.es_programado else 0,
            "Hora": r.hora.strftime("%H:%M:%S") if r.hora else None,
            "FechaSlot": r.fecha_slot.isoformat() if r.fecha_slot else None,
        }
        for r in rows
    ]


def test_L2_scenario_ids_name_their_rule():
    ids = [e["id"] for e in ESCENARIOS]
    assert len(ids) == len(set(ids))
    assert all(i.startswith(("L2.1-", "L2.2-", "L2.3-", "L7.1-", "L7.2-", "L7.3-")) for i in ids)


@pytest.mark.parametrize("esc", ESCENARIOS, ids=[e["id"] for e in ESCENARIOS])
def test_L2_obtener_robots_ejecutables_sqlite(db, esc):
    _load(db, esc)
    rows = obtener_robots_ejecutables(
        db,
        datetime.fromisoformat(esc["ahora"]),
        espera_tras_fallo_seg=esc.get("espera_tras_fallo_seg", 300),
        tolerancia_unknown_min=esc.get("tolerancia_unknown_min", 120),
    )
    got = _shape(rows)
    assert got == esc["esperado"]
    # UserId always comes from the equipo (its default run-as user).
    for r in rows:
        eq = db.query_one("SELECT UserId FROM Equipos WHERE EquipoId = ?", (r.equipo_id,))
        assert r.user_id == eq["UserId"]
