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


def _esperar(d, condicion, que: str, segundos: float = ESPERA):
    """Poll ``condicion(d)`` until it is truthy. An element that went stale (the page navigated or
    reloaded itself between finding it and reading it: the login redirect, Estado's reload) or is
    not there yet is one more poll, not a failure."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(d, segundos, poll_frequency=0.1,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(
        condicion, message=que)


def _textos(d, css: str, que: str, segundos: float = ESPERA) -> list[str]:
    """The text of every element matching ``css``, found and read in one poll (never a stale read),
    once at least one is there."""
    from selenium.webdriver.common.by import By

    return _esperar(d, lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, css)] or None, que, segundos)


def _entrar(d, base: str, usuario: str = USUARIO, clave: str = CLAVE) -> None:
    from selenium.webdriver.common.by import By

    d.get(base + "/login")
    campo = _esperar(d, lambda d: d.find_element(By.NAME, "Usuario"), "formulario de entrada")
    campo.clear()
    campo.send_keys(usuario)
    d.find_element(By.NAME, "Clave").send_keys(clave)
    d.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()


def _h1(d) -> str:
    """The page's first heading, read inside the page in one call ("" while it is loading): no
    element handle that the next navigation could make stale."""
    from selenium.common.exceptions import JavascriptException

    try:
        return d.execute_script("const h = document.querySelector('h1'); return h ? h.textContent.trim() : '';") or ""
    except JavascriptException:  # the document changed under the script: one more poll
        return ""


def test_sign_in_refuses_a_wrong_password_and_the_right_one_lands_on_estado(navegador, consola):
    from selenium.webdriver.common.by import By

    base, db = consola
    _entrar(navegador, base, clave="no-es-la-clave-1")
    alerta = _textos(navegador, "[role=alert]", "aviso de rechazo")
    assert alerta[0] == MENSAJE_RECHAZO
    assert navegador.current_url.rstrip("/").endswith("/login")
    assert navegador.find_element(By.NAME, "Usuario").get_attribute("value") == USUARIO
    # still signed out: Estado sends the browser back to the login page
    navegador.get(base + "/")
    _esperar(navegador, lambda d: "/login" in d.current_url, "vuelta a /login sin sesión")

    _entrar(navegador, base)
    _esperar(navegador, lambda d: d.current_url.rstrip("/") == base and _h1(d).startswith("Estado"),
             "la página Estado tras entrar")
    assert USUARIO in _textos(navegador, ".sesion", "la sesión en la cabecera")[0]
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


def _consulta(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _ids_enlazados(d, css: str = "table") -> list[int]:
    """Execution ids linked (``/ejecuciones/<id>``) from the rows of the tables matched by ``css``."""
    from selenium.webdriver.common.by import By

    ids = []
    for a in d.find_elements(By.CSS_SELECTOR, f"{css} td a[href^='/ejecuciones/']"):
        ids.append(int(a.get_attribute("href").rstrip("/").rsplit("/", 1)[1]))
    return ids


#: One snapshot of the Estado page taken inside the page (it reloads itself every 30 s, so elements
#: found one by one could belong to two different loads).
_FOTO_ESTADO = """
const tabla = (titulo) => {
  const h = [...document.querySelectorAll('h2')].find(e => e.textContent.trim().startsWith(titulo));
  let t = h && h.nextElementSibling;
  while (t && t.tagName !== 'TABLE' && t.tagName !== 'H2') { t = t.nextElementSibling; }
  if (!t || t.tagName !== 'TABLE') { return {titulo: h ? h.textContent.trim() : null, filas: []}; }
  const filas = [...t.querySelectorAll('tr')].filter(r => r.querySelector('td')).map(r => ({
    clase: r.className, celdas: [...r.querySelectorAll('td')].map(c => c.textContent.trim()),
    ids: [...r.querySelectorAll("a[href^='/ejecuciones/']")].map(a => a.getAttribute('href'))}));
  return {titulo: h.textContent.trim(), filas: filas};
};
return {servicios: tabla('Servicios'), en_curso: tabla('En curso ahora'), fallos: tabla('Fallos de las'),
        texto: document.querySelector('main').textContent};
