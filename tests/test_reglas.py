"""docs/reglas.md defines every business-rule id that the code and the tests cite (issue 10, item 8).

A **citation** is a rule id written where a person explains the code, in the forms the code uses:

- in prose (docstrings, ``#`` comments, ``assert`` messages, ``--`` and ``/* */`` comments of the
  ``.sql`` files, the ``id`` and ``_…`` description values of the JSON data of the tests): a whole
  word ``<letter><major>[.<minor>]`` with letter ``L B C R H M``, major 1-99 without a leading zero,
  minor 0-99 — ``L5.5``, ``B9``, ``(L4.3)``, ``L3.3:``, ``§7 B2``, ``L2.1-diaria-…``. The character
  before it is neither a word character nor ``.``; the one after it is not a word character and no
  ``.<digit>`` follows. A range (``L5.4–L5.6``, ``B1-B10``, ``B4-B9``) cites every id in it.
- in a test name (``def test_…`` / ``class Test…``): the same id with ``_`` for the dot, delimited by
  ``_`` or the ends of the name — ``test_L5_5_…``, ``test_L1_2_L1_3_…``, ``test_B4_B5_B6_B9_…``;
  ``test_B1_to_B10_…`` is a range.

Not citations: ordinary string literals (robot names in test data, SQL text), linter codes (``C901``, ``B008``, ``BLE001``: three digits or glued to other letters), hex
(``0xB2``), words that merely contain the letters (``SHA256``, ``utf16``). The pattern was chosen
against every hit of ``grep -rhoE "\\b[LBCRHM][0-9]+(\\.[0-9]+)?\\b"`` in the scanned folders: it
keeps all the real citations and none of those.

Scanned: ``common``, ``lanzador``, ``balanceador``, ``callback``, ``demo``, ``benchmarks`` and
``tests`` (``*.py``, ``*.sql``, ``*.json``) and the root ``SAM.sql``. An id is defined by its own
heading in docs/reglas.md (``### L5.5 — …``); ``##`` headings group the entries.
"""

from __future__ import annotations

import ast
import io
import json
import re
import textwrap
import tokenize
from collections import defaultdict
from pathlib import Path

import pytest

RAIZ = Path(__file__).resolve().parent.parent
DOCUMENTO = RAIZ / "docs" / "reglas.md"
CARPETAS = ("common", "lanzador", "balanceador", "callback", "demo", "benchmarks", "tests")
ARCHIVOS_RAIZ = ("SAM.sql",)
EXTENSIONES = (".py", ".sql", ".json")

_ID = r"[LBCRHM][1-9][0-9]?(?:\.[0-9]{1,2})?"
_ANTES = r"(?<![\w.])"
_DESPUES = r"(?!\w|\.[0-9])"
#: A rule id in prose.
CITA = re.compile(_ANTES + "(" + _ID + ")" + _DESPUES)
#: A range in prose: ``L5.4–L5.6``, ``B1-B10``, ``B1 a B10``, ``B4..B9``.
RANGO = re.compile(_ANTES + "(" + _ID + r")\s*(?:-|–|—|\.\.|…|\bto\b|\ba\b)\s*(" + _ID + ")" + _DESPUES)

_ID_NOMBRE = r"[LBCRHM][1-9][0-9]?(?:_[0-9]{1,2})?"
_NO_ALNUM_ANTES = r"(?<![A-Za-z0-9])"
_NO_ALNUM_DESPUES = r"(?![A-Za-z0-9])"
#: A rule id in a test name (``_`` separates words, so it is the delimiter, not a word character).
CITA_NOMBRE = re.compile(
    _NO_ALNUM_ANTES + r"([LBCRHM][1-9][0-9]?)(?:_([0-9]{1,2})(?![A-Za-z0-9]))?" + _NO_ALNUM_DESPUES
)
RANGO_NOMBRE = re.compile(_NO_ALNUM_ANTES + "(" + _ID_NOMBRE + ")_to_(" + _ID_NOMBRE + ")" + _NO_ALNUM_DESPUES)

#: A heading of docs/reglas.md that defines an id: ``### L5.5 — Recuperación de LANZANDO``.
ENTRADA = re.compile(r"^###\s+(" + _ID + r")\s+—\s+\S")
GRUPO = re.compile(r"^##\s+\S")

#: Every id the specification names (BEHAVIOUR §2-§16); the document must define them all.
IDS_DE_LA_ESPECIFICACION = (
    ["L1", "L2", "L3", "L4", "L5", "L6", "L7"]
    + [f"B{n}" for n in range(1, 15)]
    + ["C6"]
    + [f"R{n}" for n in range(1, 5)]
    + [f"H{n}" for n in range(1, 6)]
    + [f"M{n}" for n in range(1, 4)]
)


