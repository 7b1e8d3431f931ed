"""The one "N consecutive failures → one alert → one recovery" helper of SAM (BEHAVIOUR §8).

Every place that alerts on a run of failures (a job without its database, a ticket source, A360,
a table sync…) keeps one :class:`RachaDeFallos` per root cause and calls :meth:`fallo` or
:meth:`exito` once per attempt:

- the alert goes out when the run reaches the threshold, and on every later failure while it has
  not gone out yet (an SMTP server that was down at the threshold cycle gets another try; the
  mail client's own throttle keeps repeats of a sent alert to one per interval);
- the recovery is announced once, on the first success after the alert went out;
- sending never raises (a broken mail server never stops a service).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

_log = logging.getLogger("sam.alertas")

Texto = str | Callable[[int], str]


def _texto(valor: Texto, fallos: int) -> str:
    return valor(fallos) if callable(valor) else valor


class RachaDeFallos:
    def __init__(self, alerts: Any, clave: str, *, umbral: int = 1, logger: logging.Logger | None = None) -> None:
        self.alerts = alerts
        self.clave = clave
        self.umbral = max(1, int(umbral))
        self.log = logger or _log
        self._fallos = 0
        self._alertada = False
        self._lock = threading.Lock()

    @property
    def fallos(self) -> int:
        return self._fallos

    @property
    def alertada(self) -> bool:
        return self._alertada

    def fallo(self, asunto: Texto, cuerpo: Texto, *, que_revisar: str = "", nivel: str = "ERROR") -> int:
        """One more failure in a row; alerts once the run reaches the threshold. Returns the count."""
        with self._lock:
            self._fallos += 1
            fallos = self._fallos
            toca = fallos >= self.umbral and not self._alertada
        if toca:
            enviada = self._enviar(_texto(asunto, fallos), _texto(cuerpo, fallos), que_revisar, nivel)
            with self._lock:
                self._alertada = self._alertada or enviada
        return fallos

    def exito(self, asunto: Texto, cuerpo: Texto) -> bool:
        """The run of failures ended. True when a recovery was announced (an alert had gone out)."""
        with self._lock:
            fallos, alertada = self._fallos, self._alertada
            self._fallos, self._alertada = 0, False
        if self.alerts is None or not (alertada or self._abierta_en_el_cliente()):
            return False
        try:
            self.alerts.send_recovery(self.clave, _texto(asunto, fallos), _texto(cuerpo, fallos))
        except Exception as exc:  # noqa: BLE001 - alerting never stops a service
            self.log.warning("No se pudo enviar la recuperación %s: %s", self.clave, exc)
        return True

    def _abierta_en_el_cliente(self) -> bool:
        """The mail client still holds an alert of this key (sent by an earlier holder of the key)."""
        esta_alertando = getattr(self.alerts, "is_alerting", None)
        return bool(callable(esta_alertando) and esta_alertando(self.clave))

    def _enviar(self, asunto: str, cuerpo: str, que_revisar: str, nivel: str) -> bool:
        """True when the alert is out: mailed now, mailed earlier (throttled), or only logged because
        e-mail is not configured. False when the send failed and must be retried."""
        if self.alerts is None:
            self.log.warning("ALERTA %s: %s", asunto, cuerpo)
            return True
        try:
            self.alerts.send_alert(self.clave, asunto, cuerpo, level=nivel, what_to_check=que_revisar)
        except Exception as exc:  # noqa: BLE001 - alerting never stops a service
            self.log.warning("No se pudo enviar la alerta %s: %s", self.clave, exc)
            return False
        esta_alertando = getattr(self.alerts, "is_alerting", None)
        return bool(esta_alertando(self.clave)) if callable(esta_alertando) else True
