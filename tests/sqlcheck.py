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

    def relation(self, name: str) -> dict[str, str] | None:
        key = name.lower()
        return self.tables.get(key) or self.views.get(key)

    def columns(self, table: str) -> list[str]:
        rel = self.relation(table) or {}
        return list(rel.values())


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
            cols = column_defs(batch[m.end() : close])
            schema.tables.setdefault(name.lower(), {}).update({c.lower(): c for c in cols})
            schema.names[name.lower()] = name
        for m in _ALTER_ADD_RE.finditer(batch):
            table, col = m.group(1), m.group(2)
            schema.tables.setdefault(table.lower(), {})[col.lower()] = col
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
