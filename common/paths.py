"""Filesystem anchors resolved from this file, never from the caller's working directory."""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_ROOT: Path = Path(__file__).resolve().parent.parent
SAM_SQL: Path = PROJECT_ROOT / "SAM.sql"


def ensure_on_sys_path() -> None:
    """Make ``import common`` work when a service is started as a script from any directory."""
    root = str(PROJECT_ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)
