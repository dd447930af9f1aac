"""The `wfctl` command line (Typer). Thin: parse, call the engine or world, render."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any


def _options_of(group: Any) -> Any:
    """(command words) -> (its option names, those taking a value). Duck-typed: Typer ships
    its own copy of Click, so isinstance checks against ``click`` do not apply."""

    def options_of(words: list[str]) -> tuple[set[str], set[str]]:
        cmd = group
        for w in words:
            sub = getattr(cmd, "commands", None)
            if isinstance(sub, dict) and w in sub:
                cmd = sub[w]
            else:
                break
        if isinstance(getattr(cmd, "commands", None), dict):
            return set(), set()  # still a group: no command options to respect
        names: set[str] = set()
        valued: set[str] = set()
        for p in getattr(cmd, "params", []):
            if getattr(p, "param_type_name", "") != "option":
                continue
            opts = set(p.opts) | set(p.secondary_opts)
            names |= opts
            if not getattr(p, "is_flag", False) and not getattr(p, "count", False):
                valued |= opts
        return names, valued

    return options_of


def main() -> None:
    import sys

    import typer.main

    from wfctl.cli.argv import hoist_globals
    from wfctl.cli.commands import app

    group = typer.main.get_command(app)
    commands = set(getattr(group, "commands", {}))
    app(args=hoist_globals(sys.argv[1:], _options_of(group), commands), prog_name="wfctl")


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
