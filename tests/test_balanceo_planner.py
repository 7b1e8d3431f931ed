"""Example tests of the pure planner: B5 sizing boundaries, B6 scarcity, B8, B9, B4 re-check."""

from __future__ import annotations

from datetime import datetime

import pytest

from balanceador.modelo import AjustesBalanceo, AjustesCooling, Asignacion, EquipoPool, RobotBalanceo
from balanceador.service.balanceo import equipos_deseados, planificar

NOW = datetime(2026, 3, 2, 10, 0, 0)
AJ = AjustesBalanceo(10, ("ATTENDEDRUNTIME",), AjustesCooling(300, 30, 40))


def robot(rid, **kw):
    return RobotBalanceo(robot_id=rid, robot=f"R{rid}", **kw)


def vms(n, start=100):
    return [EquipoPool(equipo_id=e, equipo=f"VM{e}") for e in range(start, start + n)]


def plan(robots, pool, asig=(), tickets=None, ocupados=(), protegidos=(), cooling=None, aj=AJ):
    return planificar(robots, pool, list(asig), frozenset(ocupados), tickets or {}, frozenset(protegidos),
                      cooling or {}, aj, NOW)


@pytest.mark.parametrize(
    ("tickets", "esperado"),
    [(0, 0), (1, 1), (9, 1), (10, 1), (11, 2), (25, 3), (100, 10)],
)
def test_B5_desired_vms_boundaries_default_ratio(tickets, esperado):
    assert equipos_deseados(tickets, robot(1, min_equipos=1, max_equipos=-1), 10) == esperado


@pytest.mark.parametrize(("tickets", "esperado"), [(0, 0), (1, 2), (4, 2), (5, 2), (6, 2), (11, 3), (16, 4),
                                                   (21, 4), (1000, 4)])
def test_B5_desired_vms_with_robot_ratio_min_and_max(tickets, esperado):
    r = robot(1, min_equipos=2, max_equipos=4, tickets_por_equipo=5)
    assert equipos_deseados(tickets, r, 10) == esperado


def test_B5_ratio_zero_or_null_uses_default_and_max_minus_one_is_no_limit():
    assert equipos_deseados(95, robot(1, tickets_por_equipo=0), 10) == 10
    assert equipos_deseados(95, robot(1, tickets_por_equipo=None), 10) == 10
    assert equipos_deseados(10_000, robot(1, max_equipos=-1), 10) == 1000


def test_B5_min_greater_than_max_max_wins():
    r = robot(1, min_equipos=5, max_equipos=2)
    assert equipos_deseados(1, r, 10) == 2
    assert equipos_deseados(0, r, 10) == 0
    p = plan([r], vms(10), tickets={1: 1})
    assert len(p.final[1]) == 2


def test_B5_max_zero_never_gets_vms():
    p = plan([robot(1, max_equipos=0)], vms(3), tickets={1: 50})
    assert p.final[1] == frozenset() and p.vacio


def test_B1_tickets_appear_vms_assigned_with_history_fields():
    p = plan([robot(1)], vms(5), tickets={1: 25})
    assert len(p.final[1]) == 3
    (ac,) = p.acciones
    assert ac.accion == "ASIGNAR" and ac.antes == 0 and ac.despues == 3 and len(ac.equipo_ids) == 3
    assert ac.codigo_motivo == "DEMANDA" and "Tickets: 25" in ac.justificacion


def test_B6_scarcity_floors_first_in_priority_order():
    robots = [robot(1, prioridad=50, min_equipos=2), robot(2, prioridad=10, min_equipos=2),
              robot(3, prioridad=100, min_equipos=2)]
    p = plan(robots, vms(5), tickets={1: 100, 2: 100, 3: 100})
    # floors: 2 (prio 10), 2 (prio 50), 1 of 2 (prio 100); nothing left for the rest of d
    assert len(p.final[2]) == 2 and len(p.final[1]) == 2 and len(p.final[3]) == 1


def test_B6_scarcity_rest_of_d_goes_to_higher_priority():
    robots = [robot(1, prioridad=50), robot(2, prioridad=10)]
    p = plan(robots, vms(6), tickets={1: 100, 2: 100})
    assert len(p.final[2]) == 5 and len(p.final[1]) == 1


def test_B6_tie_larger_unmet_need_then_robot_id():
    robots = [robot(1, min_equipos=1), robot(2, min_equipos=1), robot(3, min_equipos=1)]
    p = plan(robots, vms(2), tickets={1: 10, 2: 10, 3: 10})
    assert {r for r, e in p.final.items() if e} == {1, 2}
    robots = [robot(1, min_equipos=1), robot(2, min_equipos=3)]
    p = plan(robots, vms(2), tickets={1: 10, 2: 30})
    assert len(p.final[2]) == 2 and len(p.final[1]) == 0


