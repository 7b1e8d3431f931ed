"""Manual (reserved) assignments (CONSOLE ``POST /asignaciones``, BEHAVIOUR §1 and B9): an operator
reserves equipos for a robot or frees them; rows ``Reservado = 1, AsignadoPor = 'Manual',
EsProgramado = 0`` (the balancer never takes a reserved equipo and never touches these rows).

Each call is one transaction for all its equipos (any refusal refuses the whole call; nothing is
written but the ``rechazado`` audit row), role ``operador``:

:func:`reservar`, per equipo:
- a row of the balancer on the equipo (``AsignadoPor = 'Balanceador'``, this robot or another) is
  refused naming its robot: SAM never edits the balancer's rows; the operator turns the equipo's
  ``PermiteBalanceoDinamico`` off (the balancer releases it in its next cycle, B9) and reserves then;
- the robot's scheduled row (``EsProgramado = 1``) is refused: schedules own it;
- the robot's own manual row not yet reserved (e.g. from ``dbo.AsignarRobotOnline``) becomes reserved;
- an existing reservation is left as it is (a repeated request applies once: :data:`YA_APLICADO`);
- otherwise a new row. Other robots' manual or scheduled rows on the equipo do not prevent it.

:func:`liberar` deletes the robot's manual rows on the equipos; a balancer or scheduled row is
refused; a pair with no row is already free (:data:`YA_APLICADO` when nothing was to do).
"""

from __future__ import annotations

from collections.abc import Iterable
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
    marca,
)
from common.operaciones.programaciones import NoEncontrada

ENTIDAD = "Asignaciones"
ROLES_ESCRITURA = ("operador", "administrador")
BALANCEADOR, MANUAL = "Balanceador", "Manual"

# ruff: noqa: S608 - the statements below are built from constants only (no input is ever formatted in)
_B = " WITH (UPDLOCK, HOLDLOCK)"


def _dos(nombre: str, plantilla: str) -> None:
    sentencias.registrar(nombre, tsql=plantilla.format(t="dbo.", b=_B, marcas="{marcas}"),
                         sqlite=plantilla.format(t="", b="", marcas="{marcas}"))


_dos("asignaciones_op.robot", "SELECT RobotId, Robot FROM {t}Robots{b} WHERE RobotId = ?")
_dos("asignaciones_op.equipos", "SELECT EquipoId, Equipo FROM {t}Equipos{b} WHERE EquipoId IN ({marcas})")
_dos("asignaciones_op.en_equipos",
     "SELECT a.RobotId, a.EquipoId, a.EsProgramado, a.Reservado, a.AsignadoPor, a.ProgramacionId, r.Robot "
     "FROM {t}Asignaciones AS a{b} INNER JOIN {t}Robots AS r ON r.RobotId = a.RobotId "
     "WHERE a.EquipoId IN ({marcas})")
_dos("asignaciones_op.insertar",
     "INSERT INTO {t}Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, AsignadoPor, "
     "ProgramacionId) VALUES (?, ?, 0, 1, ?, 'Manual', NULL)")
_dos("asignaciones_op.reservar",
     "UPDATE {t}Asignaciones SET Reservado = 1, FechaAsignacion = ? "
     "WHERE RobotId = ? AND EquipoId = ? AND EsProgramado = 0 AND AsignadoPor <> 'Balanceador'")
_dos("asignaciones_op.borrar",
     "DELETE FROM {t}Asignaciones "
     "WHERE RobotId = ? AND EquipoId = ? AND EsProgramado = 0 AND AsignadoPor <> 'Balanceador'")
_dos("asignaciones_op.listar",
     "SELECT a.RobotId, r.Robot, a.EquipoId, e.Equipo, a.EsProgramado, a.Reservado, a.AsignadoPor, "
     "a.ProgramacionId, a.FechaAsignacion FROM {t}Asignaciones AS a "
     "INNER JOIN {t}Robots AS r ON r.RobotId = a.RobotId INNER JOIN {t}Equipos AS e ON e.EquipoId = a.EquipoId "
     "ORDER BY a.RobotId, a.EquipoId")


def _fila(a: dict[str, Any]) -> dict[str, Any]:
    return {"RobotId": a["RobotId"], "EquipoId": a["EquipoId"], "EsProgramado": bool(a["EsProgramado"]),
            "Reservado": bool(a["Reservado"]), "AsignadoPor": a["AsignadoPor"]}


def decidir_reserva(robot_id: int, equipo: str, filas: list[dict[str, Any]]) -> tuple[str, str | None]:
    """What reserving ``equipo`` for ``robot_id`` does given every row on that equipo (pure):
    ``("insertar"|"reservar"|"nada", None)`` or ``("rechazar", reason)``."""
    for f in filas:
        if f["AsignadoPor"] == BALANCEADOR and not f["EsProgramado"] and not f["Reservado"]:
            return "rechazar", (f"el equipo {equipo} lo tiene asignado el Balanceador para el robot {f['Robot']} "
                                f"(id {f['RobotId']}); SAM no modifica las filas del Balanceador: ponga "
                                "PermiteBalanceoDinamico = no en el equipo, espere a que el Balanceador lo libere "
                                "y reserve entonces")
    propia = next((f for f in filas if f["RobotId"] == robot_id), None)
    if propia is None:
        return "insertar", None
    if propia["EsProgramado"]:
        return "rechazar", (f"el equipo {equipo} ya sirve una programación de este robot (asignación "
                            "programada); gestiónela desde sus programaciones")
    return ("nada", None) if propia["Reservado"] else ("reservar", None)


