"""Entry point of the Lanzador service: ``python lanzador/run_lanzador.py`` (from any directory).

Also ``python -m lanzador``. Bad settings: one Spanish line per problem on stderr, exit code 2.
SIGINT/SIGTERM/SIGBREAK: graceful shutdown, exit code 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # started as a script: make ``import common`` work from any cwd
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.paths import ensure_on_sys_path  # noqa: E402

ensure_on_sys_path()


def main() -> int:
    from lanzador.service.main import main as lanzador_main

    return lanzador_main()


if __name__ == "__main__":
    sys.exit(main())
