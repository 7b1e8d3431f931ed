"""HistoricoBalanceo for the balancer: the cooling history read at start-up (B7) and the rows
written by each applied cycle (B9). Both engines side by side; T-SQL in ``TSQL_STATEMENTS``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from balanceador.service.balanceo import MOTIVOS_COOLING, Accion

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

_INSERTAR = """INSERT INTO {p}HistoricoBalanceo
    (FechaBalanceo, RobotId, TicketsPendientes, EquiposAsignadosAntes, EquiposAsignadosDespues,
     AccionTomada, Justificacion, CodigoMotivo, EquipoIds)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""

_SQL: dict[str, dict[str, str]] = {
    eng: {
        "historico_ultimos_cambios": _ULTIMOS.format(p=p, motivos=_MOTIVOS),
        "historico_insertar": _INSERTAR.format(p=p),
    }
    for eng, p in (("sqlserver", "dbo."), ("sqlite", ""))
}

TSQL_STATEMENTS: dict[str, str] = dict(_SQL["sqlserver"])


def _sql(db: Any, name: str) -> str:
    return _SQL["sqlserver" if db.engine == "sqlserver" else "sqlite"][name]


def ultimos_cambios(db: Any, now: datetime, periodo_seg: float) -> list[dict]:
    """The last ticket-driven change per robot and direction inside the cooling period."""
    desde = now - timedelta(seconds=max(0.0, float(periodo_seg)) + 1)
    return db.query(_sql(db, "historico_ultimos_cambios"), (desde,))


def filas_historico(acciones: Iterable[Accion], now: datetime) -> list[tuple]:
    return [
        (now, a.robot_id, a.tickets, a.antes, a.despues, a.accion, a.justificacion[:1000], a.codigo_motivo,
         ",".join(str(e) for e in a.equipo_ids)[:4000])
        for a in acciones
    ]


def insertar(tx: Any, acciones: Iterable[Accion], now: datetime) -> int:
    """One statement (executemany) for every history row of the cycle."""
    filas = filas_historico(acciones, now)
    if filas:
        tx.executemany(_sql(tx, "historico_insertar"), filas)
    return len(filas)
