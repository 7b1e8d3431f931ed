"""The one strict parser of a whole number typed by a person (console forms, query strings, URL
ids, the operations CLI).

``str.isdigit()`` accepts "²" that ``int()`` then rejects (a 500 in a view), and ``int()`` accepts
"١٢", "１２", "+1", " 1" and "1_0": none of them is a number here. Only ASCII digits with an
optional leading minus are; the caller checks the range (:data:`MAX_INT_SQL`, SQL Server's INT, is
the bound of every id column)."""

from __future__ import annotations

import re

#: SQL Server INT's largest value: an id or count above it would fail in the DB, not in the form.
MAX_INT_SQL = 2**31 - 1

_ENTERO_ASCII = re.compile(r"-?[0-9]{1,50}")


def entero_ascii(valor: str) -> int | None:
    """``valor`` as an integer when it is spelt with ASCII digits only (an optional leading ``-``,
    at most 50 digits), else None."""
    return int(valor) if isinstance(valor, str) and _ENTERO_ASCII.fullmatch(valor) else None
