"""The ``clouders`` ticket source: MySQL reached over SSH (BEHAVIOUR §7 B2).

Pending tickets are the ``task_task`` rows with ``state = 'PENDING'`` per ``task_robot.name``
(``task_task.robot_id = task_robot.id``) in ``CLOUDERS_MYSQL_DB_NAME``, reported with clouders'
own names (B14: the consolidation maps them, ``MapeoRobots`` then ``MAPA_ROBOTS``, in
:mod:`balanceador.service.mapeo`). Two modes:

* ``CLOUDERS_MODO=tunel`` (default): a paramiko ``direct-tcpip`` channel to
  ``CLOUDERS_MYSQL_DB_HOST:CLOUDERS_MYSQL_DB_PORT`` as seen from the SSH host; pymysql talks the
  MySQL protocol over that channel (passed to ``Connection.connect(sock=...)``; no local port).
* ``CLOUDERS_MODO=comando``: runs ``CLOUDERS_MYSQL_CLIENTE`` [mysql] on the SSH host in batch mode
  and parses its tab-separated output (``\\t``, ``\\n``, ``\\0`` and ``\\\\`` escapes undone).
  The MySQL password travels on the channel's stdin and reaches the client as ``MYSQL_PWD``; it
  never appears on a command line.

Host keys are verified against ``CLOUDERS_SSH_KNOWN_HOSTS`` (``RejectPolicy``) unless
``CLOUDERS_SSH_ACEPTAR_HOST_DESCONOCIDO=true`` (accepted with a WARNING; a key that *differs*
from a known one is still refused). The SSH connection is kept across cycles and re-established
when broken; every network step is bounded by ``CLOUDERS_SSH_TIMEOUT_SEG``. Errors are Spanish
and never carry a password.
"""

from __future__ import annotations

import logging
import shlex
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko

from balanceador.clients.base import SourceError, TicketRow, redact

logger = logging.getLogger("sam.balanceador.fuentes.clouders")

MODES = ("tunel", "comando")

# GROUP BY the id (not only the name) so that robots whose names differ only in case or trailing
# spaces are not merged by the column collation; names are summed with exact equality in Python.
PENDING_QUERY = (
    "SELECT r.name AS robot, COUNT(*) AS pendientes "
    "FROM task_task t JOIN task_robot r ON t.robot_id = r.id "
    "WHERE t.state = 'PENDING' AND r.name IS NOT NULL "
    "GROUP BY r.id, r.name"
)
COMMAND_HEADER = ("robot", "pendientes")
# In comando mode a sentinel row ('', -1) is appended: mysql --batch prints nothing at all (not even
# the header) for an empty result, so the sentinel proves the query ran and the output is complete.
COMMAND_QUERY = PENDING_QUERY + " UNION ALL SELECT '' AS robot, -1 AS pendientes"
_SENTINEL = ("", "-1")
MAX_COMMAND_OUTPUT = 64 * 1024 * 1024
KEEPALIVE_SECONDS = 30
# sh wrapper: the first stdin line becomes MYSQL_PWD (unset when empty), then the client is exec'd.
_PWD_WRAPPER = 'IFS= read -r MYSQL_PWD; if [ -n "$MYSQL_PWD" ]; then export MYSQL_PWD; else unset MYSQL_PWD; fi; exec "$@"'
_MYSQL_BATCH_ESCAPES = {"t": "\t", "n": "\n", "0": "\0", "\\": "\\"}


