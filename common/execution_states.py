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


def may_replace(current: str | None, new: str) -> bool:
    """Whether ``new`` may overwrite ``current`` (monotonic updates).

    - nothing recorded yet, or the same state: yes (a same-state write is a no-op for callers);
    - a terminal state is never replaced (neither by a non-terminal one nor by another terminal);
    - LANZANDO may become anything; an active state may become any other state except LANZANDO.
    """
    if current is None:
        return True
    cur, nxt = normalize(current), normalize(new)
    if cur in TERMINAL_STATES:
        return False
    if nxt == LANZANDO:
        return cur == LANZANDO
    return True


def sql_list(states: frozenset[str] | set[str]) -> str:
    """A deterministic SQL literal list, e.g. ``'COMPLETED','DEPLOY_FAILED'`` for ``IN (...)``."""
    return ",".join(f"'{s}'" for s in sorted(states))


TERMINAL_SQL_LIST = sql_list(TERMINAL_STATES)
