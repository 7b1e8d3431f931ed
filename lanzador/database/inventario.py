"""SAM-DB home of the A360 inventory sync (BEHAVIOUR L1): ``Robots`` and ``Equipos`` upserts.

Only A360-owned columns are written; operator-owned columns (``Parametros``, ``EsOnline``,
``Activo``, ``MinEquipos``…, ``Activo_SAM``, ``EstadoBalanceador``, ``PermiteBalanceoDinamico``)
are never in an UPDATE and take their defaults on INSERT. Rows are never deleted: a device that
A360 no longer lists gets ``EstadoA360 = 'NO_ENCONTRADO'``, a robot ``ExisteEnA360 = 0``.

A constant number of statements per table, whatever the number of rows (L1.4). Both dialects sit
side by side:

- SQL Server: one ``MERGE`` per table fed by ``OPENJSON`` (the rows as one JSON parameter),
  which also marks the missing rows (``WHEN NOT MATCHED BY SOURCE``); for ``Equipos`` two more
  set-based statements move the assignments of re-registered hosts.
- SQLite: one ``executemany`` upsert (``INSERT … ON CONFLICT DO UPDATE``), one ``UPDATE`` of the
  rows not touched by this sync (``FechaSincronizacion`` differs from this sync's stamp) and, for
  ``Equipos``, the same two statements to move assignments.

Every table is written in one transaction, retried whole on a deadlock: a failure leaves it as it was.
The statements live in the SQL registry (:mod:`common.database.sentencias`) under ``inventario.*``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.database import sentencias

NO_ENCONTRADO = "NO_ENCONTRADO"


@dataclass(frozen=True)
class FilaEquipo:
    equipo_id: int
    equipo: str
    user_id: int | None
    user_name: str | None
    licencia: str
    estado_a360: str
    usuario_activo: bool


@dataclass(frozen=True)
class FilaRobot:
    robot_id: int
    robot: str
    descripcion: str | None


# --------------------------------------------------------------------------------------------
# Both dialects share one template. The sync stamp (the value that identifies "seen in this sync")
# is bound ONCE as the first parameter and compared through {s}:
# - T-SQL: a typed variable ``DECLARE @Sincronizacion DATETIME2(3) = ?``. pyodbc sends a datetime
#   as the legacy ``datetime`` type (1/300 s ticks); compared with ``=`` against the DATETIME2(3)
#   column it would be false for about 70 % of stamps and the move would silently not happen;
# - SQLite: ``WITH prm AS (SELECT ? AS s)``, the stamp as the same text the rows were written with.
# Host names are compared case-insensitively and without trailing spaces on both engines.
# --------------------------------------------------------------------------------------------
_DIALECTO = {
    sentencias.TSQL: {
        "t": "dbo.",
        "decl": "DECLARE @Sincronizacion DATETIME2(3) = ?;\n",
        "s": "@Sincronizacion",
        "host": "UPPER({c})",
        "bloqueo": " WITH (UPDLOCK, HOLDLOCK)",
        "fin": ";\nSELECT @@ROWCOUNT AS Filas;",
    },
    sentencias.SQLITE: {
        "t": "",
        "decl": "WITH prm AS (SELECT ? AS s)\n",
        "s": "(SELECT s FROM prm)",
        "host": "UPPER(RTRIM({c}))",
        "bloqueo": "",
        "fin": "",
    },
}


def _host(dialecto: str, columna: str) -> str:
    return _DIALECTO[dialecto]["host"].format(c=columna)


def _render(plantilla: str, dialecto: str) -> str:
    campos = dict(_DIALECTO[dialecto])
    for alias in ("nuevo", "viejo", "n2", "v2"):
        campos[f"host_{alias}"] = _host(dialecto, f"{alias}.Equipo")
    return plantilla.format(**campos)


def _registrar(nombre: str, plantilla: str, **otros: str) -> None:
    sentencias.registrar(
        f"inventario.{nombre}",
        tsql=_render(plantilla, sentencias.TSQL),
        sqlite=_render(plantilla, sentencias.SQLITE),
        **otros,
    )


# Moving assignments of a re-registered host. "Old" = a row not seen in this sync; "new" = a row
# seen in this sync with the same host name. Assignments move to the newest such id; when several
# old ids of that host hold the same robot, only the newest old one's row is copied (one row per
# (robot, new id): never a duplicate primary key). The NOT EXISTS guards lock what they check on
# SQL Server, so a concurrent balancer insert cannot slip in between check and insert.
_registrar("mover_asignaciones_insertar", """{decl}INSERT INTO {t}Asignaciones
    (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, AsignadoPor, ProgramacionId)
