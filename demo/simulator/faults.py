"""Injected latency, random faults (``fault_rates``) and scripted ``rules`` (A360_API §8.3)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .rng import draw_span, stream

if TYPE_CHECKING:
    from .simulator import ControlRoomSimulator

DEFAULT_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                 405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 412: "PRECONDITION_FAILED",
                 429: "TOO_MANY_REQUESTS", 500: "INTERNAL_SERVER_ERROR", 502: "BAD_GATEWAY",
                 503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT"}


@dataclass
class Reply:
    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    hold_s: float = 0.0


def error_reply(status: int, code: str | None, message: str | None, *, hold_s: float = 0.0,
                retry_after: float | None = None) -> Reply:
    code = code or DEFAULT_CODES.get(status, f"HTTP_{status}")
    headers = {}
    if status == 429 and retry_after is not None:
        headers["Retry-After"] = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
    return Reply(status, {"code": code, "details": None, "message": message or f"{code}: error simulado"},
                 headers, hold_s)


def _per_path(spec: object, path: str) -> object:
    if isinstance(spec, dict) and not ({"5xx", "429", "timeout"} & set(spec)):
        if path in spec:
            return spec[path]
        return spec.get("*", 0)
    return spec


def draw_latency(sim: ControlRoomSimulator, path: str, n: int) -> float:
    spec = _per_path(sim.knobs["latency_s"], path)
    return draw_span(stream(sim.knobs["seed"], "latency", f"{path}:{n}"), spec)


def draw_fault(sim: ControlRoomSimulator, path: str, n: int) -> Reply | None:
    """The random fault of the n-th call to ``path``, if any (drawn from its own stream)."""
    knobs = sim.knobs
    table = knobs["fault_rates"] or {}
    if {"5xx", "429", "timeout"} & set(table):
        rates = dict(table)
    else:
        rates = {**(table.get("*") or {}), **(table.get(path) or {})}
    if not any(float(v or 0) > 0 for v in rates.values()):
        return None
    rnd = stream(knobs["seed"], "fault", f"{path}:{n}")
    point = rnd.random()
    p_timeout, p_5xx, p_429 = (float(rates.get(k) or 0) for k in ("timeout", "5xx", "429"))
    if point < p_timeout:
        return error_reply(504, "GATEWAY_TIMEOUT", "GATEWAY_TIMEOUT: la pasarela agotó el tiempo de espera",
                           hold_s=float(knobs["timeout_hold_s"]))
    if point < p_timeout + p_5xx:
        statuses = knobs["fault_5xx_statuses"] or [500]
        status = int(statuses[rnd.randrange(len(statuses))])
        code = "SESSION_START_FAILED" if status == 500 else None
        return error_reply(status, code, f"{code or DEFAULT_CODES.get(status, 'ERROR')}: fallo simulado del servidor")
    if point < p_timeout + p_5xx + p_429:
        return error_reply(429, "TOO_MANY_REQUESTS", "TOO_MANY_REQUESTS: demasiadas peticiones",
                           retry_after=knobs["retry_after_s"])
    return None


def match_rule(sim: ControlRoomSimulator, path: str, ctx: dict) -> dict | None:
    """First rule matching this call (counts ``nth`` and ``times``); call under the state lock.

    A rule is ``{"match": {path, userId, deviceId, fileId, username, nth}, status, code, message, hold_s,
    after_effect, times, retry_after}`` (match keys may also sit at the top level). ``path`` is
    a glob. ``nth`` = fire from the n-th matching call (``times`` defaults to 1 then, else
    unlimited). ``status`` null = only hold the response ``hold_s``.
    """
    for index, rule in enumerate(sim.knobs["rules"]):
        cond = rule.get("match") or rule
        if not fnmatch.fnmatchcase(path, str(cond.get("path", "*"))):
            continue
        if any(key in cond and str(cond[key]) != str(ctx.get(key)) for key in ("userId", "deviceId", "fileId", "username")):
            continue
        counters = sim.rule_counters.setdefault(index, {"seen": 0, "fired": 0})
        counters["seen"] += 1
        nth = cond.get("nth")
        times = rule.get("times", 1 if nth is not None else None)
        if nth is not None and counters["seen"] < int(nth):
            continue
        if times is not None and counters["fired"] >= int(times):
            continue
        counters["fired"] += 1
        return rule
    return None


def rule_reply(sim: ControlRoomSimulator, rule: dict) -> Reply | None:
    """The error reply of a rule, or ``None`` for a hold-only rule."""
    status = rule.get("status")
    if status is None:
        return None
    return error_reply(int(status), rule.get("code"), rule.get("message"), hold_s=float(rule.get("hold_s") or 0),
                       retry_after=rule.get("retry_after", sim.knobs["retry_after_s"]))
