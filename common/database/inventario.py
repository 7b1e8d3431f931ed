"""SAM-DB home of the A360 inventory sync (BEHAVIOUR L1): ``Robots`` and ``Equipos`` upserts.

Only A360-owned columns are written; operator-owned columns (``Parametros``, ``EsOnline``,
``Activo``, ``MinEquipos``…, ``Activo_SAM``, ``EstadoBalanceador``, ``PermiteBalanceoDinamico``)
are never in an UPDATE and take their defaults on INSERT. Rows are never deleted: a device that
A360 no longer lists gets ``EstadoA360 = 'NO_ENCONTRADO'``, a robot ``ExisteEnA360 = 0``.

A constant number of statements per table, whatever the number of rows (L1.4). Both dialects sit
side by side:

- SQL Server: one ``MERGE`` per table fed by ``OPENJSON(?)`` (the rows as one JSON parameter),
  which also marks the missing rows (``WHEN NOT MATCHED BY SOURCE``); for ``Equipos`` two more
  set-based statements move the assignments of re-registered hosts.
- SQLite: one ``executemany`` upsert (``INSERT … ON CONFLICT DO UPDATE``), one ``UPDATE`` of the
  rows not touched by this sync (``FechaSincronizacion`` differs from this sync's stamp) and, for
  ``Equipos``, the same two statements to move assignments.

Every table is written in one transaction: a failure leaves it as it was.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
# Moving assignments of a re-registered host (both engines; standard SQL).
# "Old" = a row not seen in this sync; "new" = a row seen in this sync (FechaSincronizacion = the
# sync stamp) with the same host name (case-insensitive). Assignments move to the newest such id;
# when several old ids of that host hold the same robot, only the newest old one's row is copied
# (one row per (robot, new id): never a duplicate primary key).
# --------------------------------------------------------------------------------------------
_MOVER_ASIGNACIONES_INSERT = """INSERT INTO Asignaciones
    (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, AsignadoPor, ProgramacionId)
SELECT a.RobotId, nuevo.EquipoId, a.EsProgramado, a.Reservado, a.FechaAsignacion, a.AsignadoPor,
       a.ProgramacionId
FROM Asignaciones AS a
INNER JOIN Equipos AS viejo ON viejo.EquipoId = a.EquipoId
INNER JOIN Equipos AS nuevo
    ON UPPER(nuevo.Equipo) = UPPER(viejo.Equipo)
   AND nuevo.EquipoId = (
       SELECT MAX(n2.EquipoId) FROM Equipos AS n2
       WHERE UPPER(n2.Equipo) = UPPER(viejo.Equipo) AND n2.FechaSincronizacion = ?
   )
