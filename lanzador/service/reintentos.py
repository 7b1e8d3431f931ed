"""The deploy retry decisions (BEHAVIOUR L3.3) as a pure "next step" function.

The launcher's shell (:class:`lanzador.service.desplegador.Desplegador`) deploys, looks in A360,
sleeps and writes; this module only decides what it does next, from plain data:

- the attempt number (1 = the first deploy call; 0 = no deploy was made, e.g. an unusable
  ``botInput``);
- the classified outcome of the last deploy call (:class:`Desenlace`);
- the result of the adoption lookup made after it, if one was made (:class:`Busqueda`);
- whether an earlier ambiguous attempt may have been accepted, whether a stop was requested, and
  whether the wait before a retry was cut short by that stop;
- the retry settings (:class:`AjustesReintento`).

The rules:

- accepted → record ``DEPLOYED``;
- retriable → deploy again after a backoff (``Retry-After`` honoured, capped), at most
  ``max_reintentos`` more times; ``DEVICE_NOT_CONNECTED`` is never retried; permanent or retries
  exhausted → ``DEPLOY_FAILED`` with the message (``(tras N intentos)`` when N > 1), flagged as
  a robot configuration error when it is one (412 ``NO_COMPATIBLE_TARGETS``, unusable botInput);
- ambiguous (timeout, reset, 2xx without ``deploymentId``) → look in A360 before anything else:
  found → adopt it; lookup failed → leave the row ``LANZANDO`` for the Conciliador (L5.5); not
  found → retry if the error is retriable and retries remain, otherwise leave it ``LANZANDO``;
- when the retries end (or a stop cuts the wait) after an ambiguous attempt that A360 did not
  show, look once more: found → adopt; otherwise leave it ``LANZANDO`` — never ``DEPLOY_FAILED``
  over a run that may exist;
- L3.5: a retry is only made when its wait and the whole attempt fit in the time left before the
  LANZANDO recovery may judge the intent (``restante_seg``); otherwise the retries end there (a
  process that dies later never has a deploy in flight that the recovery could miss).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Clase(enum.Enum):
    """Kind of outcome of one deploy call."""

    ACEPTADO = "aceptado"                          # 2xx with a deploymentId
    REINTENTABLE = "reintentable"                  # 5xx, 429, 412 DEVICE_BUSY-like, 400 DEVICE_BUSY
    PERMANENTE = "permanente"                      # any other refusal
    EQUIPO_DESCONECTADO = "equipo_desconectado"    # DEVICE_NOT_CONNECTED: never retried here
    CONFIGURACION_ROBOT = "configuracion_robot"    # 412 NO_COMPATIBLE_TARGETS, unusable botInput
    AMBIGUO = "ambiguo"                            # timeout/reset, or 2xx without a deploymentId


@dataclass(frozen=True)
class Desenlace:
    """The classified outcome of the last deploy call (no exception objects: plain data)."""

    clase: Clase
    deployment_id: str | None = None
    mensaje: str = ""                 # the error's Spanish message
    tipo_error: str | None = None     # alert de-duplication key part (kind:status:code)
    reintentable: bool = False        # for AMBIGUO: a timeout/reset the client marks retriable
    configuracion_robot: bool = False
    retry_after: float | None = None  # seconds A360 asked to wait (429/503 Retry-After)

    @property
    def se_reintenta(self) -> bool:
        return self.clase is Clase.REINTENTABLE or (self.clase is Clase.AMBIGUO and self.reintentable)


@dataclass(frozen=True)
class Busqueda:
    """Result of an adoption lookup (the answer to a :class:`Buscar` step)."""

    intento_anterior: bool            # echoes ``Buscar.intento_anterior``
    deployment_id: str | None = None  # the unrecorded deployment found, if any
    error: str | None = None          # the lookup itself failed (the outcome stays unknown)


@dataclass(frozen=True)
class AjustesReintento:
    max_reintentos: int = 2
    backoff_base_seg: float = 1.0
    backoff_max_seg: float = 30.0
    retry_after_max_seg: float = 60.0


# -- steps ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Desplegar:
    """Wait ``espera`` seconds, then deploy again (unless a stop comes meanwhile)."""

    espera: float
    posible_aceptado: bool  # carry forward: an ambiguous attempt may have been accepted


@dataclass(frozen=True)
class Buscar:
    """Look in A360 for an unrecorded deployment of this bot on this equipo since the intent.

    ``intento_anterior``: False = the last answer may hide an accepted deploy (looked up before
    any retry); True = an earlier ambiguous attempt may have been accepted (last look before
    giving up)."""

    intento_anterior: bool


ADOPTADO_TRAS_ERROR = "tras_error"              # the last attempt failed ambiguously; A360 has it
ADOPTADO_INTENTO_ANTERIOR = "intento_anterior"  # an earlier ambiguous attempt; A360 has it


@dataclass(frozen=True)
class RegistrarDesplegado:
    deployment_id: str
    adopcion: str | None = None  # None, ADOPTADO_TRAS_ERROR or ADOPTADO_INTENTO_ANTERIOR


@dataclass(frozen=True)
class RegistrarFallo:
    """Record ``DEPLOY_FAILED`` with ``mensaje`` (and alert it)."""

    mensaje: str
    tipo_error: str | None
    alerta_robot: bool  # alerted as a robot configuration error


@dataclass(frozen=True)
class DejarLanzando:
    """Outcome unknown: the row stays ``LANZANDO`` for the Conciliador (L5.5)."""

    error: str
    tipo_error: str | None
    motivo: str


Paso = Desplegar | Buscar | RegistrarDesplegado | RegistrarFallo | DejarLanzando


# -- decisions -----------------------------------------------------------------------------------
def espera_reintento(intento: int, desenlace: Desenlace, ajustes: AjustesReintento) -> float:
    """Backoff before retry number ``intento`` (A360_API §6 row 3: honour Retry-After, capped)."""
    if desenlace.retry_after is not None:
        return max(0.0, min(float(desenlace.retry_after), ajustes.retry_after_max_seg))
    return min(ajustes.backoff_base_seg * (2 ** (intento - 1)), ajustes.backoff_max_seg)


def registrar_fallo(desenlace: Desenlace, intentos: int) -> RegistrarFallo:
    mensaje = desenlace.mensaje
    if intentos > 1:
        mensaje = f"{mensaje} (tras {intentos} intentos)"
    return RegistrarFallo(mensaje, desenlace.tipo_error, desenlace.configuracion_robot)


def _dejar(desenlace: Desenlace, motivo: str) -> DejarLanzando:
    return DejarLanzando(desenlace.mensaje, desenlace.tipo_error, motivo)


def siguiente_paso(
    intento: int,
    desenlace: Desenlace,
    ajustes: AjustesReintento,
    *,
    busqueda: Busqueda | None = None,
    posible_aceptado: bool = False,
    parado: bool = False,
    espera_interrumpida: bool = False,
    restante_seg: float | None = None,
) -> Paso:
    """What the launcher does after deploy attempt ``intento`` ended with ``desenlace``.

    ``busqueda``: the answer to the :class:`Buscar` step this function returned for the same
    attempt, if any. ``espera_interrumpida``: the wait of the :class:`Desplegar` step it returned
    was cut short by a stop (no further deploy is made). ``restante_seg``: seconds left in which
    another attempt may start and still end before ``LANZADOR_LANZANDO_TIMEOUT_SEG`` (None: no limit).
    """
    if busqueda is not None and busqueda.intento_anterior:
        return _tras_ultima_busqueda(desenlace, busqueda)
    if busqueda is not None:
        return _tras_busqueda(intento, desenlace, busqueda, ajustes, parado, restante_seg)
    if espera_interrumpida:
        return _sin_reintento(intento, desenlace, posible_aceptado)
    if desenlace.clase is Clase.ACEPTADO:
        return RegistrarDesplegado(str(desenlace.deployment_id))
    if desenlace.clase is Clase.AMBIGUO:
        return Buscar(intento_anterior=False)
    return _reintento(intento, desenlace, ajustes, posible_aceptado, parado, restante_seg)


def _tras_busqueda(intento: int, desenlace: Desenlace, busqueda: Busqueda, ajustes: AjustesReintento,
                   parado: bool, restante_seg: float | None) -> Paso:
    """After looking in A360 for the deploy whose answer was ambiguous."""
    if busqueda.error is not None:
        return _dejar(desenlace, f"no se pudo comprobar en A360: {busqueda.error}")
    if busqueda.deployment_id is not None:
        return RegistrarDesplegado(busqueda.deployment_id, ADOPTADO_TRAS_ERROR)
    if not desenlace.se_reintenta:
        return _dejar(desenlace, "A360 pudo aceptarlo; no se reintenta")
    if intento > ajustes.max_reintentos or parado:
        return _dejar(desenlace, "reintentos agotados")
    return _reintento(intento, desenlace, ajustes, True, parado, restante_seg)


#: Appended to the message of a failure whose retries were cut by the LANZANDO deadline (L3.5).
SIN_TIEMPO = "sin tiempo para otro intento antes de LANZADOR_LANZANDO_TIMEOUT_SEG"


def _reintento(intento: int, desenlace: Desenlace, ajustes: AjustesReintento, posible_aceptado: bool,
               parado: bool, restante_seg: float | None = None) -> Paso:
    if desenlace.se_reintenta and intento <= ajustes.max_reintentos and not parado:
        espera = espera_reintento(intento, desenlace, ajustes)
        if restante_seg is None or espera <= restante_seg:
            return Desplegar(espera, posible_aceptado)
        paso = _sin_reintento(intento, desenlace, posible_aceptado)
        if isinstance(paso, RegistrarFallo):
            return RegistrarFallo(f"{paso.mensaje} ({SIN_TIEMPO})", paso.tipo_error, paso.alerta_robot)
        if isinstance(paso, DejarLanzando):
            return DejarLanzando(paso.error, paso.tipo_error, f"{paso.motivo}; {SIN_TIEMPO}")
        return paso
    return _sin_reintento(intento, desenlace, posible_aceptado)


def _sin_reintento(intento: int, desenlace: Desenlace, posible_aceptado: bool) -> Paso:
    """No more attempts: fail, unless an earlier ambiguous attempt may have been accepted."""
    if posible_aceptado:
        # The activity list may have lagged behind an accepted deploy (a later 412 DEVICE_BUSY is
        # a hint of it): look once more; never fail over a real run.
        return Buscar(intento_anterior=True)
    return registrar_fallo(desenlace, intento)


def _tras_ultima_busqueda(desenlace: Desenlace, busqueda: Busqueda) -> Paso:
    if busqueda.error is not None:
        return _dejar(desenlace, "un intento anterior pudo ser aceptado y no se pudo comprobar en A360: "
                                 f"{busqueda.error}")
    if busqueda.deployment_id is None:
        return _dejar(desenlace, "un intento anterior pudo ser aceptado por A360")
    return RegistrarDesplegado(busqueda.deployment_id, ADOPTADO_INTENTO_ANTERIOR)
