"""Operator changes from the console (CONSOLE §3, §4): the POST routes are thin over
common.operaciones — success is a redirect with a flash message and the change written (and
audited); a refusal re-shows the form with the Spanish reason and writes nothing but its audit
row; malformed input is a 400; nothing answers 500."""

from __future__ import annotations

import re

import pytest

from common.operaciones import auditoria
from tests.consola_apoyo import app_de_prueba, cliente, entrar, enviar, texto


@pytest.fixture
def entorno(tmp_path):
    app, db, clock = app_de_prueba(tmp_path)
    db.executemany("INSERT INTO Robots (RobotId, Robot) VALUES (?, ?)", [(1, "P1_Facturas"), (2, "P2_Pagos")])
    db.executemany("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)", [(10, "VMRPA10"), (11, "VMRPA11")])
    yield app, db, clock
    db.close_all()





def programaciones(db) -> list[dict]:
    return db.query("SELECT * FROM Programaciones ORDER BY ProgramacionId")


def ciclica(**extra) -> dict:
    return {"RobotId": "1", "TipoProgramacion": "Diaria", "HoraInicio": "08:00", "HoraFin": "12:00",
            "EsCiclico": "1", "IntervaloEntreEjecuciones": "30", "EquipoId": ["10"], **extra}


# --- programaciones -------------------------------------------------------------------------
def test_L7_4_a_cyclic_schedule_created_from_the_form_is_stored_with_its_equipos(entorno):
    app, db, _ = entorno
    c = cliente(app, "operador")
    r = enviar(c, "/programaciones", ciclica())
    assert r.status_code == 303 and r.headers["Location"] == "/programaciones"
    (p,) = programaciones(db)
    assert p["EsCiclico"] == 1 and p["IntervaloEntreEjecuciones"] == 30 and str(p["HoraFin"]).startswith("12:00")
    asig = db.query("SELECT RobotId, EquipoId, EsProgramado, ProgramacionId FROM Asignaciones")
    assert asig == [{"RobotId": 1, "EquipoId": 10, "EsProgramado": 1, "ProgramacionId": p["ProgramacionId"]}]
    (aud,) = auditoria.de_entidad(db, "Programaciones")
    assert aud["Usuario"] == "operador" and aud["Rol"] == "operador" and aud["Ip"] == "127.0.0.1"
    with c.session_transaction() as s:
        assert any("creada" in m for _, m in s.get("_flashes", []))


@pytest.mark.parametrize("datos", [
    {"TipoProgramacion": "Especifica", "FechaEspecifica": "2026-03-20", "HoraInicio": "07:00"},
    {"TipoProgramacion": "Semanal", "DiaSemana": "LU,MI", "HoraInicio": "07:00"},
    {"TipoProgramacion": "Mensual", "DiaDelMes": "5", "HoraInicio": "07:00"},
    {"TipoProgramacion": "RangoMensual", "DiaInicioMes": "1", "DiaFinMes": "5", "HoraInicio": "07:00"},
    {"TipoProgramacion": "Diaria", "HoraInicio": "07:00", "FechaInicioVentana": "2026-03-01",
     "FechaFinVentana": "2026-03-31"},
])
def test_L7_4_every_schedule_type_can_be_created(entorno, datos):
    app, db, _ = entorno
    r = enviar(cliente(app, "operador"), "/programaciones", {"RobotId": "2", "EquipoId": "11", **datos})
    assert r.status_code == 303, texto(r)
    (p,) = programaciones(db)
    assert p["TipoProgramacion"] == datos["TipoProgramacion"]


