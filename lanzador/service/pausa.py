"""Pause window of the launch cycle (BEHAVIOUR L6) and the manual pause (C6).

``LANZADOR_PAUSA_INICIO_HHMM`` – ``LANZADOR_PAUSA_FIN_HHMM`` in local time. A start later than
the end crosses midnight; equal values or both empty mean "no pause". ``LANZADOR_PAUSA_MANUAL_HASTA``
(a local date-time) pauses launching until then; empty or past means no manual pause. Only
launching pauses; sync and conciliation go on. :func:`en_pausa` and :func:`en_pausa_manual` are
pure; :class:`VentanaPausa` adds the "log entering and leaving once each" behaviour on top of them
and takes new values at every cycle (:meth:`VentanaPausa.actualizar`: the settings may change in
``dbo.ConfiguracionSistema`` while the Lanzador runs). A pause that is already on and whose end
moves (a new ``LANZADOR_PAUSA_MANUAL_HASTA``, a new window end) logs the new end once per change.
"""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime, time, timedelta

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


def _restante(ahora: time, fin: time) -> timedelta:
    """Time from ``ahora`` until the next ``fin`` (wall clock; 24 h when they are equal)."""
    dia = date(2000, 1, 1)
    delta = datetime.combine(dia, fin.replace(tzinfo=None)) - datetime.combine(dia, ahora.replace(tzinfo=None))
    return delta % timedelta(days=1) or timedelta(days=1)


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
        self._hasta_anunciado: datetime | None = None  # end of the manual pause last logged
        self._fin_anunciado: time | None = None        # end of the window last logged
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
        self._anunciar_manual(manual, manual_antes, pausado, hasta)
        self._anunciar_ventana(pausado, anterior, manual, hora, inicio, fin)
        return pausado or manual

    def _anunciar_manual(self, manual: bool, antes: bool | None, pausado: bool, hasta: datetime | None) -> None:
        if manual and antes is not True:
            self._hasta_anunciado = hasta
            self._log.info("Pausa manual de lanzamientos (LANZADOR_PAUSA_MANUAL_HASTA): no se lanzará ningún "
                           "robot hasta el %s.", f"{hasta:%Y-%m-%d %H:%M:%S}")
        elif manual and hasta is not None and hasta != self._hasta_anunciado:
            previo, self._hasta_anunciado = self._hasta_anunciado, hasta
            cambio = "prolonga" if previo is None or hasta > previo else "acorta"
            self._log.info("La pausa manual de lanzamientos se %s hasta el %s (LANZADOR_PAUSA_MANUAL_HASTA; "
                           "antes hasta el %s).", cambio, f"{hasta:%Y-%m-%d %H:%M:%S}",
                           f"{previo:%Y-%m-%d %H:%M:%S}" if previo else "?")
        elif not manual and antes is True:
            self._hasta_anunciado = None
            self._log.info("Fin de la pausa manual%s.", " (sigue la ventana de pausa)" if pausado
                           else ": se reanudan los lanzamientos")

    def _anunciar_ventana(self, pausado: bool, antes: bool | None, manual: bool, hora: time,
                          inicio: time | None, fin: time | None) -> None:
        if pausado and antes is not True:
            self._fin_anunciado = fin
            self._log.info(
                "Entrando en la ventana de pausa (%s): no se lanzarán robots hasta las %s.",
                self.describir(),
                f"{fin:%H:%M}" if fin else "?",
            )
        elif pausado and fin is not None and fin != self._fin_anunciado:
            previo, self._fin_anunciado = self._fin_anunciado, fin
            cambio = "prolonga" if previo is None or _restante(hora, fin) > _restante(hora, previo) else "acorta"
            self._log.info("La ventana de pausa se %s hasta las %s (ventana de %s a %s, hora local; antes terminaba a "
                           "las %s).", cambio, f"{fin:%H:%M}", f"{inicio:%H:%M}" if inicio else "?", f"{fin:%H:%M}",
                           f"{previo:%H:%M}" if previo else "?")
        elif not pausado and antes is True:
            self._fin_anunciado = None
            self._log.info("Saliendo de la ventana de pausa%s.", " (sigue la pausa manual)" if manual
                           else ": se reanudan los lanzamientos")
