"""What upstream world-local does on its first storage call, as a separate process: move every
flat ``events/<runId>-<id>.json`` / ``steps/...`` file into ``<dir>/<runId>/`` under the same
name (one rename each). ``--half`` moves every other file of each run (a conversion cut short).

Usage: python convert.py <data-dir> [--half]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def convert(root: Path, half: bool) -> int:
    moved = 0
    for kind in ("events", "steps"):
        directory = root / kind
        if not directory.is_dir():
            continue
        for i, name in enumerate(sorted(os.listdir(directory))):
            path = directory / name
            if not name.endswith(".json") or not path.is_file() or (half and i % 2):
                continue
            run_id = json.loads(path.read_text())["runId"]
            (directory / run_id).mkdir(exist_ok=True)
            os.rename(path, directory / run_id / name)
            moved += 1
    return moved


if __name__ == "__main__":
    print(convert(Path(sys.argv[1]), "--half" in sys.argv[2:]))
