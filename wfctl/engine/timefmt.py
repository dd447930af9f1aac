"""Short human times for terminal and web views (local wall clock; durations like 1.2s, 3m05s)."""

from __future__ import annotations

import time
from datetime import datetime


def clock(ms_value: int | None) -> str:
    """HH:MM:SS local time (with the date when it is not today)."""
    if ms_value is None:
        return "-"
    dt = datetime.fromtimestamp(ms_value / 1000)
    if dt.date() != datetime.now().date():
        return dt.strftime("%Y-%m-%d %H:%M:%S")
    return dt.strftime("%H:%M:%S")


def duration(ms_value: int | None) -> str:
    if ms_value is None:
        return "-"
    if ms_value < 1000:
        return f"{ms_value}ms"
    s = ms_value / 1000
    if s < 60:
        return f"{s:.1f}s"
    m, sec = divmod(int(s), 60)
    if m < 60:
        return f"{m}m{sec:02d}s"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h}h{m:02d}m"
    return f"{h // 24}d{h % 24:02d}h"


def relative(ms_value: int | None, now_ms: int | None = None) -> str:
    if ms_value is None:
        return "-"
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    delta = ms_value - now
    return f"in {duration(delta)}" if delta >= 0 else f"{duration(-delta)} ago"
