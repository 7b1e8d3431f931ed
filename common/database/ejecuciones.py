"""The one home of writes to ``Ejecuciones`` and ``CallbacksRecibidos`` (BEHAVIOUR L3, L4, L5).

Every state change goes through here so that the monotonic rule holds everywhere:

- a terminal state is never replaced (conditional ``UPDATE ... WHERE Estado NOT IN (<terminal>)``,
  so two writers racing each other cannot regress a terminal state either);
- a duplicate (same state) is a no-op;
- ``LANZANDO`` is only ever written by :func:`insert_intent`.

"Busy" (the equipo has an execution in progress) is ``Estado NOT IN (<terminal>) AND FechaFin IS
NULL``: an ``UNKNOWN`` row stays busy for ``CONCILIADOR_TOLERANCIA_UNKNOWN_MIN`` and is then closed
by the Conciliador by setting ``FechaFin`` (its state stays ``UNKNOWN``), see
:data:`BUSY_CONDITION_SQL`. While a row is ``UNKNOWN``, ``FechaActualizacion`` is the moment it
became ``UNKNOWN`` (nothing touches it until the state changes).

Both engines sit side by side: the statements are standard SQL except the identity retrieval
(``OUTPUT INSERTED`` on SQL Server, ``RETURNING`` on SQLite) and the ``dbo.`` prefix. The T-SQL
texts are registered in :data:`TSQL_STATEMENTS` for the static checks.

Each operation runs a constant number of statements (independent of the number of callbacks or
rows involved), inside one transaction where it writes more than one statement.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from common.execution_states import (
    DEPLOY_FAILED,
    DEPLOYED,
    LANZANDO,
    TERMINAL_SQL_LIST,
    TERMINAL_STATES,
    UNKNOWN,
    may_replace,
    normalize,
)

if TYPE_CHECKING:
    from common.database.sql_client import DatabaseClient

logger = logging.getLogger("sam.database.ejecuciones")

#: Column sizes from SAM.sql (inputs longer than these are refused by the callers or truncated).
MAX_DEPLOYMENT_ID = 100
MAX_ESTADO = 50
MAX_MENSAJE_ERROR = 4000

#: SQL condition (columns of ``Ejecuciones``, unqualified) for "this execution keeps its equipo busy".
BUSY_CONDITION_SQL = f"Estado NOT IN ({TERMINAL_SQL_LIST}) AND FechaFin IS NULL"

#: Message stored when a LANZANDO row cannot be confirmed in A360 (L5.5).
MENSAJE_SIN_CONFIRMACION = "sin confirmación de A360"

RESULT_APLICADO = "aplicado"
RESULT_DUPLICADO = "duplicado"
RESULT_IGNORADO = "ignorado"
RESULT_NO_ENCONTRADO = "no_encontrado"

_COLS_EJECUCION = (
    "EjecucionId, DeploymentId, RobotId, EquipoId, UserId, Hora, FechaInicio, FechaFin, Estado, "
    "FechaActualizacion, MensajeError, FechaSlot, RondasNoEncontrado, AlertaDuracionEnviada"
)

# --- statement templates; {t} is the table prefix ("dbo." on SQL Server, "" on SQLite) -------------

_TEMPLATES: dict[str, str] = {
    # L3.2 intent row; the identity clause is engine specific (see _INSERT_INTENT_*).
    # A row failed by the LANZANDO recovery ("sin confirmación", SAM's guess, not A360's word) whose
    # deploy call then succeeds is revived: the deployment is real and keeps its equipo busy.
    "actualizar_deployment": (
        "UPDATE {t}Ejecuciones SET DeploymentId = ?, "  # noqa: S608 - constants only
        f"Estado = CASE WHEN Estado = '{LANZANDO}' OR (Estado = '{DEPLOY_FAILED}' AND MensajeError = ?) "
        f"THEN '{DEPLOYED}' ELSE Estado END, "
        f"FechaFin = CASE WHEN Estado = '{DEPLOY_FAILED}' AND MensajeError = ? THEN NULL ELSE FechaFin END, "
        f"MensajeError = CASE WHEN Estado = '{DEPLOY_FAILED}' AND MensajeError = ? THEN NULL "
        "ELSE MensajeError END, "
        "FechaActualizacion = ? "
        "WHERE EjecucionId = ? AND (DeploymentId IS NULL OR DeploymentId = ?)"
    ),
    "marcar_deploy_fallido": (
        f"UPDATE {{t}}Ejecuciones SET Estado = '{DEPLOY_FAILED}', MensajeError = ?, FechaFin = ?, "  # noqa: S608 - constants only
        "FechaActualizacion = ? "
        f"WHERE EjecucionId = ? AND DeploymentId IS NULL AND Estado NOT IN ({TERMINAL_SQL_LIST})"
    ),
    # Monotonic update by DeploymentId: never over a terminal state, same state = no-op.
    "aplicar_estado": (
        "UPDATE {t}Ejecuciones SET Estado = ?, FechaActualizacion = ?, FechaFin = ?, "  # noqa: S608 - constants only
        "CallbackInfo = COALESCE(?, CallbackInfo), MensajeError = COALESCE(?, MensajeError), "
        "RondasNoEncontrado = 0 "
        f"WHERE DeploymentId = ? AND Estado NOT IN ({TERMINAL_SQL_LIST}) AND Estado <> ?"
    ),
    "estado_por_deployment": "SELECT EjecucionId, Estado FROM {t}Ejecuciones WHERE DeploymentId = ?",
    # The same by EjecucionId (Conciliador batches, executemany).
    "aplicar_estado_por_id": (
        "UPDATE {t}Ejecuciones SET Estado = ?, FechaActualizacion = ?, FechaFin = ?, "  # noqa: S608 - constants only
        "MensajeError = COALESCE(?, MensajeError), RondasNoEncontrado = 0 "
        f"WHERE EjecucionId = ? AND Estado NOT IN ({TERMINAL_SQL_LIST}) AND Estado <> ?"
    ),
    # Not-found counter (L5.4); FechaActualizacion only moves when the state changes.
    "contar_no_encontrado": (
        "UPDATE {t}Ejecuciones SET RondasNoEncontrado = ?, "  # noqa: S608 - constants only
        "FechaActualizacion = CASE WHEN Estado = ? THEN FechaActualizacion ELSE ? END, Estado = ? "
        f"WHERE EjecucionId = ? AND Estado NOT IN ({TERMINAL_SQL_LIST})"
    ),
    "cerrar_unknown": (
        "UPDATE {t}Ejecuciones SET FechaFin = ?, FechaActualizacion = ? "  # noqa: S608 - constants only
        f"WHERE Estado = '{UNKNOWN}' AND FechaFin IS NULL AND FechaActualizacion <= ?"
    ),
    "marcar_alerta_duracion": (
        "UPDATE {t}Ejecuciones SET AlertaDuracionEnviada = 1 WHERE EjecucionId = ?"
    ),
    "ejecuciones_activas": (
        f"SELECT {_COLS_EJECUCION} FROM {{t}}Ejecuciones "  # noqa: S608 - constants only
        f"WHERE Estado NOT IN ({TERMINAL_SQL_LIST}) AND FechaFin IS NULL ORDER BY FechaInicio, EjecucionId"
    ),
    "ejecucion_por_id": f"SELECT {_COLS_EJECUCION} FROM {{t}}Ejecuciones WHERE EjecucionId = ?",  # noqa: S608 - constants only
    "lanzando_antiguas": (
        f"SELECT {_COLS_EJECUCION} FROM {{t}}Ejecuciones "  # noqa: S608 - constants only
        f"WHERE Estado = '{LANZANDO}' AND DeploymentId IS NULL AND FechaInicio <= ? "
        "ORDER BY FechaInicio, EjecucionId"
    ),
    "insertar_callback": (
        "INSERT INTO {t}CallbacksRecibidos (DeploymentId, FechaRecepcion, Estado, Payload, Aplicado) "
        "VALUES (?, ?, ?, ?, ?)"
    ),
    "callbacks_pendientes": (
        "SELECT CallbackId, DeploymentId, FechaRecepcion, Estado, Payload FROM {t}CallbacksRecibidos "
        "WHERE DeploymentId = ? AND Aplicado = 0 ORDER BY CallbackId"
    ),
    # Safety net: pending callbacks whose execution is now recorded (any engine, any race).
    # Driven from the open executions through IX_CallbacksRecibidos_DeploymentId, so the ever-growing
    # CallbacksRecibidos table is never scanned (CROSS JOIN + WHERE: SQLite keeps this join order).
    "callbacks_pendientes_con_ejecucion": (
        "SELECT c.CallbackId, c.DeploymentId, c.FechaRecepcion, c.Estado, c.Payload "  # noqa: S608 - constants only
        "FROM {t}Ejecuciones e CROSS JOIN {t}CallbacksRecibidos c "
        "WHERE c.DeploymentId = e.DeploymentId AND c.Aplicado = 0 AND e.DeploymentId IS NOT NULL "
        f"AND e.Estado NOT IN ({TERMINAL_SQL_LIST}) ORDER BY c.CallbackId"
    ),
    "marcar_callback_aplicado_por_id": (
        "UPDATE {t}CallbacksRecibidos SET Aplicado = 1 WHERE CallbackId = ?"
    ),
}

_INSERT_INTENT_COLS = (
    "(RobotId, EquipoId, UserId, Hora, FechaInicio, Estado, FechaActualizacion, FechaSlot, "
    "RondasNoEncontrado, AlertaDuracionEnviada)"
)
_INSERT_INTENT_TSQL = (
    f"INSERT INTO dbo.Ejecuciones {_INSERT_INTENT_COLS} OUTPUT INSERTED.EjecucionId "  # noqa: S608 - constants only
    f"VALUES (?, ?, ?, ?, ?, '{LANZANDO}', ?, ?, 0, 0)"
)
_INSERT_INTENT_SQLITE = (
    f"INSERT INTO Ejecuciones {_INSERT_INTENT_COLS} "  # noqa: S608 - constants only
    f"VALUES (?, ?, ?, ?, ?, '{LANZANDO}', ?, ?, 0, 0) RETURNING EjecucionId"
)

_SQL: dict[str, dict[str, str]] = {
    "sqlserver": {name: text.format(t="dbo.") for name, text in _TEMPLATES.items()},
    "sqlite": {name: text.format(t="") for name, text in _TEMPLATES.items()},
}
_SQL["sqlserver"]["insertar_intento"] = _INSERT_INTENT_TSQL
_SQL["sqlite"]["insertar_intento"] = _INSERT_INTENT_SQLITE

#: Every T-SQL statement of this module (discovered by tests/test_sql_static.py).
TSQL_STATEMENTS: dict[str, str] = dict(_SQL["sqlserver"])


def _sql(db: DatabaseClient, name: str) -> str:
    return _SQL["sqlserver" if db.engine == "sqlserver" else "sqlite"][name]


def db_length(text: str) -> int:
    """Length as an ``NVARCHAR(n)`` column counts it: UTF-16 code units (a character outside the
    BMP, e.g. an emoji, takes two; SQL Server refuses a value over ``n`` instead of cutting it)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _truncate(text: str | None, size: int) -> str | None:
    """``text`` cut to fit ``NVARCHAR(size)`` (see :func:`db_length`), marked with "…" when cut."""
    if text is None or db_length(text) <= size:
        return text
    cut = text[: size - 1]
    while db_length(cut) > size - 1:
        cut = cut[:-1]
    return cut + "…"


