"""Callback service (BEHAVIOUR L4): the WSGI app that receives A360's completion callbacks.

- ``POST CALLBACK_ENDPOINT_PATH`` [/api/callback]: a JSON object with string ``deploymentId`` and
  ``status``; token in ``X-Authorization`` compared in constant time (401 and nothing written when
  missing or wrong, unless ``CALLBACK_AUTH_MODE=none``); body over ``CALLBACK_MAX_BODY_BYTES`` → 413;
  recorded in ``CallbacksRecibidos`` and applied monotonically by ``DeploymentId`` (200 applied or
  no-op, 202 when the execution does not have that ``DeploymentId`` yet: the launcher applies it
  when it records it); database unreachable → 503 (A360 may redeliver). A callback whose execution
  row the database refuses (:func:`es_error_de_fila`: constraint, truncation, conversion, a
  trigger) is never a 503 — redelivering cannot help —: it is stored in ``CallbacksRecibidos`` as
  settled and answered 200 ``no_aplicado`` (the Conciliador brings the row in line from A360), or
  422 when the database refuses even that record.
- ``GET /health``: 200 when the database answers, 503 otherwise; the body names the version and the
  age in seconds of this process' heartbeat row (``latido_edad_seg``, H5; null without one).
- other paths 404, other methods 405. Every response is JSON ``{"estado": ..., "mensaje": ...}``
  in Spanish. Bad input never produces a 5xx and never stops the server.

Status values longer than the ``Estado`` column (NVARCHAR(50)) or ``deploymentId`` values longer
than ``DeploymentId`` (NVARCHAR(100)), counted in UTF-16 units as SQL Server does, are refused
with 400 (they could not be stored verbatim); anything within the column sizes is accepted,
classified per A360_API §4 (unrecognised = active, logged once per value) and stored upper-cased.

What a request means is decided by :func:`interpretar`, a pure function of (method, path, headers,
body, settings): an accepted callback (:class:`CallbackAceptado`), a refusal (:class:`Rechazo`) or
a health query (:class:`ConsultaSalud`). :class:`CallbackApp` is the shell around it: it reads the
request, records accepted callbacks and answers. :func:`build_server` serves it on waitress.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from common import metricas
from common.clock import Clock
from common.database import ejecuciones
from common.database.sentencias import sql
from common.database.sql_client import DatabaseClient, DatabaseError, es_error_de_fila
from common.execution_states import is_known, is_terminal, normalize
from common.version import __version__

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
    422: "422 Unprocessable Entity",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}

# ---------------------------------------------------------------------- the pure decision


@dataclass(frozen=True)
class AjustesCallback:
    """The settings :func:`interpretar` needs, validated and normalised once."""

    token: str | None = field(repr=False)
    auth_mode: str = "required"
    endpoint_path: str = "/api/callback"
    max_body_bytes: int = 1048576
    token_bytes: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        mode = (self.auth_mode or "required").strip().lower()
        if mode not in ("required", "none"):
            raise ValueError(f"CALLBACK_AUTH_MODE desconocido: {self.auth_mode!r}")
        if mode == "required" and not self.token:
            raise ValueError("CALLBACK_TOKEN es obligatorio cuando CALLBACK_AUTH_MODE=required")
        object.__setattr__(self, "auth_mode", mode)
        object.__setattr__(self, "endpoint_path", self.endpoint_path.rstrip("/") or "/")
        object.__setattr__(self, "max_body_bytes", int(self.max_body_bytes))
        object.__setattr__(self, "token_bytes", (self.token or "").encode("utf-8"))


@dataclass(frozen=True)
class CallbackAceptado:
    """A callback to record: ``estado`` is normalised, ``payload`` is the body as received."""

    deployment_id: str
    estado: str
    payload: str


@dataclass(frozen=True)
class Rechazo:
    """A refusal: HTTP status and the Spanish JSON body; ``aviso`` is a WARNING for the log."""

    status: int
    estado: str
    mensaje: str
    headers: tuple[tuple[str, str], ...] = ()
    aviso: str | None = None

    @property
    def cuerpo(self) -> dict[str, str]:
        return {"estado": self.estado, "mensaje": self.mensaje}


@dataclass(frozen=True)
class ConsultaSalud:
    """``GET``/``HEAD /health``: the answer depends on the database, so the shell gives it."""


Decision = CallbackAceptado | Rechazo | ConsultaSalud
_SALUD = ConsultaSalud()


def interpretar(metodo: str, ruta: str, cabeceras: Mapping[str, str], cuerpo: bytes,
                ajustes: AjustesCallback) -> Decision:
    """What a request means; no I/O. ``cabeceras`` are keyed by lower-case header name.

    ``cuerpo`` is the body as read by the caller: at most ``max_body_bytes + 1`` bytes (more means
    too big), or nothing when ``content-length`` already announces too much.
    """
    norm = (ruta or "/").rstrip("/") or "/"
    metodo = (metodo or "").upper()
    if norm == ajustes.endpoint_path:
        if metodo != "POST":
            return Rechazo(405, "error", "Método no permitido: use POST.", (("Allow", "POST"),))
        return _interpretar_callback(cabeceras, cuerpo, ajustes)
    if norm == HEALTH_PATH:
        if metodo not in ("GET", "HEAD"):
            return Rechazo(405, "error", "Método no permitido: use GET.", (("Allow", "GET, HEAD"),))
        return _SALUD
    return Rechazo(404, "error", "Ruta no encontrada.")


def _interpretar_callback(cabeceras: Mapping[str, str], cuerpo: bytes,
                          ajustes: AjustesCallback) -> CallbackAceptado | Rechazo:
    rechazo = _comprobar_token(cabeceras.get("x-authorization"), ajustes)
    if rechazo is None:
        rechazo = _comprobar_tamano(cabeceras.get("content-length"), len(cuerpo), ajustes.max_body_bytes)
    if rechazo is not None:
        return rechazo
    return _leer_callback(cuerpo)


def _comprobar_token(raw: str | None, ajustes: AjustesCallback) -> Rechazo | None:
    if ajustes.auth_mode == "none":
        return None
    if raw is None:
        return Rechazo(401, "no_autorizado", "Falta la cabecera X-Authorization.",
                       aviso="Callback rechazado: falta la cabecera X-Authorization")
    # WSGI header values are latin-1 decoded bytes; compare the raw bytes in constant time.
    try:
        given = raw.encode("latin-1")
    except UnicodeEncodeError:
        given = raw.encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(given.strip(), ajustes.token_bytes):
        return Rechazo(401, "no_autorizado", "Token X-Authorization incorrecto.",
                       aviso="Callback rechazado: token X-Authorization incorrecto")
    return None


def _comprobar_tamano(content_length: str | None, leidos: int, maximo: int) -> Rechazo | None:
    too_big = Rechazo(413, "error", f"El cuerpo supera el máximo permitido ({maximo} bytes).")
    length_text = (content_length or "").strip()
    if length_text:
        if not length_text.isdigit():
            return Rechazo(400, "error", "Cabecera Content-Length no válida.")
        if int(length_text) > maximo:
            return too_big
    if leidos > maximo:
        return too_big
    return None


def _leer_callback(cuerpo: bytes) -> CallbackAceptado | Rechazo:
    try:
        text = cuerpo.decode("utf-8")
        data = json.loads(text)
    except (ValueError, RecursionError):
        return Rechazo(400, "error", "El cuerpo no es JSON válido (UTF-8).")
    if not isinstance(data, dict):
        return Rechazo(400, "error", "El cuerpo debe ser un objeto JSON.")
    dep, status = data.get("deploymentId"), data.get("status")
    if not isinstance(dep, str) or not dep.strip():
        return Rechazo(400, "error", "Falta 'deploymentId' o no es un texto.")
    if not isinstance(status, str) or not status.strip():
        return Rechazo(400, "error", "Falta 'status' o no es un texto.")
    for name, value in (("deploymentId", dep), ("status", status)):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return Rechazo(400, "error", f"'{name}' contiene caracteres no válidos.")
    if ejecuciones.db_length(dep) > ejecuciones.MAX_DEPLOYMENT_ID:
        return Rechazo(400, "error", f"'deploymentId' supera {ejecuciones.MAX_DEPLOYMENT_ID} caracteres.")
    estado = normalize(status)
    if ejecuciones.db_length(estado) > ejecuciones.MAX_ESTADO:
        return Rechazo(400, "error", f"'status' supera {ejecuciones.MAX_ESTADO} caracteres.")
    return CallbackAceptado(dep, estado, text)


def respuesta_registro(resultado: str, dep: str, estado: str) -> tuple[int, str, str]:
    """The (HTTP status, estado, mensaje) answering a callback that ``record_callback`` took."""
    if resultado == ejecuciones.RESULT_NO_ENCONTRADO:
        return 202, "pendiente", ("Callback recibido; la ejecución aún no está registrada y se "
                                  "aplicará cuando el lanzador la registre.")
    if resultado == ejecuciones.RESULT_APLICADO:
        return 200, "aplicado", f"Estado {estado} aplicado a la ejecución."
    if resultado == ejecuciones.RESULT_DUPLICADO:
        return 200, "duplicado", f"La ejecución ya estaba en el estado {estado}; sin cambios."
    return 200, "ignorado", "La ejecución ya está en un estado final; el callback no la modifica."


# ---------------------------------------------------------------------- reading a WSGI request


def cabeceras_wsgi(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request headers of a WSGI environ, keyed by lower-case header name."""
    cabeceras = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_LENGTH", "HTTP_CONTENT_TYPE")
    }
    for key in ("CONTENT_LENGTH", "CONTENT_TYPE"):
        if key in environ:
            cabeceras[key.replace("_", "-").lower()] = environ[key]
    return cabeceras


