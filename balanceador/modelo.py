"""The balancer's data model: the planner's inputs and outputs, the cooling state, the settings and
every reason code (``HistoricoBalanceo.CodigoMotivo``).

This module is the bottom of ``balanceador``: it imports only the standard library, and every
other balancer module (planner, cooling, consolidation, the SAM DB adapters, the service) imports
its types from here. All types are frozen dataclasses; the rules they carry are the ones that
define the data itself (B4 "balanced robot" and pool filters, B9 "the balancer's own rows").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Directions of a change (``HistoricoBalanceo.AccionTomada``): up and down.
SUBIR = "ASIGNAR"
BAJAR = "DESASIGNAR"

#: ``Asignaciones.AsignadoPor`` of the rows the balancer writes (and the only ones it removes, B9).
ASIGNADO_POR_BALANCEADOR = "Balanceador"

# Reason codes of the actions (HistoricoBalanceo.CodigoMotivo).
BAJO_MINIMO = "BAJO_MINIMO"
DEMANDA = "DEMANDA"
SIN_TICKETS = "SIN_TICKETS"
EXCESO_DEMANDA = "EXCESO_DEMANDA"
EXCESO_MAXIMO = "EXCESO_MAXIMO"
PREEMPCION_PRIORIDAD = "PREEMPCION_PRIORIDAD"
ROBOT_NO_BALANCEADO = "ROBOT_NO_BALANCEADO"
EQUIPO_FUERA_POOL = "EQUIPO_FUERA_POOL"
EQUIPO_DUPLICADO = "EQUIPO_DUPLICADO"
# ... pools (B11-B13)
POOL_INACTIVO = "POOL_INACTIVO"  # the robot's or the equipo's pool is inactive (Pools.Activo = 0)
EQUIPO_OTRO_POOL = "EQUIPO_OTRO_POOL"  # the equipo belongs to another pool than the robot's
DESBORDE = "DESBORDE"  # a free equipo of the general pool lent to a robot of another pool (B12)
RECLAMO_DESBORDE = "RECLAMO_DESBORDE"  # a lent equipo goes back to the general pool (B12)

# Held-back codes (Retenido.codigo).
FUENTE_CAIDA = "FUENTE_CAIDA"
SIN_EQUIPOS_LIBRES = "SIN_EQUIPOS_LIBRES"
# ... decided by the cooling (B7); every held-back cooling code starts with "COOLING".
COOLING_OSCILACION = "COOLING_OSCILACION"
COOLING_SUBIDA = "COOLING_SUBIDA"
COOLING_BAJADA = "COOLING_BAJADA"
COOLING_SIN_TICKETS = "COOLING_SIN_TICKETS"
# ... and the remarks of a cooling decision that allows a reversal inside the period.
SUBIDA_UMBRAL = "SUBIDA_UMBRAL"
BAJADA_UMBRAL = "BAJADA_UMBRAL"

# Why a robot with tickets is not balanced (the dry run and the cycle's log; never written to the DB).
ROBOT_INACTIVO = "ROBOT_INACTIVO"  # Activo = 0
ROBOT_NO_ONLINE = "ROBOT_NO_ONLINE"  # EsOnline = 0
ROBOT_NO_EN_A360 = "ROBOT_NO_EN_A360"  # ExisteEnA360 = 0
NOMBRE_DESCONOCIDO = "NOMBRE_DESCONOCIDO"  # no SAM robot has the name the source reports
SIN_POOL = "SIN_POOL"  # no equipo of the pool is available for it
MAX_EQUIPOS_CERO = "MAX_EQUIPOS_CERO"  # MaxEquipos = 0

#: Ticket-driven changes: the only ones the cooling (B7) records. Serving a floor is exempt from
#: cooling, and so are preemption and structural releases, which do not follow the tickets. A loan
#: of the general pool (DESBORDE) follows the robot's tickets like DEMANDA; giving it back
#: (RECLAMO_DESBORDE) follows the general pool's needs, not the robot's tickets.
MOTIVOS_COOLING = (DEMANDA, SIN_TICKETS, EXCESO_DEMANDA, DESBORDE)

#: Releases that are not a ticket-driven scale-down (allowed even for protected robots).
LIBERACIONES_ESTRUCTURALES = frozenset({EXCESO_MAXIMO, ROBOT_NO_BALANCEADO, EQUIPO_FUERA_POOL, EQUIPO_DUPLICADO,
                                        POOL_INACTIVO, EQUIPO_OTRO_POOL, RECLAMO_DESBORDE})

#: Operator-facing text of each action reason, read as "<n> por <texto>".
TEXTOS_MOTIVO = {
    BAJO_MINIMO: "estar por debajo de su mínimo de equipos",
    DEMANDA: "demanda de tickets",
    SIN_TICKETS: "no tener tickets durante todo el periodo de enfriamiento",
    EXCESO_DEMANDA: "tener más equipos de los que piden sus tickets",
    EXCESO_MAXIMO: "superar MaxEquipos",
    PREEMPCION_PRIORIDAD: "cesión de un equipo libre a un robot de mayor prioridad",
    ROBOT_NO_BALANCEADO: "no balancearse ya el robot (inactivo, offline o inexistente en A360)",
    EQUIPO_FUERA_POOL: "haber salido el equipo del pool de balanceo",
    EQUIPO_DUPLICADO: "estar el equipo asignado por el balanceador a otro robot",
    POOL_INACTIVO: "estar inactivo el pool del robot o del equipo",
    EQUIPO_OTRO_POOL: "pertenecer el equipo a otro pool que el del robot",
    DESBORDE: "préstamo de un equipo libre del pool general (BALANCEADOR_AISLAMIENTO_ESTRICTO=false)",
    RECLAMO_DESBORDE: "devolución al pool general de un equipo prestado",
}


def clave_nombre(nombre: str) -> str:
    """The key robot names match on when they do not match exactly: case and runs of blanks ignored
    (a source's ``"  facturas "`` is SAM's ``Facturas``)."""
    return " ".join(str(nombre).split()).casefold()


# ---------------------------------------------------------------------------------- planner inputs
@dataclass(frozen=True)
class RobotBalanceo:
    robot_id: int
    robot: str = ""
    activo: bool = True
    es_online: bool = True
    existe_en_a360: bool = True
    min_equipos: int = 1
    max_equipos: int = -1
    prioridad: int = 100
    tickets_por_equipo: int | None = None
    pool_id: int | None = None  # Robots.PoolId; None = the general pool (B11)
    pool_activo: bool = True  # Pools.Activo of its pool (True for the general pool)

    @property
    def balanceado(self) -> bool:
        """B4: only active, online robots that exist in A360 are balanced; B11: and whose pool is
        active."""
        return bool(self.activo and self.es_online and self.existe_en_a360 and self.pool_activo)


@dataclass(frozen=True)
class EquipoPool:
    equipo_id: int
    equipo: str = ""
    licencia: str = "ATTENDEDRUNTIME"
    activo_sam: bool = True
    permite_balanceo: bool = True
    estado_a360: str | None = "CONNECTED"
    usuario_activo: bool = True
    pool_id: int | None = None  # Equipos.PoolId; None = the general pool (B11)
    pool_activo: bool = True  # Pools.Activo of its pool (True for the general pool)

    def apto(self, licencias: frozenset[str]) -> bool:
        """B4 pool filters, and B11: an equipo of an inactive pool is outside every pool (the SQL
        applies them too; re-checked here)."""
        return (
            bool(self.pool_activo)
            and (self.licencia or "").strip().upper() in licencias
            and bool(self.activo_sam)
            and bool(self.permite_balanceo)
            and (self.estado_a360 or "").strip().upper() == "CONNECTED"
            and bool(self.usuario_activo)
        )


@dataclass(frozen=True)
class Asignacion:
    robot_id: int
    equipo_id: int
    asignado_por: str | None = ASIGNADO_POR_BALANCEADOR
    reservado: bool = False
    es_programado: bool = False

    @property
    def del_balanceador(self) -> bool:
        """B9: the only rows the balancer may remove."""
        return (
            (self.asignado_por or "") == ASIGNADO_POR_BALANCEADOR
            and not self.reservado
            and not self.es_programado
        )


# ---------------------------------------------------------------------------------- cooling state
@dataclass(frozen=True)
class Cambio:
    """The last change of one direction: when, and the robot's tickets at that moment."""

    fecha: datetime
    tickets: int


