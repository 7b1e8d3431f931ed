"""Which A360 deployment an unconfirmed launch intent belongs to (L3.3 ambiguous deploys, L5.5).

A deploy call that timed out, or a Lanzador that crashed between the deploy and recording its
``deploymentId``, leaves an intent row without an id while A360 may be running the bot. The
launcher (before retrying) and the Conciliador (for ``LANZANDO`` rows) both ask A360 for the
device's recent activity and adopt the deployment this function picks, so a run is never
launched twice and never failed while it runs. Pure: no I/O, times in UTC.

A deployment may still appear after the recovery gave its intent up (A360 finishing a request
the crashed process had sent): :func:`adopciones_tardias` pairs such late runs with the rows
they belong to, which the Conciliador then reopens (L5.7).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

#: Clock skew tolerated between the SAM host and the Control Room when matching start times.
MARGEN_ADOPCION = timedelta(minutes=5)


def _aware_utc(moment: datetime) -> datetime:
    """A360 times are aware UTC; a naive one is taken as UTC (as ``Clock.to_local`` does)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def mejor_despliegue(
    actividades: Iterable[Any],
    *,
    robot_id: int,
    user_id: int | None,
    intencion_utc: datetime,
    en_uso: Collection[str],
    margen: timedelta = MARGEN_ADOPCION,
) -> Any | None:
    """The unrecorded deployment of this file and user closest in time to the intent, or None.

    Candidates started at or after ``intencion_utc - margen``, or have no start time yet (not
    started: ``DEPLOYED``/``QUEUED``) unless they ended before that. Dated candidates rank by
    distance to the intent; undated ones come after them (their time is unknown).
    """
    intent = _aware_utc(intencion_utc)
    earliest = intent - margen
    best = None
    best_key: tuple | None = None
    for a in actividades:
        if not a.deployment_id or a.deployment_id in en_uso:
            continue
        if a.file_id is not None and int(a.file_id) != int(robot_id):
            continue
        if a.user_id is not None and user_id is not None and int(a.user_id) != int(user_id):
            continue
        if a.start_utc is not None:
            start = _aware_utc(a.start_utc)
            if start < earliest:
                continue
            key = (0, abs((start - intent).total_seconds()))
        else:
            if a.end_utc is not None and _aware_utc(a.end_utc) < earliest:
                continue
            key = (1, 0.0)
        if best_key is None or key < best_key:
            best, best_key = a, key
    return best


def puede_ser_de(fila: Mapping[str, Any], actividad: Any, intencion_utc: datetime,
                 margen: timedelta = MARGEN_ADOPCION) -> bool:
    """Whether an A360 run could be the deployment of this intent row (same equipo, robot and
    user where A360 names them; started within the margin of the intent, or not started yet)."""
    a = actividad
    if a.device_id is not None and int(a.device_id) != int(fila["EquipoId"]):
        return False
    if a.file_id is not None and int(a.file_id) != int(fila["RobotId"]):
        return False
    if a.user_id is not None and fila.get("UserId") is not None and int(a.user_id) != int(fila["UserId"]):
        return False
    return a.start_utc is None or _aware_utc(a.start_utc) >= _aware_utc(intencion_utc) - margen


def adopciones_tardias(
    abandonadas: Sequence[Mapping[str, Any]],
    actividades: Iterable[Any],
    *,
    en_uso: Collection[str],
    a_utc: Callable[[datetime], datetime],
    en_curso: Sequence[Mapping[str, Any]] = (),
    margen: timedelta = MARGEN_ADOPCION,
) -> list[tuple[int, Any]]:
    """L5.7: which given-up intent each late deployment belongs to, as ``(EjecucionId, actividad)``.

    ``abandonadas``: rows the LANZANDO recovery failed as SAM's guess ("sin confirmación de A360",
    ``FalloSinConfirmar = 1``, no ``DeploymentId``); ``actividades``: A360 runs (activity rows, or
    what a pending callback says: device and user, no file or start time) that no row records.
    A run belongs to a row of the same equipo, robot (when A360 names the file) and user, started
    within the skew margin of its intent — the closest; each row and each run is paired at most
    once, oldest intent first. A run that an open ``LANZANDO`` row (``en_curso``: a launch still in
    flight, or waiting for its record) could own is left to that launch and never adopted here.
    ``a_utc`` turns a row's local ``FechaInicio`` into UTC.
    """
    libres = [a for a in actividades if a.deployment_id and a.deployment_id not in en_uso]
    libres = [a for a in libres
              if not any(puede_ser_de(f, a, a_utc(f["FechaInicio"]), margen) for f in en_curso)]
    usados = set(en_uso)
    pares: list[tuple[int, Any]] = []
    for fila in sorted(abandonadas, key=lambda f: (f["FechaInicio"], f["EjecucionId"])):
        intencion = a_utc(fila["FechaInicio"])
        candidatas = [a for a in libres if a.device_id is not None and puede_ser_de(fila, a, intencion, margen)]
        elegida = mejor_despliegue(candidatas, robot_id=fila["RobotId"], user_id=fila.get("UserId"),
                                   intencion_utc=intencion, en_uso=usados, margen=margen)
        if elegida is not None:
            usados.add(elegida.deployment_id)
            pares.append((int(fila["EjecucionId"]), elegida))
    return pares
