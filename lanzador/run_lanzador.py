"""Entry point of the Lanzador service: ``python lanzador/run_lanzador.py`` (from any directory).

Also ``python -m lanzador``. ``--help`` and ``--version`` print and exit before anything starts; an
unknown argument: exit code 2 (:mod:`common.cli`). Bad settings: one Spanish line per problem on
stderr, exit code 2. An unexpected error: one Spanish line on stderr, exit code 1.
SIGINT/SIGTERM/SIGBREAK: graceful shutdown, exit code 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # started as a script: make ``import common`` work from any cwd
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.paths import ensure_on_sys_path  # noqa: E402

ensure_on_sys_path()

from common.cli import ejecutar_servicio, parser_servicio  # noqa: E402

PROG = "python lanzador/run_lanzador.py"
DESCRIPCION = ("SAM Lanzador: sincroniza robots y equipos desde A360, lanza los robots programados y "
               "concilia sus ejecuciones.")


def main(argv: list[str] | None = None, *, prog: str = PROG) -> int:
    parser_servicio(prog, DESCRIPCION).parse_args(argv)  # --help/--version exit here
    from lanzador.service.main import main as lanzador_main

    return ejecutar_servicio("Lanzador", lanzador_main)


if __name__ == "__main__":
    sys.exit(main())
