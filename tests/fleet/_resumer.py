"""Delivers hook payloads from a process of its own (not a worker): every live hook whose token
is ``fleet:<i>`` gets ``{"n": 1000 + i}`` without driving the run here. Exits once it delivered
``count`` payloads. Usage: python _resumer.py WORLD_URL COUNT"""

from __future__ import annotations

import sys
import time

from wfctl.engine.engine import Engine
from wfctl.errors import NotFoundError
from worlds import open_world


def main(url: str, count: int) -> None:
    delivered: set[str] = set()
    with open_world(url) as world:
        engine = Engine(world)
        while len(delivered) < count:
            hooks = world.list_hooks(limit=1000).data
            fresh = [h for h in hooks if h["token"] not in delivered]
            for hook in fresh:
                token = hook["token"]
                i = int(token.split(":", 1)[1])
                try:
                    engine.resume_hook(token, {"n": 1000 + i}, drive=False)
                except NotFoundError:
                    continue  # already resumed and disposed in between
                delivered.add(token)
            if not fresh:
                time.sleep(0.1)
    print(len(delivered), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
