"""The Lanzador wiring (lanzador/service/main.py): separate jobs, pause only stops launching (L6),
start-up LANZANDO recovery before the first launch (L5.5), shutdown hooks, bad .env → exit 2."""

from __future__ import annotations

from datetime import datetime, time, timezone

import pytest

from common.clock import FixedClock
from common.utils.config_manager import load_config, load_config_or_exit
from lanzador.service.main import Lanzador
from tests.alertas_falsas import AlertasFalsas

BASE_ENV = {
    "AA_URL": "http://127.0.0.1:9",
    "AA_USER": "svc",
    "AA_PWD": "secreto",
    "AA_URL_CALLBACK": "http://127.0.0.1:9/api/callback",
    "CALLBACK_TOKEN": "token-de-prueba-0123456789",
    "SQL_SAM_ENGINE": "sqlite",
}


class Runner:
    def __init__(self):
        import threading

        self.jobs, self.hooks = {}, []
        self.stop_event = threading.Event()

    def add_job(self, name, interval_s, fn, *, run_at_start=True, solo_lider=False):
        self.jobs[name] = (interval_s, fn)
        self.solo_lider = {**getattr(self, "solo_lider", {}), name: solo_lider}

    def add_shutdown_hook(self, fn):
        self.hooks.append(fn)


class AA:
    def __init__(self):
        self.calls = []

    def list_devices(self):
        self.calls.append("list_devices")
        return []

    def list_users(self, ids):
        return []

    def list_taskbots(self):
        self.calls.append("list_taskbots")
        return []

    def logout(self):
        self.calls.append("logout")


class Conciliador:
    def __init__(self, fail_first=False):
        self.calls = []
        self.fail_first = fail_first

    def recover_lanzando(self):
        self.calls.append("recover_lanzando")
        if self.fail_first:
            self.fail_first = False
            raise RuntimeError("A360 caído")
        return {"adoptadas": 0, "fallidas": 0, "pendientes": 0}

    def recuperacion_inicial(self):
        return self.recover_lanzando()

    def run_round(self):
        self.calls.append("run_round")
        return {}


def _lanzador(db, conciliador, **env):
    cfg = load_config("lanzador", environ={**BASE_ENV, **env})
    clock = FixedClock(datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc), "UTC")
    aa = AA()
    lz = Lanzador(cfg, db=db, aa=aa, clock=clock, conciliador=conciliador)
    ciclos = []
    lz.desplegador.ciclo = lambda: ciclos.append(clock.now_local())  # type: ignore[method-assign]
    return lz, aa, clock, ciclos


def test_L6_jobs_registered_separately_with_their_intervals(db):
    lz, _, _, _ = _lanzador(db, Conciliador(), LANZADOR_INTERVALO_LANZADOR_SEG="7",
                            LANZADOR_INTERVALO_CONCILIADOR_SEG="11", LANZADOR_INTERVALO_SYNC_TABLAS_SEG="13")
    runner = Runner()
    lz.registrar(runner)
    assert {k: v[0] for k, v in runner.jobs.items()} == {
        "sincronizacion": 13, "lanzamiento": 7, "conciliacion": 11, "mantenimiento": 60,
        "solicitudes": 1.0,  # L8.2: operator requests, seen within a second
    }
    assert lz.desplegador.stop_event is runner.stop_event
    assert lz.mantenimiento.stop_event is runner.stop_event
    assert all(runner.solo_lider.values())  # H2: every one of them is the leader's work
    lz.cerrar()


def test_L5_5_recovery_runs_before_the_first_launch_and_until_it_succeeds(db):
    conc = Conciliador(fail_first=True)
    lz, _, _, ciclos = _lanzador(db, conc)
    lz.job_lanzamiento()  # recovery fails: nothing launched
    assert conc.calls == ["recover_lanzando"] and ciclos == []
    lz.job_lanzamiento()
    lz.job_lanzamiento()
    assert conc.calls == ["recover_lanzando", "recover_lanzando"]  # once it succeeded, never again here
    assert len(ciclos) == 2
    lz.job_conciliacion()
    assert conc.calls[-1] == "run_round"
    lz.cerrar()


