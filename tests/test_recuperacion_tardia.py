"""L5.7: a deployment that appears after the LANZANDO recovery gave its intent up is adopted by
the row it belongs to, which is reopened (and so keeps its equipo busy again). Issue 14: A360
created a deployment 11–106 ms after SAM wrote DEPLOY_FAILED; its callback stayed pending forever.

Real parts: the Control Room simulator over HTTP (manual clock) and SQLite."""

from __future__ import annotations

import json

import pytest

from common.database import ejecuciones as E
from lanzador.service.conciliador import VENTANA_ACTIVIDAD_TARDIA
from tests.test_conciliador_sim import BOT, DEVICES, Env


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path)
    yield e
    e.close()


def _abandonada(env, device=80):
    """An intent whose process died before A360 had the deployment: the recovery gives it up."""
    eid = E.insert_intent(env.db, robot_id=BOT, equipo_id=device, user_id=DEVICES[device], hora=None,
                          fecha_slot=None, now=env.clock.now_local())
    env.advance(121)
    assert env.conc.recover_lanzando()["fallidas"] == 1
    return eid


def _tarde(env, device=80):
    """A360 creates the deployment only now (it finished the dead process's request late)."""
    return env.aa.deploy(BOT, DEVICES[device], {}, "http://127.0.0.1:9/api/callback", {"X-Authorization": "t" * 20})


def _abiertas(env):
    return {r["EjecucionId"] for r in E.active_executions(env.db)}


def test_L5_7_late_run_in_a360_activity_reopens_the_given_up_row(env):
    eid = _abandonada(env)
    assert eid not in _abiertas(env)  # given up: the equipo looked free
    dep = _tarde(env)
    env.advance(5)
    result = env.conc.run_round()
    assert result["tardias"] == 1
    row = env.row(eid)
    assert row["DeploymentId"] == dep and row["Estado"] in ("DEPLOYED", "RUNNING") and row["FechaFin"] is None
    assert row["MensajeError"] is None
    assert eid in _abiertas(env)  # busy again
    assert env.conc.run_round()["tardias"] == 0  # adopted once


def test_L5_7_pending_callback_of_a_late_run_is_applied_to_its_row(env):
    eid = _abandonada(env)
    dep = _tarde(env)
    env.advance(VENTANA_ACTIVIDAD_TARDIA.total_seconds() + 60)  # past the activity window: the callback tells
    payload = json.dumps({"deploymentId": dep, "status": "RUN_COMPLETED", "deviceId": "80",
                          "userId": str(DEVICES[80])})
    assert E.record_callback(env.db, dep, "RUN_COMPLETED", payload, env.clock.now_local()) == "no_encontrado"
    assert env.conc.run_round()["tardias"] == 1
    row = env.row(eid)
    assert row["DeploymentId"] == dep and row["Estado"] == "RUN_COMPLETED" and row["FechaFin"] is not None
    assert not E.orphan_callbacks(env.db)
    assert env.db.query_one("SELECT Aplicado FROM CallbacksRecibidos WHERE DeploymentId = ?", (dep,))["Aplicado"] == 1


def test_L5_7_a_callback_a360_no_longer_lists_is_matched_by_its_device_and_user(env):
    eid = _abandonada(env, device=81)
    env.advance(VENTANA_ACTIVIDAD_TARDIA.total_seconds() + 60)
    dep = "7d2e9c4a-1b3f-4e8a-9c61-2f5b0a7e3d19"  # purged from A360's activity list
    payload = json.dumps({"deploymentId": dep, "status": "RUN_FAILED", "deviceId": "81", "userId": str(DEVICES[81])})
    E.record_callback(env.db, dep, "RUN_FAILED", payload, env.clock.now_local())
    other = json.dumps({"deploymentId": "otro", "status": "RUN_FAILED", "deviceId": "82", "userId": "702"})
    E.record_callback(env.db, "otro", "RUN_FAILED", other, env.clock.now_local())  # no row on equipo 82
    assert env.conc.run_round()["tardias"] == 1
    row = env.row(eid)
    assert row["DeploymentId"] == dep and row["Estado"] == "RUN_FAILED"
    assert [c["DeploymentId"] for c in E.orphan_callbacks(env.db)] == ["otro"]  # still pending, no owner


def test_L5_7_a_run_an_intent_in_flight_could_own_is_left_to_that_launch(env):
    eid = _abandonada(env)
    E.insert_intent(env.db, robot_id=BOT, equipo_id=80, user_id=DEVICES[80], hora=None, fecha_slot=None,
                    now=env.clock.now_local())  # a new launch on the same equipo, its deploy in flight
    _tarde(env)  # ... whose deployment A360 already has
    assert env.conc.run_round()["tardias"] == 0
    assert env.row(eid)["Estado"] == "DEPLOY_FAILED"


def test_L5_7_a_run_of_another_robot_or_a_recorded_one_is_never_adopted(env):
    eid = _abandonada(env)
    env.aa.deploy(BOT + 1, DEVICES[80], {}, "http://127.0.0.1:9/api/callback", None)  # another bot
    first, _ = env.launch(device=80)  # recorded normally
    assert env.conc.run_round()["tardias"] == 0
    assert env.row(eid)["Estado"] == "DEPLOY_FAILED" and env.row(first)["DeploymentId"]
