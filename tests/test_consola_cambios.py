"""Operator changes from the console (CONSOLE §3, §4): the POST routes are thin over
common.operaciones — success is a redirect with a flash message and the change written (and
audited); a refusal re-shows the form with the Spanish reason and writes nothing but its audit
row; malformed input is a 400; nothing answers 500."""

from __future__ import annotations

import re

import pytest

from common.operaciones import auditoria
from tests.consola_apoyo import app_de_prueba, entrar, token


@pytest.fixture
def entorno(tmp_path):
    app, db, clock = app_de_prueba(tmp_path)
    db.executemany("INSERT INTO Robots (RobotId, Robot) VALUES (?, ?)", [(1, "P1_Facturas"), (2, "P2_Pagos")])
    db.executemany("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)", [(10, "VMRPA10"), (11, "VMRPA11")])
    yield app, db, clock
    db.close_all()


def cliente(app, rol: str):
    c = app.test_client()
    assert entrar(c, rol).status_code == 303
    c.csrf = token(c, "/")
    return c


def enviar(c, ruta: str, datos: dict, **kw):
    return c.post(ruta, data={"csrf_token": c.csrf, **datos}, **kw)


def texto(r) -> str:
    return r.get_data(as_text=True)


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
    app, db, _ = entorno
    c = cliente(app, "operador")
    enviar(c, "/programaciones", ciclica())
    (p,) = programaciones(db)
    pid, version = p["ProgramacionId"], p["FechaActualizacion"]
    r = enviar(c, f"/programaciones/{pid}", {**ciclica(HoraInicio="08:30"), "accion": "modificar",
                                             "version": str(version)})
    assert r.status_code == 303, texto(r)
    assert str(programaciones(db)[0]["HoraInicio"]).startswith("08:30")
    assert enviar(c, f"/programaciones/{pid}", {"accion": "desactivar"}).status_code == 303
    assert programaciones(db)[0]["Activo"] == 0
    assert enviar(c, f"/programaciones/{pid}", {"accion": "activar"}).status_code == 303
    assert programaciones(db)[0]["Activo"] == 1
    assert enviar(c, f"/programaciones/{pid}", {"accion": "eliminar"}).status_code == 303
    assert programaciones(db) == [] and db.query("SELECT * FROM Asignaciones") == []


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
    assert enviar(c, "/programaciones/999", {"accion": "desactivar"}).status_code == 404
    assert enviar(c, "/programaciones/999", {"accion": "borrar-todo"}).status_code == 400


def test_json_clients_get_the_result_and_the_refusal(entorno):
    app, _, _ = entorno
    c = cliente(app, "operador")
    r = enviar(c, "/programaciones", ciclica(), headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.get_json()["estado"] == "ok" and r.get_json()["ProgramacionId"]
    r = enviar(c, "/programaciones", ciclica(RobotId="2"), headers={"Accept": "application/json"})
    assert r.status_code == 409 and r.get_json()["estado"] == "rechazado" and r.get_json()["conflictos"]
