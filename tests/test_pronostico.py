"""B15: the forecast per robot — time to drain its queue at the last hour's throughput, with its
equipos now and with one more — on recorded histories and as properties; the SAM DB adapter on a
real SQLite DB (the recorded demo run loaded into it); and the ``--simular`` table.

Recorded history: ``tests/data/pronostico_demo.json`` is a real ``python -m demo`` run dumped with
``tests/data/pronostico_volcar.py``. The expected figures are recomputed here from the raw rows by
the model's definition (least-squares slope, equipo-hours), not copied from the code's output.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from balanceador.database import pronostico as pronostico_sql
from balanceador.modelo import Asignacion, RobotBalanceo
from balanceador.pronostico import (
    BASE_EJECUCIONES,
    BASE_TICKETS,
    COLA_VACIA,
    EN_MAXIMO,
    NO_SE_VACIA,
    SIN_EQUIPOS,
    SIN_RITMO,
    VENTANA,
    CambioEquipos,
    HistoriaRobot,
    Muestra,
    Ritmo,
    equipos_medios,
    horas_para_vaciar,
    pronosticar,
    texto_horas,
)
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tests" / "data" / "pronostico_demo.json"
AHORA = datetime(2026, 3, 2, 12, 0, 0)


def _min(m: float) -> datetime:
    """``m`` minutes before AHORA."""
    return AHORA - timedelta(minutes=m)


def _pendiente(puntos: list[tuple[float, float]]) -> float:
    """Least-squares slope of (hours, tickets), written out independently of the module."""
    n = len(puntos)
    mx = sum(x for x, _ in puntos) / n
    my = sum(y for _, y in puntos) / n
    return sum((x - mx) * (y - my) for x, y in puntos) / sum((x - mx) ** 2 for x, _ in puntos)


# ------------------------------------------------------------------------------ scenarios
def test_B15_steady_drain_uses_the_observed_ticket_slope():
    # 2 equipos all hour; 120 tickets an hour ago, 10 fewer every 10 minutes: 60/h net, 30 per equipo.
    muestras = [Muestra(_min(60 - 10 * i), 120 - 10 * i) for i in range(6)]
    h = HistoriaRobot(1, tickets=60, equipos=2, muestras=muestras, completadas={10: 12, 11: 12})
    p = pronosticar(h, AHORA)
    assert p.ritmo.base == BASE_TICKETS
    assert p.ritmo.por_equipo_hora == pytest.approx(30.0)
    assert p.horas == pytest.approx(60 / 60)  # 60 tickets at 60/h
    assert p.horas_con_uno_mas == pytest.approx(60 / 90)  # one more equipo: 3 x 30
    assert p.motivo is None and p.motivo_uno_mas is None
    assert (p.muestras, p.ejecuciones, p.equipos_con_ejecuciones) == (7, 24, 2)
    assert p.equipos_medios == pytest.approx(2.0)
    assert "ritmo: bajada observada de la cola" in p.base_texto and "ventana 60 min" in p.base_texto


def test_B15_growing_queue_does_not_empty_at_the_current_rate_but_may_with_one_more():
    # Tickets rise 12/h with 2 equipos completing 20 runs/h each: arrivals 12 + 40 = 52/h.
    muestras = [Muestra(_min(60 - 15 * i), 40 + 3 * i) for i in range(4)]
    h = HistoriaRobot(2, tickets=52, equipos=2, muestras=muestras, completadas={10: 20, 11: 20})
    p = pronosticar(h, AHORA)
    assert p.ritmo.base == BASE_EJECUCIONES
    assert p.ritmo.por_equipo_hora == pytest.approx(20.0)
    assert p.ritmo.llegadas_hora == pytest.approx(12 + 40)
    assert (p.horas, p.motivo) == (None, NO_SE_VACIA)
    # 3 equipos: 60 - 52 = 8 tickets/h net.
    assert p.horas_con_uno_mas == pytest.approx(52 / 8)
    assert texto_horas(p.horas, p.motivo) == "no se vacía al ritmo actual"


def test_B15_no_completions_and_no_drain_gives_no_number():
    h = HistoriaRobot(3, tickets=30, equipos=1, muestras=[Muestra(_min(30), 30)])
    p = pronosticar(h, AHORA)
    assert p.ritmo.base is None
    assert (p.horas, p.motivo) == (None, SIN_RITMO)
    assert (p.horas_con_uno_mas, p.motivo_uno_mas) == (None, SIN_RITMO)
    assert "0 ejecuciones completadas" in p.base_texto


def test_B15_at_max_equipos_one_more_is_not_offered():
    muestras = [Muestra(_min(40), 80), Muestra(_min(20), 60)]
    h = HistoriaRobot(4, tickets=40, equipos=3, max_equipos=3, muestras=muestras)
    p = pronosticar(h, AHORA)
    assert p.horas == pytest.approx(40 / 60)  # 60 tickets/h net at 3 equipos
    assert p.horas_con_uno_mas is None and p.motivo_uno_mas == f"{EN_MAXIMO} (3)"
    assert "MaxEquipos (3)" in texto_horas(p.horas_con_uno_mas, p.motivo_uno_mas)


def test_B15_bursty_arrivals_fit_the_whole_window_not_the_last_jump():
    # A burst of 50 tickets at -30 min on an otherwise falling queue: the least-squares slope of
    # all samples is the rate, not the last step; recomputed here from the raw points.
    crudo = [(60, 20), (50, 14), (40, 8), (30, 58), (20, 50), (10, 42)]
    muestras = [Muestra(_min(m), t) for m, t in crudo]
    h = HistoriaRobot(5, tickets=35, equipos=1, muestras=muestras, completadas={10: 9})
    p = pronosticar(h, AHORA)
    s = _pendiente([((60 - m) / 60, t) for m, t in [*crudo, (0, 35)]])
    assert s > 0  # the burst makes the hour's net slope positive: no ticket-based drain
    assert p.ritmo.base == BASE_EJECUCIONES
    assert p.ritmo.llegadas_hora == pytest.approx(s + 9)
    assert (p.horas, p.motivo) == (None, NO_SE_VACIA)
    # Without the burst's jump (a falling queue) the slope of the samples is the rate.
    sin_rafaga = [Muestra(_min(m), t - (50 if m <= 30 else 0)) for m, t in crudo]
    q = pronosticar(HistoriaRobot(5, tickets=2, equipos=1, muestras=sin_rafaga), AHORA)
    s2 = _pendiente([((60 - m) / 60, t - (50 if m <= 30 else 0)) for m, t in crudo] + [(1.0, 2)])
    assert q.ritmo.base == BASE_TICKETS and q.horas == pytest.approx(2 / -s2)


def test_B15_empty_queue_and_no_equipos():
    vacia = pronosticar(HistoriaRobot(6, tickets=0, equipos=2, completadas={1: 5}), AHORA)
    assert (vacia.horas, vacia.motivo, vacia.horas_con_uno_mas) == (0.0, COLA_VACIA, 0.0)
    assert texto_horas(vacia.horas, vacia.motivo) == "cola vacía"
    # Its equipos left 30 min ago after completing 10 runs: no equipo now, one more drains it.
    cambios = [CambioEquipos(_min(30), 2, 0)]
    p = pronosticar(HistoriaRobot(7, tickets=10, equipos=0, cambios=cambios, completadas={1: 5, 2: 5}), AHORA)
    assert p.equipos_medios == pytest.approx(1.0)  # 2 equipos for half the hour
    assert p.ritmo.por_equipo_hora == pytest.approx(10.0) and p.ritmo.llegadas_hora is None
    assert (p.horas, p.motivo) == (None, SIN_EQUIPOS)
    assert p.horas_con_uno_mas == pytest.approx(1.0)
    assert "sin muestras para medir las llegadas" in p.base_texto


def test_B15_equipos_walk_back_from_now_over_the_changes():
    # 1 equipo until -40, 3 until -10, then 2 (now): (20*1 + 30*3 + 10*2) / 60.
    cambios = [CambioEquipos(_min(40), 1, 3), CambioEquipos(_min(10), 3, 2)]
    assert equipos_medios(2, cambios, _min(60), AHORA) == pytest.approx((20 + 90 + 20) / 60)
    # Rows outside the window are ignored; the count never goes below zero.
    assert equipos_medios(1, [CambioEquipos(_min(90), 0, 5)], _min(60), AHORA) == pytest.approx(1.0)
    assert equipos_medios(0, [CambioEquipos(_min(30), 0, 4)], _min(60), AHORA) == pytest.approx(0.0)


def test_B15_texts_say_it_is_an_estimate():
    assert texto_horas(1.5, None) == "~1 h 30 min"
    assert texto_horas(0.25, None) == "~15 min"
    assert texto_horas(0.001, None) == "< 1 min"
    assert texto_horas(None, NO_SE_VACIA) == NO_SE_VACIA
    from balanceador.pronostico import CABECERA, NOTA, TITULO
    assert "estimación" in TITULO and "estimación" in NOTA
    assert all("estimación" in c for c in CABECERA if c.startswith(("Vaciar", "Con 1")))


# ------------------------------------------------------------------------------ properties
_ritmos = st.builds(
    Ritmo,
    base=st.sampled_from([BASE_TICKETS, BASE_EJECUCIONES, None]),
    por_equipo_hora=st.floats(min_value=0, max_value=500, allow_nan=False),
    llegadas_hora=st.one_of(st.none(), st.floats(min_value=0, max_value=2000, allow_nan=False)),
)


@st.composite
def _historias(draw) -> HistoriaRobot:
    n = draw(st.integers(min_value=0, max_value=8))
    minutos = sorted(draw(st.lists(st.floats(min_value=0.5, max_value=60), min_size=n, max_size=n, unique=True)),
                     reverse=True)
    muestras = [Muestra(_min(m), draw(st.integers(min_value=0, max_value=500))) for m in minutos]
    cambios = [CambioEquipos(_min(draw(st.floats(min_value=0.5, max_value=60))), draw(st.integers(0, 6)),
                             draw(st.integers(0, 6))) for _ in range(draw(st.integers(0, 4)))]
    completadas = draw(st.dictionaries(st.integers(1, 20), st.integers(0, 40), max_size=5))
    return HistoriaRobot(1, tickets=draw(st.integers(0, 500)), equipos=draw(st.integers(0, 8)),
                         max_equipos=draw(st.sampled_from([-1, 0, 2, 5, 10])), muestras=muestras,
                         cambios=cambios, completadas=completadas)


@settings(max_examples=300, deadline=None)
@given(_historias())
def test_B15_property_one_more_equipo_never_predicts_a_longer_drain(h):
    p = pronosticar(h, AHORA)
    if p.horas is not None and p.horas_con_uno_mas is not None:
        assert p.horas_con_uno_mas <= p.horas
    if p.horas is not None and p.horas > 0:  # a finite drain now is finite with one more, unless at Max
        assert p.horas_con_uno_mas is not None or (p.motivo_uno_mas or "").startswith(EN_MAXIMO)


@settings(max_examples=300, deadline=None)
@given(_ritmos, st.integers(1, 1000), st.integers(0, 10))
def test_B15_property_zero_throughput_never_yields_a_finite_time(ritmo, tickets, equipos):
    horas, motivo = horas_para_vaciar(tickets, ritmo, equipos)
    neto = ritmo.por_equipo_hora * equipos - (ritmo.llegadas_hora or 0.0)
    if ritmo.base is None or neto <= 0 or not math.isfinite(tickets / neto):
        assert horas is None and motivo
    else:
        assert horas is not None and math.isfinite(horas) and horas == pytest.approx(tickets / neto)


@settings(max_examples=300, deadline=None)
@given(_ritmos, st.integers(0, 1000), st.integers(0, 1000), st.integers(0, 10))
def test_B15_property_monotonic_in_tickets(ritmo, a, b, equipos):
    pocos, muchos = sorted((a, b))
    h1, _ = horas_para_vaciar(pocos, ritmo, equipos)
    h2, _ = horas_para_vaciar(muchos, ritmo, equipos)
    if h2 is not None and muchos > 0:
        assert h1 is not None and h1 <= h2


@settings(max_examples=200, deadline=None)
@given(_historias(), st.integers(1, 300))
def test_B15_property_more_tickets_over_the_same_history_never_drain_sooner(h, k):
    # Shifting every sample and the current count up by k keeps the rates and adds k tickets.
    mas = HistoriaRobot(h.robot_id, h.tickets + k, h.equipos, h.max_equipos,
                        [Muestra(m.fecha, m.tickets + k) for m in h.muestras], h.cambios, h.completadas)
    p, q = pronosticar(h, AHORA), pronosticar(mas, AHORA)
    assert q.ritmo.base == p.ritmo.base
    assert q.ritmo.por_equipo_hora == pytest.approx(p.ritmo.por_equipo_hora)
    assert (q.ritmo.llegadas_hora is None) == (p.ritmo.llegadas_hora is None)
    if q.horas is not None:
        assert p.horas is not None and p.horas <= q.horas + 1e-9


# ------------------------------------------------------------------------------ recorded demo run
def _demo() -> dict:
    return json.loads(DEMO.read_text(encoding="utf-8"))


def _fecha(texto: str) -> datetime:
    return datetime.fromisoformat(texto)


def _cargar_demo(ruta: Path) -> tuple[DatabaseClient, dict]:
    """A real SQLite SAM DB holding the recorded run's robots, assignments, history and executions."""
    datos = _demo()
    db = DatabaseClient(engine="sqlite", sqlite_path=ruta)
    ensure_schema(db)
    for tabla, filas in (("Robots", datos["robots"]), ("Equipos", datos["equipos"]),
                         ("Asignaciones", datos["asignaciones"]), ("HistoricoBalanceo", datos["historico"])):
        columnas = list(filas[0])
        db.executemany(f"INSERT INTO {tabla} ({', '.join(columnas)}) VALUES ({', '.join('?' * len(columnas))})",
                       [tuple(f[c] for c in columnas) for f in filas])
    # Half the closed executions go to the history table: EjecucionesTodas must see both.
    for i, e in enumerate(datos["ejecuciones"]):
        valores = (e["EjecucionId"], e["RobotId"], e["EquipoId"], e["Estado"], e["FechaInicio"], e["FechaFin"])
        if i % 2:
            db.execute("INSERT INTO Ejecuciones_Historico (EjecucionId, RobotId, EquipoId, Estado, FechaInicio, "
                       "FechaFin, FechaMovimiento) VALUES (?, ?, ?, ?, ?, ?, ?)", (*valores, e["FechaFin"]))
        else:
            db.execute("INSERT INTO Ejecuciones (EjecucionId, RobotId, EquipoId, Estado, FechaInicio, FechaFin) "
                       "VALUES (?, ?, ?, ?, ?, ?)", valores)
    return db, datos


