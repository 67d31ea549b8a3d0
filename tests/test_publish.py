"""Publishing, through ``feedwright.build`` on real files: a posts folder and a
config.yaml written here, remote feeds served from the loopback server, and
the published folder read back byte for byte, with lxml and with feedparser.

The golden test compares a whole published folder with
``tests/data/golden/feeds/`` (the loopback server's address is written there
as ``http://127.0.0.1:8080``). After an intended change to the output,
regenerate it and review the diff::

    FEEDWRIGHT_REGEN=1 pytest tests/test_publish.py -k golden
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import pytest
from lxml import etree

import feedwright
from feedwright.exceptions import PublishError

GOLDEN = Path(__file__).parent / "data" / "golden" / "feeds"
NOW = datetime(2024, 3, 2, tzinfo=UTC)
MANIFEST = ".feedwright-manifest.json"
ATOM = "{http://www.w3.org/2005/Atom}"
GOLDEN_SERVER = "http://127.0.0.1:8080"

SITE = """\
site:
  title: 张家港新闻
  url: {url}
  description: 本地新闻 and notes
  author: {{name: 编辑部, email: desk@example.com}}
  language: zh-CN
"""

# The golden set: Chinese and English, awkward categories, every field used.
POSTS = {
    "dock.md": """\
---
title: 港口新码头开工
date: 2024-03-01T08:00:00Z
updated: 2024-03-01T13:00:00Z
author: 王记者
categories: [金融, Tech]
tags: [港口]
headimg: /img/dock.jpg
---
新码头今天开工。

<!-- more -->

![码头](/img/dock.jpg)
""",
    "cpp.md": """\
---
title: "C++ & C# <compared>"
date: 2024-03-01T10:00:00Z
author: {name: Ann Lee, email: ann@example.com, uri: "https://ann.example.com/"}
categories: [C++, C#, C, tech]
---
Templates &amp; generics: `a < b`
""",
    "c.md": """\
---
title: Plain C
date: 2024-03-01T09:00:00Z
authors: [Bob, {name: Cy, email: cy@example.com}]
categories: C
tags: [systems, C]
---
Pointers, [explained](pointers/).
""",
    "drafts/idea.md": "---\ntitle: Not yet\ndraft: true\ncategories: [C]\n---\nSecret.\n",
}

# A remote Atom feed: its entry keeps its language, enclosures and origin.
REMOTE = """\
<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>Remote Space</title><id>urn:uuid:60a76c80-d399-11d9-b91C-0003939e0af6</id>
<link href="https://remote.example.org/"/><updated>2024-03-01T12:00:00Z</updated>
<entry xml:lang="en"><title>Rocket launch 🚀</title><id>tag:remote.example.org,2024:42</id>
<link href="https://remote.example.org/launch"/>
<published>2024-03-01T11:00:00Z</published><updated>2024-03-01T12:00:00Z</updated>
<category term="🚀"/><category term="../etc"/>
<link rel="enclosure" href="https://remote.example.org/launch.mp3" type="audio/mpeg" length="1000"/>
<link rel="enclosure" href="https://remote.example.org/poster.png" type="image/png"/>
<content type="html">&lt;p&gt;Lift-off. &lt;a href="https://remote.example.org/video"&gt;Video&lt;/a&gt;&lt;/p&gt;</content>
</entry></feed>
""".encode()

# A remote RSS feed whose guids are not IRIs and whose titles can be missing.
WIRE = b"""\
<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Money &amp; Wire</title><link>https://wire.example/</link>
<description>d</description>
<item><link>https://wire.example/rates</link>
<pubDate>Thu, 29 Feb 2024 18:00:00 +0000</pubDate><category>Finance</category>
<description>&lt;p&gt;Rates &amp;amp; bonds rose again today.&lt;/p&gt;</description></item>
<item><title>Harbour fees</title><guid isPermaLink="false">urn:harbour</guid>
<link>https://wire.example/fees</link><pubDate>Thu, 29 Feb 2024 17:00:00 +0000</pubDate>
<description>Fees.</description></item>
<item><title>Ships</title><guid isPermaLink="false">urn:isbn:0451450523</guid>
<link>https://wire.example/ships</link><pubDate>Thu, 29 Feb 2024 16:00:00 +0000</pubDate>
<description>Ships.</description></item>
</channel></rss>
"""


def make_site(
    root: Path,
    posts: dict[str, str] | None = None,
    *,
    feeds: tuple[str, ...] = (),
    output: str = "",
    url: str = "https://news.example.com/",
    out: str = "feeds",
    formats: str = "atom, rss, json",
) -> Path:
    """A site folder (config.yaml + posts/); returns the config's path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "posts").mkdir(exist_ok=True)
    for name, text in (POSTS if posts is None else posts).items():
        path = root / "posts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    sources = "sources:\n  - posts: posts\n" + "".join(f"  - feed: {f}\n" for f in feeds)
    config = SITE.format(url=url) + sources + f"output:\n  dir: {out}\n  formats: [{formats}]\n"
    config += "".join(f"  {line}\n" for line in output.splitlines())
    (root / "config.yaml").write_text(config, encoding="utf-8")
    return root / "config.yaml"


def serve(http_server: Any) -> tuple[str, ...]:
    remote = http_server.route(
        "/remote.xml", body=REMOTE, headers={"Content-Type": "application/atom+xml"}
    )
    wire = http_server.route(
        "/wire.xml", body=WIRE, headers={"Content-Type": "application/rss+xml"}
    )
    return remote, wire


def build(config: Path, now: datetime = NOW) -> Any:
    report = feedwright.build(config, now=now)
    assert not report.problems, report.problems
    return report


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".feedwright.lock"
    }


