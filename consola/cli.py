"""``python -m consola``: without a command, the console service; ``usuarios`` manages console users
(CONSOLE §2):

    python -m consola usuarios crear NOMBRE --rol administrador [--nombre "Nombre Apellido"]
    python -m consola usuarios rol NOMBRE operador
    python -m consola usuarios desactivar NOMBRE
    python -m consola usuarios clave NOMBRE
    python -m consola usuarios listar [--json]

The password (``crear``, ``clave``) is read once from standard input when it is not a terminal, and
asked twice (hidden) on a terminal. Output in Spanish. Exit codes: 0 done; 1 refused or failed (the
reason on stderr); 2 wrong arguments or settings, or a password that is missing, does not repeat or
is not acceptable (too short...). Changes are audited as ``cli:<OS user>`` with the
``administrador`` role: whoever can run this on the server with the SAM settings administers the console.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

from common.cli import ParserSAM, ejecutar_servicio
from common.operaciones.auditoria import ROLES, Actor

DESCRIPCION = ("SAM Consola: consola web de operación (Flask + waitress). Sin orden, arranca el servicio; "
               "«usuarios» gestiona los usuarios locales de la consola.")


def construir_parser(prog: str) -> ParserSAM:
    parser = ParserSAM(prog, DESCRIPCION, epilog="Sin orden, arranca el servicio con la configuración de los "
                                                 "archivos .env y del entorno (ver .env.example).")
    ordenes = parser.add_subparsers(dest="orden", title="órdenes", metavar="ORDEN", parser_class=ParserSAM)
    usuarios = ordenes.add_parser("usuarios", help="gestiona los usuarios locales de la consola",
                                  description="Gestiona los usuarios locales de la consola (tabla UsuariosConsola).")
    sub = usuarios.add_subparsers(dest="accion", title="acciones", metavar="ACCION", required=True,
                                  parser_class=ParserSAM)
    crear = sub.add_parser("crear", help="crea un usuario (pide la clave)", description="Crea un usuario activo; "
                           "la clave se lee de la entrada estándar o se pide dos veces en un terminal.")
    crear.add_argument("usuario", metavar="NOMBRE", help="nombre de usuario (se guarda en minúsculas)")
    crear.add_argument("--rol", required=True, choices=ROLES, help="rol: lector, operador o administrador")
    crear.add_argument("--nombre", default=None, help="nombre para mostrar, p. ej. «Ana Pérez»")
    rol = sub.add_parser("rol", help="cambia el rol de un usuario", description="Cambia el rol de un usuario.")
    rol.add_argument("usuario", metavar="NOMBRE")
    rol.add_argument("rol", metavar="ROL", choices=ROLES, help="lector, operador o administrador")
    desactivar = sub.add_parser("desactivar", help="desactiva un usuario (no podrá entrar)",
                                description="Desactiva un usuario: no puede entrar y sus sesiones terminan.")
    desactivar.add_argument("usuario", metavar="NOMBRE")
    clave = sub.add_parser("clave", help="cambia la clave (y reactiva y desbloquea el usuario)",
                           description="Cambia la clave de un usuario; también lo reactiva y lo desbloquea.")
    clave.add_argument("usuario", metavar="NOMBRE")
    listar = sub.add_parser("listar", help="lista los usuarios", description="Lista los usuarios de la consola.")
    listar.add_argument("--json", action="store_true", help="salida en JSON")
    from consola import cli_operaciones

    cli_operaciones.anadir_ordenes(ordenes, ParserSAM)
    from consola import cli_servicio

    cli_servicio.anadir(ordenes)  # ejecuciones destrabar, solicitudes, pausa (L8)
    return parser


def main(argv: list[str] | None = None, *, prog: str = "python -m consola") -> int:
    args = _analizar(construir_parser(prog), sys.argv[1:] if argv is None else list(argv))
    if args.orden is None:
        from consola import servicio

        return ejecutar_servicio("Consola", servicio.ejecutar)
    from consola import cli_servicio

    if args.orden in cli_servicio.ORDENES:
        return cli_servicio.ejecutar(args, _config())
    if args.orden != "usuarios":
        return ejecutar_operaciones(args)
    return ejecutar_usuarios(args)


def _analizar(parser: ParserSAM, argv: list[str]) -> Any:
    """``parser.parse_args(argv)``; a wrong argument of a command run with ``--json`` also prints
    its one JSON object (``estado`` ``error``) on stdout before exiting 2."""
    import contextlib
    import io

    if "--json" not in argv:
        return parser.parse_args(argv)
    errores = io.StringIO()
    try:
        with contextlib.redirect_stderr(errores):
            return parser.parse_args(argv)
    except SystemExit as salida:
        texto = errores.getvalue()
        sys.stderr.write(texto)
        if salida.code not in (0, None):
            lineas = [linea for linea in texto.splitlines() if "error:" in linea] or texto.splitlines() or [""]
            mensaje = lineas[0].split("error: ", 1)[-1]
            print(json.dumps({"estado": "error", "mensaje": mensaje}, ensure_ascii=False, indent=2))
        raise


def ejecutar_operaciones(args: Any) -> int:
    """The operations commands (consola/cli_operaciones.py), audited as ``cli:<OS user>``."""
    from common.database.schema import ensure_schema
    from common.database.sql_client import DatabaseClient, DatabaseError
    from consola import cli_operaciones

    cfg = _config()
    db = DatabaseClient.from_config(cfg, "SAM")
    try:
        ensure_schema(db)
        return cli_operaciones.ejecutar_protegido(args, _actor(), db, cfg)
    except DatabaseError as exc:
        return _error_bd(args, exc)
    finally:
        db.close_all()


def _config() -> Any:
    """The console's settings for the commands: the session key is not needed to manage users, so a
    placeholder stands in for it (the real one is never read or shown here)."""
    import os

    from common.utils.config_manager import load_config_or_exit

    return load_config_or_exit("consola", {**os.environ, "CONSOLA_SECRETO": "-" * 32})


def leer_clave(entrada: Any = None) -> str:
    """The new password: one line of ``entrada`` (stdin) when it is not a terminal, else asked
    twice. Raises ValueError (Spanish) when it is missing, does not repeat or is not acceptable."""
    from consola import claves

    entrada = entrada or sys.stdin
    if entrada.isatty():
        primera = getpass.getpass("Clave nueva: ")
        if getpass.getpass("Repita la clave: ") != primera:
            raise ValueError("las dos claves no coinciden")
    else:
        primera = entrada.readline().rstrip("\r\n")
    if not primera:
        raise ValueError("no se recibió ninguna clave")
    problema = claves.problema_clave(primera)
    if problema:
        raise ValueError(problema)
    return primera


def _actor() -> Actor:
    try:
        quien = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in this environment
        quien = "desconocido"
    return Actor(f"cli:{quien}", "administrador", None)


def ejecutar_usuarios(args: Any) -> int:
    from common.database.schema import ensure_schema
    from common.database.sql_client import DatabaseClient, DatabaseError
    from common.operaciones import usuarios
    from common.operaciones.programaciones import OperacionRechazada
    from consola import claves
    from consola.cli_comun import ahora_sam

    cfg = _config()
    ahora = ahora_sam(cfg)
    db = DatabaseClient.from_config(cfg, "SAM")
    try:
        ensure_schema(db)
        if args.accion == "listar":
            return _listar(usuarios.listar(db), args.json)
        if args.accion in ("crear", "clave"):
            try:
                hash_clave = claves.hashear(leer_clave())
            except ValueError as exc:
                print(f"Clave no válida: {exc}.", file=sys.stderr)
                return 2  # bad input, like a wrong argument
        if args.accion == "crear":
            fila = usuarios.crear(db, _actor(), args.usuario, args.rol, hash_clave, nombre=args.nombre, ahora=ahora)
            print(f"Usuario «{fila['Usuario']}» creado con el rol {fila['Rol']}.")
        elif args.accion == "rol":
            fila = usuarios.cambiar_rol(db, _actor(), args.usuario, args.rol, ahora=ahora)
            print(f"Usuario «{fila['Usuario']}»: rol {fila['Rol']}.")
        elif args.accion == "desactivar":
            fila = usuarios.desactivar(db, _actor(), args.usuario, ahora=ahora)
            print(f"Usuario «{fila['Usuario']}» desactivado.")
        else:
            fila = usuarios.cambiar_clave(db, _actor(), args.usuario, hash_clave, ahora=ahora)
            print(f"Clave de «{fila['Usuario']}» cambiada; el usuario queda activo y desbloqueado.")
        return 0
    except OperacionRechazada as exc:
        print(f"No se hizo el cambio: {exc.mensaje}", file=sys.stderr)
        return 1
    except DatabaseError as exc:
        return _error_bd(args, exc)
    finally:
        db.close_all()


def _error_bd(args: Any, exc: Exception) -> int:
    from consola import cli_comun

    mensaje = f"No se pudo usar la base de datos SAM: {exc}"
    if getattr(args, "json", False):
        cli_comun.imprimir_json(cli_comun.ERROR, mensaje)
    print(mensaje, file=sys.stderr)
    return 1


def _listar(filas: list[dict], como_json: bool) -> int:
    if como_json:
        from consola import cli_comun

        cli_comun.imprimir_json(cli_comun.OK, **cli_comun.listado(filas, "usuarios"))
        return 0
    if not filas:
        print("No hay usuarios de la consola. Cree el primero con: python -m consola usuarios crear NOMBRE "
              "--rol administrador")
        return 0
    print(f"{'USUARIO':<24} {'ROL':<14} {'ACTIVO':<7} {'ÚLTIMO ACCESO':<20} NOMBRE")
    for f in filas:
        acceso = str(f.get("UltimoAcceso") or "-")[:19]
        print(f"{f['Usuario']:<24} {f['Rol']:<14} {'sí' if f['Activo'] else 'no':<7} {acceso:<20} {f.get('Nombre') or ''}")
    return 0
