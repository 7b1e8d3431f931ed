"""Sync of the A360 inventory into the SAM DB (BEHAVIOUR L1).

Devices + their default users' licences → ``Equipos``; taskbots → ``Robots``. Each table is
synced independently: any failed page (``A360Error``, raised by the client for the whole list)
abandons that table's sync, marks nothing missing and sends an alert keyed per table; the next
successful sync announces the recovery. A connectivity error of the SAM DB is not a sync failure:
it counts in the process' one "SAM DB unreachable" run (:class:`~common.utils.alertas.AlertaBdSam`).
Each complete list also refreshes :class:`Nombres`, the names alerts and logs use for robots, equipos
and users (``robot Facturas (5101)``). The mapping from A360 records to rows is pure
(:func:`filas_equipos`, :func:`elegir_usuario`, :func:`licencia_de`) and tested on its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from common.utils.alertas import AlertaBdSam, RachaDeFallos, con_nombre, es_bd_no_accesible, plural
from lanzador.database import inventario
from lanzador.database.inventario import FilaEquipo, FilaRobot
from lanzador.service.caida_a360 import es_fallo_por_caida

_log = logging.getLogger("sam.lanzador.sincronizador")

LICENCIAS_EJECUCION = ("ATTENDEDRUNTIME", "RUNTIME")
SIN_LICENCIA = "SIN_LICENCIA"

ALERTA_EQUIPOS = "lanzador:sync:equipos"
ALERTA_ROBOTS = "lanzador:sync:robots"


# --------------------------------------------------------------------------------------------
# Pure mapping
# --------------------------------------------------------------------------------------------
def _features(user: Any) -> tuple[str, ...]:
    return tuple(str(f).strip().upper() for f in (getattr(user, "license_features", None) or ()) if f)


def licencia_de(user: Any | None) -> str:
    """``ATTENDEDRUNTIME`` or ``RUNTIME`` when the user holds it (in that order), else the first
    licence, else ``SIN_LICENCIA`` (also for an unknown/deleted user)."""
    if user is None:
        return SIN_LICENCIA
    feats = _features(user)
    for lic in LICENCIAS_EJECUCION:
        if lic in feats:
            return lic
    return feats[0] if feats else SIN_LICENCIA


def elegir_usuario(device: Any, users_by_id: Mapping[int, Any]) -> tuple[int, str] | None:
    """The device's run-as user: the first default user holding RUNTIME/ATTENDEDRUNTIME, else the
    first default user, else None."""
    defaults = list(getattr(device, "default_users", ()) or ())
    if not defaults:
        return None
    for uid, uname in defaults:
        user = users_by_id.get(int(uid))
        if user is not None and any(f in LICENCIAS_EJECUCION for f in _features(user)):
            return int(uid), str(uname)
    uid, uname = defaults[0]
    return int(uid), str(uname)


def filas_equipos(devices: Iterable[Any], users: Iterable[Any]) -> list[FilaEquipo]:
    """``Equipos`` rows (A360-owned columns only) for a complete device list."""
    users_by_id = {int(u.id): u for u in users}
    filas: dict[int, FilaEquipo] = {}
    for dev in devices:
        elegido = elegir_usuario(dev, users_by_id)
        user = users_by_id.get(elegido[0]) if elegido else None
        if elegido is not None and user is not None and getattr(user, "username", None):
            user_name: str | None = str(user.username)
        else:
            user_name = elegido[1] if elegido else None
        filas[int(dev.id)] = FilaEquipo(
            equipo_id=int(dev.id),
            equipo=str(dev.host_name or "")[:100],
            user_id=elegido[0] if elegido else None,
            user_name=(user_name or None) and user_name[:100],
            licencia=licencia_de(user)[:50],
            estado_a360=str(dev.status or "").strip().upper()[:50] or "DESCONOCIDO",
            # A deleted (unlisted) or missing user cannot run anything.
            usuario_activo=bool(user is not None and not getattr(user, "disabled", False)),
        )
    return list(filas.values())


def filas_robots(bots: Iterable[Any]) -> list[FilaRobot]:
    filas: dict[int, FilaRobot] = {}
    for bot in bots:
        desc = getattr(bot, "description", None)
        filas[int(bot.id)] = FilaRobot(
            robot_id=int(bot.id),
            robot=str(bot.name or "")[:100],
            descripcion=None if desc is None else str(desc)[:4000],
        )
    return list(filas.values())


# --------------------------------------------------------------------------------------------
# Names for alerts and logs
# --------------------------------------------------------------------------------------------
class Nombres:
    """Names of robots, equipos and users by id, from the last complete lists of A360 (the rows
    written to ``Robots``/``Equipos``). Unknown ids (before the first sync) are named by id."""

    def __init__(self) -> None:
        self.robots: dict[int, str] = {}
        self.equipos: dict[int, str] = {}
        self.usuarios: dict[int, str] = {}

    def anotar_equipos(self, filas: Iterable[FilaEquipo]) -> None:
        filas = list(filas)
        self.equipos = {f.equipo_id: f.equipo for f in filas if f.equipo}
        self.usuarios = {f.user_id: f.user_name for f in filas if f.user_id is not None and f.user_name}

    def anotar_robots(self, filas: Iterable[FilaRobot]) -> None:
        self.robots = {f.robot_id: f.robot for f in filas if f.robot}

    @staticmethod
    def _id(valor: Any) -> Any:
        try:
            return int(valor)
        except (TypeError, ValueError):
            return valor

    def robot(self, robot_id: Any) -> str:
        return con_nombre("robot", robot_id, self.robots.get(self._id(robot_id)))

    def equipo(self, equipo_id: Any) -> str:
        return con_nombre("equipo", equipo_id, self.equipos.get(self._id(equipo_id)))

    def usuario(self, user_id: Any) -> str:
        return con_nombre("usuario", user_id, self.usuarios.get(self._id(user_id)))


# --------------------------------------------------------------------------------------------
# Shell
# --------------------------------------------------------------------------------------------
@dataclass
class ResultadoSync:
    equipos: inventario.ResultadoTabla | None = None
    robots: inventario.ResultadoTabla | None = None
    errores: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errores


class Sincronizador:
    """Runs the L1 sync. ``sincronizar()`` is the runner job (never raises for A360/DB errors)."""

    def __init__(
        self,
        db: Any,
        aa: Any,
        *,
        clock: Any,
        alerts: Any = None,
        logger: logging.Logger | None = None,
        bd_sam: AlertaBdSam | None = None,
        nombres: Nombres | None = None,
    ) -> None:
        self.db = db
        self.aa = aa
        self.clock = clock
        self.alerts = alerts
        self.log = logger or _log
        self._rachas: dict[str, RachaDeFallos] = {}
        self.bd_sam = bd_sam or AlertaBdSam(alerts, db, logger=self.log)
        self.nombres = nombres or Nombres()
        #: The process' A360 outage watch (M2, given by the Lanzador).
        self.caida: Any = None
        #: Never two syncs at once: the periodic job and an operator's request (L8.2) take turns.
        self._una_a_la_vez = threading.Lock()

    def _racha(self, clave: str) -> RachaDeFallos:
        """One failed sync of a table is alerted (C8), once, and its recovery announced once."""
        if clave not in self._rachas:
            self._rachas[clave] = RachaDeFallos(self.alerts, clave, umbral=1, logger=self.log)
        return self._rachas[clave]

    def sincronizar(self) -> ResultadoSync:
        """One full sync; a call made while another runs waits for it and then syncs again."""
        with self._una_a_la_vez:
            result = ResultadoSync()
            result.equipos = self._tabla("Equipos", ALERTA_EQUIPOS, self._sync_equipos, result)
            result.robots = self._tabla("Robots", ALERTA_ROBOTS, self._sync_robots, result)
            return result

    # one table -------------------------------------------------------------------------------
    def _tabla(self, tabla: str, clave: str, fn: Any, result: ResultadoSync) -> Any:
        started = time.monotonic()
        try:
            res = fn()
        except Exception as exc:  # A360Error, DatabaseError or anything unexpected
            msg = str(getattr(exc, "message", None) or exc)
            result.errores[tabla] = msg
            self.log.error(
                "Sincronización de %s abandonada (no se marca nada como ausente): %s", tabla, msg
            )
            if es_bd_no_accesible(exc):  # the SAM DB's own alert, not an A360 sync failure
                self.bd_sam.fallo(f"la sincronización de {tabla}", exc)
                return None
            if self.caida is not None and self.caida.activa and es_fallo_por_caida(exc):
                return None  # M2: the process' one "A360 no disponible" alert covers it
            self._racha(clave).fallo(
                f"Sincronización de {tabla} con A360 fallida",
                f"La sincronización de la tabla {tabla} con A360 se abandonó: {type(exc).__name__}: "
                f"{msg}. La tabla conserva los datos de la última sincronización completa.",
                que_revisar="Disponibilidad de la API de A360 (AA_URL), credenciales del usuario "
                "de servicio y conexión con la base de datos SAM.",
            )
            return None
        self.log.info(
            "Sincronización de %s: %s, %s como ausentes, %s, %s, %.2f s.",
            tabla,
            plural(res.filas, "fila", "filas"),
            plural(max(res.marcadas_ausentes, 0), "marcada", "marcadas"),
            plural(res.asignaciones_movidas, "asignación movida", "asignaciones movidas"),
            plural(res.sentencias, "sentencia SQL", "sentencias SQL"),
            time.monotonic() - started,
        )
        self._racha(clave).exito(
            f"Sincronización de {tabla} recuperada",
            f"La sincronización de la tabla {tabla} con A360 vuelve a completarse.",
        )
        self.bd_sam.exito()
        return res

    def _sync_equipos(self) -> inventario.ResultadoTabla:
        devices = self.aa.list_devices()
        user_ids = sorted({int(uid) for d in devices for uid, _ in (d.default_users or ())})
        users = self.aa.list_users(user_ids) if user_ids else []
        filas = filas_equipos(devices, users)
        self.nombres.anotar_equipos(filas)
        return inventario.sincronizar_equipos(self.db, filas, self.clock.now_local())

    def _sync_robots(self) -> inventario.ResultadoTabla:
        filas = filas_robots(self.aa.list_taskbots())
        self.nombres.anotar_robots(filas)
        return inventario.sincronizar_robots(self.db, filas, self.clock.now_local())
