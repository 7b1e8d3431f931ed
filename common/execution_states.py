"""The one home of the execution-state vocabulary (A360 statuses plus SAM's own).

Everything that needs to know whether an execution keeps its equipo busy, whether a state may
replace another, or which literal list goes into a SQL ``IN (...)`` reads it from here. The SQL
in ``SAM.sql`` and the SQLite schema are tested against these sets.
"""

from __future__ import annotations

# SAM's own states.
LANZANDO = "LANZANDO"  # intent recorded, deploy call in flight
DEPLOY_FAILED = "DEPLOY_FAILED"  # A360 refused the deploy, or SAM's call failed (terminal)
UNKNOWN = "UNKNOWN"  # A360 lost track, or SAM could not find the deployment

# A360 states.
DEPLOYED = "DEPLOYED"
QUEUED = "QUEUED"
PENDING_EXECUTION = "PENDING_EXECUTION"
RUNNING = "RUNNING"
UPDATE = "UPDATE"
RUN_PAUSED = "RUN_PAUSED"
COMPLETED = "COMPLETED"
RUN_COMPLETED = "RUN_COMPLETED"
RUN_FAILED = "RUN_FAILED"
RUN_ABORTED = "RUN_ABORTED"
RUN_TIMED_OUT = "RUN_TIMED_OUT"

#: States that end an execution. A terminal state is never replaced by a non-terminal one.
TERMINAL_STATES: frozenset[str] = frozenset(
    {RUN_COMPLETED, COMPLETED, RUN_FAILED, RUN_ABORTED, RUN_TIMED_OUT, DEPLOY_FAILED}
)
SUCCESS_STATES: frozenset[str] = frozenset({RUN_COMPLETED, COMPLETED})
FAILURE_STATES: frozenset[str] = TERMINAL_STATES - SUCCESS_STATES

#: Known active states. Anything that is not terminal counts as active (busy) too, including
#: BOTSTORE_* stages and unrecognised values; UNKNOWN is active only inside its tolerance.
KNOWN_ACTIVE_STATES: frozenset[str] = frozenset(
    {
        LANZANDO,
        DEPLOYED,
        QUEUED,
        PENDING_EXECUTION,
        RUNNING,
        UPDATE,
        RUN_PAUSED,
        UNKNOWN,
        "BOTSTORE_PACKAGE_DOWNLOADING",
        "BOTSTORE_PACKAGE_EXTRACTING",
        "BOTSTORE_PACKAGE_COPYING",
    }
)

#: Terminal states A360 reports for a completed run in a callback or in the activity list.
A360_TERMINAL_STATES: frozenset[str] = TERMINAL_STATES


def normalize(status: str) -> str:
    """Canonical stored form of a status: stripped and upper-cased."""
    return status.strip().upper()


def is_terminal(status: str | None) -> bool:
    return status is not None and normalize(status) in TERMINAL_STATES


def is_active(status: str | None) -> bool:
    """Busy means *not terminal* (the UNKNOWN tolerance is applied by the callers with time)."""
    return status is not None and not is_terminal(status)


def is_known(status: str) -> bool:
    s = normalize(status)
    return s in TERMINAL_STATES or s in KNOWN_ACTIVE_STATES


# --- the one transition table ---------------------------------------------------------------------
#: Kinds of state the table speaks of: nothing recorded yet, LANZANDO, any other active (non-terminal)
#: state, and a terminal state.
NINGUNO, INTENCION, ACTIVO, TERMINAL = "ninguno", "intencion", "activo", "terminal"

#: Marker of the one revival: a DEPLOY_FAILED written by the LANZANDO recovery (L5.5) as SAM's guess
#: ("sin confirmación de A360") while the deploy call may still have been in flight. The row carries
#: ``Ejecuciones.FalloSinConfirmar = 1``; a deployment A360 then confirms reopens it as DEPLOYED.
FALLO_SIN_CONFIRMAR = "FalloSinConfirmar"


def clase(status: str | None) -> str:
    if status is None:
        return NINGUNO
    s = normalize(status)
    if s == LANZANDO:
        return INTENCION
    return TERMINAL if s in TERMINAL_STATES else ACTIVO


#: Every allowed change (from kind, to kind) and why. Same state → same state is a no-op, not a change.
TRANSICIONES: dict[tuple[str, str], str] = {
    (NINGUNO, INTENCION): "L3.2: la intención se registra antes de llamar a A360",
    (NINGUNO, ACTIVO): "estado reportado antes de conocer la fila (se aplica al registrarla)",
    (NINGUNO, TERMINAL): "estado reportado antes de conocer la fila (se aplica al registrarla)",
    (INTENCION, ACTIVO): "L3.3: A360 aceptó el despliegue, o un callback/la conciliación lo vio avanzar",
    (INTENCION, TERMINAL): "L3.3/L5.5: fallo del despliegue, o ya terminó",
    (ACTIVO, ACTIVO): "L4/L5: la ejecución avanza (nunca vuelve a LANZANDO)",
    (ACTIVO, TERMINAL): "L4/L5: la ejecución termina",
}

#: The one change out of a terminal state, allowed only with the marker above (L5.5).
REVIVIR = (DEPLOY_FAILED, DEPLOYED)

#: L8.1, origin "operador": the close of a stuck execution by an operator (``destrabar``), any open
#: state (INTENCION or ACTIVO) -> TERMINAL as this state. It is not REVIVIR's origin, so nothing reopens it.
DESTRABAR = RUN_ABORTED


def may_replace(current: str | None, new: str, *, fallo_sin_confirmar: bool = False) -> bool:
    """Whether ``new`` may overwrite ``current`` according to :data:`TRANSICIONES`.

    The same state is allowed (callers treat it as a no-op); a terminal state is never replaced,
    except the revival :data:`REVIVIR` of a DEPLOY_FAILED marked ``fallo_sin_confirmar``.
    """
    if current is not None and new is not None and normalize(current) == normalize(new):
        return True
    if fallo_sin_confirmar and current is not None and (normalize(current), normalize(new)) == REVIVIR:
        return True
    return (clase(current), clase(new)) in TRANSICIONES


def revivible_sql(alias: str = "") -> str:
    """SQL condition of the revival (:data:`REVIVIR`): rendered into the statement that records a
    confirmed deployment (``common.database.ejecuciones``)."""
    return f"{alias}Estado = '{DEPLOY_FAILED}' AND {alias}{FALLO_SIN_CONFIRMAR} = 1"


def sql_list(states: frozenset[str] | set[str]) -> str:
    """A deterministic SQL literal list, e.g. ``'COMPLETED','DEPLOY_FAILED'`` for ``IN (...)``."""
    return ",".join(f"'{s}'" for s in sorted(states))


TERMINAL_SQL_LIST = sql_list(TERMINAL_STATES)
