"""Callback service (BEHAVIOUR L4): the pure decision ``interpretar`` table-tested on its own (no DB,
no WSGI), plus the two helpers the shell uses to read a request."""

from __future__ import annotations

import io
import json

import pytest

import callback.app as cb
from callback.app import (
    AjustesCallback,
    CallbackAceptado,
    ConsultaSalud,
    Rechazo,
    cabeceras_wsgi,
    interpretar,
    leer_cuerpo,
)

TOKEN = "token-de-interpretar-0123456789"
AJUSTES = AjustesCallback(TOKEN, max_body_bytes=4096)
SIN_AUTH = AjustesCallback(None, auth_mode="none", max_body_bytes=4096)
AUTH = {"x-authorization": TOKEN}
OK = b'{"deploymentId": "dep-1", "status": "RUN_COMPLETED"}'


def _json(**fields) -> bytes:
    return json.dumps(fields).encode()


def _post(body=OK, cabeceras=AUTH, ajustes=AJUSTES, ruta="/api/callback"):
    return interpretar("POST", ruta, cabeceras, body, ajustes)


# ---------------------------------------------------------------------------------------- refusals

REFUSALS = [
    # (id, method, path, headers, body, settings, status, estado, fragment of mensaje)
    ("401 sin cabecera", "POST", "/api/callback", {}, OK, AJUSTES, 401, "no_autorizado", "Falta la cabecera"),
    ("401 Authorization en vez de X-Authorization", "POST", "/api/callback",
     {"authorization": "Bearer " + TOKEN}, OK, AJUSTES, 401, "no_autorizado", "Falta la cabecera"),
    ("401 token incorrecto", "POST", "/api/callback", {"x-authorization": "malo"}, OK, AJUSTES,
     401, "no_autorizado", "incorrecto"),
    ("401 token con sufijo", "POST", "/api/callback", {"x-authorization": TOKEN + "x"}, OK, AJUSTES,
     401, "no_autorizado", "incorrecto"),
    ("401 token vacío", "POST", "/api/callback", {"x-authorization": ""}, OK, AJUSTES,
     401, "no_autorizado", "incorrecto"),
    ("401 antes que el cuerpo", "POST", "/api/callback", {"x-authorization": "malo"}, b"no es json", AJUSTES,
     401, "no_autorizado", "incorrecto"),
    ("401 antes que el tamaño", "POST", "/api/callback", {"content-length": "999999"}, b"", AJUSTES,
     401, "no_autorizado", "Falta la cabecera"),
    ("400 no es JSON", "POST", "/api/callback", AUTH, b"no es json", AJUSTES, 400, "error", "JSON válido"),
    ("400 no es UTF-8", "POST", "/api/callback", AUTH, b"\xff\xfe\x00", AJUSTES, 400, "error", "JSON válido"),
    ("400 vacío", "POST", "/api/callback", AUTH, b"", AJUSTES, 400, "error", "JSON válido"),
    ("400 anidado sin fin", "POST", "/api/callback", AUTH, b"[" * 100000, AjustesCallback(TOKEN), 400, "error", "JSON válido"),
    ("400 lista", "POST", "/api/callback", AUTH, b"[" + OK + b"]", AJUSTES, 400, "error", "objeto JSON"),
    ("400 null", "POST", "/api/callback", AUTH, b"null", AJUSTES, 400, "error", "objeto JSON"),
    ("400 falta deploymentId", "POST", "/api/callback", AUTH, _json(status="RUN_COMPLETED"), AJUSTES,
     400, "error", "'deploymentId'"),
    ("400 deploymentId número", "POST", "/api/callback", AUTH, _json(deploymentId=12, status="RUN_COMPLETED"),
     AJUSTES, 400, "error", "'deploymentId'"),
    ("400 deploymentId en blanco", "POST", "/api/callback", AUTH, _json(deploymentId="  ", status="RUNNING"),
     AJUSTES, 400, "error", "'deploymentId'"),
    ("400 falta status", "POST", "/api/callback", AUTH, _json(deploymentId="dep-1"), AJUSTES,
     400, "error", "'status'"),
    ("400 status null", "POST", "/api/callback", AUTH, _json(deploymentId="dep-1", status=None), AJUSTES,
     400, "error", "'status'"),
    ("400 status en blanco", "POST", "/api/callback", AUTH, _json(deploymentId="dep-1", status="   "), AJUSTES,
     400, "error", "'status'"),
    ("400 surrogate suelto", "POST", "/api/callback", AUTH,
     b'{"deploymentId": "\\ud800", "status": "RUN_COMPLETED"}', AJUSTES, 400, "error", "caracteres no válidos"),
    ("400 deploymentId de 101", "POST", "/api/callback", AUTH, _json(deploymentId="d" * 101, status="RUNNING"),
     AJUSTES, 400, "error", "supera 100"),
    ("400 deploymentId de 60 emoji (120 UTF-16)", "POST", "/api/callback", AUTH,
     _json(deploymentId="\U0001F600" * 60, status="RUNNING"), AJUSTES, 400, "error", "supera 100"),
    ("400 status de 51", "POST", "/api/callback", AUTH, _json(deploymentId="dep-1", status="Y" * 51), AJUSTES,
     400, "error", "supera 50"),
    ("400 status de 30 emoji (60 UTF-16)", "POST", "/api/callback", AUTH,
     _json(deploymentId="dep-1", status="\U0001F600" * 30), AJUSTES, 400, "error", "supera 50"),
    ("400 Content-Length negativo", "POST", "/api/callback", {**AUTH, "content-length": "-5"}, b"{}", AJUSTES,
     400, "error", "Content-Length"),
    ("400 Content-Length no numérico", "POST", "/api/callback", {**AUTH, "content-length": "abc"}, b"{}",
     AJUSTES, 400, "error", "Content-Length"),
    ("413 por Content-Length", "POST", "/api/callback", {**AUTH, "content-length": "4097"}, b"", AJUSTES,
     413, "error", "4096 bytes"),
    ("413 por lo leído", "POST", "/api/callback", AUTH, b"x" * 4097, AJUSTES, 413, "error", "4096 bytes"),
    ("413 sin autenticación", "POST", "/api/callback", {}, b"x" * 4097, SIN_AUTH, 413, "error", "4096 bytes"),
    ("404 otra ruta", "POST", "/otra", AUTH, OK, AJUSTES, 404, "error", "Ruta no encontrada"),
    ("404 raíz", "GET", "/", {}, b"", AJUSTES, 404, "error", "Ruta no encontrada"),
    ("404 antes que la autenticación", "POST", "/api", {}, OK, AJUSTES, 404, "error", "Ruta no encontrada"),
    ("405 GET al callback", "GET", "/api/callback", AUTH, b"", AJUSTES, 405, "error", "use POST"),
    ("405 PUT al callback", "PUT", "/api/callback", AUTH, OK, AJUSTES, 405, "error", "use POST"),
    ("405 HEAD al callback", "HEAD", "/api/callback", AUTH, b"", AJUSTES, 405, "error", "use POST"),
    ("405 POST a /health", "POST", "/health", {}, b"", AJUSTES, 405, "error", "use GET"),
]


