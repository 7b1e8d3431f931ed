"""A360 outage detection for the whole Lanzador process (BEHAVIOUR §16 M2) and the equipo failure
run (M3).

Every HTTP call the A360 client makes (sync, deploy, activity for the Conciliador, login) ends in
its one request point, which hands the outcome to :meth:`VigilanciaA360.observar`. The decision is
the pure :class:`DetectorCaida`:

- a 5xx answer, a timeout or a connection error is an *outage signal*; any other answer (2xx, 4xx,
  401, 429) means A360 answers; an error raised before anything was sent says nothing;
- ``umbral`` outage signals in a row (no answer in between) within ``ventana_seg`` → the outage
  begins, dated at the first of those signals;
- the first answer while it lasts ends it.

:class:`VigilanciaA360` is the thin adapter around it: thread-safe (deploy threads, sync and
conciliation all report), it mails ONE alert "A360 no disponible" when an outage begins and ONE
recovery when it ends (with its duration and the launches it delayed). Mails go out on a worker
thread of their own, in order, so a slow SMTP server never holds an A360 call (the client may be
inside its login lock when it reports). While the outage lasts the launch cycle asks
:attr:`VigilanciaA360.activa` to suppress per-robot launch alerts and to probe A360 with one deploy
instead of failing every row, and reports the launches it could not make (:meth:`retrasar`).

A deploy that failed because A360 was down is recorded ``DEPLOY_FAILED`` with a ``MensajeError``
that starts with :data:`PREFIJO_CAIDA`; the selection (``lanzador/database/seleccion.py``) does not
start the per-(robot, equipo) wait of L2.3 for such rows, so launching resumes within one cycle of
A360 answering again.

:class:`FallosPorEquipo` (M3) counts each equipo's failed deploys in a row (outage failures do
not count) and alerts once at ``umbral``; a successful deploy ends the run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.utils.alertas import RachaDeFallos, plural
from common.utils.redaccion import redactar
from lanzador.clients.aa_client import KIND_INPUT, KIND_TRANSPORT, A360Error
from lanzador.database.seleccion import PREFIJO_FALLO_POR_CAIDA

_log = logging.getLogger("sam.lanzador.caida_a360")

#: ``MensajeError`` of a deploy that failed because A360 was down (the selection reads it: no wait).
PREFIJO_CAIDA = PREFIJO_FALLO_POR_CAIDA
CLAVE_CAIDA = "a360_caida"
ASUNTO_CAIDA = "A360 no disponible"
ASUNTO_RECUPERADA = "A360 disponible de nuevo"

SENAL_CAIDA = "caida"
SENAL_RESPUESTA = "respuesta"


def senal(exc: BaseException | None) -> str | None:
    """What one finished A360 call says about A360: :data:`SENAL_CAIDA` (5xx, timeout, connection
    error), :data:`SENAL_RESPUESTA` (A360 answered, even with an error) or None (nothing was sent:
    an unserialisable body, an invalid AA_URL)."""
    if exc is None:
        return SENAL_RESPUESTA
    if not isinstance(exc, A360Error):
        return None
    if exc.status_code is not None and 500 <= int(exc.status_code) <= 599:
        return SENAL_CAIDA
    if exc.kind == KIND_TRANSPORT:
        return SENAL_CAIDA if exc.retriable else None
    if exc.kind == KIND_INPUT or exc.status_code is None:
        return None
    return SENAL_RESPUESTA


def es_fallo_por_caida(exc: BaseException | None) -> bool:
    """A deploy error that an A360 outage explains (5xx, timeout, connection error)."""
    return senal(exc) == SENAL_CAIDA


def mensaje_por_caida(mensaje: str) -> str:
    """The ``MensajeError`` of a deploy that failed during an outage (marked: no wait after it)."""
    return mensaje if mensaje.startswith(PREFIJO_CAIDA) else PREFIJO_CAIDA + mensaje


# ------------------------------------------------------------------------------- pure core

@dataclass(frozen=True)
class Caida:
    """An outage that just began."""
    desde: datetime
    errores: int
    ultimo_error: str


@dataclass(frozen=True)
class Recuperacion:
    """An outage that just ended."""
    desde: datetime
    hasta: datetime
    duracion_seg: float
    retrasados: int
    robots: int
    ultimo_error: str


class DetectorCaida:
    """The outage rule, with the instants given by the caller (no clock, no I/O, no lock)."""

    def __init__(self, umbral: int = 3, ventana_seg: float = 180.0) -> None:
        self.umbral = max(1, int(umbral))
        self.ventana_seg = float(ventana_seg)
        self._errores: list[tuple[float, datetime]] = []  # outage signals since the last answer
        self._ultimo_error = ""
        self._caida: tuple[float, datetime] | None = None
        self._retrasados: set[Hashable] = set()
        self._robots: set[Hashable] = set()

    @property
    def activa(self) -> bool:
        return self._caida is not None

    @property
    def desde(self) -> datetime | None:
        return self._caida[1] if self._caida else None

    @property
    def ultimo_error(self) -> str:
        return self._ultimo_error

    def error(self, t: float, cuando: datetime, texto: str) -> Caida | None:
        """One outage signal at monotonic ``t`` (local time ``cuando``). The outage when it begins now."""
        self._ultimo_error = texto
        if self._caida is not None:
            return None
        self._errores.append((t, cuando))
        self._errores = [e for e in self._errores if t - e[0] <= self.ventana_seg]
        if len(self._errores) < self.umbral:
            return None
        self._caida = self._errores[0]
        n = len(self._errores)
        self._errores = []
        return Caida(desde=self._caida[1], errores=n, ultimo_error=texto)

    def respuesta(self, t: float, cuando: datetime) -> Recuperacion | None:
        """A360 answered. The recovery when this ends an outage."""
        self._errores = []
        if self._caida is None:
            return None
        inicio, desde = self._caida
        rec = Recuperacion(desde=desde, hasta=cuando, duracion_seg=max(0.0, t - inicio),
                           retrasados=len(self._retrasados), robots=len(self._robots),
                           ultimo_error=self._ultimo_error)
        self._caida = None
        self._retrasados, self._robots = set(), set()
        return rec

    def retrasar(self, clave: Hashable, robot: Hashable = None) -> bool:
        """A launch that could not be made because of the outage (counted once per key)."""
        if self._caida is None:
            return False
        self._retrasados.add(clave)
        if robot is not None:
            self._robots.add(robot)
        return True


def duracion(segundos: float) -> str:
    """``95`` → ``1 min 35 s``; ``3720`` → ``1 h 2 min``."""
    s = int(round(segundos))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    return f"{s // 3600} h {(s % 3600) // 60} min"


# ------------------------------------------------------------------------------- adapter

class VigilanciaA360:
    """The process' one view of A360's availability: fed by the client, read by the launch cycle."""

    def __init__(self, alerts: Any = None, *, umbral: int = 3, ventana_min: float = 3.0, url: str = "",
                 secretos: Iterable[str] = (), reloj: Callable[[], datetime] = datetime.now,
                 monotonic: Callable[[], float] = time.monotonic,
                 logger: logging.Logger | None = None) -> None:
        self.alerts = alerts
        self.url = url
        self._secretos = tuple(s for s in secretos if s)
        self._reloj = reloj
        self._monotonic = monotonic
        self.log = logger or _log
        self.detector = DetectorCaida(umbral, float(ventana_min) * 60.0)
        self._lock = threading.Lock()
        self._correo = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sam-a360-avisos")

    @classmethod
    def from_config(cls, cfg: Any, alerts: Any = None, clock: Any = None, **kw: Any) -> VigilanciaA360:
        from common.utils.config_manager import ajuste

        secretos = cfg.secrets() if callable(getattr(cfg, "secrets", None)) else ()
        if clock is not None:
            kw.setdefault("reloj", clock.now_local)
        return cls(alerts, umbral=int(ajuste(cfg, "A360_CAIDA_UMBRAL")),
                   ventana_min=float(ajuste(cfg, "A360_CAIDA_VENTANA_MIN")), url=str(ajuste(cfg, "AA_URL")),
                   secretos=secretos, **kw)

    @property
    def activa(self) -> bool:
        with self._lock:
            return self.detector.activa

    def observar(self, path: str, exc: BaseException | None) -> None:
        """The A360 client's report of one finished call (``exc`` None = a 2xx answer). Never raises."""
        try:
            tipo = senal(exc)
            if tipo is None:
                return
            t, cuando = self._monotonic(), self._reloj()
            with self._lock:
                if tipo == SENAL_CAIDA:
                    texto = self._texto(exc, path)
                    caida, fin = self.detector.error(t, cuando, texto), None
                else:
                    caida, fin = None, self.detector.respuesta(t, cuando)
            if caida is not None:
                self._empieza(caida)
            if fin is not None:
                self._termina(fin)
        except Exception:  # noqa: BLE001 - watching A360 never breaks an A360 call
            self.log.exception("Error inesperado al vigilar la disponibilidad de A360.")

    def retrasar(self, claves: Iterable[tuple[Hashable, Hashable]]) -> int:
        """Launches (key, robot) not made because of the outage; how many were counted."""
        with self._lock:
            return sum(1 for clave, robot in claves if self.detector.retrasar(clave, robot))

    def esperar_avisos(self, timeout: float = 30.0) -> None:
        """Wait until the mails queued so far are sent (tests, shutdown)."""
        self._correo.submit(lambda: None).result(timeout)

    def cerrar(self) -> None:
        self._correo.shutdown(wait=True)

    # -- texts ---------------------------------------------------------------------------------
    def _texto(self, exc: BaseException | None, path: str) -> str:
        texto = str(getattr(exc, "message", None) or exc or f"A360 POST {path}")
        return redactar(texto, self._secretos)[:600]

    def _donde(self) -> str:
        return f"La Control Room de A360 ({self.url})" if self.url else "La Control Room de A360"

    def _empieza(self, caida: Caida) -> None:
        desde = caida.desde.strftime("%Y-%m-%d %H:%M:%S")
        self.log.error("A360 no disponible desde %s (%s seguidos). Último error: %s", desde,
                       plural(caida.errores, "fallo", "fallos"), caida.ultimo_error)
        cuerpo = (
            f"{self._donde()} no responde desde {desde}: "
            f"{plural(caida.errores, 'llamada seguida ha', 'llamadas seguidas han')} fallado con error 5xx, tiempo "
            f"agotado o error de conexión en menos de {duracion(self.detector.ventana_seg)}.\n"
            f"Último error: {caida.ultimo_error}\n"
            "Mientras dure no se envían alertas de lanzamiento por robot: cada ciclo intenta un solo despliegue "
            "para comprobar si A360 ha vuelto y los despliegues fallidos por la caída no imponen la espera tras "
            "fallo. Cuando A360 responda se enviará un aviso de recuperación y se lanzará lo pendiente en el "
            "siguiente ciclo."
        )
        que_revisar = ("El estado de la Control Room (web y servicios de A360), la red, el proxy y el cortafuegos "
                       "entre el servidor SAM y AA_URL (puerto 443) y el certificado TLS.")
        self._enviar(lambda: self.alerts.send_alert(CLAVE_CAIDA, ASUNTO_CAIDA, cuerpo, what_to_check=que_revisar))

    def _termina(self, rec: Recuperacion) -> None:
        desde, hasta = rec.desde.strftime("%Y-%m-%d %H:%M:%S"), rec.hasta.strftime("%Y-%m-%d %H:%M:%S")
        retraso = (f"{plural(rec.retrasados, 'lanzamiento retrasado', 'lanzamientos retrasados')} "
                   f"({plural(rec.robots, 'robot', 'robots')})")
        self.log.info("A360 vuelve a responder a las %s tras %s sin servicio (desde %s); %s.", hasta,
                      duracion(rec.duracion_seg), desde, retraso)
        cuerpo = (f"{self._donde()} vuelve a responder desde {hasta}. La caída duró {duracion(rec.duracion_seg)} "
                  f"(desde {desde}) y dejó {retraso}: los despliegues que no se pudieron hacer se intentan "
                  f"en el siguiente ciclo de lanzamiento, sin esperar.\nÚltimo error durante la caída: "
                  f"{rec.ultimo_error}")
        self._enviar(lambda: self.alerts.send_recovery(CLAVE_CAIDA, ASUNTO_RECUPERADA, cuerpo))

    def _enviar(self, envio: Callable[[], Any]) -> None:
        if self.alerts is None:
            return

        def tarea() -> None:
            try:
                envio()
            except Exception as exc:  # noqa: BLE001 - alerting never stops a service
                self.log.warning("No se pudo enviar el aviso de disponibilidad de A360: %s", exc)

        try:
            self._correo.submit(tarea)
        except RuntimeError:  # shut down: send inline
            tarea()


