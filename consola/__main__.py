"""``python -m consola``: the console service, or ``python -m consola usuarios ...``."""

from __future__ import annotations

import sys

from common.paths import ensure_on_sys_path

ensure_on_sys_path()

from consola.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(prog="python -m consola"))
