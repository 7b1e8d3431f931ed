"""Callback server (BEHAVIOUR L4): receives A360's completion callbacks.

A plain WSGI application (:class:`CallbackApp`) served by waitress:

- ``POST CALLBACK_ENDPOINT_PATH`` [/api/callback]: a JSON object with string ``deploymentId`` and
  ``status``; token in ``X-Authorization`` compared in constant time (401 and nothing written when
  missing or wrong, unless ``CALLBACK_AUTH_MODE=none``); body over ``CALLBACK_MAX_BODY_BYTES`` → 413;
  recorded in ``CallbacksRecibidos`` and applied monotonically by ``DeploymentId`` (200 applied or
  no-op, 202 when the execution does not have that ``DeploymentId`` yet: the launcher applies it
  when it records it); database unreachable → 503 (A360 may redeliver).
- ``GET /health``: 200 when the database answers, 503 otherwise.
- other paths 404, other methods 405. Every response is JSON ``{"estado": ..., "mensaje": ...}``
  in Spanish. Bad input never produces a 5xx and never stops the server.

Status values longer than the ``Estado`` column (NVARCHAR(50)) or ``deploymentId`` values longer
than ``DeploymentId`` (NVARCHAR(100)), counted in UTF-16 units as SQL Server does, are refused
with 400 (they could not be stored verbatim);
anything within the column sizes is accepted, classified per A360_API §4 (unrecognised = active,
logged once per value) and stored upper-cased.

Run as ``python lanzador/service/callback_server.py`` (from any directory) or
``python -m lanzador.service.callback_server``; SIGINT, SIGTERM and SIGBREAK stop it cleanly (exit 0).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # started as a script: make ``import common`` work from any cwd
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import hmac  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from contextlib import nullcontext  # noqa: E402
from typing import Any  # noqa: E402

from common.clock import Clock  # noqa: E402
from common.database import ejecuciones  # noqa: E402
from common.database.sql_client import DatabaseClient, DatabaseError  # noqa: E402
from common.execution_states import is_known, is_terminal, normalize  # noqa: E402

logger = logging.getLogger("sam.callback")

HEALTH_PATH = "/health"
_JSON_HEADERS = [("Content-Type", "application/json; charset=utf-8")]
_READ_CHUNK = 64 * 1024
_MAX_LOGGED_UNKNOWN = 1000

_REASONS = {
    200: "200 OK",
    202: "202 Accepted",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Payload Too Large",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}


class _Reply(Exception):
    """Internal: stop processing and answer with this status and body."""

    def __init__(self, status: int, estado: str, mensaje: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(mensaje)
        self.status = status
        self.estado = estado
        self.mensaje = mensaje
        self.headers = headers or []


class CallbackApp:
    """The WSGI application. Thread-safe; one instance per process."""

    def __init__(
        self,
        db: DatabaseClient,
        *,
        token: str | None,
        auth_mode: str = "required",
        endpoint_path: str = "/api/callback",
        max_body_bytes: int = 1048576,
        clock: Clock | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.db = db
        self.auth_mode = (auth_mode or "required").strip().lower()
        if self.auth_mode not in ("required", "none"):
            raise ValueError(f"CALLBACK_AUTH_MODE desconocido: {auth_mode!r}")
        if self.auth_mode == "required" and not token:
            raise ValueError("CALLBACK_TOKEN es obligatorio cuando CALLBACK_AUTH_MODE=required")
        self._token = (token or "").encode("utf-8")
        self.endpoint_path = endpoint_path.rstrip("/") or "/"
        self.max_body_bytes = int(max_body_bytes)
        self.clock = clock or Clock()
        self.log = log or logger
        self._unknown_seen: set[str] = set()
        self._unknown_lock = threading.Lock()
        # SQLite has one writer at a time; its busy handler sleeps (1 ms .. 100 ms) when writers
        # collide. Serialising this process' writes in Python avoids those sleeps (tail latency).
        self._write_lock = threading.Lock() if db.engine == "sqlite" else nullcontext()

    @classmethod
    def from_config(cls, cfg: Any, db: DatabaseClient, *, clock: Clock | None = None) -> CallbackApp:
        return cls(
            db,
            token=cfg.CALLBACK_TOKEN,
            auth_mode=cfg.CALLBACK_AUTH_MODE,
            endpoint_path=cfg.CALLBACK_ENDPOINT_PATH,
            max_body_bytes=cfg.CALLBACK_MAX_BODY_BYTES,
            clock=clock or Clock(cfg.SAM_ZONA_HORARIA or None),
        )

    # ------------------------------------------------------------------ WSGI entry point

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            status, estado, mensaje, headers = self._dispatch(environ)
        except _Reply as reply:
            status, estado, mensaje, headers = reply.status, reply.estado, reply.mensaje, reply.headers
        except Exception:  # never let anything escape to waitress
            self.log.exception("Error inesperado al atender %s %s", environ.get("REQUEST_METHOD"),
                               environ.get("PATH_INFO"))
            status, estado, mensaje, headers = 500, "error", "Error interno del servidor de callbacks.", []
        body = json.dumps({"estado": estado, "mensaje": mensaje}, ensure_ascii=False).encode("utf-8")
        start_response(
            _REASONS.get(status, f"{status} Error"),
            _JSON_HEADERS + [("Content-Length", str(len(body)))] + headers,
        )
        return [body]

    def _dispatch(self, environ: dict) -> tuple[int, str, str, list[tuple[str, str]]]:
        path = environ.get("PATH_INFO") or "/"
        method = (environ.get("REQUEST_METHOD") or "").upper()
        norm = path.rstrip("/") or "/"
        if norm == self.endpoint_path:
            if method != "POST":
                raise _Reply(405, "error", "Método no permitido: use POST.", [("Allow", "POST")])
            return self._callback(environ)
        if norm == HEALTH_PATH:
            if method not in ("GET", "HEAD"):
                raise _Reply(405, "error", "Método no permitido: use GET.", [("Allow", "GET, HEAD")])
            return self._health()
        raise _Reply(404, "error", "Ruta no encontrada.")

    # ------------------------------------------------------------------ GET /health

    def _health(self) -> tuple[int, str, str, list]:
        try:
            ok = bool(self.db.ping())
        except Exception:
            ok = False
        if ok:
            return 200, "ok", "Servidor de callbacks operativo; base de datos accesible.", []
        return 503, "error", "Base de datos no accesible.", []

    # ------------------------------------------------------------------ POST callback

    def _check_auth(self, environ: dict) -> None:
        if self.auth_mode == "none":
            return
        raw = environ.get("HTTP_X_AUTHORIZATION")
        if raw is None:
            self.log.warning("Callback rechazado: falta la cabecera X-Authorization (origen %s)",
                             environ.get("REMOTE_ADDR"))
            raise _Reply(401, "no_autorizado", "Falta la cabecera X-Authorization.")
        # WSGI header values are latin-1 decoded bytes; compare the raw bytes in constant time.
        try:
            given = raw.encode("latin-1")
        except UnicodeEncodeError:
            given = raw.encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(given.strip(), self._token):
            self.log.warning("Callback rechazado: token X-Authorization incorrecto (origen %s)",
                             environ.get("REMOTE_ADDR"))
            raise _Reply(401, "no_autorizado", "Token X-Authorization incorrecto.")

    def _read_body(self, environ: dict) -> bytes:
        too_big = _Reply(413, "error", f"El cuerpo supera el máximo permitido ({self.max_body_bytes} bytes).")
        length_text = (environ.get("CONTENT_LENGTH") or "").strip()
        length: int | None = None
        if length_text:
            if not length_text.isdigit():
                raise _Reply(400, "error", "Cabecera Content-Length no válida.")
            length = int(length_text)
            if length > self.max_body_bytes:
                raise too_big
        stream = environ.get("wsgi.input")
        if stream is None:
            return b""
        limit = self.max_body_bytes + 1 if length is None else length
        chunks: list[bytes] = []
        got = 0
        while got < limit:
            chunk = stream.read(min(_READ_CHUNK, limit - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > self.max_body_bytes:
            raise too_big
        return b"".join(chunks)

    def _parse(self, body: bytes) -> tuple[str, str, str]:
        try:
            text = body.decode("utf-8")
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise _Reply(400, "error", "El cuerpo no es JSON válido (UTF-8).") from None
        if not isinstance(data, dict):
            raise _Reply(400, "error", "El cuerpo debe ser un objeto JSON.")
        dep, status = data.get("deploymentId"), data.get("status")
        if not isinstance(dep, str) or not dep.strip():
            raise _Reply(400, "error", "Falta 'deploymentId' o no es un texto.")
        if not isinstance(status, str) or not status.strip():
            raise _Reply(400, "error", "Falta 'status' o no es un texto.")
        for name, value in (("deploymentId", dep), ("status", status)):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _Reply(400, "error", f"'{name}' contiene caracteres no válidos.") from None
        if ejecuciones.db_length(dep) > ejecuciones.MAX_DEPLOYMENT_ID:
            raise _Reply(400, "error", f"'deploymentId' supera {ejecuciones.MAX_DEPLOYMENT_ID} caracteres.")
        estado = normalize(status)
        if ejecuciones.db_length(estado) > ejecuciones.MAX_ESTADO:
            raise _Reply(400, "error", f"'status' supera {ejecuciones.MAX_ESTADO} caracteres.")
        return dep, estado, text

    def _note_unrecognised(self, estado: str) -> None:
        if is_known(estado):
            return
        with self._unknown_lock:
            if estado in self._unknown_seen or len(self._unknown_seen) >= _MAX_LOGGED_UNKNOWN:
                return
            self._unknown_seen.add(estado)
        self.log.warning("Estado de callback no reconocido %r: se trata como activo", estado)

    def _callback(self, environ: dict) -> tuple[int, str, str, list]:
        self._check_auth(environ)
        body = self._read_body(environ)
        dep, estado, text = self._parse(body)
        self._note_unrecognised(estado)
        now = self.clock.now_local()
        try:
            with self._write_lock:
                result = ejecuciones.record_callback(self.db, dep, estado, text, now)
        except DatabaseError as exc:
            self.log.error("Callback de %s (%s) no registrado: base de datos no disponible: %s", dep, estado, exc)
            raise _Reply(503, "error", "Base de datos no disponible; reintente más tarde.") from None
        if result == ejecuciones.RESULT_NO_ENCONTRADO:
            self.log.info("Callback de %s (%s) guardado como pendiente: la ejecución aún no tiene ese "
                          "DeploymentId", dep, estado)
            return 202, "pendiente", ("Callback recibido; la ejecución aún no está registrada y se "
                                      "aplicará cuando el lanzador la registre."), []
        if result == ejecuciones.RESULT_APLICADO:
            self.log.info("Callback aplicado: %s -> %s%s", dep, estado, " (final)" if is_terminal(estado) else "")
            return 200, "aplicado", f"Estado {estado} aplicado a la ejecución.", []
        if result == ejecuciones.RESULT_DUPLICADO:
            self.log.info("Callback duplicado de %s (%s): sin cambios", dep, estado)
            return 200, "duplicado", f"La ejecución ya estaba en el estado {estado}; sin cambios.", []
        self.log.info("Callback de %s (%s) ignorado: la ejecución ya está en un estado final", dep, estado)
        return 200, "ignorado", "La ejecución ya está en un estado final; el callback no la modifica.", []


# ---------------------------------------------------------------------- process entry point


def build_server(app: CallbackApp, cfg: Any, *, host: str | None = None, port: int | None = None):
    """A waitress server (not yet running) for ``app`` per the settings."""
    from waitress import create_server

    max_body = int(cfg.CALLBACK_MAX_BODY_BYTES)
    return create_server(
        app,
        host=host if host is not None else cfg.CALLBACK_SERVER_HOST,
        port=int(port if port is not None else cfg.CALLBACK_SERVER_PORT),
        threads=int(cfg.CALLBACK_SERVER_THREADS),
        # Bodies a little over the limit reach the app (JSON 413); huge ones are cut by waitress.
        max_request_body_size=max(4 * max_body, 8 * 1024 * 1024),
        ident="SAM-callback",
        clear_untrusted_proxy_headers=True,
    )


class _StopServer(SystemExit):
    """Raised in the main thread by the signal handler; waitress' run() catches SystemExit."""


