"""The launcher's read of robot settings (``Robots.Parametros``: the typed bot input, L3.2)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from common.database import sentencias

#: Robot ids per read (SQL Server accepts at most 2,100 parameters per statement).
LOTE_IDS = 1000

sentencias.registrar(
    "robots.parametros",
    tsql="SELECT RobotId, Parametros FROM dbo.Robots WHERE RobotId IN ({marcas})",
    sqlite="SELECT RobotId, Parametros FROM Robots WHERE RobotId IN ({marcas})",
)


def parametros(db: Any, robot_ids: Iterable[int]) -> dict[int, Any]:
    """``Parametros`` (raw JSON text or None) of each robot id, in batches of :data:`LOTE_IDS`."""
    ids = sorted({int(i) for i in robot_ids})
    out: dict[int, Any] = {}
    for inicio in range(0, len(ids), LOTE_IDS):
        lote = ids[inicio : inicio + LOTE_IDS]
        rows = db.query(sentencias.sql(db, "robots.parametros", marcas=len(lote)), lote)
        out.update({int(r["RobotId"]): r.get("Parametros") for r in rows})
    return out
