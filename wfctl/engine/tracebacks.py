"""A step's traceback as its author wants to read it: the frames of their code, without the
engine's (the executor calling the step) or asyncio's (running an async step)."""

from __future__ import annotations

import asyncio
import os
import traceback
from types import TracebackType

import wfctl

_HIDDEN = (
    os.path.dirname(wfctl.__file__) + os.sep,  # the engine (user steps never live in the package)
    os.path.dirname(asyncio.__file__) + os.sep,
)


def _user_tb(tb: TracebackType | None) -> TracebackType | None:
    """The traceback from the first frame that is not the engine's or asyncio's."""
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_HIDDEN):
        tb = tb.tb_next
    return tb


def user_traceback(exc: BaseException) -> str:
    """``traceback.format_exception`` of ``exc`` (with its chain), minus leading engine frames."""
    seen: set[int] = set()

    def trim(e: BaseException | None) -> None:
        while e is not None and id(e) not in seen:
            seen.add(id(e))
            tb = _user_tb(e.__traceback__)
            if tb is not None:  # an error raised by the engine itself keeps its frames
                e.__traceback__ = tb
            trim(e.__context__)
            e = e.__cause__

    try:
        trim(exc)
    except Exception:
        pass
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
