"""C6: a live setting written from the console or the CLI is judged by the rules of the service that
reads it: the Lanzador's pause window needs both halves, whoever writes it."""

from __future__ import annotations

import pytest

from common.operaciones.ajustes import escribir_ajuste, escribir_ajustes
from common.operaciones.auditoria import Actor
from common.utils.ajustes_vivos import AjusteNoValido
from tests.consola_apoyo import base, config

ADMIN = Actor("admin", "administrador")


def test_C6_half_a_pause_window_is_refused_from_the_console_config_and_nothing_is_written(tmp_path):
    cfg = config(tmp_path)  # the console's settings: the pause window is the Lanzador's
    db = base(tmp_path, cfg)
    with pytest.raises(AjusteNoValido, match="LANZADOR_PAUSA_FIN_HHMM"):
        escribir_ajuste(db, "LANZADOR_PAUSA_INICIO_HHMM", "22:00", ADMIN, cfg=cfg)
    assert db.query("SELECT Clave FROM ConfiguracionSistema") == []
    fila = db.query_one("SELECT Resultado FROM Auditoria ORDER BY AuditoriaId DESC LIMIT 1")
    assert fila["Resultado"] == "rechazado"


def test_C6_both_halves_together_are_accepted_and_then_one_half_may_change(tmp_path):
    cfg = config(tmp_path)
    db = base(tmp_path, cfg)
    escribir_ajustes(db, {"LANZADOR_PAUSA_INICIO_HHMM": "22:00", "LANZADOR_PAUSA_FIN_HHMM": "23:00"}, ADMIN, cfg=cfg)
    escribir_ajuste(db, "LANZADOR_PAUSA_FIN_HHMM", "23:30", ADMIN, cfg=cfg)
    filas = {f["Clave"]: f["Valor"] for f in db.query("SELECT Clave, Valor FROM ConfiguracionSistema")}
    assert filas == {"LANZADOR_PAUSA_INICIO_HHMM": "22:00", "LANZADOR_PAUSA_FIN_HHMM": "23:30"}
    with pytest.raises(AjusteNoValido, match="LANZADOR_PAUSA_INICIO_HHMM"):
        escribir_ajuste(db, "LANZADOR_PAUSA_INICIO_HHMM", "", ADMIN, cfg=cfg)  # deleting one half


def test_C6_a_pause_half_in_the_environment_completes_the_pair(tmp_path):
    cfg = config(tmp_path, LANZADOR_PAUSA_FIN_HHMM="06:00")
    db = base(tmp_path, cfg)
    escribir_ajuste(db, "LANZADOR_PAUSA_INICIO_HHMM", "22:00", ADMIN, cfg=cfg)
    assert db.query_one("SELECT Valor FROM ConfiguracionSistema")["Valor"] == "22:00"
