"""Robot configuration -> typed A360 botInput (A360_API §2.6, lanzador/service/bot_input.py)."""

from __future__ import annotations

import pytest

from lanzador.clients.aa_client import A360Error
from lanzador.service.bot_input import build_bot_input


# --- bot input (§2.6) ------------------------------------------------------------------------
def test_A360_2_6_bot_input_typing_bool_before_int():
    got = build_bot_input('{"s": "PROD", "b": true, "f": false, "i": 3, "x": 1.5, "big": 1e20,'
                          ' "t": {"type": "LIST", "list": []}}', 3)
    assert got == {
        "s": {"type": "STRING", "string": "PROD"},
        "b": {"type": "BOOLEAN", "boolean": "true"},
        "f": {"type": "BOOLEAN", "boolean": "false"},
        "i": {"type": "NUMBER", "number": "3"},
        "x": {"type": "NUMBER", "number": "1.5"},
        "big": {"type": "NUMBER", "number": "100000000000000000000"},
        "t": {"type": "LIST", "list": []},
    }


@pytest.mark.parametrize("empty", [None, "", "   ", "{}", {}])
def test_A360_2_6_empty_parametros_gives_num_repeticion(empty):
    assert build_bot_input(empty, 5) == {"in_NumRepeticion": {"type": "NUMBER", "number": "5"}}


@pytest.mark.parametrize("bad", ['{"a": null}', '{"a": [1, 2]}', '{"a": {"x": 1}}', "[1]", "{not json",
                                 '"text"'])
def test_A360_2_6_untypable_bot_input_is_input_error(bad):
    with pytest.raises(A360Error) as ei:
        build_bot_input(bad, 3)
    assert ei.value.kind == "input"
    assert ei.value.retriable is False
    assert ei.value.status_code is None


def test_A360_2_6_dict_parametros_accepted():
    assert build_bot_input({"n": 2}, 3) == {"n": {"type": "NUMBER", "number": "2"}}
