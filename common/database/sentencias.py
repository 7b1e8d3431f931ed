"""The one registry of the SQL statements SAM runs (ARCHITECTURE §8.3).

Every statement a service sends to a database is registered here once, by name, with its T-SQL
text (SQL Server through pyodbc) and its SQLite text side by side. Call sites never hold SQL
text of their own: they ask for it by name with :func:`sql` (or run it with :func:`ejecutar`),
and the dialect follows the client's engine.

Why one registry:

- the static checks of the test suite (sqlfluff parse, sqlglot column resolution, the pyodbc
  lints) iterate :func:`todas`, so a statement cannot escape them;
- :func:`es_conocido` tells whether a text came from the registry; the test suite installs an
  observer on ``DatabaseClient`` and fails a test whose service code runs any other SQL;
- a reviewer sees both dialects of a statement together.

Per-table modules (``common/database/ejecuciones.py``, the launcher's and the balancer's
``database/`` packages…) register their statements when imported. A statement that exists in
one dialect only (``PRAGMA`` on SQLite, a procedure call on SQL Server) registers ``None`` for
the other; asking for it on that engine is a programming error.

Templates: a text may hold ``{marcas}`` (a list of ``?`` of variable length, for ``IN (…)``)
or other ``{name}`` fields filled from constants of the code (never from input). The rendered
texts are remembered as known.

Row counts: pyodbc's ``cursor.rowcount`` is only trustworthy for a single-statement batch. A
T-SQL text that needs more than one statement (a typed ``DECLARE`` first, for instance) ends with
``SELECT @@ROWCOUNT AS Filas`` and is registered with ``filas="select"``; :func:`ejecutar` returns
the affected rows the same way on both engines.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

TSQL = "tsql"
SQLITE = "sqlite"
DIALECTOS = (TSQL, SQLITE)


@dataclass(frozen=True)
class Sentencia:
    nombre: str
    tsql: str | None
    sqlite: str | None
    modulo: str
    #: How a write reports its affected rows on T-SQL: "rowcount" or "select" (see module doc).
    filas: str = "rowcount"

    def texto(self, dialecto: str, **campos: Any) -> str:
        plantilla = self.tsql if dialecto == TSQL else self.sqlite
        if plantilla is None:
            raise LookupError(f"la sentencia {self.nombre!r} no existe en el dialecto {dialecto}")
        if not campos:
            return plantilla
        if "marcas" in campos and isinstance(campos["marcas"], int):
            campos = {**campos, "marcas": ", ".join("?" * max(1, campos["marcas"]))}
        return plantilla.format(**campos)


_REGISTRO: dict[str, Sentencia] = {}
_CONOCIDOS: set[str] = set()
_LOCK = threading.Lock()


def registrar(
    nombre: str,
    *,
    tsql: str | None,
    sqlite: str | None,
    filas: str = "rowcount",
    modulo: str | None = None,
) -> Sentencia:
    """Register a statement (idempotent for the same texts; a different text is an error)."""
    if tsql is None and sqlite is None:
        raise ValueError(f"la sentencia {nombre!r} no tiene texto en ningún dialecto")
    if filas not in ("rowcount", "select"):
        raise ValueError(f"filas debe ser 'rowcount' o 'select' ({nombre!r})")
    s = Sentencia(nombre, tsql, sqlite, modulo or _modulo_llamante(), filas)
    with _LOCK:
        previa = _REGISTRO.get(nombre)
        if previa is not None and (previa.tsql, previa.sqlite) != (tsql, sqlite):
            raise ValueError(f"la sentencia {nombre!r} ya está registrada con otro texto")
        _REGISTRO[nombre] = previa or s
        _CONOCIDOS.update(t for t in (tsql, sqlite) if t is not None)
    return _REGISTRO[nombre]


def _modulo_llamante() -> str:
    import sys

    frame = sys._getframe(2)
    return str(frame.f_globals.get("__name__", "?"))


def dialecto(db: Any) -> str:
    """T-SQL for the ``sqlserver`` engine; SQLite's dialect for ``sqlite`` and for the ODBC test
    engine (unixODBC with the SQLite ODBC driver)."""
    return TSQL if getattr(db, "engine", "sqlserver") == "sqlserver" else SQLITE


def sentencia(nombre: str) -> Sentencia:
    try:
        return _REGISTRO[nombre]
    except KeyError:
        raise LookupError(f"sentencia SQL no registrada: {nombre!r}") from None


def sql(db: Any, nombre: str, **campos: Any) -> str:
    """The text of ``nombre`` in the dialect of ``db`` (templates rendered with ``campos``)."""
    texto = sentencia(nombre).texto(dialecto(db), **campos)
    if campos:
        with _LOCK:
            _CONOCIDOS.add(texto)
    return texto


def ejecutar(db: Any, nombre: str, params: tuple | list = (), **campos: Any) -> int:
    """Run a write and return the rows it affected, the same way on both engines."""
    s = sentencia(nombre)
    texto = sql(db, nombre, **campos)
    if s.filas == "select" and dialecto(db) == TSQL:
        fila = db.query_one(texto, params)
        return int(next(iter(fila.values()))) if fila else 0
    return int(db.execute(texto, params))


def todas() -> list[Sentencia]:
    """Every registered statement (import the modules first: see :func:`cargar_todo`)."""
    with _LOCK:
        return sorted(_REGISTRO.values(), key=lambda s: s.nombre)


def es_conocido(texto: str) -> bool:
    with _LOCK:
        return texto in _CONOCIDOS


#: Packages whose modules may register statements (scanned by :func:`cargar_todo`).
PAQUETES = ("common", "lanzador", "balanceador", "callback", "consola")


def cargar_todo() -> list[Sentencia]:
    """Import every module of the service packages that registers statements; return them all."""
    import importlib
    from pathlib import Path

    raiz = Path(__file__).resolve().parents[2]
    for paquete in PAQUETES:
        for ruta in sorted((raiz / paquete).rglob("*.py")):
            if "registrar(" not in ruta.read_text(encoding="utf-8") or ruta.resolve() == Path(__file__).resolve():
                continue
            partes = list(ruta.relative_to(raiz).with_suffix("").parts)
            if partes[-1] == "__init__":
                partes.pop()
            importlib.import_module(".".join(partes))
    return todas()
