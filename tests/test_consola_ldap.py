"""LDAP sign-in of the console against a real slapd on loopback (CONSOLE §2): bind as the user over
StartTLS or ldaps:// with the certificate verified, groups mapped to the highest role, no group = no
access, filter input escaped."""

from __future__ import annotations

import json

import pytest

from consola.ldap_auth import AutenticadorLdap, rol_de_grupos
from tests import ldap_server
from tests.componentes import falta
from tests.consola_apoyo import app_de_prueba, entrar

USUARIOS = {"marta": "clave-ldap-marta", "pablo": "clave-ldap-pablo", "sin_grupo": "clave-ldap-nada",
            "raro*(uid=*)": "clave-ldap-raro"}
GRUPOS = {"sam-lectores": ["marta", "pablo", "raro*(uid=*)"], "sam-admins": ["marta"], "otros": ["sin_grupo"]}


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    if not ldap_server.disponible():
        falta("falta slapd (instale los paquetes de Debian slapd y ldap-utils)")
    servidor = ldap_server.ServidorLdap(tmp_path_factory.mktemp("slapd"), USUARIOS, GRUPOS).iniciar()
    yield servidor
    servidor.parar()


def _mapa(s):
    return {s.dn_grupo("sam-lectores").upper(): "lector", s.dn_grupo("sam-admins"): "administrador"}


def _auth(s, url, **kw):
    return AutenticadorLdap(url, ldap_server.BASE, f"uid={{usuario}},ou=gente,{ldap_server.BASE}", _mapa(s),
                            ca=str(s.ca), timeout=10, **kw)


@pytest.mark.parametrize("tls", ["starttls", "ldaps"])
def test_bind_as_the_user_and_the_highest_role_wins(slapd, tls):
    auth = _auth(slapd, slapd.url if tls == "starttls" else slapd.url_tls)
    marta = auth.autenticar("marta", USUARIOS["marta"])
    assert marta is not None and marta.rol == "administrador" and marta.nombre == "Marta Pruebas"
    assert auth.autenticar("pablo", USUARIOS["pablo"]).rol == "lector"
    assert auth.autenticar("pablo", "mala") is None
    assert auth.autenticar("pablo", "") is None  # never an anonymous bind
    assert auth.autenticar("sin_grupo", USUARIOS["sin_grupo"]) is None
    assert auth.autenticar("nadie", "x") is None


def test_special_characters_in_the_user_name_are_escaped(slapd):
    auth = _auth(slapd, slapd.url)
    assert auth.autenticar("raro*(uid=*)", USUARIOS["raro*(uid=*)"]).rol == "lector"
    assert auth.autenticar("*", USUARIOS["marta"]) is None


def test_an_untrusted_certificate_is_refused(slapd, tmp_path):
    otra_ca = tmp_path / "otra.pem"
    otra_ca.write_bytes(ldap_server._certificados(tmp_path)[0].read_bytes())
    for url in (slapd.url, slapd.url_tls):
        auth = AutenticadorLdap(url, ldap_server.BASE, f"uid={{usuario}},ou=gente,{ldap_server.BASE}", _mapa(slapd),
                                ca=str(otra_ca), timeout=5)
        assert auth.autenticar("marta", USUARIOS["marta"]) is None


def test_console_sign_in_through_ldap(slapd, tmp_path):
    grupos = json.dumps(_mapa(slapd))
    app, db, _ = app_de_prueba(tmp_path, CONSOLA_LDAP_URL=slapd.url, CONSOLA_LDAP_BASE_DN=ldap_server.BASE,
                               CONSOLA_LDAP_USUARIO_PLANTILLA=f"uid={{usuario}},ou=gente,{ldap_server.BASE}",
                               CONSOLA_LDAP_GRUPOS=grupos, CONSOLA_LDAP_CA=str(slapd.ca))
    app.extensions["sam"].ldap = AutenticadorLdap.desde_config(app.extensions["sam"].cfg)
    cliente = app.test_client()
    assert entrar(cliente, "pablo", USUARIOS["pablo"]).status_code == 303
    assert cliente.get("/", headers={"Accept": "application/json"}).status_code == 200
    assert entrar(app.test_client(), "sin_grupo", USUARIOS["sin_grupo"]).status_code == 401
    db.close_all()


def test_group_mapping_is_case_and_space_insensitive():
    mapa = {"CN=A, OU=G,DC=x": "lector", "cn=b,ou=g,dc=x": "operador"}
    assert rol_de_grupos(["cn=a,ou=g,dc=x", "CN=B,OU=G,DC=X"], mapa) == "operador"
    assert rol_de_grupos(["cn=c,ou=g,dc=x"], mapa) is None
