"""Lints of the T-SQL forms that break or misbehave under pyodbc / SQL Server (ARCHITECTURE §8.3).

Each lint is pinned by a bad form that it reports (with its code) and the safe form that it does
not. Types come from a small schema script (``SCHEMA``) so the tests do not depend on SAM.sql.
"""

from __future__ import annotations

import pytest

from tests.sqlcheck import (
    LINT_CODES,
    SAM_SQL_PATH,
    declared_type,
    lint_report_sam_sql,
    lint_tsql,
    parse_schema,
    sam_schema,
    tokenize,
)

SCHEMA = parse_schema(
    """
CREATE TABLE dbo.Ejecuciones (
    EjecucionId INT IDENTITY (1, 1) NOT NULL,
    Estado NVARCHAR(50) NOT NULL,
    FechaFin DATETIME2(3) NULL,
    FechaVieja DATETIME NULL,
    FechaCorta SMALLDATETIME NULL,
    FechaSlot DATE NULL,
    MensajeError NVARCHAR(4000) NULL,
    Nota NVARCHAR(2000) NULL,
    Comentario NVARCHAR(3000) NULL,
    CallbackInfo NVARCHAR(MAX) NULL,
    Legado NTEXT NULL,
    Ascii VARCHAR(8000) NULL,
    AsciiCorto VARCHAR(4000) NULL,
    CONSTRAINT PK_Ejecuciones PRIMARY KEY CLUSTERED (EjecucionId)
);
GO
CREATE TABLE dbo.Callbacks (CallbackId INT NOT NULL, Payload NVARCHAR(MAX) NULL);
GO
CREATE TABLE dbo.Asignaciones (RobotId INT NOT NULL, EquipoId INT NOT NULL, Comentario NVARCHAR(100) NULL);
GO
CREATE TABLE dbo.Zonas (ZonaId INT NOT NULL, Comentario NVARCHAR(100) NULL);
GO
IF COL_LENGTH(N'dbo.Callbacks', N'Recibido') IS NULL
ALTER TABLE dbo.Callbacks ADD Recibido DATETIME2(3) NULL;
GO
"""
)


def lint(sql: str, origen: str = "registro") -> list[str]:
    return lint_tsql(sql, origen=origen, schema=SCHEMA)


def codes(sql: str, origen: str = "registro") -> list[str]:
    return [p[1 : p.index("]")] for p in lint(sql, origen)]


# --- bad form reported with its code, safe form not --------------------------------------------

