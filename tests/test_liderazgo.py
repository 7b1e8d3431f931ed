"""Leader election (common/liderazgo.py, H1-H3): the pure rules, the SQLite lease between two
electors on one real database file, the one-instance refusal with HA off, and the lint that keeps
the SQL Server app lock owned by the session."""

from __future__ import annotations

import logging

import pytest

from common import liderazgo
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient, DatabaseError
from common.liderazgo import (
    ROL_ACTIVO,
    ROL_ESPERA,
    ROL_LIDER,
    Estado,
    Liderazgo,
    RolOcupado,
    espera_siguiente,
    leer_titular,
    puede_trabajar,
    tras_intento,
)
from tests.alertas_falsas import AlertasFalsas
from tests.sqlcheck import lint_tsql

LEASE = 30.0


class Reloj:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


# --- pure core ------------------------------------------------------------------------------------


def test_H3_a_leader_stops_working_at_two_thirds_of_the_lease_after_its_last_renewal():
    e = tras_intento(Estado(), True, 100.0, ha=True, gracia_s=0.0)
    assert puede_trabajar(e, 100.0, LEASE, True)
    assert puede_trabajar(e, 100.0 + 19.9, LEASE, True)
    assert not puede_trabajar(e, 100.0 + 20.0, LEASE, True)  # 2/3 of 30 s: before the lease (30 s) ends
    # an unanswered renewal (DB down) changes nothing: the deadline keeps running
    e2 = tras_intento(e, None, 110.0, ha=True, gracia_s=0.0)
    assert e2 == e and not puede_trabajar(e2, 121.0, LEASE, True)
    # a successful renewal moves the deadline from the renewal's start
    e3 = tras_intento(e, True, 110.0, ha=True, gracia_s=0.0)
    assert puede_trabajar(e3, 129.9, LEASE, True) and not puede_trabajar(e3, 130.0, LEASE, True)


def test_H2_a_standby_never_works_and_a_lost_lease_stops_work_at_once():
    assert not puede_trabajar(Estado(), 0.0, LEASE, True)
    e = tras_intento(Estado(), True, 100.0, ha=True, gracia_s=0.0)
    perdido = tras_intento(e, False, 105.0, ha=True, gracia_s=0.0)
    assert not puede_trabajar(perdido, 105.0, LEASE, True)
    assert liderazgo.rol(perdido, 105.0, LEASE, True) == ROL_ESPERA


def test_H3_sql_server_grace_a_new_leader_waits_until_a_silent_loser_gave_up():
    e = tras_intento(Estado(), True, 100.0, ha=True, gracia_s=20.0)
    assert not puede_trabajar(e, 110.0, LEASE, True)
    # renewals during the grace keep it, and do not restart it
    e = tras_intento(e, True, 110.0, ha=True, gracia_s=20.0)
    assert e.trabajo_desde == 120.0
    assert puede_trabajar(e, 120.0, LEASE, True)


def test_H1_ha_off_is_active_and_keeps_working_through_db_outages_until_displaced():
    e = Estado(tiene=True)
    assert liderazgo.rol(e, 0.0, LEASE, False) == ROL_ACTIVO
    e = tras_intento(e, None, 1000.0, ha=False, gracia_s=0.0)
    assert puede_trabajar(e, 5000.0, LEASE, False)
    e = tras_intento(e, False, 5000.0, ha=False, gracia_s=0.0)  # another instance took it meanwhile
    assert not puede_trabajar(e, 5000.0, LEASE, False)
    e = tras_intento(e, True, 6000.0, ha=False, gracia_s=0.0)
    assert puede_trabajar(e, 6000.0, LEASE, False)


def test_a_standby_tries_again_right_after_the_lease_it_saw_ends():
    assert espera_siguiente(Estado(), LEASE, 4.0) == pytest.approx(4.05)
    assert espera_siguiente(Estado(), LEASE, 100.0) == pytest.approx(10.0)
    assert espera_siguiente(Estado(), LEASE, -3.0) == pytest.approx(0.1)
    assert espera_siguiente(Estado(tiene=True, ultimo_ok=1.0), LEASE, 4.0) == pytest.approx(10.0)


# --- SQLite lease, two electors on one real database file ------------------------------------------


def _cliente(path):
    c = DatabaseClient(engine="sqlite", sqlite_path=path)
    ensure_schema(c)
    return c


@pytest.fixture()
def ruta(tmp_path):
    path = tmp_path / "sam.db"
    c = _cliente(path)
    c.close_all()
    return path


def _elector(ruta, host, *, ha=True, lease=LEASE, reloj=None, alerts=None):
    return Liderazgo(_cliente(ruta), "lanzador", ha=ha, lease_s=lease, host=host, pid=hash(host) % 10000,
                     monotonic=reloj or Reloj(), alerts=alerts)


def _expirar(ruta):
    """Move the lease's expiry into the past (the DB's clock, as if the holder died long ago)."""
    import sqlite3

    con = sqlite3.connect(ruta)
    con.execute("UPDATE Liderazgo SET ExpiraUtc = '2000-01-01 00:00:00.000'")
    con.commit()
    con.close()


