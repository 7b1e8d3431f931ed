"""The console process (CONSOLE §1): settings, log ``sam_consola.log``, schema check, the Flask app
on waitress, heartbeat row ``Servicio = 'consola'`` (H5) and an orderly stop on the shared runner.

Exit codes: 0 after a stop signal; 2 for bad settings (one Spanish line per problem); 1 when the
port cannot be opened or on an unexpected error (one Spanish line on stderr).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from common import latido
from common.cli import salir_con_error
from common.clock import Clock
from common.database.sql_client import DatabaseClient
from common.service_runner import ServiceRunner
from common.utils.config_manager import ajuste
from common.wsgi_server import ThreadedServer

log = logging.getLogger("sam.consola")


def construir_servidor(app: Any, cfg: Any, *, host: str | None = None, port: int | None = None):
    """A waitress server (not yet running) for the console ``app``."""
    from waitress import create_server

    from consola.app import MAX_CUERPO

    return create_server(
        app,
        host=host if host is not None else ajuste(cfg, "CONSOLA_HOST"),
        port=int(port if port is not None else ajuste(cfg, "CONSOLA_PUERTO")),
        threads=int(ajuste(cfg, "CONSOLA_HILOS")),
        max_request_body_size=2 * MAX_CUERPO,
        ident="SAM-consola",
    )


def ejecutar() -> int:
    from common.utils.config_manager import load_config_or_exit
    from common.utils.logging_setup import setup_logging
    from consola.app import crear_app
    from consola.ldap_auth import AutenticadorLdap

    cfg = load_config_or_exit("consola")
    setup_logging(cfg, "consola")
    clock = Clock(ajuste(cfg, "SAM_ZONA_HORARIA") or None)
    db = DatabaseClient.from_config(cfg, "SAM")
    _preparar(cfg, db)
    app = crear_app(cfg, db, clock=clock, ldap=AutenticadorLdap.desde_config(cfg))
    host, puerto = ajuste(cfg, "CONSOLA_HOST"), ajuste(cfg, "CONSOLA_PUERTO")
    try:
        server = construir_servidor(app, cfg)
    except OSError as exc:
        log.error("No se pudo abrir el puerto %s:%s: %s", host, puerto, exc)
        _cerrar_bd(db)
        return salir_con_error("Consola", f"no se pudo abrir el puerto {host}:{puerto} ({exc}); compruebe "
                               "que ningún otro proceso lo usa o cambie CONSOLA_HOST/CONSOLA_PUERTO.")
    timeout = float(ajuste(cfg, "LANZADOR_SHUTDOWN_TIMEOUT_SEG"))
    runner = ServiceRunner("consola", logger=log, shutdown_timeout=timeout)
    latido.instalar(runner, db, "consola", cfg, clock=clock)
    runner.add_shutdown_hook(_servir(server, timeout))
    runner.add_shutdown_hook(lambda: _cerrar_bd(db))
    log.info("Consola SAM escuchando en http://%s:%s (hilos: %s)", host,
             getattr(server, "effective_port", puerto), ajuste(cfg, "CONSOLA_HILOS"))
    rc = runner.run()
    log.info("Consola SAM detenida")
    return rc


def _preparar(cfg: Any, db: DatabaseClient) -> None:
    from common.database.schema import ensure_schema
    from common.version import __version__

    ldap = ajuste(cfg, "CONSOLA_LDAP_URL")
    log.info("SAM Consola versión %s iniciando; base de datos SAM: %s; cookie segura: %s; LDAP: %s", __version__,
             db.describe(), "sí" if ajuste(cfg, "CONSOLA_COOKIE_SEGURA") else "no", ldap or "no")
    if not ajuste(cfg, "CONSOLA_COOKIE_SEGURA"):
        log.warning("CONSOLA_COOKIE_SEGURA=false: la cookie de sesión también viaja sin HTTPS. Póngalo en true "
                    "cuando la consola se publique por HTTPS (p. ej. detrás de IIS).")
    try:
        ensure_schema(db)
    except Exception as exc:
        log.error("No se pudo comprobar el esquema de la base de datos SAM: %s", exc)


def _servir(server: Any, timeout: float):
    """Serve ``server`` from a thread; return the shutdown hook that stops it."""
    if not hasattr(server, "trigger"):  # several listen addresses: waitress' MultiSocketServer
        threading.Thread(target=server.run, name="consola-http", daemon=True).start()
        return lambda: _drenar(server, timeout)
    servido = ThreadedServer(server=server, name="consola-http")

    def parar() -> None:
        _drenar(server, timeout)
        servido.close(timeout=max(0.1, timeout))

    return parar


def _drenar(server: Any, timeout: float) -> None:
    try:
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=max(0.1, timeout))
    except Exception as exc:  # pragma: no cover
        log.warning("Cierre de los hilos de waitress incompleto: %s", exc)


def _cerrar_bd(db: DatabaseClient) -> None:
    try:
        db.close_all()
    except Exception:  # noqa: S110 - closing at exit; nothing else to do
        pass
