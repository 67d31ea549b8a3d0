"""A wrong clock, once, must not block feeds for good (docs/history.md,
"Dates and the clock"): a build whose clock is outside the years feeds may
carry stores and publishes nothing, and a state holding dates set under such
a clock (by an older version) is mended by the next build with a right one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

import feedwright
from feedwright.cli import main
from feedwright.store import FeedHistory, SourceState, Store, entry_row

FUTURE = datetime(3001, 1, 1, tzinfo=UTC)

RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    b"<link>https://t.example/</link><description>d</description>"
    b"<item><title>Undated</title><guid>https://t.example/u</guid></item>"
    b"<item><title>Dated</title><guid>https://t.example/d</guid>"
    b"<pubDate>Wed, 01 Jan 2025 00:00:00 GMT</pubDate></item>"
    b"</channel></rss>"
)


def site(tmp_path: Path, http_server, extra: str = "") -> tuple[Path, str]:  # type: ignore[no-untyped-def]
    url = http_server.route("/f.xml", body=RSS, headers={"Content-Type": "application/rss+xml"})
    config = tmp_path / "config.yaml"
    config.write_text(
        f"site:\n  title: S\n  url: https://s.example/\nsources:\n  - feed: {url}\n{extra}"
    )
    return config, url


def published(path: Path) -> dict[str, str]:
    return {e.title: e.published for e in feedparser.parse(path.read_bytes()).entries}


def test_a_clock_past_the_years_feeds_may_carry_stores_and_publishes_nothing(
    tmp_path: Path,
    http_server,  # type: ignore[no-untyped-def]
) -> None:
    config, _ = site(tmp_path, http_server)
    with pytest.raises(feedwright.ClockError, match=r"3001-01-01.*1800 to 2999"):
        feedwright.build(config, now=FUTURE)
    assert http_server.requests == []  # nothing fetched
    before = datetime.now(UTC)
    report = feedwright.build(config)
    assert report.publish.rejected == []
    dates = published(tmp_path / "feeds" / "atom.xml")
    assert dates["Dated"] == "2025-01-01T00:00:00Z"
    undated = datetime.fromisoformat(dates["Undated"])
    assert before - timedelta(seconds=1) <= undated <= datetime.now(UTC)


def test_entries_stored_under_a_wrong_clock_are_dated_by_the_next_right_one(
    tmp_path: Path,
    http_server,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    # A state an older version wrote while the clock said 3001: the undated
    # entry first seen then, dated so; the gate refused every feed holding it.
    config, url = site(tmp_path, http_server)
    parsed = feedwright.parse_feed(RSS, url=url, now=FUTURE)
    with Store.open(tmp_path / ".feedwright" / "state.db") as store:
        store.save_entry_rows(
            url, [entry_row(e) for e in parsed.entries], FUTURE, undated=parsed.undated_ids
        )
    before = datetime.now(UTC)
    assert main(["build", "-c", str(config)]) == 0
    err = capsys.readouterr().err
    said = f"{url}: 1 stored entry dated outside the years 1800 to 2999 (set under a wrong clock)"
    assert said in err
    dates = published(tmp_path / "feeds" / "atom.xml")
    assert dates["Dated"] == "2025-01-01T00:00:00Z"
    undated = datetime.fromisoformat(dates["Undated"])
    assert before - timedelta(seconds=1) <= undated <= datetime.now(UTC)
    # Mended once, for good: the date stays, and nothing is said again.
    assert main(["build", "-c", str(config)]) == 0
    assert "outside the years" not in capsys.readouterr().err
    assert published(tmp_path / "feeds" / "atom.xml")["Undated"] == dates["Undated"]


def test_a_tombstone_set_under_a_wrong_clock_does_not_block_the_feed(
    tmp_path: Path,
    http_server,  # type: ignore[no-untyped-def]
) -> None:
    config, _ = site(tmp_path, http_server)
    with Store.open(tmp_path / ".feedwright" / "state.db") as store:
        gone = {"https://t.example/gone": FUTURE}
        store.save_feed_history({"": FeedHistory(("https://t.example/gone",), gone)})
    report = feedwright.build(config)
    assert report.publish.rejected == []
    text = (tmp_path / "feeds" / "atom.xml").read_text(encoding="utf-8")
    assert 'ref="https://t.example/gone"' in text and "3001" not in text


def test_a_next_check_set_under_a_wrong_clock_is_due_now(tmp_path: Path, http_server) -> None:  # type: ignore[no-untyped-def]
    # A feed with its own `every` waits for its next check, in a one-shot
    # build as in the daemon (update.is_due): not until the year 3001.
    config, url = site(tmp_path, http_server)
    config.write_text(config.read_text().replace(f"feed: {url}\n", f"feed: {url}\n    every: 1h\n"))
    with Store.open(tmp_path / ".feedwright" / "state.db") as store:
        store.save_source_state(
            SourceState(key=url, url=url, last_fetch=FUTURE, next_check=FUTURE + timedelta(hours=1))
        )
    feedwright.build(config)
    assert [r.path for r in http_server.requests] == ["/f.xml"]
    assert "Dated" in published(tmp_path / "feeds" / "atom.xml")
