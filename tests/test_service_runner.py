"""The common runner: jobs, failures, no overlap, signals and graceful shutdown (C)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from common.paths import PROJECT_ROOT
from common.service_runner import ServiceRunner
from tests.alertas_falsas import AlertasFalsas
from tests.esperas import esperar


def _run_in_thread(runner: ServiceRunner) -> threading.Thread:
    t = threading.Thread(target=runner.run, daemon=True)
    t.start()
    return t


def test_failing_job_is_logged_alerted_and_loop_goes_on(caplog):
    alerts = AlertasFalsas()
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError("boom")

    ok_calls = []
    runner = ServiceRunner("prueba", alerts=alerts, shutdown_timeout=2, tick_s=0.01)
    runner.add_job("flaky", 0.05, flaky)
    runner.add_job("other", 0.05, lambda: ok_calls.append(1))
    t = _run_in_thread(runner)
    esperar(lambda: len(calls) >= 4 and len(ok_calls) >= 4, 10, paso=0.02, que="4 pasadas de cada tarea")
    runner.request_stop()
    t.join(5)
    assert not t.is_alive()
    # One alert for the run of failures (common/utils/alertas.RachaDeFallos), one recovery.
    assert alerts.claves() == ["prueba:tarea:flaky"]
    assert alerts.claves_recuperadas() == ["prueba:tarea:flaky"]
    assert any("La tarea flaky falló" in r.getMessage() for r in caplog.records)


def test_a_job_never_overlaps_itself():
    active = 0
    max_active = 0
    lock = threading.Lock()

    def slow():
        nonlocal active, max_active
        with lock:
            active += 1
            max_active = max(max_active, active)
        time.sleep(0.3)  # the job's own work, long enough to span many ticks (not a wait)
        with lock:
            active -= 1

    runner = ServiceRunner("prueba", shutdown_timeout=5, tick_s=0.01)
    runner.add_job("slow", 0.02, slow)
    t = _run_in_thread(runner)
    esperar(lambda: runner.job_stats("slow")["runs"] >= 2, 10, paso=0.02, que="2 pasadas de slow")
    runner.request_stop()
    t.join(5)
    assert max_active == 1
    assert runner.job_stats("slow")["skipped"] > 0


def test_slow_job_does_not_delay_another_job():
    fast_runs = []
    release = threading.Event()
    runner = ServiceRunner("prueba", shutdown_timeout=5, tick_s=0.01)
    runner.add_job("sync", 0.05, lambda: release.wait(10))
    runner.add_job("launch", 0.05, lambda: fast_runs.append(1))
    t = _run_in_thread(runner)
    esperar(lambda: len(fast_runs) >= 5, 10, paso=0.02, que="5 pasadas de launch")
    release.set()
    runner.request_stop()
    t.join(5)


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from common.service_runner import ServiceRunner
    out = Path({out!r})
    def log(word):
        with out.open("a") as f:
            f.write(word + "\\n")
    job_seconds = float(sys.argv[1])
    def job():
        log("started")
        time.sleep(job_seconds)
        log("finished")
    runner = ServiceRunner("hijo", shutdown_timeout=float(sys.argv[2]), tick_s=0.02)
    runner.add_job("trabajo", 3600, job)
    runner.add_shutdown_hook(lambda: log("hook"))
    sys.exit(runner.run())
    """
)


def _start_child(tmp_path: Path, job_seconds: float, timeout: float):
    out = tmp_path / "events.txt"
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(PROJECT_ROOT), out=str(out)))
    proc = subprocess.Popen([sys.executable, str(script), str(job_seconds), str(timeout)], cwd=tmp_path)
    esperar(lambda: out.exists() and "started" in out.read_text(), 20, paso=0.02, que="child never started")
    return proc, out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_waits_for_in_flight_work_runs_hooks_and_exits_0(tmp_path, sig):
    proc, out = _start_child(tmp_path, job_seconds=1.0, timeout=10)
    proc.send_signal(sig)
    assert proc.wait(20) == 0
    assert out.read_text().split() == ["started", "finished", "hook"]


def test_shutdown_timeout_abandons_stuck_work_but_still_closes_and_exits_0(tmp_path):
    proc, out = _start_child(tmp_path, job_seconds=120.0, timeout=0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    assert out.read_text().split() == ["started", "hook"]


@pytest.mark.skipif(not hasattr(signal, "SIGBREAK"), reason="SIGBREAK exists only on Windows")
def test_sigbreak_handled_on_windows(tmp_path):  # pragma: no cover - Windows only
    proc, out = _start_child(tmp_path, job_seconds=0.5, timeout=10)
    os.kill(proc.pid, signal.CTRL_BREAK_EVENT)
    assert proc.wait(20) == 0


def test_wall_clock_jumping_back_does_not_stall_jobs(monkeypatch):
    """Intervals are measured on the monotonic clock: when the wall clock goes back (DST fall-back
    on the Windows host, an NTP correction) the launch cycle must keep running, not wait an hour."""
    real_time = time.time
    offset = {"s": 0.0}
    monkeypatch.setattr(time, "time", lambda: real_time() + offset["s"])

    calls = []
    runner = ServiceRunner("prueba", shutdown_timeout=2, tick_s=0.01)
    runner.add_job("lanzamiento", 0.05, lambda: calls.append(1))
    t = _run_in_thread(runner)
    try:
        esperar(lambda: len(calls) >= 2, 10, paso=0.02, que="2 pasadas de lanzamiento")
        offset["s"] = -3600.0  # 03:00 -> 02:00
        seen = len(calls)
        esperar(lambda: len(calls) >= seen + 3, 10, paso=0.02,
                que="the job stalled after the wall clock went back")
    finally:
        runner.request_stop()
        t.join(5)
    assert not t.is_alive()
