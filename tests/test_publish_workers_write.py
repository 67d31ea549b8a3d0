"""Forked workers that serialise *and write* their own feed files.

A big publish has each worker compare and write the files it serialised,
instead of sending their bytes back; the parent owns the manifest and
removes stale files. These tests hold that path to the serial one: the same
tree, the same report, the same PublishError. The thresholds are lowered
(and the CPU count pinned) so a few dozen entries take the forked path.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_publish_parallel import T0, config
from test_publish_parallel import published as tree

import feedwright.publish as publish_module
from feedwright import forking
from feedwright.exceptions import PublishError
from feedwright.model import Body, Entry, Provenance
from feedwright.publish import OPML_NAME, PublishReport, publish, render_outputs
from feedwright.publish.plan import MANIFEST_NAME

pytestmark = pytest.mark.skipif(
    "fork" not in mp.get_all_start_methods(), reason="parallel writing needs fork"
)

CATEGORIES = ("金融", "Tech", "港口", "Sport", "C++")
SLUGS = ("金融", "tech", "港口", "sport", "c-plus-plus")


def make_entries(count: int = 40, categories: Sequence[str] = CATEGORIES) -> list[Entry]:
    """Posts still to render (Markdown bodies) and rendered remote entries,
    spread over ``categories``, newest first."""
    entries: list[Entry] = []
    for n in range(count):
        when = T0 - timedelta(hours=n)
        cats = tuple(categories[k % len(categories)] for k in range(n, n + 1 + n % 3))
        if n % 4:
            entries.append(
                Entry(
                    id=f"https://news.example.com/{n}/",
                    title=f"第{n}篇 Post {n}",
                    published=when,
                    updated=when,
                    link=f"https://news.example.com/{n}/",
                    categories=cats,
                    body=Body(
                        f"Intro **{n}** [rel](../about/{n}) and\x0b text.\n\n- a\n- b\n",
                        "markdown",
                        f"https://news.example.com/{n}/",
                    ),
                )
            )
        else:
            entries.append(
                Entry(
                    id=f"tag:remote.example,2024:{n}",
                    title=f"Remote {n}\x01",
                    published=when,
                    updated=when,
                    link=f"https://remote.example/新闻/{n}",
                    categories=cats,
                    content=f"<p>remote {n}</p>",
                    source=Provenance("https://remote.example/feed.xml", "Remote"),
                )
            )
    return entries


def summary(report: PublishReport) -> tuple[Any, ...]:
    """The report without the mtimes, which differ between two runs."""
    stamps = {rel: (s.key, s.size) for rel, s in report.stamps.items()}
    return (
        report.written,
        report.unchanged,
        report.removed,
        report.stripped_chars,
        report.skipped,
        stamps,
        [(f.path("atom.xml"), f.title, [e.id for e in f.entries]) for f in report.feeds],
    )


Mode = Callable[[], None]


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the work forked out; empty means everything ran in this process."""
    calls: list[str] = []
    real = forking.in_shares

    def in_shares(work: Callable[[Any], Any], shares: Sequence[Any]) -> list[Any]:
        calls.append(work.__name__)
        return real(work, shares)

    monkeypatch.setattr(forking, "in_shares", in_shares)
    return calls


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch, forks: list[str]) -> Mode:
    def on() -> None:
        monkeypatch.setattr(os, "cpu_count", lambda: 2)
        monkeypatch.setattr(publish_module, "PARALLEL_RENDER", 4)
        monkeypatch.setattr(publish_module, "PARALLEL_ENTRIES", 10)

    return on


@pytest.fixture
def serial(monkeypatch: pytest.MonkeyPatch) -> Mode:
    def on() -> None:
        monkeypatch.setattr(os, "cpu_count", lambda: 1)

    return on


def test_parallel_and_serial_publish_leave_the_same_tree_and_report(
    tmp_path: Path, parallel: Mode, serial: Mode, forks: list[str]
) -> None:
    results = {}
    for mode, on in (("serial", serial), ("parallel", parallel)):
        on()
        # One folder for both runs: its path is among the feeds' inputs (keys).
        out = tmp_path / "out"
        # A previous publish with a category that is gone now: its files
        # are removed, and someone else's file is left alone.
        first = publish(make_entries(12, ("Old", "Tech")), config(out))
        assert "old/atom.xml" in first.written
        (out / "README.txt").write_text("not ours", encoding="utf-8")
        report = publish(make_entries(), config(out))
        results[mode] = (summary(report), tree(out))
        out.rename(tmp_path / mode)

    assert forks.count("_write_share") == 2  # only the parallel runs wrote in workers
    assert "_prepare_share" in forks
    serial_summary, serial_tree = results["serial"]
    parallel_summary, parallel_tree = results["parallel"]
    assert parallel_summary == serial_summary
    assert parallel_tree == serial_tree
    written, unchanged, removed = serial_summary[:3]
    assert removed == ["old/atom.xml", "old/feed.json", "old/rss.xml"]
    assert "金融/atom.xml" in written and "tech/rss.xml" in unchanged + written
    assert serial_tree["README.txt"] == b"not ours"
    manifest = json.loads(serial_tree[MANIFEST_NAME])
    assert manifest["files"] == sorted([*written, *unchanged])


