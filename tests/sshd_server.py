"""Test helpers: a real OpenSSH server on loopback, and a throw-away clouders MariaDB database.

``SshdServer`` starts ``/usr/sbin/sshd -D -e`` (Debian ``openssh-server``) as the current user on
127.0.0.1 and a free port, with a generated host key, a generated user key (authorised through
``AuthorizedKeysFile``) and its own ``sshd_config``/pid file in a temp directory. ``stop()`` kills
the listener *and* every session it forked (so established connections really break);
``start()`` brings it back on the same port with the same keys.

Password authentication needs a local account with a known password. When running as root (CI),
``ensure_password_user()`` creates a dedicated account ``samtestssh`` (``useradd`` + ``chpasswd``,
password kept in a root-only file so concurrent test runs agree on it); otherwise it returns
``None`` and password tests skip.

``CloudersTestDatabase`` creates ``sam_test_clouders_<random>`` with ``task_robot``/``task_task``
on the MariaDB at 127.0.0.1:3306 (root, empty password) and drops it afterwards.

Usage::

    with SshdServer() as sshd:
        sshd.port, sshd.user, sshd.key_file, sshd.known_hosts, sshd.wrong_known_hosts

    def test_x(sshd_factory):        # pytest fixture factory (import it into the test module)
        server = sshd_factory(password_auth=True)
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.componentes import falta

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
PASSWORD_USER = "samtestssh"
_PASSWORD_FILE = Path("/var/tmp/sam_test_ssh_user.pw")
_PASSWORD_LOCK = Path("/var/tmp/sam_test_ssh_user.lock")

MARIADB_HOST = "127.0.0.1"
MARIADB_PORT = 3306
MARIADB_USER = "root"
MARIADB_PASSWORD = ""


def sshd_unavailable_reason() -> str | None:
    """Why a real sshd cannot be started here (``None`` when it can)."""
    if not sys.platform.startswith("linux"):
        return "el servidor sshd de pruebas solo funciona en Linux"
    if not SSHD.exists():
        return f"{SSHD} no está instalado (paquete openssh-server)"
    if not Path(SSH_KEYGEN).exists():
        return "ssh-keygen no está instalado"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sshd_version() -> tuple[int, int]:
    try:
        out = subprocess.run([str(SSHD), "-V"], capture_output=True, text=True, timeout=10)
        m = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stdout + out.stderr)
        if m:
            return int(m.group(1)), int(m.group(2))
    except (OSError, subprocess.SubprocessError):
        pass
    return (0, 0)


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ..." — comm may contain spaces/parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 2:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _descendants(pid: int) -> list[int]:
    children = _children_map()
    out: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def ensure_password_user() -> tuple[str, str] | None:
    """(user, password) of a local account usable for SSH password login, or ``None``.

    Only as root: creates ``samtestssh`` once (no home, /bin/sh) and sets a random password
    stored in a root-only file, so parallel test runs share it. Never touches other accounts.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    if shutil.which("useradd") is None or shutil.which("chpasswd") is None:
        return None
    import fcntl

    with open(_PASSWORD_LOCK, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            exists = subprocess.run(["id", "-u", PASSWORD_USER], capture_output=True).returncode == 0
            if not exists:
                subprocess.run(
                    ["useradd", "-M", "-d", "/tmp", "-s", "/bin/sh", PASSWORD_USER],
                    check=True,
                    capture_output=True,
                    timeout=30,
                )
            password = _PASSWORD_FILE.read_text().strip() if _PASSWORD_FILE.exists() else ""
            if not exists or not password:
                password = secrets.token_urlsafe(18)
                subprocess.run(
                    ["chpasswd"],
                    input=f"{PASSWORD_USER}:{password}\n",
                    text=True,
                    check=True,
                    capture_output=True,
                    timeout=30,
                )
                fd = os.open(_PASSWORD_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(password)
            return PASSWORD_USER, password
        except (OSError, subprocess.SubprocessError):
            return None
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class SshdServer:
    """A real OpenSSH server on 127.0.0.1 for tests (see the module docstring)."""

    host = "127.0.0.1"

    def __init__(self, base_dir: Path | None = None, *, password_auth: bool = True, port: int | None = None):
        reason = sshd_unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        self._own_dir = base_dir is None
        self.dir = Path(tempfile.mkdtemp(prefix="sam_sshd_")) if base_dir is None else Path(base_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.password_auth = password_auth
        self.port = port or _free_port()
        self.user = getpass.getuser()
        self.host_key = self.dir / "ssh_host_ed25519_key"
        self.key_file = self.dir / "id_ed25519"  # the client's private key (authorised)
        self.other_key_file = self.dir / "id_other"  # a private key that is NOT authorised
        self.authorized_keys = self.dir / "authorized_keys"
        self.known_hosts = self.dir / "known_hosts"  # the right host key for host:port
        self.wrong_known_hosts = self.dir / "known_hosts_wrong"  # another key for the same host:port
        self.config_file = self.dir / "sshd_config"
        self.pid_file = self.dir / "sshd.pid"
        self.log_file = self.dir / "sshd.log"
        self._proc: subprocess.Popen | None = None
        self._make_keys()

    # -- set-up -------------------------------------------------------------------------------
    def _make_keys(self) -> None:
        if not self.host_key.exists():
            _keygen(self.host_key, "sam-test-host")
        if not self.key_file.exists():
            _keygen(self.key_file, "sam-test-user")
        if not self.other_key_file.exists():
            _keygen(self.other_key_file, "sam-test-other")
        wrong_host = self.dir / "wrong_host_key"
        if not wrong_host.exists():
            _keygen(wrong_host, "sam-test-wrong-host")
        self.authorized_keys.write_text(Path(f"{self.key_file}.pub").read_text())
        os.chmod(self.authorized_keys, 0o644)
        host_entry = f"[{self.host}]:{self.port}"
        pub = Path(f"{self.host_key}.pub").read_text().split()
        self.known_hosts.write_text(f"{host_entry} {pub[0]} {pub[1]}\n")
        wrong = Path(f"{wrong_host}.pub").read_text().split()
        self.wrong_known_hosts.write_text(f"{host_entry} {wrong[0]} {wrong[1]}\n")

    def _write_config(self) -> None:
        users = [self.user]
        if self.password_auth:
            users.append(PASSWORD_USER)
        lines = [
            f"Port {self.port}",
            f"ListenAddress {self.host}",
            f"HostKey {self.host_key}",
            f"PidFile {self.pid_file}",
            "UsePAM no",
            f"PasswordAuthentication {'yes' if self.password_auth else 'no'}",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "StrictModes no",
            "PermitRootLogin yes",
            "AllowTcpForwarding yes",
            "PermitTTY no",
            "X11Forwarding no",
            "PrintMotd no",
            "UseDNS no",
            "LogLevel INFO",
            "MaxStartups 100",
            "MaxSessions 100",
            "LoginGraceTime 30",
            f"AllowUsers {' '.join(users)}",
        ]
        if _sshd_version() >= (9, 8):
            lines.append("PerSourcePenalties no")
        self.config_file.write_text("\n".join(lines) + "\n")

    # -- life cycle -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 20.0) -> SshdServer:
        if self.running:
            return self
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self._write_config()
        log = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child process
        try:
            self._proc = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"sshd terminó al arrancar (código {self._proc.returncode}):\n{self.log_tail()}")
            if self._banner_ok():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sshd no respondió en {timeout} s:\n{self.log_tail()}")

    def _banner_ok(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=2) as s:
                s.settimeout(2)
                return s.recv(64).startswith(b"SSH-")
        except OSError:
            return False

    def stop(self) -> None:
        """Kill sshd and every session it forked (established connections break)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        pids = _descendants(proc.pid) if proc.poll() is None else []
        for pid in [proc.pid, *pids]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        # Wait until the port no longer answers, so "sshd is down" is true when stop() returns.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._banner_ok():
            time.sleep(0.05)

    def restart(self) -> SshdServer:
        self.stop()
        return self.start()

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def password_login(self) -> tuple[str, str] | None:
        """(user, password) valid on this server, or ``None`` when password auth is unavailable."""
        if not self.password_auth:
            return None
        return ensure_password_user()

    def __enter__(self) -> SshdServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture()
def sshd_factory(tmp_path: Path) -> Iterator:
    """Fixture factory: ``sshd_factory(password_auth=True)`` -> a started :class:`SshdServer`."""
    reason = sshd_unavailable_reason()
    if reason:
        falta(reason)
    servers: list[SshdServer] = []

    def make(**kwargs) -> SshdServer:
        server = SshdServer(tmp_path / f"sshd{len(servers)}", **kwargs)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.close()


# --- MariaDB: a throw-away clouders database -----------------------------------------------------


def mariadb_unavailable_reason() -> str | None:
    try:
        import pymysql

        conn = pymysql.connect(
            host=MARIADB_HOST, port=MARIADB_PORT, user=MARIADB_USER, password=MARIADB_PASSWORD, connect_timeout=5
        )
        conn.close()
        return None
    except Exception as exc:
        return f"MariaDB no disponible en {MARIADB_HOST}:{MARIADB_PORT}: {exc}"


class CloudersTestDatabase:
    """``sam_test_clouders_<random>`` with ``task_robot`` and ``task_task`` (dropped on close)."""

    def __init__(self, name: str | None = None):
        import pymysql

        self.name = name or f"sam_test_clouders_{secrets.token_hex(4)}"
        self._conn = pymysql.connect(
            host=MARIADB_HOST,
            port=MARIADB_PORT,
            user=MARIADB_USER,
            password=MARIADB_PASSWORD,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=10,
        )
        with self._conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            cur.execute(
                f"CREATE TABLE `{self.name}`.task_robot (id INT PRIMARY KEY AUTO_INCREMENT, "
                "name VARCHAR(255) NOT NULL) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            )
            cur.execute(
                f"CREATE TABLE `{self.name}`.task_task (id INT PRIMARY KEY AUTO_INCREMENT, "
                "robot_id INT NOT NULL, state VARCHAR(32) NOT NULL) CHARACTER SET utf8mb4"
            )

    def execute(self, sql: str, params: tuple | list = ()) -> None:
        with self._conn.cursor() as cur:
            cur.execute(sql, params)

    def set_tickets(self, pending: dict[str, int], *, other_states: dict[str, int] | None = None) -> None:
        """Replace the data: ``pending[name]`` PENDING tasks per robot (+ noise in other states)."""
        other_states = other_states or {}
        with self._conn.cursor() as cur:
            cur.execute(f"DELETE FROM `{self.name}`.task_task")
            cur.execute(f"DELETE FROM `{self.name}`.task_robot")
            for robot in sorted(set(pending) | set(other_states)):
                cur.execute(f"INSERT INTO `{self.name}`.task_robot (name) VALUES (%s)", (robot,))
                robot_id = cur.lastrowid
                rows = [(robot_id, "PENDING")] * pending.get(robot, 0)
                rows += [(robot_id, "DONE")] * other_states.get(robot, 0)
                if rows:
                    cur.executemany(f"INSERT INTO `{self.name}`.task_task (robot_id, state) VALUES (%s, %s)", rows)

    def drop(self) -> None:
        if self._conn is None:
            return
        try:
            with self._conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
        finally:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> CloudersTestDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()
