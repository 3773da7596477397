"""Comparing output with a committed golden file, or rewriting it when UPDATE_GOLDEN=1."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"


def check_golden(name: str, actual: str, refresh: str) -> None:
    """Compare `actual` with golden/`name`; `refresh` is the command that rewrites it."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} is missing; create it with: {refresh}"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(expected.splitlines(), actual.splitlines(), name, "now",
                                    lineterm="", n=1)
        shown = "\n".join(line[:200] for line in list(diff)[:30])
        pytest.fail(f"{name} differs from the golden file; if intended, run: {refresh}\n{shown}")
