"""XSS and SQL-injection payloads (CONSOLE §4, §5): text that comes from A360 or the DB (robot and
equipo names, callback bodies, MensajeError, service errors, audit JSON) is shown escaped on every
read view, and the same payloads in every filter neither break a query nor reach the page raw."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

import pytest

from tests.consola_apoyo import app_de_prueba, entrar

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
