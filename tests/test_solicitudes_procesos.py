"""L8.1-L8.3 with real processes: the operator's tasks run from ``python -m consola`` (a real CLI
subprocess) against a running Lanzador (Control Room simulator over HTTP, SQLite SAM DB, callback
server) or a running Balanceador (SQLite SAM DB and rpa360 file, SMTP sink):

* "sincronizar ahora": a bot added to A360 after start-up is in Robots right after the request,
  with the periodic sync an hour away; the request row says what the sync did;
* "balancear ahora": a ticket change shows in Asignaciones/HistoricoBalanceo right after, with the
  next cycle an hour away;
* two Lanzadores with HA on: the request is served once, by the leader (the standby never claims);
  after a failover the new leader serves the next one;
* destrabar: a deployment that never finishes keeps its equipo busy; once unstuck the equipo is
  launched on again, and a late callback for the old deployment is recorded without reopening it;
* the manual pause set and lifted from the CLI stops and restarts launches within one re-read.

Waits poll with generous deadlines (tests/esperas.esperar); the few fixed sleeps only let cycles
pass to prove that something does NOT happen, and say so."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.paths import PROJECT_ROOT
from tests.esperas import esperar
from tests.smtp_sink import SmtpSink
from tests.test_lanzador_system_procesos import DEPLOY, TOKEN, Entorno, _sim

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(sys.platform == "win32", reason="los servicios de prueba se paran con señales POSIX"),
]

HOST = socket.gethostname()


def consola(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m consola ARGS`` as an operator runs it, on the services' SAM DB."""
    return subprocess.run([sys.executable, "-m", "consola", *args], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)


def _solicitudes(db) -> list[dict]:
    return db.query("SELECT * FROM SolicitudesServicio ORDER BY SolicitudId")


@pytest.fixture()
def entornos(tmp_path):
    hechos: list[Entorno] = []

    def crear(sim, **env):
        e = Entorno(tmp_path, sim, **env)
        hechos.append(e)
        return e

    yield crear
    for e in hechos:
        e.close()


# ---------------------------------------------------------------------------------------- L8.2 Lanzador
def test_L8_2_a_running_lanzador_syncs_now_for_a_cli_request(entornos):
    with _sim() as sim:
        env = entornos(sim)  # LANZADOR_INTERVALO_SYNC_TABLAS_SEG=3600: only the start-up sync
        env.lanzador.start()
        esperar(lambda: env.db.query_one("SELECT COUNT(*) AS n FROM Robots")["n"] >= 6, 60, que="primera sincronización")
        padre = next(f for f in sim.state()["files"] if f["id"] == 5100)["parentId"]
        sim.add("files", {"id": 5900, "parentId": padre, "name": "P5900_Nuevo", "description": None})
        assert env.db.query("SELECT RobotId FROM Robots WHERE RobotId = 5900") == []

        r = consola(env.env, "solicitudes", "crear", "sincronizar", "--esperar", "30")
        assert r.returncode == 0, r.stdout + r.stderr
        [fila] = _solicitudes(env.db)
        assert (fila["Servicio"], fila["Tipo"], fila["Estado"]) == ("lanzador", "sincronizar", "atendida")
        assert fila["AtendidaPor"] == f"{HOST}/{env.lanzador.p.pid}"
        assert fila["SolicitadoPor"].startswith("cli:")
        assert fila["Resultado"].startswith("Sincronización hecha: ") and "7 robots" in fila["Resultado"]
        assert f"Solicitud {fila['SolicitudId']} atendida por {fila['AtendidaPor']}: {fila['Resultado']}" in r.stdout
        assert env.db.query("SELECT Robot FROM Robots WHERE RobotId = 5900") == [{"Robot": "P5900_Nuevo"}]
        assert env.lanzador.terminate() == 0