CASES = [
    # 1. OPENJSON with a bare parameter
    (
        "openjson-sin-cast",
        "SELECT j.Id FROM OPENJSON(?) WITH (Id INT '$.Id') AS j",
        "SELECT j.Id FROM OPENJSON(CAST(? AS NVARCHAR(MAX))) WITH (Id INT '$.Id') AS j",
    ),
    (
        "openjson-sin-cast",
        "SELECT j.value FROM OPENJSON(? + N'') AS j",
        "SELECT j.value FROM OPENJSON(CAST(? AS NVARCHAR(MAX)) + N'') AS j",
    ),
    (
        "openjson-sin-cast",
        "SELECT j.value FROM OPENJSON(?, '$.items') AS j",
        "DECLARE @j NVARCHAR(MAX) = ?; SELECT j.value FROM OPENJSON(@j, '$.items') AS j",
    ),
    # 2. long text bound to a bare parameter
    (
        "texto-largo-sin-cast",
        "UPDATE dbo.Ejecuciones SET CallbackInfo = ? WHERE EjecucionId = ?",
        "UPDATE dbo.Ejecuciones SET CallbackInfo = CAST(? AS NVARCHAR(MAX)) WHERE EjecucionId = ?",
    ),
    (
        "texto-largo-sin-cast",
        "UPDATE dbo.Ejecuciones SET MensajeError = COALESCE(?, MensajeError) WHERE EjecucionId = ?",
        "UPDATE dbo.Ejecuciones SET MensajeError = COALESCE(CAST(? AS NVARCHAR(4000)), MensajeError) "
        "WHERE EjecucionId = ?",
    ),
    (
        "texto-largo-sin-cast",
        "SELECT EjecucionId FROM dbo.Ejecuciones WHERE COALESCE(?, CallbackInfo) IS NOT NULL",
        "SELECT EjecucionId FROM dbo.Ejecuciones WHERE COALESCE(CAST(? AS NVARCHAR(MAX)), CallbackInfo) IS NOT NULL",
    ),
    (
        "texto-largo-sin-cast",
        "SELECT e.EjecucionId FROM dbo.Ejecuciones AS e WHERE e.MensajeError <> ?",
        "SELECT e.EjecucionId FROM dbo.Ejecuciones AS e WHERE e.MensajeError <> CAST(? AS NVARCHAR(4000))",
    ),
    (
        "texto-largo-sin-cast",
        "SELECT EjecucionId FROM dbo.Ejecuciones WHERE ? = MensajeError",
        "SELECT EjecucionId FROM dbo.Ejecuciones WHERE CAST(? AS NVARCHAR(4000)) = MensajeError",
    ),
    (
        "texto-largo-sin-cast",
        "SELECT EjecucionId FROM dbo.Ejecuciones WHERE N'Error: ' + MensajeError = ?",
        "SELECT EjecucionId FROM dbo.Ejecuciones WHERE N'Error: ' + MensajeError = CAST(? AS NVARCHAR(4000))",
    ),
    (
        "texto-largo-sin-cast",
        "INSERT INTO dbo.Callbacks (CallbackId, Payload) VALUES (?, ?)",
        "INSERT INTO dbo.Callbacks (CallbackId, Payload) VALUES (?, CAST(? AS NVARCHAR(MAX)))",
    ),
    (
        "texto-largo-sin-cast",
        "INSERT INTO dbo.Callbacks (CallbackId, Payload) SELECT ?, ? WHERE 1 = 1",
        "INSERT INTO dbo.Callbacks (CallbackId, Payload) SELECT ?, CAST(? AS NVARCHAR(MAX)) WHERE 1 = 1",
    ),
    (
        "texto-largo-sin-cast",
        "UPDATE e SET e.CallbackInfo = ? FROM dbo.Ejecuciones AS e WHERE e.EjecucionId = ?",
        "UPDATE e SET e.CallbackInfo = CAST(? AS NVARCHAR(MAX)) FROM dbo.Ejecuciones AS e WHERE e.EjecucionId = ?",
    ),
    (
        "texto-largo-sin-cast",
        "UPDATE dbo.Ejecuciones SET Ascii = ?, Legado = ? WHERE EjecucionId = 1",
        "UPDATE dbo.Ejecuciones SET Ascii = CAST(? AS VARCHAR(8000)), Legado = CAST(? AS NVARCHAR(MAX)) "
        "WHERE EjecucionId = 1",
    ),
    (
        "texto-largo-sin-cast",
        "MERGE dbo.Callbacks AS t USING (SELECT 1 AS Id) AS s ON t.CallbackId = s.Id "
        "WHEN NOT MATCHED THEN INSERT (CallbackId, Payload) VALUES (s.Id, ?);",
        "MERGE dbo.Callbacks AS t USING (SELECT 1 AS Id) AS s ON t.CallbackId = s.Id "
        "WHEN NOT MATCHED THEN INSERT (CallbackId, Payload) VALUES (s.Id, CAST(? AS NVARCHAR(MAX)));",
    ),
    # 3. datetime equality with a bare parameter
    (
        "fecha-igual-parametro",
        "SELECT EjecucionId FROM dbo.Ejecuciones WHERE FechaFin = ?",
        "DECLARE @s DATETIME2(3) = ?; SELECT EjecucionId FROM dbo.Ejecuciones WHERE FechaFin = @s",
    ),
    (
        "fecha-igual-parametro",
        "DELETE FROM dbo.Ejecuciones WHERE EXISTS (SELECT 1 FROM dbo.Ejecuciones AS e WITH (UPDLOCK, HOLDLOCK) "
        "WHERE e.FechaFin <> ?)",
        "DECLARE @s DATETIME2(3) = ?; DELETE FROM dbo.Ejecuciones WHERE EXISTS (SELECT 1 FROM "
        "dbo.Ejecuciones AS e WITH (UPDLOCK, HOLDLOCK) WHERE e.FechaFin <> @s)",
    ),
    (
        "fecha-igual-parametro",
        "SELECT EjecucionId FROM dbo.Ejecuciones WHERE FechaVieja != ?",
        "DECLARE @s DATETIME = ?; SELECT EjecucionId FROM dbo.Ejecuciones WHERE FechaVieja != @s",
    ),
    (
        "fecha-igual-parametro",
        "SELECT EjecucionId FROM dbo.Ejecuciones WHERE ? = FechaCorta",
        "DECLARE @s SMALLDATETIME = ?; SELECT EjecucionId FROM dbo.Ejecuciones WHERE @s = FechaCorta",
    ),
    (
        "fecha-igual-parametro",
        "SELECT EjecucionId FROM dbo.Ejecuciones WHERE FechaFin IN (?, ?)",
        "DECLARE @a DATETIME2(3) = ?, @b DATETIME2(3) = ?; "
        "SELECT EjecucionId FROM dbo.Ejecuciones WHERE FechaFin IN (@a, @b)",
    ),
    (
        "fecha-igual-parametro",
        "SELECT c.CallbackId FROM dbo.Callbacks AS c WHERE c.Recibido NOT IN (?)",
        "DECLARE @s DATETIME2(3) = ?; SELECT c.CallbackId FROM dbo.Callbacks AS c WHERE c.Recibido NOT IN (@s)",
    ),
    # 4. temp table / table variable text columns without COLLATE
    (
        "temporal-sin-collate",
        "CREATE TABLE #T (Nombre NVARCHAR(100) NOT NULL, EquipoId INT NULL);",
        "CREATE TABLE #T (Nombre NVARCHAR(100) COLLATE DATABASE_DEFAULT NOT NULL, EquipoId INT NULL);",
    ),
    (
        "temporal-sin-collate",
        "DECLARE @T TABLE (Dia VARCHAR(10) NOT NULL, PRIMARY KEY (Dia));",
        "DECLARE @T TABLE (Dia VARCHAR(10) COLLATE DATABASE_DEFAULT NOT NULL, PRIMARY KEY (Dia));",
    ),
    (
        "temporal-sin-collate",
        "DECLARE @T AS TABLE (A CHAR(1), B NCHAR(2) COLLATE DATABASE_DEFAULT);",
        "DECLARE @T AS TABLE (A CHAR(1) COLLATE DATABASE_DEFAULT, B NCHAR(2) COLLATE DATABASE_DEFAULT);",
    ),
    # 5. read-then-write guard without UPDLOCK, HOLDLOCK
    (
        "not-exists-sin-bloqueo",
        "INSERT INTO dbo.Asignaciones (RobotId, EquipoId) SELECT ?, ? "
        "WHERE NOT EXISTS (SELECT 1 FROM dbo.Asignaciones AS a WHERE a.EquipoId = ?)",
        "INSERT INTO dbo.Asignaciones (RobotId, EquipoId) SELECT ?, ? "
        "WHERE NOT EXISTS (SELECT 1 FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK) WHERE a.EquipoId = ?)",
    ),
    (
        "not-exists-sin-bloqueo",
        "INSERT INTO dbo.Asignaciones (RobotId, EquipoId) SELECT ?, ? "
        "WHERE NOT EXISTS (SELECT 1 FROM dbo.Asignaciones AS a WITH (UPDLOCK) WHERE a.EquipoId = ?)",
        "INSERT INTO dbo.Asignaciones (RobotId, EquipoId) SELECT ?, ? "
        "WHERE NOT EXISTS (SELECT 1 FROM dbo.Asignaciones AS a WITH (HOLDLOCK, ROWLOCK, UPDLOCK) WHERE a.EquipoId = ?)",
    ),
    (
        "not-exists-sin-bloqueo",
        "DELETE FROM dbo.Asignaciones WHERE EXISTS (SELECT 1 FROM dbo.Ejecuciones AS e WITH (UPDLOCK, HOLDLOCK) "
        "INNER JOIN dbo.Callbacks AS c ON c.CallbackId = e.EjecucionId WHERE e.EjecucionId = ?)",
        "DELETE FROM dbo.Asignaciones WHERE EXISTS (SELECT 1 FROM dbo.Ejecuciones AS e WITH (UPDLOCK, HOLDLOCK) "
        "INNER JOIN dbo.Callbacks AS c WITH (UPDLOCK, HOLDLOCK) ON c.CallbackId = e.EjecucionId "
        "WHERE e.EjecucionId = ?)",
    ),
    (
        "not-exists-sin-bloqueo",
        "UPDATE a SET a.Comentario = N'x' FROM dbo.Asignaciones AS a "
        "WHERE NOT EXISTS (SELECT 1 FROM dbo.Ejecuciones AS e WHERE e.EjecucionId = a.RobotId)",
        "UPDATE a SET a.Comentario = N'x' FROM dbo.Asignaciones AS a "
        "WHERE NOT EXISTS (SELECT 1 FROM dbo.Ejecuciones AS e WITH (UPDLOCK, HOLDLOCK) WHERE e.EjecucionId = a.RobotId)",
    ),
    (
        "not-exists-sin-bloqueo",
        "IF NOT EXISTS (SELECT 1 FROM dbo.Asignaciones WHERE RobotId = @Id)\n"
        "    INSERT INTO dbo.Asignaciones (RobotId, EquipoId) VALUES (@Id, 1);",
        "IF NOT EXISTS (SELECT 1 FROM dbo.Asignaciones WITH (UPDLOCK, HOLDLOCK) WHERE RobotId = @Id)\n"
        "    INSERT INTO dbo.Asignaciones (RobotId, EquipoId) VALUES (@Id, 1);",
    ),
    (
        "not-exists-sin-bloqueo",
        "IF EXISTS (SELECT 1 FROM dbo.Asignaciones AS a WHERE a.RobotId = @Id)\nBEGIN\n"
        "    BEGIN TRANSACTION;\n    UPDATE x SET x.EquipoId = 2 FROM dbo.Asignaciones AS x WHERE x.RobotId = @Id;\n"
        "    COMMIT TRANSACTION;\nEND;",
        "IF EXISTS (SELECT 1 FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK) WHERE a.RobotId = @Id)\nBEGIN\n"
        "    BEGIN TRANSACTION;\n    UPDATE x SET x.EquipoId = 2 FROM dbo.Asignaciones AS x WHERE x.RobotId = @Id;\n"
        "    COMMIT TRANSACTION;\nEND;",
    ),
    # 6. table without schema
    (
        "tabla-sin-esquema",
        "SELECT RobotId FROM Robots WHERE RobotId = ?",
        "SELECT RobotId FROM dbo.Robots WHERE RobotId = ?",
    ),
    (
        "tabla-sin-esquema",
        "DELETE FROM Asignaciones WHERE RobotId = ?",
        "DELETE FROM dbo.Asignaciones WHERE RobotId = ?",
    ),
    ("tabla-sin-esquema", "UPDATE Robots SET Activo = 1", "UPDATE dbo.Robots SET Activo = 1"),
    (
        "tabla-sin-esquema",
        "INSERT INTO Robots (RobotId) VALUES (?)",
        "INSERT INTO dbo.Robots (RobotId) VALUES (?)",
    ),
    (
        "tabla-sin-esquema",
        "SELECT r.RobotId FROM dbo.Robots AS r INNER JOIN [Equipos] AS e ON e.EquipoId = r.RobotId",
        "SELECT r.RobotId FROM dbo.Robots AS r INNER JOIN [dbo].[Equipos] AS e ON e.EquipoId = r.RobotId",
    ),
    (
        "tabla-sin-esquema",
        "SELECT r.RobotId FROM dbo.Robots AS r, Equipos AS e WHERE e.EquipoId = r.RobotId",
        "SELECT r.RobotId FROM dbo.Robots AS r, dbo.Equipos AS e WHERE e.EquipoId = r.RobotId",
    ),
    (
        "tabla-sin-esquema",
        "MERGE Robots AS t USING Equipos AS s ON t.RobotId = s.EquipoId "
        "WHEN NOT MATCHED THEN INSERT (RobotId) VALUES (s.EquipoId);",
        "MERGE dbo.Robots AS t USING dbo.Equipos AS s ON t.RobotId = s.EquipoId "
        "WHEN NOT MATCHED THEN INSERT (RobotId) VALUES (s.EquipoId);",
    ),
    (
        "tabla-sin-esquema",
        "SELECT r.RobotId FROM dbo.Robots AS r WHERE EXISTS (SELECT 1 FROM Asignaciones AS a WHERE a.RobotId = r.RobotId)",
        "SELECT r.RobotId FROM dbo.Robots AS r WHERE EXISTS (SELECT 1 FROM dbo.Asignaciones AS a "
        "WHERE a.RobotId = r.RobotId)",
    ),
    # 8. SET NOCOUNT ON in a registered statement
    (
        "nocount-en-sesion",
        "SET NOCOUNT ON; UPDATE dbo.Robots SET Activo = 1 WHERE RobotId = ?",
        "UPDATE dbo.Robots SET Activo = 1 WHERE RobotId = ?",
    ),
    (
        "nocount-en-sesion",
        "SET NOCOUNT ON;\nEXEC dbo.ObtenerRobotsEjecutables @Ahora = ?",
        "CREATE OR ALTER PROCEDURE dbo.P AS\nBEGIN\n    SET NOCOUNT ON;\n    SELECT 1 AS x;\nEND;",
    ),
]


