"""Remote feeds aggregated with local posts, end to end over real loopback HTTP."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import feedparser
import pytest

import feedwright
from feedwright.cli import main

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Money Wire</title><link>https://wire.example/</link>
<description>d</description>
<item><title>Rates &amp; bonds</title><link>https://wire.example/rates</link>
<guid>https://wire.example/rates</guid><category>Finance</category>
<pubDate>Tue, 14 May 2024 18:00:00 +0000</pubDate>
<description>&lt;p onclick="x()"&gt;Bonds&lt;script&gt;alert(1)&lt;/script&gt;
&lt;a href="&amp;#106;avascript:alert(1)"&gt;click&lt;/a&gt;&lt;/p&gt;</description></item>
<item><title>Ad: buy now</title><link>https://wire.example/ad</link>
<guid>https://wire.example/ad</guid><category>Ads</category>
<pubDate>Wed, 15 May 2024 18:00:00 +0000</pubDate><description>ad</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example/">
<title>Harbour Blog</title><id>urn:harbour</id><updated>2024-05-16T08:00:00Z</updated>
<link href="https://blog.example/"/>
<entry><title>港口新航线开通</title><id>urn:harbour:1</id><link href="posts/1"/>
<updated>2024-05-16T08:00:00Z</updated><category term="资讯"/>
<content type="html">&lt;p&gt;新航线&lt;img src="/i/ship.png"&gt;&lt;/p&gt;</content></entry>
</feed>""".encode()

POST = """---
title: 本地财经简报
date: 2024-05-17 09:00
categories: [金融]
---
简报正文。
"""


def etag_handler(body: bytes, etag: str, content_type: str):  # type: ignore[no-untyped-def]
    def handle(request: BaseHTTPRequestHandler) -> None:
        if request.headers.get("If-None-Match") == etag:
            request.send_response(304)
            request.send_header("ETag", etag)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.send_header("ETag", etag)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handle


@pytest.fixture
def site(tmp_path: Path, http_server):  # type: ignore[no-untyped-def]
    s = http_server
    s.route("/wire.xml", handler=etag_handler(RSS, '"w1"', "application/rss+xml"))
    s.route("/mirror.xml", handler=etag_handler(RSS, '"w1"', "application/rss+xml"))
    s.route("/harbour-old.xml", status=301, headers={"Location": "/harbour.xml"})
    s.route("/harbour.xml", handler=etag_handler(ATOM, '"h1"', "application/atom+xml"))
    s.route("/gone.xml", status=410, body=b"gone")
    s.route("/broken.xml", status=500, body=b"oops")
    s.route("/busy.xml", status=429, headers={"Retry-After": "3600"})
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "brief.md").write_text(POST, encoding="utf-8")
    config = f"""\
site:
  title: 江南新闻
  url: https://news.example.com/
  timezone: Asia/Shanghai
sources:
  - posts: posts
  - feed: {s.url("/wire.xml")}
    category_map: {{Finance: 金融, Ads: null}}
  - feed: {s.url("/mirror.xml")}
    category_map: {{Finance: 金融, Ads: null}}
  - feed: {s.url("/harbour-old.xml")}
    title: 港口博客
  - feed: {s.url("/gone.xml")}
  - feed: {s.url("/broken.xml")}
  - feed: {s.url("/busy.xml")}
fetch:
  timeout: 5s
"""
    (tmp_path / "config.yaml").write_text(config, encoding="utf-8")
    return tmp_path


def build(site: Path, *extra: str) -> int:
    return main(["build", "-c", str(site / "config.yaml"), *extra])


def paths(server) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.path for r in server.requests]


