"""Benchmark of the Balanceador's planner with pools (B11-B13): 2,000 robots, 10,000 equipos,
20 pools plus the general one, overflow on (BALANCEADOR_AISLAMIENTO_ESTRICTO=false), with and
without preemption, and strict isolation for comparison (target < 0.5 s per plan). Prints figures;
asserts nothing.

    python benchmarks/bench_balanceo_pools.py [--repeticiones 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_balanceador import AJ, NOW, flota  # noqa: E402

from balanceador.service.balanceo import planificar  # noqa: E402


def flota_con_pools(n_robots: int, n_vms: int, n_pools: int, seed: int, demanda: float):
    """The balancer benchmark's fleet, with robots and equipos spread over ``n_pools`` pools (one
    inactive) and the general pool (a third of each), and some loans of the general pool."""
    robots, pool, asig, ocupados, tickets, protegidos, cooling = flota(n_robots, n_vms, seed, demanda)
    rnd = random.Random(seed + 1)

    def eleccion() -> int | None:
        return None if rnd.random() < 1 / 3 else rnd.randint(1, n_pools)

    robots = [replace(r, pool_id=(p := eleccion()), pool_activo=p != n_pools) for r in robots]
    pool = [replace(e, pool_id=(p := eleccion()), pool_activo=p != n_pools) for e in pool]
    return robots, pool, asig, ocupados, tickets, protegidos, cooling


def medir(nombre: str, datos, ajustes, repeticiones: int) -> None:
    tiempos, plan = [], None
    for _ in range(repeticiones):
        t0 = time.perf_counter()
        plan = planificar(*datos, ajustes, NOW)
        tiempos.append(time.perf_counter() - t0)
    prestados = sum(1 for a in plan.acciones for _ in a.equipo_ids if a.codigo_motivo == "DESBORDE")
    print(f"  {nombre:<44} mediana {statistics.median(tiempos) * 1000:7.1f} ms, "
          f"máx {max(tiempos) * 1000:7.1f} ms; {len(plan.acciones)} acciones, "
          f"{len(plan.retenidos)} retenidas, {prestados} equipos en acciones DESBORDE (objetivo < 500 ms)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--robots", type=int, default=2000)
    ap.add_argument("--equipos", type=int, default=10000)
    ap.add_argument("--pools", type=int, default=20)
    ap.add_argument("--repeticiones", type=int, default=5)
    args = ap.parse_args()
    print(f"Planificación con pools ({args.robots} robots x {args.equipos} equipos, {args.pools} pools "
          "+ el general):")
    for etiqueta, demanda in (("demanda moderada", 1.0), ("escasez", 4.0)):
        datos = flota_con_pools(args.robots, args.equipos, args.pools, 7, demanda)
        medir(f"{etiqueta}, desbordamiento, preempción", datos, replace(AJ, aislamiento_estricto=False),
              args.repeticiones)
        medir(f"{etiqueta}, desbordamiento, sin preempción", datos,
              replace(AJ, aislamiento_estricto=False, preempcion=False), args.repeticiones)
        medir(f"{etiqueta}, aislamiento estricto", datos, AJ, args.repeticiones)


if __name__ == "__main__":
    main()
