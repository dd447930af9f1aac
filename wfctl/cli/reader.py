"""What the read-only commands (`wfctl inspect ...`) need from an engine, without loading one.

The engine module brings the runtimes, the step executor and their imports; listing runs needs
only the world and the run keys. Same behaviour as :class:`wfctl.engine.engine.Engine` for
``world``, ``run_key`` and ``get_run``.
"""

from __future__ import annotations

from typing import Any

from wfctl.errors import NotFoundError
from wfctl.serde import crypto
from worlds import World
from worlds.errors import RunNotFoundError


class Reader:
    def __init__(self, world: World) -> None:
        self.world = world
        self.master_key = crypto.master_key_from_env()

    def run_key(self, run_id: str) -> bytes | None:
        return crypto.derive_run_key(self.master_key, run_id) if self.master_key else None

    def get_run(self, run_id: str) -> dict[str, Any]:
        try:
            return self.world.get_run(run_id)
        except RunNotFoundError as exc:
            raise NotFoundError(f"run {run_id} not found") from exc
