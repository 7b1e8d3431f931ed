"""B14: the one rule that maps a name reported by a ticket source to a SAM robot (pure).

Order, for a row of source ``fuente`` (its name in BALANCEADOR_PROVEEDORES_CARGA):
1. ``dbo.MapeoRobots`` rows of that ``Proveedor`` (read every cycle, so a new row takes effect on
   the next cycle without a restart): ``NombreExterno`` exactly, then ignoring case and blanks
   (:func:`~balanceador.modelo.clave_nombre`) -> ``RobotId``;
2. ``MAPA_ROBOTS`` (clouders only): clouders name -> SAM ``Robots.Robot``, exactly then ignoring
   case and blanks;
3. the name itself (consolidation then matches ``Robots.Robot``, B3).

The clouders adapter reports its names as they are; consolidation applies this rule to every
source (:func:`balanceador.service.consolidacion.consolidar`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from balanceador.modelo import clave_nombre

#: The source whose names MAPA_ROBOTS maps (as the original did).
FUENTE_MAPA_ROBOTS = "clouders"


class MapaRobots:
    """``MAPA_ROBOTS``: clouders robot name -> SAM ``Robots.Robot``.

    A name is looked up exactly, then by :func:`~balanceador.modelo.clave_nombre` (case and blanks
    ignored); a name the map does not list is taken as the SAM name itself."""

    def __init__(self, mapa: Mapping[str, str] | None = None) -> None:
        self.mapa = {str(k): str(v) for k, v in (mapa or {}).items()}
        self._por_clave = {clave_nombre(k): v for k, v in self.mapa.items()}

    def nombre_sam(self, nombre: str) -> str:
        if nombre in self.mapa:
            return self.mapa[nombre]
        return self._por_clave.get(clave_nombre(nombre), nombre)

    def destinos(self) -> tuple[str, ...]:
        """Every SAM name the map points at (B8: clouders feeds them even when it cannot be read)."""
        return tuple(self.mapa.values())


@dataclass(frozen=True)
class Resuelto:
    """Where a source's name points: a RobotId (MapeoRobots) or a SAM robot name."""

    robot_id: int | None
    nombre: str


class MapeoNombres:
    """The mapping of one cycle: ``filas`` = (Proveedor, NombreExterno, RobotId) of MapeoRobots,
    ``mapa_robots`` = MAPA_ROBOTS."""

    def __init__(self, filas: Iterable[tuple[str, str, int]] = (), mapa_robots: Mapping[str, str] | None = None):
        self._exacto: dict[tuple[str, str], int] = {}
        self._normal: dict[tuple[str, str], int] = {}
        for proveedor, nombre, robot_id in sorted(filas, key=lambda f: (str(f[0]), str(f[1]), int(f[2]))):
            fuente = str(proveedor).strip().lower()
            self._exacto.setdefault((fuente, str(nombre)), int(robot_id))
            self._normal.setdefault((fuente, clave_nombre(nombre)), int(robot_id))
        self.mapa_robots = MapaRobots(mapa_robots)

    def resolver(self, fuente: str, nombre: str) -> Resuelto:
        fuente = fuente.strip().lower()
        rid = self._exacto.get((fuente, nombre))
        if rid is None:
            rid = self._normal.get((fuente, clave_nombre(nombre)))
        if rid is not None:
            return Resuelto(rid, nombre)
        if fuente == FUENTE_MAPA_ROBOTS:
            return Resuelto(None, self.mapa_robots.nombre_sam(nombre))
        return Resuelto(None, nombre)

    def destinos(self, fuente: str) -> tuple[set[int], tuple[str, ...]]:
        """The robots a source is configured to feed (B8 protects them when it fails): the
        RobotIds of its MapeoRobots rows, and (clouders) the MAPA_ROBOTS targets."""
        fuente = fuente.strip().lower()
        ids = {rid for (f, _), rid in self._exacto.items() if f == fuente}
        return ids, self.mapa_robots.destinos() if fuente == FUENTE_MAPA_ROBOTS else ()
