"""Retention of the execution history (BEHAVIOUR §14 R2–R3), on both engines, from Python.

One run (:func:`ejecutar`):

1. moves closed executions (``FechaFin IS NOT NULL``: terminal, or ``UNKNOWN`` closed after its
   tolerance) whose ``FechaFin`` is older than ``dias_ejecuciones`` days from ``Ejecuciones`` to
   ``Ejecuciones_Historico``, in batches of ``lote`` rows (:func:`mover_lote`). Each batch is ONE
   transaction: copy the batch into history (skipping ids already there), then delete from the
   live table exactly the ids of the batch that are now in history. A process killed at any
   moment therefore loses nothing and duplicates nothing, and the next run finishes the job.
   A row without ``FechaFin`` is never selected;
2. purges, in batches too, history rows whose ``FechaFin`` is older than ``dias_historico`` days
   (0 = keep them forever), applied ``CallbacksRecibidos`` older than ``dias_callbacks`` days and
   ``HistoricoBalanceo`` rows older than ``dias_balanceo`` days;
3. records today's date as the last completed run in ``Mantenimiento`` (the Lanzador's daily job
   reads it: :mod:`lanzador.service.mantenimiento`).

``detener`` (a ``threading.Event``) is checked between batches: a stopped run returns with
``completo = False`` and does not record the date, so the next tick resumes it. Between batches
the run waits ``pausa`` seconds, so the launcher's writers are never queued behind more than one
batch.

SQL Server: ``dbo.Mantenimiento_MoverAHistorico`` in ``SAM.sql`` runs the same steps for an operator
by hand; the service runs the per-batch statements below itself so it can stop between batches.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from common.database import sentencias
from common.database.sql_client import DatabaseError
from common.utils.alertas import plural
from common.utils.config_manager import ajuste

logger = logging.getLogger("sam.database.mantenimiento")

#: Key of the retention job in ``Mantenimiento``.
TAREA_HISTORIAL = "historial"

#: Columns of ``Ejecuciones`` copied to ``Ejecuciones_Historico`` (all of them).
COLUMNAS_EJECUCION = (
    "EjecucionId, DeploymentId, RobotId, EquipoId, UserId, Hora, FechaInicio, FechaFin, Estado, "
    "FechaActualizacion, CallbackInfo, MensajeError, FechaSlot, RondasNoEncontrado, "
    "AlertaDuracionEnviada, ClaveIntento, FalloSinConfirmar"
)
_COLS_E = ", ".join(f"e.{c.strip()}" for c in COLUMNAS_EJECUCION.split(","))

#: SQL Server error 9002: the transaction log of the database is full.
ERROR_LOG_LLENO = 9002

# ruff: noqa: S608 - the statements below are built from constants only (no input is ever formatted in)

# --- the batch move -------------------------------------------------------------------------------
# T-SQL: one batch. The ids of the batch are read (and locked) once into @Ids, so the copy and the
# delete work on exactly the same rows; the delete only removes ids present in history.
sentencias.registrar(
    "mantenimiento.mover_lote",
    tsql=f"""DECLARE @Limite DATETIME2(3) = ?;
