"""H5 heartbeat truthfulness: a job that handles a SAM-DB failure itself (logs it, alerts it, retries
next time) reports the run as failed to the runner (``CicloFallido``), so ``UltimoCicloOk`` stops
moving and ``UltimoError`` carries the redacted error. Real SQLite SAM DB; the failure is real: the
table the job needs is dropped while ``EstadoServicios`` keeps working, then restored."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

import pytest

from common import latido as L
from common.clock import Clock, FixedClock
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient, DatabaseError
from common.service_runner import CicloFallido, ServiceRunner
from tests.alertas_falsas import AlertasFalsas
from tests.esperas import esperar


@pytest.fixture()
def db(tmp_path):
    d = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db", max_retries=0, retry_base_delay=0)
    ensure_schema(d)
    yield d
    d.close_all()


def _correr(runner: ServiceRunner) -> threading.Thread:
    hilo = threading.Thread(target=runner.run, daemon=True)
    hilo.start()
    return hilo


def _parar(runner: ServiceRunner, hilo: threading.Thread) -> None:
    runner.request_stop("prueba")
    hilo.join(30)
    assert not hilo.is_alive()


def test_H5_a_returned_ciclo_fallido_reaches_the_observers_as_a_failure_without_a_second_alert(db, caplog):
    alertas = AlertasFalsas()
    runner = ServiceRunner("lanzador", tick_s=0.05, shutdown_timeout=5, alerts=alertas)
    lat = L.Latido(db, "lanzador", clock=Clock("UTC"), rol=lambda: "activo", host="H", pid=1,
                   secretos=("Clave.Secreta.1",))
    vistos: list[tuple[str, BaseException | None]] = []
    runner.observar_tareas(lat.observar)
    runner.observar_tareas(lambda tarea, _s, error: vistos.append((tarea, error)))
    causa = DatabaseError("no se pudo conectar con Clave.Secreta.1")
    runner.add_job("lanzamiento", 0.1, lambda: CicloFallido(causa))
    with caplog.at_level(logging.INFO, logger="sam.lanzador.runner"):
        hilo = _correr(runner)
        try:
            esperar(lambda: len(vistos) >= 2, 30, que="dos ciclos fallidos")
        finally:
            _parar(runner, hilo)
    assert vistos[0] == ("lanzamiento", causa)           # the handled exception itself
    assert lat.ultimo_ciclo_ok is None
    assert "lanzamiento: DatabaseError: no se pudo conectar con" in lat.ultimo_error
    assert "Clave.Secreta.1" not in lat.ultimo_error
    assert alertas.enviadas == []                       # the job alerted (or not) already
    assert "La tarea lanzamiento falló" not in caplog.text
    assert runner.job_stats("lanzamiento")["runs"] >= 2


def test_H5_a_ciclo_fallido_with_a_text_reaches_the_observers_as_itself():
    fallo = CicloFallido("Equipos: A360 no responde")
    assert fallo.error is fallo and str(fallo) == "Equipos: A360 no responde"
    causa = DatabaseError("x")
    assert CicloFallido(causa).error is causa


class AA:
    def list_devices(self):
        return []

    def list_users(self, ids):
        return []

    def list_taskbots(self):
        return []

    def activity_by_deployment_ids(self, ids):
        return {}

    def logout(self):
        pass


def _fila_latido(db):
    return db.query_one("SELECT UltimoCicloOk, UltimoError FROM EstadoServicios")


def test_H5_lanzador_launch_and_conciliation_with_their_table_gone_do_not_move_ultimo_ciclo_ok(db):
    from common.utils.config_manager import load_config
    from lanzador.service.conciliador import Conciliador
    from lanzador.service.main import Lanzador
    from tests.test_desplegador_wiring import BASE_ENV

    cfg = load_config("lanzador", environ={**BASE_ENV, "SAM_FALLOS_CONSECUTIVOS_ALERTA": "3"})
    clock = Clock("UTC")
    alertas = AlertasFalsas()
    lz = Lanzador(cfg, db=db, aa=AA(), clock=clock, alerts=alertas,
                  conciliador=Conciliador(db, AA(), cfg, clock, alertas))
    runner = ServiceRunner("lanzador", tick_s=0.05, shutdown_timeout=10, alerts=alertas)
    lat = L.Latido(db, "lanzador", clock=clock, rol=lambda: "activo", host="H", pid=2)
    runner.observar_tareas(lat.observar)
    fallos: list[str] = []
    runner.observar_tareas(lambda tarea, _s, error: error is not None and fallos.append(tarea))
    runner.add_job("lanzamiento", 0.2, lz.job_lanzamiento)
    runner.add_job("conciliacion", 0.2, lz.job_conciliacion)
    hilo = _correr(runner)
    try:
        esperar(lambda: lat.ultimo_ciclo_ok is not None, 60, que="un ciclo bueno")
        assert lat.latir() and _fila_latido(db)["UltimoError"] is None

        db.execute("DROP TABLE Ejecuciones")                # both jobs read it; EstadoServicios still works
        esperar(lambda: {"lanzamiento", "conciliacion"} <= set(fallos), 60, que="los dos trabajos fallan")
        congelado = lat.ultimo_ciclo_ok
        n = len(fallos)
        esperar(lambda: len(fallos) >= n + 4, 60, que="más ciclos fallidos")
        assert lat.ultimo_ciclo_ok == congelado             # no run since the drop counted as OK
        assert lat.latir()
        fila = _fila_latido(db)
        assert fila["UltimoCicloOk"] == congelado
        assert "DatabaseError" in fila["UltimoError"]
        assert " lanzamiento: " in fila["UltimoError"] or " conciliacion: " in fila["UltimoError"]

        ensure_schema(db)                                   # the table is back: the next runs are OK
        esperar(lambda: lat.ultimo_ciclo_ok > congelado, 60, que="UltimoCicloOk vuelve a avanzar")
    finally:
        _parar(runner, hilo)
    assert not [a for a in alertas.enviadas if "Error inesperado en la tarea" in a.asunto]


def test_H5_balanceador_cycle_reports_a_sam_db_failure_to_the_runner(tmp_path, db):
    from balanceador.clients.fuentes import SourceHealth
    from balanceador.service.cooling_manager import CoolingManager
    from balanceador.service.main import ServicioBalanceador
    from common.utils.config_manager import load_config
    from tests.test_balanceador_servicio import FakeSource, env_for

    cfg = load_config("balanceador", env_for(tmp_path), root=tmp_path)
    db.execute("INSERT INTO Robots (RobotId, Robot, EsOnline, Activo, MinEquipos, MaxEquipos, PrioridadBalanceo) "
               "VALUES (1, 'Facturas', 1, 1, 0, -1, 10)")
    db.execute("INSERT INTO Equipos (EquipoId, Equipo, Licencia, EstadoA360) "
               "VALUES (100, 'VM100', 'ATTENDEDRUNTIME', 'CONNECTED')")
    rpa = FakeSource("rpa360")
    rpa.rows = [("Facturas", None, 10)]
    clock = FixedClock(datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc), "UTC")
    servicio = ServicioBalanceador(cfg, db, [rpa], SourceHealth(AlertasFalsas(), 3, logging.getLogger("t")),
                                   CoolingManager.desde_config(cfg), clock, alerts=AlertasFalsas())
    assert servicio.job_ciclo() is None
    db.execute("DROP TABLE Asignaciones")
    fallo = servicio.job_ciclo()
    assert isinstance(fallo, CicloFallido) and isinstance(fallo.error, DatabaseError)
    assert servicio.ciclo() is None                      # the cycle itself still handles it (no raise)
    ensure_schema(db)
    assert servicio.job_ciclo() is None                  # a good cycle clears the last error
