"""Callback server throughput (BEHAVIOUR L4): the real process on waitress with a SQLite SAM DB.

Starts ``python callback/run_callback.py`` as a separate process, records N executions
(DEPLOYED), then sends one terminal callback per execution from concurrent client threads
(``requests.Session`` keep-alive, loopback) and prints requests/s and p50/p99 latency. Afterwards it
checks in the DB that no callback was lost (every execution terminal, N rows in CallbacksRecibidos).

Targets (issue 4): >= 1,000 requests/s and p99 < 50 ms on a 2-core machine. Figures only; nothing
is asserted on time.

    python benchmarks/bench_callback_server.py [--requests 4000] [--clients 8] [--threads 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from common.database.schema import ensure_schema  # noqa: E402
from common.database.sql_client import DatabaseClient  # noqa: E402

TOKEN = "token-del-benchmark-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_cpu(pid: int) -> float:
    """CPU seconds used by a process (Linux /proc); -1 when unavailable (e.g. Windows)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return -1.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--threads", type=int, default=8, help="CALLBACK_SERVER_THREADS")
    ap.add_argument("--log-level", default="INFO")
    ap.add_argument("--client", choices=("requests", "http.client"), default="http.client",
                    help="HTTP client library of the load generator (http.client costs less CPU per request, "
                         "which leaves more of the 2 cores to the server)")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="sam-bench-cb-"))
    db_path = tmp / "sam.db"
    db = DatabaseClient(engine="sqlite", sqlite_path=db_path)
    ensure_schema(db)
    now = datetime.now().replace(microsecond=0)
    deps = [f"bench-{i:06d}" for i in range(args.requests)]
    rows = [(1, i % 500, 1, None, now, now, None) for i in range(args.requests)]
    with db.transaction() as tx:  # bulk fixture: intent rows, then their deployment ids
        tx.executemany(
            "INSERT INTO Ejecuciones (RobotId, EquipoId, UserId, Hora, FechaInicio, Estado, FechaActualizacion, "
            "FechaSlot) VALUES (?, ?, ?, ?, ?, 'DEPLOYED', ?, ?)", rows)
        tx.executemany("UPDATE Ejecuciones SET DeploymentId = ? WHERE EjecucionId = ?",
                       [(dep, i + 1) for i, dep in enumerate(deps)])

    port = _free_port()
    env = dict(os.environ)
    env.update({
        "SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": str(db_path), "CALLBACK_TOKEN": TOKEN,
        "CALLBACK_SERVER_HOST": "127.0.0.1", "CALLBACK_SERVER_PORT": str(port),
        "CALLBACK_SERVER_THREADS": str(args.threads), "LOG_DIRECTORY": str(tmp / "logs"),
        "LOG_LEVEL": args.log_level,
    })
    proc = subprocess.Popen([sys.executable, str(ROOT / "callback" / "run_callback.py")],
                            cwd=tmp, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(base + "/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                print("el servidor de callbacks no arrancó", file=sys.stderr)
                return 1
            time.sleep(0.1)

        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        url = base + "/api/callback"
        headers = {"X-Authorization": TOKEN, "Content-Type": "application/json"}

        def client(chunk: list[str]) -> None:
            mine: list[float] = []
            codes: dict[int, int] = {}
            bodies = [json.dumps({"deploymentId": dep, "status": "RUN_COMPLETED", "userId": "731",
                                  "deviceId": "88",
                                  "botOutput": {"out_Resultado": {"type": "STRING", "string": "ok"}}}).encode()
                      for dep in chunk]
            if args.client == "requests":
                with requests.Session() as s:
                    for body in bodies:
                        t0 = time.perf_counter()
                        r = s.post(url, data=body, headers=headers, timeout=30)
                        mine.append(time.perf_counter() - t0)
                        codes[r.status_code] = codes.get(r.status_code, 0) + 1
            else:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                for body in bodies:
                    t0 = time.perf_counter()
                    conn.request("POST", "/api/callback", body=body, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    mine.append(time.perf_counter() - t0)
                    codes[resp.status] = codes.get(resp.status, 0) + 1
                conn.close()
            with lock:
                latencies.extend(mine)
                for k, v in codes.items():
                    statuses[k] = statuses.get(k, 0) + v

        threads = [threading.Thread(target=client, args=(deps[i:: args.clients],)) for i in range(args.clients)]
        cpu_server_0 = _proc_cpu(proc.pid)
        cpu_client_0 = time.process_time()
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        cpu_client = time.process_time() - cpu_client_0
        cpu_server = _proc_cpu(proc.pid) - cpu_server_0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = -9

    lat = sorted(latencies)
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    rps = len(lat) / elapsed
    terminal = db.query_one("SELECT COUNT(*) AS n FROM Ejecuciones WHERE Estado = 'RUN_COMPLETED' "
                            "AND FechaFin IS NOT NULL")["n"]
    recorded = db.query_one("SELECT COUNT(*) AS n FROM CallbacksRecibidos WHERE Aplicado = 1")["n"]
    lost = args.requests - min(terminal, recorded)
    db.close_all()
    print(f"cpus: {os.cpu_count()}, carga media: {os.getloadavg()[0] if hasattr(os, 'getloadavg') else '-'}, "
          f"peticiones: {len(lat)}, clientes: {args.clients} ({args.client}), hilos waitress: {args.threads}")
    print(f"respuestas: {dict(sorted(statuses.items()))}")
    print(f"tiempo total: {elapsed:.2f} s  ->  {rps:.0f} peticiones/s (objetivo >= 1000)")
    print(f"latencia p50: {p50:.1f} ms, p99: {p99:.1f} ms (objetivo p99 < 50 ms), máx: {lat[-1] * 1000:.1f} ms")
    print(f"ejecuciones terminales en BD: {terminal}/{args.requests}; callbacks registrados: {recorded}; "
          f"perdidos: {lost}")
    if cpu_server >= 0:
        print(f"CPU servidor: {cpu_server:.2f} s ({cpu_server / len(lat) * 1000:.2f} ms/petición); CPU cliente: "
              f"{cpu_client:.2f} s ({cpu_client / len(lat) * 1000:.2f} ms/petición)")
    print(f"salida del servidor tras SIGTERM: {rc}")
    return 0 if lost == 0 and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
