"""One recording fake of the mail client's contract, shared by every test module.

    from tests.alertas_falsas import AlertasFalsas
    alertas = AlertasFalsas()
    servicio = Servicio(..., alerts=alertas)
    ...
    assert alertas.claves() == ["bd_sam"]
    assert alertas.claves_recuperadas() == ["bd_sam"]

It keeps the contract of ``common.utils.mail_client.EmailAlertClient`` at key level:

* ``send_alert(key, subject, body, level="ERROR", what_to_check="") -> bool`` records an
  :class:`Aviso` in ``enviadas``, leaves the key outstanding and returns True. No throttling (the
  real client's repetition interval is tested in test_mail_client.py).
* ``send_recovery(key, subject, body) -> bool`` announces (records in ``recuperadas``, level
  ``RECUPERADO``) and returns True only when an alert of that key is outstanding, and clears it;
  otherwise it records nothing and returns False.
* ``is_alerting(key) -> bool``: an alert of ``key`` is outstanding.

``orden()`` gives alerts and recoveries together in call order, as ``("alert", key)`` /
``("recovery", key)`` pairs, for facts about their sequence.

``fallar=True`` (or setting ``alertas.fallar`` later) makes sends fail like an unreachable SMTP
server: ``send_alert`` returns False, the key is not outstanding and the attempt goes to
``fallidas`` instead of ``enviadas`` (for retry tests).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Aviso:
    clave: str
    asunto: str
    cuerpo: str
    que_revisar: str = ""
    nivel: str = "ERROR"


class AlertasFalsas:
    def __init__(self, *, fallar: bool = False) -> None:
        self.fallar = fallar
        self.enviadas: list[Aviso] = []
        self.recuperadas: list[Aviso] = []
        self.fallidas: list[Aviso] = []
        self._pendientes: set[str] = set()
        self._orden: list[tuple[str, str]] = []  # ("alert" | "recovery", key), in call order
        self._lock = threading.Lock()  # services call it from their job threads

    # ------------------------------------------------------------------ EmailAlertClient contract

    def send_alert(self, key: str, subject: str, body: str, level: str = "ERROR",
                   what_to_check: str = "") -> bool:
        aviso = Aviso(key, subject, body, what_to_check, level)
        with self._lock:
            if self.fallar:
                self.fallidas.append(aviso)
                return False
            self.enviadas.append(aviso)
            self._orden.append(("alert", key))
            self._pendientes.add(key)
            return True

    def send_recovery(self, key: str, subject: str, body: str) -> bool:
        with self._lock:
            if key not in self._pendientes:
                return False
            self._pendientes.discard(key)
            self.recuperadas.append(Aviso(key, subject, body, "", "RECUPERADO"))
            self._orden.append(("recovery", key))
            return True

    def is_alerting(self, key: str) -> bool:
        with self._lock:
            return key in self._pendientes

    # ------------------------------------------------------------------ helpers for assertions

    def claves(self) -> list[str]:
        """Keys of the alerts sent, in order."""
        with self._lock:
            return [a.clave for a in self.enviadas]

    def claves_recuperadas(self) -> list[str]:
        """Keys of the recoveries announced, in order."""
        with self._lock:
            return [a.clave for a in self.recuperadas]

    def orden(self) -> list[tuple[str, str]]:
        """Alerts sent and recoveries announced together, in call order: ("alert" | "recovery", key)."""
        with self._lock:
            return list(self._orden)
