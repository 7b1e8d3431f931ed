"""DatabaseClient and the Lanzador against Microsoft's real ODBC Driver 18 for SQL Server.

No SQL Server runs here. The driver comes from the PyPI package ``mssql-python-odbc`` (Microsoft's
Linux build of ``libmsodbcsql-18``), registered with unixODBC by ``.ci/instalar_odbc18.sh``. The
error paths are the driver's own:

- server unreachable: 127.0.0.1 on a closed port with ``Connection Timeout=1``;
- login failed: ``tests/tds_falso.py``, a fake TDS 7.x server that rejects every LOGIN7 with error
  18456 (the driver reports SQLSTATE 28000). Without TLS (``Encrypt=no``), and with TLS as SQL
  Server does it (handshake inside PRELOGIN packets, self-signed certificate): Driver 18 encrypts
  by default, verifies the certificate unless ``TrustServerCertificate=yes``, and refuses a server
  without TLS;
- service alive: a real ``python lanzador/run_lanzador.py`` with ``SQL_SAM_ENGINE=sqlserver`` and
  the driver, the A360 simulator and the SMTP sink.

Waits poll a condition up to a deadline; nothing asserts on elapsed time.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pyodbc = pytest.importorskip("pyodbc", exc_type=ImportError, reason="pyodbc no carga (paquete Debian unixodbc)")

DRIVER = "ODBC Driver 18 for SQL Server"

if DRIVER not in pyodbc.drivers():  # pragma: no cover - depends on the machine
    pytest.skip(
        f"{DRIVER!r} is not registered with unixODBC (PyPI package mssql-python-odbc; "
        "install and register it with: bash .ci/instalar_odbc18.sh)",
        allow_module_level=True,
    )

from common.database.sql_client import DatabaseClient, DatabaseError  # noqa: E402
from common.paths import PROJECT_ROOT  # noqa: E402
from common.utils.config_manager import load_config  # noqa: E402
from demo.simulator import API_PASSWORD, API_USERNAME, ControlRoomSimulator, generate_state  # noqa: E402
from tests.smtp_sink import SmtpSink, closed_port, self_signed_context  # noqa: E402
from tests.tds_falso import FakeTdsServer  # noqa: E402

LANZADOR = PROJECT_ROOT / "lanzador" / "run_lanzador.py"
SECRETO = "Cl4ve;Secreta{SAM}=18"  # ';', braces and '=' must survive the connection string
USUARIO = "sam_app"
MS_PREFIX = f"[Microsoft][{DRIVER}]"


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def wait_for(cond, timeout=60.0, step=0.2, what="condición"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"no se cumplió en {timeout} s: {what} (último valor: {last!r})")


def sam_env(port: int, host: str = "127.0.0.1", **extra: str) -> dict[str, str]:
    """SQL_SAM_* settings of a Lanzador using Driver 18 against <host>,<port>."""
    env = {
        "SQL_SAM_ENGINE": "sqlserver",
        "SQL_SAM_DRIVER": DRIVER,
        "SQL_SAM_HOST": f"{host},{port}",
        "SQL_SAM_DB_NAME": "SAM",
        "SQL_SAM_UID": USUARIO,
        "SQL_SAM_PWD": SECRETO,
        "SQL_SAM_TIMEOUT_CONEXION_INICIAL": "1",
        "SQL_SAM_MAX_REINTENTOS_QUERY": "3",
        "SQL_SAM_DELAY_REINTENTO_QUERY_BASE_SEG": "0.5",
        "SQL_SAM_PARAMETROS_ODBC_EXTRA": "Encrypt=no",
    }
    env.update(extra)
    return env


def client_from_settings(tmp_path: Path, port: int, host: str = "127.0.0.1", **extra: str) -> DatabaseClient:
    """The production path: Lanzador settings → ``load_config`` → ``DatabaseClient.from_config``."""
    env = {
        **sam_env(port, host, **extra),
        "AA_URL": "http://127.0.0.1:9",
        "AA_USER": "u",
        "AA_PWD": "p",
        "AA_URL_CALLBACK": "http://127.0.0.1:9/api/callback",
        "CALLBACK_TOKEN": "t" * 40,
    }
    cfg = load_config("lanzador", environ=env, root=tmp_path)
    db = DatabaseClient.from_config(cfg, "SAM")
    db._sleep = SleepRecorder()
    return db


def assert_clean(text: str) -> None:
    assert SECRETO not in text
    assert "Secreta" not in text
    assert "PWD=" not in text.upper().replace("PWD=********", "")


# ---------------------------------------------------------------------------------------------------
def test_unreachable_server_retried_with_backoff_spanish_message_no_secret(tmp_path, caplog):
    db = client_from_settings(tmp_path, closed_port(), SQL_SAM_MAX_REINTENTOS_QUERY="3")
    db.retry_max_delay = 1.5
    assert db.connect_timeout == 1 and "Connection Timeout=1;" in db.connection_string
    with caplog.at_level(logging.WARNING, logger="sam.database"):
        with pytest.raises(DatabaseError) as info:
            db.query("SELECT 1")
    err = info.value
    text = str(err)
    assert text.startswith("Error de base de datos SAM al conectar ["), text
    assert MS_PREFIX in text  # the driver itself answered (not "Can't open lib" from unixODBC)
    assert err.sqlstate in ("HYT00", "08001", "08S01"), err.sqlstate
    assert err.retryable and not err.integrity
    # Flags follow the SQLSTATE: 08xxx = connection failure; HYT00 (login timeout) = timeout.
    assert err.connection_lost == err.sqlstate.startswith("08")
    # 3 retries after the first attempt, exponential from 0.5 s, capped at retry_max_delay.
    assert db._sleep.calls == [0.5, 1.0, 1.5]
    retries = [r.getMessage() for r in caplog.records if "reintento" in r.getMessage()]
    assert len(retries) == 3 and retries[0].startswith("Error de base de datos SAM al conectar")
    assert "reintento 3 de 3 en 1.50 s" in retries[-1]
    for chunk in [text, repr(err.args), *retries, caplog.text]:
        assert_clean(chunk)
    assert db.ping() is False
    assert db.open_connections == 0


def test_login_failed_not_retried_spanish_message_no_secret(tmp_path, caplog):
    with FakeTdsServer() as srv:
        db = client_from_settings(tmp_path, srv.port)
        with caplog.at_level(logging.WARNING, logger="sam.database"):
            with pytest.raises(DatabaseError) as info:
                db.query("SELECT 1")
        err = info.value
        text = str(err)
        assert text.startswith("Error de base de datos SAM al conectar [28000]: "), text
        assert f"Login failed for user '{USUARIO}'" in text and MS_PREFIX in text
        assert err.sqlstate == "28000" and err.native_code == 18456
        assert not err.retryable and not err.connection_lost and not err.integrity
        # A wrong password is not retried: no backoff, one LOGIN7 on the wire.
        assert db._sleep.calls == []
        assert "reintento" not in caplog.text
        assert len(srv.logins) == 1
        # What the driver sent is exactly what was configured (quoting of ';', '{', '}', '=').
        login = srv.logins[0]
        assert (login.user, login.password, login.database) == (USUARIO, SECRETO, "SAM")
        assert login.tds_version >= 0x72000000  # TDS 7.2 or later
        for chunk in [text, repr(err.args), caplog.text]:
            assert_clean(chunk)
        # Every later statement tries again (a fixed password may have been deployed): no cache.
        with pytest.raises(DatabaseError):
            db.execute("UPDATE Robots SET EsOnline = 0")
        assert len(srv.logins) == 2 and db._sleep.calls == []


def test_driver18_default_encrypt_against_server_without_tls(tmp_path):
    """Driver 18 encrypts by default: with no ``Encrypt`` in ``SQL_SAM_PARAMETROS_ODBC_EXTRA`` a
    server without TLS is refused, and the message says so (Spanish prefix, no secret)."""
    with FakeTdsServer() as srv:
        db = client_from_settings(
            tmp_path, srv.port, SQL_SAM_PARAMETROS_ODBC_EXTRA="", SQL_SAM_MAX_REINTENTOS_QUERY="0"
        )
        assert "ENCRYPT" not in db.connection_string.upper()
        with pytest.raises(DatabaseError) as info:
            db.query("SELECT 1")
        text = str(info.value)
        assert text.startswith("Error de base de datos SAM al conectar [08001]: "), text
        assert "Encryption not supported" in text
        assert srv.logins == []  # refused before any credential went out
        assert_clean(text)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """(server SSLContext for localhost/127.0.0.1, path of its self-signed CA certificate)."""
    return self_signed_context(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize(
    ("extra", "host", "trust_ca"),
    [
        # The production setting documented in .env.example, with the server's CA trusted
        # (OpenSSL's SSL_CERT_FILE); Driver 18 checks the name, so SERVER is the certificate's name.
        ("Encrypt=yes;TrustServerCertificate=no", "localhost", True),
        ("Encrypt=yes;TrustServerCertificate=yes", "127.0.0.1", False),
    ],
    ids=["certificado-verificado", "trust-server-certificate"],
)
def test_login_failed_over_tls(tmp_path, monkeypatch, tls, extra, host, trust_ca):
    context, ca = tls
    if trust_ca:
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    else:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with FakeTdsServer(tls_context=context) as srv:
        db = client_from_settings(tmp_path, srv.port, host, SQL_SAM_PARAMETROS_ODBC_EXTRA=extra)
        with pytest.raises(DatabaseError) as info:
            db.query("SELECT 1")
        err = info.value
        assert err.sqlstate == "28000" and not err.retryable, str(err)
        assert f"Login failed for user '{USUARIO}'" in str(err)
        # The login went inside TLS: the client asked for encryption, the handshake completed.
        assert srv.client_encryption == [1] and srv.tls_handshakes == 1
        assert [(lg.user, lg.password) for lg in srv.logins] == [(USUARIO, SECRETO)]
        assert db._sleep.calls == []
        assert_clean(str(err))


def test_untrusted_certificate_refused_before_login(tmp_path, monkeypatch, tls):
    """``Encrypt=yes`` with a certificate nobody trusts: no credential reaches the server."""
    context, _ca = tls
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with FakeTdsServer(tls_context=context) as srv:
        db = client_from_settings(
            tmp_path, srv.port, "localhost", SQL_SAM_PARAMETROS_ODBC_EXTRA="Encrypt=yes",
            SQL_SAM_MAX_REINTENTOS_QUERY="0",
        )
        with pytest.raises(DatabaseError) as info:
            db.query("SELECT 1")
        text = str(info.value)
        assert text.startswith("Error de base de datos SAM al conectar [08001]: "), text
        assert "certificate verify failed" in text
        assert srv.logins == [] and srv.tls_handshakes == 0
        assert_clean(text)


# ---------------------------------------------------------------------------------------------------
class LanzadorProc:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.out = tmp / "lanzador.salida.log"
        self.log_file = tmp / "logs" / "sam_lanzador_app.log"
        with self.out.open("ab") as fh:
            self.p = subprocess.Popen([sys.executable, str(LANZADOR)], cwd=tmp, env=env,
                                      stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def alive(self) -> bool:
        return self.p.poll() is None

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""

    def output(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace") if self.out.exists() else ""

    def terminate(self, timeout: float = 40.0) -> int:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"el Lanzador no terminó con SIGTERM en {timeout} s") from None

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(10)


@pytest.fixture()
def lanzador_factory(tmp_path):
    procs: list[LanzadorProc] = []
    sim = ControlRoomSimulator(generate_state(files=4, devices=2, users=2, seed=5), seed=5)
    sink = SmtpSink().start()

    def start(db_port: int, **extra: str) -> LanzadorProc:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SQL_", "AA_", "LANZADOR_", "CALLBACK_", "EMAIL_", "CONCILIADOR_", "SAM_"))}
        env.update(sam_env(db_port))
        env.update({
            "SQL_SAM_MAX_REINTENTOS_QUERY": "2",
            "SQL_SAM_DELAY_REINTENTO_QUERY_BASE_SEG": "0.1",
            "SAM_FALLOS_CONSECUTIVOS_ALERTA": "2",
            "SAM_ZONA_HORARIA": "UTC",
            "LOG_DIRECTORY": str(tmp_path / "logs"),
            "LOG_LEVEL": "INFO",
            "AA_URL": sim.url,
            "AA_USER": API_USERNAME,
            "AA_PWD": API_PASSWORD,
            "AA_URL_CALLBACK": "http://127.0.0.1:9/api/callback",
            "AA_API_TIMEOUT_SECONDS": "5",
            "CALLBACK_TOKEN": "token-del-sistema-de-pruebas-0123456789",
            "EMAIL_SMTP_SERVER": "127.0.0.1",
            "EMAIL_SMTP_PORT": str(sink.port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_FROM": "sam@example.com",
            "EMAIL_RECIPIENTS": "operaciones@example.com",
            "LANZADOR_INTERVALO_LANZADOR_SEG": "1",
            "LANZADOR_INTERVALO_CONCILIADOR_SEG": "1",
            "LANZADOR_INTERVALO_SYNC_TABLAS_SEG": "2",
            "LANZADOR_SHUTDOWN_TIMEOUT_SEG": "15",
            "PYTHONUNBUFFERED": "1",
            "PYTHONIOENCODING": "utf-8",
        })
        env.update(extra)
        proc = LanzadorProc(tmp_path, env)
        procs.append(proc)
        return proc

    start.sink = sink
    yield start
    for proc in procs:
        proc.kill()
    sink.stop()
    sim.close()


def _subjects(sink: SmtpSink) -> list[str]:
    with sink.lock:
        return [str(m["Subject"]) for m in sink.messages]


def _db_alerts(sink: SmtpSink) -> list:
    with sink.lock:
        return [m for m in sink.messages if "Base de datos SAM" in str(m["Subject"])]


def _rounds(log: str) -> int:
    return log.count("Conciliación: base de datos SAM no disponible")


def _assert_survived(proc: LanzadorProc, sink: SmtpSink) -> tuple[str, list]:
    # Several rounds after the alert threshold (2): the process is alive all along.
    wait_for(lambda: not proc.alive() or _rounds(proc.log()) >= 5, 90, what="5 rondas sin base de datos")
    assert proc.alive(), proc.output()[-3000:]
    alerts = wait_for(lambda: _db_alerts(sink), 30, what="alerta por e-mail de la base de datos SAM")
    assert proc.terminate() == 0
    log = proc.log()
    assert "Servicio lanzador detenido correctamente." in log
    assert "Traceback" not in log and "Traceback" not in proc.output()
    # One root cause, one mail: every job of the process (start-up recovery, conciliation, table
    # sync, maintenance) fails on the same unreachable SAM DB, and exactly one mail goes out, about
    # the SAM DB; no other alert (not an A360 sync failure, not one per job), no key twice.
    with sink.lock:
        keys = [str(m["X-SAM-Alert-Key"]) for m in sink.messages]
    assert keys == ["bd_sam"], _subjects(sink)
    assert _subjects(sink) == ["[SAM][lanzador][ERROR] Base de datos SAM no accesible"]
    alerts = _db_alerts(sink)
    body = alerts[0].get_body(("plain",)).get_content()
    assert "Servidor SAM: " in body and "Equipo:" not in body
    # It names the engine, the server, the database and the ODBC driver, and the settings to check.
    assert "motor sqlserver, servidor 127.0.0.1," in body and f"driver {DRIVER}" in body
    assert "han fallado 2 intentos seguidos de las tareas del servicio" in body
    assert "Error de base de datos SAM al" in body
    for setting in ("SQL_SAM_HOST", "SQL_SAM_DB_NAME", "SQL_SAM_DRIVER", "SQL_SAM_UID"):
        assert setting in body, body
    assert "Base de datos SAM: motor sqlserver, servidor 127.0.0.1," in log and DRIVER in log
    for text in [log, proc.output(), *(m.as_string() for m in sink.messages)]:
        assert_clean(text)
    return log, alerts


@pytest.mark.system
@pytest.mark.slow
def test_lanzador_survives_unreachable_sql_server(lanzador_factory):
    proc = lanzador_factory(closed_port())
    log, _ = _assert_survived(proc, lanzador_factory.sink)
    assert "Error de base de datos SAM al conectar [" in log and MS_PREFIX in log
    # Each failing statement is retried with exponential backoff (base 0.1 s, 2 retries).
    assert "reintento 1 de 2 en 0.10 s" in log and "reintento 2 de 2 en 0.20 s" in log
    # Nothing is launched while the start-up recovery cannot read the DB.
    assert "no se lanza nada hasta conseguirlo" in log


@pytest.mark.system
def test_lanzador_survives_login_failed(lanzador_factory):
    with FakeTdsServer() as srv:
        proc = lanzador_factory(srv.port)
        log, _ = _assert_survived(proc, lanzador_factory.sink)
        assert "Error de base de datos SAM al conectar [28000]: " in log
        assert f"{MS_PREFIX}[SQL Server]Login failed for user '{USUARIO}'" in log
        assert "reintento" not in log  # a wrong password is never retried statement by statement
        assert srv.logins and all(lg.password == SECRETO for lg in srv.logins)