@dataclass(frozen=True)
class EstadoCooling:
    ultima_subida: Cambio | None = None
    ultima_bajada: Cambio | None = None
    cero_desde: datetime | None = None  # start of the current streak of zero tickets


# ---------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class AjustesCooling:
    periodo_seg: float = 300.0
    umbral_subida_pct: int = 30
    umbral_bajada_pct: int = 40

    @classmethod
    def desde_config(cls, cfg: Any) -> AjustesCooling:
        return cls(
            periodo_seg=float(cfg.BALANCEADOR_COOLING_PERIOD_SEG),
            umbral_subida_pct=int(cfg.BALANCEADOR_UMBRAL_SUBIDA_PCT),
            umbral_bajada_pct=int(cfg.BALANCEADOR_UMBRAL_BAJADA_PCT),
        )


@dataclass(frozen=True)
class AjustesBalanceo:
    tickets_por_equipo_defecto: int = 10
    licencias: tuple[str, ...] = ("ATTENDEDRUNTIME",)
    cooling: AjustesCooling = field(default_factory=AjustesCooling)
    #: An UNKNOWN execution stops keeping its equipo busy after this (the launcher's rule, L5.4).
    tolerancia_unknown_min: int = 120
    #: B12: True = each pool uses only its own equipos; False = free equipos of the general pool may
    #: be lent to robots of other pools (BALANCEADOR_AISLAMIENTO_ESTRICTO).
    aislamiento_estricto: bool = True
    #: B13: True = B6's takeovers of idle equipos; False = only free equipos (BALANCEADOR_PREEMPCION).
    preempcion: bool = True

    @classmethod
    def desde_config(cls, cfg: Any, *, aislamiento_estricto: bool = True, preempcion: bool = True
                     ) -> AjustesBalanceo:
        """The pool flags come from the caller, which reads them with ``ajuste`` every cycle."""
        return cls(
            tickets_por_equipo_defecto=int(cfg.BALANCEADOR_DEFAULT_TICKETS_POR_EQUIPO),
            licencias=tuple(cfg.BALANCEADOR_LICENCIAS_POOL),
            cooling=AjustesCooling.desde_config(cfg),
            tolerancia_unknown_min=int(cfg.CONCILIADOR_TOLERANCIA_UNKNOWN_MIN),
            aislamiento_estricto=bool(aislamiento_estricto),
            preempcion=bool(preempcion),
        )


