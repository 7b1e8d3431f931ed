"""``python -m demo`` closes the loop with the three real services (issue: embedded demo)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import threading

import pytest
import requests

from common.execution_states import TERMINAL_STATES
from common.paths import PROJECT_ROOT
from demo import muestra

pytestmark = [pytest.mark.system, pytest.mark.slow]


#: The line the demo prints once its console answers (URL, user and the random password).
LINEA_CONSOLA = re.compile(r"^Consola web en (http://127\.0\.0\.1:\d+)/ — usuario «(\w+)», clave «([^»]+)»", re.M)


def _leer(flujo, destino: list[str], linea_vista: threading.Event) -> None:
    for linea in flujo:
        destino.append(linea)
        if LINEA_CONSOLA.match(linea):
            linea_vista.set()


def _probar_consola(salida: list[str]) -> dict:
    """While the demo runs: the console's /health and a sign-in with the printed password."""
    url, usuario, clave = LINEA_CONSOLA.search("".join(salida)).groups()
    with requests.Session() as s:
        salud = s.get(url + "/health", timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(url + "/login", timeout=30).text).group(1)
        mala = s.post(url + "/login", data={"Usuario": usuario, "Clave": clave + "x", "csrf_token": token},
                      allow_redirects=False, timeout=30)
        entrada = s.post(url + "/login", data={"Usuario": usuario, "Clave": clave, "csrf_token": token},
                         allow_redirects=False, timeout=30)
        estado = s.get(url + "/", allow_redirects=False, timeout=30)
    return {"url": url, "usuario": usuario, "clave": clave, "health": (salud.status_code, salud.json()),
            "mala": mala.status_code, "entrada": (entrada.status_code, entrada.headers.get("Location")),
            "estado": (estado.status_code, "Estado" in estado.text)}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    carpeta = tmp_path_factory.mktemp("demo")
    args = [sys.executable, "-m", "demo", "--duracion", "45", "--semilla", "1", "--carpeta", str(carpeta)]
    popen = subprocess.Popen(args, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             encoding="utf-8")
    salida: list[str] = []
    errores: list[str] = []
    vista = threading.Event()
    lectores = [threading.Thread(target=_leer, args=(popen.stdout, salida, vista), daemon=True),
                threading.Thread(target=_leer, args=(popen.stderr, errores, threading.Event()), daemon=True)]
    for h in lectores:
        h.start()
    try:
        consola = _probar_consola(salida) if vista.wait(120) else None
        popen.wait(timeout=240)
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait()
    for h in lectores:
        h.join(timeout=30)
    proc = subprocess.CompletedProcess(args, popen.returncode, "".join(salida), "".join(errores))
    proc.consola = consola  # type: ignore[attr-defined]
    db = sqlite3.connect(carpeta / "sam.db")
    db.row_factory = sqlite3.Row
    yield proc, db, carpeta
    db.close()


def test_demo_exits_0_and_every_service_exited_0(demo_run):
    proc, _, _ = demo_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    codes = re.findall(r"(Callback|Lanzador|Balanceador|Consola) terminó con código (-?\d+|None)", proc.stdout)
    assert sorted(name for name, _ in codes) == ["Balanceador", "Callback", "Consola", "Lanzador"]
    assert all(code == "0" for _, code in codes), codes


def test_demo_synced_robots_and_equipos_from_the_control_room(demo_run):
    _, db, _ = demo_run
    robots = db.execute("SELECT COUNT(*) FROM Robots WHERE FechaSincronizacion IS NOT NULL").fetchone()[0]
    assert robots == len(muestra.ROBOTS) == 10
    equipos = db.execute("SELECT COUNT(*) FROM Equipos WHERE FechaSincronizacion IS NOT NULL").fetchone()[0]
    assert equipos == muestra.DEVICES == 14
    estados = dict(db.execute("SELECT Equipo, EstadoA360 FROM Equipos").fetchall())
    assert estados["VMRPA12"] == "DISCONNECTED"


