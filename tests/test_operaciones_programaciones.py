"""L7.4 and CONSOLE §4 on a real SQLite SAM DB: the schedule operations validate, refuse overlaps
with the conflict list, let only an administrador force them, audit every attempt in the same
transaction and write nothing when they refuse."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.operaciones import auditoria
from common.operaciones import programaciones as ops
from common.operaciones.auditoria import Actor
from common.programacion import Programacion

AHORA = datetime(2026, 3, 2, 7, 0, 0)  # a Monday
OPERADOR = Actor("ana", "operador", "10.0.0.5")
ADMIN = Actor("jefe", "administrador", "10.0.0.1")
LECTOR = Actor("luis", "lector")


@pytest.fixture
def db(tmp_path):
    client = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(client)
    client.executemany("INSERT INTO Robots (RobotId, Robot) VALUES (?, ?)", [(1, "P1_Facturas"), (2, "P2_Pagos")])
    client.executemany("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)", [(10, "VMRPA10"), (11, "VMRPA11")])
    yield client
    client.close_all()


def diaria(robot=1, hora=time(8, 0), **extra) -> Programacion:
    return Programacion(RobotId=robot, TipoProgramacion="Diaria", HoraInicio=hora, Tolerancia=30, **extra)


def _filas(db, tabla):
    return db.query(f"SELECT * FROM {tabla}")  # noqa: S608 - test helper, constant table names


def _auditoria(db):
    return auditoria.de_entidad(db, ops.ENTIDAD)


def test_L7_4_create_writes_schedule_assignments_and_audit_in_one_go(db):
    pid = ops.crear(db, OPERADOR, diaria(), [10, 11], ahora=AHORA)
    (fila,) = _filas(db, "Programaciones")
    assert fila["ProgramacionId"] == pid and fila["TipoProgramacion"] == "Diaria" and fila["Activo"] == 1
    assert fila["FechaActualizacion"] == AHORA
    asignaciones = sorted((a["EquipoId"], a["EsProgramado"], a["AsignadoPor"], a["ProgramacionId"])
                          for a in _filas(db, "Asignaciones"))
    assert asignaciones == [(10, 1, "Programacion", pid), (11, 1, "Programacion", pid)]
    (aud,) = _auditoria(db)
    assert (aud["Usuario"], aud["Rol"], aud["Ip"], aud["Accion"], aud["Resultado"]) == \
        ("ana", "operador", "10.0.0.5", "crear", "ok")
    assert aud["EntidadId"] == str(pid) and aud["Despues"]["Equipos"] == [10, 11]
    assert aud["Despues"]["HoraInicio"] == "08:00:00"
    listado = ops.listar(db)
    assert [e["Equipo"] for e in listado[0]["Equipos"]] == ["VMRPA10", "VMRPA11"]
    assert listado[0]["Robot"] == "P1_Facturas"


def test_L7_4_overlap_is_refused_with_each_conflict_and_audited_and_nothing_written(db):
    ops.crear(db, OPERADOR, diaria(robot=1, hora=time(8, 0)), [10], ahora=AHORA)
    ciclica = Programacion(RobotId=2, TipoProgramacion="Semanal", DiaSemana="lu,mi", HoraInicio=time(7, 0),
                           HoraFin=time(8, 15), EsCiclico=True, IntervaloEntreEjecuciones=5)
    with pytest.raises(ops.SolapeRechazado) as exc:
        ops.crear(db, OPERADOR, ciclica, [10, 11], ahora=AHORA)
    mensaje = str(exc.value)
    assert "equipo VMRPA10 (id 10)" in mensaje and "programación 1 del robot P1_Facturas" in mensaje
    assert "el 2026-03-02 de 08:00 a 08:15" in mensaje and "Sólo un administrador" in mensaje
    assert "VMRPA11" not in mensaje  # no conflict there
    assert len(_filas(db, "Programaciones")) == 1
    assert [a["RobotId"] for a in _filas(db, "Asignaciones")] == [1]
    rechazo = _auditoria(db)[-1]
    assert (rechazo["Accion"], rechazo["Resultado"], rechazo["EntidadId"]) == ("crear", "rechazado", None)
    assert rechazo["Despues"]["Solapes"][0]["EquipoId"] == 10
    assert "se solapa" in rechazo["Despues"]["Motivo"]


def test_L7_4_administrador_may_force_and_it_is_audited(db):
    ops.crear(db, OPERADOR, diaria(robot=1), [10], ahora=AHORA)
    pid = ops.crear(db, ADMIN, diaria(robot=2), [10], ahora=AHORA, forzar=True)
    assert {p["ProgramacionId"] for p in _filas(db, "Programaciones")} == {1, pid}
    forzado = _auditoria(db)[-1]
    assert (forzado["Usuario"], forzado["Resultado"], forzado["EntidadId"]) == ("jefe", "forzado", str(pid))
    assert forzado["Despues"]["Solapes"][0]["ProgramacionB"] == 1


def test_L7_4_operador_may_not_force_and_the_attempt_is_audited(db):
    ops.crear(db, OPERADOR, diaria(robot=1), [10], ahora=AHORA)
    with pytest.raises(ops.PermisoDenegado) as exc:
        ops.crear(db, OPERADOR, diaria(robot=2), [10], ahora=AHORA, forzar=True)
    assert "Sólo un administrador puede forzar" in str(exc.value) and "VMRPA10" in str(exc.value)
    assert len(_filas(db, "Programaciones")) == 1
    assert _auditoria(db)[-1]["Resultado"] == "rechazado"


def test_lector_may_not_write_and_is_audited(db):
    with pytest.raises(ops.PermisoDenegado, match="rol operador o administrador"):
        ops.crear(db, LECTOR, diaria(), [10], ahora=AHORA)
    assert _filas(db, "Programaciones") == [] and _filas(db, "Asignaciones") == []
    assert [(a["Usuario"], a["Resultado"]) for a in _auditoria(db)] == [("luis", "rechazado")]


@pytest.mark.parametrize(("prog", "equipos", "texto"), [
    (Programacion(RobotId=1, TipoProgramacion="RangoMensual", HoraInicio=time(8, 0), DiaInicioMes=5,
                  DiaFinMes=9, UltimosDiasMes=2), [10], "las dos formas"),
    (Programacion(RobotId=1, TipoProgramacion="Semanal", DiaSemana="LU,XX", HoraInicio=time(8, 0)), [10], "XX"),
    (Programacion(RobotId=1, TipoProgramacion="Especifica", FechaEspecifica=date(2026, 3, 1),
                  HoraInicio=time(8, 0)), [10], "en el pasado"),
    (Programacion(RobotId=1, TipoProgramacion="Diaria", HoraInicio=time(8, 0), HoraFin=time(9, 0)), [10],
     "no cíclica"),
    (diaria(robot=9), [10], "el robot 9 no existe"),
    (diaria(), [10, 99], "equipos que no existen: 99"),
    (diaria(), [], "al menos un equipo"),
])
def test_L7_1_invalid_schedule_is_refused_audited_and_nothing_written(db, prog, equipos, texto):
    with pytest.raises(ops.ProgramacionInvalida, match=texto):
        ops.crear(db, OPERADOR, prog, equipos, ahora=AHORA)
    assert _filas(db, "Programaciones") == [] and _filas(db, "Asignaciones") == []
    (aud,) = _auditoria(db)
    assert aud["Resultado"] == "rechazado" and texto in aud["Despues"]["Motivo"]


def test_L7_4_modify_into_an_overlap_is_refused_and_keeps_the_row(db):
    ops.crear(db, OPERADOR, diaria(robot=1, hora=time(8, 0)), [10], ahora=AHORA)
    otra = ops.crear(db, OPERADOR, diaria(robot=2, hora=time(10, 0)), [10], ahora=AHORA)
    with pytest.raises(ops.SolapeRechazado, match="programación 1 del robot P1_Facturas"):
        ops.modificar(db, OPERADOR, otra, {"HoraInicio": time(8, 20)}, ahora=AHORA)
    assert db.query_one("SELECT HoraInicio FROM Programaciones WHERE ProgramacionId = ?", (otra,))["HoraInicio"] \
        == time(10, 0)
    # a change that does not overlap (its own old version is not a conflict) is saved with a new version
    later = datetime(2026, 3, 2, 7, 5)
    nueva = ops.modificar(db, OPERADOR, otra, {"HoraInicio": time(10, 30), "Tolerancia": 15}, ahora=later)
    fila = db.query_one("SELECT * FROM Programaciones WHERE ProgramacionId = ?", (otra,))
    assert nueva.HoraInicio == fila["HoraInicio"] == time(10, 30) and fila["FechaActualizacion"] == later
    assert [a["Resultado"] for a in _auditoria(db)] == ["ok", "ok", "rechazado", "ok"]


def test_modify_over_a_newer_version_is_refused(db):
    pid = ops.crear(db, OPERADOR, diaria(), [10], ahora=AHORA)
    ops.modificar(db, OPERADOR, pid, {"Tolerancia": 20}, ahora=datetime(2026, 3, 2, 7, 1), version=AHORA)
    with pytest.raises(ops.VersionCambiada, match="no se ha guardado nada"):
        ops.modificar(db, OPERADOR, pid, {"Tolerancia": 40}, ahora=datetime(2026, 3, 2, 7, 2), version=AHORA)
    assert db.query_one("SELECT Tolerancia FROM Programaciones")["Tolerancia"] == 20


def test_L7_4_deactivated_schedule_does_not_conflict_and_reactivation_is_checked(db):
    primera = ops.crear(db, OPERADOR, diaria(robot=1), [10], ahora=AHORA)
    ops.desactivar(db, OPERADOR, primera, ahora=AHORA)
    segunda = ops.crear(db, OPERADOR, diaria(robot=2), [10], ahora=AHORA)
    with pytest.raises(ops.SolapeRechazado, match=f"programación {segunda} del robot P2_Pagos"):
        ops.activar(db, OPERADOR, primera, ahora=AHORA)
    assert db.query_one("SELECT Activo FROM Programaciones WHERE ProgramacionId = ?", (primera,))["Activo"] == 0
    ops.activar(db, ADMIN, primera, ahora=AHORA, forzar=True)
    assert [(a["Accion"], a["Resultado"]) for a in _auditoria(db)][-2:] == [("activar", "rechazado"),
                                                                            ("activar", "forzado")]


def test_L7_4_shared_assignment_brings_the_robots_other_schedules_into_the_check(db):
    # robot 1 runs at 08:00 on VMRPA10; robot 2 at 12:00 on VMRPA11; robot 1 at 12:00 only on VMRPA10
    ops.crear(db, OPERADOR, diaria(robot=1, hora=time(8, 0)), [10], ahora=AHORA)
    ops.crear(db, OPERADOR, diaria(robot=2, hora=time(12, 0)), [11], ahora=AHORA)
    ops.crear(db, OPERADOR, diaria(robot=1, hora=time(18, 0)), [11], ahora=AHORA)
    # a new 12:30 schedule of robot 1 on VMRPA11 conflicts directly with robot 2's 12:00
    with pytest.raises(ops.SolapeRechazado) as exc:
        ops.crear(db, OPERADOR, diaria(robot=1, hora=time(12, 10)), [11], ahora=AHORA)
    assert "con la programación 2 del robot P2_Pagos" in str(exc.value)
    # a 20:00 schedule of robot 1 on VMRPA11 makes that assignment shared: the robot's 08:00 schedule
    # would apply there too; it does not meet robot 2's 12:00, so it is accepted
    ops.crear(db, OPERADOR, diaria(robot=1, hora=time(20, 0)), [11], ahora=AHORA)
    compartida = db.query_one("SELECT ProgramacionId FROM Asignaciones WHERE RobotId = 1 AND EquipoId = 11")
    assert compartida["ProgramacionId"] is None
    # and robot 2's new 08:10 on VMRPA10 now meets robot 1's 08:00 there
    with pytest.raises(ops.SolapeRechazado, match="VMRPA10"):
        ops.crear(db, OPERADOR, diaria(robot=2, hora=time(8, 10)), [10], ahora=AHORA)


def test_L7_4_widened_schedule_conflict_is_named(db):
    ops.crear(db, OPERADOR, diaria(robot=1, hora=time(12, 0)), [10], ahora=AHORA)
    ops.crear(db, OPERADOR, diaria(robot=2, hora=time(12, 0)), [11], ahora=AHORA)
    ops.crear(db, OPERADOR, diaria(robot=1, hora=time(18, 0)), [11], ahora=AHORA)
    with pytest.raises(ops.SolapeRechazado) as exc:
        ops.crear(db, OPERADOR, diaria(robot=1, hora=time(20, 0)), [11], ahora=AHORA)
    assert "la programación 1 del robot P1_Facturas pasaría a valer también en este equipo" in str(exc.value)


def test_delete_removes_the_schedule_and_its_own_assignments(db):
    pid = ops.crear(db, OPERADOR, diaria(robot=1), [10, 11], ahora=AHORA)
    ops.eliminar(db, OPERADOR, pid, ahora=AHORA)
    assert _filas(db, "Programaciones") == [] and _filas(db, "Asignaciones") == []
    eliminado = _auditoria(db)[-1]
    assert (eliminado["Accion"], eliminado["Antes"]["Equipos"], eliminado["Despues"]) == ("eliminar", [10, 11], None)
    with pytest.raises(ops.NoEncontrada):
        ops.eliminar(db, OPERADOR, pid, ahora=AHORA)


def test_rango_mensual_and_cyclic_window_rows_are_stored_normalised(db):
    rango = Programacion(RobotId=1, TipoProgramacion="rangomensual", HoraInicio=time(6, 0), UltimosDiasMes=3,
                         DiaSemana="  ", Tolerancia=None, FechaInicioVentana=date(2026, 3, 1),
                         FechaFinVentana=date(2026, 6, 30))
    pid = ops.crear(db, OPERADOR, rango, [10], ahora=AHORA)
    fila = db.query_one("SELECT * FROM Programaciones WHERE ProgramacionId = ?", (pid,))
    assert (fila["TipoProgramacion"], fila["UltimosDiasMes"], fila["DiaSemana"], fila["Tolerancia"]) == \
        ("RangoMensual", 3, None, 60)  # a blank DiaSemana is no value: stored NULL
    assert fila["FechaFinVentana"] == date(2026, 6, 30)


@pytest.mark.parametrize("tipo, extra, columna", [
    ("RangoMensual", {"UltimosDiasMes": 3, "DiaSemana": "LU"}, "DiaSemana"),
    ("Diaria", {"UltimosDiasMes": 3}, "UltimosDiasMes"),
    ("Diaria", {"DiaDelMes": 5}, "DiaDelMes"),
    ("Semanal", {"DiaSemana": "LU", "FechaEspecifica": date(2026, 3, 9)}, "FechaEspecifica"),
    ("Mensual", {"DiaDelMes": 5, "DiaInicioMes": 1, "DiaFinMes": 4}, "DiaInicioMes"),
])
def test_L7_1_create_refuses_a_column_of_another_type_instead_of_dropping_it(db, tipo, extra, columna):
    p = Programacion(RobotId=1, TipoProgramacion=tipo, HoraInicio=time(6, 0), **extra)
    with pytest.raises(ops.ProgramacionInvalida, match=f"{columna} no corresponde a una programación {tipo}"):
        ops.crear(db, OPERADOR, p, [10], ahora=AHORA)
    assert _filas(db, "Programaciones") == []
    assert _auditoria(db)[0]["Resultado"] == auditoria.RECHAZADO


def test_L7_1_modify_refuses_a_column_of_another_type_but_a_type_change_clears_the_old_ones(db):
    pid = ops.crear(db, OPERADOR, Programacion(RobotId=1, TipoProgramacion="Mensual", HoraInicio=time(6, 0),
                                               DiaDelMes=5), [10], ahora=AHORA)
    with pytest.raises(ops.ProgramacionInvalida, match="DiaDelMes no corresponde a una programación Diaria"):
        ops.modificar(db, OPERADOR, pid, {"TipoProgramacion": "Diaria", "DiaDelMes": 7}, ahora=AHORA)
    with pytest.raises(ops.ProgramacionInvalida, match="UltimosDiasMes no corresponde a una programación Mensual"):
        ops.modificar(db, OPERADOR, pid, {"UltimosDiasMes": 2}, ahora=AHORA)
    assert db.query_one("SELECT DiaDelMes FROM Programaciones")["DiaDelMes"] == 5
    # Changing the type alone: the old type's DiaDelMes goes with it (the caller could not clear it).
    nueva = ops.modificar(db, OPERADOR, pid, {"TipoProgramacion": "Semanal", "DiaSemana": "lu, mi"}, ahora=AHORA)
    assert (nueva.TipoProgramacion, nueva.DiaSemana, nueva.DiaDelMes) == ("Semanal", "LU, MI", None)
    fila = db.query_one("SELECT TipoProgramacion, DiaSemana, DiaDelMes FROM Programaciones")
    assert (fila["TipoProgramacion"], fila["DiaSemana"], fila["DiaDelMes"]) == ("Semanal", "LU, MI", None)


def test_L7_1_create_refuses_an_interval_beyond_one_week(db):
    p = diaria(EsCiclico=True, HoraFin=time(18, 0), IntervaloEntreEjecuciones=35_791_395)
    with pytest.raises(ops.ProgramacionInvalida, match="IntervaloEntreEjecuciones fuera de 0..10080"):
        ops.crear(db, OPERADOR, p, [10], ahora=AHORA)
    assert _filas(db, "Programaciones") == []


# --------------------------------------------------------------------------------------------
# L7.6: schedules versus online robots and the balancer's rows
# --------------------------------------------------------------------------------------------
def _asignaciones(db):
    return sorted((a["RobotId"], a["EquipoId"], a["EsProgramado"], a["AsignadoPor"]) for a in _filas(db, "Asignaciones"))


def _balanceo(db):
    return {e["EquipoId"]: e["PermiteBalanceoDinamico"] for e in _filas(db, "Equipos")}


@pytest.mark.parametrize("robot_del_balanceador", [1, 2])
def test_L7_6_create_on_an_equipo_the_balancer_holds_is_refused_and_its_row_kept(db, robot_del_balanceador):
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, AsignadoPor) "
               "VALUES (?, 11, 0, 0, ?, 'Balanceador')", (robot_del_balanceador, AHORA))
    with pytest.raises(ops.ChoqueConBalanceo) as exc:
        ops.crear(db, ADMIN, diaria(), [10, 11], ahora=AHORA, forzar=True)
    nombre = {1: "P1_Facturas", 2: "P2_Pagos"}[robot_del_balanceador]
    mensaje = str(exc.value)
    assert f"el equipo VMRPA11 lo tiene asignado el Balanceador para el robot {nombre}" in mensaje
    assert "PermiteBalanceoDinamico = no" in mensaje and "VMRPA10" not in mensaje
    assert _filas(db, "Programaciones") == []
    assert _asignaciones(db) == [(robot_del_balanceador, 11, 0, "Balanceador")]
    assert _balanceo(db) == {10: 1, 11: 1}  # nothing written
    rechazo = _auditoria(db)[-1]
    assert (rechazo["Accion"], rechazo["Resultado"]) == ("crear", "rechazado")
    assert "Balanceador" in rechazo["Despues"]["Motivo"]
    assert auditoria.de_entidad(db, "Equipos") == []


def test_L7_6_create_for_an_online_robot_is_refused(db):
    db.execute("UPDATE Robots SET EsOnline = 1 WHERE RobotId = 1")
    with pytest.raises(ops.ChoqueConBalanceo, match=r"P1_Facturas \(id 1\) está online.*ponga EsOnline = no"):
        ops.crear(db, OPERADOR, diaria(), [10], ahora=AHORA)
    assert _filas(db, "Programaciones") == [] and _filas(db, "Asignaciones") == []
    assert _auditoria(db)[-1]["Resultado"] == "rechazado"


def test_L7_6_create_withdraws_its_equipos_from_the_balancer_audited(db):
    db.execute("UPDATE Equipos SET PermiteBalanceoDinamico = 0 WHERE EquipoId = 10")
    pid = ops.crear(db, OPERADOR, diaria(), [10, 11], ahora=AHORA)
    assert _balanceo(db) == {10: 0, 11: 0}
    equipo = next(e for e in _filas(db, "Equipos") if e["EquipoId"] == 11)
    assert equipo["FechaActualizacion"] == AHORA  # an open console form sees the change as a conflict
    (aud,) = auditoria.de_entidad(db, "Equipos")  # only the equipo that changed
    assert (aud["EntidadId"], aud["Usuario"], aud["Accion"], aud["Resultado"]) == ("11", "ana", "modificar", "ok")
    assert aud["Antes"] == {"PermiteBalanceoDinamico": True}
    assert aud["Despues"]["PermiteBalanceoDinamico"] is False and f"programación {pid}" in aud["Despues"]["Motivo"]
    assert _auditoria(db)[-1]["Despues"]["SinBalanceoDinamico"] == [11]


def test_L7_6_a_manual_row_of_the_robot_becomes_scheduled_but_never_a_balancer_row(db):
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, AsignadoPor) "
               "VALUES (1, 10, 0, 1, ?, 'Manual')", (AHORA,))
    ops.crear(db, OPERADOR, diaria(), [10], ahora=AHORA)
    assert _asignaciones(db) == [(1, 10, 1, "Programacion")]


def test_L7_6_reactivation_is_refused_while_the_robot_is_online_or_the_balancer_took_an_equipo(db):
    pid = ops.crear(db, OPERADOR, diaria(), [10, 11], ahora=AHORA)
    ops.desactivar(db, OPERADOR, pid, ahora=AHORA)
    db.execute("UPDATE Robots SET EsOnline = 1 WHERE RobotId = 1")
    with pytest.raises(ops.ChoqueConBalanceo, match="está online"):
        ops.activar(db, OPERADOR, pid, ahora=AHORA)
    db.execute("UPDATE Robots SET EsOnline = 0 WHERE RobotId = 1")
    db.execute("UPDATE Equipos SET PermiteBalanceoDinamico = 1 WHERE EquipoId = 11")
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, AsignadoPor) "
               "VALUES (2, 11, 0, 0, ?, 'Balanceador')", (AHORA,))
    with pytest.raises(ops.ChoqueConBalanceo, match="VMRPA11 lo tiene asignado el Balanceador para el robot P2_Pagos"):
        ops.activar(db, OPERADOR, pid, ahora=AHORA)
    assert _filas(db, "Programaciones")[0]["Activo"] == 0
    db.execute("DELETE FROM Asignaciones WHERE AsignadoPor = 'Balanceador'")  # the balancer released it
    ops.activar(db, OPERADOR, pid, ahora=AHORA)
    assert _filas(db, "Programaciones")[0]["Activo"] == 1 and _balanceo(db) == {10: 0, 11: 0}


def test_L7_6_refusal_reasons_are_pure_and_name_each_holder():
    robot = {"RobotId": 3, "Robot": "P3", "EsOnline": 0}
    filas = [{"RobotId": 4, "Robot": "P4", "EquipoId": 10, "Equipo": "VM10"}]
    assert ops.motivos_balanceo(robot, []) == []
    (motivo,) = ops.motivos_balanceo(robot, filas)
    assert "VM10" in motivo and "robot P4 (id 4)" in motivo
    assert len(ops.motivos_balanceo({**robot, "EsOnline": 1}, filas)) == 2