@pytest.mark.parametrize("code,bad,safe", CASES, ids=[f"{c}-{i}" for i, (c, _b, _s) in enumerate(CASES)])
def test_lint_reports_bad_form_and_not_safe_form(code, bad, safe):
    assert set(codes(bad)) == {code}, lint(bad)
    assert lint(safe) == []


NON_ASCII_CASES = [
    "SELECT p.RobotId FROM dbo.Programaciones AS p WHERE p.DiaSemana = N'SÁ'",
    "SELECT REPLACE(p.DiaSemana, N'Á', N'A') AS d FROM dbo.Programaciones AS p",
    "INSERT INTO dbo.ErrorLog (ErrorMensaje) VALUES (CONCAT(N' (línea ', ERROR_LINE(), N')'))",
    "SET @Otro = N'Día';",
    "DECLARE @Dia NVARCHAR(2) = N'SÁ';",
    "IF @Dia = N'SÁ' THROW 50000, N'x', 1;",
    "SELECT N'Á' AS Canario;\n-- sam-lint: canario-codificacion",
]


@pytest.mark.parametrize("origen", ["registro", "sam_sql"])
@pytest.mark.parametrize("bad", NON_ASCII_CASES)
def test_non_ascii_literal_is_reported(bad, origen):
    problems = lint(bad, origen)
    assert [p for p in problems if p.startswith("[literal-no-ascii]")], problems


