"""Sign-in (CONSOLE §2): a local user of ``UsuariosConsola`` first, else LDAP/AD when configured.

:func:`autenticar` returns the signed-in user or None; the caller shows one message for every
refusal (:data:`consola.acceso.MENSAJE_RECHAZO`). Local users: a locked account is refused before any
verification; otherwise scrypt, then the failure is counted by an atomic increment in the row (parallel
wrong passwords each count, the one reaching the limit locks) and a success is stored only if the row
is still active and unlocked at that instant. Names without a local row (LDAP users): the same
lock-out (:func:`consola.acceso.decidir`), kept in memory per name under a lock. A name unknown everywhere costs the time
of one verification, like a known one.

Logs: a name with control characters or longer than a user name is refused before anything else
(the same generic refusal); a refused name is logged only when it is a known user or has the form of
a user name, else as ``(usuario no reconocido)`` (a password typed in the user field never reaches
the log).
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
    if not usuarios.nombre_de_login_aceptable(usuario):
        log.info("Inicio de sesión rechazado para «%s» (IP %s)", usuarios.NO_RECONOCIDO, ip)
        return None
    if not clave or len(clave) > MAX_CLAVE:
        log.info("Inicio de sesión rechazado para «%s» (IP %s)", usuarios.para_log(nombre), ip)
        return None
    ahora = ctx.clock.now_local()
    limites = {"intentos_bloqueo": int(ajuste(ctx.cfg, "CONSOLA_INTENTOS_BLOQUEO")),
               "bloqueo_min": int(ajuste(ctx.cfg, "CONSOLA_BLOQUEO_MIN"))}
    fila = usuarios.para_login(ctx.db, nombre)
    if fila is not None:
        return _local(ctx, fila, clave, ahora, limites, ip)
    if ctx.ldap is None:
        claves.verificar_señuelo(clave)
        log.info("Inicio de sesión rechazado para «%s» (IP %s)", usuarios.para_log(nombre), ip)
        return None
    return _ldap(ctx, nombre, clave, ahora, limites, ip)


def _local(ctx: Any, fila: dict, clave: str, ahora: datetime, limites: dict, ip: str | None) -> UsuarioSesion | None:
    nombre = fila["Usuario"]
    if acceso.bloqueado(fila, ahora):
        _anotar_rechazo(nombre, ip, acceso.Decision(acceso.RECHAZADO))  # locked: refused without a verification
        return None
    correcta = claves.verificar(clave, fila.get("HashClave")) and bool(fila.get("Activo"))
    if correcta and usuarios.anotar_exito(ctx.db, nombre, ahora=ahora):  # re-checks active/unlocked atomically
        log.info("Inicio de sesión de «%s» (rol %s, usuario local, IP %s)", nombre, fila["Rol"], ip)
        return UsuarioSesion(nombre, fila["Rol"], fila.get("Nombre"), "local", int(fila.get("VersionSesion") or 0))
    if correcta:  # locked (or deactivated) by someone else while the password was being verified
        _anotar_rechazo(nombre, ip, acceso.Decision(acceso.RECHAZADO))
        return None
    despues, bloquea = usuarios.anotar_fallo(ctx.db, nombre, **limites, ip=ip, ahora=ahora)
    despues = despues or {}
    _anotar_rechazo(nombre, ip, acceso.Decision(acceso.RECHAZADO, despues.get("IntentosFallidos"),
                                                despues.get("BloqueadoHasta"), bloquea=bloquea))
    return None


def _ldap(ctx: Any, nombre: str, clave: str, ahora: datetime, limites: dict, ip: str | None) -> UsuarioSesion | None:
    with ctx.fallos_lock:
        bloqueada = acceso.bloqueado(_fila_sin_fila(ctx, nombre), ahora)
    if bloqueada:
        _anotar_rechazo(usuarios.para_log(nombre), ip, acceso.Decision(acceso.RECHAZADO))
        return None
    resultado = ctx.ldap.autenticar(nombre, clave)
    with ctx.fallos_lock:  # re-read: parallel attempts of the same name each count once
        decision = acceso.decidir(_fila_sin_fila(ctx, nombre), resultado is not None, ahora, **limites)
        if decision.aceptado:
            ctx.fallos_sin_fila.pop(nombre, None)
        elif decision.intentos is not None:
            ctx.fallos_sin_fila[nombre] = (decision.intentos, decision.bloqueado_hasta)
    if decision.aceptado:
        log.info("Inicio de sesión de %r (rol %s, LDAP, IP %s)", nombre, resultado.rol, ip)
        return UsuarioSesion(nombre, resultado.rol, resultado.nombre, "ldap")
    _anotar_rechazo(usuarios.para_log(nombre), ip, decision)
    return None


def _fila_sin_fila(ctx: Any, nombre: str) -> dict:
    """The in-memory counters of a name without a local row, shaped like a row (under ctx.fallos_lock)."""
    previa = ctx.fallos_sin_fila.get(nombre)
    return {"Activo": True, "IntentosFallidos": previa[0] if previa else 0,
            "BloqueadoHasta": previa[1] if previa else None}


def _anotar_rechazo(nombre: str, ip: str | None, decision: acceso.Decision) -> None:
    """Log a refusal; ``nombre`` is a known user's or already :func:`usuarios.para_log`'s."""
    if decision.bloquea:
        log.warning("Cuenta «%s» bloqueada hasta %s tras %s inicios de sesión fallidos (IP %s)", nombre,
                    decision.bloqueado_hasta, decision.intentos, ip)
    else:
        log.info("Inicio de sesión rechazado para «%s» (IP %s)", nombre, ip)
