"""Sign-in, lock-out, idle expiry, logout, session fixation and /health of the console (CONSOLE §2, §3)."""

from __future__ import annotations

import pytest

from common.operaciones import auditoria, usuarios
from consola import acceso
from consola.app import crear_app
from tests.consola_apoyo import ADMIN_CLI, CLAVE, app_de_prueba, config, entrar, token


@pytest.fixture
def entorno(tmp_path):
    app, db, clock = app_de_prueba(tmp_path)
    yield app, db, clock
    db.close_all()


def _cookie(cliente) -> str | None:
    c = cliente.get_cookie("sam_consola")
    return c.value if c else None


def test_sign_in_opens_a_new_session_with_a_secure_cookie(entorno):
    app, db, _ = entorno
    cliente = app.test_client()
    previo = token(cliente)
    antes = _cookie(cliente)
    r = cliente.post("/login", data={"Usuario": "Operador ", "Clave": CLAVE, "csrf_token": previo,
                                     "siguiente": "/?x=1"})
    assert r.status_code == 303 and r.headers["Location"] == "/?x=1"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert _cookie(cliente) != antes
    # session fixation: the token of the anonymous session is no good in the new one
    assert cliente.post("/logout", data={"csrf_token": previo}).status_code == 400
    assert usuarios.consultar(db, "operador")["UltimoAcceso"] is not None


def test_secure_cookie_when_configured(tmp_path):
    app, db, _ = app_de_prueba(tmp_path, CONSOLA_COOKIE_SEGURA="true")
    r = entrar(app.test_client(), "lector")
    assert r.status_code == 303 and "Secure" in r.headers["Set-Cookie"]
    db.close_all()


def test_next_page_must_be_a_path_of_the_console(entorno):
    app, _, _ = entorno
    for malo in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        cliente = app.test_client()
        r = cliente.post("/login", data={"Usuario": "lector", "Clave": CLAVE, "csrf_token": token(cliente),
                                         "siguiente": malo})
        assert r.status_code == 303 and r.headers["Location"] == "/", malo


def test_unknown_user_and_wrong_password_get_the_same_answer(entorno):
    app, _, _ = entorno
    respuestas = []
    for usuario, clave in (("nadie", CLAVE), ("lector", "mala-clave-123"), ("lector", "")):
        cliente = app.test_client()
        r = entrar(cliente, usuario, clave)
        respuestas.append((r.status_code, acceso.MENSAJE_RECHAZO in r.get_data(as_text=True)))
        assert cliente.get("/").status_code == 302
    assert respuestas == [(401, True)] * 3


def test_five_failures_lock_the_account_for_fifteen_minutes(entorno):
    app, db, clock = entorno
    cliente = app.test_client()
    for _ in range(4):
        assert entrar(cliente, "operador", "mala-clave-123").status_code == 401
    assert usuarios.consultar(db, "operador")["IntentosFallidos"] == 4
    assert entrar(cliente, "operador", "mala-clave-123").status_code == 401
    fila = usuarios.consultar(db, "operador")
    assert fila["BloqueadoHasta"] is not None
    # locked: even the right password is refused with the same message
    r = entrar(cliente, "operador")
    assert r.status_code == 401 and acceso.MENSAJE_RECHAZO in r.get_data(as_text=True)
    clock.advance(14 * 60)
    assert entrar(cliente, "operador").status_code == 401
    clock.advance(61)
    assert entrar(cliente, "operador").status_code == 303
    assert usuarios.consultar(db, "operador")["IntentosFallidos"] == 0
    bloqueos = [f for f in auditoria.de_entidad(db, "UsuariosConsola") if f["Accion"] == "bloquear_cuenta"]
    assert [b["EntidadId"] for b in bloqueos] == ["operador"]


def test_a_success_resets_the_failure_count(entorno):
    app, db, _ = entorno
    cliente = app.test_client()
    for _ in range(4):
        entrar(cliente, "lector", "mala-clave-123")
    assert entrar(cliente, "lector").status_code == 303
    assert usuarios.consultar(db, "lector")["IntentosFallidos"] == 0


def test_the_session_expires_after_the_idle_time(entorno):
    app, _, clock = entorno
    cliente = app.test_client()
    assert entrar(cliente, "lector").status_code == 303
    clock.advance(29 * 60)
    assert cliente.get("/").status_code == 200  # activity: the idle time starts again
    clock.advance(29 * 60)
    assert cliente.get("/?auto=1").status_code == 200  # an auto-refresh is not activity
    clock.advance(2 * 60)
    r = cliente.get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert cliente.get("/", headers={"Accept": "application/json"}).status_code == 401


def test_logout_is_a_post_and_the_old_cookie_is_dead_afterwards(entorno):
    app, _, _ = entorno
    cliente = app.test_client()
    assert entrar(cliente, "lector").status_code == 303
    copia = _cookie(cliente)
    assert cliente.get("/logout").status_code == 405
    assert cliente.get("/").status_code == 200
    r = cliente.post("/logout", data={"csrf_token": token(cliente, "/")})
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert cliente.get("/").status_code == 302
    otro = app.test_client()
    otro.set_cookie("sam_consola", copia)
    assert otro.get("/").status_code == 302  # a copied cookie does not outlive the logout


def test_a_role_change_or_a_deactivation_ends_the_open_sessions(entorno):
    app, db, _ = entorno
    cliente = app.test_client()
    assert entrar(cliente, "operador").status_code == 303
    usuarios.cambiar_rol(db, ADMIN_CLI, "operador", "lector")
    assert cliente.get("/", headers={"Accept": "application/json"}).status_code == 401
    assert entrar(cliente, "operador").status_code == 303  # signs in again, now as lector
    assert cliente.get("/", headers={"Accept": "application/json"}).status_code == 200
    usuarios.desactivar(db, ADMIN_CLI, "operador")
    assert cliente.get("/").status_code == 302
    assert entrar(app.test_client(), "operador").status_code == 401


def test_the_login_form_needs_its_csrf_token(entorno):
    app, _, _ = entorno
    cliente = app.test_client()
    cliente.get("/login")
    r = cliente.post("/login", data={"Usuario": "lector", "Clave": CLAVE})
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)


def test_user_text_is_escaped_on_the_login_page(entorno):
    app, _, _ = entorno
    cliente = app.test_client()
    r = entrar(cliente, '<script>alert("x")</script>', "mala-clave-123")
    cuerpo = r.get_data(as_text=True)
    assert "<script>alert" not in cuerpo and "&lt;script&gt;" in cuerpo


def test_health_answers_ok_and_503_when_the_file_is_not_a_database(entorno, tmp_path):
    app, _, _ = entorno
    r = app.test_client().get("/health")
    assert r.status_code == 200 and r.get_json() == {"estado": "ok"}
    roto = tmp_path / "roto.db"
    roto.write_bytes(b"esto no es una base de datos SQLite " * 200)
    cfg = config(tmp_path, SQL_SAM_SQLITE_PATH=str(roto))
    from common.database.sql_client import DatabaseClient

    db = DatabaseClient.from_config(cfg, "SAM")
    r = crear_app(cfg, db).test_client().get("/health")
    assert r.status_code == 503 and r.get_json() == {"estado": "error"}
    # and a page that needs the database says so in Spanish, without a 500
    r = crear_app(cfg, db).test_client().post("/login", data={})
    assert r.status_code in (400, 503)
