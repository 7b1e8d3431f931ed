"""XSS and SQL-injection payloads (CONSOLE §4, §5): text that comes from A360 or the DB (robot and
equipo names, callback bodies, MensajeError, service errors, audit JSON) is shown escaped on every
read view, and the same payloads in every filter neither break a query nor reach the page raw."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import quote

import pytest

from tests.consola_apoyo import app_de_prueba, entrar, token

PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "' OR 1=1 --", "'; DROP TABLE Robots; --",
            "%_[]\\")
AHORA = datetime(2026, 3, 2, 10, 0)


@pytest.fixture
def cliente(tmp_path):
    app, db, _ = app_de_prueba(tmp_path)
    x = db.execute
    x("INSERT INTO Pools (PoolId, Nombre, Descripcion) VALUES (1, ?, ?)", (PAYLOADS[1], PAYLOADS[0]))
    x("INSERT INTO Robots (RobotId, Robot, Descripcion, Parametros, PoolId) VALUES (1, ?, ?, ?, 1)",
      (PAYLOADS[0], PAYLOADS[1], PAYLOADS[0]))
    x("INSERT INTO Robots (RobotId, Robot) VALUES (2, ?)", (PAYLOADS[2],))
    x("INSERT INTO Equipos (EquipoId, Equipo, UserName, EstadoA360) VALUES (1, ?, ?, ?)",
      (PAYLOADS[1], PAYLOADS[0], PAYLOADS[0]))
    x("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor) VALUES (1, 1, 'Balanceador')")
    x("INSERT INTO Programaciones (RobotId, TipoProgramacion, HoraInicio, DiaSemana) VALUES (1, 'Semanal', '08:00', ?)",
      (PAYLOADS[0],))
    x("INSERT INTO Ejecuciones (EjecucionId, DeploymentId, RobotId, EquipoId, Estado, FechaInicio, FechaFin, "
      "MensajeError, CallbackInfo) VALUES (1, ?, 1, 1, 'RUN_FAILED', ?, ?, ?, ?)",
      (PAYLOADS[1], AHORA - timedelta(hours=1), AHORA - timedelta(minutes=30), PAYLOADS[0],
       '{"botOutput": "' + PAYLOADS[0] + '"}'))
    x("INSERT INTO CallbacksRecibidos (DeploymentId, Estado, Payload) VALUES (?, ?, ?)",
      (PAYLOADS[1], PAYLOADS[0], PAYLOADS[1]))
    x("INSERT INTO EstadoServicios (Servicio, Host, Pid, Version, Rol, Inicio, UltimoLatido, UltimoError) "
      "VALUES (?, ?, 1, ?, 'activo', ?, ?, ?)", (PAYLOADS[0], PAYLOADS[1], PAYLOADS[0], AHORA, AHORA, PAYLOADS[0]))
    x("INSERT INTO HistoricoBalanceo (FechaBalanceo, RobotId, TicketsPendientes, EquiposAsignadosAntes, "
      "EquiposAsignadosDespues, AccionTomada, Justificacion, CodigoMotivo, EquipoIds) VALUES (?, 1, 5, 0, 1, ?, ?, ?, ?)",
      (AHORA - timedelta(minutes=5), PAYLOADS[0], PAYLOADS[1], PAYLOADS[0], PAYLOADS[1]))
    x("INSERT INTO MapeoRobots (Proveedor, NombreExterno, RobotId) VALUES ('rpa360', ?, 1)", (PAYLOADS[0],))
    x("INSERT INTO Auditoria (Usuario, Accion, Entidad, Resultado, Antes, Despues) VALUES (?, ?, ?, 'ok', ?, ?)",
      (PAYLOADS[0], PAYLOADS[1], PAYLOADS[0], PAYLOADS[1], PAYLOADS[0]))
    c = app.test_client()
    assert entrar(c, "administrador").status_code == 303
    yield c, db
    db.close_all()


PAGINAS = ("/", "/robots", "/robots/1", "/robots/2", "/equipos", "/programaciones", "/ejecuciones", "/ejecuciones/1",
           "/balanceador", "/balanceador?robot=1", "/pools", "/mapeos", "/auditoria")


def _sin_crudo(html: str) -> None:
    assert "<script>alert" not in html and "<img src=x" not in html and "onerror=alert(1)>" not in html


@pytest.mark.parametrize("url", PAGINAS)
def test_data_from_a360_and_the_db_is_shown_escaped(cliente, url):
    c, _ = cliente
    r = c.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    html = r.get_data(as_text=True)
    _sin_crudo(html)
    assert "&lt;script&gt;" in html or "&#34;&gt;&lt;img" in html or "&#39; OR 1=1" in html
    rj = c.get(url, headers={"Accept": "application/json"})
    assert rj.status_code == 200 and rj.is_json


FILTROS = {"/robots": ("q", "activo", "online", "programado", "pool", "orden", "dir", "pagina", "tamano"),
           "/equipos": ("q", "etiqueta", "activo", "dinamico", "pool", "orden", "dir", "pagina"),
           "/programaciones": ("robot", "activo", "pagina"),
           "/ejecuciones": ("robot", "equipo", "estado", "desde", "hasta", "antes", "tamano"),
           "/balanceador": ("robot", "antes", "horas"),
           "/auditoria": ("usuario", "entidad", "resultado", "desde", "hasta", "antes")}


@pytest.mark.parametrize("ruta,campo", [(r, c) for r, cs in FILTROS.items() for c in cs])
def test_payloads_in_every_filter_give_200_or_400_escaped_and_change_nothing(cliente, ruta, campo):
    c, db = cliente
    for carga in PAYLOADS:
        r = c.get(f"{ruta}?{campo}={quote(carga)}")
        assert r.status_code in (200, 400), (ruta, campo, carga, r.status_code)
        _sin_crudo(r.get_data(as_text=True))
    assert db.query_one("SELECT COUNT(*) AS n FROM Robots")["n"] == 2


def test_a_search_for_a_payload_finds_exactly_the_row_that_holds_it(cliente):
    c, _ = cliente
    for carga, esperado in ((PAYLOADS[2], [2]), (PAYLOADS[0], [1]), ("%", []), ("_", [])):
        robots = c.get("/robots?q=" + quote(carga), headers={"Accept": "application/json"}).get_json()["robots"]
        assert [r["RobotId"] for r in robots] == esperado, carga
    equipos = c.get("/equipos?q=" + quote(PAYLOADS[1]), headers={"Accept": "application/json"}).get_json()["equipos"]
    assert [e["EquipoId"] for e in equipos] == [1]
    assert c.get("/auditoria?usuario=" + quote(PAYLOADS[0]), headers={"Accept": "application/json"}).get_json()[
        "auditoria"][0]["Accion"] == PAYLOADS[1]


# --- numbers: one strict parser (ASCII digits only, within SQL Server's INT) -------------------------
#: What ``str.isdigit()`` or ``int()`` let through and no number field may take: a superscript,
#: Arabic-Indic and full-width digits, a sign, a space, an exponent, hex, an underscore, a double
#: minus and a 40-digit number (SQL Server INT overflow).
NUMEROS = ("²", "١٢", "１２", "+1", " 1", "1e3", "0x10", "1_0", "--1", "9" * 40)

#: Every GET filter that takes a number (the others take text, a choice or a date).
FILTROS_NUMERICOS = {"/robots": ("pool", "pagina", "tamano"), "/equipos": ("pool", "pagina", "tamano"),
                     "/programaciones": ("robot", "pagina"), "/ejecuciones": ("antes", "tamano"),
                     "/balanceador": ("robot", "antes", "horas"), "/auditoria": ("antes", "tamano")}


def _es_400_en_castellano(r) -> None:
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True)[:300])
    cuerpo = r.get_data(as_text=True)
    assert "número" in cuerpo or "numérico" in cuerpo or "entre" in cuerpo, cuerpo[:400]


@pytest.mark.parametrize("ruta,campo", [(r, c) for r, cs in FILTROS_NUMERICOS.items() for c in cs])
@pytest.mark.parametrize("numero", NUMEROS)
def test_a_number_filter_takes_ascii_digits_only_else_a_spanish_400(cliente, ruta, campo, numero):
    c, _ = cliente
    _es_400_en_castellano(c.get(f"{ruta}?{campo}={quote(numero)}"))


@pytest.mark.parametrize("ruta", ["/robots/{}", "/ejecuciones/{}"])
@pytest.mark.parametrize("numero", NUMEROS)
def test_an_id_in_a_read_url_takes_ascii_digits_only_else_a_spanish_400(cliente, ruta, numero):
    c, _ = cliente
    _es_400_en_castellano(c.get(ruta.format(quote(numero))))


def _posts(numero: str) -> list[tuple[str, dict]]:
    """Every POST route and id/number field, with ``numero`` in that field and the rest valid."""
    prog = {"RobotId": "2", "TipoProgramacion": "Mensual", "HoraInicio": "07:00", "DiaDelMes": "5", "EquipoId": "1"}
    posts = [(f"/{entidad}/{quote(numero)}", {"accion": "modificar", "version": "2026-01-01T00:00:00"})
             for entidad in ("robots", "equipos", "programaciones")]
    if numero == numero.strip():  # these lists of ids are separated by commas or spaces
        posts += [("/pools", {"accion": "mover", "RobotId": numero}), ("/pools", {"accion": "mover", "EquipoId": numero})]
    if numero == numero.strip() and not re.fullmatch(r"[A-Za-z0-9_.\-]*[A-Za-z_.\-][A-Za-z0-9_.\-]*", numero):
        # /asignaciones takes an equipo's id or its name: "1e3", "0x10" or "1_0" are names (409 if unknown)
        posts += [("/asignaciones", {"accion": "reservar", "RobotId": "1", "EquipoId": numero}),
                  ("/asignaciones", {"accion": "liberar", "RobotId": "1", "EquipoId": f"1, {numero}"})]
    posts += [(f"/ejecuciones/{quote(numero)}/destrabar", {}),
              ("/asignaciones", {"accion": "reservar", "RobotId": numero, "EquipoId": "1"}),
              ("/programaciones", {**prog, "RobotId": numero}), ("/programaciones", {**prog, "EquipoId": numero}),
              ("/mapeos", {"accion": "crear", "Proveedor": "rpa360", "NombreExterno": "x", "RobotId": numero}),
              ("/mapeos", {"accion": "eliminar", "MapeoId": numero}),
              ("/pools", {"accion": "eliminar", "PoolId": numero, "version": "2026-01-01T00:00:00"}),
              ]
    posts += [("/programaciones", {**prog, campo: numero}) for campo in
              ("Tolerancia", "DiaDelMes", "IntervaloEntreEjecuciones", "DiaInicioMes", "DiaFinMes", "UltimosDiasMes")]
    return posts


@pytest.mark.parametrize("numero", NUMEROS)
def test_every_posted_id_or_number_takes_ascii_digits_only_else_a_spanish_400(cliente, numero):
    c, db = cliente
    csrf = token(c, "/")
    antes = db.query("SELECT * FROM Asignaciones ORDER BY RobotId, EquipoId")
    for ruta, datos in _posts(numero):
        r = c.post(ruta, data={"csrf_token": csrf, **datos})
        assert r.status_code == 400, (ruta, datos, r.status_code, r.get_data(as_text=True)[:300])
        cuerpo = r.get_data(as_text=True)
        assert any(p in cuerpo for p in ("número", "numérico", "dentificador", "debe estar entre")), (ruta, datos, cuerpo[:400])
    assert db.query("SELECT * FROM Asignaciones ORDER BY RobotId, EquipoId") == antes
    assert db.query_one("SELECT COUNT(*) AS n FROM Programaciones")["n"] == 1


@pytest.mark.parametrize("campo", ["MinEquipos", "MaxEquipos", "PrioridadBalanceo", "PoolId"])
@pytest.mark.parametrize("numero", NUMEROS)
def test_an_edited_robot_number_takes_ascii_digits_only_and_nothing_is_written(cliente, campo, numero):
    c, db = cliente
    antes = db.query_one("SELECT * FROM Robots WHERE RobotId = 2")
    r = c.post("/robots/2", data={"csrf_token": token(c, "/"), campo: numero,
                                  "version": str(antes["FechaActualizacion"])})
    assert r.status_code in (400, 409, 422), (r.status_code, r.get_data(as_text=True)[:300])
    assert "número entero" in r.get_data(as_text=True)
    assert db.query_one("SELECT * FROM Robots WHERE RobotId = 2") == antes


# --- dates: SAM's local time, never an offset or a zone ----------------------------------------------
CON_ZONA = ("2026-12-31T10:00+02:00", "2026-12-31T10:00Z", "2026-12-31 10:00:00-05:30", "2026-12-31T10:00:00.000+00:00")


@pytest.mark.parametrize("fecha", CON_ZONA)
def test_a_pause_until_a_date_with_an_offset_is_a_spanish_400_and_nothing_is_written(cliente, fecha):
    c, db = cliente
    r = c.post("/pausa", data={"csrf_token": token(c, "/"), "accion": "pausar", "LANZADOR_PAUSA_MANUAL_HASTA": fecha})
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True)[:300])
    assert "sin zona horaria: hora local de SAM_ZONA_HORARIA" in r.get_data(as_text=True)
    assert db.query("SELECT * FROM ConfiguracionSistema WHERE Clave = 'LANZADOR_PAUSA_MANUAL_HASTA'") == []
    sin_zona = c.post("/pausa", data={"csrf_token": token(c, "/"), "accion": "pausar",
                                      "LANZADOR_PAUSA_MANUAL_HASTA": fecha[:16]})
    assert sin_zona.status_code == 303  # the same moment as local time is taken


@pytest.mark.parametrize("ruta,campo", [("/ejecuciones", "desde"), ("/ejecuciones", "hasta"),
                                        ("/auditoria", "desde"), ("/auditoria", "hasta")])
@pytest.mark.parametrize("fecha", CON_ZONA)
def test_a_date_filter_with_an_offset_is_a_spanish_400(cliente, ruta, campo, fecha):
    c, _ = cliente
    r = c.get(f"{ruta}?{campo}={quote(fecha)}")
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True)[:300])
    assert "sin zona horaria: hora local de SAM_ZONA_HORARIA" in r.get_data(as_text=True)


def test_a_row_version_with_an_offset_is_a_spanish_400_and_nothing_is_written(cliente):
    c, db = cliente
    antes = db.query_one("SELECT * FROM Robots WHERE RobotId = 2")
    r = c.post("/robots/2", data={"csrf_token": token(c, "/"), "MinEquipos": "1",
                                  "version": "2026-01-01T00:00:00.000+02:00"})
    assert r.status_code == 400 and "sin zona horaria" in r.get_data(as_text=True)
    assert db.query_one("SELECT * FROM Robots WHERE RobotId = 2") == antes


# --- Ejecuciones filtered by a robot's or equipo's name -------------------------------------------
def _ejecuciones(c, consulta: str) -> dict:
    r = c.get("/ejecuciones?" + consulta, headers={"Accept": "application/json"})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.get_json()


def test_ejecuciones_filter_takes_a_robot_or_equipo_name_exact_and_case_insensitive(cliente):
    c, db = cliente
    db.execute("INSERT INTO Ejecuciones (EjecucionId, DeploymentId, RobotId, EquipoId, Estado, FechaInicio) "
               "VALUES (2, 'dep-2', 2, 1, 'RUNNING', ?)", (AHORA,))
    por_id = _ejecuciones(c, "robot=1")
    assert [x["EjecucionId"] for x in por_id["ejecuciones"]] == [1]
    for nombre in (PAYLOADS[0], PAYLOADS[0].upper()):  # robot 1's name, any case
        datos = _ejecuciones(c, "robot=" + quote(nombre))
        assert [x["EjecucionId"] for x in datos["ejecuciones"]] == [1] and datos["avisos"] == []
    assert [x["EjecucionId"] for x in _ejecuciones(c, "robot=" + quote(PAYLOADS[2]))["ejecuciones"]] == [2]
    assert [x["EjecucionId"] for x in _ejecuciones(c, "equipo=" + quote(PAYLOADS[1]))["ejecuciones"]] == [2, 1]
    assert _ejecuciones(c, "robot=" + quote(PAYLOADS[0][:-1]))["ejecuciones"] == []  # exact, not a prefix


@pytest.mark.parametrize("campo,que", [("robot", "robot"), ("equipo", "equipo")])
def test_ejecuciones_filter_with_an_unknown_name_says_so_and_lists_nothing(cliente, campo, que):
    c, _ = cliente
    datos = _ejecuciones(c, f"{campo}=NoExiste_Zeta")
    assert datos["ejecuciones"] == [] and datos["avisos"] == [f"Ningún {que} se llama «NoExiste_Zeta»."]
    html = c.get(f"/ejecuciones?{campo}=NoExiste_Zeta").get_data(as_text=True)
    assert f"Ningún {que} se llama «NoExiste_Zeta»." in html
    assert 'value="NoExiste_Zeta"' in html  # the form keeps what was typed


def test_ejecuciones_filter_with_a_name_two_equipos_share_asks_for_the_id(cliente):
    c, db = cliente
    db.execute("INSERT INTO Equipos (EquipoId, Equipo) VALUES (7, 'VMDOBLE'), (8, 'vmdoble')")
    datos = _ejecuciones(c, "equipo=VmDoble")
    assert datos["ejecuciones"] == [] and "(ids 7, 8)" in datos["avisos"][0]


def test_balanceador_chart_title_names_the_robot(cliente):
    c, db = cliente
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (3, 'P3_Nominas')")
    db.execute("INSERT INTO HistoricoBalanceo (FechaBalanceo, RobotId, TicketsPendientes, EquiposAsignadosAntes, "
               "EquiposAsignadosDespues, AccionTomada) VALUES (?, 3, 5, 0, 1, 'asignar')", (AHORA,))
    html = c.get("/balanceador?robot=3").get_data(as_text=True)
    assert "Tickets y equipos del robot P3_Nominas en las últimas 24 h" in html
