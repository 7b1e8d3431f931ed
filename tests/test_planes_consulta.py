"""R1 (BEHAVIOUR §14): every hot per-cycle query reads only open executions through an index on open
rows, and seeks (never scans) a (robot, equipo) pair's history.

- SQLite: ``EXPLAIN QUERY PLAN`` of each hot query on a DB with history shows the partial indexes on
  open rows / the pair indexes, never a scan of ``Ejecuciones``; and the work SQLite does (virtual
  machine instructions, counted by a progress handler) does not grow when the history grows 5x.
- SQL Server (not runnable here): static checks of SAM.sql and of the T-SQL texts: the filtered
  indexes ``WHERE FechaFin IS NULL`` exist (with ``FechaFin`` included, so no key lookup re-checks the
  filter); every read of ``dbo.Ejecuciones`` in a hot statement either has ``FechaFin IS NULL`` as a
  plain conjunct of its WHERE (not under OR/NOT/a function) or seeks a pair's history with the
  indexed columns bare (no function around them).

Each check is also run on the form the code had before R1 and must reject it.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from balanceador.database import repositorio  # noqa: F401 - registers balanceador.*
from common.database import (
    ejecuciones,  # noqa: F401 - registers ejecuciones.*
    sentencias,
)
from common.database.ocupacion import ocupa_equipo
from common.database.schema import ensure_schema
from common.database.sql_client import DatabaseClient
from common.execution_states import DEPLOY_FAILED, TERMINAL_SQL_LIST
from common.paths import SAM_SQL
from lanzador.database import seleccion

AHORA = datetime(2026, 3, 9, 10, 30, 0)
ROBOTS, EQUIPOS = 12, 40

#: Indexes whose WHERE is ``FechaFin IS NULL`` (both engines).
ABIERTAS = ("IX_Ejecuciones_Abiertas", "IX_Ejecuciones_Abiertas_Inicio", "IX_Ejecuciones_Abiertas_Estado")
#: Indexes that seek a pair's history.
PAR = ("IX_Ejecuciones_Slot", "IX_Ejecuciones_Robot_Equipo_Fin")

#: The hot per-cycle statements of the registry (the selection is checked on its own below).
HOT = (
    "balanceador.equipos_ocupados",
    "ejecuciones.ejecuciones_activas",
    "ejecuciones.lanzando_antiguas",
    "ejecuciones.callbacks_pendientes_con_ejecucion",
    "ejecuciones.cerrar_unknown",
)

# --- the forms before R1 (each check below must reject them) ------------------------------------------
_NO_TERMINAL = f"Estado NOT IN ({TERMINAL_SQL_LIST})"
ANTES_SQLITE = {
    "fallo reciente": (
        "SELECT 1 FROM Ejecuciones AS e WHERE e.RobotId = ? AND e.EquipoId = ? "
        f"AND e.Estado = '{DEPLOY_FAILED}' "
        "AND datetime(COALESCE(e.FechaFin, e.FechaActualizacion, e.FechaInicio)) > ?"
    ),
    "lanzando sin FechaFin": (
        "SELECT EjecucionId FROM Ejecuciones WHERE Estado = 'LANZANDO' AND DeploymentId IS NULL "
        "AND FechaInicio <= ? ORDER BY FechaInicio, EjecucionId"
    ),
    "callbacks desde no terminales": (
        "SELECT c.CallbackId FROM Ejecuciones e CROSS JOIN CallbacksRecibidos c "
        "WHERE c.DeploymentId = e.DeploymentId AND c.Aplicado = 0 AND e.DeploymentId IS NOT NULL "
        f"AND e.{_NO_TERMINAL} ORDER BY c.CallbackId"
    ),
    "ocupados sin FechaFin": f"SELECT DISTINCT e.EquipoId FROM Ejecuciones e WHERE e.{_NO_TERMINAL}",
}
ANTES_TSQL = {
    "fallo reciente": (
        "SELECT 1 FROM dbo.Ejecuciones AS e WHERE e.RobotId = s.RobotId AND e.EquipoId = s.EquipoId "
        f"AND e.Estado = N'{DEPLOY_FAILED}' "
        "AND COALESCE(e.FechaFin, e.FechaActualizacion, e.FechaInicio) >= @DesdeFallo"
    ),
    "más tiempo ocioso": (
        "SELECT CONVERT(DATETIME2(0), CONVERT(CHAR(19), MAX(COALESCE(e.FechaFin, e.FechaInicio)), 120), 120) "
        "FROM dbo.Ejecuciones AS e WHERE e.RobotId = a.RobotId AND e.EquipoId = a.EquipoId"
    ),
    "ocupados sin FechaFin": f"SELECT DISTINCT e.EquipoId FROM dbo.Ejecuciones e WHERE e.{_NO_TERMINAL}",
    "FechaFin bajo OR": (
        "SELECT 1 FROM dbo.Ejecuciones AS e WHERE e.EquipoId = eq.EquipoId "
        f"AND (e.FechaFin IS NULL OR e.Estado = N'{DEPLOY_FAILED}')"
    ),
    "callbacks desde no terminales": (
        "SELECT c.CallbackId FROM dbo.Ejecuciones e CROSS JOIN dbo.CallbacksRecibidos c "
        "WHERE c.DeploymentId = e.DeploymentId AND c.Aplicado = 0 AND e.DeploymentId IS NOT NULL "
        f"AND e.{_NO_TERMINAL} ORDER BY c.CallbackId"
    ),
}


# --- SQLite: a DB with history ---------------------------------------------------------------------------


def _texto(d: datetime) -> str:
    return d.strftime("%Y-%m-%d %H:%M:%S.%f")


def _crear(ruta: Path) -> None:
    db = DatabaseClient(engine="sqlite", sqlite_path=ruta)
    ensure_schema(db)
    db.close_all()
    con = sqlite3.connect(ruta)
    con.executemany("INSERT INTO Robots (RobotId, Robot, EsOnline) VALUES (?, ?, ?)",
                    [(r, f"R{r}", r % 2) for r in range(1, ROBOTS + 1)])
    con.executemany("INSERT INTO Equipos (EquipoId, Equipo, UserId, Licencia, EstadoA360) "
                    "VALUES (?, ?, ?, 'ATTENDEDRUNTIME', 'CONNECTED')",
                    [(e, f"VM{e}", 100 + e) for e in range(1, EQUIPOS + 1)])
    con.executemany("INSERT INTO Programaciones (RobotId, TipoProgramacion, HoraInicio) VALUES (?, 'Diaria', ?)",
                    [(r, f"{h:02d}:15:00") for r in range(2, ROBOTS + 1, 2) for h in range(0, 24, 3)])
    con.executemany("INSERT INTO Asignaciones (RobotId, EquipoId, EsProgramado) VALUES (?, ?, ?)",
                    [((e % ROBOTS) + 1, e, 1 - ((e % ROBOTS) + 1) % 2) for e in range(1, EQUIPOS + 1)])
    con.executemany(
        "INSERT INTO Ejecuciones (DeploymentId, RobotId, EquipoId, FechaInicio, Estado, FechaActualizacion) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(f"abierta-{e}", (e % ROBOTS) + 1, e, _texto(AHORA - timedelta(minutes=e)),
          ("RUNNING", "UNKNOWN", "DEPLOYED")[e % 3], _texto(AHORA - timedelta(minutes=e)))
         for e in range(1, EQUIPOS + 1, 4)])
    con.commit()
    con.close()


def _historia(ruta: Path, desde: int, hasta: int) -> None:
    """Finished rows ``desde``..``hasta``-1 over the last 7 days, round-robin over the pairs."""
    filas, callbacks = [], []
    for n in range(desde, hasta):
        e = (n % EQUIPOS) + 1
        inicio = AHORA - timedelta(minutes=10 + (n * 37) % (7 * 1440))
        estado = DEPLOY_FAILED if n % 25 == 0 else "RUN_COMPLETED"
        dep = None if estado == DEPLOY_FAILED else f"dep-{n}"
        filas.append((dep, (e % ROBOTS) + 1, e, inicio.date().isoformat(), inicio.strftime("%H:15:00"),
                      _texto(inicio), _texto(inicio + timedelta(minutes=5)), estado))
        if dep is not None and n % 2:
            callbacks.append((dep, _texto(inicio + timedelta(minutes=5))))
    con = sqlite3.connect(ruta)
    con.executemany("INSERT INTO Ejecuciones (DeploymentId, RobotId, EquipoId, FechaSlot, Hora, FechaInicio, "
                    "FechaFin, Estado) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", filas)
    con.executemany("INSERT INTO CallbacksRecibidos (DeploymentId, FechaRecepcion, Estado, Aplicado) "
                    "VALUES (?, ?, 'RUN_COMPLETED', 1)", callbacks)
    con.commit()
    con.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    ruta = tmp_path_factory.mktemp("planes") / "sam.db"
    _crear(ruta)
    _historia(ruta, 0, 4000)
    return ruta


def _params(nombre: str) -> tuple:
    ahora = AHORA.strftime("%Y-%m-%d %H:%M:%S")
    if nombre == "seleccion.obtener_robots_ejecutables":
        return (ahora, ahora, ahora, 300, ahora, 120, 60)
    texto = sentencias.sentencia(nombre).sqlite
    return (_texto(AHORA - timedelta(minutes=30)),) * texto.count("?")


def _plan(con: sqlite3.Connection, texto: str, params: tuple) -> list[str]:
    return [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + texto, params)]


_LECTURA = re.compile(r"^(SCAN|SEARCH) (\w+)(?: USING (?:COVERING )?INDEX (\w+)(?: \((.*)\))?)?")


def lecturas_sin_indice_de_abiertas(plan: list[str], alias: tuple[str, ...]) -> list[str]:
    """The plan lines that read ``Ejecuciones`` (one of ``alias``) other than through an index on open
    rows, a full seek of a pair index, a ``DeploymentId =`` seek or the primary key."""
    malas = []
    for linea in plan:
        m = _LECTURA.match(linea)
        if not m or m.group(2) not in alias:
            continue
        accion, _, indice, claves = m.groups()
        claves = claves or ""
        if indice in ABIERTAS:
            continue
        if accion == "SEARCH" and "INTEGER PRIMARY KEY" in linea:
            continue
        if accion == "SEARCH" and indice == "UX_Ejecuciones_DeploymentId" and claves == "DeploymentId=?":
            continue
        if accion == "SEARCH" and indice == "IX_Ejecuciones_Slot" and claves.count("=?") == 4:
            continue
        # The pair's last FechaFin (a MAX: one step from the end of the (RobotId, EquipoId) range, proven
        # bounded by test_R1_sqlite_work_does_not_grow_with_history) or a FechaFin range.
        if accion == "SEARCH" and indice == "IX_Ejecuciones_Robot_Equipo_Fin" and "EquipoId=?" in claves:
            continue
        malas.append(linea)
    return malas


@pytest.mark.parametrize("nombre", HOT)
def test_R1_sqlite_hot_statement_reads_open_rows_through_their_index(base, nombre):
    con = sqlite3.connect(base)
    plan = _plan(con, sentencias.sentencia(nombre).sqlite, _params(nombre))
    assert lecturas_sin_indice_de_abiertas(plan, ("e", "Ejecuciones")) == [], plan
    assert any(i in linea for linea in plan for i in ABIERTAS), plan


def test_R1_sqlite_selection_uses_the_open_and_pair_indexes(base):
    con = sqlite3.connect(base)
    plan = _plan(con, seleccion.CONSULTA_SQLITE, _params("seleccion.obtener_robots_ejecutables"))
    assert lecturas_sin_indice_de_abiertas(plan, ("e",)) == [], plan
    texto = "\n".join(plan)
    # busy equipos: the open rows of the equipo
    assert "USING COVERING INDEX IX_Ejecuciones_Abiertas (EquipoId=?)" in texto
    # the slot already launched: the whole key
    assert "IX_Ejecuciones_Slot (RobotId=? AND EquipoId=? AND <expr>=? AND <expr>=?)" in texto
    # the recent DEPLOY_FAILED (twice: scheduled and online rows) and the L7.3 interval of a cyclic
    # schedule (the pair's runs that ended inside the interval): closed rows by their end time
    assert texto.count("IX_Ejecuciones_Robot_Equipo_Fin (RobotId=? AND EquipoId=? AND <expr>>?)") == 3
    assert texto.count("IX_Ejecuciones_Abiertas (EquipoId=? AND RobotId=? AND Estado=?)") == 2


@pytest.mark.parametrize("forma", sorted(ANTES_SQLITE))
def test_R1_sqlite_plan_check_rejects_the_forms_before_R1(base, forma):
    con = sqlite3.connect(base)
    texto = ANTES_SQLITE[forma]
    plan = _plan(con, texto, ("x",) * texto.count("?"))
    assert lecturas_sin_indice_de_abiertas(plan, ("e", "Ejecuciones")) != [], plan


def _instrucciones(ruta: Path, texto: str, params: tuple) -> int:
    """SQLite virtual-machine instructions to run ``texto`` (progress handler every 100)."""
    con = sqlite3.connect(ruta)
    cuenta = [0]

    def contar() -> int:
        cuenta[0] += 1
        return 0

    con.set_progress_handler(contar, 100)
    con.execute(texto, params).fetchall()
    con.rollback()
    con.close()
    return cuenta[0] * 100


def _selecciones_antes() -> dict[str, str]:
    """The selection with each pre-R1 pair read in place of its R1 form (SQLite twin)."""
    antes_fallo = (
        "EXISTS (\n        SELECT 1 FROM Ejecuciones AS e\n        WHERE e.RobotId = {r}.RobotId AND "
        "e.EquipoId = {r}.EquipoId\n          AND e.Estado = 'DEPLOY_FAILED'\n          AND "
        "datetime(COALESCE(e.FechaFin, e.FechaActualizacion, e.FechaInicio)) > prm.limite_fallo\n    )"
    )
    actual = seleccion.CONSULTA_SQLITE
    con_fallo = actual
    for r in ("s", "a"):
        con_fallo = con_fallo.replace(seleccion._FALLO_RECIENTE_SQLITE.format(r=r), antes_fallo.format(r=r))
    inicio = actual.index("COALESCE((\n               SELECT MAX(u.fecha)")
    fin = actual.index("), '') AS orden") + len("), '') AS orden")
    con_ocio = actual[:inicio] + (
        "COALESCE((\n               SELECT MAX(datetime(COALESCE(e.FechaFin, e.FechaInicio)))\n"
        "               FROM Ejecuciones AS e\n               WHERE e.RobotId = a.RobotId AND e.EquipoId = a.EquipoId\n"
        "           ), '') AS orden") + actual[fin:]
    assert con_fallo != actual and con_ocio != actual
    return {"fallo reciente": con_fallo, "más tiempo ocioso": con_ocio}


def test_R1_sqlite_work_does_not_grow_with_history(tmp_path):
    """5x the finished rows: each hot statement does (almost) the same work; the pre-R1 pair reads
    of the selection do not."""
    ruta = tmp_path / "sam.db"
    _crear(ruta)
    _historia(ruta, 0, 2000)
    textos = {n: (sentencias.sentencia(n).sqlite, _params(n)) for n in (*HOT, "seleccion.obtener_robots_ejecutables")}
    antes = {f"antes: {k}": (v, _params("seleccion.obtener_robots_ejecutables"))
             for k, v in _selecciones_antes().items()}
    pequeno = {k: _instrucciones(ruta, t, p) for k, (t, p) in {**textos, **antes}.items()}
    _historia(ruta, 2000, 10_000)
    grande = {k: _instrucciones(ruta, t, p) for k, (t, p) in {**textos, **antes}.items()}
    for k in textos:
        assert grande[k] <= pequeno[k] * 1.1 + 500, (k, pequeno[k], grande[k])
    for k in antes:
        assert grande[k] > pequeno[k] * 1.5, (k, pequeno[k], grande[k])


# --- SQL Server: static shapes ---------------------------------------------------------------------------

SAM_TEXT = SAM_SQL.read_text(encoding="utf-8")


def _indice(nombre: str) -> str:
    m = re.search(rf"CREATE NONCLUSTERED INDEX {nombre}\n(.*?);", SAM_TEXT, re.DOTALL)
    assert m, nombre
    return " ".join(m.group(1).split())


def test_R1_sam_sql_has_the_filtered_indexes_on_open_rows():
    assert _indice("IX_Ejecuciones_Abiertas").startswith("ON dbo.Ejecuciones (EquipoId, RobotId) INCLUDE (")
    assert _indice("IX_Ejecuciones_Abiertas_Inicio").startswith("ON dbo.Ejecuciones (FechaInicio, EjecucionId)")
    assert _indice("IX_Ejecuciones_Abiertas_Estado").startswith("ON dbo.Ejecuciones (Estado, FechaActualizacion)")
    for nombre in ABIERTAS:
        cuerpo = _indice(nombre)
        assert cuerpo.endswith("WHERE FechaFin IS NULL"), (nombre, cuerpo)
        include = re.search(r"INCLUDE \(([^)]*)\)", cuerpo).group(1)
        assert "FechaFin" in [c.strip() for c in include.split(",")], nombre  # no key lookup for the filter
    assert "DeploymentId" in _indice("IX_Ejecuciones_Abiertas") and "FechaActualizacion" in _indice(
        "IX_Ejecuciones_Abiertas")
    assert _indice("IX_Ejecuciones_Slot") == "ON dbo.Ejecuciones (RobotId, EquipoId, FechaSlot, Hora)"
    assert _indice("IX_Ejecuciones_Robot_Equipo_Fin") == "ON dbo.Ejecuciones (RobotId, EquipoId, FechaFin) INCLUDE (Estado)"
    # and the SQLite twin has the same names, partial on the same predicate
    sqlite_sql = (SAM_SQL.parent / "common" / "database" / "sam_sqlite.sql").read_text(encoding="utf-8")
    for nombre in ABIERTAS:
        m = re.search(rf"CREATE INDEX IF NOT EXISTS {nombre}\n(.*?);", sqlite_sql, re.DOTALL)
        assert m and " ".join(m.group(1).split()).endswith("WHERE FechaFin IS NULL"), nombre
    for nombre in PAR:
        assert f"CREATE INDEX IF NOT EXISTS {nombre}\n" in sqlite_sql


def _conjuntos(where: exp.Expression | None) -> list[exp.Expression]:
    if where is None:
        return []
    cond = where.this if isinstance(where, exp.Where) else where
    while isinstance(cond, exp.Paren):
        cond = cond.this
    if isinstance(cond, exp.And):
        return _conjuntos(cond.left) + _conjuntos(cond.right)
    return [cond]


def _es_fechafin_null(c: exp.Expression) -> bool:
    return (isinstance(c, exp.Is) and isinstance(c.this, exp.Column) and c.this.name == "FechaFin"
            and isinstance(c.expression, exp.Null))


def _lecturas(arbol: exp.Expression) -> list[exp.Expression]:
    """Each SELECT / UPDATE whose own FROM / target is dbo.Ejecuciones."""
    out = []
    for nodo in arbol.walk():
        if isinstance(nodo, exp.Select):
            desde = nodo.args.get("from") or nodo.args.get("from_")
            if desde is not None and isinstance(desde.this, exp.Table) and desde.this.name == "Ejecuciones":
                out.append(nodo)
        elif isinstance(nodo, exp.Update) and isinstance(nodo.this, exp.Table) and nodo.this.name == "Ejecuciones":
            out.append(nodo)
    return out


_COLUMNAS_DE_PAR = {"RobotId", "EquipoId", "FechaSlot", "Hora", "FechaFin"}


def problemas_tsql(texto: str) -> list[str]:
    """Why a T-SQL read of dbo.Ejecuciones would not seek: neither an open-rows read (``FechaFin IS
    NULL`` a plain conjunct) nor a pair seek (``RobotId =``, ``EquipoId =`` and the other indexed
    columns bare, in the WHERE and in the aggregate)."""
    arbol = sqlglot.parse_one(texto, read="tsql")
    lecturas = _lecturas(arbol)
    if not lecturas:
        return ["ninguna lectura de dbo.Ejecuciones"]
    out = []
    for lectura in lecturas:
        conj = _conjuntos(lectura.args.get("where"))
        if any(_es_fechafin_null(c) for c in conj):
            continue
        iguales = {c.this.name for c in conj if isinstance(c, exp.EQ) and isinstance(c.this, exp.Column)}
        if not {"RobotId", "EquipoId"} <= iguales:
            out.append(f"ni FechaFin IS NULL ni (RobotId, EquipoId): {lectura.sql(dialect='tsql')[:120]}")
            continue
        for c in conj:
            for f in c.find_all(exp.Func):
                if any(col.name in _COLUMNAS_DE_PAR for col in f.find_all(exp.Column)):
                    out.append(f"función sobre una columna del índice: {f.sql(dialect='tsql')}")
        if isinstance(lectura, exp.Select):
            for e in lectura.expressions:
                for f in e.find_all(exp.Func):
                    if isinstance(f, exp.Max) and isinstance(f.this, exp.Column):
                        continue
                    if any(col.name in _COLUMNAS_DE_PAR for col in f.find_all(exp.Column)):
                        out.append(f"el agregado no es MAX de la columna del índice: {e.sql(dialect='tsql')}")
    return out


def _subconsultas_del_procedimiento() -> list[str]:
    """Every parenthesised query of the procedure that reads dbo.Ejecuciones (outermost only)."""
    proc = seleccion.PROCEDIMIENTO_TSQL
    out, visto = [], -1
    for m in re.finditer(r"FROM dbo\.Ejecuciones\b", proc):
        if m.start() < visto:
            continue
        profundidad, i = 0, m.start()
        while i > 0:
            i -= 1
            if proc[i] == ")":
                profundidad += 1
            elif proc[i] == "(":
                if profundidad == 0:
                    break
                profundidad -= 1
        inicio, profundidad, j = i, 0, i
        while True:
            if proc[j] == "(":
                profundidad += 1
            elif proc[j] == ")":
                profundidad -= 1
                if profundidad == 0:
                    break
            j += 1
        out.append(proc[inicio + 1:j])
        visto = j
    return out


def test_R1_tsql_every_read_of_the_procedure_seeks():
    subconsultas = _subconsultas_del_procedimiento()
    # busy, slot, 2 x (recent failure: closed + open), the L7.3 interval of a cyclic schedule
    # (closed + open), idle longest (one union of two reads)
    assert len(subconsultas) == 9, subconsultas
    for texto in subconsultas:
        assert problemas_tsql(texto) == [], texto
    assert f"AND {ocupa_equipo('e.', '@LimiteUnknown', sentencias.TSQL)}" in seleccion.PROCEDIMIENTO_TSQL


@pytest.mark.parametrize("nombre", HOT)
def test_R1_tsql_hot_statement_reads_open_rows(nombre):
    texto = sentencias.sentencia(nombre).tsql
    assert problemas_tsql(texto) == [], texto
    # the open predicate is the one of ocupacion, with FechaFin IS NULL first
    assert re.search(r"WHERE (\w+\.)?FechaFin IS NULL AND ", texto), texto


@pytest.mark.parametrize("forma", sorted(ANTES_TSQL))
def test_R1_tsql_shape_check_rejects_the_forms_before_R1(forma):
    assert problemas_tsql(ANTES_TSQL[forma]) != []


# --- L5.7 late-deployment adoption: the given-up intents and the orphan callbacks ---------------------

#: Each per-round read of the late-deployment adoption, its table and the filtered index it must use,
#: with the index's filter (column, literal).
TARDIAS = {
    "ejecuciones.abandonadas_desde": ("Ejecuciones", "IX_Ejecuciones_FalloSinConfirmar", "FalloSinConfirmar", 1),
    "ejecuciones.callbacks_huerfanos": ("CallbacksRecibidos", "IX_CallbacksRecibidos_Pendientes", "Aplicado", 0),
}
#: The same reads with the filtered column compared to a parameter: no index can be proven to apply.
TARDIAS_PARAMETRIZADAS = {
    "ejecuciones.abandonadas_desde": ("FalloSinConfirmar = 1", "FalloSinConfirmar = ?"),
    "ejecuciones.callbacks_huerfanos": ("c.Aplicado = 0", "c.Aplicado = ?"),
}


@pytest.fixture(scope="module")
def base_tardias(tmp_path_factory) -> Path:
    """The history DB plus old and recent given-up intents, pending callbacks of known and unknown
    deployments, and many applied callbacks (the ever-growing part)."""
    ruta = tmp_path_factory.mktemp("tardias") / "sam.db"
    _crear(ruta)
    _historia(ruta, 0, 4000)
    con = sqlite3.connect(ruta)
    con.executemany(
        "INSERT INTO Ejecuciones (RobotId, EquipoId, FechaInicio, FechaFin, Estado, FalloSinConfirmar) "
        f"VALUES (?, ?, ?, ?, '{DEPLOY_FAILED}', 1)",
        [((n % ROBOTS) + 1, (n % EQUIPOS) + 1, _texto(AHORA - timedelta(minutes=m + 3)), _texto(AHORA - timedelta(minutes=m)))
         for n, m in enumerate([5, 20, 45, 600, 3000] * 40)])
    con.executemany("INSERT INTO CallbacksRecibidos (DeploymentId, FechaRecepcion, Estado, Aplicado) "
                    "VALUES (?, ?, 'RUN_COMPLETED', 0)",
                    [(f"tardio-{n}", _texto(AHORA - timedelta(minutes=n))) for n in range(5)]
                    + [("abierta-1", _texto(AHORA))])
    con.commit()
    con.close()
    return ruta


def lectura_por_indice(plan: list[str], tabla: str, alias: str, indice: str) -> bool:
    """True when every plan line reading ``tabla`` (or ``alias``) goes through ``indice``."""
    lecturas = [m for m in map(_LECTURA.match, plan) if m and m.group(2) in (tabla, alias)]
    return bool(lecturas) and all(m.group(3) == indice for m in lecturas)


@pytest.mark.parametrize("nombre", sorted(TARDIAS))
def test_L5_7_sqlite_late_adoption_reads_use_their_partial_index(base_tardias, nombre):
    tabla, indice, _, _ = TARDIAS[nombre]
    con = sqlite3.connect(base_tardias)
    texto = sentencias.sentencia(nombre).sqlite
    plan = _plan(con, texto, _params(nombre))
    assert lectura_por_indice(plan, tabla, "c", indice), plan


def test_L5_7_sqlite_late_adoption_reads_return_the_same_rows_through_the_index(base_tardias):
    """The partial indexes change the plan, not the answer: the rows are the ones a full scan finds."""
    db = DatabaseClient(engine="sqlite", sqlite_path=base_tardias)
    try:
        abandonadas = ejecuciones.given_up_since(db, AHORA - timedelta(minutes=30))
        assert len(abandonadas) == 80  # the 5 and 20 min old ones, 40 each
        assert all(f["Estado"] == DEPLOY_FAILED and f["DeploymentId"] is None for f in abandonadas)
        huerfanos = ejecuciones.orphan_callbacks(db)
        assert sorted(f["DeploymentId"] for f in huerfanos) == [f"tardio-{n}" for n in range(5)]
    finally:
        db.close_all()


@pytest.mark.parametrize("nombre", sorted(TARDIAS))
def test_L5_7_sqlite_plan_check_rejects_a_parameterized_filter(base_tardias, nombre):
    tabla, indice, _, _ = TARDIAS[nombre]
    literal, parametro = TARDIAS_PARAMETRIZADAS[nombre]
    texto = sentencias.sentencia(nombre).sqlite
    assert literal in texto
    texto = texto.replace(literal, parametro)
    con = sqlite3.connect(base_tardias)
    plan = _plan(con, texto, ("x",) * texto.count("?"))
    assert not lectura_por_indice(plan, tabla, "c", indice), plan


def _filtro_de_indice(sql_texto: str, patron: str, nombre: str) -> tuple[str, int]:
    m = re.search(patron.format(nombre=nombre), sql_texto, re.DOTALL)
    assert m, nombre
    f = re.fullmatch(r"(\w+) = (\d+)", " ".join(m.group(1).split()))
    assert f, (nombre, m.group(1))  # a single ``column = literal`` filter
    return f.group(1), int(f.group(2))


def filtro_implicado(texto_tsql: str, tabla: str, columna: str, valor: int) -> bool:
    """True when the read of ``dbo.<tabla>`` in ``texto_tsql`` has ``columna = valor`` (a literal, not
    a parameter) as a plain conjunct of its WHERE: the condition for SQL Server to use an index
    filtered ``WHERE columna = valor`` in a cached, parameterized plan."""
    for nodo in sqlglot.parse_one(texto_tsql, read="tsql").walk():
        if not isinstance(nodo, exp.Select):
            continue
        desde = nodo.args.get("from") or nodo.args.get("from_")
        if desde is None or not isinstance(desde.this, exp.Table) or desde.this.name != tabla:
            continue
        return any(isinstance(c, exp.EQ) and isinstance(c.this, exp.Column) and c.this.name == columna
                   and isinstance(c.expression, exp.Literal) and not c.expression.is_string
                   and int(c.expression.this) == valor for c in _conjuntos(nodo.args.get("where")))
    return False


@pytest.mark.parametrize("nombre", sorted(TARDIAS))
def test_L5_7_filtered_indexes_match_the_late_adoption_reads_on_both_engines(nombre):
    tabla, indice, columna, valor = TARDIAS[nombre]
    cuerpo = _indice(indice)
    assert cuerpo.startswith(f"ON dbo.{tabla} ("), cuerpo
    filtro = _filtro_de_indice(SAM_TEXT, r"CREATE NONCLUSTERED INDEX {nombre}\n[^;]*?\bWHERE ([^;]*);", indice)
    assert filtro == (columna, valor)
    include = re.search(r"INCLUDE \(([^)]*)\)", cuerpo).group(1)
    assert columna in [c.strip() for c in include.split(",")], cuerpo  # no key lookup for the filter
    assert f"WHERE name = N'{indice}' AND object_id = OBJECT_ID(N'dbo.{tabla}')" in SAM_TEXT  # idempotent
    sqlite_sql = (SAM_SQL.parent / "common" / "database" / "sam_sqlite.sql").read_text(encoding="utf-8")
    assert _filtro_de_indice(sqlite_sql, r"CREATE INDEX IF NOT EXISTS {nombre}\n[^;]*?\bWHERE ([^;]*);",
                             indice) == filtro
    assert filtro_implicado(sentencias.sentencia(nombre).tsql, tabla, columna, valor)


@pytest.mark.parametrize("nombre", sorted(TARDIAS))
def test_L5_7_filter_check_rejects_a_parameter_or_an_or(nombre):
    tabla, _, columna, valor = TARDIAS[nombre]
    literal, parametro = TARDIAS_PARAMETRIZADAS[nombre]
    texto = sentencias.sentencia(nombre).tsql
    assert not filtro_implicado(texto.replace(literal, parametro), tabla, columna, valor)
    assert not filtro_implicado(texto.replace(literal, f"({literal} OR {columna} IS NULL)"), tabla, columna, valor)
    assert not filtro_implicado(texto.replace(literal, literal.replace(f"= {valor}", f"= {1 - valor}")),
                                tabla, columna, valor)
