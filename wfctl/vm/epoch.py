"""The wall-clock backstop: wasmtime epoch interruption driven by one timer thread.

QuickJS's interrupt handler (polled every ~10k bytecodes) stops ordinary guest code at the
call's budget and leaves the VM usable. It is never polled inside one long C builtin (a single
``Array.prototype.sort`` of millions of elements, a huge ``String.prototype.repeat``...), so
the engine is also configured with epoch interruption: a daemon thread increments the
engine's epoch every :data:`TICK_S` seconds, and every call into the guest sets its store's
deadline to the budget plus a margin. Past it, wasm traps ("interrupt") wherever it is —
including inside a builtin — and the VM is discarded (a trap mid-builtin leaves the heap in
an unknown state).
"""

from __future__ import annotations

import math
import threading
import time

import wasmtime

__all__ = ["TICK_S", "NO_DEADLINE", "backstop_ticks", "ensure_ticking"]

#: Epoch tick period. The backstop fires within one tick of its deadline.
TICK_S = 0.05

#: A deadline that never comes (for host-internal calls outside any budget).
NO_DEADLINE = 1 << 62

_lock = threading.Lock()
_engines: list[wasmtime.Engine] = []
_thread: threading.Thread | None = None


def backstop_ticks(budget_s: float | None) -> int:
    """Epoch ticks after which a call with ``budget_s`` is stopped by force: the budget plus
    a margin, so the clean interrupt handler normally fires first."""
    if not budget_s:
        return NO_DEADLINE
    margin = max(0.25, 0.1 * budget_s)
    return math.ceil((budget_s + margin) / TICK_S) + 1


def _tick() -> None:
    while True:
        time.sleep(TICK_S)
        for engine in _engines:
            engine.increment_epoch()


def ensure_ticking(engine: wasmtime.Engine) -> None:
    """Start (once per process) the thread that advances ``engine``'s epoch."""
    global _thread
    with _lock:
        if engine not in _engines:
            _engines.append(engine)
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_tick, name="wfctl-epoch", daemon=True)
            _thread.start()
