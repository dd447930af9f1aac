"""Cross-thread and cross-process locks built on ``flock``.

``flock`` locks belong to an open file description, so every acquisition opens the lock file
afresh: two threads of one process then exclude each other just like two processes, and the
kernel drops the lock when its holder dies (``kill -9`` included). Lock files are never deleted;
unlinking a file someone may be waiting on would let two holders lock different inodes.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import LeaseBusyError
from .files import ensure_dir

_POLL_S = 0.01


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:
        ensure_dir(path.parent, durable=False)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


@contextmanager
def flocked(path: Path) -> Iterator[None]:
    """Block until ``path`` is exclusively flocked; release on exit."""
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the only fd of the description releases the flock


def try_flock(path: Path, wait: float | None) -> int:
    """Exclusively flock ``path``: at once (wait=0), polling until ``wait`` s, or forever (None).

    Returns the fd holding the lock; raises LeaseBusyError when it stays busy.
    """
    fd = _open(path)
    try:
        if wait is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return fd
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LeaseBusyError(
                        f"The lease of run {path.stem} is held by another worker."
                    ) from None
                time.sleep(_POLL_S)
    except BaseException:
        os.close(fd)
        raise


class KeyedThreadLocks:
    """One ``threading.Lock`` per key, created on first use."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def get(self, key: str) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            return lock
