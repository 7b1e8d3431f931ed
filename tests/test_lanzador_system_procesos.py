"""System tests: the real Lanzador process (``python lanzador/run_lanzador.py``) and callback server
(``python callback/run_callback.py``) against the in-process Control Room simulator over
real HTTP, a SQLite SAM DB and, where alerts matter, a real SMTP sink. Short intervals; waits are
"until a condition holds or a generous deadline passes", never timing assertions."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.paths import PROJECT_ROOT
from common.utils.config_manager import minimo_lanzando_timeout_seg
from demo.simulator import API_PASSWORD, API_USERNAME, ControlRoomSimulator, generate_state
from tests.esperas import esperar
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.system

LANZADOR = PROJECT_ROOT / "lanzador" / "run_lanzador.py"
CALLBACK = PROJECT_ROOT / "callback" / "run_callback.py"
TOKEN = "token-del-sistema-de-pruebas-0123456789"
DEPLOY = "/v3/automations/deploy"
TERMINALES = ("RUN_COMPLETED", "COMPLETED", "RUN_FAILED", "RUN_ABORTED", "RUN_TIMED_OUT", "DEPLOY_FAILED")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    def __init__(self, script: Path, env: dict, cwd: Path, name: str):
        self.script, self.env, self.cwd, self.name = script, env, cwd, name
        self.out = cwd / f"{name}.salida.log"
        self.p: subprocess.Popen | None = None

    def start(self, **extra_env):
        with self.out.open("ab") as fh:
            self.p = subprocess.Popen([sys.executable, str(self.script)], cwd=self.cwd,
                                      env={**self.env, **extra_env}, stdin=subprocess.DEVNULL,
                                      stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.p is not None and self.p.poll() is None

    def terminate(self, timeout: float = 40.0) -> int:
        assert self.p is not None
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(10)
            raise AssertionError(f"{self.name} no terminó con SIGTERM en {timeout} s") from None

    def kill9(self):
        assert self.p is not None
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(10)

    def output(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace") if self.out.exists() else ""


class Entorno:
    def __init__(self, tmp: Path, sim: ControlRoomSimulator, **env_extra):
        self.tmp, self.sim = tmp, sim
        self.port = _free_port()
        self.db_path = tmp / "sam.db"
        self.db = DatabaseClient(engine="sqlite", sqlite_path=self.db_path)
        ensure_schema(self.db)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SQL_", "AA_", "LANZADOR_", "CALLBACK_",
                                                                         "EMAIL_", "CONCILIADOR_", "SAM_"))},
            "SQL_SAM_ENGINE": "sqlite",
            "SQL_SAM_SQLITE_PATH": str(self.db_path),
            "LOG_DIRECTORY": str(tmp / "logs"),
            "LOG_LEVEL": "INFO",
            "SAM_ZONA_HORARIA": "UTC",
            "AA_URL": sim.url,
            "AA_USER": API_USERNAME,
            "AA_PWD": API_PASSWORD,
            "AA_URL_CALLBACK": f"http://127.0.0.1:{self.port}/api/callback",
            "AA_API_TIMEOUT_SECONDS": "2",
            "CALLBACK_SERVER_HOST": "127.0.0.1",
            "CALLBACK_SERVER_PORT": str(self.port),
            "CALLBACK_TOKEN": TOKEN,
            "EMAIL_SMTP_SERVER": "",
            "LANZADOR_INTERVALO_LANZADOR_SEG": "1",
            "LANZADOR_INTERVALO_CONCILIADOR_SEG": "3",
            "LANZADOR_INTERVALO_SYNC_TABLAS_SEG": "3600",
            "LANZADOR_SHUTDOWN_TIMEOUT_SEG": "15",
            "LANZADOR_ESPERA_TRAS_FALLO_SEG": "300",
            # the smallest the configuration check allows with these settings (L3.5)
            "LANZADOR_LANZANDO_TIMEOUT_SEG": str(minimo_lanzando_timeout_seg(2, 2)),
            "CONCILIADOR_EDAD_MINIMA_SEG": "2",
            "PYTHONUNBUFFERED": "1",
            "PYTHONIOENCODING": "utf-8",
        }
        self.env.update({k: str(v) for k, v in env_extra.items()})
        self.lanzador = Proc(LANZADOR, self.env, tmp, "lanzador")
        self.callback = Proc(CALLBACK, self.env, tmp, "callback")

    def online(self, pares):
        """Operator setup before the first sync: online robots assigned to equipos."""
        robots = sorted({r for r, _ in pares})
        equipos = sorted({e for _, e in pares})
        with self.db.transaction() as tx:
            tx.executemany("INSERT INTO Robots (RobotId, Robot, EsOnline) VALUES (?, ?, 1)",
                           [(r, f"R{r}") for r in robots])
            tx.executemany("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)", [(e, f"VM{e}") for e in equipos])
            tx.executemany("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado) VALUES (?, ?, 0)", list(pares))

    def ejecuciones(self):
        return self.db.query("SELECT * FROM Ejecuciones ORDER BY EjecucionId")

    def log(self) -> str:
        p = self.tmp / "logs" / "sam_lanzador_app.log"
        return p.read_text(encoding="utf-8", errors="replace") if p.exists() else ""

    def close(self):
        for proc in (self.lanzador, self.callback):
            if proc.alive():
                proc.p.kill()
                proc.p.wait(10)
        self.db.close_all()


def _sim(**knobs):
    base = {"start_delay_s": 0.2, "duration_s": {"dist": "fixed", "value": 1.0},
            "outcomes": {"success": 1.0}, "callback_workers": 4}
    base.update(knobs)
    return ControlRoomSimulator(generate_state(files=6, devices=4, users=4, seed=11), seed=11, **base)


@pytest.fixture()
def entorno_factory(tmp_path):
    made = []

    def make(sim, **env):
        e = Entorno(tmp_path, sim, **env)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


def _terminal(rows):
    return [r for r in rows if r["Estado"] in TERMINALES]


# ---------------------------------------------------------------------------------------------------
def test_system_sync_launch_callbacks_terminal_one_per_equipo(entorno_factory):
    """L1 → L2/L3 → L4: online robots launched on their equipos, callbacks close them (FechaFin),
    one execution per equipo at a time, Ejecuciones rows = simulator deploys; SIGTERM → exit 0."""
    with _sim() as sim:
        env = entorno_factory(sim)
        # 3 equipos; equipo 80 has two online robots (they alternate, never together)
        env.online([(5100, 80), (5101, 80), (5102, 81), (5103, 82)])
        env.callback.start()
        env.lanzador.start()
        esperar(lambda: len([r for r in _terminal(env.ejecuciones()) if r["FechaFin"]]) >= 8, 60,
                 que="8 ejecuciones terminadas")
        assert env.lanzador.terminate() == 0
        assert env.callback.terminate() == 0
        sim.wait_idle(10)
        rows = env.ejecuciones()
        deploys = sim.deploys()
        assert len([r for r in rows if r["DeploymentId"]]) == len(deploys)
        assert {r["DeploymentId"] for r in rows if r["DeploymentId"]} == {d["deploymentId"] for d in deploys}
        assert not [r for r in rows if r["Estado"] == "LANZANDO"]  # in-flight deploys recorded at shutdown
        # never sent to a busy equipo: A360 never had to queue a run
        assert not [d for d in deploys if any(s == "QUEUED" for _, s in d["timeline"])]
        for equipo in (80, 81, 82):
            mine = sorted((r for r in rows if r["EquipoId"] == equipo), key=lambda r: r["FechaInicio"])
            assert mine, f"nada lanzado en el equipo {equipo}"
            for prev, nxt in zip(mine, mine[1:], strict=False):
                assert prev["FechaFin"] is not None and nxt["FechaInicio"] >= prev["FechaFin"]
        assert {r["RobotId"] for r in rows if r["EquipoId"] == 80} == {5100, 5101}  # L2.3 idle longest first
        assert "X-Authorization" in deploys[0]["callbackInfo"]["headers"]
        assert TOKEN not in env.log()


def _utc(iso_z: str) -> datetime:
    """The simulator's ISO-8601 UTC text (``...Z``, 6 fractional digits) as an aware datetime."""
    return datetime.fromisoformat(iso_z.replace("Z", "+00:00"))


