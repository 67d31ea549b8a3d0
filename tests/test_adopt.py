"""``feedwright adopt-ids``: a site moved from Jekyll or Hexo keeps the ids
(and dates) its old feed gave its posts, so that readers see no post again.

Old feeds written here as jekyll-feed and hexo-generator-feed write them,
read from a file or over HTTP from 127.0.0.1; sites built with
``feedwright.cli.main``; ids and dates read back from the published files.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conftest import run_cli

import feedwright

CONFIG = """\
site:
  title: Blog
  url: {url}
sources:
  - posts: posts
    permalink: "{permalink}"
output:
  dir: feeds
  limit: 0
"""

JEKYLL = "https://blog.example.com/"


def post(folder: Path, name: str, title: str, date: str | None = None, extra: str = "") -> None:
    path = folder / "posts" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    dated = f"date: {date}\n" if date else ""
    path.write_text(f"---\ntitle: {title}\n{dated}{extra}---\n{title} body\n", encoding="utf-8")


def jekyll_site(folder: Path) -> Path:
    """A site moved from Jekyll: posts named as Jekyll names them."""
    post(folder, "2024-01-02-hello.md", "Hello", "2024-01-02 08:00:00 +0000")
    post(folder, "2024-01-03-second.md", "Second Post", "2024-01-03")
    post(folder, "notes.md", "Undated notes")
    post(folder, "2024-01-04-own.md", "Own", "2024-01-04", "id: my-own-id\n")
    config = folder / "config.yaml"
    config.write_text(
        CONFIG.format(url=JEKYLL, permalink="{year}/{month}/{day}/{slug}.html"), encoding="utf-8"
    )
    return config


def atom_entry(id_: str, link: str, title: str, published: str) -> str:
    return (
        f'<entry><title type="html">{title}</title><link href="{link}" rel="alternate"'
        f' type="text/html" title="{title}" /><published>{published}</published>'
        f"<updated>{published}</updated><id>{id_}</id>"
        '<content type="html"><![CDATA[<p>body</p>]]></content></entry>'
    )


def jekyll_feed(*entries: str) -> bytes:
    """An Atom feed as jekyll-feed writes it."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" >'
        '<generator uri="https://jekyllrb.com/" version="4.3.1">Jekyll</generator>'
        f'<link href="{JEKYLL}feed.xml" rel="self" type="application/atom+xml" />'
        f"<updated>2024-02-01T00:00:00+00:00</updated><id>{JEKYLL}feed.xml</id>"
        '<title type="html">Blog</title>' + "".join(entries) + "</feed>"
    ).encode()


JEKYLL_ENTRIES = (
    # the same link, but for the scheme and the host's case
    atom_entry(
        f"{JEKYLL}2024/01/02/hello",
        "http://BLOG.example.com/2024/01/02/hello.html",
        "Hello",
        "2024-01-02T09:00:00+01:00",
    ),
    # another link (an old permalink style), the same title and day
    atom_entry(
        f"{JEKYLL}blog/second-post",
        f"{JEKYLL}blog/second-post.html",
        "Second  post",
        "2024-01-03T10:00:00+01:00",
    ),
    # no date of its own here: matched by title, takes the old date
    atom_entry(
        f"{JEKYLL}2023/05/05/undated-notes",
        f"{JEKYLL}2023/05/05/undated-notes.html",
        "Undated notes",
        "2023-05-05T12:00:00+00:00",
    ),
    atom_entry(
        f"{JEKYLL}2024/01/04/own", f"{JEKYLL}2024/01/04/own.html", "Own", "2024-01-04T00:00:00Z"
    ),
    atom_entry(
        f"{JEKYLL}2023/01/01/gone", f"{JEKYLL}2023/01/01/gone.html", "Gone", "2023-01-01T00:00:00Z"
    ),
)


def atom(feed: Path) -> dict[str, tuple[str, str]]:
    """title -> (id, published) of every entry of an Atom file."""
    text = feed.read_text(encoding="utf-8")
    entries = re.findall(r"<entry>(.*?)</entry>", text, re.S)
    out = {}
    for entry in entries:
        title = re.search(r"<title[^>]*>([^<]*)</title>", entry)
        id_ = re.search(r"<id>([^<]+)</id>", entry)
        published = re.search(r"<published>([^<]+)</published>", entry)
        assert title and id_ and published
        out[title.group(1)] = (id_.group(1), published.group(1))
    return out