def parse_xml(data: bytes) -> Any:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


@pytest.fixture
def golden_site(tmp_path: Path, http_server: Any) -> tuple[Path, dict[str, bytes]]:
    """The golden site built once: (its output folder, its files with the
    loopback server's address written as GOLDEN_SERVER)."""
    config = make_site(tmp_path / "site", feeds=serve(http_server))
    build(config)
    out = tmp_path / "site" / "feeds"
    base = http_server.base_url.encode()
    return out, {k: v.replace(base, GOLDEN_SERVER.encode()) for k, v in tree(out).items()}


# --------------------------------------------------------------------------- golden


def test_golden_output(golden_site: tuple[Path, dict[str, bytes]]) -> None:
    _, produced = golden_site
    if os.environ.get("FEEDWRIGHT_REGEN") == "1":
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for name, data in produced.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
    expected = tree(GOLDEN)
    assert sorted(produced) == sorted(expected)
    for name, data in produced.items():
        assert data == expected[name], f"{name} differs from the golden file"


def test_golden_layout_names_every_category_safely(
    golden_site: tuple[Path, dict[str, bytes]],
) -> None:
    out, files = golden_site
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == ["c", "c-plus-plus", "c-sharp", "etc", "finance", "rocket", "tech", "金融"]
    for folder in folders:
        assert (out / folder).resolve().parent == out.resolve()
        assert {p.name for p in (out / folder).iterdir()} == {
            "atom.xml",
            "rss.xml",
            "feed.json",
            "index.html",
        }
    # Tech and tech are one category, one feed, named as first written.
    tech = parse_xml(files["tech/atom.xml"])
    assert [c.get("term") for c in tech.findall(f"{ATOM}category")] == ["Tech"]
    assert len(tech.findall(f"{ATOM}entry")) == 2
    assert b"Not yet" not in b"".join(files.values())  # drafts are never published


# --------------------------------------------------------------------------- round trips


