"""A create form sent twice applies once (CONSOLE §4): every create form carries a one-time
``id_formulario``; the change records it in its audit row (``Auditoria.IdFormulario``, unique), so
the same form posted again — a double click, a browser resubmit, two requests at the same instant —
answers "Ya aplicado" pointing at the first result and writes nothing. Different tokens create
twice, as before; no token (scripts) means no de-duplication."""

from __future__ import annotations

import re
import threading

import pytest

from common.database.sql_client import DatabaseError
from common.operaciones import auditoria, formularios
from common.operaciones import programaciones as ops
from common.operaciones.auditoria import Actor
from common.programacion import Programacion
from tests.consola_apoyo import app_de_prueba, cliente, enviar


@pytest.fixture
def entorno(tmp_path):
    app, db, clock = app_de_prueba(tmp_path)
    db.executemany("INSERT INTO Robots (RobotId, Robot) VALUES (?, ?)", [(1, "P1_Facturas"), (2, "P2_Pagos")])
    db.executemany("INSERT INTO Equipos (EquipoId, Equipo) VALUES (?, ?)", [(10, "VMRPA10"), (11, "VMRPA11")])
    yield app, db, clock
    db.close_all()




def token_de(c, pagina: str, form_id: str) -> str:
    """The ``id_formulario`` of the form ``form_id`` as the page renders it."""
    html = c.get(pagina).get_data(as_text=True)
    form = html[html.index(f'id="{form_id}"'):]
    form = form[: form.index("</form>")]
    m = re.search(r'name="id_formulario" value="([^"]+)"', form)
    assert m, f"el formulario {form_id} de {pagina} no lleva id_formulario"
    return m.group(1)


def especifica(**extra) -> dict:
    return {"RobotId": "1", "TipoProgramacion": "Especifica", "FechaEspecifica": "2026-03-20",
            "HoraInicio": "07:00", "EquipoId": "10", **extra}


def n(db, tabla: str) -> int:
    return db.query_one(f"SELECT COUNT(*) AS N FROM {tabla}")["N"]  # noqa: S608 - test constant


# --- schedules -------------------------------------------------------------------------------
def test_L7_4_a_schedule_form_posted_twice_creates_one_schedule_and_answers_ya_aplicado(entorno):
    app, db, _ = entorno
    c = cliente(app, "operador")
    tok = token_de(c, "/programaciones", "form-programacion")
    assert tok != token_de(c, "/programaciones", "form-programacion")  # a fresh token per rendering
    primero = enviar(c, "/programaciones", especifica(id_formulario=tok), headers={"Accept": "application/json"})
    assert primero.status_code == 200, primero.get_data(as_text=True)
    pid = primero.get_json()["ProgramacionId"]
    segundo = enviar(c, "/programaciones", especifica(id_formulario=tok), headers={"Accept": "application/json"})
    assert segundo.status_code == 200
    cuerpo = segundo.get_json()
    assert cuerpo["resultado"] == "ya_aplicado" and cuerpo["ProgramacionId"] == pid
    assert cuerpo["mensaje"].startswith("Ya aplicado") and f"Programaciones {pid}" in cuerpo["mensaje"]
    assert n(db, "Programaciones") == 1 and n(db, "Asignaciones") == 1
    filas = auditoria.de_entidad(db, "Programaciones")
    assert [f["Resultado"] for f in filas] == ["ok"]  # the resubmission wrote nothing, not even an audit row
    # A browser (HTML) resubmission: redirect with the "Ya aplicado" flash.
    r = enviar(c, "/programaciones", especifica(id_formulario=tok))
    assert r.status_code == 303
    with c.session_transaction() as s:
        assert any(m.startswith("Ya aplicado") for _, m in s.get("_flashes", []))
    assert n(db, "Programaciones") == 1


def test_L7_4_an_administrador_forced_create_sent_twice_applies_once(entorno):
    app, db, _ = entorno
    c = cliente(app, "administrador")
    assert enviar(c, "/programaciones", especifica()).status_code == 303
    tok = formularios.nuevo()
    forzada = especifica(RobotId="2", Forzar="1", id_formulario=tok)
    assert enviar(c, "/programaciones", forzada).status_code == 303
    assert enviar(c, "/programaciones", forzada).status_code == 303
    assert n(db, "Programaciones") == 2
    assert [f["Resultado"] for f in auditoria.de_entidad(db, "Programaciones")] == ["ok", "forzado"]


