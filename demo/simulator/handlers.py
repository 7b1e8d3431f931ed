"""The seven A360 endpoints (A360_API §2). Each takes the simulator and a ``Call``."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ApiError, bad_request
from .faults import Reply, match_rule, rule_reply
from .listing import list_response
from .state import DEVICE_FIELDS, FILE_FIELDS, TASKBOT, USER_FIELDS, TokenInfo, device_user_getter

if TYPE_CHECKING:
    from .simulator import ControlRoomSimulator

log = logging.getLogger("sam.demo.simulator")
DEPLOY_PATH = "/v3/automations/deploy"
ACTIVITY_FIELDS = {"deploymentId": "str", "deviceId": "num", "status": "str", "userId": "num",
                   "fileId": "num", "id": "str", "startDateTime": "time", "endDateTime": "time"}
VALUE_KEYS = {"STRING": ("string",), "NUMBER": ("number",), "BOOLEAN": ("boolean",), "LIST": ("list",),
              "DICTIONARY": ("dictionary",), "DATETIME": ("dateTime", "string"), "RECORD": ("record",),
              "TABLE": ("table",), "FILE": ("file",), "CREDENTIAL": ("credential",),
              "WINDOW": ("window",), "ANY": ("any",)}


@dataclass
class Call:
    path: str
    body: dict
    headers: dict[str, str]
    token: TokenInfo | None = None


def _flag(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


# -- authentication ----------------------------------------------------------------------------
def login(sim: ControlRoomSimulator, call: Call) -> Reply:
    body = call.body
    username, api_key, password = body.get("username"), body.get("apiKey"), body.get("password")
    if not isinstance(username, str) or not username.strip() or not (api_key or password):
        raise bad_request("BAD_REQUEST: faltan username y password o apiKey")
    multi = _flag(body.get("multipleLogin", body.get("multiLogin", False)))
    with sim.lock:
        user = sim.store.user_by_name(username.strip())
        if user is None or user["disabled"] or user["deleted"]:
            raise ApiError(401, "AUTH_BAD_CREDENTIALS", "AUTH_BAD_CREDENTIALS: usuario o credenciales no válidos")
        if api_key:
            if not user.get("apiKey"):
                raise ApiError(403, "FORBIDDEN", "FORBIDDEN: el usuario no tiene permitido el acceso con API key")
            if api_key != user["apiKey"]:
                raise ApiError(401, "AUTH_BAD_CREDENTIALS", "AUTH_BAD_CREDENTIALS: usuario o credenciales no válidos")
            effective_multi = True
        else:
            if password != user.get("password"):
                raise ApiError(401, "AUTH_BAD_CREDENTIALS", "AUTH_BAD_CREDENTIALS: usuario o credenciales no válidos")
            effective_multi = multi and user["multipleLoginAllowed"]
            if not effective_multi and sim.knobs["single_session"]:
                sim.tokens.revoke_user(user["id"])
        token = sim.tokens.issue(user["id"], sim.clock.now(), float(sim.knobs["token_lifetime_s"]),
                                 sim.knobs["seed"], effective_multi)
        log.info("Login de %s con %s (multisesión=%s): token %s…", user["username"],
                 "API key" if api_key else "contraseña", effective_multi,
                 hashlib.sha256(token.encode()).hexdigest()[:8])
        return Reply(200, {"token": token, "user": {"id": user["id"], "username": user["username"],
                                                    "email": f"{user['username']}@corp.local",
                                                    "licenseFeatures": list(user["licenseFeatures"])}})


def logout(sim: ControlRoomSimulator, call: Call) -> Reply:
    with sim.lock:
        if call.token is not None:
            call.token.revoked = True
        other = call.body.get("token")
        if isinstance(other, str) and other in sim.tokens.tokens:
            sim.tokens.tokens[other].revoked = True
    return Reply(204, None)


# -- lists -------------------------------------------------------------------------------------
def list_devices(sim: ControlRoomSimulator, call: Call) -> Reply:
    with sim.lock:
        return Reply(200, list_response(sim.store.device_rows(), call.body, DEVICE_FIELDS,
                                        max_length=int(sim.knobs["max_page_length"]), getter=device_user_getter,
                                        cache=sim.store.list_caches["devices"]))


def list_users(sim: ControlRoomSimulator, call: Call) -> Reply:
    with sim.lock:
        return Reply(200, list_response(sim.store.user_rows(), call.body, USER_FIELDS,
                                        max_length=int(sim.knobs["max_page_length"]),
                                        cache=sim.store.list_caches["users"]))


def list_files(sim: ControlRoomSimulator, call: Call) -> Reply:
    with sim.lock:
        return Reply(200, list_response(sim.store.file_rows(), call.body, FILE_FIELDS,
                                        max_length=int(sim.knobs["max_page_length"]),
                                        cache=sim.store.list_caches["files"]))


def list_activity(sim: ControlRoomSimulator, call: Call) -> Reply:
    with sim.lock:
        rows = sim.lifecycle.activity_rows(sim.clock.now())
        return Reply(200, list_response(rows, call.body, ACTIVITY_FIELDS,
                                        max_length=int(sim.knobs["max_page_length"])))


# -- deploy ------------------------------------------------------------------------------------
def _int_id(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise bad_request(f"BAD_REQUEST: {what} no válido")
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise bad_request(f"BAD_REQUEST: {what} no válido: {value!r}") from None


def check_bot_input(bot_input: object) -> None:
    """Typed values only (§2.6); NUMBER/BOOLEAN accepted as JSON values or strings."""
    if bot_input is None:
        return
    if not isinstance(bot_input, dict):
        raise bad_request("BAD_REQUEST: botInput debe ser un objeto nombre -> valor tipado")
    for name, value in bot_input.items():
        if not isinstance(value, dict) or not isinstance(value.get("type"), str):
            raise bad_request(f"BAD_REQUEST: botInput.{name} no es un valor tipado {{type, ...}}")
        kind = value["type"].upper()
        if kind not in VALUE_KEYS:
            raise bad_request(f"BAD_REQUEST: botInput.{name}: tipo desconocido {value['type']!r}")
        keys = [k for k in value if k != "type"]
        if len(keys) != 1 or keys[0] not in VALUE_KEYS[kind]:
            raise bad_request(f"BAD_REQUEST: botInput.{name}: la clave de valor {keys} no corresponde al tipo {kind}")
        inner = value[keys[0]]
        ok = True
        if kind == "STRING":
            ok = isinstance(inner, str)
        elif kind == "NUMBER":
            ok = not isinstance(inner, bool) and isinstance(inner, (int, float, str))
            if ok and isinstance(inner, str):
                try:
                    float(inner)
                except ValueError:
                    ok = False
        elif kind == "BOOLEAN":
            ok = isinstance(inner, bool) or (isinstance(inner, str) and inner.lower() in ("true", "false"))
        elif kind == "LIST":
            ok = isinstance(inner, list)
        elif kind == "DICTIONARY":
            ok = isinstance(inner, (list, dict))
        if not ok:
            raise bad_request(f"BAD_REQUEST: botInput.{name}: valor no válido para el tipo {kind}")


def _check_callback_info(info: object) -> None:
    if info is None:
        return
    if not isinstance(info, dict):
        raise bad_request("BAD_REQUEST: callbackInfo debe ser un objeto {url, headers}")
    if info.get("url") is not None and not isinstance(info["url"], str):
        raise bad_request("BAD_REQUEST: callbackInfo.url debe ser texto")
    headers = info.get("headers")
    if headers is not None and (not isinstance(headers, dict)
                                or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())):
        raise bad_request("BAD_REQUEST: callbackInfo.headers debe ser un objeto texto -> texto")


def deploy(sim: ControlRoomSimulator, call: Call) -> Reply:
    body = call.body
    if "fileId" not in body:
        raise bad_request("BAD_REQUEST: falta fileId")
    file_id = _int_id(body["fileId"], "fileId")
    run_as = body.get("runAsUserIds")
    if not isinstance(run_as, list) or not run_as:
        raise bad_request("BAD_REQUEST: runAsUserIds debe ser una lista no vacía")
    user_id = _int_id(run_as[0], "runAsUserIds")
    _check_callback_info(body.get("callbackInfo"))
    with sim.lock:
        store, knobs = sim.store, sim.knobs
        file = store.files.get(file_id)
        if file is None or file.get("type") != TASKBOT:
            raise ApiError(404, "NOT_FOUND", f"NOT_FOUND: el fichero {file_id} no existe o no es un taskbot")
        user = store.users.get(user_id)
        if user is None or user["deleted"] or user["disabled"]:
            raise ApiError(400, "INVALID_ARGUMENT", f"INVALID_ARGUMENT: run-as user {user_id} is disabled or "
                           f"deleted (usuario de ejecución deshabilitado, eliminado o inexistente)")
        device = store.default_device(user_id)
        if device is None:
            raise ApiError(400, "NO_DEFAULT_DEVICE",
                           f"NO_DEFAULT_DEVICE: el usuario {user_id} no tiene equipo por defecto")
        if not file.get("compatible", True):
            raise ApiError(412, "NO_COMPATIBLE_TARGETS",
                           f"NO_COMPATIBLE_TARGETS: ningún equipo compatible con el bot {file_id}")
        if device["status"] != "CONNECTED" and knobs["disconnected_policy"] == "reject":
            raise ApiError(400, "DEVICE_NOT_CONNECTED",
                           f"DEVICE_NOT_CONNECTED: el equipo {device['hostName']} no está conectado")
        if knobs["busy_policy"] == "reject" and sim.lifecycle.busy(device["id"]):
            raise ApiError(412, "DEVICE_BUSY",
                           f"DEVICE_BUSY: device is busy (el equipo {device['hostName']} está ocupado)")
        check_bot_input(body.get("botInput"))
        rule = match_rule(sim, call.path, {"userId": user_id, "deviceId": device["id"], "fileId": file_id})
        error = rule_reply(sim, rule) if rule else None
        if error is not None and not rule.get("after_effect"):
            return error
        dep = sim.lifecycle.create(file=file, user=user, device=device, body=body, at=sim.clock.now())
        if error is not None:
            reply = error
        else:
            reply = Reply(int(knobs["deploy_http_status"]), {"deploymentId": dep["deploymentId"]},
                          hold_s=float((rule or {}).get("hold_s") or 0))
        dep["response"] = {"status": reply.status, "body": reply.body}
        info = body.get("callbackInfo") or {}
        log.info("Despliegue %s: fileId=%s runAsUserIds=%s equipo=%s botInput=%s callback=%s -> %s",
                 dep["deploymentId"], file_id, [user_id], device["hostName"], sorted(dep["botInput"]),
                 info.get("url"), reply.status)
    sim.kick()
    return reply


ROUTES = {
    "/v2/authentication": (login, False),
    "/v1/authentication/logout": (logout, True),
    "/v2/devices/list": (list_devices, True),
    "/v2/usermanagement/users/list": (list_users, True),
    "/v2/repository/workspaces/public/files/list": (list_files, True),
    DEPLOY_PATH: (deploy, True),
    "/v3/activity/list": (list_activity, True),
}
