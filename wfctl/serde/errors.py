"""Exceptions raised by the serde layer."""

from __future__ import annotations


class SerializationError(TypeError):
    """A value cannot be converted to devalue (an unsupported Python type).

    ``type_name`` is the offending Python type, ``path`` the location inside the value
    (``value[2].when``), ``context`` the caller-supplied prefix (e.g. the step name).
    """

    def __init__(self, reason: str, *, type_name: str = "", path: str = "", context: str = ""):
        self.reason = reason
        self.type_name = type_name
        self.path = path
        self.context = context
        super().__init__(self._render())

    def _render(self) -> str:
        msg = self.reason
        if self.path:
            msg = f"{msg} at {self.path}"
        if self.context:
            msg = f"{self.context}: {msg}"
        return msg


class PayloadError(ValueError):
    """Stored bytes cannot be decoded: unknown format prefix, malformed devalue text,
    corrupt compressed data, missing or wrong encryption key."""


class KeyConfigError(ValueError):
    """The configured encryption key (WFCTL_ENCRYPTION_KEY) is unusable."""