# --- L3: intent, deployed, deploy failed ---------------------------------------------------------------


def insert_intent(
    db: Any,
    *,
    robot_id: int,
    equipo_id: int,
    user_id: int,
    hora: time | None,
    fecha_slot: date | None,
    now: datetime,
) -> int:
    """L3.2: record the intent (``Estado = LANZANDO``, ``FechaInicio = now``), committed. Returns the id."""
    params = (robot_id, equipo_id, user_id, hora, now, now, fecha_slot)
    sql = _sql(db, "insertar_intento")

    def work(tx: Any) -> int:
        row = tx.query_one(sql, params)
        if row is None:
            raise RuntimeError("INSERT sin identidad devuelta")
        return int(next(iter(row.values())))

    return db.run_in_transaction(work)


def mark_deployed(db: Any, ejecucion_id: int, deployment_id: str, now: datetime) -> None:
    """L3.3: set ``DeploymentId``; ``DEPLOYED`` unless the row already moved on; apply pending callbacks.

    A callback that beat this update (recorded in ``CallbacksRecibidos`` with ``Aplicado = 0``) is
    applied here, in the same transaction. A row already terminal keeps its state (it gets the
    ``DeploymentId`` for traceability), except one closed by the Conciliador's LANZANDO recovery
    with "sin confirmación de A360" (L5.5): that was SAM's inference while the deploy call was still
    in flight; the confirmed deployment reopens it as ``DEPLOYED`` so its equipo counts busy.
    """

    def work(tx: Any) -> None:
        n = tx.execute(
            _sql(tx, "actualizar_deployment"),
            (deployment_id, MENSAJE_SIN_CONFIRMACION, MENSAJE_SIN_CONFIRMACION, MENSAJE_SIN_CONFIRMACION, now,
             ejecucion_id, deployment_id),
        )
        if n == 0:
            logger.warning(
                "La ejecución %s no existe o ya tiene otro DeploymentId; no se registra %s",
                ejecucion_id,
                deployment_id,
            )
            return
        _apply_pending(tx, deployment_id, now)

    db.run_in_transaction(work)


