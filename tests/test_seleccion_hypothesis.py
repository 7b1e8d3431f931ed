"""L2.1 cross-check: on random schedules and random times, the SQLite twin of
``dbo.ObtenerRobotsEjecutables`` launches exactly when the pure reference model
(``common.programacion.vence``) says a slot is due, with the same slot date and hour."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.programacion import Programacion, tokens_dia_semana, vence
from lanzador.database.seleccion import obtener_robots_ejecutables

TOKENS = ["LU", "MA", "MI", "JU", "VI", "SA", "DO", "lu", "Mi", "SÁ", "sá", "DOM", "LUN", "X", "JUVI"]
SEPS = [",", " ", ", ", ";", " ,  "]


DIAS = ["LU", "MA", "MI", "JU", "VI", "SA", "DO"]


@st.composite
def dia_semana(draw, ahora):
    hoy, ayer = DIAS[ahora.weekday()], DIAS[(ahora.weekday() - 1) % 7]
    toks = draw(st.lists(st.sampled_from(TOKENS + [hoy, ayer, hoy.lower(), ayer]), min_size=0, max_size=4))
    sep = draw(st.sampled_from(SEPS))
    return sep.join(toks) if toks else draw(st.sampled_from([None, ""]))


@st.composite
def caso(draw):
    ahora = datetime(2026, 1, 1) + timedelta(seconds=draw(st.integers(0, 400 * 86400)))
    tipo = draw(st.sampled_from(["Diaria", "Semanal", "Mensual", "Especifica"]))
    # start near "now" so that due slots are frequent, incl. windows crossing midnight
    delta = draw(st.one_of(st.integers(-26 * 3600, 2 * 3600), st.integers(-90 * 60, 0)))
    hora = (ahora + timedelta(seconds=delta)).time().replace(microsecond=0)
    tol = draw(st.one_of(st.none(), st.integers(0, 1440)))
    return {
        "ahora": ahora,
        "tipo": tipo,
        "hora": hora,
        "tol": tol,
        "dia_semana": draw(dia_semana(ahora)) if tipo == "Semanal" else None,
        "dia_del_mes": draw(st.one_of(st.integers(1, 31), st.sampled_from(
            [ahora.day, (ahora - timedelta(days=1)).day, 29, 30, 31]))) if tipo == "Mensual" else None,
        "fecha": (ahora.date() + timedelta(days=draw(st.integers(-2, 1)))) if tipo == "Especifica" else None,
    }


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    client = DatabaseClient(engine="sqlite", sqlite_path=tmp_path_factory.mktemp("l2h") / "sam.db")
    ensure_schema(client)
    client.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'P0010_Robot')")
    client.execute("INSERT INTO Equipos (EquipoId, Equipo, UserId, EstadoA360, UsuarioActivoA360) "
                   "VALUES (10, 'VM10', 700, 'CONNECTED', 1)")
    yield client
    client.close_all()


def test_L2_1_tokens_examples():
    assert tokens_dia_semana(" lu , sá;DO") == {"LU", "SA", "DO"}
    assert tokens_dia_semana(None) == set()


def _p(tipo, hora, tol, **extra):
    return Programacion(TipoProgramacion=tipo, HoraInicio=hora, Tolerancia=tol, **extra)


def test_L2_1_reference_model_examples():
    mon = datetime(2026, 3, 2, 0, 15)
    assert vence(_p("Diaria", time(23, 30), 60), mon) == date(2026, 3, 1)
    assert vence(_p("Semanal", time(23, 30), 60, DiaSemana="DO"), mon) == date(2026, 3, 1)
    assert vence(_p("Semanal", time(23, 30), 60, DiaSemana="LU"), mon) is None
    assert vence(_p("Mensual", time(10, 0), None, DiaDelMes=31), datetime(2026, 2, 28, 11, 0)) == date(2026, 2, 28)
    assert vence(_p("Mensual", time(10, 0), None, DiaDelMes=31), datetime(2026, 2, 28, 11, 0, 1)) is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(c=caso())
def test_L2_1_sqlite_twin_matches_reference_model(db, c):
    with db.transaction() as tx:
        tx.execute("DELETE FROM Asignaciones")
        tx.execute("DELETE FROM Programaciones")
        tx.execute(
            "INSERT INTO Programaciones (ProgramacionId, RobotId, TipoProgramacion, HoraInicio, DiaSemana, "
            "DiaDelMes, FechaEspecifica, Tolerancia, Activo) VALUES (1, 1, ?, ?, ?, ?, ?, ?, 1)",
            (c["tipo"], c["hora"], c["dia_semana"], c["dia_del_mes"], c["fecha"], c["tol"]),
        )
        tx.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, ProgramacionId) VALUES (1, 10, 1, 1)")
    expected = vence(_p(c["tipo"], c["hora"], c["tol"], DiaSemana=c["dia_semana"], DiaDelMes=c["dia_del_mes"],
                        FechaEspecifica=c["fecha"]), c["ahora"])
    rows = obtener_robots_ejecutables(db, c["ahora"])
    if expected is None:
        assert rows == []
    else:
        assert [(r.fecha_slot, r.hora, r.es_programado) for r in rows] == [(expected, c["hora"], True)]
