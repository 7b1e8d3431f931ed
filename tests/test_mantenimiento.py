"""Retention of the execution history (BEHAVIOUR §14 R2–R4), on SQLite for real.

The batch move, the purges, the live + history invariant, open rows never moved, idempotent
reruns, a process killed with SIGKILL in the middle of the move, the Lanzador's once-per-day job
with an injected clock, the settings, a late callback for a moved execution, the cooling rebuild
across a purge of HistoricoBalanceo, and the static shape of dbo.Mantenimiento_MoverAHistorico.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from common.clock import FixedClock
from common.database import ejecuciones as E
from common.database import mantenimiento as M
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient, DatabaseError
from common.service_runner import CicloFallido
from common.utils.config_manager import ConfigError, load_config, load_config_or_exit
from tests.alertas_falsas import AlertasFalsas
from tests.esperas import esperar
from tests.sqlcheck import SAM_SQL_PATH, lint_tsql, split_batches

ROOT = Path(__file__).resolve().parent.parent
AHORA = datetime(2026, 3, 20, 5, 0, 0)
VIEJA = AHORA - timedelta(days=30)
RECIENTE = AHORA - timedelta(days=2)
LANZADOR_OK = {
    "SQL_SAM_ENGINE": "sqlite",
    "AA_URL": "https://cr.example.com",
    "AA_USER": "sam_api",
    "AA_PWD": "Contraseña-A360",
    "AA_URL_CALLBACK": "https://sam.example.com:8008/api/callback",
    "CALLBACK_TOKEN": "0123456789abcdef0123",
}

_INSERT = (
    "INSERT INTO Ejecuciones (DeploymentId, RobotId, EquipoId, UserId, FechaInicio, FechaFin, Estado, "
    "FechaActualizacion, CallbackInfo, MensajeError, FechaSlot) VALUES (?, ?, ?, 7, ?, ?, ?, ?, ?, ?, ?)"
)


def _filas(n: int, fin: datetime | None, estado: str = "RUN_COMPLETED", desde: int = 0) -> list[tuple]:
    return [
        (f"dep-{desde + i}", 1 + i % 5, 100 + i % 50, fin - timedelta(minutes=5) if fin else VIEJA,
         fin, estado, fin or VIEJA, '{"status": "x"}', None, (fin or VIEJA).date())
        for i in range(n)
    ]


def _poblar(db, filas: list[tuple]) -> None:
    with db.transaction() as tx:
        tx.executemany(_INSERT, filas)


def _cuenta(db, tabla: str) -> int:
    return db.query_one(f"SELECT COUNT(*) AS n FROM {tabla}")["n"]  # noqa: S608 - test constant


def _invariante(db, total: int) -> None:
    assert _cuenta(db, "Ejecuciones") + _cuenta(db, "Ejecuciones_Historico") == total
    assert db.query_one(
        "SELECT COUNT(*) AS n FROM Ejecuciones e JOIN Ejecuciones_Historico h ON h.EjecucionId = e.EjecucionId"
    )["n"] == 0
    assert _cuenta(db, "EjecucionesTodas") == total


# --- the batch move --------------------------------------------------------------------------------


def test_R2_mover_lote_moves_closed_old_rows_only_and_copies_every_column(db):
    _poblar(db, _filas(5, VIEJA))
    _poblar(db, _filas(2, VIEJA, "UNKNOWN", desde=10))          # UNKNOWN closed after its tolerance
    _poblar(db, _filas(3, RECIENTE, desde=20))                  # closed, but recent
    _poblar(db, _filas(2, None, "RUNNING", desde=30))           # open: never moved, however old
    _poblar(db, _filas(1, None, "UNKNOWN", desde=40))           # UNKNOWN still open
    total = 13
    antes = {r["EjecucionId"]: r for r in db.query("SELECT * FROM Ejecuciones")}
    limite = AHORA - timedelta(days=7)

    assert M.mover_lote(db, limite, 4, AHORA) == 4
    _invariante(db, total)
    assert M.mover_lote(db, limite, 4, AHORA) == 3
    assert M.mover_lote(db, limite, 4, AHORA) == 0
    _invariante(db, total)

    historico = {r["EjecucionId"]: r for r in db.query("SELECT * FROM Ejecuciones_Historico")}
    assert len(historico) == 7
    for eid, fila in historico.items():
        assert fila["FechaFin"] is not None and fila["FechaFin"] < limite
        assert fila["FechaMovimiento"] == AHORA
        assert {k: v for k, v in fila.items() if k != "FechaMovimiento"} == antes[eid]
    vivas = db.query("SELECT Estado, FechaFin FROM Ejecuciones")
    assert sorted(r["Estado"] for r in vivas if r["FechaFin"] is None) == ["RUNNING", "RUNNING", "UNKNOWN"]
    origenes = {r["Origen"]: r["n"] for r in db.query("SELECT Origen, COUNT(*) AS n FROM EjecucionesTodas GROUP BY Origen")}
    assert origenes == {"Ejecuciones": 6, "Ejecuciones_Historico": 7}


def test_R3_an_id_already_in_history_is_not_copied_twice_and_leaves_the_live_table(db):
    _poblar(db, _filas(3, VIEJA))
    primero = db.query_one("SELECT MIN(EjecucionId) AS id FROM Ejecuciones")["id"]
    db.execute(
        "INSERT INTO Ejecuciones_Historico (EjecucionId, RobotId, EquipoId, Estado, FechaFin, FechaMovimiento) "
        "SELECT EjecucionId, RobotId, EquipoId, Estado, FechaFin, ? FROM Ejecuciones WHERE EjecucionId = ?",
        (AHORA - timedelta(hours=1), primero),
    )
    assert M.mover_lote(db, AHORA - timedelta(days=7), 10, AHORA) == 3
    assert _cuenta(db, "Ejecuciones") == 0 and _cuenta(db, "Ejecuciones_Historico") == 3


def test_R2_full_run_moves_in_batches_purges_and_a_rerun_does_nothing(db):
    _poblar(db, _filas(250, VIEJA))
    _poblar(db, _filas(20, RECIENTE, desde=1000))
    _poblar(db, _filas(5, None, "RUNNING", desde=2000))
    # History already holding rows past its retention (400 days) and inside it (100 days).
    for eid, dias in ((900_001, 400), (900_002, 400), (900_003, 100)):
        db.execute(
            "INSERT INTO Ejecuciones_Historico (EjecucionId, RobotId, EquipoId, Estado, FechaFin, FechaMovimiento) "
            "VALUES (?, 1, 1, 'RUN_COMPLETED', ?, ?)",
            (eid, AHORA - timedelta(days=dias), AHORA - timedelta(days=dias - 7)),
        )
    cb = "INSERT INTO CallbacksRecibidos (DeploymentId, FechaRecepcion, Estado, Aplicado) VALUES (?, ?, 'X', ?)"
    db.executemany(cb, [("a", AHORA - timedelta(days=40), 1), ("b", AHORA - timedelta(days=40), 0),
                        ("c", AHORA - timedelta(days=10), 1)])
    hb = "INSERT INTO HistoricoBalanceo (FechaBalanceo, RobotId, AccionTomada) VALUES (?, 1, 'ASIGNAR')"
    db.executemany(hb, [(AHORA - timedelta(days=400),), (AHORA - timedelta(days=366),), (AHORA - timedelta(days=1),)])
    total = 275 + 3

    r = M.ejecutar(db, AHORA, M.AjustesMantenimiento(lote=100))
    assert (r.movidas, r.lotes, r.completo) == (250, 3, True)
    assert (r.historico_purgadas, r.callbacks_purgados, r.balanceo_purgados) == (2, 1, 2)
    _invariante(db, total - 2)
    assert {x["DeploymentId"] for x in db.query("SELECT DeploymentId FROM CallbacksRecibidos")} == {"b", "c"}
    assert _cuenta(db, "HistoricoBalanceo") == 1
    assert M.ultima_completa(db) == AHORA.date()
    assert "movidas" in r.describir() and "purgadas" in r.describir()

    again = M.ejecutar(db, AHORA + timedelta(minutes=1), M.AjustesMantenimiento(lote=100))
    assert (again.movidas, again.purgadas, again.completo) == (0, 0, True)
    _invariante(db, total - 2)


def test_R2_dias_historico_0_keeps_history_forever(db):
    db.execute(
        "INSERT INTO Ejecuciones_Historico (EjecucionId, RobotId, EquipoId, Estado, FechaFin, FechaMovimiento) "
        "VALUES (1, 1, 1, 'RUN_COMPLETED', ?, ?)",
        (AHORA - timedelta(days=3000), AHORA - timedelta(days=2990)),
    )
    r = M.ejecutar(db, AHORA, M.AjustesMantenimiento(dias_historico=0, lote=100))
    assert r.historico_purgadas == 0 and _cuenta(db, "Ejecuciones_Historico") == 1


def test_R2_a_stopped_run_is_not_completed_and_the_next_one_finishes(db):
    _poblar(db, _filas(300, VIEJA))
    detener = threading.Event()
    detener.set()
    r = M.ejecutar(db, AHORA, M.AjustesMantenimiento(lote=100), detener=detener)
    assert (r.movidas, r.completo) == (100, False)   # one batch, then the stop is seen
    assert M.ultima_completa(db) is None
    _invariante(db, 300)
    r = M.ejecutar(db, AHORA, M.AjustesMantenimiento(lote=100))
    assert (r.movidas, r.completo) == (200, True)
    _invariante(db, 300)


def test_R2_transaction_log_full_is_a_clear_spanish_error(db, monkeypatch):
    def lleno(fn):
        raise DatabaseError("Error de base de datos SAM: log lleno", native_code=9002)

    monkeypatch.setattr(db, "run_in_transaction", lleno)
    with pytest.raises(M.MantenimientoError, match="registro de transacciones.*9002.*BACKUP LOG"):
        M.mover_lote(db, AHORA, 100, AHORA)


# --- R3: a real process killed with SIGKILL in the middle of the move -------------------------------

_HIJO = textwrap.dedent(
    """
    import sys
    from datetime import datetime
    from common.database import mantenimiento as M
    from common.database.sql_client import DatabaseClient

    db = DatabaseClient(engine="sqlite", sqlite_path=sys.argv[1])
    print("empieza", flush=True)
    M.ejecutar(db, datetime.fromisoformat(sys.argv[2]), M.AjustesMantenimiento(lote=int(sys.argv[3])))
    print("terminado", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL (POSIX)")
def test_R3_killed_with_sigkill_mid_move_then_rerun_loses_and_duplicates_nothing(tmp_path):
    ruta = tmp_path / "sam.db"
    db = DatabaseClient(engine="sqlite", sqlite_path=ruta)
    ensure_schema(db)
    total = 40_000
    _poblar(db, _filas(total - 50, VIEJA))
    _poblar(db, _filas(50, None, "RUNNING", desde=total))
    ids_antes = {r["EjecucionId"] for r in db.query("SELECT EjecucionId FROM Ejecuciones")}
    db.close_all()

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    hijo = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _HIJO, str(ruta), AHORA.isoformat(), "100"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    observador = DatabaseClient(engine="sqlite", sqlite_path=ruta)
    try:
        def movio_lotes():
            if hijo.poll() is not None:
                return "terminado"
            try:
                return _cuenta(observador, "Ejecuciones_Historico") >= 1000
            except DatabaseError:
                return False  # the writer holds the database for a moment

        estado = esperar(movio_lotes, timeout=60, paso=0.005, que="diez lotes movidos por el proceso hijo")
        assert estado is True, f"el proceso terminó antes de matarlo: {hijo.communicate()}"
        os.kill(hijo.pid, signal.SIGKILL)
        hijo.wait(timeout=30)
        assert hijo.returncode == -signal.SIGKILL
    finally:
        if hijo.poll() is None:
            hijo.kill()
            hijo.wait()

    movidas_al_morir = _cuenta(observador, "Ejecuciones_Historico")
    assert 1000 <= movidas_al_morir < total - 50
    assert movidas_al_morir % 100 == 0  # whole batches only: nothing half-done survives the kill
    _invariante(observador, total)
    r = M.ejecutar(observador, AHORA, M.AjustesMantenimiento(lote=5000))
    assert r.completo and r.movidas == total - 50 - movidas_al_morir
    _invariante(observador, total)
    assert _cuenta(observador, "Ejecuciones") == 50
    ids_despues = {r["EjecucionId"] for r in observador.query("SELECT EjecucionId FROM EjecucionesTodas")}
    assert ids_despues == ids_antes
    observador.close_all()


# --- the Lanzador's daily job ---------------------------------------------------------------------


def _trabajo(db, clock, alerts=None, **env):
    from lanzador.service.mantenimiento import TrabajoMantenimiento

    cfg = load_config("lanzador", {**LANZADOR_OK, **env})
    return TrabajoMantenimiento(db, cfg, clock, alerts=alerts, pausa=0)


def test_R2_job_runs_once_per_day_at_or_after_the_hour(db):
    clock = FixedClock(datetime(2026, 3, 20, 4, 59, tzinfo=timezone.utc), "UTC")
    _poblar(db, _filas(150, datetime(2026, 3, 1, 12, 0)))
    job = _trabajo(db, clock, MANTENIMIENTO_HORA_HHMM="05:00", MANTENIMIENTO_LOTE="100")
    assert job.tick() is None                      # before the hour
    clock.advance(60)                              # 05:00
    r = job.tick()
    assert r is not None and r.completo and r.movidas == 150
    assert M.ultima_completa(db).isoformat() == "2026-03-20"
    _poblar(db, _filas(10, datetime(2026, 3, 5, 12, 0), desde=500))
    clock.advance(3600)
    assert job.tick() is None                      # already done today
    clock.set_local(datetime(2026, 3, 21, 4, 0))
    assert job.tick() is None                      # next day, before the hour
    clock.set_local(datetime(2026, 3, 21, 17, 30))
    assert job.tick().movidas == 10                # down at 05:00: runs at the first tick after


def test_R2_a_run_interrupted_today_runs_again_at_the_next_start_the_same_day(db):
    clock = FixedClock(datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc), "UTC")
    _poblar(db, _filas(300, datetime(2026, 3, 1, 12, 0)))
    job = _trabajo(db, clock, MANTENIMIENTO_LOTE="100")
    job.stop_event.set()                           # shutdown while running: stops between batches
    r = job.tick()
    assert r.movidas == 100 and not r.completo
    # "Restart": a new job (fresh process state) the same day finishes the work.
    job2 = _trabajo(db, clock, MANTENIMIENTO_LOTE="100")
    r2 = job2.tick()
    assert r2.completo and r2.movidas == 200
    assert job2.tick() is None