def test_atom_round_trips_through_feedparser(golden_site: tuple[Path, dict[str, bytes]]) -> None:
    _, files = golden_site
    parsed = feedparser.parse(files["atom.xml"])
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "张家港新闻"
    assert parsed.feed.id == "https://news.example.com/feeds/atom.xml"
    assert parsed.feed.updated == "2024-03-01T13:00:00Z"  # newest change: dock at 13:00
    assert parsed.feed.generator == "feedwright"
    by_title = {e.title: e for e in parsed.entries}
    assert list(by_title)[:4] == [
        "Rocket launch 🚀",
        "C++ & C# <compared>",
        "Plain C",
        "港口新码头开工",
    ]
    cpp = by_title["C++ & C# <compared>"]
    assert cpp.content[0].value == "<p>Templates &amp; generics: <code>a &lt; b</code></p>"
    assert cpp.content[0].type == "text/html"
    assert [t.term for t in cpp.tags] == ["C++", "C#", "C", "tech"]
    assert cpp.author_detail == {
        "name": "Ann Lee",
        "email": "ann@example.com",
        "href": "https://ann.example.com/",
    }
    dock = by_title["港口新码头开工"]
    assert dock.summary == "<p>新码头今天开工。</p>"
    assert (dock.published, dock.updated) == ("2024-03-01T08:00:00Z", "2024-03-01T13:00:00Z")
    assert [(e.href, e.type) for e in dock.enclosures] == [
        ("https://news.example.com/img/dock.jpg", "image/jpeg")
    ]
    assert dock.media_thumbnail == [{"url": "https://news.example.com/img/dock.jpg"}]
    plain_c = by_title["Plain C"]
    assert 'href="https://news.example.com/c/pointers/"' in plain_c.content[0].value
    remote = by_title["Rocket launch 🚀"]
    assert remote.id == "tag:remote.example.org,2024:42"
    assert len(remote.enclosures) == 2  # Atom keeps every enclosure
    assert remote.source.title == "Remote Space"
    assert remote.source.id == "urn:uuid:60a76c80-d399-11d9-b91C-0003939e0af6"
    assert remote.link == "https://remote.example.org/launch"
    root = parse_xml(files["atom.xml"])
    entry = next(e for e in root.iter(f"{ATOM}entry") if "Rocket" in e.findtext(f"{ATOM}title"))
    assert entry.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    source = entry.find(f"{ATOM}source")
    links = {link.get("rel"): link.get("href") for link in source.findall(f"{ATOM}link")}
    assert links == {
        "alternate": "https://remote.example.org/",
        "self": f"{GOLDEN_SERVER}/remote.xml",
    }
    assert source.findtext(f"{ATOM}updated") == "2024-03-01T12:00:00Z"
    untitled = by_title["Rates & bonds rose again today."]  # no title: an excerpt stands in
    assert untitled.id == "https://wire.example/rates"  # no guid: the link


def test_rss_round_trips_through_feedparser(golden_site: tuple[Path, dict[str, bytes]]) -> None:
    _, files = golden_site
    parsed = feedparser.parse(files["rss.xml"])
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.link == "https://news.example.com/"
    assert parsed.feed.subtitle == "本地新闻 and notes"
    by_title = {e.title: e for e in parsed.entries}
    cpp = by_title["C++ & C# <compared>"]
    assert cpp.content[0].value == "<p>Templates &amp; generics: <code>a &lt; b</code></p>"
    assert cpp.author == "ann@example.com (Ann Lee)"
    assert cpp.published_parsed[:4] == (2024, 3, 1, 10)
    dock = by_title["港口新码头开工"]
    assert dock.summary == "<p>新码头今天开工。</p>"  # description = summary
    assert dock.content[0].value.startswith("<p>新码头今天开工。</p>")  # full content
    assert dock.author == "王记者"  # no e-mail: dc:creator
    remote = by_title["Rocket launch 🚀"]
    assert remote.guidislink is False
    assert [(e.href, e.type) for e in remote.enclosures] == [
        ("https://remote.example.org/launch.mp3", "audio/mpeg")
    ]  # RSS: the first enclosure only
    assert remote.source == {"href": f"{GOLDEN_SERVER}/remote.xml", "title": "Remote Space"}
    assert by_title["Harbour fees"].id == "urn:harbour"  # RSS keeps the guid as it is
    root = parse_xml(files["rss.xml"])
    item = next(i for i in root.iter("item") if i.findtext("title") == "Plain C")
    assert item.find("author") is None  # two authors: dc:creator for each, never both forms
    creators = [c.text for c in item.iter("{http://purl.org/dc/elements/1.1/}creator")]
    assert creators == ["Bob", "Cy"]
    assert [c.text for c in item.findall("category")] == ["C", "systems"]
    # & and < in RSS titles as character references (RSS best practice).
    assert b"<title>C++ &#x26; C# &#x3C;compared&gt;</title>" in files["rss.xml"]


