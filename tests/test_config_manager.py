"""Settings: precedence, typing, validation (all problems at once), exit code 2, secret masking."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from datetime import time
from pathlib import Path

import pytest

from common.paths import PROJECT_ROOT
from common.utils import config_manager as cm
from common.utils.config_manager import SETTINGS, ConfigError, load_config

# A minimal valid environment for the Lanzador (SQLite SAM DB, password credential, token).
LANZADOR_OK = {
    "SQL_SAM_ENGINE": "sqlite",
    "AA_URL": "https://cr.example.com",
    "AA_USER": "sam_api",
    "AA_PWD": "Contraseña-A360",
    "AA_URL_CALLBACK": "https://sam.example.com:8008/api/callback",
    "CALLBACK_TOKEN": "0123456789abcdef0123",
}
BALANCEADOR_OK = {"SQL_SAM_ENGINE": "sqlite", "BALANCEADOR_PROVEEDORES_CARGA": "rpa360",
                  "SQL_RPA360_ENGINE": "sqlite"}


def problems_of(service: str, environ: dict, root: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(service, environ, root)
    return info.value.problems


# ----------------------------------------------------------------------------- table

def test_C9_every_contract_setting_is_in_the_table():
    names = {s.name for s in SETTINGS}
    for required in ("LOG_DIRECTORY", "SQL_SAM_PWD", "SQL_RPA360_CODIGOS_SQLSTATE_REINTENTABLES",
                     "AA_API_KEY", "CALLBACK_TOKEN", "EMAIL_USE_SSL", "LANZADOR_PAUSA_FIN_HHMM",
                     "SAM_FALLOS_CONSECUTIVOS_ALERTA", "MAPA_ROBOTS", "CLOUDERS_MYSQL_CLIENTE",
                     "SQL_SAM_PARAMETROS_ODBC_EXTRA", "CONCILIADOR_EDAD_NO_ENCONTRADO_MIN"):
        assert required in names
    assert len(names) == len(SETTINGS), "duplicate setting names"
    for s in SETTINGS:
        assert s.help, f"{s.name} has no Spanish description"
        # every default is valid for its own type
        cm.parse_value(s, None)


def test_C9_env_example_lists_every_setting():
    text = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    declared = {line.split("=", 1)[0].strip() for line in text.splitlines() if "=" in line and not line.startswith("#")}
    missing = [s.name for s in SETTINGS if s.name not in declared]
    assert not missing, f".env.example lacks {missing}"


def test_C9_defaults_and_types(tmp_path):
    cfg = load_config("lanzador", LANZADOR_OK, tmp_path)
    assert cfg.LANZADOR_INTERVALO_LANZADOR_SEG == 15
    assert cfg.SQL_SAM_DELAY_REINTENTO_QUERY_BASE_SEG == 1.0
    assert cfg.SQL_SAM_CODIGOS_SQLSTATE_REINTENTABLES == ["08S01", "08001", "08004", "08007", "40001",
                                                          "HYT00", "HYT01"]
    assert cfg.LOG_DIRECTORY == tmp_path / "logs"
    assert cfg.SQL_SAM_SQLITE_PATH == tmp_path / "data" / "sam.db"
    assert cfg.LANZADOR_PAUSA_INICIO_HHMM is None
    assert cfg.AA_VERIFY_SSL is True
    assert cfg.CALLBACK_SERVER_PORT == 8008
    assert cfg.MAPA_ROBOTS == {}
    assert cfg.EMAIL_RECIPIENTS == []
    assert cfg.get("NO_EXISTE", "x") == "x"
    with pytest.raises(AttributeError):
        _ = cfg.NO_EXISTE
    assert cfg.source("AA_USER") == "entorno" and cfg.source("LOG_LEVEL") == "por defecto"


# ----------------------------------------------------------------------------- precedence

def test_C9_precedence_env_over_service_env_over_root_env_over_default(tmp_path):
    (tmp_path / "lanzador").mkdir()
    (tmp_path / ".env").write_text(
        "LOG_LEVEL=DEBUG\nLANZADOR_INTERVALO_LANZADOR_SEG=21\nLANZADOR_INTERVALO_CONCILIADOR_SEG=22\n"
        "LANZADOR_INTERVALO_SYNC_TABLAS_SEG=23\n", encoding="utf-8")
    (tmp_path / "lanzador" / ".env").write_text(
        "LANZADOR_INTERVALO_LANZADOR_SEG=31\nLANZADOR_INTERVALO_CONCILIADOR_SEG=32\n", encoding="utf-8")
    env = {**LANZADOR_OK, "LANZADOR_INTERVALO_LANZADOR_SEG": "41"}
    cfg = load_config("lanzador", env, tmp_path)
    assert cfg.LANZADOR_INTERVALO_LANZADOR_SEG == 41            # environment wins
    assert cfg.LANZADOR_INTERVALO_CONCILIADOR_SEG == 32         # then lanzador/.env
    assert cfg.LANZADOR_INTERVALO_SYNC_TABLAS_SEG == 23         # then root .env
    assert cfg.LANZADOR_MAX_LANZAMIENTOS_CONCURRENTES == 10     # then the default
    assert cfg.LOG_LEVEL == "DEBUG"
    assert cfg.source("LANZADOR_INTERVALO_CONCILIADOR_SEG") == "lanzador/.env"
    assert cfg.source("LANZADOR_INTERVALO_SYNC_TABLAS_SEG") == ".env"


def test_C9_callback_reads_lanzador_env_and_balanceador_its_own(tmp_path):
    (tmp_path / "lanzador").mkdir()
    (tmp_path / "balanceador").mkdir()
    (tmp_path / "lanzador" / ".env").write_text("CALLBACK_SERVER_PORT=9100\n", encoding="utf-8")
    (tmp_path / "balanceador" / ".env").write_text("CALLBACK_SERVER_PORT=9200\n", encoding="utf-8")
    assert load_config("callback", LANZADOR_OK, tmp_path).CALLBACK_SERVER_PORT == 9100
    assert load_config("balanceador", BALANCEADOR_OK, tmp_path).CALLBACK_SERVER_PORT == 9200


def test_C9_empty_value_falls_through_and_os_environ_untouched(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("LOG_BACKUP_COUNT=9\nSAM_TEST_ONLY_VAR=1\n", encoding="utf-8")
    monkeypatch.delenv("LOG_BACKUP_COUNT", raising=False)
    cfg = load_config("demo", {"LOG_BACKUP_COUNT": "  "}, tmp_path)
    assert cfg.LOG_BACKUP_COUNT == 9
    import os
    assert "SAM_TEST_ONLY_VAR" not in os.environ and "LOG_BACKUP_COUNT" not in os.environ


def test_C9_unknown_names_in_env_files_are_listed(tmp_path):
    (tmp_path / ".env").write_text("LANZADOR_INTERVALO_LANZADOR_SG=5\nLOG_LEVEL=INFO\n", encoding="utf-8")
    cfg = load_config("demo", {"OTRA_VARIABLE_DEL_SISTEMA": "1"}, tmp_path)
    assert cfg.unknown_keys == ["LANZADOR_INTERVALO_LANZADOR_SG"]


def test_C9_default_environ_is_os_environ(tmp_path, monkeypatch):
    monkeypatch.setenv("LOG_BACKUP_COUNT", "13")
    assert load_config("demo", root=tmp_path).LOG_BACKUP_COUNT == 13


# ----------------------------------------------------------------------------- validation

def test_C9_all_problems_reported_at_once(tmp_path):
    env = {**LANZADOR_OK, "LANZADOR_PAUSA_INICIO_HHMM": "25:99", "CALLBACK_SERVER_PORT": "abc",
           "LANZADOR_INTERVALO_LANZADOR_SEG": "quince", "AA_VERIFY_SSL": "quizas", "LOG_LEVEL": "VERBOSE"}
    probs = problems_of("lanzador", env, tmp_path)
    text = "\n".join(probs)
    assert "LANZADOR_PAUSA_INICIO_HHMM: se esperaba HH:MM (00:00-23:59), se recibió '25:99'" in probs
    for name in ("CALLBACK_SERVER_PORT", "LANZADOR_INTERVALO_LANZADOR_SEG", "AA_VERIFY_SSL", "LOG_LEVEL"):
        assert sum(p.startswith(name + ":") for p in probs) == 1, text
    assert all("se esperaba" in p for p in probs)


@pytest.mark.parametrize("name,raw,expected", [
    ("LANZADOR_INTERVALO_LANZADOR_SEG", "1.5", "un número entero >= 1"),
    ("LANZADOR_INTERVALO_LANZADOR_SEG", "0", "un número entero >= 1"),
    ("LANZADOR_INTERVALO_CONCILIADOR_SEG", "0", "un número entero >= 1"),
    ("LANZADOR_INTERVALO_SYNC_TABLAS_SEG", "-5", "un número entero >= 1"),
    ("LANZADOR_MAX_LANZAMIENTOS_CONCURRENTES", "0", "un número entero >= 1"),
    ("LANZADOR_MAX_LANZAMIENTOS_CONCURRENTES", "-3", "un número entero >= 1"),
    ("LANZADOR_MAX_REINTENTOS_DEPLOY", "-1", "un número entero >= 0"),
    ("LANZADOR_LANZANDO_TIMEOUT_SEG", "0", "un número entero >= 1"),
    ("API_DEFAULT_PAGE_SIZE", "501", "un número entero entre 1 y 500"),
    ("SQL_SAM_DELAY_REINTENTO_QUERY_BASE_SEG", "rápido", "un número >= 0"),
    ("SQL_SAM_DELAY_REINTENTO_QUERY_BASE_SEG", "nan", "un número >= 0"),
    ("CALLBACK_SERVER_PORT", "70000", "un puerto TCP (1-65535)"),
    ("CALLBACK_SERVER_PORT", "abc", "un puerto TCP (1-65535)"),
    ("AA_VERIFY_SSL", "maybe", "un booleano"),
    ("LANZADOR_PAUSA_INICIO_HHMM", "7h", "HH:MM (00:00-23:59)"),
    ("LANZADOR_PAUSA_INICIO_HHMM", "12:60", "HH:MM (00:00-23:59)"),
    ("MAPA_ROBOTS", "{no json", "un objeto JSON"),
    ("MAPA_ROBOTS", "[1, 2]", "un objeto JSON"),
    ("MAPA_ROBOTS", '{"a": 1}', "un objeto JSON"),
    ("SQL_SAM_ENGINE", "oracle", "uno de: sqlserver, sqlite"),
    ("CALLBACK_AUTH_MODE", "maybe", "uno de: required, none"),
    ("AA_ROBOTS_FILTRO_NOMBRE", "([a-z", "una expresión regular válida"),
    ("AA_URL", "cr.example.com", "una URL http:// o https://"),
    ("CALLBACK_ENDPOINT_PATH", "api/callback", "una ruta que empiece por '/'"),
    ("SAM_ZONA_HORARIA", "Marte/Olympus", "una zona horaria IANA"),
    ("CALLBACK_TOKEN", "corto", "al menos 16 caracteres"),
])
def test_C9_type_parsers_report_the_variable_and_expectation(tmp_path, name, raw, expected):
    if name.startswith("MAPA"):
        probs = problems_of("balanceador", {**BALANCEADOR_OK, name: raw}, tmp_path)
    else:
        probs = problems_of("lanzador", {**LANZADOR_OK, name: raw}, tmp_path)
    mine = [p for p in probs if p.startswith(name + ":")]
    assert len(mine) == 1 and expected in mine[0], probs


def test_C9_list_of_providers_checks_names(tmp_path):
    probs = problems_of("balanceador", {**BALANCEADOR_OK, "BALANCEADOR_PROVEEDORES_CARGA": "rpa360;excel"},
                        tmp_path)
    assert probs[0].startswith("BALANCEADOR_PROVEEDORES_CARGA: se esperaba una lista")


def test_C9_valid_values_are_typed(tmp_path):
    env = {**LANZADOR_OK, "LANZADOR_PAUSA_INICIO_HHMM": "22:30", "LANZADOR_PAUSA_FIN_HHMM": "6:05",
           "AA_VERIFY_SSL": "Sí", "EMAIL_SMTP_SERVER": "smtp.local", "EMAIL_FROM": "sam@x.com",
           "EMAIL_RECIPIENTS": " a@x.com; b@x.com ,, c@x.com ;", "LOG_LEVEL": "debug",
           "SQL_SAM_DELAY_REINTENTO_QUERY_BASE_SEG": "0.25", "LOG_DIRECTORY": "/var/tmp/samlogs",
           "AA_ROBOTS_FILTRO_NOMBRE": "^Bot_.*$"}
    cfg = load_config("lanzador", env, tmp_path)
    assert cfg.LANZADOR_PAUSA_INICIO_HHMM == time(22, 30) and cfg.LANZADOR_PAUSA_FIN_HHMM == time(6, 5)
    assert cfg.AA_VERIFY_SSL is True
    assert cfg.EMAIL_RECIPIENTS == ["a@x.com", "b@x.com", "c@x.com"]
    assert cfg.LOG_LEVEL == "DEBUG"
    assert cfg.SQL_SAM_DELAY_REINTENTO_QUERY_BASE_SEG == 0.25
    assert cfg.LOG_DIRECTORY == Path("/var/tmp/samlogs")
    assert cfg.AA_ROBOTS_FILTRO_NOMBRE == "^Bot_.*$"
    for raw, value in (("true", True), ("1", True), ("si", True), ("yes", True),
                       ("false", False), ("0", False), ("no", False)):
        assert load_config("lanzador", {**LANZADOR_OK, "AA_VERIFY_SSL": raw}, tmp_path).AA_VERIFY_SSL is value


def test_C9_half_pause_window_is_an_error(tmp_path):
    probs = problems_of("lanzador", {**LANZADOR_OK, "LANZADOR_PAUSA_INICIO_HHMM": "22:00"}, tmp_path)
    assert len(probs) == 1 and probs[0].startswith("LANZADOR_PAUSA_FIN_HHMM:")


def test_C9_conditional_requirements_lanzador(tmp_path):
    probs = problems_of("lanzador", {}, tmp_path)
    heads = {p.split(":")[0] for p in probs}
    assert {"SQL_SAM_HOST", "SQL_SAM_DB_NAME", "AA_URL", "AA_USER", "AA_URL_CALLBACK",
            "AA_PWD / AA_API_KEY", "CALLBACK_TOKEN"} <= heads
    # API key instead of password is enough; auth mode none drops the token requirement
    env = {k: v for k, v in LANZADOR_OK.items() if k not in ("AA_PWD", "CALLBACK_TOKEN")}
    load_config("lanzador", {**env, "AA_API_KEY": "k" * 40, "CALLBACK_AUTH_MODE": "none"}, tmp_path)
    # sqlserver with host + db is fine
    load_config("lanzador", {**LANZADOR_OK, "SQL_SAM_ENGINE": "sqlserver", "SQL_SAM_HOST": "srv\\SQL",
                             "SQL_SAM_DB_NAME": "SAM"}, tmp_path)


def test_C9_callback_needs_token_but_not_a360(tmp_path):
    probs = problems_of("callback", {"SQL_SAM_ENGINE": "sqlite"}, tmp_path)
    assert [p.split(":")[0] for p in probs] == ["CALLBACK_TOKEN"]
    load_config("callback", {"SQL_SAM_ENGINE": "sqlite", "CALLBACK_TOKEN": "t" * 16}, tmp_path)


def test_C9_balanceador_conditional_sources(tmp_path):
    # rpa360 only: SQL_RPA360 validated, clouders not, lanzador groups not
    env = {**BALANCEADOR_OK, "SQL_RPA360_ENGINE": "sqlserver", "CLOUDERS_SSH_PORT": "nope",
           "LANZADOR_PAUSA_INICIO_HHMM": "99:99"}
    probs = problems_of("balanceador", env, tmp_path)
    assert sorted(p.split(":")[0] for p in probs) == ["SQL_RPA360_DB_NAME", "SQL_RPA360_HOST"]
    # clouders enabled: its requirements apply, rpa360 is no longer validated
    env = {"SQL_SAM_ENGINE": "sqlite", "BALANCEADOR_PROVEEDORES_CARGA": "clouders",
           "SQL_RPA360_PORT_IS_NOT_A_SETTING": "x", "SQL_RPA360_MAX_REINTENTOS_QUERY": "x"}
    heads = {p.split(":")[0] for p in problems_of("balanceador", env, tmp_path)}
    assert heads == {"CLOUDERS_SSH_HOST", "CLOUDERS_SSH_USER", "CLOUDERS_MYSQL_DB_NAME",
                     "CLOUDERS_MYSQL_USER", "CLOUDERS_SSH_PASS / CLOUDERS_SSH_KEY_FILE"}
    cfg = load_config("balanceador", {**env, "CLOUDERS_SSH_HOST": "h", "CLOUDERS_SSH_USER": "u",
                                      "CLOUDERS_SSH_KEY_FILE": "id_rsa", "CLOUDERS_MYSQL_DB_NAME": "cl",
                                      "CLOUDERS_MYSQL_USER": "m"}, tmp_path)
    assert cfg.BALANCEADOR_PROVEEDORES_CARGA == ["clouders"]
    assert cfg.SQL_RPA360_MAX_REINTENTOS_QUERY == 3   # lenient: not used, default kept


def test_C8_email_settings_checks(tmp_path):
    env = {**LANZADOR_OK, "EMAIL_USE_TLS": "true", "EMAIL_USE_SSL": "true", "EMAIL_SMTP_SERVER": "smtp"}
    heads = [p.split(":")[0] for p in problems_of("lanzador", env, tmp_path)]
    assert heads == ["EMAIL_USE_SSL", "EMAIL_FROM", "EMAIL_RECIPIENTS"]


def test_C9_unknown_service_rejected(tmp_path):
    with pytest.raises(ValueError):
        load_config("otro", {}, tmp_path)


# ----------------------------------------------------------------------------- secrets

def test_C9_secrets_masked_in_repr_and_in_problems(tmp_path):
    env = {**LANZADOR_OK, "SQL_SAM_PWD": "Db-Secret-123", "AA_API_KEY": "ApiKey-XYZ-987",
           "EMAIL_PASSWORD": "MailPw-555"}
    cfg = load_config("lanzador", env, tmp_path)
    for text in (repr(cfg), str(cfg), str(cfg.masked())):
        for secret in ("Db-Secret-123", "ApiKey-XYZ-987", "MailPw-555", LANZADOR_OK["AA_PWD"],
                       LANZADOR_OK["CALLBACK_TOKEN"]):
            assert secret not in text
        assert cm.MASK in text
    assert "sam_api" in repr(cfg)   # non-secrets stay visible
    assert sorted(cfg.secrets()) == sorted(["Db-Secret-123", "ApiKey-XYZ-987", "MailPw-555",
                                            LANZADOR_OK["AA_PWD"], LANZADOR_OK["CALLBACK_TOKEN"]])
    # secrets keep their exact characters (no stripping)
    assert load_config("lanzador", {**env, "SQL_SAM_PWD": " pw with spaces "}, tmp_path).SQL_SAM_PWD == \
        " pw with spaces "
    # a malformed secret is reported without echoing it
    probs = problems_of("lanzador", {**LANZADOR_OK, "CALLBACK_TOKEN": "short-secret"}, tmp_path)
    assert not any("short-secret" in p for p in probs)


def test_C9_with_overrides_parses_and_validates(tmp_path):
    cfg = load_config("lanzador", LANZADOR_OK, tmp_path)
    new = cfg.with_overrides(LANZADOR_INTERVALO_LANZADOR_SEG="5", EMAIL_RECIPIENTS="a@x;b@x",
                             LANZADOR_MAX_LANZAMIENTOS_CONCURRENTES=2)
    assert new.LANZADOR_INTERVALO_LANZADOR_SEG == 5 and new.EMAIL_RECIPIENTS == ["a@x", "b@x"]
    assert new.LANZADOR_MAX_LANZAMIENTOS_CONCURRENTES == 2
    assert cfg.LANZADOR_INTERVALO_LANZADOR_SEG == 15 and new.service == "lanzador"
    with pytest.raises(ConfigError):
        cfg.with_overrides(CALLBACK_SERVER_PORT="abc")
    with pytest.raises(AttributeError):
        cfg.with_overrides(NO_EXISTE=1)
    with pytest.raises(AttributeError):
        cfg.LOG_LEVEL = "DEBUG"
    assert pickle.loads(pickle.dumps(new)).LANZADOR_INTERVALO_LANZADOR_SEG == 5


# ----------------------------------------------------------------------------- exit code

def test_C9_load_config_or_exit_exits_2_naming_each_variable(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(PROJECT_ROOT)!r})
        from common.utils.config_manager import load_config_or_exit
        load_config_or_exit("lanzador", root=__import__("pathlib").Path({str(tmp_path)!r}))
        print("ARRANCADO")
    """)
    env = {"PATH": "/usr/bin:/bin", "SQL_SAM_ENGINE": "sqlite", "LANZADOR_PAUSA_INICIO_HHMM": "25:99",
           "CALLBACK_SERVER_PORT": "abc", "SQL_SAM_PWD": "NoDebeAparecer"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=60)
    assert proc.returncode == 2
    assert "ARRANCADO" not in proc.stdout
    for name in ("LANZADOR_PAUSA_INICIO_HHMM", "CALLBACK_SERVER_PORT", "AA_URL", "CALLBACK_TOKEN"):
        assert name in proc.stderr
    assert "NoDebeAparecer" not in proc.stderr
    assert "configuración no válida" in proc.stderr


def test_C9_load_config_or_exit_returns_config_when_valid(tmp_path):
    cfg = cm.load_config_or_exit("lanzador", LANZADOR_OK, tmp_path)
    assert cfg.service == "lanzador"


def test_C9_env_example_itself_is_valid(tmp_path):
    (tmp_path / ".env").write_text((PROJECT_ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    cfg = load_config("demo", {}, tmp_path)
    assert cfg.LOG_DATEFMT == "%Y-%m-%d %H:%M:%S" and cfg.CALLBACK_TOKEN == "" and cfg.secrets() == []


def test_L1_3_path_filter_help_says_substring_like_the_client_does():
    """AA_ROBOTS_FILTRO_RUTA is a case-insensitive substring of the path (aa_client.list_taskbots),
    not a prefix: the operator-facing help and .env.example must say so."""
    help_text = cm.SETTINGS_BY_NAME["AA_ROBOTS_FILTRO_RUTA"].help
    assert "contenga" in help_text and "empiece" not in help_text
    example = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    assert "# " + help_text + "\nAA_ROBOTS_FILTRO_RUTA=" in example
