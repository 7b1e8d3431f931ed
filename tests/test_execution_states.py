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
