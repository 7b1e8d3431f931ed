"""Schedule operations (BEHAVIOUR L7.4, CONSOLE §4): list, create, change, activate, deactivate and
delete ``Programaciones`` rows with their equipos, on either engine.

Every write is one transaction (``run_in_transaction``, retried whole on a deadlock):

1. the caller's role: ``operador`` or ``administrador`` (a ``lector`` is refused);
2. the row: :func:`common.programacion.validar` plus the rules a new row must also meet (known
   ``DiaSemana`` codes, no ``FechaEspecifica`` in the past, the robot and every equipo exist);
3. the overlap (:func:`common.solapamiento.solapes`) with the other active schedules of the same
   equipos, read under ``UPDLOCK, HOLDLOCK`` on SQL Server (SQLite's ``BEGIN IMMEDIATE`` already
   serialises writers): the pairs the write *introduces* on each equipo — the schedule itself
   against every other one there, and, when an equipo's assignment becomes shared
   (``ProgramacionId`` NULL = all the robot's schedules, as ``dbo.CargarProgramacionSAM`` does),
   the robot's other schedules that start to apply there;
4. a conflict refuses the write with a Spanish message naming each one; ``forzar=True`` writes it
   anyway only for an ``administrador`` (audited ``forzado``); creating or reactivating a schedule
   is refused too (L7.6, never forceable) while its robot is online (``EsOnline = 1``) or the
   balancer holds one of its equipos (an ``AsignadoPor = 'Balanceador'`` row of any robot: SAM
   never edits the balancer's rows, B9);
5. the write (``FechaActualizacion`` set), the ``EsProgramado = 1`` assignments
   (``AsignadoPor = 'Programacion'``), ``PermiteBalanceoDinamico = 0`` on the equipos that still
   allowed it (each audited as an ``Equipos`` change) and the ``Auditoria`` row, together. A refused attempt writes
   only its audit row, and the function then raises :class:`OperacionRechazada`.

Equipos are not removed from a schedule by :func:`modificar` (it changes the definition);
:func:`crear` adds them, :func:`eliminar` removes the schedule and its own assignments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from common.database import sentencias
from common.operaciones import auditoria, formularios
from common.operaciones.auditoria import Actor
from common.operaciones.rechazos import (  # noqa: F401 - re-exported: callers import them from here
    NoEncontrada,
    OperacionRechazada,
    PermisoDenegado,
    VersionCambiada,
    ejecutar_auditado,
)
from common.programacion import (
    DIAS_SEMANA,
    TIPOS,
    TOLERANCIA_DEFECTO_MIN,
    Programacion,
    tokens_dia_semana,
    validar,
)
from common.solapamiento import HORIZONTE_DIAS, Conflicto, solapes

ENTIDAD = "Programaciones"
ROLES_ESCRITURA = ("operador", "administrador")
ROL_FORZAR = "administrador"
#: Conflicts shown per pair of schedules in a refusal message.
CONFLICTOS_POR_PAR = 3

# --------------------------------------------------------------------------------------------
# SQL (T-SQL and SQLite side by side)
# --------------------------------------------------------------------------------------------
# ruff: noqa: S608 - the statements below are built from constants only (no input is ever formatted in)
_DEF = (
    "RobotId", "TipoProgramacion", "HoraInicio", "HoraFin", "Tolerancia", "DiaSemana", "DiaDelMes",
    "FechaEspecifica", "EsCiclico", "FechaInicioVentana", "FechaFinVentana", "IntervaloEntreEjecuciones",
    "DiaInicioMes", "DiaFinMes", "UltimosDiasMes", "Activo",
)  # fmt: skip
_COLS = ", ".join(_DEF)
_COLS_P = ", ".join(f"p.{c}" for c in _DEF)
_BLOQUEO = " WITH (UPDLOCK, HOLDLOCK)"


def _dos(nombre: str, plantilla: str, *, filas: str = "rowcount", **solo: str) -> None:
    """Register ``plantilla`` for both dialects: ``{t}`` is ``dbo.`` / nothing, ``{b}`` the T-SQL
    lock hint on a read that guards a write; ``solo`` holds dialect-only fragments."""
    tsql = plantilla.format(t="dbo.", b=_BLOQUEO, marcas="{marcas}", **{k: v[0] for k, v in solo.items()})
    sqlite = plantilla.format(t="", b="", marcas="{marcas}", **{k: v[1] for k, v in solo.items()})
    sentencias.registrar(nombre, tsql=tsql, sqlite=sqlite, filas=filas)


_dos("programaciones.leer",
     f"SELECT ProgramacionId, {_COLS}, FechaActualizacion FROM {{t}}Programaciones{{b}} WHERE ProgramacionId = ?")
_dos("programaciones.del_robot",
     f"SELECT ProgramacionId, {_COLS} FROM {{t}}Programaciones{{b}} WHERE RobotId = ? AND Activo = 1")
_dos("programaciones.robot", "SELECT RobotId, Robot FROM {t}Robots WHERE RobotId = ?")
_dos("programaciones.equipos", "SELECT EquipoId, Equipo FROM {t}Equipos WHERE EquipoId IN ({marcas})")
# The active schedules on each equipo: the assignment's own schedule, or all the robot's when NULL.
_dos("programaciones.en_equipos",
     f"SELECT a.EquipoId, p.ProgramacionId, {_COLS_P}, r.Robot "
     "FROM {t}Asignaciones AS a{b} "
     "INNER JOIN {t}Programaciones AS p{b} "
     "ON p.ProgramacionId = a.ProgramacionId OR (a.ProgramacionId IS NULL AND p.RobotId = a.RobotId) "
     "INNER JOIN {t}Robots AS r ON r.RobotId = p.RobotId "
     "WHERE a.EsProgramado = 1 AND p.Activo = 1 AND a.EquipoId IN ({marcas})")
_dos("programaciones.asignaciones_robot",
     "SELECT EquipoId, EsProgramado, ProgramacionId FROM {t}Asignaciones{b} "
     "WHERE RobotId = ? AND EquipoId IN ({marcas})")
_dos("programaciones.equipos_de",
     "SELECT a.EquipoId FROM {t}Asignaciones AS a{b} "
     "WHERE a.EsProgramado = 1 AND (a.ProgramacionId = ? OR (a.ProgramacionId IS NULL AND a.RobotId = ?))")
_dos("programaciones.insertar",
     f"INSERT INTO {{t}}Programaciones ({_COLS}, FechaActualizacion) {{salida}}"
     f"VALUES ({', '.join('?' * (len(_DEF) + 1))}){{retorno}}",
     salida=("OUTPUT INSERTED.ProgramacionId ", ""), retorno=("", " RETURNING ProgramacionId"))
_dos("programaciones.actualizar",
     "UPDATE {t}Programaciones SET " + ", ".join(f"{c} = ?" for c in _DEF[1:])
     + ", FechaActualizacion = ? WHERE ProgramacionId = ?")
_dos("programaciones.cambiar_activo",
     "UPDATE {t}Programaciones SET Activo = ?, FechaActualizacion = ? WHERE ProgramacionId = ?")
_dos("programaciones.asignacion_actualizar",
     "UPDATE {t}Asignaciones SET EsProgramado = 1, ProgramacionId = ?, AsignadoPor = 'Programacion', "
     "FechaAsignacion = ? WHERE RobotId = ? AND EquipoId = ? AND AsignadoPor <> 'Balanceador'")
# L7.6: what a schedule may not take over (an online robot, the balancer's rows) and the equipos it
# withdraws from the balancer.
_dos("programaciones.robot_online", "SELECT RobotId, Robot, EsOnline FROM {t}Robots{b} WHERE RobotId = ?")
_dos("programaciones.del_balanceador",
     "SELECT a.RobotId, a.EquipoId, r.Robot, e.Equipo FROM {t}Asignaciones AS a{b} "
     "INNER JOIN {t}Robots AS r ON r.RobotId = a.RobotId INNER JOIN {t}Equipos AS e ON e.EquipoId = a.EquipoId "
     "WHERE a.AsignadoPor = 'Balanceador' AND a.EquipoId IN ({marcas}) ORDER BY a.EquipoId, a.RobotId")
_dos("programaciones.equipos_balanceables",
     "SELECT EquipoId, Equipo FROM {t}Equipos{b} WHERE PermiteBalanceoDinamico = 1 AND EquipoId IN ({marcas}) "
     "ORDER BY EquipoId")
_dos("programaciones.quitar_balanceo",
     "UPDATE {t}Equipos SET PermiteBalanceoDinamico = 0, FechaActualizacion = ? "
     "WHERE EquipoId = ? AND PermiteBalanceoDinamico = 1")
_dos("programaciones.asignacion_insertar",
     "INSERT INTO {t}Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, AsignadoPor, "
     "ProgramacionId) VALUES (?, ?, 1, 0, ?, 'Programacion', ?)")
_dos("programaciones.quitar_asignaciones", "DELETE FROM {t}Asignaciones WHERE ProgramacionId = ?")
_dos("programaciones.eliminar", "DELETE FROM {t}Programaciones WHERE ProgramacionId = ?")
_dos("programaciones.listar",
     f"SELECT p.ProgramacionId, {_COLS_P}, p.FechaActualizacion, r.Robot "
     "FROM {t}Programaciones AS p INNER JOIN {t}Robots AS r ON r.RobotId = p.RobotId "
     "ORDER BY p.ProgramacionId")
_dos("programaciones.asignaciones_programadas",
     "SELECT a.RobotId, a.EquipoId, a.ProgramacionId, e.Equipo "
     "FROM {t}Asignaciones AS a INNER JOIN {t}Equipos AS e ON e.EquipoId = a.EquipoId "
     "WHERE a.EsProgramado = 1 ORDER BY a.EquipoId")


# --------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------
class ProgramacionInvalida(OperacionRechazada):
    def __init__(self, problemas: list[str]) -> None:
        super().__init__("La programación no es válida: " + "; ".join(problemas) + ".")
        self.problemas = problemas


class SolapeRechazado(OperacionRechazada):
    def __init__(self, conflictos: list[ConflictoEnEquipo]) -> None:
        super().__init__(mensaje_solapes(conflictos) + "\nSólo un administrador puede forzarla.")
        self.conflictos = conflictos


class ChoqueConBalanceo(OperacionRechazada):
    """L7.6: the robot is online, or the balancer holds one of the equipos."""


# --------------------------------------------------------------------------------------------
# The pure part: normalising a row and the conflicts a write introduces
# --------------------------------------------------------------------------------------------
#: The type-specific columns, by type (canonical spelling). A write that sets one of them on a
#: schedule of another type is refused (:func:`columnas_ajenas`, ``THROW 50028`` in
#: ``dbo.ValidarProgramacionSAM``): dropping it silently would store something else than what the
#: operator asked for.
COLUMNAS_DEL_TIPO = {
    "Semanal": ("DiaSemana",),
    "Mensual": ("DiaDelMes",),
    "Especifica": ("FechaEspecifica",),
    "RangoMensual": ("DiaInicioMes", "DiaFinMes", "UltimosDiasMes"),
}


def _tipo_canonico(texto: str | None) -> str | None:
    clave = (texto or "").rstrip().upper()
    return next((t for t in TIPOS if t.upper() == clave), None)


def ajenas_al_tipo(tipo: str | None) -> tuple[str, ...]:
    """The type-specific columns that do not belong to ``tipo`` (any spelling; all of them for an
    unknown type)."""
    propio = _tipo_canonico(tipo)
    return tuple(c for t, cols in COLUMNAS_DEL_TIPO.items() if t != propio for c in cols)


def _tiene_valor(valor: Any) -> bool:
    return valor is not None and not (isinstance(valor, str) and not valor.strip())


def columnas_ajenas(p: Programacion) -> list[str]:
    """One problem per column set on ``p`` that belongs to another schedule type (D3)."""
    tipo = _tipo_canonico(p.TipoProgramacion)
    if tipo is None:
        return []  # validar already names the unknown type
    duenos = {c: t for t, cols in COLUMNAS_DEL_TIPO.items() for c in cols}
    return [f"{c} no corresponde a una programación {tipo} (sólo vale para {duenos[c]}): debe quedar vacío"
            for c in ajenas_al_tipo(tipo) if _tiene_valor(getattr(p, c))]


def normalizar(p: Programacion) -> Programacion:
    """The row as it is stored: the type's canonical spelling, ``DiaSemana`` upper-cased and trimmed
    (blank = NULL), a NULL tolerance stored as the default. Columns of another type are kept, so
    :func:`problemas_al_escribir` refuses them instead of dropping them."""
    tipo = _tipo_canonico(p.TipoProgramacion) or p.TipoProgramacion
    dias = p.DiaSemana.strip().upper() if _tiene_valor(p.DiaSemana) else None
    tolerancia = TOLERANCIA_DEFECTO_MIN if p.Tolerancia is None else p.Tolerancia
    return replace(p, TipoProgramacion=tipo, DiaSemana=dias, Tolerancia=tolerancia)


def problemas_al_escribir(p: Programacion, ahora: datetime, *, nueva_fecha: bool) -> list[str]:
    """:func:`validar` plus what a write refuses besides: columns of another schedule type, unknown
    ``DiaSemana`` codes and, when the date is being set, a ``FechaEspecifica`` in the past."""
    problemas = validar(p) + columnas_ajenas(p)
    if p.tipo == "SEMANAL":
        desconocidos = sorted(tokens_dia_semana(p.DiaSemana) - set(DIAS_SEMANA))
        if desconocidos:
            problemas.append(f"días de la semana no válidos: {', '.join(desconocidos)} (use LU MA MI JU VI SA DO)")
    if nueva_fecha and p.tipo == "ESPECIFICA" and p.FechaEspecifica and p.FechaEspecifica < ahora.date():
        problemas.append("FechaEspecifica en el pasado")
    return problemas


@dataclass(frozen=True)
class ConflictoEnEquipo:
    """Two schedules that would overlap on one equipo; ``a`` is the one the write adds there."""

    equipo_id: int
    equipo: str
    a: Programacion
    robot_a: str
    b: Programacion
    robot_b: str
    conflictos: list[Conflicto] = field(default_factory=list)

    def describir(self, candidata_id: int | None) -> str:
        cuando = "; ".join(c.describir() for c in self.conflictos[:CONFLICTOS_POR_PAR])
        if len(self.conflictos) > CONFLICTOS_POR_PAR:
            cuando += " y más veces"
        otra = f"la programación {self.b.ProgramacionId} del robot {self.robot_b} ({_resumen(self.b)})"
        donde = f"equipo {self.equipo} (id {self.equipo_id})"
        if self.a.ProgramacionId == candidata_id:
            return f"{donde}: con {otra}, {cuando}"
        return (f"{donde}: la programación {self.a.ProgramacionId} del robot {self.robot_a} pasaría a valer "
                f"también en este equipo y se solapa con {otra}, {cuando}")

    def como_dict(self) -> dict[str, Any]:
        return {
            "EquipoId": self.equipo_id, "Equipo": self.equipo,
            "ProgramacionA": self.a.ProgramacionId, "ProgramacionB": self.b.ProgramacionId,
            "Solapes": [{"Desde": c.inicio, "Hasta": c.fin} for c in self.conflictos],
        }  # fmt: skip


def _resumen(p: Programacion) -> str:
    forma = "cíclica" if p.EsCiclico else "una vez"
    return f"{p.TipoProgramacion} {p.HoraInicio:%H:%M}, {forma}" if p.HoraInicio else p.TipoProgramacion


def mensaje_solapes(conflictos: list[ConflictoEnEquipo], candidata_id: int | None = None) -> str:
    lineas = [f"- {c.describir(candidata_id)}" for c in conflictos]
    return "La programación se solapa con otras programaciones activas de sus equipos:\n" + "\n".join(lineas)


@dataclass
class EstadoEquipo:
    """One equipo as the overlap check sees it: the active schedules there before the write and the
    ones the write brings (the candidate, and the robot's others when the assignment becomes shared)."""

    equipo_id: int
    equipo: str
    antes: dict[int, Programacion] = field(default_factory=dict)
    llegan: dict[int, Programacion] = field(default_factory=dict)


def conflictos_nuevos(
    candidata: Programacion,
    equipos: Iterable[EstadoEquipo],
    robots: Mapping[int, str],
    desde: date,
    dias: int = HORIZONTE_DIAS,
) -> list[ConflictoEnEquipo]:
    """Every overlapping pair the write introduces: a schedule that arrives on an equipo against
    every other schedule there after the write (pairs already together before are not re-judged)."""
    clave_c = candidata.ProgramacionId or 0
    out: list[ConflictoEnEquipo] = []
    for eq in equipos:
        llegan = {**eq.llegan, clave_c: candidata}
        despues = {**{k: v for k, v in eq.antes.items() if k != clave_c}, **llegan}
        vistos: set[frozenset[int]] = set()
        for ka in sorted(llegan):
            for kb in sorted(despues):
                if ka == kb or frozenset((ka, kb)) in vistos:
                    continue
                vistos.add(frozenset((ka, kb)))
                a, b = despues[ka], despues[kb]
                encontrados = solapes(a, b, desde, dias, maximo=CONFLICTOS_POR_PAR + 1)
                if encontrados:
                    out.append(ConflictoEnEquipo(eq.equipo_id, eq.equipo, a, robots.get(a.RobotId, "?"), b,
                                                 robots.get(b.RobotId, "?"), encontrados))
    return out


def motivos_balanceo(robot: Mapping[str, Any], del_balanceador: Iterable[Mapping[str, Any]]) -> list[str]:
    """L7.6 (pure): why a schedule may not take its robot and equipos now. ``robot``: its row
    (``EsOnline``); ``del_balanceador``: the balancer's rows on the schedule's equipos (any robot)."""
    out: list[str] = []
    if robot.get("EsOnline"):
        out.append(f"el robot {robot['Robot']} (id {robot['RobotId']}) está online (EsOnline = sí): un robot se "
                   "lanza o por sus programaciones o online, no de las dos formas; ponga EsOnline = no en el robot "
                   "y programe entonces")
    for f in del_balanceador:
        out.append(f"el equipo {f['Equipo']} lo tiene asignado el Balanceador para el robot {f['Robot']} "
                   f"(id {f['RobotId']}); SAM no modifica las filas del Balanceador: ponga "
                   "PermiteBalanceoDinamico = no en el equipo, espere a que el Balanceador lo libere y "
                   "programe entonces")
    return out


# --------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------
def _programacion(fila: Mapping[str, Any]) -> Programacion:
    return Programacion.desde_fila(fila)


def listar(db: Any) -> list[dict[str, Any]]:
    """Every schedule with its robot name and the equipos it serves (``Equipos``: id and name)."""
    filas = db.query(sentencias.sql(db, "programaciones.listar"))
    asignaciones = db.query(sentencias.sql(db, "programaciones.asignaciones_programadas"))
    out = []
    for f in filas:
        p = _programacion(f)
        equipos = [
            {"EquipoId": a["EquipoId"], "Equipo": a["Equipo"]}
            for a in asignaciones
            if a["ProgramacionId"] == p.ProgramacionId or (a["ProgramacionId"] is None and a["RobotId"] == p.RobotId)
        ]
        out.append({**p.como_fila(), "Robot": f["Robot"], "FechaActualizacion": f["FechaActualizacion"],
                    "Equipos": equipos})
    return out


def _leer(tx: Any, programacion_id: int) -> tuple[Programacion, datetime | None] | None:
    fila = tx.query_one(sentencias.sql(tx, "programaciones.leer"), (programacion_id,))
    return None if fila is None else (_programacion(fila), fila["FechaActualizacion"])


def _estado_equipos(tx: Any, p: Programacion, equipos: Mapping[int, str], *, asignar: bool) -> list[EstadoEquipo]:
    """The schedules on each equipo now, and those the write brings there besides ``p``."""
    ids = sorted(equipos)
    estados = {e: EstadoEquipo(e, equipos[e]) for e in ids}
    if not ids:
        return []
    for f in tx.query(sentencias.sql(tx, "programaciones.en_equipos", marcas=len(ids)), ids):
        estados[f["EquipoId"]].antes[f["ProgramacionId"]] = _programacion(f)
    if asignar:
        compartidas = _equipos_compartidos(tx, p, ids)
        if compartidas:
            propias = {f["ProgramacionId"]: _programacion(f)
                       for f in tx.query(sentencias.sql(tx, "programaciones.del_robot"), (p.RobotId,))}
            for e in compartidas:
                estados[e].llegan.update({k: v for k, v in propias.items()
                                          if k != p.ProgramacionId and k not in estados[e].antes})
    return list(estados.values())


def _equipos_compartidos(tx: Any, p: Programacion, ids: list[int]) -> list[int]:
    """Equipos whose assignment of the robot becomes shared (``ProgramacionId`` NULL) by the write."""
    filas = tx.query(sentencias.sql(tx, "programaciones.asignaciones_robot", marcas=len(ids)), [p.RobotId, *ids])
    return [f["EquipoId"] for f in filas if _asignacion_tras(f, p.ProgramacionId) is None and f["EsProgramado"]]


def _asignacion_tras(fila: Mapping[str, Any], programacion_id: int | None) -> int | None:
    """``ProgramacionId`` of an existing assignment once it serves ``programacion_id`` too: a pair
    already scheduled by another of the robot's schedules serves them all (NULL)."""
    if fila["EsProgramado"] and fila["ProgramacionId"] != programacion_id:
        return None
    return programacion_id


def _robots(tx: Any, estados: list[EstadoEquipo], p: Programacion) -> dict[int, str]:
    nombres = {x.RobotId: "?" for e in estados for x in (*e.antes.values(), *e.llegan.values())}
    nombres[p.RobotId] = "?"
    for rid in nombres:
        fila = tx.query_one(sentencias.sql(tx, "programaciones.robot"), (rid,))
        nombres[rid] = fila["Robot"] if fila else f"id {rid}"
    return nombres


# --------------------------------------------------------------------------------------------
# Writes
# --------------------------------------------------------------------------------------------
@dataclass
class _Intento:
    """One write in progress: what the audit row says about it."""

    actor: Actor
    accion: str
    ahora: datetime
    entidad_id: int | None = None
    antes: dict[str, Any] | None = None
    despues: dict[str, Any] | None = None
    #: The console form's one-time token (:mod:`.formularios`): recorded only on an applied change.
    id_formulario: str | None = None

    def auditar(self, tx: Any, resultado: str, **extra: Any) -> None:
        despues = {**(self.despues or {}), **extra} if (self.despues or extra) else None
        aplicado = resultado in (auditoria.OK, auditoria.FORZADO)
        auditoria.registrar(tx, self.actor, accion=self.accion, entidad=ENTIDAD, entidad_id=self.entidad_id,
                            antes=self.antes, despues=despues, resultado=resultado, ahora=self.ahora,
                            id_formulario=self.id_formulario if aplicado else None)


def _marca(ahora: datetime) -> datetime:
    """``FechaActualizacion``: SAM's clock at millisecond precision (DATETIME2(3))."""
    return ahora.replace(tzinfo=None, microsecond=ahora.microsecond // 1000 * 1000)


def _vista(p: Programacion, equipos: Iterable[int] | None = None) -> dict[str, Any]:
    fila = p.como_fila()
    if equipos is not None:
        fila["Equipos"] = sorted(equipos)
    return fila


def _ejecutar(db: Any, intento: _Intento, trabajo: Any) -> Any:
    """Run ``trabajo(tx)`` as one audited unit of work (:func:`.rechazos.ejecutar_auditado`)."""
    return ejecutar_auditado(db, intento, ROLES_ESCRITURA, "cambiar programaciones", trabajo)


def _decidir(intento: _Intento, conflictos: list[ConflictoEnEquipo], forzar: bool, candidata_id: int | None
             ) -> tuple[OperacionRechazada | None, str]:
    """Refusal (or None) and the audit result of a write with these conflicts."""
    if not conflictos:
        return None, auditoria.OK
    if not forzar:
        return SolapeRechazado(conflictos), auditoria.RECHAZADO
    if intento.actor.rol != ROL_FORZAR:
        return PermisoDenegado(
            f"Sólo un administrador puede forzar un solape (usuario {intento.actor.usuario}, rol "
            f"{intento.actor.rol}).\n" + mensaje_solapes(conflictos, candidata_id), conflictos
        ), auditoria.RECHAZADO
    return None, auditoria.FORZADO


def _comprobar_solapes(tx: Any, intento: _Intento, p: Programacion, equipos: Mapping[int, str], *,
                       asignar: bool, forzar: bool) -> tuple[OperacionRechazada | None, str]:
    estados = _estado_equipos(tx, p, equipos, asignar=asignar)
    conflictos = conflictos_nuevos(p, estados, _robots(tx, estados, p), intento.ahora.date())
    rechazo, resultado = _decidir(intento, conflictos, forzar, p.ProgramacionId)
    if conflictos:
        intento.despues = {**(intento.despues or {}), "Solapes": [c.como_dict() for c in conflictos]}
    return rechazo, resultado


def _parametros(p: Programacion) -> list[Any]:
    fila = p.como_fila()
    return [int(v) if isinstance(v, bool) else v for v in (fila[c] for c in _DEF)]


def _asignar(tx: Any, p: Programacion, equipos: Iterable[int], ahora: datetime) -> None:
    ids = sorted(equipos)
    existentes = {f["EquipoId"]: f for f in tx.query(
        sentencias.sql(tx, "programaciones.asignaciones_robot", marcas=len(ids)), [p.RobotId, *ids])}
    for e in ids:
        if e in existentes:
            sentencias.ejecutar(tx, "programaciones.asignacion_actualizar",
                                (_asignacion_tras(existentes[e], p.ProgramacionId), ahora, p.RobotId, e))
        else:
            sentencias.ejecutar(tx, "programaciones.asignacion_insertar", (p.RobotId, e, ahora, p.ProgramacionId))


def _comprobar_balanceo(tx: Any, robot_id: int, ids: list[int]) -> ChoqueConBalanceo | None:
    """L7.6: refuse when the robot is online or the balancer holds one of ``ids`` (read under
    ``UPDLOCK, HOLDLOCK`` on SQL Server, so the balancer cannot take one before the write)."""
    robot = tx.query_one(sentencias.sql(tx, "programaciones.robot_online"), (robot_id,))
    filas = tx.query(sentencias.sql(tx, "programaciones.del_balanceador", marcas=len(ids)), ids) if ids else []
    motivos = motivos_balanceo(robot or {}, filas)
    if not motivos:
        return None
    return ChoqueConBalanceo("No se puede programar: " + "; ".join(motivos) + ".")


def _retirar_del_balanceo(tx: Any, intento: _Intento, programacion_id: int, ids: list[int], marca: datetime
                          ) -> list[int]:
    """L7.6: the schedule's equipos still offered to the balancer get ``PermiteBalanceoDinamico = 0``
    (``FechaActualizacion`` set, one ``Equipos`` audit row each); the ids changed."""
    if not ids:
        return []
    filas = tx.query(sentencias.sql(tx, "programaciones.equipos_balanceables", marcas=len(ids)), ids)
    hechos = []
    for f in filas:
        if sentencias.ejecutar(tx, "programaciones.quitar_balanceo", (marca, f["EquipoId"])):
            hechos.append(f["EquipoId"])
            auditoria.registrar(
                tx, intento.actor, accion="modificar", entidad="Equipos", entidad_id=f["EquipoId"],
                antes={"PermiteBalanceoDinamico": True},
                despues={"PermiteBalanceoDinamico": False,
                         "Motivo": f"el equipo {f['Equipo']} sirve la programación {programacion_id}"},
                resultado=auditoria.OK, ahora=intento.ahora)
    return hechos


def _equipos_existentes(tx: Any, ids: list[int]) -> tuple[dict[int, str], list[str]]:
    if not ids:
        return {}, ["indique al menos un equipo"]
    filas = tx.query(sentencias.sql(tx, "programaciones.equipos", marcas=len(ids)), ids)
    encontrados = {f["EquipoId"]: f["Equipo"] for f in filas}
    faltan = [str(e) for e in ids if e not in encontrados]
    return encontrados, ([f"equipos que no existen: {', '.join(faltan)}"] if faltan else [])


def crear(db: Any, actor: Actor, programacion: Programacion, equipos: Iterable[int], *, ahora: datetime,
          forzar: bool = False, id_formulario: str | None = None) -> int:
    """Create an active schedule on ``equipos`` (EquipoId) and its assignments; its ``ProgramacionId``.

    Raises :class:`OperacionRechazada` (audited) when the caller may not, the row is invalid, the
    robot or an equipo does not exist, or it overlaps and is not forced by an administrador. A form
    already applied (``id_formulario``) writes nothing and returns the first schedule's id as
    :class:`formularios.IdYaAplicado`."""
    p = normalizar(replace(programacion, ProgramacionId=None, Activo=True))
    ids = sorted({int(e) for e in equipos})
    intento = _Intento(actor, "crear", ahora, despues=_vista(p, ids), id_formulario=id_formulario)

    def trabajo(tx: Any) -> Any:
        nombres, problemas = _equipos_existentes(tx, ids)
        if p.RobotId is None or tx.query_one(sentencias.sql(tx, "programaciones.robot"), (p.RobotId,)) is None:
            problemas.insert(0, f"el robot {p.RobotId} no existe")
        problemas = problemas_al_escribir(p, ahora, nueva_fecha=True) + problemas
        if problemas:
            return ProgramacionInvalida(problemas)
        rechazo = _comprobar_balanceo(tx, p.RobotId, ids)
        if rechazo is None:
            rechazo, resultado = _comprobar_solapes(tx, intento, p, nombres, asignar=True, forzar=forzar)
        if rechazo is not None:
            return rechazo
        marca = _marca(ahora)
        fila = tx.query_one(sentencias.sql(tx, "programaciones.insertar"), [*_parametros(p), marca])
        nueva = replace(p, ProgramacionId=int(next(iter(fila.values()))))
        _asignar(tx, nueva, ids, marca)
        retirados = _retirar_del_balanceo(tx, intento, nueva.ProgramacionId, ids, marca)
        intento.entidad_id = nueva.ProgramacionId
        intento.despues = {**(intento.despues or {}), **_vista(nueva, ids)}
        if retirados:
            intento.despues["SinBalanceoDinamico"] = retirados
        intento.auditar(tx, resultado)
        return nueva.ProgramacionId

    hecha = _ejecutar(db, intento, trabajo)
    return formularios.IdYaAplicado.de(hecha) if isinstance(hecha, formularios.YaAplicado) else hecha


def modificar(db: Any, actor: Actor, programacion_id: int, cambios: Mapping[str, Any], *, ahora: datetime,
              version: datetime | None = None, forzar: bool = False) -> Programacion:
    """Change a schedule's definition (``cambios``: column -> value; ``RobotId`` and
    ``ProgramacionId`` cannot change). ``version`` is the ``FechaActualizacion`` the caller saw:
    a newer row is refused. An active result is checked for overlaps on its equipos."""
    desconocidas = sorted(set(cambios) - set(_DEF[1:]))
    intento = _Intento(actor, "modificar", ahora, entidad_id=programacion_id)

    def trabajo(tx: Any) -> Any:
        leida = _leer(tx, programacion_id)
        if leida is None:
            return NoEncontrada(f"La programación {programacion_id} no existe.")
        actual, fecha = leida
        intento.antes = {**_vista(actual), "FechaActualizacion": fecha}
        if desconocidas:
            return ProgramacionInvalida([f"columnas que no se pueden cambiar: {', '.join(desconocidas)}"])
        nueva = normalizar(Programacion.desde_fila(_fusionar(actual, cambios)))
        if _vieja(version, fecha):  # stale: applied once already, or refused naming what differs
            return ya_aplicada(actual) if nueva == actual else version_cambiada(
                programacion_id, version, fecha, actual, nueva)
        intento.despues = _vista(nueva)
        cambia_fecha = nueva.FechaEspecifica != actual.FechaEspecifica
        problemas = problemas_al_escribir(nueva, ahora, nueva_fecha=cambia_fecha)
        if problemas:
            return ProgramacionInvalida(problemas)
        return _guardar(tx, intento, nueva, forzar=forzar)

    return _ejecutar(db, intento, trabajo)


def _fusionar(actual: Programacion, cambios: Mapping[str, Any]) -> dict[str, Any]:
    """The stored row with ``cambios`` applied. The stored columns of another type than the new one
    are cleared when the caller does not set them (a type change leaves the old type's data
    behind); a column of another type the caller sets is kept, and then refused."""
    fila = actual.como_fila()
    tipo = cambios.get("TipoProgramacion", actual.TipoProgramacion)
    fila.update({c: None for c in ajenas_al_tipo(tipo) if c not in cambios})
    return {**fila, **cambios}


def _guardar(tx: Any, intento: _Intento, nueva: Programacion, *, forzar: bool) -> Any:
    resultado = auditoria.OK
    if nueva.Activo:
        equipos = [f["EquipoId"] for f in tx.query(sentencias.sql(tx, "programaciones.equipos_de"),
                                                   (nueva.ProgramacionId, nueva.RobotId))]
        nombres, _ = _equipos_existentes(tx, equipos) if equipos else ({}, [])
        rechazo, resultado = _comprobar_solapes(tx, intento, nueva, nombres, asignar=False, forzar=forzar)
        if rechazo is not None:
            return rechazo
    sentencias.ejecutar(tx, "programaciones.actualizar",
                        [*_parametros(nueva)[1:], _marca(intento.ahora), nueva.ProgramacionId])
    intento.auditar(tx, resultado)
    return nueva


def activar(db: Any, actor: Actor, programacion_id: int, *, ahora: datetime, forzar: bool = False,
            version: datetime | None = None) -> Programacion:
    """Reactivate a schedule (checked for overlaps like a new one)."""
    return _cambiar_activo(db, actor, programacion_id, True, ahora=ahora, forzar=forzar, version=version)


def desactivar(db: Any, actor: Actor, programacion_id: int, *, ahora: datetime,
               version: datetime | None = None) -> Programacion:
    """Deactivate a schedule: the Lanzador stops launching it; its row and equipos are kept."""
    return _cambiar_activo(db, actor, programacion_id, False, ahora=ahora, forzar=False, version=version)


def _cambiar_activo(db: Any, actor: Actor, programacion_id: int, activo: bool, *, ahora: datetime,
                    forzar: bool, version: datetime | None = None) -> Programacion:
    intento = _Intento(actor, "activar" if activo else "desactivar", ahora, entidad_id=programacion_id)

    def trabajo(tx: Any) -> Any:
        leida = _leer(tx, programacion_id)
        if leida is None:
            return NoEncontrada(f"La programación {programacion_id} no existe.")
        actual = leida[0]
        intento.antes = {**_vista(actual), "FechaActualizacion": leida[1]}
        nueva = replace(actual, Activo=activo)
        intento.despues = _vista(nueva)
        if _vieja(version, leida[1]):
            return ya_aplicada(actual) if nueva == actual else version_cambiada(
                programacion_id, version, leida[1], actual, nueva)
        if activo and validar(nueva):
            return ProgramacionInvalida(validar(nueva))
        if not activo or actual.Activo:
            return _guardar(tx, intento, nueva, forzar=forzar)
        equipos = sorted(f["EquipoId"] for f in tx.query(sentencias.sql(tx, "programaciones.equipos_de"),
                                                         (programacion_id, actual.RobotId)))
        rechazo = _comprobar_balanceo(tx, actual.RobotId, equipos)
        if rechazo is not None:
            return rechazo
        guardada = _guardar(tx, intento, nueva, forzar=forzar)
        if not isinstance(guardada, OperacionRechazada):
            _retirar_del_balanceo(tx, intento, programacion_id, equipos, _marca(ahora))
        return guardada

    return _ejecutar(db, intento, trabajo)


def eliminar(db: Any, actor: Actor, programacion_id: int, *, ahora: datetime, version: datetime | None = None) -> None:
    """Delete a schedule and the assignments that serve only it (``ProgramacionId`` = its id);
    shared assignments (NULL) stay for the robot's other schedules."""
    intento = _Intento(actor, "eliminar", ahora, entidad_id=programacion_id)

    def trabajo(tx: Any) -> Any:
        leida = _leer(tx, programacion_id)
        if leida is None:
            return NoEncontrada(f"La programación {programacion_id} no existe.")
        equipos = [f["EquipoId"] for f in tx.query(sentencias.sql(tx, "programaciones.equipos_de"),
                                                   (programacion_id, leida[0].RobotId))]
        intento.antes = {**_vista(leida[0], equipos), "FechaActualizacion": leida[1]}
        if _vieja(version, leida[1]):
            return version_cambiada(programacion_id, version, leida[1], leida[0], None)
        sentencias.ejecutar(tx, "programaciones.quitar_asignaciones", (programacion_id,))
        sentencias.ejecutar(tx, "programaciones.eliminar", (programacion_id,))
        intento.auditar(tx, auditoria.OK)
        return None

    _ejecutar(db, intento, trabajo)


# --------------------------------------------------------------------------------------------
# Optimistic concurrency of every schedule write (CONSOLE §4)
# --------------------------------------------------------------------------------------------
class ProgramacionYaAplicada(Programacion):
    """What :func:`modificar`, :func:`activar` and :func:`desactivar` return when the version was
    stale but the row already holds what was sent (a form sent twice): nothing was written."""


def ya_aplicada(actual: Programacion) -> ProgramacionYaAplicada:
    return ProgramacionYaAplicada(**{f: getattr(actual, f) for f in actual.__dataclass_fields__})


def _vieja(version: datetime | None, fecha: datetime | None) -> bool:
    """Whether the caller's ``version`` is not the row's ``FechaActualizacion`` (None: not checked)."""
    return version is not None and (fecha is None or _marca(version) != _marca(fecha))


def _texto(valor: Any) -> str:
    if valor is None or valor == "":
        return "(vacío)"
    if isinstance(valor, bool):
        return "sí" if valor else "no"
    return valor.strftime("%H:%M") if hasattr(valor, "hour") and not hasattr(valor, "year") else str(valor)


def version_cambiada(programacion_id: int, version: datetime, fecha: datetime | None, actual: Programacion,
                     enviada: Programacion | None) -> VersionCambiada:
    """The stale-version refusal (pure): for an edit, each column where what was sent differs from
    the row now (yours / now); for a delete, the row as it is now."""
    ahora_fila, mia = actual.como_fila(), (enviada.como_fila() if enviada else None)
    cabecera = (f"La programación {programacion_id} cambió después de que usted la leyera (versión leída "
                f"{_marca(version):%Y-%m-%d %H:%M:%S.%f}"[:-3] + ", versión actual "
                + (f"{_marca(fecha):%Y-%m-%d %H:%M:%S.%f}"[:-3] if fecha else "(ninguna)")
                + "); no se ha guardado nada. Vuelva a abrirla y repita el cambio.")
    if mia is not None:
        lineas = [f"- {c}: {_texto(mia.get(c))} / {_texto(ahora_fila.get(c))}" for c in _DEF
                  if mia.get(c) != ahora_fila.get(c)]
        return VersionCambiada(cabecera + " Diferencias (campo: su valor / valor actual):\n" + "\n".join(lineas))
    lineas = [f"- {c}: {_texto(ahora_fila.get(c))}" for c in _DEF if ahora_fila.get(c) not in (None, "")]
    return VersionCambiada(cabecera + " Valores actuales:\n" + "\n".join(lineas))
