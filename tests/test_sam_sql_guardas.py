"""SAM.sql guards and pre-checks (ARCHITECTURE §8.3), checked statically: no SQL Server runs here.

- the first batch refuses an old server (< 13.0.4001, Azure exempt), a database below
  compatibility level 130 and a script decoded with the wrong code page, before anything changes;
- every upgrade step that legacy data can break has a pre-check in an earlier batch;
- every failing check is ``RAISERROR(@Mensaje, 16, 1)`` + ``SET NOEXEC ON`` and the script ends
  with ``SET NOEXEC OFF``;
- temp-table / table-variable string columns are ``COLLATE DATABASE_DEFAULT``, non-ASCII text only
  in messages, the operator procedures take ``@Ahora``, ``ClaveIntento`` and its index exist.
"""

from __future__ import annotations

import re

import pytest

from tests.sqlcheck import (
    _TOKEN_RE,
    SAM_SQL_PATH,
    Tok,
    _matching_paren,
    _split_top_level,
    column_defs,
    split_batches,
    tokenize,
)

SAM_TEXT = SAM_SQL_PATH.read_text(encoding="utf-8")
BATCHES = split_batches(SAM_TEXT)

CHANGE_WORDS = {
    "CREATE",
    "ALTER",
    "INSERT",
    "UPDATE",
    "DELETE",
    "DROP",
    "MERGE",
    "TRUNCATE",
    "EXEC",
    "EXECUTE",
}
STRING_TYPES = {"CHAR", "VARCHAR", "NCHAR", "NVARCHAR", "SYSNAME", "TEXT", "NTEXT"}
OPERATOR_PROCEDURES = (
    "AsignarRobotOnline",
    "CargarProgramacionSAM",
    "CargarProgramacionDiaria",
    "CargarProgramacionSemanal",
    "CargarProgramacionMensual",
    "CargarProgramacionEspecifica",
    "CargarProgramacionRangoMensual",
    "ActualizarProgramacion",
    "DesactivarProgramacion",
    "EliminarProgramacion",
)
#: The CargarProgramacion* wrappers around dbo.CargarProgramacionSAM.
WRAPPERS = tuple(n for n in OPERATOR_PROCEDURES if n.startswith("CargarProgramacion") and n != "CargarProgramacionSAM")


def _words(batch: str) -> list[str]:
    """Upper-cased words of a batch, comments and string literals left out."""
    return [t.upper for t in tokenize(batch) if t.kind == "word"]


def _code(batch: str, *, strings: bool = False) -> str:
    """The batch without comments, whitespace collapsed; string literals emptied unless ``strings``."""
    parts = []
    for m in _TOKEN_RE.finditer(batch):
        kind = m.lastgroup
        if kind in ("lcomment", "bcomment"):
            parts.append(" ")
        else:
            parts.append("N''" if kind == "string" and not strings else m.group(0))
    return " ".join("".join(parts).split())


def _batch_index(predicate, what: str) -> int:
    found = [i for i, b in enumerate(BATCHES) if predicate(b)]
    assert found, f"no batch {what}"
    return found[0]


def _step(pattern: str) -> int:
    """Index of the first batch whose code (no comments) matches ``pattern``."""
    rx = re.compile(pattern, re.IGNORECASE)
    return _batch_index(lambda b: rx.search(_code(b, strings=True)), f"matching {pattern!r}")


def _raises(batch: str) -> bool:
    return "RAISERROR" in _words(batch)


def _is_routine(batch: str) -> bool:
    return re.search(r"\bCREATE\s+OR\s+ALTER\s+(PROCEDURE|VIEW)\b", _code(batch), re.IGNORECASE) is not None


def _procedure(name: str) -> str:
    return next(b for b in BATCHES if re.search(rf"CREATE OR ALTER PROCEDURE dbo\.{name}\b", b))


def _procedure_header(name: str) -> str:
    body = _procedure(name)
    return body[: re.search(r"^AS$", body, re.MULTILINE).start()]


# --- header -----------------------------------------------------------------------------------


