"""``ControlRoomSimulator``: state, clock, scheduler, callback workers and the waitress server."""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections import deque
from pathlib import Path

from common.wsgi_server import ThreadedServer

from . import knobs as knob_defs
from .app import SimApp
from .callbacks import CallbackDispatcher
from .clock import Scheduler, SimClock
from .generate import generate_state
from .lifecycle import Lifecycle
from .rng import RUN_ID_PROCESO, format_ts, to_epoch
from .state import KINDS, Store, TokenStore

log = logging.getLogger("sam.demo.simulator")
REQUEST_LOG_MAX = 100_000  # A360 calls kept for requests(); the oldest are dropped beyond it


class ControlRoomSimulator:
    """Simulated A360 Control Room (A360_API §8).

    ``state``: a state dict, a JSON file path, or ``None`` for ``generate_state()``.
    ``clock``: ``"real"`` (a timer thread drives transitions) or ``"manual"`` (only ``advance``).
    Other keywords are knobs (``knobs.DEFAULTS``); ``config`` is a JSON knob file.
    ``serve=False`` builds the WSGI app (``wsgi_app``) without starting a server.
    """

    def __init__(self, state: dict | str | Path | None = None, *, seed: int | None = None, clock: str | None = None,
                 host: str = "127.0.0.1", port: int = 0, serve: bool = True, threads: int = 16,
                 config: str | Path | None = None, **knobs: object) -> None:
        merged = knob_defs.defaults()
        if config is not None:
            merged.update(knob_defs.load_file(config))
        explicit = {k: v for k, v in (("seed", seed), ("clock", clock)) if v is not None}
        merged.update(knob_defs.validate({**explicit, **knobs}))
        self.knobs: dict = merged
        self.lock = threading.RLock()
        self.clock = SimClock(merged["clock"], to_epoch(merged["start_time"]))
        self.scheduler = Scheduler()
        self.store = Store()
        self.tokens = TokenStore()
        self.lifecycle = Lifecycle(self)
        self.callbacks_dispatcher = CallbackDispatcher(self)
        self.rule_counters: dict[int, dict] = {}
        self._requests: deque[dict] = deque(maxlen=REQUEST_LOG_MAX)
        self._request_seq = 0
        self._path_counts: dict[str, int] = {}
        self._events_generation = 0
        self._advance_lock = threading.Lock()
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._server: ThreadedServer | None = None
        if isinstance(state, (str, Path)):
            state = json.loads(Path(state).read_text(encoding="utf-8"))
        self._seed_state = copy.deepcopy(state if state is not None else generate_state(seed=merged["seed"]))
        self.store.load(self._seed_state)
        self.wsgi_app = SimApp(self)
        self._schedule_events()
        if not self.clock.manual:
            self.callbacks_dispatcher.start_workers(int(merged["callback_workers"]))
            self._timer = threading.Thread(target=self._timer_loop, name="sim-timer", daemon=True)
            self._timer.start()
        self.host, self.port, self.url = host, None, None
        if serve:
            self._start_server(host, port, threads)

    # -- server ---------------------------------------------------------------------------------
    def _start_server(self, host: str, port: int, threads: int) -> None:
        self._server = ThreadedServer(self.wsgi_app, host=host, port=port, threads=threads,
                                      ident="A360-Simulador", channel_timeout=120)
        self.port = self._server.port
        self.url = f"http://{host}:{self.port}"
        log.info("Simulador del Control Room escuchando en %s (semilla %s, reloj %s, arranque %s)",
                 self.url, self.knobs["seed"], self.knobs["clock"],
                 self.knobs["run_id"] if self.knobs["run_id"] is not None else RUN_ID_PROCESO)

    def close(self) -> None:
        """Stop the server, the timer and the callback workers (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._kick.set()
        if self._server is not None:
            self._server.close()
        if self._timer is not None:
            self._timer.join(5)
        self.callbacks_dispatcher.close()

    def __enter__(self) -> ControlRoomSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- time -----------------------------------------------------------------------------------
    def kick(self) -> None:
        self._kick.set()

    def now(self) -> float:
        return self.clock.now()

    def now_iso(self) -> str:
        return format_ts(self.clock.now(), self.knobs["timestamp_digits"])

    def _timer_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._drive(self.clock.now())
            except Exception:
                log.exception("Error en el temporizador del simulador")
            with self.lock:
                due = self.scheduler.next_due()
                wait = 0.2 if due is None else min(0.2, max(0.001, due - self.clock.now()))
            self._kick.wait(wait)
            self._kick.clear()

    def catch_up(self) -> None:
        """Real clock: apply transitions already due before answering a request."""
        if not self.clock.manual:
            self._drive(self.clock.now())

    def _drive(self, target: float) -> None:
        """Run every due event up to ``target``; callbacks are delivered outside the lock."""
        manual = self.clock.manual
        while True:
            jobs = []
            with self.lock:
                due = self.scheduler.next_due()
                if due is None or due > target:
                    break
                if manual:
                    self.clock.set(due)
                for at, kind, payload in self.scheduler.pop_due(due):
                    if kind == "callback":
                        jobs.append(payload)
                    elif kind == "dep":
                        self.lifecycle.handle(payload, at)
                    elif kind == "event":
                        self._apply_event(payload, at)
            for job in jobs:
                if manual:
                    self.callbacks_dispatcher.deliver(job)
                else:
                    self.callbacks_dispatcher.enqueue(job)
        if manual:
            self.clock.set(target)

    def advance(self, seconds: float) -> None:
        """Move simulated time ``seconds`` ahead, running due transitions and callbacks first."""
        if seconds < 0:
            raise ValueError("advance: los segundos deben ser >= 0")
        with self._advance_lock:
            if self.clock.manual:
                self._drive(self.clock.now() + seconds)
            else:
                self.clock.shift(seconds)
                self._drive(self.clock.now())

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no callback is pending (scheduled, queued or in flight)."""
        return self.callbacks_dispatcher.wait_idle(timeout)

    # -- events ---------------------------------------------------------------------------------
    def _schedule_events(self) -> None:
        self._events_generation += 1
        for index, event in enumerate(self.knobs["events"]):
            if "at" in event:
                due = to_epoch(event["at"])
            else:
                due = self.clock.start + float(event["at_s"]) / float(self.knobs["time_scale"])
            self.scheduler.add(due, "event", (self._events_generation, index, copy.deepcopy(event)))
        self.kick()

    def _apply_event(self, payload: tuple, at: float) -> None:
        generation, index, event = payload
        if generation != self._events_generation:
            return
        try:
            for kind, key in (("devices", "device"), ("users", "user"), ("files", "file")):
                if key in event:
                    fields = {k: v for k, v in event.items() if k not in ("at", "at_s", key)}
                    self._update_locked(kind, event[key], fields, at)
            if "kind" in event:
                action = event.get("action", "update")
                if action == "add":
                    self.store.add(event["kind"], event["obj"])
                elif action == "remove":
                    self.store.remove(event["kind"], event["id"])
                else:
                    self._update_locked(event["kind"], event["id"], event.get("fields", {}), at)
            if "add_file" in event:
                self.store.add("files", event["add_file"])
            if "remove_file" in event:
                self.store.remove("files", event["remove_file"])
            log.info("Evento simulado %d aplicado: %s", index, event)
        except (KeyError, ValueError) as exc:
            log.warning("Evento simulado %d no aplicable (%s): %s", index, exc, event)

    # -- state access ---------------------------------------------------------------------------
    def load_state(self, state: dict) -> None:
        with self.lock:
            self.store.load(state)
            self._seed_state = copy.deepcopy(state)

    def state(self) -> dict:
        with self.lock:
            snap = self.store.snapshot()
            snap["deployments"] = [self.lifecycle.view(d) for d in self.lifecycle.deployments.values()]
            snap["now"] = self.now_iso()
            return snap

    def _update_locked(self, kind: str, item_id: object, fields: dict, at: float) -> dict:
        old, new = self.store.update(kind, item_id, fields)
        if kind == "devices":
            self.lifecycle.device_changed(old, new, at)
        elif kind == "users":
            self.lifecycle.user_changed(old, new, at)
        return new

    def update(self, kind: str, item_id: object, **fields: object) -> dict:
        """Change an entity (disable a user, disconnect a device…) with its side effects."""
        with self.lock:
            new = self._update_locked(kind, item_id, fields, self.clock.now())
        self.kick()
        return new

    def add(self, kind: str, obj: dict) -> dict:
        if kind not in KINDS:
            raise KeyError(kind)
        with self.lock:
            return self.store.add(kind, obj)

    def remove(self, kind: str, item_id: object) -> None:
        with self.lock:
            self.store.remove(kind, item_id)

    def configure(self, **knobs: object) -> dict:
        checked = knob_defs.validate(knobs, runtime=True)
        with self.lock:
            self.knobs.update(checked)
            if "rules" in checked:
                self.rule_counters.clear()
            if "events" in checked:
                self._schedule_events()
            return self.knobs_copy()

    def knobs_copy(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.knobs)

    # -- request log ----------------------------------------------------------------------------
    def log_request(self, method: str, path: str, headers: dict, raw: bytes) -> tuple[dict, int]:
        with self.lock:
            n = self._path_counts.get(path, 0) + 1
            self._path_counts[path] = n
            self._request_seq += 1
            entry = {"seq": self._request_seq, "time": self.now_iso(), "method": method, "path": path,
                     "headers": dict(headers), "body": raw.decode("utf-8", "replace"), "status": None,
                     "response": None}
            self._requests.append(entry)
            return entry, n

    def requests(self, path: str | None = None) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(r) for r in self._requests if path is None or r["path"] == path]

    def deploys(self) -> list[dict]:
        with self.lock:
            return [self.lifecycle.view(d) for d in self.lifecycle.deployments.values()]

    def deployment(self, deployment_id: str) -> dict | None:
        with self.lock:
            dep = self.lifecycle.deployments.get(deployment_id)
            return self.lifecycle.view(dep) if dep else None

    def callbacks(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(self.callbacks_dispatcher.attempts)

    def reset(self) -> None:
        """Back to the seeded state: deployments, tokens, logs, counters and manual clock cleared."""
        with self.lock:
            self.scheduler.clear()
            self.lifecycle.clear()
            self.tokens.clear()
            self.callbacks_dispatcher.clear()
            self.rule_counters.clear()
            self._requests.clear()
            self._request_seq = 0
            self._path_counts.clear()
            self.store.load(self._seed_state)
            if self.clock.manual:
                self.clock.restart()
            self._schedule_events()
