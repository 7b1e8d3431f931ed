"""Hardening of the console sign-in (CONSOLE §2) against a real ``python -m consola`` process over
HTTP: parallel wrong passwords each count (atomic increment) and lock the account at exactly
``CONSOLA_INTENTOS_BLOQUEO``; a locked account is refused, the right password included, until the
lock-out ends. Sign-in names reach the log only when they are known or well formed (no control
characters, no password typed in the user field). Beyond ``CONSOLA_LOGIN_MAX_POR_MIN`` sign-ins
per address and minute: 429 without a verification. A password, role or active change and a
sign-out end the user's open sessions (``VersionSesion`` in the DB, so also after a restart); every
session lasts at most ``CONSOLA_SESION_MAXIMA_HORAS``."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from common.operaciones import auditoria, usuarios
from consola import acceso, claves
from consola.app import crear_app
from consola.ldap_auth import AutenticadorLdap
from consola.limite_login import LimiteLogin
from tests.consola_apoyo import (
    ADMIN_CLI,
    CLAVE,
    RAPIDO,
    app_de_prueba,
    base,
    config,
    crear_usuario,
    entrar,
    token,
)
from tests.esperas import esperar

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SECRETO = "p" * 40


def _puerto_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Consola:
    """A real console process on a fresh SQLite SAM DB with the users lector and operador."""

    def __init__(self, tmp_path: Path, **extra: str) -> None:
        self.tmp = tmp_path
        self.db = base(tmp_path, config(tmp_path))
        for rol in ("lector", "operador"):
            crear_usuario(self.db, rol, rol)
        self.puerto = _puerto_libre()
        self.url = f"http://127.0.0.1:{self.puerto}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SQL_", "CONSOLA_", "LOG_", "PYTHONPATH"))}
        env.update(SQL_SAM_ENGINE="sqlite", SQL_SAM_SQLITE_PATH=str(tmp_path / "sam.db"),
                   LOG_DIRECTORY=str(tmp_path / "logs"), PYTHONIOENCODING="utf-8", CONSOLA_SECRETO=SECRETO,
                   CONSOLA_PUERTO=str(self.puerto), CONSOLA_HILOS="8", **extra)
        self.salida = open(tmp_path / "consola.out", "w", encoding="utf-8")  # noqa: SIM115 - closed in parar()
        self.proc = subprocess.Popen([sys.executable, "-m", "consola"], env=env, cwd=PROJECT_ROOT,
                                     stdout=self.salida, stderr=subprocess.STDOUT)
        esperar(self._sana, 90, que="consola /health 200")

    def _sana(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"la consola terminó: {(self.tmp / 'consola.out').read_text(encoding='utf-8')}")
        try:
            return requests.get(self.url + "/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def entrar(self, usuario: str, clave: str) -> requests.Response:
        """One sign-in with its own session (GET /login for the CSRF token, then POST)."""
        s = requests.Session()
        pagina = s.get(self.url + "/login", timeout=60).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', pagina).group(1)
        return s.post(self.url + "/login", data={"Usuario": usuario, "Clave": clave, "csrf_token": token},
                      allow_redirects=False, timeout=60)

    def log(self) -> str:
        ruta = self.tmp / "logs" / "sam_consola.log"
        return ruta.read_text(encoding="utf-8") if ruta.exists() else ""

    def parar(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.salida.close()
        self.db.close_all()


def _en_paralelo(n: int, fn) -> list:
    """``fn()`` from ``n`` threads released together; the results in any order."""
    barrera = threading.Barrier(n)
    resultados: list = []
    candado = threading.Lock()

    def hilo() -> None:
        barrera.wait(timeout=120)
        r = fn()
        with candado:
            resultados.append(r)

    hilos = [threading.Thread(target=hilo) for _ in range(n)]
    for h in hilos:
        h.start()
    for h in hilos:
        h.join(timeout=300)
    assert len(resultados) == n
    return resultados


@pytest.fixture
def consola(tmp_path):
    c = Consola(tmp_path, CONSOLA_INTENTOS_BLOQUEO="10", CONSOLA_LOGIN_MAX_POR_MIN="1000")
    yield c
    c.parar()


@pytest.mark.system
def test_parallel_wrong_passwords_each_count_and_lock_at_exactly_the_limit(consola):
    mal = lambda: consola.entrar("operador", "mala-clave-123").status_code  # noqa: E731
    assert _en_paralelo(10, mal) == [401] * 10
    fila = usuarios.consultar(consola.db, "operador")
    assert fila["IntentosFallidos"] == 10 and fila["BloqueadoHasta"] is not None
    # ten more in parallel while locked: refused, nothing counted, the lock-out not moved
    assert _en_paralelo(10, mal) == [401] * 10
    despues = usuarios.consultar(consola.db, "operador")
    assert despues["IntentosFallidos"] == 10 and despues["BloqueadoHasta"] == fila["BloqueadoHasta"]
    bloqueos = [f for f in auditoria.de_entidad(consola.db, "UsuariosConsola") if f["Accion"] == "bloquear_cuenta"]
    assert len(bloqueos) == 1
    # locked: the right password is refused too
    assert consola.entrar("operador", CLAVE).status_code == 401
    assert consola.entrar("lector", CLAVE).status_code == 303  # another account is not affected
    # the lock-out runs out (moved into the past): the right password signs in and the count restarts
    consola.db.execute("UPDATE UsuariosConsola SET BloqueadoHasta = '2000-01-01 00:00:00.000000' "
                       "WHERE Usuario = 'operador'")
    assert consola.entrar("operador", CLAVE).status_code == 303
    assert usuarios.consultar(consola.db, "operador")["IntentosFallidos"] == 0


# ------------------------------------------------------------------ names in the log (no injection)


@pytest.fixture
def app_y_db(tmp_path):
    app, db, clock = app_de_prueba(tmp_path)
    yield app, db, clock
    db.close_all()


def _registros(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("sam.consola")]


@pytest.mark.parametrize("nombre", ["operador\nINFO Inicio de sesión de «admin» (falso)", "operador\r",
                                    "ana\x1b[31m", "ana\u202eroda", "a" * 129])
def test_names_with_control_characters_or_too_long_are_refused_and_never_logged(app_y_db, caplog, nombre):
    app, db, _ = app_y_db
    caplog.set_level(logging.INFO, logger="sam.consola")
    r = entrar(app.test_client(), nombre, CLAVE)
    assert r.status_code == 401 and acceso.MENSAJE_RECHAZO in r.get_data(as_text=True)
    mensajes = _registros(caplog)
    assert mensajes and all("\n" not in m and "\r" not in m and "\x1b" not in m and "\u202e" not in m
                            for m in mensajes)
    assert not any("(falso)" in m or "a" * 129 in m for m in mensajes)
    assert any(usuarios.NO_RECONOCIDO in m for m in mensajes)
    assert usuarios.consultar(db, "operador")["IntentosFallidos"] == 0  # "operador\r" is no sign-in of operador


def test_a_password_typed_in_the_user_field_is_not_logged(app_y_db, caplog):
    app, _, _ = app_y_db
    caplog.set_level(logging.INFO, logger="sam.consola")
    assert entrar(app.test_client(), "Mi Clave Secreta!2026", "x").status_code == 401
    texto = "\n".join(_registros(caplog))
    assert "Secreta" not in texto and "secreta" not in texto and usuarios.NO_RECONOCIDO in texto


def test_known_and_well_formed_names_are_logged(app_y_db, caplog):
    app, _, _ = app_y_db
    caplog.set_level(logging.INFO, logger="sam.consola")
    entrar(app.test_client(), "operador", "mala-clave-123")
    entrar(app.test_client(), "nadie.conocido", "mala-clave-123")
    texto = "\n".join(_registros(caplog))
    assert "«operador»" in texto and "«nadie.conocido»" in texto


def test_ldap_log_lines_do_not_carry_a_malformed_name(caplog):
    caplog.set_level(logging.INFO, logger="sam.consola.ldap")
    auth = AutenticadorLdap("ldap://127.0.0.1:1", "dc=x", "uid={usuario},dc=x", {}, timeout=2)
    assert auth.autenticar("Mi Clave Secreta!2026", "x") is None
    assert auth.autenticar("ana\nfalso", "x") is None
    texto = "\n".join(_registros(caplog))
    assert "Secreta" not in texto and "falso" not in texto
    assert usuarios.NO_RECONOCIDO in texto


# ------------------------------------------------------------------ sign-ins per address


def test_sign_ins_beyond_the_per_minute_limit_get_429_without_a_verification(tmp_path, monkeypatch):
    app, db, clock = app_de_prueba(tmp_path, CONSOLA_LOGIN_MAX_POR_MIN="3")
    verificadas = []
    original = claves.verificar
    monkeypatch.setattr(claves, "verificar", lambda *a, **k: verificadas.append(1) or original(*a, **k))
    cliente = app.test_client()
    for _ in range(3):
        assert entrar(cliente, "operador", "mala-clave-123").status_code == 401
    assert len(verificadas) == 3
    r = entrar(cliente, "operador", CLAVE)  # even the right password: not verified at all
    assert r.status_code == 429 and len(verificadas) == 3
    assert int(r.headers["Retry-After"]) == 60 and "Demasiados intentos" in r.get_data(as_text=True)
    assert usuarios.consultar(db, "operador")["IntentosFallidos"] == 3  # a 429 is not a failure of the account
    # another address is not limited (the address as ProxyFix would set it)
    otro = app.test_client()
    r = otro.post("/login", data={"Usuario": "lector", "Clave": CLAVE, "csrf_token": token(otro)},
                  environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 303
    # the window slides: 30 s later still limited, after a minute from the first attempt admitted again
    clock.advance(30)
    assert entrar(cliente, "operador", CLAVE).status_code == 429
    clock.advance(31)
    assert entrar(cliente, "operador", CLAVE).status_code == 303
    db.close_all()


def test_the_limit_counts_parallel_attempts_exactly():
    limite = LimiteLogin(20)
    resultados = _en_paralelo(50, lambda: limite.admitir("10.1.1.1", 1000.0))
    assert resultados.count(None) == 20 and all(r == 60.0 for r in resultados if r is not None)


# ------------------------------------------------------------------ sessions outliving changes


def _dentro(cliente) -> bool:
    return cliente.get("/", headers={"Accept": "application/json"}).status_code == 200


def test_a_password_change_ends_every_open_session_of_that_user_only(app_y_db):
    app, db, _ = app_y_db
    uno, dos, otro = app.test_client(), app.test_client(), app.test_client()
    for c, u in ((uno, "operador"), (dos, "operador"), (otro, "lector")):
        assert entrar(c, u).status_code == 303
    usuarios.cambiar_clave(db, ADMIN_CLI, "operador", claves.hashear("otra-clave-de-prueba-2", RAPIDO))
    assert not _dentro(uno) and not _dentro(dos)
    assert _dentro(otro)
    assert entrar(uno, "operador", "otra-clave-de-prueba-2").status_code == 303 and _dentro(uno)


def test_a_password_change_through_the_users_page_ends_the_sessions(app_y_db):
    app, _, _ = app_y_db
    operador, admin = app.test_client(), app.test_client()
    assert entrar(operador, "operador").status_code == 303 and entrar(admin, "administrador").status_code == 303
    r = admin.post("/usuarios", data={"accion": "clave", "Usuario": "operador", "Clave": "otra-clave-de-prueba-2",
                                      "csrf_token": token(admin, "/usuarios")})
    assert r.status_code in (200, 303), r.get_data(as_text=True)
    assert not _dentro(operador) and _dentro(admin)


def test_a_session_lasts_at_most_the_maximum_lifetime_even_with_activity(tmp_path):
    app, db, clock = app_de_prueba(tmp_path, CONSOLA_SESION_MAXIMA_HORAS="2")
    cliente = app.test_client()
    assert entrar(cliente, "lector").status_code == 303
    for _ in range(4):  # active every 25 minutes: never idle
        clock.advance(25 * 60)
        assert _dentro(cliente)
    clock.advance(19 * 60)  # 1 h 59 min after sign-in
    assert _dentro(cliente)
    clock.advance(2 * 60)  # 2 h 1 min after sign-in, 2 min after the last activity
    assert not _dentro(cliente)
    db.close_all()


def test_a_copied_cookie_does_not_survive_logout_and_a_restart(app_y_db, tmp_path):
    app, db, clock = app_y_db
    cliente, otro_navegador = app.test_client(), app.test_client()
    assert entrar(cliente, "operador").status_code == 303 and entrar(otro_navegador, "operador").status_code == 303
    copia = cliente.get_cookie("sam_consola").value
    assert cliente.post("/logout", data={"csrf_token": token(cliente, "/")}).status_code == 303
    assert not _dentro(otro_navegador)  # signing out ends the user's other sessions too
    reiniciada = crear_app(config(tmp_path), db, clock=clock)  # a new process: no in-memory revocations
    ladron = reiniciada.test_client()
    ladron.set_cookie("sam_consola", copia)
    assert not _dentro(ladron)


# ------------------------------------------------------------------ bounded forms


def test_a_form_naming_too_many_equipos_gets_a_spanish_400_not_a_database_error(app_y_db):
    from consola.vistas.cambios_asignaciones import MAX_EQUIPOS_POR_FORMULARIO

    app, db, _ = app_y_db
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'P1_Facturas')")
    db.execute("INSERT INTO Equipos (EquipoId, Equipo) VALUES (10, 'VMRPA10')")
    c = app.test_client()
    assert entrar(c, "operador").status_code == 303
    csrf = token(c, "/")
    muchos = " ".join(f"VMRPA{i}" for i in range(2500))  # beyond SQL Server's 2,100 parameters
    r = c.post("/asignaciones", data={"csrf_token": csrf, "RobotId": "1", "accion": "reservar", "EquipoId": muchos})
    assert r.status_code == 400 and f"como máximo {MAX_EQUIPOS_POR_FORMULARIO} equipos" in r.get_data(as_text=True)
    justo = " ".join(["VMRPA10"] + [str(10)] * (MAX_EQUIPOS_POR_FORMULARIO - 1))
    r = c.post("/asignaciones", data={"csrf_token": csrf, "RobotId": "1", "accion": "reservar", "EquipoId": justo})
    assert r.status_code != 400, r.get_data(as_text=True)
    assert db.query_one("SELECT COUNT(*) AS n FROM Asignaciones WHERE RobotId = 1")["n"] == 1
