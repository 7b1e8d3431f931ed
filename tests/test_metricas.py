"""M1: the metrics module (bounded labels, A360 call recording, DB error classes, the endpoint and its
settings) and the settings' cross-checks."""

from __future__ import annotations

import logging
import socket
from datetime import datetime

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from common import metricas as M
from common.database import ejecuciones as E
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient, DatabaseError
from common.utils.config_manager import ConfigError, load_config


def _muestra(nombre: str, **etiquetas) -> float:
    valor = M.REGISTRO.get_sample_value(nombre, etiquetas or None)
    return 0.0 if valor is None else valor


def _libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_M1_a360_paths_are_templated_and_states_bounded():
    assert M.plantilla_ruta("/v3/automations/deploy") == "/v3/automations/deploy"
    assert M.plantilla_ruta("/v1/devices/1234/status?x=1") == "/v1/devices/{id}/status"
    assert M.plantilla_ruta("/v3/activity/0b0e2f5e-1c2d-4e5f-8a9b-0c1d2e3f4a5b") == "/v3/activity/{id}"
    assert M.estado_etiqueta("running ") == "RUNNING"
    assert M.estado_etiqueta("RUN_FAILED") == "RUN_FAILED"
    assert M.estado_etiqueta("S" * 40) == "OTRO"


def test_M1_free_text_labels_keep_at_most_the_bound_then_read_otro():
    acotar = M._Acotador(3)
    assert [acotar(v) for v in ("a", "b", "c", "d", "a", "e")] == ["a", "b", "c", "otro", "a", "otro"]


def test_M1_a360_call_recorded_with_status_timeout_and_network_error():
    class Resp:
        status_code = 503

    antes = _muestra("sam_a360_llamada_segundos_count", endpoint="/v2/devices/list", estado="503")
    assert M.llamada_a360("/v2/devices/list", lambda *a, **k: Resp()).status_code == 503
    assert _muestra("sam_a360_llamada_segundos_count", endpoint="/v2/devices/list", estado="503") == antes + 1

    def timeout(*_a, **_k):
        raise requests.exceptions.ReadTimeout("lento")

    def red(*_a, **_k):
        raise requests.exceptions.ConnectionError("caído")

    for fn, estado in ((timeout, "timeout"), (red, "error_red")):
        antes = _muestra("sam_a360_llamada_segundos_count", endpoint="/v2/devices/list", estado=estado)
        with pytest.raises(requests.exceptions.RequestException):
            M.llamada_a360("/v2/devices/list", fn)
        assert _muestra("sam_a360_llamada_segundos_count", endpoint="/v2/devices/list", estado=estado) == antes + 1


def test_M1_database_errors_counted_by_base_and_kind(tmp_path):
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db", max_retries=0)
    ensure_schema(db)
    antes = _muestra("sam_errores_bd_total", base=db.name, tipo="otro")
    with pytest.raises(DatabaseError):
        db.query("SELECT * FROM TablaQueNoExiste")
    assert _muestra("sam_errores_bd_total", base=db.name, tipo="otro") == antes + 1
    antes = _muestra("sam_errores_bd_total", base=db.name, tipo="fila")
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'R1')")
    with pytest.raises(DatabaseError):
        db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'R1')")
    assert _muestra("sam_errores_bd_total", base=db.name, tipo="fila") == antes + 1
    db.close_all()


def test_M1_closure_origins_are_fixed():
    with pytest.raises(ValueError):
        M.cierres("otro")
    for origen in M.ORIGENES_CIERRE:
        assert M.REGISTRO.get_sample_value("sam_cierres_total", {"origen": origen}) is not None


def test_M1_active_executions_by_state_only_while_served(tmp_path):
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(db)
    ahora = datetime(2026, 3, 2, 9, 0)
    for i in range(3):
        eid = E.insert_intent(db, robot_id=1, equipo_id=10 + i, user_id=1, hora=None, fecha_slot=None, now=ahora)
        if i:
            E.mark_deployed(db, eid, f"dep-{i}", ahora)
    M.EJECUCIONES_ACTIVAS.labels("LANZANDO").set(-1)
    M.refrescar_ejecuciones_activas(db)  # not served: no query, nothing changes
    assert _muestra("sam_ejecuciones_activas", estado="LANZANDO") == -1
    puerto = _libre()
    cerrar = M.servir("127.0.0.1", puerto)
    try:
        M.refrescar_ejecuciones_activas(db)
        texto = requests.get(f"http://127.0.0.1:{puerto}/metrics", timeout=10).text
    finally:
        cerrar()
    activas = {s.labels["estado"]: s.value for f in text_string_to_metric_families(texto)
               if f.name == "sam_ejecuciones_activas" for s in f.samples}
    assert activas["LANZANDO"] == 1 and activas["DEPLOYED"] == 2 and activas["RUNNING"] == 0
    db.close_all()


class _Runner:
    def __init__(self):
        self.observadores, self.hooks = [], []

    def observar_tareas(self, fn):
        self.observadores.append(fn)

    def add_shutdown_hook(self, fn):
        self.hooks.append(fn)


def test_M1_busy_metrics_port_is_logged_and_the_service_goes_on(caplog):
    with socket.socket() as ocupado:
        ocupado.bind(("127.0.0.1", 0))
        ocupado.listen()
        puerto = ocupado.getsockname()[1]
        runner = _Runner()
        with caplog.at_level(logging.ERROR, logger="sam.metricas"):
            assert M.instalar(runner, {"LANZADOR_METRICAS_PUERTO": puerto, "METRICAS_HOST": "127.0.0.1"},
                              "lanzador") is False
    assert "LANZADOR_METRICAS_PUERTO" in caplog.text and runner.hooks == []
    assert runner.observadores == [M.tarea]  # job metrics are recorded even without the endpoint


def test_M1_unset_port_serves_nothing():
    runner = _Runner()
    assert M.instalar(runner, {"BALANCEADOR_METRICAS_PUERTO": ""}, "balanceador") is False
    assert runner.hooks == []


CALLBACK_OK = {"SQL_SAM_ENGINE": "sqlite", "CALLBACK_TOKEN": "t" * 20, "CALLBACK_SERVER_PORT": "8008"}


def test_M1_callback_metrics_port_must_differ_from_the_a360_port(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_config("callback", {**CALLBACK_OK, "CALLBACK_METRICAS_PUERTO": "8008"}, tmp_path)
    assert any(p.startswith("CALLBACK_METRICAS_PUERTO:") and "CALLBACK_SERVER_PORT" in p for p in exc.value.problems)
    cfg = load_config("callback", {**CALLBACK_OK, "CALLBACK_METRICAS_PUERTO": "9108"}, tmp_path)
    assert cfg.CALLBACK_METRICAS_PUERTO == 9108 and cfg.METRICAS_HOST == "127.0.0.1" and cfg.SAM_LATIDO_SEG == 15


@pytest.mark.parametrize("valor", ["0", "70000", "abc"])
def test_M1_metrics_port_out_of_bounds_names_the_variable(tmp_path, valor):
    with pytest.raises(ConfigError) as exc:
        load_config("callback", {**CALLBACK_OK, "CALLBACK_METRICAS_PUERTO": valor}, tmp_path)
    assert any(p.startswith("CALLBACK_METRICAS_PUERTO:") for p in exc.value.problems)


def test_H5_latido_interval_bounds(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_config("callback", {**CALLBACK_OK, "SAM_LATIDO_SEG": "0"}, tmp_path)
    assert any(p.startswith("SAM_LATIDO_SEG:") for p in exc.value.problems)
