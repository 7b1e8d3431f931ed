"""``Robots.Parametros`` -> the typed A360 ``botInput`` (A360_API §2.6): the one home of the rule,
used by the Lanzador when it deploys (lanzador/service/bot_input.py) and by the operations module
when an operator edits a robot (common/operaciones/robots.py), so a value the console accepts is one
the deploy accepts.

A robot's ``Parametros`` is a JSON object (name -> value): strings become STRING, booleans
BOOLEAN, integers and floats NUMBER (as decimal text), an object with a ``type`` key passes
unchanged; null, arrays and untyped objects are refused (:class:`ParametrosNoValidos`, a Spanish
message). Empty -> ``{"in_NumRepeticion": NUMBER default_vueltas}``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["ParametrosNoValidos", "problema", "tipar"]


class ParametrosNoValidos(ValueError):
    """``Parametros`` cannot be typed; ``str(exc)`` is the Spanish reason."""


def _number_text(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        raise ValueError("no finito")
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def _parse(parametros: str | bytes | Mapping[str, Any] | None) -> Any:
    """The ``Parametros`` value as Python data (``None`` when empty)."""
    data: Any = parametros
    if isinstance(parametros, (bytes, bytearray)):
        data = parametros.decode("utf-8", errors="replace")
    if not isinstance(data, str):
        return data
    if not data.strip():
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ParametrosNoValidos(f"Parametros del robot no es JSON válido: {exc.msg} "
                        f"(línea {exc.lineno}, columna {exc.colno})") from None


def _typed(name: str, value: Any) -> dict[str, Any]:
    """One A360 typed variable."""
    if isinstance(value, bool):                      # bool before int: bool is an int subclass
        return {"type": "BOOLEAN", "boolean": "true" if value else "false"}
    if isinstance(value, (int, float)):
        try:
            return {"type": "NUMBER", "number": _number_text(value)}
        except ValueError:
            raise ParametrosNoValidos(f"Parametros del robot: la variable {name!r} no es un "
                            "número finito") from None
    if isinstance(value, str):
        return {"type": "STRING", "string": value}
    if isinstance(value, Mapping) and "type" in value:
        return dict(value)
    if value is None:
        raise ParametrosNoValidos(f"Parametros del robot: la variable {name!r} es null; "
                        "no se puede tipar")
    if isinstance(value, (list, tuple)):
        raise ParametrosNoValidos(f"Parametros del robot: la variable {name!r} es una lista; "
                        "use un objeto tipado {\"type\": \"LIST\", ...}")
    if isinstance(value, Mapping):
        raise ParametrosNoValidos(f"Parametros del robot: la variable {name!r} es un objeto "
                        "sin clave \"type\"")
    raise ParametrosNoValidos(f"Parametros del robot: la variable {name!r} tiene un tipo "
                    f"no admitido ({type(value).__name__})")


def tipar(parametros: str | Mapping[str, Any] | None, default_vueltas: int) -> dict:
    """Typed ``botInput`` from ``Robots.Parametros`` (a JSON object text or a mapping).

    string -> STRING, bool -> BOOLEAN, int/float -> NUMBER (as decimal text), an object with a
    ``type`` key passes unchanged; null, arrays and untyped objects raise :class:`ParametrosNoValidos`.
    Empty -> ``{"in_NumRepeticion": NUMBER default_vueltas}``.
    """
    data = _parse(parametros)
    if data is None or (isinstance(data, Mapping) and not data):
        return {"in_NumRepeticion": {"type": "NUMBER", "number": str(int(default_vueltas))}}
    if not isinstance(data, Mapping):
        raise ParametrosNoValidos("Parametros del robot debe ser un objeto JSON "
                        f"(nombre -> valor), no {type(data).__name__}")
    out: dict[str, Any] = {}
    for name, value in data.items():
        if not isinstance(name, str) or not name:
            raise ParametrosNoValidos("Parametros del robot: nombre de variable vacío o no texto")
        out[name] = _typed(name, value)
    return out


def problema(parametros: str | Mapping[str, Any] | None) -> str | None:
    """The Spanish reason ``parametros`` cannot be deployed, or None when it can."""
    try:
        tipar(parametros, 1)
    except ParametrosNoValidos as exc:
        return str(exc)
    return None
