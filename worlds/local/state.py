"""Moved to :mod:`worlds.rules` (shared by every world); kept so old imports work."""

from ..rules import *  # noqa: F403
from ..rules import IDEMPOTENT, RunState, check, check_request  # noqa: F401
