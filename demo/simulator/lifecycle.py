"""Deployments and their lifecycle (A360_API §8.2).

``DEPLOYED`` → (``QUEUED`` while the device is busy or disconnected with queueing; FIFO per
device) → [``PENDING_EXECUTION``] → ``RUNNING`` [→ ``UPDATE``] → terminal after the drawn duration.
One run per device. The outcome, duration and messages are drawn from a stream keyed by the n-th
deploy of the (fileId, userId) pair, so thread interleaving cannot change a deployment's fate.
Everything here runs under the simulator's state lock.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from typing import TYPE_CHECKING

from .knobs import OUTCOME_NAMES
from .rng import RUN_ID_PROCESO, deployment_uuid, draw_hex, draw_uuid, format_ts, stream

if TYPE_CHECKING:
    from .simulator import ControlRoomSimulator

PENDING_S = 1.0  # PENDING_EXECUTION -> RUNNING, simulated seconds
_FAIL_MESSAGES = {
    "RUN_FAILED": ("Error en la línea 42: no se encontró la ventana 'SAP Logon'",
                   "Excepción no controlada: el fichero de entrada no existe",
                   "Error en la línea 17: tiempo de espera agotado buscando el objeto"),
    "RUN_TIMED_OUT": ("La ejecución superó el tiempo máximo permitido",),
    "RUN_ABORTED": ("Ejecución detenida por un usuario",),
    "DEPLOY_FAILED": ("No se pudo desplegar el bot en el equipo",),
}


def draw_duration(rnd, spec: object) -> float:
    if isinstance(spec, (int, float)):
        return float(spec)
    spec = spec or {}
    dist = spec.get("dist", "fixed")
    if dist == "fixed":
        return float(spec.get("value", spec.get("s", 10)))
    if dist == "uniform":
        return rnd.uniform(float(spec.get("min", 5)), float(spec.get("max", 30)))
    median = float(spec.get("median", math.exp(float(spec.get("mu", math.log(15))))))
    value = rnd.lognormvariate(math.log(median), float(spec.get("sigma", 0.5)))
    return min(value, float(spec["max"])) if "max" in spec else value


def draw_outcome(rnd, weights: dict) -> str:
    total = sum(float(weights.get(name, 0)) for name in OUTCOME_NAMES)
    point = rnd.random() * total
    for name in OUTCOME_NAMES:
        point -= float(weights.get(name, 0))
        if point < 0:
            return name
    return "success"


class Lifecycle:
    def __init__(self, sim: ControlRoomSimulator) -> None:
        self.sim = sim
        self.deployments: dict[str, dict] = {}
        self.pair_counts: dict[str, int] = {}
        self.running: dict[int, str] = {}
        self.queues: dict[int, deque] = {}

    def clear(self) -> None:
        self.deployments.clear()
        self.pair_counts.clear()
        self.running.clear()
        self.queues.clear()

    # -- helpers --------------------------------------------------------------------------------
    def scaled(self, seconds: float) -> float:
        return float(seconds) / float(self.sim.knobs["time_scale"])

    def _schedule(self, dep: dict, kind: str, due: float) -> None:
        self.sim.scheduler.add(due, "dep", (dep["deploymentId"], dep["phase"], kind))

    def _status(self, dep: dict, status: str, at: float) -> None:
        dep["status"] = status
        dep["timeline"].append([at, status])

    def busy(self, device_id: int) -> bool:
        return device_id in self.running or bool(self.queues.get(device_id))

    # -- creation -------------------------------------------------------------------------------
    def create(self, *, file: dict, user: dict, device: dict, body: dict, at: float) -> dict:
        knobs = self.sim.knobs
        seed = knobs["seed"]
        pair = f"{file['id']}:{user['id']}"
        n = self.pair_counts.get(pair, 0) + 1
        self.pair_counts[pair] = n
        key = f"{pair}:{n}"
        rnd = stream(seed, "fate", key)
        outcome = draw_outcome(rnd, file.get("outcomes") or knobs["outcomes"])
        duration = draw_duration(rnd, file.get("duration", knobs["duration_s"]))
        messages = _FAIL_MESSAGES.get(outcome, ("",))
        message = messages[rnd.randrange(len(messages))]
        records = rnd.randint(1, 500)
        run_id = knobs["run_id"] if knobs["run_id"] is not None else RUN_ID_PROCESO
        base = draw_uuid(seed, "deploymentId", key)  # the fate key: the same in every run
        deployment_id = deployment_uuid(seed, run_id, base)
        while deployment_id in self.deployments:  # only after a reset of the counters
            n += 1000
            base = draw_uuid(seed, "deploymentId", f"{key}:{n}")
            deployment_id = deployment_uuid(seed, run_id, base)
        if "botOutput" in file:
            bot_output = copy.deepcopy(file["botOutput"])
        elif outcome == "success":
            bot_output = {"out_Resultado": "Proceso completado", "out_Registros": records}
        else:
            bot_output = {"out_Resultado": "Error"}
        dep = {
            "deploymentId": deployment_id, "fateKey": base, "n": n, "fileId": file["id"], "fileName": file["name"],
            "userId": user["id"], "userName": user["username"], "deviceId": device["id"],
            "hostName": device["hostName"], "botInput": copy.deepcopy(body.get("botInput") or {}),
            "callbackInfo": copy.deepcopy(body.get("callbackInfo")), "request": copy.deepcopy(body),
            "response": None, "outcome": outcome, "duration": duration, "plannedMessage": message,
            "message": "", "botOutput": bot_output, "activityId": f"{deployment_id}_{draw_hex(seed, 'activity', key)}",
            "createdAt": at, "ready": False, "startedAt": None, "runStart": None, "endedAt": None,
            "status": None, "timeline": [], "phase": 0, "vanished": False, "terminal": False,
        }
        self.deployments[deployment_id] = dep
        self._status(dep, "DEPLOYED", at)
        self.queues.setdefault(device["id"], deque()).append(deployment_id)
        self._schedule(dep, "ready", at + self.scaled(knobs["start_delay_s"]))
        return dep

    # -- scheduled transitions ------------------------------------------------------------------
    def handle(self, payload: tuple, at: float) -> None:
        deployment_id, phase, kind = payload
        dep = self.deployments.get(deployment_id)
        if dep is None or dep["phase"] != phase or dep["terminal"]:
            return
        getattr(self, f"_on_{kind}")(dep, at)

    def _on_ready(self, dep: dict, at: float) -> None:
        dep["ready"] = True
        if dep["outcome"] == "DEPLOY_FAILED":
            self._dequeue(dep)
            self._terminal(dep, "DEPLOY_FAILED", at, dep["plannedMessage"])
            self.pump(dep["deviceId"], at)
            return
        self.pump(dep["deviceId"], at)
        if dep["status"] == "DEPLOYED":
            self._status(dep, "QUEUED", at)

    def _dequeue(self, dep: dict) -> None:
        queue = self.queues.get(dep["deviceId"])
        if queue and dep["deploymentId"] in queue:
            queue.remove(dep["deploymentId"])

    def pump(self, device_id: int, at: float) -> None:
        """Start the head of the device's queue if the device is free, connected and it is ready."""
        if device_id in self.running:
            return
        device = self.sim.store.devices.get(device_id)
        queue = self.queues.get(device_id)
        if not device or device["status"] != "CONNECTED" or not queue:
            return
        head = self.deployments[queue[0]]
        if not head["ready"]:
            return
        queue.popleft()
        self.running[device_id] = head["deploymentId"]
        head["startedAt"] = at
        if self.sim.knobs["intermediate_states"]:
            self._status(head, "PENDING_EXECUTION", at)
            self._schedule(head, "run", at + self.scaled(PENDING_S))
        else:
            self._on_run(head, at)

    def _on_run(self, dep: dict, at: float) -> None:
        self._status(dep, "RUNNING", at)
        dep["runStart"] = at
        length = self.scaled(dep["duration"])
        dep["endDue"] = at + length
        if self.sim.knobs["intermediate_states"]:
            self._schedule(dep, "update", at + length / 2)
        self._schedule(dep, "finish", at + length)

    def _on_update(self, dep: dict, at: float) -> None:
        self._status(dep, "UPDATE", at)

    def _free(self, dep: dict) -> None:
        if self.running.get(dep["deviceId"]) == dep["deploymentId"]:
            del self.running[dep["deviceId"]]

    def _on_finish(self, dep: dict, at: float) -> None:
        self._free(dep)
        outcome = dep["outcome"]
        if outcome == "success":
            self._terminal(dep, self.sim.knobs["activity_success_status"], at, "", success=True)
        elif outcome == "UNKNOWN":
            self._status(dep, "UNKNOWN", at)
        elif outcome == "VANISH":
            dep["vanished"] = True
            dep["timeline"].append([at, "VANISH"])
        else:
            self._terminal(dep, outcome, at, dep["plannedMessage"])
        self.pump(dep["deviceId"], at)

    def _terminal(self, dep: dict, status: str, at: float, message: str, success: bool = False) -> None:
        self._status(dep, status, at)
        dep["terminal"] = True
        dep["endedAt"] = at
        dep["message"] = message
        dep["succeeded"] = success
        self.sim.callbacks_dispatcher.on_terminal(dep, at)

    def _interrupt(self, dep: dict, status: str, at: float, message: str) -> None:
        dep["phase"] += 1
        self._free(dep)
        if status == "UNKNOWN":
            self._status(dep, "UNKNOWN", at)
        else:
            self._terminal(dep, status, at, message)

    # -- reactions to state changes -------------------------------------------------------------
    def device_changed(self, old: dict, new: dict, at: float) -> None:
        was_up, is_up = old["status"] == "CONNECTED", new["status"] == "CONNECTED"
        if was_up and not is_up:
            running = self.running.get(new["id"])
            policy = self.sim.knobs["on_disconnect"]
            if running and policy != "none":
                self._interrupt(self.deployments[running], policy, at,
                                "El equipo se desconectó durante la ejecución")
        elif is_up and not was_up:
            self.pump(new["id"], at)

    def user_changed(self, old: dict, new: dict, at: float) -> None:
        if new["disabled"] and not old["disabled"] and self.sim.knobs["abort_on_user_disable"]:
            for device_id, deployment_id in list(self.running.items()):
                dep = self.deployments[deployment_id]
                if dep["userId"] == new["id"]:
                    self._interrupt(dep, "RUN_ABORTED", at, "Ejecución detenida: el usuario fue deshabilitado")
                    self.pump(device_id, at)

    # -- views ----------------------------------------------------------------------------------
    def activity_rows(self, now: float) -> list[dict]:
        knobs = self.sim.knobs
        visible_after = self.scaled(knobs["activity_visibility_delay_s"])
        retention = knobs["activity_retention_s"]
        digits = knobs["timestamp_digits"]
        rows = []
        for dep in self.deployments.values():
            if dep["vanished"] or now < dep["createdAt"] + visible_after:
                continue
            if retention is not None and dep["endedAt"] is not None and \
                    now > dep["endedAt"] + self.scaled(retention):
                continue
            rows.append(self.activity_row(dep, now, digits))
        return rows

    def activity_row(self, dep: dict, now: float, digits: int) -> dict:
        status = dep["status"]
        if dep["terminal"]:
            progress = 100 if dep.get("succeeded") else 0
        elif dep["runStart"] is not None and dep.get("endDue"):
            span = max(dep["endDue"] - dep["runStart"], 1e-9)
            progress = max(0, min(99, int((now - dep["runStart"]) / span * 100)))
        else:
            progress = 0
        return {
            "id": dep["activityId"], "deploymentId": dep["deploymentId"], "status": status,
            "startDateTime": format_ts(dep["createdAt"], digits),
            "endDateTime": format_ts(dep["endedAt"], digits),
            "fileId": str(dep["fileId"]), "fileName": dep["fileName"], "automationName": dep["fileName"],
            "userId": str(dep["userId"]), "userName": dep["userName"],
            "deviceId": str(dep["deviceId"]), "deviceName": dep["hostName"],
            "progress": progress, "message": dep["message"],
        }

    def view(self, dep: dict) -> dict:
        """Introspection view of a deployment (JSON-serialisable, ISO times)."""
        digits = self.sim.knobs["timestamp_digits"]
        out = {k: copy.deepcopy(v) for k, v in dep.items()
               if k not in ("timeline", "createdAt", "startedAt", "runStart", "endedAt", "endDue", "phase")}
        out["timeline"] = [[format_ts(t, digits), s] for t, s in dep["timeline"]]
        out["relativeTimeline"] = [[round(t - dep["createdAt"], 6), s] for t, s in dep["timeline"]]
        for key in ("createdAt", "startedAt", "runStart", "endedAt"):
            out[key] = format_ts(dep[key], digits) if dep[key] is not None else None
        out["callbacks"] = [a for a in self.sim.callbacks_dispatcher.attempts if a["deploymentId"] == dep["deploymentId"]]
        return out
