"""System components some tests need (ODBC driver manager, sshd, MariaDB…).

On a developer's machine a missing component skips the test with a reason that names the Debian
package to install. ``.ci/run`` installs every component and sets ``PRUEBAS_EXIGIR_COMPONENTES=1``:
there a missing component fails the run instead, so CI can never pass with those tests skipped.
"""

from __future__ import annotations

import os

import pytest


def exigidos() -> bool:
    return os.environ.get("PRUEBAS_EXIGIR_COMPONENTES", "").strip() == "1"


def falta(razon: str, *, modulo: bool = False) -> None:
    """Skip (or, under ``PRUEBAS_EXIGIR_COMPONENTES=1``, fail) because a system component is missing."""
    if exigidos():
        pytest.fail(f"Falta un componente del sistema que .ci/run debía instalar: {razon}", pytrace=False)
    pytest.skip(razon, allow_module_level=modulo)
