"""Run streams in a world: the storage half of ``getWritable()`` (reference §3.3, §4.8).

A stream is an append-only sequence of opaque byte chunks, ended by an EOF marker. Names are
globally unique (``strm_<runULID>_user[_<base64url namespace>]``); the run id only groups them.
Every world implements these methods (``World`` inherits this ABC).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import WorldError


class StreamClosedError(WorldError):
    """A chunk was written to a stream that already has its EOF marker."""

    fatal = True  # a step that hits it fails at once: retrying cannot reopen the stream


@dataclass
class StreamChunks:
    """Data chunks ``(index, bytes)`` from a start index, in write order.

    ``done``: the EOF marker exists. ``tail_index``: index of the last data chunk (-1 if none).
    """

    chunks: list[tuple[int, bytes]]
    done: bool
    tail_index: int


class StreamStore:
    """Stream methods of a world. The defaults raise, so a world that predates streams still
    loads (its runs just cannot use ``getWritable``)."""

    def _no_streams(self) -> WorldError:
        return WorldError(f"{type(self).__name__} does not support streams")

    def write_stream_chunk(self, run_id: str, name: str, data: bytes) -> int:
        """Append one chunk durably; returns its index. ``StreamClosedError`` after close."""
        raise self._no_streams()

    def close_stream(self, run_id: str, name: str) -> None:
        """Write the EOF marker (idempotent)."""
        raise self._no_streams()

    def list_streams(self, run_id: str) -> list[str]:
        """Names of the run's streams, in first-write order."""
        raise self._no_streams()

    def read_stream_chunks(
        self, run_id: str, name: str, *, start: int = 0, limit: int | None = None
    ) -> StreamChunks:
        """Data chunks with index >= ``start`` (at most ``limit``), plus done/tail."""
        raise self._no_streams()