def test_header_gives_the_sqlcmd_command_with_b_i_and_utf8_and_the_maintenance_note():
    lines = SAM_TEXT.splitlines()
    header = "\n".join(lines[: next(i for i, ln in enumerate(lines) if not ln.startswith("--"))])
    assert "sqlcmd -S <servidor> -d <base> -E -b -I -f 65001 -i SAM.sql" in header
    for flag in ("-b:", "-I:", "-f 65001:"):
        assert flag in header, flag
    assert "SET QUOTED_IDENTIFIER ON;" in header and "1934" in header and "Agente" in header


# --- the guard batch --------------------------------------------------------------------------


def _guard() -> tuple[int, str]:
    i = _batch_index(lambda b: "SERVERPROPERTY('ProductVersion')" in b, "reading ProductVersion")
    return i, BATCHES[i]


def test_guard_is_the_first_executable_batch_and_changes_nothing():
    i, guard = _guard()
    assert i == 0
    assert not CHANGE_WORDS & set(_words(guard)), "the guard must not change anything"
    first_change = _batch_index(lambda b: CHANGE_WORDS & set(_words(b)), "that changes something")
    assert first_change > i


def test_guard_refuses_old_servers_except_azure():
    _, guard = _guard()
    code = _code(guard)
    assert "PARSENAME" in code
    assert re.search(r"@Mayor\s*<\s*13\b", code)
    assert re.search(r"@Mayor\s*=\s*13\s+AND\s+@Menor\s*=\s*0\s+AND\s+@Compilacion\s*<\s*4001\b", code)
    assert "SERVERPROPERTY('EngineEdition')" in guard
    assert re.search(r"@Edicion\s*,\s*0\s*\)\s*NOT\s+IN\s*\(\s*5\s*,\s*8\s*\)\s+AND", code)
    # an unparsable version is refused, never taken for a new one
    assert re.search(r"@Mayor IS NULL OR @Menor IS NULL OR @Compilacion IS NULL", code)


def test_guard_refuses_compatibility_level_below_130_with_the_fix():
    _, guard = _guard()
    code = _code(guard)
    assert re.search(
        r"compatibility_level\s+FROM\s+sys\.databases\s+AS\s+d\s+WHERE\s+d\.database_id\s*=\s*DB_ID\(\)", code
    )
    assert re.search(r"IF\s+@Compatibilidad\s*<\s*130\b", code)
    assert "SET COMPATIBILITY_LEVEL = 130;" in guard


def test_guard_has_the_encoding_canary_and_tells_to_use_f_65001():
    _, guard = _guard()
    (line,) = [ln for ln in guard.splitlines() if "UNICODE(N'" in ln]
    assert "UNICODE(N'\u00c1')" in line and "-- sam-lint: canario-codificacion" in line
    assert re.search(r"IF\s+ISNULL\(@Canario,\s*0\)\s*<>\s*193\b", _code(guard))
    assert "-f 65001" in guard


def test_guard_reports_every_failure_in_one_message_readable_in_any_encoding():
    _, guard = _guard()
    words = _words(guard)
    assert words.count("RAISERROR") == 1  # one message collects every failed guard
    messages = [t.text for t in tokenize(guard) if t.kind == "string" and len(t.text) > 30]
    assert len(messages) >= 6
    assert all(m.isascii() for m in messages), "guard messages must survive a wrong code page"
    # only T-SQL that an old server compiles, so that it gets the message and not a syntax error
    assert not {"CONCAT", "THROW", "TRY_CONVERT", "IIF", "FORMAT"} & set(words)


# --- RAISERROR + NOEXEC pattern ---------------------------------------------------------------


def _raiserror_calls(batch: str) -> list[list[Tok]]:
    toks = tokenize(batch)
    return [toks[i : i + 13] for i, t in enumerate(toks) if t.kind == "word" and t.upper == "RAISERROR"]


