"""Global options anywhere on the line: ``wfctl inspect runs --data-dir D`` means
``wfctl --data-dir D inspect runs``. Click only accepts a group's options before the
subcommand, so the line is reordered before Click sees it."""

from __future__ import annotations

# Global options that only the top level defines: moved to the front wherever they appear.
# --json and --app also exist on commands; the top level's mean the same, so moving is safe.
GLOBAL_FLAGS = {"--debug", "--quiet", "-q", "--wide", "--json"}
GLOBAL_VALUED = {"--data-dir", "--world", "--app"}
# Subcommand options that take a value (their value is never mistaken for an option).
VALUED = {
    "--input",
    "--runtime",
    "--timeout",
    "--run-id",
    "--status",
    "--workflow",
    "--limit",
    "--cursor",
    "--run",
    "--concurrency",
    "--grace",
    "--host",
    "--port",
}


def hoist_globals(args: list[str]) -> list[str]:
    """Move top-level-only options found after the subcommand to the front (stops at ``--``)."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i:])
            break
        name = a.split("=", 1)[0]
        if name in GLOBAL_FLAGS:
            front.append(a)
        elif name in GLOBAL_VALUED:
            front.append(a)
            if "=" not in a and i + 1 < len(args):
                front.append(args[i + 1])
                i += 1
        elif name in VALUED and "=" not in a and i + 1 < len(args):
            rest.extend((a, args[i + 1]))
            i += 1
        else:
            rest.append(a)
        i += 1
    return front + rest
