"""Console POST routes for asignaciones, pools, mapeos and service requests (CONSOLE §3, §4), and
the audit of live settings written from /pausa and /configuracion (C6): thin handlers over
common.operaciones — success a 303 with a flash, a refusal the form re-shown with the Spanish
reason (writes nothing but its audit row), malformed input a 400, never a 500."""

from __future__ import annotations

import pytest

from common.operaciones import auditoria
from common.operaciones.ajustes import ENTIDAD as AJUSTES
from tests.consola_apoyo import app_de_prueba, cliente, enviar, texto


@pytest.fixture
def entorno(tmp_path):
    app, db, clock = app_de_prueba(tmp_path)
    db.executemany("INSERT INTO Robots (RobotId, Robot) VALUES (?, ?)", [(1, "P1_Facturas"), (2, "P2_Pagos")])
    db.executemany("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)", [(10, "VMRPA10"), (11, "VMRPA11")])
    yield app, db, clock
    db.close_all()





# --- C6: live settings are audited with the console's actor -----------------------------------
def test_C6_pause_and_configuration_are_audited_with_user_role_and_ip(entorno):
    app, db, _ = entorno
    op = cliente(app, "operador")
    assert enviar(op, "/pausa", {"accion": "pausar", "LANZADOR_PAUSA_MANUAL_HASTA": "2026-03-02T18:30"}).status_code == 303
    assert enviar(op, "/pausa", {"accion": "reanudar"}).status_code == 303
    adm = cliente(app, "administrador")
    assert enviar(adm, "/configuracion", {"Clave": "BALANCEADOR_COOLING_PERIOD_SEG", "Valor": "-5"}).status_code == 422
    filas = auditoria.de_entidad(db, AJUSTES)
    assert [(f["Usuario"], f["Rol"], f["Resultado"]) for f in filas] == [
        ("operador", "operador", "ok"), ("operador", "operador", "ok"), ("administrador", "administrador", "rechazado")]
    assert filas[0]["Despues"] == {"LANZADOR_PAUSA_MANUAL_HASTA": "2026-03-02 18:30:00"}
    assert filas[1]["Antes"] == {"LANZADOR_PAUSA_MANUAL_HASTA": "2026-03-02 18:30:00"}
    assert all(f["Ip"] for f in filas)


def asignaciones(db, robot_id=1) -> list[dict]:
    return db.query("SELECT EquipoId, Reservado, AsignadoPor, EsProgramado FROM Asignaciones WHERE RobotId = ? "
                    "ORDER BY EquipoId", (robot_id,))


# --- asignaciones -----------------------------------------------------------------------------
def test_B9_an_operator_reserves_and_frees_equipos_from_the_robot_page(entorno):
    app, db, _ = entorno
    c = cliente(app, "operador")
    pagina = texto(c.get("/robots/1"))
    assert 'action="/asignaciones"' in pagina and "VMRPA11 (11)" in pagina
    r = enviar(c, "/asignaciones", {"RobotId": "1", "accion": "reservar", "EquipoId": ["10", "11"]})
    assert r.status_code == 303 and r.headers["Location"] == "/robots/1"
    assert [(a["EquipoId"], a["Reservado"], a["AsignadoPor"]) for a in asignaciones(db)] == [
        (10, 1, "Manual"), (11, 1, "Manual")]
    assert "Liberar" in texto(c.get("/robots/1"))
    again = enviar(c, "/asignaciones", {"RobotId": "1", "accion": "reservar", "EquipoId": "10,11"})
    assert again.status_code == 303 and len(asignaciones(db)) == 2  # applied once
    assert enviar(c, "/asignaciones", {"RobotId": "1", "accion": "liberar", "EquipoId": "10"}).status_code == 303
    assert [a["EquipoId"] for a in asignaciones(db)] == [11]


