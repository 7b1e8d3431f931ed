"""Automation Anywhere A360 Control Room client (see ``A360_API.md`` §1-§7).

Every failure leaves this module as :class:`A360Error`; list methods never return a partial
result. The client is thread-safe: one login at a time (single-flight), a shared
``requests.Session`` with its own retries disabled (the retry policy lives here, §6).

Secrets (password, API key, token, callback header values) never appear in log lines,
exception messages or ``repr``; at DEBUG a token is identified by the first 8 hex digits of
its SHA-256.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

from common import metricas

__all__ = [
    "A360Error",
    "Activity",
    "AutomationAnywhereClient",
    "Device",
    "Taskbot",
    "User",
    "classify_http_error",
    "decode_jwt_exp",
    "parse_a360_datetime",
]

log = logging.getLogger("sam.lanzador.aa_client")

# --- endpoints (§2) ---------------------------------------------------------------------------
PATH_LOGIN = "/v2/authentication"
PATH_LOGOUT = "/v1/authentication/logout"
PATH_DEVICES = "/v2/devices/list"
PATH_USERS = "/v2/usermanagement/users/list"
PATH_FILES = "/v2/repository/workspaces/public/files/list"
PATH_DEPLOY = "/v3/automations/deploy"
PATH_ACTIVITY = "/v3/activity/list"

TASKBOT_TYPE = "application/vnd.aa.taskbot"

KIND_TRANSPORT = "transport"
KIND_HTTP = "http"
KIND_AUTH = "auth"
KIND_PROTOCOL = "protocol"
KIND_INPUT = "input"
KIND_PAGINATION = "pagination"

RETRY_AFTER_CAP_S = 60.0
RETRY_WAITS_S = (1.0, 2.0)          # idempotent calls: up to 2 more attempts (§6)
RETRY_JITTER = 0.20
EXP_MARGIN_S = 60.0                 # renew when less than this remains before the JWT ``exp`` (§5)
LOGOUT_TIMEOUT_S = 5.0
MESSAGE_CUT = 300

# Error codes with a specific meaning (§2, §6). Row 6 of §6 reads the message only when the code is
# not one of these: generic codes (BAD_REQUEST, HTTP_400, ...) say nothing about the cause.
KNOWN_CODES = frozenset({
    "UM1117", "NOT_FOUND", "INVALID_ARGUMENT", "NO_DEFAULT_DEVICE", "NO_COMPATIBLE_TARGETS",
    "DEVICE_NOT_CONNECTED", "DEVICE_BUSY", "SESSION_START_FAILED",
})
_KNOWN_CODE_PREFIXES = ("INVALID_ARGUMENT", "AUTH_")


# --- errors ----------------------------------------------------------------------------------
class A360Error(Exception):
    """Every failure of the client (§6). ``message`` is Spanish and free of secrets."""

    def __init__(self, kind: str, message: str, *, status_code: int | None = None,
                 code: str | None = None, retriable: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.code = code
        self.retriable = retriable
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (f"A360Error(kind={self.kind!r}, status_code={self.status_code!r}, code={self.code!r}, "
                f"retriable={self.retriable!r}, message={self.message!r})")


def _is_recognised_code(code: str | None) -> bool:
    if not code:
        return False
    return code in KNOWN_CODES or code.startswith(_KNOWN_CODE_PREFIXES)


def classify_http_error(status: int, code: str | None, message: str | None, *,
                        login: bool = False) -> tuple[str, bool]:
    """(kind, retriable) for a non-2xx answer, first matching row of the §6 table.

    Row 1 (transport) and row 8 (protocol/input) are decided elsewhere; a 401 that reaches this
    function outside login is the one after the re-login (row 2).
    """
    text = (message or "").lower()
    if status in (401, 403) and login:
        return KIND_AUTH, False                                     # row 2
    if status == 401:
        return KIND_AUTH, False                                     # row 2 (after re-login)
    if status == 429:
        return KIND_HTTP, True                                      # row 3
    if 500 <= status <= 599:
        return KIND_HTTP, True                                      # row 4
    if status == 412:
        if code == "NO_COMPATIBLE_TARGETS" or "no_compatible_targets" in text \
                or "no compatible targets" in text:
            return KIND_HTTP, False                                 # row 5
        return KIND_HTTP, True                                      # row 5b
    if status == 400 and (code == "DEVICE_BUSY"
                          or (not _is_recognised_code(code) and "device is busy" in text)):
        return KIND_HTTP, True                                      # row 6
    if 400 <= status <= 499:
        return KIND_HTTP, False                                     # row 7
    return KIND_PROTOCOL, False                                     # 1xx/3xx: not an A360 answer


def _parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_S)


# --- small helpers ---------------------------------------------------------------------------
def _fingerprint(secret: str | None) -> str:
    if not secret:
        return "-"
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:8]


def decode_jwt_exp(token: str | None) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying the signature; None if undecodable."""
    if not token or not isinstance(token, str):
        return None
    parts = token.split(".")
    if len(parts) < 2:
        return None
    payload = parts[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        if isinstance(exp, str):
            try:
                exp = float(exp)
            except ValueError:
                return None
        else:
            return None
    exp = float(exp)
    if math.isnan(exp) or math.isinf(exp):
        return None
    return exp


_ISO_RE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2}|[+-]\d{2})?\s*$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_a360_datetime(value: Any) -> datetime | None:
    """Tolerant ISO-8601 parser: ``Z`` or offsets, 0-9+ fractional digits; aware UTC result.

    The epoch (``1970-01-01T00:00:00Z``) means "not set" and gives None, as do empty and
    unparsable values. A value without an offset is taken as UTC.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    m = _ISO_RE.match(value)
    if not m:
        return None
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    frac = m.group(7) or ""
    micro = int((frac + "000000")[:6]) if frac else 0
    tz = m.group(8)
    try:
        if tz in (None, "Z", "z"):
            tzinfo = timezone.utc
        else:
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            hours = int(digits[:2])
            mins = int(digits[2:4] or 0)
            tzinfo = timezone(sign * timedelta(hours=hours, minutes=mins))
        dt = datetime(year, month, day, hour, minute, second, micro, tzinfo=tzinfo)
    except ValueError:
        return None
    dt = dt.astimezone(timezone.utc)
    if dt == _EPOCH:
        return None
    return dt


def _to_int(value: Any) -> int | None:
    """Numeric id from a number or numeric string; None when absent or not numeric."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        s = value.strip()
        if re.fullmatch(r"[+-]?\d+", s):
            return int(s)
    return None


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value)
    return s if s != "" else None


