"""H3 fencing of the Lanzador: a process whose lease another process took, but which does not know
it yet (its local check still says "leader"), gets its intent refused by the SAM DB and sends no
deploy to A360. In process (Desplegador, real SQLite file, simulator over HTTP) and with a real
Lanzador process whose lease is taken over right after one of its renewals."""

from __future__ import annotations

import logging
import sqlite3
import sys
from datetime import datetime, timezone

import pytest

from common.clock import FixedClock
from common.liderazgo import Liderazgo
from demo.simulator import API_PASSWORD, API_USERNAME, ControlRoomSimulator, generate_state
from lanzador.clients.aa_client import AutomationAnywhereClient
from lanzador.service.desplegador import AjustesLanzamiento, Desplegador
from lanzador.service.sincronizador import Sincronizador
from tests.esperas import esperar

DEPLOY = "/v3/automations/deploy"
RECHAZO = "no reconoce a este Lanzador como líder"


def tomar_como_otro(ruta, segundos: float = 120.0) -> None:
    """Another process holds the role: its Titular in the row, a live lease on the DB's clock."""
    con = sqlite3.connect(ruta)
    con.execute("UPDATE Liderazgo SET Titular = 'srv-otro:1:abc', Host = 'srv-otro', Pid = 1, "
                "ExpiraUtc = strftime('%Y-%m-%d %H:%M:%f', julianday('now') + ? / 86400.0) "
                "WHERE Rol = 'lanzador'", (segundos,))
    con.commit()
    con.close()


def _desplegador(db, aa, clock):
    ajustes = AjustesLanzamiento(max_concurrentes=3, max_reintentos=2, vueltas_defecto=3, espera_tras_fallo_seg=300,
                                 url_callback="http://127.0.0.1:9/api/callback", token_callback=None,
                                 intervalo_alertas_min=30, backoff_base_seg=0.01)
    return Desplegador(db, aa, ajustes, clock=clock, sleep=lambda s: None)


def test_H3_a_leader_whose_lease_was_taken_over_gets_its_intent_refused_and_deploys_nothing(db, tmp_path, caplog):
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), "Europe/Madrid")
    with ControlRoomSimulator(generate_state(files=6, devices=4, users=4, seed=5), clock="manual", seed=5) as sim:
        aa = AutomationAnywhereClient(sim.url, API_USERNAME, password=API_PASSWORD, sleep=lambda s: None, timeout=10)
        assert Sincronizador(db, aa, clock=clock).sincronizar().ok
        db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado) VALUES (5100, 80, 0)")
        db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado) VALUES (5101, 81, 0)")
        db.execute("UPDATE Robots SET EsOnline = 1 WHERE RobotId = 5100")
        eleccion = Liderazgo(db, "lanzador", ha=True, lease_s=60.0, host="srv-a", pid=10)
        assert eleccion._intentar() is True
        d = _desplegador(db, aa, clock)
        d.puede_lanzar, d.cerco = eleccion.puede_trabajar, eleccion.cerco()
        try:
            assert d.ciclo().desplegados == 1  # the holder launches
            tomar_como_otro(tmp_path / "sam.db")
            db.execute("UPDATE Robots SET EsOnline = 1 WHERE RobotId = 5101")
            assert eleccion.puede_trabajar()  # it has not renewed since: locally still the leader
            with caplog.at_level(logging.WARNING):
                res = d.ciclo()
        finally:
            d.cerrar()
        assert res.desplegados == 0
        assert len(sim.requests(DEPLOY)) == 1  # nothing more reached A360
        assert [(r["RobotId"], r["EquipoId"]) for r in db.query("SELECT RobotId, EquipoId FROM Ejecuciones")] == [
            (5100, 80)]
        assert any(RECHAZO in r.getMessage() and "5101" in r.getMessage() for r in caplog.records), caplog.text


@pytest.mark.system
@pytest.mark.skipif(sys.platform == "win32", reason="el Lanzador de prueba se arranca con señales POSIX")
def test_H3_real_lanzador_taken_over_between_renewals_launches_nothing_then_goes_standby(tmp_path):
    from tests.test_lanzador_system_procesos import Entorno, _sim

    with _sim() as sim:
        # lease 30 s: renewals every 10 s, so a takeover right after one leaves ~10 s in which only
        # the DB can tell this process it lost the role (its launch cycle runs every second)
        env = Entorno(tmp_path, sim, HA_HABILITADO="true", HA_LEASE_SEG="30")
        try:
            env.online([(5100, 80), (5101, 81)])
            env.db.execute("UPDATE Robots SET EsOnline = 0")
            env.lanzador.start()
            esperar(lambda: "rol líder" in env.log() or not env.lanzador.alive(), 60, que="Lanzador líder")
            assert env.lanzador.alive(), env.lanzador.output()[-3000:]

            def renovado():
                fila = env.db.query_one("SELECT RenovadoUtc FROM Liderazgo WHERE Rol = 'lanzador'")
                return fila["RenovadoUtc"] if fila else None

            visto = renovado()
            esperar(lambda: renovado() != visto, 30, paso=0.05, que="una renovación del lease")
            tomar_como_otro(env.db_path)
            env.db.execute("UPDATE Robots SET EsOnline = 1")
            esperar(lambda: RECHAZO in env.log(), 30, que="la intención rechazada por la base de datos")
            esperar(lambda: "cambio de rol, líder -> en espera" in env.log(), 30, que="el Lanzador se sabe en espera")
            assert env.lanzador.alive()
            assert sim.requests(DEPLOY) == []
            assert env.ejecuciones() == []
            assert env.lanzador.terminate() == 0
        finally:
            env.close()
