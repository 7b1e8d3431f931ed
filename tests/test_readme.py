"""The README matches the code (issue 6, "Done when"): every variable it names exists, every command
it shows points at something that exists, and its SQL passes the static check against SAM.sql.

Checks:
- the first fenced block is the quick start, with the two commands first;
- every setting-like UPPER_CASE token (and every ``PREFIX_*`` wildcard) is a ``SETTINGS`` name, and
  every ``NAME=value`` example parses with that setting's type;
- every ``.py`` path, ``python -m`` module and ``scripts/*.ps1`` it mentions exists, and every
  ``--option`` given to them is defined by that code; every benchmark is listed with its command;
- the PowerShell parameters of the NSSM scripts it documents exist (and all are documented);
- every procedure it EXECs exists in SAM.sql with the named parameters used; its SQL (blocks and
  inline statements) passes the static T-SQL check (sqlfluff + columns against SAM.sql);
- the alert subjects and job names in the alerts table are the ones the code sends;
- internal links point at existing headings;
- ``.env.example`` names only real settings (test_C9_env_example_lists_every_setting covers the other direction);
- the ``python -c`` commands it gives (token generation, configuration check) actually work.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from common.paths import PROJECT_ROOT
from common.utils.config_manager import SETTINGS, SETTINGS_BY_NAME, parse_value

README = PROJECT_ROOT / "README.md"
QUICK_START = (
    "python -m pip install -r requirements.txt && python -m demo",
    "python -m pip install -r requirements-dev.txt && python -m pytest",
)
# Token prefixes that denote a setting. Anything starting with one must be a real setting.
SETTING_PREFIXES = (
    "SQL_", "AA_", "API_", "CALLBACK_", "EMAIL_", "LANZADOR_", "BALANCEADOR_", "CLOUDERS_", "LOG_",
    "CONCILIADOR_", "SAM_", "MAPA_", "APP_",
)
# Top-level directories of the repo that README paths and modules may point into.
REPO_DIRS = ("lanzador", "balanceador", "callback", "common", "demo", "benchmarks", "scripts", "tests")
SHELL_LANGS = {"bash", "sh", "powershell", "ps1", "cmd", "console", ""}

_TOKEN = re.compile(r"(?<![A-Za-z0-9_])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*(?:_\*)?(?![A-Za-z0-9_])")
_PY_PATH = re.compile(r"[\w.\\/:-]*\.py\b")
_PY_CMD = re.compile(r"python(?:\.exe)?\s+(?P<target>-m\s+[\w.]+|[\w.\\/:-]+\.py)(?P<rest>[^\n`|]*)")
_SCRIPT = re.compile(r"scripts[\\/][\w.-]+\.ps1")
_FENCE = re.compile(r"^[ \t]*```([\w-]*)[ \t]*\n(.*?)^[ \t]*```[ \t]*$", re.S | re.M)


def _text() -> str:
    return README.read_text(encoding="utf-8")


def _fenced(text: str | None = None) -> list[tuple[str, str]]:
    return [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text or _text())]


def _repo_path(raw: str) -> Path | None:
    """``C:\\SAM\\lanzador\\run_lanzador.py`` / ``./benchmarks/x.py`` -> repo path (None if not ours)."""
    parts = [p for p in re.split(r"[\\/]+", raw) if p and p != "."]
    for i, part in enumerate(parts):
        if part in REPO_DIRS:
            return PROJECT_ROOT.joinpath(*parts[i:])
    return None


def _module_path(module: str) -> Path | None:
    """File that ``python -m module`` runs, for modules of this repo (None for external ones)."""
    parts = module.split(".")
    if parts[0] not in REPO_DIRS:
        return None
    base = PROJECT_ROOT.joinpath(*parts)
    for candidate in (base / "__main__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return base / "__main__.py"   # missing: the caller reports it


# ----------------------------------------------------------------------------- quick start

def test_I6_3_first_fenced_commands_are_the_quick_start():
    blocks = _fenced()
    assert blocks, "README has no fenced block"
    lang, body = blocks[0]
    assert lang in SHELL_LANGS, f"the first fenced block must be the quick start commands, not {lang!r}"
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    assert tuple(lines[:2]) == QUICK_START


# ----------------------------------------------------------------------------- settings

def _setting_tokens(text: str) -> set[str]:
    return {t for t in _TOKEN.findall(text) if "_" in t and t.startswith(SETTING_PREFIXES)}


def test_I6_3_token_scanner_finds_settings_and_wildcards():
    found = _setting_tokens("Use `SQL_SAM_HOST`, SQL_RPA360_* and CLOUDERS_*; not RUN_COMPLETED or X_SAM_HOST.")
    assert found == {"SQL_SAM_HOST", "SQL_RPA360_*", "CLOUDERS_*"}


def test_I6_3_every_setting_named_in_readme_exists():
    names = set(SETTINGS_BY_NAME)
    unknown = []
    for token in sorted(_setting_tokens(_text())):
        if token.endswith("_*"):
            if not any(n.startswith(token[:-1]) for n in names):
                unknown.append(token)
        elif token not in names:
            unknown.append(token)
    assert not unknown, f"README names settings that are not in config_manager.SETTINGS: {unknown}"


def test_I6_3_readme_names_the_settings_that_matter_most():
    tokens = _setting_tokens(_text())
    for name in ("SQL_SAM_HOST", "SQL_SAM_DB_NAME", "SQL_SAM_DRIVER", "SQL_SAM_PARAMETROS_ODBC_EXTRA", "AA_URL",
                 "AA_URL_CALLBACK", "CALLBACK_TOKEN", "CALLBACK_AUTH_MODE", "CALLBACK_SERVER_PORT",
                 "EMAIL_SMTP_SERVER", "LANZADOR_PAUSA_INICIO_HHMM", "BALANCEADOR_PROVEEDORES_CARGA", "MAPA_ROBOTS",
                 "CLOUDERS_MODO", "CLOUDERS_SSH_KNOWN_HOSTS", "CLOUDERS_SSH_ACEPTAR_HOST_DESCONOCIDO",
                 "LOG_DIRECTORY", "SAM_ZONA_HORARIA"):
        assert name in tokens, f"README does not mention {name}"


def test_I6_5_env_example_names_only_real_settings():
    text = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    declared = [line.split("=", 1)[0].strip() for line in text.splitlines()
                if "=" in line and not line.lstrip().startswith("#")]
    unknown = [n for n in declared if n not in SETTINGS_BY_NAME]
    assert not unknown, f".env.example declares names that are not settings: {unknown}"
    assert len(declared) == len(set(declared)), ".env.example declares a name twice"
    assert {s.name for s in SETTINGS} <= set(declared)


def _assignments() -> list[tuple[str, str]]:
    """``NAME=value`` examples: whole lines of text blocks and whole inline code spans."""
    text = _text()
    found = []
    for lang, body in _fenced(text):
        if lang in ("text", ""):
            found += re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", body, re.M)
    found += re.findall(r"`([A-Z][A-Z0-9_]*)=([^`]*)`", _FENCE.sub("", text))
    return [(name, value) for name, value in found if name in SETTINGS_BY_NAME]


def test_I6_3_every_example_value_is_valid_for_its_setting():
    examples = _assignments()
    assert {"MAPA_ROBOTS", "LANZADOR_PAUSA_INICIO_HHMM", "CALLBACK_AUTH_MODE"} <= {n for n, _ in examples}
    problems = []
    for name, value in examples:
        try:
            parse_value(SETTINGS_BY_NAME[name], value)
        except ValueError as exc:
            problems.append(f"{name}={value}: {exc}")
    assert not problems, f"README shows values the settings reject: {problems}"


# ----------------------------------------------------------------------------- paths and commands

def test_I6_3_every_python_path_mentioned_exists():
    missing = []
    for raw in sorted(set(_PY_PATH.findall(_text()))):
        path = _repo_path(raw)
        if path is not None:
            if not path.is_file():
                missing.append(raw)
        else:
            # a bare or relative name (layout section): it must exist somewhere in the repo
            pattern = raw.replace("\\", "/").lstrip("./")
            if not any(p for p in PROJECT_ROOT.rglob(pattern) if "demo_run" not in p.parts):
                missing.append(raw)
    assert not missing, f"README mentions .py files that do not exist: {missing}"


def _commands() -> list[tuple[Path, str, str]]:
    """(file run, target as written, rest of the line) for every ``python X`` in the README."""
    out = []
    for m in _PY_CMD.finditer(_text()):
        target = m.group("target")
        if target.startswith("-m"):
            path = _module_path(target.split()[1])
        else:
            path = _repo_path(target)
        if path is not None:
            out.append((path, target, m.group("rest")))
    return out


def test_I6_3_every_python_command_targets_existing_code():
    commands = _commands()
    targets = {t for _, t, _ in commands}
    for expected in ("-m demo", "callback/run_callback.py", "balanceador/run_balanceador.py"):
        assert any(expected in t.replace("\\", "/") for t in targets), f"README lacks `python {expected}`"
    missing = sorted({t for path, t, _ in commands if not path.is_file()})
    assert not missing, f"README runs code that does not exist: {missing}"


def test_I6_3_every_option_given_to_our_code_is_defined_there():
    problems = []
    for path, target, rest in _commands():
        if not path.is_file():
            continue   # reported by the test above
        # the option may be defined in the entry file or in its package (e.g. runner.py, main.py)
        package = path.parent if path.name in ("__main__.py",) or path.parent.name != "service" else path.parent.parent
        sources = [path, *sorted(package.rglob("*.py")), *sorted(path.parent.parent.glob("service/*.py"))]
        text = "\n".join(p.read_text(encoding="utf-8") for p in sources if p.is_file())
        for option in re.findall(r"(?<![\w-])--[a-z][\w-]*", rest):
            if option == "--help":
                continue
            if f'"{option}"' not in text and f"'{option}'" not in text:
                problems.append(f"python {target} {option}")
    assert not problems, f"README passes options the code does not define: {problems}"


def test_I6_3_demo_options_documented_match_the_runner():
    runner = (PROJECT_ROOT / "demo" / "runner.py").read_text(encoding="utf-8")
    text = _text()
    for option in re.findall(r'add_argument\("(--[\w-]+)"', runner):
        assert f"`{option}" in text, f"README does not document python -m demo {option}"


def test_I6_3_every_benchmark_is_documented_with_its_command():
    text = _text().replace("\\", "/")
    missing = [p.name for p in sorted((PROJECT_ROOT / "benchmarks").glob("bench_*.py"))
               if f"python benchmarks/{p.name}" not in text]
    assert not missing, f"benchmarks not documented in the README: {missing}"


def test_I6_4_every_script_mentioned_exists_and_both_are_documented():
    mentioned = {m.replace("\\", "/") for m in _SCRIPT.findall(_text())}
    assert {"scripts/install_services.ps1", "scripts/uninstall_services.ps1"} <= mentioned
    missing = [m for m in sorted(mentioned) if not (PROJECT_ROOT / m).is_file()]
    assert not missing, f"README mentions scripts that do not exist: {missing}"


def _ps_params(script: str) -> set[str]:
    text = (PROJECT_ROOT / "scripts" / script).read_text(encoding="utf-8")
    block = text[text.index("param("):]
    block = block[: block.index("\n)")]
    return set(re.findall(r"\$(\w+)\s*(?:=|,|$)", block, re.M))


def test_I6_4_nssm_script_parameters_documented_exist_and_all_are_documented():
    text = _text()
    section = text[text.index("## Servicios NSSM"):]
    section = section[: section.index("\n## ", 5)]
    params = _ps_params("install_services.ps1") | _ps_params("uninstall_services.ps1")
    used = set(re.findall(r"(?<![\w-])-([A-Z][A-Za-z]+)\b", section))
    unknown = sorted(used - params - {"ExecutionPolicy", "File"})
    assert not unknown, f"README uses NSSM script parameters that do not exist: {unknown}"
    undocumented = sorted(_ps_params("install_services.ps1") - used)
    assert not undocumented, f"install_services.ps1 parameters missing from the README: {undocumented}"
    for service in ("SAM-Lanzador", "SAM-Callback", "SAM-Balanceador"):
        assert service in section


# ----------------------------------------------------------------------------- SQL

def _sam_sql() -> str:
    return (PROJECT_ROOT / "SAM.sql").read_text(encoding="utf-8")


def _procedure_params(name: str) -> set[str]:
    sql = _sam_sql()
    m = re.search(rf"CREATE OR ALTER PROCEDURE dbo\.{name}\b(.*?)\bAS\b", sql, re.S | re.I)
    assert m, f"procedure dbo.{name} is not in SAM.sql"
    return {p.lower() for p in re.findall(r"@(\w+)", m.group(1))}


def test_I6_3_procedures_and_parameters_used_exist_in_sam_sql():
    text = _text()
    calls = re.findall(r"EXEC\s+dbo\.(\w+)([^;\n]*)", text)
    names = {name for name, _ in calls}
    assert {"AsignarRobotOnline", "CargarProgramacionDiaria", "CargarProgramacionSemanal",
            "CargarProgramacionMensual", "CargarProgramacionEspecifica"} <= names
    for name, args in calls:
        params = _procedure_params(name)
        for used in re.findall(r"@(\w+)\s*=", args):
            assert used.lower() in params, f"dbo.{name} has no parameter @{used}"
    for name in re.findall(r"GRANT EXECUTE ON dbo\.(\w+)", text):
        if name != "usp_obtener_tickets_pendientes_por_robot":   # lives in the rpa360 database
            _procedure_params(name)


def test_I6_3_tables_and_views_named_exist_in_sam_sql():
    sql = _sam_sql()
    defined = set(re.findall(r"CREATE TABLE dbo\.(\w+)", sql)) | set(re.findall(r"CREATE OR ALTER VIEW dbo\.(\w+)", sql))
    defined |= set(re.findall(r"CREATE OR ALTER PROCEDURE dbo\.(\w+)", sql))
    missing = sorted({n for n in re.findall(r"\bdbo\.(\w+)", _text())} - defined
                     - {"usp_obtener_tickets_pendientes_por_robot"})
    assert not missing, f"README names objects SAM.sql does not define: {missing}"


def test_I6_3_readme_sql_passes_the_static_tsql_check():
    from tests.sqlcheck import check_tsql

    problems = []
    blocks = [body for lang, body in _fenced() if lang == "sql"]
    assert blocks
    # inline statements in the prose, e.g. `UPDATE dbo.Equipos SET Activo_SAM = 0 WHERE ...;`
    blocks += re.findall(r"`((?:SELECT|UPDATE|DELETE|INSERT|EXEC)\b[^`]*;)`", _FENCE.sub("", _text()))
    for body in blocks:
        if re.search(r"\b(LOGIN|GRANT|ALTER ROLE|CREATE USER|USE)\b", body):
            continue   # server administration, not part of the SAM schema
        problems += [f"{p}\n--- in:\n{body}" for p in check_tsql(body)]
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------- alerts

def _code_text() -> str:
    files = [f for d in ("lanzador", "balanceador", "common") for f in sorted((PROJECT_ROOT / d).rglob("*.py"))]
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


#: ``{plural(n, 'fallo', 'fallos')}`` reads "N fallos" in the README.
_PLURAL = re.compile(r"""\{plural\([^{}]*?,\s*['"][^'"]*['"],\s*['"]([^'"]*)['"]\)\}""")


def _in_code(piece: str, code: str) -> bool:
    """Literally, or with one word standing for an f-string field (``de {tabla} con``)."""
    code = _PLURAL.sub(r"{n} \1", code)
    if piece in code:
        return True
    words = piece.split(" ")
    for i in range(len(words)):
        before, after = " ".join(words[:i]), " ".join(words[i + 1:])
        if re.search(re.escape(before) + r" ?\{[^{}]*\} ?" + re.escape(after), code):
            return True
    return False


def test_I6_3_alert_subjects_in_the_readme_are_the_ones_the_code_sends():
    text = _text()
    start = text.index("| asunto (servicio)")
    table = text[start: text.index("\n\n", start)]
    subjects = [s for row in table.splitlines()[2:] for cell in row.split(" | ")[:1] + row.split(" | ")[2:]
                for s in re.findall(r"`([^`]+)`", cell) if " " in s and not _setting_tokens(s)]
    assert len(subjects) >= 9, subjects
    code = _code_text()
    missing = []
    for subject in subjects:
        for piece in re.split(r"<[^>]*>|…|'[^']*'|\b[NM]\b", subject):
            piece = piece.strip(" /.")
            if len(piece) >= 10 and not _in_code(piece, code):
                missing.append(piece)
    assert not missing, f"alert subjects in the README that no code sends: {missing}"
    jobs = set(re.findall(r'add_job\(\s*"(\w+)"', code))
    named = set(re.findall(r"`(\w+)`", table.split("Error inesperado en la tarea")[1].split("\n")[0]))
    assert named and named <= jobs, f"job names in the README {sorted(named)} vs code {sorted(jobs)}"


def _subject_texts(node: ast.AST) -> list[str]:
    """The fixed text of a subject expression, fields as ``{}`` (a name or a lambda: nothing)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)]
    if isinstance(node, ast.IfExp):
        return _subject_texts(node.body) + _subject_texts(node.orelse)
    if isinstance(node, ast.BinOp):
        return ["{}".join(_subject_texts(node.left) + _subject_texts(node.right))]
    return []


