"""The forecast per robot (B15): how long its ticket queue would take to drain at the throughput of
the last hour, with its current equipos and with one more. Pure: no I/O, ``ahora`` is an argument.

It is an estimate and says so: every result carries the data it rests on (window, ticket samples,
completed executions, equipos) and, when no number can be given, the reason.

The model
---------
The queue changes as ``dT/dt = llegadas - ritmo_por_equipo * equipos``; the throughput per equipo
is assumed linear (one more equipo adds one equipo's throughput) and the arrivals stay as observed.

1. **Tickets** (preferred): when the ticket samples of the window (``HistoricoBalanceo``
   ``TicketsPendientes`` plus the current cycle's count) fall, their least-squares slope is the
   observed net drain ``D`` (tickets/hour) at the time-weighted mean equipos ``Ē`` of the samples'
   span. The net drain is taken as linear in the equipos: with ``E`` equipos it is ``D * E / Ē``.
2. **Executions** otherwise (the queue stayed flat or grew, or there is a single sample):
   ``ritmo`` = successful executions completed in the window per equipo-hour, counting one ticket
   per execution (the data has no ticket count per run, so the figure errs on the long side when a
   run clears several). When the samples give a slope ``s >= 0`` the arrivals are
   ``s + ritmo * Ē``; with a single sample they are unknown and not subtracted (the basis says so).
   With ``E`` equipos the net drain is ``ritmo * E - llegadas``; at or below zero the queue does
   not empty at that rate.

No estimate: no tickets ("cola vacía"); no completions and no falling queue ("sin ritmo"); the
net drain at or below zero ("no se vacía al ritmo actual"); no equipos. One more equipo is not
offered when the robot already has ``MaxEquipos``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

#: The window the throughput is measured over.
VENTANA = timedelta(hours=1)
#: Shortest span of ticket samples whose slope is trusted as a drain rate (shorter: executions).
SPAN_MINIMO = timedelta(minutes=2)

BASE_TICKETS = "tickets"
BASE_EJECUCIONES = "ejecuciones"

# Why there is no estimate (operator text, Spanish).
COLA_VACIA = "cola vacía"
SIN_RITMO = "sin ritmo (nada completado)"
NO_SE_VACIA = "no se vacía al ritmo actual"
SIN_EQUIPOS = "sin equipos asignados"
EN_MAXIMO = "ya tiene MaxEquipos"


# ---------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Muestra:
    """The robot's pending tickets at one moment (a ``HistoricoBalanceo`` row or the current cycle)."""

    fecha: datetime
    tickets: int


@dataclass(frozen=True)
class CambioEquipos:
    """A ``HistoricoBalanceo`` row's equipo counts: the robot went from ``antes`` to ``despues``."""

    fecha: datetime
    antes: int
    despues: int


@dataclass(frozen=True)
class HistoriaRobot:
    """What the forecast of one robot reads: the last hour, and its state now."""

    robot_id: int
    tickets: int  # the current cycle's tickets
    equipos: int  # equipos assigned now (every kind: they all run its executions)
    max_equipos: int = -1  # -1: no limit
    muestras: Sequence[Muestra] = ()  # ticket samples of the window (the current one is added)
    cambios: Sequence[CambioEquipos] = ()  # equipo changes of the window
    completadas: Mapping[int, int] = field(default_factory=dict)  # equipo -> successful executions


# ---------------------------------------------------------------------------------- output
@dataclass(frozen=True)
class Ritmo:
    """The measured throughput: per equipo-hour (tickets, or executions counted as one ticket each)
    and the arrivals per hour that the drain must beat (None: unknown, not subtracted)."""

    base: str | None  # BASE_TICKETS | BASE_EJECUCIONES | None (no throughput)
    por_equipo_hora: float = 0.0
    llegadas_hora: float | None = 0.0


