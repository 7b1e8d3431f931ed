"""L2: ``dbo.ObtenerRobotsEjecutables`` in SAM.sql is the procedure of lanzador/database/seleccion.py,
passes the static T-SQL checks, and uses the same state vocabulary as its SQLite twin."""

from __future__ import annotations

from common.database import sentencias
from common.database.ocupacion import ocupa_equipo
from common.execution_states import DEPLOY_FAILED, TERMINAL_SQL_LIST, UNKNOWN
from common.paths import SAM_SQL
from lanzador.database import seleccion
from tests.sqlcheck import check_tsql

EXEC_TSQL = sentencias.sentencia("seleccion.obtener_robots_ejecutables").tsql


def test_L2_sam_sql_holds_the_procedure_before_the_marker():
    text = SAM_SQL.read_text(encoding="utf-8")
    block = seleccion.bloque_sam_sql()
    assert text.count(block) == 1
    assert text.index(block) + len(block) == text.index(seleccion.MARCADOR_SAM_SQL)
    assert text.count("CREATE OR ALTER PROCEDURE dbo.ObtenerRobotsEjecutables") == 1


def test_L2_procedure_passes_static_checks():
    assert check_tsql(seleccion.PROCEDIMIENTO_TSQL) == []
    assert check_tsql(EXEC_TSQL) == []


def test_L2_both_engines_share_the_state_vocabulary():
    for sql in (seleccion.PROCEDIMIENTO_TSQL, seleccion.CONSULTA_SQLITE):
        assert TERMINAL_SQL_LIST in sql
        assert f"'{UNKNOWN}'" in sql and f"'{DEPLOY_FAILED}'" in sql
        assert "FechaFin IS NULL" in sql  # busy = not terminal and not closed (common.database.ocupacion)
    assert ocupa_equipo("e.", "@LimiteUnknown", sentencias.TSQL) in seleccion.PROCEDIMIENTO_TSQL
    assert ocupa_equipo("e.", "prm.limite_unknown", sentencias.SQLITE) in seleccion.CONSULTA_SQLITE


def test_L2_exec_passes_every_parameter_from_python():
    for name in ("@Ahora", "@EsperaTrasFalloSeg", "@ToleranciaUnknownMin", "@ToleranciaDefectoMin"):
        assert f"{name} = ?" in EXEC_TSQL
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
    assert calls == [(EXEC_TSQL, (ahora, 45, 90, 60))]
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


def test_L2_3_failure_wait_and_idle_order_compare_whole_seconds_as_sqlite():
    """SQLite's twin compares datetime() text, i.e. whole seconds. The procedure must decide the same:
    a DEPLOY_FAILED in the same second as the limit blocks on neither (floor(x) > limit is
    x >= limit + 1 s), and the idle-longest order ties at the second, broken by RobotId."""
    proc = seleccion.PROCEDIMIENTO_TSQL
    assert "DECLARE @DesdeFallo DATETIME2 = DATEADD(SECOND, 1 - @EsperaTrasFalloSeg, @Ahora);" in proc
    # COALESCE(FechaFin, FechaActualizacion, FechaInicio) >= @DesdeFallo, split sargably (R1): a closed
    # row's FechaFin, an open row's COALESCE of the other two; both against the same whole-second limit.
    assert proc.count("AND e.FechaFin >= @DesdeFallo") == 2
    assert proc.count("AND COALESCE(e.FechaActualizacion, e.FechaInicio) >= @DesdeFallo") == 2
    assert "> @LimiteFallo" not in proc
    # idle longest: MAX(COALESCE(FechaFin, FechaInicio)) = the larger of MAX(FechaFin) and the open
    # rows' MAX(FechaInicio), cut to the second after the MAX.
    assert "CONVERT(DATETIME2(0), CONVERT(CHAR(19), MAX(u.Fecha), 120), 120)" in proc
    assert "SELECT MAX(e.FechaFin) AS Fecha" in proc and "SELECT MAX(e.FechaInicio) AS Fecha" in proc
    # @Ahora itself is cut to the second, whoever calls the procedure.
    assert "SET @Ahora = CONVERT(DATETIME2(0), CONVERT(CHAR(19), @Ahora, 120), 120);" in proc
