"""H5 heartbeats: ``common/latido.py`` against a real SQLite SAM DB (one row per process, upsert,
job results, redaction, a DB failure never raised, dead rows of the same host removed)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from common import latido as L
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.service_runner import ServiceRunner
from common.version import __version__


class Reloj:
    def __init__(self, ahora: datetime) -> None:
        self.ahora = ahora

    def now_local(self) -> datetime:
        return self.ahora

    def avanzar(self, s: float) -> None:
        self.ahora += timedelta(seconds=s)


@pytest.fixture()
def db(tmp_path):
    d = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(d)
    yield d
    d.close_all()


def _filas(db):
    return db.query("SELECT * FROM EstadoServicios ORDER BY Servicio, Host, Pid")


def test_H5_first_beat_inserts_one_row_and_next_beats_update_it(db):
    reloj = Reloj(datetime(2026, 3, 2, 9, 0, 0))
    lat = L.Latido(db, "lanzador", clock=reloj, rol=lambda: "activo", host="SRV1", pid=4242)
    assert lat.latir()
    reloj.avanzar(15)
    assert lat.latir()
    filas = _filas(db)
    assert len(filas) == 1
    f = filas[0]
    assert (f["Servicio"], f["Host"], f["Pid"], f["Version"], f["Rol"]) == ("lanzador", "SRV1", 4242, __version__,
                                                                             "activo")
    assert f["Inicio"] == datetime(2026, 3, 2, 9, 0, 0)
    assert f["UltimoLatido"] == datetime(2026, 3, 2, 9, 0, 15)
    assert f["UltimoCicloOk"] is None and f["UltimoError"] is None


def test_H5_role_comes_from_the_callable_and_an_unknown_role_reads_activo(db):
    roles = iter(["espera", "lider", "jefe"])
    lat = L.Latido(db, "balanceador", clock=Reloj(datetime(2026, 3, 2, 9)), rol=lambda: next(roles),
                   host="H", pid=1)
    vistos = []
    for _ in range(3):
        lat.latir()
        vistos.append(_filas(db)[0]["Rol"])
    assert vistos == ["espera", "lider", "activo"]


def test_H5_job_results_feed_ultimo_ciclo_ok_and_a_redacted_ultimo_error(db):
    reloj = Reloj(datetime(2026, 3, 2, 9, 0, 0))
    lat = L.Latido(db, "lanzador", clock=reloj, rol=lambda: "activo", host="H", pid=1,
                   secretos=("Sup3rSecreta!",))
    lat.observar("lanzamiento", 0.2, None)
    reloj.avanzar(5)
    lat.observar("conciliacion", 0.1, RuntimeError("login falló con la clave Sup3rSecreta! " + "x" * 5000))
    reloj.avanzar(5)
    lat.observar(L.TAREA, 0.01, None)  # the heartbeat job itself is not a work cycle
    lat.latir()
    f = _filas(db)[0]
    assert f["UltimoCicloOk"] == datetime(2026, 3, 2, 9, 0, 0)
    assert f["UltimoError"].startswith("2026-03-02 09:00:05 conciliacion: RuntimeError: login falló")
    assert "Sup3rSecreta!" not in f["UltimoError"] and "********" in f["UltimoError"]
    assert len(f["UltimoError"]) == L.MAX_ERROR


def test_H5_a_database_failure_is_logged_once_never_raised_and_retried(db, tmp_path, caplog):
    reloj = Reloj(datetime(2026, 3, 2, 9))
    roto = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "no_es_sam.db")  # no EstadoServicios table
    lat = L.Latido(roto, "callback", clock=reloj, rol=lambda: "activo", host="H", pid=7)
    with caplog.at_level(logging.DEBUG, logger="sam.latido"):
        assert lat.latir() is False
        assert lat.latir() is False
        avisos = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(avisos) == 1 and "EstadoServicios" in avisos[0].getMessage()
        lat.db = db  # the database answers again
        assert lat.latir() is True
        assert any("vuelve a escribirse" in r.getMessage() for r in caplog.records)
    assert len(_filas(db)) == 1
    roto.close_all()


def test_H5_dead_rows_of_the_same_service_and_host_are_removed_at_start_and_own_row_on_stop(db):
    reloj = Reloj(datetime(2026, 3, 2, 9, 0, 0))
    viejo = L.Latido(db, "lanzador", clock=reloj, rol=lambda: "activo", host="H", pid=100)
    vivo = L.Latido(db, "lanzador", clock=reloj, rol=lambda: "activo", host="H", pid=101)
    otro_host = L.Latido(db, "lanzador", clock=reloj, rol=lambda: "activo", host="OTRO", pid=100)
    otro_servicio = L.Latido(db, "callback", clock=reloj, rol=lambda: "activo", host="H", pid=102)
    for lat in (viejo, otro_host, otro_servicio):
        lat.latir()
    reloj.avanzar(60)
    vivo.latir()  # pid 101 beats now; pid 100 stopped beating 60 s ago (4 beats of 15 s)
    nuevo = L.Latido(db, "lanzador", clock=reloj, rol=lambda: "activo", host="H", pid=200)
    assert nuevo.retirar_muertos(15) == 1
    claves = {(f["Servicio"], f["Host"], f["Pid"]) for f in _filas(db)}
    assert claves == {("lanzador", "H", 101), ("lanzador", "OTRO", 100), ("callback", "H", 102)}
    vivo.retirar()
    assert ("lanzador", "H", 101) not in {(f["Servicio"], f["Host"], f["Pid"]) for f in _filas(db)}


def test_H5_row_age_as_the_database_holds_it(db):
    reloj = Reloj(datetime(2026, 3, 2, 9, 0, 0))
    lat = L.Latido(db, "callback", clock=reloj, rol=lambda: "activo", host="H", pid=3)
    assert lat.edad_segundos() is None
    lat.latir()
    reloj.avanzar(7.5)
    assert lat.edad_segundos() == 7.5


def test_H5_unknown_service_is_refused(db):
    with pytest.raises(ValueError):
        L.Latido(db, "otro", clock=Reloj(datetime(2026, 3, 2)), host="H", pid=1)


def test_H5_instalar_beats_from_the_runner_and_removes_the_row_on_shutdown(db):
    from common.clock import Clock

    cfg = {"SAM_LATIDO_SEG": 1}

    class Cfg:
        def __getattr__(self, n):
            return cfg[n]

        def get(self, n, d=None):
            return cfg.get(n, d)

        def secrets(self):
            return []

    runner = ServiceRunner("lanzador", tick_s=0.05, shutdown_timeout=5)
    ciclos = []
    runner.add_job("trabajo", 0.2, lambda: ciclos.append(1))
    lat = L.instalar(runner, db, "lanzador", Cfg(), clock=Clock("UTC"), rol=lambda: "activo")
    import threading

    hilo = threading.Thread(target=runner.run)
    hilo.start()
    try:
        from tests.esperas import esperar

        primero = esperar(lambda: _filas(db), 20, que="fila de latido")[0]["UltimoLatido"]
        esperar(lambda: _filas(db) and _filas(db)[0]["UltimoLatido"] > primero, 20, que="el latido avanza")
        esperar(lambda: _filas(db)[0]["UltimoCicloOk"] is not None, 20, que="UltimoCicloOk")
        assert _filas(db)[0]["Pid"] == lat.pid
    finally:
        runner.request_stop("prueba")
        hilo.join(20)
    assert _filas(db) == []
