"""``python -m balanceador``: the Balanceador service (same as ``python balanceador/run_balanceador.py``)."""

from __future__ import annotations

import sys

from common.paths import ensure_on_sys_path

ensure_on_sys_path()

from balanceador.run_balanceador import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(prog="python -m balanceador"))
