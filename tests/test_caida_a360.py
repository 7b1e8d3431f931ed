"""M2: the A360 outage detector (pure), its mail adapter and the launch cycle during an outage.

The real-process test (simulator over HTTP, real SMTP sink) is tests/test_caida_a360_sistema.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from lanzador.clients.aa_client import A360Error
from lanzador.service.caida_a360 import (
    ASUNTO_CAIDA,
    ASUNTO_RECUPERADA,
    CLAVE_CAIDA,
    PREFIJO_CAIDA,
    SENAL_CAIDA,
    SENAL_RESPUESTA,
    DetectorCaida,
    VigilanciaA360,
    duracion,
    es_fallo_por_caida,
    mensaje_por_caida,
    senal,
)
from tests.alertas_falsas import AlertasFalsas

T0 = datetime(2026, 3, 2, 9, 0, 0)


def _http(status, code=None, retriable=True):
    return A360Error("http", f"A360 POST /v3/automations/deploy respondió HTTP {status}", status_code=status,
                     code=code, retriable=retriable)


TRANSPORTE = A360Error("transport", "A360 POST /v2/devices/list: tiempo de lectura agotado (ReadTimeout: x)",
                       retriable=True)


# ----------------------------------------------------------------------------- what a call says

@pytest.mark.parametrize("exc", [_http(500), _http(502), _http(503), _http(504), TRANSPORTE])
def test_M2_5xx_timeouts_and_connection_errors_are_outage_signals(exc):
    assert senal(exc) == SENAL_CAIDA
    assert es_fallo_por_caida(exc)


@pytest.mark.parametrize("exc", [None, _http(400, "INVALID_ARGUMENT", False), _http(401, retriable=False),
                                 _http(404, retriable=False), _http(412, "DEVICE_BUSY"), _http(429),
                                 A360Error("protocol", "HTTP 200 sin JSON válido", status_code=200)])
def test_M2_any_other_answer_means_a360_answers(exc):
    assert senal(exc) == SENAL_RESPUESTA
    assert not es_fallo_por_caida(exc)


@pytest.mark.parametrize("exc", [A360Error("input", "el cuerpo no se puede serializar"),
                                 A360Error("transport", "URL no válida; revise AA_URL", retriable=False),
                                 ValueError("otra cosa")])
def test_M2_an_error_before_anything_was_sent_says_nothing(exc):
    assert senal(exc) is None


# ----------------------------------------------------------------------------- the rule

def test_M2_three_signals_within_the_window_begin_an_outage_dated_at_the_first():
    d = DetectorCaida(umbral=3, ventana_seg=180)
    assert d.error(0, T0, "e1") is None
    assert d.error(60, T0 + timedelta(seconds=60), "e2") is None
    assert not d.activa
    caida = d.error(170, T0 + timedelta(seconds=170), "e3")
    assert caida is not None and d.activa
    assert caida.desde == T0 and caida.errores == 3 and caida.ultimo_error == "e3"
    # further signals while it lasts begin nothing new
    assert d.error(200, T0 + timedelta(seconds=200), "e4") is None
    assert d.ultimo_error == "e4"


def test_M2_signals_spread_wider_than_the_window_are_no_outage():
    d = DetectorCaida(umbral=3, ventana_seg=180)
    for i in range(10):  # one every 100 s: never 3 within 180 s
        assert d.error(i * 100, T0 + timedelta(seconds=i * 100), f"e{i}") is None
    assert not d.activa


def test_M2_an_answer_between_signals_restarts_the_count():
    d = DetectorCaida(umbral=3, ventana_seg=180)
    d.error(0, T0, "e1")
    d.error(1, T0, "e2")
    assert d.respuesta(2, T0) is None  # no outage to end
    d.error(3, T0, "e3")
    assert d.error(4, T0, "e4") is None and not d.activa
    assert d.error(5, T0, "e5") is not None


def test_M2_the_first_answer_ends_it_with_duration_and_delayed_launches_counted_once():
    d = DetectorCaida(umbral=2, ventana_seg=60)
    assert not d.retrasar(("r", 1))  # nothing to delay while A360 is up
    d.error(0, T0, "e1")
    d.error(10, T0 + timedelta(seconds=10), "HTTP 503")
    for _ in range(3):  # the same launch deferred in three cycles counts once
        d.retrasar((5100, 80, None, None), 5100)
    d.retrasar((5101, 81, None, None), 5101)
    d.retrasar((5101, 82, None, None), 5101)
    rec = d.respuesta(130, T0 + timedelta(seconds=130))
    assert rec is not None and not d.activa
    assert rec.desde == T0 and rec.hasta == T0 + timedelta(seconds=130) and rec.duracion_seg == 130
    assert (rec.retrasados, rec.robots) == (3, 2)
    assert rec.ultimo_error == "HTTP 503"
    assert d.respuesta(131, T0) is None  # announced once
    # the next outage counts from zero
    d.error(200, T0, "x")
    d.error(201, T0, "y")
    assert d.respuesta(202, T0).retrasados == 0


def test_M2_threshold_one_and_texts():
    d = DetectorCaida(umbral=1, ventana_seg=1)
    assert d.error(0, T0, "e") is not None
    assert duracion(42) == "42 s" and duracion(95) == "1 min 35 s" and duracion(180) == "3 min"
    assert duracion(3720) == "1 h 2 min"
    assert mensaje_por_caida("HTTP 503").startswith(PREFIJO_CAIDA)
    assert mensaje_por_caida(mensaje_por_caida("x")) == PREFIJO_CAIDA + "x"


# ----------------------------------------------------------------------------- the adapter

class Reloj:
    def __init__(self):
        self.t = 0.0

    def mono(self):
        return self.t

    def local(self):
        return T0 + timedelta(seconds=self.t)


def _vigilancia(alertas, **kw):
    reloj = Reloj()
    v = VigilanciaA360(alertas, umbral=3, ventana_min=3, url="https://cr.example.com",
                       secretos=["Sup3rSecreta!"], reloj=reloj.local, monotonic=reloj.mono, **kw)
    return v, reloj


def test_M2_one_alert_and_one_recovery_whatever_the_number_of_failed_calls():
    alertas = AlertasFalsas()
    v, reloj = _vigilancia(alertas)
    for i in range(30):  # sync, deploys and activity calls of several robots, all failing
        reloj.t = i * 2
        v.observar("/v3/automations/deploy", _http(503, "SERVICE_UNAVAILABLE"))
        v.observar("/v3/activity/list", TRANSPORTE)
    assert v.activa
    v.retrasar([((5100, 80, None, None), 5100), ((5101, 81, None, None), 5101)])
    reloj.t = 150
    v.observar("/v2/devices/list", None)
    v.observar("/v3/automations/deploy", None)
    v.esperar_avisos()
    assert not v.activa
    assert alertas.claves() == [CLAVE_CAIDA]
    assert alertas.claves_recuperadas() == [CLAVE_CAIDA]
    alerta, rec = alertas.enviadas[0], alertas.recuperadas[0]
    assert alerta.asunto == ASUNTO_CAIDA
    assert "https://cr.example.com" in alerta.cuerpo and "desde 2026-03-02 09:00:00" in alerta.cuerpo
    assert "Último error: A360 POST /v3/automations/deploy respondió HTTP 503" in alerta.cuerpo
    assert alerta.que_revisar
    assert rec.asunto == ASUNTO_RECUPERADA
    assert "duró 2 min 30 s" in rec.cuerpo and "2 lanzamientos retrasados (2 robots)" in rec.cuerpo
    v.cerrar()


def test_M2_the_last_error_in_the_mail_is_redacted():
    alertas = AlertasFalsas()
    v, _ = _vigilancia(alertas)
    fuga = A360Error("transport", "A360 POST /v2/authentication: error (password=Sup3rSecreta! token=eyJhbGciOi.eyJzdWIi.x)",
                     retriable=True)
    for _ in range(3):
        v.observar("/v2/authentication", fuga)
    v.esperar_avisos()
    cuerpo = alertas.enviadas[0].cuerpo
    assert "Sup3rSecreta!" not in cuerpo and "eyJhbGciOi" not in cuerpo
    v.cerrar()


def test_M2_an_observer_that_fails_never_breaks_the_call_and_no_alerts_client_sends_nothing():
    v, _ = _vigilancia(None)
    for _ in range(5):
        v.observar("/v3/automations/deploy", _http(503))
    assert v.activa
    v.observar("/x", None)
    assert not v.activa

    class Rota:
        def send_alert(self, *a, **k):
            raise OSError("SMTP caído")

        def send_recovery(self, *a, **k):
            raise OSError("SMTP caído")

    v2, _ = _vigilancia(Rota())
    for _ in range(3):
        v2.observar("/p", _http(500))
    v2.observar("/p", None)
    v2.esperar_avisos()  # the failed sends were logged, nothing raised
    v.cerrar()
    v2.cerrar()


def test_M2_the_client_reports_every_http_call_to_its_observer(monkeypatch):
    """The client's one request point: every call's outcome reaches ``observador`` (also the login)."""
    from demo.simulator import API_PASSWORD, API_USERNAME, ControlRoomSimulator, generate_state
    from lanzador.clients.aa_client import AutomationAnywhereClient

    vistos = []
    with ControlRoomSimulator(generate_state(files=2, devices=2, users=2, seed=3), seed=3) as sim:
        aa = AutomationAnywhereClient(sim.url, API_USERNAME, password=API_PASSWORD, timeout=5,
                                      sleep=lambda s: None)
        aa.observador = lambda path, exc: vistos.append((path, None if exc is None else exc.status_code))
        aa.list_devices()
        sim.configure(fault_rates={"5xx": 1.0}, fault_5xx_statuses=[503])
        with pytest.raises(A360Error):
            aa.list_taskbots()
        aa.close()
    assert vistos[0] == ("/v2/authentication", None)
    assert ("/v2/devices/list", None) in vistos
    assert vistos.count(("/v2/repository/workspaces/public/files/list", 503)) == 3  # the call and its 2 retries


def test_M2_sync_and_conciliation_failures_during_an_outage_are_not_alerted_again(tmp_path):
    """One alert per root cause: while the outage is declared, a table sync or a conciliation round
    that fails for the same reason adds no mail of its own; after it, they alert as before."""
    from datetime import timezone

    from common.clock import FixedClock
    from common.database.schema import ensure_schema
    from common.database.sql_client import DatabaseClient
    from lanzador.service.conciliador import Conciliador
    from lanzador.service.main import Lanzador
    from tests.test_alertas_causa_raiz import _cfg

    caido = _http(503, "SERVICE_UNAVAILABLE")

    class AA:
        observador = None

        def list_devices(self):
            raise caido

        def list_taskbots(self):
            raise caido

        def logout(self):
            pass

    cfg = _cfg()
    clock = FixedClock(datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc), "UTC")
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(db)
    alertas = AlertasFalsas()
    aa = AA()
    conc = Conciliador(db, aa, cfg, clock, alertas)
    lz = Lanzador(cfg, db=db, aa=aa, clock=clock, alerts=alertas, conciliador=conc)
    assert aa.observador == lz.caida.observar  # the client reports to the process' watch
    for _ in range(3):
        aa.observador("/v2/devices/list", caido)
    lz.caida.esperar_avisos()
    lz.job_sincronizacion()
    for _ in range(5):
        conc._a360_failed(caido)
    assert alertas.claves() == [CLAVE_CAIDA]
    aa.observador("/v2/devices/list", None)  # A360 answers: the outage ends
    lz.caida.esperar_avisos()
    assert alertas.claves_recuperadas() == [CLAVE_CAIDA]
    lz.job_sincronizacion()  # now a failed sync is alerted as usual
    assert alertas.claves() == [CLAVE_CAIDA, "lanzador:sync:equipos", "lanzador:sync:robots"]
    lz.cerrar()
