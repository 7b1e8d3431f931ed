"""``python -m consola`` operations commands (CONSOLE §4): the operator tasks without a browser, through
the same operations module as the console (same validation, same audit):

    python -m consola robots listar|mostrar ID|cambiar ID --MinEquipos 2 [--version-leida V]
    python -m consola equipos listar|cambiar ID --Activo_SAM no
    python -m consola asignaciones listar|reservar ROBOT EQUIPO...|liberar ROBOT EQUIPO...
    python -m consola pools listar|crear NOMBRE|cambiar ID --Nombre X|eliminar ID|mover ID|general --robots 1 2
    python -m consola mapeos listar|crear PROVEEDOR NOMBRE ROBOT|eliminar ID
    python -m consola programaciones listar|crear --RobotId 1 --TipoProgramacion Diaria ... --equipos 10 11
                                      |cambiar ID --HoraInicio 09:00|activar ID|desactivar ID|eliminar ID
    python -m consola ajustes listar|cambiar CLAVE VALOR

Exit codes: 0 done (also "ya aplicado"); 1 refused (the Spanish reason on stderr; the attempt is
audited); 2 wrong arguments (each typed option says, in Spanish, which option and what form it
expects). ``--json`` prints exactly one JSON object on stdout in every case: ``estado``
(``aplicado``/``ya_aplicado``/``sin_cambios`` for a change, ``ok`` for a listing, whose rows are in
``filas``, ``rechazado`` or ``error``) and ``mensaje``. Times are SAM's (``SAM_ZONA_HORARIA``), never
the OS zone's. Changes are audited as
``cli:<OS user>`` with the ``administrador`` role, like the ``usuarios`` commands. ``--version-leida``
(the form's ``version`` field: ``FechaActualizacion`` shown by ``mostrar``/``listar``) makes a change refuse if the row changed
since; without it the change applies over whatever is there (scripts).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from common.operaciones import edicion, equipos, pools, robots
from common.programacion import Programacion
from consola import cli_comun as comun
from consola.cli_comun import entero

ORDENES = ("robots", "equipos", "asignaciones", "pools", "mapeos", "programaciones", "ajustes")
_COLS_PROGRAMACION = [c for c in Programacion.__dataclass_fields__ if c not in ("ProgramacionId",)]


def _sub(ordenes: Any, nombre: str, ayuda: str, parser_class: Any) -> Any:
    p = ordenes.add_parser(nombre, help=ayuda, description=ayuda[:1].upper() + ayuda[1:] + ".")
    return p.add_subparsers(dest="accion", title="acciones", metavar="ACCION", required=True, parser_class=parser_class)


def _accion(sub: Any, nombre: str, ayuda: str, *, json_: bool = True) -> Any:
    p = sub.add_parser(nombre, help=ayuda, description=ayuda[:1].upper() + ayuda[1:] + ".")
    if json_:
        p.add_argument("--json", action="store_true", help="salida en JSON")
    return p


def _columnas(p: Any, columnas: dict[str, Any], *, version: bool = True) -> None:
    """One ``--Columna`` option per column, parsed by ``columnas[c]`` (cli_comun: Spanish errors)."""
    for c, tipo in columnas.items():
        p.add_argument(f"--{c}", dest=f"col_{c}", default=None, metavar="VALOR", type=tipo,
                       help=f"nuevo valor de {c}")
    if version:
        p.add_argument("--version-leida", dest="version", default=None, metavar="FECHA", type=comun.version,
                      help="FechaActualizacion que se leyó (rechaza el cambio si la fila cambió desde entonces)")


def _tipos(campos: dict[str, str]) -> dict[str, Any]:
    return {c: comun.POR_TIPO[t] for c, t in campos.items()}


def _tipos_programacion(sin: str) -> dict[str, Any]:
    campos = Programacion.__dataclass_fields__
    return {c: comun.de_anotacion(campos[c].type) for c in _COLS_PROGRAMACION if c != sin}


def anadir_ordenes(ordenes: Any, parser_class: Any) -> None:
    """Add the operations commands to ``python -m consola``'s sub-command parser."""
    sub = _sub(ordenes, "robots", "ajustes de los robots (columnas del operador)", parser_class)
    _accion(sub, "listar", "lista los robots")
    _accion(sub, "mostrar", "muestra un robot").add_argument("id", type=entero, metavar="ROBOT_ID")
    p = _accion(sub, "cambiar", "cambia ajustes de un robot")
    p.add_argument("id", type=entero, metavar="ROBOT_ID")
    _columnas(p, _tipos(robots.CAMPOS))
    sub = _sub(ordenes, "equipos", "ajustes de los equipos (columnas del operador)", parser_class)
    _accion(sub, "listar", "lista los equipos")
    p = _accion(sub, "cambiar", "cambia ajustes de un equipo")
    p.add_argument("id", type=entero, metavar="EQUIPO_ID")
    _columnas(p, _tipos(equipos.CAMPOS))
    sub = _sub(ordenes, "asignaciones", "asignaciones manuales (reservadas) de robots a equipos", parser_class)
    _accion(sub, "listar", "lista todas las asignaciones")
    for nombre, ayuda in (("reservar", "reserva equipos para un robot"), ("liberar", "libera equipos reservados")):
        p = _accion(sub, nombre, ayuda)
        p.add_argument("robot", type=entero, metavar="ROBOT_ID")
        p.add_argument("equipos", type=entero, nargs="+", metavar="EQUIPO_ID")
    _pools_y_mapeos(ordenes, parser_class)
    _programaciones_y_ajustes(ordenes, parser_class)


