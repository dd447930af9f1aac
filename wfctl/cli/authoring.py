"""`wfctl check` and `wfctl types`: catch authoring mistakes before a run exists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wfctl.cli.context import emit_json, guarded, merge_json, resolve_app_dir, state
from wfctl.engine.app import App
from wfctl.errors import AppError

AppOpt = Annotated[
    Path | None, typer.Option("--app", help="App directory (default: $WFCTL_APP or .).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def check_cmd(ctx: typer.Context, app_dir: AppOpt = None, json_out: JsonOpt = False) -> None:
    """Check the app: every useStep name has a registered Python step (exit 2 if not)."""
    st = merge_json(ctx, json_out)
    with guarded(st):
        from wfctl.engine.check import check_app  # loaded by this command only (issue 9)

        report = check_app(App.load(resolve_app_dir(app_dir)))
        if st.json:
            emit_json(
                {
                    "ok": report.ok,
                    "errors": report.errors(),
                    "warnings": report.warnings(),
                    "steps": sorted({u.name for u in report.used}),
                }
            )
        else:
            for line in report.errors():
                st.err.print(f"error: {line}", markup=False)
            for line in report.warnings():
                st.err.print(f"warning: {line}", markup=False)
            if report.ok:
                st.out.print(f"ok: {len({u.name for u in report.used})} step name(s) checked")
        if not report.ok:
            raise typer.Exit(2)


def types_cmd(
    ctx: typer.Context,
    app_dir: AppOpt = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write (default: APP/workflow-steps.d.ts)."),
    ] = None,
) -> None:
    """Write workflow-steps.d.ts: TypeScript signatures of the Python steps, for editors."""
    st = state(ctx)
    with guarded(st):
        application = App.load(resolve_app_dir(app_dir))
        if not application.steps:
            raise AppError(f"{application.app_dir / 'steps.py'} registers no steps")
        target = output or application.app_dir / "workflow-steps.d.ts"
        from wfctl.engine.dts import render_dts

        target.write_text(render_dts(application.steps), encoding="utf-8")
        st.out.print(f"wrote {target} ({len(application.steps)} steps)")


def register(app: typer.Typer) -> None:
    app.command("check")(check_cmd)
    app.command("types")(types_cmd)
