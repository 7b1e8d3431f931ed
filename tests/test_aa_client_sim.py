"""The A360 client against the Control Room simulator over real HTTP (A360_API §1-§7)."""

from __future__ import annotations

import json
import logging
import math
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
import requests

from demo.simulator import (
    API_KEY,
    API_PASSWORD,
    API_USER_ID,
    API_USERNAME,
    ControlRoomSimulator,
    generate_state,
)
from lanzador.clients.aa_client import (
    PATH_ACTIVITY,
    PATH_DEPLOY,
    PATH_DEVICES,
    PATH_FILES,
    PATH_LOGIN,
    PATH_LOGOUT,
    PATH_USERS,
    A360Error,
    AutomationAnywhereClient,
)
from lanzador.service.bot_input import build_bot_input

CALLBACK_URL = "http://127.0.0.1:9/api/callback"
CALLBACK_TOKEN = "cb-token-Zq8w7e6r5t4y3u2i"


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, s: float) -> None:
        self.waits.append(s)


class TracingSession(requests.Session):
    """Records (path, status, error code) of every answer the client received."""

    def __init__(self) -> None:
        super().__init__()
        self.trace: list[tuple[str, int, str | None]] = []

    def post(self, url, *args, **kw):
        resp = super().post(url, *args, **kw)
        code = None
        if resp.status_code >= 400:
            try:
                code = resp.json().get("code")
            except ValueError:
                code = None
        self.trace.append((urlsplit(url).path, resp.status_code, code))
        return resp


def make_client(sim: ControlRoomSimulator, **kw) -> AutomationAnywhereClient:
    if "api_key" not in kw:
        kw.setdefault("password", API_PASSWORD)
    kw.setdefault("sleep", Recorder())
    kw.setdefault("timeout", 10)
    kw.setdefault("session", TracingSession())
    return AutomationAnywhereClient(sim.url, kw.pop("username", API_USERNAME), **kw)


def statuses(client: AutomationAnywhereClient, path: str | None = None) -> list:
    """(path, status) of every answer the client got (or just the statuses for one path)."""
    trace = client._session.trace
    if path is not None:
        return [s for p, s, _ in trace if p == path]
    return [(p, s) for p, s, _ in trace]


def codes(client: AutomationAnywhereClient, path: str) -> list:
    return [c for p, s, c in client._session.trace if p == path and s >= 400]


def bodies(sim: ControlRoomSimulator, path: str) -> list[dict]:
    out = []
    for r in sim.requests(path):
        body = r["body"]
        out.append(json.loads(body) if isinstance(body, str) else body)
    return out


def token_of(request: dict) -> str | None:
    return request["headers"].get("X-Authorization")


@pytest.fixture
def small_state() -> dict:
    state = generate_state(files=6, devices=4, users=4, seed=3)
    # a single-session account (multipleLogin not honoured) and a user without a device
    state["users"].append({"id": 40, "username": "svc_single", "password": "Single.Pass.2026", "apiKey": None,
                           "licenseFeatures": ["DEVELOPMENT"], "multipleLoginAllowed": False})
    state["users"].append({"id": 41, "username": "svc_nodevice", "password": "x", "apiKey": None,
                           "licenseFeatures": ["RUNTIME"]})
    return state


@pytest.fixture
def sim(small_state):
    with ControlRoomSimulator(small_state, seed=3, clock="manual") as s:
        yield s


# --- login (§2.1) ----------------------------------------------------------------------------
def test_A360_2_1_password_login_sends_multiple_login_and_raw_token_header(sim):
    c = make_client(sim)
    devices = c.list_devices()
    assert len(devices) == 4
    login = bodies(sim, PATH_LOGIN)
    assert login == [{"username": API_USERNAME, "password": API_PASSWORD, "multipleLogin": True}]
    token = sim.requests(PATH_LOGIN)[0]["response"]["token"]
    listing = sim.requests(PATH_DEVICES)[0]
    assert token_of(listing) == token                       # raw token, no "Bearer"
    assert "Authorization" not in listing["headers"]
    assert "X-Authorization" not in sim.requests(PATH_LOGIN)[0]["headers"]
    assert listing["headers"]["Content-Type"].startswith("application/json")
    assert listing["headers"]["Accept"] == "application/json"
    assert c.api_calls == 2 and c.logins == 1


