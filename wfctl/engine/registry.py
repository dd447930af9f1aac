"""The ``@step`` decorator, the step registry and ``get_step_metadata()``."""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_MAX_RETRIES = 3


@dataclass(frozen=True)
class StepDef:
    name: str
    fn: Callable[..., Any]
    max_retries: int = DEFAULT_MAX_RETRIES

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)


@dataclass(frozen=True)
class StepMetadata:
    """What a running step can learn about itself (``get_step_metadata()``)."""

    run_id: str
    workflow_name: str
    step_id: str
    step_name: str
    attempt: int
    started_at: datetime  # first start of the step, not of this attempt


# Steps defined while an app is being imported land here (see engine.app).
_collecting: contextvars.ContextVar[dict[str, StepDef] | None] = contextvars.ContextVar(
    "wfctl_collecting", default=None
)
_current: contextvars.ContextVar[StepMetadata | None] = contextvars.ContextVar(
    "wfctl_step_metadata", default=None
)


def _register(fn: Callable[..., Any], name: str | None, max_retries: int) -> Callable[..., Any]:
    if not callable(fn):
        raise TypeError("@step decorates functions")
    if not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError("max_retries must be a non-negative integer")
    sd = StepDef(name=name or fn.__name__, fn=fn, max_retries=max_retries)
    fn.__wfctl_step__ = sd  # type: ignore[attr-defined]
    target = _collecting.get()
    if target is not None:
        target[sd.name] = sd
    return fn


@overload
def step(fn: F, /) -> F: ...
@overload
def step(
    *, name: str | None = None, max_retries: int = DEFAULT_MAX_RETRIES
) -> Callable[[F], F]: ...


def step(
    fn: Any = None, /, *, name: str | None = None, max_retries: int = DEFAULT_MAX_RETRIES
) -> Any:
    """Register a Python function as a workflow step (``@step`` or ``@step(name=, max_retries=)``)."""
    if fn is not None:
        return _register(fn, None, DEFAULT_MAX_RETRIES)
    return lambda f: _register(f, name, max_retries)


def get_step_metadata() -> StepMetadata:
    """Metadata of the step currently running in this thread or task."""
    md = _current.get()
    if md is None:
        raise RuntimeError("get_step_metadata() called outside of a running step")
    return md
