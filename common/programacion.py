"""The pure schedule model: the one home of what a ``Programaciones`` row means (BEHAVIOUR L2.1, L7).

No I/O; ``ahora`` and ``dia`` are arguments. ``dbo.ObtenerRobotsEjecutables`` and its SQLite twin
(:mod:`lanzador.database.seleccion`) implement the same rules in SQL; the tests compare both with
this module on random schedules (hypothesis). Operators' tools (the overlap check, the loading
procedures, ``--simular``) use it to explain a decision.

- **Day rule** (:func:`toca_el_dia`): ``Diaria`` every day; ``Semanal`` on the ``DiaSemana`` tokens;
  ``Mensual`` on ``DiaDelMes`` (a day past the month's end means its last day); ``Especifica`` on
  ``FechaEspecifica``; ``RangoMensual`` on ``DiaInicioMes``..``DiaFinMes`` (both clamped to the
  month's end) or on the last ``UltimosDiasMes`` days. With ``FechaInicioVentana`` /
  ``FechaFinVentana``, only days inside [inicio, fin].
- **Windows** (:func:`ventanas`): a one-shot row (``EsCiclico = 0``) has the closed window
  [inicio, inicio + tolerancia]; a cyclic row [inicio, fin) with ``fin`` = ``HoraFin`` (the next
  calendar day when it is not after ``HoraInicio``) or, with ``HoraFin`` NULL, inicio + tolerancia.
  A window belongs to the day it starts on, even the part after midnight.
- **Validity** (:func:`validar`): a row with problems is never due (the SQL skips it too).

Everything is decided at whole seconds, as both SQL engines do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any

#: Default schedule tolerance in minutes when ``Programaciones.Tolerancia`` is NULL.
TOLERANCIA_DEFECTO_MIN = 60
#: Largest tolerance a row may have: a window never spans more than one day.
TOLERANCIA_MAXIMA_MIN = 1440
#: Largest ``IntervaloEntreEjecuciones`` (minutes): one week. An upper bound keeps every engine's
#: date arithmetic on it far from overflow (SQL Server raised error 8115 on ``60 * interval``).
INTERVALO_MAXIMO_MIN = 10080
#: Day-of-month columns (``DiaDelMes``, ``DiaInicioMes``, ``DiaFinMes``, ``UltimosDiasMes``).
DIA_DEL_MES_MAXIMO = 31

DIAS_SEMANA = ("LU", "MA", "MI", "JU", "VI", "SA", "DO")  # date.weekday() order

#: Schedule types as operators spell them; the SQL compares them upper-cased, trailing spaces ignored.
TIPOS = ("Diaria", "Semanal", "Mensual", "Especifica", "RangoMensual")


def tokens_dia_semana(texto: str | None) -> set[str]:
    """``DiaSemana`` tokens: upper-cased, ``Á`` → ``A``, separated by commas, semicolons or spaces."""
    limpio = (texto or "").upper().replace("Á", "A")
    for sep in (",", ";", "\t"):
        limpio = limpio.replace(sep, " ")
    return set(limpio.split())


def ultimo_dia_del_mes(dia: date) -> int:
    siguiente = date(dia.year + (dia.month == 12), dia.month % 12 + 1, 1)
    return (siguiente - timedelta(days=1)).day


# --------------------------------------------------------------------------------------------
# The row
# --------------------------------------------------------------------------------------------
def _hora(valor: Any) -> time | None:
    if valor is None or valor == "":
        return None
    if isinstance(valor, datetime):
        valor = valor.time()
    if isinstance(valor, time):
        return valor.replace(microsecond=0, tzinfo=None)
    return time.fromisoformat(str(valor).strip()[:8])


def _fecha(valor: Any) -> date | None:
    if valor is None or valor == "":
        return None
    if isinstance(valor, datetime):
        return valor.date()
    if isinstance(valor, date):
        return valor
    return date.fromisoformat(str(valor).strip()[:10])


def _entero(valor: Any) -> int | None:
    if valor is None or valor == "":
        return None
    return int(valor)


def _bit(valor: Any, defecto: bool) -> bool:
    """A BIT/INTEGER flag as the SQL reads it: only 1 is true."""
    if valor is None:
        return defecto
    if isinstance(valor, bool):
        return valor
    return _entero(valor) == 1


@dataclass(frozen=True)
class Programacion:
    """One ``Programaciones`` row; field names are the DB's column names."""

    ProgramacionId: int | None = None
    RobotId: int | None = None
    TipoProgramacion: str = "Diaria"
    HoraInicio: time | None = None
    HoraFin: time | None = None
    Tolerancia: int | None = None
    DiaSemana: str | None = None
    DiaDelMes: int | None = None
    FechaEspecifica: date | None = None
    EsCiclico: bool = False
    FechaInicioVentana: date | None = None
    FechaFinVentana: date | None = None
    IntervaloEntreEjecuciones: int | None = None
    DiaInicioMes: int | None = None
    DiaFinMes: int | None = None
    UltimosDiasMes: int | None = None
    Activo: bool = True

    @classmethod
    def desde_fila(cls, fila: Mapping[str, Any]) -> Programacion:
        """From a DB row (either engine: ``time``/``date`` objects or ISO text); extra keys ignored,
        missing ones take the column's default."""
        f = dict(fila)
        return cls(
            ProgramacionId=_entero(f.get("ProgramacionId")),
            RobotId=_entero(f.get("RobotId")),
            TipoProgramacion=str(f.get("TipoProgramacion") or ""),
            HoraInicio=_hora(f.get("HoraInicio")),
            HoraFin=_hora(f.get("HoraFin")),
            Tolerancia=_entero(f.get("Tolerancia")),
            DiaSemana=None if f.get("DiaSemana") is None else str(f["DiaSemana"]),
            DiaDelMes=_entero(f.get("DiaDelMes")),
            FechaEspecifica=_fecha(f.get("FechaEspecifica")),
            EsCiclico=_bit(f.get("EsCiclico"), False),
            FechaInicioVentana=_fecha(f.get("FechaInicioVentana")),
            FechaFinVentana=_fecha(f.get("FechaFinVentana")),
            IntervaloEntreEjecuciones=_entero(f.get("IntervaloEntreEjecuciones")),
            DiaInicioMes=_entero(f.get("DiaInicioMes")),
            DiaFinMes=_entero(f.get("DiaFinMes")),
            UltimosDiasMes=_entero(f.get("UltimosDiasMes")),
            Activo=_bit(f.get("Activo"), True),
        )

    def como_fila(self) -> dict[str, Any]:
        return {c.name: getattr(self, c.name) for c in fields(self)}

    @property
    def tipo(self) -> str:
        """``TipoProgramacion`` as the SQL compares it: upper-cased, trailing spaces ignored."""
        return (self.TipoProgramacion or "").rstrip().upper()