def test_A360_2_1_api_key_login_sends_no_password_nor_multiple_login(sim):
    c = make_client(sim, api_key=API_KEY)
    assert len(c.list_taskbots()) == 6
    assert bodies(sim, PATH_LOGIN) == [{"username": API_USERNAME, "apiKey": API_KEY}]


def test_A360_6_row2_login_401_is_permanent_auth_error_not_retried(sim):
    rec = Recorder()
    c = make_client(sim, password="wrong-password-1", sleep=rec)
    with pytest.raises(A360Error) as ei:
        c.list_devices()
    err = ei.value
    assert (err.kind, err.status_code, err.code, err.retriable) == ("auth", 401, "AUTH_BAD_CREDENTIALS", False)
    assert statuses(c) == [(PATH_LOGIN, 401)] and rec.waits == []
    assert "wrong-password-1" not in str(err) and "wrong-password-1" not in repr(err)


def test_A360_6_row2_login_403_api_key_not_allowed_is_auth_error(sim):
    c = make_client(sim, username="svc_single", api_key="some-key-123456")
    with pytest.raises(A360Error) as ei:
        c.list_devices()
    assert (ei.value.kind, ei.value.status_code, ei.value.retriable) == ("auth", 403, False)
    assert len(sim.requests(PATH_LOGIN)) == 1


# --- token renewal (§5) ----------------------------------------------------------------------
def test_A360_5_renewal_when_less_than_60s_before_exp(small_state):
    with ControlRoomSimulator(small_state, clock="manual", token_lifetime_s=300) as sim:
        c = make_client(sim, clock=sim.now, token_refresh_buffer_s=1140)
        c.list_devices()
        sim.advance(239)                    # 61 s left: keep it
        c.list_devices()
        assert c.logins == 1
        sim.advance(2)                      # 59 s left: renew before the call
        c.list_devices()
        assert c.logins == 2
        assert [s for _, s in statuses(c)] == [200] * 5               # never a 401
        t = [token_of(r) for r in sim.requests(PATH_DEVICES)]
        assert t[0] == t[1] != t[2]


def test_A360_5_renewal_by_age_buffer(small_state):
    with ControlRoomSimulator(small_state, clock="manual", token_lifetime_s=1200) as sim:
        c = make_client(sim, clock=sim.now, token_refresh_buffer_s=100)
        c.list_devices()
        sim.advance(99)
        c.list_devices()
        sim.advance(1)
        c.list_devices()
        assert c.logins == 2
        assert [s for _, s in statuses(c)] == [200] * 5


def test_A360_5_expired_token_401_relogin_and_retry_once(small_state):
    with ControlRoomSimulator(small_state, clock="manual", token_lifetime_s=120) as sim:
        # The client's clock does not move, so it cannot see the expiry coming: the CR's 401 decides.
        c = make_client(sim, clock=lambda: 0.0)
        c.list_devices()
        sim.advance(200)
        assert len(c.list_devices()) == 4
        assert statuses(c) == [(PATH_LOGIN, 200), (PATH_DEVICES, 200), (PATH_DEVICES, 401),
                               (PATH_LOGIN, 200), (PATH_DEVICES, 200)]
        assert codes(c, PATH_DEVICES) == ["AUTH_TOKEN_EXPIRED"]


def test_A360_5_second_login_invalidates_first_then_401_relogin_success(sim):
    a = make_client(sim, username="svc_single", password="Single.Pass.2026")
    b = make_client(sim, username="svc_single", password="Single.Pass.2026")
    a.list_devices()
    b.list_devices()                                   # single-session user: revokes a's token
    assert len(a.list_devices()) == 4
    assert a.logins == 2
    assert codes(a, PATH_DEVICES) == ["AUTH_LOGGED_OUT"]


