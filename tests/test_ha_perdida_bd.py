"""H2/H3 with real processes: the leading Lanzador LOSES the SAM DB (it is not killed).

On SQLite every process opens the same file, so no honest way exists to take the database away
from one process only (permissions or locks would cut both). The test therefore uses the fault
hook ``SAM_TEST_LIDERAZGO_CORTE`` of common/liderazgo.py: while its file exists, that process'
election fails every attempt as a lost connection, while its work connection keeps running. That
is the harder half of "losing the DB": a leader that could still write intents must stop by
itself (the local 2/3-of-lease rule) before its lease expires, and the DB fence would refuse it
anyway once the standby holds the row. A leader that loses every connection cannot write an
intent at all, so it cannot launch (L3.2).

Checked: the standby takes over within the lease plus a cycle (printed); the old leader's
"líder -> en espera" comes before the standby's "en espera -> líder" and it launches nothing
after; when it reaches the DB again it stays in standby; each role change is mailed once (real
SMTP sink); A360 never gets a duplicate or a deploy to a busy equipo."""

from __future__ import annotations

import sys
import time
from datetime import datetime

import pytest

from tests.esperas import esperar
from tests.smtp_sink import SmtpSink
from tests.test_ha_lanzador import PARES, DosLanzadores, _terminar_todo, comprobar_despliegues
from tests.test_lanzador_system_procesos import _sim

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(sys.platform == "win32", reason="los procesos de prueba se detienen con señales POSIX"),
]

LEASE = 6
A_LIDER = "cambio de rol, líder -> en espera"
B_LIDER = "cambio de rol, en espera -> líder"


def _hora_de(log: str, texto: str) -> datetime:
    linea = next(ln for ln in log.splitlines() if texto in ln)
    return datetime.strptime(linea[:19], "%Y-%m-%d %H:%M:%S")


def _asuntos(sink, texto):
    return [m["Subject"] for m in sink.messages if texto in m["Subject"]]


def test_H3_a_leader_that_loses_the_db_stops_before_its_lease_ends_and_comes_back_as_standby(tmp_path):
    with _sim(duration_s={"dist": "fixed", "value": 0.8}) as sim, SmtpSink() as smtp:
        dos = DosLanzadores(tmp_path, sim, LEASE, EMAIL_SMTP_SERVER="127.0.0.1", EMAIL_SMTP_PORT=smtp.port,
                            EMAIL_FROM="sam@example.com", EMAIL_RECIPIENTS="ops@example.com")
        corte = tmp_path / "a" / "sin_bd"
        for nombre in ("a", "b"):
            dos.procs[nombre].env["SAM_TEST_LIDERAZGO_CORTE"] = str(tmp_path / nombre / "sin_bd")
        try:
            dos.env.online(PARES)
            dos.env.callback.start()
            dos.arrancar("a", "líder")
            dos.arrancar("b", "en espera")
            esperar(lambda: len(sim.deploys()) >= 2, 60, que="despliegues del líder")

            corte.touch()  # a can no longer renew its lease
            t0 = time.monotonic()
            esperar(lambda: dos.lider() == "b", 3 * LEASE + 30, que="b toma el control")
            relevo = time.monotonic() - t0
            esperar(lambda: A_LIDER in dos.log("a") and B_LIDER in dos.log("b"), 30, que="los dos cambios de rol")
            # H3: a gave up (2/3 of the lease) before b could take the lease (when it expired)
            assert _hora_de(dos.log("a"), A_LIDER) <= _hora_de(dos.log("b"), B_LIDER)
            marca = len(dos.log("a"))
            antes = len(sim.deploys())
            esperar(lambda: len(sim.deploys()) > antes + 2, 60, que="b lanza")

            corte.unlink()  # a reaches the DB again: the lease is b's, a stays in standby
            fallidas = dos.log("a").count("no se pudo renovar el liderazgo")
            esperar(lambda: len(sim.deploys()) > antes + 6, 60, que="b sigue lanzando")
            time.sleep(LEASE)  # three attempts of a with the DB back: it must stay in standby
            assert dos.log("a").count("no se pudo renovar el liderazgo") <= fallidas + 1  # one may have been in flight
            tras = dos.log("a")[marca:]
            assert "robot seleccionado" not in tras and "robots seleccionados" not in tras, tras
            assert "-> líder" not in tras and dos.lider() == "b"
            esperar(lambda: _asuntos(smtp, "deja de ser el líder") and _asuntos(smtp, "pasa a ser el líder"), 30,
                    que="los correos de cambio de rol")
            _terminar_todo(dos)
            sim.wait_idle(10)
            comprobar_despliegues(dos.env, sim)
        finally:
            dos.cerrar()
        # each role change mailed once: a's loss, b's takeover (a coming back changes nothing)
        assert len(_asuntos(smtp, "deja de ser el líder")) == 1, [m["Subject"] for m in smtp.messages]
        assert len(_asuntos(smtp, "pasa a ser el líder")) == 1, [m["Subject"] for m in smtp.messages]
    print(f"\nRelevo tras perder el líder la base de datos (lease {LEASE} s): {relevo:.2f} s.")
