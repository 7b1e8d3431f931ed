"""The balancing plan (B4-B9): a pure function over plain data.

``planificar(...)`` takes the robots, the pool, the current assignments, the busy equipos, the
tickets per robot, the robots protected from scale-down (a source that feeds them failed, B8), a
cooling snapshot and the settings, plus ``now``; it returns a :class:`Plan` with the actions to
apply (one per robot and direction, with the VMs moved, a reason code and a Spanish justification)
and what was held back (cooling, failed source, no free VMs). No I/O. The data types and reason
codes live in :mod:`balanceador.modelo`.

Only the balancer's own dynamic VMs count: ``d`` (B5) is the number of VMs the balancer wants to
hold for the robot, on top of any manual/scheduled/reserved assignment, which it never touches.

Algorithm (linear in robots + VMs apart from sorting), one function per phase over a shared
:class:`Mesa` of :class:`EstadoRobot` (each phase is tested on its own in
``tests/test_balanceo_fases.py``):
0. releases. :func:`preparar_mesa`: invalid balancer rows are released (robot no longer balanced,
   equipo out of the pool, equipo held twice). :func:`fase_liberaciones`: above ``MaxEquipos``
   (always), then scale-down to ``d`` unless protected or held by cooling, and each robot's
   target for this cycle (``d``, or less while cooling holds the rise). Releases prefer idle VMs.
   :func:`equipos_libres`: what is left free.
1. floors, :func:`fase_minimos`: every robot below ``min(MinEquipos, d)`` gets VMs at once, in
   priority order (lower ``PrioridadBalanceo`` first; ties: larger unmet need, then RobotId),
   first from free VMs, then by takeovers (:class:`Cesiones`): idle VMs from lower-priority robots
   above their own floor (never protected ones).
2. demand, :func:`fase_demanda`: the rest of each target, same order and same sources.
3. :func:`acciones`: one action per robot and direction, with its reason code and text.

Design decisions (reviewed against BEHAVIOUR §7/§10):
- ``d`` and MinEquipos/MaxEquipos count only the balancer's own rows. Manual, scheduled and
  reserved assignments are the operators' (B9: never touched) and their equipos are not in the
  pool, so the balancer neither relies on them to meet a floor nor trims them to meet a maximum;
  HistoricoBalanceo's before/after counts are the balancer's rows too.
- Cooling (B7) records only ticket-driven changes (``MOTIVOS_COOLING``): serving a floor is exempt
  by B7, and preemption / structural releases do not follow the robot's tickets, so recording them
  would block the robot's next legitimate move.
- Priority takeover (B6) is extended beyond floors: a higher-priority robot below its allowed
  target may take an *idle* VM from a strictly lower-priority robot above its own floor (the
  "no priority inversion" property). Victims are tried lowest priority first; protected robots
  (B8) are never victims.
- Protected robots (a source feeding them failed, B8) lose nothing ticket-driven; they still lose
  the excess over MaxEquipos, VMs that left the pool and all rows once no longer balanced
  (``LIBERACIONES_ESTRUCTURALES``), which do not depend on the unknown tickets.
- A VM that leaves the pool (DISCONNECTED, other licence, a manual/reserved/scheduled row) loses
  its balancer row at once, even with an execution running on it: the row only tells the launcher
  where it may start new runs, and it never launches on a non-CONNECTED equipo.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import datetime

from balanceador.modelo import (
    BAJAR,
    BAJO_MINIMO,
    DEMANDA,
    DESBORDE,
    EQUIPO_DUPLICADO,
    EQUIPO_FUERA_POOL,
    EQUIPO_OTRO_POOL,
    EXCESO_DEMANDA,
    EXCESO_MAXIMO,
    FUENTE_CAIDA,
    MOTIVOS_COOLING,
    POOL_INACTIVO,
    PREEMPCION_PRIORIDAD,
    RECLAMO_DESBORDE,
    ROBOT_NO_BALANCEADO,
    SIN_EQUIPOS_LIBRES,
    SIN_TICKETS,
    SUBIR,
    TEXTOS_MOTIVO,
    Accion,
    AjustesBalanceo,
    AjustesCooling,
    Asignacion,
    EquipoPool,
    EstadoCooling,
    Plan,
    Retenido,
    RobotBalanceo,
)
from balanceador.service.cooling_manager import puede_bajar, puede_subir
from common.utils.alertas import plural


def ratio_de(robot: RobotBalanceo, defecto: int) -> int:
    if robot.tickets_por_equipo is not None and robot.tickets_por_equipo > 0:
        return int(robot.tickets_por_equipo)
    return max(1, int(defecto))


def limites(robot: RobotBalanceo) -> tuple[int, int | None]:
    """(effective MinEquipos, effective MaxEquipos or None = no limit); Min > Max -> Max wins."""
    maximo = None if robot.max_equipos is None or robot.max_equipos < 0 else int(robot.max_equipos)
    minimo = max(0, int(robot.min_equipos or 0))
    if maximo is not None and minimo > maximo:
        minimo = maximo
    return minimo, maximo


def equipos_deseados(tickets: int, robot: RobotBalanceo, defecto: int) -> int:
    """B5: d = 0 when tickets = 0, else clamp(ceil(tickets / ratio), MinEquipos, MaxEquipos)."""
    if tickets <= 0:
        return 0
    minimo, maximo = limites(robot)
    d = math.ceil(tickets / ratio_de(robot, defecto))
    d = max(d, minimo)
    if maximo is not None:
        d = min(d, maximo)
    return d


# ---------------------------------------------------------------------------------- working state
@dataclass(slots=True, eq=False)
class EstadoRobot:
    """Working state of one balanced robot while planning."""

    robot: RobotBalanceo
    robot_id: int
    prioridad: int
    tickets: int
    deseados: int  # d (B5)
    minimo: int  # the floor served at once: min(effective MinEquipos, d)
    maximo: int | None  # effective MaxEquipos (None: no limit)
    protegido: bool  # a source feeding it failed (B8)
    equipos: set[int] = field(default_factory=set)  # the balancer's VMs it holds now
    antes: int = 0  # the balancer's rows it had before the plan
    objetivo: int = 0  # what it may reach this cycle: d, or less while cooling holds the rise
    ociosos: list[int] = field(default_factory=list)  # idle VMs it may cede (set by Cesiones)
    libera: list[tuple[int, str]] = field(default_factory=list)  # (equipo, reason) released
    asigna: list[tuple[int, str]] = field(default_factory=list)  # (equipo, reason) assigned
    pool: int | None = None  # its pool (B11); None = the general pool
    prestados: set[int] = field(default_factory=set)  # general-pool VMs it holds on loan (B12), in equipos
    tras_liberar: int = 0  # the VMs it holds after phase 0

    @classmethod
    def nuevo(cls, robot: RobotBalanceo, tickets: int, defecto: int, protegido: bool) -> EstadoRobot:
        deseados = equipos_deseados(tickets, robot, defecto)
        minimo, maximo = limites(robot)
        prioridad = robot.prioridad if robot.prioridad is not None else 100
        return cls(robot, robot.robot_id, prioridad, tickets, deseados, min(minimo, deseados), maximo, protegido,
                   pool=robot.pool_id)

    def propios(self) -> int:
        """The VMs of its own pool it holds (loans of the general pool not counted)."""
        return len(self.equipos) - len(self.prestados)


@dataclass(eq=False)
class Mesa:
    """The working state one planning run shares between its phases."""

    ocupados: AbstractSet[int]  # busy equipos (releases and takeovers prefer idle ones)
    pool_ids: set[int]  # equipos the balancer may hold (B4, B9)
    estados: dict[int, EstadoRobot]  # the balanced robots, in input order
    duenio: dict[int, int] = field(default_factory=dict)  # equipo -> robot holding it
    sueltos: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # robot no longer balanced
    antes_sueltos: dict[int, int] = field(default_factory=dict)  # ... and the rows it had
    retenidos: list[Retenido] = field(default_factory=list)
    libres: list[int] = field(default_factory=list)  # free VMs of the pool being served; pop(): idle, then lowest id
    cesiones: Cesiones | None = None  # built once free VMs run out (per pool served)
    pool_de: dict[int, int | None] = field(default_factory=dict)  # equipo -> its pool (B11)
    pool_robot: dict[int, int | None] = field(default_factory=dict)  # every robot listed -> its pool
    pool_inactivo: set[int] = field(default_factory=set)  # robots and equipos whose pool is inactive
    estricto: bool = True  # B12: no loans of the general pool
    preempcion: bool = True  # B13: takeovers allowed
    # The pool being served: the robots takeovers may take from, what of theirs they may cede, the
    # loans its robots may take back (general pool), and whether loans count (overflow phase).
    victimas: list[EstadoRobot] | None = None
    cedibles: Callable[[EstadoRobot], Iterable[int]] | None = None
    reclamos: Reclamos | None = None
    desborde: bool = False
    reclamables: set[int] = field(default_factory=set)  # borrowers whose cooling allows a scale-down


def _como_conjunto(valores: Iterable[int]) -> AbstractSet[int]:
    return valores if isinstance(valores, (set, frozenset)) else set(valores)


# ---------------------------------------------------------------------------------- the plan
def planificar(
    robots: Iterable[RobotBalanceo],
    pool: Iterable[EquipoPool],
    asignaciones: Iterable[Asignacion],
    ocupados: Iterable[int],
    tickets: Mapping[int, int],
    protegidos: Iterable[int],
    cooling: Mapping[int, EstadoCooling],
    ajustes: AjustesBalanceo,
    now: datetime,
) -> Plan:
    mesa = preparar_mesa(robots, pool, asignaciones, ocupados, tickets, protegidos, ajustes)
    fase_liberaciones(mesa, cooling, now, ajustes.cooling)
    libres = equipos_libres_por_pool(mesa)
    # B11: every pool serves its own robots (pools first: a robot served from its own pool gives its
    # loans back before the general pool's robots ask for them), then the general pool (taking
    # loans back, B12), then the loans (B12, only without strict isolation).
    for p in sorted({st.pool for st in mesa.estados.values() if st.pool is not None}):
        fase_pool(mesa, p, libres.setdefault(p, []))
    libres[None] = devolver_prestamos(mesa, libres.get(None, []))
    fase_pool(mesa, None, libres[None])
    if not mesa.estricto:
        fase_desborde(mesa, libres[None])
    fase_retenidos(mesa)
    return Plan(
        acciones=tuple(acciones(mesa, tickets)),
        retenidos=tuple(replace(r, pool_id=mesa.pool_robot.get(r.robot_id)) for r in mesa.retenidos),
        deseados={rid: st.deseados for rid, st in mesa.estados.items()},
        final={rid: frozenset(st.equipos) for rid, st in mesa.estados.items()},
    )


# ---------------------------------------------------------------------------------- phase 0: releases
def preparar_mesa(robots: Iterable[RobotBalanceo], pool: Iterable[EquipoPool], asignaciones: Iterable[Asignacion],
                  ocupados: Iterable[int], tickets: Mapping[int, int], protegidos: Iterable[int],
                  ajustes: AjustesBalanceo) -> Mesa:
    """The balanced robots' states with the rows they hold, and the structural releases of the rows
    the balancer may no longer hold: robot no longer balanced, equipo out of the pool, equipo held
    twice (the first row by RobotId keeps it)."""
    licencias = frozenset(x.strip().upper() for x in ajustes.licencias)
    protegidos = _como_conjunto(protegidos)
    propias: list[Asignacion] = []
    bloqueados: set[int] = set()
    for a in asignaciones:
        if a.del_balanceador:
            propias.append(a)
        else:
            bloqueados.add(a.equipo_id)  # B9: reserved/scheduled/manual equipos are not in the pool
    pool = list(pool)
    pool_ids = {e.equipo_id for e in pool if e.apto(licencias) and e.equipo_id not in bloqueados}
    por_id = {r.robot_id: r for r in robots}
    estados = {
        r.robot_id: EstadoRobot.nuevo(r, max(0, int(tickets.get(r.robot_id, 0) or 0)),
                                      ajustes.tickets_por_equipo_defecto, r.robot_id in protegidos)
        for r in por_id.values() if r.balanceado
    }
    mesa = Mesa(_como_conjunto(ocupados), pool_ids, estados,
                pool_de={e.equipo_id: e.pool_id for e in pool if e.equipo_id in pool_ids},
                pool_robot={rid: r.pool_id for rid, r in por_id.items()},
                estricto=ajustes.aislamiento_estricto, preempcion=ajustes.preempcion)
    # Equipo and robot ids are disjoint key spaces: kept apart by a sign.
    mesa.pool_inactivo = {-e.equipo_id for e in pool if not e.pool_activo} | {
        rid for rid, r in por_id.items() if not r.pool_activo}
    _repartir_filas(mesa, sorted(propias, key=lambda a: (a.robot_id, a.equipo_id)))
    return mesa


def _repartir_filas(mesa: Mesa, propias: Iterable[Asignacion]) -> None:
    for a in propias:
        st = mesa.estados.get(a.robot_id)
        if st is None:
            motivo = POOL_INACTIVO if a.robot_id in mesa.pool_inactivo else ROBOT_NO_BALANCEADO
            mesa.sueltos.setdefault(a.robot_id, []).append((a.equipo_id, motivo))
            mesa.antes_sueltos[a.robot_id] = mesa.antes_sueltos.get(a.robot_id, 0) + 1
            continue
        st.antes += 1
        pool_equipo = mesa.pool_de.get(a.equipo_id)
        prestado = pool_equipo != st.pool
        if a.equipo_id not in mesa.pool_ids:
            st.libera.append((a.equipo_id, POOL_INACTIVO if -a.equipo_id in mesa.pool_inactivo else EQUIPO_FUERA_POOL))
        elif prestado and (pool_equipo is not None or mesa.estricto):  # B11; a loan only from the general pool
            st.libera.append((a.equipo_id, EQUIPO_OTRO_POOL))
        elif a.equipo_id in mesa.duenio:
            st.libera.append((a.equipo_id, EQUIPO_DUPLICADO))
        else:
            mesa.duenio[a.equipo_id] = a.robot_id
            st.equipos.add(a.equipo_id)
            if prestado:
                st.prestados.add(a.equipo_id)


def fase_liberaciones(mesa: Mesa, cooling: Mapping[int, EstadoCooling], now: datetime,
                      ajustes: AjustesCooling) -> None:
    """Per robot: release the excess over MaxEquipos (always), then scale down to d unless the
    robot is protected (B8) or the cooling holds it (B7); then fix what it may reach this cycle."""
    for st in mesa.estados.values():
        actual = _liberar_exceso(mesa, st, cooling.get(st.robot_id), now, ajustes)
        st.objetivo = _objetivo(mesa, st, actual, cooling.get(st.robot_id), now, ajustes)
        st.tras_liberar = len(st.equipos)
        if st.prestados and not st.protegido and puede_bajar(cooling.get(st.robot_id), st.tickets, now,
                                                             ajustes).permitido:
            mesa.reclamables.add(st.robot_id)  # B12: its loans may go back for the general pool's demand


def _liberar(mesa: Mesa, st: EstadoRobot, n: int, motivo: str) -> None:
    # Releases give loans back first (B12), then prefer idle VMs (then the highest ids, so the
    # order is deterministic).
    for e in sorted(st.equipos, key=lambda e: (e not in st.prestados, e in mesa.ocupados, -e))[:n]:
        st.equipos.discard(e)
        st.prestados.discard(e)
        del mesa.duenio[e]
        st.libera.append((e, motivo))


def _liberar_exceso(mesa: Mesa, st: EstadoRobot, estado: EstadoCooling | None, now: datetime,
                    ajustes: AjustesCooling) -> int:
    """Releases above MaxEquipos and down to d; returns the VMs the robot keeps."""
    actual = len(st.equipos)
    if st.maximo is not None and actual > st.maximo:
        _liberar(mesa, st, actual - st.maximo, EXCESO_MAXIMO)
        actual = st.maximo
    if st.deseados >= actual:
        return actual
    if st.protegido:
        mesa.retenidos.append(Retenido(st.robot_id, BAJAR, actual - st.deseados, FUENTE_CAIDA,
                                       "una fuente de tickets que alimenta al robot falló; no se liberan equipos"))
        return actual
    dec = puede_bajar(estado, st.tickets, now, ajustes)
    if not dec.permitido:
        mesa.retenidos.append(Retenido(st.robot_id, BAJAR, actual - st.deseados, dec.codigo, dec.justificacion))
        return actual
    _liberar(mesa, st, actual - st.deseados, SIN_TICKETS if st.tickets == 0 else EXCESO_DEMANDA)
    return st.deseados


def _objetivo(mesa: Mesa, st: EstadoRobot, actual: int, estado: EstadoCooling | None, now: datetime,
              ajustes: AjustesCooling) -> int:
    """What the robot may reach this cycle: d when it may grow, else its VMs (its floor at least)."""
    if st.deseados <= actual:
        # Never above d: VMs kept only because cooling/protection holds a release back are not
        # wanted, so losing one to a higher-priority robot must not make the robot ask for it.
        return st.deseados
    dec = puede_subir(estado, st.tickets, now, ajustes)
    if dec.permitido:
        return st.deseados
    objetivo = max(actual, st.minimo)
    if st.deseados > objetivo:
        mesa.retenidos.append(Retenido(st.robot_id, SUBIR, st.deseados - objetivo, dec.codigo, dec.justificacion))
    return objetivo


def _orden_libres(mesa: Mesa, equipos: Iterable[int]) -> list[int]:
    """Ordered so that pop() gives idle ones first, then the lowest id."""
    return sorted(equipos, key=lambda e: (e in mesa.ocupados, e), reverse=True)


def equipos_libres(mesa: Mesa) -> list[int]:
    """The VMs of every pool nobody holds after the releases (pop(): idle first, then lowest id)."""
    return _orden_libres(mesa, mesa.pool_ids.difference(mesa.duenio))


def equipos_libres_por_pool(mesa: Mesa) -> dict[int | None, list[int]]:
    """The free VMs of each pool (B11; None = the general pool), each ordered as equipos_libres."""
    por_pool: dict[int | None, list[int]] = {}
    for e in mesa.pool_ids.difference(mesa.duenio):
        por_pool.setdefault(mesa.pool_de.get(e), []).append(e)
    return {p: _orden_libres(mesa, equipos) for p, equipos in por_pool.items()}


# ---------------------------------------------------------------------------------- takeovers (B6)
class Cesiones:
    """Priority takeovers: idle VMs a robot may take from strictly lower-priority robots above
    their own floor, lowest priority first (then highest RobotId); protected robots never cede.

    Built once free VMs run out: from then on no robot gains free VMs, so a robot that has nothing
    left to cede stays so, and a union-find index (path-compressed) skips it for good."""

    __slots__ = ("victimas", "_salto")

    def __init__(self, estados: Iterable[EstadoRobot], ocupados: AbstractSet[int],
                 cedibles: Callable[[EstadoRobot], Iterable[int]] | None = None) -> None:
        """``cedibles``: the VMs of a robot that may be taken (default: all it holds); B13 keeps
        takeovers inside a pool: its own VMs, or the loans among borrowers."""
        self.victimas = sorted((v for v in estados if not v.protegido), key=lambda v: (-v.prioridad, -v.robot_id))
        for v in self.victimas:
            propios = v.equipos if cedibles is None else cedibles(v)
            v.ociosos = sorted((e for e in propios if e not in ocupados), reverse=True)
        self._salto = list(range(len(self.victimas) + 1))

    def _siguiente(self, i: int) -> int:
        salto = self._salto
        raiz = i
        while salto[raiz] != raiz:
            raiz = salto[raiz]
        while salto[i] != raiz:
            salto[i], i = raiz, salto[i]
        return raiz

    def ceder(self, para: EstadoRobot) -> int | None:
        """An idle VM (its lowest id) taken from the first robot that can spare one for ``para``,
        recorded as that robot's PREEMPCION_PRIORIDAD release; None when nobody can."""
        victimas = self.victimas
        i = self._siguiente(0)
        while i < len(victimas):
            v = victimas[i]
            if v.prioridad <= para.prioridad:
                return None
            if len(v.equipos) <= v.minimo or not v.ociosos:
                self._salto[i] = i + 1  # nothing left to cede, for good
                i = self._siguiente(i)
                continue
            e = v.ociosos.pop()
            v.equipos.discard(e)
            v.prestados.discard(e)
            v.libera.append((e, PREEMPCION_PRIORIDAD))
            return e
        return None


