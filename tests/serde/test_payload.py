"""wfctl.serde.payload / crypto / compress."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import os

import pytest

from wfctl.serde import (
    KeyConfigError,
    PayloadError,
    compress,
    decode,
    decode_text,
    decompress,
    decrypt,
    derive_run_key,
    encode,
    encode_text,
    encrypt,
    master_key_from_env,
    unwrap_text,
    wrap_text,
)
from wfctl.serde.payload import NO_KEY_MESSAGE, format_of

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


# ------------------------------------------------------------------ devl


def test_encode_decode_plain():
    data = encode({"a": [1, "x"]})
    assert data == b'devl[{"a":1},[2,3],1,"x"]'
    assert decode(data) == {"a": [1, "x"]}
    assert format_of(data) == "devl"
    assert decode(bytearray(data)) == {"a": [1, "x"]}
    assert decode(memoryview(data)) == {"a": [1, "x"]}


def test_encode_is_utf8():
    assert encode("é\U0001f600") == b'devl["' + "é\U0001f600".encode() + b'"]'
    assert decode(encode("é\U0001f600")) == "é\U0001f600"


def test_text_helpers():
    assert encode_text([3]) == "[[1],3]"
    assert decode_text("[[1],3]") == [3]
    assert wrap_text("[6]") == b"devl[6]"
    assert unwrap_text(b"devl[6]") == "[6]"
    with pytest.raises(PayloadError):
        wrap_text('["\ud800"]')  # raw lone surrogate: not encodable


def test_encode_context_in_errors():
    with pytest.raises(TypeError, match=r"^step add: Cannot serialize .* at value\[0\]$"):
        encode([object()], context="step add")


def test_legacy_and_json_forms():
    assert decode([[1], 3]) == [3]  # legacy spec-1: already flattened devalue
    assert decode(-1) is None
    assert unwrap_text([[1], 3]) == "[[1],3]"
    on_disk = {"__type": "Uint8Array", "data": base64.b64encode(b"devl[6]").decode()}
    assert decode(on_disk) == 6
    with pytest.raises(PayloadError):
        decode({"not": "flattened"})


def test_unknown_prefix_and_garbage():
    with pytest.raises(PayloadError, match="unsupported serialization format"):
        decode(b"json[1]")
    with pytest.raises(PayloadError, match="unsupported serialization format"):
        decode(b"")
    with pytest.raises(PayloadError, match="invalid devalue"):
        decode(b"devlgarbage")
    with pytest.raises(PayloadError, match="UTF-8"):
        decode(b'devl["\xff"]')


# ------------------------------------------------------------------ encr


def test_encrypted_round_trip():
    data = encode({"secret": 42}, key=KEY)
    assert data[:4] == b"encr"
    assert b"secret" not in data
    assert len(data) == 4 + 12 + len(b'[{"secret":1},42]') + 4 + 16
    assert decode(data, key=KEY) == {"secret": 42}
    assert unwrap_text(data, KEY) == '[{"secret":1},42]'
    # random nonce: two encryptions differ
    assert encode(1, key=KEY) != encode(1, key=KEY)
    assert wrap_text("[1]", KEY)[:4] == b"encr"
    assert decrypt(wrap_text("[1]", KEY), KEY) == b"devl[1]"


def test_encrypted_without_key():
    data = encode("x", key=KEY)
    with pytest.raises(PayloadError) as ei:
        decode(data)
    assert str(ei.value) == NO_KEY_MESSAGE
    assert "WFCTL_ENCRYPTION_KEY" in str(ei.value)
    with pytest.raises(PayloadError):
        unwrap_text(data)


def test_encrypted_wrong_key_or_tampered():
    data = encode("x", key=KEY)
    with pytest.raises(PayloadError, match="wrong encryption key"):
        decode(data, key=OTHER)
    tampered = data[:-1] + bytes([data[-1] ^ 1])
    with pytest.raises(PayloadError, match="wrong encryption key .* or corrupted data"):
        decode(tampered, key=KEY)
    with pytest.raises(PayloadError, match="truncated"):
        decrypt(b"encr" + b"\x00" * 27, KEY)


def test_plain_payload_decodes_even_with_key():
    assert decode(b"devl[1]", key=KEY) == 1


def test_encrypt_key_length_checked():
    with pytest.raises(KeyConfigError):
        encrypt(b"devl[1]", b"short")
    with pytest.raises(ValueError):
        decrypt(b"encr" + b"\x00" * 40, b"x" * 31)


def test_encr_layout_matches_aes_gcm():
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    data = encrypt(b"devl[1]", KEY)
    nonce, ct = data[4:16], data[16:]
    assert AESGCM(KEY).decrypt(nonce, ct, None) == b"devl[1]"


# ------------------------------------------------------------------ keys


def test_master_key_from_env():
    good = base64.b64encode(KEY).decode()
    assert master_key_from_env({}) is None
    for empty in ("", "  "):  # set but empty is an error, not "no encryption" (issue 14)
        with pytest.raises(KeyConfigError):
            master_key_from_env({"WFCTL_ENCRYPTION_KEY": empty})
    assert master_key_from_env({"WFCTL_ENCRYPTION_KEY": good}) == KEY
    assert master_key_from_env({"WFCTL_ENCRYPTION_KEY": f" {good}\n"}) == KEY
    urlsafe = base64.urlsafe_b64encode(b"\xfb" * 32).decode()
    assert master_key_from_env({"WFCTL_ENCRYPTION_KEY": urlsafe}) == b"\xfb" * 32


@pytest.mark.parametrize(
    "raw,match",
    [
        (base64.b64encode(b"x" * 16).decode(), "decodes to 16 bytes, not 32"),
        (base64.b64encode(b"x" * 33).decode(), "decodes to 33 bytes"),
        ("not base64 at all!!", "not valid base64"),
        ("0123456789abcdef0123456789abcdef", "not 32"),  # hex is not accepted
    ],
)
def test_bad_master_key(raw, match):
    with pytest.raises(KeyConfigError, match=match) as ei:
        master_key_from_env({"WFCTL_ENCRYPTION_KEY": raw})
    assert isinstance(ei.value, ValueError)
    assert raw not in str(ei.value)  # never echo the key


def test_master_key_reads_os_environ(monkeypatch):
    monkeypatch.setenv("WFCTL_ENCRYPTION_KEY", base64.b64encode(OTHER).decode())
    assert master_key_from_env() == OTHER
    monkeypatch.delenv("WFCTL_ENCRYPTION_KEY")
    assert master_key_from_env() is None


def _hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def test_derive_run_key():
    k1 = derive_run_key(KEY, "wrun_A")
    assert len(k1) == 32
    assert k1 == derive_run_key(KEY, "wrun_A")
    assert k1 != derive_run_key(KEY, "wrun_B")
    assert k1 != derive_run_key(OTHER, "wrun_A")
    assert k1 == _hkdf_sha256(KEY, b"\x00" * 32, b"wfctl|wrun_A", 32)
    data = encode([1], key=k1)
    with pytest.raises(PayloadError):
        decode(data, key=derive_run_key(KEY, "wrun_B"))
    with pytest.raises(KeyConfigError):
        derive_run_key(b"short", "r")


# ------------------------------------------------------------------ compression


def test_compress_round_trip():
    blob = os.urandom(1000) + b"a" * 100_000
    c = compress(blob)
    assert c[:4] == b"zstd"
    assert len(c) < len(blob) // 2
    assert decompress(c) == blob
    assert decompress(compress(b"")) == b""


def test_decompress_gzip_and_passthrough():
    blob = b"hello " * 1000
    assert decompress(b"gzip" + gzip.compress(blob)) == blob
    assert decompress(blob) == blob
    assert decompress(b"devl[1]") == b"devl[1]"


def test_decompress_concatenated_zstd_frames():
    import zstandard

    c = zstandard.ZstdCompressor()
    data = b"zstd" + c.compress(b"one") + c.compress(b"two")
    assert decompress(data) == b"onetwo"


@pytest.mark.parametrize(
    "bad",
    [
        b"zstd" + b"not a zstd frame",
        b"gzip" + b"not gzip",
        b"zstd",
        b"gzip",
    ],
)
def test_decompress_corrupt(bad):
    with pytest.raises(PayloadError, match="corrupt"):
        decompress(bad)


def test_decompress_truncated_zstd():
    c = compress(os.urandom(5000))
    with pytest.raises(PayloadError, match="corrupt zstd"):
        decompress(c[:-10])
    flipped = bytearray(c)
    flipped[-2] ^= 0xFF  # checksum mismatch
    with pytest.raises(PayloadError, match="corrupt zstd"):
        decompress(bytes(flipped))


def test_compressed_devl_payload_decodes():
    assert decode(compress(b"devl[[1],3]")) == [3]
    assert decode(encrypt(compress(b"devl[7]"), KEY), key=KEY) == 7
