"""``POST /programaciones`` (create) and ``POST /programaciones/<id>`` (edit, activate, deactivate,
delete) — CONSOLE §3, BEHAVIOUR L7.4. Thin: the form is parsed here, every rule lives in
:mod:`common.operaciones.programaciones` (validation, overlap with the conflict list, forcing only
by an administrador, optimistic concurrency on ``version``, audit).

Every edit, activation, deactivation and delete carries ``version`` (``FechaActualizacion``;
missing → 400): a stale one is refused naming what differs, and a resubmitted edit whose values
the row already holds answers "Ya aplicado".
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from common.operaciones import formularios
from common.operaciones import programaciones as ops
from common.programacion import TIPOS, Programacion
from consola import web
from consola.rutas import OPERADOR, ruta
from consola.vistas import _cambios as c

bp = Blueprint("cambios_programaciones", __name__)

PLANTILLA = "cambios_programacion.html"
ACCIONES = ("modificar", "activar", "desactivar", "eliminar")
#: Form fields of the definition (named after the columns) and how each is parsed.
_ENTEROS = ("Tolerancia", "DiaDelMes", "IntervaloEntreEjecuciones", "DiaInicioMes", "DiaFinMes", "UltimosDiasMes")
_HORAS = ("HoraInicio", "HoraFin")
_FECHAS = ("FechaEspecifica", "FechaInicioVentana", "FechaFinVentana")
CAMPOS = ("TipoProgramacion", *_HORAS, *_ENTEROS, "DiaSemana", *_FECHAS, "EsCiclico")


def definicion() -> dict[str, Any]:
    """The schedule's columns from the form (blank = NULL); malformed values → 400."""
    tipo = c.texto("TipoProgramacion", obligatorio=True, maximo=20)
    if tipo.upper() not in {t.upper() for t in TIPOS}:
        raise c.EntradaNoValida(f"TipoProgramacion desconocido (válidos: {', '.join(TIPOS)}).")
    valores: dict[str, Any] = {"TipoProgramacion": tipo, "DiaSemana": c.texto("DiaSemana", maximo=40),
                               "EsCiclico": c.casilla("EsCiclico")}
    valores.update({n: c.hora(n) for n in _HORAS})
    valores.update({n: c.entero(n, minimo=0, maximo=100_000) for n in _ENTEROS})
    valores.update({n: c.fecha(n) for n in _FECHAS})
    return valores


def _forzar() -> bool:
    """The ``Forzar`` checkbox (offered to an administrador only; the operation refuses and
    audits it for anyone else)."""
    return c.casilla("Forzar")


def _formulario(**datos: Any) -> dict[str, Any]:
    return {"tipos": TIPOS, "valores": dict(request.form), "equipos_elegidos": request.form.getlist("EquipoId"),
            **datos}


def _conflictos(exc: ops.OperacionRechazada, candidata_id: int | None = None) -> list[str]:
    return [x.describir(candidata_id) for x in getattr(exc, "conflictos", None) or []]


@ruta(bp, "/programaciones", rol=OPERADOR, metodos=("POST",))
def crear():
    robot_id = c.entero("RobotId", obligatorio=True, minimo=1)
    valores = definicion()
    equipos = c.enteros("EquipoId")
    forzar = _forzar()
    try:
        nueva = ops.crear(web.db(), c.actor(), Programacion(RobotId=robot_id, **valores), equipos,
                          ahora=c.ahora(), forzar=forzar, id_formulario=c.id_formulario())
    except ops.OperacionRechazada as exc:
        return c.rechazado(PLANTILLA, {"conflictos": _conflictos(exc)}, exc.mensaje, 409,
                           **_formulario(accion="crear"))
    if isinstance(nueva, formularios.IdYaAplicado):
        return c.hecho(nueva.previo.mensaje, "/programaciones", ProgramacionId=int(nueva), resultado="ya_aplicado")
    return c.hecho(f"Programación {nueva} creada.", "/programaciones", ProgramacionId=nueva)


def _actual(programacion_id: int) -> dict[str, Any] | None:
    return next((p for p in ops.listar(web.db()) if p["ProgramacionId"] == programacion_id), None)


def cambios_vistos(enviado: dict[str, Any], actual: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Columns where the row now differs from what the operator sent (shown on a stale version)."""
    if actual is None:
        return []
    return [{"Campo": k, "Ahora": actual.get(k), "Enviado": v} for k, v in enviado.items()
            if _normal(actual.get(k)) != _normal(v)]


def _normal(valor: Any) -> Any:
    if isinstance(valor, bool):
        return int(valor)
    if hasattr(valor, "isoformat"):
        return valor.isoformat()[:5] if hasattr(valor, "hour") and not hasattr(valor, "year") else valor.isoformat()
    return "" if valor is None else str(valor).strip().upper()


@ruta(bp, "/programaciones/<programacion_id>", rol=OPERADOR, metodos=("POST",))
def cambiar(programacion_id: str | int):
    programacion_id = c.identificador(str(programacion_id))
    accion = (request.form.get("accion") or "modificar").strip()
    if accion not in ACCIONES:
        raise c.EntradaNoValida(f"Acción desconocida (válidas: {', '.join(ACCIONES)}).")
    db, actor, ahora = web.db(), c.actor(), c.ahora()
    valores: dict[str, Any] = {}
    try:
        if accion == "modificar":
            valores = definicion()
            hecha = ops.modificar(db, actor, programacion_id, valores, ahora=ahora, version=c.version_obligatoria(),
                                  forzar=_forzar())
        elif accion == "activar":
            hecha = ops.activar(db, actor, programacion_id, ahora=ahora, forzar=_forzar(),
                                version=c.version_obligatoria())
        elif accion == "desactivar":
            hecha = ops.desactivar(db, actor, programacion_id, ahora=ahora, version=c.version_obligatoria())
        else:
            hecha = ops.eliminar(db, actor, programacion_id, ahora=ahora, version=c.version_obligatoria())
    except ops.NoEncontrada as exc:
        return c.rechazado(PLANTILLA, {}, exc.mensaje, 404, **_formulario(accion=accion, id=programacion_id))
    except ops.OperacionRechazada as exc:
        actual = _actual(programacion_id)
        cambios = cambios_vistos(valores, actual) if isinstance(exc, ops.VersionCambiada) else []
        return c.rechazado(PLANTILLA, {"conflictos": _conflictos(exc, programacion_id), "cambios": cambios}, exc.mensaje, 409,
                           **_formulario(accion=accion, id=programacion_id,
                                         version_actual=c.version_texto(actual and actual["FechaActualizacion"])))
    if isinstance(hecha, ops.ProgramacionYaAplicada):
        return c.hecho(f"Ya aplicado: la programación {programacion_id} ya tiene esos valores; no se ha cambiado "
                       "nada.", "/programaciones", ProgramacionId=programacion_id, resultado="ya_aplicado")
    hechos = {"modificar": "guardada", "activar": "activada", "desactivar": "desactivada", "eliminar": "eliminada"}
    return c.hecho(f"Programación {programacion_id} {hechos[accion]}.", "/programaciones",
                   ProgramacionId=programacion_id)