def test_every_failing_check_raises_severity_16_then_sets_noexec_on():
    calls = [call for b in BATCHES for call in _raiserror_calls(b)]
    assert len(calls) >= 7  # guard + 6 blocking pre-checks
    for call in calls:
        text = " ".join(t.text for t in call)
        assert text.startswith("RAISERROR ( @Mensaje , 16 , 1 ) ; SET NOEXEC ON ;"), text


def test_checks_outside_routines_never_use_throw():
    """THROW ends the batch before SET NOEXEC ON could run: the script would go on."""
    for batch in BATCHES:
        if not _is_routine(batch):
            assert "THROW" not in _words(batch), batch[:160]


def test_script_ends_with_set_noexec_off_after_the_success_message():
    assert _code(BATCHES[-1]) == "SET NOEXEC OFF;"
    assert "Esquema SAM aplicado correctamente." in BATCHES[-2]


def test_raiserror_messages_escape_percent_signs():
    """RAISERROR reads % in the message as a format specification (names can contain it)."""
    for batch in BATCHES:
        if _raises(batch):
            assert "REPLACE(@Mensaje, N'%', N'%%')" in batch, batch[:160]


# --- pre-checks before the steps they protect -------------------------------------------------


def _check(*needles: str) -> int:
    """Index of the blocking check batch that contains every needle."""
    return _batch_index(lambda b: _raises(b) and all(n in b for n in needles), f"with {needles}")


def test_identity_check_precedes_adding_ejecucionid():
    step = _step(r"ALTER TABLE dbo\.Ejecuciones ADD EjecucionId INT IDENTITY")
    check = _check("sys.identity_columns", "COL_LENGTH(N'dbo.Ejecuciones', N'EjecucionId') IS NULL")
    assert check < step
    assert "QUOTENAME(@Columna)" in BATCHES[check] and "sp_rename" in BATCHES[check]


@pytest.mark.parametrize("table", ["Ejecuciones", "Asignaciones"])
def test_clustered_index_check_precedes_each_clustered_primary_key(table):
    step = _step(rf"ALTER TABLE dbo\.{table} ADD CONSTRAINT PK_{table} PRIMARY KEY CLUSTERED")
    check = _check("sys.indexes", "QUOTENAME(@Indice)")
    batch = BATCHES[check]
    assert check < step
    assert re.search(r"i\.type IN \(1, 5\)", batch) and f"N'{table}'" in batch
    assert "sys.key_constraints" in batch  # only when the primary key is still missing


def test_duplicate_pairs_check_precedes_pk_asignaciones():
    step = _step(r"ADD CONSTRAINT PK_Asignaciones PRIMARY KEY")
    check = _check("FROM dbo.Asignaciones AS a", "GROUP BY a.RobotId, a.EquipoId")
    assert check < step and "HAVING COUNT(*) > 1" in BATCHES[check]


def test_deployment_id_normalised_then_duplicates_refused_before_the_unique_index():
    step = _step(r"CREATE UNIQUE NONCLUSTERED INDEX UX_Ejecuciones_DeploymentId")
    check = _check("UX_Ejecuciones_DeploymentId", "GROUP BY e.DeploymentId")
    batch = BATCHES[check]
    assert check < step
    normalise = batch.index("SET DeploymentId = NULL")
    assert "WHERE LTRIM(RTRIM(DeploymentId)) = N'';" in batch
    assert (
        normalise
        < batch.index("@@ROWCOUNT")
        < batch.index("PRINT CONCAT(")
        < batch.index("GROUP BY e.DeploymentId")
    )
    assert normalise < batch.index("RAISERROR")
    assert "HAVING COUNT(*) > 1" in batch and "@Valores" in batch  # count + query for the DBA


def test_every_with_check_foreign_key_has_an_orphan_check_in_an_earlier_batch():
    fk_rx = re.compile(
        r"ALTER TABLE dbo\.(\w+) WITH CHECK ADD CONSTRAINT (\w+)\s+FOREIGN KEY \((\w+)\) REFERENCES dbo\.(\w+)"
    )
    steps = [(i, m.groups()) for i, b in enumerate(BATCHES) for m in fk_rx.finditer(b)]
    assert len(steps) == 4
    check = _check("sys.sp_executesql", "@Claves")
    batch = BATCHES[check]
    for i, (child, fk, column, parent) in steps:
        assert check < i, fk
        assert f"(N'{fk}', N'{child}', N'{column}', N'{parent}')" in batch, fk
    assert "NOT EXISTS (SELECT 1 FROM dbo.', QUOTENAME(@Padre)" in batch  # orphan = no parent row
    assert "sys.index_columns" in batch  # the referenced column needs a PK / unique index


