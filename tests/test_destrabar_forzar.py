"""L8.1 wiring of the LANZANDO guard: a LANZANDO row younger than LANZADOR_LANZANDO_TIMEOUT_SEG is
refused by ``python -m consola ejecuciones destrabar`` (a real subprocess) and by the console's
``POST /ejecuciones/<id>/destrabar`` unless forced (``--forzar`` / the «forzar» checkbox); the forced
close is audited ``forzado``. Both front ends pass the configured timeout, not a constant."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from common.database import ejecuciones as E
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.operaciones import auditoria
from common.paths import PROJECT_ROOT
from tests.consola_apoyo import app_de_prueba, entrar, token

ZONA = "Europe/Madrid"


def _estado(db, eid: int) -> dict:
    return db.query_one("SELECT Estado, FechaFin, MensajeError FROM Ejecuciones WHERE EjecucionId = ?", (eid,))


def _resultados(db) -> list[str]:
    return [a["Resultado"] for a in auditoria.de_entidad(db, "Ejecuciones")]


# --- CLI (real subprocess) ------------------------------------------------------------------
@pytest.fixture
def base(tmp_path):
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(db)
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'P1_Facturas')")
    db.execute("INSERT INTO Equipos (EquipoId, Equipo) VALUES (10, 'VMRPA10')")
    yield tmp_path, db
    db.close_all()


def _lanzando(db, edad: timedelta) -> int:
    """A LANZANDO intent started ``edad`` ago on SAM's clock (the CLI compares in SAM's zone)."""
    inicio = datetime.now(ZoneInfo(ZONA)).replace(tzinfo=None) - edad
    return E.insert_intent(db, robot_id=1, equipo_id=10, user_id=1, hora=None, fecha_slot=None, now=inicio)


def _cli(tmp_path, *args, **entorno):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SQL_", "CONSOLA_", "LOG_", "PYTHONPATH", "SAM_", "LANZADOR_"))}
    env.update(SQL_SAM_ENGINE="sqlite", SQL_SAM_SQLITE_PATH=str(tmp_path / "sam.db"), SAM_ZONA_HORARIA=ZONA,
               LOG_DIRECTORY=str(tmp_path / "logs"), PYTHONIOENCODING="utf-8", **entorno)
    return subprocess.run([sys.executable, "-m", "consola", *args], text=True, capture_output=True, env=env,
                          cwd=PROJECT_ROOT, timeout=180, encoding="utf-8")


def test_L8_1_cli_refuses_a_young_launch_with_exit_1_and_forzar_closes_it_audited(base):
    tmp_path, db = base
    eid = _lanzando(db, timedelta(seconds=60))
    r = _cli(tmp_path, "ejecuciones", "destrabar", str(eid), "--motivo", "x")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "LANZANDO desde hace" in r.stderr and "LANZADOR_LANZANDO_TIMEOUT_SEG (900 s)" in r.stderr
    assert _estado(db, eid)["Estado"] == "LANZANDO" and _estado(db, eid)["FechaFin"] is None
    assert _resultados(db) == ["rechazado"]

    r = _cli(tmp_path, "ejecuciones", "destrabar", str(eid), "--motivo", "x", "--forzar", "--json")
    assert r.returncode == 0, (r.stdout, r.stderr)
    salida = json.loads(r.stdout)
    assert salida["Estado"] == "RUN_ABORTED" and "destrabada" in salida["mensaje"]
    fila = _estado(db, eid)
    assert fila["Estado"] == "RUN_ABORTED" and fila["FechaFin"] is not None and fila["MensajeError"].endswith(": x")
    assert _resultados(db) == ["rechazado", "forzado"]
    assert auditoria.de_entidad(db, "Ejecuciones")[-1]["Usuario"].startswith("cli:")


def test_L8_1_cli_uses_the_configured_lanzando_timeout(base):
    tmp_path, db = base
    eid = _lanzando(db, timedelta(seconds=300))
    r = _cli(tmp_path, "ejecuciones", "destrabar", str(eid), "--motivo", "x", LANZADOR_LANZANDO_TIMEOUT_SEG="3600")
    assert r.returncode == 1 and "LANZADOR_LANZANDO_TIMEOUT_SEG (3600 s)" in r.stderr, (r.stdout, r.stderr)
    r = _cli(tmp_path, "ejecuciones", "destrabar", str(eid), "--motivo", "x", LANZADOR_LANZANDO_TIMEOUT_SEG="120")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert _estado(db, eid)["Estado"] == "RUN_ABORTED" and _resultados(db) == ["rechazado", "ok"]


# --- console (Flask test client over a SQLite SAM DB) ---------------------------------------
def _consola(tmp_path, **extra):
    app, db, clock = app_de_prueba(tmp_path, **extra)
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'P1_Facturas')")
    db.execute("INSERT INTO Equipos (EquipoId, Equipo) VALUES (10, 'VMRPA10')")
    c = app.test_client()
    assert entrar(c, "operador").status_code == 303
    c.csrf = token(c, "/")
    inicio = clock.now_local().replace(tzinfo=None) - timedelta(seconds=60)
    eid = E.insert_intent(db, robot_id=1, equipo_id=10, user_id=1, hora=None, fecha_slot=None, now=inicio)
    return c, db, eid


@pytest.fixture
def consola(tmp_path):
    c, db, eid = _consola(tmp_path)
    yield c, db, eid
    db.close_all()


def _destrabar(c, eid: int, **datos):
    return c.post(f"/ejecuciones/{eid}/destrabar", data={"csrf_token": c.csrf, "motivo": "VM colgada", **datos})


def test_L8_1_the_execution_page_offers_the_forzar_checkbox(consola):
    c, _, eid = consola
    cuerpo = c.get(f"/ejecuciones/{eid}").get_data(as_text=True)
    assert 'id="form-destrabar"' in cuerpo and 'name="forzar"' in cuerpo


def test_L8_1_console_refuses_a_young_launch_without_the_checkbox_and_closes_it_with_it(consola):
    c, db, eid = consola
    r = _destrabar(c, eid)
    assert r.status_code == 409
    cuerpo = r.get_data(as_text=True)
    assert "LANZANDO desde hace 60 s" in cuerpo and "LANZADOR_LANZANDO_TIMEOUT_SEG (900 s)" in cuerpo
    assert 'name="forzar"' in cuerpo and "VM colgada" in cuerpo  # the form is re-shown to retry forced
    assert _estado(db, eid)["Estado"] == "LANZANDO" and _resultados(db) == ["rechazado"]

    r = _destrabar(c, eid, forzar="1")
    assert r.status_code == 303 and r.headers["Location"] == f"/ejecuciones/{eid}"
    fila = _estado(db, eid)
    assert fila["Estado"] == "RUN_ABORTED" and "VM colgada" in fila["MensajeError"]
    assert _resultados(db) == ["rechazado", "forzado"]
    ultima = auditoria.de_entidad(db, "Ejecuciones")[-1]
    assert ultima["Usuario"] == "operador" and ultima["Rol"] == "operador"


def test_L8_1_console_json_refusal_names_the_guard(consola):
    c, db, eid = consola
    r = c.post(f"/ejecuciones/{eid}/destrabar", data={"csrf_token": c.csrf, "motivo": "x"},
               headers={"Accept": "application/json"})
    assert r.status_code == 409 and r.get_json()["estado"] == "rechazado"
    assert "LANZADOR_LANZANDO_TIMEOUT_SEG" in r.get_json()["mensaje"]
    assert _estado(db, eid)["Estado"] == "LANZANDO"


def test_L8_1_console_uses_the_configured_lanzando_timeout(tmp_path):
    c, db, eid = _consola(tmp_path, LANZADOR_LANZANDO_TIMEOUT_SEG="30")
    try:
        r = _destrabar(c, eid)
        assert r.status_code == 303, r.get_data(as_text=True)
        assert _estado(db, eid)["Estado"] == "RUN_ABORTED" and _resultados(db) == ["ok"]
    finally:
        db.close_all()
