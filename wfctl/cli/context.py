"""Shared CLI plumbing: options → world/app/engine, output, and error → exit code mapping."""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from wfctl.errors import NotFoundError, UsageError, WfctlError
from worlds import World, open_world
from worlds import errors as werr

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3


@dataclass
class CliState:
    data_dir: Path
    json: bool = False
    debug: bool = False

    @property
    def out(self) -> Console:
        return Console(highlight=False)

    @property
    def err(self) -> Console:
        return Console(stderr=True, highlight=False, soft_wrap=True)

    @property
    def interactive(self) -> bool:
        return not self.json and sys.stdout.isatty()


def resolve_data_dir(flag: Path | None) -> Path:
    if flag is not None:
        return flag
    env = os.environ.get("WORKFLOW_LOCAL_DATA_DIR")
    return Path(env) if env else Path(".workflow-data")


def resolve_app_dir(flag: Path | None) -> Path:
    if flag is not None:
        return flag
    env = os.environ.get("WFCTL_APP")
    return Path(env) if env else Path.cwd()


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj


def merge_json(ctx: typer.Context, flag: bool) -> CliState:
    st = state(ctx)
    st.json = st.json or flag
    return st


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n")


def emit_json_line(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _exit_code_for(exc: BaseException) -> tuple[int, str] | None:
    if isinstance(exc, WfctlError):
        return exc.exit_code, str(exc)
    if isinstance(exc, (werr.RunNotFoundError, werr.HookNotFoundError, werr.StepNotFoundError)):
        return EXIT_NOT_FOUND, str(exc)
    if isinstance(exc, werr.WorldError):
        return EXIT_FAILED, str(exc)
    from wfctl.serde.errors import PayloadError

    if isinstance(exc, PayloadError):
        return EXIT_FAILED, str(exc)
    from wfctl.serde.crypto import KeyConfigError

    if isinstance(exc, KeyConfigError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, (ValueError, TypeError)) and getattr(exc, "user_facing", False):
        return EXIT_USAGE, str(exc)
    return None


@contextmanager
def guarded(st: CliState) -> Iterator[None]:
    """One clear sentence on stderr and a stable exit code; a traceback only with --debug."""
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        st.err.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:
        mapped = _exit_code_for(exc)
        if st.debug:
            traceback.print_exc()
        if mapped is None:
            st.err.print(
                f"error: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
                markup=False,
            )
            raise typer.Exit(EXIT_FAILED) from None
        code, message = mapped
        st.err.print(f"error: {message}", markup=False)
        raise typer.Exit(code) from None


def open_store(st: CliState) -> World:
    return open_world(st.data_dir)


def setup_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def parse_arg(text: str) -> Any:
    """A CLI ARG: a JSON value, or a bare word taken as a string."""
    try:
        return json.loads(text)
    except ValueError:
        if text[:1] in '{["' or text.strip() in ("", "-"):
            raise UsageError(f"malformed JSON argument: {text!r}") from None
        return text


def parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} is not valid JSON ({exc.msg} at position {exc.pos})") from None
    except (ValueError, RecursionError) as exc:
        # Not a syntax error: e.g. an integer beyond Python's digit limit, or nesting too deep.
        raise UsageError(f"{what} cannot be read: {exc}") from None


def require(cond: bool, message: str, exc: Callable[[str], Exception] = UsageError) -> None:
    if not cond:
        raise exc(message)


__all__ = ["NotFoundError"]
