"""Alerts people can act on (issue 11, item 4): one alert per root cause, names with ids, plurals.

- helpers of ``common.utils.alertas``: :func:`plural`, :func:`con_nombre`, :func:`racha_compartida`
  (one run per mail client and key), :func:`es_bd_no_accesible` and :class:`AlertaBdSam` (the text
  names the engine, server, database, ODBC driver and the ``SQL_SAM_*`` settings to check);
- in process: the launch, conciliation, sync and maintenance jobs of one Lanzador share the SAM DB
  run (one alert, one recovery) while a row the DB refuses never counts in it;
- real processes: ``python lanzador/run_lanzador.py`` on SQLite whose file is not a database, with
  the A360 simulator and the SMTP sink: exactly one mail about the SAM DB (no other alert), and one
  recovery when a good database file takes its place. Runs without any ODBC driver.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from common.clock import FixedClock
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient, DatabaseError
from common.paths import PROJECT_ROOT
from common.utils.alertas import (
    CLAVE_BD_SAM,
    AlertaBdSam,
    con_nombre,
    es_bd_no_accesible,
    plural,
    que_revisar_bd_sam,
    racha_compartida,
)
from demo.simulator import API_PASSWORD, API_USERNAME, ControlRoomSimulator, generate_state
from tests.alertas_falsas import AlertasFalsas
from tests.esperas import esperar
from tests.smtp_sink import SmtpSink

LANZADOR = PROJECT_ROOT / "lanzador" / "run_lanzador.py"


def _sin_conexion(texto: str = "Error de base de datos SAM al conectar [08001]: servidor inaccesible") -> DatabaseError:
    err = DatabaseError(texto, retryable=True)
    err.al_conectar = True
    return err


# ----------------------------------------------------------------------------- helpers

def test_plural_and_names_with_the_id_in_brackets():
    assert plural(1, "equipo", "equipos") == "1 equipo"
    assert plural(0, "equipo", "equipos") == "0 equipos"
    assert plural(3, "fallo", "fallos") == "3 fallos"
    assert con_nombre("robot", 5101, "Facturas") == "robot Facturas (5101)"
    assert con_nombre("equipo", 82, "VMRPA05") == "equipo VMRPA05 (82)"
    assert con_nombre("usuario", 702, None) == "usuario 702"  # unknown name: the id
    assert con_nombre("robot", 7, "  ") == "robot 7"


def test_racha_compartida_is_one_run_per_client_and_key():
    a, b = AlertasFalsas(), AlertasFalsas()
    assert racha_compartida(a, CLAVE_BD_SAM, 2) is racha_compartida(a, CLAVE_BD_SAM, 5)
    assert racha_compartida(a, CLAVE_BD_SAM).umbral == 2  # the first caller's threshold holds
    assert racha_compartida(a, "otra") is not racha_compartida(a, CLAVE_BD_SAM)
    assert racha_compartida(b, CLAVE_BD_SAM) is not racha_compartida(a, CLAVE_BD_SAM)
    assert racha_compartida(None, CLAVE_BD_SAM) is not racha_compartida(None, CLAVE_BD_SAM)


def test_connectivity_errors_are_the_sam_db_root_cause_a_refused_row_is_not():
    assert es_bd_no_accesible(_sin_conexion())
    assert es_bd_no_accesible(DatabaseError("conexión perdida", connection_lost=True))
    assert es_bd_no_accesible(DatabaseError("interbloqueo", retryable=True))
    assert not es_bd_no_accesible(DatabaseError("clave duplicada", integrity=True))
    assert not es_bd_no_accesible(DatabaseError("no such table: Ejecuciones"))
    assert not es_bd_no_accesible(OSError("no es de la base de datos"))


def test_sam_db_alert_names_driver_server_database_and_settings(tmp_path):
    db = DatabaseClient(engine="sqlserver", connection_string=(
        "DRIVER={ODBC Driver 18 for SQL Server};SERVER=sql01.empresa.local,1433;DATABASE=SAM;UID=sam;PWD=x"))
    alerts = AlertasFalsas()
    alerta = AlertaBdSam(alerts, db, umbral=1, consecuencia="No se lanza nada.")
    alerta.fallo("la conciliación", _sin_conexion())
    [aviso] = alerts.enviadas
    assert (aviso.clave, aviso.asunto) == ("bd_sam", "Base de datos SAM no accesible")
    assert "servidor sql01.empresa.local,1433, base de datos SAM, driver ODBC Driver 18 for SQL Server" in aviso.cuerpo
    assert "ha fallado 1 intento de las tareas del servicio; el último, la conciliación" in aviso.cuerpo
    assert aviso.cuerpo.endswith("No se lanza nada.")
    for setting in ("SQL_SAM_HOST", "SQL_SAM_DB_NAME", "SQL_SAM_DRIVER", "SQL_SAM_UID", "SQL_SAM_PWD"):
        assert setting in aviso.que_revisar
    assert "PWD=x" not in aviso.cuerpo + aviso.que_revisar
    sqlite = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    assert "SQL_SAM_SQLITE_PATH" in que_revisar_bd_sam(sqlite) and "ODBC" not in que_revisar_bd_sam(sqlite)


# ----------------------------------------------------------------------------- in process

def _cfg(**extra):
    from common.utils.config_manager import load_config
    from tests.test_desplegador_wiring import BASE_ENV

    return load_config("lanzador", environ={**BASE_ENV, "SAM_FALLOS_CONSECUTIVOS_ALERTA": "3", **extra})


def test_every_job_of_the_lanzador_counts_in_one_sam_db_run_one_alert_one_recovery(tmp_path):
    from lanzador.service.conciliador import Conciliador
    from lanzador.service.main import Lanzador

    cfg = _cfg(MANTENIMIENTO_HORA_HHMM="00:00")
    clock = FixedClock(datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc), "UTC")
    caida = tmp_path / "no_es_una_bd.db"
    caida.write_bytes(b"esto no es una base de datos SQLite" * 100)
    db = DatabaseClient(engine="sqlite", sqlite_path=caida, max_retries=0, retry_base_delay=0)
    alerts = AlertasFalsas()

    class AA:
        def list_devices(self):
            return []

        def list_taskbots(self):
            return []

        def logout(self):
            pass

    conc = Conciliador(db, AA(), cfg, clock, alerts)
    lz = Lanzador(cfg, db=db, aa=AA(), clock=clock, alerts=alerts, conciliador=conc)
    for _ in range(3):  # start-up recovery (launch job), conciliation, table sync, maintenance
        lz.job_lanzamiento()
        lz.job_conciliacion()
        lz.job_sincronizacion()
        lz.job_mantenimiento()
    assert alerts.claves() == ["bd_sam"], [a.asunto for a in alerts.enviadas]
    assert alerts.enviadas[0].asunto == "Base de datos SAM no accesible"
    assert "motor sqlite, archivo" in alerts.enviadas[0].cuerpo
    # A good database takes the file's place: the first job that uses it announces one recovery.
    caida.unlink()
    ensure_schema(db)
    lz.job_conciliacion()
    lz.job_sincronizacion()
    lz.job_mantenimiento()
    assert alerts.claves_recuperadas() == ["bd_sam"]
    assert alerts.recuperadas[0].asunto == "Base de datos SAM accesible de nuevo"
    assert alerts.claves() == ["bd_sam"]  # and nothing else was alerted
    lz.cerrar()


# ----------------------------------------------------------------------------- real processes

class _Proceso:
    def __init__(self, tmp, env):
        self.log_file = tmp / "logs" / "sam_lanzador_app.log"
        self.out = tmp / "salida.log"
        with self.out.open("ab") as fh:
            self.p = subprocess.Popen([sys.executable, str(LANZADOR)], cwd=tmp, env=env, stdin=subprocess.DEVNULL,
                                      stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""

    def terminar(self) -> int:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(40)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(10)
            raise AssertionError("el Lanzador no terminó con SIGTERM") from None


def _correos(sink: SmtpSink) -> list[tuple[str, str]]:
    with sink.lock:
        return [(str(m["X-SAM-Alert-Key"]), str(m["Subject"])) for m in sink.messages]


@pytest.mark.system
@pytest.mark.slow
def test_lanzador_on_sqlite_that_is_not_a_database_sends_one_mail_then_one_recovery(tmp_path):
    sim = ControlRoomSimulator(generate_state(files=4, devices=2, users=2, seed=7), seed=7)
    sink = SmtpSink().start()
    sam_db = tmp_path / "datos" / "sam.db"
    sam_db.parent.mkdir()
    sam_db.write_bytes(b"esto no es una base de datos SQLite\n" * 200)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SQL_", "AA_", "LANZADOR_", "CALLBACK_", "EMAIL_", "CONCILIADOR_", "SAM_"))}
    env.update({
        "SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": str(sam_db),
        "SQL_SAM_MAX_REINTENTOS_QUERY": "1", "SQL_SAM_DELAY_REINTENTO_QUERY_BASE_SEG": "0.05",
        "SAM_FALLOS_CONSECUTIVOS_ALERTA": "2", "SAM_ZONA_HORARIA": "UTC",
        "LOG_DIRECTORY": str(tmp_path / "logs"), "LOG_LEVEL": "INFO",
        "AA_URL": sim.url, "AA_USER": API_USERNAME, "AA_PWD": API_PASSWORD,
        "AA_URL_CALLBACK": "http://127.0.0.1:9/api/callback", "AA_API_TIMEOUT_SECONDS": "5",
        "CALLBACK_TOKEN": "token-del-sistema-de-pruebas-0123456789",
        "EMAIL_SMTP_SERVER": "127.0.0.1", "EMAIL_SMTP_PORT": str(sink.port), "EMAIL_USE_TLS": "false",
        "EMAIL_FROM": "sam@example.com", "EMAIL_RECIPIENTS": "operaciones@example.com",
        "LANZADOR_INTERVALO_LANZADOR_SEG": "1", "LANZADOR_INTERVALO_CONCILIADOR_SEG": "1",
        "LANZADOR_INTERVALO_SYNC_TABLAS_SEG": "1", "LANZADOR_SHUTDOWN_TIMEOUT_SEG": "15",
        "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8",
    })
    proc = _Proceso(tmp_path, env)
    try:
        # Every job fails on the same file: conciliation rounds, table syncs and the launch job's
        # start-up recovery; one mail, about the SAM DB.
        esperar(lambda: proc.p.poll() is not None or (
            proc.log().count("Conciliación: base de datos SAM no disponible") >= 4
            and proc.log().count("Sincronización de Equipos abandonada") >= 2), 90, que="rondas sin base de datos")
        assert proc.p.poll() is None, proc.out.read_text(encoding="utf-8", errors="replace")[-3000:]
        esperar(lambda: _correos(sink), 30, que="correo de la base de datos SAM")
        assert "no se lanza nada hasta conseguirlo" in proc.log()
        assert _correos(sink) == [("bd_sam", "[SAM][lanzador][ERROR] Base de datos SAM no accesible")]
        with sink.lock:
            cuerpo = sink.messages[0].get_body(("plain",)).get_content()
        assert f"motor sqlite, archivo {sam_db}" in cuerpo and "SQL_SAM_SQLITE_PATH" in cuerpo
        assert "Servidor SAM: " in cuerpo and "Equipo:" not in cuerpo
        # A good SAM database takes the file's place: one recovery, nothing else.
        buena = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "buena.db")
        ensure_schema(buena)
        buena.close_all()
        os.replace(tmp_path / "buena.db", sam_db)
        esperar(lambda: len(_correos(sink)) >= 2, 60, que="correo de recuperación")
        esperar(lambda: "Sincronización de Robots: " in proc.log(), 30, que="una sincronización completa")
        assert proc.terminar() == 0
    finally:
        if proc.p.poll() is None:
            proc.p.kill()
            proc.p.wait(10)
        sink.stop()
        sim.close()
    log = proc.log()
    assert "Traceback" not in log and "Servicio lanzador detenido correctamente." in log
    assert _correos(sink) == [("bd_sam", "[SAM][lanzador][ERROR] Base de datos SAM no accesible"),
                              ("bd_sam", "[SAM][lanzador][RECUPERADO] Base de datos SAM accesible de nuevo")]
