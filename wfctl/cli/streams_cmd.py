"""``wfctl inspect stream`` / ``inspect streams``: read what steps wrote with getWritable()."""

from __future__ import annotations

from typing import Annotated

import typer

from wfctl.cli.context import CliState, emit_json, emit_json_line, guarded, merge_json, open_store
from wfctl.errors import NotFoundError
from worlds import World
from worlds.errors import RunNotFoundError

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def register(inspect_app: typer.Typer) -> None:
    @inspect_app.command("stream")
    def inspect_stream(
        ctx: typer.Context,
        run_id: str,
        namespace: Annotated[
            str | None,
            typer.Option("--namespace", help="A named stream (getWritable({namespace}))."),
        ] = None,
        start_index: Annotated[
            int,
            typer.Option("--start-index", help="First chunk; negative counts back from the end."),
        ] = 0,
        follow: Annotated[
            bool,
            typer.Option(
                "--follow", help="Wait for new chunks until the stream closes or the run ends."
            ),
        ] = False,
        json_out: JsonOpt = False,
    ) -> None:
        """The chunks of a run stream, in order (--json: one {"index","data"} line per chunk)."""
        st = merge_json(ctx, json_out)
        # The streams module (asyncio, the payload codec) only for these two commands.
        from wfctl.streams import chunk_json, read_stream, run_key

        with guarded(st):
            world = _store_with_run(st, run_id)
            try:
                for chunk in read_stream(
                    run_id,
                    namespace=namespace,
                    start_index=start_index,
                    follow=follow,
                    world=world,
                    key=run_key(run_id),
                ):
                    if st.json:
                        emit_json_line(chunk_json(chunk))
                    elif isinstance(chunk.data, str):
                        st.out.print(chunk.data, end="", markup=False, highlight=False)
                    else:
                        st.out.print(
                            repr(chunk.data)
                            if isinstance(chunk.data, bytes)
                            else chunk_json(chunk)["data"],
                            markup=False,
                        )
            finally:
                world.close()

    @inspect_app.command("streams")
    def inspect_streams(
        ctx: typer.Context,
        run_id: str,
        json_out: JsonOpt = False,
    ) -> None:
        """A run's streams with their tail index and done flag."""
        st = merge_json(ctx, json_out)
        # The streams module (asyncio, the payload codec) only for these two commands.
        from wfctl.streams import stream_name

        with guarded(st):
            world = _store_with_run(st, run_id)
            try:
                items = []
                default = stream_name(run_id)
                for name in world.list_streams(run_id):
                    info = world.read_stream_chunks(run_id, name, start=1 << 62)
                    items.append(
                        {
                            "name": name,
                            "namespace": _namespace_of(name, default),
                            "tailIndex": info.tail_index,
                            "done": info.done,
                        }
                    )
            finally:
                world.close()
        if st.json:
            emit_json({"data": items, "cursor": None, "hasMore": False})
            return
        if not items:
            st.out.print("no streams", markup=False)
        for it in items:
            ns = it["namespace"] if it["namespace"] is not None else "(default)"
            state = "done" if it["done"] else "open"
            st.out.print(f"{it['name']}  {ns}  tail {it['tailIndex']}  {state}", markup=False)


def _store_with_run(st: CliState, run_id: str) -> World:
    """The store, once it is known to hold ``run_id`` (exit 3 otherwise, store closed)."""
    world = open_store(st)
    try:
        world.get_run(run_id)
    except RunNotFoundError:
        world.close()
        raise NotFoundError(f"run {run_id} not found") from None
    return world


def _namespace_of(name: str, default: str) -> str | None:
    import base64  # noqa: PLC0415

    if name == default:
        return None
    if name.startswith(default + "_"):
        enc = name[len(default) + 1 :]
        try:
            return base64.urlsafe_b64decode(enc + "=" * (-len(enc) % 4)).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return enc
    return name
