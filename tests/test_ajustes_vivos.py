"""C6: settings changed in ConfiguracionSistema without a restart — the pure decision, the shared
live config, the adapter that re-reads the table (real SQLite) and the writer."""

from __future__ import annotations

import logging
from datetime import datetime, time

import pytest

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.operaciones.ajustes import escribir_ajuste, escribir_ajustes
from common.utils.ajustes_vivos import (
    CLAVES_VIVAS,
    AjusteNoValido,
    ConfigViva,
    RecargaAjustes,
    decidir,
    validar_ajuste,
)
from common.utils.config_manager import ajuste, load_config
from tests.alertas_falsas import AlertasFalsas

_SQLITE = {"SQL_SAM_ENGINE": "sqlite", "SQL_RPA360_ENGINE": "sqlite", "CLOUDERS_MODO": "tunel",
           "BALANCEADOR_PROVEEDORES_CARGA": "rpa360"}


def _cfg(tmp_path, servicio="demo", dotenv="", **env):
    (tmp_path / ".env").write_text(dotenv, encoding="utf-8")
    return load_config(servicio, environ={**_SQLITE, **env}, root=tmp_path)


@pytest.fixture
def db(tmp_path):
    client = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(client)
    yield client
    client.close_all()


def _fila(db, clave, valor):
    db.execute("DELETE FROM ConfiguracionSistema WHERE Clave = ?", (clave,))
    if valor is not None:
        db.execute("INSERT INTO ConfiguracionSistema (Clave, Valor) VALUES (?, ?)", (clave, valor))


# --------------------------------------------------------------------------------- pure decision


def test_C6_precedence_row_over_environment_over_dotenv_over_default(tmp_path):
    base = _cfg(tmp_path, dotenv="LANZADOR_ESPERA_TRAS_FALLO_SEG=100\nBALANCEADOR_COOLING_PERIOD_SEG=77\n",
                LANZADOR_ESPERA_TRAS_FALLO_SEG="200")
    assert base.LANZADOR_ESPERA_TRAS_FALLO_SEG == 200  # environment over .env
    d = decidir(base, {})
    assert d.valores["LANZADOR_ESPERA_TRAS_FALLO_SEG"] == 200
    assert d.valores["BALANCEADOR_COOLING_PERIOD_SEG"] == 77            # .env
    assert d.valores["BALANCEADOR_DEFAULT_TICKETS_POR_EQUIPO"] == 10     # declared default
    d = decidir(base, {"LANZADOR_ESPERA_TRAS_FALLO_SEG": "15", "BALANCEADOR_COOLING_PERIOD_SEG": "5"})
    assert d.valores["LANZADOR_ESPERA_TRAS_FALLO_SEG"] == 15 and d.valores["BALANCEADOR_COOLING_PERIOD_SEG"] == 5
    assert d.desde_bd == {"LANZADOR_ESPERA_TRAS_FALLO_SEG", "BALANCEADOR_COOLING_PERIOD_SEG"}
    assert not d.invalidas and not d.desconocidas
    # a blank or NULL Valor is "not set": the environment value comes back
    d = decidir(base, {"LANZADOR_ESPERA_TRAS_FALLO_SEG": "  ", "BALANCEADOR_COOLING_PERIOD_SEG": None})
    assert d.valores["LANZADOR_ESPERA_TRAS_FALLO_SEG"] == 200 and d.valores["BALANCEADOR_COOLING_PERIOD_SEG"] == 77
    assert d.desde_bd == frozenset()


def test_C6_rows_are_parsed_like_start_up(tmp_path):
    base = _cfg(tmp_path)
    d = decidir(base, {"EMAIL_RECIPIENTS": "a@x.com; b@x.com", "BALANCEADOR_PREEMPCION": "no",
                       "BALANCEADOR_AISLAMIENTO_ESTRICTO": "false", "LANZADOR_PAUSA_INICIO_HHMM": "22:00",
                       "LANZADOR_PAUSA_FIN_HHMM": "6:30", "LANZADOR_PAUSA_MANUAL_HASTA": "2026-03-01 18:30",
                       "LANZADOR_MAX_DURACION_EJECUCION_MIN": "90"})
    v = d.valores
    assert v["EMAIL_RECIPIENTS"] == ["a@x.com", "b@x.com"]
    assert v["BALANCEADOR_PREEMPCION"] is False and v["BALANCEADOR_AISLAMIENTO_ESTRICTO"] is False
    assert v["LANZADOR_PAUSA_INICIO_HHMM"] == time(22, 0) and v["LANZADOR_PAUSA_FIN_HHMM"] == time(6, 30)
    assert v["LANZADOR_PAUSA_MANUAL_HASTA"] == datetime(2026, 3, 1, 18, 30)
    assert v["LANZADOR_MAX_DURACION_EJECUCION_MIN"] == 90
    assert not d.invalidas


