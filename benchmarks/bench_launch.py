"""Benchmark of one launch cycle (BEHAVIOUR L3.1): 200 online bots on 200 equipos, every deploy
answered by the simulator after 300 ms, 10 launch threads.

The ideal wall time is (bots / threads) × latency = 20 × 0.3 s = 6 s; the figure printed is
wall / ideal (target ≤ 1.15). The simulator runs in a subprocess (its own CPU); the SAM DB is SQLite.
Each launch does: intent INSERT (committed) → deploy → DEPLOYED UPDATE.

    python benchmarks/bench_launch.py [--bots 200] [--threads 10] [--latency 0.3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common.clock import FixedClock  # noqa: E402
from common.database.schema import ensure_schema  # noqa: E402
from common.database.sql_client import DatabaseClient  # noqa: E402
from demo.simulator import API_PASSWORD, API_USERNAME  # noqa: E402
from demo.simulator.testing import start_subprocess  # noqa: E402
from lanzador.clients.aa_client import AutomationAnywhereClient  # noqa: E402
from lanzador.service.desplegador import AjustesLanzamiento, Desplegador  # noqa: E402
from lanzador.service.sincronizador import Sincronizador  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bots", type=int, default=200)
    ap.add_argument("--threads", type=int, default=10)
    ap.add_argument("--latency", type=float, default=0.3)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        config = tmp / "sim.json"
        config.write_text(json.dumps({"latency_s": {"/v3/automations/deploy": args.latency}}), encoding="utf-8")
        proc, url = start_subprocess("--clock", "manual", "--log-level", "WARNING", "--config", str(config),
                                     "--generate", f"files={args.bots},devices={args.bots},users={args.bots}")
        try:
            db = DatabaseClient(engine="sqlite", sqlite_path=tmp / "sam.db")
            ensure_schema(db)
            clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), "Europe/Madrid")
            aa = AutomationAnywhereClient(url, API_USERNAME, password=API_PASSWORD, timeout=60)
            if not Sincronizador(db, aa, clock=clock).sincronizar().ok:
                print("ERROR: la sincronización inicial falló")
                return 1
            robots = [r["RobotId"] for r in db.query("SELECT RobotId FROM Robots ORDER BY RobotId")]
            equipos = [r["EquipoId"] for r in db.query("SELECT EquipoId FROM Equipos ORDER BY EquipoId")]
            with db.transaction() as tx:
                tx.execute("UPDATE Robots SET EsOnline = 1")
                tx.executemany("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado) VALUES (?, ?, 0)",
                               list(zip(robots, equipos, strict=False)))
            ajustes = AjustesLanzamiento(max_concurrentes=args.threads, url_callback="http://127.0.0.1:9/api/callback",
                                         token_callback="token-de-benchmark-0123456789")
            desplegador = Desplegador(db, aa, ajustes, clock=clock)
            clock.advance(1)
            db.reset_statement_count()
            t0 = time.perf_counter()
            resumen = desplegador.ciclo()
            wall = time.perf_counter() - t0
            desplegador.cerrar()
            ideal = (args.bots / args.threads) * args.latency
            print(f"Lanzamiento: {args.bots} robots, {args.threads} hilos, latencia de deploy {args.latency * 1000:.0f} ms")
            print(f"  seleccionados={resumen.seleccionados} desplegados={resumen.desplegados} "
                  f"fallidos={resumen.fallidos} sin_confirmar={resumen.inciertos}")
            print(f"  tiempo real {wall:.2f} s, ideal {ideal:.2f} s, real/ideal = {wall / ideal:.3f} (objetivo <= 1.15)")
            print(f"  sentencias SQL en el ciclo: {db.statement_count} "
                  f"({db.statement_count / max(1, resumen.seleccionados):.1f} por lanzamiento)")
            estados = db.query("SELECT Estado, COUNT(*) AS n FROM Ejecuciones GROUP BY Estado")
            print("  estados: " + ", ".join(f"{r['Estado']}={r['n']}" for r in estados))
            db.close_all()
            return 0 if resumen.desplegados == args.bots else 1
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