def test_a_jekyll_feed_s_ids_and_dates_are_published_after_adopt_ids(tmp_path: Path) -> None:
    config = jekyll_site(tmp_path)
    old = tmp_path / "old-feed.xml"
    old.write_bytes(jekyll_feed(*JEKYLL_ENTRIES))
    code, out, err = run_cli("adopt-ids", "-c", str(config), str(old))
    assert code == 0, err
    assert (
        "posts/2024-01-02-hello.md: adopts https://blog.example.com/2024/01/02/hello"
        " (was tag:blog.example.com,2000:2024-01-02-hello)" in out
    )
    assert "posts/2024-01-03-second.md: adopts https://blog.example.com/blog/second-post" in out
    assert "posts/notes.md: adopts https://blog.example.com/2023/05/05/undated-notes" in out
    assert "and its date 2023-05-05T12:00:00Z" in out
    assert "posts/2024-01-04-own.md: keeps its front matter id" in out
    assert "3 ids adopted, 0 already adopted, 1 kept (front matter), 1 unmatched" in out
    assert "of 5 old entries; written to" in out
    assert "no post matches https://blog.example.com/2023/01/01/gone.html" in err
    assert "Traceback" not in err

    code, _, err = run_cli("build", "-q", "-c", str(config))
    assert code == 0, err
    published = atom(tmp_path / "feeds" / "atom.xml")
    assert published["Hello"] == (f"{JEKYLL}2024/01/02/hello", "2024-01-02T08:00:00Z")
    assert published["Second Post"][0] == f"{JEKYLL}blog/second-post"
    assert published["Undated notes"] == (
        f"{JEKYLL}2023/05/05/undated-notes",
        "2023-05-05T12:00:00Z",
    )
    assert published["Own"][0] == "tag:blog.example.com,2000:my-own-id"
    rss = (tmp_path / "feeds" / "rss.xml").read_text(encoding="utf-8")
    assert f">{JEKYLL}2024/01/02/hello</guid>" in rss
    assert "Sat, 06 May 2023" not in rss and "Fri, 05 May 2023 12:00:00" in rss

    code, out, err = run_cli("plan", "-c", str(config))
    assert code == 0, err
    assert " -> " not in out and "files: 0 created, 0 removed, 0 rewritten" in out

    ledger = tmp_path / "feedwright.ids"
    before = ledger.read_bytes()
    code, out, _ = run_cli("adopt-ids", "-c", str(config), str(old))
    assert code == 0
    assert (
        "posts/2024-01-02-hello.md: already adopted https://blog.example.com/2024/01/02/hello"
        in out
    )
    assert "0 ids adopted, 3 already adopted" in out and out.rstrip().endswith("nothing to write")
    assert ledger.read_bytes() == before


def test_dry_run_writes_nothing_and_json_says_the_same(tmp_path: Path) -> None:
    config = jekyll_site(tmp_path)
    old = tmp_path / "old-feed.xml"
    old.write_bytes(jekyll_feed(*JEKYLL_ENTRIES))
    code, out, _ = run_cli("adopt-ids", "-c", str(config), str(old), "--dry-run", "--json")
    assert code == 0
    said = json.loads(out)
    assert said["dry_run"] is True and said["written"] is False
    assert [a["post"] for a in said["adopted"]] == [
        "posts/2024-01-02-hello.md",
        "posts/2024-01-03-second.md",
        "posts/notes.md",
    ]
    assert said["adopted"][0]["by"] == "link" and said["adopted"][1]["by"] == "title"
    assert [e["link"] for e in said["unmatched"]] == [f"{JEKYLL}2023/01/01/gone.html"]
    assert not (tmp_path / "feedwright.ids").exists()
    assert not (tmp_path / "feeds").exists()
    code, out, _ = run_cli("adopt-ids", "-c", str(config), str(old), "--dry-run")
    assert code == 0 and out.rstrip().endswith("dry run: nothing written")
    assert not (tmp_path / "feedwright.ids").exists()


