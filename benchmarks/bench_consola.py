"""Speed of the operations console (CONSOLE §5): p50/p95 per page under concurrent clients. Prints
figures; asserts nothing about time.

Seeds a SQLite SAM DB with ``--robots`` (2,000) robots, ``--equipos`` (10,000) equipos and
``--historico`` (1.5 M) executions in ``Ejecuciones_Historico``, plus what a live system has: open
and recently finished executions (running, stuck LANZANDO/QUEUED, failures of the last 24 h),
``HistoricoBalanceo`` decisions, pools, schedules with their equipos, assignments, name mappings,
heartbeats in ``EstadoServicios`` and audit rows. The seed is one transaction of set-based inserts
(recursive CTEs) and is cached under the temp dir keyed by :data:`VERSION_SEMILLA` and the sizes, so a
rerun only copies the file. Then it creates an administrator with the ``usuarios`` CLI, starts a real
console (``python -m consola``: waitress) on a copy of that file, signs ``--clientes`` (4) threads in,
each with its own ``requests.Session``, and has each request every page ``--rondas`` times in a
shuffled order. Prints p50/p95/max per page (target p95 < 300 ms).

    python benchmarks/bench_consola.py [--robots 2000] [--equipos 10000] [--historico 1500000]
                                       [--clientes 4] [--rondas 25] [--rehacer]

:func:`sembrar` is also the data of the console's browser tests and of the README screenshots
(``scripts/capturas_consola.py``) at a small size (:data:`PEQUENO`).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common.database.schema import ensure_schema  # noqa: E402
from common.database.sql_client import DatabaseClient  # noqa: E402
from common.version import __version__  # noqa: E402

#: Bump when the seed changes: a cached file of another version is not reused.
VERSION_SEMILLA = 2
OBJETIVO_P95_MS = 300.0
ADMIN = "admin.bench"
CLAVE_ADMIN = "Bench-Consola-2026"


@dataclass(frozen=True)
class Tamano:
    robots: int
    equipos: int
    historico: int
    pools: int
    #: days of history the executions are spread over
    dias: int = 90
    balanceo: int = 100_000
    auditoria: int = 20_000


GRANDE = Tamano(robots=2000, equipos=10_000, historico=1_500_000, pools=20)
PEQUENO = Tamano(robots=12, equipos=40, historico=3000, pools=2, dias=14, balanceo=1500, auditoria=60)

#: Names of the small seed's robots (the big one numbers them): what an operator would see.
NOMBRES = ("P0410_Conciliacion", "P0520_AltaClientes", "P0610_Facturas", "P0630_Cobros", "P0710_Nominas",
           "P0805_Pedidos", "P0820_Devoluciones", "P0901_Inventario", "P0910_Proveedores", "P1010_Reclamaciones",
           "P1105_Informes", "P1200_CierreMensual")
MENSAJES = ("Elemento no encontrado: botón «Aceptar»", "Tiempo de espera agotado al abrir SAP",
            "Credenciales caducadas en el portal de proveedores", "Archivo de entrada vacío")
_FORMATO = "%Y-%m-%d %H:%M:%S"


def _t(d: datetime) -> str:
    return d.strftime(_FORMATO) + ".000000"


def _fecha_sql(segundos_antes: str) -> str:
    """SQL text of ``:ahora`` minus ``segundos_antes`` (an SQL expression) in SAM's datetime format."""
    return f"strftime('{_FORMATO}', :ahora - ({segundos_antes}), 'unixepoch') || '.000000'"


def _nombre_robot(sql_i: str) -> str:
    casos = " ".join(f"WHEN {n} THEN '{nombre}'" for n, nombre in enumerate(NOMBRES, start=1))
    return f"CASE {sql_i} {casos} ELSE printf('P%04d_Proceso_%02d', {sql_i}, {sql_i} % 97) END"