def test_L8_2_two_lanzadores_with_ha_the_leader_serves_the_request_once_the_standby_never(tmp_path):
    from tests.test_ha_lanzador import DosLanzadores

    with _sim() as sim:
        dos = DosLanzadores(tmp_path, sim, lease=6)
        try:
            dos.arrancar("a", "líder")
            dos.arrancar("b", "en espera")
            assert dos.lider() == "a"
            r = consola(dos.env.env, "solicitudes", "crear", "sincronizar", "--esperar", "30")
            assert r.returncode == 0, r.stdout + r.stderr
            [fila] = _solicitudes(dos.env.db)
            assert (fila["Estado"], fila["AtendidaPor"]) == ("atendida", f"{HOST}/{dos.procs['a'].p.pid}")
            assert dos.log("a").count(f"Solicitud {fila['SolicitudId']} de ") == 1
            assert "Solicitud " not in dos.log("b")

            # the leader dies: the standby takes the role over and serves the next request
            dos.procs["a"].kill9()
            esperar(lambda: dos.lider() == "b", 60, que="el Lanzador b toma el liderazgo")
            r = consola(dos.env.env, "solicitudes", "crear", "sincronizar", "--esperar", "30")
            assert r.returncode == 0, r.stdout + r.stderr
            segunda = _solicitudes(dos.env.db)[-1]
            assert (segunda["Estado"], segunda["AtendidaPor"]) == ("atendida", f"{HOST}/{dos.procs['b'].p.pid}")
            assert dos.log("b").count("Solicitud ") == 2  # claimed and written back, by b only
            assert dos.procs["b"].terminate() == 0
        finally:
            dos.cerrar()


def test_L8_2_H3_a_leader_whose_lease_was_taken_over_claims_no_request(entornos):
    """Right after one of its renewals the lease is taken over: for the ~10 s until its next renewal
    the Lanzador still believes it leads (its serving job keeps running every second), and only the
    fenced claim keeps it from taking the request."""
    from common.operaciones import solicitudes as sol
    from common.operaciones.auditoria import Actor
    from tests.test_ha_cerco import tomar_como_otro

    with _sim() as sim:
        env = entornos(sim, HA_HABILITADO="true", HA_LEASE_SEG="30")  # renewals every 10 s
        env.lanzador.start()
        esperar(lambda: "rol líder" in env.log() or not env.lanzador.alive(), 60, que="Lanzador líder")
        assert env.lanzador.alive(), env.lanzador.output()[-3000:]

        def renovado():
            fila = env.db.query_one("SELECT RenovadoUtc FROM Liderazgo WHERE Rol = 'lanzador'")
            return fila["RenovadoUtc"] if fila else None

        visto = renovado()
        esperar(lambda: renovado() != visto, 30, paso=0.05, que="una renovación del lease")
        tomar_como_otro(env.db_path)
        sid = sol.solicitar(env.db, Actor("ana", "operador"), None, "sincronizar", ahora=datetime.now())["SolicitudId"]
        esperar(lambda: "cambio de rol, líder -> en espera" in env.log(), 40, que="el Lanzador se sabe en espera")
        fila = sol.leer(env.db, sid)
        assert (fila["Estado"], fila["AtendidaPor"], fila["AtendidaEn"]) == ("pendiente", None, None)
        assert f"Solicitud {sid} " not in env.log()
        assert env.lanzador.alive() and env.lanzador.terminate() == 0