@dataclass(frozen=True)
class CloudersSettings:
    ssh_host: str
    ssh_user: str
    mysql_db: str
    mysql_user: str
    mode: str = "tunel"
    ssh_port: int = 22
    ssh_password: str = field(default="", repr=False)
    ssh_key_file: str = ""
    known_hosts: str = ""
    accept_unknown_host: bool = False
    timeout: float = 15.0
    mysql_host: str = "127.0.0.1"
    mysql_port: int = 3306
    mysql_password: str = field(default="", repr=False)
    mysql_client: str = "mysql"

    @classmethod
    def from_config(cls, cfg: Any) -> CloudersSettings:
        return cls(
            mode=str(cfg.CLOUDERS_MODO or "tunel").strip().lower(),
            ssh_host=str(cfg.CLOUDERS_SSH_HOST or ""),
            ssh_port=int(cfg.CLOUDERS_SSH_PORT or 22),
            ssh_user=str(cfg.CLOUDERS_SSH_USER or ""),
            ssh_password=str(cfg.CLOUDERS_SSH_PASS or ""),
            ssh_key_file=str(cfg.CLOUDERS_SSH_KEY_FILE or ""),
            known_hosts=str(cfg.CLOUDERS_SSH_KNOWN_HOSTS or ""),
            accept_unknown_host=bool(cfg.CLOUDERS_SSH_ACEPTAR_HOST_DESCONOCIDO),
            timeout=float(cfg.CLOUDERS_SSH_TIMEOUT_SEG or 15),
            mysql_host=str(cfg.CLOUDERS_MYSQL_DB_HOST or "127.0.0.1"),
            mysql_port=int(cfg.CLOUDERS_MYSQL_DB_PORT or 3306),
            mysql_db=str(cfg.CLOUDERS_MYSQL_DB_NAME or ""),
            mysql_user=str(cfg.CLOUDERS_MYSQL_USER or ""),
            mysql_password=str(cfg.CLOUDERS_MYSQL_PASS or ""),
            mysql_client=str(cfg.CLOUDERS_MYSQL_CLIENTE or "mysql"),
        )

    def secrets(self) -> list[str]:
        return [s for s in (self.ssh_password, self.mysql_password) if s]

    @property
    def known_hosts_path(self) -> Path:
        return Path(self.known_hosts).expanduser() if self.known_hosts else Path.home() / ".ssh" / "known_hosts"

    @property
    def endpoint(self) -> str:
        return f"{self.ssh_host}:{self.ssh_port}"


class _SshBroken(Exception):
    """The SSH connection is unusable; carries the Spanish message."""


class _UnknownHostKey(paramiko.SSHException):
    pass


class _RejectUnknownPolicy(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client, hostname, key):  # noqa: ARG002 - paramiko signature
        raise _UnknownHostKey(f"{key.get_name()} {key.fingerprint}")


class _AcceptUnknownWithWarningPolicy(paramiko.MissingHostKeyPolicy):
    """Accepts an unknown host key (kept in memory only, so later reconnects pin it) and warns."""

    def missing_host_key(self, client, hostname, key):
        logger.warning(
            "Clave de host SSH desconocida aceptada para %s (%s %s) porque "
            "CLOUDERS_SSH_ACEPTAR_HOST_DESCONOCIDO=true; no hay protección contra suplantación.",
            hostname,
            key.get_name(),
            key.fingerprint,
        )
        client.get_host_keys().add(hostname, key.get_name(), key)


