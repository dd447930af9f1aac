"""Subprocess worker for the world tests: ``python _worker.py <mode> <data_dir> [args...]``.

Modes:
  race <kind> <run_id> <go_file> <count>   wait for <go_file>, then create <count> entities
                                           (kind: step | wait | hook | token) and print one
                                           JSON result per attempt
  churn <run_id>                           write events in a tight loop until killed
  append <run_id> <count>                  append <count> step_created events
  lease <run_id>                           take the run's lease, print "held", sleep forever
  tokens <run_id>                          create/dispose hooks on 5 shared tokens until killed
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

from worlds import EntityConflictError, WorldError, open_world


def race(world, kind: str, run_id: str, go_file: str, count: int) -> None:
    print("ready", flush=True)
    while not os.path.exists(go_file):
        time.sleep(0.001)
    pid = os.getpid()
    for i in range(count):
        try:
            if kind == "step":
                r = world.create_event(
                    run_id,
                    "step_created",
                    correlation_id=f"step_{i}",
                    event_data={"stepName": "step//x//f", "input": f"{pid}".encode()},
                )
            elif kind == "wait":
                r = world.create_event(
                    run_id,
                    "wait_created",
                    correlation_id=f"wait_{i}",
                    event_data={"resumeAt": "2030-01-01T00:00:00.000Z"},
                )
            elif kind == "hook":  # same run, same hook id: a duplicate hook_created
                r = world.create_event(
                    run_id,
                    "hook_created",
                    correlation_id=f"hook_{i}",
                    event_data={"token": f"same-{i}", "isWebhook": False},
                )
            else:  # token: every process has its own run and hook, the token is shared
                r = world.create_event(
                    run_id,
                    "hook_created",
                    correlation_id=f"hook_{pid}_{i}",
                    event_data={"token": f"shared-{i}", "isWebhook": False},
                )
            out = {"i": i, "ok": r.event["eventType"], "run": run_id}
        except EntityConflictError:
            out = {"i": i, "conflict": True, "run": run_id}
        except WorldError as exc:
            out = {"i": i, "error": f"{type(exc).__name__}: {exc}", "run": run_id}
        print(json.dumps(out), flush=True)


def churn(world, run_id: str) -> None:
    """Exercise every projection path, forever; ids carry the pid so restarts never collide."""
    pid = os.getpid()
    i = 0
    while True:
        tag = f"{pid}_{i}"
        try:
            sid = f"step_{tag}"
            world.create_event(
                run_id,
                "step_created",
                correlation_id=sid,
                event_data={"stepName": "step//x//f", "input": b"in" * 50},
            )
            world.create_event(run_id, "step_started", correlation_id=sid)
            if i % 3 == 0:
                world.create_event(
                    run_id,
                    "step_retrying",
                    correlation_id=sid,
                    event_data={"error": b"err", "stack": "Error: x", "message": "x"},
                )
                world.create_event(run_id, "step_started", correlation_id=sid)
            world.create_event(
                run_id, "step_completed", correlation_id=sid, event_data={"result": b"ok"}
            )
            if i % 2 == 0:
                hid = f"hook_{tag}"
                world.create_event(
                    run_id,
                    "hook_created",
                    correlation_id=hid,
                    event_data={"token": f"churn-{tag}", "isWebhook": False},
                )
                world.create_event(
                    run_id, "hook_received", correlation_id=hid, event_data={"payload": b"p"}
                )
                world.create_event(run_id, "hook_disposed", correlation_id=hid)
            if i % 2 == 1:
                wid = f"wait_{tag}"
                world.create_event(
                    run_id,
                    "wait_created",
                    correlation_id=wid,
                    event_data={"resumeAt": "2030-01-01T00:00:00.000Z"},
                )
                world.create_event(run_id, "wait_completed", correlation_id=wid)
        except EntityConflictError:
            pass
        i += 1


def tokens(world, run_id: str) -> None:
    rng = random.Random(os.getpid())
    i = 0
    while True:
        hook_id = f"hook_{os.getpid()}_{i}"
        token = f"tok-{rng.randrange(5)}"
        r = world.create_event(
            run_id, "hook_created", correlation_id=hook_id, event_data={"token": token}
        )
        if r.event["eventType"] == "hook_created" and rng.random() < 0.7:
            world.create_event(run_id, "hook_disposed", correlation_id=hook_id)
        i += 1


def main() -> None:
    mode, data_dir, *args = sys.argv[1:]
    world = open_world(data_dir)
    if mode == "race":
        kind, run_id, go_file, count = args
        race(world, kind, run_id, go_file, int(count))
    elif mode == "churn":
        print("ready", flush=True)
        churn(world, args[0])
    elif mode == "append":
        run_id, count = args
        for i in range(int(count)):
            world.create_event(
                run_id,
                "step_created",
                correlation_id=f"step_{os.getpid()}_{i}",
                event_data={"stepName": "step//x//f", "input": b"x"},
            )
    elif mode == "tokens":
        print("ready", flush=True)
        tokens(world, args[0])
    elif mode == "lease":
        with world.lease(args[0]):
            print("held", flush=True)
            while True:
                time.sleep(1)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
