"""The one home of writes to ``Ejecuciones`` and ``CallbacksRecibidos`` (BEHAVIOUR L3, L4, L5).

Every state change goes through here so that the monotonic rule holds everywhere:

- a terminal state is never replaced (conditional ``UPDATE ... WHERE Estado NOT IN (<terminal>)``,
  so two writers racing each other cannot regress a terminal state either);
- a duplicate (same state) is a no-op;
- ``LANZANDO`` is only ever written by :func:`insert_intent`.

"Open" and "busy" are defined once in :mod:`common.database.ocupacion`: an ``UNKNOWN`` row stays
busy for ``CONCILIADOR_TOLERANCIA_UNKNOWN_MIN`` and is then closed by the Conciliador by setting
``FechaFin`` (its state stays ``UNKNOWN``). While a row is ``UNKNOWN``, ``FechaActualizacion`` is
the moment it became ``UNKNOWN`` (nothing touches it until the state changes).

Both dialects sit side by side in the SQL registry (:mod:`common.database.sentencias`): the
statements differ in the identity retrieval (``OUTPUT INSERTED`` on SQL Server, ``RETURNING`` on
SQLite), the ``dbo.`` prefix, the explicit ``CAST`` of long-text parameters and the lock of the
read-then-write on SQL Server.

Each operation runs a constant number of statements (independent of the number of callbacks or
rows involved), inside one transaction where it writes more than one statement.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from common.database import sentencias
from common.database.ocupacion import abierta, no_terminal
from common.database.sentencias import registrar, sql
from common.execution_states import (
    DEPLOY_FAILED,
    DEPLOYED,
    LANZANDO,
    TERMINAL_STATES,
    UNKNOWN,
    may_replace,
    normalize,
    revivible_sql,
)
from common.liderazgo import CONDICION_CERCO, Cerco, LiderazgoPerdido

if TYPE_CHECKING:
    from common.database.sql_client import DatabaseClient

logger = logging.getLogger("sam.database.ejecuciones")

#: Column sizes from SAM.sql (inputs longer than these are refused by the callers or truncated).
MAX_DEPLOYMENT_ID = 100
MAX_ESTADO = 50
MAX_MENSAJE_ERROR = 4000

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

# ruff: noqa: S608 - the statements below are built from constants only (no input is ever formatted in)
# --- statements: {t} is the schema prefix; {mensaje} / {callback} / {payload} are the typed long-text
# parameters (pyodbc sends a str over 2,000 characters as ntext: T-SQL casts it explicitly);
# {bloqueo} is the lock a read-then-write takes on SQL Server (SQLite serialises writers).
_POR_DIALECTO = {
    sentencias.TSQL: {
        "t": "dbo.",
        "mensaje": "CAST(? AS NVARCHAR(4000))",
        "callback": "CAST(? AS NVARCHAR(MAX))",
        "payload": "CAST(? AS NVARCHAR(MAX))",
        "bloqueo": " WITH (UPDLOCK, HOLDLOCK)",
    },
    sentencias.SQLITE: {"t": "", "mensaje": "?", "callback": "?", "payload": "?", "bloqueo": ""},
}


def _registrar(nombre: str, plantilla: str, **otros: Any) -> None:
    textos = {d: plantilla.format(**campos) for d, campos in _POR_DIALECTO.items()}
    registrar(f"ejecuciones.{nombre}", tsql=textos[sentencias.TSQL], sqlite=textos[sentencias.SQLITE], **otros)


# L3.3: a row failed by the LANZANDO recovery (FalloSinConfirmar = 1: SAM's guess, not A360's word) whose
# deploy call then succeeds is revived: the deployment is real and keeps its equipo busy (the one
# revival of the transition table, common.execution_states.REVIVIR).
_REVIVIBLE = revivible_sql()
_registrar("actualizar_deployment", (
    "UPDATE {t}Ejecuciones SET DeploymentId = ?, "
    f"Estado = CASE WHEN Estado = '{LANZANDO}' OR ({_REVIVIBLE}) THEN '{DEPLOYED}' ELSE Estado END, "
    f"FechaFin = CASE WHEN {_REVIVIBLE} THEN NULL ELSE FechaFin END, "
    f"MensajeError = CASE WHEN {_REVIVIBLE} THEN NULL ELSE MensajeError END, "
    f"FalloSinConfirmar = 0, "
    "FechaActualizacion = ? "
    "WHERE EjecucionId = ? AND (DeploymentId IS NULL OR DeploymentId = ?)"
))
_registrar("marcar_deploy_fallido", (
    f"UPDATE {{t}}Ejecuciones SET Estado = '{DEPLOY_FAILED}', MensajeError = {{mensaje}}, FechaFin = ?, "
    "FechaActualizacion = ?, FalloSinConfirmar = ? "
    f"WHERE EjecucionId = ? AND DeploymentId IS NULL AND {no_terminal()}"
))
# L4.3 callback race: the row is read (and on SQL Server locked, range included when it does not
# exist yet) before deciding, so a concurrent mark_deployed either finishes first or waits.
_registrar("estado_por_deployment_bloqueo",
           "SELECT EjecucionId, Estado FROM {t}Ejecuciones{bloqueo} WHERE DeploymentId = ?")
_registrar("estado_por_deployment", "SELECT EjecucionId, Estado FROM {t}Ejecuciones WHERE DeploymentId = ?")
# R2 retention: an execution moved to Ejecuciones_Historico is closed for good; a late callback for it
# is answered as for any terminal row (ignored, recorded as applied).
_registrar("historico_por_deployment",
           "SELECT EjecucionId, Estado FROM {t}Ejecuciones_Historico WHERE DeploymentId = ?")
# Monotonic update of one row: never over a terminal state, same state = no-op.
_registrar("aplicar_estado", (
    "UPDATE {t}Ejecuciones SET Estado = ?, FechaActualizacion = ?, FechaFin = ?, "
    "CallbackInfo = COALESCE({callback}, CallbackInfo), MensajeError = COALESCE({mensaje}, MensajeError), "
    "RondasNoEncontrado = 0 "
    f"WHERE EjecucionId = ? AND {no_terminal()} AND Estado <> ?"
))
# The same without the callback body (Conciliador batches, executemany).
_registrar("aplicar_estado_por_id", (
    "UPDATE {t}Ejecuciones SET Estado = ?, FechaActualizacion = ?, FechaFin = ?, "
    "MensajeError = COALESCE({mensaje}, MensajeError), RondasNoEncontrado = 0 "
    f"WHERE EjecucionId = ? AND {no_terminal()} AND Estado <> ?"
))
# Not-found counter (L5.4); FechaActualizacion only moves when the state changes.
_registrar("contar_no_encontrado", (
    "UPDATE {t}Ejecuciones SET RondasNoEncontrado = ?, "
    "FechaActualizacion = CASE WHEN Estado = ? THEN FechaActualizacion ELSE ? END, Estado = ? "
    f"WHERE EjecucionId = ? AND {no_terminal()}"
))
_registrar("cerrar_unknown", (
    "UPDATE {t}Ejecuciones SET FechaFin = ?, FechaActualizacion = ? "
    f"WHERE FechaFin IS NULL AND Estado = '{UNKNOWN}' AND FechaActualizacion <= ?"
))
_registrar("marcar_alerta_duracion", "UPDATE {t}Ejecuciones SET AlertaDuracionEnviada = 1 WHERE EjecucionId = ?")
# R1: the per-cycle reads below start with FechaFin IS NULL (ocupacion.abierta), the filter of the
# indexes on open rows (IX_Ejecuciones_Abiertas*): they read the open rows only, however long the
# history. The ordered read of open executions walks IX_Ejecuciones_Abiertas_Inicio in key order.
_registrar("ejecuciones_activas", (
    f"SELECT {_COLS_EJECUCION} FROM {{t}}Ejecuciones "
    f"WHERE {abierta()} ORDER BY FechaInicio, EjecucionId"
))
_registrar("ejecucion_por_id", f"SELECT {_COLS_EJECUCION} FROM {{t}}Ejecuciones WHERE EjecucionId = ?")
_registrar("lanzando_antiguas", (
    f"SELECT {_COLS_EJECUCION} FROM {{t}}Ejecuciones "
    f"WHERE FechaFin IS NULL AND Estado = '{LANZANDO}' AND DeploymentId IS NULL AND FechaInicio <= ? "
    "ORDER BY FechaInicio, EjecucionId"
))
_registrar("deployments_registrados",
           "SELECT DeploymentId FROM {t}Ejecuciones WHERE DeploymentId IN ({{marcas}})")
_registrar("insertar_callback", (
    "INSERT INTO {t}CallbacksRecibidos (DeploymentId, FechaRecepcion, Estado, Payload, Aplicado) "
    "VALUES (?, ?, ?, {payload}, ?)"
))
_registrar("callbacks_pendientes", (
    "SELECT CallbackId, DeploymentId, FechaRecepcion, Estado, Payload FROM {t}CallbacksRecibidos "
    "WHERE DeploymentId = ? AND Aplicado = 0 ORDER BY CallbackId"
))
# Safety net: pending callbacks whose execution is now recorded (any engine, any race).
# Driven from the open executions (the index on open rows) through IX_CallbacksRecibidos_DeploymentId,
# so neither ever-growing table is scanned (CROSS JOIN + WHERE: SQLite keeps this join order; the
# join itself excludes a NULL DeploymentId, and an explicit IS NOT NULL would make SQLite range-scan
# UX_Ejecuciones_DeploymentId, i.e. the whole history).
_registrar("callbacks_pendientes_con_ejecucion", (
    "SELECT c.CallbackId, c.DeploymentId, c.FechaRecepcion, c.Estado, c.Payload "
    "FROM {t}Ejecuciones e CROSS JOIN {t}CallbacksRecibidos c "
    f"WHERE {abierta('e.')} AND c.DeploymentId = e.DeploymentId AND c.Aplicado = 0 "
    "ORDER BY c.CallbackId"
))
# L5.7 late deployments: intents the LANZANDO recovery gave up (SAM's guess, FalloSinConfirmar = 1)
# recently, and pending callbacks whose DeploymentId no execution has (their deployment appeared
# after its intent was given up, or was never recorded). Both are small sets.
_registrar("abandonadas_desde", (
    f"SELECT {_COLS_EJECUCION} FROM {{t}}Ejecuciones "
    f"WHERE Estado = '{DEPLOY_FAILED}' AND FalloSinConfirmar = 1 AND DeploymentId IS NULL AND FechaFin >= ? "
    "ORDER BY FechaInicio, EjecucionId"
))
registrar(
    "ejecuciones.callbacks_huerfanos",
    tsql=(
        "SELECT TOP (200) c.CallbackId, c.DeploymentId, c.FechaRecepcion, c.Estado, c.Payload "
        "FROM dbo.CallbacksRecibidos c WHERE c.Aplicado = 0 AND NOT EXISTS "
        "(SELECT 1 FROM dbo.Ejecuciones e WHERE e.DeploymentId = c.DeploymentId) ORDER BY c.CallbackId"
    ),
    sqlite=(
        "SELECT c.CallbackId, c.DeploymentId, c.FechaRecepcion, c.Estado, c.Payload "
        "FROM CallbacksRecibidos c WHERE c.Aplicado = 0 AND NOT EXISTS "
        "(SELECT 1 FROM Ejecuciones e WHERE e.DeploymentId = c.DeploymentId) ORDER BY c.CallbackId LIMIT 200"
    ),
)
_registrar("marcar_callback_aplicado_por_id", "UPDATE {t}CallbacksRecibidos SET Aplicado = 1 WHERE CallbackId = ?")

# L3.2 intent row. ClaveIntento (a client-generated UUID, unique) makes it idempotent: a retry after a
# lost commit acknowledgement finds the row it already wrote instead of writing a second one.
_INSERT_INTENT_COLS = (
    "(RobotId, EquipoId, UserId, Hora, FechaInicio, Estado, FechaActualizacion, FechaSlot, "
    "RondasNoEncontrado, AlertaDuracionEnviada, ClaveIntento)"
)
registrar(
    "ejecuciones.insertar_intento",
    tsql=(
        f"INSERT INTO dbo.Ejecuciones {_INSERT_INTENT_COLS} OUTPUT INSERTED.EjecucionId "
        f"VALUES (?, ?, ?, ?, ?, '{LANZANDO}', ?, ?, 0, 0, ?)"
    ),
    sqlite=(
        f"INSERT INTO Ejecuciones {_INSERT_INTENT_COLS} "
        f"VALUES (?, ?, ?, ?, ?, '{LANZANDO}', ?, ?, 0, 0, ?) RETURNING EjecucionId"
    ),
)
_registrar("intento_por_clave", "SELECT EjecucionId FROM {t}Ejecuciones WHERE ClaveIntento = ?")
# H3 with HA on: the same insert, written only while the Liderazgo row still names this process
# (two more parameters: Rol, Titular). No row back = the role was lost; nothing is written.
registrar(
    "ejecuciones.insertar_intento_cercado",
    tsql=(
        f"INSERT INTO dbo.Ejecuciones {_INSERT_INTENT_COLS} OUTPUT INSERTED.EjecucionId "
        f"SELECT ?, ?, ?, ?, ?, '{LANZANDO}', ?, ?, 0, 0, ? WHERE {CONDICION_CERCO['tsql']}"
    ),
    sqlite=(
        f"INSERT INTO Ejecuciones {_INSERT_INTENT_COLS} "
        f"SELECT ?, ?, ?, ?, ?, '{LANZANDO}', ?, ?, 0, 0, ? WHERE {CONDICION_CERCO['sqlite']} RETURNING EjecucionId"
    ),
)


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
    clave: str | None = None,
    cerco: Cerco | None = None,
) -> int:
    """L3.2: record the intent (``Estado = LANZANDO``, ``FechaInicio = now``), committed. Returns the id.

    Idempotent: the row carries ``clave`` (a new UUID when not given) in ``ClaveIntento``. When
    the unit of work is retried (a lost connection or a commit whose acknowledgement never came),
    the retry first looks for the row the first attempt may have committed and returns it, so a
    retry never writes a second LANZANDO row. One statement on the usual path.

    With ``cerco`` (HA on, H3) the insert is conditional, in the same statement, on the
    ``Liderazgo`` row still naming this process: :class:`~common.liderazgo.LiderazgoPerdido` when
    it does not (no row written).
    """
    clave = clave or str(uuid.uuid4())
    params = (robot_id, equipo_id, user_id, hora, now, now, fecha_slot, clave)
    sentencia = "ejecuciones.insertar_intento"
    if cerco is not None:
        sentencia, params = "ejecuciones.insertar_intento_cercado", params + cerco.parametros()
    intentos = 0

    def work(tx: Any) -> int:
        nonlocal intentos
        intentos += 1
        if intentos > 1:
            previa = tx.query_one(sql(tx, "ejecuciones.intento_por_clave"), (clave,))
            if previa is not None:
                logger.info("Intento de lanzamiento %s ya registrado (reintento tras un error de conexión)", clave)
                return int(previa["EjecucionId"])
        row = tx.query_one(sql(tx, sentencia), params)
        if row is None and cerco is not None:
            raise LiderazgoPerdido(cerco.servicio, "el registro de la intención")
        if row is None:
            raise RuntimeError("INSERT sin identidad devuelta")
        return int(next(iter(row.values())))

    return db.run_in_transaction(work)


def mark_deployed(db: Any, ejecucion_id: int, deployment_id: str, now: datetime) -> bool:
    """L3.3: set ``DeploymentId``; ``DEPLOYED`` unless the row already moved on; apply pending callbacks.

    A callback that beat this update (recorded in ``CallbacksRecibidos`` with ``Aplicado = 0``) is
    applied here, in the same transaction. A row already terminal keeps its state (it gets the
    ``DeploymentId`` for traceability), except one closed by the Conciliador's LANZANDO recovery
    with "sin confirmación de A360" (L5.5): that was SAM's inference while the deploy call was still
    in flight; the confirmed deployment reopens it as ``DEPLOYED`` so its equipo counts busy.
    Returns whether the row took the deployment (False: no such row, or it has another one).
    """

    def work(tx: Any) -> bool:
        n = tx.execute(
            sql(tx, "ejecuciones.actualizar_deployment"), (deployment_id, now, ejecucion_id, deployment_id)
        )
        if n == 0:
            logger.warning(
                "La ejecución %s no existe o ya tiene otro DeploymentId; no se registra %s",
                ejecucion_id,
                deployment_id,
            )
            return False
        _apply_pending(tx, deployment_id, now)
        return True

    return bool(db.run_in_transaction(work))


def mark_deploy_failed(
    db: Any, ejecucion_id: int, mensaje: str, now: datetime, *, sin_confirmar: bool = False
) -> int:
    """L3.3: ``DEPLOY_FAILED`` with ``MensajeError`` and ``FechaFin`` (only a row without a deployment).

    ``sin_confirmar=True``: the failure is the LANZANDO recovery's guess (L5.5); the row is marked
    ``FalloSinConfirmar = 1`` so a deployment A360 confirms later revives it (:func:`mark_deployed`).
    Returns the rows changed (0: the row already has a deployment or a terminal state).
    """
    return db.execute(
        sql(db, "ejecuciones.marcar_deploy_fallido"),
        (_truncate(mensaje, MAX_MENSAJE_ERROR), now, now, 1 if sin_confirmar else 0, ejecucion_id),
    )


def mark_unconfirmed(db: Any, ejecucion_id: int, now: datetime) -> bool:
    """L5.5: the LANZANDO recovery found no deployment in A360: DEPLOY_FAILED "sin confirmación de
    A360", marked as SAM's guess (a deployment confirmed later revives the row). False when the row
    was settled meanwhile (another writer recorded its deployment or its end)."""
    return bool(mark_deploy_failed(db, ejecucion_id, MENSAJE_SIN_CONFIRMACION, now, sin_confirmar=True))


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
    ``"ignorado"`` (not allowed: the row is terminal — moved to ``Ejecuciones_Historico`` included —,
    or ``LANZANDO`` was asked) or
    ``"no_encontrado"`` (no row has that ``DeploymentId`` yet). A terminal state sets ``FechaFin``
    (``fecha_fin`` or ``now``); a non-terminal one leaves the row open (``FechaFin`` NULL).

    The row is read first, in the same transaction (on SQL Server with ``UPDLOCK, HOLDLOCK``, which
    also locks the key range when no row has that ``DeploymentId`` yet), then the decision is
    taken and the row updated. Under locking READ COMMITTED a callback racing
    :func:`mark_deployed` therefore either sees the deployment, or makes ``mark_deployed`` wait
    until its pending callback is committed, so :func:`_apply_pending` applies it. Two statements.
    """
    estado = normalize(status)
    if not estado:
        raise ValueError("estado vacío")
    fin = (fecha_fin or now) if estado in TERMINAL_STATES else None

    def work(tx: Any) -> str:
        row = tx.query_one(sql(tx, "ejecuciones.estado_por_deployment_bloqueo"), (deployment_id,))
        if row is None and tx.query_one(sql(tx, "ejecuciones.historico_por_deployment"), (deployment_id,)):
            return RESULT_IGNORADO  # moved to history (R2): terminal, nothing to change
        decision = _decidir(row, estado)
        if decision != RESULT_APLICADO:
            return decision
        n = tx.execute(
            sql(tx, "ejecuciones.aplicar_estado"),
            (estado, now, fin, callback_info, _truncate(mensaje, MAX_MENSAJE_ERROR), row["EjecucionId"], estado),
        )
        return RESULT_APLICADO if n else RESULT_IGNORADO

    return db.run_in_transaction(work)


