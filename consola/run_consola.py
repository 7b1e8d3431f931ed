"""Entry point of the console service: ``python consola/run_consola.py`` (from any directory).

Also ``python -m consola``, which adds the ``usuarios`` commands (:mod:`consola.cli`).
``--help``/``--version`` print and exit before anything starts.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # started as a script: make ``import common`` work from any cwd
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.paths import ensure_on_sys_path  # noqa: E402

ensure_on_sys_path()

from consola.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(prog="python consola/run_consola.py"))
