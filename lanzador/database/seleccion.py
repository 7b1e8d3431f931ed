"""The launcher's selection in SQL (BEHAVIOUR L2): ``dbo.ObtenerRobotsEjecutables`` and its SQLite twin.

The pure schedule model they implement, used by the tests to cross-check both, is
:mod:`common.programacion`.

Both versions sit side by side here so a reviewer sees them together:

- SQL Server: the stored procedure :data:`PROCEDIMIENTO_TSQL` (also in ``SAM.sql``, where a
  test checks it is the same text) run with ``EXEC dbo.ObtenerRobotsEjecutables @Ahora = ?, …``.
- SQLite: the query :data:`CONSULTA_SQLITE`, same rules, same columns.

``@Ahora`` always comes from Python (``Clock.now_local()``: naive local time in
``SAM_ZONA_HORARIA``) so both engines see the same clock. Rules (L2):

1. Scheduled: ``EsProgramado = 1`` assignment, active robot, active schedule (the assignment's
   ``ProgramacionId`` or, when NULL, any of the robot's), due when ``@Ahora`` lies in
   [slot start, slot start + ``Tolerancia`` (NULL → 60) minutes]. The slot date is today or, for a
   window that crosses midnight, yesterday. Diaria: every day; Semanal: the slot date's weekday is
   one of the ``DiaSemana`` tokens (``LU MA MI JU VI SA DO``, comma/space/semicolon separated,
   ``SÁ`` accepted, whole tokens only); Mensual: ``DiaDelMes`` (past the month's end → its last
   day); Especifica: ``FechaEspecifica``. A slot (robot, equipo, slot date, ``HoraInicio``)
   that already has an ``Ejecuciones`` row (``FechaSlot`` + ``Hora``) is never launched again.
2. Online: ``EsProgramado = 0`` assignment of an ``EsOnline = 1`` active robot.
3. Never: a busy equipo (the one rule of ``common.database.ocupacion.ocupa_equipo``: an open
   execution; ``UNKNOWN`` counts busy for ``@ToleranciaUnknownMin`` since it became UNKNOWN
   (``FechaActualizacion``)), an equipo
   with ``Activo_SAM = 0``, not ``CONNECTED``, an inactive or missing user; a robot with
   ``ExisteEnA360 = 0`` or ``Activo = 0``; a (robot, equipo) with a ``DEPLOY_FAILED`` less than
   ``@EsperaTrasFalloSeg`` ago, unless an A360 outage explains it (``MensajeError`` starting with
   :data:`PREFIJO_FALLO_POR_CAIDA`, M2). At most one row per equipo: scheduled first (earliest slot), then
   the online robot idle longest on that equipo (never run there = idle longest).

Result rows: ``RobotId, EquipoId, UserId, Hora, EsProgramado, FechaSlot``; scheduled first.

Both engines decide at whole seconds: ``@Ahora`` is cut to the second, and the comparisons that
involve stored times (the wait after a failed deploy, the online robot idle longest) use the
stored time cut to the second, as SQLite's ``datetime()`` does. ``TipoProgramacion`` is matched
case-insensitively and without trailing spaces on both engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from common.database import sentencias
from common.database.ocupacion import ocupa_equipo
from common.execution_states import DEPLOY_FAILED
from common.programacion import (
    DIA_DEL_MES_MAXIMO,
    DIAS_SEMANA,
    INTERVALO_MAXIMO_MIN,
    TIPOS,
    TOLERANCIA_DEFECTO_MIN,
    TOLERANCIA_MAXIMA_MIN,
)

#: ``MensajeError`` prefix of a deploy that failed because A360 was down (BEHAVIOUR M2): such a
#: DEPLOY_FAILED does not start the wait after a failure (``lanzador.service.caida_a360`` writes it).
PREFIJO_FALLO_POR_CAIDA = "A360 no disponible: "
_NO_ES_CAIDA = f"(e.MensajeError IS NULL OR e.MensajeError NOT LIKE '{PREFIJO_FALLO_POR_CAIDA}%')"
_NO_ES_CAIDA_TSQL = _NO_ES_CAIDA.replace("LIKE '", "LIKE N'")


@dataclass(frozen=True)
class RobotEjecutable:
    robot_id: int
    equipo_id: int
    user_id: int
    hora: time | None
    es_programado: bool
    fecha_slot: date | None


# --------------------------------------------------------------------------------------------
# SQL Server: the stored procedure (canonical copy; SAM.sql holds the same text).
# --------------------------------------------------------------------------------------------
# R1 (BEHAVIOUR §14): no per-cycle read walks a pair's history. Each check of an (robot, equipo)
# pair's past is a seek of one index, with the indexed column bare (no function around it):
# - the slot already launched: IX_Ejecuciones_Slot (RobotId, EquipoId, FechaSlot, Hora);
# - a recent DEPLOY_FAILED: COALESCE(FechaFin, FechaActualizacion, FechaInicio) >= @DesdeFallo is,
#   exactly, "FechaFin >= @DesdeFallo" (a closed row: a range seek of IX_Ejecuciones_Robot_Equipo_Fin)
#   or "FechaFin IS NULL AND COALESCE(FechaActualizacion, FechaInicio) >= @DesdeFallo" (an open row:
#   the filtered index on open rows), two NOT EXISTS;
# - the online robot idle longest: MAX(COALESCE(FechaFin, FechaInicio)) is the larger of MAX(FechaFin)
#   (the last key of IX_Ejecuciones_Robot_Equipo_Fin) and the open rows' MAX(FechaInicio).


def _fallo_reciente_tsql(r: str) -> str:
    """The (robot, equipo) of row alias ``r`` had a DEPLOY_FAILED at or after ``@DesdeFallo``."""
    return f"""NOT EXISTS (
                  SELECT 1 FROM dbo.Ejecuciones AS e
                  WHERE e.RobotId = {r}.RobotId AND e.EquipoId = {r}.EquipoId
                    AND e.FechaFin >= @DesdeFallo
                    AND e.Estado = N'{DEPLOY_FAILED}'
                    AND {_NO_ES_CAIDA_TSQL}
              )
              AND NOT EXISTS (
                  SELECT 1 FROM dbo.Ejecuciones AS e
                  WHERE e.FechaFin IS NULL
                    AND e.EquipoId = {r}.EquipoId AND e.RobotId = {r}.RobotId
                    AND e.Estado = N'{DEPLOY_FAILED}'
                    AND COALESCE(e.FechaActualizacion, e.FechaInicio) >= @DesdeFallo
                    AND {_NO_ES_CAIDA_TSQL}
              )"""  # noqa: S608


# --------------------------------------------------------------------------------------------
# L7: the schedule rules shared by both dialects, rendered from one place. ``p`` is the alias of
# Programaciones, ``d`` of the candidate day. What is valid is common.programacion.validar.
# --------------------------------------------------------------------------------------------
def _tipo(dialecto: str) -> str:
    """``TipoProgramacion`` as both engines compare it (SQL Server ignores trailing spaces itself)."""
    return "UPPER(p.TipoProgramacion)" if dialecto == sentencias.TSQL else "UPPER(RTRIM(p.TipoProgramacion))"


def _n(dialecto: str, literal: str) -> str:
    """A string literal: ``N'...'`` in T-SQL."""
    return f"N{literal}" if dialecto == sentencias.TSQL else literal


def _segundos(dialecto: str, columna: str) -> str:
    """A TIME column at whole seconds, comparable within one dialect."""
    if dialecto == sentencias.TSQL:
        return f"DATEDIFF(SECOND, CAST('00:00:00' AS TIME), {columna})"
    return f"time({columna})"


def _fecha(dialecto: str, expr: str) -> str:
    return expr if dialecto == sentencias.TSQL else f"date({expr})"


def _dias_semana_normalizados(dialecto: str) -> str:
    """``DiaSemana`` upper-cased, ``Á`` → ``A``, separators as spaces, padded by one space."""
    if dialecto == sentencias.TSQL:
        return ("N' ' + REPLACE(REPLACE(REPLACE(REPLACE(UPPER(COALESCE(p.DiaSemana, N'')),\n"
                "                              NCHAR(193), N'A'), N',', N' '), N';', N' '), CHAR(9), N' ') + N' '")
    return ("(' ' || REPLACE(REPLACE(REPLACE(UPPER(REPLACE(REPLACE(COALESCE(p.DiaSemana, ''),\n"
            "                      char(193), 'A'), char(225), 'A')), ',', ' '), ';', ' '), char(9), ' ') || ' ')")


def dias_semana_normalizados(dialecto: str) -> str:
    """The ``DiaSemana`` normalisation for other renderings of the day rule (the L7.4 overlap query
    of lanzador/database/solapes_sql.py)."""
    return _dias_semana_normalizados(dialecto)


_COLUMNAS_PROGRAMACION = (
    "ProgramacionId", "RobotId", "TipoProgramacion", "HoraInicio", "HoraFin", "Tolerancia", "DiaSemana",
    "DiaDelMes", "FechaEspecifica", "EsCiclico", "FechaInicioVentana", "FechaFinVentana",
    "IntervaloEntreEjecuciones", "DiaInicioMes", "DiaFinMes", "UltimosDiasMes", "Activo",
)


def programaciones_cte(dialecto: str) -> str:
    """The active ``Programaciones`` rows with ``DiasNorm`` (normalised ``DiaSemana``), for alias ``p``."""
    tabla = "dbo.Programaciones" if dialecto == sentencias.TSQL else "Programaciones"
    cols = ", ".join(f"p.{c}" for c in _COLUMNAS_PROGRAMACION)
    return f"""SELECT {cols},
                   {_dias_semana_normalizados(dialecto)} AS DiasNorm
            FROM {tabla} AS p
            WHERE p.Activo = 1"""  # noqa: S608


def predicado_valida(dialecto: str) -> str:
    """SQL truth of "``validar(p)`` finds no problem" for the row of alias ``p`` (L7.1); ``p`` comes
    from :func:`programaciones_cte`."""
    t, n, m = _tipo(dialecto), (lambda x: _n(dialecto, x)), DIA_DEL_MES_MAXIMO
    algun_dia = " OR ".join(f"p.DiasNorm LIKE {n(chr(39) + '% ' + d + ' %' + chr(39))}" for d in DIAS_SEMANA)
    tipos = ", ".join(n(f"'{x.upper()}'") for x in TIPOS)
    return f"""({t} IN ({tipos})
                  AND p.HoraInicio IS NOT NULL
                  AND (p.Tolerancia IS NULL OR p.Tolerancia BETWEEN 0 AND {TOLERANCIA_MAXIMA_MIN})
                  AND (p.EsCiclico = 1 OR (p.HoraFin IS NULL AND p.IntervaloEntreEjecuciones IS NULL))
                  AND (p.IntervaloEntreEjecuciones IS NULL
                       OR p.IntervaloEntreEjecuciones BETWEEN 0 AND {INTERVALO_MAXIMO_MIN})
                  AND (p.HoraFin IS NULL OR {_segundos(dialecto, "p.HoraFin")} <> {_segundos(dialecto, "p.HoraInicio")})
                  AND (p.FechaInicioVentana IS NULL OR p.FechaFinVentana IS NULL
                       OR {_fecha(dialecto, "p.FechaFinVentana")} >= {_fecha(dialecto, "p.FechaInicioVentana")})
                  AND ({t} <> {n("'SEMANAL'")} OR (
                      {algun_dia}))
                  AND ({t} <> {n("'MENSUAL'")} OR p.DiaDelMes BETWEEN 1 AND {m})
                  AND ({t} <> {n("'ESPECIFICA'")} OR p.FechaEspecifica IS NOT NULL)
                  AND ({t} <> {n("'RANGOMENSUAL'")}
                       OR (p.UltimosDiasMes IS NULL AND p.DiaInicioMes BETWEEN 1 AND {m}
                           AND p.DiaFinMes BETWEEN 1 AND {m} AND p.DiaInicioMes <= p.DiaFinMes)
                       OR (p.UltimosDiasMes BETWEEN 1 AND {m} AND p.DiaInicioMes IS NULL AND p.DiaFinMes IS NULL)))"""


def _dia_del_mes(dialecto: str) -> tuple[str, str]:
    """(day of ``d``'s month, last day of that month)."""
    if dialecto == sentencias.TSQL:
        return "DAY(d.Dia)", "DAY(EOMONTH(d.Dia))"
    return ("CAST(strftime('%d', d.Dia) AS INTEGER)",
            "CAST(strftime('%d', date(d.Dia, 'start of month', '+1 month', '-1 day')) AS INTEGER)")


def _minimo(dialecto: str, a: str, b: str) -> str:
    return f"CASE WHEN {a} > {b} THEN {b} ELSE {a} END" if dialecto == sentencias.TSQL else f"MIN({a}, {b})"


def tolerancia_acotada(defecto: str) -> str:
    """``Tolerancia`` (NULL → ``defecto``) for date arithmetic, forced into 0..TOLERANCIA_MAXIMA_MIN.

    A row outside that range is invalid and filtered out by :func:`predicado_valida`, but SQL
    Server may compute a SELECT expression before it applies a filter; the CASE (evaluated in
    order) keeps ``DATEADD`` in range for any stored value. Same text in both dialects."""
    return (f"CASE WHEN p.Tolerancia IS NULL THEN {defecto} "
            f"WHEN p.Tolerancia BETWEEN 0 AND {TOLERANCIA_MAXIMA_MIN} THEN p.Tolerancia ELSE 0 END")


def intervalo_acotado() -> str:
    """``IntervaloEntreEjecuciones`` in minutes (NULL → 0) forced into 0..INTERVALO_MAXIMO_MIN, for
    the same reason as :func:`tolerancia_acotada`."""
    return (f"CASE WHEN p.IntervaloEntreEjecuciones BETWEEN 0 AND {INTERVALO_MAXIMO_MIN} "
            "THEN p.IntervaloEntreEjecuciones ELSE 0 END")


def predicado_dia(dialecto: str) -> str:
    """SQL truth of ``toca_el_dia(p, d.Dia)`` for a valid row (L2.1, L7.1): type and date window."""
    t, n = _tipo(dialecto), (lambda x: _n(dialecto, x))
    dia, ultimo = _dia_del_mes(dialecto)
    if dialecto == sentencias.TSQL:
        dia_semana = """CASE DATEDIFF(DAY, CAST('19000101' AS DATE), d.Dia) % 7
                              WHEN 0 THEN N'LU' WHEN 1 THEN N'MA' WHEN 2 THEN N'MI'
                              WHEN 3 THEN N'JU' WHEN 4 THEN N'VI' WHEN 5 THEN N'SA'
                              ELSE N'DO' END"""
        semanal = f"p.DiasNorm LIKE N'% ' + {dia_semana} + N' %'"
    else:
        dia_semana = """CASE strftime('%w', d.Dia)
                      WHEN '1' THEN 'LU' WHEN '2' THEN 'MA' WHEN '3' THEN 'MI'
                      WHEN '4' THEN 'JU' WHEN '5' THEN 'VI' WHEN '6' THEN 'SA'
                      ELSE 'DO' END"""
        semanal = f"p.DiasNorm LIKE '% ' || {dia_semana} || ' %'"
    return f"""(p.FechaInicioVentana IS NULL OR d.Dia >= {_fecha(dialecto, "p.FechaInicioVentana")})
              AND (p.FechaFinVentana IS NULL OR d.Dia <= {_fecha(dialecto, "p.FechaFinVentana")})
              AND (
                  {t} = {n("'DIARIA'")}
                  OR ({t} = {n("'SEMANAL'")} AND {semanal})
                  OR ({t} = {n("'MENSUAL'")} AND {dia} = {_minimo(dialecto, "p.DiaDelMes", ultimo)})
                  OR ({t} = {n("'ESPECIFICA'")} AND {_fecha(dialecto, "p.FechaEspecifica")} = d.Dia)
                  OR ({t} = {n("'RANGOMENSUAL'")} AND (
                      (p.UltimosDiasMes IS NOT NULL AND {dia} > {ultimo} - p.UltimosDiasMes)
                      OR (p.UltimosDiasMes IS NULL
                          AND {dia} >= {_minimo(dialecto, "p.DiaInicioMes", ultimo)}
                          AND {dia} <= {_minimo(dialecto, "p.DiaFinMes", ultimo)})
                  ))
              )"""


# The weekday is computed independently of SET DATEFIRST: 1900-01-01 was a Monday, so
# DATEDIFF(DAY, '19000101', d) % 7 is 0 = LU ... 6 = DO.
PROCEDIMIENTO_TSQL = f"""CREATE OR ALTER PROCEDURE dbo.ObtenerRobotsEjecutables
    @Ahora DATETIME2 = NULL,
    @EsperaTrasFalloSeg INT = 300,
    @ToleranciaUnknownMin INT = 120,
    @ToleranciaDefectoMin INT = 60
AS
BEGIN
    SET NOCOUNT ON;
    IF @Ahora IS NULL SET @Ahora = CAST(GETDATE() AS DATETIME2);
    -- Whole seconds, as the SQLite twin compares (style 120 has no fraction: a truncation).
    SET @Ahora = CONVERT(DATETIME2(0), CONVERT(CHAR(19), @Ahora, 120), 120);
    DECLARE @Hoy DATE = CAST(@Ahora AS DATE);
    DECLARE @Ayer DATE = DATEADD(DAY, -1, CAST(@Ahora AS DATE));
    -- A failure blocks while its whole second is inside the wait: SQLite's datetime(x) > limit,
    -- with a whole-second limit, is x >= limit + 1 s.
    DECLARE @DesdeFallo DATETIME2 = DATEADD(SECOND, 1 - @EsperaTrasFalloSeg, @Ahora);
    DECLARE @LimiteUnknown DATETIME2 = DATEADD(MINUTE, -@ToleranciaUnknownMin, @Ahora);

    BEGIN TRY
        WITH EquiposLibres AS (
            SELECT eq.EquipoId, eq.UserId
            FROM dbo.Equipos AS eq
            WHERE eq.Activo_SAM = 1
              AND eq.EstadoA360 = N'CONNECTED'
              AND eq.UsuarioActivoA360 = 1
              AND eq.UserId IS NOT NULL
              AND NOT EXISTS (
                  SELECT 1
                  FROM dbo.Ejecuciones AS e
                  WHERE e.EquipoId = eq.EquipoId
                    AND {ocupa_equipo("e.", "@LimiteUnknown", sentencias.TSQL)}
              )
        ),
        Dias AS (
            SELECT @Hoy AS Dia
            UNION ALL
            SELECT @Ayer AS Dia
        ),
        Progs AS (
            {programaciones_cte(sentencias.TSQL)}
        ),
        Slots AS (
            SELECT
                a.RobotId,
                a.EquipoId,
                el.UserId,
                p.HoraInicio,
                d.Dia,
                DATEADD(SECOND, {_segundos(sentencias.TSQL, "p.HoraInicio")},
                        CAST(d.Dia AS DATETIME2)) AS Inicio,
                -- L7.3: a cyclic window ends at HoraFin (the next day when not after HoraInicio),
                -- excluded; a one-shot window (or a cyclic one without HoraFin) at start + tolerance.
                CASE WHEN p.EsCiclico = 1 AND p.HoraFin IS NOT NULL
                     THEN DATEADD(SECOND, {_segundos(sentencias.TSQL, "p.HoraFin")}, CAST(
                          CASE WHEN {_segundos(sentencias.TSQL, "p.HoraFin")} < {_segundos(sentencias.TSQL, "p.HoraInicio")}
                               THEN DATEADD(DAY, 1, d.Dia) ELSE d.Dia END AS DATETIME2))
                     ELSE DATEADD(MINUTE, {tolerancia_acotada("@ToleranciaDefectoMin")},
                                  DATEADD(SECOND, {_segundos(sentencias.TSQL, "p.HoraInicio")}, CAST(d.Dia AS DATETIME2)))
                END AS Fin,
                CASE WHEN p.EsCiclico = 1 THEN 1 ELSE 0 END AS Ciclico,
                -- Bounded (0..{INTERVALO_MAXIMO_MIN}) so the DATEADDs below can never overflow.
                {intervalo_acotado()} AS IntervaloMin
            FROM dbo.Asignaciones AS a
            INNER JOIN dbo.Robots AS r ON r.RobotId = a.RobotId
            INNER JOIN EquiposLibres AS el ON el.EquipoId = a.EquipoId
            INNER JOIN Progs AS p
                ON p.RobotId = a.RobotId
               AND (a.ProgramacionId IS NULL OR a.ProgramacionId = p.ProgramacionId)
            CROSS JOIN Dias AS d
            WHERE a.EsProgramado = 1
              AND r.Activo = 1
              AND r.ExisteEnA360 = 1
              AND {predicado_valida(sentencias.TSQL)}
              AND {predicado_dia(sentencias.TSQL)}
        ),
        Programados AS (
            SELECT s.RobotId, s.EquipoId, s.UserId, s.HoraInicio AS Hora,
                   CAST(1 AS BIT) AS EsProgramado, s.Dia AS FechaSlot, s.Inicio AS Orden
            FROM Slots AS s
            WHERE @Ahora >= s.Inicio
              AND (@Ahora < s.Fin OR (s.Ciclico = 0 AND @Ahora = s.Fin))
              -- L2.1 one-shot: once per slot.
              AND (s.Ciclico = 1 OR NOT EXISTS (
                  SELECT 1 FROM dbo.Ejecuciones AS e
                  WHERE e.RobotId = s.RobotId AND e.EquipoId = s.EquipoId
                    AND e.FechaSlot = s.Dia AND e.Hora = s.HoraInicio
              ))
              -- L7.3 cyclic: IntervaloEntreEjecuciones minutes since the pair's last end (or start of
              -- a run that never ended), compared at whole seconds as the SQLite twin does.
              AND (s.Ciclico = 0 OR (
                  NOT EXISTS (
                      SELECT 1 FROM dbo.Ejecuciones AS e
                      WHERE e.RobotId = s.RobotId AND e.EquipoId = s.EquipoId
                        AND e.FechaFin >= DATEADD(MINUTE, -s.IntervaloMin, DATEADD(SECOND, 1, @Ahora))
                  )
                  AND NOT EXISTS (
                      SELECT 1 FROM dbo.Ejecuciones AS e
                      WHERE e.FechaFin IS NULL
                        AND e.EquipoId = s.EquipoId AND e.RobotId = s.RobotId
                        AND e.FechaInicio >= DATEADD(MINUTE, -s.IntervaloMin, DATEADD(SECOND, 1, @Ahora))
                  )
              ))
              AND {_fallo_reciente_tsql("s")}
        ),
        Online AS (
            SELECT a.RobotId, a.EquipoId, el.UserId, CAST(NULL AS TIME) AS Hora,
                   CAST(0 AS BIT) AS EsProgramado, CAST(NULL AS DATE) AS FechaSlot,
                   COALESCE((
                       SELECT CONVERT(DATETIME2(0), CONVERT(CHAR(19), MAX(u.Fecha), 120), 120)
                       FROM (
                           SELECT MAX(e.FechaFin) AS Fecha
                           FROM dbo.Ejecuciones AS e
                           WHERE e.RobotId = a.RobotId AND e.EquipoId = a.EquipoId
                           UNION ALL
                           SELECT MAX(e.FechaInicio) AS Fecha
                           FROM dbo.Ejecuciones AS e
                           WHERE e.FechaFin IS NULL
                             AND e.EquipoId = a.EquipoId AND e.RobotId = a.RobotId
                       ) AS u
                   ), CAST('00010101' AS DATETIME2)) AS Orden
            FROM dbo.Asignaciones AS a
            INNER JOIN dbo.Robots AS r ON r.RobotId = a.RobotId
            INNER JOIN EquiposLibres AS el ON el.EquipoId = a.EquipoId
            WHERE a.EsProgramado = 0
              AND r.EsOnline = 1
              AND r.Activo = 1
              AND r.ExisteEnA360 = 1
              AND {_fallo_reciente_tsql("a")}
        ),
        Candidatos AS (
            SELECT c.RobotId, c.EquipoId, c.UserId, c.Hora, c.EsProgramado, c.FechaSlot,
                   ROW_NUMBER() OVER (
                       PARTITION BY c.EquipoId
                       ORDER BY c.EsProgramado DESC, c.Orden ASC, c.RobotId ASC
                   ) AS Fila
            FROM (
                SELECT RobotId, EquipoId, UserId, Hora, EsProgramado, FechaSlot, Orden FROM Programados
                UNION ALL
                SELECT RobotId, EquipoId, UserId, Hora, EsProgramado, FechaSlot, Orden FROM Online
            ) AS c
        )
        SELECT RobotId, EquipoId, UserId, Hora, EsProgramado, FechaSlot
        FROM Candidatos
        WHERE Fila = 1
        ORDER BY EsProgramado DESC, EquipoId ASC;
    END TRY
    BEGIN CATCH
        DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
            N'@Ahora=', CONVERT(NVARCHAR(30), @Ahora, 126),
            N'; @EsperaTrasFalloSeg=', @EsperaTrasFalloSeg,
            N'; @ToleranciaUnknownMin=', @ToleranciaUnknownMin,
            N'; @ToleranciaDefectoMin=', @ToleranciaDefectoMin
        );
        EXEC dbo.RegistrarErrorSAM @SPNombre = N'dbo.ObtenerRobotsEjecutables', @Parametros = @Parametros;
        THROW;
    END CATCH;
END;"""  # noqa: S608

#: The block that replaces the ``-- @@PROCEDIMIENTOS_LANZADOR@@`` marker in ``SAM.sql`` (the marker
#: line stays after it). ``tests/test_seleccion_sam_sql.py`` checks that SAM.sql holds this text.
MARCADOR_SAM_SQL = "-- @@PROCEDIMIENTOS_LANZADOR@@"


def bloque_sam_sql() -> str:
    return (
        "-- dbo.ObtenerRobotsEjecutables: what the Lanzador launches now (BEHAVIOUR L2). Canonical copy\n"
        "-- and its SQLite twin: lanzador/database/seleccion.py (generated there: python -m lanzador.database.seleccion).\n"
        + PROCEDIMIENTO_TSQL
        + "\nGO\n"
    )


# --------------------------------------------------------------------------------------------
# SQLite twin. Datetimes are ISO text; every comparison normalises both sides with datetime()/
# time()/date() so 'T' or ' ' separators and fractional seconds never matter. strftime('%w')
# is 0 = Sunday.
# --------------------------------------------------------------------------------------------
_BUSY_SQLITE = f"""EXISTS (
        SELECT 1 FROM Ejecuciones AS e
        WHERE e.EquipoId = eq.EquipoId
          AND {ocupa_equipo("e.", "prm.limite_unknown", sentencias.SQLITE)}
    )"""  # noqa: S608

# R1: the same split as the procedure's (see _fallo_reciente_tsql): datetime(COALESCE(FechaFin, …)) is
# datetime(FechaFin) for a closed row (the expression key of IX_Ejecuciones_Robot_Equipo_Fin) and the
# COALESCE of the other two for an open row (the partial index on open rows).
_FALLO_RECIENTE_SQLITE = f"""(EXISTS (
        SELECT 1 FROM Ejecuciones AS e
        WHERE e.RobotId = {{r}}.RobotId AND e.EquipoId = {{r}}.EquipoId
          AND datetime(e.FechaFin) > prm.limite_fallo
          AND e.Estado = '{DEPLOY_FAILED}'
          AND {_NO_ES_CAIDA}
    ) OR EXISTS (
        SELECT 1 FROM Ejecuciones AS e
        WHERE e.FechaFin IS NULL
          AND e.EquipoId = {{r}}.EquipoId AND e.RobotId = {{r}}.RobotId
          AND e.Estado = '{DEPLOY_FAILED}'
          AND datetime(COALESCE(e.FechaActualizacion, e.FechaInicio)) > prm.limite_fallo
          AND {_NO_ES_CAIDA}
    ))"""  # noqa: S608

CONSULTA_SQLITE = f"""WITH prm AS (
    SELECT datetime(?) AS ahora,
           date(?) AS hoy,
           datetime(?, '-' || CAST(? AS INTEGER) || ' seconds') AS limite_fallo,
           datetime(?, '-' || CAST(? AS INTEGER) || ' minutes') AS limite_unknown,
           CAST(? AS INTEGER) AS tol_defecto
),
equipos_libres AS (
    SELECT eq.EquipoId, eq.UserId
    FROM Equipos AS eq CROSS JOIN prm
    WHERE eq.Activo_SAM = 1
      AND eq.EstadoA360 = 'CONNECTED'
      AND eq.UsuarioActivoA360 = 1
      AND eq.UserId IS NOT NULL
      AND NOT {_BUSY_SQLITE}
),
dias AS (
    SELECT hoy AS Dia FROM prm
    UNION ALL
    SELECT date(hoy, '-1 day') AS Dia FROM prm
),
progs AS (
    {programaciones_cte(sentencias.SQLITE)}
),
slots AS (
    SELECT a.RobotId, a.EquipoId, el.UserId,
           time(p.HoraInicio) AS HoraInicio,
           d.Dia AS dia,
           datetime(d.Dia || ' ' || time(p.HoraInicio)) AS inicio,
           CASE WHEN p.EsCiclico = 1 AND p.HoraFin IS NOT NULL
                THEN datetime(CASE WHEN time(p.HoraFin) < time(p.HoraInicio) THEN date(d.Dia, '+1 day')
                                   ELSE d.Dia END || ' ' || time(p.HoraFin))
                ELSE datetime(d.Dia || ' ' || time(p.HoraInicio),
                              '+' || ({tolerancia_acotada("prm.tol_defecto")}) || ' minutes')
           END AS fin,
           CASE WHEN p.EsCiclico = 1 THEN 1 ELSE 0 END AS ciclico,
           {intervalo_acotado()} AS intervalo_min
    FROM Asignaciones AS a
    JOIN Robots AS r ON r.RobotId = a.RobotId
    JOIN equipos_libres AS el ON el.EquipoId = a.EquipoId
    JOIN progs AS p
      ON p.RobotId = a.RobotId
     AND (a.ProgramacionId IS NULL OR a.ProgramacionId = p.ProgramacionId)
    CROSS JOIN dias AS d
    CROSS JOIN prm
    WHERE a.EsProgramado = 1
      AND r.Activo = 1
      AND r.ExisteEnA360 = 1
      AND {predicado_valida(sentencias.SQLITE)}
      AND {predicado_dia(sentencias.SQLITE)}
),
programados AS (
    SELECT s.RobotId, s.EquipoId, s.UserId, s.HoraInicio AS Hora, 1 AS EsProgramado,
           s.dia AS FechaSlot, s.inicio AS orden
    FROM slots AS s CROSS JOIN prm
    WHERE prm.ahora >= s.inicio
      AND (prm.ahora < s.fin OR (s.ciclico = 0 AND prm.ahora = s.fin))
      AND (s.ciclico = 1 OR NOT EXISTS (
          SELECT 1 FROM Ejecuciones AS e
          WHERE e.RobotId = s.RobotId AND e.EquipoId = s.EquipoId
            AND date(e.FechaSlot) = s.dia AND time(e.Hora) = s.HoraInicio
      ))
      AND (s.ciclico = 0 OR (
          NOT EXISTS (
              SELECT 1 FROM Ejecuciones AS e
              WHERE e.RobotId = s.RobotId AND e.EquipoId = s.EquipoId
                AND datetime(e.FechaFin) > datetime(prm.ahora, '-' || (60 * s.intervalo_min) || ' seconds')
          )
          AND NOT EXISTS (
              SELECT 1 FROM Ejecuciones AS e
              WHERE e.FechaFin IS NULL
                AND e.EquipoId = s.EquipoId AND e.RobotId = s.RobotId
                AND datetime(e.FechaInicio) > datetime(prm.ahora, '-' || (60 * s.intervalo_min) || ' seconds')
          )
      ))
      AND NOT {_FALLO_RECIENTE_SQLITE.format(r="s")}
),
online AS (
    SELECT a.RobotId, a.EquipoId, el.UserId, NULL AS Hora, 0 AS EsProgramado, NULL AS FechaSlot,
           COALESCE((
               SELECT MAX(u.fecha)
               FROM (
                   SELECT MAX(datetime(e.FechaFin)) AS fecha
                   FROM Ejecuciones AS e
                   WHERE e.RobotId = a.RobotId AND e.EquipoId = a.EquipoId
                   UNION ALL
                   SELECT MAX(datetime(e.FechaInicio)) AS fecha
                   FROM Ejecuciones AS e
                   WHERE e.FechaFin IS NULL
                     AND e.EquipoId = a.EquipoId AND e.RobotId = a.RobotId
               ) AS u
           ), '') AS orden
    FROM Asignaciones AS a
    JOIN Robots AS r ON r.RobotId = a.RobotId
    JOIN equipos_libres AS el ON el.EquipoId = a.EquipoId
    CROSS JOIN prm
    WHERE a.EsProgramado = 0
      AND r.EsOnline = 1
      AND r.Activo = 1
      AND r.ExisteEnA360 = 1
      AND NOT {_FALLO_RECIENTE_SQLITE.format(r="a")}
),
candidatos AS (
    SELECT c.*, ROW_NUMBER() OVER (
               PARTITION BY c.EquipoId
               ORDER BY c.EsProgramado DESC, c.orden ASC, c.RobotId ASC) AS fila
    FROM (SELECT * FROM programados UNION ALL SELECT * FROM online) AS c
)
SELECT RobotId, EquipoId, UserId, Hora, EsProgramado, FechaSlot
FROM candidatos
WHERE fila = 1
ORDER BY EsProgramado DESC, EquipoId ASC"""  # noqa: S608

sentencias.registrar(
    "seleccion.obtener_robots_ejecutables",
    # How Python calls the procedure (qmark parameters, named procedure arguments).
    tsql=(
        "EXEC dbo.ObtenerRobotsEjecutables @Ahora = ?, @EsperaTrasFalloSeg = ?, "
        "@ToleranciaUnknownMin = ?, @ToleranciaDefectoMin = ?"
    ),
    sqlite=CONSULTA_SQLITE,
)


# L7.1: the active schedules, for the Lanzador's check of invalid rows (common.programacion.validar).
_PROGRAMACIONES_ACTIVAS = (
    "SELECT " + ", ".join(f"p.{c}" for c in _COLUMNAS_PROGRAMACION) + ", r.Robot "
    "FROM {programaciones} AS p LEFT JOIN {robots} AS r ON r.RobotId = p.RobotId "
    "WHERE p.Activo = 1 ORDER BY p.ProgramacionId"
)
sentencias.registrar(
    "seleccion.programaciones_activas",
    tsql=_PROGRAMACIONES_ACTIVAS.format(programaciones="dbo.Programaciones", robots="dbo.Robots"),
    sqlite=_PROGRAMACIONES_ACTIVAS.format(programaciones="Programaciones", robots="Robots"),
    filas="select",
)


def programaciones_activas(db: Any) -> list[dict]:
    """Every ``Activo = 1`` row of ``Programaciones`` with its robot's name (``Robot``, NULL if unknown)."""
    return [dict(r) for r in db.query(sentencias.sql(db, "seleccion.programaciones_activas"))]


def _as_time(value: Any) -> time | None:
    if value is None or value == "":
        return None
    if isinstance(value, time):
        return value.replace(microsecond=0)
    if isinstance(value, datetime):
        return value.time().replace(microsecond=0)
    return time.fromisoformat(str(value)[:8])


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _fila(row: dict) -> RobotEjecutable:
    return RobotEjecutable(
        robot_id=int(row["RobotId"]),
        equipo_id=int(row["EquipoId"]),
        user_id=int(row["UserId"]),
        hora=_as_time(row.get("Hora")),
        es_programado=bool(row["EsProgramado"]),
        fecha_slot=_as_date(row.get("FechaSlot")),
    )


def obtener_robots_ejecutables(
    db: Any,
    ahora: datetime,
    *,
    espera_tras_fallo_seg: int = 300,
    tolerancia_unknown_min: int = 120,
    tolerancia_defecto_min: int = TOLERANCIA_DEFECTO_MIN,
) -> list[RobotEjecutable]:
    """Rows to launch at local time ``ahora`` (scheduled first), on either engine.

    ``ahora`` is cut to whole seconds for both engines (the SQLite twin compares second-precision
    text), so a window edge is decided the same way by the procedure and by the twin.
    """
    ahora = ahora.replace(tzinfo=None, microsecond=0)
    texto_sql = sentencias.sql(db, "seleccion.obtener_robots_ejecutables")
    if sentencias.dialecto(db) == sentencias.TSQL:
        rows = db.query(
            texto_sql,
            (ahora, int(espera_tras_fallo_seg), int(tolerancia_unknown_min), int(tolerancia_defecto_min)),
        )
    else:
        texto = ahora.strftime("%Y-%m-%d %H:%M:%S")
        rows = db.query(
            texto_sql,
            (
                texto,
                texto,
                texto,
                int(espera_tras_fallo_seg),
                texto,
                int(tolerancia_unknown_min),
                int(tolerancia_defecto_min),
            ),
        )
    return [_fila(r) for r in rows]


def actualizar_sam_sql(ruta: Any = None) -> bool:
    """Write :func:`bloque_sam_sql` into ``SAM.sql`` in place of the current copy (just before the
    marker). Returns True when the file changed. ``python -m lanzador.database.seleccion`` runs it."""
    from pathlib import Path

    from common.paths import SAM_SQL

    ruta = Path(ruta or SAM_SQL)
    texto = ruta.read_text(encoding="utf-8")
    inicio = texto.index("-- dbo.ObtenerRobotsEjecutables: what the Lanzador launches now")
    fin = texto.index(MARCADOR_SAM_SQL)
    nuevo = texto[:inicio] + bloque_sam_sql() + texto[fin:]
    if nuevo == texto:
        return False
    ruta.write_text(nuevo, encoding="utf-8", newline="\n")
    return True


if __name__ == "__main__":  # pragma: no cover - maintainer tool
    print("SAM.sql actualizado" if actualizar_sam_sql() else "SAM.sql ya estaba al día")
