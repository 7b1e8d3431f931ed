"""L7.4: the overlap of two schedules on one equipo (common.solapamiento.solapes).

The property test compares the interval arithmetic with a brute-force, minute-by-minute expansion
of both schedules over the 62-day horizon, for every pair of types (one-shot and cyclic, windows
crossing midnight, date windows, inactive rows). The explicit cases pin the situations operators
meet most.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.programacion import TIPOS, Programacion, toca_el_dia
from common.solapamiento import HORIZONTE_DIAS, Conflicto, interseccion, se_solapan, solapes

DESDE = date(2026, 1, 20)
MIN = timedelta(minutes=1)
ORIGEN = datetime.combine(DESDE, time(0, 0))


# --- brute force -----------------------------------------------------------------------------


def _minutos(p: Programacion, desde: date, dias: int) -> set[int]:
    """Every whole minute (since ``desde`` 00:00) that one of ``p``'s windows of a slot day in the
    horizon covers, expanded one by one from the row's own columns."""
    if not p.Activo:
        return set()
    cubiertos: set[int] = set()
    tol = timedelta(minutes=60 if p.Tolerancia is None else p.Tolerancia)
    for k in range(dias):
        dia = desde + timedelta(days=k)
        if not toca_el_dia(p, dia):
            continue
        inicio = datetime.combine(dia, p.HoraInicio)
        if p.EsCiclico and p.HoraFin is not None:
            fin = datetime.combine(dia + timedelta(days=p.HoraFin <= p.HoraInicio), p.HoraFin)
        else:
            fin = inicio + tol
        primero, ultimo = (inicio - ORIGEN) // MIN, (fin - ORIGEN) // MIN
        cubiertos.update(range(primero, ultimo + (0 if p.EsCiclico else 1)))
    return cubiertos


# --- generators ------------------------------------------------------------------------------


def _hora(draw) -> time:
    # whole minutes, often near midnight and near the other schedule's usual hours
    return draw(st.one_of(
        st.builds(time, st.integers(0, 23), st.integers(0, 59)),
        st.sampled_from([time(0, 0), time(0, 30), time(23, 0), time(23, 30), time(23, 59), time(8, 0), time(9, 0)]),
    ))


@st.composite
def programacion(draw, tipo: str | None = None, ciclico: bool | None = None) -> Programacion:
    tipo = tipo or draw(st.sampled_from(TIPOS))
    ciclico = draw(st.booleans()) if ciclico is None else ciclico
    campos: dict = {"TipoProgramacion": tipo, "HoraInicio": _hora(draw), "EsCiclico": ciclico}
    campos["Tolerancia"] = draw(st.one_of(st.none(), st.integers(0, 120), st.integers(0, 1440)))
    if ciclico:
        fin = draw(st.one_of(st.none(), st.builds(time, st.integers(0, 23), st.integers(0, 59))))
        campos["HoraFin"] = None if fin == campos["HoraInicio"] else fin
        campos["IntervaloEntreEjecuciones"] = draw(st.one_of(st.none(), st.integers(0, 90)))
    if tipo == "Semanal":
        campos["DiaSemana"] = ",".join(draw(st.lists(st.sampled_from(["LU", "MA", "MI", "JU", "VI", "SA", "DO"]),
                                                     min_size=1, max_size=3)))
    elif tipo == "Mensual":
        campos["DiaDelMes"] = draw(st.one_of(st.integers(1, 31), st.sampled_from([28, 29, 30, 31])))
    elif tipo == "Especifica":
        campos["FechaEspecifica"] = DESDE + timedelta(days=draw(st.integers(-2, HORIZONTE_DIAS + 1)))
    elif tipo == "RangoMensual":
        if draw(st.booleans()):
            campos["UltimosDiasMes"] = draw(st.integers(1, 7))
        else:
            inicio = draw(st.integers(1, 31))
            campos["DiaInicioMes"], campos["DiaFinMes"] = inicio, draw(st.integers(inicio, 31))
    if draw(st.integers(0, 3)) == 0:
        a = DESDE + timedelta(days=draw(st.integers(-5, HORIZONTE_DIAS)))
        campos["FechaInicioVentana"] = draw(st.one_of(st.none(), st.just(a)))
        campos["FechaFinVentana"] = draw(st.one_of(st.none(), st.just(a + timedelta(days=draw(st.integers(0, 40))))))
    campos["Activo"] = draw(st.integers(0, 9)) > 0
    return Programacion(**campos)


