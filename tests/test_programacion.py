"""The pure schedule model (common/programacion.py): L2.1 and L7.1-L7.3 on hand-picked cases."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from common.programacion import (
    Programacion,
    intervalo_cumplido,
    toca_el_dia,
    validar,
    vence,
    ventanas,
)


def P(**kw) -> Programacion:
    kw.setdefault("HoraInicio", time(8, 0))
    return Programacion(**kw)


# --- validar -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw, fragmento",
    [
        ({"TipoProgramacion": "Quincenal"}, "TipoProgramacion desconocido"),
        ({"TipoProgramacion": "RangoMensual", "DiaInicioMes": 1, "DiaFinMes": 5, "UltimosDiasMes": 3}, "las dos formas"),
        ({"TipoProgramacion": "RangoMensual"}, "ni UltimosDiasMes"),
        ({"TipoProgramacion": "RangoMensual", "DiaInicioMes": 3}, "necesita DiaInicioMes y DiaFinMes"),
        ({"TipoProgramacion": "RangoMensual", "DiaInicioMes": 0, "DiaFinMes": 5}, "DiaInicioMes fuera de 1..31"),
        ({"TipoProgramacion": "RangoMensual", "DiaInicioMes": 1, "DiaFinMes": 32}, "DiaFinMes fuera de 1..31"),
        ({"TipoProgramacion": "RangoMensual", "DiaInicioMes": 20, "DiaFinMes": 5}, "posterior a DiaFinMes"),
        ({"TipoProgramacion": "RangoMensual", "UltimosDiasMes": 0}, "UltimosDiasMes fuera de 1..31"),
        ({"TipoProgramacion": "RangoMensual", "UltimosDiasMes": 40}, "UltimosDiasMes fuera de 1..31"),
        ({"HoraFin": time(9, 0)}, "HoraFin en una programación no cíclica"),
        ({"IntervaloEntreEjecuciones": 5}, "IntervaloEntreEjecuciones en una programación no cíclica"),
        ({"EsCiclico": True, "IntervaloEntreEjecuciones": -1}, "IntervaloEntreEjecuciones fuera de 0..10080"),
        # D1: no upper bound let SQL Server's 60 * interval overflow INT and fail every robot's selection.
        ({"EsCiclico": True, "IntervaloEntreEjecuciones": 10081}, "IntervaloEntreEjecuciones fuera de 0..10080"),
        ({"EsCiclico": True, "IntervaloEntreEjecuciones": 35_791_395}, "IntervaloEntreEjecuciones fuera de 0..10080"),
        ({"EsCiclico": True, "IntervaloEntreEjecuciones": 2**31 - 1}, "IntervaloEntreEjecuciones fuera de 0..10080"),
        ({"EsCiclico": True, "HoraFin": time(8, 0)}, "HoraFin igual a HoraInicio"),
        ({"FechaInicioVentana": date(2026, 3, 5), "FechaFinVentana": date(2026, 3, 4)}, "FechaFinVentana anterior"),
        ({"TipoProgramacion": "Semanal", "DiaSemana": "LUN, X"}, "Semanal sin ningún día válido"),
        ({"TipoProgramacion": "Semanal", "DiaSemana": None}, "Semanal sin ningún día válido"),
        ({"TipoProgramacion": "Mensual"}, "Mensual sin DiaDelMes"),
        ({"TipoProgramacion": "Mensual", "DiaDelMes": 0}, "DiaDelMes fuera de 1..31"),
        ({"TipoProgramacion": "Especifica"}, "Especifica sin FechaEspecifica"),
        ({"HoraInicio": None}, "falta HoraInicio"),
        ({"Tolerancia": -5}, "Tolerancia fuera de 0..1440"),
        ({"Tolerancia": 1441}, "Tolerancia fuera de 0..1440"),
    ],
)
def test_L7_1_validar_names_each_problem(kw, fragmento):
    p = P(**kw)
    problemas = validar(p)
    assert any(fragmento in x for x in problemas), problemas
    # An invalid row is never due, on no day.
    assert not toca_el_dia(p, date(2026, 3, 4))
    assert ventanas(p, date(2026, 3, 4)) == []
    assert vence(p, datetime(2026, 3, 4, 8, 0)) is None


@pytest.mark.parametrize(
    "kw",
    [
        {"TipoProgramacion": "Diaria"},
        {"TipoProgramacion": "diaria  "},  # trailing spaces ignored, as SQL Server compares
        {"TipoProgramacion": "Semanal", "DiaSemana": "LU, X"},
        {"TipoProgramacion": "Mensual", "DiaDelMes": 31},
        {"TipoProgramacion": "Especifica", "FechaEspecifica": date(2026, 3, 4)},
        {"TipoProgramacion": "RangoMensual", "DiaInicioMes": 1, "DiaFinMes": 31},
        {"TipoProgramacion": "rangomensual", "UltimosDiasMes": 31},
        {"EsCiclico": True, "HoraFin": time(2, 0), "IntervaloEntreEjecuciones": 0},
        {"EsCiclico": True, "Tolerancia": 1440},
        {"EsCiclico": True, "IntervaloEntreEjecuciones": 10080},  # the upper bound itself: one week
        {"FechaInicioVentana": date(2026, 3, 4), "FechaFinVentana": date(2026, 3, 4)},
    ],
)
def test_L7_1_valid_rows_have_no_problems(kw):
    assert validar(P(**kw)) == []


def test_L7_1_desde_fila_reads_either_engine():
    sqlite_row = {"ProgramacionId": 7, "RobotId": "3", "TipoProgramacion": "RangoMensual", "HoraInicio": "22:30:00",
                  "HoraFin": "02:00:00.000", "Tolerancia": None, "EsCiclico": 1, "FechaInicioVentana": "2026-03-01",
                  "FechaFinVentana": "2026-03-31 00:00:00", "UltimosDiasMes": 3, "Activo": 1, "Otra": "x"}
    p = Programacion.desde_fila(sqlite_row)
    assert p == Programacion(ProgramacionId=7, RobotId=3, TipoProgramacion="RangoMensual", HoraInicio=time(22, 30),
                             HoraFin=time(2, 0), EsCiclico=True, FechaInicioVentana=date(2026, 3, 1),
                             FechaFinVentana=date(2026, 3, 31), UltimosDiasMes=3)
    sqlserver_row = dict(sqlite_row, HoraInicio=time(22, 30, 0, 500), EsCiclico=True,
                         FechaInicioVentana=date(2026, 3, 1), FechaFinVentana=date(2026, 3, 31), RobotId=3)
    assert Programacion.desde_fila(sqlserver_row) == p
    # Missing new columns (an old row) take their defaults: one-shot, active.
    old = Programacion.desde_fila({"TipoProgramacion": "Diaria", "HoraInicio": "08:00:00"})
    assert not old.EsCiclico and old.Activo and validar(old) == []
    # A BIT flag is true only when it is 1, as the SQL reads it.
    assert not Programacion.desde_fila({"EsCiclico": 2, "Activo": 0}).EsCiclico


# --- day rule --------------------------------------------------------------------------------------
def test_L7_1_rango_mensual_clamps_to_the_month_end():
    p = P(TipoProgramacion="RangoMensual", DiaInicioMes=29, DiaFinMes=31)
    feb = [d for d in range(1, 29) if toca_el_dia(p, date(2026, 2, d))]
    assert feb == [28]  # 29..31 clamped: only the last day of a 28-day February
    assert [d for d in range(1, 30) if toca_el_dia(p, date(2028, 2, d))] == [29]
    assert [d for d in range(1, 32) if toca_el_dia(p, date(2026, 3, d))] == [29, 30, 31]
    q = P(TipoProgramacion="RangoMensual", DiaInicioMes=10, DiaFinMes=31)
    assert [d for d in range(1, 29) if toca_el_dia(q, date(2026, 2, d))] == list(range(10, 29))


def test_L7_1_rango_mensual_last_days():
    p = P(TipoProgramacion="RangoMensual", UltimosDiasMes=3)
    assert [d for d in range(1, 29) if toca_el_dia(p, date(2026, 2, d))] == [26, 27, 28]
    assert [d for d in range(1, 31) if toca_el_dia(p, date(2026, 4, d))] == [28, 29, 30]
    todo = P(TipoProgramacion="RangoMensual", UltimosDiasMes=31)
    assert all(toca_el_dia(todo, date(2026, 2, d)) for d in range(1, 29))


def test_L7_1_date_window_bounds_the_days():
    p = P(FechaInicioVentana=date(2026, 3, 4), FechaFinVentana=date(2026, 3, 6))
    assert [d for d in range(1, 10) if toca_el_dia(p, date(2026, 3, d))] == [4, 5, 6]
    solo_inicio = P(FechaInicioVentana=date(2026, 3, 4))
    assert not toca_el_dia(solo_inicio, date(2026, 3, 3)) and toca_el_dia(solo_inicio, date(2027, 1, 1))


# --- windows ------------------------------------------------------------------------------------
def test_L7_2_one_shot_window_is_closed():
    p = P(Tolerancia=30)
    assert ventanas(p, date(2026, 3, 4)) == [(datetime(2026, 3, 4, 8, 0), datetime(2026, 3, 4, 8, 30))]
    assert vence(p, datetime(2026, 3, 4, 8, 30)) == date(2026, 3, 4)
    assert vence(p, datetime(2026, 3, 4, 8, 30, 1)) is None
    assert vence(p, datetime(2026, 3, 4, 7, 59, 59)) is None
    assert vence(P(), datetime(2026, 3, 4, 9, 0)) == date(2026, 3, 4)  # NULL tolerance = 60 min


def test_L7_3_cyclic_window_is_half_open():
    p = P(EsCiclico=True, HoraFin=time(17, 0))
    assert ventanas(p, date(2026, 3, 4)) == [(datetime(2026, 3, 4, 8, 0), datetime(2026, 3, 4, 17, 0))]
    assert vence(p, datetime(2026, 3, 4, 16, 59, 59)) == date(2026, 3, 4)
    assert vence(p, datetime(2026, 3, 4, 17, 0)) is None  # no launch at HoraFin


def test_L7_3_cyclic_window_crossing_midnight_belongs_to_the_previous_day():
    # Mondays only, 22:00 to 02:00: Tuesday 01:00 is Monday's window; Monday 01:00 is not due.
    p = P(TipoProgramacion="Semanal", DiaSemana="LU", EsCiclico=True, HoraInicio=time(22, 0), HoraFin=time(2, 0))
    assert ventanas(p, date(2026, 3, 2)) == [(datetime(2026, 3, 2, 22, 0), datetime(2026, 3, 3, 2, 0))]
    assert vence(p, datetime(2026, 3, 3, 1, 0)) == date(2026, 3, 2)
    assert vence(p, datetime(2026, 3, 2, 1, 0)) is None
    assert vence(p, datetime(2026, 3, 3, 2, 0)) is None


def test_L7_3_cyclic_without_hora_fin_uses_the_tolerance():
    p = P(EsCiclico=True, Tolerancia=90)
    assert ventanas(p, date(2026, 3, 4)) == [(datetime(2026, 3, 4, 8, 0), datetime(2026, 3, 4, 9, 30))]
    assert vence(p, datetime(2026, 3, 4, 9, 30)) is None
    dia_entero = P(EsCiclico=True, Tolerancia=1440)
    assert vence(dia_entero, datetime(2026, 3, 5, 7, 59, 59)) == date(2026, 3, 4)
    assert vence(dia_entero, datetime(2026, 3, 5, 8, 0)) == date(2026, 3, 5)


def test_L7_3_interval_since_last_execution():
    p = P(EsCiclico=True, HoraFin=time(17, 0), IntervaloEntreEjecuciones=15)
    ahora = datetime(2026, 3, 4, 10, 0)
    assert intervalo_cumplido(p, None, ahora)
    assert intervalo_cumplido(p, datetime(2026, 3, 4, 9, 45), ahora)
    assert not intervalo_cumplido(p, datetime(2026, 3, 4, 9, 45, 1), ahora)
    assert intervalo_cumplido(P(EsCiclico=True), ahora, ahora)  # NULL interval = 0