def test_non_ascii_safe_form_uses_nchar():
    assert lint("SELECT p.RobotId FROM dbo.Programaciones AS p WHERE p.DiaSemana = N'S' + NCHAR(193)") == []


MESSAGE_TEXTS = [
    "THROW 50001, N'El parámetro @Robot es obligatorio (nombre o RobotId).', 1;",
    "IF @x IS NULL\n    THROW 50002, N'El robot no está.', 1;",
    "RAISERROR(N'Día no válido: %s', 16, 1, @Dia);",
    "PRINT N'Esquema SAM aplicado: versión 2.';",
    "SET @Mensaje = CONCAT(N'El equipo ''', @Desconocido, N''' no existe en dbo.Equipos (ámbito).');",
    "DECLARE @MensajeError NVARCHAR(200) = N'Día de la semana no válido';",
    "SELECT N'Á' AS Canario; -- sam-lint: canario-codificacion",
]


@pytest.mark.parametrize("text", MESSAGE_TEXTS)
def test_non_ascii_is_allowed_in_messages_and_canaries_of_sam_sql_only(text):
    assert "literal-no-ascii" not in codes(text, "sam_sql"), lint(text, "sam_sql")
    assert "literal-no-ascii" in codes(text, "registro")


def test_non_ascii_message_names_the_nchar_replacement():
    (problem,) = lint("SELECT 1 AS x WHERE N'SÁ' = N'SA'")
    assert problem.startswith("[literal-no-ascii] ")
    assert "Á = NCHAR(193)" in problem and "N'SÁ'" in problem


