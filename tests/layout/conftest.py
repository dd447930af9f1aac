"""Fixtures of the shared-directory tests (issue 16): the CLI helpers of tests/engine."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "engine"))
