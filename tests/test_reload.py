"""The daemon reloads config.yaml when it changes and on SIGHUP (issue 17);
an invalid new config is logged with its key and line and the old one keeps
running; a source taken out leaves the store and the feeds. A real
``feedwright run`` subprocess and the loopback feed server."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import feedparser
import pytest
from daemon_process import DaemonProcess, wait_until

import feedwright

ROOT = Path(__file__).resolve().parent.parent


def rss(name: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
        f"<link>https://{name}.example/</link><item><title>{name} news</title>"
        f"<link>https://{name}.example/1</link>"
        "<pubDate>Tue, 14 May 2024 18:00:00 +0000</pubDate></item></channel></rss>"
    ).encode()


def config_text(*feeds: str, extra: str = "") -> str:
    lines = "".join(f"  - feed: {url}\n    every: 1h\n" for url in feeds)
    return (
        "site:\n  title: Reload\n  url: https://example.com/\n"
        f"sources:\n  - posts: posts\n{lines}{extra}output:\n  dir: out\nstate: state.db\n"
    )


def titles(tmp_path: Path) -> list[str]:
    return sorted(
        e.title for e in feedparser.parse((tmp_path / "out" / "atom.xml").read_bytes()).entries
    )


def rewrite(config: Path, text: str, *, keep_stamp: bool = False) -> None:
    """Replace the config; ``keep_stamp``: as if nothing had changed (same size,
    mtime and inode), which only SIGHUP can tell."""
    before = os.stat(config)
    if keep_stamp:
        assert len(text.encode()) == before.st_size
        with open(config, "r+", encoding="utf-8") as fh:
            fh.write(text)
        os.utime(config, ns=(before.st_atime_ns, before.st_mtime_ns))
    else:
        config.write_text(text, encoding="utf-8")
        os.utime(config, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def site(tmp_path: Path, http_server: Any) -> tuple[Path, str, str]:
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "own.md").write_text("---\ntitle: Own post\ndate: 2024-01-01\n---\nHi.\n")
    a = http_server.route("/a.xml", body=rss("alpha"))
    b = http_server.route("/b.xml", body=rss("beta"))
    config = tmp_path / "config.yaml"
    config.write_text(config_text(a), encoding="utf-8")
    return config, a, b


def test_a_changed_config_is_reloaded_and_a_removed_feed_leaves_store_and_feeds(
    site: tuple[Path, str, str],
) -> None:
    config, _, b = site
    daemon = DaemonProcess(config)
    try:
        daemon.wait_log(r"published \d+ files")
        wait_until("alpha", lambda: titles(config.parent) == ["Own post", "alpha news"])

        rewrite(config, config_text(b))
        line = daemon.wait_log(r".*config reloaded.*")[0]
        assert "1 source added, 1 source removed" in line
        wait_until("beta", lambda: titles(config.parent) == ["Own post", "beta news"])
        assert [s.source for s in feedwright.status(config)] == [b]
    finally:
        assert daemon.stop() == 0
    # The store forgot the removed feed: nothing of it comes back offline.
    report = feedwright.build(config, offline=True)
    assert report.remote == 1


def test_an_invalid_config_is_logged_with_key_and_line_and_the_old_one_runs_on(
    site: tuple[Path, str, str],
) -> None:
    config, a, _ = site
    daemon = DaemonProcess(config)
    try:
        daemon.wait_log(r"published \d+ files")
        rewrite(config, config_text(a, extra="    filters: {include: ['(']}\n"))
        line = daemon.wait_log(r".*config not reloaded.*")[0]
        assert re.search(r"config\.yaml:\d+: sources\[1\]\.filters\.include\[0\]", line)
        assert "the old one keeps running" in line

        rewrite(config, config_text(a).replace("  dir: out", "  dir: out\n  limt: 5"))
        line = daemon.wait_log(r".*config not reloaded.*")[0]
        assert "output.limt: unknown key (did you mean `limit`?)" in line

        # Still publishing, with the config it had.
        (config.parent / "posts" / "new.md").write_text(
            "---\ntitle: New post\ndate: 2024-01-02\n---\n"
        )
        wait_until("the new post", lambda: "New post" in titles(config.parent))
        assert daemon.proc.poll() is None
    finally:
        assert daemon.stop() == 0


def test_a_config_moved_away_is_said_plainly_and_read_again_once_back(
    site: tuple[Path, str, str],
) -> None:
    """Not `feedwright init`, the hint a missing config gets elsewhere: a starter
    config written there would be loaded by the running daemon."""
    config, _, b = site
    daemon = DaemonProcess(config)
    try:
        daemon.wait_log(r"published \d+ files")
        away = config.with_name("config.yaml.bak")
        config.rename(away)
        line = daemon.wait_log(r".*config not reloaded.*")[0]
        assert f"{config}: no such file (moved or deleted?)" in line
        assert "init" not in line
        away.write_text(config_text(b), encoding="utf-8")
        away.rename(config)
        assert "1 source added" in daemon.wait_log(r".*config reloaded.*")[0]
    finally:
        assert daemon.stop() == 0


def test_sighup_reloads_even_when_the_file_looks_unchanged(site: tuple[Path, str, str]) -> None:
    config, _, _ = site
    daemon = DaemonProcess(config)
    try:
        daemon.wait_log(r"published \d+ files")
        old = config.read_text()
        new = old.replace("title: Reload", "title: Reloa2")
        rewrite(config, new, keep_stamp=True)
        time.sleep(1.5)  # a tick or more: the file watch sees nothing
        assert not any("config reloaded" in line for line in daemon.lines)
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_log(r"received SIGHUP")
        assert "settings changed" in daemon.wait_log(r".*config reloaded.*")[0]
        feed = config.parent / "out" / "atom.xml"
        wait_until("the new title", lambda: b"<title>Reloa2</title>" in feed.read_bytes())
    finally:
        assert daemon.stop() == 0


def test_a_shorter_every_applies_at_once(site: tuple[Path, str, str], http_server: Any) -> None:
    """schedule.every: 1h -> 1s: the daemon fetches again at once, not after the hour."""
    config, a, _ = site
    hourly = config_text(a).replace("    every: 1h\n", "") + "schedule:\n  every: 1h\n"
    rewrite(config, hourly)
    daemon = DaemonProcess(config)
    try:
        daemon.wait_log(r"published \d+ files")
        fetched = len(http_server.requests)
        rewrite(config, hourly.replace("every: 1h", "every: 1s"))
        daemon.wait_log(r".*config reloaded.*")
        wait_until("two more fetches", lambda: len(http_server.requests) >= fetched + 2)
        [row] = feedwright.status(config)
        assert row.every is not None and row.every.total_seconds() == 1
    finally:
        assert daemon.stop() == 0


def test_a_state_deleted_under_the_daemon_is_fetched_again_before_publishing(
    site: tuple[Path, str, str], http_server: Any
) -> None:
    """The feeds an hour from due, the state file deleted, a post edited: the
    daemon fetches every feed into the new state before it publishes, so no
    remote entry leaves the feeds."""
    config, _, _ = site
    daemon = DaemonProcess(config)
    try:
        daemon.wait_log(r"published \d+ files")
        wait_until("alpha", lambda: titles(config.parent) == ["Own post", "alpha news"])
        fetched = len(http_server.requests)
        for name in ("state.db", "state.db-wal", "state.db-shm"):
            (config.parent / name).unlink(missing_ok=True)
        post = config.parent / "posts" / "own.md"
        post.write_text(post.read_text().replace("Hi.", "Hi again."))
        wait_until("a fetch into the new state", lambda: len(http_server.requests) > fetched)
        daemon.wait_log(r"published \d+ files")
        assert titles(config.parent) == ["Own post", "alpha news"]
    finally:
        assert daemon.stop() == 0