def decidir_liberacion(robot_id: int, equipo: str, filas: list[dict[str, Any]]) -> tuple[str, str | None]:
    """What freeing ``equipo`` from ``robot_id`` does (pure): ``borrar``, ``nada`` or ``rechazar``."""
    propia = next((f for f in filas if f["RobotId"] == robot_id), None)
    if propia is None:
        return "nada", None
    if propia["EsProgramado"]:
        return "rechazar", (f"la asignación del equipo {equipo} es de una programación; quítela desde la "
                            "programación")
    if propia["AsignadoPor"] == BALANCEADOR:
        return "rechazar", (f"la asignación del equipo {equipo} es del Balanceador; la libera él cuando ya no "
                            "hace falta (SAM no modifica sus filas)")
    return "borrar", None


def _leer(tx: Any, robot_id: int, ids: list[int]) -> tuple[Any, dict[int, str], dict[int, list[dict]], list[str]]:
    robot = tx.query_one(sentencias.sql(tx, "asignaciones_op.robot"), (robot_id,))
    equipos = {f["EquipoId"]: f["Equipo"]
               for f in tx.query(sentencias.sql(tx, "asignaciones_op.equipos", marcas=len(ids)), ids)}
    filas: dict[int, list[dict]] = {e: [] for e in ids}
    for f in tx.query(sentencias.sql(tx, "asignaciones_op.en_equipos", marcas=len(ids)), ids):
        filas[f["EquipoId"]].append(f)
    faltan = [str(e) for e in ids if e not in equipos]
    problemas = [f"equipos que no existen: {', '.join(faltan)}"] if faltan else []
    return robot, equipos, filas, problemas


def _operar(db: Any, actor: Actor, robot_id: int, equipos: Iterable[int], *, ahora: datetime, accion: str,
            decidir: Any, aplicar: dict[str, str], id_formulario: str | None = None) -> Resultado:
    ids = sorted({int(e) for e in equipos})
    intento = Intento(actor, ENTIDAD, accion, ahora, entidad_id=robot_id, despues={"Equipos": ids},
                      id_formulario=id_formulario)

    def trabajo(tx: Any) -> Any:
        if not ids:
            return CambioNoValido(["indique al menos un equipo"])
        robot, nombres, filas, problemas = _leer(tx, robot_id, ids)
        if robot is None:
            return NoEncontrada(f"El robot {robot_id} no existe.")
        if problemas:
            return CambioNoValido(problemas)
        decisiones = {e: decidir(robot_id, nombres[e], filas[e]) for e in ids}
        motivos = [m for _, m in decisiones.values() if m]
        intento.antes = [_fila(f) for e in ids for f in filas[e] if f["RobotId"] == robot_id] or None
        if motivos:
            return CambioNoValido(motivos)
        hechos = [e for e, (que, _) in decisiones.items() if que in aplicar]
        for e in hechos:
            que = decisiones[e][0]
            args = (robot_id, e, marca(ahora)) if que == "insertar" else (
                (marca(ahora), robot_id, e) if que == "reservar" else (robot_id, e))
            sentencias.ejecutar(tx, aplicar[que], args)
        sin_cambio = [nombres[e] for e in ids if e not in hechos]
        if not hechos:
            return Resultado(YA_APLICADO, f"Ya aplicado: nada que cambiar para el robot {robot['Robot']} en "
                             f"{', '.join(sin_cambio)}.", extra={"equipos": []})
        intento.despues = {"Equipos": hechos, "Acciones": {str(e): decisiones[e][0] for e in hechos}}
        intento.auditar(tx, auditoria.OK)
        verbo = "reservados" if accion == "reservar" else "liberados"
        extra = f" (sin cambios: {', '.join(sin_cambio)})" if sin_cambio else ""
        return Resultado(APLICADO, f"Equipos {verbo} para el robot {robot['Robot']}: "
                         f"{', '.join(nombres[e] for e in hechos)}{extra}.", extra={"equipos": hechos})

    return como_resultado(ejecutar(db, intento, ROLES_ESCRITURA, "cambiar asignaciones", trabajo), "robot_id")


def reservar(db: Any, actor: Actor, robot_id: int, equipos: Iterable[int], *, ahora: datetime,
             id_formulario: str | None = None) -> Resultado:
    """Reserve ``equipos`` (EquipoId) for the robot; see the module docstring. ``id_formulario``:
    the console form's one-time token (a form sent twice applies once)."""
    return _operar(db, actor, robot_id, equipos, ahora=ahora, accion="reservar", decidir=decidir_reserva,
                   aplicar={"insertar": "asignaciones_op.insertar", "reservar": "asignaciones_op.reservar"},
                   id_formulario=id_formulario)


def liberar(db: Any, actor: Actor, robot_id: int, equipos: Iterable[int], *, ahora: datetime) -> Resultado:
    """Free the robot's manual assignments on ``equipos``; see the module docstring."""
    return _operar(db, actor, robot_id, equipos, ahora=ahora, accion="liberar", decidir=decidir_liberacion,
                   aplicar={"borrar": "asignaciones_op.borrar"})


def listar(db: Any) -> list[dict[str, Any]]:
    return db.query(sentencias.sql(db, "asignaciones_op.listar"))
