""""Sincronizar ahora" in a real browser (CONSOLE §3 ``POST /solicitudes``, rule L8.2), end to end:
headless Chromium (the fixture of tests/test_consola_navegador.py) signed in as an operator to a real
console process (``python -m consola``), which shares its SQLite SAM DB with a RUNNING Lanzador
(``lanzador/run_lanzador.py``, tests/test_lanzador_system_procesos.Entorno) talking over HTTP to the
Control Room simulator. The periodic table sync is an hour away, so a bot added to A360 after the
Lanzador started reaches Robots only if the Lanzador's leader serves the request the operator made
with the button on Estado. Every wait is a condition with a generous deadline, never a fixed sleep."""

from __future__ import annotations

import sys

import pytest

from benchmarks import bench_consola as banco
from tests.esperas import esperar
from tests.test_consola_navegador import _esperar, _h1, _textos, chromium  # noqa: F401
from tests.test_lanzador_system_procesos import Entorno, _sim

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(sys.platform == "win32", reason="los servicios de prueba se paran con señales POSIX"),
]
# ruff: noqa: F811 - the imported fixture is used as a test argument

OPERADOR = "operador.navegador"
CLAVE = "Operador-Navegador-2026"
NUEVO_ID, NUEVO = 5900, "P5900_Nuevo"


def _entrar(d, base: str) -> None:
    from selenium.webdriver.common.by import By

    d.get(base + "/login")
    d.delete_all_cookies()
    d.get(base + "/login")
    _esperar(d, lambda d: d.find_element(By.NAME, "Usuario"), "formulario de entrada").send_keys(OPERADOR)
    d.find_element(By.NAME, "Clave").send_keys(CLAVE)
    d.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    _esperar(d, lambda d: d.current_url.rstrip("/") == base and _h1(d).startswith("Estado"), "Estado tras entrar")


def _fila_solicitud(d, sid: int) -> tuple[str, str] | None:
    """(state, result) of the request's row on the page; reloads Estado while it is still pending
    (the page refreshes itself only every 30 s)."""
    from selenium.webdriver.common.by import By

    filas = d.find_elements(By.ID, f"solicitud-{sid}")
    if filas:
        estado = filas[0].find_element(By.CSS_SELECTOR, ".estado-solicitud").text.strip()
        if estado != "pendiente":
            return estado, filas[0].find_element(By.CSS_SELECTOR, "pre.texto").text.strip()
    d.refresh()
    return None


def test_L8_2_sincronizar_ahora_from_estado_is_served_by_the_running_lanzador(chromium, tmp_path):
    from selenium.webdriver.common.by import By

    with _sim() as sim:
        env = Entorno(tmp_path, sim)  # LANZADOR_INTERVALO_SYNC_TABLAS_SEG=3600: only the start-up sync
        consola = None
        try:
            env.lanzador.start()
            puerto = banco.puerto_libre()
            cenv = banco.entorno_consola(env.db_path, puerto, tmp_path / "logs_consola", SAM_ZONA_HORARIA="UTC")
            banco.crear_admin(cenv, OPERADOR, CLAVE, rol="operador")
            consola = banco.arrancar_consola(cenv, puerto)
            base = f"http://127.0.0.1:{puerto}"
            esperar(lambda: env.db.query_one("SELECT COUNT(*) AS n FROM Robots")["n"] >= 6, 60,
                    que="la sincronización de arranque del Lanzador")
            padre = next(f for f in sim.state()["files"] if f["id"] == 5100)["parentId"]
            sim.add("files", {"id": NUEVO_ID, "parentId": padre, "name": NUEVO, "description": None})
            assert env.db.query("SELECT RobotId FROM Robots WHERE RobotId = ?", (NUEVO_ID,)) == []

            d = chromium
            _entrar(d, base)
            d.get(base + f"/robots?q={NUEVO}")  # not in Robots yet: the periodic sync is an hour away
            _esperar(d, lambda d: "Ningún robot con estos filtros." in d.page_source, "Robots sin el bot nuevo")

            d.get(base + "/")
            _esperar(d, lambda d: d.find_element(By.ID, "solicitar-sincronizar").click() or True, "botón sincronizar")
            aviso = _textos(d, ".aviso-ok", "solicitud registrada")  # Estado reloads itself: read at once
            [fila] = env.db.query("SELECT * FROM SolicitudesServicio")
            sid = fila["SolicitudId"]
            assert f"Solicitud {sid} registrada" in aviso[0]
            assert (fila["Servicio"], fila["Tipo"], fila["SolicitadoPor"]) == ("lanzador", "sincronizar", OPERADOR)

            estado, resultado = _esperar(d, lambda d: _fila_solicitud(d, sid), "solicitud atendida", 60)
            assert estado == "atendida", resultado
            assert resultado.startswith("Sincronización hecha: ") and "7 robots" in resultado, resultado
            [fila] = env.db.query("SELECT * FROM SolicitudesServicio")
            assert (fila["Estado"], fila["Resultado"]) == ("atendida", resultado)
            assert fila["AtendidaPor"].endswith(f"/{env.lanzador.p.pid}")  # served by the running Lanzador
            assert str(env.lanzador.p.pid) in _textos(d, f"#solicitud-{sid}", "la fila de la solicitud")[0]

            assert env.db.query("SELECT Robot FROM Robots WHERE RobotId = ?", (NUEVO_ID,)) == [{"Robot": NUEVO}]
            d.get(base + f"/robots?q={NUEVO}")
            enlace = _textos(d, f"a[href='/robots/{NUEVO_ID}']", "el bot nuevo en Robots")
            assert enlace[0] == NUEVO
            assert env.lanzador.terminate() == 0
        finally:
            if consola is not None:
                banco.parar_consola(consola)
            env.close()
