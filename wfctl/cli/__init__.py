"""The `wfctl` command line (Typer). Thin: parse, call the engine or world, render."""

from __future__ import annotations


def main() -> None:
    from wfctl.cli.commands import app

    app()


__all__ = ["main"]