def test_L6_pause_stops_launching_only(db):
    conc = Conciliador()
    lz, aa, clock, ciclos = _lanzador(db, conc, LANZADOR_PAUSA_INICIO_HHMM="11:00", LANZADOR_PAUSA_FIN_HHMM="13:00")
    assert lz.pausa.inicio == time(11, 0)
    lz.job_lanzamiento()
    lz.job_sincronizacion()
    lz.job_conciliacion()
    assert ciclos == []
    assert "list_devices" in aa.calls and "list_taskbots" in aa.calls
    assert conc.calls == ["run_round"]
    clock.advance(3600)  # 13:00: out of the window
    lz.job_lanzamiento()
    assert len(ciclos) == 1 and conc.calls == ["run_round", "recover_lanzando"]
    lz.cerrar()


def test_shutdown_hook_closes_pool_logs_out_and_closes_db(db):
    lz, aa, _, _ = _lanzador(db, Conciliador())
    runner = Runner()
    lz.registrar(runner)
    (hook,) = runner.hooks
    hook()
    assert aa.calls[-1] == "logout"
    assert lz.desplegador._pool._shutdown


def test_bad_value_in_lanzador_env_file_exits_2_naming_it(tmp_path, capsys):
    (tmp_path / "lanzador").mkdir()
    env_file = "\n".join(f"{k}={v}" for k, v in BASE_ENV.items())
    (tmp_path / "lanzador" / ".env").write_text(env_file + "\nLANZADOR_MAX_LANZAMIENTOS_CONCURRENTES=diez\n",
                                                encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        load_config_or_exit("lanzador", environ={}, root=tmp_path)
    assert exc.value.code == 2
    assert "LANZADOR_MAX_LANZAMIENTOS_CONCURRENTES" in capsys.readouterr().err


def test_C_db_unreachable_alerted_after_n_cycles_then_recovery(db):
    from common.database.sql_client import DatabaseError

    cfg = load_config("lanzador", environ={**BASE_ENV, "SAM_FALLOS_CONSECUTIVOS_ALERTA": "3"})
    clock = FixedClock(datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc), "UTC")
    alerts = AlertasFalsas()
    lz = Lanzador(cfg, db=db, aa=AA(), clock=clock, alerts=alerts, conciliador=Conciliador())
    broken = {"on": True}

    def ciclo():
        if broken["on"]:
            raise DatabaseError("base de datos no disponible", retryable=True)

    lz.desplegador.ciclo = ciclo  # type: ignore[method-assign]
    for _ in range(2):
        lz.job_lanzamiento()
    assert alerts.claves() == []
    for _ in range(3):
        lz.job_lanzamiento()
    assert alerts.claves() == ["bd_sam"]  # once, at the 3rd consecutive failure
    broken["on"] = False
    lz.job_lanzamiento()
    lz.job_lanzamiento()
    assert alerts.claves_recuperadas() == ["bd_sam"]
    lz.cerrar()


def test_L3_launch_settings_come_straight_from_the_validated_config():
    from lanzador.service.desplegador import AjustesLanzamiento

    cfg = load_config("lanzador", environ={
        **BASE_ENV, "LANZADOR_MAX_LANZAMIENTOS_CONCURRENTES": "4", "LANZADOR_MAX_REINTENTOS_DEPLOY": "1",
        "LANZADOR_BOT_INPUT_VUELTAS": "5", "LANZADOR_ESPERA_TRAS_FALLO_SEG": "60",
        "CONCILIADOR_TOLERANCIA_UNKNOWN_MIN": "90", "EMAIL_INTERVALO_REPETICION_MIN": "45"})
    aj = AjustesLanzamiento.from_config(cfg)
    assert (aj.max_concurrentes, aj.max_reintentos, aj.vueltas_defecto, aj.espera_tras_fallo_seg,
            aj.tolerancia_unknown_min, aj.intervalo_alertas_min) == (4, 1, 5, 60, 90, 45.0)
    assert aj.url_callback == BASE_ENV["AA_URL_CALLBACK"]
    assert aj.token_callback == BASE_ENV["CALLBACK_TOKEN"]
    sin_token = load_config("lanzador", environ={**BASE_ENV, "CALLBACK_TOKEN": "", "CALLBACK_AUTH_MODE": "none"})
    assert AjustesLanzamiento.from_config(sin_token).token_callback is None
