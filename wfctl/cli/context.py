"""Shared CLI plumbing: options → world/app/engine, output, and error → exit code mapping."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from wfctl.errors import NotFoundError, UsageError, WfctlError
from wfctl.serde.depth import MAX_DEPTH, DepthError, check_depth
from worlds import World, default_target, is_postgres_target, open_world
from worlds import errors as werr

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3


@dataclass
class CliState:
    data_dir: Path
    json: bool = False
    debug: bool = False
    quiet: bool = False  # no workflow/step log lines on stderr
    wide: bool = False  # tables: every column, nothing cut
    app_dir: Path | None = None  # global --app (commands' own --app wins)
    # What open_world() gets: a postgresql:// URL or a local data directory (see resolve_target).
    world_target: str | None = None

    @property
    def out(self) -> Console:
        from rich.console import Console  # not loaded by commands that print JSON or nothing

        return Console(highlight=False)

    @property
    def err(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False, soft_wrap=True)

    @property
    def interactive(self) -> bool:
        return not self.json and sys.stdout.isatty()


def resolve_data_dir(flag: Path | None) -> Path:
    if flag is not None:
        return flag
    env = os.environ.get("WORKFLOW_LOCAL_DATA_DIR")
    return Path(env) if env else Path(".workflow-data")


# The top level's --app (wfctl --app DIR CMD ...): the default of every command's own --app.
global_app_dir: Path | None = None


def resolve_target(world: str | None, data_dir: Path | None) -> str:
    """``--world``, else ``--data-dir``, else ``$WFCTL_WORLD``, ``$WORKFLOW_LOCAL_DATA_DIR``,
    ``./.workflow-data`` (a ``postgresql://``/``postgres://`` URL selects PostgreSQL)."""
    if world is not None and data_dir is not None and is_postgres_target(world):
        raise UsageError("--data-dir names a local world; it cannot be combined with --world URL")
    if world:
        return world
    if data_dir is not None:
        return str(data_dir)
    return default_target()


def resolve_app_dir(flag: Path | None) -> Path:
    if flag is not None:
        return flag
    if global_app_dir is not None:
        return global_app_dir
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


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(doc: Any, *, indent: int | None = None) -> str:
    """JSON text that any stdout can carry: stored strings may hold lone surrogates
    (DECISIONS.md #13), which become ``\\uXXXX`` escapes (valid JSON); a stdout that is not
    UTF-8 gets pure ASCII."""
    utf8 = (getattr(sys.stdout, "encoding", "") or "").lower().replace("-", "") == "utf8"
    text = json.dumps(doc, ensure_ascii=not utf8, indent=indent, default=str)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if utf8 else text


def emit_json(doc: Any) -> None:
    sys.stdout.write(json_text(doc, indent=2) + "\n")


def emit_json_line(doc: Any) -> None:
    sys.stdout.write(json_text(doc) + "\n")
    sys.stdout.flush()


def safe_streams() -> None:
    """Rich output must never crash on a stored string: characters the terminal cannot
    encode (lone surrogates...) are written as backslash escapes."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a detached/odd stream
                pass


def _exit_code_for(exc: BaseException) -> tuple[int, str] | None:
    if isinstance(exc, WfctlError):
        return exc.exit_code, str(exc)
    if isinstance(exc, (werr.RunNotFoundError, werr.HookNotFoundError, werr.StepNotFoundError)):
        return EXIT_NOT_FOUND, str(exc)
    if isinstance(exc, werr.StoreUnavailableError):  # unreachable, bad login, no schema
        return EXIT_USAGE, str(exc)
    if isinstance(exc, werr.UnsafeEntityIdError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, werr.WorldError):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, OSError):
        return os_error(exc)
    from wfctl.serde.errors import PayloadError

    if isinstance(exc, PayloadError):
        return EXIT_FAILED, str(exc)
    from wfctl.serde.crypto import KeyConfigError

    if isinstance(exc, KeyConfigError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, (ValueError, TypeError)) and getattr(exc, "user_facing", False):
        return EXIT_USAGE, str(exc)
    return None


def os_error(exc: OSError) -> tuple[int, str]:
    """A filesystem problem as one sentence: access problems are configuration (exit 2),
    the rest (a full disk, an I/O error) a failure of this command (exit 1)."""
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    reason = exc.strerror or type(exc).__name__
    if isinstance(exc, PermissionError):
        return EXIT_USAGE, f"permission denied{where}: check the data directory's permissions"
    if isinstance(exc, (NotADirectoryError, IsADirectoryError)):
        return EXIT_USAGE, f"{reason.lower()}{where}: check --data-dir / --app"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return EXIT_FAILED, f"cannot write{where}: {reason.lower()} (nothing partial was committed)"
    return EXIT_FAILED, f"{reason}{where}"


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
    target = st.world_target if st.world_target is not None else str(st.data_dir)
    if not is_postgres_target(target):
        path = Path(target)
        if path.exists() and not path.is_dir():
            raise UsageError(f"data directory {target} is not a directory")
    return open_world(target)


def setup_logging(debug: bool) -> None:
    safe_streams()
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Steps' logging.info() is part of their log (wfctl.engine.runlogs): let INFO records
    # through the root logger, while the stderr handler keeps its own level.
    root = logging.getLogger()
    for h in root.handlers:
        h.setLevel(root.level)
    root.setLevel(min(root.level, logging.INFO))


def parse_arg(text: str) -> Any:
    """A CLI ARG: a JSON value, or a bare word taken as a string."""
    try:
        return _checked(json.loads(text), "an argument")
    except RecursionError:
        raise UsageError(f"an argument is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError:
        if text[:1] in '{["' or text.strip() in ("", "-"):
            raise UsageError(f"malformed JSON argument: {text!r}") from None
        return text


def parse_json(text: str, what: str) -> Any:
    """JSON given on the command line; ``@PATH`` reads it from a file, ``-`` from stdin (for
    values beyond the OS argument limit)."""
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise UsageError(f"cannot read {what} from {path}: {reason}") from None
    try:
        return _checked(json.loads(text), what)
    except RecursionError:
        raise UsageError(f"{what} is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except DepthError as exc:
        raise UsageError(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} is not valid JSON ({exc.msg} at position {exc.pos})") from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        msg = getattr(exc, "msg", str(exc))
        pos = getattr(exc, "pos", None)
        where = f" at position {pos}" if pos is not None else ""
        raise UsageError(f"{what} is not valid JSON ({msg}{where})") from None


def _checked(value: Any, what: str) -> Any:
    try:
        check_depth(value, what)
    except DepthError as exc:
        raise UsageError(str(exc)) from None
    return value


def require(cond: bool, message: str, exc: Callable[[str], Exception] = UsageError) -> None:
    if not cond:
        raise exc(message)


__all__ = ["NotFoundError"]