def _final_states(env, sim, expected_deploys):
    """Run both processes until every deployment reached a terminal state in SAM; stop them."""
    env.callback.start()
    env.lanzador.start()
    esperar(lambda: len(sim.deploys()) >= expected_deploys, 60, que=f"{expected_deploys} despliegues")
    env.db.execute("UPDATE Robots SET EsOnline = 0")  # no more launches: let the last ones finish
    esperar(lambda: all(r["Estado"] in TERMINALES and r["FechaFin"] for r in env.ejecuciones()), 60,
             que="todas las ejecuciones terminales")
    assert env.lanzador.terminate() == 0
    assert env.callback.terminate() == 0
    return {r["DeploymentId"]: r["Estado"] for r in env.ejecuciones()}


def test_system_L5_4_all_callbacks_dropped_conciliador_closes_every_execution(entorno_factory):
    """100 % of callbacks lost: every execution still reaches its terminal state, through the
    Conciliador, within two conciliation periods of its end in A360."""
    outcomes = {"success": 0.6, "RUN_FAILED": 0.4}
    with _sim(callback_drop_rate=1.0, outcomes=outcomes) as sim:
        env = entorno_factory(sim)
        env.online([(5100, 80), (5102, 81)])
        finals = _final_states(env, sim, 4)
        assert env.db.query_one("SELECT COUNT(*) AS n FROM CallbacksRecibidos")["n"] == 0
        a360 = {d["deploymentId"]: d["status"] for d in sim.deploys()}
        assert finals == a360  # the activity list's own terminal value (COMPLETED / RUN_FAILED)
        # FechaFin is A360's own end time (UTC -> SAM_ZONA_HORARIA, here UTC), not the moment of closing
        ended = {d["deploymentId"]: _utc(d["endedAt"]) for d in sim.deploys()}
        for r in env.ejecuciones():
            assert abs((r["FechaFin"].replace(tzinfo=timezone.utc) - ended[r["DeploymentId"]]).total_seconds()) < 0.01


