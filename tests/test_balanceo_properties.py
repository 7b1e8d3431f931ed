"""Property tests of the pure planner (B4-B9, and B11-B13 with pools) over thousands of random
fleets (hypothesis). ``flotas(pools=True)`` adds pools (some inactive) and random isolation and
preemption settings; tests/test_pools_properties.py holds the pool-only properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from balanceador.modelo import (
    LIBERACIONES_ESTRUCTURALES,
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
from balanceador.service.balanceo import limites, planificar
from balanceador.service.cooling_manager import CoolingManager

NOW = datetime(2026, 3, 2, 10, 0, 0)
LICENCIAS = ("ATTENDEDRUNTIME",)


@st.composite
def flotas(draw, max_robots: int = 12, max_equipos: int = 30, pools: bool = False):
    """A random fleet. Sizes come from hypothesis (they shrink); the rest from a seeded Random
    drawn from hypothesis (fast enough to run thousands of fleets). ``pools``: robots and equipos
    spread over up to 3 pools and the general one (a pool may be inactive), with random
    BALANCEADOR_AISLAMIENTO_ESTRICTO and BALANCEADOR_PREEMPCION."""
    n_robots = draw(st.integers(0, max_robots))
    n_equipos = draw(st.integers(0, max_equipos))
    rnd = draw(st.randoms(use_true_random=False))
    ch = rnd.choice
    robots = [
        RobotBalanceo(
            robot_id=rid,
            robot=f"R{rid}",
            activo=rnd.random() < 0.85,
            es_online=rnd.random() < 0.85,
            existe_en_a360=rnd.random() < 0.9,
            min_equipos=rnd.randint(0, 4),
            max_equipos=ch([-1, -1, 0, 1, 2, 3, 5, 8]),
            prioridad=ch([1, 5, 10, 10, 50, 100]),
            tickets_por_equipo=ch([None, None, 0, 1, 3, 10]),
        )
        for rid in range(1, n_robots + 1)
    ]
    pool = [
        EquipoPool(
            equipo_id=eid,
            equipo=f"VM{eid}",
            licencia=ch(["ATTENDEDRUNTIME"] * 6 + ["UNATTENDED", "attendedruntime"]),
            activo_sam=rnd.random() < 0.9,
            permite_balanceo=rnd.random() < 0.9,
            estado_a360=ch(["CONNECTED"] * 8 + ["DISCONNECTED", None]),
            usuario_activo=rnd.random() < 0.9,
        )
        for eid in range(100, 100 + n_equipos)
    ]
    asignaciones: dict[tuple[int, int], Asignacion] = {}
    if robots and pool:
        for _ in range(rnd.randint(0, n_equipos + 5)):
            rid = rnd.randint(1, n_robots + 1)  # n_robots + 1 = a robot the DB no longer lists
            eid = rnd.randint(100, 100 + n_equipos - 1)
            tipo = ch(["bal", "bal", "bal", "bal", "manual", "reservado", "programado"])
            asignaciones[(rid, eid)] = Asignacion(
                rid, eid,
                asignado_por="Balanceador" if tipo in ("bal", "reservado", "programado") else "Manual",
                reservado=tipo == "reservado",
                es_programado=tipo == "programado",
            )
    ocupados = frozenset(e.equipo_id for e in pool if rnd.random() < 0.3)
    tickets = {rid: ch([0, 0, 1, 5, 9, 10, 11, 25, 100]) for rid in range(1, n_robots + 1)}
    protegidos = frozenset(rid for rid in range(1, n_robots + 1) if rnd.random() < 0.15)

    def cambio():
        if rnd.random() < 0.4:
            return None
        return Cambio(NOW - timedelta(seconds=rnd.randint(1, 900)), ch([0, 1, 5, 10, 50, 100]))

    cooling = {
        rid: EstadoCooling(
            ultima_subida=cambio(), ultima_bajada=cambio(),
            cero_desde=None if rnd.random() < 0.5 else NOW - timedelta(seconds=rnd.randint(0, 900)),
        )
        for rid in range(1, n_robots + 1)
    }
    periodo = ch([0, 300])
    ajustes = AjustesBalanceo(10, LICENCIAS, AjustesCooling(periodo, 30, 40))
    if pools:
        n_pools = draw(st.integers(1, 3))
        activos = {p: rnd.random() < 0.85 for p in range(1, n_pools + 1)}
        activos[None] = True
        opciones = [None, None, *range(1, n_pools + 1)]
        robots = [replace(r, pool_id=(p := ch(opciones)), pool_activo=activos[p]) for r in robots]
        pool = [replace(e, pool_id=(p := ch(opciones)), pool_activo=activos[p]) for e in pool]
        ajustes = replace(ajustes, aislamiento_estricto=rnd.random() < 0.4, preempcion=rnd.random() < 0.7)
    return robots, pool, list(asignaciones.values()), ocupados, tickets, protegidos, cooling, ajustes


def _plan(f) -> Plan:
    robots, pool, asig, ocupados, tickets, protegidos, cooling, ajustes = f
    return planificar(robots, pool, asig, ocupados, tickets, protegidos, cooling, ajustes, NOW)


def _elegibles(f) -> set[int]:
    robots, pool, asig, *_ = f
    bloqueados = {a.equipo_id for a in asig if not a.del_balanceador}
    lic = {x.upper() for x in LICENCIAS}
    return {e.equipo_id for e in pool if e.apto(frozenset(lic)) and e.equipo_id not in bloqueados}


def _aplicar(asig: list[Asignacion], plan: Plan) -> list[Asignacion]:
    filas = {(a.robot_id, a.equipo_id): a for a in asig}
    for ac in plan.acciones:
        if ac.accion == "DESASIGNAR":
            for e in ac.equipo_ids:
                assert filas[(ac.robot_id, e)].del_balanceador
                del filas[(ac.robot_id, e)]
    for ac in plan.acciones:
        if ac.accion == "ASIGNAR":
            for e in ac.equipo_ids:
                assert (ac.robot_id, e) not in filas
                filas[(ac.robot_id, e)] = Asignacion(ac.robot_id, e)
    return list(filas.values())


def _objetivo_permitido(plan: Plan, rid: int) -> int:
    retenido_cooling = sum(r.cantidad for r in plan.retenidos
                           if r.robot_id == rid and r.direccion == "ASIGNAR" and r.codigo.startswith("COOLING"))
    return plan.deseados[rid] - retenido_cooling


PROPS = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(flotas())
def test_B4_B5_B6_B9_invariants_hold_for_random_fleets(f):
    robots, pool, asig, ocupados, tickets, protegidos, cooling, ajustes = f
    plan = _plan(f)
    by_id = {r.robot_id: r for r in robots}
    elegibles = _elegibles(f)
    pool_de = {e.equipo_id: e.pool_id for e in pool}
    estricto, preempcion = ajustes.aislamiento_estricto, ajustes.preempcion

    def usable(e: int, rid: int) -> bool:
        """B11/B12: the robot's own pool, or the general pool's when isolation is not strict."""
        return pool_de[e] == by_id[rid].pool_id or (pool_de[e] is None and not estricto)

    # Only pool VMs, each to at most one robot, of the robot's pool (B11).
    vistos: set[int] = set()
    for rid, equipos in plan.final.items():
        assert equipos <= elegibles, "B4: a VM outside the pool is held"
        assert all(usable(e, rid) for e in equipos), "B11: a VM of another pool is held"
        assert not (equipos & vistos), "a VM is held by two robots"
        vistos |= equipos
        # No robot above Max (B5).
        _, maximo = limites(by_id[rid])
        if maximo is not None:
            assert len(equipos) <= maximo
    # Only balanced robots hold VMs.
    assert all(by_id[rid].balanceado for rid in plan.final)

    # B9: manual/reserved/scheduled rows and their equipos are untouched.
    ajenas = {(a.robot_id, a.equipo_id) for a in asig if not a.del_balanceador}
    ajenos_eq = {e for _, e in ajenas}
    propias = {(a.robot_id, a.equipo_id) for a in asig if a.del_balanceador}
    for ac in plan.acciones:
        for e in ac.equipo_ids:
            if ac.accion == "DESASIGNAR":
                assert (ac.robot_id, e) in propias
            else:
                assert e not in ajenos_eq and (ac.robot_id, e) not in propias
    nuevas = _aplicar(asig, plan)
    assert {(a.robot_id, a.equipo_id) for a in nuevas if not a.del_balanceador} == ajenas

    # Plan result equals the applied assignments.
    aplicadas = {}
    for a in nuevas:
        if a.del_balanceador:
            aplicadas.setdefault(a.robot_id, set()).add(a.equipo_id)
    assert aplicadas == {rid: set(eq) for rid, eq in plan.final.items() if eq}

    libres = elegibles - vistos
    prestados = {e for lid, equipos in plan.final.items() for e in equipos if pool_de[e] != by_id[lid].pool_id}

    def libres_para(rid: int) -> set[int]:
        return {e for e in libres if usable(e, rid)}

    def robables_para(rid: int) -> set[int]:
        """Idle VMs held above their floor by unprotected robots of lower priority of the same pool
        (B13: none when preemption is off): their own pool's VMs, or loans among borrowers."""
        if not preempcion:
            return set()
        prio, pool_r = by_id[rid].prioridad, by_id[rid].pool_id
        out: set[int] = set()
        for lid, equipos in plan.final.items():
            lr = by_id[lid]
            floor = min(limites(lr)[0], plan.deseados[lid])
            if lr.prioridad > prio and lid not in protegidos and len(equipos) > floor:
                if lr.pool_id == pool_r:
                    out |= {e for e in equipos if e not in ocupados and pool_de[e] == pool_r}
                if pool_r is not None and lr.pool_id is not None:
                    out |= {e for e in equipos if e not in ocupados and e in prestados}
        return out

    for rid, equipos in plan.final.items():
        r = by_id[rid]
        d = plan.deseados[rid]
        floor = min(limites(r)[0], d)
        # B6: floors met whenever the pool allows; B12: the general pool's robots take loans back.
        if len(equipos) < floor:
            assert not libres_para(rid), "B6: a robot is below its floor while free VMs exist"
            assert not robables_para(rid), "B6: a robot below its floor could take an idle VM"
            if r.pool_id is None:
                assert not prestados, "B12: a general-pool robot below its floor while loans remain"
        # No idle VM while a robot below its desired count could use it (except cooling), and
        # no priority inversion.
        if len(equipos) < _objetivo_permitido(plan, rid):
            assert not libres_para(rid), "a free VM is left while a robot is below its desired count"
            assert not robables_para(rid), "B6: priority inversion"
        # B5: d formula is respected; never above d except what is held back.
        if len(equipos) > d:
            assert any(x.robot_id == rid and x.direccion == "DESASIGNAR" for x in plan.retenidos) or \
                len(equipos) <= len({e for (rr, e) in propias if rr == rid})

    # B8: protected robots never scale down because of tickets.
    for ac in plan.acciones:
        if ac.accion == "DESASIGNAR" and ac.robot_id in protegidos and ac.robot_id in plan.final:
            assert ac.codigo_motivo in LIBERACIONES_ESTRUCTURALES, ac
    for rid in protegidos:
        if rid in plan.final:
            antes = {e for (rr, e) in propias if rr == rid and e in elegibles and usable(e, rid)}
            _, maximo = limites(by_id[rid])
            # Loans the general pool took back (B12) are not a scale-down either.
            devueltos = sum(len(ac.equipo_ids) for ac in plan.acciones
                            if ac.robot_id == rid and ac.codigo_motivo == RECLAMO_DESBORDE)
            assert len(plan.final[rid]) >= min(len(antes), maximo if maximo is not None else len(antes)) - \
                sum(1 for (rr2, e2) in propias if e2 in antes and rr2 < rid) - devueltos  # duplicates first

    # History rows: one per robot and direction, counts consistent.
    claves = [(a.robot_id, a.accion) for a in plan.acciones]
    assert len(claves) == len(set(claves))
    for ac in plan.acciones:
        delta = len(ac.equipo_ids)
        assert ac.despues - ac.antes == (delta if ac.accion == "ASIGNAR" else -delta)
        assert ac.codigo_motivo and ac.justificacion