class Reclamos:
    """B12: the loans the general pool's robots take back once its free VMs run out, before any
    takeover. Idle ones first, then from the lowest-priority borrower (then the highest RobotId),
    then the lowest id. For a floor any loan may go back (B7: a floor is served at once); for
    demand only those of borrowers whose cooling allows a scale-down (``Mesa.reclamables``, never a
    protected robot, B8)."""

    __slots__ = ("_demanda", "_solo_minimo")

    def __init__(self, estados: Iterable[EstadoRobot], ocupados: AbstractSet[int], reclamables: AbstractSet[int]):
        demanda, solo_minimo = [], []
        for v in estados:
            for e in v.prestados:
                (demanda if v.robot_id in reclamables else solo_minimo).append(
                    ((e in ocupados, -v.prioridad, -v.robot_id, e), v))
        self._demanda = sorted(demanda, key=lambda x: x[0], reverse=True)
        self._solo_minimo = sorted(solo_minimo, key=lambda x: x[0], reverse=True)

    def reclamar(self, minimo: bool) -> int | None:
        """A loan taken back from its borrower (recorded as its RECLAMO_DESBORDE release), or None."""
        for lista in (self._demanda, self._solo_minimo):
            while lista and lista[-1][0][3] not in lista[-1][1].prestados:
                lista.pop()  # ceded or released meanwhile
        candidatas = [self._demanda] + ([self._solo_minimo] if minimo else [])
        candidatas = [lista for lista in candidatas if lista]
        if not candidatas:
            return None
        (clave, v) = min(candidatas, key=lambda lista: lista[-1][0]).pop()
        e = clave[3]
        v.equipos.discard(e)
        v.prestados.discard(e)
        v.libera.append((e, RECLAMO_DESBORDE))
        return e