def mark_deploy_failed(db: Any, ejecucion_id: int, mensaje: str, now: datetime) -> None:
    """L3.3: ``DEPLOY_FAILED`` with ``MensajeError`` and ``FechaFin`` (only a row without a deployment)."""
    db.execute(
        _sql(db, "marcar_deploy_fallido"),
        (_truncate(mensaje, MAX_MENSAJE_ERROR), now, now, ejecucion_id),
    )


# --- L4: status updates by DeploymentId -------------------------------------------------------------


def apply_status(
    db: Any,
    deployment_id: str,
    status: str,
    now: datetime,
    *,
    fecha_fin: datetime | None = None,
    callback_info: str | None = None,
    mensaje: str | None = None,
) -> str:
    """Monotonic update of the execution with ``deployment_id`` (L4.3, L5.4).

    Returns ``"aplicado"`` (state changed), ``"duplicado"`` (already in that state: no-op),
    ``"ignorado"`` (not allowed: the row is terminal, or ``LANZANDO`` was asked) or
    ``"no_encontrado"`` (no row has that ``DeploymentId`` yet). A terminal state sets ``FechaFin``
    (``fecha_fin`` or ``now``); a non-terminal one leaves the row open (``FechaFin`` NULL).
    One or two statements.
    """
    estado = normalize(status)
    if not estado:
        raise ValueError("estado vacío")
    if estado == LANZANDO:
        row = db.query_one(_sql(db, "estado_por_deployment"), (deployment_id,))
        return RESULT_NO_ENCONTRADO if row is None else RESULT_IGNORADO
    fin = (fecha_fin or now) if estado in TERMINAL_STATES else None
    n = db.execute(
        _sql(db, "aplicar_estado"),
        (estado, now, fin, callback_info, _truncate(mensaje, MAX_MENSAJE_ERROR), deployment_id, estado),
    )
    if n:
        return RESULT_APLICADO
    row = db.query_one(_sql(db, "estado_por_deployment"), (deployment_id,))
    if row is None:
        return RESULT_NO_ENCONTRADO
    current = row.get("Estado")
    if current is not None and normalize(current) == estado:
        return RESULT_DUPLICADO
    return RESULT_IGNORADO