"""


def test_estado_shows_the_services_heartbeats_and_the_executions_running_now(navegador, consola):
    base, db = consola
    _entrar(navegador, base)
    _esperar(navegador, lambda d: _h1(d).startswith("Estado"), "la página Estado")
    foto = navegador.execute_script(_FOTO_ESTADO)
    por_host = {(f["celdas"][0].split()[0], f["celdas"][2]): f for f in foto["servicios"]["filas"]}
    # the seeded heartbeats, and the console's own (written by the real process)
    assert {("lanzador", "SRVSAM01"), ("lanzador", "SRVSAM02"), ("balanceador", "SRVSAM01"),
            ("callback", "SRVSAM01"), ("callback", "SRVSAM02")} <= set(por_host)
    propias = [f for (servicio, _), f in por_host.items() if servicio == "consola"]
    assert propias and "vivo" in propias[0]["celdas"][0] and "rojo" not in propias[0]["clase"]
    caducado = por_host[("callback", "SRVSAM02")]  # last heartbeat 15 min before the seed: stale = red
    assert "rojo" in caducado["clase"] and "sin latido" in caducado["celdas"][0]
    assert "tiempo de espera agotado" in caducado["celdas"][-1]  # its last error
    # every execution running now is listed, with its robot
    corriendo = _consulta(db, "SELECT x.EjecucionId, r.Robot FROM Ejecuciones x JOIN Robots r ON r.RobotId = x.RobotId "
                              "WHERE x.Estado IN ('RUNNING', 'DEPLOYED') AND x.FechaFin IS NULL")
    assert corriendo
    filas = {int(f["ids"][0].rsplit("/", 1)[1]): f["celdas"] for f in foto["en_curso"]["filas"]}
    assert {i for i, _ in corriendo} <= set(filas)
    assert all(robot == filas[i][1] for i, robot in corriendo)
    # the failures of the last 24 h, grouped, with their messages
    mensajes = {f["celdas"][3] for f in foto["fallos"]["filas"]}
    assert set(banco.MENSAJES) <= mensajes
    # the page reloads itself as an automatic request (it does not count as activity)
    _esperar(navegador, lambda d: "auto=1" in d.current_url and _h1(d).startswith("Estado"), "la recarga automática",
             segundos=30 + 2 * ESPERA)


def test_ejecuciones_search_typed_and_sent_with_enter_shows_only_that_robots_rows(navegador, consola):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, db = consola
    _entrar(navegador, base)
    _esperar(navegador, lambda d: _h1(d).startswith("Estado"), "la página Estado")
    navegador.get(base + "/ejecuciones")
    sin_filtro = set(_esperar(navegador, lambda d: _ids_enlazados(d), "la lista de ejecuciones"))
    robot_id, robot = _consulta(db, "SELECT RobotId, Robot FROM Robots WHERE RobotId = 5")[0]
    esperados = [i for (i,) in _consulta(db, "SELECT EjecucionId FROM EjecucionesTodas WHERE RobotId = ? "
                                             "ORDER BY EjecucionId DESC LIMIT ?", (robot_id, len(sin_filtro)))]
    assert not sin_filtro <= set(esperados)  # without the filter other robots' rows are listed
    campo = navegador.find_element(By.NAME, "robot")
    campo.send_keys(str(robot_id))
    campo.send_keys(Keys.ENTER)
    _esperar(navegador, lambda d: f"robot={robot_id}" in d.current_url, "la búsqueda enviada con Enter")
    # exactly this robot's, newest first (read once the new page is there: no stale rows of the old one)
    assert _esperar(navegador, lambda d: _ids_enlazados(d) if _h1(d) else None, "las filas filtradas") == esperados
    robots = {a.get_attribute("href") for a in navegador.find_elements(By.CSS_SELECTOR, "table td a[href^='/robots/']")}
    assert robots == {f"{base}/robots/{robot_id}"}
    assert robot in navegador.find_element(By.TAG_NAME, "table").text
    assert navegador.find_element(By.NAME, "robot").get_attribute("value") == str(robot_id)  # the form keeps it


def test_balanceador_chart_is_an_svg_with_the_robots_series(navegador, consola):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, db = consola
    _entrar(navegador, base)
    _esperar(navegador, lambda d: _h1(d).startswith("Estado"), "la página Estado")
    navegador.get(base + "/balanceador")
    _esperar(navegador, lambda d: _h1(d).startswith("Balanceador"), "la página Balanceador")
    assert not navegador.find_elements(By.CSS_SELECTOR, "svg")  # no robot chosen yet: no chart
    robot_id, robot = _consulta(db, "SELECT RobotId, Robot FROM Robots WHERE RobotId = 1")[0]
    Select(navegador.find_element(By.NAME, "robot")).select_by_visible_text(robot)
    navegador.find_element(By.CSS_SELECTOR, "form[action='/balanceador'] button[type=submit]").click()
    svg = _esperar(navegador, lambda d: d.find_elements(By.CSS_SELECTOR, "svg"), "el gráfico SVG del robot")[0]
    assert f"robot={robot_id}" in navegador.current_url
    assert f"del robot {robot} en" in svg.find_element(By.TAG_NAME, "title").get_attribute("textContent")  # its name
    tickets = svg.find_element(By.CSS_SELECTOR, "polyline.tickets").get_attribute("points").split()
    equipos = svg.find_element(By.CSS_SELECTOR, "polyline.equipos").get_attribute("points").split()
    decisiones = _consulta(db, "SELECT COUNT(*) FROM HistoricoBalanceo WHERE RobotId = ? AND FechaBalanceo >= "
                               "strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime', '-24 hours')", (robot_id,))[0][0]
    assert decisiones >= 2
    assert len(tickets) == len(equipos) == decisiones  # one point per decision of this robot in the period
    assert len({p.split(",")[1] for p in tickets}) > 1  # the series moves (the seed's tickets rise and fall)