# ---------------------------------------------------------------------------------- phases 1 and 2
def _tomar(mesa: Mesa, st: EstadoRobot, e: int, motivo: str) -> None:
    st.equipos.add(e)
    if mesa.pool_de.get(e) != st.pool:
        st.prestados.add(e)  # B12: a loan of the general pool
    mesa.duenio[e] = st.robot_id
    propia = next((i for i, (x, _) in enumerate(st.libera) if x == e), None)
    if propia is None:
        st.asigna.append((e, motivo))
    else:  # its own row, released above as a duplicate: keep it instead
        del st.libera[propia]


def _cuenta(mesa: Mesa, st: EstadoRobot) -> int:
    """What a robot holds for the phase: its own pool's VMs while pools serve their robots (so a
    borrower takes its own pool's free VMs and gives the loans back), every VM in the overflow."""
    return len(st.equipos) if mesa.desborde else st.propios()


def servir(mesa: Mesa, st: EstadoRobot, hasta: int, motivo: str, minimo: bool = False) -> None:
    """Give the robot VMs up to ``hasta``: free VMs of the pool being served first, then loans
    taken back (the general pool, B12), then takeovers (B6, only when B13 allows them). Loans and
    takeovers serve a real need only: what the robot holds in all, not just its own pool's VMs."""
    while _cuenta(mesa, st) < hasta:
        if mesa.libres:
            e = mesa.libres.pop()
        elif len(st.equipos) >= hasta:
            return
        else:
            e = mesa.reclamos.reclamar(minimo) if mesa.reclamos is not None else None
            if e is None and mesa.preempcion:
                if mesa.cesiones is None:
                    victimas = mesa.estados.values() if mesa.victimas is None else mesa.victimas
                    mesa.cesiones = Cesiones(victimas, mesa.ocupados, mesa.cedibles)
                e = mesa.cesiones.ceder(st)
            if e is None:
                return
        _tomar(mesa, st, e, motivo)


