"""The validation gate: nothing invalid replaces a published file, and
``feedwright check --output`` runs the same rules on any folder.

Builds are real (posts on disk, ``feedwright build`` through ``cli.main``);
the broken feeds checked by ``check --output`` are files written by hand, as
a user (or another tool) would leave them.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_publish import NOW, POSTS, make_site, post, tree

import feedwright
from feedwright.cli import main

GOOD_ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>https://example.org/feed.xml</id>
  <title>Example</title>
  <updated>2024-03-01T00:00:00Z</updated>
  <author><name>Someone</name></author>
  <link rel="self" href="https://example.org/feed.xml"/>
  {entry}
</feed>
"""
GOOD_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
  <title>Example</title><link>https://example.org/</link><description>d</description>
  <atom:link rel="self" href="{self}"/>
  {item}
</channel></rss>
"""
ENTRY = "<entry><id>{id}</id><title>t</title><updated>{updated}</updated>{extra}</entry>"


def run(*argv: str) -> int:
    return main(list(argv))


def write(folder: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def said_refused(problems: list[str], out: Path, refused: set[str]) -> None:
    """A build's problems name each file the gate refused for its bad tag: URI,
    and no other file."""
    for rel in refused:
        assert any(p.startswith(f"{out / rel}: not published, tag-uri: ") for p in problems), rel
    named = {p.split(": not published, ")[0] for p in problems if ": not published, " in p}
    assert named == {str(out / rel) for rel in refused}


def bypassing_the_loader(config: Path, url: str) -> feedwright.Config:
    """The site's config with ``site.url`` set to ``url`` by a program, not by
    ``load_config`` (which refuses a host that cannot make tag: ids): one way
    left for a bad id to reach the gate, which then holds."""
    loaded = feedwright.load_config(config)
    return dataclasses.replace(loaded, site=dataclasses.replace(loaded.site, url=url))


def test_a_build_passes_its_own_gate_and_check_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_site(tmp_path / "site", POSTS)
    assert run("build", "-c", str(config), "-q") == 0
    capsys.readouterr()
    assert run("check", "-c", str(config), "--output") == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert "0 failing" in out.out
    found = feedwright.check_output(tmp_path / "site" / "feeds")
    assert found.problems == []
    assert {"atom.xml", "rss.xml", "feed.json", "index.opml", "feed.xsl"} <= set(found.files)


def test_check_output_names_each_file_and_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "foreign"
    entry = ENTRY.format(id="https://example.org/1", updated="2024-03-01T00:00:00Z", extra="")
    write(
        foreign,
        {
            "ok.xml": GOOD_ATOM.format(entry=entry),
            "ok-rss.xml": GOOD_RSS.format(self="https://example.org/rss.xml", item=""),
            "broken.xml": "<feed><title>cut off",
            "no-id.xml": GOOD_ATOM.format(entry="<entry><title>t</title></entry>").replace(
                "<id>https://example.org/feed.xml</id>", ""
            ),
            "relative.xml": GOOD_RSS.format(self="/rss.xml", item=""),
            "enclosure.xml": GOOD_RSS.format(
                self="https://example.org/rss.xml",
                item='<item><title>t</title><enclosure url="https://example.org/a.mp3"'
                ' type="audio/mpeg"/></item>',
            ),
            "tag.xml": GOOD_ATOM.format(
                entry=ENTRY.format(id="tag:example.org:1", updated="2024-03-01T00:00:00Z", extra="")
            ),
            "date.xml": GOOD_ATOM.format(
                entry=ENTRY.format(
                    id="https://example.org/2", updated="0999-01-01T00:00:00Z", extra=""
                )
            ),
            "bad-date.xml": GOOD_ATOM.format(
                entry=ENTRY.format(
                    id="https://example.org/3", updated="2024-02-30T00:00:00Z", extra=""
                )
            ),
            "feed.json": json.dumps(
                {"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": [{}]}
            ),
            "notes.txt": "not a feed: never checked",
        },
    )
    assert run("check", "--output", str(foreign)) == 1
    out = capsys.readouterr()
    lines = out.err.splitlines()

    def said(name: str, rule: str) -> bool:
        return any(line.startswith(f"{foreign / name}: {rule}: ") for line in lines)

    assert said("broken.xml", "well-formed")
    assert said("no-id.xml", "atom-required")
    assert said("relative.xml", "self-link")
    assert said("enclosure.xml", "enclosure")
    assert said("tag.xml", "tag-uri")
    assert said("date.xml", "date")
    assert said("bad-date.xml", "date")
    assert said("feed.json", "json-required")
    assert not any(str(foreign / "ok") in line for line in lines)
    assert "Traceback" not in out.err
    assert "11 files checked" not in out.out  # notes.txt is not a feed
    assert "10 files checked, 8 failing" in out.out

    assert run("check", "--output", str(tmp_path / "nowhere")) == 2
    assert "no such folder" in capsys.readouterr().err


def test_an_invalid_file_is_not_published_the_rest_is(tmp_path: Path) -> None:
    site = tmp_path / "site"
    config = make_site(site, {"a.md": post(1, "X"), "b.md": post(2, "Y")})
    out = site / "feeds"
    assert feedwright.build(config, now=NOW).problems == []
    before = tree(out)

    # An id that claims to be a tag: URI but is not one, in X: made of an
    # IPv6 host a program gave site.url (posts' own ids and the id ledger's
    # lines are checked as they are read); a good post in Y, with an id of
    # its own.
    (site / "posts" / "bad.md").write_text(post(3, "X"), encoding="utf-8")
    (site / "posts" / "c.md").write_text(
        post(4, "Y", id="https://news.example.com/c"), encoding="utf-8"
    )
    ipv6 = bypassing_the_loader(config, "http://[::1]:8000/")
    report = feedwright.build(ipv6, now=NOW)
    refused = {"atom.xml", "rss.xml", "feed.json", "x/atom.xml", "x/rss.xml", "x/feed.json"}
    said_refused(report.problems, out, refused)
    assert "tag:::1,2000:bad" in report.problems[0]
    for rel in refused:
        assert (out / rel).read_bytes() == before[rel]  # the previous one stays
    assert b"Post 4" in (out / "y" / "atom.xml").read_bytes()  # the rest is published
    assert b"Post 4" in (out / "y" / "rss.xml").read_bytes()

    # The next build says so again (nothing is cached as done), then a fix publishes it.
    report = feedwright.build(ipv6, now=NOW)
    assert any(f"{out / 'x' / 'atom.xml'}: not published, tag-uri" in p for p in report.problems)
    (site / "posts" / "bad.md").write_text(
        post(3, "X", id="tag:example.com,2024:oops"), encoding="utf-8"
    )
    assert not any("not published" in p for p in feedwright.build(config, now=NOW).problems)
    assert b"tag:example.com,2024:oops" in (out / "x" / "atom.xml").read_bytes()
    assert feedwright.check_output(out).problems == []


def test_the_gate_holds_where_worker_processes_serialise_the_feeds(tmp_path: Path) -> None:
    """A first build of 1,200 posts writes over a thousand entries: its feeds
    are serialised, and checked, in worker processes."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    posts = {
        f"p{n:04d}.md": (
            f"---\ntitle: Post {n}\ndate: {start + timedelta(hours=n):%Y-%m-%dT%H:%M:%SZ}\n"
            f"categories: [C{n % 30}]\nid: https://news.example.com/p{n}\n---\nBody {n}.\n"
        )
        for n in range(1200)
    }
    # The one post whose id is made of the site's host (bypassing_the_loader).
    posts["bad.md"] = "---\ntitle: Bad\ndate: 2025-01-01\ncategories: [C7]\n---\nB\n"
    site = tmp_path / "site"
    config = make_site(site, posts, output="limit: 40")
    out = site / "feeds"
    later = datetime(2026, 1, 1, tzinfo=UTC)
    ipv6 = bypassing_the_loader(config, "http://[::1]:8000/")
    report = feedwright.build(ipv6, now=later, fork=True)  # as the command builds
    refused = {"atom.xml", "rss.xml", "feed.json", "c7/atom.xml", "c7/rss.xml", "c7/feed.json"}
    said_refused(report.problems, out, refused)
    for rel in refused:
        assert not (out / rel).exists()
    assert b"Post 1199" in (out / "c29" / "atom.xml").read_bytes()  # the rest is published
    assert feedwright.check_output(out).problems == []


