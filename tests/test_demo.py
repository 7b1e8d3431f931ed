"""``python -m demo`` closes the loop with the three real services (issue: embedded demo)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

import pytest

from common.execution_states import TERMINAL_STATES
from common.paths import PROJECT_ROOT

pytestmark = [pytest.mark.system, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    carpeta = tmp_path_factory.mktemp("demo")
    proc = subprocess.run(
        [sys.executable, "-m", "demo", "--duracion", "45", "--semilla", "1", "--carpeta", str(carpeta)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, encoding="utf-8", timeout=240,
    )
    db = sqlite3.connect(carpeta / "sam.db")
    db.row_factory = sqlite3.Row
    yield proc, db, carpeta
    db.close()


def test_demo_exits_0_and_every_service_exited_0(demo_run):
    proc, _, _ = demo_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    codes = re.findall(r"(Callback|Lanzador|Balanceador) terminó con código (-?\d+|None)", proc.stdout)
    assert sorted(name for name, _ in codes) == ["Balanceador", "Callback", "Lanzador"]
    assert all(code == "0" for _, code in codes), codes


def test_demo_synced_robots_and_equipos_from_the_control_room(demo_run):
    _, db, _ = demo_run
    assert db.execute("SELECT COUNT(*) FROM Robots WHERE FechaSincronizacion IS NOT NULL").fetchone()[0] == 8
    assert db.execute("SELECT COUNT(*) FROM Equipos WHERE FechaSincronizacion IS NOT NULL").fetchone()[0] == 12
    estados = dict(db.execute("SELECT Equipo, EstadoA360 FROM Equipos").fetchall())
    assert estados["VMRPA12"] == "DISCONNECTED"


def test_demo_balancer_assigned_vms_and_logged_its_decisions(demo_run):
    _, db, _ = demo_run
    assert db.execute("SELECT COUNT(*) FROM HistoricoBalanceo WHERE AccionTomada = 'ASIGNAR'").fetchone()[0] > 0
    # Never the disconnected VM, the disabled user's VM or the scheduled robot's VM.
    bad = db.execute(
        "SELECT COUNT(*) FROM Asignaciones WHERE AsignadoPor = 'Balanceador' AND EquipoId IN (210, 211, 212)"
    ).fetchone()[0]
    assert bad == 0


def test_demo_launched_and_completed_runs_through_callbacks(demo_run):
    proc, db, _ = demo_run
    ejecuciones = db.execute("SELECT COUNT(*) FROM Ejecuciones WHERE DeploymentId IS NOT NULL").fetchone()[0]
    assert ejecuciones > 0
    aplicados = db.execute(
        "SELECT COUNT(*) FROM Ejecuciones e JOIN CallbacksRecibidos c ON c.DeploymentId = e.DeploymentId "
        f"WHERE c.Aplicado = 1 AND e.Estado IN ({','.join('?' * len(TERMINAL_STATES))})",
        sorted(TERMINAL_STATES),
    ).fetchone()[0]
    assert aplicados > 0
    assert re.search(r"Despliegues en el Control Room simulado: (\d+)", proc.stdout).group(1) == str(ejecuciones)


def test_demo_never_ran_two_executions_at_once_on_one_equipo(demo_run):
    _, db, _ = demo_run
    rows = db.execute(
        "SELECT EquipoId, FechaInicio, COALESCE(FechaFin, '9999-12-31') AS Fin FROM Ejecuciones "
        "WHERE Estado <> 'DEPLOY_FAILED' ORDER BY EquipoId, FechaInicio"
    ).fetchall()
    last_end: dict[int, str] = {}
    for r in rows:
        if r["EquipoId"] in last_end:
            assert r["FechaInicio"] >= last_end[r["EquipoId"]], f"overlap on equipo {r['EquipoId']}"
        last_end[r["EquipoId"]] = r["Fin"]


def test_demo_summary_says_how_many_executions_were_still_running_and_why(demo_run):
    proc, db, _ = demo_run
    abiertas = db.execute(
        f"SELECT COUNT(*) FROM Ejecuciones WHERE FechaFin IS NULL AND Estado NOT IN "
        f"({','.join('?' * len(TERMINAL_STATES))})", sorted(TERMINAL_STATES),
    ).fetchone()[0]
    if abiertas == 0:
        assert "Ejecuciones en curso al parar la demo: ninguna" in proc.stdout
        return
    verbo = "ejecución seguía" if abiertas == 1 else "ejecuciones seguían"
    linea = re.search(rf"(\d+) {verbo} en curso al parar la demo: los robots simulados duran (.+?) y la demo "
                      r"terminó antes", proc.stdout)
    assert linea, proc.stdout[-2000:]
    assert int(linea.group(1)) == abiertas
    assert re.fullmatch(r"entre [\d.]+ y [\d.]+ s", linea.group(2)), linea.group(2)  # demo: uniform durations