def _por_prioridad(pendientes: list[EstadoRobot], hasta: Callable[[EstadoRobot], int]) -> list[EstadoRobot]:
    """Lower PrioridadBalanceo first; ties: larger unmet need, then RobotId."""
    return sorted(pendientes, key=lambda st: (st.prioridad, -(hasta(st) - len(st.equipos)), st.robot_id))


def fase_minimos(mesa: Mesa, estados: Iterable[EstadoRobot] | None = None, motivo: str = BAJO_MINIMO) -> None:
    """Phase 1: every robot (of ``estados``; default all) below its floor gets VMs at once (B6;
    exempt from cooling, B7)."""
    estados = mesa.estados.values() if estados is None else estados
    pendientes = [st for st in estados if _cuenta(mesa, st) < st.minimo]
    for st in _por_prioridad(pendientes, lambda st: st.minimo):
        servir(mesa, st, st.minimo, motivo, minimo=True)


def fase_demanda(mesa: Mesa, estados: Iterable[EstadoRobot] | None = None, motivo: str = DEMANDA) -> None:
    """Phase 2: the rest of each robot's target (of ``estados``; default all), same order."""
    estados = mesa.estados.values() if estados is None else estados
    pendientes = [st for st in estados if _cuenta(mesa, st) < st.objetivo]
    for st in _por_prioridad(pendientes, lambda st: st.objetivo):
        servir(mesa, st, st.objetivo, motivo)