@pytest.mark.parametrize("clave, valor, esperado", [
    ("LANZADOR_ESPERA_TRAS_FALLO_SEG", "cinco", "número entero"),
    ("LANZADOR_ESPERA_TRAS_FALLO_SEG", "-1", ">= 0"),
    ("BALANCEADOR_DEFAULT_TICKETS_POR_EQUIPO", "0", ">= 1"),
    ("BALANCEADOR_PREEMPCION", "quizás", "booleano"),
    ("LANZADOR_PAUSA_MANUAL_HASTA", "mañana", "AAAA-MM-DD HH:MM"),
    ("LANZADOR_PAUSA_MANUAL_HASTA", "2026-02-30 10:00", "AAAA-MM-DD HH:MM"),
])
def test_C6_invalid_row_keeps_the_last_valid_value(tmp_path, clave, valor, esperado):
    base = _cfg(tmp_path)
    previo = decidir(base, {"LANZADOR_ESPERA_TRAS_FALLO_SEG": "42", "BALANCEADOR_DEFAULT_TICKETS_POR_EQUIPO": "3",
                            "BALANCEADOR_PREEMPCION": "false",
                            "LANZADOR_PAUSA_MANUAL_HASTA": "2030-01-01 00:00"}).valores
    d = decidir(base, {clave: valor}, previo)
    assert d.valores[clave] == previo[clave] != ajuste(base, clave)
    assert clave not in d.desde_bd
    assert d.invalidas[clave][0] == valor
    assert clave in d.invalidas[clave][1] and esperado in d.invalidas[clave][1]
    # without a last good value the start-up value stays
    assert decidir(base, {clave: valor}).valores[clave] == ajuste(base, clave)


def test_C6_pause_window_halves_are_cross_checked_like_start_up(tmp_path):
    base = _cfg(tmp_path)
    d = decidir(base, {"LANZADOR_PAUSA_INICIO_HHMM": "22:00"})
    assert d.valores["LANZADOR_PAUSA_INICIO_HHMM"] is None
    assert "LANZADOR_PAUSA_INICIO_HHMM" in d.invalidas
    assert "LANZADOR_PAUSA_FIN_HHMM" in d.invalidas["LANZADOR_PAUSA_INICIO_HHMM"][1]
    # the other half in the environment completes it
    con_fin = _cfg(tmp_path, LANZADOR_PAUSA_INICIO_HHMM="21:00", LANZADOR_PAUSA_FIN_HHMM="05:00")
    d = decidir(con_fin, {"LANZADOR_PAUSA_INICIO_HHMM": "22:00"})
    assert d.valores["LANZADOR_PAUSA_INICIO_HHMM"] == time(22, 0) and not d.invalidas
    # a last good pair is kept whole when a new half breaks it
    bueno = decidir(base, {"LANZADOR_PAUSA_INICIO_HHMM": "22:00", "LANZADOR_PAUSA_FIN_HHMM": "06:00"}).valores
    d = decidir(base, {"LANZADOR_PAUSA_INICIO_HHMM": "23:00"}, bueno)
    assert (d.valores["LANZADOR_PAUSA_INICIO_HHMM"], d.valores["LANZADOR_PAUSA_FIN_HHMM"]) == (time(22), time(6))
    assert set(d.invalidas) == {"LANZADOR_PAUSA_INICIO_HHMM"}


def test_C6_email_recipients_required_with_an_smtp_server(tmp_path):
    base = _cfg(tmp_path, EMAIL_SMTP_SERVER="smtp.local", EMAIL_FROM="sam@x.com", EMAIL_RECIPIENTS="ops@x.com")
    d = decidir(base, {"EMAIL_RECIPIENTS": " ; , "})
    assert d.valores["EMAIL_RECIPIENTS"] == ["ops@x.com"]
    assert "EMAIL_RECIPIENTS" in d.invalidas


