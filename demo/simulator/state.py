"""Entities of the simulated Control Room (A360_API §8.1) and their API views.

Not thread-safe by itself: the simulator calls it under its one state lock.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass

from .errors import ApiError
from .rng import draw_hex

TASKBOT = "application/vnd.aa.taskbot"
DIRECTORY = "application/vnd.aa.directory"
KINDS = ("users", "devices", "files")

USER_FIELDS = {"id": "num", "username": "str", "disabled": "bool", "description": "str"}
DEVICE_FIELDS = {"id": "num", "hostName": "str", "status": "str", "userId": "num"}
FILE_FIELDS = {"id": "num", "name": "str", "path": "str", "type": "str"}


def _as_int(value: object, what: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{what}: id no numérico {value!r}") from None


def normalize_user(obj: dict) -> dict:
    user = copy.deepcopy(obj)
    user["id"] = _as_int(user.get("id"), "usuario")
    user.setdefault("username", f"user{user['id']}")
    user.setdefault("password", None)
    user.setdefault("apiKey", None)
    features = user.get("licenseFeatures", [])
    user["licenseFeatures"] = [features] if isinstance(features, str) else list(features or [])
    user["disabled"] = bool(user.get("disabled", False))
    user["deleted"] = bool(user.get("deleted", False))
    user["multipleLoginAllowed"] = bool(user.get("multipleLoginAllowed", True))
    user.setdefault("description", "")
    return user


def normalize_device(obj: dict) -> dict:
    device = copy.deepcopy(obj)
    device["id"] = _as_int(device.get("id"), "equipo")
    device.setdefault("hostName", f"HOST{device['id']}")
    device.setdefault("status", "CONNECTED")
    device.setdefault("type", "BOT_RUNNER")
    device["defaultUserIds"] = [_as_int(u, "defaultUserIds") for u in device.get("defaultUserIds", [])]
    return device


def normalize_file(obj: dict) -> dict:
    item = copy.deepcopy(obj)
    item["id"] = _as_int(item.get("id"), "fichero")
    if item.get("parentId") is not None:
        item["parentId"] = _as_int(item["parentId"], "parentId")
    item.setdefault("name", f"Bot{item['id']}")
    item.setdefault("type", TASKBOT)
    item.setdefault("path", f"Automation Anywhere\\Bots\\{item['name']}")
    item.setdefault("compatible", True)
    return item


NORMALIZERS = {"users": normalize_user, "devices": normalize_device, "files": normalize_file}


class Store:
    """Users, devices and files keyed by int id (insertion order = state order)."""

    def __init__(self) -> None:
        self.users: dict[int, dict] = {}
        self.devices: dict[int, dict] = {}
        self.files: dict[int, dict] = {}
        self.version = 0
        self._cache: dict[str, tuple[int, list[dict]]] = {}
        self.list_caches: dict[str, dict] = {"devices": {}, "users": {}, "files": {}}

    def load(self, state: dict) -> None:
        if not isinstance(state, dict):
            raise ValueError("el estado debe ser un objeto con users, devices y files")
        tables = {}
        for kind in KINDS:
            items = state.get(kind, [])
            if not isinstance(items, list):
                raise ValueError(f"{kind}: se espera una lista")
            table: dict[int, dict] = {}
            for obj in items:
                if not isinstance(obj, dict):
                    raise ValueError(f"{kind}: cada elemento debe ser un objeto")
                item = NORMALIZERS[kind](obj)
                table[item["id"]] = item
            tables[kind] = table
        self.users, self.devices, self.files = tables["users"], tables["devices"], tables["files"]
        self.touch()

    def touch(self) -> None:
        self.version += 1
        self._cache.clear()
        for cache in self.list_caches.values():
            cache.clear()

    def table(self, kind: str) -> dict[int, dict]:
        if kind not in KINDS:
            raise KeyError(kind)
        return getattr(self, kind)

    def snapshot(self) -> dict:
        return {kind: copy.deepcopy(list(self.table(kind).values())) for kind in KINDS}

    def add(self, kind: str, obj: dict) -> dict:
        item = NORMALIZERS[kind](obj)
        self.table(kind)[item["id"]] = item
        self.touch()
        return copy.deepcopy(item)

    def update(self, kind: str, item_id: object, fields: dict) -> tuple[dict, dict]:
        """Apply ``fields``; returns (old, new) copies. ``KeyError`` if unknown."""
        table = self.table(kind)
        key = _as_int(item_id, kind)
        if key not in table:
            raise KeyError(f"{kind}/{item_id}")
        old = copy.deepcopy(table[key])
        merged = {**table[key], **copy.deepcopy(fields), "id": key}
        table[key] = NORMALIZERS[kind](merged)
        self.touch()
        return old, copy.deepcopy(table[key])

    def remove(self, kind: str, item_id: object) -> None:
        self.table(kind).pop(_as_int(item_id, kind), None)
        self.touch()

    # -- lookups -------------------------------------------------------------------------------
    def user_by_name(self, username: str) -> dict | None:
        wanted = username.lower()
        for user in self.users.values():
            if str(user["username"]).lower() == wanted:
                return user
        return None

    def default_device(self, user_id: int) -> dict | None:
        """A user's default device: the first device listing it among its default users."""
        for device in self.devices.values():
            if user_id in device["defaultUserIds"]:
                return device
        return None

    # -- API views (cached per state version) ---------------------------------------------------
    def _cached(self, name: str, build) -> list[dict]:
        hit = self._cache.get(name)
        if hit and hit[0] == self.version:
            return hit[1]
        rows = build()
        self._cache[name] = (self.version, rows)
        return rows

    def device_rows(self) -> list[dict]:
        def build() -> list[dict]:
            rows = []
            for d in self.devices.values():
                users = [self.users.get(uid) for uid in d["defaultUserIds"]]
                rows.append({"id": str(d["id"]), "hostName": d["hostName"], "status": d["status"],
                             "type": d["type"],
                             "defaultUsers": [{"id": u["id"], "username": u["username"]}
                                              for u in users if u and not u["deleted"]]})
            return rows
        return self._cached("devices", build)

    def user_rows(self) -> list[dict]:
        def build() -> list[dict]:
            return [{"id": u["id"], "username": u["username"], "description": u.get("description", ""),
                     "disabled": u["disabled"], "licenseFeatures": list(u["licenseFeatures"]),
                     "email": f"{u['username']}@corp.local"}
                    for u in self.users.values() if not u["deleted"]]
        return self._cached("users", build)

    def file_rows(self) -> list[dict]:
        def build() -> list[dict]:
            rows = []
            for f in self.files.values():
                row = {"id": str(f["id"]), "parentId": str(f["parentId"]) if f.get("parentId") else "0",
                       "name": f["name"], "path": f["path"], "type": f["type"]}
                if "description" in f:
                    row["description"] = f["description"]
                rows.append(row)
            return rows
        return self._cached("files", build)