def test_H1_sqlite_only_one_takes_the_lease_and_the_other_takes_it_once_it_expired(ruta):
    a, b = _elector(ruta, "srv-a"), _elector(ruta, "srv-b")
    assert a._intentar() is True
    assert b._intentar() is False
    assert a._intentar() is True  # renewal
    assert b._intentar() is False
    titular = leer_titular(b.db, "lanzador")
    assert titular.host == "srv-a" and titular.restante_s == pytest.approx(LEASE, abs=2)
    _expirar(ruta)
    assert b._intentar() is True
    assert a._intentar() is False
    assert leer_titular(a.db, "lanzador").host == "srv-b"
    assert not a.puede_trabajar() and b.puede_trabajar()


def test_H1_a_clean_stop_hands_the_lease_over_at_once(ruta):
    a, b = _elector(ruta, "srv-a"), _elector(ruta, "srv-b")
    assert a.arrancar() == ROL_LIDER
    assert b.arrancar() == ROL_ESPERA
    try:
        assert liderazgo.rol_actual("lanzador") in (ROL_LIDER, ROL_ESPERA)
        a.detener()
        assert b._intentar() is True and b.puede_trabajar()
    finally:
        a.detener()
        b.detener()
    assert liderazgo.rol_actual("lanzador") == ROL_ACTIVO  # nothing registered any more


def test_H1_ha_off_a_second_instance_refuses_to_start_naming_host_and_pid(ruta):
    a = _elector(ruta, "srv-a", ha=False)
    assert a.arrancar() == ROL_ACTIVO
    try:
        b = _elector(ruta, "srv-b", ha=False)
        with pytest.raises(RolOcupado) as info:
            b.arrancar()
        texto = str(info.value)
        assert "Ya hay un Lanzador en marcha" in texto
        assert f"servidor srv-a, proceso {a.pid}" in texto
        assert "HA_HABILITADO" in texto
    finally:
        a.detener()


def test_H3_role_changes_are_logged_and_alerted_once_each(ruta, caplog):
    reloj = Reloj()
    alertas = AlertasFalsas()
    a = _elector(ruta, "srv-a", reloj=reloj, alerts=alertas)
    b = _elector(ruta, "srv-b", reloj=reloj)
    caplog.set_level(logging.INFO, logger="sam.liderazgo")
    assert a._intentar() is True
    a._rol_anunciado = a.rol()
    reloj.t += 25.0  # no renewal for 25 s: past 2/3 of the lease
    a.vigilar()
    a.vigilar()  # same role: nothing new
    assert [x.clave for x in alertas.enviadas] == ["lanzador:liderazgo:espera"]
    assert "deja de ser el líder" in alertas.enviadas[0].asunto
    _expirar(ruta)
    assert b._intentar() is True
    assert a._intentar() is False
    a.vigilar()
    assert len(alertas.enviadas) == 1
    _expirar(ruta)
    assert a._intentar() is True
    a.vigilar()
    assert [x.clave for x in alertas.enviadas] == ["lanzador:liderazgo:espera", "lanzador:liderazgo:lider"]
    assert "pasa a ser el líder" in alertas.enviadas[1].asunto
    textos = [r.getMessage() for r in caplog.records]
    assert any("cambio de rol, líder -> en espera" in t for t in textos)
    assert any("cambio de rol, en espera -> líder" in t for t in textos)


def test_H3_an_unreachable_db_is_no_answer_and_the_leader_gives_up_by_itself(ruta):
    reloj = Reloj()
    a = _elector(ruta, "srv-a", reloj=reloj)
    assert a._intentar() is True

    def caida():
        raise DatabaseError("Error de base de datos SAM: sin conexión", retryable=True, connection_lost=True)

    a.motor.intentar = caida
    reloj.t += 15.0
    assert a._intentar() is None and a.puede_trabajar()
    reloj.t += 5.0
    assert a._intentar() is None and not a.puede_trabajar()


def test_rol_actual_is_activo_without_an_election():
    assert liderazgo.rol_actual() == ROL_ACTIVO
    assert liderazgo.es_lider()


# --- the lint: app locks owned by the session -----------------------------------------------------


def _codes(sql):
    return [p.split("]")[0] + "]" for p in lint_tsql(sql)]


def test_H1_lint_fails_on_an_app_lock_owned_by_the_transaction_or_by_default():
    tx = "EXEC sp_getapplock @Resource = N'SAM-lanzador', @LockMode = 'Exclusive', @LockOwner = 'Transaction';"
    assert _codes(tx) == ["[applock-sin-sesion]"]
    defecto = "DECLARE @r INT; EXEC @r = sys.sp_getapplock @Resource = ?, @LockMode = 'Exclusive'; SELECT @r AS R;"
    assert _codes(defecto) == ["[applock-sin-sesion]"]
    assert "sin @LockOwner" in lint_tsql(defecto)[0]
    assert _codes("EXEC sp_getapplock N'SAM-x', 'Exclusive'") == ["[applock-sin-sesion]"]
    assert _codes("EXEC sp_getapplock N'SAM-x', 'Exclusive', 'Transaction'") == ["[applock-sin-sesion]"]


