"""SAM DB reads and the one-transaction apply of the balancer (B4, B9).

Both dialects side by side in the SQL registry (``balanceador.*``): the T-SQL text (``dbo.``
schema, typed locks on the read-then-write, exact match of ``AsignadoPor``) and the SQLite text.
Every read is one statement; the apply runs a constant number of statements per cycle
(executemany), whatever the number of VMs moved, in one transaction retried whole on a deadlock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from balanceador.database import historico_client
from balanceador.modelo import (
    ASIGNADO_POR_BALANCEADOR,
    Asignacion,
    EquipoPool,
    Plan,
    RobotBalanceo,
)
from common.database import sentencias
from common.database.ocupacion import ocupa_equipo

_log = logging.getLogger("sam.balanceador.repositorio")

#: "No UNKNOWN row has expired": the cut-off used when a caller gives none.
_SIN_CADUCIDAD_UNKNOWN = datetime(1900, 1, 1)


def es_del_balanceador(alias: str, dialecto: str) -> str:
    """The row was written by the balancer: ``AsignadoPor`` is exactly 'Balanceador'.

    Exact on both engines: SQL Server's default collations ignore case and trailing spaces, so a
    hand-typed 'balanceador ' would count as the balancer's there (and could be deleted by it) but
    not on SQLite. A binary collation plus the byte length make the T-SQL test exact."""
    if dialecto == sentencias.TSQL:
        nbytes = 2 * len(ASIGNADO_POR_BALANCEADOR)
        return (f"({alias}AsignadoPor COLLATE Latin1_General_BIN2 = N'{ASIGNADO_POR_BALANCEADOR}' "
                f"AND DATALENGTH({alias}AsignadoPor) = {nbytes})")
    return f"{alias}AsignadoPor = '{ASIGNADO_POR_BALANCEADOR}'"


# B11: each robot's pool and whether that pool is active (NULL PoolId = the general pool, active).
_ROBOTS = """SELECT r.RobotId, r.Robot, r.Activo, r.EsOnline, r.ExisteEnA360, r.MinEquipos, r.MaxEquipos,
       r.PrioridadBalanceo, r.TicketsPorEquipoAdicional, r.PoolId,
       CASE WHEN r.PoolId IS NULL OR p.Activo = 1 THEN 1 ELSE 0 END AS PoolActivo
FROM {t}Robots r
LEFT JOIN {t}Pools p ON p.PoolId = r.PoolId
WHERE r.Activo = 1
   OR EXISTS (SELECT 1 FROM {t}Asignaciones a
              WHERE a.RobotId = r.RobotId AND {propia})"""

# B4: the pool. The parentheses matter: the original's AND/OR precedence let every equipo in.
# B11: the equipo's pool; an inactive pool's equipos are read (PoolActivo = 0) so that the planner
# releases their rows with the reason POOL_INACTIVO, and never balances them.
_POOL = """SELECT e.EquipoId, e.Equipo, e.Licencia, e.Activo_SAM, e.PermiteBalanceoDinamico, e.EstadoA360,
       e.UsuarioActivoA360, e.PoolId, CASE WHEN e.PoolId IS NULL OR p.Activo = 1 THEN 1 ELSE 0 END AS PoolActivo