DECLARE @Ahora DATETIME2(3) = ?;
DECLARE @Lote INT = ?;
DECLARE @Ids TABLE (EjecucionId INT NOT NULL PRIMARY KEY);
INSERT INTO @Ids (EjecucionId)
SELECT TOP (@Lote) x.EjecucionId
FROM dbo.Ejecuciones AS x WITH (UPDLOCK, HOLDLOCK)
WHERE x.FechaFin IS NOT NULL AND x.FechaFin < @Limite
ORDER BY x.EjecucionId;
INSERT INTO dbo.Ejecuciones_Historico ({COLUMNAS_EJECUCION}, FechaMovimiento)
SELECT {_COLS_E}, @Ahora
FROM dbo.Ejecuciones AS e
INNER JOIN @Ids AS i ON i.EjecucionId = e.EjecucionId
WHERE NOT EXISTS (
    SELECT 1 FROM dbo.Ejecuciones_Historico AS h WITH (UPDLOCK, HOLDLOCK)
    WHERE h.EjecucionId = e.EjecucionId
);
DELETE FROM dbo.Ejecuciones
WHERE EjecucionId IN (
    SELECT h.EjecucionId
    FROM dbo.Ejecuciones_Historico AS h WITH (UPDLOCK, HOLDLOCK)
    INNER JOIN @Ids AS i ON i.EjecucionId = h.EjecucionId
);
SELECT @@ROWCOUNT AS Filas;""",
    sqlite=None,
    filas="select",
)
# SQLite: the same two steps as two statements of one write transaction (BEGIN IMMEDIATE: no other
# writer in between, so both subqueries select the same ids). Ordered by EjecucionId: the oldest
# rows come first, so the scan stops after about one batch of rows.
_LOTE_SQLITE = (
    "SELECT x.EjecucionId FROM Ejecuciones AS x "
    "WHERE x.FechaFin IS NOT NULL AND x.FechaFin < ? ORDER BY x.EjecucionId LIMIT ?"
)
sentencias.registrar(
    "mantenimiento.copiar_lote",
    tsql=None,
    sqlite=(
        f"INSERT INTO Ejecuciones_Historico ({COLUMNAS_EJECUCION}, FechaMovimiento) "
        f"SELECT {_COLS_E}, ? FROM Ejecuciones AS e "
        f"WHERE e.EjecucionId IN ({_LOTE_SQLITE}) "
        "AND NOT EXISTS (SELECT 1 FROM Ejecuciones_Historico AS h WHERE h.EjecucionId = e.EjecucionId)"
    ),
)
sentencias.registrar(
    "mantenimiento.borrar_lote",
    tsql=None,
    sqlite=(
        f"DELETE FROM Ejecuciones WHERE EjecucionId IN ({_LOTE_SQLITE}) "
        "AND EXISTS (SELECT 1 FROM Ejecuciones_Historico AS h WHERE h.EjecucionId = Ejecuciones.EjecucionId)"
    ),
)

# --- purges: parameters (limit, batch) on both engines ----------------------------------------------
_PURGAS = {
    # name: (table, key, date column, extra condition)
    "historico": ("Ejecuciones_Historico", "EjecucionId", "FechaFin", ""),
    "callbacks": ("CallbacksRecibidos", "CallbackId", "FechaRecepcion", "Aplicado = 1 AND "),
    "balanceo": ("HistoricoBalanceo", "HistoricoId", "FechaBalanceo", ""),
}
for _nombre, (_tabla, _clave, _fecha, _extra) in _PURGAS.items():
    sentencias.registrar(
        f"mantenimiento.purgar_{_nombre}",
        tsql=(
            "DECLARE @Limite DATETIME2(3) = ?;\n"
            "DECLARE @Lote INT = ?;\n"
            f"DELETE FROM dbo.{_tabla} WHERE {_clave} IN (SELECT TOP (@Lote) {_clave} FROM dbo.{_tabla} "
            f"WHERE {_extra}{_fecha} < @Limite ORDER BY {_clave});\n"
            "SELECT @@ROWCOUNT AS Filas;"
        ),
        sqlite=(
            f"DELETE FROM {_tabla} WHERE {_clave} IN ("
            f"SELECT {_clave} FROM {_tabla} WHERE {_extra}{_fecha} < ? ORDER BY {_clave} LIMIT ?)"
        ),
        filas="select",
    )

# --- state of the daily job ----------------------------------------------------------------------
sentencias.registrar(
    "mantenimiento.ultima_completa",
    tsql="SELECT UltimaEjecucionCompleta FROM dbo.Mantenimiento WHERE Tarea = ?",
    sqlite="SELECT UltimaEjecucionCompleta FROM Mantenimiento WHERE Tarea = ?",
)
sentencias.registrar(
    "mantenimiento.marcar_completa",
    tsql="""DECLARE @Tarea NVARCHAR(50) = ?;
DECLARE @Fecha DATE = ?;
DECLARE @Ahora DATETIME2(3) = ?;
UPDATE dbo.Mantenimiento WITH (UPDLOCK, HOLDLOCK)
SET UltimaEjecucionCompleta = @Fecha, FechaActualizacion = @Ahora
WHERE Tarea = @Tarea;
IF @@ROWCOUNT = 0
    INSERT INTO dbo.Mantenimiento (Tarea, UltimaEjecucionCompleta, FechaActualizacion)
    VALUES (@Tarea, @Fecha, @Ahora);
