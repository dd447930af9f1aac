"""An idle `wfctl worker` on the local world: silent, and no measurable CPU.

Runs waiting on hooks are driven once, then left alone until something happens to them (a hook
payload delivered from another process is picked up at the next bounded rescan).
"""

from __future__ import annotations

import time

from fleet_support import FLEET_APP, cpu_seconds, spawn_worker, stop, wait_until

from wfctl.engine.app import App
from wfctl.engine.engine import Engine
from worlds import open_world

N_RUNS = 40
IDLE_S = 3.0


def test_idle_worker_is_silent_and_cheap(tmp_path):
    data = tmp_path / "data"
    with open_world(data) as world:
        engine = Engine(world, App.load(FLEET_APP))
        ids = [engine.start("waitHook", [f"idle:{k}"], wait=False).run_id for k in range(N_RUNS)]

    worker = spawn_worker(str(data), "--json")
    try:
        with open_world(data) as world:
            wait_until(
                lambda: len(world.list_hooks(limit=1000).data) == N_RUNS,
                120,
                "every run on its hook",
            )
            # the first pass drove them all and said so; from now on the worker is idle
            time.sleep(0.5)
            cpu0, t0 = cpu_seconds(worker.pid), time.monotonic()
            time.sleep(IDLE_S)
            used = (cpu_seconds(worker.pid) - cpu0) / (time.monotonic() - t0)
            print(f"idle worker: {used:.2%} of a core with {N_RUNS} runs on hooks")
            assert used < 0.03, f"an idle worker used {used:.1%} of a core"

            # a payload delivered by another process (no drive there) is picked up
            engine = Engine(world, App.load(FLEET_APP))
            engine.resume_hook("idle:7", {"n": 41}, drive=False)
            run = wait_until(
                lambda: (r := world.get_run(ids[7]))["status"] == "completed" and r,
                30,
                "the resumed run to complete",
            )
            assert run["status"] == "completed"
            assert world.get_run(ids[8])["status"] == "running"
    finally:
        stop(worker)
    out = worker.stdout.read().decode()
    lines = [ln for ln in out.splitlines() if ln.strip()]
    # one line for the first pass (maybe split in two), one for the resumed run; none while idle
    assert 1 <= len(lines) <= 4, out