def test_system_L4_3_duplicated_delayed_stale_callbacks_same_final_states(entorno_factory):
    """Duplicates, delays that reorder callbacks and stale RUNNING callbacks after the terminal one
    end in the same states as ordered delivery: A360's outcome for every deployment."""
    outcomes = {"success": 0.5, "RUN_FAILED": 0.25, "RUN_ABORTED": 0.25}
    knobs = {"callback_duplicate_rate": 1.0, "callback_stale_rate": 1.0, "callback_delay_s": [0.0, 1.5],
             "outcomes": outcomes, "callback_success_status": "RUN_COMPLETED"}
    with _sim(**knobs) as sim:
        env = entorno_factory(sim, LANZADOR_INTERVALO_CONCILIADOR_SEG=3600)  # callbacks alone decide
        env.online([(5100, 80), (5101, 81), (5102, 82)])
        finals = _final_states(env, sim, 6)
        sim.wait_idle(10)
        kinds = {c.get("delivery") or c.get("kind") for c in sim.callbacks()}
        assert len(sim.callbacks()) > 2 * len(finals), kinds  # duplicates and stale ones were sent
        expected = {d["deploymentId"]: ("RUN_COMPLETED" if d["status"] == "COMPLETED" else d["status"])
                    for d in sim.deploys()}
        assert finals == expected


def test_system_kill9_after_intent_no_duplicate_deployment(entorno_factory):
    """L3.2/L5.5: killed right after the intent row → no deploy happened; on restart the row is failed
    ("sin confirmación de A360") or adopted, never deployed twice."""
    with _sim(duration_s={"dist": "fixed", "value": 30}) as sim:
        env = entorno_factory(sim, LANZADOR_ESPERA_TRAS_FALLO_SEG="2")
        env.online([(5100, 80)])
        env.lanzador.start(SAM_TEST_PAUSA_TRAS_INTENCION_SEG="60")
        esperar(lambda: [r for r in env.ejecuciones() if r["Estado"] == "LANZANDO"], 30, que="fila LANZANDO")
        env.lanzador.kill9()
        assert sim.deploys() == []
        (killed,) = env.ejecuciones()
        env.lanzador.start()  # restart without the hook
        esperar(lambda: env.db.query_one("SELECT Estado FROM Ejecuciones WHERE EjecucionId = ?",
                                          (killed["EjecucionId"],))["Estado"] != "LANZANDO", 120,
                 que="fila recuperada")
        esperar(lambda: len(sim.deploys()) >= 1, 30, que="relanzamiento tras la espera")
        esperar(lambda: [r for r in env.ejecuciones() if r["DeploymentId"]], 30, que="relanzamiento registrado")
        # Deliberate: a few launch cycles (1 s) and the cool-off (2 s) go by, so that a second
        # deployment to the busy equipo would show up in the assertions below. Nothing to wait for.
        time.sleep(2)
        assert env.lanzador.terminate() == 0
        rows = env.ejecuciones()
        row = next(r for r in rows if r["EjecucionId"] == killed["EjecucionId"])
        assert row["Estado"] == "DEPLOY_FAILED" and "sin confirmación" in (row["MensajeError"] or "")
        deploys = sim.deploys()
        assert len(deploys) == 1  # the 30 s run keeps the equipo busy: exactly one deployment
        assert [r["DeploymentId"] for r in rows if r["DeploymentId"]] == [deploys[0]["deploymentId"]]


