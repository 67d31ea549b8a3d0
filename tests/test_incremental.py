"""Incremental builds: the same bytes as a cold build, and every change noticed.

Everything a build skips (the no-change check, the post cache, the rendered
HTML kept in the store, reading in worker processes) must never change what
is published. These tests drive ``feedwright.build`` and ``feedwright.cli.main``
on real folders: a posts folder and a config.yaml written here, the feeds read
back as files. "Built or not" is the report's ``cached`` flag; "the same" is
a byte comparison with a cold build of the same inputs in a fresh folder.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from conftest import run_cli

import feedwright
from feedwright.exceptions import ConfigError
from feedwright.incremental import RECORD_KEY, edits, resolution
from feedwright.lock import output_lock

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

CONFIG = """\
site:
  title: Inc
  url: https://inc.example/
  timezone: Asia/Shanghai
sources:
  - posts: posts
    permalink: "{year}/{slug}/"
output:
  dir: feeds
  limit: 3
  tombstones: 0   # these tests compare with a cold build, which knows of no deletion
"""


def post(i: int, cats: str = "[A, B]", day: int = 1, body: str = "") -> str:
    front = f"---\ntitle: Post {i}\ndate: 2024-01-{day:02d} 0{i % 10}:00\ncategories: {cats}\n---\n"
    return front + f"\nBody *{i}* [rel](img/{i}.png)\n{body}"


def make(folder: Path, n: int = 8, config: str = CONFIG) -> Path:
    """A site of ``n`` posts: odd ones in A and B, even ones in C, one a day."""
    (folder / "posts").mkdir(parents=True)
    for i in range(n):
        cats = "[A, B]" if i % 2 else "[C]"
        (folder / "posts" / f"p{i}.md").write_text(post(i, cats, day=i + 1), encoding="utf-8")
    (folder / "config.yaml").write_text(config, encoding="utf-8")
    return folder / "config.yaml"


def output(folder: Path) -> dict[str, bytes]:
    """Every published file under folder/feeds (not the lock)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted((folder / "feeds").rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def stamps(folder: Path) -> dict[str, int]:
    return {
        p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
        for p in (folder / "feeds").rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def titles(folder: Path, feed: str = "atom.xml") -> list[str]:
    return [e.title for e in feedparser.parse((folder / "feeds" / feed).read_bytes()).entries]


def build(config: Path, now: datetime = NOW, **kw: Any) -> feedwright.BuildReport:
    return feedwright.build(config, now=now, **kw)


def cli(config: Path, *args: str) -> tuple[int, str, str]:
    return run_cli("build", "-c", str(config), *args)


def cold_copy(site: Path, tmp: Path, now: datetime = NOW) -> dict[str, bytes]:
    """The output of the same posts and config built from scratch in a fresh folder."""
    fresh = tmp / "cold"
    if fresh.exists():
        shutil.rmtree(fresh)
    fresh.mkdir()
    for item in site.iterdir():
        if item.is_dir() and item.name not in ("feeds", ".feedwright"):
            shutil.copytree(item, fresh / item.name, symlinks=True)
    shutil.copy(site / "config.yaml", fresh / "config.yaml")
    if (site / "feedwright.ids").exists():  # the id ledger is an input, as the posts are
        shutil.copy(site / "feedwright.ids", fresh / "feedwright.ids")
    report = build(fresh / "config.yaml", now)
    assert not report.cached
    return output(fresh)


def touch(path: Path, seconds: float = 10) -> None:
    """Move a file's mtime forward (a quick second edit may share the first's mtime)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + int(seconds * 1e9)))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    make(tmp_path / "site")
    return tmp_path / "site"


# --------------------------------------------------------------------------- nothing changed


def test_a_no_change_rebuild_writes_nothing_and_says_cached(site: Path) -> None:
    config = site / "config.yaml"
    first = build(config)
    assert not first.cached and first.publish.written
    before, files = stamps(site), output(site)
    again = build(config)
    assert again.cached
    assert again.publish.written == [] and again.publish.removed == []
    assert sorted(again.publish.unchanged) == sorted(first.publish.written)
    assert (again.posts, again.categories, again.held, again.skipped) == (
        first.posts,
        first.categories,
        first.held,
        first.skipped,
    )
    assert stamps(site) == before and output(site) == files  # mtimes kept: ETags stay valid
    assert build(config, NOW + timedelta(days=300)).cached  # time alone changes nothing


def test_the_command_says_the_same_whether_or_not_it_built(tmp_path: Path) -> None:
    # A no-change build answers from the record; a build that reads everything
    # again and finds nothing new must print exactly the same.
    config = make(tmp_path / "site")
    posts = tmp_path / "site" / "posts"
    (posts / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    (posts / "later.md").write_text(
        "---\ntitle: Later\ndate: 2999-01-01\ncategories: [S]\n---\nx\n"
    )
    assert cli(config)[0] == 1
    for args in [(), ("--json",), ("-q",), ("--offline", "--json")]:
        cached = cli(config, *args)
        for path in posts.iterdir():
            touch(path)  # the same bytes, newer stamps: a real build reads every post again
        real = cli(config, *args)
        assert real == cached, args
        code, out, err = cached
        assert code == 1 and "broken.md" in err and "unclosed" not in out
        if "--json" in args:
            summary = json.loads(out)
            assert summary["written"] == [] and summary["held_future_posts"] == 1
            assert summary["next_post_at"].startswith("2998-12-31T16:00")  # Asia/Shanghai


# --------------------------------------------------------------------------- every change is built


def test_every_change_a_build_must_see_is_built(site: Path) -> None:
    config = site / "config.yaml"
    posts, feeds = site / "posts", site / "feeds"
    assert not build(config).cached

    def built(now: datetime = NOW) -> bool:
        report = build(config, now)
        assert build(config, now).cached, "a second build finds nothing more to do"
        return not report.cached

    assert not built()
    (posts / "p7.md").write_text(post(7, day=8, body="edited\n"))
    assert built() and "edited" in (feeds / "atom.xml").read_text()
    (posts / "new.md").write_text("---\ntitle: New\ndate: 2024-02-01\n---\nhi\n")
    assert built() and "New" in titles(site)
    (posts / "new.md").rename(posts / "renamed.md")
    assert built() and "inc.example/2024/renamed/" in (feeds / "atom.xml").read_text()
    (posts / "renamed.md").unlink()
    assert built() and "New" not in titles(site)
    touch(posts / "p1.md")  # same bytes, newer mtime: read again (nothing to publish)
    assert built()
    (posts / "p7.md").write_text(post(7, day=8).replace("---\n\n", "draft: true\n---\n\n"))
    assert built() and "Post 7" not in titles(site)  # unpublished
    (posts / "p7.md").write_text(post(7, day=8))
    assert built() and "Post 7" in titles(site)
    (site / "config.yaml").write_text(CONFIG.replace("title: Inc", "title: Renamed"))
    assert built() and b"Renamed" in (feeds / "atom.xml").read_bytes()
    touch(feeds / "rss.xml")  # a published file touched
    assert built()
    (feeds / "atom.xml").write_bytes(b"tampered")
    assert built() and b"tampered" not in (feeds / "atom.xml").read_bytes()
    (feeds / "b" / "rss.xml").unlink()
    assert built() and (feeds / "b" / "rss.xml").is_file()
    (posts / "sub").mkdir()
    (posts / "sub" / "deep.md").write_text("---\ntitle: Deep\ndate: 2024-03-01\n---\nx\n")
    assert built() and "Deep" in titles(site)
    (posts / "later.md").write_text("---\ntitle: Later\ndate: 2026-06-02\n---\nsoon\n")
    assert built() and "Later" not in titles(site)
    assert not built(NOW + timedelta(hours=1))  # not due yet
    assert built(NOW + timedelta(days=1)) and "Later" in titles(site)
    assert output(site) == cold_copy(site, site.parent, NOW + timedelta(days=1))


def test_an_edit_rewrites_only_the_feeds_holding_the_post(site: Path, tmp_path: Path) -> None:
    config = site / "config.yaml"
    build(config)
    before = stamps(site)
    (site / "posts" / "p7.md").write_text(post(7, "[A, B]", day=8, body="Edited\n"))
    report = build(config)
    assert not report.cached
    assert sorted(report.publish.written) == [
        "a/atom.xml", "a/index.html", "a/rss.xml", "atom.xml", "b/atom.xml", "b/index.html",
        "b/rss.xml", "index.html", "rss.xml",
    ]  # fmt: skip
    assert "c/atom.xml" in report.publish.unchanged
    after = stamps(site)
    assert {f for f in after if after[f] != before[f]} == {
        f"feeds/{name}" for name in report.publish.written
    }
    assert output(site) == cold_copy(site, tmp_path)

    # A post in no feed (limit: 3 per feed) changes no file at all.
    (site / "posts" / "p1.md").write_text(post(1, "[A, B]", day=2, body="in no feed\n"))
    report = build(config)
    assert not report.cached and report.publish.written == []
    assert stamps(site) == after


def test_rename_delete_and_add_match_a_cold_build(site: Path, tmp_path: Path) -> None:
    config = site / "config.yaml"
    build(config)
    (site / "posts" / "p6.md").rename(site / "posts" / "renamed.md")
    (site / "posts" / "p5.md").unlink()
    (site / "posts" / "new.md").write_text(post(9, "[D]", day=20))
    report = build(config)
    assert not report.cached and report.posts == 8
    assert output(site) == cold_copy(site, tmp_path)
    assert (site / "feeds" / "d" / "atom.xml").exists()
    # A category nobody files under any more loses its feed.
    (site / "posts" / "new.md").unlink()
    report = build(config)
    assert "d/atom.xml" in report.publish.removed
    assert not (site / "feeds" / "d" / "atom.xml").exists()
    assert output(site) == cold_copy(site, tmp_path)


def test_a_config_edit_is_built(site: Path, tmp_path: Path) -> None:
    config = site / "config.yaml"
    build(config)
    text = CONFIG.replace("title: Inc", "title: Renamed")
    config.write_text(text)
    assert not build(config).cached
    assert b"Renamed" in (site / "feeds" / "atom.xml").read_bytes()
    assert output(site) == cold_copy(site, tmp_path)
    # A setting that changes how posts are read (the permalink) reads them again.
    text = text.replace("{year}/{slug}/", "p/{slug}/")
    config.write_text(text)
    assert not build(config).cached
    assert b"https://inc.example/p/p7/" in (site / "feeds" / "atom.xml").read_bytes()
    assert output(site) == cold_copy(site, tmp_path)
    # So does the zone of dates written without one.
    config.write_text(text.replace("Asia/Shanghai", "America/New_York"))
    assert not build(config).cached
    assert output(site) == cold_copy(site, tmp_path)
    # And one that changes only the output.
    config.write_text(text + "  formats: [atom, json]\n")
    report = build(config)
    assert "rss.xml" in report.publish.removed and not (site / "feeds" / "rss.xml").exists()
    assert output(site) == cold_copy(site, tmp_path)


def test_damaged_output_is_repaired(site: Path) -> None:
    config = site / "config.yaml"
    build(config)
    good = output(site)
    (site / "feeds" / "a" / "rss.xml").write_bytes(b"truncated")
    (site / "feeds" / "b" / "atom.xml").unlink()
    shutil.rmtree(site / "feeds" / "c")
    report = build(config)
    assert not report.cached
    assert sorted(report.publish.written) == [
        "a/rss.xml", "b/atom.xml", "c/atom.xml", "c/index.html", "c/rss.xml",
    ]  # fmt: skip
    assert output(site) == good


def test_a_held_back_post_is_published_when_due(site: Path) -> None:
    config = site / "config.yaml"
    (site / "posts" / "later.md").write_text(
        "---\ntitle: Later\ndate: 2026-06-01 21:00\ncategories: [C]\n---\nsoon\n"
    )  # 13:00 UTC
    first = build(config)
    assert first.held == 1 and first.next_post_at == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
    assert "Later" not in titles(site, "c/atom.xml")
    early = build(config, NOW + timedelta(minutes=59))
    assert early.cached and early.held == 1
    due = build(config, datetime(2026, 6, 1, 13, 0, tzinfo=UTC))
    assert not due.cached and due.held == 0 and due.next_post_at is None
    assert titles(site, "c/atom.xml")[0] == "Later"
    assert build(config, NOW + timedelta(days=1)).cached


def test_a_remote_feed_with_new_entries_is_built(site: Path, http_server: Any) -> None:
    def rss(*items: str) -> bytes:
        body = "".join(
            f"<item><guid>https://wire.example/{t}</guid><title>{t}</title>"
            "<pubDate>Mon, 01 Jan 2025 10:00:00 GMT</pubDate></item>"
            for t in items
        )
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
            f"<link>https://wire.example/</link>{body}</channel></rss>"
        ).encode()

    url = http_server.route("/wire.xml", body=rss("One"), headers={"ETag": '"1"'})
    config = site / "config.yaml"
    config.write_text(CONFIG.replace("output:", f"  - feed: {url}\noutput:"))
    first = build(config)
    assert not first.cached and first.remote == 1 and "One" in titles(site)
    assert build(config, offline=True).cached
    requests = len(http_server.requests)
    assert build(config).cached  # fetched again (unchanged), nothing to publish
    assert len(http_server.requests) == requests + 1
    http_server.route("/wire.xml", body=rss("Two", "One"), headers={"ETag": '"2"'})
    assert build(config, offline=True).cached  # offline: not fetched, nothing new
    assert len(http_server.requests) == requests + 1
    report = build(config)
    assert not report.cached and report.remote == 2
    assert {"One", "Two"} <= set(titles(site))


def test_a_feed_taken_out_of_the_config_leaves_the_feeds(site: Path, http_server: Any) -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        b"<item><guid>https://wire.example/1</guid><title>From the wire</title>"
        b"<pubDate>Mon, 01 Jan 2025 10:00:00 GMT</pubDate></item></channel></rss>"
    )
    url = http_server.route("/wire.xml", body=body)
    config = site / "config.yaml"
    config.write_text(CONFIG.replace("output:", f"  - feed: {url}\noutput:"))
    build(config)
    assert "From the wire" in titles(site)
    config.write_text(CONFIG)
    report = build(config, offline=True)
    assert not report.cached and report.remote == 0
    assert "From the wire" not in titles(site)
    assert feedwright.status(config) == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda record: "not json",
        lambda record: json.dumps([record]),
        lambda record: json.dumps({**record, "summary": {}}),
        lambda record: json.dumps({**record, "summary": None}),
        lambda record: json.dumps({**record, "summary": {**record["summary"], "posts": "many"}}),
        lambda record: json.dumps(
            {**record, "summary": {**record["summary"], "post_errors": [["only a path"]]}}
        ),
        lambda record: json.dumps({**record, "stamps": {"atom.xml": "xyz"}}),
        lambda record: json.dumps({**record, "stamps": []}),
        lambda record: json.dumps({**record, "next_post_at": "2024-01-01T00:00:00"}),
        lambda record: json.dumps({**record, "next_post_at": 12}),
        lambda record: json.dumps({**record, "fingerprint": None}),
    ],
    ids=[
        "not-json",
        "a-list",
        "empty-summary",
        "no-summary",
        "bad-count",
        "bad-problem",
        "bad-stamp",
        "stamps-a-list",
        "naive-date",
        "date-a-number",
        "no-fingerprint",
    ],
)
def test_a_damaged_build_record_means_a_full_build(
    site: Path, damage: Callable[[dict[str, Any]], str]
) -> None:
    # The record is read before anything vouches for it: whatever it holds,
    # the build still happens, says what it found and publishes the same.
    config = site / "config.yaml"
    (site / "posts" / "bad.md").write_text("---\ndate: yesterday-ish\n---\nx\n")
    first = build(config)
    files = output(site)
    db = sqlite3.connect(site / ".feedwright" / "state.db")
    (raw,) = db.execute("SELECT value FROM meta WHERE key = ?", (RECORD_KEY,)).fetchone()
    db.execute("UPDATE meta SET value = ? WHERE key = ?", (damage(json.loads(raw)), RECORD_KEY))
    db.commit()
    db.close()
    code, out, err = cli(config)
    assert code == 1, err
    assert "bad.md" in err and "internal error" not in err
    assert f"{first.posts} posts" in out
    assert output(site) == files
    again = build(config)
    assert again.cached and [str(e) for e in again.post_errors] == [
        str(e) for e in first.post_errors
    ]


def test_deleting_the_state_database_gives_the_same_output(site: Path) -> None:
    config = site / "config.yaml"
    (site / "posts" / "bad.md").write_text("---\ndate: yesterday-ish\n---\nx\n")
    first = build(config)
    files = output(site)
    shutil.rmtree(site / ".feedwright")
    report = build(config)
    assert not report.cached
    assert report.publish.written == []  # the same bytes: no file rewritten
    assert output(site) == files
    assert [str(e) for e in report.post_errors] == [str(e) for e in first.post_errors]
    assert build(config).cached


# --------------------------------------------------------------------------- problems


def test_a_bad_post_is_reported_again_by_a_no_change_build(site: Path) -> None:
    config = site / "config.yaml"
    (site / "posts" / "bad.md").write_text("---\ndate: yesterday-ish\n---\nx\n")
    first = build(config)
    again = build(config)
    assert again.cached
    assert [str(e) for e in again.post_errors] == [str(e) for e in first.post_errors]
    assert len(again.problems) == 1 and "bad.md" in again.problems[0]
    assert "yesterday-ish" in again.problems[0]


BREAKAGES = {
    "front-matter-typo": "---\ntitle: [Post 7, edited\ndate: 2024-01-08 07:00\n---\nBody\n",
    "bad-encoding": "---\ntitle: Café\ndate: 2024-01-08 07:00\n---\nrésumé\n".encode("latin-1"),
    "bad-date": "---\ntitle: Post 7\ndate: 2024-13-45\ncategories: [A, B]\n---\nBody *7*\n",
    "binary": b"\x00\x01\x02\x03" * 64,
    "emptied": b"",  # an editor that crashed while saving
}


@pytest.mark.parametrize("broken", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_a_published_post_that_breaks_keeps_its_last_good_version(
    site: Path, broken: str | bytes
) -> None:
    config = site / "config.yaml"
    path = site / "posts" / "p7.md"
    build(config)
    good = output(site)
    if isinstance(broken, str):
        path.write_text(broken, encoding="utf-8")
    else:
        path.write_bytes(broken)

    for _ in range(3):  # reported on every build, real or not, until fixed
        report = build(config)
        assert [e.path for e in report.post_errors] == [str(path)]
        assert "last good version" in report.problems[0]
        assert report.posts == 8
        assert output(site) == good
    assert report.cached
    code, _, err = cli(config)
    assert code == 1 and "p7.md" in err

    path.write_text(post(7, "[A, B]", day=8, body="fixed\n"), encoding="utf-8")
    report = build(config)
    assert report.post_errors == [] and "fixed" in (site / "feeds" / "atom.xml").read_text()


def test_a_broken_post_never_publishes_a_mix_of_two_versions(site: Path, tmp_path: Path) -> None:
    # p1 is in no feed (limit: 3) when it breaks; the newer posts then go and it
    # reaches the feeds. Its last good version has metadata but no HTML yet, and
    # its file now holds another body: that body must not go out under the old
    # title. The post is reported, and its good version comes back when fixed.
    config = site / "config.yaml"
    path = site / "posts" / "p1.md"
    build(config)
    path.write_text("---\ntitle: [unclosed\n---\nA body never published\n", encoding="utf-8")
    build(config)
    for n in (3, 5, 7):
        (site / "posts" / f"p{n}.md").unlink()
    report = build(config)
    assert str(path) in {e.path for e in report.post_errors}
    assert not any(b"never published" in data for data in output(site).values())
    assert "Post 1" not in titles(site)
    assert build(config).cached and len(build(config).post_errors) == 2  # typo; left out
    path.write_text(post(1, "[A, B]", day=2), encoding="utf-8")
    report = build(config)
    assert report.post_errors == [] and "Post 1" in titles(site, "a/atom.xml")
    assert output(site) == cold_copy(site, tmp_path)


def test_a_post_that_goes_leaves_the_feeds(site: Path, tmp_path: Path) -> None:
    config = site / "config.yaml"
    build(config)
    assert "Post 7" in titles(site)
    (site / "posts" / "p7.md").unlink()
    report = build(config)
    assert report.posts == 7 and "Post 7" not in titles(site)
    # A broken one too, with the last good version it was kept by.
    (site / "posts" / "p5.md").write_text("---\ntitle: [unclosed\n---\nx\n")
    assert len(build(config).post_errors) == 1 and "Post 5" in titles(site)
    (site / "posts" / "p5.md").unlink()
    report = build(config)
    assert report.post_errors == [] and "Post 5" not in titles(site)
    assert output(site) == cold_copy(site, tmp_path)


def test_a_posts_folder_that_goes_is_a_config_error_and_nothing_is_written(site: Path) -> None:
    config = site / "config.yaml"
    build(config)
    files, before = output(site), stamps(site)
    loaded = feedwright.load_config(config)  # as a daemon or a program holds it
    (site / "posts").rename(site / "elsewhere")
    code, _, err = cli(config)
    assert code == 2 and "sources[0].posts: no such folder" in err
    with pytest.raises(ConfigError, match=r"sources\[0\]\.posts: no such folder"):
        build(loaded)
    assert output(site) == files and stamps(site) == before  # never emptied feeds
    (site / "elsewhere").rename(site / "posts")
    assert build(config).cached


def test_a_locked_output_is_refused_even_with_nothing_to_do(site: Path) -> None:
    config = site / "config.yaml"
    build(config)
    with output_lock(site / "feeds"):
        code, _, err = cli(config)
    assert code == 3 and "another feedwright" in err


# --------------------------------------------------------------------------- where posts come from


def test_two_folders_with_the_same_path_publish_the_first_folders_post(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for folder, title, day in (("one", "From one", 1), ("two", "From two", 9)):
        (site / folder).mkdir(parents=True)
        (site / folder / "a.md").write_text(
            f"---\ntitle: {title}\ndate: 2024-01-0{day}\n---\nBody of {folder}\n", encoding="utf-8"
        )
    config = site / "config.yaml"
    config.write_text(CONFIG.replace("  - posts: posts\n", "  - posts: one\n  - posts: two\n"))
    report = build(config)
    assert report.posts == 1
    atom = (site / "feeds" / "atom.xml").read_text(encoding="utf-8")
    assert "From one" in atom and "Body of one" in atom
    assert "From two" not in atom and "Body of two" not in atom
    # An edit to the second folder's post changes nothing published.
    (site / "two" / "a.md").write_text("---\ntitle: Two again\ndate: 2024-01-10\n---\nx\n")
    report = build(config)
    assert report.publish.written == [] and titles(site) == ["From one"]
    # Until the first one goes.
    (site / "one" / "a.md").unlink()
    build(config)
    assert titles(site) == ["Two again"]


def test_a_moved_symlink_is_built(tmp_path: Path) -> None:
    # Deploys that switch a `current` link between releases: the same config
    # bytes, the same link, other files behind it.
    site = tmp_path / "site"
    make(site)
    (site / "posts").rename(site / "release-1")
    (site / "release-2").mkdir()
    (site / "release-2" / "only.md").write_text("---\ntitle: Only in two\ndate: 2024-07-01\n---\n")
    (site / "current").symlink_to("release-1")
    config = site / "config.yaml"
    config.write_text(CONFIG.replace("posts: posts", "posts: current"))
    assert build(config).posts == 8
    (site / "current").unlink()
    (site / "current").symlink_to("release-2")
    report = build(config)
    assert not report.cached and report.posts == 1
    assert titles(site) == ["Only in two"]


def test_the_order_files_were_written_in_changes_nothing(tmp_path: Path) -> None:
    names = ["b.md", "a.md", "z/c.md", "k/d.md", "k/a.md", "c.md"]
    for n, order in enumerate([names, names[::-1]]):
        site = tmp_path / str(n)
        (site / "posts").mkdir(parents=True)
        for i, name in enumerate(order):
            (site / "posts" / name).parent.mkdir(parents=True, exist_ok=True)
            (site / "posts" / name).write_text(
                f"---\ntitle: {name}\ndate: 2024-01-01\n---\nx\n", encoding="utf-8"
            )
            os.utime(site / "posts" / name, (1_700_000_000 + i, 1_700_000_000 + i))
        (site / "config.yaml").write_text(CONFIG)
        build(site / "config.yaml")
    assert output(tmp_path / "0") == output(tmp_path / "1")


# --------------------------------------------------------------------------- large sites


BIG = 450  # more posts to read and render than a build does in this process


def big_site(folder: Path, posts: range) -> Path:
    (folder / "posts").mkdir(parents=True, exist_ok=True)
    for i in posts:
        if i % 97 == 13:
            text = f"---\ntitle: [broken {i}\n---\nx\n"
        else:
            cats = ["[A]", "[B, C]", "[C]"][i % 3]
            text = post(i, cats, day=1 + i % 28, body=f"post number {i} 张家港\n" * (i % 5))
        name = f"{i % 10}/p{i:04}.md"
        (folder / "posts" / name).parent.mkdir(exist_ok=True)
        (folder / "posts" / name).write_text(text, encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(CONFIG.replace("limit: 3", "limit: 0"), encoding="utf-8")
    return config


def test_a_large_site_read_in_workers_equals_one_read_in_small_batches(tmp_path: Path) -> None:
    # Over 400 posts to read (and to render) are handed to worker processes;
    # under that, a build reads them itself. Both must publish the same bytes
    # and name the same problems.
    whole = big_site(tmp_path / "whole", range(BIG))
    code, out, err_whole = cli(whole)  # the command forks its workers
    assert code == 1 and f"{BIG - 5} posts" in out, err_whole

    batched = tmp_path / "batched"
    for start in range(0, BIG, 150):
        config = big_site(batched, range(start, start + 150))
        report = build(config)
    assert not report.cached
    assert output(batched) == output(tmp_path / "whole")
    assert sorted(str(e) for e in report.post_errors) == sorted(
        line.replace(str(tmp_path / "whole"), str(batched)) for line in err_whole.splitlines()
    )

    # The API's workers come from a fork server, not from the caller.
    api = big_site(tmp_path / "api", range(BIG))
    report = build(api)
    assert report.posts == BIG - 5 and output(tmp_path / "api") == output(batched)

    # The cache the workers filled serves the next build as one filled here.
    for folder in (tmp_path / "whole", batched):
        (folder / "posts" / "3" / "p0123.md").write_text(post(123, "[D]", day=3, body="edit\n"))
        assert not build(folder / "config.yaml").cached
    assert output(batched) == output(tmp_path / "whole")
    assert output(batched) == cold_copy(batched, tmp_path)


def odd_name(folder: Path, text: str) -> str:
    """A post whose file name is not UTF-8 (written by a Latin-1 system); its problem lines."""
    name = os.fsdecode(b"caf\xe9.md")
    (folder / "posts" / name).write_text(text, encoding="utf-8")
    return name


@pytest.mark.parametrize("size", [8, BIG], ids=["read-here", "read-in-workers"])
def test_a_post_nobody_foresaw_costs_only_itself(tmp_path: Path, size: int) -> None:
    # Whatever reading one file runs into, that file is published or named with
    # a reason, the same in a small site as in one read by worker processes,
    # and every other post is published.
    site = tmp_path / "site"
    config = big_site(site, range(size)) if size == BIG else make(site, size)
    expected = sum(1 for i in range(size) if size != BIG or i % 97 != 13)
    name = odd_name(site, "---\ntitle: Café\ndate: 2024-02-01\n---\nx\n")
    code, out, err = cli(config)
    assert code in (0, 1) and "internal error" not in err, err
    shown = "caf\\xe9.md"  # its bytes, as the problem line shows them
    assert name not in err
    problems = [line for line in err.splitlines() if shown in line]
    if problems:
        assert f"{expected} posts" in out and problems[0].startswith(f"{site / 'posts'}/{shown}: ")
    else:
        assert f"{expected + 1} posts" in out and "Café" in titles(site)
    assert build(config).cached


def test_paths_that_are_not_utf8_build_and_rebuild(tmp_path: Path) -> None:
    # A site in a folder named by a Latin-1 system, holding a post named by one
    # (its id and link given, so its name is not needed to make them).
    site = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9"))
    config = make(site)
    name = odd_name(
        site,
        "---\ntitle: Café\nid: urn:x:cafe\nlink: https://inc.example/cafe/\n"
        "date: 2024-02-01\ncategories: [C]\n---\nCafé body\n",
    )
    report = build(config)
    assert report.post_errors == [] and report.posts == 9
    assert "Café" in titles(site, "c/atom.xml")
    assert build(config).cached
    (site / "posts" / name).write_text(
        "---\ntitle: Café, edited\nid: urn:x:cafe\nlink: https://inc.example/cafe/\n"
        "date: 2024-02-01\ncategories: [C]\n---\nCafé body\n",
        encoding="utf-8",
    )
    touch(site / "posts" / name)
    assert not build(config).cached and "Café, edited" in titles(site, "c/atom.xml")
    (site / "posts" / name).unlink()
    report = build(config)
    assert report.posts == 8 and "Café, edited" not in titles(site, "c/atom.xml")
    assert output(site) == cold_copy(site, tmp_path)


# --------------------------------------------------------------------------- the caller


@pytest.mark.parametrize("collecting", [True, False])
def test_a_build_leaves_its_caller_as_it_found_it(site: Path, collecting: bool) -> None:
    # A program that calls feedwright.build keeps its collector, signal handlers,
    # working folder and threads; nothing it held open is touched.
    was = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)}
    cwd, threads = os.getcwd(), threading.active_count()
    try:
        build(site / "config.yaml")
        (site / "posts" / "p1.md").write_text(post(1, body="edited\n"))
        build(site / "config.yaml")
        assert gc.isenabled() is collecting and gc.get_freeze_count() == 0
        assert {s: signal.getsignal(s) for s in handlers} == handlers
        assert os.getcwd() == cwd and threading.active_count() == threads
    finally:
        (gc.enable if was else gc.disable)()


EDITS_CONFIG = """\
site:
  title: Edits
  url: https://edits.example/
sources:
  - posts: posts
    permalink: "{year}/{slug}/"
  - posts: notes
    permalink: "notes/{slug}/"
output:
  dir: feeds
  limit: 3
"""


WHEN = re.compile(rb' when="[^"]*"')


def timed(run: tuple[int, str, str]) -> tuple[tuple[int, str, str], datetime | None]:
    """A ``build --json`` run without its report's ``next_post_at``, and that time."""
    code, out, err = run
    report = json.loads(out)
    when = report.pop("next_post_at")
    return (code, json.dumps(report), err), None if when is None else datetime.fromisoformat(when)


@pytest.mark.parametrize(
    "output",
    ["  pages: true\n", "  formats: [atom, rss, json]\n  stylesheet: false\n  tombstones: 0\n"],
)
def test_posts_edited_in_place_publish_what_a_whole_build_would(
    tmp_path: Path, output: str
) -> None:
    """A build after posts were only edited in place publishes from the last
    build's feeds (incremental/edits.py). Each step is built twice from the
    same files and state: so, and again after someone touched the id ledger
    (a comment line), which makes it a whole build. Both give the same
    files, ledger and report; the sequence goes on from the first."""
    site = tmp_path / "site"
    make(site, n=12, config=EDITS_CONFIG + output)
    posts = site / "posts"
    (posts / "undated.md").write_text("---\ntitle: Undated\ncategories: [C]\n---\nHi\n")
    os.utime(posts / "undated.md", (1_600_000_000, 1_600_000_000))
    (site / "notes").mkdir()
    for i in range(2):
        note = f"---\ntitle: Note {i}\ndate: 2024-05-0{i + 1}\ncategories: [C]\n---\nNote {i}\n"
        (site / "notes" / f"n{i}.md").write_text(note)
    assert run_cli("build", "-q", "-c", str(site / "config.yaml"))[0] == 0

    def edit(name: str, old: str, new: str) -> None:
        path = posts / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new), encoding="utf-8")

    def outputs() -> dict[str, bytes]:
        files = [
            site / "feedwright.ids",
            *sorted(p for p in (site / "feeds").rglob("*") if p.is_file()),
        ]
        # A tombstone says when the build that noticed ran, to the second: the
        # two builds of a step may run in different seconds.
        return {str(p.relative_to(site)): WHEN.sub(b' when="-"', p.read_bytes()) for p in files}

    steps: list[Callable[[], object]] = [
        lambda: edit("p11.md", "Body *11*", "Body *eleven*"),  # the newest post
        lambda: edit("p1.md", "Body *1*", "Body *one*"),  # in no feed any more
        lambda: edit("p10.md", "title: Post 10", "title: Post ten"),
        lambda: (
            edit("p9.md", "Body", "Body\x01 with a control character"),
            edit("p8.md", "Body", "Body, twice edited"),
        ),
        lambda: edit("p11.md", "title: Post 11", "title: [broken"),
        lambda: edit("p11.md", "Body *eleven*", "Body *11 again*"),  # broken still
        lambda: edit("p11.md", "title: [broken", "title: Post 11 fixed"),
        lambda: (posts / "undated.md").touch(),
        lambda: edit("../notes/n1.md", "title: Note 1", "title: Note one"),
        lambda: (
            edit("../notes/n0.md", "---\nNote 0", "---\nNote zero"),
            edit("p10.md", "ten", "10"),
        ),
        lambda: edit("p7.md", "categories: [A, B]", "categories: [A]"),  # moved
        lambda: edit("p6.md", "2024-01-07", "2024-02-07"),  # moved
        lambda: (posts / "p5.md").unlink(),  # a tombstone
        lambda: edit("p9.md", "control character", "control character, again"),
        lambda: edit("p4.md", "title: Post 4", "title: Post 4\ndraft: true"),
        lambda: (posts / "new.md").write_text("---\ntitle: New\ndate: 2024-03-01\n---\nNew\n"),
        lambda: edit("new.md", "New\n", "Newer\n"),
    ]
    config = str(site / "config.yaml")
    before, after = tmp_path / "before", tmp_path / "after"
    for n, step in enumerate(steps):
        step()
        shutil.copytree(site, before, symlinks=True)  # (file times kept: the same stamps)
        got = timed(run_cli("build", "--json", "-c", config)), outputs()
        site.rename(after)
        before.rename(site)
        with (site / "feedwright.ids").open("a", encoding="utf-8") as ledger:
            ledger.write("# touched: a whole build\n")
        want = timed(run_cli("build", "--json", "-c", config)), outputs()
        # The next timed change may be a tombstone's expiry: its build's time
        # to the second, which may differ by one between the two builds.
        (got_run, got_next), (want_run, want_next) = got[0], want[0]
        assert (got_run, got[1]) == (want_run, want[1]), n
        assert (got_next is None) == (want_next is None), n
        if got_next is not None and want_next is not None:
            assert abs(got_next - want_next) <= timedelta(seconds=2), n
        assert got_run[0] in (0, 1), got_run  # 1: a post's problem
        shutil.rmtree(site)
        after.rename(site)


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],
        lambda raw: raw[:100] + ("A" if raw[100] != "A" else "B") + raw[101:],
        lambda raw: "not base64 at all!",
        lambda raw: "",
    ],
    ids=["truncated", "one-character", "not-base64", "empty"],
)
@pytest.mark.parametrize("key", [edits.KEY, resolution.KEY])
def test_a_damaged_lane_or_resolution_means_a_whole_build(
    tmp_path: Path, key: str, damage: Callable[[str], str]
) -> None:
    """What the state keeps for builds of edits (the lane; what the id ledger
    gave) is read before anything vouches for it: damaged, the build after an
    edit is a whole one and publishes what a fresh build would."""
    site = tmp_path / "site"
    make(site, n=6, config=EDITS_CONFIG)
    (site / "notes").mkdir()
    config = site / "config.yaml"
    assert run_cli("build", "-q", "-c", str(config))[0] == 0
    db = sqlite3.connect(site / ".feedwright" / "state.db")
    (raw,) = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    db.execute("UPDATE meta SET value = ? WHERE key = ?", (damage(raw), key))
    db.commit()
    db.close()
    post = site / "posts" / "p5.md"
    post.write_text(post.read_text(encoding="utf-8").replace("Body", "Edited body"))
    code, _, err = run_cli("build", "-c", str(config))
    assert code == 0 and not err, err
    assert "Edited body" in (site / "feeds" / "atom.xml").read_text(encoding="utf-8")
    fresh = tmp_path / "fresh"
    shutil.copytree(site / "posts", fresh / "posts")
    (fresh / "config.yaml").write_text(EDITS_CONFIG)
    (fresh / "notes").mkdir()
    shutil.copy(site / "feedwright.ids", fresh / "feedwright.ids")
    assert run_cli("build", "-q", "-c", str(fresh / "config.yaml"))[0] == 0
    assert output(site) == output(fresh)


