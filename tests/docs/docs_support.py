"""Helpers of the docs tests (a unique module name: test dirs have no __init__.py)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(path: Path, lang: str) -> list[str]:
    """The fenced code blocks of a Markdown file tagged ``lang``, in order."""
    return [m.group(2) for m in _FENCE.finditer(path.read_text()) if m.group(1) == lang]