# ------------------------------------------------------------------------------------- L8.2 Balanceador
class Balanceador:
    """A Balanceador process whose periodic cycle is an hour away (only the start-up one runs)."""

    def __init__(self, tmp: Path, smtp: SmtpSink):
        self.tmp, self.sam, self.rpa = tmp, tmp / "sam.db", tmp / "rpa360.db"
        self.db = DatabaseClient(engine="sqlite", sqlite_path=self.sam)
        ensure_schema(self.db)
        self.db.executemany(
            "INSERT INTO Robots (RobotId, Robot, EsOnline, Activo, MinEquipos, MaxEquipos, PrioridadBalanceo) "
            "VALUES (?, ?, 1, 1, 0, -1, ?)", [(1, "Facturas", 10), (2, "Pedidos", 50)])
        self.db.executemany(
            "INSERT INTO Equipos (EquipoId, Equipo, Licencia, EstadoA360) VALUES (?, ?, 'ATTENDEDRUNTIME', 'CONNECTED')",
            [(e, f"VM{e}") for e in range(101, 107)])
        self.tickets()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("SQL_", "BALANCEADOR_", "CLOUDERS_", "EMAIL_", "LOG_", "MAPA_", "SAM_"))}
        self.env.update({
            "SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": str(self.sam),
            "SQL_RPA360_ENGINE": "sqlite", "SQL_RPA360_SQLITE_PATH": str(self.rpa),
            "BALANCEADOR_PROVEEDORES_CARGA": "rpa360", "BALANCEADOR_INTERVALO_CICLO_SEG": "3600",
            "BALANCEADOR_COOLING_PERIOD_SEG": "0", "BALANCEADOR_SHUTDOWN_TIMEOUT_SEG": "10",
            "EMAIL_SMTP_SERVER": "127.0.0.1", "EMAIL_SMTP_PORT": str(smtp.port),
            "EMAIL_FROM": "sam@example.test", "EMAIL_RECIPIENTS": "ops@example.test",
            "LOG_DIRECTORY": str(tmp / "logs"), "LOG_LEVEL": "INFO", "SAM_ZONA_HORARIA": "UTC",
            "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8",
        })
        self.salida = (tmp / "balanceador.salida.log").open("ab")
        self.p = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "balanceador" / "run_balanceador.py")],
                                  env=self.env, cwd=tmp, stdout=self.salida, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)

    def log(self) -> str:
        p = self.tmp / "logs" / "sam_balanceador_app.log"
        return p.read_text(encoding="utf-8", errors="replace") if p.exists() else ""

    def tickets(self, **por_robot: int) -> None:
        c = sqlite3.connect(self.rpa, timeout=30)
        c.execute("CREATE TABLE IF NOT EXISTS TicketsPendientesPorRobot "
                  "(Robot TEXT, RobotId INTEGER NULL, CantidadTickets INTEGER)")
        c.execute("DELETE FROM TicketsPendientesPorRobot")
        c.executemany("INSERT INTO TicketsPendientesPorRobot (Robot, RobotId, CantidadTickets) VALUES (?, NULL, ?)",
                      list(por_robot.items()))
        c.commit()
        c.close()

    def equipos(self) -> dict[int, int]:
        filas = self.db.query("SELECT RobotId, COUNT(*) AS n FROM Asignaciones WHERE AsignadoPor = 'Balanceador' "
                              "GROUP BY RobotId")
        return {f["RobotId"]: f["n"] for f in filas}

    def cerrar(self) -> int:
        if self.p.poll() is None:
            self.p.terminate()
        try:
            return self.p.wait(40)
        finally:
            self.salida.close()
            self.db.close_all()


def test_L8_2_a_running_balanceador_balances_now_for_a_cli_request(tmp_path):
    with SmtpSink() as smtp:
        b = Balanceador(tmp_path, smtp)
        try:
            esperar(lambda: "Ciclo de balanceo:" in b.log() or b.p.poll() is not None, 60, que="ciclo de arranque")
            assert b.p.poll() is None, (tmp_path / "balanceador.salida.log").read_text(errors="replace")[-3000:]
            assert b.equipos() == {}
            b.tickets(Pedidos=30)  # 10 tickets per equipo: Pedidos wants 3
            r = consola(b.env, "solicitudes", "crear", "balancear", "--esperar", "30")
            assert r.returncode == 0, r.stdout + r.stderr
            [fila] = _solicitudes(b.db)
            assert (fila["Servicio"], fila["Tipo"], fila["Estado"]) == ("balanceador", "balancear", "atendida")
            assert fila["AtendidaPor"] == f"{HOST}/{b.p.pid}"
            assert fila["Resultado"].startswith("Balanceo hecho: ") and "3 equipos asignados" in fila["Resultado"]
            assert fila["Resultado"] in r.stdout
            assert b.equipos() == {2: 3}  # right after the request, no periodic cycle in between
            assert b.log().count("Ciclo de balanceo:") == 2
            historico = b.db.query("SELECT EquiposAsignadosAntes AS antes, EquiposAsignadosDespues AS despues, "
                                   "TicketsPendientes AS tickets FROM HistoricoBalanceo WHERE RobotId = 2")
            assert historico == [{"antes": 0, "despues": 3, "tickets": 30}], historico
        finally:
            assert b.cerrar() == 0