def test_A360_5_second_401_raises_auth_no_loop(sim):
    sim.configure(rules=[{"path": PATH_DEVICES, "status": 401, "code": "AUTH_TOKEN_EXPIRED", "times": 5}])
    rec = Recorder()
    c = make_client(sim, sleep=rec)
    with pytest.raises(A360Error) as ei:
        c.list_devices()
    assert (ei.value.kind, ei.value.status_code, ei.value.retriable) == ("auth", 401, False)
    assert statuses(c) == [(PATH_LOGIN, 200), (PATH_DEVICES, 401), (PATH_LOGIN, 200), (PATH_DEVICES, 401)]
    assert rec.waits == []


def test_A360_5_deploy_retried_once_after_401_relogin(sim):
    a = make_client(sim, username="svc_single", password="Single.Pass.2026")
    a.list_devices()
    make_client(sim, username="svc_single", password="Single.Pass.2026").list_devices()
    dep = a.deploy(5100, 700, build_bot_input(None, 3), CALLBACK_URL)
    assert statuses(a, PATH_DEPLOY) == [401, 201]
    assert len(sim.deploys()) == 1 and sim.deploys()[0]["deploymentId"] == dep


def test_A360_5_single_flight_login_under_concurrency(small_state):
    with ControlRoomSimulator(small_state, clock="manual", latency_s={PATH_LOGIN: 0.3}) as sim:
        c = make_client(sim)
        results, errors = [], []

        def work():
            try:
                results.append(len(c.list_taskbots()))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == [] and results == [6] * 10
        assert len(sim.requests(PATH_LOGIN)) == 1
        assert c.api_calls == 11


def test_A360_5_single_flight_relogin_after_revocation_under_concurrency(sim):
    a = make_client(sim, username="svc_single", password="Single.Pass.2026")
    a.list_devices()
    make_client(sim, username="svc_single", password="Single.Pass.2026").list_devices()   # revokes a
    errors = []

    def work():
        try:
            a.list_devices()
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert a.logins == 2                          # one re-login shared by every waiting thread


# --- pagination (§7) -------------------------------------------------------------------------
def test_A360_7_many_pages_offset_advances_by_rows_received():
    with ControlRoomSimulator(generate_state(files=1, devices=250, users=40), clock="manual") as sim:
        c = make_client(sim, page_size=20)
        devices = c.list_devices()
        pages = [b["page"] for b in bodies(sim, PATH_DEVICES)]
    assert len(devices) == 250 and len({d.id for d in devices}) == 250
    assert pages == [{"offset": 20 * i, "length": 20} for i in range(13)]
    assert all(b == {"sort": [{"field": "hostName", "direction": "asc"}], "page": p}
               for b, p in zip(bodies(sim, PATH_DEVICES), pages, strict=True))
    d = next(d for d in devices if d.id == 80)
    assert d.host_name == "VMRPA01" and d.status == "CONNECTED" and d.default_users[0][0] == 700


def test_A360_7_page_clamp_offset_follows_rows_received():
    with ControlRoomSimulator(generate_state(files=1, devices=50, users=5), clock="manual",
                              max_page_length=7) as sim:
        c = make_client(sim, page_size=20)
        devices = c.list_devices()
        pages = [b["page"] for b in bodies(sim, PATH_DEVICES)]
    assert len(devices) == 50
    assert pages == [{"offset": 7 * i, "length": 20} for i in range(math.ceil(50 / 7))]


def test_A360_7_page_cap_raises_pagination_never_partial():
    with ControlRoomSimulator(generate_state(files=1, devices=50, users=5), clock="manual") as sim:
        c = make_client(sim, page_size=10, max_pages=4)
        with pytest.raises(A360Error) as ei:
            c.list_devices()
        assert (ei.value.kind, ei.value.retriable) == ("pagination", False)
        assert len(sim.requests(PATH_DEVICES)) == 4


def test_A360_7_permanent_failure_on_page_3_raises():
    with ControlRoomSimulator(generate_state(files=1, devices=50, users=5), clock="manual",
                              rules=[{"match": {"path": PATH_DEVICES, "nth": 3}, "status": 404,
                                      "code": "NOT_FOUND"}]) as sim:
        c = make_client(sim, page_size=10)
        with pytest.raises(A360Error) as ei:
            c.list_devices()
        assert (ei.value.kind, ei.value.status_code, ei.value.retriable) == ("http", 404, False)
        assert statuses(c, PATH_DEVICES) == [200, 200, 404]