def test_B9_the_balancers_row_is_never_edited_and_the_refusal_names_its_robot(entorno):
    app, db, _ = entorno
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, AsignadoPor) "
               "VALUES (2, 10, 0, 0, 'Balanceador')")
    c = cliente(app, "operador")
    r = enviar(c, "/asignaciones", {"RobotId": "1", "accion": "reservar", "EquipoId": "10"})
    assert r.status_code == 409 and "P2_Pagos" in texto(r) and 'id="rechazo"' in texto(r)
    assert asignaciones(db) == []
    r = enviar(c, "/asignaciones", {"RobotId": "2", "accion": "liberar", "EquipoId": "10"})
    assert r.status_code == 409 and "Balanceador" in texto(r)
    assert [a["AsignadoPor"] for a in asignaciones(db, 2)] == ["Balanceador"]
    assert [f["Resultado"] for f in auditoria.de_entidad(db, "Asignaciones")] == ["rechazado", "rechazado"]


@pytest.mark.parametrize("datos,estado", [
    ({"RobotId": "1", "accion": "reservar"}, 400),
    ({"RobotId": "1", "accion": "robar", "EquipoId": "10"}, 400),
    ({"RobotId": "uno", "accion": "reservar", "EquipoId": "10"}, 400),
    ({"RobotId": "1", "accion": "reservar", "EquipoId": "10;DROP TABLE Robots"}, 400),
    ({"RobotId": "99", "accion": "reservar", "EquipoId": "10"}, 404),
    ({"RobotId": "1", "accion": "reservar", "EquipoId": "999"}, 409),
])
def test_bad_assignment_requests_are_refused_and_nothing_written(entorno, datos, estado):
    app, db, _ = entorno
    r = enviar(cliente(app, "operador"), "/asignaciones", datos)
    assert r.status_code == estado, texto(r)
    assert db.query_one("SELECT COUNT(*) AS n FROM Asignaciones")["n"] == 0


# --- pools ------------------------------------------------------------------------------------
def _pool(db, nombre):
    return db.query_one("SELECT * FROM Pools WHERE Nombre = ?", (nombre,))


def test_B11_an_administrador_creates_renames_deactivates_and_deletes_a_pool(entorno):
    app, db, clock = entorno
    c = cliente(app, "administrador")
    assert 'id="form-pool-crear"' in texto(c.get("/pools"))
    r = enviar(c, "/pools", {"accion": "crear", "Nombre": "Finanzas", "Descripcion": "Robots de finanzas"})
    assert r.status_code == 303 and r.headers["Location"] == "/pools"
    assert enviar(c, "/pools", {"accion": "crear", "Nombre": "finanzas"}).status_code == 303  # applied once
    assert db.query_one("SELECT COUNT(*) AS n FROM Pools")["n"] == 1
    pool = _pool(db, "Finanzas")
    pagina = texto(c.get("/pools"))
    version = pagina.split('name="version" value="')[1].split('"')[0]
    clock.advance(2)
    r = enviar(c, "/pools", {"accion": "cambiar", "PoolId": str(pool["PoolId"]), "version": version,
                             "Nombre": "Finanzas y pagos"})
    assert r.status_code == 303 and _pool(db, "Finanzas y pagos") is not None
    # the old version is stale now: refused showing what changed
    r = enviar(c, "/pools", {"accion": "cambiar", "PoolId": str(pool["PoolId"]), "version": version, "Activo": "0"})
    assert r.status_code == 409 and "Finanzas y pagos" in texto(r)
    assert _pool(db, "Finanzas y pagos")["Activo"] == 1
    version = texto(c.get("/pools")).split('name="version" value="')[1].split('"')[0]
    assert enviar(c, "/pools", {"accion": "cambiar", "PoolId": str(pool["PoolId"]), "version": version,
                                "Activo": "0"}).status_code == 303
    assert _pool(db, "Finanzas y pagos")["Activo"] == 0
    # D1: a delete needs the version and refuses a stale one (audited 'conflicto'), deleting nothing
    r = enviar(c, "/pools", {"accion": "eliminar", "PoolId": str(pool["PoolId"])})
    assert r.status_code == 400 and "Falta el campo version" in texto(r)
    r = enviar(c, "/pools", {"accion": "eliminar", "PoolId": str(pool["PoolId"]), "version": "2000-01-01 00:00:00.000"})
    assert r.status_code == 409 and "Activo: no" in texto(r) and _pool(db, "Finanzas y pagos") is not None
    assert auditoria.de_entidad(db, "Pools")[-1]["Resultado"] == "conflicto"
    version = texto(c.get("/pools")).split('name="version" value="')[1].split('"')[0]
    assert enviar(c, "/pools", {"accion": "eliminar", "PoolId": str(pool["PoolId"]),
                                "version": version}).status_code == 303
    assert db.query_one("SELECT COUNT(*) AS n FROM Pools")["n"] == 0


