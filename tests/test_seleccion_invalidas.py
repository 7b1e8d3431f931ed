"""L7.1: an invalid active schedule is skipped by the selection, other robots are still launched,
and the Lanzador sends exactly one alert naming it (again only after it was valid in between).
Real parts: SQLite, the Control Room simulator over HTTP, the real Desplegador cycle."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from common.clock import FixedClock
from demo.simulator import API_PASSWORD, API_USERNAME, ControlRoomSimulator, generate_state
from lanzador.clients.aa_client import AutomationAnywhereClient
from lanzador.database.seleccion import obtener_robots_ejecutables
from lanzador.service.desplegador import AjustesLanzamiento, Desplegador
from lanzador.service.programaciones_invalidas import VigilanteProgramaciones, invalidas
from lanzador.service.sincronizador import Sincronizador
from tests.alertas_falsas import AlertasFalsas


@pytest.fixture()
def sim():
    with ControlRoomSimulator(generate_state(files=6, devices=4, users=4, seed=5), clock="manual", seed=5) as s:
        yield s


def _desplegador(db, sim, clock, alertas):
    aa = AutomationAnywhereClient(sim.url, API_USERNAME, password=API_PASSWORD, sleep=lambda s: None, timeout=10)
    assert Sincronizador(db, aa, clock=clock).sincronizar().ok
    ajustes = AjustesLanzamiento(max_concurrentes=2, max_reintentos=1, vueltas_defecto=1, espera_tras_fallo_seg=300,
                                 url_callback="http://127.0.0.1:9/api/callback",
                                 token_callback="token-de-callback-de-prueba-0123456789",
                                 intervalo_alertas_min=30, backoff_base_seg=0.01)
    return Desplegador(db, aa, ajustes, clock=clock, alerts=alertas, sleep=lambda s: None)


def _programar(db):
    # Robot 5100 on equipo 80: RangoMensual with both forms (invalid). Robot 5101 on 81: a valid Diaria.
    db.execute("INSERT INTO Programaciones (ProgramacionId, RobotId, TipoProgramacion, HoraInicio, DiaInicioMes, "
               "DiaFinMes, UltimosDiasMes) VALUES (7, 5100, 'RangoMensual', '09:30:00', 1, 5, 3)")
    db.execute("INSERT INTO Programaciones (ProgramacionId, RobotId, TipoProgramacion, HoraInicio) "
               "VALUES (8, 5101, 'Diaria', '09:30:00')")
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, ProgramacionId) VALUES (5100, 80, 1, 7)")
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, ProgramacionId) VALUES (5101, 81, 1, 8)")


def test_L7_1_invalid_row_skipped_other_robot_launched_one_alert(db, sim):
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), "Europe/Madrid")  # 10:00 local
    alertas = AlertasFalsas()
    desplegador = _desplegador(db, sim, clock, alertas)
    _programar(db)
    try:
        rows = obtener_robots_ejecutables(db, clock.now_local())
        assert [(r.robot_id, r.equipo_id) for r in rows] == [(5101, 81)]
        resumen = desplegador.ciclo()
        assert resumen.desplegados == 1
        lanzadas = db.query("SELECT RobotId, EquipoId FROM Ejecuciones")
        assert [(r["RobotId"], r["EquipoId"]) for r in lanzadas] == [(5101, 81)]
        assert alertas.claves() == ["programacion_invalida:7"]
        (aviso,) = alertas.enviadas
        assert "7" in aviso.asunto and "P0010_Revision" in aviso.asunto and "(5100)" in aviso.asunto
        assert "las dos formas" in aviso.cuerpo and aviso.nivel == "WARNING"
        # Later cycles: still invalid, no second alert.
        desplegador.ciclo()
        desplegador.ciclo()
        assert len(alertas.enviadas) == 1
    finally:
        desplegador.cerrar()


def test_L7_1_alerts_again_only_after_the_row_was_valid_in_between(db):
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'P0001_Facturas')")
    db.execute("INSERT INTO Programaciones (ProgramacionId, RobotId, TipoProgramacion, HoraInicio, EsCiclico, "
               "HoraFin) VALUES (3, 1, 'Diaria', '08:00:00', 0, '09:00:00')")
    alertas = AlertasFalsas()
    vigilante = VigilanteProgramaciones(db, alertas)
    assert vigilante.revisar() == [3]
    assert vigilante.revisar() == []
    db.execute("UPDATE Programaciones SET EsCiclico = 1 WHERE ProgramacionId = 3")  # now valid
    assert vigilante.revisar() == []
    db.execute("UPDATE Programaciones SET HoraFin = '08:00:00' WHERE ProgramacionId = 3")  # invalid again
    assert vigilante.revisar() == [3]
    assert [a.clave for a in alertas.enviadas] == ["programacion_invalida:3"] * 2
    assert "HoraFin en una programación no cíclica" in alertas.enviadas[0].cuerpo
    assert "HoraFin igual a HoraInicio" in alertas.enviadas[1].cuerpo
    # An inactive row is not checked.
    db.execute("UPDATE Programaciones SET Activo = 0 WHERE ProgramacionId = 3")
    assert vigilante.revisar() == []


def test_L7_1_a_failed_send_is_retried_next_cycle(db):
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'P0001_Facturas')")
    db.execute("INSERT INTO Programaciones (ProgramacionId, RobotId, TipoProgramacion, HoraInicio) "
               "VALUES (4, 1, 'Mensual', '08:00:00')")
    alertas = AlertasFalsas(fallar=True)
    vigilante = VigilanteProgramaciones(db, alertas)
    assert vigilante.revisar() == []
    alertas.fallar = False
    assert vigilante.revisar() == [4]
    assert len(alertas.enviadas) == 1 and "Mensual sin DiaDelMes" in alertas.enviadas[0].cuerpo


def test_L7_1_unreadable_value_is_a_problem_not_a_crash():
    filas = [{"ProgramacionId": 1, "RobotId": 1, "TipoProgramacion": "Diaria", "HoraInicio": "8h"},
             {"ProgramacionId": 2, "RobotId": 1, "TipoProgramacion": "Diaria", "HoraInicio": "08:00:00"}]
    res = invalidas(filas)
    assert list(res) == [1] and "valor no legible" in res[1][1][0]