def _esperado_demo(datos: dict, robot_id: int) -> dict:
    """The figures of one robot recomputed from the raw recorded rows."""
    ahora = _fecha(datos["ahora"])
    desde = ahora - VENTANA
    filas = [h for h in datos["historico"] if h["RobotId"] == robot_id and desde <= _fecha(h["FechaBalanceo"]) < ahora]
    ok = [e for e in datos["ejecuciones"] if e["RobotId"] == robot_id and e["Estado"] in ("RUN_COMPLETED", "COMPLETED")
          and desde <= _fecha(e["FechaFin"]) <= ahora]
    equipos = sum(1 for a in datos["asignaciones"] if a["RobotId"] == robot_id)
    return {"ahora": ahora, "filas": filas, "completadas": len(ok), "equipos": equipos,
            "tickets": datos["tickets"].get(str(robot_id), 0)}


@pytest.fixture()
def demo_db(tmp_path):
    db, datos = _cargar_demo(tmp_path / "sam.db")
    yield db, datos
    db.close_all()


def test_B15_recorded_demo_run_figures_follow_from_the_rows(demo_db):
    db, datos = demo_db
    ahora = _fecha(datos["ahora"])
    robots = [RobotBalanceo(r["RobotId"], r["Robot"], max_equipos=r["MaxEquipos"]) for r in datos["robots"]
              if r["Activo"] and r["EsOnline"]]
    asignaciones = [Asignacion(a["RobotId"], a["EquipoId"], a["AsignadoPor"]) for a in datos["asignaciones"]]
    tickets = {int(k): v for k, v in datos["tickets"].items()}
    pronosticos = {p.robot_id: p for p in pronostico_sql.pronosticos(db, robots, tickets, asignaciones, ahora)}
    assert set(pronosticos) == {r.robot_id for r in robots}
    con_numero = 0
    for r in robots:
        p, e = pronosticos[r.robot_id], _esperado_demo(datos, r.robot_id)
        assert (p.tickets, p.equipos, p.ejecuciones) == (e["tickets"], e["equipos"], e["completadas"])
        assert p.muestras == len({h["FechaBalanceo"] for h in e["filas"]}) + 1  # + the current count
        if p.ritmo.base == BASE_TICKETS:
            puntos = [((_fecha(h["FechaBalanceo"]) - ahora).total_seconds() / 3600, h["TicketsPendientes"])
                      for h in e["filas"]] + [(0.0, e["tickets"])]
            s = _pendiente(puntos)
            assert s < 0 and p.ritmo.por_equipo_hora * p.equipos_medios == pytest.approx(-s)
            assert p.horas == pytest.approx(e["tickets"] / (-s * p.equipos / p.equipos_medios))
        elif p.ritmo.base == BASE_EJECUCIONES:
            assert p.ritmo.por_equipo_hora * p.equipos_medios == pytest.approx(e["completadas"])  # per hour
        if p.horas is not None and p.horas > 0:
            con_numero += 1
            assert p.horas_con_uno_mas is not None or r.max_equipos == p.equipos
            if p.horas_con_uno_mas is not None:
                assert p.horas_con_uno_mas < p.horas
    assert con_numero >= 2  # the recorded run drains some queues: the fixture exercises the numbers