SELECT a.RobotId, nuevo.EquipoId, a.EsProgramado, a.Reservado, a.FechaAsignacion, a.AsignadoPor,
       a.ProgramacionId
FROM {t}Asignaciones AS a
INNER JOIN {t}Equipos AS viejo ON viejo.EquipoId = a.EquipoId
INNER JOIN {t}Equipos AS nuevo
    ON {host_nuevo} = {host_viejo}
   AND nuevo.EquipoId = (
       SELECT MAX(n2.EquipoId) FROM {t}Equipos AS n2
       WHERE {host_n2} = {host_viejo} AND n2.FechaSincronizacion = {s}
   )
WHERE (viejo.FechaSincronizacion IS NULL OR viejo.FechaSincronizacion <> {s})
  AND nuevo.EquipoId <> viejo.EquipoId
  AND NOT EXISTS (
      SELECT 1 FROM {t}Asignaciones AS ya{bloqueo}
      WHERE ya.RobotId = a.RobotId AND ya.EquipoId = nuevo.EquipoId
  )
  AND NOT EXISTS (
      SELECT 1 FROM {t}Asignaciones AS a2{bloqueo}
      INNER JOIN {t}Equipos AS v2{bloqueo} ON v2.EquipoId = a2.EquipoId
      WHERE a2.RobotId = a.RobotId
        AND {host_v2} = {host_viejo}
        AND v2.EquipoId > viejo.EquipoId
        AND (v2.FechaSincronizacion IS NULL OR v2.FechaSincronizacion <> {s})
  ){fin}""", filas="select")

_registrar("mover_asignaciones_borrar", """{decl}DELETE FROM {t}Asignaciones
WHERE EXISTS (
    SELECT 1
    FROM {t}Equipos AS viejo{bloqueo}
    INNER JOIN {t}Equipos AS nuevo{bloqueo}
        ON {host_nuevo} = {host_viejo}
       AND nuevo.EquipoId <> viejo.EquipoId
       AND nuevo.FechaSincronizacion = {s}
    WHERE viejo.EquipoId = Asignaciones.EquipoId
      AND (viejo.FechaSincronizacion IS NULL OR viejo.FechaSincronizacion <> {s})
){fin}""", filas="select")

# SQL Server: one MERGE per table fed by the rows as one JSON parameter (cast: pyodbc sends a str
# over 2,000 characters as ntext, which OPENJSON refuses).
sentencias.registrar(
    "inventario.sincronizar_equipos",
    tsql=f"""DECLARE @Sincronizacion DATETIME2(3) = ?;
MERGE dbo.Equipos WITH (HOLDLOCK) AS t
USING (
    SELECT j.EquipoId, j.Equipo, j.UserId, j.UserName, j.Licencia, j.EstadoA360, j.UsuarioActivoA360
    FROM OPENJSON(CAST(? AS NVARCHAR(MAX))) WITH (
        EquipoId INT '$.EquipoId',
        Equipo NVARCHAR(100) '$.Equipo',
        UserId INT '$.UserId',
        UserName NVARCHAR(100) '$.UserName',
        Licencia NVARCHAR(50) '$.Licencia',
        EstadoA360 NVARCHAR(50) '$.EstadoA360',
        UsuarioActivoA360 BIT '$.UsuarioActivoA360'
    ) AS j
) AS s
ON t.EquipoId = s.EquipoId
WHEN MATCHED THEN UPDATE SET
    t.Equipo = s.Equipo,
    t.UserId = s.UserId,
    t.UserName = s.UserName,
    t.Licencia = s.Licencia,
    t.EstadoA360 = s.EstadoA360,
    t.UsuarioActivoA360 = s.UsuarioActivoA360,
    t.FechaSincronizacion = @Sincronizacion
