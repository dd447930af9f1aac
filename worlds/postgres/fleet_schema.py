"""Schema of the worker fleet (migration 2): the run queue and the lease history.

Both are filled by triggers on the world's own tables, so a queue row is written in the same
transaction as the event that made the run runnable, whoever writes the event (a worker, `wfctl
start`, `wfctl hook resume` from another host), and no world write path needs to know about it.

``run_queue`` holds at most one row per run: ``due_at`` is when a worker should look at it.
A claim moves ``due_at`` to now + visibility timeout and stamps ``claim_id``; the claimer's ack
deletes the row or moves it to the run's next due time. A claimer that dies simply lets the row
come due again. An outside wake-up (hook payload, cancellation) arriving while the row is
claimed sets ``wakeup`` instead of moving ``due_at``, so the holder's ack makes it due at once.

``lease_history`` keeps one row per (run, epoch) of ``run_leases``: who held it, when it was
acquired, its last expiry, when it was released. Tests use it to prove that no run was driven
by two workers at once; operators use it to see takeovers.
"""

from __future__ import annotations

from worlds.postgres import migrations

VERSION = 2

RUNNABLE_NOW = ("run_created", "hook_received", "run_cancelled")
RUNNABLE_LATER = ("wait_created", "step_retrying")
FINISHED = ("run_completed", "run_failed")


def channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel of the schema's runnable runs (a hint, never the truth)."""
    return f"{schema}_runnable"


def _quoted(types: tuple[str, ...]) -> str:
    return ", ".join(f"'{t}'" for t in types)


def _template() -> str:
    """Migration 2 as SQL text with ``{s}`` for the quoted schema (see ``migrations``)."""
    s = "{s}"
    return f"""
CREATE TABLE {s}.run_queue (
    run_id      text PRIMARY KEY,
    due_at      timestamptz NOT NULL,
    claim_id    text,
    claimed_by  text,
    wakeup      boolean NOT NULL DEFAULT false,
    attempts    integer NOT NULL DEFAULT 0
);
CREATE INDEX run_queue_due ON {s}.run_queue (due_at);

CREATE TABLE {s}.lease_history (
    run_id      text NOT NULL,
    epoch       bigint NOT NULL,
    owner       text NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    released_at timestamptz,
    PRIMARY KEY (run_id, epoch)
);

CREATE FUNCTION {s}.enqueue_runnable() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    due timestamptz;
BEGIN
    IF NEW.event_type IN ({_quoted(FINISHED)}) THEN
        DELETE FROM {s}.run_queue WHERE run_id = NEW.run_id;
    ELSIF NEW.event_type IN ({_quoted(RUNNABLE_NOW)}) THEN
        INSERT INTO {s}.run_queue AS q (run_id, due_at) VALUES (NEW.run_id, now())
        ON CONFLICT (run_id) DO UPDATE SET
            due_at = CASE WHEN q.claim_id IS NULL THEN LEAST(q.due_at, now()) ELSE q.due_at END,
            wakeup = q.claim_id IS NOT NULL;
        PERFORM pg_notify(TG_TABLE_SCHEMA || '_runnable', NEW.run_id);
    ELSE
        -- a timer or a retry: due at its time. A claimed row is left alone: its holder acks
        -- with the run's next due time (and if the holder dies, the claim comes due anyway).
        due := COALESCE(NEW.doc::jsonb #>> '{{{{eventData,resumeAt}}}}',
                        NEW.doc::jsonb #>> '{{{{eventData,retryAfter}}}}')::timestamptz;
        INSERT INTO {s}.run_queue AS q (run_id, due_at) VALUES (NEW.run_id, COALESCE(due, now()))
        ON CONFLICT (run_id) DO UPDATE SET due_at = LEAST(q.due_at, EXCLUDED.due_at)
            WHERE q.claim_id IS NULL;
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER enqueue_runnable AFTER INSERT ON {s}.events FOR EACH ROW
    WHEN (NEW.event_type IN ({_quoted(RUNNABLE_NOW + RUNNABLE_LATER + FINISHED)}))
    EXECUTE FUNCTION {s}.enqueue_runnable();

CREATE FUNCTION {s}.record_lease() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF NEW.owner IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.epoch <> OLD.epoch) THEN
        INSERT INTO {s}.lease_history (run_id, epoch, owner, acquired_at, expires_at)
        VALUES (NEW.run_id, NEW.epoch, NEW.owner, clock_timestamp(), NEW.expires_at)
        ON CONFLICT DO NOTHING;
    ELSIF NEW.owner IS NULL THEN
        UPDATE {s}.lease_history SET released_at = clock_timestamp()
        WHERE run_id = NEW.run_id AND epoch = NEW.epoch AND released_at IS NULL;
    ELSE
        UPDATE {s}.lease_history SET expires_at = NEW.expires_at
        WHERE run_id = NEW.run_id AND epoch = NEW.epoch;
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER record_lease AFTER INSERT OR UPDATE ON {s}.run_leases FOR EACH ROW
    EXECUTE FUNCTION {s}.record_lease();
"""


def migration_sql(schema: str) -> str:
    """Migration 2 for one schema, as it is applied."""
    return _template().format(s=f'"{schema}"')


migrations.register(VERSION, _template())
