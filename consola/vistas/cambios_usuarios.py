"""Console users from the console (CONSOLE §2, §3): ``GET /usuarios`` (the list, never a hash) and
``POST /usuarios`` (``accion`` = crear, rol, desactivar, clave) over
:mod:`common.operaciones.usuarios` (administrador only, audited; the same operations as the CLI).
A password is checked by :func:`consola.claves.problema_clave` and hashed here; it is never echoed
back in the re-shown form, logged or audited. A second "crear" of the same name is refused."""

from __future__ import annotations

from flask import Blueprint, request

from common.operaciones import formularios
from common.operaciones import usuarios as ops
from common.operaciones.auditoria import ROLES
from common.operaciones.programaciones import OperacionRechazada
from consola import claves, web
from consola.rutas import ADMINISTRADOR, ruta
from consola.vistas import _cambios as c

bp = Blueprint("cambios_usuarios", __name__)

ACCIONES = ("crear", "rol", "desactivar", "clave")
PLANTILLA = "cambios_usuarios.html"


def _pagina(estado: int = 200, error: str | None = None, **extra):
    datos = {"usuarios": ops.listar(web.db()), "roles": list(ROLES)}
    if error:
        return c.rechazado(PLANTILLA, datos, error, estado, **extra)
    return web.responder(PLANTILLA, datos, estado, **extra)


@ruta(bp, "/usuarios", rol=ADMINISTRADOR)
def lista():
    return _pagina()


def _clave() -> str:
    clave = request.form.get("Clave") or ""
    problema = claves.problema_clave(clave)
    if problema:
        raise OperacionRechazada(f"Clave no válida: {problema}.")
    return claves.hashear(clave)


def _rol() -> str:
    rol = c.texto("Rol", obligatorio=True, maximo=20)
    if rol not in ROLES:
        raise c.EntradaNoValida(f"Rol desconocido (válidos: {', '.join(ROLES)}).")
    return rol


@ruta(bp, "/usuarios", rol=ADMINISTRADOR, metodos=("POST",), endpoint="usuarios_guardar")
def guardar():
    accion = (request.form.get("accion") or "").strip()
    if accion not in ACCIONES:
        raise c.EntradaNoValida(f"Acción desconocida (válidas: {', '.join(ACCIONES)}).")
    usuario = c.texto("Usuario", obligatorio=True, maximo=200)
    db, actor, ahora = web.db(), c.actor(), c.ahora()
    try:
        if accion == "crear":
            rol = _rol()
            hecho = ops.crear(db, actor, usuario, rol, _clave(), nombre=c.texto("Nombre", maximo=400), ahora=ahora,
                              id_formulario=c.id_formulario())
            if isinstance(hecho, formularios.YaAplicado):
                return c.hecho(hecho.mensaje, "/usuarios", Usuario=ops.normalizar(usuario), resultado="ya_aplicado")
        elif accion == "rol":
            ops.cambiar_rol(db, actor, usuario, _rol(), ahora=ahora)
        elif accion == "desactivar":
            ops.desactivar(db, actor, usuario, ahora=ahora)
        else:
            ops.cambiar_clave(db, actor, usuario, _clave(), ahora=ahora)
    except OperacionRechazada as exc:
        return _pagina(409, exc.mensaje, usuario_escrito=usuario, nombre_escrito=request.form.get("Nombre", ""))
    hechos = {"crear": "creado", "rol": "con su nuevo rol", "desactivar": "desactivado", "clave": "con su nueva clave"}
    return c.hecho(f"Usuario {ops.normalizar(usuario)} {hechos[accion]}.", "/usuarios", Usuario=ops.normalizar(usuario))
