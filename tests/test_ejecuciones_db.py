"""common/database/ejecuciones.py against a real SQLite SAM DB (L3.2, L3.3, L4.3, L5.4)."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta

import pytest

from common.database import ejecuciones as E
from common.database.sql_client import DatabaseClient
from common.execution_states import TERMINAL_STATES

NOW = datetime(2026, 3, 2, 10, 0, 0)


def _intent(db, robot=1, equipo=2, user=3, now=NOW, hora=None, slot=None):
    return E.insert_intent(db, robot_id=robot, equipo_id=equipo, user_id=user, hora=hora, fecha_slot=slot, now=now)


def _callbacks(db):
    return db.query("SELECT * FROM CallbacksRecibidos ORDER BY CallbackId")


def test_L3_2_intent_row_is_lanzando_committed_with_slot(db, tmp_path):
    eid = _intent(db, hora=time(9, 30), slot=date(2026, 3, 2))
    other = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")  # another connection sees it
    row = other.query_one("SELECT * FROM Ejecuciones WHERE EjecucionId = ?", (eid,))
    other.close_all()
    assert row["Estado"] == "LANZANDO"
    assert row["FechaInicio"] == NOW and row["FechaActualizacion"] == NOW
    assert row["Hora"] == time(9, 30) and row["FechaSlot"] == date(2026, 3, 2)
    assert row["DeploymentId"] is None and row["FechaFin"] is None
    assert row["RondasNoEncontrado"] == 0 and row["AlertaDuracionEnviada"] == 0


def test_L3_3_mark_deployed_sets_id_and_state(db):
    eid = _intent(db)
    E.mark_deployed(db, eid, "dep-1", NOW + timedelta(seconds=2))
    row = E.get_execution(db, eid)
    assert row["DeploymentId"] == "dep-1" and row["Estado"] == "DEPLOYED"
    assert row["FechaActualizacion"] == NOW + timedelta(seconds=2)


def test_L3_3_mark_deploy_failed_sets_message_and_end(db):
    eid = _intent(db)
    E.mark_deploy_failed(db, eid, "usuario deshabilitado", NOW)
    row = E.get_execution(db, eid)
    assert row["Estado"] == "DEPLOY_FAILED" and row["MensajeError"] == "usuario deshabilitado"
    assert row["FechaFin"] == NOW


def test_L3_3_deploy_failed_never_overwrites_a_confirmed_deployment(db):
    eid = _intent(db)
    E.mark_deployed(db, eid, "dep-1", NOW)
    E.mark_deploy_failed(db, eid, "tarde", NOW)
    assert E.get_execution(db, eid)["Estado"] == "DEPLOYED"


def test_L4_3_apply_status_terminal_sets_fecha_fin(db):
    eid = _intent(db)
    E.mark_deployed(db, eid, "dep-1", NOW)
    assert E.apply_status(db, "dep-1", "running", NOW) == "aplicado"
    assert E.get_execution(db, eid)["Estado"] == "RUNNING"
    assert E.get_execution(db, eid)["FechaFin"] is None
    end = NOW + timedelta(minutes=3)
    assert E.apply_status(db, "dep-1", "RUN_COMPLETED", end, callback_info='{"x": 1}') == "aplicado"
    row = db.query_one("SELECT * FROM Ejecuciones WHERE EjecucionId = ?", (eid,))
    assert row["Estado"] == "RUN_COMPLETED" and row["FechaFin"] == end and row["CallbackInfo"] == '{"x": 1}'


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATES - {"DEPLOY_FAILED"}))
def test_L4_3_terminal_state_never_regressed_or_replaced(db, terminal):
    eid = _intent(db)
    E.mark_deployed(db, eid, "dep-t", NOW)
    assert E.apply_status(db, "dep-t", terminal, NOW) == "aplicado"
    assert E.apply_status(db, "dep-t", "RUNNING", NOW + timedelta(seconds=5)) == "ignorado"
    assert E.apply_status(db, "dep-t", "RUN_FAILED" if terminal != "RUN_FAILED" else "COMPLETED", NOW) == "ignorado"
    assert E.apply_status(db, "dep-t", terminal, NOW + timedelta(seconds=9)) == "duplicado"
    row = E.get_execution(db, eid)
    assert row["Estado"] == terminal and row["FechaFin"] == NOW


def test_L4_3_unknown_deployment_is_no_encontrado(db):
    assert E.apply_status(db, "nadie", "RUN_COMPLETED", NOW) == "no_encontrado"


def test_L4_3_lanzando_is_never_written_by_apply_status(db):
    eid = _intent(db)
    E.mark_deployed(db, eid, "dep-1", NOW)
    assert E.apply_status(db, "dep-1", "LANZANDO", NOW) == "ignorado"
    assert E.get_execution(db, eid)["Estado"] == "DEPLOYED"


def test_L4_3_callback_before_deploy_recorded_is_pending_then_applied_by_mark_deployed(db):
    eid = _intent(db)
    received = NOW + timedelta(seconds=1)
    assert E.record_callback(db, "dep-race", "RUN_COMPLETED", '{"status":"RUN_COMPLETED"}', received) == "no_encontrado"
    assert [c["Aplicado"] for c in _callbacks(db)] == [0]
    E.mark_deployed(db, eid, "dep-race", NOW + timedelta(seconds=3))
    row = E.get_execution(db, eid)
    assert row["Estado"] == "RUN_COMPLETED"
    assert row["FechaFin"] == received  # the callback's reception time, not the launcher's
    assert [c["Aplicado"] for c in _callbacks(db)] == [1]


def test_L4_3_pending_callbacks_out_of_order_keep_the_terminal_state(db):
    eid = _intent(db)
    E.record_callback(db, "dep-o", "RUN_FAILED", "{}", NOW)
    E.record_callback(db, "dep-o", "RUNNING", "{}", NOW + timedelta(seconds=1))  # stale, after terminal
    E.mark_deployed(db, eid, "dep-o", NOW + timedelta(seconds=2))
    assert E.get_execution(db, eid)["Estado"] == "RUN_FAILED"
    assert all(c["Aplicado"] == 1 for c in _callbacks(db))


def test_L4_3_record_callback_marks_applied_and_duplicates(db):
    eid = _intent(db)
    E.mark_deployed(db, eid, "dep-d", NOW)
    assert E.record_callback(db, "dep-d", "RUN_COMPLETED", "{}", NOW) == "aplicado"
    assert E.record_callback(db, "dep-d", "RUN_COMPLETED", "{}", NOW) == "duplicado"
    assert E.record_callback(db, "dep-d", "RUNNING", "{}", NOW) == "ignorado"
    assert [(c["Estado"], c["Aplicado"]) for c in _callbacks(db)] == [
        ("RUN_COMPLETED", 1), ("RUN_COMPLETED", 1), ("RUNNING", 1)
    ]


def test_L4_3_apply_pending_callbacks_safety_net(db):
    """A pending callback recorded after the launcher looked is applied by the sweep."""
    eid = _intent(db)
    db.execute("UPDATE Ejecuciones SET DeploymentId = 'dep-s', Estado = 'DEPLOYED' WHERE EjecucionId = ?", (eid,))
    db.execute(
        "INSERT INTO CallbacksRecibidos (DeploymentId, FechaRecepcion, Estado, Payload, Aplicado) "
        "VALUES ('dep-s', ?, 'RUN_COMPLETED', '{}', 0)", (NOW,)
    )
    E.record_callback(db, "sin-ejecucion", "RUN_COMPLETED", "{}", NOW)  # stays pending
    assert E.apply_pending_callbacks(db, NOW + timedelta(minutes=1)) == 1
    assert E.get_execution(db, eid)["Estado"] == "RUN_COMPLETED"
    assert [c["Aplicado"] for c in _callbacks(db)] == [1, 0]


def test_L4_3_concurrent_writers_never_regress_terminal(db):
    """Many threads send RUNNING and RUN_COMPLETED in random order: the end state is terminal."""
    ids = []
    for i in range(20):
        eid = _intent(db, equipo=i)
        E.mark_deployed(db, eid, f"dep-{i}", NOW)
        ids.append(eid)
    errors = []

    def worker(status):
        try:
            for i in range(20):
                E.record_callback(db, f"dep-{i}", status, "{}", NOW)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in ["RUNNING", "RUN_COMPLETED"] * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for eid in ids:
        assert E.get_execution(db, eid)["Estado"] == "RUN_COMPLETED"


def test_L4_3_sql_metacharacters_stored_verbatim(db):
    eid = _intent(db)
    dep = "x'); DROP TABLE Ejecuciones;--"
    E.mark_deployed(db, eid, dep, NOW)
    payload = '{"deploymentId": "x\'); DROP TABLE Ejecuciones;--", "status": "RUN_FAILED"}'
    assert E.record_callback(db, dep, "RUN_FAILED", payload, NOW) == "aplicado"
    row = E.get_execution(db, eid)
    assert row["DeploymentId"] == dep and row["Estado"] == "RUN_FAILED"
    assert _callbacks(db)[0]["Payload"] == payload


def test_L5_4_batches_and_unknown_close(db):
    a, b = _intent(db, equipo=1), _intent(db, equipo=2)
    E.mark_deployed(db, a, "dep-a", NOW)
    E.mark_deployed(db, b, "dep-b", NOW)
    before = db.statement_count
    E.apply_status_batch(db, [(a, "RUN_COMPLETED", NOW, NOW - timedelta(seconds=5), None),
                              (b, "RUNNING", NOW, None, None)])
    assert db.statement_count - before == 1
    assert E.get_execution(db, a)["FechaFin"] == NOW - timedelta(seconds=5)
    E.update_not_found_batch(db, [(a, 3, "RUN_COMPLETED", NOW), (b, 1, "UNKNOWN", NOW)])
    assert E.get_execution(db, a)["RondasNoEncontrado"] == 0  # terminal rows untouched
    row = E.get_execution(db, b)
    assert row["Estado"] == "UNKNOWN" and row["RondasNoEncontrado"] == 1 and row["FechaActualizacion"] == NOW
    # a later not-found round keeps the moment it became UNKNOWN
    E.update_not_found_batch(db, [(b, 2, "UNKNOWN", NOW + timedelta(minutes=5))])
    assert E.get_execution(db, b)["FechaActualizacion"] == NOW
    assert E.close_unknown(db, NOW - timedelta(seconds=1), NOW + timedelta(minutes=10)) == 0
    assert E.close_unknown(db, NOW, NOW + timedelta(minutes=121)) == 1
    row = E.get_execution(db, b)
    assert row["Estado"] == "UNKNOWN" and row["FechaFin"] == NOW + timedelta(minutes=121)
    assert [r["EjecucionId"] for r in E.active_executions(db)] == []  # closed = not busy


def test_active_executions_and_lanzando(db):
    a = _intent(db, equipo=1, now=NOW - timedelta(minutes=5))
    b = _intent(db, equipo=2, now=NOW)
    assert [r["EjecucionId"] for r in E.active_executions(db)] == [a, b]
    assert [r["EjecucionId"] for r in E.active_executions(db, started_before=NOW - timedelta(minutes=1))] == [a]
    assert [r["EjecucionId"] for r in E.lanzando_older_than(db, NOW - timedelta(seconds=120))] == [a]
    E.mark_deployed(db, a, "dep-a", NOW)
    assert E.deployment_ids_in_use(db, ["dep-a", "dep-z"]) == {"dep-a"}
    assert E.mark_duration_alerted(db, [a]) == 1
    assert E.get_execution(db, a)["AlertaDuracionEnviada"] == 1


def test_tsql_statements_registered():
    from common.database import sentencias

    propias = [s for s in sentencias.todas() if s.nombre.startswith("ejecuciones.")]
    assert "ejecuciones.insertar_intento" in {s.nombre for s in propias}
    assert all("dbo." in s.tsql for s in propias)
    assert "OUTPUT INSERTED.EjecucionId" in sentencias.sentencia("ejecuciones.insertar_intento").tsql


def test_L5_5_recovery_failure_reopened_when_the_slow_deploy_is_confirmed(db):
    """The Conciliador failed a LANZANDO row while its deploy call was still in flight; the deploy then
    succeeded: the row gets its DeploymentId and counts busy again (the deployment is real)."""
    eid = _intent(db)
    E.mark_unconfirmed(db, eid, NOW)
    E.mark_deployed(db, eid, "dep-lento", NOW + timedelta(seconds=150))
    row = E.get_execution(db, eid)
    assert row["Estado"] == "DEPLOYED" and row["FechaFin"] is None and row["MensajeError"] is None
    assert [r["EjecucionId"] for r in E.active_executions(db)] == [eid]


def test_L3_3_a360_refusal_stays_terminal_even_if_marked_deployed(db):
    eid = _intent(db)
    E.mark_deploy_failed(db, eid, "A360 rechazó el despliegue", NOW)
    E.mark_deployed(db, eid, "dep-x", NOW)
    row = E.get_execution(db, eid)
    assert row["Estado"] == "DEPLOY_FAILED" and row["DeploymentId"] == "dep-x"


class _CallbackCommitsMidway:
    """The SAM DB as SQL Server interleaves it: a concurrent callback transaction commits its pending
    row just after mark_deployed has read the pending callbacks (SQLite serialises the two, so the
    interleaving is injected at that point, inside the launcher's transaction)."""

    def __init__(self, db, deployment_id):
        self.db, self.engine, self.dep, self.done = db, db.engine, deployment_id, False

    def run_in_transaction(self, fn):
        return self.db.run_in_transaction(lambda tx: fn(self._Tx(tx, self)))

    class _Tx:
        def __init__(self, tx, outer):
            self.tx, self.outer, self.engine = tx, outer, tx.engine

        def query(self, sql, params=()):
            rows = self.tx.query(sql, params)
            if "FROM CallbacksRecibidos" in sql and not self.outer.done:
                self.outer.done = True
                self.tx.execute("INSERT INTO CallbacksRecibidos (DeploymentId, FechaRecepcion, Estado, Payload, "
                                "Aplicado) VALUES (?, ?, 'RUN_FAILED', '{}', 0)", (self.outer.dep, NOW))
            return rows

        def __getattr__(self, name):
            return getattr(self.tx, name)


def test_L4_3_pending_callback_committed_during_mark_deployed_is_applied_exactly_once(db):
    """202-pending callbacks: one committed after mark_deployed read the pending list is not marked
    applied unapplied; the Conciliador's sweep applies it (once)."""
    eid = _intent(db)
    E.record_callback(db, "dep-mid", "RUNNING", "{}", NOW)  # pending (202)
    E.mark_deployed(_CallbackCommitsMidway(db, "dep-mid"), eid, "dep-mid", NOW + timedelta(seconds=1))
    assert E.get_execution(db, eid)["Estado"] == "RUNNING"
    assert [(c["Estado"], c["Aplicado"]) for c in _callbacks(db)] == [("RUNNING", 1), ("RUN_FAILED", 0)]
    assert E.apply_pending_callbacks(db, NOW + timedelta(minutes=3)) == 1
    assert E.get_execution(db, eid)["Estado"] == "RUN_FAILED"
    assert [c["Aplicado"] for c in _callbacks(db)] == [1, 1]
    assert E.apply_pending_callbacks(db, NOW + timedelta(minutes=6)) == 0


def test_L5_4_long_a360_message_fits_nvarchar_4000_in_utf16_units(db):
    """MensajeError is NVARCHAR(4000): a long A360 message with emoji is cut to 4000 UTF-16 units
    (SQL Server would refuse it and fail the Conciliador's whole batch every round)."""
    eid = _intent(db)
    E.mark_deployed(db, eid, "dep-msg", NOW)
    mensaje = "fallo \U0001F4A5 " * 1000
    assert E.apply_status_batch(db, [(eid, "RUN_FAILED", NOW, None, mensaje)]) == 1
    stored = E.get_execution(db, eid)["MensajeError"]
    assert E.db_length(stored) <= E.MAX_MENSAJE_ERROR and stored.endswith("…")
    assert stored.startswith("fallo \U0001F4A5 fallo")
