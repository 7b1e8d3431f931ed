"""``python -m demo``: the embedded demo of the whole suite (see demo/runner.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
