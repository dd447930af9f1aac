"""A workflow VM: one QuickJS instance running the in-VM runtime for one run.

This is the only module that speaks the host ↔ VM protocol of ``js/workflow.js``
(``__wf_init`` / ``__wf_feed`` / ``__wf_tick`` / ``__wf_state``). Both runtimes use it; they
differ only in where the VM comes from (a fresh template or a saved heap) and which events
they feed it.

New VMs are restored from a per-process *template*: the heap right after the app bundle was
evaluated. Booting that way costs a memory copy instead of re-parsing the bundle, and the
template is also the base image against which snapshots are stored as page deltas.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

from wfctl.config import env_float
from wfctl.errors import AppError
from wfctl.runtime import logsink
from wfctl.runtime.bundle import (
    ENTRY_NAME,
    ENTRY_SOURCE,
    RUNTIME_ENTRY_NAME,
    RUNTIME_ENTRY_SOURCE,
    Bundle,
)
from wfctl.vm import VM, JSException, Snapshot, VMError

log = logging.getLogger("wfctl.workflow")

SNAPSHOT_FORMAT = "wfctl-snapshot/2"
PAGE = 4096
_MAGIC = b"WFSN"


#: The in-VM runtime's entry points: captured by the host and deleted from the global object
#: before app code runs (VM.pin), so workflow code can neither replace nor call them.
PROTOCOL = ("__wf_bind", "__wf_workflows", "__wf_init", "__wf_feed", "__wf_tick", "__wf_state")


class ProtocolError(VMError):
    """The VM answered the host with something the protocol does not allow (workflow code
    broke a builtin the runtime depends on): the run fails with this message."""


class SnapshotRejected(Exception):
    """A stored snapshot cannot be used (corrupt, other binary, other code, other format)."""


@dataclass
class VMState:
    status: str  # "completed" | "failed" | "suspended"
    result: str | None = None  # devl text of the return value
    error: dict[str, Any] | None = (
        None  # {code, error (devl text), name, message, stack, eventIndex?}
    )
    pending: list[dict[str, Any]] = field(default_factory=list)
    consumed: int = 0
    trailing: dict[str, Any] | None = (
        None  # verify mode: first log event after the workflow finished
    )


def _xor(page: bytes, base: bytes) -> bytes:
    """A changed page as its XOR with the template page (mostly zero bytes: a few fields of a
    page change, so zstd packs it to almost nothing; plain pages cost 4-5x more)."""
    base = base.ljust(len(page), b"\0")
    return (int.from_bytes(page, "little") ^ int.from_bytes(base, "little")).to_bytes(
        len(page), "little"
    )


def vm_limits() -> dict[str, Any]:
    """Per-VM limits: WFCTL_VM_BUDGET (seconds per call into the VM, default 5) and
    WFCTL_VM_MEMORY_MB (JS heap cap, default 256)."""

    return {
        "call_budget_s": env_float("WFCTL_VM_BUDGET", 5.0, strict=True),
        "memory_limit": int(env_float("WFCTL_VM_MEMORY_MB", 256.0, strict=True) * (1 << 20)),
    }


def _loads(text: str | None, kind: type) -> Any:
    """A protocol answer: JSON text of a ``kind``, else :class:`ProtocolError`."""
    try:
        value = json.loads(text) if text is not None else None
    except ValueError:
        value = None
    if not isinstance(value, kind):
        raise ProtocolError("the workflow runtime answered the host with malformed data")
    return value


_OP_FIELDS = {"step": ("stepName", "input"), "wait": ("resumeAt",), "hook": ("token",)}


def _valid_op(p: Any) -> bool:
    if not isinstance(p, dict) or not isinstance(p.get("correlationId"), str):
        return False
    if not isinstance(p.get("type"), str):
        return False
    need = _OP_FIELDS.get(p["type"], ())  # other kinds are checked by whoever handles them
    if p["type"] == "wait":
        return isinstance(p.get("resumeAt"), (int, float)) and 0 <= p["resumeAt"] <= 253402300799999
    if p["type"] == "step" and p.get("hasCreatedEvent"):
        need = ("stepName",)  # the input is in the log already
    return all(isinstance(p.get(k), str) for k in need)


def _console(stream: str, text: str) -> None:
    logsink.console(stream, text)  # numbered calls go to the run's log sink, once each


class _Template:
    """The post-bundle heap image of one app, built once per process."""

    def __init__(self, bundle: Bundle) -> None:
        vm = VM.boot(modules=bundle.resolve, console=_console, **vm_limits())
        try:
            vm.eval_module(RUNTIME_ENTRY_SOURCE, RUNTIME_ENTRY_NAME)
            vm.pin(list(PROTOCOL))
            try:
                vm.eval(logsink.SEQ_SHIM, "<wfctl:console>")  # numbers console calls (logsink)
                vm.eval_module(ENTRY_SOURCE, ENTRY_NAME)
                vm.run_jobs()
                vm.call("__wf_bind")
            except VMError as exc:
                raise AppError(f"workflows.js failed to load: {exc}") from exc
            names = _loads(vm.call("__wf_workflows"), list)
            if not all(isinstance(n, str) for n in names):
                raise AppError("workflows.js failed to load: the runtime reported bad names")
            self.workflows: list[str] = names
            self.snapshot: Snapshot = vm.snapshot()
        finally:
            vm.close()
        self.memory = bytes(self.snapshot.memory)
        self.sha256 = hashlib.sha256(self.memory).hexdigest()


_templates: dict[str, _Template] = {}
_templates_lock = threading.Lock()


def template_for(bundle: Bundle) -> _Template:
    key = bundle.code_hash
    with _templates_lock:
        tpl = _templates.get(key)
        if tpl is None:
            tpl = _templates[key] = _Template(bundle)
        return tpl


class WorkflowMachine:
    """A VM positioned somewhere in one run's event log."""

    def __init__(self, bundle: Bundle, vm: VM, consumed: int = 0) -> None:
        self.bundle = bundle
        self.vm = vm
        self.consumed = consumed  # events fed so far (the VM's position in the log)

    # -- creation ------------------------------------------------------------------

    @classmethod
    def fresh(cls, bundle: Bundle) -> WorkflowMachine:
        tpl = template_for(bundle)
        return cls(
            bundle,
            VM.restore(tpl.snapshot, modules=bundle.resolve, console=_console, **vm_limits()),
        )

    def init(self, ctx: dict[str, Any]) -> None:
        """Start the workflow: ctx = runId, workflowName, workflowExport, startedAt, input, encryption."""
        self.vm.call("__wf_init", json.dumps(ctx))
        self.vm.run_jobs()

    # -- driving -------------------------------------------------------------------

    def feed(self, events: list[dict[str, Any]]) -> VMState:
        """Feed prepared events (see runtime.events) and run the workflow until it is idle."""
        vm = self.vm
        if events:
            vm.call("__wf_feed", json.dumps(events))
            self.consumed += len(events)
        vm.run_jobs()
        # A tick that delivers consumes an event, so there are at most as many as were fed:
        # more means the runtime is no longer the one the host installed.
        ticks = 0
        while r := vm.call_int("__wf_tick"):
            ticks += 1
            if r not in (1, 2) or ticks > self.consumed + 1:
                raise ProtocolError(
                    "the workflow runtime stopped following the host protocol "
                    f"(__wf_tick answered {r} after {ticks} ticks)"
                )
            vm.run_jobs()
        return self.state()

    def state(self) -> VMState:
        raw = _loads(self.vm.call("__wf_state"), dict)
        status = raw.get("status")
        trailing = raw.get("trailing")
        if trailing is not None and not isinstance(trailing, dict):
            raise ProtocolError("the workflow runtime reported a malformed state")
        if status == "completed":
            if not isinstance(raw.get("result"), str):
                raise ProtocolError("the workflow runtime reported a result that is not text")
            return VMState(
                "completed", result=raw["result"], consumed=self.consumed, trailing=trailing
            )
        if status == "failed":
            for k in ("name", "message", "stack", "error", "code"):
                if raw.get(k) is not None and not isinstance(raw[k], str):
                    raise ProtocolError(f"the workflow runtime reported a malformed {k}")
            return VMState("failed", error=raw, consumed=self.consumed, trailing=trailing)
        if status != "suspended":
            raise ProtocolError(f"the workflow runtime reported an unknown status {status!r}")
        pending = raw.get("pending", [])
        if not isinstance(pending, list) or not all(_valid_op(p) for p in pending):
            raise ProtocolError("the workflow runtime reported malformed pending operations")
        return VMState("suspended", pending=pending, consumed=self.consumed)

    def close(self) -> None:
        self.vm.close()

    # -- snapshots -----------------------------------------------------------------

    def dump(self) -> bytes:
        """The heap as XOR'd 4 KiB page deltas against the app template (uncompressed)."""
        tpl = template_for(self.bundle)
        snap = self.vm.snapshot()
        mem = memoryview(snap.memory)
        base = tpl.memory
        pages: list[int] = []
        chunks: list[bytes] = []
        for off in range(0, len(mem), PAGE):
            page = mem[off : off + PAGE]
            if off + PAGE > len(base) or page != base[off : off + PAGE]:
                pages.append(off // PAGE)
                chunks.append(_xor(page.tobytes(), base[off : off + PAGE]))
        header = {
            "format": SNAPSHOT_FORMAT,
            "codeHash": self.bundle.code_hash,
            "baseSha256": tpl.sha256,
            "memoryLength": len(mem),
            "consumed": self.consumed,
            "vm": snap.meta,
            "pages": pages,
        }
        head = json.dumps(header, separators=(",", ":")).encode()
        return _MAGIC + struct.pack(">I", len(head)) + head + b"".join(chunks)

    @staticmethod
    def read_header(data: bytes) -> dict[str, Any]:
        if len(data) < 8 or data[:4] != _MAGIC:
            raise SnapshotRejected("not a wfctl snapshot (bad magic)")
        (n,) = struct.unpack(">I", data[4:8])
        try:
            header = json.loads(data[8 : 8 + n])
        except ValueError as exc:
            raise SnapshotRejected("snapshot header is corrupt") from exc
        if header.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotRejected(
                f"snapshot format {header.get('format')!r} is not {SNAPSHOT_FORMAT}"
            )
        header["_offset"] = 8 + n
        return header

    @classmethod
    def load(cls, bundle: Bundle, data: bytes) -> WorkflowMachine:
        header = cls.read_header(data)
        if header.get("codeHash") != bundle.code_hash:
            raise SnapshotRejected("snapshot was taken with different workflow code")
        tpl = template_for(bundle)
        if header.get("baseSha256") != tpl.sha256:
            raise SnapshotRejected(
                "snapshot base image differs from this build's (other wasm or wfctl version)"
            )
        length = header["memoryLength"]
        pages = header["pages"]
        body = memoryview(data)[header["_offset"] :]
        expected = sum(min(PAGE, length - p * PAGE) for p in pages)
        if len(body) != expected:
            raise SnapshotRejected("snapshot is truncated")
        memory = bytearray(tpl.memory[:length])
        if len(memory) < length:
            memory.extend(bytes(length - len(memory)))
        pos = 0
        for p in pages:
            size = min(PAGE, length - p * PAGE)
            chunk = body[pos : pos + size].tobytes()
            memory[p * PAGE : p * PAGE + size] = _xor(chunk, tpl.memory[p * PAGE : p * PAGE + size])
            pos += size
        try:
            vm = VM.restore(
                Snapshot(memory=bytes(memory), meta=header["vm"]),
                modules=bundle.resolve,
                console=_console,
                **vm_limits(),
            )
        except Exception as exc:  # SnapshotIncompatible and friends
            raise SnapshotRejected(str(exc)) from exc
        return cls(bundle, vm, consumed=header.get("consumed", 0))


__all__ = [
    "WorkflowMachine",
    "VMState",
    "SnapshotRejected",
    "ProtocolError",
    "JSException",
    "template_for",
]
