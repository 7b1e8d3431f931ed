"""The configuration check ``python -m comprobar`` (issue 11, item 5), run as a real process.

A temp project folder holds the ``.env`` files (UTF-8, UTF-8 with BOM, UTF-16 LE with BOM as
PowerShell 5.1 ``>`` writes them); ``--raiz`` points the command at it. ``--conexiones`` runs
against the Control Room simulator, a real SMTP sink, SQLite SAM and rpa360 files and, when
OpenSSH is installed, a real sshd for clouders; one run has closed ports to see exit code 1.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from common.utils.config_manager import SETTINGS_BY_NAME, ConfigError, load_config
from demo.simulator import API_PASSWORD, API_USERNAME, ControlRoomSimulator
from tests.smtp_sink import SmtpSink, closed_port
from tests.sshd_server import SshdServer, sshd_unavailable_reason

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "cb-token-Zq8w7e6r5t4y3u2i"
SMTP_PASSWORD = "Smtp.Secreta.2026"


def _env_sin_ajustes() -> dict[str, str]:
    """The test process's environment without any SAM setting (the .env files decide)."""
    import os

    return {k: v for k, v in os.environ.items() if k not in SETTINGS_BY_NAME}


def comprobar(raiz: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "comprobar", "--raiz", str(raiz), *args],
                          cwd=ROOT, env=_env_sin_ajustes(), capture_output=True, text=True,
                          encoding="utf-8", timeout=timeout)