def _pools_y_mapeos(ordenes: Any, parser_class: Any) -> None:
    sub = _sub(ordenes, "pools", "pools de robots y equipos (administrador)", parser_class)
    _accion(sub, "listar", "lista los pools")
    p = _accion(sub, "crear", "crea un pool activo")
    p.add_argument("nombre", metavar="NOMBRE")
    p.add_argument("--descripcion", default=None)
    p = _accion(sub, "cambiar", "renombra, describe, activa o desactiva un pool")
    p.add_argument("id", type=entero, metavar="POOL_ID")
    _columnas(p, _tipos(pools.CAMPOS))
    _accion(sub, "eliminar", "elimina un pool vacío").add_argument("id", type=entero, metavar="POOL_ID")
    p = _accion(sub, "mover", "pasa robots o equipos a un pool («general»: al pool general)")
    p.add_argument("id", metavar="POOL_ID|general")
    p.add_argument("--robots", type=entero, nargs="*", default=[], metavar="ROBOT_ID")
    p.add_argument("--equipos", type=entero, nargs="*", default=[], metavar="EQUIPO_ID")
    sub = _sub(ordenes, "mapeos", "mapeo de nombres de las fuentes de tickets a robots (administrador)", parser_class)
    _accion(sub, "listar", "lista los mapeos")
    p = _accion(sub, "crear", "crea un mapeo")
    p.add_argument("proveedor", metavar="PROVEEDOR", help="rpa360 o clouders")
    p.add_argument("nombre", metavar="NOMBRE_EXTERNO")
    p.add_argument("robot", type=entero, metavar="ROBOT_ID")
    _accion(sub, "eliminar", "elimina un mapeo").add_argument("id", type=entero, metavar="MAPEO_ID")