def sembrar(ruta: Path, tam: Tamano = PEQUENO, ahora: datetime | None = None) -> datetime:
    """Create a SAM DB at ``ruta`` with the rows of ``tam``; dates are relative to ``ahora`` (naive
    local time; default the machine's local time). Returns ``ahora``."""
    ahora = (ahora or datetime.now()).replace(microsecond=0)
    db = DatabaseClient(engine="sqlite", sqlite_path=ruta)
    ensure_schema(db)
    db.close_all()
    p = {**asdict(tam), "ahora": int((ahora - datetime(1970, 1, 1)).total_seconds()),
         "span": tam.dias * 86400, "hoy": ahora.strftime("%Y-%m-%d")}
    con = sqlite3.connect(ruta)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=OFF")
        with con:
            for paso in (_pools_robots_equipos, _programaciones_asignaciones, _historico, _vivas, _balanceo,
                         _servicios_auditoria):
                paso(con, p, ahora)
        con.execute("ANALYZE")
    finally:
        con.close()
    return ahora


def _serie(n: str) -> str:
    return f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :{n}) "


def _pools_robots_equipos(con: sqlite3.Connection, p: dict, ahora: datetime) -> None:
    con.execute(_serie("pools") + "INSERT INTO Pools (PoolId, Nombre, Descripcion, Activo, FechaActualizacion) "
                "SELECT i, CASE i WHEN 1 THEN 'Finanzas' WHEN 2 THEN 'Operaciones' ELSE printf('Pool_%02d', i) END, "
                "printf('Equipos del área %d', i), CASE WHEN i % 10 = 0 THEN 0 ELSE 1 END, :ahora_t FROM n",
                {**p, "ahora_t": _t(ahora)})
    # One robot in three is scheduled (not online); one in four belongs to a pool.
    con.execute(_serie("robots") + "INSERT INTO Robots (RobotId, Robot, Descripcion, Parametros, EsOnline, Activo, "
                "MinEquipos, MaxEquipos, PrioridadBalanceo, TicketsPorEquipoAdicional, ExisteEnA360, "
                "FechaSincronizacion, PoolId) SELECT i, " + _nombre_robot("i") + ", printf('Proceso de negocio %d', i), "
                "CASE WHEN i % 5 = 0 THEN '{\"in_Ambiente\": \"PROD\"}' END, CASE WHEN i % 3 = 0 THEN 0 ELSE 1 END, "
                "CASE WHEN i % 17 = 0 THEN 0 ELSE 1 END, 1 + i % 2, CASE WHEN i % 4 = 0 THEN -1 ELSE 2 + i % 5 END, "
                "10 * (1 + i % 10), CASE WHEN i % 2 = 0 THEN 5 END, 1, :ahora_t, "
                "CASE WHEN i % 4 = 1 THEN 1 + (i / 4) % :pools END FROM n", {**p, "ahora_t": _t(ahora)})
    con.execute(_serie("equipos") + "INSERT INTO Equipos (EquipoId, Equipo, UserId, UserName, Licencia, Activo_SAM, "
                "EstadoBalanceador, PermiteBalanceoDinamico, EstadoA360, UsuarioActivoA360, FechaSincronizacion, PoolId) "
                "SELECT i, printf('VMRPA%05d', i), 10000 + i, printf('svc_rpa%05d', i), "
                "CASE WHEN i % 6 = 0 THEN 'RUNTIME' ELSE 'ATTENDEDRUNTIME' END, CASE WHEN i % 53 = 0 THEN 0 ELSE 1 END, "
                "NULL, CASE WHEN i % 6 = 0 THEN 0 ELSE 1 END, CASE WHEN i % 41 = 0 THEN 'DISCONNECTED' ELSE 'CONNECTED' END, "
                "CASE WHEN i % 67 = 0 THEN 0 ELSE 1 END, :ahora_t, CASE WHEN i % 5 = 1 THEN 1 + (i / 5) % :pools END "
                "FROM n", {**p, "ahora_t": _t(ahora)})
    con.execute("INSERT INTO MapeoRobots (Proveedor, NombreExterno, RobotId) SELECT 'rpa360', "
                "printf('Robot %d (rpa360)', RobotId), RobotId FROM Robots WHERE RobotId % 7 = 0")


