"""The Conciliador's per-row decisions (BEHAVIOUR L5.4–L5.6) as pure functions.

The shell (:class:`lanzador.service.conciliador.Conciliador`) reads the rows, asks A360, converts
A360's answer for a row to a :class:`RespuestaA360` (state normalised, end time in local time)
and resolves the time limits to local cut-off instants with its clock (DST-safe); these
functions decide, and the shell batches the writes.

- A busy execution with a ``DeploymentId`` (:func:`decidir_activa`):
  found with a state that may replace SAM's → update state (and ``FechaFin`` when terminal:
  A360's end time, or now); found in the state SAM has → reset ``RondasNoEncontrado`` if it was
  counting; found without a usable state, as ``LANZANDO``, or with a state that may not replace
  SAM's (never over a terminal state) → leave alone; not found → count one more round, and
  become ``UNKNOWN`` only after ``CONCILIADOR_RONDAS_NO_ENCONTRADO`` rounds *and*
  ``CONCILIADOR_EDAD_NO_ENCONTRADO_MIN`` of age (A360 purges ended runs).
- A ``LANZANDO`` row without ``DeploymentId`` past ``LANZADOR_LANZANDO_TIMEOUT_SEG``
  (:func:`decidir_lanzando`, L5.5): the unrecorded deployment matched in A360 → adopt it;
  none → ``DEPLOY_FAILED`` "sin confirmación de A360".
- Closing ``UNKNOWN`` rows past ``CONCILIADOR_TOLERANCIA_UNKNOWN_MIN`` is one set-based statement
  of the shell (``ejecuciones.close_unknown``), not a per-row decision.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.execution_states import LANZANDO, TERMINAL_STATES, UNKNOWN, may_replace, normalize


@dataclass(frozen=True)
class RespuestaA360:
    """A360's activity row for one execution, as plain data."""

    deployment_id: str | None = None
    estado: str = ""               # normalised A360 status ("" when A360 gave none)
    fin: datetime | None = None    # end time, local (SAM_ZONA_HORARIA)
    mensaje: str | None = None


@dataclass(frozen=True)
class AjustesRonda:
    """One round's settings, time limits resolved to local cut-off instants by the shell."""

    rondas_no_encontrado: int
    corte_no_encontrado: datetime  # started at or before this -> old enough to become UNKNOWN


# -- decisions -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dejar:
    """Nothing to write for this row."""


@dataclass(frozen=True)
class ActualizarEstado:
    estado: str
    fin: datetime | None     # FechaFin when the new state is terminal
    mensaje: str | None


@dataclass(frozen=True)
class ReiniciarRondas:
    """Found again, in the state SAM has: ``RondasNoEncontrado`` back to 0."""

    estado: str              # unchanged
    rondas: int = 0


@dataclass(frozen=True)
class ContarNoEncontrado:
    rondas: int
    estado: str              # unchanged


@dataclass(frozen=True)
class PasarAUnknown:
    rondas: int
    estado: str = UNKNOWN


@dataclass(frozen=True)
class AdoptarDespliegue:
    deployment_id: str
    estado: str | None
    fin: datetime | None
    mensaje: str | None


@dataclass(frozen=True)
class FallarSinConfirmacion:
    """``DEPLOY_FAILED`` with ``ejecuciones.MENSAJE_SIN_CONFIRMACION``."""


DecisionActiva = Dejar | ActualizarEstado | ReiniciarRondas | ContarNoEncontrado | PasarAUnknown
DecisionLanzando = AdoptarDespliegue | FallarSinConfirmacion


def a_consultar(fila: Mapping[str, Any], corte_edad_minima: datetime) -> bool:
    """Whether A360 is asked about this busy row: it has a deploymentId and is old enough."""
    return bool(fila.get("DeploymentId")) and fila.get("FechaInicio") is not None \
        and fila["FechaInicio"] <= corte_edad_minima


def a_recuperar(fila: Mapping[str, Any], corte_timeout: datetime) -> bool:
    """Whether a busy row is a ``LANZANDO`` intent past its timeout, with no deploymentId (L5.5)."""
    return fila.get("Estado") == LANZANDO and not fila.get("DeploymentId") \
        and fila.get("FechaInicio") is not None and fila["FechaInicio"] <= corte_timeout


def decidir_activa(fila: Mapping[str, Any], respuesta: RespuestaA360 | None, ahora: datetime,
                   ajustes: AjustesRonda) -> DecisionActiva:
    """What to write for one busy execution given A360's answer for it (``None``: not found)."""
    actual = normalize(fila["Estado"] or "")
    if respuesta is None:
        return _no_encontrada(fila, actual, ajustes)
    estado = respuesta.estado
    if not estado or estado == LANZANDO:
        return Dejar()
    if estado == actual:
        return ReiniciarRondas(actual) if fila.get("RondasNoEncontrado") else Dejar()
    if not may_replace(actual, estado):
        return Dejar()
    fin = None
    if estado in TERMINAL_STATES:
        fin = respuesta.fin if respuesta.fin is not None else ahora
    return ActualizarEstado(estado, fin, respuesta.mensaje or None)


def _no_encontrada(fila: Mapping[str, Any], actual: str, ajustes: AjustesRonda) -> DecisionActiva:
    rondas = int(fila.get("RondasNoEncontrado") or 0) + 1
    if actual != UNKNOWN and rondas >= ajustes.rondas_no_encontrado \
            and fila["FechaInicio"] <= ajustes.corte_no_encontrado:
        return PasarAUnknown(rondas)
    return ContarNoEncontrado(rondas, actual)


def decidir_lanzando(respuesta: RespuestaA360 | None) -> DecisionLanzando:
    """A timed-out ``LANZANDO`` row given the deployment A360 has for it (``None``: none matched)."""
    if respuesta is None or respuesta.deployment_id is None:
        return FallarSinConfirmacion()
    return AdoptarDespliegue(respuesta.deployment_id, respuesta.estado or None, respuesta.fin,
                             respuesta.mensaje or None)


def alerta_duracion(fila: Mapping[str, Any], estado: str, corte_duracion: datetime) -> bool:
    """L5.6: active past ``LANZADOR_MAX_DURACION_EJECUCION_MIN`` and not alerted yet.

    ``estado``: the row's state after this round's updates."""
    return not fila.get("AlertaDuracionEnviada") and fila.get("FechaInicio") is not None \
        and fila["FechaInicio"] <= corte_duracion and estado not in TERMINAL_STATES


def nuevos_estados(decisiones: Collection[tuple[Any, DecisionActiva]]) -> dict[Any, str]:
    """EjecucionId -> state written this round (for the duration alerts)."""
    return {ejecucion_id: d.estado for ejecucion_id, d in decisiones if isinstance(d, ActualizarEstado)}