def test_A360_7_retriable_failure_on_page_3_exhausts_retries_and_raises():
    rec = Recorder()
    with ControlRoomSimulator(generate_state(files=1, devices=50, users=5), clock="manual",
                              rules=[{"match": {"path": PATH_DEVICES, "nth": 3}, "status": 503,
                                      "times": 3}]) as sim:
        c = make_client(sim, page_size=10, sleep=rec)
        with pytest.raises(A360Error) as ei:
            c.list_devices()
        assert (ei.value.kind, ei.value.status_code, ei.value.retriable) == ("http", 503, True)
        assert statuses(c, PATH_DEVICES) == [200, 200, 503, 503, 503]
        assert [b["page"]["offset"] for b in bodies(sim, PATH_DEVICES)] == [0, 10, 20, 20, 20]
    assert len(rec.waits) == 2 and 1.0 <= rec.waits[0] <= 1.2 and 2.0 <= rec.waits[1] <= 2.4


def test_A360_6_transient_failure_on_page_3_is_retried_and_list_complete():
    rec = Recorder()
    with ControlRoomSimulator(generate_state(files=1, devices=50, users=5), clock="manual",
                              rules=[{"match": {"path": PATH_DEVICES, "nth": 3}, "status": 502}]) as sim:
        c = make_client(sim, page_size=10, sleep=rec)
        assert len(c.list_devices()) == 50
        assert [b["page"]["offset"] for b in bodies(sim, PATH_DEVICES)] == [0, 10, 20, 20, 30, 40]
    assert len(rec.waits) == 1


def test_A360_7_user_id_batches_each_paginated():
    with ControlRoomSimulator(generate_state(files=1, devices=5, users=250), clock="manual",
                              max_page_length=40) as sim:
        c = make_client(sim, page_size=100)
        ids = list(range(700, 950)) + [99999]             # an unknown id is simply absent
        users = c.list_users(ids + ids[:10])              # repeats are sent once
        reqs = bodies(sim, PATH_USERS)
    assert sorted(u.id for u in users) == list(range(700, 950))
    batches = {}
    for b in reqs:
        key = tuple(o["value"] for o in b["filter"]["operands"])
        batches.setdefault(key, []).append(b["page"]["offset"])
        assert b["filter"]["operator"] == "or" and len(b["filter"]["operands"]) <= 100
        assert all(o["operator"] == "eq" and o["field"] == "id" for o in b["filter"]["operands"])
        assert b["sort"] == [{"field": "username", "direction": "asc"}]
    assert sorted(len(k) for k in batches) == [51, 100, 100]
    assert sorted(batches.values()) == [[0, 40], [0, 40, 80], [0, 40, 80]]
    assert len(reqs) == 8
    u = next(u for u in users if u.id == 700)
    assert u.username == "svc_rpa01" and u.disabled is False and u.license_features[0] in ("RUNTIME",
                                                                                          "ATTENDEDRUNTIME")


def test_A360_7_one_failed_user_batch_fails_the_whole_call():
    with ControlRoomSimulator(generate_state(files=1, devices=5, users=250), clock="manual",
                              rules=[{"match": {"path": PATH_USERS, "nth": 2}, "status": 400,
                                      "code": "BAD_REQUEST", "message": "filtro no válido"}]) as sim:
        c = make_client(sim, page_size=100)
        with pytest.raises(A360Error) as ei:
            c.list_users(range(700, 950))
        assert (ei.value.kind, ei.value.status_code, ei.value.retriable) == ("http", 400, False)
        assert len(sim.requests(PATH_USERS)) == 2


def test_A360_2_4_disabled_and_deleted_users(sim):
    sim.update("users", 701, disabled=True)
    sim.update("users", 702, deleted=True)
    c = make_client(sim)
    users = {u.id: u for u in c.list_users([700, 701, 702, 703])}
    assert sorted(users) == [700, 701, 703]
    assert users[701].disabled is True and users[700].disabled is False


