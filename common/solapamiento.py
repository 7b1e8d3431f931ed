"""Overlap of two schedules on one equipo (BEHAVIOUR L7.4): the one pure decision.

Two active, valid schedules overlap when some day is due for both (the model's day rule,
:func:`common.programacion.toca_el_dia`) and their time windows of those days intersect
(:func:`common.programacion.ventanas`: one-shot ``[inicio, inicio + tolerancia]`` closed,
cyclic ``[inicio, fin)`` half-open, a window crossing midnight belonging to the day it starts).

:func:`solapes` works by interval arithmetic: for each day of the horizon it intersects the
window of ``a`` with the windows of ``b`` that start the day before, the same day and the day
after (a window never lasts more than a day and a minute, so no other day can meet it). The
horizon is the slot days ``desde`` .. ``desde + dias - 1``; a window that starts inside it counts
whole, even the part after its last midnight.

The same rule runs on SQL Server inside the ``CargarProgramacion*`` procedures of ``SAM.sql``
(``dbo.SolapesProgramacionSAM``); :mod:`common.operaciones.programaciones` uses this module on
both engines. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from common.programacion import Programacion, validar, ventanas

#: Days looked at from ``desde`` (BEHAVIOUR L7.4).
HORIZONTE_DIAS = 62
#: How many conflicts :func:`solapes` returns at most (the earliest ones).
MAXIMO_CONFLICTOS = 10

Ventana = tuple[datetime, datetime]


@dataclass(frozen=True, order=True)
class Conflicto:
    """A stretch of time both schedules claim: from ``inicio`` to ``fin`` (``fin`` itself only when
    ``fin_incluido``: a cyclic window's end is not part of it; a single instant when equal)."""

    inicio: datetime
    fin: datetime
    #: The slot days of ``a``'s and ``b``'s windows (a window crossing midnight keeps its day).
    dia_a: date
    dia_b: date
    fin_incluido: bool = True

    def describir(self) -> str:
        """Spanish, for the operator: ``el 2026-03-02 de 08:00 a 08:30``."""
        if self.inicio == self.fin:
            return f"el {self.inicio:%Y-%m-%d} a las {_hora(self.inicio)}"
        if self.inicio.date() == self.fin.date() or self.fin == _medianoche_siguiente(self.inicio):
            return f"el {self.inicio:%Y-%m-%d} de {_hora(self.inicio)} a {_hora(self.fin)}"
        return f"del {self.inicio:%Y-%m-%d} {_hora(self.inicio)} al {self.fin:%Y-%m-%d} {_hora(self.fin)}"


def _hora(momento: datetime) -> str:
    return f"{momento:%H:%M}" if momento.second == 0 else f"{momento:%H:%M:%S}"


def _medianoche_siguiente(momento: datetime) -> datetime:
    return datetime.combine(momento.date() + timedelta(days=1), datetime.min.time())


def interseccion(va: Ventana, cerrada_a: bool, vb: Ventana, cerrada_b: bool) -> Ventana | None:
    """The shared part of two windows (start, end), or None. A closed window includes its end; a
    half-open one does not (and is empty when its start is not before its end). The shared end is
    included when the window(s) ending there are closed (:func:`_fin_incluido`)."""
    (a, b), (c, d) = va, vb
    if (not cerrada_a and a >= b) or (not cerrada_b and c >= d):
        return None
    if not (a <= d if cerrada_b else a < d):
        return None
    if not (c <= b if cerrada_a else c < b):
        return None
    return max(a, c), min(b, d)


def _fin_incluido(va: Ventana, cerrada_a: bool, vb: Ventana, cerrada_b: bool) -> bool:
    if va[1] == vb[1]:
        return cerrada_a and cerrada_b
    return cerrada_a if va[1] < vb[1] else cerrada_b


def cuenta(p: Programacion) -> bool:
    """Whether ``p`` takes part in overlap checks: active and valid (an invalid row is never due)."""
    return bool(p.Activo) and not validar(p)


def solapes(
    a: Programacion,
    b: Programacion,
    desde: date,
    dias: int = HORIZONTE_DIAS,
    *,
    maximo: int = MAXIMO_CONFLICTOS,
) -> list[Conflicto]:
    """The earliest conflicts (sorted by start, at most ``maximo``) between ``a`` and ``b`` over the
    slot days ``desde`` .. ``desde + dias - 1``; empty when they do not overlap (or one of them is
    inactive or invalid)."""
    if not (cuenta(a) and cuenta(b)) or dias <= 0:
        return []
    cerrada_a, cerrada_b = not a.EsCiclico, not b.EsCiclico
    horizonte = [desde + timedelta(days=k) for k in range(dias)]
    de_b = {dia: ventanas(b, dia) for dia in horizonte}
    encontrados: list[Conflicto] = []
    for dia in horizonte:
        for va in ventanas(a, dia):
            for dia_b in (dia - timedelta(days=1), dia, dia + timedelta(days=1)):
                for vb in de_b.get(dia_b, ()):
                    comun = interseccion(va, cerrada_a, vb, cerrada_b)
                    if comun is not None:
                        incluido = _fin_incluido(va, cerrada_a, vb, cerrada_b)
                        encontrados.append(Conflicto(comun[0], comun[1], dia, dia_b, incluido))
    return sorted(encontrados)[: max(0, maximo)]


def se_solapan(a: Programacion, b: Programacion, desde: date, dias: int = HORIZONTE_DIAS) -> bool:
    return bool(solapes(a, b, desde, dias, maximo=1))
