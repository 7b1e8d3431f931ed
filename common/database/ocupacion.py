"""The one definition of "this execution is open" and "this execution keeps its equipo busy".

Rendered into every statement and view that needs it, on both dialects: the launcher's selection
(``dbo.ObtenerRobotsEjecutables`` and its SQLite twin), the balancer's read of busy equipos, the
Conciliador's read of open executions and the ``EjecucionesActivas`` view of ``SAM.sql`` and
``sam_sqlite.sql``. A test proves that no other copy of the state lists exists in SQL text.

- **Open** (:func:`abierta`): ``FechaFin`` is NULL and the state is not terminal. The Conciliador
  follows open executions; ``EjecucionesActivas`` shows them.
- **Busy** (:func:`ocupa_equipo`): open, except an ``UNKNOWN`` row that has been UNKNOWN (since
  ``FechaActualizacion``, or ``FechaInicio`` when NULL) for longer than the tolerance
  (``CONCILIADOR_TOLERANCIA_UNKNOWN_MIN``, L5.4): that one no longer blocks its equipo even
  before the Conciliador closes it.

``FechaFin IS NULL`` comes first so that the predicate reads as the filter of an index on open
rows would.
"""

from __future__ import annotations

from common.database.sentencias import SQLITE, TSQL
from common.execution_states import TERMINAL_SQL_LIST, UNKNOWN


def no_terminal(alias: str = "") -> str:
    """``Estado`` is not terminal (the guard of every monotonic update)."""
    return f"{alias}Estado NOT IN ({TERMINAL_SQL_LIST})"


def abierta(alias: str = "") -> str:
    """An open execution: not ended and not terminal."""
    return f"{alias}FechaFin IS NULL AND {no_terminal(alias)}"


def ocupa_equipo(alias: str, limite_unknown: str, dialecto: str) -> str:
    """An execution that keeps its equipo busy at the moment whose UNKNOWN cut-off is
    ``limite_unknown`` (an SQL expression: a parameter, a variable or a column of the caller)."""
    if dialecto == TSQL:
        desde = f"COALESCE({alias}FechaActualizacion, {alias}FechaInicio)"
        unknown = f"N'{UNKNOWN}'"
    elif dialecto == SQLITE:
        # Text datetimes: compared at whole seconds, both sides normalised by datetime().
        desde = f"datetime(COALESCE({alias}FechaActualizacion, {alias}FechaInicio))"
        unknown = f"'{UNKNOWN}'"
        limite_unknown = f"datetime({limite_unknown})"
    else:
        raise ValueError(f"dialecto desconocido: {dialecto!r}")
    return f"{abierta(alias)} AND NOT ({alias}Estado = {unknown} AND {desde} < {limite_unknown})"
