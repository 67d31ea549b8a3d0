"""The daemon's ``/status`` page and ``/status.json`` (``feedwright run --serve``).

:func:`status_data` gathers, for the moment ``now``: every remote source
with its state (ok, failing, gone, never fetched), last fetch, next due,
error streak and last error, what fetching it cost and saved, its entries
per day over the last :data:`DAYS` days; and the last builds that changed
something (files written and removed). :func:`render_html` makes a plain
HTML page of it: no JavaScript, no external resources, each source's
entries per day an inline SVG bar chart. Both are pure but for reading the
store.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timedelta
from typing import Any

from .api import SourceStatus, status
from .config import Config
from .model import rfc3339_or_none
from .politeness import human_bytes

DAYS = 30  # the chart's span
BUILDS = 10  # the builds listed


def source_view(r: SourceStatus) -> dict[str, Any]:
    """One source as ``status --json`` (and ``/status.json``) show it."""
    return {
        "source": r.source,
        "url": r.url,
        "last_fetch": rfc3339_or_none(r.last_fetch),
        "result": r.result,
        "status": r.status,
        "error_streak": r.error_streak,
        "last_error": r.last_error,
        "next_due": None if r.status == "gone" else (rfc3339_or_none(r.next_due) or "now"),
        "entries": r.entries,
        "filtered": r.filtered,
        "every_seconds": r.every.total_seconds() if r.every else None,
        "requests": r.requests,
        "not_modified": r.not_modified,
        "unchanged": r.unchanged,
        "bytes_downloaded": r.bytes_down,
        "bytes_saved": r.bytes_saved,
        "validators_ignored": r.validators_ignored,
        "churned": r.churned,
        "hints": r.hints,
        "notes": list(r.notes),
    }


def status_lines(rows: list[SourceStatus]) -> list[str]:
    """``feedwright status`` on a terminal: a table, a source's notes under it."""
    headers = [
        "source", "last fetch", "result", "errors", "next due", "every", "entries",
        "filtered", "requests", "304", "same", "downloaded", "saved",
    ]  # fmt: skip
    table = [
        [
            r.source,
            rfc3339_or_none(r.last_fetch) or "-",
            r.result,
            str(r.error_streak),
            "never (gone)" if r.status == "gone" else (rfc3339_or_none(r.next_due) or "now"),
            duration(r.every),
            str(r.entries),
            str(r.filtered),
            str(r.requests),
            str(r.not_modified),
            str(r.unchanged),
            human_bytes(r.bytes_down),
            human_bytes(r.bytes_saved),
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    right = set(range(3, len(headers))) - {4, 5}

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(headers)]
    for r, row in zip(rows, table, strict=True):
        out.append(line(row))
        said = [f"error: {r.last_error}"] if r.last_error else []
        said += [f"moved permanently to {r.url}"] if r.url != r.source else []
        said += [f"feed says: {r.hints}"] if r.hints else []
        said += list(r.notes)
        out += [f"    {words}" for words in said]
    return out


def duration(value: timedelta | None) -> str:
    """``30m``, ``1h``, ``1h30m``, ``2d``: a timedelta as config.yaml writes it."""
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts[:2]) or "0s"


def status_data(config: Config, now: datetime) -> dict[str, Any]:
    """Everything the page shows, JSON-ready."""
    rows = status(config)
    per_day: dict[str, list[int]] = {}
    builds: list[dict[str, Any]] = []
    today = now.date()
    from . import store as state_store

    if state_store.exists(config.state):
        with state_store.open(config.state) as store:
            since = datetime.combine(
                today - timedelta(days=DAYS - 1), datetime.min.time(), now.tzinfo
            )
            for key, times in store.published_since(
                [r.source for r in rows], since - timedelta(microseconds=1)
            ).items():
                counts = [0] * DAYS
                for t in times:
                    age = (today - t.date()).days
                    if 0 <= age < DAYS:
                        counts[DAYS - 1 - age] += 1
                per_day[key] = counts
            for log in store.recent_builds(BUILDS):
                summary = log.summary
                builds.append(
                    {
                        "at": rfc3339_or_none(log.at),
                        "posts": summary.get("posts", 0),
                        "remote_entries": summary.get("remote", 0),
                        "written": list(summary.get("written", [])),
                        "removed": list(summary.get("removed", [])),
                        "post_problems": summary.get("post_errors", 0),
                    }
                )
    sources = []
    for r in rows:
        if r.status == "gone":
            state = "gone"
        elif r.error_streak:
            state = "failing"
        elif r.last_fetch is None:
            state = "never fetched"
        else:
            state = "ok"
        sources.append(
            source_view(r) | {"state": state, "entries_per_day": per_day.get(r.source, [0] * DAYS)}
        )
    return {
        "site": config.site.title,
        "generated": rfc3339_or_none(now),
        "days": DAYS,
        "sources": sources,
        "failing": sum(1 for s in sources if s["state"] in ("failing", "gone")),
        "builds": builds,
    }


