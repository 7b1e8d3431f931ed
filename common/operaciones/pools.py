"""Pools and their membership (CONSOLE ``/pools``, BEHAVIOUR §12 B11): create, rename, describe,
activate, deactivate, delete an empty pool, and move robots and equipos in or out (``PoolId``;
NULL = the general pool). Role ``administrador``; one transaction each with its audit row.

- ``Nombre``: required, at most 100 characters, unique without regard to case (as SQL Server's
  default collation and SQLite's ``UX_Pools_Nombre ... COLLATE NOCASE``); creating a pool whose name
  exists is :data:`YA_APLICADO` (a form sent twice creates one pool) naming the existing one;
- :func:`cambiar` (``Nombre``, ``Descripcion``, ``Activo``) is a versioned edit
  (:func:`common.operaciones.edicion.editar`); a deactivated pool's equipos and robots leave
  balancing (B11/B12: the Balanceador releases its rows there in its next cycle);
- :func:`eliminar` refuses while a robot or an equipo is in the pool (naming how many); deleting a
  pool that no longer exists is :data:`YA_APLICADO`. ``HistoricoBalanceo.PoolId`` keeps the old id;
- :func:`mover` puts robots or equipos into an active pool (or the general pool with None), setting
  their ``FechaActualizacion`` (their version) too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from common.database import sentencias
from common.operaciones import auditoria, edicion
from common.operaciones.auditoria import Actor
from common.operaciones.edicion import (
    APLICADO,
    BOOL,
    TEXTO,
    TEXTO_NULO,
    YA_APLICADO,
    CambioNoValido,
    Intento,
    Resultado,
    TablaEditable,
    ejecutar,
    marca,
)
from common.operaciones.programaciones import NoEncontrada

ENTIDAD = "Pools"
ROLES_ESCRITURA = ("administrador",)
LARGO_NOMBRE = 100
#: ``Pools.Descripcion`` NVARCHAR(4000): SQL Server would cut a longer text (CAST) where SQLite keeps it.
LARGO_DESCRIPCION = 4000
CAMPOS = {"Nombre": TEXTO, "Descripcion": TEXTO_NULO, "Activo": BOOL}

# ruff: noqa: S608 - the statements below are built from constants only (no input is ever formatted in)
_B = " WITH (UPDLOCK, HOLDLOCK)"


def _dos(nombre: str, plantilla: str, **solo: tuple[str, str]) -> None:
    sentencias.registrar(nombre, tsql=plantilla.format(t="dbo.", b=_B, marcas="{marcas}", **{k: v[0] for k, v in solo.items()}),
                         sqlite=plantilla.format(t="", b="", marcas="{marcas}", **{k: v[1] for k, v in solo.items()}))


_dos("pools_op.leer", "SELECT PoolId, Nombre, Descripcion, Activo, FechaActualizacion FROM {t}Pools{b} WHERE PoolId = ?")
_dos("pools_op.por_nombre", "SELECT PoolId, Nombre FROM {t}Pools{b} WHERE Nombre{nc} = ?", nc=("", " COLLATE NOCASE"))
_dos("pools_op.insertar",
     "INSERT INTO {t}Pools (Nombre, Descripcion, Activo, FechaActualizacion) {salida}VALUES (?, {texto}, 1, ?){retorno}",
     salida=("OUTPUT INSERTED.PoolId ", ""), retorno=("", " RETURNING PoolId"), texto=("CAST(? AS NVARCHAR(4000))", "?"))
_dos("pools_op.actualizar",
     "UPDATE {t}Pools SET Nombre = ?, Descripcion = {texto}, Activo = ?, FechaActualizacion = ? WHERE PoolId = ?",
     texto=("CAST(? AS NVARCHAR(4000))", "?"))
_dos("pools_op.miembros",
     "SELECT (SELECT COUNT(*) FROM {t}Robots{b} WHERE PoolId = ?) AS Robots, "
     "(SELECT COUNT(*) FROM {t}Equipos{b} WHERE PoolId = ?) AS Equipos")
_dos("pools_op.borrar", "DELETE FROM {t}Pools WHERE PoolId = ?")
_dos("pools_op.robots", "SELECT RobotId AS Id, Robot AS Nombre, PoolId FROM {t}Robots{b} WHERE RobotId IN ({marcas})")
_dos("pools_op.equipos", "SELECT EquipoId AS Id, Equipo AS Nombre, PoolId FROM {t}Equipos{b} WHERE EquipoId IN ({marcas})")
_dos("pools_op.mover_robot", "UPDATE {t}Robots SET PoolId = ?, FechaActualizacion = ? WHERE RobotId = ?")
_dos("pools_op.mover_equipo", "UPDATE {t}Equipos SET PoolId = ?, FechaActualizacion = ? WHERE EquipoId = ?")
_dos("pools_op.listar",
     "SELECT p.PoolId, p.Nombre, p.Descripcion, p.Activo, p.FechaActualizacion, "
     "(SELECT COUNT(*) FROM {t}Robots AS r WHERE r.PoolId = p.PoolId) AS Robots, "
     "(SELECT COUNT(*) FROM {t}Equipos AS e WHERE e.PoolId = p.PoolId) AS Equipos "
     "FROM {t}Pools AS p ORDER BY p.PoolId")

TABLA = TablaEditable(entidad=ENTIDAD, singular="el pool", clave="PoolId", campos=CAMPOS, leer="pools_op.leer",
                      actualizar="pools_op.actualizar", roles=ROLES_ESCRITURA,
                      etiqueta=lambda f: str(f.get("Nombre") or ""))


def problemas_nombre(nombre: str, otro: Mapping[str, Any] | None) -> list[str]:
    """The name rules (pure); ``otro``: another pool with the same name, if any."""
    if not nombre:
        return ["el nombre del pool es obligatorio"]
    if len(nombre) > LARGO_NOMBRE:
        return [f"el nombre del pool tiene más de {LARGO_NOMBRE} caracteres"]
    if otro is not None:
        return [f"ya existe un pool llamado {otro['Nombre']} (id {otro['PoolId']})"]
    return []


def problemas_descripcion(descripcion: str | None) -> list[str]:
    """The description rule (pure): it must fit its column on both engines."""
    if descripcion and len(descripcion) > LARGO_DESCRIPCION:
        return [f"la descripción del pool tiene más de {LARGO_DESCRIPCION} caracteres ({len(descripcion)})"]
    return []


def crear(db: Any, actor: Actor, nombre: str, *, descripcion: str | None = None, ahora: datetime,
          id_formulario: str | None = None) -> Resultado:
    """Create an active pool; ``extra["pool_id"]`` is its id (or the existing one's, or the one the
    same form already created: ``id_formulario``)."""
    limpio = (nombre or "").strip()
    intento = Intento(actor, ENTIDAD, "crear", ahora, despues={"Nombre": limpio, "Descripcion": descripcion},
                      id_formulario=id_formulario)

    def trabajo(tx: Any) -> Any:
        existente = tx.query_one(sentencias.sql(tx, "pools_op.por_nombre"), (limpio,)) if limpio else None
        if existente is not None:
            return Resultado(YA_APLICADO, f"Ya aplicado: el pool {existente['Nombre']} ya existe (id "
                             f"{existente['PoolId']}).", extra={"pool_id": existente["PoolId"]})
        problemas = problemas_nombre(limpio, None) + problemas_descripcion(descripcion)
        if problemas:
            return CambioNoValido(problemas)
        fila = tx.query_one(sentencias.sql(tx, "pools_op.insertar"), (limpio, descripcion or None, marca(ahora)))
        intento.entidad_id = int(next(iter(fila.values())))
        intento.auditar(tx, auditoria.OK, PoolId=intento.entidad_id)
        return Resultado(APLICADO, f"Pool {limpio} creado (id {intento.entidad_id}).", version=marca(ahora),
                         extra={"pool_id": intento.entidad_id})

    return edicion.como_resultado(ejecutar(db, intento, ROLES_ESCRITURA, "gestionar pools", trabajo), "pool_id")


def _reglas(tx: Any, actual: Mapping[str, Any], nueva: dict[str, Any], cambiadas: set[str]) -> list[str]:
    if "Nombre" not in cambiadas:
        return problemas_descripcion(nueva.get("Descripcion")) if "Descripcion" in cambiadas else []
    otro = tx.query_one(sentencias.sql(tx, "pools_op.por_nombre"), (nueva["Nombre"],)) if nueva["Nombre"] else None
    if otro is not None and otro["PoolId"] == actual["PoolId"]:
        otro = None  # the same pool with another case
    return problemas_nombre(nueva["Nombre"], otro) + (
        problemas_descripcion(nueva.get("Descripcion")) if "Descripcion" in cambiadas else [])


def cambiar(db: Any, actor: Actor, pool_id: int, cambios: Mapping[str, Any], *, ahora: datetime,
            version: datetime | None) -> Resultado:
    """Rename, describe, activate or deactivate a pool (versioned edit)."""
    accion = "modificar"
    if set(cambios) == {"Activo"}:
        accion = "activar" if edicion.convertir("Activo", BOOL, cambios["Activo"]) else "desactivar"
    return edicion.editar(db, actor, TABLA, pool_id, cambios, ahora=ahora, version=version, reglas=_reglas,
                          accion=accion)


def eliminar(db: Any, actor: Actor, pool_id: int, *, ahora: datetime, version: datetime | None = None) -> Resultado:
    """Delete a pool with no robot and no equipo; ``version`` (the pool's ``FechaActualizacion`` as
    read; None: not checked) stale → refused as a conflict showing the pool as it is now."""
    intento = Intento(actor, ENTIDAD, "eliminar", ahora, entidad_id=pool_id)

    def trabajo(tx: Any) -> Any:
        actual = tx.query_one(sentencias.sql(tx, "pools_op.leer"), (pool_id,))
        if actual is None:
            return Resultado(YA_APLICADO, f"Ya aplicado: el pool {pool_id} no existe.")
        intento.antes = {k: actual[k] for k in ("Nombre", "Descripcion", "Activo", "FechaActualizacion")}
        vieja = _version_vieja(intento, actual, version)
        if vieja is not None:
            return vieja
        cuenta = tx.query_one(sentencias.sql(tx, "pools_op.miembros"), (pool_id, pool_id))
        if cuenta["Robots"] or cuenta["Equipos"]:
            return CambioNoValido([f"el pool {actual['Nombre']} no está vacío ({cuenta['Robots']} robots, "
                                   f"{cuenta['Equipos']} equipos); páselos antes a otro pool o al general"])
        sentencias.ejecutar(tx, "pools_op.borrar", (pool_id,))
        intento.auditar(tx, auditoria.OK)
        return Resultado(APLICADO, f"Pool {actual['Nombre']} (id {pool_id}) eliminado.")

    return ejecutar(db, intento, ROLES_ESCRITURA, "gestionar pools", trabajo)


def mover(db: Any, actor: Actor, pool_id: int | None, *, robots: Iterable[int] = (), equipos: Iterable[int] = (),
          ahora: datetime, version: datetime | None = None) -> Resultado:
    """Put ``robots`` and ``equipos`` (ids) into ``pool_id`` (None: the general pool); ``version``:
    the destination pool's as read (stale → conflict: it may have been renamed or deactivated)."""
    rids, eids = sorted({int(r) for r in robots}), sorted({int(e) for e in equipos})
    intento = Intento(actor, ENTIDAD, "miembros", ahora, entidad_id=pool_id,
                      despues={"PoolId": pool_id, "Robots": rids, "Equipos": eids})

    def trabajo(tx: Any) -> Any:
        problemas: list[str] = [] if rids or eids else ["indique al menos un robot o un equipo"]
        if pool_id is not None:
            pool = tx.query_one(sentencias.sql(tx, "pools_op.leer"), (pool_id,))
            if pool is None:
                return NoEncontrada(f"El pool {pool_id} no existe.")
            vieja = _version_vieja(intento, pool, version)
            if vieja is not None:
                return vieja
            if not pool["Activo"]:
                problemas.append(f"el pool {pool['Nombre']} (id {pool_id}) está inactivo")
        filas = {}
        for tipo, ids in (("robots", rids), ("equipos", eids)):
            encontradas = tx.query(sentencias.sql(tx, f"pools_op.{tipo}", marcas=len(ids)), ids) if ids else []
            filas[tipo] = {f["Id"]: f for f in encontradas}
            faltan = [str(i) for i in ids if i not in filas[tipo]]
            if faltan:
                problemas.append(f"{tipo} que no existen: {', '.join(faltan)}")
        if problemas:
            return CambioNoValido(problemas)
        intento.antes = {t: {str(i): f["PoolId"] for i, f in filas[t].items()} for t in filas}
        movidos = 0
        for tipo, sentencia in (("robots", "pools_op.mover_robot"), ("equipos", "pools_op.mover_equipo")):
            for i, f in filas[tipo].items():
                if f["PoolId"] != pool_id:
                    sentencias.ejecutar(tx, sentencia, (pool_id, marca(ahora), i))
                    movidos += 1
        if not movidos:
            return Resultado(YA_APLICADO, "Ya aplicado: todos estaban ya en ese pool.")
        intento.auditar(tx, auditoria.OK)
        destino = "al pool general" if pool_id is None else f"al pool {pool_id}"
        que = "elemento pasado" if movidos == 1 else "elementos pasados"
        return Resultado(APLICADO, f"{movidos} {que} {destino}.")

    return ejecutar(db, intento, ROLES_ESCRITURA, "gestionar pools", trabajo)


def _version_vieja(intento: Intento, pool: Mapping[str, Any], version: datetime | None) -> Any:
    """The refusal of a stale ``version`` of ``pool`` (``ejecutar`` audits it as 'conflicto'), or None."""
    fecha = pool.get("FechaActualizacion")
    if version is None or (fecha is not None and marca(version) == marca(fecha)):
        return None
    vista = {**pool, "Activo": bool(pool.get("Activo"))}
    actuales = "; ".join(f"{k}: {edicion._mostrar(vista.get(k))}" for k in ("Nombre", "Descripcion", "Activo"))
    rechazo = edicion.ConflictoDeVersion(
        f"El pool {pool['Nombre']} (id {pool['PoolId']}) cambió después de que usted lo leyera (versión leída "
        f"{edicion.texto_version(version)}, versión actual {edicion.texto_version(fecha)}); no se ha hecho nada. "
        f"Vuelva a abrirlo y repita la operación. Valores actuales: {actuales}.", [])
    return rechazo


def listar(db: Any) -> list[dict[str, Any]]:
    return db.query(sentencias.sql(db, "pools_op.listar"))
