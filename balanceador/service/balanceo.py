"""The balancing plan (B4-B9): a pure function over plain data.

``planificar(...)`` takes the robots, the pool, the current assignments, the busy equipos, the
tickets per robot, the robots protected from scale-down (a source that feeds them failed, B8), a
cooling snapshot and the settings, plus ``now``; it returns a :class:`Plan` with the actions to
apply (one per robot and direction, with the VMs moved, a reason code and a Spanish justification)
and what was held back (cooling, failed source, no free VMs). No I/O. The data types and reason
codes live in :mod:`balanceador.modelo`.

Only the balancer's own dynamic VMs count: ``d`` (B5) is the number of VMs the balancer wants to
hold for the robot, on top of any manual/scheduled/reserved assignment, which it never touches.

Algorithm (linear in robots + VMs apart from sorting):
0. invalid balancer rows are released: robot no longer balanced, equipo out of the pool, equipo
   held twice; then above ``MaxEquipos`` (always), then scale-down to ``d`` unless protected or
   held by cooling. Releases prefer idle VMs.
1. floors: every robot below ``min(MinEquipos, d)`` gets VMs at once, in priority order (lower
   ``PrioridadBalanceo`` first; ties: larger unmet need, then RobotId), first from free VMs, then
   by taking idle VMs from lower-priority robots above their own floor (never protected ones).
2. the rest of ``d`` (when cooling allows going up), same order and same sources.

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
from collections.abc import Iterable, Mapping, Sequence
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
    Asignacion,
    EquipoPool,
    EstadoCooling,
    Plan,
    Retenido,
    RobotBalanceo,
)
from balanceador.service.cooling_manager import puede_bajar, puede_subir


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


class _R:
    """Working state of one balanced robot during planning."""

    __slots__ = ("r", "prio", "rid", "tickets", "d", "floor", "maximo", "protegido", "equipos", "idle",
                 "limite", "antes", "libera", "asigna")

    def __init__(self, r: RobotBalanceo, tickets: int, defecto: int, protegido: bool) -> None:
        self.r = r
        self.rid = r.robot_id
        self.prio = r.prioridad if r.prioridad is not None else 100
        self.tickets = tickets
        self.d = equipos_deseados(tickets, r, defecto)
        minimo, self.maximo = limites(r)
        self.floor = min(minimo, self.d)
        self.protegido = protegido
        self.equipos: set[int] = set()
        self.idle: list[int] = []
        self.limite = 0
        self.antes = 0
        self.libera: list[tuple[int, str]] = []
        self.asigna: list[tuple[int, str]] = []


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
    licencias = frozenset(x.strip().upper() for x in ajustes.licencias)
    ocupados = ocupados if isinstance(ocupados, (set, frozenset)) else set(ocupados)
    protegidos = protegidos if isinstance(protegidos, (set, frozenset)) else set(protegidos)
    robots_by_id = {r.robot_id: r for r in robots}

    propias: list[Asignacion] = []
    bloqueados: set[int] = set()
    for a in asignaciones:
        if a.del_balanceador:
            propias.append(a)
        else:
            bloqueados.add(a.equipo_id)  # B9: reserved/scheduled/manual equipos are not in the pool
    pool_ids = {e.equipo_id for e in pool if e.apto(licencias) and e.equipo_id not in bloqueados}

    estados: dict[int, _R] = {}
    for r in robots_by_id.values():
        if r.balanceado:
            estados[r.robot_id] = _R(r, max(0, int(tickets.get(r.robot_id, 0) or 0)),
                                     ajustes.tickets_por_equipo_defecto, r.robot_id in protegidos)

    # Releases of rows the balancer may no longer hold (robot gone, equipo out of the pool...).
    sueltos: dict[int, list[tuple[int, str]]] = {}  # robot not balanced -> releases
    antes_sueltos: dict[int, int] = {}
    duenio: dict[int, int] = {}
    propias.sort(key=lambda a: (a.robot_id, a.equipo_id))
    for a in propias:
        st = estados.get(a.robot_id)
        if st is None:
            sueltos.setdefault(a.robot_id, []).append((a.equipo_id, ROBOT_NO_BALANCEADO))
            antes_sueltos[a.robot_id] = antes_sueltos.get(a.robot_id, 0) + 1
            continue
        st.antes += 1
        if a.equipo_id not in pool_ids:
            st.libera.append((a.equipo_id, EQUIPO_FUERA_POOL))
        elif a.equipo_id in duenio:
            st.libera.append((a.equipo_id, EQUIPO_DUPLICADO))
        else:
            duenio[a.equipo_id] = a.robot_id
            st.equipos.add(a.equipo_id)

    retenidos: list[Retenido] = []
    ajc = ajustes.cooling

    def _release(st: _R, n: int, motivo: str) -> None:
        # Releases prefer idle VMs (then the highest ids, so the order is deterministic).
        orden = sorted(st.equipos, key=lambda e: (e in ocupados, -e))[:n]
        for e in orden:
            st.equipos.discard(e)
            del duenio[e]
            st.libera.append((e, motivo))

    # Phase 0: scale-down and limits.
    for st in estados.values():
        c = len(st.equipos)
        if st.maximo is not None and c > st.maximo:
            _release(st, c - st.maximo, EXCESO_MAXIMO)
            c = st.maximo
        if st.d < c:
            if st.protegido:
                retenidos.append(Retenido(st.rid, BAJAR, c - st.d, FUENTE_CAIDA,
                                          "una fuente de tickets que alimenta al robot falló; no se liberan equipos"))
            else:
                dec = puede_bajar(cooling.get(st.rid), st.tickets, now, ajc)
                if dec.permitido:
                    _release(st, c - st.d, SIN_TICKETS if st.tickets == 0 else EXCESO_DEMANDA)
                    c = st.d
                else:
                    retenidos.append(Retenido(st.rid, BAJAR, c - st.d, dec.codigo, dec.justificacion))
        if st.d > c:
            dec = puede_subir(cooling.get(st.rid), st.tickets, now, ajc)
            if dec.permitido:
                st.limite = st.d
            else:
                st.limite = max(c, st.floor)
                if st.d > st.limite:
                    retenidos.append(Retenido(st.rid, SUBIR, st.d - st.limite, dec.codigo, dec.justificacion))
        else:
            # Never above d: VMs kept only because cooling/protection holds a release back are not
            # wanted, so losing one to a higher-priority robot must not make the robot ask for it.
            st.limite = min(c, st.d)

    libres = sorted(pool_ids.difference(duenio), key=lambda e: (e in ocupados, e), reverse=True)
    # pop() from the end: idle first, then lowest id.

    # Victims for priority preemption: lowest priority first. Built lazily once free VMs run out;
    # from then on no robot gains free VMs, so an exhausted victim stays exhausted.
    victimas: list[_R] | None = None
    salto: list[int] = []  # union-find "next live victim" index, path-compressed

    def _siguiente(i: int) -> int:
        raiz = i
        while salto[raiz] != raiz:
            raiz = salto[raiz]
        while salto[i] != raiz:
            salto[i], i = raiz, salto[i]
        return raiz

    def _tomar(st: _R, e: int, motivo: str) -> None:
        st.equipos.add(e)
        duenio[e] = st.rid
        propia = next((i for i, (x, _) in enumerate(st.libera) if x == e), None)
        if propia is None:
            st.asigna.append((e, motivo))
        else:  # its own row, released above as a duplicate: keep it instead
            del st.libera[propia]

    def _robar(st: _R, motivo: str) -> bool:
        nonlocal victimas
        if victimas is None:
            victimas = sorted((v for v in estados.values() if not v.protegido),
                              key=lambda v: (-v.prio, -v.rid))
            for v in victimas:
                v.idle = sorted((e for e in v.equipos if e not in ocupados), reverse=True)
            salto.extend(range(len(victimas) + 1))
        i = _siguiente(0)
        while i < len(victimas):
            v = victimas[i]
            if v.prio <= st.prio:
                return False
            if len(v.equipos) <= v.floor or not v.idle:
                salto[i] = i + 1  # exhausted for good: nobody gains free VMs any more
                i = _siguiente(i)
                continue
            e = v.idle.pop()
            v.equipos.discard(e)
            v.libera.append((e, PREEMPCION_PRIORIDAD))
            _tomar(st, e, motivo)
            return True
        return False

    def _servir(st: _R, hasta: int, motivo: str) -> None:
        while len(st.equipos) < hasta:
            if libres:
                _tomar(st, libres.pop(), motivo)
            elif not _robar(st, motivo):
                return

    # Phase 1: floors, in priority order.
    fase1 = [st for st in estados.values() if len(st.equipos) < st.floor]
    fase1.sort(key=lambda st: (st.prio, -(st.floor - len(st.equipos)), st.rid))
    for st in fase1:
        _servir(st, st.floor, BAJO_MINIMO)
    # Phase 2: the rest of d.
    fase2 = [st for st in estados.values() if len(st.equipos) < st.limite]
    fase2.sort(key=lambda st: (st.prio, -(st.limite - len(st.equipos)), st.rid))
    for st in fase2:
        _servir(st, st.limite, DEMANDA)
    for st in estados.values():
        if len(st.equipos) < st.limite:
            retenidos.append(Retenido(st.rid, SUBIR, st.limite - len(st.equipos), SIN_EQUIPOS_LIBRES,
                                      "no hay equipos libres en el pool para este robot"))

    acciones: list[Accion] = []
    for rid in sorted(sueltos):
        libs = sueltos[rid]
        acciones.append(_accion(BAJAR, rid, libs, int(tickets.get(rid, 0) or 0), antes_sueltos[rid],
                                antes_sueltos[rid] - len(libs), None))
    for rid in sorted(estados):
        st = estados[rid]
        despues_bajada = st.antes - len(st.libera)
        if st.libera:
            acciones.append(_accion(BAJAR, rid, st.libera, st.tickets, st.antes, despues_bajada, st))
        if st.asigna:
            acciones.append(_accion(SUBIR, rid, st.asigna, st.tickets, despues_bajada,
                                    despues_bajada + len(st.asigna), st))
    return Plan(
        acciones=tuple(acciones),
        retenidos=tuple(retenidos),
        deseados={rid: st.d for rid, st in estados.items()},
        final={rid: frozenset(st.equipos) for rid, st in estados.items()},
    )


def _accion(direccion: str, rid: int, movidos: Sequence[tuple[int, str]], tickets: int, antes: int,
            despues: int, st: _R | None) -> Accion:
    conteo: dict[str, int] = {}
    for _, motivo in movidos:
        conteo[motivo] = conteo.get(motivo, 0) + 1
    codigo = next((m for m in MOTIVOS_COOLING if m in conteo), None) or max(conteo, key=lambda m: (conteo[m], m))
    verbo = "asignan" if direccion == SUBIR else "liberan"
    partes = [f"{n} por {TEXTOS_MOTIVO.get(m, m)}" for m, n in sorted(conteo.items())]
    texto = f"Se {verbo} {len(movidos)} equipo(s) ({'; '.join(partes)}). Tickets: {tickets}"
    if st is not None:
        maximo = "sin límite" if st.maximo is None else str(st.maximo)
        texto += f", deseados: {st.d} (mínimo {st.floor}, máximo {maximo}), prioridad {st.prio}"
    texto += f"; equipos {antes} -> {despues}."
    return Accion(direccion, rid, tuple(e for e, _ in movidos), codigo, texto[:1000], tickets, antes, despues)
