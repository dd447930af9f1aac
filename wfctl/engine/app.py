"""Loading an app directory: ``workflows.js`` (the bundle) and ``steps.py`` (the steps)."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

from wfctl.engine.codestore import narrow
from wfctl.engine.registry import StepDef, _collecting
from wfctl.errors import AppError
from wfctl.runtime.bundle import Bundle

WORKFLOW_PREFIX = "workflow//./workflows//"
STEP_PREFIX = "step//./steps//"


def workflow_id(export: str) -> str:
    return export if export.startswith("workflow//") else WORKFLOW_PREFIX + export


def short_name(name: str) -> str:
    return name.rsplit("//", 1)[-1]


@dataclass
class App:
    app_dir: Path
    bundle: Bundle
    steps: dict[str, StepDef] = field(default_factory=dict)

    @classmethod
    def load(cls, app_dir: str | Path) -> App:
        app_dir = Path(app_dir).resolve()
        if not app_dir.is_dir():
            raise AppError(f"app directory {app_dir} does not exist")
        # Only workflows.js and what it imports: the code a run is pinned to (engine.codestore).
        bundle = narrow(Bundle.load(app_dir))
        return cls(app_dir=app_dir, bundle=bundle, steps=_import_steps(app_dir))

    def step(self, step_name: str) -> StepDef | None:
        return self.steps.get(short_name(step_name))


def _import_steps(app_dir: Path) -> dict[str, StepDef]:
    path = app_dir / "steps.py"
    if not path.is_file():
        return {}
    # A unique module name per app directory, so two apps in one process do not collide.
    mod_name = "wfctl_app_" + hashlib.sha1(str(app_dir).encode()).hexdigest()[:12] + "_steps"
    if mod_name in sys.modules:
        # Imported before in this process: decorators do not run again, so reuse what they
        # collected then (steps defined in helper modules are not bound in steps.py).
        module = sys.modules[mod_name]
        return {**getattr(module, "__wfctl_steps__", {}), **_scan(module)}
    found: dict[str, StepDef] = {}
    token = _collecting.set(found)
    sys.path.insert(0, str(app_dir))
    try:
        spec = importlib.util.spec_from_file_location(mod_name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            sys.modules.pop(mod_name, None)
            raise AppError(f"syntax error in {exc.filename}:{exc.lineno}: {exc.msg}") from exc
        except Exception as exc:
            sys.modules.pop(mod_name, None)
            raise AppError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        _collecting.reset(token)
        try:
            sys.path.remove(str(app_dir))
        except ValueError:
            pass
    found.update(_scan(module))
    module.__wfctl_steps__ = dict(found)  # type: ignore[attr-defined]
    return found


def _scan(module: object) -> dict[str, StepDef]:
    """Steps reachable from the module's globals (covers helper modules imported earlier)."""
    out: dict[str, StepDef] = {}
    for value in vars(module).values():
        sd = getattr(value, "__wfctl_step__", None)
        if isinstance(sd, StepDef):
            out[sd.name] = sd
    return out
