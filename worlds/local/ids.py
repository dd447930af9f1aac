"""Moved to :mod:`worlds.ids` (shared by every world); kept so old imports work."""

from ..ids import *  # noqa: F403
from ..ids import (  # noqa: F401
    ULIDS,
    MonotonicUlid,
    decode_ulid,
    encode_ulid,
    is_safe_id,
    iso_from_ms,
    ms_from_iso,
    now_ms,
    require_safe,
    to_iso,
    ulid_time_ms,
)
