"""Failover of the Lanzador on two "servers" (H2/H3) and the cost of HA.

    python benchmarks/bench_failover.py [--lease 6] [--kills 20] [--solo-coste]

Runs the fault test's machinery (tests/test_ha_lanzador.py: two real Lanzador processes on one
SQLite SAM DB, the Control Room simulator over HTTP, the callback server): the leader is killed with
SIGKILL ``--kills`` times and restarted as standby; prints the median and maximum failover time
(SIGKILL -> the standby holds the lease) and checks 0 duplicate deployments. Then the cost of HA:
renewals per minute, SQL statements per renewal and their time, and statements the election adds
to a launch cycle. Prints figures; never fails on time. POSIX only (SIGKILL).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def coste(lease: float, renovaciones: int = 200) -> None:
    from common.database.schema import ensure_schema
    from common.database.sql_client import DatabaseClient
    from common.liderazgo import FRACCION_RENOVACION, Liderazgo

    with tempfile.TemporaryDirectory() as tmp:
        db = DatabaseClient(engine="sqlite", sqlite_path=Path(tmp) / "sam.db")
        ensure_schema(db)
        e = Liderazgo(db, "lanzador", ha=True, lease_s=lease, host="bench", pid=1)
        assert e._intentar() is True
        db.reset_statement_count()
        t = []
        for _ in range(renovaciones):
            t0 = time.perf_counter()
            e._intentar()
            t.append(time.perf_counter() - t0)
        por_renovacion = db.statement_count / renovaciones
        t0 = time.perf_counter()
        for _ in range(10000):
            e.puede_trabajar()
        comprobacion_us = (time.perf_counter() - t0) / 10000 * 1e6
        sin_cerco, con_cerco, sentencias_cerco = _intenciones(db, e.cerco())
        db.close_all()
    por_minuto = 60.0 / (FRACCION_RENOVACION * lease)
    print(f"Coste de HA con HA_LEASE_SEG={lease:g}: {por_minuto:.1f} renovaciones por minuto y proceso; "
          f"SQLite {por_renovacion:.0f} sentencia por renovación (mediana {statistics.median(t) * 1000:.2f} ms, "
          f"máx {max(t) * 1000:.2f} ms); SQL Server 2 sentencias (APPLOCK_MODE y la fila de dbo.Liderazgo) "
          f"= {2 * por_minuto:.0f} sentencias por minuto. La comprobación local de liderazgo cuesta "
          f"{comprobacion_us:.2f} µs por tarea y por despliegue. Cerco (H3): la intención lleva la condición en la "
          f"misma sentencia ({sentencias_cerco:g} sentencia por intención; mediana {sin_cerco * 1000:.2f} ms sin "
          f"cerco, {con_cerco * 1000:.2f} ms con cerco); el Balanceador añade 1 sentencia por plan no vacío. Un "
          "proceso en espera hace 1 intento por tercio de lease (o al expirar el lease que vio).")


def _intenciones(db, cerco, n: int = 300) -> tuple[float, float, float]:
    """Median time of an intent insert without and with the fence, and statements per fenced one."""
    from datetime import datetime

    from common.database import ejecuciones

    def medir(c) -> float:
        t = []
        for i in range(n):
            t0 = time.perf_counter()
            ejecuciones.insert_intent(db, robot_id=1, equipo_id=i, user_id=1, hora=None, fecha_slot=None,
                                      now=datetime(2026, 5, 4, 10, 0), cerco=c)
            t.append(time.perf_counter() - t0)
        return statistics.median(t)

    sin = medir(None)
    db.reset_statement_count()
    con = medir(cerco)
    return sin, con, db.statement_count / n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lease", type=int, default=6, help="HA_LEASE_SEG de los dos Lanzadores (s)")
    p.add_argument("--kills", type=int, default=20, help="kill -9 del líder")
    p.add_argument("--solo-coste", action="store_true", help="sólo el coste de HA (sin procesos)")
    args = p.parse_args(argv)
    if not args.solo_coste:
        from tests.test_ha_lanzador import correr_failovers

        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.monotonic()
            cifras = correr_failovers(Path(tmp), kills=args.kills, lease=args.lease)
            print(f"  ({cifras['despliegues']} despliegues en {time.monotonic() - t0:.0f} s; cota teórica de la "
                  f"toma de control: entre 2/3 y 1 lease = {2 * args.lease / 3:.1f}-{args.lease:.1f} s, más un "
                  "ciclo para el primer lanzamiento)")
    coste(float(args.lease))
    return 0


if __name__ == "__main__":
    sys.exit(main())