def test_R2_job_failure_is_logged_and_alerted_once_then_recovery_once(db, monkeypatch, caplog):
    clock = FixedClock(datetime(2026, 3, 20, 6, 0, tzinfo=timezone.utc), "UTC")
    alerts = AlertasFalsas()
    job = _trabajo(db, clock, alerts)
    real = M.ejecutar

    def roto(*a, **k):
        raise DatabaseError("Error de base de datos SAM: disco lleno")

    monkeypatch.setattr(M, "ejecutar", roto)
    fallos = [job.tick(), job.tick()]
    assert all(isinstance(f, CicloFallido) and "disco lleno" in str(f.error) for f in fallos)  # H5
    assert [(a.clave, a.asunto) for a in alerts.enviadas] == [
        ("lanzador:mantenimiento", "El mantenimiento del historial de ejecuciones de SAM ha fallado")]
    assert "mantenimiento del historial de ejecuciones ha fallado" in caplog.text
    monkeypatch.setattr(M, "ejecutar", real)
    assert job.tick().completo
    assert [a.clave for a in alerts.recuperadas] == ["lanzador:mantenimiento"]
    assert job.tick() is None and len(alerts.recuperadas) == 1


def test_R2_job_never_holds_the_database_longer_than_one_batch(db):
    """A launch-cycle-like writer interleaves with the move: it gets the database between batches."""
    _poblar(db, _filas(3000, VIEJA))
    clock = FixedClock(datetime(2026, 3, 20, 6, 0, tzinfo=timezone.utc), "UTC")
    job = _trabajo(db, clock, MANTENIMIENTO_LOTE="100")
    job.pausa = 0.01
    hilo = threading.Thread(target=job.tick)
    hilo.start()
    escrituras = []
    try:
        limite = time.monotonic() + 30
        while hilo.is_alive() and time.monotonic() < limite:
            t0 = time.monotonic()
            db.execute("INSERT INTO ErrorLog (ErrorMensaje) VALUES ('ciclo')")
            escrituras.append(time.monotonic() - t0)
            time.sleep(0.002)
    finally:
        hilo.join(30)
    assert M.ultima_completa(db) is not None
    assert len(escrituras) >= 5
    assert max(escrituras) < 2.0


