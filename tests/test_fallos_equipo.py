"""M3: an equipo whose deploys fail LANZADOR_FALLOS_EQUIPO_UMBRAL [20] times in a row is alerted once
(naming the equipo and the last error); a successful deploy there ends the run (one recovery line).
Failures an A360 outage explains do not count."""

from __future__ import annotations

import logging

import pytest

from lanzador.service.caida_a360 import FallosPorEquipo
from tests.alertas_falsas import AlertasFalsas
from tests.esperas import esperar
from tests.smtp_sink import SmtpSink
from tests.test_lanzador_system_procesos import Entorno, _sim


def test_M3_twenty_failures_in_a_row_one_alert_naming_equipo_and_last_error(caplog):
    alertas = AlertasFalsas()
    f = FallosPorEquipo(alertas, umbral=20, nombre=lambda e: f"equipo VMRPA02 ({e})")
    for i in range(19):
        f.fallo(81, f"error {i}")
    assert alertas.enviadas == []
    for i in range(19, 45):
        f.fallo(81, f"error {i}")
    assert alertas.claves() == ["lanzador:equipo:81:fallos"]
    aviso = alertas.enviadas[0]
    assert aviso.asunto == "El equipo VMRPA02 (81) falla al desplegar: 20 fallos seguidos"
    assert "Último error: error 19" in aviso.cuerpo and aviso.que_revisar
    assert f.fallos(81) == 45
    with caplog.at_level(logging.INFO):
        f.exito(81)
        f.exito(81)  # a second success announces nothing more
    assert f.fallos(81) == 0
    assert alertas.claves_recuperadas() == ["lanzador:equipo:81:fallos"]
    assert len([r for r in caplog.records if "vuelve a desplegar" in r.getMessage()]) == 1


def test_M3_a_success_resets_the_run_before_the_threshold_and_equipos_count_apart():
    alertas = AlertasFalsas()
    f = FallosPorEquipo(alertas, umbral=3)
    f.fallo(80, "x")
    f.fallo(80, "x")
    f.exito(80)
    f.fallo(80, "x")
    f.fallo(80, "x")
    f.fallo(81, "y")
    f.fallo(81, "y")
    assert alertas.enviadas == [] and alertas.recuperadas == []
    f.fallo(80, "x")
    assert alertas.claves() == ["lanzador:equipo:80:fallos"]


def test_M3_a_desplegador_counts_failed_deploys_per_equipo_not_outage_ones():
    from lanzador.database.seleccion import RobotEjecutable
    from lanzador.service.desplegador import (
        RESULTADO_DESPLEGADO,
        RESULTADO_FALLIDO,
        Desplegador,
        ResultadoLanzamiento,
    )

    registro = []

    class Fallos:
        def fallo(self, equipo, error):
            registro.append(("fallo", equipo, error))

        def exito(self, equipo):
            registro.append(("exito", equipo))

    d = Desplegador.__new__(Desplegador)
    d.caida, d.fallos_equipo = None, Fallos()
    fila = RobotEjecutable(5100, 80, 700, None, False, None)
    resultados = [ResultadoLanzamiento(fila, RESULTADO_FALLIDO, error="HTTP 400"),
                  ResultadoLanzamiento(fila, RESULTADO_FALLIDO, error="A360 no disponible: 503", por_caida=True),
                  ResultadoLanzamiento(fila, RESULTADO_DESPLEGADO)]
    d._contar_caida_y_equipos(resultados)
    assert registro == [("fallo", 80, "HTTP 400"), ("exito", 80)]


def _correos(sink):
    with sink.lock:
        return [(str(m["X-SAM-Alert-Key"]), str(m["Subject"]), m.get_body(("plain",)).get_content())
                for m in sink.messages]


@pytest.mark.system
@pytest.mark.slow
def test_M3_real_lanzador_equipo_failing_twenty_times_one_mail_then_recovery(tmp_path):
    """A real Lanzador; the simulator refuses every deploy on VMRPA02 (id 81) with a permanent 400:
    after 20 failures in a row one mail names the equipo and the last error; the other equipo keeps
    launching; when VMRPA02 deploys again, one recovery."""
    sink = SmtpSink().start()
    regla = {"match": {"path": "/v3/automations/deploy", "deviceId": 81}, "status": 400, "code": "BAD_REQUEST",
             "message": "BAD_REQUEST: el Bot Agent del equipo no responde"}
    with _sim(duration_s={"dist": "fixed", "value": 0.3}, rules=[regla]) as sim:
        env = Entorno(tmp_path, sim, EMAIL_SMTP_SERVER="127.0.0.1", EMAIL_SMTP_PORT=sink.port,
                      EMAIL_USE_TLS="false", EMAIL_FROM="sam@example.com",
                      EMAIL_RECIPIENTS="operaciones@example.com", LANZADOR_ESPERA_TRAS_FALLO_SEG="0",
                      LANZADOR_FALLOS_EQUIPO_UMBRAL="20")
        try:
            env.online([(5100, 80), (5101, 81), (5102, 81)])
            env.callback.start()
            env.lanzador.start()

            def fallidas():
                return len([r for r in env.ejecuciones() if r["EquipoId"] == 81 and r["Estado"] == "DEPLOY_FAILED"])

            esperar(lambda: fallidas() >= 26, 180, que="26 despliegues fallidos en el equipo 81")
            equipo = [c for c in _correos(sink) if c[0] == "lanzador:equipo:81:fallos"]
            assert len(equipo) == 1, _correos(sink)
            clave, asunto, cuerpo = equipo[0]
            assert "[ERROR]" in asunto and "VMRPA02 (81)" in asunto
            assert "el Bot Agent del equipo no responde" in cuerpo
            assert [r for r in env.ejecuciones() if r["EquipoId"] == 80 and r["DeploymentId"]]  # the other launches
            sim.configure(rules=[])
            esperar(lambda: [c for c in _correos(sink) if c[0] == "lanzador:equipo:81:fallos" and "[RECUPERADO]" in c[1]],
                    60, que="la recuperación del equipo 81")
            assert env.lanzador.terminate() == 0
        finally:
            env.close()
            sink.stop()
    equipo = [c for c in _correos(sink) if c[0] == "lanzador:equipo:81:fallos"]
    assert [("[ERROR]" in a, "[RECUPERADO]" in a) for _, a, _ in equipo] == [(True, False), (False, True)]
    assert env.log().count("VMRPA02 (81) vuelve a desplegar") == 1
