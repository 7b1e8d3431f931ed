"""L3: intent-first concurrent launching against the simulator (real HTTP) and SQLite."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from common.clock import FixedClock
from common.database.sql_client import DatabaseClient, DatabaseError
from demo.simulator import API_PASSWORD, API_USERNAME, ControlRoomSimulator, generate_state
from lanzador.clients.aa_client import AutomationAnywhereClient
from lanzador.service.desplegador import AjustesLanzamiento, Desplegador
from lanzador.service.sincronizador import Nombres, Sincronizador
from tests.alertas_falsas import AlertasFalsas

TOKEN = "token-de-callback-de-prueba-0123456789"
CALLBACK_URL = "http://127.0.0.1:9/api/callback"
DEPLOY_PATH = "/v3/automations/deploy"


class Reloj:
    """Monotonic source for the alert de-duplication window."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture()
def sim():
    with ControlRoomSimulator(generate_state(files=6, devices=4, users=4, seed=5), clock="manual", seed=5) as s:
        yield s


@pytest.fixture()
def clock():
    return FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), "Europe/Madrid")


def _aa(sim):
    return AutomationAnywhereClient(sim.url, API_USERNAME, password=API_PASSWORD, sleep=lambda s: None, timeout=10)


def _prepare(sim, db, clock, pares=((5100, 80),), parametros=None, nombres=None):
    aa = _aa(sim)
    assert Sincronizador(db, aa, clock=clock, nombres=nombres).sincronizar().ok
    for robot, equipo in pares:
        db.execute("UPDATE Robots SET EsOnline = 1 WHERE RobotId = ?", (robot,))
        db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado) VALUES (?, ?, 0)", (robot, equipo))
    for robot, value in (parametros or {}).items():
        db.execute("UPDATE Robots SET Parametros = ? WHERE RobotId = ?", (value, robot))
    return aa


def _desplegador(db, aa, clock, alerts=None, mono=None, **kw):
    ajustes = AjustesLanzamiento(
        max_concurrentes=kw.pop("max_concurrentes", 3),
        max_reintentos=kw.pop("max_reintentos", 2),
        vueltas_defecto=kw.pop("vueltas_defecto", 3),
        espera_tras_fallo_seg=kw.pop("espera_tras_fallo_seg", 300),
        url_callback=CALLBACK_URL,
        token_callback=TOKEN,
        intervalo_alertas_min=30,
        backoff_base_seg=0.01,
    )
    return Desplegador(db, aa, ajustes, clock=clock, alerts=alerts, sleep=lambda s: None,
                       monotonic=mono or Reloj(), **kw)


def _ejecuciones(db):
    return db.query("SELECT * FROM Ejecuciones ORDER BY EjecucionId")


def _deploy_calls(sim):
    return [r for r in sim.requests(DEPLOY_PATH)]


def test_L3_2_intent_row_committed_before_deploy(sim, db, clock, tmp_path):
    aa = _prepare(sim, db, clock)
    other = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")  # another connection
    seen = []

    class Espia:
        def __init__(self, inner):
            self.inner = inner

        def deploy(self, file_id, user_id, bot_input, url, headers=None):
            seen.append(other.query("SELECT Estado, DeploymentId, RobotId, EquipoId, UserId FROM Ejecuciones"))
            return self.inner.deploy(file_id, user_id, bot_input, url, headers)

    d = _desplegador(db, Espia(aa), clock)
    res = d.ciclo()
    d.cerrar()
    assert res.desplegados == 1
    assert seen == [[{"Estado": "LANZANDO", "DeploymentId": None, "RobotId": 5100, "EquipoId": 80, "UserId": 700}]]
    (row,) = _ejecuciones(db)
    assert row["Estado"] == "DEPLOYED" and row["DeploymentId"] == sim.deploys()[0]["deploymentId"]
    assert row["FechaInicio"] == clock.now_local() and row["Hora"] is None
    other.close_all()


def test_L5_5_launcher_reports_its_in_flight_intents_until_their_outcome_is_recorded(sim, db, clock):
    aa = _prepare(sim, db, clock)
    seen = []

    class Espia:
        def __init__(self, inner, desplegador_ref):
            self.inner, self.ref = inner, desplegador_ref

        def deploy(self, file_id, user_id, bot_input, url, headers=None):
            seen.append(self.ref[0].en_vuelo())
            return self.inner.deploy(file_id, user_id, bot_input, url, headers)

    ref = []
    d = _desplegador(db, Espia(aa, ref), clock)
    ref.append(d)
    assert d.ciclo().desplegados == 1
    d.cerrar()
    (row,) = _ejecuciones(db)
    assert seen == [frozenset({row["EjecucionId"]})]
    assert d.en_vuelo() == frozenset()