def _programaciones_asignaciones(con: sqlite3.Connection, p: dict, ahora: datetime) -> None:
    # Scheduled robots (RobotId % 3 = 0): one schedule each, rotating through the types, on a RUNTIME equipo.
    con.execute("INSERT INTO Programaciones (RobotId, TipoProgramacion, HoraInicio, DiaSemana, DiaDelMes, "
                "FechaEspecifica, Tolerancia, Activo, EsCiclico, HoraFin, IntervaloEntreEjecuciones, DiaInicioMes, "
                "DiaFinMes, FechaActualizacion) SELECT RobotId, "
                "CASE RobotId % 4 WHEN 0 THEN 'Diaria' WHEN 1 THEN 'Semanal' WHEN 2 THEN 'Mensual' ELSE 'RangoMensual' END, "
                "printf('%02d:%02d:00', 6 + RobotId % 12, (RobotId * 5) % 60), "
                "CASE WHEN RobotId % 4 = 1 THEN 'Lu,Mi,Vi' END, CASE WHEN RobotId % 4 = 2 THEN 1 + RobotId % 28 END, "
                "NULL, 60, CASE WHEN RobotId % 19 = 0 THEN 0 ELSE 1 END, CASE WHEN RobotId % 8 = 0 THEN 1 ELSE 0 END, "
                "CASE WHEN RobotId % 8 = 0 THEN '20:00:00' END, CASE WHEN RobotId % 8 = 0 THEN 30 END, "
                "CASE WHEN RobotId % 4 = 3 THEN 1 END, CASE WHEN RobotId % 4 = 3 THEN 5 END, :ahora_t "
                "FROM Robots WHERE RobotId % 3 = 0", {"ahora_t": _t(ahora)})
    runtime = "(SELECT COUNT(*) FROM Equipos WHERE EquipoId % 6 = 0)"
    con.execute("INSERT OR IGNORE INTO Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, "
                "AsignadoPor, ProgramacionId) SELECT pr.RobotId, 6 * (1 + (pr.ProgramacionId - 1) % " + runtime + "), "
                "1, 0, :ahora_t, 'Programacion', pr.ProgramacionId FROM Programaciones pr", {"ahora_t": _t(ahora)})
    # Online robots: the balancer's dynamic equipos (three in four equipos) and a few reserved by hand.
    con.execute("INSERT OR IGNORE INTO Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, "
                "AsignadoPor) SELECT r.RobotId, e.EquipoId, 0, CASE WHEN e.EquipoId % 29 = 0 THEN 1 ELSE 0 END, :ahora_t, "
                "CASE WHEN e.EquipoId % 29 = 0 THEN 'Manual' ELSE 'Balanceador' END FROM Equipos e "
                "JOIN Robots r ON r.RobotId = 1 + ((e.EquipoId - 1) % :robots) "
                "WHERE e.EquipoId % 6 <> 0 AND e.EquipoId % 4 <> 0 AND r.EsOnline = 1", {**p, "ahora_t": _t(ahora)})
    con.execute("UPDATE Equipos SET EstadoBalanceador = 'ASIGNADO' WHERE EquipoId IN "
                "(SELECT EquipoId FROM Asignaciones WHERE AsignadoPor = 'Balanceador')")


