"""Moved to :mod:`worlds.entities` (shared by every world); kept so old imports work."""

from ..entities import *  # noqa: F403
from ..entities import clone  # noqa: F401