def test_B11_robots_and_equipos_move_in_and_out_of_a_pool_and_a_full_pool_is_not_deleted(entorno):
    app, db, _ = entorno
    c = cliente(app, "administrador")
    enviar(c, "/pools", {"accion": "crear", "Nombre": "Norte"})
    pid = str(_pool(db, "Norte")["PoolId"])
    version = str(_pool(db, "Norte")["FechaActualizacion"])
    r = enviar(c, "/pools", {"accion": "mover", "PoolId": pid, "RobotId": "1", "EquipoId": "10, 11"})
    assert r.status_code == 400 and "Falta el campo version" in texto(r)  # D1: into a pool, its version
    r = enviar(c, "/pools", {"accion": "mover", "PoolId": pid, f"version_{pid}": version, "RobotId": "1",
                             "EquipoId": "10, 11"})
    assert r.status_code == 303
    assert [f["PoolId"] for f in db.query("SELECT PoolId FROM Equipos ORDER BY EquipoId")] == [int(pid)] * 2
    r = enviar(c, "/pools", {"accion": "eliminar", "PoolId": pid, "version": version})
    assert r.status_code == 409 and "no está vacío" in texto(r)
    assert enviar(c, "/pools", {"accion": "mover", "PoolId": "", "RobotId": "1", "EquipoId": "10,11"}).status_code == 303
    assert db.query_one("SELECT PoolId FROM Robots WHERE RobotId = 1")["PoolId"] is None


@pytest.mark.parametrize("datos,estado", [
    ({"accion": "crear"}, 400),
    ({"accion": "crear", "Nombre": "x" * 101}, 400),
    ({"accion": "cambiar", "PoolId": "1"}, 400),
    ({"accion": "cambiar", "PoolId": "abc", "Nombre": "x"}, 400),
    ({"accion": "mover", "PoolId": "1"}, 400),
    ({"accion": "mover", "PoolId": "77", "RobotId": "1", "version": "2026-03-02 10:00:00.000"}, 404),
    ({"accion": "borrar_todo"}, 400),
])
def test_bad_pool_requests_are_refused_and_nothing_written(entorno, datos, estado):
    app, db, _ = entorno
    r = enviar(cliente(app, "administrador"), "/pools", datos)
    assert r.status_code == estado, texto(r)
    assert db.query_one("SELECT COUNT(*) AS n FROM Pools")["n"] == 0
    assert db.query_one("SELECT COUNT(*) AS n FROM Robots WHERE PoolId IS NOT NULL")["n"] == 0


def test_pools_and_mapeos_changes_need_an_administrador(entorno):
    app, db, _ = entorno
    c = cliente(app, "operador")
    assert enviar(c, "/pools", {"accion": "crear", "Nombre": "X"}).status_code == 403
    assert enviar(c, "/mapeos", {"accion": "crear", "Proveedor": "rpa360", "NombreExterno": "x",
                                 "RobotId": "1"}).status_code == 403
    assert db.query_one("SELECT COUNT(*) AS n FROM Pools")["n"] == 0


