"""Pause window of the launch cycle (BEHAVIOUR L6).

``LANZADOR_PAUSA_INICIO_HHMM`` – ``LANZADOR_PAUSA_FIN_HHMM`` in local time. A start later than
the end crosses midnight; equal values or both empty mean "no pause". Only launching pauses;
sync and conciliation go on. :func:`en_pausa` is pure; :class:`VentanaPausa` adds the
"log entering and leaving once each" behaviour on top of it.
"""

from __future__ import annotations

import logging
import threading
from datetime import time

_log = logging.getLogger("sam.lanzador.pausa")


def en_pausa(ahora: time, inicio: time | None, fin: time | None) -> bool:
    """Whether ``ahora`` (local wall time) falls inside the pause window [inicio, fin).

    - ``inicio`` or ``fin`` missing, or equal: no pause.
    - ``inicio < fin``: paused from ``inicio`` (inclusive) to ``fin`` (exclusive) the same day.
    - ``inicio > fin``: the window crosses midnight: paused from ``inicio`` to 24:00 and from
      00:00 to ``fin`` (exclusive).
    """
    if inicio is None or fin is None or inicio == fin:
        return False
    ahora = ahora.replace(tzinfo=None)
    inicio = inicio.replace(tzinfo=None)
    fin = fin.replace(tzinfo=None)
    if inicio < fin:
        return inicio <= ahora < fin
    return ahora >= inicio or ahora < fin


class VentanaPausa:
    """Stateful wrapper: answers :func:`en_pausa` and logs each transition exactly once."""

    def __init__(self, inicio: time | None, fin: time | None, logger: logging.Logger | None = None) -> None:
        self.inicio = inicio
        self.fin = fin
        self._log = logger or _log
        self._estado: bool | None = None
        self._lock = threading.Lock()

    @property
    def configurada(self) -> bool:
        return self.inicio is not None and self.fin is not None and self.inicio != self.fin

    def describir(self) -> str:
        if not self.configurada:
            return "sin ventana de pausa"
        assert self.inicio is not None and self.fin is not None
        return f"pausa de {self.inicio:%H:%M} a {self.fin:%H:%M} (hora local)"

    def comprobar(self, ahora: time) -> bool:
        """``en_pausa`` for ``ahora``; logs "entering"/"leaving" only when the state changes."""
        pausado = en_pausa(ahora, self.inicio, self.fin)
        with self._lock:
            anterior, self._estado = self._estado, pausado
        if pausado and anterior is not True:
            self._log.info(
                "Entrando en la ventana de pausa (%s): no se lanzarán robots hasta las %s.",
                self.describir(),
                f"{self.fin:%H:%M}" if self.fin else "?",
            )
        elif not pausado and anterior is True:
            self._log.info("Saliendo de la ventana de pausa: se reanudan los lanzamientos.")
        return pausado
