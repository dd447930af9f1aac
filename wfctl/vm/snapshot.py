"""VM snapshots: a copy of the guest's linear memory plus the host-side metadata needed to
resume it (pointers, clock, table layout, cached function handles).

Wire format (:meth:`Snapshot.to_bytes`), uncompressed (callers compress, e.g. zstd)::

    b"WFCTLVM\\0"           8-byte magic
    u32 LE                  format version (== meta["format"])
    u32 LE                  length of the meta JSON
    meta JSON (UTF-8, sorted keys, compact)
    u64 LE                  length of the memory image (a multiple of 64 KiB)
    memory image
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

from .errors import SnapshotIncompatible

__all__ = ["FORMAT", "MAGIC", "Snapshot"]

#: Snapshot format version; bump on any change to the meta or to what the image means.
FORMAT = 1
MAGIC = b"WFCTLVM\0"
WASM_PAGE = 65536

_HEAD = struct.Struct("<8sII")
_MEMLEN = struct.Struct("<Q")


@dataclass(eq=False)
class Snapshot:
    """A suspended VM. ``memory`` is the raw linear memory, ``meta`` a JSON-able dict:

    ``format``, ``wasm_sha256``, ``stack_pointer`` (value of ``__stack_pointer`` between
    calls), ``rt``/``ctx``/``scratch``/``io_buf``/``io_cap`` (guest pointers),
    ``table_base`` + ``host_funcs`` (where the host functions sit in the function table),
    ``clock_ms``, ``memory_limit``, ``functions`` (cached ``globalThis[fn]`` handles).
    """

    memory: bytes | bytearray | memoryview  # restore copies a non-bytes image once
    meta: dict[str, Any] = field(default_factory=dict)
    _ranges: tuple[int, list[tuple[int, int]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def copy_ranges(self, always_below: int) -> list[tuple[int, int]]:
        """Byte ranges a restore must write into a fresh instance: everything below
        ``always_below`` (the data segments), then only the non-zero 4 KiB pages (a fresh
        memory is zero there). Cached on the object (the pristine image is reused)."""
        cached = self._ranges
        if cached is not None and cached[0] == always_below:
            return cached[1]
        mem = self.memory
        page = 4096
        zero = bytes(page)
        start = min(len(mem), -(-always_below // page) * page)
        out: list[tuple[int, int]] = [(0, start)] if start else []
        cur = None
        for off in range(start, len(mem), page):
            if mem[off : off + page] != zero:
                if cur is None:
                    cur = off
            elif cur is not None:
                out.append((cur, off))
                cur = None
        if cur is not None:
            out.append((cur, len(mem)))
        if out and len(out) > 1 and out[0][1] == out[1][0]:
            out[0:2] = [(out[0][0], out[1][1])]
        self._ranges = (always_below, out)
        return out

    def to_bytes(self) -> bytes:
        meta = json.dumps(self.meta, sort_keys=True, separators=(",", ":")).encode()
        fmt = int(self.meta.get("format", FORMAT))
        return b"".join(
            (
                _HEAD.pack(MAGIC, fmt, len(meta)),
                meta,
                _MEMLEN.pack(len(self.memory)),
                self.memory,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Snapshot:
        mv = memoryview(data)
        if len(mv) < _HEAD.size or bytes(mv[:8]) != MAGIC:
            raise SnapshotIncompatible("not a wfctl VM snapshot (bad magic)")
        _, fmt, meta_len = _HEAD.unpack_from(mv, 0)
        if fmt != FORMAT:
            raise SnapshotIncompatible(
                f"snapshot format {fmt} is not supported (this wfctl reads format {FORMAT})"
            )
        off = _HEAD.size
        try:
            meta = json.loads(bytes(mv[off : off + meta_len]))
            off += meta_len
            (mem_len,) = _MEMLEN.unpack_from(mv, off)
        except (ValueError, struct.error) as e:
            raise SnapshotIncompatible(f"corrupt snapshot header: {e}") from None
        off += _MEMLEN.size
        if off + mem_len != len(mv):
            raise SnapshotIncompatible(
                f"corrupt snapshot: memory image is {len(mv) - off} bytes, header says {mem_len}"
            )
        if mem_len % WASM_PAGE:
            raise SnapshotIncompatible("corrupt snapshot: memory size is not a page multiple")
        return cls(bytes(mv[off:]), meta)

    def __repr__(self) -> str:
        return (
            f"Snapshot(memory={len(self.memory)} bytes, format={self.meta.get('format')}, "
            f"clock_ms={self.meta.get('clock_ms')})"
        )
