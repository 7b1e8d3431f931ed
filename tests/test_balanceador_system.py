"""System test (B1-B10): the real ``python balanceador/run_balanceador.py`` process with a SQLite SAM
DB, a SQLite rpa360 file and clouders in MariaDB reached through a real OpenSSH server, alerts to a
real SMTP sink. Short cycle and cooling period; waits poll the DB/log with deadlines (no timing
assertions)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.componentes import falta
from tests.smtp_sink import SmtpSink
from tests.sshd_server import (
    CloudersTestDatabase,
    SshdServer,
    mariadb_unavailable_reason,
    sshd_unavailable_reason,
)

ROOT = Path(__file__).resolve().parent.parent
COOLING = 6

pytestmark = pytest.mark.system


def _wait(cond, timeout=60.0, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"no se cumplió a tiempo: {what}")


class Fleet:
    def __init__(self, tmp: Path):
        self.sam = tmp / "sam.db"
        self.rpa = tmp / "rpa360.db"
        self.log = tmp / "logs" / "sam_balanceador_app.log"

    def conn(self, path):
        c = sqlite3.connect(path, timeout=30)
        c.execute("PRAGMA busy_timeout = 30000")
        return c

    def held(self) -> dict[int, int]:
        c = self.conn(self.sam)
        try:
            rows = c.execute("SELECT RobotId, COUNT(*) FROM Asignaciones WHERE AsignadoPor = 'Balanceador' "
                             "GROUP BY RobotId").fetchall()
        finally:
            c.close()
        return dict(rows)

    def rows(self, sql, params=()):
        c = self.conn(self.sam)
        try:
            return c.execute(sql, params).fetchall()
        finally:
            c.close()

    def set_rpa(self, tickets: dict[str, int]):
        c = self.conn(self.rpa)
        try:
            c.execute("DELETE FROM TicketsPendientesPorRobot")
            c.executemany("INSERT INTO TicketsPendientesPorRobot (Robot, RobotId, CantidadTickets) VALUES (?, NULL, ?)",
                          list(tickets.items()))
            c.commit()
        finally:
            c.close()

    def cycles(self) -> int:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace").count("Ciclo de balanceo:")
        except OSError:
            return 0

    def wait_cycles(self, n: int, timeout: float = 60.0):
        start = self.cycles()
        _wait(lambda: self.cycles() >= start + n, timeout, f"{n} ciclo(s) más")


def _prepare(tmp: Path) -> Fleet:
    from common.database.schema import ensure_schema
    from common.database.sql_client import DatabaseClient

    f = Fleet(tmp)
    db = DatabaseClient(engine="sqlite", sqlite_path=f.sam)
    ensure_schema(db)
    db.executemany(
        "INSERT INTO Robots (RobotId, Robot, EsOnline, Activo, MinEquipos, MaxEquipos, PrioridadBalanceo) "
        "VALUES (?, ?, 1, 1, 1, -1, ?)",
        [(1, "Facturas", 10), (2, "Pedidos", 50), (3, "Nominas", 100)],
    )
    db.executemany(
        "INSERT INTO Equipos (EquipoId, Equipo, Licencia, EstadoA360) VALUES (?, ?, 'ATTENDEDRUNTIME', 'CONNECTED')",
        [(e, f"VM{e}") for e in range(101, 107)],
    )
    db.execute("INSERT INTO Equipos (EquipoId, Equipo, Licencia, EstadoA360) VALUES (107, 'VM107', "
               "'ATTENDEDRUNTIME', 'CONNECTED')")
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor, Reservado) VALUES (3, 107, 'Manual', 1)")
    db.close_all()
    c = f.conn(f.rpa)
    c.execute("CREATE TABLE TicketsPendientesPorRobot (Robot TEXT, RobotId INTEGER NULL, CantidadTickets INTEGER)")
    c.commit()
    c.close()
    return f


def test_B1_to_B10_real_process_with_rpa360_clouders_over_sshd_and_smtp(tmp_path):
    for reason in (sshd_unavailable_reason(), mariadb_unavailable_reason()):
        if reason:
            falta(reason)
    fleet = _prepare(tmp_path)
    with SshdServer(tmp_path / "sshd", password_auth=False) as sshd, CloudersTestDatabase() as cdb, \
            SmtpSink() as sink:
        cdb.set_tickets({})
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SQL_", "BALANCEADOR_", "CLOUDERS_", "EMAIL_", "LOG_", "MAPA_"))}
        env.update({
            "SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": str(fleet.sam),
            "SQL_RPA360_ENGINE": "sqlite", "SQL_RPA360_SQLITE_PATH": str(fleet.rpa),
            "BALANCEADOR_PROVEEDORES_CARGA": "rpa360,clouders",
            "BALANCEADOR_INTERVALO_CICLO_SEG": "1", "BALANCEADOR_COOLING_PERIOD_SEG": str(COOLING),
            "BALANCEADOR_FALLOS_PARA_ALERTA": "2", "BALANCEADOR_SHUTDOWN_TIMEOUT_SEG": "10",
            "MAPA_ROBOTS": '{"pedidos_cl": "Pedidos"}',
            "CLOUDERS_MODO": "tunel", "CLOUDERS_SSH_HOST": sshd.host, "CLOUDERS_SSH_PORT": str(sshd.port),
            "CLOUDERS_SSH_USER": sshd.user, "CLOUDERS_SSH_KEY_FILE": str(sshd.key_file),
            "CLOUDERS_SSH_KNOWN_HOSTS": str(sshd.known_hosts), "CLOUDERS_SSH_TIMEOUT_SEG": "3",
            "CLOUDERS_MYSQL_DB_HOST": "127.0.0.1", "CLOUDERS_MYSQL_DB_PORT": "3306",
            "CLOUDERS_MYSQL_DB_NAME": cdb.name, "CLOUDERS_MYSQL_USER": "root",
            "EMAIL_SMTP_SERVER": "127.0.0.1", "EMAIL_SMTP_PORT": str(sink.port),
            "EMAIL_FROM": "sam@example.test", "EMAIL_RECIPIENTS": "ops@example.test",
            "LOG_DIRECTORY": str(tmp_path / "logs"), "LOG_LEVEL": "INFO", "SAM_ZONA_HORARIA": "UTC",
        })
        proc = subprocess.Popen([sys.executable, str(ROOT / "balanceador" / "run_balanceador.py")], env=env,
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            fleet.wait_cycles(1)
            assert fleet.held() == {}

            # Tickets appear (both sources) -> VMs assigned within one cycle.
            fleet.set_rpa({"Facturas": 30})
            cdb.set_tickets({"pedidos_cl": 20})
            fleet.wait_cycles(2)
            assert fleet.held() == {1: 3, 2: 2}

            # Scarcity: 6 pool VMs (VM107 is reserved manually). Nominas gets its floor; then
            # Facturas (priority 10) grows by taking an idle VM from Pedidos (priority 50).
            fleet.set_rpa({"Facturas": 30, "Nominas": 50})
            fleet.wait_cycles(2)
            assert fleet.held() == {1: 3, 2: 2, 3: 1}
            fleet.set_rpa({"Facturas": 60, "Nominas": 50})
            fleet.wait_cycles(2)
            assert fleet.held() == {1: 4, 2: 1, 3: 1}
            assert fleet.rows("SELECT COUNT(*) FROM Asignaciones WHERE EquipoId = 107 AND RobotId = 3 "
                              "AND AsignadoPor = 'Manual' AND Reservado = 1") == [(1,)]

            # Demand settles at what each robot holds (nobody wants more).
            fleet.set_rpa({"Facturas": 40, "Nominas": 10})
            fleet.wait_cycles(2)
            assert fleet.held() == {1: 4, 2: 1, 3: 1}

            # sshd stopped: clouders fails; Pedidos keeps its VM (no release) even with its tickets
            # gone, past the cooling period; one alert e-mail.
            cdb.set_tickets({})
            sshd.stop()
            _wait(lambda: any("clouders" in m["Subject"] for m in sink.messages), 90, "alerta de clouders")
            fleet.wait_cycles(2)
            time.sleep(COOLING + 1)
            fleet.wait_cycles(2)
            assert fleet.held().get(2) == 1
            alertas = [m for m in sink.messages if "clouders" in m["Subject"]]
            assert len(alertas) == 1 and alertas[0]["Subject"].startswith("[SAM][")

            # sshd back: one recovery e-mail; Pedidos (0 tickets) is released only after cooling.
            sshd.start()
            _wait(lambda: len([m for m in sink.messages if "clouders" in m["Subject"]]) >= 2, 90,
                  "correo de recuperación")
            assert "recuperada" in [m for m in sink.messages if "clouders" in m["Subject"]][1]["Subject"]
            assert fleet.held().get(2) == 1
            _wait(lambda: 2 not in fleet.held(), 60, "liberación de Pedidos tras el enfriamiento")

            # Tickets vanish: nothing is released in the next cycles, only after the cooling period.
            fleet.set_rpa({})
            fleet.wait_cycles(2)
            assert fleet.held() == {1: 4, 3: 1}
            _wait(lambda: fleet.held() == {}, 60, "liberación tras el enfriamiento")
            motivos = {r[0] for r in fleet.rows("SELECT DISTINCT CodigoMotivo FROM HistoricoBalanceo "
                                                "WHERE AccionTomada = 'DESASIGNAR'")}
            assert "SIN_TICKETS" in motivos and "PREEMPCION_PRIORIDAD" in motivos
            assert fleet.rows("SELECT COUNT(*) FROM Asignaciones WHERE EquipoId = 107") == [(1,)]

            # SIGTERM -> graceful exit 0.
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
            assert proc.returncode == 0, out
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
        log = fleet.log.read_text(encoding="utf-8")
        assert "ASIGNAR robot Facturas (1): equipo " in log and "DESASIGNAR robot Pedidos (2): equipo " in log
