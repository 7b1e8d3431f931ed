"""L7.1 parity of the schedule validation rules across their four homes (issue 13, D2).

One table pairs each problem ``common.programacion.validar`` (or the write-only rules of
``common.operaciones.programaciones.problemas_al_escribir``) can report with the ``THROW`` of
``dbo.ValidarProgramacionSAM`` (SAM.sql) that refuses the same input, and with the fragment of
``lanzador.database.seleccion.predicado_valida`` that skips such a row in the Lanzador's selection.
The test fails when a rule exists on one side only:

- every ``THROW`` of the procedure is claimed by some row of the table;
- every problem message template in the Python sources is produced by some row of the table;
- each row's THROW block holds the expected condition (with the same bounds as the Python
  constants) and message, and the predicate (both dialects) holds the expected fragment;
- the SQLite predicate, run on each row, agrees with ``validar`` in both directions.

SQL Server cannot run here: the T-SQL side is checked as text.
"""

from __future__ import annotations

import ast
import inspect
import re
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time

import pytest

from common.database import sentencias
from common.operaciones import programaciones as ops
from common.paths import SAM_SQL
from common.programacion import INTERVALO_MAXIMO_MIN, TOLERANCIA_MAXIMA_MIN, Programacion, validar
from lanzador.database.seleccion import _COLUMNAS_PROGRAMACION, predicado_valida, programaciones_cte

INTERVALO_MAX, TOLERANCIA_MAX = INTERVALO_MAXIMO_MIN, TOLERANCIA_MAXIMA_MIN
AHORA = datetime(2026, 3, 4, 8, 0)


@dataclass(frozen=True)
class Regla:
    """One invalid input and how each side refuses it."""

    caso: str
    fila: dict
    #: Fragment of a ``validar`` problem; None = a write-only rule (``validar`` accepts the row).
    validar: str | None
    #: Fragment of a ``problemas_al_escribir`` problem (defaults to ``validar``'s).
    al_escribir: str | None
    throw: int
    #: Regexes that must all match inside the THROW's block (condition and message).
    tsql: tuple[str, ...]
    #: Regex that the rendered predicate (both dialects) must contain; None for write-only rules.
    predicado: str | None = None


def R(caso, fila, validar_, throw, tsql, predicado=None, al_escribir=None):  # noqa: N802 - table row constructor
    return Regla(caso, fila, validar_, al_escribir or validar_, throw, tuple(tsql), predicado)


_TIPOS_PRED = r"UPPER\((RTRIM\()?p\.TipoProgramacion\)?\) IN \(N?'DIARIA'"
_RANGO = {"TipoProgramacion": "RangoMensual"}
_CICLICA = {"EsCiclico": True}

