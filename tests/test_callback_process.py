"""The real callback server process: started from another directory, hostile input, clean stop (L4)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from datetime import datetime

import pytest
import requests

from common.database import ejecuciones as E
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.paths import PROJECT_ROOT
from tests.esperas import esperar

TOKEN = "token-de-proceso-0123456789"
SCRIPT = PROJECT_ROOT / "callback" / "run_callback.py"
OLD_SCRIPT = PROJECT_ROOT / "lanzador" / "service" / "callback_server.py"  # deprecated shim
ENTRY_POINTS = {
    "script": [str(SCRIPT)],
    "module": ["-m", "callback"],
    "old-script": [str(OLD_SCRIPT)],
    "old-module": ["-m", "lanzador.service.callback_server"],
}
DEPRECATION = "Punto de entrada obsoleto: lanzador/service/callback_server.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path, port):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQL_", "CALLBACK_", "LOG_", "PYTHONPATH"))}
    env.update({
        "SQL_SAM_ENGINE": "sqlite",
        "SQL_SAM_SQLITE_PATH": str(tmp_path / "sam.db"),
        "CALLBACK_TOKEN": TOKEN,
        "CALLBACK_SERVER_HOST": "127.0.0.1",
        "CALLBACK_SERVER_PORT": str(port),
        "CALLBACK_SERVER_THREADS": "4",
        "LOG_DIRECTORY": str(tmp_path / "logs"),
        "LANZADOR_SHUTDOWN_TIMEOUT_SEG": "10",
        "SAM_ZONA_HORARIA": "Europe/Madrid",
    })
    return env


def _popen(tmp_path, entry, env):
    if entry in ("module", "old-module"):
        env["PYTHONPATH"] = str(PROJECT_ROOT)
    cwd = tmp_path / "otro_directorio"
    cwd.mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, *ENTRY_POINTS[entry]], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _start(tmp_path, *, entry="script", extra_env=None, healthy=200):
    port = _free_port()
    env = _env(tmp_path, port)
    env.update(extra_env or {})
    proc = _popen(tmp_path, entry, env)
    base = f"http://127.0.0.1:{port}"

    def sirve() -> bool:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace")
            raise AssertionError(f"el servidor terminó al arrancar ({proc.returncode}): {out}")
        try:
            return requests.get(base + "/health", timeout=2).status_code == healthy
        except requests.ConnectionError:
            return False

    try:
        esperar(sirve, 30, paso=0.1, que=f"el servidor no respondió {healthy} a /health")
    except AssertionError:
        proc.kill()
        raise
    return proc, base


def _stop(proc, sig):
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.mark.system
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_L4_process_from_other_cwd_hostile_input_and_clean_stop(tmp_path, sig):
    proc, base = _start(tmp_path)
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(db)
    eid = E.insert_intent(db, robot_id=1, equipo_id=1, user_id=1, hora=None, fecha_slot=None,
                          now=datetime(2026, 3, 2, 9, 0))
    E.mark_deployed(db, eid, "dep-1", datetime(2026, 3, 2, 9, 0))
    url = base + "/api/callback"
    auth = {"X-Authorization": TOKEN}
    try:
        with requests.Session() as s:
            assert s.post(url, json={"deploymentId": "dep-1", "status": "RUN_COMPLETED"},
                          timeout=10).status_code == 401
            assert s.post(url, json={"deploymentId": "dep-1", "status": "RUN_COMPLETED"},
                          headers={"X-Authorization": "malo"}, timeout=10).status_code == 401
            assert s.post(url, data=b"{no json", headers=auth, timeout=10).status_code == 400
            assert s.post(url, json=[1, 2], headers=auth, timeout=10).status_code == 400
            assert s.post(url, json={"status": "RUN_COMPLETED"}, headers=auth, timeout=10).status_code == 400
            assert s.post(url, data=b"a" * (2 * 1024 * 1024), headers=auth, timeout=30).status_code == 413
            assert s.post(url, json={"deploymentId": "x'; DROP TABLE Ejecuciones;--", "status": "RUN_FAILED"},
                          headers=auth, timeout=10).status_code == 202
            assert s.post(url, json={"deploymentId": "dep-1", "status": "S" * 40}, headers=auth,
                          timeout=10).status_code == 200
            assert s.put(url, timeout=10).status_code == 405
            assert s.get(base + "/x", timeout=10).status_code == 404
            # still serving
            assert s.get(base + "/health", timeout=10).status_code == 200
            r = s.post(url, json={"deploymentId": "dep-1", "status": "RUN_COMPLETED"}, headers=auth, timeout=10)
            assert r.status_code == 200 and r.json()["estado"] == "aplicado"
    finally:
        rc = _stop(proc, sig)
    assert rc == 0
    row = E.get_execution(db, eid)
    assert row["Estado"] == "RUN_COMPLETED"
    stored = {c["DeploymentId"] for c in db.query("SELECT DeploymentId FROM CallbacksRecibidos")}
    assert "x'; DROP TABLE Ejecuciones;--" in stored
    db.close_all()
    log = (tmp_path / "logs" / "sam_callback_server.log").read_text(encoding="utf-8")
    assert TOKEN not in log
    assert DEPRECATION not in log


@pytest.mark.system
def test_L4_2_module_entry_point_and_auth_none_warning(tmp_path):
    proc, base = _start(tmp_path, entry="module", extra_env={"CALLBACK_AUTH_MODE": "none", "CALLBACK_TOKEN": ""})
    try:
        r = requests.post(base + "/api/callback", json={"deploymentId": "d", "status": "RUN_COMPLETED"}, timeout=10)
        assert r.status_code == 202
    finally:
        rc = _stop(proc, signal.SIGTERM)
    assert rc == 0
    log = (tmp_path / "logs" / "sam_callback_server.log").read_text(encoding="utf-8")
    assert "CALLBACK_AUTH_MODE=none" in log


@pytest.mark.system
def test_L4_4_starts_and_serves_503_while_db_unreachable_then_recovers(tmp_path):
    """A DB that cannot be opened at start-up does not stop the server (a defect of the original)."""
    blocked = tmp_path / "sam.db"
    blocked.mkdir()  # a directory where the SQLite file should be
    proc, base = _start(tmp_path, healthy=503)
    try:
        r = requests.post(base + "/api/callback", json={"deploymentId": "d", "status": "RUN_COMPLETED"},
                          headers={"X-Authorization": TOKEN}, timeout=10)
        assert r.status_code == 503 and r.json()["estado"] == "error"
        blocked.rmdir()
        db = DatabaseClient(engine="sqlite", sqlite_path=blocked)
        ensure_schema(db)
        db.close_all()
        assert requests.get(base + "/health", timeout=10).status_code == 200
        r = requests.post(base + "/api/callback", json={"deploymentId": "d", "status": "RUN_COMPLETED"},
                          headers={"X-Authorization": TOKEN}, timeout=10)
        assert r.status_code == 202
    finally:
        rc = _stop(proc, signal.SIGTERM)
    assert rc == 0


@pytest.mark.system
@pytest.mark.parametrize("entry", ["old-script", "old-module"])
def test_L4_old_entry_point_still_serves_and_logs_one_deprecation_warning(tmp_path, entry):
    """Installed NSSM services still point at lanzador/service/callback_server.py (one release)."""
    proc, base = _start(tmp_path, entry=entry)
    try:
        r = requests.post(base + "/api/callback", json={"deploymentId": "d", "status": "RUN_COMPLETED"},
                          headers={"X-Authorization": TOKEN}, timeout=10)
        assert r.status_code == 202 and r.json()["estado"] == "pendiente"
    finally:
        rc = _stop(proc, signal.SIGTERM)
    assert rc == 0
    log = (tmp_path / "logs" / "sam_callback_server.log").read_text(encoding="utf-8")
    lines = [ln for ln in log.splitlines() if DEPRECATION in ln]
    assert len(lines) == 1 and " WARNING " in lines[0] and "callback/run_callback.py" in lines[0]


@pytest.mark.system
@pytest.mark.parametrize("entry", ["script", "old-script"])
def test_L4_bad_settings_exit_2_before_serving(tmp_path, entry):
    env = _env(tmp_path, _free_port())
    env["CALLBACK_TOKEN"] = ""  # CALLBACK_AUTH_MODE=required (default) needs a token
    proc = _popen(tmp_path, entry, env)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, out.decode(errors="replace")
    assert "CALLBACK_TOKEN" in out.decode("utf-8", errors="replace")
