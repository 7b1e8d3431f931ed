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