def test_render_outputs_returns_the_bytes_publish_writes(tmp_path: Path, parallel: Mode) -> None:
    parallel()
    out = tmp_path / "out"
    files = render_outputs(make_entries(), config(out))
    publish(make_entries(), config(out))
    on_disk = tree(out)
    del on_disk[MANIFEST_NAME]
    assert files == on_disk
    assert list(files)[-1] == OPML_NAME


def test_a_rebuild_with_nothing_changed_writes_nothing(
    tmp_path: Path, parallel: Mode, forks: list[str]
) -> None:
    parallel()
    out = tmp_path / "out"
    first = publish(make_entries(), config(out))
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    # No stamps: every file is serialised again and compared in the workers.
    again = publish(make_entries(), config(out))
    assert forks.count("_write_share") == 2
    assert again.written == [] and again.removed == []
    assert again.unchanged == sorted(first.written)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == mtimes
    assert {rel: s.key for rel, s in again.stamps.items()} == {
        rel: s.key for rel, s in first.stamps.items()
    }

    # With stamps: no feed is even serialised, and index.opml is unchanged.
    third = publish(make_entries(), config(out), previous=again.stamps)
    assert third.written == []
    assert third.unchanged == sorted(first.written)
    assert sorted(third.skipped) == sorted(set(first.written) - {OPML_NAME})
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == mtimes


def _fail(out: Path, blocked: Sequence[str], mode: Mode) -> PublishError:
    """Publish with a folder squatting on each ``blocked`` path (so renaming a
    new file over it fails, even for root) and return the error raised.
    Each run starts from an empty ``out``: the error names the full path."""
    shutil.rmtree(out, ignore_errors=True)
    mode()
    for rel in blocked:
        (out / rel).mkdir(parents=True)
    with pytest.raises(PublishError) as info:
        publish(make_entries(), config(out))
    return info.value


@pytest.mark.parametrize("slug", SLUGS)
def test_an_unwritable_file_raises_the_serial_paths_error(
    tmp_path: Path, slug: str, parallel: Mode, serial: Mode, forks: list[str]
) -> None:
    # One category at a time: some of these feeds fall in the forked
    # worker's share, some in this process's.
    rel = f"{slug}/rss.xml"
    out = tmp_path / "out"
    expected = _fail(out, [rel], serial)
    got = _fail(out, [rel], parallel)
    assert forks == ["_prepare_share", "_write_share"]
    assert (str(got), got.path, type(got)) == (str(expected), expected.path, type(expected))
    assert got.path == str(out / slug / "rss.xml")
    assert "cannot write" in got.message

    # The manifest owned every path before any file was written, so the
    # files written before the failure are not orphaned; no temp file is left.
    owned = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))["files"]
    assert rel in owned and "atom.xml" in owned and OPML_NAME in owned
    assert not [p for p in out.rglob("*.tmp")]


def test_several_unwritable_files_raise_the_first_in_path_order(
    tmp_path: Path, parallel: Mode, serial: Mode
) -> None:
    blocked = [f"{slug}/atom.xml" for slug in SLUGS] + [OPML_NAME]
    out = tmp_path / "out"
    expected = _fail(out, blocked, serial)
    got = _fail(out, blocked, parallel)
    assert expected.path == str(out / min(blocked))
    assert (str(got), got.path) == (str(expected), expected.path)


def test_a_path_outside_the_output_folder_fails_before_anything_is_written(
    tmp_path: Path, parallel: Mode, forks: list[str]
) -> None:
    parallel()
    out = tmp_path / "out"
    out.mkdir()
    # A category folder that is a symlink out of output.dir.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "tech").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(PublishError, match="outside the output folder"):
        publish(make_entries(), config(out))
    assert "_write_share" not in forks
    assert list(elsewhere.iterdir()) == []
    assert not (out / MANIFEST_NAME).exists()
