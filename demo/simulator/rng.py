"""Deterministic random streams and simulator time formatting.

Every random draw of the simulator comes from a stream keyed by ``(seed, purpose, key)``, so the
fate of a deployment never depends on thread interleaving or on how many other draws happened.
"""

from __future__ import annotations

import random
import re
import secrets
import uuid
from datetime import datetime, timezone
from functools import lru_cache

EPOCH_ISO = "1970-01-01T00:00:00Z"

#: Chosen once per process start: part of every deploymentId (knob ``run_id``, default this), so a
#: simulator restarted with the same seed never hands out a deploymentId of an earlier run, while
#: simulators of one process with the same seed (the determinism tests) still agree.
RUN_ID_PROCESO = secrets.token_hex(4)


def stream(seed: object, purpose: str, key: object = "") -> random.Random:
    """A fresh ``random.Random`` for this (seed, purpose, key); str seeds hash with SHA-512."""
    return random.Random(f"{seed}:{purpose}:{key}")


def draw_uuid(seed: object, purpose: str, key: object) -> str:
    return str(uuid.UUID(int=stream(seed, purpose, key).getrandbits(128), version=4))


def deployment_uuid(seed: object, run_id: str, base: str) -> str:
    """The deploymentId of the deployment whose per-seed id is ``base`` in run ``run_id`` (``""``:
    ``base`` itself, the ids of earlier versions). Still a UUID v4, as A360's are."""
    return draw_uuid(seed, "deploymentId", f"{run_id}:{base}") if run_id else base


def draw_hex(seed: object, purpose: str, key: object, nbytes: int = 8) -> str:
    return stream(seed, purpose, key).getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()


def draw_span(rnd: random.Random, spec: object) -> float:
    """A number (fixed) or ``[min, max]`` (uniform) in seconds; anything falsy is 0."""
    if spec is None or spec is False:
        return 0.0
    if isinstance(spec, (list, tuple)):
        low, high = float(spec[0]), float(spec[1])
        return rnd.uniform(low, high) if high > low else low
    return float(spec)


def format_ts(epoch: float | None, digits: int = 6) -> str:
    """ISO-8601 UTC with ``Z`` and 6 or 9 fractional digits; ``None`` is the unset epoch."""
    if epoch is None:
        return EPOCH_ISO
    micros = int(round(epoch * 1_000_000))
    seconds, frac = divmod(micros, 1_000_000)
    base = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if digits == 9:
        return f"{base}.{frac:06d}000Z"
    return f"{base}.{frac:06d}Z"


_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$"
)


@lru_cache(maxsize=4096)
def parse_ts(text: str) -> float | None:
    """Tolerant ISO-8601 parser (``Z``, 0-9 fractional digits, offsets); naive = UTC."""
    match = _ISO_RE.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                      tzinfo=timezone.utc)
    value = moment.timestamp()
    if frac:
        value += int(frac) / (10 ** len(frac))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        value -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return value


def to_epoch(value: object) -> float | None:
    """Epoch seconds from a number or an ISO string (``None`` passes)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    parsed = parse_ts(str(value))
    if parsed is None:
        raise ValueError(f"fecha no válida: {value!r}")
    return parsed
