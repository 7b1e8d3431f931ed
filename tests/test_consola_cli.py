"""``python -m consola usuarios ...`` and the console process, as real subprocesses (CONSOLE §1, §2)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest
import requests

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.operaciones import auditoria, usuarios
from common.paths import PROJECT_ROOT
from consola import claves
from tests.esperas import esperar

SECRETO = "k" * 40


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQL_", "CONSOLA_", "LOG_", "PYTHONPATH"))}
    env.update(SQL_SAM_ENGINE="sqlite", SQL_SAM_SQLITE_PATH=str(tmp_path / "sam.db"), LOG_DIRECTORY=str(tmp_path / "logs"),
               PYTHONIOENCODING="utf-8", **extra)
    return env


def _cli(tmp_path, *args, entrada="", **extra):
    return subprocess.run([sys.executable, "-m", "consola", "usuarios", *args], input=entrada, text=True,
                          capture_output=True, env=_env(tmp_path, **extra), cwd=PROJECT_ROOT, timeout=120,
                          encoding="utf-8")


def _db(tmp_path):
    db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(db)
    return db


def test_usuarios_commands_create_change_and_list_users_reading_the_password_from_stdin(tmp_path):
    r = _cli(tmp_path, "crear", "Ana", "--rol", "administrador", "--nombre", "Ana Pérez",
             entrada="una-clave-larga-1\n")
    assert r.returncode == 0, r.stderr
    assert "Usuario «ana» creado con el rol administrador" in r.stdout
    db = _db(tmp_path)
    fila = usuarios.para_login(db, "ana")
    assert fila["Nombre"] == "Ana Pérez" and claves.verificar("una-clave-larga-1", fila["HashClave"])
    assert "una-clave-larga-1" not in r.stdout + r.stderr

    r = _cli(tmp_path, "crear", "ana", "--rol", "lector", entrada="otra-clave-larga\n")
    assert r.returncode == 1 and "Ya existe" in r.stderr
    r = _cli(tmp_path, "crear", "bob", "--rol", "lector", entrada="corta\n")
    assert r.returncode == 2 and "al menos" in r.stderr and usuarios.consultar(db, "bob") is None
    assert _cli(tmp_path, "crear", "bob", "--rol", "jefe", entrada="x\n").returncode == 2

    assert _cli(tmp_path, "rol", "ana", "operador").returncode == 0
    assert usuarios.consultar(db, "ana")["Rol"] == "operador"
    assert _cli(tmp_path, "desactivar", "ana").returncode == 0
    assert not usuarios.consultar(db, "ana")["Activo"]
    assert _cli(tmp_path, "clave", "ana", entrada="clave-nueva-larga\n").returncode == 0
    fila = usuarios.para_login(db, "ana")
    assert fila["Activo"] and claves.verificar("clave-nueva-larga", fila["HashClave"])
    assert _cli(tmp_path, "rol", "nadie", "lector").returncode == 1

    r = _cli(tmp_path, "listar", "--json")
    assert r.returncode == 0
    salida = json.loads(r.stdout)
    listado = salida["filas"]
    assert salida["estado"] == "ok" and [u["Usuario"] for u in listado] == ["ana"] and "HashClave" not in listado[0]
    assert "ana" in _cli(tmp_path, "listar").stdout
    acciones = [(f["Accion"], f["Resultado"], f["Usuario"].startswith("cli:"))
                for f in auditoria.de_entidad(db, "UsuariosConsola")]
    assert acciones == [("crear_usuario", "ok", True), ("crear_usuario", "rechazado", True),
                        ("cambiar_rol", "ok", True), ("desactivar_usuario", "ok", True),
                        ("cambiar_clave", "ok", True), ("cambiar_rol", "rechazado", True)]
    db.close_all()


def test_help_and_version_need_no_configuration(tmp_path):
    for args in (["--help"], ["usuarios", "--help"], ["usuarios", "crear", "--help"], ["--version"]):
        r = subprocess.run([sys.executable, "-m", "consola", *args], capture_output=True, text=True,
                           env=_env(tmp_path), cwd=PROJECT_ROOT, timeout=60, encoding="utf-8")
        assert r.returncode == 0 and ("uso:" in r.stdout or "SAM" in r.stdout), args
    r = subprocess.run([sys.executable, "-m", "consola", "--nada"], capture_output=True, text=True,
                       env=_env(tmp_path), cwd=PROJECT_ROOT, timeout=60, encoding="utf-8")
    assert r.returncode == 2 and "opción o argumento desconocido" in r.stderr


def test_the_service_refuses_a_missing_or_short_secret_naming_it(tmp_path):
    for extra in ({}, {"CONSOLA_SECRETO": "corto"}):
        r = subprocess.run([sys.executable, str(PROJECT_ROOT / "consola" / "run_consola.py")], capture_output=True,
                           text=True, env=_env(tmp_path, **extra), cwd=tmp_path, timeout=60, encoding="utf-8")
        assert r.returncode == 2 and "CONSOLA_SECRETO" in r.stderr
        assert "corto" not in r.stderr


def _puerto_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.system
def test_the_console_process_serves_beats_and_stops_cleanly(tmp_path):
    puerto = _puerto_libre()
    env = _env(tmp_path, CONSOLA_SECRETO=SECRETO, CONSOLA_PUERTO=str(puerto), SAM_LATIDO_SEG="1")
    proc = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "consola" / "run_consola.py")], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def sano():
            try:
                return requests.get(f"http://127.0.0.1:{puerto}/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        esperar(sano, timeout=60, que="consola /health 200")
        r = requests.get(f"http://127.0.0.1:{puerto}/", allow_redirects=False, timeout=5)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login")
        assert r.headers["X-Frame-Options"] == "DENY"
        db = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
        esperar(lambda: db.query("SELECT Servicio FROM EstadoServicios WHERE Servicio = 'consola'"), timeout=60,
                que="latido de la consola")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert db.query("SELECT Servicio FROM EstadoServicios WHERE Servicio = 'consola'") == []
        db.close_all()
        log = (tmp_path / "logs" / "sam_consola.log").read_text(encoding="utf-8")
        assert "Consola SAM escuchando" in log and SECRETO not in log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
