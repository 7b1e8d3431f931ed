"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest

from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient


@pytest.fixture()
def db(tmp_path):
    """A fresh SQLite SAM DB with the full schema (modules needing other settings override it)."""
    client = DatabaseClient(engine="sqlite", sqlite_path=tmp_path / "sam.db")
    ensure_schema(client)
    yield client
    client.close_all()


@pytest.fixture(autouse=True)
def _solo_sentencias_registradas():
    """Fail a test whose service code ran SQL that is not in the registry (ARCHITECTURE §8.3)."""
    from common.database.sql_client import OBSERVADORES_SQL
    from tests.registro_sql import Vigilante

    vigilante = Vigilante()
    OBSERVADORES_SQL.append(vigilante)
    try:
        yield vigilante
    finally:
        OBSERVADORES_SQL.remove(vigilante)
    violaciones = vigilante.tomar()
    assert not violaciones, "SQL no registrado en common/database/sentencias.py: " + "; ".join(
        f"{origen}: {texto}" for origen, texto in violaciones
    )
