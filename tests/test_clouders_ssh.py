"""The clouders ticket source for real: MariaDB on 127.0.0.1:3306 reached through a real OpenSSH
server started by the test (BEHAVIOUR §7 B2, B8; §10 "SSH host keys accepted blindly", "a failing
ticket source read as zero tickets")."""

from __future__ import annotations

import concurrent.futures
import logging
import secrets
import socket
import threading
from pathlib import Path

import pytest

from balanceador.clients.base import SourceError
from balanceador.clients.clouders_client import CloudersSettings, CloudersSource
from balanceador.clients.fuentes import SourceHealth, build_sources, read_all
from balanceador.clients.rpa360_client import Rpa360Source
from tests.alertas_falsas import AlertasFalsas
from tests.componentes import falta
from tests.sshd_server import (
    CloudersTestDatabase,
    SshdServer,
    ensure_password_user,
    mariadb_unavailable_reason,
    sshd_factory,  # noqa: F401 - pytest fixture
    sshd_unavailable_reason,
)

pytestmark = [pytest.mark.system]

_skip = sshd_unavailable_reason() or mariadb_unavailable_reason()
if _skip:  # pragma: no cover
    falta(_skip, modulo=True)

MODES = ["tunel", "comando"]

HOSTILE = {
    "plain": 3,
    "O'Reilly \"doble\" `tilde`": 2,
    "tab\there": 1,
    "new\nline": 4,
    "back\\slash\\n\\t": 5,
    "ünïcødé — 日本 🤖": 6,
    "cr\rx\u2028y\x1cz": 7,
    "NULL": 8,
    " espacios ": 1,
    "Espacios": 2,
    "espacios": 9,
    "; DROP TABLE task_task; --": 1,
    "$(touch /tmp/pwned) `id`": 1,
}


@pytest.fixture(scope="module")
def sshd():
    with SshdServer(password_auth=True) as server:
        yield server


@pytest.fixture(scope="module")
def clouders_db():
    with CloudersTestDatabase() as db:
        db.set_tickets({"RobotA": 3, "RobotB": 1}, other_states={"RobotA": 4, "Idle": 2})
        yield db


def settings(server: SshdServer, db_name: str, mode: str, **overrides) -> CloudersSettings:
    values = dict(
        mode=mode,
        ssh_host=server.host,
        ssh_port=server.port,
        ssh_user=server.user,
        ssh_key_file=str(server.key_file),
        known_hosts=str(server.known_hosts),
        timeout=10.0,
        mysql_host="127.0.0.1",
        mysql_port=3306,
        mysql_db=db_name,
        mysql_user="root",
    )
    values.update(overrides)
    return CloudersSettings(**values)


def as_dict(rows):
    assert all(robot_id is None for _, robot_id, _ in rows)
    return {name: count for name, _, count in rows}


def read_one(source):
    (result,) = read_all([source], None)
    return result


# --- both modes, both auth methods -------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_B2_clouders_key_auth_counts_pending_per_robot(sshd, clouders_db, mode):
    source = CloudersSource(settings(sshd, clouders_db.name, mode))
    try:
        assert as_dict(source.read()) == {"RobotA": 3, "RobotB": 1}
        # The SSH connection is reused across cycles.
        assert as_dict(source.read()) == {"RobotA": 3, "RobotB": 1}
        assert source.connections_opened == 1
    finally:
        source.close()


@pytest.mark.parametrize("mode", MODES)
def test_B14_clouders_reports_its_own_names_for_the_consolidation_to_map(sshd, clouders_db, mode):
    source = CloudersSource(settings(sshd, clouders_db.name, mode))
    try:
        result = read_one(source)
        assert result.ok, result.error
        assert as_dict(result.rows) == {"RobotA": 3, "RobotB": 1}  # as clouders spells it: mapped later
        assert result.mapped_names == ()
    finally:
        source.close()