def test_demo_balancer_assigned_vms_and_logged_its_decisions(demo_run):
    _, db, _ = demo_run
    assert db.execute("SELECT COUNT(*) FROM HistoricoBalanceo WHERE AccionTomada = 'ASIGNAR'").fetchone()[0] > 0
    # Never the disconnected VM, the disabled user's VM or the scheduled robots' VMs.
    bad = db.execute(
        "SELECT COUNT(*) FROM Asignaciones WHERE AsignadoPor = 'Balanceador' AND EquipoId IN (210, 211, 212, 213, 214)"
    ).fetchone()[0]
    assert bad == 0


def test_demo_launched_and_completed_runs_through_callbacks(demo_run):
    proc, db, _ = demo_run
    ejecuciones = db.execute("SELECT COUNT(*) FROM Ejecuciones WHERE DeploymentId IS NOT NULL").fetchone()[0]
    assert ejecuciones > 0
    aplicados = db.execute(
        "SELECT COUNT(*) FROM Ejecuciones e JOIN CallbacksRecibidos c ON c.DeploymentId = e.DeploymentId "
        f"WHERE c.Aplicado = 1 AND e.Estado IN ({','.join('?' * len(TERMINAL_STATES))})",
        sorted(TERMINAL_STATES),
    ).fetchone()[0]
    assert aplicados > 0
    assert re.search(r"Despliegues en el Control Room simulado: (\d+)", proc.stdout).group(1) == str(ejecuciones)


def test_demo_never_ran_two_executions_at_once_on_one_equipo(demo_run):
    _, db, _ = demo_run
    rows = db.execute(
        "SELECT EquipoId, FechaInicio, COALESCE(FechaFin, '9999-12-31') AS Fin FROM Ejecuciones "
        "WHERE Estado <> 'DEPLOY_FAILED' ORDER BY EquipoId, FechaInicio"
    ).fetchall()
    last_end: dict[int, str] = {}
    for r in rows:
        if r["EquipoId"] in last_end:
            assert r["FechaInicio"] >= last_end[r["EquipoId"]], f"overlap on equipo {r['EquipoId']}"
        last_end[r["EquipoId"]] = r["Fin"]


def test_demo_summary_says_how_many_executions_were_still_running_and_why(demo_run):
    proc, db, _ = demo_run
    abiertas = db.execute(
        f"SELECT COUNT(*) FROM Ejecuciones WHERE FechaFin IS NULL AND Estado NOT IN "
        f"({','.join('?' * len(TERMINAL_STATES))})", sorted(TERMINAL_STATES),
    ).fetchone()[0]
    if abiertas == 0:
        assert "Ejecuciones en curso al parar la demo: ninguna" in proc.stdout
        return
    verbo = "ejecución seguía" if abiertas == 1 else "ejecuciones seguían"
    linea = re.search(rf"(\d+) {verbo} en curso al parar la demo: los robots simulados duran (.+?) y la demo "
                      r"terminó antes", proc.stdout)
    assert linea, proc.stdout[-2000:]
    assert int(linea.group(1)) == abiertas
    assert re.fullmatch(r"entre [\d.]+ y [\d.]+ s", linea.group(2)), linea.group(2)  # demo: uniform durations


# --- pools (B11, B12) and the production schedules (L7) -------------------------------------


def test_B11_demo_has_two_pools_with_their_robots_and_equipos_and_the_summary_lists_them(demo_run):
    proc, db, _ = demo_run
    pools = dict(db.execute("SELECT PoolId, Nombre FROM Pools").fetchall())
    assert pools == {1: "Finanzas", 2: "Operaciones"}
    for p in muestra.POOLS:
        robots = {r[0] for r in db.execute("SELECT RobotId FROM Robots WHERE PoolId = ?", (p.pool_id,))}
        equipos = {r[0] for r in db.execute("SELECT EquipoId FROM Equipos WHERE PoolId = ?", (p.pool_id,))}
        assert (robots, equipos) == (set(p.robots), set(p.equipos)), p.nombre  # the sync kept PoolId
        linea = re.search(rf"^  {p.nombre}: robots (.+); equipos (.+)$", proc.stdout, re.MULTILINE)
        assert linea, proc.stdout[-3000:]
        assert set(linea.group(1).split(", ")) == {r.name for r in muestra.ROBOTS if r.file_id in p.robots}
        assert set(linea.group(2).split(", ")) == {muestra.nombre_equipo(e) for e in p.equipos}
    assert re.search(r"^  general: robots P0920_Nomina; equipos ", proc.stdout, re.MULTILINE)
    assert re.search(r"^Pools: Finanzas: 3 robots, \d+ VMs propias", proc.stdout, re.MULTILINE)