SELECT 1 AS Filas;""",
    sqlite=(
        "INSERT INTO Mantenimiento (Tarea, UltimaEjecucionCompleta, FechaActualizacion) VALUES (?, ?, ?) "
        "ON CONFLICT (Tarea) DO UPDATE SET UltimaEjecucionCompleta = excluded.UltimaEjecucionCompleta, "
        "FechaActualizacion = excluded.FechaActualizacion"
    ),
    filas="select",
)


class MantenimientoError(Exception):
    """The retention job failed; the message (Spanish) says why and what to do."""


@dataclass(frozen=True)
class AjustesMantenimiento:
    dias_ejecuciones: int = 7
    dias_historico: int = 365
    lote: int = 5000
    dias_callbacks: int = 30
    dias_balanceo: int = 365

    @classmethod
    def from_config(cls, cfg: Any) -> AjustesMantenimiento:
        return cls(
            dias_ejecuciones=int(ajuste(cfg, "MANTENIMIENTO_DIAS_EJECUCIONES")),
            dias_historico=int(ajuste(cfg, "MANTENIMIENTO_DIAS_HISTORICO")),
            lote=int(ajuste(cfg, "MANTENIMIENTO_LOTE")),
        )


@dataclass
class ResumenMantenimiento:
    movidas: int = 0
    lotes: int = 0
    historico_purgadas: int = 0
    callbacks_purgados: int = 0
    balanceo_purgados: int = 0
    #: False when the run was stopped between batches (the date is not recorded).
    completo: bool = False
    segundos: float = 0.0

    @property
    def purgadas(self) -> int:
        return self.historico_purgadas + self.callbacks_purgados + self.balanceo_purgados

    def describir(self) -> str:
        return (
            f"{self.movidas} ejecuciones movidas a Ejecuciones_Historico en {plural(self.lotes, 'lote', 'lotes')}; "
            f"purgadas {self.historico_purgadas} del histórico de ejecuciones, "
            f"{self.callbacks_purgados} callbacks aplicados y {self.balanceo_purgados} filas de "
            f"HistoricoBalanceo ({self.segundos:.1f} s)"
        )


def _traducir(exc: DatabaseError) -> Exception:
    if exc.native_code == ERROR_LOG_LLENO or "9002" in str(exc):
        return MantenimientoError(
            "El registro de transacciones de la base de datos SAM está lleno (error 9002): el "
            "mantenimiento del historial se ha detenido sin perder nada (cada lote es una transacción). "
            "Haga una copia del registro (BACKUP LOG) o amplíe su tamaño, reduzca MANTENIMIENTO_LOTE "
            f"si hace falta, y el trabajo continuará en su próxima ejecución. Detalle: {exc}"
        )
    return exc


def mover_lote(db: Any, limite_fin: datetime, lote: int, ahora: datetime) -> int:
    """Move one batch of up to ``lote`` closed executions with ``FechaFin < limite_fin`` to history,
    in one transaction (retried whole on a deadlock). Returns the rows removed from the live table."""

    def work(tx: Any) -> int:
        if sentencias.dialecto(tx) == sentencias.TSQL:
            return sentencias.ejecutar(tx, "mantenimiento.mover_lote", (limite_fin, ahora, int(lote)))
        sentencias.ejecutar(tx, "mantenimiento.copiar_lote", (ahora, limite_fin, int(lote)))
        return sentencias.ejecutar(tx, "mantenimiento.borrar_lote", (limite_fin, int(lote)))

    try:
        return int(db.run_in_transaction(work))
    except DatabaseError as exc:
        raise _traducir(exc) from exc


def purgar_lote(db: Any, que: str, limite: datetime, lote: int) -> int:
    """Delete one batch of up to ``lote`` rows of ``que`` (historico, callbacks, balanceo) older
    than ``limite``, in one transaction. Returns the rows deleted."""
    nombre = f"mantenimiento.purgar_{que}"

    try:
        return int(db.run_in_transaction(lambda tx: sentencias.ejecutar(tx, nombre, (limite, int(lote)))))
    except DatabaseError as exc:
        raise _traducir(exc) from exc


def ultima_completa(db: Any, tarea: str = TAREA_HISTORIAL) -> date | None:
    """Date of the last completed run of ``tarea`` (None: never)."""
    fila = db.query_one(sentencias.sql(db, "mantenimiento.ultima_completa"), (tarea,))
    valor = fila.get("UltimaEjecucionCompleta") if fila else None
    if isinstance(valor, datetime):
        return valor.date()
    if isinstance(valor, str):
        return date.fromisoformat(valor[:10])
    return valor


def marcar_completa(db: Any, fecha: date, ahora: datetime, tarea: str = TAREA_HISTORIAL) -> None:
    db.run_in_transaction(lambda tx: sentencias.ejecutar(tx, "mantenimiento.marcar_completa", (tarea, fecha, ahora)))


#: SQLite has one writer at a time: a batch holds every other writer (the launcher's intents) for
#: its whole duration, so batches there are sized to take about this long (seconds).
DURACION_LOTE_SQLITE_SEG = 0.05
LOTE_MINIMO = 100


def _siguiente_lote(actual: int, filas: int, segundos: float, objetivo: float | None, maximo: int) -> int:
    """The size of the next batch: ``maximo`` without a target; else scaled to take ``objetivo`` s."""
    if objetivo is None or filas <= 0 or segundos <= 0:
        return actual
    return max(min(LOTE_MINIMO, maximo), min(maximo, int(filas * objetivo / segundos)))


def ejecutar(
    db: Any,
    ahora: datetime,
    ajustes: AjustesMantenimiento,
    *,
    detener: threading.Event | None = None,
    pausa: float = 0.0,
    ceder: Callable[[], object] | None = None,
    duracion_lote_seg: float | None = None,
    log: logging.Logger | None = None,
) -> ResumenMantenimiento:
    """One retention run (module doc). Raises :class:`MantenimientoError` or ``DatabaseError``.

    ``ceder`` is called before every batch and may block while a launch cycle is in progress (the
    Lanzador passes one), so a cycle waits at most for the batch it found running. On SQLite the
    batches are sized to last about :data:`DURACION_LOTE_SQLITE_SEG` (``duracion_lote_seg``
    overrides it; never more than ``ajustes.lote`` rows).
    """
    log = log or logger
    detener = detener or threading.Event()
    maximo = max(1, int(ajustes.lote))
    objetivo = duracion_lote_seg
    if objetivo is None and sentencias.dialecto(db) == sentencias.SQLITE:
        objetivo = DURACION_LOTE_SQLITE_SEG
    lote = min(maximo, LOTE_MINIMO) if objetivo is not None else maximo
    resumen = ResumenMantenimiento()
    inicio = time.monotonic()

    def seguir() -> bool:
        """Between two batches: False when asked to stop; otherwise a short pause and the launcher's turn."""
        if detener.is_set():
            return False
        if pausa > 0 and detener.wait(pausa):
            return False
        if ceder is not None:
            ceder()
        return not detener.is_set()

    limite_fin = ahora - timedelta(days=max(1, int(ajustes.dias_ejecuciones)))
    while True:
        t = time.monotonic()
        n = mover_lote(db, limite_fin, lote, ahora)
        resumen.movidas += n
        resumen.lotes += 1 if n else 0
        if n < lote:
            break
        lote = _siguiente_lote(lote, n, time.monotonic() - t, objetivo, maximo)
        if not seguir():
            return _detenido(resumen, inicio, log)

    purgas = [("callbacks", ajustes.dias_callbacks), ("balanceo", ajustes.dias_balanceo)]
    if ajustes.dias_historico > 0:
        purgas.insert(0, ("historico", ajustes.dias_historico))
    for que, dias in purgas:
        limite = ahora - timedelta(days=int(dias))
        tamano = min(maximo, LOTE_MINIMO) if objetivo is not None else maximo
        while True:
            if not seguir():
                return _detenido(resumen, inicio, log)
            t = time.monotonic()
            n = purgar_lote(db, que, limite, tamano)
            setattr(resumen, _CAMPO[que], getattr(resumen, _CAMPO[que]) + n)
            if n < tamano:
                break
            tamano = _siguiente_lote(tamano, n, time.monotonic() - t, objetivo, maximo)

    marcar_completa(db, ahora.date(), ahora)
    resumen.completo = True
    resumen.segundos = time.monotonic() - inicio
    log.info("Mantenimiento del historial completado: %s.", resumen.describir())
    return resumen


_CAMPO = {"historico": "historico_purgadas", "callbacks": "callbacks_purgados", "balanceo": "balanceo_purgados"}


def _detenido(resumen: ResumenMantenimiento, inicio: float, log: logging.Logger) -> ResumenMantenimiento:
    resumen.segundos = time.monotonic() - inicio
    log.info(
        "Mantenimiento del historial interrumpido por la detención del servicio (se continúa en la "
        "próxima ejecución): %s.",
        resumen.describir(),
    )
    return resumen
