"""Balanceador against a real SQLite SAM DB: B4 pool SQL, B9 one-transaction apply with a constant
number of statements, rollback, history rows, and B7 cooling rebuilt from HistoricoBalanceo."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from balanceador.database import historico_client, repositorio
from balanceador.modelo import AjustesBalanceo, AjustesCooling
from balanceador.service.balanceo import planificar
from balanceador.service.cooling_manager import CoolingManager
from common.database.sql_client import DatabaseError

NOW = datetime(2026, 3, 2, 10, 0, 0)
AJ = AjustesBalanceo(10, ("ATTENDEDRUNTIME",), AjustesCooling(300, 30, 40))


def add_robots(db, *rows):
    db.executemany(
        "INSERT INTO Robots (RobotId, Robot, EsOnline, Activo, MinEquipos, MaxEquipos, PrioridadBalanceo, "
        "TicketsPorEquipoAdicional, ExisteEnA360) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(r["id"], r.get("nombre", f"R{r['id']}"), r.get("online", 1), r.get("activo", 1), r.get("min", 1),
          r.get("max", -1), r.get("prio", 100), r.get("ratio"), r.get("a360", 1)) for r in rows],
    )


def add_equipos(db, ids, **kw):
    db.executemany(
        "INSERT INTO Equipos (EquipoId, Equipo, UserId, Licencia, Activo_SAM, PermiteBalanceoDinamico, "
        "EstadoA360, UsuarioActivoA360) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(e, f"VM{e}", e, kw.get("licencia", "ATTENDEDRUNTIME"), kw.get("activo", 1), kw.get("dinamico", 1),
          kw.get("estado", "CONNECTED"), kw.get("usuario", 1)) for e in ids],
    )


def asignaciones(db):
    return {(r["RobotId"], r["EquipoId"], r["AsignadoPor"], r["Reservado"], r["EsProgramado"])
            for r in db.query("SELECT * FROM Asignaciones")}


def plan_desde_bd(db, tickets, cooling=None, protegidos=()):
    lec = repositorio.leer_todo(db, AJ.licencias)
    return planificar(lec.robots, lec.pool, lec.asignaciones, lec.ocupados, tickets, frozenset(protegidos),
                      cooling or {}, AJ, NOW)


def test_B4_pool_query_applies_every_filter_with_correct_precedence(db):
    add_robots(db, {"id": 1}, {"id": 2})
    add_equipos(db, [1, 2, 3, 4])
    add_equipos(db, [10], licencia="UNATTENDED")
    add_equipos(db, [11], activo=0)
    add_equipos(db, [12], dinamico=0)
    add_equipos(db, [13], estado="DISCONNECTED")
    add_equipos(db, [14], usuario=0)
    add_equipos(db, [15], licencia=" attendedruntime ")
    db.executemany("INSERT INTO Asignaciones (RobotId, EquipoId, Reservado, EsProgramado, AsignadoPor) "
                   "VALUES (?, ?, ?, ?, ?)",
                   [(2, 2, 1, 0, "Manual"), (2, 3, 0, 1, "Programacion"), (2, 4, 0, 0, "Manual"),
                    (1, 1, 0, 0, "Balanceador")])
    pool = {e.equipo_id for e in repositorio.leer_pool(db, ["ATTENDEDRUNTIME"])}
    assert pool == {1, 15}


def test_B9_apply_one_transaction_constant_statements_history_rows(db):
    add_robots(db, {"id": 1, "prio": 10}, {"id": 2, "prio": 50, "min": 0, "activo": 0}, {"id": 3})
    add_equipos(db, range(100, 140))
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor) VALUES (3, 139, 'Manual')")
    stmts = []
    for n_tickets, n_robot2 in ((50, 2), (290, 10)):  # few VMs moved, then many: same statement count
        db.executemany("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor) VALUES (?, ?, ?)",
                       [(2, e, "Balanceador") for e in range(100, 100 + n_robot2)])
        plan = plan_desde_bd(db, {1: n_tickets})
        before = db.statement_count
        repositorio.aplicar(db, plan, NOW)
        stmts.append(db.statement_count - before)
        assert not {(r, e) for r, e, *_ in asignaciones(db) if r == 2}
        db.execute("DELETE FROM Asignaciones WHERE RobotId IN (1, 2)")
        db.execute("DELETE FROM HistoricoBalanceo")
    assert stmts[0] == stmts[1], stmts
    assert stmts[0] <= 5, stmts  # BEGIN, delete batch, insert batch, history batch, COMMIT at most

    plan = plan_desde_bd(db, {1: 50})
    repositorio.aplicar(db, plan, NOW)
    filas = asignaciones(db)
    assert {(r, e) for r, e, por, *_ in filas if r == 1} == {(1, e) for e in plan.final[1]}
    assert all(por == "Balanceador" for r, e, por, *_ in filas if r == 1)
    assert (3, 139, "Manual", 0, 0) in filas  # B9: manual row untouched
    hist = db.query("SELECT * FROM HistoricoBalanceo ORDER BY HistoricoId")
    assert len(hist) == len(plan.acciones)
    h = hist[0]
    assert h["RobotId"] == 1 and h["AccionTomada"] == "ASIGNAR" and h["TicketsPendientes"] == 50
    assert h["EquiposAsignadosAntes"] == 0 and h["EquiposAsignadosDespues"] == 5
    assert sorted(int(x) for x in h["EquipoIds"].split(",")) == sorted(plan.final[1])
    assert h["CodigoMotivo"] and "Tickets: 50" in h["Justificacion"]
    assert isinstance(h["FechaBalanceo"], datetime)
    # Idempotence through the DB: planning again changes nothing.
    assert plan_desde_bd(db, {1: 50}).vacio


def test_B9_rollback_on_failure_leaves_nothing(db, monkeypatch):
    add_robots(db, {"id": 1})
    add_equipos(db, range(100, 110))
    plan = plan_desde_bd(db, {1: 50})
    assert not plan.vacio

    def boom(tx, acciones, now):
        raise DatabaseError("fallo simulado al escribir el histórico", retryable=False)

    monkeypatch.setattr(historico_client, "insertar", boom)
    with pytest.raises(DatabaseError):
        repositorio.aplicar(db, plan, NOW)
    assert asignaciones(db) == set()
    assert db.query("SELECT COUNT(*) AS n FROM HistoricoBalanceo")[0]["n"] == 0


def test_B9_insert_skips_equipo_taken_manually_meanwhile(db):
    add_robots(db, {"id": 1}, {"id": 2})
    add_equipos(db, [100])
    plan = plan_desde_bd(db, {1: 5})
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor, Reservado) VALUES (2, 100, 'Manual', 1)")
    repositorio.aplicar(db, plan, NOW)
    assert asignaciones(db) == {(2, 100, "Manual", 1, 0)}


def test_B4_busy_equipos_are_those_with_active_executions(db):
    add_robots(db, {"id": 1})
    add_equipos(db, [100, 101, 102, 103])
    db.executemany("INSERT INTO Ejecuciones (RobotId, EquipoId, Estado, FechaInicio) VALUES (?, ?, ?, ?)",
                   [(1, 100, "RUNNING", NOW), (1, 101, "RUN_COMPLETED", NOW), (1, 102, "LANZANDO", NOW)])
    # An UNKNOWN closed by the Conciliador after its tolerance (FechaFin set) is idle again (L5.4).
    db.execute("INSERT INTO Ejecuciones (RobotId, EquipoId, Estado, FechaInicio, FechaFin) VALUES (1, 103, 'UNKNOWN', ?, ?)",
               (NOW, NOW))
    assert repositorio.leer_ocupados(db) == {100, 102}


def test_B9_robot_turned_offline_has_its_rows_released_in_db(db):
    add_robots(db, {"id": 1, "online": 0})
    add_equipos(db, [100, 101])
    db.executemany("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor) VALUES (?, ?, ?)",
                   [(1, 100, "Balanceador"), (1, 101, "Manual")])
    plan = plan_desde_bd(db, {1: 50})
    repositorio.aplicar(db, plan, NOW)
    assert asignaciones(db) == {(1, 101, "Manual", 0, 0)}
    (h,) = db.query("SELECT * FROM HistoricoBalanceo")
    assert h["CodigoMotivo"] == "ROBOT_NO_BALANCEADO" and h["AccionTomada"] == "DESASIGNAR"


def test_B7_restart_rebuilds_cooling_from_historico(db):
    add_robots(db, {"id": 1, "min": 1})
    add_equipos(db, range(100, 120))
    cm = CoolingManager(AJ.cooling)
    # Cycle 1: 100 tickets -> 10 VMs (up).
    plan = plan_desde_bd(db, {1: 100}, cm.snapshot())
    repositorio.aplicar(db, plan, NOW)
    cm.registrar_plan(plan, NOW)
    # "Restart" 60 s later: a fresh manager rebuilt from the history.
    later = NOW + timedelta(seconds=60)
    nuevo = CoolingManager(AJ.cooling)
    nuevo.reconstruir(historico_client.ultimos_cambios(db, later, AJ.cooling.periodo_seg))
    assert nuevo.snapshot()[1].ultima_subida.tickets == 100
    # Tickets fall 20 %: without the rebuilt state the robot would release VMs at once.
    lec = repositorio.leer_todo(db, AJ.licencias)
    sin_estado = planificar(lec.robots, lec.pool, lec.asignaciones, lec.ocupados, {1: 80}, frozenset(), {},
                            AJ, later)
    assert not sin_estado.vacio
    con_estado = planificar(lec.robots, lec.pool, lec.asignaciones, lec.ocupados, {1: 80}, frozenset(),
                            nuevo.snapshot(), AJ, later)
    assert con_estado.vacio and con_estado.retenidos[0].codigo == "COOLING_BAJADA"
    # Past the period the history no longer holds it back.
    viejo = CoolingManager(AJ.cooling)
    viejo.reconstruir(historico_client.ultimos_cambios(db, NOW + timedelta(seconds=400), 300))
    assert viejo.snapshot() == {}
