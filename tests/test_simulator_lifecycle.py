"""Deployment lifecycle, queueing per device, outcomes, events and determinism (A360_API §8.2, §8.5)."""

from __future__ import annotations

import pytest

from demo.simulator import ControlRoomSimulator, generate_state
from demo.simulator.testing import CallbackReceiver, RawA360

START = "2026-03-02T12:00:00Z"


def _sim(**knobs):
    state = generate_state(files=6, devices=3, users=3, seed=2)
    base = {"seed": 2, "clock": "manual", "start_time": START, "duration_s": 10, "outcomes": {"success": 1}}
    base.update(knobs)
    return ControlRoomSimulator(state, **base)


def _statuses(sim, deployment_id):
    return [s for _, s in sim.deployment(deployment_id)["timeline"]]


def _activity_status(api, deployment_id):
    rows = api.activity({"filter": {"operator": "eq", "field": "deploymentId", "value": deployment_id}})
    return rows[0]["status"] if rows else None


def test_L_lifecycle_deployed_running_completed():
    with _sim() as sim:
        api = RawA360(sim.url)
        dep = api.deploy(5100, 700).json()["deploymentId"]
        assert _activity_status(api, dep) == "DEPLOYED"
        sim.advance(1)
        assert _activity_status(api, dep) == "RUNNING"
        sim.advance(10)
        row = api.activity({"filter": {"operator": "eq", "field": "deploymentId", "value": dep}})[0]
        assert row["status"] == "COMPLETED" and row["progress"] == 100
        assert row["endDateTime"] == "2026-03-02T12:00:11.000000Z"
        assert row["startDateTime"] == "2026-03-02T12:00:00.000000Z"
        assert sim.deployment(dep)["relativeTimeline"] == [[0.0, "DEPLOYED"], [1.0, "RUNNING"], [11.0, "COMPLETED"]]


def test_L_one_run_per_device_fifo_queue():
    with _sim() as sim:
        api = RawA360(sim.url)
        ids = [api.deploy(5100 + i, 700).json()["deploymentId"] for i in range(3)]
        other = api.deploy(5103, 701).json()["deploymentId"]  # another device runs in parallel
        sim.advance(1)
        assert [_activity_status(api, d) for d in ids] == ["RUNNING", "QUEUED", "QUEUED"]
        assert _activity_status(api, other) == "RUNNING"
        sim.advance(10)
        assert [_activity_status(api, d) for d in ids] == ["COMPLETED", "RUNNING", "QUEUED"]
        sim.advance(20)
        assert [_activity_status(api, d) for d in ids] == ["COMPLETED"] * 3
        starts = [sim.deployment(d)["relativeTimeline"] for d in ids]
        assert starts[1] == [[0.0, "DEPLOYED"], [1.0, "QUEUED"], [11.0, "RUNNING"], [21.0, "COMPLETED"]]
        assert starts[2][-2:] == [[21.0, "RUNNING"], [31.0, "COMPLETED"]]


def test_L_intermediate_states_pending_and_update():
    with _sim(intermediate_states=True) as sim:
        api = RawA360(sim.url)
        dep = api.deploy(5100, 700).json()["deploymentId"]
        sim.advance(30)
        assert _statuses(sim, dep) == ["DEPLOYED", "PENDING_EXECUTION", "RUNNING", "UPDATE", "COMPLETED"]


@pytest.mark.parametrize("outcome,final,has_end", [
    ("RUN_FAILED", "RUN_FAILED", True), ("RUN_TIMED_OUT", "RUN_TIMED_OUT", True),
    ("RUN_ABORTED", "RUN_ABORTED", True), ("DEPLOY_FAILED", "DEPLOY_FAILED", True),
    ("UNKNOWN", "UNKNOWN", False),
])
def test_L_outcomes(outcome, final, has_end):
    with _sim(outcomes={outcome: 1}) as sim:
        api = RawA360(sim.url)
        dep = api.deploy(5100, 700).json()["deploymentId"]
        sim.advance(20)
        row = api.activity()[0]
        assert row["status"] == final
        assert (row["endDateTime"] != "1970-01-01T00:00:00Z") == has_end
        if outcome in ("RUN_FAILED", "DEPLOY_FAILED"):
            assert row["message"]
        if outcome == "DEPLOY_FAILED":
            assert "RUNNING" not in _statuses(sim, dep)
        # the device is free again: the next deploy starts
        nxt = api.deploy(5101, 700).json()["deploymentId"]
        sim.advance(1)
        assert _activity_status(api, nxt) in ("RUNNING", "DEPLOY_FAILED")


