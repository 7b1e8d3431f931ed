"""Balanceador service cycle with fake ticket sources on a real SQLite SAM DB: B1, B3, B8, B10."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from balanceador.clients.base import SourceResult
from balanceador.clients.clouders_client import ticket_rows
from balanceador.clients.fuentes import SourceHealth
from balanceador.modelo import RobotBalanceo
from balanceador.service.consolidacion import AvisosDiarios, consolidar
from balanceador.service.cooling_manager import CoolingManager
from balanceador.service.main import ServicioBalanceador
from balanceador.service.mapeo import MapeoNombres
from common.clock import FixedClock
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.utils.config_manager import load_config
from tests.alertas_falsas import AlertasFalsas

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 2, 10, 0, 0)


class FakeSource:
    def __init__(self, name, rows=()):
        self.name = name
        self.rows = list(rows)
        self.fail = False

    def read(self):
        if self.fail:
            raise ConnectionError("fuente caída (simulada)")
        return list(self.rows)

    def close(self):
        pass


def env_for(tmp_path, **extra):
    env = {
        "SQL_SAM_ENGINE": "sqlite",
        "SQL_SAM_SQLITE_PATH": str(tmp_path / "sam.db"),
        "BALANCEADOR_PROVEEDORES_CARGA": "rpa360",
        "SQL_RPA360_ENGINE": "sqlite",
        "SQL_RPA360_SQLITE_PATH": str(tmp_path / "rpa360.db"),
        "LOG_DIRECTORY": str(tmp_path / "logs"),
        "BALANCEADOR_COOLING_PERIOD_SEG": "300",
        "SAM_ZONA_HORARIA": "UTC",
        "MAPA_ROBOTS": '{"clouders_facturas": "Facturas"}',
    }
    env.update(extra)
    return env


@pytest.fixture()
def entorno(tmp_path):
    cfg = load_config("balanceador", env_for(tmp_path), root=tmp_path)
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(db)
    db.executemany(
        "INSERT INTO Robots (RobotId, Robot, EsOnline, Activo, MinEquipos, MaxEquipos, PrioridadBalanceo) "
        "VALUES (?, ?, 1, 1, ?, ?, ?)",
        [(1, "Facturas", 1, -1, 10), (2, "Pedidos", 1, -1, 50), (3, "Nominas", 0, 2, 100)],
    )
    db.executemany(
        "INSERT INTO Equipos (EquipoId, Equipo, Licencia, EstadoA360) VALUES (?, ?, 'ATTENDEDRUNTIME', 'CONNECTED')",
        [(e, f"VM{e}") for e in range(100, 108)],
    )
    rpa = FakeSource("rpa360")
    clo = FakeSource("clouders")
    alerts = AlertasFalsas()
    clock = FixedClock(T0, "UTC")
    salud = SourceHealth(alerts, 3, logging.getLogger("sam.test"))
    servicio = ServicioBalanceador(cfg, db, [rpa, clo], salud, CoolingManager.desde_config(cfg), clock,
                                   alerts=alerts)
    yield servicio, db, rpa, clo, alerts, clock
    db.close_all()


def held(db):
    out = {}
    for r in db.query("SELECT RobotId, EquipoId FROM Asignaciones WHERE AsignadoPor = 'Balanceador'"):
        out.setdefault(r["RobotId"], set()).add(r["EquipoId"])
    return {k: len(v) for k, v in out.items()}


def test_B3_consolidation_mapa_robots_ids_names_and_daily_unknown_log(caplog):
    robots = [RobotBalanceo(1, "Facturas"), RobotBalanceo(2, "Pedidos"), RobotBalanceo(3, "Viejo", activo=False)]
    mapeo = MapeoNombres((), {"fact-clouders": "Facturas"})  # B14: applied by the consolidation
    clouders = ticket_rows([("fact-clouders", 10), ("Pedidos", 1), ("Nadie", 4)])
    res = [
        SourceResult("rpa360", True, (("otro nombre", 2, 5), ("  facturas ", None, 3), ("Viejo", None, 9)), None),
        SourceResult("clouders", True, tuple(clouders), None),
    ]
    avisos = AvisosDiarios()
    with caplog.at_level(logging.WARNING, logger="sam.balanceador.consolidacion"):
        out = consolidar(res, robots, {}, mapeo)
        avisos.avisar(out.desconocidos, T0)
        avisos.avisar(consolidar(res, robots, out.alimentados, mapeo).desconocidos, T0 + timedelta(hours=1))
    assert out.tickets == {2: 6, 1: 13}
    assert set(out.desconocidos) == {("rpa360", "Viejo"), ("clouders", "Nadie")}
    avisados = [r for r in caplog.records if "no corresponde" in r.getMessage()]
    assert len(avisados) == 2  # once per day, not every cycle
    with caplog.at_level(logging.WARNING, logger="sam.balanceador.consolidacion"):
        avisos.avisar(out.desconocidos, T0 + timedelta(days=1))
    assert len([r for r in caplog.records if "no corresponde" in r.getMessage()]) == 4


def test_B8_failing_source_protects_robots_it_fed_or_all_if_never_read():
    robots = [RobotBalanceo(1, "Facturas"), RobotBalanceo(2, "Pedidos"), RobotBalanceo(3, "Nominas")]
    mapeo = MapeoNombres((), {"x": "Nominas"})  # B8: clouders feeds the MAPA_ROBOTS targets
    caida = [SourceResult("rpa360", False, (), "caída"), SourceResult("clouders", True, (), None)]
    primera = consolidar(caida, robots, {}, mapeo)
    assert primera.protegidos == {1, 2, 3}  # never succeeded
    ok = [SourceResult("rpa360", True, (("Facturas", None, 5),), None),
          SourceResult("clouders", True, (("Pedidos", None, 5),), None)]
    alimentados = consolidar(ok, robots, primera.alimentados, mapeo).alimentados
    otra = consolidar(caida, robots, alimentados, mapeo)
    assert otra.protegidos == {1}
    alimentados = consolidar(ok, robots, otra.alimentados, mapeo).alimentados
    caida_clouders = [SourceResult("rpa360", True, (), None), SourceResult("clouders", False, (), "x")]
    assert consolidar(caida_clouders, robots, alimentados, mapeo).protegidos == {2, 3}  # + MAPA_ROBOTS targets


def test_B3_B10_dry_run_keeps_no_consolidation_memory(entorno, caplog):
    """The dry run neither remembers what a source fed nor spends the daily log of unknown names."""
    servicio, db, rpa, clo, alerts, clock = entorno
    rpa.rows = [("Facturas", None, 5), ("Fantasma", None, 7)]
    with caplog.at_level(logging.WARNING, logger="sam.balanceador.consolidacion"):
        servicio.simular()
        assert servicio.alimentados == {}
        assert not [r for r in caplog.records if "no corresponde" in r.getMessage()]
        servicio.ciclo()
    assert servicio.alimentados == {"rpa360": frozenset({1}), "clouders": frozenset()}
    assert len([r for r in caplog.records if "Fantasma" in r.getMessage()]) == 1


def test_B1_B6_B7_B8_service_cycles(entorno):
    servicio, db, rpa, clo, alerts, clock = entorno
    # Tickets appear: VMs assigned in the first cycle, priorities respected under scarcity (8 VMs).
    rpa.rows = [("Facturas", 1, 60), ("Pedidos", None, 50)]
    servicio.ciclo()
    assert held(db) == {1: 6, 2: 2}
    hist = db.query("SELECT * FROM HistoricoBalanceo")
    assert {h["RobotId"] for h in hist} == {1, 2}
    # The source fails: its robots keep their VMs however long it lasts (B8); one alert after 3.
    rpa.fail = True
    for _ in range(4):
        clock.advance(120)
        servicio.ciclo()
    assert held(db) == {1: 6, 2: 2}
    assert [t for t, k in alerts.orden() if "fuente" in k] == ["alert"]
    # Recovery with no tickets: one recovery mail; the dip to zero must last a whole cooling
    # period before anything is released (B7).
    rpa.fail = False
    rpa.rows = []
    clock.advance(120)
    servicio.ciclo()
    assert [t for t, k in alerts.orden() if "fuente" in k] == ["alert", "recovery"]
    assert held(db) == {1: 6, 2: 2}
    clock.advance(200)
    servicio.ciclo()
    assert held(db) == {1: 6, 2: 2}
    clock.advance(100)
    servicio.ciclo()
    assert held(db) == {}
    motivos = {h["CodigoMotivo"] for h in db.query("SELECT CodigoMotivo FROM HistoricoBalanceo "
                                                     "WHERE AccionTomada = 'DESASIGNAR'")}
    assert motivos == {"SIN_TICKETS"}


def test_B10_simular_prints_plan_and_writes_nothing(tmp_path):
    env = env_for(tmp_path, BALANCEADOR_PROVEEDORES_CARGA="rpa360")
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(db)
    db.execute("INSERT INTO Robots (RobotId, Robot, EsOnline) VALUES (1, 'Facturas', 1)")
    db.executemany("INSERT INTO Equipos (EquipoId, Equipo, Licencia, EstadoA360) VALUES (?, ?, 'ATTENDEDRUNTIME', "
                   "'CONNECTED')", [(100, "VM100"), (101, "VM101")])
    db.close_all()
    import sqlite3

    r = sqlite3.connect(tmp_path / "rpa360.db")
    r.execute("CREATE TABLE TicketsPendientesPorRobot (Robot TEXT, RobotId INTEGER, CantidadTickets INTEGER)")
    r.execute("INSERT INTO TicketsPendientesPorRobot VALUES ('Facturas', NULL, 15)")
    r.commit()
    r.close()

    def dump():
        c = sqlite3.connect(tmp_path / "sam.db")
        try:
            return [list(c.execute(f"SELECT * FROM {t}")) for t in ("Asignaciones", "HistoricoBalanceo",
                                                                    "Robots", "Equipos")]
        finally:
            c.close()

    antes = dump()
    proc = subprocess.run([sys.executable, str(ROOT / "balanceador" / "run_balanceador.py"), "--simular"],
                          env={**{k: v for k, v in os.environ.items() if not k.startswith(("SQL_", "BALANCEADOR_"))},
                               **env},
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Facturas" in proc.stdout and "ASIGNAR" in proc.stdout and "no se ha modificado nada" in proc.stdout
    assert dump() == antes


def test_C_sam_db_unreachable_alerts_after_threshold_and_recovers(entorno, tmp_path):
    servicio, db, rpa, clo, alerts, clock = entorno
    rpa.rows = [("Facturas", 1, 20)]
    buena = servicio.db
    servicio.db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "no_existe" / "sam.db",
                                 max_retries=0, retry_base_delay=0)
    for _ in range(4):
        assert servicio.ciclo() is None  # logged, nothing applied, no exception to the runner
    # threshold 3: one alert for the run of failures (common/utils/alertas.RachaDeFallos), not one per cycle
    assert [t for t, k in alerts.orden() if k == "balanceador.bd_sam"] == ["alert"]
    servicio.db = buena
    assert servicio.ciclo() is not None
    assert [t for t, k in alerts.orden() if k == "balanceador.bd_sam"][-1] == "recovery"
    assert held(db) == {1: 2}


def test_B7_service_restart_rebuilds_cooling_so_a_small_dip_releases_nothing(entorno):
    servicio, db, rpa, clo, alerts, clock = entorno
    rpa.rows = [("Facturas", 1, 50)]
    servicio.ciclo()
    assert held(db) == {1: 5}
    # A new process 60 s later (fresh CoolingManager rebuilt from HistoricoBalanceo at start-up).
    clock.advance(60)
    nuevo = ServicioBalanceador(servicio.cfg, db, servicio.fuentes, servicio.salud,
                                CoolingManager.desde_config(servicio.cfg), clock, alerts=alerts)
    nuevo.reconstruir_cooling(clock.now_local())
    rpa.rows = [("Facturas", 1, 40)]  # fell 20 % (< 40 %) within the cooling period
    plan = nuevo.ciclo()
    assert held(db) == {1: 5}
    assert [r.codigo for r in plan.retenidos] == ["COOLING_BAJADA"]
    clock.advance(300)
    nuevo.ciclo()
    assert held(db) == {1: 4}


def test_B8_failing_source_protects_a_robot_whose_queue_had_just_drained(entorno):
    """Pedidos' clouders queue drains (absent from the last good read: zero-tickets streak starts),
    then clouders goes down: its tickets are unknown, so the streak must not run on to a release."""
    servicio, db, rpa, clo, alerts, clock = entorno
    clo.rows = [("Pedidos", None, 30)]  # not a MAPA_ROBOTS name
    servicio.ciclo()
    assert held(db) == {2: 3}
    clo.rows = []  # drained: the zero streak starts; releasing waits for the cooling period
    clock.advance(120)
    servicio.ciclo()
    assert held(db) == {2: 3}
    clo.fail = True
    for _ in range(5):  # well past the 300 s cooling period, clouders down all along
        clock.advance(120)
        plan = servicio.ciclo()
        assert held(db) == {2: 3}
    assert [r.codigo for r in plan.retenidos if r.robot_id == 2] == ["FUENTE_CAIDA"]


def test_B10_simular_table_shows_the_vms_held_before_for_held_back_changes(entorno):
    """A held-back row shows the robot's VMs before the plan (not after a preemption emptied it)."""
    servicio, db, rpa, clo, alerts, clock = entorno
    rpa.rows = [("Facturas", 1, 60), ("Nominas", 3, 20)]
    servicio.ciclo()
    assert held(db) == {1: 6, 3: 2}
    rpa.rows = [("Facturas", 1, 80)]  # Nominas drained (release held back); Facturas takes its idle VMs
    clock.advance(30)
    texto = servicio.simular()
    (fila,) = [ln for ln in texto.splitlines() if "COOLING_SIN_TICKETS" in ln]
    celdas = [c.strip() for c in fila.split(" | ")]
    assert celdas[:9] == ["Nominas", "3", "general", "100", "0", "2", "0", "RETENIDO (DESASIGNAR)", "2 equipos"]
    assert "PREEMPCION_PRIORIDAD" in texto
    assert held(db) == {1: 6, 3: 2}


def test_B3_B10_simular_lists_names_with_no_active_sam_robot(entorno):
    servicio, db, rpa, clo, alerts, clock = entorno
    rpa.rows = [("Facturas", None, 5), ("Fantasma", None, 7)]
    texto = servicio.simular()
    assert "Nombres sin robot activo en SAM" in texto and "rpa360: 'Fantasma'" in texto