def test_A360_2_5_taskbots_type_filter_and_local_filters(sim):
    c = make_client(sim)
    bots = c.list_taskbots()
    assert len(bots) == 6 and all(b.path.startswith("Automation Anywhere\\Bots\\") for b in bots)
    body = bodies(sim, PATH_FILES)[0]
    assert body["filter"] == {"operator": "eq", "field": "type", "value": "application/vnd.aa.taskbot"}
    assert body["sort"] == [{"field": "name", "direction": "asc"}]
    area = bots[0].path.split("\\")[2]
    filtered = make_client(sim, path_filter=area.lower(), name_regex=r"^P00[1-3]0_").list_taskbots()
    expected = [b for b in bots if area.lower() in b.path.lower() and b.name[:5] in ("P0010", "P0020", "P0030")]
    assert filtered == expected


# --- §6 classification over real HTTP (deploy) -----------------------------------------------
def _deploy_case(sim, rule=None, **knobs):
    if rule is not None:
        knobs["rules"] = [dict(rule, path=PATH_DEPLOY)]
    if knobs:
        sim.configure(**knobs)
    c = make_client(sim)
    with pytest.raises(A360Error) as ei:
        c.deploy(5100, 700, build_bot_input(None, 3), CALLBACK_URL)
    assert len(sim.requests(PATH_DEPLOY)) == 1            # deploy is never retried in the client
    return ei.value


@pytest.mark.parametrize("row,rule,expected", [
    ("3", {"status": 429, "retry_after": 7}, (429, "TOO_MANY_REQUESTS", True)),
    ("4", {"status": 500, "code": "SESSION_START_FAILED"}, (500, "SESSION_START_FAILED", True)),
    ("4", {"status": 502}, (502, "BAD_GATEWAY", True)),
    ("4", {"status": 503}, (503, "SERVICE_UNAVAILABLE", True)),
    ("4", {"status": 504}, (504, "GATEWAY_TIMEOUT", True)),
    ("5", {"status": 412, "code": "NO_COMPATIBLE_TARGETS"}, (412, "NO_COMPATIBLE_TARGETS", False)),
    ("5b", {"status": 412, "code": "DEVICE_BUSY", "message": "device is busy"}, (412, "DEVICE_BUSY", True)),
    ("5b", {"status": 412, "message": "device offline"}, (412, "PRECONDITION_FAILED", True)),
    ("6", {"status": 400, "code": "DEVICE_BUSY"}, (400, "DEVICE_BUSY", True)),
    ("6", {"status": 400, "message": "Bot runner: Device is busy"}, (400, "BAD_REQUEST", True)),
    ("7", {"status": 400, "code": "INVALID_ARGUMENT", "message": "INVALID_ARGUMENT: bad"},
     (400, "INVALID_ARGUMENT", False)),
    ("7", {"status": 403}, (403, "FORBIDDEN", False)),
    ("7", {"status": 404}, (404, "NOT_FOUND", False)),
    ("7", {"status": 405}, (405, "METHOD_NOT_ALLOWED", False)),
    ("7", {"status": 409}, (409, "CONFLICT", False)),
])
def test_A360_6_classification_rows_over_http(sim, row, rule, expected):
    err = _deploy_case(sim, rule)
    assert (err.status_code, err.code, err.retriable) == expected, row
    assert err.kind == "http"
    assert err.message.startswith(f"A360 POST {PATH_DEPLOY} respondió HTTP {expected[0]}")
    if expected[0] == 429:
        assert err.retry_after == 7
    else:
        assert err.retry_after is None


def test_A360_6_row5_natural_no_compatible_targets(sim):
    sim.update("files", 5100, compatible=False)
    err = _deploy_case(sim)
    assert (err.status_code, err.code, err.retriable) == (412, "NO_COMPATIBLE_TARGETS", False)


