"""L8.1 on a real SQLite SAM DB: an operator closes a stuck execution as RUN_ABORTED with the reason,
in one transaction with its audit row; refusals are audited and write nothing; the equipo is free
at once; and nothing reopens the row afterwards (a late callback, the Conciliador's batch, the
adoption of a deployment for the intent, the L5.7 late adoption)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest

from common.database import ejecuciones as E
from common.execution_states import RUN_ABORTED
from common.operaciones import auditoria
from common.operaciones import ejecuciones as ops
from common.operaciones.auditoria import Actor
from common.operaciones.programaciones import NoEncontrada, OperacionRechazada, PermisoDenegado

AHORA = datetime(2026, 3, 2, 9, 30, 0)
OPERADOR = Actor("ana", "operador", "10.0.0.5")
LECTOR = Actor("luis", "lector")


@pytest.fixture
def base(db):
    db.executemany("INSERT INTO Robots (RobotId, Robot) VALUES (?, ?)", [(1, "P1_Facturas")])
    db.executemany("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)", [(10, "VMRPA10"), (11, "VMRPA11")])
    return db


def _intento(db, equipo=10, cuando=AHORA - timedelta(hours=3)) -> int:
    return E.insert_intent(db, robot_id=1, equipo_id=equipo, user_id=7, hora=time(6, 30), fecha_slot=date(2026, 3, 2),
                           now=cuando)


def _corriendo(db, deployment="dep-1", equipo=10) -> int:
    eid = _intento(db, equipo)
    assert E.mark_deployed(db, eid, deployment, AHORA - timedelta(hours=3))
    assert E.apply_status(db, deployment, "RUNNING", AHORA - timedelta(hours=2)) == E.RESULT_APLICADO
    return eid


def _fila(db, eid):
    return db.query_one("SELECT * FROM Ejecuciones WHERE EjecucionId = ?", (eid,))


def _ocupados(db) -> set[int]:
    return {f["EquipoId"] for f in db.query("SELECT EquipoId FROM EjecucionesActivas")}


def _auditoria(db):
    return auditoria.de_entidad(db, ops.ENTIDAD)


def test_L8_1_destrabar_closes_the_row_as_aborted_with_the_reason_and_audits_it(base):
    eid = _corriendo(base)
    assert _ocupados(base) == {10}
    resultado = ops.destrabar(base, OPERADOR, eid, "  el bot quedó colgado \n en la VM ", ahora=AHORA)
    fila = _fila(base, eid)
    assert fila["Estado"] == RUN_ABORTED and fila["FechaFin"] == AHORA and fila["FechaActualizacion"] == AHORA
    assert fila["MensajeError"] == "Destrabada por ana: el bot quedó colgado en la VM"
    assert fila["DeploymentId"] == "dep-1" and fila["FalloSinConfirmar"] == 0
    assert resultado["Estado"] == RUN_ABORTED and resultado["EquipoId"] == 10
    assert _ocupados(base) == set()  # FechaFin set: the equipo is free for the next cycle
    (aud,) = _auditoria(base)
    assert (aud["Usuario"], aud["Rol"], aud["Ip"], aud["Accion"], aud["Resultado"], aud["EntidadId"]) == \
        ("ana", "operador", "10.0.0.5", "destrabar", "ok", str(eid))
    assert aud["Antes"]["Estado"] == "RUNNING" and aud["Antes"]["FechaFin"] is None
    assert aud["Despues"]["Estado"] == RUN_ABORTED and aud["Despues"]["MensajeError"].startswith("Destrabada por ana")


def test_L8_1_a_launching_row_can_be_destrabada_too(base):
    eid = _intento(base)
    ops.destrabar(base, OPERADOR, eid, "el despliegue nunca respondió", ahora=AHORA)
    assert _fila(base, eid)["Estado"] == RUN_ABORTED and _ocupados(base) == set()


@pytest.mark.parametrize("estado", ["RUN_COMPLETED", "RUN_FAILED", "DEPLOY_FAILED", "RUN_ABORTED"])
def test_L8_1_terminal_rows_are_refused_audited_and_untouched(base, estado):
    eid = _corriendo(base)
    E.apply_status(base, "dep-1", estado, AHORA - timedelta(hours=1))
    antes = dict(_fila(base, eid))
    with pytest.raises(ops.EjecucionNoDestrabable) as exc:
        ops.destrabar(base, OPERADOR, eid, "motivo", ahora=AHORA)
    assert f"La ejecución {eid} ya terminó ({estado})" in str(exc.value)
    assert dict(_fila(base, eid)) == antes
    (aud,) = _auditoria(base)
    assert (aud["Accion"], aud["Resultado"], aud["EntidadId"]) == ("destrabar", "rechazado", str(eid))
    assert "ya terminó" in aud["Despues"]["Motivo"] and aud["Despues"]["MotivoOperador"] == "motivo"


def test_L8_1_unknown_id_and_a_row_already_in_history_are_refused_and_audited(base):
    with pytest.raises(NoEncontrada, match="La ejecución 999 no existe"):
        ops.destrabar(base, OPERADOR, 999, "motivo", ahora=AHORA)
    base.execute("INSERT INTO Ejecuciones_Historico (EjecucionId, RobotId, EquipoId, Estado, FechaMovimiento) "
                 "VALUES (555, 1, 10, 'RUN_COMPLETED', ?)", (AHORA,))
    with pytest.raises(ops.EjecucionNoDestrabable, match="histórico"):
        ops.destrabar(base, OPERADOR, 555, "motivo", ahora=AHORA)
    assert [(a["EntidadId"], a["Resultado"]) for a in _auditoria(base)] == [("999", "rechazado"), ("555", "rechazado")]


def test_L8_1_an_unknown_row_already_closed_by_the_conciliador_is_refused(base):
    eid = _corriendo(base)
    E.update_not_found_batch(base, [(eid, 3, "UNKNOWN", AHORA - timedelta(hours=2))])
    assert E.close_unknown(base, AHORA - timedelta(minutes=30), AHORA - timedelta(minutes=10)) == 1
    with pytest.raises(ops.EjecucionNoDestrabable, match="ya está cerrada"):
        ops.destrabar(base, OPERADOR, eid, "motivo", ahora=AHORA)
    assert _fila(base, eid)["Estado"] == "UNKNOWN"


def test_L8_1_a_lector_and_a_blank_reason_are_refused_and_audited(base):
    eid = _corriendo(base)
    with pytest.raises(PermisoDenegado, match="rol operador o administrador"):
        ops.destrabar(base, LECTOR, eid, "motivo", ahora=AHORA)
    with pytest.raises(OperacionRechazada, match="Indique el motivo"):
        ops.destrabar(base, OPERADOR, eid, "   ", ahora=AHORA)
    with pytest.raises(OperacionRechazada, match="como máximo"):
        ops.destrabar(base, OPERADOR, eid, "x" * (ops.MAX_MOTIVO + 1), ahora=AHORA)
    assert _fila(base, eid)["Estado"] == "RUNNING"
    assert [(a["Usuario"], a["Resultado"]) for a in _auditoria(base)] == \
        [("luis", "rechazado"), ("ana", "rechazado"), ("ana", "rechazado")]


def test_L8_1_L4_3_a_later_callback_is_recorded_and_does_not_reopen_the_row(base):
    eid = _corriendo(base)
    ops.destrabar(base, OPERADOR, eid, "colgado", ahora=AHORA)
    for estado in ("RUNNING", "RUN_COMPLETED"):
        assert E.record_callback(base, "dep-1", estado, json.dumps({"status": estado}), AHORA + timedelta(minutes=5)) \
            == E.RESULT_IGNORADO
    fila = _fila(base, eid)
    assert (fila["Estado"], fila["FechaFin"]) == (RUN_ABORTED, AHORA)
    assert fila["MensajeError"] == "Destrabada por ana: colgado"
    recibidos = base.query("SELECT Estado, Aplicado FROM CallbacksRecibidos WHERE DeploymentId = 'dep-1' "
                           "ORDER BY CallbackId")
    assert [(c["Estado"], c["Aplicado"]) for c in recibidos] == [("RUNNING", 1), ("RUN_COMPLETED", 1)]
    assert _ocupados(base) == set()


def test_L8_1_L5_4_the_conciliadors_batches_do_not_reopen_it(base):
    eid = _corriendo(base)
    ops.destrabar(base, OPERADOR, eid, "colgado", ahora=AHORA)
    later = AHORA + timedelta(minutes=2)
    E.apply_status_batch(base, [(eid, "RUNNING", later, None, None), (eid, "RUN_COMPLETED", later, later, "fin")])
    E.update_not_found_batch(base, [(eid, 5, "UNKNOWN", later)])
    fila = _fila(base, eid)
    assert (fila["Estado"], fila["FechaFin"], fila["RondasNoEncontrado"]) == (RUN_ABORTED, AHORA, 0)
    assert eid not in {f["EjecucionId"] for f in E.active_executions(base)}


def test_L8_1_L5_5_L5_7_adopting_a_deployment_for_a_destrabada_intent_does_not_reopen_it(base):
    """The launch intent is destrabada while its deploy call is still in flight; the deployment it
    then gets (the launcher's record, the Conciliador's adoption) is kept for traceability only, and
    the L5.7 late adoption never lists the row."""
    eid = _intento(base)
    ops.destrabar(base, OPERADOR, eid, "sin respuesta de A360", ahora=AHORA)
    assert E.adopt_deployment(base, eid, "dep-tarde", "RUNNING", AHORA + timedelta(minutes=1)) == E.RESULT_IGNORADO
    fila = _fila(base, eid)
    assert (fila["Estado"], fila["FechaFin"], fila["DeploymentId"]) == (RUN_ABORTED, AHORA, "dep-tarde")
    assert fila["MensajeError"] == "Destrabada por ana: sin respuesta de A360"
    assert E.given_up_since(base, AHORA - timedelta(days=1)) == []
    assert E.mark_unconfirmed(base, eid, AHORA + timedelta(minutes=2)) is False
    assert _fila(base, eid)["FalloSinConfirmar"] == 0 and _ocupados(base) == set()


def test_L8_1_only_rows_still_open_are_closed_by_the_write(base):
    """The close itself is conditional: a row a callback ended between the read and the write keeps
    the callback's state (the statement's WHERE is the open-row predicate)."""
    eid = _corriendo(base)
    E.apply_status(base, "dep-1", "RUN_COMPLETED", AHORA)
    from common.database import sentencias

    assert sentencias.ejecutar(base, "operaciones.ejecucion_destrabar", (AHORA, AHORA, "x", eid)) == 0
    assert _fila(base, eid)["Estado"] == "RUN_COMPLETED"


def test_L8_1_a_launch_younger_than_the_lanzando_timeout_is_refused_unless_forced_and_audited(base):
    eid = _intento(base, cuando=AHORA - timedelta(seconds=120))
    with pytest.raises(ops.EjecucionLanzandose) as exc:
        ops.destrabar(base, OPERADOR, eid, "parece colgada", ahora=AHORA, lanzando_timeout_seg=900)
    assert "LANZANDO desde hace 120 s" in str(exc.value) and "LANZADOR_LANZANDO_TIMEOUT_SEG (900 s)" in str(exc.value)
    assert _fila(base, eid)["Estado"] == "LANZANDO" and _ocupados(base) == {10}
    assert _auditoria(base)[-1]["Resultado"] == "rechazado"
    ops.destrabar(base, OPERADOR, eid, "sé que no corre nada", ahora=AHORA, forzar=True, lanzando_timeout_seg=900)
    assert _fila(base, eid)["Estado"] == RUN_ABORTED and _ocupados(base) == set()
    assert _auditoria(base)[-1]["Resultado"] == "forzado"


def test_L8_1_the_lanzando_guard_follows_the_configured_timeout(base):
    eid = _intento(base, cuando=AHORA - timedelta(seconds=120))
    ops.destrabar(base, OPERADOR, eid, "el Lanzador ya la daría por perdida", ahora=AHORA, lanzando_timeout_seg=60)
    assert _fila(base, eid)["Estado"] == RUN_ABORTED
    assert _auditoria(base)[-1]["Resultado"] == "ok"
