"""Hugo's ``expiryDate`` (and ``unpublishDate``): a post past its end is in
no feed and on no page, as Hugo leaves an expired page out of its site and
its RSS (checked against Debian's hugo 0.111); one published before leaves
its feeds as a deleted post does (a tombstone), at the first build after
its end, which ``next_post_at`` names so that the daemon wakes for it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

import feedwright
from feedwright.cli import main

T1 = datetime(2024, 3, 2, tzinfo=UTC)
END = T1 + timedelta(hours=2)  # 2024-03-02T02:00:00Z
AT = "{http://purl.org/atompub/tombstones/1.0}"


def post(n: int, categories: str = "X", **fields: str) -> str:
    meta = {"title": f"Post {n}", "date": f"2024-03-01T{n:02d}:00:00Z", **fields}
    head = "".join(f"{k}: {v}\n" for k, v in meta.items())
    return f"---\n{head}categories: [{categories}]\n---\nBody {n}.\n"


def site(root: Path, posts: dict[str, str]) -> Path:
    (root / "posts").mkdir(parents=True, exist_ok=True)
    write(root, posts)
    config = root / "config.yaml"
    config.write_text(
        "site:\n  title: Ends\n  url: https://ends.example/\n"
        "sources:\n  - posts: posts\n"
        "output:\n  dir: feeds\n  formats: [atom, rss, json]\n"
        "state: .feedwright/state.db\n",
        encoding="utf-8",
    )
    return config


def write(root: Path, posts: dict[str, str]) -> None:
    for name, text in posts.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")


def build(config: Path, now: datetime) -> Any:
    report = feedwright.build(config, now=now, offline=True)
    assert not report.problems, report.problems
    return report


def titles(path: Path) -> set[str]:
    """The entries' titles of an Atom, RSS or JSON feed file."""
    if path.suffix == ".json":
        return {item["title"] for item in json.loads(path.read_bytes())["items"]}
    return {entry.title for entry in feedparser.parse(path.read_bytes()).entries}


def stones(path: Path) -> dict[str, str]:
    """ref -> when of the tombstones in one Atom or RSS file."""
    root = etree.parse(str(path)).getroot()
    return {e.get("ref"): e.get("when") for e in root.iter(f"{AT}deleted-entry")}


FEEDS = ("atom.xml", "rss.xml", "feed.json", "x/atom.xml", "x/rss.xml", "x/feed.json")


def test_an_expired_post_is_in_no_feed_and_a_later_end_is_the_next_timed_change(
    tmp_path: Path,
) -> None:
    root = tmp_path / "site"
    config = site(
        root,
        {
            "a.md": post(1),
            "gone.md": post(2, expiryDate="2024-03-01T23:00:00Z"),
            # Hugo's alias, and its TOML front matter with a local time (site.timezone: UTC)
            "alias.md": post(3, unpublishdate="2024-03-02"),
            "toml.md": '+++\ntitle = "Post 4"\ndate = 2024-03-01T04:00:00Z\n'
            'categories = ["X"]\nexpirydate = 2024-03-01T12:00:00Z\n+++\nBody 4.\n',
            "later.md": post(5, expiryDate=END.isoformat()),
        },
    )
    report = build(config, T1)
    out = root / "feeds"
    for feed in FEEDS:
        assert titles(out / feed) == {"Post 1", "Post 5"}, feed
    page = (out / "x" / "index.html").read_text(encoding="utf-8")
    assert "Post 5" in page and "Post 2" not in page and "Post 4" not in page
    assert report.posts == 2 and report.held == 0
    assert report.next_post_at == END


