"""The console's route table (CONSOLE §2, §3): every route of the app is in CONTRATO with its role,
and for every route the authentication, role and CSRF rules hold. A route added to the app without
an entry here, or an entry whose route disappeared, fails this test.

New views: add each (path, method) with its role to CONTRATO (and, for a route with converters
other than int, a sample value to MUESTRAS).
"""

from __future__ import annotations

import re

import pytest
from flask import Blueprint

from consola import rutas
from consola.rutas import ADMINISTRADOR, LECTOR, OPERADOR, PUBLICA, ROLES
from tests.consola_apoyo import app_de_prueba, entrar, token

CONTRATO: dict[tuple[str, str], str] = {
    ("/login", "GET"): PUBLICA,
    ("/login", "POST"): PUBLICA,
    ("/logout", "POST"): PUBLICA,
    ("/health", "GET"): PUBLICA,
    ("/static/<path:filename>", "GET"): PUBLICA,
    ("/", "GET"): LECTOR,
    # Read views (consola/vistas/<page>.py)
    ("/robots", "GET"): LECTOR,
    ("/robots/<robot_id>", "GET"): LECTOR,
    ("/equipos", "GET"): LECTOR,
    ("/programaciones", "GET"): LECTOR,
    ("/ejecuciones", "GET"): LECTOR,
    ("/ejecuciones/<ejecucion_id>", "GET"): LECTOR,
    ("/balanceador", "GET"): LECTOR,
    ("/pools", "GET"): ADMINISTRADOR,
    ("/mapeos", "GET"): ADMINISTRADOR,
    ("/auditoria", "GET"): ADMINISTRADOR,
    # Operator changes (consola/vistas/cambios_*.py)
    ("/programaciones", "POST"): OPERADOR,
    ("/programaciones/<programacion_id>", "POST"): OPERADOR,
    ("/ejecuciones/<ejecucion_id>/destrabar", "POST"): OPERADOR,
    ("/pausa", "POST"): OPERADOR,
    ("/configuracion", "GET"): ADMINISTRADOR,
    ("/configuracion", "POST"): ADMINISTRADOR,
    ("/usuarios", "GET"): ADMINISTRADOR,
    ("/usuarios", "POST"): ADMINISTRADOR,
    ("/robots/<robot_id>", "POST"): OPERADOR,
    ("/equipos/<equipo_id>", "POST"): OPERADOR,
    ("/asignaciones", "POST"): OPERADOR,
    ("/pools", "POST"): ADMINISTRADOR,
    ("/mapeos", "POST"): ADMINISTRADOR,
    ("/solicitudes", "POST"): OPERADOR,
}
#: Values for URL converters when a route is requested.
MUESTRAS = {"int": "1", "path": "consola.css", "string": "x", "default": "x"}
CABECERAS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")


@pytest.fixture
def entorno(tmp_path):
    app, db, clock = app_de_prueba(tmp_path)
    yield app, db, clock
    db.close_all()


def _url(regla: str) -> str:
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", lambda m: MUESTRAS.get(m.group(1) or "default", "x"), regla)


def _cliente(app, rol: str | None):
    cliente = app.test_client()
    if rol is not None:
        assert entrar(cliente, rol).status_code == 303
    return cliente


def _pedir(cliente, metodo: str, url: str, **kw):
    return cliente.open(url, method=metodo, **kw)


def _seguridad(r) -> None:
    for cabecera in CABECERAS:
        assert cabecera in r.headers, cabecera
    assert "'unsafe-inline'" not in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"


def test_the_app_has_exactly_the_routes_of_the_contract(entorno):
    app, _, _ = entorno
    tabla = {(regla, metodo): rol for regla, metodo, rol in rutas.tabla(app)}
    assert set(tabla) - set(CONTRATO) == set(), "routes without an entry in CONTRATO"
    assert set(CONTRATO) - set(tabla) == set(), "routes of CONTRATO missing from the app"
    assert tabla == CONTRATO, "a route's declared role differs from the contract"


