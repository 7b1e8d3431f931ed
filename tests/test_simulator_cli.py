"""``python -m demo.simulator`` as a subprocess, driven through the ``/__sim/`` routes (A360_API §8.4-§8.5)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from common.paths import PROJECT_ROOT
from demo.simulator import generate_state
from demo.simulator.testing import CallbackReceiver, RawA360

pytestmark = pytest.mark.system
IS_WINDOWS = os.name == "nt"


def _start(*args: str) -> tuple[subprocess.Popen, str]:
    flags = subprocess.CREATE_NEW_PROCESS_GROUP if IS_WINDOWS else 0  # type: ignore[attr-defined]
    proc = subprocess.Popen([sys.executable, "-m", "demo.simulator", *args], cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, creationflags=flags)
    first = proc.stdout.readline().strip()
    assert first.startswith("SIM_URL=http://127.0.0.1:"), (first, proc.stderr.read() if proc.poll() else "")
    return proc, first.split("=", 1)[1]


def _stop(proc: subprocess.Popen, how: str) -> int:
    if how == "SIGINT":
        proc.send_signal(signal.CTRL_BREAK_EVENT if IS_WINDOWS else signal.SIGINT)  # type: ignore[attr-defined]
    else:
        proc.terminate()
    try:
        return proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_S8_5_cli_starts_answers_and_exits_0(how):
    proc, url = _start("--port", "0", "--seed", "3", "--generate", "files=5,devices=2,users=2")
    try:
        api = RawA360(url)
        devices = api.post("/v2/devices/list", {}).json()
        assert devices["page"]["total"] == 2
    finally:
        code = _stop(proc, how)
    assert code == 0


@pytest.mark.parametrize("args", [["--port", "abc"], ["--generate", "files=x"], ["--nope"]])
def test_S8_5_cli_bad_arguments_exit_2_in_spanish(args):
    result = subprocess.run([sys.executable, "-m", "demo.simulator", *args], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "argumentos no válidos" in result.stderr


def test_S8_5_cli_unreadable_state_file_exits_2(tmp_path: Path):
    result = subprocess.run([sys.executable, "-m", "demo.simulator", "--state", str(tmp_path / "none.json")],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "Error al iniciar el simulador" in result.stderr


def test_S8_4_sim_routes_drive_a_subprocess(tmp_path: Path):
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(generate_state(files=3, devices=2, users=2, seed=9)), encoding="utf-8")
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps({"clock": "manual", "start_time": "2026-03-02T12:00:00Z",
                                       "duration_s": 10, "outcomes": {"success": 1}}), encoding="utf-8")
    proc, url = _start("--state", str(state_file), "--config", str(config_file), "--seed", "9")
    try:
        with CallbackReceiver() as receiver:
            sim = requests.Session()
            assert sim.get(f"{url}/__sim/state", timeout=10).json()["devices"][0]["hostName"] == "VMRPA01"
            assert sim.patch(f"{url}/__sim/config", json={"callback_success_status": "COMPLETED"},
                             timeout=10).json()["callback_success_status"] == "COMPLETED"
            bad = sim.patch(f"{url}/__sim/config", json={"no_such_knob": 1}, timeout=10)
            assert bad.status_code == 400 and set(bad.json()) == {"code", "details", "message"}
            added = sim.post(f"{url}/__sim/files", json={"id": 6000, "name": "P9999_Nuevo", "parentId": 5001},
                             timeout=10)
            assert added.status_code == 201
            api = RawA360(url)
            dep = api.deploy(6000, 700, callback_url=receiver.url, headers={"X-Authorization": "abc"}).json()
            sim.post(f"{url}/__sim/advance", json={"seconds": 30}, timeout=30)
            assert sim.post(f"{url}/__sim/wait-idle", json={"timeout": 5}, timeout=30).json() == {"idle": True}
            record = sim.get(f"{url}/__sim/deploys/{dep['deploymentId']}", timeout=10).json()
            assert record["status"] == "COMPLETED" and record["callbackInfo"]["headers"] == {"X-Authorization": "abc"}
            callbacks = sim.get(f"{url}/__sim/callbacks", timeout=10).json()
            assert callbacks[0]["status"] == 200 and receiver.bodies()[0]["status"] == "COMPLETED"
            assert sim.get(f"{url}/__sim/requests?path=/v3/automations/deploy", timeout=10).json()[0]["status"] == 201
            assert sim.patch(f"{url}/__sim/devices/80", json={"status": "DISCONNECTED"},
                             timeout=10).json()["status"] == "DISCONNECTED"
            assert api.deploy(5100, 700).json()["code"] == "DEVICE_NOT_CONNECTED"
            assert sim.get(f"{url}/__sim/nothing", timeout=10).status_code == 404
            assert sim.delete(f"{url}/__sim/state", timeout=10).status_code == 405
            assert sim.post(f"{url}/__sim/reset", timeout=10).json() == {"ok": True}
            assert sim.get(f"{url}/__sim/deploys", timeout=10).json() == []
            assert sim.get(f"{url}/__sim/state", timeout=10).json()["devices"][0]["status"] == "CONNECTED"
    finally:
        assert _stop(proc, "SIGTERM") == 0


def test_S8_5_restarted_process_same_seed_new_deployment_ids():
    """Two starts of ``python -m demo.simulator --seed 3``: the same first deploy gets another id."""
    ids = []
    for _ in range(2):
        proc, url = _start("--port", "0", "--seed", "3", "--generate", "files=5,devices=2,users=2")
        try:
            api = RawA360(url)
            api.login()
            ids.append(api.deploy(5100, 700).json()["deploymentId"])
        finally:
            assert _stop(proc, "SIGTERM") == 0
    assert ids[0] != ids[1]
