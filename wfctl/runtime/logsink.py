"""Where a workflow's ``console.*`` output goes.

Every VM is restored from a template in which ``console`` methods are wrapped to number their
calls (:data:`SEQ_SHIM`). The counter lives in the JS heap, so it is part of every snapshot, and
a replay from the start counts from zero again: the N-th console call of a run's *logical*
execution has the number N however often the code is re-executed. The engine binds a sink for
the thread that drives a run; the sink keeps a line only if its number is new, which is what
makes each call show up exactly once.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Protocol

log = logging.getLogger("wfctl.workflow")

_MARK = "\x1ewf:"  # record separator + tag: cannot come from a formatted console argument start

SEQ_SHIM = r"""
(() => {
  const c = globalThis.console;
  let n = 0;
  for (const level of ["log", "info", "debug", "warn", "error", "trace"]) {
    const f = c[level];
    c[level] = function (...args) {
      n += 1;
      return f.call(c, "\x1ewf:" + n + ":" + level + "\x1e", ...args);
    };
  }
})();
"""


class ConsoleSink(Protocol):
    def workflow_line(self, seq: int, level: str, stream: str, text: str) -> None: ...


current: contextvars.ContextVar[ConsoleSink | None] = contextvars.ContextVar(
    "wfctl_console_sink", default=None
)


def parse(text: str) -> tuple[int | None, str, str]:
    """(seq, level, message) of one console call's text; seq None for unnumbered output."""
    if text.startswith(_MARK):
        head, sep, rest = text[len(_MARK) :].partition("\x1e")
        seq_text, _, level = head.partition(":")
        if sep and seq_text.isdigit():
            return int(seq_text), level or "log", rest[1:] if rest.startswith(" ") else rest
    return None, "log", text


def console(stream: str, text: str) -> None:
    """The VM console callback: to the bound sink, else (replay checks, templates) the logger."""
    seq, level, message = parse(text)
    sink = current.get()
    if sink is not None and seq is not None:
        sink.workflow_line(seq, level, stream, message)
        return
    for line in message.rstrip("\n").splitlines():
        log.info("[workflow %s] %s", stream, line)