def _programaciones_y_ajustes(ordenes: Any, parser_class: Any) -> None:
    sub = _sub(ordenes, "programaciones", "programaciones de robots (con su comprobación de solapes)", parser_class)
    _accion(sub, "listar", "lista las programaciones y sus equipos")
    p = _accion(sub, "crear", "crea una programación en unos equipos")
    _columnas(p, _tipos_programacion("Activo"), version=False)
    p.add_argument("--equipos", type=entero, nargs="+", required=True, metavar="EQUIPO_ID")
    p.add_argument("--forzar", action="store_true", help="guarda aunque se solape (sólo administrador)")
    p = _accion(sub, "cambiar", "cambia la definición de una programación")
    p.add_argument("id", type=entero, metavar="PROGRAMACION_ID")
    _columnas(p, _tipos_programacion("RobotId"))
    p.add_argument("--forzar", action="store_true", help="guarda aunque se solape (sólo administrador)")
    for nombre, ayuda in (("activar", "reactiva una programación"), ("desactivar", "desactiva una programación"),
                          ("eliminar", "elimina una programación y sus asignaciones propias")):
        _accion(sub, nombre, ayuda).add_argument("id", type=entero, metavar="PROGRAMACION_ID")
    sub = _sub(ordenes, "ajustes", "ajustes cambiados sin reiniciar (ConfiguracionSistema)", parser_class)
    _accion(sub, "listar", "lista los ajustes que se pueden cambiar y su valor en la base de datos")
    p = _accion(sub, "cambiar", "cambia un ajuste (valor vacío: vuelve al del entorno)")
    p.add_argument("clave", metavar="CLAVE")
    p.add_argument("valor", metavar="VALOR")


# --------------------------------------------------------------------------------------------
# Running them
# --------------------------------------------------------------------------------------------
def _cambios(args: Any) -> dict[str, Any]:
    return {k[4:]: v for k, v in vars(args).items() if k.startswith("col_") and v is not None}


def _salida(datos: Any, como_json: bool, texto: str) -> int:
    """Print ``texto``, or under ``--json`` one object: a listing as ``filas``, a row's columns
    next to ``estado`` (``ok`` unless the operation said ``aplicado``/``ya_aplicado``...)."""
    if not como_json:
        print(texto)
    elif isinstance(datos, list):
        comun.imprimir_json(comun.OK, **comun.listado(datos, "filas"))
    else:
        datos = dict(datos)
        comun.imprimir_json(datos.pop("estado", comun.OK), datos.pop("mensaje", None) or texto, **datos)
    return 0



def _tabla(filas: list[dict[str, Any]], columnas: list[str]) -> str:
    if not filas:
        return "(ninguno)"
    valores = [[_celda(f.get(c)) for c in columnas] for f in filas]
    anchos = [max(len(c), *(len(v[i]) for v in valores)) for i, c in enumerate(columnas)]
    lineas = ["  ".join(c.ljust(a) for c, a in zip(columnas, anchos, strict=True))]
    lineas += ["  ".join(v.ljust(a) for v, a in zip(fila, anchos, strict=True)) for fila in valores]
    return "\n".join(lineas)


def _celda(valor: Any) -> str:
    if valor is None:
        return "-"
    return comun.a_texto(valor) if not isinstance(valor, str) else valor


def _resultado(r: edicion.Resultado, como_json: bool) -> int:
    return _salida(r.como_dict(), como_json, r.mensaje)


def ejecutar(args: Any, actor: Any, db: Any, cfg: Any) -> int:
    """Run one operations command; exit code (0 done, 1 refused)."""
    ahora = comun.ahora_sam(cfg)
    como_json = getattr(args, "json", False)
    manejador = {"robots": _robots, "equipos": _equipos, "asignaciones": _asignaciones, "pools": _pools,
                 "mapeos": _mapeos, "programaciones": _programaciones, "ajustes": _ajustes}[args.orden]
    return manejador(args, actor, db, ahora, como_json, cfg)


def _robots(args: Any, actor: Any, db: Any, ahora: datetime, como_json: bool, cfg: Any) -> int:
    if args.accion == "listar":
        filas = robots.listar(db)
        return _salida(filas, como_json, _tabla(filas, ["RobotId", "Robot", "Activo", "EsOnline", "MinEquipos",
                                                        "MaxEquipos", "PrioridadBalanceo", "Pool",
                                                        "FechaActualizacion"]))
    if args.accion == "mostrar":
        fila = robots.mostrar(db, args.id)
        if fila is None:
            if como_json:
                comun.imprimir_json(comun.RECHAZADO, f"El robot {args.id} no existe.")
            print(f"El robot {args.id} no existe.", file=sys.stderr)
            return 1
        return _salida(fila, como_json, "\n".join(f"{k}: {_celda(v)}" for k, v in fila.items()))
    return _resultado(robots.cambiar(db, actor, args.id, _obligatorios(args), ahora=ahora,
                                     version=edicion.leer_version(args.version)), como_json)


