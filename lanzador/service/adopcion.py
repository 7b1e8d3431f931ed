"""Which A360 deployment an unconfirmed launch intent belongs to (L3.3 ambiguous deploys, L5.5).

A deploy call that timed out, or a Lanzador that crashed between the deploy and recording its
``deploymentId``, leaves an intent row without an id while A360 may be running the bot. The
launcher (before retrying) and the Conciliador (for ``LANZANDO`` rows) both ask A360 for the
device's recent activity and adopt the deployment this function picks, so a run is never
launched twice and never failed while it runs. Pure: no I/O, times in UTC.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
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
