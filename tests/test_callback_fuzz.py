"""L4.3: nothing a caller sends can crash the callback server (hypothesis fuzz of the WSGI app)."""

from __future__ import annotations

import io
import json
import string
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callback.app import CallbackApp
from common.clock import FixedClock
from common.database import ejecuciones as E
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.execution_states import TERMINAL_STATES

TOKEN = "token-de-fuzz-0123456789abcdef"
DEPS = [f"dep-{i}" for i in range(5)]
ALLOWED = {200, 202, 400, 401, 404, 405, 413}

statuses = st.one_of(
    st.sampled_from(sorted(TERMINAL_STATES) + ["RUNNING", "DEPLOYED", "UNKNOWN", "LANZANDO", "queued"]),
    st.text(max_size=60),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda c: st.one_of(st.lists(c, max_size=4),
                                                             st.dictionaries(st.text(max_size=8), c, max_size=4)),
                           max_leaves=12)
callback_objects = st.fixed_dictionaries(
    {},
    optional={
        "deploymentId": st.one_of(st.sampled_from(DEPS), st.text(max_size=120), json_scalars),
        "status": st.one_of(statuses, json_scalars),
        "userId": json_values,
        "botOutput": json_values,
    },
)
bodies = st.one_of(
    callback_objects.map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
methods = st.one_of(st.sampled_from(["POST", "GET", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]),
                    st.text(alphabet=string.ascii_letters, max_size=10))
paths = st.one_of(st.sampled_from(["/api/callback", "/api/callback/", "/health", "/", "/api", "//api/callback"]),
                  st.text(max_size=40).map(lambda t: "/" + t))
tokens = st.one_of(st.just(TOKEN), st.none(), st.text(max_size=40), st.just(TOKEN + " "))
lengths = st.one_of(st.none(), st.just("auto"), st.integers(min_value=-5, max_value=5_000_000).map(str),
                    st.text(max_size=6))
extra_headers = st.dictionaries(st.text(alphabet=string.ascii_uppercase + "_", min_size=1, max_size=12),
                                st.text(max_size=30), max_size=3)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "sam.db"
    db = DatabaseClient(engine="sqlite", sqlite_path=path, max_retries=0, retry_base_delay=0)
    ensure_schema(db)
    for i, dep in enumerate(DEPS):
        eid = E.insert_intent(db, robot_id=1, equipo_id=i, user_id=1, hora=None, fecha_slot=None,
                              now=datetime(2026, 3, 2, 9, 0))
        E.mark_deployed(db, eid, dep, datetime(2026, 3, 2, 9, 0))
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), "Europe/Madrid")
    app = CallbackApp(db, token=TOKEN, clock=clock, max_body_bytes=4096)
    yield app, db
    db.close_all()


def _invoke(app, method, path, body, token, length, extra):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body),
               "REMOTE_ADDR": "10.0.0.1", "SERVER_NAME": "x", "SERVER_PORT": "1"}
    for k, v in extra.items():
        environ["HTTP_" + k] = v
    if token is not None:
        environ["HTTP_X_AUTHORIZATION"] = token
    if length == "auto":
        environ["CONTENT_LENGTH"] = str(len(body))
    elif length is not None:
        environ["CONTENT_LENGTH"] = length
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = int(status.split()[0])
        seen["headers"] = headers

    out = b"".join(app(environ, start_response))
    return seen["status"], json.loads(out.decode("utf-8"))


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=methods, path=paths, body=bodies, token=tokens, length=lengths, extra=extra_headers)
def test_L4_3_fuzz_never_5xx_never_raises(env, method, path, body, token, length, extra):
    app, db = env
    status, payload = _invoke(app, method, path, body, token, length, extra)
    assert status in ALLOWED, (status, payload)
    # /health also names the version and its heartbeat's age (H5)
    campos = {"estado", "mensaje", "version", "latido_edad_seg"} if "version" in payload else {"estado", "mensaje"}
    assert set(payload) == campos and isinstance(payload["mensaje"], str)
    assert "version" not in payload or path.rstrip("/") == "/health"  # only /health names the version
    # terminal states are never regressed, whatever arrives
    for row in db.query("SELECT Estado, FechaFin FROM Ejecuciones"):
        if row["Estado"] in TERMINAL_STATES:
            assert row["FechaFin"] is not None


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies, token=tokens)
def test_L4_3_fuzz_with_db_down_only_503_as_5xx(tmp_path_factory, body, token):
    target = tmp_path_factory.getbasetemp() / "db-caida"
    target.mkdir(exist_ok=True)
    down = DatabaseClient(engine="sqlite", sqlite_path=target, max_retries=0, retry_base_delay=0)
    app = CallbackApp(down, token=TOKEN, max_body_bytes=4096)
    status, _ = _invoke(app, "POST", "/api/callback", body, token, "auto", {})
    assert status in ALLOWED | {503}