@pytest.mark.parametrize("mode", MODES)
def test_B2_clouders_password_auth(sshd, clouders_db, mode):
    login = ensure_password_user()
    if login is None:
        pytest.skip("autenticación por contraseña: requiere root para crear la cuenta de prueba")
    user, password = login
    source = CloudersSource(settings(sshd, clouders_db.name, mode, ssh_user=user, ssh_key_file="", ssh_password=password))
    try:
        assert as_dict(source.read()) == {"RobotA": 3, "RobotB": 1}
    finally:
        source.close()


def test_B2_clouders_wrong_password_is_a_clear_secret_free_failure(sshd, clouders_db):
    login = ensure_password_user()
    if login is None:
        pytest.skip("autenticación por contraseña: requiere root para crear la cuenta de prueba")
    wrong = "Contraseña-Errónea-" + secrets.token_hex(4)
    source = CloudersSource(settings(sshd, clouders_db.name, "tunel", ssh_user=login[0], ssh_key_file="", ssh_password=wrong))
    result = read_one(source)
    assert result.ok is False and result.rows == ()
    assert "autenticación SSH rechazada" in result.error
    assert wrong not in result.error


def test_B2_clouders_key_not_authorised_is_refused(sshd, clouders_db):
    source = CloudersSource(settings(sshd, clouders_db.name, "tunel", ssh_key_file=str(sshd.other_key_file)))
    result = read_one(source)
    assert result.ok is False and "autenticación SSH rechazada" in result.error


# --- host keys (§10: SSH host keys accepted blindly) --------------------------------------------


def _accepted_logins(server: SshdServer) -> int:
    return server.log_file.read_text(errors="replace").count("Accepted ")


@pytest.mark.parametrize("accept_unknown", [False, True])
def test_B2_clouders_wrong_host_key_refused_before_login(sshd, clouders_db, accept_unknown):
    before = _accepted_logins(sshd)
    source = CloudersSource(
        settings(sshd, clouders_db.name, "tunel", known_hosts=str(sshd.wrong_known_hosts), accept_unknown_host=accept_unknown)
    )
    result = read_one(source)
    assert result.ok is False and result.rows == ()
    assert "no coincide" in result.error and "suplantación" in result.error
    assert not source.connected
    assert _accepted_logins(sshd) == before  # never authenticated: no login happened