def test_L_vanish_row_disappears_without_callback():
    with CallbackReceiver() as receiver, _sim(outcomes={"VANISH": 1}) as sim:
        api = RawA360(sim.url)
        dep = api.deploy(5100, 700, callback_url=receiver.url).json()["deploymentId"]
        sim.advance(5)
        assert _activity_status(api, dep) == "RUNNING"
        sim.advance(10)
        assert _activity_status(api, dep) is None
        assert sim.wait_idle(5) and receiver.received == [] and sim.callbacks() == []


def test_L_outcome_probabilities_and_per_bot_override():
    state = generate_state(files=2, devices=40, users=40, seed=5)
    state["files"][-1]["outcomes"] = {"RUN_FAILED": 1}
    state["files"][-1]["duration"] = {"dist": "fixed", "value": 3}
    with ControlRoomSimulator(state, seed=5, clock="manual", start_time=START,
                              outcomes={"success": 0.5, "RUN_FAILED": 0.5}) as sim:
        api = RawA360(sim.url)
        for user in range(700, 740):
            api.deploy(5100, user)
        special = api.deploy(5101, 700).json()["deploymentId"]
        outcomes = [d["outcome"] for d in sim.deploys()[:40]]
        assert 8 < outcomes.count("success") < 32  # both drawn
        assert sim.deployment(special)["outcome"] == "RUN_FAILED" and sim.deployment(special)["duration"] == 3


def test_L_device_disconnect_running_unknown_queue_waits_then_resumes():
    with _sim(disconnected_policy="queue") as sim:
        api = RawA360(sim.url)
        first = api.deploy(5100, 700).json()["deploymentId"]
        second = api.deploy(5101, 700).json()["deploymentId"]
        sim.advance(2)
        sim.update("devices", 80, status="DISCONNECTED")
        assert _activity_status(api, first) == "UNKNOWN"
        sim.advance(30)
        assert _activity_status(api, second) == "QUEUED"
        queued_while_down = api.deploy(5102, 700)
        assert queued_while_down.status_code == 201
        sim.update("devices", 80, status="CONNECTED")
        assert _activity_status(api, second) == "RUNNING"
        sim.advance(25)
        assert _activity_status(api, queued_while_down.json()["deploymentId"]) == "COMPLETED"


def test_L_on_disconnect_run_failed_sends_callback():
    with CallbackReceiver() as receiver, _sim(on_disconnect="RUN_FAILED") as sim:
        api = RawA360(sim.url)
        dep = api.deploy(5100, 700, callback_url=receiver.url).json()["deploymentId"]
        sim.advance(2)
        sim.update("devices", 80, status="DISCONNECTED")
        sim.advance(1)
        assert _activity_status(api, dep) == "RUN_FAILED"
        assert receiver.bodies()[0]["status"] == "RUN_FAILED"


def test_L_user_disabled_mid_run_continues_or_aborts():
    with _sim() as sim:
        api = RawA360(sim.url)
        dep = api.deploy(5100, 700).json()["deploymentId"]
        sim.advance(2)
        sim.update("users", 700, disabled=True)
        assert api.deploy(5101, 700).json()["code"] == "INVALID_ARGUMENT"
        sim.advance(10)
        assert _activity_status(api, dep) == "COMPLETED"
    with _sim(abort_on_user_disable=True) as sim:
        api = RawA360(sim.url)
        dep = api.deploy(5100, 700).json()["deploymentId"]
        sim.advance(2)
        sim.update("users", 700, disabled=True)
        assert _activity_status(api, dep) == "RUN_ABORTED"