def test_C6_key_not_on_the_whitelist_is_ignored(tmp_path):
    base = _cfg(tmp_path)
    d = decidir(base, {"SQL_SAM_HOST": "otro", "NO_EXISTE": "1", "LANZADOR_ESPERA_TRAS_FALLO_SEG": "9"})
    assert d.desconocidas == ("NO_EXISTE", "SQL_SAM_HOST")
    assert set(d.valores) == set(CLAVES_VIVAS) and d.valores["LANZADOR_ESPERA_TRAS_FALLO_SEG"] == 9


def test_C6_a_setting_the_service_does_not_use_falls_back_silently(tmp_path):
    """The Balanceador does not validate Lanzador settings (start-up's lenient groups): a bad pause
    row is the Lanzador's to alert, once."""
    base = _cfg(tmp_path, "balanceador")
    d = decidir(base, {"LANZADOR_ESPERA_TRAS_FALLO_SEG": "x", "LANZADOR_PAUSA_INICIO_HHMM": "22:00",
                       "BALANCEADOR_COOLING_PERIOD_SEG": "x"})
    assert set(d.invalidas) == {"BALANCEADOR_COOLING_PERIOD_SEG"}
    assert d.valores["LANZADOR_ESPERA_TRAS_FALLO_SEG"] == 300


def test_C6_validar_ajuste_refuses_what_the_services_would_ignore():
    assert validar_ajuste("LANZADOR_ESPERA_TRAS_FALLO_SEG", " 30 ") == 30
    assert validar_ajuste("EMAIL_RECIPIENTS", "a@x.com;b@x.com") == ["a@x.com", "b@x.com"]
    with pytest.raises(AjusteNoValido, match="no se puede cambiar en caliente"):
        validar_ajuste("SQL_SAM_PWD", "x")
    with pytest.raises(AjusteNoValido, match=r"LANZADOR_PAUSA_FIN_HHMM: se esperaba HH:MM"):
        validar_ajuste("LANZADOR_PAUSA_FIN_HHMM", "25:00")


# --------------------------------------------------------------------------------- live config


def test_C6_config_viva_swaps_values_and_reads_like_a_config(tmp_path):
    base = _cfg(tmp_path)
    viva = ConfigViva(base)
    assert viva.LANZADOR_ESPERA_TRAS_FALLO_SEG == 300 and ajuste(viva, "LANZADOR_ESPERA_TRAS_FALLO_SEG") == 300
    viva.aplicar({"LANZADOR_ESPERA_TRAS_FALLO_SEG": 5, "EMAIL_RECIPIENTS": ["a@x.com"]})
    assert ajuste(viva, "LANZADOR_ESPERA_TRAS_FALLO_SEG") == 5 and viva.get("EMAIL_RECIPIENTS") == ["a@x.com"]
    assert viva.base is base and base.LANZADOR_ESPERA_TRAS_FALLO_SEG == 300
    assert viva.service == "demo" and viva.SQL_SAM_ENGINE == "sqlite"
    with pytest.raises(AttributeError):
        viva.LANZADOR_ESPERA_TRAS_FALLO_SEG = 1


# --------------------------------------------------------------------------------- adapter (SQLite)


def test_C6_reload_applies_rows_alerts_once_per_value_and_announces_recovery(tmp_path, db, caplog):
    viva = ConfigViva(_cfg(tmp_path))
    alertas = AlertasFalsas()
    recarga = RecargaAjustes(db, viva, alerts=alertas, logger=logging.getLogger("sam.test.ajustes"))
    _fila(db, "LANZADOR_ESPERA_TRAS_FALLO_SEG", "20")
    with caplog.at_level(logging.INFO, logger="sam.test.ajustes"):
        recarga.recargar()
    assert ajuste(viva, "LANZADOR_ESPERA_TRAS_FALLO_SEG") == 20
    assert "LANZADOR_ESPERA_TRAS_FALLO_SEG = 20 (antes 300; origen: ConfiguracionSistema)" in caplog.text

    _fila(db, "LANZADOR_ESPERA_TRAS_FALLO_SEG", "veinte")
    for _ in range(3):
        recarga.recargar()
    assert ajuste(viva, "LANZADOR_ESPERA_TRAS_FALLO_SEG") == 20          # last valid value kept
    assert len(alertas.enviadas) == 1
    aviso = alertas.enviadas[0]
    assert "LANZADOR_ESPERA_TRAS_FALLO_SEG" in aviso.asunto and "'veinte'" in aviso.cuerpo and "20" in aviso.cuerpo

    _fila(db, "LANZADOR_ESPERA_TRAS_FALLO_SEG", "-5")                    # another invalid value: one more
    recarga.recargar()
    recarga.recargar()
    assert len(alertas.enviadas) == 2 and len(alertas.recuperadas) == 1

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sam.test.ajustes"):
        _fila(db, "LANZADOR_ESPERA_TRAS_FALLO_SEG", None)                # row deleted: back to the base
        recarga.recargar()
    assert ajuste(viva, "LANZADOR_ESPERA_TRAS_FALLO_SEG") == 300
    assert "vuelve a tener un valor válido" in caplog.text
    assert len(alertas.recuperadas) == 2
    assert not any(alertas.is_alerting(a.clave) for a in alertas.enviadas)


