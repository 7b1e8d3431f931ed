"""Unit tests of the A360 client: pure parts and HTTP shapes the simulator cannot produce.

Everything that a real Control Room (the simulator) can answer is tested over real HTTP in
``test_aa_client_sim.py``; here ``responses`` fakes only HTML error pages, non-JSON 2xx/5xx and
odd pagination metadata.
"""

from __future__ import annotations

import base64
import json
import socket
from datetime import datetime, timezone

import pytest
import responses

from lanzador.clients.aa_client import (
    PATH_ACTIVITY,
    PATH_DEPLOY,
    PATH_DEVICES,
    PATH_FILES,
    PATH_LOGIN,
    PATH_USERS,
    A360Error,
    AutomationAnywhereClient,
    classify_http_error,
    decode_jwt_exp,
    parse_a360_datetime,
)

BASE = "https://cr.example.test"


def make_jwt(payload: dict | None) -> str:
    def b64(obj: bytes) -> str:
        return base64.urlsafe_b64encode(obj).decode().rstrip("=")

    body = b64(json.dumps(payload).encode()) if payload is not None else "!!notbase64!!"
    header = b64(b'{"alg":"RS512"}')
    return f"{header}.{body}.c2ln"


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, s: float) -> None:
        self.waits.append(s)


def client(**kw) -> AutomationAnywhereClient:
    kw.setdefault("password", "S3cr3t-Pass!")
    kw.setdefault("sleep", Recorder())
    return AutomationAnywhereClient(BASE + "/", "svc_sam", **kw)


def add_login(rsps, token: str | None = None) -> None:
    rsps.add(responses.POST, BASE + PATH_LOGIN,
             json={"token": token or make_jwt({"sub": "1", "exp": 4102444800}), "user": {"id": 1}})


# --- §6 classification table (pure) ----------------------------------------------------------
@pytest.mark.parametrize("status,code,message,login,expected", [
    (401, "AUTH_BAD_CREDENTIALS", "bad", True, ("auth", False)),          # row 2
    (403, "FORBIDDEN", "no api key", True, ("auth", False)),              # row 2
    (401, "AUTH_TOKEN_EXPIRED", "", False, ("auth", False)),              # row 2 after re-login
    (429, None, None, False, ("http", True)),                             # row 3
    (500, "SESSION_START_FAILED", "x", False, ("http", True)),            # row 4
    (502, None, None, False, ("http", True)),                             # row 4 non-JSON
    (504, None, None, True, ("http", True)),                              # row 4 on login too
    (412, "NO_COMPATIBLE_TARGETS", "", False, ("http", False)),           # row 5
    (412, None, "No compatible targets found", False, ("http", False)),   # row 5 by message
    (412, "DEVICE_BUSY", "device is busy", False, ("http", True)),        # row 5b
    (412, "SOMETHING", "device offline", False, ("http", True)),          # row 5b
    (400, "DEVICE_BUSY", "", False, ("http", True)),                      # row 6
    (400, None, "The Device Is Busy now", False, ("http", True)),         # row 6 by message
    (400, "WEIRD_CODE", "device is busy", False, ("http", True)),         # row 6 unrecognised code
    (400, "BAD_REQUEST", "Device is busy", False, ("http", True)),        # row 6 generic code
    (400, "INVALID_ARGUMENT", "device is busy", False, ("http", False)),  # row 7: recognised code
    (400, "INVALID_ARGUMENT", "run-as user disabled", False, ("http", False)),  # row 7
    (400, "NO_DEFAULT_DEVICE", "", False, ("http", False)),               # row 7
    (400, "DEVICE_NOT_CONNECTED", "", False, ("http", False)),            # row 7
    (403, "FORBIDDEN", "", False, ("http", False)),                       # row 7
    (404, "NOT_FOUND", "", False, ("http", False)),                       # row 7
    (405, None, None, False, ("http", False)),                            # row 7
    (409, None, None, False, ("http", False)),                            # row 7
])
def test_A360_6_classification_table(status, code, message, login, expected):
    assert classify_http_error(status, code, message, login=login) == expected


