"""Fast coercion of plain CLI parameters, so a command does not import pydantic to read a string.

Typer (pinned in pyproject.toml) coerces every non-flag parameter -- even one left at its
default -- through a pydantic ``TypeAdapter``, built on first use. Importing pydantic and
building adapters costs more than the rest of ``wfctl inspect runs`` together. wfctl's
parameters are plain (``str``, ``Path``, ``list[str]``, ``int`` with bounds), so values that
are already what the annotation asks for are returned as they are; anything else (a bad
number, a type this module does not know) goes to Typer's own adapter, built then, so errors
and their messages stay Typer's. If Typer's internals differ from what this expects,
``install`` does nothing and Typer works as shipped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args, get_origin

_MISS = object()
_INT = re.compile(r"[+-]?[0-9]+\Z")
_installed = False


def _fast(annotation: Any, info: Any, value: Any) -> Any:
    if annotation is str:
        return value if isinstance(value, str) else _MISS
    if annotation is bool:
        return value if isinstance(value, bool) else _MISS
    if annotation is int and not isinstance(value, bool):
        if isinstance(value, str) and _INT.match(value.strip()):
            value = int(value.strip())
        if type(value) is int:
            lo, hi = info.min, info.max
            if getattr(info, "clamp", False):
                return _MISS
            if (lo is None or value >= lo) and (hi is None or value <= hi):
                return value
        return _MISS
    if annotation is float and type(value) in (int, float):
        lo, hi = info.min, info.max
        if getattr(info, "clamp", False):
            return _MISS
        if (lo is None or value >= lo) and (hi is None or value <= hi):
            return float(value)
        return _MISS
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return list(value)
        return _MISS
    return _MISS


def install() -> None:
    """Route plain parameters around pydantic (idempotent; a no-op on an unexpected Typer)."""
    global _installed
    if _installed:
        return
    _installed = True
    try:
        from dataclasses import dataclass

        from typer import _coercion, core
        from typer._param_types import coerce_cli_path

        original = core.build_runtime_param
        base = _coercion.RuntimeParam
        if not hasattr(base, "_coerce_value") or not callable(original):
            return
    except (ImportError, AttributeError):
        return

    @dataclass(frozen=True)
    class FastRuntimeParam(base):  # type: ignore[misc, valid-type]
        descriptor: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            ann, info = self.annotation, self.parameter_info
            if ann is Path and isinstance(value, str):
                return coerce_cli_path(value, info, path_type=Path, param=param, ctx=ctx)
            out = _fast(ann, info, value)
            if out is not _MISS:
                return out
            return original(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def build(descriptor: Any) -> Any:
        ann, info = descriptor.annotation, descriptor.parameter_info
        plain = (
            descriptor.file_annotation is None
            and getattr(info, "parser", None) is None
            and getattr(info, "path_type", None) is None
            and (ann in (str, bool, int, float, Path) or get_origin(ann) is list)
        )
        if not plain:
            return original(descriptor)
        return FastRuntimeParam(parameter_info=info, annotation=ann, descriptor=descriptor)

    core.build_runtime_param = build
