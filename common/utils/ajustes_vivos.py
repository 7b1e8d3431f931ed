"""Settings changed without a restart (BEHAVIOUR §13, C6).

A whitelist of settings (:data:`CLAVES_VIVAS`) may be overridden by a row of
``dbo.ConfiguracionSistema``: precedence DB row > environment > ``.env`` > default (a blank
``Valor`` counts as "not set", as a blank value does in the environment and the ``.env`` files).
Every process re-reads the table every ``SAM_CONFIG_RECARGA_SEG`` seconds and validates each row
with exactly the start-up rules: the setting's own parser and bounds
(``config_manager.parse_value``) and the cross-setting rules of the service
(``config_manager.comprobar_cruces``, e.g. both halves of the pause window).

- An invalid row is ignored: the setting keeps its last valid value. It is logged and alerted
  once per (Clave, Valor) (a mail that could not be sent is retried at each re-read until it goes
  out, with :class:`common.utils.alertas.RachaDeFallos`); when the row becomes valid again (or is deleted) that is logged and the
  recovery announced. A row of a setting the process does not use strictly (a Lanzador setting in
  the Balanceador) is treated as start-up treats it: a bad value falls back silently.
- A row whose ``Clave`` is not on the whitelist is ignored with one warning.

Layout: :func:`decidir` is the pure decision (base config, rows, last good values → effective
values and what to report); :class:`ConfigViva` is the shared "current config" every part of a
service reads with ``ajuste(cfg, nombre)`` each cycle; :class:`RecargaAjustes` is the thin adapter
(reads the table, applies the decision, logs and alerts) that the runner job ``ajustes`` calls.

Wiring in a service: ``viva = ConfigViva(cfg)``; every part (mail client included) gets ``viva``;
``recarga = RecargaAjustes(db, viva, alerts=alerts)``; ``recarga.recargar()`` once after the
schema check and before the first cycle; ``recarga.registrar(runner)``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from common.database import sentencias
from common.utils.alertas import RachaDeFallos
from common.utils.config_manager import (
    SETTINGS_BY_NAME,
    Config,
    ajuste,
    comprobar_cruces,
    grupos_validados,
    parse_value,
)

_log = logging.getLogger("sam.ajustes")

#: The settings a row of ConfiguracionSistema may change while the services run.
CLAVES_VIVAS: tuple[str, ...] = (
    "LANZADOR_PAUSA_INICIO_HHMM",
    "LANZADOR_PAUSA_FIN_HHMM",
    "LANZADOR_PAUSA_MANUAL_HASTA",
    "LANZADOR_ESPERA_TRAS_FALLO_SEG",
    "LANZADOR_MAX_DURACION_EJECUCION_MIN",
    "BALANCEADOR_COOLING_PERIOD_SEG",
    "BALANCEADOR_DEFAULT_TICKETS_POR_EQUIPO",
    "BALANCEADOR_AISLAMIENTO_ESTRICTO",
    "BALANCEADOR_PREEMPCION",
    "EMAIL_RECIPIENTS",
)
#: Settings checked together by a cross-setting rule: a problem naming one blames the rows of all.
JUNTAS: tuple[frozenset[str], ...] = (
    frozenset({"LANZADOR_PAUSA_INICIO_HHMM", "LANZADOR_PAUSA_FIN_HHMM"}),
)
ORIGEN_BD = "ConfiguracionSistema"
ALERTA = "ajuste_invalido"  # + ":<Clave>:<Valor>"

sentencias.registrar(
    "ajustes.leer",
    tsql="SELECT Clave, Valor FROM dbo.ConfiguracionSistema",
    sqlite="SELECT Clave, Valor FROM ConfiguracionSistema",
)


class AjusteNoValido(ValueError):
    """A value refused for a setting; the text (Spanish) names the setting and the rule."""


def validar_ajuste(clave: str, valor: str | None) -> Any:
    """The typed value ``valor`` gives the whitelisted setting ``clave`` (blank: its default),
    by the start-up parser and bounds. Raises :class:`AjusteNoValido` for a setting that cannot be
    changed at run time or a value its rules refuse. For the console and the CLI, where a value is
    written; the cross-setting rules need the other values and are applied by :func:`decidir`."""
    if clave not in CLAVES_VIVAS:
        raise AjusteNoValido(f"{clave}: no se puede cambiar en caliente; ConfiguracionSistema sólo admite "
                             + ", ".join(CLAVES_VIVAS))
    try:
        return parse_value(SETTINGS_BY_NAME[clave], valor)
    except ValueError as exc:
        raise AjusteNoValido(f"{clave}: se esperaba {exc}, se recibió '{valor}'") from None


@dataclass(frozen=True)
class Decision:
    """What one reading of ConfiguracionSistema means for a process."""

    #: Effective typed value of every whitelisted setting.
    valores: dict[str, Any]
    #: Settings whose value comes from a valid row this time.
    desde_bd: frozenset[str]
    #: Rows ignored: Clave -> (Valor, Spanish reason). Only settings the process validates.
    invalidas: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Claves found in the table that are not on the whitelist.
    desconocidas: tuple[str, ...] = ()


def _servicio(base: Any) -> str:
    return getattr(base, "service", None) or "demo"


def _valores_base(base: Any) -> dict[str, Any]:
    """Every setting's value in ``base`` (a Config or a partial mapping: defaults fill the rest)."""
    return {nombre: ajuste(base, nombre) for nombre in SETTINGS_BY_NAME}


