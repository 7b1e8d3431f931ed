"""Consolidation of the ticket sources (B3) and the robots each failing source feeds (B8).

- clouders names pass through ``MAPA_ROBOTS`` (clouders name -> SAM ``Robots.Robot``); a name the
  map does not list is taken as the SAM name itself;
- rpa360 rows resolve by ``RobotId`` when it names an active robot, else by ``Robot`` name;
- names match ``Robots.Robot`` exactly, or else ignoring case and surrounding blanks;
- totals are summed per RobotId;
- a name with no active SAM robot is logged once per day (per source and name), not every cycle;
- a source that fails feeds every robot it reported in any successful read since start-up plus,
  for clouders, every ``MAPA_ROBOTS`` target; if it never succeeded since start-up, every balanced
  robot counts as fed by it. Those robots are protected from scale-down this cycle (B8).
  Not only the last read: a robot whose queue had just drained (absent from the last good read,
  its zero-tickets streak running) would otherwise be released once the streak reached the
  cooling period although its tickets are unknown while the source is down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from balanceador.modelo import RobotBalanceo

_log = logging.getLogger("sam.balanceador.consolidacion")


@dataclass(frozen=True)
class Consolidado:
    tickets: dict[int, int]  # RobotId -> pending tickets (healthy sources only)
    protegidos: frozenset[int]  # robots fed by a source that failed this cycle
    fuentes_caidas: tuple[str, ...]
    desconocidos: tuple[tuple[str, str], ...]  # (source, name) with no active SAM robot


def _clave(nombre: str) -> str:
    return " ".join(str(nombre).split()).casefold()


class _Indice:
    def __init__(self, robots: Iterable[RobotBalanceo]) -> None:
        self.exacto: dict[str, int] = {}
        self.normal: dict[str, int] = {}
        self.ids: set[int] = set()
        for r in sorted(robots, key=lambda r: r.robot_id):
            if not r.activo:
                continue
            self.ids.add(r.robot_id)
            self.exacto.setdefault(r.robot, r.robot_id)
            self.normal.setdefault(_clave(r.robot), r.robot_id)

    def por_nombre(self, nombre: str) -> int | None:
        rid = self.exacto.get(nombre)
        return rid if rid is not None else self.normal.get(_clave(nombre))


class Consolidador:
    """Keeps, across cycles, the robots each source has fed and the daily log of unknown names."""

    def __init__(self, mapa_robots: Mapping[str, str] | None = None, logger: logging.Logger | None = None) -> None:
        self.mapa = {str(k): str(v) for k, v in (mapa_robots or {}).items()}
        self._mapa_normal = {_clave(k): v for k, v in self.mapa.items()}
        self._log = logger or _log
        self._alimentados: dict[str, frozenset[int]] = {}
        self._avisados: dict[tuple[str, str], date] = {}
        self._lock = threading.Lock()

    def _nombre_sam(self, fuente: str, nombre: str) -> str:
        if fuente != "clouders":
            return nombre
        if nombre in self.mapa:
            return self.mapa[nombre]
        return self._mapa_normal.get(_clave(nombre), nombre)

    def consolidar(self, resultados: Sequence, robots: Sequence[RobotBalanceo], now: datetime,
                   *, recordar: bool = True) -> Consolidado:
        """``recordar=False`` (dry run) leaves the state across cycles untouched."""
        indice = _Indice(robots)
        balanceados = frozenset(r.robot_id for r in robots if r.balanceado)
        tickets: dict[int, int] = {}
        protegidos: set[int] = set()
        caidas: list[str] = []
        desconocidos: list[tuple[str, str]] = []
        with self._lock:
            for res in resultados:
                if not res.ok:
                    caidas.append(res.name)
                    alimentados = self._alimentados.get(res.name)
                    if alimentados is None:
                        protegidos |= balanceados
                    else:
                        protegidos |= alimentados
                        if res.name == "clouders":
                            protegidos |= {rid for rid in (indice.por_nombre(v) for v in self.mapa.values())
                                           if rid is not None}
                    continue
                vistos: set[int] = set()
                for nombre, robot_id, cantidad in res.rows:
                    rid = robot_id if (robot_id is not None and robot_id in indice.ids) else None
                    if rid is None:
                        rid = indice.por_nombre(self._nombre_sam(res.name, nombre))
                    if rid is None:
                        desconocidos.append((res.name, nombre))
                        continue
                    vistos.add(rid)
                    tickets[rid] = tickets.get(rid, 0) + max(0, int(cantidad))
                if recordar:
                    self._alimentados[res.name] = self._alimentados.get(res.name, frozenset()) | vistos
            if recordar:
                hoy = now.date()
                for clave in desconocidos:
                    if self._avisados.get(clave) != hoy:
                        self._avisados[clave] = hoy
                        fuente, nombre = clave
                        self._log.warning(
                            "La fuente %r informa tickets del robot %r, que no corresponde a ningún robot "
                            "activo de SAM (revise MAPA_ROBOTS o dbo.Robots). Se avisa una vez al día.",
                            fuente, nombre,
                        )
        return Consolidado(tickets=tickets, protegidos=frozenset(protegidos), fuentes_caidas=tuple(caidas),
                           desconocidos=tuple(desconocidos))
