"""Per-cycle cost against a growing history (BEHAVIOUR §14 R1) and the move job (R2). Prints figures;
asserts nothing about time.

SQLite DB with 300 robots, 2,000 equipos, 300 open executions and first 10 k, then ``--filas``
(1.5 M) finished rows spread over the last 7 days of each (robot, equipo) pair. Each per-cycle
query (the launcher's selection, the busy equipos, the active executions, the balancer's read,
the callback apply, a conciliation round's DB part) is timed as the median of ``--repeticiones``
runs at both sizes; the ratio large / small is the R1 figure (target <= 1.5x).

Then, when ``common/database/mantenimiento.py`` exists (R2), the move job over every finished row
(rows/s) and a launch cycle's DB work (selection + intent inserts) while the move runs in another
thread, against the same cycle idle (target <= 2x).

    python benchmarks/bench_historial.py [--filas 1500000] [--repeticiones 15]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from balanceador.database import repositorio  # noqa: E402
from common.database import ejecuciones as E  # noqa: E402
from common.database.schema import ensure_schema  # noqa: E402
from common.database.sql_client import DatabaseClient  # noqa: E402
from lanzador.database import seleccion  # noqa: E402

AHORA = datetime(2026, 3, 9, 10, 30, 0)
#: Seconds between two measured launch cycles while the move runs (the Lanzador's default is 15 s).
INTERVALO_CICLO_SEG = 0.5
ROBOTS = 300
PROGRAMADOS = 100  # robots 1..100 run on schedules, 101..300 online
EQUIPOS = 2000
ABIERTAS = 300
DIAS = 7
LICENCIAS = ("ATTENDEDRUNTIME",)
LIMITE_UNKNOWN = AHORA - timedelta(minutes=120)
_ESTADOS_ABIERTOS = ("RUNNING", "DEPLOYED", "RUNNING", "LANZANDO", "UNKNOWN", "QUEUED")


def _texto(d: datetime) -> str:
    return d.strftime("%Y-%m-%d %H:%M:%S.%f")


def _uuid(n: int) -> str:
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:]}"


def _pares() -> list[tuple[int, int, int]]:
    """(robot, equipo, es_programado): every equipo runs one robot; every online robot also has a
    second equipo, so some equipos are shared."""
    pares = [(((eq - 1) % ROBOTS) + 1, eq, 0) for eq in range(1, EQUIPOS + 1)]
    pares = [(r, eq, 1 if r <= PROGRAMADOS else 0) for r, eq, _ in pares]
    pares += [(r, ((r * 7) % EQUIPOS) + 1, 0) for r in range(PROGRAMADOS + 1, ROBOTS + 1)]
    return list(dict.fromkeys(pares))


def poblar(ruta: Path) -> sqlite3.Connection:
    """Schema + fleet + open executions (no finished rows yet)."""
    db = DatabaseClient(engine="sqlite", sqlite_path=ruta)
    ensure_schema(db)
    db.close_all()
    con = sqlite3.connect(ruta, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO Robots (RobotId, Robot, EsOnline, Activo, ExisteEnA360, MinEquipos, MaxEquipos) "
        "VALUES (?, ?, ?, 1, 1, 1, 10)",
        [(r, f"Robot{r}", 0 if r <= PROGRAMADOS else 1) for r in range(1, ROBOTS + 1)])
    con.executemany(
        "INSERT INTO Equipos (EquipoId, Equipo, UserId, UserName, Licencia, Activo_SAM, EstadoA360, "
        "UsuarioActivoA360, PermiteBalanceoDinamico) VALUES (?, ?, ?, ?, ?, 1, 'CONNECTED', 1, 1)",
        [(e, f"VM{e:04d}", 10_000 + e, f"user{e}", LICENCIAS[0]) for e in range(1, EQUIPOS + 1)])
    con.executemany(
        "INSERT INTO Programaciones (RobotId, TipoProgramacion, HoraInicio, Tolerancia, Activo) "
        "VALUES (?, 'Diaria', ?, 60, 1)",
        [(r, f"{h:02d}:{(r * 7) % 60:02d}:00") for r in range(1, PROGRAMADOS + 1) for h in range(0, 24, 2)])
    con.executemany(
        "INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, AsignadoPor) VALUES (?, ?, ?, ?)",
        [(r, e, p, "Manual" if p else "Balanceador") for r, e, p in _pares()])
    abiertas = []
    for i in range(ABIERTAS):
        eq = (i * (EQUIPOS // ABIERTAS)) + 1
        robot = ((eq - 1) % ROBOTS) + 1
        estado = _ESTADOS_ABIERTOS[i % len(_ESTADOS_ABIERTOS)]
        inicio = AHORA - timedelta(minutes=1 + (i % 90))
        actualizado = AHORA - timedelta(minutes=(i % 200)) if estado == "UNKNOWN" else inicio
        dep = None if estado == "LANZANDO" else _uuid(10**9 + i)
        abiertas.append((dep, robot, eq, 10_000 + eq, _texto(inicio), estado, _texto(actualizado)))
    con.executemany(
        "INSERT INTO Ejecuciones (DeploymentId, RobotId, EquipoId, UserId, FechaInicio, Estado, "
        "FechaActualizacion) VALUES (?, ?, ?, ?, ?, ?, ?)", abiertas)
    con.execute("COMMIT")
    return con


def anadir_terminadas(con: sqlite3.Connection, desde: int, hasta: int, seed: int = 7) -> None:
    """Finished rows ``desde``..``hasta``-1: each on a random pair, started in the last 7 days
    (scheduled pairs at their slot), ended 1-30 min later; mostly RUN_COMPLETED, some failed, some
    DEPLOY_FAILED (no deployment) and closed UNKNOWN. Half of them left an applied callback."""
    rnd = random.Random(seed + desde)
    pares = _pares()
    base = AHORA - timedelta(days=DIAS)
    segundos = DIAS * 86_400 - 3_600
    lote = 100_000
    # Bulk load: drop the secondary indexes, insert, then build them again (sorted, much faster).
    indices = [r[0] for r in con.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('Ejecuciones', 'CallbacksRecibidos')")]
    for (nombre,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('Ejecuciones', 'CallbacksRecibidos')").fetchall():
        con.execute(f"DROP INDEX {nombre}")
    for inicio_lote in range(desde, hasta, lote):
        filas, callbacks = [], []
        for n in range(inicio_lote, min(hasta, inicio_lote + lote)):
            robot, eq, prog = pares[rnd.randrange(len(pares))]
            inicio = base + timedelta(seconds=rnd.randrange(segundos))
            fin = inicio + timedelta(seconds=rnd.randint(60, 1800))
            x = rnd.random()
            estado = ("RUN_COMPLETED" if x < 0.90 else "RUN_FAILED" if x < 0.96 else
                      "DEPLOY_FAILED" if x < 0.99 else "UNKNOWN")
            dep = None if estado == "DEPLOY_FAILED" else _uuid(n)
            slot = (inicio.date().isoformat(), inicio.strftime("%H:00:00")) if prog else (None, None)
            filas.append((dep, robot, eq, 10_000 + eq, slot[1], _texto(inicio), _texto(fin), estado,
                          _texto(fin), slot[0]))
            if dep is not None and n % 2 == 0:
                callbacks.append((dep, _texto(fin), estado))
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO Ejecuciones (DeploymentId, RobotId, EquipoId, UserId, Hora, FechaInicio, FechaFin, "
            "Estado, FechaActualizacion, FechaSlot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", filas)
        con.executemany(
            "INSERT INTO CallbacksRecibidos (DeploymentId, FechaRecepcion, Estado, Payload, Aplicado) "
            "VALUES (?, ?, ?, '{}', 1)", callbacks)
        con.execute("COMMIT")
    for sql in indices:
        con.execute(sql)


# --- the per-cycle queries --------------------------------------------------------------------------


def consultas(db: DatabaseClient) -> dict[str, Callable[[], object]]:
    abiertas = db.query("SELECT DeploymentId FROM Ejecuciones WHERE FechaFin IS NULL AND DeploymentId IS NOT NULL "
                        "ORDER BY EjecucionId LIMIT 50")
    deps = [r["DeploymentId"] for r in abiertas]
    contador = {"n": 0}

    def callback() -> object:
        contador["n"] += 1
        dep = deps[contador["n"] % len(deps)]
        return E.record_callback(db, dep, "RUNNING", "{}", AHORA)

    def ronda() -> object:
        filas = E.active_executions(db)
        E.lanzando_older_than(db, AHORA - timedelta(minutes=2))
        E.apply_status_batch(db, [(r["EjecucionId"], r["Estado"], AHORA, None, None) for r in filas[:20]])
        E.update_not_found_batch(db, [(r["EjecucionId"], 0, r["Estado"], AHORA) for r in filas[:20]])
        E.close_unknown(db, LIMITE_UNKNOWN, AHORA)
        E.apply_pending_callbacks(db, AHORA)
        return len(filas)

    return {
        "selección (ObtenerRobotsEjecutables)": lambda: seleccion.obtener_robots_ejecutables(db, AHORA),
        "equipos ocupados (balanceador)": lambda: repositorio.leer_ocupados(db, LIMITE_UNKNOWN),
        "ejecuciones activas (conciliador)": lambda: E.active_executions(db),
        "lectura del balanceador (leer_todo)": lambda: repositorio.leer_todo(db, LICENCIAS, LIMITE_UNKNOWN),
        "aplicar un callback": callback,
        "ronda de conciliación (parte BD)": ronda,
    }


def medir(fn: Callable[[], object], repeticiones: int) -> float:
    fn()  # warm-up: connection, statement cache, pages
    tiempos = []
    for _ in range(repeticiones):
        t = time.perf_counter()
        fn()
        tiempos.append(time.perf_counter() - t)
    return statistics.median(tiempos)


def medir_todas(ruta: Path, repeticiones: int) -> dict[str, float]:
    db = DatabaseClient(engine="sqlite", sqlite_path=ruta)
    try:
        return {nombre: medir(fn, repeticiones) for nombre, fn in consultas(db).items()}
    finally:
        db.close_all()


# --- the move job and the launch cycle during it ----------------------------------------------------


def ciclo_lanzamiento(db: DatabaseClient, intentos: int = 20) -> float:
    """A launch cycle's DB work: the selection, then up to ``intentos`` intent rows (removed after
    timing so every cycle sees the same state)."""
    t = time.perf_counter()
    filas = seleccion.obtener_robots_ejecutables(db, AHORA)
    ids = [E.insert_intent(db, robot_id=f.robot_id, equipo_id=f.equipo_id, user_id=f.user_id, hora=f.hora,
                           fecha_slot=f.fecha_slot, now=AHORA) for f in filas[:intentos]]
    dur = time.perf_counter() - t
    if ids:
        db.executemany("DELETE FROM Ejecuciones WHERE EjecucionId = ?", [(i,) for i in ids])
    return dur


def bench_mover(ruta: Path, repeticiones: int) -> None:
    if importlib.util.find_spec("common.database.mantenimiento") is None:
        print("\nTraslado a Ejecuciones_Historico: necesita common/database/mantenimiento.py (R2), "
              "que aún no existe; esta parte no se mide.")
        return
    from common.database import mantenimiento
    from lanzador.service.mantenimiento import PAUSA_ENTRE_LOTES_SEG

    db = DatabaseClient(engine="sqlite", sqlite_path=ruta)
    ensure_schema(db)  # the R2 tables
    reposo = [ciclo_lanzamiento(db) for _ in range(repeticiones)]
    elegibles = db.query_one("SELECT COUNT(*) AS n FROM Ejecuciones WHERE FechaFin IS NOT NULL")["n"]
    # As in the Lanzador: the job waits before each batch while a launch cycle runs (an Event the
    # launch job clears during its cycle), with the job's own pause between batches; batches on
    # SQLite are sized to last about DURACION_LOTE_SQLITE_SEG.
    libre = threading.Event()
    libre.set()
    resultado: dict = {"r": None, "error": None, "seg": 0.0}
    fin = threading.Event()

    def mover() -> None:
        dbm = DatabaseClient(engine="sqlite", sqlite_path=ruta)
        t = time.perf_counter()
        try:
            ajustes = mantenimiento.AjustesMantenimiento(dias_ejecuciones=1, dias_historico=0, lote=5000)
            resultado["r"] = mantenimiento.ejecutar(dbm, AHORA + timedelta(days=2), ajustes,
                                                   pausa=PAUSA_ENTRE_LOTES_SEG, ceder=lambda: libre.wait(60))
        except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
            resultado["error"] = exc
        finally:
            resultado["seg"] = time.perf_counter() - t
            dbm.close_all()
            fin.set()

    hilo = threading.Thread(target=mover, daemon=True)
    hilo.start()
    durante = []
    while not fin.is_set():
        libre.clear()
        try:
            durante.append(ciclo_lanzamiento(db))
        finally:
            libre.set()
        fin.wait(INTERVALO_CICLO_SEG)
    hilo.join()
    db.close_all()
    movidas = resultado["r"].movidas if resultado["r"] else 0
    print("\nTraslado a Ejecuciones_Historico (mantenimiento.ejecutar, hasta 5000 filas por lote):")
    if resultado["error"] is not None:
        print(f"  ERROR: {resultado['error']!r}")
    print(f"  {movidas:,} de {elegibles:,} filas elegibles en {resultado['seg']:.1f} s: "
          f"{movidas / max(resultado['seg'], 1e-9):,.0f} filas/s"
          + (f", {resultado['r'].lotes} lotes" if resultado["r"] else ""))
    m_reposo = statistics.median(reposo)
    if durante:
        m_durante = statistics.median(durante)
        print(f"  ciclo de lanzamiento (selección + 20 intentos, uno cada {INTERVALO_CICLO_SEG} s), mediana: "
              f"en reposo {m_reposo * 1000:.1f} ms; durante el traslado {m_durante * 1000:.1f} ms "
              f"({len(durante)} ciclos, máx. {max(durante) * 1000:.1f} ms): {m_durante / m_reposo:.2f}x "
              "(objetivo <= 2x)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--filas", type=int, default=1_500_000, help="filas terminadas del tamaño grande")
    ap.add_argument("--pequeno", type=int, default=10_000, help="filas terminadas del tamaño pequeño")
    ap.add_argument("--repeticiones", type=int, default=15)
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="sam-bench-historial-"))
    ruta = tmp / "sam.db"
    t = time.perf_counter()
    con = poblar(ruta)
    anadir_terminadas(con, 0, args.pequeno)
    print(f"{ROBOTS} robots, {EQUIPOS:,} equipos, {ABIERTAS} ejecuciones abiertas, "
          f"{args.pequeno:,} terminadas ({time.perf_counter() - t:.1f} s)")
    pequeno = medir_todas(ruta, args.repeticiones)
    t = time.perf_counter()
    anadir_terminadas(con, args.pequeno, args.filas)
    con.close()
    print(f"... hasta {args.filas:,} terminadas ({time.perf_counter() - t:.1f} s)")
    grande = medir_todas(ruta, args.repeticiones)

    print(f"\nConsultas de cada ciclo (mediana de {args.repeticiones}):")
    ancho = max(len(k) for k in pequeno)
    print(f"  {'consulta':<{ancho}}  {args.pequeno:>9,}  {args.filas:>9,}  proporción (objetivo <= 1.5x)")
    for nombre, t_p in pequeno.items():
        t_g = grande[nombre]
        print(f"  {nombre:<{ancho}}  {t_p * 1000:7.2f} ms  {t_g * 1000:7.2f} ms  {t_g / t_p:5.2f}x")
    bench_mover(ruta, args.repeticiones)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
