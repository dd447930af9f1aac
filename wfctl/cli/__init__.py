"""The `wfctl` command line (Typer). Thin: parse, call the engine or world, render."""

from __future__ import annotations


def main() -> None:
    import sys

    from wfctl.cli.argv import hoist_globals
    from wfctl.cli.commands import app

    app(args=hoist_globals(sys.argv[1:]), prog_name="wfctl")


__all__ = ["main"]