# --- records ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Device:
    id: int
    host_name: str
    status: str
    default_users: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class User:
    id: int
    username: str
    disabled: bool
    license_features: tuple[str, ...]


@dataclass(frozen=True)
class Taskbot:
    id: int
    name: str
    path: str
    description: str | None


@dataclass(frozen=True)
class Activity:
    deployment_id: str
    status: str
    start_utc: datetime | None
    end_utc: datetime | None
    device_id: int | None
    user_id: int | None
    file_id: int | None
    message: str | None


# --- call observer -----------------------------------------------------------------------------
def _observada(metodo: Callable[..., Any]) -> Callable[..., Any]:
    """Report each finished HTTP call to ``self.observador(path, error_or_None)`` when one is set
    (the Lanzador's A360 outage watch, BEHAVIOUR M2). An observer's failure never reaches the caller."""

    def envoltura(self: AutomationAnywhereClient, path: str, *args: Any, **kwargs: Any) -> Any:
        try:
            resultado = metodo(self, path, *args, **kwargs)
        except A360Error as exc:
            self._avisar_observador(path, exc)
            raise
        self._avisar_observador(path, None)
        return resultado

    envoltura.__name__, envoltura.__doc__ = metodo.__name__, metodo.__doc__
    return envoltura


# --- the client ------------------------------------------------------------------------------
class AutomationAnywhereClient:
    """Thread-safe client of the A360 Control Room REST API."""

    def __init__(self, base_url: str, username: str, *, password: str | None = None,
                 api_key: str | None = None, timeout: float = 60.0, verify_ssl: bool = True,
                 token_refresh_buffer_s: float = 1140, page_size: int = 100, max_pages: int = 1000,
                 session: requests.Session | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, path_filter: str | None = None,
                 name_regex: str | re.Pattern | None = None) -> None:
        if not base_url or not str(base_url).strip():
            raise ValueError("AA_URL vacío: falta la URL del Control Room")
        if not username:
            raise ValueError("AA_USER vacío: falta el usuario del Control Room")
        if not password and not api_key:
            raise ValueError("Falta AA_PWD o AA_API_KEY para iniciar sesión en el Control Room")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 500:
            raise ValueError(f"API_DEFAULT_PAGE_SIZE debe estar entre 1 y 500 (es {page_size!r})")
        if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1:
            raise ValueError(f"API_MAX_PAGINATION_PAGES debe ser >= 1 (es {max_pages!r})")
        if not timeout or timeout <= 0:
            raise ValueError(f"AA_API_TIMEOUT_SECONDS debe ser > 0 (es {timeout!r})")
        self.base_url = str(base_url).strip().rstrip("/")
        self.username = username
        self._password = password or None
        self._api_key = api_key or None
        self.timeout = float(timeout)
        self.verify_ssl = bool(verify_ssl)
        self.token_refresh_buffer_s = float(token_refresh_buffer_s)
        self.page_size = page_size
        self.max_pages = max_pages
        self._clock = clock
        self._sleep = sleep
        self._random = random.Random()
        self.path_filter = (path_filter or "").strip() or None
        if isinstance(name_regex, str):
            name_regex = re.compile(name_regex) if name_regex.strip() else None
        self.name_regex: re.Pattern | None = name_regex
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=32)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self._session = session
        if not self.verify_ssl:
            # Deliberate operator choice (AA_VERIFY_SSL=false): say it once, not on every request.
            log.warning("AA_VERIFY_SSL=false: no se verifica el certificado TLS del Control Room %s",
                        self.base_url)
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._token_issued: float = 0.0
        self._token_exp: float | None = None
        self._login_generation = 0
        self._login_failure: A360Error | None = None
        self._counter_lock = threading.Lock()
        self.api_calls = 0
        self.logins = 0

    # -- construction from settings -----------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: Any, **overrides: Any) -> AutomationAnywhereClient:
        """Build from a ``common.utils.config_manager.Config`` (AA_* and API_* settings; a missing one
        takes the setting's declared default)."""
        from common.utils.config_manager import ajuste

        def get(name: str, _default: Any = None) -> Any:
            return ajuste(cfg, name)

        name_regex = get("AA_ROBOTS_FILTRO_NOMBRE", "")
        if isinstance(name_regex, re.Pattern) and not name_regex.pattern:
            name_regex = None
        kwargs: dict[str, Any] = dict(
            password=get("AA_PWD", "") or None,
            api_key=get("AA_API_KEY", "") or None,
            timeout=float(get("AA_API_TIMEOUT_SECONDS", 60)),
            verify_ssl=bool(get("AA_VERIFY_SSL", True)),
            token_refresh_buffer_s=float(get("AA_TOKEN_REFRESH_BUFFER_SEC", 1140)),
            page_size=int(get("API_DEFAULT_PAGE_SIZE", 100)),
            max_pages=int(get("API_MAX_PAGINATION_PAGES", 1000)),
            path_filter=get("AA_ROBOTS_FILTRO_RUTA", "") or None,
            name_regex=name_regex or None,
        )
        kwargs.update(overrides)
        return cls(get("AA_URL", ""), get("AA_USER", ""), **kwargs)

    def __repr__(self) -> str:
        auth = "api_key" if self._api_key else "password"
        return f"AutomationAnywhereClient(base_url={self.base_url!r}, username={self.username!r}, auth={auth})"

    __str__ = __repr__

    # -- secrets ------------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        """Remove any known secret from a text that came from outside (A360 message, exception)."""
        for secret in (self._password, self._api_key, self._token):
            if secret and len(secret) >= 4 and secret in text:
                text = text.replace(secret, "***")
        return text

    #: Called with (path, A360Error or None) after every HTTP call (set by the Lanzador, M2).
    observador: Callable[[str, A360Error | None], None] | None = None

    def _avisar_observador(self, path: str, exc: A360Error | None) -> None:
        if self.observador is None:
            return
        try:
            self.observador(path, exc)
        except Exception:  # noqa: BLE001 - observing never breaks a call
            log.debug("El observador de llamadas A360 falló", exc_info=True)

    # -- token management (§5) ----------------------------------------------------------------
    def _needs_renewal(self, now: float) -> bool:
        if self._token is None:
            return True
        if now - self._token_issued >= self.token_refresh_buffer_s:
            return True
        return self._token_exp is not None and self._token_exp - now < EXP_MARGIN_S

    def _current_token(self) -> str:
        """A valid token, logging in when needed; one login at a time (single-flight)."""
        generation = self._login_generation
        with self._token_lock:
            if self._login_generation != generation and self._login_failure is not None:
                # A login finished (and failed) while this thread waited: share its result.
                raise self._copy_error(self._login_failure)
            if not self._needs_renewal(self._clock()):
                return self._token  # type: ignore[return-value]
            if self._token is not None:
                log.debug("Token A360 próximo a caducar (sha256:%s); se renueva con un nuevo login",
                          _fingerprint(self._token))
            self._token = None
            try:
                token = self._login()
            except A360Error as exc:
                self._login_failure = exc
                self._login_generation += 1
                raise
            self._login_failure = None
            self._login_generation += 1
            self._token = token
            self._token_issued = self._clock()
            self._token_exp = decode_jwt_exp(token)
            return token

    @staticmethod
    def _copy_error(exc: A360Error) -> A360Error:
        return A360Error(exc.kind, exc.message, status_code=exc.status_code, code=exc.code,
                         retriable=exc.retriable, retry_after=exc.retry_after)

    def _discard_token(self, failed_token: str) -> None:
        with self._token_lock:
            if self._token == failed_token:
                log.info("A360 rechazó el token vigente (401); se descarta y se inicia sesión de nuevo")
                self._token = None

    def _login(self) -> str:
        body: dict[str, Any] = {"username": self.username}
        if self._api_key:
            body["apiKey"] = self._api_key
            mode = "API key"
        else:
            body["password"] = self._password
            body["multipleLogin"] = True
            mode = "contraseña"
        data = self._http(PATH_LOGIN, body, token=None, timeout=(self.timeout, self.timeout), login=True)
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise A360Error(KIND_PROTOCOL, f"A360 POST {PATH_LOGIN}: respuesta 2xx sin 'token'")
        with self._counter_lock:
            self.logins += 1
        exp = decode_jwt_exp(token)
        log.info("Sesión iniciada en A360 como %s (%s)", self.username, mode)
        log.debug("Token A360 sha256:%s, exp=%s", _fingerprint(token),
                  "desconocido" if exp is None else datetime.fromtimestamp(exp, timezone.utc).isoformat())
        return token

    # -- HTTP ---------------------------------------------------------------------------------
    @_observada
    def _http(self, path: str, body: dict, *, token: str | None, timeout: tuple[float, float],
              login: bool = False, expect_json: bool = True) -> Any:
        """One HTTP call; returns the decoded JSON (or None). Raises classified ``A360Error``."""
        url = self.base_url + path
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token is not None:
            headers["X-Authorization"] = token
        try:
            payload = json.dumps(body)
        except (TypeError, ValueError) as exc:
            raise A360Error(KIND_INPUT, f"A360 POST {path}: el cuerpo no se puede serializar a JSON "
                            f"({type(exc).__name__})") from None
        with self._counter_lock:
            self.api_calls += 1
        started = time.monotonic()
        try:
            resp = metricas.llamada_a360(path, self._session.post, url, data=payload, headers=headers,  # M1
                                         timeout=timeout, verify=self.verify_ssl, allow_redirects=False)
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema, requests.exceptions.URLRequired) as exc:
            raise A360Error(KIND_TRANSPORT, f"A360 POST {path}: URL no válida ({type(exc).__name__}); "
                            "revise AA_URL", retriable=False) from None
        except requests.exceptions.RequestException as exc:
            what = _describe_transport(exc)
            detail = self._scrub(str(exc))[:MESSAGE_CUT]
            raise A360Error(KIND_TRANSPORT, f"A360 POST {path}: {what} ({type(exc).__name__}: {detail})",
                            retriable=True) from None
        elapsed_ms = (time.monotonic() - started) * 1000
        status = resp.status_code
        log.debug("A360 POST %s -> %s (%.0f ms)", path, status, elapsed_ms)
        if 200 <= status <= 299:
            if not expect_json:
                return None
            try:
                data = json.loads(resp.content)          # bytes: UTF-8/16/32 detected by json
            except (ValueError, UnicodeDecodeError):
                ctype = resp.headers.get("Content-Type", "?")
                raise A360Error(KIND_PROTOCOL, f"A360 POST {path}: HTTP {status} sin JSON válido "
                                f"(Content-Type {ctype})", status_code=status) from None
            if not isinstance(data, dict):
                raise A360Error(KIND_PROTOCOL, f"A360 POST {path}: HTTP {status} con JSON que no es "
                                "un objeto", status_code=status)
            return data
        code, a360_message = _error_body(resp)
        kind, retriable = classify_http_error(status, code, a360_message, login=login)
        retry_after = _parse_retry_after(resp.headers.get("Retry-After"))
        text = f"A360 POST {path} respondió HTTP {status}"
        if code:
            text += f" (código {self._scrub(code)[:100]})"
        if a360_message:
            text += ": " + self._scrub(a360_message)[:MESSAGE_CUT]
        elif code is None:
            text += " (respuesta sin cuerpo de error JSON)"
        raise A360Error(kind, text, status_code=status, code=code, retriable=retriable,
                        retry_after=retry_after)

    def _authed(self, path: str, body: dict, *, timeout: tuple[float, float] | None = None,
                expect_json: bool = True) -> Any:
        """A call with ``X-Authorization``; on a 401, one re-login and one retry (§5)."""
        timeout = timeout or (self.timeout, self.timeout)
        token = self._current_token()
        try:
            return self._http(path, body, token=token, timeout=timeout, expect_json=expect_json)
        except A360Error as exc:
            if exc.status_code != 401:
                raise
            log.debug("A360 POST %s: 401 con el token sha256:%s", path, _fingerprint(token))
            self._discard_token(token)
        token = self._current_token()
        try:
            return self._http(path, body, token=token, timeout=timeout, expect_json=expect_json)
        except A360Error as exc:
            if exc.status_code == 401:
                raise A360Error(KIND_AUTH, exc.message + " (de nuevo tras renovar la sesión)",
                                status_code=401, code=exc.code, retriable=False) from None
            raise

    def _idempotent(self, path: str, body: dict, *, timeout: tuple[float, float] | None = None,
                    expect_json: bool = True) -> Any:
        """An idempotent call: retriable errors are retried up to 2 more times (§6)."""
        attempt = 0
        while True:
            try:
                return self._authed(path, body, timeout=timeout, expect_json=expect_json)
            except A360Error as exc:
                if not exc.retriable or attempt >= len(RETRY_WAITS_S):
                    raise
                if exc.retry_after is not None:
                    wait = min(exc.retry_after, RETRY_AFTER_CAP_S)
                else:
                    wait = RETRY_WAITS_S[attempt] * (1 + self._random.uniform(0, RETRY_JITTER))
                attempt += 1
                log.warning("%s; reintento %d de %d en %.1f s", exc.message, attempt,
                            len(RETRY_WAITS_S), wait)
                self._sleep(wait)

    # -- pagination (§7) ----------------------------------------------------------------------
    def _paginate(self, path: str, *, filter_: dict | None, sort: list[dict],
                  stop: Callable[[list[dict]], bool] | None = None) -> list[dict]:
        """Every matching row (all pages), or an error; ``stop(page_rows)`` True ends the read
        after that page (the caller has every row it wants: used by :meth:`activity_by_device`)."""
        rows: list[dict] = []
        seen: set[str] = set()
        offset = 0
        pages = 0
        while True:
            body: dict[str, Any] = {}
            if filter_:
                body["filter"] = filter_
            body["sort"] = sort
            body["page"] = {"offset": offset, "length": self.page_size}
            data = self._idempotent(path, body)
            pages += 1
            page_rows = data.get("list")
            if not isinstance(page_rows, list):       # missing or not a list: never read as "no rows"
                raise A360Error(KIND_PROTOCOL, f"A360 POST {path}: respuesta sin 'list' válida "
                                f"(página {pages})", status_code=200)
            if not page_rows:
                break
            for row in page_rows:
                if not isinstance(row, dict):
                    raise A360Error(KIND_PROTOCOL, f"A360 POST {path}: fila que no es un objeto "
                                    f"(página {pages})", status_code=200)
                rid = row.get("id")
                if rid is not None:
                    key = str(rid)
                    if key in seen:
                        continue
                    seen.add(key)
                rows.append(row)
            offset += len(page_rows)
            if stop is not None and stop(page_rows):
                break
            expected = _expected_count(data.get("page"), has_filter=bool(filter_),
                                       page_nonempty=True)
            if expected is not None and offset >= expected:
                break
            if pages >= self.max_pages:
                raise A360Error(KIND_PAGINATION, f"A360 POST {path}: se alcanzó el límite de "
                                f"API_MAX_PAGINATION_PAGES={self.max_pages} páginas con filas pendientes "
                                f"({offset} leídas de {expected if expected is not None else 'desconocido'});"
                                " no se usa un resultado parcial", retriable=False)
        log.debug("A360 POST %s: %d filas en %d páginas", path, len(rows), pages)
        return rows

    def _paginate_batches(self, path: str, field: str, values: Iterable[Any],
                          sort: list[dict]) -> list[dict]:
        """``or`` of ``eq field`` in batches of <= page size, each paginated; all or nothing."""
        unique: list[str] = []
        seen: set[str] = set()
        for value in values:
            text = str(value)
            if text not in seen:
                seen.add(text)
                unique.append(text)
        rows: list[dict] = []
        for start in range(0, len(unique), self.page_size):
            batch = unique[start:start + self.page_size]
            filter_ = {"operator": "or",
                       "operands": [{"operator": "eq", "field": field, "value": v} for v in batch]}
            rows.extend(self._paginate(path, filter_=filter_, sort=sort))
        return rows

    # -- public API ---------------------------------------------------------------------------
    def list_devices(self) -> list[Device]:
        """Every device (no filter: disconnected ones too) with its default users."""
        rows = self._paginate(PATH_DEVICES, filter_=None,
                              sort=[{"field": "hostName", "direction": "asc"}])
        devices: list[Device] = []
        for row in rows:
            device_id = _to_int(row.get("id"))
            if device_id is None:
                raise _missing(PATH_DEVICES, "id")
            users: list[tuple[int, str]] = []
            for du in row.get("defaultUsers") or []:
                if not isinstance(du, dict):
                    continue
                uid = _to_int(du.get("id"))
                if uid is None:
                    continue
                users.append((uid, str(du.get("username") or "")))
            devices.append(Device(id=device_id, host_name=str(row.get("hostName") or ""),
                                  status=str(row.get("status") or ""), default_users=tuple(users)))
        return devices

    def list_users(self, ids: Iterable[int]) -> list[User]:
        """The users with these ids (batches of <= page size; deleted users are not listed)."""
        rows = self._paginate_batches(PATH_USERS, "id", [int(i) for i in ids],
                                      sort=[{"field": "username", "direction": "asc"}])
        users: list[User] = []
        seen: set[int] = set()
        for row in rows:
            user_id = _to_int(row.get("id"))
            if user_id is None:
                raise _missing(PATH_USERS, "id")
            if user_id in seen:
                continue
            seen.add(user_id)
            features = row.get("licenseFeatures")
            if features is None:
                features = []
            elif isinstance(features, str):
                features = [features]
            elif not isinstance(features, list):
                features = []
            users.append(User(id=user_id, username=str(row.get("username") or ""),
                              disabled=bool(row.get("disabled") or False),
                              license_features=tuple(str(f) for f in features if f is not None)))
        return users

    def list_taskbots(self) -> list[Taskbot]:
        """Every taskbot, then filtered locally by path substring and name regex."""
        rows = self._paginate(PATH_FILES,
                              filter_={"operator": "eq", "field": "type", "value": TASKBOT_TYPE},
                              sort=[{"field": "name", "direction": "asc"}])
        bots: list[Taskbot] = []
        path_filter = self.path_filter.lower() if self.path_filter else None
        for row in rows:
            if row.get("type") is not None and row.get("type") != TASKBOT_TYPE:
                continue
            file_id = _to_int(row.get("id"))
            if file_id is None:
                raise _missing(PATH_FILES, "id")
            name = str(row.get("name") or "")
            path = str(row.get("path") or "")
            if path_filter and path_filter not in path.lower():
                continue
            if self.name_regex is not None and not self.name_regex.search(name):
                continue
            description = row.get("description")
            bots.append(Taskbot(id=file_id, name=name, path=path,
                                description=None if description is None else str(description)))
        return bots

    def deploy(self, file_id: int, run_as_user_id: int, bot_input: dict, callback_url: str,
               callback_headers: dict[str, str] | None = None) -> str:
        """Start a bot; returns the ``deploymentId``. Never retried here except after a 401."""
        callback_info: dict[str, Any] = {"url": callback_url}
        if callback_headers:
            callback_info["headers"] = dict(callback_headers)
        body = {"fileId": int(file_id), "runAsUserIds": [int(run_as_user_id)],
                "botInput": bot_input or {}, "callbackInfo": callback_info}
        log.info("Deploy A360: fileId=%s runAsUserIds=%s botInput=%s callback=%s cabeceras=%s",
                 body["fileId"], body["runAsUserIds"], sorted((bot_input or {}).keys()), callback_url,
                 sorted((callback_headers or {}).keys()))
        data = self._authed(PATH_DEPLOY, body)
        deployment_id = data.get("deploymentId")
        if not isinstance(deployment_id, (str, int)) or isinstance(deployment_id, bool) \
                or str(deployment_id) == "":
            raise A360Error(KIND_PROTOCOL, f"A360 POST {PATH_DEPLOY}: respuesta 2xx sin 'deploymentId'",
                            status_code=200)
        log.info("Deploy A360 aceptado: fileId=%s runAsUserIds=%s deploymentId=%s",
                 body["fileId"], body["runAsUserIds"], deployment_id)
        return str(deployment_id)

    def activity_by_deployment_ids(self, ids: Iterable[str]) -> dict[str, Activity]:
        """Activity rows by deploymentId (ids not in A360 are absent); the newest start wins."""
        rows = self._paginate_batches(PATH_ACTIVITY, "deploymentId", [str(i) for i in ids],
                                      sort=[{"field": "startDateTime", "direction": "desc"}])
        result: dict[str, Activity] = {}
        for row in rows:
            act = _activity(row)
            if act is None:
                continue
            prev = result.get(act.deployment_id)
            if prev is None or _newer(act, prev):
                result[act.deployment_id] = act
        return result

    def activity_by_device(self, device_id: int, since_utc: datetime) -> list[Activity]:
        """Activity rows of a device that may have been deployed since ``since_utc`` (L5.5).

        Kept: rows that started at or after ``since_utc``, and rows with no start time yet (a
        ``DEPLOYED``/``QUEUED`` deployment waiting for its device) unless they ended before it.
        One row per deploymentId (the newest start wins); not-started rows first, then newest first.

        A device's history only grows, so the rows are read newest first (``startDateTime desc``)
        and the read stops after the first page whose dated rows all started before ``since_utc``.
        Rows without a start time may sort anywhere (a CR that reports the epoch puts them last),
        so after such an early stop the other end is read too (``asc``), up to the first page that
        holds a dated row. Any failed page fails the whole call (never a partial list).
        """
        if since_utc.tzinfo is None:
            since_utc = since_utc.replace(tzinfo=timezone.utc)
        filter_ = {"operator": "eq", "field": "deviceId", "value": str(int(device_id))}
        stopped_early = False

        def older_page(page_rows: list[dict]) -> bool:
            nonlocal stopped_early
            starts = [parse_a360_datetime(r.get("startDateTime")) for r in page_rows]
            dated = [s for s in starts if s is not None]
            stopped_early = bool(dated) and all(s < since_utc for s in dated)
            return stopped_early

        def has_dated_row(page_rows: list[dict]) -> bool:
            return any(parse_a360_datetime(r.get("startDateTime")) is not None for r in page_rows)

        rows = self._paginate(PATH_ACTIVITY, filter_=filter_,
                              sort=[{"field": "startDateTime", "direction": "desc"}], stop=older_page)
        if stopped_early:
            rows += self._paginate(PATH_ACTIVITY, filter_=filter_,
                                   sort=[{"field": "startDateTime", "direction": "asc"}], stop=has_dated_row)
        found: dict[str, Activity] = {}
        for row in rows:
            act = _activity(row)
            if act is None:
                continue
            if act.start_utc is not None:
                if act.start_utc < since_utc:
                    continue
            elif act.end_utc is not None and act.end_utc < since_utc:
                continue
            prev = found.get(act.deployment_id)
            if prev is None or _newer(act, prev):
                found[act.deployment_id] = act
        return sorted(found.values(), key=lambda a: (a.start_utc is None, a.start_utc or since_utc),
                      reverse=True)

    def logout(self) -> None:
        """End the session (5 s timeout); errors are logged at DEBUG and ignored."""
        with self._token_lock:
            token = self._token
            self._token = None
        if token is None:
            return
        body = {"token": token}
        attempt = 0
        while True:
            try:
                self._http(PATH_LOGOUT, body, token=token, timeout=(LOGOUT_TIMEOUT_S, LOGOUT_TIMEOUT_S),
                           expect_json=False)
                log.debug("Sesión A360 cerrada (token sha256:%s)", _fingerprint(token))
                return
            except A360Error as exc:
                if not exc.retriable or attempt >= len(RETRY_WAITS_S):
                    log.debug("Logout A360 ignorado: %s", exc.message)
                    return
                wait = exc.retry_after if exc.retry_after is not None else \
                    RETRY_WAITS_S[attempt] * (1 + self._random.uniform(0, RETRY_JITTER))
                attempt += 1
                log.debug("Logout A360: %s; reintento %d en %.1f s", exc.message, attempt, wait)
                self._sleep(min(wait, RETRY_AFTER_CAP_S))
            except Exception as exc:  # never raise at shutdown
                log.debug("Logout A360 ignorado: %s", type(exc).__name__)
                return

    def close(self) -> None:
        """Log out and close the HTTP session."""
        self.logout()
        try:
            self._session.close()
        except Exception:  # pragma: no cover - closing never matters
            pass