def test_an_undated_post_ahead_of_the_clock_has_one_date_in_every_kind_of_build(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An undated post whose file's time is in 2100 is dated by the build that
    first publishes it (test_ids.py); the no-change shortcut, a build of
    edits (the lane) and a whole build of the same edit keep that date."""
    site = tmp_path / "site"
    config = make(site, n=6, config=EDITS_CONFIG)
    (site / "notes").mkdir()
    ahead = site / "notes" / "ahead.md"
    ahead.write_text("---\ntitle: Ahead\n---\nCopied from a machine whose clock ran ahead\n")
    os.utime(ahead, (4_102_444_800, 4_102_444_800))  # 2100-01-01
    first = build(config)
    assert first.held == 0 and any(w.startswith("notes/ahead.md: ") for w in first.warnings)

    def dated() -> str:
        entries = feedparser.parse((site / "feeds" / "atom.xml").read_bytes()).entries
        return {e.title: e.published for e in entries}["Ahead"]

    assert dated() == "2026-06-01T12:00:00Z"
    later = NOW + timedelta(hours=1)
    again = build(config, later)
    assert again.cached and again.held == 0 and not again.warnings
    # Edited in place on that machine: its file's time still 2100.
    ahead.write_text("---\ntitle: Ahead\n---\nCopied again, edited\n")
    os.utime(ahead, (4_102_444_800, 4_102_444_801))
    whole = tmp_path / "whole"
    shutil.copytree(site, whole, symlinks=True)  # (file times kept: the same stamps)
    with (whole / "feedwright.ids").open("a", encoding="utf-8") as ledger:
        ledger.write("# touched: a whole build\n")
    with caplog.at_level(logging.DEBUG, logger="feedwright"):
        edited = build(config, later)
    assert "posts edited in place: 1 feeds made again" in caplog.text
    assert build(whole / "config.yaml", later) == edited
    assert dated() == "2026-06-01T12:00:00Z" and not edited.warnings
    assert output(site) == output(whole)
    ledgers = [(s / "feedwright.ids").read_text(encoding="utf-8") for s in (site, whole)]
    assert ledgers[0] == ledgers[1]  # (the whole build wrote it again, without the comment)
