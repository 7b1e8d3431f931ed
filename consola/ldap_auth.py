"""Sign-in against LDAP / Active Directory (CONSOLE §2), with ldap3.

- Bind **as the user**: ``CONSOLA_LDAP_USUARIO_PLANTILLA`` with ``{usuario}`` (``{usuario}@empresa.local``
  or a DN such as ``uid={usuario},ou=gente,dc=empresa,dc=local``; in a DN the name is escaped as an
  RDN value). No service account. An empty password is never sent (it would be an anonymous bind).
- TLS always: ``ldaps://`` or ``ldap://`` + StartTLS, the server certificate verified (CA file
  ``CONSOLA_LDAP_CA`` or the system store) and its name checked.
- Groups: the entry's ``memberOf`` and, for directories without it, the groups under
  ``CONSOLA_LDAP_BASE_DN`` whose ``member``/``uniqueMember`` is the user's DN; every value put in a
  filter goes through :func:`ldap3.utils.conv.escape_filter_chars`.
- Role: ``CONSOLA_LDAP_GRUPOS`` (group DN → role, compared case- and space-insensitively); the
  highest role of the user's groups wins; no mapped group = no access.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from typing import Any

from common.operaciones.usuarios import nombre_de_login_aceptable, para_log
from common.utils.config_manager import ajuste
from consola.rutas import NIVEL

log = logging.getLogger("sam.consola.ldap")


def filtro_usuario(upn: str, usuario: str) -> str:
    """The search filter of a UPN template (``{usuario}@empresa.local``): every value escaped
    (``escape_filter_chars``), so a typed ``*)(uid=*`` is a literal name, never filter syntax."""
    from ldap3.utils.conv import escape_filter_chars

    u, corto = escape_filter_chars(usuario), escape_filter_chars(usuario.split("@")[0])
    return (f"(|(userPrincipalName={escape_filter_chars(upn)})(sAMAccountName={corto})(uid={corto})"
            f"(mail={u}))")


@dataclass(frozen=True)
class ResultadoLdap:
    rol: str
    nombre: str | None
    dn: str


def normalizar_dn(dn: str) -> str:
    """A DN compared case-insensitively and without spaces around separators."""
    partes = []
    for rdn in str(dn).split(","):
        atributo, _, valor = rdn.partition("=")
        partes.append(f"{atributo.strip().lower()}={valor.strip().lower()}")
    return ",".join(partes)


def rol_de_grupos(grupos: list[str], mapa: dict[str, str]) -> str | None:
    """The highest role that ``mapa`` gives any of ``grupos`` (None: no mapped group)."""
    normalizado = {normalizar_dn(g): r for g, r in mapa.items()}
    roles = [normalizado[g] for g in map(normalizar_dn, grupos) if g in normalizado]
    return max(roles, key=lambda r: NIVEL.get(r, 0)) if roles else None


class AutenticadorLdap:
    def __init__(self, url: str, base_dn: str, plantilla: str, grupos: dict[str, str], *,
                 ca: str | None = None, timeout: float = 10.0) -> None:
        self.url, self.base_dn, self.plantilla = url, base_dn, plantilla
        self.grupos, self.ca, self.timeout = dict(grupos), ca, float(timeout)

    @classmethod
    def desde_config(cls, cfg: Any) -> AutenticadorLdap | None:
        url = ajuste(cfg, "CONSOLA_LDAP_URL")
        if not url:
            return None
        ca = ajuste(cfg, "CONSOLA_LDAP_CA")
        return cls(url, ajuste(cfg, "CONSOLA_LDAP_BASE_DN"), ajuste(cfg, "CONSOLA_LDAP_USUARIO_PLANTILLA"),
                   ajuste(cfg, "CONSOLA_LDAP_GRUPOS"), ca=str(ca) if ca else None,
                   timeout=ajuste(cfg, "CONSOLA_LDAP_TIMEOUT_SEG"))

    def _es_dn(self) -> bool:
        return "=" in self.plantilla.split("{usuario}")[0] or self.plantilla.strip().lower().startswith(
            ("uid=", "cn="))

    def usuario_bind(self, usuario: str) -> str:
        from ldap3.utils.dn import escape_rdn

        return self.plantilla.replace("{usuario}", escape_rdn(usuario) if self._es_dn() else usuario)

    def _servidor(self) -> Any:
        from ldap3 import Server, Tls

        tls = Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT, ca_certs_file=self.ca)
        return Server(self.url, use_ssl=self.url.lower().startswith("ldaps://"), tls=tls,
                      connect_timeout=self.timeout, get_info="NO_INFO")

    def autenticar(self, usuario: str, clave: str) -> ResultadoLdap | None:
        """The user's role if the bind succeeds and a mapped group grants one, else None."""
        if not clave or not nombre_de_login_aceptable(usuario):
            return None
        try:
            return self._autenticar(usuario, clave)
        except Exception as exc:  # noqa: BLE001 - LDAP down or refusing: no access, logged
            log.warning("LDAP: no se pudo validar a «%s» en %s: %s", para_log(usuario), self.url,
                        str(exc).replace(usuario, para_log(usuario)))
            return None

    def _autenticar(self, usuario: str, clave: str) -> ResultadoLdap | None:
        from ldap3 import Connection
        from ldap3.core.exceptions import LDAPBindError

        conn = Connection(self._servidor(), user=self.usuario_bind(usuario), password=clave,
                          receive_timeout=int(self.timeout), raise_exceptions=False, auto_bind="NONE",
                          auto_referrals=False)  # a referral to another server is not followed
        try:
            if not self.url.lower().startswith("ldaps://") and not conn.start_tls():
                raise RuntimeError(f"StartTLS rechazado: {conn.result}")
            try:
                if not conn.bind():
                    log.info("LDAP: credenciales rechazadas para «%s»", para_log(usuario))
                    return None
            except LDAPBindError:
                return None
            dn, nombre, grupos = self._entrada(conn, usuario)
            rol = rol_de_grupos(grupos, self.grupos)
            if rol is None:
                log.info("LDAP: %r no pertenece a ningún grupo de CONSOLA_LDAP_GRUPOS", usuario)
                return None
            return ResultadoLdap(rol, nombre, dn)
        finally:
            conn.unbind()

    def _entrada(self, conn: Any, usuario: str) -> tuple[str, str | None, list[str]]:
        """The user's DN, display name and group DNs."""
        from ldap3 import BASE, SUBTREE
        from ldap3.utils.conv import escape_filter_chars

        atributos = ["memberOf", "displayName", "cn"]
        if self._es_dn():
            conn.search(self.usuario_bind(usuario), "(objectClass=*)", search_scope=BASE, attributes=atributos)
        else:
            conn.search(self.base_dn, filtro_usuario(self.usuario_bind(usuario), usuario), search_scope=SUBTREE,
                        attributes=atributos, size_limit=2)
        if len(conn.entries) != 1:
            return self.usuario_bind(usuario), None, []
        entrada = conn.entries[0]
        dn = entrada.entry_dn
        datos = entrada.entry_attributes_as_dict
        grupos = [str(g) for g in datos.get("memberOf", [])]
        nombre = next((str(v[0]) for k in ("displayName", "cn") if (v := datos.get(k))), None)
        if not grupos:
            d = escape_filter_chars(dn)
            conn.search(self.base_dn, f"(|(member={d})(uniqueMember={d}))", search_scope=SUBTREE, attributes=[])
            grupos = [e.entry_dn for e in conn.entries]
        return dn, nombre, grupos
