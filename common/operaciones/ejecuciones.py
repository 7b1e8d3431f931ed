"""Operator actions on executions (CONSOLE §3 ``POST /ejecuciones/<id>/destrabar``, rule L8.1).

:func:`destrabar` closes an execution SAM still counts as running (its equipo busy) although it is
known to be stuck: the row becomes ``RUN_ABORTED`` (:data:`common.execution_states.DESTRABAR`) with
``FechaFin`` = now and the operator's reason in ``MensajeError`` ("Destrabada por <usuario>:
<motivo>"). One transaction: the row is read (under ``UPDLOCK, HOLDLOCK`` on SQL Server; SQLite
serialises writers), the conditional close (only a row still open: ``FechaFin`` NULL and not
terminal, so a callback committed meanwhile wins) and the ``Auditoria`` row. A refused attempt
(role, no reason, unknown id, a terminal or already closed
row) writes only its audit row and raises :class:`OperacionRechazada`.

A ``LANZANDO`` row younger than ``LANZADOR_LANZANDO_TIMEOUT_SEG`` is refused unless ``forzar``
(audited ``forzado``): its deploy call may still be in flight, so the equipo may really be running
a bot and freeing it could start a second one there; after that time the Lanzador itself resolves it.

The close is final: ``RUN_ABORTED`` is terminal, ``FalloSinConfirmar`` is cleared, so neither a
late callback (recorded in ``CallbacksRecibidos``, ignored), the Conciliador's batches (guarded by
``Estado NOT IN (<terminal>)``), the adoption of a deployment for the intent (the revival of
:data:`common.execution_states.REVIVIR` needs ``DEPLOY_FAILED`` + ``FalloSinConfirmar = 1``) nor the
late adoption of L5.7 (reads only such rows) reopens it. The equipo is free for the next cycle:
``FechaFin`` set means not busy (:mod:`common.database.ocupacion`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from common.database import sentencias
from common.database.ocupacion import abierta
from common.execution_states import DESTRABAR, LANZANDO, TRANSICIONES, clase, is_terminal
from common.operaciones import auditoria
from common.operaciones.auditoria import Actor
from common.operaciones.programaciones import NoEncontrada, OperacionRechazada, PermisoDenegado

ENTIDAD = "Ejecuciones"
ROLES_ESCRITURA = ("operador", "administrador")
#: ``Ejecuciones.MensajeError`` is NVARCHAR(4000).
MAX_MENSAJE = 4000
MAX_MOTIVO = 1000
#: ``LANZADOR_LANZANDO_TIMEOUT_SEG``'s default (the callers pass the configured value).
LANZANDO_TIMEOUT_DEFECTO_SEG = 900

_COLS = "EjecucionId, DeploymentId, RobotId, EquipoId, Estado, FechaInicio, FechaFin, MensajeError"
# ruff: noqa: S608 - the statements below are built from constants only (no input is ever formatted in)
sentencias.registrar(
    "operaciones.ejecucion_leer",
    tsql=f"SELECT {_COLS} FROM dbo.Ejecuciones WITH (UPDLOCK, HOLDLOCK) WHERE EjecucionId = ?",
    sqlite=f"SELECT {_COLS} FROM Ejecuciones WHERE EjecucionId = ?",
)
sentencias.registrar(
    "operaciones.ejecucion_historico",
    tsql="SELECT EjecucionId, Estado FROM dbo.Ejecuciones_Historico WHERE EjecucionId = ?",
    sqlite="SELECT EjecucionId, Estado FROM Ejecuciones_Historico WHERE EjecucionId = ?",
)
_CERRAR = (
    "UPDATE {t}Ejecuciones SET Estado = '" + DESTRABAR + "', FechaFin = ?, FechaActualizacion = ?, "
    "MensajeError = {m}, FalloSinConfirmar = 0 WHERE EjecucionId = ? AND " + abierta()
)
sentencias.registrar(
    "operaciones.ejecucion_destrabar",
    tsql=_CERRAR.format(t="dbo.", m="CAST(? AS NVARCHAR(4000))"),
    sqlite=_CERRAR.format(t="", m="?"),
)


class EjecucionNoDestrabable(OperacionRechazada):
    """The row is terminal or already closed: there is nothing to free."""


def mensaje_destrabada(usuario: str, motivo: str) -> str:
    """``MensajeError`` of a destrabada row (cut to the column's size)."""
    return f"Destrabada por {usuario}: {motivo}"[:MAX_MENSAJE]


def motivo_de_rechazo(fila: dict | None, ejecucion_id: int, en_historico: bool) -> OperacionRechazada | None:
    """Why this row cannot be destrabada (None: it can). Pure."""
    if fila is None:
        if en_historico:
            return EjecucionNoDestrabable(
                f"La ejecución {ejecucion_id} ya terminó y está en el histórico: no hay nada que destrabar.")
        return NoEncontrada(f"La ejecución {ejecucion_id} no existe.")
    estado = fila.get("Estado")
    if is_terminal(estado):
        return EjecucionNoDestrabable(
            f"La ejecución {ejecucion_id} ya terminó ({estado}): no hay nada que destrabar.")
    if fila.get("FechaFin") is not None:
        return EjecucionNoDestrabable(
            f"La ejecución {ejecucion_id} ya está cerrada (estado {estado}, fin {fila['FechaFin']}): "
            "su equipo ya no cuenta como ocupado.")
    if (clase(estado), clase(DESTRABAR)) not in TRANSICIONES:  # the one transition table decides
        return EjecucionNoDestrabable(f"La ejecución {ejecucion_id} (estado {estado}) no admite este cierre.")
    return None


class EjecucionLanzandose(OperacionRechazada):
    """The row is a launch that may still be in flight (refused unless forced)."""


def lanzando_en_curso(fila: dict, ejecucion_id: int, momento: datetime, timeout_seg: int) -> OperacionRechazada | None:
    """A refusal when the row is ``LANZANDO`` since less than ``timeout_seg`` (its deploy may be in
    flight); None otherwise. Pure."""
    inicio = fila.get("FechaInicio")
    if fila.get("Estado") != LANZANDO or inicio is None:
        return None
    edad = (momento - inicio.replace(tzinfo=None)).total_seconds()
    if edad >= timeout_seg:
        return None
    return EjecucionLanzandose(
        f"La ejecución {ejecucion_id} está LANZANDO desde hace {max(0, int(edad))} s, menos que "
        f"LANZADOR_LANZANDO_TIMEOUT_SEG ({timeout_seg} s): su despliegue puede seguir en curso y el equipo "
        "puede estar ejecutando el bot de verdad; destrabarla lo liberaría para otro lanzamiento. Espere a que "
        "el Lanzador la resuelva o, si sabe que no hay nada en marcha, fuerce el cierre (--forzar en la línea "
        "de órdenes, casilla «forzar» en la consola; queda auditado).")


def _vista(fila: dict) -> dict[str, Any]:
    return {k: fila.get(k) for k in ("Estado", "FechaFin", "RobotId", "EquipoId", "DeploymentId", "MensajeError")}


def destrabar(db: Any, actor: Actor, ejecucion_id: int, motivo: str, *, ahora: datetime, forzar: bool = False,
              lanzando_timeout_seg: int = LANZANDO_TIMEOUT_DEFECTO_SEG) -> dict:
    """Close the open execution ``ejecucion_id`` as ``RUN_ABORTED`` with the operator's reason
    (``forzar``: also a ``LANZANDO`` row younger than ``lanzando_timeout_seg``, audited ``forzado``).

    Returns the row as it is now (``EjecucionId``, ``Estado``, ``FechaFin``, ``EquipoId``,
    ``MensajeError``…). Raises :class:`OperacionRechazada` (audited) when refused."""
    momento = ahora.replace(tzinfo=None)  # SAM's clock (the caller's): never the OS zone's
    texto = " ".join((motivo or "").split())
    ejecucion_id = int(ejecucion_id)

    def unidad(tx: Any) -> Any:
        antes: dict | None = None

        def rechazar(rechazo: OperacionRechazada) -> OperacionRechazada:
            auditoria.registrar(tx, actor, accion="destrabar", entidad=ENTIDAD, entidad_id=ejecucion_id,
                                antes=antes, despues={"Motivo": rechazo.mensaje, "MotivoOperador": texto or None},
                                resultado=auditoria.RECHAZADO, ahora=momento)
            return rechazo

        if actor.rol not in ROLES_ESCRITURA:
            return rechazar(PermisoDenegado(
                f"El usuario {actor.usuario} (rol {actor.rol}) no puede destrabar ejecuciones: "
                "hace falta el rol operador o administrador."))
        if not texto:
            return rechazar(OperacionRechazada("Indique el motivo por el que se destraba la ejecución."))
        if len(texto) > MAX_MOTIVO:
            return rechazar(OperacionRechazada(f"El motivo admite como máximo {MAX_MOTIVO} caracteres."))
        fila = tx.query_one(sentencias.sql(tx, "operaciones.ejecucion_leer"), (ejecucion_id,))
        fila = None if fila is None else dict(fila)
        antes = None if fila is None else _vista(fila)
        historico = fila is None and tx.query_one(
            sentencias.sql(tx, "operaciones.ejecucion_historico"), (ejecucion_id,)) is not None
        rechazo = motivo_de_rechazo(fila, ejecucion_id, historico)
        en_curso = None if rechazo is not None else lanzando_en_curso(fila, ejecucion_id, momento,
                                                                      lanzando_timeout_seg)
        if rechazo is None and en_curso is not None and not forzar:
            rechazo = en_curso
        if rechazo is not None:
            return rechazar(rechazo)
        mensaje = mensaje_destrabada(actor.usuario, texto)
        if not sentencias.ejecutar(tx, "operaciones.ejecucion_destrabar", (momento, momento, mensaje, ejecucion_id)):
            return rechazar(EjecucionNoDestrabable(
                f"La ejecución {ejecucion_id} cambió mientras se destrababa; vuelva a consultarla."))
        despues = {**(antes or {}), "Estado": DESTRABAR, "FechaFin": momento, "MensajeError": mensaje}
        auditoria.registrar(tx, actor, accion="destrabar", entidad=ENTIDAD, entidad_id=ejecucion_id, antes=antes,
                            despues=despues, resultado=auditoria.FORZADO if en_curso else auditoria.OK,
                            ahora=momento)
        return {"EjecucionId": ejecucion_id, **despues}

    resultado = db.run_in_transaction(unidad)
    if isinstance(resultado, OperacionRechazada):
        raise resultado
    return resultado
