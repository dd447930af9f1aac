"""Flat or run-scoped event/step files: which one a run is written in, and converting.

``world-local`` used to keep every event file in ``events/`` (``<runId>-<eventId>.json``) and
every step file in ``steps/``; newer versions keep them one level down, in ``events/<runId>/``
and ``steps/<runId>/`` under the same names, and move any flat file they find there when they
start (a one-way conversion another process may do at any time). wfctl reads both, file by
file, and writes each run in the layout the directory already uses:

* a run whose ``events/<runId>/`` directory exists is written run-scoped;
* otherwise the directory decides: any subdirectory in ``events/`` or ``steps/`` means
  run-scoped (converted, or half-way), flat files only mean flat, and an empty or new
  directory takes ``WFCTL_LOCAL_LAYOUT`` (``flat``, the default while the published DevKit
  CLI reads only flat, or ``run-scoped``).

Decisions are cached for a second, so a conversion by another process is followed within a
second (files written in that second stay where they are and are read from there).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FLAT, SCOPED = "flat", "run-scoped"
LAYOUTS = (FLAT, SCOPED)
_TTL = 1.0


def configured_layout() -> str:
    """``WFCTL_LOCAL_LAYOUT`` (validated by wfctl's one env rule), default flat."""
    from wfctl.config import env_choice  # the CLI's rule; a bad value is a usage error

    return env_choice("WFCTL_LOCAL_LAYOUT", FLAT, LAYOUTS)


def has_subdir(directory: Path) -> bool | None:
    """True/False whether ``directory`` has a subdirectory; None when it is missing or empty."""
    try:
        st = os.stat(directory)
    except (FileNotFoundError, NotADirectoryError):
        return None
    # A directory's link count is 2 + its subdirectories on most filesystems (O(1)); 1 means
    # the filesystem does not count them (btrfs...): look.
    if st.st_nlink > 2:
        return True
    empty = True
    try:
        with os.scandir(directory) as it:
            for entry in it:
                empty = False
                if st.st_nlink != 1:
                    return False
                if entry.is_dir(follow_symlinks=False):
                    return True
    except FileNotFoundError:
        return None
    return None if empty else False


class LayoutMode:
    """The per-run write decision, cached for a second."""

    def __init__(self, events: Path, steps: Path, default: Callable[[], str] = configured_layout):
        self._events = events
        self._steps = steps
        self._default = default
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[bool, float]] = {}
        self._global: tuple[bool, float] | None = None
        #: the layout wfctl last recorded for this directory (used when it is empty)
        self.fallback: str | None = None

    def directory_scoped(self) -> bool:
        now = time.monotonic()
        cached = self._global
        if cached is not None and now - cached[1] < _TTL:
            return cached[0]
        found = [has_subdir(self._events), has_subdir(self._steps)]
        if True in found:
            value = True
        elif False in found:
            value = False
        else:
            value = (self.fallback or self._default()) == SCOPED
        self._global = (value, now)
        return value

    def scoped(self, run_id: str) -> bool:
        now = time.monotonic()
        cached = self._runs.get(run_id)
        if cached is not None and now - cached[1] < _TTL:
            return cached[0]
        value = os.path.isdir(self._events / run_id) or self.directory_scoped()
        with self._lock:
            if len(self._runs) > 4096:
                self._runs.clear()
            self._runs[run_id] = (value, now)
        return value

    def forget(self) -> None:
        with self._lock:
            self._runs.clear()
            self._global = None


def describe(events: Path, steps: Path) -> dict[str, Any]:
    """What the directory holds: counts of flat files and run directories (for doctor)."""
    flat = nested = 0
    for directory in (events, steps):
        try:
            with os.scandir(directory) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        nested += 1
                    elif entry.name.endswith(".json"):
                        flat += 1
        except FileNotFoundError:
            continue
    if flat and nested:
        layout = "mixed"
    elif nested:
        layout = SCOPED
    elif flat:
        layout = FLAT
    else:
        layout = "empty"
    return {"layout": layout, "flatFiles": flat, "runDirectories": nested}
