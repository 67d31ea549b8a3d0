"""RFC 5005 archived feeds: every entry reachable exactly once, old pages immutable.

Real sites, real builds (``feedwright build`` through ``cli.main`` and
``feedwright.build`` with a pinned ``now``), the store on SQLite and
PostgreSQL (``backend``); the chain is followed through the published files
by their URLs, as a reader would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import Backend
from lxml import etree

import feedwright
from feedwright.cli import main

NOW = datetime(2024, 4, 1, tzinfo=UTC)
URL = "https://arch.example/"
ATOM = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}archive"


def post(n: int, categories: str = "X", **fields: str) -> str:
    day, hour = divmod(n, 24)
    meta = {"title": f"Post {n}", "date": f"2024-03-{day + 1:02d}T{hour:02d}:00:00Z", **fields}
    head = "".join(f"{k}: {v}\n" for k, v in meta.items())
    return f"---\n{head}categories: [{categories}]\n---\nBody {n}.\n"


def site(root: Path, backend: Backend | None, output: str = "archives: true\nlimit: 3") -> Path:
    (root / "posts").mkdir(parents=True, exist_ok=True)
    extra = "".join(f"  {line}\n" for line in output.splitlines())
    config = root / "config.yaml"
    config.write_text(
        f"site:\n  title: Arch\n  url: {URL}\nsources:\n  - posts: posts\n"
        f"output:\n  dir: feeds\n  formats: [atom, rss, json]\n{extra}"
        + (f'state: "{backend.location}"\n' if backend else ""),
        encoding="utf-8",
    )
    return config


def add(root: Path, numbers: range, categories: str = "X") -> None:
    for n in numbers:
        (root / "posts" / f"p{n:03d}.md").write_text(post(n, categories), encoding="utf-8")


def build(config: Path, now: datetime = NOW) -> Any:
    report = feedwright.build(config, now=now, offline=True)
    assert not report.problems, report.problems
    return report


def local(out: Path, url: str) -> Path:
    prefix = URL + "feeds/"
    assert url.startswith(prefix), url
    return out / url[len(prefix) :]


def walk_atom(out: Path, feed: str) -> list[list[str]]:
    """The entry titles of each document, following prev-archive from ``feed``."""
    docs: list[list[str]] = []
    path: Path | None = out / feed
    seen: set[Path] = set()
    while path is not None:
        assert path not in seen
        seen.add(path)
        root = etree.parse(str(path)).getroot()
        docs.append([e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")])
        links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
        if docs[1:]:  # an archive page
            assert root.find(FH) is not None
            assert local(out, links["current"]) == out / feed
            assert local(out, links["self"]) == path
        else:
            assert root.find(FH) is None and "current" not in links
        prev = links.get("prev-archive")
        path = None if prev is None else local(out, prev)
    return docs


def walk_rss(out: Path, feed: str) -> list[str]:
    titles: list[str] = []
    path: Path | None = out / feed
    while path is not None:
        channel = etree.parse(str(path)).getroot().find("channel")
        titles += [i.findtext("title") for i in channel.iter("item")]
        links = {link.get("rel"): link.get("href") for link in channel.findall(f"{ATOM}link")}
        prev = links.get("prev-archive")
        path = None if prev is None else local(out, prev)
    return titles


def archive_files(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and "archive/" in p.relative_to(out).as_posix()
    }


def test_the_chain_yields_every_entry_exactly_once(tmp_path: Path, backend: Backend) -> None:
    root = tmp_path / "site"
    config = site(root, backend)
    add(root, range(1, 11))  # 10 posts in X
    add(root, range(11, 14), "Y")  # 3 in Y
    build(config)
    out = root / "feeds"

    docs = walk_atom(out, "atom.xml")
    # Pages of 3 from the oldest; the current feed holds the rest (1 to 3).
    assert docs == [
        ["Post 13"],
        ["Post 12", "Post 11", "Post 10"],
        ["Post 9", "Post 8", "Post 7"],
        ["Post 6", "Post 5", "Post 4"],
        ["Post 3", "Post 2", "Post 1"],
    ]
    titles = [t for doc in docs for t in doc]
    assert sorted(titles) == sorted(f"Post {n}" for n in range(1, 14))
    assert walk_rss(out, "rss.xml") == titles
    x = [t for doc in walk_atom(out, "x/atom.xml") for t in doc]
    assert sorted(x) == sorted(f"Post {n}" for n in range(1, 11)) and len(set(x)) == 10
    assert walk_atom(out, "y/atom.xml") == [["Post 13", "Post 12", "Post 11"]]  # no archive yet
    assert (out / "archive" / "1" / "atom.xml").exists()
    assert (out / "x" / "archive" / "3" / "rss.xml").exists()
    assert not (out / "archive" / "1" / "feed.json").exists()  # XML formats only
    assert not (out / "archive" / "1" / "index.html").exists()

    # The OPML index lists current feeds only.
    opml = (out / "index.opml").read_text(encoding="utf-8")
    assert "archive/" not in opml and opml.count("<outline") == 3
    assert feedwright.check_output(out).problems == []


def seven_posts_built(tmp_path: Path, backend: Backend) -> tuple[Path, Path, Path]:
    """A site of posts 1-7 built once: (its folder, its config, its output)."""
    root = tmp_path / "site"
    config = site(root, backend)
    add(root, range(1, 8))
    build(config)
    return root, config, root / "feeds"


def test_adding_posts_never_changes_an_archive_page_editing_changes_one(
    tmp_path: Path, backend: Backend
) -> None:
    root, config, out = seven_posts_built(tmp_path, backend)
    first = archive_files(out)
    assert set(first) >= {"archive/1/atom.xml", "archive/2/atom.xml", "x/archive/2/rss.xml"}
    stamps = {rel: (out / rel).stat().st_mtime_ns for rel in first}

    # More posts, one of them dated before every other: old pages stay byte for byte.
    add(root, range(8, 15))
    (root / "posts" / "early.md").write_text(
        post(0, title="Early bird", date="2024-02-01T00:00:00Z"), encoding="utf-8"
    )
    build(config, NOW + timedelta(hours=1))
    after = archive_files(out)
    for rel, data in first.items():
        assert after[rel] == data, rel
        assert (out / rel).stat().st_mtime_ns == stamps[rel], rel
    assert len(after) > len(first)
    every = [t for doc in walk_atom(out, "atom.xml") for t in doc]
    assert len(every) == len(set(every)) == 15 and "Early bird" in every

    # Editing an archived post rewrites its page, and only that page (per format).
    (root / "posts" / "p002.md").write_text(post(2, title="Post 2, edited"), encoding="utf-8")
    before = archive_files(out)
    report = build(config, NOW + timedelta(hours=2))
    changed = {rel for rel, data in archive_files(out).items() if before[rel] != data}
    assert changed == {
        "archive/1/atom.xml",
        "archive/1/rss.xml",
        "x/archive/1/atom.xml",
        "x/archive/1/rss.xml",
    }
    assert set(report.publish.written) >= changed


def test_a_deleted_archived_post_leaves_its_page_and_is_tombstoned(
    tmp_path: Path, backend: Backend
) -> None:
    root, config, out = seven_posts_built(tmp_path, backend)
    (root / "posts" / "p001.md").unlink()
    build(config, NOW + timedelta(hours=1))
    docs = walk_atom(out, "atom.xml")
    assert [t for doc in docs for t in doc].count("Post 1") == 0
    assert docs[-1] == ["Post 3", "Post 2"]  # page 1, still page 1
    current = etree.parse(str(out / "atom.xml")).getroot()
    refs = [e.get("ref") for e in current.iter("{http://purl.org/atompub/tombstones/1.0}*")]
    assert len(refs) == 1


def test_archives_off_by_default_and_the_cli_build_is_clean(tmp_path: Path, capsys: Any) -> None:
    root = tmp_path / "site"
    config = site(root, None, "limit: 3")
    add(root, range(1, 8))
    assert main(["build", "-c", str(config), "-q"]) == 0
    out = root / "feeds"
    assert not any("archive" in p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert b"prev-archive" not in (out / "atom.xml").read_bytes()

    site(root, None)  # archives: true
    assert main(["build", "-c", str(config), "-q"]) == 0
    assert b"prev-archive" in (out / "atom.xml").read_bytes()
    assert main(["check", "-c", str(config), "--output"]) == 0
    assert "0 failing" in capsys.readouterr().out
