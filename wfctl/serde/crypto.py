"""AES-256-GCM payload envelope (``encr``) and key handling.

Layout (the Workflow DevKit's `encr` format): ``b"encr" + nonce(12) + ciphertext‖tag(16)``; the
plaintext is itself a prefixed payload (normally ``devl…``). The master key comes from
``WFCTL_ENCRYPTION_KEY`` (base64 of 32 bytes); each run uses a key derived with HKDF-SHA256.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from .errors import KeyConfigError, PayloadError

__all__ = [
    "ENCRYPTED_PREFIX",
    "ENV_VAR",
    "KeyConfigError",
    "encrypt",
    "decrypt",
    "is_encrypted",
    "master_key_from_env",
    "derive_run_key",
]

ENCRYPTED_PREFIX = b"encr"
ENV_VAR = "WFCTL_ENCRYPTION_KEY"
NONCE_SIZE = 12
TAG_SIZE = 16
KEY_SIZE = 32


def _check_key(key: bytes) -> None:
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_SIZE:
        n = len(key) if isinstance(key, (bytes, bytearray)) else type(key).__name__
        raise KeyConfigError(f"encryption key must be exactly {KEY_SIZE} bytes (got {n})")


def is_encrypted(data: bytes) -> bool:
    return bytes(data[:4]) == ENCRYPTED_PREFIX


def encrypt(plain: bytes, key: bytes) -> bytes:
    """``b"encr" + nonce + AES-256-GCM(plain)``, with a fresh random 12-byte nonce."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # only when encrypting

    _check_key(key)
    nonce = os.urandom(NONCE_SIZE)
    return ENCRYPTED_PREFIX + nonce + AESGCM(bytes(key)).encrypt(nonce, bytes(plain), None)


def decrypt(data: bytes, key: bytes) -> bytes:
    """Open an ``encr`` envelope. Raises :class:`PayloadError` for a wrong key or
    corrupted/truncated data."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _check_key(key)
    data = bytes(data)
    if not data.startswith(ENCRYPTED_PREFIX):
        raise PayloadError("not an encrypted payload (missing 'encr' prefix)")
    body = data[len(ENCRYPTED_PREFIX) :]
    if len(body) < NONCE_SIZE + TAG_SIZE:
        raise PayloadError(
            f"encrypted payload is truncated ({len(body)} bytes after the prefix, "
            f"need at least {NONCE_SIZE + TAG_SIZE})"
        )
    try:
        return AESGCM(bytes(key)).decrypt(body[:NONCE_SIZE], body[NONCE_SIZE:], None)
    except InvalidTag:
        raise PayloadError(
            "cannot decrypt payload: wrong encryption key (WFCTL_ENCRYPTION_KEY differs from "
            "the one the data was written with) or corrupted data"
        ) from None


def master_key_from_env(env: Mapping[str, str] | None = None) -> bytes | None:
    """The master key from ``WFCTL_ENCRYPTION_KEY``: ``None`` when unset, the 32 decoded
    bytes otherwise. Anything but base64 of exactly 32 bytes — including an empty value,
    which would otherwise silently mean "no encryption" — raises :class:`KeyConfigError`
    (the message never contains the key)."""
    if env is None:
        env = os.environ
    raw = env.get(ENV_VAR)
    if raw is None:
        return None
    if not raw.strip():
        raise KeyConfigError(
            f"{ENV_VAR} is set but empty; unset it to run without encryption, or set it to "
            f"the base64 encoding of {KEY_SIZE} random bytes"
        )
    text = "".join(raw.split())
    hint = (
        f"{ENV_VAR} must be the base64 encoding of exactly {KEY_SIZE} random bytes; generate "
        'one with: python -c "import base64,os; print(base64.b64encode(os.urandom(32)).decode())"'
    )
    try:
        if "-" in text or "_" in text:
            key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        else:
            key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigError(f"{ENV_VAR} is not valid base64. {hint}") from None
    if len(key) != KEY_SIZE:
        raise KeyConfigError(f"{ENV_VAR} decodes to {len(key)} bytes, not {KEY_SIZE}. {hint}")
    return key


def derive_run_key(master: bytes, run_id: str) -> bytes:
    """The per-run key: HKDF-SHA256(master, salt = 32 zero bytes, info = b"wfctl|" + run_id)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    _check_key(master)
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=b"\x00" * 32,
        info=b"wfctl|" + run_id.encode("utf-8"),
    )
    return hkdf.derive(bytes(master))