def render_json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def chart(counts: list[int], *, width: int = 150, height: int = 32) -> str:
    """Entries per day as an inline SVG bar chart (oldest day first)."""
    top = max(counts) or 1
    step = width / len(counts)
    bars = []
    for n, count in enumerate(counts):
        h = 0 if count == 0 else max(1.5, (height - 2) * count / top)
        bars.append(
            f'<rect x="{n * step:.1f}" y="{height - h:.1f}" width="{step * 0.8:.1f}"'
            f' height="{h:.1f}"><title>{count}</title></rect>'
        )
    total = sum(counts)
    label = f"{total} entries in {len(counts)} days, at most {max(counts)} a day"
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{label}"><title>{label}</title>'
        f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}"/>'
        + "".join(bars)
        + "</svg>"
    )


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.5em 0 .4em}
p.meta{color:#666;margin:0 0 1em}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.state{font-weight:600;padding:.1em .45em;border-radius:.3em;white-space:nowrap}
.ok{background:#dff3e1;color:#1b6b2a}.failing{background:#fde2e1;color:#a01b14}
.gone{background:#eee;color:#555}.never{background:#fff3cd;color:#7a5b00}
.err{color:#a01b14;font-size:.9em}.note{color:#7a5b00;font-size:.9em}
svg.chart rect{fill:#3b7dd8}svg.chart line{stroke:#bbb;stroke-width:1}
code{font-size:.9em}
"""


def _when(iso: str | None, default: str = "-") -> str:
    """``2024-05-14T18:00:00.123456Z`` as ``2024-05-14 18:00:00 UTC``."""
    if not iso or len(iso) < 19 or iso[10] != "T":
        return iso or default
    return f"{iso[:10]} {iso[11:19]} UTC"


def render_html(data: dict[str, Any]) -> bytes:
    """The ``/status`` page."""
    e = html.escape
    rows = []
    for s in data["sources"]:
        state_class = {"never fetched": "never"}.get(s["state"], s["state"])
        extra = ""
        if s["last_error"]:
            extra += f'<div class="err">{e(s["last_error"])}</div>'
        for note in s["notes"]:
            extra += f'<div class="note">{e(note)}</div>'
        rows.append(
            "<tr>"
            f'<td><a href="{e(s["url"])}">{e(s["source"])}</a>{extra}</td>'
            f'<td><span class="state {state_class}">{e(s["state"])}</span></td>'
            f"<td>{e(_when(s['last_fetch']))}</td>"
            f"<td>{e(_when(s['next_due'], 'never'))}</td>"
            f'<td class="n">{s["error_streak"]}</td>'
            f'<td class="n">{e(human_bytes(s["bytes_saved"]))}</td>'
            f'<td class="n">{s["entries"]}</td>'
            f"<td>{chart(s['entries_per_day'])}</td>"
            "</tr>"
        )
    builds = []
    for b in data["builds"]:
        files = ", ".join(f"<code>{e(f)}</code>" for f in b["written"][:8])
        if len(b["written"]) > 8:
            files += f" and {len(b['written']) - 8} more"
        removed = ", ".join(f"<code>{e(f)}</code>" for f in b["removed"][:8])
        builds.append(
            "<tr>"
            f"<td>{e(_when(b['at']))}</td>"
            f'<td class="n">{b["posts"]}</td>'
            f'<td class="n">{b["remote_entries"]}</td>'
            f"<td>{files or '-'}</td>"
            f"<td>{removed or '-'}</td>"
            f'<td class="n">{b["post_problems"]}</td>'
            "</tr>"
        )
    failing = data["failing"]
    summary = (
        f"{len(data['sources'])} remote sources, {failing} failing"
        if data["sources"]
        else "no remote sources configured"
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(data['site'])} - feedwright status</title><style>{_STYLE}</style></head>\n"
        f"<body><h1>{e(data['site'])}: status</h1>"
        f'<p class="meta">{e(summary)}; generated {e(_when(data["generated"]))}; '
        f'also as <a href="status.json">status.json</a></p>\n'
        '<h2>Sources</h2><table id="sources"><thead><tr><th>source</th><th>state</th>'
        "<th>last fetch</th><th>next due</th><th>errors</th><th>bytes saved</th>"
        f"<th>entries</th><th>entries per day, last {data['days']} days</th></tr></thead>"
        "<tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
        '<h2>Last builds</h2><table id="builds"><thead><tr><th>when</th><th>posts</th>'
        "<th>remote entries</th><th>written</th><th>removed</th><th>post problems</th>"
        "</tr></thead><tbody>\n" + "\n".join(builds) + "\n</tbody></table>\n</body></html>\n"
    )
    return page.encode("utf-8")


__all__ = ["BUILDS", "DAYS", "chart", "render_html", "render_json", "status_data"]
