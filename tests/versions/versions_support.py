"""Helpers of the code-versions tests (a module with a unique name: every test directory
has its own conftest, so `from conftest import ...` would be ambiguous in a full run)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "engine"))

from engine_support import check_cli, listing, one_json  # noqa: E402

from wfctl.engine.app import App  # noqa: E402
from wfctl.engine.engine import Engine  # noqa: E402
from worlds import World, open_world  # noqa: E402

GHOST_RUN = "wrun_01M80ZV6XRY086CQJBQGHFJWHA"
HASH_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Versions:
    """One app directory (editable), one data directory, one side-effect counter."""

    app: Path
    data: Path
    counter: Path
    run_cli: Callable[..., subprocess.CompletedProcess[str]]
    env: dict[str, str]
    worlds: list[World] = field(default_factory=list)

    def wf(self, *args: str, code: int | None = 0, env: dict[str, str] | None = None):
        proc = self.run_cli(*args, env={**self.env, **(env or {})})
        if code is not None:
            check_cli(proc, code)
        return proc

    def json(self, *args: str, code: int = 0, env: dict[str, str] | None = None):
        return one_json(self.wf(*args, "--json", code=code, env=env))

    def marks(self) -> list[str]:
        """Step executions so far (one line per call), then reset the counter."""
        if not self.counter.exists():
            return []
        lines = self.counter.read_text().split()
        self.counter.unlink()
        return lines

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.app / rel
        text = path.read_text()
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new))

    def listing(self) -> dict[str, str]:
        """Every data file of the store: the projection and the state directory beside it."""
        state = Path(self.world().layout.wfctl)  # type: ignore[attr-defined]
        out = dict(listing(self.data))
        out.update(
            {
                f"<state>/{k}": h
                for k, h in listing(state).items()
                if not k.startswith(("leases/", "locks/"))
            }
        )
        return out

    def assert_unchanged(self, before: dict[str, str]) -> None:
        after = self.listing()
        assert after == before, (
            f"store changed: added={sorted(set(after) - set(before))} "
            f"removed={sorted(set(before) - set(after))} "
            f"changed={sorted(k for k in set(after) & set(before) if after[k] != before[k])}"
        )

    def blob_dir(self) -> Path:
        return Path(self.world().layout.blobs)  # type: ignore[attr-defined]

    def code_blob(self, code_hash: str) -> Path:
        return self.blob_dir() / f"code-{code_hash}"

    def run_doc(self, run_id: str) -> dict:
        return self.json("inspect", "run", run_id)

    def engine(self) -> Engine:
        """An in-process engine over the data directory with the app as it is on disk now
        (steps.py is imported once per process: edits to it need the CLI)."""
        world = open_world(self.data)
        self.worlds.append(world)
        return Engine(world, App.load(self.app))

    def world(self) -> World:
        world = open_world(self.data)
        self.worlds.append(world)
        return world
