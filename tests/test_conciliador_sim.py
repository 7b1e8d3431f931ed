"""Conciliador (BEHAVIOUR L5.4–L5.6) against the in-process A360 simulator (manual clock) and SQLite."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from common.clock import FixedClock
from common.database import ejecuciones as E
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from demo.simulator import API_PASSWORD, API_USERNAME, ControlRoomSimulator, generate_state
from lanzador.clients.aa_client import Activity, AutomationAnywhereClient
from lanzador.service.conciliador import Conciliador
from tests.alertas_falsas import AlertasFalsas

START_UTC = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)  # 10:00 in Europe/Madrid
ZONE = "Europe/Madrid"
BOT = 5100  # first taskbot of generate_state
DEVICES = {80: 700, 81: 701, 82: 702, 83: 703}  # device -> default user


def make_cfg(**overrides):
    values = dict(
        LANZADOR_LANZANDO_TIMEOUT_SEG=120, LANZADOR_CONCILIADOR_BATCH_SIZE=100, CONCILIADOR_EDAD_MINIMA_SEG=30,
        CONCILIADOR_RONDAS_NO_ENCONTRADO=5, CONCILIADOR_EDAD_NO_ENCONTRADO_MIN=15,
        CONCILIADOR_TOLERANCIA_UNKNOWN_MIN=120, LANZADOR_MAX_DURACION_EJECUCION_MIN=480,
        SAM_FALLOS_CONSECUTIVOS_ALERTA=3,
    )
    values.update(overrides)
    return SimpleNamespace(**values)


class Env:
    """Simulator + SQLite + clocks moving together."""

    def __init__(self, tmp_path, start_utc=START_UTC, **knobs):
        knobs.setdefault("duration_s", {"dist": "fixed", "value": 60})
        knobs.setdefault("outcomes", {"success": 1.0})
        knobs.setdefault("start_delay_s", 1)
        self.sim = ControlRoomSimulator(generate_state(files=3, devices=4, users=4), clock="manual",
                                        start_time=start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"), **knobs)
        self.clock = FixedClock(start_utc, ZONE)
        self.db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db", max_retries=0,
                                 retry_base_delay=0)
        ensure_schema(self.db)
        self.aa = AutomationAnywhereClient(self.sim.url, API_USERNAME, password=API_PASSWORD,
                                           sleep=lambda s: None, clock=self.sim.now)
        self.alerts = AlertasFalsas()
        self.cfg = make_cfg()
        self.conc = Conciliador(self.db, self.aa, self.cfg, self.clock, self.alerts)

    def advance(self, seconds):
        self.sim.advance(seconds)
        self.clock.advance(seconds)

    def launch(self, device=80, bot=BOT, record=True):
        """Intent row + real deploy (+ the launcher's mark_deployed when ``record``)."""
        user = DEVICES[device]
        eid = E.insert_intent(self.db, robot_id=bot, equipo_id=device, user_id=user, hora=None, fecha_slot=None,
                              now=self.clock.now_local())
        dep = self.aa.deploy(bot, user, {}, "http://127.0.0.1:9/api/callback", {"X-Authorization": "t" * 20})
        if record:
            E.mark_deployed(self.db, eid, dep, self.clock.now_local())
        return eid, dep

    def row(self, eid):
        return E.get_execution(self.db, eid)

    def close(self):
        self.sim.close()
        self.db.close_all()


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path)
    yield e
    e.close()


@pytest.fixture
def make_env(tmp_path):
    made = []

    def factory(**knobs):
        e = Env(tmp_path / f"e{len(made)}", **knobs)
        made.append(e)
        return e

    (tmp_path / "e0").mkdir()
    yield factory
    for e in made:
        e.close()


def test_L5_4_found_state_and_local_end_time(env):
    eid, dep = env.launch()
    env.advance(5)
    env.conc.run_round()
    assert env.row(eid)["Estado"] == "DEPLOYED"  # younger than CONCILIADOR_EDAD_MINIMA_SEG: not queried
    env.advance(30)
    env.conc.run_round()
    assert env.row(eid)["Estado"] == "RUNNING"
    env.advance(60)
    result = env.conc.run_round()
    row = env.row(eid)
    assert row["Estado"] == "COMPLETED" and result["actualizadas"] == 1
    assert env.sim.deployment(dep) is not None
    # A360 ended at 09:01:01Z -> 10:01:01 Europe/Madrid, naive local
    assert row["FechaFin"] == datetime(2026, 3, 2, 10, 1, 1)
    assert E.active_executions(env.db) == []


