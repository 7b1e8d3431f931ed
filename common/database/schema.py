"""Create or check the SAM schema.

- SQLite: ``ensure_schema`` first rebuilds every existing table whose stored definition is not the
  one of ``common/database/sam_sqlite.sql`` (an older CHECK, a column added later without its
  default: SQLite cannot ALTER those, so the table is rebuilt the way its manual describes, rows and
  ids kept), adds to the remaining tables any column a newer version introduced (so the indexes of
  the script can use it), then applies the script (idempotent, atomic).
- SQL Server: the schema is installed by an operator with ``SAM.sql`` (repo root); here we only
  check that the tables exist and log an error naming ``SAM.sql`` when some are missing.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from common.database import sentencias
from common.database.sql_client import DatabaseClient, DatabaseError

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
    "UsuariosConsola",
    "SolicitudesServicio",
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


@dataclass(frozen=True)
class TablaEsperada:
    """A table of a fresh copy of the SQLite schema: its stored CREATE text and its columns as
    ``PRAGMA table_info`` reports them (cid, name, type, notnull, default, pk)."""

    ddl: str
    columnas: tuple[tuple, ...]


def _expected_sqlite_tables() -> dict[str, TablaEsperada]:
    mem = sqlite3.connect(":memory:")
    try:
        mem.executescript(sqlite_schema_sql())
        ddl = dict(mem.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
        return {
            t: TablaEsperada(ddl[t], tuple(mem.execute(f"PRAGMA table_info({t})").fetchall()))
            for t in TABLES
            if t in ddl
        }
    finally:
        mem.close()


def _expected_sqlite_columns() -> dict[str, list[tuple]]:
    """Columns per table as SQLite reports them for a fresh copy of the schema."""
    return {t: list(e.columnas) for t, e in _expected_sqlite_tables().items()}


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


# --- rebuilding an outdated SQLite table ---------------------------------------------------
# SQLite's ALTER TABLE cannot change a CHECK, a default or a NOT NULL. A file created by an older
# SAM keeps the definitions it was created with (e.g. the TipoProgramacion CHECK without
# 'RangoMensual', a FechaActualizacion added later with no default), so such a table is rebuilt as
# https://www.sqlite.org/lang_altertable.html ("Making Other Kinds Of Table Schema Changes") says:
# foreign keys off, one transaction: new table, rows copied, old one dropped, new one renamed,
# indexes/triggers/views recreated, foreign_key_check. The texts below are templates filled with
# the schema file's own definitions and the database's stored ones (never with input).
sentencias.registrar(
    "esquema.objetos_sqlite", tsql=None,
    sqlite=(
        "SELECT type AS Tipo, name AS Nombre, tbl_name AS Tabla, sql AS Definicion FROM sqlite_master "
        "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
    ),
)
sentencias.registrar("esquema.claves_ajenas_sqlite", tsql=None, sqlite="PRAGMA foreign_keys = {valor}")
sentencias.registrar("esquema.comprobar_claves_sqlite", tsql=None, sqlite="PRAGMA foreign_key_check")
sentencias.registrar("esquema.crear_tabla_sqlite", tsql=None, sqlite="CREATE TABLE {tabla} {cuerpo}")
sentencias.registrar(
    "esquema.copiar_filas_sqlite", tsql=None,
    sqlite="INSERT INTO {destino} ({columnas}) SELECT {valores} FROM {origen}",
)
sentencias.registrar("esquema.borrar_objeto_sqlite", tsql=None, sqlite='DROP {tipo} "{objeto}"')
sentencias.registrar("esquema.renombrar_tabla_sqlite", tsql=None, sqlite="ALTER TABLE {origen} RENAME TO {destino}")
# A view, trigger or index recreated from the text sqlite_master stored for it.
sentencias.registrar("esquema.recrear_objeto_sqlite", tsql=None, sqlite="{definicion}")
sentencias.registrar("esquema.secuencia_sqlite", tsql=None, sqlite="SELECT seq AS Seq FROM sqlite_sequence WHERE name = ?")
sentencias.registrar(
    "esquema.fijar_secuencia_sqlite", tsql=None,
    sqlite="UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?",
)
sentencias.registrar(
    "esquema.crear_secuencia_sqlite", tsql=None,
    sqlite=(
        "INSERT INTO sqlite_sequence (name, seq) SELECT ?, ? "
        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)"
    ),
)

_LITERAL_O_COMENTARIO = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)
_SUFIJO_NUEVA = "__sam_nueva"


def _compactar(texto: str) -> str:
    texto = re.sub(r"\s+", " ", texto)
    return re.sub(r"\s*([(),])\s*", r"\1", texto).upper()


def forma_canonica(ddl: str) -> str:
    """A CREATE TABLE text reduced to what defines the table: the part from the first parenthesis,
    without comments, whitespace or keyword case (string literals kept as written)."""
    cuerpo = ddl[ddl.index("(") :]
    sin_comentarios = _LITERAL_O_COMENTARIO.sub(
        lambda m: " " if m.group().startswith(("--", "/*")) else m.group(), cuerpo
    )
    partes: list[str] = []
    pos = 0
    for m in _LITERAL_O_COMENTARIO.finditer(sin_comentarios):
        partes += [_compactar(sin_comentarios[pos : m.start()]), m.group()]
        pos = m.end()
    partes.append(_compactar(sin_comentarios[pos:]))
    return "".join(partes).strip()


class _ReconstruccionRechazada(Exception):
    """The rebuilt table would break a foreign key: the transaction is rolled back."""


@dataclass(frozen=True)
class _Objeto:
    tipo: str
    nombre: str
    tabla: str
    definicion: str


def _objetos(db: DatabaseClient) -> list[_Objeto]:
    filas = db.query(sentencias.sql(db, "esquema.objetos_sqlite"))
    return [_Objeto(f["Tipo"], f["Nombre"], f["Tabla"], f["Definicion"]) for f in filas]


def _tabla_guardada(objetos: list[_Objeto], tabla: str) -> _Objeto | None:
    return next((o for o in objetos if o.tipo == "table" and o.nombre.lower() == tabla.lower()), None)


def _columnas_presentes(db: DatabaseClient, tabla: str) -> dict[str, str]:
    """Lower-case name -> name of the columns the table has in the database."""
    filas = db.query(sentencias.sql(db, "esquema.columnas_sqlite", tabla=tabla))
    return {str(f["name"]).lower(): str(f["name"]) for f in filas}


def tablas_desfasadas(guardadas: dict[str, str], esperadas: dict[str, TablaEsperada]) -> list[str]:
    """Pure: the tables whose stored CREATE text (``guardadas``, by table) is not the expected one."""
    return [
        t for t, e in esperadas.items()
        if t in guardadas and forma_canonica(guardadas[t]) != forma_canonica(e.ddl)
    ]


def _valores_a_copiar(esperada: TablaEsperada, presentes: dict[str, str]) -> tuple[list[str], list[str]]:
    """Columns the new table receives from the old one, and the value of each: a NOT NULL column with
    a default takes it for the rows an older version left NULL (a column added without it)."""
    columnas: list[str] = []
    valores: list[str] = []
    for _cid, nombre, _tipo, notnull, default, _pk in esperada.columnas:
        origen = presentes.get(nombre.lower())
        if origen is None:
            continue  # new column: the new table's default fills it
        columnas.append(nombre)
        valores.append(f"COALESCE({origen}, ({default}))" if notnull and default is not None else origen)
    return columnas, valores


def _violaciones(tx: DatabaseClient) -> Counter:
    filas = tx.query(sentencias.sql(tx, "esquema.comprobar_claves_sqlite"))
    return Counter((f["table"], f["parent"], f["fkid"]) for f in filas)


def _secuencia(tx: DatabaseClient, tabla: str, ddl: str) -> int | None:
    if "AUTOINCREMENT" not in ddl.upper():
        return None
    fila = tx.query_one(sentencias.sql(tx, "esquema.secuencia_sqlite"), (tabla,))
    return None if fila is None else int(fila["Seq"])


def _conservar_secuencia(tx: DatabaseClient, tabla: str, seq: int | None) -> None:
    """AUTOINCREMENT: ids of deleted rows are never handed out again, also after the rebuild."""
    if seq is None:
        return
    tx.execute(sentencias.sql(tx, "esquema.fijar_secuencia_sqlite"), (seq, tabla))
    tx.execute(sentencias.sql(tx, "esquema.crear_secuencia_sqlite"), (tabla, seq, tabla))


def _copiar_tabla(tx: DatabaseClient, tabla: str, vieja: _Objeto, esperada: TablaEsperada) -> None:
    nueva = tabla + _SUFIJO_NUEVA
    columnas, valores = _valores_a_copiar(esperada, _columnas_presentes(tx, tabla))
    seq = _secuencia(tx, tabla, vieja.definicion)
    cuerpo = esperada.ddl[esperada.ddl.index("(") :]
    tx.execute(sentencias.sql(tx, "esquema.crear_tabla_sqlite", tabla=nueva, cuerpo=cuerpo))
    tx.execute(sentencias.sql(tx, "esquema.copiar_filas_sqlite", destino=nueva, origen=tabla,
                              columnas=", ".join(columnas), valores=", ".join(valores)))
    tx.execute(sentencias.sql(tx, "esquema.borrar_objeto_sqlite", tipo="TABLE", objeto=tabla))
    tx.execute(sentencias.sql(tx, "esquema.renombrar_tabla_sqlite", origen=nueva, destino=tabla))
    _conservar_secuencia(tx, tabla, seq)


def _reconstruir_en(tx: DatabaseClient, tabla: str, esperada: TablaEsperada) -> bool:
    """Inside the transaction: rebuild ``tabla`` unless another process already did."""
    objetos = _objetos(tx)
    vieja = _tabla_guardada(objetos, tabla)
    if vieja is None or forma_canonica(vieja.definicion) == forma_canonica(esperada.ddl):
        return False
    antes = _violaciones(tx)
    # Renaming checks every view and trigger of the schema: they go first and come back after.
    dependientes = [o for o in objetos if o.tipo in ("view", "trigger")]
    indices = [o for o in objetos if o.tipo == "index" and o.tabla.lower() == tabla.lower()]
    for o in reversed(dependientes):
        tx.execute(sentencias.sql(tx, "esquema.borrar_objeto_sqlite", tipo=o.tipo.upper(), objeto=o.nombre))
    _copiar_tabla(tx, tabla, vieja, esperada)
    for o in indices + dependientes:
        tx.execute(sentencias.sql(tx, "esquema.recrear_objeto_sqlite", definicion=o.definicion))
    nuevas = _violaciones(tx) - antes
    if nuevas:
        detalle = ", ".join(f"{hija} -> {padre}" for hija, padre, _fk in nuevas)
        raise _ReconstruccionRechazada(f"romperia claves ajenas ({detalle})")
    return True


def _columnas_desconocidas(db: DatabaseClient, tabla: str, esperada: TablaEsperada) -> list[str]:
    conocidas = {c[1].lower() for c in esperada.columnas}
    return [n for k, n in _columnas_presentes(db, tabla).items() if k not in conocidas]


def _reconstruir_tabla(db: DatabaseClient, tabla: str, esperada: TablaEsperada) -> bool:
    sobrantes = _columnas_desconocidas(db, tabla, esperada)
    if sobrantes:
        logger.warning(
            "Esquema SQLite: la tabla %s no coincide con la definición de esta versión, pero tiene "
            "columnas que esta versión no conoce (%s); no se reconstruye para no perder datos.",
            tabla, ", ".join(sobrantes),
        )
        return False
    db.execute(sentencias.sql(db, "esquema.claves_ajenas_sqlite", valor="OFF"))
    try:
        with db.transaction() as tx:
            return _reconstruir_en(tx, tabla, esperada)
    except (_ReconstruccionRechazada, DatabaseError) as exc:
        logger.error(
            "Esquema SQLite: no se pudo reconstruir la tabla %s con la definición de esta versión (%s); "
            "se conserva la anterior y se reintentará en el próximo arranque.", tabla, exc,
        )
        return False
    finally:
        db.execute(sentencias.sql(db, "esquema.claves_ajenas_sqlite", valor="ON"))


def _rebuild_outdated_sqlite_tables(db: DatabaseClient) -> list[str]:
    esperadas = _expected_sqlite_tables()
    guardadas = {o.nombre: o.definicion for o in _objetos(db) if o.tipo == "table"}
    guardadas = {t: guardadas[n] for n in guardadas for t in esperadas if n.lower() == t.lower()}
    hechas = [t for t in tablas_desfasadas(guardadas, esperadas) if _reconstruir_tabla(db, t, esperadas[t])]
    if hechas:
        logger.info(
            "Esquema SQLite actualizado: tablas reconstruidas con la definición de esta versión "
            "(restricciones y valores por defecto; filas e ids conservados): %s", ", ".join(hechas),
        )
    return hechas


def missing_tables(db: DatabaseClient) -> list[str]:
    """Tables of the SAM schema that do not exist in the database."""
    rows = db.query(sentencias.sql(db, "esquema.tablas_existentes"))
    present = {str(r["Nombre"]).lower() for r in rows}
    return [t for t in TABLES if t.lower() not in present]


def ensure_schema(db: DatabaseClient) -> None:
    """SQLite: create every table/index/view (idempotent). SQL Server: check and log."""
    if db.engine == "sqlite":
        _rebuild_outdated_sqlite_tables(db)
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
