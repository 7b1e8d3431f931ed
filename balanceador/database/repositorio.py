"""SAM DB reads and the one-transaction apply of the balancer (B4, B9).

Both engines side by side: the T-SQL text (``dbo.`` schema) and the SQLite text differ only in the
schema prefix and ``LTRIM(RTRIM())`` vs ``TRIM()``. The T-SQL strings are in ``TSQL_STATEMENTS``
for the static checks. Every read is one statement; the apply runs a constant number of
statements per cycle (executemany), whatever the number of VMs moved.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from balanceador.database import historico_client
from balanceador.service.balanceo import (
    ASIGNADO_POR_BALANCEADOR,
    Asignacion,
    EquipoPool,
    Plan,
    RobotBalanceo,
)
from common.database.ejecuciones import BUSY_CONDITION_SQL

_log = logging.getLogger("sam.balanceador.repositorio")

_ROBOTS = """SELECT r.RobotId, r.Robot, r.Activo, r.EsOnline, r.ExisteEnA360, r.MinEquipos, r.MaxEquipos,
       r.PrioridadBalanceo, r.TicketsPorEquipoAdicional
FROM {p}Robots r
WHERE r.Activo = 1
   OR EXISTS (SELECT 1 FROM {p}Asignaciones a
              WHERE a.RobotId = r.RobotId AND a.AsignadoPor = 'Balanceador')"""

# B4: the pool. The parentheses matter: the original's AND/OR precedence let every equipo in.
_POOL = """SELECT e.EquipoId, e.Equipo, e.Licencia, e.Activo_SAM, e.PermiteBalanceoDinamico, e.EstadoA360,
       e.UsuarioActivoA360