#: call -> index of its subject argument (``RachaDeFallos.fallo/exito(asunto, ...)``,
#: ``send_alert/send_recovery(key, subject, ...)`` and the modules' wrappers of it).
_SUBJECT_ARG = {"fallo": 0, "exito": 0, "send_alert": 1, "send_recovery": 1, "_alert": 1, "_alertar_fila": 1}


def _subjects_in_code() -> dict[str, str]:
    """Every alert subject the services send, as fixed text with ``{}`` for fields -> its file."""
    out: dict[str, str] = {}
    for d in ("lanzador", "balanceador", "common", "callback"):
        for f in sorted((PROJECT_ROOT / d).rglob("*.py")):
            for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
                exprs: list[ast.AST] = []
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    receptor = node.func.value
                    i = _SUBJECT_ARG.get(node.func.attr)
                    es_bd_sam = (isinstance(receptor, ast.Attribute) and receptor.attr == "bd_sam") or (
                        isinstance(receptor, ast.Name) and receptor.id == "bd_sam")
                    if i is not None and len(node.args) > i and not es_bd_sam:  # bd_sam.fallo(trabajo, exc)
                        exprs.append(node.args[i])
                elif isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Name) and (t.id == "asunto" or t.id.startswith("ASUNTO_"))
                        for t in node.targets):
                    exprs.append(node.value)
                for e in exprs:
                    for text in _subject_texts(e):
                        out[text] = f.relative_to(PROJECT_ROOT).as_posix()
    return out


