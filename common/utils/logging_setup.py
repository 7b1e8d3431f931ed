"""Per-process logging: one UTF-8 file rotated at midnight, console when interactive, redaction.

Every handler installed here carries a ``RedactionFilter`` that masks the configured secrets
(``cfg.secrets()``) and token-like values (JWTs, ``Authorization``/``X-Authorization`` headers,
``"password": "..."`` pairs, ``PWD=...;`` in connection strings, credentials in URLs) in the
message, its arguments, the exception traceback and the stack info.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Iterable
from pathlib import Path

from common.utils.config_manager import Config
from common.utils.redaccion import redactar

DEFAULT_FORMAT = "%(asctime)s %(levelname)-8s [pid %(process)d %(threadName)s] %(name)s: %(message)s"
ROOT_LOGGER = "sam"
# Third-party loggers whose records also go to the service's file (name -> minimum level).
EXTRA_LOGGERS = {"waitress": logging.INFO, "paramiko": logging.WARNING}
DEMO_LOG_FILENAME = "sam_demo.log"
_FILENAME_SETTING = {
    "lanzador": "APP_LOG_FILENAME_LANZADOR",
    "callback": "CALLBACK_LOG_FILENAME",
    "balanceador": "APP_LOG_FILENAME_BALANCEADOR",
    "consola": "APP_LOG_FILENAME_CONSOLA",
}
class RedactionFilter(logging.Filter):
    """Masks secrets and token-like values in the message, args, traceback and stack of a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]
        self._formatter = logging.Formatter()

    def redact(self, text: str) -> str:
        return redactar(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_sam_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        record._sam_redacted = True
        return True


def log_file_path(cfg: Config, service: str) -> Path:
    name = cfg.get(_FILENAME_SETTING[service]) if service in _FILENAME_SETTING else DEMO_LOG_FILENAME
    return Path(cfg.LOG_DIRECTORY) / name


def _formatter(cfg: Config) -> logging.Formatter:
    datefmt = cfg.LOG_DATEFMT or None
    if cfg.LOG_FORMAT:
        try:
            return logging.Formatter(cfg.LOG_FORMAT, datefmt)
        except (ValueError, TypeError):
            print(f"LOG_FORMAT no válido ({cfg.LOG_FORMAT!r}); se usa el formato por defecto", file=sys.stderr)
    return logging.Formatter(DEFAULT_FORMAT, datefmt)


def _remove_our_handlers(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        if getattr(handler, "_sam_handler", False):
            logger.removeHandler(handler)
            handler.close()


def setup_logging(cfg: Config, service: str, *, force_console: bool = False) -> logging.Logger:
    """Configure the ``sam`` logger for this process and return it. Calling again reconfigures."""
    path = log_file_path(cfg, service)
    path.parent.mkdir(parents=True, exist_ok=True)
    formatter = _formatter(cfg)
    redaction = RedactionFilter(cfg.secrets())

    handlers: list[logging.Handler] = [logging.handlers.TimedRotatingFileHandler(
        path, when="midnight", backupCount=cfg.LOG_BACKUP_COUNT, encoding="utf-8", delay=True)]
    interactive = False
    try:
        interactive = sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        pass
    if force_console or interactive:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redaction)
        handler._sam_handler = True  # type: ignore[attr-defined]

    logger = logging.getLogger(ROOT_LOGGER)
    for name, level in EXTRA_LOGGERS.items():
        extra = logging.getLogger(name)
        _remove_our_handlers(extra)
        extra.setLevel(max(level, logging.getLevelName(cfg.LOG_LEVEL)))
        for handler in handlers:
            extra.addHandler(handler)
    _remove_our_handlers(logger)
    logger.setLevel(cfg.LOG_LEVEL)
    for handler in handlers:
        logger.addHandler(handler)
    logger.info("Log de %s iniciado en %s (nivel %s)", service, path, cfg.LOG_LEVEL)
    if cfg.unknown_keys:
        logger.warning(
            "Variables de los archivos .env que no son ajustes de SAM (¿errata?; se ignoran): %s",
            ", ".join(cfg.unknown_keys),
        )
    return logger


def shutdown_logging() -> None:
    """Close the handlers installed by ``setup_logging`` and reset the levels (tests, clean exit)."""
    for name in (ROOT_LOGGER, *EXTRA_LOGGERS):
        logger = logging.getLogger(name)
        _remove_our_handlers(logger)
        logger.setLevel(logging.NOTSET)