def hexo_rss(*items: tuple[str, str, str]) -> bytes:
    """An RSS 2.0 feed as hexo-generator-feed writes it: the guid is the link."""
    body = "".join(
        f"<item><title>{title}</title><link>{url}</link><guid>{url}</guid>"
        f"<pubDate>{date}</pubDate><description>&lt;p&gt;x&lt;/p&gt;</description></item>"
        for title, url, date in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Hexo</title>'
        f"<link>https://hexo.example.com/</link><generator>http://hexo.io/</generator>{body}"
        "</channel></rss>"
    ).encode()


def test_a_hexo_rss_feed_served_over_http_gives_its_guids(tmp_path: Path, http_server: Any) -> None:
    post(tmp_path, "hello-hexo.md", "Hello Hexo", "2024-01-02 03:04:05")
    post(tmp_path, "中文文章.md", "中文文章", "2024-01-04")
    post(tmp_path, "sub/index.md", "Index", "2024-01-15")
    config = tmp_path / "config.yaml"
    config.write_text(
        CONFIG.format(url="https://hexo.example.com/", permalink="{year}/{month}/{day}/{slug}/"),
        encoding="utf-8",
    )
    guids = {
        "Hello Hexo": "https://hexo.example.com/2024/01/02/hello-hexo/",
        "中文文章": "https://hexo.example.com/2024/01/04/%E4%B8%AD%E6%96%87%E6%96%87%E7%AB%A0/",
        "Index": "https://hexo.example.com/2024/01/15/sub/index.html",
    }
    url = http_server.route(
        "/rss2.xml",
        body=hexo_rss(
            ("Hello Hexo", guids["Hello Hexo"], "Tue, 02 Jan 2024 03:04:05 GMT"),
            ("中文文章", guids["中文文章"], "Thu, 04 Jan 2024 00:00:00 GMT"),
            ("Index", guids["Index"], "Mon, 15 Jan 2024 00:00:00 GMT"),
        ),
        headers={"Content-Type": "application/rss+xml; charset=utf-8"},
    )
    code, out, err = run_cli("adopt-ids", "-c", str(config), url, "--json")
    assert code == 0, err
    said = json.loads(out)
    assert {a["post"]: a["by"] for a in said["adopted"]} == {
        "posts/hello-hexo.md": "link",
        "posts/sub/index.md": "link",
        "posts/中文文章.md": "link",
    }
    assert said["written"] is True and said["unmatched"] == [] and said["ambiguous"] == []
    code, _, err = run_cli("build", "-q", "-c", str(config))
    assert code == 0, err
    rss = (tmp_path / "feeds" / "rss.xml").read_text(encoding="utf-8")
    published = set(re.findall(r"<guid[^>]*>([^<]+)</guid>", rss))
    assert published == set(guids.values())
    assert {t: i for t, (i, _) in atom(tmp_path / "feeds" / "atom.xml").items()} == guids


def test_ambiguous_entries_are_skipped_and_named_with_exit_1(tmp_path: Path) -> None:
    config = jekyll_site(tmp_path)
    post(tmp_path, "2024-01-05-weekly-a.md", "Weekly", "2024-01-05")
    post(tmp_path, "2024-01-05-weekly-b.md", "Weekly", "2024-01-05")
    old = tmp_path / "old.xml"
    old.write_bytes(
        jekyll_feed(
            atom_entry(
                f"{JEKYLL}weekly/5", f"{JEKYLL}weekly/5.html", "Weekly", "2024-01-05T12:00:00Z"
            ),
            JEKYLL_ENTRIES[0],
        )
    )
    # The same post in a second feed under another id: readers know two ids.
    other = tmp_path / "rss.xml"
    other.write_bytes(hexo_rss(("Hello", f"{JEKYLL}2024/01/02/hello/", "Tue, 02 Jan 2024")))
    code, out, err = run_cli("adopt-ids", "-c", str(config), str(old), str(other))
    assert code == 1
    assert f"{old}: {JEKYLL}weekly/5 skipped: matches 2 posts by title" in err
    assert "posts/2024-01-05-weekly-a.md, posts/2024-01-05-weekly-b.md" in err
    assert "2 old entries match posts/2024-01-02-hello.md" in err
    assert (
        "0 ids adopted, 0 already adopted, 0 kept (front matter), 0 unmatched, 3 ambiguous" in out
    )
    assert not (tmp_path / "feedwright.ids").exists()  # nothing adopted: nothing written