REGLAS = [
    R("tipo-desconocido", {"TipoProgramacion": "Quincenal"}, "TipoProgramacion desconocido", 50020,
      [r"@TipoProgramacion NOT IN \(N'Diaria', N'Semanal', N'Mensual', N'Especifica', N'RangoMensual'\)",
       "debe ser Diaria, Semanal"], _TIPOS_PRED),
    R("tipo-vacio", {"TipoProgramacion": ""}, "TipoProgramacion desconocido", 50020,
      [r"@TipoProgramacion IS NULL"], _TIPOS_PRED),
    R("sin-hora-inicio", {"HoraInicio": None}, "falta HoraInicio", 50021,
      [r"@HoraInicio IS NULL", "@HoraInicio es obligatorio"], r"p\.HoraInicio IS NOT NULL"),
    R("tolerancia-negativa", {"Tolerancia": -1}, f"Tolerancia fuera de 0..{TOLERANCIA_MAX}", 50022,
      [r"@Tolerancia < 0", f"entre 0 y {TOLERANCIA_MAX} minutos"], rf"p\.Tolerancia BETWEEN 0 AND {TOLERANCIA_MAX}\b"),
    R("tolerancia-mas-de-un-dia", {"Tolerancia": TOLERANCIA_MAX + 1}, f"Tolerancia fuera de 0..{TOLERANCIA_MAX}",
      50022, [rf"@Tolerancia > {TOLERANCIA_MAX}\b"], rf"p\.Tolerancia BETWEEN 0 AND {TOLERANCIA_MAX}\b"),
    R("hora-fin-no-ciclica", {"HoraFin": time(9, 0)}, "HoraFin en una programación no cíclica", 50030,
      [r"@EsCiclico = 0 AND \(@HoraFin IS NOT NULL", "sólo valen para una programación cíclica"],
      r"p\.EsCiclico = 1 OR \(p\.HoraFin IS NULL"),
    R("intervalo-no-ciclico", {"IntervaloEntreEjecuciones": 5}, "IntervaloEntreEjecuciones en una programación no",
      50030, [r"@IntervaloEntreEjecuciones IS NOT NULL\)"], r"AND p\.IntervaloEntreEjecuciones IS NULL\)\)"),
    R("intervalo-negativo", {**_CICLICA, "IntervaloEntreEjecuciones": -1},
      f"IntervaloEntreEjecuciones fuera de 0..{INTERVALO_MAX}", 50031,
      [r"@IntervaloEntreEjecuciones < 0", f"entre 0 y {INTERVALO_MAX} minutos"],
      rf"p\.IntervaloEntreEjecuciones BETWEEN 0 AND {INTERVALO_MAX}\b"),
    # D1: 35,791,395 minutes made SQL Server's 60 * interval overflow INT (error 8115).
    R("intervalo-desbordante", {**_CICLICA, "IntervaloEntreEjecuciones": 35_791_395},
      f"IntervaloEntreEjecuciones fuera de 0..{INTERVALO_MAX}", 50031,
      [rf"@IntervaloEntreEjecuciones > {INTERVALO_MAX}\b"], rf"p\.IntervaloEntreEjecuciones BETWEEN 0 AND {INTERVALO_MAX}\b"),
    R("hora-fin-igual", {**_CICLICA, "HoraFin": time(8, 0)}, "HoraFin igual a HoraInicio", 50032,
      [r"@HoraFin = @HoraInicio", "no puede ser igual"], r"p\.HoraFin\) <> "),
    R("ventana-al-reves", {"FechaInicioVentana": date(2026, 3, 5), "FechaFinVentana": date(2026, 3, 4)},
      "FechaFinVentana anterior a FechaInicioVentana", 50033, [r"@FechaFinVentana < @FechaInicioVentana"],
      r"(date\()?p\.FechaFinVentana\)? >= (date\()?p\.FechaInicioVentana"),
    R("semanal-sin-dias", {"TipoProgramacion": "Semanal"}, "Semanal sin ningún día válido", 50023,
      [r"NOT EXISTS \(SELECT 1 FROM @Tokens\)", "@DiaSemana es obligatorio"], r"p\.DiasNorm LIKE N?'% LU %'"),
    R("semanal-sin-dia-conocido", {"TipoProgramacion": "Semanal", "DiaSemana": "LUN, X"},
      "Semanal sin ningún día válido", 50024, [r"t\.Dia NOT IN \(N'LU'", "Día de la semana no válido"],
      r"p\.DiasNorm LIKE N?'% DO %'"),
    R("mensual-sin-dia", {"TipoProgramacion": "Mensual"}, "Mensual sin DiaDelMes", 50025,
      [r"@DiaDelMes IS NULL", "@DiaDelMes debe estar entre 1 y 31"], r"p\.DiaDelMes BETWEEN 1 AND 31\b"),
    R("mensual-dia-cero", {"TipoProgramacion": "Mensual", "DiaDelMes": 0}, "DiaDelMes fuera de 1..31", 50025,
      [r"@DiaDelMes < 1"], r"p\.DiaDelMes BETWEEN 1 AND 31\b"),
    R("mensual-dia-32", {"TipoProgramacion": "Mensual", "DiaDelMes": 32}, "DiaDelMes fuera de 1..31", 50025,
      [r"@DiaDelMes > 31\b"], r"p\.DiaDelMes BETWEEN 1 AND 31\b"),
    R("especifica-sin-fecha", {"TipoProgramacion": "Especifica"}, "Especifica sin FechaEspecifica", 50026,
      [r"@FechaEspecifica IS NULL", "@FechaEspecifica es obligatoria"], r"p\.FechaEspecifica IS NOT NULL"),
    R("rango-dos-formas", {**_RANGO, "DiaInicioMes": 1, "DiaFinMes": 5, "UltimosDiasMes": 3}, "las dos formas",
      50034, [r"@UltimosDiasMes IS NOT NULL AND \(@DiaInicioMes IS NOT NULL OR @DiaFinMes IS NOT NULL\)",
              "no las dos formas"], r"p\.UltimosDiasMes IS NULL AND p\.DiaInicioMes BETWEEN"),
    R("rango-ninguna-forma", _RANGO, "ni UltimosDiasMes", 50035,
      [r"@UltimosDiasMes IS NULL AND @DiaInicioMes IS NULL AND @DiaFinMes IS NULL"],
      r"p\.UltimosDiasMes BETWEEN 1 AND 31 AND p\.DiaInicioMes IS NULL AND p\.DiaFinMes IS NULL"),
    R("rango-ultimos-cero", {**_RANGO, "UltimosDiasMes": 0}, "UltimosDiasMes fuera de 1..31", 50036,
      [r"@UltimosDiasMes < 1", "@UltimosDiasMes debe estar entre 1 y 31"], r"p\.UltimosDiasMes BETWEEN 1 AND 31\b"),
    R("rango-ultimos-32", {**_RANGO, "UltimosDiasMes": 32}, "UltimosDiasMes fuera de 1..31", 50036,
      [r"@UltimosDiasMes > 31\b"], r"p\.UltimosDiasMes BETWEEN 1 AND 31\b"),
    R("rango-medio", {**_RANGO, "DiaInicioMes": 3}, "necesita DiaInicioMes y DiaFinMes", 50037,
      [r"@DiaFinMes IS NULL"], r"p\.DiaFinMes BETWEEN 1 AND 31\b"),
    R("rango-inicio-cero", {**_RANGO, "DiaInicioMes": 0, "DiaFinMes": 5}, "DiaInicioMes fuera de 1..31", 50037,
      [r"@DiaInicioMes < 1"], r"p\.DiaInicioMes BETWEEN 1 AND 31\b"),
    R("rango-fin-32", {**_RANGO, "DiaInicioMes": 1, "DiaFinMes": 32}, "DiaFinMes fuera de 1..31", 50037,
      [r"@DiaFinMes > 31\b"], r"p\.DiaFinMes BETWEEN 1 AND 31\b"),
    R("rango-al-reves", {**_RANGO, "DiaInicioMes": 20, "DiaFinMes": 5}, "DiaInicioMes posterior a DiaFinMes", 50037,
      [r"@DiaInicioMes > @DiaFinMes", "el inicio no posterior al fin"], r"p\.DiaInicioMes <= p\.DiaFinMes"),
    # Write-only rules: validar accepts the row (the Lanzador would run it), a write refuses it.
    R("semanal-codigo-desconocido", {"TipoProgramacion": "Semanal", "DiaSemana": "LU, X"}, None, 50024,
      [r"t\.Dia NOT IN \(N'LU'"], al_escribir="días de la semana no válidos: X"),
    R("especifica-pasada", {"TipoProgramacion": "Especifica", "FechaEspecifica": date(2026, 3, 3)}, None, 50027,
      [r"@FechaEspecifica < CONVERT\(DATE, @Ahora\)", "no puede estar en el pasado"],
      al_escribir="FechaEspecifica en el pasado"),
    # D3: a column of another type is refused, not dropped (one row per column).
    R("ajena-dia-semana", {"DiaSemana": "LU"}, None, 50028,
      [r"@TipoProgramacion <> N'Semanal' AND LTRIM\(RTRIM\(ISNULL\(@DiaSemana", "no corresponde a una programaci"],
      al_escribir="DiaSemana no corresponde a una programación Diaria (sólo vale para Semanal)"),
    R("ajena-dia-del-mes", {"DiaDelMes": 5}, None, 50028, [r"@TipoProgramacion <> N'Mensual' AND @DiaDelMes IS NOT"],
      al_escribir="DiaDelMes no corresponde a una programación Diaria (sólo vale para Mensual)"),
    R("ajena-fecha", {"TipoProgramacion": "Semanal", "DiaSemana": "LU", "FechaEspecifica": date(2026, 3, 9)}, None,
      50028, [r"@TipoProgramacion <> N'Especifica' AND @FechaEspecifica IS NOT NULL"],
      al_escribir="FechaEspecifica no corresponde a una programación Semanal"),
    R("ajena-dia-inicio", {"TipoProgramacion": "Mensual", "DiaDelMes": 5, "DiaInicioMes": 1}, None, 50028,
      [r"@TipoProgramacion <> N'RangoMensual' AND @DiaInicioMes IS NOT NULL"],
      al_escribir="DiaInicioMes no corresponde a una programación Mensual (sólo vale para RangoMensual)"),
    R("ajena-dia-fin", {"DiaFinMes": 4}, None, 50028, [r"@TipoProgramacion <> N'RangoMensual' AND @DiaFinMes IS NOT"],
      al_escribir="DiaFinMes no corresponde a una programación Diaria"),
    R("ajena-ultimos", {"TipoProgramacion": "Especifica", "FechaEspecifica": date(2026, 3, 9), "UltimosDiasMes": 2},
      None, 50028, [r"@TipoProgramacion <> N'RangoMensual' AND @UltimosDiasMes IS NOT NULL"],
      al_escribir="UltimosDiasMes no corresponde a una programación Especifica"),
]