def test_a_route_registered_without_a_role_stops_the_factory(tmp_path, monkeypatch):
    from consola import app as modulo_app

    bp = Blueprint("colada", __name__)
    bp.add_url_rule("/colada", view_func=lambda: "x")
    original = modulo_app._modulos_de_vistas
    monkeypatch.setattr(modulo_app, "_modulos_de_vistas", lambda: [*original(), type("M", (), {"bp": bp})])
    with pytest.raises(RuntimeError, match="colada"):
        app_de_prueba(tmp_path)


@pytest.mark.parametrize("ruta,metodo", sorted(k for k, v in CONTRATO.items() if v != PUBLICA))
def test_unauthenticated_requests_are_sent_to_login_or_refused(entorno, ruta, metodo):
    app, _, _ = entorno
    cliente, url = app.test_client(), _url(ruta)
    r = _pedir(cliente, metodo, url, data={"csrf_token": "x"})
    _seguridad(r)
    if metodo == "GET":
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?siguiente=")
    else:
        assert r.status_code in (401, 403)
    r = _pedir(cliente, metodo, url, headers={"Accept": "application/json"})
    assert r.status_code == 401 and r.is_json and r.get_json()["estado"] == "no_autenticado"


@pytest.mark.parametrize("ruta,metodo", sorted(CONTRATO))
def test_each_role_gets_exactly_what_the_contract_allows(entorno, ruta, metodo):
    app, db, _ = entorno
    requerido = CONTRATO[(ruta, metodo)]
    for rol in ROLES:
        cliente = _cliente(app, rol)
        datos = {"csrf_token": token(cliente, "/")} if metodo == "POST" else None
        r = _pedir(cliente, metodo, _url(ruta), data=datos)
        _seguridad(r)
        assert r.status_code < 500, (rol, r.status_code)
        if rutas.puede(rol, requerido):
            assert r.status_code != 403, (rol, ruta, metodo)
        else:
            assert r.status_code == 403, (rol, ruta, metodo)
            assert "Acceso denegado" in r.get_data(as_text=True)
            rj = _pedir(cliente, metodo, _url(ruta), data=datos, headers={"Accept": "application/json"})
            assert rj.status_code == 403 and rj.get_json()["codigo"] == 403
            if metodo == "POST":
                _refusal_audited(db, rol, "POST " + _url(ruta), 403, veces=2)


def _refusal_audited(db, usuario: str, ruta: str, codigo: int, veces: int = 1) -> list[dict]:
    """CONSOLE §4: the refused POST left its 'rechazado' audit rows (user, role, IP, reason), no values."""
    from common.operaciones import auditoria

    filas = [f for f in db.query("SELECT * FROM Auditoria WHERE Usuario = ? ORDER BY AuditoriaId", (usuario,))
             if f["Despues"] and auditoria.json.loads(f["Despues"]).get("Ruta") == ruta]
    assert len(filas) == veces, (usuario, ruta, filas)
    for f in filas:
        despues = auditoria.json.loads(f["Despues"])
        assert f["Resultado"] == "rechazado" and f["Rol"] == usuario and f["Ip"], f
        assert despues["Codigo"] == codigo and despues["Motivo"], f
        assert "csrf_token" not in despues["Campos"] and len(f["Despues"]) < 2000, f
    return filas


@pytest.mark.parametrize("ruta", sorted(r for (r, m) in CONTRATO if m == "POST"))
def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_with_400(entorno, ruta):
    app, db, _ = entorno
    cliente = _cliente(app, ADMINISTRADOR)
    for datos in ({}, {"csrf_token": "falso"}):
        r = cliente.post(_url(ruta), data=datos)
        _seguridad(r)
        assert r.status_code == 400, (ruta, datos)
    # a CSRF refusal is not audited: the post may be another site's, not the signed-in user's
    assert db.query("SELECT COUNT(*) AS n FROM Auditoria WHERE Usuario = ?", (ADMINISTRADOR,))[0]["n"] == 0
    assert cliente.get("/").status_code == 200  # still signed in: nothing was done


