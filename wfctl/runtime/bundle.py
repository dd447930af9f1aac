"""The workflow bundle: the app's JS modules plus wfctl's in-VM runtime, as the VM sees them.

A bundle knows how to resolve imports (``"workflow"`` → the in-VM runtime, relative paths →
the app's own ``.js`` files, nothing else) and has a ``code_hash`` over every source that can
change VM behaviour. Snapshots record that hash: a snapshot taken with other code is refused
and the run falls back to replay.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from wfctl.errors import AppError

RUNTIME_MODULES = {
    "workflow": "workflow.js",
    "wfctl:devalue": "devalue.js",
    "wfctl:determinism": "determinism.js",
}
# Two entries, evaluated one after the other (runtime/machine.py): the runtime alone, after
# which the host captures its entry points (before any app code runs), then the app, whose
# namespace is handed over through a global the captured __wf_bind takes and deletes.
RUNTIME_ENTRY_NAME = "/__wfctl_runtime__.js"
RUNTIME_ENTRY_SOURCE = 'import "workflow";\n'
ENTRY_NAME = "/__wfctl_entry__.js"
ENTRY_SOURCE = 'import * as app from "./workflows.js";\nglobalThis.__wf_app = app;\n'
PRIVATE_BASES = (*RUNTIME_MODULES, RUNTIME_ENTRY_NAME, ENTRY_NAME)


def _runtime_source(filename: str) -> str:
    return resources.files("wfctl.runtime").joinpath("js", filename).read_text(encoding="utf-8")


@dataclass
class Bundle:
    """The JS sources of one app, loaded once and served to every VM."""

    app_dir: Path
    sources: dict[str, str] = field(default_factory=dict)  # resolved name -> source

    @classmethod
    def load(cls, app_dir: Path) -> Bundle:
        app_dir = Path(app_dir).resolve()
        entry = app_dir / "workflows.js"
        if not entry.is_file():
            raise AppError(f"no workflows.js in {app_dir} (pass --app DIR or set WFCTL_APP)")
        bundle = cls(app_dir=app_dir)
        for name, filename in RUNTIME_MODULES.items():
            bundle.sources[name] = _runtime_source(filename)
        bundle.sources[RUNTIME_ENTRY_NAME] = RUNTIME_ENTRY_SOURCE
        bundle.sources[ENTRY_NAME] = ENTRY_SOURCE
        # Read every app module up front: the VM must never see a file change mid-run, and the
        # code hash must cover exactly what the VM can import.
        for path in sorted(app_dir.rglob("*.js")):
            if any(
                part.startswith(".") or part == "node_modules"
                for part in path.relative_to(app_dir).parts
            ):
                continue
            rel = "/" + path.relative_to(app_dir).as_posix()
            bundle.sources[rel] = path.read_text(encoding="utf-8")
        return bundle

    @property
    def code_hash(self) -> str:
        h = hashlib.sha256()
        for name in sorted(self.sources):
            h.update(name.encode())
            h.update(b"\0")
            h.update(self.sources[name].encode())
            h.update(b"\0")
        return h.hexdigest()

    def resolve(self, base: str, requested: str) -> tuple[str, str]:
        """ModuleLoader for the VM: (importing module, specifier) -> (resolved name, source)."""
        if requested in RUNTIME_MODULES:
            if requested.startswith("wfctl:") and base not in PRIVATE_BASES:
                raise AppError(
                    f"cannot import '{requested}' from {base}: it is internal to wfctl's runtime"
                )
            return requested, self.sources[requested]
        if requested.startswith(("./", "../", "/")):
            base_dir = posixpath.dirname(base) if base.startswith("/") else "/"
            name = posixpath.normpath(posixpath.join(base_dir, requested))
            if not name.endswith(".js") and name + ".js" in self.sources:
                name += ".js"
            if name in self.sources:
                return name, self.sources[name]
            raise AppError(
                f"cannot resolve import '{requested}' from {base}: no such module in the app"
            )
        raise AppError(
            f"cannot import '{requested}' from {base}: workflows may import only \"workflow\" and "
            "relative .js files of the app"
        )
