"""Incremental builds give the same bytes as a cold build, and notice every change.

The optimisations (post cache in the store, skipping feeds whose inputs are
unchanged, the no-change shortcut, parallel reading) must never change what
is published: each test compares against a cold build of the same inputs.
"""

from __future__ import annotations

import marshal
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import feedwright.app as app_module
import feedwright.publish as publish_module
from feedwright.app import run_once
from feedwright.config import load
from feedwright.sources import posts as posts_module

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
"""


def post(i: int, cats: str = "[A, B]", day: int = 1) -> str:
    front = f"---\ntitle: Post {i}\ndate: 2024-01-{day:02d} 0{i % 10}:00\ncategories: {cats}\n---\n"
    return front + f"\nBody *{i}* [rel](img/{i}.png)\n"


def make(folder: Path, n: int = 8) -> Path:
    (folder / "posts").mkdir(parents=True)
    for i in range(n):
        cats = "[A, B]" if i % 2 else "[C]"
        (folder / "posts" / f"p{i}.md").write_text(post(i, cats, day=i + 1), encoding="utf-8")
    (folder / "config.yaml").write_text(CONFIG, encoding="utf-8")
    return folder / "config.yaml"


def output(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted((folder / "feeds").rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def build(config_path: Path, now: datetime = NOW):  # type: ignore[no-untyped-def]
    return run_once(load(config_path), now=now)


def cold_copy(site: Path, tmp: Path) -> dict[str, bytes]:
    """Build the same posts and config from scratch in another folder."""
    fresh = tmp / "cold"
    if fresh.exists():
        shutil.rmtree(fresh)
    fresh.mkdir()
    shutil.copytree(site / "posts", fresh / "posts")
    shutil.copy(site / "config.yaml", fresh / "config.yaml")
    build(fresh / "config.yaml")
    return output(fresh)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    make(tmp_path / "site")
    return tmp_path / "site"


def test_no_change_rebuild_is_a_shortcut(site: Path) -> None:
    first = build(site / "config.yaml")
    assert not first.cached and first.publish.written
    again = build(site / "config.yaml")
    assert again.cached
    assert again.publish.written == [] and again.posts == first.posts
    assert sorted(again.publish.unchanged) == sorted(first.publish.written)
    assert again.categories == first.categories


def test_edit_rewrites_only_the_feeds_containing_the_post(site: Path, tmp_path: Path) -> None:
    build(site / "config.yaml")
    mtimes = {p: p.stat().st_mtime_ns for p in (site / "feeds").rglob("*.xml")}
    (site / "posts" / "p7.md").write_text(post(7, "[A, B]", day=8).replace("Body", "Edited"))
    report = build(site / "config.yaml")
    assert not report.cached
    assert sorted(report.publish.written) == [
        "a/atom.xml", "a/rss.xml", "atom.xml", "b/atom.xml", "b/rss.xml", "rss.xml",
    ]  # fmt: skip
    assert "c/atom.xml" in report.publish.unchanged
    assert (site / "feeds" / "c" / "atom.xml").stat().st_mtime_ns == mtimes[
        site / "feeds" / "c" / "atom.xml"
    ]
    assert output(site) == cold_copy(site, tmp_path)


def test_rename_delete_and_add_match_a_cold_build(site: Path, tmp_path: Path) -> None:
    build(site / "config.yaml")
    (site / "posts" / "p6.md").rename(site / "posts" / "renamed.md")
    (site / "posts" / "p5.md").unlink()
    (site / "posts" / "new.md").write_text(post(9, "[D]", day=20))
    report = build(site / "config.yaml")
    assert not report.cached and report.posts == 8
    assert output(site) == cold_copy(site, tmp_path)
    assert (site / "feeds" / "d" / "atom.xml").exists()


def test_config_change_invalidates(site: Path, tmp_path: Path) -> None:
    build(site / "config.yaml")
    config = (site / "config.yaml").read_text().replace("title: Inc", "title: Renamed")
    (site / "config.yaml").write_text(config)
    report = build(site / "config.yaml")
    assert not report.cached
    assert b"Renamed" in (site / "feeds" / "atom.xml").read_bytes()
    assert output(site) == cold_copy(site, tmp_path)
    # a setting that changes how posts are read (the permalink) re-reads them
    config = config.replace("{year}/{slug}/", "p/{slug}/")
    (site / "config.yaml").write_text(config)
    build(site / "config.yaml")
    assert b"https://inc.example/p/p7/" in (site / "feeds" / "atom.xml").read_bytes()
    assert output(site) == cold_copy(site, tmp_path)


def test_version_change_invalidates(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(site / "config.yaml")
    monkeypatch.setattr(app_module, "build_id", lambda: "999.0+code")
    monkeypatch.setattr(publish_module, "build_id", lambda: "999.0+code")
    reads: list[str] = []
    real = posts_module._read

    def counting(where: str, *args):  # type: ignore[no-untyped-def]
        reads.append(where)
        return real(where, *args)

    monkeypatch.setattr(posts_module, "_read", counting)
    report = build(site / "config.yaml")
    assert not report.cached
    assert len(set(reads)) == 8, "a new version must not trust the old post cache"


def test_damaged_output_is_repaired(site: Path) -> None:
    build(site / "config.yaml")
    good = (site / "feeds" / "a" / "rss.xml").read_bytes()
    (site / "feeds" / "a" / "rss.xml").write_bytes(b"truncated")
    (site / "feeds" / "b" / "atom.xml").unlink()
    report = build(site / "config.yaml")
    assert not report.cached
    assert (site / "feeds" / "a" / "rss.xml").read_bytes() == good
    assert (site / "feeds" / "b" / "atom.xml").exists()


def test_unchanged_posts_are_not_read_again(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(site / "config.yaml")
    (site / "posts" / "p1.md").write_text(post(1, "[A]", day=2) + "more\n")
    reads: list[str] = []
    real = posts_module._read

    def counting(where: str, *args):  # type: ignore[no-untyped-def]
        reads.append(os.path.basename(where))
        return real(where, *args)

    monkeypatch.setattr(posts_module, "_read", counting)
    build(site / "config.yaml")
    assert reads == ["p1.md"]


def test_future_post_is_published_when_due(site: Path) -> None:
    (site / "posts" / "later.md").write_text(
        "---\ntitle: Later\ndate: 2026-06-01 21:00\ncategories: [C]\n---\nsoon\n"
    )
    first = build(site / "config.yaml")
    assert first.held == 1
    assert build(site / "config.yaml").cached
    due = build(site / "config.yaml", now=NOW + timedelta(hours=1))
    assert not due.cached and due.held == 0
    assert b"Later" in (site / "feeds" / "c" / "atom.xml").read_bytes()


def test_bad_post_still_reported_by_the_shortcut(site: Path) -> None:
    (site / "posts" / "bad.md").write_text("---\ndate: yesterday-ish\n---\nx\n")
    first = build(site / "config.yaml")
    again = build(site / "config.yaml")
    assert again.cached
    assert [str(e) for e in again.post_errors] == [str(e) for e in first.post_errors]
    assert "bad.md" in again.problems[0]


def test_parallel_read_equals_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path / "site", n=40)
    config = load(tmp_path / "site" / "config.yaml")
    serial = posts_module.read_posts(config.posts_sources[0], config.site, workers=1)
    monkeypatch.setattr(posts_module, "PARALLEL_THRESHOLD", 1)
    parallel = posts_module.read_posts(config.posts_sources[0], config.site, workers=2)
    assert parallel.entries == serial.entries
    assert parallel.records == serial.records


def test_snapshot_order_depends_on_names_only(tmp_path: Path) -> None:
    # The no-change fingerprint hashes the snapshot in its own order.
    from feedwright.sources.files import snapshot

    names = ["b.md", "a.md", "z/c.md", "k/d.md", "k/a.md", "c.md"]
    for n, order in enumerate([names, names[::-1]]):
        root = tmp_path / str(n)
        for name in order:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(name)
        snap = snapshot([root])
        rels = [rel for _, rel in snap]
        if n == 0:
            first = rels
    assert rels == first and sorted(rels) == sorted(names)


def test_forked_cold_read_fills_the_cache_a_serial_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cold build of many posts reads them in a forked process, which sends
    # its entries back packed; the cache saves those bytes as they are.
    from feedwright.packing import pack
    from feedwright.store import Store

    make(tmp_path / "serial", n=40)
    make(tmp_path / "forked", n=40)
    build(tmp_path / "serial" / "config.yaml")
    monkeypatch.setattr(posts_module, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # forking.workers() reads it
    forked = build(tmp_path / "forked" / "config.yaml")
    assert forked.publish.written
    assert output(tmp_path / "forked") == output(tmp_path / "serial")

    def cache(folder: Path) -> dict[str, tuple[object, ...]]:
        config = load(folder / "config.yaml")
        with Store.open(config.state) as store:
            ((_root, rows),) = [
                (r, store.cached_post_rows(r, bodies=False))
                for (r,) in store._db.execute("SELECT DISTINCT root FROM post_caches")
            ]
        return {row[0]: row[1:] for row in rows}

    serial, from_fork = cache(tmp_path / "serial"), cache(tmp_path / "forked")
    assert len(from_fork) == 40
    for rel, (size, _mtime, error, stripped, entry, packed) in from_fork.items():
        assert (size, error, stripped, entry) == (
            serial[rel][0],
            serial[rel][2],
            serial[rel][3],
            serial[rel][4],
        )
        # (days 32-40 of January are errors: rows without an entry, as serially)
        assert (packed is None) == (entry is None)
        if packed is not None:  # (marshal's bytes are not canonical: compare what they hold)
            assert marshal.loads(packed) == marshal.loads(pack(entry, body_text=False))
    assert sum(1 for row in from_fork.values() if row[4] is not None) == 31

    # The next build reuses that cache: an edit matches a cold build.
    post_path = tmp_path / "forked" / "posts" / "p39.md"
    post_path.write_text(post(39, "[A]", day=28) + "\nedited\n", encoding="utf-8")
    edited = build(tmp_path / "forked" / "config.yaml")
    assert not edited.cached
    assert output(tmp_path / "forked") == cold_copy(tmp_path / "forked", tmp_path)


def test_two_folders_with_the_same_path_publish_the_first_folders_post(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for folder, title, day in (("one", "From one", 1), ("two", "From two", 9)):
        (site / folder).mkdir(parents=True)
        (site / folder / "a.md").write_text(
            f"---\ntitle: {title}\ndate: 2024-01-0{day}\n---\nBody of {folder}\n", encoding="utf-8"
        )
    (site / "config.yaml").write_text(
        CONFIG.replace("  - posts: posts\n", "  - posts: one\n  - posts: two\n"), encoding="utf-8"
    )
    report = build(site / "config.yaml")
    assert report.posts == 1
    atom = (site / "feeds" / "atom.xml").read_text(encoding="utf-8")
    assert "From one" in atom and "Body of one" in atom
    assert "From two" not in atom and "Body of two" not in atom


@pytest.mark.parametrize("forked", [False, True], ids=["serial", "forked"])
def test_posts_keep_their_feed_digest_from_the_build_that_read_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: bool
) -> None:
    # A feed is skipped when the digests of its entries are the ones its file
    # was made from. A post read afresh (cold, or edited) and the same post
    # taken from the post cache by the next build must digest the same, or
    # every feed would be rendered again after each cold build or edit.
    reports: list[publish_module.PublishReport] = []
    real = publish_module.publish

    def spy(*args: Any, **kwargs: Any) -> publish_module.PublishReport:
        reports.append(real(*args, **kwargs))
        return reports[-1]

    monkeypatch.setattr(publish_module, "publish", spy)
    if forked:
        monkeypatch.setattr(posts_module, "PARALLEL_THRESHOLD", 1)
        monkeypatch.setattr(os, "cpu_count", lambda: 2)  # forking.workers() reads it
    config = make(tmp_path / "site", n=30)
    posts = tmp_path / "site" / "posts"
    build(config)
    feeds = sorted(r for r in reports[-1].written if r != "index.opml")

    (posts / "p1.md").write_text(post(1, "[A, B]", day=2) + "\nin no feed\n", encoding="utf-8")
    build(config)
    assert sorted(reports[-1].skipped) == feeds  # p1 is in no feed (limit 3)

    (posts / "p29.md").write_text(post(29, "[A, B]", day=30) + "\nedited\n", encoding="utf-8")
    build(config)
    assert sorted(reports[-1].skipped) == ["c/atom.xml", "c/rss.xml"]

    (posts / "p3.md").write_text(post(3, "[A, B]", day=4) + "\nin no feed\n", encoding="utf-8")
    build(config)
    assert sorted(reports[-1].skipped) == feeds  # p29, read afresh last time, digests the same
    assert output(tmp_path / "site") == cold_copy(tmp_path / "site", tmp_path)


@pytest.mark.parametrize("enabled", [True, False])
def test_a_build_leaves_the_garbage_collector_as_it_found_it(site: Path, enabled: bool) -> None:
    # A build pauses the collector while it loads the posts and freezes them
    # until it ends; a daemon's next rounds must find it as before.
    import gc

    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        build(site / "config.yaml")
        assert gc.isenabled() is enabled and gc.get_freeze_count() == 0
    finally:
        (gc.enable if was else gc.disable)()
