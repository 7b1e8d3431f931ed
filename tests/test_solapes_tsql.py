"""L7.4 on SQL Server: ``dbo.SolapesProgramacionSAM`` is generated from lanzador/database/solapes_sql.py
with the selection's day rule and validity predicate, and its set-based query decides like the pure
function :func:`common.solapamiento.solapes`.

SQL Server cannot run here, so the evidence is in two parts:

1. SAM.sql holds exactly the generated procedure, which renders the day rule, the validity
   predicate and the ``DiaSemana`` normalisation of lanzador/database/seleccion.py (the Lanzador's
   own), and passes the static T-SQL checks;
2. the SQLite twin ``solapes.gemelo_sqlite`` is rendered from the same template (same windows
   CTE, same pair condition; only the date arithmetic and the predicates' dialect differ) and,
   run on SQLite against random pairs and triples of schedules (every type, cyclic and one-shot,
   midnight crossing, date windows, invalid rows), finds exactly the conflicts of the pure function.

Transpiling the T-SQL with sqlglot (tsql -> sqlite) was tried first and is not faithful enough:
``DATEADD(SECOND, …)`` becomes ``DATE(…)`` (the time of day is lost), ``CAST(x AS DATETIME2(0))``
becomes ``CAST(x AS TIMESTAMP(0))`` (numeric affinity in SQLite: '2026-01-20' turns into 2026),
``DAY``/``EOMONTH`` become ``DAY``/``LAST_DAY`` (no such SQLite functions) and ``N'…'`` literals are
kept. What the twin cannot prove: the T-SQL-only fragments themselves (``DATEADD``/``DATEDIFF``,
``EOMONTH``, the weekday by ``DATEDIFF(DAY, '19000101', d) % 7``, the numbers CTE over
``sys.all_columns``) are only statically checked, and the equipo/arrival bookkeeping in
``#EnEquipo`` is exercised through its pair condition, not through the procedure's INSERTs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, datetime, time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.database import sentencias
from common.database.sql_client import DatabaseClient
from common.operaciones.programaciones import EstadoEquipo, conflictos_nuevos
from common.paths import SAM_SQL
from common.programacion import Programacion
from common.solapamiento import HORIZONTE_DIAS, solapes
from lanzador.database import seleccion, solapes_sql
from tests.sqlcheck import check_tsql
from tests.test_solapamiento import DESDE, programacion

TSQL, SQLITE = sentencias.TSQL, sentencias.SQLITE
COLUMNAS = ("RobotId", "TipoProgramacion", "HoraInicio", "HoraFin", "Tolerancia", "DiaSemana", "DiaDelMes",
            "FechaEspecifica", "EsCiclico", "FechaInicioVentana", "FechaFinVentana", "IntervaloEntreEjecuciones",
            "DiaInicioMes", "DiaFinMes", "UltimosDiasMes")


# --- 1. one source -------------------------------------------------------------------------------


def test_L7_4_sam_sql_holds_the_generated_procedure_before_its_marker():
    text = SAM_SQL.read_text(encoding="utf-8")
    block = solapes_sql.bloque_sam_sql()
    assert text.count(block) == 1
    assert text.index(block) + len(block) == text.index(solapes_sql.MARCADOR_SAM_SQL)
    assert text.count("CREATE OR ALTER PROCEDURE dbo.SolapesProgramacionSAM") == 1
    assert solapes_sql.reemplazar_bloque(text) == text


def test_L7_4_procedure_renders_the_selections_day_rule_and_validity():
    proc = solapes_sql.PROCEDIMIENTO_TSQL
    for fragment in (seleccion.predicado_valida(TSQL), seleccion.predicado_dia(TSQL),
                     seleccion.dias_semana_normalizados(TSQL)):
        assert proc.count(fragment) == 1
    # the Lanzador's procedure holds the very same texts
    for fragment in (seleccion.predicado_valida(TSQL), seleccion.predicado_dia(TSQL)):
        assert fragment in seleccion.PROCEDIMIENTO_TSQL
    twin = sentencias.sentencia("solapes.gemelo_sqlite").sqlite
    for fragment in (seleccion.predicado_valida(SQLITE), seleccion.predicado_dia(SQLITE),
                     seleccion.dias_semana_normalizados(SQLITE)):
        assert twin.count(fragment) == 1


def test_L7_4_the_block_replacement_rewrites_a_stale_copy(tmp_path):
    stale = SAM_SQL.read_text(encoding="utf-8").replace("p.Tolerancia BETWEEN 0 AND 1440", "p.Tolerancia >= 0", 1)
    ruta = tmp_path / "SAM.sql"
    ruta.write_text(stale, encoding="utf-8")
    assert solapes_sql.actualizar_sam_sql(ruta) is True
    assert ruta.read_text(encoding="utf-8") == SAM_SQL.read_text(encoding="utf-8")
    assert solapes_sql.actualizar_sam_sql(ruta) is False


def test_L7_4_procedure_passes_static_checks():
    assert check_tsql(solapes_sql.PROCEDIMIENTO_TSQL) == []


def test_L7_4_sqlglot_transpilation_is_not_used_because_it_loses_the_time_of_day():
    """Why the twin is rendered, not transpiled: sqlglot turns the window start into DATE(…)."""
    sqlglot = pytest.importorskip("sqlglot")
    out = sqlglot.transpile(f"SELECT {solapes_sql.inicio_ventana(TSQL)} FROM Defs AS p CROSS JOIN Dias AS d",
                            read="tsql", write="sqlite")[0]
    assert "DATETIME(" not in out.upper()


# --- 2. the twin against the pure function -------------------------------------------------------


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    client = DatabaseClient(engine="sqlite", sqlite_path=tmp_path_factory.mktemp("l74") / "sam.db")
    yield client
    client.close_all()


def _fila(clave: int, p: Programacion) -> tuple:
    fila = p.como_fila()
    return (clave, *(int(fila[c]) if isinstance(fila[c], bool) else fila[c] for c in COLUMNAS))


def _gemelo(db, defs: dict[int, Programacion], en_equipo: list[tuple[int, int, int]],
            desde: date = DESDE, dias: int = HORIZONTE_DIAS) -> list[dict]:
    """Run the twin over ``defs`` (Clave -> row) and ``en_equipo`` ((EquipoId, Clave, Llega))."""
    with db.transaction() as tx:
        tx.execute(sentencias.sql(tx, "solapes.gemelo_defs"))
        tx.execute(sentencias.sql(tx, "solapes.gemelo_en_equipo"))
        tx.execute("DELETE FROM temp.SolapesDefs")
        tx.execute("DELETE FROM temp.SolapesEnEquipo")
        marcas = ", ".join("?" * (len(COLUMNAS) + 1))
        for clave, p in defs.items():
            tx.execute(f"INSERT INTO temp.SolapesDefs (Clave, {', '.join(COLUMNAS)}) VALUES ({marcas})",  # noqa: S608
                       _fila(clave, p))
        for fila in en_equipo:
            tx.execute("INSERT INTO temp.SolapesEnEquipo (EquipoId, Clave, Llega) VALUES (?, ?, ?)", fila)
        filas = tx.query(sentencias.sql(tx, "solapes.gemelo_sqlite"), (desde.isoformat(), dias))
    return [{"EquipoId": f["EquipoId"], "A": f["ProgramacionA"], "B": f["ProgramacionB"], "Desde": f["Desde"],
             "Hasta": f["Hasta"]} for f in filas]


def _instante(valor) -> datetime:
    return valor if isinstance(valor, datetime) else datetime.fromisoformat(str(valor))


@st.composite
def invalida(draw, p: Programacion) -> Programacion:
    """``p`` broken in one of the ways common.programacion.validar refuses (or left as it is)."""
    rotura = draw(st.sampled_from(["ninguna", "tolerancia", "fin_sin_ciclo", "dias", "dia_mes", "rango", "tipo",
                                   "ventana", "fin_igual", "intervalo", "sin_hora"]))
    cambios = {
        "ninguna": {},
        "tolerancia": {"Tolerancia": draw(st.sampled_from([-1, 1441]))},
        "fin_sin_ciclo": {"EsCiclico": False, "HoraFin": time(23, 59)},
        "dias": {"TipoProgramacion": "Semanal", "DiaSemana": draw(st.sampled_from(["X", "LUN", "", None, "JUVI"]))},
        "dia_mes": {"TipoProgramacion": "Mensual", "DiaDelMes": draw(st.sampled_from([0, 32, None]))},
        "rango": {"TipoProgramacion": "RangoMensual", "DiaInicioMes": 20, "DiaFinMes": 10, "UltimosDiasMes": None},
        "tipo": {"TipoProgramacion": "Quincenal"},
        "ventana": {"FechaInicioVentana": date(2026, 2, 10), "FechaFinVentana": date(2026, 2, 1)},
        "fin_igual": {"EsCiclico": True, "HoraFin": p.HoraInicio},
        "intervalo": {"EsCiclico": True, "IntervaloEntreEjecuciones": -1},
        "sin_hora": {"HoraInicio": None},
    }[rotura]
    return replace(p, **cambios)


@st.composite
def activa(draw) -> Programacion:
    p = replace(draw(programacion()), Activo=True)
    return draw(invalida(p)) if draw(st.integers(0, 4)) == 0 else p


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(a=activa(), b=activa(), ambas_llegan=st.booleans())
def test_L7_4_sqlite_twin_finds_the_conflicts_of_the_pure_function(db, a, b, ambas_llegan):
    esperados = Counter((c.inicio, c.fin) for c in solapes(a, b, DESDE, maximo=10**6))
    filas = _gemelo(db, {1: a, 2: b}, [(10, 1, 1), (10, 2, int(ambas_llegan))])
    assert {(f["A"], f["B"]) for f in filas} <= {(1, 2)}  # a pair of arrivals once
    obtenidos = Counter((_instante(f["Desde"]), _instante(f["Hasta"])) for f in filas)
    assert obtenidos == esperados


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(ps=st.lists(activa(), min_size=3, max_size=3), llegan=st.lists(st.booleans(), min_size=3, max_size=3),
       equipos=st.lists(st.sets(st.sampled_from([10, 20]), min_size=1), min_size=3, max_size=3))
def test_L7_4_sqlite_twin_pairs_match_the_operations_module(db, ps, llegan, equipos):
    """Which (equipo, arriving, other) pairs conflict: the twin's pair condition is the rule of
    common.operaciones.programaciones.conflictos_nuevos (an arrival against every other schedule
    there, two arrivals once, two schedules already together never re-judged)."""
    defs = {k + 1: replace(p, ProgramacionId=k + 1, RobotId=1) for k, p in enumerate(ps)}
    en_equipo = [(e, k, int(llegan[k - 1])) for k in defs for e in sorted(equipos[k - 1])]
    candidata = defs[1]
    estados = []
    for e in (10, 20):
        aqui = {k: defs[k] for (eq, k, _) in en_equipo if eq == e}
        if 1 not in aqui:
            continue  # the candidate arrives on every equipo the write names
        estados.append(EstadoEquipo(e, f"VM{e}", antes={k: v for k, v in aqui.items() if not llegan[k - 1]},
                                    llegan={k: v for k, v in aqui.items() if llegan[k - 1] and k != 1}))
    en_equipo = [(e, k, 1 if k == 1 else ll) for (e, k, ll) in en_equipo if any(x.equipo_id == e for x in estados)]
    esperados = {(c.equipo_id, c.a.ProgramacionId, c.b.ProgramacionId)
                 for c in conflictos_nuevos(candidata, estados, {1: "R"}, DESDE)}
    obtenidos = {(f["EquipoId"], f["A"], f["B"]) for f in _gemelo(db, defs, en_equipo)}
    assert obtenidos == esperados


def test_L7_4_twin_examples_midnight_and_half_open_end(db):
    noche = Programacion(TipoProgramacion="Diaria", HoraInicio=time(23, 0), HoraFin=time(1, 0), EsCiclico=True)
    madrugada = Programacion(TipoProgramacion="Diaria", HoraInicio=time(0, 30), Tolerancia=10)
    justo_al_final = Programacion(TipoProgramacion="Diaria", HoraInicio=time(1, 0), Tolerancia=5)
    filas = _gemelo(db, {1: noche, 2: madrugada}, [(10, 1, 1), (10, 2, 0)], dias=3)
    # day 1 00:30 against the window of day 0 (23:00-01:00), and day 2 00:30 against day 1's; day 2's
    # window would meet day 3, outside the horizon
    assert sorted((_instante(f["Desde"]), _instante(f["Hasta"])) for f in filas) == [
        (datetime(2026, 1, 21, 0, 30), datetime(2026, 1, 21, 0, 40)),
        (datetime(2026, 1, 22, 0, 30), datetime(2026, 1, 22, 0, 40)),
    ]
    assert _gemelo(db, {1: noche, 2: justo_al_final}, [(10, 1, 1), (10, 2, 0)], dias=5) == []


# --- 3. the schedule-management procedures (static: SQL Server does not run here) ----------------


def _proc(name: str) -> str:
    import re

    text = SAM_SQL.read_text(encoding="utf-8")
    m = re.search(rf"CREATE OR ALTER PROCEDURE dbo\.{name}\b(.*?)(?=^GO$)", text, re.DOTALL | re.MULTILINE)
    assert m, name
    return m.group(1)


def test_L7_4_actualizar_validates_like_cargar_and_checks_overlaps_without_assigning():
    cargar, actualizar = _proc("CargarProgramacionSAM"), _proc("ActualizarProgramacion")
    for body in (cargar, actualizar):
        assert "EXEC dbo.ValidarProgramacionSAM" in body and "EXEC dbo.SolapesProgramacionSAM" in body
        assert "EXEC dbo.DescribirSolapesSAM @Lista = @Lista OUTPUT;" in body
        assert "IF ISNULL(@Forzar, 0) = 0" in body and "THROW 50040, @Mensaje, 1;" in body
    call = actualizar[actualizar.index("EXEC dbo.SolapesProgramacionSAM"):]
    assert "@Asignar = 0," in call and "@ProgramacionId = @ProgramacionId," in call
    # only an active schedule is checked, on the equipos it serves now
    assert actualizar.index("IF @Activo = 1") < actualizar.index("EXEC dbo.SolapesProgramacionSAM")
    assert "a.ProgramacionId = @ProgramacionId OR (a.ProgramacionId IS NULL AND a.RobotId = @RobotId)" in actualizar
    # a past FechaEspecifica is refused only when it changes (as common.operaciones.programaciones.modificar)
    assert "@ComprobarFechaPasada = 1" in cargar and "@ComprobarFechaPasada = @ComprobarFechaPasada" in actualizar
    assert "IF @ComprobarFechaPasada = 1 AND @TipoProgramacion = N'Especifica'" in _proc("ValidarProgramacionSAM")


def test_L7_4_actualizar_refuses_a_row_changed_since_it_was_read():
    body = _proc("ActualizarProgramacion")
    assert "@FechaActualizacionEsperada DATETIME2(3) = NULL," in body
    assert "DECLARE @Esperada DATETIME2(3) = @FechaActualizacionEsperada;" in body
    assert "DECLARE @FechaActual DATETIME2(3);" in body
    guard = body.index("FROM dbo.Programaciones AS p WITH (UPDLOCK, HOLDLOCK)")
    check = body.index("IF @Esperada IS NOT NULL AND @FechaActual <> @Esperada")
    update = body.index("UPDATE dbo.Programaciones")
    assert body.index("BEGIN TRANSACTION;") < guard < check < body.index("THROW 50042") < update
    assert "FechaActualizacion = @Marca" in body[update:]
    assert "N'modificar'" in body and "CASE WHEN @Solapes IS NULL THEN N'ok' ELSE N'forzado' END" in body


def test_L7_4_desactivar_and_eliminar_lock_the_row_and_eliminar_keeps_shared_assignments():
    desactivar, eliminar = _proc("DesactivarProgramacion"), _proc("EliminarProgramacion")
    for body, accion in ((desactivar, "desactivar"), (eliminar, "eliminar")):
        guard = body.index("FROM dbo.Programaciones AS p WITH (UPDLOCK, HOLDLOCK)")
        assert body.index("BEGIN TRANSACTION;") < guard < body.index("THROW 50041")
        assert f"N'{accion}', N'Programaciones'" in body
    assert "SET Activo = 0, FechaActualizacion = @Marca" in desactivar
    assert "DELETE FROM dbo.Asignaciones" not in desactivar
    # only the schedule's own assignments go (common.operaciones.programaciones.eliminar)
    assert "DELETE FROM dbo.Asignaciones WHERE ProgramacionId = @ProgramacionId;" in eliminar
    assert eliminar.index("DELETE FROM dbo.Asignaciones") < eliminar.index("DELETE FROM dbo.Programaciones")
    assert "RobotId = @RobotId;" not in eliminar[eliminar.index("DELETE FROM dbo.Asignaciones"):]
