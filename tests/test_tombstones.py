"""RFC 6721 tombstones: an entry that leaves a feed for good is announced.

Real sites on disk, real builds (``feedwright.build`` with a pinned ``now``),
the state store on SQLite and on PostgreSQL (the ``backend`` fixture); what
is checked is the published files.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import Backend
from lxml import etree
from test_publish import REMOTE

import feedwright

T1 = datetime(2024, 3, 2, tzinfo=UTC)
T2 = T1 + timedelta(hours=5)
T3 = T2 + timedelta(days=1)
ATOM = "{http://www.w3.org/2005/Atom}"
AT = "{http://purl.org/atompub/tombstones/1.0}"


def post(n: int, categories: str, **fields: str) -> str:
    meta = {"title": f"Post {n}", "date": f"2024-03-01T{n:02d}:00:00Z", **fields}
    head = "".join(f"{k}: {v}\n" for k, v in meta.items())
    return f"---\n{head}categories: [{categories}]\n---\nBody {n}.\n"


def site(
    root: Path, backend: Backend | None, output: str = "", feeds: tuple[str, ...] = ()
) -> Path:
    (root / "posts").mkdir(parents=True, exist_ok=True)
    sources = "".join(f"  - feed: {url}\n" for url in feeds)
    extra = "".join(f"  {line}\n" for line in output.splitlines())
    config = root / "config.yaml"
    config.write_text(
        "site:\n  title: Stones\n  url: https://stones.example/\n"
        f"sources:\n  - posts: posts\n{sources}"
        f"output:\n  dir: feeds\n  formats: [atom, rss]\n{extra}"
        + (f'state: "{backend.location}"\n' if backend else ""),
        encoding="utf-8",
    )
    return config


def write_posts(root: Path, posts: dict[str, str]) -> None:
    for name, text in posts.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")


def build(config: Path, now: datetime) -> Any:
    report = feedwright.build(config, now=now, offline=True)
    assert not report.problems, report.problems
    return report


def stones(path: Path) -> dict[str, str]:
    """ref -> when of the tombstones in one Atom or RSS file."""
    root = etree.parse(str(path)).getroot()
    return {e.get("ref"): e.get("when") for e in root.iter(f"{AT}deleted-entry")}


def ids(path: Path) -> dict[str, str]:
    """title -> id of the entries of an Atom file."""
    root = etree.parse(str(path)).getroot()
    return {e.findtext(f"{ATOM}title"): e.findtext(f"{ATOM}id") for e in root.iter(f"{ATOM}entry")}


def guids(path: Path) -> dict[str, str]:
    root = etree.parse(str(path)).getroot()
    return {i.findtext("title"): i.findtext("guid") for i in root.iter("item")}


def test_a_deleted_post_gets_a_tombstone_in_every_feed_it_left(
    tmp_path: Path, backend: Backend
) -> None:
    root = tmp_path / "site"
    config = site(root, backend)
    write_posts(root, {"a.md": post(1, "X"), "b.md": post(2, "X, Y"), "c.md": post(3, "Y")})
    build(config, T1)
    out = root / "feeds"
    b_id, b_guid = ids(out / "atom.xml")["Post 2"], guids(out / "rss.xml")["Post 2"]
    assert all(stones(out / f) == {} for f in ("atom.xml", "rss.xml", "x/atom.xml"))

    (root / "posts" / "b.md").unlink()
    build(config, T2)
    when = "2024-03-02T05:00:00Z"
    for feed in ("atom.xml", "x/atom.xml", "y/atom.xml"):
        assert stones(out / feed) == {b_id: when}, feed
    for feed in ("rss.xml", "x/rss.xml", "y/rss.xml"):
        assert stones(out / feed) == {b_guid: when}, feed
    assert b"xmlns:at=" in (out / "rss.xml").read_bytes()
    assert feedwright.check_output(out).problems == []

    # Nothing changed: nothing rewritten, the tombstone keeps the time it was noticed.
    before = {f: (out / f).read_bytes() for f in ("atom.xml", "rss.xml")}
    assert build(config, T2 + timedelta(hours=1)).cached
    assert {f: (out / f).read_bytes() for f in before} == before
    # A later change elsewhere does not move it either.
    write_posts(root, {"d.md": post(4, "X")})
    build(config, T3)
    assert stones(out / "atom.xml") == {b_id: when}


def test_drafts_and_refiled_posts_get_one_scrolled_ones_do_not(
    tmp_path: Path, backend: Backend
) -> None:
    root = tmp_path / "site"
    config = site(root, backend, "limit: 2")
    write_posts(root, {"a.md": post(1, "X"), "b.md": post(2, "Y"), "c.md": post(3, "Y")})
    build(config, T1)
    out = root / "feeds"
    every = ids(out / "y" / "atom.xml") | ids(out / "atom.xml")

    # Two newer posts push a and b past the limit of 2: no tombstone anywhere.
    write_posts(root, {"d.md": post(4, "X"), "e.md": post(5, "X, Y")})
    build(config, T2)
    for feed in ("atom.xml", "x/atom.xml", "y/atom.xml"):
        assert stones(out / feed) == {}, feed
    e_id = ids(out / "atom.xml")["Post 5"]

    # e made a draft: it left the combined feed, x and y. c moved from Y to X:
    # it left y only (and scrolled into x).
    write_posts(root, {"e.md": post(5, "X, Y", draft="true"), "c.md": post(3, "X")})
    build(config, T3)
    assert "Post 5" not in ids(out / "x" / "atom.xml")
    when = "2024-03-03T05:00:00Z"
    for feed in ("atom.xml", "x/atom.xml"):
        assert stones(out / feed)[e_id] == when, feed
    assert stones(out / "atom.xml") == {e_id: when}
    y = stones(out / "y" / "atom.xml")
    assert every["Post 3"] in y and y[every["Post 3"]] == when
    assert every["Post 3"] not in stones(out / "x" / "atom.xml")
    assert every["Post 3"] not in stones(out / "atom.xml")


def test_a_post_that_comes_back_loses_its_tombstone_and_they_expire(
    tmp_path: Path, backend: Backend
) -> None:
    root = tmp_path / "site"
    config = site(root, backend, "tombstones: 2d")
    write_posts(root, {"a.md": post(1, "X"), "b.md": post(2, "X")})
    build(config, T1)
    out = root / "feeds"
    a_id = ids(out / "atom.xml")["Post 1"]

    write_posts(root, {"a.md": post(1, "X", published="false")})
    build(config, T2)
    assert stones(out / "x" / "atom.xml") == {a_id: "2024-03-02T05:00:00Z"}
    write_posts(root, {"a.md": post(1, "X")})  # back
    build(config, T3)
    assert stones(out / "x" / "atom.xml") == {}
    assert "Post 1" in ids(out / "x" / "atom.xml")

    (root / "posts" / "a.md").unlink()
    build(config, T3)
    assert a_id in stones(out / "atom.xml")
    # Kept two days; then gone, though nothing else changed.
    assert build(config, T3 + timedelta(days=1)).cached
    assert a_id in stones(out / "atom.xml")
    later = build(config, T3 + timedelta(days=2, seconds=1))
    assert not later.cached
    assert stones(out / "atom.xml") == {}


def test_the_report_names_when_a_tombstone_expires_whether_or_not_it_built(
    tmp_path: Path,
) -> None:
    """``BuildReport.next_post_at`` (``--json``'s ``next_post_at``): the next
    timed change, a tombstone's expiry included, the same from the build that
    made it as from the builds that find nothing changed after it (the
    daemon schedules its next publish by it)."""
    root = tmp_path / "site"
    config = site(root, None, "tombstones: 2d")
    write_posts(root, {"a.md": post(1, "X"), "b.md": post(2, "X")})
    assert build(config, T1).next_post_at is None
    (root / "posts" / "a.md").unlink()

    made = build(config, T2)
    again = build(config, T2 + timedelta(hours=1))

    assert again.cached
    assert made.next_post_at == again.next_post_at == T2 + timedelta(days=2)


def test_a_removed_source_leaves_tombstones_and_zero_turns_them_off(
    tmp_path: Path, backend: Backend, http_server: Any
) -> None:
    url = http_server.route(
        "/remote.xml", body=REMOTE, headers={"Content-Type": "application/atom+xml"}
    )
    root = tmp_path / "site"
    config = site(root, backend, feeds=(url,))
    write_posts(root, {"a.md": post(1, "X")})
    report = feedwright.build(config, now=T1)
    assert not report.problems, report.problems
    out = root / "feeds"
    remote = {t: i for t, i in ids(out / "atom.xml").items() if t != "Post 1"}
    assert remote

    site(root, backend)  # the subscription taken out of the config
    build(config, T2)
    assert stones(out / "atom.xml") == {i: "2024-03-02T05:00:00Z" for i in remote.values()}

    off = tmp_path / "off"
    config = site(off, None, "tombstones: 0")  # its own store (the default SQLite file)
    write_posts(off, {"a.md": post(1, "X"), "b.md": post(2, "X")})
    build(config, T1)
    (off / "posts" / "b.md").unlink()
    build(config, T2)
    assert b"deleted-entry" not in (off / "feeds" / "atom.xml").read_bytes()