def test_L7_4_different_tokens_create_twice_and_no_token_is_not_deduplicated(entorno):
    app, db, _ = entorno
    c = cliente(app, "administrador")
    for datos in (especifica(id_formulario=formularios.nuevo()), especifica(id_formulario=formularios.nuevo()),
                  especifica(), especifica()):
        assert enviar(c, "/programaciones", {**datos, "Forzar": "1"}).status_code == 303
    assert n(db, "Programaciones") == 4  # overlapping, so forced: different submissions, different rows


def test_a_refused_create_does_not_consume_its_token(entorno):
    app, db, _ = entorno
    c = cliente(app, "operador")
    tok = formularios.nuevo()
    r = enviar(c, "/programaciones", especifica(RobotId="99", id_formulario=tok))
    assert r.status_code == 409 and "no existe" in r.get_data(as_text=True)
    assert enviar(c, "/programaciones", especifica(id_formulario=tok)).status_code == 303
    assert n(db, "Programaciones") == 1
    assert [f["Resultado"] for f in auditoria.de_entidad(db, "Programaciones")] == ["rechazado", "ok"]


def test_a_malformed_token_is_a_400_and_writes_nothing(entorno):
    app, db, _ = entorno
    c = cliente(app, "operador")
    r = enviar(c, "/programaciones", especifica(id_formulario="x'; DROP TABLE Auditoria --"))
    assert r.status_code == 400 and "id_formulario" in r.get_data(as_text=True)
    assert n(db, "Programaciones") == 0


def test_L7_4_two_threads_posting_the_same_schedule_form_at_once_create_one(entorno):
    app, db, _ = entorno
    tok = formularios.nuevo()
    clientes = [cliente(app, "administrador") for _ in range(4)]
    barrera = threading.Barrier(len(clientes))
    respuestas: list = []

    def enviar_a_la_vez(c) -> None:
        barrera.wait()
        respuestas.append(enviar(c, "/programaciones", especifica(Forzar="1", id_formulario=tok),
                                 headers={"Accept": "application/json"}))

    hilos = [threading.Thread(target=enviar_a_la_vez, args=(c,)) for c in clientes]
    for h in hilos:
        h.start()
    for h in hilos:
        h.join(120)
    assert [r.status_code for r in respuestas] == [200] * len(clientes)
    cuerpos = [r.get_json() for r in respuestas]
    assert sorted(c.get("resultado", "") for c in cuerpos) == ["", "ya_aplicado", "ya_aplicado", "ya_aplicado"]
    assert len({c["ProgramacionId"] for c in cuerpos}) == 1
    assert n(db, "Programaciones") == 1 and n(db, "Asignaciones") == 1


def test_the_unique_index_is_the_last_guard_when_two_transactions_miss_each_other(entorno, monkeypatch):
    """The race the read cannot close on its own (two SQL Server transactions both reading before
    either inserts): the winner's row exists, the loser's read missed it. The loser's INSERT breaks
    UX_Auditoria_IdFormulario, its transaction rolls back whole (no schedule, no assignment) and the
    answer is "Ya aplicado" pointing at the winner's schedule."""
    _, db, clock = entorno
    tok = formularios.nuevo()
    actor, ahora = Actor("admin", "administrador"), clock.now_local().replace(tzinfo=None)
    auditoria.registrar(db, actor, accion="crear", entidad="Programaciones", entidad_id=77, antes=None,
                        despues=None, resultado=auditoria.OK, ahora=ahora, id_formulario=tok)  # the winner
    lecturas: list[str] = []
    real = formularios.previo

    def primera_lectura_falla(tx, id_formulario):
        lecturas.append(id_formulario)
        return None if len(lecturas) == 1 else real(tx, id_formulario)

    monkeypatch.setattr(formularios, "previo", primera_lectura_falla)
    p = Programacion(RobotId=1, TipoProgramacion="Especifica", FechaEspecifica=ahora.date(),
                     HoraInicio=ahora.time().replace(microsecond=0))
    hecha = ops.crear(db, actor, p, [10], ahora=ahora, forzar=True, id_formulario=tok)
    assert isinstance(hecha, formularios.IdYaAplicado) and int(hecha) == 77 and hecha.previo.accion == "crear"
    assert len(lecturas) == 2  # the missed read, then the re-read after the violation
    assert n(db, "Programaciones") == 0 and n(db, "Asignaciones") == 0
    # Any other constraint error still surfaces (a duplicate key elsewhere is not "already applied").
    with pytest.raises(DatabaseError):
        db.run_in_transaction(lambda tx: formularios.aplicar_una_vez(tx, tok, lambda: tx.execute(
            "INSERT INTO Robots (RobotId, Robot) VALUES (1, 'otra vez')")))


