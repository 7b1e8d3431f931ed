"""B7: CoolingManager decisions and a simulated trace of oscillating tickets."""

from __future__ import annotations

from datetime import datetime, timedelta

from balanceador.modelo import (
    AjustesBalanceo,
    AjustesCooling,
    Asignacion,
    Cambio,
    EquipoPool,
    EstadoCooling,
    RobotBalanceo,
)
from balanceador.service.balanceo import planificar
from balanceador.service.cooling_manager import CoolingManager, puede_bajar, puede_subir

T0 = datetime(2026, 3, 2, 8, 0, 0)
AJC = AjustesCooling(300, 30, 40)
AJ = AjustesBalanceo(10, ("ATTENDEDRUNTIME",), AJC)


def test_B7_reversal_within_period_needs_threshold():
    now = T0 + timedelta(seconds=100)
    subio = EstadoCooling(ultima_subida=Cambio(T0, 100))
    assert not puede_bajar(subio, 61, now, AJC).permitido
    assert puede_bajar(subio, 60, now, AJC).permitido  # fell 40 %
    assert puede_bajar(subio, 61, T0 + timedelta(seconds=300), AJC).permitido  # period over
    bajo = EstadoCooling(ultima_bajada=Cambio(T0, 100))
    assert not puede_subir(bajo, 129, now, AJC).permitido
    assert puede_subir(bajo, 130, now, AJC).permitido  # rose 30 %
    assert puede_subir(EstadoCooling(), 1, now, AJC).permitido


def test_B7_second_reversal_within_period_is_never_allowed():
    now = T0 + timedelta(seconds=100)
    e = EstadoCooling(ultima_subida=Cambio(T0, 100), ultima_bajada=Cambio(T0 + timedelta(seconds=50), 10))
    assert not puede_subir(e, 1000, now, AJC).permitido
    e = EstadoCooling(ultima_bajada=Cambio(T0, 100), ultima_subida=Cambio(T0 + timedelta(seconds=50), 200))
    assert not puede_bajar(e, 0, now, AJC).permitido


def test_B7_dip_to_zero_shorter_than_period_releases_nothing():
    assert not puede_bajar(EstadoCooling(cero_desde=T0), 0, T0 + timedelta(seconds=299), AJC).permitido
    assert puede_bajar(EstadoCooling(cero_desde=T0), 0, T0 + timedelta(seconds=300), AJC).permitido
    assert not puede_bajar(EstadoCooling(), 0, T0, AJC).permitido  # first cycle at zero


def _simular(serie, paso_s, n_vms=40, min_equipos=1):
    """Run the planner + CoolingManager cycle by cycle; return [(t, robot, accion, codigo)]."""
    cm = CoolingManager(AJC)
    robots = [RobotBalanceo(1, "R1", min_equipos=min_equipos), RobotBalanceo(2, "R2", min_equipos=min_equipos)]
    pool = [EquipoPool(e) for e in range(100, 100 + n_vms)]
    asig: dict[tuple[int, int], Asignacion] = {}
    cambios = []
    for i, tickets in enumerate(serie):
        now = T0 + timedelta(seconds=i * paso_s)
        cm.observar(tickets, [1, 2], (), now)
        plan = planificar(robots, pool, list(asig.values()), frozenset(), tickets, frozenset(), cm.snapshot(),
                          AJ, now)
        for ac in plan.acciones:
            for e in ac.equipo_ids:
                if ac.accion == "DESASIGNAR":
                    del asig[(ac.robot_id, e)]
                else:
                    asig[(ac.robot_id, e)] = Asignacion(ac.robot_id, e)
            cambios.append((now, ac.robot_id, ac.accion, ac.codigo_motivo))
        cm.registrar_plan(plan, now)
    return cambios


def test_B7_trace_oscillating_tickets_at_most_one_change_per_direction_per_period():
    # Tickets swing 100 <-> 20 every 60 s (robot 1) and 150 <-> 0 every 120 s (robot 2), for 1 h.
    serie = []
    for i in range(60):
        serie.append({1: 100 if i % 2 == 0 else 20, 2: 150 if (i // 2) % 2 == 0 else 0})
    cambios = _simular(serie, 60)
    assert cambios, "the trace must move something"
    for rid in (1, 2):
        for direccion in ("ASIGNAR", "DESASIGNAR"):
            tiempos = [t for t, r, a, c in cambios if r == rid and a == direccion and c != "BAJO_MINIMO"]
            for a, b in zip(tiempos, tiempos[1:], strict=False):
                assert (b - a).total_seconds() >= AJC.periodo_seg, (rid, direccion, tiempos)
    # Robot 2's dips to zero last 120 s < 300 s: it never releases anything.
    assert not [c for c in cambios if c[1] == 2 and c[2] == "DESASIGNAR"]


def test_B7_below_floor_is_served_at_once_even_right_after_a_release():
    cm = CoolingManager(AJC)
    cm.registrar(1, "DESASIGNAR", 100, T0)  # released a moment ago
    r = RobotBalanceo(1, "R1", min_equipos=3)
    pool = [EquipoPool(e) for e in range(100, 110)]
    plan = planificar([r], pool, [], frozenset(), {1: 50}, frozenset(), cm.snapshot(), AJ,
                      T0 + timedelta(seconds=10))
    assert len(plan.final[1]) == 3  # the floor at once; the rest (d=5) held by cooling
    assert [x.codigo for x in plan.retenidos] == ["COOLING_SUBIDA"]
    assert plan.retenidos_por_cooling()[0].cantidad == 2


def test_B7_rebuild_from_history_rows():
    cm = CoolingManager(AJC)
    n = cm.reconstruir([
        {"RobotId": 1, "AccionTomada": "ASIGNAR", "FechaBalanceo": T0, "TicketsPendientes": 100,
         "CodigoMotivo": "DEMANDA"},
        {"RobotId": 1, "AccionTomada": "DESASIGNAR", "FechaBalanceo": T0, "TicketsPendientes": 5,
         "CodigoMotivo": "EQUIPO_FUERA_POOL"},  # structural: not a cooling change
        {"RobotId": 2, "AccionTomada": "DESASIGNAR", "FechaBalanceo": T0, "TicketsPendientes": 7,
         "CodigoMotivo": "EXCESO_DEMANDA"},
    ])
    assert n == 2
    snap = cm.snapshot()
    assert snap[1].ultima_subida == Cambio(T0, 100) and snap[1].ultima_bajada is None
    assert snap[2].ultima_bajada == Cambio(T0, 7)


def test_B10_copy_is_independent_of_the_running_manager():
    """The dry run plans with a copy: observing on it leaves the service's state untouched."""
    cm = CoolingManager.desde_snapshot(AJC, {1: EstadoCooling(ultima_subida=Cambio(T0, 10))})
    copia = cm.copia()
    copia.observar({}, [1, 2], [], T0 + timedelta(seconds=5))
    copia.registrar(3, "ASIGNAR", 4, T0)
    assert copia.ajustes == cm.ajustes
    assert copia.snapshot()[2].cero_desde == T0 + timedelta(seconds=5)
    assert cm.snapshot() == {1: EstadoCooling(ultima_subida=Cambio(T0, 10))}
