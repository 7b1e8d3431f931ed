"""A minimal fake SQL Server (TDS 7.x) on loopback, for the ODBC driver's login-failure path.

Just enough of MS-TDS for a real ODBC driver (Microsoft ODBC Driver 18, FreeTDS) to report a
failed login, as SQL Server does for a wrong password:

1. PRELOGIN (packet type 0x12) → a PRELOGIN response announcing encryption ``NOT_SUP`` (no TLS at
   all; the client must connect with ``Encrypt=no`` or ``Encrypt=optional``). With ``tls_context``
   the server announces ``ENCRYPT_ON`` instead and runs the TLS handshake inside PRELOGIN packets,
   as SQL Server does (TDS 7.x, not TDS 8 ``Encrypt=strict``); from then on everything is TLS;
2. LOGIN7 (0x10) → one tabular response (0x04) with an ERROR token 18456, state 1, class 14,
   "Login failed for user '<user>'." and a DONE token with DONE_ERROR; then the connection closes.

Anything else closes the connection. Every LOGIN7 is recorded (:attr:`FakeTdsServer.logins`) with
the user, the de-obfuscated password, the database and the TDS version the client asked for, so a
test can check what the client really sent.

    with FakeTdsServer() as srv:
        cs = f"DRIVER={{ODBC Driver 18 for SQL Server}};SERVER=127.0.0.1,{srv.port};Encrypt=no;..."
        ...  # pyodbc.connect(cs) fails with SQLSTATE 28000
        assert srv.logins[0].user == "sam"
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from dataclasses import dataclass

PRELOGIN = 0x12
LOGIN7 = 0x10
TABULAR = 0x04

ENCRYPT_OFF = 0x00
ENCRYPT_ON = 0x01
ENCRYPT_NOT_SUP = 0x02

_SERVER_VERSION = bytes([15, 0, 0x07, 0xD0, 0, 0])  # 15.0.2000 (SQL Server 2019), subbuild 0


@dataclass
class Login:
    user: str
    password: str
    database: str
    app: str
    tds_version: int


class _Channel:
    """The client connection: plain TCP, or TLS records once :meth:`start_tls` has run."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.tls: ssl.SSLObject | None = None
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._plain = b""

    def _recv_raw(self) -> bytes:
        chunk = self.conn.recv(65536)
        if not chunk:
            raise ConnectionError("client closed")
        return chunk

    def read_exact(self, n: int) -> bytes:
        while len(self._plain) < n:
            if self.tls is None:
                self._plain += self._recv_raw()
                continue
            try:
                self._plain += self.tls.read(65536)
            except ssl.SSLWantReadError:
                self._in.write(self._recv_raw())
        data, self._plain = self._plain[:n], self._plain[n:]
        return data

    def send(self, data: bytes) -> None:
        if self.tls is None:
            self.conn.sendall(data)
            return
        self.tls.write(data)
        self.conn.sendall(self._out.read())

    def start_tls(self, context: ssl.SSLContext) -> None:
        """Server side of the TDS 7.x handshake: TLS records travel inside PRELOGIN packets."""
        tls = context.wrap_bio(self._in, self._out, server_side=True)
        while True:
            try:
                tls.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            pending = self._out.read()
            if pending:
                self.conn.sendall(packet(PRELOGIN, pending))
            if done:
                break
            ptype, payload = read_message(self)
            if ptype != PRELOGIN:
                raise ConnectionError("TLS handshake outside PRELOGIN packets")
            self._in.write(payload)
        self.tls = tls


def read_message(chan: _Channel) -> tuple[int, bytes]:
    """One TDS message: (packet type, payload of all its packets up to end-of-message)."""
    payload = b""
    while True:
        header = chan.read_exact(8)
        ptype, status, length = header[0], header[1], struct.unpack(">H", header[2:4])[0]
        if length < 8:
            raise ConnectionError("bad TDS packet length")
        payload += chan.read_exact(length - 8)
        if status & 0x01:
            return ptype, payload


def packet(ptype: int, payload: bytes, packet_id: int = 1) -> bytes:
    return struct.pack(">BBHHBB", ptype, 0x01, 8 + len(payload), 0, packet_id, 0) + payload


def prelogin_option(payload: bytes, token: int) -> bytes | None:
    """Value of one option of a PRELOGIN message (None when absent)."""
    pos = 0
    while pos < len(payload) and payload[pos] != 0xFF:
        tok, off, length = struct.unpack(">BHH", payload[pos : pos + 5])
        if tok == token:
            return payload[off : off + length]
        pos += 5
    return None


