"""Where every file of the local world lives (reference layout + wfctl's ``.wfctl/``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

VERSION_TEXT = "@workflow/world-local@5.0.0-beta.3"


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Layout:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.version = root / "version.txt"
        self.runs = root / "runs"
        self.events = root / "events"
        self.steps = root / "steps"
        self.hooks = root / "hooks"
        self.tokens = root / "hooks" / "tokens"
        self.waits = root / "waits"
        self.snapshots = root / "snapshots"
        self.locks = root / ".locks"
        self.wfctl = root / ".wfctl"
        self.journals = self.wfctl / "journal"
        self.write_locks = self.wfctl / "locks"
        self.leases = self.wfctl / "leases"
        self.blobs = self.wfctl / "blobs"

    # reference projection
    def run(self, run_id: str) -> Path:
        return self.runs / f"{run_id}.json"

    def event(self, run_id: str, event_id: str) -> Path:
        return self.events / f"{run_id}-{event_id}.json"

    def step(self, run_id: str, step_id: str) -> Path:
        return self.steps / f"{run_id}-{step_id}.json"

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
