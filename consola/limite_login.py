"""Sign-in attempts per client address (CONSOLE §2): a sliding window of one minute, in memory.

Every ``POST /login`` costs one scrypt verification; an address that sends more than
``CONSOLA_LOGIN_MAX_POR_MIN`` in the last 60 s gets 429 (``Retry-After``) without any verification,
so a single client cannot exhaust the CPU. The address is ``request.remote_addr`` (the client's own
behind ``CONSOLA_PROXIES_CONFIABLES`` trusted proxies). Thread-safe; memory bounded by pruning
addresses whose window is empty. Per process: with several console processes each one counts its own.
"""

from __future__ import annotations

import math
import threading
from collections import deque

VENTANA_SEG = 60.0
#: Above this many addresses, idle ones are dropped on the next call.
_PODAR_DESDE = 1000


class LimiteLogin:
    def __init__(self, maximo: int, ventana_seg: float = VENTANA_SEG) -> None:
        self.maximo, self.ventana = int(maximo), float(ventana_seg)
        self._por_ip: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admitir(self, ip: str | None, ahora: float) -> float | None:
        """Count one attempt of ``ip`` at ``ahora`` (seconds): None if admitted, else the seconds
        until the oldest attempt of the window leaves it (the refused attempt is not counted)."""
        clave = ip or "-"
        with self._lock:
            if len(self._por_ip) > _PODAR_DESDE:
                self._podar(ahora)
            marcas = self._por_ip.setdefault(clave, deque())
            while marcas and marcas[0] <= ahora - self.ventana:
                marcas.popleft()
            if len(marcas) >= self.maximo:
                return max(0.0, marcas[0] + self.ventana - ahora)
            marcas.append(ahora)
            return None

    def _podar(self, ahora: float) -> None:
        for ip in [ip for ip, m in self._por_ip.items() if not m or m[-1] <= ahora - self.ventana]:
            del self._por_ip[ip]


def segundos_retry_after(espera: float) -> int:
    """The ``Retry-After`` value: whole seconds, at least 1."""
    return max(1, math.ceil(espera))
