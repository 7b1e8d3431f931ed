"""Helpers of the console tests: an app over a fresh SQLite SAM DB, users of each role, sign-in."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from common.clock import FixedClock
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.operaciones import usuarios
from common.operaciones.auditoria import Actor
from common.utils.config_manager import load_config
from consola import claves
from consola.app import crear_app

SECRETO = "s" * 40
#: Fast scrypt parameters for test users (the stored hash carries them; production uses the default).
RAPIDO = (2**10, 8, 1)
CLAVE = "clave-de-prueba-1"
ADMIN_CLI = Actor("cli:pruebas", "administrador")


def config(tmp_path: Path, **extra: str):
    entorno = {"SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": str(tmp_path / "sam.db"),
               "CONSOLA_SECRETO": SECRETO, **extra}
    return load_config("consola", entorno, tmp_path)


def base(tmp_path: Path, cfg=None) -> DatabaseClient:
    db = DatabaseClient.from_config(cfg or config(tmp_path), "SAM")
    ensure_schema(db)
    return db


def crear_usuario(db, usuario: str, rol: str, clave: str = CLAVE) -> None:
    usuarios.crear(db, ADMIN_CLI, usuario, rol, claves.hashear(clave, RAPIDO), nombre=usuario.title())


def app_de_prueba(tmp_path: Path, *, ldap=None, **extra: str):
    """(app, db, clock) with one user per role: lector, operador, administrador (password CLAVE)."""
    cfg = config(tmp_path, **extra)
    db = base(tmp_path, cfg)
    for rol in ("lector", "operador", "administrador"):
        crear_usuario(db, rol, rol)
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), "Europe/Madrid")
    return crear_app(cfg, db, clock=clock, ldap=ldap), db, clock


def token(cliente, ruta: str = "/login") -> str:
    r = cliente.get(ruta)
    m = re.search(r'name="csrf_token" value="([^"]+)"', r.get_data(as_text=True))
    assert m, f"{ruta} has no csrf_token field"
    return m.group(1)


def entrar(cliente, usuario: str, clave: str = CLAVE):
    return cliente.post("/login", data={"Usuario": usuario, "Clave": clave, "csrf_token": token(cliente)})


def cliente(app, rol: str = "operador"):
    """A test client signed in as the user of ``rol``, carrying its CSRF token (``c.csrf``)."""
    c = app.test_client()
    assert entrar(c, rol).status_code == 303
    c.csrf = token(c, "/")
    return c


def enviar(c, ruta: str, datos: dict, **kw):
    """POST ``datos`` with the client's CSRF token."""
    return c.post(ruta, data={"csrf_token": c.csrf, **datos}, **kw)


def texto(r) -> str:
    return r.get_data(as_text=True)
