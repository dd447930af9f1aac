"""Exceptions raised by the VM host."""

from __future__ import annotations

__all__ = [
    "VMError",
    "JSException",
    "VMOutOfMemory",
    "VMTimeout",
    "VMTrap",
    "SnapshotIncompatible",
]


class VMError(Exception):
    """Base class of every VM host error."""


class JSException(VMError):
    """An uncaught JavaScript exception.

    ``name``/``message`` come from the thrown value (``name`` is ``""`` for a thrown
    non-Error, whose ``String()`` is the message); ``stack`` is the guest's ``error.stack``
    (or ``None``); ``filename``/``line`` locate the top frame (or the syntax error) when
    known.
    """

    def __init__(
        self,
        name: str,
        message: str,
        stack: str | None = None,
        filename: str | None = None,
        line: int | None = None,
    ):
        self.name = name
        self.message = message
        self.stack = stack
        self.filename = filename
        self.line = line
        text = f"{name}: {message}" if name else message
        if filename is not None:
            text += f" ({filename}:{line})" if line is not None else f" ({filename})"
        super().__init__(text)

    def __reduce__(self):  # picklable across processes
        return (type(self), (self.name, self.message, self.stack, self.filename, self.line))


class VMOutOfMemory(JSException):
    """The guest ran out of memory (its ``InternalError: out of memory`` was not caught).
    The VM stays usable."""


class VMTimeout(VMError):
    """Guest code exceeded the per-call execution budget and was interrupted. The
    interrupt unwinds the guest cleanly (the VM stays usable), but any async work that was
    running is left half-done: prefer restoring the last snapshot. ``discarded`` is True when
    the wall-clock backstop had to stop a long builtin: that VM is unusable."""

    discarded = False

    def __init__(self, budget_s: float):
        self.budget_s = budget_s
        super().__init__(f"workflow code exceeded its execution budget of {budget_s:g} s")


class VMTrap(VMError):
    """A WebAssembly trap (e.g. ``call stack exhausted`` from deep recursion). The instance
    is discarded: every further call raises :class:`VMTrap`; boot or restore a new VM."""


class SnapshotIncompatible(VMError):
    """The snapshot was made by a different wasm binary or snapshot format."""
