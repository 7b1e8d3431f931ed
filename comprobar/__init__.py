"""Configuration check of every SAM service at once: ``python -m comprobar``.

Reads the ``.env`` files and the environment exactly as the services do (``load_config``), for the
Lanzador, the callback server and the Balanceador together, and lists **each problem once** (with
the services it affects), then one Spanish verdict per service. A name in a ``.env`` file that is
not a setting is an error here, with a "¿quiso decir …?" suggestion; the services themselves only
log it as a warning at start-up, so that a stale or misspelt line never stops a running service
after an upgrade or a rollback (this check, run before installing, is where it must be fixed).

``--conexiones`` also tries each dependency the selected services use, once per distinct setting
values: the ODBC driver (``pyodbc.drivers()``), the SAM database login (SQLite: the file or its
folder is writable), the A360 login (then logout), the SMTP server (EHLO, STARTTLS and login as
configured; no mail is sent), the rpa360 source (one read) and the clouders SSH connection
(connect and close). A dependency that is not enabled is listed as skipped, with the reason. Every
line goes through :func:`common.utils.redaccion.redactar` with the configured secrets.

Exit code: 0 all correct; 1 a connection failed (``--conexiones``); 2 configuration errors.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.cli import ParserSAM
from common.paths import PROJECT_ROOT
from common.utils.config_manager import (
    SETTINGS,
    Config,
    ConfigError,
    claves_desconocidas,
    load_config,
)
from common.utils.redaccion import redactar

SERVICIOS = ("lanzador", "callback", "balanceador")
OK, FALLO, OMITIDA = "ok", "fallo", "omitida"
_ETIQUETAS = {OK: "[OK]     ", FALLO: "[FALLO]  ", OMITIDA: "[OMITIDA]"}


@dataclass
class Conexion:
    """The verdict of one dependency, for the services that use it with the same settings."""

    nombre: str
    estado: str
    detalle: str
    servicios: list[str] = field(default_factory=list)


@dataclass
class Informe:
    raiz: Path
    servicios: list[str]
    configs: dict[str, Config]
    problemas: dict[str, list[str]]        # Spanish line -> the services it affects (each line once)
    conexiones: list[Conexion] | None = None

    def problemas_de(self, servicio: str) -> list[str]:
        return [p for p, servicios in self.problemas.items() if servicio in servicios]

    @property
    def codigo(self) -> int:
        if self.problemas:
            return 2
        return 1 if any(c.estado == FALLO for c in self.conexiones or ()) else 0


# --------------------------------------------------------------------------- configuration

def revisar_configuracion(servicios: Iterable[str], raiz: Path, entorno: Mapping[str, str]) -> Informe:
    """Load every service's settings; collect all problems (type, cross-setting, unknown names) once."""
    servicios = list(servicios)
    configs: dict[str, Config] = {}
    problemas: dict[str, list[str]] = {}

    def anotar(lineas: Iterable[str], servicio: str) -> None:
        for linea in lineas:
            afectados = problemas.setdefault(linea, [])
            if servicio not in afectados:
                afectados.append(servicio)

    for servicio in servicios:
        try:
            configs[servicio] = load_config(servicio, entorno, raiz)
        except ConfigError as exc:
            anotar(exc.problems, servicio)
        try:
            anotar(claves_desconocidas(raiz, [servicio]), servicio)
        except ConfigError:
            pass  # a .env that cannot be read: load_config has just reported it
    return Informe(raiz, servicios, configs, problemas)


# --------------------------------------------------------------------------- connection checks

def _describir(exc: BaseException) -> str:
    """Spanish text of a network error (the exception's own text after it)."""
    if isinstance(exc, ConnectionRefusedError):
        que = "conexión rechazada (nada escucha en ese puerto, o un firewall lo impide)"
    elif isinstance(exc, (socket.timeout, TimeoutError)):
        que = "tiempo de espera agotado"
    elif isinstance(exc, socket.gaierror):
        que = "no se pudo resolver el nombre del servidor"
    elif isinstance(exc, ssl.SSLError):
        que = "error TLS"
    else:
        que = "error"
    return f"{que} ({type(exc).__name__}: {exc})"