def record_callback(db: Any, deployment_id: str, status: str, payload: str, now: datetime) -> str:
    """L4.3: apply a callback and record it in ``CallbacksRecibidos``, in one transaction.

    The row is recorded with ``Aplicado = 1`` when the execution exists (applied, duplicate or
    ignored) and ``Aplicado = 0`` when it does not yet (:func:`mark_deployed` applies it later).
    Two statements on the usual path, three when the state did not change.
    """
    estado = normalize(status)

    def work(tx: Any) -> str:
        result = apply_status(tx, deployment_id, estado, now, callback_info=payload)
        aplicado = 0 if result == RESULT_NO_ENCONTRADO else 1
        tx.execute(_sql(tx, "insertar_callback"), (deployment_id, now, estado, payload, aplicado))
        return result

    return db.run_in_transaction(work)


def _choose_pending(current: str | None, pending: Sequence[dict]) -> dict | None:
    """The pending callback whose state wins when applied in arrival order (monotonic rule)."""
    cur = current
    chosen = None
    for cb in pending:
        estado = normalize(cb["Estado"] or "")
        if not estado or estado == LANZANDO:
            continue
        if (cur is None or normalize(cur) != estado) and may_replace(cur, estado):
            cur = estado
            chosen = cb
    return chosen


def _apply_pending(tx: DatabaseClient, deployment_id: str, now: datetime) -> int:
    """Apply the pending callbacks of one deployment (constant number of statements)."""
    pending = tx.query(_sql(tx, "callbacks_pendientes"), (deployment_id,))
    if not pending:
        return 0
    row = tx.query_one(_sql(tx, "estado_por_deployment"), (deployment_id,))
    chosen = _choose_pending(row.get("Estado") if row else None, pending)
    if chosen is not None:
        estado = normalize(chosen["Estado"])
        result = apply_status(
            tx,
            deployment_id,
            estado,
            now,
            fecha_fin=_as_datetime(chosen.get("FechaRecepcion")) or now,
            callback_info=chosen.get("Payload"),
        )
        logger.info(
            "Callback pendiente de %s aplicado al registrar el despliegue: %s (%s)",
            deployment_id,
            estado,
            result,
        )
    # Only the callbacks read above: one committed by a concurrent callback after that SELECT (SQL
    # Server interleaves the two transactions) stays pending for apply_pending_callbacks, instead of
    # being marked applied without having been applied.
    tx.executemany(_sql(tx, "marcar_callback_aplicado_por_id"), [(cb["CallbackId"],) for cb in pending])
    return len(pending)


