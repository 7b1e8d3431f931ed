"""H1 on SQL Server: the session app lock is taken, checked and released by ONE session.

SQL Server cannot run here. ``DatabaseClient`` keeps one connection (one SQL Server session) per
thread, and a session app lock belongs to the session that took it: ``APPLOCK_MODE`` answers
``NoLock`` in any other session, and ``sp_getapplock`` from another session times out (-1) while the
first holds it. This model of a server keeps exactly those two facts per calling thread, so the
election's real engine (``_MotorSqlServer``, with its registered T-SQL) is exercised as it runs:
start-up on the main thread, renewals on the election thread, the release at shutdown.
"""

from __future__ import annotations

import threading

from common.liderazgo import ROL_ACTIVO, ROL_LIDER, Liderazgo, _MotorSqlServer
from tests.esperas import esperar


class SesionesPorHilo:
    """A SQL Server for the app-lock statements: each calling thread is its own session."""

    engine = "sqlserver"

    def __init__(self) -> None:
        self.dueno: int | None = None  # the session (thread) holding 'SAM-<servicio>'
        self.sesiones: set[int] = set()
        self._mutex = threading.Lock()

    def query_one(self, texto: str, params: tuple) -> dict | None:
        sesion = threading.get_ident()
        with self._mutex:
            self.sesiones.add(sesion)
            if "sp_getapplock" in texto:
                if self.dueno in (None, sesion):
                    self.dueno = sesion
                    return {"Resultado": 0}
                return {"Resultado": -1}  # @LockTimeout = 0 and another session holds it
            if "APPLOCK_MODE" in texto:
                return {"Modo": "Exclusive" if self.dueno == sesion else "NoLock"}
            if "FROM dbo.Liderazgo" in texto:
                return None
        raise AssertionError(f"unexpected statement: {texto[:80]}")

    def execute(self, texto: str, params: tuple) -> int:
        sesion = threading.get_ident()
        with self._mutex:
            self.sesiones.add(sesion)
            if "sp_releaseapplock" in texto and self.dueno == sesion:
                self.dueno = None
        return 1

    def close_all(self) -> None:
        pass


def _renovaciones(e: Liderazgo, n: int) -> None:
    inicial = e.intentos
    esperar(lambda: e.intentos >= inicial + n, timeout=20, que=f"{n} renovaciones")


def test_H1_sql_server_ha_off_the_only_instance_keeps_its_lock_across_renewals():
    db = SesionesPorHilo()
    e = Liderazgo(db, "lanzador", ha=False, lease_s=3.0)
    assert isinstance(e.motor, _MotorSqlServer)
    try:
        assert e.arrancar() == ROL_ACTIVO
        _renovaciones(e, 3)  # from the election thread
        assert e.puede_trabajar() and e.rol() == ROL_ACTIVO
        assert len(db.sesiones) == 1  # take, check and note: one session
    finally:
        e.detener()
    assert db.dueno is None  # released by the session that held it


def test_H1_sql_server_ha_on_the_leader_keeps_leading_and_a_second_process_stays_standby():
    db = SesionesPorHilo()
    a = Liderazgo(db, "lanzador", ha=True, lease_s=3.0)
    b = Liderazgo(db, "lanzador", ha=True, lease_s=3.0)
    try:
        a.arrancar()
        b.arrancar()
        esperar(lambda: a.rol() == ROL_LIDER and a.puede_trabajar(), timeout=20, que="a lidera tras la gracia")
        _renovaciones(a, 3)
        _renovaciones(b, 2)
        assert a.rol() == ROL_LIDER and a.puede_trabajar()
        assert not b.puede_trabajar()
    finally:
        a.detener()
    # a's release frees the lock: b takes it from its own session
    esperar(lambda: b.rol() == ROL_LIDER, timeout=20, que="b toma el rol")
    b.detener()
