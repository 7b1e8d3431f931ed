"""L8.1-L8.3 from the command line (consola/cli_servicio.py, hooked into ``python -m consola``) on
a real SQLite SAM DB: destrabar, requests with --esperar, and the manual pause through the audited
operations (common/operaciones/pausa.py); Spanish output, exit codes 0/1/2, --json."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from common.cli import ParserSAM
from common.database import ejecuciones as E
from common.operaciones import auditoria, pausa
from common.operaciones import solicitudes as sol
from common.operaciones.auditoria import Actor
from common.operaciones.programaciones import OperacionRechazada, PermisoDenegado
from common.utils.config_manager import load_config
from consola import cli_servicio


@pytest.fixture
def cli(tmp_path, db):
    ruta = db.sqlite_path if hasattr(db, "sqlite_path") else tmp_path / "sam.db"
    cfg = load_config("consola", environ={"SQL_SAM_ENGINE": "sqlite", "SQL_SAM_SQLITE_PATH": str(ruta),
                                          "LOG_DIRECTORY": str(tmp_path / "logs"), "CONSOLA_SECRETO": "-" * 32})

    def correr(*argv):
        parser = ParserSAM(prog="python -m consola", description="prueba")
        cli_servicio.anadir(parser.add_subparsers(dest="orden", parser_class=ParserSAM))
        try:
            args = parser.parse_args(list(argv))
        except SystemExit as salida:  # a wrong argument: argparse exits 2 before anything runs
            return salida.code
        return cli_servicio.ejecutar(args, cfg)

    return correr


def test_L8_1_cli_destrabar_prints_and_exits_0_then_1_for_a_terminal_row(cli, db, capsys):
    db.execute("INSERT INTO Robots (RobotId, Robot) VALUES (1, 'R1')")
    db.execute("INSERT INTO Equipos (EquipoId, Equipo) VALUES (10, 'VM10')")
    eid = E.insert_intent(db, robot_id=1, equipo_id=10, user_id=1, hora=None, fecha_slot=None,
                          now=datetime.now() - timedelta(hours=1))
    assert cli("ejecuciones", "destrabar", str(eid), "--motivo", "colgado") == 0
    assert f"Ejecución {eid} destrabada: RUN_ABORTED" in capsys.readouterr().out
    assert cli("ejecuciones", "destrabar", str(eid), "--motivo", "otra vez", "--json") == 1
    assert "ya terminó (RUN_ABORTED)" in capsys.readouterr().err
    assert auditoria.de_entidad(db, "Ejecuciones")[0]["Usuario"].startswith("cli:")


def test_L8_2_cli_request_waits_and_reports_pending_as_1(cli, db, capsys):
    assert cli("solicitudes", "crear", "sincronizar", "--esperar", "0.2") == 1
    assert "sin atender tras 0.2 s" in capsys.readouterr().out
    servidor = sol.ServidorSolicitudes(db, "lanzador", {"sincronizar": lambda: sol.Resultado(True, "Hecho: 2 robots.")},
                                       atendida_por="vm/1")
    servidor.atender()
    assert cli("solicitudes", "crear", "sincronizar", "--json") == 0
    nueva = json.loads(capsys.readouterr().out)
    assert nueva["Nueva"] is True and nueva["Estado"] == "pendiente"
    assert cli("solicitudes", "listar") == 0
    salida = capsys.readouterr().out
    assert "Hecho: 2 robots." in salida and "pendiente" in salida


def test_L8_3_cli_pause_until_and_resume_write_the_setting_and_refuse_a_past_time(cli, db, capsys):
    assert cli("pausa", "hasta", "2099-01-01 10:00") == 0
    assert "en pausa hasta 2099-01-01 10:00" in capsys.readouterr().out
    fila = db.query_one("SELECT Valor FROM ConfiguracionSistema WHERE Clave = 'LANZADOR_PAUSA_MANUAL_HASTA'")
    assert fila["Valor"] == "2099-01-01 10:00:00"
    assert cli("pausa", "hasta", "2001-01-01 10:00") == 1
    assert "debe terminar en el futuro" in capsys.readouterr().err
    assert cli("pausa", "hasta", "mañana") == 2
    assert cli("pausa", "reanudar") == 0
    assert db.query_one("SELECT Valor FROM ConfiguracionSistema WHERE Clave = 'LANZADOR_PAUSA_MANUAL_HASTA'") is None
    assert [(a["Accion"], a["Resultado"]) for a in auditoria.de_entidad(db, pausa.ENTIDAD)] == \
        [("ajuste", "ok"), ("pausar", "rechazado"), ("ajuste", "ok")]


def test_L8_3_a_lector_may_not_pause_and_the_refusal_is_audited(db):
    with pytest.raises(PermisoDenegado):
        pausa.pausar_hasta(db, Actor("luis", "lector"), datetime(2099, 1, 1), ahora=datetime(2026, 3, 2, 9))
    with pytest.raises(OperacionRechazada):
        pausa.pausar_hasta(db, Actor("ana", "operador"), datetime(2000, 1, 1), ahora=datetime(2026, 3, 2, 9))
    assert [a["Resultado"] for a in auditoria.de_entidad(db, pausa.ENTIDAD)] == ["rechazado", "rechazado"]
    assert db.query_one("SELECT COUNT(*) AS n FROM ConfiguracionSistema")["n"] == 0