# --- forms that must not be reported -----------------------------------------------------------

NOT_REPORTED = [
    # texto-largo-sin-cast: short columns, the 2000-character boundary, unresolvable columns
    "UPDATE dbo.Ejecuciones SET Estado = ?, Nota = ?, AsciiCorto = ? WHERE Estado <> ?",
    "SELECT a.RobotId FROM dbo.Asignaciones AS a WHERE a.Comentario = ?",
    "SELECT 1 AS x FROM dbo.Ejecuciones AS e INNER JOIN dbo.Zonas AS z ON 1 = 1 WHERE Comentario = ?",
    "SELECT 1 AS x FROM dbo.Desconocida WHERE CallbackInfo = ?",
    "SELECT 1 AS x FROM dbo.Ejecuciones AS e WHERE z.CallbackInfo = ?",
    "INSERT INTO dbo.Callbacks (CallbackId) VALUES (?)",
    "INSERT INTO #Tmp (Payload) VALUES (?)",
    # fecha-igual-parametro: ranges, DATE columns, assignments
    "SELECT EjecucionId FROM dbo.Ejecuciones WHERE FechaFin < ? AND FechaFin <= ? AND FechaFin > ? AND FechaFin >= ?",
    "SELECT EjecucionId FROM dbo.Ejecuciones WHERE FechaFin BETWEEN ? AND ? AND FechaSlot = ?",
    "UPDATE dbo.Ejecuciones SET FechaFin = ?, FechaVieja = ? WHERE EjecucionId = ?",
    "UPDATE dbo.Ejecuciones SET Estado = CASE WHEN Estado = N'A' THEN N'B' ELSE Estado END, FechaFin = ? "
    "WHERE EjecucionId = ?",
    "MERGE dbo.Callbacks AS t USING (SELECT 1 AS Id) AS s ON t.CallbackId = s.Id "
    "WHEN MATCHED THEN UPDATE SET t.Recibido = ?, t.Payload = CAST(? AS NVARCHAR(MAX));",
    # temporal-sin-collate: permanent tables, no text columns
    "CREATE TABLE dbo.Permanente (Nombre NVARCHAR(100) NOT NULL);",
    "CREATE TABLE #Ids (Id INT NOT NULL, Fecha DATETIME2(3) NULL, PRIMARY KEY (Id));",
    # not-exists-sin-bloqueo: reads only, local or system tables, DDL guards, no write in the body
    "SELECT r.RobotId FROM dbo.Robots AS r WHERE NOT EXISTS (SELECT 1 FROM dbo.Asignaciones AS a "
    "WHERE a.RobotId = r.RobotId)",
    "INSERT INTO dbo.Asignaciones (RobotId, EquipoId) SELECT q.Id, 1 FROM #Q AS q "
    "WHERE NOT EXISTS (SELECT 1 FROM #Q AS x WHERE x.Id = q.Id) AND NOT EXISTS (SELECT 1 FROM @V AS v)",
    "WITH c AS (SELECT 1 AS x) INSERT INTO dbo.Asignaciones (RobotId, EquipoId) SELECT 1, 1 "
    "WHERE NOT EXISTS (SELECT 1 FROM c)",
    "UPDATE q SET q.EquipoId = e.EquipoId FROM #Q AS q INNER JOIN dbo.Equipos AS e ON e.Equipo = q.Nombre "
    "WHERE NOT EXISTS (SELECT 1 FROM dbo.Asignaciones AS a WHERE a.EquipoId = e.EquipoId)",
    "IF NOT EXISTS (\n    SELECT 1 FROM sys.indexes\n    WHERE name = N'IX_A' AND object_id = OBJECT_ID(N'dbo.Asignaciones')\n)\n"
    "CREATE NONCLUSTERED INDEX IX_A ON dbo.Asignaciones (EquipoId);",
    "IF OBJECT_ID(N'dbo.Robots', N'U') IS NULL\nBEGIN\n    CREATE TABLE dbo.Robots (RobotId INT NOT NULL);\nEND;",
    "IF EXISTS (SELECT 1 FROM dbo.Asignaciones AS a GROUP BY a.RobotId HAVING COUNT(*) > 1)\n"
    "    THROW 50000, N'duplicadas', 1;",
    "IF NOT EXISTS (SELECT 1 FROM dbo.Asignaciones) INSERT INTO #Q (Id) VALUES (1);",
    # tabla-sin-esquema: aliases, temp tables, variables, CTEs, INSERTED/DELETED, functions, derived
    "UPDATE q SET q.EquipoId = e.EquipoId FROM #T AS q INNER JOIN dbo.Equipos AS e ON e.Equipo = q.Nombre",
    "UPDATE a SET a.Reservado = 1 FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK) WHERE a.RobotId = ?",
    "DELETE a FROM dbo.Asignaciones AS a WHERE a.RobotId = ?",
    "INSERT INTO @T (Id) SELECT s.value FROM STRING_SPLIT(@Lista, N',') AS s",
    "WITH Libres AS (SELECT EquipoId FROM dbo.Equipos) SELECT l.EquipoId FROM Libres AS l "
    "INNER JOIN Libres AS l2 ON l2.EquipoId = l.EquipoId",
    "SELECT d.x FROM (SELECT 1 AS x) AS d CROSS APPLY STRING_SPLIT(N'a,b', N',') AS s",
    "SELECT j.Id FROM OPENJSON(@j) WITH (Id INT '$.Id') AS j",
    "INSERT INTO dbo.Ejecuciones (Estado) OUTPUT INSERTED.EjecucionId INTO @Ids (Id) VALUES (?)",
    "SELECT i.Id FROM INSERTED AS i INNER JOIN DELETED AS d ON d.Id = i.Id",
    "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'dbo'",
    "SELECT q.Nombre FROM #EquiposSolicitados AS q WHERE q.Nombre IS DISTINCT FROM N'x'",
    # nocount-en-sesion: OFF is harmless
    "SET NOCOUNT OFF; SELECT 1 AS x",
]