# --- settings ---------------------------------------------------------------------------------------


def test_R2_settings_defaults(tmp_path):
    cfg = load_config("lanzador", LANZADOR_OK, tmp_path)
    assert cfg.MANTENIMIENTO_HORA_HHMM.strftime("%H:%M") == "05:00"
    assert (cfg.MANTENIMIENTO_DIAS_EJECUCIONES, cfg.MANTENIMIENTO_DIAS_HISTORICO, cfg.MANTENIMIENTO_LOTE) == (
        7, 365, 5000)
    aj = M.AjustesMantenimiento.from_config(cfg)
    assert (aj.dias_ejecuciones, aj.dias_historico, aj.lote, aj.dias_callbacks, aj.dias_balanceo) == (
        7, 365, 5000, 30, 365)


@pytest.mark.parametrize(
    "nombre,valor",
    [
        ("MANTENIMIENTO_HORA_HHMM", "25:00"),
        ("MANTENIMIENTO_HORA_HHMM", "5h"),
        ("MANTENIMIENTO_DIAS_EJECUCIONES", "0"),
        ("MANTENIMIENTO_DIAS_HISTORICO", "-1"),
        ("MANTENIMIENTO_LOTE", "99"),
        ("MANTENIMIENTO_LOTE", "mil"),
    ],
)
def test_R2_invalid_settings_are_refused_at_start_up_naming_the_variable(tmp_path, capsys, nombre, valor):
    with pytest.raises(ConfigError) as info:
        load_config("lanzador", {**LANZADOR_OK, nombre: valor}, tmp_path)
    assert any(p.startswith(f"{nombre}:") for p in info.value.problems)
    with pytest.raises(SystemExit) as salida:
        load_config_or_exit("lanzador", {**LANZADOR_OK, nombre: valor}, tmp_path)
    assert salida.value.code == 2 and nombre in capsys.readouterr().err


