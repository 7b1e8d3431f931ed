"""Issue 11 item 8: robots with tickets that the Balanceador does not balance are listed with the
reason, in ``--simular`` always and in the cycle's log once a day per (robot, reason); "Antes"
shows each robot's manual/reserved/scheduled equipos as context.

A real SQLite SAM DB and the real rpa360 source on its SQLite table (``TicketsPendientesPorRobot``).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from balanceador.clients.fuentes import SourceHealth, build_sources, close_sources
from balanceador.service.cooling_manager import CoolingManager
from balanceador.service.main import ServicioBalanceador
from common.clock import FixedClock
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.utils.config_manager import load_config
from tests.alertas_falsas import AlertasFalsas

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 2, 10, 0, 0)

# RobotId, Robot, Activo, EsOnline, ExisteEnA360, MinEquipos, MaxEquipos, PrioridadBalanceo
ROBOTS = [
    (1, "Facturas", 1, 1, 1, 2, -1, 10),  # balanced: its floor takes the whole pool (2 equipos)
    (2, "Pedidos", 0, 1, 1, 1, -1, 100),  # inactive
    (3, "Nominas", 1, 0, 1, 1, -1, 100),  # not online; a manual and a reserved equipo
    (4, "Altas", 1, 1, 0, 1, -1, 100),  # no longer in A360
    (5, "Bajas", 1, 1, 1, 1, -1, 200),  # balanced, lower priority: nothing of the pool left for it
    (6, "Cero", 1, 1, 1, 1, 0, 100),  # MaxEquipos = 0
]
# Robot, RobotId, CantidadTickets (the rpa360 SQLite table)
TICKETS = [
    ("Facturas", 1, 15),
    ("Pedidos", None, 8),
    ("Nominas", 3, 12),
    ("Altas", None, 4),
    ("Bajas", None, 30),
    ("Cero", None, 3),
    ("Fantasma", None, 7),
]


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "SQL_SAM_ENGINE": "sqlite",
        "SQL_SAM_SQLITE_PATH": str(tmp_path / "sam.db"),
        "BALANCEADOR_PROVEEDORES_CARGA": "rpa360",
        "SQL_RPA360_ENGINE": "sqlite",
        "SQL_RPA360_SQLITE_PATH": str(tmp_path / "rpa360.db"),
        "LOG_DIRECTORY": str(tmp_path / "logs"),
        "SAM_ZONA_HORARIA": "UTC",
    }


def _sam_db(tmp_path: Path, *, pool: bool = True) -> None:
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    try:
        ensure_schema(db)
        db.executemany("INSERT INTO Robots (RobotId, Robot, Activo, EsOnline, ExisteEnA360, MinEquipos, "
                       "MaxEquipos, PrioridadBalanceo) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ROBOTS)
        estado = "CONNECTED" if pool else "DISCONNECTED"
        db.executemany("INSERT INTO Equipos (EquipoId, Equipo, Licencia, EstadoA360, PermiteBalanceoDinamico) "
                       "VALUES (?, ?, 'ATTENDEDRUNTIME', ?, ?)",
                       [(100, "VM100", estado, 1), (101, "VM101", estado, 1), (105, "VM105", "CONNECTED", 1),
                        (106, "VM106", "CONNECTED", 1), (107, "VM107", "DISCONNECTED", 1),
                        (108, "VM108", "CONNECTED", 0)])
        db.executemany("INSERT INTO Asignaciones (RobotId, EquipoId, Reservado, EsProgramado, AsignadoPor) "
                       "VALUES (?, ?, ?, ?, ?)",
                       [(3, 105, 0, 0, "Manual"), (3, 106, 1, 0, "Manual"), (1, 108, 0, 1, "Programacion")])
    finally:
        db.close_all()
    r = sqlite3.connect(tmp_path / "rpa360.db")
    try:
        r.execute("CREATE TABLE TicketsPendientesPorRobot (Robot TEXT, RobotId INTEGER, CantidadTickets INTEGER)")
        r.executemany("INSERT INTO TicketsPendientesPorRobot VALUES (?, ?, ?)", TICKETS)
        r.commit()
    finally:
        r.close()


@pytest.fixture()
def servicio(tmp_path):
    _sam_db(tmp_path)
    cfg = load_config("balanceador", _env(tmp_path), root=tmp_path)
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    fuentes = build_sources(cfg, db)
    assert [f.name for f in fuentes] == ["rpa360"]
    alerts = AlertasFalsas()
    s = ServicioBalanceador(cfg, db, fuentes, SourceHealth(alerts, 3, logging.getLogger("sam.test")),
                            CoolingManager.desde_config(cfg), FixedClock(T0, "UTC"), alerts=alerts)
    yield s
    close_sources(fuentes)
    db.close_all()


def _seccion(texto: str) -> dict[str, list[str]]:
    """The rows of the "not balanced" section of the dry run, by robot name."""
    lineas = texto.splitlines()
    inicio = next(i for i, ln in enumerate(lineas) if ln.startswith("Robots con tickets que el Balanceador no"))
    filas = {}
    for ln in lineas[inicio + 3:]:
        if not ln.strip():
            break
        celdas = [c.strip() for c in ln.split(" | ")]
        filas[celdas[0]] = celdas
    return filas


def _fila_plan(texto: str, robot: str) -> list[str]:
    (fila,) = [ln for ln in texto.splitlines() if ln.startswith(robot + " ") and "ASIGNAR" in ln]
    return [c.strip() for c in fila.split(" | ")]


def test_simular_lists_each_reason_with_robot_id_tickets_and_source(servicio):
    texto = servicio.simular()
    filas = _seccion(texto)
    # Robot, RobotId, Tickets, Fuente, Antes, Motivo, Por qué
    assert {n: f[:6] for n, f in filas.items()} == {
        "Pedidos": ["Pedidos", "2", "8", "rpa360", "0", "ROBOT_INACTIVO"],
        "Nominas": ["Nominas", "3", "12", "rpa360", "0 (+1 manual, 1 reservado)", "ROBOT_NO_ONLINE"],
        "Altas": ["Altas", "4", "4", "rpa360", "0", "ROBOT_NO_EN_A360"],
        "Bajas": ["Bajas", "5", "30", "rpa360", "0", "SIN_POOL"],
        "Cero": ["Cero", "6", "3", "rpa360", "0", "MAX_EQUIPOS_CERO"],
        "Fantasma": ["Fantasma", "-", "7", "rpa360", "-", "NOMBRE_DESCONOCIDO"],
    }
    assert "Facturas" not in filas  # balanced: it gets the pool
    assert "Activo = 0" in filas["Pedidos"][6]
    assert "EsOnline = 0" in filas["Nominas"][6]
    assert "ExisteEnA360 = 0" in filas["Altas"][6]
    assert "ninguno de los 2 equipos del pool queda libre" in filas["Bajas"][6]
    assert "MAPA_ROBOTS" in filas["Fantasma"][6]
    assert "Robots con tickets que el Balanceador no balancea (6):" in texto
    # "Antes" of the plan: the balancer's equipos plus the scheduled one as context (never moved).
    fila = _fila_plan(texto, "Facturas")
    assert fila[2] == "general"  # B11: the robot's pool
    assert fila[5] == "0 (+1 programado)" and fila[8] == "100,101"
    assert servicio.db.query("SELECT COUNT(*) AS n FROM Asignaciones")[0]["n"] == 3  # nothing written


def test_simular_empty_pool_says_so(tmp_path):
    _sam_db(tmp_path, pool=False)
    cfg = load_config("balanceador", _env(tmp_path), root=tmp_path)
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    fuentes = build_sources(cfg, db)
    try:
        s = ServicioBalanceador(cfg, db, fuentes, SourceHealth(None, 3, logging.getLogger("sam.test")),
                                CoolingManager.desde_config(cfg), FixedClock(T0, "UTC"))
        filas = _seccion(s.simular())
    finally:
        close_sources(fuentes)
        db.close_all()
    assert filas["Facturas"][:6] == ["Facturas", "1", "15", "rpa360", "0 (+1 programado)", "SIN_POOL"]
    assert filas["Bajas"][5] == "SIN_POOL"
    assert "no hay ningún equipo en el pool" in filas["Facturas"][6]
    assert "PermiteBalanceoDinamico = 1" in filas["Facturas"][6]


def test_cycle_logs_each_unbalanced_robot_once_a_day_per_reason(servicio, caplog):
    with caplog.at_level(logging.INFO, logger="sam.balanceador"):
        servicio.ciclo()
        servicio.clock.advance(60)
        servicio.ciclo()

    def lineas(texto: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if texto in r.getMessage()]

    uno = lineas("y no se balancea")
    assert len(uno) == 5  # once each, not every cycle; the unknown name is B3's warning
    assert ("El robot Pedidos (2) tiene 8 tickets (fuente rpa360) y no se balancea: está inactivo en SAM "
            "(Activo = 0) [ROBOT_INACTIVO]. Se avisa una vez al día.") in uno
    assert any(m.startswith("El robot Nominas (3) tiene 12 tickets") and "ROBOT_NO_ONLINE" in m for m in uno)
    assert any(m.startswith("El robot Altas (4)") and "ROBOT_NO_EN_A360" in m for m in uno)
    assert any(m.startswith("El robot Bajas (5) tiene 30 tickets") and "SIN_POOL" in m for m in uno)
    assert any(m.startswith("El robot Cero (6)") and "MAX_EQUIPOS_CERO" in m for m in uno)
    assert not lineas("Facturas (1) tiene")
    # B3: the unknown name is warned once; the inactive robot is not reported as an unknown name.
    assert len(lineas("'Fantasma'")) == 1 and not lineas("'Pedidos'")
    resumenes = lineas("Ciclo de balanceo:")
    assert len(resumenes) == 2 and all("6 robots con tickets sin balancear" in m for m in resumenes)
    # A new reason for the same robot is logged at once; the next day everything is logged again.
    servicio.db.execute("UPDATE Robots SET EsOnline = 1 WHERE RobotId = 3")  # now it only lacks a pool
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sam.balanceador"):
        servicio.clock.advance(60)
        servicio.ciclo()
    assert [m for m in lineas("y no se balancea")] == [m for m in lineas("Nominas (3) tiene")]
    assert "SIN_POOL" in lineas("Nominas (3) tiene")[0]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sam.balanceador"):
        servicio.clock.advance(timedelta(days=1).total_seconds())
        servicio.ciclo()
    assert len(lineas("y no se balancea")) == 5 and len(lineas("'Fantasma'")) == 1


def test_simular_process_lists_unbalanced_robots(tmp_path):
    _sam_db(tmp_path)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("SQL_", "BALANCEADOR_"))},
           **_env(tmp_path)}
    proc = subprocess.run([sys.executable, str(ROOT / "balanceador" / "run_balanceador.py"), "--simular"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    filas = _seccion(proc.stdout)
    assert filas["Nominas"][:6] == ["Nominas", "3", "12", "rpa360", "0 (+1 manual, 1 reservado)",
                                    "ROBOT_NO_ONLINE"]
    assert set(filas) == {"Pedidos", "Nominas", "Altas", "Bajas", "Cero", "Fantasma"}
    assert _fila_plan(proc.stdout, "Facturas")[5] == "0 (+1 programado)"
