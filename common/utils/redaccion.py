"""The one secret-redaction function of SAM (logs, e-mails, database and A360 error messages).

:func:`redactar` masks every configured secret (and its URL-encoded form) and every value that
looks like a credential whatever its origin: ``password=…``/``"apiKey": "…"`` pairs, Authorization
headers and Bearer tokens, ODBC ``PWD=``/``PASSWORD=`` values (braced values with ``}}`` escapes
too), credentials in URLs and JWT-like session tokens. Secrets shorter than
:data:`LONGITUD_MINIMA` are not searched as plain text (a one-letter password would mask that
letter everywhere); their ``PWD=`` form is still masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

MASCARA = "********"
LONGITUD_MINIMA = 3

_CLAVES = r"password|passwd|pwd|pass|contraseña|api_?key|apikey|token|access_?token|refresh_?token|secret|client_secret"
_PATRONES: tuple[tuple[re.Pattern[str], str], ...] = (
    # JSON / dict / repr style:  "password": "x"   'apiKey': 'x'   password='x'
    (re.compile(rf"""(?i)(["']?\b[\w-]*?(?:{_CLAVES})["']?\s*[:=]\s*)(["'])(.*?)(?<!\\)\2"""), rf"\1\2{MASCARA}\2"),
    # Authorization headers (any quoting), optionally "Bearer"
    (re.compile(r"""(?i)(\b(?:x-)?authorization["']?\s*[:=]\s*["']?)(?:bearer\s+)?[^\s"',;}]+"""), rf"\1{MASCARA}"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), f"Bearer {MASCARA}"),
    # ODBC connection strings: PWD=x;  PWD={x;y}};z};  Password=x
    (re.compile(r"(?i)\b(PWD|PASSWORD)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;\s]*)"), rf"\1={MASCARA}"),
    # key=value outside quotes:  token=abc  api_key=abc
    (re.compile(rf"(?i)\b([\w-]*?(?:{_CLAVES})=)(?![\"'{{])[^\s&;,]+"), rf"\1{MASCARA}"),
    # credentials in URLs: scheme://user:pass@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+@"), rf"\1{MASCARA}@"),
    # JWT-like tokens (header.payload[.signature]), e.g. A360 session tokens
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?"), MASCARA),
)


def redactar(texto: str, secretos: Iterable[str] = ()) -> str:
    """``texto`` with every secret value and credential-like value replaced by :data:`MASCARA`."""
    if not texto:
        return texto
    for secreto in sorted({s for s in secretos if s and len(s) >= LONGITUD_MINIMA}, key=len, reverse=True):
        texto = texto.replace(secreto, MASCARA)
        codificado = quote(secreto, safe="")
        if codificado != secreto:
            texto = texto.replace(codificado, MASCARA)
    for patron, reemplazo in _PATRONES:
        texto = patron.sub(reemplazo, texto)
    return texto