def test_an_atom_feeds_first_link_is_its_site_and_an_entrys_is_its_page(
    golden_site: tuple[Path, dict[str, bytes]],
) -> None:
    # Readers that take the first <link> for the home page (npm's
    # @extractus/feed-extractor) showed the feed's own URL as the site.
    _, files = golden_site
    atoms = [name for name in files if name.endswith("atom.xml")]
    assert len(atoms) > 5
    for name in atoms:
        root = parse_xml(files[name])
        first = root.find(f"{ATOM}link")
        assert (first.get("rel"), first.get("href")) == ("alternate", "https://news.example.com/")
        for entry in root.iter(f"{ATOM}entry"):
            first = entry.find(f"{ATOM}link")
            assert first.get("rel", "alternate") == "alternate", name


def test_category_feeds_name_their_category(golden_site: tuple[Path, dict[str, bytes]]) -> None:
    _, files = golden_site
    atom = parse_xml(files["c-sharp/atom.xml"])
    assert [c.get("term") for c in atom.findall(f"{ATOM}category")] == ["C#"]
    assert atom.findtext(f"{ATOM}title") == "张家港新闻 - C#"
    self_link = atom.find(f"{ATOM}link[@rel='self']").get("href")
    assert self_link == "https://news.example.com/feeds/c-sharp/atom.xml"
    rss = parse_xml(files["金融/rss.xml"])
    channel = rss.find("channel")
    assert [c.text for c in channel.findall("category")] == ["金融"]
    self_href = channel.find(f"{ATOM}link").get("href")
    assert self_href == "https://news.example.com/feeds/%E9%87%91%E8%9E%8D/rss.xml"
    assert {i.findtext("title") for i in channel.iter("item")} == {"港口新码头开工"}


def test_every_output_is_well_formed_with_required_elements(
    golden_site: tuple[Path, dict[str, bytes]],
) -> None:
    _, files = golden_site
    for name, data in files.items():
        if name.endswith(".json"):
            doc = json.loads(data)
            if name != MANIFEST:
                assert doc["version"] == "https://jsonfeed.org/version/1.1"
                assert all(i["id"] and "content_html" in i for i in doc["items"])
            continue
        root = parse_xml(data)  # the pages too: well-formed XML as well as HTML
        if name.endswith(".html"):
            assert data.startswith(b"<!DOCTYPE html>\n")
            continue
        if name.endswith(".xsl"):
            assert root.tag == "{http://www.w3.org/1999/XSL/Transform}stylesheet"
            continue
        assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n")
        if name.endswith("rss.xml"):
            channel = root.find("channel")
            for required in ("title", "link", "description", "lastBuildDate"):
                assert channel.findtext(required), (name, required)
            for item in channel.iter("item"):
                assert item.findtext("title") and item.findtext("guid")
                assert len(item.findall("enclosure")) <= 1
                assert len(item.findall("author")) <= 1
        elif name.endswith("atom.xml"):
            for required in ("id", "title", "updated", "author"):
                assert root.find(f"{ATOM}{required}") is not None, (name, required)
            for entry in root.iter(f"{ATOM}entry"):
                for required in ("id", "title", "updated"):
                    assert entry.findtext(f"{ATOM}{required}"), (name, required)


