"""C6: every live-setting write leaves one Auditoria row in its own transaction (old and new
values, who, from where); refused attempts are audited too and write no setting."""

from __future__ import annotations

from datetime import datetime

import pytest

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.operaciones import auditoria
from common.operaciones.ajustes import ENTIDAD, escribir_ajuste, escribir_ajustes
from common.operaciones.auditoria import Actor
from common.utils.ajustes_vivos import AjusteNoValido
from common.utils.config_manager import load_config

_SQLITE = {"SQL_SAM_ENGINE": "sqlite", "SQL_RPA360_ENGINE": "sqlite", "CLOUDERS_MODO": "tunel",
           "BALANCEADOR_PROVEEDORES_CARGA": "rpa360"}
ANA = Actor("ana", "administrador", "10.0.0.7")
CLAVE = "LANZADOR_ESPERA_TRAS_FALLO_SEG"


@pytest.fixture
def db(tmp_path):
    client = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(client)
    yield client
    client.close_all()


def _valor(db, clave):
    fila = db.query_one("SELECT Valor FROM ConfiguracionSistema WHERE Clave = ?", (clave,))
    return None if fila is None else fila["Valor"]


def test_C6_write_audits_old_and_new_value_with_the_actor(db):
    momento = datetime(2026, 3, 1, 10, 0)
    escribir_ajuste(db, CLAVE, "45", ANA, ahora=momento)
    escribir_ajuste(db, CLAVE, "50", ANA, ahora=momento)
    escribir_ajuste(db, CLAVE, "", ANA, ahora=momento)
    filas = auditoria.de_entidad(db, ENTIDAD)
    assert [(f["Antes"], f["Despues"], f["Resultado"]) for f in filas] == [
        ({CLAVE: None}, {CLAVE: "45"}, "ok"),
        ({CLAVE: "45"}, {CLAVE: "50"}, "ok"),
        ({CLAVE: "50"}, {CLAVE: None}, "ok"),
    ]
    assert {(f["Usuario"], f["Rol"], f["Ip"], f["Accion"], f["EntidadId"]) for f in filas} == {
        ("ana", "administrador", "10.0.0.7", "ajuste", CLAVE)}
    assert _valor(db, CLAVE) is None


def test_C6_refused_write_is_audited_and_writes_nothing(db, tmp_path):
    (tmp_path / ".env").write_text("", encoding="utf-8")
    base = load_config("demo", environ=_SQLITE, root=tmp_path)
    with pytest.raises(AjusteNoValido, match="número entero"):
        escribir_ajuste(db, CLAVE, "mucho", ANA)
    with pytest.raises(AjusteNoValido, match="no se puede cambiar en caliente"):
        escribir_ajuste(db, "SQL_SAM_HOST", "x", ANA)
    with pytest.raises(AjusteNoValido, match="LANZADOR_PAUSA_FIN_HHMM"):
        escribir_ajuste(db, "LANZADOR_PAUSA_INICIO_HHMM", "22:00", ANA, cfg=base)
    filas = auditoria.de_entidad(db, ENTIDAD)
    assert [f["Resultado"] for f in filas] == ["rechazado"] * 3
    assert "número entero" in filas[0]["Despues"]["Motivo"]
    assert filas[0]["Despues"][CLAVE] == "mucho" and filas[0]["Antes"] == {CLAVE: None}
    assert db.query_one("SELECT COUNT(*) AS n FROM ConfiguracionSistema")["n"] == 0


def test_C6_several_settings_one_audit_row_and_plain_name_still_accepted(db):
    escribir_ajustes(db, {"LANZADOR_PAUSA_INICIO_HHMM": "22:00", "LANZADOR_PAUSA_FIN_HHMM": "06:00"}, "script")
    (fila,) = auditoria.de_entidad(db, ENTIDAD)
    assert fila["EntidadId"] == "LANZADOR_PAUSA_FIN_HHMM, LANZADOR_PAUSA_INICIO_HHMM"
    assert fila["Despues"] == {"LANZADOR_PAUSA_INICIO_HHMM": "22:00", "LANZADOR_PAUSA_FIN_HHMM": "06:00"}
    assert (fila["Usuario"], fila["Rol"]) == ("script", None)


def test_C6_the_value_of_a_clave_off_the_whitelist_is_not_kept_in_the_audit(db):
    with pytest.raises(AjusteNoValido):
        escribir_ajuste(db, "CONSOLA_SECRETO", "s3creto-muy-largo", ANA)
    (fila,) = auditoria.de_entidad(db, ENTIDAD)
    assert "s3creto" not in str(fila) and fila["Despues"]["CONSOLA_SECRETO"] == "(valor no registrado)"
