"""C8: the one "N consecutive failures -> one alert -> one recovery" helper (common/utils/alertas.py),
against a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import socket

import pytest

from common.utils.alertas import RachaDeFallos
from common.utils.config_manager import load_config
from common.utils.mail_client import EmailAlertClient
from tests.smtp_sink import SmtpSink


def _puerto_cerrado() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cliente(tmp_path, puerto: int) -> EmailAlertClient:
    env = {"EMAIL_SMTP_SERVER": "127.0.0.1", "EMAIL_SMTP_PORT": str(puerto), "EMAIL_FROM": "sam@empresa.test",
           "EMAIL_RECIPIENTS": "ops@empresa.test", "EMAIL_TIMEOUT_SEG": "2"}
    return EmailAlertClient(load_config("demo", env, tmp_path), "lanzador")


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


def _asuntos(sink) -> list[str]:
    return [m["Subject"] for m in sink.messages]


def test_alert_once_at_the_threshold_and_one_recovery(tmp_path, sink):
    racha = RachaDeFallos(_cliente(tmp_path, sink.port), "prueba:bd", umbral=3)
    for _ in range(2):
        racha.fallo("BD caída", lambda n: f"{n} ciclos")
    assert sink.messages == []
    for _ in range(4):
        racha.fallo("BD caída", lambda n: f"{n} ciclos")
    assert len(sink.messages) == 1 and "BD caída" in _asuntos(sink)[0]
    assert "3 ciclos" in sink.messages[0].get_body(("plain",)).get_content()
    assert racha.exito("BD recuperada", "vuelve") is True
    assert racha.exito("BD recuperada", "vuelve") is False  # once
    assert len(sink.messages) == 2 and "RECUPERADO" in _asuntos(sink)[1]


def test_alert_is_retried_after_a_failed_send(tmp_path, sink):
    """The SMTP server is down at the threshold cycle: the alert is sent at the next failure, not lost
    (a helper that only alerts when the count *equals* the threshold would never send it)."""
    cliente = _cliente(tmp_path, _puerto_cerrado())
    racha = RachaDeFallos(cliente, "prueba:bd", umbral=2)
    racha.fallo("BD caída", "cuerpo")
    racha.fallo("BD caída", "cuerpo")  # threshold reached, SMTP down
    assert sink.messages == [] and not racha.alertada
    cliente.port = sink.port  # the mail server is back
    racha.fallo("BD caída", "cuerpo")
    assert len(sink.messages) == 1 and racha.alertada
    racha.fallo("BD caída", "cuerpo")
    assert len(sink.messages) == 1


def test_no_recovery_without_an_alert_and_a_broken_client_never_raises(tmp_path, sink):
    racha = RachaDeFallos(_cliente(tmp_path, sink.port), "prueba:bd", umbral=5)
    racha.fallo("x", "y")
    assert racha.exito("r", "r") is False and sink.messages == []

    class Roto:
        def send_alert(self, *a, **k):
            raise RuntimeError("smtp roto")

        def send_recovery(self, *a, **k):
            raise RuntimeError("smtp roto")

    rota = RachaDeFallos(Roto(), "k", umbral=1)
    assert rota.fallo("a", "b") == 1 and not rota.alertada
