"""``GET /ejecuciones`` and ``GET /ejecuciones/<id>`` (CONSOLE §3): live and past executions through
``EjecucionesTodas`` (R4), filters robot, equipo, estado, desde, hasta; keyset paging by id
(``antes``); the detail with its timeline, ``CallbackInfo`` and ``MensajeError``."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint

from common.execution_states import KNOWN_ACTIVE_STATES, LANZANDO, TERMINAL_STATES, UNKNOWN
from common.utils.enteros import entero_ascii
from consola import consultas, web
from consola.rutas import LECTOR, ruta
from consola.vistas import _entrada

bp = Blueprint("ejecuciones", __name__)

ESTADOS = tuple(sorted({*TERMINAL_STATES, *KNOWN_ACTIVE_STATES, LANZANDO, UNKNOWN}))


#: The robot and equipo filters: (query resolving a name to ids, id column, the noun in messages).
_POR_NOMBRE = {"robot": ("consola.robots_por_nombre", "RobotId", "robot"),
               "equipo": ("consola.equipos_por_nombre", "EquipoId", "equipo")}


def _id_o_nombre(campo: str) -> tuple[int | None, str | None]:
    """The ``robot``/``equipo`` filter: an id (ASCII digits) or a name, exact and case-insensitive,
    resolved to its id first. (id or None, the Spanish notice when a name matches no row or several:
    the page then lists nothing, with that notice; a name is not a malformed value)."""
    valor = _entrada.texto(campo, 100)
    if valor is None or entero_ascii(valor) is not None:
        return _entrada.entero(campo, 1), None
    consulta, columna, que = _POR_NOMBRE[campo]
    marcas = {"marcas": 1} if campo == "equipo" else {}  # equipos_por_nombre takes a list of names
    ids = sorted({int(f[columna]) for f in consultas.filas(web.db(), consulta, [valor], **marcas)})
    if len(ids) == 1:
        return ids[0], None
    if not ids:
        return None, f"Ningún {que} se llama «{valor}»."
    return None, f"Varios {que}s se llaman «{valor}» (ids {', '.join(map(str, ids))}): filtre por su id."


def _filtros() -> tuple[dict[str, Any], list[str]]:
    estado = _entrada.opcion("estado", [e.lower() for e in ESTADOS])
    desde = _entrada.fecha_hora("desde")
    hasta = _entrada.fecha_hora("hasta", fin_del_dia=True)
    if desde and hasta and desde >= hasta:
        _entrada.rechazar("El filtro «desde» debe ser anterior a «hasta».")
    (robot, aviso_robot), (equipo, aviso_equipo) = _id_o_nombre("robot"), _id_o_nombre("equipo")
    avisos = [a for a in (aviso_robot, aviso_equipo) if a]
    return {"robot": robot, "equipo": equipo, "estado": estado.upper() if estado else None, "desde": desde,
            "hasta": hasta}, avisos


@ruta(bp, "/ejecuciones", rol=LECTOR)
def lista():
    filtros, avisos = _filtros()
    antes = _entrada.entero("antes", 1, 2**62)
    tam = _entrada.tamano()
    pagina = consultas.PaginaEjecuciones([], None, False) if avisos else consultas.ejecuciones_pagina(
        web.db(), antes=antes, limite=tam, **filtros)
    datos = {"filtros": filtros, "avisos": avisos, "ejecuciones": pagina.filas, "siguiente": pagina.siguiente,
             "busqueda_limitada": pagina.limitada, "antes": antes, "tamano": tam}
    return web.responder("ejecuciones.html", datos, estados=ESTADOS)


def _json_legible(texto: Any) -> str | None:
    """CallbackInfo as indented JSON when it is JSON, else as it came (the template escapes it)."""
    if texto is None or texto == "":
        return None
    try:
        return json.dumps(json.loads(texto), ensure_ascii=False, indent=2)
    except (TypeError, ValueError):
        return str(texto)


def linea_de_tiempo(x: dict, callbacks: list[dict]) -> list[dict]:
    """The moments of one execution, in order: intent, callbacks received, last change, end, move."""
    puntos = [("Intento registrado (inicio)", x.get("FechaInicio")),
              ("Último cambio de estado", x.get("FechaActualizacion")),
              ("Fin", x.get("FechaFin")), ("Movida al histórico", x.get("FechaMovimiento"))]
    puntos += [(f"Callback recibido ({c.get('Estado') or '?'}{', aplicado' if c.get('Aplicado') else ''})",
                c.get("FechaRecepcion")) for c in callbacks]
    con_fecha = [(t, consultas.fecha(f)) for t, f in puntos if f is not None]
    return [{"momento": f, "evento": t} for t, f in sorted(con_fecha, key=lambda p: p[1])]


@ruta(bp, "/ejecuciones/<ejecucion_id>", rol=LECTOR)
def detalle(ejecucion_id: str):
    ejecucion_id = _entrada.identificador(ejecucion_id)
    db = web.db()
    x = consultas.fila(db, "consola.ejecucion", (ejecucion_id,))
    if x is None:
        _entrada.no_existe(f"La ejecución {ejecucion_id} no existe.")
    callbacks = consultas.filas(db, "consola.callbacks_de_despliegue", (x["DeploymentId"],)) if x.get(
        "DeploymentId") else []
    datos = {"ejecucion": x, "callback_legible": _json_legible(x.get("CallbackInfo")),
             "callbacks": callbacks, "linea_de_tiempo": linea_de_tiempo(x, callbacks)}
    return web.responder("ejecucion.html", datos)