def test_L5_4_never_over_a_terminal_state_set_by_callback(env):
    eid, dep = env.launch()
    env.advance(40)  # A360 says RUNNING
    E.apply_status(env.db, dep, "RUN_FAILED", env.clock.now_local())  # a (strange) callback came first
    env.conc.run_round()
    assert env.row(eid)["Estado"] == "RUN_FAILED"


def test_L5_4_a360_error_changes_nothing_and_alerts_after_3_rounds(make_env):
    env = make_env(fault_rates={"/v3/activity/list": {"5xx": 1.0}})
    eid, dep = env.launch()
    ghost = E.insert_intent(env.db, robot_id=BOT, equipo_id=81, user_id=701, hora=None, fecha_slot=None,
                            now=env.clock.now_local())
    E.mark_deployed(env.db, ghost, "no-existe-en-a360", env.clock.now_local())
    env.advance(120)
    before = {r["EjecucionId"]: r for r in env.db.query("SELECT * FROM Ejecuciones")}
    for i in range(3):
        result = env.conc.run_round()
        assert result["error"] == "a360"
        env.advance(180)
        assert len(env.alerts.enviadas) == (1 if i == 2 else 0)
    after = {r["EjecucionId"]: r for r in env.db.query("SELECT * FROM Ejecuciones")}
    assert after == before  # nothing marked UNKNOWN, no counters moved
    assert env.alerts.enviadas[0].clave == "conciliador_a360"
    env.sim.configure(fault_rates={})
    env.conc.run_round()
    assert env.row(eid)["Estado"] == "COMPLETED"
    assert env.alerts.claves_recuperadas() == ["conciliador_a360"]


def test_L5_4_not_found_counted_unknown_after_5_rounds_and_15_min_then_closed(env):
    eid = E.insert_intent(env.db, robot_id=BOT, equipo_id=80, user_id=700, hora=None, fecha_slot=None,
                          now=env.clock.now_local())
    E.mark_deployed(env.db, eid, "purgado-o-perdido", env.clock.now_local())
    env.advance(60)
    for n in range(1, 7):  # 6 quick rounds: enough rounds but not 15 minutes old
        env.conc.run_round()
        assert env.row(eid)["RondasNoEncontrado"] == n
        assert env.row(eid)["Estado"] == "DEPLOYED"
        env.advance(10)
    env.advance(15 * 60)
    result = env.conc.run_round()
    row = env.row(eid)
    assert result["unknown"] == 1 and row["Estado"] == "UNKNOWN" and row["FechaFin"] is None
    became = row["FechaActualizacion"]
    # busy during the tolerance (still listed as active), not-found rounds keep counting
    env.advance(119 * 60)
    env.conc.run_round()
    row = env.row(eid)
    assert row["FechaFin"] is None and row["FechaActualizacion"] == became
    assert [r["EjecucionId"] for r in E.active_executions(env.db)] == [eid]
    env.advance(61)
    result = env.conc.run_round()
    row = env.row(eid)
    assert result["cerradas"] == 1 and row["Estado"] == "UNKNOWN"
    assert row["FechaFin"] == env.clock.now_local()
    assert E.active_executions(env.db) == []


def test_L5_4_found_again_resets_the_counter(env):
    eid, dep = env.launch()
    E.update_not_found_batch(env.db, [(eid, 3, "DEPLOYED", env.clock.now_local())])
    env.advance(35)
    env.conc.run_round()
    assert env.row(eid)["RondasNoEncontrado"] == 0 and env.row(eid)["Estado"] == "RUNNING"


def test_L5_4_a360_unknown_is_busy_for_tolerance_then_closed(make_env):
    env = make_env(outcomes={"UNKNOWN": 1.0})
    eid, _ = env.launch()
    env.advance(120)
    env.conc.run_round()
    assert env.row(eid)["Estado"] == "UNKNOWN" and env.row(eid)["FechaFin"] is None
    env.advance(60 * 60)
    env.conc.run_round()
    assert env.row(eid)["FechaFin"] is None  # still busy inside the 120 min tolerance
    env.advance(61 * 60)
    env.conc.run_round()
    row = env.row(eid)
    assert row["Estado"] == "UNKNOWN" and row["FechaFin"] is not None