def _driver_odbc(cfg: Config, prefijo: str) -> tuple[str, str]:
    if cfg.get(f"{prefijo}_ENGINE") != "sqlserver":
        return OMITIDA, f"{prefijo}_ENGINE={cfg.get(f'{prefijo}_ENGINE')} (no usa ODBC)"
    from common.database import sql_client

    driver = str(cfg.get(f"{prefijo}_DRIVER"))
    if sql_client.pyodbc is None:
        return FALLO, (f"no se puede cargar pyodbc ({sql_client.PYODBC_ERROR}); instale pyodbc "
                       "(requirements.txt) y, en Linux, el gestor de controladores ODBC (unixODBC, libodbc)")
    instalados = list(sql_client.pyodbc.drivers())
    if driver in instalados:
        return OK, f"'{driver}' instalado ({prefijo}_DRIVER)"
    return FALLO, (f"'{driver}' no está instalado (instalados: {', '.join(instalados) or 'ninguno'}); "
                   f"revise {prefijo}_DRIVER o instale el ODBC Driver 18 (o 17) for SQL Server de 64 bits")


def _carpeta_escribible(ruta: Path) -> Path | None:
    """The nearest existing folder of ``ruta`` when it is writable, else None."""
    carpeta = ruta.parent
    while not carpeta.exists() and carpeta != carpeta.parent:
        carpeta = carpeta.parent
    return carpeta if os.access(carpeta, os.W_OK) else None


def _bd(cfg: Config, prefijo: str, revisar: str) -> tuple[str, str]:
    """A login and a ``SELECT 1`` (SQL Server) or a writable file (SQLite), without retries."""
    from common.database.sql_client import DatabaseClient, DatabaseError

    if cfg.get(f"{prefijo}_ENGINE") == "sqlite":
        ruta = Path(cfg.get(f"{prefijo}_SQLITE_PATH"))
        if not ruta.exists():
            carpeta = _carpeta_escribible(ruta)
            if carpeta is None:
                return FALLO, f"SQLite {ruta}: no existe y no se puede crear; revise {prefijo}_SQLITE_PATH"
            return OK, f"SQLite {ruta}: no existe todavía; se creará al arrancar (carpeta {carpeta} escribible)"
        if not os.access(ruta, os.W_OK):
            return FALLO, f"SQLite {ruta}: sin permiso de escritura; revise {prefijo}_SQLITE_PATH y sus permisos"
    estado, texto = _driver_odbc(cfg, prefijo)
    if estado == FALLO:
        return OMITIDA, f"sin driver ODBC ({prefijo}_DRIVER, ver su línea)"
    db = DatabaseClient.from_config(cfg.with_overrides(**{f"{prefijo}_MAX_REINTENTOS_QUERY": 0}),
                                    prefijo.removeprefix("SQL_"))
    try:
        db.query("SELECT 1 AS uno")
        if db.engine == "sqlite":
            return OK, f"{db.describe()}: se abre, responde y se puede escribir"
        return OK, f"{db.describe()}: conexión e inicio de sesión correctos"
    except DatabaseError as exc:
        return FALLO, f"{db.describe()}: {exc}; revise {revisar}"
    finally:
        db.close_all()


def _bd_sam(cfg: Config) -> tuple[str, str]:
    return _bd(cfg, "SQL_SAM", "SQL_SAM_HOST, SQL_SAM_DB_NAME, SQL_SAM_UID / SQL_SAM_PWD y SQL_SAM_DRIVER")


def _a360(cfg: Config) -> tuple[str, str]:
    from lanzador.clients import aa_client as aa  # only with --conexiones
    url = cfg.AA_URL
    try:
        cliente = aa.AutomationAnywhereClient.from_config(cfg)
    except ValueError as exc:
        return FALLO, f"{url}: {exc}"
    try:
        cliente._current_token()   # the client's login (one POST /v2/authentication, no retries)
    except aa.A360Error as exc:
        if exc.kind == aa.KIND_AUTH:
            revisar = "AA_USER y AA_PWD o AA_API_KEY"
        elif "TLS" in exc.message:
            revisar = "AA_URL, el certificado del Control Room y AA_VERIFY_SSL"
        else:
            revisar = "AA_URL (servidor y puerto) y el firewall saliente (443)"
        return FALLO, f"{url}: no se pudo iniciar sesión: {exc.message}; revise {revisar}"
    finally:
        cliente.close()             # logout (when logged in) and the HTTP session
    return OK, f"{url}: sesión iniciada como {cfg.AA_USER} y cerrada"


