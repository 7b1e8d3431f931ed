"""``python -m demo``: the whole suite on one machine, with nothing to install but requirements.txt.

It creates a working folder with a SQLite SAM DB and a SQLite rpa360 ticket source, starts a
simulated A360 Control Room in this process, writes the services' settings, starts the three real
service processes (Lanzador, callback server, Balanceador), feeds tickets over time (completed
runs consume them), and prints a compact view every few seconds. Ctrl+C or the end of
``--duracion`` stops everything cleanly and prints a summary.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import requests

from common.cli import ParserSAM
from common.clock import Clock
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.execution_states import (
    FAILURE_STATES,
    SUCCESS_STATES,
    TERMINAL_SQL_LIST,
    TERMINAL_STATES,
    sql_list,
)
from common.paths import PROJECT_ROOT
from demo import muestra

IS_WINDOWS = os.name == "nt"
CALLBACK_PATH = "/api/callback"
TICKETS_POR_EJECUCION = 5  # tickets a completed demo run clears
# Only constant state lists from common.execution_states are interpolated here.
STATS_SQL = (
    "SELECT RobotId, "  # noqa: S608
    f"SUM(CASE WHEN Estado NOT IN ({TERMINAL_SQL_LIST}) AND FechaFin IS NULL THEN 1 ELSE 0 END) AS en_curso, "
    f"SUM(CASE WHEN Estado IN ({sql_list(SUCCESS_STATES)}) THEN 1 ELSE 0 END) AS ok, "
    f"SUM(CASE WHEN Estado IN ({sql_list(FAILURE_STATES)}) THEN 1 ELSE 0 END) AS ko "
    "FROM EjecucionesTodas GROUP BY RobotId"  # R4: live and moved to history alike
)


@dataclass
class Servicio:
    nombre: str
    script: Path
    log: Path
    proc: subprocess.Popen | None = None
    codigo_salida: int | None = None


@dataclass
class Estado:
    ultima_ejecucion_vista: int = 0
    tickets: dict[int, int] = field(default_factory=dict)


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = ParserSAM("python -m demo",
                       "Demo embebida de SAM: Control Room simulado, fuente de tickets y los tres servicios reales.")
    parser.add_argument("--duracion", type=float, default=None, metavar="SEG",
                        help="segundos que dura la demo (por defecto: hasta Ctrl+C)")
    parser.add_argument("--semilla", type=int, default=1, metavar="N", help="semilla del simulador y de los tickets")
    parser.add_argument("--velocidad", type=float, default=3.0, metavar="X",
                        help="escala de tiempo simulado (segundos simulados por segundo real)")
    parser.add_argument("--carpeta", default="demo_run", metavar="DIR", help="carpeta de trabajo (se recrea)")
    args = parser.parse_args(argv)
    if args.duracion is not None and args.duracion <= 0:
        parser.error("--duracion debe ser mayor que 0")
    if args.velocidad <= 0:
        parser.error("--velocidad debe ser mayor que 0")
    return args


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare_folder(carpeta: Path) -> None:
    carpeta.mkdir(parents=True, exist_ok=True)
    for name in ("sam.db", "sam.db-wal", "sam.db-shm", "rpa360.db", "rpa360.db-wal", "rpa360.db-shm"):
        (carpeta / name).unlink(missing_ok=True)
    logs = carpeta / "logs"
    if logs.is_dir():
        for f in logs.iterdir():
            if f.is_file():
                f.unlink()


def _seed_sam_db(db: DatabaseClient, clock: Clock) -> None:
    """Operator-owned settings the demo starts with (the Lanzador's sync fills the A360 columns)."""
    now = clock.now_local()
    with db.transaction() as tx:
        tx.executemany(
            "INSERT INTO Robots (RobotId, Robot, Descripcion, Parametros, EsOnline, Activo, MinEquipos, "
            "MaxEquipos, PrioridadBalanceo, TicketsPorEquipoAdicional, ExisteEnA360) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            [
                (r.file_id, r.name, r.description, r.parametros, int(r.online), int(r.active),
                 r.min_equipos, r.max_equipos, r.prioridad, r.tickets_por_equipo)
                for r in muestra.ROBOTS
            ],
        )
        # The scheduled robot's fixed VM (RUNTIME licence: outside the balancer's pool).
        tx.execute(
            "INSERT INTO Equipos (EquipoId, Equipo, Licencia, Activo_SAM, PermiteBalanceoDinamico) "
            "VALUES (?, ?, 'RUNTIME', 1, 0)",
            (muestra.SCHEDULED_DEVICE, "VMRPA11"),
        )
        start = (now - timedelta(minutes=1)).replace(second=0, microsecond=0)
        tx.execute(
            "INSERT INTO Programaciones (RobotId, TipoProgramacion, HoraInicio, Tolerancia, Activo) "
            "VALUES (?, 'Diaria', ?, 60, 1)",
            (muestra.SCHEDULED_ROBOT, start.time()),
        )
        prog = tx.query_one("SELECT MAX(ProgramacionId) AS id FROM Programaciones")["id"]
        tx.execute(
            "INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, "
            "AsignadoPor, ProgramacionId) VALUES (?, ?, 1, 0, ?, 'Programacion', ?)",
            (muestra.SCHEDULED_ROBOT, muestra.SCHEDULED_DEVICE, now, prog),
        )