@dataclass(frozen=True)
class Pronostico:
    robot_id: int
    tickets: int
    equipos: int
    ritmo: Ritmo
    horas: float | None  # to drain with ``equipos``; None: no estimate (``motivo``)
    horas_con_uno_mas: float | None  # with ``equipos + 1``; None: ``motivo_uno_mas``
    motivo: str | None
    motivo_uno_mas: str | None
    # The basis.
    ventana_min: int
    muestras: int
    ejecuciones: int
    equipos_con_ejecuciones: int
    equipos_medios: float

    @property
    def base_texto(self) -> str:
        """The data the estimate rests on, in Spanish."""
        partes = [f"ventana {self.ventana_min} min", _plural(self.muestras, "muestra de tickets", "muestras de tickets"),
                  f"{_plural(self.ejecuciones, 'ejecución completada', 'ejecuciones completadas')} en "
                  f"{_plural(self.equipos_con_ejecuciones, 'equipo', 'equipos')}", self._equipos_texto()]
        if self.ritmo.base == BASE_TICKETS:
            partes.append("ritmo: bajada observada de la cola")
        elif self.ritmo.base == BASE_EJECUCIONES:
            partes.append("ritmo: ejecuciones por equipo y hora, 1 ticket por ejecución")
            if self.ritmo.llegadas_hora is None:
                partes.append("sin muestras para medir las llegadas")
        return "; ".join(partes)


    def _equipos_texto(self) -> str:
        """The equipos the rate was measured at. Their time-weighted mean only when a rate rests on it
        and it rounds above zero: a robot given its equipos a moment ago (a window with no span of
        them) would read "0,0 equipos de media" next to the 3 it has; then the equipos it has now."""
        ahora = f"{_plural(self.equipos, 'equipo', 'equipos')} ahora"
        if self.ritmo.base is not None and round(self.equipos_medios, 1) > 0:
            return f"{_decimal(self.equipos_medios)} equipos de media en la ventana ({ahora})"
        return f"{ahora}, sin historial suficiente para una media de equipos"


