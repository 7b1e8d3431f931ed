"""The console's read views (CONSOLE §3) on a seeded SQLite SAM DB: each page in HTML and JSON, its
filters, sort and paging, and bad input answered 400 (or 404 for an unknown id), never 500."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from consola import consultas
from tests.consola_apoyo import app_de_prueba, entrar

AHORA = datetime(2026, 3, 2, 10, 0)  # the FixedClock of app_de_prueba in Europe/Madrid
JSON = {"Accept": "application/json"}


def sembrar(db) -> None:
    """3 robots, 4 equipos, a pool, assignments of each kind, schedules, live and moved executions."""
    x = db.execute
    x("INSERT INTO Pools (PoolId, Nombre, Descripcion) VALUES (1, 'Finanzas', 'pool de finanzas')")
    for rid, nombre, online, activo, pool in ((1, "Facturas", 1, 1, None), (2, "Nominas", 0, 1, 1),
                                             (3, "Viejo_robot", 0, 0, None)):
        x("INSERT INTO Robots (RobotId, Robot, EsOnline, Activo, PoolId, PrioridadBalanceo, FechaSincronizacion) "
          "VALUES (?, ?, ?, ?, ?, ?, ?)", (rid, nombre, online, activo, pool, 10 * rid, AHORA - timedelta(minutes=5)))
    for eid, nombre in ((11, "VM01"), (12, "VM02"), (13, "VM03"), (14, "VM04")):
        x("INSERT INTO Equipos (EquipoId, Equipo, UserName, Licencia, FechaSincronizacion) VALUES (?, ?, ?, ?, ?)",
          (eid, nombre, f"usr{eid}", "RUNTIME", AHORA - timedelta(minutes=4)))
    x("INSERT INTO Programaciones (ProgramacionId, RobotId, TipoProgramacion, HoraInicio, DiaSemana) "
      "VALUES (1, 2, 'Semanal', '08:00:00', 'LU,MI')")
    x("INSERT INTO Programaciones (ProgramacionId, RobotId, TipoProgramacion, HoraInicio, HoraFin, EsCiclico, "
      "IntervaloEntreEjecuciones) VALUES (2, 1, 'Diaria', '09:00:00', '18:00:00', 1, 30)")
    x("INSERT INTO Programaciones (ProgramacionId, RobotId, TipoProgramacion, HoraInicio, UltimosDiasMes) "
      "VALUES (3, 2, 'RangoMensual', '07:00:00', 3)")
    x("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, ProgramacionId) VALUES (2, 11, 1, 1)")
    x("INSERT INTO Asignaciones (RobotId, EquipoId, Reservado) VALUES (1, 12, 1)")
    x("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor) VALUES (1, 13, 'Balanceador')")
    ins = ("INSERT INTO Ejecuciones (EjecucionId, DeploymentId, RobotId, EquipoId, Estado, FechaInicio, FechaFin, "
           "FechaActualizacion, MensajeError, CallbackInfo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    x(ins, (101, "dep-101", 1, 13, "RUNNING", AHORA - timedelta(minutes=10), None, AHORA, None, None))
    x(ins, (102, None, 1, 12, "LANZANDO", AHORA - timedelta(hours=2), None, AHORA - timedelta(hours=2), None, None))
    x(ins, (103, "dep-103", 2, 11, "RUNNING", AHORA - timedelta(hours=20), None, AHORA, None, None))
    x(ins, (104, "dep-104", 1, 13, "RUN_FAILED", AHORA - timedelta(hours=3), AHORA - timedelta(hours=2), None,
            "Error de bot", '{"status": "RUN_FAILED"}'))
    x(ins, (105, "dep-105", 1, 13, "RUN_FAILED", AHORA - timedelta(hours=2), AHORA - timedelta(hours=1), None,
            "Error de bot", None))
    x("INSERT INTO Ejecuciones_Historico (EjecucionId, RobotId, EquipoId, Estado, FechaInicio, FechaFin, "
      "FechaMovimiento) VALUES (50, 1, 12, 'RUN_COMPLETED', ?, ?, ?)",
      (AHORA - timedelta(days=40), AHORA - timedelta(days=40), AHORA - timedelta(days=10)))
    x("INSERT INTO CallbacksRecibidos (DeploymentId, Estado, Payload, Aplicado) VALUES ('dep-104', 'RUN_FAILED', "
      "'{\"status\": \"RUN_FAILED\"}', 1)")
    x("INSERT INTO EstadoServicios (Servicio, Host, Pid, Version, Rol, Inicio, UltimoLatido, UltimoCicloOk) "
      "VALUES ('lanzador', 'srv1', 10, '0.2.0', 'lider', ?, ?, ?)", (AHORA, AHORA - timedelta(seconds=5), AHORA))
    x("INSERT INTO EstadoServicios (Servicio, Host, Pid, Version, Rol, Inicio, UltimoLatido, UltimoError) "
      "VALUES ('balanceador', 'srv1', 11, '0.2.0', 'lider', ?, ?, 'fallo de fuente')",
      (AHORA - timedelta(hours=1), AHORA - timedelta(minutes=10)))
    for i in range(6):
        x("INSERT INTO HistoricoBalanceo (FechaBalanceo, RobotId, TicketsPendientes, EquiposAsignadosAntes, "
          "EquiposAsignadosDespues, AccionTomada, Justificacion, CodigoMotivo, PoolId) VALUES (?, 1, ?, ?, ?, ?, ?, ?, NULL)",
          (AHORA - timedelta(minutes=60 - 10 * i), 10 * i, i, i + 1, "ASIGNAR", f"más tickets {i}", "DEMANDA"))


@pytest.fixture
def entorno(tmp_path):
    app, db, clock = app_de_prueba(tmp_path)
    sembrar(db)
    yield app, db
    db.close_all()


@pytest.fixture
def lector(entorno):
    cliente = entorno[0].test_client()
    assert entrar(cliente, "lector").status_code == 303
    return cliente


def _html(r) -> str:
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return r.get_data(as_text=True)


def test_estado_shows_heartbeats_stale_in_red_pause_sync_running_stuck_and_failures(lector):
    j = lector.get("/", headers=JSON).get_json()
    servicios = {s["Servicio"]: s for s in j["servicios"]}
    assert servicios["lanzador"]["Caducado"] is False and servicios["balanceador"]["Caducado"] is True
    assert j["pausa"]["en_pausa"] is False
    assert j["sincronizacion"]["Robots"].startswith("2026-03-02T09:55")
    assert [x["EjecucionId"] for x in j["en_curso"]] == [101]
    atascadas = {x["EjecucionId"]: x["Motivo"] for x in j["atascadas"]}
    assert set(atascadas) == {102, 103} and "LANZANDO" in atascadas[102] and "min" in atascadas[103]
    assert [(f["RobotId"], f["Fallos"]) for f in j["fallos_24h"]] == [(1, 2)]
    html = _html(lector.get("/"))
    assert "sin latido" in html and "fallo de fuente" in html and "estado.js" in html


def test_estado_shows_the_manual_pause_from_configuracion_sistema(entorno, lector):
    entorno[1].execute("INSERT INTO ConfiguracionSistema (Clave, Valor) VALUES ('LANZADOR_PAUSA_MANUAL_HASTA', "
                       "'2026-03-02 12:00')")
    j = lector.get("/", headers=JSON).get_json()
    assert j["pausa"]["en_pausa"] is True and j["pausa"]["manual_hasta"].startswith("2026-03-02T12:00")
    assert "pausa manual hasta 2026-03-02 12:00" in _html(lector.get("/"))


def test_ejecuciones_lists_live_and_history_newest_first_with_filters(lector):
    j = lector.get("/ejecuciones", headers=JSON).get_json()
    assert [x["EjecucionId"] for x in j["ejecuciones"]] == [105, 104, 103, 102, 101, 50]
    assert j["ejecuciones"][-1]["Origen"] == "Ejecuciones_Historico"
    ids = lambda q: [x["EjecucionId"] for x in lector.get("/ejecuciones?" + q, headers=JSON).get_json()["ejecuciones"]]  # noqa: E731
    assert ids("robot=2") == [103]
    assert ids("equipo=12") == [102, 50]
    assert ids("estado=run_failed") == [105, 104]
    assert ids("desde=2026-03-01") == [105, 104, 103, 102, 101]
    assert ids("hasta=2026-02-01") == [50]
    assert "histórico" in _html(lector.get("/ejecuciones"))


def test_ejecuciones_keyset_paging_walks_every_row_once(lector, monkeypatch):
    monkeypatch.setattr(consultas, "VENTANA_INICIAL", 1)
    vistos, url = [], "/ejecuciones?tamano=25"
    j = lector.get(url, headers=JSON).get_json()
    vistos += [x["EjecucionId"] for x in j["ejecuciones"]]
    assert j["siguiente"] is None and vistos == [105, 104, 103, 102, 101, 50]
    monkeypatch.setattr(consultas, "PRESUPUESTO_IDS", 3)  # budget per request: pages go on where they stopped
    vistos, antes = [], None
    for _ in range(50):
        j = lector.get(url + (f"&antes={antes}" if antes else ""), headers=JSON).get_json()
        vistos += [x["EjecucionId"] for x in j["ejecuciones"]]
        antes = j["siguiente"]
        if antes is None:
            break
    assert vistos == [105, 104, 103, 102, 101, 50]


def test_ejecucion_detail_has_timeline_callback_and_error(lector):
    j = lector.get("/ejecuciones/104", headers=JSON).get_json()
    assert j["ejecucion"]["MensajeError"] == "Error de bot" and '"status": "RUN_FAILED"' in j["callback_legible"]
    assert [p["evento"] for p in j["linea_de_tiempo"]][0].startswith("Intento")
    assert any(p["evento"].startswith("Callback recibido (RUN_FAILED, aplicado") for p in j["linea_de_tiempo"])
    html = _html(lector.get("/ejecuciones/50"))
    assert "Ejecuciones_Historico" in html
    r = lector.get("/ejecuciones/999")
    assert r.status_code == 404 and "La ejecución 999 no existe" in r.get_data(as_text=True)
    assert lector.get("/ejecuciones/999", headers=JSON).get_json()["codigo"] == 404


def test_robots_list_search_filters_sort_and_paging(lector):
    nombres = lambda q: [r["Robot"] for r in lector.get("/robots?" + q, headers=JSON).get_json()["robots"]]  # noqa: E731
    assert nombres("") == ["Facturas", "Nominas", "Viejo_robot"]
    assert nombres("q=nom") == ["Nominas"]
    assert nombres("q=o_r") == ["Viejo_robot"]  # '_' is a letter, not a wildcard
    assert nombres("q=%25") == []
    assert nombres("activo=0") == ["Viejo_robot"]
    assert nombres("online=1") == ["Facturas"]
    assert nombres("programado=1") == ["Facturas", "Nominas"]
    assert nombres("pool=1") == ["Nominas"] and nombres("pool=general") == ["Facturas", "Viejo_robot"]
    assert nombres("orden=prioridad&dir=desc") == ["Viejo_robot", "Nominas", "Facturas"]
    assert nombres("orden=equipos&dir=desc")[0] == "Facturas"
    j = lector.get("/robots?tamano=25&pagina=1", headers=JSON).get_json()
    assert j["paginacion"] == {"pagina": 1, "tamano": 25, "total": 3, "paginas": 1}
    html = _html(lector.get("/robots?q=fac"))
    assert 'value="fac"' in html and "/robots/1" in html


def test_robot_detail_shows_assignments_schedules_and_last_executions(lector):
    j = lector.get("/robots/1", headers=JSON).get_json()
    assert j["robot"]["Robot"] == "Facturas"
    assert {a["Equipo"] for a in j["asignaciones"]} == {"VM02", "VM03"}
    assert j["programaciones"][0]["Descripcion"].startswith("Todos los días, de 09:00 a 18:00, cada 30 min")
    assert [x["EjecucionId"] for x in j["ultimas_ejecuciones"]] == [105, 104, 102, 101, 50]
    html = _html(lector.get("/robots/1"))
    assert "Reservado" in html and "Dinámico" in html
    assert lector.get("/robots/77").status_code == 404


def test_equipos_tags_filters_and_search(lector):
    j = lector.get("/equipos", headers=JSON).get_json()
    tags = {e["Equipo"]: e["Etiquetas"] for e in j["equipos"]}
    assert tags == {"VM01": ["Programado"], "VM02": ["Reservado"], "VM03": ["Dinámico"], "VM04": ["Libre"]}
    nombres = lambda q: [e["Equipo"] for e in lector.get("/equipos?" + q, headers=JSON).get_json()["equipos"]]  # noqa: E731
    assert nombres("etiqueta=libre") == ["VM04"] and nombres("etiqueta=dinamico") == ["VM03"]
    assert nombres("q=m0&orden=equipo&dir=desc") == ["VM04", "VM03", "VM02", "VM01"]
    assert "Dinámico" in _html(lector.get("/equipos"))


def test_programaciones_of_every_type_are_described_in_spanish_with_their_equipos(lector):
    j = lector.get("/programaciones", headers=JSON).get_json()
    por_id = {p["ProgramacionId"]: p for p in j["programaciones"]}
    assert por_id[1]["Descripcion"] == "Cada semana: lunes, miércoles, a las 08:00 (tolerancia 60 min)."
    assert por_id[1]["Equipos"] == [{"EquipoId": 11, "Equipo": "VM01"}]
    assert por_id[3]["Descripcion"].startswith("Cada mes, los últimos 3 días")
    assert "cíclica" in _html(lector.get("/programaciones"))
    assert [p["ProgramacionId"] for p in lector.get("/programaciones?robot=2", headers=JSON).get_json()[
        "programaciones"]] == [1, 3]


@pytest.mark.parametrize("url", [
    "/robots?activo=quizas", "/robots?pagina=0", "/robots?pagina=9", "/robots?pagina=abc", "/robots?orden=Robot;DROP",
    "/robots?dir=arriba", "/robots?tamano=7", "/robots?pool=x", "/robots?q=" + "a" * 201,
    "/equipos?etiqueta=rota", "/equipos?activo=2", "/programaciones?robot=-1",
    "/ejecuciones?robot=0", "/ejecuciones?equipo=-3", "/ejecuciones?estado=ROTO", "/ejecuciones?desde=ayer", "/ejecuciones?antes=0",
    "/ejecuciones?desde=2026-03-02&hasta=2026-03-01", "/ejecuciones?robot=99999999999",
])
def test_bad_input_is_a_spanish_400_never_a_500(lector, url):
    r = lector.get(url)
    assert r.status_code == 400, (url, r.status_code)
    texto = r.get_data(as_text=True)
    assert "filtro" in texto or "página" in texto or "Página" in texto
    rj = lector.get(url, headers=JSON)
    assert rj.status_code == 400 and rj.get_json()["codigo"] == 400 and rj.get_json()["mensaje"]


@pytest.mark.parametrize("url", ["/robots/abc", "/ejecuciones/1%20OR%201=1", "/robots/0", "/ejecuciones/-3"])
def test_non_numeric_ids_are_a_spanish_400(lector, url):
    r = lector.get(url)
    assert r.status_code == 400 and "identificador" in r.get_data(as_text=True)


def test_balanceador_shows_decisions_chart_plan_and_forecast(entorno, lector):
    j = lector.get("/balanceador?robot=1", headers=JSON).get_json()
    assert [d["TicketsPendientes"] for d in j["decisiones"]] == [50, 40, 30, 20, 10, 0]
    assert len(j["serie"]) == 6 and j["serie"][-1]["EquiposAsignadosDespues"] == 6
    assert "HistoricoBalanceo" in j["plan"]["fuente_tickets"]
    assert set(j["plan"]) >= {"acciones", "retenidos", "deseados", "pronostico"}
    html = _html(lector.get("/balanceador?robot=1&horas=24"))
    assert "<svg" in html and "<polyline" in html and "simulación, no se escribe nada" in html
    antes = entorno[1].query_one("SELECT COUNT(*) AS n FROM HistoricoBalanceo")["n"]
    _html(lector.get("/balanceador"))
    assert entorno[1].query_one("SELECT COUNT(*) AS n FROM HistoricoBalanceo")["n"] == antes  # dry run
    assert lector.get("/balanceador?horas=5").status_code == 400
    j = lector.get("/balanceador?tamano=25&antes=3", headers=JSON).get_json()
    assert [d["HistoricoId"] for d in j["decisiones"]] == [2, 1]


def test_admin_pages_pools_mapeos_and_audit_with_filters(entorno):
    app, db = entorno
    db.execute("INSERT INTO MapeoRobots (Proveedor, NombreExterno, RobotId) VALUES ('rpa360', 'FACT', 1)")
    for i, (usuario, resultado) in enumerate((("ana", "ok"), ("luis", "rechazado"), ("ana", "ok")), 1):
        db.execute("INSERT INTO Auditoria (Fecha, Usuario, Accion, Entidad, EntidadId, Resultado, Despues) "
                   "VALUES (?, ?, 'editar', 'Robots', '1', ?, '{\"Activo\": 0}')",
                   (AHORA - timedelta(days=3 - i), usuario, resultado))
    cliente = app.test_client()
    assert entrar(cliente, "administrador").status_code == 303
    pools = cliente.get("/pools", headers=JSON).get_json()["pools"]
    assert [(p["Nombre"], p["NumRobots"], p["NumEquipos"]) for p in pools] == [("Finanzas", 1, 0)]
    assert cliente.get("/mapeos", headers=JSON).get_json()["mapeos"][0]["Robot"] == "Facturas"
    usuarios = lambda q: [a["Usuario"] for a in cliente.get("/auditoria?" + q, headers=JSON).get_json()["auditoria"]]  # noqa: E731
    assert usuarios("usuario=ana") == ["ana", "ana"] and usuarios("resultado=rechazado") == ["luis"]
    assert len(usuarios("")) >= 3 and usuarios("desde=2099-01-01") == []
    for url in ("/pools", "/mapeos", "/auditoria"):
        assert "<h1>" in _html(cliente.get(url))
    assert cliente.get("/auditoria?resultado=todo").status_code == 400


def test_the_executions_window_reads_both_halves_of_the_view_by_primary_key_range(entorno):
    from common.database import sentencias

    db = entorno[1]
    texto = sentencias.sql(db, "consola.ejecuciones_ventana")
    plan = [str(f["detail"]) for f in db.query("EXPLAIN QUERY PLAN " + texto, (10**6, 0, 1, None, None, None, None, 50))]
    assert any("Ejecuciones_Historico USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in p for p in plan), plan
    assert any(p.startswith("SEARCH Ejecuciones USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)") for p in plan), plan
    assert not any(p.startswith("SCAN Ejecuciones") for p in plan), plan


def test_dates_are_shown_to_the_second_whatever_the_engine_returns():
    # SQLite answers MAX(FechaFin) as text with microseconds; SQL Server a datetime; a DATE stays a date
    from datetime import date, datetime

    from consola.vistas.estado import _fecha

    assert _fecha("2026-03-02 10:00:05.123456") == "2026-03-02 10:00:05"
    assert _fecha(datetime(2026, 3, 2, 10, 0, 5, 120000)) == "2026-03-02 10:00:05"
    assert _fecha(date(2026, 3, 2)) == "2026-03-02" and _fecha("2026-03-02") == "2026-03-02"
    assert _fecha(None) == "—" and _fecha("no es fecha") == "no es fecha"
