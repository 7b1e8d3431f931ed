"""Simulator knobs (A360_API §8.3): defaults, validation and merging."""

from __future__ import annotations

import copy
import json
from pathlib import Path

OUTCOME_NAMES = ("success", "RUN_FAILED", "RUN_TIMED_OUT", "RUN_ABORTED", "UNKNOWN", "VANISH",
                 "DEPLOY_FAILED")

DEFAULT_OUTCOMES = {"success": 0.90, "RUN_FAILED": 0.07, "RUN_TIMED_OUT": 0.01, "RUN_ABORTED": 0.01,
                    "UNKNOWN": 0.005, "VANISH": 0.005, "DEPLOY_FAILED": 0.0}

DEFAULTS: dict = {
    "seed": 0,
    "run_id": None,  # part of every deploymentId; None: rng.RUN_ID_PROCESO (one per process start)
    "clock": "real",
    "time_scale": 1.0,
    "start_time": None,
    "token_lifetime_s": 1200,
    "single_session": True,
    "latency_s": 0,
    "fault_rates": {},
    "fault_5xx_statuses": [500, 502, 503, 504],
    "retry_after_s": 1,
    "timeout_hold_s": 65,
    "rules": [],
    "max_page_length": 500,
    "deploy_http_status": 201,
    "busy_policy": "queue",
    "disconnected_policy": "reject",
    "start_delay_s": 1,
    "duration_s": {"dist": "uniform", "min": 5, "max": 30},
    "outcomes": DEFAULT_OUTCOMES,
    "intermediate_states": False,
    "activity_success_status": "COMPLETED",
    "activity_visibility_delay_s": 0,
    "activity_retention_s": None,
    "timestamp_digits": 6,
    "on_disconnect": "UNKNOWN",
    "abort_on_user_disable": False,
    "callback_success_status": "RUN_COMPLETED",
    "callback_bot_output": "typed",
    "callback_ids_as": "string",
    "callback_extra_fields": {},
    "callback_on_deploy_failed": False,
    "callback_drop_rate": 0.0,
    "callback_duplicate_rate": 0.0,
    "callback_stale_rate": 0.0,
    "callback_delay_s": 0,
    "callback_retries": 0,
    "callback_retry_interval_s": 5,
    "callback_timeout_s": 10,
    "callback_workers": 4,
    "events": [],
}

_ENUMS = {
    "clock": ("real", "manual"),
    "busy_policy": ("queue", "reject"),
    "disconnected_policy": ("reject", "queue"),
    "on_disconnect": ("UNKNOWN", "RUN_FAILED", "none"),
    "callback_bot_output": ("typed", "plain", "absent", "empty"),
    "callback_ids_as": ("string", "number"),
    "timestamp_digits": (6, 9),
    "deploy_http_status": (200, 201),
}
_NUMBERS = ("time_scale", "token_lifetime_s", "retry_after_s", "timeout_hold_s", "max_page_length",
            "start_delay_s", "activity_visibility_delay_s", "callback_drop_rate",
            "callback_duplicate_rate", "callback_stale_rate", "callback_retries",
            "callback_retry_interval_s", "callback_timeout_s", "callback_workers")
_BOOLS = ("single_session", "intermediate_states", "abort_on_user_disable", "callback_on_deploy_failed")
_DISTS = ("fixed", "uniform", "lognormal")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_span(name: str, value: object, problems: list[str]) -> None:
    if _is_number(value) and value >= 0:
        return
    if (isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) for v in value)
            and 0 <= value[0] <= value[1]):
        return
    problems.append(f"{name}: se espera un número >= 0 o [mín, máx], no {value!r}")


def check_duration(name: str, value: object, problems: list[str]) -> None:
    if _is_number(value) and value >= 0:
        return
    if not isinstance(value, dict) or value.get("dist", "fixed") not in _DISTS:
        problems.append(f"{name}: se espera un número o {{'dist': fixed|uniform|lognormal, ...}}")


