"""HistoricoBalanceo for the balancer: the cooling history read at start-up (B7) and the rows
written by each applied cycle (B9). Both dialects side by side in the SQL registry (``historico.*``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from balanceador.modelo import MOTIVOS_COOLING, Accion
from common.database import sentencias

_MOTIVOS = ",".join(f"'{m}'" for m in MOTIVOS_COOLING)

_ULTIMOS = """SELECT h.RobotId, h.AccionTomada, h.FechaBalanceo, h.TicketsPendientes, h.CodigoMotivo
FROM {p}HistoricoBalanceo h
INNER JOIN (
    SELECT RobotId, AccionTomada, MAX(HistoricoId) AS UltimoId
    FROM {p}HistoricoBalanceo
    WHERE FechaBalanceo >= ?
      AND AccionTomada IN ('ASIGNAR', 'DESASIGNAR')
      AND (CodigoMotivo IS NULL OR CodigoMotivo IN ({motivos}))
    GROUP BY RobotId, AccionTomada
) u ON u.UltimoId = h.HistoricoId"""

# EquipoIds may exceed 2,000 characters: pyodbc would send it as ntext, so T-SQL casts it ({ids}).
_INSERTAR = """INSERT INTO {p}HistoricoBalanceo
    (FechaBalanceo, RobotId, TicketsPendientes, EquiposAsignadosAntes, EquiposAsignadosDespues,
     AccionTomada, Justificacion, CodigoMotivo, EquipoIds, PoolId)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, {ids}, ?)"""

for _nombre, _plantilla in (("ultimos_cambios", _ULTIMOS), ("insertar", _INSERTAR)):
    sentencias.registrar(
        f"historico.{_nombre}",
        tsql=_plantilla.format(p="dbo.", motivos=_MOTIVOS, ids="CAST(? AS NVARCHAR(4000))"),
        sqlite=_plantilla.format(p="", motivos=_MOTIVOS, ids="?"),
    )


def _sql(db: Any, name: str) -> str:
    return sentencias.sql(db, f"historico.{name}")


def ultimos_cambios(db: Any, now: datetime, periodo_seg: float) -> list[dict]:
    """The last ticket-driven change per robot and direction inside the cooling period."""
    desde = now - timedelta(seconds=max(0.0, float(periodo_seg)) + 1)
    return db.query(_sql(db, "ultimos_cambios"), (desde,))


def filas_historico(acciones: Iterable[Accion], now: datetime) -> list[tuple]:
    return [
        (now, a.robot_id, a.tickets, a.antes, a.despues, a.accion, a.justificacion[:1000], a.codigo_motivo,
         ",".join(str(e) for e in a.equipo_ids)[:4000], a.pool_id)
        for a in acciones
    ]


def insertar(tx: Any, acciones: Iterable[Accion], now: datetime) -> int:
    """One statement (executemany) for every history row of the cycle."""
    filas = filas_historico(acciones, now)
    if filas:
        tx.executemany(_sql(tx, "insertar"), filas)
    return len(filas)
