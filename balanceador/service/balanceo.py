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
from dataclasses import dataclass, field
from datetime import datetime

from balanceador.modelo import (
    BAJAR,
    BAJO_MINIMO,
    DEMANDA,
    EQUIPO_DUPLICADO,
    EQUIPO_FUERA_POOL,
    EXCESO_DEMANDA,
    EXCESO_MAXIMO,
    FUENTE_CAIDA,
    MOTIVOS_COOLING,
    PREEMPCION_PRIORIDAD,
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

    @classmethod
    def nuevo(cls, robot: RobotBalanceo, tickets: int, defecto: int, protegido: bool) -> EstadoRobot:
        deseados = equipos_deseados(tickets, robot, defecto)
        minimo, maximo = limites(robot)
        prioridad = robot.prioridad if robot.prioridad is not None else 100
        return cls(robot, robot.robot_id, prioridad, tickets, deseados, min(minimo, deseados), maximo, protegido)


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
    libres: list[int] = field(default_factory=list)  # free pool VMs; pop(): idle first, then lowest id
    cesiones: Cesiones | None = None  # built once free VMs run out


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
    mesa.libres = equipos_libres(mesa)
    fase_minimos(mesa)
    fase_demanda(mesa)
    return Plan(
        acciones=tuple(acciones(mesa, tickets)),
        retenidos=tuple(mesa.retenidos),
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
    pool_ids = {e.equipo_id for e in pool if e.apto(licencias) and e.equipo_id not in bloqueados}
    estados = {
        r.robot_id: EstadoRobot.nuevo(r, max(0, int(tickets.get(r.robot_id, 0) or 0)),
                                      ajustes.tickets_por_equipo_defecto, r.robot_id in protegidos)
        for r in {r.robot_id: r for r in robots}.values() if r.balanceado
    }
    mesa = Mesa(_como_conjunto(ocupados), pool_ids, estados)
    _repartir_filas(mesa, sorted(propias, key=lambda a: (a.robot_id, a.equipo_id)))
    return mesa


def _repartir_filas(mesa: Mesa, propias: Iterable[Asignacion]) -> None:
    for a in propias:
        st = mesa.estados.get(a.robot_id)
        if st is None:
            mesa.sueltos.setdefault(a.robot_id, []).append((a.equipo_id, ROBOT_NO_BALANCEADO))
            mesa.antes_sueltos[a.robot_id] = mesa.antes_sueltos.get(a.robot_id, 0) + 1
            continue
        st.antes += 1
        if a.equipo_id not in mesa.pool_ids:
            st.libera.append((a.equipo_id, EQUIPO_FUERA_POOL))
        elif a.equipo_id in mesa.duenio:
            st.libera.append((a.equipo_id, EQUIPO_DUPLICADO))
        else:
            mesa.duenio[a.equipo_id] = a.robot_id
            st.equipos.add(a.equipo_id)


def fase_liberaciones(mesa: Mesa, cooling: Mapping[int, EstadoCooling], now: datetime,
                      ajustes: AjustesCooling) -> None:
    """Per robot: release the excess over MaxEquipos (always), then scale down to d unless the
    robot is protected (B8) or the cooling holds it (B7); then fix what it may reach this cycle."""
    for st in mesa.estados.values():
        actual = _liberar_exceso(mesa, st, cooling.get(st.robot_id), now, ajustes)
        st.objetivo = _objetivo(mesa, st, actual, cooling.get(st.robot_id), now, ajustes)


def _liberar(mesa: Mesa, st: EstadoRobot, n: int, motivo: str) -> None:
    # Releases prefer idle VMs (then the highest ids, so the order is deterministic).
    for e in sorted(st.equipos, key=lambda e: (e in mesa.ocupados, -e))[:n]:
        st.equipos.discard(e)
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


def equipos_libres(mesa: Mesa) -> list[int]:
    """The pool VMs nobody holds after the releases, ordered so that pop() gives idle ones first,
    then the lowest id."""
    return sorted(mesa.pool_ids.difference(mesa.duenio), key=lambda e: (e in mesa.ocupados, e), reverse=True)


# ---------------------------------------------------------------------------------- takeovers (B6)
class Cesiones:
    """Priority takeovers: idle VMs a robot may take from strictly lower-priority robots above
    their own floor, lowest priority first (then highest RobotId); protected robots never cede.

    Built once free VMs run out: from then on no robot gains free VMs, so a robot that has nothing
    left to cede stays so, and a union-find index (path-compressed) skips it for good."""

    __slots__ = ("victimas", "_salto")

    def __init__(self, estados: Iterable[EstadoRobot], ocupados: AbstractSet[int]) -> None:
        self.victimas = sorted((v for v in estados if not v.protegido), key=lambda v: (-v.prioridad, -v.robot_id))
        for v in self.victimas:
            v.ociosos = sorted((e for e in v.equipos if e not in ocupados), reverse=True)
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
            v.libera.append((e, PREEMPCION_PRIORIDAD))
            return e
        return None


# ---------------------------------------------------------------------------------- phases 1 and 2
def _tomar(mesa: Mesa, st: EstadoRobot, e: int, motivo: str) -> None:
    st.equipos.add(e)
    mesa.duenio[e] = st.robot_id
    propia = next((i for i, (x, _) in enumerate(st.libera) if x == e), None)
    if propia is None:
        st.asigna.append((e, motivo))
    else:  # its own row, released above as a duplicate: keep it instead
        del st.libera[propia]


def servir(mesa: Mesa, st: EstadoRobot, hasta: int, motivo: str) -> None:
    """Give the robot VMs up to ``hasta``: free VMs first, then takeovers."""
    while len(st.equipos) < hasta:
        if mesa.libres:
            e = mesa.libres.pop()
        else:
            if mesa.cesiones is None:
                mesa.cesiones = Cesiones(mesa.estados.values(), mesa.ocupados)
            e = mesa.cesiones.ceder(st)
            if e is None:
                return
        _tomar(mesa, st, e, motivo)


def _por_prioridad(pendientes: list[EstadoRobot], hasta: Callable[[EstadoRobot], int]) -> list[EstadoRobot]:
    """Lower PrioridadBalanceo first; ties: larger unmet need, then RobotId."""
    return sorted(pendientes, key=lambda st: (st.prioridad, -(hasta(st) - len(st.equipos)), st.robot_id))


def fase_minimos(mesa: Mesa) -> None:
    """Phase 1: every robot below its floor gets VMs at once (B6; exempt from cooling, B7)."""
    pendientes = [st for st in mesa.estados.values() if len(st.equipos) < st.minimo]
    for st in _por_prioridad(pendientes, lambda st: st.minimo):
        servir(mesa, st, st.minimo, BAJO_MINIMO)


def fase_demanda(mesa: Mesa) -> None:
    """Phase 2: the rest of each robot's target, same order; what cannot be served is held back."""
    pendientes = [st for st in mesa.estados.values() if len(st.equipos) < st.objetivo]
    for st in _por_prioridad(pendientes, lambda st: st.objetivo):
        servir(mesa, st, st.objetivo, DEMANDA)
    for st in mesa.estados.values():
        if len(st.equipos) < st.objetivo:
            mesa.retenidos.append(Retenido(st.robot_id, SUBIR, st.objetivo - len(st.equipos), SIN_EQUIPOS_LIBRES,
                                           "no hay equipos libres en el pool para este robot"))


# ---------------------------------------------------------------------------------- actions
def acciones(mesa: Mesa, tickets: Mapping[int, int]) -> list[Accion]:
    """One action per robot and direction: robots no longer balanced first (by RobotId), then each
    balanced robot's releases and assignments (by RobotId)."""
    out: list[Accion] = []
    for rid in sorted(mesa.sueltos):
        libs = mesa.sueltos[rid]
        antes = mesa.antes_sueltos[rid]
        out.append(_accion(BAJAR, rid, libs, int(tickets.get(rid, 0) or 0), antes, antes - len(libs), None))
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
    return Accion(direccion, rid, tuple(e for e, _ in movidos), codigo, texto[:1000], tickets, antes, despues)
