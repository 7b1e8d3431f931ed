"""Operator changes in a real browser (CONSOLE §5): headless Chromium against a real console
process (the fixtures of tests/test_consola_navegador.py). Edit a robot from its page; two tabs
editing one robot: the second save is refused showing what changed, and nothing is overwritten."""

from __future__ import annotations

import sqlite3

import pytest

from tests.test_consola_navegador import _entrar, _esperar, chromium, consola, navegador  # noqa: F401, F811

pytestmark = [pytest.mark.system]
# ruff: noqa: F811 - the imported fixtures are used as test arguments


def _max_equipos(db, rid: int) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT MaxEquipos FROM Robots WHERE RobotId = ?", (rid,)).fetchone()[0]


def _guardar(d, valor: str) -> None:
    from selenium.webdriver.common.by import By

    campo = _esperar(d, lambda d: d.find_element(By.ID, "r-MaxEquipos"), "formulario del robot")
    campo.clear()
    campo.send_keys(valor)
    d.find_element(By.ID, "r-guardar").click()


def test_edit_a_robot_and_a_second_tab_saving_a_stale_version_is_refused(navegador, consola):
    from selenium.webdriver.common.by import By

    base, db = consola
    d = navegador
    _entrar(d, base)
    _esperar(d, lambda d: d.current_url.rstrip("/") == base, "Estado tras entrar")
    d.get(base + "/robots/1")
    _esperar(d, lambda d: d.find_element(By.ID, "r-MaxEquipos"), "formulario del robot")
    primera = d.current_window_handle
    d.switch_to.new_window("tab")
    d.get(base + "/robots/1")
    _guardar(d, "7")
    _esperar(d, lambda d: d.find_elements(By.CSS_SELECTOR, ".aviso-ok"), "mensaje de guardado")
    assert _max_equipos(db, 1) == 7
    d.switch_to.window(primera)
    _guardar(d, "9")
    rechazo = _esperar(d, lambda d: d.find_elements(By.ID, "rechazo"), "rechazo por versión")[0]
    assert "cambió después de que usted lo leyera" in rechazo.text and "MaxEquipos" in rechazo.text
    assert "7" in rechazo.find_element(By.CSS_SELECTOR, "table.cambios").text
    assert _max_equipos(db, 1) == 7
