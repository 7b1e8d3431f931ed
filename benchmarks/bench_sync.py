"""Benchmark of the L1 sync: 5,000 taskbots + 5,000 devices from the simulator into SQLite.

Starts ``python -m demo.simulator --generate files=N,devices=N,users=U`` in a subprocess, then runs
``Sincronizador.sincronizar()`` twice against a fresh SQLite SAM DB (first sync = inserts, second =
updates of existing rows) and prints, per table: rows, DB statements, wall time; plus the A360 API
calls. The L1.4 rule is about the statement count: it must not grow with the number of rows.

    python benchmarks/bench_sync.py [--files 5000] [--devices 5000] [--users 1000] [--page-size 100]
"""

from __future__ import annotations

import argparse
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
from lanzador.service.sincronizador import Sincronizador  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--devices", type=int, default=5000)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--page-size", type=int, default=100)
    args = ap.parse_args(argv)

    proc, url = start_subprocess("--clock", "manual", "--log-level", "WARNING", "--generate",
                                 f"files={args.files},devices={args.devices},users={args.users}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = DatabaseClient(engine="sqlite", sqlite_path=Path(tmp) / "sam.db")
            ensure_schema(db)
            clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), "Europe/Madrid")
            print(f"Sincronización: {args.files} taskbots, {args.devices} equipos, {args.users} usuarios "
                  f"(página {args.page_size}), SQLite")
            for ronda in ("primera (inserciones)", "segunda (actualizaciones)"):
                aa = AutomationAnywhereClient(url, API_USERNAME, password=API_PASSWORD,
                                              page_size=args.page_size, timeout=120)
                clock.advance(60)
                t0 = time.perf_counter()
                res = Sincronizador(db, aa, clock=clock).sincronizar()
                total = time.perf_counter() - t0
                if not res.ok:
                    print(f"  ERROR: {res.errores}")
                    return 1
                print(f"  {ronda}: {total:.2f} s en total, {aa.api_calls} llamadas a la API de A360")
                for nombre, t in (("Equipos", res.equipos), ("Robots", res.robots)):
                    print(f"    {nombre:8s} {t.filas:6d} filas, {t.sentencias} sentencias SQL, "
                          f"{t.marcadas_ausentes} marcadas ausentes, {t.asignaciones_movidas} asignaciones movidas")
                aa.close()
            n_eq = db.query_one("SELECT COUNT(*) AS n FROM Equipos")["n"]
            n_rb = db.query_one("SELECT COUNT(*) AS n FROM Robots")["n"]
            print(f"  filas en la BD: Equipos={n_eq}, Robots={n_rb}")
            db.close_all()
            return 0 if (n_eq, n_rb) == (args.devices, args.files) else 1
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
