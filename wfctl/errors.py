"""Errors of wfctl's public API and of the engine.

``FatalError`` and ``RetryableError`` are what step authors raise; the rest are what the
engine raises to the CLI, each carrying one clear sentence and an exit code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = [
    "FatalError",
    "RetryableError",
    "WfctlError",
    "AppError",
    "UsageError",
    "NotFoundError",
]


class FatalError(Exception):
    """Raised by a step: fail the step at once, without retries."""

    fatal = True


def _parse_duration(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    t = text.strip()
    for unit in ("ms", "s", "m", "h", "d"):
        if t.endswith(unit):
            number = t[: -len(unit)]
            try:
                return float(number) * units[unit]
            except ValueError:
                break
    raise ValueError(f'invalid duration "{text}" (use e.g. "500ms", "10s", "5m", "2h", "1d")')


class RetryableError(Exception):
    """Raised by a step: retry it, not before ``retry_after``.

    ``retry_after`` is a duration string ("10s"), a number of seconds, a ``timedelta`` or an
    absolute ``datetime``; default one second.
    """

    def __init__(
        self,
        message: str = "",
        retry_after: str | float | int | timedelta | datetime | None = None,
    ) -> None:
        super().__init__(message)
        now = datetime.now(UTC)
        if retry_after is None:
            at = now + timedelta(seconds=1)
        elif isinstance(retry_after, datetime):
            at = retry_after if retry_after.tzinfo else retry_after.replace(tzinfo=UTC)
        elif isinstance(retry_after, timedelta):
            at = now + retry_after
        elif isinstance(retry_after, (int, float)):
            at = now + timedelta(seconds=float(retry_after))
        elif isinstance(retry_after, str):
            at = now + timedelta(seconds=_parse_duration(retry_after))
        else:
            raise TypeError(f"retry_after: unsupported type {type(retry_after).__name__}")
        self.retry_after: datetime = at


class WfctlError(Exception):
    """A user-facing error: one clear sentence, mapped to a CLI exit code."""

    exit_code = 1


class UsageError(WfctlError):
    exit_code = 2


class AppError(UsageError):
    """The app (workflows.js / steps.py) cannot be loaded or does not define what was asked."""


class NotFoundError(WfctlError):
    exit_code = 3