@pytest.mark.parametrize("sql", NOT_REPORTED)
def test_safe_forms_are_not_reported(sql):
    assert lint(sql) == []


def test_only_the_datetime_comparison_of_an_update_is_reported_not_its_assignments():
    sql = (
        "UPDATE dbo.Ejecuciones SET FechaFin = ?, Estado = CASE WHEN FechaVieja = ? THEN N'X' ELSE Estado END "
        "WHERE FechaFin = ?"
    )
    problems = [p for p in lint(sql) if p.startswith("[fecha-igual-parametro]")]
    assert len(problems) == 2, problems
    assert "Ejecuciones.FechaVieja (DATETIME)" in problems[0] and "FechaVieja = ?" in problems[0]
    assert "Ejecuciones.FechaFin (DATETIME2(3))" in problems[1]


def test_long_text_is_resolved_through_aliases_and_positions():
    sql = (
        "INSERT INTO dbo.Callbacks (Payload, CallbackId) VALUES (?, ?), (CAST(? AS NVARCHAR(MAX)), ?);\n"
        "SELECT e.EjecucionId FROM dbo.Ejecuciones AS e INNER JOIN dbo.Asignaciones AS a ON 1 = 1 "
        "WHERE e.Comentario = ? AND a.Comentario = ?"
    )
    problems = lint(sql)
    assert len(problems) == 2, problems
    assert "Callbacks.Payload (NVARCHAR(MAX))" in problems[0] and "CAST(? AS NVARCHAR(MAX))" in problems[0]
    assert "Ejecuciones.Comentario (NVARCHAR(3000))" in problems[1] and "e.Comentario = ?" in problems[1]
    assert "use CAST(? AS NVARCHAR(3000))" in problems[1]


