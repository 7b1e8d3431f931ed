"""``python -m callback``: the callback service (same as ``python callback/run_callback.py``)."""

from __future__ import annotations

import sys

from common.paths import ensure_on_sys_path

ensure_on_sys_path()

from callback.run_callback import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(prog="python -m callback"))
