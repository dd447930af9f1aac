"""Subprocess for the write-behind race test: ``python _racer.py <data_dir> <run_id> <go_file>
<count> [lease]``.

Waits for ``go_file``, then tries to create ``step_created`` for ``step_0..count-1`` of the
run, printing one JSON line per attempt. With ``lease`` it first takes the run's lease (so
its writes go through the write-behind path, projections deferred) and writes each step as
the engine does: ``step_created`` + ``step_started`` in one batch, then ``step_completed``
with ``durable=False``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import ExitStack

from worlds import open_world


def main() -> None:
    data_dir, run_id, go_file, count = sys.argv[1:5]
    leased = len(sys.argv) > 5 and sys.argv[5] == "lease"
    world = open_world(data_dir)
    with ExitStack() as stack:
        if leased:
            stack.enter_context(world.lease(run_id, wait=None))
        print("ready", flush=True)
        while not os.path.exists(go_file):
            time.sleep(0.001)
        for i in range(int(count)):
            cid = f"step_{i}"
            data = {"stepName": "step//x//f", "input": f"{os.getpid()}".encode()}
            if leased:
                res = world.create_events(
                    run_id, [("step_created", cid, data), ("step_started", cid, None)]
                )
                won = res[0].conflict is None
                if won and res[1].conflict is None:
                    world.create_events(
                        run_id,
                        [("step_completed", cid, {"result": b"devl[1]"})],
                        durable=False,
                    )
            else:
                (res0,) = world.create_events(run_id, [("step_created", cid, data)])
                won = res0.conflict is None
            print(json.dumps({"i": i, "won": won, "leased": leased}), flush=True)
    world.close()


if __name__ == "__main__":
    main()
