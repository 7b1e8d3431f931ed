"""H4 with real processes: two callback servers serve the same SAM DB at once; A360 (here the test,
as an HTTP balancer that sends every callback to both) reaches both, and each callback is applied
exactly once."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import requests

from common.database import ejecuciones as E
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from tests.test_callback_process import TOKEN, _start, _stop

pytestmark = pytest.mark.system

N = 20


def test_H4_two_callback_servers_at_once_each_callback_applied_once(tmp_path):
    uno, base1 = _start(tmp_path)
    dos, base2 = _start(tmp_path)
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(db)
    try:
        for i in range(N):
            eid = E.insert_intent(db, robot_id=1, equipo_id=100 + i, user_id=1, hora=None, fecha_slot=None,
                                  now=datetime(2026, 3, 2, 9, 0))
            E.mark_deployed(db, eid, f"dep-{i}", datetime(2026, 3, 2, 9, 0))

        def enviar(args):
            base, i = args
            r = requests.post(base + "/api/callback", json={"deploymentId": f"dep-{i}", "status": "RUN_COMPLETED"},
                              headers={"X-Authorization": TOKEN}, timeout=30)
            return i, r.status_code, r.json().get("estado")

        trabajos = [(b, i) for i in range(N) for b in (base1, base2)]
        with ThreadPoolExecutor(8) as pool:
            respuestas = list(pool.map(enviar, trabajos))
        assert {c for _, c, _ in respuestas} == {200}, respuestas
        for i in range(N):
            estados = sorted(e for j, _, e in respuestas if j == i)
            assert estados.count("aplicado") == 1, (i, estados)  # the other one finds it already applied
        filas = db.query("SELECT Estado, FechaFin FROM Ejecuciones")
        assert len(filas) == N and all(f["Estado"] == "RUN_COMPLETED" and f["FechaFin"] for f in filas)
    finally:
        db.close_all()
        assert _stop(uno, signal.SIGTERM) == 0
        assert _stop(dos, signal.SIGTERM) == 0
