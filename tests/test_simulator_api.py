"""Simulator endpoints over real HTTP (A360_API §1-§2, §8.2): lists, auth, deploy checks, faults."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from demo.simulator import API_KEY, API_PASSWORD, API_USERNAME, ControlRoomSimulator, generate_state
from demo.simulator.testing import RawA360

DEVICES = "/v2/devices/list"
USERS = "/v2/usermanagement/users/list"
FILES = "/v2/repository/workspaces/public/files/list"
DEPLOY = "/v3/automations/deploy"
ACTIVITY = "/v3/activity/list"
TASKBOT = "application/vnd.aa.taskbot"


@pytest.fixture(scope="module")
def sim():
    with ControlRoomSimulator(generate_state(files=30, devices=12, users=8, seed=3), seed=3, clock="manual",
                              start_time="2026-03-02T12:00:00Z", max_page_length=7) as simulator:
        yield simulator


@pytest.fixture()
def api(sim):
    client = RawA360(sim.url)
    yield client
    client.close()


def _jwt_payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# -- lists ------------------------------------------------------------------------------------
def test_S2_3_devices_sorted_with_default_users(api):
    body = api.post(DEVICES, {"sort": [{"field": "hostName", "direction": "asc"}],
                              "page": {"offset": 0, "length": 5}}).json()
    names = [d["hostName"] for d in body["list"]]
    assert names == sorted(names) and len(names) == 5
    assert body["page"] == {"offset": 0, "total": 12, "totalFilter": 12}
    first = body["list"][0]
    assert isinstance(first["id"], str) and first["id"].isdigit()
    assert first["defaultUsers"] and {"id", "username"} <= set(first["defaultUsers"][0])


def test_S1_default_sort_is_id_descending(api):
    ids = [int(d["id"]) for d in api.post(DEVICES, {}).json()["list"]]
    assert ids == sorted(ids, reverse=True)


def test_S1_page_length_clamped_and_offset_echoed(api):
    body = api.post(DEVICES, {"page": {"offset": 3, "length": 100}}).json()
    assert len(body["list"]) == 7  # max_page_length
    assert body["page"]["offset"] == 3


def test_S1_paging_reads_every_row_once(api):
    seen, offset = [], 0
    while True:
        rows = api.post(FILES, {"sort": [{"field": "name", "direction": "asc"}],
                                "page": {"offset": offset, "length": 7}}).json()["list"]
        if not rows:
            break
        seen += [r["id"] for r in rows]
        offset += len(rows)
    assert len(seen) == len(set(seen)) == api.post(FILES, {}).json()["page"]["total"]


def test_S2_4_users_or_filter_by_id(api):
    body = api.post(USERS, {"filter": {"operator": "or", "operands": [
        {"operator": "eq", "field": "id", "value": "700"}, {"operator": "eq", "field": "id", "value": "702"}]},
        "sort": [{"field": "username", "direction": "asc"}]}).json()
    assert [u["id"] for u in body["list"]] == [700, 702]
    assert body["page"]["totalFilter"] == 2 and body["page"]["total"] == 9
    assert all(isinstance(u["licenseFeatures"], list) and u["disabled"] is False for u in body["list"])


def test_S2_5_files_taskbot_filter_and_substring_case_insensitive(api):
    bots = api.post(FILES, {"filter": {"operator": "eq", "field": "type", "value": TASKBOT},
                            "page": {"offset": 0, "length": 7}}).json()
    assert bots["page"]["totalFilter"] == 30 and bots["page"]["total"] > 30  # folders exist too
    finanzas = api.post(FILES, {"filter": {"operator": "and", "operands": [
        {"operator": "eq", "field": "type", "value": TASKBOT},
        {"operator": "substring", "field": "path", "value": "\\finanzas\\"}]}}).json()
    assert finanzas["page"]["totalFilter"] > 0
    assert all("\\Finanzas\\" in f["path"] for f in finanzas["list"])


def test_S8_2_numeric_comparisons_and_not(api):
    body = api.post(DEVICES, {"filter": {"operator": "and", "operands": [
        {"operator": "ge", "field": "id", "value": "85"}, {"operator": "lt", "field": "id", "value": "90"},
        {"operator": "not", "operands": [{"operator": "eq", "field": "id", "value": "87"}]},
        {"operator": "ne", "field": "status", "value": "DISCONNECTED"}]}}).json()
    assert sorted(int(d["id"]) for d in body["list"]) == [85, 86, 88, 89]
    by_user = api.post(DEVICES, {"filter": {"operator": "eq", "field": "userId", "value": "701"}}).json()
    assert by_user["list"] and all(any(u["id"] == 701 for u in d["defaultUsers"]) for d in by_user["list"])
    one_operand = api.post(DEVICES, {"filter": {"operator": "or", "operands": [
        {"operator": "eq", "field": "hostName", "value": "VMRPA01"}]}}).json()
    assert [d["hostName"] for d in one_operand["list"]] == ["VMRPA01"]


def test_S8_2_unknown_filter_field_is_400(api):
    response = api.post(DEVICES, {"filter": {"operator": "eq", "field": "colour", "value": "red"}})
    assert response.status_code == 400
    assert set(response.json()) == {"code", "details", "message"}


def test_S8_2_deleted_users_not_listed(sim, api):
    sim.update("users", 707, deleted=True)
    try:
        body = api.post(USERS, {"filter": {"operator": "eq", "field": "id", "value": "707"}}).json()
        assert body["list"] == [] and body["page"]["totalFilter"] == 0
    finally:
        sim.update("users", 707, deleted=False)


# -- protocol errors --------------------------------------------------------------------------
def test_S8_2_unknown_path_404_other_method_405_non_json_400(sim, api):
    assert requests.post(f"{sim.url}/v9/nothing", json={}, timeout=10).status_code == 404
    wrong = requests.get(f"{sim.url}{DEVICES}", timeout=10)
    assert wrong.status_code == 405 and wrong.json()["code"] == "METHOD_NOT_ALLOWED"
    bad = requests.post(f"{sim.url}{DEVICES}", data=b"{not json", timeout=10,
                        headers={"X-Authorization": api.token or api.login().json()["token"]})
    assert bad.status_code == 400 and bad.json()["code"] == "BAD_REQUEST"


# -- authentication ---------------------------------------------------------------------------
def test_S2_1_login_password_returns_jwt_shaped_token(sim):
    response = requests.post(f"{sim.url}/v2/authentication", timeout=10,
                             json={"username": API_USERNAME, "password": API_PASSWORD, "multipleLogin": True})
    assert response.status_code == 200
    token = response.json()["token"]
    assert token.count(".") == 2
    payload = _jwt_payload(token)
    assert payload["sub"] == "12" and payload["exp"] - payload["iat"] == 1200
    assert response.json()["user"]["id"] == 12


def test_S2_1_login_errors(sim):
    url = f"{sim.url}/v2/authentication"
    assert requests.post(url, json={"username": API_USERNAME}, timeout=10).json()["code"] == "BAD_REQUEST"
    wrong = requests.post(url, json={"username": API_USERNAME, "password": "x"}, timeout=10)
    assert (wrong.status_code, wrong.json()["code"]) == (401, "AUTH_BAD_CREDENTIALS")
    no_key = requests.post(url, json={"username": "svc_rpa01", "apiKey": "abc"}, timeout=10)
    assert (no_key.status_code, no_key.json()["code"]) == (403, "FORBIDDEN")
    ok_key = requests.post(url, json={"username": API_USERNAME, "apiKey": API_KEY}, timeout=10)
    assert ok_key.status_code == 200


def test_S5_missing_token_is_UM1117_and_bearer_alone_counts_as_missing(sim):
    response = requests.post(f"{sim.url}{DEVICES}", json={}, timeout=10, headers={"Authorization": "Bearer x"})
    assert (response.status_code, response.json()["code"]) == (401, "UM1117")


def test_S5_expired_token_is_AUTH_TOKEN_EXPIRED(sim):
    api = RawA360(sim.url)
    api.login()
    sim.advance(1201)
    response = api.post(DEVICES, {})
    assert (response.status_code, response.json()["code"]) == (401, "AUTH_TOKEN_EXPIRED")


def test_S5_logout_revokes_token_with_204(sim):
    api = RawA360(sim.url)
    api.login()
    out = api.post("/v1/authentication/logout", {"token": api.token})
    assert out.status_code == 204 and out.content == b""
    again = api.post(DEVICES, {})
    assert (again.status_code, again.json()["code"]) == (401, "AUTH_LOGGED_OUT")


def test_S5_single_session_password_login_revokes_older_token(sim):
    first = RawA360(sim.url, username="svc_rpa01", password="Pwd.rpa01", multiple_login=True)
    first.login()
    assert first.post(DEVICES, {}).status_code == 200
    second = RawA360(sim.url, username="svc_rpa01", password="Pwd.rpa01", multiple_login=True)
    second.login()  # svc_rpa01 is not allowed multiple logins: the first token dies
    assert first.post(DEVICES, {}).json()["code"] == "AUTH_LOGGED_OUT"
    assert second.post(DEVICES, {}).status_code == 200
    # The API account allows multi-login: both tokens stay valid.
    a, b = RawA360(sim.url), RawA360(sim.url)
    a.login()
    b.login()
    assert a.post(DEVICES, {}).status_code == b.post(DEVICES, {}).status_code == 200


def test_S8_2_disabled_user_login_and_token_rejected(sim):
    api = RawA360(sim.url, username="svc_rpa03", password="Pwd.rpa03")
    api.login()
    sim.update("users", 702, disabled=True)
    try:
        assert api.post(DEVICES, {}).status_code == 401
        assert api.login().status_code == 401
    finally:
        sim.update("users", 702, disabled=False)


# -- deploy checks ----------------------------------------------------------------------------
@pytest.fixture()
def fresh():
    state = generate_state(files=4, devices=3, users=3, seed=1)
    state["users"].append({"id": 790, "username": "sin_equipo", "licenseFeatures": ["RUNTIME"]})
    state["files"][-1]["compatible"] = False
    with ControlRoomSimulator(state, seed=1, clock="manual", start_time=0) as simulator:
        yield simulator, RawA360(simulator.url)


def test_S2_6_deploy_check_order(fresh):
    sim, api = fresh
    incompatible = [f for f in sim.state()["files"] if f.get("compatible") is False][0]["id"]

    def code(file_id, user_id):
        response = api.deploy(file_id, user_id)
        return response.status_code, response.json().get("code")

    assert code(99999, 999) == (404, "NOT_FOUND")  # unknown file beats unknown user
    assert code(5000, 700) == (404, "NOT_FOUND")  # a folder is not a taskbot
    assert code(incompatible, 999) == (400, "INVALID_ARGUMENT")
    sim.update("users", 701, disabled=True)
    assert code(5100, 701) == (400, "INVALID_ARGUMENT")
    assert code(incompatible, 790) == (400, "NO_DEFAULT_DEVICE")
    sim.update("devices", 80, status="DISCONNECTED")
    assert code(incompatible, 700) == (412, "NO_COMPATIBLE_TARGETS")
    assert code(5100, 700) == (400, "DEVICE_NOT_CONNECTED")
    sim.configure(disconnected_policy="queue")
    assert code(5100, 700)[0] == 201
    sim.configure(busy_policy="reject")
    status, error = code(5101, 700)
    assert (status, error) == (412, "DEVICE_BUSY")
    assert "device is busy" in api.deploy(5101, 700).json()["message"]


def test_S2_6_deploy_201_with_uuid_and_recorded_body(fresh):
    sim, api = fresh
    bot_input = {"in_NumRepeticion": {"type": "NUMBER", "number": "3"},
                 "in_Flag": {"type": "BOOLEAN", "boolean": True}, "in_Lista": {"type": "LIST", "list": []}}
    response = api.post(DEPLOY, {"fileId": "5100", "runAsUserIds": ["700"], "botInput": bot_input,
                                 "callbackInfo": {"url": "http://127.0.0.1:9/cb", "headers": {"X-Authorization": "t"}},
                                 "poolIds": [], "overrideDefaultDevice": False})
    assert response.status_code == 201
    deployment_id = response.json()["deploymentId"]
    assert len(deployment_id) == 36 and deployment_id.count("-") == 4
    record = sim.deployment(deployment_id)
    assert record["botInput"] == bot_input and record["deviceId"] == 80
    assert record["callbackInfo"]["headers"] == {"X-Authorization": "t"}
    sim.configure(deploy_http_status=200)
    assert api.deploy(5101, 701).status_code == 200


@pytest.mark.parametrize("bot_input", [
    {"x": {"type": "WHATEVER", "whatever": 1}},
    {"x": {"type": "STRING", "number": "3"}},
    {"x": {"type": "NUMBER", "number": "tres"}},
    {"x": {"type": "BOOLEAN", "boolean": "quizá"}},
    {"x": "plain"},
    ["not", "an", "object"],
])
def test_S2_6_typed_bot_input_validated(fresh, bot_input):
    _, api = fresh
    response = api.post(DEPLOY, {"fileId": 5100, "runAsUserIds": [700], "botInput": bot_input})
    assert (response.status_code, response.json()["code"]) == (400, "BAD_REQUEST")


def test_S8_3_rule_scripted_error_then_normal(fresh):
    sim, api = fresh
    sim.configure(rules=[{"match": {"path": DEPLOY, "userId": 701}, "status": 500,
                          "code": "SESSION_START_FAILED", "times": 1}])
    first = api.deploy(5100, 701)
    assert (first.status_code, first.json()["code"]) == (500, "SESSION_START_FAILED")
    assert sim.deploys() == []  # no after_effect: nothing deployed
    assert api.deploy(5100, 701).status_code == 201


def test_S8_3_rule_after_effect_deploys_anyway(fresh):
    sim, api = fresh
    sim.configure(rules=[{"match": {"path": DEPLOY, "fileId": 5100}, "status": 504, "after_effect": True}])
    assert api.deploy(5100, 700).status_code == 504
    assert len(sim.deploys()) == 1 and sim.deploys()[0]["response"]["status"] == 504


def test_S8_3_rule_nth_page_fails(fresh):
    sim, api = fresh
    sim.configure(rules=[{"match": {"path": FILES, "nth": 3}, "status": 503}])
    statuses = [api.post(FILES, {"page": {"offset": i, "length": 1}}).status_code for i in range(5)]
    assert statuses == [200, 200, 503, 200, 200]


def test_S8_3_fault_rates_429_with_retry_after_and_5xx(fresh):
    sim, api = fresh
    api.login()
    sim.configure(fault_rates={DEVICES: {"429": 1.0}}, retry_after_s=7)
    limited = api.post(DEVICES, {})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    sim.configure(fault_rates={"*": {"5xx": 1.0}}, fault_5xx_statuses=[502])
    assert api.post(USERS, {}).status_code == 502
    sim.configure(fault_rates={"*": {"timeout": 1.0}}, timeout_hold_s=0.05)
    assert api.post(USERS, {}).status_code == 504
    sim.configure(fault_rates={})
    assert api.post(USERS, {}).status_code == 200


def test_S8_4_requests_log_records_calls(fresh):
    sim, api = fresh
    api.login()
    api.post(DEVICES, {"page": {"offset": 0, "length": 2}})
    calls = sim.requests(DEVICES)
    assert calls[-1]["status"] == 200 and calls[-1]["headers"]["X-Authorization"] == api.token
    assert calls[-1]["body"] == {"page": {"offset": 0, "length": 2}}
    assert all(not r["path"].startswith("/__sim") for r in sim.requests())


def test_S8_3_latency_and_hold_only_rule_delay_but_answer(fresh):
    sim, api = fresh
    api.login()
    sim.configure(latency_s={"*": 0, DEVICES: [0.01, 0.02]},
                  rules=[{"match": {"path": USERS}, "hold_s": 0.01, "times": 1}])
    assert api.post(DEVICES, {}).status_code == 200
    assert api.post(USERS, {}).status_code == 200


def test_S2_1_legacy_multiLogin_flag_and_single_session_off(fresh):
    sim, api = fresh
    sim.update("users", 12, multipleLoginAllowed=True)
    a = RawA360(sim.url)
    a.login()
    legacy = requests.post(f"{sim.url}/v2/authentication", timeout=10,
                           json={"username": API_USERNAME, "password": API_PASSWORD, "multiLogin": True})
    assert legacy.status_code == 200 and a.post(DEVICES, {}).status_code == 200
    no_flag = requests.post(f"{sim.url}/v2/authentication", timeout=10,
                            json={"username": API_USERNAME, "password": API_PASSWORD})
    assert no_flag.status_code == 200 and a.post(DEVICES, {}).status_code == 401  # revoked
    sim.configure(single_session=False)
    b = RawA360(sim.url, multiple_login=False)
    b.login()
    c = RawA360(sim.url, multiple_login=False)
    c.login()
    assert b.post(DEVICES, {}).status_code == 200


def test_S8_4_load_state_add_and_reset(fresh):
    sim, api = fresh
    sim.add("files", {"id": 7000, "name": "P7000_Nuevo", "parentId": 5001, "description": None})
    rows = api.post(FILES, {"filter": {"operator": "eq", "field": "id", "value": "7000"}}).json()["list"]
    assert rows == [{"id": "7000", "parentId": "5001", "name": "P7000_Nuevo",
                     "path": "Automation Anywhere\\Bots\\P7000_Nuevo", "type": TASKBOT, "description": None}]
    api.deploy(7000, 700)
    sim.reset()
    assert sim.deploys() == [] and sim.requests() == []
    assert 7000 not in [f["id"] for f in sim.state()["files"]]
    sim.load_state(generate_state(files=1, devices=1, users=1, seed=9))
    assert len(sim.state()["devices"]) == 1


def test_S8_5_wsgi_app_usable_without_server():
    sim = ControlRoomSimulator(generate_state(files=1, devices=1, users=1), clock="manual", serve=False)
    try:
        import io
        captured = {}

        def start_response(status, headers):
            captured["status"] = status

        body = json.dumps({"username": API_USERNAME, "password": API_PASSWORD}).encode()
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/v2/authentication", "CONTENT_LENGTH": str(len(body)),
                   "CONTENT_TYPE": "application/json", "wsgi.input": io.BytesIO(body), "QUERY_STRING": ""}
        payload = json.loads(b"".join(sim.wsgi_app(environ, start_response)))
        assert captured["status"].startswith("200") and payload["token"]
        assert sim.url is None
    finally:
        sim.close()


def test_S8_3_bad_knobs_rejected_in_spanish():
    with pytest.raises(ValueError, match="parámetro desconocido"):
        ControlRoomSimulator(generate_state(files=1, devices=1, users=1), serve=False, colour="red")
    with pytest.raises(ValueError, match="busy_policy"):
        ControlRoomSimulator(generate_state(files=1, devices=1, users=1), serve=False, busy_policy="maybe")


def test_S8_4_request_log_keeps_login_and_deploy_responses_and_list_pages(fresh):
    sim, api = fresh
    api.login()
    api.post(DEVICES, {})
    assert sim.requests("/v2/authentication")[-1]["response"]["token"] == api.token
    assert sim.requests(DEVICES)[-1]["response"] == {"page": {"offset": 0, "total": 3, "totalFilter": 3}, "rows": 3}


def test_S8_4_request_log_records_status_of_refused_calls(fresh):
    """A handler that raises (failed login, 401 token check, refused deploy) is logged with its status."""
    sim, api = fresh
    url = f"{sim.url}/v2/authentication"
    assert requests.post(url, json={"username": API_USERNAME, "password": "x"}, timeout=10).status_code == 401
    login = sim.requests("/v2/authentication")[-1]
    assert login["status"] == 401 and login["response"]["code"] == "AUTH_BAD_CREDENTIALS"
    assert requests.post(f"{sim.url}{DEVICES}", json={}, timeout=10).status_code == 401
    no_token = sim.requests(DEVICES)[-1]
    assert no_token["status"] == 401 and no_token["response"]["code"] == "UM1117"
    api.login()
    assert api.deploy(99999, 700).status_code == 404
    refused = sim.requests(DEPLOY)[-1]
    assert refused["status"] == 404 and refused["response"]["code"] == "NOT_FOUND"
    bad_json = requests.post(f"{sim.url}{USERS}", data=b"{no", timeout=10,
                             headers={"X-Authorization": api.token, "Content-Type": "application/json"})
    assert bad_json.status_code == 400
    assert sim.requests(USERS)[-1]["status"] == 400
    assert all(r["status"] is not None for r in sim.requests())