def test_L7_4_an_overlap_is_refused_with_the_conflict_list_and_nothing_written(entorno):
    app, db, _ = entorno
    c = cliente(app, "operador")
    assert enviar(c, "/programaciones", ciclica()).status_code == 303
    r = enviar(c, "/programaciones", ciclica(RobotId="2", HoraInicio="09:00", HoraFin="10:00"))
    assert r.status_code == 409
    cuerpo = texto(r)
    assert "se solapa" in cuerpo and "VMRPA10" in cuerpo and "P1_Facturas" in cuerpo
    assert 'name="Forzar"' not in cuerpo  # only an administrador is offered to force
    assert 'value="09:00"' in cuerpo  # the form is re-shown with what was sent
    assert len(programaciones(db)) == 1
    assert [a["Resultado"] for a in auditoria.de_entidad(db, "Programaciones")] == ["ok", "rechazado"]
    r = enviar(c, "/programaciones", ciclica(RobotId="2", HoraInicio="09:00", Forzar="1"))
    assert r.status_code == 409 and "Sólo un administrador" in texto(r) and len(programaciones(db)) == 1


def test_L7_4_an_administrador_may_force_an_overlap(entorno):
    app, db, _ = entorno
    c = cliente(app, "administrador")
    assert enviar(c, "/programaciones", ciclica()).status_code == 303
    r = enviar(c, "/programaciones", ciclica(RobotId="2"))
    assert r.status_code == 409 and 'name="Forzar"' in texto(r)
    assert enviar(c, "/programaciones", ciclica(RobotId="2", Forzar="1")).status_code == 303
    assert [a["Resultado"] for a in auditoria.de_entidad(db, "Programaciones")][-1] == "forzado"


def test_a_schedule_is_edited_deactivated_activated_and_deleted(entorno):
    app, db, clock = entorno
    c = cliente(app, "operador")
    enviar(c, "/programaciones", ciclica())
    (p,) = programaciones(db)
    pid, version = p["ProgramacionId"], p["FechaActualizacion"]
    r = enviar(c, f"/programaciones/{pid}", {**ciclica(HoraInicio="08:30"), "accion": "modificar",
                                             "version": str(version)})
    assert r.status_code == 303, texto(r)
    assert str(programaciones(db)[0]["HoraInicio"]).startswith("08:30")

    def actual() -> str:
        return str(programaciones(db)[0]["FechaActualizacion"])

    for accion, activo in (("desactivar", 0), ("activar", 1)):
        clock.advance(seconds=2)
        assert enviar(c, f"/programaciones/{pid}", {"accion": accion, "version": actual()}).status_code == 303
        assert programaciones(db)[0]["Activo"] == activo
    # D1: every action needs the version; without it nothing is done
    for accion in ("modificar", "activar", "desactivar", "eliminar"):
        r = enviar(c, f"/programaciones/{pid}", {**ciclica(), "accion": accion})
        assert r.status_code == 400 and "Falta el campo version" in texto(r), accion
    assert programaciones(db)[0]["Activo"] == 1
    assert enviar(c, f"/programaciones/{pid}", {"accion": "eliminar", "version": actual()}).status_code == 303
    assert programaciones(db) == [] and db.query("SELECT * FROM Asignaciones") == []


def test_D1_a_delete_or_deactivation_with_a_stale_version_is_refused_audited_and_deletes_nothing(entorno):
    app, db, clock = entorno
    a, b = cliente(app, "operador"), cliente(app, "administrador")
    enviar(a, "/programaciones", ciclica())
    (p,) = programaciones(db)
    pid, vista = p["ProgramacionId"], str(p["FechaActualizacion"])
    clock.advance(seconds=5)
    assert enviar(b, f"/programaciones/{pid}", {**ciclica(HoraInicio="09:15"), "accion": "modificar",
                                                "version": vista}).status_code == 303
    for accion in ("eliminar", "desactivar"):
        r = enviar(a, f"/programaciones/{pid}", {"accion": accion, "version": vista})
        assert r.status_code == 409, (accion, texto(r))
        assert "después de que usted la leyera" in texto(r) and "no se ha guardado nada" in texto(r)
        assert ("HoraInicio: 09:15" if accion == "eliminar" else "Activo: no / sí") in texto(r), accion
    (p,) = programaciones(db)
    assert p["Activo"] == 1 and str(p["HoraInicio"]).startswith("09:15")
    filas = auditoria.de_entidad(db, "Programaciones")
    assert [(f["Accion"], f["Resultado"]) for f in filas][-2:] == [("eliminar", "conflicto"), ("desactivar", "conflicto")]