def test_L3_2_deploy_body_typed_input_callback_header(sim, db, clock):
    aa = _prepare(sim, db, clock, pares=((5100, 80), (5101, 81)),
                  parametros={5101: '{"in_Ambiente": "PROD", "in_Lote": 25, "in_Forzar": true, "in_Ratio": 0.5}'})
    d = _desplegador(db, aa, clock, vueltas_defecto=7)
    assert d.ciclo().desplegados == 2
    d.cerrar()
    bodies = {dep["fileId"]: dep["request"] for dep in sim.deploys()}
    assert bodies[5100]["runAsUserIds"] == [700] and bodies[5101]["runAsUserIds"] == [701]
    assert bodies[5100]["botInput"] == {"in_NumRepeticion": {"type": "NUMBER", "number": "7"}}
    assert bodies[5101]["botInput"] == {
        "in_Ambiente": {"type": "STRING", "string": "PROD"},
        "in_Lote": {"type": "NUMBER", "number": "25"},
        "in_Forzar": {"type": "BOOLEAN", "boolean": "true"},
        "in_Ratio": {"type": "NUMBER", "number": "0.5"},
    }
    for body in bodies.values():
        assert body["callbackInfo"] == {"url": CALLBACK_URL, "headers": {"X-Authorization": TOKEN}}
    assert {r["Estado"] for r in _ejecuciones(db)} == {"DEPLOYED"}


def test_L3_3_retriable_errors_retried_then_deployed_once(sim, db, clock):
    aa = _prepare(sim, db, clock)
    sim.configure(rules=[{"match": {"path": DEPLOY_PATH}, "status": 503, "code": "SERVICE_UNAVAILABLE", "times": 1},
                         {"match": {"path": DEPLOY_PATH}, "status": 412, "code": "DEVICE_BUSY",
                          "message": "device is busy", "times": 1}])
    d = _desplegador(db, aa, clock)
    res = d.ciclo()
    d.cerrar()
    assert res.desplegados == 1 and res.resultados[0].intentos == 3
    assert len(_deploy_calls(sim)) == 3 and len(sim.deploys()) == 1
    (row,) = _ejecuciones(db)
    assert row["Estado"] == "DEPLOYED" and row["DeploymentId"] == sim.deploys()[0]["deploymentId"]


def test_L3_3_retries_exhausted_deploy_failed(sim, db, clock):
    aa = _prepare(sim, db, clock)
    sim.configure(rules=[{"match": {"path": DEPLOY_PATH}, "status": 502, "times": 100}])
    alerts = AlertasFalsas()
    d = _desplegador(db, aa, clock, alerts)
    res = d.ciclo()
    d.cerrar()
    assert res.fallidos == 1 and len(_deploy_calls(sim)) == 3  # 1 + LANZADOR_MAX_REINTENTOS_DEPLOY
    (row,) = _ejecuciones(db)
    assert row["Estado"] == "DEPLOY_FAILED" and row["FechaFin"] is not None
    assert "502" in row["MensajeError"] and "3 intentos" in row["MensajeError"]
    assert len(alerts.enviadas) == 1


def test_L3_3_permanent_error_not_retried_disabled_user(sim, db, clock):
    aa = _prepare(sim, db, clock)
    sim.update("users", 700, disabled=True)  # SAM has not synced it yet
    d = _desplegador(db, aa, clock)
    res = d.ciclo()
    assert res.fallidos == 1 and len(_deploy_calls(sim)) == 1 and not sim.deploys()
    (row,) = _ejecuciones(db)
    assert row["Estado"] == "DEPLOY_FAILED" and "INVALID_ARGUMENT" in row["MensajeError"]
    # L2.3 cool-off: the next cycles do not retry the pair (no retry storm)
    clock.advance(30)
    assert d.ciclo().seleccionados == 0
    d.cerrar()
    assert len(_deploy_calls(sim)) == 1