VALIDAS = [
    {},
    {"TipoProgramacion": "diaria  "},
    {"TipoProgramacion": "Semanal", "DiaSemana": "LU, X"},  # a known day is enough to run it
    {"TipoProgramacion": "Semanal", "DiaSemana": "sá;do"},
    {"TipoProgramacion": "Mensual", "DiaDelMes": 31},
    {"TipoProgramacion": "Especifica", "FechaEspecifica": date(2026, 3, 3)},
    {"TipoProgramacion": "RangoMensual", "DiaInicioMes": 1, "DiaFinMes": 31},
    {"TipoProgramacion": "RangoMensual", "UltimosDiasMes": 31},
    {"Tolerancia": 0}, {"Tolerancia": TOLERANCIA_MAX},
    {"EsCiclico": True, "HoraFin": time(2, 0), "IntervaloEntreEjecuciones": 0},
    {"EsCiclico": True, "IntervaloEntreEjecuciones": INTERVALO_MAX},
    {"FechaInicioVentana": date(2026, 3, 4), "FechaFinVentana": date(2026, 3, 4)},
    {"DiaDelMes": 5},  # a legacy column of another type does not stop the Lanzador (write-only rule)
]


def _programacion(fila: dict) -> Programacion:
    return Programacion(**{"TipoProgramacion": "Diaria", "HoraInicio": time(8, 0), "Tolerancia": 30, **fila})


