"""The one "N consecutive failures → one alert → one recovery" helper of SAM (BEHAVIOUR §8).

Every place that alerts on a run of failures (a job without its database, a ticket source, A360,
a table sync…) keeps one :class:`RachaDeFallos` per root cause and calls :meth:`fallo` or
:meth:`exito` once per attempt:

- the alert goes out when the run reaches the threshold, and on every later failure while it has
  not gone out yet (an SMTP server that was down at the threshold cycle gets another try; the
  mail client's own throttle keeps repeats of a sent alert to one per interval);
- the recovery is announced once, on the first success after the alert went out;
- sending never raises (a broken mail server never stops a service).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

_log = logging.getLogger("sam.alertas")

Texto = str | Callable[[int], str]


def _texto(valor: Texto, fallos: int) -> str:
    return valor(fallos) if callable(valor) else valor


class RachaDeFallos:
    def __init__(self, alerts: Any, clave: str, *, umbral: int = 1, logger: logging.Logger | None = None) -> None:
        self.alerts = alerts
        self.clave = clave
        self.umbral = max(1, int(umbral))
        self.log = logger or _log
        self._fallos = 0
        self._alertada = False
        self._lock = threading.Lock()

    @property
    def fallos(self) -> int:
        return self._fallos

    @property
    def alertada(self) -> bool:
        return self._alertada

    def fallo(self, asunto: Texto, cuerpo: Texto, *, que_revisar: str = "", nivel: str = "ERROR") -> int:
        """One more failure in a row; alerts once the run reaches the threshold. Returns the count."""
        with self._lock:
            self._fallos += 1
            fallos = self._fallos
            toca = fallos >= self.umbral and not self._alertada
        if toca:
            enviada = self._enviar(_texto(asunto, fallos), _texto(cuerpo, fallos), que_revisar, nivel)
            with self._lock:
                self._alertada = self._alertada or enviada
        return fallos

    def exito(self, asunto: Texto, cuerpo: Texto) -> bool:
        """The run of failures ended. True when a recovery was announced (an alert had gone out)."""
        with self._lock:
            fallos, alertada = self._fallos, self._alertada
            self._fallos, self._alertada = 0, False
        if self.alerts is None or not (alertada or self._abierta_en_el_cliente()):
            return False
        try:
            self.alerts.send_recovery(self.clave, _texto(asunto, fallos), _texto(cuerpo, fallos))
        except Exception as exc:  # noqa: BLE001 - alerting never stops a service
            self.log.warning("No se pudo enviar la recuperación %s: %s", self.clave, exc)
        return True

    def _abierta_en_el_cliente(self) -> bool:
        """The mail client still holds an alert of this key (sent by an earlier holder of the key)."""
        esta_alertando = getattr(self.alerts, "is_alerting", None)
        return bool(callable(esta_alertando) and esta_alertando(self.clave))

    def _enviar(self, asunto: str, cuerpo: str, que_revisar: str, nivel: str) -> bool:
        """True when the alert is out: mailed now, mailed earlier (throttled), or only logged because
        e-mail is not configured. False when the send failed and must be retried."""
        if self.alerts is None:
            self.log.warning("ALERTA %s: %s", asunto, cuerpo)
            return True
        try:
            self.alerts.send_alert(self.clave, asunto, cuerpo, level=nivel, what_to_check=que_revisar)
        except Exception as exc:  # noqa: BLE001 - alerting never stops a service
            self.log.warning("No se pudo enviar la alerta %s: %s", self.clave, exc)
            return False
        esta_alertando = getattr(self.alerts, "is_alerting", None)
        return bool(esta_alertando(self.clave)) if callable(esta_alertando) else True


# ------------------------------------------------------------------ texts operators read

def plural(n: int, singular: str, plural_: str) -> str:
    """``plural(1, "equipo", "equipos")`` → ``1 equipo``; ``plural(3, …)`` → ``3 equipos``."""
    return f"{n} {singular if n == 1 else plural_}"


def con_nombre(tipo: str, id_: Any, nombre: Any = None) -> str:
    """How alerts and logs name a robot, equipo or user: ``robot Facturas (5101)``; the bare id
    (``robot 5101``) when the name is unknown."""
    nombre = str(nombre).strip() if nombre is not None else ""
    if not nombre or nombre == str(id_):
        return f"{tipo} {id_}"
    return f"{tipo} {nombre} ({id_})"


# ------------------------------------------------------------------ one run per root cause

_compartidas_lock = threading.Lock()


def racha_compartida(alerts: Any, clave: str, umbral: int = 1, logger: logging.Logger | None = None) -> RachaDeFallos:
    """The one :class:`RachaDeFallos` of ``clave`` for this mail client: every job of a process
    that sees the same root cause (the SAM DB unreachable) counts in the same run, so the process
    sends one alert and one recovery, not one per job. The first caller's threshold holds. Without
    a client (``alerts=None``) each caller gets its own (nothing is mailed). The registry lives on
    the client, so it goes away with it."""
    if alerts is None:
        return RachaDeFallos(None, clave, umbral=umbral, logger=logger)
    with _compartidas_lock:
        rachas = getattr(alerts, "_rachas_compartidas", None)
        if not isinstance(rachas, dict):
            rachas = {}
            alerts._rachas_compartidas = rachas
        if clave not in rachas:
            rachas[clave] = RachaDeFallos(alerts, clave, umbral=umbral, logger=logger)
        return rachas[clave]


#: The alert key of "the SAM DB is unreachable", whichever job of the process finds it.
CLAVE_BD_SAM = "bd_sam"
ASUNTO_BD_SAM = "Base de datos SAM no accesible"
ASUNTO_BD_SAM_RECUPERADA = "Base de datos SAM accesible de nuevo"


def es_bd_no_accesible(exc: BaseException) -> bool:
    """A connectivity error of the database (cannot connect, connection lost, transient), as
    opposed to a row it refuses (``common.database.sql_client.es_error_de_fila``)."""
    from common.database.sql_client import DatabaseError, es_error_de_fila

    return (isinstance(exc, DatabaseError) and not es_error_de_fila(exc)
            and (exc.al_conectar or exc.connection_lost or exc.retryable))


def que_revisar_bd_sam(db: Any) -> str:
    """What to check when the SAM DB cannot be reached: the ODBC driver, the server and the
    ``SQL_SAM_*`` settings (or the SQLite file), from ``DatabaseClient.describe()``."""
    descripcion = _describir(db)
    if getattr(db, "engine", None) == "sqlite" or descripcion.startswith("motor sqlite"):
        return (f"Base de datos SAM: {descripcion}. Revise que el archivo exista, sea una base de datos "
                "SQLite y que la cuenta del servicio pueda escribir en su carpeta (SQL_SAM_SQLITE_PATH).")
    return (f"Base de datos SAM: {descripcion}. Revise que el servidor SQL Server responda desde este "
            "servidor (red, puerto 1433, cortafuegos), que el driver ODBC indicado esté instalado (64 bits; "
            "pyodbc.drivers() lo lista) y las variables SQL_SAM_HOST, SQL_SAM_DB_NAME, SQL_SAM_DRIVER, "
            "SQL_SAM_UID / SQL_SAM_PWD y SQL_SAM_PARAMETROS_ODBC_EXTRA (cifrado, certificado).")


def _describir(db: Any) -> str:
    describe = getattr(db, "describe", None)
    try:
        return str(describe()) if callable(describe) else "sin descripción"
    except Exception:  # noqa: BLE001 - a description never stops an alert
        return "sin descripción"


class AlertaBdSam:
    """The SAM DB outage of one process: one shared run (:func:`racha_compartida`, key
    :data:`CLAVE_BD_SAM`) for every job that uses the database; ``fallo(trabajo, exc)`` from any
    of them counts, ``exito()`` after any job used the database ends the run (one recovery)."""

    def __init__(self, alerts: Any, db: Any, *, umbral: int = 1, consecuencia: str = "",
                 logger: logging.Logger | None = None) -> None:
        self.db = db
        self.consecuencia = consecuencia
        self.racha = racha_compartida(alerts, CLAVE_BD_SAM, umbral=umbral, logger=logger)

    @property
    def fallos(self) -> int:
        return self.racha.fallos

    def fallo(self, trabajo: str, exc: BaseException, consecuencia: str = "") -> int:
        consecuencia = consecuencia or self.consecuencia

        def cuerpo(n: int) -> str:
            return (f"No se puede usar la base de datos SAM ({_describir(self.db)}): "
                    f"{'ha' if n == 1 else 'han'} fallado {plural(n, 'intento', 'intentos seguidos')} de las "
                    f"tareas del servicio; el último, {trabajo}: {exc}." + (f" {consecuencia}" if consecuencia else ""))

        return self.racha.fallo(ASUNTO_BD_SAM, cuerpo, que_revisar=que_revisar_bd_sam(self.db))

    def exito(self) -> bool:
        return self.racha.exito(ASUNTO_BD_SAM_RECUPERADA,
                                "Las tareas del servicio vuelven a usar la base de datos SAM con normalidad.")
