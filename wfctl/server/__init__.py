"""``wfctl serve``: the HTTP API (``/api/*``), webhooks and health, on Starlette + uvicorn."""

from .app import create_app

__all__ = ["create_app"]
