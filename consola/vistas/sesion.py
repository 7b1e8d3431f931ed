"""Sign in, sign out and ``/health`` (CONSOLE §2, §3)."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, redirect, render_template, request

from common.database import sentencias
from consola import acceso, limite_login, seguridad, web
from consola.autenticacion import autenticar
from consola.rutas import PUBLICA, ruta

bp = Blueprint("sesion", __name__)
log = logging.getLogger("sam.consola")

sentencias.registrar(
    "consola.salud",
    tsql="SELECT COUNT(*) AS Tablas FROM sys.tables WHERE name = N'UsuariosConsola'",
    sqlite="SELECT COUNT(*) AS Tablas FROM sqlite_master WHERE name = 'UsuariosConsola'",
)


@ruta(bp, "/login", rol=PUBLICA)
def login_formulario():
    if web.usuario() is not None:
        return redirect(seguridad.siguiente_seguro(request.args.get("siguiente")), 302)
    caducada = bool(getattr(web.g, "sesion_caducada", False))
    return web.responder("login.html", {}, siguiente=seguridad.siguiente_seguro(request.args.get("siguiente")),
                         aviso="Su sesión caducó por inactividad; vuelva a entrar." if caducada else None)


@ruta(bp, "/login", rol=PUBLICA, metodos=("POST",))
def login_enviar():
    espera = web.contexto().limite_login.admitir(request.remote_addr, web.contexto().clock.now_utc().timestamp())
    if espera is not None:
        return _demasiados_intentos(espera)
    siguiente = seguridad.siguiente_seguro(request.form.get("siguiente"))
    usuario = request.form.get("Usuario", "")
    encontrado = autenticar(web.contexto(), usuario, request.form.get("Clave", ""), ip=request.remote_addr)
    if encontrado is None:
        return web.responder("login.html", {"estado": "rechazado", "mensaje": acceso.MENSAJE_RECHAZO}, 401,
                             siguiente=siguiente, usuario_escrito=usuario[:128], error=acceso.MENSAJE_RECHAZO)
    seguridad.abrir_sesion(encontrado.usuario, encontrado.rol, encontrado.nombre, encontrado.origen,
                           version=encontrado.version)
    if web.quiere_json():
        return jsonify(estado="ok", usuario=encontrado.usuario, rol=encontrado.rol)
    return redirect(siguiente, 303)


def _demasiados_intentos(espera: float):
    """429 without verifying anything: this address sent too many sign-ins in the last minute."""
    segundos = limite_login.segundos_retry_after(espera)
    log.warning("Inicio de sesión rechazado sin verificar: demasiados intentos desde la IP %s", request.remote_addr)
    mensaje = (f"Demasiados intentos de inicio de sesión desde esta dirección. Espere {segundos} s y vuelva a "
               "intentarlo.")
    cabeceras = {"Retry-After": str(segundos)}
    if web.quiere_json():
        return jsonify(estado="error", codigo=429, mensaje=mensaje), 429, cabeceras
    return render_template("error.html", titulo="Demasiados intentos", mensaje=mensaje, codigo=429), 429, cabeceras


@ruta(bp, "/logout", rol=PUBLICA, metodos=("POST",))
def logout():
    seguridad.cerrar_sesion()
    if web.quiere_json():
        return jsonify(estado="ok")
    return redirect("/login", 303)


@ruta(bp, "/health", rol=PUBLICA)
def health():
    try:
        fila = web.db().query_one(sentencias.sql(web.db(), "consola.salud"))
        ok = bool(fila) and int(next(iter(fila.values()))) == 1
    except Exception:  # noqa: BLE001 - any failure of the database is "not healthy"
        ok = False
    return (jsonify(estado="ok"), 200) if ok else (jsonify(estado="error"), 503)
