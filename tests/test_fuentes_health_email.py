"""B8 with the real e-mail client and a real SMTP server: a ticket source failing 3 cycles in a row
sends one alert; its recovery sends one more; nothing else."""

from __future__ import annotations

import logging

from balanceador.clients.base import SourceResult
from balanceador.clients.fuentes import SourceHealth
from common.utils.config_manager import load_config
from common.utils.mail_client import EmailAlertClient
from tests.smtp_sink import SmtpSink


def _cfg(tmp_path, sink):
    env = {
        "SQL_SAM_ENGINE": "sqlite",
        "SQL_SAM_SQLITE_PATH": str(tmp_path / "sam.db"),
        "SQL_RPA360_ENGINE": "sqlite",
        "SQL_RPA360_SQLITE_PATH": str(tmp_path / "rpa360.db"),
        "BALANCEADOR_PROVEEDORES_CARGA": "rpa360",
        "EMAIL_SMTP_SERVER": "127.0.0.1",
        "EMAIL_SMTP_PORT": str(sink.port),
        "EMAIL_FROM": "sam@example.com",
        "EMAIL_RECIPIENTS": "ops@example.com",
        "EMAIL_TIMEOUT_SEG": "10",
    }
    return load_config("balanceador", env, tmp_path)


def test_B8_source_down_three_cycles_one_mail_recovery_one_mail(tmp_path):
    with SmtpSink() as sink:
        cfg = _cfg(tmp_path, sink)
        alerts = EmailAlertClient(cfg, "balanceador")
        health = SourceHealth(alerts, cfg.BALANCEADOR_FALLOS_PARA_ALERTA, logging.getLogger("test.b8"))
        assert cfg.BALANCEADOR_FALLOS_PARA_ALERTA == 3
        down = SourceResult("rpa360", False, (), "rpa360: no se pudo leer los tickets pendientes: <tiempo agotado>")
        up = SourceResult("rpa360", True, (("RobotA", 1, 4),), None)

        health.record([up])
        health.record([down])
        health.record([down])
        assert sink.messages == []
        health.record([down])
        assert len(sink.messages) == 1
        alert = sink.messages[0]
        assert alert["Subject"].startswith("[SAM][balanceador][ERROR]")
        assert "rpa360" in alert["Subject"]
        html = alert.get_body(("html", "plain")).get_content()
        assert "&lt;tiempo agotado&gt;" in html or "<tiempo agotado>" not in html  # escaped body
        for _ in range(4):
            health.record([down])
        assert len(sink.messages) == 1

        health.record([up])
        assert len(sink.messages) == 2
        assert "recuperada" in sink.messages[1]["Subject"]
        health.record([up])
        health.record([up])
        assert len(sink.messages) == 2