def test_aggregate_end_to_end(site: Path, http_server, capsys) -> None:  # type: ignore[no-untyped-def]
    assert build(site) == 1
    err = capsys.readouterr().err
    for bad in ("/gone.xml", "/broken.xml", "/busy.xml"):
        assert http_server.url(bad) in err
    assert "/wire.xml" not in err
    # The feed that moved for good is no problem: one warning says where it went.
    (moved,) = [line for line in err.splitlines() if "/harbour" in line]
    old, new = http_server.url("/harbour-old.xml"), http_server.url("/harbour.xml")
    assert moved.endswith(
        f"warning: {old}: moved permanently to {new}; fetched from there from now on"
    )

    feeds = site / "feeds"
    finance = feedparser.parse((feeds / "金融" / "atom.xml").read_bytes())
    titles = [e.title for e in finance.entries]
    assert titles == ["本地财经简报", "Rates & bonds"]
    remote = finance.entries[1]
    assert remote.source.title == "Money Wire"
    html = remote.summary
    assert "script" not in html and "onclick" not in html and "javascript" not in html
    # Ads were dropped by category_map, so the ad never reaches a category feed
    combined = feedparser.parse((feeds / "atom.xml").read_bytes())
    ids = [e.id for e in combined.entries]
    assert len(ids) == len(set(ids)), "an entry reached twice must be published once"
    assert "https://wire.example/rates" in ids
    news = feedparser.parse((feeds / "资讯" / "rss.xml").read_bytes())
    (ship,) = news.entries
    assert ship.link == "https://blog.example/posts/1"
    assert 'src="https://blog.example/i/ship.png"' in ship.description
    assert ship.source.title == "港口博客"

    # Second build: conditional GETs, the moved feed fetched at its new URL,
    # gone / rate-limited / backing-off sources left alone, nothing rewritten.
    mtimes = {p: p.stat().st_mtime_ns for p in feeds.rglob("*.xml")}
    before = len(http_server.requests)
    capsys.readouterr()
    assert build(site) == 0
    assert " 0 files written" in capsys.readouterr().out
    second = http_server.requests[before:]
    assert sorted(r.path for r in second) == ["/harbour.xml", "/mirror.xml", "/wire.xml"]
    assert all(r.headers.get("if-none-match") for r in second)
    assert {p: p.stat().st_mtime_ns for p in feeds.rglob("*.xml")} == mtimes

    assert main(["status", "-c", str(site / "config.yaml"), "--json"]) == 0
    status = {row["source"].rsplit("/", 1)[1]: row for row in json.loads(capsys.readouterr().out)}
    assert status["gone.xml"]["status"] == "gone"
    assert status["gone.xml"]["next_due"] is None
    assert status["broken.xml"]["error_streak"] == 1
    assert status["busy.xml"]["result"] == "rate-limited"
    assert status["wire.xml"]["result"] == "not-modified"
    assert status["wire.xml"]["entries"] == 2
    assert status["harbour-old.xml"]["url"].endswith("/harbour.xml")

    assert main(["status", "-c", str(site / "config.yaml")]) == 0
    table = capsys.readouterr().out
    assert "never (gone)" in table and "source" in table.splitlines()[0]


def test_a_feeds_category_settings_apply_at_the_next_build(site: Path, http_server) -> None:  # type: ignore[no-untyped-def]
    # Categories are given as a feed is parsed: an edited category_map must
    # not wait for the feed to change (a 304, or the same bytes, parse nothing).
    assert build(site) == 1
    config = site / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("Finance: 金融", "Finance: Money"))
    before = len(http_server.requests)
    build(site)  # (the failing feeds back off: not fetched, not said again)
    wire = [r for r in http_server.requests[before:] if r.path == "/wire.xml"]
    assert [r.headers.get("if-none-match") for r in wire] == [None]  # fetched whole
    money = feedparser.parse((site / "feeds" / "money" / "atom.xml").read_bytes())
    assert [e.title for e in money.entries] == ["Rates & bonds"]
    finance = feedparser.parse((site / "feeds" / "金融" / "atom.xml").read_bytes())
    assert [e.title for e in finance.entries] == ["本地财经简报"]  # the local post's own
    before = len(http_server.requests)
    build(site)  # and then as before: conditional
    wire = [r for r in http_server.requests[before:] if r.path == "/wire.xml"]
    assert [r.headers.get("if-none-match") for r in wire] == ['"w1"']


