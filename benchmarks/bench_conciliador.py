"""Conciliation round cost (BEHAVIOUR L5.4): 1,000 active executions, SQLite + the A360 simulator.

Deploys N bots on the in-process simulator (manual clock), records them as SAM would, then runs
conciliation rounds and prints, per round, the A360 API calls and the DB statements (targets for
1,000 actives: <= 10 calls and <= 12 statements), plus wall time.

Rounds: (1) everything RUNNING in A360 (state changes DEPLOYED -> RUNNING for all rows),
(2) nothing changed (no-op round), (3) every run ended (all rows terminal with local end times),
(4) a round of 1,000 ids that A360 has purged (not-found counters).

    python benchmarks/bench_conciliador.py [--executions 1000] [--batch 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common.clock import FixedClock  # noqa: E402
from common.database import ejecuciones as E  # noqa: E402
from common.database.schema import ensure_schema  # noqa: E402
from common.database.sql_client import DatabaseClient  # noqa: E402
from demo.simulator import API_PASSWORD, API_USERNAME, ControlRoomSimulator, generate_state  # noqa: E402
from lanzador.clients.aa_client import AutomationAnywhereClient  # noqa: E402
from lanzador.service.conciliador import Conciliador  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--executions", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100, help="LANZADOR_CONCILIADOR_BATCH_SIZE")
    args = ap.parse_args(argv)
    n = args.executions

    start = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    devices = max(1, n)  # one run per device so every run starts at once
    state = generate_state(files=5, devices=devices, users=devices)
    dev_user = {d["id"]: d["defaultUserIds"][0] for d in state["devices"]}
    bot = next(f["id"] for f in state["files"] if "taskbot" in str(f["type"]).lower())
    tmp = Path(tempfile.mkdtemp(prefix="sam-bench-conc-"))
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp / "sam.db")
    ensure_schema(db)
    clock = FixedClock(start, "Europe/Madrid")
    cfg = SimpleNamespace(LANZADOR_LANZANDO_TIMEOUT_SEG=120, LANZADOR_CONCILIADOR_BATCH_SIZE=args.batch,
                          CONCILIADOR_EDAD_MINIMA_SEG=30, CONCILIADOR_RONDAS_NO_ENCONTRADO=5,
                          CONCILIADOR_EDAD_NO_ENCONTRADO_MIN=15, CONCILIADOR_TOLERANCIA_UNKNOWN_MIN=120,
                          LANZADOR_MAX_DURACION_EJECUCION_MIN=480, SAM_FALLOS_CONSECUTIVOS_ALERTA=3)
    with ControlRoomSimulator(state, clock="manual", start_time="2026-03-02T09:00:00Z",
                              duration_s={"dist": "fixed", "value": 600}, outcomes={"success": 1.0},
                              start_delay_s=1, max_page_length=500) as sim:
        aa = AutomationAnywhereClient(sim.url, API_USERNAME, password=API_PASSWORD, clock=sim.now,
                                      page_size=100)
        t0 = time.perf_counter()
        for device, user in list(dev_user.items())[:n]:
            eid = E.insert_intent(db, robot_id=bot, equipo_id=device, user_id=user, hora=None, fecha_slot=None,
                                  now=clock.now_local())
            dep = aa.deploy(bot, user, {}, "http://127.0.0.1:9/api/callback")
            E.mark_deployed(db, eid, dep, clock.now_local())
        print(f"preparación: {n} despliegues registrados en {time.perf_counter() - t0:.1f} s")
        conc = Conciliador(db, aa, cfg, clock)

        def step(seconds: float) -> None:
            sim.advance(seconds)
            clock.advance(seconds)

        def round_(label: str) -> None:
            calls, stmts = aa.api_calls, db.statement_count
            t = time.perf_counter()
            result = conc.run_round()
            wall = time.perf_counter() - t
            states: dict[str, int] = {}
            for r in db.query("SELECT Estado, COUNT(*) AS n FROM Ejecuciones GROUP BY Estado"):
                states[r["Estado"]] = r["n"]
            print(f"{label}: llamadas API {aa.api_calls - calls} (objetivo <= 10), sentencias BD "
                  f"{db.statement_count - stmts} (objetivo <= 12), {wall:.2f} s; consultadas "
                  f"{result['consultadas']}, actualizadas {result['actualizadas']}, no encontradas "
                  f"{result['no_encontradas']}; estados {states}")

        step(60)
        round_("ronda 1 (todas RUNNING)")
        step(180)
        round_("ronda 2 (sin cambios)  ")
        step(600)
        round_("ronda 3 (todas acaban) ")
        # A360 purged everything: re-open the rows as DEPLOYED with fresh ids nobody knows.
        db.execute("UPDATE Ejecuciones SET Estado = 'DEPLOYED', FechaFin = NULL, "
                   "DeploymentId = 'purgado-' || EjecucionId")
        step(180)
        round_("ronda 4 (no encontradas)")
    db.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
