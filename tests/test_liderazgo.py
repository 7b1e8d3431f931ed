"""Leader election (common/liderazgo.py, H1-H3): the pure rules, the SQLite lease between two
electors on one real database file, the one-instance refusal with HA off, and the lint that keeps
the SQL Server app lock owned by the session."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys

import pytest

from common import liderazgo
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient, DatabaseError
from common.liderazgo import (
    PROCESO_DESCONOCIDO,
    PROCESO_MUERTO,
    PROCESO_VIVO,
    ROL_ACTIVO,
    ROL_ESPERA,
    ROL_LIDER,
    Estado,
    Liderazgo,
    RolOcupado,
    Titular,
    espera_siguiente,
    leer_titular,
    puede_trabajar,
    tras_intento,
)
from tests.alertas_falsas import AlertasFalsas
from tests.esperas import esperar
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


# --- HA off, restart after a crash (issue 14): a dead holder is no reason to refuse -----------------

AQUI = socket.gethostname()


def _titular(host=AQUI, *, restante=29.0, antiguedad=1.0, pid=4120):
    return Titular("x", host, pid, restante_s=restante, antiguedad_s=antiguedad)


def test_H1_start_decision_dead_holder_here_is_taken_over_live_one_refused():
    decide = liderazgo.decidir_arranque
    assert decide(_titular(), host=AQUI, proceso=PROCESO_MUERTO, lease_s=LEASE).accion == "relevar"
    assert decide(_titular(AQUI.upper()), host=AQUI.lower(), proceso=PROCESO_MUERTO,
                  lease_s=LEASE).accion == "relevar"  # Windows host names: any case
    assert decide(_titular(), host=AQUI, proceso=PROCESO_VIVO, lease_s=LEASE).accion == "rechazar"
    # alive here, even if it no longer renews (frozen): still refused
    assert decide(_titular(restante=5.0, antiguedad=25.0), host=AQUI, proceso=PROCESO_VIVO,
                  lease_s=LEASE).accion == "rechazar"


def test_H1_start_decision_holder_elsewhere_refused_while_renewed_waited_for_when_not():
    decide = liderazgo.decidir_arranque
    otro = "srv-otro"
    # renewed within two renewal periods (2 x 10 s): a running instance
    assert decide(_titular(otro, antiguedad=19.0), host=AQUI, proceso=PROCESO_DESCONOCIDO,
                  lease_s=LEASE).accion == "rechazar"
    # a pid "dead" on another host means nothing: that pid is not ours to look at
    assert decide(_titular(otro), host=AQUI, proceso=PROCESO_MUERTO, lease_s=LEASE).accion == "rechazar"
    espera = decide(_titular(otro, restante=9.0, antiguedad=21.0), host=AQUI, proceso=PROCESO_DESCONOCIDO,
                    lease_s=LEASE)
    assert espera.accion == "esperar" and espera.espera_s == pytest.approx(9.05)
    # this host but no answer about the pid: the lease decides, as for another host
    assert decide(_titular(restante=9.0, antiguedad=21.0), host=AQUI, proceso=PROCESO_DESCONOCIDO,
                  lease_s=LEASE).accion == "esperar"
    # SQL Server: the row says expired but the lock is still held; or held with no row yet
    assert decide(_titular(otro, restante=-2.0, antiguedad=40.0), host=AQUI, proceso=PROCESO_DESCONOCIDO,
                  lease_s=LEASE) == liderazgo.DecisionArranque("esperar", 10.0)
    assert decide(None, host=AQUI, proceso=PROCESO_DESCONOCIDO, lease_s=LEASE).accion == "esperar"


def test_H1_a_process_younger_than_the_last_renewal_is_a_reused_pid():
    assert liderazgo.es_otro_proceso(5.0, 20.0)
    assert not liderazgo.es_otro_proceso(3600.0, 20.0)
    assert not liderazgo.es_otro_proceso(19.5, 20.0)  # within the clock slack: the holder
    assert not liderazgo.es_otro_proceso(5.0, None)


def _proceso_muerto() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait(30)
    return p.pid


def test_H1_process_probe_on_real_processes():
    assert liderazgo.estado_proceso(os.getpid(), 0.5) == PROCESO_VIVO
    assert liderazgo.estado_proceso(os.getpid(), 10 * 365 * 86400.0) == PROCESO_MUERTO  # reused pid
    vivo = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert liderazgo.estado_proceso(vivo.pid, 0.0) == PROCESO_VIVO
        vivo.kill()
        # killed and not yet reaped (a zombie on POSIX) is dead too
        esperar(lambda: liderazgo.estado_proceso(vivo.pid, 0.0) == PROCESO_MUERTO, 30, que="proceso muerto")
    finally:
        vivo.kill()
        vivo.wait(30)
    assert liderazgo.estado_proceso(vivo.pid, 0.0) == PROCESO_MUERTO
    assert liderazgo.estado_proceso(0, 0.0) == PROCESO_DESCONOCIDO


def _caido(ruta, *, host=AQUI, pid=None, lease=LEASE):
    """A holder that took the role and then died without letting it go (kill -9): its lease row
    stays, still valid, and nobody renews it."""
    a = Liderazgo(_cliente(ruta), "lanzador", ha=False, lease_s=lease, host=host,
                  pid=pid if pid is not None else _proceso_muerto())
    assert a._intentar() is True
    a.db.close_all()
    return a


def test_H1_ha_off_restart_after_kill9_takes_the_role_from_the_dead_holder_at_once(ruta, caplog):
    muerto = _caido(ruta)
    assert leer_titular(muerto.db, "lanzador").restante_s > LEASE - 5  # the dead lease is far from over
    caplog.set_level(logging.INFO, logger="sam.liderazgo")
    b = Liderazgo(_cliente(ruta), "lanzador", ha=False, lease_s=LEASE)
    try:
        assert b.arrancar() == ROL_ACTIVO
        titular = leer_titular(b.db, "lanzador")
        assert (titular.titular, titular.host, titular.pid) == (b.titular, AQUI, os.getpid())
        assert b.puede_trabajar() and b.mandatos == 1
        textos = [r.getMessage() for r in caplog.records]
        assert f"El titular anterior ({AQUI}, {muerto.pid}) ya no existe: se toma el rol." in " ".join(textos)
        # and a third instance started now (another process: another pid) finds b alive on this host:
        # refused, naming b
        c = Liderazgo(_cliente(ruta), "lanzador", ha=False, lease_s=LEASE, pid=_proceso_muerto())
        with pytest.raises(RolOcupado) as info:
            c.arrancar()
        assert f"servidor {AQUI}, proceso {os.getpid()}" in str(info.value)
        c.db.close_all()
    finally:
        b.detener()


def test_H1_ha_off_a_reused_pid_of_the_dead_holder_does_not_keep_the_role(ruta):
    # the dead holder's pid now belongs to a process started after the lease was last renewed
    _caido(ruta, pid=os.getpid())
    import sqlite3

    con = sqlite3.connect(ruta)
    con.execute("UPDATE Liderazgo SET RenovadoUtc = strftime('%Y-%m-%d %H:%M:%f', 'now'), "
                "DesdeUtc = strftime('%Y-%m-%d %H:%M:%f', 'now')")
    con.commit()
    con.close()
    # the real probe would call this (live, older than the renewal) process the holder: the restart
    # itself got the dead holder's pid, so the holder cannot be running
    b = Liderazgo(_cliente(ruta), "lanzador", ha=False, lease_s=LEASE)
    try:
        assert b.arrancar() == ROL_ACTIVO
        assert leer_titular(b.db, "lanzador").titular == b.titular
    finally:
        b.detener()


def test_H1_ha_off_a_live_holder_on_this_host_is_still_refused(ruta):
    vivo = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        esperar(lambda: liderazgo.estado_proceso(vivo.pid, 0.0) == PROCESO_VIVO, 30, que="proceso vivo")
        _caido(ruta, pid=vivo.pid)
        b = Liderazgo(_cliente(ruta), "lanzador", ha=False, lease_s=LEASE)
        with pytest.raises(RolOcupado) as info:
            b.arrancar()
        assert f"servidor {AQUI}, proceso {vivo.pid}" in str(info.value)
        b.db.close_all()
    finally:
        vivo.kill()
        vivo.wait(30)


def test_H1_two_restarts_at_once_only_one_takes_over_the_dead_holder(ruta):
    _caido(ruta)
    b = Liderazgo(_cliente(ruta), "lanzador", ha=False, lease_s=LEASE, pid=1001)
    c = Liderazgo(_cliente(ruta), "lanzador", ha=False, lease_s=LEASE, pid=1002)
    anterior = leer_titular(b.db, "lanzador")
    assert b.motor.relevar(anterior) is True
    assert c.motor.relevar(anterior) is False  # the row no longer names the dead holder
    assert leer_titular(c.db, "lanzador").titular == b.titular
    b.db.close_all()
    c.db.close_all()


def _sin_renovar(ruta, antiguedad_s, restante_s):
    import sqlite3

    con = sqlite3.connect(ruta)
    con.execute("UPDATE Liderazgo SET RenovadoUtc = strftime('%Y-%m-%d %H:%M:%f', julianday('now') - ? / 86400.0), "
                "ExpiraUtc = strftime('%Y-%m-%d %H:%M:%f', julianday('now') + ? / 86400.0)",
                (antiguedad_s, restante_s))
    con.commit()
    con.close()


def test_H1_ha_off_a_holder_elsewhere_that_stopped_renewing_is_waited_for_then_taken(ruta, caplog):
    _caido(ruta, host="srv-otro", pid=4120, lease=3.0)
    _sin_renovar(ruta, antiguedad_s=2.5, restante_s=1.0)  # past 2 renewal periods (2 s), 1 s left
    caplog.set_level(logging.INFO, logger="sam.liderazgo")
    b = Liderazgo(_cliente(ruta), "lanzador", ha=False, lease_s=3.0)
    try:
        assert b.arrancar() == ROL_ACTIVO
        assert leer_titular(b.db, "lanzador").titular == b.titular
        textos = " ".join(r.getMessage() for r in caplog.records)
        assert "servidor srv-otro, proceso 4120" in textos and "no lo renueva" in textos
        assert b.intentos >= 2  # the first attempt met the live lease: it did wait for it to end
    finally:
        b.detener()


def test_H1_ha_off_a_holder_elsewhere_that_renews_is_refused_without_waiting(ruta):
    _caido(ruta, host="srv-otro", pid=4120)
    b = Liderazgo(_cliente(ruta), "lanzador", ha=False, lease_s=LEASE)
    with pytest.raises(RolOcupado) as info:
        b.arrancar()
    assert "servidor srv-otro, proceso 4120" in str(info.value)
    assert b.intentos == 1
    b.db.close_all()


class _BloqueoLento:
    """SQL Server's engine as the election sees it: the app lock of a killed holder is released
    only once SQL Server notices its connection closed (here: after two attempts)."""

    def __init__(self, ocupado: int) -> None:
        self.ocupado, self.llamadas = ocupado, 0

    def intentar(self) -> bool:
        self.llamadas += 1
        return self.llamadas > self.ocupado

    relevar = lambda self, anterior: self.intentar()  # noqa: E731 - as _MotorSqlServer.relevar

    def soltar(self) -> None:
        pass


def test_H1_sql_server_path_a_stale_row_is_no_refusal_the_lock_decides(ruta):
    # a dead holder on this host left its (informational) row; its lock goes a moment later
    _caido(ruta)
    b = Liderazgo(_cliente(ruta), "lanzador", ha=False, lease_s=LEASE)
    b.motor = _BloqueoLento(ocupado=2)
    try:
        assert b.arrancar() == ROL_ACTIVO and b.motor.llamadas == 3
    finally:
        b.detener()
    # a free lock is taken whatever the row says (a live holder elsewhere, lease valid)
    _expirar(ruta)  # (the fake lock wrote nothing: b's SQLite lease is still there)
    _caido(ruta, host="srv-otro", pid=4120)
    c = Liderazgo(_cliente(ruta), "lanzador", ha=False, lease_s=LEASE)
    c.motor = _BloqueoLento(ocupado=0)
    try:
        assert c.arrancar() == ROL_ACTIVO and c.motor.llamadas == 1
    finally:
        c.detener()


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
