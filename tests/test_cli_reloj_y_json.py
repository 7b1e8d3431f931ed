"""``python -m consola`` as real subprocesses on a SQLite SAM DB: the commands use SAM's clock
(``SAM_ZONA_HORARIA``), not the OS zone's; each typed option refuses bad input with a Spanish
message naming the option and the expected form (exit 2); under ``--json`` every command prints
exactly one JSON object on stdout (success, refusal and error), exit codes unchanged."""

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
from common.operaciones import auditoria, pausa
from common.paths import PROJECT_ROOT

SAM = ZoneInfo("Europe/Madrid")
OS = "America/Lima"  # 5-6 hours behind Madrid all year


@pytest.fixture
def base(tmp_path):
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(db)
    db.executemany("INSERT INTO Robots (RobotId, Robot) VALUES (?, ?)", [(1, "P1_Facturas")])
    db.executemany("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)", [(10, "VMRPA10")])
    yield tmp_path, db
    db.close_all()


def _cli(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQL_", "CONSOLA_", "LOG_", "PYTHONPATH", "SAM_"))}
    env.update(SQL_SAM_ENGINE="sqlite", SQL_SAM_SQLITE_PATH=str(tmp_path / "sam.db"), TZ=OS,
               SAM_ZONA_HORARIA="Europe/Madrid", LOG_DIRECTORY=str(tmp_path / "logs"), PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "consola", *args], text=True, capture_output=True, env=env,
                          cwd=PROJECT_ROOT, timeout=120, encoding="utf-8")


def _json(r) -> dict:
    """The one JSON object of ``r``'s stdout (json.loads fails on anything else)."""
    salida = json.loads(r.stdout)
    assert isinstance(salida, dict) and "estado" in salida and "mensaje" in salida, r.stdout
    return salida


def _cerca_de_sam(momento) -> bool:
    if isinstance(momento, str):
        momento = datetime.fromisoformat(momento)
    return abs(momento - datetime.now(SAM).replace(tzinfo=None)) < timedelta(minutes=10)


def test_destrabar_writes_FechaFin_and_the_audit_Fecha_in_SAMs_zone_not_the_OS_zone(base):
    tmp_path, db = base
    eid = E.insert_intent(db, robot_id=1, equipo_id=10, user_id=1, hora=None, fecha_slot=None,
                          now=datetime.now(SAM).replace(tzinfo=None) - timedelta(hours=1))
    r = _cli(tmp_path, "ejecuciones", "destrabar", str(eid), "--motivo", "colgado", "--json")
    assert r.returncode == 0, r.stderr
    assert _json(r)["estado"] == "ok"
    fila = db.query_one("SELECT FechaFin FROM Ejecuciones WHERE EjecucionId = ?", (eid,))
    assert _cerca_de_sam(fila["FechaFin"]), fila
    assert _cerca_de_sam(auditoria.de_entidad(db, "Ejecuciones")[-1]["Fecha"])


def test_a_pause_end_past_in_SAMs_zone_is_refused_though_future_in_the_OS_zone(base):
    tmp_path, db = base
    # one hour ago in Madrid: some hours ahead in Lima, so the OS clock would take it as future
    hasta = datetime.now(SAM).replace(tzinfo=None) - timedelta(hours=1)
    r = _cli(tmp_path, "pausa", "hasta", f"{hasta:%Y-%m-%d %H:%M}", "--json")
    assert r.returncode == 1 and "debe terminar en el futuro" in r.stderr
    salida = _json(r)
    assert salida["estado"] == "rechazado" and "debe terminar en el futuro" in salida["mensaje"]
    assert db.query_one("SELECT COUNT(*) AS n FROM ConfiguracionSistema")["n"] == 0
    rechazo = auditoria.de_entidad(db, pausa.ENTIDAD)[-1]
    assert rechazo["Resultado"] == "rechazado" and _cerca_de_sam(rechazo["Fecha"])