def check_outcomes(name: str, value: object, problems: list[str]) -> None:
    if not isinstance(value, dict) or not value:
        problems.append(f"{name}: se espera un objeto resultado -> probabilidad")
        return
    for key, prob in value.items():
        if key not in OUTCOME_NAMES:
            problems.append(f"{name}: resultado desconocido {key!r} (válidos: {', '.join(OUTCOME_NAMES)})")
        elif not _is_number(prob) or prob < 0:
            problems.append(f"{name}.{key}: probabilidad no válida {prob!r}")
    if all(_is_number(p) for p in value.values()) and sum(value.values()) <= 0:
        problems.append(f"{name}: la suma de probabilidades debe ser > 0")


def validate(knobs: dict, *, runtime: bool = False) -> dict:
    """Check ``knobs`` (a partial dict); returns a deep copy. Raises ``ValueError`` (Spanish)."""
    problems: list[str] = []
    for name, value in knobs.items():
        if name not in DEFAULTS:
            problems.append(f"parámetro desconocido: {name}")
        elif runtime and name == "clock":
            problems.append("clock no se puede cambiar con el simulador en marcha")
        elif name in _ENUMS and value not in _ENUMS[name]:
            problems.append(f"{name}: valor {value!r} no válido (válidos: {_ENUMS[name]})")
        elif name in _NUMBERS and (not _is_number(value) or value < 0):
            problems.append(f"{name}: se espera un número >= 0, no {value!r}")
        elif name in _BOOLS and not isinstance(value, bool):
            problems.append(f"{name}: se espera true/false, no {value!r}")
    for name in ("latency_s", "callback_delay_s"):
        value = knobs.get(name)
        if isinstance(value, dict) and name == "latency_s":
            for path, span in value.items():
                _check_span(f"{name}[{path}]", span, problems)
        elif name in knobs:
            _check_span(name, value, problems)
    if knobs.get("time_scale") == 0:
        problems.append("time_scale debe ser > 0")
    if "max_page_length" in knobs and _is_number(knobs["max_page_length"]) and knobs["max_page_length"] < 1:
        problems.append("max_page_length debe ser >= 1")
    if "duration_s" in knobs:
        check_duration("duration_s", knobs["duration_s"], problems)
    if "outcomes" in knobs:
        check_outcomes("outcomes", knobs["outcomes"], problems)
    for name in ("fault_rates", "callback_extra_fields"):
        if name in knobs and not isinstance(knobs[name], dict):
            problems.append(f"{name}: se espera un objeto")
    rates = knobs.get("fault_rates")
    if isinstance(rates, dict):
        tables = [rates] if {"5xx", "429", "timeout"} & set(rates) else list(rates.values())
        for table in tables:
            if not isinstance(table, dict) or not all(
                    key in ("5xx", "429", "timeout") and _is_number(p) and 0 <= p <= 1 for key, p in table.items()):
                problems.append("fault_rates: se espera {ruta|'*': {'5xx'|'429'|'timeout': probabilidad 0-1}}")
                break
    for name in ("rules", "events", "fault_5xx_statuses"):
        if name in knobs and not isinstance(knobs[name], list):
            problems.append(f"{name}: se espera una lista")
    for i, rule in enumerate(knobs.get("rules") or []):
        if not isinstance(rule, dict):
            problems.append(f"rules[{i}]: se espera un objeto")
    for i, event in enumerate(knobs.get("events") or []):
        if not isinstance(event, dict) or ("at_s" not in event and "at" not in event):
            problems.append(f"events[{i}]: se espera un objeto con 'at_s' (segundos simulados) o 'at'")
    if knobs.get("run_id") is not None and not isinstance(knobs["run_id"], str):
        problems.append("run_id: se espera null o un texto")
    retention = knobs.get("activity_retention_s")
    if retention is not None and (not _is_number(retention) or retention < 0):
        problems.append("activity_retention_s: se espera null o un número >= 0")
    if problems:
        raise ValueError("; ".join(problems))
    return copy.deepcopy(knobs)


def defaults() -> dict:
    return copy.deepcopy(DEFAULTS)


def load_file(path: str | Path) -> dict:
    """Knobs from a JSON config file (an object knob -> value)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: el fichero de configuración debe ser un objeto JSON")
    return validate(data)
