"""E-mail alerts against a real aiosmtpd server on loopback (BEHAVIOUR §8)."""

from __future__ import annotations

import logging
import ssl
import threading

import pytest

from common.utils.config_manager import load_config
from common.utils.mail_client import EmailAlertClient
from tests.smtp_sink import SilentServer, SmtpSink, closed_port, self_signed_context

DB_PWD = "Sql-Secret-Pass-77"
# aiosmtpd warns that the test server accepts AUTH without TLS; that is the point of the AUTH test.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class FakeTime:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def make_cfg(tmp_path, port: int, **extra: str):
    env = {"EMAIL_SMTP_SERVER": "127.0.0.1", "EMAIL_SMTP_PORT": str(port), "EMAIL_FROM": "sam@empresa.test",
           "EMAIL_RECIPIENTS": "ops1@empresa.test; ops2@empresa.test,ops3@empresa.test",
           "SQL_SAM_PWD": DB_PWD, "EMAIL_TIMEOUT_SEG": "2", **extra}
    return load_config("demo", env, tmp_path)


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


def text_and_html(msg):
    text = msg.get_body(("plain",)).get_content()
    html_part = msg.get_body(("html",)).get_content()
    return text, html_part


def test_C8_alert_is_received_with_subject_format_and_all_recipients(tmp_path, sink):
    client = EmailAlertClient(make_cfg(tmp_path, sink.port), "lanzador")
    assert client.send_alert("db", "Sin conexión con la BD SAM", "3 ciclos sin conexión",
                             what_to_check="Revise el servidor SQL") is True
    assert len(sink.messages) == 1
    msg = sink.messages[0]
    assert msg["Subject"] == "[SAM][lanzador][ERROR] Sin conexión con la BD SAM"
    assert sink.envelopes[0] == ("sam@empresa.test", ["ops1@empresa.test", "ops2@empresa.test",
                                                      "ops3@empresa.test"])
    text, html_part = text_and_html(msg)
    for part in (text, html_part):
        assert "lanzador" in part and client.hostname in part
        assert "3 ciclos sin conexión" in part and "Revise el servidor SQL" in part
    # the SAM host is "Servidor SAM" (operators took "Equipo" for an A360 equipo)
    assert f"Servidor SAM: {client.hostname}" in text and "Equipo:" not in text
    assert "<th align='left'>Servidor SAM</th>" in html_part
    assert client.is_alerting("db")


def test_C8_body_shows_time_in_sam_zone(tmp_path, sink):
    clock = FakeTime(1_800_000_000.0)   # 2027-01-15 08:00:00 UTC
    cfg = make_cfg(tmp_path, sink.port, SAM_ZONA_HORARIA="America/Argentina/Buenos_Aires")
    EmailAlertClient(cfg, "lanzador", clock=clock).send_alert("k", "s", "b")
    assert "Fecha y hora: 2027-01-15 05:00:00" in text_and_html(sink.messages[0])[0]


def test_C8_body_is_html_escaped_and_secrets_masked(tmp_path, sink):
    client = EmailAlertClient(make_cfg(tmp_path, sink.port), "balanceador")
    client.send_alert("x", "Robot <b>Pagos</b> & co", f"<script>alert(1)</script> PWD={DB_PWD}; clave {DB_PWD}",
                      level="WARNING", what_to_check="Mirar <tabla>")
    msg = sink.messages[0]
    assert msg["Subject"].startswith("[SAM][balanceador][WARNING] Robot <b>Pagos</b> & co")
    text, html_part = text_and_html(msg)
    assert "<script>" not in html_part and "&lt;script&gt;alert(1)&lt;/script&gt;" in html_part
    assert "&lt;tabla&gt;" in html_part and "Robot &lt;b&gt;Pagos&lt;/b&gt; &amp; co" in html_part
    assert DB_PWD not in text and DB_PWD not in html_part and DB_PWD not in msg["Subject"]


def test_C8_same_key_throttled_within_interval_other_keys_not(tmp_path, sink):
    clock = FakeTime()
    client = EmailAlertClient(make_cfg(tmp_path, sink.port, EMAIL_INTERVALO_REPETICION_MIN="30"), "lanzador",
                              clock=clock)
    assert client.send_alert("deploy:7", "Fallo de despliegue", "a") is True
    clock.now += 60
    assert client.send_alert("deploy:7", "Fallo de despliegue", "b") is False
    assert client.send_alert("deploy:8", "Fallo de despliegue", "c") is True
    clock.now += 29 * 60 - 61
    assert client.send_alert("deploy:7", "Fallo de despliegue", "d") is False
    clock.now += 62
    assert client.send_alert("deploy:7", "Fallo de despliegue", "e") is True
    bodies = [text_and_html(m)[0] for m in sink.messages]
    assert len(bodies) == 3
    assert ["a" in bodies[0], "c" in bodies[1], "e" in bodies[2]] == [True, True, True]