# --- column type pre-check --------------------------------------------------------------------


def _type_check() -> tuple[int, str]:
    i = _check("DECLARE @Esperadas TABLE", "sys.columns")
    return i, BATCHES[i]


def _expected_columns() -> dict[tuple[str, str], tuple[str, str, str, str]]:
    _, batch = _type_check()
    rows = re.findall(r"\(N'(\w+)', N'(\w+)', N'([^']+)', N'(\w+)', (NULL|\d+), ([01])\)", batch)
    out = {}
    for table, column, tipo, regla, minimo, anade in rows:
        assert (table, column) not in out, (table, column)
        out[(table, column)] = (tipo, regla, minimo, anade)
    return out


def _create_table_columns() -> dict[tuple[str, str], str]:
    """(table, column) -> declared type (upper, without IDENTITY/NULL/DEFAULT) of every CREATE TABLE."""
    out = {}
    for batch in BATCHES:
        m = re.search(r"CREATE TABLE dbo\.(\w+) \(", batch)
        if not m:
            continue
        body = batch[m.end() : _matching_paren(batch, m.end() - 1)]
        for item in _split_top_level(body):
            toks = tokenize(item)
            if toks[0].upper in {"CONSTRAINT", "PRIMARY", "FOREIGN", "CHECK", "UNIQUE", "INDEX"}:
                continue
            tipo = re.match(r"\w+\s+(\w+(?:\s*\([^)]*\))?)", item).group(1).upper().replace(" ", "")
            out[(m.group(1), toks[0].text)] = tipo
    return out


def _migrated_columns() -> set[tuple[str, str]]:
    rx = re.compile(r"IF COL_LENGTH\(N'dbo\.(\w+)', N'(\w+)'\) IS NULL\s+ALTER TABLE dbo\.\1 ADD \2\b")
    return {m.groups() for b in BATCHES for m in rx.finditer(b)}


def test_type_check_precedes_every_change_to_existing_tables():
    i, batch = _type_check()
    first_table = _step(r"CREATE TABLE dbo\.")
    first_migration = _step(r"IF COL_LENGTH\(N'dbo\.\w+', N'\w+'\) IS NULL ALTER TABLE")
    assert i < first_table < first_migration
    for rule in ("entero", "identidad", "clave", "texto", "fecha", "hora", "max", "corta", "falta", "nulos"):
        assert f"N'{rule}'" in batch, rule
    assert "TYPE_NAME(c.system_type_id)" in batch and "c.max_length = -1" in batch
    assert "is_nullable" in batch and "PK_Asignaciones" in batch


def test_type_check_lists_every_column_of_sam_sql_with_its_declared_type():
    expected = _expected_columns()
    declared = _create_table_columns()
    assert set(expected) == set(declared)
    for key, tipo in declared.items():
        assert expected[key][0].replace(" ", "") == tipo, key


def test_type_check_knows_which_columns_the_migration_adds():
    expected = _expected_columns()
    migrated = _migrated_columns()
    assert migrated and migrated <= set(expected)
    for key, (_, _, _, anade) in expected.items():
        assert (anade == "1") == (key in migrated), key


