"""Benchmark of the Balanceador: plan 2,000 robots x 10,000 VMs (target < 0.5 s) and apply 1,000
changes in one cycle on SQLite (DB statements and wall time). Prints figures; asserts nothing.

    python benchmarks/bench_balanceador.py
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from balanceador.database import repositorio  # noqa: E402
from balanceador.modelo import (  # noqa: E402
    AjustesBalanceo,
    AjustesCooling,
    Asignacion,
    Cambio,
    EquipoPool,
    EstadoCooling,
    RobotBalanceo,
)
from balanceador.service.balanceo import planificar  # noqa: E402

NOW = datetime(2026, 3, 2, 10, 0, 0)
AJ = AjustesBalanceo(10, ("ATTENDEDRUNTIME",), AjustesCooling(300, 30, 40))


def flota(n_robots: int, n_vms: int, seed: int, demanda: float):
    rnd = random.Random(seed)
    robots = [RobotBalanceo(rid, f"R{rid}", min_equipos=rnd.randint(0, 3), max_equipos=rnd.choice([-1, 5, 10, 20]),
                            prioridad=rnd.choice([1, 10, 50, 100, 200]), tickets_por_equipo=rnd.choice([None, 5, 20]),
                            es_online=rnd.random() < 0.97)
              for rid in range(1, n_robots + 1)]
    pool = [EquipoPool(e, f"VM{e}") for e in range(100_000, 100_000 + n_vms)]
    asig = []
    ids = [e.equipo_id for e in pool]
    rnd.shuffle(ids)
    for e in ids[: int(n_vms * 0.6)]:
        asig.append(Asignacion(rnd.randint(1, n_robots), e))
    for e in ids[int(n_vms * 0.6): int(n_vms * 0.65)]:
        asig.append(Asignacion(rnd.randint(1, n_robots), e, "Manual"))
    ocupados = frozenset(e for e in ids if rnd.random() < 0.3)
    tickets = {r.robot_id: (0 if rnd.random() < 0.3 else int(rnd.expovariate(1 / (demanda * 20))))
               for r in robots}
    protegidos = frozenset(r.robot_id for r in robots if rnd.random() < 0.05)
    cooling = {r.robot_id: EstadoCooling(ultima_subida=Cambio(NOW - timedelta(seconds=rnd.randint(0, 900)), 50))
               for r in robots if rnd.random() < 0.3}
    return robots, pool, asig, ocupados, tickets, protegidos, cooling


def bench_plan() -> None:
    print("Planificación (2.000 robots x 10.000 equipos):")
    for nombre, demanda in (("demanda moderada", 1.0), ("escasez (demanda >> pool)", 4.0)):
        f = flota(2000, 10_000, 7, demanda)
        tiempos = []
        for _ in range(5):
            t0 = time.perf_counter()
            plan = planificar(*f, AJ, NOW)
            tiempos.append(time.perf_counter() - t0)
        movidos = sum(len(a.equipo_ids) for a in plan.acciones)
        print(f"  {nombre:28s}: mediana {statistics.median(tiempos) * 1000:7.1f} ms, "
              f"máx {max(tiempos) * 1000:7.1f} ms; {len(plan.acciones)} acciones, {movidos} equipos movidos, "
              f"{len(plan.retenidos)} retenidos")


def bench_apply() -> None:
    from common.database.schema import ensure_schema
    from common.database.sql_client import DatabaseClient

    with tempfile.TemporaryDirectory() as tmp:
        db = DatabaseClient(engine="sqlite", sqlite_path=Path(tmp) / "sam.db")
        ensure_schema(db)
        db.executemany("INSERT INTO Robots (RobotId, Robot, EsOnline, MinEquipos) VALUES (?, ?, 1, 0)",
                       [(r, f"R{r}") for r in range(1, 201)])
        db.executemany("INSERT INTO Equipos (EquipoId, Equipo, Licencia, EstadoA360) VALUES "
                       "(?, ?, 'ATTENDEDRUNTIME', 'CONNECTED')", [(e, f"VM{e}") for e in range(1, 1501)])
        # 500 VMs held by robots 101..200 that go offline (released) + 500 new VMs for robots 1..100.
        db.executemany("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor) VALUES (?, ?, 'Balanceador')",
                       [(101 + (e % 100), e) for e in range(1, 501)])
        db.execute("UPDATE Robots SET EsOnline = 0 WHERE RobotId > 100")
        lec = repositorio.leer_todo(db, AJ.licencias)
        tickets = {r: 50 for r in range(1, 101)}
        plan = planificar(lec.robots, lec.pool, lec.asignaciones, lec.ocupados, tickets, frozenset(), {}, AJ, NOW)
        cambios = sum(len(a.equipo_ids) for a in plan.acciones)
        antes = db.statement_count
        t0 = time.perf_counter()
        filas = repositorio.aplicar(db, plan, NOW)
        dt = time.perf_counter() - t0
        print(f"Aplicación en SQLite: {cambios} cambios de asignación + {filas} filas de HistoricoBalanceo en una "
              f"transacción: {db.statement_count - antes} sentencias, {dt * 1000:.1f} ms")
        t0 = time.perf_counter()
        lec = repositorio.leer_todo(db, AJ.licencias)
        print(f"Lectura de la BD SAM (robots, pool, asignaciones, ocupados): 4 sentencias, "
              f"{(time.perf_counter() - t0) * 1000:.1f} ms")
        db.close_all()


if __name__ == "__main__":
    bench_plan()
    bench_apply()
