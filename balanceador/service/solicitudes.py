"""The Balanceador serves "balancear ahora" (L8.2): a runner job of the leader that claims the pending
``balanceador`` rows of ``SolicitudesServicio`` and runs one balancing cycle (B1) at once, writing
back what the plan did or why the cycle did not complete. Cycles never overlap
(``ServicioBalanceador.ciclo`` serialises its calls)."""

from __future__ import annotations

import logging
from typing import Any

from balanceador.modelo import BAJAR, SUBIR, Plan
from common.operaciones.solicitudes import INTERVALO_SEG, Resultado, ServidorSolicitudes
from common.utils.alertas import plural
from common.utils.redaccion import redactar

NOMBRE_TAREA = "solicitudes"


def resumen_plan(plan: Plan | None, error_bd: BaseException | None = None) -> Resultado:
    """The request's ``Resultado`` for a cycle's outcome. Pure."""
    if plan is None:
        if error_bd is not None:
            return Resultado(False, f"El ciclo de balanceo no pudo usar la base de datos SAM: {redactar(str(error_bd))}.")
        return Resultado(False, "Ciclo de balanceo descartado: este Balanceador dejó de ser el líder durante el ciclo.")
    subidas = sum(len(a.equipo_ids) for a in plan.acciones if a.accion == SUBIR)
    bajadas = sum(len(a.equipo_ids) for a in plan.acciones if a.accion == BAJAR)
    return Resultado(True, (
        f"Balanceo hecho: {plural(len(plan.deseados), 'robot balanceado', 'robots balanceados')}, "
        f"{plural(len(plan.acciones), 'acción', 'acciones')} ({plural(subidas, 'equipo asignado', 'equipos asignados')}, "
        f"{plural(bajadas, 'equipo liberado', 'equipos liberados')}), "
        f"{plural(len(plan.retenidos), 'cambio retenido', 'cambios retenidos')}."
    ))


def instalar(runner: Any, servicio: Any, *, logger: logging.Logger | None = None) -> ServidorSolicitudes:
    """Register the serving job on ``runner`` (``solo_lider``: a standby never serves)."""

    def balancear() -> Resultado:
        plan = servicio.ciclo()
        return resumen_plan(plan, getattr(servicio, "error_bd", None))

    servidor = ServidorSolicitudes(servicio.db, "balanceador", {"balancear": balancear},
                                   ahora=servicio.clock.now_local,
                                   logger=logger or logging.getLogger("sam.balanceador.solicitudes"),
                                   cerco=lambda: getattr(servicio, "cerco", None))  # H3: the plan's fence
    runner.add_job(NOMBRE_TAREA, INTERVALO_SEG, servidor.tarea(getattr(servicio, "bd_sam", None)), solo_lider=True)
    return servidor