def test_only_a_violation_of_the_form_index_counts_as_already_applied():
    ours_sqlite = DatabaseError("UNIQUE constraint failed: Auditoria.IdFormulario", integrity=True)
    ours_mssql = DatabaseError("Cannot insert duplicate key row in object 'dbo.Auditoria' with unique index "
                               "'UX_Auditoria_IdFormulario'. (2601)", integrity=True, native_code=2601)
    otro = DatabaseError("UNIQUE constraint failed: Pools.Nombre", integrity=True)
    sin_integridad = DatabaseError("UX_Auditoria_IdFormulario mentioned in a timeout", retryable=True)
    assert formularios.es_duplicado(ours_sqlite) and formularios.es_duplicado(ours_mssql)
    assert not formularios.es_duplicado(otro) and not formularios.es_duplicado(sin_integridad)
    assert not formularios.es_duplicado(ValueError("UX_Auditoria_IdFormulario"))


# --- the other create forms -------------------------------------------------------------------
def test_a_user_form_posted_twice_creates_one_user_and_answers_ya_aplicado_not_ya_existe(entorno):
    app, db, _ = entorno
    c = cliente(app, "administrador")
    tok = token_de(c, "/usuarios", "form-usuario")
    datos = {"accion": "crear", "Usuario": "nuevo.operador", "Rol": "operador", "Clave": "Una.Clave.Larga-2026",
             "id_formulario": tok}
    antes = n(db, "UsuariosConsola")
    assert enviar(c, "/usuarios", datos).status_code == 303
    r = enviar(c, "/usuarios", datos, headers={"Accept": "application/json"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["resultado"] == "ya_aplicado" and r.get_json()["mensaje"].startswith("Ya aplicado")
    assert n(db, "UsuariosConsola") == antes + 1
    filas = [f for f in auditoria.de_entidad(db, "UsuariosConsola") if f["EntidadId"] == "nuevo.operador"]
    assert [f["Resultado"] for f in filas] == ["ok"]
    # Without the token the second "crear" is what it was: refused, "ya existe" (audited).
    sin = {k: v for k, v in datos.items() if k != "id_formulario"}
    r = enviar(c, "/usuarios", sin)
    assert r.status_code == 409 and "Ya existe" in r.get_data(as_text=True)


@pytest.mark.parametrize("pagina, form_id, datos, tabla, clave", [
    ("/pools", "form-pool-crear", {"accion": "crear", "Nombre": "Finanzas"}, "Pools", "pool_id"),
    ("/mapeos", "form-mapeo-crear", {"accion": "crear", "Proveedor": "rpa360", "NombreExterno": "Facturas v2",
                                     "RobotId": "1"}, "MapeoRobots", "mapeo_id"),
])
def test_pool_and_mapping_forms_posted_twice_create_one_row(entorno, pagina, form_id, datos, tabla, clave):
    app, db, _ = entorno
    c = cliente(app, "administrador")
    tok = token_de(c, pagina, form_id)
    primero = enviar(c, pagina, {**datos, "id_formulario": tok}, headers={"Accept": "application/json"})
    segundo = enviar(c, pagina, {**datos, "id_formulario": tok}, headers={"Accept": "application/json"})
    assert primero.status_code == segundo.status_code == 200, segundo.get_data(as_text=True)
    r1, r2 = primero.get_json()["resultado"], segundo.get_json()["resultado"]
    assert r1["estado"] == "aplicado" and r2["estado"] == "ya_aplicado" and r2[clave] == r1[clave]
    assert "este formulario ya se envió" in r2["mensaje"]
    assert n(db, tabla) == 1


def test_a_reserve_form_posted_twice_applies_once(entorno):
    app, db, _ = entorno
    c = cliente(app, "operador")
    tok = token_de(c, "/robots/1", "form-reservar")
    datos = {"RobotId": "1", "accion": "reservar", "EquipoId": "10", "id_formulario": tok}
    primero = enviar(c, "/asignaciones", datos, headers={"Accept": "application/json"})
    segundo = enviar(c, "/asignaciones", datos, headers={"Accept": "application/json"})
    assert primero.get_json()["resultado"]["estado"] == "aplicado"
    assert segundo.get_json()["resultado"]["estado"] == "ya_aplicado"
    assert n(db, "Asignaciones") == 1
    assert [f["Resultado"] for f in auditoria.de_entidad(db, "Asignaciones")] == ["ok"]
