"""Manual pause of launching (CONSOLE §3 ``POST /pausa``, rules L8.3 and C6): the live setting
``LANZADOR_PAUSA_MANUAL_HASTA`` written through :mod:`common.operaciones.ajustes` (whitelist and
start-up validation), which writes its ``Auditoria`` row in the same transaction. A refused attempt
(role, a time not in the future, an invalid value) writes only its audit row. The running Lanzador picks
the change up within ``SAM_CONFIG_RECARGA_SEG``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from common.operaciones import auditoria
from common.operaciones.ajustes import escribir_ajuste
from common.operaciones.auditoria import Actor
from common.operaciones.programaciones import OperacionRechazada, PermisoDenegado
from common.utils.ajustes_vivos import AjusteNoValido

CLAVE = "LANZADOR_PAUSA_MANUAL_HASTA"
ENTIDAD = "ConfiguracionSistema"
ROLES_ESCRITURA = ("operador", "administrador")


def _escribir(db: Any, actor: Actor, accion: str, valor: str | None, momento: datetime, cfg: Any,
              problema: str | None) -> Any:
    """Refusals decided here (role, a past time) are audited here; the write itself, and the
    refusals of the setting's own validation, are audited by :func:`escribir_ajuste` in its
    transaction (``Accion = 'ajuste'``)."""
    rechazo: OperacionRechazada | None = None
    if actor.rol not in ROLES_ESCRITURA:
        rechazo = PermisoDenegado(f"El usuario {actor.usuario} (rol {actor.rol}) no puede pausar ni reanudar "
                                  "los lanzamientos: hace falta el rol operador o administrador.")
    elif problema:
        rechazo = OperacionRechazada(problema)
    if rechazo is not None:
        motivo = rechazo.mensaje
        db.run_in_transaction(lambda tx: auditoria.registrar(
            tx, actor, accion=accion, entidad=ENTIDAD, entidad_id=CLAVE, antes=None,
            despues={"Valor": valor, "Motivo": motivo}, resultado=auditoria.RECHAZADO, ahora=momento))
        raise rechazo
    try:
        return escribir_ajuste(db, CLAVE, valor, actor, cfg=cfg, ahora=momento)
    except AjusteNoValido as exc:
        raise OperacionRechazada(str(exc)) from exc


def pausar_hasta(db: Any, actor: Actor, hasta: datetime, *, ahora: datetime, cfg: Any = None) -> datetime:
    """Pause launching until ``hasta`` (SAM's local time, a moment in the future after ``ahora``,
    SAM's clock). Returns it."""
    momento = ahora.replace(tzinfo=None)
    hasta = hasta.replace(tzinfo=None, microsecond=0)
    problema = None if hasta > momento else (
        f"La pausa debe terminar en el futuro: {hasta:%Y-%m-%d %H:%M} ya pasó ({momento:%Y-%m-%d %H:%M} ahora).")
    _escribir(db, actor, "pausar", f"{hasta:%Y-%m-%d %H:%M:%S}", momento, cfg, problema)
    return hasta


def reanudar(db: Any, actor: Actor, *, ahora: datetime, cfg: Any = None) -> None:
    """Remove the manual pause (the setting goes back to the environment / default)."""
    momento = ahora.replace(tzinfo=None)
    _escribir(db, actor, "reanudar", None, momento, cfg, None)