def device_user_getter(row: dict, field: str) -> object:
    if field == "userId":
        return [u["id"] for u in row.get("defaultUsers", [])]
    return row.get(field)


# -- tokens ------------------------------------------------------------------------------------
def _b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass
class TokenInfo:
    user_id: int
    iat: float
    exp: float
    multi: bool
    revoked: bool = False


class TokenStore:
    def __init__(self) -> None:
        self.tokens: dict[str, TokenInfo] = {}
        self.login_counts: dict[int, int] = {}

    def clear(self) -> None:
        self.tokens.clear()
        self.login_counts.clear()

    def issue(self, user_id: int, now: float, lifetime: float, seed: object, multi: bool) -> str:
        n = self.login_counts.get(user_id, 0) + 1
        self.login_counts[user_id] = n
        header = _b64({"alg": "RS512"})
        payload = _b64({"sub": str(user_id), "iat": int(now), "exp": int(now + lifetime),
                        "jti": draw_hex(seed, "token", f"{user_id}:{n}", 8)})
        signature = _b64(bytes.fromhex(draw_hex(seed, "token-sig", f"{user_id}:{n}", 32)))
        token = f"{header}.{payload}.{signature}"
        self.tokens[token] = TokenInfo(user_id, now, now + lifetime, multi)
        return token

    def revoke_user(self, user_id: int) -> int:
        count = 0
        for info in self.tokens.values():
            if info.user_id == user_id and not info.revoked:
                info.revoked = True
                count += 1
        return count

    def check(self, token: str | None, now: float, store: Store) -> TokenInfo:
        if not token:
            raise ApiError(401, "UM1117", "UM1117: falta el token de autenticación (X-Authorization)")
        info = self.tokens.get(token)
        if info is None:
            raise ApiError(401, "AUTH_TOKEN_INVALID", "AUTH_TOKEN_INVALID: token no reconocido")
        if info.revoked:
            raise ApiError(401, "AUTH_LOGGED_OUT", "AUTH_LOGGED_OUT: la sesión se cerró o fue sustituida")
        if now >= info.exp:
            raise ApiError(401, "AUTH_TOKEN_EXPIRED", "AUTH_TOKEN_EXPIRED: el token ha caducado")
        user = store.users.get(info.user_id)
        if user is None or user["disabled"] or user["deleted"]:
            raise ApiError(401, "AUTH_USER_DISABLED", "AUTH_USER_DISABLED: el usuario está deshabilitado")
        return info
