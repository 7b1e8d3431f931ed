"""Waiting in tests: poll a condition until it holds or a generous deadline passes.

    from tests.esperas import esperar
    fila = esperar(lambda: db.query_one(...), 30, que="fila LANZANDO")

A fixed ``time.sleep`` only stays in a test to let time pass on purpose, to prove that something
does *not* happen (and says so in a comment); anything the test waits *for* is polled here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def esperar(cond: Callable[[], T], timeout: float = 30.0, paso: float = 0.2, que: str = "condición") -> T:
    """Call ``cond`` every ``paso`` s until it returns something truthy, and return that value.
    Raises ``AssertionError`` (naming ``que`` and the last value) after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    ultimo = None
    while True:
        ultimo = cond()
        if ultimo:
            return ultimo
        if time.monotonic() >= deadline:
            raise AssertionError(f"no se cumplió en {timeout} s: {que} (último valor: {ultimo!r})")
        time.sleep(paso)
