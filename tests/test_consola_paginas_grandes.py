"""Console pages over a big fleet (CONSOLE §5, issue 15): what a page draws is bounded, whatever the
size of the fleet — the robot page suggests a bounded list of equipos to reserve (and takes any
equipo by id or name), Estado shows the first open executions with their count and a link to the
rest, the Balanceador's plan is computed on demand."""

from __future__ import annotations

import re

import pytest

from consola import consultas
from tests.consola_apoyo import app_de_prueba, cliente, texto


@pytest.fixture
def entorno(tmp_path):
    app, db, clock = app_de_prueba(tmp_path)
    db.executemany("INSERT INTO Pools (PoolId, Nombre) VALUES (?, ?)", [(1, "Finanzas"), (2, "Operaciones")])
    db.executemany("INSERT INTO Robots (RobotId, Robot, PoolId) VALUES (?, ?, ?)",
                   [(1, "P1_Facturas", 1), (2, "P2_Pagos", None)])
    yield app, db, clock
    db.close_all()




def sugeridos(pagina: str) -> list[int]:
    lista = re.search(r'<datalist id="a-candidatos">(.*?)</datalist>', pagina, re.S)
    assert lista, "the robot page has no datalist of equipos"
    return [int(v) for v in re.findall(r'<option value="(\d+)"', lista.group(1))]


def reservados(db, robot_id: int = 1) -> list[int]:
    return [f["EquipoId"] for f in db.query("SELECT EquipoId FROM Asignaciones WHERE RobotId = ? AND Reservado = 1 "
                                            "ORDER BY EquipoId", (robot_id,))]


# --- robot page: the reserve form -------------------------------------------------------------
def test_B9_the_reserve_form_suggests_only_free_active_equipos_of_the_robots_pool_or_general(entorno):
    app, db, _ = entorno
    db.executemany("INSERT INTO Equipos (EquipoId, Equipo, PoolId, Activo_SAM) VALUES (?, ?, ?, ?)", [
        (10, "VM10_general", None, 1), (11, "VM11_finanzas", 1, 1), (12, "VM12_operaciones", 2, 1),
        (13, "VM13_inactivo", None, 0), (14, "VM14_asignado", None, 1), (15, "VM15_programado", 1, 1)])
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, AsignadoPor) "
               "VALUES (2, 14, 0, 0, 'Balanceador')")
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, AsignadoPor) "
               "VALUES (2, 15, 1, 0, 'Programacion')")
    c = cliente(app)
    assert sugeridos(texto(c.get("/robots/1"))) == [10, 11]  # its pool (Finanzas) and the general one
    assert sugeridos(texto(c.get("/robots/2"))) == [10]  # a general robot: general equipos only


def test_B9_the_suggestions_are_bounded_and_the_page_does_not_list_the_fleet(entorno):
    app, db, _ = entorno
    n = consultas.MAX_CANDIDATOS + 30
    db.executemany("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)",
                   [(i, f"VMRPA{i:05d}") for i in range(1, n + 1)])
    pagina = texto(cliente(app).get("/robots/1"))
    assert sugeridos(pagina) == list(range(1, consultas.MAX_CANDIDATOS + 1))  # the first ones by name
    assert f"VMRPA{n:05d}" not in pagina
    assert f"los primeros {consultas.MAX_CANDIDATOS}" in pagina and 'href="/equipos?etiqueta=libre' in pagina


def test_B9_an_equipo_not_suggested_is_reserved_by_its_id_or_its_name(entorno):
    app, db, _ = entorno
    db.executemany("INSERT INTO Equipos (EquipoId, Equipo, PoolId) VALUES (?, ?, ?)",
                   [(20, "VMRPA20", 2), (21, "VMRPA21", 2), (22, "VMRPA22", None)])
    c = cliente(app)
    assert sugeridos(texto(c.get("/robots/1"))) == [22]
    r = c.post("/asignaciones", data={"csrf_token": c.csrf, "RobotId": "1", "accion": "reservar",
                                      "EquipoId": "20, vmrpa21"})
    assert r.status_code == 303, texto(r)
    assert reservados(db) == [20, 21]
    r = c.post("/asignaciones", data={"csrf_token": c.csrf, "RobotId": "1", "accion": "liberar", "EquipoId": "VMRPA21"})
    assert r.status_code == 303 and reservados(db) == [20]


@pytest.mark.parametrize("valor,estado,aviso", [
    ("VMRPA99", 409, "«VMRPA99» no existe"),
    ("VMDOBLE", 409, "«VMDOBLE» es ambiguo (equipos 30, 31)"),
    ("VMRPA20;DROP", 400, "identificadores o nombres"),
])
def test_B9_an_unknown_or_ambiguous_name_is_refused_and_nothing_written(entorno, valor, estado, aviso):
    app, db, _ = entorno
    db.executemany("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)",
                   [(20, "VMRPA20"), (30, "VMDOBLE"), (31, "vmdoble")])
    c = cliente(app)
    r = c.post("/asignaciones", data={"csrf_token": c.csrf, "RobotId": "1", "accion": "reservar",
                                      "EquipoId": f"20 {valor}"})
    assert r.status_code == estado and aviso in texto(r)
    assert db.query_one("SELECT COUNT(*) AS n FROM Asignaciones")["n"] == 0