# --- module helpers --------------------------------------------------------------------------
def _describe_transport(exc: BaseException) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "tiempo de conexión agotado"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "tiempo de lectura agotado"
    if isinstance(exc, requests.exceptions.SSLError):
        return "error TLS/SSL"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "error de conexión (rechazada, reiniciada o DNS)"
    return "error de transporte"


def _error_body(resp: requests.Response) -> tuple[str | None, str | None]:
    """(code, message) of an error answer; (None, None) for HTML, empty or non-JSON bodies."""
    try:
        data = json.loads(resp.content) if resp.content else None
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    code = data.get("code")
    code = None if code is None or code == "" else str(code)
    message = data.get("message")
    if message is None or message == "":
        message = data.get("details")
    message = None if message is None or message == "" else str(message)
    return code, message


def _expected_count(page: Any, *, has_filter: bool, page_nonempty: bool) -> int | None:
    if not isinstance(page, dict):
        return None

    def valid(value: Any) -> int | None:
        if isinstance(value, bool):
            return None
        n = _to_int(value)
        if n is None or n < 0:
            return None
        if n == 0 and page_nonempty:
            return None
        return n

    total_filter = valid(page.get("totalFilter"))
    if total_filter is not None:
        return total_filter
    if not has_filter:
        return valid(page.get("total"))
    return None


def _missing(path: str, field: str) -> A360Error:
    return A360Error(KIND_PROTOCOL, f"A360 POST {path}: fila sin '{field}' válido", status_code=200)


def _activity(row: dict) -> Activity | None:
    deployment_id = row.get("deploymentId")
    if deployment_id is None or str(deployment_id) == "":
        return None
    return Activity(
        deployment_id=str(deployment_id),
        status=str(row.get("status") or "").upper(),
        start_utc=parse_a360_datetime(row.get("startDateTime")),
        end_utc=parse_a360_datetime(row.get("endDateTime")),
        device_id=_to_int(row.get("deviceId")),
        user_id=_to_int(row.get("userId")),
        file_id=_to_int(row.get("fileId")),
        message=_str_or_none(row.get("message")),
    )


def _newer(a: Activity, b: Activity) -> bool:
    if a.start_utc is None:
        return False
    if b.start_utc is None:
        return True
    return a.start_utc > b.start_utc