def test_index_keys_and_foreign_keys_have_a_type_rule():
    expected = _expected_columns()
    index_rx = re.compile(r"CREATE (?:UNIQUE )?NONCLUSTERED INDEX \w+\s+ON dbo\.(\w+) \(([^)]*)\)")
    keys = {(t, c.strip()) for b in BATCHES for t, cols in index_rx.findall(b) for c in cols.split(",")}
    assert ("Ejecuciones", "Estado") in keys and ("Ejecuciones", "ClaveIntento") in keys
    for key in keys:
        assert expected[key][1] not in ("cualquiera", "texto"), key  # MAX / NTEXT would fail (1919)
    fk_rx = re.compile(r"FOREIGN KEY \((\w+)\) REFERENCES dbo\.(\w+) \((\w+)\)")
    create_rx = re.compile(r"CREATE TABLE dbo\.(\w+) \(|ALTER TABLE dbo\.(\w+) WITH CHECK")
    for batch in BATCHES:
        owner = create_rx.search(batch)
        for col, parent, parent_col in fk_rx.findall(batch):
            child = owner.group(1) or owner.group(2)
            assert expected[(child, col)][1] in ("entero", "identidad"), (child, col)
            assert expected[(parent, parent_col)][1] in ("entero", "identidad"), (parent, parent_col)
    for key in (("Ejecuciones", "Estado"), ("Ejecuciones", "DeploymentId")):
        assert expected[key][1] == "clave", key
    for key in (("Asignaciones", "AsignadoPor"), ("Programaciones", "TipoProgramacion")):
        assert expected[key][1] in ("clave", "texto"), key
    for key in (
        ("Ejecuciones", "FechaInicio"),
        ("Asignaciones", "FechaAsignacion"),
        ("Ejecuciones", "FechaFin"),
    ):
        assert expected[key][1] in ("fecha", "datetime2"), key


def test_minimum_lengths_cover_what_sam_writes():
    from common import execution_states as es

    expected = _expected_columns()
    states = es.TERMINAL_STATES | es.KNOWN_ACTIVE_STATES
    assert int(expected[("Ejecuciones", "Estado")][2]) >= max(len(s) for s in states)
    assert int(expected[("Ejecuciones", "DeploymentId")][2]) >= 36  # a UUID
    assert int(expected[("Ejecuciones", "ClaveIntento")][2]) >= 36
    assert int(expected[("Programaciones", "TipoProgramacion")][2]) >= len("Especifica")
    assert int(expected[("Asignaciones", "AsignadoPor")][2]) >= len("Programacion")


def test_tipo_programacion_warning_is_not_fatal_and_accent_sensitive():
    i = _batch_index(lambda b: "AVISO" in b and "TipoProgramacion" in b, "warning about TipoProgramacion")
    batch = BATCHES[i]
    assert not _raises(batch) and "NOEXEC" not in _words(batch)
    assert "PRINT @Mensaje;" in batch
    assert "COLLATE Latin1_General_BIN2" in batch  # 'Específica' must not match ESPECIFICA
    assert "NOT IN (N'DIARIA', N'SEMANAL', N'MENSUAL', N'ESPECIFICA', N'RANGOMENSUAL')" in batch  # L7.1
    assert i < _step(r"CREATE TABLE dbo\.")


def test_checks_on_columns_a_migration_may_still_add_use_dynamic_sql():
    """A batch naming a missing column of an existing table does not compile: the static SQL of
    the pre-checks may only name columns that the type check has required to exist."""
    migrated = _migrated_columns()
    first_table = _step(r"CREATE TABLE dbo\.")
    for batch in BATCHES[1:first_table]:
        code = _code(batch)
        for table, column in migrated:
            if table == "Ejecuciones" and column == "EjecucionId":
                continue  # only named inside COL_LENGTH(...) strings
            assert not re.search(rf"\b\w+\.{column}\b", code), (table, column, batch[:120])


# --- collation and encoding-proof literals ----------------------------------------------------


def _local_table_bodies() -> list[tuple[str, str]]:
    rx = re.compile(r"(CREATE\s+TABLE\s+#\w+|DECLARE\s+@\w+\s+(?:AS\s+)?TABLE)\s*\(", re.IGNORECASE)
    out = []
    for m in rx.finditer(SAM_TEXT):
        out.append((m.group(1), SAM_TEXT[m.end() : _matching_paren(SAM_TEXT, m.end() - 1)]))
    return out