def test_A360_6_row5b_natural_device_busy(sim):
    sim.configure(busy_policy="reject")
    make_client(sim).deploy(5100, 700, build_bot_input(None, 3), CALLBACK_URL)
    c = make_client(sim)
    with pytest.raises(A360Error) as ei:
        c.deploy(5101, 700, build_bot_input(None, 3), CALLBACK_URL)
    assert (ei.value.status_code, ei.value.code, ei.value.retriable) == (412, "DEVICE_BUSY", True)


@pytest.mark.parametrize("setup,user,file_id,code,status", [
    (("users", 700, {"disabled": True}), 700, 5100, "INVALID_ARGUMENT", 400),
    (None, 41, 5100, "NO_DEFAULT_DEVICE", 400),
    (("devices", 80, {"status": "DISCONNECTED"}), 700, 5100, "DEVICE_NOT_CONNECTED", 400),
    (None, 700, 424242, "NOT_FOUND", 404),
])
def test_A360_6_row7_natural_permanent_errors(sim, setup, user, file_id, code, status):
    if setup:
        sim.update(setup[0], setup[1], **setup[2])
    c = make_client(sim)
    with pytest.raises(A360Error) as ei:
        c.deploy(file_id, user, build_bot_input(None, 3), CALLBACK_URL)
    assert (ei.value.kind, ei.value.status_code, ei.value.code, ei.value.retriable) == ("http", status, code, False)
    assert len(sim.requests(PATH_DEPLOY)) == 1


def test_A360_6_row1_read_timeout_is_transport_and_deploy_not_retried(sim):
    sim.configure(rules=[{"path": PATH_DEPLOY, "status": None, "hold_s": 1.5}])
    c = make_client(sim, timeout=0.4)
    with pytest.raises(A360Error) as ei:
        c.deploy(5100, 700, build_bot_input(None, 3), CALLBACK_URL)
    assert (ei.value.kind, ei.value.status_code, ei.value.retriable) == ("transport", None, True)
    assert len(sim.requests(PATH_DEPLOY)) == 1
    assert len(sim.deploys()) == 1              # the CR accepted it: L5.5 recovers such deploys


def test_A360_6_row8_untypable_bot_input_refused_before_any_call(sim):
    c = make_client(sim)
    with pytest.raises(A360Error) as ei:
        c.deploy(5100, 700, build_bot_input('{"in_X": null}', 3), CALLBACK_URL)
    assert ei.value.kind == "input"
    assert sim.requests() == [] and c.api_calls == 0


# --- Retry-After (§6 row 3) ------------------------------------------------------------------
def test_A360_6_retry_after_honoured_on_lists(sim):
    rec = Recorder()
    sim.configure(rules=[{"path": PATH_DEVICES, "status": 429, "retry_after": 3, "times": 2}])
    c = make_client(sim, sleep=rec)
    assert len(c.list_devices()) == 4
    assert rec.waits == [3.0, 3.0]
    assert statuses(c, PATH_DEVICES) == [429, 429, 200]


def test_A360_6_retry_after_capped_at_60s(sim):
    rec = Recorder()
    sim.configure(rules=[{"path": PATH_DEVICES, "status": 429, "retry_after": 300, "times": 5}])
    c = make_client(sim, sleep=rec)
    with pytest.raises(A360Error) as ei:
        c.list_devices()
    assert rec.waits == [60.0, 60.0]
    assert (ei.value.status_code, ei.value.retry_after, ei.value.retriable) == (429, 60.0, True)


def test_A360_6_fault_rate_429_uses_retry_after_knob(small_state):
    rec = Recorder()
    with ControlRoomSimulator(small_state, clock="manual", retry_after_s=2,
                              fault_rates={PATH_FILES: {"429": 1.0}}) as sim:
        c = make_client(sim, sleep=rec)
        with pytest.raises(A360Error):
            c.list_taskbots()
    assert rec.waits == [2.0, 2.0]


