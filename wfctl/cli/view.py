"""How the current command prints tables: set once from the global options.

Kept apart from ``render`` (which imports rich) so that setting it costs no import: commands that
print no table, ``--help`` included, never load rich.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass
class View:
    tty: bool
    wide: bool = False


VIEW = View(tty=sys.stdout.isatty())


def configure(*, tty: bool, wide: bool) -> None:
    VIEW.tty, VIEW.wide = tty, wide
