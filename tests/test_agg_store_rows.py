"""A build over loopback publishes exactly the entries ``feedwright.parse_feed`` reads.

Every sample feed in tests/data/feeds is served from 127.0.0.1 (with its
sidecar headers) and built into a JSON Feed with no limit; each published
item must be the entry ``parse_feed`` gives for the same bytes (rows made in
the parse workers, stored, read back and published lose nothing). A second
build with changed feeds keeps the first-seen dates of undated entries.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import LoopbackServer

import feedwright

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
FEEDS = Path(__file__).parent / "data" / "feeds"
SKIP = (".expected.json", ".headers.json")


def _samples() -> list[Path]:
    return [p for p in sorted(FEEDS.iterdir()) if p.is_file() and not p.name.endswith(SKIP)]


def _headers(path: Path) -> dict[str, str]:
    sidecar = path.with_name(path.name.rsplit(".", 1)[0] + ".headers.json")
    return json.loads(sidecar.read_text()) if sidecar.exists() else {}


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _published(folder: Path) -> dict[str, dict[str, Any]]:
    doc = json.loads((folder / "feed.json").read_text(encoding="utf-8"))
    return {item["id"]: item for item in doc["items"]}


def _serve(server: LoopbackServer, tmp_path: Path, bodies: dict[str, bytes]) -> dict[str, str]:
    urls = {}
    for name, body in bodies.items():
        headers = _headers(FEEDS / name) or {"Content-Type": "application/xml"}
        urls[name] = server.route(f"/{name}", body=body, headers=headers)
    (tmp_path / "config.yaml").write_text(
        "site:\n  title: S\n  url: https://site.example/\nsources:\n"
        + "".join(f"  - feed: {u}\n" for u in urls.values())
        + "output:\n  formats: [json]\n  limit: 0\n"
    )
    return urls


def test_every_sample_feed_is_published_as_parse_feed_reads_it(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    bodies = {p.name: p.read_bytes() for p in _samples()}
    urls = _serve(http_server, tmp_path, bodies)
    assert len(urls) >= 8  # enough for the parse workers

    report = feedwright.build(tmp_path / "config.yaml", now=NOW)

    published = _published(tmp_path / "feeds")
    expected: dict[str, feedwright.Entry] = {}
    for name, url in urls.items():
        try:
            parsed = feedwright.parse_feed(
                bodies[name], url=url, headers=_headers(FEEDS / name), now=NOW
            )
        except feedwright.ParseError:
            continue
        for entry in parsed.entries:
            expected.setdefault(entry.id, entry)  # one copy of an entry reached twice
    failed = {s.url for s in report.sources if s.outcome == "error"}
    assert failed == {urls["garbage.bin"], urls["html-page.html"]}
    # The publisher may turn an id that is no URI into one; the rest is the entry's.
    assert sorted(_view(item) for item in published.values()) == sorted(
        _expected_view(entry) for entry in expected.values()
    )
    assert len(published) >= 30


def _view(item: dict[str, Any]) -> tuple[object, ...]:
    return (
        item["title"],
        item.get("url"),
        item["date_published"],
        item["date_modified"],
        item["content_html"],
        tuple(e["url"] for e in item.get("attachments", [])),
    )


def _expected_view(entry: feedwright.Entry) -> tuple[object, ...]:
    return (
        entry.title,
        entry.link,
        _stamp(entry.published),
        _stamp(entry.updated),
        entry.content or entry.summary or "",
        tuple(e.url for e in entry.enclosures),
    )


def test_undated_entries_keep_the_date_they_were_first_seen(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    dates = (FEEDS / "dates.xml").read_bytes()
    _serve(http_server, tmp_path, {"dates.xml": dates})
    feedwright.build(tmp_path / "config.yaml", now=NOW)
    undated = "tag:clock.example,2024:undated"
    assert _published(tmp_path / "feeds")[undated]["date_published"] == _stamp(NOW)
    assert _published(tmp_path / "feeds")[undated]["date_modified"] == _stamp(NOW)

    # The feed changes (so it is parsed again) and time passes.
    _serve(http_server, tmp_path, {"dates.xml": dates.replace(b"</title>", b" (2)</title>", 1)})
    later = NOW + timedelta(hours=5)
    report = feedwright.build(tmp_path / "config.yaml", now=later)

    assert [s.outcome for s in report.sources] == ["ok"]
    assert _published(tmp_path / "feeds")[undated]["date_published"] == _stamp(NOW)