# --- ISO times and JWT exp -------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("2026-03-02T12:00:04.250000Z", datetime(2026, 3, 2, 12, 0, 4, 250000, tzinfo=timezone.utc)),
    ("2026-03-02T12:00:04.250000123Z", datetime(2026, 3, 2, 12, 0, 4, 250000, tzinfo=timezone.utc)),
    ("2026-03-02T12:00:04Z", datetime(2026, 3, 2, 12, 0, 4, tzinfo=timezone.utc)),
    ("2026-03-02T13:00:04.5+01:00", datetime(2026, 3, 2, 12, 0, 4, 500000, tzinfo=timezone.utc)),
    ("2026-03-02T12:00:04", datetime(2026, 3, 2, 12, 0, 4, tzinfo=timezone.utc)),
    ("1970-01-01T00:00:00Z", None),
    ("1970-01-01T00:00:00.000000000Z", None),
    ("", None),
    (None, None),
    ("garbage", None),
    ("2026-02-30T00:00:00Z", None),
])
def test_A360_1_tolerant_iso_parser(text, expected):
    assert parse_a360_datetime(text) == expected


def test_A360_5_exp_decoding_and_undecodable():
    assert decode_jwt_exp(make_jwt({"exp": 1790000000})) == 1790000000.0
    assert decode_jwt_exp(make_jwt({"sub": "x"})) is None
    assert decode_jwt_exp(make_jwt(None)) is None
    assert decode_jwt_exp("opaque-token") is None
    assert decode_jwt_exp("") is None


def test_A360_5_undecodable_token_renewed_by_age_only():
    now = [1000.0]
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, BASE + PATH_LOGIN, json={"token": "opaque-token-1"})
        rsps.add(responses.POST, BASE + PATH_LOGIN, json={"token": "opaque-token-2"})
        rsps.add(responses.POST, BASE + PATH_DEVICES, json={"page": {"total": 0}, "list": []})
        rsps.add(responses.POST, BASE + PATH_DEVICES, json={"page": {"total": 0}, "list": []})
        rsps.add(responses.POST, BASE + PATH_DEVICES, json={"page": {"total": 0}, "list": []})
        c = client(clock=lambda: now[0], token_refresh_buffer_s=100)
        c.list_devices()
        now[0] += 99
        c.list_devices()
        now[0] += 1
        c.list_devices()
        tokens = [call.request.headers.get("X-Authorization") for call in rsps.calls
                  if call.request.url.endswith(PATH_DEVICES)]
    assert tokens == ["opaque-token-1", "opaque-token-1", "opaque-token-2"]
    assert c.logins == 2


# --- shapes the simulator cannot produce -----------------------------------------------------
def test_A360_6_row4_html_error_page_is_retriable_http_without_code():
    rec = Recorder()
    with responses.RequestsMock() as rsps:
        add_login(rsps)
        for _ in range(3):
            rsps.add(responses.POST, BASE + PATH_DEVICES, status=502, content_type="text/html",
                     body="<html><body><h1>502 Bad Gateway</h1></body></html>")
        c = client(sleep=rec)
        with pytest.raises(A360Error) as ei:
            c.list_devices()
    err = ei.value
    assert (err.kind, err.status_code, err.code, err.retriable) == ("http", 502, None, True)
    assert "<html" not in err.message and "502" in err.message and PATH_DEVICES in err.message
    assert len(rec.waits) == 2
    assert 1.0 <= rec.waits[0] <= 1.2 and 2.0 <= rec.waits[1] <= 2.4


def test_A360_6_row4_non_json_5xx_on_deploy_not_retried():
    with responses.RequestsMock() as rsps:
        add_login(rsps)
        rsps.add(responses.POST, BASE + PATH_DEPLOY, status=503, body="Service Unavailable",
                 content_type="text/plain")
        c = client()
        with pytest.raises(A360Error) as ei:
            c.deploy(5120, 731, {}, "http://sam/api/callback")
        assert sum(1 for call in rsps.calls if call.request.url.endswith(PATH_DEPLOY)) == 1
    assert (ei.value.kind, ei.value.status_code, ei.value.retriable) == ("http", 503, True)


def test_A360_6_row8_2xx_without_json_is_protocol_error():
    with responses.RequestsMock() as rsps:
        add_login(rsps)
        rsps.add(responses.POST, BASE + PATH_DEVICES, status=200, body="<html>OK</html>",
                 content_type="text/html")
        c = client()
        with pytest.raises(A360Error) as ei:
            c.list_devices()
        assert len(rsps.calls) == 2          # protocol errors are not retried
    assert (ei.value.kind, ei.value.retriable) == ("protocol", False)