def test_R2_settings_are_in_env_example_with_spanish_comments():
    texto = (ROOT / ".env.example").read_text(encoding="utf-8")
    for nombre, valor in (("MANTENIMIENTO_HORA_HHMM", "05:00"), ("MANTENIMIENTO_DIAS_EJECUCIONES", "7"),
                          ("MANTENIMIENTO_DIAS_HISTORICO", "365"), ("MANTENIMIENTO_LOTE", "5000")):
        assert re.search(rf"^# .+\n{nombre}={valor}$", texto, re.M), nombre


# --- a late callback for a moved execution ----------------------------------------------------------


def test_R2_callback_for_a_moved_execution_is_a_200_noop_recorded_as_applied(db):
    from callback.app import CallbackApp
    from tests.test_callback_server import AUTH, TOKEN, call

    eid = E.insert_intent(db, robot_id=1, equipo_id=1, user_id=1, hora=None, fecha_slot=None, now=VIEJA)
    E.mark_deployed(db, eid, "dep-movida", VIEJA)
    E.apply_status(db, "dep-movida", "RUN_COMPLETED", VIEJA + timedelta(minutes=5))
    assert M.mover_lote(db, AHORA - timedelta(days=7), 100, AHORA) == 1
    assert E.get_execution(db, eid) is None

    app = CallbackApp(db, token=TOKEN, clock=FixedClock(datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc), "UTC"))
    status, body, _ = call(app, body={"deploymentId": "DEP-MOVIDA", "status": "RUN_FAILED"}, headers=AUTH)
    assert status == 200, body
    (cb,) = db.query("SELECT * FROM CallbacksRecibidos")
    assert cb["Aplicado"] == 1 and cb["Estado"] == "RUN_FAILED"
    (h,) = db.query("SELECT Estado FROM Ejecuciones_Historico")
    assert h["Estado"] == "RUN_COMPLETED"
    assert _cuenta(db, "Ejecuciones") == 0
    assert E.record_callback(db, "dep-movida", "RUN_COMPLETED", "{}", AHORA) == E.RESULT_IGNORADO