def test_B2_clouders_unknown_host_refused_by_default(sshd, clouders_db, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    result = read_one(CloudersSource(settings(sshd, clouders_db.name, "tunel", known_hosts=str(empty))))
    assert result.ok is False and "no está en" in result.error and "CLOUDERS_SSH_ACEPTAR_HOST_DESCONOCIDO" in result.error

    missing = tmp_path / "no_existe" / "known_hosts"
    result = read_one(CloudersSource(settings(sshd, clouders_db.name, "tunel", known_hosts=str(missing))))
    assert result.ok is False and "no existe el archivo known_hosts" in result.error


@pytest.mark.parametrize("mode", MODES)
def test_B2_clouders_accept_unknown_flag_works_and_warns(sshd, clouders_db, tmp_path, caplog, mode):
    missing = tmp_path / "known_hosts"
    with caplog.at_level(logging.WARNING, logger="sam.balanceador.fuentes.clouders"):
        source = CloudersSource(
            settings(sshd, clouders_db.name, mode, known_hosts=str(missing), accept_unknown_host=True)
        )
        try:
            assert as_dict(source.read()) == {"RobotA": 3, "RobotB": 1}
        finally:
            source.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("CLOUDERS_SSH_ACEPTAR_HOST_DESCONOCIDO=true" in w for w in warnings)  # at start
    assert any("desconocida aceptada" in w for w in warnings)  # with the fingerprint
    assert not missing.exists()  # nothing written to known_hosts behind the operator's back


# --- broken connection and recovery ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_B2_clouders_sshd_killed_mid_run_then_restarted_recovers(sshd_factory, clouders_db, mode):  # noqa: F811
    server = sshd_factory(password_auth=False)
    source = CloudersSource(settings(server, clouders_db.name, mode))
    try:
        assert as_dict(source.read()) == {"RobotA": 3, "RobotB": 1}
        server.stop()  # kills the listener and the established session
        down = read_one(source)
        assert down.ok is False and down.rows == ()  # never "zero tickets"
        assert "no se pudo conectar" in down.error or "SSH" in down.error
        down_again = read_one(source)
        assert down_again.ok is False
        server.start()
        assert as_dict(source.read()) == {"RobotA": 3, "RobotB": 1}
        assert source.connected
    finally:
        source.close()


@pytest.mark.parametrize("mode", MODES)
def test_B2_clouders_stale_connection_is_replaced_transparently(sshd_factory, clouders_db, mode):  # noqa: F811
    server = sshd_factory(password_auth=False)
    source = CloudersSource(settings(server, clouders_db.name, mode))
    try:
        assert source.read()
        opened = source.connections_opened
        server.restart()  # between two cycles: the kept connection is now dead
        assert as_dict(source.read()) == {"RobotA": 3, "RobotB": 1}
        assert source.connections_opened == opened + 1
    finally:
        source.close()


def test_B8_clouders_down_three_cycles_one_alert_and_one_recovery(sshd_factory, clouders_db):  # noqa: F811
    server = sshd_factory(password_auth=False)
    source = CloudersSource(settings(server, clouders_db.name, "tunel"))
    alerts = AlertasFalsas()
    health = SourceHealth(alerts, 3, logging.getLogger("test.clouders"))
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
            health.record(read_all([source], ex))
            server.stop()
            for _ in range(5):
                results = read_all([source], ex)
                assert results[0].ok is False
                health.record(results)
            assert [t for t, _ in alerts.orden()] == ["alert"]
            server.start()
            results = read_all([source], ex)
            assert results[0].ok is True
            health.record(results)
            assert [t for t, _ in alerts.orden()] == ["alert", "recovery"]
    finally:
        source.close()


# --- MariaDB errors: a failure, never zero tickets ------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_B2_clouders_unknown_database_is_a_failure(sshd, clouders_db, mode):
    source = CloudersSource(settings(sshd, clouders_db.name + "_no_existe", mode))
    try:
        result = read_one(source)
        assert result.ok is False and result.rows == ()
        assert "1049" in result.error
        assert source.connected  # a MySQL error does not throw away a healthy SSH connection
    finally:
        source.close()


@pytest.mark.parametrize("mode", MODES)
def test_B2_clouders_missing_table_is_a_failure(sshd, mode):
    with CloudersTestDatabase() as db:
        db.execute(f"DROP TABLE `{db.name}`.task_task")
        source = CloudersSource(settings(sshd, db.name, mode))
        try:
            result = read_one(source)
        finally:
            source.close()
    assert result.ok is False and result.rows == ()
    assert "1146" in result.error


@pytest.mark.parametrize("mode", MODES)
def test_B2_clouders_no_pending_tasks_is_ok_and_empty(sshd, mode):
    with CloudersTestDatabase() as db:
        db.set_tickets({}, other_states={"RobotA": 3})
        source = CloudersSource(settings(sshd, db.name, mode))
        try:
            result = read_one(source)
        finally:
            source.close()
    assert result.ok is True and result.rows == ()


def test_B2_clouders_mysql_unreachable_from_ssh_host(sshd, clouders_db):
    port = _closed_port()
    for mode in MODES:
        source = CloudersSource(settings(sshd, clouders_db.name, mode, mysql_port=port))
        try:
            result = read_one(source)
        finally:
            source.close()
        assert result.ok is False and result.rows == ()
        assert str(port) in result.error or "2002" in result.error or "2003" in result.error, result.error


def test_B2_clouders_comando_missing_client_is_reported(sshd, clouders_db):
    source = CloudersSource(settings(sshd, clouders_db.name, "comando", mysql_client="/nonexistent/mysql"))
    try:
        result = read_one(source)
    finally:
        source.close()
    assert result.ok is False and "CLOUDERS_MYSQL_CLIENTE" in result.error


# --- MySQL password: used in both modes, never on a command line or in an error ------------------


@pytest.fixture(scope="module")
def mysql_user(clouders_db):
    user = f"samu_{secrets.token_hex(3)}"
    password = "Pw'\"$`; " + secrets.token_hex(6)
    hosts = ["%", "localhost", "127.0.0.1"]
    for host in hosts:
        clouders_db.execute(f"CREATE USER '{user}'@%s IDENTIFIED BY %s", (host, password))
        clouders_db.execute(f"GRANT SELECT ON `{clouders_db.name}`.* TO '{user}'@%s", (host,))
    yield user, password
    for host in hosts:
        clouders_db.execute(f"DROP USER IF EXISTS '{user}'@%s", (host,))


@pytest.mark.parametrize("mode", MODES)
def test_B2_clouders_mysql_password_auth_without_exposing_it(sshd, clouders_db, mysql_user, mode):
    user, password = mysql_user
    source = CloudersSource(settings(sshd, clouders_db.name, mode, mysql_user=user, mysql_password=password))
    try:
        assert as_dict(source.read()) == {"RobotA": 3, "RobotB": 1}
        assert password not in source.command_line()
        assert password not in repr(source.settings)
    finally:
        source.close()
    bad = CloudersSource(settings(sshd, clouders_db.name, mode, mysql_user=user, mysql_password=password + "x"))
    try:
        result = read_one(bad)
    finally:
        bad.close()
    assert result.ok is False and "1045" in result.error
    assert password not in result.error


# --- hostile robot names --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_B2_clouders_hostile_robot_names_round_trip(sshd, mode):
    with CloudersTestDatabase() as db:
        db.set_tickets(HOSTILE, other_states={"plain": 2})
        source = CloudersSource(settings(sshd, db.name, mode))
        try:
            assert as_dict(source.read()) == HOSTILE
        finally:
            source.close()
    assert not Path("/tmp/pwned").exists()


def test_B2_clouders_duplicate_robot_names_are_summed(sshd):
    with CloudersTestDatabase() as db:
        db.set_tickets({"Dup": 2})
        db.execute(f"INSERT INTO `{db.name}`.task_robot (name) VALUES ('Dup')")
        db.execute(
            f"INSERT INTO `{db.name}`.task_task (robot_id, state) "
            f"SELECT MAX(id), 'PENDING' FROM `{db.name}`.task_robot"
        )
        for mode in MODES:
            source = CloudersSource(settings(sshd, db.name, mode))
            try:
                assert source.read() == [("Dup", None, 3)]
            finally:
                source.close()


# --- bounded timeouts -----------------------------------------------------------------------------


class _SilentServer:
    """Accepts TCP connections and never says a word (a hung SSH or MySQL server)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
            except OSError:
                continue

    def close(self):
        self._stop.set()
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_B2_clouders_hung_ssh_server_times_out(clouders_db, sshd):
    silent = _SilentServer()
    try:
        source = CloudersSource(settings(sshd, clouders_db.name, "tunel", ssh_port=silent.port, timeout=1.0))
        result = read_one(source)
    finally:
        silent.close()
    assert result.ok is False and result.rows == ()
    assert "SSH" in result.error


def test_B2_clouders_hung_mysql_times_out_in_tunnel_mode(sshd, clouders_db):
    silent = _SilentServer()
    try:
        source = CloudersSource(settings(sshd, clouders_db.name, "tunel", mysql_port=silent.port, timeout=1.0))
        try:
            result = read_one(source)
        finally:
            source.close()
    finally:
        silent.close()
    assert result.ok is False and result.rows == ()
    assert "MySQL" in result.error


def test_B2_clouders_hung_remote_command_times_out(sshd, clouders_db, tmp_path):
    slow = tmp_path / "slow_mysql"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    source = CloudersSource(settings(sshd, clouders_db.name, "comando", mysql_client=str(slow), timeout=1.0))
    try:
        result = read_one(source)
    finally:
        source.close()
    assert result.ok is False and "tiempo de espera agotado" in result.error


def test_B2_clouders_overlapping_reads_are_refused(sshd, clouders_db):
    source = CloudersSource(settings(sshd, clouders_db.name, "tunel"))
    try:
        assert source._lock.acquire(blocking=False)  # a read still running from the last cycle
        try:
            with pytest.raises(SourceError, match="lectura anterior"):
                source.read()
        finally:
            source._lock.release()
    finally:
        source.close()


# --- build_sources from the real configuration + read_all over real sources -------------------------


def test_B1_build_sources_from_config_reads_both_concurrently(sshd, clouders_db, tmp_path):
    import sqlite3

    from common.utils.config_manager import load_config

    rpa = tmp_path / "rpa360.db"
    con = sqlite3.connect(rpa)
    con.execute("CREATE TABLE TicketsPendientesPorRobot (Robot TEXT, RobotId INTEGER NULL, CantidadTickets INTEGER)")
    con.execute("INSERT INTO TicketsPendientesPorRobot VALUES ('RobotA', 1, 20)")
    con.commit()
    con.close()
    env = {
        "SQL_SAM_ENGINE": "sqlite",
        "SQL_SAM_SQLITE_PATH": str(tmp_path / "sam.db"),
        "SQL_RPA360_ENGINE": "sqlite",
        "SQL_RPA360_SQLITE_PATH": str(rpa),
        "BALANCEADOR_PROVEEDORES_CARGA": "rpa360;clouders",
        "CLOUDERS_MODO": "comando",
        "CLOUDERS_SSH_HOST": sshd.host,
        "CLOUDERS_SSH_PORT": str(sshd.port),
        "CLOUDERS_SSH_USER": sshd.user,
        "CLOUDERS_SSH_KEY_FILE": str(sshd.key_file),
        "CLOUDERS_SSH_KNOWN_HOSTS": str(sshd.known_hosts),
        "CLOUDERS_SSH_TIMEOUT_SEG": "10",
        "CLOUDERS_MYSQL_DB_NAME": clouders_db.name,
        "CLOUDERS_MYSQL_USER": "root",
    }
    cfg = load_config("balanceador", env, tmp_path)
    sources = build_sources(cfg)
    try:
        assert [s.name for s in sources] == ["rpa360", "clouders"]
        assert isinstance(sources[0], Rpa360Source) and isinstance(sources[1], CloudersSource)
        assert sources[1].settings.mode == "comando"
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
            results = read_all(sources, ex)
        assert [r.ok for r in results] == [True, True], results
        assert results[0].rows == (("RobotA", 1, 20),)
        assert dict((n, c) for n, _, c in results[1].rows) == {"RobotA": 3, "RobotB": 1}
    finally:
        for s in sources:
            s.close()


# --- key files and known_hosts files as found in the field -----------------------------------------


def test_B2_clouders_missing_key_file_is_reported(sshd, clouders_db, tmp_path):
    result = read_one(CloudersSource(settings(sshd, clouders_db.name, "tunel", ssh_key_file=str(tmp_path / "nope"))))
    assert result.ok is False and "CLOUDERS_SSH_KEY_FILE" in result.error


def test_B2_clouders_encrypted_key_uses_password_as_passphrase(sshd, clouders_db, tmp_path):
    import subprocess

    passphrase = "frase-" + secrets.token_hex(4)
    key = tmp_path / "id_enc"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(key)], check=True)
    original = sshd.authorized_keys.read_text()
    sshd.authorized_keys.write_text(original + Path(f"{key}.pub").read_text())
    try:
        source = CloudersSource(settings(sshd, clouders_db.name, "tunel", ssh_key_file=str(key), ssh_password=passphrase))
        try:
            assert as_dict(source.read()) == {"RobotA": 3, "RobotB": 1}
        finally:
            source.close()
        wrong = read_one(CloudersSource(settings(sshd, clouders_db.name, "tunel", ssh_key_file=str(key), ssh_password="mala")))
        assert wrong.ok is False and "mala" not in wrong.error
    finally:
        sshd.authorized_keys.write_text(original)


def test_B2_clouders_known_hosts_with_foreign_lines_still_verifies(sshd, clouders_db, tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text(
        "@cert-authority *.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
        "garbage\n" + sshd.known_hosts.read_text()
    )
    source = CloudersSource(settings(sshd, clouders_db.name, "tunel", known_hosts=str(kh)))
    try:
        assert as_dict(source.read()) == {"RobotA": 3, "RobotB": 1}
    finally:
        source.close()


def test_B2_clouders_accepted_unknown_key_is_pinned_for_the_process(sshd_factory, clouders_db, tmp_path):  # noqa: F811
    first = sshd_factory(password_auth=False)
    source = CloudersSource(
        settings(first, clouders_db.name, "tunel", known_hosts=str(tmp_path / "none"), accept_unknown_host=True)
    )
    try:
        assert source.read()
        port = first.port
        first.stop()
        # Another server (another host key) takes over the same address: refused, not re-accepted.
        impostor = SshdServer(tmp_path / "impostor", password_auth=False, port=port)
        impostor.authorized_keys.write_text(Path(f"{first.key_file}.pub").read_text())
        impostor.start()
        try:
            result = read_one(source)
            assert result.ok is False and "no coincide" in result.error
        finally:
            impostor.close()
    finally:
        source.close()


# --- sshd killed while a query is in flight ---------------------------------------------------------


def test_B2_clouders_sshd_killed_during_remote_command(sshd_factory, clouders_db, tmp_path):  # noqa: F811
    server = sshd_factory(password_auth=False)
    marker = tmp_path / "started"
    slow = tmp_path / "slow_mysql"
    slow.write_text(f"#!/bin/sh\ntouch {marker}\nsleep 60\n")
    slow.chmod(0o755)
    source = CloudersSource(settings(server, clouders_db.name, "comando", mysql_client=str(slow), timeout=30.0))
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as ex:
            future = ex.submit(read_all, [source], None)
            for _ in range(600):
                if marker.exists():
                    break
                threading.Event().wait(0.05)
            assert marker.exists()
            server.stop()
            (result,) = future.result(timeout=60)
        assert result.ok is False and result.rows == ()
        assert not source.connected
        server.start()
    finally:
        source.close()
    healthy = CloudersSource(settings(server, clouders_db.name, "comando"))
    try:
        assert as_dict(healthy.read()) == {"RobotA": 3, "RobotB": 1}
    finally:
        healthy.close()


def test_B2_clouders_sshd_killed_during_tunnel_query(sshd_factory, clouders_db):  # noqa: F811
    server = sshd_factory(password_auth=False)
    silent = _SilentServer()  # a MySQL that hangs: the read blocks inside the tunnel
    source = CloudersSource(settings(server, clouders_db.name, "tunel", mysql_port=silent.port, timeout=30.0))
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as ex:
            future = ex.submit(read_all, [source], None)
            for _ in range(600):
                if silent.conns:
                    break
                threading.Event().wait(0.05)
            assert silent.conns
            server.stop()
            (result,) = future.result(timeout=60)
        assert result.ok is False and result.rows == ()
    finally:
        silent.close()
        source.close()


def test_B2_clouders_closed_source_can_be_read_again(sshd, clouders_db):
    source = CloudersSource(settings(sshd, clouders_db.name, "tunel"))
    assert source.read()
    source.close()
    assert not source.connected
    assert source.read()
    source.close()


def test_B2_clouders_close_during_read_does_not_reconnect(sshd, clouders_db, tmp_path):
    go_slow, started = tmp_path / "go_slow", tmp_path / "started"
    client = tmp_path / "mysql_wrapper"
    client.write_text(f'#!/bin/sh\nif [ -f {go_slow} ]; then touch {started}; sleep 20; exit 0; fi\nexec mysql "$@"\n')
    client.chmod(0o755)
    source = CloudersSource(settings(sshd, clouders_db.name, "comando", mysql_client=str(client), timeout=30.0))
    try:
        assert as_dict(source.read()) == {"RobotA": 3, "RobotB": 1}
        go_slow.touch()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as ex:
            future = ex.submit(read_all, [source], None)
            for _ in range(600):
                if started.exists():
                    break
                threading.Event().wait(0.05)
            assert started.exists()
            source.close()  # service shutdown while the cycle is reading
            (result,) = future.result(timeout=60)
        assert result.ok is False
        assert not source.connected and source.connections_opened == 1
    finally:
        source.close()