# --------------------------------------------------------------------------------------------
# The T-SQL side: the IF ... THROW blocks of dbo.ValidarProgramacionSAM, by error number
# --------------------------------------------------------------------------------------------
def _cuerpo_validador() -> str:
    texto = SAM_SQL.read_text(encoding="utf-8")
    inicio = texto.index("CREATE OR ALTER PROCEDURE dbo.ValidarProgramacionSAM")
    return texto[inicio:texto.index("\nGO\n", inicio)]


def bloques_throw(cuerpo: str) -> dict[int, list[str]]:
    """Each THROW number -> the text of its blocks: from the end of the previous THROW (or the start
    of the procedure) to the end of this one, i.e. its IF condition and how its message is built."""
    out: dict[int, list[str]] = {}
    previo = 0
    for m in re.finditer(r"THROW (\d{5}), [^;]*;", cuerpo):
        out.setdefault(int(m.group(1)), []).append(cuerpo[previo:m.end()])
        previo = m.end()
    return out


BLOQUES = bloques_throw(_cuerpo_validador())


def test_L7_1_every_throw_of_the_validator_is_paired_with_a_python_rule():
    assert len(BLOQUES) >= 15, BLOQUES.keys()  # the parser found the procedure's rules
    sin_regla = sorted(set(BLOQUES) - {r.throw for r in REGLAS})
    assert not sin_regla, f"THROW sin regla en Python (validar / problemas_al_escribir): {sin_regla}"