def test_C6_unknown_key_warned_once_and_unreadable_table_keeps_values(tmp_path, db, caplog):
    viva = ConfigViva(_cfg(tmp_path))
    recarga = RecargaAjustes(db, viva, alerts=AlertasFalsas(), logger=logging.getLogger("sam.test.ajustes2"))
    _fila(db, "SQL_SAM_HOST", "otro")
    _fila(db, "BALANCEADOR_COOLING_PERIOD_SEG", "9")
    with caplog.at_level(logging.WARNING, logger="sam.test.ajustes2"):
        for _ in range(3):
            recarga.recargar()
        assert caplog.text.count("SQL_SAM_HOST no se puede cambiar en caliente") == 1
        assert ajuste(viva, "SQL_SAM_HOST") != "otro"
        db.execute("ALTER TABLE ConfiguracionSistema RENAME TO ConfiguracionSistema_x")
        assert recarga.recargar() is None and recarga.recargar() is None
    assert ajuste(viva, "BALANCEADOR_COOLING_PERIOD_SEG") == 9
    assert caplog.text.count("No se pudo leer ConfiguracionSistema") == 1


# --------------------------------------------------------------------------------- writer


def test_C6_writer_validates_and_upserts(tmp_path, db):
    base = _cfg(tmp_path)
    assert escribir_ajuste(db, "LANZADOR_ESPERA_TRAS_FALLO_SEG", "45", "ana", cfg=base,
                           ahora=datetime(2026, 3, 1, 10, 0)) == 45
    assert escribir_ajuste(db, "LANZADOR_ESPERA_TRAS_FALLO_SEG", "50", "luis", descripcion="prueba") == 50
    fila = db.query_one("SELECT * FROM ConfiguracionSistema WHERE Clave = 'LANZADOR_ESPERA_TRAS_FALLO_SEG'")
    assert (fila["Valor"], fila["ActualizadoPor"], fila["Descripcion"]) == ("50", "luis", "prueba")
    with pytest.raises(AjusteNoValido, match="no se puede cambiar en caliente"):
        escribir_ajuste(db, "SQL_SAM_HOST", "x", "ana")
    with pytest.raises(AjusteNoValido, match="número entero"):
        escribir_ajuste(db, "LANZADOR_ESPERA_TRAS_FALLO_SEG", "mucho", "ana")
    # one half of the pause window is refused with the start-up config; both halves together are fine
    with pytest.raises(AjusteNoValido, match="LANZADOR_PAUSA_FIN_HHMM"):
        escribir_ajuste(db, "LANZADOR_PAUSA_INICIO_HHMM", "22:00", "ana", cfg=base)
    assert db.query_one("SELECT 1 AS x FROM ConfiguracionSistema WHERE Clave = 'LANZADOR_PAUSA_INICIO_HHMM'") is None
    escribir_ajustes(db, {"LANZADOR_PAUSA_INICIO_HHMM": "22:00", "LANZADOR_PAUSA_FIN_HHMM": "06:00"}, "ana", cfg=base)
    assert decidir(base, {"LANZADOR_PAUSA_INICIO_HHMM": "22:00", "LANZADOR_PAUSA_FIN_HHMM": "06:00"}).desde_bd
    # a blank value deletes the row
    assert escribir_ajuste(db, "LANZADOR_ESPERA_TRAS_FALLO_SEG", "", "ana") is None
    filas = {f["Clave"] for f in db.query("SELECT Clave FROM ConfiguracionSistema")}
    assert filas == {"LANZADOR_PAUSA_INICIO_HHMM", "LANZADOR_PAUSA_FIN_HHMM"}


