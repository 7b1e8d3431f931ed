"""Pause window of the launch cycle (BEHAVIOUR L6) and the manual pause (C6).

``LANZADOR_PAUSA_INICIO_HHMM`` – ``LANZADOR_PAUSA_FIN_HHMM`` in local time. A start later than
the end crosses midnight; equal values or both empty mean "no pause". ``LANZADOR_PAUSA_MANUAL_HASTA``
(a local date-time) pauses launching until then; empty or past means no manual pause. Only
launching pauses; sync and conciliation go on. :func:`en_pausa` and :func:`en_pausa_manual` are
pure; :class:`VentanaPausa` adds the "log entering and leaving once each" behaviour on top of them
and takes new values at every cycle (:meth:`VentanaPausa.actualizar`: the settings may change in
``dbo.ConfiguracionSistema`` while the Lanzador runs).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, time

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


def en_pausa_manual(ahora: datetime, hasta: datetime | None) -> bool:
    """Whether the manual pause holds at ``ahora`` (local, naive): until ``hasta`` (exclusive)."""
    return hasta is not None and ahora.replace(tzinfo=None) < hasta.replace(tzinfo=None)


class VentanaPausa:
    """Stateful wrapper: answers whether launching pauses now and logs each transition of the
    window and of the manual pause exactly once."""

    def __init__(self, inicio: time | None, fin: time | None, logger: logging.Logger | None = None,
                 hasta: datetime | None = None) -> None:
        self.inicio = inicio
        self.fin = fin
        self.hasta = hasta
        self._log = logger or _log
        self._estado: bool | None = None
        self._manual: bool | None = None
        self._lock = threading.Lock()

    def actualizar(self, inicio: time | None, fin: time | None, hasta: datetime | None = None) -> None:
        """New values of the three settings (read from the live config before each cycle)."""
        with self._lock:
            self.inicio, self.fin, self.hasta = inicio, fin, hasta

    @property
    def configurada(self) -> bool:
        return self.inicio is not None and self.fin is not None and self.inicio != self.fin

    def describir(self) -> str:
        if not self.configurada:
            return "sin ventana de pausa"
        assert self.inicio is not None and self.fin is not None
        return f"pausa de {self.inicio:%H:%M} a {self.fin:%H:%M} (hora local)"

    def comprobar(self, ahora: time | datetime) -> bool:
        """Whether launching pauses at ``ahora`` (local; a bare ``time`` checks only the window);
        logs "entering"/"leaving" only when a state changes."""
        with self._lock:
            inicio, fin, hasta = self.inicio, self.fin, self.hasta
        hora = ahora.time() if isinstance(ahora, datetime) else ahora
        manual = isinstance(ahora, datetime) and en_pausa_manual(ahora, hasta)
        pausado = en_pausa(hora, inicio, fin)
        with self._lock:
            anterior, self._estado = self._estado, pausado
            manual_antes, self._manual = self._manual, manual
        if manual and manual_antes is not True:
            self._log.info("Pausa manual de lanzamientos (LANZADOR_PAUSA_MANUAL_HASTA): no se lanzará ningún "
                           "robot hasta el %s.", f"{hasta:%Y-%m-%d %H:%M:%S}")
        elif not manual and manual_antes is True:
            self._log.info("Fin de la pausa manual%s.", " (sigue la ventana de pausa)" if pausado
                           else ": se reanudan los lanzamientos")
        if pausado and anterior is not True:
            self._log.info(
                "Entrando en la ventana de pausa (%s): no se lanzarán robots hasta las %s.",
                self.describir(),
                f"{fin:%H:%M}" if fin else "?",
            )
        elif not pausado and anterior is True:
            self._log.info("Saliendo de la ventana de pausa%s.", " (sigue la pausa manual)" if manual
                           else ": se reanudan los lanzamientos")
        return pausado or manual