def _smtp(cfg: Config) -> tuple[str, str]:
    servidor, puerto = cfg.EMAIL_SMTP_SERVER, cfg.EMAIL_SMTP_PORT
    if not servidor:
        return OMITIDA, "EMAIL_SMTP_SERVER vacío: las alertas sólo van al log"
    hecho = ["conexión", "EHLO"]
    try:
        if cfg.EMAIL_USE_SSL:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(servidor, puerto, timeout=cfg.EMAIL_TIMEOUT_SEG,
                                                  context=ssl.create_default_context())
            hecho[0] = "conexión SSL"
        else:
            smtp = smtplib.SMTP(servidor, puerto, timeout=cfg.EMAIL_TIMEOUT_SEG)
        with smtp:
            smtp.ehlo()
            if cfg.EMAIL_USE_TLS:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
                hecho.append("STARTTLS")
            if cfg.EMAIL_USER:
                smtp.login(cfg.EMAIL_USER, cfg.EMAIL_PASSWORD)
                hecho.append(f"inicio de sesión como {cfg.EMAIL_USER}")
    except smtplib.SMTPAuthenticationError as exc:
        return FALLO, f"{servidor}:{puerto}: autenticación rechazada ({exc.smtp_code}); revise EMAIL_USER y EMAIL_PASSWORD"
    except smtplib.SMTPNotSupportedError as exc:
        return FALLO, f"{servidor}:{puerto}: el servidor no admite {exc}; revise EMAIL_USE_TLS, EMAIL_USE_SSL y EMAIL_USER"
    except (OSError, smtplib.SMTPException) as exc:
        return FALLO, (f"{servidor}:{puerto}: {_describir(exc)}; revise EMAIL_SMTP_SERVER, EMAIL_SMTP_PORT, "
                       "EMAIL_USE_TLS / EMAIL_USE_SSL y el firewall saliente (25/587)")
    return OK, f"{servidor}:{puerto}: {', '.join(hecho)} correctos; no se envió ningún correo"


def _proveedor(cfg: Config, nombre: str) -> str | None:
    """Why the ticket source ``nombre`` is skipped, or None when it is enabled."""
    if nombre in cfg.BALANCEADOR_PROVEEDORES_CARGA:
        return None
    return f"{nombre} no está en BALANCEADOR_PROVEEDORES_CARGA (fuente deshabilitada)"


def _driver_rpa360(cfg: Config) -> tuple[str, str]:
    motivo = _proveedor(cfg, "rpa360")
    return (OMITIDA, motivo) if motivo else _driver_odbc(cfg, "SQL_RPA360")


def _rpa360(cfg: Config) -> tuple[str, str]:
    motivo = _proveedor(cfg, "rpa360")
    if motivo:
        return OMITIDA, motivo
    if cfg.SQL_RPA360_ENGINE == "sqlserver" and _driver_odbc(cfg, "SQL_RPA360")[0] == FALLO:
        return OMITIDA, "sin driver ODBC (SQL_RPA360_DRIVER, ver su línea)"
    from balanceador.clients import rpa360_client as rpa
    fuente = rpa.Rpa360Source.from_config(cfg.with_overrides(SQL_RPA360_MAX_REINTENTOS_QUERY=0))
    try:
        filas = fuente.read()
    except Exception as exc:  # noqa: BLE001 - SourceError and anything a driver raises: one verdict
        return FALLO, (f"{exc}; revise SQL_RPA360_ENGINE, SQL_RPA360_SQLITE_PATH o SQL_RPA360_HOST, "
                       "SQL_RPA360_DB_NAME, SQL_RPA360_UID / SQL_RPA360_PWD")
    finally:
        fuente.close()
    return OK, f"lectura correcta ({len(filas)} {'robot' if len(filas) == 1 else 'robots'} con tickets)"


