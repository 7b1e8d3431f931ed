"""L8.2 with the SAM DB unreachable: the serving job does not mail an "unexpected error in the job"
every second; the outage is the process' one SAM DB alert and the run is reported failed (H5)."""

from __future__ import annotations

from datetime import datetime

import pytest

from common.database.sql_client import DatabaseClient, DatabaseError
from common.operaciones.solicitudes import ServidorSolicitudes
from common.service_runner import CicloFallido
from common.utils.alertas import AlertaBdSam
from tests.alertas_falsas import AlertasFalsas


@pytest.fixture()
def caida(tmp_path):
    ruta = tmp_path / "sam.db"
    ruta.write_bytes(b"esto no es una base de datos SQLite\n" * 200)
    db = DatabaseClient(engine="sqlite", sqlite_path=ruta)
    yield db
    db.close_all()


def test_L8_2_an_unreachable_sam_db_is_the_one_sam_db_alert_and_a_failed_run(caida):
    alertas = AlertasFalsas()
    servidor = ServidorSolicitudes(caida, "lanzador", {}, ahora=lambda: datetime(2026, 3, 2, 9, 0))
    tarea = servidor.tarea(AlertaBdSam(alertas, caida, umbral=1))
    resultados = [tarea() for _ in range(3)]
    assert all(isinstance(r, CicloFallido) for r in resultados)
    assert [a.clave for a in alertas.enviadas] == ["bd_sam"]  # once, whatever the number of runs


def test_L8_2_without_the_process_alert_the_error_reaches_the_runner(caida):
    servidor = ServidorSolicitudes(caida, "lanzador", {}, ahora=lambda: datetime(2026, 3, 2, 9, 0))
    with pytest.raises(DatabaseError):
        servidor.tarea(None)()
