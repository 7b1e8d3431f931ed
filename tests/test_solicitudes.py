"""L8.2 on a real SQLite SAM DB: requests to the services are written and audited in one
transaction, an identical waiting request is not duplicated, refusals are audited, and the serving
job claims each pending row once, runs its task and writes the result."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from common.operaciones import auditoria
from common.operaciones import solicitudes as sol
from common.operaciones.auditoria import Actor
from common.operaciones.programaciones import PermisoDenegado

AHORA = datetime(2026, 3, 2, 9, 30, 0)
OPERADOR = Actor("ana", "operador", "10.0.0.5")
LECTOR = Actor("luis", "lector")


def _auditoria(db):
    return auditoria.de_entidad(db, sol.ENTIDAD)


def test_L8_2_a_request_is_written_pending_and_audited(db):
    fila = sol.solicitar(db, OPERADOR, None, "sincronizar", ahora=AHORA)
    assert fila["Nueva"] is True and (fila["Servicio"], fila["Tipo"], fila["Estado"]) == \
        ("lanzador", "sincronizar", "pendiente")
    leida = sol.leer(db, fila["SolicitudId"])
    assert (leida["SolicitadoPor"], leida["Fecha"], leida["AtendidaEn"], leida["Resultado"]) == \
        ("ana", AHORA, None, None)
    (aud,) = _auditoria(db)
    assert (aud["Accion"], aud["Resultado"], aud["EntidadId"], aud["Usuario"]) == \
        ("solicitar", "ok", str(fila["SolicitudId"]), "ana")


def test_L8_2_an_identical_waiting_request_is_not_duplicated(db):
    primera = sol.solicitar(db, OPERADOR, "lanzador", "sincronizar", ahora=AHORA)
    segunda = sol.solicitar(db, Actor("eva", "administrador"), "lanzador", "sincronizar",
                            ahora=AHORA + timedelta(seconds=5))
    assert segunda["Nueva"] is False and segunda["SolicitudId"] == primera["SolicitudId"]
    otra = sol.solicitar(db, OPERADOR, "balanceador", "balancear", ahora=AHORA)
    assert otra["Nueva"] is True
    assert [f["SolicitudId"] for f in sol.listar(db)] == [otra["SolicitudId"], primera["SolicitudId"]]
    assert [a["Despues"].get("YaPendiente") for a in _auditoria(db)] == [None, True, None]


def test_L8_2_a_request_already_claimed_does_not_absorb_a_new_one(db):
    primera = sol.solicitar(db, OPERADOR, None, "sincronizar", ahora=AHORA)
    servidor = sol.ServidorSolicitudes(db, "lanzador", {}, ahora=lambda: AHORA, atendida_por="h/1")
    assert [f["SolicitudId"] for f in servidor.reclamar()] == [primera["SolicitudId"]]
    segunda = sol.solicitar(db, OPERADOR, None, "sincronizar", ahora=AHORA)
    assert segunda["Nueva"] is True and segunda["SolicitudId"] != primera["SolicitudId"]


@pytest.mark.parametrize("servicio,tipo,mensaje", [
    (None, "reiniciar", "Tipo de solicitud desconocido"),
    ("balanceador", "sincronizar", "la atiende el servicio lanzador"),
])
def test_L8_2_invalid_requests_are_refused_and_audited(db, servicio, tipo, mensaje):
    with pytest.raises(sol.SolicitudNoValida, match=mensaje):
        sol.solicitar(db, OPERADOR, servicio, tipo, ahora=AHORA)
    assert sol.listar(db) == []
    (aud,) = _auditoria(db)
    assert aud["Resultado"] == "rechazado" and mensaje in aud["Despues"]["Motivo"]


def test_L8_2_a_lector_may_not_ask(db):
    with pytest.raises(PermisoDenegado):
        sol.solicitar(db, LECTOR, None, "balancear", ahora=AHORA)
    assert sol.listar(db) == [] and _auditoria(db)[0]["Usuario"] == "luis"


def test_L8_2_the_server_serves_only_its_service_once_and_writes_the_result(db):
    s1 = sol.solicitar(db, OPERADOR, None, "sincronizar", ahora=AHORA)
    s2 = sol.solicitar(db, OPERADOR, None, "balancear", ahora=AHORA)
    llamadas = []

    def sincronizar():
        llamadas.append("sync")
        return sol.Resultado(True, "Sincronización hecha: 3 equipos, 2 robots.")

    servidor = sol.ServidorSolicitudes(db, "lanzador", {"sincronizar": sincronizar},
                                       ahora=lambda: AHORA + timedelta(seconds=2), atendida_por="vm1/42")
    assert servidor.atender() == 1
    assert servidor.atender() == 0  # nothing left: served once
    assert llamadas == ["sync"]
    hecha = sol.leer(db, s1["SolicitudId"])
    assert (hecha["Estado"], hecha["Resultado"], hecha["AtendidaPor"], hecha["AtendidaEn"]) == \
        ("atendida", "Sincronización hecha: 3 equipos, 2 robots.", "vm1/42", AHORA + timedelta(seconds=2))
    assert sol.leer(db, s2["SolicitudId"])["Estado"] == "pendiente"  # the Balanceador's


def test_L8_2_a_failing_task_is_recorded_as_fallida_with_its_error(db):
    s = sol.solicitar(db, OPERADOR, None, "balancear", ahora=AHORA)

    def balancear():
        raise RuntimeError("sin fuentes password=abc123secreto")

    servidor = sol.ServidorSolicitudes(db, "balanceador", {"balancear": balancear}, ahora=lambda: AHORA)
    assert servidor.atender() == 1
    fila = sol.leer(db, s["SolicitudId"])
    assert fila["Estado"] == "fallida" and fila["Resultado"].startswith("Error: RuntimeError: sin fuentes")
    assert "abc123secreto" not in fila["Resultado"]


def test_L8_2_a_claim_of_a_dead_process_expires_and_another_leader_serves_it(db):
    s = sol.solicitar(db, OPERADOR, None, "sincronizar", ahora=AHORA)
    muerto = sol.ServidorSolicitudes(db, "lanzador", {}, ahora=lambda: AHORA, atendida_por="vm1/1")
    assert len(muerto.reclamar()) == 1
    vivo = sol.ServidorSolicitudes(db, "lanzador", {"sincronizar": lambda: sol.Resultado(True, "hecho")},
                                   ahora=lambda: AHORA + timedelta(minutes=1), atendida_por="vm2/2")
    assert vivo.atender() == 0  # the claim is recent: not taken twice
    vivo.ahora = lambda: AHORA + sol.RECLAMO_CADUCA + timedelta(seconds=1)
    assert vivo.atender() == 1
    fila = sol.leer(db, s["SolicitudId"])
    assert (fila["Estado"], fila["AtendidaPor"]) == ("atendida", "vm2/2")
    # the dead process' late write-back finds the row no longer its own
    muerto._servir({"SolicitudId": s["SolicitudId"], "Tipo": "sincronizar", "SolicitadoPor": "ana"})
    assert sol.leer(db, s["SolicitudId"])["Resultado"] == "hecho"


def test_L8_2_esperar_returns_when_served_or_when_time_is_up(db):
    s = sol.solicitar(db, OPERADOR, None, "sincronizar", ahora=AHORA)
    assert sol.esperar(db, s["SolicitudId"], 0)["Estado"] == "pendiente"
    servidor = sol.ServidorSolicitudes(db, "lanzador", {"sincronizar": lambda: sol.Resultado(True, "ok")},
                                       ahora=lambda: AHORA)
    dormidas = []
    fila = sol.esperar(db, s["SolicitudId"], 30, cada=0.01, dormir=lambda x: (dormidas.append(x), servidor.atender()))
    assert fila["Estado"] == "atendida" and len(dormidas) == 1
    assert sol.esperar(db, 999, 5) is None
