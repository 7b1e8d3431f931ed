"""L7.6 on SQL Server, checked statically (SQL Server cannot run here): dbo.CargarProgramacionSAM
refuses an online robot and an equipo the balancer holds before it writes, never rewrites a
balancer row, and withdraws its equipos from the balancer with one audit row each;
dbo.AsignarRobotOnline refuses a robot with active schedules or a balancer pair, bumps the robot's
version and audits. The SQLite behaviour is tests/test_operaciones_programaciones.py."""

from __future__ import annotations

import re

from tests.test_sam_sql_guardas import _procedure


def _sin_comentarios(texto: str) -> str:
    return "\n".join(ln.split("--")[0] for ln in texto.splitlines())


def _posicion(cuerpo: str, patron: str) -> int:
    m = re.search(patron, cuerpo)
    assert m, patron
    return m.start()


def test_L7_6_cargar_programacion_refuses_online_robot_and_balancer_equipo_before_writing():
    cuerpo = _sin_comentarios(_procedure("CargarProgramacionSAM"))
    transaccion = _posicion(cuerpo, r"BEGIN TRANSACTION;")
    online = _posicion(cuerpo, r"WHERE r\.RobotId = @RobotId AND r\.EsOnline = 1;")
    balanceador = _posicion(cuerpo, r"WHERE a\.AsignadoPor = N'Balanceador'\s+ORDER BY")
    escritura = _posicion(cuerpo, r"INSERT INTO dbo\.Programaciones")
    assert transaccion < online < balanceador < _posicion(cuerpo, r"EXEC dbo\.SolapesProgramacionSAM") < escritura
    assert "FROM dbo.Robots AS r WITH (UPDLOCK, HOLDLOCK)" in cuerpo
    assert re.search(r"FROM dbo\.Asignaciones AS a WITH \(UPDLOCK, HOLDLOCK\)\s+INNER JOIN #EquiposSolicitados", cuerpo)
    assert "THROW 50050, @Mensaje, 1;" in cuerpo and "THROW 50051, @Mensaje, 1;" in cuerpo
    assert "PermiteBalanceoDinamico = 0 en el equipo, espere a que el Balanceador lo libere" in cuerpo


def test_L7_6_cargar_programacion_never_rewrites_a_balancer_row():
    cuerpo = _sin_comentarios(_procedure("CargarProgramacionSAM"))
    update = cuerpo[_posicion(cuerpo, r"UPDATE a\s+SET\s+a\.ProgramacionId"):]
    update = update[: update.index(";")]
    assert "a.AsignadoPor = N'Programacion'" in update
    assert "WHERE a.RobotId = @RobotId AND a.AsignadoPor <> N'Balanceador'" in update


def test_L7_6_cargar_programacion_withdraws_its_equipos_from_the_balancer_audited():
    cuerpo = _sin_comentarios(_procedure("CargarProgramacionSAM"))
    auditoria = _posicion(cuerpo, r"N'modificar', N'Equipos'")
    retirada = _posicion(cuerpo, r"SET e\.PermiteBalanceoDinamico = 0, e\.FechaActualizacion = @Ahora")
    assert _posicion(cuerpo, r"INSERT INTO dbo\.Asignaciones") < auditoria < retirada < cuerpo.rindex("COMMIT")
    assert cuerpo.count("WHERE e.PermiteBalanceoDinamico = 1;") == 2  # the audit and the update see the same rows
    assert "SUSER_SNAME()" in cuerpo[auditoria - 400 : auditoria]


def test_asignar_robot_online_refuses_active_schedules_and_balancer_pairs_bumps_version_and_audits():
    cuerpo = _sin_comentarios(_procedure("AsignarRobotOnline"))
    transaccion = _posicion(cuerpo, r"BEGIN TRANSACTION;")
    programaciones = _posicion(cuerpo, r"WHERE p\.RobotId = @RobotId AND p\.Activo = 1")
    balanceador = _posicion(cuerpo, r"WHERE a\.AsignadoPor = N'Balanceador' AND \(a\.RobotId = @RobotId OR")
    robot = _posicion(cuerpo, r"SET EsOnline = 1, FechaActualizacion = @Ahora")
    assert transaccion < programaciones < balanceador < robot
    assert "FROM dbo.Programaciones AS p WITH (UPDLOCK, HOLDLOCK)" in cuerpo
    assert "THROW 50052, @Mensaje, 1;" in cuerpo and "THROW 50053, @Mensaje, 1;" in cuerpo
    auditoria = _posicion(cuerpo, r"INSERT INTO dbo\.Auditoria")
    assert robot < auditoria < cuerpo.rindex("COMMIT TRANSACTION")
    assert "SUSER_SNAME()" in cuerpo[auditoria:] and "N'asignar_online', N'Asignaciones'" in cuerpo
