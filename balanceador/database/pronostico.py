"""The SAM DB reads of the forecast per robot (B15): the last hour's ticket samples and equipo
changes (``HistoricoBalanceo``) and successful completions per equipo (``EjecucionesTodas``, live
and moved to history alike). Both dialects side by side in the SQL registry (``pronostico.*``).

Both reads are index seeks: ``HistoricoBalanceo`` by ``IX_HistoricoBalanceo_Robot_Fecha``
(RobotId, FechaBalanceo range); the executions, through the view (each branch takes the
predicates), by ``IX_Ejecuciones_Historico_FechaFin`` (a FechaFin range) on the history and by a
RobotId-led index on the live table (``IX_Ejecuciones_Robot_Equipo_Fin`` on SQL Server, which
also carries FechaFin and Estado; SQLite picks ``IX_Ejecuciones_Slot``), which only holds the
days before the move to history. The robots go in ``IN`` lists of at most
:data:`LOTE` ids (SQL Server allows 2,100 parameters per statement).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from balanceador.modelo import Asignacion, RobotBalanceo
from balanceador.pronostico import VENTANA, CambioEquipos, HistoriaRobot, Muestra, Pronostico, pronosticar
from common.database import sentencias
from common.execution_states import SUCCESS_STATES, sql_list

#: Robot ids per statement.
LOTE = 500

_MUESTRAS = """SELECT h.RobotId, h.FechaBalanceo, h.TicketsPendientes, h.EquiposAsignadosAntes,
       h.EquiposAsignadosDespues
FROM {t}HistoricoBalanceo h
WHERE h.RobotId IN ({{marcas}})
  AND h.FechaBalanceo >= ?
  AND h.FechaBalanceo <= ?
ORDER BY h.RobotId, h.FechaBalanceo, h.HistoricoId"""

_COMPLETADAS = """SELECT e.RobotId, e.EquipoId, COUNT(*) AS Completadas
FROM {t}EjecucionesTodas e
WHERE e.RobotId IN ({{marcas}})
  AND e.FechaFin >= ?
  AND e.FechaFin <= ?
  AND e.Estado IN ({exito})
GROUP BY e.RobotId, e.EquipoId"""

_DIALECTO = {
    sentencias.TSQL: {"t": "dbo.", "exito": sql_list(SUCCESS_STATES)},
    sentencias.SQLITE: {"t": "", "exito": sql_list(SUCCESS_STATES)},
}

for _nombre, _plantilla in (("muestras", _MUESTRAS), ("completadas", _COMPLETADAS)):
    sentencias.registrar(
        f"pronostico.{_nombre}",
        tsql=_plantilla.format(**_DIALECTO[sentencias.TSQL]),
        sqlite=_plantilla.format(**_DIALECTO[sentencias.SQLITE]),
    )


def _lotes(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), LOTE):
        yield ids[i:i + LOTE]


def _int(v: Any) -> int:
    return int(v) if v is not None else 0


def leer_ventana(db: Any, robot_ids: Iterable[int], ahora: datetime, ventana: timedelta = VENTANA
                 ) -> tuple[dict[int, list[dict]], dict[int, dict[int, int]]]:
    """Per robot, its ``HistoricoBalanceo`` rows of the window (by time) and its successful
    completions per equipo (EquipoId 0: none recorded)."""
    ids = sorted({int(r) for r in robot_ids})
    desde = ahora - ventana
    historico: dict[int, list[dict]] = {}
    completadas: dict[int, dict[int, int]] = {}
    for lote in _lotes(ids):
        for f in db.query(sentencias.sql(db, "pronostico.muestras", marcas=len(lote)), (*lote, desde, ahora)):
            historico.setdefault(int(f["RobotId"]), []).append(f)
        for f in db.query(sentencias.sql(db, "pronostico.completadas", marcas=len(lote)), (*lote, desde, ahora)):
            por_equipo = completadas.setdefault(int(f["RobotId"]), {})
            por_equipo[_int(f["EquipoId"])] = por_equipo.get(_int(f["EquipoId"]), 0) + _int(f["Completadas"])
    return historico, completadas


def historia(robot: RobotBalanceo, tickets: int, equipos: int, filas: Iterable[Mapping[str, Any]],
             completadas: Mapping[int, int]) -> HistoriaRobot:
    """One robot's forecast input from its rows of :func:`leer_ventana`."""
    filas = list(filas)
    return HistoriaRobot(
        robot_id=robot.robot_id, tickets=int(tickets), equipos=int(equipos), max_equipos=robot.max_equipos,
        muestras=tuple(Muestra(f["FechaBalanceo"], int(f["TicketsPendientes"]))
                       for f in filas if f["TicketsPendientes"] is not None),
        cambios=tuple(CambioEquipos(f["FechaBalanceo"], _int(f["EquiposAsignadosAntes"]),
                                    _int(f["EquiposAsignadosDespues"])) for f in filas),
        completadas=dict(completadas),
    )


def pronosticos(db: Any, robots: Iterable[RobotBalanceo], tickets: Mapping[int, int],
                asignaciones: Iterable[Asignacion], ahora: datetime, ventana: timedelta = VENTANA
                ) -> list[Pronostico]:
    """The forecast of each robot given (B15): ``tickets`` of the current cycle, its equipos now
    (every assignment it has: they all run its executions)."""
    robots = list(robots)
    equipos: dict[int, int] = {}
    for a in asignaciones:
        equipos[a.robot_id] = equipos.get(a.robot_id, 0) + 1
    historico, completadas = leer_ventana(db, (r.robot_id for r in robots), ahora, ventana)
    return [pronosticar(historia(r, int(tickets.get(r.robot_id, 0)), equipos.get(r.robot_id, 0),
                                 historico.get(r.robot_id, ()), completadas.get(r.robot_id, {})), ahora, ventana)
            for r in robots]