def test_json_feed_and_opml(golden_site: tuple[Path, dict[str, bytes]]) -> None:
    _, files = golden_site
    doc = json.loads(files["c-plus-plus/feed.json"])
    assert doc["feed_url"] == "https://news.example.com/feeds/c-plus-plus/feed.json"
    assert doc["title"] == "张家港新闻 - C++"
    [item] = doc["items"]
    assert item["content_html"] == "<p>Templates &amp; generics: <code>a &lt; b</code></p>\n"
    assert item["date_published"] == "2024-03-01T10:00:00Z"
    assert item["tags"] == ["C++", "C#", "C", "tech"]
    remote = json.loads(files["feed.json"])["items"][0]
    assert remote["attachments"][0] == {
        "url": "https://remote.example.org/launch.mp3",
        "mime_type": "audio/mpeg",
        "size_in_bytes": 1000,
    }

    opml = parse_xml(files["index.opml"])
    outlines = opml.findall("body/outline")
    feeds = [o.get("xmlUrl") for o in outlines]
    rss_files = sorted(n for n in files if n.endswith("rss.xml"))
    expected = sorted(f"https://news.example.com/feeds/{quote(n)}" for n in rss_files)
    assert sorted(feeds) == expected
    assert feeds[0] == "https://news.example.com/feeds/rss.xml"  # combined first
    assert all(o.get("type") == "rss" and o.get("htmlUrl") for o in outlines)


def test_remote_ids_that_are_not_iris_become_stable_uuid_urns(
    golden_site: tuple[Path, dict[str, bytes]], tmp_path: Path, http_server: Any
) -> None:
    # An Atom id must be an absolute IRI; an RSS guid like "urn:harbour" (no
    # namespace) is not, so Atom publishes a name-based UUID URN of it: the
    # same guid always gives the same URN, so readers never see a duplicate.
    _, files = golden_site
    everything = {e.link: e.id for e in feedparser.parse(files["atom.xml"]).entries}
    assert everything["https://wire.example/fees"].startswith("urn:uuid:")  # "urn:harbour"
    assert everything["https://wire.example/ships"] == "urn:isbn:0451450523"  # a valid URN
    assert len(set(everything.values())) == len(everything)
    # Another site, another server: the same guids, the same URNs.
    config = make_site(tmp_path / "other", {}, feeds=serve(http_server)[1:])
    build(config)
    again = feedparser.parse((tmp_path / "other" / "feeds" / "atom.xml").read_bytes())
    wire = {link: i for link, i in everything.items() if link.startswith("https://wire.example/")}
    assert {e.link: e.id for e in again.entries} == wire


# --------------------------------------------------------------------------- writing


def test_same_input_gives_identical_bytes_in_any_folder_order_and_time(tmp_path: Path) -> None:
    one = make_site(tmp_path / "one")
    two = make_site(tmp_path / "two", dict(reversed(POSTS.items())))
    build(one, now=NOW)
    build(two, now=NOW + timedelta(days=400))  # never the clock
    first, second = tree(tmp_path / "one" / "feeds"), tree(tmp_path / "two" / "feeds")
    assert first == second
    assert not any(str(tmp_path).encode() in data for data in first.values())
    # A build from scratch gives the same bytes again.
    shutil.rmtree(tmp_path / "one" / "feeds")
    shutil.rmtree(tmp_path / "one" / ".feedwright")
    build(one, now=NOW + timedelta(days=1))
    assert tree(tmp_path / "one" / "feeds") == first


