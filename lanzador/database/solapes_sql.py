"""L7.4 in SQL: ``dbo.SolapesProgramacionSAM`` (SAM.sql) and its SQLite twin, rendered from one place.

The pure rule is :func:`common.solapamiento.solapes`. SQL Server needs it inside the
``CargarProgramacion*`` / ``ActualizarProgramacion`` procedures (a schedule written with a
T-SQL script is checked in the same transaction that writes it), so the rule also exists as a
set-based query: the windows of every valid schedule on every due day of the horizon (a numbers
CTE), then each arriving schedule's windows against the windows of the other schedules on the
same equipo that start the day before, the same day or the day after.

The validity predicate, the day rule and the ``DiaSemana`` normalisation are the selection's
(:mod:`lanzador.database.seleccion`), so the Lanzador and the overlap check can never disagree
about which days a schedule is due. The window bounds, the horizon and the pair condition are
rendered here for both dialects from the same template:

- :data:`PROCEDIMIENTO_TSQL` is the procedure; ``SAM.sql`` holds exactly :func:`bloque_sam_sql`
  just before :data:`MARCADOR_SAM_SQL` (``python -m lanzador.database.solapes_sql`` rewrites it,
  ``tests/test_solapes_tsql.py`` checks it);
- ``solapes.gemelo_sqlite`` (registered) is the same query on SQLite over the temp tables
  ``SolapesDefs`` / ``SolapesEnEquipo`` (``solapes.gemelo_*``), the twins of the procedure's
  ``#Defs`` / ``#EnEquipo``. SAM itself checks overlaps on SQLite with the pure function
  (:mod:`common.operaciones.programaciones`); the twin exists so the tests can run the set-based
  rule against that function on random pairs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common.database import sentencias
from common.programacion import TOLERANCIA_DEFECTO_MIN
from common.solapamiento import HORIZONTE_DIAS
from lanzador.database.seleccion import (
    dias_semana_normalizados,
    predicado_dia,
    predicado_valida,
    tolerancia_acotada,
)

TSQL, SQLITE = sentencias.TSQL, sentencias.SQLITE


def _segundos_tsql(columna: str) -> str:
    return f"DATEDIFF(SECOND, CAST('00:00:00' AS TIME), {columna})"


def inicio_ventana(dialecto: str) -> str:
    """Start of the window of schedule ``p`` on slot day ``d.Dia``."""
    if dialecto == TSQL:
        return f"DATEADD(SECOND, {_segundos_tsql('p.HoraInicio')}, CAST(d.Dia AS DATETIME2(0)))"
    return "datetime(d.Dia || ' ' || time(p.HoraInicio))"


def fin_ventana(dialecto: str) -> str:
    """End of that window: a cyclic ``HoraFin`` (next day when it is before ``HoraInicio``), else the
    start plus ``Tolerancia`` (NULL = the default) minutes, bounded so an invalid legacy row cannot
    make ``DATEADD`` overflow before the validity filter drops it."""
    if dialecto == TSQL:
        return f"""CASE
            WHEN p.EsCiclico = 1 AND p.HoraFin IS NOT NULL
                THEN DATEADD(
                    SECOND,
                    {_segundos_tsql('p.HoraFin')},
                    CAST(CASE WHEN p.HoraFin < p.HoraInicio THEN DATEADD(DAY, 1, d.Dia) ELSE d.Dia END AS DATETIME2(0))
                )
            ELSE DATEADD(
                MINUTE,
                {tolerancia_acotada(str(TOLERANCIA_DEFECTO_MIN))},
                {inicio_ventana(dialecto)}
            )
        END"""
    return f"""CASE
            WHEN p.EsCiclico = 1 AND p.HoraFin IS NOT NULL
                THEN datetime(
                    CASE WHEN time(p.HoraFin) < time(p.HoraInicio) THEN date(d.Dia, '+1 day') ELSE d.Dia END
                    || ' ' || time(p.HoraFin)
                )
            ELSE datetime(
                {inicio_ventana(dialecto)},
                '+' || ({tolerancia_acotada(str(TOLERANCIA_DEFECTO_MIN))}) || ' minutes'
            )
        END"""


def _dia_mas(dialecto: str, dias: int, columna: str) -> str:
    if dialecto == TSQL:
        return f"DATEADD(DAY, {dias}, {columna})"
    return f"date({columna}, '{dias:+d} day')"


def ventanas_select(dialecto: str) -> str:
    """Clave, Dia, Cerrada, Inicio, Fin of every valid schedule of ``Defs`` (alias ``p``, with
    ``DiasNorm``) on every due day of ``Dias`` (alias ``d``)."""
    return f"""SELECT
        p.Clave,
        d.Dia,
        1 - p.EsCiclico,
        {inicio_ventana(dialecto)},
        {fin_ventana(dialecto)}
    FROM {'#Defs' if dialecto == TSQL else 'Defs'} AS p
    CROSS JOIN Dias AS d
    WHERE {predicado_valida(dialecto)}
      AND {predicado_dia(dialecto)}"""


def pares_select(dialecto: str) -> str:
    """Each arriving schedule (``Llega = 1``) against every other one on the same equipo (a pair of
    arrivals once): the shared stretch of two windows, closed one-shot ends, half-open cyclic ends."""
    en_equipo, ventanas = ("#EnEquipo", "#Ventanas") if dialecto == TSQL else ("temp.SolapesEnEquipo", "Ventanas")
    return f"""SELECT
        ea.EquipoId,
        ea.Clave AS ProgramacionA,
        eb.Clave AS ProgramacionB,
        CASE WHEN wa.Inicio > wb.Inicio THEN wa.Inicio ELSE wb.Inicio END AS Desde,
        CASE WHEN wa.Fin < wb.Fin THEN wa.Fin ELSE wb.Fin END AS Hasta
    FROM {en_equipo} AS ea
    INNER JOIN {en_equipo} AS eb
        ON eb.EquipoId = ea.EquipoId AND eb.Clave <> ea.Clave AND (eb.Llega = 0 OR eb.Clave > ea.Clave)
    INNER JOIN {ventanas} AS wa ON wa.Clave = ea.Clave
    INNER JOIN {ventanas} AS wb
        ON wb.Clave = eb.Clave AND wb.Dia BETWEEN {_dia_mas(dialecto, -1, 'wa.Dia')} AND {_dia_mas(dialecto, 1, 'wa.Dia')}
    WHERE
        ea.Llega = 1
        AND (wa.Cerrada = 1 OR wa.Inicio < wa.Fin)
        AND (wb.Cerrada = 1 OR wb.Inicio < wb.Fin)
        AND ((wb.Cerrada = 1 AND wa.Inicio <= wb.Fin) OR (wb.Cerrada = 0 AND wa.Inicio < wb.Fin))
        AND ((wa.Cerrada = 1 AND wb.Inicio <= wa.Fin) OR (wa.Cerrada = 0 AND wb.Inicio < wa.Fin))"""


_COLUMNAS_DEFS = """Clave INT NOT NULL PRIMARY KEY,
        RobotId INT NOT NULL,
        TipoProgramacion NVARCHAR(20) COLLATE DATABASE_DEFAULT NOT NULL,
        HoraInicio TIME(0) NULL,
        HoraFin TIME(0) NULL,
        Tolerancia INT NULL,
        DiaSemana NVARCHAR(50) COLLATE DATABASE_DEFAULT NULL,
        DiasNorm NVARCHAR(60) COLLATE DATABASE_DEFAULT NULL,
        DiaDelMes INT NULL,
        FechaEspecifica DATE NULL,
        EsCiclico BIT NOT NULL,
        FechaInicioVentana DATE NULL,
        FechaFinVentana DATE NULL,
        IntervaloEntreEjecuciones INT NULL,
        DiaInicioMes INT NULL,
        DiaFinMes INT NULL,
        UltimosDiasMes INT NULL"""

# ruff: noqa: S608 - every statement below is built from constants only
PROCEDIMIENTO_TSQL = f"""CREATE OR ALTER PROCEDURE dbo.SolapesProgramacionSAM
    @RobotId INT,
    @ProgramacionId INT,
    @Asignar BIT,
    @TipoProgramacion NVARCHAR(20),
    @HoraInicio TIME(0),
    @Tolerancia INT,
    @DiaSemana NVARCHAR(50),
    @DiaDelMes INT,
    @FechaEspecifica DATE,
    @EsCiclico BIT,
    @HoraFin TIME(0),
    @IntervaloEntreEjecuciones INT,
    @FechaInicioVentana DATE,
    @FechaFinVentana DATE,
    @DiaInicioMes INT,
    @DiaFinMes INT,
    @UltimosDiasMes INT,
    @Desde DATE,
    @Dias INT = {HORIZONTE_DIAS}
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Clave INT = ISNULL(@ProgramacionId, 0);
    CREATE TABLE #Defs (
        {_COLUMNAS_DEFS}
    );
    CREATE TABLE #EnEquipo (EquipoId INT NOT NULL, Clave INT NOT NULL, Llega BIT NOT NULL, PRIMARY KEY (EquipoId, Clave));
    CREATE TABLE #Ventanas (Clave INT NOT NULL, Dia DATE NOT NULL, Cerrada BIT NOT NULL, Inicio DATETIME2(0) NOT NULL, Fin DATETIME2(0) NOT NULL);

    INSERT INTO #Defs (
        Clave, RobotId, TipoProgramacion, HoraInicio, HoraFin, Tolerancia, DiaSemana, DiaDelMes, FechaEspecifica,
        EsCiclico, FechaInicioVentana, FechaFinVentana, IntervaloEntreEjecuciones, DiaInicioMes, DiaFinMes, UltimosDiasMes
    )
    VALUES (
        @Clave, @RobotId, @TipoProgramacion, @HoraInicio, @HoraFin, @Tolerancia, @DiaSemana, @DiaDelMes, @FechaEspecifica,
        ISNULL(@EsCiclico, 0), @FechaInicioVentana, @FechaFinVentana, @IntervaloEntreEjecuciones, @DiaInicioMes, @DiaFinMes,
        @UltimosDiasMes
    );

    -- The other active schedules of the robot or of the equipos, locked until the caller commits.
    INSERT INTO #Defs (
        Clave, RobotId, TipoProgramacion, HoraInicio, HoraFin, Tolerancia, DiaSemana, DiaDelMes, FechaEspecifica,
        EsCiclico, FechaInicioVentana, FechaFinVentana, IntervaloEntreEjecuciones, DiaInicioMes, DiaFinMes, UltimosDiasMes
    )
    SELECT
        p.ProgramacionId, p.RobotId, p.TipoProgramacion, p.HoraInicio, p.HoraFin, p.Tolerancia, p.DiaSemana, p.DiaDelMes,
        p.FechaEspecifica, p.EsCiclico, p.FechaInicioVentana, p.FechaFinVentana, p.IntervaloEntreEjecuciones,
        p.DiaInicioMes, p.DiaFinMes, p.UltimosDiasMes
    FROM dbo.Programaciones AS p WITH (UPDLOCK, HOLDLOCK)
    WHERE
        p.Activo = 1
        AND p.ProgramacionId <> @Clave
        AND (
            p.RobotId = @RobotId
            OR EXISTS (
                SELECT 1
                FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
                INNER JOIN #EquiposSolicitados AS q ON q.EquipoId = a.EquipoId
                WHERE
                    a.EsProgramado = 1
                    AND (a.ProgramacionId = p.ProgramacionId OR (a.ProgramacionId IS NULL AND a.RobotId = p.RobotId))
            )
        );

    UPDATE p
    SET p.DiasNorm = {dias_semana_normalizados(TSQL)}
    FROM #Defs AS p;

    -- Before the write: the schedules each equipo serves (its own, or all the robot's when NULL).
    INSERT INTO #EnEquipo (EquipoId, Clave, Llega)
    SELECT DISTINCT q.EquipoId, d.Clave, 0
    FROM #EquiposSolicitados AS q
    INNER JOIN dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
        ON a.EquipoId = q.EquipoId AND a.EsProgramado = 1
    INNER JOIN #Defs AS d
        ON d.Clave <> @Clave
        AND (d.Clave = a.ProgramacionId OR (a.ProgramacionId IS NULL AND d.RobotId = a.RobotId));

    -- Arriving: the candidate everywhere, and the robot's others where its assignment becomes shared.
    INSERT INTO #EnEquipo (EquipoId, Clave, Llega)
    SELECT DISTINCT q.EquipoId, @Clave, 1
    FROM #EquiposSolicitados AS q;

    INSERT INTO #EnEquipo (EquipoId, Clave, Llega)
    SELECT DISTINCT q.EquipoId, d.Clave, 1
    FROM #EquiposSolicitados AS q
    INNER JOIN dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
        ON a.EquipoId = q.EquipoId AND a.RobotId = @RobotId AND a.EsProgramado = 1
        AND (a.ProgramacionId IS NULL OR a.ProgramacionId <> @Clave)
    INNER JOIN #Defs AS d ON d.RobotId = @RobotId AND d.Clave <> @Clave
    WHERE
        @Asignar = 1
        AND NOT EXISTS (SELECT 1 FROM #EnEquipo AS x WHERE x.EquipoId = q.EquipoId AND x.Clave = d.Clave);

    -- Windows of every valid schedule on every due day of the horizon (numbers CTE).
    WITH Numeros AS (
        SELECT TOP (@Dias) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) - 1 AS n
        FROM sys.all_columns
    ),
    Dias AS (
        SELECT DATEADD(DAY, Numeros.n, @Desde) AS Dia FROM Numeros
    )
    INSERT INTO #Ventanas (Clave, Dia, Cerrada, Inicio, Fin)
    {ventanas_select(TSQL)};

    -- Each arriving schedule against every other one on the equipo (a pair of arrivals once).
    INSERT INTO #Solapes (EquipoId, ProgramacionA, ProgramacionB, Desde, Hasta)
    {pares_select(TSQL)};
END;"""

#: ``SAM.sql`` holds :func:`bloque_sam_sql` immediately before this line.
MARCADOR_SAM_SQL = "-- @@SOLAPES_PROGRAMACION@@"
_INICIO_BLOQUE = "-- Internal helper (BEHAVIOUR L7.4): the overlaps a schedule write introduces"


def bloque_sam_sql() -> str:
    return (
        _INICIO_BLOQUE + " on the equipos in\n"
        "-- #EquiposSolicitados (caller's), into #Solapes (caller's). Same rule as common/solapamiento.py and\n"
        "-- common/operaciones/programaciones.py: the candidate (key @ProgramacionId, 0 = new) and, when\n"
        "-- @Asignar = 1 makes the robot's assignment on an equipo shared (ProgramacionId NULL), the robot's\n"
        "-- other active schedules arrive there; each arriving schedule is compared with every other active\n"
        "-- schedule on that equipo over the slot days @Desde .. @Desde + @Dias - 1 (windows: one-shot\n"
        "-- [inicio, inicio + tolerancia] closed, cyclic [inicio, fin) half-open; invalid rows never count).\n"
        "-- GENERATED by lanzador/database/solapes_sql.py (python -m lanzador.database.solapes_sql): the day\n"
        "-- rule and the validity predicate are the selection's (lanzador/database/seleccion.py).\n"
        + PROCEDIMIENTO_TSQL
        + "\nGO\n"
    )


def reemplazar_bloque(texto: str) -> str:
    """``texto`` (SAM.sql) with the current copy of the block, just before the marker, replaced."""
    inicio = texto.index(_INICIO_BLOQUE)
    fin = texto.index(MARCADOR_SAM_SQL)
    return texto[:inicio] + bloque_sam_sql() + texto[fin:]


def actualizar_sam_sql(ruta: Any = None) -> bool:
    """Write :func:`bloque_sam_sql` into ``SAM.sql``; True when the file changed."""
    from common.paths import SAM_SQL

    ruta = Path(ruta or SAM_SQL)
    texto = ruta.read_text(encoding="utf-8")
    nuevo = reemplazar_bloque(texto)
    if nuevo == texto:
        return False
    ruta.write_text(nuevo, encoding="utf-8", newline="\n")
    return True


# --------------------------------------------------------------------------------------------
# SQLite twin: the same windows and pairs over temp tables shaped like #Defs and #EnEquipo.
# Parameters: (desde 'YYYY-MM-DD', dias). Rows: EquipoId, ProgramacionA, ProgramacionB, Desde, Hasta.
# --------------------------------------------------------------------------------------------
_COLUMNAS_DEFS_SQLITE = ", ".join(
    linea.strip().split()[0] for linea in _COLUMNAS_DEFS.split(",\n") if not linea.strip().startswith("DiasNorm")
)

GEMELO_SQLITE = f"""WITH RECURSIVE prm AS (SELECT date(?) AS desde, ? AS dias),
Numeros(n) AS (
    SELECT 0 FROM prm WHERE prm.dias > 0
    UNION ALL
    SELECT Numeros.n + 1 FROM Numeros, prm WHERE Numeros.n + 1 < prm.dias
),
Dias AS (
    SELECT date(prm.desde, '+' || Numeros.n || ' days') AS Dia FROM Numeros, prm
),
Defs AS (
    SELECT p.*, {dias_semana_normalizados(SQLITE)} AS DiasNorm
    FROM temp.SolapesDefs AS p
),
Ventanas(Clave, Dia, Cerrada, Inicio, Fin) AS (
    {ventanas_select(SQLITE)}
)
{pares_select(SQLITE)}"""

sentencias.registrar("solapes.gemelo_sqlite", tsql=None, sqlite=GEMELO_SQLITE)
sentencias.registrar(
    "solapes.gemelo_defs",
    tsql=None,
    sqlite=f"CREATE TEMP TABLE IF NOT EXISTS SolapesDefs ({_COLUMNAS_DEFS_SQLITE})",
)
sentencias.registrar(
    "solapes.gemelo_en_equipo",
    tsql=None,
    sqlite="CREATE TEMP TABLE IF NOT EXISTS SolapesEnEquipo (EquipoId, Clave, Llega)",
)


if __name__ == "__main__":  # pragma: no cover - maintainer tool
    print("SAM.sql actualizado" if actualizar_sam_sql() else "SAM.sql ya estaba al día")
