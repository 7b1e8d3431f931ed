"""Editing operator-owned columns of one row with optimistic concurrency (CONSOLE §4): the shared
machinery of :mod:`common.operaciones.robots`, :mod:`~common.operaciones.equipos` and
:mod:`~common.operaciones.pools`.

One call is one transaction (``run_in_transaction``, retried whole on a deadlock):

1. the caller's role (refused and audited ``rechazado`` below the table's role);
2. the values are converted and checked per column (:func:`convertir`): a bad one is refused;
3. the row is read under ``UPDLOCK, HOLDLOCK`` on SQL Server (SQLite's ``BEGIN IMMEDIATE``
   serialises writers);
4. ``version`` — the row's ``FechaActualizacion`` as the caller read it — is compared at
   millisecond precision (the column is ``DATETIME2(3)``; SQLite stores the same milliseconds as
   text). When it is stale:

   * if every submitted value already equals the stored one, the call is a no-op reported as
     :data:`YA_APLICADO` (a form sent twice applies once; nothing is written, not even an audit
     row, since nothing changed);
   * otherwise nothing is written but the ``conflicto`` audit row, and :class:`ConflictoDeVersion`
     lists each differing field as «su valor / valor actual»;

5. a submission equal to the row is :data:`SIN_CAMBIOS` (no write, no version bump);
6. the table's rules on the row as it would be after the write (``reglas``); a refusal is audited;
7. the UPDATE of every operator-owned column plus ``FechaActualizacion`` (the new version), and
   the ``ok`` audit row with the changed columns before and after.

``version=None`` skips step 4: only the command line may omit it (``--version-leida`` is optional
for scripts: last writer wins); every console form must carry it (400 otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common.database import sentencias
from common.operaciones import auditoria, formularios
from common.operaciones.auditoria import Actor
from common.operaciones.rechazos import (
    NoEncontrada,
    OperacionRechazada,
    PermisoDenegado,
    VersionCambiada,
    ejecutar_auditado,
)
from common.utils.enteros import MAX_INT_SQL, entero_ascii

APLICADO, YA_APLICADO, SIN_CAMBIOS = "aplicado", "ya_aplicado", "sin_cambios"
BOOL, ENTERO, ENTERO_NULO, TEXTO, TEXTO_NULO = "bool", "entero", "entero_nulo", "texto", "texto_nulo"
_VERDADERO = {"1", "true", "si", "sí", "s", "yes", "y", "verdadero"}
_FALSO = {"0", "false", "no", "n", "falso"}
_NULO = {"", "null", "none", "nulo"}


class CambioNoValido(OperacionRechazada):
    def __init__(self, problemas: Sequence[str]) -> None:
        super().__init__("No se puede guardar: " + "; ".join(problemas) + ".")
        self.problemas = list(problemas)


class ConflictoDeVersion(VersionCambiada):
    """The row changed after the caller read it; ``diferencias``: (campo, su valor, valor actual)."""

    def __init__(self, mensaje: str, diferencias: list[tuple[str, Any, Any]]) -> None:
        super().__init__(mensaje)
        self.diferencias = diferencias


@dataclass(frozen=True)
class Resultado:
    """What a write did: :data:`APLICADO`, :data:`YA_APLICADO` or :data:`SIN_CAMBIOS`."""

    estado: str
    mensaje: str
    fila: dict[str, Any] | None = None
    version: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def como_dict(self) -> dict[str, Any]:
        return {"estado": self.estado, "mensaje": self.mensaje, "fila": self.fila, "version": self.version,
                **self.extra}


def marca(momento: datetime) -> datetime:
    """A version value: SAM's clock at millisecond precision (``DATETIME2(3)``)."""
    return momento.replace(tzinfo=None, microsecond=momento.microsecond // 1000 * 1000)


def leer_version(texto: str | datetime | None) -> datetime | None:
    """A ``version`` as a form or the command line sends it (ISO text); ValueError (Spanish) if bad."""
    if texto is None or isinstance(texto, datetime):
        return texto
    limpio = str(texto).strip()
    if not limpio:
        return None
    try:
        return datetime.fromisoformat(limpio.replace("T", " "))
    except ValueError:
        raise ValueError(f"versión no válida: {limpio!r} (use la FechaActualizacion que se leyó, "
                         "AAAA-MM-DD HH:MM:SS.mmm)") from None


def texto_version(momento: datetime | None) -> str | None:
    return None if momento is None else marca(momento).isoformat(sep=" ", timespec="milliseconds")


def convertir(nombre: str, tipo: str, valor: Any) -> Any:
    """``valor`` (text from a form or the command line, or a Python value) as the column's type."""
    if tipo == TEXTO_NULO:
        if valor is None or (isinstance(valor, str) and not valor.strip()):
            return None
        return valor if isinstance(valor, str) else json.dumps(valor, ensure_ascii=False)
    if tipo == TEXTO:
        return "" if valor is None else str(valor).strip()
    texto = "" if valor is None else str(valor).strip().lower()
    if tipo == BOOL:
        if isinstance(valor, bool):
            return valor
        if texto in _VERDADERO or texto in _FALSO:
            return texto in _VERDADERO
        raise ValueError(f"{nombre} debe ser sí o no (1/0, true/false), no {valor!r}")
    if tipo == ENTERO_NULO and texto in _NULO:
        return None
    if isinstance(valor, bool):
        raise ValueError(f"{nombre} debe ser un número entero, no {valor!r}")
    numero = valor if isinstance(valor, int) else entero_ascii(str(valor))  # ASCII digits only: not "²", "+1"
    if numero is None or not -MAX_INT_SQL - 1 <= numero <= MAX_INT_SQL:
        vacio = " o vacío" if tipo == ENTERO_NULO else ""
        raise ValueError(f"{nombre} debe ser un número entero{vacio} entre {-MAX_INT_SQL - 1} y {MAX_INT_SQL}, "
                         f"no {valor!r}")
    return numero


@dataclass(frozen=True)
class TablaEditable:
    """One table whose operator-owned columns :func:`editar` writes."""

    entidad: str                     # Auditoria.Entidad, e.g. "Robots"
    singular: str                    # "el robot" (messages)
    clave: str                       # "RobotId"
    campos: Mapping[str, str]        # column -> type, in the UPDATE's order
    leer: str                        # registered statement: the row, locked, by key
    actualizar: str                  # registered statement: SET every column in ``campos`` + version
    roles: tuple[str, ...]
    etiqueta: Callable[[Mapping[str, Any]], str] = lambda f: ""

    def nombre(self, fila: Mapping[str, Any] | None, entidad_id: Any) -> str:
        extra = self.etiqueta(fila) if fila else ""
        return f"{self.singular} {entidad_id}" + (f" ({extra})" if extra else "")


Reglas = Callable[[Any, Mapping[str, Any], dict[str, Any], set[str]], list[str]]


def _comparable(tipo: str, valor: Any) -> Any:
    if valor is None:
        return None
    if tipo == BOOL:
        return bool(valor)
    return valor


def diferencias(tabla: TablaEditable, actual: Mapping[str, Any], cambios: Mapping[str, Any]) -> list[str]:
    """The submitted columns whose value differs from the stored one (pure)."""
    return [c for c in tabla.campos if c in cambios
            and _comparable(tabla.campos[c], cambios[c]) != _comparable(tabla.campos[c], actual.get(c))]


def mensaje_conflicto(tabla: TablaEditable, entidad_id: Any, actual: Mapping[str, Any], cambios: Mapping[str, Any],
                      version: datetime, distintas: list[str]) -> ConflictoDeVersion:
    fecha = actual.get("FechaActualizacion")
    tipos = tabla.campos
    lineas = [f"- {c}: {_mostrar(_comparable(tipos[c], cambios[c]))} / {_mostrar(_comparable(tipos[c], actual.get(c)))}"
              for c in distintas]
    mensaje = (f"{_mayuscula(tabla.nombre(actual, entidad_id))} cambió después de que usted lo leyera (versión "
               f"leída {texto_version(version)}, versión actual {texto_version(fecha)}); no se ha guardado nada. "
               "Vuelva a abrirlo y repita el cambio. Diferencias (campo: su valor / valor actual):\n" + "\n".join(lineas))
    return ConflictoDeVersion(mensaje, [(c, cambios[c], _comparable(tipos[c], actual.get(c))) for c in distintas])


def _mayuscula(texto: str) -> str:
    return texto[:1].upper() + texto[1:]


def _mostrar(valor: Any) -> str:
    if valor is None:
        return "(vacío)"
    if isinstance(valor, bool):
        return "sí" if valor else "no"
    return str(valor)


def _vista(tabla: TablaEditable, fila: Mapping[str, Any], columnas: Sequence[str]) -> dict[str, Any]:
    """The columns as the audit row shows them: bits as booleans on both engines."""
    return {c: _comparable(tabla.campos[c], fila.get(c)) for c in columnas}


def preparar(tabla: TablaEditable, cambios: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The submitted values converted, and the problems (unknown columns, bad values)."""
    problemas = [f"la columna {c} no se puede cambiar aquí" for c in cambios if c not in tabla.campos]
    valores: dict[str, Any] = {}
    for c, v in cambios.items():
        if c in tabla.campos:
            try:
                valores[c] = convertir(c, tabla.campos[c], v)
            except ValueError as exc:
                problemas.append(str(exc))
    return valores, problemas


def editar(db: Any, actor: Actor, tabla: TablaEditable, entidad_id: int, cambios: Mapping[str, Any], *,
           ahora: datetime, version: datetime | None, reglas: Reglas | None = None,
           accion: str = "modificar") -> Resultado:
    """Steps 1-7 of the module docstring. Raises :class:`OperacionRechazada` (audited)."""
    valores, problemas = preparar(tabla, cambios)

    def auditar(tx: Any, resultado: str, antes: Any, despues: Any) -> None:
        auditoria.registrar(tx, actor, accion=accion, entidad=tabla.entidad, entidad_id=entidad_id, antes=antes,
                            despues=despues, resultado=resultado, ahora=ahora)

    def unidad(tx: Any) -> Any:
        intento = {k: cambios[k] for k in cambios}
        if actor.rol not in tabla.roles:
            rechazo = PermisoDenegado(f"El usuario {actor.usuario} (rol {actor.rol}) no puede cambiar "
                                      f"{tabla.entidad.lower()}: hace falta el rol {' o '.join(tabla.roles)}.")
            auditar(tx, auditoria.RECHAZADO, None, {**intento, "Motivo": rechazo.mensaje})
            return rechazo
        actual = tx.query_one(sentencias.sql(tx, tabla.leer), (entidad_id,))
        if actual is None:
            rechazo = NoEncontrada(f"{_mayuscula(tabla.singular)} {entidad_id} no existe.")
        elif problemas:
            rechazo = CambioNoValido(problemas)
        else:
            return _aplicar(tx, tabla, entidad_id, actual, valores, version, ahora, reglas, auditar)
        auditar(tx, auditoria.RECHAZADO, None, {**intento, "Motivo": rechazo.mensaje})
        return rechazo

    resultado = db.run_in_transaction(unidad)
    if isinstance(resultado, OperacionRechazada):
        raise resultado
    return resultado


def _aplicar(tx: Any, tabla: TablaEditable, entidad_id: int, actual: dict[str, Any], valores: dict[str, Any],
             version: datetime | None, ahora: datetime, reglas: Reglas | None, auditar: Callable) -> Any:
    distintas = diferencias(tabla, actual, valores)
    fecha = actual.get("FechaActualizacion")
    nombre = tabla.nombre(actual, entidad_id)
    if version is not None and (fecha is None or marca(version) != marca(fecha)):
        if not distintas:
            return Resultado(YA_APLICADO, f"Ya aplicado: {nombre} ya tiene esos valores; no se ha cambiado nada.",
                             actual, fecha)
        rechazo = mensaje_conflicto(tabla, entidad_id, actual, valores, version, distintas)
        auditar(tx, auditoria.CONFLICTO, {**_vista(tabla, actual, distintas), "FechaActualizacion": fecha},
                {**_vista(tabla, valores, distintas), "VersionLeida": version, "Motivo": rechazo.mensaje})
        return rechazo
    if not distintas:
        return Resultado(SIN_CAMBIOS, f"Sin cambios: {nombre} ya tenía esos valores.", actual, fecha)
    nueva = {**actual, **valores}
    problemas = reglas(tx, actual, nueva, set(distintas)) if reglas else []
    antes = {**_vista(tabla, actual, distintas), "FechaActualizacion": fecha}
    if problemas:
        rechazo = CambioNoValido(problemas)
        auditar(tx, auditoria.RECHAZADO, antes, {**_vista(tabla, nueva, distintas), "Motivo": rechazo.mensaje})
        return rechazo
    nueva["FechaActualizacion"] = marca(ahora)
    params = [_parametro(tabla.campos[c], nueva.get(c)) for c in tabla.campos]
    sentencias.ejecutar(tx, tabla.actualizar, [*params, nueva["FechaActualizacion"], entidad_id])
    auditar(tx, auditoria.OK, antes, {**_vista(tabla, nueva, distintas), "FechaActualizacion": nueva["FechaActualizacion"]})
    cambios = ", ".join(f"{c} = {_mostrar(nueva[c])}" for c in distintas)
    return Resultado(APLICADO, f"Guardado: {nombre}: {cambios}.", nueva, nueva["FechaActualizacion"])


def _parametro(tipo: str, valor: Any) -> Any:
    if tipo == BOOL and valor is not None:
        return 1 if valor else 0
    return valor


@dataclass
class Intento:
    """One audited operation that is not a column edit (assignments, pools, mappings): what its
    audit row says; ``trabajo`` fills ``antes``/``despues``/``entidad_id`` as it learns them."""

    actor: Actor
    entidad: str
    accion: str
    ahora: datetime
    entidad_id: Any = None
    antes: Any = None
    despues: Any = None
    #: The console form's one-time token (:mod:`.formularios`): recorded only on an applied change.
    id_formulario: str | None = None

    def auditar(self, tx: Any, resultado: str, **extra: Any) -> None:
        despues = {**(self.despues or {}), **extra} if (self.despues or extra) else None
        aplicado = resultado in (auditoria.OK, auditoria.FORZADO)
        auditoria.registrar(tx, self.actor, accion=self.accion, entidad=self.entidad, entidad_id=self.entidad_id,
                            antes=self.antes, despues=despues, resultado=resultado, ahora=self.ahora,
                            id_formulario=self.id_formulario if aplicado else None)


def ejecutar(db: Any, intento: Intento, roles: tuple[str, ...], que: str, trabajo: Callable[[Any], Any]) -> Any:
    """One audited unit of work (:func:`.rechazos.ejecutar_auditado`)."""
    return ejecutar_auditado(db, intento, roles, que, trabajo)


def como_resultado(hecho: Any, clave: str) -> Any:
    """``hecho`` as a :class:`Resultado`: a :class:`formularios.YaAplicado` becomes :data:`YA_APLICADO`
    with the first submission's id under ``extra[clave]`` (anything else is returned as is)."""
    if not isinstance(hecho, formularios.YaAplicado):
        return hecho
    valor = entero_ascii(hecho.entidad_id or "")
    return Resultado(YA_APLICADO, hecho.mensaje, extra={clave: hecho.entidad_id if valor is None else valor,
                                                         "id_formulario": hecho.id_formulario})