def test_A360_6_row8_deploy_2xx_without_deployment_id_is_protocol_error():
    with responses.RequestsMock() as rsps:
        add_login(rsps)
        rsps.add(responses.POST, BASE + PATH_DEPLOY, status=201, json={"status": "ok"})
        c = client()
        with pytest.raises(A360Error) as ei:
            c.deploy(5120, 731, {}, "http://sam/api/callback")
    assert (ei.value.kind, ei.value.retriable) == ("protocol", False)


def test_A360_2_6_deploy_accepts_200_and_sends_body():
    with responses.RequestsMock() as rsps:
        add_login(rsps)
        rsps.add(responses.POST, BASE + PATH_DEPLOY, status=200, json={"deploymentId": "abc-1", "x": 1})
        c = client()
        dep = c.deploy(5120, 731, {"in_A": {"type": "STRING", "string": "v"}}, "http://sam/cb",
                       {"X-Authorization": "callback-token-123456"})
        sent = json.loads(rsps.calls[1].request.body)
    assert dep == "abc-1"
    assert sent == {"fileId": 5120, "runAsUserIds": [731],
                    "botInput": {"in_A": {"type": "STRING", "string": "v"}},
                    "callbackInfo": {"url": "http://sam/cb",
                                     "headers": {"X-Authorization": "callback-token-123456"}}}


def test_A360_2_1_login_without_token_is_protocol_error():
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, BASE + PATH_LOGIN, json={"user": {"id": 1}})
        c = client()
        with pytest.raises(A360Error) as ei:
            c.deploy(1, 2, {}, "http://x")
    assert ei.value.kind == "protocol"


def test_A360_6_row1_refused_connection_is_retriable_transport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                    # nothing listens there now
    rec = Recorder()
    c = AutomationAnywhereClient(f"http://127.0.0.1:{port}", "svc", password="pw-secret-1", sleep=rec,
                                 timeout=2)
    with pytest.raises(A360Error) as ei:
        c.list_devices()
    assert (ei.value.kind, ei.value.status_code, ei.value.retriable) == ("transport", None, True)
    assert len(rec.waits) == 2                   # login is part of each attempt
    assert c.api_calls == 3
    assert "pw-secret-1" not in str(ei.value)


# --- pagination metadata variants (§7) -------------------------------------------------------
def _page(rows, **page):
    return {"page": page, "list": rows}


def test_A360_7_unknown_count_reads_until_empty_page_short_page_does_not_stop():
    with responses.RequestsMock() as rsps:
        add_login(rsps)
        rsps.add(responses.POST, BASE + PATH_USERS,
                 json=_page([{"id": 1, "username": "a"}, {"id": 2, "username": "b"}]))
        rsps.add(responses.POST, BASE + PATH_USERS, json=_page([{"id": 3, "username": "c"}]))
        rsps.add(responses.POST, BASE + PATH_USERS, json=_page([]))
        c = client(page_size=2)
        users = c.list_users([1, 2, 3][:2])
        offsets = [json.loads(call.request.body)["page"]["offset"] for call in rsps.calls[1:]]
    assert [u.id for u in users] == [1, 2, 3]
    assert offsets == [0, 2, 3]


def test_A360_7_total_filter_zero_beside_rows_is_unknown_and_total_ignored_with_filter():
    with responses.RequestsMock() as rsps:
        add_login(rsps)
        rsps.add(responses.POST, BASE + PATH_FILES,
                 json=_page([{"id": "1", "name": "a", "path": "p", "type": "application/vnd.aa.taskbot"}],
                            total=1, totalFilter=0))
        rsps.add(responses.POST, BASE + PATH_FILES,
                 json=_page([{"id": "2", "name": "b", "path": "p", "type": "application/vnd.aa.taskbot"},
                             {"id": "9", "name": "dir", "path": "p", "type": "application/vnd.aa.directory"}],
                            total=1))
        rsps.add(responses.POST, BASE + PATH_FILES, json=_page([], total=1))
        c = client()
        bots = c.list_taskbots()
    assert [b.id for b in bots] == [1, 2]


