"""Host-side rules of typed hooks and webhooks.

A hook made by ``defineHook({schema}).create()`` or ``createWebhook({respondWith, schema})``
stores its policy in its metadata, under ``"$wfctl"`` (the user's own metadata, if any, sits
beside it under ``"metadata"``). Every way of resuming a hook — ``wfctl hook resume``, the
Python ``Client``, ``POST /api/hooks/{token}``, the webhook route — goes through
``Engine.resume_hook``, which calls :func:`check_hook_payload` before anything is written, so an
invalid payload leaves the run untouched.

The run also records, when it is created, a secret seed for webhook tokens and the public base
URL for ``hook.url`` (``executionContext.hookSecret`` / ``publicUrl``): both must be the same on
every replay of the run, whichever process replays it.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any

from wfctl.errors import UsageError
from wfctl.serde import payload

POLICY_KEY = "$wfctl"
WEBHOOK_PATH = "/.well-known/workflow/v1/webhook/"


class HookPayloadError(UsageError, ValueError):
    """A hook payload does not match the hook's JSON Schema (nothing was recorded).

    ``errors`` lists ``{"path", "message"}`` for every failing part of the payload; ``path`` is
    a JSON path such as ``$.items[0].qty`` (``$`` is the payload itself).
    """

    def __init__(self, token: str, errors: list[dict[str, str]], what: str = "payload") -> None:
        self.token = token
        self.errors = errors
        shown = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(
            f"{what} for hook {token!r} does not match its schema: {shown}{more}; nothing was recorded"
        )


@dataclass(frozen=True)
class HookPolicy:
    schema: Any = None
    respond_with: dict[str, Any] | None = None  # {status, headers, body}


def public_url_of(engine: Any) -> str | None:
    url = getattr(engine, "public_url", None) or os.environ.get("WFCTL_PUBLIC_URL")
    return url.rstrip("/") if url else None


def run_hook_context(engine: Any) -> dict[str, Any]:
    """Fields recorded in a new run's executionContext (see the module docstring)."""
    out: dict[str, Any] = {"hookSecret": secrets.token_urlsafe(24)}
    url = public_url_of(engine)
    if url:
        out["publicUrl"] = url
    return out


def vm_hook_context(run: dict[str, Any]) -> dict[str, Any]:
    """What the in-VM runtime needs for createWebhook(); only what the run recorded."""
    ec = run.get("executionContext") or {}
    return {"hookSecret": ec.get("hookSecret"), "url": ec.get("publicUrl") or ""}


def policy_of(hook: dict[str, Any], key: bytes | None) -> HookPolicy:
    data = hook.get("metadata")
    if not isinstance(data, (bytes, bytearray)):
        return HookPolicy()
    try:
        meta = payload.decode(bytes(data), key=key)
    except Exception:  # metadata we cannot read carries no policy we could apply
        return HookPolicy()
    if not isinstance(meta, dict) or not isinstance(meta.get(POLICY_KEY), dict):
        return HookPolicy()
    pol = meta[POLICY_KEY]
    respond = pol.get("respondWith")
    return HookPolicy(
        schema=pol.get("schema"), respond_with=respond if isinstance(respond, dict) else None
    )


def schema_errors(schema: Any, value: Any) -> list[dict[str, str]]:
    """The failing paths of ``value`` against the JSON Schema ``schema`` (empty when valid)."""
    import jsonschema  # type: ignore[import-untyped]  # on first use: most runs have no typed hooks

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise UsageError(f"the hook's JSON Schema is invalid: {exc.message}") from None
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    return [{"path": e.json_path, "message": e.message} for e in errors]


def check_hook_payload(hook: dict[str, Any], value: Any, key: bytes | None) -> None:
    """Raise :class:`HookPayloadError` when the hook has a schema and ``value`` fails it.

    For a webhook the schema applies to the request's JSON body (``value["json"]``).
    """
    pol = policy_of(hook, key)
    if pol.schema is None:
        return
    token = hook.get("token", "")
    if hook.get("isWebhook"):
        if not isinstance(value, dict) or "json" not in value:
            raise HookPayloadError(
                token, [{"path": "$", "message": "the request body is not JSON"}], "request body"
            )
        errors = schema_errors(pol.schema, value["json"])
        what = "request body"
    else:
        errors = schema_errors(pol.schema, value)
        what = "payload"
    if errors:
        raise HookPayloadError(token, errors, what)