@pytest.mark.parametrize(("metodo", "ruta", "cabeceras", "cuerpo", "ajustes", "status", "estado", "texto"),
                         [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_L4_refusals(metodo, ruta, cabeceras, cuerpo, ajustes, status, estado, texto):
    decision = interpretar(metodo, ruta, cabeceras, cuerpo, ajustes)
    assert isinstance(decision, Rechazo)
    assert (decision.status, decision.estado) == (status, estado)
    assert texto in decision.mensaje
    assert decision.cuerpo == {"estado": estado, "mensaje": decision.mensaje}


def test_L4_405_names_the_allowed_methods():
    assert interpretar("GET", "/api/callback", AUTH, b"", AJUSTES).headers == (("Allow", "POST"),)
    assert interpretar("DELETE", "/health", {}, b"", AJUSTES).headers == (("Allow", "GET, HEAD"),)


def test_L4_2_401_carries_a_log_warning_without_the_token():
    missing = _post(cabeceras={})
    wrong = _post(cabeceras={"x-authorization": TOKEN[:-1]})
    assert missing.aviso == "Callback rechazado: falta la cabecera X-Authorization"
    assert wrong.aviso == "Callback rechazado: token X-Authorization incorrecto"
    assert TOKEN[:-1] not in wrong.aviso and TOKEN not in repr(AJUSTES)
    assert _post(body=b"nope").aviso is None


def test_L4_2_token_compared_in_constant_time(monkeypatch):
    seen = []
    real = cb.hmac.compare_digest

    def spy(a, b):
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(cb.hmac, "compare_digest", spy)
    assert isinstance(_post(cabeceras={"x-authorization": "malo"}), Rechazo)
    assert isinstance(_post(), CallbackAceptado)
    assert seen == [(b"malo", TOKEN.encode()), (TOKEN.encode(), TOKEN.encode())]


def test_L4_2_token_is_compared_as_raw_bytes_and_stripped():
    latin1 = AjustesCallback("contraseña-ñ")  # WSGI passes header bytes decoded as latin-1
    assert isinstance(_post(cabeceras={"x-authorization": "contraseña-ñ".encode().decode("latin-1")},
                            ajustes=latin1), CallbackAceptado)
    assert isinstance(_post(cabeceras={"x-authorization": f"  {TOKEN} "}), CallbackAceptado)
    assert isinstance(_post(cabeceras={"x-authorization": "\u20ac" + TOKEN}), Rechazo)  # not latin-1


def test_L4_2_auth_mode_none_needs_no_header():
    assert _post(cabeceras={}, ajustes=SIN_AUTH) == CallbackAceptado("dep-1", "RUN_COMPLETED", OK.decode())
    assert _post(cabeceras={"x-authorization": "cualquiera"}, ajustes=SIN_AUTH).estado == "RUN_COMPLETED"


# ---------------------------------------------------------------------------------------- accepted / health


def test_L4_accepted_callback_carries_the_raw_payload_and_the_normalised_status():
    raw = '{"deploymentId": "\'; DROP TABLE Ejecuciones; --", "status": " run_failed ", "botOutput": {"x": "ñ"}}'
    decision = _post(body=raw.encode())
    assert decision == CallbackAceptado("'; DROP TABLE Ejecuciones; --", "RUN_FAILED", raw)


@pytest.mark.parametrize(
    ("ruta", "body", "cabeceras", "estado"),
    [
        ("/api/callback/", OK, AUTH, "RUN_COMPLETED"),
        ("/api/callback", _json(deploymentId="dep-1", status="botstore_raro", userId=7), AUTH, "BOTSTORE_RARO"),
        ("/api/callback", _json(deploymentId="dep-1", status="X" * 50), AUTH, "X" * 50),
        ("/api/callback", _json(deploymentId="d" * 100, status="\U0001F600" * 25), AUTH, "\U0001F600" * 25),
        ("/api/callback", OK, {**AUTH, "content-length": str(len(OK))}, "RUN_COMPLETED"),
        ("/api/callback", OK + b" " * (4096 - len(OK)), AUTH, "RUN_COMPLETED"),  # exactly the limit
    ],
)
def test_L4_accepted_cases(ruta, body, cabeceras, estado):
    decision = _post(body=body, cabeceras=cabeceras, ruta=ruta)
    assert isinstance(decision, CallbackAceptado) and decision.estado == estado
    assert decision.payload == body.decode()


def test_L4_custom_endpoint_path():
    ajustes = AjustesCallback(TOKEN, endpoint_path="/sam/cb/")
    assert isinstance(_post(ajustes=ajustes, ruta="/sam/cb"), CallbackAceptado)
    assert _post(ajustes=ajustes, ruta="/api/callback").status == 404


@pytest.mark.parametrize("metodo", ["GET", "HEAD", "get"])
def test_L4_4_health_is_left_to_the_shell(metodo):
    assert interpretar(metodo, "/health/", {}, b"", AJUSTES) == ConsultaSalud()


# ---------------------------------------------------------------------------------------- settings


def test_L4_2_settings_validation():
    with pytest.raises(ValueError):
        AjustesCallback("", auth_mode="required")
    with pytest.raises(ValueError):
        AjustesCallback(TOKEN, auth_mode="opcional")
    ajustes = AjustesCallback(TOKEN, auth_mode=" NONE ", endpoint_path="/", max_body_bytes="10")
    assert (ajustes.auth_mode, ajustes.endpoint_path, ajustes.max_body_bytes) == ("none", "/", 10)


# ---------------------------------------------------------------------------------------- shell helpers


def test_cabeceras_wsgi_lower_case_names_and_cgi_content_length_only():
    environ = {"HTTP_X_AUTHORIZATION": "t", "HTTP_USER_AGENT": "A360", "CONTENT_LENGTH": "12",
               "HTTP_CONTENT_LENGTH": "99", "REQUEST_METHOD": "POST", "wsgi.input": None}
    assert cabeceras_wsgi(environ) == {"x-authorization": "t", "user-agent": "A360", "content-length": "12"}


@pytest.mark.parametrize(
    ("content_length", "esperado"),
    [(None, 11), ("", 11), ("4", 4), ("10", 10), ("11", 0), ("-5", 0), ("abc", 0), ("\u00b2", 0)],
)
def test_leer_cuerpo_reads_what_is_announced_up_to_the_limit_plus_one(content_length, esperado):
    environ = {"wsgi.input": io.BytesIO(b"a" * 50)}
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    assert len(leer_cuerpo(environ, 10)) == esperado
    assert leer_cuerpo({}, 10) == b""