def test_authenticated_pages_are_not_cached_and_static_files_are_served(entorno):
    app, _, _ = entorno
    cliente = _cliente(app, LECTOR)
    r = cliente.get("/")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    css = cliente.get("/static/consola.css")
    assert css.status_code == 200 and "text/css" in css.headers["Content-Type"]
    _seguridad(css)


def test_unknown_paths_and_methods_answer_spanish_pages(entorno):
    app, _, _ = entorno
    cliente = _cliente(app, LECTOR)
    r = cliente.get("/no-existe")
    assert r.status_code == 404 and "no existe" in r.get_data(as_text=True)
    _seguridad(r)
    r = cliente.get("/logout")
    assert r.status_code == 405 and "POST" in r.headers["Allow"]


def test_roles_are_cumulative():
    assert rutas.puede(ADMINISTRADOR, OPERADOR) and rutas.puede(OPERADOR, LECTOR)
    assert not rutas.puede(LECTOR, OPERADOR) and not rutas.puede(None, LECTOR) and rutas.puede(None, PUBLICA)


# --- POST routes with an empty body ----------------------------------------------------------
def _contenido(db) -> dict[str, list]:
    from common.database.schema import TABLES

    return {t: [tuple(f.values()) for f in db.query(f"SELECT * FROM {t}")] for t in TABLES}  # noqa: S608 - constant names


@pytest.mark.parametrize("ruta", sorted(r for (r, m), rol in CONTRATO.items() if m == "POST" and rol != PUBLICA))
def test_a_post_with_a_valid_token_and_role_but_an_empty_body_is_refused_in_spanish_and_writes_nothing(entorno, ruta):
    app, db, _ = entorno
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'P1')")
    db.execute("INSERT INTO Equipos (EquipoId, Equipo) VALUES (1, 'VM1')")
    cliente = _cliente(app, ADMINISTRADOR)
    datos = {"csrf_token": token(cliente, "/")}
    url = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", "1", ruta)
    antes = _contenido(db)
    r = cliente.post(url, data=datos)
    _seguridad(r)
    assert r.status_code in (400, 409, 422), (ruta, r.status_code)
    cuerpo = r.get_data(as_text=True)
    assert re.search(r"Falta|Indique|Acción desconocida|ningún campo|no válid|debe", cuerpo), cuerpo[-600:]
    rj = cliente.post(url, data=datos, headers={"Accept": "application/json"})
    assert rj.status_code == r.status_code and rj.get_json()["mensaje"]
    if r.status_code == 400:  # refused by the console before any operation: audited by it (D4)
        _refusal_audited(db, ADMINISTRADOR, "POST " + url, 400, veces=2)
    despues = _contenido(db)
    # a refusal the operation made itself is audited (CONSOLE §4): only 'rechazado' rows may appear
    nuevas = db.query("SELECT Resultado FROM Auditoria WHERE AuditoriaId > ?", (max([0] + [f[0] for f in antes["Auditoria"]]),))
    assert {f["Resultado"] for f in nuevas} <= {"rechazado"}
    antes.pop("Auditoria"), despues.pop("Auditoria")
    assert despues == antes, "an empty form wrote something"


def test_a_refused_post_is_audited_with_field_names_only_never_a_secret_value(entorno):
    app, db, _ = entorno
    cliente = _cliente(app, LECTOR)
    datos = {"csrf_token": token(cliente, "/"), "accion": "crear", "Usuario": "nuevo", "Clave": "Secreto.De.Prueba.1"}
    assert cliente.post("/usuarios", data=datos).status_code == 403
    fila = _refusal_audited(db, LECTOR, "POST /usuarios", 403)[0]
    assert fila["Accion"] == "crear" and fila["Entidad"] == "UsuariosConsola"
    assert "Secreto.De.Prueba.1" not in str(fila) and "Clave" in fila["Despues"]
