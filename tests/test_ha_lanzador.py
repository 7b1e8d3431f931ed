"""Fault tests of the Lanzador on two "servers" (H1-H3) with real processes: two Lanzadores on one
SQLite SAM DB, the Control Room simulator over HTTP and one callback server. The leader is killed
with SIGKILL again and again, and once frozen with SIGSTOP; whatever happens, A360 never receives
a duplicate deployment or a deploy to a busy equipo, and every deployment is recorded exactly once
in Ejecuciones. The failover times are printed (``benchmarks/bench_failover.py`` reuses
:func:`correr_failovers` for its figures)."""

from __future__ import annotations

import os
import signal
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.esperas import esperar
from tests.test_caos_lanzador import _solapes as solapes_por_equipo
from tests.test_lanzador_system_procesos import LANZADOR, TERMINALES, Entorno, Proc, _sim

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL/SIGSTOP de POSIX (en Windows no hay SIGSTOP)"),
]

PARES = [(5100, 80), (5101, 81), (5102, 82), (5103, 83)]


class DosLanzadores:
    """Two Lanzador processes (own log folder each) on one SAM DB, plus the callback server."""

    def __init__(self, tmp: Path, sim, lease: int, **env):
        self.env = Entorno(tmp, sim, HA_HABILITADO="true", HA_LEASE_SEG=str(lease),
                           LANZADOR_INTERVALO_CONCILIADOR_SEG="2", **env)
        self.lease = lease
        self.procs = {}
        for nombre in ("a", "b"):
            (tmp / nombre).mkdir(exist_ok=True)
            self.procs[nombre] = Proc(LANZADOR, {**self.env.env, "LOG_DIRECTORY": str(tmp / nombre / "logs")},
                                      tmp / nombre, f"lanzador_{nombre}")

    def log(self, nombre: str) -> str:
        p = self.procs[nombre].cwd / "logs" / "sam_lanzador_app.log"
        return p.read_text(encoding="utf-8", errors="replace") if p.exists() else ""

    def titular_pid(self) -> int | None:
        fila = self.env.db.query_one(
            "SELECT Pid FROM Liderazgo WHERE Rol = 'lanzador' "
            "AND ExpiraUtc > strftime('%Y-%m-%d %H:%M:%f', 'now')")
        return int(fila["Pid"]) if fila else None

    def lider(self) -> str | None:
        pid = self.titular_pid()
        for nombre, proc in self.procs.items():
            if proc.alive() and proc.p.pid == pid:
                return nombre
        return None

    def arrancar(self, nombre: str, rol: str) -> None:
        antes = self.log(nombre).count(f"rol {rol}")
        self.procs[nombre].start()
        esperar(lambda: self.log(nombre).count(f"rol {rol}") > antes or not self.procs[nombre].alive(), 60,
                que=f"Lanzador {nombre} arrancado ({rol})")
        assert self.procs[nombre].alive(), self.procs[nombre].output()[-3000:]

    def cerrar(self) -> None:
        for proc in self.procs.values():
            if proc.alive():
                proc.p.kill()
                proc.p.wait(10)
        self.env.close()


def comprobar_despliegues(env: Entorno, sim) -> dict:
    """H3: A360 saw no duplicate and no deploy to a busy equipo; each deployment is in Ejecuciones once."""
    deploys = sim.deploys()
    filas = env.ejecuciones()
    ids_sam = Counter(r["DeploymentId"] for r in filas if r["DeploymentId"])
    ids_a360 = Counter(d["deploymentId"] for d in deploys)
    assert [i for i, n in ids_sam.items() if n > 1] == []
    assert set(ids_a360) == set(ids_sam), (set(ids_a360) ^ set(ids_sam))
    # a deploy to a busy equipo is queued by A360: never
    assert [d["deploymentId"] for d in deploys if any(s == "QUEUED" for _, s in d["timeline"])] == []
    # one run at a time per equipo, on A360's own clock (creation to end of each deployment)
    assert solapes_por_equipo(deploys) == []
    equipos = {d.get("deviceId") for d in deploys}
    return {"despliegues": len(deploys), "filas": len(filas), "equipos": len(equipos)}


def _terminar_todo(dos: DosLanzadores) -> None:
    """Stop launching, let the leader record and close everything, then stop both processes."""
    env = dos.env
    env.db.execute("UPDATE Robots SET EsOnline = 0")
    esperar(lambda: all(r["Estado"] in TERMINALES and r["FechaFin"] for r in env.ejecuciones()), 120,
            que="todas las ejecuciones cerradas")
    for proc in dos.procs.values():
        if proc.alive():
            assert proc.terminate() == 0