# --- the checker ------------------------------------------------------------------------------------


def clave(regla: str) -> tuple[str, int, int]:
    """Sort key: letter, major, minor (-1 for none, so ``L5`` precedes ``L5.4``)."""
    letra, resto = regla[0], regla[1:]
    mayor, _, menor = resto.partition(".")
    return letra, int(mayor), int(menor) if menor else -1


def _expandir(desde: str, hasta: str) -> list[str]:
    """The ids of a range; only its two ends when the range is not one family (``B4``-``L2``)."""
    (l1, a1, b1), (l2, a2, b2) = clave(desde), clave(hasta)
    if l1 == l2 and b1 == b2 == -1 and 0 < a2 - a1 <= 20:
        return [f"{l1}{n}" for n in range(a1, a2 + 1)]
    if l1 == l2 and a1 == a2 and -1 < b1 < b2 and b2 - b1 <= 20:
        return [f"{l1}{a1}.{n}" for n in range(b1, b2 + 1)]
    return [desde, hasta]


def citas_en_texto(texto: str) -> set[str]:
    """Rule ids cited in a piece of prose (docstring, comment, message)."""
    ids = {m.group(1) for m in CITA.finditer(texto)}
    for m in RANGO.finditer(texto):
        ids.update(_expandir(m.group(1), m.group(2)))
    return ids


def citas_en_nombre(nombre: str) -> set[str]:
    """Rule ids cited by a test's name (``test_L5_5_…``, ``test_B1_to_B10_…``, ``TestB9…``)."""
    if nombre.startswith("Test"):
        nombre = "_" + nombre[4:]
    ids = {m.group(1) + ("." + m.group(2) if m.group(2) else "") for m in CITA_NOMBRE.finditer(nombre)}
    for m in RANGO_NOMBRE.finditer(nombre):
        ids.update(_expandir(m.group(1).replace("_", "."), m.group(2).replace("_", ".")))
    return ids