# --- cooling rebuild across a purge of HistoricoBalanceo --------------------------------------------


def test_R2_purging_old_historico_balanceo_does_not_change_the_rebuilt_cooling(db):
    from balanceador.database import historico_client
    from balanceador.modelo import AjustesCooling
    from balanceador.service.cooling_manager import CoolingManager

    ins = ("INSERT INTO HistoricoBalanceo (FechaBalanceo, RobotId, TicketsPendientes, AccionTomada) "
           "VALUES (?, ?, ?, ?)")
    db.executemany(ins, [(AHORA - timedelta(days=d), r, 50 + d, a)
                         for d in (400, 380, 366) for r in (1, 2) for a in ("ASIGNAR", "DESASIGNAR")])
    db.executemany(ins, [(AHORA - timedelta(seconds=60), 1, 100, "ASIGNAR"),
                         (AHORA - timedelta(seconds=30), 2, 10, "DESASIGNAR")])

    def reconstruido():
        cm = CoolingManager(AjustesCooling(300, 30, 40))
        cm.reconstruir(historico_client.ultimos_cambios(db, AHORA, 300))
        return cm.snapshot()

    antes = reconstruido()
    assert set(antes) == {1, 2}
    r = M.ejecutar(db, AHORA, M.AjustesMantenimiento(lote=100))
    assert r.balanceo_purgados == 12 and _cuenta(db, "HistoricoBalanceo") == 2
    assert reconstruido() == antes


