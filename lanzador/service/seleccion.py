"""The pure schedule rule of the launcher's selection (BEHAVIOUR L2.1).

A reference model of what ``dbo.ObtenerRobotsEjecutables`` and its SQLite twin
(:mod:`lanzador.database.seleccion`) decide for scheduled robots: the tests compare both SQL
versions with it on random schedules (hypothesis), and operators' tools can use it to explain a
decision. No I/O; ``ahora`` is an argument.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from lanzador.database.seleccion import TOLERANCIA_DEFECTO_MIN

DIAS_SEMANA = ("LU", "MA", "MI", "JU", "VI", "SA", "DO")  # date.weekday() order


def tokens_dia_semana(texto: str | None) -> set[str]:
    """``DiaSemana`` tokens: upper-cased, ``Á`` → ``A``, separated by commas, semicolons or spaces."""
    limpio = (texto or "").upper().replace("Á", "A")
    for sep in (",", ";", "\t"):
        limpio = limpio.replace(sep, " ")
    return set(limpio.split())


def _ultimo_dia_del_mes(dia: date) -> int:
    siguiente = date(dia.year + (dia.month == 12), dia.month % 12 + 1, 1)
    return (siguiente - timedelta(days=1)).day


def toca_el_dia(tipo: str, dia: date, *, dia_semana: str | None = None, dia_del_mes: int | None = None,
                fecha_especifica: date | None = None) -> bool:
    """Whether a schedule of kind ``tipo`` has a slot on ``dia``."""
    tipo = (tipo or "").upper()
    if tipo == "DIARIA":
        return True
    if tipo == "SEMANAL":
        return DIAS_SEMANA[dia.weekday()] in tokens_dia_semana(dia_semana)
    if tipo == "MENSUAL":
        return dia_del_mes is not None and dia.day == min(int(dia_del_mes), _ultimo_dia_del_mes(dia))
    if tipo == "ESPECIFICA":
        return fecha_especifica == dia
    return False


def franja_vencida(tipo: str, hora_inicio: time, tolerancia_min: int | None, ahora: datetime, *,
                   dia_semana: str | None = None, dia_del_mes: int | None = None,
                   fecha_especifica: date | None = None,
                   tolerancia_defecto_min: int = TOLERANCIA_DEFECTO_MIN) -> date | None:
    """The slot date due at ``ahora`` (window [start, start + tolerance], the part after midnight
    belonging to the previous day's slot), or None. The earliest due slot wins."""
    tol = tolerancia_defecto_min if tolerancia_min is None else int(tolerancia_min)
    ahora = ahora.replace(microsecond=0, tzinfo=None)
    for dia in (ahora.date() - timedelta(days=1), ahora.date()):
        inicio = datetime.combine(dia, hora_inicio.replace(microsecond=0, tzinfo=None))
        if inicio <= ahora <= inicio + timedelta(minutes=tol) and toca_el_dia(
            tipo, dia, dia_semana=dia_semana, dia_del_mes=dia_del_mes, fecha_especifica=fecha_especifica
        ):
            return dia
    return None
