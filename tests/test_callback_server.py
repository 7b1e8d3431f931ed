"""Callback server (BEHAVIOUR L4): the WSGI app called directly and over real waitress, SQLite DB."""

from __future__ import annotations

import io
import json
import shutil
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import requests

from callback.app import CallbackApp, build_server
from common.clock import FixedClock
from common.database import ejecuciones as E
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.wsgi_server import ThreadedServer

TOKEN = "token-de-prueba-0123456789"
START = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)  # 10:00 in Madrid


@pytest.fixture
def clock():
    return FixedClock(START, "Europe/Madrid")


@pytest.fixture
def db(tmp_path):
    client = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db", max_retries=0, retry_base_delay=0)
    ensure_schema(client)
    yield client
    client.close_all()


@pytest.fixture
def app(db, clock):
    return CallbackApp(db, token=TOKEN, clock=clock)


def call(app, method="POST", path="/api/callback", body=b"", headers=None, content_length=True):
    """Invoke the WSGI app directly; returns (status int, json body, headers dict)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "test",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }
    if content_length:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    captured = {}

    def start_response(status, hdrs, exc_info=None):
        captured["status"] = int(status.split()[0])
        captured["headers"] = dict(hdrs)

    chunks = app(environ, start_response)
    raw = b"".join(chunks)
    return captured["status"], json.loads(raw.decode("utf-8")), captured["headers"]


AUTH = {"X-Authorization": TOKEN}


def _execution(db, dep, estado="DEPLOYED", equipo=1):
    eid = E.insert_intent(db, robot_id=1, equipo_id=equipo, user_id=1, hora=None, fecha_slot=None,
                          now=datetime(2026, 3, 2, 9, 59))
    if dep is not None:
        E.mark_deployed(db, eid, dep, datetime(2026, 3, 2, 9, 59))
        if estado != "DEPLOYED":
            E.apply_status(db, dep, estado, datetime(2026, 3, 2, 9, 59))
    return eid


def _callbacks(db):
    return db.query("SELECT * FROM CallbacksRecibidos ORDER BY CallbackId")


def _row(db, eid):
    return E.get_execution(db, eid)


# ---------------------------------------------------------------------------------------- happy path


def test_L4_3_terminal_callback_applied_with_local_fecha_fin(app, db):
    eid = _execution(db, "dep-1", "RUNNING")
    status, body, headers = call(app, body={"deploymentId": "dep-1", "status": "RUN_COMPLETED",
                                            "botOutput": {"x": {"type": "STRING", "string": "ñ"}}}, headers=AUTH)
    assert status == 200 and body["estado"] == "aplicado"
    assert headers["Content-Type"].startswith("application/json")
    row = db.query_one("SELECT * FROM Ejecuciones WHERE EjecucionId = ?", (eid,))
    assert row["Estado"] == "RUN_COMPLETED"
    assert row["FechaFin"] == datetime(2026, 3, 2, 10, 0, 0)  # local (Europe/Madrid) now
    assert json.loads(row["CallbackInfo"])["botOutput"]["x"]["string"] == "ñ"
    assert [(c["Estado"], c["Aplicado"]) for c in _callbacks(db)] == [("RUN_COMPLETED", 1)]


def test_L4_3_status_case_insensitive_stored_upper(app, db):
    eid = _execution(db, "dep-1")
    assert call(app, body={"deploymentId": "dep-1", "status": "run_failed"}, headers=AUTH)[0] == 200
    assert _row(db, eid)["Estado"] == "RUN_FAILED"


def test_L4_3_duplicate_is_200_noop(app, db, clock):
    eid = _execution(db, "dep-1")
    cb = {"deploymentId": "dep-1", "status": "RUN_COMPLETED"}
    assert call(app, body=cb, headers=AUTH)[0] == 200
    clock.advance(60)
    status, body, _ = call(app, body=cb, headers=AUTH)
    assert status == 200 and body["estado"] == "duplicado"
    assert _row(db, eid)["FechaFin"] == datetime(2026, 3, 2, 10, 0, 0)  # unchanged by the duplicate


def test_L4_3_out_of_order_running_after_completed_ignored(app, db):
    eid = _execution(db, "dep-1")
    assert call(app, body={"deploymentId": "dep-1", "status": "RUN_COMPLETED"}, headers=AUTH)[0] == 200
    status, body, _ = call(app, body={"deploymentId": "dep-1", "status": "RUNNING"}, headers=AUTH)
    assert status == 200 and body["estado"] == "ignorado"
    assert _row(db, eid)["Estado"] == "RUN_COMPLETED"


def test_L4_3_unknown_deployment_202_pending_then_applied_by_mark_deployed(app, db, clock):
    eid = _execution(db, None)  # intent written, deploy not yet recorded
    status, body, _ = call(app, body={"deploymentId": "dep-late", "status": "RUN_COMPLETED"}, headers=AUTH)
    assert status == 202 and body["estado"] == "pendiente"
    assert [(c["DeploymentId"], c["Aplicado"]) for c in _callbacks(db)] == [("dep-late", 0)]
    assert _row(db, eid)["Estado"] == "LANZANDO"
    clock.advance(5)
    E.mark_deployed(db, eid, "dep-late", clock.now_local())
    row = _row(db, eid)
    assert row["Estado"] == "RUN_COMPLETED" and row["FechaFin"] == datetime(2026, 3, 2, 10, 0, 0)
    assert [c["Aplicado"] for c in _callbacks(db)] == [1]


def test_L4_1_unrecognised_status_accepted_as_active_and_logged_once(app, db, caplog):
    eid = _execution(db, "dep-1")
    with caplog.at_level("WARNING", logger="sam.callback"):
        for _ in range(3):
            assert call(app, body={"deploymentId": "dep-1", "status": "botstore_raro"}, headers=AUTH)[0] == 200
    assert _row(db, eid)["Estado"] == "BOTSTORE_RARO"
    assert sum("BOTSTORE_RARO" in r.getMessage() for r in caplog.records) == 1


def test_L4_1_status_of_40_chars_accepted_51_refused(app, db):
    """Choice: a status is refused only when it cannot be stored verbatim (over NVARCHAR(50))."""
    eid = _execution(db, "dep-1")
    s40 = "X" * 40
    assert call(app, body={"deploymentId": "dep-1", "status": s40}, headers=AUTH)[0] == 200
    assert _row(db, eid)["Estado"] == s40
    status, body, _ = call(app, body={"deploymentId": "dep-1", "status": "Y" * 51}, headers=AUTH)
    assert status == 400 and body["estado"] == "error"
    assert len(_callbacks(db)) == 1


def test_L4_1_column_sizes_counted_like_sql_server_nvarchar(app, db):
    """30 emoji are 60 UTF-16 units: over NVARCHAR(50) on SQL Server (an error there, so a 5xx and
    redelivery); refused with 400 here on every engine, nothing written."""
    eid = _execution(db, "dep-1")
    status, body, _ = call(app, body={"deploymentId": "dep-1", "status": "\U0001F600" * 30}, headers=AUTH)
    assert status == 400 and body["estado"] == "error"
    status, _, _ = call(app, body={"deploymentId": "\U0001F600" * 60, "status": "RUNNING"}, headers=AUTH)
    assert status == 400
    assert _callbacks(db) == [] and _row(db, eid)["Estado"] == "DEPLOYED"
    assert call(app, body={"deploymentId": "dep-1", "status": "\U0001F600" * 25}, headers=AUTH)[0] == 200

def test_L4_3_sql_metacharacters_stored_verbatim(app, db):
    dep = "'; DROP TABLE Ejecuciones; --"
    eid = _execution(db, dep)
    raw = json.dumps({"deploymentId": dep, "status": "RUN_FAILED", "message": "a'b\"c;--/*"})
    status, _, _ = call(app, body=raw, headers=AUTH)
    assert status == 200
    assert _row(db, eid)["Estado"] == "RUN_FAILED"
    assert _callbacks(db)[0]["Payload"] == raw and _callbacks(db)[0]["DeploymentId"] == dep


def test_L4_1_extra_fields_and_number_ids_ignored(app, db):
    _execution(db, "dep-1")
    body = {"deploymentId": "dep-1", "status": "RUN_COMPLETED", "userId": 731, "deviceId": 88, "extra": [1, {}]}
    assert call(app, body=body, headers=AUTH)[0] == 200


# ---------------------------------------------------------------------------------------- 4xx cases


@pytest.mark.parametrize("headers", [{}, {"X-Authorization": "malo"}, {"X-Authorization": TOKEN + "x"},
                                     {"Authorization": "Bearer " + TOKEN}, {"X-Authorization": ""}])
def test_L4_2_missing_or_wrong_token_401_nothing_written(app, db, headers):
    eid = _execution(db, "dep-1")
    status, body, _ = call(app, body={"deploymentId": "dep-1", "status": "RUN_COMPLETED"}, headers=headers)
    assert status == 401 and body["estado"] == "no_autorizado"
    assert _callbacks(db) == [] and _row(db, eid)["Estado"] == "DEPLOYED"


def test_L4_2_auth_mode_none_accepts_without_token(db, clock):
    app = CallbackApp(db, token=None, auth_mode="none", clock=clock)
    _execution(db, "dep-1")
    assert call(app, body={"deploymentId": "dep-1", "status": "RUN_COMPLETED"})[0] == 200


def test_L4_2_required_mode_without_token_is_a_configuration_error(db):
    with pytest.raises(ValueError):
        CallbackApp(db, token="", auth_mode="required")


@pytest.mark.parametrize(
    "body",
    [
        b"no es json",
        b"\xff\xfe\x00",
        b"",
        b"[]",
        b'[{"deploymentId": "dep-1", "status": "RUN_COMPLETED"}]',
        b'"texto"',
        b"null",
        b"{}",
        b'{"deploymentId": "dep-1"}',
        b'{"status": "RUN_COMPLETED"}',
        b'{"deploymentId": 12, "status": "RUN_COMPLETED"}',
        b'{"deploymentId": "dep-1", "status": null}',
        b'{"deploymentId": "", "status": "RUN_COMPLETED"}',
        b'{"deploymentId": "dep-1", "status": "   "}',
        b'{"deploymentId": "\\ud800", "status": "RUN_COMPLETED"}',
        b"[" * 100000,
        b'{"deploymentId": "' + b"d" * 101 + b'", "status": "RUN_COMPLETED"}',
    ],
)
def test_L4_1_bad_bodies_400_nothing_written(app, db, body):
    eid = _execution(db, "dep-1")
    status, resp, _ = call(app, body=body, headers=AUTH)
    assert status == 400 and resp["estado"] == "error" and resp["mensaje"]
    assert _callbacks(db) == [] and _row(db, eid)["Estado"] == "DEPLOYED"


def test_L4_1_body_over_limit_413_by_content_length_and_by_read(app, db):
    _execution(db, "dep-1")
    big = b'{"deploymentId": "dep-1", "status": "RUN_COMPLETED", "x": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    status, body, _ = call(app, body=big, headers=AUTH)
    assert status == 413 and body["estado"] == "error"
    # no Content-Length (chunked): the read itself is capped
    status, _, _ = call(app, body=big, headers=AUTH, content_length=False)
    assert status == 413
    assert _callbacks(db) == []


def test_L4_1_invalid_content_length_400(app):
    environ_headers = dict(AUTH)
    status, _, _ = call(app, body=b"{}", headers=environ_headers, content_length=False)
    assert status == 400  # empty body is not JSON
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/callback", "CONTENT_LENGTH": "-5",
               "HTTP_X_AUTHORIZATION": TOKEN, "wsgi.input": io.BytesIO(b"{}")}
    out = {}
    app(environ, lambda s, h, e=None: out.setdefault("s", s))
    assert out["s"].startswith("400")


def test_L4_1_other_paths_404_other_methods_405(app):
    assert call(app, path="/otra", headers=AUTH)[0] == 404
    assert call(app, path="/", method="GET")[0] == 404
    status, body, headers = call(app, method="GET", headers=AUTH)
    assert status == 405 and headers["Allow"] == "POST" and body["estado"] == "error"
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"):
        assert call(app, method=method, headers=AUTH)[0] == 405
    assert call(app, method="POST", path="/health")[0] == 405


def test_L4_1_custom_endpoint_path(db, clock):
    app = CallbackApp(db, token=TOKEN, endpoint_path="/sam/cb", clock=clock)
    _execution(db, "dep-1")
    assert call(app, path="/api/callback", body={"deploymentId": "dep-1", "status": "RUN_COMPLETED"},
                headers=AUTH)[0] == 404
    assert call(app, path="/sam/cb", body={"deploymentId": "dep-1", "status": "RUN_COMPLETED"},
                headers=AUTH)[0] == 200


# ---------------------------------------------------------------------------------------- health / DB down


def test_L4_4_health_200_with_db(app):
    status, body, _ = call(app, method="GET", path="/health")
    assert status == 200 and body["estado"] == "ok"


def test_L4_4_db_down_503_then_recovers(tmp_path, clock):
    target = tmp_path / "caida.db"
    target.mkdir()  # a directory where the DB file should be: every connection fails
    down = DatabaseClient(engine="sqlite", sqlite_path=target, max_retries=0, retry_base_delay=0)
    app = CallbackApp(down, token=TOKEN, clock=clock)
    assert call(app, method="GET", path="/health")[0] == 503
    status, body, _ = call(app, body={"deploymentId": "dep-1", "status": "RUN_COMPLETED"}, headers=AUTH)
    assert status == 503 and body["estado"] == "error"
    # the DB comes back: the same app serves again
    shutil.rmtree(target)
    ensure_schema(down)
    assert call(app, method="GET", path="/health")[0] == 200
    _execution(down, "dep-1")
    assert call(app, body={"deploymentId": "dep-1", "status": "RUN_COMPLETED"}, headers=AUTH)[0] == 200
    down.close_all()


# ---------------------------------------------------------------------------------------- real waitress


@contextmanager
def serving(app, **cfg_overrides):
    cfg = SimpleNamespace(CALLBACK_MAX_BODY_BYTES=app.max_body_bytes, CALLBACK_SERVER_HOST="127.0.0.1",
                          CALLBACK_SERVER_PORT=0, CALLBACK_SERVER_THREADS=4, **cfg_overrides)
    served = ThreadedServer(server=build_server(app, cfg), name="callback-test")
    try:
        yield f"http://127.0.0.1:{served.port}"
    finally:
        served.close()


def test_L4_over_waitress_all_cases_and_still_serving(app, db):
    eid = _execution(db, "dep-1")
    with serving(app) as base, requests.Session() as s:
        url = base + "/api/callback"
        assert s.get(base + "/health", timeout=10).status_code == 200
        assert s.post(url, data=b"{}", timeout=10).status_code == 401
        assert s.post(url, data=b"nope", headers=AUTH, timeout=10).status_code == 400
        assert s.post(url, json=[1], headers=AUTH, timeout=10).status_code == 400
        r = s.post(url, data=b"x" * (2 * 1024 * 1024), headers=AUTH, timeout=30)
        assert r.status_code == 413 and r.json()["estado"] == "error"
        assert s.get(url, timeout=10).status_code == 405
        assert s.get(base + "/nada", timeout=10).status_code == 404
        r = s.post(url, json={"deploymentId": "otro", "status": "RUN_COMPLETED"}, headers=AUTH, timeout=10)
        assert r.status_code == 202
        r = s.post(url, json={"deploymentId": "dep-1", "status": "RUN_COMPLETED"}, headers=AUTH, timeout=10)
        assert r.status_code == 200 and r.json() == {"estado": "aplicado",
                                                      "mensaje": "Estado RUN_COMPLETED aplicado a la ejecución."}
        assert s.get(base + "/health", timeout=10).status_code == 200
    assert _row(db, eid)["Estado"] == "RUN_COMPLETED"


def test_L4_over_waitress_concurrent_callbacks_none_lost(app, db):
    deps = [f"dep-{i}" for i in range(60)]
    for i, dep in enumerate(deps):
        _execution(db, dep, equipo=i)
    results = []

    def send(chunk):
        with requests.Session() as s:
            for dep in chunk:
                r = s.post(base + "/api/callback", json={"deploymentId": dep, "status": "RUN_COMPLETED"},
                           headers=AUTH, timeout=30)
                results.append(r.status_code)

    with serving(app) as base:
        threads = [threading.Thread(target=send, args=(deps[i::6],)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results.count(200) == len(deps)
    assert db.query_one("SELECT COUNT(*) AS n FROM Ejecuciones WHERE Estado = 'RUN_COMPLETED'")["n"] == len(deps)
    assert db.query_one("SELECT COUNT(*) AS n FROM CallbacksRecibidos WHERE Aplicado = 1")["n"] == len(deps)


def test_clock_local_time_is_used(app, db, clock):
    eid = _execution(db, "dep-1")
    clock.advance(3600)
    call(app, body={"deploymentId": "dep-1", "status": "RUN_ABORTED"}, headers=AUTH)
    assert _row(db, eid)["FechaFin"] == datetime(2026, 3, 2, 10, 0, 0) + timedelta(hours=1)