def unescape_mysql_batch(value: str) -> str:
    """Undo the escaping of ``mysql --batch`` (without ``--raw``): ``\\t \\n \\0 \\\\``."""
    if "\\" not in value:
        return value
    out: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if ch == "\\" and i + 1 < n and value[i + 1] in _MYSQL_BATCH_ESCAPES:
            out.append(_MYSQL_BATCH_ESCAPES[value[i + 1]])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_batch_output(text: str) -> list[tuple[str, int]]:
    """(robot, pending) from ``mysql --batch`` output of :data:`COMMAND_QUERY`.

    Expects the header ``robot<TAB>pendientes`` and exactly one sentinel row ``<empty><TAB>-1``.
    Rows are split on ``\\n`` only (never ``str.splitlines``: ``\\r``, ``\\x1c`` or ``\\u2028`` may
    be part of a robot name) and fields on the single unescaped TAB.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise SourceError("clouders: el cliente mysql no devolvió ninguna salida (se esperaba la cabecera)")
    header = tuple(lines[0].rstrip("\r").split("\t"))
    if header != COMMAND_HEADER:
        raise SourceError(
            f"clouders: salida inesperada del cliente mysql (cabecera {lines[0][:100]!r}, "
            f"se esperaba {'<TAB>'.join(COMMAND_HEADER)!r})"
        )
    rows: list[tuple[str, int]] = []
    sentinels = 0
    for number, line in enumerate(lines[1:], start=2):
        parts = line.split("\t")
        if len(parts) != 2:
            raise SourceError(f"clouders: línea {number} de la salida de mysql no válida: {line[:100]!r}")
        name, count = parts
        count = count.rstrip("\r")
        if (name, count) == _SENTINEL:
            sentinels += 1
            continue
        if not count.isdigit():
            raise SourceError(f"clouders: cantidad no numérica en la línea {number}: {count[:50]!r}")
        rows.append((unescape_mysql_batch(name), int(count)))
    if sentinels != 1:
        raise SourceError("clouders: salida del cliente mysql incompleta (falta la fila de control final)")
    return rows


def load_known_hosts(path: Path, into: paramiko.HostKeys) -> int:
    """Load an OpenSSH ``known_hosts`` file line by line; returns the keys loaded.

    Unlike ``HostKeys.load`` one unusable line (``@cert-authority``/``@revoked`` markers, key types
    paramiko does not know, garbage) is skipped instead of discarding the whole file. Hashed host
    names (``|1|...``) work.
    """
    loaded = 0
    text = path.read_text(encoding="utf-8", errors="replace")
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("@"):
            continue
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line, lineno)
        except Exception:
            entry = None
        if entry is None or entry.key is None:
            logger.debug("known_hosts %s: línea %d ignorada (no reconocida)", path, lineno)
            continue
        for hostname in entry.hostnames:
            into.add(hostname, entry.key.get_name(), entry.key)
            loaded += 1
    return loaded


def _exc_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def ticket_rows(rows: list[tuple[str, int]]) -> list[TicketRow]:
    """The source's rows: pending tickets summed per clouders name (exact equality), with the
    clouders name as it is (the consolidation maps it, B14)."""
    totals: dict[str, int] = {}
    for name, count in rows:
        totals[name] = totals.get(name, 0) + int(count)
    return [(name, None, count) for name, count in totals.items()]


class CloudersSource:
    """Pending tickets per clouders robot name, read over one reusable SSH connection."""

    name = "clouders"

    def __init__(self, settings: CloudersSettings) -> None:
        if settings.mode not in MODES:
            raise ValueError(f"CLOUDERS_MODO: valor no válido {settings.mode!r} (tunel|comando)")
        self.settings = settings
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()
        # Accepted unknown keys stay pinned for the life of the process.
        self._pinned = paramiko.HostKeys()
        # connect (TCP + banner + auth) + channel + query, possibly twice (one reconnect).
        self.max_read_seconds = settings.timeout * 6 + 5
        self.connections_opened = 0
        self._generation = 0  # bumped by close(): an in-flight read must not reconnect afterwards
        if settings.accept_unknown_host:
            logger.warning(
                "CLOUDERS_SSH_ACEPTAR_HOST_DESCONOCIDO=true: las claves de host SSH desconocidas de %s "
                "se aceptarán sin verificar (riesgo de suplantación). Registre la clave en %s y "
                "desactive esta opción.",
                settings.endpoint,
                settings.known_hosts_path,
            )

    @classmethod
    def from_config(cls, cfg: Any) -> CloudersSource:
        return cls(CloudersSettings.from_config(cfg))

    def secrets(self) -> list[str]:
        return self.settings.secrets()

    # -- public ---------------------------------------------------------------------------------
    def read(self) -> list[TicketRow]:
        if not self._lock.acquire(blocking=False):
            raise SourceError("clouders: la lectura anterior aún no ha terminado")
        try:
            return self._read_locked()
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._state_lock:
            self._generation += 1
        self._disconnect()

    @property
    def connected(self) -> bool:
        client = self._client
        transport = client.get_transport() if client is not None else None
        return bool(transport is not None and transport.is_active())

    # -- connection -----------------------------------------------------------------------------
    def _read_locked(self) -> list[TicketRow]:
        generation = self._generation
        reused = self.connected
        if not reused:
            self._disconnect()
            self._connect(generation)
        try:
            return self._query()
        except _SshBroken as exc:
            self._disconnect()
            if not reused:
                raise SourceError(self._clean(str(exc))) from None
            logger.info("Conexión SSH reutilizada con %s rota (%s); se reconecta", self.settings.endpoint, _exc_text(exc))
        except SourceError:
            raise
        except Exception as exc:
            self._disconnect()
            raise SourceError(self._clean(f"clouders: error inesperado ({type(exc).__name__}): {exc}")) from None
        # One reconnect when a reused connection turned out to be dead.
        self._connect(generation)
        try:
            return self._query()
        except _SshBroken as exc:
            self._disconnect()
            raise SourceError(self._clean(str(exc))) from None
        except SourceError:
            raise
        except Exception as exc:
            self._disconnect()
            raise SourceError(self._clean(f"clouders: error inesperado ({type(exc).__name__}): {exc}")) from None

    def _clean(self, text: str) -> str:
        return redact(text, self.settings.secrets())

    def _new_client(self) -> paramiko.SSHClient:
        """A client that knows the host keys of known_hosts and the ones pinned so far."""
        s = self.settings
        client = paramiko.SSHClient()
        known = s.known_hosts_path
        if known.is_file():
            try:
                load_known_hosts(known, client.get_host_keys())
            except OSError as exc:
                raise SourceError(
                    f"clouders: no se pudo leer el archivo known_hosts {known}: {exc.strerror or exc}"
                ) from None
        elif not s.accept_unknown_host:
            raise SourceError(
                f"clouders: no existe el archivo known_hosts {known} (CLOUDERS_SSH_KNOWN_HOSTS); no se "
                f"puede verificar la clave del host SSH {s.endpoint}. Regístrela (p. ej. con ssh-keyscan)."
            )
        for hostname, keys in self._pinned.items():
            for key_type, key in keys.items():
                client.get_host_keys().add(hostname, key_type, key)
        client.set_missing_host_key_policy(
            _AcceptUnknownWithWarningPolicy() if s.accept_unknown_host else _RejectUnknownPolicy()
        )
        return client

    def _connect_kwargs(self) -> dict[str, Any]:
        s = self.settings
        kwargs: dict[str, Any] = {
            "hostname": s.ssh_host,
            "port": s.ssh_port,
            "username": s.ssh_user,
            "timeout": s.timeout,
            "banner_timeout": s.timeout,
            "auth_timeout": s.timeout,
            "channel_timeout": s.timeout,
            "allow_agent": False,
            "look_for_keys": False,
        }
        if s.ssh_password:
            kwargs["password"] = s.ssh_password
        if s.ssh_key_file:
            kwargs["key_filename"] = str(Path(s.ssh_key_file).expanduser())
            if s.ssh_password:
                kwargs["passphrase"] = s.ssh_password
        return kwargs

    def _connect(self, generation: int) -> None:
        s = self.settings
        if generation != self._generation:
            raise SourceError("clouders: la fuente se ha cerrado")
        client = self._new_client()
        try:
            client.connect(**self._connect_kwargs())
        except Exception as exc:
            client.close()
            raise SourceError(self._clean(self._connect_error(exc))) from None
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(KEEPALIVE_SECONDS)
        if s.accept_unknown_host:
            for hostname, keys in client.get_host_keys().items():
                for key_type, key in keys.items():
                    self._pinned.add(hostname, key_type, key)
        with self._state_lock:
            closed_meanwhile = generation != self._generation
            if not closed_meanwhile:
                self._client = client
        if closed_meanwhile:
            client.close()
            raise SourceError("clouders: la fuente se ha cerrado")
        self.connections_opened += 1
        logger.info("Conectado por SSH a clouders %s como %s (modo %s)", s.endpoint, s.ssh_user, s.mode)

    def _connect_error(self, exc: Exception) -> str:
        s = self.settings
        where = f"servidor SSH {s.endpoint}"
        if isinstance(exc, paramiko.BadHostKeyException):
            return (
                f"clouders: la clave del {where} no coincide con la registrada en {s.known_hosts_path} "
                f"(recibida {exc.key.get_name()} {exc.key.fingerprint}); conexión rechazada por posible "
                "suplantación. Si la clave cambió legítimamente, actualice known_hosts."
            )
        if isinstance(exc, _UnknownHostKey):
            return (
                f"clouders: la clave del {where} ({exc}) no está en {s.known_hosts_path}; conexión "
                "rechazada. Regístrela en CLOUDERS_SSH_KNOWN_HOSTS (p. ej. con ssh-keyscan) o, bajo su "
                "responsabilidad, active CLOUDERS_SSH_ACEPTAR_HOST_DESCONOCIDO=true."
            )
        if isinstance(exc, paramiko.AuthenticationException):
            method = "clave" if s.ssh_key_file else "contraseña"
            return f"clouders: autenticación SSH rechazada en el {where} para el usuario {s.ssh_user!r} ({method})"
        if isinstance(exc, paramiko.PasswordRequiredException):
            return f"clouders: la clave privada {s.ssh_key_file} está cifrada y la contraseña no es válida"
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return f"clouders: tiempo de espera agotado ({s.timeout:.0f} s) conectando al {where}"
        if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
            return f"clouders: no se pudo conectar al {where}: conexión rechazada o sin ruta"
        if isinstance(exc, FileNotFoundError):
            return f"clouders: no existe el archivo de clave privada CLOUDERS_SSH_KEY_FILE {s.ssh_key_file}"
        if isinstance(exc, socket.gaierror):
            return f"clouders: no se pudo resolver el nombre del {where}"
        if isinstance(exc, OSError):
            return f"clouders: no se pudo conectar al {where}: {exc.strerror or exc}"
        if isinstance(exc, paramiko.SSHException):
            return f"clouders: error SSH con el {where}: {exc}"
        return f"clouders: error conectando al {where} ({type(exc).__name__}): {exc}"

    def _disconnect(self) -> None:
        with self._state_lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:
                logger.debug("Error cerrando la conexión SSH", exc_info=True)

    def _transport(self) -> paramiko.Transport:
        client = self._client
        transport = client.get_transport() if client is not None else None
        if transport is None or not transport.is_active():
            raise _SshBroken(f"clouders: la conexión SSH con {self.settings.endpoint} se ha cerrado")
        return transport

    # -- queries ----------------------------------------------------------------------------------
    def _query(self) -> list[TicketRow]:
        if self.settings.mode == "tunel":
            return ticket_rows(self._query_tunnel())
        return ticket_rows(self._query_command())

    def _query_tunnel(self) -> list[tuple[str, int]]:
        import pymysql

        s = self.settings
        transport = self._transport()
        target = f"{s.mysql_host}:{s.mysql_port}"
        try:
            channel = transport.open_channel(
                "direct-tcpip", (s.mysql_host, s.mysql_port), ("127.0.0.1", 0), timeout=s.timeout
            )
        except paramiko.ChannelException as exc:
            raise SourceError(
                f"clouders: el servidor SSH {s.endpoint} no pudo abrir el túnel hacia MySQL {target} "
                f"({exc.text or exc.code})"
            ) from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise _SshBroken(f"clouders: no se pudo abrir el túnel SSH hacia MySQL {target}: {_exc_text(exc)}") from None
        channel.settimeout(s.timeout)
        conn = pymysql.connect(
            host=s.mysql_host,
            port=s.mysql_port,
            user=s.mysql_user,
            password=s.mysql_password,
            database=s.mysql_db,
            charset="utf8mb4",
            connect_timeout=s.timeout,
            read_timeout=s.timeout,
            write_timeout=s.timeout,
            autocommit=True,
            defer_connect=True,
        )
        try:
            conn.connect(sock=channel)
            with conn.cursor() as cursor:
                cursor.execute(PENDING_QUERY)
                raw = cursor.fetchall()
        except pymysql.MySQLError as exc:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
            message = exc.args[1] if len(exc.args) > 1 else str(exc)
            text = self._clean(f"clouders: error de MySQL {code} en {target} (base {s.mysql_db!r}): {message}")
            if code >= 2000 or not transport.is_active():
                # Client-side errors (lost connection, timeouts): the channel is not trustworthy.
                raise _SshBroken(text) from None
            raise SourceError(text) from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise _SshBroken(f"clouders: la conexión SSH falló durante la consulta: {_exc_text(exc)}") from None
        finally:
            try:
                conn.close()
            except Exception:
                pass
            channel.close()
        rows: list[tuple[str, int]] = []
        for name, count in raw:
            if isinstance(name, (bytes, bytearray)):
                name = bytes(name).decode("utf-8", errors="replace")
            rows.append((str(name), int(count)))
        return rows

    def command_line(self) -> str:
        """The remote command (no password in it: that goes through stdin)."""
        s = self.settings
        argv = [
            s.mysql_client,
            "--batch",
            "--default-character-set=utf8mb4",
            f"--connect-timeout={max(1, int(s.timeout))}",
            f"--host={s.mysql_host}",
            f"--port={s.mysql_port}",
            f"--user={s.mysql_user}",
            f"--database={s.mysql_db}",
            f"--execute={COMMAND_QUERY}",
        ]
        return "sh -c " + shlex.quote(_PWD_WRAPPER) + " sam-clouders " + " ".join(shlex.quote(a) for a in argv)

    def _query_command(self) -> list[tuple[str, int]]:
        s = self.settings
        transport = self._transport()
        deadline = time.monotonic() + s.timeout
        try:
            channel = transport.open_session(timeout=s.timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise _SshBroken(f"clouders: no se pudo abrir una sesión SSH en {s.endpoint}: {_exc_text(exc)}") from None
        stdout = bytearray()
        stderr = bytearray()
        try:
            channel.settimeout(s.timeout)
            channel.exec_command(self.command_line())
            channel.sendall((s.mysql_password + "\n").encode("utf-8"))
            channel.shutdown_write()
            self._drain(channel, stdout, channel.recv, deadline)
            self._drain(channel, stderr, channel.recv_stderr, deadline)
            if not channel.status_event.wait(max(0.0, deadline - time.monotonic())):
                raise TimeoutError()
            status = channel.recv_exit_status()
        except TimeoutError:
            raise _SshBroken(
                f"clouders: tiempo de espera agotado ({s.timeout:.0f} s) ejecutando el cliente mysql en {s.endpoint}"
            ) from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise _SshBroken(f"clouders: la conexión SSH falló ejecutando el cliente mysql: {_exc_text(exc)}") from None
        finally:
            channel.close()
        if status != 0:
            detail = stderr.decode("utf-8", errors="replace").strip()
            lines = [ln.strip() for ln in detail.split("\n") if ln.strip()]
            errors = [ln for ln in lines if ln.startswith("ERROR")]
            first = errors[0] if errors else next((ln for ln in lines if "Warning" not in ln and "---" not in ln), detail)
            if status == 127:
                raise SourceError(
                    f"clouders: no se encontró el cliente {s.mysql_client!r} (CLOUDERS_MYSQL_CLIENTE) en {s.endpoint}"
                )
            raise SourceError(self._clean(f"clouders: el cliente mysql terminó con código {status}: {first[:300]}"))
        try:
            text = stdout.decode("utf-8")
        except UnicodeDecodeError:
            raise SourceError("clouders: la salida del cliente mysql no es UTF-8 válido") from None
        return parse_batch_output(text)

    def _drain(self, channel: paramiko.Channel, buf: bytearray, recv, deadline: float) -> None:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError()
            channel.settimeout(remaining)
            chunk = recv(65536)
            if not chunk:
                return
            buf.extend(chunk)
            if len(buf) > MAX_COMMAND_OUTPUT:
                raise SourceError("clouders: la salida del cliente mysql es demasiado grande")
