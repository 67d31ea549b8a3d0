"""For planet operators (issue 17): per-source filters, and one copy of each
article, the best one. Through the CLI and the API, feeds served from loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

import feedwright
from feedwright.bestcopy import canonical_link
from feedwright.cli import main

NOW = "2030-01-01T00:00:00Z"


def rss(site: str, *items: tuple[str, str, str, str]) -> bytes:
    """An RSS 2.0 document: items are (title, link, text, category)."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}#{n}</guid>"
        f"<description>{text}</description><category>{cat}</category>"
        f"<pubDate>Tue, 14 May 2024 1{n}:00:00 +0000</pubDate></item>"
        for n, (t, link, text, cat) in enumerate(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{site}</title>'
        f"<link>https://{site}/</link>{body}</channel></rss>"
    ).encode()


def make_site(tmp_path: Path, sources: str, posts: dict[str, str] | None = None) -> Path:
    (tmp_path / "posts").mkdir(exist_ok=True)
    for name, text in (posts or {}).items():
        (tmp_path / "posts" / name).write_text(text, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        "site:\n  title: Planet\n  url: https://example.com/\n"
        f"sources:\n  - posts: posts\n{sources}"
        "output:\n  dir: out\nstate: state.db\n",
        encoding="utf-8",
    )
    return config


def published(tmp_path: Path) -> list[Any]:
    return list(feedparser.parse((tmp_path / "out" / "atom.xml").read_bytes()).entries)


TEXT = "A long enough text about the same article, so that two copies can be told apart."


# --------------------------------------------------------------------------- filters


def test_filters_keep_what_an_include_rule_matches_and_no_exclude_rule_does(
    tmp_path: Path, http_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = http_server.route(
        "/feed.xml",
        body=rss(
            "news.example",
            ("Python 3.14 is out", "https://news.example/1", "Release notes.", "lang"),
            ("Sponsored: Python course", "https://news.example/2", "Buy it.", "ads"),
            ("Borrow checker tips", "https://news.example/3", "Lifetimes.", "Rust"),
            ("Gardening", "https://news.example/4", "Tomatoes and PYTHONS.", "home"),
            ("Cooking", "https://news.example/5", "Soup.", "home"),
        ),
    )
    sources = (
        f"  - feed: {url}\n"
        "    filters:\n"
        "      include: [python, {field: category, match: '^rust$'}]\n"
        "      exclude: [{field: title, match: sponsored}]\n"
    )
    config = make_site(tmp_path, sources)
    assert main(["build", "-q", "-c", str(config)]) == 0
    titles = sorted(e.title for e in published(tmp_path))
    # "python" matches the text too, in any case; the sponsored one is excluded.
    assert titles == ["Borrow checker tips", "Gardening", "Python 3.14 is out"]

    [row] = feedwright.status(config)
    assert (row.entries, row.filtered) == (5, 2)
    assert main(["status", "--json", "-c", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["filtered"] == 2

    # A changed filter applies at the next build, without fetching again.
    config.write_text(config.read_text().replace("[python, ", "[cooking, "))
    before = len(http_server.requests)
    assert main(["build", "-q", "--offline", "-c", str(config)]) == 0
    assert len(http_server.requests) == before
    assert sorted(e.title for e in published(tmp_path)) == ["Borrow checker tips", "Cooking"]


@pytest.mark.parametrize(
    ("rules", "key", "line", "words"),
    [
        ("include: ['(unclosed']", "sources[1].filters.include[0]", 8, "not a regular expression"),
        (
            "exclude:\n        - ok\n        - {field: body, match: x}",
            "sources[1].filters.exclude[1]",
            10,
            "field must be one of title, content, category, author, link",
        ),
        (
            "includes: [x]",
            "sources[1].filters.includes",
            8,
            "unknown key (did you mean `include`?)",
        ),
    ],
)
def test_a_bad_filter_is_a_config_error_naming_key_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rules: str, key: str, line: int, words: str
) -> None:
    config = make_site(tmp_path, f"  - feed: https://a.example/feed\n    filters:\n      {rules}\n")
    assert main(["check", "-c", str(config)]) == 2
    assert f"config.yaml:{line}: {key}: {words}" in capsys.readouterr().err


# --------------------------------------------------------------------------- the best copy


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://www.alice.example/posts/1/", "http://alice.example/posts/1"),
        (
            "https://alice.example/p?id=3&utm_source=rss&utm_medium=x",
            "https://alice.example/p?id=3",
        ),
        ("https://alice.example/p?fbclid=abc#comments", "https://alice.example/p"),
        ("https://alice.example/p/amp/", "https://alice.example/p"),
        ("https://alice.example/p.amp.html", "https://alice.example/p.html"),
        ("https://amp.alice.example/p?amp=1", "https://alice.example/p"),
        ("https://alice-example.cdn.ampproject.org/c/s/alice.example/p", "https://alice.example/p"),
        ("https://ALICE.example:443/p/index.html", "https://alice.example/p"),
        ("https://alice.example/p?b=2&a=1", "https://alice.example/p?a=1&b=2"),
    ],
)
def test_canonical_links_are_equal_for_one_page(a: str, b: str) -> None:
    assert canonical_link(a) == canonical_link(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://alice.example/p?id=3", "https://alice.example/p?id=4"),
        ("https://alice.example/p", "https://bob.example/p"),
        ("https://alice.example/p", "https://alice.example:8080/p"),
        ("https://alice.example/a/p", "https://alice.example/b/p"),
    ],
)
def test_canonical_links_differ_for_different_pages(a: str, b: str) -> None:
    assert canonical_link(a) != canonical_link(b)


