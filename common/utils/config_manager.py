"""Typed, validated settings for every SAM process.

One declarative table (``SETTINGS``) lists every setting: name, type, default, whether it is a
secret and which group it belongs to. ``load_config(service)`` reads the values with the
precedence

    real environment  >  <root>/<service dir>/.env  >  <root>/.env  >  default

(an empty value counts as "not set" and falls through to the next level), parses each one with
the parser of its type, checks the cross-setting rules of the service and raises ``ConfigError``
carrying **every** problem found, one Spanish line each naming the variable. ``os.environ`` is
never modified.

Groups that a service does not use are parsed leniently (a malformed value falls back to the
default without an error) so that, e.g., a bad balancer setting in the shared root ``.env`` does
not stop the Lanzador.
"""

from __future__ import annotations

import codecs
import difflib
import io
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from common.clock import resolve_zone
from common.paths import PROJECT_ROOT

SERVICES = ("lanzador", "callback", "balanceador", "consola", "demo")
# Directory whose .env a service reads (the callback server shares the Lanzador's).
SERVICE_DIRS = {"lanzador": "lanzador", "callback": "lanzador", "balanceador": "balanceador", "consola": "consola",
                "demo": "demo"}
MASK = "********"

_ALL = frozenset(SERVICES)
# Which services validate (strictly) each group of settings. "rpa360_db" and "clouders" are
# further conditioned on BALANCEADOR_PROVEEDORES_CARGA (see _strict_groups).
GROUP_SERVICES: dict[str, frozenset[str]] = {
    "logging": _ALL,
    "general": _ALL,
    "sam_db": _ALL,
    "email": _ALL,
    "a360": frozenset({"lanzador", "demo"}),
    "callback": frozenset({"lanzador", "callback", "demo"}),
    # The callback server only reads LANZADOR_SHUTDOWN_TIMEOUT_SEG of this group, which the Lanzador
    # (same lanzador/.env) validates: a Lanzador-only setting never stops the callback server.
    "lanzador": frozenset({"lanzador", "demo"}),
    "balanceador": frozenset({"balanceador", "demo"}),
    # Settings of the one "busy equipo" rule, shared by the Lanzador and the Balanceador.
    "ocupacion": frozenset({"lanzador", "balanceador", "demo"}),
    "rpa360_db": frozenset({"balanceador", "demo"}),
    "clouders": frozenset({"balanceador", "demo"}),
    # The operations console (CONSOLE.md): its own port, session key and optional LDAP.
    "consola": frozenset({"consola", "demo"}),
}


