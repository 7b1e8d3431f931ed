"""Every entry point's command line, with real processes (issue 11, items 1-2).

Each process starts from an empty directory with an empty environment (only PATH/SYSTEMROOT, an
empty LOG_DIRECTORY and, for the ``-m`` forms, PYTHONPATH), so nothing of the developer's setup
leaks in: ``--help`` and ``--version`` must return at once without any configuration, database or
log file; an unknown argument is exit code 2 in Spanish; a service that stops on an error says why
on stderr (NSSM's ``.stderr.log``); the version is the same in every place it is written.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from common.cli import traducir
from common.paths import PROJECT_ROOT
from common.version import __version__
from tests.esperas import esperar

#: name -> the arguments after ``python``; ``-m`` forms need PYTHONPATH (they start elsewhere).
ENTRY_POINTS = {
    "lanzador": [str(PROJECT_ROOT / "lanzador" / "run_lanzador.py")],
    "lanzador-m": ["-m", "lanzador"],
    "callback": [str(PROJECT_ROOT / "callback" / "run_callback.py")],
    "callback-m": ["-m", "callback"],
    "callback-obsoleto": [str(PROJECT_ROOT / "lanzador" / "service" / "callback_server.py")],
    "callback-obsoleto-m": ["-m", "lanzador.service.callback_server"],
    "balanceador": [str(PROJECT_ROOT / "balanceador" / "run_balanceador.py")],
    "balanceador-m": ["-m", "balanceador"],
    "demo": ["-m", "demo"],
    "simulador": ["-m", "demo.simulator"],
}
TOKEN = "token-de-proceso-0123456789"
PLAZO = 30  # s; a --help that started a service would not return within it


def _env(logs: Path, entry: list[str], **extra: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "SYSTEMROOT") if k in os.environ}
    env["LOG_DIRECTORY"] = str(logs)
    if entry[0] == "-m":
        env["PYTHONPATH"] = str(PROJECT_ROOT)
    env.update(extra)
    return env


def _run(tmp_path: Path, name: str, *args: str, **extra: str) -> subprocess.CompletedProcess:
    entry = ENTRY_POINTS[name]
    cwd, logs = tmp_path / "otro_directorio", tmp_path / "logs"
    cwd.mkdir(exist_ok=True)
    logs.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, *entry, *args], cwd=cwd, env=_env(logs, entry, **extra),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, encoding="utf-8",
                          timeout=PLAZO)


def _nothing_created(tmp_path: Path) -> None:
    assert list((tmp_path / "logs").iterdir()) == [], "se creó un log"
    assert list((tmp_path / "otro_directorio").iterdir()) == [], "se creó algo en el directorio de trabajo"


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_help_is_spanish_and_starts_nothing(tmp_path, name):
    started = time.monotonic()
    result = _run(tmp_path, name, "--help")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 20
    out = result.stdout
    assert out.startswith("uso: ") and "opciones:" in out
    assert "muestra esta ayuda y termina" in out and "--version" in out
    assert "usage" not in out and "show this help" not in out
    assert result.stderr == ""
    _nothing_created(tmp_path)


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_version_prints_the_version_and_starts_nothing(tmp_path, name):
    result = _run(tmp_path, name, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"SAM {__version__}"
    _nothing_created(tmp_path)


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_unknown_argument_is_exit_2_in_spanish(tmp_path, name):
    result = _run(tmp_path, name, "--no-existe")
    assert result.returncode == 2
    assert result.stdout == ""
    err = result.stderr
    assert err.startswith("uso: ")
    assert "error: argumentos no válidos: opción o argumento desconocido: --no-existe" in err
    assert "--help" in err and "unrecognized" not in err
    _nothing_created(tmp_path)


def test_options_are_not_abbreviated(tmp_path):
    """``--sim`` is a typo, not ``--simular``: a service never runs something it was not asked to."""
    result = _run(tmp_path, "balanceador", "--sim")
    assert result.returncode == 2 and "desconocido: --sim" in result.stderr


def test_bad_value_of_a_demo_option_is_spanish(tmp_path):
    result = _run(tmp_path, "demo", "--duracion", "x")
    assert result.returncode == 2
    assert "argumento --duracion: valor no válido 'x'" in result.stderr and "invalid" not in result.stderr


@pytest.mark.parametrize("message, expected", [
    ("unrecognized arguments: --a b", "opción o argumento desconocido: --a b"),
    ("the following arguments are required: x", "faltan argumentos obligatorios: x"),
    ("argument --port: invalid _port value: 'abc'", "argumento --port: valor no válido 'abc'"),
    ("argument --clock: invalid choice: 'x' (choose from 'real', 'manual')",
     "argumento --clock: valor no admitido 'x' (valores posibles: 'real', 'manual')"),
    ("argument --seed: expected one argument", "argumento --seed: falta su valor"),
    ("argument --port: puerto no válido: 'x'", "argumento --port: puerto no válido: 'x'"),
    ("--state y --generate son incompatibles", "--state y --generate son incompatibles"),
])
def test_argparse_messages_in_spanish(message, expected):
    assert traducir(message) == expected


# -- services that stop on an error say why on stderr -------------------------------------------------
SERVICIOS = {
    "lanzador": {"AA_URL": "http://127.0.0.1:9", "AA_USER": "sam", "AA_PWD": "clave-de-prueba",
                 "AA_URL_CALLBACK": "http://127.0.0.1:9/sam/callback", "CALLBACK_TOKEN": TOKEN},
    "callback": {"CALLBACK_TOKEN": TOKEN, "CALLBACK_SERVER_HOST": "127.0.0.1"},
    "balanceador": {"BALANCEADOR_PROVEEDORES_CARGA": "rpa360", "SQL_RPA360_ENGINE": "sqlite"},
}


def _service_env(tmp_path: Path, name: str) -> dict[str, str]:
    env = {"SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": str(tmp_path / "sam.db"),
           "SQL_RPA360_SQLITE_PATH": str(tmp_path / "rpa360.db"), "SAM_ZONA_HORARIA": "Europe/Madrid"}
    env.update(SERVICIOS[name])
    return env


@pytest.mark.parametrize("name", SERVICIOS)
def test_bad_setting_reason_on_stderr_exit_2(tmp_path, name):
    env = {**_service_env(tmp_path, name), "SQL_SAM_ENGINE": "oracle"}
    result = _run(tmp_path, name, **env)
    assert result.returncode == 2
    assert "configuración no válida" in result.stderr and "SQL_SAM_ENGINE" in result.stderr
    _nothing_created(tmp_path)


@pytest.mark.parametrize("name", SERVICIOS)
def test_unexpected_start_up_error_reason_on_stderr_exit_1(tmp_path, name):
    """The log directory is a file: setup_logging fails; stderr names the service and the cause."""
    fichero = tmp_path / "no_es_un_directorio"
    fichero.write_text("x", encoding="utf-8")
    result = _run(tmp_path, name, **_service_env(tmp_path, name), LOG_DIRECTORY=str(fichero))
    assert result.returncode == 1
    primera = result.stderr.splitlines()[0]
    assert primera.startswith(f"SAM {name.capitalize()}: error inesperado: ")
    assert "no_es_un_directorio" in primera and "El servicio se detiene (código de salida 1)." in primera


def test_callback_port_in_use_reason_on_stderr_exit_1(tmp_path):
    with socket.socket() as ocupado:
        ocupado.bind(("127.0.0.1", 0))
        ocupado.listen()
        port = ocupado.getsockname()[1]
        result = _run(tmp_path, "callback", **_service_env(tmp_path, "callback"),
                      CALLBACK_SERVER_PORT=str(port))
    assert result.returncode == 1
    assert f"SAM Callback: no se pudo abrir el puerto 127.0.0.1:{port}" in result.stderr
    assert "CALLBACK_SERVER_PORT" in result.stderr


# -- the version in the start-up line and /health -------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(tmp_path: Path, name: str, **extra: str) -> subprocess.Popen:
    entry = ENTRY_POINTS[name]
    cwd, logs = tmp_path / "otro_directorio", tmp_path / "logs"
    cwd.mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, *entry], cwd=cwd,
                            env=_env(logs, entry, **_service_env(tmp_path, name), **extra),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM if sys.platform != "win32" else signal.CTRL_BREAK_EVENT)
    try:
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()


def _log_text(tmp_path: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "logs").glob("*.log"))


@pytest.mark.skipif(sys.platform == "win32", reason="stops the process with SIGTERM")
@pytest.mark.parametrize("name", SERVICIOS)
def test_start_up_line_names_the_version(tmp_path, name):
    extra = {"CALLBACK_SERVER_PORT": str(_free_port())} if name == "callback" else {}
    proc = _start(tmp_path, name, **extra)
    try:
        linea = f"SAM {name.capitalize()} versión {__version__}"
        iniciado = f"Servicio {name} iniciado"  # the runner's line: its signal handlers are in place
        esperar(lambda: proc.poll() is not None or iniciado in _log_text(tmp_path), PLAZO, que=iniciado)
        assert proc.poll() is None, proc.stderr.read().decode(errors="replace")
        assert linea in _log_text(tmp_path)
    finally:
        assert _stop(proc) == 0


@pytest.mark.skipif(sys.platform == "win32", reason="stops the process with SIGTERM")
def test_health_reports_the_version(tmp_path):
    port = _free_port()
    proc = _start(tmp_path, "callback", CALLBACK_SERVER_PORT=str(port))
    url = f"http://127.0.0.1:{port}/health"

    def responde():
        assert proc.poll() is None, proc.stderr.read().decode(errors="replace")
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            return None

    try:
        r = esperar(responde, PLAZO, que="/health")
        esperar(lambda: "Servicio callback iniciado" in _log_text(tmp_path), PLAZO, que="señales instaladas")
        assert r.status_code == 200
        cuerpo = r.json()
        edad = cuerpo.pop("latido_edad_seg")  # H5: the age of its heartbeat row (null before the first beat)
        assert edad is None or 0 <= edad < PLAZO
        assert cuerpo == {"estado": "ok", "mensaje": "Servidor de callbacks operativo; base de datos accesible.",
                          "version": __version__}
    finally:
        assert _stop(proc) == 0


# -- one version everywhere ---------------------------------------------------------------------------
def test_version_is_the_same_in_pyproject_version_py_and_changelog():
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^version\s*=\s*"([^"]+)"', pyproject, re.M).group(1) == __version__
    changelog = (PROJECT_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    publicadas = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    assert publicadas and publicadas[0] == __version__, publicadas
    assert publicadas == sorted(publicadas, key=lambda v: tuple(map(int, v.split("."))), reverse=True)
