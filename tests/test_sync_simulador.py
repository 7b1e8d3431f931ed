"""L1: sync of devices/users/licences/taskbots into Equipos and Robots, against the in-process
Control Room simulator over real HTTP and a SQLite SAM DB."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from common.clock import FixedClock
from demo.simulator import API_PASSWORD, API_USERNAME, ControlRoomSimulator, generate_state
from lanzador.clients.aa_client import AutomationAnywhereClient
from lanzador.database import inventario
from lanzador.service.sincronizador import (
    ALERTA_EQUIPOS,
    ALERTA_ROBOTS,
    SIN_LICENCIA,
    Sincronizador,
    elegir_usuario,
    filas_equipos,
    licencia_de,
)
from tests.alertas_falsas import AlertasFalsas


def _state():
    st = generate_state(files=7, devices=5, users=4, seed=3)
    users = {u["id"]: u for u in st["users"]}
    # user 700: licences without runtime; 701: both runtimes; 702 disabled; 703 deleted
    users[700]["licenseFeatures"] = ["DEVELOPMENT", "CITIZEN"]
    users[701]["licenseFeatures"] = ["RUNTIME", "ATTENDEDRUNTIME"]
    users[702]["disabled"] = True
    users[703]["deleted"] = True
    st["users"].append({"id": 790, "username": "svc_sin", "password": "x", "apiKey": None,
                        "licenseFeatures": [], "disabled": False, "deleted": False,
                        "multipleLoginAllowed": False})
    devs = {d["id"]: d for d in st["devices"]}
    devs[80]["defaultUserIds"] = [700, 701]  # second one holds a runtime licence -> chosen
    devs[81]["defaultUserIds"] = [701]
    devs[82]["defaultUserIds"] = [702]
    devs[83]["defaultUserIds"] = [703]
    devs[84]["defaultUserIds"] = [790]
    devs[84]["status"] = "DISCONNECTED"
    st["devices"].append({"id": 85, "hostName": "VMRPA-SIN-USUARIO", "status": "CONNECTED",
                          "type": "BOT_RUNNER", "defaultUserIds": []})
    return st


@pytest.fixture()
def sim():
    with ControlRoomSimulator(_state(), clock="manual", seed=3) as s:
        yield s


@pytest.fixture()
def clock():
    return FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), "Europe/Madrid")


def _aa(sim, page_size=2):
    return AutomationAnywhereClient(sim.url, API_USERNAME, password=API_PASSWORD, page_size=page_size,
                                    sleep=lambda s: None, timeout=10)


def _sync(sim, db, clock, alerts=None, page_size=2):
    aa = _aa(sim, page_size)
    clock.advance(60)
    return Sincronizador(db, aa, clock=clock, alerts=alerts).sincronizar()


def _equipos(db):
    return {r["EquipoId"]: r for r in db.query("SELECT * FROM Equipos")}


def _robots(db):
    return {r["RobotId"]: r for r in db.query("SELECT * FROM Robots")}


# --- pure mapping ---------------------------------------------------------------------------------
def _u(uid, feats, disabled=False):
    return SimpleNamespace(id=uid, username=f"u{uid}", disabled=disabled, license_features=tuple(feats))


def test_L1_2_licencia_rule():
    assert licencia_de(_u(1, ["DEVELOPMENT", "RUNTIME"])) == "RUNTIME"
    assert licencia_de(_u(1, ["RUNTIME", "ATTENDEDRUNTIME"])) == "ATTENDEDRUNTIME"
    assert licencia_de(_u(1, ["attendedruntime"])) == "ATTENDEDRUNTIME"
    assert licencia_de(_u(1, ["DEVELOPMENT", "CITIZEN"])) == "DEVELOPMENT"
    assert licencia_de(_u(1, [])) == SIN_LICENCIA
    assert licencia_de(None) == SIN_LICENCIA


def test_L1_2_run_as_user_choice():
    users = {1: _u(1, ["DEVELOPMENT"]), 2: _u(2, ["RUNTIME"]), 3: _u(3, ["ATTENDEDRUNTIME"])}
    dev = SimpleNamespace(id=9, host_name="VM", status="CONNECTED", default_users=((1, "a"), (2, "b"), (3, "c")))
    assert elegir_usuario(dev, users) == (2, "b")
    dev = SimpleNamespace(id=9, host_name="VM", status="CONNECTED", default_users=((1, "a"), (4, "d")))
    assert elegir_usuario(dev, users) == (1, "a")
    dev = SimpleNamespace(id=9, host_name="VM", status="CONNECTED", default_users=())
    assert elegir_usuario(dev, users) is None
    (fila,) = filas_equipos([dev], users.values())
    assert fila.user_id is None and fila.licencia == SIN_LICENCIA and fila.usuario_activo is False


# --- against the simulator ------------------------------------------------------------------------
def test_L1_2_L1_3_sync_fills_equipos_and_robots(sim, db, clock):
    res = _sync(sim, db, clock)
    assert res.ok, res.errores
    eq = _equipos(db)
    assert set(eq) == {80, 81, 82, 83, 84, 85}
    assert (eq[80]["UserId"], eq[80]["Licencia"], eq[80]["UsuarioActivoA360"]) == (701, "ATTENDEDRUNTIME", 1)
    assert eq[80]["Equipo"] == "VMRPA01" and eq[80]["EstadoA360"] == "CONNECTED"
    assert eq[82]["UserId"] == 702 and eq[82]["UsuarioActivoA360"] == 0  # disabled user
    # a deleted user: not listed by users/list (and maybe not even among the device's default users)
    assert eq[83]["UserId"] in (703, None) and eq[83]["UsuarioActivoA360"] == 0
    assert eq[83]["Licencia"] == SIN_LICENCIA
    assert eq[84]["Licencia"] == SIN_LICENCIA and eq[84]["EstadoA360"] == "DISCONNECTED"
    assert eq[85]["UserId"] is None and eq[85]["UsuarioActivoA360"] == 0
    assert all(r["FechaSincronizacion"] is not None for r in eq.values())
    rob = _robots(db)
    taskbots = [f for f in sim.state()["files"] if f["type"] == "application/vnd.aa.taskbot"]
    assert set(rob) == {int(f["id"]) for f in taskbots}
    for f in taskbots:
        r = rob[int(f["id"])]
        assert r["Robot"] == f["name"] and r["Descripcion"] == f.get("description")
        assert r["ExisteEnA360"] == 1 and r["EsOnline"] == 0 and r["Activo"] == 1  # defaults


def test_L1_2_L1_3_operator_columns_never_overwritten(sim, db, clock):
    _sync(sim, db, clock)
    db.execute("UPDATE Equipos SET Activo_SAM = 0, PermiteBalanceoDinamico = 0, EstadoBalanceador = 'RESERVADO' "
               "WHERE EquipoId = 81")
    db.execute("UPDATE Robots SET EsOnline = 1, Activo = 0, Parametros = '{\"a\": 1}', MinEquipos = 3, "
               "MaxEquipos = 5, PrioridadBalanceo = 7, TicketsPorEquipoAdicional = 4 WHERE RobotId = 5100")
    sim.update("devices", 81, hostName="VMRPA02-NUEVO", status="DISCONNECTED")
    sim.update("files", 5100, name="P0010_Renombrado", description="otra")
    assert _sync(sim, db, clock).ok
    e = _equipos(db)[81]
    assert (e["Equipo"], e["EstadoA360"]) == ("VMRPA02-NUEVO", "DISCONNECTED")
    assert (e["Activo_SAM"], e["PermiteBalanceoDinamico"], e["EstadoBalanceador"]) == (0, 0, "RESERVADO")
    r = _robots(db)[5100]
    assert (r["Robot"], r["Descripcion"]) == ("P0010_Renombrado", "otra")
    assert (r["EsOnline"], r["Activo"], r["Parametros"], r["MinEquipos"], r["MaxEquipos"]) == (1, 0, '{"a": 1}', 3, 5)
    assert (r["PrioridadBalanceo"], r["TicketsPorEquipoAdicional"]) == (7, 4)


def test_L1_2_L1_3_missing_rows_marked_never_deleted(sim, db, clock):
    _sync(sim, db, clock)
    sim.remove("devices", 84)
    sim.remove("files", 5101)
    assert _sync(sim, db, clock).ok
    eq, rob = _equipos(db), _robots(db)
    assert eq[84]["EstadoA360"] == "NO_ENCONTRADO"
    assert eq[80]["EstadoA360"] == "CONNECTED"
    assert rob[5101]["ExisteEnA360"] == 0
    assert sum(r["ExisteEnA360"] for r in rob.values()) == len(rob) - 1
    # it comes back
    sim.add("files", {"id": 5101, "parentId": 5000, "name": "P0020_Vuelve", "path": "Automation Anywhere\\Bots\\X",
                      "type": "application/vnd.aa.taskbot", "description": None})
    assert _sync(sim, db, clock).ok
    assert _robots(db)[5101]["ExisteEnA360"] == 1


def test_L1_2_user_disabled_later_marks_user_inactive(sim, db, clock):
    _sync(sim, db, clock)
    assert _equipos(db)[81]["UsuarioActivoA360"] == 1
    sim.update("users", 701, disabled=True)
    _sync(sim, db, clock)
    assert _equipos(db)[81]["UsuarioActivoA360"] == 0


def test_L1_1_failed_page_marks_nothing_missing_and_alerts(sim, db, clock):
    alerts = AlertasFalsas()
    _sync(sim, db, clock, alerts)
    before = _equipos(db)
    sim.remove("devices", 85)  # a complete sync would mark it NO_ENCONTRADO
    sim.remove("files", 5102)
    sim.configure(rules=[{"match": {"path": "/v2/devices/list", "nth": 2}, "status": 500,
                          "code": "INTERNAL", "message": "fallo simulado", "times": 1000}])
    res = _sync(sim, db, clock, alerts)
    assert "Equipos" in res.errores and "Robots" not in res.errores
    after = _equipos(db)
    assert after == before  # nothing written at all, nothing marked missing
    assert after[85]["EstadoA360"] == "CONNECTED"
    assert _robots(db)[5102]["ExisteEnA360"] == 0  # the other table synced independently
    assert alerts.claves() == [ALERTA_EQUIPOS]
    # users page failing aborts Equipos too
    sim.configure(rules=[{"match": {"path": "/v2/usermanagement/users/list", "nth": 2}, "status": 503,
                          "times": 1000}])
    res = _sync(sim, db, clock, alerts)
    assert "Equipos" in res.errores and _equipos(db)[85]["EstadoA360"] == "CONNECTED"
    # recovery announced once
    sim.configure(rules=[])
    res = _sync(sim, db, clock, alerts)
    assert res.ok
    assert _equipos(db)[85]["EstadoA360"] == "NO_ENCONTRADO"
    assert alerts.claves_recuperadas() == [ALERTA_EQUIPOS]


def test_L1_1_failed_taskbot_page_keeps_robots(sim, db, clock):
    alerts = AlertasFalsas()
    _sync(sim, db, clock, alerts)
    sim.remove("files", 5100)
    sim.configure(rules=[{"match": {"path": "/v2/repository/workspaces/public/files/list", "nth": 2},
                          "status": 502, "times": 1000}])
    res = _sync(sim, db, clock, alerts)
    assert "Robots" in res.errores
    assert _robots(db)[5100]["ExisteEnA360"] == 1
    assert alerts.claves() == [ALERTA_ROBOTS]


def test_L1_2_host_reregistered_moves_assignments(sim, db, clock):
    _sync(sim, db, clock)
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, Reservado, AsignadoPor) "
               "VALUES (5100, 80, 1, 1, 'Manual')")
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado, AsignadoPor) VALUES (5101, 80, 0, 'Balanceador')")
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor) VALUES (5102, 81, 'Manual')")
    sim.remove("devices", 80)
    sim.add("devices", {"id": 180, "hostName": "vmrpa01", "status": "CONNECTED", "type": "BOT_RUNNER",
                        "defaultUserIds": [701]})
    res = _sync(sim, db, clock)
    assert res.ok and res.equipos.asignaciones_movidas == 2
    eq = _equipos(db)
    assert eq[80]["EstadoA360"] == "NO_ENCONTRADO" and eq[180]["EstadoA360"] == "CONNECTED"
    rows = {(r["RobotId"], r["EquipoId"]): r for r in db.query("SELECT * FROM Asignaciones")}
    assert set(rows) == {(5100, 180), (5101, 180), (5102, 81)}
    assert (rows[(5100, 180)]["EsProgramado"], rows[(5100, 180)]["Reservado"]) == (1, 1)
    assert rows[(5101, 180)]["AsignadoPor"] == "Balanceador"
    # a further sync moves nothing more
    assert _sync(sim, db, clock).equipos.asignaciones_movidas == 0


def test_L1_4_constant_statements_per_table(db, clock):
    counts = []
    for n in (4, 60):
        st = generate_state(files=n, devices=n, users=3, seed=1)
        with ControlRoomSimulator(st, clock="manual") as s:
            res = _sync(s, db, clock, page_size=50)
        assert res.ok
        counts.append((res.equipos.sentencias, res.robots.sentencias))
    assert counts[0] == counts[1]
    assert counts[0][0] <= 6 and counts[0][1] <= 4


def _texto(nombre: str, dialecto: str) -> str:
    from common.database import sentencias

    s = sentencias.sentencia(nombre)
    return s.tsql if dialecto == sentencias.TSQL else s.sqlite


def test_L1_4_tsql_statements_are_single_merge_per_table():
    equipos = _texto("inventario.sincronizar_equipos", "tsql")
    robots = _texto("inventario.sincronizar_robots", "tsql")
    for merge in (equipos, robots):
        # pyodbc sends a JSON over 2,000 characters as ntext, which OPENJSON refuses: cast it.
        assert merge.count("MERGE") == 1 and "OPENJSON(CAST(? AS NVARCHAR(MAX)))" in merge
        assert "OPENJSON(?)" not in merge
    assert "NOT MATCHED BY SOURCE" in equipos
    # operator-owned columns never appear in the sync statements
    for sql in (equipos, robots, _texto("inventario.sincronizar_equipos", "sqlite"),
                _texto("inventario.sincronizar_robots", "sqlite")):
        for col in ("Activo_SAM", "PermiteBalanceoDinamico", "EstadoBalanceador", "Parametros", "EsOnline",
                    "MinEquipos", "MaxEquipos", "PrioridadBalanceo", "TicketsPorEquipoAdicional"):
            assert col not in sql


class _RecordingSqlServer:
    """Stands in for a SQL Server DatabaseClient: records the statements and parameters sent."""

    engine = "sqlserver"
    statement_count = 0

    def __init__(self):
        self.sent: list[tuple[str, tuple]] = []

    def run_in_transaction(self, fn):
        return fn(self)

    def execute(self, sql, params=()):
        self.sent.append((sql, tuple(params)))
        return 0

    def query_one(self, sql, params=()):
        self.sent.append((sql, tuple(params)))
        return {"Filas": 0}


def test_L1_2_sync_stamp_reaches_sqlserver_through_a_typed_datetime2_variable():
    """FechaSincronizacion is DATETIME2(3). pyodbc binds a datetime as the legacy ``datetime`` type
    (1/300 s ticks): compared with '=' to the stored DATETIME2(3) value it is false for ~70 % of
    stamps, and a re-registered host's assignments would silently not move. Every T-SQL statement
    of the sync therefore receives the stamp once, as its first parameter, into
    ``DECLARE @Sincronizacion DATETIME2(3)``, and compares only that variable."""
    now = datetime(2026, 3, 2, 10, 0, 0, 123456)
    fake = _RecordingSqlServer()
    inventario.sincronizar_equipos(fake, [], now)
    inventario.sincronizar_robots(fake, [], now)
    assert len(fake.sent) == 4  # two MERGEs, the two moves
    for sql, params in fake.sent:
        assert sql.startswith("DECLARE @Sincronizacion DATETIME2(3) = ?;")
        assert params[0] == datetime(2026, 3, 2, 10, 0, 0, 123000)
        assert [p for p in params if isinstance(p, datetime)] == [params[0]]
        assert "FechaSincronizacion = ?" not in sql and "FechaSincronizacion <> ?" not in sql
    moves = [sql for sql, _ in fake.sent if "Asignaciones" in sql]
    assert len(moves) == 2 and all(sql.rstrip().endswith("SELECT @@ROWCOUNT AS Filas;") for sql in moves)


def test_L1_2_host_reregistered_from_two_old_ids_moves_each_assignment_once(sim, db, clock):
    """A360 may list a host twice (old registration DISCONNECTED, new one CONNECTED) and later drop
    both for a third id. Both old ids holding the same robot must yield ONE assignment on the new
    id — not a duplicate primary key that aborts every later Equipos sync."""
    _sync(sim, db, clock)
    host = _equipos(db)[80]["Equipo"]
    sim.update("devices", 81, hostName=host.lower(), status="DISCONNECTED")
    _sync(sim, db, clock)
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor) VALUES (5100, 80, 'Manual')")
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor) VALUES (5100, 81, 'Manual')")
    db.execute("INSERT INTO Asignaciones (RobotId, EquipoId, AsignadoPor) VALUES (5101, 81, 'Manual')")
    sim.remove("devices", 80)
    sim.remove("devices", 81)
    sim.add("devices", {"id": 180, "hostName": host, "status": "CONNECTED", "type": "BOT_RUNNER",
                        "defaultUserIds": [701]})
    res = _sync(sim, db, clock)
    assert res.ok, res.errores
    assert res.equipos.asignaciones_movidas == 2
    pares = {(r["RobotId"], r["EquipoId"]) for r in db.query("SELECT RobotId, EquipoId FROM Asignaciones")}
    assert pares == {(5100, 180), (5101, 180)}
