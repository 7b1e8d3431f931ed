"""CONSOLE §4 on a real SQLite SAM DB: robot and equipo settings through the operations module —
each rule, the role check, optimistic concurrency (a stale version is refused with the field-by-field
difference and nothing but the 'conflicto' audit row is written), a form sent twice applies once, and
the A360 sync does not bump the version (BEHAVIOUR §1: it writes A360-owned columns only)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.operaciones import auditoria, edicion, equipos, robots
from common.operaciones import programaciones as progs
from common.operaciones.auditoria import Actor
from common.programacion import Programacion

AHORA = datetime(2026, 3, 2, 7, 0, 0, 123456)
LUEGO = AHORA + timedelta(minutes=5)
OPERADOR = Actor("ana", "operador", "10.0.0.5")
OTRO = Actor("berta", "operador", "10.0.0.6")
LECTOR = Actor("luis", "lector", "10.0.0.7")


@pytest.fixture
def db(tmp_path):
    client = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(client)
    client.executemany("INSERT INTO Robots (RobotId, Robot) VALUES (?, ?)", [(1, "P1_Facturas"), (2, "P2_Pagos")])
    client.executemany("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)", [(10, "VMRPA10"), (11, "VMRPA11")])
    client.executemany("INSERT INTO Pools (Nombre, Activo) VALUES (?, ?)", [("Finanzas", 1), ("Viejo", 0)])
    yield client
    client.close_all()


def _robot(db, rid=1):
    return db.query_one("SELECT * FROM Robots WHERE RobotId = ?", (rid,))


def _auditoria(db, entidad=robots.ENTIDAD):
    return auditoria.de_entidad(db, entidad)


def test_robot_settings_change_writes_row_version_and_audit_together(db):
    version = _robot(db)["FechaActualizacion"]
    r = robots.cambiar(db, OPERADOR, 1, {"MinEquipos": "2", "MaxEquipos": "5", "PrioridadBalanceo": 10,
                                         "TicketsPorEquipoAdicional": "20", "Parametros": '{"in_Modo": "PROD"}',
                                         "PoolId": "1", "Activo": "sí"},
                       ahora=AHORA, version=version)
    assert r.estado == edicion.APLICADO and "MinEquipos = 2" in r.mensaje
    fila = _robot(db)
    assert (fila["MinEquipos"], fila["MaxEquipos"], fila["PrioridadBalanceo"], fila["TicketsPorEquipoAdicional"],
            fila["Parametros"], fila["PoolId"]) == (2, 5, 10, 20, '{"in_Modo": "PROD"}', 1)
    # the version is SAM's clock at millisecond precision, on SQLite too
    assert fila["FechaActualizacion"] == datetime(2026, 3, 2, 7, 0, 0, 123000) == r.version
    (aud,) = _auditoria(db)
    assert (aud["Usuario"], aud["Rol"], aud["Ip"], aud["Accion"], aud["Resultado"], aud["EntidadId"]) == \
        ("ana", "operador", "10.0.0.5", "modificar", "ok", "1")
    assert aud["Antes"]["MinEquipos"] == 1 and aud["Despues"]["MinEquipos"] == 2
    assert "Activo" not in aud["Despues"]  # unchanged columns are not listed


def test_robot_change_never_writes_a360_owned_columns(db):
    with pytest.raises(edicion.CambioNoValido) as exc:
        robots.cambiar(db, OPERADOR, 1, {"Robot": "otro", "ExisteEnA360": 0}, ahora=AHORA, version=None)
    assert "la columna Robot no se puede cambiar" in str(exc.value)
    assert _robot(db)["Robot"] == "P1_Facturas"
    assert _auditoria(db)[-1]["Resultado"] == "rechazado"


@pytest.mark.parametrize(("cambios", "texto"), [
    ({"MinEquipos": 3, "MaxEquipos": 2}, "MinEquipos (3) no puede ser mayor que MaxEquipos (2)"),
    ({"MaxEquipos": 0}, "MaxEquipos debe ser -1"),
    ({"MinEquipos": -1}, "MinEquipos no puede ser negativo"),
    ({"TicketsPorEquipoAdicional": 0}, "TicketsPorEquipoAdicional debe estar vacío"),
    ({"PrioridadBalanceo": -5}, "PrioridadBalanceo no puede ser negativa"),
    ({"Parametros": '{"a": null}'}, "la variable 'a' es null"),
    ({"Parametros": "{no json"}, "no es JSON válido"),
    ({"Parametros": "[1]"}, "debe ser un objeto JSON"),
    ({"PoolId": 99}, "el pool 99 no existe"),
    ({"PoolId": 2}, "el pool Viejo (id 2) está inactivo"),
    ({"MinEquipos": "dos"}, "MinEquipos debe ser un número entero"),
    ({"Activo": "quizá"}, "Activo debe ser sí o no"),
])
def test_robot_rules_refuse_audit_and_write_nothing(db, cambios, texto):
    antes = _robot(db)
    with pytest.raises(edicion.CambioNoValido) as exc:
        robots.cambiar(db, OPERADOR, 1, cambios, ahora=AHORA, version=antes["FechaActualizacion"])
    assert texto in str(exc.value)
    assert _robot(db) == antes
    (aud,) = _auditoria(db)
    assert aud["Resultado"] == "rechazado" and texto in aud["Despues"]["Motivo"]


def test_robot_limits_accept_no_limit_and_null_ratio(db):
    robots.cambiar(db, OPERADOR, 1, {"MinEquipos": 7, "MaxEquipos": -1, "TicketsPorEquipoAdicional": ""},
                   ahora=AHORA, version=None)
    fila = _robot(db)
    assert (fila["MinEquipos"], fila["MaxEquipos"], fila["TicketsPorEquipoAdicional"]) == (7, -1, None)


def test_es_online_refused_while_robot_has_active_schedules_allowed_once_deactivated(db):
    pid = progs.crear(db, OPERADOR, Programacion(RobotId=1, TipoProgramacion="Diaria", HoraInicio=time(8, 0),
                                                 Tolerancia=30), [10], ahora=AHORA)
    with pytest.raises(edicion.CambioNoValido) as exc:
        robots.cambiar(db, OPERADOR, 1, {"EsOnline": True}, ahora=AHORA, version=None)
    assert f"programaciones activas ({pid})" in str(exc.value)
    assert _robot(db)["EsOnline"] == 0
    progs.desactivar(db, OPERADOR, pid, ahora=AHORA)
    assert robots.cambiar(db, OPERADOR, 1, {"EsOnline": "1"}, ahora=AHORA, version=None).estado == edicion.APLICADO
    assert _robot(db)["EsOnline"] == 1


def test_lector_is_refused_and_audited(db):
    with pytest.raises(progs.PermisoDenegado) as exc:
        robots.cambiar(db, LECTOR, 1, {"MinEquipos": 2}, ahora=AHORA, version=None)
    assert "hace falta el rol operador o administrador" in str(exc.value)
    assert _robot(db)["MinEquipos"] == 1
    aud = _auditoria(db)[-1]
    assert (aud["Usuario"], aud["Rol"], aud["Resultado"]) == ("luis", "lector", "rechazado")


def test_unknown_robot_is_refused(db):
    with pytest.raises(progs.NoEncontrada):
        robots.cambiar(db, OPERADOR, 999, {"MinEquipos": 2}, ahora=AHORA, version=None)
    assert _auditoria(db)[-1]["EntidadId"] == "999"


def test_stale_version_is_refused_with_what_changed_and_only_the_conflict_is_audited(db):
    leida = _robot(db)["FechaActualizacion"]
    robots.cambiar(db, OTRO, 1, {"PrioridadBalanceo": 50}, ahora=AHORA, version=leida)
    despues_del_otro = _robot(db)
    # Ana's form was opened before Berta saved: it sends every field as she saw it plus her change
    formulario = {"MinEquipos": 3, "PrioridadBalanceo": 100, "MaxEquipos": -1}
    with pytest.raises(edicion.ConflictoDeVersion) as exc:
        robots.cambiar(db, OPERADOR, 1, formulario, ahora=LUEGO, version=leida)
    mensaje = str(exc.value)
    assert "cambió después de que usted lo leyera" in mensaje and "no se ha guardado nada" in mensaje
    assert "- MinEquipos: 3 / 1" in mensaje and "- PrioridadBalanceo: 100 / 50" in mensaje
    assert "MaxEquipos" not in mensaje  # same value on both sides
    assert exc.value.diferencias == [("MinEquipos", 3, 1), ("PrioridadBalanceo", 100, 50)]
    assert _robot(db) == despues_del_otro
    conflicto = _auditoria(db)[-1]
    assert (conflicto["Usuario"], conflicto["Resultado"]) == ("ana", "conflicto")
    assert conflicto["Antes"]["PrioridadBalanceo"] == 50 and conflicto["Despues"]["MinEquipos"] == 3


def test_version_compares_at_millisecond_precision(db):
    leida = _robot(db)["FechaActualizacion"]
    r = robots.cambiar(db, OPERADOR, 1, {"MinEquipos": 2}, ahora=AHORA, version=leida)
    # a form echoes the version as text with milliseconds; microseconds beyond them do not matter
    texto = edicion.texto_version(r.version)
    assert texto == "2026-03-02 07:00:00.123"
    otra = robots.cambiar(db, OPERADOR, 1, {"MinEquipos": 3}, ahora=LUEGO, version=edicion.leer_version(texto))
    assert otra.estado == edicion.APLICADO


def test_double_submission_of_the_same_form_applies_once(db):
    leida = _robot(db)["FechaActualizacion"]
    primera = robots.cambiar(db, OPERADOR, 1, {"MinEquipos": 2, "MaxEquipos": 4}, ahora=AHORA, version=leida)
    segunda = robots.cambiar(db, OPERADOR, 1, {"MinEquipos": 2, "MaxEquipos": 4}, ahora=LUEGO, version=leida)
    assert primera.estado == edicion.APLICADO
    assert segunda.estado == edicion.YA_APLICADO and "Ya aplicado" in segunda.mensaje
    assert _robot(db)["FechaActualizacion"] == primera.version  # the repeat wrote nothing
    assert [a["Resultado"] for a in _auditoria(db)] == ["ok"]


def test_submission_without_differences_writes_nothing(db):
    fila = _robot(db)
    r = robots.cambiar(db, OPERADOR, 1, {"MinEquipos": "1", "Activo": "true"}, ahora=AHORA,
                       version=fila["FechaActualizacion"])
    assert r.estado == edicion.SIN_CAMBIOS and _robot(db) == fila and _auditoria(db) == []


def test_sync_does_not_bump_the_version_so_an_open_form_still_saves(db):
    from lanzador.database import inventario

    leida = _robot(db)["FechaActualizacion"]
    equipo_leido = db.query_one("SELECT FechaActualizacion FROM Equipos WHERE EquipoId = 10")["FechaActualizacion"]
    inventario.sincronizar_robots(db, [inventario.FilaRobot(1, "P1_Facturas", "nueva descripción"),
                                       inventario.FilaRobot(2, "P2_Pagos", None)], now=LUEGO)
    assert _robot(db)["Descripcion"] == "nueva descripción"
    assert _robot(db)["FechaActualizacion"] == leida
    inventario.sincronizar_equipos(db, [inventario.FilaEquipo(10, "VMRPA10", 5, "u5", "RUNTIME", "CONNECTED", True)],
                                   now=LUEGO)
    assert db.query_one("SELECT FechaActualizacion FROM Equipos WHERE EquipoId = 10")["FechaActualizacion"] \
        == equipo_leido
    assert robots.cambiar(db, OPERADOR, 1, {"MinEquipos": 2}, ahora=LUEGO, version=leida).estado == edicion.APLICADO


# --- equipos ---------------------------------------------------------------------------------
def _equipo(db, eid=10):
    return db.query_one("SELECT * FROM Equipos WHERE EquipoId = ?", (eid,))


def test_equipo_settings_change_and_audit(db):
    version = _equipo(db)["FechaActualizacion"]
    r = equipos.cambiar(db, OPERADOR, 10, {"Activo_SAM": "no", "PoolId": 1}, ahora=AHORA, version=version)
    assert r.estado == edicion.APLICADO
    fila = _equipo(db)
    assert (fila["Activo_SAM"], fila["PoolId"], fila["FechaActualizacion"]) == (0, 1, r.version)
    (aud,) = _auditoria(db, equipos.ENTIDAD)
    assert aud["Resultado"] == "ok" and aud["Antes"]["Activo_SAM"] is True and aud["Despues"]["PoolId"] == 1


def test_dynamic_balancing_refused_while_the_equipo_serves_an_active_schedule(db):
    equipos.cambiar(db, OPERADOR, 10, {"PermiteBalanceoDinamico": 0}, ahora=AHORA, version=None)
    pid = progs.crear(db, OPERADOR, Programacion(RobotId=1, TipoProgramacion="Diaria", HoraInicio=time(8, 0),
                                                 Tolerancia=30), [10], ahora=AHORA)
    with pytest.raises(edicion.CambioNoValido) as exc:
        equipos.cambiar(db, OPERADOR, 10, {"PermiteBalanceoDinamico": 1}, ahora=AHORA, version=None)
    assert f"{pid} (robot P1_Facturas)" in str(exc.value)
    assert _equipo(db)["PermiteBalanceoDinamico"] == 0
    assert _auditoria(db, equipos.ENTIDAD)[-1]["Resultado"] == "rechazado"
    # another equipo, and this one once the schedule is inactive, accept it
    progs.desactivar(db, OPERADOR, pid, ahora=AHORA)
    assert equipos.cambiar(db, OPERADOR, 10, {"PermiteBalanceoDinamico": 1}, ahora=LUEGO,
                           version=None).estado == edicion.APLICADO


def test_equipo_inactive_pool_and_stale_version(db):
    with pytest.raises(edicion.CambioNoValido, match="está inactivo"):
        equipos.cambiar(db, OPERADOR, 10, {"PoolId": 2}, ahora=AHORA, version=None)
    leida = _equipo(db)["FechaActualizacion"]
    equipos.cambiar(db, OTRO, 10, {"Activo_SAM": 0}, ahora=AHORA, version=leida)
    with pytest.raises(edicion.ConflictoDeVersion, match="- Activo_SAM: sí / no"):
        equipos.cambiar(db, OPERADOR, 10, {"Activo_SAM": 1, "PoolId": 1}, ahora=LUEGO, version=leida)
    assert _equipo(db)["PoolId"] is None
    assert _auditoria(db, equipos.ENTIDAD)[-1]["Resultado"] == "conflicto"