def test_an_unreadable_feed_is_exit_2_naming_it(tmp_path: Path, http_server: Any) -> None:
    config = jekyll_site(tmp_path)
    good = tmp_path / "old.xml"
    good.write_bytes(jekyll_feed(*JEKYLL_ENTRIES))
    not_a_feed = tmp_path / "page.html"
    not_a_feed.write_text("<html><body>a page</body></html>", encoding="utf-8")
    missing = http_server.url("/gone.xml")
    for bad in (str(tmp_path / "nope.xml"), missing, str(not_a_feed)):
        code, out, err = run_cli("adopt-ids", "-c", str(config), str(good), bad)
        assert code == 2, (bad, err)
        assert err.startswith(f"feedwright: {bad}: ") and "nothing written" in err
        assert "Traceback" not in err and out == ""
    assert "404" in run_cli("adopt-ids", "-c", str(config), missing)[2]
    code, out, _ = run_cli("adopt-ids", "-c", str(config), missing, "--json")
    assert code == 2 and json.loads(out)["exit"] == 2
    assert not (tmp_path / "feedwright.ids").exists()


def test_an_old_id_no_feed_may_hold_is_skipped_and_named_with_exit_1(tmp_path: Path) -> None:
    """Adopted, a malformed tag: URI went into the ledger, and the gate then
    refused every feed holding the post (atom.xml, rss.xml, its categories')."""
    config = jekyll_site(tmp_path)
    old = tmp_path / "old.xml"
    bad = atom_entry("tag:oops", f"{JEKYLL}2024/01/02/hello.html", "Hello", "2024-01-02T08:00:00Z")
    old.write_bytes(jekyll_feed(bad, *JEKYLL_ENTRIES[1:]))
    code, out, err = run_cli("adopt-ids", "-c", str(config), str(old))
    assert code == 1, err
    assert (
        f"warning: {old}: tag:oops skipped: not a tag: URI (RFC 4151), which the publish gate"
        " refuses in every feed: posts/2024-01-02-hello.md keeps its id"
        " tag:blog.example.com,2000:2024-01-02-hello"
    ) in err
    assert "0 ambiguous, 1 refused (ids no feed may hold), of " in out
    assert "tag:oops" not in (tmp_path / "feedwright.ids").read_text(encoding="utf-8")
    assert "posts/2024-01-03-second.md: adopts" in out  # the rest written
    code, out, _ = run_cli("adopt-ids", "-c", str(config), str(old), "--json")
    assert code == 1 and [r["entry"]["id"] for r in json.loads(out)["refused"]] == ["tag:oops"]
    code, _, err = run_cli("build", "-c", str(config))
    assert code == 0 and "not published" not in err, err
    assert atom(tmp_path / "feeds" / "atom.xml")["Hello"][0] == (
        "tag:blog.example.com,2000:2024-01-02-hello"
    )


def test_a_damaged_ledger_is_exit_2_and_left_as_it_is(tmp_path: Path) -> None:
    config = jekyll_site(tmp_path)
    old = tmp_path / "old.xml"
    old.write_bytes(jekyll_feed(*JEKYLL_ENTRIES))
    ledger = tmp_path / "feedwright.ids"
    ledger.write_text("posts/notes.md\tabc\tsome-id\n", encoding="utf-8")  # 3 fields
    code, _, err = run_cli("adopt-ids", "-c", str(config), str(old))
    assert code == 2 and f"{ledger}:1: expected 4 tab-separated fields" in err, err
    assert ledger.read_text(encoding="utf-8") == "posts/notes.md\tabc\tsome-id\n"


