"""WSGI application: the A360 endpoints plus the ``/__sim/`` test routes (A360_API §8.2, §8.4)."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from .errors import ApiError
from .faults import Reply, draw_fault, draw_latency, match_rule, rule_reply
from .handlers import DEPLOY_PATH, ROUTES, Call
from .state import KINDS

if TYPE_CHECKING:
    from .simulator import ControlRoomSimulator

log = logging.getLogger("sam.demo.simulator")
_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
            412: "Precondition Failed", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def _headers(environ: dict) -> dict[str, str]:
    out = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out["-".join(p.capitalize() for p in key[5:].split("_"))] = value
    if environ.get("CONTENT_TYPE"):
        out["Content-Type"] = environ["CONTENT_TYPE"]
    return out


def _read_body(environ: dict) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _parse_json(raw: bytes, *, allow_any: bool = False) -> object:
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "BAD_REQUEST", "BAD_REQUEST: el cuerpo no es JSON válido") from None
    if not allow_any and not isinstance(data, dict):
        raise ApiError(400, "BAD_REQUEST", "BAD_REQUEST: el cuerpo debe ser un objeto JSON")
    return data


def _summary(body: object) -> object:
    """Response kept in the request log: list answers keep only their page (memory), others whole."""
    if isinstance(body, dict) and isinstance(body.get("list"), list):
        return {"page": body.get("page"), "rows": len(body["list"])}
    return body


class SimApp:
    def __init__(self, sim: ControlRoomSimulator) -> None:
        self.sim = sim

    def __call__(self, environ: dict, start_response):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        logged: list[dict] = []  # the request-log entry, once _a360 has written it
        try:
            if path == "/__sim" or path.startswith("/__sim/"):
                reply = self._admin(method, path, environ)
            else:
                reply = self._a360(method, path, environ, logged)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body(), exc.headers)
        except Exception:
            log.exception("Error interno del simulador atendiendo %s %s", method, path)
            reply = Reply(500, {"code": "INTERNAL_SERVER_ERROR", "details": None,
                                "message": "INTERNAL_SERVER_ERROR: error interno del simulador"})
        # Errors raised by a handler (failed login, 401 from the token check, refused deploy...)
        # are logged with their status and body too, not only the successful answers.
        for entry in logged:
            with self.sim.lock:
                entry["status"] = reply.status
                entry["response"] = _summary(reply.body)
            log.info("%s %s -> %s", method, path, reply.status)
        return self._send(reply, start_response)

    @staticmethod
    def _send(reply: Reply, start_response):
        headers = dict(reply.headers)
        if reply.status == 204 or reply.body is None:
            payload = b""
        else:
            payload = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers["Content-Length"] = str(len(payload))
        start_response(f"{reply.status} {_REASONS.get(reply.status, 'Status')}", list(headers.items()))
        return [payload]

    # -- A360 ----------------------------------------------------------------------------------
    def _a360(self, method: str, path: str, environ: dict, logged: list[dict]) -> Reply:
        sim = self.sim
        route = ROUTES.get(path)
        if route is None:
            raise ApiError(404, "NOT_FOUND", f"NOT_FOUND: ruta desconocida {path}")
        if method != "POST":
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"METHOD_NOT_ALLOWED: {path} solo admite POST",
                           headers={"Allow": "POST"})
        handler, needs_auth = route
        headers = _headers(environ)
        raw = _read_body(environ)
        entry, n = sim.log_request(method, path, headers, raw)
        logged.append(entry)
        body = _parse_json(raw)
        entry["body"] = body
        delay = draw_latency(sim, path, n)
        if delay > 0:
            time.sleep(delay)
        fault = draw_fault(sim, path, n)
        if fault is not None:
            return self._hold(fault)
        sim.catch_up()
        call = Call(path, body, headers)
        if needs_auth:
            with sim.lock:
                call.token = sim.tokens.check(headers.get("X-Authorization"), sim.clock.now(), sim.store)
        if path != DEPLOY_PATH:
            with sim.lock:
                rule = match_rule(sim, path, {"userId": call.token.user_id if call.token else None,
                                              "username": body.get("username")})
            if rule is not None:
                error = rule_reply(sim, rule)
                if error is not None:
                    return self._hold(error)
                time.sleep(float(rule.get("hold_s") or 0))
        return self._hold(handler(sim, call))

    @staticmethod
    def _hold(reply: Reply) -> Reply:
        if reply.hold_s > 0:
            time.sleep(reply.hold_s)
        return reply

    # -- /__sim --------------------------------------------------------------------------------
    def _admin(self, method: str, path: str, environ: dict) -> Reply:
        sim = self.sim
        parts = [p for p in path.split("/") if p][1:]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        raw = _read_body(environ)
        name = parts[0] if parts else ""
        allowed = _ADMIN_METHODS.get(name)
        if allowed is None or len(parts) > 2:
            raise ApiError(404, "NOT_FOUND", f"NOT_FOUND: ruta de simulador desconocida {path}")
        if method not in allowed:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"METHOD_NOT_ALLOWED: {path} admite {', '.join(allowed)}",
                           headers={"Allow": ", ".join(allowed)})
        body = _parse_json(raw)
        try:
            return self._admin_dispatch(sim, method, name, parts[1] if len(parts) > 1 else None, body, query)
        except KeyError as exc:
            raise ApiError(404, "NOT_FOUND", f"NOT_FOUND: no existe {exc.args[0] if exc.args else path}") from None
        except (ValueError, TypeError) as exc:
            raise ApiError(400, "BAD_REQUEST", f"BAD_REQUEST: {exc}") from None

    @staticmethod
    def _admin_dispatch(sim: ControlRoomSimulator, method: str, name: str, item: str | None,
                        body: dict, query: dict) -> Reply:
        if name == "health":
            return Reply(200, {"ok": True, "now": sim.now_iso()})
        if name == "state":
            if method == "PUT":
                sim.load_state(body)
            return Reply(200, sim.state())
        if name == "config":
            if method == "PATCH":
                sim.configure(**body)
            return Reply(200, sim.knobs_copy())
        if name in KINDS:
            if method == "POST" and item is None:
                return Reply(201, sim.add(name, body))
            if item is None:
                if method == "GET":
                    return Reply(200, sim.state()[name])
                raise ApiError(405, "METHOD_NOT_ALLOWED", "METHOD_NOT_ALLOWED: indique el id")
            if method == "PATCH":
                return Reply(200, sim.update(name, item, **body))
            if method == "DELETE":
                sim.remove(name, item)
                return Reply(204, None)
            raise ApiError(405, "METHOD_NOT_ALLOWED", "METHOD_NOT_ALLOWED")
        if name == "requests":
            return Reply(200, sim.requests((query.get("path") or [None])[0]))
        if name == "deploys":
            if item is None:
                return Reply(200, sim.deploys())
            found = sim.deployment(item)
            if found is None:
                raise KeyError(f"despliegue {item}")
            return Reply(200, found)
        if name == "callbacks":
            return Reply(200, sim.callbacks())
        if name == "advance":
            sim.advance(float(body.get("seconds", body.get("s", 0))))
            return Reply(200, {"now": sim.now_iso()})
        if name == "wait-idle":
            return Reply(200, {"idle": sim.wait_idle(float(body.get("timeout", 10)))})
        if name == "reset":
            sim.reset()
            return Reply(200, {"ok": True})
        raise KeyError(name)


_ADMIN_METHODS = {
    "health": ("GET",), "state": ("GET", "PUT"), "config": ("GET", "PATCH"),
    "users": ("GET", "POST", "PATCH", "DELETE"), "devices": ("GET", "POST", "PATCH", "DELETE"),
    "files": ("GET", "POST", "PATCH", "DELETE"), "requests": ("GET",), "deploys": ("GET",),
    "callbacks": ("GET",), "advance": ("POST",), "wait-idle": ("POST",), "reset": ("POST",),
}
