"""The start-up LANZANDO recovery (L5.5) runs once per process and its counts are what it wrote
(issue 14: the launch job's pre-cycle recovery and the first conciliation round used to run it at
the same time — one thread adopted a row while the other failed it, and the summary said
``{'adoptadas': 0, 'fallidas': 3}`` for three adoptions).

Real parts: the Control Room simulator over HTTP (manual clock) and SQLite."""

from __future__ import annotations

import threading

import pytest

from common.database import ejecuciones as E
from tests.test_conciliador_sim import BOT, DEVICES, Env


class ActividadLenta:
    """Wraps the A360 client: counts the device-activity reads and holds each one until both
    recoveries are inside it (or a short deadline passes), so the two overlap as at start-up."""

    def __init__(self, aa, partes: int):
        self.aa = aa
        self.llamadas: list[int] = []
        self._barrera = threading.Barrier(partes, timeout=2.0)
        self._lock = threading.Lock()

    def activity_by_device(self, device_id, since_utc):
        with self._lock:
            self.llamadas.append(int(device_id))
        try:
            self._barrera.wait()
        except threading.BrokenBarrierError:
            pass  # the other recovery is waiting for the lock: the fix at work
        return self.aa.activity_by_device(device_id, since_utc)

    def __getattr__(self, name):
        return getattr(self.aa, name)


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path)
    yield e
    e.close()


def _tres_sin_registrar(env):
    """Three crashes between the deploy and its record: A360 runs all three, SAM has LANZANDO."""
    lanzadas = [env.launch(device=d, record=False) for d in (80, 81, 82)]
    env.advance(121)  # past LANZADOR_LANZANDO_TIMEOUT_SEG = 120
    return lanzadas


def test_L5_5_startup_recovery_and_first_round_at_once_adopt_each_row_once_with_true_counts(env):
    lanzadas = _tres_sin_registrar(env)
    env.conc.aa = lenta = ActividadLenta(env.aa, partes=2)
    resultados: dict[str, object] = {}
    errores: list[BaseException] = []

    def correr(nombre, fn):
        try:
            resultados[nombre] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errores.append(exc)

    hilos = [threading.Thread(target=correr, args=("arranque", env.conc.recuperacion_inicial)),
             threading.Thread(target=correr, args=("ronda", env.conc.run_round))]
    for h in hilos:
        h.start()
    for h in hilos:
        h.join(30)
    assert not errores
    for eid, dep in lanzadas:
        row = env.row(eid)
        assert row["DeploymentId"] == dep and row["Estado"] != "DEPLOY_FAILED"
    # one recovery judged the rows: one activity read per equipo, not two
    assert sorted(lenta.llamadas) == [80, 81, 82]
    resumen = {"adoptadas": 3, "fallidas": 0, "pendientes": 0}
    assert resultados["arranque"] == resumen
    # the round either ran the start-up recovery itself (same counts) or found nothing left
    assert resultados["ronda"]["lanzando"] in (resumen, {"adoptadas": 0, "fallidas": 0, "pendientes": 0})
    # later callers get the one run's summary without asking A360 again
    assert env.conc.recuperacion_inicial() == resumen
    assert sorted(lenta.llamadas) == [80, 81, 82]


def test_L5_5_two_recoveries_at_once_never_count_a_row_twice(env):
    _tres_sin_registrar(env)
    env.conc.aa = ActividadLenta(env.aa, partes=2)
    sumas: list[dict] = []
    hilos = [threading.Thread(target=lambda: sumas.append(env.conc.recover_lanzando())) for _ in range(2)]
    for h in hilos:
        h.start()
    for h in hilos:
        h.join(30)
    total = {k: sum(s[k] for s in sumas) for k in ("adoptadas", "fallidas", "pendientes")}
    assert total == {"adoptadas": 3, "fallidas": 0, "pendientes": 0}


def test_L5_5_a_row_settled_while_the_recovery_asks_a360_counts_nowhere(env):
    """The launcher records the deployment of a row while the recovery is reading A360: the
    recovery neither fails it nor counts it as failed."""
    eid = E.insert_intent(env.db, robot_id=BOT, equipo_id=83, user_id=DEVICES[83], hora=None, fecha_slot=None,
                          now=env.clock.now_local())
    env.advance(121)
    aa = env.aa

    class Registra:
        def activity_by_device(self, device_id, since_utc):
            acts = aa.activity_by_device(device_id, since_utc)
            E.mark_deployed(env.db, eid, "registrado-por-el-lanzador", env.clock.now_local())
            return acts

        def __getattr__(self, name):
            return getattr(aa, name)

    env.conc.aa = Registra()
    assert env.conc.recover_lanzando() == {"adoptadas": 0, "fallidas": 0, "pendientes": 0}
    row = env.row(eid)
    assert row["Estado"] == "DEPLOYED" and row["DeploymentId"] == "registrado-por-el-lanzador"


def test_L5_5_a_failed_startup_recovery_is_run_again_by_the_next_caller(make_env):
    env = make_env(fault_rates={"/v3/activity/list": {"5xx": 1.0}})
    eid, dep = env.launch(device=80, record=False)
    env.advance(121)
    assert env.conc.recuperacion_inicial() == {"adoptadas": 0, "fallidas": 0, "pendientes": 1}
    # an equipo A360 could not answer for stays pending; the start-up run is done (rows stay LANZANDO,
    # busy) and the rounds carry on with them
    assert env.row(eid)["Estado"] == "LANZANDO"
    env.sim.knobs["fault_rates"] = {}
    assert env.conc.run_round()["lanzando"]["adoptadas"] == 1
    assert env.row(eid)["DeploymentId"] == dep


@pytest.fixture
def make_env(tmp_path):
    made = []

    def make(**knobs):
        e = Env(tmp_path / str(len(made)), **knobs)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()