def apply_pending_callbacks(db: Any, now: datetime) -> int:
    """Safety net (run by the Conciliador): apply every pending callback whose execution now exists.

    :func:`mark_deployed` applies them in the usual case; this covers any interleaving in which a
    callback was recorded as pending just after the launcher looked. Returns the callbacks settled.
    """
    rows = db.query(_sql(db, "callbacks_pendientes_con_ejecucion"))
    if not rows:
        return 0
    by_dep: dict[str, list[dict]] = {}
    for r in rows:
        by_dep.setdefault(r["DeploymentId"], []).append(r)

    def work(tx: DatabaseClient) -> int:
        for dep in by_dep:
            _apply_pending(tx, dep, now)
        return len(rows)

    return db.run_in_transaction(work)


# --- L5: Conciliador queries and batched writes --------------------------------------------------------


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).strip().replace("T", " ")
    if not text:
        return None
    return datetime.fromisoformat(text)


def _normalize_row(row: dict) -> dict:
    for key in ("FechaInicio", "FechaFin", "FechaActualizacion"):
        if key in row:
            row[key] = _as_datetime(row[key])
    return row


def active_executions(db: Any, *, started_before: datetime | None = None) -> list[dict]:
    """Busy executions (see :data:`BUSY_CONDITION_SQL`), oldest first; optional age filter in Python."""
    rows = [_normalize_row(dict(r)) for r in db.query(_sql(db, "ejecuciones_activas"))]
    if started_before is not None:
        rows = [r for r in rows if r["FechaInicio"] is not None and r["FechaInicio"] <= started_before]
    return rows