# --- Estado: the first open executions, the totals and a count per state ----------------------
def test_estado_draws_the_first_open_executions_with_the_totals_and_links_per_state(entorno):
    from datetime import timedelta

    from consola.vistas import estado

    app, db, clock = entorno
    ahora = clock.now_local().replace(tzinfo=None)
    n = estado.MAX_FILAS + 25
    db.execute("INSERT INTO Equipos (EquipoId, Equipo) VALUES (1, 'VM1')")
    ins = ("INSERT INTO Ejecuciones (EjecucionId, DeploymentId, RobotId, EquipoId, Estado, FechaInicio, "
           "FechaActualizacion) VALUES (?, ?, 1, 1, ?, ?, ?)")
    # running for i minutes (the oldest is i = n), and 3 queued for a day (stuck)
    db.executemany(ins, [(i, f"d{i}", "RUNNING", ahora - timedelta(minutes=i), ahora) for i in range(1, n + 1)])
    db.executemany(ins, [(1000 + i, f"q{i}", "QUEUED", ahora - timedelta(days=1), ahora - timedelta(days=1))
                         for i in range(3)])
    c = cliente(app, "lector")
    j = c.get("/", headers={"Accept": "application/json"}).get_json()
    assert j["total_en_curso"] == n and len(j["en_curso"]) == estado.MAX_FILAS
    assert [x["EjecucionId"] for x in j["en_curso"][:2]] == [n, n - 1]  # the longest running first
    assert j["total_atascadas"] == 3 and len(j["atascadas"]) == 3
    assert {e["Estado"]: e["Total"] for e in j["abiertas_por_estado"]} == {"QUEUED": 3, "RUNNING": n}
    pagina = texto(c.get("/"))
    assert f"En curso ahora ({n})" in pagina
    assert f"Se muestran las {estado.MAX_FILAS} más antiguas de {n}" in pagina
    assert f'<a href="/ejecuciones?estado=running">RUNNING: {n}</a>' in pagina
    assert pagina.count('<a href="/ejecuciones/') == estado.MAX_FILAS + 3
    assert c.get("/ejecuciones?estado=running").status_code == 200


# --- Balanceador: the plan computed at most once per PLAN_VIGENCIA_SEG, bounded tables ----------
def _plan_falso(n_acciones: int, calculos: list):
    def plan(db, cfg, ahora):
        calculos.append(ahora)
        return {"calculado": ahora, "fuente_tickets": "últimos tickets registrados en HistoricoBalanceo",
                "acciones": [{"RobotId": i, "Robot": f"R{i:03d}", "Accion": "ASIGNAR" if i % 3 else "DESASIGNAR",
                              "Equipos": [i], "Antes": 0, "Despues": 1, "Tickets": 10, "CodigoMotivo": "DEMANDA",
                              "Justificacion": f"fila-{i:03d}"} for i in range(1, n_acciones + 1)],
                "retenidos": [], "deseados": {},
                "pronostico": {"cabecera": ["Robot", "RobotId"], "nota": "",
                               "filas": [[f"R{i:03d}", str(i)] for i in range(1, n_acciones + 1)]}}
    return plan


def test_the_balanceador_plan_is_reused_within_its_validity_and_recomputed_on_request(entorno, monkeypatch):
    from consola.vistas import balanceador

    app, _, _ = entorno
    calculos: list = []
    monkeypatch.setattr(balanceador, "plan_siguiente", _plan_falso(3, calculos))
    c = cliente(app, "lector")
    primera = texto(c.get("/balanceador"))
    for _ in range(3):
        c.get("/balanceador")
    assert len(calculos) == 1  # one computation for four requests
    assert 'id="plan-calculado"' in primera and "Plan calculado a las 10:00:00" in primera  # SAM clock, Madrid
    c.get("/balanceador?recalcular=1")
    assert len(calculos) == 2


def test_the_balanceador_page_draws_at_most_max_rows_of_the_plan_and_the_robot_filter_narrows_it(entorno, monkeypatch):
    from consola.vistas import balanceador

    app, _, _ = entorno
    n = balanceador.MAX_FILAS_PLAN + 20
    monkeypatch.setattr(balanceador, "plan_siguiente", _plan_falso(n, []))
    c = cliente(app, "lector")
    pagina = texto(c.get("/balanceador"))
    assert f"fila-{balanceador.MAX_FILAS_PLAN:03d}" in pagina and f"fila-{n:03d}" not in pagina
    assert f"{n} cambios" in pagina and f"Se muestran los primeros {balanceador.MAX_FILAS_PLAN}" in pagina
    assert f"Se muestran {balanceador.MAX_FILAS_PLAN} de {n} robots" in pagina
    j = c.get(f"/balanceador?robot={n}", headers={"Accept": "application/json"}).get_json()
    assert [a["RobotId"] for a in j["plan"]["acciones"]] == [n] and j["plan"]["total_acciones"] == 1
    assert j["plan"]["pronostico"]["filas"] == [[f"R{n:03d}", str(n)]]


def test_one_robots_decisions_are_read_through_its_index(entorno):
    _, db, _ = entorno
    from common.database import sentencias

    texto_sql = sentencias.sql(db, "consola.historico_balanceo_robot")
    plan = [str(f["detail"]) for f in db.query("EXPLAIN QUERY PLAN " + texto_sql, (2**62, 1, 50))]
    assert any("USING INDEX IX_HistoricoBalanceo_Robot_Fecha (RobotId=?)" in p for p in plan), plan
    assert [f["HistoricoId"] for f in db.query(texto_sql, (2**62, 1, 50))] == []