def test_unchanged_build_rewrites_nothing(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    out = tmp_path / "site" / "feeds"
    first = build(config)
    assert first.publish.unchanged == [] and "atom.xml" in first.publish.written
    old = 1_000_000_000_000_000_000
    for path in out.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(old, old))
    # A new post in no feed's category but the combined feed's... then gone again.
    (tmp_path / "site" / "posts" / "new.md").write_text(
        "---\ntitle: New\ndate: 2024-03-01T11:00:00Z\n---\nNew.\n", encoding="utf-8"
    )
    combined = ["atom.xml", "feed.json", "index.html", "rss.xml"]
    second = build(config)
    assert sorted(second.publish.written) == combined
    (tmp_path / "site" / "posts" / "new.md").unlink()
    third = build(config)
    assert sorted(third.publish.written) == combined
    assert third.publish.removed == []
    # Every file is as the first build left it, and only the combined feed's were touched.
    assert all(
        (p.stat().st_mtime_ns == old) == (p.name not in combined)
        for p in out.iterdir()
        if p.is_file() and not p.name.startswith(".")
    )
    assert all(p.stat().st_mtime_ns == old for p in out.glob("*/*"))

    # One edited post rewrites only the feeds it is in.
    post = tmp_path / "site" / "posts" / "c.md"
    post.write_text(POSTS["c.md"].replace("Plain C", "Plain C, revised"), encoding="utf-8")
    fourth = build(config)
    assert sorted(fourth.publish.written) == [
        "atom.xml",
        "c/atom.xml",
        "c/feed.json",
        "c/index.html",
        "c/rss.xml",
        "feed.json",
        "index.html",
        "rss.xml",
    ]
    assert (out / "c-sharp" / "atom.xml").stat().st_mtime_ns == old