def test_L3_3_device_not_connected_not_retried(sim, db, clock):
    aa = _prepare(sim, db, clock)
    sim.update("devices", 80, status="DISCONNECTED")
    d = _desplegador(db, aa, clock)
    res = d.ciclo()
    d.cerrar()
    assert res.fallidos == 1 and len(_deploy_calls(sim)) == 1
    assert "DEVICE_NOT_CONNECTED" in _ejecuciones(db)[0]["MensajeError"]


def test_L3_3_device_not_connected_never_retried_even_if_marked_retriable(db, clock):
    from lanzador.clients.aa_client import A360Error
    from lanzador.service.desplegador import es_reintentable

    assert not es_reintentable(A360Error("http", "x", status_code=412, code="DEVICE_NOT_CONNECTED", retriable=True))
    assert es_reintentable(A360Error("transport", "timeout", retriable=True))
    assert not es_reintentable(A360Error("http", "x", status_code=400, code="INVALID_ARGUMENT"))


def test_L3_3_no_compatible_targets_alerted_as_robot_configuration(sim, db, clock):
    aa = _prepare(sim, db, clock)
    sim.update("files", 5100, compatible=False)
    alerts = AlertasFalsas()
    d = _desplegador(db, aa, clock, alerts)
    res = d.ciclo()
    d.cerrar()
    assert res.fallidos == 1 and len(_deploy_calls(sim)) == 1
    assert res.resultados[0].configuracion_robot
    (alert,) = alerts.enviadas
    assert "configuración" in alert.asunto.lower() and "NO_COMPATIBLE_TARGETS" in alert.que_revisar
    assert "CONFIGURACIÓN DEL ROBOT" in alert.cuerpo


def test_L3_2_untypable_parametros_recorded_no_http_call(sim, db, clock):
    aa = _prepare(sim, db, clock, parametros={5100: '{"in_Lista": [1, 2]}'})
    alerts = AlertasFalsas()
    d = _desplegador(db, aa, clock, alerts)
    res = d.ciclo()
    d.cerrar()
    assert res.fallidos == 1 and not _deploy_calls(sim)
    (row,) = _ejecuciones(db)
    assert row["Estado"] == "DEPLOY_FAILED" and "in_Lista" in row["MensajeError"]
    assert len(alerts.enviadas) == 1 and "configuración" in alerts.enviadas[0].asunto.lower()


def test_L3_2_never_deploy_without_a_row(sim, db, clock):
    aa = _prepare(sim, db, clock)

    class SinIntencion:
        """The DB answers the selection but refuses the intent insert."""

        def __init__(self, inner):
            self.inner = inner
            self.engine = inner.engine

        def query(self, *a, **k):
            return self.inner.query(*a, **k)

        def run_in_transaction(self, fn):
            raise DatabaseError("base de datos no disponible", retryable=True)

        def transaction(self):
            raise DatabaseError("base de datos no disponible", retryable=True)

    d = _desplegador(SinIntencion(db), aa, clock)
    res = d.ciclo()
    d.cerrar()
    assert res.seleccionados == 1 and res.sin_intencion == 1
    assert not _deploy_calls(sim) and not _ejecuciones(db)


def test_L3_4_alerts_deduplicated_one_mail_per_cycle(sim, db, clock):
    nombres = Nombres()
    aa = _prepare(sim, db, clock, pares=((5100, 80), (5101, 81), (5102, 82)), nombres=nombres)
    for uid in (700, 701, 702):
        sim.update("users", uid, disabled=True)
    alerts, mono = AlertasFalsas(), Reloj()
    d = _desplegador(db, aa, clock, alerts, mono, espera_tras_fallo_seg=0, nombres=nombres)
    assert d.ciclo().fallidos == 3
    assert len(alerts.enviadas) == 1  # one summary e-mail for three failures
    # robots, equipos and users by name with the id in brackets (names from the sync's rows)
    robot = {r["RobotId"]: r["Robot"] for r in db.query("SELECT RobotId, Robot FROM Robots")}
    equipo = {r["EquipoId"]: (r["Equipo"], r["UserName"]) for r in db.query("SELECT * FROM Equipos")}
    for r, e, u in ((5100, 80, 700), (5101, 81, 701), (5102, 82, 702)):
        linea = f"- robot {robot[r]} ({r}), equipo {equipo[e][0]} ({e}), usuario {equipo[e][1]} ({u})"
        assert linea in alerts.enviadas[0].cuerpo, alerts.enviadas[0].cuerpo
    assert "Robot 5100" not in alerts.enviadas[0].cuerpo
    for _ in range(3):  # same failures again and again: no more e-mails
        clock.advance(20)
        mono.t += 20
        assert d.ciclo().fallidos == 3
    assert len(alerts.enviadas) == 1
    # a different error kind on one pair is new
    sim.update("users", 700, disabled=False)
    sim.update("files", 5100, compatible=False)
    clock.advance(20)
    assert d.ciclo().fallidos == 3
    assert len(alerts.enviadas) == 2 and f"robot {robot[5100]} (5100)" in alerts.enviadas[1].cuerpo
    assert "(5101)" not in alerts.enviadas[1].cuerpo
    # after EMAIL_INTERVALO_REPETICION_MIN the same failures are alerted again, still one mail
    mono.t += 31 * 60
    clock.advance(20)
    d.ciclo()
    d.cerrar()
    assert len(alerts.enviadas) == 3


