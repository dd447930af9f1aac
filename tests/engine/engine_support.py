"""Helpers shared by the engine-level acceptance tests (tests/engine, tests/cli).

Everything here reads the real data directory (the world API or the files themselves); nothing
is mocked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from ulid import ULID

from wfctl.serde import payload
from wfctl.serde.compress import compress, decompress
from wfctl.serde.values import JSError
from worlds import World

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
EXAMPLES = ROOT / "examples"
T_APP = TESTS / "apps" / "t_engine"

KEY_A = base64.b64encode(b"A" * 32).decode()
KEY_B = base64.b64encode(b"B" * 32).decode()

# lock files the world creates on first access; they carry no data
# (wfctl's own state lives next to the data dir, in <data-dir>.wfctl/; listed as ".wfctl/...")
VOLATILE_PREFIXES = (".wfctl/leases/", ".wfctl/locks/", ".wfctl/projection.json")


def new_run_id() -> str:
    return f"wrun_{ULID()}"


def short(name: str | None) -> str | None:
    return None if name is None else name.rsplit("//", 1)[-1]


# ------------------------------------------------------------------------------ the world


def events(world: World, run_id: str) -> list[dict[str, Any]]:
    return world.list_events(run_id).data


def event_types(world: World, run_id: str) -> list[str]:
    return [e["eventType"] for e in events(world, run_id)]


def decode(data: Any, key: bytes | None = None) -> Any:
    return payload.decode(data, key=key)


def output_of(world: World, run_id: str, key: bytes | None = None) -> Any:
    run = world.get_run(run_id)
    assert run["status"] == "completed", f"run {run_id} is {run['status']}: {run.get('error')}"
    return decode(run["output"], key)


def _plain(value: Any, masks: tuple[str, ...]) -> Any:
    """A decoded value in a comparable form (errors by name + message, masked strings)."""
    if isinstance(value, JSError):
        return {
            "error": value.name,
            "message": _plain(value.message, masks),
            "cause": _plain(value.cause, masks),
        }
    if isinstance(value, dict):
        return {str(k): _plain(v, masks) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, masks) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(repr(_plain(v, masks)) for v in value)
    if isinstance(value, str):
        for i, m in enumerate(masks):
            value = value.replace(m, f"<MASK{i}>")
        return value
    return value


PAYLOAD_KEYS = ("input", "result", "output", "payload", "metadata", "error")


def normalized_events(
    world: World, run_id: str, key: bytes | None = None, masks: tuple[str, ...] = ()
) -> list[tuple]:
    """The run's log as (type, correlation #, step name, decoded payloads), ids numbered by first
    appearance and the run id (plus ``masks``) masked, so two runs of one workflow compare."""
    masks = (run_id, *masks)
    numbering: dict[str, str] = {}
    out: list[tuple] = []
    for ev in events(world, run_id):
        cid = ev.get("correlationId")
        if cid is not None and cid not in numbering:
            numbering[cid] = f"{cid.split('_')[0]}#{len(numbering)}"
        data = ev.get("eventData") or {}
        decoded = {
            k: _plain(decode(data[k], key), masks)
            for k in PAYLOAD_KEYS
            if isinstance(data.get(k), (bytes, bytearray))
        }
        out.append(
            (
                ev["eventType"],
                numbering.get(cid),
                short(data.get("stepName")),
                json.dumps(decoded, sort_keys=True, default=repr),
            )
        )
    return out


def lifecycle_by_correlation(norm: list[tuple]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for item in norm:
        if item[1] is not None:
            out.setdefault(item[1], []).append(item)
    return out


def assert_no_duplicate_creation(world: World, run_id: str) -> None:
    evs = events(world, run_id)
    created = Counter(
        e["correlationId"]
        for e in evs
        if e["eventType"] in ("step_created", "wait_created", "hook_created")
    )
    dup = {c: n for c, n in created.items() if n > 1}
    assert not dup, f"run {run_id}: duplicated creation events {dup}"
    terminal = Counter(
        e["correlationId"] for e in evs if e["eventType"] in ("step_completed", "step_failed")
    )
    dup = {c: n for c, n in terminal.items() if n > 1}
    assert not dup, f"run {run_id}: a step finished twice {dup}"
    ends = [
        e["eventType"]
        for e in evs
        if e["eventType"] in ("run_completed", "run_failed", "run_cancelled")
    ]
    assert len(ends) <= 1, f"run {run_id}: several terminal events {ends}"


# ------------------------------------------------------------------------------ files


def listing(data_dir: Path, *, include_volatile: bool = False) -> dict[str, str]:
    """relative path -> sha256 of every file under data_dir (lock files left out by default)."""
    out: dict[str, str] = {}
    state = data_dir.with_name(data_dir.name + ".wfctl")
    for base, prefix in ((data_dir, ""), (state, ".wfctl/")):
        if not base.exists():
            continue
        for p in sorted(base.rglob("*")):
            if not p.is_file():
                continue
            rel = prefix + p.relative_to(base).as_posix()
            if not include_volatile and rel.startswith(VOLATILE_PREFIXES):
                continue
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def assert_unchanged(before: dict[str, str], data_dir: Path) -> None:
    after = listing(data_dir)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    assert not (added or removed or changed), (
        f"data directory changed: added={added} removed={removed} changed={changed}"
    )


def all_json_files_parse(data_dir: Path) -> None:
    bad = []
    for p in data_dir.rglob("*.json"):
        try:
            json.loads(p.read_text(encoding="utf-8"))
        except ValueError as exc:
            bad.append(f"{p.relative_to(data_dir)}: {exc}")
    assert not bad, bad


def journal_lines_parse(data_dir: Path) -> None:
    """Every complete line of every run journal is a JSON object (a torn, unterminated tail is
    allowed only as the very last bytes of a file)."""
    bad = []
    for p in (data_dir.with_name(data_dir.name + ".wfctl") / "journal").glob("*.jsonl"):
        raw = p.read_bytes()
        lines = raw.split(b"\n")
        for i, line in enumerate(lines[:-1]):
            try:
                assert isinstance(json.loads(line), dict)
            except (ValueError, AssertionError) as exc:
                bad.append(f"{p.name} line {i + 1}: {exc}: {line[:80]!r}")
    assert not bad, bad


def uint8_fields(doc: Any, path: str = "") -> list[tuple[str, bytes]]:
    """Every {"__type": "Uint8Array", "data": base64} value in a JSON document, decoded."""
    found: list[tuple[str, bytes]] = []
    if isinstance(doc, dict):
        if doc.get("__type") == "Uint8Array" and isinstance(doc.get("data"), str):
            return [(path, base64.b64decode(doc["data"]))]
        for k, v in doc.items():
            found.extend(uint8_fields(v, f"{path}.{k}" if path else k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            found.extend(uint8_fields(v, f"{path}[{i}]"))
    return found


def stored_payloads(data_dir: Path) -> list[tuple[str, str, bytes]]:
    """(file, field path, bytes) of every payload in every JSON / JSONL file of the data dir."""
    out: list[tuple[str, str, bytes]] = []
    for p in sorted(data_dir.rglob("*.json")):
        rel = p.relative_to(data_dir).as_posix()
        for path, data in uint8_fields(json.loads(p.read_text(encoding="utf-8"))):
            out.append((rel, path, data))
    for p in sorted(data_dir.rglob("*.jsonl")):
        rel = p.relative_to(data_dir).as_posix()
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                for path, data in uint8_fields(json.loads(line)):
                    out.append((rel, f"line{i + 1}.{path}", data))
    return out


# ------------------------------------------------------------------------------ snapshots


def snapshot_path(data_dir: Path, run_id: str) -> Path:
    return data_dir.with_name(data_dir.name + ".wfctl") / "snapshots" / f"{run_id}.bin"


def read_snapshot(raw: bytes) -> tuple[dict[str, Any], bytes]:
    """(header, pages) of a decompressed snapshot: b'WFSN' + u32 BE length + JSON + pages."""
    assert raw[:4] == b"WFSN", raw[:8]
    (n,) = struct.unpack(">I", raw[4:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def write_snapshot(header: dict[str, Any], pages: bytes) -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"WFSN" + struct.pack(">I", len(head)) + head + pages


def tamper_header(path: Path, edit) -> None:
    """Rewrite an unencrypted stored snapshot with edit(header) applied."""
    stored = path.read_bytes()
    assert stored[:4] == b"zstd", stored[:4]
    header, pages = read_snapshot(decompress(stored))
    edit(header)
    path.write_bytes(compress(write_snapshot(header, pages)))


# ------------------------------------------------------------------------------ CLI


def check_cli(
    proc: subprocess.CompletedProcess[str], code: int, *, one_line_error: bool = True
) -> subprocess.CompletedProcess[str]:
    """Exit code as expected, never a traceback; a non-zero exit other than a failed run prints
    exactly one line on stderr."""
    detail = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == code, detail
    assert "Traceback" not in proc.stderr, detail
    if code not in (0, 1) and one_line_error:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, f"stderr is not one line:\n{proc.stderr}"
    return proc


def assert_one_line(proc: subprocess.CompletedProcess[str]) -> None:
    """SPEC §6: an error is one clear sentence on stderr (one line, whatever the width)."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"stderr is not one line:\n{proc.stderr}"


def one_json(proc: subprocess.CompletedProcess[str]) -> Any:
    """stdout is exactly one JSON document."""
    text = proc.stdout
    try:
        return json.loads(text)
    except ValueError as exc:
        raise AssertionError(
            f"stdout is not one JSON document ({exc}):\n{text}\nstderr:\n{proc.stderr}"
        ) from None


def json_lines(proc: subprocess.CompletedProcess[str]) -> list[Any]:
    return [json.loads(ln) for ln in proc.stdout.splitlines() if ln.strip()]


def key_env(key: str | None) -> dict[str, str]:
    """Env overrides for a subprocess: the key, or none (the fixtures unset the variable; an
    empty value is an error since issue 14)."""
    return {"WFCTL_ENCRYPTION_KEY": key} if key else {}


def env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}
