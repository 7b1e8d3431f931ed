"""The sign-in decision (CONSOLE §2), pure: given the stored row (or none), whether the password
verified, the time and the lock-out settings, what happens and what to store.

- unknown, inactive or locked user, wrong password: :data:`RECHAZADO` with one and the same message
  for every case (the page never tells whether the user exists or is locked);
- a failure on an existing user counts; reaching ``intentos_bloqueo`` failures locks the account
  for ``bloqueo_min`` minutes (the counter restarts after a lock-out has run out);
- a correct password on an active, unlocked user: :data:`ACEPTADO`; the counter is reset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

ACEPTADO, RECHAZADO = "aceptado", "rechazado"
MENSAJE_RECHAZO = ("No se pudo iniciar sesión: el usuario o la clave no son correctos. Tras varios intentos "
                   "fallidos la cuenta queda bloqueada unos minutos.")


@dataclass(frozen=True)
class Decision:
    resultado: str
    #: New IntentosFallidos / BloqueadoHasta to store (None = nothing to store: no row).
    intentos: int | None = None
    bloqueado_hasta: datetime | None = None
    #: True when this decision starts a lock-out (audited).
    bloquea: bool = False

    @property
    def aceptado(self) -> bool:
        return self.resultado == ACEPTADO


def bloqueado(fila: dict, ahora: datetime) -> bool:
    hasta = fila.get("BloqueadoHasta")
    return hasta is not None and _fecha(hasta) > ahora


def decidir(fila: dict | None, clave_correcta: bool, ahora: datetime, *, intentos_bloqueo: int,
            bloqueo_min: int) -> Decision:
    """What a sign-in attempt of ``fila``'s user gets (``fila`` None: no such local user)."""
    if fila is None:
        return Decision(RECHAZADO)
    if bloqueado(fila, ahora):
        return Decision(RECHAZADO)  # locked: even the right password waits; the counter stays
    previos = int(fila.get("IntentosFallidos") or 0)
    if fila.get("BloqueadoHasta") is not None:
        previos = 0  # the previous lock-out ran out: a fresh series
    if clave_correcta and bool(fila.get("Activo")):
        return Decision(ACEPTADO, 0, None)
    intentos = previos + 1
    if intentos >= intentos_bloqueo:
        return Decision(RECHAZADO, intentos, ahora + timedelta(minutes=bloqueo_min), bloquea=True)
    return Decision(RECHAZADO, intentos, None)


def _fecha(valor: object) -> datetime:
    if isinstance(valor, datetime):
        return valor.replace(tzinfo=None)
    return datetime.fromisoformat(str(valor).replace("T", " "))
