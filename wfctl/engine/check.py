"""Authoring checks that need no run: step names the workflows use vs. the steps Python registers.

The workflow side is read statically from the bundle's sources (``useStep("name")`` with a
string literal), not by evaluating it in the VM: a name used only inside a function body is found
too, and the check costs a regex scan, so ``wfctl start`` can afford it on every call. A
``useStep`` whose argument is not a literal cannot be checked; it is reported as a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wfctl.engine.app import App, short_name
from wfctl.errors import AppError
from wfctl.runtime.bundle import RUNTIME_MODULES

# useStep( "name" | 'name' | `name` ) — a template literal only without ${...}.
_LITERAL = re.compile(r"""\buseStep\s*\(\s*(?:"([^"\\\n]*)"|'([^'\\\n]*)'|`([^`\\$]*)`)\s*[,)]""")
_ANY_CALL = re.compile(r"\buseStep\s*\(")
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


@dataclass(frozen=True)
class StepUse:
    name: str  # short step name, as steps.py registers it
    module: str  # bundle module name, e.g. "/workflows.js"
    line: int


@dataclass
class CheckReport:
    used: list[StepUse] = field(default_factory=list)
    missing: list[StepUse] = field(default_factory=list)  # used, not registered: errors
    unused: list[str] = field(default_factory=list)  # registered, never used: warnings
    dynamic: list[StepUse] = field(default_factory=list)  # non-literal names: not checkable

    @property
    def ok(self) -> bool:
        return not self.missing

    def errors(self) -> list[str]:
        return [
            f"{u.module.lstrip('/')}:{u.line}: useStep({u.name!r}): no step named {u.name!r} "
            "is registered in steps.py"
            for u in self.missing
        ]

    def warnings(self) -> list[str]:
        out = [f"steps.py registers {name!r}, which no workflow uses" for name in self.unused]
        out += [
            f"{u.module.lstrip('/')}:{u.line}: useStep with a computed name cannot be checked"
            for u in self.dynamic
        ]
        return out


def _blank_comments(source: str) -> str:
    """Comments replaced by spaces of the same shape, so offsets and line numbers survive."""
    return _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), source)


def step_uses(sources: dict[str, str]) -> tuple[list[StepUse], list[StepUse]]:
    """(literal uses, computed uses) of ``useStep`` in the app's own modules."""
    literal: list[StepUse] = []
    dynamic: list[StepUse] = []
    for module, source in sorted(sources.items()):
        if module in RUNTIME_MODULES or not module.endswith(".js"):
            continue
        text = _blank_comments(source)
        literal_at: set[int] = set()
        for m in _LITERAL.finditer(text):
            name = next(g for g in m.groups() if g is not None)
            literal_at.add(m.start())
            literal.append(StepUse(short_name(name), module, text.count("\n", 0, m.start()) + 1))
        for m in _ANY_CALL.finditer(text):
            if m.start() not in literal_at:
                dynamic.append(StepUse("", module, text.count("\n", 0, m.start()) + 1))
    return literal, dynamic


def check_app(app: App) -> CheckReport:
    used, dynamic = step_uses(app.bundle.sources)
    registered = set(app.steps)
    report = CheckReport(used=used, dynamic=dynamic)
    report.missing = [u for u in used if u.name not in registered]
    names_used = {u.name for u in used}
    # With computed names anywhere, "unused" would be a guess: say nothing rather than mislead.
    if not dynamic:
        report.unused = sorted(registered - names_used)
    return report


# (code hash, registered step names) pairs that passed in this process.
_passed: set[tuple[str, frozenset[str]]] = set()


def require_valid(app: App) -> None:
    """Raise ``AppError`` naming the missing steps; a passing (code, steps) pair is not re-read."""
    key = (app.bundle.code_hash, frozenset(app.steps))
    if key in _passed:
        return
    report = check_app(app)
    if not report.ok:
        errors = report.errors()
        more = f" (and {len(errors) - 1} more: run `wfctl check`)" if len(errors) > 1 else ""
        raise AppError(errors[0] + more)
    _passed.add(key)