def test_a_far_future_date_is_the_time_first_seen_and_stays(tmp_path: Path, http_server) -> None:  # type: ignore[no-untyped-def]
    # "2099" is a typo no reader should see: the entry is dated when first
    # seen, and a later fetch of a changed feed does not move it again.
    item = (
        "<item><title>Typo</title><guid>t1</guid>"
        "<pubDate>Thu, 01 Jan 2099 00:00:00 GMT</pubDate></item>"
    )
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{item}</channel></rss>'
    )
    url = http_server.route(
        "/f.xml", body=body.encode(), headers={"Content-Type": "application/rss+xml"}
    )
    (tmp_path / "config.yaml").write_text(
        f"site:\n  title: S\n  url: https://s.example/\nsources:\n  - feed: {url}\n"
    )
    first = datetime(2026, 1, 1, 12, tzinfo=UTC)
    feedwright.build(tmp_path / "config.yaml", now=first)
    http_server.route("/f.xml", body=body.replace("<title>T</title>", "<title>T2</title>").encode())
    feedwright.build(tmp_path / "config.yaml", now=first + timedelta(hours=5))
    (entry,) = feedparser.parse((tmp_path / "feeds" / "atom.xml").read_bytes()).entries
    assert entry.published == entry.updated == "2026-01-01T12:00:00Z"


def test_offline_build_fetches_nothing(site: Path, http_server) -> None:  # type: ignore[no-untyped-def]
    assert build(site) == 1
    count = len(http_server.requests)
    (site / "feeds" / "atom.xml").unlink()
    assert build(site, "--offline") == 0
    assert len(http_server.requests) == count
    combined = feedparser.parse((site / "feeds" / "atom.xml").read_bytes())
    assert "Rates & bonds" in [e.title for e in combined.entries]


def test_an_offline_build_on_a_new_state_names_the_feeds_it_cannot_publish(
    site: Path,
    http_server,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    """A deleted (or new) state and --offline: the feeds the state knows
    nothing of are named, not dropped from the output unsaid."""
    assert build(site) == 1
    shutil.rmtree(site / ".feedwright")
    capsys.readouterr()
    assert build(site, "--offline") == 0
    err = capsys.readouterr().err
    for path in ("/wire.xml", "/mirror.xml", "/harbour-old.xml", "/gone.xml"):
        assert f"warning: {http_server.url(path)}: never fetched into this state" in err
    assert "a build without --offline fetches it" in err and "Traceback" not in err


def test_build_from_inside_a_running_event_loop(site: Path, http_server) -> None:  # type: ignore[no-untyped-def]
    """A notebook or an async program calls build() with its loop running:
    the feeds are fetched all the same (on a loop of feedwright's own)."""
    import asyncio

    async def host() -> feedwright.BuildReport:
        return feedwright.build(site / "config.yaml")

    report = asyncio.run(host())
    assert {r.url: r.outcome for r in report.sources}[http_server.url("/wire.xml")] == "ok"
    combined = feedparser.parse((site / "feeds" / "atom.xml").read_bytes())
    assert "Rates & bonds" in [e.title for e in combined.entries]


def _build_in_a_pool_worker(config: str) -> str:
    try:
        report = feedwright.build(config)
    except feedwright.FeedwrightError as exc:
        return f"{type(exc).__name__}: {exc}"
    return ", ".join(sorted({r.outcome for r in report.sources}))


def test_build_inside_a_daemonic_process_works(site: Path, http_server) -> None:  # type: ignore[no-untyped-def]
    """A multiprocessing.Pool worker may not fork children of its own; the
    API's workers are fresh interpreters, so it builds there all the same."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(1) as pool:
        said = pool.apply(_build_in_a_pool_worker, (str(site / "config.yaml"),))
    assert "ok" in said.split(", ")
    combined = feedparser.parse((site / "feeds" / "atom.xml").read_bytes())
    assert "Rates & bonds" in [e.title for e in combined.entries]


def test_an_item_with_only_an_enclosure_is_titled_by_its_file(
    tmp_path: Path,
    http_server,  # type: ignore[no-untyped-def]
) -> None:
    """No title, no text, no link: the enclosure's file name, not a hash."""
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Pod</title>'
        "<link>https://pod.example/</link><item>"
        '<enclosure url="https://cdn.pod.example/shows/Episode%2012.mp3" type="audio/mpeg"'
        ' length="1234"/><pubDate>Tue, 14 May 2024 10:00:00 +0000</pubDate></item>'
        "</channel></rss>"
    )
    url = http_server.route("/pod.xml", body=body.encode())
    (tmp_path / "config.yaml").write_text(
        f"site:\n  title: S\n  url: https://s.example/\nsources:\n  - feed: {url}\n"
    )
    report = feedwright.build(tmp_path / "config.yaml")
    assert report.problems == []
    (entry,) = feedparser.parse((tmp_path / "feeds" / "atom.xml").read_bytes()).entries
    assert entry.title == "Episode 12.mp3"
    (item,) = feedparser.parse((tmp_path / "feeds" / "rss.xml").read_bytes()).entries
    assert item.title == "Episode 12.mp3"
    page = (tmp_path / "feeds" / "index.html").read_text(encoding="utf-8")
    assert "Episode 12.mp3" in page and "urn:sha256" not in page