def _decidir(row: dict | None, estado: str) -> str:
    """What a status update does to the row read (locked) for its deployment (monotonic rule)."""
    if row is None:
        return RESULT_NO_ENCONTRADO
    actual = row.get("Estado")
    if estado == LANZANDO:
        return RESULT_IGNORADO
    if actual is not None and normalize(actual) == estado:
        return RESULT_DUPLICADO
    return RESULT_APLICADO if may_replace(actual, estado) else RESULT_IGNORADO


def record_callback(db: Any, deployment_id: str, status: str, payload: str, now: datetime) -> str:
    """L4.3: apply a callback and record it in ``CallbacksRecibidos``, in one transaction.

    The row is recorded with ``Aplicado = 1`` when the execution exists (applied, duplicate or
    ignored) and ``Aplicado = 0`` when it does not yet (:func:`mark_deployed` applies it later).
    Three statements (read, update, record); two when the state does not change.
    """
    estado = normalize(status)

    def work(tx: Any) -> str:
        result = apply_status(tx, deployment_id, estado, now, callback_info=payload)
        aplicado = 0 if result == RESULT_NO_ENCONTRADO else 1
        tx.execute(sql(tx, "ejecuciones.insertar_callback"), (deployment_id, now, estado, payload, aplicado))
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
    pending = tx.query(sql(tx, "ejecuciones.callbacks_pendientes"), (deployment_id,))
    if not pending:
        return 0
    row = tx.query_one(sql(tx, "ejecuciones.estado_por_deployment"), (deployment_id,))
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
    tx.executemany(sql(tx, "ejecuciones.marcar_callback_aplicado_por_id"), [(cb["CallbackId"],) for cb in pending])
    return len(pending)


