"""Create or check the SAM schema.

- SQLite: ``ensure_schema`` first adds to existing tables any column a newer version introduced
  (so the indexes of the script can use it), then applies ``common/database/sam_sqlite.sql``
  (idempotent, atomic).
- SQL Server: the schema is installed by an operator with ``SAM.sql`` (repo root); here we only
  check that the tables exist and log an error naming ``SAM.sql`` when some are missing.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path

from common.database import sentencias
from common.database.sql_client import DatabaseClient

logger = logging.getLogger("sam.database.schema")

SQLITE_SCHEMA_FILE: Path = Path(__file__).resolve().parent / "sam_sqlite.sql"

TABLES: tuple[str, ...] = (
    "Robots",
    "Equipos",
    "Programaciones",
    "Asignaciones",
    "Ejecuciones",
    "HistoricoBalanceo",
    "ErrorLog",
    "CallbacksRecibidos",
    "Ejecuciones_Historico",
    "Mantenimiento",
    "Liderazgo",
    "EstadoServicios",
    "Pools",
    "MapeoRobots",
    "ConfiguracionSistema",
    "Auditoria",
)
VIEWS: tuple[str, ...] = ("AsignacionesView", "EjecucionesActivas", "EquiposAsignados", "EjecucionesTodas")



def sqlite_schema_sql() -> str:
    return SQLITE_SCHEMA_FILE.read_text(encoding="utf-8")


sentencias.registrar(
    "esquema.tablas_existentes",
    tsql=(
        "SELECT TABLE_NAME AS Nombre FROM INFORMATION_SCHEMA.TABLES "
        "WHERE TABLE_SCHEMA = 'dbo' AND TABLE_TYPE = 'BASE TABLE'"
    ),
    sqlite="SELECT name AS Nombre FROM sqlite_master WHERE type = 'table'",
)
# SQLite only: the schema script, and the columns of a table (table names come from TABLES).
sentencias.registrar("esquema.script_sqlite", tsql=None, sqlite=sqlite_schema_sql())
sentencias.registrar("esquema.columnas_sqlite", tsql=None, sqlite="PRAGMA table_info({tabla})")
sentencias.registrar("esquema.anadir_columna_sqlite", tsql=None, sqlite="ALTER TABLE {tabla} ADD COLUMN {definicion}")


def _expected_sqlite_columns() -> dict[str, list[tuple]]:
    """Columns per table as SQLite reports them for a fresh copy of the schema."""
    mem = sqlite3.connect(":memory:")
    try:
        mem.executescript(sqlite_schema_sql())
        return {t: mem.execute(f"PRAGMA table_info({t})").fetchall() for t in TABLES}
    finally:
        mem.close()


_CONSTANT_DEFAULT = re.compile(r"^(-?\d+(\.\d+)?|'[^']*'|NULL)$", re.IGNORECASE)


def _add_missing_sqlite_columns(db: DatabaseClient) -> list[str]:
    added: list[str] = []
    for table, columns in _expected_sqlite_columns().items():
        present = {r["name"] for r in db.query(sentencias.sql(db, "esquema.columnas_sqlite", tabla=table))}
        if not present:
            continue  # the table does not exist yet: the script creates it whole
        for _cid, name, ctype, notnull, default, _pk in columns:
            if name in present:
                continue
            definicion = f"{name} {ctype}"
            if default is not None and _CONSTANT_DEFAULT.match(str(default)):
                definicion += f" DEFAULT {default}"
                if notnull:
                    definicion += " NOT NULL"
            db.execute(sentencias.sql(db, "esquema.anadir_columna_sqlite", tabla=table, definicion=definicion))
            added.append(f"{table}.{name}")
    if added:
        logger.info("Esquema SQLite actualizado: columnas añadidas %s", ", ".join(added))
    return added


def missing_tables(db: DatabaseClient) -> list[str]:
    """Tables of the SAM schema that do not exist in the database."""
    rows = db.query(sentencias.sql(db, "esquema.tablas_existentes"))
    present = {str(r["Nombre"]).lower() for r in rows}
    return [t for t in TABLES if t.lower() not in present]


def ensure_schema(db: DatabaseClient) -> None:
    """SQLite: create every table/index/view (idempotent). SQL Server: check and log."""
    if db.engine == "sqlite":
        _add_missing_sqlite_columns(db)
        db.execute_script(sentencias.sql(db, "esquema.script_sqlite"))
        return
    faltan = missing_tables(db)
    if faltan:
        logger.error(
            "Faltan tablas en la base de datos SAM (%s): %s. Ejecute el script SAM.sql "
            "(raíz del proyecto) en el servidor SQL Server.",
            db.describe(),
            ", ".join(faltan),
        )