def test_temp_tables_and_table_variables_collate_string_columns_database_default():
    bodies = _local_table_bodies()
    names = [" ".join(n.split()) for n, _ in bodies]
    assert names.count("CREATE TABLE #EquiposSolicitados") == 3  # AsignarRobotOnline, Cargar/ActualizarProgramacion
    assert "DECLARE @Tokens TABLE" in names
    checked = 0
    for name, body in bodies:
        assert column_defs(body)
        for item in _split_top_level(body):
            toks = tokenize(item)
            if len(toks) > 1 and toks[1].upper in STRING_TYPES:
                checked += 1
                assert re.search(r"\bCOLLATE DATABASE_DEFAULT\b", item), f"{name}: {item}"
    assert checked >= 4


_HEADS = {
    "THROW", "RAISERROR", "PRINT", "SET", "DECLARE", "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE",
    "IF", "WHILE", "EXEC", "EXECUTE", "RETURN", "CREATE", "ALTER", "BEGIN", "END", "ELSE", "VALUES", "WITH",
}  # fmt: skip
_MESSAGE_HEADS = {"THROW", "RAISERROR", "PRINT"}


def non_ascii_literals_outside_messages(sql: str) -> list[str]:
    """String literals with non-ASCII characters that are not operator messages.

    Allowed: literals of a THROW/RAISERROR/PRINT statement, of an assignment to a variable named
    ``@Mensaje...`` (``SET``/``DECLARE``), and on a line marked ``-- sam-lint: canario-codificacion``.
    The statement of a literal is found by walking back to the nearest statement keyword outside
    the literal's own parentheses; ``CASE ... END`` inside an expression is skipped.
    """
    canary_lines = {
        n for n, line in enumerate(sql.splitlines()) if "-- sam-lint: canario-codificacion" in line
    }
    toks = tokenize(sql)
    out = []
    for k, tok in enumerate(toks):
        if tok.kind != "string" or tok.text.isascii():
            continue
        if sql.count("\n", 0, tok.start) in canary_lines:
            continue
        allowed = False
        depth = 0
        case_depth = 0
        for j in range(k - 1, -1, -1):
            t = toks[j]
            if t.text == ")":
                depth += 1
            elif t.text == "(":
                depth = max(depth - 1, 0)
            elif t.kind == "word" and t.upper == "END" and depth == 0 and _ends_case(toks, j):
                case_depth += 1
            elif t.kind == "word" and t.upper == "CASE" and case_depth:
                case_depth -= 1
            elif depth == 0 and not case_depth and t.kind == "word" and t.upper in _HEADS:
                if t.upper in ("SET", "DECLARE"):
                    allowed = j + 1 < len(toks) and toks[j + 1].text.lower().startswith("@mensaje")
                else:
                    allowed = t.upper in _MESSAGE_HEADS
                break
        if not allowed:
            out.append(f"línea {sql.count(chr(10), 0, tok.start) + 1}: {tok.text}")
    return out


def _ends_case(toks: list[Tok], j: int) -> bool:
    """Whether the END at ``j`` closes a CASE (an expression goes on after it)."""
    nxt = toks[j + 1] if j + 1 < len(toks) else None
    return nxt is not None and (nxt.text in (",", ")", "+") or (nxt.kind == "word" and nxt.upper == "AS"))


def test_scanner_flags_non_ascii_data_literals_and_accepts_messages():
    assert non_ascii_literals_outside_messages("SELECT 1 WHERE x IN (N'S\u00c1');")
    assert non_ascii_literals_outside_messages("UPDATE dbo.T SET Nombre = N'l\u00ednea';")
    assert non_ascii_literals_outside_messages("DECLARE @Dia NVARCHAR(5) = N'S\u00c1';")
    assert (
        non_ascii_literals_outside_messages(
            "SET @Mensaje = CONCAT(CASE WHEN 1 = 1 THEN N'a' END, N'\u00e1');"
        )
        == []
    )
    assert non_ascii_literals_outside_messages(
        "SET @Otra = CONCAT(CASE WHEN 1 = 1 THEN N'a' END, N'\u00e1');"
    )
    ok = (
        "THROW 50001, N'Par\u00e1metro', 1;\n"
        "IF 1 = 1 PRINT N'Aviso: \u00e1';\n"
        "RAISERROR(N'\u00e1', 16, 1);\n"
        "SET @Mensaje = CONCAT(N'D\u00eda ', @x, CASE @m WHEN N'a' THEN N'\u00e1' END, N' v\u00e1lido');\n"
        "DECLARE @MensajeLinea NVARCHAR(10) = N'\u00e1';\n"
        "DECLARE @Canario INT = UNICODE(N'\u00c1');  -- sam-lint: canario-codificacion\n"
    )
    assert non_ascii_literals_outside_messages(ok) == []


