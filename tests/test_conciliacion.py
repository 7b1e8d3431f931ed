"""Table and property tests of the Conciliador's pure per-row decisions (L5.4–L5.6,
lanzador/service/conciliacion.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.execution_states import TERMINAL_STATES, UNKNOWN, may_replace
from lanzador.service.conciliacion import (
    ActualizarEstado,
    AdoptarDespliegue,
    AjustesRonda,
    ContarNoEncontrado,
    Dejar,
    FallarSinConfirmacion,
    PasarAUnknown,
    ReiniciarRondas,
    RespuestaA360,
    a_consultar,
    a_recuperar,
    alerta_duracion,
    decidir_activa,
    decidir_lanzando,
    nuevos_estados,
)

AHORA = datetime(2024, 3, 4, 12, 0, 0)
VIEJA = AHORA - timedelta(hours=1)   # older than the not-found age
NUEVA = AHORA - timedelta(minutes=5)
AJ = AjustesRonda(rondas_no_encontrado=5, corte_no_encontrado=AHORA - timedelta(minutes=15))
FIN = datetime(2024, 3, 4, 11, 58)


def fila(estado="RUNNING", rondas=0, inicio=VIEJA, **extra):
    return {"EjecucionId": 1, "Estado": estado, "RondasNoEncontrado": rondas, "FechaInicio": inicio,
            "DeploymentId": "dep-1", "EquipoId": 9, "RobotId": 5, **extra}


def resp(estado, fin=None, mensaje=None):
    return RespuestaA360("dep-1", estado, fin, mensaje)


ROWS = [
    # found
    ("running-to-completed-with-end", fila(), resp("COMPLETED", FIN, "ok"), ActualizarEstado("COMPLETED", FIN, "ok")),
    ("terminal-without-end-uses-now", fila(), resp("RUN_FAILED"), ActualizarEstado("RUN_FAILED", AHORA, None)),
    ("deployed-to-running-no-end", fila("DEPLOYED"), resp("RUNNING", FIN, ""), ActualizarEstado("RUNNING", None, None)),
    ("unknown-revived", fila(UNKNOWN, rondas=6), resp("RUNNING"), ActualizarEstado("RUNNING", None, None)),
    ("same-state-no-counter", fila(), resp("RUNNING"), Dejar()),
    ("same-state-resets-counter", fila(rondas=2), resp("RUNNING"), ReiniciarRondas("RUNNING")),
    ("same-state-normalised", fila("running", rondas=1), resp("RUNNING"), ReiniciarRondas("RUNNING")),
    ("no-state", fila(rondas=2), resp(""), Dejar()),
    ("lanzando-ignored", fila(rondas=2), resp("LANZANDO"), Dejar()),
    ("never-over-terminal", fila("COMPLETED"), resp("RUNNING"), Dejar()),
    ("unrecognised-state-is-active", fila(), resp("PAUSED_BY_X"), ActualizarEstado("PAUSED_BY_X", None, None)),
    # not found
    ("not-found-counts", fila(rondas=0), None, ContarNoEncontrado(1, "RUNNING")),
    ("not-found-below-rounds", fila(rondas=3), None, ContarNoEncontrado(4, "RUNNING")),
    ("not-found-becomes-unknown", fila(rondas=4), None, PasarAUnknown(5)),
    ("not-found-too-young", fila(rondas=4, inicio=NUEVA), None, ContarNoEncontrado(5, "RUNNING")),
    ("not-found-at-age-limit", fila(rondas=4, inicio=AJ.corte_no_encontrado), None, PasarAUnknown(5)),
    ("not-found-already-unknown", fila(UNKNOWN, rondas=8), None, ContarNoEncontrado(9, UNKNOWN)),
    ("not-found-null-counter", fila(rondas=None), None, ContarNoEncontrado(1, "RUNNING")),
]


@pytest.mark.parametrize(("row", "respuesta", "esperado"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_L5_4_decidir_activa(row, respuesta, esperado):
    assert decidir_activa(row, respuesta, AHORA, AJ) == esperado


ESTADOS = st.sampled_from(["DEPLOYED", "RUNNING", "QUEUED", "UNKNOWN", "COMPLETED", "RUN_COMPLETED",
                           "RUN_FAILED", "RUN_ABORTED", "RUN_TIMED_OUT", "DEPLOY_FAILED", "LANZANDO", "",
                           "ALGO_NUEVO"])


@given(actual=ESTADOS.filter(bool), visto=st.one_of(st.none(), ESTADOS), rondas=st.integers(0, 10),
       edad_min=st.integers(0, 180), fin=st.one_of(st.none(), st.just(FIN)))
def test_L5_4_properties(actual, visto, rondas, edad_min, fin):
    row = fila(actual, rondas=rondas, inicio=AHORA - timedelta(minutes=edad_min))
    d = decidir_activa(row, None if visto is None else resp(visto, fin), AHORA, AJ)
    if visto is None:  # not found: always one more round, UNKNOWN only with enough rounds and age
        assert d.rondas == rondas + 1
        assert isinstance(d, PasarAUnknown) == (actual != UNKNOWN and rondas + 1 >= 5 and edad_min >= 15)
        return
    assert not isinstance(d, (ContarNoEncontrado, PasarAUnknown))
    if isinstance(d, ActualizarEstado):
        assert may_replace(actual, d.estado) and d.estado == visto and actual not in TERMINAL_STATES
        assert (d.fin is not None) == (d.estado in TERMINAL_STATES)
    if isinstance(d, ReiniciarRondas):
        assert rondas > 0 and d.estado == actual
    if actual in TERMINAL_STATES:
        assert not isinstance(d, ActualizarEstado)  # never over a terminal state


def test_L5_5_decidir_lanzando():
    assert decidir_lanzando(None) == FallarSinConfirmacion()
    assert decidir_lanzando(RespuestaA360("dep-9", "RUNNING", None, "")) == AdoptarDespliegue(
        "dep-9", "RUNNING", None, None)
    assert decidir_lanzando(RespuestaA360("dep-9", "", FIN, "m")) == AdoptarDespliegue("dep-9", None, FIN, "m")


def test_L5_4_L5_5_row_selection():
    corte = AHORA - timedelta(seconds=30)
    assert a_consultar(fila(), corte)
    assert not a_consultar(fila(DeploymentId=None), corte)
    assert not a_consultar(fila(inicio=AHORA), corte)
    assert not a_consultar(fila(inicio=None), corte)
    lanzando = fila("LANZANDO", DeploymentId=None)
    assert a_recuperar(lanzando, corte)
    assert not a_recuperar({**lanzando, "DeploymentId": "d"}, corte)
    assert not a_recuperar({**lanzando, "Estado": "DEPLOYED"}, corte)
    assert not a_recuperar({**lanzando, "FechaInicio": AHORA}, corte)
    assert not a_recuperar({**lanzando, "FechaInicio": None}, corte)


def test_L5_6_duration_alert_uses_the_state_written_this_round():
    corte = AHORA - timedelta(minutes=480)
    larga = fila(inicio=AHORA - timedelta(hours=9))
    assert alerta_duracion(larga, "RUNNING", corte)
    assert not alerta_duracion(larga, "COMPLETED", corte)  # just ended this round
    assert not alerta_duracion({**larga, "AlertaDuracionEnviada": True}, "RUNNING", corte)
    assert not alerta_duracion(fila(inicio=AHORA - timedelta(hours=1)), "RUNNING", corte)
    decisiones = [(1, ActualizarEstado("COMPLETED", FIN, None)), (2, ContarNoEncontrado(1, "RUNNING")),
                  (3, Dejar())]
    assert nuevos_estados(decisiones) == {1: "COMPLETED"}
