"""``wfctl doctor``, ``wfctl repair``, ``wfctl migrate-layout``: the shared data directory.

The local world's data directory is shared with the DevKit's tools; wfctl's own state (the
journals, the commit point) lives next to it. These commands report on and fix the shared
tree (see README "Sharing the data directory with the DevKit's tools").
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from wfctl.cli.context import EXIT_FAILED, CliState, emit_json, guarded, merge_json, open_store
from wfctl.errors import UsageError

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _local(st: CliState, what: str) -> Any:
    world = open_store(st)
    if not hasattr(world, "reproject_run"):
        world.close()
        raise UsageError(f"{what} applies to a local data directory, not to this world")
    return world


def doctor(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Report the data directory's layout, the versions that wrote it, and every run whose
    projection and journal disagree (exit 1 if any)."""
    from worlds.local.shared import doctor as diagnose

    st = merge_json(ctx, json_out)
    with guarded(st):
        world = _local(st, "doctor")
        try:
            report = diagnose(world)
        finally:
            world.close()
    if st.json:
        emit_json(report)
    else:
        st.out.print(f"data directory  {report['dataDir']}")
        st.out.print(f"wfctl state     {report['stateDir']}")
        st.out.print(
            f"layout          {report['layout']} ({report['flatFiles']} flat files, "
            f"{report['runDirectories']} run directories); wfctl writes {report['writes']}"
        )
        st.out.print(
            f"version.txt     {report['versionTxt']!r} (wfctl writes {report['wfctlWrites']!r}; "
            f"seen: {', '.join(report['versionsSeen']) or '-'})"
        )
        st.out.print(
            f"runs            {report['journals']} journals, {report['runFiles']} run files"
        )
        for p in report["problems"]:
            st.out.print(f"problem         {p['runId']}: {p['problem']}")
        if not report["problems"]:
            st.out.print("ok              projection and journals agree")
    if report["problems"]:
        raise typer.Exit(EXIT_FAILED)


def repair(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Rebuild the whole shared tree (runs, events, steps, hooks, waits) from wfctl's state."""
    from worlds.local.shared import rebuild_all

    st = merge_json(ctx, json_out)
    with guarded(st):
        began = time.perf_counter()  # (opening may already rebuild)
        world = _local(st, "repair")
        try:
            # (opening the store already rebuilt a missing or replaced one: not twice)
            count = getattr(world, "rebuilt_on_open", 0) or rebuild_all(world)
            seconds = time.perf_counter() - began
        finally:
            world.close()
    if st.json:
        emit_json({"rebuiltRuns": count, "seconds": round(seconds, 3)})
    else:
        st.out.print(f"rebuilt {count} runs from wfctl's state in {seconds:.2f} s")


def migrate_layout(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="flat or run-scoped")],
    json_out: JsonOpt = False,
) -> None:
    """Move every event and step file to the flat or the run-scoped layout (rerun after an
    interruption finishes the job)."""
    from worlds.local.runlayout import LAYOUTS
    from worlds.local.shared import migrate_layout as convert

    st = merge_json(ctx, json_out)
    with guarded(st):
        if to not in LAYOUTS:
            raise UsageError(f"--to must be one of {', '.join(LAYOUTS)} (got {to!r})")
        world = _local(st, "migrate-layout")
        try:
            result = convert(world, to)
        finally:
            world.close()
    if st.json:
        emit_json(result)
    else:
        st.out.print(f"moved {result['moved']} files; the directory is now {result['layout']}")


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
    app.command("repair")(repair)
    app.command("migrate-layout")(migrate_layout)