def test_L3_1_pool_created_once_and_bounded(sim, db, clock):
    pares = tuple((5100 + i, 80 + i) for i in range(4))
    aa = _prepare(sim, db, clock, pares=pares)
    threads, lock = set(), threading.Lock()

    class Hilos:
        def __init__(self, inner):
            self.inner = inner

        def deploy(self, *a, **k):
            with lock:
                threads.add(threading.current_thread().name)
            return self.inner.deploy(*a, **k)

    d = _desplegador(db, Hilos(aa), clock, max_concurrentes=2)
    pool = d._pool
    assert d.ciclo().desplegados == 4
    sim.advance(3600)  # runs end
    for row in _ejecuciones(db):
        db.execute("UPDATE Ejecuciones SET Estado = 'RUN_COMPLETED', FechaFin = ? WHERE EjecucionId = ?",
                   (clock.now_local(), row["EjecucionId"]))
    clock.advance(60)
    assert d.ciclo().desplegados == 4
    assert d._pool is pool
    d.cerrar()
    assert 1 <= len(threads) <= 2 and all(t.startswith("lanzador-deploy") for t in threads)


def test_L3_test_hook_pauses_after_intent(sim, db, clock, monkeypatch):
    aa = _prepare(sim, db, clock)
    monkeypatch.setenv("SAM_TEST_PAUSA_TRAS_INTENCION_SEG", "0.01")
    d = _desplegador(db, aa, clock)
    assert d.ciclo().desplegados == 1
    d.cerrar()


class Ambiguo:
    """Deploy wrapper: raises a transport error (read timeout) on chosen calls, optionally after the
    real deploy went through (A360 accepted it but the answer was lost)."""

    def __init__(self, inner, *, accepted_then_lost=(), lost=(), activity_fails=False):
        self.inner, self.n = inner, 0
        self.accepted_then_lost, self.lost = set(accepted_then_lost), set(lost)
        self.activity_fails = activity_fails

    def deploy(self, *a, **k):
        from lanzador.clients.aa_client import A360Error

        self.n += 1
        if self.n in self.lost:
            raise A360Error("transport", "tiempo de lectura agotado", retriable=True)
        dep = self.inner.deploy(*a, **k)
        if self.n in self.accepted_then_lost:
            raise A360Error("transport", "tiempo de lectura agotado", retriable=True)
        return dep

    def activity_by_device(self, device_id, since_utc):
        if self.activity_fails:
            from lanzador.clients.aa_client import A360Error

            raise A360Error("http", "503", status_code=503, retriable=True)
        return self.inner.activity_by_device(device_id, since_utc)


def test_L3_3_timeout_hiding_an_accepted_deploy_is_adopted_not_redeployed(sim, db, clock):
    aa = _prepare(sim, db, clock)
    d = _desplegador(db, Ambiguo(aa, accepted_then_lost={1}), clock)
    res = d.ciclo()
    d.cerrar()
    assert res.desplegados == 1
    (dep,) = sim.deploys()  # never deployed twice
    (row,) = _ejecuciones(db)
    assert row["Estado"] == "DEPLOYED" and row["DeploymentId"] == dep["deploymentId"]


def test_L3_3_timeout_not_accepted_is_retried(sim, db, clock):
    aa = _prepare(sim, db, clock)
    d = _desplegador(db, Ambiguo(aa, lost={1}), clock)
    res = d.ciclo()
    d.cerrar()
    assert res.desplegados == 1 and res.resultados[0].intentos == 2 and len(sim.deploys()) == 1


