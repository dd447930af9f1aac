"""PostgreSQL targets: libpq URLs, password redaction, the schema name."""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_SCHEMA = "wfctl"
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def redact(url: str) -> str:
    """The URL with any password (``user:pw@`` or ``?password=``) replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hostinfo}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k == "password" for k, _ in pairs):
            pairs = [(k, "***" if k == "password" else v) for k, v in pairs]
            query = urlencode(pairs, safe="/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def schema_name(value: str | None = None) -> str:
    """``value`` or ``$WFCTL_PG_SCHEMA`` or ``wfctl``; a plain lower-case SQL identifier."""
    name = value or os.environ.get("WFCTL_PG_SCHEMA") or DEFAULT_SCHEMA
    if not _SCHEMA_RE.match(name):
        raise ValueError(
            f"Invalid PostgreSQL schema name {name!r}: use lower-case letters, digits and '_'."
        )
    return name


def has_connect_timeout(url: str) -> bool:
    return "connect_timeout" in url


SCHEMA_PARAM = "wfctl_schema"


def split_schema(url: str) -> tuple[str, str | None]:
    """(the URL without wfctl's own ``wfctl_schema=NAME`` query parameter, NAME or None).

    libpq rejects unknown parameters, so it is removed before connecting. It lets several
    wfctl stores share one database (and the tests isolate cheaply).
    """
    parts = urlsplit(url)
    if SCHEMA_PARAM not in parts.query:
        return url, None
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in pairs if k == SCHEMA_PARAM), None)
    rest = [(k, v) for k, v in pairs if k != SCHEMA_PARAM]
    query = urlencode(rest, safe="/")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment)), schema