def _install_signal_handlers(log: logging.Logger) -> dict[int, Any]:
    previous: dict[int, Any] = {}

    def handler(signum: int, _frame: Any) -> None:
        log.info("Señal %s recibida: deteniendo el servidor de callbacks", signum)
        raise _StopServer(0)

    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            previous[sig] = signal.signal(sig, handler)
        except (OSError, ValueError):  # pragma: no cover - not in the main thread / unsupported
            pass
    return previous


def main(argv: list[str] | None = None) -> int:
    from common.database.schema import ensure_schema
    from common.utils.config_manager import load_config_or_exit
    from common.utils.logging_setup import setup_logging

    cfg = load_config_or_exit("callback")
    setup_logging(cfg, "callback")
    log = logger
    clock = Clock(cfg.SAM_ZONA_HORARIA or None)
    db = DatabaseClient.from_config(cfg, "SAM")
    log.info("Servidor de callbacks iniciando; base de datos SAM: %s", db.describe())
    if str(cfg.CALLBACK_AUTH_MODE).lower() == "none":
        log.warning("CALLBACK_AUTH_MODE=none: se aceptan callbacks SIN autenticar. Configure "
                    "CALLBACK_AUTH_MODE=required y CALLBACK_TOKEN en producción.")
    try:
        ensure_schema(db)
    except Exception as exc:  # the server still starts; /health reports 503 until the DB answers
        log.error("No se pudo comprobar el esquema de la base de datos SAM: %s", exc)
    app = CallbackApp.from_config(cfg, db, clock=clock)
    previous = _install_signal_handlers(log)
    server = None
    try:
        server = build_server(app, cfg)
        log.info("Servidor de callbacks escuchando en http://%s:%s%s (hilos: %s)", cfg.CALLBACK_SERVER_HOST,
                 getattr(server, "effective_port", cfg.CALLBACK_SERVER_PORT), app.endpoint_path,
                 cfg.CALLBACK_SERVER_THREADS)
        server.run()
    except _StopServer:
        pass
    except OSError as exc:
        log.error("No se pudo abrir el puerto %s:%s: %s", cfg.CALLBACK_SERVER_HOST, cfg.CALLBACK_SERVER_PORT, exc)
        return 1
    finally:
        for sig, old in previous.items():
            try:
                signal.signal(sig, old)
            except (OSError, ValueError, TypeError):  # pragma: no cover
                pass
        if server is not None:
            _close_server(server, float(cfg.LANZADOR_SHUTDOWN_TIMEOUT_SEG), log)
        try:
            db.close_all()
        except Exception:  # noqa: S110 - closing at exit; nothing else to do
            pass
    log.info("Servidor de callbacks detenido")
    return 0


def _close_server(server: Any, timeout: float, log: logging.Logger) -> None:
    """Let in-flight requests finish (up to ``timeout``), then close every socket."""
    try:
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=max(0.1, timeout))
    except Exception as exc:  # pragma: no cover
        log.warning("Cierre de los hilos de waitress incompleto: %s", exc)
    try:
        from waitress import wasyncore

        socket_map = getattr(server, "_map", None)
        if socket_map is None:
            socket_map = getattr(server, "map", None)  # MultiSocketServer (several listen addresses)
        server.close()
        if socket_map is not None:
            wasyncore.close_all(socket_map)
    except Exception as exc:  # pragma: no cover
        log.debug("Cierre de sockets: %s", exc)


if __name__ == "__main__":
    sys.exit(main())