def test_system_faults_20_percent_no_lost_or_duplicated_launch(entorno_factory):
    """A360 answering 5xx/429/timeouts on 20 % of calls: every deploy A360 accepted is recorded once,
    every recorded DeploymentId exists in A360, nothing stays LANZANDO."""
    with _sim(fault_rates={"*": {"5xx": 0.12, "429": 0.04, "timeout": 0.04}}, timeout_hold_s=3,
              retry_after_s=0, duration_s={"dist": "fixed", "value": 0.5}) as sim:
        env = entorno_factory(sim, AA_API_TIMEOUT_SECONDS="1", LANZADOR_ESPERA_TRAS_FALLO_SEG="1")
        env.online([(5100, 80), (5101, 81), (5102, 82), (5103, 83)])
        env.callback.start()
        env.lanzador.start()
        esperar(lambda: len(sim.deploys()) >= 12, 90, que="12 despliegues con fallos")
        sim.configure(fault_rates={})
        # rows whose deploy outcome was unknown (timeouts) are resolved by the Conciliador (L5.5)
        esperar(lambda: not [r for r in env.ejecuciones() if r["Estado"] == "LANZANDO"], 120,
                 que="ninguna fila LANZANDO")
        assert env.lanzador.terminate() == 0
        sim.wait_idle(10)
        rows = env.ejecuciones()
        deploys = sim.deploys()
        recorded = [r["DeploymentId"] for r in rows if r["DeploymentId"]]
        assert len(recorded) == len(set(recorded))  # never the same deployment twice
        assert set(recorded) == {d["deploymentId"] for d in deploys}  # none lost
        assert not [r for r in rows if r["Estado"] == "LANZANDO"]
        assert len([r for r in rows if r["Estado"] == "DEPLOY_FAILED"]) == len(rows) - len(recorded)
        faults = [r for r in sim.requests(DEPLOY) if r["status"] >= 500 or r["status"] == 429]
        assert faults, "la prueba no inyectó fallos en el despliegue"
        assert env.callback.terminate() == 0 if env.callback.alive() else True


def test_system_disabled_user_one_deploy_failed_one_alert(entorno_factory):
    """A run-as user disabled in A360 (SAM's sync not yet aware): one DEPLOY_FAILED, one alert e-mail,
    no retry storm across many launch cycles."""
    with SmtpSink() as smtp, _sim() as sim:
        sim.configure(rules=[{"match": {"path": DEPLOY, "userId": 700}, "status": 400, "code": "INVALID_ARGUMENT",
                              "message": "INVALID_ARGUMENT: run-as user 700 is disabled or deleted"}])
        env = entorno_factory(sim, EMAIL_SMTP_SERVER="127.0.0.1", EMAIL_SMTP_PORT=smtp.port,
                              EMAIL_FROM="sam@example.com", EMAIL_RECIPIENTS="ops@example.com")
        env.online([(5100, 80)])
        env.lanzador.start()
        esperar(lambda: [r for r in env.ejecuciones() if r["Estado"] == "DEPLOY_FAILED"], 30, que="DEPLOY_FAILED")
        esperar(lambda: [m for m in smtp.messages if "lanzamiento" in str(m["Subject"]).lower()], 30,
                que="correo de alerta de lanzamiento")
        # Deliberate: several launch cycles (1 s each) go by, to prove that none of them retries the
        # deploy or mails again (no retry storm). Nothing to wait for.
        time.sleep(6)
        assert env.lanzador.terminate() == 0
        rows = env.ejecuciones()
        assert len(rows) == 1 and rows[0]["Estado"] == "DEPLOY_FAILED"
        assert "INVALID_ARGUMENT" in rows[0]["MensajeError"]
        assert len(sim.requests(DEPLOY)) == 1
        lanz = [m for m in smtp.messages if "lanzamiento" in str(m["Subject"]).lower()]
        assert len(lanz) == 1, [str(m["Subject"]) for m in smtp.messages]
        assert str(lanz[0]["Subject"]).startswith("[SAM][")


