"""Server-rendered HTML of the web UI (no template engine: small functions, everything
escaped with :func:`h`)."""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import urlencode

from wfctl.engine.timefmt import clock, duration
from wfctl.engine.timeline import Span, Tracker, describe_waiting, ms, short

TERMINAL = ("completed", "failed", "cancelled")


def h(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def js(value: Any) -> str:
    """A decoded payload as readable JSON text: one line when short, indented when not."""
    if isinstance(value, str):
        return value
    flat = json.dumps(value, ensure_ascii=False, default=str)
    if len(flat) <= 70:
        return flat
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def step_args(value: Any) -> Any:
    """A step's stored input is {args, closureVars, thisVal}: the args are what matter."""
    if isinstance(value, dict) and "args" in value:
        return value["args"]
    return value


def badge(status: str) -> str:
    return f'<span class="badge s-{h(status)}" data-status="{h(status)}">{h(status)}</span>'


def layout(base: str, title: str, body: str, *, where: str = "") -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{h(title)} · wfctl</title>
<link rel="stylesheet" href="{base}/static/style.css">
</head><body>
<header class="top"><a href="{base}/">wfctl</a><span class="where">{h(where)}</span></header>
<main>{body}</main>
<script src="{base}/static/app.js"></script>
</body></html>"""


# ---------------------------------------------------------------------------- runs list


def runs_page(
    base: str,
    runs: list[dict[str, Any]],
    *,
    status: str,
    workflow: str,
    since: str,
    workflows: list[str],
    next_cursor: str | None,
    first: bool,
    where: str,
) -> str:
    def option(value: str, label: str, current: str) -> str:
        sel = " selected" if value == current else ""
        return f'<option value="{h(value)}"{sel}>{h(label)}</option>'

    statuses = "".join(
        option(s, s or "any", status)
        for s in ("", "pending", "running", "completed", "failed", "cancelled")
    )
    wf_options = option("", "any", workflow) + "".join(option(w, w, workflow) for w in workflows)
    if workflow and workflow not in workflows:
        wf_options += option(workflow, workflow, workflow)
    since_options = "".join(
        option(v, label, since)
        for v, label in (
            ("", "any time"),
            ("1h", "last hour"),
            ("24h", "last day"),
            ("7d", "last week"),
        )
    )
    rows = []
    for r in runs:
        rid = r["runId"]
        took = ""
        if r.get("completedAt"):
            took = duration(
                (ms(r["completedAt"]) or 0) - (ms(r.get("startedAt") or r["createdAt"]) or 0)
            )
        rows.append(
            f'<tr class="run-row" data-run-id="{h(rid)}">'
            f'<td><a class="id run-link" href="{base}/runs/{h(rid)}">{h(rid)}</a></td>'
            f"<td>{h(short(r.get('workflowName')))}</td><td>{badge(r['status'])}</td>"
            f'<td title="{h(r.get("createdAt"))}">{h(clock(ms(r.get("createdAt"))))}</td>'
            f"<td>{h(took)}</td></tr>"
        )
    table = (
        "<table id='runs'><thead><tr><th>run</th><th>workflow</th><th>status</th>"
        "<th>created</th><th>took</th></tr></thead><tbody>"
        + ("".join(rows) or "<tr><td colspan=5 class='muted'>no runs</td></tr>")
        + "</tbody></table>"
    )
    filters = {"status": status, "workflow": workflow, "since": since}
    pager = []
    if not first:
        pager.append(
            f'<a href="{base}/?{urlencode({k: v for k, v in filters.items() if v})}">« newest</a>'
        )
    if next_cursor:
        q = urlencode({**{k: v for k, v in filters.items() if v}, "cursor": next_cursor})
        pager.append(f'<a id="next-page" href="{base}/?{q}">older »</a>')
    body = f"""<h1>Runs</h1>
<form class="filters" method="get" action="{base}/">
<label>status<select name="status">{statuses}</select></label>
<label>workflow<select name="workflow">{wf_options}</select></label>
<label>created<select name="since">{since_options}</select></label>
<button type="submit">filter</button></form>
{table}
<div class="pager">{"".join(pager)}</div>"""
    return layout(base, "Runs", body, where=where)


# ---------------------------------------------------------------------------- one run


def _bar_spans(span: Span, t0: int, t1: int) -> str:
    total = max(1, t1 - t0)

    def pct(t: int) -> float:
        return max(0.0, min(100.0, (t - t0) * 100 / total))

    parts = []
    end = span.end_ms if span.end_ms is not None else t1
    if span.kind != "step":
        cls = "wait" if span.kind == "hook" else ""
        parts.append((pct(span.start_ms), pct(end), cls))
    else:
        parts.append((pct(span.start_ms), pct(end), "wait"))
        for a in span.attempts:
            a_end = a.end_ms if a.end_ms is not None else t1
            parts.append(
                (pct(a.start_ms), pct(a_end), "bad" if a.outcome in ("retrying", "failed") else "")
            )
    return "".join(
        f'<span class="{c}" style="left:{a:.2f}%;width:{max(b - a, 0.4):.2f}%"></span>'
        for a, b, c in parts
    )


def run_page(
    base: str,
    doc: dict[str, Any],
    tracker: Tracker,
    events: list[dict[str, Any]],
    steps: list[dict[str, Any]],
    hooks: list[dict[str, Any]],
    logs: list[dict[str, Any]],
    failure: dict[str, Any] | None,
    *,
    now_ms: int,
    can_drive: bool,
    where: str,
) -> str:
    rid = doc["runId"]
    status = doc["status"]
    t0 = ms(doc.get("startedAt") or doc.get("createdAt")) or now_ms
    t1 = ms(doc.get("completedAt")) or max([now_ms] + [ms(e["createdAt"]) or 0 for e in events])

    actions = []
    if status not in TERMINAL:
        actions.append(
            f'<form class="inline" method="post" action="{base}/runs/{h(rid)}/cancel" '
            f'data-confirm="Cancel run {h(rid)}?"><button id="cancel" class="danger">Cancel run</button></form>'
        )
    actions.append(
        f'<form class="inline" method="post" action="{base}/runs/{h(rid)}/rerun">'
        f'<button id="rerun">Re-run with the same input</button></form>'
    )
    facts = [
        ("workflow", h(short(doc.get("workflowName")))),
        ("created", h(doc.get("createdAt"))),
        ("started", h(doc.get("startedAt") or "")),
        ("ended", h(doc.get("completedAt") or "")),
        ("took", h(duration(t1 - t0)) if doc.get("completedAt") else ""),
        ("runtime", h((doc.get("executionContext") or {}).get("workflowRuntime", ""))),
        ("input", f"<pre>{h(js(doc.get('input')))}</pre>"),
    ]
    if status == "completed":
        facts.append(("output", f"<pre id='output'>{h(js(doc.get('output')))}</pre>"))
    facts_html = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts if v)

    parts = [
        f'<div data-live-run="{h(rid)}" data-status="{h(status)}" data-events="{len(events)}" '
        f'data-state-url="{base}/runs/{h(rid)}/state" hidden></div>'
        if status not in TERMINAL
        else "",
        f"<h1><span class='id'>{h(rid)}</span> {badge(status)}</h1>",
        f"<div>{' '.join(actions)}</div>",
        f"<dl class='facts box'>{facts_html}</dl>",
    ]

    waiting = tracker.waiting_on() if status not in TERMINAL else []
    if waiting:
        items = "".join(f"<li>waiting on {h(describe_waiting(w, now_ms))}</li>" for w in waiting)
        parts.append(f"<div class='box wait' id='waiting'><ul>{items}</ul></div>")

    if failure is not None:
        where_failed = (
            f"failed at step <b>{h(failure['step'])}</b> (attempt {failure['attempts']})"
            if failure.get("step")
            else "the workflow failed"
        )
        parts.append(
            f"<div class='box bad' id='failure'><div>{where_failed}</div>"
            f"<div class='err'><b>{h(failure['name'])}</b>: {h(failure['message'])}</div>"
            f"<pre>{h(failure.get('stack') or '')}</pre></div>"
        )

    # timeline
    rows = []
    for s in tracker.ordered():
        label = s.name if s.kind != "hook" else f"hook {s.name}"
        if s.kind == "sleep" and s.resume_at_ms:
            label = f"sleep until {clock(s.resume_at_ms)}"
        retries = (
            f" <span class='muted'>({s.retries} retr{'y' if s.retries == 1 else 'ies'})</span>"
            if s.retries
            else ""
        )
        rows.append(
            f"<tr><td>{h(label)}{retries}</td><td>{badge(s.status)}</td>"
            f"<td>{h(duration((s.end_ms or t1) - s.start_ms))}</td>"
            f"<td style='width:50%'><div class='tl'>{_bar_spans(s, t0, t1)}</div></td></tr>"
        )
    if rows:
        parts.append(
            "<h2>Timeline</h2><table id='timeline'><thead><tr><th>what</th><th>status</th>"
            f"<th>took</th><th>{h(clock(t0))} → {h(clock(t1))}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )

    # steps
    srows = []
    for st in steps:
        err = st.get("error") if isinstance(st.get("error"), dict) else None
        span = tracker.spans.get(st["stepId"])
        took = duration(span.end_ms - span.start_ms) if span and span.end_ms else ""
        err_html = ""
        if err:
            err_html = f"<div class='err'>{h(err.get('message', ''))}</div>"
            if err.get("stack"):
                err_html += f"<details><summary>traceback</summary><pre class='traceback'>{h(err['stack'])}</pre></details>"
        out = st.get("output")
        srows.append(
            f"<tr class='step-row' data-step-id='{h(st['stepId'])}'><td class='id'>{h(st['stepId'])}</td>"
            f"<td>{h(short(st.get('stepName')))}</td><td>{badge(st['status'])}</td>"
            f"<td>{h(st.get('attempt', ''))}</td><td>{h(took)}</td>"
            f"<td><pre>{h(js(step_args(st.get('input'))))}</pre></td>"
            f"<td>{'<pre>' + h(js(out)) + '</pre>' if st.get('status') == 'completed' else ''}{err_html}</td></tr>"
        )
    parts.append(
        "<h2>Steps</h2><table id='steps'><thead><tr><th>step id</th><th>step</th><th>status</th>"
        "<th>attempt</th><th>took</th><th>input</th><th>output / error</th></tr></thead><tbody>"
        + ("".join(srows) or "<tr><td colspan=7 class='muted'>no steps</td></tr>")
        + "</tbody></table>"
    )

    # hooks
    hrows = []
    live_tokens = {hk["token"] for hk in hooks}
    for s in tracker.ordered():
        if s.kind != "hook":
            continue
        form = ""
        if s.name in live_tokens and status not in TERMINAL:
            note = (
                ""
                if can_drive
                else "<div class='muted'>(recorded; a worker will drive the run)</div>"
            )
            form = (
                f"<form method='post' action='{base}/hooks/resume' class='resume-form'>"
                f"<input type='hidden' name='token' value='{h(s.name)}'>"
                f"<textarea name='payload' rows='2' aria-label='payload (JSON)'>true</textarea>"
                f"<button type='submit' class='resume'>Resume with this JSON payload</button>{note}</form>"
            )
        hrows.append(
            f"<tr class='hook-row'><td class='id'>{h(s.name)}</td><td>{badge(s.status)}</td>"
            f"<td>{h(s.received)}</td><td>{form}</td></tr>"
        )
    if hrows:
        parts.append(
            "<h2>Hooks</h2><table id='hooks'><thead><tr><th>token</th><th>status</th>"
            "<th>payloads</th><th></th></tr></thead><tbody>" + "".join(hrows) + "</tbody></table>"
        )

    # sleeps
    wrows = [
        f"<tr><td class='id'>{h(s.id)}</td><td>{h(iso_or(s.resume_at_ms))}</td><td>{badge(s.status)}</td></tr>"
        for s in tracker.ordered()
        if s.kind == "sleep"
    ]
    if wrows:
        parts.append(
            "<h2>Sleeps</h2><table id='sleeps'><thead><tr><th>wait id</th><th>until</th><th>status</th>"
            "</tr></thead><tbody>" + "".join(wrows) + "</tbody></table>"
        )

    # logs
    lrows = []
    for e in logs:
        who = (
            "workflow"
            if e.get("source") == "workflow"
            else f"step {e.get('stepName')}#{e.get('attempt', 1)}"
        )
        cls = " class='err'" if e.get("level") in ("warn", "error") else ""
        lrows.append(
            f"<tr{cls}><td class='muted'>{h(clock(ms(e.get('at'))))}</td><td>{h(who)}</td>"
            f"<td><pre>{h(e.get('text', ''))}</pre></td></tr>"
        )
    parts.append(
        "<h2>Logs</h2><table id='logs'><tbody>"
        + ("".join(lrows) or "<tr><td class='muted'>no log lines</td></tr>")
        + "</tbody></table>"
    )

    # event log
    erows = []
    for e in events:
        data = e.get("eventData")
        detail = (
            f"<details><summary>data</summary><pre>{h(js(data))}</pre></details>" if data else ""
        )
        erows.append(
            f"<tr><td class='id'>{h(e['eventId'])}</td><td>{h(e['eventType'])}</td>"
            f"<td class='id'>{h(e.get('correlationId') or '')}</td><td>{h(e['createdAt'])}</td><td>{detail}</td></tr>"
        )
    parts.append(
        "<h2>Events</h2><table id='events'><thead><tr><th>event id</th><th>type</th><th>correlation</th>"
        "<th>at</th><th></th></tr></thead><tbody>" + "".join(erows) + "</tbody></table>"
    )
    return layout(base, rid, "\n".join(p for p in parts if p), where=where)


def iso_or(ms_value: int | None) -> str:
    from wfctl.engine.timeline import iso

    return iso(ms_value) if ms_value else ""


def message_page(base: str, title: str, message: str, status_code: int = 400) -> str:
    return layout(
        base,
        title,
        f"<h1>{h(title)}</h1><p class='err'>{h(message)}</p><p><a href='{base}/'>back to runs</a></p>",
    )
