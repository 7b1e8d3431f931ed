"""Text that does not fit its SQL Server column is refused (or, in an audit row, cut) on both
engines alike: SQLite would keep any length, SQL Server would cut it silently (a CAST) or fail the
whole transaction (error 2628). Sizes as SAM.sql declares them."""

from __future__ import annotations

from datetime import datetime

import pytest

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.operaciones import ajustes, auditoria, pools
from common.operaciones.auditoria import Actor
from common.operaciones.programaciones import OperacionRechazada
from common.paths import PROJECT_ROOT
from common.utils.ajustes_vivos import AjusteNoValido

AHORA = datetime(2026, 3, 2, 7, 0, 0)
ADMIN = Actor("jefe", "administrador", "10.0.0.1")


@pytest.fixture
def db(tmp_path):
    client = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(client)
    yield client
    client.close_all()


def _columna(tabla: str, columna: str) -> str:
    """The column's declaration in SAM.sql (the sizes the code checks must be these)."""
    texto = (PROJECT_ROOT / "SAM.sql").read_text(encoding="utf-8")
    cuerpo = texto[texto.index(f"CREATE TABLE dbo.{tabla} ("):]
    linea = next(linea for linea in cuerpo.splitlines() if linea.strip().startswith(columna + " "))
    return linea.strip()


def test_the_checked_sizes_are_the_columns_of_SAM_sql():
    assert _columna("Pools", "Descripcion").startswith(f"Descripcion NVARCHAR({pools.LARGO_DESCRIPCION})")
    assert _columna("Pools", "Nombre").startswith(f"Nombre NVARCHAR({pools.LARGO_NOMBRE})")
    assert _columna("Auditoria", "EntidadId").startswith(f"EntidadId NVARCHAR({auditoria.LARGO_ENTIDAD_ID})")
    assert _columna("Auditoria", "Usuario").startswith(f"Usuario NVARCHAR({auditoria.LARGO_USUARIO})")
    assert _columna("ConfiguracionSistema", "Descripcion").startswith(
        f"Descripcion NVARCHAR({ajustes.LARGO_DESCRIPCION})")


def test_a_pool_description_longer_than_its_column_is_refused_on_create_and_change(db):
    with pytest.raises(OperacionRechazada, match="más de 4000 caracteres"):
        pools.crear(db, ADMIN, "Finanzas", descripcion="d" * 4001, ahora=AHORA)
    assert db.query("SELECT PoolId FROM Pools") == []
    pid = pools.crear(db, ADMIN, "Finanzas", descripcion="d" * 4000, ahora=AHORA).extra["pool_id"]
    assert len(db.query_one("SELECT Descripcion FROM Pools")["Descripcion"]) == 4000
    with pytest.raises(OperacionRechazada, match="más de 4000 caracteres"):
        pools.cambiar(db, ADMIN, pid, {"Descripcion": "e" * 4001}, ahora=AHORA, version=None)
    assert db.query_one("SELECT Descripcion FROM Pools")["Descripcion"] == "d" * 4000
    assert [a["Resultado"] for a in auditoria.de_entidad(db, pools.ENTIDAD)] == ["rechazado", "ok", "rechazado"]


def test_a_refusal_about_an_overlong_key_fits_its_audit_row(db):
    clave = "X" * 150
    with pytest.raises(AjusteNoValido):
        ajustes.escribir_ajuste(db, clave, "1", ADMIN, ahora=AHORA)
    fila = auditoria.de_entidad(db, ajustes.ENTIDAD)[-1]
    assert fila["Resultado"] == "rechazado"
    assert len(fila["EntidadId"]) == auditoria.LARGO_ENTIDAD_ID and fila["EntidadId"].endswith("\u2026")
    assert fila["EntidadId"].startswith("X" * 99)


def test_a_setting_description_longer_than_its_column_is_refused(db):
    with pytest.raises(AjusteNoValido, match="como máximo 500"):
        ajustes.escribir_ajuste(db, "BALANCEADOR_COOLING_PERIOD_SEG", "240", ADMIN, descripcion="d" * 501,
                                ahora=AHORA)
    assert db.query("SELECT Clave FROM ConfiguracionSistema") == []
    assert ajustes.escribir_ajuste(db, "BALANCEADOR_COOLING_PERIOD_SEG", "240", ADMIN, descripcion="d" * 500,
                                   ahora=AHORA) == 240