def test_B6_below_floor_takes_idle_vm_from_lower_priority_robot_above_floor():
    robots = [robot(1, prioridad=10, min_equipos=2), robot(2, prioridad=90, min_equipos=1)]
    asig = [Asignacion(2, 100), Asignacion(2, 101), Asignacion(2, 102)]
    # 100 busy; 101, 102 idle. Robot 2 keeps its floor (1).
    p = plan(robots, vms(3), asig, tickets={1: 20, 2: 30}, ocupados={100})
    assert p.final[1] == {101, 102} and p.final[2] == {100}
    motivos = {(a.robot_id, a.accion): a.codigo_motivo for a in p.acciones}
    assert motivos[(2, "DESASIGNAR")] == "PREEMPCION_PRIORIDAD"
    assert motivos[(1, "ASIGNAR")] == "BAJO_MINIMO"


def test_B6_busy_vms_are_never_taken_and_releases_prefer_idle_vms():
    robots = [robot(1, prioridad=10, min_equipos=1), robot(2, prioridad=90, min_equipos=0)]
    asig = [Asignacion(2, 100)]
    p = plan(robots, vms(1), asig, tickets={1: 10, 2: 10}, ocupados={100})
    assert p.final[2] == {100} and not p.final[1]
    # scale down 3 -> 1 releases the idle ones
    asig = [Asignacion(1, 100), Asignacion(1, 101), Asignacion(1, 102)]
    p = plan([robot(1)], vms(3), asig, tickets={1: 5}, ocupados={101})
    assert p.final[1] == {101}


def test_B8_protected_robot_keeps_its_vms_and_reports_it():
    asig = [Asignacion(1, 100), Asignacion(1, 101)]
    p = plan([robot(1)], vms(2), asig, tickets={1: 0}, protegidos={1})
    assert p.vacio
    assert [r.codigo for r in p.retenidos] == ["FUENTE_CAIDA"]


def test_B9_manual_reserved_scheduled_rows_untouched_and_not_in_pool():
    robots = [robot(1), robot(2)]
    asig = [Asignacion(2, 100, "Manual"), Asignacion(2, 101, "Balanceador", reservado=True),
            Asignacion(2, 102, "Programacion", es_programado=True), Asignacion(2, 103, None)]
    p = plan(robots, vms(5), asig, tickets={1: 100, 2: 0})
    assert p.final[1] == {104}
    assert all(a.robot_id == 1 for a in p.acciones)


def test_B9_robot_no_longer_balanced_has_its_rows_released():
    robots = [robot(1, es_online=False), robot(2, activo=False)]
    asig = [Asignacion(1, 100), Asignacion(2, 101), Asignacion(3, 102), Asignacion(1, 103, "Manual")]
    p = plan(robots, vms(4), asig, tickets={1: 50, 2: 50})
    released = {(a.robot_id, e) for a in p.acciones for e in a.equipo_ids}
    assert released == {(1, 100), (2, 101), (3, 102)}
    assert {a.codigo_motivo for a in p.acciones} == {"ROBOT_NO_BALANCEADO"}


def test_B4_pool_filters_rechecked_in_planner():
    pool = [
        EquipoPool(100, licencia="UNATTENDED"),
        EquipoPool(101, activo_sam=False),
        EquipoPool(102, permite_balanceo=False),
        EquipoPool(103, estado_a360="DISCONNECTED"),
        EquipoPool(104, usuario_activo=False),
        EquipoPool(105, licencia="attendedruntime"),
    ]
    p = plan([robot(1)], pool, [Asignacion(1, 103)], tickets={1: 100})
    assert p.final[1] == {105}
    assert {(a.accion, a.codigo_motivo) for a in p.acciones} == {("DESASIGNAR", "EQUIPO_FUERA_POOL"),
                                                                  ("ASIGNAR", "BAJO_MINIMO")}


def test_B5_robot_above_max_is_trimmed():
    asig = [Asignacion(1, e) for e in range(100, 105)]
    p = plan([robot(1, max_equipos=2)], vms(5), asig, tickets={1: 100}, protegidos={1})
    assert len(p.final[1]) == 2


def test_B6_B7_robot_held_by_cooling_and_preempted_wants_nothing_back():
    """A robot with no tickets whose release cooling holds back (zero dip) may lose its idle VM to
    a higher-priority robot; it must not then be reported (or served) as wanting a VM."""
    from datetime import timedelta

    from balanceador.modelo import EstadoCooling

    robots = [robot(1, prioridad=10, min_equipos=1), robot(3, prioridad=100, min_equipos=1)]
    asig = [Asignacion(3, 100)]
    cooling = {3: EstadoCooling(cero_desde=NOW - timedelta(seconds=10))}
    p = plan(robots, vms(1), asig, tickets={1: 5, 3: 0}, cooling=cooling)
    assert p.final[1] == {100} and p.final[3] == frozenset()
    assert [(r.robot_id, r.codigo) for r in p.retenidos if r.direccion == "ASIGNAR"] == []
    assert not [a for a in p.acciones if a.robot_id == 3 and a.accion == "ASIGNAR"]