def test_L3_3_unknown_outcome_left_lanzando_for_the_conciliador(sim, db, clock):
    aa = _prepare(sim, db, clock)
    alerts = AlertasFalsas()
    d = _desplegador(db, Ambiguo(aa, lost={1, 2, 3}), clock, alerts)
    res = d.ciclo()
    assert res.inciertos == 1 and not sim.deploys()
    assert _ejecuciones(db)[0]["Estado"] == "LANZANDO"  # L5.5 adopts or fails it; never DEPLOY_FAILED blindly
    assert not alerts.enviadas
    d2 = _desplegador(db, Ambiguo(aa, lost={1}, activity_fails=True), clock)
    db.execute("UPDATE Ejecuciones SET Estado = 'DEPLOY_FAILED', FechaFin = ? ", (clock.now_local(),))
    clock.advance(600)
    res = d2.ciclo()
    assert res.inciertos == 1 and res.resultados[0].intentos == 1  # cannot check: no blind retry
    d.cerrar()
    d2.cerrar()


def test_L3_3_deployed_but_record_failed_is_written_next_cycle_never_redeployed(sim, db, clock):
    """A360 accepted the deploy but the DB failed on mark_deployed: the row stays LANZANDO (equipo
    busy, nothing relaunched) and the launcher writes the known deploymentId at its next cycle, so the
    row never depends on the Conciliador's by-device inference."""
    aa = _prepare(sim, db, clock)

    class FallaAlRegistrar:
        """The second transaction (mark_deployed, after the intent insert) fails while ``roto``."""

        def __init__(self, inner):
            self.inner, self.engine, self.n, self.roto = inner, inner.engine, 0, True

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def run_in_transaction(self, fn):
            self.n += 1
            if self.roto and self.n == 2:
                raise DatabaseError("conexión perdida", retryable=True)
            return self.inner.run_in_transaction(fn)

    fdb = FallaAlRegistrar(db)
    d = _desplegador(fdb, aa, clock)
    res = d.ciclo()
    assert res.inciertos == 1
    (row,) = _ejecuciones(db)
    assert row["Estado"] == "LANZANDO" and row["DeploymentId"] is None
    fdb.roto = False
    clock.advance(15)
    assert d.ciclo().seleccionados == 0  # the equipo is busy with the recorded deployment
    d.cerrar()
    (dep,) = sim.deploys()
    (row,) = _ejecuciones(db)
    assert row["Estado"] == "DEPLOYED" and row["DeploymentId"] == dep["deploymentId"]


def test_L3_3_record_failed_is_written_at_shutdown(sim, db, clock):
    aa = _prepare(sim, db, clock)

    class FallaUnaVez:
        def __init__(self, inner):
            self.inner, self.engine, self.n = inner, inner.engine, 0

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def run_in_transaction(self, fn):
            self.n += 1
            if self.n == 2:
                raise DatabaseError("conexión perdida", retryable=True)
            return self.inner.run_in_transaction(fn)

    d = _desplegador(FallaUnaVez(db), aa, clock)
    assert d.ciclo().inciertos == 1
    d.cerrar()
    (row,) = _ejecuciones(db)
    assert row["Estado"] == "DEPLOYED" and row["DeploymentId"] == sim.deploys()[0]["deploymentId"]


class AceptadoConRetraso:
    """Attempt 1 is accepted by A360 but its answer is lost (read timeout) and the activity list
    lags (the first look finds nothing); later attempts get 412 DEVICE_BUSY, the device running
    the first deployment."""

    def __init__(self, inner):
        self.inner, self.n, self.looks = inner, 0, 0

    def deploy(self, *a, **k):
        from lanzador.clients.aa_client import A360Error

        self.n += 1
        if self.n == 1:
            self.inner.deploy(*a, **k)
            raise A360Error("transport", "tiempo de lectura agotado", retriable=True)
        raise A360Error("http", "A360 POST /v3/automations/deploy respondió HTTP 412 (código DEVICE_BUSY)",
                        status_code=412, code="DEVICE_BUSY", retriable=True)

    def activity_by_device(self, device_id, since_utc):
        self.looks += 1
        if self.looks == 1:
            return []
        return self.inner.activity_by_device(device_id, since_utc)


