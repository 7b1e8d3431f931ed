"""Every read of the console's views (CONSOLE §3), registered in :mod:`common.database.sentencias`.

Both dialects take the same parameter tuple: SQLite numbers its parameters (``?1`` … ``?N``, each
usable several times), T-SQL binds them once, in the same order, into typed ``DECLARE`` variables
(the optional filters are ``@X IS NULL OR col = @X``; ``OPTION (RECOMPILE)`` gives SQL Server a plan
for the filters actually present). Sort columns come from whitelists: each (column, direction)
pair is a statement of its own, so no text is ever built from input.

Bounded reads of ``EjecucionesTodas`` (R4: past executions are read through that view): SQLite
cannot merge the two ordered halves of the UNION ALL view, so an ``ORDER BY … LIMIT`` over it would
sort the whole history. The list therefore reads one id window at a time
(``EjecucionId < antes AND EjecucionId >= antes - ventana``: a primary-key range in both halves)
and widens the window until the page is full or a per-request budget of ids is spent; see
:func:`ejecuciones_pagina`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.database import sentencias
from common.database.sql_client import parse_datetime
from common.execution_states import FAILURE_STATES, TERMINAL_STATES, sql_list

# ruff: noqa: S608 - every text is built from constants of this module at import (never from input)


def _R(nombre: str, **textos: Any) -> None:
    sentencias.registrar(nombre, **textos)


_TERMINALES = sql_list(TERMINAL_STATES)
_FALLIDOS = sql_list(FAILURE_STATES)

# --------------------------------------------------------------------------------------------
# Estado
# --------------------------------------------------------------------------------------------
_R("consola.servicios",
   tsql="SELECT Servicio, Host, Pid, Version, Rol, Inicio, UltimoLatido, UltimoCicloOk, "
        "CAST(UltimoError AS NVARCHAR(MAX)) AS UltimoError FROM dbo.EstadoServicios "
        "ORDER BY Servicio, Host, Pid",
   sqlite="SELECT Servicio, Host, Pid, Version, Rol, Inicio, UltimoLatido, UltimoCicloOk, UltimoError "
          "FROM EstadoServicios ORDER BY Servicio, Host, Pid")

_R("consola.ultima_sincronizacion",
   tsql="SELECT (SELECT MAX(FechaSincronizacion) FROM dbo.Robots) AS Robots, "
        "(SELECT MAX(FechaSincronizacion) FROM dbo.Equipos) AS Equipos",
   sqlite="SELECT (SELECT MAX(FechaSincronizacion) FROM Robots) AS Robots, "
          "(SELECT MAX(FechaSincronizacion) FROM Equipos) AS Equipos")

_ABIERTAS_COLS = ("x.EjecucionId, x.DeploymentId, x.RobotId, r.Robot, x.EquipoId, e.Equipo, x.Estado, "
                  "x.FechaInicio, x.FechaActualizacion")
_R("consola.ejecuciones_abiertas",
   tsql=f"SELECT TOP (?) {_ABIERTAS_COLS} FROM dbo.Ejecuciones AS x "
        "LEFT JOIN dbo.Robots AS r ON r.RobotId = x.RobotId LEFT JOIN dbo.Equipos AS e ON e.EquipoId = x.EquipoId "
        f"WHERE x.FechaFin IS NULL AND x.Estado NOT IN ({_TERMINALES}) ORDER BY x.FechaInicio, x.EjecucionId",
   sqlite=f"SELECT {_ABIERTAS_COLS} FROM Ejecuciones AS x "
          "LEFT JOIN Robots AS r ON r.RobotId = x.RobotId LEFT JOIN Equipos AS e ON e.EquipoId = x.EquipoId "
          f"WHERE x.FechaFin IS NULL AND x.Estado NOT IN ({_TERMINALES}) "
          "ORDER BY x.FechaInicio, x.EjecucionId LIMIT ?1")

# How many executions are open in each state (the Estado page draws only the first ones).
_R("consola.abiertas_por_estado",
   tsql="SELECT x.Estado, COUNT(*) AS Total FROM dbo.Ejecuciones AS x "
        f"WHERE x.FechaFin IS NULL AND x.Estado NOT IN ({_TERMINALES}) GROUP BY x.Estado ORDER BY x.Estado",
   sqlite="SELECT x.Estado, COUNT(*) AS Total FROM Ejecuciones AS x "
          f"WHERE x.FechaFin IS NULL AND x.Estado NOT IN ({_TERMINALES}) GROUP BY x.Estado ORDER BY x.Estado")

# Failures since a moment, grouped; the live table holds the last days (R2 moves older rows).
_R("consola.fallos_recientes",
   tsql="DECLARE @Desde DATETIME2(3) = ?; "
        "SELECT TOP (200) x.RobotId, MAX(r.Robot) AS Robot, x.EquipoId, MAX(e.Equipo) AS Equipo, x.Estado, "
        "CAST(LEFT(x.MensajeError, 300) AS NVARCHAR(300)) AS Mensaje, COUNT(*) AS Fallos, "
        "MAX(x.FechaFin) AS Ultimo "
        "FROM dbo.Ejecuciones AS x LEFT JOIN dbo.Robots AS r ON r.RobotId = x.RobotId "
        "LEFT JOIN dbo.Equipos AS e ON e.EquipoId = x.EquipoId "
        f"WHERE x.Estado IN ({_FALLIDOS}) AND x.FechaFin >= @Desde "
        "GROUP BY x.RobotId, x.EquipoId, x.Estado, CAST(LEFT(x.MensajeError, 300) AS NVARCHAR(300)) "
        "ORDER BY Fallos DESC, Ultimo DESC",
   sqlite="SELECT x.RobotId, MAX(r.Robot) AS Robot, x.EquipoId, MAX(e.Equipo) AS Equipo, x.Estado, "
          "substr(x.MensajeError, 1, 300) AS Mensaje, COUNT(*) AS Fallos, MAX(x.FechaFin) AS Ultimo "
          "FROM Ejecuciones AS x LEFT JOIN Robots AS r ON r.RobotId = x.RobotId "
          "LEFT JOIN Equipos AS e ON e.EquipoId = x.EquipoId "
          f"WHERE x.Estado IN ({_FALLIDOS}) AND x.FechaFin >= ?1 "
          "GROUP BY x.RobotId, x.EquipoId, x.Estado, substr(x.MensajeError, 1, 300) "
          "ORDER BY Fallos DESC, Ultimo DESC LIMIT 200")

# --------------------------------------------------------------------------------------------
# Ejecuciones (EjecucionesTodas, R4)
# --------------------------------------------------------------------------------------------
_EJ_COLS = ("t.EjecucionId, t.DeploymentId, t.RobotId, r.Robot, t.EquipoId, e.Equipo, t.Estado, t.FechaInicio, "
            "t.FechaFin, t.Origen")
_R("consola.ejecuciones_limites",
   tsql="SELECT (SELECT MAX(EjecucionId) FROM dbo.Ejecuciones) AS MaxVivas, "
        "(SELECT MIN(EjecucionId) FROM dbo.Ejecuciones) AS MinVivas, "
        "(SELECT MAX(EjecucionId) FROM dbo.Ejecuciones_Historico) AS MaxHistorico, "
        "(SELECT MIN(EjecucionId) FROM dbo.Ejecuciones_Historico) AS MinHistorico",
   sqlite="SELECT (SELECT MAX(EjecucionId) FROM Ejecuciones) AS MaxVivas, "
          "(SELECT MIN(EjecucionId) FROM Ejecuciones) AS MinVivas, "
          "(SELECT MAX(EjecucionId) FROM Ejecuciones_Historico) AS MaxHistorico, "
          "(SELECT MIN(EjecucionId) FROM Ejecuciones_Historico) AS MinHistorico")
_R("consola.ejecuciones_ventana",
   tsql="DECLARE @Antes BIGINT = ?; DECLARE @Desde BIGINT = ?; DECLARE @Robot INT = ?; DECLARE @Equipo INT = ?; "
        "DECLARE @Estado NVARCHAR(50) = ?; DECLARE @FDesde DATETIME2(3) = ?; DECLARE @FHasta DATETIME2(3) = ?; "
        "DECLARE @Limite INT = ?; "
        f"SELECT TOP (@Limite) {_EJ_COLS} FROM dbo.EjecucionesTodas AS t "
        "LEFT JOIN dbo.Robots AS r ON r.RobotId = t.RobotId LEFT JOIN dbo.Equipos AS e ON e.EquipoId = t.EquipoId "
        "WHERE t.EjecucionId < @Antes AND t.EjecucionId >= @Desde "
        "AND (@Robot IS NULL OR t.RobotId = @Robot) AND (@Equipo IS NULL OR t.EquipoId = @Equipo) "
        "AND (@Estado IS NULL OR t.Estado = @Estado) AND (@FDesde IS NULL OR t.FechaInicio >= @FDesde) "
        "AND (@FHasta IS NULL OR t.FechaInicio < @FHasta) ORDER BY t.EjecucionId DESC OPTION (RECOMPILE)",
   sqlite=f"SELECT {_EJ_COLS} FROM EjecucionesTodas AS t "
          "LEFT JOIN Robots AS r ON r.RobotId = t.RobotId LEFT JOIN Equipos AS e ON e.EquipoId = t.EquipoId "
          "WHERE t.EjecucionId < ?1 AND t.EjecucionId >= ?2 "
          "AND (?3 IS NULL OR t.RobotId = ?3) AND (?4 IS NULL OR t.EquipoId = ?4) "
          "AND (?5 IS NULL OR t.Estado = ?5) AND (?6 IS NULL OR t.FechaInicio >= ?6) "
          "AND (?7 IS NULL OR t.FechaInicio < ?7) ORDER BY t.EjecucionId DESC LIMIT ?8")
# Perf (bench_consola): the same window with the robot's or the equipo's filter as a plain equality,
# so that SQLite seeks IX_*_Robot_Id / IX_*_Equipo_Id in both arms of EjecucionesTodas instead of
# reading every id of the window (`?3 IS NULL OR ...` hides the index from its planner; on SQL Server
# OPTION (RECOMPILE) already folds the NULL test, so the T-SQL is the same).
_VENTANA = sentencias.sentencia("consola.ejecuciones_ventana")
for _campo, _filtro, _igual in (("robot", "(?3 IS NULL OR t.RobotId = ?3)", "t.RobotId = ?3"),
                                ("equipo", "(?4 IS NULL OR t.EquipoId = ?4)", "t.EquipoId = ?4")):
    _R(f"consola.ejecuciones_ventana_{_campo}", tsql=_VENTANA.tsql, sqlite=_VENTANA.sqlite.replace(_filtro, _igual))
_R("consola.ejecucion",
   tsql="SELECT t.EjecucionId, t.DeploymentId, t.RobotId, r.Robot, t.EquipoId, e.Equipo, t.UserId, t.Hora, "
        "t.FechaSlot, t.FechaInicio, t.FechaActualizacion, t.FechaFin, t.FechaMovimiento, t.Estado, "
        "CAST(t.CallbackInfo AS NVARCHAR(MAX)) AS CallbackInfo, CAST(t.MensajeError AS NVARCHAR(MAX)) AS MensajeError, "
        "t.RondasNoEncontrado, t.AlertaDuracionEnviada, t.FalloSinConfirmar, t.Origen "
        "FROM dbo.EjecucionesTodas AS t LEFT JOIN dbo.Robots AS r ON r.RobotId = t.RobotId "
        "LEFT JOIN dbo.Equipos AS e ON e.EquipoId = t.EquipoId WHERE t.EjecucionId = ?",
   sqlite="SELECT t.EjecucionId, t.DeploymentId, t.RobotId, r.Robot, t.EquipoId, e.Equipo, t.UserId, t.Hora, "
          "t.FechaSlot, t.FechaInicio, t.FechaActualizacion, t.FechaFin, t.FechaMovimiento, t.Estado, "
          "t.CallbackInfo, t.MensajeError, t.RondasNoEncontrado, t.AlertaDuracionEnviada, t.FalloSinConfirmar, "
          "t.Origen FROM EjecucionesTodas AS t LEFT JOIN Robots AS r ON r.RobotId = t.RobotId "
          "LEFT JOIN Equipos AS e ON e.EquipoId = t.EquipoId WHERE t.EjecucionId = ?1")
_R("consola.callbacks_de_despliegue",
   tsql="SELECT TOP (50) CallbackId, FechaRecepcion, Estado, CAST(Payload AS NVARCHAR(MAX)) AS Payload, Aplicado "
        "FROM dbo.CallbacksRecibidos WHERE DeploymentId = ? ORDER BY CallbackId",
   sqlite="SELECT CallbackId, FechaRecepcion, Estado, Payload, Aplicado FROM CallbacksRecibidos "
          "WHERE DeploymentId = ?1 ORDER BY CallbackId LIMIT 50")


@dataclass(frozen=True)
class PaginaEjecuciones:
    filas: list[dict]
    #: ``antes`` of the next page (None: no more rows).
    siguiente: int | None
    #: True when the id budget ran out before the page was full (the next page goes on searching).
    limitada: bool


#: First id window, and the most ids one request may examine.
VENTANA_INICIAL, PRESUPUESTO_IDS = 2_000, 400_000


def ejecuciones_pagina(db: Any, *, antes: int | None, robot: int | None, equipo: int | None, estado: str | None,
                       desde: datetime | None, hasta: datetime | None, limite: int) -> PaginaEjecuciones:
    """One page of EjecucionesTodas, newest id first, below ``antes``: id windows that double
    until ``limite`` rows are found, the oldest id is passed or PRESUPUESTO_IDS ids were examined."""
    lim = db.query_one(sentencias.sql(db, "consola.ejecuciones_limites")) or {}
    maximos = [v for v in (lim.get("MaxVivas"), lim.get("MaxHistorico")) if v is not None]
    minimos = [v for v in (lim.get("MinVivas"), lim.get("MinHistorico")) if v is not None]
    if not maximos:
        return PaginaEjecuciones([], None, False)
    tope = min(int(antes), max(maximos) + 1) if antes is not None else max(maximos) + 1
    suelo = min(minimos)
    filas: list[dict] = []
    ventana, examinados = VENTANA_INICIAL, 0
    variante = "_robot" if robot is not None else "_equipo" if equipo is not None else ""
    texto = sentencias.sql(db, "consola.ejecuciones_ventana" + variante)
    while len(filas) < limite and tope > suelo and examinados < PRESUPUESTO_IDS:
        inferior = max(suelo, tope - ventana)
        filas += db.query(texto, (tope, inferior, robot, equipo, estado, desde, hasta, limite - len(filas)))
        examinados += tope - inferior
        tope, ventana = inferior, ventana * 2
    if len(filas) >= limite:
        return PaginaEjecuciones(filas, int(filas[-1]["EjecucionId"]), False)
    if tope > suelo:  # budget spent: the next page goes on from where this one stopped
        return PaginaEjecuciones(filas, tope, True)
    return PaginaEjecuciones(filas, None, False)


# --------------------------------------------------------------------------------------------
# Robots
# --------------------------------------------------------------------------------------------
_PROGRAMADO_T = ("CASE WHEN EXISTS (SELECT 1 FROM dbo.Programaciones AS g WHERE g.RobotId = r.RobotId "
                 "AND g.Activo = 1) THEN 1 ELSE 0 END")
_PROGRAMADO_S = _PROGRAMADO_T.replace("dbo.", "")
_ROBOT_COLS = ("r.RobotId, r.Robot, r.Activo, r.EsOnline, r.MinEquipos, r.MaxEquipos, r.PrioridadBalanceo, "
               "r.TicketsPorEquipoAdicional, r.ExisteEnA360, r.FechaSincronizacion, r.PoolId, p.Nombre AS Pool")
_ROBOTS_T = (
    "DECLARE @Activo INT = ?; DECLARE @Online INT = ?; DECLARE @Programado INT = ?; DECLARE @Pool INT = ?; "
    "DECLARE @SinPool INT = ?; DECLARE @Busca NVARCHAR(300) = ?; DECLARE @Limite INT = ?; DECLARE @Salto INT = ?; "
    "SELECT {cols} FROM (SELECT " + _ROBOT_COLS + ", "
    "(SELECT COUNT(*) FROM dbo.Asignaciones AS a WHERE a.RobotId = r.RobotId) AS NumEquipos, "
    + _PROGRAMADO_T + " AS Programado FROM dbo.Robots AS r LEFT JOIN dbo.Pools AS p ON p.PoolId = r.PoolId) AS q "
    "WHERE (@Activo IS NULL OR q.Activo = @Activo) AND (@Online IS NULL OR q.EsOnline = @Online) "
    "AND (@Programado IS NULL OR q.Programado = @Programado) AND (@Pool IS NULL OR q.PoolId = @Pool) "
    "AND (@SinPool = 0 OR q.PoolId IS NULL) AND (@Busca IS NULL OR q.Robot LIKE @Busca ESCAPE '\\') {fin}"
)
_ROBOTS_S = (
    "SELECT {cols} FROM (SELECT " + _ROBOT_COLS + ", "
    "(SELECT COUNT(*) FROM Asignaciones AS a WHERE a.RobotId = r.RobotId) AS NumEquipos, "
    + _PROGRAMADO_S + " AS Programado FROM Robots AS r LEFT JOIN Pools AS p ON p.PoolId = r.PoolId) AS q "
    "WHERE (?1 IS NULL OR q.Activo = ?1) AND (?2 IS NULL OR q.EsOnline = ?2) "
    "AND (?3 IS NULL OR q.Programado = ?3) AND (?4 IS NULL OR q.PoolId = ?4) "
    "AND (?5 = 0 OR q.PoolId IS NULL) AND (?6 IS NULL OR q.Robot LIKE ?6 ESCAPE '\\') {fin}"
)
#: Sortable columns of the robots list (name in the URL -> column of the query).
ORDEN_ROBOTS = {"robot": "q.Robot", "id": "q.RobotId", "prioridad": "q.PrioridadBalanceo",
                "min": "q.MinEquipos", "max": "q.MaxEquipos", "equipos": "q.NumEquipos", "pool": "q.Pool"}
_DIRECCIONES = {"asc": "ASC", "desc": "DESC"}


def _registrar_lista(base: str, plantilla_t: str, plantilla_s: str, orden: dict[str, str], clave: str) -> None:
    """One statement per (sort column, direction) and one count, from constant templates."""
    _R(f"{base}.total", tsql=plantilla_t.format(cols="COUNT(*) AS Total", fin=""),
       sqlite=plantilla_s.format(cols="COUNT(*) AS Total", fin=""))
    for nombre, columna in orden.items():
        for d, sql_d in _DIRECCIONES.items():
            por = f"ORDER BY {columna} {sql_d}, {clave} {sql_d}"
            _R(f"{base}.{nombre}.{d}",
               tsql=plantilla_t.format(cols="q.*", fin=f"{por} OFFSET @Salto ROWS FETCH NEXT @Limite ROWS ONLY "
                                                       "OPTION (RECOMPILE)"),
               sqlite=plantilla_s.format(cols="q.*", fin=f"{por} LIMIT ?7 OFFSET ?8"))


_registrar_lista("consola.robots", _ROBOTS_T, _ROBOTS_S, ORDEN_ROBOTS, "q.RobotId")

_R("consola.robot",
   tsql="SELECT r.RobotId, r.Robot, CAST(r.Descripcion AS NVARCHAR(MAX)) AS Descripcion, "
        "CAST(r.Parametros AS NVARCHAR(MAX)) AS Parametros, r.EsOnline, r.Activo, r.MinEquipos, r.MaxEquipos, "
        "r.PrioridadBalanceo, r.TicketsPorEquipoAdicional, r.ExisteEnA360, r.FechaSincronizacion, r.PoolId, "
        "p.Nombre AS Pool FROM dbo.Robots AS r LEFT JOIN dbo.Pools AS p ON p.PoolId = r.PoolId WHERE r.RobotId = ?",
   sqlite="SELECT r.RobotId, r.Robot, r.Descripcion, r.Parametros, r.EsOnline, r.Activo, r.MinEquipos, "
          "r.MaxEquipos, r.PrioridadBalanceo, r.TicketsPorEquipoAdicional, r.ExisteEnA360, r.FechaSincronizacion, "
          "r.PoolId, p.Nombre AS Pool FROM Robots AS r LEFT JOIN Pools AS p ON p.PoolId = r.PoolId "
          "WHERE r.RobotId = ?1")
_R("consola.asignaciones_de_robot",
   tsql="SELECT a.EquipoId, e.Equipo, e.Licencia, a.EsProgramado, a.Reservado, a.AsignadoPor, a.FechaAsignacion, "
        "a.ProgramacionId FROM dbo.Asignaciones AS a INNER JOIN dbo.Equipos AS e ON e.EquipoId = a.EquipoId "
        "WHERE a.RobotId = ? ORDER BY e.Equipo",
   sqlite="SELECT a.EquipoId, e.Equipo, e.Licencia, a.EsProgramado, a.Reservado, a.AsignadoPor, a.FechaAsignacion, "
          "a.ProgramacionId FROM Asignaciones AS a INNER JOIN Equipos AS e ON e.EquipoId = a.EquipoId "
          "WHERE a.RobotId = ?1 ORDER BY e.Equipo")

# --------------------------------------------------------------------------------------------
# Programaciones
# --------------------------------------------------------------------------------------------
_PROG_COLS = ("g.ProgramacionId, g.RobotId, r.Robot, g.TipoProgramacion, g.HoraInicio, g.HoraFin, g.DiaSemana, "
              "g.DiaDelMes, g.FechaEspecifica, g.Tolerancia, g.Activo, g.EsCiclico, g.FechaInicioVentana, "
              "g.FechaFinVentana, g.IntervaloEntreEjecuciones, g.DiaInicioMes, g.DiaFinMes, g.UltimosDiasMes")
_R("consola.programaciones_de_robot",
   tsql=f"SELECT {_PROG_COLS} FROM dbo.Programaciones AS g INNER JOIN dbo.Robots AS r ON r.RobotId = g.RobotId "
        "WHERE g.RobotId = ? ORDER BY g.ProgramacionId",
   sqlite=f"SELECT {_PROG_COLS} FROM Programaciones AS g INNER JOIN Robots AS r ON r.RobotId = g.RobotId "
          "WHERE g.RobotId = ?1 ORDER BY g.ProgramacionId")
_R("consola.programaciones_total",
   tsql="DECLARE @Robot INT = ?; DECLARE @Activo INT = ?; SELECT COUNT(*) AS Total FROM dbo.Programaciones AS g "
        "WHERE (@Robot IS NULL OR g.RobotId = @Robot) AND (@Activo IS NULL OR g.Activo = @Activo)",
   sqlite="SELECT COUNT(*) AS Total FROM Programaciones AS g "
          "WHERE (?1 IS NULL OR g.RobotId = ?1) AND (?2 IS NULL OR g.Activo = ?2)")
_R("consola.programaciones_pagina",
   tsql="DECLARE @Robot INT = ?; DECLARE @Activo INT = ?; DECLARE @Limite INT = ?; DECLARE @Salto INT = ?; "
        f"SELECT {_PROG_COLS} FROM dbo.Programaciones AS g INNER JOIN dbo.Robots AS r ON r.RobotId = g.RobotId "
        "WHERE (@Robot IS NULL OR g.RobotId = @Robot) AND (@Activo IS NULL OR g.Activo = @Activo) "
        "ORDER BY r.Robot, g.ProgramacionId OFFSET @Salto ROWS FETCH NEXT @Limite ROWS ONLY",
   sqlite=f"SELECT {_PROG_COLS} FROM Programaciones AS g INNER JOIN Robots AS r ON r.RobotId = g.RobotId "
          "WHERE (?1 IS NULL OR g.RobotId = ?1) AND (?2 IS NULL OR g.Activo = ?2) "
          "ORDER BY r.Robot, g.ProgramacionId LIMIT ?3 OFFSET ?4")
_R("consola.equipos_de_programaciones",
   tsql="SELECT a.ProgramacionId, a.EquipoId, e.Equipo FROM dbo.Asignaciones AS a "
        "INNER JOIN dbo.Equipos AS e ON e.EquipoId = a.EquipoId WHERE a.ProgramacionId IN ({marcas}) "
        "ORDER BY e.Equipo",
   sqlite="SELECT a.ProgramacionId, a.EquipoId, e.Equipo FROM Asignaciones AS a "
          "INNER JOIN Equipos AS e ON e.EquipoId = a.EquipoId WHERE a.ProgramacionId IN ({marcas}) "
          "ORDER BY e.Equipo")

# --------------------------------------------------------------------------------------------
# Equipos
# --------------------------------------------------------------------------------------------
_EQ_COLS = ("e.EquipoId, e.Equipo, e.UserName, e.Licencia, e.Activo_SAM, e.PermiteBalanceoDinamico, e.EstadoA360, "
            "e.UsuarioActivoA360, e.EstadoBalanceador, e.FechaSincronizacion, e.PoolId, p.Nombre AS Pool")


_DINAMICA = " AND a.AsignadoPor = 'Balanceador'"


def _cuenta_asig(condicion: str, dbo: str) -> str:
    return f"(SELECT COUNT(*) FROM {dbo}Asignaciones AS a WHERE a.EquipoId = e.EquipoId{condicion})"


def _equipos(dbo: str) -> str:
    return (f"SELECT {_EQ_COLS}, {_cuenta_asig('', dbo)} AS NumAsignaciones, "
            f"{_cuenta_asig(' AND a.EsProgramado = 1', dbo)} AS NumProgramadas, "
            f"{_cuenta_asig(' AND a.Reservado = 1', dbo)} AS NumReservadas, "
            f"{_cuenta_asig(_DINAMICA, dbo)} AS NumDinamicas "
            f"FROM {dbo}Equipos AS e LEFT JOIN {dbo}Pools AS p ON p.PoolId = e.PoolId")


_EQUIPOS_T = (
    "DECLARE @Activo INT = ?; DECLARE @Etiqueta NVARCHAR(20) = ?; DECLARE @Pool INT = ?; DECLARE @SinPool INT = ?; "
    "DECLARE @Busca NVARCHAR(300) = ?; DECLARE @Dinamico INT = ?; DECLARE @Limite INT = ?; DECLARE @Salto INT = ?; "
    "SELECT {cols} FROM (" + _equipos("dbo.") + ") AS q "
    "WHERE (@Activo IS NULL OR q.Activo_SAM = @Activo) AND (@Pool IS NULL OR q.PoolId = @Pool) "
    "AND (@SinPool = 0 OR q.PoolId IS NULL) AND (@Busca IS NULL OR q.Equipo LIKE @Busca ESCAPE '\\') "
    "AND (@Dinamico IS NULL OR q.PermiteBalanceoDinamico = @Dinamico) "
    "AND (@Etiqueta IS NULL OR (@Etiqueta = 'programado' AND q.NumProgramadas > 0) "
    "OR (@Etiqueta = 'reservado' AND q.NumReservadas > 0) OR (@Etiqueta = 'dinamico' AND q.NumDinamicas > 0) "
    "OR (@Etiqueta = 'libre' AND q.NumAsignaciones = 0)) {fin}"
)
_EQUIPOS_S = (
    "SELECT {cols} FROM (" + _equipos("") + ") AS q "
    "WHERE (?1 IS NULL OR q.Activo_SAM = ?1) AND (?3 IS NULL OR q.PoolId = ?3) "
    "AND (?4 = 0 OR q.PoolId IS NULL) AND (?5 IS NULL OR q.Equipo LIKE ?5 ESCAPE '\\') "
    "AND (?6 IS NULL OR q.PermiteBalanceoDinamico = ?6) "
    "AND (?2 IS NULL OR (?2 = 'programado' AND q.NumProgramadas > 0) "
    "OR (?2 = 'reservado' AND q.NumReservadas > 0) OR (?2 = 'dinamico' AND q.NumDinamicas > 0) "
    "OR (?2 = 'libre' AND q.NumAsignaciones = 0)) {fin}"
)
ORDEN_EQUIPOS = {"equipo": "q.Equipo", "id": "q.EquipoId", "licencia": "q.Licencia", "pool": "q.Pool",
                 "asignaciones": "q.NumAsignaciones"}
_registrar_lista("consola.equipos", _EQUIPOS_T, _EQUIPOS_S, ORDEN_EQUIPOS, "q.EquipoId")
_R("consola.robots_de_equipos",
   tsql="SELECT a.EquipoId, a.RobotId, r.Robot, a.EsProgramado, a.Reservado, a.AsignadoPor FROM dbo.Asignaciones AS a "
        "INNER JOIN dbo.Robots AS r ON r.RobotId = a.RobotId WHERE a.EquipoId IN ({marcas}) ORDER BY r.Robot",
   sqlite="SELECT a.EquipoId, a.RobotId, r.Robot, a.EsProgramado, a.Reservado, a.AsignadoPor FROM Asignaciones AS a "
          "INNER JOIN Robots AS r ON r.RobotId = a.RobotId WHERE a.EquipoId IN ({marcas}) ORDER BY r.Robot")

# The robot page's reserve form suggests a bounded list (never every equipo): active equipos with no
# assignment at all, of the robot's pool or general (a general robot: general equipos only).
MAX_CANDIDATOS = 50
_CANDIDATOS = ("SELECT {top}e.EquipoId, e.Equipo FROM {t}Equipos AS e WHERE e.Activo_SAM = 1 "
               "AND (e.PoolId IS NULL OR e.PoolId = (SELECT r.PoolId FROM {t}Robots AS r WHERE r.RobotId = {robot})) "
               "AND NOT EXISTS (SELECT 1 FROM {t}Asignaciones AS a WHERE a.EquipoId = e.EquipoId) "
               "ORDER BY e.Equipo, e.EquipoId{limite}")
_R("consola.equipos_para_asignar",
   tsql="DECLARE @Robot INT = ?; DECLARE @Limite INT = ?; "
        + _CANDIDATOS.format(top="TOP (@Limite) ", t="dbo.", robot="@Robot", limite=""),
   sqlite=_CANDIDATOS.format(top="", t="", robot="?1", limite=" LIMIT ?2"))
# Equipos named in the reserve form (the operator may type names instead of ids); case-insensitive
# on both engines (SQL Server's default collation; NOCASE folds ASCII, which device names are).
# The Ejecuciones filter by robot name: exact, case-insensitive (SQL Server's CI collation, SQLite
# NOCASE); the ids found then go through the id filter (its index), never a LIKE over executions.
_R("consola.robots_por_nombre",
   tsql="SELECT r.RobotId, r.Robot FROM dbo.Robots AS r WHERE r.Robot = ?",
   sqlite="SELECT r.RobotId, r.Robot FROM Robots AS r WHERE r.Robot = ? COLLATE NOCASE")
_R("consola.equipos_por_nombre",
   tsql="SELECT e.EquipoId, e.Equipo FROM dbo.Equipos AS e WHERE e.Equipo IN ({marcas})",
   sqlite="SELECT e.EquipoId, e.Equipo FROM Equipos AS e WHERE e.Equipo COLLATE NOCASE IN ({marcas})")

# --------------------------------------------------------------------------------------------
# Balanceador
# --------------------------------------------------------------------------------------------
_HB_COLS = ("h.HistoricoId, h.FechaBalanceo, h.RobotId, r.Robot, h.TicketsPendientes, h.EquiposAsignadosAntes, "
            "h.EquiposAsignadosDespues, h.AccionTomada, h.CodigoMotivo, h.PoolId, p.Nombre AS Pool")
_R("consola.historico_balanceo",
   tsql="DECLARE @Antes BIGINT = ?; DECLARE @Robot INT = ?; DECLARE @Limite INT = ?; "
        f"SELECT TOP (@Limite) {_HB_COLS}, CAST(h.Justificacion AS NVARCHAR(MAX)) AS Justificacion, "
        "CAST(h.EquipoIds AS NVARCHAR(MAX)) AS EquipoIds FROM dbo.HistoricoBalanceo AS h "
        "LEFT JOIN dbo.Robots AS r ON r.RobotId = h.RobotId LEFT JOIN dbo.Pools AS p ON p.PoolId = h.PoolId "
        "WHERE h.HistoricoId < @Antes AND (@Robot IS NULL OR h.RobotId = @Robot) ORDER BY h.HistoricoId DESC "
        "OPTION (RECOMPILE)",
   sqlite=f"SELECT {_HB_COLS}, h.Justificacion, h.EquipoIds FROM HistoricoBalanceo AS h "
          "LEFT JOIN Robots AS r ON r.RobotId = h.RobotId LEFT JOIN Pools AS p ON p.PoolId = h.PoolId "
          "WHERE h.HistoricoId < ?1 AND (?2 IS NULL OR h.RobotId = ?2) ORDER BY h.HistoricoId DESC LIMIT ?3")
# Perf (bench_consola): one robot's decisions with the filter as a plain equality, so SQLite seeks
# IX_HistoricoBalanceo_Robot_Fecha and sorts that robot's rows instead of walking every id downwards
# (the T-SQL is the same: OPTION (RECOMPILE) folds the NULL test).
_HB = sentencias.sentencia("consola.historico_balanceo")
_R("consola.historico_balanceo_robot", tsql=_HB.tsql,
   sqlite=_HB.sqlite.replace("(?2 IS NULL OR h.RobotId = ?2)", "h.RobotId = ?2"))
_R("consola.serie_balanceo",
   tsql="DECLARE @Robot INT = ?; DECLARE @Desde DATETIME2(3) = ?; "
        "SELECT TOP (2000) h.FechaBalanceo, h.TicketsPendientes, h.EquiposAsignadosDespues FROM dbo.HistoricoBalanceo AS h "
        "WHERE h.RobotId = @Robot AND h.FechaBalanceo >= @Desde ORDER BY h.FechaBalanceo",
   sqlite="SELECT h.FechaBalanceo, h.TicketsPendientes, h.EquiposAsignadosDespues FROM HistoricoBalanceo AS h "
          "WHERE h.RobotId = ?1 AND h.FechaBalanceo >= ?2 ORDER BY h.FechaBalanceo LIMIT 2000")
_R("consola.robots_con_balanceo",
   tsql="SELECT TOP (500) r.RobotId, r.Robot FROM dbo.Robots AS r WHERE EXISTS (SELECT 1 FROM dbo.HistoricoBalanceo "
        "AS h WHERE h.RobotId = r.RobotId) ORDER BY r.Robot",
   sqlite="SELECT r.RobotId, r.Robot FROM Robots AS r WHERE EXISTS (SELECT 1 FROM HistoricoBalanceo AS h "
          "WHERE h.RobotId = r.RobotId) ORDER BY r.Robot LIMIT 500")
_R("consola.ultimos_tickets",
   tsql="SELECT h.RobotId, h.TicketsPendientes, h.FechaBalanceo FROM dbo.HistoricoBalanceo AS h "
        "WHERE h.HistoricoId IN (SELECT MAX(x.HistoricoId) FROM dbo.HistoricoBalanceo AS x GROUP BY x.RobotId)",
   sqlite="SELECT h.RobotId, h.TicketsPendientes, h.FechaBalanceo FROM HistoricoBalanceo AS h "
          "WHERE h.HistoricoId IN (SELECT MAX(x.HistoricoId) FROM HistoricoBalanceo AS x GROUP BY x.RobotId)")

# --------------------------------------------------------------------------------------------
# Administración
# --------------------------------------------------------------------------------------------
_R("consola.pools",
   tsql="SELECT p.PoolId, p.Nombre, CAST(p.Descripcion AS NVARCHAR(MAX)) AS Descripcion, p.Activo, "
        "p.FechaActualizacion, (SELECT COUNT(*) FROM dbo.Robots AS r WHERE r.PoolId = p.PoolId) AS NumRobots, "
        "(SELECT COUNT(*) FROM dbo.Equipos AS e WHERE e.PoolId = p.PoolId) AS NumEquipos FROM dbo.Pools AS p "
        "ORDER BY p.Nombre",
   sqlite="SELECT p.PoolId, p.Nombre, p.Descripcion, p.Activo, p.FechaActualizacion, "
          "(SELECT COUNT(*) FROM Robots AS r WHERE r.PoolId = p.PoolId) AS NumRobots, "
          "(SELECT COUNT(*) FROM Equipos AS e WHERE e.PoolId = p.PoolId) AS NumEquipos FROM Pools AS p "
          "ORDER BY p.Nombre")
_R("consola.mapeos",
   tsql="SELECT TOP (5000) m.MapeoId, m.Proveedor, m.NombreExterno, m.RobotId, r.Robot FROM dbo.MapeoRobots AS m "
        "LEFT JOIN dbo.Robots AS r ON r.RobotId = m.RobotId ORDER BY m.Proveedor, m.NombreExterno",
   sqlite="SELECT m.MapeoId, m.Proveedor, m.NombreExterno, m.RobotId, r.Robot FROM MapeoRobots AS m "
          "LEFT JOIN Robots AS r ON r.RobotId = m.RobotId ORDER BY m.Proveedor, m.NombreExterno LIMIT 5000")
_R("consola.configuracion",
   tsql="SELECT Clave, CAST(Valor AS NVARCHAR(MAX)) AS Valor, Descripcion, FechaActualizacion, ActualizadoPor "
        "FROM dbo.ConfiguracionSistema ORDER BY Clave",
   sqlite="SELECT Clave, Valor, Descripcion, FechaActualizacion, ActualizadoPor FROM ConfiguracionSistema "
          "ORDER BY Clave")
_R("consola.usuarios",
   tsql="SELECT UsuarioId, Usuario, Nombre, Rol, Activo, FechaAlta, UltimoAcceso, IntentosFallidos, BloqueadoHasta "
        "FROM dbo.UsuariosConsola ORDER BY Usuario",
   sqlite="SELECT UsuarioId, Usuario, Nombre, Rol, Activo, FechaAlta, UltimoAcceso, IntentosFallidos, BloqueadoHasta "
          "FROM UsuariosConsola ORDER BY Usuario")
_R("consola.auditoria",
   tsql="DECLARE @Antes BIGINT = ?; DECLARE @Usuario NVARCHAR(128) = ?; DECLARE @Entidad NVARCHAR(100) = ?; "
        "DECLARE @Resultado NVARCHAR(20) = ?; DECLARE @Desde DATETIME2(3) = ?; DECLARE @Hasta DATETIME2(3) = ?; "
        "DECLARE @Limite INT = ?; "
        "SELECT TOP (@Limite) a.AuditoriaId, a.Fecha, a.Usuario, a.Rol, a.Ip, a.Accion, a.Entidad, a.EntidadId, "
        "CAST(a.Antes AS NVARCHAR(MAX)) AS Antes, CAST(a.Despues AS NVARCHAR(MAX)) AS Despues, a.Resultado "
        "FROM dbo.Auditoria AS a WHERE a.AuditoriaId < @Antes AND (@Usuario IS NULL OR a.Usuario = @Usuario) "
        "AND (@Entidad IS NULL OR a.Entidad = @Entidad) AND (@Resultado IS NULL OR a.Resultado = @Resultado) "
        "AND (@Desde IS NULL OR a.Fecha >= @Desde) AND (@Hasta IS NULL OR a.Fecha < @Hasta) "
        "ORDER BY a.AuditoriaId DESC OPTION (RECOMPILE)",
   sqlite="SELECT a.AuditoriaId, a.Fecha, a.Usuario, a.Rol, a.Ip, a.Accion, a.Entidad, a.EntidadId, a.Antes, "
          "a.Despues, a.Resultado FROM Auditoria AS a WHERE a.AuditoriaId < ?1 AND (?2 IS NULL OR a.Usuario = ?2) "
          "AND (?3 IS NULL OR a.Entidad = ?3) AND (?4 IS NULL OR a.Resultado = ?4) "
          "AND (?5 IS NULL OR a.Fecha >= ?5) AND (?6 IS NULL OR a.Fecha < ?6) "
          "ORDER BY a.AuditoriaId DESC LIMIT ?7")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------
def filas(db: Any, nombre: str, params: tuple | list = (), **campos: Any) -> list[dict]:
    return db.query(sentencias.sql(db, nombre, **campos), tuple(params))


def fila(db: Any, nombre: str, params: tuple | list = ()) -> dict | None:
    return db.query_one(sentencias.sql(db, nombre), tuple(params))


def fecha(valor: Any) -> datetime | None:
    """A datetime from a value an aggregate returned (SQLite gives text for MAX of a DATETIME)."""
    if valor is None or isinstance(valor, datetime):
        return valor
    return parse_datetime(str(valor))


def patron_like(texto: str | None) -> str | None:
    """``%texto%`` with LIKE's special characters escaped by ``\\`` (both engines)."""
    if not texto:
        return None
    escapado = "".join("\\" + c if c in "\\%_[" else c for c in texto)
    return f"%{escapado}%"