def escribir(path: Path, lineas: dict[str, str], codificacion: str = "utf-8") -> Path:
    """A .env file; ``codificacion`` "utf-8", "utf-8-sig" (BOM) or "utf-16" (LE with BOM, as PowerShell)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    texto = "".join(f"{k}={v}\r\n" for k, v in lineas.items())
    if codificacion == "utf-16":
        path.write_bytes(b"\xff\xfe" + texto.encode("utf-16-le"))
    else:
        path.write_bytes(texto.encode(codificacion))
    return path


def _rpa360(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE TicketsPendientesPorRobot (Robot TEXT, CantidadTickets INTEGER)")
    con.executemany("INSERT INTO TicketsPendientesPorRobot VALUES (?, ?)", [("RobotA", 4), ("RobotB", 0)])
    con.commit()
    con.close()
    return path


def proyecto_valido(raiz: Path, aa_url: str, smtp_port: int, **extra: str) -> Path:
    """A project whose three services have a valid configuration (SQLite SAM DB, rpa360 SQLite)."""
    (raiz / "data").mkdir(parents=True, exist_ok=True)
    sqlite3.connect(raiz / "data" / "sam.db").close()
    _rpa360(raiz / "data" / "rpa360.db")
    escribir(raiz / ".env", {
        "SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": "data/sam.db",
        "EMAIL_SMTP_SERVER": "127.0.0.1", "EMAIL_SMTP_PORT": str(smtp_port), "EMAIL_FROM": "sam@example.com",
        "EMAIL_RECIPIENTS": "ops@example.com", "EMAIL_USER": "sam", "EMAIL_PASSWORD": SMTP_PASSWORD,
        "LOG_DIRECTORY": str(raiz / "logs"),
    }, "utf-8-sig")
    escribir(raiz / "lanzador" / ".env", {
        "AA_URL": aa_url, "AA_USER": API_USERNAME, "AA_PWD": API_PASSWORD,
        "AA_URL_CALLBACK": "http://127.0.0.1:8008/api/callback", "CALLBACK_TOKEN": TOKEN,
    }, "utf-16")
    escribir(raiz / "balanceador" / ".env", {
        "BALANCEADOR_PROVEEDORES_CARGA": "rpa360", "SQL_RPA360_ENGINE": "sqlite",
        "SQL_RPA360_SQLITE_PATH": str(raiz / "data" / "rpa360.db"), **extra,
    })
    return raiz


# --------------------------------------------------------------------------- configuration

def _proyecto_con_errores(raiz: Path) -> Path:
    escribir(raiz / ".env", {
        "SQL_SAM_ENGINE": "sqlite",
        "SQL_SAM_TIMEOUT_CONEXION_INICIAL": "treinta",     # shared by the three services
        "LOG_LEVL": "DEBUG",                               # misspelt, root .env: every service
        "CALLBACK_TOKEN": TOKEN,
    }, "utf-8-sig")
    escribir(raiz / "lanzador" / ".env", {
        "AA_URL": "https://cr.example.com", "AA_USER": "svc", "AA_PWD": "x" * 12,
        "AA_URL_CALLBACK": "https://sam.example.com/api/callback",
        "LANZADOR_PAUSA_INICIO_HHMM": "25:00",             # malformed: one problem, not also "missing"
        "LANZADOR_PAUSA_FIN_HHMM": "06:00",
        "LANZADOR_INTERVALO_LANZADOR_SEGS": "5",           # misspelt, lanzador/.env: Lanzador + callback
    }, "utf-16")
    escribir(raiz / "balanceador" / ".env", {
        "BALANCEADOR_PROVEEDORES_CARGA": "rpa360", "SQL_RPA360_ENGINE": "sqlite",
        "BALANCEADOR_INTERVALO_CICLO_SEG": "0",
    })
    return raiz


ESPERADOS = {
    "SQL_SAM_TIMEOUT_CONEXION_INICIAL: se esperaba un número entero >= 1, se recibió 'treinta'":
        ["lanzador", "callback", "balanceador"],
    "LOG_LEVL: no es una variable de SAM, en .env (¿quiso decir LOG_LEVEL?)": ["lanzador", "callback", "balanceador"],
    "LANZADOR_PAUSA_INICIO_HHMM: se esperaba HH:MM (00:00-23:59), se recibió '25:00'": ["lanzador"],
    "LANZADOR_INTERVALO_LANZADOR_SEGS: no es una variable de SAM, en lanzador/.env "
    "(¿quiso decir LANZADOR_INTERVALO_LANZADOR_SEG?)": ["lanzador", "callback"],
    "BALANCEADOR_INTERVALO_CICLO_SEG: se esperaba un número entero >= 1, se recibió '0'": ["balanceador"],
}


def test_every_problem_of_every_service_is_listed_once(tmp_path):
    raiz = _proyecto_con_errores(tmp_path)
    r = comprobar(raiz)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr == ""
    salida = r.stdout
    for problema, servicios in ESPERADOS.items():
        assert salida.count(problema) == 1, (problema, salida)
        assert f"  - {problema}  [{', '.join(servicios)}]" in salida
    assert "otra mitad" not in salida                      # the malformed HH:MM is not also "missing"
    assert "Problemas de configuración (5):" in salida
    assert "lanzador: configuración NO válida (4 problemas)" in salida
    assert "callback: configuración NO válida (3 problemas)" in salida
    assert "balanceador: configuración NO válida (3 problemas)" in salida
    assert "(código 2)" in salida

    datos = json.loads(comprobar(raiz, "--json").stdout)
    assert datos["codigo"] == 2
    assert {p["texto"]: p["servicios"] for p in datos["problemas"]} == ESPERADOS
    assert datos["servicios"]["callback"]["valida"] is False


def test_one_service_only_and_its_exit_code(tmp_path):
    raiz = _proyecto_con_errores(tmp_path)
    escribir(raiz / ".env", {"SQL_SAM_ENGINE": "sqlite", "CALLBACK_TOKEN": TOKEN})
    r = comprobar(raiz, "--servicio", "callback", "--json")
    datos = json.loads(r.stdout)
    # The callback server reads lanzador/.env too: the misspelt name there is its problem as well,
    # but the Lanzador-only half-pause value is not.
    assert [p["texto"] for p in datos["problemas"]] == [
        "LANZADOR_INTERVALO_LANZADOR_SEGS: no es una variable de SAM, en lanzador/.env "
        "(¿quiso decir LANZADOR_INTERVALO_LANZADOR_SEG?)"]
    assert list(datos["servicios"]) == ["callback"] and r.returncode == 2

    (raiz / "lanzador" / ".env").unlink()
    r = comprobar(raiz, "--servicio", "callback")
    assert r.returncode == 0, r.stdout
    assert "callback: configuración correcta" in r.stdout and "(código 0)" in r.stdout


def test_callback_service_requires_only_the_settings_it_uses(tmp_path):
    base = {"SQL_SAM_ENGINE": "sqlite", "CALLBACK_TOKEN": TOKEN}
    lanzador_only = {"LANZADOR_PAUSA_INICIO_HHMM": "7:61", "LANZADOR_INTERVALO_LANZADOR_SEG": "0",
                     "CONCILIADOR_TOLERANCIA_UNKNOWN_MIN": "-1", "MANTENIMIENTO_HORA_HHMM": "mañana",
                     "AA_URL": "ftp://x", "BALANCEADOR_PROVEEDORES_CARGA": "otra"}
    cfg = load_config("callback", {**base, **lanzador_only}, tmp_path)
    assert cfg.CALLBACK_TOKEN == TOKEN
    with pytest.raises(ConfigError) as exc:       # what it does use is still validated
        load_config("callback", {**base, "CALLBACK_SERVER_PORT": "0", "SQL_SAM_TIMEOUT_CONSULTA_SEG": "x",
                                 "EMAIL_SMTP_PORT": "99999", "LOG_LEVEL": "MUCHO", "SAM_ZONA_HORARIA": "Marte/Olympus"},
                    tmp_path)
    assert [p.split(":")[0] for p in exc.value.problems] == [
        "LOG_LEVEL", "SQL_SAM_TIMEOUT_CONSULTA_SEG", "CALLBACK_SERVER_PORT", "EMAIL_SMTP_PORT", "SAM_ZONA_HORARIA"]


@pytest.mark.parametrize("codificacion", ["utf-8", "utf-8-sig", "utf-16"])
def test_env_files_in_utf8_utf8_bom_and_utf16_are_read(tmp_path, codificacion):
    escribir(tmp_path / ".env", {"SQL_SAM_ENGINE": "sqlite", "CALLBACK_TOKEN": TOKEN,
                                 "EMAIL_FROM": "Señal Ñandú <sam@example.com>", "LOG_LEVEL": "DEBUG"}, codificacion)
    cfg = load_config("callback", {}, tmp_path)
    assert (cfg.SQL_SAM_ENGINE, cfg.LOG_LEVEL, cfg.EMAIL_FROM) == ("sqlite", "DEBUG", "Señal Ñandú <sam@example.com>")
    assert cfg.unknown_keys == []                  # the BOM is not glued to the first name


def test_unreadable_encodings_are_one_spanish_problem_naming_the_file(tmp_path):
    env = tmp_path / ".env"
    env.write_bytes("CALLBACK_TOKEN=contraseña\r\n".encode("utf-16-le"))          # UTF-16 without BOM
    with pytest.raises(ConfigError) as exc:
        load_config("callback", {}, tmp_path)
    assert exc.value.problems == [f"{env}: parece UTF-16 sin BOM; guárdelo como UTF-8 (p. ej. en PowerShell "
                                  "Set-Content -Encoding utf8)"]
    env.write_bytes("EMAIL_FROM=Se\xf1al\r\n".encode("cp1252"))                   # "ANSI" Notepad
    with pytest.raises(ConfigError) as exc:
        load_config("callback", {}, tmp_path)
    assert exc.value.problems == [f"{env}: no se puede leer como UTF-8 (byte 0xF1 en la posición 13); "
                                  "guárdelo como UTF-8"]
    r = comprobar(tmp_path, "--servicio", "lanzador")
    assert r.returncode == 2 and "Traceback" not in r.stdout + r.stderr
    assert r.stdout.count("no se puede leer como UTF-8") == 1


def test_help_and_bad_arguments(tmp_path):
    r = subprocess.run([sys.executable, "-m", "comprobar", "--help"], cwd=ROOT, capture_output=True,
                       text=True, encoding="utf-8", timeout=60)
    assert r.returncode == 0 and "--conexiones" in r.stdout and "Código de salida" in r.stdout
    r = comprobar(tmp_path, "--servicio", "consola")
    assert r.returncode == 2 and "argumentos no válidos" in r.stderr


# --------------------------------------------------------------------------- connections

def _lineas(salida: str, estado: str) -> list[str]:
    return [linea.strip() for linea in salida.splitlines() if linea.strip().startswith(f"[{estado}]")]


def test_connections_all_reachable(tmp_path):
    with ControlRoomSimulator(clock="manual") as sim, SmtpSink(auth=("sam", SMTP_PASSWORD)) as sink:
        raiz = proyecto_valido(tmp_path, sim.url, sink.port)
        r = comprobar(raiz, "--conexiones")
        assert r.returncode == 0, r.stdout + r.stderr
        assert sink.logins == [("sam", SMTP_PASSWORD)] and sink.messages == []      # no mail sent
        paths = [req["path"] for req in sim.requests()]
    salida = r.stdout
    ok = _lineas(salida, "OK")
    assert any(linea.startswith("[OK]      BD SAM: motor sqlite") for linea in ok), salida
    assert f"[OK]      Control Room de A360: {sim.url}: sesión iniciada como {API_USERNAME} y cerrada  [lanzador]" in ok
    assert any(linea.startswith("[OK]      Servidor SMTP: 127.0.0.1:") and "inicio de sesión como sam" in linea
               and "no se envió ningún correo" in linea for linea in ok), salida
    assert "[OK]      Fuente rpa360: lectura correcta (2 robots con tickets)  [balanceador]" in ok
    omitidas = _lineas(salida, "OMITIDA")
    assert "[OMITIDA] Driver ODBC de la BD SAM: SQL_SAM_ENGINE=sqlite (no usa ODBC)  [lanzador, callback, balanceador]" in omitidas
    assert ("[OMITIDA] Fuente clouders (SSH): clouders no está en BALANCEADOR_PROVEEDORES_CARGA (fuente "
            "deshabilitada)  [balanceador]") in omitidas
    assert "(código 0)" in salida
    for secreto in (API_PASSWORD, SMTP_PASSWORD, TOKEN):
        assert secreto not in salida + r.stderr
    assert paths == ["/v2/authentication", "/v1/authentication/logout"]     # login, then logout


def test_a_closed_port_fails_with_exit_1_naming_the_setting(tmp_path):
    aa_port, smtp_port = closed_port(), closed_port()
    raiz = proyecto_valido(tmp_path, f"http://127.0.0.1:{aa_port}", smtp_port)
    r = comprobar(raiz, "--conexiones", "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    datos = json.loads(r.stdout)
    assert datos["codigo"] == 1 and datos["problemas"] == []
    fallos = {c["nombre"]: c["detalle"] for c in datos["conexiones"] if c["estado"] == "fallo"}
    assert set(fallos) == {"Control Room de A360", "Servidor SMTP"}
    assert fallos["Servidor SMTP"].startswith(f"127.0.0.1:{smtp_port}: conexión rechazada")
    assert "revise EMAIL_SMTP_SERVER, EMAIL_SMTP_PORT" in fallos["Servidor SMTP"]
    assert fallos["Control Room de A360"].startswith(f"http://127.0.0.1:{aa_port}: no se pudo iniciar sesión")
    assert "revise AA_URL" in fallos["Control Room de A360"]
    texto = comprobar(raiz, "--conexiones").stdout
    assert any(linea.startswith("[FALLO]   Servidor SMTP: ") for linea in _lineas(texto, "FALLO")), texto
    assert "Resultado: al menos una conexión falló (código 1)." in texto


def test_wrong_a360_password_and_missing_rpa360_file(tmp_path):
    with ControlRoomSimulator(clock="manual") as sim:
        raiz = proyecto_valido(tmp_path, sim.url, closed_port())
        env = raiz / "lanzador" / ".env"
        escribir(env, {"AA_URL": sim.url, "AA_USER": API_USERNAME, "AA_PWD": "Otra.Clave.Mala.2026",
                       "AA_URL_CALLBACK": "http://127.0.0.1:8008/api/callback", "CALLBACK_TOKEN": TOKEN}, "utf-16")
        (raiz / "data" / "rpa360.db").unlink()
        escribir(raiz / ".env", {"SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": "data/sam.db"})
        r = comprobar(raiz, "--conexiones", "--json")
    datos = json.loads(r.stdout)
    por_nombre = {c["nombre"]: c for c in datos["conexiones"]}
    assert r.returncode == 1
    assert por_nombre["Control Room de A360"]["estado"] == "fallo"
    assert por_nombre["Control Room de A360"]["detalle"].endswith("revise AA_USER y AA_PWD o AA_API_KEY")
    assert "Otra.Clave.Mala.2026" not in r.stdout
    assert por_nombre["Fuente rpa360"]["detalle"].startswith(
        f"rpa360: no existe el archivo SQLite {raiz / 'data' / 'rpa360.db'} (SQL_RPA360_SQLITE_PATH)")
    assert por_nombre["Servidor SMTP"]["estado"] == "omitida"


def test_odbc_driver_missing_names_the_setting(tmp_path):
    from comprobar import FALLO, OMITIDA, _bd_sam, _driver_odbc

    cfg = load_config("callback", {"SQL_SAM_HOST": "srv", "SQL_SAM_DB_NAME": "SAM", "CALLBACK_TOKEN": TOKEN,
                                   "SQL_SAM_DRIVER": "ODBC Driver 99 for SQL Server"}, tmp_path)
    estado, detalle = _driver_odbc(cfg, "SQL_SAM")
    assert estado == FALLO and "'ODBC Driver 99 for SQL Server'" in detalle
    assert "revise SQL_SAM_DRIVER" in detalle or "unixODBC" in detalle
    assert _bd_sam(cfg) == (OMITIDA, "sin driver ODBC (SQL_SAM_DRIVER, ver su línea)")


@pytest.mark.skipif(bool(sshd_unavailable_reason()), reason=sshd_unavailable_reason() or "")
def test_clouders_ssh_connect_and_close(tmp_path):
    with SshdServer(tmp_path / "sshd", password_auth=False) as sshd:
        clouders = {"BALANCEADOR_PROVEEDORES_CARGA": "clouders", "CLOUDERS_SSH_HOST": sshd.host,
                    "CLOUDERS_SSH_PORT": str(sshd.port), "CLOUDERS_SSH_USER": sshd.user,
                    "CLOUDERS_SSH_KEY_FILE": str(sshd.key_file), "CLOUDERS_SSH_KNOWN_HOSTS": str(sshd.known_hosts),
                    "CLOUDERS_MYSQL_DB_NAME": "clouders", "CLOUDERS_MYSQL_USER": "lector"}
        raiz = proyecto_valido(tmp_path / "p", "http://127.0.0.1:9", closed_port(), **clouders)
        ok = comprobar(raiz, "--conexiones", "--servicio", "balanceador", "--json")
        clouders["CLOUDERS_SSH_KNOWN_HOSTS"] = str(sshd.wrong_known_hosts)
        escribir(raiz / "balanceador" / ".env", {"SQL_RPA360_ENGINE": "sqlite", **clouders})
        mal = comprobar(raiz, "--conexiones", "--servicio", "balanceador", "--json")
    c = {x["nombre"]: x for x in json.loads(ok.stdout)["conexiones"]}["Fuente clouders (SSH)"]
    assert c["estado"] == "ok", c
    assert c["detalle"] == f"SSH {sshd.host}:{sshd.port}: conexión como {sshd.user} correcta y cerrada"
    c = {x["nombre"]: x for x in json.loads(mal.stdout)["conexiones"]}["Fuente clouders (SSH)"]
    assert mal.returncode == 1 and c["estado"] == "fallo"
    assert "no coincide con la registrada" in c["detalle"] and "CLOUDERS_SSH_KNOWN_HOSTS" in c["detalle"]
