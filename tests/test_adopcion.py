"""Which deployment an unconfirmed intent belongs to (L3.3 ambiguous deploys, L5.5 recovery)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from lanzador.clients.aa_client import Activity
from lanzador.service.adopcion import MARGEN_ADOPCION, adopciones_tardias, mejor_despliegue

T0 = datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)


def act(dep, start=None, *, file_id=5100, user_id=700, end=None, status="RUNNING"):
    return Activity(deployment_id=dep, status=status, start_utc=start, end_utc=end, device_id=80,
                    user_id=user_id, file_id=file_id, message=None)


def pick(acts, in_use=(), intent=T0):
    m = mejor_despliegue(acts, robot_id=5100, user_id=700, intencion_utc=intent, en_uso=set(in_use))
    return m.deployment_id if m else None


def test_L5_5_closest_in_time_wins_within_the_skew_margin():
    acts = [act("old", T0 - MARGEN_ADOPCION - timedelta(seconds=1)), act("far", T0 + timedelta(minutes=4)),
            act("near", T0 - timedelta(minutes=2))]
    assert pick(acts) == "near"


def test_L5_5_other_bot_other_user_or_already_recorded_never_adopted():
    acts = [act("other-file", T0, file_id=9), act("other-user", T0, user_id=9), act("recorded", T0)]
    assert pick(acts, in_use={"recorded"}) is None


def test_L5_5_not_started_yet_is_a_candidate_after_dated_ones_unless_it_ended_long_ago():
    assert pick([act("queued", None, status="QUEUED")]) == "queued"
    assert pick([act("queued", None), act("dated", T0 + timedelta(seconds=30))]) == "dated"
    assert pick([act("stale", None, end=T0 - timedelta(hours=1), status="DEPLOY_FAILED")]) is None


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-900, 900), st.sampled_from([5100, 5101]),
                          st.sampled_from([700, 701])), max_size=12),
       st.sets(st.integers(0, 5)))
def test_L5_5_choice_is_always_an_unrecorded_matching_run_inside_the_margin(rows, used):
    acts = [act(f"d{n}", T0 + timedelta(seconds=s), file_id=f, user_id=u) for n, s, f, u in rows]
    chosen = pick(acts, in_use={f"d{n}" for n in used})
    eligible = [a for a in acts if a.deployment_id not in {f"d{n}" for n in used} and a.file_id == 5100
                and a.user_id == 700 and a.start_utc >= T0 - MARGEN_ADOPCION]
    if not eligible:
        assert chosen is None
    else:
        best = min(abs((a.start_utc - T0).total_seconds()) for a in eligible)
        assert chosen in {a.deployment_id for a in eligible if abs((a.start_utc - T0).total_seconds()) == best}


# -- L5.7 late deployments ---------------------------------------------------------------------------
def _fila(eid, minutos, equipo=80, robot=5100, user=700):
    return {"EjecucionId": eid, "FechaInicio": T0.replace(tzinfo=None) + timedelta(minutes=minutos),
            "EquipoId": equipo, "RobotId": robot, "UserId": user}


def _tardia(dep, minutos=None, device=80, **kw):
    a = act(dep, None if minutos is None else T0 + timedelta(minutes=minutos), **kw)
    return Activity(**{**a.__dict__, "device_id": device})


def _utc(naive):
    return naive.replace(tzinfo=timezone.utc)


def test_L5_7_each_late_run_goes_to_the_closest_given_up_intent_of_its_equipo_once():
    filas = [_fila(1, 0), _fila(2, 30), _fila(3, 0, equipo=81)]
    acts = [_tardia("a", 31), _tardia("b", 1), _tardia("c", 2, device=82), _tardia("d", 0, device=81)]
    pares = adopciones_tardias(filas, acts, en_uso=set(), a_utc=_utc)
    assert sorted((e, a.deployment_id) for e, a in pares) == [(1, "b"), (2, "a"), (3, "d")]


def test_L5_7_recorded_runs_other_robots_and_runs_an_intent_in_flight_could_own_are_not_adopted():
    filas = [_fila(1, 0)]
    acts = [_tardia("grabada", 1), _tardia("otro-bot", 1, file_id=9), _tardia("en-vuelo", 20)]
    en_curso = [_fila(9, 19)]
    assert adopciones_tardias(filas, acts, en_uso={"grabada"}, a_utc=_utc, en_curso=en_curso) == []
    # without the launch in flight the run is the given-up intent's
    assert [a.deployment_id for _, a in adopciones_tardias(filas, acts, en_uso={"grabada"}, a_utc=_utc)] == \
        ["en-vuelo"]


def test_L5_7_a_callback_without_file_or_start_matches_by_equipo_and_user():
    filas = [_fila(1, 0, user=700)]
    cb = Activity(deployment_id="cb", status="RUN_COMPLETED", start_utc=None, end_utc=None, device_id=80,
                  user_id=701, file_id=None, message=None)
    assert adopciones_tardias(filas, [cb], en_uso=set(), a_utc=_utc) == []  # another user
    cb = Activity(**{**cb.__dict__, "user_id": 700})
    assert [e for e, _ in adopciones_tardias(filas, [cb], en_uso=set(), a_utc=_utc)] == [1]
