"""Test helpers: a callback receiver and a minimal raw-HTTP A360 session (no SAM client)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterable

import requests

from common.paths import PROJECT_ROOT
from common.wsgi_server import ThreadedServer

from .generate import API_PASSWORD, API_USERNAME


class CallbackReceiver:
    """A tiny waitress server on 127.0.0.1 that records every POST (headers + JSON body).

    ``statuses``: HTTP statuses answered in turn (the last repeats); default 200.
    """

    def __init__(self, statuses: Iterable[int] = (200,), path: str = "/api/callback") -> None:
        self.statuses = list(statuses) or [200]
        self.path = path
        self.received: list[dict] = []
        self._lock = threading.Lock()
        self._server = ThreadedServer(self._app, threads=4, name="callback-receiver")
        self.url = f"http://127.0.0.1:{self._server.port}{path}"

    def _app(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        headers = {"-".join(p.capitalize() for p in k[5:].split("_")): v
                   for k, v in environ.items() if k.startswith("HTTP_")}
        headers["Content-Type"] = environ.get("CONTENT_TYPE", "")
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with self._lock:
            index = len(self.received)
            status = self.statuses[min(index, len(self.statuses) - 1)]
            self.received.append({"path": environ.get("PATH_INFO"), "headers": headers, "body": body,
                                  "answered": status})
        start_response(f"{status} X", [("Content-Type", "application/json"), ("Content-Length", "2")])
        return [b"{}"]

    def bodies(self) -> list[dict]:
        with self._lock:
            return [r["body"] for r in self.received]

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> CallbackReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RawA360:
    """Plain ``requests`` calls against the simulator: login once, then POST with the token."""

    def __init__(self, base_url: str, username: str = API_USERNAME, password: str | None = API_PASSWORD,
                 api_key: str | None = None, multiple_login: bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.token: str | None = None
        self.username, self.password, self.api_key, self.multiple = username, password, api_key, multiple_login

    def login(self) -> requests.Response:
        body: dict = {"username": self.username}
        if self.api_key:
            body["apiKey"] = self.api_key
        else:
            body["password"] = self.password
            body["multipleLogin"] = self.multiple
        response = self.http.post(f"{self.base_url}/v2/authentication", json=body, timeout=30)
        if response.status_code == 200:
            self.token = response.json()["token"]
        return response

    def post(self, path: str, body: dict | None = None, *, token: str | None = None) -> requests.Response:
        if self.token is None and token is None:
            self.login()
        headers = {"X-Authorization": token or self.token or ""}
        return self.http.post(f"{self.base_url}{path}", json=body if body is not None else {},
                              headers=headers, timeout=60)

    def deploy(self, file_id: int, user_id: int, *, callback_url: str | None = None,
               headers: dict | None = None, bot_input: dict | None = None) -> requests.Response:
        body: dict = {"fileId": file_id, "runAsUserIds": [user_id]}
        if bot_input is not None:
            body["botInput"] = bot_input
        if callback_url:
            body["callbackInfo"] = {"url": callback_url, "headers": headers or {}}
        return self.post("/v3/automations/deploy", body)

    def activity(self, body: dict | None = None) -> list[dict]:
        response = self.post("/v3/activity/list", body or {"page": {"offset": 0, "length": 500}})
        response.raise_for_status()
        return response.json()["list"]

    def close(self) -> None:
        self.http.close()


def start_subprocess(*args: str) -> tuple[subprocess.Popen, str]:
    """``python -m demo.simulator --host 127.0.0.1 --port 0 <args>`` as a child process (so its CPU
    is not the caller's); returns the process and the URL it printed first. Benchmarks use it."""
    cmd = [sys.executable, "-m", "demo.simulator", "--host", "127.0.0.1", "--port", "0", *args]
    proc = subprocess.Popen(cmd, cwd=str(PROJECT_ROOT), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    line = proc.stdout.readline().strip() if proc.stdout else ""
    if not line.startswith("SIM_URL="):
        proc.kill()
        raise SystemExit(f"el simulador no arrancó (primera línea: {line!r})")
    # Keep draining stdout so the simulator never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    return proc, line.split("=", 1)[1]
