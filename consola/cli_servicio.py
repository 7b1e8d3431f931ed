"""``python -m consola`` commands that act on the running services (rules L8.1-L8.3):

    python -m consola ejecuciones destrabar ID --motivo "..." [--json]
    python -m consola solicitudes crear sincronizar|balancear [--esperar SEG] [--json]
    python -m consola solicitudes listar [--json]
    python -m consola pausa hasta "YYYY-MM-DD HH:MM" [--json]
    python -m consola pausa reanudar [--json]

Output in Spanish. Exit codes: 0 done; 1 refused or failed (the reason on stderr; a request that
was not served within ``--esperar`` or failed is 1 too); 2 wrong arguments or settings. Changes are
audited as ``cli:<OS user>`` with the ``operador`` role.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from typing import Any

from common.operaciones.auditoria import Actor

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
    d.add_argument("ejecucion_id", type=int, metavar="ID")
    d.add_argument("--motivo", required=True, help="por qué se destraba (queda en MensajeError y en la auditoría)")
    d.add_argument("--json", action="store_true", help="salida en JSON")

    sol = sub(ordenes.add_parser("solicitudes", help="pide trabajo inmediato a los servicios",
                                 description="Solicitudes a los servicios en marcha."))
    c = sol.add_parser("crear", help="sincronizar ahora (Lanzador) o balancear ahora (Balanceador)",
                       description="Pide al líder del servicio que lo haga ahora.")
    c.add_argument("tipo", choices=("sincronizar", "balancear"))
    c.add_argument("--esperar", type=float, default=0.0, metavar="SEG",
                   help="espera hasta SEG segundos al resultado y lo muestra")
    c.add_argument("--json", action="store_true", help="salida en JSON")
    li = sol.add_parser("listar", help="lista las últimas solicitudes", description="Lista las últimas solicitudes.")
    li.add_argument("--json", action="store_true", help="salida en JSON")

    pausa = sub(ordenes.add_parser("pausa", help="pausa o reanuda los lanzamientos",
                                   description="Pausa manual de los lanzamientos (LANZADOR_PAUSA_MANUAL_HASTA)."))
    h = pausa.add_parser("hasta", help="no lanza nada hasta esa fecha y hora (hora local de SAM)",
                         description="Pausa los lanzamientos hasta la fecha y hora indicadas.")
    h.add_argument("hasta", metavar='"AAAA-MM-DD HH:MM"')
    h.add_argument("--json", action="store_true", help="salida en JSON")
    r = pausa.add_parser("reanudar", help="quita la pausa manual", description="Quita la pausa manual.")
    r.add_argument("--json", action="store_true", help="salida en JSON")


def _actor() -> Actor:
    try:
        quien = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in this environment
        quien = "desconocido"
    return Actor(f"cli:{quien}", "operador", None)


def _salida(args: Any, datos: dict, texto: str) -> None:
    print(json.dumps(datos, ensure_ascii=False, default=str, indent=2) if args.json else texto)


def leer_fecha_hora(texto: str) -> datetime:
    """``YYYY-MM-DD HH:MM[:SS]``; ValueError (Spanish) otherwise."""
    for formato in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(texto.strip(), formato)
        except ValueError:
            continue
    raise ValueError(f"fecha y hora no válida «{texto}»: use AAAA-MM-DD HH:MM")


def ejecutar(args: Any, cfg: Any) -> int:
    """Run one of :data:`ORDENES` with the SAM DB of ``cfg``."""
    from common.database.schema import ensure_schema
    from common.database.sql_client import DatabaseClient, DatabaseError
    from common.operaciones.programaciones import OperacionRechazada

    if args.orden == "pausa" and args.accion == "hasta":
        try:
            args.hasta = leer_fecha_hora(args.hasta)
        except ValueError as exc:
            print(f"Argumento no válido: {exc}.", file=sys.stderr)
            return 2
    db = DatabaseClient.from_config(cfg, "SAM")
    try:
        ensure_schema(db)
        return _ORDENES[args.orden](db, args, cfg)
    except OperacionRechazada as exc:
        print(f"No se hizo: {exc.mensaje}", file=sys.stderr)
        return 1
    except DatabaseError as exc:
        print(f"No se pudo usar la base de datos SAM: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close_all()


def _ejecuciones(db: Any, args: Any, cfg: Any) -> int:
    from common.operaciones import ejecuciones

    fila = ejecuciones.destrabar(db, _actor(), args.ejecucion_id, args.motivo)
    _salida(args, fila, f"Ejecución {fila['EjecucionId']} destrabada: {fila['Estado']} "
                        f"(«{fila['MensajeError']}»); el equipo {fila['EquipoId']} queda libre para el próximo ciclo.")
    return 0


def _solicitudes(db: Any, args: Any, cfg: Any) -> int:
    from common.operaciones import solicitudes

    if args.accion == "listar":
        filas = solicitudes.listar(db)
        if args.json:
            _salida(args, {"Solicitudes": filas}, "")
            return 0
        if not filas:
            print("No hay solicitudes.")
        for f in filas:
            print(f"{f['SolicitudId']:>6} {str(f['Fecha'])[:19]:<20} {f['Tipo']:<12} {f['Estado']:<10} "
                  f"{f['SolicitadoPor']:<20} {f.get('Resultado') or ''}")
        return 0
    fila = solicitudes.solicitar(db, _actor(), None, args.tipo)
    aviso = "creada" if fila["Nueva"] else "ya estaba pendiente"
    if args.esperar <= 0:
        _salida(args, fila, f"Solicitud {fila['SolicitudId']} ({fila['Tipo']}) {aviso}: la atiende el líder del "
                            f"{fila['Servicio']} en su próximo turno.")
        return 0
    final = solicitudes.esperar(db, fila["SolicitudId"], args.esperar) or fila
    if final["Estado"] == solicitudes.PENDIENTE:
        _salida(args, final, f"Solicitud {final['SolicitudId']} ({final['Tipo']}) {aviso}, sin atender tras "
                             f"{args.esperar:g} s: ¿está en marcha el {final['Servicio']}?")
        return 1
    _salida(args, final, f"Solicitud {final['SolicitudId']} {final['Estado']} por {final['AtendidaPor']}: "
                         f"{final['Resultado']}")
    return 0 if final["Estado"] == solicitudes.ATENDIDA else 1


def _pausa(db: Any, args: Any, cfg: Any) -> int:
    from common.operaciones import pausa

    if args.accion == "hasta":
        hasta = pausa.pausar_hasta(db, _actor(), args.hasta, cfg=cfg)
        _salida(args, {pausa.CLAVE: hasta}, f"Lanzamientos en pausa hasta {hasta:%Y-%m-%d %H:%M}; el Lanzador lo "
                                            "aplica en su próxima recarga de ajustes.")
        return 0
    pausa.reanudar(db, _actor(), cfg=cfg)
    _salida(args, {pausa.CLAVE: None}, "Pausa manual retirada: el Lanzador vuelve a lanzar en su próxima recarga "
                                       "de ajustes.")
    return 0


_ORDENES = {"ejecuciones": _ejecuciones, "solicitudes": _solicitudes, "pausa": _pausa}
