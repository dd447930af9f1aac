"""The `wfctl` command line (Typer). Thin: parse, call the engine or world, render."""

from __future__ import annotations

import sys
from types import ModuleType


def main() -> None:
    from wfctl.cli.commands import app

    app()


def lazy_module(name: str) -> ModuleType:
    """``name``, executed on its first attribute access (``importlib.util.LazyLoader``): a
    command module can refer to a heavy helper (rich tables, ...) without every command,
    ``--help`` included, paying for its import."""
    if name in sys.modules:
        return sys.modules[name]
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


__all__ = ["lazy_module", "main"]
