"""L3.5: the LANZANDO recovery never judges an intent whose deploy A360 may still be accepting.

Two halves: the configuration check refuses a ``LANZADOR_LANZANDO_TIMEOUT_SEG`` shorter than the
longest a deploy can take with ``AA_API_TIMEOUT_SECONDS`` and ``LANZADOR_MAX_REINTENTOS_DEPLOY``
(exit 2 naming both), and the launcher never starts a deploy attempt that could end after that
timeout (a long Retry-After wait or slow lookups cut the retries instead)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from common.clock import FixedClock
from common.utils.config_manager import (
    LLAMADAS_POR_INTENTO_DEPLOY,
    MARGEN_LANZANDO_SEG,
    SETTINGS_BY_NAME,
    ConfigError,
    duracion_maxima_despliegue_seg,
    load_config,
    load_config_or_exit,
    minimo_lanzando_timeout_seg,
)
from demo.simulator import API_PASSWORD, API_USERNAME, ControlRoomSimulator, generate_state
from lanzador.clients.aa_client import AutomationAnywhereClient
from lanzador.service.desplegador import AjustesLanzamiento, Desplegador
from lanzador.service.reintentos import (
    SIN_TIEMPO,
    AjustesReintento,
    Buscar,
    Clase,
    DejarLanzando,
    Desenlace,
    Desplegar,
    RegistrarFallo,
    espera_reintento,
    siguiente_paso,
)
from lanzador.service.sincronizador import Sincronizador

BASE_ENV = {
    "AA_URL": "http://127.0.0.1:9",
    "AA_USER": "svc",
    "AA_PWD": "secreto",
    "AA_URL_CALLBACK": "http://127.0.0.1:9/api/callback",
    "CALLBACK_TOKEN": "token-de-prueba-0123456789",
    "SQL_SAM_ENGINE": "sqlite",
}


# -- the configuration check ---------------------------------------------------------------------
def test_L3_5_defaults_are_consistent():
    timeout = int(SETTINGS_BY_NAME["AA_API_TIMEOUT_SECONDS"].default)
    reintentos = int(SETTINGS_BY_NAME["LANZADOR_MAX_REINTENTOS_DEPLOY"].default)
    assert int(SETTINGS_BY_NAME["LANZADOR_LANZANDO_TIMEOUT_SEG"].default) >= minimo_lanzando_timeout_seg(
        timeout, reintentos)
    load_config("lanzador", environ=BASE_ENV)  # the defaults load


@pytest.mark.parametrize("timeout,reintentos", [(1, 0), (1, 2), (5, 2), (60, 2), (30, 5)])
def test_L3_5_timeout_below_the_longest_deploy_is_refused_naming_both_variables(timeout, reintentos):
    minimo = minimo_lanzando_timeout_seg(timeout, reintentos)
    env = {**BASE_ENV, "AA_API_TIMEOUT_SECONDS": str(timeout), "LANZADOR_MAX_REINTENTOS_DEPLOY": str(reintentos)}
    load_config("lanzador", environ={**env, "LANZADOR_LANZANDO_TIMEOUT_SEG": str(minimo)})
    with pytest.raises(ConfigError) as err:
        load_config("lanzador", environ={**env, "LANZADOR_LANZANDO_TIMEOUT_SEG": str(minimo - 1)})
    (problema,) = [p for p in err.value.problems if p.startswith("LANZADOR_LANZANDO_TIMEOUT_SEG")]
    assert f"al menos {minimo} s" in problema
    assert f"AA_API_TIMEOUT_SECONDS={timeout}" in problema
    assert f"LANZADOR_MAX_REINTENTOS_DEPLOY={reintentos}" in problema


def test_L3_5_the_minimum_covers_every_call_and_every_backoff_wait():
    ajustes = AjustesReintento(max_reintentos=4)
    esperas = sum(espera_reintento(i, Desenlace(Clase.REINTENTABLE), ajustes) for i in range(1, 5))
    assert duracion_maxima_despliegue_seg(7, 4) == 7 * LLAMADAS_POR_INTENTO_DEPLOY * 5 + esperas
    assert minimo_lanzando_timeout_seg(7, 4) >= duracion_maxima_despliegue_seg(7, 4) + MARGEN_LANZANDO_SEG
    # the launcher's own backoff is the one the check counts
    defecto = AjustesLanzamiento()
    assert (defecto.backoff_base_seg, defecto.backoff_max_seg) == (ajustes.backoff_base_seg, ajustes.backoff_max_seg)


def test_L3_5_entry_point_exits_2_with_a_spanish_message(capsys):
    env = {**BASE_ENV, "LANZADOR_LANZANDO_TIMEOUT_SEG": "120"}  # the old default: unsafe with 60 s x 2 retries
    with pytest.raises(SystemExit) as salida:
        load_config_or_exit("lanzador", environ=env)
    assert salida.value.code == 2
    err = capsys.readouterr().err
    assert "LANZADOR_LANZANDO_TIMEOUT_SEG: se esperaba al menos" in err and "AA_API_TIMEOUT_SECONDS=60" in err


# -- the retry decisions -------------------------------------------------------------------------
RETRIABLE = Desenlace(Clase.REINTENTABLE, mensaje="HTTP 503", tipo_error="http:503")
AMBIGUO = Desenlace(Clase.AMBIGUO, mensaje="timeout", tipo_error="transport", reintentable=True)


def test_L3_5_a_retry_that_does_not_fit_ends_the_retries_with_the_reason():
    ajustes = AjustesReintento(max_reintentos=2)
    assert isinstance(siguiente_paso(1, RETRIABLE, ajustes, restante_seg=1.0), Desplegar)
    paso = siguiente_paso(1, RETRIABLE, ajustes, restante_seg=0.5)
    assert isinstance(paso, RegistrarFallo) and SIN_TIEMPO in paso.mensaje
    largo = Desenlace(Clase.REINTENTABLE, mensaje="HTTP 429", retry_after=60.0)
    assert isinstance(siguiente_paso(1, largo, ajustes, restante_seg=59.0), RegistrarFallo)
    assert isinstance(siguiente_paso(1, largo, ajustes, restante_seg=None), Desplegar)


def test_L3_5_after_an_ambiguous_attempt_a_cut_retry_still_never_fails_a_run_that_may_exist():
    from lanzador.service.reintentos import Busqueda

    ajustes = AjustesReintento(max_reintentos=2)
    paso = siguiente_paso(1, AMBIGUO, ajustes, busqueda=Busqueda(False), restante_seg=-3.0)
    assert paso == Buscar(intento_anterior=True)  # one last look, never DEPLOY_FAILED
    final = siguiente_paso(1, AMBIGUO, ajustes, busqueda=Busqueda(True), restante_seg=-3.0)
    assert isinstance(final, DejarLanzando)


# -- the launcher against the simulator ----------------------------------------------------------
@pytest.fixture()
def sim():
    state = generate_state(files=2, devices=1, users=1, seed=3)
    with ControlRoomSimulator(state, clock="manual", seed=3,
                              fault_rates={"/v3/automations/deploy": {"5xx": 1.0}}) as s:
        yield s


def _lanzar(sim, db, lanzando_timeout_seg):
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), "Europe/Madrid")
    aa = AutomationAnywhereClient(sim.url, API_USERNAME, password=API_PASSWORD, sleep=lambda s: None, timeout=10)
    assert Sincronizador(db, aa, clock=clock).sincronizar().ok
    (robot,) = [r["RobotId"] for r in db.query("SELECT RobotId FROM Robots ORDER BY RobotId")][:1]
    (equipo,) = [r["EquipoId"] for r in db.query("SELECT EquipoId FROM Equipos")]
    db.execute("UPDATE Robots SET EsOnline = 1 WHERE RobotId = ?", (robot,))
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado) VALUES (?, ?, 0)", (robot, equipo))
    ajustes = AjustesLanzamiento(max_reintentos=2, url_callback="http://127.0.0.1:9/api/callback",
                                 token_callback="t" * 20, lanzando_timeout_seg=lanzando_timeout_seg,
                                 api_timeout_seg=1.0)
    # every backoff wait moves the wall clock the recovery judges by
    desplegador = Desplegador(db, aa, ajustes, clock=clock, sleep=clock.advance)
    try:
        resumen = desplegador.ciclo()
    finally:
        desplegador.cerrar()
    return resumen, [r for r in sim.requests("/v3/automations/deploy")]


def test_L3_5_launcher_makes_only_the_attempts_that_end_before_the_recovery_may_judge(sim, db):
    # 1 s calls: an attempt takes up to 4 s, the margin is 5 s; backoff 1 s then 2 s.
    # 11 s: retry 1 starts at 1 s (ends by 10 s), retry 2 would start at 3 s and could end at 12 s.
    resumen, deploys = _lanzar(sim, db, lanzando_timeout_seg=11)
    assert len(deploys) == 2
    (fila,) = db.query("SELECT Estado, MensajeError FROM Ejecuciones")
    assert fila["Estado"] == "DEPLOY_FAILED" and SIN_TIEMPO in fila["MensajeError"]
    assert resumen.fallidos == 1


def test_L3_5_without_a_deadline_every_configured_retry_is_made(sim, db):
    _, deploys = _lanzar(sim, db, lanzando_timeout_seg=None)
    assert len(deploys) == 3
