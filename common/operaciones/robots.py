"""Robot settings (CONSOLE ``POST /robots/<id>``, BEHAVIOUR §1): the operator-owned columns of
``Robots`` — ``Activo``, ``EsOnline``, ``MinEquipos``, ``MaxEquipos``, ``PrioridadBalanceo``,
``TicketsPorEquipoAdicional``, ``Parametros``, ``PoolId`` — never the A360-owned ones (``Robot``,
``Descripcion``, ``ExisteEnA360``, ``FechaSincronizacion``, which the sync writes).

The write itself (role ``operador``, version check, audit) is :func:`common.operaciones.edicion.editar`;
this module adds the robot's rules (:func:`problemas`, pure, plus what it reads from the DB):

- ``EsOnline`` cannot be turned on while the robot has an active schedule (a robot is launched
  either by its schedules or online, not both); turning it off is always allowed;
- ``MinEquipos`` >= 0; ``MaxEquipos`` >= 1 or -1 (no limit); ``MinEquipos <= MaxEquipos`` unless -1;
- ``PrioridadBalanceo`` >= 0 (lower = higher priority); ``TicketsPorEquipoAdicional`` NULL or >= 1;
- ``Parametros`` must type as A360 bot input (:mod:`common.parametros_bot`, the deploy's own rule);
- ``PoolId`` NULL (general pool) or an existing, active pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from common import parametros_bot
from common.database import sentencias
from common.operaciones import edicion
from common.operaciones.auditoria import Actor
from common.operaciones.edicion import BOOL, ENTERO, ENTERO_NULO, TEXTO_NULO, Resultado, TablaEditable

ENTIDAD = "Robots"
ROLES_ESCRITURA = ("operador", "administrador")
CAMPOS = {
    "Activo": BOOL, "EsOnline": BOOL, "MinEquipos": ENTERO, "MaxEquipos": ENTERO, "PrioridadBalanceo": ENTERO,
    "TicketsPorEquipoAdicional": ENTERO_NULO, "Parametros": TEXTO_NULO, "PoolId": ENTERO_NULO,
}  # fmt: skip
_COLS = "RobotId, Robot, Descripcion, ExisteEnA360, FechaSincronizacion, " + ", ".join(CAMPOS) + ", FechaActualizacion"

# ruff: noqa: S608 - the statements below are built from constants only (no input is ever formatted in)
sentencias.registrar(
    "robots_op.leer",
    tsql=f"SELECT {_COLS} FROM dbo.Robots WITH (UPDLOCK, HOLDLOCK) WHERE RobotId = ?",
    sqlite=f"SELECT {_COLS} FROM Robots WHERE RobotId = ?",
)
sentencias.registrar(
    "robots_op.actualizar",
    tsql=("UPDATE dbo.Robots SET Activo = ?, EsOnline = ?, MinEquipos = ?, MaxEquipos = ?, PrioridadBalanceo = ?, "
          "TicketsPorEquipoAdicional = ?, Parametros = CAST(? AS NVARCHAR(MAX)), PoolId = ?, FechaActualizacion = ? "
          "WHERE RobotId = ?"),
    sqlite=("UPDATE Robots SET Activo = ?, EsOnline = ?, MinEquipos = ?, MaxEquipos = ?, PrioridadBalanceo = ?, "
            "TicketsPorEquipoAdicional = ?, Parametros = ?, PoolId = ?, FechaActualizacion = ? WHERE RobotId = ?"),
)
sentencias.registrar(
    "robots_op.programaciones_activas",
    tsql=("SELECT ProgramacionId, TipoProgramacion FROM dbo.Programaciones WITH (UPDLOCK, HOLDLOCK) "
          "WHERE RobotId = ? AND Activo = 1 ORDER BY ProgramacionId"),
    sqlite="SELECT ProgramacionId, TipoProgramacion FROM Programaciones WHERE RobotId = ? AND Activo = 1 "
           "ORDER BY ProgramacionId",
)
sentencias.registrar(
    "robots_op.pool",
    tsql="SELECT PoolId, Nombre, Activo FROM dbo.Pools WITH (UPDLOCK, HOLDLOCK) WHERE PoolId = ?",
    sqlite="SELECT PoolId, Nombre, Activo FROM Pools WHERE PoolId = ?",
)
sentencias.registrar(
    "robots_op.listar",
    tsql=(f"SELECT r.{_COLS.replace(', ', ', r.')}, p.Nombre AS Pool FROM dbo.Robots AS r "
          "LEFT JOIN dbo.Pools AS p ON p.PoolId = r.PoolId ORDER BY r.RobotId"),
    sqlite=(f"SELECT r.{_COLS.replace(', ', ', r.')}, p.Nombre AS Pool FROM Robots AS r "
            "LEFT JOIN Pools AS p ON p.PoolId = r.PoolId ORDER BY r.RobotId"),
)
sentencias.registrar(
    "robots_op.mostrar",
    tsql=(f"SELECT r.{_COLS.replace(', ', ', r.')}, p.Nombre AS Pool FROM dbo.Robots AS r "
          "LEFT JOIN dbo.Pools AS p ON p.PoolId = r.PoolId WHERE r.RobotId = ?"),
    sqlite=(f"SELECT r.{_COLS.replace(', ', ', r.')}, p.Nombre AS Pool FROM Robots AS r "
            "LEFT JOIN Pools AS p ON p.PoolId = r.PoolId WHERE r.RobotId = ?"),
)

TABLA = TablaEditable(
    entidad=ENTIDAD, singular="el robot", clave="RobotId", campos=CAMPOS, leer="robots_op.leer",
    actualizar="robots_op.actualizar", roles=ROLES_ESCRITURA, etiqueta=lambda f: str(f.get("Robot") or ""),
)


def problemas(nueva: Mapping[str, Any], cambiadas: set[str], *, programaciones_activas: list[int],
              pool: Mapping[str, Any] | None) -> list[str]:
    """The robot rules on the row as it would be after the write (pure). ``pool``: the row of the
    new ``PoolId`` when it changed (None when it does not exist)."""
    out: list[str] = []
    minimo, maximo = nueva["MinEquipos"], nueva["MaxEquipos"]
    if minimo < 0:
        out.append("MinEquipos no puede ser negativo")
    if maximo != -1 and maximo < 1:
        out.append("MaxEquipos debe ser -1 (sin límite) o al menos 1")
    if maximo != -1 and minimo > maximo:
        out.append(f"MinEquipos ({minimo}) no puede ser mayor que MaxEquipos ({maximo}); use -1 para no poner límite")
    if nueva["PrioridadBalanceo"] < 0:
        out.append("PrioridadBalanceo no puede ser negativa (un número menor es más prioridad)")
    ratio = nueva["TicketsPorEquipoAdicional"]
    if ratio is not None and ratio < 1:
        out.append("TicketsPorEquipoAdicional debe estar vacío (valor por defecto) o ser al menos 1")
    if "EsOnline" in cambiadas and nueva["EsOnline"] and programaciones_activas:
        ids = ", ".join(str(p) for p in programaciones_activas)
        out.append(f"no se puede poner EsOnline = sí mientras el robot tenga programaciones activas ({ids}); "
                   "desactívelas antes")
    if "Parametros" in cambiadas:
        motivo = parametros_bot.problema(nueva["Parametros"])
        if motivo:
            out.append(motivo)
    if "PoolId" in cambiadas and nueva["PoolId"] is not None:
        if pool is None:
            out.append(f"el pool {nueva['PoolId']} no existe")
        elif not pool["Activo"]:
            out.append(f"el pool {pool['Nombre']} (id {pool['PoolId']}) está inactivo")
    return out


def _reglas(tx: Any, actual: Mapping[str, Any], nueva: dict[str, Any], cambiadas: set[str]) -> list[str]:
    activas: list[int] = []
    if "EsOnline" in cambiadas and nueva["EsOnline"]:
        filas = tx.query(sentencias.sql(tx, "robots_op.programaciones_activas"), (actual["RobotId"],))
        activas = [f["ProgramacionId"] for f in filas]
    pool = None
    if "PoolId" in cambiadas and nueva["PoolId"] is not None:
        pool = tx.query_one(sentencias.sql(tx, "robots_op.pool"), (nueva["PoolId"],))
    return problemas(nueva, cambiadas, programaciones_activas=activas, pool=pool)


def cambiar(db: Any, actor: Actor, robot_id: int, cambios: Mapping[str, Any], *, ahora: datetime,
            version: datetime | None) -> Resultado:
    """Change operator-owned columns of a robot (``cambios``: column -> value or text).
    ``version``: the ``FechaActualizacion`` the caller read (None: no check). Raises
    :class:`~common.operaciones.programaciones.OperacionRechazada` (audited) when refused."""
    return edicion.editar(db, actor, TABLA, robot_id, cambios, ahora=ahora, version=version, reglas=_reglas)


def listar(db: Any) -> list[dict[str, Any]]:
    return db.query(sentencias.sql(db, "robots_op.listar"))


def mostrar(db: Any, robot_id: int) -> dict[str, Any] | None:
    return db.query_one(sentencias.sql(db, "robots_op.mostrar"), (robot_id,))
