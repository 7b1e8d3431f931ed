"""Stability rules of the balancer (B7): the ``CoolingManager`` and its pure decisions.

A robot's direction of change (up = ASIGNAR, down = DESASIGNAR) may not reverse within
``BALANCEADOR_COOLING_PERIOD_SEG`` unless its tickets rose >= BALANCEADOR_UMBRAL_SUBIDA_PCT (to go
up again) or fell >= BALANCEADOR_UMBRAL_BAJADA_PCT (to go down again) since its last change, and a
second reversal within the same period (up, down, up...) is never allowed: a robot changes at most
once per direction per period while oscillating. A robot below its floor is served at once (the
planner does not ask the cooling for that part). A dip of tickets to zero releases nothing until
the tickets have been zero for a whole period.

The decisions (:func:`puede_subir`, :func:`puede_bajar`) are pure functions over an
:class:`~balanceador.modelo.EstadoCooling` snapshot; :class:`CoolingManager` holds the mutable state of the running
service and is rebuilt from ``HistoricoBalanceo`` at start-up so a restart does not reset it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from balanceador.modelo import (
    BAJADA_UMBRAL,
    BAJAR,
    COOLING_BAJADA,
    COOLING_OSCILACION,
    COOLING_SIN_TICKETS,
    COOLING_SUBIDA,
    MOTIVOS_COOLING,
    SUBIDA_UMBRAL,
    SUBIR,
    AjustesCooling,
    Cambio,
    EstadoCooling,
    Plan,
)


@dataclass(frozen=True)
class Decision:
    permitido: bool
    codigo: str  # machine-readable reason ("" when allowed without remark)
    justificacion: str  # Spanish


_SIN_ESTADO = EstadoCooling()


def _reciente(cambio: Cambio | None, now: datetime, periodo: timedelta) -> bool:
    return cambio is not None and now - cambio.fecha < periodo


def puede_subir(estado: EstadoCooling | None, tickets: int, now: datetime, ajustes: AjustesCooling) -> Decision:
    """Whether the robot may grow above its floor now (pure)."""
    estado = estado or _SIN_ESTADO
    periodo = timedelta(seconds=ajustes.periodo_seg)
    sub, baj = estado.ultima_subida, estado.ultima_bajada
    if not _reciente(baj, now, periodo):
        return Decision(True, "", "")
    assert baj is not None
    if _reciente(sub, now, periodo) and sub is not None and baj.fecha >= sub.fecha:
        return Decision(
            False,
            COOLING_OSCILACION,
            f"ya subió y bajó dentro del periodo de enfriamiento ({int(ajustes.periodo_seg)} s); "
            "no se vuelve a subir hasta que termine",
        )
    if tickets * 100 >= baj.tickets * (100 + ajustes.umbral_subida_pct):
        return Decision(
            True,
            SUBIDA_UMBRAL,
            f"los tickets subieron de {baj.tickets} a {tickets} (>= {ajustes.umbral_subida_pct} %) "
            "desde la última bajada",
        )
    return Decision(
        False,
        COOLING_SUBIDA,
        f"bajó hace {int((now - baj.fecha).total_seconds())} s (periodo {int(ajustes.periodo_seg)} s) "
        f"y los tickets ({tickets}) no subieron {ajustes.umbral_subida_pct} % sobre {baj.tickets}",
    )


def puede_bajar(estado: EstadoCooling | None, tickets: int, now: datetime, ajustes: AjustesCooling) -> Decision:
    """Whether the robot may release VMs now because of its tickets (pure)."""
    estado = estado or _SIN_ESTADO
    periodo = timedelta(seconds=ajustes.periodo_seg)
    if tickets <= 0:
        desde = estado.cero_desde or now
        if now - desde < periodo:
            return Decision(
                False,
                COOLING_SIN_TICKETS,
                f"sin tickets desde hace {int((now - desde).total_seconds())} s; se liberan equipos "
                f"solo tras {int(ajustes.periodo_seg)} s seguidos sin tickets",
            )
    sub, baj = estado.ultima_subida, estado.ultima_bajada
    if not _reciente(sub, now, periodo):
        return Decision(True, "", "")
    assert sub is not None
    if _reciente(baj, now, periodo) and baj is not None and sub.fecha >= baj.fecha:
        return Decision(
            False,
            COOLING_OSCILACION,
            f"ya bajó y subió dentro del periodo de enfriamiento ({int(ajustes.periodo_seg)} s); "
            "no se vuelve a bajar hasta que termine",
        )
    if tickets * 100 <= sub.tickets * (100 - ajustes.umbral_bajada_pct):
        return Decision(
            True,
            BAJADA_UMBRAL,
            f"los tickets bajaron de {sub.tickets} a {tickets} (>= {ajustes.umbral_bajada_pct} %) "
            "desde la última subida",
        )
    return Decision(
        False,
        COOLING_BAJADA,
        f"subió hace {int((now - sub.fecha).total_seconds())} s (periodo {int(ajustes.periodo_seg)} s) "
        f"y los tickets ({tickets}) no bajaron {ajustes.umbral_bajada_pct} % desde {sub.tickets}",
    )


class CoolingManager:
    """Mutable cooling state of the running balancer (thread-safe)."""

    def __init__(self, ajustes: AjustesCooling) -> None:
        self.ajustes = ajustes
        self._estado: dict[int, EstadoCooling] = {}
        self._lock = threading.Lock()

    @classmethod
    def desde_config(cls, cfg) -> CoolingManager:
        return cls(AjustesCooling.desde_config(cfg))

    @classmethod
    def desde_snapshot(cls, ajustes: AjustesCooling, estado: Mapping[int, EstadoCooling]) -> CoolingManager:
        """A manager that starts from ``estado`` (a :meth:`snapshot`, or a test's fixture)."""
        nuevo = cls(ajustes)
        nuevo._estado.update(estado)
        return nuevo

    def copia(self) -> CoolingManager:
        """An independent copy: what happens to it (``observar``, ``registrar``) leaves this one
        untouched. The dry run plans with a copy."""
        return CoolingManager.desde_snapshot(self.ajustes, self.snapshot())

    def reconstruir(self, ultimos: Iterable[Mapping]) -> int:
        """Rebuild from HistoricoBalanceo rows (RobotId, AccionTomada, FechaBalanceo,
        TicketsPendientes[, CodigoMotivo]): the last ticket-driven change per robot and direction.
        Returns the robots loaded."""
        with self._lock:
            for fila in ultimos:
                codigo = fila.get("CodigoMotivo")
                if codigo is not None and codigo not in MOTIVOS_COOLING:
                    continue
                rid = int(fila["RobotId"])
                accion = str(fila["AccionTomada"] or "").upper()
                cambio = Cambio(fila["FechaBalanceo"], int(fila["TicketsPendientes"] or 0))
                actual = self._estado.get(rid, _SIN_ESTADO)
                if accion == SUBIR:
                    if actual.ultima_subida is None or actual.ultima_subida.fecha <= cambio.fecha:
                        actual = replace(actual, ultima_subida=cambio)
                elif accion == BAJAR:
                    if actual.ultima_bajada is None or actual.ultima_bajada.fecha <= cambio.fecha:
                        actual = replace(actual, ultima_bajada=cambio)
                else:
                    continue
                self._estado[rid] = actual
            return len(self._estado)

    def observar(self, tickets: Mapping[int, int], robot_ids: Iterable[int], protegidos: Iterable[int],
                 now: datetime) -> None:
        """Track each robot's streak of zero tickets. A protected robot (a source that feeds it
        failed) has unknown tickets, so its streak restarts.

        The streak is kept in memory only (not rebuilt from HistoricoBalanceo): after a restart it
        starts again, which can only delay a SIN_TICKETS release by up to one period, never
        release early."""
        prot = set(protegidos)
        with self._lock:
            for rid in robot_ids:
                actual = self._estado.get(rid, _SIN_ESTADO)
                if rid in prot or tickets.get(rid, 0) > 0:
                    nuevo = None
                else:
                    nuevo = actual.cero_desde or now
                if nuevo != actual.cero_desde:
                    self._estado[rid] = replace(actual, cero_desde=nuevo)

    def snapshot(self) -> dict[int, EstadoCooling]:
        with self._lock:
            return dict(self._estado)

    def registrar(self, robot_id: int, accion: str, tickets: int, now: datetime) -> None:
        """Record an applied change."""
        with self._lock:
            actual = self._estado.get(robot_id, _SIN_ESTADO)
            cambio = Cambio(now, int(tickets))
            if accion == SUBIR:
                actual = replace(actual, ultima_subida=cambio)
            elif accion == BAJAR:
                actual = replace(actual, ultima_bajada=cambio)
            self._estado[robot_id] = actual

    def registrar_plan(self, plan: Plan, now: datetime) -> None:
        """Record the ticket-driven changes of an applied plan (see modelo.MOTIVOS_COOLING)."""
        for accion in plan.acciones:
            if accion.cuenta_para_cooling:
                self.registrar(accion.robot_id, accion.accion, accion.tickets, now)