class ConfigError(Exception):
    """Invalid configuration. ``problems`` holds one Spanish line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("Configuración no válida:\n" + "\n".join(f"  - {p}" for p in self.problems))


# --------------------------------------------------------------------------- type parsers
# Each parser takes the raw (stripped, non-empty) text and the Setting; it returns the typed value
# or raises ValueError whose text completes "se esperaba ...".

_TRUE = {"true", "1", "si", "sí", "yes", "y", "s", "on"}
_FALSE = {"false", "0", "no", "n", "off"}
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def _bounds_text(s: Setting) -> str:
    if s.min is not None and s.max is not None:
        return f" entre {s.min} y {s.max}"
    if s.min is not None:
        return f" >= {s.min}"
    if s.max is not None:
        return f" <= {s.max}"
    return ""


def _check_bounds(value: float, s: Setting, what: str) -> None:
    if (s.min is not None and value < s.min) or (s.max is not None and value > s.max):
        raise ValueError(what + _bounds_text(s))


def _p_str(raw: str, s: Setting) -> str:
    return raw


def _p_int(raw: str, s: Setting) -> int:
    what = "un número entero" + _bounds_text(s)
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(what) from None
    _check_bounds(value, s, "un número entero")
    return value


def _p_float(raw: str, s: Setting) -> float:
    what = "un número" + _bounds_text(s)
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(what) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(what)
    _check_bounds(value, s, "un número")
    return value


def _p_port(raw: str, s: Setting) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("un puerto TCP (1-65535)") from None
    if not 1 <= value <= 65535:
        raise ValueError("un puerto TCP (1-65535)")
    return value


def _p_bool(raw: str, s: Setting) -> bool:
    low = raw.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError("un booleano (true/false, 1/0, si/no, yes/no)")


def _p_list(raw: str, s: Setting) -> list[str]:
    items = [part.strip() for part in re.split(r"[,;]", raw)]
    items = [i for i in items if i]
    if s.choices:
        items = [i.lower() for i in items]
        bad = [i for i in items if i not in s.choices]
        if bad:
            raise ValueError("una lista separada por ',' o ';' con valores de: " + ", ".join(s.choices))
    return items


def _p_hhmm(raw: str, s: Setting) -> dtime:
    m = _HHMM.match(raw)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError("HH:MM (00:00-23:59)")
    return dtime(int(m.group(1)), int(m.group(2)))


_FECHAHORA = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


def _p_fechahora(raw: str, s: Setting) -> datetime:
    """A local date-time without zone, ``YYYY-MM-DD HH:MM[:SS]`` (C6's manual pause)."""
    m = _FECHAHORA.match(raw)
    try:
        if not m:
            raise ValueError
        return datetime(*(int(g) for g in m.groups(default="0")))
    except ValueError:
        raise ValueError("una fecha y hora local AAAA-MM-DD HH:MM[:SS], p. ej. 2026-03-01 18:30") from None


def _p_json_object(raw: str, s: Setting) -> dict[str, str]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise ValueError('un objeto JSON de texto a texto, p. ej. {"nombre_clouders": "RobotSAM"}') from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError('un objeto JSON de texto a texto, p. ej. {"nombre_clouders": "RobotSAM"}')
    return value


def _p_enum(raw: str, s: Setting) -> str:
    assert s.choices
    for choice in s.choices:
        if raw.lower() == choice.lower():
            return choice
    raise ValueError("uno de: " + ", ".join(s.choices))


def _p_regex(raw: str, s: Setting) -> str:
    try:
        re.compile(raw)
    except re.error as exc:
        raise ValueError(f"una expresión regular válida ({exc})") from None
    return raw


def _p_path(raw: str, s: Setting, root: Path = PROJECT_ROOT) -> Path:
    path = Path(os.path.expanduser(raw))
    return path if path.is_absolute() else (root / path)


PARSERS: dict[str, Callable[..., Any]] = {
    "str": _p_str, "int": _p_int, "float": _p_float, "bool": _p_bool, "list": _p_list,
    "hhmm": _p_hhmm, "json_object": _p_json_object, "port": _p_port, "enum": _p_enum,
    "regex": _p_regex, "path": _p_path, "fechahora": _p_fechahora,
}
# Value of an unset setting whose default is empty, per type.
_EMPTY: dict[str, Callable[[], Any]] = {"list": list, "json_object": dict, "hhmm": lambda: None,
                                        "path": lambda: None, "fechahora": lambda: None}


@dataclass(frozen=True)
class Setting:
    name: str
    type: str = "str"
    default: str = ""            # raw text, parsed with the type's parser (paths relative to root)
    group: str = "general"
    secret: bool = False
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    help: str = ""               # Spanish, one line (also the .env.example comment)


S = Setting
_RETRY_STATES = "08S01,08001,08004,08007,40001,HYT00,HYT01"


def _db_settings(prefix: str, group: str, sqlite_default: str, label: str) -> list[Setting]:
    return [
        S(f"{prefix}_ENGINE", "enum", "sqlserver", group, choices=("sqlserver", "sqlite"),
          help=f"Motor de la BD {label}: sqlserver (producción) o sqlite (demo/pruebas)"),
        S(f"{prefix}_SQLITE_PATH", "path", sqlite_default, group,
          help=f"Archivo SQLite de la BD {label} (solo con motor sqlite; relativo a la raíz)"),
        S(f"{prefix}_DRIVER", "str", "ODBC Driver 17 for SQL Server", group, help="Driver ODBC de SQL Server"),
        S(f"{prefix}_HOST", "str", "", group, help="Servidor\\instancia de SQL Server, p. ej. SERVIDOR\\INSTANCIA (obligatorio con sqlserver)"),
        S(f"{prefix}_DB_NAME", "str", "", group, help="Nombre de la base de datos (obligatorio con sqlserver)"),
        S(f"{prefix}_UID", "str", "", group, help="Usuario SQL (vacío junto con PWD = autenticación Windows)"),
        S(f"{prefix}_PWD", "str", "", group, secret=True, help="Contraseña SQL"),
        S(f"{prefix}_TIMEOUT_CONEXION_INICIAL", "int", "30", group, min=1, help="Timeout de conexión (s)"),
        S(f"{prefix}_TIMEOUT_CONSULTA_SEG", "int", "120", group, min=0,
          help="Tiempo máximo de una consulta en SQL Server (s; 0 = sin límite)"),
        S(f"{prefix}_MAX_REINTENTOS_QUERY", "int", "3", group, min=0, help="Reintentos ante errores transitorios"),
        S(f"{prefix}_DELAY_REINTENTO_QUERY_BASE_SEG", "float", "1.0", group, min=0,
          help="Espera base (s) entre reintentos; crece exponencialmente"),
        S(f"{prefix}_CODIGOS_SQLSTATE_REINTENTABLES", "list", _RETRY_STATES, group,
          help="SQLSTATE considerados transitorios (separados por , o ;)"),
        S(f"{prefix}_PARAMETROS_ODBC_EXTRA", "str", "", group,
          help="Texto añadido a la cadena de conexión, p. ej. Encrypt=yes;TrustServerCertificate=no"),
    ]


SETTINGS: tuple[Setting, ...] = (
    # --- Logging
    S("LOG_DIRECTORY", "path", "logs", "logging", help="Carpeta de logs (relativa a la raíz del proyecto)"),
    S("LOG_LEVEL", "enum", "INFO", "logging", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
      help="Nivel de log"),
    S("LOG_BACKUP_COUNT", "int", "7", "logging", min=0, help="Días de log rotado que se conservan"),
    S("LOG_FORMAT", "str", "", "logging", help="Formato de logging de Python (vacío = formato de SAM)"),
    S("LOG_DATEFMT", "str", "%Y-%m-%d %H:%M:%S", "logging", help="Formato de fecha de los logs"),
    S("APP_LOG_FILENAME_LANZADOR", "str", "sam_lanzador_app.log", "logging", help="Archivo de log del Lanzador"),
    S("APP_LOG_FILENAME_BALANCEADOR", "str", "sam_balanceador_app.log", "logging",
      help="Archivo de log del Balanceador"),
    S("CALLBACK_LOG_FILENAME", "str", "sam_callback_server.log", "logging",
      help="Archivo de log del servidor de callbacks"),
    S("APP_LOG_FILENAME_CONSOLA", "str", "sam_consola.log", "logging", help="Archivo de log de la consola web"),
    # --- General
    S("SAM_ZONA_HORARIA", "str", "", "general",
      help="Zona horaria IANA de las fechas de la BD SAM (p. ej. America/Argentina/Buenos_Aires; vacío = la del equipo)"),
    S("SAM_CONFIG_RECARGA_SEG", "int", "60", "general", min=1, max=3600,
      help="Cada cuántos segundos se releen los ajustes en caliente de la tabla ConfiguracionSistema"),
    # --- Dos servidores (BEHAVIOUR §15, H1-H3): elección de líder del Lanzador y del Balanceador
    S("HA_HABILITADO", "bool", "false", "general",
      help="true = el Lanzador y el Balanceador pueden correr en varios servidores (uno líder, el resto en "
           "espera); false = una sola instancia de cada uno (una segunda se niega a arrancar)"),
    S("HA_LEASE_SEG", "int", "30", "general", min=3, max=3600,
      help="Duración (s) del liderazgo sin renovar; se renueva cada tercio y un líder que no renueva deja "
           "de trabajar a los dos tercios"),
    # --- SAM DB and rpa360 DB
    *_db_settings("SQL_SAM", "sam_db", "data/sam.db", "SAM"),
    *_db_settings("SQL_RPA360", "rpa360_db", "data/rpa360.db", "rpa360"),
    # --- A360
    S("AA_URL", "str", "", "a360", help="URL del Control Room de A360, p. ej. https://controlroom.empresa.com (obligatorio para el Lanzador)"),
    S("AA_USER", "str", "", "a360", help="Usuario de API de A360 (obligatorio para el Lanzador)"),
    S("AA_PWD", "str", "", "a360", secret=True, help="Contraseña del usuario de A360 (el Lanzador necesita esta o AA_API_KEY)"),
    S("AA_API_KEY", "str", "", "a360", secret=True, help="API key del usuario de A360 (alternativa a AA_PWD)"),
    S("AA_URL_CALLBACK", "str", "", "a360",
      help="URL pública del servidor de callbacks que A360 llamará, p. ej. https://sam.empresa.com:8008/api/callback (obligatorio para el Lanzador)"),
    S("AA_API_TIMEOUT_SECONDS", "int", "60", "a360", min=1, help="Timeout de cada llamada a la API (s)"),
    S("AA_TOKEN_REFRESH_BUFFER_SEC", "int", "1140", "a360", min=0,
      help="Antigüedad (s) a partir de la cual se renueva el token de A360"),
    S("API_DEFAULT_PAGE_SIZE", "int", "100", "a360", min=1, max=500, help="Tamaño de página de la API"),
    S("API_MAX_PAGINATION_PAGES", "int", "1000", "a360", min=1, help="Máximo de páginas por consulta"),
    S("AA_VERIFY_SSL", "bool", "true", "a360", help="Verificar el certificado TLS del Control Room"),
    S("AA_ROBOTS_FILTRO_RUTA", "str", "", "a360", help="Solo sincronizar robots cuya ruta contenga este texto (sin distinguir mayúsculas; vacío = todos)"),
    S("AA_ROBOTS_FILTRO_NOMBRE", "regex", "", "a360",
      help="Solo sincronizar robots cuyo nombre cumpla esta expresión regular"),
    # --- Callback server
    S("CALLBACK_SERVER_HOST", "str", "0.0.0.0", "callback", help="Interfaz donde escucha el servidor de callbacks"),
    S("CALLBACK_SERVER_PORT", "port", "8008", "callback", help="Puerto del servidor de callbacks"),
    S("CALLBACK_SERVER_PUBLIC_HOST", "str", "", "callback", help="Nombre público del servidor (informativo)"),
    S("CALLBACK_SERVER_THREADS", "int", "8", "callback", min=1, help="Hilos de waitress"),
    S("CALLBACK_ENDPOINT_PATH", "str", "/api/callback", "callback", help="Ruta HTTP que recibe los callbacks"),
    S("CALLBACK_TOKEN", "str", "", "callback", secret=True,
      help="Token compartido que A360 envía en cada callback (mínimo 16 caracteres; obligatorio con CALLBACK_AUTH_MODE=required)"),
    S("CALLBACK_AUTH_MODE", "enum", "required", "callback", choices=("required", "none"),
      help="required = exigir CALLBACK_TOKEN; none = aceptar callbacks sin autenticar (no recomendado)"),
    S("CALLBACK_MAX_BODY_BYTES", "int", "1048576", "callback", min=1, help="Tamaño máximo del cuerpo de un callback"),
    # --- Latidos y métricas (BEHAVIOUR H5, M1)
    S("SAM_LATIDO_SEG", "int", "15", "general", min=1, max=300,
      help="Cada cuántos segundos escribe cada proceso su fila (latido) en EstadoServicios"),
    S("METRICAS_HOST", "str", "127.0.0.1", "general",
      help="Interfaz donde escuchan los /metrics de Prometheus de los servicios (0.0.0.0 = todas)"),
    S("LANZADOR_METRICAS_PUERTO", "port", "", "lanzador",
      help="Puerto de /metrics (Prometheus) del Lanzador (vacío = sin métricas por HTTP)"),
    S("CALLBACK_METRICAS_PUERTO", "port", "", "callback",
      help="Puerto de /metrics (Prometheus) del servidor de callbacks, distinto de CALLBACK_SERVER_PORT (vacío = sin métricas por HTTP)"),
    S("BALANCEADOR_METRICAS_PUERTO", "port", "", "balanceador",
      help="Puerto de /metrics (Prometheus) del Balanceador (vacío = sin métricas por HTTP)"),
    # --- Consola web de operación (CONSOLE.md)
    S("CONSOLA_HOST", "str", "127.0.0.1", "consola",
      help="Interfaz donde escucha la consola web (127.0.0.1 = solo este equipo, p. ej. detrás de IIS)"),
    S("CONSOLA_PUERTO", "port", "8010", "consola", help="Puerto HTTP de la consola web"),
    S("CONSOLA_SECRETO", "str", "", "consola", secret=True,
      help="Clave que firma las sesiones de la consola (obligatoria, al menos 32 caracteres aleatorios)"),
    S("CONSOLA_COOKIE_SEGURA", "bool", "false", "consola",
      help="true = la cookie de sesión solo viaja por HTTPS (póngalo en true detrás de IIS con HTTPS)"),
    S("CONSOLA_SESION_INACTIVIDAD_MIN", "int", "30", "consola", min=1, max=1440,
      help="Minutos sin actividad tras los que la sesión caduca y hay que volver a entrar"),
    S("CONSOLA_HILOS", "int", "8", "consola", min=1, max=64, help="Hilos de waitress de la consola web"),
    S("CONSOLA_PROXIES_CONFIABLES", "int", "0", "consola", min=0, max=5,
      help="Proxies inversos delante de la consola (p. ej. 1 = IIS): se toma la IP del cliente de X-Forwarded-For; 0 = ninguno, la IP es la de la conexión"),
    S("CONSOLA_INTENTOS_BLOQUEO", "int", "5", "consola", min=1, max=100,
      help="Inicios de sesión fallidos seguidos que bloquean la cuenta"),
    S("CONSOLA_BLOQUEO_MIN", "int", "15", "consola", min=1, max=1440,
      help="Minutos que una cuenta queda bloqueada tras los fallos seguidos"),
    S("CONSOLA_LOGIN_MAX_POR_MIN", "int", "20", "consola", min=1, max=10000,
      help="Intentos de inicio de sesión admitidos por dirección IP en un minuto; los siguientes reciben 429 sin verificar la clave"),
    S("CONSOLA_SESION_MAXIMA_HORAS", "int", "12", "consola", min=1, max=720,
      help="Horas que dura como máximo una sesión aunque haya actividad; después hay que volver a entrar (también aplica a LDAP)"),
    S("CONSOLA_LDAP_URL", "str", "", "consola",
      help="Servidor LDAP/Active Directory, ldaps://dc.empresa.local o ldap://dc.empresa.local (con StartTLS); vacío = solo usuarios locales"),
    S("CONSOLA_LDAP_BASE_DN", "str", "", "consola",
      help="DN base donde se busca al usuario y sus grupos, p. ej. DC=empresa,DC=local"),
    S("CONSOLA_LDAP_USUARIO_PLANTILLA", "str", "", "consola",
      help="Cómo se forma el usuario del bind: {usuario}@empresa.local o un DN como uid={usuario},ou=gente,dc=empresa,dc=local"),
    S("CONSOLA_LDAP_GRUPOS", "json_object", "{}", "consola",
      help='Grupo (DN) -> rol de la consola, JSON, p. ej. {"CN=SAM-Operadores,OU=Grupos,DC=empresa,DC=local": "operador"}; gana el rol más alto; sin grupo = sin acceso'),
    S("CONSOLA_LDAP_CA", "path", "", "consola",
      help="Certificado (PEM) de la CA del servidor LDAP; vacío = almacén de certificados del sistema"),
    S("CONSOLA_LDAP_TIMEOUT_SEG", "int", "10", "consola", min=1, max=120,
      help="Tiempo máximo (s) de conexión y de cada operación con el servidor LDAP"),
    # --- E-mail
    S("EMAIL_SMTP_SERVER", "str", "", "email", help="Servidor SMTP (vacío = las alertas solo se registran en el log)"),
    S("EMAIL_SMTP_PORT", "port", "25", "email", help="Puerto SMTP"),
    S("EMAIL_FROM", "str", "", "email", help="Remitente de las alertas (obligatorio si hay servidor SMTP)"),
    S("EMAIL_RECIPIENTS", "list", "", "email", help="Destinatarios separados por , o ; (obligatorio si hay servidor SMTP)"),
    S("EMAIL_USE_TLS", "bool", "false", "email", help="Usar STARTTLS"),
    S("EMAIL_USE_SSL", "bool", "false", "email", help="Usar TLS implícito (SMTPS, puerto 465); no junto con EMAIL_USE_TLS"),
    S("EMAIL_USER", "str", "", "email", help="Usuario SMTP (vacío = sin autenticación)"),
    S("EMAIL_PASSWORD", "str", "", "email", secret=True, help="Contraseña SMTP"),
    S("EMAIL_INTERVALO_REPETICION_MIN", "int", "30", "email", min=0,
      help="Minutos mínimos entre dos alertas con la misma clave"),
    S("EMAIL_TIMEOUT_SEG", "int", "10", "email", min=1, help="Timeout de la conexión SMTP (s)"),
    # --- Lanzador
    S("LANZADOR_INTERVALO_LANZADOR_SEG", "int", "15", "lanzador", min=1, help="Intervalo del ciclo de lanzamiento (s)"),
    S("LANZADOR_INTERVALO_CONCILIADOR_SEG", "int", "180", "lanzador", min=1, help="Intervalo de la conciliación (s)"),
    S("LANZADOR_INTERVALO_SYNC_TABLAS_SEG", "int", "3600", "lanzador", min=1,
      help="Intervalo de sincronización de robots/equipos con A360 (s)"),
    S("LANZADOR_MAX_LANZAMIENTOS_CONCURRENTES", "int", "10", "lanzador", min=1,
      help="Despliegues simultáneos como máximo"),
    S("LANZADOR_PAUSA_INICIO_HHMM", "hhmm", "", "lanzador", help="Inicio de la pausa de lanzamientos (HH:MM, hora local)"),
    S("LANZADOR_PAUSA_FIN_HHMM", "hhmm", "", "lanzador", help="Fin de la pausa de lanzamientos (HH:MM, hora local)"),
    S("LANZADOR_PAUSA_MANUAL_HASTA", "fechahora", "", "lanzador",
      help="Pausa manual: no se lanza ningún robot hasta esta fecha y hora local (AAAA-MM-DD HH:MM[:SS]; vacío o pasada = sin pausa)"),
    S("LANZADOR_BOT_INPUT_VUELTAS", "int", "3", "lanzador", min=0, help="Valor por defecto de 'vueltas' en el botInput"),
    S("LANZADOR_MAX_REINTENTOS_DEPLOY", "int", "2", "lanzador", min=0,
      help="Reintentos de un despliegue con error transitorio"),
    S("LANZADOR_ESPERA_TRAS_FALLO_SEG", "int", "300", "lanzador", min=0,
      help="Espera (s) antes de volver a intentar un robot/equipo cuyo despliegue falló"),
    S("LANZADOR_MAX_DURACION_EJECUCION_MIN", "int", "480", "lanzador", min=1,
      help="Duración (min) a partir de la cual una ejecución se alerta como atascada"),
    S("LANZADOR_SHUTDOWN_TIMEOUT_SEG", "int", "30", "lanzador", min=0,
      help="Espera máxima (s) del trabajo en curso al detener el servicio"),
    S("LANZADOR_LANZANDO_TIMEOUT_SEG", "int", "900", "lanzador", min=1,
      help="Tiempo (s) tras el cual un registro LANZANDO sin deploymentId se revisa (tras una caída); debe "
           "superar lo que puede durar un despliegue con sus reintentos (ver AA_API_TIMEOUT_SECONDS)"),
    S("CONCILIADOR_TOLERANCIA_UNKNOWN_MIN", "int", "120", "ocupacion", min=0,
      help="Minutos en UNKNOWN antes de darla por terminada y de dejar libre su equipo (Lanzador y Balanceador)"),
    S("LANZADOR_CONCILIADOR_BATCH_SIZE", "int", "100", "lanzador", min=1, help="Ids por consulta de conciliación"),
    S("CONCILIADOR_EDAD_MINIMA_SEG", "int", "30", "lanzador", min=0,
      help="Edad mínima (s) de una ejecución para conciliarla"),
    S("CONCILIADOR_RONDAS_NO_ENCONTRADO", "int", "5", "lanzador", min=1,
      help="Rondas sin encontrar el deploymentId en A360 antes de marcarla"),
    S("CONCILIADOR_EDAD_NO_ENCONTRADO_MIN", "int", "15", "lanzador", min=0,
      help="Edad mínima (min) para marcar una ejecución no encontrada"),
    S("SAM_FALLOS_CONSECUTIVOS_ALERTA", "int", "3", "lanzador", min=1,
      help="Ciclos seguidos sin BD o A360 antes de enviar una alerta"),
    # --- Caída de A360 y fallos por equipo (BEHAVIOUR §16 M2, M3)
    S("A360_CAIDA_UMBRAL", "int", "3", "lanzador", min=1, max=1000,
      help="Errores 5xx, tiempos agotados o errores de conexión seguidos que declaran A360 no disponible"),
    S("A360_CAIDA_VENTANA_MIN", "int", "3", "lanzador", min=1, max=1440,
      help="Minutos en los que deben ocurrir esos errores para declarar A360 no disponible"),
    S("LANZADOR_FALLOS_EQUIPO_UMBRAL", "int", "20", "lanzador", min=1, max=100000,
      help="Despliegues fallidos seguidos en un mismo equipo antes de alertar de ese equipo"),
    # --- Retención del historial de ejecuciones (trabajo diario del Lanzador, BEHAVIOUR §14 R2)
    S("MANTENIMIENTO_HORA_HHMM", "hhmm", "05:00", "lanzador",
      help="Hora (HH:MM, hora local) del mantenimiento diario del historial de ejecuciones"),
    S("MANTENIMIENTO_DIAS_EJECUCIONES", "int", "7", "lanzador", min=1,
      help="Días que una ejecución terminada sigue en Ejecuciones antes de pasar a Ejecuciones_Historico"),
    S("MANTENIMIENTO_DIAS_HISTORICO", "int", "365", "lanzador", min=0,
      help="Días que se conserva una ejecución en Ejecuciones_Historico (0 = para siempre)"),
    S("MANTENIMIENTO_LOTE", "int", "5000", "lanzador", min=100,
      help="Filas por lote (una transacción corta cada uno) al mover y purgar el historial"),
    # --- Balanceador
    S("BALANCEADOR_INTERVALO_CICLO_SEG", "int", "120", "balanceador", min=1, help="Intervalo del ciclo (s)"),
    S("BALANCEADOR_DEFAULT_TICKETS_POR_EQUIPO", "int", "10", "balanceador", min=1,
      help="Tickets por equipo cuando el robot no define TicketsPorEquipoAdicional"),
    S("BALANCEADOR_COOLING_PERIOD_SEG", "int", "300", "balanceador", min=0,
      help="Periodo de enfriamiento entre cambios de sentido (s)"),
    S("BALANCEADOR_PROVEEDORES_CARGA", "list", "rpa360,clouders", "balanceador", choices=("rpa360", "clouders"),
      help="Fuentes de tickets habilitadas: rpa360, clouders"),
    S("MAPA_ROBOTS", "json_object", "{}", "balanceador",
      help='JSON nombre en clouders -> Robot en SAM, p. ej. {"proceso_x": "RobotX"}'),
    S("BALANCEADOR_LICENCIAS_POOL", "list", "ATTENDEDRUNTIME", "balanceador",
      help="Licencias de los equipos del pool dinámico"),
    S("BALANCEADOR_UMBRAL_SUBIDA_PCT", "int", "30", "balanceador", min=0,
      help="Subida de tickets (%) que permite ampliar dentro del enfriamiento"),
    S("BALANCEADOR_UMBRAL_BAJADA_PCT", "int", "40", "balanceador", min=0,
      help="Bajada de tickets (%) que permite reducir dentro del enfriamiento"),
    S("BALANCEADOR_FALLOS_PARA_ALERTA", "int", "3", "balanceador", min=1,
      help="Fallos seguidos de una fuente antes de alertar"),
    S("BALANCEADOR_SHUTDOWN_TIMEOUT_SEG", "int", "30", "balanceador", min=0,
      help="Espera máxima (s) del ciclo en curso al detener el servicio"),
    S("BALANCEADOR_AISLAMIENTO_ESTRICTO", "bool", "true", "balanceador",
      help="true = cada pool sólo usa sus equipos; false = los equipos libres del pool general pueden "
           "prestarse a robots de otros pools (B12)"),
    S("BALANCEADOR_PREEMPCION", "bool", "true", "balanceador",
      help="true = un robot de mayor prioridad puede quitar un equipo ocioso a otro de menor prioridad "
           "por encima de su mínimo (B13); false = sólo se asignan equipos libres"),
    # --- Clouders
    S("CLOUDERS_MODO", "enum", "tunel", "clouders", choices=("tunel", "comando"),
      help="tunel = pymysql por túnel SSH; comando = cliente mysql ejecutado en el host SSH"),
    S("CLOUDERS_SSH_HOST", "str", "", "clouders", help="Host SSH de clouders"),
    S("CLOUDERS_SSH_PORT", "port", "22", "clouders", help="Puerto SSH"),
    S("CLOUDERS_SSH_USER", "str", "", "clouders", help="Usuario SSH"),
    S("CLOUDERS_SSH_PASS", "str", "", "clouders", secret=True, help="Contraseña SSH (o CLOUDERS_SSH_KEY_FILE)"),
    S("CLOUDERS_SSH_KEY_FILE", "str", "", "clouders", help="Archivo de clave privada SSH (alternativa a la contraseña)"),
    S("CLOUDERS_SSH_KNOWN_HOSTS", "str", "", "clouders",
      help="Archivo known_hosts con la clave del host (vacío = ~/.ssh/known_hosts)"),
    S("CLOUDERS_SSH_ACEPTAR_HOST_DESCONOCIDO", "bool", "false", "clouders",
      help="Aceptar una clave de host desconocida (inseguro; se registra un aviso)"),
    S("CLOUDERS_SSH_TIMEOUT_SEG", "int", "15", "clouders", min=1, help="Timeout SSH (s)"),
    S("CLOUDERS_MYSQL_DB_HOST", "str", "127.0.0.1", "clouders", help="Host MySQL visto desde el host SSH"),
    S("CLOUDERS_MYSQL_DB_PORT", "port", "3306", "clouders", help="Puerto MySQL"),
    S("CLOUDERS_MYSQL_DB_NAME", "str", "", "clouders", help="Base de datos MySQL de clouders"),
    S("CLOUDERS_MYSQL_USER", "str", "", "clouders", help="Usuario MySQL"),
    S("CLOUDERS_MYSQL_PASS", "str", "", "clouders", secret=True, help="Contraseña MySQL"),
    S("CLOUDERS_MYSQL_CLIENTE", "str", "mysql", "clouders", help="Cliente mysql en el host SSH (modo comando)"),
)
SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
SECRET_NAMES: frozenset[str] = frozenset(s.name for s in SETTINGS if s.secret)


def parse_value(setting: Setting, raw: str | None, root: Path = PROJECT_ROOT) -> Any:
    """Typed value of ``raw`` (None/blank -> the setting's default). Raises ValueError."""
    text = (raw or "").strip()
    if text and setting.secret:
        text = raw or ""          # secrets keep their exact characters
    if not text:
        text = setting.default
        if not text:
            return _EMPTY.get(setting.type, str)()
    if setting.type == "path":
        return _p_path(text, setting, root)
    return PARSERS[setting.type](text, setting)


def ajuste(cfg: Any, nombre: str) -> Any:
    """The one way code reads a setting: the validated value of ``cfg`` or, where ``cfg`` lacks it
    (a partial mapping in a tool or a test), the setting's declared default. Never a default of its own."""
    valor = cfg.get(nombre) if hasattr(cfg, "get") else getattr(cfg, nombre, None)
    return parse_value(SETTINGS_BY_NAME[nombre], None) if valor is None else valor


def _problem(setting: Setting, raw: str, expected: str) -> str:
    shown = MASK if setting.secret else raw
    return f"{setting.name}: se esperaba {expected}, se recibió '{shown}'"


class Config:
    """Typed settings of one service. Attribute access: ``cfg.LANZADOR_INTERVALO_LANZADOR_SEG``."""

    def __init__(self, service: str, values: Mapping[str, Any], sources: Mapping[str, str] | None = None,
                 root: Path = PROJECT_ROOT) -> None:
        object.__setattr__(self, "service", service)
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_sources", dict(sources or {}))
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "unknown_keys", [])   # .env names that are not settings (typos)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"setting desconocido: {name}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Config es inmutable; use with_overrides()")

    def __getstate__(self) -> dict[str, Any]:
        return {"service": self.service, "_values": self._values, "_sources": self._sources, "_root": self._root,
                "unknown_keys": self.unknown_keys}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def source(self, name: str) -> str:
        """Where the value came from: 'entorno', '<dir>/.env', '.env' or 'por defecto'."""
        return self._sources.get(name, "por defecto")

    def secrets(self) -> list[str]:
        """Non-empty values of the secret settings (for log/e-mail redaction)."""
        return [str(self._values[n]) for n in sorted(SECRET_NAMES) if self._values.get(n)]

    def masked(self) -> dict[str, Any]:
        """All values with the secrets replaced by a mask (safe to log)."""
        return {k: (MASK if k in SECRET_NAMES and v else v) for k, v in self._values.items()}

    def with_overrides(self, **values: Any) -> Config:
        """A copy with some settings replaced. Strings are parsed with the setting's type."""
        new = dict(self._values)
        problems = []
        for name, value in values.items():
            setting = SETTINGS_BY_NAME.get(name)
            if setting is None:
                raise AttributeError(f"setting desconocido: {name}")
            if isinstance(value, str) and setting.type != "str":
                try:
                    value = parse_value(setting, value, self._root)
                except ValueError as exc:
                    problems.append(_problem(setting, value, str(exc)))
                    continue
            new[name] = value
        if problems:
            raise ConfigError(problems)
        sources = {**self._sources, **{n: "override" for n in values}}
        copy = Config(self.service, new, sources, self._root)
        object.__setattr__(copy, "unknown_keys", list(self.unknown_keys))
        return copy

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self.masked().items())
        return f"Config(service={self.service!r}, {body})"

    __str__ = __repr__


