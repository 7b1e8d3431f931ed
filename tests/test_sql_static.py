"""Static T-SQL checks (ARCHITECTURE §4): SAM.sql and every T-SQL statement in the code parse with
sqlfluff (tsql) without unparsable sections, and every column they reference exists in SAM.sql."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.sqlcheck import (
    SAM_SQL_PATH,
    check_tsql,
    column_problems,
    exec_problems,
    extract_dml,
    lint_tsql,
    parse_problems,
    replace_qmarks,
    sam_schema,
    split_batches,
)

ROOT = Path(__file__).resolve().parent.parent


def _registered_statements() -> list[tuple[str, str, str]]:
    """(module, name, T-SQL) of every statement of the SQL registry that exists on SQL Server."""
    from common.database import sentencias

    return [(s.modulo, s.nombre, s.tsql) for s in sentencias.cargar_todo() if s.tsql is not None]


SAM_BATCHES = split_batches(SAM_SQL_PATH.read_text(encoding="utf-8"))


def test_sam_sql_is_utf8_and_uses_go_batches():
    raw = SAM_SQL_PATH.read_bytes()
    raw.decode("utf-8")  # must not raise
    assert len(SAM_BATCHES) > 20


@pytest.mark.parametrize("index", range(len(SAM_BATCHES)))
def test_sam_sql_batch_parses_without_unparsable_section(index):
    batch = SAM_BATCHES[index]
    assert parse_problems(batch) == (), batch[:200]


def test_sam_sql_columns_all_exist_in_schema():
    """Views and procedures of SAM.sql reference only columns that SAM.sql defines."""
    assert column_problems(SAM_SQL_PATH.read_text(encoding="utf-8")) == []


def test_sam_sql_procedure_calls_match_procedure_parameters():
    assert exec_problems(SAM_SQL_PATH.read_text(encoding="utf-8")) == []


def test_checker_fails_on_unknown_or_missing_procedure_parameter():
    assert check_tsql("EXEC dbo.CargarProgramacionDiaria @Robot = ?, @Equipos = ?, @Hora = ?") == [
        "parámetro desconocido en EXEC CargarProgramacionDiaria: @hora",
        "falta el parámetro obligatorio @horainicio en EXEC CargarProgramacionDiaria",
    ]
    assert (
        check_tsql(
            "EXEC dbo.CargarProgramacionDiaria @Robot = ?, @Equipos = ?, @HoraInicio = ?, @Tolerancia = ?"
        )
        == []
    )


def test_tsql_statements_are_discovered():
    found = {(m, n) for m, n, _ in _registered_statements()}
    assert ("common.database.schema", "esquema.tablas_existentes") in found
    assert ("common.database.ejecuciones", "ejecuciones.insertar_intento") in found
    assert ("lanzador.database.inventario", "inventario.sincronizar_equipos") in found
    assert ("lanzador.database.robots", "robots.parametros") in found


_REGISTERED = _registered_statements()


@pytest.mark.parametrize("module,name,sql", _REGISTERED, ids=[n for _, n, _ in _REGISTERED])
def test_registered_tsql_statement_passes_static_checks(module, name, sql):
    assert check_tsql(_rendered(sql)) == [], f"{module}: {name}"


@pytest.mark.parametrize("module,name,sql", _REGISTERED, ids=[n for _, n, _ in _REGISTERED])
def test_registered_tsql_statement_passes_the_pyodbc_lints(module, name, sql):
    """ARCHITECTURE §8.3: typed long text and datetimes, locked guards, dbo., ASCII literals, no
    session-wide SET NOCOUNT (tests/test_sql_lints.py proves each lint fails on its unsafe form)."""
    assert lint_tsql(_rendered(sql), origen="registro") == [], f"{module}: {name}"


def test_sam_sql_passes_the_pyodbc_lints():
    assert lint_tsql(SAM_SQL_PATH.read_text(encoding="utf-8"), origen="sam_sql") == []


def _rendered(sql: str) -> str:
    """A template's ``{marcas}`` list rendered with two parameters, as the static checks see it."""
    return sql.replace("{marcas}", "?, ?")


# --- the checker itself must fail on bad SQL ---------------------------------------------------


def test_checker_fails_on_misspelt_column():
    problems = check_tsql("SELECT EjecucionId, Estdo FROM dbo.Ejecuciones WHERE DeploymentId = ?")
    assert problems == ["columna desconocida: Estdo"]


