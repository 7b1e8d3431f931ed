"""Entry point of the Balanceador service: ``python balanceador/run_balanceador.py`` (from any directory).

Also ``python -m balanceador``. ``--simular`` prints the next plan and changes nothing.
``--help`` and ``--version`` print and exit before anything starts; an unknown argument: exit code 2
(:mod:`common.cli`). Bad settings: one Spanish line per problem on stderr, exit code 2. An unexpected
error: one Spanish line on stderr, exit code 1.
SIGINT/SIGTERM/SIGBREAK: graceful shutdown, exit code 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # started as a script: make ``import common`` work from any cwd
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.paths import ensure_on_sys_path  # noqa: E402

ensure_on_sys_path()

from common.cli import ejecutar_servicio  # noqa: E402

PROG = "python balanceador/run_balanceador.py"


def main(argv: list[str] | None = None, *, prog: str = PROG) -> int:
    from balanceador.service.main import main as balanceador_main

    return ejecutar_servicio("Balanceador", lambda: balanceador_main(argv, prog=prog))


if __name__ == "__main__":
    sys.exit(main())