def get_execution(db: Any, ejecucion_id: int) -> dict | None:
    row = db.query_one(_sql(db, "ejecucion_por_id"), (ejecucion_id,))
    return _normalize_row(dict(row)) if row else None


def lanzando_older_than(db: Any, cutoff: datetime) -> list[dict]:
    """``LANZANDO`` rows without a deployment whose intent is older than ``cutoff`` (L5.5)."""
    return [_normalize_row(dict(r)) for r in db.query(_sql(db, "lanzando_antiguas"), (cutoff,))]


def deployment_ids_in_use(db: Any, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` are already recorded on some execution (one statement)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    t = "dbo." if db.engine == "sqlserver" else ""
    sql = f"SELECT DeploymentId FROM {t}Ejecuciones WHERE DeploymentId IN ({marks})"  # noqa: S608
    return {r["DeploymentId"] for r in db.query(sql, tuple(ids))}


def adopt_deployment(
    db: Any,
    ejecucion_id: int,
    deployment_id: str,
    status: str | None,
    now: datetime,
    *,
    fecha_fin: datetime | None = None,
    mensaje: str | None = None,
) -> str:
    """L5.5: a LANZANDO row found in A360: record its deployment and the state A360 reports."""
    mark_deployed(db, ejecucion_id, deployment_id, now)
    if status and normalize(status) not in (DEPLOYED, LANZANDO):
        return apply_status(db, deployment_id, status, now, fecha_fin=fecha_fin, mensaje=mensaje)
    return RESULT_APLICADO


def apply_status_batch(db: Any, updates: Sequence[tuple[int, str, datetime, datetime | None, str | None]]) -> int:
    """Monotonic updates by ``EjecucionId`` in one ``executemany``.

    ``updates``: ``(ejecucion_id, estado, now, fecha_fin, mensaje)``; ``fecha_fin`` is used only for
    terminal states (``now`` when None). Rows already terminal or already in that state are untouched.
    """
    if not updates:
        return 0
    params = []
    for ejecucion_id, status, now, fecha_fin, mensaje in updates:
        estado = normalize(status)
        fin = (fecha_fin or now) if estado in TERMINAL_STATES else None
        params.append((estado, now, fin, _truncate(mensaje, MAX_MENSAJE_ERROR), ejecucion_id, estado))
    return db.executemany(_sql(db, "aplicar_estado_por_id"), params)


def update_not_found_batch(db: Any, updates: Sequence[tuple[int, int, str, datetime]]) -> int:
    """Set ``RondasNoEncontrado`` (and maybe the state) in one ``executemany`` (L5.4).

    ``updates``: ``(ejecucion_id, rondas, estado, now)``; ``FechaActualizacion`` moves only when
    ``estado`` differs from the stored one. Terminal rows are untouched.
    """
    if not updates:
        return 0
    params = [(rondas, normalize(estado), now, normalize(estado), eid) for eid, rondas, estado, now in updates]
    return db.executemany(_sql(db, "contar_no_encontrado"), params)


def close_unknown(db: Any, unknown_since_before: datetime, now: datetime) -> int:
    """Close (``FechaFin = now``) ``UNKNOWN`` rows that became UNKNOWN before the cutoff (L5.4)."""
    return db.execute(_sql(db, "cerrar_unknown"), (now, now, unknown_since_before))


def mark_duration_alerted(db: Any, ejecucion_ids: Iterable[int]) -> int:
    """L5.6: remember that the long-running alert was sent (one ``executemany``)."""
    params = [(i,) for i in ejecucion_ids]
    if not params:
        return 0
    return db.executemany(_sql(db, "marcar_alerta_duracion"), params)