def _open_rpa360(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS TicketsPendientesPorRobot ("
        "Robot TEXT PRIMARY KEY, RobotId INTEGER, CantidadTickets INTEGER NOT NULL DEFAULT 0)"
    )
    return conn


def _write_tickets(conn: sqlite3.Connection, tickets: dict[int, int]) -> None:
    names = {r.file_id: r.name for r in muestra.ROBOTS}
    conn.executemany(
        "INSERT INTO TicketsPendientesPorRobot (Robot, RobotId, CantidadTickets) VALUES (?, ?, ?) "
        "ON CONFLICT(Robot) DO UPDATE SET CantidadTickets = excluded.CantidadTickets",
        [(names[rid], rid, n) for rid, n in tickets.items()],
    )


def _service_env(carpeta: Path, sim_url: str, port: int, token: str) -> dict[str, str]:
    """Settings of the three services; also written to <carpeta>/.env for reference."""
    return {
        "SQL_SAM_ENGINE": "sqlite",
        "SQL_SAM_SQLITE_PATH": str(carpeta / "sam.db"),
        "SQL_RPA360_ENGINE": "sqlite",
        "SQL_RPA360_SQLITE_PATH": str(carpeta / "rpa360.db"),
        "LOG_DIRECTORY": str(carpeta / "logs"),
        "LOG_LEVEL": "INFO",
        "AA_URL": sim_url,
        "AA_USER": muestra.API_USER,
        "AA_PWD": muestra.API_PASSWORD,
        "AA_API_KEY": "",
        "AA_URL_CALLBACK": f"http://127.0.0.1:{port}{CALLBACK_PATH}",
        "AA_VERIFY_SSL": "true",
        "CALLBACK_SERVER_HOST": "127.0.0.1",
        "CALLBACK_SERVER_PORT": str(port),
        "CALLBACK_ENDPOINT_PATH": CALLBACK_PATH,
        "CALLBACK_TOKEN": token,
        "CALLBACK_AUTH_MODE": "required",
        "EMAIL_SMTP_SERVER": "",
        "LANZADOR_INTERVALO_LANZADOR_SEG": "2",
        "LANZADOR_INTERVALO_CONCILIADOR_SEG": "6",
        "LANZADOR_INTERVALO_SYNC_TABLAS_SEG": "30",
        "LANZADOR_SHUTDOWN_TIMEOUT_SEG": "10",
        "LANZADOR_ESPERA_TRAS_FALLO_SEG": "20",
        "CONCILIADOR_EDAD_MINIMA_SEG": "3",
        "BALANCEADOR_INTERVALO_CICLO_SEG": "3",
        "BALANCEADOR_COOLING_PERIOD_SEG": "15",
        "BALANCEADOR_PROVEEDORES_CARGA": "rpa360",
        "BALANCEADOR_SHUTDOWN_TIMEOUT_SEG": "10",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONUNBUFFERED": "1",
    }


def _write_env_file(carpeta: Path, env: dict[str, str]) -> Path:
    path = carpeta / ".env"
    lines = ["# Configuración generada por la demo de SAM (sólo para consulta: la demo la pasa por entorno)."]
    lines += [f"{k}={v}" for k, v in env.items() if not k.startswith("PYTHON")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _start(servicio: Servicio, env: dict[str, str], carpeta: Path) -> None:
    kwargs: dict = {}
    if IS_WINDOWS:
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    else:
        kwargs["start_new_session"] = True  # our Ctrl+C reaches only the demo; it stops them in order
    servicio.log.parent.mkdir(parents=True, exist_ok=True)
    out = servicio.log.open("ab")
    servicio.proc = subprocess.Popen(
        [sys.executable, str(servicio.script)], cwd=carpeta, env={**os.environ, **env},
        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, **kwargs,
    )
    out.close()


def _stop(servicio: Servicio, timeout: float) -> None:
    proc = servicio.proc
    if proc is None:
        return
    if proc.poll() is None:
        try:
            proc.send_signal(signal.CTRL_BREAK_EVENT if IS_WINDOWS else signal.SIGTERM)  # type: ignore[attr-defined]
        except OSError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"  {servicio.nombre} no se detuvo en {timeout:g} s; se fuerza su cierre.")
            proc.kill()
            proc.wait(10)
    servicio.codigo_salida = proc.returncode


def _health(port: int) -> str:
    try:
        r = requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
        return "OK" if r.status_code == 200 else f"HTTP {r.status_code}"
    except requests.RequestException:
        return "sin respuesta"


def _consume_completed(db: DatabaseClient, estado: Estado) -> None:
    """Each successful run clears some of its robot's tickets: the loop closes."""
    rows = db.query(
        "SELECT EjecucionId, RobotId, Estado FROM EjecucionesTodas WHERE EjecucionId > ? AND FechaFin IS NOT NULL "
        "ORDER BY EjecucionId",
        (estado.ultima_ejecucion_vista,),
    )
    for row in rows:
        if row["Estado"] not in TERMINAL_STATES:
            break  # closed without a terminal state (UNKNOWN): look again later
        estado.ultima_ejecucion_vista = row["EjecucionId"]
        if row["Estado"] in SUCCESS_STATES and row["RobotId"] in estado.tickets:
            estado.tickets[row["RobotId"]] = max(0, estado.tickets[row["RobotId"]] - TICKETS_POR_EJECUCION)


def _new_tickets(rnd: random.Random, estado: Estado, elapsed: float) -> None:
    """Steady arrivals, except that the low-priority robots' queues dry up for a minute out of every
    two (starting early): the balancer then releases their VMs after cooling and hands them on."""
    for robot in muestra.ROBOTS:
        if not robot.online or not robot.active:
            continue
        quiet = robot.prioridad >= 80 and 10 <= elapsed % 120 < 70
        if not quiet and rnd.random() < 0.3:
            estado.tickets[robot.file_id] += rnd.randint(1, 3)


def _vista(db: DatabaseClient, estado: Estado, servicios: list[Servicio], port: int, inicio: float) -> str:
    robots = {r.file_id: r.name for r in muestra.ROBOTS}
    asign = {row["RobotId"]: row["n"] for row in db.query(
        "SELECT RobotId, COUNT(*) AS n FROM Asignaciones GROUP BY RobotId")}
    stats = {row["RobotId"]: row for row in db.query(STATS_SQL)}
    lines = [f"--- SAM demo · {time.monotonic() - inicio:5.0f} s " + "-" * 52,
             f"{'Robot':<22}{'Tickets':>8}{'VMs':>6}{'En curso':>10}{'Completadas':>13}{'Fallidas':>10}"]
    for rid, name in robots.items():
        s = stats.get(rid, {})
        lines.append(f"{name:<22}{estado.tickets.get(rid, 0):>8}{asign.get(rid, 0):>6}"
                     f"{s.get('en_curso') or 0:>10}{s.get('ok') or 0:>13}{s.get('ko') or 0:>10}")
    decisiones = db.query(
        "SELECT FechaBalanceo, RobotId, AccionTomada, EquiposAsignadosAntes, EquiposAsignadosDespues, Justificacion "
        "FROM HistoricoBalanceo ORDER BY HistoricoId DESC LIMIT 4")
    lines.append("Últimas decisiones del balanceador:")
    for d in decisiones or []:
        hora = d["FechaBalanceo"].strftime("%H:%M:%S") if isinstance(d["FechaBalanceo"], datetime) else d["FechaBalanceo"]
        lines.append(f"  {hora} {robots.get(d['RobotId'], d['RobotId'])}: {d['AccionTomada']} "
                     f"{d['EquiposAsignadosAntes']}→{d['EquiposAsignadosDespues']} · {d['Justificacion']}")
    if not decisiones:
        lines.append("  (todavía ninguna)")
    salud = []
    for s in servicios:
        vivo = s.proc is not None and s.proc.poll() is None
        extra = f" (/health {_health(port)})" if vivo and s.nombre == "Callback" else ""
        salud.append(f"{s.nombre}: {'en marcha' if vivo else 'detenido'}{extra}")
    lines.append("Servicios: " + " · ".join(salud))
    return "\n".join(lines)


def _duracion_robots(spec: object, escala: float) -> str:
    """The simulated robots' run length (knob ``duration_s``) in real seconds, in words."""
    def seg(valor: object) -> str:
        return f"{round(float(valor) / escala, 1):g}"

    if isinstance(spec, (int, float)):
        return f"{seg(spec)} s"
    spec = spec if isinstance(spec, dict) else {}
    if spec.get("dist") == "uniform":
        return f"entre {seg(spec.get('min', 5))} y {seg(spec.get('max', 30))} s"
    if spec.get("dist") == "lognormal":
        return f"unos {seg(spec.get('median', 15))} s"
    return f"{seg(spec.get('value', spec.get('s', 10)))} s"


def _linea_en_curso(db: DatabaseClient, sim) -> str:
    """How many executions were still running when the demo stopped, and why (open rows are never
    moved to history, so the live table has them all)."""
    n = db.query_one(
        f"SELECT COUNT(*) AS n FROM Ejecuciones WHERE FechaFin IS NULL AND Estado NOT IN ({TERMINAL_SQL_LIST})"  # noqa: S608
    )["n"]
    if not n:
        return "Ejecuciones en curso al parar la demo: ninguna (todas habían terminado)"
    duracion = _duracion_robots(sim.knobs.get("duration_s"), float(sim.knobs.get("time_scale") or 1))
    verbo = "ejecución seguía" if n == 1 else "ejecuciones seguían"
    return (f"{n} {verbo} en curso al parar la demo: los robots simulados duran {duracion} y la demo "
            "terminó antes de que acabaran (quedan abiertas en sam.db; nada las cierra con los servicios parados)")


def _resumen(db: DatabaseClient, sim, servicios: list[Servicio], carpeta: Path) -> str:
    deploys = len(sim.deploys())
    intentos = sim.callbacks()
    enviados = sum(1 for c in intentos if c.get("delivery") == "sent")
    perdidos = sum(1 for c in intentos if c.get("delivery") == "dropped")
    recibidos = db.query_one("SELECT COUNT(*) AS n FROM CallbacksRecibidos")["n"]
    # Past executions (R4): EjecucionesTodas = Ejecuciones + Ejecuciones_Historico.
    ejecuciones = db.query_one("SELECT COUNT(*) AS n FROM EjecucionesTodas")["n"]
    por_callback = db.query_one(
        "SELECT COUNT(*) AS n FROM EjecucionesTodas e WHERE e.FechaFin IS NOT NULL AND EXISTS ("
        "SELECT 1 FROM CallbacksRecibidos c WHERE c.DeploymentId = e.DeploymentId AND c.Aplicado = 1)")["n"]
    conciliadas = db.query_one(
        "SELECT COUNT(*) AS n FROM EjecucionesTodas e WHERE e.FechaFin IS NOT NULL AND e.DeploymentId IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM CallbacksRecibidos c WHERE c.DeploymentId = e.DeploymentId AND c.Aplicado = 1)")["n"]
    cambios = db.query_one("SELECT COUNT(*) AS n FROM HistoricoBalanceo")["n"]
    equipos = db.query_one("SELECT COUNT(*) AS n FROM Equipos WHERE FechaSincronizacion IS NOT NULL")["n"]
    robots = db.query_one("SELECT COUNT(*) AS n FROM Robots WHERE FechaSincronizacion IS NOT NULL")["n"]
    lines = [
        "=== Resumen de la demo ===",
        f"Sincronizados desde A360: {robots} robots, {equipos} equipos",
        f"Despliegues en el Control Room simulado: {deploys} (ejecuciones registradas: {ejecuciones})",
        f"Callbacks enviados por A360: {enviados} (más {perdidos} perdidos a propósito); "
        f"registrados por SAM: {recibidos}",
        f"Ejecuciones cerradas por callback: {por_callback}; cerradas por el conciliador: {conciliadas}",
        _linea_en_curso(db, sim),
        f"Cambios de asignación del balanceador (HistoricoBalanceo): {cambios}",
        "Servicios: " + ", ".join(f"{s.nombre} terminó con código {s.codigo_salida}" for s in servicios),
        f"Base de datos SAM: {carpeta / 'sam.db'}",
        f"Fuente de tickets rpa360: {carpeta / 'rpa360.db'}",
        f"Logs: {carpeta / 'logs'}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    from demo.simulator import ControlRoomSimulator  # heavy import after argument checks

    carpeta = Path(args.carpeta).resolve()
    _prepare_folder(carpeta)
    print(f"SAM demo: carpeta de trabajo {carpeta}", flush=True)
    clock = Clock()
    db = DatabaseClient(engine="sqlite", sqlite_path=carpeta / "sam.db")
    ensure_schema(db)
    _seed_sam_db(db, clock)
    rpa360 = _open_rpa360(carpeta / "rpa360.db")
    estado = Estado(tickets={r.file_id: r.tickets_iniciales for r in muestra.ROBOTS if r.online and r.active})
    _write_tickets(rpa360, estado.tickets)
    rnd = random.Random(args.semilla)

    sim = ControlRoomSimulator(
        state=muestra.control_room_state(),
        seed=args.semilla,
        time_scale=args.velocidad,
        duration_s={"dist": "uniform", "min": 8, "max": 30},
        callback_drop_rate=0.15,
    )
    port = _free_port()
    env = _service_env(carpeta, sim.url, port, secrets.token_urlsafe(24))
    _write_env_file(carpeta, env)
    servicios = [
        Servicio("Callback", PROJECT_ROOT / "callback" / "run_callback.py", carpeta / "logs" / "callback.salida.log"),
        Servicio("Lanzador", PROJECT_ROOT / "lanzador" / "run_lanzador.py", carpeta / "logs" / "lanzador.salida.log"),
        Servicio("Balanceador", PROJECT_ROOT / "balanceador" / "run_balanceador.py", carpeta / "logs" / "balanceador.salida.log"),
    ]
    print(f"Control Room simulado en {sim.url}; callbacks en http://127.0.0.1:{port}{CALLBACK_PATH}", flush=True)
    inicio = time.monotonic()
    try:
        _start(servicios[0], env, carpeta)
        deadline = time.monotonic() + 20
        while _health(port) != "OK" and time.monotonic() < deadline and servicios[0].proc.poll() is None:
            time.sleep(0.2)
        for s in servicios[1:]:
            _start(s, env, carpeta)
        print("Servicios iniciados. Ctrl+C para terminar." if args.duracion is None
              else f"Servicios iniciados; la demo dura {args.duracion:g} s (Ctrl+C para terminar antes).", flush=True)
        proxima_vista = time.monotonic() + 5
        while args.duracion is None or time.monotonic() - inicio < args.duracion:
            time.sleep(1)
            _consume_completed(db, estado)
            _new_tickets(rnd, estado, time.monotonic() - inicio)
            _write_tickets(rpa360, estado.tickets)
            if time.monotonic() >= proxima_vista:
                print(_vista(db, estado, servicios, port, inicio), flush=True)
                proxima_vista = time.monotonic() + 5
    except KeyboardInterrupt:
        print("\nCtrl+C recibido: deteniendo la demo…", flush=True)
    finally:
        print("Deteniendo los servicios…", flush=True)
        for s in (servicios[1], servicios[2], servicios[0]):  # the callback server last
            _stop(s, timeout=30)
        sim.close()
        rpa360.close()
    print(_resumen(db, sim, servicios, carpeta), flush=True)
    db.close_all()
    ok = all(s.codigo_salida == 0 for s in servicios)
    if not ok:
        print("Algún servicio no terminó limpiamente: revise los logs indicados arriba.", flush=True)
    return 0 if ok else 1