WHEN NOT MATCHED BY TARGET THEN
    INSERT (EquipoId, Equipo, UserId, UserName, Licencia, EstadoA360, UsuarioActivoA360, FechaSincronizacion)
    VALUES (s.EquipoId, s.Equipo, s.UserId, s.UserName, s.Licencia, s.EstadoA360, s.UsuarioActivoA360,
            @Sincronizacion)
WHEN NOT MATCHED BY SOURCE AND (t.EstadoA360 IS NULL OR t.EstadoA360 <> N'{NO_ENCONTRADO}') THEN
    UPDATE SET t.EstadoA360 = N'{NO_ENCONTRADO}';""",  # noqa: S608
    # SQLite: one executemany upsert, then the rows this sync did not touch are marked.
    sqlite="""INSERT INTO Equipos
    (EquipoId, Equipo, UserId, UserName, Licencia, EstadoA360, UsuarioActivoA360, FechaSincronizacion)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (EquipoId) DO UPDATE SET
    Equipo = excluded.Equipo,
    UserId = excluded.UserId,
    UserName = excluded.UserName,
    Licencia = excluded.Licencia,
    EstadoA360 = excluded.EstadoA360,
    UsuarioActivoA360 = excluded.UsuarioActivoA360,
    FechaSincronizacion = excluded.FechaSincronizacion""",
)
sentencias.registrar(
    "inventario.marcar_equipos_no_encontrados",
    tsql=None,  # the MERGE's WHEN NOT MATCHED BY SOURCE does it on SQL Server
    sqlite=f"""UPDATE Equipos
SET EstadoA360 = '{NO_ENCONTRADO}'
WHERE (FechaSincronizacion IS NULL OR FechaSincronizacion <> ?)
  AND (EstadoA360 IS NULL OR EstadoA360 <> '{NO_ENCONTRADO}')""",  # noqa: S608
)
sentencias.registrar(
    "inventario.sincronizar_robots",
    tsql="""DECLARE @Sincronizacion DATETIME2(3) = ?;
MERGE dbo.Robots WITH (HOLDLOCK) AS t
USING (
    SELECT j.RobotId, j.Robot, j.Descripcion
    FROM OPENJSON(CAST(? AS NVARCHAR(MAX))) WITH (
        RobotId INT '$.RobotId',
        Robot NVARCHAR(100) '$.Robot',
        Descripcion NVARCHAR(4000) '$.Descripcion'
    ) AS j
) AS s
ON t.RobotId = s.RobotId
WHEN MATCHED THEN UPDATE SET
    t.Robot = s.Robot,
    t.Descripcion = s.Descripcion,
    t.ExisteEnA360 = 1,
    t.FechaSincronizacion = @Sincronizacion
WHEN NOT MATCHED BY TARGET THEN
    INSERT (RobotId, Robot, Descripcion, ExisteEnA360, FechaSincronizacion)
    VALUES (s.RobotId, s.Robot, s.Descripcion, 1, @Sincronizacion)
WHEN NOT MATCHED BY SOURCE AND t.ExisteEnA360 <> 0 THEN
    UPDATE SET t.ExisteEnA360 = 0;""",
    sqlite="""INSERT INTO Robots (RobotId, Robot, Descripcion, ExisteEnA360, FechaSincronizacion)
VALUES (?, ?, ?, 1, ?)
ON CONFLICT (RobotId) DO UPDATE SET
    Robot = excluded.Robot,
    Descripcion = excluded.Descripcion,
    ExisteEnA360 = 1,
    FechaSincronizacion = excluded.FechaSincronizacion""",
)
sentencias.registrar(
    "inventario.marcar_robots_ausentes",
    tsql=None,  # the MERGE's WHEN NOT MATCHED BY SOURCE does it on SQL Server
    sqlite="""UPDATE Robots