# --------------------------------------------------------------------------------------------
# Validity
# --------------------------------------------------------------------------------------------
def _fuera_de_mes(valor: int | None) -> bool:
    return valor is not None and not 1 <= valor <= DIA_DEL_MES_MAXIMO


def _problemas_del_tipo(p: Programacion) -> list[str]:
    tipo = p.tipo
    if tipo == "SEMANAL" and not tokens_dia_semana(p.DiaSemana) & set(DIAS_SEMANA):
        return ["Semanal sin ningún día válido en DiaSemana (LU MA MI JU VI SA DO)"]
    if tipo == "MENSUAL":
        if p.DiaDelMes is None:
            return ["Mensual sin DiaDelMes"]
        return ["DiaDelMes fuera de 1..31"] if _fuera_de_mes(p.DiaDelMes) else []
    if tipo == "ESPECIFICA" and p.FechaEspecifica is None:
        return ["Especifica sin FechaEspecifica"]
    if tipo == "RANGOMENSUAL":
        return _problemas_rango_mensual(p)
    return []


def _problemas_rango_mensual(p: Programacion) -> list[str]:
    rango = p.DiaInicioMes is not None or p.DiaFinMes is not None
    ultimos = p.UltimosDiasMes is not None
    if rango and ultimos:
        return ["RangoMensual con las dos formas (DiaInicioMes/DiaFinMes y UltimosDiasMes): use sólo una"]
    if not rango and not ultimos:
        return ["RangoMensual sin DiaInicioMes/DiaFinMes ni UltimosDiasMes"]
    if ultimos:
        return ["UltimosDiasMes fuera de 1..31"] if _fuera_de_mes(p.UltimosDiasMes) else []
    if p.DiaInicioMes is None or p.DiaFinMes is None:
        return ["RangoMensual necesita DiaInicioMes y DiaFinMes"]
    problemas = [f"{n} fuera de 1..31" for n in ("DiaInicioMes", "DiaFinMes") if _fuera_de_mes(getattr(p, n))]
    if not problemas and p.DiaInicioMes > p.DiaFinMes:
        problemas.append("DiaInicioMes posterior a DiaFinMes")
    return problemas


def _problemas_de_horario(p: Programacion) -> list[str]:
    problemas = []
    if p.HoraInicio is None:
        problemas.append("falta HoraInicio")
    if p.Tolerancia is not None and not 0 <= p.Tolerancia <= TOLERANCIA_MAXIMA_MIN:
        problemas.append(f"Tolerancia fuera de 0..{TOLERANCIA_MAXIMA_MIN} minutos")
    if not p.EsCiclico and p.HoraFin is not None:
        problemas.append("HoraFin en una programación no cíclica (EsCiclico = 0)")
    if not p.EsCiclico and p.IntervaloEntreEjecuciones is not None:
        problemas.append("IntervaloEntreEjecuciones en una programación no cíclica (EsCiclico = 0)")
    if p.IntervaloEntreEjecuciones is not None and not 0 <= p.IntervaloEntreEjecuciones <= INTERVALO_MAXIMO_MIN:
        problemas.append(f"IntervaloEntreEjecuciones fuera de 0..{INTERVALO_MAXIMO_MIN} minutos (una semana)")
    if p.HoraFin is not None and p.HoraInicio is not None and p.HoraFin == p.HoraInicio:
        problemas.append("HoraFin igual a HoraInicio")
    if p.FechaInicioVentana and p.FechaFinVentana and p.FechaFinVentana < p.FechaInicioVentana:
        problemas.append("FechaFinVentana anterior a FechaInicioVentana")
    return problemas