# --- deploy and activity (§2.6, §2.7) --------------------------------------------------------
def test_A360_2_6_deploy_body_through_simulator(sim):
    c = make_client(sim)
    bot_input = build_bot_input('{"in_Ambiente": "PROD", "in_N": 2, "in_F": 0.5, "in_B": true}', 3)
    dep = c.deploy(5100, 700, bot_input, CALLBACK_URL, {"X-Authorization": CALLBACK_TOKEN})
    assert isinstance(dep, str) and dep
    sent = bodies(sim, PATH_DEPLOY)[0]
    assert sent == {"fileId": 5100, "runAsUserIds": [700], "botInput": bot_input,
                    "callbackInfo": {"url": CALLBACK_URL, "headers": {"X-Authorization": CALLBACK_TOKEN}}}
    assert statuses(c, PATH_DEPLOY) == [201]
    sim.configure(deploy_http_status=200)
    assert c.deploy(5101, 701, build_bot_input("", 3), CALLBACK_URL) != dep


def test_A360_2_7_activity_by_deployment_ids_batched_and_paginated(small_state):
    with ControlRoomSimulator(small_state, clock="manual", timestamp_digits=9, start_delay_s=1,
                              duration_s=30, max_page_length=1) as sim:
        c = make_client(sim, page_size=2)
        deps = [c.deploy(5100 + i, 700 + i, build_bot_input(None, 3), CALLBACK_URL) for i in range(3)]
        sim.advance(5)
        got = c.activity_by_deployment_ids(deps + ["00000000-0000-0000-0000-000000000000"])
        reqs = bodies(sim, PATH_ACTIVITY)
    assert sorted(got) == sorted(deps)
    for i, d in enumerate(deps):
        act = got[d]
        assert act.status in ("RUNNING", "DEPLOYED", "QUEUED", "PENDING_EXECUTION", "UPDATE")
        assert (act.file_id, act.user_id, act.device_id) == (5100 + i, 700 + i, 80 + i)
        assert act.start_utc is not None and act.start_utc.tzinfo is not None and act.end_utc is None
    assert all(len(b["filter"]["operands"]) <= 2 for b in reqs)
    assert all(b["sort"] == [{"field": "startDateTime", "direction": "desc"}] for b in reqs)
    # batch 1 (2 ids, 1 row per page after the clamp): offsets 0, 1; batch 2 (1 known id + 1 unknown): 0
    assert [(len(b["filter"]["operands"]), b["page"]["offset"]) for b in reqs] == [(2, 0), (2, 1), (2, 0)]


def test_A360_2_7_activity_terminal_end_time(small_state):
    with ControlRoomSimulator(small_state, clock="manual", start_delay_s=1, duration_s=10,
                              outcomes={"success": 1.0}) as sim:
        c = make_client(sim)
        dep = c.deploy(5100, 700, build_bot_input(None, 3), CALLBACK_URL)
        sim.advance(30)
        act = c.activity_by_deployment_ids([dep])[dep]
    assert act.status == "COMPLETED" and act.end_utc is not None and act.end_utc > act.start_utc


def test_A360_2_7_activity_by_device_since(small_state):
    with ControlRoomSimulator(small_state, clock="manual", start_delay_s=1, duration_s=10,
                              outcomes={"success": 1.0}) as sim:
        c = make_client(sim)
        first = c.deploy(5100, 700, build_bot_input(None, 3), CALLBACK_URL)
        sim.advance(60)
        since = datetime.fromtimestamp(sim.now(), timezone.utc)
        second = c.deploy(5101, 700, build_bot_input(None, 3), CALLBACK_URL)
        c.deploy(5102, 701, build_bot_input(None, 3), CALLBACK_URL)            # another device
        sim.advance(5)
        rows = c.activity_by_device(80, since)
        older = c.activity_by_device(80, since - timedelta(hours=1))
        body = bodies(sim, PATH_ACTIVITY)[0]
    assert [a.deployment_id for a in rows] == [second]
    assert [a.deployment_id for a in older] == [second, first]
    assert body["filter"] == {"operator": "eq", "field": "deviceId", "value": "80"}