# --- mapeos -----------------------------------------------------------------------------------
def test_a_mapping_is_created_once_refused_for_a_taken_name_and_deleted(entorno):
    app, db, _ = entorno
    c = cliente(app, "administrador")
    assert 'id="form-mapeo-crear"' in texto(c.get("/mapeos"))
    datos = {"accion": "crear", "Proveedor": "clouders", "NombreExterno": "Facturas <b>", "RobotId": "1"}
    assert enviar(c, "/mapeos", datos).status_code == 303
    assert enviar(c, "/mapeos", datos).status_code == 303  # applied once
    (m,) = db.query("SELECT MapeoId, Proveedor, NombreExterno, RobotId FROM MapeoRobots")
    assert (m["Proveedor"], m["NombreExterno"], m["RobotId"]) == ("clouders", "Facturas <b>", 1)
    assert "Facturas &lt;b&gt;" in texto(c.get("/mapeos"))
    r = enviar(c, "/mapeos", {**datos, "RobotId": "2"})
    assert r.status_code == 409 and "P1_Facturas" in texto(r)
    assert enviar(c, "/mapeos", {"accion": "eliminar", "MapeoId": str(m["MapeoId"])}).status_code == 303
    assert db.query_one("SELECT COUNT(*) AS n FROM MapeoRobots")["n"] == 0


@pytest.mark.parametrize("datos,estado", [
    ({"accion": "crear", "Proveedor": "rpa360", "NombreExterno": "x"}, 400),
    ({"accion": "crear", "Proveedor": "uipath", "NombreExterno": "x", "RobotId": "1"}, 409),
    ({"accion": "crear", "Proveedor": "rpa360", "NombreExterno": "x", "RobotId": "99"}, 409),
    ({"accion": "eliminar"}, 400),
])
def test_bad_mapping_requests_are_refused_and_nothing_written(entorno, datos, estado):
    app, db, _ = entorno
    r = enviar(cliente(app, "administrador"), "/mapeos", datos)
    assert r.status_code == estado, texto(r)
    assert db.query_one("SELECT COUNT(*) AS n FROM MapeoRobots")["n"] == 0


# --- solicitudes ------------------------------------------------------------------------------
def test_L8_2_a_sync_request_is_written_once_and_listed_on_estado_with_its_result(entorno):
    app, db, _ = entorno
    c = cliente(app, "operador")
    assert 'id="solicitar-sincronizar"' in texto(c.get("/"))
    r = enviar(c, "/solicitudes", {"Tipo": "sincronizar"})
    assert r.status_code == 303 and r.headers["Location"] == "/#solicitudes"
    assert enviar(c, "/solicitudes", {"Tipo": "sincronizar"}).status_code == 303  # still pending: not duplicated
    (s,) = db.query("SELECT SolicitudId, Servicio, Tipo, Estado, SolicitadoPor FROM SolicitudesServicio")
    assert (s["Servicio"], s["Tipo"], s["Estado"], s["SolicitadoPor"]) == ("lanzador", "sincronizar", "pendiente",
                                                                          "operador")
    assert "pendiente" in texto(c.get("/"))
    db.execute("UPDATE SolicitudesServicio SET Estado = 'atendida', Resultado = 'Robots: 3 actualizados' "
               "WHERE SolicitudId = ?", (s["SolicitudId"],))
    pagina = texto(c.get("/"))
    assert "atendida" in pagina and "Robots: 3 actualizados" in pagina
    j = enviar(c, "/solicitudes", {"Tipo": "balancear"}, headers={"Accept": "application/json"}).get_json()
    assert j["estado"] == "ok" and j["solicitud"]["Servicio"] == "balanceador"


def test_L8_2_an_unknown_request_type_is_refused_and_not_written(entorno):
    app, db, _ = entorno
    r = enviar(cliente(app, "operador"), "/solicitudes", {"Tipo": "reiniciar"})
    assert r.status_code == 422 and "Tipo de solicitud desconocido" in texto(r)
    assert db.query_one("SELECT COUNT(*) AS n FROM SolicitudesServicio")["n"] == 0
    assert enviar(cliente(app, "lector"), "/solicitudes", {"Tipo": "sincronizar"}).status_code == 403