def test_A360_7_cap_reached_with_rows_left_raises_pagination():
    with responses.RequestsMock() as rsps:
        add_login(rsps)
        for i in range(2):
            rsps.add(responses.POST, BASE + PATH_DEVICES,
                     json=_page([{"id": str(i), "hostName": f"h{i}", "status": "CONNECTED"}], total=5))
        c = client(page_size=1, max_pages=2)
        with pytest.raises(A360Error) as ei:
            c.list_devices()
    assert (ei.value.kind, ei.value.retriable) == ("pagination", False)


def test_A360_7_cap_exactly_enough_is_fine_and_dedup_by_id():
    with responses.RequestsMock() as rsps:
        add_login(rsps)
        rsps.add(responses.POST, BASE + PATH_DEVICES,
                 json=_page([{"id": "1", "hostName": "a", "status": "CONNECTED",
                              "defaultUsers": [{"id": 7, "username": "u7"}]}], total=3, offset=0))
        rsps.add(responses.POST, BASE + PATH_DEVICES,
                 json=_page([{"id": "1", "hostName": "a", "status": "CONNECTED"},
                             {"id": "2", "hostName": "b", "status": "DISCONNECTED"}], total=3))
        c = client(page_size=2, max_pages=2)
        devices = c.list_devices()
    assert [(d.id, d.host_name, d.status, d.default_users) for d in devices] == [
        (1, "a", "CONNECTED", ((7, "u7"),)), (2, "b", "DISCONNECTED", ())]


def test_A360_2_7_activity_newest_start_wins_and_epoch_end_is_none():
    rows = [
        {"id": "a1", "deploymentId": "D1", "status": "running", "startDateTime": "2026-03-02T12:00:00Z",
         "endDateTime": "1970-01-01T00:00:00Z", "deviceId": "88", "userId": "731", "fileId": "5120"},
        {"id": "a2", "deploymentId": "D1", "status": "COMPLETED",
         "startDateTime": "2026-03-02T12:05:00.123456789Z", "endDateTime": "2026-03-02T12:09:00Z",
         "deviceId": "88", "userId": 731, "fileId": "5120", "message": ""},
    ]
    with responses.RequestsMock() as rsps:
        add_login(rsps)
        rsps.add(responses.POST, BASE + PATH_ACTIVITY, json=_page(rows, totalFilter=2))
        c = client()
        got = c.activity_by_deployment_ids(["D1", "D1"])
        body = json.loads(rsps.calls[1].request.body)
    assert body["filter"] == {"operator": "or",
                              "operands": [{"operator": "eq", "field": "deploymentId", "value": "D1"}]}
    act = got["D1"]
    assert act.status == "COMPLETED" and act.message is None
    assert act.start_utc == datetime(2026, 3, 2, 12, 5, 0, 123456, tzinfo=timezone.utc)
    assert (act.device_id, act.user_id, act.file_id) == (88, 731, 5120)


EPOCH = "1970-01-01T00:00:00Z"


def _act(dep, start, status="COMPLETED", end=None, file_id="5120", rid=None):
    return {"id": rid or f"{dep}_x", "deploymentId": dep, "status": status, "startDateTime": start,
            "endDateTime": end or EPOCH, "deviceId": "88", "userId": "731", "fileId": file_id}


class _ActivityCR:
    """A Control Room activity list for one device: sorts on startDateTime with the epoch
    ("not started") as the smallest value, pages by offset/length, counts calls, optional failure."""

    def __init__(self, rows, fail_on=None):
        self.rows, self.fail_on, self.calls = rows, fail_on, []

    def __call__(self, request):
        body = json.loads(request.body)
        direction = body["sort"][0]["direction"]
        offset, length = body["page"]["offset"], body["page"]["length"]
        self.calls.append((direction, offset))
        if self.fail_on == (direction, offset):
            return 503, {}, json.dumps({"code": "UNAVAILABLE", "message": "caído"})
        ordered = sorted(self.rows, key=lambda r: r["startDateTime"], reverse=direction == "desc")
        page = ordered[offset:offset + length]
        return 200, {}, json.dumps(_page(page, offset=offset, total=len(self.rows), totalFilter=len(self.rows)))