def _historico(con: sqlite3.Connection, p: dict, ahora: datetime) -> None:
    """``historico`` finished executions, newest first, spread over ``dias`` days; every robot runs on
    the equipos numbered like it (RobotId = 1 + (EquipoId - 1) % robots)."""
    inicio = _fecha_sql("3 * 3600 + (n.i * :span) / :historico")
    fin = _fecha_sql("3 * 3600 + (n.i * :span) / :historico - 120 - (n.i % 900)")
    estado = ("CASE WHEN n.i % 23 = 0 THEN 'RUN_FAILED' WHEN n.i % 97 = 0 THEN 'RUN_ABORTED' "
              "WHEN n.i % 211 = 0 THEN 'UNKNOWN' ELSE 'RUN_COMPLETED' END")
    con.execute(
        _serie("historico") + "INSERT INTO Ejecuciones_Historico (EjecucionId, DeploymentId, RobotId, EquipoId, "
        "UserId, Hora, FechaInicio, FechaFin, Estado, FechaActualizacion, CallbackInfo, MensajeError, FechaSlot, "
        "RondasNoEncontrado, AlertaDuracionEnviada, ClaveIntento, FalloSinConfirmar, FechaMovimiento) "
        f"SELECT n.i, printf('%08x-0000-4000-8000-%012x', n.i, n.i * 7919), 1 + ((1 + (n.i - 1) % :equipos) - 1) % :robots, "
        f"1 + (n.i - 1) % :equipos, 10000 + 1 + (n.i - 1) % :equipos, NULL, {inicio}, {fin}, {estado}, {fin}, "
        f"'{{\"status\": \"' || {estado} || '\", \"botOutVariables\": {{\"out_Tickets\": ' || (n.i % 50) || '}}}}', "
        f"CASE WHEN n.i % 23 = 0 THEN 'Error en el paso ' || (n.i % 40) || ': elemento no encontrado' END, NULL, "
        f"0, 0, NULL, 0, {fin} FROM n", p)


