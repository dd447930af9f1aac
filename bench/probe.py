"""The fsync probe: what one durable small append costs on the disk the bench writes to.

The engine's goal is stated against this number (issue 9: overhead per sequential step ≤ 2× one
fsync'd small append), so it is measured by the bench itself, in the same directory and in the
same minute as the workloads: ``probe(dir)`` appends a ~200-byte line to a file with one
``write`` + ``fsync`` (what the journal's commit point does), ``count`` times, and returns the
median and the spread in milliseconds.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

LINE = (b'{"eventType":"step_completed","correlationId":"step_01PROBE",' + b"x" * 120) + b"}\n"


def probe(directory: Path, count: int = 30) -> dict[str, Any]:
    """Median / min / max ms of one O_APPEND write + fsync of a small line in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    fd_dir, name = tempfile.mkstemp(prefix="fsync-probe-", suffix=".jsonl", dir=directory)
    os.close(fd_dir)
    times = []
    fd = os.open(name, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, LINE)
        os.fsync(fd)  # the first fsync of a new file also pays for its metadata: not counted
        for _ in range(count):
            t0 = time.perf_counter()
            os.write(fd, LINE)
            os.fsync(fd)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        os.unlink(name)
    return {
        "medianMs": statistics.median(times),
        "minMs": min(times),
        "maxMs": max(times),
        "count": count,
    }


if __name__ == "__main__":
    import sys

    where = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir())
    r = probe(where, 200)
    print(
        f"fsync'd append in {where}: median {r['medianMs']:.3f} ms (min {r['minMs']:.3f}, max {r['maxMs']:.3f})"
    )