def fase_retenidos(mesa: Mesa) -> None:
    """What could not be served is held back."""
    for st in mesa.estados.values():
        if len(st.equipos) < st.objetivo:
            mesa.retenidos.append(Retenido(st.robot_id, SUBIR, st.objetivo - len(st.equipos), SIN_EQUIPOS_LIBRES,
                                           "no hay equipos libres en el pool para este robot"))


# ---------------------------------------------------------------------------------- pools (B11-B13)
def _sirviendo(mesa: Mesa, libres: list[int], victimas: list[EstadoRobot],
               cedibles: Callable[[EstadoRobot], Iterable[int]] | None, reclamos: Reclamos | None,
               desborde: bool) -> None:
    mesa.libres, mesa.victimas, mesa.cedibles = libres, victimas, cedibles
    mesa.reclamos, mesa.desborde, mesa.cesiones = reclamos, desborde, None


def fase_pool(mesa: Mesa, pool: int | None, libres: list[int]) -> None:
    """Phases 1 and 2 for the robots of one pool (B11), from that pool's free VMs; takeovers only of
    that pool's VMs among its robots (B13). The general pool (None) also takes its loans back (B12)."""
    estados = [st for st in mesa.estados.values() if st.pool == pool]
    if not estados:
        return
    reclamos = None
    if pool is None:
        prestatarios = [st for st in mesa.estados.values() if st.prestados]
        reclamos = Reclamos(prestatarios, mesa.ocupados, mesa.reclamables) if prestatarios else None
    _sirviendo(mesa, libres, estados, lambda v: v.equipos - v.prestados, reclamos, False)
    fase_minimos(mesa, estados)
    fase_demanda(mesa, estados)


