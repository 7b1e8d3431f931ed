"""The test suite's guard of the SQL registry: service code runs only registered statements.

An observer on ``DatabaseClient`` (``common.database.sql_client.OBSERVADORES_SQL``) sees every SQL
text sent to a database. When the code that sent it lives in a service package (``common``,
``lanzador``, ``balanceador``, ``callback``, ``consola``) and the text did not come from the
registry (``common.database.sentencias``), the statement is recorded as a violation; the autouse
fixture of ``tests/conftest.py`` fails the test that ran it. Tests, the demo and benchmarks may run
ad-hoc SQL (fixtures, assertions): only the caller's file decides.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from common.database import sentencias

RAIZ = Path(__file__).resolve().parent.parent
PAQUETES_SERVICIO = tuple(str(RAIZ / p) + "/" for p in sentencias.PAQUETES)
_PROPIOS = (str(RAIZ / "common" / "database" / "sql_client.py"), str(RAIZ / "common" / "database" / "sentencias.py"))


class Vigilante:
    def __init__(self) -> None:
        self.violaciones: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, texto: str) -> None:
        origen = _llamante()
        if origen is None or sentencias.es_conocido(texto):
            return
        with self._lock:
            self.violaciones.append((origen, " ".join(texto.split())[:200]))

    def tomar(self) -> list[tuple[str, str]]:
        with self._lock:
            out, self.violaciones = self.violaciones, []
        return out


def _llamante() -> str | None:
    """The service file that sent the statement, or None when it was a test, the demo or a tool."""
    frame = sys._getframe(2)
    while frame is not None:
        nombre = frame.f_code.co_filename.replace("\\", "/")
        if nombre not in _PROPIOS and not nombre.endswith("/contextlib.py"):
            if nombre.startswith(PAQUETES_SERVICIO):
                return f"{Path(nombre).relative_to(RAIZ).as_posix()}:{frame.f_lineno}"
            if nombre.startswith(str(RAIZ)):
                return None  # tests, demo, benchmarks
        frame = frame.f_back
    return None
