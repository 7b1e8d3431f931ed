"""A real SMTP server on loopback for tests (aiosmtpd), reusable by every test module.

    from tests.smtp_sink import SmtpSink
    with SmtpSink() as sink:
        cfg = cfg.with_overrides(EMAIL_SMTP_SERVER="127.0.0.1", EMAIL_SMTP_PORT=sink.port, ...)
        ...
        assert sink.messages[0]["Subject"].startswith("[SAM]")

``messages`` are ``email.message.EmailMessage`` objects (policy ``default``), appended when the
server has accepted DATA, i.e. before the client's ``send_message`` returns. ``envelopes`` holds
``(mail_from, rcpt_tos)`` per message, ``logins`` the ``(user, password)`` pairs that
authenticated. Options: ``auth=(user, password)`` to offer and require AUTH (also over plain
text), ``tls_context`` to offer STARTTLS, ``ssl_context`` for implicit TLS (SMTPS).
``self_signed_context()`` builds a server context and the matching CA file for the TLS tests.
"""

from __future__ import annotations

import datetime as _dt
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class _Controller(Controller):
    """Controller that supports port 0: learns the bound port before its readiness probe."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(message)
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, *, auth: tuple[str, str] | None = None, tls_context: ssl.SSLContext | None = None,
                 ssl_context: ssl.SSLContext | None = None, hostname: str = "127.0.0.1") -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self._auth = auth
        kwargs = {}
        if auth is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=False)
        if tls_context is not None:
            kwargs.update(tls_context=tls_context)
        self.controller = _Controller(_Handler(self), hostname=hostname, port=0, ssl_context=ssl_context,
                                      **kwargs)
        self.host = hostname
        self.port = 0

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            pair = (auth_data.login.decode(), auth_data.password.decode())
            if self._auth is not None and pair == self._auth:
                with self.lock:
                    self.logins.append(pair)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def start(self) -> SmtpSink:
        self.controller.start()
        self.port = self.controller.port
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def closed_port() -> int:
    """A loopback TCP port with nothing listening (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SilentServer:
    """Accepts TCP connections and never answers (an SMTP server that hangs)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()


def self_signed_context(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """(server SSLContext for 127.0.0.1/localhost, path of the PEM to trust as CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = _dt.datetime.now(_dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(days=1)).not_valid_after(now + _dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path = Path(directory) / "smtp_cert.pem"
    key_path = Path(directory) / "smtp_key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path
