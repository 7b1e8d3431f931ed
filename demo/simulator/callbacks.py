"""Completion callbacks (A360_API §3, §8.2-§8.3) and their delivery knobs.

A terminal deployment with ``callbackInfo.url`` gets one *normal* job; the stream keyed by its
deploymentId decides drop / duplicate / stale / delay. Jobs go through the simulator's scheduler
(simulated time); when due, a real clock hands them to a small worker pool, a manual clock
delivers them inline from ``advance`` (serially, in due order: deterministic). Duplicate and
stale follow-ups are scheduled only after the first attempt of the normal job, so they always
arrive after it. Redelivery on non-2xx or error up to ``callback_retries`` more times.
"""

from __future__ import annotations

import copy
import json
import logging
import queue
import threading
from typing import TYPE_CHECKING

import requests

from .rng import draw_span, format_ts, stream

if TYPE_CHECKING:
    from .simulator import ControlRoomSimulator

log = logging.getLogger("sam.demo.simulator.callbacks")


def typed_value(value: object) -> dict:
    if isinstance(value, dict) and "type" in value:
        return value
    if isinstance(value, bool):
        return {"type": "BOOLEAN", "boolean": "true" if value else "false"}
    if isinstance(value, (int, float)):
        return {"type": "NUMBER", "number": str(value)}
    return {"type": "STRING", "string": "" if value is None else str(value)}


def plain_value(value: object) -> object:
    if isinstance(value, dict) and "type" in value:
        for key, inner in value.items():
            if key != "type":
                return inner
        return None
    return value


def mask_headers(headers: dict) -> dict:
    return {k: "***" for k in headers}