def _obligatorios(args: Any) -> dict[str, Any]:
    cambios = _cambios(args)
    if not cambios:
        raise _ArgumentoMalo("indique al menos un valor que cambiar (p. ej. --MinEquipos 2)")
    return cambios


class _ArgumentoMalo(Exception):
    pass


def _equipos(args: Any, actor: Any, db: Any, ahora: datetime, como_json: bool, cfg: Any) -> int:
    if args.accion == "listar":
        filas = equipos.listar(db)
        return _salida(filas, como_json, _tabla(filas, ["EquipoId", "Equipo", "Licencia", "EstadoA360", "Activo_SAM",
                                                        "PermiteBalanceoDinamico", "Pool", "FechaActualizacion"]))
    return _resultado(equipos.cambiar(db, actor, args.id, _obligatorios(args), ahora=ahora,
                                      version=edicion.leer_version(args.version)), como_json)


def _asignaciones(args: Any, actor: Any, db: Any, ahora: datetime, como_json: bool, cfg: Any) -> int:
    from common.operaciones import asignaciones

    if args.accion == "listar":
        filas = asignaciones.listar(db)
        return _salida(filas, como_json, _tabla(filas, ["RobotId", "Robot", "EquipoId", "Equipo", "EsProgramado",
                                                        "Reservado", "AsignadoPor", "ProgramacionId"]))
    hacer = asignaciones.reservar if args.accion == "reservar" else asignaciones.liberar
    return _resultado(hacer(db, actor, args.robot, args.equipos, ahora=ahora), como_json)


def _pools(args: Any, actor: Any, db: Any, ahora: datetime, como_json: bool, cfg: Any) -> int:
    from common.operaciones import pools

    if args.accion == "listar":
        filas = pools.listar(db)
        return _salida(filas, como_json, _tabla(filas, ["PoolId", "Nombre", "Activo", "Robots", "Equipos",
                                                        "FechaActualizacion", "Descripcion"]))
    if args.accion == "crear":
        return _resultado(pools.crear(db, actor, args.nombre, descripcion=args.descripcion, ahora=ahora), como_json)
    if args.accion == "cambiar":
        return _resultado(pools.cambiar(db, actor, args.id, _obligatorios(args), ahora=ahora,
                                        version=edicion.leer_version(args.version)), como_json)
    if args.accion == "eliminar":
        return _resultado(pools.eliminar(db, actor, args.id, ahora=ahora), como_json)
    destino = None if args.id.strip().lower() == "general" else _entero(args.id, "POOL_ID")
    return _resultado(pools.mover(db, actor, destino, robots=args.robots, equipos=args.equipos, ahora=ahora),
                      como_json)


def _entero(texto: str, nombre: str) -> int:
    try:
        return int(texto)
    except ValueError:
        raise _ArgumentoMalo(f"{nombre} debe ser un número entero o «general», no {texto!r}") from None


def _mapeos(args: Any, actor: Any, db: Any, ahora: datetime, como_json: bool, cfg: Any) -> int:
    from common.operaciones import mapeos

    if args.accion == "listar":
        filas = mapeos.listar(db)
        return _salida(filas, como_json, _tabla(filas, ["MapeoId", "Proveedor", "NombreExterno", "RobotId", "Robot"]))
    if args.accion == "crear":
        return _resultado(mapeos.crear(db, actor, args.proveedor, args.nombre, args.robot, ahora=ahora), como_json)
    return _resultado(mapeos.eliminar(db, actor, args.id, ahora=ahora), como_json)


