"""``GET /programaciones`` (CONSOLE §3): every schedule (one-shot, daily/weekly/monthly, cyclic,
RangoMensual) with its equipos, each described in Spanish from :class:`common.programacion.Programacion`
(and flagged when :func:`common.programacion.validar` finds it invalid: the Lanzador skips those)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common import programacion
from consola import consultas, web
from consola.rutas import LECTOR, ruta
from consola.vistas import _entrada

bp = Blueprint("programaciones", __name__)

_DIAS = {"LU": "lunes", "MA": "martes", "MI": "miércoles", "JU": "jueves", "VI": "viernes", "SA": "sábado",
         "DO": "domingo"}


def _h(t: Any) -> str:
    return f"{t:%H:%M}" if t is not None else "?"


def _cuando(p: programacion.Programacion) -> str:
    tipo = p.tipo
    if tipo == "ESPECIFICA":
        return f"una vez, el {p.FechaEspecifica or '?'}"
    if tipo == "SEMANAL":
        dias = sorted(programacion.tokens_dia_semana(p.DiaSemana), key=lambda d: list(_DIAS).index(d)
                      if d in _DIAS else 99)
        return "cada semana: " + (", ".join(_DIAS.get(d, d) for d in dias) or "(sin días)")
    if tipo == "MENSUAL":
        return f"cada mes, el día {p.DiaDelMes if p.DiaDelMes is not None else '?'}"
    if tipo == "RANGOMENSUAL":
        if p.UltimosDiasMes:
            return f"cada mes, los últimos {p.UltimosDiasMes} días"
        return f"cada mes, del día {p.DiaInicioMes or '?'} al {p.DiaFinMes or '?'}"
    return "todos los días"


def describir(p: programacion.Programacion) -> str:
    """One Spanish sentence: when, at what time(s) and within which dates."""
    partes = [_cuando(p)]
    if p.EsCiclico:
        partes.append(f"de {_h(p.HoraInicio)} a {_h(p.HoraFin)}, cada {p.IntervaloEntreEjecuciones or '?'} min")
    else:
        partes.append(f"a las {_h(p.HoraInicio)}" + (f" (tolerancia {p.Tolerancia} min)" if p.Tolerancia else ""))
    if p.FechaInicioVentana or p.FechaFinVentana:
        partes.append(f"vigente del {p.FechaInicioVentana or 'principio'} al {p.FechaFinVentana or 'sin fin'}")
    texto = ", ".join(partes)
    return texto[0].upper() + texto[1:] + "."


def describir_fila(fila: dict) -> str:
    p = programacion.Programacion.desde_fila(fila)
    problemas = programacion.validar(p)
    return describir(p) + (f" No válida: {'; '.join(problemas)}." if problemas else "")


@ruta(bp, "/programaciones", rol=LECTOR)
def lista():
    db = web.db()
    robot, activo = _entrada.entero("robot", 1), _entrada.bit("activo")
    tam = _entrada.tamano()
    total = int((consultas.fila(db, "consola.programaciones_total", (robot, activo)) or {}).get("Total") or 0)
    pag = _entrada.paginacion(total, tam)
    filas = consultas.filas(db, "consola.programaciones_pagina", (robot, activo, pag.tamano, pag.salto))
    equipos: dict[int, list[dict]] = {}
    ids = [f["ProgramacionId"] for f in filas]
    if ids:
        for e in consultas.filas(db, "consola.equipos_de_programaciones", ids, marcas=len(ids)):
            equipos.setdefault(e["ProgramacionId"], []).append({"EquipoId": e["EquipoId"], "Equipo": e["Equipo"]})
    programaciones = [{**f, "Descripcion": describir_fila(f), "Equipos": equipos.get(f["ProgramacionId"], [])}
                      for f in filas]
    datos = {"filtros": {"robot": robot, "activo": activo}, "paginacion": pag.como_dict(),
             "programaciones": programaciones}
    return web.responder("programaciones.html", datos)
