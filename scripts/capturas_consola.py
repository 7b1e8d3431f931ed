"""Screenshots of the console's main pages for the README (CONSOLE §5): ``docs/capturas/*.png``.

Seeds a small SAM DB (the data of the browser tests: :func:`benchmarks.bench_consola.sembrar` with
``PEQUENO``), creates an administrator with the ``usuarios`` CLI, starts a real console process, signs in
with headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by selenium) and saves one
PNG per page. A page that does not exist yet (404) is reported and skipped.

    python scripts/capturas_consola.py [--carpeta docs/capturas] [--ancho 1366] [--alto-max 1600]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_consola as banco  # noqa: E402

USUARIO = "ana.perez"
CLAVE = "Capturas-Consola-2026"
#: (file name, path, what it shows): the README's captions say the same in Spanish.
PAGINAS = (
    ("login", "/login", "inicio de sesión"),
    ("estado", "/", "Estado"),
    ("robots", "/robots", "Robots"),
    ("equipos", "/equipos", "Equipos"),
    ("programaciones", "/programaciones", "Programaciones"),
    ("ejecuciones", "/ejecuciones?estado=RUN_FAILED", "Ejecuciones filtradas"),
    ("balanceador", "/balanceador?robot=1&horas=24", "Balanceador con el gráfico de un robot"),
    ("pools", "/pools", "Pools"),
    ("auditoria", "/auditoria", "Auditoría"),
)


def navegador(ancho: int, alto: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binario, driver = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver")
    if not driver or not Path(binario).exists():
        raise SystemExit("Faltan Chromium y su driver: apt-get install chromium chromium-driver")
    opciones = webdriver.ChromeOptions()
    opciones.binary_location = binario
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={ancho},{alto}", "--hide-scrollbars", "--lang=es-ES", "--force-device-scale-factor=1"):
        opciones.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=opciones)


def entrar(d, base: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d.get(base + "/login")
    d.find_element(By.NAME, "Usuario").send_keys(USUARIO)
    d.find_element(By.NAME, "Clave").send_keys(CLAVE)
    d.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    WebDriverWait(d, 30).until(lambda d: d.current_url.rstrip("/") == base, "la página Estado tras entrar")


def capturar(d, base: str, ruta: str, destino: Path, ancho: int, alto_max: int) -> int:
    """Save the page at ``ruta`` (its whole height, up to ``alto_max``); returns its HTTP status."""
    import requests

    cookies = {c["name"]: c["value"] for c in d.get_cookies()}
    estado = requests.get(base + ruta, cookies=cookies, timeout=60, allow_redirects=False).status_code
    if estado == 404:
        return estado
    d.get(base + ruta)
    alto = int(d.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"))
    d.set_window_size(ancho, min(max(alto, 600), alto_max))
    d.save_screenshot(str(destino))
    return estado


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Capturas de las páginas principales de la consola SAM (PNG).")
    ap.add_argument("--carpeta", default=str(ROOT / "docs" / "capturas"), help="dónde guardar los PNG")
    ap.add_argument("--ancho", type=int, default=1366, help="ancho de la ventana en píxeles")
    ap.add_argument("--alto-max", type=int, default=1600, help="alto máximo de una captura en píxeles")
    args = ap.parse_args(argv)
    carpeta = Path(args.carpeta)
    carpeta.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="capturas_consola_") as tmp:
        db = Path(tmp) / "sam.db"
        banco.sembrar(db, banco.PEQUENO)
        puerto = banco.puerto_libre()
        env = banco.entorno_consola(db, puerto, Path(tmp) / "logs")
        banco.crear_admin(env, USUARIO, CLAVE, nombre="Ana Pérez")
        proc = banco.arrancar_consola(env, puerto)
        d = navegador(args.ancho, 900)
        base = f"http://127.0.0.1:{puerto}"
        try:
            d.get(base + "/login")
            d.save_screenshot(str(carpeta / "login.png"))
            print(f"login.png: {base}/login")
            entrar(d, base)
            for nombre, ruta, _ in PAGINAS[1:]:
                estado = capturar(d, base, ruta, carpeta / f"{nombre}.png", args.ancho, args.alto_max)
                print(f"{nombre}.png: {ruta} (HTTP {estado})" if estado != 404 else f"{nombre}: {ruta} no existe (404)")
        finally:
            d.quit()
            banco.parar_consola(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