def test_nested_exists_reports_each_unlocked_table_once():
    sql = (
        "DELETE FROM dbo.Asignaciones WHERE EXISTS (SELECT 1 FROM dbo.Ejecuciones AS e "
        "WHERE NOT EXISTS (SELECT 1 FROM dbo.Callbacks AS c WHERE c.CallbackId = e.EjecucionId))"
    )
    problems = lint(sql)
    assert len(problems) == 2, problems
    assert problems[0].startswith("[not-exists-sin-bloqueo] EXISTS lee dbo.Ejecuciones ")
    assert problems[1].startswith("[not-exists-sin-bloqueo] NOT EXISTS lee dbo.Callbacks ")
    assert all("escribe en dbo.Asignaciones" in p for p in problems)


def test_nocount_is_fine_in_sam_sql():
    sql = "SET NOCOUNT ON;\nGO\nUPDATE dbo.Robots SET Activo = 1;"
    assert codes(sql, "registro") == ["nocount-en-sesion"]
    assert codes(sql, "sam_sql") == []


def test_several_batches_and_lines_are_reported_with_their_line():
    sql = "SELECT 1 AS x;\nGO\nSELECT RobotId\nFROM Robots;\nGO\nCREATE TABLE #T (Nombre NVARCHAR(10));\n"
    problems = lint(sql)
    assert problems == [
        "[temporal-sin-collate] columna de texto de #T sin COLLATE DATABASE_DEFAULT (Msg 468 si la "
        "intercalación de tempdb difiere de la de la base): Nombre NVARCHAR(10) (línea 6)",
        "[tabla-sin-esquema] tabla o vista sin esquema (use dbo.Robots): FROM Robots (línea 4)",
    ]


# --- comments and string literals never match ---------------------------------------------------

DECOYS = """
-- OPENJSON(?) FROM Robots SET NOCOUNT ON CREATE TABLE #x (a NVARCHAR(10)) Día
/* UPDATE Robots SET CallbackInfo = ? WHERE FechaFin = ?;
   INSERT INTO Asignaciones SELECT ? WHERE NOT EXISTS (SELECT 1 FROM dbo.Asignaciones)
   IF NOT EXISTS (SELECT 1 FROM dbo.Robots) INSERT INTO dbo.Robots VALUES (1) -- sábado */
SELECT N'OPENJSON(?) FROM Robots WHERE FechaFin = ? SET NOCOUNT ON' AS texto,
       'CREATE TABLE #x (a NVARCHAR(10)) DECLARE @t TABLE (b VARCHAR(5))' AS otro
FROM dbo.Ejecuciones AS e
WHERE e.Estado = N'INSERT INTO Robots VALUES (?) WHERE NOT EXISTS (SELECT 1 FROM Equipos)'
"""


@pytest.mark.parametrize("origen", ["registro", "sam_sql"])
def test_comments_and_string_contents_are_never_reported(origen):
    assert lint(DECOYS, origen) == []


def test_decoy_text_would_be_reported_outside_comments_and_strings():
    """The decoys are real bad forms: without the comment markers they are reported."""
    sql = "SET NOCOUNT ON; UPDATE Robots SET CallbackInfo = ? FROM OPENJSON(?) AS j WHERE FechaFin = ?"
    assert set(codes(sql)) >= {"nocount-en-sesion", "tabla-sin-esquema", "openjson-sin-cast"}


