"""Simulated time: ``real`` follows the wall clock; ``manual`` moves only through ``advance``.

The scheduler is a heap of due events in simulated seconds (epoch-based floats).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time


class SimClock:
    def __init__(self, mode: str, start: float | None = None) -> None:
        if mode not in ("real", "manual"):
            raise ValueError(f"clock debe ser 'real' o 'manual', no {mode!r}")
        self.mode = mode
        if start is None:  # manual: whole seconds, so a run is reproducible given the same start
            start = time.time() if mode == "real" else int(time.time())
        self.start = float(start)
        self._manual_now = self.start
        self._mono0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def manual(self) -> bool:
        return self.mode == "manual"

    def now(self) -> float:
        if self.manual:
            return self._manual_now
        return self.start + (time.monotonic() - self._mono0) + self._offset

    def set(self, moment: float) -> None:
        """Manual clock only: move forward to ``moment`` (never backwards)."""
        with self._lock:
            if moment > self._manual_now:
                self._manual_now = moment

    def shift(self, seconds: float) -> None:
        """Real clock: jump ``seconds`` ahead (``advance`` on a real clock)."""
        with self._lock:
            self._offset += seconds

    def restart(self) -> None:
        with self._lock:
            self._manual_now = self.start
            self._mono0 = time.monotonic()
            self._offset = 0.0


class Scheduler:
    """Due events ``(due, seq, kind, payload)``; ties keep insertion order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str, object]] = []
        self._seq = itertools.count()

    def add(self, due: float, kind: str, payload: object) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), kind, payload))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, upto: float) -> list[tuple[float, str, object]]:
        out = []
        while self._heap and self._heap[0][0] <= upto:
            due, _, kind, payload = heapq.heappop(self._heap)
            out.append((due, kind, payload))
        return out

    def clear(self) -> None:
        self._heap.clear()
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)
