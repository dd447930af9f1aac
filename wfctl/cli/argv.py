"""Global options anywhere on the line: ``wfctl inspect runs --data-dir D`` means
``wfctl --data-dir D inspect runs``. Click only accepts a group's options before the
subcommand, so the line is reordered before Click sees it: a global option found after the
subcommand moves to the front unless the subcommand has an option of that name itself
(``start --app``, ``--json`` on most commands), which then keeps it."""

from __future__ import annotations

from collections.abc import Callable

GLOBAL_FLAGS = {"--debug", "--quiet", "-q", "--wide", "--json"}
GLOBAL_VALUED = {"--data-dir", "--world", "--app"}

# (subcommand words) -> (option names of that command, its options that take a value)
OptionsOf = Callable[[list[str]], tuple[set[str], set[str]]]


def hoist_globals(args: list[str], options_of: OptionsOf, commands: set[str]) -> list[str]:
    """Move global options found after the subcommand to the front (stops at ``--``)."""
    front: list[str] = []
    i = 0
    # leading global options stay where they are
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        front.append(args[i])
        if args[i].split("=", 1)[0] in GLOBAL_VALUED and "=" not in args[i] and i + 1 < len(args):
            front.append(args[i + 1])
            i += 1
        i += 1
    # the command path: a command and, for groups (inspect, hook), its subcommand
    words: list[str] = []
    while i < len(args) and not args[i].startswith("-") and len(words) < 2:
        words.append(args[i])
        i += 1
        if words[0] not in commands:
            break
    own, valued = options_of(words)
    rest: list[str] = list(words)
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i:])
            break
        name = a.split("=", 1)[0]
        if name in own:
            rest.append(a)
            if name in valued and "=" not in a and i + 1 < len(args):
                rest.append(args[i + 1])
                i += 1
        elif name in GLOBAL_FLAGS:
            front.append(a)
        elif name in GLOBAL_VALUED:
            front.append(a)
            if "=" not in a and i + 1 < len(args):
                front.append(args[i + 1])
                i += 1
        else:
            rest.append(a)
        i += 1
    return front + rest
