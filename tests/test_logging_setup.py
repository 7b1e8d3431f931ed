"""Logging: one UTF-8 file per process, midnight rotation, format, redaction of secrets and tokens."""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import threading

import pytest

from common.utils.config_manager import load_config
from common.utils.logging_setup import (
    RedactionFilter,
    setup_logging,
    shutdown_logging,
)
from common.utils.redaccion import MASCARA as MASK
from common.utils.redaccion import redactar as redact_text

DB_PWD = "Db-Pässword-2024!"
API_KEY = "A360-ApiKey-abcdef0123456789"
JWT = "eyJhbGciOiJSUzUxMiJ9.eyJzdWIiOiIxMjMiLCJ0ZW5hbnRVdWlkIjoiYSJ9.c2lnbmF0dXJlLXBhcnQ"


@pytest.fixture
def cfg(tmp_path):
    env = {"SQL_SAM_ENGINE": "sqlite", "SQL_SAM_PWD": DB_PWD, "AA_API_KEY": API_KEY,
           "AA_URL": "https://cr.example.com", "AA_USER": "sam", "AA_URL_CALLBACK": "https://sam/cb",
           "CALLBACK_TOKEN": "callback-token-0123456789", "LOG_DIRECTORY": str(tmp_path / "logs")}
    cfg = load_config("lanzador", env, tmp_path)
    yield cfg
    shutdown_logging()


def read_log(cfg, name="sam_lanzador_app.log") -> str:
    for handler in logging.getLogger("sam").handlers:
        handler.flush()
    return (cfg.LOG_DIRECTORY / name).read_text(encoding="utf-8")


def test_C8_one_file_per_process_rotating_at_midnight_utf8(cfg):
    logger = setup_logging(cfg, "lanzador")
    assert logger.name == "sam"
    files = [h for h in logger.handlers if isinstance(h, logging.handlers.TimedRotatingFileHandler)]
    assert len(files) == 1
    handler = files[0]
    assert handler.when == "MIDNIGHT" and handler.backupCount == 7 and handler.encoding == "utf-8"
    logging.getLogger("sam.lanzador.desplegador").warning("Despliegue de «Robot Ñandú» reintentado")
    text = read_log(cfg)
    line = [ln for ln in text.splitlines() if "Ñandú" in ln][0]
    # time, level, pid, thread, logger, message
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WARNING ", line), line
    assert f"pid {os.getpid()}" in line and threading.current_thread().name in line
    assert "sam.lanzador.desplegador: Despliegue de «Robot Ñandú» reintentado" in line


def test_C8_file_name_per_service(cfg):
    for service, name in (("callback", "sam_callback_server.log"), ("balanceador", "sam_balanceador_app.log"),
                          ("lanzador", "sam_lanzador_app.log")):
        setup_logging(cfg, service)
        logging.getLogger("sam.x").info("hola %s", service)
        assert f"hola {service}" in read_log(cfg, name)


def test_C8_setup_is_idempotent(cfg):
    setup_logging(cfg, "lanzador")
    logger = setup_logging(cfg, "lanzador")
    ours = [h for h in logger.handlers if getattr(h, "_sam_handler", False)]
    assert len(ours) == 1 or (len(ours) == 2 and isinstance(ours[1], logging.StreamHandler))
    logging.getLogger("sam.t").error("una sola vez")
    assert read_log(cfg).count("una sola vez") == 1