def prelogin_response(encryption: int = ENCRYPT_NOT_SUP) -> bytes:
    options = [(0x00, _SERVER_VERSION), (0x01, bytes([encryption])), (0x02, b"\x00"),
               (0x03, b""), (0x04, b"\x00")]
    offset = 5 * len(options) + 1
    head, data = b"", b""
    for token, value in options:
        head += struct.pack(">BHH", token, offset + len(data), len(value))
        data += value
    return head + b"\xff" + data


def _us_varchar(text: str) -> bytes:
    raw = text.encode("utf-16-le")
    return struct.pack("<H", len(text)) + raw


def _b_varchar(text: str) -> bytes:
    raw = text.encode("utf-16-le")
    return struct.pack("<B", len(text)) + raw


def error_token(number: int, state: int, klass: int, message: str, server: str = "TDSFALSO") -> bytes:
    body = (struct.pack("<iBB", number, state, klass) + _us_varchar(message) + _b_varchar(server)
            + _b_varchar("") + struct.pack("<i", 1))
    return b"\xaa" + struct.pack("<H", len(body)) + body


def done_token(status: int = 0x0002) -> bytes:
    # DONE: Status, CurCmd, DoneRowCount (8 bytes since TDS 7.2).
    return b"\xfd" + struct.pack("<HHQ", status, 0, 0)


def _unscramble(raw: bytes) -> str:
    out = bytearray()
    for b in raw:
        b ^= 0xA5
        out.append(((b & 0x0F) << 4) | (b >> 4))
    return out.decode("utf-16-le", "replace")


def parse_login7(payload: bytes) -> Login:
    tds_version = struct.unpack("<I", payload[4:8])[0]

    def field(pos: int, password: bool = False) -> str:
        off, length = struct.unpack("<HH", payload[pos : pos + 4])
        raw = payload[off : off + 2 * length]
        return _unscramble(raw) if password else raw.decode("utf-16-le", "replace")

    return Login(user=field(40), password=field(44, password=True), app=field(48), database=field(68),
                 tds_version=tds_version)


class FakeTdsServer:
    """Threaded fake TDS server on 127.0.0.1 that rejects every login with error 18456."""

    def __init__(self, *, tls_context: ssl.SSLContext | None = None, encryption: int | None = None,
                 error_number: int = 18456) -> None:
        if tls_context is not None:
            # SQL Server negotiates TLS 1.3 only in TDS 8 (Encrypt=strict); in TDS 7.x Driver 18
            # stalls if the server picks 1.3.
            tls_context.maximum_version = ssl.TLSVersion.TLSv1_2
        self.tls_context = tls_context
        if encryption is None:
            encryption = ENCRYPT_ON if tls_context is not None else ENCRYPT_NOT_SUP
        self.encryption = encryption
        self.error_number = error_number
        self.logins: list[Login] = []
        self.prelogins = 0
        #: Encryption byte of each client PRELOGIN (0 off, 1 on, 2 not supported, 3 required).
        self.client_encryption: list[int | None] = []
        self.tls_handshakes = 0
        self.lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tds-falso", daemon=True)

    def start(self) -> FakeTdsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def __enter__(self) -> FakeTdsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        chan = _Channel(conn)
        try:
            with conn:
                ptype, payload = read_message(chan)
                if ptype != PRELOGIN:
                    return
                enc = prelogin_option(payload, 0x01)
                with self.lock:
                    self.prelogins += 1
                    self.client_encryption.append(enc[0] if enc else None)
                chan.send(packet(TABULAR, prelogin_response(self.encryption)))
                if self.encryption in (ENCRYPT_ON, ENCRYPT_OFF) and self.tls_context is not None:
                    chan.start_tls(self.tls_context)
                    with self.lock:
                        self.tls_handshakes += 1
                ptype, payload = read_message(chan)
                if ptype != LOGIN7:
                    return
                login = parse_login7(payload)
                with self.lock:
                    self.logins.append(login)
                if self.encryption == ENCRYPT_OFF:
                    chan.tls = None  # TLS for the login packet only
                reply = error_token(self.error_number, 1, 14, f"Login failed for user '{login.user}'.")
                chan.send(packet(TABULAR, reply + done_token()))
                try:  # let the client read the answer and hang up first
                    conn.recv(1)
                except OSError:
                    pass
        except (ConnectionError, OSError, struct.error, ssl.SSLError):
            return