WHERE (viejo.FechaSincronizacion IS NULL OR viejo.FechaSincronizacion <> ?)
  AND nuevo.EquipoId <> viejo.EquipoId
  AND NOT EXISTS (
      SELECT 1 FROM Asignaciones AS ya
      WHERE ya.RobotId = a.RobotId AND ya.EquipoId = nuevo.EquipoId
  )
  AND NOT EXISTS (
      SELECT 1 FROM Asignaciones AS a2
      INNER JOIN Equipos AS v2 ON v2.EquipoId = a2.EquipoId
      WHERE a2.RobotId = a.RobotId
        AND UPPER(v2.Equipo) = UPPER(viejo.Equipo)
        AND v2.EquipoId > viejo.EquipoId
        AND (v2.FechaSincronizacion IS NULL OR v2.FechaSincronizacion <> ?)
  )"""

_MOVER_ASIGNACIONES_DELETE = """DELETE FROM Asignaciones
WHERE EXISTS (
    SELECT 1
    FROM Equipos AS viejo
    INNER JOIN Equipos AS nuevo
        ON UPPER(nuevo.Equipo) = UPPER(viejo.Equipo)
       AND nuevo.EquipoId <> viejo.EquipoId
       AND nuevo.FechaSincronizacion = ?
    WHERE viejo.EquipoId = Asignaciones.EquipoId
      AND (viejo.FechaSincronizacion IS NULL OR viejo.FechaSincronizacion <> ?)
)"""

# --------------------------------------------------------------------------------------------
# SQL Server
# --------------------------------------------------------------------------------------------
MERGE_EQUIPOS_TSQL = f"""MERGE dbo.Equipos WITH (HOLDLOCK) AS t
USING (
    SELECT j.EquipoId, j.Equipo, j.UserId, j.UserName, j.Licencia, j.EstadoA360, j.UsuarioActivoA360
    FROM OPENJSON(?) WITH (
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
    t.FechaSincronizacion = ?
WHEN NOT MATCHED BY TARGET THEN
    INSERT (EquipoId, Equipo, UserId, UserName, Licencia, EstadoA360, UsuarioActivoA360, FechaSincronizacion)
    VALUES (s.EquipoId, s.Equipo, s.UserId, s.UserName, s.Licencia, s.EstadoA360, s.UsuarioActivoA360, ?)
WHEN NOT MATCHED BY SOURCE AND (t.EstadoA360 IS NULL OR t.EstadoA360 <> N'{NO_ENCONTRADO}') THEN
    UPDATE SET t.EstadoA360 = N'{NO_ENCONTRADO}';"""  # noqa: S608

MERGE_ROBOTS_TSQL = """MERGE dbo.Robots WITH (HOLDLOCK) AS t
USING (
    SELECT j.RobotId, j.Robot, j.Descripcion
    FROM OPENJSON(?) WITH (
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
    t.FechaSincronizacion = ?
WHEN NOT MATCHED BY TARGET THEN
    INSERT (RobotId, Robot, Descripcion, ExisteEnA360, FechaSincronizacion)
    VALUES (s.RobotId, s.Robot, s.Descripcion, 1, ?)
WHEN NOT MATCHED BY SOURCE AND t.ExisteEnA360 <> 0 THEN
    UPDATE SET t.ExisteEnA360 = 0;"""

TSQL_STATEMENTS: dict[str, str] = {
    "inventario_merge_equipos": MERGE_EQUIPOS_TSQL,
    "inventario_merge_robots": MERGE_ROBOTS_TSQL,
    "inventario_mover_asignaciones_insert": _MOVER_ASIGNACIONES_INSERT,
    "inventario_mover_asignaciones_delete": _MOVER_ASIGNACIONES_DELETE,
}

# --------------------------------------------------------------------------------------------
# SQLite
# --------------------------------------------------------------------------------------------
UPSERT_EQUIPOS_SQLITE = """INSERT INTO Equipos
    (EquipoId, Equipo, UserId, UserName, Licencia, EstadoA360, UsuarioActivoA360, FechaSincronizacion)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (EquipoId) DO UPDATE SET
    Equipo = excluded.Equipo,
    UserId = excluded.UserId,
    UserName = excluded.UserName,
    Licencia = excluded.Licencia,
    EstadoA360 = excluded.EstadoA360,
    UsuarioActivoA360 = excluded.UsuarioActivoA360,
    FechaSincronizacion = excluded.FechaSincronizacion"""

MARCAR_EQUIPOS_NO_ENCONTRADOS_SQLITE = f"""UPDATE Equipos
SET EstadoA360 = '{NO_ENCONTRADO}'
WHERE (FechaSincronizacion IS NULL OR FechaSincronizacion <> ?)
  AND (EstadoA360 IS NULL OR EstadoA360 <> '{NO_ENCONTRADO}')"""  # noqa: S608

UPSERT_ROBOTS_SQLITE = """INSERT INTO Robots (RobotId, Robot, Descripcion, ExisteEnA360, FechaSincronizacion)
VALUES (?, ?, ?, 1, ?)
ON CONFLICT (RobotId) DO UPDATE SET
    Robot = excluded.Robot,
    Descripcion = excluded.Descripcion,
    ExisteEnA360 = 1,
    FechaSincronizacion = excluded.FechaSincronizacion"""

MARCAR_ROBOTS_AUSENTES_SQLITE = """UPDATE Robots
SET ExisteEnA360 = 0
WHERE (FechaSincronizacion IS NULL OR FechaSincronizacion <> ?)
  AND ExisteEnA360 <> 0"""


@dataclass
class ResultadoTabla:
    filas: int = 0
    marcadas_ausentes: int = 0
    asignaciones_movidas: int = 0
    sentencias: int = 0


def _stamp(now: datetime) -> datetime:
    """The stamp that identifies "seen in this sync", exactly as it is stored (no tz).

    SQL Server stores ``FechaSincronizacion`` as DATETIME2(3): a stamp with sub-millisecond digits
    would be rounded on write and then never compare equal to the parameter in the re-registration
    statements (assignments never moved). Whole milliseconds round-trip on both engines.
    """
    now = now.replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _count(tx: Any) -> int:
    return int(getattr(tx, "statement_count", 0) or 0)


def _mover_asignaciones(tx: Any, stamp: datetime) -> int:
    moved = tx.execute(_MOVER_ASIGNACIONES_INSERT, (stamp, stamp, stamp))
    tx.execute(_MOVER_ASIGNACIONES_DELETE, (stamp, stamp))
    return max(0, int(moved or 0))


def sincronizar_equipos(db: Any, filas: Sequence[FilaEquipo], now: datetime) -> ResultadoTabla:
    """Upsert the complete device list into ``Equipos`` (one transaction, constant statements)."""
    stamp = _stamp(now)
    result = ResultadoTabla(filas=len(filas))
    before = _count(db)
    with db.transaction() as tx:
        if db.engine == "sqlserver":
            payload = json.dumps(
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
            tx.execute(MERGE_EQUIPOS_TSQL, (payload, stamp, stamp))
            result.marcadas_ausentes = -1  # MERGE reports one combined row count
        else:
            tx.executemany(
                UPSERT_EQUIPOS_SQLITE,
                [
                    (
                        f.equipo_id,
                        f.equipo,
                        f.user_id,
                        f.user_name,
                        f.licencia,
                        f.estado_a360,
                        1 if f.usuario_activo else 0,
                        stamp,
                    )
                    for f in filas
                ],
            )
            result.marcadas_ausentes = max(0, int(tx.execute(MARCAR_EQUIPOS_NO_ENCONTRADOS_SQLITE, (stamp,))))
        result.asignaciones_movidas = _mover_asignaciones(tx, stamp)
    result.sentencias = _count(db) - before
    return result


def sincronizar_robots(db: Any, filas: Sequence[FilaRobot], now: datetime) -> ResultadoTabla:
    """Upsert the complete taskbot list into ``Robots`` (one transaction, constant statements)."""
    stamp = _stamp(now)
    result = ResultadoTabla(filas=len(filas))
    before = _count(db)
    with db.transaction() as tx:
        if db.engine == "sqlserver":
            payload = json.dumps(
                [{"RobotId": f.robot_id, "Robot": f.robot, "Descripcion": f.descripcion} for f in filas],
                ensure_ascii=False,
            )
            tx.execute(MERGE_ROBOTS_TSQL, (payload, stamp, stamp))
            result.marcadas_ausentes = -1
        else:
            tx.executemany(
                UPSERT_ROBOTS_SQLITE,
                [(f.robot_id, f.robot, f.descripcion, stamp) for f in filas],
            )
            result.marcadas_ausentes = max(0, int(tx.execute(MARCAR_ROBOTS_AUSENTES_SQLITE, (stamp,))))
    result.sentencias = _count(db) - before
    return result