def _device_cr(rsps, cr):
    add_login(rsps)
    rsps.add_callback(responses.POST, BASE + PATH_ACTIVITY, callback=cr, content_type="application/json")


def test_L5_5_activity_by_device_keeps_rows_without_start_time():
    """A QUEUED/DEPLOYED deployment may have no start time yet: it is a candidate for L5.5."""
    since = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    cr = _ActivityCR([
        _act("QUEUED1", EPOCH, status="QUEUED"),
        _act("NEW", "2026-03-02T12:01:00Z", status="RUNNING"),
        _act("OLD", "2026-03-02T11:00:00Z", end="2026-03-02T11:10:00Z"),
        _act("REFUSED_LONG_AGO", EPOCH, status="DEPLOY_FAILED", end="2026-03-01T08:00:00Z"),
    ])
    with responses.RequestsMock() as rsps:
        _device_cr(rsps, cr)
        got = client().activity_by_device(88, since)
    assert [(a.deployment_id, a.start_utc) for a in got] == [
        ("QUEUED1", None), ("NEW", datetime(2026, 3, 2, 12, 1, tzinfo=timezone.utc))]
    assert got[0].status == "QUEUED" and got[0].file_id == 5120


def test_L5_5_activity_by_device_early_stop_still_finds_not_started_rows_sorted_last():
    """Stop paginating at rows older than ``since``; unstarted rows sorted last are read from the other end."""
    since = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    history = [_act(f"H{i}", f"2026-03-0{1 + i % 2}T0{i % 10}:00:00Z") for i in range(9)]
    cr = _ActivityCR([_act("NEW", "2026-03-02T12:00:30Z", status="RUNNING"),
                      _act("QUEUED1", EPOCH, status="QUEUED"), *history])
    with responses.RequestsMock() as rsps:
        _device_cr(rsps, cr)
        got = client(page_size=2).activity_by_device(88, since)
    assert [a.deployment_id for a in got] == ["QUEUED1", "NEW"]
    assert cr.calls == [("desc", 0), ("desc", 2), ("asc", 0)]  # never the 6 pages of the whole history


@pytest.mark.parametrize("fail_on", [("desc", 2), ("asc", 0)])
def test_L5_5_activity_by_device_failed_page_fails_the_call_never_partial(fail_on):
    since = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    rows = [_act(f"N{i}", f"2026-03-02T12:0{i}:00Z", status="RUNNING") for i in range(3)]
    rows += [_act(f"H{i}", f"2026-03-01T0{i}:00:00Z") for i in range(4)] + [_act("Q", EPOCH, status="QUEUED")]
    cr = _ActivityCR(rows, fail_on=fail_on)
    with responses.RequestsMock() as rsps:
        _device_cr(rsps, cr)
        with pytest.raises(A360Error) as ei:
            client(page_size=2).activity_by_device(88, since)
    assert ei.value.status_code == 503 and ei.value.retriable
    assert cr.calls.count(fail_on) == 3  # retried twice, then the whole call fails


def test_A360_5_repr_and_config_validation_hide_secrets():
    c = client(password="S3cr3t-Pass!")
    assert "S3cr3t" not in repr(c)
    with pytest.raises(ValueError):
        AutomationAnywhereClient(BASE, "u", password="p", page_size=0)
    with pytest.raises(ValueError):
        AutomationAnywhereClient(BASE, "u", password="p", max_pages=0)
    with pytest.raises(ValueError):
        AutomationAnywhereClient(BASE, "u")


