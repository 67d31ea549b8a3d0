"""Politeness you can see (issue 17): what each source's fetches cost and saved,
servers that ignore validators, feeds that churn, the feed's own hints (ttl,
skipHours, skipDays, Cache-Control max-age) and adaptive intervals. Through
the API and the CLI against the loopback server; the scheduling rules as the
pure functions of ``feedwright.schedule``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

import feedwright
from feedwright.cli import main
from feedwright.schedule import adaptive_interval, next_check, skip_ahead

NOW = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)  # a Monday, 10:00 UTC


def rss(
    *, extra: str = "", items: int = 2, start: datetime = NOW, gap: timedelta = timedelta(hours=1)
) -> bytes:
    body = "".join(
        f"<item><title>Item {n}</title><link>https://w.example/{n}</link>"
        f"<pubDate>{(start - n * gap).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for n in range(items)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>'
        f"<link>https://w.example/</link>{extra}{body}</channel></rss>"
    ).encode()


def make_site(tmp_path: Path, url: str, schedule: str = "", source: str = "") -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        "site:\n  title: S\n  url: https://example.com/\n"
        f"sources:\n  - feed: {url}\n{source}"
        f"output:\n  dir: out\nstate: state.db\nschedule:\n  jitter: 0\n{schedule}",
        encoding="utf-8",
    )
    return config


def conditional(body: bytes, etag: str = '"v1"') -> Any:
    """A handler that answers 304 to a matching If-None-Match, else the body."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        if request.headers.get("If-None-Match") == etag:
            request.send_response(304)
            request.send_header("ETag", etag)
            request.end_headers()
            return
        request.send_response(200)
        request.send_header("ETag", etag)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handle


def test_requests_304s_and_bytes_are_counted(tmp_path: Path, http_server: Any) -> None:
    body = rss()
    url = http_server.route("/feed.xml", handler=conditional(body))
    config = make_site(tmp_path, url)
    for _ in range(3):
        feedwright.build(config, now=NOW)
    [row] = feedwright.status(config)
    assert (row.requests, row.not_modified, row.unchanged) == (3, 2, 0)
    assert row.bytes_down == len(body)
    assert row.bytes_saved == 2 * len(body)
    assert row.notes == ()


