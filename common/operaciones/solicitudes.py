"""Requests to the running services (CONSOLE §3 ``POST /solicitudes``, rule L8.2): table
``SolicitudesServicio``, its one home.

The operator's side, :func:`solicitar`: a row ``pendiente`` for ``lanzador`` / ``sincronizar``
("sincronizar ahora") or ``balanceador`` / ``balancear`` ("balancear ahora"), audited in the same
transaction; a request identical to one still waiting (pending and not yet claimed) is not written
twice: the waiting one is returned. :func:`leer`, :func:`listar` and :func:`esperar` read them.

The services' side, :class:`ServidorSolicitudes`: a runner job of the service's leader
(``solo_lider=True``, every :data:`INTERVALO_SEG`) that claims its pending rows with one
conditional ``UPDATE`` (``READPAST`` on SQL Server, so two claimers never wait on or take the same
row; on SQLite the write lock serialises them), runs the task and writes ``Estado`` (``atendida`` /
``fallida``), ``Resultado`` (a Spanish summary, or the error) and ``AtendidaEn``. A claim left by a
process that died meanwhile expires after :data:`RECLAMO_CADUCA` and the next leader serves it.
With HA on the claim is fenced (H3) like the Lanzador's intent insert: the same ``UPDATE`` also
requires the ``Liderazgo`` row to still name this process, so a leader that lost the role without
knowing it yet claims nothing; with HA off (no fence) it claims as before.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from common.database import sentencias
from common.liderazgo import CONDICION_CERCO, Cerco
from common.operaciones import auditoria
from common.operaciones.auditoria import Actor
from common.operaciones.programaciones import OperacionRechazada, PermisoDenegado
from common.service_runner import CicloFallido
from common.utils.alertas import es_bd_no_accesible
from common.utils.redaccion import redactar

ENTIDAD = "SolicitudesServicio"
ROLES_ESCRITURA = ("operador", "administrador")
PENDIENTE, ATENDIDA, FALLIDA = "pendiente", "atendida", "fallida"
ESTADOS = (PENDIENTE, ATENDIDA, FALLIDA)
#: The task each service serves (Tipo -> Servicio).
SERVICIO_DE_TIPO: Mapping[str, str] = {"sincronizar": "lanzador", "balancear": "balanceador"}
#: The serving job's interval: a request waits at most about this long for the leader to see it.
INTERVALO_SEG = 1.0
#: A claim not finished after this long (its process died) may be claimed again.
RECLAMO_CADUCA = timedelta(minutes=30)
MAX_RESULTADO = 4000

_COLS = "SolicitudId, Servicio, Tipo, SolicitadoPor, Fecha, AtendidaEn, AtendidaPor, Resultado, Estado"
# ruff: noqa: S608 - the statements below are built from constants only (no input is ever formatted in)
sentencias.registrar(
    "solicitudes.pendiente_igual",
    tsql=(f"SELECT TOP (1) {_COLS} FROM dbo.SolicitudesServicio WITH (UPDLOCK, HOLDLOCK) "
          "WHERE Servicio = ? AND Tipo = ? AND Estado = ? AND AtendidaPor IS NULL ORDER BY SolicitudId"),
    sqlite=(f"SELECT {_COLS} FROM SolicitudesServicio "
            "WHERE Servicio = ? AND Tipo = ? AND Estado = ? AND AtendidaPor IS NULL ORDER BY SolicitudId LIMIT 1"),
)
sentencias.registrar(
    "solicitudes.insertar",
    tsql=("INSERT INTO dbo.SolicitudesServicio (Servicio, Tipo, SolicitadoPor, Fecha, Estado) "
          "OUTPUT INSERTED.SolicitudId VALUES (?, ?, ?, ?, ?)"),
    sqlite=("INSERT INTO SolicitudesServicio (Servicio, Tipo, SolicitadoPor, Fecha, Estado) "
            "VALUES (?, ?, ?, ?, ?) RETURNING SolicitudId"),
)
sentencias.registrar(
    "solicitudes.leer",
    tsql=f"SELECT {_COLS} FROM dbo.SolicitudesServicio WHERE SolicitudId = ?",
    sqlite=f"SELECT {_COLS} FROM SolicitudesServicio WHERE SolicitudId = ?",
)
sentencias.registrar(
    "solicitudes.listar",
    tsql=f"SELECT TOP (?) {_COLS} FROM dbo.SolicitudesServicio ORDER BY SolicitudId DESC",
    sqlite=f"SELECT {_COLS} FROM SolicitudesServicio ORDER BY SolicitudId DESC LIMIT ?",
)
# The claim: one statement, so two leaders (a hand-over) or two ticks never take the same row.
sentencias.registrar(
    "solicitudes.reclamar",
    tsql=("UPDATE dbo.SolicitudesServicio WITH (READPAST) SET AtendidaPor = ?, AtendidaEn = ? "
          "OUTPUT INSERTED.SolicitudId, INSERTED.Servicio, INSERTED.Tipo, INSERTED.SolicitadoPor, INSERTED.Fecha "
          "WHERE Servicio = ? AND Estado = ? AND (AtendidaPor IS NULL OR AtendidaEn < ?)"),
    sqlite=("UPDATE SolicitudesServicio SET AtendidaPor = ?, AtendidaEn = ? "
            "WHERE Servicio = ? AND Estado = ? AND (AtendidaPor IS NULL OR AtendidaEn < ?) "
            "RETURNING SolicitudId, Servicio, Tipo, SolicitadoPor, Fecha"),
)
# With HA on, the same claim, taken only while the Liderazgo row still names this process (H3; two
# more parameters: Rol, Titular): a leader that lost the role without knowing it claims nothing.
sentencias.registrar(
    "solicitudes.reclamar_cercado",
    tsql=("UPDATE dbo.SolicitudesServicio WITH (READPAST) SET AtendidaPor = ?, AtendidaEn = ? "
          "OUTPUT INSERTED.SolicitudId, INSERTED.Servicio, INSERTED.Tipo, INSERTED.SolicitadoPor, INSERTED.Fecha "
          f"WHERE Servicio = ? AND Estado = ? AND (AtendidaPor IS NULL OR AtendidaEn < ?) AND {CONDICION_CERCO['tsql']}"),
    sqlite=("UPDATE SolicitudesServicio SET AtendidaPor = ?, AtendidaEn = ? "
            "WHERE Servicio = ? AND Estado = ? AND (AtendidaPor IS NULL OR AtendidaEn < ?) "
            f"AND {CONDICION_CERCO['sqlite']} "
            "RETURNING SolicitudId, Servicio, Tipo, SolicitadoPor, Fecha"),
)
sentencias.registrar(
    "solicitudes.terminar",
    tsql=("UPDATE dbo.SolicitudesServicio SET Estado = ?, Resultado = CAST(? AS NVARCHAR(4000)), AtendidaEn = ? "
          "WHERE SolicitudId = ? AND AtendidaPor = ? AND Estado = ?"),
    sqlite=("UPDATE SolicitudesServicio SET Estado = ?, Resultado = ?, AtendidaEn = ? "
            "WHERE SolicitudId = ? AND AtendidaPor = ? AND Estado = ?"),
)


class SolicitudNoValida(OperacionRechazada):
    pass


# --------------------------------------------------------------------------------------------
# The operator's side
# --------------------------------------------------------------------------------------------
def servicio_de(tipo: str, servicio: str | None = None) -> tuple[str, str] | str:
    """``(servicio, tipo)`` normalised, or the Spanish reason they are not a valid pair. Pure."""
    t = (tipo or "").strip().lower()
    if t not in SERVICIO_DE_TIPO:
        return f"Tipo de solicitud desconocido «{tipo}»: se esperaba {' o '.join(SERVICIO_DE_TIPO)}."
    s = (servicio or SERVICIO_DE_TIPO[t]).strip().lower()
    if s != SERVICIO_DE_TIPO[t]:
        return f"La solicitud «{t}» la atiende el servicio {SERVICIO_DE_TIPO[t]}, no «{servicio}»."
    return s, t


def solicitar(db: Any, actor: Actor, servicio: str | None, tipo: str, *, ahora: datetime) -> dict:
    """Ask the leader of ``servicio`` (derived from ``tipo`` when not given) to run ``tipo`` now.

    Returns the row, with ``Nueva`` False when an identical request was already waiting (nothing
    written but the audit row). Raises :class:`OperacionRechazada` (audited) when refused."""
    momento = ahora.replace(tzinfo=None)  # SAM's clock (the caller's): never the OS zone's
    par = servicio_de(tipo, servicio)

    def unidad(tx: Any) -> Any:
        def auditar(resultado: str, despues: dict, entidad_id: Any = None) -> None:
            auditoria.registrar(tx, actor, accion="solicitar", entidad=ENTIDAD, entidad_id=entidad_id, antes=None,
                                despues=despues, resultado=resultado, ahora=momento)

        pedido = {"Servicio": servicio, "Tipo": tipo}
        if actor.rol not in ROLES_ESCRITURA:
            rechazo: OperacionRechazada = PermisoDenegado(
                f"El usuario {actor.usuario} (rol {actor.rol}) no puede pedir trabajo a los servicios: "
                "hace falta el rol operador o administrador.")
        elif isinstance(par, str):
            rechazo = SolicitudNoValida(par)
        else:
            s, t = par
            previa = tx.query_one(sentencias.sql(tx, "solicitudes.pendiente_igual"), (s, t, PENDIENTE))
            if previa is not None:
                auditar(auditoria.OK, {**_fila(previa), "YaPendiente": True}, previa["SolicitudId"])
                return {**_fila(previa), "Nueva": False}
            fila = tx.query_one(sentencias.sql(tx, "solicitudes.insertar"), (s, t, actor.usuario, momento, PENDIENTE))
            nueva = {"SolicitudId": int(next(iter(fila.values()))), "Servicio": s, "Tipo": t,
                     "SolicitadoPor": actor.usuario, "Fecha": momento, "AtendidaEn": None, "AtendidaPor": None,
                     "Resultado": None, "Estado": PENDIENTE}
            auditar(auditoria.OK, nueva, nueva["SolicitudId"])
            return {**nueva, "Nueva": True}
        auditar(auditoria.RECHAZADO, {**pedido, "Motivo": rechazo.mensaje})
        return rechazo

    resultado = db.run_in_transaction(unidad)
    if isinstance(resultado, OperacionRechazada):
        raise resultado
    return resultado


def _fila(fila: Mapping[str, Any]) -> dict:
    return {k: fila.get(k) for k in _COLS.split(", ")}


def leer(db: Any, solicitud_id: int) -> dict | None:
    fila = db.query_one(sentencias.sql(db, "solicitudes.leer"), (int(solicitud_id),))
    return None if fila is None else _fila(fila)


def listar(db: Any, limite: int = 50) -> list[dict]:
    """The latest requests, newest first."""
    return [_fila(f) for f in db.query(sentencias.sql(db, "solicitudes.listar"), (max(1, int(limite)),))]


def esperar(db: Any, solicitud_id: int, segundos: float, *, cada: float = 0.5,
            dormir: Callable[[float], Any] = time.sleep) -> dict | None:
    """Poll the request until it is no longer pending or ``segundos`` pass; the last row read."""
    limite = time.monotonic() + max(0.0, segundos)
    while True:
        fila = leer(db, solicitud_id)
        if fila is None or fila["Estado"] != PENDIENTE or time.monotonic() >= limite:
            return fila
        dormir(min(cada, max(0.0, limite - time.monotonic())) or cada)


# --------------------------------------------------------------------------------------------
# The services' side
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resultado:
    """What a served task says: ``ok`` False = ``fallida``; ``texto`` the Spanish summary."""

    ok: bool
    texto: str


def identidad_proceso() -> str:
    """``AtendidaPor``: this host and process."""
    return f"{socket.gethostname()}/{os.getpid()}"


class ServidorSolicitudes:
    """The serving job of one service: :meth:`atender` is registered with ``solo_lider=True``.

    ``tareas``: Tipo -> a callable running it now and returning a :class:`Resultado` (an exception
    it raises is recorded as ``fallida`` with its message). ``cerco``: the fencing token of this
    process' role (:meth:`common.liderazgo.Liderazgo.cerco`), or a callable read at each claim
    returning it; ``None`` (HA off, no election) claims unfenced."""

    def __init__(self, db: Any, servicio: str, tareas: Mapping[str, Callable[[], Resultado]], *,
                 ahora: Callable[[], datetime] = datetime.now, logger: logging.Logger | None = None,
                 atendida_por: str | None = None, caduca: timedelta = RECLAMO_CADUCA,
                 cerco: Cerco | Callable[[], Cerco | None] | None = None) -> None:
        self.db = db
        self.servicio = servicio
        self.tareas = dict(tareas)
        self.ahora = ahora
        self.log = logger or logging.getLogger(f"sam.{servicio}.solicitudes")
        self.atendida_por = atendida_por or identidad_proceso()
        self.caduca = caduca
        self._cerco = cerco

    def cerco(self) -> Cerco | None:
        """The fence the next claim embeds (None: unfenced)."""
        return self._cerco() if callable(self._cerco) else self._cerco

    def _momento(self) -> datetime:
        return self.ahora().replace(tzinfo=None)

    def reclamar(self) -> list[dict]:
        """Claim this service's pending rows (none already claimed by a live process); with a fence,
        only while this process still holds the role in the SAM DB (else nothing is claimed)."""
        momento = self._momento()
        params: tuple = (self.atendida_por, momento, self.servicio, PENDIENTE, momento - self.caduca)
        cerco, nombre = self.cerco(), "solicitudes.reclamar"
        if cerco is not None:
            nombre, params = "solicitudes.reclamar_cercado", params + cerco.parametros()
        filas = self.db.run_in_transaction(lambda tx: tx.query(sentencias.sql(tx, nombre), params))
        return sorted((dict(f) for f in filas), key=lambda f: f["SolicitudId"])

    def tarea(self, bd_sam: Any = None) -> Callable[[], Any]:
        """The runner job: :meth:`atender`. An unreachable SAM DB is the process' one alert for that
        cause (``bd_sam``, an :class:`~common.utils.alertas.AlertaBdSam`), not a mail of this job;
        the run is reported failed (:class:`~common.service_runner.CicloFallido`)."""
        def atender() -> CicloFallido | None:
            try:
                self.atender()
            except Exception as exc:
                if bd_sam is None or not es_bd_no_accesible(exc):
                    raise
                bd_sam.fallo("la atención de las solicitudes a los servicios", exc)
                return CicloFallido(exc)
            return None
        return atender

    def atender(self) -> int:
        """Serve every pending request of this service now; how many were served."""
        filas = self.reclamar()
        for fila in filas:
            self._servir(fila)
        return len(filas)

    def _servir(self, fila: dict) -> None:
        sid, tipo = fila["SolicitudId"], fila["Tipo"]
        self.log.info("Solicitud %s de %s: %s ahora.", sid, fila["SolicitadoPor"], tipo)
        tarea = self.tareas.get(tipo)
        try:
            if tarea is None:
                resultado = Resultado(False, f"El servicio {self.servicio} no sabe atender «{tipo}».")
            else:
                resultado = tarea()
        except Exception as exc:  # noqa: BLE001 - the request records the failure; the service goes on
            self.log.exception("La solicitud %s (%s) falló.", sid, tipo)
            resultado = Resultado(False, f"Error: {type(exc).__name__}: {redactar(str(exc))}")
        estado = ATENDIDA if resultado.ok else FALLIDA
        texto = resultado.texto[:MAX_RESULTADO]
        n = sentencias.ejecutar(self.db, "solicitudes.terminar",
                                (estado, texto, self._momento(), sid, self.atendida_por, PENDIENTE))
        if n:
            self.log.info("Solicitud %s %s: %s", sid, estado, texto)
        else:
            self.log.warning("La solicitud %s ya no estaba reclamada por este proceso; no se anota su resultado.",
                             sid)