def apply_pending_callbacks(db: Any, now: datetime) -> int:
    """Safety net (run by the Conciliador): apply every pending callback whose execution now exists.

    :func:`mark_deployed` applies them in the usual case; this covers any interleaving in which a
    callback was recorded as pending just after the launcher looked. Returns the callbacks settled.
    """
    rows = db.query(sql(db, "ejecuciones.callbacks_pendientes_con_ejecucion"))
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
    """Open executions (:func:`common.database.ocupacion.abierta`), oldest first; optional age filter."""
    rows = [_normalize_row(dict(r)) for r in db.query(sql(db, "ejecuciones.ejecuciones_activas"))]
    if started_before is not None:
        rows = [r for r in rows if r["FechaInicio"] is not None and r["FechaInicio"] <= started_before]
    return rows


def get_execution(db: Any, ejecucion_id: int) -> dict | None:
    row = db.query_one(sql(db, "ejecuciones.ejecucion_por_id"), (ejecucion_id,))
    return _normalize_row(dict(row)) if row else None


def lanzando_older_than(db: Any, cutoff: datetime) -> list[dict]:
    """``LANZANDO`` rows without a deployment whose intent is older than ``cutoff`` (L5.5)."""
    return [_normalize_row(dict(r)) for r in db.query(sql(db, "ejecuciones.lanzando_antiguas"), (cutoff,))]