def copies(http_server: Any) -> tuple[str, str, str]:
    """The author's blog and two planets that repost its article."""
    author = http_server.route(
        "/alice.xml",
        body=rss("alice.example", ("Hello", "https://alice.example/posts/1/", TEXT, "mine")),
    )
    planet_a = http_server.route(
        "/planet-a.xml",
        body=rss(
            "planet-a.example",
            ("Hello", "http://www.alice.example/posts/1?utm_source=planet", TEXT, "planet-a"),
            ("Other", "https://carol.example/x", "Something else entirely.", "planet-a"),
        ),
    )
    planet_b = http_server.route(
        "/planet-b.xml",
        body=rss("planet-b.example", ("Hello", "https://alice.example/posts/1", TEXT, "b")),
    )
    return author, planet_a, planet_b


def test_one_article_from_three_sources_is_published_once_from_its_own_site(
    tmp_path: Path, http_server: Any
) -> None:
    author, planet_a, planet_b = copies(http_server)
    # The author's own feed is listed last: it still wins (its site is the article's host).
    config = make_site(
        tmp_path, f"  - feed: {planet_a}\n  - feed: {planet_b}\n  - feed: {author}\n"
    )
    report = feedwright.build(config)
    assert report.problems == []
    entries = published(tmp_path)
    assert sorted(e.title for e in entries) == ["Hello", "Other"]
    hello = next(e for e in entries if e.title == "Hello")
    assert hello.link == "https://alice.example/posts/1/"
    assert hello.source.title == "alice.example"  # provenance: the copy published
    related = sorted(link.href for link in hello.links if link.rel == "related")
    assert related == [
        "http://www.alice.example/posts/1?utm_source=planet",
        "https://alice.example/posts/1",
    ]
    # Published in the categories every copy gives it.
    assert {t.term for t in hello.tags} == {"mine", "planet-a", "b"}
    assert (tmp_path / "out" / "planet-a" / "atom.xml").exists()


def test_priority_decides_before_the_default_order(tmp_path: Path, http_server: Any) -> None:
    author, planet_a, planet_b = copies(http_server)
    sources = f"  - feed: {author}\n  - feed: {planet_a}\n  - feed: {planet_b}\n    priority: 5\n"
    config = make_site(tmp_path, sources)
    feedwright.build(config)
    hello = next(e for e in published(tmp_path) if e.title == "Hello")
    assert hello.source.title == "planet-b.example"


def test_the_winner_does_not_depend_on_the_order_things_arrive_in(
    tmp_path: Path, http_server: Any
) -> None:
    """Two planets of equal standing: the one first in the config wins, whichever
    was fetched (first seen) first. A site that published the other copy
    first keeps that copy's id for the article (its readers know it by that
    id: a new id would show it to them twice); all else is equal."""
    _, planet_a, planet_b = copies(http_server)
    outputs, hellos = [], []
    for n, first in enumerate([planet_a, planet_b]):
        folder = tmp_path / str(n)
        folder.mkdir()
        # The other planet's entries are seen first (an earlier build), then the config
        # lists both in the same order.
        config = make_site(folder, f"  - feed: {first}\n")
        feedwright.build(config, now=None)
        before = next(e for e in published(folder) if e.title == "Hello")
        config = make_site(folder, f"  - feed: {planet_a}\n  - feed: {planet_b}\n")
        feedwright.build(config)
        hello = next(e for e in published(folder) if e.title == "Hello")
        assert hello.source.title == "planet-a.example"
        assert hello.id == before.id
        hellos.append(hello)
        outputs.append(without_tombstones((folder / "out" / "atom.xml").read_bytes()))
    assert outputs[0][1] == 0 and outputs[1][1] == 0
    assert hellos[0].id != hellos[1].id
    first_id, second_id = (h.id.encode() for h in hellos)
    assert outputs[0][0] == outputs[1][0].replace(second_id, first_id)


