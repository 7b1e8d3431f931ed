"""L7.1: the Lanzador tells operators about active schedules the selection skips as invalid.

``dbo.ObtenerRobotsEjecutables`` (and its SQLite twin) silently skip a row that
:func:`common.programacion.validar` rejects, so that one bad row never stops the selection of the
other robots. This watcher reads the active rows each launch cycle and sends **one** alert per
invalid ``ProgramacionId`` naming the robot, the id and the problems; it alerts that id again only
after the row was valid (or inactive, or deleted) in between. A failed send is retried next cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from common.programacion import Programacion, validar
from common.utils.alertas import con_nombre
from lanzador.database.seleccion import programaciones_activas

_log = logging.getLogger("sam.lanzador.programaciones")

QUE_REVISAR = (
    "Corrija la fila en dbo.Programaciones (o desactívela con Activo = 0). Tipos: Diaria, Semanal, Mensual, "
    "Especifica, RangoMensual; HoraFin e IntervaloEntreEjecuciones sólo con EsCiclico = 1; RangoMensual con "
    "DiaInicioMes/DiaFinMes o con UltimosDiasMes (sólo una de las dos formas)."
)


def problemas_de_fila(fila: dict) -> list[str]:
    """What :func:`validar` says of a DB row; a value that cannot be read is a problem too."""
    try:
        return validar(Programacion.desde_fila(fila))
    except (TypeError, ValueError) as exc:
        return [f"valor no legible ({exc})"]


def invalidas(filas: list[dict]) -> dict[int, tuple[dict, list[str]]]:
    """Pure: ProgramacionId -> (row, problems) for the rows with problems."""
    out: dict[int, tuple[dict, list[str]]] = {}
    for fila in filas:
        problemas = problemas_de_fila(fila)
        if problemas:
            out[int(fila["ProgramacionId"])] = (fila, problemas)
    return out


class VigilanteProgramaciones:
    """Alerts once per invalid active schedule (see the module docstring)."""

    def __init__(self, db: Any, alerts: Any, *, logger: logging.Logger | None = None,
                 leer: Callable[[Any], list[dict]] = programaciones_activas) -> None:
        self.db = db
        self.alerts = alerts
        self.log = logger or _log
        self._leer = leer
        self._avisadas: set[int] = set()

    def revisar(self) -> list[int]:
        """One check; returns the ids alerted now (an empty list when nothing new is invalid)."""
        actuales = invalidas(self._leer(self.db))
        for pid in self._avisadas - set(actuales):
            self.log.info("La programación %s ya no es inválida (corregida, desactivada o borrada).", pid)
        self._avisadas &= set(actuales)
        nuevas = []
        for pid, (fila, problemas) in actuales.items():
            if pid in self._avisadas:
                continue
            if self._avisar(pid, fila, problemas):
                self._avisadas.add(pid)
                nuevas.append(pid)
        return nuevas

    def _avisar(self, pid: int, fila: dict, problemas: list[str]) -> bool:
        robot = con_nombre("robot", fila.get("RobotId"), fila.get("Robot"))
        detalle = "; ".join(problemas)
        self.log.warning("Programación %s de %s inválida: %s. El Lanzador no la lanza.", pid, robot, detalle)
        if self.alerts is None:
            return True
        cuerpo = (
            f"La programación ProgramacionId {pid} de {robot} (TipoProgramacion "
            f"'{fila.get('TipoProgramacion')}') está activa pero no es válida, y el Lanzador no la lanza:\n"
            + "\n".join(f"- {p}" for p in problemas)
            + "\n\nEl resto de programaciones y robots sigue lanzándose con normalidad."
        )
        try:
            asunto = f"Programación {pid} de {robot} inválida: el Lanzador no la lanza"
            return bool(self.alerts.send_alert(f"programacion_invalida:{pid}", asunto, cuerpo,
                                               level="WARNING", what_to_check=QUE_REVISAR))
        except Exception:  # noqa: BLE001 - an alert must never stop the launch cycle
            self.log.exception("No se pudo enviar la alerta de la programación inválida %s.", pid)
            return False
