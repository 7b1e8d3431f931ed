"""Entry point of the callback service: ``python callback/run_callback.py`` (from any directory).

Also ``python -m callback``. ``--help`` and ``--version`` print and exit before anything starts; an
unknown argument: exit code 2 (:mod:`common.cli`). Bad settings: one Spanish line per problem on
stderr, exit code 2. The port cannot be opened, or an unexpected error: one Spanish line on stderr,
exit code 1. SIGINT/SIGTERM/SIGBREAK (the shared
:class:`common.service_runner.ServiceRunner`): in-flight requests get up to
``LANZADOR_SHUTDOWN_TIMEOUT_SEG`` to finish, then the server and the database pool close; exit code 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # started as a script: make ``import common`` work from any cwd
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.paths import ensure_on_sys_path  # noqa: E402

ensure_on_sys_path()

import logging  # noqa: E402
import threading  # noqa: E402
from typing import Any  # noqa: E402

from callback.app import CallbackApp, build_server, logger  # noqa: E402
from common import latido, metricas  # noqa: E402
from common.cli import ejecutar_servicio, parser_servicio, salir_con_error  # noqa: E402
from common.clock import Clock  # noqa: E402
from common.database.sql_client import DatabaseClient  # noqa: E402
from common.service_runner import ServiceRunner  # noqa: E402
from common.wsgi_server import ThreadedServer  # noqa: E402

PROG = "python callback/run_callback.py"
DESCRIPCION = ("SAM Callback: recibe los avisos de fin de ejecución que envía A360 y los registra en la base "
               "de datos SAM; GET /health informa de su estado.")


def main(argv: list[str] | None = None, *, aviso_obsoleto: str | None = None, prog: str = PROG) -> int:
    """Parse the arguments (``--help``/``--version`` exit here), then run the service until a stop
    signal. ``aviso_obsoleto``: a WARNING written first to the log (the deprecated entry point
    ``lanzador/service/callback_server.py`` passes one)."""
    parser_servicio(prog, DESCRIPCION).parse_args(argv)
    return ejecutar_servicio("Callback", lambda: _servicio(aviso_obsoleto))


def _servicio(aviso_obsoleto: str | None) -> int:
    from common.utils.config_manager import load_config_or_exit
    from common.utils.logging_setup import setup_logging

    cfg = load_config_or_exit("callback")
    setup_logging(cfg, "callback")
    if aviso_obsoleto:
        logger.warning(aviso_obsoleto)
    clock = Clock(cfg.SAM_ZONA_HORARIA or None)
    db = DatabaseClient.from_config(cfg, "SAM")
    _prepare(cfg, db)
    app = CallbackApp.from_config(cfg, db, clock=clock)
    try:
        server = build_server(app, cfg)
    except OSError as exc:
        logger.error("No se pudo abrir el puerto %s:%s: %s", cfg.CALLBACK_SERVER_HOST, cfg.CALLBACK_SERVER_PORT, exc)
        _close_db(db)
        return salir_con_error("Callback", f"no se pudo abrir el puerto {cfg.CALLBACK_SERVER_HOST}:"
                               f"{cfg.CALLBACK_SERVER_PORT} ({exc}); compruebe que ningún otro proceso lo "
                               "usa o cambie CALLBACK_SERVER_HOST/CALLBACK_SERVER_PORT.")
    timeout = float(cfg.LANZADOR_SHUTDOWN_TIMEOUT_SEG)
    runner = ServiceRunner("callback", logger=logger, shutdown_timeout=timeout)
    app.latido = latido.instalar(runner, db, "callback", cfg, clock=clock)  # H5: /health shows its age
    metricas.instalar(runner, cfg, "callback")  # M1: own port, never CALLBACK_SERVER_PORT
    stop_http = _serve(server, timeout, logger)
    runner.add_shutdown_hook(stop_http)
    runner.add_shutdown_hook(lambda: _close_db(db))
    logger.info("Servidor de callbacks escuchando en http://%s:%s%s (hilos: %s)", cfg.CALLBACK_SERVER_HOST,
                getattr(server, "effective_port", cfg.CALLBACK_SERVER_PORT), app.endpoint_path,
                cfg.CALLBACK_SERVER_THREADS)
    rc = runner.run()
    logger.info("Servidor de callbacks detenido")
    return rc


def _prepare(cfg: Any, db: DatabaseClient) -> None:
    """Start-up lines and the schema check; a database that does not answer does not stop the
    server (``/health`` reports 503 until it answers)."""
    from common.database.schema import ensure_schema
    from common.version import __version__

    logger.info("SAM Callback versión %s: servidor de callbacks iniciando; base de datos SAM: %s",
                __version__, db.describe())
    if str(cfg.CALLBACK_AUTH_MODE).lower() == "none":
        logger.warning("CALLBACK_AUTH_MODE=none: se aceptan callbacks SIN autenticar. Configure "
                       "CALLBACK_AUTH_MODE=required y CALLBACK_TOKEN en producción.")
    try:
        ensure_schema(db)
    except Exception as exc:
        logger.error("No se pudo comprobar el esquema de la base de datos SAM: %s", exc)


def _serve(server: Any, timeout: float, log: logging.Logger):
    """Serve ``server`` from a thread; return the shutdown hook that stops it gracefully."""
    if not hasattr(server, "trigger"):
        # Several listen addresses (a host name with IPv4 and IPv6): waitress' MultiSocketServer,
        # which ThreadedServer does not drive. Its sockets close when the process ends.
        threading.Thread(target=server.run, name="callback-http", daemon=True).start()
        return lambda: _drain(server, timeout, log)
    served = ThreadedServer(server=server, name="callback-http")

    def stop() -> None:
        _drain(server, timeout, log)  # the loop still runs: finished responses are sent
        served.close(timeout=max(0.1, timeout))

    return stop


def _drain(server: Any, timeout: float, log: logging.Logger) -> None:
    """Let in-flight requests finish (up to ``timeout``); pending ones are cancelled."""
    try:
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=max(0.1, timeout))
    except Exception as exc:  # pragma: no cover
        log.warning("Cierre de los hilos de waitress incompleto: %s", exc)


def _close_db(db: DatabaseClient) -> None:
    try:
        db.close_all()
    except Exception:  # noqa: S110 - closing at exit; nothing else to do
        pass


if __name__ == "__main__":
    sys.exit(main())
