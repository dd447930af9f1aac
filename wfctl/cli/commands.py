"""The `wfctl` commands. Each parses, calls the engine or the world, and renders."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wfctl.cli import authoring, context, fastparams, layoutcmd, lazy_module, streams_cmd, view
from wfctl.cli.context import (
    EXIT_FAILED,
    CliState,
    emit_json,
    emit_json_line,
    guarded,
    merge_json,
    open_store,
    parse_arg,
    parse_json,
    resolve_app_dir,
    resolve_data_dir,
    resolve_target,
    setup_logging,
    state,
)
from wfctl.cli.db import db_app
from wfctl.cli.reader import Reader
from wfctl.config import validate_env
from wfctl.engine import codestore
from wfctl.engine.app import App, short_name
from wfctl.errors import UsageError
from wfctl.serde.jsonout import decode_field, entity_json, error_json
from worlds import all_items

if TYPE_CHECKING:  # the engine module loads the runtimes; commands import it when they run
    from wfctl.engine.engine import Engine, RunResult

render = lazy_module("wfctl.cli.render")  # rich: loaded by the commands that print tables
progress = lazy_module("wfctl.cli.progress")  # the live view: rich and the engine
fastparams.install()  # plain parameters without pydantic (see the module)

app = typer.Typer(
    name="wfctl",
    help="Durable workflows on one machine: JavaScript orchestration, Python steps, a local event store.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
inspect_app = typer.Typer(
    help="List and show runs, steps, events, hooks and sleeps.", no_args_is_help=True
)
hook_app = typer.Typer(help="Deliver payloads to hooks.", no_args_is_help=True)
app.add_typer(inspect_app, name="inspect")
app.add_typer(hook_app, name="hook")
app.add_typer(db_app, name="db")
layoutcmd.register(app)  # doctor, repair, migrate-layout (issue 16)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
AppOpt = Annotated[
    Path | None, typer.Option("--app", help="App directory (default: $WFCTL_APP or .).")
]
streams_cmd.register(inspect_app)  # inspect stream / inspect streams
DecryptOpt = Annotated[
    bool, typer.Option("--decrypt", help="Decrypt payloads with WFCTL_ENCRYPTION_KEY.")
]


def _print_version(value: bool) -> None:
    if value:
        from wfctl import __version__

        sys.stdout.write(f"wfctl {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Data directory (default: $WORKFLOW_LOCAL_DATA_DIR or ./.workflow-data).",
        ),
    ] = None,
    json_out: JsonOpt = False,
    debug: Annotated[bool, typer.Option("--debug", help="Verbose logs and tracebacks.")] = False,
    app_dir: AppOpt = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Do not show workflow and step log lines.")
    ] = False,
    wide: Annotated[bool, typer.Option("--wide", help="Tables: every column, uncut.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version."
        ),
    ] = False,
    world: Annotated[
        str | None,
        typer.Option(
            "--world",
            help="Store: a postgresql:// URL or a data directory (default: $WFCTL_WORLD, "
            "else the data directory).",
        ),
    ] = None,
) -> None:
    setup_logging(debug)
    st = CliState(
        data_dir=Path("."), json=json_out, debug=debug, quiet=quiet, wide=wide, app_dir=app_dir
    )
    with guarded(st):
        validate_env()  # one rule for every environment variable (wfctl/config.py)
        st.data_dir = resolve_data_dir(data_dir)
        st.world_target = resolve_target(world, data_dir)
    ctx.obj = st
    view.configure(tty=sys.stdout.isatty(), wide=wide)
    context.global_app_dir = app_dir


def _reader(st: CliState) -> Reader:
    """The world and run keys, for commands that only read (no engine module loaded)."""
    return Reader(open_store(st))


def _engine(
    st: CliState, app_dir: Path | None, *, need_app: bool = True, live: bool = False
) -> Engine:
    from wfctl.engine.engine import Engine

    world = open_store(st)
    application = App.load(resolve_app_dir(app_dir or st.app_dir)) if need_app else None
    if not live:
        return Engine(world, application)
    engine = Engine(world, application, observer=progress.live_observer(st))
    engine.observer.w.key_for = engine.run_key  # type: ignore[attr-defined]
    return engine


def _interrupted(st: CliState, engine: Engine) -> None:
    """Ctrl-C while driving: say what state the run is in and how to continue it."""
    run_id = getattr(engine.observer, "last_run", None)
    for line in progress.interrupted_message(engine.world, run_id):
        st.err.print(line, markup=False)
    raise typer.Exit(130)


def _run_summary(engine: Engine, res: RunResult, *, decrypt: bool = True) -> dict[str, Any]:
    run = res.run
    key = engine.run_key(run["runId"])
    out: dict[str, Any] = {
        "runId": run["runId"],
        "workflowName": short_name(run["workflowName"]),
        "runtime": res.stats.get("runtime")
        or (run.get("executionContext") or {}).get("workflowRuntime"),
        "status": run["status"],
    }
    if run["status"] == "completed":
        out["output"] = decode_field(run.get("output"), key, decrypt=decrypt)
    if run["status"] == "failed":
        events = engine.world.list_events(run["runId"]).data
        out["error"] = error_json(run, events, key, decrypt=decrypt)
    if res.notes:
        out["notes"] = res.notes
    return out


def _print_run_result(st: CliState, summary: dict[str, Any], *, live: bool = False) -> None:
    if st.json:
        emit_json(summary)
        return
    con = st.out
    con.print(
        f"run {summary['runId']}  {summary['workflowName']}  {render.status_text(summary['status'])}  (runtime: {summary['runtime']})"
    )
    for note in summary.get("notes", []):
        st.err.print(f"note: {note}", markup=False)
    if "output" in summary:
        con.print_json(data=summary["output"]) if summary["output"] is not None else con.print(
            "output: null"
        )
    if "error" in summary:
        err = summary["error"] or {}
        con.print(
            f"[red]{err.get('name', 'Error')}: {err.get('message', '')}[/] ({err.get('errorCode', '')})"
        )
    if summary["status"] == "running" and not (live and st.interactive):
        con.print(
            "the run is waiting (on a hook or a timer); `wfctl hook resume` or `wfctl worker` continues it"
        )
    if summary["status"] == "failed" and live and st.interactive:
        con.print(f"details and traceback: wfctl inspect run {summary['runId']}")


def _exit_for_status(status: str) -> None:
    if status in ("failed", "cancelled"):
        raise typer.Exit(EXIT_FAILED)


# ---------------------------------------------------------------------------- start


@app.command()
def start(
    ctx: typer.Context,
    workflow: Annotated[str, typer.Argument(help="Exported workflow function of workflows.js.")],
    args: Annotated[
        list[str] | None, typer.Argument(help="Arguments: JSON values; bare words are strings.")
    ] = None,
    app_dir: AppOpt = None,
    input_json: Annotated[
        str | None,
        typer.Option(
            "--input", help="All arguments as one JSON array; @PATH reads a file, - stdin."
        ),
    ] = None,
    runtime: Annotated[
        str | None, typer.Option("--runtime", help="snapshot (default) or replay.")
    ] = None,
    wait: Annotated[
        bool,
        typer.Option("--wait/--no-wait", help="Drive the run here (default) or only create it."),
    ] = True,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Stop waiting for timers after S seconds.")
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Use this run id (wrun_<ULID>).")
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check/--no-check",
            help="Refuse an app whose workflows use a step steps.py lacks (default), as `wfctl check`.",
        ),
    ] = True,
    json_out: JsonOpt = False,
) -> None:
    """Create a run and drive it in this process."""
    st = merge_json(ctx, json_out)
    with guarded(st):
        if input_json is not None and args:
            raise UsageError("give the arguments either as ARGs or with --input, not both")
        values = (
            parse_json(input_json, "--input")
            if input_json is not None
            else [parse_arg(a) for a in args or []]
        )
        if not isinstance(values, list):
            raise UsageError("--input must be a JSON array of arguments")
        if timeout is not None and timeout < 0:
            raise UsageError("--timeout must be a non-negative number of seconds")
        engine = _engine(st, app_dir, live=True)
        engine.check_steps = check
        try:
            with progress.ctrl_c(st.err, engine.world, engine.observer):
                res = engine.start(
                    workflow, values, runtime=runtime, run_id=run_id, wait=wait, timeout=timeout
                )
        except KeyboardInterrupt:
            _interrupted(st, engine)
        summary = _run_summary(engine, res)
    _print_run_result(st, summary, live=True)
    _exit_for_status(summary["status"])


# ---------------------------------------------------------------------------- inspect


def _page_json(page: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": items, "cursor": page.cursor, "hasMore": page.has_more}


@inspect_app.command("runs")
def inspect_runs(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status")] = None,
    workflow: Annotated[str | None, typer.Option("--workflow")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
    cursor: Annotated[str | None, typer.Option("--cursor")] = None,
    decrypt: DecryptOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """List runs, newest first."""
    st = merge_json(ctx, json_out)
    with guarded(st):
        if status is not None and status not in (
            "pending",
            "running",
            "completed",
            "failed",
            "cancelled",
        ):
            raise UsageError(
                f"unknown status {status!r} (pending, running, completed, failed, cancelled)"
            )
        engine = _reader(st)
        wf = (
            None
            if workflow is None
            else (workflow if "//" in workflow else f"workflow//./workflows//{workflow}")
        )
        try:
            page = engine.world.list_runs(
                workflow_name=wf, status=status, cursor=cursor, limit=limit
            )
        except ValueError as exc:  # the world could not read the cursor
            raise UsageError(f"invalid --cursor {cursor!r}: {exc}") from None
        items = [entity_json(r, engine.run_key(r["runId"]), decrypt=decrypt) for r in page.data]
    if st.json:
        emit_json(_page_json(page, items))
    else:
        render.runs_table(st.out, items)


@inspect_app.command("run")
def inspect_run(
    ctx: typer.Context,
    run_id: str,
    decrypt: DecryptOpt = False,
    json_out: JsonOpt = False,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Watch the run live until it ends or waits on a hook."),
    ] = False,
    until_end: Annotated[
        bool, typer.Option("--until-end", help="With --follow: keep watching through hook waits.")
    ] = False,
) -> None:
    """One run: timeline of steps, sleeps and hooks; input, output or error (with the failing
    step's traceback); what it waits on. --follow watches it live."""
    st = merge_json(ctx, json_out)
    if follow:
        _follow_run(st, run_id, until_end=until_end, decrypt=decrypt)
    with guarded(st):
        engine = _reader(st)
        run = engine.get_run(run_id)
        key = engine.run_key(run_id)
        events = engine.world.list_events(run_id).data
        doc = entity_json(run, key, decrypt=decrypt)
        if run["status"] == "failed":
            doc["error"] = error_json(run, events, key, decrypt=decrypt)
        steps = _all_steps(engine, run_id)
        doc["steps"] = [entity_json(s, key, decrypt=decrypt) for s in steps]
        doc["eventCount"] = len(events)
        from wfctl.engine.children import children_of

        doc["children"] = children_of(engine.world, run_id)  # runs it started (start())
        snap = engine.world.load_snapshot(run_id)
        doc["snapshotBytes"] = len(snap[0]) if snap else None
        doc["codeHash"] = codestore.effective_hash(engine.world, run)
    if st.json:
        emit_json(doc)
        if follow:
            _exit_for_status(doc["status"])
        return
    from wfctl.cli.runview import print_run

    con = st.out
    print_run(con, doc, events, key, decrypt=decrypt)
    con.print(f"  code: {doc['codeHash'] or '(not pinned: runs the code on disk)'}")
    con.print()
    if doc["children"]:
        con.print(f"  children: {', '.join(doc['children'])}")
    render.steps_table(con, sorted(doc["steps"], key=lambda s: s["createdAt"]))
    if follow:
        _exit_for_status(doc["status"])


def _follow_run(st: CliState, run_id: str, *, until_end: bool, decrypt: bool) -> None:
    """inspect run --follow: the live view of a run another process drives; exits 0 when it
    completes or (without --until-end) waits on a hook, 1 when it failed or was cancelled."""
    with guarded(st):
        engine = _engine(st, None, need_app=False)
        engine.get_run(run_id)
        key = engine.run_key(run_id)
        writer = progress.LineWriter(
            progress=not st.json, logs=not st.quiet, key_for=engine.run_key
        )

        def history(tracker: Any) -> None:
            if st.json:
                return
            from wfctl.cli.runview import print_run

            run = engine.world.get_run(run_id)
            doc = entity_json(run, key, decrypt=decrypt)
            doc["eventCount"] = tracker.count
            doc["snapshotBytes"] = None
            events = engine.world.list_events(run_id).data
            print_run(writer.out, doc, events, key, decrypt=decrypt)
            writer.out.print("[dim]following… (Ctrl-C stops watching; the run goes on)[/]")

        try:
            status = progress.follow(
                engine.world, run_id, writer, until_end=until_end, key=key, history=history
            )
        except KeyboardInterrupt:
            st.err.print(f"stopped watching run {run_id}", markup=False)
            raise typer.Exit(130) from None
    if st.json:
        emit_json({"runId": run_id, "status": engine.world.get_run(run_id)["status"]})
    if status in ("failed", "cancelled"):
        raise typer.Exit(EXIT_FAILED)
    raise typer.Exit(0)


@inspect_app.command("logs")
def inspect_logs(ctx: typer.Context, run_id: str, json_out: JsonOpt = False) -> None:
    """A run's log: its workflow's console output and its steps' print/logging, in order."""
    from wfctl.engine.runlogs import read_logs

    st = merge_json(ctx, json_out)
    with guarded(st):
        engine = _engine(st, None, need_app=False)
        engine.get_run(run_id)
        lines, _, locked = read_logs(engine.world, run_id, engine.run_key(run_id))
    if locked:
        st.err.print("note: some log lines are encrypted; set WFCTL_ENCRYPTION_KEY", markup=False)
    if st.json:
        emit_json({"data": lines, "cursor": None, "hasMore": False})
    else:
        render.logs_lines(st.out, lines)


def _all_steps(engine: Engine | Reader, run_id: str) -> list[dict[str, Any]]:
    return all_items(lambda c: engine.world.list_steps(run_id, cursor=c, limit=1000, sort="asc"))


@inspect_app.command("steps")
def inspect_steps(
    ctx: typer.Context, run_id: str, decrypt: DecryptOpt = False, json_out: JsonOpt = False
) -> None:
    """The steps of a run."""
    st = merge_json(ctx, json_out)
    with guarded(st):
        engine = _reader(st)
        engine.get_run(run_id)
        key = engine.run_key(run_id)
        items = [entity_json(s, key, decrypt=decrypt) for s in _all_steps(engine, run_id)]
    if st.json:
        emit_json({"data": items, "cursor": None, "hasMore": False})
    else:
        render.steps_table(st.out, items)


@inspect_app.command("events")
def inspect_events(
    ctx: typer.Context, run_id: str, decrypt: DecryptOpt = False, json_out: JsonOpt = False
) -> None:
    """The event log of a run, oldest first."""
    st = merge_json(ctx, json_out)
    with guarded(st):
        engine = _reader(st)
        engine.get_run(run_id)
        key = engine.run_key(run_id)
        page = engine.world.list_events(run_id)
        items = [entity_json(e, key, decrypt=decrypt) for e in page.data]
    if st.json:
        emit_json(_page_json(page, items))
    else:
        render.events_table(st.out, items)


@inspect_app.command("hooks")
def inspect_hooks(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option("--run", help="Only this run's hooks.")] = None,
    decrypt: DecryptOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Live hooks (all runs, or one run's)."""
    st = merge_json(ctx, json_out)
    with guarded(st):
        engine = _reader(st)
        if run:
            engine.get_run(run)
        page = engine.world.list_hooks(run_id=run, limit=1000)
        items = [entity_json(h, engine.run_key(h["runId"]), decrypt=decrypt) for h in page.data]
    if st.json:
        emit_json(_page_json(page, items))
    else:
        render.hooks_table(st.out, items)


@inspect_app.command("sleeps")
def inspect_sleeps(ctx: typer.Context, run_id: str, json_out: JsonOpt = False) -> None:
    """The durable timers of a run, from its events."""
    st = merge_json(ctx, json_out)
    with guarded(st):
        engine = _reader(st)
        engine.get_run(run_id)
        sleeps: dict[str, dict[str, Any]] = {}
        for e in engine.world.list_events(run_id).data:
            cid = e.get("correlationId") or ""
            if not cid.startswith("wait_"):
                continue
            if e["eventType"] == "wait_created":
                sleeps[cid] = {
                    "correlationId": cid,
                    "runId": run_id,
                    "eventId": e["eventId"],
                    "createdAt": e["createdAt"],
                    "resumeAt": (e.get("eventData") or {}).get("resumeAt"),
                }
            elif e["eventType"] == "wait_completed" and cid in sleeps:
                sleeps[cid]["completedAt"] = e["createdAt"]
        items = list(sleeps.values())
    if st.json:
        emit_json({"data": items, "cursor": None, "hasMore": False})
    else:
        render.sleeps_table(st.out, items)


# ---------------------------------------------------------------------------- replay


@app.command()
def replay(
    ctx: typer.Context,
    run_ids: Annotated[list[str] | None, typer.Argument(help="Runs to check.")] = None,
    all_runs: Annotated[bool, typer.Option("--all", help="Check every stored run.")] = False,
    runtime: Annotated[
        str, typer.Option("--runtime", help="replay (fresh VM) or snapshot (stored heap + delta).")
    ] = "replay",
    app_dir: AppOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Re-execute the current code against stored logs (nothing is written); exit 1 on divergence."""
    from wfctl.engine.replaycheck import check_run
    from wfctl.runtime.base import validate_runtime

    st = merge_json(ctx, json_out)
    with guarded(st):
        validate_runtime(runtime, "--runtime")
        if bool(run_ids) == all_runs:
            raise UsageError("give RUN_ID... or --all")
        engine = _engine(st, app_dir)
        ids = list(run_ids or [])
        if all_runs:
            ids = _all_run_ids(engine)
        for rid in ids:
            engine.get_run(rid)
        reports = []
        progress = None
        if st.interactive and len(ids) > 1:
            from rich.progress import Progress

            progress = Progress(transient=True)
            progress.start()
            task = progress.add_task("replaying", total=len(ids))
        try:
            for rid in ids:
                reports.append(check_run(engine, rid, runtime))
                if progress:
                    progress.advance(task)
        finally:
            if progress:
                progress.stop()
    ok = all(r.ok for r in reports)
    if st.json:
        emit_json({"ok": ok, "runs": [r.to_json() for r in reports]})
    else:
        for r in reports:
            if r.ok:
                st.out.print(f"[green]ok[/]        {r.run_id}")
            else:
                d = r.divergence or {}
                st.out.print(
                    f"[red]diverged[/]  {r.run_id} at event #{d.get('index')} ({d.get('eventId', '')})"
                )
                st.out.print(f"          expected: {d.get('expected')}", markup=False)
                st.out.print(f"          actual:   {d.get('actual')}", markup=False)
            for n in r.notes:
                st.err.print(f"note: {n}", markup=False)
        st.out.print(f"{sum(r.ok for r in reports)}/{len(reports)} runs reproduce their logs")
    if not ok:
        raise typer.Exit(EXIT_FAILED)


def _all_run_ids(engine: Engine) -> list[str]:
    runs = all_items(lambda c: engine.world.list_runs(cursor=c, limit=500, sort="asc"))
    return [r["runId"] for r in runs]


# ---------------------------------------------------------------------------- snapshot


@app.command(context_settings={"allow_extra_args": False})
def snapshot(
    ctx: typer.Context,
    words: Annotated[
        list[str],
        typer.Argument(
            metavar="[show|rm] RUN_ID", help="RUN_ID to (re)build; show RUN_ID; rm RUN_ID."
        ),
    ],
    app_dir: AppOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Build a run's snapshot at its current point, or show / remove it."""
    from wfctl.engine import snapshots

    st = merge_json(ctx, json_out)
    with guarded(st):
        if len(words) == 1:
            action, run_id = "build", words[0]
        elif len(words) == 2 and words[0] in ("show", "rm"):
            action, run_id = words
        else:
            raise UsageError(
                "usage: wfctl snapshot RUN_ID | snapshot show RUN_ID | snapshot rm RUN_ID"
            )
        if action == "build":
            doc = snapshots.build(_engine(st, app_dir), run_id)
        elif action == "show":
            doc = snapshots.show(_engine(st, None, need_app=False), run_id)
        else:
            doc = snapshots.remove(_engine(st, None, need_app=False), run_id)
    if st.json:
        emit_json(doc)
    else:
        for k, v in doc.items():
            st.out.print(f"{k}: {v}", markup=False)


# ---------------------------------------------------------------------------- hook, cancel, worker


@hook_app.command("resume")
def hook_resume(
    ctx: typer.Context,
    token: str,
    payload_json: Annotated[str | None, typer.Argument(metavar="[PAYLOAD_JSON]")] = None,
    app_dir: AppOpt = None,
    no_drive: Annotated[
        bool, typer.Option("--no-drive", help="Only record the payload; leave the run to a worker.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Deliver a payload to the hook holding TOKEN and drive its run."""
    st = merge_json(ctx, json_out)
    with guarded(st):
        value = None if payload_json is None else parse_json(payload_json, "PAYLOAD_JSON")
        engine = _engine(st, app_dir, need_app=not no_drive, live=True)
        try:
            with progress.ctrl_c(st.err, engine.world, engine.observer):
                res = engine.resume_hook(token, value, drive=not no_drive)
        except KeyboardInterrupt:
            _interrupted(st, engine)
        summary = _run_summary(engine, res)
    _print_run_result(st, summary, live=True)
    _exit_for_status(summary["status"])


@app.command()
def cancel(ctx: typer.Context, run_id: str, json_out: JsonOpt = False) -> None:
    """Cancel a pending or running run."""
    st = merge_json(ctx, json_out)
    with guarded(st):
        engine = _engine(st, None, need_app=False)
        res = engine.cancel(run_id)
    if st.json:
        doc: dict[str, Any] = {"runId": run_id, "status": res.status}
        if res.notes:
            doc["notes"] = res.notes
        emit_json(doc)
    elif res.notes:
        st.out.print(res.notes[0], markup=False)
    else:
        st.out.print(f"Cancelled run {run_id}")


@app.command()
def worker(
    ctx: typer.Context,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit when no run has work due.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Runs driven at once.")
    ] = 4,
    grace: Annotated[
        float,
        typer.Option("--grace", min=0, help="Wait in-process for timers due within S seconds."),
    ] = 5.0,
    app_dir: AppOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Drive runnable runs: new runs, due timers and retries, hook payloads, crashed runs."""
    from wfctl.engine.worker import run_worker

    st = merge_json(ctx, json_out)

    def report(p: Any) -> None:
        if not until_idle:  # a long-running worker tells as it goes; --until-idle fails at the end
            for problem in p.errors:
                st.err.print(f"error: {problem}", markup=False)
        if st.json:
            emit_json_line({"driven": p.driven, "events": p.events, "finished": p.finished})
        elif st.interactive and p.driven:
            st.out.print(f"drove {p.driven} run(s): {p.events} event(s), {p.finished} finished")

    with guarded(st):
        engine = _engine(st, app_dir, live=True)
        engine.observer.w.prefix_runs = True  # type: ignore[attr-defined]
        total = run_worker(
            engine, until_idle=until_idle, concurrency=concurrency, grace=grace, on_pass=report
        )
    if not st.json:
        st.out.print(
            f"worker idle: drove {total.driven} run invocation(s), wrote {total.events} event(s)"
        )


# ---------------------------------------------------------------------------- serve


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="0 = any free port.")
    ] = 3000,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Runs driven at once.")
    ] = 4,
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", help="Base URL of webhook URLs (default: the bound address)."),
    ] = None,
    api_token: Annotated[
        str | None,
        typer.Option(
            "--api-token",
            help="Require 'Authorization: Bearer TOKEN' on /api/* (env WFCTL_API_TOKEN); needed off loopback.",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check/--no-check",
            help="Refuse runs of an app whose useStep names are not all registered (default).",
        ),
    ] = True,
    app_dir: AppOpt = None,
) -> None:
    """Serve the HTTP API and webhooks, and drive runs (worker loop) in this process."""
    from wfctl.server.run import serve as run_server

    st = state(ctx)
    with guarded(st):
        run_server(
            app_dir=app_dir,
            world=open_store(st),
            host=host,
            port=port,
            concurrency=concurrency,
            public_url=public_url,
            api_token=api_token,
            check_steps=check,
        )


authoring.register(app)


# ---------------------------------------------------------------------------- web


@app.command()
def web(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 3456,
    app_dir: AppOpt = None,
) -> None:
    """Serve the web UI: runs, a run's timeline, steps, events, hooks (resume), logs."""
    st = state(ctx)
    with guarded(st):
        from wfctl.cli.webserve import serve

        target = app_dir or st.app_dir or resolve_app_dir(None)
        serve(st, host=host, port=port, app_dir=target)


# upgrade, rerun, fork, gc (runs pinned to their code): wfctl/cli/versions.py
from wfctl.cli import versions as _versions  # noqa: E402

_versions.register(app)