# --------------------------------------------------------------------------------- alert retried until sent


def test_C6_invalid_row_alert_that_could_not_be_sent_is_retried_at_each_reread(tmp_path, db, caplog):
    """The mail of an invalid (Clave, Valor) is retried at the next re-reads until it goes out, then
    never again for that value; the error is logged once per value, not per attempt."""
    viva = ConfigViva(_cfg(tmp_path))
    alertas = AlertasFalsas(fallar=True)                                 # SMTP server down
    recarga = RecargaAjustes(db, viva, alerts=alertas, logger=logging.getLogger("sam.test.ajustes3"))
    _fila(db, "LANZADOR_ESPERA_TRAS_FALLO_SEG", "veinte")
    with caplog.at_level(logging.INFO, logger="sam.test.ajustes3"):
        recarga.recargar()
        recarga.recargar()
        assert len(alertas.fallidas) == 2 and alertas.enviadas == []
        alertas.fallar = False                                           # the server is back
        recarga.recargar()
        assert alertas.claves() == ["ajuste_invalido:LANZADOR_ESPERA_TRAS_FALLO_SEG:veinte"]
        for _ in range(3):
            recarga.recargar()
    assert len(alertas.enviadas) == 1 and len(alertas.fallidas) == 2
    assert caplog.text.count("valor no válido para LANZADOR_ESPERA_TRAS_FALLO_SEG") == 1

    # A new invalid value while the server is down: its own alert is pending, the old one recovered.
    alertas.fallar = True
    _fila(db, "LANZADOR_ESPERA_TRAS_FALLO_SEG", "-5")
    recarga.recargar()
    assert alertas.claves_recuperadas() == ["ajuste_invalido:LANZADOR_ESPERA_TRAS_FALLO_SEG:veinte"]
    assert alertas.fallidas[-1].clave == "ajuste_invalido:LANZADOR_ESPERA_TRAS_FALLO_SEG:-5"
    # Fixed before its alert ever went out: nothing to announce, and nothing is sent late.
    _fila(db, "LANZADOR_ESPERA_TRAS_FALLO_SEG", "30")
    recarga.recargar()
    alertas.fallar = False
    recarga.recargar()
    assert len(alertas.enviadas) == 1 and len(alertas.recuperadas) == 1
    assert ajuste(viva, "LANZADOR_ESPERA_TRAS_FALLO_SEG") == 30


class _SmtpQueRechaza:
    """Handler for the real SMTP sink that refuses the first ``n`` messages with a temporary error
    (a mail server that is failing) and then delivers as the sink does."""

    def __init__(self, sink, n: int) -> None:
        from tests.smtp_sink import _Handler

        self.entrega = _Handler(sink)
        self.pendientes = n
        self.rechazados = 0

    async def handle_DATA(self, server, session, envelope):
        if self.pendientes > 0:
            self.pendientes -= 1
            self.rechazados += 1
            return "451 4.3.0 Servidor ocupado, inténtelo más tarde"
        return await self.entrega.handle_DATA(server, session, envelope)


def test_C6_invalid_row_mail_refused_by_the_smtp_server_goes_out_at_a_later_reread(tmp_path, db):
    from common.utils.mail_client import EmailAlertClient
    from tests.smtp_sink import SmtpSink

    sink = SmtpSink()
    rechazo = _SmtpQueRechaza(sink, 2)
    sink.controller.handler = rechazo
    with sink:
        viva = ConfigViva(_cfg(tmp_path, EMAIL_SMTP_SERVER="127.0.0.1", EMAIL_SMTP_PORT=str(sink.port),
                               EMAIL_FROM="sam@example.test", EMAIL_RECIPIENTS="ops@example.test"))
        correo = EmailAlertClient(viva, "lanzador")
        recarga = RecargaAjustes(db, viva, alerts=correo, logger=logging.getLogger("sam.test.ajustes4"))
        _fila(db, "LANZADOR_MAX_DURACION_EJECUCION_MIN", "0")
        recarga.recargar()
        recarga.recargar()
        assert rechazo.rechazados == 2 and sink.messages == []
        recarga.recargar()                                               # accepted now
        for _ in range(3):
            recarga.recargar()
        asuntos = [str(m["Subject"]) for m in sink.messages]
        assert len(asuntos) == 1 and "Ajuste no válido en ConfiguracionSistema: LANZADOR_MAX_DURACION_EJECUCION_MIN" \
            in asuntos[0]
        _fila(db, "LANZADOR_MAX_DURACION_EJECUCION_MIN", None)
        recarga.recargar()
        asuntos = [str(m["Subject"]) for m in sink.messages]
        assert len(asuntos) == 2 and "Ajuste de nuevo válido: LANZADOR_MAX_DURACION_EJECUCION_MIN" in asuntos[1]