def test_a_post_leaves_at_its_end_as_a_deleted_post_does(tmp_path: Path) -> None:
    root = tmp_path / "site"
    config = site(
        root, {"a.md": post(1), "ends.md": post(2, expiryDate=END.isoformat()), "d.md": post(3)}
    )
    first = build(config, T1)
    out = root / "feeds"
    assert first.next_post_at == END
    assert titles(out / "x" / "atom.xml") == {"Post 1", "Post 2", "Post 3"}
    ends_id = {e.title: e.id for e in feedparser.parse((out / "atom.xml").read_bytes()).entries}
    # Before its end, nothing changed: the last build stands.
    assert build(config, END - timedelta(minutes=1)).cached

    # At its end (nothing else changed), it leaves; d is deleted at the same build.
    (root / "posts" / "d.md").unlink()
    later = build(config, END)
    assert not later.cached and later.next_post_at is not None  # (the tombstones' end)
    for feed in FEEDS:
        assert titles(out / feed) == {"Post 1"}, feed
    when = "2024-03-02T02:00:00Z"
    for feed in ("atom.xml", "x/atom.xml"):
        assert stones(out / feed) == {ends_id["Post 2"]: when, ends_id["Post 3"]: when}, feed
    guids = {
        entry.title: entry.id
        for entry in feedparser.parse((root / "feeds" / "rss.xml").read_bytes()).entries
    }
    assert len(stones(out / "rss.xml")) == 2 and guids == {"Post 1": guids["Post 1"]}
    assert feedwright.check_output(out).problems == []
    # It keeps its line in the id ledger (its file is there): back with its id if its end moves.
    write(root, {"ends.md": post(2, expiryDate="2024-04-01")})
    build(config, END + timedelta(hours=1))
    back = {e.title: e.id for e in feedparser.parse((out / "atom.xml").read_bytes()).entries}
    assert back["Post 2"] == ends_id["Post 2"]
    assert stones(out / "atom.xml") == {ends_id["Post 3"]: when}


def test_an_end_passes_while_posts_are_only_edited(tmp_path: Path) -> None:
    """A build after posts were edited in place (the short way) still sees an
    end pass, and an edit that gives a post an end already past removes it."""
    root = tmp_path / "site"
    config = site(
        root, {"a.md": post(1), "ends.md": post(2, expiryDate=END.isoformat()), "c.md": post(3)}
    )
    build(config, T1)
    out = root / "feeds"
    write(root, {"a.md": post(1) + "Edited.\n"})
    build(config, T1 + timedelta(minutes=30))
    assert titles(out / "atom.xml") == {"Post 1", "Post 2", "Post 3"}
    write(root, {"a.md": post(1) + "Edited again.\n"})
    build(config, END + timedelta(minutes=1))
    assert titles(out / "atom.xml") == {"Post 1", "Post 3"}
    write(root, {"c.md": post(3, expiryDate="2024-03-02T01:00:00Z")})
    build(config, END + timedelta(minutes=2))
    assert titles(out / "atom.xml") == {"Post 1"}


def test_a_bad_expiry_date_is_a_problem_naming_the_file_and_the_rest_publish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "site"
    config = site(root, {"a.md": post(1), "bad.md": post(2, expiryDate="next week")})
    assert main(["build", "-q", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    bad = root / "posts" / "bad.md"
    assert f"{bad}: expirydate: cannot understand 'next week' as a date" in err
    assert "Traceback" not in err
    assert titles(root / "feeds" / "atom.xml") == {"Post 1"}


def test_check_counts_expired_posts_and_no_longer_warns_of_expirydate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "site"
    config = site(
        root,
        {
            "a.md": post(1),
            "gone.md": post(2, expiryDate="2024-03-01"),
            "later.md": post(3, expiryDate="2999-01-01"),
        },
    )
    assert main(["check", "-c", str(config)]) == 0
    captured = capsys.readouterr()
    assert "expiryDate" not in captured.err and "warning" not in captured.err
    assert captured.out.startswith("config ok; 2 posts, 0 scheduled, 1 expired, 0 drafts, ")
    assert main(["check", "--json", "-c", str(config)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["expired_posts"] == 1 and summary["posts"] == 3
