"""TLS verification of the A360 client against a real HTTPS endpoint with a self-signed certificate."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import ssl
import threading

import pytest

from lanzador.clients.aa_client import A360Error, AutomationAnywhereClient

x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress")
                                                                       .ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server API
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/v2/authentication":
            body = {"token": "tls-token-1"}
        else:
            body = {"page": {"offset": 0, "total": 1, "totalFilter": 1},
                    "list": [{"id": "1", "hostName": "VMTLS", "status": "CONNECTED", "defaultUsers": []}]}
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def https_url(tmp_path):
    cert_file, key_file = _self_signed(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_A360_1_tls_verified_by_default_untrusted_certificate_is_transport_error(https_url):
    waits = []
    c = AutomationAnywhereClient(https_url, "svc", password="pw-tls-secret", timeout=5, sleep=waits.append)
    with pytest.raises(A360Error) as ei:
        c.list_devices()
    assert (ei.value.kind, ei.value.retriable) == ("transport", True)
    assert "TLS" in ei.value.message and "pw-tls-secret" not in ei.value.message
    assert len(waits) == 2


def test_A360_1_verify_ssl_false_accepts_self_signed_certificate(https_url):
    c = AutomationAnywhereClient(https_url, "svc", password="pw", timeout=5, verify_ssl=False)
    assert [d.host_name for d in c.list_devices()] == ["VMTLS"]