def _vivas(con: sqlite3.Connection, p: dict, ahora: datetime) -> None:
    """Live rows: one running execution on each assigned equipo in three, stuck ones, finished today
    (one in five failed with a message)."""
    base = con.execute("SELECT COALESCE(MAX(EjecucionId), 0) FROM Ejecuciones_Historico").fetchone()[0]
    campos = ("INSERT INTO Ejecuciones (EjecucionId, DeploymentId, RobotId, EquipoId, UserId, FechaInicio, FechaFin, "
              "Estado, FechaActualizacion, CallbackInfo, MensajeError) ")
    con.execute(campos + f"SELECT :base + ROW_NUMBER() OVER (ORDER BY a.EquipoId), printf('viva-%08d', a.EquipoId), "
                f"a.RobotId, a.EquipoId, 10000 + a.EquipoId, {_fecha_sql('60 + a.EquipoId % 1800')}, NULL, "
                "CASE WHEN a.EquipoId % 31 = 0 THEN 'DEPLOYED' ELSE 'RUNNING' END, "
                f"{_fecha_sql('30')}, NULL, NULL FROM Asignaciones a WHERE a.EquipoId % 3 = 0",
                {**p, "base": base})
    siguiente = con.execute("SELECT MAX(EjecucionId) FROM Ejecuciones").fetchone()[0] or base
    atascadas = max(2, p["robots"] // 100)
    con.execute(_serie("n_atascadas") + campos + "SELECT :base + i, CASE WHEN i % 2 = 0 THEN NULL ELSE "
                "printf('cola-%08d', i) END, 1 + (i * 13) % :robots, 1 + (3 + 12 * (i - 1)) % :equipos, NULL, "
                f" {_fecha_sql('3600 * 2 + i * 60')}, NULL, "
                f"CASE WHEN i % 2 = 0 THEN 'LANZANDO' ELSE 'QUEUED' END, {_fecha_sql('3600 * 2 + i * 60')}, NULL, NULL "
                "FROM n", {**p, "base": siguiente, "n_atascadas": atascadas})
    siguiente = con.execute("SELECT MAX(EjecucionId) FROM Ejecuciones").fetchone()[0]
    hoy = max(20, p["historico"] // 1000)
    fin = _fecha_sql("600 + (i * 82800) / :n_hoy")
    con.execute(_serie("n_hoy") + campos + "SELECT :base + i, printf('hoy-%08d', i), "
                "1 + ((1 + (i * 7) % :equipos) - 1) % :robots, 1 + (i * 7) % :equipos, NULL, "
                f"{_fecha_sql('1200 + (i * 82800) / :n_hoy')}, {fin}, "
                f"CASE WHEN i % 5 = 0 THEN 'RUN_FAILED' ELSE 'RUN_COMPLETED' END, {fin}, "
                "'{\"status\": \"RUN_COMPLETED\"}', CASE WHEN i % 5 = 0 THEN "
                + _caso_mensaje("i") + " END FROM n", {**p, "base": siguiente, "n_hoy": hoy})


def _caso_mensaje(sql_i: str) -> str:
    casos = " ".join(f"WHEN {n} THEN '{m}'" for n, m in enumerate(MENSAJES))
    return f"CASE ({sql_i} / 5) % {len(MENSAJES)} {casos} END"


def _balanceo(con: sqlite3.Connection, p: dict, ahora: datetime) -> None:
    """Balancer decisions of the online robots: a series per robot over the last ``dias`` days, tickets
    rising and falling, the equipos following them."""
    con.execute("CREATE TEMP TABLE ro AS SELECT ROW_NUMBER() OVER (ORDER BY RobotId) AS k, RobotId, PoolId "
                "FROM Robots WHERE EsOnline = 1")
    online = con.execute("SELECT COUNT(*) FROM ro").fetchone()[0]
    tickets = "(20 + 18 * ((n.i / :online) % 7) - 3 * ((n.i / :online) % 5))"
    antes = "(1 + ((n.i / :online) + 2) % 5)"
    despues = "(1 + ((n.i / :online) + 3) % 5)"
    con.execute(
        _serie("balanceo") + "INSERT INTO HistoricoBalanceo (FechaBalanceo, RobotId, TicketsPendientes, "
        "EquiposAsignadosAntes, EquiposAsignadosDespues, AccionTomada, Justificacion, CodigoMotivo, EquipoIds, PoolId) "
        f"SELECT {_fecha_sql('(n.i * :span) / :balanceo')}, ro.RobotId, {tickets}, {antes}, {despues}, "
        f"CASE WHEN {despues} > {antes} THEN 'ASIGNAR' ELSE 'DESASIGNAR' END, "
        f"CASE WHEN {despues} > {antes} THEN printf('%d tickets pendientes: faltan equipos', {tickets}) "
        "ELSE 'La cola baja: se liberan equipos' END, "
        f"CASE WHEN {despues} > {antes} THEN 'DEMANDA' ELSE 'EXCESO' END, "
        f"printf('[%d]', 1 + (n.i * 11) % :equipos), ro.PoolId "
        "FROM n JOIN ro ON ro.k = 1 + (n.i - 1) % :online", {**p, "online": max(1, online)})
    con.execute("DROP TABLE ro")


def _servicios_auditoria(con: sqlite3.Connection, p: dict, ahora: datetime) -> None:
    servicios = [("lanzador", "SRVSAM01", 4120, "lider", 5, None), ("lanzador", "SRVSAM02", 3388, "espera", 7, None),
                 ("balanceador", "SRVSAM01", 4188, "lider", 12, None),
                 ("callback", "SRVSAM01", 4090, "activo", 3, None),
                 ("callback", "SRVSAM02", 3301, "activo", 900,
                  "No se pudo conectar con la base de datos SAM: tiempo de espera agotado")]
    con.executemany("INSERT INTO EstadoServicios (Servicio, Host, Pid, Version, Rol, Inicio, UltimoLatido, "
                    "UltimoCicloOk, UltimoError) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(s, h, pid, __version__, rol, _t(ahora - timedelta(days=2)), _t(ahora - timedelta(seconds=hace)),
                      _t(ahora - timedelta(seconds=hace + 5)), err) for s, h, pid, rol, hace, err in servicios])
    acciones = ("robot.editar", "equipo.editar", "programacion.crear", "asignacion.agregar", "ejecucion.destrabar")
    entidades = ("Robots", "Equipos", "Programaciones", "Asignaciones", "Ejecuciones")
    casos_a = " ".join(f"WHEN {k} THEN '{a}'" for k, a in enumerate(acciones))
    casos_e = " ".join(f"WHEN {k} THEN '{a}'" for k, a in enumerate(entidades))
    con.execute(_serie("auditoria") + "INSERT INTO Auditoria (Fecha, Usuario, Rol, Ip, Accion, Entidad, EntidadId, "
                f"Antes, Despues, Resultado) SELECT {_fecha_sql('(n.i * :span) / :auditoria')}, "
                "CASE n.i % 3 WHEN 0 THEN 'ana.perez' WHEN 1 THEN 'luis.gomez' ELSE 'cli:sam' END, "
                "CASE n.i % 3 WHEN 2 THEN 'administrador' ELSE 'operador' END, '10.0.0.' || (n.i % 200), "
                f"CASE n.i % 5 {casos_a} END, CASE n.i % 5 {casos_e} END, CAST(1 + n.i % :robots AS TEXT), "
                "'{\"MaxEquipos\": 3}', '{\"MaxEquipos\": 4}', CASE WHEN n.i % 13 = 0 THEN 'rechazado' ELSE 'ok' END "
                "FROM n", p)


