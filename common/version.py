"""The version of SAM: the one source of truth (``pyproject.toml`` and ``CHANGELOG.md`` repeat it;
``tests/test_entry_points.py`` fails when they differ)."""

from __future__ import annotations

__version__ = "0.3.0"
