"""CONSOLE §4 on a real SQLite SAM DB: manual (reserved) assignments that never touch the
balancer's own rows (B9) nor scheduled ones, pools and membership (B11), name mappings (B14);
role checks, one transaction per call (a refusal writes only its audit row), repeats apply once."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.operaciones import asignaciones, auditoria, edicion, mapeos, pools
from common.operaciones import programaciones as progs
from common.operaciones.auditoria import Actor
from common.programacion import Programacion

AHORA = datetime(2026, 3, 2, 7, 0, 0)
OPERADOR = Actor("ana", "operador", "10.0.0.5")
ADMIN = Actor("jefe", "administrador", "10.0.0.1")


@pytest.fixture
def db(tmp_path):
    client = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(client)
    client.executemany("INSERT INTO Robots (RobotId, Robot) VALUES (?, ?)", [(1, "P1_Facturas"), (2, "P2_Pagos")])
    client.executemany("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)",
                       [(10, "VMRPA10"), (11, "VMRPA11"), (12, "VMRPA12")])
    yield client
    client.close_all()


def _asig(db):
    return sorted((a["RobotId"], a["EquipoId"], a["EsProgramado"], a["Reservado"], a["AsignadoPor"])
                  for a in db.query("SELECT * FROM Asignaciones"))


def _balanceador(db, robot, equipo):
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, AsignadoPor) "
               "VALUES (?, ?, 0, 0, 'Balanceador')", (robot, equipo))


def test_reserve_and_free_manual_assignments_audited_and_repeat_applies_once(db):
    r = asignaciones.reservar(db, OPERADOR, 1, ["10", 11], ahora=AHORA)
    assert r.estado == edicion.APLICADO and "VMRPA10, VMRPA11" in r.mensaje
    assert _asig(db) == [(1, 10, 0, 1, "Manual"), (1, 11, 0, 1, "Manual")]
    again = asignaciones.reservar(db, OPERADOR, 1, [10, 11], ahora=AHORA)
    assert again.estado == edicion.YA_APLICADO
    assert len(_asig(db)) == 2
    assert asignaciones.liberar(db, OPERADOR, 1, [10], ahora=AHORA).estado == edicion.APLICADO
    assert asignaciones.liberar(db, OPERADOR, 1, [10], ahora=AHORA).estado == edicion.YA_APLICADO
    assert _asig(db) == [(1, 11, 0, 1, "Manual")]
    filas = auditoria.de_entidad(db, asignaciones.ENTIDAD)
    assert [(a["Accion"], a["Resultado"], a["EntidadId"]) for a in filas] == \
        [("reservar", "ok", "1"), ("liberar", "ok", "1")]
    assert filas[0]["Despues"]["Equipos"] == [10, 11]


def test_B9_reservation_over_an_equipo_the_balancer_holds_is_refused_naming_its_robot(db):
    _balanceador(db, 2, 11)
    with pytest.raises(edicion.CambioNoValido) as exc:
        asignaciones.reservar(db, OPERADOR, 1, [10, 11], ahora=AHORA)
    assert "VMRPA11 lo tiene asignado el Balanceador para el robot P2_Pagos (id 2)" in str(exc.value)
    assert "PermiteBalanceoDinamico = no" in str(exc.value)
    assert _asig(db) == [(2, 11, 0, 0, "Balanceador")]  # nothing written, not even VMRPA10
    assert auditoria.de_entidad(db, asignaciones.ENTIDAD)[-1]["Resultado"] == "rechazado"


def test_B9_the_balancers_own_rows_and_scheduled_rows_are_never_freed_or_converted(db):
    _balanceador(db, 1, 10)
    pid = progs.crear(db, OPERADOR, Programacion(RobotId=1, TipoProgramacion="Diaria", HoraInicio=time(8, 0),
                                                 Tolerancia=30), [11], ahora=AHORA)
    antes = _asig(db)
    with pytest.raises(edicion.CambioNoValido, match="es del Balanceador"):
        asignaciones.liberar(db, OPERADOR, 1, [10], ahora=AHORA)
    with pytest.raises(edicion.CambioNoValido, match="es de una programación"):
        asignaciones.liberar(db, OPERADOR, 1, [11], ahora=AHORA)
    with pytest.raises(edicion.CambioNoValido, match="Balanceador"):
        asignaciones.reservar(db, OPERADOR, 1, [10], ahora=AHORA)
    with pytest.raises(edicion.CambioNoValido, match="ya sirve una programación"):
        asignaciones.reservar(db, OPERADOR, 1, [11], ahora=AHORA)
    assert _asig(db) == antes and pid


def test_an_online_manual_row_becomes_reserved_and_other_robots_rows_do_not_block(db):
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, AsignadoPor) "
               "VALUES (1, 10, 0, 0, 'Manual'), (2, 10, 0, 1, 'Manual')")
    asignaciones.reservar(db, OPERADOR, 1, [10], ahora=AHORA)
    assert _asig(db) == [(1, 10, 0, 1, "Manual"), (2, 10, 0, 1, "Manual")]


def test_assignment_refusals_unknown_ids_and_role(db):
    with pytest.raises(progs.NoEncontrada):
        asignaciones.reservar(db, OPERADOR, 99, [10], ahora=AHORA)
    with pytest.raises(edicion.CambioNoValido, match="equipos que no existen: 77"):
        asignaciones.reservar(db, OPERADOR, 1, [10, 77], ahora=AHORA)
    with pytest.raises(progs.PermisoDenegado):
        asignaciones.reservar(db, Actor("luis", "lector"), 1, [10], ahora=AHORA)
    assert _asig(db) == []
    assert [a["Resultado"] for a in auditoria.de_entidad(db, asignaciones.ENTIDAD)] == ["rechazado"] * 3


# --- pools -----------------------------------------------------------------------------------
def test_B11_pool_lifecycle_membership_and_delete_only_when_empty(db):
    creado = pools.crear(db, ADMIN, "  Finanzas ", descripcion="Cuentas", ahora=AHORA)
    pid = creado.extra["pool_id"]
    assert creado.estado == edicion.APLICADO
    assert pools.crear(db, ADMIN, "FINANZAS", ahora=AHORA).estado == edicion.YA_APLICADO  # double submit
    assert len(pools.listar(db)) == 1
    assert pools.mover(db, ADMIN, pid, robots=[1], equipos=[10, 11], ahora=AHORA).estado == edicion.APLICADO
    assert pools.mover(db, ADMIN, pid, robots=[1], ahora=AHORA).estado == edicion.YA_APLICADO
    robot = db.query_one("SELECT PoolId, FechaActualizacion FROM Robots WHERE RobotId = 1")
    assert robot == {"PoolId": pid, "FechaActualizacion": AHORA}  # its version moves too
    (fila,) = pools.listar(db)
    assert (fila["Nombre"], fila["Robots"], fila["Equipos"]) == ("Finanzas", 1, 2)
    with pytest.raises(edicion.CambioNoValido, match=r"no está vacío \(1 robots, 2 equipos\)"):
        pools.eliminar(db, ADMIN, pid, ahora=AHORA)
    pools.mover(db, ADMIN, None, robots=[1], equipos=[10, 11], ahora=AHORA)
    assert pools.eliminar(db, ADMIN, pid, ahora=AHORA).estado == edicion.APLICADO
    assert pools.eliminar(db, ADMIN, pid, ahora=AHORA).estado == edicion.YA_APLICADO
    acciones = [(a["Accion"], a["Resultado"]) for a in auditoria.de_entidad(db, pools.ENTIDAD)]
    assert acciones == [("crear", "ok"), ("miembros", "ok"), ("eliminar", "rechazado"), ("miembros", "ok"),
                        ("eliminar", "ok")]


def test_B11_pool_rename_deactivate_with_version_and_rules(db):
    a = pools.crear(db, ADMIN, "A", ahora=AHORA).extra["pool_id"]
    pools.crear(db, ADMIN, "B", ahora=AHORA)
    version = db.query_one("SELECT FechaActualizacion FROM Pools WHERE PoolId = ?", (a,))["FechaActualizacion"]
    with pytest.raises(edicion.CambioNoValido, match="ya existe un pool llamado B"):
        pools.cambiar(db, ADMIN, a, {"Nombre": "b"}, ahora=AHORA, version=version)
    with pytest.raises(edicion.CambioNoValido, match="obligatorio"):
        pools.cambiar(db, ADMIN, a, {"Nombre": "  "}, ahora=AHORA, version=version)
    hecho = pools.cambiar(db, ADMIN, a, {"Activo": "0"}, ahora=AHORA + timedelta(seconds=1), version=version)
    assert hecho.estado == edicion.APLICADO
    with pytest.raises(edicion.ConflictoDeVersion, match="- Nombre: A2 / A"):
        pools.cambiar(db, ADMIN, a, {"Nombre": "A2"}, ahora=AHORA, version=version)
    with pytest.raises(edicion.CambioNoValido, match="está inactivo"):
        pools.mover(db, ADMIN, a, robots=[1], ahora=AHORA)
    auds = auditoria.de_entidad(db, pools.ENTIDAD)
    assert [x["Resultado"] for x in auds][-3:] == ["ok", "conflicto", "rechazado"]
    assert auds[-3]["Accion"] == "desactivar"


def test_pools_and_mappings_need_an_administrador(db):
    with pytest.raises(progs.PermisoDenegado, match="hace falta el rol administrador"):
        pools.crear(db, OPERADOR, "X", ahora=AHORA)
    with pytest.raises(progs.PermisoDenegado):
        mapeos.crear(db, OPERADOR, "clouders", "bot_x", 1, ahora=AHORA)
    assert pools.listar(db) == [] and mapeos.listar(db) == []
    assert auditoria.de_entidad(db, mapeos.ENTIDAD)[0]["Resultado"] == "rechazado"


# --- mappings --------------------------------------------------------------------------------
def test_B14_mapping_create_duplicate_and_delete(db):
    r = mapeos.crear(db, ADMIN, "Clouders", " bot_facturas ", 1, ahora=AHORA)
    mid = r.extra["mapeo_id"]
    assert r.estado == edicion.APLICADO
    assert mapeos.crear(db, ADMIN, "clouders", "BOT_FACTURAS", 1, ahora=AHORA).estado == edicion.YA_APLICADO
    with pytest.raises(edicion.CambioNoValido, match=r"ya apunta al robot P1_Facturas \(id 1, mapeo"):
        mapeos.crear(db, ADMIN, "clouders", "bot_facturas", 2, ahora=AHORA)
    assert mapeos.crear(db, ADMIN, "rpa360", "bot_facturas", 2, ahora=AHORA).estado == edicion.APLICADO
    with pytest.raises(edicion.CambioNoValido, match="Proveedor debe ser rpa360 o clouders"):
        mapeos.crear(db, ADMIN, "otro", "x", 1, ahora=AHORA)
    with pytest.raises(edicion.CambioNoValido, match="el robot 99 no existe"):
        mapeos.crear(db, ADMIN, "rpa360", "x", 99, ahora=AHORA)
    assert [(m["Proveedor"], m["NombreExterno"], m["RobotId"]) for m in mapeos.listar(db)] == \
        [("clouders", "bot_facturas", 1), ("rpa360", "bot_facturas", 2)]
    assert mapeos.eliminar(db, ADMIN, mid, ahora=AHORA).estado == edicion.APLICADO
    assert mapeos.eliminar(db, ADMIN, mid, ahora=AHORA).estado == edicion.YA_APLICADO
    assert len(mapeos.listar(db)) == 1
