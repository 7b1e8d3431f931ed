"""Writing a live setting (BEHAVIOUR §13, C6; CONSOLE ``/configuracion``): one row of
``dbo.ConfiguracionSistema``.

:func:`escribir_ajuste` refuses, with a Spanish message naming the setting, a ``Clave`` that is not
on the whitelist and a value the start-up rules refuse (:func:`common.utils.ajustes_vivos.validar_ajuste`);
given the service's start-up config (``cfg``) it also applies the cross-setting rules with the other
rows (e.g. one half of the pause window without the other). Then it upserts the row in one
transaction (``run_in_transaction``: the read that guards the write holds ``UPDLOCK, HOLDLOCK`` on
SQL Server; SQLite serialises writers). A blank value deletes the row: the setting goes back to the
environment / ``.env`` / default. The running services pick the change up within
``SAM_CONFIG_RECARGA_SEG``.

Every call writes one ``Auditoria`` row in the same transaction (refused attempts too).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from common.database import sentencias
from common.operaciones import auditoria
from common.operaciones.auditoria import Actor
from common.utils.ajustes_vivos import CLAVES_VIVAS, JUNTAS, AjusteNoValido, decidir, validar_ajuste
from common.utils.config_manager import SETTINGS_BY_NAME

#: ``Auditoria.Entidad`` of a live-setting change (``EntidadId``: the Clave, or the Claves written together).
ENTIDAD = "ConfiguracionSistema"
#: What the audit row shows for the value of a Clave off the whitelist (it may be a secret's name).
OCULTO = "(valor no registrado)"
#: ``ConfiguracionSistema.Descripcion`` NVARCHAR(500) and ``ActualizadoPor`` NVARCHAR(100) (SAM.sql).
LARGO_DESCRIPCION, LARGO_ACTUALIZADO_POR = 500, 100

sentencias.registrar(
    "ajustes.leer_para_escribir",
    tsql="SELECT Clave, Valor FROM dbo.ConfiguracionSistema WITH (UPDLOCK, HOLDLOCK)",
    sqlite="SELECT Clave, Valor FROM ConfiguracionSistema",
)
sentencias.registrar(
    "ajustes.actualizar",
    tsql=(
        "UPDATE dbo.ConfiguracionSistema WITH (UPDLOCK, HOLDLOCK) SET Valor = CAST(? AS NVARCHAR(MAX)), "
        "Descripcion = COALESCE(?, Descripcion), FechaActualizacion = ?, ActualizadoPor = ? WHERE Clave = ?"
    ),
    sqlite=(
        "UPDATE ConfiguracionSistema SET Valor = ?, Descripcion = COALESCE(?, Descripcion), "
        "FechaActualizacion = ?, ActualizadoPor = ? WHERE Clave = ?"
    ),
)
sentencias.registrar(
    "ajustes.insertar",
    tsql=(
        "INSERT INTO dbo.ConfiguracionSistema (Valor, Descripcion, FechaActualizacion, ActualizadoPor, Clave) "
        "VALUES (CAST(? AS NVARCHAR(MAX)), ?, ?, ?, ?)"
    ),
    sqlite=(
        "INSERT INTO ConfiguracionSistema (Valor, Descripcion, FechaActualizacion, ActualizadoPor, Clave) "
        "VALUES (?, ?, ?, ?, ?)"
    ),
)
sentencias.registrar(
    "ajustes.borrar",
    tsql="DELETE FROM dbo.ConfiguracionSistema WHERE Clave = ?",
    sqlite="DELETE FROM ConfiguracionSistema WHERE Clave = ?",
)


def escribir_ajuste(db: Any, clave: str, valor: str | None, usuario: str | Actor, *, cfg: Any = None,
                    descripcion: str | None = None, ahora: datetime | None = None) -> Any:
    """Validate and write the row of ``clave`` (blank ``valor``: delete it). Returns the typed
    value the services will use (for a deleted row: None). Raises :class:`AjusteNoValido`."""
    clave = (clave or "").strip()
    return escribir_ajustes(db, {clave: valor}, usuario, cfg=cfg, descripcion=descripcion, ahora=ahora)[clave]


def _actor(usuario: str | Actor) -> Actor:
    """The console passes its :class:`Actor`; a plain name (scripts, tests) is audited without a role."""
    return usuario if isinstance(usuario, Actor) else Actor(str(usuario), None)  # type: ignore[arg-type]


def _validar(textos: Mapping[str, str]) -> dict[str, Any]:
    tipados: dict[str, Any] = {}
    for clave, texto in textos.items():
        tipado = validar_ajuste(clave, texto or None)  # a blank value still needs a whitelisted Clave
        tipados[clave] = tipado if texto else None
    return tipados


def _problemas_cruzados(cfg: Any, filas: Mapping[str, Any], escritas: Mapping[str, str]) -> list[str]:
    """The rows written, judged by the rules of every service that reads them (the console writes
    the Lanzador's pause window: the Lanzador's pair rule applies, not the console's)."""
    servicios = {_servicio_de(c) for c in escritas} | {getattr(cfg, "service", None)}
    afectadas = set(escritas).union(*(junta for junta in JUNTAS if junta & set(escritas)))
    problemas: list[str] = []
    for servicio in sorted(s for s in servicios if s):
        invalidas = decidir(cfg, filas, servicio=servicio).invalidas
        problemas += [invalidas[c][1] for c in sorted(afectadas) if c in invalidas and invalidas[c][1] not in problemas]
    return problemas


def _servicio_de(clave: str) -> str | None:
    grupo = SETTINGS_BY_NAME[clave].group if clave in SETTINGS_BY_NAME else None
    return grupo if grupo in ("lanzador", "balanceador") else None


def escribir_ajustes(db: Any, valores: Mapping[str, str | None], usuario: str | Actor, *, cfg: Any = None,
                     descripcion: str | None = None, ahora: datetime | None = None) -> dict[str, Any]:
    """Several rows in one transaction (both halves of the pause window together): all are
    written or none. Returns Clave -> typed value (None for a deleted row).

    The change and its ``Auditoria`` row (``Antes``/``Despues``: Clave -> value as text, None for
    no row) commit together; a refused attempt is audited as ``rechazado`` with the reason."""
    actor = _actor(usuario)
    textos = {(c or "").strip(): (v or "").strip() for c, v in valores.items()}
    momento = (ahora or datetime.now()).replace(tzinfo=None)

    def _escribir(tx: Any) -> Any:
        filas = {str(f["Clave"]).strip(): f["Valor"]
                 for f in tx.query(sentencias.sql(tx, "ajustes.leer_para_escribir"))}
        despues = {c: (t or None) for c, t in textos.items()}
        antes = {c: filas.get(c) for c in textos}
        visibles = {c: (v if c in CLAVES_VIVAS or v is None else OCULTO) for c, v in despues.items()}

        def auditar(resultado: str, extra: dict[str, Any] | None = None) -> None:
            auditoria.registrar(tx, actor, accion="ajuste", entidad=ENTIDAD, entidad_id=", ".join(sorted(textos)),
                                antes=antes, despues={**visibles, **(extra or {})}, resultado=resultado,
                                ahora=momento)
        try:
            tipados = _validar(textos)
            if descripcion and len(descripcion) > LARGO_DESCRIPCION:
                raise AjusteNoValido(f"La descripción admite como máximo {LARGO_DESCRIPCION} caracteres "
                                     f"(tiene {len(descripcion)}).")
            if cfg is not None:
                problemas = _problemas_cruzados(cfg, {**filas, **despues}, textos)
                if problemas:
                    raise AjusteNoValido("; ".join(problemas))
        except AjusteNoValido as exc:
            auditar(auditoria.RECHAZADO, {"Motivo": str(exc)})
            return exc
        for clave, texto in textos.items():
            if not texto:
                sentencias.ejecutar(tx, "ajustes.borrar", (clave,))
                continue
            params = (texto, descripcion, momento, actor.usuario[:LARGO_ACTUALIZADO_POR], clave)
            if sentencias.ejecutar(tx, "ajustes.actualizar", params) == 0:
                sentencias.ejecutar(tx, "ajustes.insertar", params)
        auditar(auditoria.OK)
        return tipados

    resultado = db.run_in_transaction(_escribir)
    if isinstance(resultado, AjusteNoValido):
        raise resultado
    return resultado
