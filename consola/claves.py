"""Console passwords (CONSOLE §2): scrypt (memory-hard, stdlib) with a per-user salt.

A stored hash is self-describing, ``scrypt$<n>$<r>$<p>$<salt b64>$<key b64>``: verifying reads the
parameters from it, so raising :data:`PARAMETROS` later never locks out existing users. The compare
is constant-time (:func:`hmac.compare_digest`). A malformed stored hash never verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

#: n (CPU/memory cost), r (block size), p (parallelism): OWASP's "N=2^14, r=8, p=5" profile,
#: 16 MiB of memory per hash.
PARAMETROS = (2**14, 8, 5)
LARGO_SAL = 16
LARGO_CLAVE = 32
#: Limits of an acceptable password (characters).
MIN_LARGO, MAX_LARGO = 10, 256
PREFIJO = "scrypt"


def _derivar(clave: str, sal: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(clave.encode("utf-8"), salt=sal, n=n, r=r, p=p, dklen=LARGO_CLAVE,
                          maxmem=256 * r * n + 1024 * 1024)


def _b64(datos: bytes) -> str:
    return base64.b64encode(datos).decode("ascii")


def hashear(clave: str, parametros: tuple[int, int, int] = PARAMETROS) -> str:
    """The stored form of ``clave`` with a fresh random salt."""
    n, r, p = parametros
    sal = secrets.token_bytes(LARGO_SAL)
    return "$".join((PREFIJO, str(n), str(r), str(p), _b64(sal), _b64(_derivar(clave, sal, n, r, p))))


def verificar(clave: str, almacenado: str | None) -> bool:
    """True when ``clave`` matches ``almacenado`` (a hash from :func:`hashear`)."""
    try:
        prefijo, n, r, p, sal, esperado = str(almacenado or "").split("$")
        if prefijo != PREFIJO:
            return False
        n_, r_, p_ = int(n), int(r), int(p)
        if not (2 <= n_ <= 2**20 and 1 <= r_ <= 32 and 1 <= p_ <= 16):
            return False
        obtenido = _derivar(clave, base64.b64decode(sal, validate=True), n_, r_, p_)
        return hmac.compare_digest(obtenido, base64.b64decode(esperado, validate=True))
    except (ValueError, TypeError):
        return False


#: Verified against when the user does not exist, so both answers take the same time.
_HASH_SEÑUELO = hashear(secrets.token_urlsafe(16))


def verificar_señuelo(clave: str) -> bool:
    """Spend the time of one verification and fail (unknown user; the page must not tell)."""
    verificar(clave, _HASH_SEÑUELO)
    return False


def problema_clave(clave: str) -> str | None:
    """Why ``clave`` is not acceptable (Spanish), or None."""
    if len(clave) < MIN_LARGO:
        return f"la clave debe tener al menos {MIN_LARGO} caracteres"
    if len(clave) > MAX_LARGO:
        return f"la clave admite como máximo {MAX_LARGO} caracteres"
    if clave != clave.strip():
        return "la clave no puede empezar ni terminar con espacios"
    return None
