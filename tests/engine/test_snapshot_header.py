"""A snapshot whose header is valid JSON but not an object is rejected, not a crash.

Found by mypy (strict): ``read_header`` returned whatever ``json.loads`` gave, and its callers
call ``.get`` on it, so a header like ``[]`` raised ``AttributeError`` instead of
``SnapshotRejected`` (which makes the engine fall back to replay and ``inspect`` report the
snapshot as unreadable).
"""

from __future__ import annotations

import struct

import pytest

from wfctl.runtime.machine import SNAPSHOT_FORMAT, SnapshotRejected, WorkflowMachine


def _blob(header: bytes) -> bytes:
    return b"WFSN" + struct.pack(">I", len(header)) + header


@pytest.mark.parametrize("header", [b"[]", b"42", b'"x"', b"null"])
def test_non_object_header_is_rejected(header: bytes) -> None:
    with pytest.raises(SnapshotRejected, match="header is corrupt"):
        WorkflowMachine.read_header(_blob(header))


def test_object_header_still_reads() -> None:
    header = WorkflowMachine.read_header(_blob(b'{"format": "%s"}' % SNAPSHOT_FORMAT.encode()))
    assert header["format"] == SNAPSHOT_FORMAT
    assert header["_offset"] == 8 + len(b'{"format": "%s"}' % SNAPSHOT_FORMAT.encode())