def test_a_post_dated_out_of_range_costs_only_itself(tmp_path: Path) -> None:
    # A typo'd year would fail the gate's date rule in every feed holding the
    # post; it is the post that is reported and left out, the feeds publish.
    site = tmp_path / "site"
    config = make_site(site, {"a.md": post(1, "X")}, formats="atom, rss")
    feedwright.build(config, now=NOW)
    (site / "posts" / "old.md").write_text(
        "---\ntitle: Typo\ndate: 1066-10-14\ncategories: [X]\n---\nHastings.\n", encoding="utf-8"
    )
    (site / "posts" / "b.md").write_text(post(2, "X"), encoding="utf-8")
    report = feedwright.build(config, now=NOW)
    assert [(Path(e.path).name, e.message) for e in report.post_errors] == [
        ("old.md", "date: '1066-10-14' is out of the range of dates (years 1800 to 2999)")
    ]
    assert not any("not published" in p for p in report.problems)
    for rel in ("atom.xml", "rss.xml", "x/atom.xml", "x/rss.xml"):
        text = (site / "feeds" / rel).read_text(encoding="utf-8")
        assert "Post 2" in text and "Hastings" not in text, rel
    assert feedwright.check_output(site / "feeds").problems == []


@pytest.mark.parametrize(
    ("field", "said"),
    [
        ('id: "tag:x"', "id: 'tag:x' is not a tag: URI"),  # no authority, no date
        ("guid: tag:news.example.com:1", "guid: 'tag:news.example.com:1' is not a tag: URI"),
        ("id: tag:news.example.com,2024:my post", "is not a tag: URI"),  # a space
    ],
)
def test_a_post_whose_own_id_is_a_malformed_tag_uri_costs_only_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, said: str
) -> None:
    # Published as written, the id failed the gate's tag-uri rule in every
    # feed holding the post: the other posts of those feeds never got out.
    site = tmp_path / "site"
    bad = "---\ntitle: Bad\ndate: 2024-03-01\ncategories: [X]\n" + field + "\n---\nB\n"
    config = make_site(site, {"bad.md": bad, "b.md": post(2, "X")})
    assert run("build", "-c", str(config), "-q") == 1
    err = capsys.readouterr().err
    assert f"{site / 'posts' / 'bad.md'}: " in err and said in err
    assert "write it as tag:news.example.com,2024:bad" in err  # how to write it right
    assert "not published" not in err and "Traceback" not in err
    assert len(err.splitlines()) == 1
    for rel in ("atom.xml", "rss.xml", "feed.json", "x/atom.xml", "x/rss.xml", "x/feed.json"):
        text = (site / "feeds" / rel).read_text(encoding="utf-8")
        assert "Post 2" in text and "Bad" not in text, rel
    assert "bad.md" not in (site / "feedwright.ids").read_text(encoding="utf-8")
    assert run("check", "-c", str(config)) == 1
    err = capsys.readouterr().err
    assert f"{site / 'posts' / 'bad.md'}: " in err and said in err


