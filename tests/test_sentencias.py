"""The SQL registry (common/database/sentencias.py): one home for every statement a service runs,
both dialects side by side, and a guard that fails a test whose service code runs anything else."""

from __future__ import annotations

import pytest

from common.database import sentencias
from common.database.sql_client import DatabaseClient
from tests.registro_sql import RAIZ, Vigilante


class _Motor:
    def __init__(self, engine: str) -> None:
        self.engine = engine


def test_dialect_follows_the_engine_and_templates_render_parameter_lists():
    s = sentencias.registrar(
        "prueba.en_lista", tsql="SELECT 1 FROM dbo.T WHERE Id IN ({marcas})",
        sqlite="SELECT 1 FROM T WHERE Id IN ({marcas})",
    )
    assert s.modulo == __name__
    assert sentencias.sql(_Motor("sqlserver"), "prueba.en_lista", marcas=3) == (
        "SELECT 1 FROM dbo.T WHERE Id IN (?, ?, ?)"
    )
    # sqlite and the unixODBC+SQLite test engine use SQLite's dialect
    for engine in ("sqlite", "odbc"):
        assert sentencias.sql(_Motor(engine), "prueba.en_lista", marcas=1) == "SELECT 1 FROM T WHERE Id IN (?)"
    assert sentencias.es_conocido("SELECT 1 FROM dbo.T WHERE Id IN (?, ?, ?)")
    assert not sentencias.es_conocido("SELECT 1 FROM dbo.T WHERE Id IN (?, ?)")


def test_a_name_cannot_be_registered_twice_with_another_text_and_unknown_names_fail():
    sentencias.registrar("prueba.unica", tsql="SELECT 1", sqlite="SELECT 1")
    sentencias.registrar("prueba.unica", tsql="SELECT 1", sqlite="SELECT 1")  # same texts: idempotent
    with pytest.raises(ValueError):
        sentencias.registrar("prueba.unica", tsql="SELECT 2", sqlite="SELECT 1")
    with pytest.raises(LookupError):
        sentencias.sql(_Motor("sqlite"), "prueba.no_existe")
    sentencias.registrar("prueba.solo_sqlite", tsql=None, sqlite="PRAGMA user_version")
    with pytest.raises(LookupError):
        sentencias.sql(_Motor("sqlserver"), "prueba.solo_sqlite")


def test_ejecutar_counts_rows_the_same_way_on_both_dialects(db):
    """A T-SQL text of several statements reports its count with SELECT @@ROWCOUNT (pyodbc's rowcount is
    not reliable there); SQLite counts a WITH-prefixed write too (sqlite3 itself reports -1)."""
    sentencias.registrar(
        "prueba.marcar_robots", filas="select",
        tsql="DECLARE @n INT = ?;\nUPDATE dbo.Robots SET Activo = 0 WHERE RobotId > @n;\nSELECT @@ROWCOUNT AS Filas;",
        sqlite="WITH prm AS (SELECT ? AS n)\nUPDATE Robots SET Activo = 0 WHERE RobotId > (SELECT n FROM prm)",
    )
    db.executemany("INSERT INTO Robots (RobotId, Robot) VALUES (?, ?)", [(i, f"R{i}") for i in range(1, 6)])
    assert sentencias.ejecutar(db, "prueba.marcar_robots", (2,)) == 3

    class TsqlFalso:
        engine = "sqlserver"

        def __init__(self):
            self.enviado = []

        def query_one(self, sql, params=()):
            self.enviado.append(("query_one", sql, tuple(params)))
            return {"Filas": 7}

    falso = TsqlFalso()
    assert sentencias.ejecutar(falso, "prueba.marcar_robots", (2,)) == 7
    assert falso.enviado[0][0] == "query_one" and falso.enviado[0][1].endswith("SELECT @@ROWCOUNT AS Filas;")


def test_every_service_module_registers_its_statements():
    nombres = {s.nombre for s in sentencias.cargar_todo()}
    for esperado in ("ejecuciones.aplicar_estado", "inventario.sincronizar_equipos", "seleccion.obtener_robots_ejecutables",
                     "balanceador.insertar_asignacion", "historico.insertar", "rpa360.tickets_pendientes",
                     "esquema.script_sqlite", "robots.parametros"):
        assert esperado in nombres
    for s in sentencias.todas():
        assert s.tsql is not None or s.sqlite is not None


def _ejecutar_desde(archivo, db, texto):
    """Run ``db.query(texto)`` from code whose file is ``archivo`` (a service module or a test)."""
    codigo = compile("def correr(db, texto):\n    return db.query(texto)\n", str(archivo), "exec")
    espacio: dict = {}
    exec(codigo, espacio)  # noqa: S102 - test helper: a function "defined" in another file
    return espacio["correr"](db, texto)


def test_guard_flags_unregistered_sql_run_by_service_code_only(tmp_path, _solo_sentencias_registradas):
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "g.db")
    vigilante = Vigilante()
    from common.database.sql_client import OBSERVADORES_SQL

    OBSERVADORES_SQL.append(vigilante)
    try:
        _ejecutar_desde(RAIZ / "lanzador" / "service" / "falso.py", db, "SELECT 42 AS n")
        _ejecutar_desde(RAIZ / "tests" / "falso.py", db, "SELECT 43 AS n")  # a test may
        _ejecutar_desde(RAIZ / "demo" / "falso.py", db, "SELECT 44 AS n")  # the demo too
        registrado = sentencias.registrar("prueba.consulta", tsql="SELECT 45 AS n", sqlite="SELECT 45 AS n")
        _ejecutar_desde(RAIZ / "balanceador" / "falso.py", db, registrado.sqlite)
    finally:
        OBSERVADORES_SQL.remove(vigilante)
        db.close_all()
    violaciones = vigilante.tomar()
    assert [(o.split(":")[0], t) for o, t in violaciones] == [("lanzador/service/falso.py", "SELECT 42 AS n")]
    # the suite's own guard saw it too; this test's violation is deliberate
    assert [t for _, t in _solo_sentencias_registradas.tomar()] == ["SELECT 42 AS n"]