def test_L5_5_lanzando_adopted_when_a360_has_the_deployment(env):
    eid, dep = env.launch(record=False)  # crash between the deploy and mark_deployed
    env.advance(60)
    assert env.conc.recover_lanzando()["adoptadas"] == 0  # not yet older than 120 s
    env.advance(61)
    summary = env.conc.recover_lanzando()
    row = env.row(eid)
    assert summary["adoptadas"] == 1
    assert row["DeploymentId"] == dep and row["Estado"] == "COMPLETED"
    assert row["FechaFin"] == datetime(2026, 3, 2, 10, 1, 1)


def test_L5_5_lanzando_without_deployment_becomes_deploy_failed(env):
    eid = E.insert_intent(env.db, robot_id=BOT, equipo_id=81, user_id=701, hora=None, fecha_slot=None,
                          now=env.clock.now_local())
    env.advance(121)
    result = env.conc.run_round()  # every round runs the recovery first
    row = env.row(eid)
    assert result["lanzando"]["fallidas"] == 1
    assert row["Estado"] == "DEPLOY_FAILED" and row["MensajeError"] == "sin confirmación de A360"
    assert row["FechaFin"] is not None


def test_L5_5_a_deploy_still_in_flight_in_this_process_is_left_alone(env):
    """A deploy with retries can outlive the LANZANDO timeout: recovery must not fail it while the
    launcher of this process still owns it (else its VM looks free and gets another robot)."""
    eid = E.insert_intent(env.db, robot_id=BOT, equipo_id=81, user_id=701, hora=None, fecha_slot=None,
                          now=env.clock.now_local())
    env.conc.en_vuelo = lambda: {eid}
    env.advance(300)
    assert env.conc.recover_lanzando() == {"adoptadas": 0, "fallidas": 0, "pendientes": 0}
    assert env.row(eid)["Estado"] == "LANZANDO"
    env.conc.en_vuelo = frozenset  # the launcher gave up on it (or the process restarted)
    assert env.conc.recover_lanzando()["fallidas"] == 1


def test_L5_5_deployment_used_by_another_row_is_not_adopted(env):
    first, dep = env.launch(device=82)  # recorded normally
    second = E.insert_intent(env.db, robot_id=BOT, equipo_id=82, user_id=702, hora=None, fecha_slot=None,
                             now=env.clock.now_local())
    lost, dep2 = env.launch(device=82, record=False)
    env.advance(121)
    summary = env.conc.recover_lanzando()
    assert summary == {"adoptadas": 1, "fallidas": 1, "pendientes": 0}
    assert env.row(first)["DeploymentId"] == dep
    # the earlier intent gets the one unclaimed deployment; the other has none
    adopted = [r for r in (env.row(second), env.row(lost)) if r["DeploymentId"] == dep2]
    failed = [r for r in (env.row(second), env.row(lost)) if r["Estado"] == "DEPLOY_FAILED"]
    assert len(adopted) == 1 and len(failed) == 1


def test_L5_5_a360_error_keeps_lanzando_for_next_round(make_env):
    env = make_env(fault_rates={"/v3/activity/list": {"5xx": 1.0}})
    eid = E.insert_intent(env.db, robot_id=BOT, equipo_id=80, user_id=700, hora=None, fecha_slot=None,
                          now=env.clock.now_local())
    env.advance(121)
    assert env.conc.recover_lanzando()["pendientes"] == 1
    assert env.row(eid)["Estado"] == "LANZANDO"


def test_L5_6_long_running_execution_alerted_once(make_env):
    env = make_env(duration_s={"dist": "fixed", "value": 10 * 3600})
    eid, _ = env.launch()
    env.advance(479 * 60)
    env.conc.run_round()
    assert env.alerts.enviadas == []
    env.advance(2 * 60)
    env.conc.run_round()
    env.advance(180)
    env.conc.run_round()
    stuck = [a for a in env.alerts.enviadas if a.clave.startswith("ejecucion_larga")]
    assert len(stuck) == 1 and str(eid) in stuck[0].cuerpo
    assert env.row(eid)["AlertaDuracionEnviada"] == 1


