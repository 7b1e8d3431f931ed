"""``python -m consola`` commands that act on the running services (rules L8.1-L8.3):

    python -m consola ejecuciones destrabar ID --motivo "..." [--forzar] [--json]
    python -m consola solicitudes crear sincronizar|balancear [--esperar SEG] [--json]
    python -m consola solicitudes listar [--json]
    python -m consola pausa hasta "YYYY-MM-DD HH:MM" [--json]
    python -m consola pausa reanudar [--json]

Output in Spanish. Exit codes: 0 done; 1 refused or failed (the reason on stderr; a request that
was not served within ``--esperar`` or failed is 1 too); 2 wrong arguments or settings. ``--json``
prints exactly one JSON object on stdout in every case (``estado``: ``ok``, ``rechazado`` or
``error``, with ``mensaje``). Changes are audited as ``cli:<OS user>`` with the ``operador`` role, at
SAM's time (``SAM_ZONA_HORARIA``), not the OS zone's.
"""

from __future__ import annotations

import getpass
import sys
from datetime import datetime
from typing import Any

from common.operaciones.auditoria import Actor
from consola import cli_comun as comun

ORDENES = ("ejecuciones", "solicitudes", "pausa")


def anadir(ordenes: Any) -> None:
    """Add the commands to ``python -m consola``'s subparsers."""
    from common.cli import ParserSAM

    def sub(orden: Any) -> Any:
        return orden.add_subparsers(dest="accion", title="acciones", metavar="ACCION", required=True,
                                    parser_class=ParserSAM)

    ejec = sub(ordenes.add_parser("ejecuciones", help="actúa sobre una ejecución",
                                  description="Acciones sobre las ejecuciones."))
    d = ejec.add_parser("destrabar", help="cierra una ejecución atascada como RUN_ABORTED y libera su equipo",
                        description="Cierra una ejecución abierta como RUN_ABORTED con el motivo indicado.")
    d.add_argument("ejecucion_id", type=comun.entero, metavar="ID")
    d.add_argument("--motivo", required=True, help="por qué se destraba (queda en MensajeError y en la auditoría)")
    d.add_argument("--forzar", action="store_true",
                   help="destraba también una ejecución LANZANDO más reciente que LANZADOR_LANZANDO_TIMEOUT_SEG "
                        "(su despliegue puede seguir en curso; queda auditado como forzado)")
    d.add_argument("--json", action="store_true", help="salida en JSON")

    sol = sub(ordenes.add_parser("solicitudes", help="pide trabajo inmediato a los servicios",
                                 description="Solicitudes a los servicios en marcha."))
    c = sol.add_parser("crear", help="sincronizar ahora (Lanzador) o balancear ahora (Balanceador)",
                       description="Pide al líder del servicio que lo haga ahora.")
    c.add_argument("tipo", choices=("sincronizar", "balancear"))
    c.add_argument("--esperar", type=comun.segundos, default=0.0, metavar="SEG",
                   help="espera hasta SEG segundos al resultado y lo muestra")
    c.add_argument("--json", action="store_true", help="salida en JSON")
    li = sol.add_parser("listar", help="lista las últimas solicitudes", description="Lista las últimas solicitudes.")
    li.add_argument("--json", action="store_true", help="salida en JSON")

    pausa = sub(ordenes.add_parser("pausa", help="pausa o reanuda los lanzamientos",
                                   description="Pausa manual de los lanzamientos (LANZADOR_PAUSA_MANUAL_HASTA)."))
    h = pausa.add_parser("hasta", help="no lanza nada hasta esa fecha y hora (hora local de SAM)",
                         description="Pausa los lanzamientos hasta la fecha y hora indicadas.")
    h.add_argument("hasta", metavar='"AAAA-MM-DD HH:MM"', type=comun.fecha_hora)
    h.add_argument("--json", action="store_true", help="salida en JSON")
    r = pausa.add_parser("reanudar", help="quita la pausa manual", description="Quita la pausa manual.")
    r.add_argument("--json", action="store_true", help="salida en JSON")


def _actor() -> Actor:
    try:
        quien = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in this environment
        quien = "desconocido"
    return Actor(f"cli:{quien}", "operador", None)


def _salida(args: Any, datos: dict, texto: str, estado: str = comun.OK) -> None:
    if args.json:
        comun.imprimir_json(estado, texto, **datos)
    else:
        print(texto)


def _fallo(args: Any, estado: str, mensaje: str, texto: str) -> int:
    """A refusal or an error: the reason on stderr (and the JSON object under ``--json``); exit 1."""
    if getattr(args, "json", False):
        comun.imprimir_json(estado, mensaje)
    print(texto, file=sys.stderr)
    return 1