def _clouders(cfg: Config) -> tuple[str, str]:
    motivo = _proveedor(cfg, "clouders")
    if motivo:
        return OMITIDA, motivo
    from balanceador.clients import clouders_client as cl
    fuente = cl.CloudersSource.from_config(cfg)
    try:
        fuente._connect(0)     # the source's SSH connect (host key check, auth), generation 0 = open
    except Exception as exc:  # noqa: BLE001 - SourceError (Spanish, redacted) or an unexpected error
        return FALLO, (f"{exc}; revise CLOUDERS_SSH_HOST, CLOUDERS_SSH_PORT, CLOUDERS_SSH_USER, "
                       "CLOUDERS_SSH_PASS / CLOUDERS_SSH_KEY_FILE y CLOUDERS_SSH_KNOWN_HOSTS")
    finally:
        fuente.close()
    return OK, f"SSH {cfg.CLOUDERS_SSH_HOST}:{cfg.CLOUDERS_SSH_PORT}: conexión como {cfg.CLOUDERS_SSH_USER} correcta y cerrada"


_CADA_SERVICIO = SERVICIOS
#: (name, services that use it, setting-name prefixes it reads, check), in the order printed.
COMPROBACIONES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], Callable[[Config], tuple[str, str]]], ...] = (
    ("Driver ODBC de la BD SAM", _CADA_SERVICIO, ("SQL_SAM_ENGINE", "SQL_SAM_DRIVER"), lambda c: _driver_odbc(c, "SQL_SAM")),
    ("BD SAM", _CADA_SERVICIO, ("SQL_SAM_",), _bd_sam),
    ("Control Room de A360", ("lanzador",), ("AA_", "API_"), _a360),
    ("Servidor SMTP", _CADA_SERVICIO, ("EMAIL_",), _smtp),
    ("Driver ODBC de la BD rpa360", ("balanceador",),
     ("BALANCEADOR_PROVEEDORES_CARGA", "SQL_RPA360_ENGINE", "SQL_RPA360_DRIVER"), _driver_rpa360),
    ("Fuente rpa360", ("balanceador",), ("BALANCEADOR_PROVEEDORES_CARGA", "SQL_RPA360_"), _rpa360),
    ("Fuente clouders (SSH)", ("balanceador",), ("BALANCEADOR_PROVEEDORES_CARGA", "CLOUDERS_"), _clouders),
)


def _huella(cfg: Config, prefijos: tuple[str, ...]) -> tuple[str, ...]:
    """The values a check depends on: services with equal values share one check (and one line)."""
    return tuple(repr(cfg.get(s.name)) for s in SETTINGS if s.name.startswith(prefijos))


def comprobar_conexiones(informe: Informe) -> list[Conexion]:
    """One verdict per dependency of the selected services (and per distinct setting values)."""
    secretos = sorted({s for cfg in informe.configs.values() for s in cfg.secrets()})
    out: list[Conexion] = []
    for nombre, usan, prefijos, comprobar in COMPROBACIONES:
        servicios = [s for s in informe.servicios if s in usan]
        if not servicios:
            continue
        validos = [s for s in servicios if s in informe.configs]
        if not validos:
            out.append(Conexion(nombre, OMITIDA, "la configuración no es válida (ver los problemas)", servicios))
            continue
        grupos: dict[tuple[str, ...], list[str]] = {}
        for servicio in validos:
            grupos.setdefault(_huella(informe.configs[servicio], prefijos), []).append(servicio)
        for grupo in grupos.values():
            try:
                estado, detalle = comprobar(informe.configs[grupo[0]])
            except Exception as exc:  # noqa: BLE001 - a check never stops the others
                estado, detalle = FALLO, f"error inesperado ({type(exc).__name__}: {exc})"
            out.append(Conexion(nombre, estado, redactar(detalle, secretos), grupo))
    return out


