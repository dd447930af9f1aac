"""Hook token claims ``hooks/tokens/<sha256(token)>.json`` = ``{"token","hookId","runId"}``.

A token is a cross-run constraint, so it is decided *before* the journal commit: the claimant
holds the token's flock (``<state>/locks/tokens/<sha>.lock``) while it inspects the claim, writes
its own, and appends ``hook_created`` to its journal. Anyone judging a claim stale (its hook is
not live in the owner's journal) holds the same lock, so it can never see a claim whose
``hook_created`` is half committed. Lock order is always run lock -> token lock.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .files import create_exclusive, dumps_compact, read_json, unlink, utf8, write_atomic
from .layout import Layout
from .locks import flocked

log = logging.getLogger("worlds.local")


class TokenClaims:
    def __init__(self, layout: Layout, durable: bool) -> None:
        self._layout = layout
        self._durable = durable

    def locked(self, token: str):
        return flocked(self._layout.token_lock(token))

    def read(self, token: str) -> dict | None:
        """The claim, or None when absent or unreadable (an unreadable claim is debris)."""
        path = self._layout.token(token)
        try:
            claim = read_json(path)
        except ValueError:
            log.warning("Ignoring malformed token claim %s", path)
            return None
        return claim if isinstance(claim, dict) else None

    def write(self, token: str, run_id: str, hook_id: str) -> None:
        """Claim the token for (run_id, hook_id); caller holds the token lock."""
        path = self._layout.token(token)
        data = utf8(dumps_compact({"token": token, "hookId": hook_id, "runId": run_id}))
        # Exclusive create when free, like world-local, so a DevKit process sharing the
        # directory (which does not know our flock) still cannot double-claim.
        if create_exclusive(path, data, durable=self._durable):
            return
        write_atomic(path, data, durable=self._durable)

    def ensure(self, token: str, run_id: str, hook_id: str) -> None:
        """Roll-forward: make sure a committed hook_created's claim exists."""
        with self.locked(token):
            claim = self.read(token)
            if claim is None:
                self.write(token, run_id, hook_id)
            elif (claim.get("runId"), claim.get("hookId")) != (run_id, hook_id):
                log.warning("Token claim of hook %s is held by %s", hook_id, claim.get("hookId"))

    def release(self, token: str, run_id: str, hook_id: str) -> None:
        """Delete the claim if (and only if) it still belongs to this hook."""
        path: Path = self._layout.token(token)
        if not path.exists():
            return
        with self.locked(token):
            claim = self.read(token)
            if claim is not None and (claim.get("runId"), claim.get("hookId")) == (
                run_id,
                hook_id,
            ):
                unlink(path)