def test_a_server_that_ignores_validators_is_named(
    tmp_path: Path, http_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # The plain route sends its ETag but never answers 304.
    url = http_server.route("/feed.xml", body=rss(), headers={"ETag": '"same"'})
    config = make_site(tmp_path, url)
    for _ in range(3):
        feedwright.build(config, now=NOW)
    assert http_server.requests[-1].headers["if-none-match"] == '"same"'
    [row] = feedwright.status(config)
    assert (row.requests, row.unchanged, row.validators_ignored) == (3, 2, 2)
    assert row.notes and "ignores our validators" in row.notes[0]

    assert main(["status", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:3] == ["source", "last", "fetch"] and "saved" in header
    assert "ignores our validators" in out


def test_a_feed_whose_bytes_change_while_its_entries_do_not_is_named(
    tmp_path: Path, http_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = http_server.url("/feed.xml")
    config = make_site(tmp_path, url)
    for n in range(4):
        stamp = f"<lastBuildDate>Mon, 07 Jan 2030 10:0{n}:00 +0000</lastBuildDate>"
        http_server.route("/feed.xml", body=rss(extra=stamp))
        feedwright.build(config, now=NOW)
    [row] = feedwright.status(config)
    assert row.churned == 3
    assert any("bytes change on every fetch" in n for n in row.notes)
    assert main(["status", "--json", "-c", str(config)]) == 0
    [data] = json.loads(capsys.readouterr().out)
    assert data["churned"] == 3 and data["requests"] == 4 and data["bytes_saved"] == 0


@pytest.mark.parametrize(
    ("extra", "headers", "due"),
    [
        ("<ttl>180</ttl>", {}, NOW + timedelta(hours=3)),
        ("", {"Cache-Control": "max-age=7200"}, NOW + timedelta(hours=2)),
        ("<skipHours><hour>11</hour><hour>12</hour></skipHours>", {}, NOW + timedelta(hours=3)),
        ("<skipDays><day>Monday</day></skipDays>", {}, datetime(2030, 1, 8, tzinfo=UTC)),
    ],
)
def test_the_feeds_own_hints_set_the_next_check(
    tmp_path: Path, http_server: Any, extra: str, headers: dict[str, str], due: datetime
) -> None:
    url = http_server.route("/feed.xml", body=rss(extra=extra), headers=headers)
    config = make_site(tmp_path, url)
    feedwright.build(config, now=NOW)
    [row] = feedwright.status(config)
    assert row.next_due == due


def test_a_build_honours_a_feeds_ttl(tmp_path: Path, http_server: Any) -> None:
    url = http_server.route("/feed.xml", body=rss(extra="<ttl>180</ttl>"))
    config = make_site(tmp_path, url)
    feedwright.build(config, now=NOW)
    feedwright.build(config, now=NOW + timedelta(hours=1))  # asked not to: not fetched
    assert len(http_server.requests) == 1
    feedwright.build(config, now=NOW + timedelta(hours=3))
    assert len(http_server.requests) == 2
    [row] = feedwright.status(config)
    assert row.hints == "ttl 180m"


def test_a_changed_every_reschedules_from_the_last_fetch(tmp_path: Path, http_server: Any) -> None:
    """A shorter interval applies at once (from the last fetch), never after
    the longer one ran out; a longer one from the next fetch."""
    url = http_server.route("/feed.xml", body=rss())
    config = make_site(tmp_path, url, source="    every: 1h\n")
    feedwright.build(config, now=NOW)
    [row] = feedwright.status(config)
    assert row.next_due == NOW + timedelta(hours=1)
    make_site(tmp_path, url, source="    every: 5m\n")
    [row] = feedwright.status(config)
    assert row.every == timedelta(minutes=5)
    feedwright.build(config, now=NOW + timedelta(minutes=10))
    assert len(http_server.requests) == 2
    [row] = feedwright.status(config)
    assert row.next_due == NOW + timedelta(minutes=15)
    make_site(tmp_path, url, source="    every: 30m\n")
    feedwright.build(config, now=NOW + timedelta(minutes=12))
    assert len(http_server.requests) == 2  # not later either: due at 10:15 as before
    feedwright.build(config, now=NOW + timedelta(minutes=16))
    assert len(http_server.requests) == 3
    [row] = feedwright.status(config)
    assert row.next_due == NOW + timedelta(minutes=46)


def test_adaptive_intervals_follow_how_often_a_feed_publishes(
    tmp_path: Path, http_server: Any
) -> None:
    busy = http_server.route("/busy.xml", body=rss(items=60, gap=timedelta(hours=12)))
    quiet = http_server.route(
        "/quiet.xml", body=rss(items=3, start=NOW - timedelta(days=90), gap=timedelta(days=30))
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        "site:\n  title: S\n  url: https://example.com/\n"
        f"sources:\n  - feed: {busy}\n  - feed: {quiet}\n  - feed: {busy}?own\n    every: 2h\n"
        "output:\n  dir: out\nstate: state.db\n"
        "schedule:\n  jitter: 0\n  adaptive: true\n  min_every: 30m\n  max_every: 1d\n",
        encoding="utf-8",
    )
    http_server.route("/busy.xml?own", body=rss(items=60, gap=timedelta(hours=12)))
    feedwright.build(config, now=NOW)
    rows = {r.source: r for r in feedwright.status(config)}
    # 60 entries in the 30 days: a 12 h gap, checked twice in it.
    assert rows[busy].every == timedelta(hours=6)
    assert rows[busy].next_due == NOW + timedelta(hours=6)
    assert rows[quiet].every == timedelta(days=1)  # nothing in 30 days: the longest
    assert rows[f"{busy}?own"].every == timedelta(hours=2)  # its own `every` wins


def test_a_bad_adaptive_range_is_a_config_error(tmp_path: Path, capsys: Any) -> None:
    config = make_site(tmp_path, "https://a.example/f", "  min_every: 2d\n  max_every: 1d\n")
    assert main(["check", "-c", str(config)]) == 2
    assert (
        "schedule.min_every: must not be longer than schedule.max_every" in capsys.readouterr().err
    )


# --------------------------------------------------------------------------- the pure rules


def test_adaptive_interval_is_bounded() -> None:
    week = [NOW - timedelta(days=d) for d in range(30)]
    bounds = {"minimum": timedelta(minutes=30), "maximum": timedelta(days=1)}
    assert adaptive_interval(week, NOW, **bounds) == timedelta(hours=12)
    assert adaptive_interval(week * 100, NOW, **bounds) == timedelta(minutes=30)
    assert adaptive_interval([], NOW, **bounds) == timedelta(days=1)
    future = [NOW + timedelta(days=1)]
    assert adaptive_interval(future, NOW, **bounds) == timedelta(days=1)


def test_skip_ahead_moves_to_the_first_hour_not_skipped() -> None:
    at = NOW + timedelta(minutes=5)
    assert skip_ahead(at, frozenset(), frozenset()) == at
    assert skip_ahead(at, frozenset({9}), frozenset()) == at
    assert skip_ahead(at, frozenset({10, 11}), frozenset()) == NOW + timedelta(hours=2)
    assert skip_ahead(at, frozenset(range(24)), frozenset()) == at  # not believed
    sunday = datetime(2030, 1, 6, 23, 30, tzinfo=UTC)
    assert skip_ahead(sunday, frozenset({0}), frozenset({6})) == datetime(2030, 1, 7, 1, tzinfo=UTC)


def test_hints_never_delay_a_retry_after_an_error() -> None:
    hour = timedelta(hours=1)
    after_error = next_check(
        now=NOW, every=hour, key="k", jitter=0, error_count=1, ttl=timedelta(days=1)
    )
    assert after_error == NOW + hour
