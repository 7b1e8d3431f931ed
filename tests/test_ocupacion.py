"""One busy-equipo rule (common/database/ocupacion.py), rendered into every statement and view.

The launcher's selection, the balancer's busy read, the Conciliador's open executions and the
EjecucionesActivas view all carry the rendered predicate; no other SQL text holds a list of
execution states of its own."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from balanceador.database import repositorio
from common.database import ocupacion, sentencias
from common.database.schema import SQLITE_SCHEMA_FILE
from common.execution_states import (
    FAILURE_STATES,
    KNOWN_ACTIVE_STATES,
    SUCCESS_STATES,
    TERMINAL_SQL_LIST,
    TERMINAL_STATES,
    UNKNOWN,
    sql_list,
)
from common.paths import SAM_SQL

NOW = datetime(2026, 3, 2, 10, 0, 0)
ESTADOS_DE_EJECUCION = set(TERMINAL_STATES | KNOWN_ACTIVE_STATES | {UNKNOWN})


def _textos() -> dict[str, str]:
    out = {"SAM.sql": SAM_SQL.read_text(encoding="utf-8"),
           "sam_sqlite.sql": SQLITE_SCHEMA_FILE.read_text(encoding="utf-8")}
    for s in sentencias.cargar_todo():
        for dialecto, texto in ((sentencias.TSQL, s.tsql), (sentencias.SQLITE, s.sqlite)):
            if texto is not None and s.nombre != "esquema.script_sqlite":
                out[f"{s.nombre} ({dialecto})"] = texto
    return out


def _sin_reglas(texto: str) -> str:
    """The text with every rendering of the rule's fragments removed."""
    for alias in ("", "e.", "x."):
        texto = texto.replace(ocupacion.no_terminal(alias), "<no_terminal>")
    # the state sets of common.execution_states, rendered by its sql_list (one definition)
    for conjunto in (FAILURE_STATES, SUCCESS_STATES):
        texto = texto.replace(sql_list(conjunto), "<estados>")
    return texto


def test_no_sql_text_holds_its_own_list_of_states():
    for origen, texto in _textos().items():
        resto = _sin_reglas(texto)
        assert TERMINAL_SQL_LIST not in resto, origen
        # no hand-written list of execution states either (a partial or re-ordered copy); other
        # tables' own Estado vocabularies (SolicitudesServicio: pendiente, atendida…) are not states
        listas = re.findall(r"Estado\s+(?:NOT\s+)?IN\s*\(([^)]*)\)", resto, re.IGNORECASE)
        propias = [x for x in listas if set(re.findall(r"N?'([A-Z_]+)'", x)) & ESTADOS_DE_EJECUCION]
        assert propias == [], origen


def test_the_busy_rule_is_the_one_rendered_everywhere_it_is_needed():
    proc = SAM_SQL.read_text(encoding="utf-8")
    assert ocupacion.ocupa_equipo("e.", "@LimiteUnknown", sentencias.TSQL) in proc
    assert ocupacion.abierta("x.") in proc  # EjecucionesActivas
    assert ocupacion.abierta("x.") in SQLITE_SCHEMA_FILE.read_text(encoding="utf-8")
    for dialecto in (sentencias.TSQL, sentencias.SQLITE):
        ocupados = sentencias.sentencia("balanceador.equipos_ocupados")
        texto = ocupados.tsql if dialecto == sentencias.TSQL else ocupados.sqlite
        assert ocupacion.ocupa_equipo("e.", "?", dialecto) in texto
        activas = sentencias.sentencia("ejecuciones.ejecuciones_activas")
        assert ocupacion.abierta() in (activas.tsql if dialecto == sentencias.TSQL else activas.sqlite)


def _ejecucion(db, equipo_id, estado, *, fin=None, actualizada=None):
    db.execute(
        "INSERT INTO Ejecuciones (RobotId, EquipoId, Estado, FechaInicio, FechaFin, FechaActualizacion) "
        "VALUES (1, ?, ?, ?, ?, ?)",
        (equipo_id, estado, NOW - timedelta(hours=5), fin, actualizada),
    )


def test_balancer_uses_the_launchers_rule_for_unknown_past_its_tolerance(db):
    """L5.4 + B6: an UNKNOWN row older than CONCILIADOR_TOLERANCIA_UNKNOWN_MIN no longer keeps its
    equipo busy for the launcher; the balancer must not treat that equipo as busy either."""
    _ejecucion(db, 10, "RUNNING")
    _ejecucion(db, 11, "UNKNOWN", actualizada=NOW - timedelta(minutes=30))
    _ejecucion(db, 12, "UNKNOWN", actualizada=NOW - timedelta(minutes=200))
    _ejecucion(db, 13, "RUN_COMPLETED", fin=NOW - timedelta(minutes=1))
    _ejecucion(db, 14, "RUNNING", fin=NOW - timedelta(minutes=1))  # closed by FechaFin
    limite = NOW - timedelta(minutes=120)
    assert repositorio.leer_ocupados(db, limite) == {10, 11}
    # the launcher's selection, same data: 12 is free, 10 and 11 are not
    from lanzador.database import seleccion

    for eid in (10, 11, 12):
        db.execute("INSERT OR IGNORE INTO Equipos (EquipoId, Equipo, UserId, EstadoA360) VALUES (?, ?, 7, 'CONNECTED')",
                   (eid, f"VM{eid}"))
        db.execute("INSERT OR IGNORE INTO Robots (RobotId, Robot, EsOnline) VALUES (1, 'R', 1)")
        db.execute("INSERT INTO Asignaciones (RobotId, EquipoId) VALUES (1, ?)", (eid,))
    libres = {f.equipo_id for f in seleccion.obtener_robots_ejecutables(db, NOW, tolerancia_unknown_min=120)}
    assert libres == {12}


def test_equipos_asignados_view_counts_only_exact_balancer_rows_on_both_engines():
    assert repositorio.es_del_balanceador("a.", sentencias.TSQL) in SAM_SQL.read_text(encoding="utf-8")
    assert repositorio.es_del_balanceador("a.", sentencias.SQLITE) in SQLITE_SCHEMA_FILE.read_text(encoding="utf-8")
