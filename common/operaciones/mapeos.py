"""Name mappings (CONSOLE ``/mapeos``, BEHAVIOUR §12 B14): ``MapeoRobots`` rows that map the name a
ticket source reports (``Proveedor`` = ``rpa360`` or ``clouders``) to a SAM robot. Role
``administrador``; one transaction each with its audit row; the Balanceador reads them every cycle.

- :func:`crear`: ``Proveedor`` one of :data:`PROVEEDORES` (stored lower-case), ``NombreExterno``
  required (trimmed, at most 200 characters), the robot exists. The same (``Proveedor``,
  ``NombreExterno``), compared without regard to case like the unique index, already mapped to the
  same robot is :data:`YA_APLICADO`; mapped to another robot it is refused naming that mapping
  (delete it first: a name maps to one robot);
- :func:`eliminar`: deleting a mapping that no longer exists is :data:`YA_APLICADO`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from common.database import sentencias
from common.operaciones import auditoria
from common.operaciones.auditoria import Actor
from common.operaciones.edicion import (
    APLICADO,
    YA_APLICADO,
    CambioNoValido,
    Intento,
    Resultado,
    como_resultado,
    ejecutar,
)

ENTIDAD = "MapeoRobots"
ROLES_ESCRITURA = ("administrador",)
PROVEEDORES = ("rpa360", "clouders")
LARGO_NOMBRE = 200

# ruff: noqa: S608 - the statements below are built from constants only (no input is ever formatted in)
_B = " WITH (UPDLOCK, HOLDLOCK)"
_SEL = "SELECT m.MapeoId, m.Proveedor, m.NombreExterno, m.RobotId, r.Robot FROM {t}MapeoRobots AS m{b} " \
       "LEFT JOIN {t}Robots AS r ON r.RobotId = m.RobotId "


def _dos(nombre: str, plantilla: str, **solo: tuple[str, str]) -> None:
    sentencias.registrar(nombre, tsql=plantilla.format(t="dbo.", b=_B, **{k: v[0] for k, v in solo.items()}),
                         sqlite=plantilla.format(t="", b="", **{k: v[1] for k, v in solo.items()}))


_dos("mapeos_op.por_nombre", _SEL + "WHERE m.Proveedor = ? AND m.NombreExterno = ?")
_dos("mapeos_op.leer", _SEL + "WHERE m.MapeoId = ?")
_dos("mapeos_op.robot", "SELECT RobotId, Robot FROM {t}Robots{b} WHERE RobotId = ?")
_dos("mapeos_op.insertar",
     "INSERT INTO {t}MapeoRobots (Proveedor, NombreExterno, RobotId) {salida}VALUES (?, ?, ?){retorno}",
     salida=("OUTPUT INSERTED.MapeoId ", ""), retorno=("", " RETURNING MapeoId"))
_dos("mapeos_op.borrar", "DELETE FROM {t}MapeoRobots WHERE MapeoId = ?")
sentencias.registrar("mapeos_op.listar", tsql=_SEL.format(t="dbo.", b="") + "ORDER BY m.Proveedor, m.NombreExterno",
                     sqlite=_SEL.format(t="", b="") + "ORDER BY m.Proveedor, m.NombreExterno")


def problemas(proveedor: str, nombre: str) -> list[str]:
    """The input rules (pure)."""
    out = []
    if proveedor not in PROVEEDORES:
        out.append(f"Proveedor debe ser {' o '.join(PROVEEDORES)}, no {proveedor!r}")
    if not nombre:
        out.append("NombreExterno es obligatorio")
    elif len(nombre) > LARGO_NOMBRE:
        out.append(f"NombreExterno tiene más de {LARGO_NOMBRE} caracteres")
    return out


def crear(db: Any, actor: Actor, proveedor: str, nombre_externo: str, robot_id: int, *, ahora: datetime,
          id_formulario: str | None = None) -> Resultado:
    """Map ``nombre_externo`` of ``proveedor`` to the robot; ``extra["mapeo_id"]`` is its id."""
    prov, nombre = (proveedor or "").strip().lower(), (nombre_externo or "").strip()
    intento = Intento(actor, ENTIDAD, "crear", ahora,
                      despues={"Proveedor": prov, "NombreExterno": nombre, "RobotId": robot_id},
                      id_formulario=id_formulario)

    def trabajo(tx: Any) -> Any:
        errores = problemas(prov, nombre)
        robot = tx.query_one(sentencias.sql(tx, "mapeos_op.robot"), (robot_id,))
        if robot is None:
            errores.append(f"el robot {robot_id} no existe")
        if errores:
            return CambioNoValido(errores)
        existente = tx.query_one(sentencias.sql(tx, "mapeos_op.por_nombre"), (prov, nombre))
        if existente is not None and existente["RobotId"] == robot_id:
            return Resultado(YA_APLICADO, f"Ya aplicado: {prov} «{nombre}» ya apunta al robot {robot['Robot']} "
                             f"(mapeo {existente['MapeoId']}).", extra={"mapeo_id": existente["MapeoId"]})
        if existente is not None:
            return CambioNoValido([f"{prov} «{existente['NombreExterno']}» ya apunta al robot {existente['Robot']} "
                                   f"(id {existente['RobotId']}, mapeo {existente['MapeoId']}); elimine antes ese mapeo"])
        fila = tx.query_one(sentencias.sql(tx, "mapeos_op.insertar"), (prov, nombre, robot_id))
        intento.entidad_id = int(next(iter(fila.values())))
        intento.auditar(tx, auditoria.OK)
        return Resultado(APLICADO, f"Mapeo {intento.entidad_id} creado: {prov} «{nombre}» -> robot {robot['Robot']}.",
                         extra={"mapeo_id": intento.entidad_id})

    return como_resultado(ejecutar(db, intento, ROLES_ESCRITURA, "gestionar mapeos de robots", trabajo), "mapeo_id")


def eliminar(db: Any, actor: Actor, mapeo_id: int, *, ahora: datetime) -> Resultado:
    intento = Intento(actor, ENTIDAD, "eliminar", ahora, entidad_id=mapeo_id)

    def trabajo(tx: Any) -> Any:
        actual = tx.query_one(sentencias.sql(tx, "mapeos_op.leer"), (mapeo_id,))
        if actual is None:
            return Resultado(YA_APLICADO, f"Ya aplicado: el mapeo {mapeo_id} no existe.")
        intento.antes = {k: actual[k] for k in ("Proveedor", "NombreExterno", "RobotId")}
        sentencias.ejecutar(tx, "mapeos_op.borrar", (mapeo_id,))
        intento.auditar(tx, auditoria.OK)
        return Resultado(APLICADO, f"Mapeo {mapeo_id} eliminado ({actual['Proveedor']} «{actual['NombreExterno']}»).")

    return ejecutar(db, intento, ROLES_ESCRITURA, "gestionar mapeos de robots", trabajo)


def listar(db: Any) -> list[dict[str, Any]]:
    return db.query(sentencias.sql(db, "mapeos_op.listar"))
