"""Table tests of the pure deploy retry decisions (L3.3, lanzador/service/reintentos.py) and of the
classification of A360 errors into their plain-data outcomes (desplegador.clasificar)."""

from __future__ import annotations

import pytest

from lanzador.clients.aa_client import A360Error
from lanzador.service.desplegador import clasificar
from lanzador.service.reintentos import (
    ADOPTADO_INTENTO_ANTERIOR,
    ADOPTADO_TRAS_ERROR,
    AjustesReintento,
    Buscar,
    Busqueda,
    Clase,
    DejarLanzando,
    Desenlace,
    Desplegar,
    RegistrarDesplegado,
    RegistrarFallo,
    espera_reintento,
    registrar_fallo,
    siguiente_paso,
)

AJ = AjustesReintento(max_reintentos=2, backoff_base_seg=1.0, backoff_max_seg=30.0, retry_after_max_seg=60.0)

OK = Desenlace(Clase.ACEPTADO, deployment_id="dep-1")
R5XX = Desenlace(Clase.REINTENTABLE, mensaje="500", tipo_error="http:500", reintentable=True)
R429 = Desenlace(Clase.REINTENTABLE, mensaje="429", tipo_error="http:429", reintentable=True, retry_after=7)
PERM = Desenlace(Clase.PERMANENTE, mensaje="400", tipo_error="http:400:INVALID_ARGUMENT")
DNC = Desenlace(Clase.EQUIPO_DESCONECTADO, mensaje="desconectado", tipo_error="http:400:DEVICE_NOT_CONNECTED",
                reintentable=False)
NCT = Desenlace(Clase.CONFIGURACION_ROBOT, mensaje="sin destinos", tipo_error="http:412:NO_COMPATIBLE_TARGETS",
                configuracion_robot=True)
TIMEOUT = Desenlace(Clase.AMBIGUO, mensaje="tiempo agotado", tipo_error="transport", reintentable=True)
SIN_ID = Desenlace(Clase.AMBIGUO, mensaje="2xx sin id", tipo_error="protocol:200", reintentable=False)

NADA = Busqueda(intento_anterior=False)
HALLADO = Busqueda(intento_anterior=False, deployment_id="dep-A")
FALLA = Busqueda(intento_anterior=False, error="boom")
NADA_ANT = Busqueda(intento_anterior=True)
HALLADO_ANT = Busqueda(intento_anterior=True, deployment_id="dep-B")
FALLA_ANT = Busqueda(intento_anterior=True, error="boom")


def _dejar(d: Desenlace, motivo: str) -> DejarLanzando:
    return DejarLanzando(d.mensaje, d.tipo_error, motivo)


