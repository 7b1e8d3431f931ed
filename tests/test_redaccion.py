"""The one redaction function (common/utils/redaccion.py), used by logs, e-mails and the DB client."""

from __future__ import annotations

from common.database.sql_client import DatabaseClient
from common.utils.redaccion import MASCARA, redactar


def test_braced_odbc_password_with_escaped_braces_is_masked_whole():
    texto = "conexión DRIVER={X};PWD={p;a}}ss};UID=u falló"
    assert redactar(texto) == f"conexión DRIVER={{X}};PWD={MASCARA};UID=u falló"


def test_a_very_short_password_does_not_garble_ordinary_text():
    """A one-letter password replaced as plain text would turn "expired" into "e***pired"."""
    assert redactar("Login timeout expired", ["x"]) == "Login timeout expired"
    assert redactar("PWD=x;", ["x"]) == f"PWD={MASCARA};"


def test_database_errors_use_the_same_redaction(tmp_path):
    db = DatabaseClient(engine="sqlserver", connection_string="DRIVER={D};SERVER=s;UID=u;PWD=Secreto-99;")
    assert db._redact("fallo: Secreto-99 en PWD=Secreto-99") == f"fallo: {MASCARA} en PWD={MASCARA}"
    assert redactar("Authorization: Bearer abc.def", ()) == f"Authorization: {MASCARA}"