@pytest.mark.parametrize(("argumentos", "opcion", "forma"), [
    (["programaciones", "crear", "--RobotId", "1", "--HoraInicio", "25:00", "--equipos", "10"],
     "--HoraInicio", "HH:MM"),
    (["programaciones", "crear", "--RobotId", "1", "--TipoProgramacion", "Especifica", "--HoraInicio", "09:00",
      "--FechaEspecifica", "2026-13-01", "--equipos", "10"], "--FechaEspecifica", "AAAA-MM-DD"),
    (["robots", "cambiar", "1", "--MinEquipos", "dos"], "--MinEquipos", "número entero"),
    (["equipos", "cambiar", "10", "--Activo_SAM", "quizá"], "--Activo_SAM", "sí o no"),
    (["programaciones", "crear", "--RobotId", "1", "--EsCiclico", "a veces", "--equipos", "10"],
     "--EsCiclico", "sí o no"),
    (["ejecuciones", "destrabar", "uno", "--motivo", "x"], "ID", "número entero"),
    (["pausa", "hasta", "mañana"], "AAAA-MM-DD HH:MM", "AAAA-MM-DD HH:MM"),
    (["robots", "cambiar", "1", "--MinEquipos", "2", "--version-leida", "ayer"], "--version-leida",
     "versión no válida"),
])
def test_bad_typed_options_are_refused_in_spanish_naming_the_option_exit_2(base, argumentos, opcion, forma):
    tmp_path, db = base
    r = _cli(tmp_path, *argumentos)
    assert r.returncode == 2, r.stderr
    assert f"argumento {opcion}" in r.stderr or f'argumento "{opcion}"' in r.stderr, r.stderr
    assert forma in r.stderr and "must be" not in r.stderr and "invalid" not in r.stderr
    assert r.stdout == ""
    r = _cli(tmp_path, *argumentos, "--json")
    assert r.returncode == 2
    salida = _json(r)
    assert salida["estado"] == "error" and opcion in salida["mensaje"] and forma in salida["mensaje"]
    assert db.query_one("SELECT COUNT(*) AS n FROM Programaciones")["n"] == 0


def test_a_valid_schedule_time_still_goes_through(base):
    tmp_path, db = base
    r = _cli(tmp_path, "programaciones", "crear", "--RobotId", "1", "--TipoProgramacion", "Diaria", "--HoraInicio",
             "23:59", "--Tolerancia", "30", "--EsCiclico", "no", "--equipos", "10", "--json")
    assert r.returncode == 0, r.stderr
    assert _json(r)["estado"] == "aplicado"
    assert str(db.query_one("SELECT HoraInicio FROM Programaciones")["HoraInicio"]).startswith("23:59")


def test_every_command_under_json_prints_one_object_for_success_refusal_and_error(base):
    tmp_path, db = base
    for argumentos in (["robots", "listar"], ["equipos", "listar"], ["solicitudes", "listar"], ["mapeos", "listar"]):
        r = _cli(tmp_path, *argumentos, "--json")
        assert r.returncode == 0, r.stderr
        salida = _json(r)
        assert salida["estado"] == "ok" and isinstance(salida["filas"], list)
    assert _json(_cli(tmp_path, "robots", "listar", "--json"))["filas"][0]["Robot"] == "P1_Facturas"
    r = _cli(tmp_path, "robots", "mostrar", "1", "--json")
    assert r.returncode == 0 and _json(r)["Robot"] == "P1_Facturas"
    r = _cli(tmp_path, "robots", "mostrar", "99", "--json")
    assert r.returncode == 1 and _json(r)["estado"] == "rechazado"
    # refusals of the service commands (they printed nothing on stdout before)
    r = _cli(tmp_path, "ejecuciones", "destrabar", "999", "--motivo", "colgado", "--json")
    assert r.returncode == 1 and r.stderr
    assert _json(r)["estado"] == "rechazado" and "999" in _json(r)["mensaje"]
    r = _cli(tmp_path, "solicitudes", "crear", "sincronizar", "--json")
    assert r.returncode == 0 and _json(r)["estado"] == "ok" and _json(r)["Nueva"] is True
    r = _cli(tmp_path, "solicitudes", "crear", "sincronizar", "--esperar", "0.2", "--json")
    assert r.returncode == 1 and _json(r)["estado"] == "error" and "sin atender" in _json(r)["mensaje"]
    r = _cli(tmp_path, "pausa", "reanudar", "--json")
    assert r.returncode == 0 and _json(r)["estado"] == "ok"
    r = _cli(tmp_path, "ajustes", "cambiar", "SQL_SAM_ENGINE", "sqlite", "--json")
    assert r.returncode == 1 and _json(r)["estado"] == "rechazado"
    # an unknown option under --json: argparse's exit 2 with its object
    r = _cli(tmp_path, "robots", "listar", "--nada", "--json")
    assert r.returncode == 2 and _json(r)["estado"] == "error" and "--nada" in _json(r)["mensaje"]