def _culpables(problema: str) -> set[str]:
    """The whitelisted settings a cross-setting problem line is about (with their partners)."""
    nombrados = {c for c in CLAVES_VIVAS if c in problema}
    for junta in JUNTAS:
        if nombrados & junta:
            nombrados |= junta
    return nombrados


def decidir(base: Any, filas: Mapping[str, str | None], anteriores: Mapping[str, Any] | None = None, *,
            servicio: str | None = None) -> Decision:
    """Effective values of the whitelisted settings for the rows ``filas`` (Clave -> Valor) over
    ``base`` (the start-up config), keeping ``anteriores`` (the last effective values; default:
    the base's) for a row that is not valid. ``servicio``: whose rules apply (default: the base's;
    a writer checks a row with the rules of each service that reads it). Pure."""
    servicio = servicio or _servicio(base)
    todos = _valores_base(base)
    estrictos = grupos_validados(servicio, todos)
    previos = {c: (anteriores[c] if anteriores and c in anteriores else todos[c]) for c in CLAVES_VIVAS}
    valores: dict[str, Any] = {}
    desde_bd: set[str] = set()
    invalidas: dict[str, tuple[str, str]] = {}
    for clave in CLAVES_VIVAS:
        texto = filas.get(clave)
        if texto is None or not str(texto).strip():
            valores[clave] = todos[clave]
            continue
        try:
            valores[clave] = validar_ajuste(clave, str(texto))
            desde_bd.add(clave)
        except AjusteNoValido as exc:
            if SETTINGS_BY_NAME[clave].group in estrictos:
                invalidas[clave] = (str(texto), str(exc))
                valores[clave] = previos[clave]
            else:  # a setting this service does not use: start-up's lenient fallback
                valores[clave] = todos[clave]
    # A cross-setting rule broken by the rows: the settings it is about keep their last values
    # together (the start-up values if even those break it); the rows among them are reported.
    for ronda in range(2):
        problemas = comprobar_cruces(servicio, {**todos, **valores})
        culpables = sorted({(c, p) for p in problemas for c in _culpables(p)})
        if not culpables:
            break
        for clave, problema in culpables:
            valores[clave] = previos[clave] if ronda == 0 else todos[clave]
            desde_bd.discard(clave)
            if str(filas.get(clave) or "").strip():
                invalidas.setdefault(clave, (str(filas[clave]), problema))
    desconocidas = tuple(sorted(c for c in filas if c not in CLAVES_VIVAS))
    return Decision(valores, frozenset(desde_bd), invalidas, desconocidas)