# --- T-SQL: the operator's procedure in SAM.sql -----------------------------------------------------


def _procedimiento() -> str:
    texto = SAM_SQL_PATH.read_text(encoding="utf-8")
    return next(b for b in split_batches(texto) if "CREATE OR ALTER PROCEDURE dbo.Mantenimiento_MoverAHistorico" in b)


def test_R2_sam_sql_procedure_moves_in_batches_with_quoted_identifier_pause_and_log_full_message():
    texto = SAM_SQL_PATH.read_text(encoding="utf-8")
    batches = split_batches(texto)
    proc = _procedimiento()
    i = batches.index(proc)
    assert batches[i - 1].strip().endswith("SET QUOTED_IDENTIFIER ON;")  # compiled with it (error 1934)
    cabecera = proc[: proc.index("\nAS\n")]
    for parametro in ("@DiasEjecuciones INT = 7", "@DiasHistorico INT = 365", "@Lote INT = 5000",
                      "@DiasCallbacks INT = 30", "@DiasBalanceo INT = 365", "@Ahora DATETIME2(3) = NULL"):
        assert parametro in cabecera, parametro
    assert "COALESCE(@Ahora, CAST(GETDATE() AS DATETIME2(3)))" in proc
    assert "WAITFOR DELAY" in proc and "9002" in proc and "BACKUP LOG" in proc
    assert "BEGIN TRANSACTION" in proc and "COMMIT TRANSACTION" in proc and "ROLLBACK" in proc
    assert "FechaFin IS NOT NULL" in proc and "WITH (UPDLOCK, HOLDLOCK)" in proc
    for tabla in ("Ejecuciones_Historico", "CallbacksRecibidos", "HistoricoBalanceo", "Mantenimiento"):
        assert f"dbo.{tabla}" in proc
    assert lint_tsql(proc, origen="sam_sql") == []


