"""Robot configuration → A360 ``botInput`` (A360_API §2.6) for the deploy: ``Robots.Parametros`` typed
by :mod:`common.parametros_bot` (the one home of the rule, shared with the operations module that
validates an operator's edit). A value that cannot be typed is a robot configuration error
(``A360Error(kind="input")``, recorded like a refused deploy and alerted as such). The HTTP client
takes the ready ``botInput``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.parametros_bot import ParametrosNoValidos, tipar
from lanzador.clients.aa_client import KIND_INPUT, A360Error

__all__ = ["build_bot_input"]


def build_bot_input(parametros: str | Mapping[str, Any] | None, default_vueltas: int) -> dict:
    """Typed ``botInput`` from ``Robots.Parametros`` (a JSON object text or a mapping).

    string -> STRING, bool -> BOOLEAN, int/float -> NUMBER (as decimal text), an object with a
    ``type`` key passes unchanged; null, arrays and untyped objects raise ``A360Error(kind="input")``.
    Empty -> ``{"in_NumRepeticion": NUMBER default_vueltas}``.
    """
    try:
        return tipar(parametros, default_vueltas)
    except ParametrosNoValidos as exc:
        raise A360Error(KIND_INPUT, str(exc)) from None