def test_system_pause_window_no_deploys_sync_and_conciliation_run(entorno_factory):
    """L6: inside the pause window nothing is deployed, but sync and conciliation go on; entering the
    pause is logged once."""
    now = datetime.utcnow()
    inicio = (now - timedelta(hours=1)).strftime("%H:%M")
    fin = (now + timedelta(hours=1)).strftime("%H:%M")
    with _sim() as sim:
        env = entorno_factory(sim, LANZADOR_PAUSA_INICIO_HHMM=inicio, LANZADOR_PAUSA_FIN_HHMM=fin)
        env.online([(5100, 80), (5101, 81)])
        env.db.execute("INSERT INTO Ejecuciones (DeploymentId, RobotId, EquipoId, UserId, FechaInicio, Estado, "
                       "FechaActualizacion) VALUES ('no-existe-en-a360', 5101, 81, 701, ?, 'RUNNING', ?)",
                       (datetime.utcnow() - timedelta(minutes=10), datetime.utcnow() - timedelta(minutes=10)))
        env.lanzador.start()
        esperar(lambda: env.db.query_one("SELECT COUNT(*) AS n FROM Equipos WHERE EstadoA360 = 'CONNECTED'")["n"] >= 4,
                 30, que="sincronización")
        esperar(lambda: (env.db.query_one("SELECT RondasNoEncontrado AS n FROM Ejecuciones "
                                           "WHERE DeploymentId = 'no-existe-en-a360'")["n"] or 0) >= 2,
                 30, que="dos rondas de conciliación")
        # Deliberate: more launch cycles (1 s) go by inside the window, to prove that none deploys
        # and that entering the pause is not logged again. Nothing to wait for.
        time.sleep(2)
        assert env.lanzador.terminate() == 0
        assert sim.deploys() == [] and sim.requests(DEPLOY) == []
        assert sim.requests("/v3/activity/list")
        assert env.log().count("Entrando en la ventana de pausa") == 1


def test_system_bad_setting_exits_2_naming_the_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANZADOR_", "AA_", "CALLBACK_"))}
    env.update({"SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": str(tmp_path / "sam.db"),
                "AA_URL": "http://127.0.0.1:9", "AA_USER": "u", "AA_PWD": "p",
                "AA_URL_CALLBACK": "http://127.0.0.1:9/api/callback", "CALLBACK_TOKEN": TOKEN,
                "LANZADOR_PAUSA_INICIO_HHMM": "25:99", "LANZADOR_PAUSA_FIN_HHMM": "06:00",
                "LOG_DIRECTORY": str(tmp_path / "logs")})
    p = subprocess.run([sys.executable, str(LANZADOR)], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2
    assert "LANZADOR_PAUSA_INICIO_HHMM" in p.stderr
    assert not (tmp_path / "sam.db").exists()  # nothing half-started


def test_system_sigterm_during_deploys_exits_0_and_records_them(entorno_factory):
    """SIGTERM while deploys are in flight (A360 answering after 3 s): the Lanzador stops taking work,
    lets the in-flight deploys finish, records them (DEPLOYED with DeploymentId) and exits 0."""
    with _sim(latency_s={DEPLOY: 3.0}, duration_s={"dist": "fixed", "value": 30}) as sim:
        # the deploy call must outlast A360's 3 s (the environment's 2 s would time it out: L3.5)
        env = entorno_factory(sim, AA_API_TIMEOUT_SECONDS="6",
                              LANZADOR_LANZANDO_TIMEOUT_SEG=str(minimo_lanzando_timeout_seg(6, 2)))
        env.online([(5100, 80), (5101, 81), (5102, 82)])
        env.lanzador.start()
        esperar(lambda: len([r for r in env.ejecuciones() if r["Estado"] == "LANZANDO"]) == 3, 30,
                 que="tres despliegues en curso")
        assert env.lanzador.terminate(timeout=40) == 0
        rows = env.ejecuciones()
        assert len(rows) == 3 and {r["Estado"] for r in rows} == {"DEPLOYED"}
        assert {r["DeploymentId"] for r in rows} == {d["deploymentId"] for d in sim.deploys()}
        assert "Servicio lanzador detenido correctamente" in env.log()
