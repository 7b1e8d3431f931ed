"""Static checks for T-SQL (no SQL Server runs here).

``check_tsql(sql) -> list[str]`` returns the problems found in a T-SQL text (one batch, a script
with ``GO`` separators, or a single statement with ``?`` qmark parameters):

1. **Parse**: every batch must parse with sqlfluff's ``tsql`` dialect without an unparsable
   section (the Python API of ``sqlfluff parse --dialect tsql``).
2. **Columns**: every DML statement (SELECT/INSERT/UPDATE/DELETE/MERGE, also inside procedures,
   views and ``IF EXISTS (...)`` conditions) is parsed with sqlglot and every column it
   references must exist in the table or view it resolves to, using the schema parsed from
   ``SAM.sql``. Aliases, CTEs, derived tables, ``OPENJSON ... WITH (...)`` columns,
   ``STRING_SPLIT`` (``value``), temp tables / table variables declared in the same text,
   ``INSERTED``/``DELETED`` in ``OUTPUT`` and correlated references to outer queries are all
   resolved; procedure parameters and variables are never taken for columns. Tables of system
   schemas (``sys``, ``INFORMATION_SCHEMA``) are not checked; any other unknown table is a problem.

3. **Procedure calls**: ``EXEC`` of a procedure defined in ``SAM.sql`` with named parameters
   must name existing parameters and give every parameter that has no default.

Results are cached per batch text, so repeated checks of the same SQL are free.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAM_SQL_PATH = PROJECT_ROOT / "SAM.sql"

SYSTEM_SCHEMAS = {"sys", "information_schema"}
_GO_RE = re.compile(r"^\s*GO\s*(?:--.*)?$", re.IGNORECASE | re.MULTILINE)


# ---------------------------------------------------------------------------------------------
# Tokenizer (strings, comments, identifiers, punctuation) with source offsets
# ---------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<lcomment>--[^\n]*)
  | (?P<bcomment>/\*.*?\*/)
  | (?P<string>N?'(?:[^']|'')*')
  | (?P<bracket>\[(?:[^\]]|\]\])*\])
  | (?P<dquote>"(?:[^"]|"")*")
  | (?P<word>[@#$]*[A-Za-z_\u00C0-\u024F][\w$@#\u00C0-\u024F]*|@@\w+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<qmark>\?)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass
class Tok:
    kind: str
    text: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        return self.text.upper()


def tokenize(sql: str) -> list[Tok]:
    out: list[Tok] = []
    for m in _TOKEN_RE.finditer(sql):
        kind = m.lastgroup or "punct"
        if kind in ("ws", "lcomment", "bcomment"):
            continue
        out.append(Tok(kind, m.group(0), m.start(), m.end()))
    return out


def split_batches(script: str) -> list[str]:
    return [b.strip() for b in _GO_RE.split(script) if b.strip()]


def replace_qmarks(sql: str) -> str:
    """Replace qmark parameters (outside strings/comments) with T-SQL variables ``@p1``..."""
    parts: list[str] = []
    last = 0
    n = 0
    for tok in tokenize(sql):
        if tok.kind == "qmark":
            n += 1
            parts.append(sql[last : tok.start])
            parts.append(f"@p{n}")
            last = tok.end
    parts.append(sql[last:])
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# sqlfluff parse check
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _linter():
    from sqlfluff.core import FluffConfig, Linter

    return Linter(config=FluffConfig(overrides={"dialect": "tsql", "templater": "raw"}))


@functools.lru_cache(maxsize=4096)
def parse_problems(batch: str) -> tuple[str, ...]:
    """Unparsable sections / parse errors of one batch according to sqlfluff (tsql)."""
    parsed = _linter().parse_string(batch.rstrip() + "\n")
    problems: list[str] = []
    for v in parsed.violations:
        problems.append(f"sqlfluff: {v.desc()}")
    variant = parsed.root_variant()
    tree = variant.tree if variant is not None else None
    if tree is None:
        if not problems:
            problems.append("sqlfluff: no se pudo analizar el lote")
    else:
        for seg in tree.recursive_crawl("unparsable"):
            line = seg.pos_marker.line_no if seg.pos_marker else "?"
            text = " ".join(seg.raw.split())[:120]
            msg = f"sqlfluff: sección no analizable en la línea {line}: {text!r}"
            if msg not in problems:
                problems.append(msg)
    return tuple(dict.fromkeys(problems))


# ---------------------------------------------------------------------------------------------
# Schema from SAM.sql
# ---------------------------------------------------------------------------------------------


@dataclass
class Schema:
    tables: dict[str, dict[str, str]] = field(default_factory=dict)  # lower name -> {lower col: Col}
    views: dict[str, dict[str, str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # lower -> declared name
    # lower procedure name -> {lower parameter name (with @): has a default}
    procedures: dict[str, dict[str, bool]] = field(default_factory=dict)
    # lower table name -> {lower column name: declared type, e.g. "DATETIME2(3)", "NVARCHAR(MAX)"}
    types: dict[str, dict[str, str]] = field(default_factory=dict)

    def relation(self, name: str) -> dict[str, str] | None:
        key = name.lower()
        return self.tables.get(key) or self.views.get(key)

    def columns(self, table: str) -> list[str]:
        rel = self.relation(table) or {}
        return list(rel.values())

    def column_type(self, table: str, column: str) -> str | None:
        """Declared type of a table column (case-insensitive; ``dbo.`` prefix allowed), or None."""
        key = _unquote(table.split(".")[-1]).lower()
        return self.types.get(key, {}).get(_unquote(column).lower())


def _matching_paren(text: str, open_idx: int) -> int:
    depth = 0
    for tok in tokenize(text[open_idx:]):
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
            if depth == 0:
                return open_idx + tok.start
    raise ValueError("paréntesis sin cerrar")


def _split_top_level(body: str) -> list[str]:
    items: list[str] = []
    depth = 0
    last = 0
    for tok in tokenize(body):
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
        elif tok.text == "," and depth == 0:
            items.append(body[last : tok.start])
            last = tok.end
    items.append(body[last:])
    return [i.strip() for i in items if i.strip()]


_CONSTRAINT_WORDS = {"CONSTRAINT", "PRIMARY", "FOREIGN", "CHECK", "UNIQUE", "INDEX", "PERIOD"}


def column_defs(body: str) -> list[str]:
    """Column names of a ``CREATE TABLE (...)`` / ``TABLE (...)`` / ``WITH (...)`` body."""
    cols = []
    for item in _split_top_level(body):
        toks = tokenize(item)
        if not toks or toks[0].upper in _CONSTRAINT_WORDS:
            continue
        cols.append(_unquote(toks[0].text))
    return cols


def column_types(body: str) -> dict[str, str]:
    """Column name -> declared type of a ``CREATE TABLE (...)`` body (computed columns left out)."""
    out = {}
    for item in _split_top_level(body):
        toks = tokenize(item)
        if len(toks) < 2 or toks[0].upper in _CONSTRAINT_WORDS:
            continue
        declared = declared_type(toks[1:])
        if declared:
            out[_unquote(toks[0].text)] = declared
    return out


def declared_type(toks: list[Tok]) -> str | None:
    """The type at the start of a column definition, normalised: ``DATETIME2(3)``, ``DECIMAL(10,2)``."""
    if not toks or toks[0].kind not in ("word", "bracket") or toks[0].upper == "AS":
        return None
    base = _unquote(toks[0].text).upper()
    if len(toks) < 2 or toks[1].text != "(":
        return base
    args = []
    for tok in toks[2:]:
        if tok.text == ")":
            break
        if tok.text != ",":
            args.append(tok.upper)
    return f"{base}({','.join(args)})"


def _unquote(name: str) -> str:
    if name.startswith("[") and name.endswith("]"):
        return name[1:-1].replace("]]", "]")
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1]
    return name


_NAME = r"(?:\[?\w+\]?\.)?\[?(\w+)\]?"
_CREATE_TABLE_RE = re.compile(r"\bCREATE\s+TABLE\s+" + _NAME + r"\s*\(", re.IGNORECASE)
_ALTER_ADD_RE = re.compile(
    r"\bALTER\s+TABLE\s+" + _NAME + r"\s+ADD\s+(?!CONSTRAINT\b)\[?(\w+)\]?", re.IGNORECASE
)
_CREATE_VIEW_RE = re.compile(
    r"\bCREATE\s+(?:OR\s+ALTER\s+)?VIEW\s+" + _NAME + r"\s+AS\s+(.*)$", re.IGNORECASE | re.DOTALL
)


def output_names(query: exp.Expression) -> list[str] | None:
    """Output column names of a query (left-most SELECT of a UNION); None if it has ``*``."""
    node = query
    while isinstance(node, exp.SetOperation):
        node = node.left
    if isinstance(node, exp.Subquery):
        return output_names(node.this)
    if not isinstance(node, exp.Select):
        return None
    names = []
    for proj in node.expressions:
        if isinstance(proj, exp.Star) or (isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star)):
            return None
        name = proj.alias_or_name
        if name:
            names.append(name)
    return names


def parse_schema(script: str) -> Schema:
    schema = Schema()
    for batch in split_batches(script):
        for m in _CREATE_TABLE_RE.finditer(batch):
            name = m.group(1)
            if batch[max(0, m.start(1) - 1)] == "#":
                continue
            close = _matching_paren(batch, m.end() - 1)
            body = batch[m.end() : close]
            cols = column_defs(body)
            schema.tables.setdefault(name.lower(), {}).update({c.lower(): c for c in cols})
            types = {c.lower(): t for c, t in column_types(body).items()}
            schema.types.setdefault(name.lower(), {}).update(types)
            schema.names[name.lower()] = name
        for m in _ALTER_ADD_RE.finditer(batch):
            table, col = m.group(1), m.group(2)
            schema.tables.setdefault(table.lower(), {})[col.lower()] = col
            declared = declared_type(tokenize(batch[m.end() : m.end() + 200]))
            if declared:
                schema.types.setdefault(table.lower(), {})[col.lower()] = declared
        vm = _CREATE_VIEW_RE.search(batch)
        if vm:
            name, body = vm.group(1), vm.group(2).strip().rstrip(";")
            tree = sqlglot.parse_one(body, read="tsql")
            cols = output_names(tree) or []
            schema.views[name.lower()] = {c.lower(): c for c in cols}
            schema.names[name.lower()] = name
        for name, params in procedure_headers(batch).items():
            schema.procedures[name.lower()] = params
            schema.names[name.lower()] = name
    return schema


_CREATE_PROC_RE = re.compile(r"\bCREATE\s+(?:OR\s+ALTER\s+)?PROC(?:EDURE)?\s+" + _NAME, re.IGNORECASE)


def procedure_headers(batch: str) -> dict[str, dict[str, bool]]:
    """Procedures defined in a batch: name -> {@param (lower): has default}."""
    out: dict[str, dict[str, bool]] = {}
    for m in _CREATE_PROC_RE.finditer(batch):
        params: dict[str, bool] = {}
        item: list[Tok] = []
        depth = 0
        for tok in tokenize(batch[m.end() :]):
            if tok.text == "(":
                depth += 1
            elif tok.text == ")":
                depth -= 1
            if depth == 0 and tok.kind == "word" and tok.upper == "AS":
                break
            if depth == 0 and tok.text == ",":
                _add_param(params, item)
                item = []
            else:
                item.append(tok)
        _add_param(params, item)
        out[m.group(1)] = params
    return out


def _add_param(params: dict[str, bool], item: list[Tok]) -> None:
    if item and item[0].text.startswith("@"):
        params[item[0].text.lower()] = any(t.text == "=" for t in item)


def exec_problems(sql: str, schema: Schema | None = None) -> list[str]:
    """``EXEC dbo.Proc @Param = ...`` calls of procedures defined in SAM.sql: every named
    parameter must exist, and every parameter without a default must be given."""
    schema = schema or sam_schema()
    problems: list[str] = []
    toks = tokenize(sql)
    for i, tok in enumerate(toks):
        if tok.kind != "word" or tok.upper not in ("EXEC", "EXECUTE"):
            continue
        j = i + 1
        name_parts = []
        while j < len(toks) and (toks[j].kind == "word" or toks[j].text == "."):
            if toks[j].kind == "word":
                if name_parts and toks[j - 1].text != ".":
                    break
                name_parts.append(_unquote(toks[j].text))
            j += 1
        if not name_parts or name_parts[-1].startswith("@"):
            continue
        proc = name_parts[-1]
        params = schema.procedures.get(proc.lower())
        if params is None:
            continue  # not a SAM procedure (system or another database): not checked
        given: list[str] = []
        positional = False
        depth = 0
        k = j
        while k < len(toks):
            t = toks[k]
            if t.text == "(":
                depth += 1
            elif t.text == ")":
                depth -= 1
            elif depth == 0 and (t.text == ";" or (t.kind == "word" and t.upper in PROC_KW | DML_START)):
                break
            elif depth == 0 and t.kind == "word" and t.text.startswith("@"):
                if k + 1 < len(toks) and toks[k + 1].text == "=":
                    given.append(t.text.lower())
                elif not given and toks[k - 1].kind != "word":
                    positional = True
            elif depth == 0 and t.kind in ("string", "number", "qmark") and not given:
                positional = True
            k += 1
        if positional:
            continue
        for g in given:
            if g not in params:
                problems.append(f"parámetro desconocido en EXEC {proc}: {g}")
        for p, has_default in params.items():
            if not has_default and p not in given:
                problems.append(f"falta el parámetro obligatorio {p} en EXEC {proc}")
    return problems


@functools.lru_cache(maxsize=8)
def _schema_from_file(path: str, mtime: float) -> Schema:
    return parse_schema(Path(path).read_text(encoding="utf-8"))


def sam_schema(path: Path = SAM_SQL_PATH) -> Schema:
    return _schema_from_file(str(path), path.stat().st_mtime)


# ---------------------------------------------------------------------------------------------
# DML statement extraction from procedural T-SQL
# ---------------------------------------------------------------------------------------------

DML_START = {"SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "MERGE"}
PROC_KW = {
    "END", "BEGIN", "IF", "ELSE", "DECLARE", "SET", "THROW", "RETURN", "EXEC", "EXECUTE", "COMMIT",
    "ROLLBACK", "PRINT", "WHILE", "CREATE", "ALTER", "DROP", "RAISERROR", "BREAK", "CONTINUE",
    "TRUNCATE", "GRANT", "USE", "SAVE", "WAITFOR", "GOTO", "OPEN", "CLOSE", "FETCH", "DEALLOCATE",
}  # fmt: skip
ROUTINE_KW = {"PROCEDURE", "PROC", "FUNCTION", "TRIGGER", "VIEW"}


def extract_dml(batch: str) -> list[str]:
    """The DML statements of a batch (top level, inside routines, and in ``(SELECT ...)`` conditions)."""
    toks = tokenize(batch)
    stmts: list[str] = []
    depth = 0
    i = 0
    n = len(toks)
    in_stmt = False
    s_start = s_depth = case_depth = 0
    s_update = False

    def close(end_tok: int) -> None:
        nonlocal in_stmt
        end = toks[end_tok - 1].end if end_tok > 0 else 0
        text = batch[toks[s_start].start : end].strip()
        if text:
            stmts.append(text)
        in_stmt = False

    while i < n:
        t = toks[i]
        up = t.upper if t.kind == "word" else t.text
        if in_stmt:
            if up == "(":
                depth += 1
            elif up == ")":
                if depth == s_depth:
                    close(i)
                    depth -= 1
                    i += 1
                    continue
                depth -= 1
            elif up == ";" and depth == s_depth:
                close(i)
            elif t.kind == "word":
                if up == "CASE":
                    case_depth += 1
                elif up == "END" and case_depth > 0:
                    case_depth -= 1
                elif up in ("UPDATE", "MERGE"):
                    s_update = True
                elif (
                    up in PROC_KW
                    and depth == s_depth
                    and not (up == "SET" and s_update)
                    and not (up == "ELSE" and case_depth > 0)
                ):
                    close(i)
                    continue  # re-process this token in procedural mode
            i += 1
            continue

        # procedural mode
        if up == "(":
            depth += 1
        elif up == ")":
            depth -= 1
        elif t.kind == "word" and up in DML_START:
            in_stmt = True
            s_start, s_depth, case_depth = i, depth, 0
            s_update = up in ("UPDATE", "MERGE")
        elif t.kind == "word" and up in ("CREATE", "ALTER"):
            j = i + 1
            words = []
            while j < n and len(words) < 3 and toks[j].kind == "word":
                words.append(toks[j].upper)
                j += 1
            if any(w in ROUTINE_KW for w in words):
                # Skip the header (name, parameters) up to AS at this depth.
                k, d = i + 1, depth
                while k < n:
                    if toks[k].text == "(":
                        d += 1
                    elif toks[k].text == ")":
                        d -= 1
                    elif d == depth and toks[k].kind == "word" and toks[k].upper == "AS":
                        break
                    k += 1
                i = k + 1
                continue
            i = _skip_to_semicolon(toks, i, depth)
            continue
        elif t.kind == "word" and up == "DROP":
            i = _skip_to_semicolon(toks, i, depth)
            continue
        i += 1
    if in_stmt:
        close(n)
    return stmts


def _skip_to_semicolon(toks: list[Tok], i: int, depth: int) -> int:
    d = depth
    k = i + 1
    while k < len(toks):
        if toks[k].text == "(":
            d += 1
        elif toks[k].text == ")":
            d -= 1
            if d < depth:
                return k
        elif toks[k].text == ";" and d == depth:
            return k + 1
        k += 1
    return k


_TEMP_TABLE_RE = re.compile(r"\bCREATE\s+TABLE\s+#(\w+)\s*\(", re.IGNORECASE)
_TABLE_VAR_RE = re.compile(r"\bDECLARE\s+@(\w+)\s+(?:AS\s+)?TABLE\s*\(", re.IGNORECASE)


def local_tables(text: str) -> dict[str, dict[str, str]]:
    """Temp tables and table variables declared in the text: lower name -> columns."""
    out: dict[str, dict[str, str]] = {}
    for rx in (_TEMP_TABLE_RE, _TABLE_VAR_RE):
        for m in rx.finditer(text):
            close = _matching_paren(text, m.end() - 1)
            cols = column_defs(text[m.end() : close])
            out[m.group(1).lower()] = {c.lower(): c for c in cols}
    return out


# ---------------------------------------------------------------------------------------------
# Column resolution
# ---------------------------------------------------------------------------------------------

SCOPES = (exp.Select, exp.Update, exp.Delete, exp.Merge, exp.Insert)
ANY = None  # a source whose columns are unknown (accepts any column)


def _is_scope(node: exp.Expression) -> bool:
    if not isinstance(node, SCOPES):
        return False
    # INSERT/UPDATE/DELETE inside MERGE ... WHEN belong to the MERGE.
    return not isinstance(node.parent, exp.When)


def _scope_of(node: exp.Expression) -> exp.Expression | None:
    p = node.parent
    while p is not None and not _is_scope(p):
        p = p.parent
    return p


def _scope_chain(node: exp.Expression) -> list[exp.Expression]:
    chain = []
    s = _scope_of(node)
    while s is not None:
        chain.append(s)
        s = _scope_of(s)
    return chain


class _Resolver:
    def __init__(self, schema: Schema, locals_: dict[str, dict[str, str]], text: str):
        self.schema = schema
        self.locals = locals_
        self.text = text
        self.problems: list[str] = []
        self.ctes: dict[str, dict[str, str] | None] = {}
        self.sources: dict[int, dict[str, dict[str, str] | None]] = {}
        self.aliases: dict[int, set[str]] = {}
        self.targets: dict[int, dict[str, str] | None] = {}

    def problem(self, msg: str) -> None:
        if msg not in self.problems:
            self.problems.append(msg)

    # -- sources ----------------------------------------------------------------------------
    def _table_columns(self, table: exp.Table) -> dict[str, str] | None:
        inner = table.this
        if isinstance(inner, exp.OpenJSON):
            cols = {}
            for cd in inner.expressions or []:
                name = cd.name if hasattr(cd, "name") else None
                if name:
                    cols[name.lower()] = name
            return cols or ANY
        if isinstance(inner, (exp.Func, exp.Anonymous)):
            fname = (inner.name if isinstance(inner, exp.Anonymous) else inner.sql_name()).upper()
            if fname == "STRING_SPLIT":
                return {"value": "value", "ordinal": "ordinal"}
            return ANY
        if isinstance(inner, exp.Parameter):  # table variable @t
            return self.locals.get(inner.name.lower(), ANY)
        name = table.name
        key = name.lower()
        db = (table.db or "").lower()
        if db in SYSTEM_SCHEMAS or table.catalog:
            return ANY
        if isinstance(inner, exp.Identifier) and inner.args.get("temporary"):
            return self.locals.get(key, ANY)
        if not db and key in self.ctes:
            return self.ctes[key]
        rel = self.schema.relation(name)
        if rel is not None:
            return rel
        if key in self.locals:
            return self.locals[key]
        self.problem(f"tabla o vista desconocida: {table.sql('tsql')}")
        return ANY

    def collect(self, root: exp.Expression) -> None:
        for cte in root.find_all(exp.CTE):
            names = output_names(cte.this)
            col_aliases = cte.args.get("alias") and cte.args["alias"].columns
            if col_aliases:
                names = [c.name for c in col_aliases]
            self.ctes[cte.alias.lower()] = {c.lower(): c for c in names} if names is not None else ANY
        for node in root.walk():
            if _is_scope(node):
                self.sources.setdefault(id(node), {})
                names = set()
                if isinstance(node, exp.Select):
                    names = {p.alias.lower() for p in node.expressions if p.alias}
                self.aliases[id(node)] = names
        for table in root.find_all(exp.Table):
            scope = _scope_of(table)
            if scope is None:
                continue
            src = self.sources[id(scope)]
            alias = table.alias
            # UPDATE a SET ... FROM T AS a: the target "a" is an alias, not a table.
            if (
                not alias
                and isinstance(scope, exp.Update)
                and scope.this is table
                and self._alias_defined_in(scope, table.name)
            ):
                continue
            cols = self._table_columns(table)
            key = (alias or table.name).lower()
            src[key] = cols
            if isinstance(scope, (exp.Insert, exp.Update, exp.Delete, exp.Merge)) and (
                scope.this is table or (isinstance(scope.this, exp.Schema) and scope.this.this is table)
            ):
                self.targets[id(scope)] = cols
        for sub in root.find_all(exp.Subquery):
            if not sub.alias:
                continue
            scope = _scope_of(sub)
            if scope is None:
                continue
            names = output_names(sub.this)
            col_aliases = sub.args["alias"].columns if sub.args.get("alias") else None
            if col_aliases:
                names = [c.name for c in col_aliases]
            self.sources[id(scope)][sub.alias.lower()] = (
                {c.lower(): c for c in names} if names is not None else ANY
            )
        for lat in root.find_all(exp.Lateral):  # CROSS/OUTER APPLY
            scope = _scope_of(lat)
            if scope is None or not lat.alias:
                continue
            inner = lat.this
            if isinstance(inner, (exp.Subquery, exp.Select, exp.SetOperation)):
                names = output_names(inner)
                cols = {c.lower(): c for c in names} if names is not None else ANY
            else:
                cols = self._table_columns(exp.Table(this=inner.copy()))
            self.sources[id(scope)][lat.alias.lower()] = cols
        # UPDATE alias targets: resolve the target's columns through the alias.
        for node in root.walk():
            if isinstance(node, exp.Update) and _is_scope(node) and id(node) not in self.targets:
                t = node.this
                if isinstance(t, exp.Table):
                    self.targets[id(node)] = self.sources[id(node)].get(t.name.lower(), ANY)

    @staticmethod
    def _alias_defined_in(scope: exp.Expression, name: str) -> bool:
        low = name.lower()
        for t in scope.find_all(exp.Table):
            if t is not scope.this and t.alias and t.alias.lower() == low and _scope_of(t) is scope:
                return True
        return False

    # -- checks -----------------------------------------------------------------------------
    def check(self, root: exp.Expression) -> None:
        self.collect(root)
        for col in root.find_all(exp.Column):
            if isinstance(col.this, exp.Star):
                continue
            self._check_column(col)
        for ins in root.find_all(exp.Insert):
            if isinstance(ins.this, exp.Schema) and _is_scope(ins):
                cols = self.targets.get(id(ins), ANY)
                if cols is ANY:
                    continue
                for ident in ins.this.expressions:
                    name = ident.name
                    if name and name.lower() not in cols:
                        self.problem(f"columna desconocida: {ins.this.this.sql('tsql')}.{name}")

    def _check_column(self, col: exp.Column) -> None:
        name = col.name
        low = name.lower()
        qual = col.table
        chain = _scope_chain(col)
        if not chain:
            return
        if qual:
            q = qual.lower()
            for scope in chain:
                src = self.sources.get(id(scope), {})
                if q in src:
                    cols = src[q]
                    if cols is not ANY and low not in cols:
                        self.problem(f"columna desconocida: {qual}.{name}")
                    return
            if q in ("inserted", "deleted"):
                for scope in chain:
                    if id(scope) in self.targets:
                        cols = self.targets[id(scope)]
                        if cols is not ANY and low not in cols:
                            self.problem(f"columna desconocida: {qual}.{name}")
                        return
                return
            self.problem(f"alias o tabla desconocida: {qual} (en {qual}.{name})")
            return
        saw_source = False
        for scope in chain:
            src = self.sources.get(id(scope), {})
            for cols in src.values():
                saw_source = True
                if cols is ANY or low in cols:
                    return
            if low in self.aliases.get(id(scope), set()):
                return
        if not saw_source:
            return  # e.g. SELECT without FROM: nothing to resolve against
        self.problem(f"columna desconocida: {name}")


@functools.lru_cache(maxsize=4096)
def _column_problems_cached(stmt: str, locals_key: str, schema_id: int) -> tuple[str, ...]:
    schema = _SCHEMAS[schema_id]
    locals_ = local_tables(locals_key)
    try:
        trees = sqlglot.parse(stmt, read="tsql")
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0][:200]
        return (f"sqlglot no pudo analizar la sentencia: {first}",)
    problems: list[str] = []
    for tree in trees:
        if tree is None or isinstance(tree, exp.Command):
            continue
        r = _Resolver(schema, locals_, stmt)
        r.check(tree)
        problems.extend(p for p in r.problems if p not in problems)
    return tuple(problems)


_SCHEMAS: dict[int, Schema] = {}


def column_problems(sql: str, schema: Schema | None = None) -> list[str]:
    """Unknown columns/tables in the DML statements of ``sql`` (one batch or statement)."""
    schema = schema or sam_schema()
    _SCHEMAS[id(schema)] = schema
    text = replace_qmarks(sql)
    problems: list[str] = []
    for batch in split_batches(text):
        for stmt in extract_dml(batch):
            for p in _column_problems_cached(stmt, batch, id(schema)):
                if p not in problems:
                    problems.append(p)
    return problems


def check_tsql(sql: str, schema: Schema | None = None) -> list[str]:
    """All problems of a T-SQL text: sqlfluff parse problems and unknown columns (sqlglot)."""
    text = replace_qmarks(sql)
    problems: list[str] = []
    for batch in split_batches(text):
        problems.extend(parse_problems(batch))
    problems.extend(column_problems(text, schema))
    problems.extend(exec_problems(text, schema))
    return list(dict.fromkeys(problems))


# ---------------------------------------------------------------------------------------------
# Lints (ARCHITECTURE §8.3): T-SQL forms that behave differently under pyodbc / SQL Server
# ---------------------------------------------------------------------------------------------
#
# ``lint_tsql(sql, origen=..., schema=...)`` returns Spanish problem strings, each starting with
# a stable code in brackets (``LINT_CODES``). Everything works on the tokenizer above, so text in
# comments and string literals never matches a pattern. Statements come from ``split_batches`` +
# ``extract_dml``; column types from ``Schema.column_type`` (SAM.sql).

LINT_CODES = (
    "openjson-sin-cast",
    "texto-largo-sin-cast",
    "fecha-igual-parametro",
    "temporal-sin-collate",
    "not-exists-sin-bloqueo",
    "tabla-sin-esquema",
    "literal-no-ascii",
    "nocount-en-sesion",
    "applock-sin-sesion",
    "throw-sin-condicion",
)
ORIGENES = ("registro", "sam_sql")
_CANARY_RE = re.compile(r"--\s*sam-lint:\s*canario-codificacion\b", re.IGNORECASE)

_CLAUSE_KW = {
    "WHERE", "ON", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "OUTER", "JOIN", "SET", "WITH",
    "OUTPUT", "VALUES", "SELECT", "GROUP", "ORDER", "HAVING", "UNION", "EXCEPT", "INTERSECT",
    "WHEN", "USING", "FROM", "INTO", "OPTION", "DEFAULT", "AS", "AND", "OR", "NOT", "THEN", "CASE",
    "PIVOT", "UNPIVOT", "FOR", "TABLESAMPLE", "APPLY", "TOP", "STATISTICS", "EXISTS", "IN", "IS",
    "NULL", "DISTINCT", "ALL", "BY", "CASCADE", "NO", "ACTION", "LIKE", "BETWEEN",
}  # fmt: skip
_RESERVED = _CLAUSE_KW | PROC_KW | DML_START
_WRITE_VERBS = {"INSERT", "UPDATE", "DELETE", "MERGE"}
_REF_KW = {"FROM", "JOIN", "INTO", "UPDATE", "DELETE", "MERGE", "USING", "APPLY", "INSERT"}
_SOURCE_KW = {"FROM", "JOIN", "USING", "APPLY"}  # keywords after which NAME(...) is a table function
_ARITH = {"+", "-", "*", "/", "%", "&", "|", "^", "."}
_OP_PAIRS = {("<", ">"), ("!", "="), ("<", "="), (">", "="), ("!", "<"), ("!", ">")}
_STRING_TYPES = {"CHAR", "VARCHAR", "NCHAR", "NVARCHAR", "TEXT", "NTEXT", "SYSNAME"}
_DATETIME_TYPES = {"DATETIME", "DATETIME2", "SMALLDATETIME"}
_LOCK_HINTS = {"UPDLOCK", "HOLDLOCK"}
_MESSAGE_KW = {"THROW", "RAISERROR", "PRINT"}
_TRAN_WORDS = {"TRAN", "TRANSACTION", "DISTRIBUTED"}


# -- token helpers ----------------------------------------------------------------------------


def _lint_tokens(sql: str) -> list[Tok]:
    """``tokenize`` with the two-character operators (``<>``, ``!=``, ``<=``, ``>=``) merged."""
    out: list[Tok] = []
    for tok in tokenize(sql):
        prev = out[-1] if out else None
        if prev is not None and prev.end == tok.start and (prev.text, tok.text) in _OP_PAIRS:
            out[-1] = Tok("punct", prev.text + tok.text, prev.start, tok.end)
        else:
            out.append(tok)
    return out


def _is_word(tok: Tok | None, *words: str) -> bool:
    return tok is not None and tok.kind == "word" and tok.upper in words


def _at(toks: list[Tok], k: int) -> Tok | None:
    return toks[k] if 0 <= k < len(toks) else None


def _text_at(toks: list[Tok], k: int) -> str:
    tok = _at(toks, k)
    return tok.text if tok is not None else ""


def _is_name(tok: Tok | None) -> bool:
    return tok is not None and tok.kind in ("word", "bracket", "dquote")


def _is_column(tok: Tok | None) -> bool:
    if tok is None or tok.kind in ("bracket", "dquote"):
        return tok is not None
    return tok.kind == "word" and not tok.text.startswith(("@", "#")) and tok.upper not in _RESERVED


def _group_end(toks: list[Tok], open_idx: int) -> int:
    """Index of the ``)`` matching the ``(`` at ``open_idx`` (last index if unclosed)."""
    depth = 0
    for k in range(open_idx, len(toks)):
        if toks[k].text == "(":
            depth += 1
        elif toks[k].text == ")":
            depth -= 1
            if depth == 0:
                return k
    return len(toks) - 1


def _split_items(toks: list[Tok], lo: int, hi: int) -> list[tuple[int, int]]:
    """Top-level comma-separated items of ``toks[lo:hi]`` as ``(start, end)`` ranges."""
    items, depth, start = [], 0, lo
    for k in range(lo, hi):
        if toks[k].text == "(":
            depth += 1
        elif toks[k].text == ")":
            depth -= 1
        elif toks[k].text == "," and depth == 0:
            items.append((start, k))
            start = k + 1
    items.append((start, hi))
    return [(a, b) for a, b in items if a < b]


def _is_bare_qmark(toks: list[Tok], a: int, b: int) -> bool:
    return b - a == 1 and toks[a].kind == "qmark"


def _excerpt(text: str, start: int, end: int, limit: int = 110) -> str:
    snippet = " ".join(text[start:end].split())
    return snippet if len(snippet) <= limit else snippet[: limit - 1] + "…"


def _span(text: str, toks: list[Tok], a: int, b: int, line0: int = 0) -> str:
    """Excerpt of ``toks[a..b]`` (inclusive) and its line (``line0``: lines before ``text``)."""
    line = line0 + text.count("\n", 0, toks[a].start) + 1
    return f"{_excerpt(text, toks[a].start, toks[min(b, len(toks) - 1)].end)} (línea {line})"


# -- table references -------------------------------------------------------------------------


@dataclass
class _Ref:
    """A table source: ``FROM dbo.T AS a WITH (UPDLOCK)``, ``INTO #t``, ``OPENJSON(...) AS j``..."""

    kw_index: int
    parts: list[str]
    kind: str  # "table" | "function" | "derived"
    alias: str | None = None
    hints: set[str] = field(default_factory=set)
    end: int = 0  # index after the reference (name, alias and hints)

    @property
    def name(self) -> str:
        return self.parts[-1] if self.parts else ""

    @property
    def schema(self) -> str | None:
        return self.parts[-2] if len(self.parts) > 1 else None

    @property
    def local(self) -> bool:
        return self.name.startswith(("#", "@"))

    def permanent(self, ctes: set[str] = frozenset()) -> bool:
        """A permanent table or view (not #temp, @variable, system view, CTE, INSERTED/DELETED)."""
        low = self.name.lower()
        system = (self.schema or "").lower() in SYSTEM_SCHEMAS
        pseudo = not self.schema and (low in ctes or low in ("inserted", "deleted"))
        return self.kind == "table" and not self.local and not system and not pseudo

    def label(self) -> str:
        return ".".join(self.parts)


def _read_name(toks: list[Tok], k: int) -> tuple[list[str], int]:
    """A dotted object name starting at ``k``: (parts, index after it)."""
    parts: list[str] = []
    while _is_name(_at(toks, k)):
        if not parts and toks[k].kind == "word" and toks[k].upper in _RESERVED:
            break
        parts.append(_unquote(toks[k].text))
        k += 1
        if _text_at(toks, k) != ".":
            break
        k += 1
    return parts, k


def _skip_top(toks: list[Tok], k: int) -> int:
    if not _is_word(_at(toks, k), "TOP"):
        return k
    k = _group_end(toks, k + 1) + 1 if _text_at(toks, k + 1) == "(" else k + 2
    return k + 1 if _is_word(_at(toks, k), "PERCENT") else k


def _parse_tail(toks: list[Tok], k: int, ref: _Ref) -> _Ref:
    """Alias and ``WITH (hints)`` after a table source (in either order)."""
    while k < len(toks):
        tok = toks[k]
        if _is_word(tok, "WITH") and _text_at(toks, k + 1) == "(":
            end = _group_end(toks, k + 1)
            ref.hints |= {t.upper for t in toks[k + 2 : end] if t.kind == "word"}
            k = end + 1
        elif ref.alias is None and _is_word(tok, "AS") and _is_name(_at(toks, k + 1)):
            ref.alias = _unquote(toks[k + 1].text)
            k += 2
        elif ref.alias is None and _is_column(tok):
            ref.alias = _unquote(tok.text)
            k += 1
        else:
            break
    ref.end = k
    return ref


def _parse_ref(toks: list[Tok], i: int, kw: str) -> _Ref | None:
    """The table source after the keyword (or comma of a comma join) at ``i``."""
    k = _skip_top(toks, i + 1)
    nxt = _at(toks, k)
    if nxt is None or _is_word(nxt, "INTO") or (kw == "DELETE" and _is_word(nxt, "FROM")):
        return None  # INSERT INTO / MERGE INTO / DELETE FROM: the next keyword has the name
    if nxt.text == "(":
        if kw not in _SOURCE_KW:
            return None
        return _parse_tail(toks, _group_end(toks, k) + 1, _Ref(i, [], "derived"))
    parts, k = _read_name(toks, k)
    if not parts:
        return None
    if kw in _SOURCE_KW and _text_at(toks, k) == "(":
        return _parse_tail(toks, _group_end(toks, k) + 1, _Ref(i, parts, "function"))
    return _parse_tail(toks, k, _Ref(i, parts, "table"))


def _is_distinct_from(toks: list[Tok], i: int) -> bool:
    return _is_word(_at(toks, i - 1), "DISTINCT") and _is_word(_at(toks, i - 2), "IS", "NOT")


def _table_refs(toks: list[Tok]) -> list[_Ref]:
    refs: list[_Ref] = []
    for i, tok in enumerate(toks):
        if tok.kind != "word" or tok.upper not in _REF_KW or _is_distinct_from(toks, i):
            continue
        ref = _parse_ref(toks, i, tok.upper)
        while ref is not None:
            refs.append(ref)
            comma_join = tok.upper == "FROM" and _text_at(toks, ref.end) == ","
            ref = _parse_ref(toks, ref.end, "FROM") if comma_join else None
    return refs


def _sources(refs: list[_Ref]) -> dict[str, _Ref]:
    """Lower alias or table name -> the source it names (an alias wins over a table name)."""
    out: dict[str, _Ref] = {}
    for ref in refs:
        if ref.kind == "table":
            out.setdefault(ref.name.lower(), ref)
    for ref in refs:
        if ref.alias:
            out[ref.alias.lower()] = ref
    return out


def _cte_names(toks: list[Tok]) -> set[str]:
    names: set[str] = set()
    if not _is_word(_at(toks, 0), "WITH"):
        return names
    k = 1
    while _is_name(_at(toks, k)):
        names.add(_unquote(toks[k].text).lower())
        k += 1
        if _text_at(toks, k) == "(":  # column list
            k = _group_end(toks, k) + 1
        if not (_is_word(_at(toks, k), "AS") and _text_at(toks, k + 1) == "("):
            break
        k = _group_end(toks, k + 1) + 1
        if _text_at(toks, k) != ",":
            break
        k += 1
    return names


def _main_verb(toks: list[Tok]) -> int | None:
    """Index of the statement's verb (SELECT/INSERT/UPDATE/DELETE/MERGE) at depth 0."""
    depth = 0
    for k, tok in enumerate(toks):
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
        elif depth == 0 and _is_word(tok, "SELECT", *_WRITE_VERBS):
            return k
    return None


def _write_target(verb_idx: int, refs: list[_Ref]) -> _Ref | None:
    """The table written by the INSERT/UPDATE/DELETE/MERGE at ``verb_idx`` (aliases resolved)."""
    ref = next((r for r in refs if r.kw_index in (verb_idx, verb_idx + 1)), None)
    if ref is not None and ref.kind == "table" and not ref.schema:
        return _sources(refs).get(ref.name.lower(), ref)
    return ref


# -- statements and parameter bindings --------------------------------------------------------


@dataclass
class _Stmt:
    text: str
    toks: list[Tok]
    refs: list[_Ref]
    ctes: set[str]
    line0: int = 0  # lines of the linted text before this statement

    def span(self, a: int, b: int) -> str:
        return _span(self.text, self.toks, a, b, self.line0)


@dataclass
class _Binding:
    """A ``?`` bound to a column: assigned (``SET c = ?``, INSERT), compared, in IN or COALESCE."""

    kind: str  # "asignacion" | "comparacion" | "in" | "coalesce" | "insert"
    qual: str | None
    column: str
    excerpt: str
    table: str | None = None  # known directly (INSERT target); otherwise resolved by qualifier


def _located_batches(sql: str) -> list[tuple[int, str]]:
    """``split_batches`` with the number of lines before each batch."""
    out, cursor = [], 0
    for batch in split_batches(sql):
        cursor = sql.find(batch, cursor)
        out.append((sql.count("\n", 0, cursor), batch))
        cursor += 1
    return out


def _statements(batches: list[tuple[int, str]]) -> list[_Stmt]:
    out = []
    for line0, batch in batches:
        cursor = 0
        for text in extract_dml(batch):
            cursor = batch.find(text, cursor)
            toks = _lint_tokens(text)
            start_line = line0 + batch.count("\n", 0, cursor)
            out.append(_Stmt(text, toks, _table_refs(toks), _cte_names(toks), start_line))
            cursor += 1
    return out


def _colref_before(toks: list[Tok], j: int) -> tuple[str | None, str, int] | None:
    """Column reference ending at ``j``: (qualifier, column, first index)."""
    if not _is_column(_at(toks, j)):
        return None
    if _text_at(toks, j - 1) == "." and _is_name(_at(toks, j - 2)):
        return _unquote(toks[j - 2].text), _unquote(toks[j].text), j - 2
    return None, _unquote(toks[j].text), j


def _colref_after(toks: list[Tok], k: int) -> tuple[str | None, str, int] | None:
    """Column reference starting at ``k`` (not a function call): (qualifier, column, last index)."""
    if not _is_column(_at(toks, k)):
        return None
    if _text_at(toks, k + 1) == "." and _is_column(_at(toks, k + 2)):
        qual, col, last = _unquote(toks[k].text), _unquote(toks[k + 2].text), k + 2
    else:
        qual, col, last = None, _unquote(toks[k].text), k
    if _text_at(toks, last + 1) in ("(", "."):
        return None
    return qual, col, last


def _assignment_starts(toks: list[Tok]) -> set[int]:
    """Indices where a ``SET a = ..., b = ...`` assignment target starts (UPDATE and MERGE).

    After a SET, a comma at the SET's parenthesis depth separates assignments (no later clause
    of an UPDATE or MERGE has a top-level comma followed by ``col =``)."""
    starts: set[int] = set()
    in_set: set[int] = set()
    depth = 0
    for k, tok in enumerate(toks):
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            in_set.discard(depth)
            depth -= 1
        elif tok.text == ";":
            in_set.clear()
        elif (tok.text == "," and depth in in_set) or _is_word(tok, "SET"):
            in_set.add(depth)
            starts.add(k + 1)
    return starts


def _operator_bindings(stmt: _Stmt) -> list[_Binding]:
    """``col = ?``, ``col <> ?``, ``? = col`` (assignments in SET lists are told apart)."""
    toks, out = stmt.toks, []
    assignments = _assignment_starts(toks)
    for i, tok in enumerate(toks):
        if tok.kind != "punct" or tok.text not in ("=", "<>", "!="):
            continue
        right_qmark = _at(toks, i + 1) is not None and toks[i + 1].kind == "qmark"
        if right_qmark and _text_at(toks, i + 2) not in _ARITH:
            col = _colref_before(toks, i - 1)
            if col:
                qual, name, first = col
                kind = "asignacion" if tok.text == "=" and first in assignments else "comparacion"
                out.append(_Binding(kind, qual, name, stmt.span(first, i + 1)))
        elif _at(toks, i - 1) is not None and toks[i - 1].kind == "qmark":
            col = _colref_after(toks, i + 1)
            if col and _text_at(toks, i - 2) not in _ARITH:
                qual, name, last = col
                out.append(_Binding("comparacion", qual, name, stmt.span(i - 1, last)))
    return out


def _in_list_bindings(stmt: _Stmt) -> list[_Binding]:
    """``col [NOT] IN (?, ...)``."""
    toks, out = stmt.toks, []
    for i, tok in enumerate(toks):
        if not _is_word(tok, "IN") or _text_at(toks, i + 1) != "(":
            continue
        close = _group_end(toks, i + 1)
        if not any(_is_bare_qmark(toks, a, b) for a, b in _split_items(toks, i + 2, close)):
            continue
        col = _colref_before(toks, i - 2 if _is_word(_at(toks, i - 1), "NOT") else i - 1)
        if col:
            qual, name, first = col
            out.append(_Binding("in", qual, name, stmt.span(first, close)))
    return out


def _coalesce_bindings(stmt: _Stmt) -> list[_Binding]:
    """``COALESCE(?, col)`` / ``col = COALESCE(?, ...)`` (also ISNULL)."""
    toks, out = stmt.toks, []
    for i, tok in enumerate(toks):
        if not _is_word(tok, "COALESCE", "ISNULL") or _text_at(toks, i + 1) != "(":
            continue
        close = _group_end(toks, i + 1)
        items = _split_items(toks, i + 2, close)
        if not any(_is_bare_qmark(toks, a, b) for a, b in items):
            continue
        cols = [c for a, b in items if (c := _colref_after(toks, a)) and c[2] == b - 1]
        lhs = _colref_before(toks, i - 2) if _text_at(toks, i - 1) == "=" else None
        start = lhs[2] if lhs else i
        excerpt = stmt.span(start, close)
        for qual, name, _ in ([lhs] if lhs else []) + cols:
            out.append(_Binding("coalesce", qual, name, excerpt))
    return out


def _insert_bindings(stmt: _Stmt) -> list[_Binding]:
    """``INSERT INTO t (cols) VALUES (...)`` / ``... SELECT ?, ...`` (also MERGE's INSERT)."""
    toks, out = stmt.toks, []
    for i, tok in enumerate(toks):
        if not _is_word(tok, "INSERT"):
            continue
        target = _insert_target(stmt, i)
        if target is None or not target[0].permanent(stmt.ctes):
            continue
        ref, columns, k = target
        excerpt = stmt.span(i, k - 1)
        for pos, (a, b) in enumerate(_inserted_values(toks, k)):
            if pos < len(columns) and _is_bare_qmark(toks, a, b):
                out.append(_Binding("insert", None, columns[pos], excerpt, table=ref.name))
    return out


def _insert_target(stmt: _Stmt, i: int) -> tuple[_Ref, list[str], int] | None:
    """(target, column names, index after the column list) of the INSERT at ``i``."""
    toks = stmt.toks
    if _text_at(toks, i + 1) == "(":  # MERGE ... THEN INSERT (cols): the MERGE target
        ref = next((r for r in stmt.refs if toks[r.kw_index].upper in ("MERGE", "INTO")), None)
        k = i + 1
    else:
        ref = next((r for r in stmt.refs if r.kw_index in (i, i + 1)), None)
        k = ref.end if ref else -1
    if ref is None or _text_at(toks, k) != "(":
        return None
    close = _group_end(toks, k)
    columns = [_unquote(toks[a].text) for a, _b in _split_items(toks, k + 1, close)]
    return ref, columns, close + 1


def _inserted_values(toks: list[Tok], k: int) -> list[tuple[int, int]]:
    """Item ranges of the VALUES rows or of the SELECT list that follows an INSERT column list."""
    depth = 0
    while k < len(toks):
        tok = toks[k]
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
        elif depth == 0 and _is_word(tok, "VALUES"):
            return _values_rows(toks, k + 1)
        elif depth == 0 and _is_word(tok, "SELECT"):
            return _select_list(toks, k + 1)
        k += 1
    return []


def _values_rows(toks: list[Tok], k: int) -> list[tuple[int, int]]:
    items: list[tuple[int, int]] = []
    while _text_at(toks, k) == "(":
        close = _group_end(toks, k)
        items.extend(_split_items(toks, k + 1, close))
        k = close + 1
        if _text_at(toks, k) != ",":
            break
        k += 1
    return items


def _select_list(toks: list[Tok], k: int) -> list[tuple[int, int]]:
    while _is_word(_at(toks, k), "DISTINCT", "ALL"):
        k += 1
    k = _skip_top(toks, k)
    depth, end = 0, k
    while end < len(toks):
        tok = toks[end]
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (tok.text == ";" or _is_word(tok, "FROM", "WHERE", "UNION", "ORDER", "GROUP")):
            break
        end += 1
    return _split_items(toks, k, end)


def _bindings(stmt: _Stmt) -> list[_Binding]:
    return (
        _operator_bindings(stmt) + _in_list_bindings(stmt) + _coalesce_bindings(stmt) + _insert_bindings(stmt)
    )


def _resolve_type(stmt: _Stmt, schema: Schema, b: _Binding) -> tuple[str, str] | None:
    """(table, declared type) of the bound column, or None when it cannot be resolved."""
    if b.table:
        declared = schema.column_type(b.table, b.column)
        return (b.table, declared) if declared else None
    if b.qual:
        ref = _sources(stmt.refs).get(b.qual.lower())
        candidates = [ref] if ref is not None else []
    else:
        candidates = stmt.refs
    found = {
        (r.name, declared)
        for r in candidates
        if r.permanent(stmt.ctes) and (declared := schema.column_type(r.name, b.column))
    }
    if len({declared for _, declared in found}) != 1:
        return None
    name, declared = sorted(found)[0]
    return schema.names.get(name.lower(), name), declared


def _is_long_text(declared: str) -> bool:
    base, _, rest = declared.upper().partition("(")
    size = rest.rstrip(")")
    if base in ("NTEXT", "TEXT"):
        return True
    limit = {"NVARCHAR": 2000, "VARCHAR": 4000}.get(base)
    return limit is not None and (size == "MAX" or (size.isdigit() and int(size) > limit))


def _cast_hint(declared: str) -> str:
    size = declared.upper().partition("(")[2].rstrip(")")
    return f"CAST(? AS {declared.upper()})" if size.isdigit() else "CAST(? AS NVARCHAR(MAX))"


# -- the lints --------------------------------------------------------------------------------


@dataclass
class _LintInput:
    sql: str
    origen: str
    schema: Schema
    toks: list[Tok]
    batches: list[tuple[int, str]]  # (lines before the batch, batch text)
    statements: list[_Stmt]


def _lint_openjson(ctx: _LintInput) -> list[str]:
    toks, out = ctx.toks, []
    for i, tok in enumerate(toks):
        if not (_is_word(tok, "OPENJSON") and _text_at(toks, i + 1) == "("):
            continue
        arg = _at(toks, i + 2)  # OPENJSON(?), OPENJSON(?, '$.x'), OPENJSON(? + ...): all ntext
        if arg is not None and arg.kind == "qmark":
            out.append(
                "[openjson-sin-cast] OPENJSON recibe un parámetro sin CAST(? AS NVARCHAR(MAX)) "
                "(pyodbc envía un str de más de 2000 caracteres como ntext y OPENJSON lo rechaza): "
                + _span(ctx.sql, toks, i, _group_end(toks, i + 1))
            )
    return out


def _lint_long_text(ctx: _LintInput) -> list[str]:
    out = []
    for stmt in ctx.statements:
        for b in _bindings(stmt):
            found = _resolve_type(stmt, ctx.schema, b)
            if found and _is_long_text(found[1]):
                table, declared = found
                out.append(
                    f"[texto-largo-sin-cast] parámetro ? sin CAST para la columna de texto largo "
                    f"{table}.{b.column} ({declared}); pyodbc envía un str de más de 2000 caracteres "
                    f"como ntext: use {_cast_hint(declared)}: {b.excerpt}"
                )
    return out


def _lint_datetime_equality(ctx: _LintInput) -> list[str]:
    out = []
    for stmt in ctx.statements:
        for b in _bindings(stmt):
            if b.kind not in ("comparacion", "in"):
                continue
            found = _resolve_type(stmt, ctx.schema, b)
            if found and found[1].partition("(")[0] in _DATETIME_TYPES:
                table, declared = found
                out.append(
                    f"[fecha-igual-parametro] igualdad entre la columna {table}.{b.column} "
                    f"({declared}) y un parámetro ? (pyodbc lo envía como datetime, ticks de 1/300 s): "
                    f"compare con una variable tipada (DECLARE @s DATETIME2(3) = ?): {b.excerpt}"
                )
    return out


def _local_table_body(toks: list[Tok], i: int) -> tuple[str, int] | None:
    """``CREATE TABLE #t (`` or ``DECLARE @t [AS] TABLE (`` at ``i``: (name, index of ``(``)."""
    if _is_word(toks[i], "CREATE") and _is_word(_at(toks, i + 1), "TABLE"):
        name = _at(toks, i + 2)
        if name is not None and name.text.startswith("#") and _text_at(toks, i + 3) == "(":
            return name.text, i + 3
    if _is_word(toks[i], "DECLARE") and _text_at(toks, i + 1).startswith("@"):
        k = i + 3 if _is_word(_at(toks, i + 2), "AS") else i + 2
        if _is_word(_at(toks, k), "TABLE") and _text_at(toks, k + 1) == "(":
            return toks[i + 1].text, k + 1
    return None


def _lint_temp_collation(ctx: _LintInput) -> list[str]:
    toks, out = ctx.toks, []
    for i in range(len(toks)):
        found = _local_table_body(toks, i)
        if found is None:
            continue
        name, open_idx = found
        for a, b in _split_items(toks, open_idx + 1, _group_end(toks, open_idx)):
            if b - a < 2 or toks[a].upper in _CONSTRAINT_WORDS:
                continue
            is_text = _unquote(toks[a + 1].text).upper() in _STRING_TYPES
            if is_text and not any(_is_word(t, "COLLATE") for t in toks[a:b]):
                out.append(
                    f"[temporal-sin-collate] columna de texto de {name} sin COLLATE DATABASE_DEFAULT "
                    f"(Msg 468 si la intercalación de tempdb difiere de la de la base): "
                    + _span(ctx.sql, toks, a, b - 1)
                )
    return out


def _unlocked(ref: _Ref, ctes: set[str]) -> bool:
    """A permanent table read without both UPDLOCK and HOLDLOCK."""
    return ref.permanent(ctes) and not _LOCK_HINTS <= ref.hints


def _exists_groups(toks: list[Tok]) -> list[tuple[int, int, int]]:
    """``[NOT] EXISTS (`` groups: (index of NOT/EXISTS, index of ``(``, index of ``)``)."""
    out = []
    for i, tok in enumerate(toks):
        if _is_word(tok, "EXISTS") and _text_at(toks, i + 1) == "(":
            first = i - 1 if _is_word(_at(toks, i - 1), "NOT") else i
            out.append((first, i + 1, _group_end(toks, i + 1)))
    return out


def _unlocked_message(guard: str, reads: _Ref, writes: _Ref, excerpt: str) -> str:
    return (
        f"[not-exists-sin-bloqueo] {guard} lee {reads.label()} sin WITH (UPDLOCK, HOLDLOCK) y la "
        f"sentencia escribe en {writes.label()} (otra sesión puede cambiarlo entre la comprobación "
        f"y la escritura): {excerpt}"
    )


def _lint_exists_in_dml(stmt: _Stmt) -> list[str]:
    verb = _main_verb(stmt.toks)
    if verb is None or not _is_word(stmt.toks[verb], *_WRITE_VERBS):
        return []
    target = _write_target(verb, stmt.refs)
    if target is None or not target.permanent(stmt.ctes):
        return []
    groups = _exists_groups(stmt.toks)
    out = []
    for ref in stmt.refs:
        inside = [g for g in groups if g[1] < ref.kw_index < g[2]]
        if not inside or not _unlocked(ref, stmt.ctes):
            continue
        first, open_idx, _close = max(inside, key=lambda g: g[1])  # the innermost EXISTS
        guard = " ".join(t.upper for t in stmt.toks[first:open_idx])
        out.append(_unlocked_message(guard, ref, target, stmt.span(first, ref.end - 1)))
    return out


def _block_end(toks: list[Tok], begin_idx: int) -> int:
    """Index of the END closing the BEGIN at ``begin_idx`` (CASE ... END counted)."""
    depth = 0
    for k in range(begin_idx, len(toks)):
        tok = toks[k]
        if (_is_word(tok, "BEGIN") and not _is_word(_at(toks, k + 1), *_TRAN_WORDS)) or _is_word(tok, "CASE"):
            depth += 1
        elif _is_word(tok, "END"):
            depth -= 1
            if depth == 0:
                return k
    return len(toks)


def _if_body_writes(toks: list[Tok], k: int) -> list[int]:
    """Indices of the write verbs of the IF body that starts after the condition at ``k``."""
    while k < len(toks) and not (toks[k].kind == "word" and toks[k].upper in PROC_KW | DML_START):
        k = _group_end(toks, k) + 1 if toks[k].text == "(" else k + 1
    if k >= len(toks):
        return []
    if _is_word(toks[k], "BEGIN") and not _is_word(_at(toks, k + 1), *_TRAN_WORDS):
        return [j for j in range(k + 1, _block_end(toks, k)) if _is_word(toks[j], *_WRITE_VERBS)]
    return [k] if _is_word(toks[k], *_WRITE_VERBS) else []


def _lint_if_exists_guards(line0: int, batch: str) -> list[str]:
    toks = _lint_tokens(batch)
    refs = _table_refs(toks)
    out = []
    for first, open_idx, close in _exists_groups(toks):
        if not _is_word(_at(toks, first - 1), "IF"):
            continue
        unlocked = [r for r in refs if open_idx < r.kw_index < close and _unlocked(r, set())]
        targets = [_write_target(w, refs) for w in _if_body_writes(toks, close + 1)]
        target = next((t for t in targets if t is not None and t.permanent()), None)
        guard = " ".join(t.upper for t in toks[first - 1 : open_idx])
        for ref in unlocked if target is not None else []:
            out.append(
                _unlocked_message(guard, ref, target, _span(batch, toks, first - 1, ref.end - 1, line0))
            )
    return out


def _lint_unlocked_exists(ctx: _LintInput) -> list[str]:
    out = [p for stmt in ctx.statements for p in _lint_exists_in_dml(stmt)]
    return out + [p for line0, batch in ctx.batches for p in _lint_if_exists_guards(line0, batch)]


def _lint_schema_prefix(ctx: _LintInput) -> list[str]:
    out = []
    for stmt in ctx.statements:
        skip = {r.alias.lower() for r in stmt.refs if r.alias} | stmt.ctes | {"inserted", "deleted"}
        for ref in stmt.refs:
            if ref.kind == "table" and not ref.schema and not ref.local and ref.name.lower() not in skip:
                out.append(
                    f"[tabla-sin-esquema] tabla o vista sin esquema (use dbo.{ref.name}): "
                    + stmt.span(ref.kw_index, ref.end - 1)
                )
    return out


def _is_message_text(toks: list[Tok], k: int) -> bool:
    """Whether the literal at ``k`` is in a THROW/RAISERROR/PRINT or ``SET|DECLARE @Mensaje... =``."""
    depth = 0
    for j in range(k - 1, -1, -1):
        tok = toks[j]
        if tok.text == ")":
            depth += 1
        elif tok.text == "(":
            depth = max(depth - 1, 0)
        elif depth == 0 and tok.kind == "word" and tok.upper in PROC_KW | DML_START:
            if tok.upper in ("SET", "DECLARE"):
                return _text_at(toks, j + 1).lower().startswith("@mensaje")
            return tok.upper in _MESSAGE_KW
    return False


def _canary_lines(sql: str) -> set[int]:
    return {
        sql.count("\n", 0, m.start())
        for m in _TOKEN_RE.finditer(sql)
        if m.lastgroup == "lcomment" and _CANARY_RE.match(m.group(0))
    }


def _lint_non_ascii(ctx: _LintInput) -> list[str]:
    canaries = _canary_lines(ctx.sql) if ctx.origen == "sam_sql" else set()
    out = []
    for k, tok in enumerate(ctx.toks):
        if tok.kind != "string" or tok.text.isascii():
            continue
        lines = {ctx.sql.count("\n", 0, tok.start), ctx.sql.count("\n", 0, tok.end)}
        if ctx.origen == "sam_sql" and (lines & canaries or _is_message_text(ctx.toks, k)):
            continue
        chars = ", ".join(f"{c} = NCHAR({ord(c)})" for c in dict.fromkeys(tok.text) if not c.isascii())
        out.append(
            f"[literal-no-ascii] literal con caracteres no ASCII (sqlcmd sin -f 65001 lo corrompe); "
            f"use NCHAR(...) ({chars}): {_span(ctx.sql, ctx.toks, k, k)}"
        )
    return out


def _routine_start(toks: list[Tok]) -> int:
    """Index of the first ``CREATE [OR ALTER] PROCEDURE|TRIGGER`` of a batch (len if none)."""
    for i, tok in enumerate(toks):
        if _is_word(tok, "CREATE", "ALTER"):
            words = [t.upper for t in toks[i + 1 : i + 4] if t.kind == "word"]
            if {"PROC", "PROCEDURE", "TRIGGER"} & set(words):
                return i
    return len(toks)


def _lint_nocount(ctx: _LintInput) -> list[str]:
    if ctx.origen != "registro":
        return []
    out = []
    for line0, batch in ctx.batches:
        toks = tokenize(batch)
        routine = _routine_start(toks)
        for i in range(min(routine, len(toks) - 2)):
            if _is_word(toks[i], "SET") and _is_word(toks[i + 1], "NOCOUNT") and _is_word(toks[i + 2], "ON"):
                out.append(
                    "[nocount-en-sesion] SET NOCOUNT ON en una sentencia registrada: persiste en la "
                    "conexión del pool y deja cursor.rowcount = -1 en todas las sentencias siguientes: "
                    + _span(batch, toks, i, i + 2, line0)
                )
    return out


_APPLOCK_POSITIONAL = ("@RESOURCE", "@LOCKMODE", "@LOCKOWNER", "@LOCKTIMEOUT", "@DBPRINCIPAL")
_STATEMENT_START = {"SELECT", "DECLARE", "SET", "IF", "EXEC", "EXECUTE", "INSERT", "UPDATE", "DELETE", "MERGE",
                    "RETURN", "BEGIN", "END", "COMMIT", "ROLLBACK", "WHILE", "PRINT", "THROW", "RAISERROR"}


def _applock_owner(toks: list[Tok], k: int) -> str | None:
    """The ``@LockOwner`` of the ``sp_getapplock`` call at ``toks[k]`` (named or third positional)."""
    args: list[list[Tok]] = [[]]
    j = k + 1
    while j < len(toks) and toks[j].text != ";" and not (
        toks[j].kind == "word" and toks[j].upper in _STATEMENT_START and _text_at(toks, j - 1) != "="
    ):
        if toks[j].text == ",":
            args.append([])
        else:
            args[-1].append(toks[j])
        j += 1
    for pos, arg in enumerate(a for a in args if a):
        if len(arg) >= 3 and arg[0].upper.startswith("@") and arg[1].text == "=":
            if arg[0].upper == "@LOCKOWNER":
                return arg[2].text.strip("N'").upper() if arg[2].kind == "string" else arg[2].upper
        elif pos < len(_APPLOCK_POSITIONAL) and _APPLOCK_POSITIONAL[pos] == "@LOCKOWNER":
            return arg[0].text.strip("N'").upper() if arg[0].kind == "string" else arg[0].upper
    return None


def _lint_applock_session(ctx: _LintInput) -> list[str]:
    """H1: a leader's app lock is owned by the session of a dedicated connection, never by a
    transaction (released at the first COMMIT) and never left to the default (Transaction)."""
    out = []
    for k, tok in enumerate(ctx.toks):
        if tok.kind != "word" or tok.upper != "SP_GETAPPLOCK":
            continue
        owner = _applock_owner(ctx.toks, k)
        if owner != "SESSION":
            que = "sin @LockOwner (por defecto Transaction)" if owner is None else f"con @LockOwner = {owner}"
            out.append(
                f"[applock-sin-sesion] sp_getapplock {que}: el bloqueo se suelta al terminar la transacción "
                "y dos procesos se creerían líderes; use @LockOwner = 'Session' en una conexión dedicada: "
                + _span(ctx.sql, ctx.toks, k, min(k + 1, len(ctx.toks) - 1))
            )
    return out


_THROW_RE = re.compile(r"^(\s*)THROW\s+\S", re.IGNORECASE)


def _lint_orphan_throw(ctx: _LintInput) -> list[str]:
    """A THROW indented under a statement that already ended (``…;`` or ``END``) is not the body of
    the IF it was written for: it runs always. A merge that slips a block between ``IF <cond>`` and
    its THROW leaves exactly this (the IF then guards the slipped statement instead)."""
    out, anterior = [], None  # (indent, text) of the previous line of code
    for n, linea in enumerate(ctx.sql.splitlines(), start=1):
        codigo = linea.split("--", 1)[0].rstrip()
        if not codigo.strip():
            continue
        m = _THROW_RE.match(codigo)
        if m and anterior is not None:
            sangria, previa = anterior
            terminada = previa.endswith(";") or previa.strip().upper() in ("END", "END;")
            if len(m.group(1)) > sangria and terminada:
                out.append(f"[throw-sin-condicion] línea {n}: THROW sangrado bajo una instrucción ya terminada "
                           f"(«{previa.strip()[:60]}»): se ejecuta siempre; ¿falta su IF?")
        anterior = (len(codigo) - len(codigo.lstrip()), codigo)
    return out


_LINTS = (
    _lint_orphan_throw,
    _lint_applock_session,
    _lint_openjson,
    _lint_long_text,
    _lint_datetime_equality,
    _lint_temp_collation,
    _lint_unlocked_exists,
    _lint_schema_prefix,
    _lint_non_ascii,
    _lint_nocount,
)


def lint_tsql(sql: str, *, origen: str = "registro", schema: Schema | None = None) -> list[str]:
    """Problems of the unsafe T-SQL forms of ARCHITECTURE §8.3, each prefixed ``[code]``.

    ``origen="registro"``: a statement Python sends through pyodbc; ``"sam_sql"``: the SAM.sql
    script (messages for people may carry non-ASCII text; ``SET NOCOUNT ON`` is fine there).
    """
    if origen not in ORIGENES:
        raise ValueError(f"origen desconocido: {origen!r} (use {' o '.join(ORIGENES)})")
    batches = _located_batches(sql)
    ctx = _LintInput(sql, origen, schema or sam_schema(), _lint_tokens(sql), batches, _statements(batches))
    problems: list[str] = []
    for lint in _LINTS:
        problems.extend(lint(ctx))
    return list(dict.fromkeys(problems))


def lint_report_sam_sql(path: Path = SAM_SQL_PATH) -> list[str]:
    """Informative: the lint problems of SAM.sql today (``origen="sam_sql"``)."""
    return lint_tsql(path.read_text(encoding="utf-8"), origen="sam_sql", schema=sam_schema(path))