FROM {p}Equipos e
WHERE UPPER({trim}) IN ({marcas})
  AND e.Activo_SAM = 1
  AND e.PermiteBalanceoDinamico = 1
  AND e.EstadoA360 = 'CONNECTED'
  AND e.UsuarioActivoA360 = 1
  AND NOT EXISTS (SELECT 1 FROM {p}Asignaciones a
                  WHERE a.EquipoId = e.EquipoId
                    AND (a.Reservado = 1 OR a.EsProgramado = 1 OR a.AsignadoPor <> 'Balanceador'))"""

_ASIGNACIONES = """SELECT a.RobotId, a.EquipoId, a.AsignadoPor, a.Reservado, a.EsProgramado
FROM {p}Asignaciones a"""

# The same "busy" rule as the launcher's selection (one home: common.database.ejecuciones).
_OCUPADOS = """SELECT DISTINCT EquipoId
FROM {p}Ejecuciones
WHERE Estado IS NOT NULL AND {ocupada}"""

# B9: only the balancer's own rows are ever removed.
_BORRAR = """DELETE FROM {p}Asignaciones
WHERE RobotId = ? AND EquipoId = ? AND AsignadoPor = 'Balanceador' AND Reservado = 0 AND EsProgramado = 0"""

# Skipped if the row exists or the equipo got a manual/reserved/scheduled row meanwhile.
_INSERTAR = """INSERT INTO {p}Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, AsignadoPor)
SELECT ?, ?, 0, 0, ?, 'Balanceador'
WHERE NOT EXISTS (SELECT 1 FROM {p}Asignaciones a
                  WHERE a.EquipoId = ?
                    AND (a.RobotId = ? OR a.Reservado = 1 OR a.EsProgramado = 1
                         OR a.AsignadoPor <> 'Balanceador'))"""


def _textos(p: str, trim: str, marcas: str) -> dict[str, str]:
    return {
        "balanceador_robots": _ROBOTS.format(p=p),
        "balanceador_pool": _POOL.format(p=p, trim=trim, marcas=marcas),
        "balanceador_asignaciones": _ASIGNACIONES.format(p=p),
        "balanceador_equipos_ocupados": _OCUPADOS.format(p=p, ocupada=BUSY_CONDITION_SQL),
        "balanceador_borrar_asignacion": _BORRAR.format(p=p),
        "balanceador_insertar_asignacion": _INSERTAR.format(p=p),
    }


_PREFIJO = {"sqlserver": ("dbo.", "LTRIM(RTRIM(e.Licencia))"), "sqlite": ("", "TRIM(e.Licencia)")}

#: T-SQL texts (the pool rendered with one licence parameter, as checked statically).
TSQL_STATEMENTS: dict[str, str] = _textos("dbo.", _PREFIJO["sqlserver"][1], "?")


def _sql(db: Any, nombre: str, n_licencias: int = 1) -> str:
    p, trim = _PREFIJO["sqlserver" if db.engine == "sqlserver" else "sqlite"]
    return _textos(p, trim, ", ".join("?" * max(1, n_licencias)))[nombre]


def _b(v: Any) -> bool:
    return bool(int(v)) if v is not None else False


@dataclass(frozen=True)
class Lectura:
    robots: list[RobotBalanceo]
    pool: list[EquipoPool]
    asignaciones: list[Asignacion]
    ocupados: frozenset[int]


def leer_robots(db: Any) -> list[RobotBalanceo]:
    out = []
    for f in db.query(_sql(db, "balanceador_robots")):
        out.append(RobotBalanceo(
            robot_id=int(f["RobotId"]),
            robot=str(f["Robot"] or ""),
            activo=_b(f["Activo"]),
            es_online=_b(f["EsOnline"]),
            existe_en_a360=_b(f["ExisteEnA360"]) if f["ExisteEnA360"] is not None else True,
            min_equipos=int(f["MinEquipos"]) if f["MinEquipos"] is not None else 1,
            max_equipos=int(f["MaxEquipos"]) if f["MaxEquipos"] is not None else -1,
            prioridad=int(f["PrioridadBalanceo"]) if f["PrioridadBalanceo"] is not None else 100,
            tickets_por_equipo=int(f["TicketsPorEquipoAdicional"])
            if f["TicketsPorEquipoAdicional"] is not None else None,
        ))
    return out


def leer_pool(db: Any, licencias: Sequence[str]) -> list[EquipoPool]:
    lic = [str(x).strip().upper() for x in licencias if str(x).strip()] or [""]
    return [
        EquipoPool(
            equipo_id=int(f["EquipoId"]),
            equipo=str(f["Equipo"] or ""),
            licencia=str(f["Licencia"] or ""),
            activo_sam=_b(f["Activo_SAM"]),
            permite_balanceo=_b(f["PermiteBalanceoDinamico"]),
            estado_a360=f["EstadoA360"],
            usuario_activo=_b(f["UsuarioActivoA360"]),
        )
        for f in db.query(_sql(db, "balanceador_pool", len(lic)), lic)
    ]


def leer_asignaciones(db: Any) -> list[Asignacion]:
    return [
        Asignacion(int(f["RobotId"]), int(f["EquipoId"]), f["AsignadoPor"], _b(f["Reservado"]), _b(f["EsProgramado"]))
        for f in db.query(_sql(db, "balanceador_asignaciones"))
    ]


def leer_ocupados(db: Any) -> frozenset[int]:
    return frozenset(int(f["EquipoId"]) for f in db.query(_sql(db, "balanceador_equipos_ocupados")))


def leer_todo(db: Any, licencias: Sequence[str]) -> Lectura:
    """The planner's DB inputs (four statements)."""
    return Lectura(leer_robots(db), leer_pool(db, licencias), leer_asignaciones(db), leer_ocupados(db))


def aplicar(db: Any, plan: Plan, now: datetime) -> int:
    """Apply a plan in ONE transaction: deletes, inserts and history as three executemany calls.

    Returns the number of history rows written. Raises (after rollback) on any DB error.
    """
    if plan.vacio:
        return 0
    borrar = [(a.robot_id, e) for a in plan.acciones if a.accion == "DESASIGNAR" for e in a.equipo_ids]
    insertar = [(a.robot_id, e, now, e, a.robot_id) for a in plan.acciones if a.accion == "ASIGNAR"
                for e in a.equipo_ids]

    def _tx(tx: Any) -> int:
        if borrar:
            tx.executemany(_sql(tx, "balanceador_borrar_asignacion"), borrar)
        if insertar:
            tx.executemany(_sql(tx, "balanceador_insertar_asignacion"), insertar)
        return historico_client.insertar(tx, plan.acciones, now)

    with db.transaction() as tx:
        n = _tx(tx)
    _log.debug("Plan aplicado: %d filas borradas, %d insertadas, %d de histórico (%s)", len(borrar),
               len(insertar), n, ASIGNADO_POR_BALANCEADOR)
    return n
