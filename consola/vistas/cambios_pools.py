"""``POST /pools`` (CONSOLE §3, BEHAVIOUR §12 B11), role administrador: ``accion`` =
``crear`` (``Nombre``, ``Descripcion``), ``cambiar`` (``PoolId``, ``version`` and only the fields
sent of ``Nombre``, ``Descripcion``, ``Activo``: rename, describe, activate, deactivate),
``eliminar`` (``PoolId``, an empty pool) or ``mover`` (``PoolId``, blank = the general pool;
``RobotId`` and/or ``EquipoId``, repeated or separated by commas). The rules, the version check
and the audit are :mod:`common.operaciones.pools`'s; the forms are on ``GET /pools``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from common.operaciones import pools
from common.operaciones.programaciones import NoEncontrada, OperacionRechazada
from consola import consultas, web
from consola.rutas import ADMINISTRADOR, ruta
from consola.vistas import _cambios as c
from consola.vistas.cambios_asignaciones import accion, ids

bp = Blueprint("cambios_pools", __name__)

ACCIONES = ("crear", "cambiar", "eliminar", "mover")


def _pool_id(obligatorio: bool = True) -> int | None:
    return c.entero("PoolId", obligatorio=obligatorio, minimo=1, maximo=10**12)


def _cambios() -> dict[str, Any]:
    cambios = {k: request.form.get(k, "") for k in pools.CAMPOS if k in request.form}
    if not cambios:
        raise c.EntradaNoValida("El formulario no trae ningún campo que cambiar (Nombre, Descripcion, Activo).")
    for campo, valor in cambios.items():
        if len(valor) > c.MAX_TEXTO:
            raise c.EntradaNoValida(f"El campo {campo} admite como máximo {c.MAX_TEXTO} caracteres.")
    return cambios


def _version():
    """The form's ``version`` of the pool: required to change, delete or move into it."""
    return c.version_obligatoria()


def _operar(que: str) -> Any:
    db, actor, ahora = web.db(), c.actor(), c.ahora()
    if que == "crear":
        return pools.crear(db, actor, c.texto("Nombre", obligatorio=True, maximo=pools.LARGO_NOMBRE),
                           descripcion=c.texto("Descripcion"), ahora=ahora, id_formulario=c.id_formulario())
    if que == "cambiar":
        pool_id = _pool_id()
        return pools.cambiar(db, actor, pool_id, _cambios(), ahora=ahora, version=_version())
    if que == "eliminar":
        return pools.eliminar(db, actor, _pool_id(), ahora=ahora, version=_version())
    robots, equipos = ids("RobotId"), ids("EquipoId")
    if not robots and not equipos:
        raise c.EntradaNoValida("Indique al menos un robot (RobotId) o un equipo (EquipoId).")
    destino = _pool_id(obligatorio=False)
    return pools.mover(db, actor, destino, robots=robots, equipos=equipos, ahora=ahora,
                       version=None if destino is None else (c.version(f"version_{destino}") or _version()))


@ruta(bp, "/pools", rol=ADMINISTRADOR, metodos=("POST",), endpoint="pools_guardar")
def guardar():
    que = accion(ACCIONES)
    try:
        resultado = _operar(que)
    except OperacionRechazada as exc:
        estado = 404 if isinstance(exc, NoEncontrada) else 409
        cambios = [{"Campo": k, "Enviado": s, "Ahora": a} for k, s, a in getattr(exc, "diferencias", [])]
        return c.rechazado("pools.html", {"pools": consultas.filas(web.db(), "consola.pools")}, exc.mensaje,
                           estado, cambios=cambios, valores=dict(request.form))
    return c.hecho(resultado.mensaje, "/pools", resultado=resultado.como_dict())


@bp.app_context_processor
def _para_formularios() -> dict[str, Any]:
    """``version_texto(valor)``: the hidden ``version`` field for a row's ``FechaActualizacion``."""
    return {"version_texto": c.version_texto}
