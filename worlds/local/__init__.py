"""The filesystem world: reference world-local layout plus wfctl's per-run journal."""

from .store import LocalWorld

__all__ = ["LocalWorld"]
