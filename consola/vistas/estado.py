"""``GET /``: the Estado page (CONSOLE §3): heartbeats of every SAM process, pause state, last sync,
executions running now, stuck executions and the failures of the last 24 h. Over a big fleet the
page draws the first :data:`MAX_FILAS` rows of each table of open executions (the longest running
first) with the totals and a count per state that links to ``/ejecuciones?estado=…``.

The decisions (a heartbeat is stale, an execution is stuck) are pure functions of rows, settings and
the time; the view only reads and renders. It also installs the template filters the read views
share (``fecha``, ``si_no``) and ``enlace`` (the current URL with some query values changed)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint

from common.execution_states import LANZANDO
from common.utils import ajustes_vivos
from common.utils.config_manager import ajuste
from consola import consultas, web
from consola.rutas import LECTOR, ruta
from consola.vistas import _entrada
from lanzador.service.pausa import en_pausa, en_pausa_manual

bp = Blueprint("estado", __name__)

#: A heartbeat older than this many SAM_LATIDO_SEG is shown red (H5).
LATIDOS_CADUCADO = 3
#: Open executions read for the page (the oldest first: the longest running), to find the stuck ones.
MAX_ABIERTAS = 500
#: Rows of each table of open executions (stuck, running) the page draws; the counts per state link
#: to /ejecuciones for the rest.
MAX_FILAS = 50
#: States that wait for A360 to start the bot.
EN_COLA = frozenset({"DEPLOYED", "QUEUED", "PENDING_EXECUTION"})
REFRESCO_SEG = 30


@bp.app_template_filter("fecha")
def _fecha(valor: Any) -> str:
    """Local (SAM_ZONA_HORARIA) date-time as the DB stores it: 2026-03-02 10:00:00."""
    if valor is None or valor == "":
        return "—"
    if isinstance(valor, date) and not isinstance(valor, datetime):
        return valor.isoformat()
    if not isinstance(valor, datetime):  # SQLite answers text for an aggregate (MAX of a DATETIME)
        if len(str(valor)) == 10:  # a DATE column as text
            return str(valor)
        try:
            valor = consultas.fecha(valor)
        except (TypeError, ValueError):
            return str(valor)
    return f"{valor:%Y-%m-%d %H:%M:%S}"


@bp.app_template_filter("si_no")
def _si_no(valor: Any) -> str:
    return "—" if valor is None else ("sí" if bool(valor) and valor != "0" else "no")


@bp.app_template_global("enlace")
def _enlace(**cambios: Any) -> str:
    return _entrada.enlace(**cambios)


def caducado(ultimo_latido: datetime | None, ahora: datetime, latido_seg: float) -> bool:
    """H5: a process whose last heartbeat is older than LATIDOS_CADUCADO beats is shown as down."""
    return ultimo_latido is None or (ahora - ultimo_latido).total_seconds() > LATIDOS_CADUCADO * latido_seg


def motivo_atasco(fila: dict, ahora: datetime, lanzando_seg: float, max_duracion_min: float) -> str | None:
    """Why an open execution looks stuck (Spanish), or None. LANZANDO or waiting in A360's queue
    longer than LANZADOR_LANZANDO_TIMEOUT_SEG; running longer than LANZADOR_MAX_DURACION_EJECUCION_MIN."""
    estado = str(fila.get("Estado") or "").upper()
    inicio = consultas.fecha(fila.get("FechaInicio"))
    cambio = consultas.fecha(fila.get("FechaActualizacion")) or inicio
    if estado == LANZANDO and inicio is not None and (ahora - inicio).total_seconds() > lanzando_seg:
        return f"LANZANDO desde hace más de {int(lanzando_seg)} s"
    if estado in EN_COLA and cambio is not None and (ahora - cambio).total_seconds() > lanzando_seg:
        return f"{estado} sin cambios desde hace más de {int(lanzando_seg)} s"
    if estado not in EN_COLA and estado != LANZANDO and inicio is not None and \
            ahora - inicio > timedelta(minutes=max_duracion_min):
        return f"en curso desde hace más de {int(max_duracion_min)} min"
    return None


def estado_pausa(valores: dict[str, Any], ahora: datetime) -> dict[str, Any]:
    inicio, fin = valores.get("LANZADOR_PAUSA_INICIO_HHMM"), valores.get("LANZADOR_PAUSA_FIN_HHMM")
    hasta = valores.get("LANZADOR_PAUSA_MANUAL_HASTA")
    ventana = en_pausa(ahora.time(), inicio, fin)
    manual = en_pausa_manual(ahora, hasta)
    return {
        "en_pausa": ventana or manual,
        "ventana_activa": ventana,
        "ventana": f"{inicio:%H:%M}–{fin:%H:%M}" if inicio is not None and fin is not None and inicio != fin else None,
        "manual_hasta": hasta if manual else None,
    }


def _servicios(db: Any, ahora: datetime, latido_seg: float) -> list[dict]:
    out = []
    for f in consultas.filas(db, "consola.servicios"):
        ultimo = consultas.fecha(f.get("UltimoLatido"))
        out.append({**f, "Caducado": caducado(ultimo, ahora, latido_seg),
                    "SegundosDesdeLatido": None if ultimo is None else round((ahora - ultimo).total_seconds())})
    return out


def datos_estado(db: Any, cfg: Any, ahora: datetime) -> dict[str, Any]:
    valores = ajustes_vivos.decidir(cfg, ajustes_vivos.leer_filas(db)).valores
    lanzando_seg = float(ajuste(cfg, "LANZADOR_LANZANDO_TIMEOUT_SEG"))
    max_min = float(valores.get("LANZADOR_MAX_DURACION_EJECUCION_MIN") or ajuste(cfg, "LANZADOR_MAX_DURACION_EJECUCION_MIN"))
    abiertas = consultas.filas(db, "consola.ejecuciones_abiertas", (MAX_ABIERTAS,))
    en_curso, atascadas = [], []
    for f in abiertas:
        motivo = motivo_atasco(f, ahora, lanzando_seg, max_min)
        (atascadas if motivo else en_curso).append({**f, "Motivo": motivo} if motivo else f)
    sync = consultas.fila(db, "consola.ultima_sincronizacion") or {}
    return {
        "ahora": ahora,
        "servicios": _servicios(db, ahora, float(ajuste(cfg, "SAM_LATIDO_SEG"))),
        "pausa": estado_pausa(valores, ahora),
        "sincronizacion": {"Robots": consultas.fecha(sync.get("Robots")), "Equipos": consultas.fecha(sync.get("Equipos"))},
        "en_curso": en_curso[:MAX_FILAS],
        "atascadas": atascadas[:MAX_FILAS],
        "total_en_curso": len(en_curso),
        "total_atascadas": len(atascadas),
        "abiertas_por_estado": consultas.filas(db, "consola.abiertas_por_estado"),
        "abiertas_truncadas": len(abiertas) >= MAX_ABIERTAS,
        "fallos_24h": consultas.filas(db, "consola.fallos_recientes", (ahora - timedelta(hours=24),)),
    }


@ruta(bp, "/", rol=LECTOR)
def estado():
    ctx = web.contexto()
    datos = datos_estado(ctx.db, ctx.cfg, ctx.clock.now_local())
    return web.responder("estado.html", datos, refresco_seg=REFRESCO_SEG, max_abiertas=MAX_ABIERTAS)