# --------------------------------------------------------------------------------- pause end moved while paused


def _mensajes(caplog, texto):
    return [r.getMessage() for r in caplog.records if texto in r.getMessage()]


def test_C6_manual_pause_end_moved_while_paused_is_logged_once_per_change(caplog):
    from lanzador.service.pausa import VentanaPausa

    v = VentanaPausa(None, None, logger=logging.getLogger("sam.test.pausa_viva"), hasta=datetime(2026, 3, 1, 12, 0))
    with caplog.at_level(logging.INFO, logger="sam.test.pausa_viva"):
        assert v.comprobar(datetime(2026, 3, 1, 10, 0))
        v.actualizar(None, None, datetime(2026, 3, 1, 18, 30))            # moved later while on
        for minuto in range(3):
            assert v.comprobar(datetime(2026, 3, 1, 10, 1 + minuto))
        v.actualizar(None, None, datetime(2026, 3, 1, 11, 0))             # moved earlier, still ahead
        assert v.comprobar(datetime(2026, 3, 1, 10, 5)) and v.comprobar(datetime(2026, 3, 1, 10, 6))
        assert not v.comprobar(datetime(2026, 3, 1, 11, 0))               # its new end
    assert len(_mensajes(caplog, "Pausa manual de lanzamientos")) == 1
    assert _mensajes(caplog, "La pausa manual de lanzamientos se") == [
        "La pausa manual de lanzamientos se prolonga hasta el 2026-03-01 18:30:00 (LANZADOR_PAUSA_MANUAL_HASTA; "
        "antes hasta el 2026-03-01 12:00:00).",
        "La pausa manual de lanzamientos se acorta hasta el 2026-03-01 11:00:00 (LANZADOR_PAUSA_MANUAL_HASTA; "
        "antes hasta el 2026-03-01 18:30:00).",
    ]
    assert _mensajes(caplog, "Fin de la pausa manual") == ["Fin de la pausa manual: se reanudan los lanzamientos."]


def test_C6_pause_window_end_moved_while_inside_is_logged_once_per_change(caplog):
    from lanzador.service.pausa import VentanaPausa

    v = VentanaPausa(time(22, 0), time(2, 0), logger=logging.getLogger("sam.test.ventana_viva"))
    with caplog.at_level(logging.INFO, logger="sam.test.ventana_viva"):
        assert v.comprobar(datetime(2026, 3, 1, 23, 0))
        v.actualizar(time(22, 0), time(5, 0))                              # later end, across midnight
        assert v.comprobar(datetime(2026, 3, 1, 23, 1)) and v.comprobar(datetime(2026, 3, 2, 1, 0))
        v.actualizar(time(21, 0), time(5, 0))                              # only the start: same end
        assert v.comprobar(datetime(2026, 3, 2, 1, 1))
        v.actualizar(time(21, 0), time(3, 0))                              # earlier end, still ahead
        assert v.comprobar(datetime(2026, 3, 2, 1, 2)) and v.comprobar(datetime(2026, 3, 2, 2, 59))
        assert not v.comprobar(datetime(2026, 3, 2, 3, 0))
    assert len(_mensajes(caplog, "Entrando en la ventana de pausa")) == 1
    assert _mensajes(caplog, "La ventana de pausa se") == [
        "La ventana de pausa se prolonga hasta las 05:00 (ventana de 22:00 a 05:00, hora local; antes terminaba a "
        "las 02:00).",
        "La ventana de pausa se acorta hasta las 03:00 (ventana de 21:00 a 03:00, hora local; antes terminaba a "
        "las 05:00).",
    ]
    assert len(_mensajes(caplog, "Saliendo de la ventana de pausa")) == 1
