"""`wfctl upgrade`, `rerun`, `fork` and `gc`: changing code while runs are in flight."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wfctl.cli.context import EXIT_FAILED, emit_json, guarded, merge_json
from wfctl.errors import UsageError

AppOpt = Annotated[
    Path | None, typer.Option("--app", help="App directory (default: $WFCTL_APP or .).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
WaitOpt = Annotated[
    bool,
    typer.Option("--wait/--no-wait", help="Drive the new run here (default) or only create it."),
]
TimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", help="Stop waiting for timers after S seconds.")
]


def register(app: typer.Typer) -> None:
    from wfctl.cli.commands import _engine, _exit_for_status, _print_run_result, _run_summary

    @app.command()
    def upgrade(
        ctx: typer.Context,
        run_ids: Annotated[list[str] | None, typer.Argument(help="Runs to move.")] = None,
        all_runs: Annotated[
            bool, typer.Option("--all", help="Every run that has not ended.")
        ] = False,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Only report which runs could move.")
        ] = False,
        app_dir: AppOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Move runs that have not ended onto the current code, each only if its log replays
        under it; exit 1 if any could not be moved."""
        from wfctl.engine.versions import upgrade_run, upgrade_targets

        st = merge_json(ctx, json_out)
        with guarded(st):
            if bool(run_ids) == all_runs:
                raise UsageError("give RUN_ID... or --all")
            engine = _engine(st, app_dir)
            runs = upgrade_targets(engine, list(run_ids or []), all_runs)
            results = [upgrade_run(engine, r, dry_run=dry_run) for r in runs]
        if st.json:
            emit_json({"dryRun": dry_run, "runs": results})
        else:
            verb = "movable" if dry_run else "moved"
            for r in results:
                if r["moved"]:
                    st.out.print(
                        f"[green]{verb}[/]  {r['runId']}  {_short(r['from'])} -> {_short(r['to'])}"
                        + (f"  ({r['reason']})" if r.get("reason") else "")
                    )
                else:
                    st.out.print(f"[red]not {verb}[/]  {r['runId']}  {_short(r['from'])}")
                    d = r.get("divergence")
                    if d:
                        st.out.print(
                            f"    first divergent event #{d.get('index')} ({d.get('eventId', '')}): "
                            f"expected {d.get('expected')}; the current code makes {d.get('actual')}",
                            markup=False,
                        )
                    if r.get("reason"):
                        st.out.print(f"    {r['reason']}", markup=False)
            st.out.print(f"{sum(r['moved'] for r in results)}/{len(results)} runs {verb}")
        if not all(r["moved"] for r in results):
            raise typer.Exit(EXIT_FAILED)

    @app.command()
    def rerun(
        ctx: typer.Context,
        run_id: str,
        app_dir: AppOpt = None,
        wait: WaitOpt = True,
        timeout: TimeoutOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """A new run of the same workflow with the same input, on the current code."""
        from wfctl.engine.versions import rerun as do_rerun

        st = merge_json(ctx, json_out)
        with guarded(st):
            engine = _engine(st, app_dir)
            res = do_rerun(engine, run_id, wait=wait, timeout=timeout)
            summary = _run_summary(engine, res)
        _print_run_result(st, summary)
        _exit_for_status(summary["status"])

    @app.command()
    def fork(
        ctx: typer.Context,
        run_id: str,
        step: Annotated[
            int, typer.Option("--step", help="Execute from this step on (1-based, creation order).")
        ],
        app_dir: AppOpt = None,
        wait: WaitOpt = True,
        timeout: TimeoutOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """A new run reusing RUN_ID's results of steps 1..N-1, executing from step N on the
        current code."""
        from wfctl.engine.fork import fork as do_fork

        st = merge_json(ctx, json_out)
        with guarded(st):
            if step < 1:
                raise UsageError("--step must be 1 or more")
            engine = _engine(st, app_dir)
            res = do_fork(engine, run_id, step, wait=wait, timeout=timeout)
            summary = _run_summary(engine, res)
        _print_run_result(st, summary)
        _exit_for_status(summary["status"])

    @app.command()
    def gc(
        ctx: typer.Context,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Only report what would be removed.")
        ] = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Remove stored workflow code that no pending or running run uses."""
        from wfctl.engine.versions import gc as do_gc

        st = merge_json(ctx, json_out)
        with guarded(st):
            engine = _engine(st, None, need_app=False)
            report = do_gc(engine, dry_run=dry_run)
        if st.json:
            doc = report.to_json()
            doc["dryRun"] = dry_run
            emit_json(doc)
            return
        verb = "would remove" if dry_run else "removed"
        st.out.print(
            f"{verb} {len(report.removed)} code version(s) ({report.bytes_freed} bytes) and "
            f"{report.pointers_removed} upgrade pointer(s); kept {len(report.kept)} in use"
        )


def _short(h: str | None) -> str:
    return h[:12] if h else "(unpinned)"