# --- messages and API ---------------------------------------------------------------------------


def test_message_names_the_lint_code_and_quotes_the_offending_text():
    (problem,) = lint("SELECT j.Id\nFROM OPENJSON(?) WITH (Id INT '$.Id') AS j")
    assert problem.startswith("[openjson-sin-cast] OPENJSON recibe un parámetro sin CAST(? AS NVARCHAR(MAX))")
    assert problem.endswith(": OPENJSON(?) (línea 2)")


@pytest.mark.parametrize("code,bad,_safe", CASES, ids=[f"{c}-{i}" for i, (c, _b, _s) in enumerate(CASES)])
def test_every_problem_starts_with_a_known_code(code, bad, _safe):
    for problem in lint(bad):
        assert problem.startswith(tuple(f"[{c}] " for c in LINT_CODES)), problem


def test_unknown_origen_is_an_error():
    with pytest.raises(ValueError, match="origen"):
        lint_tsql("SELECT 1 AS x", origen="python")


def test_schema_has_column_types_case_insensitive():
    schema = sam_schema()
    assert schema.column_type("Ejecuciones", "FechaFin") == "DATETIME2(3)"
    assert schema.column_type("EJECUCIONES", "fechafin") == "DATETIME2(3)"
    assert schema.column_type("dbo.Ejecuciones", "CallbackInfo") == "NVARCHAR(MAX)"
    assert schema.column_type("Ejecuciones", "NoExiste") is None
    assert schema.column_type("NoExiste", "FechaFin") is None
    assert SCHEMA.column_type("Callbacks", "Recibido") == "DATETIME2(3)"  # from ALTER TABLE ... ADD
    assert SCHEMA.columns("Callbacks") == ["CallbackId", "Payload", "Recibido"]  # names API unchanged


def test_declared_type_is_normalised():
    assert declared_type(tokenize("decimal (10, 2) NOT NULL")) == "DECIMAL(10,2)"
    assert declared_type(tokenize("[nvarchar](max) NULL")) == "NVARCHAR(MAX)"
    assert declared_type(tokenize("AS (a + b)")) is None


def test_sam_sql_report_is_informative_and_sees_a_new_problem(tmp_path):
    report = lint_report_sam_sql()
    assert all(p.startswith(tuple(f"[{c}] " for c in LINT_CODES)) for p in report)
    assert not [p for p in report if p.startswith("[nocount-en-sesion]")]
    broken = tmp_path / "SAM.sql"
    extra = "\nGO\nUPDATE dbo.Ejecuciones SET CallbackInfo = ? WHERE FechaFin = ?;\nGO\n"
    broken.write_text(SAM_SQL_PATH.read_text(encoding="utf-8") + extra, encoding="utf-8")
    new = [p for p in lint_report_sam_sql(broken) if p not in report]
    assert [p[1 : p.index("]")] for p in new] == ["texto-largo-sin-cast", "fecha-igual-parametro"], new


# --- throw-sin-condicion: a THROW that slipped out of its IF runs always ----------------------
HUERFANO = """CREATE OR ALTER PROCEDURE dbo.ValidarX @Tipo NVARCHAR(20) AS
BEGIN
    IF @Tipo IS NULL
    SET @Tipo = N'Diaria';
    IF @Tipo = N'Semanal'
    BEGIN
        SELECT 1 AS Uno;
    END;
        THROW 50020, N'@Tipo no valido.', 1;
END;"""
CONDICIONADOS = """CREATE OR ALTER PROCEDURE dbo.ValidarX @Tipo NVARCHAR(20) AS
BEGIN
    IF @Tipo IS NULL
        OR @Tipo NOT IN (N'Diaria', N'Semanal')
        THROW 50020, N'@Tipo no valido.', 1;
    IF @Tipo = N'Semanal'
    BEGIN
        SET @Tipo = N'Diaria';
        THROW 50021, N'otro', 1;
    END;
    BEGIN TRY
        SELECT 1 AS Uno;
    END TRY
    BEGIN CATCH
        THROW;
    END CATCH
END;"""


def test_lint_throw_sin_condicion_flags_a_throw_under_a_finished_statement():
    problemas = [p for p in lint_tsql(HUERFANO, origen="sam_sql") if p.startswith("[throw-sin-condicion]")]
    assert len(problemas) == 1 and "línea 9" in problemas[0]


def test_lint_throw_sin_condicion_accepts_throws_inside_their_if_or_block():
    assert [p for p in lint_tsql(CONDICIONADOS, origen="sam_sql") if p.startswith("[throw-sin-condicion]")] == []