def test_B15_reads_are_registered_and_use_the_indexes(demo_db):
    db, datos = demo_db
    from common.database import sentencias

    # each read seeks an index of each table it reads (which one SQLite picks depends on its
    # statistics: the end-time range or the robot's rows), never a scan of the history
    for nombre, opciones in (("pronostico.muestras", (("IX_HistoricoBalanceo_Robot_Fecha",),)),
                             ("pronostico.completadas", (("IX_Ejecuciones_Historico_FechaFin",
                                                          "IX_Ejecuciones_Historico_Robot_Id"),))):
        sql = sentencias.sql(db, nombre, marcas=2)
        plan = " ".join(str(tuple(f.values())) for f in db.query("EXPLAIN QUERY PLAN " + sql,
                                                                (1, 2, datetime(2026, 1, 1), datetime(2026, 1, 2))))
        for indices in opciones:
            assert any(f"USING INDEX {i} (" in plan for i in indices), plan
        assert "SCAN Ejecuciones_Historico" not in plan and "SCAN HistoricoBalanceo" not in plan, plan


def test_B15_window_excludes_what_is_older_than_an_hour_and_failures(tmp_path):
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    try:
        ensure_schema(db)
        db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'R1')")
        filas = [(1, 10, "RUN_COMPLETED", _min(30)), (1, 10, "COMPLETED", _min(59)), (1, 11, "RUN_FAILED", _min(10)),
                 (1, 11, "RUN_COMPLETED", _min(61)), (1, 11, "DEPLOY_FAILED", _min(5)), (1, 12, "RUN_COMPLETED", _min(1))]
        db.executemany("INSERT INTO Ejecuciones (RobotId, EquipoId, Estado, FechaInicio, FechaFin) VALUES (?, ?, ?, ?, ?)",
                       [(r, e, s, f - timedelta(minutes=5), f) for r, e, s, f in filas])
        db.executemany("INSERT INTO HistoricoBalanceo (FechaBalanceo, RobotId, TicketsPendientes, EquiposAsignadosAntes, "
                       "EquiposAsignadosDespues, AccionTomada) VALUES (?, 1, ?, ?, ?, 'ASIGNAR')",
                       [(_min(90), 99, 0, 1), (_min(45), 40, 1, 2)])
        historico, completadas = pronostico_sql.leer_ventana(db, [1], AHORA)
    finally:
        db.close_all()
    assert completadas == {1: {10: 2, 12: 1}}
    assert [(f["TicketsPendientes"], f["EquiposAsignadosDespues"]) for f in historico[1]] == [(40, 2)]