def _limite_lectura(content_length: str | None, maximo: int) -> int:
    """How much of the body to read: what Content-Length announces, up to ``maximo + 1``."""
    text = (content_length or "").strip()
    if not text:
        return maximo + 1
    try:
        length = int(text) if text.isdigit() else -1
    except ValueError:
        length = -1
    return length if 0 <= length <= maximo else 0  # 0: refused on the header alone


def leer_cuerpo(environ: Mapping[str, Any], maximo: int) -> bytes:
    """The request body, never more than ``maximo + 1`` bytes (so "too big" is visible)."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    limit = _limite_lectura(environ.get("CONTENT_LENGTH"), maximo)
    chunks: list[bytes] = []
    got = 0
    while got < limit:
        chunk = stream.read(min(_READ_CHUNK, limit - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------------- the WSGI shell


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
        self.ajustes = AjustesCallback(token, auth_mode, endpoint_path, max_body_bytes)
        self.clock = clock or Clock()
        self.log = log or logger
        self._unknown_seen: set[str] = set()
        self._unknown_lock = threading.Lock()
        #: This process' heartbeat (:class:`common.latido.Latido`): ``/health`` reports its row's age.
        self.latido: Any = None
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

    @property
    def auth_mode(self) -> str:
        return self.ajustes.auth_mode

    @property
    def endpoint_path(self) -> str:
        return self.ajustes.endpoint_path

    @property
    def max_body_bytes(self) -> int:
        return self.ajustes.max_body_bytes

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            status, estado, mensaje, headers, *extra = self._atender(environ)
        except Exception:  # never let anything escape to waitress
            self.log.exception("Error inesperado al atender %s %s", environ.get("REQUEST_METHOD"),
                               environ.get("PATH_INFO"))
            status, estado, mensaje, headers = 500, "error", "Error interno del servidor de callbacks.", []
            extra = []
        if (environ.get("PATH_INFO") or "/").rstrip("/") == self.ajustes.endpoint_path:
            metricas.callback(status)  # M1
        cuerpo = {"estado": estado, "mensaje": mensaje, **(extra[0] if extra else {})}
        body = json.dumps(cuerpo, ensure_ascii=False).encode("utf-8")
        start_response(
            _REASONS.get(status, f"{status} Error"),
            _JSON_HEADERS + [("Content-Length", str(len(body)))] + headers,
        )
        return [body]

    def _atender(self, environ: dict) -> tuple:
        """``(status, estado, mensaje, headers)``, plus a dict of extra body fields for ``/health``."""
        decision = interpretar(
            environ.get("REQUEST_METHOD") or "",
            environ.get("PATH_INFO") or "/",
            cabeceras_wsgi(environ),
            leer_cuerpo(environ, self.ajustes.max_body_bytes),
            self.ajustes,
        )
        if isinstance(decision, Rechazo):
            if decision.aviso:
                self.log.warning("%s (origen %s)", decision.aviso, environ.get("REMOTE_ADDR"))
            return decision.status, decision.estado, decision.mensaje, list(decision.headers)
        if isinstance(decision, ConsultaSalud):
            return self._health()
        return self._registrar(decision)

    def _health(self) -> tuple[int, str, str, list, dict]:
        """The health answer; its body also carries the running version of SAM (``"version"``)."""
        try:
            ok = bool(self.db.ping())
        except Exception:
            ok = False
        extra = {"version": __version__, "latido_edad_seg": self._edad_latido() if ok else None}
        if ok:
            return 200, "ok", "Servidor de callbacks operativo; base de datos accesible.", [], extra
        return 503, "error", "Base de datos no accesible.", [], extra

    def _edad_latido(self) -> float | None:
        """Age (s) of this process' EstadoServicios row (H5); None without heartbeat or row."""
        if self.latido is None:
            return None
        try:
            return self.latido.edad_segundos()
        except Exception:  # noqa: BLE001 - /health answers whatever the heartbeat's state
            return None

    def _note_unrecognised(self, estado: str) -> None:
        if is_known(estado):
            return
        with self._unknown_lock:
            if estado in self._unknown_seen or len(self._unknown_seen) >= _MAX_LOGGED_UNKNOWN:
                return
            self._unknown_seen.add(estado)
        self.log.warning("Estado de callback no reconocido %r: se trata como activo", estado)

    def _registrar(self, cb: CallbackAceptado) -> tuple[int, str, str, list]:
        dep, estado = cb.deployment_id, cb.estado
        self._note_unrecognised(estado)
        now = self.clock.now_local()
        try:
            with self._write_lock:
                result = ejecuciones.record_callback(self.db, dep, estado, cb.payload, now)
        except DatabaseError as exc:
            if es_error_de_fila(exc):
                return self._fila_rechazada(cb, now, exc)
            self.log.error("Callback de %s (%s) no registrado: base de datos no disponible: %s", dep, estado, exc)
            return 503, "error", "Base de datos no disponible; reintente más tarde.", []
        if result == ejecuciones.RESULT_NO_ENCONTRADO:
            self.log.info("Callback de %s (%s) guardado como pendiente: la ejecución aún no tiene ese "
                          "DeploymentId", dep, estado)
        elif result == ejecuciones.RESULT_APLICADO:
            metricas.cierres("callback", int(is_terminal(estado)))  # M1
            self.log.info("Callback aplicado: %s -> %s%s", dep, estado, " (final)" if is_terminal(estado) else "")
        elif result == ejecuciones.RESULT_DUPLICADO:
            self.log.info("Callback duplicado de %s (%s): sin cambios", dep, estado)
        else:
            self.log.info("Callback de %s (%s) ignorado: la ejecución ya está en un estado final", dep, estado)
        return (*respuesta_registro(result, dep, estado), [])


    def _fila_rechazada(self, cb: CallbackAceptado, now: Any, exc: DatabaseError) -> tuple[int, str, str, list]:
        """The database refuses this callback's execution row: store the callback alone, as settled
        (``Aplicado = 1``: the Conciliador's safety net must not retry it every round; the row is
        brought in line from A360's activity list once it accepts writes). Never a 503."""
        dep, estado = cb.deployment_id, cb.estado
        try:
            with self._write_lock:
                self.db.execute(sql(self.db, "ejecuciones.insertar_callback"), (dep, now, estado, cb.payload, 1))
        except DatabaseError as exc_registro:
            if not es_error_de_fila(exc_registro):
                self.log.error("Callback de %s (%s) no registrado: base de datos no disponible: %s", dep, estado,
                               exc_registro)
                return 503, "error", "Base de datos no disponible; reintente más tarde.", []
            self.log.error("Callback de %s (%s) rechazado por la base de datos, ni siquiera se puede guardar: "
                           "%s; no se aplica (reenviarlo no cambiaría nada)", dep, estado, exc_registro)
            return 422, "rechazado", ("La base de datos SAM rechaza este callback; reenviarlo no cambiaría "
                                      "nada."), []
        self.log.error("Callback de %s (%s) guardado pero no aplicado: la base de datos rechaza actualizar su "
                       "ejecución: %s", dep, estado, exc)
        return 200, "no_aplicado", ("Callback recibido y guardado, pero la base de datos SAM rechaza "
                                    "actualizar la ejecución; la conciliación la corregirá desde A360."), []


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