# ---------------------------------------------------------------------------------------- L8.1 destrabar
def test_L8_1_an_unstuck_equipo_is_launched_on_again_and_a_late_callback_does_not_reopen_the_row(entornos):
    # the first deployment never ends on A360 (an hour); the ones after it take a second
    with _sim(duration_s={"dist": "fixed", "value": 3600}) as sim:
        env = entornos(sim, LANZADOR_INTERVALO_CONCILIADOR_SEG="3600")
        env.online([(5100, 80)])
        env.callback.start()
        env.lanzador.start()
        esperar(lambda: [r for r in env.ejecuciones() if r["DeploymentId"]], 60, que="el primer despliegue")
        sim.configure(duration_s={"dist": "fixed", "value": 1.0})
        [atascada] = env.ejecuciones()
        # Deliberate: launch cycles go by; the equipo is busy with the stuck execution, none may deploy.
        time.sleep(3)
        assert len(sim.requests(DEPLOY)) == 1 and len(env.ejecuciones()) == 1

        r = consola(env.env, "ejecuciones", "destrabar", str(atascada["EjecucionId"]), "--motivo",
                    "la VM80 se quedó colgada")
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"Ejecución {atascada['EjecucionId']} destrabada: RUN_ABORTED" in r.stdout
        esperar(lambda: len([x for x in env.ejecuciones() if x["DeploymentId"]]) >= 2, 60,
                que="un lanzamiento nuevo en el equipo liberado")
        nueva = env.ejecuciones()[1]
        assert (nueva["EquipoId"], nueva["RobotId"]) == (80, 5100)
        assert nueva["DeploymentId"] != atascada["DeploymentId"]
        cerrada = env.db.query_one("SELECT * FROM Ejecuciones WHERE EjecucionId = ?", (atascada["EjecucionId"],))
        assert cerrada["Estado"] == "RUN_ABORTED" and "la VM80 se quedó colgada" in cerrada["MensajeError"]

        # A360's own callback for the old deployment comes in late
        url = f"http://127.0.0.1:{env.port}/api/callback"
        resp = requests.post(url, json={"deploymentId": atascada["DeploymentId"], "status": "RUN_COMPLETED",
                                        "userId": "700", "deviceId": "80"},
                             headers={"X-Authorization": TOKEN}, timeout=30)
        assert resp.status_code < 300, resp.text
        recibidos = env.db.query("SELECT Estado FROM CallbacksRecibidos WHERE DeploymentId = ?",
                                 (atascada["DeploymentId"],))
        assert recibidos == [{"Estado": "RUN_COMPLETED"}]
        despues = env.db.query_one("SELECT * FROM Ejecuciones WHERE EjecucionId = ?", (atascada["EjecucionId"],))
        assert (despues["Estado"], despues["FechaFin"], despues["MensajeError"]) == \
            (cerrada["Estado"], cerrada["FechaFin"], cerrada["MensajeError"])
        assert env.lanzador.terminate() == 0
        assert env.callback.terminate() == 0


# ------------------------------------------------------------------------------------------- L8.3 pausa
def test_L8_3_pause_and_resume_from_the_cli_stop_and_restart_a_running_lanzador(entornos):
    with _sim() as sim:
        env = entornos(sim, SAM_CONFIG_RECARGA_SEG="1")
        env.online([(5100, 80)])
        env.callback.start()
        env.lanzador.start()
        esperar(lambda: len(sim.deploys()) >= 2, 60, que="lanzamientos en marcha")

        hasta = (datetime.utcnow() + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")  # SAM_ZONA_HORARIA=UTC
        r = consola(env.env, "pausa", "hasta", hasta)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"Lanzamientos en pausa hasta {hasta}" in r.stdout
        esperar(lambda: "Pausa manual de lanzamientos" in env.log(), 30, que="la pausa leída por el Lanzador")
        # Deliberate: one cycle that was already deploying may still finish; then none may start.
        time.sleep(1.5)
        antes = len(sim.requests(DEPLOY))
        time.sleep(4)  # several 1 s launch cycles (the run takes ~1.2 s, so unpaused it would relaunch)
        assert len(sim.requests(DEPLOY)) == antes

        r = consola(env.env, "pausa", "reanudar")
        assert r.returncode == 0, r.stdout + r.stderr
        esperar(lambda: len(sim.requests(DEPLOY)) > antes, 30, que="lanzamientos tras reanudar")
        assert "Fin de la pausa manual" in env.log()
        filas = env.db.query("SELECT Usuario, Resultado FROM Auditoria WHERE EntidadId = "
                             "'LANZADOR_PAUSA_MANUAL_HASTA' ORDER BY AuditoriaId")
        assert len(filas) == 2 and all(f["Usuario"].startswith("cli:") for f in filas), filas
        assert env.lanzador.terminate() == 0
        assert env.callback.terminate() == 0
