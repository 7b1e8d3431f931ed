"""Completion callbacks and their delivery knobs (A360_API §3, §8.2-§8.3), to a real HTTP receiver."""

from __future__ import annotations

import logging
import time

import pytest

from demo.simulator import ControlRoomSimulator, generate_state
from demo.simulator.testing import CallbackReceiver, RawA360

TOKEN = "k9Q-callback-token-0123456789"


@pytest.fixture()
def receiver():
    with CallbackReceiver() as rec:
        yield rec


def _sim(**knobs):
    base = {"seed": 7, "clock": "manual", "start_time": "2026-03-02T12:00:00Z", "duration_s": 10,
            "outcomes": {"success": 1}}
    base.update(knobs)
    return ControlRoomSimulator(generate_state(files=6, devices=6, users=6, seed=7), **base)


def _run(sim, receiver_url, n=1, advance=60):
    api = RawA360(sim.url)
    ids = [api.deploy(5100 + i, 700 + i, callback_url=receiver_url, headers={"X-Authorization": TOKEN})
           .json()["deploymentId"] for i in range(n)]
    sim.advance(advance)
    assert sim.wait_idle(10)
    return ids


def test_S3_callback_body_and_headers_verbatim(receiver):
    with _sim() as sim:
        [dep] = _run(sim, receiver.url)
    [got] = receiver.received
    assert got["headers"]["X-Authorization"] == TOKEN
    assert got["headers"]["Content-Type"].startswith("application/json")
    assert got["path"] == "/api/callback"
    body = got["body"]
    assert body["deploymentId"] == dep and body["status"] == "RUN_COMPLETED"
    assert body["userId"] == "700" and body["deviceId"] == "80"
    assert body["botOutput"]["out_Resultado"] == {"type": "STRING", "string": "Proceso completado"}


def test_S3_no_callback_without_url_and_never_at_start(receiver):
    with _sim() as sim:
        api = RawA360(sim.url)
        api.deploy(5100, 700)
        api.deploy(5101, 701, callback_url=receiver.url)
        sim.advance(5)
        assert sim.wait_idle(5) and receiver.received == []  # still running: nothing yet
        sim.advance(20)
        assert sim.wait_idle(5)
    assert len(receiver.received) == 1


def test_S8_3_callback_success_status_ids_as_number_extra_fields(receiver):
    with _sim(callback_success_status="COMPLETED", callback_ids_as="number",
              callback_extra_fields={"automationName": "x", "progress": 100}) as sim:
        _run(sim, receiver.url)
    body = receiver.bodies()[0]
    assert body["status"] == "COMPLETED" and body["userId"] == 700 and body["deviceId"] == 80
    assert body["automationName"] == "x" and body["progress"] == 100


@pytest.mark.parametrize("style,check", [
    ("typed", lambda b: b["botOutput"]["out_Registros"]["type"] == "NUMBER"),
    ("plain", lambda b: b["botOutput"]["out_Resultado"] == "Proceso completado"),
    ("absent", lambda b: "botOutput" not in b),
    ("empty", lambda b: b["botOutput"] == {}),
])
def test_S8_3_callback_bot_output_styles(receiver, style, check):
    with _sim(callback_bot_output=style) as sim:
        _run(sim, receiver.url)
    assert check(receiver.bodies()[0])


def test_S8_3_failure_status_and_deploy_failed_callback_knob(receiver):
    with _sim(outcomes={"RUN_FAILED": 1}) as sim:
        _run(sim, receiver.url)
    assert receiver.bodies()[-1]["status"] == "RUN_FAILED"
    with _sim(outcomes={"DEPLOY_FAILED": 1}) as sim:
        _run(sim, receiver.url)
    assert len(receiver.received) == 1  # DEPLOY_FAILED not called back by default
    with _sim(outcomes={"DEPLOY_FAILED": 1}, callback_on_deploy_failed=True) as sim:
        _run(sim, receiver.url)
    assert receiver.bodies()[-1]["status"] == "DEPLOY_FAILED"


def test_S8_3_callback_drop_rate(receiver):
    with _sim(callback_drop_rate=1.0) as sim:
        _run(sim, receiver.url, n=3)
        assert [c["delivery"] for c in sim.callbacks()] == ["dropped"] * 3
    assert receiver.received == []