def _comprobar(a: Programacion, b: Programacion) -> None:
    comunes = _minutos(a, DESDE, HORIZONTE_DIAS) & _minutos(b, DESDE, HORIZONTE_DIAS)
    todos = solapes(a, b, DESDE, maximo=10_000)
    assert bool(todos) == bool(comunes), (a, b, sorted(comunes)[:3], todos[:3])
    if not comunes:
        return
    # the first conflict starts at the first shared minute; every conflict minute is shared
    assert (todos[0].inicio - ORIGEN) // MIN == min(comunes)
    cubiertos = set()
    for c in todos:
        assert c.inicio < c.fin or (c.inicio == c.fin and c.fin_incluido)
        cubiertos.update(range((c.inicio - ORIGEN) // MIN, (c.fin - ORIGEN) // MIN + c.fin_incluido))
    assert cubiertos == comunes
    # symmetric, sorted and bounded
    assert [(c.inicio, c.fin) for c in solapes(b, a, DESDE, maximo=10_000)] == [(c.inicio, c.fin) for c in todos]
    primeros = solapes(a, b, DESDE)
    assert primeros == sorted(primeros) and len(primeros) == min(10, len(todos)) and primeros == todos[:10]


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=programacion(), b=programacion())
def test_L7_4_overlap_matches_minute_by_minute_expansion(a, b):
    _comprobar(a, b)


PARES = list(itertools.product(itertools.product(TIPOS, (False, True)), repeat=2))


@pytest.mark.parametrize(("ta", "tb"), PARES, ids=[f"{a[0]}{'C' if a[1] else ''}-{b[0]}{'C' if b[1] else ''}"
                                                  for a, b in PARES])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_L7_4_every_pair_of_types_matches_the_expansion(ta, tb, data):
    a = data.draw(programacion(ta[0], ta[1]))
    b = data.draw(programacion(tb[0], tb[1]))
    _comprobar(a, b)


# --- explicit cases --------------------------------------------------------------------------


def P(**campos) -> Programacion:  # noqa: N802 - reads like the row
    campos.setdefault("TipoProgramacion", "Diaria")
    return Programacion(**campos)


def test_L7_4_midnight_crossing_cyclic_window_meets_an_early_morning_slot():
    noche = P(EsCiclico=True, HoraInicio=time(22, 0), HoraFin=time(2, 0))
    madrugada = P(HoraInicio=time(1, 0), Tolerancia=30)
    c = solapes(noche, madrugada, DESDE)
    # the first shared stretch is the early slot of the horizon's first day after the night window
    assert c[0] == Conflicto(datetime(2026, 1, 21, 1, 0), datetime(2026, 1, 21, 1, 30), DESDE, DESDE + timedelta(1), True)
    assert c[0].describir() == "el 2026-01-21 de 01:00 a 01:30"
    assert len(c) == 10  # bounded


def test_L7_4_half_open_cyclic_end_does_not_meet_a_slot_starting_at_it():
    ciclica = P(EsCiclico=True, HoraInicio=time(8, 0), HoraFin=time(9, 0))
    assert not se_solapan(ciclica, P(HoraInicio=time(9, 0), Tolerancia=10), DESDE)
    # but a closed one-shot end does meet a slot starting at it
    assert solapes(P(HoraInicio=time(8, 0), Tolerancia=60), P(HoraInicio=time(9, 0), Tolerancia=10), DESDE)[0] \
        .describir() == "el 2026-01-20 a las 09:00"


def test_L7_4_rango_mensual_last_days_meets_mensual_31_in_february():
    ultimos = P(TipoProgramacion="RangoMensual", UltimosDiasMes=2, HoraInicio=time(7, 0), Tolerancia=60)
    dia31 = P(TipoProgramacion="Mensual", DiaDelMes=31, HoraInicio=time(7, 30), Tolerancia=10)
    c = solapes(ultimos, dia31, date(2026, 2, 1), dias=28)
    # Mensual 31 in February means the 28th, one of the last two days
    assert [x.inicio for x in c] == [datetime(2026, 2, 28, 7, 30)]
    # a range clamped to the month's end behaves the same
    rango = P(TipoProgramacion="RangoMensual", DiaInicioMes=30, DiaFinMes=31, HoraInicio=time(7, 0))
    assert [x.dia_a for x in solapes(rango, dia31, date(2026, 2, 1), dias=28)] == [date(2026, 2, 28)]


def test_L7_4_disjoint_date_windows_never_overlap():
    enero = P(HoraInicio=time(8, 0), FechaInicioVentana=date(2026, 1, 1), FechaFinVentana=date(2026, 1, 31))
    febrero = P(HoraInicio=time(8, 0), FechaInicioVentana=date(2026, 2, 1), FechaFinVentana=date(2026, 2, 28))
    assert solapes(enero, febrero, DESDE) == []
    # the window of the last day of January that crosses into February still counts as January
    noche = P(HoraInicio=time(23, 30), Tolerancia=60, FechaFinVentana=date(2026, 1, 31))
    c = solapes(noche, P(HoraInicio=time(0, 15), Tolerancia=5, FechaInicioVentana=date(2026, 2, 1)), DESDE)
    assert [(x.inicio, x.dia_a, x.dia_b) for x in c] == [(datetime(2026, 2, 1, 0, 15), date(2026, 1, 31),
                                                        date(2026, 2, 1))]


def test_L7_4_inactive_and_invalid_schedules_are_ignored():
    base = P(HoraInicio=time(8, 0))
    assert solapes(base, P(HoraInicio=time(8, 0)), DESDE)
    assert solapes(base, P(HoraInicio=time(8, 0), Activo=False), DESDE) == []
    assert solapes(base, P(TipoProgramacion="Mensual", HoraInicio=time(8, 0)), DESDE) == []  # no DiaDelMes


def test_L7_4_weekly_days_and_specific_date_outside_the_horizon():
    lunes = P(TipoProgramacion="Semanal", DiaSemana="LU", HoraInicio=time(8, 0))
    martes = P(TipoProgramacion="Semanal", DiaSemana="MA", HoraInicio=time(8, 0))
    assert solapes(lunes, martes, DESDE) == []
    lejos = P(TipoProgramacion="Especifica", FechaEspecifica=DESDE + timedelta(days=HORIZONTE_DIAS),
              HoraInicio=time(8, 0))
    assert solapes(P(HoraInicio=time(8, 0)), lejos, DESDE) == []
    assert solapes(P(HoraInicio=time(8, 0)), lejos, DESDE, dias=HORIZONTE_DIAS + 1)


def test_L7_4_cyclic_without_hora_fin_uses_tolerance_and_zero_is_empty():
    ciclica = P(EsCiclico=True, HoraInicio=time(8, 0), Tolerancia=30)
    assert solapes(ciclica, P(HoraInicio=time(8, 29), Tolerancia=0), DESDE)
    assert not se_solapan(ciclica, P(HoraInicio=time(8, 30), Tolerancia=0), DESDE)
    vacia = P(EsCiclico=True, HoraInicio=time(8, 0), Tolerancia=0)
    assert not se_solapan(vacia, P(HoraInicio=time(8, 0), Tolerancia=0), DESDE)


def test_interseccion_respects_closed_and_half_open_ends():
    h = datetime(2026, 1, 1, 8)
    una_hora = (h, h + timedelta(hours=1))
    despues = (h + timedelta(hours=1), h + timedelta(hours=2))
    assert interseccion(una_hora, True, despues, True) == (despues[0], despues[0])
    assert interseccion(una_hora, False, despues, True) is None
    assert interseccion(despues, True, una_hora, False) is None
    assert interseccion((h, h), False, una_hora, True) is None  # empty half-open window
    assert interseccion((h, h), True, una_hora, False) == (h, h)


def test_conflict_crossing_midnight_is_described_with_both_dates():
    c = Conflicto(datetime(2026, 1, 20, 23, 30), datetime(2026, 1, 21, 0, 30), DESDE, DESDE)
    assert c.describir() == "del 2026-01-20 23:30 al 2026-01-21 00:30"
    assert Conflicto(datetime(2026, 1, 20, 23, 0), datetime(2026, 1, 21), DESDE, DESDE).describir() == \
        "el 2026-01-20 de 23:00 a 00:00"