def test_L_events_at_simulated_time():
    events = [{"at_s": 5, "device": 81, "status": "DISCONNECTED"}, {"at_s": 8, "user": 702, "disabled": True},
              {"at_s": 12, "device": 81, "status": "CONNECTED"}]
    with _sim(events=events) as sim:
        api = RawA360(sim.url)
        assert api.deploy(5100, 701).status_code == 201
        sim.advance(6)
        assert api.deploy(5101, 701).json()["code"] == "DEVICE_NOT_CONNECTED"
        sim.advance(3)
        assert api.deploy(5101, 702).json()["code"] == "INVALID_ARGUMENT"
        sim.advance(5)
        assert api.deploy(5101, 701).status_code == 201


def test_L_activity_visibility_delay_retention_and_9_digits():
    with _sim(activity_visibility_delay_s=3, activity_retention_s=20, timestamp_digits=9) as sim:
        api = RawA360(sim.url)
        dep = api.deploy(5100, 700).json()["deploymentId"]
        assert _activity_status(api, dep) is None  # not visible yet
        sim.advance(3)
        row = api.activity()[0]
        assert row["startDateTime"] == "2026-03-02T12:00:00.000000000Z"
        assert row["endDateTime"] == "1970-01-01T00:00:00Z"
        sim.advance(10)
        assert _activity_status(api, dep) == "COMPLETED"
        sim.advance(25)
        assert _activity_status(api, dep) is None  # purged after retention


def test_L_activity_filters_and_time_sort():
    with _sim() as sim:
        api = RawA360(sim.url)
        first = api.deploy(5100, 700).json()["deploymentId"]
        sim.advance(2)
        second = api.deploy(5101, 701).json()["deploymentId"]
        rows = api.activity({"sort": [{"field": "startDateTime", "direction": "desc"}]})
        assert [r["deploymentId"] for r in rows] == [second, first]
        by_device = api.activity({"filter": {"operator": "eq", "field": "deviceId", "value": "81"}})
        assert [r["deploymentId"] for r in by_device] == [second]
        active = api.activity({"filter": {"operator": "or", "operands": [
            {"operator": "eq", "field": "status", "value": "RUNNING"},
            {"operator": "eq", "field": "status", "value": "DEPLOYED"}]}})
        assert {r["status"] for r in active} == {"RUNNING", "DEPLOYED"}


def test_L_real_clock_time_scale_runs_to_completion():
    state = generate_state(files=2, devices=1, users=1, seed=1)
    with ControlRoomSimulator(state, seed=1, time_scale=100, duration_s=20, outcomes={"success": 1}) as sim:
        api = RawA360(sim.url)
        dep = api.deploy(5100, 700).json()["deploymentId"]
        import time
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _activity_status(api, dep) != "COMPLETED":
            time.sleep(0.05)
        assert _activity_status(api, dep) == "COMPLETED"


# -- determinism ------------------------------------------------------------------------------
def _scenario(receiver_url: str) -> dict:
    knobs = {"seed": 42, "clock": "manual", "start_time": START, "duration_s": {"dist": "lognormal", "median": 12},
             "callback_delay_s": [0, 5], "callback_duplicate_rate": 0.3, "callback_stale_rate": 0.3,
             "intermediate_states": True}
    with ControlRoomSimulator(generate_state(files=5, devices=4, users=4, seed=42), **knobs) as sim:
        api = RawA360(sim.url)
        login = api.login().json()
        responses = []
        for i in range(12):
            responses.append(api.deploy(5100 + i % 5, 700 + i % 4, callback_url=receiver_url,
                                        headers={"X-Authorization": "secreto-de-callback"}).json())
            sim.advance(1.5)
        sim.advance(300)
        assert sim.wait_idle(10)
        return {"token": login["token"], "responses": responses,
                "timelines": [(d["deploymentId"], d["timeline"], d["outcome"]) for d in sim.deploys()],
                "callbacks": [(c["deploymentId"], c["kind"], c["time"], c["body"]) for c in sim.callbacks()],
                "activity": api.activity()}


def test_S8_5_same_seed_manual_clock_identical_runs():
    with CallbackReceiver() as receiver:
        first = _scenario(receiver.url)
        second = _scenario(receiver.url)
    assert first == second
    assert len({o for _, _, o in first["timelines"]}) >= 1 and first["callbacks"]


