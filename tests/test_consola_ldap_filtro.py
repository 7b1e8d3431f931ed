"""The LDAP search filter and bind name built from what a person typed (CONSOLE §4, AD path): a
hostile name is escaped for both templates, never filter or DN syntax; referrals are not followed."""

from __future__ import annotations

import pytest

from consola import ldap_auth
from consola.ldap_auth import AutenticadorLdap, filtro_usuario

HOSTILES = ("*)(uid=*", "\\", "a\x00b", "admin)(|(x=*")


@pytest.mark.parametrize("nombre", HOSTILES)
def test_the_upn_template_search_filter_escapes_a_hostile_name(nombre):
    from ldap3.utils.conv import escape_filter_chars

    a = AutenticadorLdap("ldaps://ad.empresa.local", "DC=empresa,DC=local", "{usuario}@empresa.local", "")
    filtro = filtro_usuario(a.usuario_bind(nombre), nombre)
    e = escape_filter_chars(nombre)
    assert f"(sAMAccountName={e})" in filtro and f"(mail={e})" in filtro
    assert f"(userPrincipalName={escape_filter_chars(nombre + '@empresa.local')})" in filtro
    for crudo in ("*", "\x00", "(uid=", "(|(x="):
        if crudo in nombre:  # the raw syntax never reaches the filter: only its \\2a \\28 \\00 escapes
            assert crudo not in filtro.replace("(|(userPrincipalName=", "").replace(")(sAMAccountName=", "") \
                .replace(")(uid=", "").replace(")(mail=", "")
    assert filtro.count("(") == filtro.count(")") == 5  # the four alternatives and the OR, nothing more


@pytest.mark.parametrize("nombre", HOSTILES)
def test_the_dn_template_bind_name_escapes_a_hostile_name(nombre):
    from ldap3.utils.dn import escape_rdn

    a = AutenticadorLdap("ldaps://ldap.empresa.local", "dc=empresa,dc=local", "uid={usuario},ou=people,dc=empresa,dc=local", "")
    assert a.usuario_bind(nombre) == f"uid={escape_rdn(nombre)},ou=people,dc=empresa,dc=local"


def test_referrals_are_not_followed(monkeypatch):
    import ldap3

    vistos = {}

    class Conexion:
        def __init__(self, servidor, **kw):
            vistos.update(kw)
            self.result = {}

        def start_tls(self):
            return False  # stop right after the connection is built

        def unbind(self):
            pass

    monkeypatch.setattr(ldap3, "Connection", Conexion)
    a = AutenticadorLdap("ldap://ad.empresa.local", "DC=empresa,DC=local", "{usuario}@empresa.local", "")
    assert a.autenticar("ana", "clave") is None
    assert vistos.get("auto_referrals") is False
    assert ldap_auth  # module imported for the monkeypatched name
