"""``wfctl db migrate`` / ``wfctl db status``: the store's schema (PostgreSQL world)."""

from __future__ import annotations

from typing import Annotated

import typer

from wfctl.cli.context import EXIT_FAILED, CliState, emit_json, guarded, merge_json, state
from worlds import World, is_postgres_target, open_world

db_app = typer.Typer(help="Create, upgrade and check the store's schema.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _open_unchecked(st: CliState) -> World:
    """The world without the schema check that every other command makes."""
    target = st.world_target if st.world_target is not None else str(st.data_dir)
    if is_postgres_target(target):
        from worlds.postgres import PostgresWorld

        return PostgresWorld(target, check_schema=False)
    return open_world(target)


@db_app.command("migrate")
def migrate(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Create or upgrade the schema (idempotent; safe when several processes run it at once)."""
    st = merge_json(ctx, json_out)
    with guarded(st):
        world = _open_unchecked(st)
        try:
            after = world.migrate()
            before = getattr(world, "migrated_from", after)
            status = world.schema_status()
        finally:
            world.close()
        if st.json:
            emit_json({**status, "migratedFrom": before})
        elif before == after:
            st.out.print(f"{status['world']} world: schema version {after}, already current")
        else:
            st.out.print(f"{status['world']} world: schema migrated from {before} to {after}")


@db_app.command("status")
def status(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Show the schema version; exit 1 when it is older than this wfctl needs."""
    st = merge_json(ctx, json_out)
    with guarded(st):
        world = _open_unchecked(st)
        try:
            doc = world.schema_status()
        finally:
            world.close()
    if st.json:
        emit_json(doc)
    else:
        hint = "current" if doc["current"] else "out of date: run `wfctl db migrate`"
        st.out.print(f"{doc['world']} world: schema version {doc['schemaVersion']} ({hint})")
    if not doc["current"]:
        raise typer.Exit(EXIT_FAILED)


__all__ = ["db_app", "state"]