SET ExisteEnA360 = 0
WHERE (FechaSincronizacion IS NULL OR FechaSincronizacion <> ?)
  AND ExisteEnA360 <> 0""",
)


@dataclass
class ResultadoTabla:
    filas: int = 0
    marcadas_ausentes: int = 0
    asignaciones_movidas: int = 0
    sentencias: int = 0


def _stamp(now: datetime) -> datetime:
    """The stamp that identifies "seen in this sync" (naive, whole milliseconds).

    SQLite compares it as the text it was written with. SQL Server compares it through the typed
    variable of each statement (see the templates above), so the value never round-trips through
    pyodbc's legacy ``datetime`` binding on its own.
    """
    now = now.replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _count(tx: Any) -> int:
    return int(getattr(tx, "statement_count", 0) or 0)


def _mover_asignaciones(tx: Any, stamp: datetime) -> int:
    moved = sentencias.ejecutar(tx, "inventario.mover_asignaciones_insertar", (stamp,))
    sentencias.ejecutar(tx, "inventario.mover_asignaciones_borrar", (stamp,))
    return max(0, int(moved or 0))


def _json_equipos(filas: Sequence[FilaEquipo]) -> str:
    return json.dumps(
        [
            {
                "EquipoId": f.equipo_id,
                "Equipo": f.equipo,
                "UserId": f.user_id,
                "UserName": f.user_name,
                "Licencia": f.licencia,
                "EstadoA360": f.estado_a360,
                "UsuarioActivoA360": 1 if f.usuario_activo else 0,
            }
            for f in filas
        ],
        ensure_ascii=False,
    )


def _filas_sqlite_equipos(filas: Sequence[FilaEquipo], stamp: datetime) -> list[tuple]:
    return [
        (f.equipo_id, f.equipo, f.user_id, f.user_name, f.licencia, f.estado_a360, 1 if f.usuario_activo else 0,
         stamp)
        for f in filas
    ]


def sincronizar_equipos(db: Any, filas: Sequence[FilaEquipo], now: datetime) -> ResultadoTabla:
    """Upsert the complete device list into ``Equipos`` (one transaction, constant statements).

    The whole unit is retried if the database picks it as a deadlock victim (a whole-unit retry:
    a transaction rolled back by the server cannot be continued statement by statement).
    """
    stamp = _stamp(now)
    before = _count(db)

    def unidad(tx: Any) -> ResultadoTabla:
        result = ResultadoTabla(filas=len(filas))
        if sentencias.dialecto(tx) == sentencias.TSQL:
            tx.execute(sentencias.sql(tx, "inventario.sincronizar_equipos"), (stamp, _json_equipos(filas)))
            result.marcadas_ausentes = -1  # MERGE reports one combined row count
        else:
            tx.executemany(sentencias.sql(tx, "inventario.sincronizar_equipos"), _filas_sqlite_equipos(filas, stamp))
            result.marcadas_ausentes = max(
                0, sentencias.ejecutar(tx, "inventario.marcar_equipos_no_encontrados", (stamp,))
            )
        result.asignaciones_movidas = _mover_asignaciones(tx, stamp)
        return result

    result = db.run_in_transaction(unidad)
    result.sentencias = _count(db) - before
    return result


def sincronizar_robots(db: Any, filas: Sequence[FilaRobot], now: datetime) -> ResultadoTabla:
    """Upsert the complete taskbot list into ``Robots`` (one transaction, constant statements)."""
    stamp = _stamp(now)
    before = _count(db)

    def unidad(tx: Any) -> ResultadoTabla:
        result = ResultadoTabla(filas=len(filas))
        if sentencias.dialecto(tx) == sentencias.TSQL:
            payload = json.dumps(
                [{"RobotId": f.robot_id, "Robot": f.robot, "Descripcion": f.descripcion} for f in filas],
                ensure_ascii=False,
            )
            tx.execute(sentencias.sql(tx, "inventario.sincronizar_robots"), (stamp, payload))
            result.marcadas_ausentes = -1
        else:
            tx.executemany(
                sentencias.sql(tx, "inventario.sincronizar_robots"),
                [(f.robot_id, f.robot, f.descripcion, stamp) for f in filas],
            )
            result.marcadas_ausentes = max(0, sentencias.ejecutar(tx, "inventario.marcar_robots_ausentes", (stamp,)))
        return result

    result = db.run_in_transaction(unidad)
    result.sentencias = _count(db) - before
    return result
