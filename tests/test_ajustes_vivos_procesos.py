"""C6 with real processes: a running Lanzador (simulator over HTTP, SQLite SAM DB, SMTP sink) and a
running Balanceador (SQLite SAM DB and rpa360 file, SMTP sink) pick up every whitelisted setting
changed in ConfiguracionSistema without a restart (SAM_CONFIG_RECARGA_SEG=1). Waits poll with
generous deadlines; the few fixed sleeps only let cycles pass to prove that something does NOT
happen, and say so."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from tests.esperas import esperar
from tests.smtp_sink import SmtpSink
from tests.test_lanzador_system_procesos import DEPLOY, Entorno, _sim

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parent.parent


def _fila(db, clave, valor):
    """What an operator does in SQL: one row per setting (None deletes it)."""
    db.execute("DELETE FROM ConfiguracionSistema WHERE Clave = ?", (clave,))
    if valor is not None:
        db.execute("INSERT INTO ConfiguracionSistema (Clave, Valor, ActualizadoPor) VALUES (?, ?, 'prueba')",
                   (clave, valor))


def _destinatarios(sink, texto):
    return [rcpt for (_, rcpt), m in zip(sink.envelopes, sink.messages, strict=False) if texto in str(m["Subject"])]


@pytest.fixture()
def entorno(tmp_path):
    made = []

    def make(sim, **env):
        e = Entorno(tmp_path, sim, SAM_CONFIG_RECARGA_SEG="1", **env)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


def test_C6_running_lanzador_takes_pauses_and_wait_after_failure_without_restart(entorno):
    """Manual pause (already in the table at start: not one launch), its end, the pause window and
    LANZADOR_ESPERA_TRAS_FALLO_SEG, each changed in ConfiguracionSistema while the Lanzador runs."""
    with _sim() as sim:
        env = entorno(sim)
        env.online([(5100, 80)])
        ahora = datetime.utcnow()  # SAM_ZONA_HORARIA=UTC: local time is UTC
        _fila(env.db, "LANZADOR_PAUSA_MANUAL_HASTA", (ahora + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"))
        env.callback.start()
        env.lanzador.start()
        esperar(lambda: "Pausa manual de lanzamientos" in env.log(), 60, que="pausa manual registrada")
        esperar(lambda: env.db.query_one("SELECT COUNT(*) AS n FROM Equipos WHERE EstadoA360 = 'CONNECTED'")["n"],
                60, que="sincronización")
        # Deliberate: several 1 s launch cycles go by under the manual pause; none may deploy.
        time.sleep(3)
        assert sim.requests(DEPLOY) == []

        _fila(env.db, "LANZADOR_PAUSA_MANUAL_HASTA", None)          # resume: back to the environment (empty)
        esperar(lambda: sim.deploys(), 60, que="lanzamientos tras quitar la pausa manual")
        assert "Fin de la pausa manual: se reanudan los lanzamientos." in env.log()

        # Pause window set in the table (both halves): launching stops; entering is logged once.
        _fila(env.db, "LANZADOR_PAUSA_INICIO_HHMM", (ahora - timedelta(hours=1)).strftime("%H:%M"))
        _fila(env.db, "LANZADOR_PAUSA_FIN_HHMM", (ahora + timedelta(hours=1)).strftime("%H:%M"))
        esperar(lambda: "Entrando en la ventana de pausa" in env.log(), 60, que="entrada en la ventana de pausa")
        antes = len(sim.requests(DEPLOY))
        # Deliberate: launch cycles pass inside the window; none may deploy.
        time.sleep(3)
        assert len(sim.requests(DEPLOY)) == antes
        assert env.log().count("Entrando en la ventana de pausa") == 1

        # Every deploy now fails; with the environment's 300 s wait the pair is not retried ...
        sim.configure(rules=[{"match": {"path": DEPLOY}, "status": 400, "code": "INVALID_ARGUMENT",
                              "message": "INVALID_ARGUMENT: prueba"}])
        _fila(env.db, "LANZADOR_PAUSA_INICIO_HHMM", None)
        _fila(env.db, "LANZADOR_PAUSA_FIN_HHMM", None)
        esperar(lambda: "Saliendo de la ventana de pausa" in env.log(), 60, que="salida de la ventana")
        esperar(lambda: [r for r in env.ejecuciones() if r["Estado"] == "DEPLOY_FAILED"], 60, que="DEPLOY_FAILED")
        fallidos = len([r for r in sim.requests(DEPLOY) if r["status"] == 400])
        # Deliberate: launch cycles pass; the failed pair must wait its 300 s.
        time.sleep(3)
        assert len([r for r in sim.requests(DEPLOY) if r["status"] == 400]) == fallidos
        # ... and with a 1 s wait set in the table it is retried.
        _fila(env.db, "LANZADOR_ESPERA_TRAS_FALLO_SEG", "1")
        esperar(lambda: len([r for r in sim.requests(DEPLOY) if r["status"] == 400]) >= fallidos + 2, 60,
                que="reintentos tras bajar la espera")
        assert "Ajuste en caliente: LANZADOR_ESPERA_TRAS_FALLO_SEG = 1 (antes 300; origen: ConfiguracionSistema)" \
            in env.log()
        assert env.lanzador.terminate() == 0
        assert env.callback.terminate() == 0


def test_C6_manual_pause_set_on_a_lanzador_that_is_launching_stops_and_resumes_it(entorno):
    """A manual pause written while the Lanzador is launching takes effect at the next re-read
    (SAM_CONFIG_RECARGA_SEG=1): no deploy after the pause is logged; moving its end while it is on is
    logged once; deleting the row resumes launching."""
    with _sim() as sim:
        env = entorno(sim)
        env.online([(5100, 80), (5101, 81)])
        env.callback.start()
        env.lanzador.start()
        # Launching for real: both equipos got a run and at least one was launched again after its callback.
        esperar(lambda: len(sim.deploys()) >= 3, 90, que="lanzamientos en curso")
        assert "Pausa manual de lanzamientos" not in env.log()

        ahora = datetime.utcnow()  # SAM_ZONA_HORARIA=UTC: local time is UTC
        _fila(env.db, "LANZADOR_PAUSA_MANUAL_HASTA", (ahora + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"))
        esperar(lambda: "Pausa manual de lanzamientos" in env.log(), 60, que="pausa manual aplicada en caliente")
        antes = len(sim.requests(DEPLOY))
        # Deliberate: several 1 s launch cycles (and callbacks freeing the equipos) go by; none may deploy.
        time.sleep(3)
        assert len(sim.requests(DEPLOY)) == antes

        _fila(env.db, "LANZADOR_PAUSA_MANUAL_HASTA", (ahora + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M"))
        esperar(lambda: "La pausa manual de lanzamientos se prolonga" in env.log(), 60, que="pausa prolongada")
        assert len(sim.requests(DEPLOY)) == antes

        _fila(env.db, "LANZADOR_PAUSA_MANUAL_HASTA", None)
        esperar(lambda: len(sim.requests(DEPLOY)) > antes, 60, que="lanzamientos tras quitar la pausa manual")
        log = env.log()
        assert "Fin de la pausa manual: se reanudan los lanzamientos." in log
        assert log.count("Pausa manual de lanzamientos") == 1 and log.count("se prolonga") == 1
        assert env.lanzador.terminate() == 0
        assert env.callback.terminate() == 0


def test_C6_running_lanzador_max_duration_recipients_and_invalid_row(entorno):
    """LANZADOR_MAX_DURACION_EJECUCION_MIN and EMAIL_RECIPIENTS changed in the table reach the
    Conciliador and the mail client; an invalid row is mailed once (to the new recipients), the
    last valid value stays, and fixing it is announced."""
    with SmtpSink() as smtp, _sim() as sim:
        env = entorno(sim, EMAIL_SMTP_SERVER="127.0.0.1", EMAIL_SMTP_PORT=smtp.port, EMAIL_FROM="sam@example.com",
                      EMAIL_RECIPIENTS="ops@example.com")
        hace = datetime.utcnow() - timedelta(minutes=10)
        env.db.execute("INSERT INTO Robots (RobotId, Robot, EsOnline) VALUES (5101, 'R5101', 0)")
        env.db.execute("INSERT INTO Equipos (EquipoId, Equipo) VALUES (81, 'VM81')")
        env.db.execute("INSERT INTO Ejecuciones (DeploymentId, RobotId, EquipoId, UserId, FechaInicio, Estado, "
                       "FechaActualizacion) VALUES ('no-existe-en-a360', 5101, 81, 701, ?, 'RUNNING', ?)", (hace, hace))
        env.lanzador.start()
        esperar(lambda: (env.db.query_one("SELECT RondasNoEncontrado AS n FROM Ejecuciones")["n"] or 0) >= 2, 60,
                que="dos rondas de conciliación")
        assert not env.db.query_one("SELECT AlertaDuracionEnviada AS a FROM Ejecuciones")["a"]  # 480 min default

        _fila(env.db, "EMAIL_RECIPIENTS", "nuevo@example.com; otro@example.com")
        esperar(lambda: "Ajuste en caliente: EMAIL_RECIPIENTS" in env.log(), 60, que="destinatarios nuevos")
        _fila(env.db, "LANZADOR_MAX_DURACION_EJECUCION_MIN", "5")
        esperar(lambda: env.db.query_one("SELECT AlertaDuracionEnviada AS a FROM Ejecuciones")["a"], 60,
                que="alerta de duración con 5 min")
        esperar(lambda: _destinatarios(smtp, "más de 5 min"), 60, que="correo de duración")
        assert _destinatarios(smtp, "más de 5 min")[0] == ["nuevo@example.com", "otro@example.com"]

        _fila(env.db, "LANZADOR_MAX_DURACION_EJECUCION_MIN", "0")        # below its minimum of 1
        esperar(lambda: _destinatarios(smtp, "Ajuste no válido"), 60, que="correo del ajuste no válido")
        # Deliberate: several re-reads (1 s) go by with the same invalid row; no second mail.
        time.sleep(3)
        assert len(_destinatarios(smtp, "Ajuste no válido")) == 1
        mail = [m for m in smtp.messages if "Ajuste no válido" in str(m["Subject"])][0]
        assert "LANZADOR_MAX_DURACION_EJECUCION_MIN" in str(mail["Subject"])
        assert "Se mantiene 5" in env.log() and "valor no válido para LANZADOR_MAX_DURACION_EJECUCION_MIN" in env.log()

        _fila(env.db, "LANZADOR_MAX_DURACION_EJECUCION_MIN", "6")
        esperar(lambda: _destinatarios(smtp, "Ajuste de nuevo válido"), 60, que="correo de recuperación")
        assert "LANZADOR_MAX_DURACION_EJECUCION_MIN vuelve a tener un valor válido" in env.log()
        assert env.lanzador.terminate() == 0
        assert env.lanzador.alive() is False


# ------------------------------------------------------------------------------------- Balanceador


class Balanceador:
    def __init__(self, tmp: Path, smtp: SmtpSink, preparar=None):
        """``preparar(db)`` shapes the fleet (pools, ...) before the process starts."""
        self.tmp = tmp
        self.sam, self.rpa = tmp / "sam.db", tmp / "rpa360.db"
        self.log_path = tmp / "logs" / "sam_balanceador_app.log"
        self.db = DatabaseClient(engine="sqlite", sqlite_path=self.sam)
        ensure_schema(self.db)
        self.db.executemany(
            "INSERT INTO Robots (RobotId, Robot, EsOnline, Activo, MinEquipos, MaxEquipos, PrioridadBalanceo) "
            "VALUES (?, ?, 1, 1, 0, -1, ?)", [(1, "Facturas", 10), (2, "Pedidos", 50)])
        self.db.executemany(
            "INSERT INTO Equipos (EquipoId, Equipo, Licencia, EstadoA360) VALUES (?, ?, 'ATTENDEDRUNTIME', 'CONNECTED')",
            [(e, f"VM{e}") for e in range(101, 107)])
        c = sqlite3.connect(self.rpa)
        c.execute("CREATE TABLE TicketsPendientesPorRobot (Robot TEXT, RobotId INTEGER NULL, CantidadTickets INTEGER)")
        c.commit()
        c.close()
        if preparar is not None:
            preparar(self.db)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SQL_", "BALANCEADOR_", "CLOUDERS_", "EMAIL_", "LOG_", "MAPA_", "SAM_"))}
        env.update({
            "SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": str(self.sam),
            "SQL_RPA360_ENGINE": "sqlite", "SQL_RPA360_SQLITE_PATH": str(self.rpa),
            "BALANCEADOR_PROVEEDORES_CARGA": "rpa360", "BALANCEADOR_INTERVALO_CICLO_SEG": "1",
            "BALANCEADOR_COOLING_PERIOD_SEG": "3600", "BALANCEADOR_SHUTDOWN_TIMEOUT_SEG": "10",
            "EMAIL_SMTP_SERVER": "127.0.0.1", "EMAIL_SMTP_PORT": str(smtp.port),
            "EMAIL_FROM": "sam@example.test", "EMAIL_RECIPIENTS": "ops@example.test",
            "LOG_DIRECTORY": str(tmp / "logs"), "LOG_LEVEL": "INFO", "SAM_ZONA_HORARIA": "UTC",
            "SAM_CONFIG_RECARGA_SEG": "1", "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8",
        })
        self.salida = (tmp / "balanceador.salida.log").open("ab")
        self.p = subprocess.Popen([sys.executable, str(ROOT / "balanceador" / "run_balanceador.py")], env=env,
                                  cwd=tmp, stdout=self.salida, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def ciclos(self) -> int:
        return self.log().count("Ciclo de balanceo:")

    def esperar_ciclos(self, n: int) -> None:
        inicio = self.ciclos()
        esperar(lambda: self.ciclos() >= inicio + n, 90, que=f"{n} ciclos de balanceo más")

    def tickets(self, **por_robot: int) -> None:
        c = sqlite3.connect(self.rpa, timeout=30)
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


def test_C6_running_balanceador_takes_tickets_cooling_preemption_and_recipients(tmp_path):
    with SmtpSink() as smtp:
        b = Balanceador(tmp_path, smtp)
        try:
            b.esperar_ciclos(1)
            b.tickets(Pedidos=30)
            esperar(lambda: b.equipos() == {2: 3}, 90, que="3 equipos con 10 tickets por equipo")

            _fila(b.db, "BALANCEADOR_DEFAULT_TICKETS_POR_EQUIPO", "5")      # 30 tickets / 5 = 6 equipos
            esperar(lambda: b.equipos() == {2: 6}, 90, que="6 equipos con 5 tickets por equipo")

            _fila(b.db, "BALANCEADOR_DEFAULT_TICKETS_POR_EQUIPO", "15")     # wants 2, but the cooling holds
            esperar(lambda: "BALANCEADOR_DEFAULT_TICKETS_POR_EQUIPO = 15" in b.log(), 60, que="ajuste 15")
            b.esperar_ciclos(3)
            assert b.equipos() == {2: 6}
            _fila(b.db, "BALANCEADOR_COOLING_PERIOD_SEG", "1")
            esperar(lambda: b.equipos() == {2: 2}, 90, que="bajada tras acortar el enfriamiento")

            # Scarcity: Pedidos takes the whole pool; with BALANCEADOR_PREEMPCION=false the higher
            # priority Facturas gets nothing; set back to true it takes an idle equipo from Pedidos.
            _fila(b.db, "BALANCEADOR_PREEMPCION", "false")
            esperar(lambda: "BALANCEADOR_PREEMPCION = False" in b.log(), 60, que="preempción desactivada")
            b.tickets(Pedidos=90)
            esperar(lambda: b.equipos() == {2: 6}, 90, que="todo el pool para Pedidos")
            b.tickets(Pedidos=90, Facturas=30)
            b.esperar_ciclos(3)
            assert b.equipos() == {2: 6}
            _fila(b.db, "BALANCEADOR_PREEMPCION", "true")
            esperar(lambda: b.equipos().get(1, 0) >= 1, 90, que="Facturas toma equipos de Pedidos")
            assert b.db.query("SELECT 1 AS x FROM HistoricoBalanceo WHERE CodigoMotivo = 'PREEMPCION_PRIORIDAD'")

            # Recipients and an invalid row: one mail to the new recipients; the last valid value stays.
            _fila(b.db, "EMAIL_RECIPIENTS", "equipo@example.test")
            esperar(lambda: "Ajuste en caliente: EMAIL_RECIPIENTS" in b.log(), 60, que="destinatarios nuevos")
            _fila(b.db, "BALANCEADOR_COOLING_PERIOD_SEG", "-1")
            _fila(b.db, "BALANCEADOR_AISLAMIENTO_ESTRICTO", "a veces")
            _fila(b.db, "CLAVE_INVENTADA", "1")
            esperar(lambda: len(_destinatarios(smtp, "Ajuste no válido")) >= 2, 60, que="dos correos de ajuste")
            # Deliberate: several re-reads go by with the same rows; no more mails, one warning.
            time.sleep(3)
            assert _destinatarios(smtp, "Ajuste no válido") == [["equipo@example.test"]] * 2
            assert b.log().count("CLAVE_INVENTADA no se puede cambiar en caliente") == 1
            assert "Se mantiene 1" in b.log()
            assert b.p.poll() is None
        finally:
            assert b.cerrar() == 0


def _dos_pools(db):
    """Pool Finanzas: robot 1 and equipos 101-102; pool Logística: robot 2 and equipo 103; the general
    pool (PoolId NULL): equipos 104-106."""
    db.executemany("INSERT INTO Pools (PoolId, Nombre, Activo) VALUES (?, ?, 1)", [(1, "Finanzas"), (2, "Logistica")])
    db.execute("UPDATE Robots SET PoolId = RobotId")
    db.execute("UPDATE Equipos SET PoolId = 1 WHERE EquipoId IN (101, 102)")
    db.execute("UPDATE Equipos SET PoolId = 2 WHERE EquipoId = 103")


def _motivos(db, motivo):
    return db.query("SELECT RobotId, PoolId, EquipoIds FROM HistoricoBalanceo WHERE CodigoMotivo = ? "
                    "ORDER BY HistoricoId", (motivo,))


def _asignados(db, robot_id):
    return {f["EquipoId"] for f in db.query("SELECT EquipoId FROM Asignaciones WHERE RobotId = ? "
                                            "AND AsignadoPor = 'Balanceador'", (robot_id,))}


def test_C6_B12_running_balanceador_takes_strict_isolation_without_restart(tmp_path):
    """BALANCEADOR_AISLAMIENTO_ESTRICTO changed in ConfiguracionSistema while the Balanceador runs:
    strict (default) lends nothing; false lends the free general-pool equipos (DESBORDE, with the
    robot's PoolId), never one of another named pool; true again takes the loans back (EQUIPO_OTRO_POOL)."""
    with SmtpSink() as smtp:
        b = Balanceador(tmp_path, smtp, preparar=_dos_pools)
        try:
            b.esperar_ciclos(1)
            b.tickets(Facturas=50)                                          # wants 5; its pool has 2
            esperar(lambda: _asignados(b.db, 1) == {101, 102}, 90, que="Facturas con los equipos de su pool")
            # Deliberate: several 1 s cycles go by under strict isolation; no loan may happen.
            b.esperar_ciclos(3)
            assert _asignados(b.db, 1) == {101, 102}
            assert _motivos(b.db, "DESBORDE") == []

            _fila(b.db, "BALANCEADOR_AISLAMIENTO_ESTRICTO", "false")
            esperar(lambda: _asignados(b.db, 1) == {101, 102, 104, 105, 106}, 90, que="préstamo del pool general")
            prestamos = _motivos(b.db, "DESBORDE")
            assert prestamos and {(f["RobotId"], f["PoolId"]) for f in prestamos} == {(1, 1)}
            assert "BALANCEADOR_AISLAMIENTO_ESTRICTO = False" in b.log()
            assert 103 not in _asignados(b.db, 1)                          # never from another named pool

            _fila(b.db, "BALANCEADOR_AISLAMIENTO_ESTRICTO", "true")
            esperar(lambda: _asignados(b.db, 1) == {101, 102}, 90, que="devolución de los préstamos")
            devueltos = _motivos(b.db, "EQUIPO_OTRO_POOL")
            assert devueltos and {(f["RobotId"], f["PoolId"]) for f in devueltos} == {(1, 1)}
            assert b.p.poll() is None
        finally:
            assert b.cerrar() == 0
