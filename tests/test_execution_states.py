"""The state vocabulary (BEHAVIOUR §1, A360_API §4): classification and monotonic replacement."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from common import execution_states as es

KNOWN = sorted(es.TERMINAL_STATES | es.KNOWN_ACTIVE_STATES)
any_status = st.one_of(
    st.sampled_from(KNOWN),
    st.sampled_from(KNOWN).map(str.lower),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=20),
)


def test_terminal_and_success_sets_match_the_contract():
    assert es.TERMINAL_STATES == {
        "RUN_COMPLETED", "COMPLETED", "RUN_FAILED", "RUN_ABORTED", "RUN_TIMED_OUT", "DEPLOY_FAILED"
    }
    assert es.SUCCESS_STATES == {"RUN_COMPLETED", "COMPLETED"}
    assert es.FAILURE_STATES == {"RUN_FAILED", "RUN_ABORTED", "RUN_TIMED_OUT", "DEPLOY_FAILED"}
    assert not es.TERMINAL_STATES & es.KNOWN_ACTIVE_STATES
    assert {"LANZANDO", "DEPLOYED", "QUEUED", "PENDING_EXECUTION", "RUNNING", "UPDATE", "RUN_PAUSED",
            "UNKNOWN"} <= es.KNOWN_ACTIVE_STATES


def test_sql_list_is_sorted_quoted_and_complete():
    assert es.TERMINAL_SQL_LIST == ",".join(f"'{s}'" for s in sorted(es.TERMINAL_STATES))


@given(any_status)
def test_classification_is_case_insensitive_and_busy_means_not_terminal(status):
    assert es.is_terminal(status) == es.is_terminal(status.upper())
    assert es.is_active(status) == (not es.is_terminal(status))
    assert es.normalize(f"  {status} ") == status.upper()


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=30))
def test_unrecognised_and_botstore_values_count_as_busy(status):
    if status not in es.TERMINAL_STATES:
        assert es.is_active(status)


@given(st.lists(any_status, min_size=1, max_size=12))
def test_a_terminal_state_is_never_replaced_whatever_arrives_later(updates):
    current = es.LANZANDO
    first_terminal = None
    for new in updates:
        if es.may_replace(current, new):
            current = es.normalize(new)
        if first_terminal is None and es.is_terminal(current):
            first_terminal = current
    if first_terminal is not None:
        assert current == first_terminal


@given(any_status)
def test_nothing_goes_back_to_lanzando_once_deployed(status):
    if es.normalize(status) != es.LANZANDO:
        assert not es.may_replace(status, es.LANZANDO)
    assert es.may_replace(None, status)
    assert es.may_replace(es.LANZANDO, status)


# --- the one transition table -----------------------------------------------------------------------

from common import execution_states as X  # noqa: E402

_ESTADOS = sorted(X.TERMINAL_STATES | X.KNOWN_ACTIVE_STATES | {"ALGO_NUEVO"})


def test_transition_table_never_leaves_a_terminal_state_but_for_the_marked_revival():
    assert not [k for k in X.TRANSICIONES if k[0] == X.TERMINAL]
    for actual in _ESTADOS + [None]:
        for nuevo in _ESTADOS:
            esperado = (
                actual is None
                or actual == nuevo
                or (actual not in X.TERMINAL_STATES and (nuevo != X.LANZANDO or actual == X.LANZANDO))
            )
            assert X.may_replace(actual, nuevo) is esperado, (actual, nuevo)
    assert X.may_replace(X.DEPLOY_FAILED, X.DEPLOYED, fallo_sin_confirmar=True)
    assert not X.may_replace(X.DEPLOY_FAILED, X.RUNNING, fallo_sin_confirmar=True)
    assert not X.may_replace(X.RUN_FAILED, X.DEPLOYED, fallo_sin_confirmar=True)
    assert X.revivible_sql("e.") == "e.Estado = 'DEPLOY_FAILED' AND e.FalloSinConfirmar = 1"


def test_L5_5_revival_is_keyed_on_the_marker_not_on_the_message_text(db):
    from datetime import datetime, timedelta

    from common.database import ejecuciones as E

    now = datetime(2026, 3, 2, 10, 0, 0)

    def intento():
        return E.insert_intent(db, robot_id=1, equipo_id=2, user_id=3, hora=None, fecha_slot=None, now=now)

    adivinado, real = intento(), intento()
    E.mark_unconfirmed(db, adivinado, now)
    # a real failure whose message happens to read the same is not SAM's guess
    E.mark_deploy_failed(db, real, E.MENSAJE_SIN_CONFIRMACION, now, sin_confirmar=False)
    E.mark_deployed(db, adivinado, "dep-1", now + timedelta(seconds=5))
    E.mark_deployed(db, real, "dep-2", now + timedelta(seconds=5))
    fila = E.get_execution(db, adivinado)
    assert (fila["Estado"], fila["FechaFin"], fila["MensajeError"]) == ("DEPLOYED", None, None)
    assert E.get_execution(db, real)["Estado"] == "DEPLOY_FAILED"
    assert db.query_one("SELECT FalloSinConfirmar AS f FROM Ejecuciones WHERE EjecucionId = ?", (adivinado,))["f"] == 0