def _plural(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _decimal(x: float) -> str:
    """One decimal, Spanish separator: ``2,5``."""
    return f"{x:.1f}".replace(".", ",")


# ---------------------------------------------------------------------------------- the math
def _pendiente_por_hora(muestras: Sequence[Muestra]) -> float | None:
    """Least-squares slope of tickets over time, per hour; None with fewer than two distinct times."""
    if len(muestras) < 2:
        return None
    t0 = muestras[0].fecha
    xs = [(m.fecha - t0).total_seconds() / 3600.0 for m in muestras]
    ys = [float(m.tickets) for m in muestras]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx <= 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def equipos_medios(equipos_ahora: int, cambios: Sequence[CambioEquipos], desde: datetime,
                   ahora: datetime) -> float:
    """Time-weighted mean of the robot's equipos over ``[desde, ahora]``, walking the changes back
    from the count it has now (each change moved it by ``despues - antes``)."""
    total = (ahora - desde).total_seconds()
    if total <= 0:
        return float(max(0, equipos_ahora))
    area, fin, n = 0.0, ahora, max(0, equipos_ahora)
    for c in sorted((c for c in cambios if desde < c.fecha <= ahora), key=lambda c: c.fecha, reverse=True):
        area += n * (fin - c.fecha).total_seconds()
        fin, n = c.fecha, max(0, n - (c.despues - c.antes))
    area += n * (fin - desde).total_seconds()
    return area / total


def _muestras_ventana(h: HistoriaRobot, desde: datetime, ahora: datetime) -> list[Muestra]:
    """The window's samples by time, one per moment (the last one wins), ending with the current one."""
    por_fecha: dict[datetime, int] = {}
    for m in sorted(h.muestras, key=lambda m: m.fecha):
        if desde <= m.fecha < ahora:
            por_fecha[m.fecha] = int(m.tickets)
    por_fecha[ahora] = int(h.tickets)
    return [Muestra(f, t) for f, t in sorted(por_fecha.items())]


def medir_ritmo(h: HistoriaRobot, ahora: datetime, ventana: timedelta = VENTANA) -> tuple[Ritmo, float, int]:
    """The robot's throughput, the mean equipos it was measured at and the samples used."""
    desde = ahora - ventana
    muestras = _muestras_ventana(h, desde, ahora)
    span = muestras[-1].fecha - muestras[0].fecha
    pendiente = _pendiente_por_hora(muestras) if span >= SPAN_MINIMO else None
    if pendiente is not None and pendiente < 0:
        medios = equipos_medios(h.equipos, h.cambios, muestras[0].fecha, ahora)
        if medios > 0:
            return Ritmo(BASE_TICKETS, -pendiente / medios, 0.0), medios, len(muestras)
    medios = equipos_medios(h.equipos, h.cambios, desde, ahora)
    ejecuciones = sum(max(0, int(n)) for n in h.completadas.values())
    if ejecuciones == 0:
        return Ritmo(None), medios, len(muestras)
    equipo_horas = medios * ventana.total_seconds() / 3600.0
    if equipo_horas <= 0:  # completions with no equipo on record: the equipos that ran them, all along
        equipo_horas = sum(1 for n in h.completadas.values() if n > 0) * ventana.total_seconds() / 3600.0
    por_equipo = ejecuciones / equipo_horas
    llegadas = None if pendiente is None else max(0.0, pendiente) + por_equipo * medios
    return Ritmo(BASE_EJECUCIONES, por_equipo, llegadas), medios, len(muestras)


def horas_para_vaciar(tickets: int, ritmo: Ritmo, equipos: int) -> tuple[float | None, str | None]:
    """Hours to drain ``tickets`` with ``equipos`` at ``ritmo``, or None and why."""
    if tickets <= 0:
        return 0.0, COLA_VACIA
    if ritmo.base is None or ritmo.por_equipo_hora <= 0:
        return None, SIN_RITMO
    if equipos <= 0:
        return None, SIN_EQUIPOS
    neto = ritmo.por_equipo_hora * equipos - (ritmo.llegadas_hora or 0.0)
    horas = tickets / neto if neto > 0 else math.inf
    if not math.isfinite(horas):  # no net drain, or one too small to give a number of hours
        return None, NO_SE_VACIA
    return horas, None


def pronosticar(h: HistoriaRobot, ahora: datetime, ventana: timedelta = VENTANA) -> Pronostico:
    """The forecast of one robot (B15)."""
    ritmo, medios, n_muestras = medir_ritmo(h, ahora, ventana)
    horas, motivo = horas_para_vaciar(h.tickets, ritmo, h.equipos)
    if h.tickets <= 0:
        horas_mas, motivo_mas = 0.0, COLA_VACIA
    elif 0 <= h.max_equipos <= h.equipos:
        horas_mas, motivo_mas = None, f"{EN_MAXIMO} ({h.max_equipos})"
    else:
        horas_mas, motivo_mas = horas_para_vaciar(h.tickets, ritmo, h.equipos + 1)
    return Pronostico(
        robot_id=h.robot_id, tickets=int(h.tickets), equipos=int(h.equipos), ritmo=ritmo,
        horas=horas, horas_con_uno_mas=horas_mas, motivo=motivo, motivo_uno_mas=motivo_mas,
        ventana_min=int(ventana.total_seconds() // 60), muestras=n_muestras,
        ejecuciones=sum(max(0, int(n)) for n in h.completadas.values()),
        equipos_con_ejecuciones=sum(1 for n in h.completadas.values() if n > 0),
        equipos_medios=medios,
    )


def texto_horas(horas: float | None, motivo: str | None) -> str:
    """An estimate for an operator: ``~1 h 25 min``, ``~40 min``, ``< 1 min`` or the reason."""
    if horas is None:
        return motivo or "-"
    if horas == 0:
        return motivo or "0 min"
    minutos = round(horas * 60)
    if minutos < 1:
        return "< 1 min"
    if minutos < 60:
        return f"~{minutos} min"
    h, m = divmod(minutos, 60)
    return f"~{h} h {m:02d} min" if h < 48 else f"~{h / 24:.0f} días"


def _ritmo_texto(p: Pronostico) -> str:
    if p.ritmo.base == BASE_TICKETS:
        return f"{_decimal(p.ritmo.por_equipo_hora)} tickets/equipo·h"
    if p.ritmo.base == BASE_EJECUCIONES:
        return f"{_decimal(p.ritmo.por_equipo_hora)} ejec./equipo·h"
    return "-"


#: Columns of the forecast table (``--simular``; the console shows the same).
CABECERA = ("Robot", "RobotId", "Tickets", "Equipos", "Ritmo", "Vaciar (estimación)",
            "Con 1 equipo más (estimación)", "Base")


def filas_tabla(pronosticos: Sequence[Pronostico], nombres: Mapping[int, str]) -> list[tuple[str, ...]]:
    """One text row per robot, by name."""
    filas = [(nombres.get(p.robot_id, "?"), str(p.robot_id), str(p.tickets), str(p.equipos), _ritmo_texto(p),
              texto_horas(p.horas, p.motivo), texto_horas(p.horas_con_uno_mas, p.motivo_uno_mas), p.base_texto)
             for p in pronosticos]
    return sorted(filas, key=lambda f: (f[0].casefold(), int(f[1])))

#: Title and closing note of the forecast table.
TITULO = ("Pronóstico (estimación) por robot: tiempo para vaciar su cola al ritmo de la última hora, con sus "
          "equipos de ahora y con uno más:")
NOTA = ("Es una estimación, no un compromiso: supone que cada equipo más rinde como los actuales y que los "
        "tickets siguen llegando como en la ventana; la columna Base dice en qué datos se apoya.")
