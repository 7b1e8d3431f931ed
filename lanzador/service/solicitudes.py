"""The Lanzador serves "sincronizar ahora" (L8.2): a runner job of the leader that claims the pending
``lanzador`` rows of ``SolicitudesServicio`` and runs the A360 sync (L1) at once, writing back what
it did (robots and equipos synced) or why it failed. The sync itself never runs twice at the same
time (:class:`~lanzador.service.sincronizador.Sincronizador` serialises its calls)."""

from __future__ import annotations

import logging
from typing import Any

from common.operaciones.solicitudes import INTERVALO_SEG, Resultado, ServidorSolicitudes
from common.utils.alertas import plural
from lanzador.service.sincronizador import ResultadoSync

NOMBRE_TAREA = "solicitudes"


def resumen_sync(r: ResultadoSync) -> Resultado:
    """The request's ``Resultado``: the counts per table, or each table's error. Pure."""
    partes = []
    if r.equipos is not None:
        partes.append(f"{plural(r.equipos.filas, 'equipo', 'equipos')} "
                      f"({plural(max(r.equipos.marcadas_ausentes, 0), 'marcado', 'marcados')} como ausente)")
    if r.robots is not None:
        partes.append(f"{plural(r.robots.filas, 'robot', 'robots')} "
                      f"({plural(max(r.robots.marcadas_ausentes, 0), 'marcado', 'marcados')} como ausente)")
    hecho = ", ".join(partes)
    if r.errores:
        errores = "; ".join(f"{tabla}: {msg}" for tabla, msg in r.errores.items())
        return Resultado(False, f"Sincronización con errores ({errores})" + (f"; sincronizados {hecho}" if hecho else "")
                         + ".")
    return Resultado(True, f"Sincronización hecha: {hecho}.")


def instalar(runner: Any, lanzador: Any, *, logger: logging.Logger | None = None) -> ServidorSolicitudes:
    """Register the serving job on ``runner`` (``solo_lider``: a standby never serves)."""
    servidor = ServidorSolicitudes(
        lanzador.db, "lanzador", {"sincronizar": lambda: resumen_sync(lanzador.sincronizador.sincronizar())},
        ahora=lanzador.clock.now_local, logger=logger or logging.getLogger("sam.lanzador.solicitudes"),
        cerco=lambda: getattr(lanzador.desplegador, "cerco", None),  # H3: the launcher's fence, set after install
    )
    runner.add_job(NOMBRE_TAREA, INTERVALO_SEG, servidor.tarea(getattr(lanzador, "bd_sam", None)), solo_lider=True)
    return servidor