def test_B11_a_pool_equipo_only_ever_served_robots_of_its_pool(demo_run):
    _, db, _ = demo_run
    cruzadas = db.execute(
        "SELECT a.RobotId, a.EquipoId FROM Asignaciones a JOIN Robots r ON r.RobotId = a.RobotId "
        "JOIN Equipos e ON e.EquipoId = a.EquipoId WHERE e.PoolId IS NOT NULL AND "
        "(r.PoolId IS NULL OR r.PoolId <> e.PoolId)"
    ).fetchall()
    assert cruzadas == []
    # every decision of a pool robot carries its pool, and the view names it
    sin_pool = db.execute(
        "SELECT COUNT(*) FROM HistoricoBalanceo h JOIN Robots r ON r.RobotId = h.RobotId "
        "WHERE h.PoolId IS NOT r.PoolId"
    ).fetchone()[0]
    assert sin_pool == 0
    assert db.execute("SELECT COUNT(*) FROM HistoricoBalanceo WHERE PoolId = 1").fetchone()[0] > 0


def test_B12_demo_lends_free_general_vms_to_the_pools_and_the_summary_counts_it(demo_run):
    proc, db, carpeta = demo_run
    assert "BALANCEADOR_AISLAMIENTO_ESTRICTO=false" in (carpeta / ".env").read_text(encoding="utf-8")
    desbordes = db.execute("SELECT COUNT(*) FROM HistoricoBalanceo WHERE CodigoMotivo = 'DESBORDE'").fetchone()[0]
    assert desbordes > 0  # Finanzas and Operaciones ask for more than their 3 VMs each
    linea = re.search(r"Préstamos del pool general a otros pools \(DESBORDE\): (\d+); devoluciones "
                      r"\(RECLAMO_DESBORDE\): (\d+)\.", proc.stdout)
    assert linea and int(linea.group(1)) == desbordes
    reclamos = db.execute("SELECT COUNT(*) FROM HistoricoBalanceo WHERE CodigoMotivo = 'RECLAMO_DESBORDE'").fetchone()[0]
    assert int(linea.group(2)) == reclamos
    assert "[Finanzas]" in proc.stdout or "[Operaciones]" in proc.stdout  # decisions in the view name the pool


def _lanzamientos(db, robot_id):
    return db.execute(
        "SELECT EquipoId, FechaSlot, Hora FROM EjecucionesTodas WHERE RobotId = ? AND DeploymentId IS NOT NULL",
        (robot_id,),
    ).fetchall()


def test_L7_3_demo_cyclic_robot_is_relaunched_on_its_reserved_equipo_and_the_summary_counts_it(demo_run):
    proc, db, _ = demo_run
    prog = db.execute(
        "SELECT ProgramacionId, HoraInicio, HoraFin, EsCiclico, IntervaloEntreEjecuciones FROM Programaciones "
        "WHERE RobotId = ?", (muestra.CYCLIC_ROBOT,)).fetchone()
    assert prog["EsCiclico"] == 1 and prog["HoraFin"] is not None and (prog["IntervaloEntreEjecuciones"] or 0) == 0
    runs = _lanzamientos(db, muestra.CYCLIC_ROBOT)
    assert len(runs) >= 2, "the cyclic robot was not relaunched"
    assert {r["EquipoId"] for r in runs} == {muestra.CYCLIC_DEVICE}
    assert {r["Hora"][:5] for r in runs} == {prog["HoraInicio"][:5]}  # one window: Hora = HoraInicio
    linea = re.search(r"Cíclica P1230_MonitorCorreo en VMRPA13, ventana [\d:]+–[\d:]+ cada 0 min: (\d+) "
                      r"lanzamientos? \((\d+) relanzamientos?", proc.stdout)
    assert linea, proc.stdout[-3000:]
    assert int(linea.group(1)) == len(runs) and int(linea.group(2)) == len(runs) - 1
    assert re.search(r"^Cíclico P1230_MonitorCorreo en VMRPA13 \(ventana", proc.stdout, re.MULTILINE)  # the view
    ocupado = db.execute(
        "SELECT COUNT(*) FROM Asignaciones WHERE EquipoId = ? AND AsignadoPor = 'Balanceador'",
        (muestra.CYCLIC_DEVICE,)).fetchone()[0]
    assert ocupado == 0


