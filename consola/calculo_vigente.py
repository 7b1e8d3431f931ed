"""A costly result computed at most once per ``vigencia_seg`` per console process, shared by every
request thread (CONSOLE §5: a page must not redo a fleet-wide computation on each request).

- No result yet: the first request computes it; concurrent requests wait for that one computation
  (one at a time, never one per thread).
- A fresh result (younger than ``vigencia_seg``): returned as it is.
- An expired result: returned as it is (the page shows when it was computed) while one background
  thread computes the next; a failed refresh keeps the previous result and is logged.
- ``forzar=True``: computed now, in the request (the operator asked for it).

Ages are measured on the monotonic clock; ``calculado`` (what the page shows) is the SAM clock's
time handed in by the caller's ``calcular``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resultado:
    valor: Any
    #: monotonic second it was computed at
    instante: float

    def edad(self, ahora: float) -> float:
        return ahora - self.instante


class CalculoVigente:
    def __init__(self, vigencia_seg: float, reloj: Callable[[], float] = time.monotonic) -> None:
        self.vigencia_seg = vigencia_seg
        self._reloj = reloj
        self._resultado: Resultado | None = None
        self._calculando = threading.Lock()  # held by whoever computes (request or refresher)
        self._estado = threading.Lock()  # guards _resultado and _refrescando
        self._refrescando = False

    def obtener(self, calcular: Callable[[], Any], *, forzar: bool = False) -> Any:
        """The current value of ``calcular()`` under the rules of the module docstring."""
        with self._estado:
            actual = self._resultado
            vencido = actual is not None and actual.edad(self._reloj()) >= self.vigencia_seg
            lanzar = vencido and not forzar and not self._refrescando
            if lanzar:
                self._refrescando = True
        if actual is not None and not forzar:
            if lanzar:
                threading.Thread(target=self._refrescar, args=(calcular,), name="consola-calculo-vigente",
                                 daemon=True).start()
            return actual.valor
        with self._calculando:
            with self._estado:
                otro = self._resultado
            if otro is not None and otro is not actual and not forzar:
                return otro.valor  # computed by another thread while this one waited
            return self._guardar(calcular())

    def _guardar(self, valor: Any) -> Any:
        with self._estado:
            self._resultado = Resultado(valor, self._reloj())
        return valor

    def _refrescar(self, calcular: Callable[[], Any]) -> None:
        try:
            with self._calculando:
                self._guardar(calcular())
        except Exception:  # noqa: BLE001 - the previous result stays; the next expired request retries
            log.exception("No se pudo recalcular un resultado de la consola; se sigue mostrando el anterior")
        finally:
            with self._estado:
                self._refrescando = False