@pytest.mark.parametrize("regla", REGLAS, ids=[r.caso for r in REGLAS])
def test_L7_1_the_throw_block_holds_the_same_condition_and_bounds(regla):
    assert regla.throw in BLOQUES, f"{regla.caso}: dbo.ValidarProgramacionSAM no tiene THROW {regla.throw}"
    texto = "\n".join(BLOQUES[regla.throw])
    for patron in regla.tsql:
        assert re.search(patron, texto), f"{regla.caso}: THROW {regla.throw} sin {patron!r}:\n{texto}"


@pytest.mark.parametrize("regla", REGLAS, ids=[r.caso for r in REGLAS])
def test_L7_1_python_reports_the_rule_of_each_row(regla):
    p = _programacion(regla.fila)
    problemas = validar(p)
    if regla.validar is None:
        assert problemas == [], f"{regla.caso}: write-only rule, but validar refuses it: {problemas}"
    else:
        assert any(regla.validar in x for x in problemas), (regla.caso, problemas)
    al_escribir = ops.problemas_al_escribir(ops.normalizar(p), AHORA, nueva_fecha=True)
    assert any(regla.al_escribir in x for x in al_escribir), (regla.caso, al_escribir)


def test_L7_1_every_validar_and_write_problem_template_is_in_the_table():
    """A new problem message in Python without a row here (hence without its THROW) fails."""
    plantillas = _plantillas(validar.__module__) | _plantillas(ops.__name__)
    producidos = []
    for r in REGLAS:
        p = _programacion(r.fila)
        producidos += validar(p) + ops.problemas_al_escribir(ops.normalizar(p), AHORA, nueva_fecha=True)
    assert len(plantillas) >= 15, plantillas
    huerfanas = sorted(t for t in plantillas if not any(_como_regex(t).fullmatch(x) for x in producidos))
    assert not huerfanas, f"problemas sin fila en REGLAS (ni THROW emparejado): {huerfanas}"


_FUNCIONES_DE_PROBLEMAS = re.compile(r"^(_problemas\w*|validar|problemas_al_escribir|columnas_ajenas)$")
_NO_SON_PROBLEMAS = {"DiaSemana", "DiaInicioMes", "DiaFinMes", ", "}


def _plantillas(modulo: str) -> set[str]:
    """The problem texts (f-string holes as ``{}``) built in the validation functions of ``modulo``."""
    import importlib

    arbol = ast.parse(inspect.getsource(importlib.import_module(modulo)))
    out = set()
    for fn in ast.walk(arbol):
        if isinstance(fn, ast.FunctionDef) and _FUNCIONES_DE_PROBLEMAS.match(fn.name):
            for texto in _textos(fn.body):
                if texto not in _NO_SON_PROBLEMAS and " " in texto.strip("{} "):
                    out.add(texto)
    return out