# ------------------------------------------------------------------------------ --simular
def _cuentas(ruta: Path) -> tuple[int, ...]:
    con = sqlite3.connect(ruta)
    try:
        return tuple(con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                     for t in ("Asignaciones", "HistoricoBalanceo", "Ejecuciones", "Ejecuciones_Historico"))
    finally:
        con.close()


def test_B15_simular_prints_the_forecast_after_the_plan(tmp_path):
    db, datos = _cargar_demo(tmp_path / "sam.db")
    db.close_all()
    rpa = sqlite3.connect(tmp_path / "rpa360.db")
    nombres = {r["RobotId"]: r["Robot"] for r in datos["robots"]}
    rpa.execute("CREATE TABLE TicketsPendientesPorRobot (Robot TEXT, RobotId INTEGER, CantidadTickets INTEGER)")
    rpa.executemany("INSERT INTO TicketsPendientesPorRobot VALUES (?, ?, ?)",
                    [(nombres[int(k)], int(k), v) for k, v in datos["tickets"].items()])
    rpa.commit()
    rpa.close()
    env = {**os.environ, "SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": str(tmp_path / "sam.db"),
           "BALANCEADOR_PROVEEDORES_CARGA": "rpa360", "SQL_RPA360_ENGINE": "sqlite",
           "SQL_RPA360_SQLITE_PATH": str(tmp_path / "rpa360.db"), "LOG_DIRECTORY": str(tmp_path / "logs"),
           "SAM_ZONA_HORARIA": "UTC", "PYTHONIOENCODING": "utf-8"}
    antes = _cuentas(tmp_path / "sam.db")
    r = subprocess.run([sys.executable, "balanceador/run_balanceador.py", "--simular"], cwd=ROOT, env=env,
                       capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert r.returncode == 0, r.stderr
    lineas = r.stdout.splitlines()
    i = next(i for i, ln in enumerate(lineas) if ln.startswith("Pronóstico (estimación) por robot"))
    assert i > next(i for i, ln in enumerate(lineas) if ln.startswith("Equipos en el pool"))  # after the plan
    cab = [c.strip() for c in lineas[i + 1].split(" | ")]
    assert cab == ["Robot", "RobotId", "Tickets", "Equipos", "Ritmo", "Vaciar (estimación)",
                   "Con 1 equipo más (estimación)", "Base"]
    filas = {}
    for ln in lineas[i + 3:]:
        if not ln.startswith(tuple(nombres.values())):
            break
        celdas = [c.strip() for c in ln.split(" | ")]
        filas[celdas[0]] = celdas
    assert filas, r.stdout
    for celdas in filas.values():
        assert "ventana 60 min" in celdas[7] and "muestra" in celdas[7]
    assert lineas[i + 3 + len(filas)].startswith("Es una estimación")
    # The dry run read the recorded executions but wrote nothing.
    assert any("ejecuciones completadas" in c[7] and not c[7].startswith("ventana 60 min; 1 muestra;")
               for c in filas.values())
    assert _cuentas(tmp_path / "sam.db") == antes


# ------------------------------------------------------------------------------ the basis, in words
def test_B15_equipos_given_a_moment_ago_read_as_the_equipos_now_not_a_zero_mean():
    # a new window: the balancer gave the robot its 3 equipos a second ago, one ticket sample only
    h = HistoriaRobot(7, tickets=90, equipos=3, muestras=[Muestra(_min(0.02), 90)],
                      cambios=[CambioEquipos(AHORA - timedelta(seconds=1), 0, 3)])
    p = pronosticar(h, AHORA)
    assert p.equipos_medios < 0.05  # the time-weighted mean over the hour is (rightly) about zero...
    assert "0,0 equipos" not in p.base_texto  # ...but it is not what the operator reads
    assert "3 equipos ahora, sin historial suficiente para una media de equipos" in p.base_texto


def test_B15_the_mean_a_rate_was_measured_at_is_shown_with_the_equipos_now():
    # 2 equipos for the first half hour, 4 since: the drain was measured at 3 on average
    muestras = [Muestra(_min(60 - 10 * i), 120 - 10 * i) for i in range(6)]
    h = HistoriaRobot(8, tickets=60, equipos=4, muestras=muestras, cambios=[CambioEquipos(_min(30), 2, 4)])
    p = pronosticar(h, AHORA)
    assert p.ritmo.base == BASE_TICKETS
    assert "3,0 equipos de media en la ventana (4 equipos ahora)" in p.base_texto


def test_B15_without_a_rate_the_basis_says_the_equipos_now_and_that_history_is_short():
    p = pronosticar(HistoriaRobot(9, tickets=30, equipos=1, muestras=[Muestra(_min(30), 30)]), AHORA)
    assert p.ritmo.base is None
    assert "1 equipo ahora, sin historial suficiente" in p.base_texto and "de media" not in p.base_texto