def test_L7_1_demo_rangomensual_schedule_is_due_today_launched_once_and_explained(demo_run):
    proc, db, _ = demo_run
    prog = db.execute("SELECT TipoProgramacion, DiaInicioMes, DiaFinMes FROM Programaciones WHERE RobotId = ?",
                      (muestra.MONTHLY_ROBOT,)).fetchone()
    assert prog["TipoProgramacion"] == "RangoMensual"
    runs = _lanzamientos(db, muestra.MONTHLY_ROBOT)
    assert [r["EquipoId"] for r in runs] == [muestra.MONTHLY_DEVICE]  # one-shot: once in its window
    linea = re.search(r"RangoMensual P1340_CierreMensual en VMRPA14, días (\d+) a (\d+) a las [\d:]+: hoy es "
                      r"día (\d+), toca; (\d+) lanzamientos?", proc.stdout)
    assert linea, proc.stdout[-3000:]
    assert (int(linea.group(1)), int(linea.group(2))) == (prog["DiaInicioMes"], prog["DiaFinMes"])
    assert prog["DiaInicioMes"] <= int(linea.group(3)) <= prog["DiaFinMes"]
    assert int(linea.group(4)) == 1


def test_L7_4_demo_schedules_were_created_through_the_operations_module(demo_run):
    proc, db, _ = demo_run
    auditadas = db.execute(
        "SELECT EntidadId FROM Auditoria WHERE Usuario = 'demo' AND Accion = 'crear' AND Entidad = 'Programaciones' "
        "AND Resultado = 'ok'").fetchall()
    ids = {r[0] for r in db.execute("SELECT ProgramacionId FROM Programaciones")}
    assert {int(r[0]) for r in auditadas} == ids and len(ids) == 3
    assert db.execute("SELECT COUNT(*) FROM Programaciones WHERE FechaActualizacion IS NULL").fetchone()[0] == 0
    assert "Programaciones creadas con common/operaciones/programaciones.py (validación y solapes): 3 " in proc.stdout


# --- the console (CONSOLE §5) ----------------------------------------------------------------


def test_demo_starts_the_console_and_its_printed_password_signs_in(demo_run):
    proc, db, carpeta = demo_run
    consola = proc.consola
    assert consola is not None, "the demo did not print the console's URL and password: " + proc.stdout[-3000:]
    assert consola["health"] == (200, {"estado": "ok"})
    assert consola["mala"] == 401  # a wrong password is refused...
    assert consola["entrada"] == (303, "/")  # ...the printed one signs in
    assert consola["estado"] == (200, True)
    fila = db.execute("SELECT Rol, Activo, UltimoAcceso, HashClave FROM UsuariosConsola WHERE Usuario = ?",
                      (consola["usuario"],)).fetchone()
    assert (fila["Rol"], fila["Activo"]) == ("administrador", 1) and fila["UltimoAcceso"] is not None
    assert db.execute("SELECT COUNT(*) FROM Auditoria WHERE Usuario = 'demo' AND Entidad = 'UsuariosConsola' "
                      "AND Resultado = 'ok'").fetchone()[0] == 1
    # the password is neither stored in clear nor written to the .env or any log
    assert consola["clave"] not in fila["HashClave"]
    assert consola["clave"] not in (carpeta / ".env").read_text(encoding="utf-8")
    for log in (carpeta / "logs").iterdir():
        assert consola["clave"] not in log.read_text(encoding="utf-8", errors="replace"), log.name
    # the summary says where the console was and how to sign in; the view showed it running
    assert f"Consola web (detenida con la demo): {consola['url']}/ — usuario «{consola['usuario']}»" in proc.stdout
    assert re.search(r"Servicios: .*Consola: en marcha \(/health OK\)", proc.stdout)