def devolver_prestamos(mesa: Mesa, libres: list[int]) -> list[int]:
    """B12: a borrower that got its own pool's VMs in this plan gives back as many loans (idle
    first), keeping what it held after phase 0 (a scale-down held by cooling stays held). Returns
    the general pool's free VMs with the loans given back."""
    devueltos = []
    for st in mesa.estados.values():
        sobra = min(len(st.prestados), len(st.equipos) - max(st.objetivo, st.tras_liberar))
        if sobra > 0:
            for e in sorted(st.prestados, key=lambda e: (e in mesa.ocupados, -e))[:sobra]:
                st.equipos.discard(e)
                st.prestados.discard(e)
                del mesa.duenio[e]
                st.libera.append((e, RECLAMO_DESBORDE))
                devueltos.append(e)
    return _orden_libres(mesa, [*libres, *devueltos]) if devueltos else libres


def fase_desborde(mesa: Mesa, libres: list[int]) -> None:
    """B12 (no strict isolation): after every pool served its own robots, the general pool's free
    VMs go to the robots of other pools still below their target, floors first, in priority order;
    takeovers (B13) only of loans, among borrowers."""
    estados = [st for st in mesa.estados.values() if st.pool is not None]
    if not estados or not (libres or (mesa.preempcion and any(st.prestados for st in estados))):
        return
    _sirviendo(mesa, libres, estados, lambda v: v.prestados, None, True)
    fase_minimos(mesa, estados, DESBORDE)
    fase_demanda(mesa, estados, DESBORDE)