def test_an_article_keeps_its_first_id_when_a_better_copy_comes_later(
    tmp_path: Path, http_server: Any
) -> None:
    """A planet's copy is published; then the author's own feed is added (or
    comes back from a failure) and wins: the article is still the entry
    readers have, with the own copy's link and text, and stays so when the
    planet's copy is gone."""
    author, planet_a, _ = copies(http_server)
    config = make_site(tmp_path, f"  - feed: {planet_a}\n")
    feedwright.build(config)
    (before,) = (e for e in published(tmp_path) if e.title == "Hello")
    config = make_site(tmp_path, f"  - feed: {planet_a}\n  - feed: {author}\n")
    report = feedwright.build(config)
    assert report.problems == []
    (hello,) = (e for e in published(tmp_path) if e.title == "Hello")
    assert hello.id == before.id and hello.link == "https://alice.example/posts/1/"
    assert hello.source.title == "alice.example"
    assert b"deleted-entry" not in (tmp_path / "out" / "atom.xml").read_bytes()
    # The planet's copy leaves (the planet removed from the config): the same id still.
    config = make_site(tmp_path, f"  - feed: {author}\n")
    feedwright.build(config)
    (after,) = (e for e in published(tmp_path) if e.title == "Hello")
    assert after.id == before.id and after.link == "https://alice.example/posts/1/"
    assert main(["plan", "-c", str(config)]) == 0


def without_tombstones(data: bytes) -> tuple[bytes, int]:
    """An Atom document without its at:deleted-entry elements, and how many it had."""
    root = etree.fromstring(data)
    stones = list(root.iter("{http://purl.org/atompub/tombstones/1.0}deleted-entry"))
    for stone in stones:
        root.remove(stone)
    etree.cleanup_namespaces(root)
    return etree.tostring(root), len(stones)


def test_a_local_post_is_the_best_copy_of_its_reposts(tmp_path: Path, http_server: Any) -> None:
    repost = http_server.route(
        "/planet.xml",
        body=rss(
            "planet.example", ("Hi", "http://www.example.com/hello?utm_campaign=p", TEXT, "p")
        ),
    )
    post = (
        "---\ntitle: Hi\ndate: 2024-05-01\nlink: https://example.com/hello/\n"
        "categories: [own]\n---\n\nBody.\n"
    )
    config = make_site(tmp_path, f"  - feed: {repost}\n", {"hello.md": post})
    feedwright.build(config)
    [hello] = published(tmp_path)
    assert hello.link == "https://example.com/hello/"
    assert [link.href for link in hello.links if link.rel == "related"] == [
        "http://www.example.com/hello?utm_campaign=p"
    ]
    assert {t.term for t in hello.tags} == {"own", "p"}


def test_copies_without_a_common_link_are_matched_by_title_and_text(
    tmp_path: Path, http_server: Any
) -> None:
    a = http_server.route(
        "/a.xml", body=rss("a.example", ("Same", "https://a.example/1", TEXT, "a"))
    )
    b = http_server.route(
        "/b.xml",
        body=rss("b.example", ("SAME", "https://b.example/x", f"<p>{TEXT.upper()}</p>", "b")),
    )
    c = http_server.route(
        "/c.xml", body=rss("c.example", ("Same", "https://c.example/2", "Too short.", "c"))
    )
    config = make_site(tmp_path, f"  - feed: {a}\n  - feed: {b}\n  - feed: {c}\n")
    feedwright.build(config)
    links = sorted(e.link for e in published(tmp_path))
    # a and b are one article (a listed first wins); c's text is too short to tell.
    assert links == ["https://a.example/1", "https://c.example/2"]


def test_a_feed_that_makes_new_guids_on_every_fetch_shows_its_entry_once(
    tmp_path: Path, http_server: Any
) -> None:
    """No link, a short text: the same title and text again in one feed is
    that entry again, under the id it was first published with."""

    def body(guid: str) -> bytes:
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Regen</title>'
            "<link>https://regen.example/</link>"
            f'<item><guid isPermaLink="false">{guid}</guid><title>Regen no link</title>'
            "<pubDate>Tue, 14 May 2024 10:00:00 +0000</pubDate>"
            "<description>Short.</description></item></channel></rss>"
        ).encode()

    url = http_server.route("/regen.xml", body=body("uuid-9"))
    config = make_site(tmp_path, f"  - feed: {url}\n")
    feedwright.build(config)
    (first,) = published(tmp_path)
    for n in (5, 1):  # ids that sort before the first one
        http_server.route("/regen.xml", body=body(f"uuid-{n}"))
        feedwright.build(config)
        (again,) = published(tmp_path)
        assert again.id == first.id and again.title == "Regen no link"
    assert b"deleted-entry" not in (tmp_path / "out" / "atom.xml").read_bytes()
