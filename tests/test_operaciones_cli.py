"""``python -m consola robots|equipos|asignaciones|pools|mapeos|programaciones|ajustes ...`` as real
subprocesses on a SQLite SAM DB (CONSOLE §4): Spanish output, exit codes 0 done / 1 refused / 2 wrong
arguments, ``--json``, a stale ``--version-leida`` refused with the difference, audited as ``cli:<user>``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.operaciones import auditoria
from common.paths import PROJECT_ROOT


@pytest.fixture
def base(tmp_path):
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(db)
    db.executemany("INSERT INTO Robots (RobotId, Robot) VALUES (?, ?)", [(1, "P1_Facturas"), (2, "P2_Pagos")])
    db.executemany("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)", [(10, "VMRPA10"), (11, "VMRPA11")])
    yield tmp_path, db
    db.close_all()


def _cli(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQL_", "CONSOLA_", "LOG_", "PYTHONPATH"))}
    env.update(SQL_SAM_ENGINE="sqlite", SQL_SAM_SQLITE_PATH=str(tmp_path / "sam.db"),
               LOG_DIRECTORY=str(tmp_path / "logs"), PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "consola", *args], text=True, capture_output=True, env=env,
                          cwd=PROJECT_ROOT, timeout=120, encoding="utf-8")


def test_robots_cambiar_json_then_stale_version_refused_exit_1_and_audited_as_cli(base):
    tmp_path, db = base
    r = _cli(tmp_path, "robots", "mostrar", "1", "--json")
    assert r.returncode == 0, r.stderr
    version = json.loads(r.stdout)["FechaActualizacion"]
    r = _cli(tmp_path, "robots", "cambiar", "1", "--MinEquipos", "2", "--MaxEquipos", "4", "--version-leida", version,
             "--json")
    assert r.returncode == 0, r.stderr
    salida = json.loads(r.stdout)
    assert salida["estado"] == "aplicado" and salida["fila"]["MinEquipos"] == 2
    assert db.query_one("SELECT MinEquipos, MaxEquipos FROM Robots WHERE RobotId = 1") == \
        {"MinEquipos": 2, "MaxEquipos": 4}
    # the same command again: the version is stale but the values are there -> applied once
    r = _cli(tmp_path, "robots", "cambiar", "1", "--MinEquipos", "2", "--MaxEquipos", "4", "--version-leida", version)
    assert r.returncode == 0 and "Ya aplicado" in r.stdout
    # another value with the old version -> conflict, nothing written
    r = _cli(tmp_path, "robots", "cambiar", "1", "--MinEquipos", "3", "--version-leida", version)
    assert r.returncode == 1
    assert "no se ha guardado nada" in r.stderr and "- MinEquipos: 3 / 2" in r.stderr
    assert db.query_one("SELECT MinEquipos FROM Robots WHERE RobotId = 1")["MinEquipos"] == 2
    auds = auditoria.de_entidad(db, "Robots")
    assert [a["Resultado"] for a in auds] == ["ok", "conflicto"]
    assert auds[0]["Usuario"].startswith("cli:") and auds[0]["Rol"] == "administrador"


def test_refusals_exit_1_and_wrong_arguments_exit_2(base):
    tmp_path, db = base
    r = _cli(tmp_path, "robots", "cambiar", "1", "--MinEquipos", "5", "--MaxEquipos", "2")
    assert r.returncode == 1 and "MinEquipos (5) no puede ser mayor que MaxEquipos (2)" in r.stderr
    r = _cli(tmp_path, "robots", "cambiar", "1", "--Parametros", '{"a": [1]}', "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["estado"] == "rechazado"
    assert _cli(tmp_path, "robots", "cambiar", "uno", "--MinEquipos", "2").returncode == 2
    assert _cli(tmp_path, "robots", "cambiar", "1").returncode == 2
    r = _cli(tmp_path, "robots", "cambiar", "1", "--MinEquipos", "2", "--version-leida", "ayer")
    assert r.returncode == 2 and "versión no válida" in r.stderr
    assert _cli(tmp_path, "robots", "mostrar", "99").returncode == 1


def test_listings_assignments_pools_mappings_from_the_command_line(base):
    tmp_path, db = base
    r = _cli(tmp_path, "robots", "listar")
    assert r.returncode == 0 and "P1_Facturas" in r.stdout and "MinEquipos" in r.stdout
    assert _cli(tmp_path, "equipos", "cambiar", "11", "--Activo_SAM", "no").returncode == 0
    assert '"Activo_SAM": 0' in _cli(tmp_path, "equipos", "listar", "--json").stdout
    r = _cli(tmp_path, "asignaciones", "reservar", "1", "10")
    assert r.returncode == 0 and "Equipos reservados para el robot P1_Facturas: VMRPA10" in r.stdout
    assert "Manual" in _cli(tmp_path, "asignaciones", "listar").stdout
    assert "Ya aplicado" in _cli(tmp_path, "asignaciones", "liberar", "2", "10").stdout
    r = _cli(tmp_path, "pools", "crear", "Finanzas", "--json")
    pid = json.loads(r.stdout)["pool_id"]
    assert _cli(tmp_path, "pools", "mover", str(pid), "--robots", "1", "--equipos", "10").returncode == 0
    r = _cli(tmp_path, "pools", "eliminar", str(pid))
    assert r.returncode == 1 and "no está vacío" in r.stderr
    assert _cli(tmp_path, "pools", "mover", "general", "--robots", "1", "--equipos", "10").returncode == 0
    assert _cli(tmp_path, "pools", "eliminar", str(pid)).returncode == 0
    assert _cli(tmp_path, "mapeos", "crear", "clouders", "bot_fact", "1").returncode == 0
    r = _cli(tmp_path, "mapeos", "crear", "clouders", "bot_fact", "2")
    assert r.returncode == 1 and "ya apunta al robot P1_Facturas" in r.stderr
    assert "bot_fact" in _cli(tmp_path, "mapeos", "listar").stdout


def test_programaciones_and_ajustes_from_the_command_line(base):
    tmp_path, db = base
    r = _cli(tmp_path, "programaciones", "crear", "--RobotId", "1", "--TipoProgramacion", "Diaria",
             "--HoraInicio", "08:00", "--Tolerancia", "30", "--equipos", "10", "--json")
    assert r.returncode == 0, r.stderr
    pid = json.loads(r.stdout)["ProgramacionId"]
    r = _cli(tmp_path, "programaciones", "crear", "--RobotId", "2", "--TipoProgramacion", "Diaria",
             "--HoraInicio", "08:10", "--Tolerancia", "30", "--equipos", "10")
    assert r.returncode == 1 and "se solapa" in r.stderr
    # the robot cannot go online while it has that schedule
    r = _cli(tmp_path, "robots", "cambiar", "1", "--EsOnline", "sí")
    assert r.returncode == 1 and "programaciones activas" in r.stderr
    assert _cli(tmp_path, "programaciones", "cambiar", str(pid), "--HoraInicio", "09:00").returncode == 0
    assert "09:00" in _cli(tmp_path, "programaciones", "listar").stdout
    assert _cli(tmp_path, "programaciones", "eliminar", str(pid)).returncode == 0
    r = _cli(tmp_path, "ajustes", "cambiar", "BALANCEADOR_COOLING_PERIOD_SEG", "240")
    assert r.returncode == 0, r.stderr
    assert "240" in _cli(tmp_path, "ajustes", "listar").stdout
    r = _cli(tmp_path, "ajustes", "cambiar", "SQL_SAM_ENGINE", "sqlite")
    assert r.returncode == 1 and "SQL_SAM_ENGINE" in r.stderr
    # D9: the CLI's setting changes are audited with the operator's role, the refusal too
    auds = auditoria.de_entidad(db, "ConfiguracionSistema")
    assert [a["Resultado"] for a in auds] == ["ok", "rechazado"]
    assert all(a["Usuario"].startswith("cli:") and a["Rol"] == "administrador" for a in auds), auds
