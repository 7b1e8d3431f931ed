"""L6: the pause window (pure function, hypothesis) and its enter/leave logging."""

from __future__ import annotations

import logging
from datetime import time

from hypothesis import given
from hypothesis import strategies as st

from lanzador.service.pausa import VentanaPausa, en_pausa

times = st.times()


def _secs(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def test_L6_examples():
    assert en_pausa(time(12, 0), time(11, 0), time(13, 0))
    assert en_pausa(time(11, 0), time(11, 0), time(13, 0))  # start inclusive
    assert not en_pausa(time(13, 0), time(11, 0), time(13, 0))  # end exclusive
    assert not en_pausa(time(10, 59), time(11, 0), time(13, 0))
    # crossing midnight
    assert en_pausa(time(23, 30), time(22, 0), time(6, 0))
    assert en_pausa(time(0, 0), time(22, 0), time(6, 0))
    assert en_pausa(time(5, 59), time(22, 0), time(6, 0))
    assert not en_pausa(time(6, 0), time(22, 0), time(6, 0))
    assert not en_pausa(time(12, 0), time(22, 0), time(6, 0))
    # no pause
    assert not en_pausa(time(12, 0), None, None)
    assert not en_pausa(time(12, 0), time(12, 0), time(12, 0))
    assert not en_pausa(time(12, 0), time(11, 0), None)


@given(times, times, times)
def test_L6_property_matches_definition(now, inicio, fin):
    got = en_pausa(now, inicio, fin)
    n, a, b = _secs(now), _secs(inicio), _secs(fin)
    n_us = n * 10**6 + now.microsecond
    a_us = a * 10**6 + inicio.microsecond
    b_us = b * 10**6 + fin.microsecond
    if a_us == b_us:
        assert got is False
    elif a_us < b_us:
        assert got == (a_us <= n_us < b_us)
    else:
        assert got == (n_us >= a_us or n_us < b_us)


@given(times, times, times)
def test_L6_crossing_window_is_complement_of_reverse(now, inicio, fin):
    if inicio != fin:
        assert en_pausa(now, inicio, fin) != en_pausa(now, fin, inicio)


@given(times)
def test_L6_empty_or_equal_never_pauses(now):
    assert not en_pausa(now, None, None)
    assert not en_pausa(now, now, now)


def test_L6_enter_and_leave_logged_once_each(caplog):
    v = VentanaPausa(time(22, 0), time(6, 0), logger=logging.getLogger("sam.test.pausa"))
    with caplog.at_level(logging.INFO, logger="sam.test.pausa"):
        seq = [time(21, 58), time(21, 59), time(22, 0), time(23, 0), time(1, 0), time(5, 59),
               time(6, 0), time(7, 0), time(8, 0)]
        got = [v.comprobar(t) for t in seq]
    assert got == [False, False, True, True, True, True, False, False, False]
    msgs = [r.getMessage() for r in caplog.records]
    assert sum("Entrando en la ventana de pausa" in m for m in msgs) == 1
    assert sum("Saliendo de la ventana de pausa" in m for m in msgs) == 1


def test_L6_starting_inside_the_window_logs_entering_once(caplog):
    v = VentanaPausa(time(22, 0), time(6, 0), logger=logging.getLogger("sam.test.pausa2"))
    with caplog.at_level(logging.INFO, logger="sam.test.pausa2"):
        for t in (time(23, 0), time(23, 1), time(23, 2)):
            assert v.comprobar(t)
    assert len([r for r in caplog.records if "Entrando" in r.getMessage()]) == 1
    assert not [r for r in caplog.records if "Saliendo" in r.getMessage()]


def test_L6_no_window_never_logs(caplog):
    v = VentanaPausa(None, None, logger=logging.getLogger("sam.test.pausa3"))
    with caplog.at_level(logging.INFO, logger="sam.test.pausa3"):
        assert not any(v.comprobar(time(h, 0)) for h in range(24))
    assert not caplog.records