def deployment_ids_in_use(db: Any, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` are already recorded on some execution (one statement)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return set()
    texto = sql(db, "ejecuciones.deployments_registrados", marcas=len(ids))
    return {r["DeploymentId"] for r in db.query(texto, tuple(ids))}


def given_up_since(db: Any, desde: datetime) -> list[dict]:
    """L5.7: rows the LANZANDO recovery failed as its guess (``FalloSinConfirmar = 1``, no
    deployment) whose ``FechaFin`` is at or after ``desde``, oldest intent first."""
    return [_normalize_row(dict(r)) for r in db.query(sql(db, "ejecuciones.abandonadas_desde"), (desde,))]


def orphan_callbacks(db: Any) -> list[dict]:
    """L5.7: pending callbacks whose ``DeploymentId`` no execution has (at most 200, oldest first)."""
    return [dict(r) for r in db.query(sql(db, "ejecuciones.callbacks_huerfanos"))]


def adopt_deployment(
    db: Any,
    ejecucion_id: int,
    deployment_id: str,
    status: str | None,
    now: datetime,
    *,
    fecha_fin: datetime | None = None,
    mensaje: str | None = None,
) -> str | None:
    """L5.5: a LANZANDO row found in A360: record its deployment and the state A360 reports.

    Returns None when the row did not take the deployment (it has another one meanwhile), else the
    result of applying A360's state (``"aplicado"`` when there was none to apply)."""
    if not mark_deployed(db, ejecucion_id, deployment_id, now):
        return None
    if status and normalize(status) not in (DEPLOYED, LANZANDO):
        return apply_status(db, deployment_id, status, now, fecha_fin=fecha_fin, mensaje=mensaje)
    return RESULT_APLICADO


def apply_status_batch(db: Any, updates: Sequence[tuple[int, str, datetime, datetime | None, str | None]]) -> int:
    """Monotonic updates by ``EjecucionId`` in one ``executemany`` (returns the row count on SQLite,
    -1 on SQL Server: pyodbc does not count an ``executemany``; no caller decides on it).

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
    return db.executemany(sql(db, "ejecuciones.aplicar_estado_por_id"), params)


def update_not_found_batch(db: Any, updates: Sequence[tuple[int, int, str, datetime]]) -> int:
    """Set ``RondasNoEncontrado`` (and maybe the state) in one ``executemany`` (L5.4).

    ``updates``: ``(ejecucion_id, rondas, estado, now)``; ``FechaActualizacion`` moves only when
    ``estado`` differs from the stored one. Terminal rows are untouched.
    """
    if not updates:
        return 0
    params = [(rondas, normalize(estado), now, normalize(estado), eid) for eid, rondas, estado, now in updates]
    return db.executemany(sql(db, "ejecuciones.contar_no_encontrado"), params)


def close_unknown(db: Any, unknown_since_before: datetime, now: datetime) -> int:
    """Close (``FechaFin = now``) ``UNKNOWN`` rows that became UNKNOWN before the cutoff (L5.4)."""
    return db.execute(sql(db, "ejecuciones.cerrar_unknown"), (now, now, unknown_since_before))


def mark_duration_alerted(db: Any, ejecucion_ids: Iterable[int]) -> int:
    """L5.6: remember that the long-running alert was sent (one ``executemany``)."""
    params = [(i,) for i in ejecucion_ids]
    if not params:
        return 0
    return db.executemany(sql(db, "ejecuciones.marcar_alerta_duracion"), params)