def test_sam_sql_has_no_non_ascii_literal_outside_messages():
    assert non_ascii_literals_outside_messages(SAM_TEXT) == []
    semanal = _procedure("ValidarProgramacionSAM")
    assert "N'S' + NCHAR(193)" in semanal
    assert "NCHAR(237)" in _procedure("RegistrarErrorSAM")


# --- @Ahora from the caller -------------------------------------------------------------------


@pytest.mark.parametrize("name", OPERATOR_PROCEDURES)
def test_operator_procedure_takes_optional_ahora_from_the_caller(name):
    header = _procedure_header(name)
    assert re.search(r"^\s+@Ahora DATETIME2\(0\) = NULL,?$", header, re.MULTILINE), header
    body = _procedure(name)[len(header) :]
    assert "IF @Ahora IS NULL SET @Ahora = " in body and "GETDATE()" in body
    assert "DECLARE @Ahora" not in body  # the parameter is the only clock
    if name != "CargarProgramacionSAM":
        params = body[body.index("DECLARE @Parametros") : body.index("BEGIN TRY")]
        assert "N'; @Ahora=', CONVERT(NVARCHAR(19), @Ahora, 120)" in params
        # the effective clock is logged: it is set before @Parametros is built
        assert body.index("IF @Ahora IS NULL") < body.index("DECLARE @Parametros")


@pytest.mark.parametrize("name", WRAPPERS)
def test_wrappers_pass_ahora_through(name):
    body = _procedure(name)
    call = body[body.index("EXEC dbo.CargarProgramacionSAM") : body.index("@ProgramacionId OUTPUT")]
    assert "@Ahora = @Ahora," in call


def test_ahora_drives_fecha_asignacion_and_the_past_date_check():
    body = _procedure("CargarProgramacionSAM")
    assert "@FechaEspecifica < CONVERT(DATE, @Ahora)" in _procedure("ValidarProgramacionSAM")
    assert "@Ahora = @Ahora," in body[body.index("EXEC dbo.ValidarProgramacionSAM"):]
    assert "a.FechaAsignacion = @Ahora" in body
    assert "a.FechaAsignacion = @Ahora" in _procedure("AsignarRobotOnline")


# --- ClaveIntento -----------------------------------------------------------------------------


def test_clave_intento_column_migration_and_unique_filtered_index():
    create = _step(r"CREATE TABLE dbo\.Ejecuciones \(")
    assert "ClaveIntento NVARCHAR(36) NULL," in BATCHES[create]
    migration = _step(
        r"IF COL_LENGTH\(N'dbo\.Ejecuciones', N'ClaveIntento'\) IS NULL "
        r"ALTER TABLE dbo\.Ejecuciones ADD ClaveIntento NVARCHAR\(36\) NULL;"
    )
    index = _step(r"CREATE UNIQUE NONCLUSTERED INDEX UX_Ejecuciones_ClaveIntento")
    assert create < migration < index
    batch = BATCHES[index]
    assert re.search(
        r"IF NOT EXISTS \(\s*SELECT 1 FROM sys\.indexes\s+WHERE name = N'UX_Ejecuciones_ClaveIntento'", batch
    )
    assert re.search(r"ON dbo\.Ejecuciones \(ClaveIntento\)\s+WHERE ClaveIntento IS NOT NULL;", batch)
