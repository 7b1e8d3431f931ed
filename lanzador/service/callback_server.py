"""Deprecated entry point of the callback service; kept for one release.

The service now lives in :mod:`callback` (``python callback/run_callback.py``, also
``python -m callback``). Installed NSSM services still run ``lanzador\\service\\callback_server.py``:
running this file (as a script from any directory, or ``python -m lanzador.service.callback_server``)
starts the same service and writes one deprecation WARNING to its log.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # started as a script: make ``import callback`` work from any cwd
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

AVISO_OBSOLETO = (
    "Punto de entrada obsoleto: lanzador/service/callback_server.py dejará de existir en la próxima "
    "versión; el servicio SAM-Callback debe ejecutar callback/run_callback.py (vuelva a ejecutar "
    "scripts/install_services.ps1)."
)


def main(argv: list[str] | None = None) -> int:
    from callback.run_callback import main as run_callback

    prog = ("python -m lanzador.service.callback_server" if __package__
            else "python lanzador/service/callback_server.py")
    return run_callback(argv, aviso_obsoleto=AVISO_OBSOLETO, prog=prog)


if __name__ == "__main__":
    sys.exit(main())
