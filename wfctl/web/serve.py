"""``wfctl web``: the UI app on uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wfctl.engine.app import App
from wfctl.engine.engine import Engine
from wfctl.errors import WfctlError


def serve(st: Any, *, host: str, port: int, app_dir: Path) -> None:
    import uvicorn

    from wfctl.cli.context import open_store
    from wfctl.web.app import create_ui_app

    world = open_store(st)
    try:
        application: App | None = App.load(app_dir)
    except WfctlError as exc:
        # Reading runs needs no app; actions that drive runs then wait for a worker.
        st.err.print(f"note: no app loaded ({exc}); runs are shown, not driven", markup=False)
        application = None
    engine = Engine(world, application)
    ui = create_ui_app(lambda: engine)
    shown = f"http://{host}:{port}/" if port else f"http://{host}:<port>/"
    st.err.print(f"wfctl web on {shown} (data: {st.data_dir}); Ctrl-C stops", markup=False)
    uvicorn.run(ui, host=host, port=port, log_level="warning", access_log=False)