def test_a_ledger_line_adopt_ids_drops_is_named_as_build_names_it(tmp_path: Path) -> None:
    config = jekyll_site(tmp_path)
    assert run_cli("build", "-q", "-c", str(config))[0] == 0
    ledger = tmp_path / "feedwright.ids"
    lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    number, line = next((n, x) for n, x in enumerate(lines, 1) if x.startswith("posts/notes.md"))
    path, fingerprint, _, date = line.rstrip("\n").split("\t")
    lines[number - 1] = f"{path}\t{fingerprint}\ttag:oops\t{date}\n"
    ledger.write_text("".join(lines), encoding="utf-8")
    old = tmp_path / "old.xml"
    old.write_bytes(jekyll_feed(*JEKYLL_ENTRIES))
    code, _, err = run_cli("adopt-ids", "-c", str(config), str(old))
    assert code == 0, err
    assert f"{ledger}:{number}:" in err and "tag:oops" in err, err
    assert "tag:oops" not in ledger.read_text(encoding="utf-8")


def test_an_adopted_id_stays_with_a_post_moved_later(tmp_path: Path) -> None:
    config = jekyll_site(tmp_path)
    old = tmp_path / "old.xml"
    old.write_bytes(jekyll_feed(*JEKYLL_ENTRIES))
    assert run_cli("adopt-ids", "-c", str(config), str(old))[0] == 0
    assert run_cli("build", "-q", "-c", str(config))[0] == 0
    (tmp_path / "posts" / "2024").mkdir()
    shutil.move(tmp_path / "posts" / "notes.md", tmp_path / "posts" / "2024" / "notes.md")
    code, _, err = run_cli("build", "-c", str(config))
    assert code == 0, err
    assert "posts/2024/notes.md: moved from posts/notes.md" in err
    assert atom(tmp_path / "feeds" / "atom.xml")["Undated notes"] == (
        f"{JEKYLL}2023/05/05/undated-notes",
        "2023-05-05T12:00:00Z",
    )
    code, _, err = run_cli("check", "-c", str(config))
    assert code == 0 and "feedwright.ids" not in err, err


def test_adopting_after_a_build_keeps_the_state_s_copy_of_the_ledger(tmp_path: Path) -> None:
    config = jekyll_site(tmp_path)
    assert run_cli("build", "-q", "-c", str(config))[0] == 0  # tag: ids, a ledger, a state
    old = tmp_path / "old.xml"
    old.write_bytes(jekyll_feed(*JEKYLL_ENTRIES))
    code, out, _ = run_cli("adopt-ids", "-c", str(config), str(old))
    assert code == 0 and "3 ids adopted" in out
    (tmp_path / "feedwright.ids").unlink()  # the state's copy has the old ids too
    code, _, err = run_cli("build", "-q", "-c", str(config))
    assert code == 0, err  # and no id gate
    assert atom(tmp_path / "feeds" / "atom.xml")["Hello"][0] == f"{JEKYLL}2024/01/02/hello"
    assert f"{JEKYLL}2024/01/02/hello\t" in (tmp_path / "feedwright.ids").read_text()


def test_the_api_returns_a_report(tmp_path: Path) -> None:
    config = jekyll_site(tmp_path)
    old = tmp_path / "old.xml"
    old.write_bytes(jekyll_feed(*JEKYLL_ENTRIES))
    report: feedwright.AdoptReport = feedwright.adopt_ids(
        config, [str(old)], dry_run=True, now=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert [a.post for a in report.adopted][:1] == ["posts/2024-01-02-hello.md"]
    assert report.adopted[0].was == "tag:blog.example.com,2000:2024-01-02-hello"
    assert [e.title for e in report.unmatched] == ["Gone"]
    assert report.dry_run and not report.written and report.entries == 5


def test_an_old_entry_with_a_broken_ipv6_link_is_unmatched_not_a_crash(tmp_path: Path) -> None:
    # urlsplit refuses `https://[::1/`: adopt-ids ended with exit 70 (ValueError).
    config = jekyll_site(tmp_path)
    old = tmp_path / "rss.xml"
    old.write_bytes(
        hexo_rss(
            ("Gone", "https://[::1/gone/", "Mon, 01 Jan 2024"),
            ("Hello", f"{JEKYLL}2024/01/02/hello/", "Tue, 02 Jan 2024"),
        )
    )
    code, out, err = run_cli("adopt-ids", "-c", str(config), str(old))
    assert code == 0, err
    assert "internal error" not in err
    assert f"{old}: no post matches https://[::1/gone/" in err
    assert "1 id adopted" in out and "1 unmatched" in out