def test_entries_that_drop_off_stay_published(site: Path, http_server) -> None:  # type: ignore[no-untyped-def]
    assert build(site) == 1
    empty = RSS.split(b"<item>")[0] + b"</channel></rss>"
    http_server.route("/wire.xml", handler=etag_handler(empty, '"w2"', "application/rss+xml"))
    http_server.route("/mirror.xml", handler=etag_handler(empty, '"w2"', "application/rss+xml"))
    build(site)
    finance = feedparser.parse((site / "feeds" / "金融" / "atom.xml").read_bytes())
    assert "Rates & bonds" in [e.title for e in finance.entries]


def test_unparseable_feed_keeps_last_good_entries(site: Path, http_server, capsys) -> None:  # type: ignore[no-untyped-def]
    assert build(site) == 1
    http_server.route("/wire.xml", body=b"\x00\x01 not a feed", headers={"ETag": '"w3"'})
    http_server.route("/mirror.xml", body=b"<html><body>nope</body></html>")
    capsys.readouterr()
    build(site)
    err = capsys.readouterr().err
    assert http_server.url("/wire.xml") in err
    finance = feedparser.parse((site / "feeds" / "金融" / "atom.xml").read_bytes())
    assert "Rates & bonds" in [e.title for e in finance.entries]


def test_entries_saved_before_a_failed_publish_are_published_next_time(
    site: Path,
    http_server,  # type: ignore[no-untyped-def]
) -> None:
    assert build(site) == 1
    newer = RSS.replace(b"Rates &amp; bonds", b"Rates &amp; bonds, revised")
    http_server.route("/wire.xml", handler=etag_handler(newer, '"w9"', "application/rss+xml"))
    # A file where the category's folder must go: publishing fails after the
    # refresh stored the new entry.
    blocker = site / "feeds" / "金融"
    shutil.rmtree(blocker)
    blocker.write_text("in the way")
    assert build(site) == 1
    blocker.unlink()
    assert build(site) == 0  # every feed answers 304 now, yet the entry must appear
    finance = feedparser.parse((site / "feeds" / "金融" / "atom.xml").read_bytes())
    assert "Rates & bonds, revised" in [e.title for e in finance.entries]


def test_a_feed_taken_out_of_the_config_leaves_the_store_and_the_feeds(
    site: Path,
    http_server,  # type: ignore[no-untyped-def]
) -> None:
    build(site)
    combined = site / "feeds" / "atom.xml"
    assert "港口新航线开通" in combined.read_text(encoding="utf-8")
    config = site / "config.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace(f"  - feed: {http_server.url('/harbour-old.xml')}\n    title: 港口博客\n", ""),
        encoding="utf-8",
    )
    build(site, "--offline")
    assert "港口新航线开通" not in combined.read_text(encoding="utf-8")
    assert "Rates &amp; bonds" in combined.read_text(encoding="utf-8")
    # Put back, it is a new subscription: fetched again, nothing of it was kept.
    config.write_text(text, encoding="utf-8")
    build(site, "--offline")
    assert "港口新航线开通" not in combined.read_text(encoding="utf-8")
    build(site)
    assert "港口新航线开通" in combined.read_text(encoding="utf-8")
