"""Console POST routes for asignaciones, pools, mapeos and service requests (CONSOLE §3, §4), and
the audit of live settings written from /pausa and /configuracion (C6): thin handlers over
common.operaciones — success a 303 with a flash, a refusal the form re-shown with the Spanish
reason (writes nothing but its audit row), malformed input a 400, never a 500."""

from __future__ import annotations

import pytest

from common.operaciones import auditoria
from common.operaciones.ajustes import ENTIDAD as AJUSTES
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
