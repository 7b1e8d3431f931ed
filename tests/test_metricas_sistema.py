"""M1 and H5 with real processes: a Lanzador (against the Control Room simulator over HTTP), a callback
server and a Balanceador on SQLite, each with its metrics port set. ``/metrics`` is scraped over HTTP
and parsed with prometheus_client's own parser; the heartbeat rows are read from EstadoServicios.
Every wait is "until a condition holds or a generous deadline passes"."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from common.paths import PROJECT_ROOT
from common.version import __version__
from tests.esperas import esperar
from tests.test_lanzador_system_procesos import Entorno, _free_port, _sim

pytestmark = pytest.mark.system

BALANCEADOR = PROJECT_ROOT / "balanceador" / "run_balanceador.py"


def rascar(puerto: int) -> dict[str, dict[tuple, float]]:
    """``/metrics`` of a process: family name -> {(sample name, sorted labels): value}."""
    r = requests.get(f"http://127.0.0.1:{puerto}/metrics", timeout=10)
    assert r.status_code == 200
    out: dict[str, dict[tuple, float]] = {}
    for fam in text_string_to_metric_families(r.text):
        muestras = out.setdefault(fam.name, {})
        for s in fam.samples:
            muestras[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def valor(metricas, familia: str, muestra: str, **etiquetas) -> float:
    return metricas.get(familia, {}).get((muestra, tuple(sorted(etiquetas.items()))), 0.0)


def rascar_o_nada(puerto: int):
    try:
        return rascar(puerto)
    except requests.ConnectionError:
        return None


def filas_latido(db, servicio: str):
    return db.query("SELECT * FROM EstadoServicios WHERE Servicio = ?", (servicio,))


FAMILIAS_LANZADOR = {
    "sam_info", "sam_despliegues", "sam_despliegue_segundos", "sam_ejecuciones_activas", "sam_cierres",
    "sam_a360_llamada_segundos", "sam_errores_bd", "sam_tarea_segundos", "sam_tarea_ultimo_ok_timestamp_segundos",
    "sam_tarea_fallos", "sam_lider", "sam_callbacks", "sam_balanceo_tickets", "sam_balanceo_equipos",
}


def test_M1_H5_lanzador_and_callback_metrics_move_and_heartbeats_advance(tmp_path):
    m_lanzador, m_callback = _free_port(), _free_port()
    with _sim() as sim:
        env = Entorno(tmp_path, sim, LANZADOR_METRICAS_PUERTO=m_lanzador, CALLBACK_METRICAS_PUERTO=m_callback,
                      SAM_LATIDO_SEG=1)
        try:
            env.online([(5100, 80), (5102, 81)])
            env.callback.start()
            env.lanzador.start()
            # the first scrape, before anything was deployed, is the baseline
            antes = esperar(lambda: rascar_o_nada(m_lanzador), 60, que="/metrics del Lanzador")
            assert FAMILIAS_LANZADOR <= set(antes), FAMILIAS_LANZADOR - set(antes)
            assert valor(antes, "sam_info", "sam_info", servicio="lanzador", version=__version__) == 1
            assert valor(antes, "sam_lider", "sam_lider") == 1  # HA off: the one process does the work
            esperar(lambda: len([r for r in env.ejecuciones() if r["FechaFin"]]) >= 3, 90,
                    que="3 ejecuciones cerradas")

            def desplegados():
                m = rascar(m_lanzador)
                return m if valor(m, "sam_despliegues", "sam_despliegues_total", resultado="desplegado") >= 3 else None

            m = esperar(desplegados, 60, que="sam_despliegues_total{resultado=desplegado} >= 3")
            assert valor(m, "sam_despliegues", "sam_despliegues_total", resultado="desplegado") > valor(
                antes, "sam_despliegues", "sam_despliegues_total", resultado="desplegado")
            assert valor(m, "sam_despliegue_segundos", "sam_despliegue_segundos_count") >= 3
            deploy = sum(valor(m, "sam_a360_llamada_segundos", "sam_a360_llamada_segundos_count",
                               endpoint="/v3/automations/deploy", estado=e) for e in ("200", "201"))
            assert deploy >= 3, sorted(m["sam_a360_llamada_segundos"])[:20]
            endpoints = {dict(k[1]).get("endpoint") for k in m["sam_a360_llamada_segundos"]}
            assert "/v2/authentication" in endpoints and not any(e and any(c.isdigit() for c in e.split("/")[-1])
                                                                   for e in endpoints)
            assert valor(m, "sam_tarea_ultimo_ok_timestamp_segundos", "sam_tarea_ultimo_ok_timestamp_segundos",
                         tarea="lanzamiento") > 0
            assert valor(m, "sam_tarea_segundos", "sam_tarea_segundos_count", tarea="latido") >= 1
            assert ("sam_ejecuciones_activas", (("estado", "RUNNING"),)) in m["sam_ejecuciones_activas"]

            def cerrados_por_callback():
                c = rascar(m_callback)
                return c if valor(c, "sam_cierres", "sam_cierres_total", origen="callback") >= 1 else None

            c = esperar(cerrados_por_callback, 60, que="sam_cierres_total{origen=callback} >= 1 en el callback")
            assert valor(c, "sam_callbacks", "sam_callbacks_total", codigo="200") >= 1
            assert valor(c, "sam_info", "sam_info", servicio="callback", version=__version__) == 1
            # metrics never on the port A360 calls, callbacks never on the metrics port
            assert requests.get(f"http://127.0.0.1:{env.port}/metrics", timeout=10).status_code == 404
            assert requests.post(f"http://127.0.0.1:{m_callback}/api/callback", json={}, timeout=10).status_code != 200

            # H5: one row per process, right service / pid / version / role, UltimoLatido moving
            for servicio, proc in (("lanzador", env.lanzador), ("callback", env.callback)):
                filas = filas_latido(env.db, servicio)
                assert [(f["Pid"], f["Version"], f["Rol"]) for f in filas] == [(proc.p.pid, __version__, "activo")]
                primero = filas[0]["UltimoLatido"]
                esperar(lambda s=servicio, p=primero: filas_latido(env.db, s)[0]["UltimoLatido"] > p, 30,
                        que=f"el latido de {servicio} avanza")
            assert filas_latido(env.db, "lanzador")[0]["UltimoCicloOk"] is not None
            salud = requests.get(f"http://127.0.0.1:{env.port}/health", timeout=10)
            assert salud.status_code == 200
            edad = salud.json()["latido_edad_seg"]
            assert isinstance(edad, (int, float)) and 0 <= edad < 60

            assert env.lanzador.terminate() == 0
            assert env.callback.terminate() == 0
            assert env.db.query("SELECT * FROM EstadoServicios") == []  # a clean stop removes its row
        finally:
            env.close()


def _preparar_balanceador(tmp: Path) -> tuple[Path, Path]:
    from common.database.schema import ensure_schema
    from common.database.sql_client import DatabaseClient

    sam, rpa = tmp / "sam.db", tmp / "rpa360.db"
    db = DatabaseClient(engine="sqlite", sqlite_path=sam)
    ensure_schema(db)
    db.executemany("INSERT INTO Robots (RobotId, Robot, EsOnline, Activo, MinEquipos, MaxEquipos, PrioridadBalanceo) "
                   "VALUES (?, ?, 1, 1, 1, -1, ?)", [(1, "Facturas", 10), (2, "Pedidos", 50)])
    db.executemany("INSERT INTO Equipos (EquipoId, Equipo, Licencia, EstadoA360) VALUES (?, ?, 'ATTENDEDRUNTIME', "
                   "'CONNECTED')", [(e, f"VM{e}") for e in range(101, 105)])
    db.close_all()
    c = sqlite3.connect(rpa)
    c.execute("CREATE TABLE TicketsPendientesPorRobot (Robot TEXT, RobotId INTEGER NULL, CantidadTickets INTEGER)")
    c.commit()
    c.close()
    return sam, rpa


def _tickets(rpa: Path, tickets: dict[str, int]) -> None:
    c = sqlite3.connect(rpa, timeout=30)
    try:
        c.execute("DELETE FROM TicketsPendientesPorRobot")
        c.executemany("INSERT INTO TicketsPendientesPorRobot (Robot, RobotId, CantidadTickets) VALUES (?, NULL, ?)",
                      list(tickets.items()))
        c.commit()
    finally:
        c.close()


def test_M1_H5_balanceador_gauges_per_robot_follow_the_tickets(tmp_path):
    import os

    from common.database.sql_client import DatabaseClient

    sam, rpa = _preparar_balanceador(tmp_path)
    _tickets(rpa, {"Facturas": 25, "Pedidos": 0})
    puerto = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQL_", "BALANCEADOR_", "EMAIL_", "SAM_", "HA_"))}
    env.update({"SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": str(sam), "SQL_RPA360_ENGINE": "sqlite",
                "SQL_RPA360_SQLITE_PATH": str(rpa), "BALANCEADOR_PROVEEDORES_CARGA": "rpa360",
                "BALANCEADOR_INTERVALO_CICLO_SEG": "1", "BALANCEADOR_COOLING_PERIOD_SEG": "0",
                "BALANCEADOR_METRICAS_PUERTO": str(puerto), "SAM_LATIDO_SEG": "1", "EMAIL_SMTP_SERVER": "",
                "LOG_DIRECTORY": str(tmp_path / "logs"), "SAM_ZONA_HORARIA": "UTC", "PYTHONUNBUFFERED": "1"})
    with (tmp_path / "balanceador.salida.log").open("ab") as salida:
        proc = subprocess.Popen([sys.executable, str(BALANCEADOR)], cwd=tmp_path, env=env, stdout=salida,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    db = DatabaseClient(engine="sqlite", sqlite_path=sam)
    try:
        def con_tickets(n: int):
            def cond():
                m = rascar_o_nada(puerto)
                ok = m and valor(m, "sam_balanceo_tickets", "sam_balanceo_tickets", robot="Facturas") == n
                return m if ok else None
            return cond

        m = esperar(con_tickets(25), 90, que="sam_balanceo_tickets{robot=Facturas} == 25")
        assert valor(m, "sam_balanceo_equipos", "sam_balanceo_equipos", robot="Facturas") >= 1
        assert valor(m, "sam_info", "sam_info", servicio="balanceador", version=__version__) == 1
        assert valor(m, "sam_tarea_segundos", "sam_tarea_segundos_count", tarea="ciclo_balanceo") >= 1
        _tickets(rpa, {"Facturas": 3, "Pedidos": 40})
        m = esperar(con_tickets(3), 90, que="sam_balanceo_tickets{robot=Facturas} == 3")
        assert valor(m, "sam_balanceo_tickets", "sam_balanceo_tickets", robot="Pedidos") == 40
        filas = filas_latido(db, "balanceador")
        assert [(f["Pid"], f["Version"], f["Rol"]) for f in filas] == [(proc.pid, __version__, "activo")]
        primero = filas[0]["UltimoLatido"]
        esperar(lambda: filas_latido(db, "balanceador")[0]["UltimoLatido"] > primero, 30,
                que="el latido del Balanceador avanza")
    finally:
        proc.terminate()
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        db.close_all()
    assert proc.returncode == 0, (tmp_path / "balanceador.salida.log").read_text(errors="replace")[-3000:]
