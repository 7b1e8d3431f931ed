"""Refusals of the operations module and the one audited unit of work (CONSOLE §4).

Every write of :mod:`common.operaciones` runs as :func:`ejecutar_auditado`: the role check, the
one-time form token (:mod:`.formularios`), the work itself in one transaction, and an audit row
for a refusal (``rechazado``, or ``conflicto`` for a stale version) in that same transaction; the
refusal is then raised to the caller. ``str(exc)`` of every refusal is the Spanish message for the
operator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from common.operaciones import auditoria, formularios
from common.operaciones.auditoria import Actor


class OperacionRechazada(Exception):
    """A refused operation; ``str(exc)`` is the Spanish message for the operator."""

    def __init__(self, mensaje: str) -> None:
        super().__init__(mensaje)
        self.mensaje = mensaje


class PermisoDenegado(OperacionRechazada):
    def __init__(self, mensaje: str, conflictos: list[Any] | None = None) -> None:
        super().__init__(mensaje)
        self.conflictos = conflictos or []


class NoEncontrada(OperacionRechazada):
    pass


class VersionCambiada(OperacionRechazada):
    pass


class IntentoAuditado(Protocol):
    """What the unit of work needs of an operation in progress."""

    actor: Actor
    id_formulario: str | None

    def auditar(self, tx: Any, resultado: str, **extra: Any) -> None: ...


def ejecutar_auditado(db: Any, intento: IntentoAuditado, roles: tuple[str, ...], que: str,
                      trabajo: Callable[[Any], Any]) -> Any:
    """Run ``trabajo(tx)`` in one transaction after the role check (``que``: what the role allows,
    for the message). A refusal it returns is audited there and raised here; the ``ok`` audit row
    is ``trabajo``'s to write (it knows whether anything changed). A form already applied
    (``intento.id_formulario`` found) returns :class:`formularios.YaAplicado`, writing nothing."""
    def unidad(tx: Any) -> Any:
        if intento.actor.rol not in roles:
            rechazo: Any = PermisoDenegado(f"El usuario {intento.actor.usuario} (rol {intento.actor.rol}) no puede "
                                           f"{que}: hace falta el rol {' o '.join(roles)}.")
        else:
            rechazo = formularios.previo(tx, intento.id_formulario) or trabajo(tx)
        if isinstance(rechazo, OperacionRechazada):
            estado = auditoria.CONFLICTO if isinstance(rechazo, VersionCambiada) else auditoria.RECHAZADO
            intento.auditar(tx, estado, Motivo=rechazo.mensaje)
        return rechazo

    resultado = formularios.aplicar_una_vez(db, intento.id_formulario, lambda: db.run_in_transaction(unidad))
    if isinstance(resultado, OperacionRechazada):
        raise resultado
    return resultado
