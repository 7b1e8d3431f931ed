"""The ``rpa360`` ticket source (BEHAVIOUR §7 B2, ARCHITECTURE §4).

SQL Server (production): ``EXEC dbo.usp_obtener_tickets_pendientes_por_robot`` returning the
columns ``Robot``, optional ``RobotId`` and ``CantidadTickets``.
SQLite (demo, tests, ``SQL_RPA360_ENGINE=sqlite``): the same columns from the table
``TicketsPendientesPorRobot`` in ``SQL_RPA360_SQLITE_PATH`` (``RobotId`` only if the column exists).
Both versions sit side by side in the SQL registry (``rpa360.*``).
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from balanceador.clients.base import SourceError, TicketRow
from common.database import sentencias

logger = logging.getLogger("sam.balanceador.fuentes.rpa360")

SQLITE_TABLE = "TicketsPendientesPorRobot"
sentencias.registrar(
    "rpa360.tickets_pendientes",
    tsql="EXEC dbo.usp_obtener_tickets_pendientes_por_robot",
    sqlite="SELECT Robot, CantidadTickets FROM TicketsPendientesPorRobot",
)
# SQLite only: RobotId is read when the table has that column.
sentencias.registrar("rpa360.columnas_sqlite", tsql=None, sqlite="PRAGMA table_info(TicketsPendientesPorRobot)")
sentencias.registrar(
    "rpa360.tickets_pendientes_con_id",
    tsql=None,
    sqlite="SELECT Robot, RobotId, CantidadTickets FROM TicketsPendientesPorRobot",
)


def _lower_keys(row: dict) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in row.items()}


def _as_int(value: Any, what: str, row: dict) -> int:
    if isinstance(value, bool):
        raise SourceError(f"rpa360: {what} no numérico en la fila {row!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise SourceError(f"rpa360: {what} no numérico en la fila {row!r}")


def parse_rows(rows: list[dict]) -> list[TicketRow]:
    """(Robot, RobotId or None, CantidadTickets) from result rows; strict (a bad row fails the read).

    A malformed row fails the whole source rather than being skipped: a skipped row would read as
    "zero tickets" for that robot and could release its equipos (BEHAVIOUR §10).
    """
    out: list[TicketRow] = []
    for raw in rows:
        row = _lower_keys(raw)
        if "cantidadtickets" not in row or "robot" not in row:
            raise SourceError(
                "rpa360: el resultado no tiene las columnas esperadas (Robot, CantidadTickets); "
                f"columnas recibidas: {', '.join(map(str, raw.keys()))}"
            )
        name = row.get("robot")
        robot_id = row.get("robotid")
        robot_id = None if robot_id is None else _as_int(robot_id, "RobotId", raw)
        if name is None:
            if robot_id is None:
                raise SourceError(f"rpa360: fila sin Robot ni RobotId: {raw!r}")
            name = ""
        name = str(name).strip()
        count_raw = row.get("cantidadtickets")
        count = 0 if count_raw is None else _as_int(count_raw, "CantidadTickets", raw)
        if count < 0:
            raise SourceError(f"rpa360: CantidadTickets negativa en la fila {raw!r}")
        out.append((name, robot_id, count))
    return out


class Rpa360Source:
    """Reads pending tickets per robot from the rpa360 database (SQL Server or SQLite)."""

    name = "rpa360"

    def __init__(self, db: Any, *, max_read_seconds: float = 120.0) -> None:
        self._db = db
        self.max_read_seconds = max_read_seconds
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, cfg: Any) -> Rpa360Source:
        from common.database.sql_client import DatabaseClient

        db = DatabaseClient.from_config(cfg, prefix="RPA360")
        bound = 120.0
        try:
            retries = int(cfg.SQL_RPA360_MAX_REINTENTOS_QUERY)
            connect = float(cfg.SQL_RPA360_TIMEOUT_CONEXION_INICIAL)
            delay = float(cfg.SQL_RPA360_DELAY_REINTENTO_QUERY_BASE_SEG)
            bound = (retries + 1) * (connect + 30.0) + delay * (2 ** (retries + 1))
        except Exception:  # missing/odd settings only affect the bound read_all waits for
            logger.debug("No se pudo calcular el tiempo máximo de lectura de rpa360", exc_info=True)
        return cls(db, max_read_seconds=bound)

    @property
    def engine(self) -> str:
        return str(getattr(self._db, "engine", "sqlserver"))

    def read(self) -> list[TicketRow]:
        if not self._lock.acquire(blocking=False):
            raise SourceError("rpa360: la lectura anterior aún no ha terminado")
        try:
            return parse_rows(self._query())
        finally:
            self._lock.release()

    def _query(self) -> list[dict]:
        try:
            if sentencias.dialecto(self._db) == sentencias.TSQL:
                texto = sentencias.sql(self._db, "rpa360.tickets_pendientes")
                return list(self._db.query(texto, require_result_set=True))
            ruta = getattr(self._db, "sqlite_path", None)
            if ruta is not None and not Path(ruta).exists():
                # Checked first: opening a missing file would create an empty one (and its folder).
                raise SourceError(f"rpa360: no existe el archivo SQLite {ruta} (SQL_RPA360_SQLITE_PATH)")
            columnas_sql = sentencias.sql(self._db, "rpa360.columnas_sqlite")
            columns = {str(c.get("name", "")).lower() for c in self._db.query(columnas_sql)}
            if not columns:
                raise SourceError(f"rpa360: la tabla {SQLITE_TABLE} no existe en la base SQLite")
            nombre = "rpa360.tickets_pendientes_con_id" if "robotid" in columns else "rpa360.tickets_pendientes"
            return list(self._db.query(sentencias.sql(self._db, nombre), require_result_set=True))
        except SourceError:
            raise
        except Exception as exc:
            # DatabaseError messages are Spanish and secret-free by contract.
            raise SourceError(f"rpa360: no se pudo leer los tickets pendientes: {exc}") from exc

    def close(self) -> None:
        close_all = getattr(self._db, "close_all", None)
        if callable(close_all):
            close_all()
