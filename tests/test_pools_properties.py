"""Properties of pools (B11-B13) over thousands of random fleets (hypothesis), plus small examples
of each rule. The B4-B9 invariants with pools are in tests/test_balanceo_properties.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings

from balanceador.modelo import (
    BAJO_MINIMO,
    DEMANDA,
    DESBORDE,
    EQUIPO_OTRO_POOL,
    LIBERACIONES_ESTRUCTURALES,
    POOL_INACTIVO,
    PREEMPCION_PRIORIDAD,
    RECLAMO_DESBORDE,
    AjustesBalanceo,
    AjustesCooling,
    Asignacion,
    Cambio,
    EquipoPool,
    EstadoCooling,
    Plan,
    RobotBalanceo,
)
from balanceador.service.balanceo import planificar
from tests.test_balanceo_properties import NOW, _plan, flotas

PROPS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _antes(asig: list[Asignacion]) -> dict[int, int]:
    """Equipo -> robot holding it through a balancer row (the first by RobotId)."""
    out: dict[int, int] = {}
    for a in sorted(asig, key=lambda a: (a.robot_id, a.equipo_id)):
        if a.del_balanceador:
            out.setdefault(a.equipo_id, a.robot_id)
    return out


def _despues(plan: Plan) -> dict[int, int]:
    return {e: rid for rid, equipos in plan.final.items() for e in equipos}


@PROPS
@given(flotas(pools=True))
def test_B11_a_pooled_equipo_never_serves_a_robot_of_another_pool(f):
    robots, pool, *_ = f
    plan = _plan(f)
    pool_robot = {r.robot_id: r.pool_id for r in robots}
    pool_equipo = {e.equipo_id: e.pool_id for e in pool}
    for e, rid in _despues(plan).items():
        if pool_equipo[e] is not None:
            assert pool_robot[rid] == pool_equipo[e], (e, rid)
        elif pool_robot[rid] is not None:
            assert not f[-1].aislamiento_estricto, "B11: a loan under strict isolation"
    for ac in plan.acciones:
        if ac.accion == "ASIGNAR":
            assert ac.pool_id == pool_robot[ac.robot_id]
            assert all(pool_equipo[e] in (None, ac.pool_id) for e in ac.equipo_ids)


@PROPS
@given(flotas(pools=True))
def test_B11_under_strict_isolation_each_pool_plans_as_an_independent_fleet(f):
    robots, pool, asig, ocupados, tickets, protegidos, cooling, ajustes = f
    ajustes = replace(ajustes, aislamiento_estricto=True)
    plan = planificar(robots, pool, asig, ocupados, tickets, protegidos, cooling, ajustes, NOW)
    for p in {r.pool_id for r in robots} | {e.pool_id for e in pool}:
        suyos = [r for r in robots if r.pool_id == p]
        ids = {r.robot_id for r in suyos}
        solo = planificar(suyos, [e for e in pool if e.pool_id == p], asig, ocupados, tickets, protegidos,
                          cooling, ajustes, NOW)
        assert {rid: eq for rid, eq in plan.final.items() if rid in ids} == dict(solo.final), p
        assert {rid: d for rid, d in plan.deseados.items() if rid in ids} == dict(solo.deseados), p

        def retenidos(x: Plan, ids=ids) -> list[tuple]:
            return sorted((r.robot_id, r.direccion, r.cantidad, r.codigo) for r in x.retenidos if r.robot_id in ids)

        def movidos(x: Plan, ids=ids) -> set[tuple]:
            return {(a.robot_id, a.accion, frozenset(a.equipo_ids)) for a in x.acciones if a.robot_id in ids}

        assert retenidos(plan) == retenidos(solo), p
        assert movidos(plan) == movidos(solo), p


@PROPS
@given(flotas(pools=True))
def test_B12_overflow_never_moves_a_pooled_equipo(f):
    robots, pool, asig, ocupados, tickets, protegidos, cooling, ajustes = f
    ajustes = replace(ajustes, aislamiento_estricto=False)
    plan = planificar(robots, pool, asig, ocupados, tickets, protegidos, cooling, ajustes, NOW)
    pool_robot = {r.robot_id: r.pool_id for r in robots}
    pool_equipo = {e.equipo_id: e.pool_id for e in pool}
    antes, despues = _antes(asig), _despues(plan)
    for e, rid in despues.items():
        if pool_equipo[e] is not None:
            assert pool_robot[rid] == pool_equipo[e], "B12: a pooled equipo left its pool"
        elif pool_robot[rid] is not None and antes.get(e) != rid:
            # A new loan: only of an equipo no robot of the general pool needed.
            previo = antes.get(e)
            assert previo is None or pool_robot.get(previo) is not None or previo not in plan.final or \
                len(plan.final[previo]) >= plan.deseados[previo], "B12: lent while its robot needed it"
    for ac in plan.acciones:
        if ac.accion == "ASIGNAR" and ac.codigo_motivo == DESBORDE:
            # One action per robot and direction: a loan may share it with the robot's own equipos.
            assert ac.pool_id is not None and any(pool_equipo[e] is None for e in ac.equipo_ids)


@PROPS
@given(flotas(pools=True))
def test_B13_without_preemption_no_equipo_changes_robot_while_its_robot_needs_it(f):
    robots, pool, asig, ocupados, tickets, protegidos, cooling, ajustes = f
    ajustes = replace(ajustes, preempcion=False)
    plan = planificar(robots, pool, asig, ocupados, tickets, protegidos, cooling, ajustes, NOW)
    assert all(ac.codigo_motivo != PREEMPCION_PRIORIDAD for ac in plan.acciones)
    motivos = {(ac.robot_id, e): ac.codigo_motivo for ac in plan.acciones if ac.accion == "DESASIGNAR"
               for e in ac.equipo_ids}
    for e, rid in _despues(plan).items():
        previo = _antes(asig).get(e)
        if previo is None or previo == rid or previo not in plan.final:
            continue
        # The previous robot lost it only because it did not need it, or as a structural release
        # (a loan the general pool took back is B12, not a takeover).
        assert len(plan.final[previo]) >= plan.deseados[previo] or \
            motivos.get((previo, e)) in LIBERACIONES_ESTRUCTURALES, (e, previo, rid)


# ---------------------------------------------------------------------------------- examples
AJ = AjustesBalanceo(10, ("ATTENDEDRUNTIME",), AjustesCooling(300, 30, 40))
SIN_AISLAMIENTO = replace(AJ, aislamiento_estricto=False)


def robot(rid, pool=None, **kw):
    return RobotBalanceo(robot_id=rid, robot=f"R{rid}", pool_id=pool, **kw)


def vms(*ids, pool=None, **kw):
    return [EquipoPool(equipo_id=e, equipo=f"VM{e}", pool_id=pool, **kw) for e in ids]


def plan(robots, equipos, asig=(), tickets=None, ocupados=(), aj=AJ, cooling=None):
    return planificar(robots, equipos, list(asig), ocupados, tickets or {}, (), cooling or {}, aj, NOW)


def test_B11_each_pool_serves_only_its_robots():
    p = plan([robot(1, pool=1, min_equipos=0), robot(2, min_equipos=0)], vms(100, 101, pool=1) + vms(200),
             tickets={1: 50, 2: 50})
    assert p.final == {1: {100, 101}, 2: {200}}
    assert {(a.robot_id, a.pool_id, a.codigo_motivo) for a in p.acciones} == {(1, 1, DEMANDA), (2, None, DEMANDA)}


def test_B11_a_row_on_another_pools_equipo_is_released():
    p = plan([robot(1, pool=1)], vms(100, pool=2) + vms(101, pool=1), [Asignacion(1, 100)], {1: 5})
    assert p.final == {1: {101}}
    assert [(a.accion, a.equipo_ids, a.codigo_motivo) for a in p.acciones] == [
        ("DESASIGNAR", (100,), EQUIPO_OTRO_POOL), ("ASIGNAR", (101,), BAJO_MINIMO)]


def test_B11_inactive_pool_releases_its_robots_and_equipos():
    robots = [robot(1, pool=1, pool_activo=False), robot(2)]
    equipos = vms(100, pool=1, pool_activo=False) + vms(200)
    p = plan(robots, equipos, [Asignacion(1, 200), Asignacion(2, 100)], {1: 50, 2: 50})
    assert p.final == {2: {200}}
    liberadas = {(a.robot_id, a.equipo_ids, a.codigo_motivo) for a in p.acciones if a.accion == "DESASIGNAR"}
    assert liberadas == {(1, (200,), POOL_INACTIVO), (2, (100,), POOL_INACTIVO)}


def test_B12_strict_isolation_lends_nothing_and_takes_loans_back():
    p = plan([robot(1, pool=1, min_equipos=0)], vms(100, pool=1) + vms(200, 201), [Asignacion(1, 200)], {1: 50})
    assert p.final == {1: {100}}
    assert {(a.accion, a.codigo_motivo) for a in p.acciones} == {("DESASIGNAR", EQUIPO_OTRO_POOL),
                                                                  ("ASIGNAR", DEMANDA)}


def test_B12_overflow_lends_free_general_equipos_in_priority_order_after_the_general_pool():
    robots = [robot(1, pool=1, prioridad=50, min_equipos=0), robot(2, pool=2, prioridad=10, min_equipos=0),
              robot(3, min_equipos=0)]
    p = plan(robots, vms(100, pool=1) + vms(200, 201, 202), tickets={1: 30, 2: 20, 3: 10}, aj=SIN_AISLAMIENTO)
    assert p.final[3] == {200}  # the general pool's own robot first
    assert p.final[2] == {201, 202}  # then the highest priority borrower
    assert p.final[1] == {100}
    assert {a.codigo_motivo for a in p.acciones if a.robot_id == 2} == {DESBORDE}


def test_B12_a_borrower_gives_loans_back_when_its_own_pool_has_equipos():
    p = plan([robot(1, pool=1, min_equipos=0)], vms(100, pool=1) + vms(200), [Asignacion(1, 200)], {1: 10},
             aj=SIN_AISLAMIENTO)
    assert p.final == {1: {100}}
    assert {(a.accion, a.equipo_ids, a.codigo_motivo) for a in p.acciones} == {
        ("DESASIGNAR", (200,), RECLAMO_DESBORDE), ("ASIGNAR", (100,), DEMANDA)}


def test_B12_the_general_pool_takes_loans_back_idle_first_before_any_takeover():
    robots = [robot(1, pool=1, min_equipos=0), robot(2, min_equipos=1), robot(3, min_equipos=0, prioridad=500)]
    asig = [Asignacion(1, 200), Asignacion(1, 201), Asignacion(3, 202)]
    p = plan(robots, vms(200, 201, 202), asig, {1: 20, 2: 5, 3: 5}, ocupados={200}, aj=SIN_AISLAMIENTO)
    assert p.final == {1: {200}, 2: {201}, 3: {202}}
    assert [(a.robot_id, a.accion, a.equipo_ids, a.codigo_motivo) for a in p.acciones] == [
        (1, "DESASIGNAR", (201,), RECLAMO_DESBORDE), (2, "ASIGNAR", (201,), BAJO_MINIMO)]


def test_B12_B7_demand_waits_for_the_borrowers_cooling_a_floor_does_not():
    subio = {1: EstadoCooling(ultima_subida=Cambio(NOW - timedelta(seconds=60), 20))}  # the loan, 60 s ago
    robots = [robot(1, pool=1, min_equipos=0), robot(2, min_equipos=0)]
    p = plan(robots, vms(200), [Asignacion(1, 200)], {1: 20, 2: 5}, aj=SIN_AISLAMIENTO, cooling=subio)
    assert p.final == {1: {200}, 2: set()} and p.acciones == ()
    robots[1] = robot(2, min_equipos=1)
    p = plan(robots, vms(200), [Asignacion(1, 200)], {1: 20, 2: 5}, aj=SIN_AISLAMIENTO, cooling=subio)
    assert p.final == {1: set(), 2: {200}}


def test_B13_preemption_stays_inside_the_pool_and_can_be_turned_off():
    robots = [robot(1, pool=1, prioridad=10, min_equipos=1), robot(2, pool=1, prioridad=90, min_equipos=0),
              robot(3, prioridad=90, min_equipos=0)]
    asig = [Asignacion(2, 100), Asignacion(3, 200)]
    equipos = vms(100, pool=1) + vms(200)
    p = plan(robots, equipos, asig, {1: 5, 2: 5, 3: 5})
    assert p.final == {1: {100}, 2: set(), 3: {200}}  # never the general pool's equipo
    assert any(a.robot_id == 2 and a.codigo_motivo == PREEMPCION_PRIORIDAD for a in p.acciones)
    p = plan(robots, equipos, asig, {1: 5, 2: 5, 3: 5}, aj=replace(AJ, preempcion=False))
    assert p.final == {1: set(), 2: {100}, 3: {200}} and p.acciones == ()