def _programaciones(args: Any, actor: Any, db: Any, ahora: datetime, como_json: bool, cfg: Any) -> int:
    from common.operaciones import programaciones as progs

    if args.accion == "listar":
        filas = progs.listar(db)
        for f in filas:
            f["Equipos"] = ", ".join(e["Equipo"] for e in f["Equipos"]) if not como_json else f["Equipos"]
        return _salida(filas, como_json, _tabla(filas, ["ProgramacionId", "Robot", "TipoProgramacion", "HoraInicio",
                                                        "HoraFin", "EsCiclico", "Activo", "Equipos",
                                                        "FechaActualizacion"]))
    if args.accion == "crear":
        p = Programacion.desde_fila(_cambios(args))
        pid = progs.crear(db, actor, p, args.equipos, ahora=ahora, forzar=args.forzar)
        return _salida({"estado": edicion.APLICADO, "ProgramacionId": pid}, como_json, f"Programación {pid} creada.")
    if args.accion == "cambiar":
        p = progs.modificar(db, actor, args.id, _obligatorios(args), ahora=ahora,
                            version=edicion.leer_version(args.version), forzar=args.forzar)
        return _salida({"estado": edicion.APLICADO, **p.como_fila()}, como_json, f"Programación {args.id} cambiada.")
    if args.accion == "eliminar":
        progs.eliminar(db, actor, args.id, ahora=ahora)
        return _salida({"estado": edicion.APLICADO}, como_json, f"Programación {args.id} eliminada.")
    hacer = progs.activar if args.accion == "activar" else progs.desactivar
    hacer(db, actor, args.id, ahora=ahora)
    verbo = "activada" if args.accion == "activar" else "desactivada"
    return _salida({"estado": edicion.APLICADO}, como_json, f"Programación {args.id} {verbo}.")


def _ajustes(args: Any, actor: Any, db: Any, ahora: datetime, como_json: bool, cfg: Any) -> int:
    from common.operaciones import ajustes
    from common.utils.ajustes_vivos import CLAVES_VIVAS, leer_filas

    if args.accion == "listar":
        filas_bd = leer_filas(db)
        filas = [{"Clave": c, "ValorEnBD": filas_bd.get(c)} for c in CLAVES_VIVAS]
        return _salida(filas, como_json, _tabla(filas, ["Clave", "ValorEnBD"]) +
                       "\n(- = sin fila: vale el del entorno, .env o el valor por defecto)")
    tipado = ajustes.escribir_ajuste(db, args.clave, args.valor, actor, cfg=cfg, ahora=ahora)
    texto = (f"Ajuste {args.clave.strip()} = {args.valor.strip()} guardado." if args.valor.strip()
             else f"Ajuste {args.clave.strip()} borrado de la base de datos: vuelve a valer el del entorno.")
    return _salida({"estado": edicion.APLICADO, "Clave": args.clave.strip(), "Valor": tipado}, como_json, texto)


def ejecutar_protegido(args: Any, actor: Any, db: Any, cfg: Any) -> int:
    """:func:`ejecutar` with the refusals turned into exit codes and Spanish messages."""
    from common.operaciones.programaciones import OperacionRechazada
    from common.utils.ajustes_vivos import AjusteNoValido

    como_json = getattr(args, "json", False)

    def fallo(estado: str, mensaje: str, texto: str, codigo: int, **datos: Any) -> int:
        if como_json:
            comun.imprimir_json(estado, mensaje, **datos)
        print(texto, file=sys.stderr)
        return codigo

    try:
        return ejecutar(args, actor, db, cfg)
    except AjusteNoValido as exc:
        return fallo(comun.RECHAZADO, str(exc), f"No se hizo el cambio: {exc}", 1, tipo=type(exc).__name__)
    except _ArgumentoMalo as exc:
        return fallo(comun.ERROR, str(exc), f"Argumentos no válidos: {exc}.", 2)
    except ValueError as exc:  # defensive: the options are parsed by cli_comun before this
        return fallo(comun.ERROR, str(exc), f"Argumentos no válidos: {exc}.", 2)
    except OperacionRechazada as exc:
        return fallo(comun.RECHAZADO, exc.mensaje, f"No se hizo el cambio: {exc.mensaje}", 1,
                     tipo=type(exc).__name__, diferencias=getattr(exc, "diferencias", None))