def test_C8_console_only_when_interactive_or_forced(cfg, monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    logger = setup_logging(cfg, "lanzador")
    assert not any(type(h) is logging.StreamHandler for h in logger.handlers)
    logger = setup_logging(cfg, "lanzador", force_console=True)
    assert any(type(h) is logging.StreamHandler for h in logger.handlers)


def test_C8_level_from_config(tmp_path):
    cfg = load_config("demo", {"LOG_LEVEL": "WARNING", "LOG_DIRECTORY": str(tmp_path)}, tmp_path)
    try:
        setup_logging(cfg, "demo")
        logging.getLogger("sam.a").info("informativo")
        logging.getLogger("sam.a").warning("aviso")
        text = read_log(cfg, "sam_demo.log")
        assert "aviso" in text and "informativo" not in text
    finally:
        shutdown_logging()


def test_C9_secrets_and_tokens_reach_the_file_masked(cfg):
    setup_logging(cfg, "lanzador")
    log = logging.getLogger("sam.lanzador.aa_client")
    log.error("Conexión con PWD=%s; api key %s; respuesta %s", DB_PWD, API_KEY, {"token": JWT})
    log.warning("Cabeceras: {'X-Authorization': '%s', 'Content-Type': 'application/json'}", JWT)
    log.warning('Cuerpo de login: {"username": "sam", "password": "otra-clave-secreta"}')
    log.info("DRIVER={ODBC Driver 17 for SQL Server};SERVER=s;UID=u;PWD={a;b};")
    text = read_log(cfg)
    for secret in (DB_PWD, API_KEY, JWT, JWT[:30], "otra-clave-secreta", "{a;b}"):
        assert secret not in text, secret
    assert text.count(MASK) >= 6
    assert "Content-Type" in text and '"username": "sam"' in text   # the rest stays readable


def test_C9_secrets_masked_in_exception_tracebacks(cfg):
    setup_logging(cfg, "lanzador")
    try:
        raise RuntimeError(f"login rechazado para apiKey={API_KEY} con token {JWT} y clave {DB_PWD}")
    except RuntimeError:
        logging.getLogger("sam.lanzador").exception("Fallo inesperado")
    text = read_log(cfg)
    assert "Traceback (most recent call last)" in text and "RuntimeError" in text
    for secret in (API_KEY, JWT, DB_PWD):
        assert secret not in text


def test_C8_shutdown_leaves_no_handlers_and_no_level(cfg):
    setup_logging(cfg, "lanzador", force_console=True)
    shutdown_logging()
    for name in ("sam", "waitress", "paramiko"):
        logger = logging.getLogger(name)
        assert logger.level == logging.NOTSET
        assert not [h for h in logger.handlers if getattr(h, "_sam_handler", False)]


def test_C9_redaction_filter_unit():
    flt = RedactionFilter(["s3cr3t-value", "x"])   # one-char "secrets" are ignored
    record = logging.LogRecord("sam.t", logging.INFO, __file__, 1, "valor %s y %r", ("s3cr3t-value", "x"), None)
    assert flt.filter(record)
    assert record.getMessage() == f"valor {MASK} y 'x'"
    assert redact_text("url https://u:p4ss@host/x", []) == f"url https://u:{MASK}@host/x"
    assert redact_text("Authorization: Bearer abc.def-ghi", []) == f"Authorization: {MASK}"
    assert redact_text("s3cr%2Fet in url", ["s3cr/et"]) == f"{MASK} in url"


def test_C9_unknown_names_in_env_files_are_logged_as_a_warning(tmp_path):
    """A typo in a .env name (e.g. LANZADOR_INTERVALO_LANZADOR_SEGS) is otherwise silently ignored:
    the service's log names it at start-up."""
    (tmp_path / "lanzador").mkdir()
    (tmp_path / "lanzador" / ".env").write_text("LANZADOR_INTERVALO_LANZADOR_SEGS=30\n", encoding="utf-8")
    cfg = load_config("demo", {"LOG_DIRECTORY": str(tmp_path / "logs")}, tmp_path)
    cfg_l = load_config("lanzador", {"SQL_SAM_ENGINE": "sqlite", "AA_URL": "https://cr.example.com",
                                     "AA_USER": "sam", "AA_PWD": "x", "AA_URL_CALLBACK": "https://sam/cb",
                                     "CALLBACK_TOKEN": "callback-token-0123456789",
                                     "LOG_DIRECTORY": str(tmp_path / "logs")}, tmp_path)
    assert cfg_l.unknown_keys == ["LANZADOR_INTERVALO_LANZADOR_SEGS"]
    try:
        setup_logging(cfg_l, "lanzador")
        text = read_log(cfg_l)
    finally:
        shutdown_logging()
    line = [ln for ln in text.splitlines() if "LANZADOR_INTERVALO_LANZADOR_SEGS" in ln]
    assert line and " WARNING " in line[0]
    assert cfg.unknown_keys == []