@PROPS
@given(flotas())
def test_B7_B9_idempotence_apply_then_plan_again_changes_nothing(f):
    robots, pool, asig, ocupados, tickets, protegidos, cooling, ajustes = f
    plan = _plan(f)
    nuevas = _aplicar(asig, plan)
    cm = CoolingManager.desde_snapshot(ajustes.cooling, cooling)
    cm.registrar_plan(plan, NOW)
    plan2 = planificar(robots, pool, nuevas, ocupados, tickets, protegidos, cm.snapshot(), ajustes, NOW)
    assert plan2.vacio, plan2.acciones
    assert plan2.final == plan.final


@settings(max_examples=400, deadline=None)
@given(flotas())
def test_B8_failing_source_causes_no_scale_down_for_fed_robots(f):
    robots, pool, asig, ocupados, tickets, protegidos, cooling, ajustes = f
    # The failing source fed every robot: they all report zero tickets this cycle.
    todos = frozenset(r.robot_id for r in robots)
    ceros = {rid: 0 for rid in todos}
    plan = planificar(robots, pool, asig, ocupados, ceros, todos, cooling, ajustes, NOW)
    for ac in plan.acciones:
        if ac.accion == "DESASIGNAR":
            assert ac.codigo_motivo in LIBERACIONES_ESTRUCTURALES


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flotas(max_robots=80, max_equipos=300))
def test_B4_to_B9_invariants_and_idempotence_on_larger_fleets(f):
    test_B4_B5_B6_B9_invariants_hold_for_random_fleets.hypothesis.inner_test(f)
    test_B7_B9_idempotence_apply_then_plan_again_changes_nothing.hypothesis.inner_test(f)


@PROPS
@given(flotas(pools=True))
def test_B11_B12_B13_every_invariant_and_idempotence_hold_with_pools(f):
    """B4-B9 with pools, overflow and preemption on or off: the same invariants (pool-aware) and
    apply-then-plan-again changes nothing."""
    test_B4_B5_B6_B9_invariants_hold_for_random_fleets.hypothesis.inner_test(f)
    test_B7_B9_idempotence_apply_then_plan_again_changes_nothing.hypothesis.inner_test(f)


@settings(max_examples=400, deadline=None)
@given(flotas(pools=True))
def test_B8_B12_failing_source_causes_no_scale_down_with_pools(f):
    test_B8_failing_source_causes_no_scale_down_for_fed_robots.hypothesis.inner_test(f)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flotas(max_robots=80, max_equipos=300, pools=True))
def test_B11_B12_B13_invariants_and_idempotence_on_larger_fleets_with_pools(f):
    test_B11_B12_B13_every_invariant_and_idempotence_hold_with_pools.hypothesis.inner_test(f)
