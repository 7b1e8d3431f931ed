"""A row never stops a cycle (issue 11 item 3): a write the SAM DB refuses for one row alone is
logged with its ids, retried a bounded number of times, then set aside with one alert of its own,
while every other robot keeps launching; only connectivity errors mean "database unavailable".

Real processes (``lanzador/run_lanzador.py``, ``callback/run_callback.py``) against the in-process
Control Room simulator, a SQLite SAM DB and a real SMTP sink, as in test_lanzador_system_procesos."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests

from common.database.sql_client import DatabaseClient, DatabaseError, es_error_de_fila
from demo.simulator import ControlRoomSimulator, generate_state
from demo.simulator.testing import RawA360
from lanzador.service.desplegador import MAX_INTENTOS_FILA
from tests.esperas import esperar
from tests.smtp_sink import SmtpSink
from tests.test_lanzador_system_procesos import TOKEN, Entorno

pytestmark = pytest.mark.system

SEMILLA = 11
#: Pinned so that two simulator starts hand out the same deploymentIds, as the simulator did before
#: its ids got a per-start component: the "restarted with the same seed" case of the issue.
MISMO_ARRANQUE = "arranque-repetido"
#: Refuses every UPDATE of the execution with EjecucionId 1 (a row the database will not take).
TRIGGER_FILA_1 = ("CREATE TRIGGER prueba_rechaza_fila BEFORE UPDATE ON Ejecuciones WHEN OLD.EjecucionId = 1 "
                  "BEGIN SELECT RAISE(ABORT, 'fila rechazada por la prueba'); END")


def _estado():
    return generate_state(files=6, devices=4, users=4, seed=SEMILLA)


def _sim(**knobs):
    base = {"start_delay_s": 0.2, "duration_s": {"dist": "fixed", "value": 1.0},
            "outcomes": {"success": 1.0}, "callback_workers": 4}
    base.update(knobs)
    return ControlRoomSimulator(_estado(), seed=SEMILLA, **base)


@pytest.fixture()
def entornos(tmp_path):
    made = []

    def make(sim, smtp=None, **env):
        if smtp is not None:
            env.update(EMAIL_SMTP_SERVER="127.0.0.1", EMAIL_SMTP_PORT=smtp.port, EMAIL_FROM="sam@example.com",
                       EMAIL_RECIPIENTS="ops@example.com")
        e = Entorno(tmp_path, sim, **env)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


def _asuntos(smtp) -> list[str]:
    return [str(m["Subject"]) for m in smtp.messages]


def _desplegadas(env, robot_id: int) -> int:
    return env.db.query_one("SELECT COUNT(*) AS n FROM Ejecuciones WHERE RobotId = ? AND DeploymentId IS NOT NULL",
                            (robot_id,))["n"]


def _sin_alertas_de_bd(smtp) -> None:
    bd = [a for a in _asuntos(smtp) if "no puede usar la base de datos" in a or "no accesible" in a]
    assert not bd, _asuntos(smtp)


# ---------------------------------------------------------------------------------------------------
def test_duplicate_deployment_id_after_simulator_restart_set_aside_others_keep_launching(entornos):
    """The simulator restarted with the same seed hands out a deploymentId SAM already recorded: the
    launch cycle goes on (the other robot keeps launching), the refused row is retried
    MAX_INTENTOS_FILA cycles, then closed DEPLOY_FAILED with the reason, one alert of its own, no
    "database unavailable" alert, the process alive."""
    with ControlRoomSimulator(_estado(), seed=SEMILLA, clock="manual", run_id=MISMO_ARRANQUE) as antes:
        api = RawA360(antes.url)
        api.login()
        repetido = api.deploy(5100, 700).json()["deploymentId"]  # the first run, before the restart
    with SmtpSink() as smtp, _sim(run_id=MISMO_ARRANQUE) as sim:
        env = entornos(sim, smtp)
        env.online([(5100, 80), (5102, 81)])
        hace_una_hora = datetime.utcnow() - timedelta(hours=1)
        env.db.execute("INSERT INTO Ejecuciones (DeploymentId, RobotId, EquipoId, UserId, FechaInicio, FechaFin, "
                       "Estado, FechaActualizacion) VALUES (?, 5101, 83, 703, ?, ?, 'RUN_COMPLETED', ?)",
                       (repetido, hace_una_hora, hace_una_hora, hace_una_hora))
        env.callback.start()
        env.lanzador.start()
        esperar(lambda: env.db.query_one("SELECT COUNT(*) AS n FROM Ejecuciones WHERE RobotId = 5100 AND "
                                         "Estado = 'DEPLOY_FAILED'")["n"] == 1, 60, que="despliegue repetido apartado")
        antes_5102 = _desplegadas(env, 5102)
        esperar(lambda: _desplegadas(env, 5102) >= antes_5102 + 2, 60, que="el otro robot sigue lanzándose")
        esperar(lambda: [a for a in _asuntos(smtp) if "rechaza" in a], 30, que="alerta de la fila rechazada")
        assert env.lanzador.alive() and env.callback.alive()
        assert env.lanzador.terminate() == 0
        assert env.callback.terminate() == 0
        fallida = env.db.query_one("SELECT * FROM Ejecuciones WHERE RobotId = 5100 AND Estado = 'DEPLOY_FAILED'")
        assert fallida["DeploymentId"] is None and repetido in fallida["MensajeError"]
        assert "rechaza" in fallida["MensajeError"]
        assert [d["fileId"] for d in sim.deploys()].count(5100) == 1  # never deployed twice
        rechazos = [a for a in _asuntos(smtp) if "rechaza" in a]
        assert len(rechazos) == 1 and f"ejecución {fallida['EjecucionId']}" in rechazos[0], _asuntos(smtp)
        _sin_alertas_de_bd(smtp)
        log = env.log()
        assert f"intento 2 de {MAX_INTENTOS_FILA}" in log and "apartado" in log and repetido in log
        assert "Ciclo de lanzamiento sin base de datos SAM" not in log


def test_row_refused_by_a_trigger_launcher_and_conciliador_go_on_one_alert(entornos):
    """Every UPDATE of EjecucionId 1 is refused (a trigger): its deployment cannot be recorded nor
    failed; the launcher sets it aside, the Conciliador's LANZANDO recovery too, one alert in all
    (one key per execution), the other robot keeps launching and the processes stay alive."""
    with SmtpSink() as smtp, _sim() as sim:
        env = entornos(sim, smtp)
        env.online([(5100, 80), (5102, 81)])
        env.db.execute(TRIGGER_FILA_1)
        env.callback.start()
        env.lanzador.start()
        esperar(lambda: "Conciliación: ejecución 1 " in env.log() and "apartada" in env.log(), 90,
                que="la conciliación aparta la fila 1")
        rechazada = env.db.query_one("SELECT * FROM Ejecuciones WHERE EjecucionId = 1")
        otro = 5102 if rechazada["RobotId"] == 5100 else 5100
        antes = _desplegadas(env, otro)
        esperar(lambda: _desplegadas(env, otro) >= antes + 2, 60, que="el otro robot sigue lanzándose")
        assert env.lanzador.alive() and env.callback.alive()
        assert env.lanzador.terminate() == 0
        assert env.callback.terminate() == 0
        assert rechazada["Estado"] == "LANZANDO" and rechazada["DeploymentId"] is None  # nothing written
        rechazos = [a for a in _asuntos(smtp) if "rechaza" in a]
        assert len(rechazos) == 1 and "ejecución 1" in rechazos[0], _asuntos(smtp)
        _sin_alertas_de_bd(smtp)
        log = env.log()
        assert "Despliegue" in log and "de la ejecución 1 apartado" in log
        assert "Ciclo de lanzamiento sin base de datos SAM" not in log
        assert "base de datos SAM no disponible" not in log


def test_callback_whose_row_is_refused_answers_200_recorded_never_503(entornos):
    """A callback whose execution row the DB refuses: 200 ``no_aplicado`` with the callback stored
    (settled, so nothing retries it every round), never a 503 that A360 would redeliver forever;
    the next callback is applied; the server stays up and healthy."""
    with _sim() as sim:
        env = entornos(sim)
        ahora = datetime.utcnow()
        env.db.executemany("INSERT INTO Ejecuciones (EjecucionId, DeploymentId, RobotId, EquipoId, UserId, "
                           "FechaInicio, Estado, FechaActualizacion) VALUES (?, ?, 5100, ?, 700, ?, 'RUNNING', ?)",
                           [(1, "dep-rechazada", 80, ahora, ahora), (2, "dep-buena", 81, ahora, ahora)])
        env.db.execute(TRIGGER_FILA_1)
        env.callback.start()
        url = f"http://127.0.0.1:{env.port}"
        esperar(lambda: _salud(url) == 200, 30, que="servidor de callbacks")

        def enviar(dep):
            return requests.post(f"{url}/api/callback", json={"deploymentId": dep, "status": "RUN_COMPLETED"},
                                 headers={"X-Authorization": TOKEN}, timeout=10)

        malo = enviar("dep-rechazada")
        assert malo.status_code == 200 and malo.json()["estado"] == "no_aplicado", malo.text
        bueno = enviar("dep-buena")
        assert bueno.status_code == 200 and bueno.json()["estado"] == "aplicado", bueno.text
        assert env.callback.alive() and _salud(url) == 200
        assert env.callback.terminate() == 0
        guardados = env.db.query("SELECT DeploymentId, Aplicado FROM CallbacksRecibidos ORDER BY CallbackId")
        assert [(g["DeploymentId"], g["Aplicado"]) for g in guardados] == [("dep-rechazada", 1), ("dep-buena", 1)]
        estados = {r["DeploymentId"]: r["Estado"] for r in env.ejecuciones()}
        assert estados == {"dep-rechazada": "RUNNING", "dep-buena": "RUN_COMPLETED"}


def _salud(url: str) -> int:
    try:
        return requests.get(f"{url}/health", timeout=5).status_code
    except requests.RequestException:
        return 0


def test_classification_per_row_vs_connectivity(tmp_path):
    """Only refusals of one row are per-row; a lost connection or a busy database are not."""
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "c.db")
    db.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
    db.execute("INSERT INTO t VALUES (1, 'x')")
    with pytest.raises(DatabaseError) as duplicado:
        db.execute("INSERT INTO t VALUES (1, 'y')")
    assert es_error_de_fila(duplicado.value)
    db.execute("CREATE TRIGGER r BEFORE UPDATE ON t BEGIN SELECT RAISE(ABORT, 'no'); END")
    with pytest.raises(DatabaseError) as trigger:
        db.execute("UPDATE t SET b = 'z'")
    assert es_error_de_fila(trigger.value)
    assert not es_error_de_fila(DatabaseError("x", retryable=True, connection_lost=True))
    assert not es_error_de_fila(DatabaseError("x", integrity=True, retryable=True))
    assert not es_error_de_fila(RuntimeError("x"))
    db.close_all()


def test_conciliador_batch_with_one_refused_row_others_updated_set_aside_after_three_rounds(tmp_path):
    """In process (simulator, manual clock): the round's batched status update hits a row the DB
    refuses; the batch is written row by row, the other executions are closed, the refused one is
    retried in the next rounds, set aside after MAX_RONDAS_FILA with one alert; never "BD caída"."""
    from lanzador.service.conciliador import ALERT_FILA, MAX_RONDAS_FILA
    from tests.test_conciliador_sim import Env

    env = Env(tmp_path, duration_s={"dist": "fixed", "value": 5})
    try:
        ids = [env.launch(device)[0] for device in (80, 81, 82)]
        env.advance(120)
        env.db.execute(TRIGGER_FILA_1.replace("OLD.EjecucionId = 1", f"OLD.EjecucionId = {ids[0]}"))
        for ronda in range(1, MAX_RONDAS_FILA + 2):
            resultado = env.conc.run_round()
            assert resultado["error"] is None, (ronda, resultado)
            env.advance(10)
        estados = {eid: env.row(eid)["Estado"] for eid in ids}
        assert estados[ids[0]] == "DEPLOYED" and {estados[i] for i in ids[1:]} == {"COMPLETED"}
        assert env.alerts.claves() == [f"{ALERT_FILA}:{ids[0]}"]
        assert env.conc.fallos_bd == 0
    finally:
        env.close()
