"""The web UI (``wfctl web``): server-rendered pages over the world, actions through the engine.

``create_ui_app(engine_factory=..., data_dir=..., app_dir=...)`` returns a Starlette app that
``wfctl serve`` mounts at ``/``.
"""

from __future__ import annotations

from typing import Any


def create_ui_app(*args: Any, **kwargs: Any) -> Any:
    from wfctl.web.app import create_ui_app as make

    return make(*args, **kwargs)


__all__ = ["create_ui_app"]
