"""SQL Server parity: what pyodbc and SQL Server do differently from SQLite, pinned where no server runs.

Each test names the defect it guards against (see ARCHITECTURE §8.3). Where a behaviour can run on
SQLite (retries, idempotency, exact matches) it runs there for real; where only SQL Server shows it
(locking, parameter types) the test reads what would be sent to the server.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from balanceador.database import repositorio
from balanceador.service.balanceo import Accion, Plan
from common.database import ejecuciones as E
from common.database import sentencias
from common.database.sql_client import DatabaseClient, DatabaseError
from lanzador.database import inventario, seleccion

NOW = datetime(2026, 3, 2, 10, 0, 0)


class _TsqlGrabador:
    """Stands in for a SQL Server client: records what would be sent, answers from a script."""

    engine = "sqlserver"
    statement_count = 0

    def __init__(self, filas=None):
        self.enviado: list[str] = []
        self.filas = filas or {}

    def run_in_transaction(self, fn):
        return fn(self)

    def query_one(self, sql, params=()):
        self.enviado.append(sql)
        return self.filas.get("query_one")

    def query(self, sql, params=()):
        self.enviado.append(sql)
        return []

    def execute(self, sql, params=()):
        self.enviado.append(sql)
        return 1


# --- the callback race under locking READ COMMITTED -----------------------------------------------


def test_L4_3_callback_reads_and_locks_its_row_before_deciding_on_sql_server():
    """A callback racing mark_deployed: if it UPDATEs first (0 rows: no DeploymentId yet) and reads
    afterwards, the read can block behind mark_deployed and see DEPLOYED, so the callback is stored
    Aplicado = 1 without being applied. The row (or the empty key range) must be locked first."""
    falso = _TsqlGrabador({"query_one": {"EjecucionId": 5, "Estado": "DEPLOYED"}})
    assert E.record_callback(falso, "dep-1", "RUN_COMPLETED", "{}", NOW) == E.RESULT_APLICADO
    primero, segundo = falso.enviado[0], falso.enviado[1]
    assert primero.startswith("SELECT EjecucionId, Estado FROM dbo.Ejecuciones WITH (UPDLOCK, HOLDLOCK)")
    assert "WHERE DeploymentId = ?" in primero
    assert segundo.startswith("UPDATE dbo.Ejecuciones SET Estado = ?") and "WHERE EjecucionId = ?" in segundo
    assert falso.enviado[2].startswith("INSERT INTO dbo.CallbacksRecibidos")


def test_L4_3_callback_for_an_unrecorded_deployment_is_kept_pending_and_applied_by_mark_deployed(db):
    eid = E.insert_intent(db, robot_id=1, equipo_id=2, user_id=3, hora=None, fecha_slot=None, now=NOW)
    assert E.record_callback(db, "dep-x", "RUN_COMPLETED", "{}", NOW) == E.RESULT_NO_ENCONTRADO
    E.mark_deployed(db, eid, "dep-x", NOW)
    assert E.get_execution(db, eid)["Estado"] == "RUN_COMPLETED"
    assert db.query_one("SELECT Aplicado FROM CallbacksRecibidos")["Aplicado"] == 1


# --- long text parameters -------------------------------------------------------------------------


@pytest.mark.parametrize("nombre,fragmento", [
    ("ejecuciones.aplicar_estado", "CallbackInfo = COALESCE(CAST(? AS NVARCHAR(MAX)), CallbackInfo)"),
    ("ejecuciones.aplicar_estado", "MensajeError = COALESCE(CAST(? AS NVARCHAR(4000)), MensajeError)"),
    ("ejecuciones.aplicar_estado_por_id", "MensajeError = COALESCE(CAST(? AS NVARCHAR(4000)), MensajeError)"),
    ("ejecuciones.marcar_deploy_fallido", "MensajeError = CAST(? AS NVARCHAR(4000))"),
    ("ejecuciones.insertar_callback", "VALUES (?, ?, ?, CAST(? AS NVARCHAR(MAX)), ?)"),
    ("inventario.sincronizar_equipos", "OPENJSON(CAST(? AS NVARCHAR(MAX)))"),
    ("inventario.sincronizar_robots", "OPENJSON(CAST(? AS NVARCHAR(MAX)))"),
])
def test_long_text_reaches_sql_server_as_nvarchar_max_not_ntext(nombre, fragmento):
    """pyodbc binds a str over 2,000 characters as ntext; OPENJSON refuses ntext and COALESCE/= with
    it go through a deprecated type. The T-SQL casts every long-text parameter explicitly."""
    assert fragmento in sentencias.sentencia(nombre).tsql


def test_long_callback_body_and_message_are_stored_whole_on_sqlite(db):
    eid = E.insert_intent(db, robot_id=1, equipo_id=2, user_id=3, hora=None, fecha_slot=None, now=NOW)
    E.mark_deployed(db, eid, "dep-largo", NOW)
    cuerpo = '{"deploymentId": "dep-largo", "status": "RUN_FAILED", "x": "' + "é" * 5000 + '"}'
    assert E.record_callback(db, "dep-largo", "RUN_FAILED", cuerpo, NOW) == E.RESULT_APLICADO
    fila = db.query_one("SELECT CallbackInfo FROM Ejecuciones WHERE EjecucionId = ?", (eid,))
    assert fila["CallbackInfo"] == cuerpo
    assert db.query_one("SELECT Payload FROM CallbacksRecibidos")["Payload"] == cuerpo


# --- whole-unit retries (deadlock victims) ---------------------------------------------------------


def _plan(*acciones: Accion) -> Plan:
    return Plan(acciones=tuple(acciones), retenidos=(), deseados={}, final={})


class _FallaUnaVez(DatabaseClient):
    """A real SQLite client whose first executemany inside a transaction fails as a deadlock victim."""

    fallos = 1

    def executemany(self, sql, seq):
        if self.in_transaction and self.fallos:
            self.fallos -= 1
            raise DatabaseError("Error de base de datos SAM al ejecutar [40001]: deadlock victim (1205)",
                                retryable=True, native_code=1205, sqlstate="40001")
        return super().executemany(sql, seq)


def _cliente_que_falla(tmp_path) -> DatabaseClient:
    from common.database.schema import ensure_schema

    db = _FallaUnaVez(engine="sqlite", sqlite_path=tmp_path / "d.db", retry_base_delay=0, sleep=lambda s: None)
    ensure_schema(db)
    return db


def test_equipos_and_robots_sync_are_retried_whole_after_a_deadlock(tmp_path):
    db = _cliente_que_falla(tmp_path)
    filas = [inventario.FilaEquipo(i, f"VM{i}", 7, "u", "RUNTIME", "CONNECTED", True) for i in (1, 2)]
    res = inventario.sincronizar_equipos(db, filas, NOW)
    assert res.filas == 2 and db.fallos == 0
    assert db.query_one("SELECT COUNT(*) AS n FROM Equipos")["n"] == 2
    db.fallos = 1
    inventario.sincronizar_robots(db, [inventario.FilaRobot(5, "R5", None)], NOW)
    assert db.query_one("SELECT COUNT(*) AS n FROM Robots")["n"] == 1
    db.close_all()


def test_balancer_apply_is_retried_whole_after_a_deadlock(tmp_path):
    db = _cliente_que_falla(tmp_path)
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'R1')")
    db.execute("INSERT INTO Equipos (EquipoId, Equipo) VALUES (10, 'VM10')")
    plan = _plan(Accion("ASIGNAR", 1, (10,), "DEMANDA", "más tickets", 20, 0, 1))
    assert repositorio.aplicar(db, plan, NOW) == 1
    assert db.fallos == 0
    assert db.query_one("SELECT COUNT(*) AS n FROM Asignaciones")["n"] == 1
    assert db.query_one("SELECT COUNT(*) AS n FROM HistoricoBalanceo")["n"] == 1
    db.close_all()


# --- a lost commit acknowledgement must not create a second intent --------------------------------


class _AcuseDeCommitPerdido(DatabaseClient):
    """SQLite client whose first COMMIT succeeds but reports a lost connection (08S01), as a
    network drop right after the server committed does."""

    perdidos = 1

    def _end(self, conn, commit):
        super()._end(conn, commit)
        if commit and self.perdidos:
            self.perdidos -= 1
            raise DatabaseError("Error de base de datos SAM al confirmar la transacción [08S01]: "
                                "Communication link failure", retryable=True, connection_lost=True,
                                sqlstate="08S01")


def test_L3_2_intent_is_idempotent_when_the_commit_acknowledgement_is_lost(tmp_path):
    from common.database.schema import ensure_schema

    db = _AcuseDeCommitPerdido(engine="sqlite", sqlite_path=tmp_path / "i.db", retry_base_delay=0,
                               sleep=lambda s: None)
    ensure_schema(db)
    db.perdidos = 1
    eid = E.insert_intent(db, robot_id=1, equipo_id=2, user_id=3, hora=None, fecha_slot=None, now=NOW)
    filas = db.query("SELECT EjecucionId, ClaveIntento, Estado FROM Ejecuciones")
    assert [f["EjecucionId"] for f in filas] == [eid]  # one LANZANDO row, not two
    assert filas[0]["Estado"] == "LANZANDO" and len(filas[0]["ClaveIntento"]) == 36
    db.close_all()


def test_L3_2_intent_key_is_unique(db):
    E.insert_intent(db, robot_id=1, equipo_id=2, user_id=3, hora=None, fecha_slot=None, now=NOW, clave="k-1")
    with pytest.raises(DatabaseError) as err:
        db.execute("INSERT INTO Ejecuciones (RobotId, EquipoId, Estado, ClaveIntento) VALUES (1, 2, 'X', 'k-1')")
    assert err.value.integrity


# --- exact comparisons behave the same on both engines --------------------------------------------


def test_B9_only_rows_written_exactly_as_balanceador_are_the_balancers(db):
    """SQL Server's default collation would take 'balanceador ' for 'Balanceador' (and let the
    balancer delete a hand-made row); both engines must treat only the exact value as its own."""
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'R1')")
    for eid in (10, 11):
        db.execute("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)", (eid, f"VM{eid}"))
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor) VALUES (1, 10, 'Balanceador')")
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor) VALUES (1, 11, 'balanceador ')")
    plan = _plan(Accion("DESASIGNAR", 1, (10, 11), "SIN_TICKETS", "sin tickets", 0, 2, 0))
    repositorio.aplicar(db, plan, NOW)
    assert [r["EquipoId"] for r in db.query("SELECT EquipoId FROM Asignaciones")] == [11]
    tsql = repositorio.es_del_balanceador("a.", sentencias.TSQL)
    assert "COLLATE Latin1_General_BIN2" in tsql and "DATALENGTH(a.AsignadoPor) = 22" in tsql
    assert tsql in sentencias.sentencia("balanceador.insertar_asignacion").tsql
    assert repositorio.es_del_balanceador("", sentencias.TSQL) in sentencias.sentencia(
        "balanceador.borrar_asignacion").tsql


def test_L2_1_schedule_type_matches_without_case_or_trailing_spaces_on_sqlite_as_on_sql_server(db):
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'R1')")
    db.execute("INSERT INTO Equipos (EquipoId, Equipo, UserId, EstadoA360) VALUES (10, 'VM10', 7, 'CONNECTED')")
    db.execute("INSERT INTO Programaciones (RobotId, TipoProgramacion, HoraInicio) VALUES (1, 'diaria ', '09:55:00')")
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado) VALUES (1, 10, 1)")
    assert [(f.robot_id, f.equipo_id) for f in seleccion.obtener_robots_ejecutables(db, NOW)] == [(1, 10)]


def test_L4_deployment_ids_match_case_insensitively_on_both_engines(db):
    """A360 deployment ids are UUIDs; SQL Server's default collation matches them regardless of
    case, so SQLite does too (COLLATE NOCASE) and a callback finds its row on both."""
    eid = E.insert_intent(db, robot_id=1, equipo_id=2, user_id=3, hora=None, fecha_slot=None, now=NOW)
    E.mark_deployed(db, eid, "abcdef00-1111-2222-3333-444455556666", NOW)
    assert E.record_callback(db, "ABCDEF00-1111-2222-3333-444455556666", "RUN_COMPLETED", "{}",
                             NOW + timedelta(seconds=5)) == E.RESULT_APLICADO
    assert E.get_execution(db, eid)["Estado"] == "RUN_COMPLETED"