def test_L3_3_earlier_ambiguous_attempt_is_looked_up_again_before_failing(sim, db, clock):
    """Never DEPLOY_FAILED (equipo free, relaunch later) over a deployment A360 accepted: when an
    earlier attempt was ambiguous, the final failure looks in A360 again and adopts what it finds."""
    aa = _prepare(sim, db, clock)
    alerts = AlertasFalsas()
    d = _desplegador(db, AceptadoConRetraso(aa), clock, alerts)
    res = d.ciclo()
    d.cerrar()
    (dep,) = sim.deploys()
    assert res.desplegados == 1 and res.resultados[0].intentos == 3
    (row,) = _ejecuciones(db)
    assert row["Estado"] == "DEPLOYED" and row["DeploymentId"] == dep["deploymentId"]
    assert not alerts.enviadas


def test_L3_3_earlier_ambiguous_attempt_not_found_leaves_row_for_the_conciliador(sim, db, clock):
    aa = _prepare(sim, db, clock)

    class SiempreRetrasado(AceptadoConRetraso):
        def activity_by_device(self, device_id, since_utc):
            return []

    d = _desplegador(db, SiempreRetrasado(aa), clock)
    res = d.ciclo()
    d.cerrar()
    assert res.inciertos == 1 and len(sim.deploys()) == 1
    (row,) = _ejecuciones(db)
    assert row["Estado"] == "LANZANDO" and row["FechaFin"] is None  # equipo stays busy; L5.5 decides


def test_L3_3_retry_after_honoured_up_to_60_s(db, clock):
    """A360_API §6 row 3: a 429's Retry-After is honoured, capped at 60 s (retrying earlier only
    earns another 429); without it the backoff is exponential and bounded."""
    from lanzador.clients.aa_client import A360Error
    from lanzador.service.desplegador import clasificar
    from lanzador.service.reintentos import espera_reintento

    d = _desplegador(db, object(), clock)
    try:
        def err(ra):
            return clasificar(A360Error("http", "429", status_code=429, retriable=True, retry_after=ra))

        ajustes = d.ajustes_reintento
        assert espera_reintento(1, err(45), ajustes) == 45
        assert espera_reintento(1, err(600), ajustes) == 60
        assert espera_reintento(1, err(None), ajustes) == d.ajustes.backoff_base_seg
        assert espera_reintento(30, err(None), ajustes) == d.ajustes.backoff_max_seg
    finally:
        d.cerrar()


class DosXXIlegible:
    """A360 accepts the deploy (2xx) but the answer is unusable (no JSON / no deploymentId)."""

    def __init__(self, inner, *, lag=False):
        self.inner, self.lag, self.n = inner, lag, 0

    def deploy(self, *a, **k):
        from lanzador.clients.aa_client import A360Error

        self.n += 1
        self.inner.deploy(*a, **k)
        raise A360Error("protocol", "A360 POST /v3/automations/deploy: respuesta 2xx sin 'deploymentId'",
                        status_code=201)

    def activity_by_device(self, device_id, since_utc):
        return [] if self.lag else self.inner.activity_by_device(device_id, since_utc)


def test_L3_3_2xx_without_deployment_id_is_adopted_not_failed(sim, db, clock):
    """A 2xx means A360 took the deploy: recording DEPLOY_FAILED would free a busy equipo (double
    launch later). The run is looked up and adopted, never deployed again."""
    aa = _prepare(sim, db, clock)
    alerts = AlertasFalsas()
    wrapper = DosXXIlegible(aa)
    d = _desplegador(db, wrapper, clock, alerts)
    res = d.ciclo()
    d.cerrar()
    (dep,) = sim.deploys()
    assert res.desplegados == 1 and wrapper.n == 1
    (row,) = _ejecuciones(db)
    assert row["Estado"] == "DEPLOYED" and row["DeploymentId"] == dep["deploymentId"]


def test_L3_3_2xx_without_deployment_id_not_yet_visible_left_lanzando(sim, db, clock):
    aa = _prepare(sim, db, clock)
    wrapper = DosXXIlegible(aa, lag=True)
    d = _desplegador(db, wrapper, clock)
    res = d.ciclo()
    d.cerrar()
    assert res.inciertos == 1 and wrapper.n == 1  # not retried: it was accepted
    (row,) = _ejecuciones(db)
    assert row["Estado"] == "LANZANDO" and row["FechaFin"] is None
