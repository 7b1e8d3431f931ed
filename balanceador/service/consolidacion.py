"""Consolidation of the ticket sources (B3) and the robots each failing source feeds (B8).

- rows arrive with the names each source uses; B14's one mapping rule
  (:class:`balanceador.service.mapeo.MapeoNombres`: ``MapeoRobots`` of that source, then
  ``MAPA_ROBOTS`` for clouders, then the name itself) is applied here to every source;
- a row mapped by ``MapeoRobots`` names that RobotId; else rpa360 rows resolve by ``RobotId``
  when it names an active robot, else by ``Robot`` name;
- names match ``Robots.Robot`` exactly, or else by :func:`~balanceador.modelo.clave_nombre`
  (ignoring case and blanks);
- totals are summed per RobotId;
- a source that fails feeds every robot it reported in any successful read since start-up plus
  the robots it is configured to feed (its ``MapeoRobots`` rows, clouders' ``MAPA_ROBOTS`` targets,
  and any ``SourceResult.mapped_names``); if it never succeeded since start-up, every balanced robot counts as fed by it. Those
  robots are protected from scale-down this cycle (B8). Not only the last read: a robot whose
  queue had just drained (absent from the last good read, its zero-tickets streak running) would
  otherwise be released once the streak reached the cooling period although its tickets are
  unknown while the source is down.

:func:`consolidar` is pure. What lasts across cycles is explicit and owned by the service: the
robots each source has fed (passed in, and returned updated in :attr:`Consolidado.alimentados`
for the service to keep) and the :class:`AvisosDiarios` memory that logs a name with no active
SAM robot once per day (per source and name), and any other once-a-day line (a robot with
tickets that is not balanced). The dry run keeps neither.

:func:`sin_robot_activo` tells, for the rows no active robot took, whether they name an inactive
SAM robot (by the same id/name rule) or no SAM robot at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from balanceador.clients.base import SourceResult
from balanceador.modelo import RobotBalanceo, clave_nombre
from balanceador.service.mapeo import MapeoNombres

_log = logging.getLogger("sam.balanceador.consolidacion")


@dataclass(frozen=True)
class Consolidado:
    tickets: dict[int, int]  # RobotId -> pending tickets (healthy sources only)
    protegidos: frozenset[int]  # robots fed by a source that failed this cycle
    fuentes_caidas: tuple[str, ...]
    desconocidos: tuple[tuple[str, str], ...]  # (source, name) with no active SAM robot
    #: Robots each source has fed since start-up, this cycle's good reads included (the service
    #: passes it to the next cycle's consolidar).
    alimentados: Mapping[str, frozenset[int]]
    #: RobotId -> the healthy sources that reported it this cycle.
    fuentes_por_robot: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    #: The rows behind ``desconocidos``: (source, name, RobotId the source gave or None, tickets).
    filas_desconocidas: tuple[tuple[str, str, int | None, int], ...] = ()


@dataclass(frozen=True)
class TicketsSinRobot:
    """Tickets the sources report under one name (or id) that no active SAM robot takes."""

    nombre: str  # the inactive robot's SAM name, else the name as the source reported it
    robot_id: int | None  # the inactive SAM robot; else the RobotId the source gave, if any
    inactivo: bool  # True: an inactive SAM robot (Activo = 0); False: no SAM robot has that name
    tickets: int
    fuentes: tuple[str, ...]
    filas: tuple[tuple[str, str], ...] = ()  # the (source, name) pairs behind it


class _Indice:
    def __init__(self, robots: Iterable[RobotBalanceo], *, activos: bool = True) -> None:
        self.exacto: dict[str, int] = {}
        self.normal: dict[str, int] = {}
        self.ids: set[int] = set()
        for r in sorted(robots, key=lambda r: r.robot_id):
            if bool(r.activo) != activos:
                continue
            self.ids.add(r.robot_id)
            self.exacto.setdefault(r.robot, r.robot_id)
            self.normal.setdefault(clave_nombre(r.robot), r.robot_id)

    def por_nombre(self, nombre: str) -> int | None:
        rid = self.exacto.get(nombre)
        return rid if rid is not None else self.normal.get(clave_nombre(nombre))

    def resolver(self, nombre: str, robot_id: int | None) -> int | None:
        """The RobotId a row names: its RobotId when indexed, else its name."""
        return robot_id if (robot_id is not None and robot_id in self.ids) else self.por_nombre(nombre)


def _protegidos_por(res: SourceResult, alimentados: frozenset[int] | None, indice: _Indice,
                    balanceados: frozenset[int], mapeo: MapeoNombres) -> set[int]:
    """B8: the robots a failed source feeds."""
    if alimentados is None:  # never read since start-up: it may feed anyone
        return set(balanceados)
    ids, nombres = mapeo.destinos(res.name)
    fijos = (indice.por_nombre(nombre) for nombre in (*res.mapped_names, *nombres))
    return set(alimentados) | (ids & indice.ids) | {rid for rid in fijos if rid is not None}


def consolidar(resultados: Sequence[SourceResult], robots: Sequence[RobotBalanceo],
               alimentados: Mapping[str, frozenset[int]], mapeo: MapeoNombres | None = None) -> Consolidado:
    """Tickets per RobotId from this cycle's reads; ``alimentados``: the previous cycle's
    :attr:`Consolidado.alimentados` (``{}`` at start-up); ``mapeo``: this cycle's B14 mapping
    (default: none). Pure."""
    mapeo = mapeo or MapeoNombres()
    indice = _Indice(robots)
    balanceados = frozenset(r.robot_id for r in robots if r.balanceado)
    tickets: dict[int, int] = {}
    protegidos: set[int] = set()
    caidas: list[str] = []
    filas_desconocidas: list[tuple[str, str, int | None, int]] = []
    fuentes: dict[int, tuple[str, ...]] = {}
    nuevos = dict(alimentados)
    for res in resultados:
        if not res.ok:
            caidas.append(res.name)
            protegidos |= _protegidos_por(res, nuevos.get(res.name), indice, balanceados, mapeo)
            continue
        vistos: set[int] = set()
        for nombre_fuente, robot_id, cantidad in res.rows:
            destino = mapeo.resolver(res.name, nombre_fuente)
            nombre = destino.nombre
            if destino.robot_id is not None:
                robot_id = destino.robot_id
                rid = robot_id if robot_id in indice.ids else None
            else:
                rid = indice.resolver(nombre, robot_id)
            if rid is None:
                filas_desconocidas.append((res.name, nombre, robot_id, max(0, int(cantidad))))
                continue
            vistos.add(rid)
            tickets[rid] = tickets.get(rid, 0) + max(0, int(cantidad))
        for rid in sorted(vistos):
            fuentes[rid] = (*fuentes.get(rid, ()), res.name)
        nuevos[res.name] = nuevos.get(res.name, frozenset()) | vistos
    return Consolidado(tickets=tickets, protegidos=frozenset(protegidos), fuentes_caidas=tuple(caidas),
                       desconocidos=tuple((f, n) for f, n, _, _ in filas_desconocidas), alimentados=nuevos,
                       fuentes_por_robot=fuentes, filas_desconocidas=tuple(filas_desconocidas))


def sin_robot_activo(cons: Consolidado, inactivos: Iterable[RobotBalanceo]) -> tuple[TicketsSinRobot, ...]:
    """The rows no active robot took, summed per inactive SAM robot they name (same id/name rule
    as :func:`consolidar`) or, when no SAM robot has the name, per reported name. Pure."""
    inactivos = [r for r in inactivos if not r.activo]
    indice = _Indice(inactivos, activos=False)
    nombres = {r.robot_id: r.robot for r in inactivos}
    grupos: dict[tuple[bool, object], TicketsSinRobot] = {}
    for fuente, nombre, robot_id, cantidad in cons.filas_desconocidas:
        rid = indice.resolver(nombre, robot_id)
        clave: tuple[bool, object] = (True, rid) if rid is not None else (False, clave_nombre(nombre))
        previo = grupos.get(clave) or TicketsSinRobot(
            nombres[rid] if rid is not None else nombre, rid if rid is not None else robot_id,
            rid is not None, 0, ())
        grupos[clave] = TicketsSinRobot(
            previo.nombre, previo.robot_id, previo.inactivo, previo.tickets + cantidad,
            previo.fuentes if fuente in previo.fuentes else (*previo.fuentes, fuente),
            previo.filas if (fuente, nombre) in previo.filas else (*previo.filas, (fuente, nombre)))
    return tuple(grupos.values())


class AvisosDiarios:
    """Logs each (source, name) with no active SAM robot once per day, not every cycle; and tells
    any other once-a-day line whether it is due (:meth:`toca_hoy`)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or _log
        self._avisados: dict[Hashable, date] = {}
        self._lock = threading.Lock()

    def toca_hoy(self, clave: Hashable, now: datetime) -> bool:
        """True the first time ``clave`` is asked for on ``now``'s day (and it is then remembered)."""
        hoy = now.date()
        with self._lock:
            if self._avisados.get(clave) == hoy:
                return False
            self._avisados[clave] = hoy
            return True

    def avisar(self, desconocidos: Iterable[tuple[str, str]], now: datetime) -> int:
        """Log the names not yet logged today; returns how many were logged."""
        hoy = now.date()
        n = 0
        with self._lock:
            for clave in desconocidos:
                if self._avisados.get(clave) == hoy:
                    continue
                self._avisados[clave] = hoy
                fuente, nombre = clave
                self._log.warning(
                    "La fuente %r informa tickets del robot %r, que no corresponde a ningún robot "
                    "activo de SAM (revise MAPA_ROBOTS o dbo.Robots). Se avisa una vez al día.",
                    fuente, nombre,
                )
                n += 1
        return n