# (id, intento, desenlace, kwargs, expected step)
ROWS = [
    # success
    ("ok-first", 1, OK, {}, RegistrarDesplegado("dep-1")),
    ("ok-after-retries-with-ambiguous-before", 3, OK, {"posible_aceptado": True}, RegistrarDesplegado("dep-1")),
    # retriable: backoff 1, 2 s, then exhausted -> DEPLOY_FAILED (tras N intentos)
    ("retriable-1", 1, R5XX, {}, Desplegar(1.0, False)),
    ("retriable-2", 2, R5XX, {}, Desplegar(2.0, False)),
    ("retriable-exhausted", 3, R5XX, {}, RegistrarFallo("500 (tras 3 intentos)", "http:500", False)),
    ("retriable-stop", 1, R5XX, {"parado": True}, RegistrarFallo("500", "http:500", False)),
    ("retry-after-honoured", 1, R429, {}, Desplegar(7.0, False)),
    ("retriable-wait-interrupted", 1, R5XX, {"espera_interrumpida": True}, RegistrarFallo("500", "http:500", False)),
    # permanent: never retried
    ("permanent-first", 1, PERM, {}, RegistrarFallo("400", "http:400:INVALID_ARGUMENT", False)),
    ("permanent-after-retries", 2, PERM, {}, RegistrarFallo("400 (tras 2 intentos)", "http:400:INVALID_ARGUMENT",
                                                            False)),
    # DEVICE_NOT_CONNECTED is never retried
    ("device-not-connected", 1, DNC, {}, RegistrarFallo("desconectado", "http:400:DEVICE_NOT_CONNECTED", False)),
    # 412 NO_COMPATIBLE_TARGETS: failed at once, alerted as robot configuration
    ("no-compatible-targets", 1, NCT, {}, RegistrarFallo("sin destinos", "http:412:NO_COMPATIBLE_TARGETS", True)),
    # unusable botInput (no deploy made: attempt 0)
    ("bot-input", 0, NCT, {}, RegistrarFallo("sin destinos", "http:412:NO_COMPATIBLE_TARGETS", True)),
    # ambiguous: looked up before any retry
    ("ambiguous-lookup-first", 1, TIMEOUT, {}, Buscar(intento_anterior=False)),
    ("ambiguous-lookup-even-last", 3, TIMEOUT, {}, Buscar(intento_anterior=False)),
    ("ambiguous-lookup-even-stopped", 1, TIMEOUT, {"parado": True}, Buscar(intento_anterior=False)),
    ("2xx-no-id-lookup", 1, SIN_ID, {}, Buscar(intento_anterior=False)),
    ("ambiguous-found-adopted", 1, TIMEOUT, {"busqueda": HALLADO}, RegistrarDesplegado("dep-A", ADOPTADO_TRAS_ERROR)),
    ("ambiguous-lookup-failed", 1, TIMEOUT, {"busqueda": FALLA},
     _dejar(TIMEOUT, "no se pudo comprobar en A360: boom")),
    ("ambiguous-not-found-retried", 1, TIMEOUT, {"busqueda": NADA}, Desplegar(1.0, True)),
    ("ambiguous-not-found-exhausted", 3, TIMEOUT, {"busqueda": NADA}, _dejar(TIMEOUT, "reintentos agotados")),
    ("ambiguous-not-found-stop", 1, TIMEOUT, {"busqueda": NADA, "parado": True},
     _dejar(TIMEOUT, "reintentos agotados")),
    ("2xx-no-id-never-retried", 1, SIN_ID, {"busqueda": NADA},
     _dejar(SIN_ID, "A360 pudo aceptarlo; no se reintenta")),
    ("2xx-no-id-found", 1, SIN_ID, {"busqueda": HALLADO}, RegistrarDesplegado("dep-A", ADOPTADO_TRAS_ERROR)),
    # an earlier ambiguous attempt, not visible in A360: looked up once more before failing
    ("earlier-ambiguous-then-permanent", 2, PERM, {"posible_aceptado": True}, Buscar(intento_anterior=True)),
    ("earlier-ambiguous-then-retriable", 2, R5XX, {"posible_aceptado": True}, Desplegar(2.0, True)),
    ("earlier-ambiguous-exhausted", 3, R5XX, {"posible_aceptado": True}, Buscar(intento_anterior=True)),
    ("earlier-ambiguous-found", 2, PERM, {"posible_aceptado": True, "busqueda": HALLADO_ANT},
     RegistrarDesplegado("dep-B", ADOPTADO_INTENTO_ANTERIOR)),
    ("earlier-ambiguous-still-unknown", 2, PERM, {"posible_aceptado": True, "busqueda": NADA_ANT},
     _dejar(PERM, "un intento anterior pudo ser aceptado por A360")),
    ("earlier-ambiguous-lookup-failed", 2, PERM, {"posible_aceptado": True, "busqueda": FALLA_ANT},
     _dejar(PERM, "un intento anterior pudo ser aceptado y no se pudo comprobar en A360: boom")),
    # the wait before a retry was cut short by a stop: no more deploys
    ("ambiguous-wait-interrupted", 1, TIMEOUT, {"posible_aceptado": True, "espera_interrumpida": True},
     Buscar(intento_anterior=True)),
    ("ambiguous-wait-interrupted-unknown", 1, TIMEOUT,
     {"posible_aceptado": True, "espera_interrumpida": True, "busqueda": NADA_ANT},
     _dejar(TIMEOUT, "un intento anterior pudo ser aceptado por A360")),
]


@pytest.mark.parametrize(("intento", "desenlace", "kwargs", "esperado"), [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])
def test_L3_3_siguiente_paso(intento, desenlace, kwargs, esperado):
    assert siguiente_paso(intento, desenlace, AJ, **kwargs) == esperado


def test_L3_3_max_retries_setting_bounds_the_attempts():
    sin = AjustesReintento(max_reintentos=0)
    assert siguiente_paso(1, R5XX, sin) == RegistrarFallo("500", "http:500", False)
    assert siguiente_paso(1, TIMEOUT, sin, busqueda=NADA) == _dejar(TIMEOUT, "reintentos agotados")
    cinco = AjustesReintento(max_reintentos=5, backoff_base_seg=1.0, backoff_max_seg=4.0)
    assert [siguiente_paso(n, R5XX, cinco) for n in range(1, 7)] == [
        Desplegar(1.0, False), Desplegar(2.0, False), Desplegar(4.0, False), Desplegar(4.0, False),
        Desplegar(4.0, False), RegistrarFallo("500 (tras 6 intentos)", "http:500", False)]