def test_checker_fails_on_misspelt_qualified_column_in_join_update_insert_and_merge():
    assert check_tsql(
        "SELECT c.CallbackId FROM dbo.CallbacksRecibidos AS c "
        "INNER JOIN dbo.Ejecuciones AS e ON e.DeploymentID2 = c.DeploymentId"
    ) == ["columna desconocida: e.DeploymentID2"]
    assert check_tsql("UPDATE dbo.Robots SET EsOnlin = 1 WHERE RobotId = ?") == [
        "columna desconocida: EsOnlin"
    ]
    assert check_tsql("INSERT INTO dbo.ErrorLog (SPNombre, Mensaje) VALUES (?, ?)") == [
        "columna desconocida: dbo.ErrorLog.Mensaje"
    ]
    merge = (
        "MERGE dbo.Robots WITH (HOLDLOCK) AS t USING (SELECT j.RobotId, j.Robot FROM OPENJSON(?) "
        "WITH (RobotId INT '$.RobotId', Robot NVARCHAR(100) '$.Robot') AS j) AS s "
        "ON t.RobotId = s.RobotId WHEN MATCHED THEN UPDATE SET t.Nombre = s.Robot "
        "WHEN NOT MATCHED BY TARGET THEN INSERT (RobotId, Robot) VALUES (s.RobotId, s.Robot);"
    )
    assert check_tsql(merge) == ["columna desconocida: t.Nombre"]
    assert check_tsql(merge.replace("t.Nombre", "t.Robot")) == []


def test_checker_fails_on_unknown_alias_and_unknown_table():
    assert check_tsql("SELECT x.RobotId FROM dbo.Robots AS r") == [
        "alias o tabla desconocida: x (en x.RobotId)"
    ]
    assert check_tsql("SELECT RobotId FROM dbo.Robotz") == ["tabla o vista desconocida: dbo.Robotz"]


def test_checker_fails_on_misspelt_column_inside_a_procedure_of_sam_sql():
    text = SAM_SQL_PATH.read_text(encoding="utf-8")
    needle = "a.AsignadoPor = N'Programacion',"
    assert needle in text
    broken = text.replace(needle, "a.AsignadoPorr = N'Programacion',", 1)
    assert "columna desconocida: a.AsignadoPorr" in column_problems(broken)


def test_checker_fails_on_unparsable_sql():
    problems = check_tsql("UPDATE dbo.Robots SET WHERE RobotId = ?")
    assert problems and all(p.startswith(("sqlfluff", "sqlglot")) for p in problems)
    assert any("no analizable" in p or "unparsable" in p for p in problems)
    assert check_tsql("SELECT RobotId FROM dbo.Robots WHERE (RobotId = ?")


def test_checker_accepts_ctes_derived_tables_variables_and_correlation():
    sql = """
    DECLARE @Lista TABLE (Nombre NVARCHAR(100) NOT NULL, EquipoId INT NULL);
    WITH Libres AS (
        SELECT e.EquipoId AS Id, e.UserId FROM dbo.Equipos AS e
        WHERE NOT EXISTS (SELECT 1 FROM dbo.Ejecuciones AS x WHERE x.EquipoId = e.EquipoId)
    )
    SELECT d.Id, d.UserId, l.Nombre, s.value
    FROM (SELECT Id, UserId FROM Libres) AS d
    INNER JOIN @Lista AS l ON l.EquipoId = d.Id
    CROSS APPLY STRING_SPLIT(l.Nombre, N',') AS s
    ORDER BY d.Id;
    """
    assert check_tsql(sql) == []
    assert check_tsql(sql.replace("l.Nombre, s.value", "l.Nombr, s.value")) == [
        "columna desconocida: l.Nombr"
    ]


def test_qmarks_become_variables_outside_strings():
    assert (
        replace_qmarks("SELECT '?' AS q WHERE a = ? AND b = ?") == "SELECT '?' AS q WHERE a = @p1 AND b = @p2"
    )


def test_dml_extraction_finds_statements_inside_procedures():
    batch = next(b for b in SAM_BATCHES if "PROCEDURE dbo.AsignarRobotOnline" in b)
    stmts = extract_dml(batch)
    assert any(s.startswith("UPDATE dbo.Robots") for s in stmts)
    assert any(s.startswith("INSERT INTO dbo.Asignaciones") for s in stmts)


def test_schema_parsed_from_sam_sql_has_every_table_and_view():
    schema = sam_schema()
    for t in (
        "Robots",
        "Equipos",
        "Asignaciones",
        "Ejecuciones",
        "Programaciones",
        "HistoricoBalanceo",
        "ErrorLog",
        "CallbacksRecibidos",
        "AsignacionesView",
        "EjecucionesActivas",
        "EquiposAsignados",
    ):
        assert schema.relation(t), t


def test_static_sql_strings_use_no_obvious_injection():
    """T-SQL registered in code uses qmark parameters, never Python %-formatting placeholders."""
    for module, name, sql in _REGISTERED:
        assert not re.search(r"%\(?\w*\)?s", sql), f"{module}.{name}"