def test_a_published_post_given_a_malformed_id_keeps_its_last_good_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    config = make_site(site, {"a.md": post(1, "X"), "b.md": post(2, "X")}, formats="atom")
    assert run("build", "-c", str(config), "-q") == 0
    ledger = (site / "feedwright.ids").read_text(encoding="utf-8")
    (site / "posts" / "a.md").write_text(post(1, "X", title="Edited", id="tag:x"))
    (site / "posts" / "b.md").write_text(post(2, "X", title="Post 2, edited"))
    capsys.readouterr()
    assert run("build", "-c", str(config), "-q") == 1
    err = capsys.readouterr().err
    assert f"{site / 'posts' / 'a.md'}: id: 'tag:x' is not a tag: URI" in err
    assert "its last good version stays published until this is fixed" in err
    assert "not published" not in err
    for rel in ("atom.xml", "x/atom.xml"):
        text = (site / "feeds" / rel).read_text(encoding="utf-8")
        assert "Post 2, edited" in text, rel  # the rest is published
        assert "<id>tag:news.example.com,2000:a</id>" in text and "Edited" not in text, rel
    assert (site / "feedwright.ids").read_text(encoding="utf-8") == ledger  # its id kept
    # Written right, it is published under it: an id change, reported as ever.
    (site / "posts" / "a.md").write_text(post(1, "X", title="Edited", id="tag:x.example,2024:a"))
    assert run("build", "-c", str(config)) == 0
    assert "its id changes from tag:news.example.com,2000:a to tag:x.example,2024:a" in (
        capsys.readouterr().err
    )
    assert ids_of(site / "feeds" / "atom.xml")["Edited"] == "tag:x.example,2024:a"


