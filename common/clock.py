"""Injected clocks: every decision that reads the time takes one of these.

The SAM DB stores naive local datetimes in ``SAM_ZONA_HORARIA`` (as the original did with
``GETDATE()``); A360 reports UTC. ``Clock`` converts between the two.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo


def resolve_zone(name: str | None) -> tzinfo:
    """The IANA zone ``name``, or the host's local zone when empty. Raises ``ValueError``."""
    if not name:
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else timezone.utc
    try:
        return ZoneInfo(name)
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError on malformed keys
        raise ValueError(f"zona horaria desconocida: {name!r}") from exc


class Clock:
    """Real time. ``now_local()`` is naive local time in the configured zone."""

    def __init__(self, zone: tzinfo | str | None = None) -> None:
        self.zone: tzinfo = zone if isinstance(zone, tzinfo) else resolve_zone(zone)

    def now_utc(self) -> datetime:
        return datetime.now(timezone.utc)

    def now_local(self) -> datetime:
        return self.now_utc().astimezone(self.zone).replace(tzinfo=None)

    def monotonic(self) -> float:
        return time.monotonic()

    def to_local(self, moment: datetime) -> datetime:
        """Naive local time for an aware datetime (a naive one is taken as UTC)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def local_to_utc(self, local: datetime) -> datetime:
        """Aware UTC datetime for a naive local datetime of the configured zone."""
        return local.replace(tzinfo=self.zone).astimezone(timezone.utc)


class FixedClock(Clock):
    """A clock that moves only when told to (tests, dry runs, simulations)."""

    def __init__(self, start_utc: datetime, zone: tzinfo | str | None = "UTC") -> None:
        super().__init__(zone)
        if start_utc.tzinfo is None:
            start_utc = start_utc.replace(tzinfo=timezone.utc)
        self._now = start_utc
        self._mono = 0.0
        self._lock = threading.Lock()

    def now_utc(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._mono += seconds

    def set_local(self, local: datetime) -> None:
        with self._lock:
            new = local.replace(tzinfo=self.zone).astimezone(timezone.utc)
            self._mono += max(0.0, (new - self._now).total_seconds())
            self._now = new
