"""Operator tasks in a real browser (CONSOLE §5): headless Chromium against a real console process
(the fixtures of tests/test_consola_navegador.py). A cyclic schedule is created and an overlapping
one refused with its conflict list (L7.4); a stuck execution is unlocked (O2.1); launching is paused
and resumed from Estado (C6). Every wait is a WebDriverWait on a condition."""

from __future__ import annotations

import sqlite3

import pytest

from tests.test_consola_navegador import _entrar, _esperar, chromium, consola, navegador  # noqa: F401, F811

pytestmark = [pytest.mark.system]
# ruff: noqa: F811 - the imported fixtures are used as test arguments


def _sql(db, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(db) as con:
        filas = con.execute(sql, params).fetchall()
        con.commit()
        return filas


def _dentro(d, base: str) -> None:
    _entrar(d, base)
    _esperar(d, lambda d: d.current_url.rstrip("/") == base, "Estado tras entrar")


def _poner(d, elemento_id: str, valor: str) -> None:
    """Set an input's value (time / datetime-local inputs do not take typed text the same way in
    every locale)."""
    from selenium.webdriver.common.by import By

    campo = _esperar(d, lambda d: d.find_element(By.ID, elemento_id), elemento_id)
    d.execute_script("arguments[0].value = arguments[1];", campo, valor)


def _nueva_ciclica(d, base: str, robot_id: int, equipo_id: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d.get(base + "/programaciones")
    _poner(d, "p-RobotId", str(robot_id))
    Select(d.find_element(By.ID, "p-TipoProgramacion")).select_by_value("Diaria")
    _poner(d, "p-HoraInicio", "08:00")
    casilla = d.find_element(By.ID, "p-EsCiclico")
    if not casilla.is_selected():
        d.execute_script("arguments[0].checked = true;", casilla)
    _poner(d, "p-HoraFin", "12:00")
    _poner(d, "p-IntervaloEntreEjecuciones", "30")
    equipos = d.find_element(By.ID, "p-EquipoId")
    if equipos.tag_name == "select":
        Select(equipos).select_by_value(str(equipo_id))
    else:
        _poner(d, "p-EquipoId", str(equipo_id))
    d.find_element(By.ID, "p-guardar").click()


def test_L7_4_a_cyclic_schedule_is_created_and_an_overlapping_one_refused_with_the_conflicts(navegador, consola):
    from selenium.webdriver.common.by import By

    base, db = consola
    _sql(db, "INSERT INTO Robots (RobotId, Robot) VALUES (900001, 'NAV_Ciclico_A'), (900002, 'NAV_Ciclico_B')")
    _sql(db, "INSERT INTO Equipos (EquipoId, Equipo) VALUES (900001, 'VMNAV01')")
    d = navegador
    _dentro(d, base)
    _nueva_ciclica(d, base, 900001, 900001)
    _esperar(d, lambda d: d.find_elements(By.CSS_SELECTOR, ".aviso-ok"), "programación creada")
    assert _sql(db, "SELECT EsCiclico, IntervaloEntreEjecuciones FROM Programaciones WHERE RobotId = 900001") == [(1, 30)]
    _nueva_ciclica(d, base, 900002, 900001)
    rechazo = _esperar(d, lambda d: d.find_elements(By.ID, "rechazo"), "rechazo por solape")[0]
    conflictos = rechazo.find_elements(By.CSS_SELECTOR, "ul.conflictos li")
    assert conflictos and any("NAV_Ciclico_A" in x.text or "VMNAV01" in x.text for x in conflictos), rechazo.text
    assert _sql(db, "SELECT COUNT(*) FROM Programaciones WHERE RobotId = 900002") == [(0,)]


def test_O2_1_unlocking_an_execution_closes_it_with_the_reason_and_frees_its_equipo(navegador, consola):
    from selenium.webdriver.common.by import By

    base, db = consola
    _sql(db, "INSERT INTO Equipos (EquipoId, Equipo) VALUES (900010, 'VMNAV10')")
    _sql(db, "INSERT INTO Ejecuciones (RobotId, EquipoId, DeploymentId, Estado, FechaInicio) "
             "VALUES (1, 900010, 'dep-nav-atascada', 'RUNNING', '2026-01-01 08:00:00')")
    (eid,) = _sql(db, "SELECT EjecucionId FROM Ejecuciones WHERE DeploymentId = 'dep-nav-atascada'")[0]
    d = navegador
    _dentro(d, base)
    d.get(f"{base}/ejecuciones/{eid}")
    motivo = _esperar(d, lambda d: d.find_element(By.ID, "d-motivo"), "formulario destrabar")
    motivo.send_keys("VM reiniciada por sistemas")
    d.find_element(By.ID, "d-destrabar").click()
    _esperar(d, lambda d: d.find_elements(By.CSS_SELECTOR, ".aviso-ok"), "ejecución destrabada")
    ((estado, mensaje),) = _sql(db, "SELECT Estado, MensajeError FROM EjecucionesTodas WHERE EjecucionId = ?", (eid,))
    assert estado == "RUN_ABORTED" and "VM reiniciada por sistemas" in mensaje
    assert "RUN_ABORTED" in d.page_source
    abiertas = _sql(db, "SELECT COUNT(*) FROM EjecucionesActivas WHERE EquipoId = 900010")
    assert abiertas == [(0,)]


def test_C6_pause_and_resume_from_estado(navegador, consola):
    from selenium.webdriver.common.by import By

    base, db = consola
    d = navegador
    _dentro(d, base)
    # Estado reloads itself: set the date and press the button inside one page (a reload between the
    # two would make the button stale and lose the date), retried whole until it is sent
    _esperar(d, lambda d: d.execute_script(
        "const h = document.getElementById('pausa-hasta'), b = document.getElementById('pausa-pausar');"
        "if (!h || !b) { return false; } h.value = arguments[0]; b.click(); return true;", "2099-12-31T23:00"),
        "pausa enviada")
    _esperar(d, lambda d: "pausa manual hasta" in d.page_source, "pausa en Estado")  # page auto-refreshes
    assert _sql(db, "SELECT Valor FROM ConfiguracionSistema WHERE Clave = 'LANZADOR_PAUSA_MANUAL_HASTA'") == [
        ("2099-12-31 23:00:00",)]
    d.get(base + "/")  # a fresh page: the auto-refresh replaces elements
    _esperar(d, lambda d: d.find_element(By.ID, "pausa-reanudar").click() or True, "botón reanudar pulsado")
    _esperar(d, lambda d: "Lanzamientos activos" in d.page_source, "pausa retirada")
    assert _sql(db, "SELECT Valor FROM ConfiguracionSistema WHERE Clave = 'LANZADOR_PAUSA_MANUAL_HASTA'") == []