def correr_failovers(tmp: Path, *, kills: int, lease: int, imprimir=print) -> dict:
    """``kills`` forced failovers (SIGKILL of the leader, restart as standby); returns the figures."""
    with _sim(duration_s={"dist": "fixed", "value": 0.8}) as sim:
        dos = DosLanzadores(tmp, sim, lease)
        try:
            dos.env.online(PARES)
            dos.env.callback.start()
            dos.arrancar("a", "líder")
            dos.arrancar("b", "en espera")
            tiempos = []
            for i in range(kills):
                lider = dos.lider() or esperar(dos.lider, 3 * lease, que="un líder")
                otro = "b" if lider == "a" else "a"
                esperar(lambda n=i: len(sim.deploys()) > n, 60, que="despliegues del líder")
                t0 = time.monotonic()
                dos.procs[lider].kill9()
                esperar(lambda o=otro: dos.lider() == o, 3 * lease + 30, que=f"toma de control {i + 1}")
                tiempos.append(time.monotonic() - t0)
                dos.arrancar(lider, "en espera")
            antes = len(sim.deploys())
            esperar(lambda: len(sim.deploys()) > antes, 60, que="el último líder sigue lanzando")
            _terminar_todo(dos)
            sim.wait_idle(10)
            cifras = comprobar_despliegues(dos.env, sim)
        finally:
            dos.cerrar()
    cifras.update(kills=kills, lease=lease, mediana=statistics.median(tiempos), maximo=max(tiempos),
                  minimo=min(tiempos))
    imprimir(f"\nFailover del Lanzador (lease {lease} s, {kills} kill -9): mediana {cifras['mediana']:.2f} s, "
             f"máximo {cifras['maximo']:.2f} s, mínimo {cifras['minimo']:.2f} s; {cifras['despliegues']} "
             "despliegues, 0 duplicados, 0 a equipos ocupados.")
    return cifras


@pytest.mark.slow
def test_H3_twenty_kill9_of_the_leader_no_duplicate_and_every_deployment_recorded_once(tmp_path):
    kills = int(os.environ.get("SAM_TEST_HA_KILLS", "20"))
    cifras = correr_failovers(tmp_path, kills=kills, lease=3)
    # H2: the standby takes over within the lease plus one cycle (generous for a loaded machine)
    assert cifras["mediana"] <= 3 + 1 + 3
    assert cifras["despliegues"] >= kills


@pytest.mark.slow
def test_H3_a_frozen_leader_that_resumes_launches_nothing_until_it_takes_the_lease_again(tmp_path):
    with _sim(duration_s={"dist": "fixed", "value": 0.8}) as sim:
        dos = DosLanzadores(tmp_path, sim, 3)
        try:
            dos.env.online(PARES)
            dos.env.callback.start()
            dos.arrancar("a", "líder")
            dos.arrancar("b", "en espera")
            esperar(lambda: len(sim.deploys()) >= 2, 60, que="despliegues del líder")
            a = dos.procs["a"]
            os.kill(a.p.pid, signal.SIGSTOP)
            try:
                esperar(lambda: dos.lider() == "b", 30, que="b toma el control")
                antes = len(sim.deploys())
                esperar(lambda: len(sim.deploys()) > antes + 2, 60, que="b lanza")
                marca = len(dos.log("a"))
            finally:
                os.kill(a.p.pid, signal.SIGCONT)
            esperar(lambda: "cambio de rol, líder -> en espera" in dos.log("a")[marca:], 30,
                    que="a se sabe en espera")
            antes = len(sim.deploys())
            esperar(lambda: len(sim.deploys()) > antes + 2, 60, que="b sigue lanzando")
            tras = dos.log("a")[marca:]
            assert "robot seleccionado" not in tras and "robots seleccionados" not in tras, tras
            assert dos.lider() == "b"
            _terminar_todo(dos)
            sim.wait_idle(10)
            comprobar_despliegues(dos.env, sim)
        finally:
            dos.cerrar()


def test_H1_ha_off_a_second_lanzador_refuses_to_start_naming_host_and_pid(tmp_path):
    with _sim() as sim:
        env = Entorno(tmp_path, sim)
        segundo = Proc(LANZADOR, env.env, tmp_path, "segundo")
        try:
            env.lanzador.start()
            esperar(lambda: "rol activo" in env.log() or not env.lanzador.alive(), 60, que="primer Lanzador")
            assert env.lanzador.alive()
            segundo.start()
            codigo = segundo.p.wait(60)
            salida = segundo.output()
            assert codigo == 3, salida
            pid = env.lanzador.p.pid
            assert "Ya hay un Lanzador en marcha sobre esta base de datos SAM" in salida
            assert f"proceso {pid}" in salida and "HA_HABILITADO" in salida
            assert "SAM Lanzador no arranca" in env.log() and f"proceso {pid}" in env.log()
            assert env.lanzador.alive()
            assert env.lanzador.terminate() == 0
        finally:
            env.close()
