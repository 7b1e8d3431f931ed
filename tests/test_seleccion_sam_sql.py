"""L2: ``dbo.ObtenerRobotsEjecutables`` in SAM.sql is the procedure of lanzador/service/seleccion.py,
passes the static T-SQL checks, and uses the same state vocabulary as its SQLite twin."""

from __future__ import annotations

from common.execution_states import DEPLOY_FAILED, TERMINAL_SQL_LIST, UNKNOWN
from common.paths import SAM_SQL
from lanzador.service import seleccion
from tests.sqlcheck import check_tsql


def test_L2_sam_sql_holds_the_procedure_before_the_marker():
    text = SAM_SQL.read_text(encoding="utf-8")
    block = seleccion.bloque_sam_sql()
    assert text.count(block) == 1
    assert text.index(block) + len(block) == text.index(seleccion.MARCADOR_SAM_SQL)
    assert text.count("CREATE OR ALTER PROCEDURE dbo.ObtenerRobotsEjecutables") == 1


def test_L2_procedure_passes_static_checks():
    assert check_tsql(seleccion.PROCEDIMIENTO_TSQL) == []
    assert check_tsql(seleccion.EXEC_TSQL) == []


def test_L2_both_engines_share_the_state_vocabulary():
    for sql in (seleccion.PROCEDIMIENTO_TSQL, seleccion.CONSULTA_SQLITE):
        assert TERMINAL_SQL_LIST in sql
        assert f"'{UNKNOWN}'" in sql and f"'{DEPLOY_FAILED}'" in sql
        assert "FechaFin IS NULL" in sql  # busy = not terminal and not closed (as ejecuciones.BUSY_CONDITION_SQL)


def test_L2_exec_passes_every_parameter_from_python():
    for name in ("@Ahora", "@EsperaTrasFalloSeg", "@ToleranciaUnknownMin", "@ToleranciaDefectoMin"):
        assert f"{name} = ?" in seleccion.EXEC_TSQL
        assert name in seleccion.PROCEDIMIENTO_TSQL


def test_L2_sqlserver_path_calls_the_procedure_with_python_clock():
    from datetime import datetime

    calls = []

    class FakeSqlServer:
        engine = "sqlserver"

        def query(self, sql, params=()):
            calls.append((sql, tuple(params)))
            return [{"RobotId": 1, "EquipoId": 2, "UserId": 3, "Hora": None, "EsProgramado": False,
                     "FechaSlot": None}]

    ahora = datetime(2026, 3, 2, 10, 5, 7)
    (row,) = seleccion.obtener_robots_ejecutables(FakeSqlServer(), ahora, espera_tras_fallo_seg=45,
                                                  tolerancia_unknown_min=90)
    assert calls == [(seleccion.EXEC_TSQL, (ahora, 45, 90, 60))]
    assert (row.robot_id, row.equipo_id, row.user_id, row.es_programado) == (1, 2, 3, False)


def test_L2_both_engines_see_the_same_whole_second_clock():
    """The SQLite twin compares 'YYYY-MM-DD HH:MM:SS' text; the procedure must get the same instant
    (no sub-second digits) or a tolerance edge (HoraInicio + Tolerancia) is decided differently."""
    from datetime import datetime

    calls = []

    class FakeSqlServer:
        engine = "sqlserver"

        def query(self, sql, params=()):
            calls.append(tuple(params))
            return []

    seleccion.obtener_robots_ejecutables(FakeSqlServer(), datetime(2026, 3, 2, 9, 0, 0, 999999))
    assert calls[0][0] == datetime(2026, 3, 2, 9, 0, 0)


def test_L2_weekday_does_not_depend_on_datefirst_or_language():
    from datetime import date

    proc = seleccion.PROCEDIMIENTO_TSQL.upper()
    assert "DATEPART" not in proc and "DATENAME" not in proc and "@@DATEFIRST" not in proc
    # the anchor of DATEDIFF(DAY, '19000101', d) % 7 = 0 = LU is a Monday, written language-neutral
    assert date(1900, 1, 1).weekday() == 0 and "CAST('19000101' AS DATE)" in seleccion.PROCEDIMIENTO_TSQL