# ---------------------------------------------------------------------------------- actions
def acciones(mesa: Mesa, tickets: Mapping[int, int]) -> list[Accion]:
    """One action per robot and direction: robots no longer balanced first (by RobotId), then each
    balanced robot's releases and assignments (by RobotId)."""
    out: list[Accion] = []
    for rid in sorted(mesa.sueltos):
        libs = mesa.sueltos[rid]
        antes = mesa.antes_sueltos[rid]
        out.append(replace(_accion(BAJAR, rid, libs, int(tickets.get(rid, 0) or 0), antes, antes - len(libs), None),
                           pool_id=mesa.pool_robot.get(rid)))
    for rid in sorted(mesa.estados):
        st = mesa.estados[rid]
        despues_bajada = st.antes - len(st.libera)
        if st.libera:
            out.append(_accion(BAJAR, rid, st.libera, st.tickets, st.antes, despues_bajada, st))
        if st.asigna:
            out.append(_accion(SUBIR, rid, st.asigna, st.tickets, despues_bajada,
                               despues_bajada + len(st.asigna), st))
    return out


def _accion(direccion: str, rid: int, movidos: Sequence[tuple[int, str]], tickets: int, antes: int,
            despues: int, st: EstadoRobot | None) -> Accion:
    conteo: dict[str, int] = {}
    for _, motivo in movidos:
        conteo[motivo] = conteo.get(motivo, 0) + 1
    codigo = next((m for m in MOTIVOS_COOLING if m in conteo), None) or max(conteo, key=lambda m: (conteo[m], m))
    verbo = "asignan" if direccion == SUBIR else "liberan"
    partes = [f"{n} por {TEXTOS_MOTIVO.get(m, m)}" for m, n in sorted(conteo.items())]
    texto = f"Se {verbo} {plural(len(movidos), 'equipo', 'equipos')} ({'; '.join(partes)}). Tickets: {tickets}"
    if st is not None:
        maximo = "sin límite" if st.maximo is None else str(st.maximo)
        texto += f", deseados: {st.deseados} (mínimo {st.minimo}, máximo {maximo}), prioridad {st.prioridad}"
    texto += f"; equipos {antes} -> {despues}."
    return Accion(direccion, rid, tuple(e for e, _ in movidos), codigo, texto[:1000], tickets, antes, despues,
                  st.pool if st is not None else None)
