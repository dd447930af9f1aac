"""Where every file of the local world lives.

Two trees:

* the **shared tree** (the data directory, ``.workflow-data`` by default): the DevKit's
  ``world-local`` layout (``runs/``, ``events/``, ``steps/``, ``hooks/``, ``waits/``, ``.locks/``,
  ``version.txt``), a projection that the DevKit's tools read -- and may rearrange or delete;
* **wfctl's own state** (``<data-dir>.wfctl/`` next to it, or ``$WFCTL_STATE_DIR``): the
  per-run journals (the commit point), code blobs, snapshots, write locks and leases -- all that
  is needed to rebuild the shared tree. No DevKit tool knows this directory.

Event and step files are *flat* (``events/<runId>-<eventId>.json``) or *run-scoped*
(``events/<runId>/<runId>-<eventId>.json``, the layout newer ``world-local`` versions convert
to); :mod:`worlds.local.runlayout` decides which one a run is written in, and every reader
accepts both (see :meth:`Layout.event_paths`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .runlayout import LayoutMode

VERSION_TEXT = "@workflow/world-local@5.0.0-beta.3"
STATE_SUFFIX = ".wfctl"
LEGACY_STATE = ".wfctl"  # wfctl's state inside the data dir (before issue 16)


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def default_state_dir(root: Path) -> Path:
    """``$WFCTL_STATE_DIR`` if set, else the sibling ``<data-dir>.wfctl``."""
    override = os.environ.get("WFCTL_STATE_DIR")
    if override and override.strip():
        return Path(override)
    absolute = Path(os.path.abspath(root))
    return absolute.with_name(absolute.name + STATE_SUFFIX)


class Layout:
    def __init__(self, root: Path, state: Path | None = None) -> None:
        self.root = root
        self.version = root / "version.txt"
        self.runs = root / "runs"
        self.events = root / "events"
        self.steps = root / "steps"
        self.hooks = root / "hooks"
        self.tokens = root / "hooks" / "tokens"
        self.waits = root / "waits"
        self.locks = root / ".locks"
        self.legacy = root / LEGACY_STATE
        self.mode = LayoutMode(self.events, self.steps)
        self.set_state(state if state is not None else default_state_dir(root))

    def set_state(self, state: Path, snapshots: Path | None = None) -> None:
        self.wfctl = state
        self.journals = state / "journal"
        self.write_locks = state / "locks"
        self.leases = state / "leases"
        self.blobs = state / "blobs"
        self.snapshots = snapshots if snapshots is not None else state / "snapshots"
        self.record = state / "projection.json"

    # reference projection
    def run(self, run_id: str) -> Path:
        return self.runs / f"{run_id}.json"

    def event(self, run_id: str, event_id: str) -> Path:
        """Where the event file is written (the run's layout, see runlayout.py)."""
        base = self.events / run_id if self.mode.scoped(run_id) else self.events
        return base / f"{run_id}-{event_id}.json"

    def step(self, run_id: str, step_id: str) -> Path:
        base = self.steps / run_id if self.mode.scoped(run_id) else self.steps
        return base / f"{run_id}-{step_id}.json"

    def event_paths(self, run_id: str, event_id: str) -> tuple[Path, Path]:
        """Both places an event file may be (write layout first)."""
        return _both(self.events, run_id, f"{run_id}-{event_id}.json", self.mode.scoped(run_id))

    def step_paths(self, run_id: str, step_id: str) -> tuple[Path, Path]:
        return _both(self.steps, run_id, f"{run_id}-{step_id}.json", self.mode.scoped(run_id))

    def event_exists(self, run_id: str, event_id: str) -> bool:
        return any(p.exists() for p in self.event_paths(run_id, event_id))

    def hook(self, hook_id: str) -> Path:
        return self.hooks / f"{hook_id}.json"

    def token(self, token: str) -> Path:
        return self.tokens / f"{token_key(token)}.json"

    def wait(self, run_id: str, correlation_id: str) -> Path:
        return self.waits / f"{run_id}-{correlation_id}.json"

    def snapshot(self, run_id: str) -> tuple[Path, Path]:
        return self.snapshots / f"{run_id}.bin", self.snapshots / f"{run_id}.json"

    def lock_file(self, kind: str, name: str) -> Path:
        """``.locks/<kind>/<name>`` (e.g. ``steps``, ``<runId>-<stepId>.terminal``)."""
        return self.locks / kind / name

    # wfctl's own files
    def journal(self, run_id: str) -> Path:
        return self.journals / f"{run_id}.jsonl"

    def write_lock(self, run_id: str) -> Path:
        return self.write_locks / f"{run_id}.lock"

    def token_lock(self, token: str) -> Path:
        # A subdirectory: a run id can never contain '/', so these never collide with run locks.
        return self.write_locks / "tokens" / f"{token_key(token)}.lock"

    def lease(self, run_id: str) -> Path:
        return self.leases / f"{run_id}.lock"

    def blob(self, key: str) -> Path:
        return self.blobs / key


def _both(directory: Path, run_id: str, name: str, scoped: bool) -> tuple[Path, Path]:
    flat, nested = directory / name, directory / run_id / name
    return (nested, flat) if scoped else (flat, nested)
