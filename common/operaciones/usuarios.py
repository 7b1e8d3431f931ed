"""Console users (CONSOLE §2, §4): table ``UsuariosConsola``, shared by the console and
``python -m consola usuarios``.

Management writes (:func:`crear`, :func:`cambiar_rol`, :func:`desactivar`, :func:`cambiar_clave`)
need an ``administrador`` actor, run in one transaction with their :mod:`~common.operaciones.auditoria`
row (``Entidad = 'UsuariosConsola'``, ``EntidadId`` = the user name); a refused attempt writes only
its audit row and raises :class:`OperacionRechazada`. ``Antes``/``Despues`` never hold the hash.

Sign-in bookkeeping (:func:`para_login`, :func:`anotar_fallo`, :func:`anotar_exito`) is not a
management change: the counters move in their own short transaction, and only the lock-out itself
is audited (``Accion = 'bloquear_cuenta'``). ``VersionSesion`` rises with every password, role or
active change and with a sign-out (:func:`cerrar_sesiones`): a console session stores the version it
was opened with and ends when the row's differs. User names are stored lower-case and stripped
(:func:`normalizar`), so ``Ana`` and ``ana`` are one account on both engines.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from common.database import sentencias
from common.operaciones import auditoria, formularios
from common.operaciones.auditoria import ROLES, Actor
from common.operaciones.programaciones import OperacionRechazada, PermisoDenegado

ENTIDAD = "UsuariosConsola"
ROL_GESTION = "administrador"
MAX_USUARIO, MAX_NOMBRE = 128, 200
_USUARIO_VALIDO = re.compile(r"^[a-z0-9][a-z0-9._@-]*$")

# ruff: noqa: S608 - the statements below are built from constants only (no input is ever formatted in)
_COLS = ("UsuarioId, Usuario, Nombre, HashClave, Rol, Activo, FechaAlta, UltimoAcceso, IntentosFallidos, "
         "BloqueadoHasta, FechaActualizacion, VersionSesion")
sentencias.registrar(
    "usuarios.leer",
    tsql=f"SELECT {_COLS} FROM dbo.UsuariosConsola WITH (UPDLOCK, HOLDLOCK) WHERE Usuario = ?",
    sqlite=f"SELECT {_COLS} FROM UsuariosConsola WHERE Usuario = ?",
)
sentencias.registrar(
    "usuarios.consultar",
    tsql=f"SELECT {_COLS} FROM dbo.UsuariosConsola WHERE Usuario = ?",
    sqlite=f"SELECT {_COLS} FROM UsuariosConsola WHERE Usuario = ?",
)
sentencias.registrar(
    "usuarios.listar",
    tsql=f"SELECT {_COLS} FROM dbo.UsuariosConsola ORDER BY Usuario",
    sqlite=f"SELECT {_COLS} FROM UsuariosConsola ORDER BY Usuario",
)
sentencias.registrar(
    "usuarios.insertar",
    tsql=("INSERT INTO dbo.UsuariosConsola (Usuario, Nombre, HashClave, Rol, Activo, FechaAlta, IntentosFallidos, "
          "FechaActualizacion) VALUES (?, ?, ?, ?, 1, ?, 0, ?)"),
    sqlite=("INSERT INTO UsuariosConsola (Usuario, Nombre, HashClave, Rol, Activo, FechaAlta, IntentosFallidos, "
            "FechaActualizacion) VALUES (?, ?, ?, ?, 1, ?, 0, ?)"),
)
sentencias.registrar(
    "usuarios.cambiar_rol",
    tsql=("UPDATE dbo.UsuariosConsola SET Rol = ?, FechaActualizacion = ?, VersionSesion = VersionSesion + 1 "
          "WHERE Usuario = ?"),
    sqlite="UPDATE UsuariosConsola SET Rol = ?, FechaActualizacion = ?, VersionSesion = VersionSesion + 1 WHERE Usuario = ?",
)
sentencias.registrar(
    "usuarios.desactivar",
    tsql=("UPDATE dbo.UsuariosConsola SET Activo = 0, FechaActualizacion = ?, VersionSesion = VersionSesion + 1 "
          "WHERE Usuario = ?"),
    sqlite=("UPDATE UsuariosConsola SET Activo = 0, FechaActualizacion = ?, VersionSesion = VersionSesion + 1 "
            "WHERE Usuario = ?"),
)
sentencias.registrar(
    "usuarios.cambiar_clave",
    tsql=("UPDATE dbo.UsuariosConsola SET HashClave = ?, Activo = 1, IntentosFallidos = 0, BloqueadoHasta = NULL, "
          "FechaActualizacion = ?, VersionSesion = VersionSesion + 1 WHERE Usuario = ?"),
    sqlite=("UPDATE UsuariosConsola SET HashClave = ?, Activo = 1, IntentosFallidos = 0, BloqueadoHasta = NULL, "
            "FechaActualizacion = ?, VersionSesion = VersionSesion + 1 WHERE Usuario = ?"),
)
# Sign-out of a local user: every open session of that user (other browsers, copied cookies) ends.
sentencias.registrar(
    "usuarios.cerrar_sesiones",
    tsql="UPDATE dbo.UsuariosConsola SET VersionSesion = VersionSesion + 1 WHERE Usuario = ?",
    sqlite="UPDATE UsuariosConsola SET VersionSesion = VersionSesion + 1 WHERE Usuario = ?",
)
# A failure counted atomically in the row (parallel wrong passwords each count): a row still locked
# is left alone; a lock-out that ran out starts a fresh series; reaching the limit (first ?) sets
# BloqueadoHasta (second ?). Parameters: limit, locked until, user, now.
_SUMA = "CASE WHEN BloqueadoHasta IS NULL THEN COALESCE(IntentosFallidos, 0) + 1 ELSE 1 END"
_FALLO = (f"SET IntentosFallidos = {_SUMA}, BloqueadoHasta = CASE WHEN {_SUMA} >= ? THEN ? ELSE NULL END "
          "WHERE Usuario = ? AND (BloqueadoHasta IS NULL OR BloqueadoHasta <= ?)")
sentencias.registrar(
    "usuarios.sumar_fallo",
    tsql=f"UPDATE dbo.UsuariosConsola {_FALLO}",
    sqlite=f"UPDATE UsuariosConsola {_FALLO}",
)
# A success is stored only if the row is still active and unlocked at that instant (a lock-out set
# by a parallel failure while the password was being verified wins). Parameters: now, user, now.
_EXITO = ("SET IntentosFallidos = 0, BloqueadoHasta = NULL, UltimoAcceso = ? "
          "WHERE Usuario = ? AND Activo = 1 AND (BloqueadoHasta IS NULL OR BloqueadoHasta <= ?)")
sentencias.registrar(
    "usuarios.anotar_acceso",
    tsql=f"UPDATE dbo.UsuariosConsola {_EXITO}",
    sqlite=f"UPDATE UsuariosConsola {_EXITO}",
)

def normalizar(usuario: str | None) -> str:
    """The stored form of a user name: stripped and lower-case."""
    return (usuario or "").strip().lower()


def problema_usuario(usuario: str) -> str | None:
    """Why ``usuario`` (normalised) cannot be a console user name (Spanish), or None."""
    if not usuario:
        return "el nombre de usuario no puede estar vacío"
    if len(usuario) > MAX_USUARIO:
        return f"el nombre de usuario admite como máximo {MAX_USUARIO} caracteres"
    if not _USUARIO_VALIDO.match(usuario):
        return "el nombre de usuario solo admite letras a-z, dígitos y . _ @ - (empezando por letra o dígito)"
    return None


#: What the log shows instead of a sign-in name that is not a possible user name (it may be a password).
NO_RECONOCIDO = "(usuario no reconocido)"


def nombre_de_login_aceptable(usuario: str | None) -> bool:
    """False for a sign-in name no account can have and that must not reach a log or a directory:
    empty, longer than :data:`MAX_USUARIO`, or with control/format characters (line breaks, bidi
    overrides...)."""
    import unicodedata

    texto = usuario or ""
    return 0 < len(texto.strip()) <= MAX_USUARIO and not any(unicodedata.category(c)[0] == "C" for c in texto)


def para_log(usuario: str | None) -> str:
    """A sign-in name as the log may show it: the name when it has the form of a user name (a
    typed password usually does not), else :data:`NO_RECONOCIDO`."""
    nombre = normalizar(usuario)
    if nombre and len(nombre) <= MAX_USUARIO and _USUARIO_VALIDO.fullmatch(nombre):
        return nombre
    return NO_RECONOCIDO


def publico(fila: dict | None) -> dict | None:
    """A user row without its hash (for listings, JSON and audit)."""
    if fila is None:
        return None
    return {k: v for k, v in fila.items() if k != "HashClave"}


def consultar(db: Any, usuario: str) -> dict | None:
    return db.query_one(sentencias.sql(db, "usuarios.consultar"), (normalizar(usuario),))


def listar(db: Any) -> list[dict]:
    return [publico(f) for f in db.query(sentencias.sql(db, "usuarios.listar"))]


def _gestion(db: Any, actor: Actor, accion: str, usuario: str, cambio: Any, ahora: datetime | None,
             id_formulario: str | None = None) -> Any:
    """Run one management change: role check, ``cambio(tx, fila, momento)`` returning the new row
    (or raising :class:`OperacionRechazada`), audit row, all in one transaction. A console form
    already applied (``id_formulario``) returns :class:`formularios.YaAplicado`, writing nothing."""
    nombre = normalizar(usuario)
    base = (ahora or datetime.now()).replace(tzinfo=None)
    momento = base.replace(microsecond=base.microsecond // 1000 * 1000)

    def unidad(tx: Any) -> dict | OperacionRechazada:
        fila = tx.query_one(sentencias.sql(tx, "usuarios.leer"), (nombre,))
        try:
            if actor.rol != ROL_GESTION:
                raise PermisoDenegado(f"Solo un administrador puede gestionar usuarios de la consola (usuario "
                                      f"{actor.usuario}, rol {actor.rol}).")
            ya = formularios.previo(tx, id_formulario)
            if ya is not None:
                return ya
            despues = cambio(tx, fila, momento)
        except OperacionRechazada as rechazo:
            auditoria.registrar(tx, actor, accion=accion, entidad=ENTIDAD, entidad_id=nombre, antes=publico(fila),
                                despues={"Motivo": rechazo.mensaje}, resultado=auditoria.RECHAZADO, ahora=momento)
            return rechazo
        auditoria.registrar(tx, actor, accion=accion, entidad=ENTIDAD, entidad_id=nombre, antes=publico(fila),
                            despues=publico(despues), resultado=auditoria.OK, ahora=momento,
                            id_formulario=id_formulario)
        return publico(despues) or {}

    resultado = formularios.aplicar_una_vez(db, id_formulario, lambda: db.run_in_transaction(unidad))
    if isinstance(resultado, OperacionRechazada):
        raise resultado
    return resultado


def _exigir(fila: dict | None, usuario: str) -> dict:
    if fila is None:
        raise OperacionRechazada(f"No existe el usuario de la consola «{usuario}».")
    return fila


def _exigir_rol(rol: str) -> None:
    if rol not in ROLES:
        raise OperacionRechazada(f"Rol desconocido «{rol}»: se esperaba uno de {', '.join(ROLES)}.")


def _releer(tx: Any, nombre: str) -> dict:
    return tx.query_one(sentencias.sql(tx, "usuarios.leer"), (nombre,))


def crear(db: Any, actor: Actor, usuario: str, rol: str, hash_clave: str, *, nombre: str | None = None,
          ahora: datetime | None = None, id_formulario: str | None = None) -> Any:
    """Create an active user. ``hash_clave`` comes from :func:`consola.claves.hashear`. The same
    console form sent again (``id_formulario``) returns :class:`formularios.YaAplicado` instead of
    "ya existe"."""
    clave_usuario = normalizar(usuario)
    nombre = (nombre or "").strip() or None

    def cambio(tx: Any, fila: dict | None, momento: datetime) -> dict:
        problema = problema_usuario(clave_usuario)
        if problema:
            raise OperacionRechazada(f"Usuario no válido: {problema}.")
        _exigir_rol(rol)
        if nombre is not None and len(nombre) > MAX_NOMBRE:
            raise OperacionRechazada(f"El nombre admite como máximo {MAX_NOMBRE} caracteres.")
        if fila is not None:
            raise OperacionRechazada(f"Ya existe el usuario de la consola «{clave_usuario}».")
        sentencias.ejecutar(tx, "usuarios.insertar", (clave_usuario, nombre, hash_clave, rol, momento, momento))
        return _releer(tx, clave_usuario)

    return _gestion(db, actor, "crear_usuario", clave_usuario, cambio, ahora, id_formulario)


def cambiar_rol(db: Any, actor: Actor, usuario: str, rol: str, *, ahora: datetime | None = None) -> dict:
    def cambio(tx: Any, fila: dict | None, momento: datetime) -> dict:
        _exigir(fila, normalizar(usuario))
        _exigir_rol(rol)
        sentencias.ejecutar(tx, "usuarios.cambiar_rol", (rol, momento, normalizar(usuario)))
        return _releer(tx, normalizar(usuario))

    return _gestion(db, actor, "cambiar_rol", usuario, cambio, ahora)


def desactivar(db: Any, actor: Actor, usuario: str, *, ahora: datetime | None = None) -> dict:
    """Deactivate: the user can no longer sign in and open sessions end at their next request."""
    def cambio(tx: Any, fila: dict | None, momento: datetime) -> dict:
        _exigir(fila, normalizar(usuario))
        sentencias.ejecutar(tx, "usuarios.desactivar", (momento, normalizar(usuario)))
        return _releer(tx, normalizar(usuario))

    return _gestion(db, actor, "desactivar_usuario", usuario, cambio, ahora)


def cambiar_clave(db: Any, actor: Actor, usuario: str, hash_clave: str, *, ahora: datetime | None = None) -> dict:
    """Set a new password; this also reactivates the user and lifts a lock-out."""
    def cambio(tx: Any, fila: dict | None, momento: datetime) -> dict:
        _exigir(fila, normalizar(usuario))
        sentencias.ejecutar(tx, "usuarios.cambiar_clave", (hash_clave, momento, normalizar(usuario)))
        return _releer(tx, normalizar(usuario))

    return _gestion(db, actor, "cambiar_clave", usuario, cambio, ahora)


# ------------------------------------------------------------------------------ sign-in bookkeeping


def para_login(db: Any, usuario: str) -> dict | None:
    """The row a sign-in checks (with its hash), or None."""
    return db.query_one(sentencias.sql(db, "usuarios.consultar"), (normalizar(usuario),))


def anotar_fallo(db: Any, usuario: str, *, intentos_bloqueo: int, bloqueo_min: int, ip: str | None,
                 ahora: datetime) -> tuple[dict | None, bool]:
    """Count one failed sign-in in the row itself (atomic: N parallel failures count N) and return
    the row after it (None: no such user) and whether this failure started a lock-out. The failure that reaches ``intentos_bloqueo`` locks the
    account for ``bloqueo_min`` minutes and is audited; failures while locked change nothing."""
    nombre = normalizar(usuario)
    momento = ahora.replace(tzinfo=None)
    hasta = bloqueo_hasta(momento, bloqueo_min)

    def unidad(tx: Any) -> tuple[dict | None, bool]:
        contadas = sentencias.ejecutar(tx, "usuarios.sumar_fallo", (int(intentos_bloqueo), hasta, nombre, momento))
        fila = _releer(tx, nombre)
        bloquea = bool(contadas) and fila is not None and fila.get("BloqueadoHasta") is not None
        if bloquea:
            auditoria.registrar(tx, Actor(nombre, None, ip), accion="bloquear_cuenta", entidad=ENTIDAD,
                                entidad_id=nombre, antes=None,
                                despues={"IntentosFallidos": fila["IntentosFallidos"],
                                         "BloqueadoHasta": fila["BloqueadoHasta"]},
                                resultado=auditoria.OK, ahora=momento)
        return fila, bloquea

    return db.run_in_transaction(unidad)


def anotar_exito(db: Any, usuario: str, *, ahora: datetime) -> bool:
    """Record a sign-in; False when the row is (by now) inactive or locked: the sign-in is refused."""
    momento = ahora.replace(tzinfo=None)
    return sentencias.ejecutar(db, "usuarios.anotar_acceso", (momento, normalizar(usuario), momento)) == 1


def cerrar_sesiones(db: Any, usuario: str) -> None:
    """End every open session of ``usuario`` (their stored version no longer matches the row)."""
    sentencias.ejecutar(db, "usuarios.cerrar_sesiones", (normalizar(usuario),))


def bloqueo_hasta(ahora: datetime, minutos: int) -> datetime:
    return (ahora + timedelta(minutes=minutos)).replace(tzinfo=None)
