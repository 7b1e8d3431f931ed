"""M2 with real processes: the Lanzador (``lanzador/run_lanzador.py``) and the callback server against
the Control Room simulator over HTTP, a SQLite SAM DB and a real SMTP sink. A360 goes down (every
call answers 503) while several online robots are launching, then comes back.

Facts checked: the outage is mailed once (not once per robot) and its end once, with its duration
and the launches it delayed; no per-robot launch mail while it lasts; the DEPLOY_FAILED rows of the
outage are marked and do not start the 300 s wait, so every robot is launched again soon after A360
answers (well before LANZADOR_ESPERA_TRAS_FALLO_SEG)."""

from __future__ import annotations

import pytest

from tests.esperas import esperar
from tests.smtp_sink import SmtpSink
from tests.test_lanzador_system_procesos import Entorno, _sim

pytestmark = [pytest.mark.system, pytest.mark.slow]

PARES = [(5100, 80), (5101, 81), (5102, 82), (5103, 83)]


def _correos(sink: SmtpSink) -> list[tuple[str, str]]:
    with sink.lock:
        return [(str(m["X-SAM-Alert-Key"]), str(m["Subject"])) for m in sink.messages]


def _cuerpo(sink: SmtpSink, clave: str, nivel: str) -> str:
    with sink.lock:
        for m in sink.messages:
            if str(m["X-SAM-Alert-Key"]) == clave and f"[{nivel}]" in str(m["Subject"]):
                return m.get_body(("plain",)).get_content()
    raise AssertionError(f"no hay correo {nivel} de {clave}")


def test_M2_outage_with_several_robots_one_alert_one_recovery_and_launching_resumes_without_the_wait(tmp_path):
    sink = SmtpSink().start()
    with _sim(duration_s={"dist": "fixed", "value": 0.5}) as sim:
        env = Entorno(tmp_path, sim, EMAIL_SMTP_SERVER="127.0.0.1", EMAIL_SMTP_PORT=sink.port,
                      EMAIL_USE_TLS="false", EMAIL_FROM="sam@example.com",
                      EMAIL_RECIPIENTS="operaciones@example.com", A360_CAIDA_UMBRAL="3",
                      A360_CAIDA_VENTANA_MIN="3", LANZADOR_ESPERA_TRAS_FALLO_SEG="300",
                      LANZADOR_INTERVALO_CONCILIADOR_SEG="2")
        try:
            env.online(PARES)
            env.callback.start()
            env.lanzador.start()
            # Normal launching first: every robot ran at least once.
            esperar(lambda: {r["RobotId"] for r in env.ejecuciones() if r["DeploymentId"]} >= {r for r, _ in PARES},
                    90, que="los cuatro robots lanzados")
            assert _correos(sink) == []
            # A360 goes down: every call answers 503.
            sim.configure(fault_rates={"5xx": 1.0}, fault_5xx_statuses=[503])
            esperar(lambda: _correos(sink), 60, que="el correo de A360 no disponible")
            # The outage lasts several launch cycles (each probes A360 with one deploy).
            esperar(lambda: env.log().count("aplazados por la caída de A360") >= 3, 90, que="ciclos durante la caída")
            fallidas_caida = [r for r in env.ejecuciones() if r["Estado"] == "DEPLOY_FAILED"]
            assert fallidas_caida, "ningún despliegue falló durante la caída"
            assert all(r["MensajeError"].startswith("A360 no disponible: ") for r in fallidas_caida)
            durante = _correos(sink)
            assert durante == [("a360_caida", "[SAM][lanzador][ERROR] A360 no disponible")], durante
            # A360 answers again.
            antes = {r["EjecucionId"] for r in env.ejecuciones()}
            sim.configure(fault_rates={})
            esperar(lambda: len(_correos(sink)) >= 2, 60, que="el correo de recuperación")
            # Every robot is launched again long before the 300 s wait after a failure would allow.
            esperar(lambda: {r["RobotId"] for r in env.ejecuciones()
                             if r["EjecucionId"] not in antes and r["DeploymentId"]} >= {r for r, _ in PARES},
                    90, que="los cuatro robots lanzados de nuevo tras la caída")
            assert env.lanzador.terminate() == 0
            assert env.callback.terminate() == 0
        finally:
            env.close()
            sink.stop()
    correos = _correos(sink)
    caidas = [c for c in correos if c[0] == "a360_caida" and "[ERROR]" in c[1]]
    recuperaciones = [c for c in correos if "[RECUPERADO]" in c[1]]
    assert 1 <= len(caidas) <= 2
    assert recuperaciones == [("a360_caida", "[SAM][lanzador][RECUPERADO] A360 disponible de nuevo")]
    assert not [c for c in correos if "lanzamiento" in c[1].lower()], correos  # no per-robot launch mail
    alerta = _cuerpo(sink, "a360_caida", "ERROR")
    assert sim.url in alerta and "Último error:" in alerta and "HTTP 503" in alerta
    recuperacion = _cuerpo(sink, "a360_caida", "RECUPERADO")
    assert "La caída duró" in recuperacion and "lanzamientos retrasados" in recuperacion
    assert "(0 robots)" not in recuperacion
    log = env.log()
    assert "A360 no disponible desde" in log and "A360 vuelve a responder" in log
    assert "Traceback" not in log