# --------------------------------------------------------------------------- loading

# Byte-order mark -> codec. PowerShell 5.1 `>` / Out-File writes UTF-16 LE with a BOM and Notepad
# can save "UTF-8 con BOM"; a file without a BOM must be UTF-8.
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig", "UTF-8 con BOM"), (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
         (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"))


def _texto_env(path: Path) -> str:
    """Text of a .env file (UTF-8, or UTF-8/UTF-16 with a BOM); ConfigError naming the file otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: no se puede leer el archivo ({exc.strerror or exc})"]) from None
    codec, nombre = next(((c, n) for bom, c, n in _BOMS if data.startswith(bom)), ("utf-8", "UTF-8"))
    if codec == "utf-8" and b"\x00" in data:
        raise ConfigError([f"{path}: parece UTF-16 sin BOM; guárdelo como UTF-8 (p. ej. en PowerShell "
                           "Set-Content -Encoding utf8)"])
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: no se puede leer como {nombre} (byte 0x{data[exc.start]:02X} en la "
                           f"posición {exc.start}); guárdelo como UTF-8"]) from None


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    valores = dotenv_values(stream=io.StringIO(_texto_env(path)))
    return {k: v for k, v in valores.items() if v is not None}


def _strict_groups(service: str, providers: list[str]) -> set[str]:
    groups = {g for g, services in GROUP_SERVICES.items() if service in services}
    if "rpa360" not in providers:
        groups.discard("rpa360_db")
    if "clouders" not in providers:
        groups.discard("clouders")
    return groups


def sugerencia(nombre: str) -> str | None:
    """The setting whose name is closest to ``nombre`` (a misspelt ``.env`` key), or None."""
    cercanos = difflib.get_close_matches(nombre.upper(), list(SETTINGS_BY_NAME), n=1, cutoff=0.6)
    return cercanos[0] if cercanos else None


def claves_desconocidas(root: Path | None = None, services: Iterable[str] = SERVICES) -> list[str]:
    """One Spanish line per name in the ``.env`` files that ``services`` read which is not a setting,
    with a "¿quiso decir …?" suggestion. The configuration check treats them as errors; the services
    only log them (``Config.unknown_keys``). Raises ConfigError when a file cannot be read."""
    root = Path(root) if root is not None else PROJECT_ROOT
    archivos = [".env"] + sorted({f"{SERVICE_DIRS[s]}/.env" for s in services})
    out: list[str] = []
    for archivo in archivos:
        for clave in sorted(_read_env_file(root / archivo)):
            if clave in SETTINGS_BY_NAME:
                continue
            cercana = sugerencia(clave)
            pista = f" (¿quiso decir {cercana}?)" if cercana else ""
            out.append(f"{clave}: no es una variable de SAM, en {archivo}{pista}")
    return out


def load_config(service: str, environ: Mapping[str, str] | None = None, root: Path | None = None) -> Config:
    """Read, parse and validate the settings of ``service``. Raises ConfigError with ALL problems."""
    if service not in SERVICES:
        raise ValueError(f"servicio desconocido: {service!r} (se esperaba uno de {', '.join(SERVICES)})")
    root = Path(root) if root is not None else PROJECT_ROOT
    environ = os.environ if environ is None else environ
    service_dir = SERVICE_DIRS[service]
    layers = [
        ("entorno", environ),
        (f"{service_dir}/.env", _read_env_file(root / service_dir / ".env")),
        (".env", _read_env_file(root / ".env")),
    ]

    raw: dict[str, str] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        for label, layer in layers:
            value = layer.get(setting.name)
            if value is not None and value.strip():
                raw[setting.name], sources[setting.name] = value, label
                break

    # Providers decide which conditional groups are strict, so parse that one first.
    prov_setting = SETTINGS_BY_NAME["BALANCEADOR_PROVEEDORES_CARGA"]
    try:
        providers = parse_value(prov_setting, raw.get(prov_setting.name))
    except ValueError:
        providers = []
    strict = _strict_groups(service, providers)

    problems: list[str] = []
    values: dict[str, Any] = {}
    refused: set[str] = set()
    for setting in SETTINGS:
        text = raw.get(setting.name)
        try:
            values[setting.name] = parse_value(setting, text, root)
        except ValueError as exc:
            if setting.group in strict:
                problems.append(_problem(setting, text or "", str(exc)))
                refused.add(setting.name)
            values[setting.name] = parse_value(setting, None, root)

    problems += _cross_checks(service, values, strict, refused)
    if problems:
        raise ConfigError(problems)
    cfg = Config(service, values, sources, root)
    # Names in the .env files that are not settings (typos): the services log them as warnings.
    unknown = sorted({k for _, layer in layers[1:] for k in layer if k not in SETTINGS_BY_NAME})
    object.__setattr__(cfg, "unknown_keys", unknown)
    return cfg


# --- L3.5: how long a deploy (with its retries) can keep A360 accepting it --------------------------
#: HTTP calls one deploy attempt can make, each up to AA_API_TIMEOUT_SECONDS: the token renewal
#: login, the deploy POST and, after a 401, one more login and POST (A360 client, A360_API §5).
LLAMADAS_POR_INTENTO_DEPLOY = 4
#: The launcher's backoff between deploy retries (base doubling, capped); a longer Retry-After wait
#: is only honoured when the retry still fits before LANZADOR_LANZANDO_TIMEOUT_SEG (L3.5).
BACKOFF_DEPLOY_BASE_SEG = 1.0
BACKOFF_DEPLOY_MAX_SEG = 30.0
#: Margin over the longest deploy: clocks of two SAM hosts, A360 finishing a call the client gave up on.
MARGEN_LANZANDO_SEG = 5


def duracion_maxima_despliegue_seg(timeout_api_seg: float, reintentos: int) -> float:
    """The longest a launch's deploy calls can take from its intent (L3.5): every attempt making all
    its calls up to the API timeout, plus the backoff waits between attempts."""
    esperas = sum(min(BACKOFF_DEPLOY_BASE_SEG * 2 ** (i - 1), BACKOFF_DEPLOY_MAX_SEG)
                  for i in range(1, int(reintentos) + 1))
    return float(timeout_api_seg) * LLAMADAS_POR_INTENTO_DEPLOY * (int(reintentos) + 1) + esperas


def minimo_lanzando_timeout_seg(timeout_api_seg: float, reintentos: int) -> int:
    """The smallest safe LANZADOR_LANZANDO_TIMEOUT_SEG for these settings (L3.5)."""
    return math.ceil(duracion_maxima_despliegue_seg(timeout_api_seg, reintentos) + MARGEN_LANZANDO_SEG)


class _Cruces:
    """Rules that involve more than one setting or depend on the service, one method per group."""

    def __init__(self, service: str, v: Mapping[str, Any]) -> None:
        self.service = service
        self.v = v
        self.real = service != "demo"  # the demo supplies its own endpoints, credentials and SQLite files
        self.out: list[str] = []

    def need(self, name: str, why: str) -> None:
        if not self.v[name]:
            self.out.append(f"{name}: se esperaba un valor ({why}), no está definido")

    def general(self) -> None:
        zona = self.v["SAM_ZONA_HORARIA"]
        if not zona:
            return
        try:
            resolve_zone(zona)
        except ValueError:
            self.out.append(f"SAM_ZONA_HORARIA: se esperaba una zona horaria IANA (p. ej. Europe/Madrid), "
                            f"se recibió '{zona}'")

    def bases(self, strict: set[str]) -> None:
        for prefix, group in (("SQL_SAM", "sam_db"), ("SQL_RPA360", "rpa360_db")):
            if self.real and group in strict and self.v[f"{prefix}_ENGINE"] == "sqlserver":
                self.need(f"{prefix}_HOST", f"obligatorio con {prefix}_ENGINE=sqlserver")
                self.need(f"{prefix}_DB_NAME", f"obligatorio con {prefix}_ENGINE=sqlserver")

    def email(self) -> None:
        v = self.v
        if v["EMAIL_USE_TLS"] and v["EMAIL_USE_SSL"]:
            self.out.append("EMAIL_USE_SSL: se esperaba false cuando EMAIL_USE_TLS=true (STARTTLS y SSL son excluyentes)")
        if v["EMAIL_SMTP_SERVER"]:
            self.need("EMAIL_FROM", "obligatorio cuando EMAIL_SMTP_SERVER está definido")
            self.need("EMAIL_RECIPIENTS", "obligatorio cuando EMAIL_SMTP_SERVER está definido")

    def a360(self) -> None:
        v = self.v
        for name in ("AA_URL", "AA_URL_CALLBACK"):
            if v[name] and not re.match(r"^https?://[^/\s]+", v[name]):
                self.out.append(f"{name}: se esperaba una URL http:// o https://, se recibió '{v[name]}'")
        if not (self.real and self.service == "lanzador"):
            return
        self.need("AA_URL", "URL del Control Room")
        self.need("AA_USER", "usuario de A360")
        self.need("AA_URL_CALLBACK", "URL pública del servidor de callbacks")
        if not v["AA_PWD"] and not v["AA_API_KEY"]:
            self.out.append("AA_PWD / AA_API_KEY: se esperaba uno de los dos (credencial de A360), ninguno está definido")

    def callback(self) -> None:
        v = self.v
        if not v["CALLBACK_ENDPOINT_PATH"].startswith("/"):
            self.out.append(f"CALLBACK_ENDPOINT_PATH: se esperaba una ruta que empiece por '/', "
                            f"se recibió '{v['CALLBACK_ENDPOINT_PATH']}'")
        token = v["CALLBACK_TOKEN"]
        if token and len(token) < 16:
            self.out.append(
                f"CALLBACK_TOKEN: se esperaba un token de al menos 16 caracteres, se recibió uno de {len(token)}"
            )
        elif self.real and not token and v["CALLBACK_AUTH_MODE"] == "required":
            self.out.append(
                "CALLBACK_TOKEN: se esperaba un token (obligatorio con CALLBACK_AUTH_MODE=required), no está definido"
            )
        if v["CALLBACK_METRICAS_PUERTO"] and v["CALLBACK_METRICAS_PUERTO"] == v["CALLBACK_SERVER_PORT"]:
            self.out.append(f"CALLBACK_METRICAS_PUERTO: se esperaba un puerto distinto de CALLBACK_SERVER_PORT "
                            f"(las métricas nunca se sirven en el puerto que llama A360), se recibió "
                            f"{v['CALLBACK_METRICAS_PUERTO']}")

    def consola(self) -> None:
        v = self.v
        secreto = v["CONSOLA_SECRETO"]
        if secreto and len(secreto) < 32:
            self.out.append(f"CONSOLA_SECRETO: se esperaba una clave de al menos 32 caracteres, se recibió una "
                            f"de {len(secreto)}")
        elif self.real and not secreto:
            self.out.append("CONSOLA_SECRETO: se esperaba una clave de al menos 32 caracteres (firma las "
                            "sesiones de la consola), no está definida")
        url = v["CONSOLA_LDAP_URL"]
        if url and not re.match(r"^ldaps?://[^/\s]+", url, re.IGNORECASE):
            self.out.append(f"CONSOLA_LDAP_URL: se esperaba una URL ldaps:// o ldap://, se recibió '{url}'")
        if url and "{usuario}" not in v["CONSOLA_LDAP_USUARIO_PLANTILLA"]:
            self.out.append("CONSOLA_LDAP_USUARIO_PLANTILLA: se esperaba una plantilla con {usuario} "
                            "(obligatoria con CONSOLA_LDAP_URL), se recibió '"
                            f"{v['CONSOLA_LDAP_USUARIO_PLANTILLA']}'")
        if url and not v["CONSOLA_LDAP_BASE_DN"]:
            self.need("CONSOLA_LDAP_BASE_DN", "obligatorio con CONSOLA_LDAP_URL")
        roles = ("lector", "operador", "administrador")
        for grupo, rol in (v["CONSOLA_LDAP_GRUPOS"] or {}).items():
            if rol not in roles:
                self.out.append(f"CONSOLA_LDAP_GRUPOS: se esperaba un rol ({', '.join(roles)}) para el grupo "
                                f"'{grupo}', se recibió '{rol}'")
        if url and not v["CONSOLA_LDAP_GRUPOS"]:
            self.need("CONSOLA_LDAP_GRUPOS", "obligatorio con CONSOLA_LDAP_URL: sin grupos nadie entraría")

    def lanzando_timeout(self) -> None:
        """L3.5: the LANZANDO recovery never judges an intent whose deploy A360 may still be accepting."""
        v = self.v
        timeout, reintentos = v["AA_API_TIMEOUT_SECONDS"], v["LANZADOR_MAX_REINTENTOS_DEPLOY"]
        minimo = minimo_lanzando_timeout_seg(timeout, reintentos)
        if v["LANZADOR_LANZANDO_TIMEOUT_SEG"] < minimo:
            self.out.append(
                f"LANZADOR_LANZANDO_TIMEOUT_SEG: se esperaba al menos {minimo} s, se recibió "
                f"{v['LANZADOR_LANZANDO_TIMEOUT_SEG']}: un despliegue puede tardar hasta "
                f"{duracion_maxima_despliegue_seg(timeout, reintentos):g} s con AA_API_TIMEOUT_SECONDS={timeout} y "
                f"LANZADOR_MAX_REINTENTOS_DEPLOY={reintentos} ({reintentos + 1} "
                f"{'intento' if reintentos == 0 else 'intentos'} de hasta {LLAMADAS_POR_INTENTO_DEPLOY} llamadas "
                f"y las esperas entre ellos, más {MARGEN_LANZANDO_SEG} s de margen); suba "
                "LANZADOR_LANZANDO_TIMEOUT_SEG o baje AA_API_TIMEOUT_SECONDS / LANZADOR_MAX_REINTENTOS_DEPLOY")

    def lanzador(self) -> None:
        self.lanzando_timeout()
        inicio, fin = self.v["LANZADOR_PAUSA_INICIO_HHMM"], self.v["LANZADOR_PAUSA_FIN_HHMM"]
        if bool(inicio) != bool(fin):
            missing = "LANZADOR_PAUSA_FIN_HHMM" if inicio else "LANZADOR_PAUSA_INICIO_HHMM"
            self.out.append(f"{missing}: se esperaba HH:MM porque la otra mitad de la pausa está definida "
                            "(o ambas vacías)")
        puerto = self.v["LANZADOR_METRICAS_PUERTO"]
        for otro in ("CALLBACK_SERVER_PORT", "CALLBACK_METRICAS_PUERTO"):
            if puerto and puerto == self.v[otro]:
                self.out.append(f"LANZADOR_METRICAS_PUERTO: se esperaba un puerto distinto de {otro} (el "
                                f"servidor de callbacks suele correr en el mismo equipo), se recibió {puerto}")

    def clouders(self) -> None:
        if not self.real:
            return
        for name in ("CLOUDERS_SSH_HOST", "CLOUDERS_SSH_USER", "CLOUDERS_MYSQL_DB_NAME", "CLOUDERS_MYSQL_USER"):
            self.need(name, "obligatorio con la fuente clouders habilitada")
        if not self.v["CLOUDERS_SSH_PASS"] and not self.v["CLOUDERS_SSH_KEY_FILE"]:
            self.out.append("CLOUDERS_SSH_PASS / CLOUDERS_SSH_KEY_FILE: se esperaba uno de los dos "
                            "(autenticación SSH de clouders), ninguno está definido")


def _cross_checks(service: str, v: Mapping[str, Any], strict: set[str],
                  refused: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Rules that involve more than one setting or depend on the service (groups in ``strict`` only).

    A rule that names a setting in ``refused`` (its value failed its type check, which is already
    reported) is dropped: it was evaluated on that setting's default, and reporting it too would
    report one problem twice (a malformed HH:MM as "missing", a misspelt engine's requirements)."""
    cruces = _Cruces(service, v)
    if "general" in strict:
        cruces.general()
    cruces.bases(strict)
    for group in ("email", "a360", "callback", "lanzador", "clouders", "consola"):
        if group in strict:
            getattr(cruces, group)()
    if not refused:
        return cruces.out
    named = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(refused))) + r")\b")
    return [line for line in cruces.out if not named.search(line)]


def comprobar_cruces(service: str, values: Mapping[str, Any]) -> list[str]:
    """The cross-setting rules of ``service`` over a complete set of typed ``values`` (the same
    ones ``load_config`` applies at start-up; used again when settings change at run time, C6)."""
    return _cross_checks(service, values, grupos_validados(service, values))


def grupos_validados(service: str, values: Mapping[str, Any]) -> set[str]:
    """The groups ``service`` validates strictly (the others fall back to their default)."""
    return _strict_groups(service, list(values.get("BALANCEADOR_PROVEEDORES_CARGA") or []))


def load_config_or_exit(service: str, environ: Mapping[str, str] | None = None,
                        root: Path | None = None) -> Config:
    """``load_config`` for entry points: on problems print them (Spanish) to stderr and exit 2."""
    try:
        return load_config(service, environ, root)
    except ConfigError as exc:
        print(f"SAM ({service}): configuración no válida; {len(exc.problems)} {'problema' if len(exc.problems) == 1 else 'problemas'}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        print("Revise el archivo .env o las variables de entorno (ver .env.example).", file=sys.stderr)
        sys.exit(2)
