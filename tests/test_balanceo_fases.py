"""Each phase of ``planificar`` on its own (B4-B9): structural releases, limits and scale-down,
free VMs, takeovers, floors, demand and the actions. Small tables plus a few properties; the whole
planner is covered by test_balanceo_planner.py and test_balanceo_properties.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from balanceador.modelo import (
    BAJAR,
    BAJO_MINIMO,
    COOLING_SIN_TICKETS,
    COOLING_SUBIDA,
    DEMANDA,
    EQUIPO_DUPLICADO,
    EQUIPO_FUERA_POOL,
    EXCESO_DEMANDA,
    EXCESO_MAXIMO,
    FUENTE_CAIDA,
    PREEMPCION_PRIORIDAD,
    ROBOT_NO_BALANCEADO,
    SIN_EQUIPOS_LIBRES,
    SIN_TICKETS,
    SUBIR,
    AjustesBalanceo,
    AjustesCooling,
    Asignacion,
    Cambio,
    EquipoPool,
    EstadoCooling,
    RobotBalanceo,
)
from balanceador.service.balanceo import (
    Cesiones,
    EstadoRobot,
    acciones,
    equipos_libres,
    fase_demanda,
    fase_liberaciones,
    fase_minimos,
    fase_retenidos,
    preparar_mesa,
)

NOW = datetime(2026, 3, 2, 10, 0, 0)
AJC = AjustesCooling(300, 30, 40)
AJ = AjustesBalanceo(10, ("ATTENDEDRUNTIME",), AJC)


def robot(rid, **kw):
    return RobotBalanceo(robot_id=rid, robot=f"R{rid}", **kw)


def vms(*ids, **kw):
    return [EquipoPool(equipo_id=e, equipo=f"VM{e}", **kw) for e in ids]


def mesa(robots, pool, asig=(), tickets=None, ocupados=(), protegidos=()):
    return preparar_mesa(robots, pool, list(asig), ocupados, tickets or {}, protegidos, AJ)


def liberadas(m):
    return {rid: [(e, motivo) for e, motivo in s.libera] for rid, s in m.estados.items() if s.libera}


def hasta_la_demanda(robots, pool, asig=(), tickets=None, ocupados=(), protegidos=(), cooling=None):
    """The mesa after the releases, ready for phases 1 and 2."""
    m = mesa(robots, pool, asig, tickets, ocupados, protegidos)
    fase_liberaciones(m, cooling or {}, NOW, AJC)
    m.libres = equipos_libres(m)
    return m


# ---------------------------------------------------------------------------------- phase 0a
@pytest.mark.parametrize(
    ("caso", "robots", "pool", "asig", "equipos", "libera", "sueltos"),
    [
        ("rows kept", [robot(1)], vms(100, 101), [Asignacion(1, 100), Asignacion(1, 101)],
         {1: {100, 101}}, {}, {}),
        ("robot offline", [robot(1, es_online=False)], vms(100), [Asignacion(1, 100)],
         {}, {}, {1: [(100, ROBOT_NO_BALANCEADO)]}),
        ("robot missing", [], vms(100), [Asignacion(7, 100)], {}, {}, {7: [(100, ROBOT_NO_BALANCEADO)]}),
        ("equipo disconnected", [robot(1)], vms(100, estado_a360="DISCONNECTED"), [Asignacion(1, 100)],
         {1: set()}, {1: [(100, EQUIPO_FUERA_POOL)]}, {}),
        ("other licence", [robot(1)], vms(100, licencia="UNATTENDED"), [Asignacion(1, 100)],
         {1: set()}, {1: [(100, EQUIPO_FUERA_POOL)]}, {}),
        ("equipo also held manually (B9)", [robot(1)], vms(100),
         [Asignacion(1, 100), Asignacion(2, 100, "Manual")], {1: set()}, {1: [(100, EQUIPO_FUERA_POOL)]}, {}),
        ("held twice: the lower RobotId keeps it", [robot(2), robot(1)], vms(100),
         [Asignacion(2, 100), Asignacion(1, 100)], {1: {100}, 2: set()}, {2: [(100, EQUIPO_DUPLICADO)]}, {}),
        ("reserved row is not the balancer's", [robot(1)], vms(100, 101),
         [Asignacion(1, 100, reservado=True)], {1: set()}, {}, {}),
    ],
)
def test_B4_B9_preparar_mesa_structural_releases(caso, robots, pool, asig, equipos, libera, sueltos):
    m = mesa(robots, pool, asig)
    assert {rid: s.equipos for rid, s in m.estados.items()} == equipos, caso
    assert liberadas(m) == libera, caso
    assert m.sueltos == sueltos, caso
    assert m.antes_sueltos == {rid: len(x) for rid, x in sueltos.items()}, caso
    assert set(m.duenio) == set().union(*equipos.values()), caso


def test_B5_preparar_mesa_sizes_each_balanced_robot_in_input_order():
    robots = [robot(3, min_equipos=5, max_equipos=2, prioridad=None), robot(1, tickets_por_equipo=4),
              robot(2, activo=False)]
    m = mesa(robots, vms(), tickets={3: 1, 1: 9, 2: 50})
    assert list(m.estados) == [3, 1]
    r3, r1 = m.estados[3], m.estados[1]
    assert (r3.deseados, r3.minimo, r3.maximo, r3.prioridad) == (2, 2, 2, 100)  # Min > Max: Max wins
    assert (r1.deseados, r1.minimo, r1.maximo, r1.tickets) == (3, 1, None, 9)


# ---------------------------------------------------------------------------------- phase 0b
ZERO_LARGO = EstadoCooling(cero_desde=NOW - timedelta(seconds=400))
BAJO_HACE_POCO = EstadoCooling(ultima_bajada=Cambio(NOW - timedelta(seconds=60), 70))  # 80 is not +30 %


@pytest.mark.parametrize(
    ("caso", "kw", "tickets", "protegido", "cooling", "motivos", "retenidos", "objetivo"),
    [
        ("keeps what it wants", {}, 40, False, None, [], [], 4),
        ("above MaxEquipos", {"max_equipos": 2}, 100, False, None, [EXCESO_MAXIMO] * 2, [], 2),
        ("fewer tickets", {}, 20, False, None, [EXCESO_DEMANDA] * 2, [], 2),
        ("zero dip just started", {}, 0, False, None, [], [(BAJAR, 4, COOLING_SIN_TICKETS)], 0),
        ("zero for a whole period", {}, 0, False, ZERO_LARGO, [SIN_TICKETS] * 4, [], 0),
        ("protected (B8)", {}, 0, True, ZERO_LARGO, [], [(BAJAR, 4, FUENTE_CAIDA)], 0),
        ("protected above MaxEquipos", {"max_equipos": 3}, 0, True, ZERO_LARGO, [EXCESO_MAXIMO],
         [(BAJAR, 3, FUENTE_CAIDA)], 0),
        ("may grow", {}, 80, False, None, [], [], 8),
        ("rise held by cooling", {}, 80, False, BAJO_HACE_POCO, [], [(SUBIR, 4, COOLING_SUBIDA)], 4),
        ("rise held, floor still served", {"min_equipos": 6}, 80, False, BAJO_HACE_POCO, [],
         [(SUBIR, 2, COOLING_SUBIDA)], 6),
    ],
)
def test_B5_B7_B8_fase_liberaciones(caso, kw, tickets, protegido, cooling, motivos, retenidos, objetivo):
    asig = [Asignacion(1, e) for e in range(100, 104)]
    m = mesa([robot(1, **kw)], vms(*range(100, 110)), asig, {1: tickets}, protegidos={1} if protegido else ())
    fase_liberaciones(m, {1: cooling} if cooling else {}, NOW, AJC)
    r = m.estados[1]
    assert [motivo for _, motivo in r.libera] == motivos, caso
    assert [(x.direccion, x.cantidad, x.codigo) for x in m.retenidos] == retenidos, caso
    assert r.objetivo == objetivo, caso
    assert len(r.equipos) == 4 - len(motivos) and not set(m.duenio) & {e for e, _ in r.libera}, caso


def test_B6_releases_prefer_idle_vms_then_the_highest_ids():
    asig = [Asignacion(1, e) for e in (100, 101, 102, 103)]
    m = mesa([robot(1)], vms(100, 101, 102, 103), asig, {1: 10}, ocupados={101, 103})
    fase_liberaciones(m, {}, NOW, AJC)
    assert [e for e, _ in m.estados[1].libera] == [102, 100, 103]


def test_B6_equipos_libres_pop_idle_first_then_the_lowest_id():
    m = mesa([robot(1)], vms(*range(100, 105)), [Asignacion(1, 101)], {1: 10}, ocupados={100, 103})
    libres = equipos_libres(m)
    assert [libres.pop() for _ in range(len(libres))] == [102, 104, 100, 103]


# ---------------------------------------------------------------------------------- takeovers
def estado(rid, prioridad, equipos, minimo=0, protegido=False):
    s = EstadoRobot(robot(rid), rid, prioridad, 0, len(equipos), minimo, None, protegido)
    s.equipos = set(equipos)
    return s


@pytest.mark.parametrize(
    ("caso", "victimas", "ocupados", "esperado"),
    [
        ("lowest priority first", [estado(2, 50, {200}), estado(3, 200, {300})], (), [300, 200, None]),
        ("ties: highest RobotId first", [estado(2, 50, {200}), estado(3, 50, {300})], (), [300, 200, None]),
        ("lowest idle id first", [estado(2, 50, {202, 201})], (), [201, 202, None]),
        ("never a busy VM", [estado(2, 50, {200, 201})], {200}, [201, None]),
        ("never below its floor", [estado(2, 50, {200, 201, 202}, minimo=2)], (), [200, None]),
        ("never a protected robot", [estado(2, 50, {200}, protegido=True)], (), [None]),
        ("never an equal or higher priority", [estado(2, 10, {200}), estado(3, 5, {300})], (), [None]),
    ],
)
def test_B6_cesiones_table(caso, victimas, ocupados, esperado):
    ladron = estado(1, 10, set())
    cesiones = Cesiones([ladron, *victimas], frozenset(ocupados))
    assert [cesiones.ceder(ladron) for _ in esperado] == esperado, caso
    for v in victimas:
        cedidos = {e for e, motivo in v.libera if motivo == PREEMPCION_PRIORIDAD}
        assert not cedidos & v.equipos, caso


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 4), st.integers(0, 3), st.booleans(), st.integers(0, 4)),
                max_size=8),
       st.integers(1, 5))
def test_B6_cesiones_cede_exactly_what_lower_priority_robots_can_spare(victimas, prioridad):
    """Until it says None, ceder gives each spare idle VM once; then nobody can spare one."""
    estados, ocupados, equipo = [], set(), 100
    for rid, (prio, idle, busy, protegido, minimo) in enumerate(victimas, start=2):
        propios = set(range(equipo, equipo + idle + busy))
        ocupados |= set(range(equipo + idle, equipo + idle + busy))
        equipo += idle + busy
        estados.append(estado(rid, prio, propios, minimo, protegido))
    ladron = estado(1, prioridad, set())
    cesiones = Cesiones([ladron, *estados], frozenset(ocupados))
    cedidos = []
    while (e := cesiones.ceder(ladron)) is not None:
        cedidos.append(e)
    assert cesiones.ceder(ladron) is None
    spare = sum(min(len(v.equipos - ocupados) + len(v.libera), max(0, len(v.equipos) + len(v.libera) - v.minimo))
                for v in estados if not v.protegido and v.prioridad > prioridad)
    assert len(cedidos) == len(set(cedidos)) == spare
    for v in estados:
        assert len(v.equipos) >= min(v.minimo, len(v.equipos) + len(v.libera))
        if v.protegido or v.prioridad <= prioridad:
            assert not v.libera
        assert not {e for e, _ in v.libera} & ocupados


# ---------------------------------------------------------------------------------- phases 1 and 2
@pytest.mark.parametrize(
    ("caso", "robots", "libres", "final"),
    [
        ("priority order under scarcity",
         [robot(1, prioridad=100, min_equipos=2), robot(2, prioridad=10, min_equipos=2),
          robot(3, prioridad=50, min_equipos=2)], 3, {1: 0, 2: 2, 3: 1}),
        ("ties: larger unmet need first",
         [robot(1, min_equipos=1), robot(2, min_equipos=3)], 3, {1: 0, 2: 3}),
        ("ties: then the lower RobotId",
         [robot(2, min_equipos=2), robot(1, min_equipos=2)], 2, {1: 2, 2: 0}),
        ("only the floor, not the demand",
         [robot(1, min_equipos=1)], 5, {1: 1}),
    ],
)
def test_B6_fase_minimos_table(caso, robots, libres, final):
    m = hasta_la_demanda(robots, vms(*range(100, 100 + libres)), tickets={r.robot_id: 50 for r in robots})
    fase_minimos(m)
    assert {rid: len(s.equipos) for rid, s in m.estados.items()} == final, caso
    assert all(motivo == BAJO_MINIMO for s in m.estados.values() for _, motivo in s.asigna), caso


def test_B6_fase_minimos_takes_an_idle_vm_from_a_lower_priority_robot():
    robots = [robot(1, prioridad=10, min_equipos=1), robot(2, prioridad=100, min_equipos=1)]
    m = hasta_la_demanda(robots, vms(100, 101), [Asignacion(2, 100), Asignacion(2, 101)], {1: 5, 2: 20},
                         ocupados={100})
    fase_minimos(m)
    assert m.estados[1].asigna == [(101, BAJO_MINIMO)]
    assert m.estados[2].libera == [(101, PREEMPCION_PRIORIDAD)] and m.estados[2].equipos == {100}


def test_B6_fase_demanda_serves_the_target_and_holds_back_the_rest():
    robots = [robot(1, prioridad=10, min_equipos=0), robot(2, prioridad=50, min_equipos=0)]
    m = hasta_la_demanda(robots, vms(*range(100, 105)), tickets={1: 30, 2: 40})
    fase_demanda(m)
    fase_retenidos(m)
    assert {rid: len(s.equipos) for rid, s in m.estados.items()} == {1: 3, 2: 2}
    assert {motivo for s in m.estados.values() for _, motivo in s.asigna} == {DEMANDA}
    assert [(x.robot_id, x.direccion, x.cantidad, x.codigo) for x in m.retenidos] == [
        (2, SUBIR, 2, SIN_EQUIPOS_LIBRES)]


def test_B7_fase_demanda_never_grows_past_what_the_cooling_allows():
    cooling = {1: BAJO_HACE_POCO}
    m = hasta_la_demanda([robot(1, min_equipos=1)], vms(*range(100, 110)), tickets={1: 80}, cooling=cooling)
    fase_minimos(m)
    fase_demanda(m)
    assert len(m.estados[1].equipos) == 1 and [x.codigo for x in m.retenidos] == [COOLING_SUBIDA]


def test_B9_a_duplicate_row_taken_back_is_kept_not_reinserted():
    """Robot 2's second row of VM100 is released as a duplicate; robot 1 (who owned it) scales down
    and robot 2 gets VM100 again: its row is kept, not deleted and inserted."""
    robots = [robot(1, min_equipos=0), robot(2, min_equipos=1)]
    m = hasta_la_demanda(robots, vms(100), [Asignacion(1, 100), Asignacion(2, 100)], {1: 0, 2: 5},
                         cooling={1: ZERO_LARGO})
    fase_minimos(m)
    assert m.estados[2].libera == [] and m.estados[2].asigna == [] and m.estados[2].equipos == {100}
    assert m.estados[1].libera == [(100, SIN_TICKETS)]


# ---------------------------------------------------------------------------------- actions
@pytest.mark.parametrize(
    ("motivos", "codigo"),
    [
        ([EXCESO_MAXIMO], EXCESO_MAXIMO),
        ([EXCESO_MAXIMO, PREEMPCION_PRIORIDAD, PREEMPCION_PRIORIDAD], PREEMPCION_PRIORIDAD),
        ([EQUIPO_FUERA_POOL, EXCESO_MAXIMO], EXCESO_MAXIMO),  # a tie: the greater code
        ([PREEMPCION_PRIORIDAD, PREEMPCION_PRIORIDAD, EXCESO_DEMANDA], EXCESO_DEMANDA),  # cooling codes win
        ([EXCESO_DEMANDA, SIN_TICKETS], SIN_TICKETS),  # in MOTIVOS_COOLING order
    ],
)
def test_B7_action_reason_code_table(motivos, codigo):
    m = mesa([robot(1)], vms(*range(100, 110)), [Asignacion(1, 100 + i) for i in range(len(motivos))], {1: 0})
    m.estados[1].libera = [(100 + i, motivo) for i, motivo in enumerate(motivos)]
    (accion,) = acciones(m, {1: 0})
    assert accion.codigo_motivo == codigo
    assert (accion.accion, accion.antes, accion.despues) == (BAJAR, len(motivos), 0)


def test_acciones_order_counts_and_text():
    m = mesa([robot(2, max_equipos=4, prioridad=7), robot(1)], vms(100, 101, 102),
             [Asignacion(9, 100), Asignacion(2, 101)], {2: 30, 9: 4})
    m.estados[2].libera = [(101, EXCESO_MAXIMO)]
    m.estados[2].asigna = [(102, DEMANDA), (103, DEMANDA)]
    out = acciones(m, {2: 30, 9: 4})
    assert [(a.robot_id, a.accion, a.antes, a.despues, a.tickets) for a in out] == [
        (9, BAJAR, 1, 0, 4), (2, BAJAR, 1, 0, 30), (2, SUBIR, 0, 2, 30)]
    assert out[0].codigo_motivo == ROBOT_NO_BALANCEADO and "deseados" not in out[0].justificacion
    assert out[2].justificacion == ("Se asignan 2 equipos (2 por demanda de tickets). Tickets: 30, deseados: 3 "
                                    "(mínimo 1, máximo 4), prioridad 7; equipos 0 -> 2.")
