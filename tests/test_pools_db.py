"""Pools and name mapping through the real Balanceador cycle on a SQLite SAM DB (B11, B12, B14):
history rows carry the robot's PoolId, MapeoRobots is read every cycle (a new row takes effect on
the next cycle, no restart), an inactive pool releases its rows, and the settings of each cycle
decide the overflow."""

from __future__ import annotations

import logging

import pytest

from balanceador.clients.fuentes import SourceHealth
from balanceador.service.cooling_manager import CoolingManager
from balanceador.service.main import ServicioBalanceador
from common.clock import FixedClock
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.utils.config_manager import load_config
from tests.alertas_falsas import AlertasFalsas
from tests.test_balanceador_servicio import T0, FakeSource, env_for


@pytest.fixture()
def entorno(tmp_path):
    cfg = load_config("balanceador", env_for(tmp_path,
                                             BALANCEADOR_COOLING_PERIOD_SEG="0"), root=tmp_path)
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(db)
    db.executemany("INSERT INTO Pools (PoolId, Nombre, Activo) VALUES (?, ?, ?)",
                   [(1, "Finanzas", 1), (2, "Retirado", 0)])
    db.executemany(
        "INSERT INTO Robots (RobotId, Robot, EsOnline, Activo, MinEquipos, MaxEquipos, PrioridadBalanceo, PoolId) "
        "VALUES (?, ?, 1, 1, 0, -1, 100, ?)",
        [(1, "Facturas", 1), (2, "Pedidos", None), (3, "Viejo", 2)],
    )
    db.executemany(
        "INSERT INTO Equipos (EquipoId, Equipo, Licencia, EstadoA360, PoolId) "
        "VALUES (?, ?, 'ATTENDEDRUNTIME', 'CONNECTED', ?)",
        [(100, "VM100", 1), (101, "VM101", 1), (200, "VM200", None), (201, "VM201", None), (300, "VM300", 2)],
    )
    rpa, clo = FakeSource("rpa360"), FakeSource("clouders")
    clock = FixedClock(T0, "UTC")
    servicio = ServicioBalanceador(cfg, db, [rpa, clo], SourceHealth(AlertasFalsas(), 3, logging.getLogger("t")),
                                   CoolingManager.desde_config(cfg), clock, alerts=AlertasFalsas())
    yield servicio, db, rpa, clo, clock, cfg
    db.close_all()


def _held(db) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for r in db.query("SELECT RobotId, EquipoId FROM Asignaciones WHERE AsignadoPor = 'Balanceador'"):
        out.setdefault(r["RobotId"], set()).add(r["EquipoId"])
    return out


def test_B11_B14_cycle_writes_pool_id_and_reads_mapeo_robots_every_cycle(entorno):
    servicio, db, rpa, clo, clock, _ = entorno
    rpa.rows = [("Pedidos", None, 10)]
    clo.rows = [("fact-cl", None, 30)]  # no mapping yet: an unknown name
    servicio.ciclo()
    assert _held(db) == {2: {200}}
    # A new MapeoRobots row takes effect on the next cycle, without a restart.
    db.execute("INSERT INTO MapeoRobots (Proveedor, NombreExterno, RobotId) VALUES ('clouders', 'FACT-CL', 1)")
    clock.advance(120)
    servicio.ciclo()
    assert _held(db) == {1: {100, 101}, 2: {200}}  # B11: only its pool's equipos
    filas = db.query("SELECT RobotId, PoolId, AccionTomada, EquipoIds FROM HistoricoBalanceo ORDER BY HistoricoId")
    assert [(f["RobotId"], f["PoolId"], f["AccionTomada"]) for f in filas] == [
        (2, None, "ASIGNAR"), (1, 1, "ASIGNAR")]


def test_B14_a_mapping_row_of_another_source_does_not_apply(entorno):
    servicio, db, rpa, clo, _, _ = entorno
    db.execute("INSERT INTO MapeoRobots (Proveedor, NombreExterno, RobotId) VALUES ('rpa360', 'fact-cl', 1)")
    clo.rows = [("fact-cl", None, 30)]
    plan = servicio.ciclo()
    assert plan is not None and _held(db) == {}


def test_B11_inactive_pool_releases_its_rows_and_B12_overflow_follows_the_cycle_settings(entorno):
    servicio, db, rpa, clo, _, cfg = entorno
    db.executemany("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor) VALUES (?, ?, 'Balanceador')",
                   [(3, 300), (2, 100)])
    rpa.rows = [("Facturas", None, 40), ("Viejo", None, 10)]
    servicio.ciclo()
    assert _held(db) == {1: {100, 101}}  # strict: robot 1 gets no general-pool equipo
    motivos = {(f["RobotId"], f["CodigoMotivo"]) for f in db.query("SELECT RobotId, CodigoMotivo FROM HistoricoBalanceo")}
    assert {(3, "POOL_INACTIVO"), (2, "EQUIPO_OTRO_POOL")} <= motivos
    # The next cycle reads the settings again: overflow lends the free general equipos.
    cfg._values["BALANCEADOR_AISLAMIENTO_ESTRICTO"] = False  # as a live-settings reload would
    servicio.ciclo()
    assert _held(db) == {1: {100, 101, 200, 201}}
    assert db.query_one("SELECT CodigoMotivo, PoolId FROM HistoricoBalanceo ORDER BY HistoricoId DESC") == {
        "CodigoMotivo": "DESBORDE", "PoolId": 1}