def _textos(nodos: list[ast.AST]):
    """String literals and whole f-strings under ``nodos``, docstrings left out."""
    pendientes = [n for n in nodos if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    while pendientes:
        nodo = pendientes.pop()
        texto = _texto(nodo)
        if texto is not None:
            yield texto
            continue
        pendientes.extend(ast.iter_child_nodes(nodo))


def _texto(nodo: ast.AST) -> str | None:
    if isinstance(nodo, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in nodo.values)
    if isinstance(nodo, ast.Constant) and isinstance(nodo.value, str):
        return nodo.value
    return None


def _como_regex(plantilla: str) -> re.Pattern:
    return re.compile(".+".join(re.escape(x) for x in plantilla.split("{}")), re.DOTALL)


# --------------------------------------------------------------------------------------------
# The selection's predicate: the same rules, rendered for both engines
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("regla", [r for r in REGLAS if r.predicado], ids=[r.caso for r in REGLAS if r.predicado])
@pytest.mark.parametrize("dialecto", [sentencias.TSQL, sentencias.SQLITE])
def test_L7_1_the_predicate_holds_the_rule(regla, dialecto):
    assert re.search(regla.predicado, predicado_valida(dialecto)), (regla.caso, dialecto)


def test_L7_1_write_only_rules_stay_out_of_validar():
    """Rows of the write-only rules are exactly those with ``validar`` None; the others must be
    rules of the selection too (a predicate fragment)."""
    for r in REGLAS:
        assert (r.validar is None) == (r.predicado is None), r.caso


@pytest.fixture(scope="module")
def sqlite_db():
    """A bare table named Programaciones (no CHECK: an unknown type must be storable) for the
    predicate, read through the selection's own CTE."""
    con = sqlite3.connect(":memory:")
    con.row_factory = sqlite3.Row
    con.execute(f"CREATE TABLE Programaciones ({', '.join(_COLUMNAS_PROGRAMACION)})")
    yield con
    con.close()


def _sql_valor(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (time, date)):
        return v.isoformat()
    return v


def _pasa_el_predicado(con: sqlite3.Connection, p: Programacion) -> bool:
    con.execute("DELETE FROM Programaciones")
    fila = {**p.como_fila(), "ProgramacionId": 1, "RobotId": 1}
    con.execute(f"INSERT INTO Programaciones ({', '.join(_COLUMNAS_PROGRAMACION)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNAS_PROGRAMACION))})",
                [_sql_valor(fila[c]) for c in _COLUMNAS_PROGRAMACION])
    consulta = (f"SELECT p.ProgramacionId FROM ({programaciones_cte(sentencias.SQLITE)}) AS p "  # noqa: S608
                f"WHERE {predicado_valida(sentencias.SQLITE)}")
    return len(con.execute(consulta).fetchall()) == 1


@pytest.mark.parametrize("fila", [r.fila for r in REGLAS] + VALIDAS,
                         ids=[r.caso for r in REGLAS] + [f"valida-{i}" for i in range(len(VALIDAS))])
def test_L7_1_sqlite_predicate_agrees_with_validar_both_ways(sqlite_db, fila):
    p = _programacion(fila)
    assert _pasa_el_predicado(sqlite_db, p) == (validar(p) == []), (fila, validar(p))


def test_L7_1_valid_rows_pass_every_side():
    for fila in VALIDAS:
        p = _programacion(fila)
        assert validar(p) == [], (fila, validar(p))


# --------------------------------------------------------------------------------------------
# D1: no DATEADD of the generated T-SQL can overflow on a stored value
# --------------------------------------------------------------------------------------------
def _argumentos_dateadd(sql: str) -> list[str]:
    """The amount (second argument) of every DATEADD call in ``sql``."""
    out = []
    for m in re.finditer(r"DATEADD\(", sql):
        nivel, partes, actual = 0, [], []
        for ch in sql[m.end():]:
            if ch == "(":
                nivel += 1
            elif ch == ")":
                if nivel == 0:
                    break
                nivel -= 1
            if ch == "," and nivel == 0:
                partes.append("".join(actual))
                actual = []
                continue
            actual.append(ch)
        out.append(" ".join(partes[1].split()))
    return out


_CANTIDADES_ACOTADAS = (
    r"-?\d+",  # a literal
    r"-?@\w+",  # a procedure parameter (bounded settings)
    r"1 - @EsperaTrasFalloSeg",
    r"DATEDIFF\(SECOND, CAST\('00:00:00' AS TIME\), p\.Hora(Inicio|Fin)\)",  # a TIME: 0..86399
    r"Numeros\.n",  # the overlap horizon's day numbers (@Dias)
    r"-s\.IntervaloMin",  # bounded where it is computed (intervalo_acotado)
    r"CASE WHEN p\.Tolerancia IS NULL THEN \S+ WHEN p\.Tolerancia BETWEEN 0 AND \d+ THEN p\.Tolerancia ELSE 0 END",
)


def test_L7_1_every_dateadd_amount_on_a_column_is_bounded():
    from lanzador.database import seleccion, solapes_sql

    cantidades = _argumentos_dateadd(seleccion.PROCEDIMIENTO_TSQL) + _argumentos_dateadd(solapes_sql.PROCEDIMIENTO_TSQL)
    assert len(cantidades) >= 10
    sueltas = [c for c in cantidades if not any(re.fullmatch(x, c) for x in _CANTIDADES_ACOTADAS)]
    assert not sueltas, f"DATEADD con una cantidad que puede desbordar: {sueltas}"
    assert not [c for c in cantidades if "*" in c]  # INT * INT overflowed (error 8115)
    assert (f"CASE WHEN p.IntervaloEntreEjecuciones BETWEEN 0 AND {INTERVALO_MAX} "
            "THEN p.IntervaloEntreEjecuciones ELSE 0 END AS IntervaloMin") in " ".join(seleccion.PROCEDIMIENTO_TSQL.split())