def test_R4_readme_and_demo_read_past_executions_from_ejecuciones_todas():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    seccion = readme.split("## Retención del historial", 1)[1].split("\n## ", 1)[0]
    assert "EXEC dbo.Mantenimiento_MoverAHistorico" in seccion and "SET QUOTED_IDENTIFIER ON" in seccion
    for nombre in ("MANTENIMIENTO_HORA_HHMM", "MANTENIMIENTO_DIAS_EJECUCIONES", "MANTENIMIENTO_DIAS_HISTORICO",
                   "MANTENIMIENTO_LOTE", "Ejecuciones_Historico", "EjecucionesTodas"):
        assert nombre in seccion, nombre
    assert "EjecucionesTodas" in (ROOT / "demo" / "runner.py").read_text(encoding="utf-8")


# --- the move gives way to the launcher ------------------------------------------------------------------


def test_R2_batch_sizes_adapt_to_the_target_duration_within_the_configured_maximum():
    from common.database.mantenimiento import LOTE_MINIMO, _siguiente_lote

    assert _siguiente_lote(5000, 5000, 1.0, None, 5000) == 5000  # no target: the configured size
    assert _siguiente_lote(100, 100, 0.01, 0.05, 5000) == 500  # fast batches grow
    assert _siguiente_lote(5000, 5000, 1.4, 0.05, 5000) == 178  # slow ones shrink to the target...
    assert _siguiente_lote(5000, 5000, 10.0, 0.05, 5000) == LOTE_MINIMO  # ...not below the floor
    assert _siguiente_lote(1000, 1000, 0.0001, 0.05, 5000) == 5000  # never above MANTENIMIENTO_LOTE


def test_R2_the_move_waits_while_a_launch_cycle_runs(db):
    """The Lanzador clears its 'no launch cycle running' event during a cycle: no new batch starts then,
    so a launch cycle waits at most for the batch it found running."""
    _poblar(db, _filas(600, VIEJA))
    libre = threading.Event()  # a launch cycle is running
    vistas: list[int] = []
    resultado: dict = {}

    def ceder():
        vistas.append(_cuenta(db, "Ejecuciones_Historico"))
        libre.wait(10)

    hilo = threading.Thread(target=lambda: resultado.setdefault(
        "r", M.ejecutar(db, AHORA, M.AjustesMantenimiento(lote=5000), ceder=ceder, duracion_lote_seg=10.0)))
    hilo.start()
    esperar(lambda: vistas, 5, que="el primer lote")
    movidas_al_ceder = _cuenta(db, "Ejecuciones_Historico")
    time.sleep(0.3)  # lets time pass on purpose: nothing may move while the cycle runs
    assert _cuenta(db, "Ejecuciones_Historico") == movidas_al_ceder == M.LOTE_MINIMO
    libre.set()
    hilo.join(10)
    assert resultado["r"].movidas == 600 and resultado["r"].completo
    _invariante(db, 600)


def test_R2_an_unreachable_database_is_the_process_sam_db_alert_not_a_maintenance_failure(db, monkeypatch):
    """C8: one root cause, one alert. An unreachable SAM DB counts in the process' one SAM DB run
    (key ``bd_sam``, shared with the other jobs), never as a maintenance failure (a disk-full error
    of its own is: the test above)."""
    clock = FixedClock(datetime(2026, 3, 20, 6, 0, tzinfo=timezone.utc), "UTC")
    alerts = AlertasFalsas()
    job = _trabajo(db, clock, alerts)

    def sin_conexion(*a, **k):
        err = DatabaseError("Error de base de datos SAM al conectar [HYT00]: Login timeout expired", retryable=True)
        err.al_conectar = True
        raise err

    monkeypatch.setattr(M, "ejecutar", sin_conexion)
    assert all(isinstance(job.tick(), CicloFallido) for _ in range(2))  # handled, not an OK run (H5)
    assert [(a.clave, a.asunto) for a in alerts.enviadas] == [("bd_sam", "Base de datos SAM no accesible")]
    assert "SQL_SAM_SQLITE_PATH" in alerts.enviadas[0].que_revisar