def test_stale_category_files_removed_but_not_other_files(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    out = tmp_path / "site" / "feeds"
    build(config)
    (out / "README.txt").write_text("mine")
    (out / "c-sharp" / "notes.txt").write_text("mine too")
    (out / "stray").mkdir()
    (out / "stray" / "atom.xml").write_text("not written by feedwright")

    (tmp_path / "site" / "posts" / "cpp.md").unlink()
    report = build(config)
    assert sorted(report.publish.removed) == [
        "c-plus-plus/atom.xml",
        "c-plus-plus/feed.json",
        "c-plus-plus/index.html",
        "c-plus-plus/rss.xml",
        "c-sharp/atom.xml",
        "c-sharp/feed.json",
        "c-sharp/index.html",
        "c-sharp/rss.xml",
    ]
    assert not (out / "c-plus-plus").exists()  # emptied folder removed
    assert (out / "c-sharp" / "notes.txt").read_text() == "mine too"  # folder kept for it
    assert (out / "README.txt").exists()
    assert (out / "stray" / "atom.xml").exists()
    manifest = json.loads((out / MANIFEST).read_text())
    assert "c-sharp/atom.xml" not in manifest["files"]
    assert "atom.xml" in manifest["files"]


def test_feed_xsl_is_published_only_beside_atom_or_rss(tmp_path: Path) -> None:
    # The stylesheet is for the XML feeds: JSON Feed has no <?xml-stylesheet?>.
    config = make_site(tmp_path / "site", formats="atom, json")
    out = tmp_path / "site" / "feeds"
    build(config)
    assert (out / "feed.xsl").is_file()
    text = config.read_text(encoding="utf-8").replace("[atom, json]", "[json]")
    config.write_text(text, encoding="utf-8")
    report = build(config)
    assert "feed.xsl" in report.publish.removed  # the one published before is tidied away
    assert not (out / "feed.xsl").exists()
    assert "feed.xsl" not in json.loads((out / MANIFEST).read_text())["files"]
    assert (out / "feed.json").is_file() and not (out / "atom.xml").exists()


def test_a_symlink_out_of_the_output_folder_is_never_written_through(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    out = tmp_path / "site" / "feeds"
    outside = tmp_path / "outside"
    outside.mkdir()
    out.mkdir()
    (out / "c").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PublishError) as info:
        feedwright.build(config, now=NOW)
    assert "outside the output folder" in str(info.value)
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == [".feedwright.lock", "c"]  # nothing else


def test_a_tampered_manifest_never_deletes_outside(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    out = tmp_path / "site" / "feeds"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (out / MANIFEST).write_text(json.dumps({"files": ["../../victim.txt", "/etc/passwd"]}))
    report = build(config)
    assert report.publish.removed == []
    assert victim.read_text() == "keep"


def test_the_output_folder_is_created(tmp_path: Path) -> None:
    config = make_site(
        tmp_path / "site", {"a.md": POSTS["c.md"]}, out="deep/er/feeds", formats="atom"
    )
    report = build(config)
    assert sorted(report.publish.written) == [
        "atom.xml",
        "c/atom.xml",
        "c/index.html",
        "feed.xsl",
        "index.html",
        "index.opml",
    ]
    assert (tmp_path / "site" / "deep" / "er" / "feeds" / "c" / "atom.xml").is_file()


# --------------------------------------------------------------------------- content rules


def test_xml_illegal_characters_are_stripped(tmp_path: Path) -> None:
    post = "---\ntitle: Bad\x1b title\ncategories: [Te\x1fch]\ndate: 2024-03-01\n---\nok\x0b\n"
    config = make_site(tmp_path / "site", {"nasty.md": post})
    report = build(config)
    assert report.publish.stripped_chars >= 3
    out = tmp_path / "site" / "feeds"
    for name, data in tree(out).items():
        if name.endswith((".xml", ".opml")):
            parse_xml(data)
    parsed = feedparser.parse((out / "atom.xml").read_bytes())
    assert parsed.entries[0].title == "Bad title"
    assert (out / "tech" / "rss.xml").exists()


def post(n: int, categories: str, **fields: str) -> str:
    meta = {"title": f"Post {n}", "date": f"2024-03-01T{n:02d}:00:00Z", **fields}
    head = "".join(f"{k}: {v}\n" for k, v in meta.items())
    return f"---\n{head}categories: [{categories}]\n---\nBody {n}.\n"


def test_limit_ordering_and_feed_updated(tmp_path: Path) -> None:
    posts = {
        "p3.md": post(3, "X"),
        "p1.md": post(1, "X", updated="2024-03-03T02:00:00Z"),  # old post, edited late
        "p2.md": post(2, "Y"),
        "p3b.md": post(3, "X", title="Post 3b"),  # same time as post 3: the id breaks the tie
    }
    config = make_site(tmp_path / "site", posts, output="limit: 3")
    report = build(config)
    out = tmp_path / "site" / "feeds"
    titles = [e.title for e in feedparser.parse((out / "atom.xml").read_bytes()).entries]
    assert titles == ["Post 3", "Post 3b", "Post 2"]
    del report
    combined = feedparser.parse((out / "atom.xml").read_bytes()).feed
    assert combined.updated == "2024-03-01T03:00:00Z"  # newest published entry
    x = feedparser.parse((out / "x" / "atom.xml").read_bytes()).feed
    assert x.updated == "2024-03-03T02:00:00Z"
    x_feed = feedparser.parse((out / "x" / "atom.xml").read_bytes())
    assert [e.title for e in x_feed.entries] == ["Post 3", "Post 3b", "Post 1"]
    assert x_feed.feed.updated == "2024-03-03T02:00:00Z"
    rss = parse_xml((out / "y" / "rss.xml").read_bytes())
    assert rss.find("channel").findtext("lastBuildDate") == "Fri, 01 Mar 2024 02:00:00 +0000"

    unlimited = make_site(tmp_path / "all", posts, output="limit: 0")
    build(unlimited)
    assert (
        len(feedparser.parse((tmp_path / "all" / "feeds" / "atom.xml").read_bytes()).entries) == 4
    )


def test_an_empty_category_feed_has_a_fixed_date(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site", {}, output="categories: [Later]")
    report = build(config)
    _combined, later = report.publish.feeds
    assert later.slug == "later" and later.entries == ()
    out = tmp_path / "site" / "feeds"
    rss = parse_xml((out / "later" / "rss.xml").read_bytes())
    assert rss.find("channel").findtext("lastBuildDate") == "Sat, 01 Jan 2000 00:00:00 +0000"
    atom = parse_xml((out / "atom.xml").read_bytes())
    assert atom.findtext(f"{ATOM}updated") == "2000-01-01T00:00:00Z"


def test_categories_filter_and_case_insensitive_matching(tmp_path: Path) -> None:
    posts = {
        "p1.md": post(1, "Tech"),
        "p2.md": post(2, "tech, Sport"),
        "p3.md": post(3, "ＴＥＣＨ"),
        "p4.md": post(4, "Other"),
    }
    config = make_site(tmp_path / "site", posts, output="categories: [TECH, Missing]")
    report = build(config)
    assert [(f.slug, f.category, len(f.entries)) for f in report.publish.feeds] == [
        (None, None, 4),
        ("missing", "Missing", 0),
        ("tech", "Tech", 3),  # display name: spelling of the oldest entry
    ]
    out = tmp_path / "site" / "feeds"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["missing", "tech"]


def test_rename_gives_explicit_slugs(tmp_path: Path) -> None:
    posts = {"p1.md": post(1, "金融"), "p2.md": post(2, "Tech"), "p3.md": post(3, "Finance")}
    config = make_site(tmp_path / "site", posts, output="rename: {金融: finance, TECH: technology}")
    report = build(config)
    slugs = {f.category: f.slug for f in report.publish.feeds}
    assert slugs["金融"] == "finance"
    assert slugs["Tech"] == "technology"
    assert slugs["Finance"].startswith("finance-")  # the explicit name wins the clash
    assert (tmp_path / "site" / "feeds" / "finance" / "atom.xml").exists()


def test_summary_mode_publishes_no_full_content(tmp_path: Path) -> None:
    long_text = "word " * 200
    posts = {
        "p1.md": post(1, "A").replace("Body 1.", f"{long_text}"),
        "p2.md": post(2, "A", summary="Short.").replace("Body 2.", "Long body."),
    }
    config = make_site(tmp_path / "site", posts, output="content: summary")
    build(config)
    out = tmp_path / "site" / "feeds"
    atom, rss = (out / "atom.xml").read_bytes(), (out / "rss.xml").read_bytes()
    for data in (atom, rss):
        second, first = feedparser.parse(data).entries
        assert "content" not in first and "content" not in second
        assert second.summary == "<p>Short.</p>"
        assert first.summary.endswith("…") and len(first.summary) < 300
    assert b"Long body" not in atom + rss
    items = json.loads((out / "feed.json").read_bytes())["items"]
    assert items[0]["content_html"] == "<p>Short.</p>\n"


def test_duplicate_ids_publish_once(tmp_path: Path) -> None:
    posts = {"a.md": post(1, "A", id="same"), "b.md": post(2, "A", id="same")}
    config = make_site(tmp_path / "site", posts)
    feedwright.build(config, now=NOW)  # the duplicate is reported
    entries = feedparser.parse((tmp_path / "site" / "feeds" / "atom.xml").read_bytes()).entries
    assert len(entries) == 1


def test_urls_are_percent_encoded(tmp_path: Path) -> None:
    posts = {"文章.md": post(1, "A", link="https://news.example.com/文章/一/")}
    config = make_site(tmp_path / "site", posts, url="https://新闻.example.com/站点/", out="源")
    build(config)
    rss = parse_xml((tmp_path / "site" / "源" / "rss.xml").read_bytes())
    channel = rss.find("channel")
    host = "新闻.example.com".encode("idna").decode()
    assert channel.findtext("link") == f"https://{host}/%E7%AB%99%E7%82%B9/"
    self_href = channel.find(f"{ATOM}link").get("href")
    assert self_href == f"https://{host}/%E7%AB%99%E7%82%B9/%E6%BA%90/rss.xml"
    item = channel.find("item")
    assert item.findtext("link") == "https://news.example.com/%E6%96%87%E7%AB%A0/%E4%B8%80/"


def test_cli_build_reports_the_files_written(tmp_path: Path, capsys: Any) -> None:
    from feedwright.cli import main

    config = make_site(tmp_path / "site", {"a.md": post(1, "A")}, formats="rss")
    assert main(["build", "-c", str(config), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] == [
        "a/index.html",
        "a/rss.xml",
        "feed.xsl",
        "index.html",
        "index.opml",
        "rss.xml",
    ]
    assert summary["stripped_chars"] == 0
    assert main(["build", "-c", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] == []