def comprobar(servicios: Iterable[str] = SERVICIOS, raiz: Path = PROJECT_ROOT,
              entorno: Mapping[str, str] | None = None, conexiones: bool = False) -> Informe:
    """The whole check (configuration, then connections when asked)."""
    informe = revisar_configuracion(servicios, Path(raiz), os.environ if entorno is None else entorno)
    if conexiones:
        informe.conexiones = comprobar_conexiones(informe)
    return informe


# --------------------------------------------------------------------------- output

def _plural(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _veredicto(informe: Informe, servicio: str) -> str:
    propios = len(informe.problemas_de(servicio))
    if propios:
        return f"configuración NO válida ({_plural(propios, 'problema', 'problemas')})"
    return "configuración correcta"


def texto(informe: Informe) -> str:
    varios = len(informe.servicios) > 1
    lineas = [f"SAM: comprobación de la configuración ({', '.join(informe.servicios)}; raíz {informe.raiz})", ""]
    if informe.problemas:
        lineas.append(f"Problemas de configuración ({len(informe.problemas)}):")
        for problema, servicios in informe.problemas.items():
            lineas.append(f"  - {problema}" + (f"  [{', '.join(servicios)}]" if varios else ""))
        lineas.append("")
    lineas.append("Servicios:")
    lineas += [f"  {s}: {_veredicto(informe, s)}" for s in informe.servicios]
    if informe.conexiones is not None:
        lineas += ["", "Conexiones:"]
        for c in informe.conexiones:
            lineas.append(f"  {_ETIQUETAS[c.estado]} {c.nombre}: {c.detalle}"
                          + (f"  [{', '.join(c.servicios)}]" if varios else ""))
    lineas.append("")
    lineas.append({0: "Resultado: todo correcto (código 0).",
                   1: "Resultado: al menos una conexión falló (código 1).",
                   2: "Resultado: hay errores de configuración; revise el archivo .env o las variables de "
                      "entorno (ver .env.example) (código 2)."}[informe.codigo])
    return "\n".join(lineas)


def como_json(informe: Informe) -> str:
    datos: dict[str, Any] = {
        "raiz": str(informe.raiz),
        "codigo": informe.codigo,
        "servicios": {s: {"valida": not informe.problemas_de(s), "problemas": informe.problemas_de(s)}
                      for s in informe.servicios},
        "problemas": [{"texto": p, "servicios": s} for p, s in informe.problemas.items()],
    }
    if informe.conexiones is not None:
        datos["conexiones"] = [{"nombre": c.nombre, "estado": c.estado, "detalle": c.detalle,
                                "servicios": c.servicios} for c in informe.conexiones]
    return json.dumps(datos, ensure_ascii=False, indent=2)


def _argumentos() -> ParserSAM:
    p = ParserSAM("python -m comprobar",
                  "Comprueba la configuración de los servicios de SAM (Lanzador, callbacks y "
                            "Balanceador) sin arrancar ninguno. Código de salida: 0 todo correcto, 1 falló "
                            "una conexión (--conexiones), 2 errores de configuración.")
    p.add_argument("--servicio", choices=SERVICIOS, help="comprobar sólo este servicio (por defecto, todos)")
    p.add_argument("--conexiones", action="store_true",
                   help="probar además cada dependencia: driver ODBC, BD SAM, A360, SMTP, rpa360, clouders")
    p.add_argument("--json", action="store_true", help="salida en JSON (para scripts)")
    p.add_argument("--raiz", type=Path, default=PROJECT_ROOT,
                   help="carpeta del proyecto cuyos .env se leen (por defecto, la de esta instalación)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _argumentos().parse_args(argv)
    # The clients log through `logging`; the verdicts already say everything (and nothing is
    # configured here), so keep Python's last-resort handler from printing their warnings.
    logging.getLogger().addHandler(logging.NullHandler())
    servicios = [args.servicio] if args.servicio else list(SERVICIOS)
    informe = comprobar(servicios, args.raiz.resolve(), conexiones=args.conexiones)
    print(como_json(informe) if args.json else texto(informe), flush=True)
    return informe.codigo