def test_L5_4_all_callbacks_dropped_conciliation_reaches_terminal(make_env):
    env = make_env(callback_drop_rate=1.0, outcomes={"success": 0.6, "RUN_FAILED": 0.2, "RUN_ABORTED": 0.2})
    ids = {}
    for _ in range(3):  # three waves over the four devices (queued behind each other)
        for device in DEVICES:
            eid, dep = env.launch(device=device)
            ids[eid] = dep
        env.advance(5)
    env.advance(3 * 62 + 60)
    env.conc.run_round()
    rows = [env.row(eid) for eid in ids]
    assert all(r["Estado"] in ("COMPLETED", "RUN_FAILED", "RUN_ABORTED") for r in rows), [r["Estado"] for r in rows]
    assert all(r["FechaFin"] is not None for r in rows)
    assert all(c["delivery"] != "sent" for c in env.sim.callbacks())


def test_L5_4_batched_round_statement_and_call_budget(make_env):
    env = make_env(duration_s={"dist": "fixed", "value": 3600})
    env.conc.cfg.LANZADOR_CONCILIADOR_BATCH_SIZE = 10
    for i in range(30):
        env.launch(device=80 + i % 4)
    env.advance(60)
    calls, statements = env.aa.api_calls, env.db.statement_count
    result = env.conc.run_round()
    assert result["consultadas"] == 30
    assert env.aa.api_calls - calls <= 3  # 30 ids / 10 per call
    assert env.db.statement_count - statements <= 12


def test_L5_4_db_down_round_counts_and_alerts(tmp_path):
    target = tmp_path / "caida"
    target.mkdir()
    db = DatabaseClient(engine="sqlite", sqlite_path=target, max_retries=0, retry_base_delay=0)
    alerts = AlertasFalsas()
    conc = Conciliador(db, aa_client=None, cfg=make_cfg(), clock=FixedClock(START_UTC, ZONE), alerts=alerts)
    for _ in range(3):
        assert conc.run_round()["error"] == "bd"
    assert alerts.claves() == ["bd_sam"]  # the process' one SAM DB alert, shared with the other jobs


def test_L5_4_pending_callback_swept_by_round(env):
    eid, dep = env.launch(record=False)
    # callback arrives before the row has the deploymentId; the launcher records it without looking
    E.record_callback(env.db, dep, "RUN_COMPLETED", "{}", env.clock.now_local())
    env.db.execute("UPDATE Ejecuciones SET DeploymentId = ?, Estado = 'DEPLOYED' WHERE EjecucionId = ?", (dep, eid))
    env.advance(10)
    env.conc.run_round()
    assert env.row(eid)["Estado"] == "RUN_COMPLETED"


# --- L5.5 matching: clock skew, closest in time, DST, deployments not started yet -------------------


def test_L5_5_lanzando_adopted_despite_clock_skew(env):
    """The SAM host runs 3 min ahead of the Control Room: the real deployment is still adopted."""
    env.clock.advance(180)  # SAM's clock only
    eid, dep = env.launch(record=False)  # A360 stamps the start 3 min before SAM's FechaInicio
    env.advance(121)
    summary = env.conc.recover_lanzando()
    row = env.row(eid)
    assert summary["adoptadas"] == 1 and summary["fallidas"] == 0
    assert row["DeploymentId"] == dep and row["Estado"] != "DEPLOY_FAILED"


def test_L5_5_closest_in_time_wins_over_an_earlier_unrecorded_run(env):
    """A manual run of the same bot 4 min earlier (inside the skew margin) is not adopted instead."""
    manual = env.aa.deploy(BOT, 700, {}, "http://127.0.0.1:9/api/callback", {})
    env.advance(240)
    eid, dep = env.launch(record=False)
    env.advance(121)
    assert env.conc.recover_lanzando()["adoptadas"] == 1
    assert env.row(eid)["DeploymentId"] == dep != manual