def test_C8_concurrent_alerts_same_key_send_one_mail(tmp_path, sink):
    client = EmailAlertClient(make_cfg(tmp_path, sink.port), "lanzador")
    results = []
    threads = [threading.Thread(target=lambda: results.append(client.send_alert("k", "s", "b")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1 and len(sink.messages) == 1


def test_C8_recovery_sent_once_and_only_after_an_alert(tmp_path, sink):
    clock = FakeTime()
    client = EmailAlertClient(make_cfg(tmp_path, sink.port), "balanceador", clock=clock)
    assert client.send_recovery("fuente:rpa360", "Fuente rpa360 recuperada", "ok") is False   # no alert yet
    assert client.send_alert("fuente:rpa360", "Fuente rpa360 caída", "3 fallos") is True
    assert client.send_recovery("fuente:rpa360", "Fuente rpa360 recuperada", "vuelve a responder") is True
    assert client.send_recovery("fuente:rpa360", "Fuente rpa360 recuperada", "otra vez") is False
    assert not client.is_alerting("fuente:rpa360")
    subjects = [m["Subject"] for m in sink.messages]
    assert subjects == ["[SAM][balanceador][ERROR] Fuente rpa360 caída",
                        "[SAM][balanceador][RECUPERADO] Fuente rpa360 recuperada"]
    # after a recovery a new failure alerts at once (throttle cleared)
    clock.now += 5
    assert client.send_alert("fuente:rpa360", "Fuente rpa360 caída", "de nuevo") is True


def test_C8_server_down_never_raises_returns_false_and_logs(tmp_path, caplog):
    client = EmailAlertClient(make_cfg(tmp_path, closed_port()), "lanzador")
    with caplog.at_level(logging.ERROR, logger="sam"):
        assert client.send_alert("db", "Sin BD", "detalle") is False
    assert "No se pudo enviar la alerta por e-mail" in caplog.text
    assert not client.is_alerting("db")
    # the failed send does not count for throttling: once the server is back, it goes out
    with SmtpSink() as sink:
        client.port = sink.port
        assert client.send_alert("db", "Sin BD", "detalle") is True
        assert len(sink.messages) == 1


def test_C8_hung_server_is_bounded_by_timeout(tmp_path):
    with SilentServer() as silent:
        client = EmailAlertClient(make_cfg(tmp_path, silent.port, EMAIL_TIMEOUT_SEG="1"), "lanzador")
        assert client.send_alert("db", "Sin BD", "detalle") is False   # returns (pytest-timeout guards a hang)


def test_C8_unconfigured_smtp_only_logs_warning(tmp_path, caplog):
    cfg = load_config("demo", {"SQL_SAM_PWD": DB_PWD}, tmp_path)
    client = EmailAlertClient(cfg, "lanzador")
    with caplog.at_level(logging.WARNING, logger="sam"):
        assert client.send_alert("k", "Asunto", f"con clave {DB_PWD}") is False
        assert client.is_alerting("k")
        assert client.send_recovery("k", "Recuperado", "ok") is False
    assert "ALERTA [ERROR] Asunto" in caplog.text and "RECUPERADO Recuperado" in caplog.text
    assert DB_PWD not in caplog.text


def test_C8_smtp_auth_when_user_set(tmp_path):
    with SmtpSink(auth=("alertas", "Mail-Pass-1")) as sink:
        cfg = make_cfg(tmp_path, sink.port, EMAIL_USER="alertas", EMAIL_PASSWORD="Mail-Pass-1")
        assert EmailAlertClient(cfg, "lanzador").send_alert("k", "s", "b") is True
        assert sink.logins == [("alertas", "Mail-Pass-1")] and len(sink.messages) == 1
        # wrong password: logged, not raised, nothing delivered
        bad = make_cfg(tmp_path, sink.port, EMAIL_USER="alertas", EMAIL_PASSWORD="incorrecta")
        assert EmailAlertClient(bad, "lanzador").send_alert("k", "s", "b") is False
        assert len(sink.messages) == 1
        # no user -> no AUTH attempted; this server requires it, so the send fails cleanly
        assert EmailAlertClient(make_cfg(tmp_path, sink.port), "lanzador").send_alert("k", "s", "b") is False


def test_C8_starttls_verifies_certificate(tmp_path):
    server_ctx, ca_file = self_signed_context(tmp_path)
    with SmtpSink(tls_context=server_ctx) as sink:
        cfg = make_cfg(tmp_path, sink.port, EMAIL_USE_TLS="true")
        # default context: the self-signed certificate is not trusted -> refused, not raised
        assert EmailAlertClient(cfg, "lanzador").send_alert("k", "s", "b") is False
        assert sink.messages == []
        trusting = ssl.create_default_context(cafile=str(ca_file))
        assert EmailAlertClient(cfg, "lanzador", ssl_context=trusting).send_alert("k", "s", "b") is True
        assert len(sink.messages) == 1


def test_C8_implicit_ssl(tmp_path):
    server_ctx, ca_file = self_signed_context(tmp_path)
    with SmtpSink(ssl_context=server_ctx) as sink:
        cfg = make_cfg(tmp_path, sink.port, EMAIL_USE_SSL="true")
        assert EmailAlertClient(cfg, "lanzador").send_alert("k", "s", "b") is False
        trusting = ssl.create_default_context(cafile=str(ca_file))
        assert EmailAlertClient(cfg, "lanzador", ssl_context=trusting).send_alert("k", "s", "b") is True
        assert len(sink.messages) == 1