def _prosa_de_python(fuente: str, nombre: str) -> list[tuple[int, str, bool]]:
    """(line, text, is_a_name) of every docstring, comment, assert message and test name."""
    arbol = ast.parse(fuente, filename=nombre)
    trozos: list[tuple[int, str, bool]] = []
    for nodo in ast.walk(arbol):
        if isinstance(nodo, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(nodo, clean=False)
            if doc and nodo.body:
                trozos.append((nodo.body[0].lineno, doc, False))
        if isinstance(nodo, (ast.FunctionDef, ast.AsyncFunctionDef)) and nodo.name.startswith("test"):
            trozos.append((nodo.lineno, nodo.name, True))
        elif isinstance(nodo, ast.ClassDef) and nodo.name.startswith("Test"):
            trozos.append((nodo.lineno, nodo.name, True))
        elif isinstance(nodo, ast.Assert) and nodo.msg is not None:
            partes = [n.value for n in ast.walk(nodo.msg) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            if partes:
                trozos.append((nodo.lineno, " ".join(partes), False))
    for tok in tokenize.generate_tokens(io.StringIO(fuente).readline):
        if tok.type == tokenize.COMMENT:
            trozos.append((tok.start[0], tok.string, False))
    return trozos


_COMENTARIO_SQL = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


def _prosa_de_sql(fuente: str) -> list[tuple[int, str, bool]]:
    return [(fuente.count("\n", 0, m.start()) + 1, m.group(0), False) for m in _COMENTARIO_SQL.finditer(fuente)]


def _prosa_de_json(fuente: str) -> list[tuple[int, str, bool]]:
    """Test ids (``"id"``) and descriptions (keys starting with ``_``) of a JSON data file."""
    trozos: list[tuple[int, str, bool]] = []

    def recorrer(valor):
        if isinstance(valor, dict):
            for k, v in valor.items():
                if isinstance(v, str) and (k == "id" or k.startswith("_")):
                    trozos.append((0, v, False))
                else:
                    recorrer(v)
        elif isinstance(valor, list):
            for v in valor:
                recorrer(v)

    recorrer(json.loads(fuente))
    return trozos


def prosa(ruta: Path) -> list[tuple[int, str, bool]]:
    fuente = ruta.read_text(encoding="utf-8")
    if ruta.suffix == ".py":
        return _prosa_de_python(fuente, str(ruta))
    if ruta.suffix == ".sql":
        return _prosa_de_sql(fuente)
    return _prosa_de_json(fuente)


def archivos(raiz: Path) -> list[Path]:
    """The files whose citations are checked, under ``raiz``."""
    encontrados = [raiz / n for n in ARCHIVOS_RAIZ if (raiz / n).is_file()]
    for carpeta in CARPETAS:
        base = raiz / carpeta
        if not base.is_dir():
            continue  # callback/ exists only once the callback service has its package
        for ruta in sorted(base.rglob("*")):
            partes = ruta.relative_to(raiz).parts
            if ruta.suffix in EXTENSIONES and ruta.is_file() and not any(
                p == "__pycache__" or p.startswith(".") for p in partes
            ):
                encontrados.append(ruta)
    return encontrados


def recoger_citas(raiz: Path) -> dict[str, set[str]]:
    """Rule id -> the places (``path:line``) that cite it."""
    citas: dict[str, set[str]] = defaultdict(set)
    for ruta in archivos(raiz):
        relativa = ruta.relative_to(raiz).as_posix()
        for linea, texto, es_nombre in prosa(ruta):
            for regla in citas_en_nombre(texto) if es_nombre else citas_en_texto(texto):
                citas[regla].add(f"{relativa}:{linea}" if linea else relativa)
    return dict(citas)


def leer_documento(texto: str) -> list[tuple[str, list[str]]]:
    """The groups of docs/reglas.md (``##`` heading) with the ids their entries define, in order."""
    grupos: list[tuple[str, list[str]]] = []
    for numero, linea in enumerate(texto.splitlines(), 1):
        if GRUPO.match(linea):
            grupos.append((linea[3:].strip(), []))
        elif linea.startswith("### "):
            m = ENTRADA.match(linea)
            assert m, f"docs/reglas.md:{numero}: una entrada se escribe «### <id> — <título>»: {linea!r}"
            assert grupos, f"docs/reglas.md:{numero}: entrada fuera de todo grupo (##)"
            grupos[-1][1].append(m.group(1))
    return grupos


def sin_definir(citas: dict[str, set[str]], definidas: set[str]) -> dict[str, set[str]]:
    return {regla: lugares for regla, lugares in citas.items() if regla not in definidas}


def informe(faltan: dict[str, set[str]]) -> str:
    """One line per undefined id, with the files (and lines) citing it."""
    lineas = []
    for regla in sorted(faltan, key=clave):
        por_archivo: dict[str, list[str]] = defaultdict(list)
        for lugar in faltan[regla]:
            archivo, _, linea = lugar.partition(":")
            por_archivo[archivo].append(linea)
        detalle = ", ".join(
            f"{a} (líneas {', '.join(sorted(filter(None, ls), key=int))})" if any(ls) else a
            for a, ls in sorted(por_archivo.items())
        )
        lineas.append(f"  {regla}: {detalle}")
    return "ids citados que docs/reglas.md no define:\n" + "\n".join(lineas)


def ids_definidos() -> set[str]:
    return {regla for _, ids in leer_documento(DOCUMENTO.read_text(encoding="utf-8")) for regla in ids}


# --- the checks ---------------------------------------------------------------------------------------


def test_every_cited_rule_id_is_defined_in_docs_reglas():
    citas = recoger_citas(RAIZ)
    # The scan really saw the code: ids cited in several places today (else a broken scan passes).
    assert {"L1.4", "L3.2", "L4.3", "L5.5", "B4", "B9", "C8", "C9"} <= set(citas), sorted(citas, key=clave)
    faltan = sin_definir(citas, ids_definidos())
    assert not faltan, informe(faltan)


def test_a_fake_citation_is_reported_with_the_files_citing_it(tmp_path):
    falso = tmp_path / "tests" / "test_falso.py"
    falso.parent.mkdir()
    falso.write_text(
        textwrap.dedent(
            '''\
            """Fake module: the rule L9.9 does not exist."""

            ROBOTS = [("R7", 3), ("R8", 1)]  # robot names in data are not citations


            def test_L9_7_fake_name():
                """(L9.8) in a docstring."""
                assert ROBOTS, "B99 in an assert message"  # noqa: C901 - and L5.5, which exists


            def helper():  # see L9.4–L9.6
                return "L9.3 in an ordinary string is not a citation"
            '''
        ),
        encoding="utf-8",
    )
    (tmp_path / "SAM.sql").write_text("SELECT 1; -- M9 in a SQL comment\n", encoding="utf-8")
    citas = recoger_citas(tmp_path)
    assert set(citas) == {"L9.9", "L9.7", "L9.8", "B99", "L5.5", "L9.4", "L9.5", "L9.6", "M9"}
    assert citas["L9.9"] == {"tests/test_falso.py:1"}
    assert citas["L9.7"] == {"tests/test_falso.py:6"}
    assert citas["M9"] == {"SAM.sql:1"}

    faltan = sin_definir(citas, ids_definidos())
    assert set(faltan) == {"L9.9", "L9.7", "L9.8", "B99", "L9.4", "L9.5", "L9.6", "M9"}  # L5.5 is defined
    mensaje = informe(faltan)
    assert "  L9.9: tests/test_falso.py (líneas 1)" in mensaje
    assert "  M9: SAM.sql (líneas 1)" in mensaje
    assert "L5.5" not in mensaje and "R7" not in mensaje and "C901" not in mensaje


@pytest.mark.parametrize(
    ("texto", "esperado"),
    [
        ("Intent first (L3.2): the row", {"L3.2"}),
        ("L5.5 recovers them at the next start.", {"L5.5"}),
        ("safety net for L4.3).", {"L4.3"}),
        ("BEHAVIOUR §7 B2, B8;", {"B2", "B8"}),
        ("L1 → L2/L3 → L4: online robots", {"L1", "L2", "L3", "L4"}),
        ("Conciliador (BEHAVIOUR L5.4–L5.6): brings", {"L5.4", "L5.5", "L5.6"}),
        ("The Balanceador service (B1-B10): wiring", {f"B{n}" for n in range(1, 11)}),
        ("The balancing plan (B4-B9): a pure function", {f"B{n}" for n in range(4, 10)}),
        ('startswith(("L2.1-", "L2.2-"))', {"L2.1", "L2.2"}),
        ("L2.1-diaria-dentro-de-ventana", {"L2.1"}),
        ("# noqa: C901 - too complex; noqa: BLE001, B008", set()),
        ("0xB2 SHA256 utf16 PLR0913 v1.L2 L5.4.1 R2D2 M1x", set()),
        ("R1 live table", {"R1"}),
    ],
)
def test_citation_pattern_in_prose(texto, esperado):
    assert citas_en_texto(texto) == esperado


@pytest.mark.parametrize(
    ("nombre", "esperado"),
    [
        ("test_L5_5_lanzando_adopted_despite_clock_skew", {"L5.5"}),
        ("test_L1_2_L1_3_missing_rows_marked_never_deleted", {"L1.2", "L1.3"}),
        ("test_B4_B5_B6_B9_invariants_hold_for_random_fleets", {"B4", "B5", "B6", "B9"}),
        ("test_B1_to_B10_real_process", {f"B{n}" for n in range(1, 11)}),
        ("test_L3_3_2xx_without_deployment_id_is_adopted_not_failed", {"L3.3"}),
        ("test_L5_4_a360_error_changes_nothing_and_alerts_after_3_rounds", {"L5.4"}),
        ("test_L6_examples", {"L6"}),
        ("test_C9_defaults_and_types", {"C9"}),
        ("TestB9_apply", {"B9"}),
        ("test_latin1_utf16_sha256", set()),
    ],
)
def test_citation_pattern_in_test_names(nombre, esperado):
    assert citas_en_nombre(nombre) == esperado


def test_document_ids_are_unique_ordered_and_grouped():
    grupos = leer_documento(DOCUMENTO.read_text(encoding="utf-8"))
    assert grupos, "docs/reglas.md sin grupos (##)"
    todos = [regla for _, ids in grupos for regla in ids]
    repetidos = sorted({r for r in todos if todos.count(r) > 1}, key=clave)
    assert not repetidos, f"ids definidos más de una vez: {repetidos}"
    for titulo, ids in grupos:
        if not ids:
            continue
        assert ids == sorted(ids, key=clave), f"«{titulo}»: ids fuera de orden: {ids}"
        assert len({r[0] for r in ids}) == 1, f"«{titulo}» mezcla familias: {ids}"
        for regla in ids:
            if "." in regla:
                padre = regla.partition(".")[0]
                assert padre in ids, f"«{titulo}»: {regla} sin su regla general {padre}"


def test_document_defines_every_id_of_the_specification():
    faltan = sorted(set(IDS_DE_LA_ESPECIFICACION) - ids_definidos(), key=clave)
    assert not faltan, f"ids de la especificación sin entrada en docs/reglas.md: {faltan}"


def test_every_entry_says_something():
    """An entry is a heading followed by text before the next heading (no empty definitions)."""
    vacias, actual, texto = [], None, ""
    for linea in DOCUMENTO.read_text(encoding="utf-8").splitlines() + ["## fin"]:
        if linea.startswith("#"):
            if actual and not texto.strip():
                vacias.append(actual)
            m = ENTRADA.match(linea)
            actual, texto = (m.group(1) if m else None), ""
        else:
            texto += linea
    assert not vacias, f"entradas sin texto: {vacias}"