def test_A360_1_from_config_reads_aa_and_api_settings(tmp_path):
    from common.utils.config_manager import load_config

    env = {"AA_URL": "https://cr.example.test/", "AA_USER": "svc_sam", "AA_API_KEY": "key-0123456789",
           "AA_URL_CALLBACK": "http://sam:8008/api/callback", "CALLBACK_TOKEN": "t" * 20,
           "SQL_SAM_ENGINE": "sqlite", "API_DEFAULT_PAGE_SIZE": "50", "API_MAX_PAGINATION_PAGES": "7",
           "AA_API_TIMEOUT_SECONDS": "12", "AA_TOKEN_REFRESH_BUFFER_SEC": "600", "AA_VERIFY_SSL": "false",
           "AA_ROBOTS_FILTRO_RUTA": "Finanzas", "AA_ROBOTS_FILTRO_NOMBRE": r"^P\d+_"}
    cfg = load_config("lanzador", environ=env, root=tmp_path)
    c = AutomationAnywhereClient.from_config(cfg)
    assert (c.base_url, c.username, c.page_size, c.max_pages, c.timeout, c.token_refresh_buffer_s,
            c.verify_ssl, c.path_filter) == ("https://cr.example.test", "svc_sam", 50, 7, 12.0, 600.0,
                                             False, "Finanzas")
    assert c.name_regex.search("P0410_Conciliacion") and not c.name_regex.search("Otro")
    assert "key-0123456789" not in repr(c)

    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, "https://cr.example.test" + PATH_LOGIN, json={"token": "tok-abc"})
        rsps.add(responses.POST, "https://cr.example.test" + PATH_FILES, json=_page([
            {"id": "1", "name": "P0410_Conciliacion", "path": "Automation Anywhere\\Bots\\FINANZAS\\P0410",
             "type": "application/vnd.aa.taskbot"},
            {"id": "2", "name": "Otro", "path": "Automation Anywhere\\Bots\\Finanzas\\Otro",
             "type": "application/vnd.aa.taskbot"},
            {"id": "3", "name": "P0500_Nominas", "path": "Automation Anywhere\\Bots\\RRHH\\P0500",
             "type": "application/vnd.aa.taskbot"}], totalFilter=3))
        bots = c.list_taskbots()
        login = json.loads(rsps.calls[0].request.body)
        assert rsps.calls[1].request.headers["X-Authorization"] == "tok-abc"
    assert login == {"username": "svc_sam", "apiKey": "key-0123456789"}
    assert [b.id for b in bots] == [1]          # path substring (case-insensitive) + name regex, locally


class _RecordingSession:
    """A stand-in session that records the keyword arguments of every post."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def post(self, url, **kw):
        self.calls.append({"url": url, **kw})
        resp = __import__("requests").Response()
        resp.status_code = 200 if url.endswith(PATH_LOGIN) else 204
        resp._content = json.dumps({"token": "tok-1"}).encode() if url.endswith(PATH_LOGIN) else b""
        return resp

    def close(self) -> None:
        pass


@pytest.mark.parametrize("verify", [True, False])
def test_A360_1_every_request_has_timeouts_and_tls_setting(verify):
    sess = _RecordingSession()
    c = AutomationAnywhereClient(BASE, "svc", password="pw-1234", timeout=7, verify_ssl=verify, session=sess)
    c._current_token()
    c.logout()
    assert [call["url"] for call in sess.calls] == [BASE + PATH_LOGIN, BASE + "/v1/authentication/logout"]
    assert sess.calls[0]["timeout"] == (7.0, 7.0) and sess.calls[1]["timeout"] == (5.0, 5.0)
    assert all(call["verify"] is verify for call in sess.calls)
    assert "Authorization" not in sess.calls[0]["headers"] and "X-Authorization" not in sess.calls[0]["headers"]
    assert sess.calls[1]["headers"]["X-Authorization"] == "tok-1"
    assert json.loads(sess.calls[1]["data"]) == {"token": "tok-1"}
    assert c.api_calls == 2


def test_A360_7_list_response_without_list_is_protocol_error_never_empty():
    with responses.RequestsMock() as rsps:
        add_login(rsps)
        rsps.add(responses.POST, BASE + PATH_DEVICES, json={"page": {"offset": 0, "total": 0}})
        c = client()
        with pytest.raises(A360Error) as ei:
            c.list_devices()
    assert (ei.value.kind, ei.value.retriable) == ("protocol", False)


def test_A360_1_utf8_json_decoded_whatever_the_content_type():
    with responses.RequestsMock() as rsps:
        add_login(rsps)
        rsps.add(responses.POST, BASE + PATH_FILES, content_type="text/plain",
                 body=json.dumps({"page": {"totalFilter": 1}, "list": [
                     {"id": "5", "name": "P0010_Conciliación", "path": "x", "description": "Conciliación bancaria",
                      "type": "application/vnd.aa.taskbot"}]}, ensure_ascii=False).encode("utf-8"))
        bots = client().list_taskbots()
    assert bots[0].name == "P0010_Conciliación" and bots[0].description == "Conciliación bancaria"
