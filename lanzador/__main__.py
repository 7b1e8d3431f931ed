"""``python -m lanzador``: the Lanzador service (same as ``python lanzador/run_lanzador.py``)."""

from __future__ import annotations

import sys

from common.paths import ensure_on_sys_path

ensure_on_sys_path()

from lanzador.run_lanzador import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(prog="python -m lanzador"))