class ConfigViva:
    """The current config of a process: the start-up :class:`Config` with the valid rows of
    ConfiguracionSistema applied. Reads like a Config (``cfg.X``, ``cfg.get``, ``ajuste(cfg, X)``);
    :meth:`aplicar` swaps the whole value at once, so a cycle sees one consistent set."""

    def __init__(self, base: Config) -> None:
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "_actual", base)

    @property
    def base(self) -> Config:
        return self._base

    @property
    def actual(self) -> Config:
        return self._actual

    def aplicar(self, valores: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_actual", self._base.with_overrides(**dict(valores)))

    def get(self, name: str, default: Any = None) -> Any:
        return self._actual.get(name, default)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._actual, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ConfigViva es inmutable; use aplicar()")

    def __repr__(self) -> str:
        return f"ConfigViva({self._actual!r})"


def leer_filas(db: Any) -> dict[str, str | None]:
    """Clave -> Valor of every row of ConfiguracionSistema (Clave trimmed)."""
    filas = db.query(sentencias.sql(db, "ajustes.leer"))
    return {str(f["Clave"]).strip(): f["Valor"] for f in filas if f.get("Clave") is not None}


def _mostrar(valor: Any) -> str:
    if valor is None or valor == []:
        return "(vacío)"
    if isinstance(valor, list):
        return ", ".join(map(str, valor))
    if hasattr(valor, "strftime") and hasattr(valor, "hour") and not hasattr(valor, "year"):
        return f"{valor:%H:%M}"
    return str(valor)


class RecargaAjustes:
    """Reads ConfiguracionSistema, applies :func:`decidir` to a :class:`ConfigViva`, logs each
    change and reports invalid rows once per (Clave, Valor). ``oyentes`` are called with the
    ConfigViva after a change (e.g. the mail client's recipients). Never raises."""

    def __init__(self, db: Any, viva: ConfigViva, *, alerts: Any = None, logger: logging.Logger | None = None,
                 oyentes: Iterable[Callable[[ConfigViva], Any]] = ()) -> None:
        self.db = db
        self.viva = viva
        self.alerts = alerts
        self.log = logger or _log
        self.oyentes = list(oyentes)
        self._anteriores: dict[str, Any] = {c: ajuste(viva.base, c) for c in CLAVES_VIVAS}
        self._desde_bd: frozenset[str] = frozenset()
        self._invalidas: dict[str, str] = {}      # Clave -> Valor reported as invalid (logged once)
        self._avisos: dict[str, RachaDeFallos] = {}  # Clave -> the alert of that value, until it is out
        self._desconocidas: set[str] = set()     # warned once each
        self._sin_tabla = False
        self._lock = threading.Lock()

    def recargar(self) -> Decision | None:
        """One re-read. None when the table cannot be read (the current values stay)."""
        with self._lock:
            try:
                filas = leer_filas(self.db)
            except Exception as exc:  # noqa: BLE001 - the cycles report an unreachable SAM DB
                if not self._sin_tabla:
                    self.log.warning("No se pudo leer ConfiguracionSistema (%s); siguen los ajustes actuales.", exc)
                self._sin_tabla = True
                return None
            if self._sin_tabla:
                self.log.info("ConfiguracionSistema vuelve a leerse.")
                self._sin_tabla = False
            decision = decidir(self.viva.base, filas, self._anteriores)
            self._informar(decision)
            cambios = {c: v for c, v in decision.valores.items() if v != self._anteriores.get(c)}
            origen_cambiado = decision.desde_bd != self._desde_bd
            if cambios or origen_cambiado:
                self.viva.aplicar(decision.valores)
            for clave, valor in cambios.items():
                origen = ORIGEN_BD if clave in decision.desde_bd else "entorno/.env/por defecto"
                self.log.info("Ajuste en caliente: %s = %s (antes %s; origen: %s).", clave, _mostrar(valor),
                              _mostrar(self._anteriores.get(clave)), origen)
            self._anteriores, self._desde_bd = dict(decision.valores), decision.desde_bd
        if cambios:
            for oyente in self.oyentes:
                try:
                    oyente(self.viva)
                except Exception:  # noqa: BLE001 - one listener never stops the others
                    self.log.exception("Error al aplicar un ajuste en caliente.")
        return decision

    def registrar(self, runner: Any) -> None:
        """The runner job ``ajustes``: a re-read every ``SAM_CONFIG_RECARGA_SEG`` (the first reading
        is the caller's, before the service's first cycle: a manual pause holds across a restart)."""
        runner.add_job("ajustes", float(ajuste(self.viva.base, "SAM_CONFIG_RECARGA_SEG")), self.recargar,
                       run_at_start=False)

    def _informar(self, decision: Decision) -> None:
        for clave in decision.desconocidas:
            if clave not in self._desconocidas:
                self._desconocidas.add(clave)
                self.log.warning("ConfiguracionSistema: la clave %s no se puede cambiar en caliente y se ignora "
                                 "(admitidas: %s).", clave, ", ".join(CLAVES_VIVAS))
        for clave, (valor, motivo) in decision.invalidas.items():
            if self._invalidas.get(clave) != valor:
                if clave in self._invalidas:
                    self._recuperado(clave)
                self._invalidas[clave] = valor
                self._avisos[clave] = RachaDeFallos(self.alerts, self._clave_alerta(clave, valor), logger=self.log)
                self.log.error("ConfiguracionSistema: valor no válido para %s ('%s'): %s. Se mantiene %s.", clave,
                               valor, motivo, _mostrar(self._anteriores.get(clave)))
            self._alertar(clave, valor, motivo)  # sends only while this value's alert is not out yet
        for clave in [c for c in self._invalidas if c not in decision.invalidas]:
            self._recuperado(clave)
            del self._invalidas[clave]
            self.log.info("ConfiguracionSistema: %s vuelve a tener un valor válido.", clave)

    def _clave_alerta(self, clave: str, valor: str) -> str:
        return f"{ALERTA}:{clave}:{' '.join(valor.split())[:100]}"

    def _alertar(self, clave: str, valor: str, motivo: str) -> None:
        """The alert of (clave, valor), unless it already went out; a failed send stays pending and
        the next re-read tries again (the error itself is logged once, by :meth:`_informar`)."""
        aviso = self._avisos.get(clave)
        if self.alerts is None or aviso is None or aviso.alertada:
            return
        aviso.fallo(
            f"Ajuste no válido en ConfiguracionSistema: {clave}",
            f"La fila {clave} de dbo.ConfiguracionSistema tiene el valor '{valor}', que no es válido: {motivo}. "
            f"Se ignora y se mantiene el último valor válido ({_mostrar(self._anteriores.get(clave))}).",
            que_revisar=f"Corrija o borre la fila: UPDATE dbo.ConfiguracionSistema SET Valor = N'...' WHERE "  # noqa: S608 - mail text
                        f"Clave = N'{clave}'; (ver 'Ajustes en caliente' en el README).",
        )

    def _recuperado(self, clave: str) -> None:
        """The recovery of the invalid value of ``clave`` (announced only if its alert went out)."""
        aviso = self._avisos.pop(clave, None)
        if self.alerts is None or aviso is None:
            return
        aviso.exito(f"Ajuste de nuevo válido: {clave}",
                    f"La fila {clave} de dbo.ConfiguracionSistema ya no tiene el valor no válido "
                    f"'{self._invalidas[clave]}'.")