FROM {t}Equipos e
LEFT JOIN {t}Pools p ON p.PoolId = e.PoolId
WHERE UPPER({trim}) IN ({{marcas}})
  AND e.Activo_SAM = 1
  AND e.PermiteBalanceoDinamico = 1
  AND e.EstadoA360 = 'CONNECTED'
  AND e.UsuarioActivoA360 = 1
  AND NOT EXISTS (SELECT 1 FROM {t}Asignaciones a
                  WHERE a.EquipoId = e.EquipoId
                    AND (a.Reservado = 1 OR a.EsProgramado = 1 OR NOT {propia}))"""

# B14: read every cycle (a new row takes effect on the next cycle without a restart).
_MAPEO = """SELECT m.Proveedor, m.NombreExterno, m.RobotId
FROM {t}MapeoRobots m"""

# Pool names, for the dry run's "Pool" column.
_POOLS = """SELECT p.PoolId, p.Nombre, p.Activo
FROM {t}Pools p"""

_ASIGNACIONES = """SELECT a.RobotId, a.EquipoId, a.AsignadoPor, a.Reservado, a.EsProgramado
FROM {t}Asignaciones a"""

# The launcher's "busy" rule (one home: common.database.ocupacion), with the same UNKNOWN cut-off.
_OCUPADOS = """SELECT DISTINCT e.EquipoId
FROM {t}Ejecuciones e
WHERE {ocupada}"""

# B9: only the balancer's own rows are ever removed.
_BORRAR = """DELETE FROM {t}Asignaciones
WHERE RobotId = ? AND EquipoId = ? AND {propia_sin_alias} AND Reservado = 0 AND EsProgramado = 0"""

# Skipped if the row exists or the equipo got a manual/reserved/scheduled row meanwhile; on SQL
# Server the guard locks what it checks (key range included) until the transaction ends.
_INSERTAR = """INSERT INTO {t}Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, AsignadoPor)
SELECT ?, ?, 0, 0, ?, '{balanceador}'
WHERE NOT EXISTS (SELECT 1 FROM {t}Asignaciones a{bloqueo}
                  WHERE a.EquipoId = ?
                    AND (a.RobotId = ? OR a.Reservado = 1 OR a.EsProgramado = 1
                         OR NOT {propia}))"""

_DIALECTO = {
    sentencias.TSQL: {"t": "dbo.", "trim": "LTRIM(RTRIM(e.Licencia))", "bloqueo": " WITH (UPDLOCK, HOLDLOCK)"},
    sentencias.SQLITE: {"t": "", "trim": "TRIM(e.Licencia)", "bloqueo": ""},
}


def _registrar(nombre: str, plantilla: str) -> None:
    textos = {}
    for dialecto, campos in _DIALECTO.items():
        textos[dialecto] = plantilla.format(
            **campos,
            propia=es_del_balanceador("a.", dialecto),
            propia_sin_alias=es_del_balanceador("", dialecto),
            ocupada=ocupa_equipo("e.", "?", dialecto),
            balanceador=ASIGNADO_POR_BALANCEADOR,
        )
    sentencias.registrar(f"balanceador.{nombre}", tsql=textos[sentencias.TSQL], sqlite=textos[sentencias.SQLITE])


_registrar("robots", _ROBOTS)
# Read only when a source reports a name no active robot takes: "inactive" or "unknown name".
_registrar("robots_inactivos", "SELECT RobotId, Robot FROM {t}Robots WHERE Activo = 0")
_registrar("pool", _POOL)
_registrar("asignaciones", _ASIGNACIONES)
_registrar("mapeo_robots", _MAPEO)
_registrar("pools", _POOLS)
_registrar("equipos_ocupados", _OCUPADOS)
_registrar("borrar_asignacion", _BORRAR)
_registrar("insertar_asignacion", _INSERTAR)


def _sql(db: Any, nombre: str, **campos: Any) -> str:
    return sentencias.sql(db, f"balanceador.{nombre}", **campos)


def _b(v: Any) -> bool:
    return bool(int(v)) if v is not None else False


@dataclass(frozen=True)
class Lectura:
    robots: list[RobotBalanceo]
    pool: list[EquipoPool]
    asignaciones: list[Asignacion]
    ocupados: frozenset[int]
    mapeo: list[tuple[str, str, int]] = field(default_factory=list)  # MapeoRobots (B14)
    pools: dict[int, str] = field(default_factory=dict)  # PoolId -> Nombre (the dry run's "Pool" column)


def leer_robots(db: Any) -> list[RobotBalanceo]:
    out = []
    for f in db.query(_sql(db, "robots")):
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
            pool_id=int(f["PoolId"]) if f["PoolId"] is not None else None,
            pool_activo=_b(f["PoolActivo"]),
        ))
    return out


def leer_robots_inactivos(db: Any) -> list[RobotBalanceo]:
    return [RobotBalanceo(int(f["RobotId"]), str(f["Robot"] or ""), activo=False)
            for f in db.query(_sql(db, "robots_inactivos"))]


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
            pool_id=int(f["PoolId"]) if f["PoolId"] is not None else None,
            pool_activo=_b(f["PoolActivo"]),
        )
        for f in db.query(_sql(db, "pool", marcas=len(lic)), lic)
    ]


def leer_asignaciones(db: Any) -> list[Asignacion]:
    return [
        Asignacion(int(f["RobotId"]), int(f["EquipoId"]), f["AsignadoPor"], _b(f["Reservado"]), _b(f["EsProgramado"]))
        for f in db.query(_sql(db, "asignaciones"))
    ]


def leer_mapeo(db: Any) -> list[tuple[str, str, int]]:
    """MapeoRobots: (Proveedor, NombreExterno, RobotId) rows (B14)."""
    return [(str(f["Proveedor"] or ""), str(f["NombreExterno"] or ""), int(f["RobotId"]))
            for f in db.query(_sql(db, "mapeo_robots"))]


def leer_pools(db: Any) -> dict[int, str]:
    return {int(f["PoolId"]): str(f["Nombre"] or "") for f in db.query(_sql(db, "pools"))}


def leer_ocupados(db: Any, limite_unknown: datetime | None = None) -> frozenset[int]:
    """Equipos busy by the launcher's rule; ``limite_unknown``: an UNKNOWN row older than this no
    longer counts (now − ``CONCILIADOR_TOLERANCIA_UNKNOWN_MIN``; None: UNKNOWN rows always count)."""
    limite = (limite_unknown or _SIN_CADUCIDAD_UNKNOWN).replace(microsecond=0, tzinfo=None)
    return frozenset(int(f["EquipoId"]) for f in db.query(_sql(db, "equipos_ocupados"), (limite,)))


def leer_todo(db: Any, licencias: Sequence[str], limite_unknown: datetime | None = None) -> Lectura:
    """The planner's DB inputs, the name mapping and the pool names (six statements)."""
    return Lectura(leer_robots(db), leer_pool(db, licencias), leer_asignaciones(db),
                   leer_ocupados(db, limite_unknown), leer_mapeo(db), leer_pools(db))


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
            tx.executemany(_sql(tx, "borrar_asignacion"), borrar)
        if insertar:
            tx.executemany(_sql(tx, "insertar_asignacion"), insertar)
        return historico_client.insertar(tx, plan.acciones, now)

    n = db.run_in_transaction(_tx)
    _log.debug("Plan aplicado: %d filas borradas, %d insertadas, %d de histórico (%s)", len(borrar),
               len(insertar), n, ASIGNADO_POR_BALANCEADOR)
    return n