def test_I6_3_every_alert_subject_the_code_sends_is_in_the_readme_alerts_table():
    """The other direction: a subject added or changed in the code gets its README row."""
    text = _text()
    start = text.index("| asunto (servicio)")
    table = " ".join(re.findall(r"`([^`]+)`", text[start: text.index("\n\n", start)]))
    subjects = _subjects_in_code()
    assert len(subjects) >= 20, subjects
    missing = []
    for subject, path in sorted(subjects.items()):
        for piece in subject.split("{}"):
            piece = piece.strip(" :/.()'")
            if len(piece) >= 10 and piece not in table:
                missing.append(f"{path}: {piece!r} (asunto {subject!r})")
    assert not missing, "alert subjects the code sends that the README's alerts table lacks:\n" + "\n".join(missing)


# ----------------------------------------------------------------------------- links

def _slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_I6_3_internal_links_point_at_headings():
    text = _text()
    body = _FENCE.sub("", text)
    slugs = {_slug(h) for h in re.findall(r"^#{1,6}\s+(.+)$", body, re.M)}
    broken = sorted({a for a in re.findall(r"\]\(#([^)]+)\)", body) if a not in slugs})
    assert not broken, f"README links to missing headings: {broken}"


_IMAGEN = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


def test_every_image_the_readme_shows_exists_and_has_a_caption():
    images = _IMAGEN.findall(_FENCE.sub("", _text()))
    assert images, "README shows no image (the console section has the screenshots of docs/capturas)"
    missing = [ruta for _, ruta in images if not (PROJECT_ROOT / ruta).is_file()]
    assert not missing, f"README shows images that do not exist: {missing}"
    assert all(texto.strip() for texto, _ in images), "every README image needs a Spanish caption (alt text)"
    sin_usar = sorted(p.name for p in (PROJECT_ROOT / "docs" / "capturas").glob("*.png")
                      if f"docs/capturas/{p.name}" not in {r for _, r in images})
    assert not sin_usar, f"screenshots in docs/capturas the README does not show: {sin_usar}"