def test_L5_5_matching_in_utc_when_dst_ends(make_env):
    """Intent at 02:59:30 CEST, A360 start 40 s later = 02:00:10 CET: the same deployment (DST end)."""
    env = make_env(start_utc=datetime(2026, 10, 25, 0, 59, 30, tzinfo=timezone.utc))
    eid = E.insert_intent(env.db, robot_id=BOT, equipo_id=80, user_id=700, hora=None, fecha_slot=None,
                          now=env.clock.now_local())
    env.advance(40)
    dep = env.aa.deploy(BOT, 700, {}, "http://127.0.0.1:9/api/callback", {})
    env.advance(121)
    # the wall clock went back an hour: the row looks younger and waits (busy: the safe side)
    assert env.conc.recover_lanzando() == {"adoptadas": 0, "fallidas": 0, "pendientes": 0}
    env.advance(3600)
    assert env.conc.recover_lanzando()["adoptadas"] == 1
    assert env.row(eid)["DeploymentId"] == dep


def test_L5_5_lanzando_timeout_counts_real_seconds_across_dst_gap(make_env):
    """Intent at 01:59:30 CET; 60 s later the wall clock reads 03:00:30 CEST: not yet 120 s old."""
    env = make_env(start_utc=datetime(2026, 3, 29, 0, 59, 30, tzinfo=timezone.utc))
    eid = E.insert_intent(env.db, robot_id=BOT, equipo_id=80, user_id=700, hora=None, fecha_slot=None,
                          now=env.clock.now_local())
    env.advance(60)  # the deploy call may still be in flight
    assert env.conc.run_round()["lanzando"]["fallidas"] == 0
    assert env.row(eid)["Estado"] == "LANZANDO"
    env.advance(61)
    assert env.conc.run_round()["lanzando"]["fallidas"] == 1


def test_L5_4_unknown_tolerance_is_real_time_across_dst_gap(make_env):
    """UNKNOWN since 01:02 CET keeps its equipo busy 120 real minutes, not 60, across the spring gap."""
    env = make_env(start_utc=datetime(2026, 3, 29, 0, 0, 0, tzinfo=timezone.utc), outcomes={"UNKNOWN": 1.0})
    eid, _ = env.launch()
    env.advance(120)
    env.conc.run_round()
    assert env.row(eid)["Estado"] == "UNKNOWN"
    env.advance(61 * 60)  # wall clock 03:03 CEST, two hours after 01:02 on the wall
    env.conc.run_round()
    assert env.row(eid)["FechaFin"] is None
    env.advance(60 * 60)
    env.conc.run_round()
    assert env.row(eid)["FechaFin"] is not None


def test_L5_5_skew_margin_across_dst_spring_gap(make_env):
    """Intent at 03:01 CEST just after the spring gap: 'since' is computed in UTC, not as 02:56 local."""
    env = make_env(start_utc=datetime(2026, 3, 29, 1, 1, 0, tzinfo=timezone.utc))
    eid, dep = env.launch(record=False)
    env.advance(121)
    assert env.conc.recover_lanzando()["adoptadas"] == 1
    assert env.row(eid)["DeploymentId"] == dep


class _WithUnstarted:
    """The real client, plus deployments the Control Room lists without a start time yet."""

    def __init__(self, inner, extra):
        self.inner, self.extra, self.since = inner, extra, []

    def activity_by_device(self, device_id, since_utc):
        self.since.append(since_utc)
        return list(self.extra) + self.inner.activity_by_device(device_id, since_utc)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_L5_5_queued_deployment_without_start_time_is_adopted(env):
    refused_long_ago = Activity("OLD-REFUSED", "DEPLOY_FAILED", None, datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc),
                                80, 700, BOT, "x")
    queued = Activity("QUEUED-1", "QUEUED", None, None, 80, 700, BOT, None)
    other_bot = Activity("OTHER-BOT", "QUEUED", None, None, 80, 700, BOT + 1, None)
    env.conc.aa = _WithUnstarted(env.aa, [refused_long_ago, other_bot, queued])
    eid = E.insert_intent(env.db, robot_id=BOT, equipo_id=80, user_id=700, hora=None, fecha_slot=None,
                          now=env.clock.now_local())
    env.advance(121)
    assert env.conc.recover_lanzando()["adoptadas"] == 1
    row = env.row(eid)
    assert (row["DeploymentId"], row["Estado"], row["FechaFin"]) == ("QUEUED-1", "QUEUED", None)