def test_D3_a_schedule_edit_sent_twice_applies_once_and_answers_ya_aplicado(entorno):
    app, db, clock = entorno
    c = cliente(app, "operador")
    enviar(c, "/programaciones", ciclica())
    (p,) = programaciones(db)
    pid, vista = p["ProgramacionId"], str(p["FechaActualizacion"])
    formulario = {**ciclica(HoraInicio="08:30"), "accion": "modificar", "version": vista}
    clock.advance(seconds=3)
    assert enviar(c, f"/programaciones/{pid}", formulario).status_code == 303
    antes = len(auditoria.de_entidad(db, "Programaciones"))
    clock.advance(seconds=3)
    r = enviar(c, f"/programaciones/{pid}", formulario, headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.get_json()["resultado"] == "ya_aplicado", r.get_data(as_text=True)
    assert "Ya aplicado" in r.get_json()["mensaje"]
    assert len(auditoria.de_entidad(db, "Programaciones")) == antes  # nothing written


def test_a_stale_version_is_refused_showing_what_changed(entorno):
    app, db, clock = entorno
    a, b = cliente(app, "operador"), cliente(app, "administrador")
    enviar(a, "/programaciones", ciclica())
    (p,) = programaciones(db)
    pid, vista = p["ProgramacionId"], str(p["FechaActualizacion"])
    clock.advance(seconds=5)
    assert enviar(b, f"/programaciones/{pid}", {**ciclica(HoraInicio="09:15"), "accion": "modificar",
                                                "version": vista}).status_code == 303
    r = enviar(a, f"/programaciones/{pid}", {**ciclica(Tolerancia="20"), "accion": "modificar", "version": vista})
    assert r.status_code == 409
    cuerpo = texto(r)
    assert "después de que usted la leyera" in cuerpo and "HoraInicio" in cuerpo and "09:15" in cuerpo
    assert programaciones(db)[0]["Tolerancia"] != 20
    nueva = re.search(r'name="version" value="([^"]+)"', cuerpo).group(1)
    assert nueva != vista  # the re-shown form carries the current version


@pytest.mark.parametrize("datos", [
    {"RobotId": "uno"}, {"HoraInicio": "25:99"}, {"IntervaloEntreEjecuciones": "treinta"},
    {"EquipoId": "x"}, {"TipoProgramacion": "Quincenal"}, {"FechaInicioVentana": "ayer"}, {"EsCiclico": "tal vez"},
    {"RobotId": ""},
])
def test_malformed_schedule_fields_are_a_400_and_nothing_is_written(entorno, datos):
    app, db, _ = entorno
    r = enviar(cliente(app, "operador"), "/programaciones", ciclica(**datos))
    assert r.status_code == 400 and "<html" in texto(r)
    assert programaciones(db) == []


def test_an_unknown_schedule_or_action(entorno):
    app, _, _ = entorno
    c = cliente(app, "operador")
    assert enviar(c, "/programaciones/999", {"accion": "desactivar", "version": "2026-03-02 10:00:00.000"}).status_code == 404
    assert enviar(c, "/programaciones/999", {"accion": "borrar-todo"}).status_code == 400


def test_json_clients_get_the_result_and_the_refusal(entorno):
    app, _, _ = entorno
    c = cliente(app, "operador")
    r = enviar(c, "/programaciones", ciclica(), headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.get_json()["estado"] == "ok" and r.get_json()["ProgramacionId"]
    r = enviar(c, "/programaciones", ciclica(RobotId="2"), headers={"Accept": "application/json"})
    assert r.status_code == 409 and r.get_json()["estado"] == "rechazado" and r.get_json()["conflictos"]


# --- destrabar ------------------------------------------------------------------------------
def _ejecucion(db, estado: str = "RUNNING", fin=None) -> int:
    db.execute("INSERT INTO Ejecuciones (DeploymentId, RobotId, EquipoId, Estado, FechaInicio, FechaFin) "
               "VALUES (?, 1, 10, ?, '2026-03-02 07:00:00', ?)", (f"dep-{estado}", estado, fin))
    return db.query_one("SELECT MAX(EjecucionId) AS Id FROM Ejecuciones")["Id"]


def test_O2_1_unlocking_closes_the_execution_with_the_reason_once(entorno):
    app, db, _ = entorno
    eid = _ejecucion(db)
    c = cliente(app, "operador")
    r = enviar(c, f"/ejecuciones/{eid}/destrabar", {"motivo": "VM reiniciada a mano"})
    assert r.status_code == 303 and r.headers["Location"] == f"/ejecuciones/{eid}"
    fila = db.query_one("SELECT Estado, FechaFin, MensajeError FROM Ejecuciones WHERE EjecucionId = ?", (eid,))
    assert fila["Estado"] == "RUN_ABORTED" and fila["FechaFin"] is not None
    assert "VM reiniciada a mano" in fila["MensajeError"] and "operador" in fila["MensajeError"]
    r = enviar(c, f"/ejecuciones/{eid}/destrabar", {"motivo": "otra vez"})  # double submission
    assert r.status_code == 409 and "no hay nada que destrabar" in texto(r)
    assert "otra vez" not in db.query_one("SELECT MensajeError FROM Ejecuciones WHERE EjecucionId = ?", (eid,))[
        "MensajeError"]


def test_O2_1_unlocking_needs_a_reason_and_an_open_row(entorno):
    app, db, _ = entorno
    c = cliente(app, "operador")
    eid = _ejecucion(db)
    r = enviar(c, f"/ejecuciones/{eid}/destrabar", {"motivo": "  "})
    assert r.status_code == 409 and "Indique el motivo" in texto(r)
    assert enviar(c, "/ejecuciones/9999/destrabar", {"motivo": "x"}).status_code == 404
    terminada = _ejecucion(db, "COMPLETED", "2026-03-02 08:00:00")
    assert enviar(c, f"/ejecuciones/{terminada}/destrabar", {"motivo": "x"}).status_code == 409
    assert db.query_one("SELECT Estado FROM Ejecuciones WHERE EjecucionId = ?", (eid,))["Estado"] == "RUNNING"


# --- pausa and configuracion ----------------------------------------------------------------
def _fila_ajuste(db, clave):
    return db.query_one("SELECT Valor, ActualizadoPor FROM ConfiguracionSistema WHERE Clave = ?", (clave,))


def test_C6_pause_until_a_time_and_resume(entorno):
    app, db, _ = entorno
    c = cliente(app, "operador")
    r = enviar(c, "/pausa", {"accion": "pausar", "LANZADOR_PAUSA_MANUAL_HASTA": "2026-03-02T18:30"})
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert _fila_ajuste(db, "LANZADOR_PAUSA_MANUAL_HASTA") == {"Valor": "2026-03-02 18:30:00",
                                                                "ActualizadoPor": "operador"}
    assert enviar(c, "/pausa", {"accion": "reanudar"}).status_code == 303
    assert _fila_ajuste(db, "LANZADOR_PAUSA_MANUAL_HASTA") is None


@pytest.mark.parametrize("datos,estado", [
    ({"accion": "pausar", "LANZADOR_PAUSA_MANUAL_HASTA": "2026-03-01T10:00"}, 422),  # in the past
    ({"accion": "pausar"}, 422),
    ({"accion": "pausar", "LANZADOR_PAUSA_MANUAL_HASTA": "mañana"}, 400),
    ({"accion": "apagar"}, 400),
])
def test_C6_a_bad_pause_is_refused_and_nothing_written(entorno, datos, estado):
    app, db, _ = entorno
    assert enviar(cliente(app, "operador"), "/pausa", datos).status_code == estado
    assert _fila_ajuste(db, "LANZADOR_PAUSA_MANUAL_HASTA") is None


def test_C6_the_configuration_page_shows_each_live_setting_and_where_it_comes_from(entorno):
    app, db, _ = entorno
    c = cliente(app, "administrador")
    r = enviar(c, "/configuracion", {"Clave": "BALANCEADOR_COOLING_PERIOD_SEG", "Valor": "120"})
    assert r.status_code == 303
    assert _fila_ajuste(db, "BALANCEADOR_COOLING_PERIOD_SEG")["Valor"] == "120"
    datos = c.get("/configuracion", headers={"Accept": "application/json"}).get_json()["ajustes"]
    por_clave = {a["Clave"]: a for a in datos}
    assert por_clave["BALANCEADOR_COOLING_PERIOD_SEG"]["Valor"] == "120"
    assert por_clave["BALANCEADOR_COOLING_PERIOD_SEG"]["Origen"] == "ConfiguracionSistema"
    assert por_clave["LANZADOR_ESPERA_TRAS_FALLO_SEG"]["Origen"] == "por defecto"
    assert "Valor en uso" in texto(c.get("/configuracion"))
    assert enviar(c, "/configuracion", {"Clave": "BALANCEADOR_COOLING_PERIOD_SEG", "Valor": ""}).status_code == 303
    assert _fila_ajuste(db, "BALANCEADOR_COOLING_PERIOD_SEG") is None


@pytest.mark.parametrize("clave,valor", [
    ("BALANCEADOR_COOLING_PERIOD_SEG", "-5"), ("BALANCEADOR_COOLING_PERIOD_SEG", "rápido"),
    ("SQL_SAM_ENGINE", "sqlserver"), ("CONSOLA_SECRETO", "x" * 40),
])
def test_C6_a_setting_off_the_whitelist_or_out_of_bounds_is_refused(entorno, clave, valor):
    app, db, _ = entorno
    r = enviar(cliente(app, "administrador"), "/configuracion", {"Clave": clave, "Valor": valor})
    assert r.status_code == 422 and clave in texto(r)
    assert _fila_ajuste(db, clave) is None


# --- usuarios -------------------------------------------------------------------------------
def test_users_are_created_changed_deactivated_and_their_password_reset(entorno):
    app, db, _ = entorno
    c = cliente(app, "administrador")
    r = enviar(c, "/usuarios", {"accion": "crear", "Usuario": "Marta", "Nombre": "Marta R.", "Rol": "lector",
                                "Clave": "una-clave-larga-1"})
    assert r.status_code == 303
    nueva = app.test_client()
    assert entrar(nueva, "marta", "una-clave-larga-1").status_code == 303
    assert enviar(c, "/usuarios", {"accion": "rol", "Usuario": "marta", "Rol": "operador"}).status_code == 303
    assert enviar(c, "/usuarios", {"accion": "clave", "Usuario": "marta", "Clave": "otra-clave-larga-2"}
                  ).status_code == 303
    assert entrar(app.test_client(), "marta", "otra-clave-larga-2").status_code == 303
    assert enviar(c, "/usuarios", {"accion": "desactivar", "Usuario": "marta"}).status_code == 303
    assert entrar(app.test_client(), "marta", "otra-clave-larga-2").status_code == 401
    listado = c.get("/usuarios", headers={"Accept": "application/json"}).get_json()["usuarios"]
    marta = next(u for u in listado if u["Usuario"] == "marta")
    assert marta["Rol"] == "operador" and not marta["Activo"] and "HashClave" not in marta
    acciones = [a["Accion"] for a in auditoria.de_entidad(db, "UsuariosConsola") if a["EntidadId"] == "marta"]
    assert acciones == ["crear_usuario", "cambiar_rol", "cambiar_clave", "desactivar_usuario"]


def test_user_refusals_are_shown_and_the_password_never_echoed(entorno):
    app, db, _ = entorno
    c = cliente(app, "administrador")
    r = enviar(c, "/usuarios", {"accion": "crear", "Usuario": "corto", "Rol": "lector", "Clave": "abc"})
    assert r.status_code == 409 and "Clave no válida" in texto(r) and "abc" not in texto(r).split("<main>")[1]
    r = enviar(c, "/usuarios", {"accion": "crear", "Usuario": "operador", "Rol": "lector",
                                "Clave": "una-clave-larga-1"})
    assert r.status_code == 409 and "Ya existe" in texto(r)
    assert enviar(c, "/usuarios", {"accion": "crear", "Usuario": "x", "Rol": "dios", "Clave": "a" * 12}
                  ).status_code == 400
    assert enviar(c, "/usuarios", {"accion": "rol", "Usuario": "nadie", "Rol": "lector"}).status_code == 409


# --- robots and equipos ---------------------------------------------------------------------
def _robot(db, rid=1):
    return db.query_one("SELECT * FROM Robots WHERE RobotId = ?", (rid,))


def _version_de(fila) -> str:
    return str(fila["FechaActualizacion"] or "")


def test_a_robot_is_edited_and_a_double_submission_applies_once(entorno):
    app, db, _ = entorno
    c = cliente(app, "operador")
    datos = {"MinEquipos": "1", "MaxEquipos": "3", "PrioridadBalanceo": "2", "EsOnline": "1",
             "Parametros": '{"vueltas": 2}', "version": _version_de(_robot(db))}
    r = enviar(c, "/robots/1", datos)
    assert r.status_code == 303 and r.headers["Location"] == "/robots/1"
    fila = _robot(db)
    assert (fila["MinEquipos"], fila["MaxEquipos"], fila["PrioridadBalanceo"], fila["EsOnline"]) == (1, 3, 2, 1)
    r = enviar(c, "/robots/1", datos)  # the same form again, with the old version
    assert r.status_code == 303
    assert len([a for a in auditoria.de_entidad(db, "Robots") if a["Resultado"] == "ok"]) == 1


def test_two_sessions_editing_one_robot_the_second_is_refused_showing_what_changed(entorno):
    app, db, clock = entorno
    a, b = cliente(app, "operador"), cliente(app, "administrador")
    vista = _version_de(_robot(db))
    assert enviar(a, "/robots/1", {"MaxEquipos": "5", "version": vista}).status_code == 303
    clock.advance(seconds=2)
    r = enviar(b, "/robots/1", {"MaxEquipos": "8", "version": vista})
    assert r.status_code == 409
    cuerpo = texto(r)
    assert "cambió después de que usted lo leyera" in cuerpo and "MaxEquipos" in cuerpo
    assert "<td>5</td>" in cuerpo and "<td>8</td>" in cuerpo
    assert _robot(db)["MaxEquipos"] == 5


@pytest.mark.parametrize("datos,estado", [
    ({"MinEquipos": "muchos"}, 409), ({"MaxEquipos": "0"}, 409), ({"Parametros": "{no es json"}, 409),
    ({"PoolId": "77"}, 409), ({"Robot": "renombrado"}, 400), ({"MinEquipos": "1", "version": "ayer"}, 400),
])
def test_bad_robot_values_are_refused_and_nothing_written(entorno, datos, estado):
    app, db, _ = entorno
    antes = _robot(db)
    r = enviar(cliente(app, "operador"), "/robots/1", {"version": str(antes["FechaActualizacion"]), **datos})
    assert r.status_code == estado, texto(r)
    assert _robot(db) == antes


def test_robot_and_equipo_ids_must_exist_and_be_numeric(entorno):
    app, _, _ = entorno
    c = cliente(app, "operador")
    assert enviar(c, "/robots/999", {"MinEquipos": "1", "version": "2026-03-02 10:00:00.000"}).status_code == 404
    assert enviar(c, "/robots/abc", {"MinEquipos": "1"}).status_code == 400
    assert enviar(c, "/equipos/abc", {"Activo_SAM": "1"}).status_code == 400


def test_an_equipo_is_edited(entorno):
    app, db, _ = entorno
    c = cliente(app, "operador")
    fila = db.query_one("SELECT FechaActualizacion FROM Equipos WHERE EquipoId = 10")
    r = enviar(c, "/equipos/10", {"Activo_SAM": "0", "PermiteBalanceoDinamico": "0", "version": _version_de(fila)})
    assert r.status_code == 303
    fila = db.query_one("SELECT Activo_SAM, PermiteBalanceoDinamico FROM Equipos WHERE EquipoId = 10")
    assert fila == {"Activo_SAM": 0, "PermiteBalanceoDinamico": 0}


# --- payloads: escaped wherever shown, stored as typed, never a 500 -------------------------
CARGAS = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'; DROP TABLE Robots; --",
          "' OR '1'='1", "{{7*7}}"]
FORMULARIOS = [
    ("/programaciones", "operador", lambda x: ciclica(DiaSemana=x, TipoProgramacion="Semanal")),
    ("/programaciones", "operador", lambda x: ciclica(HoraInicio=x)),
    ("/programaciones/1", "operador", lambda x: {"accion": x}),
    ("/ejecuciones/1/destrabar", "operador", lambda x: {"motivo": x}),
    ("/pausa", "operador", lambda x: {"accion": "pausar", "LANZADOR_PAUSA_MANUAL_HASTA": x}),
    ("/configuracion", "administrador", lambda x: {"Clave": "EMAIL_RECIPIENTS", "Valor": x}),
    ("/configuracion", "administrador", lambda x: {"Clave": x, "Valor": "1"}),
    ("/usuarios", "administrador", lambda x: {"accion": "crear", "Usuario": x, "Nombre": x, "Rol": "lector",
                                             "Clave": "una-clave-larga-1"}),
    ("/usuarios", "administrador", lambda x: {"accion": "crear", "Usuario": "valido", "Nombre": x,
                                             "Rol": "lector", "Clave": "una-clave-larga-1"}),
    ("/robots/1", "operador", lambda x: {"Parametros": x}),
    ("/robots/1", "operador", lambda x: {"MinEquipos": x}),
    ("/equipos/10", "operador", lambda x: {"PoolId": x}),
]


@pytest.mark.parametrize("carga", CARGAS)
@pytest.mark.parametrize("ruta,rol,datos", FORMULARIOS)
def test_payloads_in_every_form_field_are_escaped_and_never_a_500(entorno, ruta, rol, datos, carga):
    app, db, _ = entorno
    _ejecucion(db)
    c = cliente(app, rol)
    r = enviar(c, ruta, datos(carga))
    assert r.status_code < 500, texto(r)
    for pagina in (r, c.get("/usuarios") if rol == "administrador" else r):
        cuerpo = texto(pagina)
        assert "<script>alert(1)</script>" not in cuerpo and "<img src=x" not in cuerpo
        if carga == "{{7*7}}":  # never evaluated as a template: no standalone 49 in the page's text
            principal = re.sub(r"<input[^>]*>", "", cuerpo.split("<main>")[-1])  # tokens and versions
            assert re.search(r"(?<![\w:.-])49(?![\w:.-])", principal) is None, principal
    assert db.query_one("SELECT COUNT(*) AS n FROM Robots")["n"] == 2  # no injection reached the SQL


# --- the forms on the read views' pages -----------------------------------------------------
def test_the_read_pages_carry_the_forms_for_an_operador_and_not_for_a_lector(entorno):
    app, db, _ = entorno
    eid = _ejecucion(db)
    op, lector = cliente(app, "operador"), cliente(app, "lector")
    robot = texto(op.get("/robots/1"))
    version = re.search(r'id="form-robot".*?name="version" value="([^"]*)"', robot, re.S).group(1)
    assert version and enviar(op, "/robots/1", {"MaxEquipos": "4", "version": version}).status_code == 303
    assert 'id="form-destrabar"' in texto(op.get(f"/ejecuciones/{eid}"))
    assert 'id="form-programacion"' in texto(op.get("/programaciones"))
    assert 'id="pausa-pausar"' in texto(op.get("/"))
    for ruta in ("/robots/1", f"/ejecuciones/{eid}", "/programaciones", "/"):
        assert 'method="post" action="/robots' not in texto(lector.get(ruta))
        assert "form-programacion" not in texto(lector.get(ruta)) and "form-destrabar" not in texto(lector.get(ruta))
