"""Sign-in (CONSOLE §2): a local user of ``UsuariosConsola`` first, else LDAP/AD when configured.

:func:`autenticar` returns the signed-in user or None; the caller shows one message for every
refusal (:data:`consola.acceso.MENSAJE_RECHAZO`). Local users: scrypt verification, the counters
and the lock-out of :func:`consola.acceso.decidir` stored in the row. Names without a local row
(LDAP users): the same lock-out, kept in memory per name. A name unknown everywhere costs the time
of one verification, like a known one.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from common.operaciones import usuarios
from common.utils.config_manager import ajuste
from consola import acceso, claves
from consola.web import UsuarioSesion

log = logging.getLogger("sam.consola")

MAX_USUARIO, MAX_CLAVE = usuarios.MAX_USUARIO, claves.MAX_LARGO


def autenticar(ctx: Any, usuario: str, clave: str, *, ip: str | None) -> UsuarioSesion | None:
    nombre = usuarios.normalizar(usuario)
    if not nombre or not clave or len(nombre) > MAX_USUARIO or len(clave) > MAX_CLAVE:
        return None
    ahora = ctx.clock.now_local()
    limites = {"intentos_bloqueo": int(ajuste(ctx.cfg, "CONSOLA_INTENTOS_BLOQUEO")),
               "bloqueo_min": int(ajuste(ctx.cfg, "CONSOLA_BLOQUEO_MIN"))}
    fila = usuarios.para_login(ctx.db, nombre)
    if fila is not None:
        return _local(ctx, fila, clave, ahora, limites, ip)
    if ctx.ldap is None:
        claves.verificar_señuelo(clave)
        log.info("Inicio de sesión rechazado para «%s» (IP %s)", nombre, ip)
        return None
    return _ldap(ctx, nombre, clave, ahora, limites, ip)


def _local(ctx: Any, fila: dict, clave: str, ahora: datetime, limites: dict, ip: str | None) -> UsuarioSesion | None:
    correcta = claves.verificar(clave, fila.get("HashClave"))  # always: same time locked or not
    decision = acceso.decidir(fila, correcta, ahora, **limites)
    nombre = fila["Usuario"]
    if decision.aceptado:
        usuarios.anotar_exito(ctx.db, nombre, ahora=ahora)
        log.info("Inicio de sesión de «%s» (rol %s, usuario local, IP %s)", nombre, fila["Rol"], ip)
        return UsuarioSesion(nombre, fila["Rol"], fila.get("Nombre"), "local")
    if decision.intentos is not None:
        usuarios.anotar_fallo(ctx.db, nombre, decision.intentos, decision.bloqueado_hasta, ip=ip, ahora=ahora)
    _anotar_rechazo(nombre, ip, decision)
    return None


def _ldap(ctx: Any, nombre: str, clave: str, ahora: datetime, limites: dict, ip: str | None) -> UsuarioSesion | None:
    previa = ctx.fallos_sin_fila.get(nombre)
    fila = {"Activo": True, "IntentosFallidos": previa[0] if previa else 0,
            "BloqueadoHasta": previa[1] if previa else None}
    if acceso.bloqueado(fila, ahora):
        decision = acceso.decidir(fila, False, ahora, **limites)
        _anotar_rechazo(nombre, ip, decision)
        return None
    resultado = ctx.ldap.autenticar(nombre, clave)
    decision = acceso.decidir(fila, resultado is not None, ahora, **limites)
    if decision.aceptado:
        ctx.fallos_sin_fila.pop(nombre, None)
        log.info("Inicio de sesión de «%s» (rol %s, LDAP, IP %s)", nombre, resultado.rol, ip)
        return UsuarioSesion(nombre, resultado.rol, resultado.nombre, "ldap")
    ctx.fallos_sin_fila[nombre] = (decision.intentos, decision.bloqueado_hasta)
    _anotar_rechazo(nombre, ip, decision)
    return None


def _anotar_rechazo(nombre: str, ip: str | None, decision: acceso.Decision) -> None:
    if decision.bloquea:
        log.warning("Cuenta «%s» bloqueada hasta %s tras %s inicios de sesión fallidos (IP %s)", nombre,
                    decision.bloqueado_hasta, decision.intentos, ip)
    else:
        log.info("Inicio de sesión rechazado para «%s» (IP %s)", nombre, ip)