def test_S8_3_callback_duplicate_rate(receiver):
    with _sim(callback_duplicate_rate=1.0) as sim:
        [dep] = _run(sim, receiver.url)
        kinds = [c["kind"] for c in sim.callbacks()]
    assert kinds == ["normal", "duplicate"]
    assert receiver.bodies() == [receiver.bodies()[0]] * 2 and receiver.bodies()[0]["deploymentId"] == dep


def test_S8_3_callback_stale_rate_running_after_terminal(receiver):
    with _sim(callback_stale_rate=1.0) as sim:
        _run(sim, receiver.url)
    assert [b["status"] for b in receiver.bodies()] == ["RUN_COMPLETED", "RUNNING"]
    assert all(r["headers"]["X-Authorization"] == TOKEN for r in receiver.received)


def test_S8_3_callback_delay_reorders(receiver):
    state = generate_state(files=6, devices=6, users=6, seed=7)
    for i, item in enumerate(f for f in state["files"] if f["type"].endswith("taskbot")):
        item["duration"] = 10 + i  # runs end in deploy order...
    with ControlRoomSimulator(state, seed=11, clock="manual", start_time=0, outcomes={"success": 1},
                              callback_delay_s=[0, 30]) as sim:
        ids = _run(sim, receiver.url, n=6, advance=120)
        ends = sorted(ids, key=lambda d: sim.deployment(d)["endedAt"])
    received = [b["deploymentId"] for b in receiver.bodies()]
    assert sorted(received) == sorted(ids)
    assert received != ends  # ...but the drawn delays deliver them in another order


def test_S8_3_callback_retries_until_2xx():
    with CallbackReceiver(statuses=[500, 503, 200]) as receiver:
        with _sim(callback_retries=3, callback_retry_interval_s=5) as sim:
            _run(sim, receiver.url, advance=60)
            attempts = [(c["attempt"], c["status"]) for c in sim.callbacks()]
        assert attempts == [(1, 500), (2, 503), (3, 200)]
        assert len(receiver.received) == 3


def test_S8_3_callback_retries_exhausted_and_unreachable_receiver():
    with CallbackReceiver(statuses=[500]) as receiver:
        with _sim(callback_retries=1) as sim:
            _run(sim, receiver.url)
            assert [c["status"] for c in sim.callbacks()] == [500, 500]
    with _sim(callback_retries=0, callback_timeout_s=2) as sim:
        _run(sim, "http://127.0.0.1:9/api/callback")
        [attempt] = sim.callbacks()
        assert attempt["status"] is None and attempt["error"] and not attempt["delivered"]


def test_S8_2_real_clock_worker_pool_delivers(receiver):
    with ControlRoomSimulator(generate_state(files=4, devices=4, users=4, seed=1), seed=1, time_scale=50,
                              duration_s=5, outcomes={"success": 1}) as sim:
        api = RawA360(sim.url)
        for i in range(4):
            api.deploy(5100 + i, 700 + i, callback_url=receiver.url, headers={"X-Authorization": TOKEN})
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(receiver.received) < 4:
            time.sleep(0.05)
        assert sim.wait_idle(10)
    assert len(receiver.received) == 4


def test_S8_2_logs_mask_callback_headers(receiver, caplog):
    caplog.set_level(logging.DEBUG, logger="sam.demo.simulator")
    with _sim() as sim:
        _run(sim, receiver.url)
        api = RawA360(sim.url)
        api.login()
        api.post("/v2/devices/list", {})
    text = caplog.text
    assert "Callback" in text
    assert TOKEN not in text and api.token not in text and "Sam.Simulador" not in text


def test_S8_3_callback_timeout_counts_as_failed_attempt():
    import threading

    from common.wsgi_server import ThreadedServer

    release = threading.Event()

    def slow_app(environ, start_response):
        release.wait(5)
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    server = ThreadedServer(slow_app, threads=2, name="slow-receiver")
    try:
        with _sim(callback_timeout_s=0.2) as sim:
            _run(sim, f"http://127.0.0.1:{server.port}/cb")
            [attempt] = sim.callbacks()
            assert attempt["status"] is None and attempt["error"] == "ReadTimeout"
    finally:
        release.set()
        server.close()
