"""``python -m comprobar``: check the configuration of every SAM service (exit 0/1/2)."""

from __future__ import annotations

import sys

from common.paths import ensure_on_sys_path

ensure_on_sys_path()

from comprobar import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
