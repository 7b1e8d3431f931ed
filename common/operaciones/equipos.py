"""Equipo settings (CONSOLE ``POST /equipos/<id>``, BEHAVIOUR §1): the operator-owned columns of
``Equipos`` — ``Activo_SAM``, ``PermiteBalanceoDinamico``, ``PoolId`` — never the A360-owned ones
(``Equipo``, ``UserId``, ``UserName``, ``Licencia``, ``EstadoA360``…) nor ``EstadoBalanceador``.

The write is :func:`common.operaciones.edicion.editar` (role ``operador``, version, audit) with
these rules:

- ``PermiteBalanceoDinamico`` cannot be turned on while the equipo serves a schedule (an
  ``EsProgramado = 1`` assignment of an active schedule: the balancer would never use it, and the
  setting would say otherwise); turning it off is always allowed;
- ``PoolId`` NULL (general pool) or an existing, active pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from common.database import sentencias
from common.operaciones import edicion
from common.operaciones.auditoria import Actor
from common.operaciones.edicion import BOOL, ENTERO_NULO, Resultado, TablaEditable

ENTIDAD = "Equipos"
ROLES_ESCRITURA = ("operador", "administrador")
CAMPOS = {"Activo_SAM": BOOL, "PermiteBalanceoDinamico": BOOL, "PoolId": ENTERO_NULO}
_COLS = ("EquipoId, Equipo, UserId, UserName, Licencia, EstadoA360, UsuarioActivoA360, EstadoBalanceador, "
         "FechaSincronizacion, " + ", ".join(CAMPOS) + ", FechaActualizacion")
_COLS_E = "e." + _COLS.replace(", ", ", e.")

# ruff: noqa: S608 - the statements below are built from constants only (no input is ever formatted in)
sentencias.registrar(
    "equipos_op.leer",
    tsql=f"SELECT {_COLS} FROM dbo.Equipos WITH (UPDLOCK, HOLDLOCK) WHERE EquipoId = ?",
    sqlite=f"SELECT {_COLS} FROM Equipos WHERE EquipoId = ?",
)
sentencias.registrar(
    "equipos_op.actualizar",
    tsql="UPDATE dbo.Equipos SET Activo_SAM = ?, PermiteBalanceoDinamico = ?, PoolId = ?, FechaActualizacion = ? "
         "WHERE EquipoId = ?",
    sqlite="UPDATE Equipos SET Activo_SAM = ?, PermiteBalanceoDinamico = ?, PoolId = ?, FechaActualizacion = ? "
           "WHERE EquipoId = ?",
)
# The active schedules the equipo serves: the assignment's own, or all the robot's when NULL.
_SIRVE = ("SELECT DISTINCT p.ProgramacionId, r.Robot FROM {t}Asignaciones AS a{b} "
          "INNER JOIN {t}Programaciones AS p{b} "
          "ON p.ProgramacionId = a.ProgramacionId OR (a.ProgramacionId IS NULL AND p.RobotId = a.RobotId) "
          "INNER JOIN {t}Robots AS r ON r.RobotId = p.RobotId "
          "WHERE a.EquipoId = ? AND a.EsProgramado = 1 AND p.Activo = 1 ORDER BY p.ProgramacionId")
sentencias.registrar(
    "equipos_op.programaciones",
    tsql=_SIRVE.format(t="dbo.", b=" WITH (UPDLOCK, HOLDLOCK)"),
    sqlite=_SIRVE.format(t="", b=""),
)
sentencias.registrar(
    "equipos_op.pool",
    tsql="SELECT PoolId, Nombre, Activo FROM dbo.Pools WITH (UPDLOCK, HOLDLOCK) WHERE PoolId = ?",
    sqlite="SELECT PoolId, Nombre, Activo FROM Pools WHERE PoolId = ?",
)
sentencias.registrar(
    "equipos_op.listar",
    tsql=(f"SELECT {_COLS_E}, p.Nombre AS Pool FROM dbo.Equipos AS e "
          "LEFT JOIN dbo.Pools AS p ON p.PoolId = e.PoolId ORDER BY e.EquipoId"),
    sqlite=(f"SELECT {_COLS_E}, p.Nombre AS Pool FROM Equipos AS e "
            "LEFT JOIN Pools AS p ON p.PoolId = e.PoolId ORDER BY e.EquipoId"),
)

TABLA = TablaEditable(
    entidad=ENTIDAD, singular="el equipo", clave="EquipoId", campos=CAMPOS, leer="equipos_op.leer",
    actualizar="equipos_op.actualizar", roles=ROLES_ESCRITURA, etiqueta=lambda f: str(f.get("Equipo") or ""),
)


def problemas(nueva: Mapping[str, Any], cambiadas: set[str], *, programaciones: list[dict[str, Any]],
              pool: Mapping[str, Any] | None) -> list[str]:
    """The equipo rules on the row as it would be after the write (pure)."""
    out: list[str] = []
    if "PermiteBalanceoDinamico" in cambiadas and nueva["PermiteBalanceoDinamico"] and programaciones:
        sirve = ", ".join(f"{p['ProgramacionId']} (robot {p['Robot']})" for p in programaciones)
        out.append(f"no se puede permitir el balanceo dinámico mientras el equipo sirva programaciones activas: "
                   f"{sirve}; quite antes el equipo de esas programaciones o desactívelas")
    if "PoolId" in cambiadas and nueva["PoolId"] is not None:
        if pool is None:
            out.append(f"el pool {nueva['PoolId']} no existe")
        elif not pool["Activo"]:
            out.append(f"el pool {pool['Nombre']} (id {pool['PoolId']}) está inactivo")
    return out


def _reglas(tx: Any, actual: Mapping[str, Any], nueva: dict[str, Any], cambiadas: set[str]) -> list[str]:
    programaciones: list[dict[str, Any]] = []
    if "PermiteBalanceoDinamico" in cambiadas and nueva["PermiteBalanceoDinamico"]:
        programaciones = tx.query(sentencias.sql(tx, "equipos_op.programaciones"), (actual["EquipoId"],))
    pool = None
    if "PoolId" in cambiadas and nueva["PoolId"] is not None:
        pool = tx.query_one(sentencias.sql(tx, "equipos_op.pool"), (nueva["PoolId"],))
    return problemas(nueva, cambiadas, programaciones=programaciones, pool=pool)


def cambiar(db: Any, actor: Actor, equipo_id: int, cambios: Mapping[str, Any], *, ahora: datetime,
            version: datetime | None) -> Resultado:
    """Change operator-owned columns of an equipo; see :func:`common.operaciones.robots.cambiar`."""
    return edicion.editar(db, actor, TABLA, equipo_id, cambios, ahora=ahora, version=version, reglas=_reglas)


def listar(db: Any) -> list[dict[str, Any]]:
    return db.query(sentencias.sql(db, "equipos_op.listar"))