def validar(p: Programacion) -> list[str]:
    """The problems (Spanish, for the operator) that make the row unusable; empty when valid.

    The selection's SQL skips exactly the rows this returns problems for
    (``lanzador.database.seleccion.predicado_valida``)."""
    if p.tipo not in {t.upper() for t in TIPOS}:
        return [f"TipoProgramacion desconocido '{p.TipoProgramacion}' (válidos: {', '.join(TIPOS)})"]
    return _problemas_de_horario(p) + _problemas_del_tipo(p)


def es_valida(p: Programacion) -> bool:
    return not validar(p)


# --------------------------------------------------------------------------------------------
# Days and windows
# --------------------------------------------------------------------------------------------
def _toca_por_tipo(p: Programacion, dia: date) -> bool:
    tipo = p.tipo
    if tipo == "DIARIA":
        return True
    if tipo == "SEMANAL":
        return DIAS_SEMANA[dia.weekday()] in tokens_dia_semana(p.DiaSemana)
    ultimo = ultimo_dia_del_mes(dia)
    if tipo == "MENSUAL":
        return dia.day == min(p.DiaDelMes, ultimo)
    if tipo == "ESPECIFICA":
        return p.FechaEspecifica == dia
    if tipo == "RANGOMENSUAL":
        if p.UltimosDiasMes is not None:
            return dia.day > ultimo - p.UltimosDiasMes
        return min(p.DiaInicioMes, ultimo) <= dia.day <= min(p.DiaFinMes, ultimo)
    return False


def toca_el_dia(p: Programacion, dia: date) -> bool:
    """Whether the (valid) schedule has a window starting on ``dia`` (L2.1, L7.1)."""
    if validar(p):
        return False
    if p.FechaInicioVentana is not None and dia < p.FechaInicioVentana:
        return False
    if p.FechaFinVentana is not None and dia > p.FechaFinVentana:
        return False
    return _toca_por_tipo(p, dia)


def _tolerancia(p: Programacion, defecto: int) -> timedelta:
    return timedelta(minutes=defecto if p.Tolerancia is None else p.Tolerancia)


def ventanas(p: Programacion, dia: date, *,
             tolerancia_defecto_min: int = TOLERANCIA_DEFECTO_MIN) -> list[tuple[datetime, datetime]]:
    """The time window(s) that belong to ``dia``: [] when the day rule says no.

    One-shot: ``[(inicio, inicio + tolerancia)]``, both ends included. Cyclic: ``[(inicio, fin)]``,
    ``fin`` excluded, on the next calendar day when the window crosses midnight."""
    if not toca_el_dia(p, dia):
        return []
    inicio = datetime.combine(dia, p.HoraInicio)
    if not p.EsCiclico or p.HoraFin is None:
        return [(inicio, inicio + _tolerancia(p, tolerancia_defecto_min))]
    fin = datetime.combine(dia, p.HoraFin)
    if p.HoraFin < p.HoraInicio:
        fin += timedelta(days=1)
    return [(inicio, fin)]


def dentro(p: Programacion, ventana: tuple[datetime, datetime], ahora: datetime) -> bool:
    """Whether ``ahora`` lies in ``ventana`` of ``p`` (closed for one-shot, half-open for cyclic)."""
    inicio, fin = ventana
    return inicio <= ahora < fin if p.EsCiclico else inicio <= ahora <= fin


def vence(p: Programacion, ahora: datetime, *,
          tolerancia_defecto_min: int = TOLERANCIA_DEFECTO_MIN) -> date | None:
    """The day whose window contains ``ahora`` (a window after midnight belongs to the previous day),
    or None. When two one-shot windows touch (tolerance of a whole day), the earliest wins."""
    ahora = ahora.replace(microsecond=0, tzinfo=None)
    for dia in (ahora.date() - timedelta(days=1), ahora.date()):
        for ventana in ventanas(p, dia, tolerancia_defecto_min=tolerancia_defecto_min):
            if dentro(p, ventana, ahora):
                return dia
    return None


def intervalo_cumplido(p: Programacion, ultima: datetime | None, ahora: datetime) -> bool:
    """L7.3: a cyclic row may relaunch when ``IntervaloEntreEjecuciones`` minutes [0] have passed
    since ``ultima`` (the end of the pair's last execution or, if it never ended, its start).
    Both times are compared at whole seconds."""
    if ultima is None:
        return True
    espera = timedelta(minutes=p.IntervaloEntreEjecuciones or 0)
    return ultima.replace(microsecond=0, tzinfo=None) + espera <= ahora.replace(microsecond=0, tzinfo=None)
