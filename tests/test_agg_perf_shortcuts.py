"""The aggregation's shortcuts give what the plain path gives, seen from outside.

The lxml fast path and its sanitising shortcuts (the cheap "suspect markup"
pre-checks, nh3 with attributes put in feedparser's order) are held to
feedparser on random markup; a refresh of many sources with more entries
than one save batch stores every source and entry.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import LoopbackServer

import feedwright

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

PIECES = [
    "<", ">", "/", "!", " ", "\t", "\n", "=", "(", ":", "a", "p", "s", "x", "\u017f",
    "\u0131", "\u0130", "\u212a", "\u76f8", "style", "script", "java", "vb", "data",
    "expression", "svg", "math", "head", "title", "link", "frame", "S", "T", "Y", "L", "E",
    "<b>", "</b>", "<p>", '<a href="/x">', "</a>", "<img src=i.png>", "&amp;", "&lt;",
]  # fmt: skip


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rss(summaries: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Item {i}</title><link>https://s.example/{i}.html</link>"
        f'<guid isPermaLink="false">s-{i}</guid><pubDate>Sat, 01 Nov 2025 10:00:00 +0000'
        f"</pubDate><description>{_escape(text)}</description></item>"
        for i, text in enumerate(summaries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>'
        f"<link>https://s.example/</link>{items}</channel></rss>"
    ).encode()


@pytest.mark.parametrize("seed", [20261128, 7, 11])
def test_random_markup_gives_what_feedparser_gives(seed: int) -> None:
    rng = random.Random(seed)
    summaries = ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14))) for _ in range(400)]
    data = _rss(summaries)
    url = "https://s.example/feed.xml"

    fast = feedwright.parse_feed(data, url=url, now=NOW, fast=True)
    slow = feedwright.parse_feed(data, url=url, now=NOW, fast=False)

    assert fast.parser == "lxml" and slow.parser == "feedparser"
    assert fast.entries == slow.entries


def _feed(n: int, items: int) -> bytes:
    body = "".join(
        f"<item><title>Item {n}-{i}</title><link>https://s{n}.example/{i}</link>"
        f'<guid isPermaLink="false">s{n}-{i}</guid>'
        f"<pubDate>Sat, 01 Nov 2025 10:{i % 60:02d}:00 +0000</pubDate>"
        f"<description>&lt;p&gt;Body {i}&lt;/p&gt;</description></item>"
        for i in range(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {n}</title><link>https://s{n}.example/</link>{body}</channel></rss>"
    ).encode()


def test_a_big_refresh_stores_every_source_and_entry(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    # 12 sources of 200 entries: more than one save batch, through the parse workers.
    sizes = [200 + n for n in range(12)]
    urls = [
        http_server.route(
            f"/f{n}.xml",
            body=_feed(n, size),
            headers={"Content-Type": "application/rss+xml", "ETag": f'"e{n}"'},
        )
        for n, size in enumerate(sizes)
    ]
    urls.append(http_server.url("/missing.xml"))  # a 404: an error value, saved too
    config = tmp_path / "config.yaml"
    config.write_text(
        "site:\n  title: S\n  url: https://site.example/\nsources:\n"
        + "".join(f"  - feed: {u}\n" for u in urls)
        + "output:\n  formats: [json]\n  limit: 0\n"
    )

    report = feedwright.build(config, now=NOW)

    assert [s.url for s in report.sources] == urls  # config order, whatever finished first
    assert [s.outcome for s in report.sources] == ["ok"] * 12 + ["error"]
    assert [s.new for s in report.sources[:12]] == sizes
    status = {s.source: s for s in feedwright.status(config)}
    assert [status[u].entries for u in urls] == [*sizes, 0]
    assert status[urls[-1]].error_streak == 1
    published = json.loads((tmp_path / "feeds" / "feed.json").read_text())
    assert len(published["items"]) == sum(sizes)

    # The server ignores validators: the same bodies are recognised and not parsed again.
    again = feedwright.build(config, now=NOW)
    assert [s.outcome for s in again.sources[:12]] == ["unchanged"] * 12
    assert http_server.requests[-2].headers["if-none-match"].startswith('"e')