class CallbackDispatcher:
    def __init__(self, sim: ControlRoomSimulator) -> None:
        self.sim = sim
        self.attempts: list[dict] = []
        self._pending = 0
        self._cond = threading.Condition()
        self._queue: queue.Queue = queue.Queue()
        self._workers: list[threading.Thread] = []
        self._local = threading.local()
        self._seq = 0
        self._closed = False
        self._generation = 0

    # -- worker pool (real clock) ---------------------------------------------------------------
    def start_workers(self, count: int) -> None:
        for i in range(max(1, int(count))):
            worker = threading.Thread(target=self._work, name=f"sim-callback-{i}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self.deliver(job)
            except Exception:  # never let a worker die
                log.exception("Error inesperado entregando un callback")

    def enqueue(self, job: dict) -> None:
        if self._workers:
            self._queue.put(job)
        else:
            self.deliver(job)

    def close(self, timeout: float = 5.0) -> None:
        self._closed = True
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout)
        self._workers.clear()

    # -- pending accounting ---------------------------------------------------------------------
    def _add_pending(self, n: int) -> None:
        with self._cond:
            self._pending = max(0, self._pending + n)
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return self._pending

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._pending <= 0, timeout)

    def clear(self) -> None:
        """Forget attempts and pending jobs (the scheduler is cleared by the caller)."""
        self.attempts.clear()
        self._seq = 0
        with self._cond:
            self._generation += 1
            self._pending = 0
            self._cond.notify_all()

    # -- planning (under the state lock) --------------------------------------------------------
    def body(self, dep: dict, status: str | None = None) -> dict:
        knobs = self.sim.knobs
        if status is None:
            status = knobs["callback_success_status"] if dep.get("succeeded") else dep["status"]
        as_number = knobs["callback_ids_as"] == "number"
        body = {"deploymentId": dep["deploymentId"], "status": status,
                "userId": dep["userId"] if as_number else str(dep["userId"]),
                "deviceId": dep["deviceId"] if as_number else str(dep["deviceId"])}
        style = knobs["callback_bot_output"]
        outputs = dep.get("botOutput") or {}
        if style == "typed":
            body["botOutput"] = {k: typed_value(v) for k, v in outputs.items()}
        elif style == "plain":
            body["botOutput"] = {k: plain_value(v) for k, v in outputs.items()}
        elif style == "empty":
            body["botOutput"] = {}
        body.update(copy.deepcopy(knobs["callback_extra_fields"]))
        return body

    def on_terminal(self, dep: dict, at: float) -> None:
        knobs = self.sim.knobs
        info = dep.get("callbackInfo") or {}
        url = info.get("url") if isinstance(info, dict) else None
        if not url:
            return
        if dep["status"] == "DEPLOY_FAILED" and not knobs["callback_on_deploy_failed"]:
            return
        rnd = stream(knobs["seed"], "callback", dep.get("fateKey", dep["deploymentId"]))  # same in every run
        drop = rnd.random() < knobs["callback_drop_rate"]
        duplicate = rnd.random() < knobs["callback_duplicate_rate"]
        stale = rnd.random() < knobs["callback_stale_rate"]
        delay = draw_span(rnd, knobs["callback_delay_s"])
        headers = {str(k): str(v) for k, v in (info.get("headers") or {}).items()}
        base = {"deploymentId": dep["deploymentId"], "url": url, "headers": headers,
                "body": self.body(dep), "kind": "normal", "attempt": 1, "followups": []}
        if drop:
            self._record(base, at, status=None, error=None, delivery="dropped")
            log.info("Callback de %s descartado por callback_drop_rate", dep["deploymentId"])
            return
        if duplicate:
            base["followups"].append({**base, "body": copy.deepcopy(base["body"]), "kind": "duplicate",
                                      "followups": []})
        if stale:
            stale_body = self.body(dep, status="RUNNING")
            stale_body.pop("botOutput", None)
            base["followups"].append({**base, "body": stale_body, "kind": "stale", "followups": []})
        self.schedule(base, at + delay / float(knobs["time_scale"]))

    def schedule(self, job: dict, due: float) -> None:
        job["generation"] = self._generation
        self._add_pending(1)
        self.sim.scheduler.add(due, "callback", job)
        self.sim.kick()

    def _record(self, job: dict, at: float, *, status: int | None, error: str | None,
                delivery: str) -> dict:
        self._seq += 1
        entry = {"seq": self._seq, "time": format_ts(at, self.sim.knobs["timestamp_digits"]),
                 "deploymentId": job["deploymentId"], "url": job["url"],
                 "headers": copy.deepcopy(job["headers"]), "body": copy.deepcopy(job["body"]),
                 "kind": job["kind"], "attempt": job["attempt"] if delivery != "dropped" else 0,
                 "status": status, "error": error, "delivery": delivery,
                 "delivered": status is not None and 200 <= status < 300}
        self.attempts.append(entry)
        return entry

    # -- delivery (outside the state lock) ------------------------------------------------------
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def deliver(self, job: dict) -> None:
        if job.get("generation") != self._generation:
            return  # scheduled before a reset
        try:
            if self._closed:
                return
            knobs = self.sim.knobs
            status, error = None, None
            headers = {"Content-Type": "application/json", **job["headers"]}
            try:
                response = self._session().post(job["url"], data=json.dumps(job["body"]).encode("utf-8"),
                                                headers=headers, timeout=float(knobs["callback_timeout_s"]))
                status = response.status_code
                response.close()
            except requests.RequestException as exc:
                error = type(exc).__name__
            ok = status is not None and 200 <= status < 300
            with self.sim.lock:
                if job.get("generation") != self._generation:
                    return
                at = self.sim.clock.now()
                self._record(job, at, status=status, error=error, delivery="sent")
                log.info("Callback %s (%s, intento %d) a %s cabeceras=%s -> %s",
                         job["deploymentId"], job["kind"], job["attempt"], job["url"],
                         mask_headers(job["headers"]), status if status is not None else error)
                if not ok and job["attempt"] <= int(knobs["callback_retries"]):
                    retry = {**job, "attempt": job["attempt"] + 1, "followups": []}
                    self.schedule(retry, at + float(knobs["callback_retry_interval_s"]) / float(knobs["time_scale"]))
                if job["attempt"] == 1:
                    for follow in job["followups"]:
                        self.schedule(follow, at)
        finally:
            if job.get("generation") == self._generation:
                self._add_pending(-1)
