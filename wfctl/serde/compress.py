"""Compression wrappers for large blobs (VM snapshots): ``b"zstd"`` + zstd frame (level 3),
``b"gzip"`` + gzip stream (read only). Data without either prefix passes through."""

from __future__ import annotations

import gzip
import zlib

from .errors import PayloadError

__all__ = ["ZSTD_PREFIX", "GZIP_PREFIX", "compress", "decompress", "is_compressed"]

ZSTD_PREFIX = b"zstd"
GZIP_PREFIX = b"gzip"
ZSTD_LEVEL = 3


def is_compressed(data: bytes) -> bool:
    return bytes(data[:4]) in (ZSTD_PREFIX, GZIP_PREFIX)


def compress(data: bytes) -> bytes:
    """``b"zstd"`` + a zstd frame (level 3, content size and checksum recorded).
    Not idempotent: already-compressed input is compressed again."""
    import zstandard  # loaded by the first snapshot, not by every command

    cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True)
    return ZSTD_PREFIX + cctx.compress(bytes(data))


def decompress(data: bytes) -> bytes:
    """Undo :func:`compress` (or a DevKit ``gzip``/``zstd`` wrapper); unprefixed data is
    returned unchanged. Corrupt or truncated input raises :class:`PayloadError`."""
    data = bytes(data)
    prefix, body = data[:4], data[4:]
    if prefix == ZSTD_PREFIX:
        import zstandard

        try:
            dctx = zstandard.ZstdDecompressor()
            chunks = []
            while True:  # one or more concatenated frames
                dobj = dctx.decompressobj()
                chunks.append(dobj.decompress(body))
                if not dobj.eof:
                    raise PayloadError("corrupt zstd payload: truncated frame")
                body = dobj.unused_data
                if not body:
                    return b"".join(chunks)
        except zstandard.ZstdError as e:
            raise PayloadError(f"corrupt zstd payload: {e}") from None
    if prefix == GZIP_PREFIX:
        if not body:
            raise PayloadError("corrupt gzip payload: empty")
        try:
            return gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as e:
            raise PayloadError(f"corrupt gzip payload: {e}") from None
    return data
