"""Rendering in forked workers: the same bytes as rendering serially, or no fork at all.

Posts are real Markdown files read with ``read_posts``; the parallel
threshold is lowered (and the CPU count pinned to 2) so that a corpus of a
few dozen posts crosses it and the tests stay fast on any machine.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import feedwright.publish as publish_module
from feedwright.config import Config, Output, PostsSource, Site
from feedwright.exceptions import PostError
from feedwright.model import Body, Entry, Person, Provenance
from feedwright.normalize import render
from feedwright.publish import PublishReport, publish
from feedwright.sources.posts import read_posts

pytestmark = pytest.mark.skipif(
    "fork" not in mp.get_all_start_methods(), reason="parallel rendering needs fork"
)

SITE = Site(
    title="张家港新闻",
    url="https://news.example.com/",
    description="本地新闻 and notes",
    author=Person("编辑部"),
    language="zh-CN",
)
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
CATEGORIES = ("金融", "Tech", "港口", "Sport")
POSTS = 48


def write_posts(root: Path) -> None:
    root.mkdir()
    for n in range(POSTS):
        cats = "\n".join(f"  - {c}" for c in CATEGORIES[: 1 + n % len(CATEGORIES)])
        more = "\n<!-- more -->\n" if n % 3 == 0 else ""
        (root / f"post-{n:03d}.md").write_text(
            f"---\ntitle: 第{n}篇 Post {n}\ndate: 2024-02-{1 + n % 28:02d} 10:{n % 60:02d}:00\n"
            f"categories:\n{cats}\n---\n\n"
            f"Intro **{n}** with [a relative link](../about/) and ![img](/img/{n}.png).{more}\n\n"
            f"| a | b |\n|---|---|\n| {n} | ~~old~~ |\n\n"
            f'<p><img srcset="/s/{n}.jpg 1x, /s/{n}@2x.jpg 2x"></p>\n',
            encoding="utf-8",
        )


def extra_entries() -> list[Entry]:
    """Entries whose cleaning strips XML-illegal characters (counted) and
    percent-encodes URLs: unrendered ones and already rendered remote ones."""
    extras: list[Entry] = []
    for n in range(6):
        when = T0 + timedelta(hours=n)
        extras.append(
            Entry(
                id=f"https://news.example.com/extra/{n}/\x0b",
                title=f"Extra\x0b {n}\x01",
                published=when,
                updated=when,
                link=f"https://news.example.com/新闻/{n}/",
                authors=(Person("王\x08记者", None, "https://example.com/作者"),),
                categories=("Tech\x0c",),
                body=Body(f"Body {n} [x](rel/{n})", "markdown", "https://news.example.com/e/"),
            )
        )
        extras.append(
            Entry(
                id=f"tag:remote.example,2024:{n}",
                title=f"Remote {n}",
                published=when,
                updated=when,
                link=f"https://remote.example/p/{n}",
                categories=("港口",),
                content=f"<p>remote\x00 {n}\ufffe</p>",
                source=Provenance("https://remote.example/feed.xml", "Remote\x1f"),
            )
        )
    return extras


@pytest.fixture
def entries(tmp_path: Path) -> list[Entry]:
    root = tmp_path / "posts"
    write_posts(root)
    result = read_posts(PostsSource(path=root, permalink="{year}/{slug}/"), SITE)
    assert not result.errors
    assert len(result.entries) == POSTS
    assert all(not e.is_rendered for e in result.entries)
    return sorted([*result.entries, *extra_entries()], key=Entry.sort_key)


@pytest.fixture
def two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)


def config(out: Path) -> Config:
    # Feed URLs name the output folder (relative to the config), so both runs
    # use the same name in different parents.
    output = Output(dir=out, formats=("atom", "rss", "json"), limit=0)
    return Config(path=out.parent / "config.yaml", site=SITE, output=output)


def published(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run(
    monkeypatch: pytest.MonkeyPatch,
    entries: list[Entry],
    out: Path,
    *,
    parallel: bool,
    render_with: publish_module.Render | None = None,
) -> PublishReport:
    monkeypatch.setattr(publish_module, "PARALLEL_RENDER", 1 if parallel else 10**9)
    return publish(entries, config(out), render=render_with)


def with_pid(entry: Entry) -> Entry:
    """A render that says which process did it."""
    done = render(entry)
    return replace(done, content=f"{done.content}<p>pid {os.getpid()}</p>")


def render_pids(report: PublishReport) -> set[int]:
    return {
        int(e.content.rsplit("pid ", 1)[1].split("<")[0])
        for feed in report.feeds
        for e in feed.entries
        if e.content is not None and "<p>pid " in e.content
    }


@pytest.fixture
def busy_thread() -> Iterator[threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    yield thread
    stop.set()
    thread.join()


@pytest.mark.usefixtures("two_cpus")
def test_parallel_and_serial_render_publish_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch, entries: list[Entry], tmp_path: Path
) -> None:
    serial = run(monkeypatch, entries, tmp_path / "serial" / "public", parallel=False)
    parallel = run(monkeypatch, entries, tmp_path / "parallel" / "public", parallel=True)

    files = published(tmp_path / "serial" / "public")
    assert published(tmp_path / "parallel" / "public") == files
    assert parallel.written == serial.written
    assert parallel.feeds == serial.feeds
    assert parallel.stamps.keys() == serial.stamps.keys()
    # Extras: 5 in each unrendered id/title/author/category, 3 in each remote entry.
    assert serial.stripped_chars == 6 * 5 + 6 * 3
    assert parallel.stripped_chars == serial.stripped_chars
    # Rendering really happened: relative URLs absolute, Markdown tables, no body left.
    atom = files["atom.xml"].decode("utf-8")
    assert "https://news.example.com/img/0.png" in atom
    assert "&lt;table&gt;" in atom
    assert all(e.is_rendered for feed in parallel.feeds for e in feed.entries)


@pytest.mark.usefixtures("two_cpus")
def test_parallel_render_uses_a_second_process(
    monkeypatch: pytest.MonkeyPatch, entries: list[Entry], tmp_path: Path
) -> None:
    report = run(monkeypatch, entries, tmp_path / "out", parallel=True, render_with=with_pid)
    pids = render_pids(report)
    assert os.getpid() in pids  # this process renders a share itself
    assert len(pids) == 2


@pytest.mark.usefixtures("two_cpus")
def test_few_entries_to_render_are_rendered_here(
    monkeypatch: pytest.MonkeyPatch, entries: list[Entry], tmp_path: Path
) -> None:
    assert publish_module.PARALLEL_RENDER > POSTS + 6
    report = publish(entries, config(tmp_path / "out"), render=with_pid)
    assert render_pids(report) == {os.getpid()}


@pytest.mark.usefixtures("two_cpus")
def test_another_running_thread_means_rendering_here(
    monkeypatch: pytest.MonkeyPatch,
    entries: list[Entry],
    tmp_path: Path,
    busy_thread: threading.Thread,
) -> None:
    assert busy_thread.is_alive()
    report = run(monkeypatch, entries, tmp_path / "out", parallel=True, render_with=with_pid)
    assert render_pids(report) == {os.getpid()}
    assert len(report.feeds[0].entries) == POSTS + 12


@pytest.mark.usefixtures("two_cpus")
@pytest.mark.parametrize("parallel", [False, True])
def test_a_render_error_is_raised_as_serially(
    monkeypatch: pytest.MonkeyPatch, entries: list[Entry], tmp_path: Path, parallel: bool
) -> None:
    # PostError takes a keyword-only argument, so it cannot be rebuilt from a
    # pickle: a worker's failure must not travel as the exception itself.
    bad = [e.id for e in entries if e.body is not None][5:40:17]  # a few, far apart
    assert len(bad) == 3

    def fragile(entry: Entry) -> Entry:
        if entry.id in bad:
            raise PostError("cannot render", path=entry.origin or entry.id)
        return render(entry)

    out = tmp_path / "out"
    with pytest.raises(PostError) as caught:
        run(monkeypatch, entries, out, parallel=parallel, render_with=fragile)
    first = next(e for e in entries if e.id in bad)  # serial order: newest first
    assert str(caught.value) == f"{first.origin or first.id}: cannot render"
    assert caught.value.path == (first.origin or first.id)
    assert not out.exists()  # nothing is written when rendering fails


@pytest.mark.usefixtures("two_cpus")
def test_a_failure_only_in_a_worker_still_publishes_the_serial_output(
    monkeypatch: pytest.MonkeyPatch, entries: list[Entry], tmp_path: Path
) -> None:
    """Rendering again here, after a worker failed, succeeds: no error, serial bytes."""
    posts = [e for e in entries if e.body is not None]
    parent = os.getpid()

    def fragile(entry: Entry) -> Entry:
        if os.getpid() != parent:
            raise ValueError(f"no renderer for {entry.id}")
        return render(entry)

    serial = run(monkeypatch, posts, tmp_path / "serial" / "public", parallel=False)
    report = run(
        monkeypatch, posts, tmp_path / "parallel" / "public", parallel=True, render_with=fragile
    )
    assert published(tmp_path / "parallel" / "public") == published(tmp_path / "serial" / "public")
    assert report.stripped_chars == serial.stripped_chars