# ------------------------------------------------------------------------------- M3

class FallosPorEquipo:
    """M3: an equipo whose deploys fail ``umbral`` times in a row is alerted once; a successful
    deploy ends its run (one recovery log line, and the recovery mail when it had been alerted)."""

    def __init__(self, alerts: Any = None, *, umbral: int = 20, nombre: Callable[[int], str] | None = None,
                 logger: logging.Logger | None = None) -> None:
        self.alerts = alerts
        self.umbral = max(1, int(umbral))
        self.nombre = nombre or (lambda equipo_id: f"equipo {equipo_id}")
        self.log = logger or _log
        self._rachas: dict[int, RachaDeFallos] = {}
        self._lock = threading.Lock()

    def _racha(self, equipo_id: int) -> RachaDeFallos:
        with self._lock:
            if equipo_id not in self._rachas:
                self._rachas[equipo_id] = RachaDeFallos(self.alerts, f"lanzador:equipo:{equipo_id}:fallos",
                                                        umbral=self.umbral, logger=self.log)
            return self._rachas[equipo_id]

    def fallos(self, equipo_id: int) -> int:
        with self._lock:
            racha = self._rachas.get(int(equipo_id))
        return racha.fallos if racha is not None else 0

    def fallo(self, equipo_id: int, error: str) -> int:
        equipo_id = int(equipo_id)
        nombre = self.nombre(equipo_id)

        def cuerpo(n: int) -> str:
            return (f"Los despliegues en el {nombre} han fallado {n} veces seguidas (cualquier robot). "
                    f"Último error: {error}")

        n = self._racha(equipo_id).fallo(
            lambda n: f"El {nombre} falla al desplegar: {plural(n, 'fallo', 'fallos seguidos')}",
            cuerpo,
            que_revisar="El equipo en la Control Room (conectado, Bot Agent y su versión, sesión del usuario de "
            "ejecución, licencia) y si otros equipos lanzan con normalidad.",
        )
        if n == self.umbral:
            self.log.error("El %s acumula %s: %s", nombre, plural(n, "despliegue fallido", "despliegues fallidos "
                                                                    "seguidos"), error)
        return n

    def exito(self, equipo_id: int) -> None:
        equipo_id = int(equipo_id)
        with self._lock:
            racha = self._rachas.get(equipo_id)
        if racha is None or racha.fallos == 0:
            return
        fallos, alertada = racha.fallos, racha.fallos >= self.umbral
        nombre = self.nombre(equipo_id)
        racha.exito(f"El {nombre} vuelve a lanzar robots",
                    f"El {nombre} vuelve a desplegar con normalidad tras {plural(fallos, 'fallo', 'fallos seguidos')}.")
        if alertada:
            self.log.info("El %s vuelve a desplegar tras %s.", nombre, plural(fallos, "fallo", "fallos seguidos"))
