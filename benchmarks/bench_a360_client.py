"""Benchmark of the A360 client's paginated lists against the Control Room simulator.

Starts ``python -m demo.simulator --generate files=5000,devices=10000,users=10000`` in a
subprocess (so the simulator's CPU is not counted as the client's), then lists every device,
every user (in id batches) and every taskbot through ``AutomationAnywhereClient`` and prints:
API calls made vs the page-count minimum (they must be equal), wall time, and client CPU time
per 1,000 rows.

Usage: ``python benchmarks/bench_a360_client.py [--devices N] [--users N] [--files N] [--page-size N]``
Exit code 1 if the call count differs from the minimum or a list is incomplete.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from demo.simulator.testing import start_subprocess  # noqa: E402
from lanzador.clients.aa_client import TASKBOT_TYPE, AutomationAnywhereClient  # noqa: E402


def sim_state(url: str) -> dict:
    with urllib.request.urlopen(url + "/__sim/state", timeout=120) as resp:  # noqa: S310 - local simulator
        return json.loads(resp.read().decode("utf-8"))


def pages_needed(rows: int, page_size: int) -> int:
    """Calls for one paginated list: an empty answer still costs one call."""
    return max(1, math.ceil(rows / page_size))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--files", type=int, default=5_000)
    ap.add_argument("--page-size", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    proc, url = start_subprocess("--seed", str(args.seed), "--generate",
                                 f"files={args.files},devices={args.devices},users={args.users}")
    try:
        state = sim_state(url)
        listed_users = [u for u in state["users"] if not u.get("deleted")]
        login_user = next(u for u in listed_users if not u.get("disabled") and u.get("password"))
        n_devices = len(state["devices"])
        n_taskbots = sum(1 for f in state["files"] if f.get("type") == TASKBOT_TYPE)
        # As the L1 sync does: the users are those referenced as default users of the devices.
        user_ids = sorted({int(uid) for d in state["devices"] for uid in d.get("defaultUserIds", [])})
        listed_ids = {int(u["id"]) for u in listed_users}

        client = AutomationAnywhereClient(url, login_user["username"], password=login_user["password"],
                                          page_size=args.page_size, max_pages=100_000, timeout=120)
        ps = args.page_size
        minimum = 1                                                  # the login
        minimum += pages_needed(n_devices, ps)
        for start in range(0, len(user_ids), ps):
            batch = user_ids[start:start + ps]
            minimum += pages_needed(sum(1 for i in batch if i in listed_ids), ps)
        minimum += pages_needed(n_taskbots, ps)

        results: dict[str, tuple[int, float, float]] = {}
        wall0 = time.perf_counter()
        cpu0 = time.thread_time()
        for name, fn in (("devices", client.list_devices),
                         ("users", lambda: client.list_users(user_ids)),
                         ("taskbots", client.list_taskbots)):
            w, c = time.perf_counter(), time.thread_time()
            rows = fn()
            results[name] = (len(rows), time.perf_counter() - w, time.thread_time() - c)
        wall = time.perf_counter() - wall0
        cpu = time.thread_time() - cpu0
        calls = client.api_calls
        client.logout()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()

    total_rows = sum(r[0] for r in results.values())
    print(f"Simulador: {url}  (dispositivos={n_devices}, usuarios={len(user_ids)} "
          f"[de los equipos], taskbots={n_taskbots}, page_size={args.page_size})")
    for name, (n, w, c) in results.items():
        print(f"  {name:9s}: {n:6d} filas  {w:7.2f} s pared  {c:6.3f} s CPU cliente  "
              f"{(c / n * 1000 if n else 0):6.4f} s CPU / 1000 filas")
    print(f"Llamadas API: {calls} (mínimo por páginas: {minimum}; login incluido)")
    print(f"Tiempo total: {wall:.2f} s pared, {cpu:.3f} s CPU cliente, "
          f"{(cpu / total_rows * 1000 if total_rows else 0):.4f} s CPU cliente por 1000 filas ({total_rows} filas)")
    ok = (calls == minimum and results["devices"][0] == n_devices
          and results["users"][0] == len(set(user_ids) & listed_ids) and results["taskbots"][0] == n_taskbots)
    print("RESULTADO:", "OK" if ok else "FALLO (llamadas o filas distintas de lo esperado)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