def test_L3_3_backoff_and_retry_after_cap():
    assert espera_reintento(1, R429, AJ) == 7
    assert espera_reintento(1, Desenlace(Clase.REINTENTABLE, retry_after=600), AJ) == 60
    assert espera_reintento(1, Desenlace(Clase.REINTENTABLE, retry_after=-3), AJ) == 0
    assert espera_reintento(1, R5XX, AJ) == 1.0
    assert espera_reintento(30, R5XX, AJ) == 30.0


def test_L3_3_every_path_ends_in_a_final_step_without_looping():
    """Driving the function as the shell does always ends, with at most two lookups per attempt."""
    finals = (RegistrarDesplegado, RegistrarFallo, DejarLanzando)
    for d in (OK, R5XX, R429, PERM, DNC, NCT, TIMEOUT, SIN_ID):
        for respuesta in (None, "dep-X", "error"):
            posible = False
            for intento in range(1, AJ.max_reintentos + 3):
                busqueda = None
                for _ in range(3):
                    paso = siguiente_paso(intento, d, AJ, busqueda=busqueda, posible_aceptado=posible)
                    if not isinstance(paso, Buscar):
                        break
                    busqueda = Busqueda(paso.intento_anterior,
                                        deployment_id=respuesta if respuesta != "error" else None,
                                        error="e" if respuesta == "error" else None)
                else:
                    pytest.fail("lookup loop")
                if isinstance(paso, Desplegar):
                    posible = paso.posible_aceptado
                    continue
                assert isinstance(paso, finals)
                break
            else:
                pytest.fail(f"no final step for {d}")
            if d.clase is Clase.AMBIGUO:
                assert not isinstance(paso, RegistrarFallo)  # never DEPLOY_FAILED over a run that may exist


def test_registrar_fallo_counts_attempts_only_after_the_first():
    assert registrar_fallo(PERM, 0).mensaje == "400"
    assert registrar_fallo(PERM, 1).mensaje == "400"
    assert registrar_fallo(PERM, 4).mensaje == "400 (tras 4 intentos)"


# -- classification of A360 errors (desplegador.clasificar) --------------------------------------
CLASIFICACION = [
    ("transport", A360Error("transport", "tiempo agotado", retriable=True), Clase.AMBIGUO, True, False),
    ("2xx-no-id", A360Error("protocol", "sin id", status_code=200), Clase.AMBIGUO, False, False),
    ("protocol-non-2xx", A360Error("protocol", "x", status_code=302), Clase.PERMANENTE, False, False),
    ("5xx", A360Error("http", "500", status_code=500, retriable=True), Clase.REINTENTABLE, True, False),
    ("device-busy", A360Error("http", "busy", status_code=400, code="DEVICE_BUSY", retriable=True),
     Clase.REINTENTABLE, True, False),
    ("device-not-connected", A360Error("http", "dnc", status_code=400, code="DEVICE_NOT_CONNECTED",
                                       retriable=True), Clase.EQUIPO_DESCONECTADO, False, False),
    ("412-no-compatible", A360Error("http", "x", status_code=412, code="NO_COMPATIBLE_TARGETS"),
     Clase.CONFIGURACION_ROBOT, False, True),
    ("412-no-compatible-text", A360Error("http", "No compatible targets found", status_code=412),
     Clase.CONFIGURACION_ROBOT, False, True),
    ("input", A360Error("input", "Parametros del robot no es JSON válido"), Clase.CONFIGURACION_ROBOT, False,
     True),
    ("400", A360Error("http", "bad", status_code=400, code="INVALID_ARGUMENT"), Clase.PERMANENTE, False, False),
]


@pytest.mark.parametrize(("exc", "clase", "reintentable", "config"), [r[1:] for r in CLASIFICACION],
                         ids=[r[0] for r in CLASIFICACION])
def test_L3_3_clasificar(exc, clase, reintentable, config):
    d = clasificar(exc)
    assert (d.clase, d.reintentable, d.configuracion_robot) == (clase, reintentable, config)
    assert d.mensaje == exc.message


def test_clasificar_keeps_retry_after_and_alert_key():
    d = clasificar(A360Error("http", "429", status_code=429, code="TOO_MANY", retriable=True, retry_after=12))
    assert (d.retry_after, d.tipo_error) == (12, "http:429:TOO_MANY")