# ---------------------------------------------------------------------------------- planner output
@dataclass(frozen=True)
class Accion:
    """One HistoricoBalanceo row: one robot, one direction, the VMs moved."""

    accion: str  # SUBIR ("ASIGNAR") | BAJAR ("DESASIGNAR")
    robot_id: int
    equipo_ids: tuple[int, ...]
    codigo_motivo: str
    justificacion: str
    tickets: int
    antes: int
    despues: int
    pool_id: int | None = None  # the robot's pool (HistoricoBalanceo.PoolId); None = general pool

    @property
    def cuenta_para_cooling(self) -> bool:
        return self.codigo_motivo in MOTIVOS_COOLING


@dataclass(frozen=True)
class Retenido:
    """A change the planner wanted but did not make, and why."""

    robot_id: int
    direccion: str  # SUBIR ("ASIGNAR") | BAJAR ("DESASIGNAR")
    cantidad: int
    codigo: str
    justificacion: str
    pool_id: int | None = None  # the robot's pool


@dataclass(frozen=True)
class Plan:
    acciones: tuple[Accion, ...]
    retenidos: tuple[Retenido, ...]
    deseados: Mapping[int, int]  # d per balanced robot
    final: Mapping[int, frozenset[int]]  # robot -> balancer VMs after the plan

    @property
    def vacio(self) -> bool:
        return not self.acciones

    def retenidos_por_cooling(self) -> tuple[Retenido, ...]:
        return tuple(r for r in self.retenidos if r.codigo.startswith("COOLING"))
