"""L8.2 with H3 fencing, on a real SQLite SAM DB: with HA on, a leader claims a request only while
the ``Liderazgo`` row still names it; a leader whose lease another process took (and which has
not noticed yet) claims nothing, and the row stays for the new holder. HA off: no fence."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from common.liderazgo import Cerco, Liderazgo
from common.operaciones import solicitudes as sol
from common.operaciones.auditoria import Actor

AHORA = datetime(2026, 3, 2, 9, 30, 0)
OPERADOR = Actor("ana", "operador")


def _tomar_como_otro(ruta, rol: str) -> None:
    """Another process holds the role: its Titular in the row, a live lease on the DB's clock."""
    con = sqlite3.connect(ruta)
    con.execute("UPDATE Liderazgo SET Titular = 'srv-otro:1:abc', Host = 'srv-otro', Pid = 1, "
                "ExpiraUtc = strftime('%Y-%m-%d %H:%M:%f', julianday('now') + 120 / 86400.0) WHERE Rol = ?", (rol,))
    con.commit()
    con.close()


def _servidor(db, servicio, cerco, quien, hechas):
    tipo = "sincronizar" if servicio == "lanzador" else "balancear"
    return sol.ServidorSolicitudes(db, servicio, {tipo: lambda: hechas.append(quien) or sol.Resultado(True, "hecho")},
                                   ahora=lambda: AHORA + timedelta(seconds=1), atendida_por=quien, cerco=cerco)


def test_L8_2_a_fenced_leader_claims_while_it_holds_the_role_and_not_after_a_takeover(db, tmp_path):
    eleccion = Liderazgo(db, "lanzador", ha=True, lease_s=60.0, host="srv-a", pid=10)
    assert eleccion._intentar() is True
    hechas: list[str] = []
    lider = _servidor(db, "lanzador", eleccion.cerco, "srv-a/10", hechas)  # read at each claim
    s1 = sol.solicitar(db, OPERADOR, None, "sincronizar", ahora=AHORA)
    assert lider.atender() == 1
    assert sol.leer(db, s1["SolicitudId"])["AtendidaPor"] == "srv-a/10"

    _tomar_como_otro(tmp_path / "sam.db", "lanzador")
    assert eleccion.puede_trabajar()  # locally it still believes it leads: only the DB can tell
    s2 = sol.solicitar(db, OPERADOR, None, "sincronizar", ahora=AHORA)
    assert lider.atender() == 0
    fila = sol.leer(db, s2["SolicitudId"])
    assert (fila["Estado"], fila["AtendidaPor"], fila["AtendidaEn"]) == ("pendiente", None, None)
    assert hechas == ["srv-a/10"]

    nuevo = _servidor(db, "lanzador", Cerco("lanzador", "srv-otro:1:abc"), "srv-otro/1", hechas)
    assert nuevo.atender() == 1  # the new holder serves what the old one could not claim
    fila = sol.leer(db, s2["SolicitudId"])
    assert (fila["Estado"], fila["AtendidaPor"]) == ("atendida", "srv-otro/1")


def test_L8_2_a_fence_of_another_role_or_an_expired_lease_claims_nothing(db):
    eleccion = Liderazgo(db, "balanceador", ha=True, lease_s=60.0, host="srv-a", pid=10)
    assert eleccion._intentar() is True
    s = sol.solicitar(db, OPERADOR, None, "balancear", ahora=AHORA)
    hechas: list[str] = []
    # the holder's Titular under the other role's name: not a holder of "lanzador"
    ajeno = _servidor(db, "balanceador", Cerco("lanzador", eleccion.titular), "srv-a/10", hechas)
    assert ajeno.atender() == 0
    db.execute("UPDATE Liderazgo SET ExpiraUtc = strftime('%Y-%m-%d %H:%M:%f', julianday('now') - 1 / 86400.0) "
               "WHERE Rol = 'balanceador'")
    caducado = _servidor(db, "balanceador", eleccion.cerco(), "srv-a/10", hechas)
    assert caducado.atender() == 0  # its own lease ran out: it is no holder until it renews
    assert sol.leer(db, s["SolicitudId"])["Estado"] == "pendiente" and hechas == []
    assert eleccion._intentar() is True  # renewed
    assert caducado.atender() == 1 and hechas == ["srv-a/10"]


def test_L8_2_with_ha_off_there_is_no_fence_and_the_claim_needs_no_leadership_row(db):
    eleccion = Liderazgo(db, "lanzador", ha=False, lease_s=60.0, host="srv-a", pid=10)
    assert eleccion.cerco() is None
    assert db.query("SELECT Rol FROM Liderazgo") == []
    s = sol.solicitar(db, OPERADOR, None, "sincronizar", ahora=AHORA)
    hechas: list[str] = []
    assert _servidor(db, "lanzador", eleccion.cerco, "srv-a/10", hechas).atender() == 1
    assert sol.leer(db, s["SolicitudId"])["Estado"] == "atendida"


def test_L8_2_the_fenced_claim_embeds_the_same_holder_test_as_the_intent_insert():
    from common.database import sentencias
    from common.liderazgo import CONDICION_CERCO

    for motor in ("tsql", "sqlite"):
        cercado = getattr(sentencias.sentencia("solicitudes.reclamar_cercado"), motor)
        libre = getattr(sentencias.sentencia("solicitudes.reclamar"), motor)
        assert CONDICION_CERCO[motor] in cercado and CONDICION_CERCO[motor] not in libre
        assert cercado.count("?") == libre.count("?") + 2  # Rol, Titular
