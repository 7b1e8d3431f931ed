"""The console in a real browser (CONSOLE §5): headless Chromium and chromedriver from Debian's
packages, driven by selenium, against a real console process (``python -m consola``, waitress) on a
seeded SQLite SAM DB with an administrator created by the ``usuarios`` CLI.

Flows: sign in (a wrong password is refused on the login page, the right one lands on Estado), Estado
shows the services' heartbeats and the executions running now, a filtered Ejecuciones search (type,
press Enter, only matching rows), and the Balanceador chart (an SVG with the robot's series).

Without ``chromium``/``chromium-driver`` (or selenium) the tests skip naming the Debian packages;
under ``PRUEBAS_EXIGIR_COMPONENTES=1`` (``.ci/run``) that is a failure. Every wait is a
``WebDriverWait`` on a condition, never a fixed sleep.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from benchmarks import bench_consola as banco
from consola.acceso import MENSAJE_RECHAZO
from tests.componentes import falta

pytestmark = [pytest.mark.system]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
USUARIO = "admin.navegador"
CLAVE = "Navegador-Prueba-2026"
ESPERA = 30  # seconds: generous on a loaded machine


def _binario(ruta: Path, nombre: str) -> str | None:
    return str(ruta) if ruta.is_file() else shutil.which(nombre)


@pytest.fixture(scope="module")
def consola(tmp_path_factory):
    """(base URL, path of the DB) of a real console process on a seeded SQLite DB."""
    carpeta = tmp_path_factory.mktemp("consola_navegador")
    db = carpeta / "sam.db"
    banco.sembrar(db, banco.PEQUENO)
    puerto = banco.puerto_libre()
    env = banco.entorno_consola(db, puerto, carpeta / "logs")
    banco.crear_admin(env, USUARIO, CLAVE)
    proc = banco.arrancar_consola(env, puerto)
    try:
        yield f"http://127.0.0.1:{puerto}", db
    finally:
        banco.parar_consola(proc)


@pytest.fixture(scope="module")
def chromium():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        falta("falta selenium (pip install -r requirements-dev.txt)", modulo=True)
    navegador = _binario(CHROMIUM, "chromium")
    driver = _binario(CHROMEDRIVER, "chromedriver")
    if not navegador or not driver:
        falta("faltan Chromium y su driver: apt-get install chromium chromium-driver", modulo=True)
    opciones = webdriver.ChromeOptions()
    opciones.binary_location = navegador
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1366,900", "--lang=es-ES"):
        opciones.add_argument(arg)
    d = webdriver.Chrome(service=Service(driver), options=opciones)
    d.set_page_load_timeout(120)
    try:
        yield d
    finally:
        d.quit()


@pytest.fixture
def navegador(chromium, consola):
    """The browser, signed out (no cookies of an earlier test)."""
    base, _ = consola
    chromium.get(base + "/login")
    chromium.delete_all_cookies()
    return chromium


def _esperar(d, condicion, que: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(d, ESPERA, poll_frequency=0.1).until(condicion, message=que)


def _entrar(d, base: str, usuario: str = USUARIO, clave: str = CLAVE) -> None:
    from selenium.webdriver.common.by import By

    d.get(base + "/login")
    campo = _esperar(d, lambda d: d.find_element(By.NAME, "Usuario"), "formulario de entrada")
    campo.clear()
    campo.send_keys(usuario)
    d.find_element(By.NAME, "Clave").send_keys(clave)
    d.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()


def _h1(d) -> str:
    from selenium.webdriver.common.by import By

    elementos = d.find_elements(By.TAG_NAME, "h1")
    return elementos[0].text if elementos else ""


def test_sign_in_refuses_a_wrong_password_and_the_right_one_lands_on_estado(navegador, consola):
    from selenium.webdriver.common.by import By

    base, db = consola
    _entrar(navegador, base, clave="no-es-la-clave-1")
    alerta = _esperar(navegador, lambda d: d.find_elements(By.CSS_SELECTOR, "[role=alert]"), "aviso de rechazo")
    assert alerta[0].text == MENSAJE_RECHAZO
    assert navegador.current_url.rstrip("/").endswith("/login")
    assert navegador.find_element(By.NAME, "Usuario").get_attribute("value") == USUARIO
    # still signed out: Estado sends the browser back to the login page
    navegador.get(base + "/")
    _esperar(navegador, lambda d: "/login" in d.current_url, "vuelta a /login sin sesión")

    _entrar(navegador, base)
    _esperar(navegador, lambda d: d.current_url.rstrip("/") == base and _h1(d).startswith("Estado"),
             "la página Estado tras entrar")
    assert USUARIO in navegador.find_element(By.CSS_SELECTOR, ".sesion").text
    con = sqlite3.connect(db)
    try:
        fila = con.execute("SELECT IntentosFallidos, UltimoAcceso FROM UsuariosConsola WHERE Usuario = ?",
                           (USUARIO,)).fetchone()
    finally:
        con.close()
    assert fila[0] == 0 and fila[1] is not None  # the good sign-in reset the failure count

    # logout is a POST from the header's button, back to the login page
    navegador.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
    _esperar(navegador, lambda d: "/login" in d.current_url, "vuelta a /login tras salir")
    navegador.get(base + "/")
    _esperar(navegador, lambda d: "/login" in d.current_url, "sin sesión tras salir")
