"""A throwaway OpenLDAP ``slapd`` on loopback for the console's LDAP tests (Debian: slapd, ldap-utils).

:class:`ServidorLdap` builds a config dir (``slapd.conf``, mdb database under ``dc=sam,dc=test``), a
self-signed CA and a server certificate for ``127.0.0.1``/``localhost`` (``cryptography``), loads the
entries with ``slapadd`` and starts ``slapd`` in the foreground on ``ldap://`` (StartTLS) and ``ldaps://``.
Users: ``uid=<name>,ou=gente,dc=sam,dc=test`` with clear ``userPassword``; groups ``groupOfNames`` under
``ou=grupos`` (no memberOf overlay: the console then searches the groups by ``member``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import subprocess
import time
from pathlib import Path

BASE = "dc=sam,dc=test"
SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")


def disponible() -> bool:
    return SLAPD.is_file() and SLAPADD.is_file() and Path("/usr/lib/ldap/back_mdb.so").exists()


def _puerto() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _certificados(carpeta: Path) -> tuple[Path, Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ahora = dt.datetime.now(dt.timezone.utc)
    clave_ca = ec.generate_private_key(ec.SECP256R1())
    nombre_ca = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA de pruebas SAM")])
    ca = (x509.CertificateBuilder().subject_name(nombre_ca).issuer_name(nombre_ca).public_key(clave_ca.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(ahora - dt.timedelta(days=1))
          .not_valid_after(ahora + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(clave_ca.public_key()), critical=False)
          .sign(clave_ca, hashes.SHA256()))
    clave = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(nombre_ca).public_key(clave.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(ahora - dt.timedelta(days=1)).not_valid_after(ahora + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(clave_ca.public_key()), critical=False)
            .sign(clave_ca, hashes.SHA256()))
    rutas = carpeta / "ca.pem", carpeta / "servidor.pem", carpeta / "servidor.key"
    rutas[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    rutas[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    rutas[2].write_bytes(clave.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    return rutas


class ServidorLdap:
    def __init__(self, carpeta: Path, usuarios: dict[str, str], grupos: dict[str, list[str]]) -> None:
        self.carpeta = Path(carpeta)
        self.usuarios, self.grupos = usuarios, grupos
        self.puerto, self.puerto_tls = _puerto(), _puerto()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.puerto}"

    @property
    def url_tls(self) -> str:
        return f"ldaps://127.0.0.1:{self.puerto_tls}"

    def dn_grupo(self, grupo: str) -> str:
        return f"cn={grupo},ou=grupos,{BASE}"

    def _ldif(self) -> str:
        bloques = [f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: SAM\ndc: sam",
                   f"dn: ou=gente,{BASE}\nobjectClass: organizationalUnit\nou: gente",
                   f"dn: ou=grupos,{BASE}\nobjectClass: organizationalUnit\nou: grupos"]
        for u, clave in self.usuarios.items():
            bloques.append(f"dn: uid={u},ou=gente,{BASE}\nobjectClass: inetOrgPerson\nuid: {u}\ncn: {u.title()}\n"
                           f"sn: {u}\ndisplayName: {u.title()} Pruebas\nuserPassword: {clave}")
        for g, miembros in self.grupos.items():
            lineas = "\n".join(f"member: uid={m},ou=gente,{BASE}" for m in miembros)
            bloques.append(f"dn: {self.dn_grupo(g)}\nobjectClass: groupOfNames\ncn: {g}\n{lineas}")
        return "\n\n".join(bloques) + "\n"

    def iniciar(self) -> ServidorLdap:
        datos = self.carpeta / "datos"
        datos.mkdir(parents=True, exist_ok=True)
        self.ca, cert, clave = _certificados(self.carpeta)
        conf = self.carpeta / "slapd.conf"
        conf.write_text(f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {self.carpeta / 'slapd.pid'}
TLSCACertificateFile {self.ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {clave}
database mdb
maxsize 10485760
suffix "{BASE}"
rootdn "cn=admin,{BASE}"
rootpw admin-no-usada
directory {datos}
access to attrs=userPassword by anonymous auth by self read by * none
access to * by users read by * none
""", encoding="utf-8")
        (self.carpeta / "datos.ldif").write_text(self._ldif(), encoding="utf-8")
        subprocess.run([str(SLAPADD), "-f", str(conf), "-l", str(self.carpeta / "datos.ldif")], check=True,
                       capture_output=True, timeout=60)
        self.proc = subprocess.Popen([str(SLAPD), "-f", str(conf), "-h", f"{self.url}/ {self.url_tls}/", "-d", "0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        limite = time.monotonic() + 30
        while time.monotonic() < limite:
            try:
                socket.create_connection(("127.0.0.1", self.puerto), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.puerto_tls), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"slapd terminó: {self.proc.stderr.read().decode(errors='replace')}") from None
                time.sleep(0.1)
        raise RuntimeError("slapd no abrió sus puertos en 30 s")

    def parar(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.carpeta / "datos", ignore_errors=True)