def test_L_concurrent_deploys_never_overlap_on_a_device():
    import threading
    import time

    state = generate_state(files=5, devices=3, users=3, seed=4)
    with ControlRoomSimulator(state, seed=4, time_scale=200, duration_s={"dist": "uniform", "min": 2, "max": 6},
                              outcomes={"success": 0.8, "RUN_FAILED": 0.2}) as sim:
        api = RawA360(sim.url)
        api.login()
        errors = []

        def worker(k: int) -> None:
            try:
                for j in range(4):
                    response = RawA360(sim.url).post("/v3/automations/deploy", {
                        "fileId": 5100 + (k + j) % 5, "runAsUserIds": [700 + k % 3]}, token=api.token)
                    assert response.status_code == 201, response.text
            except Exception as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(d["status"] in ("COMPLETED", "RUN_FAILED") for d in sim.deploys()):
            time.sleep(0.05)
        deploys = sim.deploys()
    assert len(deploys) == 36
    by_device: dict[int, list[tuple[str, str]]] = {}
    for dep in deploys:
        assert "RUNNING" in [s for _, s in dep["timeline"]] and dep["status"] in ("COMPLETED", "RUN_FAILED")
        by_device.setdefault(dep["deviceId"], []).append((dep["runStart"], dep["endedAt"]))  # same-format ISO
    for runs in by_device.values():
        runs.sort()
        for (_, end), (next_start, _) in zip(runs, runs[1:], strict=False):
            assert end <= next_start  # one run per device at a time


def test_L_events_add_and_remove_files():
    events = [{"at_s": 2, "add_file": {"id": 6100, "name": "P6100_Nuevo", "parentId": 5001}},
              {"at_s": 4, "remove_file": 5100}]
    with _sim(events=events) as sim:
        api = RawA360(sim.url)
        files = "/v2/repository/workspaces/public/files/list"
        one = {"filter": {"operator": "or", "operands": [{"operator": "eq", "field": "id", "value": "6100"},
                                                         {"operator": "eq", "field": "id", "value": "5100"}]}}
        assert [f["id"] for f in api.post(files, one).json()["list"]] == ["5100"]
        sim.advance(3)
        assert [f["id"] for f in api.post(files, one).json()["list"]] == ["6100", "5100"]
        sim.advance(2)
        assert [f["id"] for f in api.post(files, one).json()["list"]] == ["6100"]
        assert api.deploy(5100, 700).json()["code"] == "NOT_FOUND"


def test_L_activity_success_status_and_on_disconnect_none():
    with _sim(activity_success_status="RUN_COMPLETED", on_disconnect="none") as sim:
        api = RawA360(sim.url)
        dep = api.deploy(5100, 700).json()["deploymentId"]
        sim.advance(2)
        sim.update("devices", 80, status="DISCONNECTED")
        assert _activity_status(api, dep) == "RUNNING"  # the run goes on
        sim.advance(10)
        assert _activity_status(api, dep) == "RUN_COMPLETED"


def test_S8_5_deployment_ids_unique_across_restarts_with_the_same_seed():
    """A restart (another run_id, as another process gets) never repeats a deploymentId of an earlier
    run with the same seed; the fate of each deploy (outcome, timeline) stays the seed's."""
    def run(**knobs):
        with _sim(outcomes={"success": 0.5, "RUN_FAILED": 0.5}, **knobs) as sim:
            api = RawA360(sim.url)
            api.login()
            ids = [api.deploy(5100 + i, 700 + i % 3).json()["deploymentId"] for i in range(4)]
            sim.advance(60)
            return ids, [(d["outcome"], d["timeline"]) for d in sim.deploys()]

    first, fates_first = run(run_id="arranque-1")
    again, fates_again = run(run_id="arranque-1")
    other, fates_other = run(run_id="arranque-2")
    assert first == again  # deterministic within a run
    assert not set(first) & set(other)  # unique across restarts
    assert fates_first == fates_again == fates_other
    assert len(set(first)) == 4 and all(len(i) == 36 for i in other)  # still UUIDs