def test_a_remote_entry_whose_id_is_a_malformed_tag_uri_is_published_under_a_good_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], http_server: Any
) -> None:
    entries = "".join(
        f"<entry><id>{id_}</id><title>{title}</title><link href='https://r.example/{title}'/>"
        "<updated>2024-03-01T05:00:00Z</updated><author><name>R</name></author></entry>"
        for id_, title in (("tag:oops", "Oops"), ("https://r.example/fine", "Fine"))
    )
    url = http_server.route(
        "/r.xml",
        body=GOOD_ATOM.format(entry=entries).encode(),
        headers={"Content-Type": "application/atom+xml"},
    )
    site = tmp_path / "site"
    config = make_site(site, {"a.md": post(1, "X")}, feeds=(url,))
    assert run("build", "-c", str(config), "-q") == 0
    assert capsys.readouterr().err == ""
    published = {}
    for rel in ("atom.xml", "rss.xml", "feed.json"):
        text = (site / "feeds" / rel).read_text(encoding="utf-8")
        assert "Oops" in text and "Fine" in text and "Post 1" in text, rel
        assert "tag:oops" not in text, rel
        published[rel] = text
    oops = ids_of(site / "feeds" / "atom.xml")["Oops"]
    assert oops.startswith("urn:uuid:")
    # The same id from fetch to fetch: readers never see the entry twice.
    assert run("build", "-c", str(config), "-q", "--refresh") == 0
    assert ids_of(site / "feeds" / "atom.xml")["Oops"] == oops
    assert feedwright.check_output(site / "feeds").problems == []


def ids_of(feed: Path) -> dict[str, str]:
    """title -> id of each entry of an Atom file."""
    text = feed.read_text(encoding="utf-8")
    found = re.findall(r"<entry>.*?<id>([^<]+)</id>.*?<title>([^<]*)</title>", text, re.S)
    return {title: id_ for id_, title in found}


def test_a_hand_edited_published_feed_is_checked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    config = make_site(site, {"a.md": post(1, "X")}, formats="atom")
    assert run("build", "-c", str(config), "-q") == 0
    feed = site / "feeds" / "x" / "atom.xml"
    feed.write_bytes(feed.read_bytes().replace(b"<title>", b"<titel>", 1))
    capsys.readouterr()
    assert run("check", "-c", str(config), "--output") == 1
    assert f"{feed}: well-formed: " in capsys.readouterr().err
    shutil.rmtree(site / "feeds")


HEAD = '{"version": "https://jsonfeed.org/version/1.1", "title": "t", '


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (HEAD + '"feed_url": 5, "items": []}', "self-link: feed_url 5 is not absolute"),
        (
            HEAD + '"feed_url": ["https://e.org/"], "items": []}',
            "self-link: feed_url ['https://e.org/'] is not absolute",
        ),
        (
            HEAD + '"items": [{"id": ' + "[" * 100_000 + "]" * 100_000 + "}]}",
            "well-formed: not JSON a reader can take",
        ),
    ],
)
def test_check_output_reports_a_hand_written_json_feed_of_any_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, said: str
) -> None:
    # A feed_url that is not a string, or arrays nested past Python's recursion
    # limit, ended `check --output` with exit 70 (AttributeError, RecursionError).
    write(tmp_path / "out", {"feed.json": text})
    assert run("check", "--output", str(tmp_path / "out")) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'out' / 'feed.json'}: {said}" in err
    assert "internal error" not in err