# ----------------------------------------------------------------------------- the console process

def puerto_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def entorno_consola(ruta_db: Path, puerto: int, logs: Path, **extra: str) -> dict[str, str]:
    """Environment of a console process on the SQLite DB ``ruta_db`` (no other SAM setting leaks in)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SQL_", "CONSOLA_", "LOG_", "SAM_", "PYTHONPATH"))}
    env.update({"SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": str(ruta_db), "CONSOLA_HOST": "127.0.0.1",
                "CONSOLA_PUERTO": str(puerto), "CONSOLA_SECRETO": "secreto-del-banco-de-pruebas-" + "x" * 16,
                "LOG_DIRECTORY": str(logs), "SAM_ZONA_HORARIA": "", "PYTHONPATH": str(ROOT), **extra})
    return env


def crear_admin(env: dict[str, str], usuario: str, clave: str, rol: str = "administrador",
                nombre: str | None = None) -> None:
    """Create a console user with the ``usuarios`` CLI (password on standard input)."""
    extra = ["--nombre", nombre] if nombre else []
    r = subprocess.run([sys.executable, "-m", "consola", "usuarios", "crear", usuario, "--rol", rol, *extra],
                       input=clave + "\n", text=True, capture_output=True, env=env, cwd=ROOT, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"usuarios crear {usuario}: {r.returncode} {r.stdout} {r.stderr}")


def arrancar_consola(env: dict[str, str], puerto: int, *, timeout: float = 60.0) -> subprocess.Popen:
    """Start ``python -m consola`` and wait until its /health answers 200."""
    import requests

    proc = subprocess.Popen([sys.executable, "-m", "consola"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    limite = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            salida = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"la consola terminó al arrancar ({proc.returncode}): {salida}")
        try:
            if requests.get(f"http://127.0.0.1:{puerto}/health", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        if time.monotonic() > limite:
            proc.kill()
            raise RuntimeError(f"la consola no respondió a /health en {timeout} s")
        time.sleep(0.2)


def parar_consola(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM if os.name != "nt" else signal.CTRL_BREAK_EVENT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if proc.stdout:
        proc.stdout.close()


def sesion(base: str, usuario: str, clave: str):
    """A ``requests.Session`` signed in to the console at ``base``."""
    import requests

    s = requests.Session()
    r = s.get(base + "/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    if not token:
        raise RuntimeError("la página de entrada no tiene csrf_token")
    r = s.post(base + "/login", data={"Usuario": usuario, "Clave": clave, "csrf_token": token.group(1)},
               allow_redirects=False, timeout=30)
    if r.status_code != 303:
        raise RuntimeError(f"no se pudo entrar como {usuario}: {r.status_code}")
    return s


# ----------------------------------------------------------------------------- measuring

def semilla_en_cache(tam: Tamano, rehacer: bool) -> Path:
    nombre = f"sam_consola_v{VERSION_SEMILLA}_{tam.robots}r_{tam.equipos}e_{tam.historico}h.db"
    ruta = Path(tempfile.gettempdir()) / "sam_bench_consola" / nombre
    if ruta.exists() and not rehacer:
        print(f"Semilla en caché: {ruta}")
        return ruta
    ruta.parent.mkdir(parents=True, exist_ok=True)
    provisional = ruta.with_suffix(".tmp")
    for resto in (provisional, Path(f"{provisional}-wal"), Path(f"{provisional}-shm")):
        resto.unlink(missing_ok=True)
    t0 = time.perf_counter()
    sembrar(provisional, tam)
    con = sqlite3.connect(provisional)
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    provisional.replace(ruta)
    print(f"Semilla creada en {time.perf_counter() - t0:.1f} s: {ruta} ({ruta.stat().st_size / 2**20:.0f} MiB)")
    return ruta


def paginas(db: Path) -> list[tuple[str, str]]:
    """(name, path) of the pages measured; ids and filter values picked from the seeded rows."""
    con = sqlite3.connect(db)
    try:
        robot = con.execute("SELECT RobotId FROM Robots WHERE EsOnline = 1 ORDER BY RobotId LIMIT 1 OFFSET 7").fetchone()[0]
        equipo = con.execute("SELECT EquipoId FROM Equipos ORDER BY EquipoId LIMIT 1 OFFSET 40").fetchone()[0]
        vieja = con.execute("SELECT MAX(EjecucionId) / 2 FROM Ejecuciones_Historico").fetchone()[0]
        viva = con.execute("SELECT MAX(EjecucionId) FROM Ejecuciones").fetchone()[0]
    finally:
        con.close()
    return [
        ("Estado", "/"), ("Robots", "/robots"), ("Robots (búsqueda)", "/robots?q=Proceso_1&activo=1"),
        ("Robot (detalle)", f"/robots/{robot}"), ("Equipos", "/equipos"), ("Equipos (búsqueda)", "/equipos?q=VMRPA009"),
        ("Programaciones", "/programaciones"), ("Ejecuciones", "/ejecuciones"),
        ("Ejecuciones (robot)", f"/ejecuciones?robot={robot}"),
        ("Ejecuciones (robot+estado)", f"/ejecuciones?robot={robot}&estado=RUN_FAILED"),
        ("Ejecuciones (equipo+fechas)", f"/ejecuciones?equipo={equipo}&desde=2000-01-01&hasta=2100-01-01"),
        ("Ejecuciones (estado raro)", "/ejecuciones?estado=UNKNOWN"),
        ("Ejecuciones (página honda)", f"/ejecuciones?antes={vieja}"), ("Ejecución (histórico)", f"/ejecuciones/{vieja}"),
        ("Ejecución (viva)", f"/ejecuciones/{viva}"), ("Balanceador", "/balanceador"),
        ("Balanceador (robot)", f"/balanceador?robot={robot}"), ("Pools", "/pools"), ("Mapeos", "/mapeos"),
        ("Configuración", "/configuracion"), ("Usuarios", "/usuarios"), ("Auditoría", "/auditoria"),
        ("Auditoría (filtro)", "/auditoria?usuario=ana.perez&entidad=Robots"),
    ]


def medir(base: str, rutas: list[tuple[str, str]], clientes: int, rondas: int) -> dict[str, dict]:
    """Each of ``clientes`` threads signs in and requests every page ``rondas`` times (shuffled)."""
    tiempos: dict[str, list[float]] = {n: [] for n, _ in rutas}
    codigos: dict[str, set[int]] = {n: set() for n, _ in rutas}
    candado = threading.Lock()
    errores: list[str] = []

    def cliente(k: int) -> None:
        try:
            s = sesion(base, ADMIN, CLAVE_ADMIN)
            orden = [r for r in rutas for _ in range(rondas)]
            random.Random(k).shuffle(orden)
            for nombre, ruta in orden:
                t0 = time.perf_counter()
                r = s.get(base + ruta, timeout=120)
                dt = (time.perf_counter() - t0) * 1000
                with candado:
                    tiempos[nombre].append(dt)
                    codigos[nombre].add(r.status_code)
        except Exception as exc:  # noqa: BLE001 - reported in the table's footer
            errores.append(f"cliente {k}: {exc}")

    hilos = [threading.Thread(target=cliente, args=(k,)) for k in range(clientes)]
    for h in hilos:
        h.start()
    for h in hilos:
        h.join()
    for e in errores:
        print("ERROR", e)
    return {n: {"t": sorted(tiempos[n]), "codigos": codigos[n]} for n, _ in rutas}


def _percentil(valores: list[float], q: float) -> float:
    return valores[min(len(valores) - 1, int(round(q * (len(valores) - 1))))]


def imprimir(resultado: dict[str, dict], rutas: list[tuple[str, str]]) -> int:
    print(f"\n{'página':<30} {'ruta':<52} {'HTTP':<8} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'máx ms':>8}  objetivo")
    fallan = 0
    for nombre, ruta in rutas:
        t, codigos = resultado[nombre]["t"], resultado[nombre]["codigos"]
        http = ",".join(str(c) for c in sorted(codigos)) or "-"
        if not t:
            print(f"{nombre:<30} {ruta[:52]:<52} {http:<8} {0:>5}")
            continue
        p95 = _percentil(t, 0.95)
        existe = codigos != {404}
        ok = p95 < OBJETIVO_P95_MS
        fallan += existe and not ok
        marca = "no existe" if not existe else ("ok" if ok else f"NO (> {OBJETIVO_P95_MS:.0f})")
        print(f"{nombre:<30} {ruta[:52]:<52} {http:<8} {len(t):>5} {statistics.median(t):>8.1f} {p95:>8.1f} "
              f"{t[-1]:>8.1f}  {marca}")
    return fallan


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Tiempos de respuesta de la consola SAM por página (p50/p95).")
    ap.add_argument("--robots", type=int, default=GRANDE.robots)
    ap.add_argument("--equipos", type=int, default=GRANDE.equipos)
    ap.add_argument("--historico", type=int, default=GRANDE.historico)
    ap.add_argument("--clientes", type=int, default=4, help="clientes concurrentes (hilos con sesión propia)")
    ap.add_argument("--rondas", type=int, default=25, help="veces que cada cliente pide cada página")
    ap.add_argument("--rehacer", action="store_true", help="vuelve a sembrar aunque haya una semilla en caché")
    args = ap.parse_args(argv)
    tam = Tamano(robots=args.robots, equipos=args.equipos, historico=args.historico, pools=GRANDE.pools)
    semilla = semilla_en_cache(tam, args.rehacer)
    with tempfile.TemporaryDirectory(prefix="bench_consola_") as tmp:
        db = Path(tmp) / "sam.db"
        shutil.copyfile(semilla, db)
        puerto = puerto_libre()
        env = entorno_consola(db, puerto, Path(tmp) / "logs", CONSOLA_HILOS="8")
        crear_admin(env, ADMIN, CLAVE_ADMIN)
        proc = arrancar_consola(env, puerto)
        try:
            rutas = paginas(db)
            base = f"http://127.0.0.1:{puerto}"
            medir(base, rutas, 1, 1)  # warm-up: page cache and templates
            print(f"\n{tam.robots} robots, {tam.equipos} equipos, {tam.historico} ejecuciones en el histórico; "
                  f"{args.clientes} clientes x {args.rondas} rondas por página")
            fallan = imprimir(medir(base, rutas, args.clientes, args.rondas), rutas)
        finally:
            parar_consola(proc)
    print(f"\nPáginas por encima del objetivo p95 < {OBJETIVO_P95_MS:.0f} ms: {fallan}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