def ejecutar(args: Any, cfg: Any, ahora: datetime | None = None) -> int:
    """Run one of :data:`ORDENES` with the SAM DB of ``cfg`` at ``ahora`` (default: now in SAM's
    clock, :func:`consola.cli_comun.ahora_sam`)."""
    from common.database.schema import ensure_schema
    from common.database.sql_client import DatabaseClient, DatabaseError
    from common.operaciones.programaciones import OperacionRechazada

    momento = ahora or comun.ahora_sam(cfg)
    db = DatabaseClient.from_config(cfg, "SAM")
    try:
        ensure_schema(db)
        return _ORDENES[args.orden](db, args, cfg, momento)
    except OperacionRechazada as exc:
        return _fallo(args, comun.RECHAZADO, exc.mensaje, f"No se hizo: {exc.mensaje}")
    except DatabaseError as exc:
        mensaje = f"No se pudo usar la base de datos SAM: {exc}"
        return _fallo(args, comun.ERROR, mensaje, mensaje)
    finally:
        db.close_all()


def _ejecuciones(db: Any, args: Any, cfg: Any, ahora: datetime) -> int:
    from common.operaciones import ejecuciones
    from common.utils.config_manager import ajuste

    fila = ejecuciones.destrabar(db, _actor(), args.ejecucion_id, args.motivo, ahora=ahora, forzar=args.forzar,
                                 lanzando_timeout_seg=int(ajuste(cfg, "LANZADOR_LANZANDO_TIMEOUT_SEG")))
    _salida(args, fila, f"Ejecución {fila['EjecucionId']} destrabada: {fila['Estado']} "
                        f"(«{fila['MensajeError']}»); el equipo {fila['EquipoId']} queda libre para el próximo ciclo.")
    return 0


def _solicitudes(db: Any, args: Any, cfg: Any, ahora: datetime) -> int:
    from common.operaciones import solicitudes

    if args.accion == "listar":
        filas = solicitudes.listar(db)
        if args.json:
            comun.imprimir_json(comun.OK, **comun.listado(filas, "solicitudes"))
            return 0
        if not filas:
            print("No hay solicitudes.")
        for f in filas:
            print(f"{f['SolicitudId']:>6} {str(f['Fecha'])[:19]:<20} {f['Tipo']:<12} {f['Estado']:<10} "
                  f"{f['SolicitadoPor']:<20} {f.get('Resultado') or ''}")
        return 0
    fila = solicitudes.solicitar(db, _actor(), None, args.tipo, ahora=ahora)
    aviso = "creada" if fila["Nueva"] else "ya estaba pendiente"
    if args.esperar <= 0:
        _salida(args, fila, f"Solicitud {fila['SolicitudId']} ({fila['Tipo']}) {aviso}: la atiende el líder del "
                            f"{fila['Servicio']} en su próximo turno.")
        return 0
    final = solicitudes.esperar(db, fila["SolicitudId"], args.esperar) or fila
    if final["Estado"] == solicitudes.PENDIENTE:
        _salida(args, final, f"Solicitud {final['SolicitudId']} ({final['Tipo']}) {aviso}, sin atender tras "
                             f"{args.esperar:g} s: ¿está en marcha el {final['Servicio']}?", comun.ERROR)
        return 1
    atendida = final["Estado"] == solicitudes.ATENDIDA
    _salida(args, final, f"Solicitud {final['SolicitudId']} {final['Estado']} por {final['AtendidaPor']}: "
                         f"{final['Resultado']}", comun.OK if atendida else comun.ERROR)
    return 0 if atendida else 1


def _pausa(db: Any, args: Any, cfg: Any, ahora: datetime) -> int:
    from common.operaciones import pausa

    if args.accion == "hasta":
        hasta = pausa.pausar_hasta(db, _actor(), args.hasta, cfg=cfg, ahora=ahora)
        _salida(args, {pausa.CLAVE: hasta}, f"Lanzamientos en pausa hasta {hasta:%Y-%m-%d %H:%M}; el Lanzador lo "
                                            "aplica en su próxima recarga de ajustes.")
        return 0
    pausa.reanudar(db, _actor(), cfg=cfg, ahora=ahora)
    _salida(args, {pausa.CLAVE: None}, "Pausa manual retirada: el Lanzador vuelve a lanzar en su próxima recarga "
                                       "de ajustes.")
    return 0


_ORDENES = {"ejecuciones": _ejecuciones, "solicitudes": _solicitudes, "pausa": _pausa}