def test_H1_lint_accepts_the_session_app_lock_named_or_positional():
    assert _codes("EXEC sp_getapplock @Resource = ?, @LockMode = 'Exclusive', @LockOwner = 'Session', "
                  "@LockTimeout = 0;") == []
    assert _codes("EXEC sp_getapplock N'SAM-x', 'Exclusive', N'Session', 0") == []
    # a comment or a string mentioning the procedure is no call
    assert _codes("SELECT 'sp_getapplock' AS x -- sp_getapplock @LockOwner = 'Transaction'") == []


def test_H1_the_registered_app_lock_is_a_session_lock_on_sql_server():
    from common.database import sentencias

    tsql = sentencias.sentencia("liderazgo.bloqueo_tomar").tsql
    assert "@LockOwner = 'Session'" in tsql and "@LockTimeout = 0" in tsql
    assert lint_tsql(tsql) == []


# --- H3 fencing: the DB refuses the work of a process that lost the role ---------------------------


def _tomado_por_otro(ruta, segundos=60):
    """Another process took the role (its Titular in the row, a live lease on the DB's clock)."""
    import sqlite3

    con = sqlite3.connect(ruta)
    con.execute("UPDATE Liderazgo SET Titular = 'srv-otro:1:abc', Host = 'srv-otro', Pid = 1, "
                "ExpiraUtc = strftime('%Y-%m-%d %H:%M:%f', julianday('now') + ? / 86400.0)", (segundos,))
    con.commit()
    con.close()


def _intencion(db, cerco, robot=5100):
    from datetime import datetime

    from common.database import ejecuciones

    return ejecuciones.insert_intent(db, robot_id=robot, equipo_id=80, user_id=700, hora=None, fecha_slot=None,
                                     now=datetime(2026, 3, 2, 10, 0), cerco=cerco)


def test_H3_the_intent_insert_is_refused_once_another_process_holds_the_lease(ruta):
    a = _elector(ruta, "srv-a")
    assert a._intentar() is True
    cerco = a.cerco()
    assert cerco is not None and cerco.titular == a.titular
    assert _intencion(a.db, cerco) > 0  # the holder writes its intent
    _tomado_por_otro(ruta)
    assert a.puede_trabajar()  # the local check cannot know yet: only the DB can
    with pytest.raises(liderazgo.LiderazgoPerdido, match="no reconoce a este Lanzador como líder"):
        _intencion(a.db, cerco, robot=5101)
    assert [r["RobotId"] for r in a.db.query("SELECT RobotId FROM Ejecuciones")] == [5100]


def test_H3_an_expired_lease_of_our_own_is_refused_too(ruta):
    a = _elector(ruta, "srv-a")
    assert a._intentar() is True
    _expirar(ruta)  # still our Titular, but the lease ran out on the DB's clock: anyone may take it
    with pytest.raises(liderazgo.LiderazgoPerdido):
        _intencion(a.db, a.cerco())
    assert a.db.query("SELECT EjecucionId FROM Ejecuciones") == []


def test_H3_ha_off_work_is_not_fenced_and_goes_on_whatever_the_row_says(ruta):
    a = _elector(ruta, "srv-a", ha=False)
    assert a._intentar() is True
    assert a.cerco() is None
    _expirar(ruta)
    assert _intencion(a.db, a.cerco()) > 0


def test_H3_the_fence_check_rolls_back_the_whole_transaction(ruta):
    a = _elector(ruta, "srv-a")
    assert a._intentar() is True
    cerco = a.cerco()

    def trabajo(tx):
        tx.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'R1')")
        liderazgo.comprobar_cerco(tx, cerco, "el plan")
        tx.execute("INSERT INTO Robots (RobotId, Robot) VALUES (2, 'R2')")

    a.db.run_in_transaction(trabajo)
    _tomado_por_otro(ruta)
    a.db.execute("DELETE FROM Robots")
    with pytest.raises(liderazgo.LiderazgoPerdido, match="no se ha hecho el plan"):
        a.db.run_in_transaction(trabajo)
    assert a.db.query("SELECT RobotId FROM Robots") == []
    liderazgo.comprobar_cerco(a.db, None, "nada")  # no election: nothing checked


def test_H3_the_fenced_statements_lock_the_holder_row_on_sql_server():
    from common.database import sentencias

    for nombre in ("ejecuciones.insertar_intento_cercado", "liderazgo.cerco"):
        tsql = sentencias.sentencia(nombre).tsql
        assert "dbo.Liderazgo AS l WITH (UPDLOCK, HOLDLOCK)" in tsql and "l.Titular = ?" in tsql
        assert "l.ExpiraUtc > SYSUTCDATETIME()" in tsql
        assert lint_tsql(tsql) == []
    assert "INSERT INTO dbo.Ejecuciones" in sentencias.sentencia("ejecuciones.insertar_intento_cercado").tsql