# ----------------------------------------------------------------------------- python -c commands

def _python_c(fragment: str) -> str:
    for _, body in _fenced():
        for line in body.splitlines():
            m = re.search(r'python(?:\.exe)?\s+-c\s+"([^"]+)"', line)
            if m and fragment in m.group(1):
                return m.group(1)
    raise AssertionError(f"README has no `python -c` command containing {fragment!r}")


def test_I6_3_token_command_generates_a_valid_callback_token():
    code = _python_c("secrets.token_urlsafe(32)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    token = out.stdout.strip()
    assert len(token) >= 16 and " " not in token


def _clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_BY_NAME}
    env.update(values)
    return env


@pytest.mark.skipif(any((PROJECT_ROOT / d / ".env").is_file() for d in ("", "lanzador", "balanceador")),
                    reason="a local .env would change the outcome of the configuration check")
def test_I6_3_configuration_check_command_works(tmp_path):
    code = _python_c("load_config_or_exit")
    valid = _clean_env(
        SQL_SAM_ENGINE="sqlite", SQL_SAM_SQLITE_PATH=str(tmp_path / "sam.db"),
        SQL_RPA360_ENGINE="sqlite", SQL_RPA360_SQLITE_PATH=str(tmp_path / "rpa360.db"),
        AA_URL="https://cr.example.com", AA_USER="svc", AA_PWD="x",
        AA_URL_CALLBACK="http://sam.example.com:8008/api/callback",
        CALLBACK_TOKEN="t" * 32, BALANCEADOR_PROVEEDORES_CARGA="rpa360",
    )
    ok = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=valid, capture_output=True,
                        text=True, encoding="utf-8", timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "Configuración correcta" in ok.stdout
    bad = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env={**valid, "CALLBACK_SERVER_PORT": "80800"},
                         capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert bad.returncode == 2
    assert "CALLBACK_SERVER_PORT" in bad.stderr