def test_L5_5_activity_by_device_stops_paginating_at_rows_older_than_since(small_state):
    """A device's whole history is not read: newest first, stop at the first all-older page."""
    with ControlRoomSimulator(small_state, clock="manual", start_delay_s=1, duration_s=10,
                              outcomes={"success": 1.0}) as sim:
        c = make_client(sim, page_size=2)
        for _ in range(8):  # old history of device 80
            c.deploy(5100, 700, build_bot_input(None, 3), CALLBACK_URL)
            sim.advance(60)
        since = datetime.fromtimestamp(sim.now(), timezone.utc)
        new = c.deploy(5101, 700, build_bot_input(None, 3), CALLBACK_URL)
        sim.advance(5)
        before = len(sim.requests(PATH_ACTIVITY))
        rows = c.activity_by_device(80, since)
        pages = bodies(sim, PATH_ACTIVITY)[before:]
        everything = c.activity_by_device(80, since - timedelta(hours=1))
    assert [a.deployment_id for a in rows] == [new]
    # desc pages 0 and 2 (the second is all older: stop), then one page from the other end
    assert [(b["sort"][0]["direction"], b["page"]["offset"]) for b in pages] == [
        ("desc", 0), ("desc", 2), ("asc", 0)]
    assert len(everything) == 9 and everything[0].deployment_id == new


# --- logout (§2.2) ---------------------------------------------------------------------------
def test_A360_2_2_logout_revokes_and_errors_are_ignored(sim, caplog):
    c = make_client(sim)
    c.list_devices()
    token = token_of(sim.requests(PATH_DEVICES)[0])
    c.logout()
    out = sim.requests(PATH_LOGOUT)
    assert len(out) == 1 and out[0]["status"] == 204 and token_of(out[0]) == token
    assert (json.loads(out[0]["body"]) if isinstance(out[0]["body"], str) else out[0]["body"]) == {"token": token}
    c.logout()                                          # no session: nothing sent
    assert len(sim.requests(PATH_LOGOUT)) == 1
    c.list_devices()                                    # a new session after logout works
    sim.close()
    with caplog.at_level(logging.DEBUG, logger="sam"):
        c.logout()                                      # CR gone: logged at DEBUG, not raised
    assert all(r.levelno <= logging.DEBUG for r in caplog.records if "Logout" in r.getMessage())


# --- secrets (§5, §6) ------------------------------------------------------------------------
def test_A360_5_secrets_absent_from_logs_errors_and_repr(small_state, caplog):
    with ControlRoomSimulator(small_state, clock="manual") as sim, caplog.at_level(logging.DEBUG):
        errors = []
        a = make_client(sim, username="svc_single", password="Single.Pass.2026")
        a.list_devices()
        make_client(sim, username="svc_single", password="Single.Pass.2026").list_devices()
        a.deploy(5100, 700, build_bot_input('{"in_Clave": "valor-secreto-bot"}', 3), CALLBACK_URL,
                 {"X-Authorization": CALLBACK_TOKEN})           # 401 -> re-login -> deploy
        k = make_client(sim, api_key=API_KEY)
        k.list_taskbots()
        sim.configure(rules=[{"path": PATH_DEVICES, "status": 401, "times": 2}])
        for client, call in ((k, k.list_devices),
                             (make_client(sim, password="Bad.Pass.999"), None),
                             (make_client(sim, api_key="bad-api-key-777"), None)):
            try:
                (call or client.list_taskbots)()
            except A360Error as exc:
                errors.append(exc)
        k.logout()
        a.logout()
        tokens = {r["response"]["token"] for r in sim.requests(PATH_LOGIN) if r["status"] == 200}
    assert len(errors) == 3 and len(tokens) >= 4
    secrets = [API_PASSWORD, API_KEY, "Single.Pass.2026", "Bad.Pass.999", "bad-api-key-777", CALLBACK_TOKEN,
               "valor-secreto-bot", *tokens]
    text = caplog.text + "\n".join(str(e) + repr(e) + e.message for e in errors) + repr(a) + repr(k)
    for secret in secrets:
        assert secret not in text
    for token in tokens:
        assert token.split(".")[1] not in text        # not even the JWT payload
    assert "Deploy A360" in caplog.text and "in_Clave" in caplog.text


def test_A360_2_1_login_user_id_constant_matches(sim):
    # Guards the fixture assumptions: the API account is not a device user.
    c = make_client(sim)
    assert API_USER_ID not in {u for d in c.list_devices() for u, _ in d.default_users}
