"""The audit trail (CONSOLE §4): table ``Auditoria``, one row per change and per refused attempt.

Rows are written inside the caller's transaction (the change and its audit row commit together).
``Antes`` / ``Despues`` are JSON (dates and times as ISO text); ``Resultado`` is one of
:data:`RESULTADOS`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.database import sentencias

ROLES = ("lector", "operador", "administrador")
#: ``conflicto``: refused because the row changed after the caller read it (optimistic concurrency).
OK, FORZADO, RECHAZADO, CONFLICTO = "ok", "forzado", "rechazado", "conflicto"
RESULTADOS = (OK, FORZADO, RECHAZADO, CONFLICTO)
#: Sizes of the bounded text columns (SAM.sql): SQL Server refuses a longer value (error 2628), so an
#: audit row (above all a refusal's, about input that was too long) is cut to fit on both engines.
LARGO_ENTIDAD_ID, LARGO_USUARIO, LARGO_IP = 100, 128, 45

# ruff: noqa: S608 - the statements below are built from constants only (no input is ever formatted in)
_COLUMNAS = "(Fecha, Usuario, Rol, Ip, Accion, Entidad, EntidadId, Antes, Despues, Resultado, IdFormulario)"
sentencias.registrar(
    "auditoria.insertar",
    tsql=(
        f"INSERT INTO dbo.Auditoria {_COLUMNAS} "
        "VALUES (?, ?, ?, ?, ?, ?, ?, CAST(? AS NVARCHAR(MAX)), CAST(? AS NVARCHAR(MAX)), ?, ?)"
    ),
    sqlite=f"INSERT INTO Auditoria {_COLUMNAS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
)
sentencias.registrar(
    "auditoria.de_entidad",
    tsql=(
        "SELECT AuditoriaId, Fecha, Usuario, Rol, Ip, Accion, Entidad, EntidadId, Antes, Despues, Resultado "
        "FROM dbo.Auditoria WHERE Entidad = ? ORDER BY AuditoriaId"
    ),
    sqlite=(
        "SELECT AuditoriaId, Fecha, Usuario, Rol, Ip, Accion, Entidad, EntidadId, Antes, Despues, Resultado "
        "FROM Auditoria WHERE Entidad = ? ORDER BY AuditoriaId"
    ),
)


@dataclass(frozen=True)
class Actor:
    """Who asks for a change: the console's signed-in user or the CLI's operator."""

    usuario: str
    rol: str
    ip: str | None = None


def a_json(valor: Any) -> str | None:
    if valor is None:
        return None
    return json.dumps(valor, ensure_ascii=False, sort_keys=True, default=_iso)


def _iso(valor: Any) -> str:
    iso = getattr(valor, "isoformat", None)
    return iso() if callable(iso) else str(valor)


def registrar(
    db: Any,
    actor: Actor,
    *,
    accion: str,
    entidad: str,
    entidad_id: Any,
    antes: Any,
    despues: Any,
    resultado: str,
    ahora: datetime,
    id_formulario: str | None = None,
) -> None:
    """Insert one audit row with ``db`` (call it inside the change's transaction). ``id_formulario``:
    the one-time token of the console form whose change this row records (:mod:`.formularios`);
    only an applied change carries it."""
    if resultado not in RESULTADOS:
        raise ValueError(f"resultado de auditoría desconocido: {resultado!r}")
    if id_formulario is not None and resultado not in (OK, FORZADO):
        raise ValueError("sólo un cambio aplicado registra el id_formulario")
    sentencias.ejecutar(db, "auditoria.insertar", (
        ahora.replace(tzinfo=None),
        _recortar(actor.usuario, LARGO_USUARIO),
        actor.rol,
        _recortar(actor.ip, LARGO_IP),
        accion,
        entidad,
        _recortar(None if entidad_id is None else str(entidad_id), LARGO_ENTIDAD_ID),
        a_json(antes),
        a_json(despues),
        resultado,
        id_formulario,
    ))


def _recortar(texto: str | None, largo: int) -> str | None:
    """``texto`` cut to ``largo`` characters, ending in «…» when it was longer."""
    if texto is None or len(texto) <= largo:
        return texto
    return texto[: largo - 1] + "\u2026"


def de_entidad(db: Any, entidad: str) -> list[dict]:
    """The audit rows of one kind of entity, oldest first (console and tests)."""
    filas = db.query(sentencias.sql(db, "auditoria.de_entidad"), (entidad,))
    for f in filas:
        for k in ("Antes", "Despues"):
            f[k] = None if f[k] is None else json.loads(f[k])
    return filas
