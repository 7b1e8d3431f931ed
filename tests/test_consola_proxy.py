"""Behind IIS (CONSOLA_PROXIES_CONFIABLES): the client's address comes from X-Forwarded-For only when a
trusted proxy is declared; otherwise the header is ignored (a client cannot choose its audited IP)."""

from __future__ import annotations

import logging

import pytest

from tests.consola_apoyo import CLAVE, app_de_prueba, token

CLIENTE = "203.0.113.7"
PROXY = "127.0.0.1"


def _ip_del_inicio(tmp_path, caplog, **extra) -> str:
    app, _db, _clock = app_de_prueba(tmp_path, **extra)
    cliente = app.test_client()
    cliente.environ_base.update({"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": CLIENTE})
    with caplog.at_level(logging.INFO):
        r = cliente.post("/login", data={"Usuario": "lector", "Clave": CLAVE, "csrf_token": token(cliente)})
    assert r.status_code in (302, 303)
    linea = next(m for m in caplog.messages if m.startswith("Inicio de sesión de «lector»"))
    return linea.rsplit("IP ", 1)[1].rstrip(")")


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(tmp_path, caplog):
    assert _ip_del_inicio(tmp_path, caplog) == PROXY


def test_behind_one_trusted_proxy_the_client_address_is_the_forwarded_one(tmp_path, caplog):
    assert _ip_del_inicio(tmp_path, caplog, CONSOLA_PROXIES_CONFIABLES="1") == CLIENTE


@pytest.mark.parametrize("valor", ["-1", "6", "uno"])
def test_an_invalid_proxy_count_names_the_setting(tmp_path, valor):
    from common.utils.config_manager import ConfigError
    from tests.consola_apoyo import config

    with pytest.raises(ConfigError, match="CONSOLA_PROXIES_CONFIABLES"):
        config(tmp_path, CONSOLA_PROXIES_CONFIABLES=valor)
