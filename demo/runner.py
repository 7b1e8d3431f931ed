"""``python -m demo``: the whole suite on one machine, with nothing to install but requirements.txt.

It creates a working folder with a SQLite SAM DB (two pools, the robots and their equipos, and
a daily, a cyclic and a RangoMensual schedule created through the operations module) and a SQLite
rpa360 ticket source, starts a simulated A360 Control Room in this process, writes the services'
settings, starts the three real service processes (Lanzador, callback server, Balanceador) and the
web console (``SAM-Consola``, with a demo administrator whose random password it prints), feeds
tickets over time (completed runs consume them), and prints a compact view every few seconds.
Ctrl+C or the end of ``--duracion`` stops everything cleanly and prints a summary.
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
from datetime import date, datetime, timedelta
from datetime import time as dtime
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
from common.operaciones import programaciones as operaciones
from common.operaciones.auditoria import Actor
from common.paths import PROJECT_ROOT
from common.programacion import Programacion, toca_el_dia
from demo import muestra

IS_WINDOWS = os.name == "nt"
ADMIN_DEMO = "admin"  # the console's demo administrator (random password, printed at start)
CALLBACK_PATH = "/api/callback"
TICKETS_POR_EJECUCION = 5  # tickets a completed demo run clears
AISLAMIENTO_ESTRICTO = "false"  # B12 in the demo: the general pool lends its free VMs (see the summary)
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
    puerto_health: int | None = None  # HTTP services: the port whose /health the view shows


@dataclass
class Estado:
    ultima_ejecucion_vista: int = 0
    tickets: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ProgramacionDemo:
    """A schedule the demo created through the operations module, and for what it is there."""

    que: str  # "diaria", "ciclica", "rango"
    programacion_id: int
    programacion: Programacion
    equipo_id: int


DEMO_ACTOR = Actor("demo", "administrador")  # who the Auditoria rows of the demo's schedules name


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


def _seed_sam_db(db: DatabaseClient, clock: Clock) -> list[ProgramacionDemo]:
    """Operator-owned settings the demo starts with (the Lanzador's sync fills the A360 columns):
    the pools, the robots and the pool equipos, the RUNTIME equipos of the scheduled robots, and
    their schedules (created through the operations module, as an operator would)."""
    now = clock.now_local()
    with db.transaction() as tx:
        tx.executemany(
            "INSERT INTO Pools (PoolId, Nombre, Descripcion, Activo) VALUES (?, ?, ?, 1)",
            [(p.pool_id, p.nombre, p.descripcion) for p in muestra.POOLS],
        )
        tx.executemany(
            "INSERT INTO Robots (RobotId, Robot, Descripcion, Parametros, EsOnline, Activo, MinEquipos, "
            "MaxEquipos, PrioridadBalanceo, TicketsPorEquipoAdicional, ExisteEnA360, PoolId) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
            [
                (r.file_id, r.name, r.description, r.parametros, int(r.online), int(r.active),
                 r.min_equipos, r.max_equipos, r.prioridad, r.tickets_por_equipo, _pool_id(r.file_id))
                for r in muestra.ROBOTS
            ],
        )
        # Pool equipos (the sync keeps their PoolId) and the scheduled robots' fixed VMs
        # (RUNTIME licence: outside the balancer's pool).
        tx.executemany(
            "INSERT INTO Equipos (EquipoId, Equipo, Activo_SAM, PermiteBalanceoDinamico, PoolId) VALUES (?, ?, 1, 1, ?)",
            [(e, muestra.nombre_equipo(e), p.pool_id) for p in muestra.POOLS for e in p.equipos],
        )
        tx.executemany(
            "INSERT INTO Equipos (EquipoId, Equipo, Licencia, Activo_SAM, PermiteBalanceoDinamico) "
            "VALUES (?, ?, 'RUNTIME', 1, 0)",
            [(e, muestra.nombre_equipo(e)) for e in muestra.RUNTIME_DEVICES],
        )
    return [_crear_programacion(db, que, p, equipo, now) for que, p, equipo in _programaciones_demo(now)]


def _pool_id(robot_id: int) -> int | None:
    pool = muestra.pool_de_robot(robot_id)
    return None if pool is None else pool.pool_id


def _programaciones_demo(now: datetime) -> list[tuple[str, Programacion, int]]:
    """A daily one-shot, a cyclic window and a RangoMensual range, all due while the demo runs."""
    start = (now - timedelta(minutes=1)).replace(second=0, microsecond=0)
    fin = (start + timedelta(minutes=muestra.CYCLIC_WINDOW_MIN)).time()
    hoy = now.day
    return [
        ("diaria", Programacion(RobotId=muestra.SCHEDULED_ROBOT, TipoProgramacion="Diaria",
                                HoraInicio=start.time(), Tolerancia=60), muestra.SCHEDULED_DEVICE),
        ("ciclica", Programacion(RobotId=muestra.CYCLIC_ROBOT, TipoProgramacion="Diaria", EsCiclico=True,
                                 HoraInicio=start.time(), HoraFin=fin, IntervaloEntreEjecuciones=0),
         muestra.CYCLIC_DEVICE),
        # Days around today: the user sees it due (the summary says why).
        ("rango", Programacion(RobotId=muestra.MONTHLY_ROBOT, TipoProgramacion="RangoMensual",
                               HoraInicio=start.time(), Tolerancia=60, DiaInicioMes=max(1, hoy - 1),
                               DiaFinMes=min(31, hoy + 1)), muestra.MONTHLY_DEVICE),
    ]


def _crear_programacion(db: DatabaseClient, que: str, p: Programacion, equipo_id: int, now: datetime) -> ProgramacionDemo:
    pid = operaciones.crear(db, DEMO_ACTOR, p, [equipo_id], ahora=now)
    return ProgramacionDemo(que, pid, p, equipo_id)


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
        # B12: the general pool's free VMs may be lent to Finanzas, which asks for more than it has.
        "BALANCEADOR_AISLAMIENTO_ESTRICTO": AISLAMIENTO_ESTRICTO,
        "PYTHONIOENCODING": "utf-8",
        "PYTHONUNBUFFERED": "1",
    }


def _consola_env(puerto: int) -> dict[str, str]:
    """Settings of the console: loopback only, a fresh session key per demo."""
    return {"CONSOLA_HOST": "127.0.0.1", "CONSOLA_PUERTO": str(puerto), "CONSOLA_SECRETO": secrets.token_urlsafe(48)}


def _crear_admin_demo(db: DatabaseClient) -> str:
    """Create the console's demo administrator through the users' operations (audited as ``demo``,
    as ``python -m consola usuarios crear`` does); returns its random password."""
    from common.operaciones import usuarios
    from consola import claves

    clave = secrets.token_urlsafe(12)
    usuarios.crear(db, DEMO_ACTOR, ADMIN_DEMO, "administrador", claves.hashear(clave),
                   nombre="Administrador de la demo")
    return clave


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


def _esperar_consola(consola: Servicio, url: str, clave: str) -> None:
    """Wait (up to 30 s) for the console's /health and print where to sign in."""
    deadline = time.monotonic() + 30
    while _health(consola.puerto_health) != "OK" and time.monotonic() < deadline and consola.proc.poll() is None:
        time.sleep(0.2)
    if _health(consola.puerto_health) != "OK":
        print(f"La consola web no respondió a /health: revise {consola.log}", flush=True)
        return
    print(f"Consola web en {url} — usuario «{ADMIN_DEMO}», clave «{clave}» (administrador; la clave es "
          "aleatoria y sólo vale para esta demo)", flush=True)


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


def _nombre_pool(pool_id: int | None) -> str:
    pool = next((p for p in muestra.POOLS if p.pool_id == pool_id), None)
    return "general" if pool is None else pool.nombre


def _pool_de_robot(robot_id: int) -> str:
    pool = muestra.pool_de_robot(robot_id)
    return "general" if pool is None else pool.nombre


def _uso_de_pools(db: DatabaseClient) -> dict[str, tuple[int, int]]:
    """Per pool: balancer VMs its robots hold on its own equipos, and on equipos lent by the
    general pool (B12, only with BALANCEADOR_AISLAMIENTO_ESTRICTO=false)."""
    uso = {p.nombre: [0, 0] for p in muestra.POOLS}
    uso["general"] = [0, 0]
    for row in db.query(
        "SELECT r.PoolId AS PoolRobot, e.PoolId AS PoolEquipo FROM Asignaciones a "
        "JOIN Robots r ON r.RobotId = a.RobotId JOIN Equipos e ON e.EquipoId = a.EquipoId "
        "WHERE a.AsignadoPor = 'Balanceador'"
    ):
        prestada = row["PoolRobot"] is not None and row["PoolEquipo"] is None
        uso[_nombre_pool(row["PoolRobot"])][1 if prestada else 0] += 1
    return {k: (v[0], v[1]) for k, v in uso.items()}


def _linea_pools(db: DatabaseClient) -> str:
    partes = []
    for nombre, (propias, prestadas) in _uso_de_pools(db).items():
        robots = sum(1 for r in muestra.ROBOTS if r.online and r.active and _pool_de_robot(r.file_id) == nombre)
        extra = f" + {prestadas} prestadas del general" if prestadas else ""
        partes.append(f"{nombre}: {_plural(robots, 'robot')}, {propias} VMs propias{extra}")
    return "Pools: " + " · ".join(partes)


def _ejecuciones_de(db: DatabaseClient, robot_id: int) -> tuple[int, int]:
    """Launches (deployed) of a robot so far, and how many are still open."""
    row = db.query_one(
        "SELECT COUNT(*) AS n, "  # noqa: S608 - constant state list
        f"SUM(CASE WHEN FechaFin IS NULL AND Estado NOT IN ({TERMINAL_SQL_LIST}) THEN 1 ELSE 0 END) AS abiertas "
        "FROM EjecucionesTodas WHERE RobotId = ? AND DeploymentId IS NOT NULL",
        (robot_id,),
    )
    return int(row["n"] or 0), int(row["abiertas"] or 0)


def _plural(n: int, palabra: str) -> str:
    return f"{n} {palabra}" + ("" if n == 1 else "s")


def _hhmm(t: dtime | None) -> str:
    return "--:--" if t is None else t.strftime("%H:%M")


def _linea_ciclico(db: DatabaseClient, programas: list[ProgramacionDemo]) -> str:
    c = next((x for x in programas if x.que == "ciclica"), None)
    if c is None:
        return "Robot cíclico: (sin programación)"
    n, abiertas = _ejecuciones_de(db, c.programacion.RobotId)
    return (f"Cíclico {_nombre_robot(c.programacion.RobotId)} en {muestra.nombre_equipo(c.equipo_id)} "
            f"(ventana {_hhmm(c.programacion.HoraInicio)}–{_hhmm(c.programacion.HoraFin)}): "
            f"{_plural(n, 'lanzamiento')}, {_plural(max(0, n - 1), 'relanzamiento')}, {abiertas} en curso")


def _nombre_robot(robot_id: int) -> str:
    return next((r.name for r in muestra.ROBOTS if r.file_id == robot_id), str(robot_id))


def _lineas_decisiones(db: DatabaseClient) -> list[str]:
    decisiones = db.query(
        "SELECT FechaBalanceo, RobotId, AccionTomada, EquiposAsignadosAntes, EquiposAsignadosDespues, "
        "Justificacion, PoolId FROM HistoricoBalanceo ORDER BY HistoricoId DESC LIMIT 4")
    lines = ["Últimas decisiones del balanceador:"]
    for d in decisiones or []:
        hora = d["FechaBalanceo"].strftime("%H:%M:%S") if isinstance(d["FechaBalanceo"], datetime) else d["FechaBalanceo"]
        lines.append(f"  {hora} [{_nombre_pool(d['PoolId'])}] {_nombre_robot(d['RobotId'])}: {d['AccionTomada']} "
                     f"{d['EquiposAsignadosAntes']}→{d['EquiposAsignadosDespues']} · {d['Justificacion']}")
    if not decisiones:
        lines.append("  (todavía ninguna)")
    return lines


def _vista(db: DatabaseClient, estado: Estado, servicios: list[Servicio], port: int, inicio: float,
           programas: list[ProgramacionDemo]) -> str:
    asign = {row["RobotId"]: row["n"] for row in db.query(
        "SELECT RobotId, COUNT(*) AS n FROM Asignaciones GROUP BY RobotId")}
    stats = {row["RobotId"]: row for row in db.query(STATS_SQL)}
    lines = [f"--- SAM demo · {time.monotonic() - inicio:5.0f} s " + "-" * 64,
             f"{'Robot':<22}{'Pool':<13}{'Tickets':>8}{'VMs':>6}{'En curso':>10}{'Completadas':>13}{'Fallidas':>10}"]
    for r in muestra.ROBOTS:
        st = stats.get(r.file_id, {})
        lines.append(f"{r.name:<22}{_pool_de_robot(r.file_id):<13}{estado.tickets.get(r.file_id, 0):>8}"
                     f"{asign.get(r.file_id, 0):>6}{st.get('en_curso') or 0:>10}{st.get('ok') or 0:>13}"
                     f"{st.get('ko') or 0:>10}")
    lines.append(_linea_pools(db))
    lines.append(_linea_ciclico(db, programas))
    lines += _lineas_decisiones(db)
    salud = []
    for s in servicios:
        vivo = s.proc is not None and s.proc.poll() is None
        extra = f" (/health {_health(s.puerto_health)})" if vivo and s.puerto_health else ""
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


def _lineas_pools_resumen(db: DatabaseClient) -> list[str]:
    """Who is in each pool, the balancer's decisions per pool and the general pool's loans (B11, B12)."""
    lines = [f"Pools (BALANCEADOR_AISLAMIENTO_ESTRICTO={AISLAMIENTO_ESTRICTO}; robots balanceados y sus equipos):"]
    for nombre in [p.nombre for p in muestra.POOLS] + ["general"]:
        robots = [r.name for r in muestra.ROBOTS if r.online and r.active and _pool_de_robot(r.file_id) == nombre]
        equipos = [muestra.nombre_equipo(e) for e in range(201, 201 + muestra.DEVICES)
                   if e not in muestra.RUNTIME_DEVICES and _pool_de_equipo(e) == nombre]
        lines.append(f"  {nombre}: robots {', '.join(robots)}; equipos {', '.join(equipos)}")
    por_pool = {_nombre_pool(r["PoolId"]): r["n"] for r in db.query(
        "SELECT PoolId, COUNT(*) AS n FROM HistoricoBalanceo GROUP BY PoolId")}
    motivos = {r["CodigoMotivo"]: r["n"] for r in db.query(
        "SELECT CodigoMotivo, COUNT(*) AS n FROM HistoricoBalanceo "
        "WHERE CodigoMotivo IN ('DESBORDE', 'RECLAMO_DESBORDE') GROUP BY CodigoMotivo")}
    lines.append("  Decisiones del balanceador por pool: " + ", ".join(
        f"{n} {por_pool.get(n, 0)}" for n in [p.nombre for p in muestra.POOLS] + ["general"]))
    lines.append(
        f"  Préstamos del pool general a otros pools (DESBORDE): {motivos.get('DESBORDE', 0)}; "
        f"devoluciones (RECLAMO_DESBORDE): {motivos.get('RECLAMO_DESBORDE', 0)}. Los robots de Finanzas "
        "y Operaciones piden más VMs de las 3 que tiene cada pool; con el aislamiento desactivado, cuando "
        "cada pool ha servido a sus robots, los equipos libres del pool general se prestan por prioridad "
        "(con true cada pool usaría sólo los suyos) y vuelven al general en cuanto sus robots los necesitan."
    )
    return lines


def _pool_de_equipo(equipo_id: int) -> str:
    pool = muestra.pool_de_equipo(equipo_id)
    return "general" if pool is None else pool.nombre


def _lineas_programaciones(db: DatabaseClient, programas: list[ProgramacionDemo], hoy: date) -> list[str]:
    auditadas = db.query_one("SELECT COUNT(*) AS n FROM Auditoria")["n"]
    lines = [f"Programaciones creadas con common/operaciones/programaciones.py (validación y solapes): "
             f"{len(programas)} (filas de Auditoria: {auditadas})"]
    for x in programas:
        p, equipo = x.programacion, muestra.nombre_equipo(x.equipo_id)
        n, abiertas = _ejecuciones_de(db, p.RobotId)
        robot = _nombre_robot(p.RobotId)
        if x.que == "ciclica":
            lines.append(
                f"  Cíclica {robot} en {equipo}, ventana {_hhmm(p.HoraInicio)}–{_hhmm(p.HoraFin)} cada "
                f"{p.IntervaloEntreEjecuciones or 0} min: {_plural(n, 'lanzamiento')} "
                f"({_plural(max(0, n - 1), 'relanzamiento')}: "
                "se vuelve a lanzar cada vez que el equipo queda libre dentro de la ventana)")
        elif x.que == "rango":
            toca = "toca" if toca_el_dia(p, hoy) else "no toca"
            lines.append(
                f"  RangoMensual {robot} en {equipo}, días {p.DiaInicioMes} a {p.DiaFinMes} a las "
                f"{_hhmm(p.HoraInicio)}: hoy es día {hoy.day}, {toca}; {_plural(n, 'lanzamiento')} "
                "(una vez por día del rango)")
        else:
            lines.append(f"  Diaria {robot} en {equipo} a las {_hhmm(p.HoraInicio)}: {_plural(n, 'lanzamiento')}")
        if abiertas:
            lines[-1] += f", {abiertas} en curso al parar"
    return lines


def _resumen(db: DatabaseClient, sim, servicios: list[Servicio], carpeta: Path,
             programas: list[ProgramacionDemo] | None = None, hoy: date | None = None) -> str:
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
        *_lineas_pools_resumen(db),
        *_lineas_programaciones(db, programas or [], hoy or date.today()),
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
    programas = _seed_sam_db(db, clock)
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
    port, puerto_consola = _free_port(), _free_port()
    env = {**_service_env(carpeta, sim.url, port, secrets.token_urlsafe(24)), **_consola_env(puerto_consola)}
    _write_env_file(carpeta, env)
    clave_admin = _crear_admin_demo(db)
    servicios = [
        Servicio("Callback", PROJECT_ROOT / "callback" / "run_callback.py", carpeta / "logs" / "callback.salida.log",
                 puerto_health=port),
        Servicio("Lanzador", PROJECT_ROOT / "lanzador" / "run_lanzador.py", carpeta / "logs" / "lanzador.salida.log"),
        Servicio("Balanceador", PROJECT_ROOT / "balanceador" / "run_balanceador.py", carpeta / "logs" / "balanceador.salida.log"),
        Servicio("Consola", PROJECT_ROOT / "consola" / "run_consola.py", carpeta / "logs" / "consola.salida.log",
                 puerto_health=puerto_consola),
    ]
    url_consola = f"http://127.0.0.1:{puerto_consola}/"
    print(f"Control Room simulado en {sim.url}; callbacks en http://127.0.0.1:{port}{CALLBACK_PATH}", flush=True)
    inicio = time.monotonic()
    try:
        _start(servicios[0], env, carpeta)
        deadline = time.monotonic() + 20
        while _health(port) != "OK" and time.monotonic() < deadline and servicios[0].proc.poll() is None:
            time.sleep(0.2)
        for s in servicios[1:]:
            _start(s, env, carpeta)
        _esperar_consola(servicios[3], url_consola, clave_admin)
        print("Servicios iniciados. Ctrl+C para terminar." if args.duracion is None
              else f"Servicios iniciados; la demo dura {args.duracion:g} s (Ctrl+C para terminar antes).", flush=True)
        proxima_vista = time.monotonic() + 5
        while args.duracion is None or time.monotonic() - inicio < args.duracion:
            time.sleep(1)
            _consume_completed(db, estado)
            _new_tickets(rnd, estado, time.monotonic() - inicio)
            _write_tickets(rpa360, estado.tickets)
            if time.monotonic() >= proxima_vista:
                print(_vista(db, estado, servicios, port, inicio, programas), flush=True)
                proxima_vista = time.monotonic() + 5
    except KeyboardInterrupt:
        print("\nCtrl+C recibido: deteniendo la demo…", flush=True)
    finally:
        print("Deteniendo los servicios…", flush=True)
        for s in (servicios[3], servicios[1], servicios[2], servicios[0]):  # the callback server last
            _stop(s, timeout=30)
        sim.close()
        rpa360.close()
    print(_resumen(db, sim, servicios, carpeta, programas, clock.now_local().date()), flush=True)
    print(f"Consola web (detenida con la demo): {url_consola} — usuario «{ADMIN_DEMO}», clave «{clave_admin}». "
          f"Su log: {carpeta / 'logs' / 'sam_consola.log'}", flush=True)
    db.close_all()
    ok = all(s.codigo_salida == 0 for s in servicios)
    if not ok:
        print("Algún servicio no terminó limpiamente: revise los logs indicados arriba.", flush=True)
    return 0 if ok else 1
