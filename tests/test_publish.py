"""Publishing: real files in tmp folders, read back with feedparser and lxml.

The golden test compares a whole published folder byte for byte with
``tests/data/golden/feeds/``. After an intended change to the output,
regenerate it and review the diff::

    FEEDWRIGHT_REGEN=1 PYTHONPATH=src pytest tests/test_publish.py -k golden
"""

from __future__ import annotations

import html
import json
import os
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import pytest
from lxml import etree

from feedwright.config import Config, Output, Site
from feedwright.exceptions import PublishError
from feedwright.model import Body, Enclosure, Entry, Person, Provenance
from feedwright.publish import PublishReport, publish, render_outputs
from feedwright.publish import write as write_module
from feedwright.publish.plan import EPOCH, MANIFEST_NAME

GOLDEN = Path(__file__).parent / "data" / "golden" / "feeds"
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
SITE = Site(
    title="张家港新闻",
    url="https://news.example.com/",
    description="本地新闻 and notes",
    author=Person("编辑部", "desk@example.com"),
    language="zh-CN",
)


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def make_config(out: Path, site: Site = SITE, **output: Any) -> Config:
    output.setdefault("formats", ("atom", "rss", "json"))
    return Config(path=out.parent / "config.yaml", site=site, output=Output(dir=out, **output))


def entry(n: int, *categories: str, **fields: Any) -> Entry:
    base: dict[str, Any] = {
        "id": f"https://news.example.com/posts/{n}/",
        "title": f"Post {n}",
        "published": at(n),
        "updated": at(n),
        "link": f"https://news.example.com/posts/{n}/",
        "categories": categories,
        "content": f"<p>Body {n}</p>",
    }
    base.update(fields)
    return Entry(**base)


def sample_entries() -> list[Entry]:
    """The golden set: Chinese and English, awkward categories, every field used."""
    return [
        Entry(
            id="https://news.example.com/2024/03/01/dock/",
            title="港口新码头开工",
            published=at(0),
            updated=at(5),
            link="https://news.example.com/2024/03/01/dock/",
            authors=(Person("王记者"),),
            categories=("金融", "Tech"),
            tags=("港口",),
            summary="<p>新码头今天开工。</p>",
            content='<p>新码头今天开工。</p><p><img src="https://news.example.com/img/dock.jpg" '
            'alt="码头"></p>',
            enclosures=(Enclosure("https://news.example.com/img/dock.jpg", "image/jpeg", 2048),),
        ),
        Entry(
            id="https://news.example.com/posts/cpp/",
            title="C++ & C# <compared>",
            published=at(2),
            updated=at(2),
            link="https://news.example.com/posts/cpp/",
            authors=(Person("Ann Lee", "ann@example.com", "https://ann.example.com/"),),
            categories=("C++", "C#", "C", "tech"),
            content="<p>Templates &amp; generics: <code>a &lt; b</code></p>",
        ),
        Entry(
            id="tag:remote.example.org,2024:42",
            title="Rocket launch 🚀",
            published=at(3),
            updated=at(4),
            link="https://remote.example.org/launch",
            categories=("🚀", "../etc"),
            content='<p>Lift-off. <a href="https://remote.example.org/video">Video</a></p>',
            enclosures=(
                Enclosure("https://remote.example.org/launch.mp3", "audio/mpeg", 1000),
                Enclosure("https://remote.example.org/poster.png", "image/png"),
            ),
            source=Provenance(
                url="https://remote.example.org/feed.xml",
                title="Remote Space",
                link="https://remote.example.org/",
                id="urn:uuid:60a76c80-d399-11d9-b91C-0003939e0af6",
            ),
            language="en",
        ),
        Entry(
            id="https://news.example.com/posts/c/",
            title="Plain C",
            published=at(1),
            updated=at(1),
            link="https://news.example.com/posts/c/",
            authors=(Person("Bob"), Person("Cy", "cy@example.com")),
            categories=("C",),
            tags=("systems", "C"),
            content="<p>Pointers.</p>",
        ),
    ]


def fake_render(entry: Entry) -> Entry:
    """Stands in for normalize.render: body text -> escaped paragraph."""
    assert entry.body is not None
    return replace(entry, body=None, content=f"<p>{html.escape(entry.body.text)}</p>")


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def parse_xml(data: bytes) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(data, parser)


# --------------------------------------------------------------------------- golden


def test_golden_output(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    publish(sample_entries(), make_config(out))
    produced = tree(out)
    if os.environ.get("FEEDWRIGHT_REGEN") == "1":
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(out, GOLDEN)
    expected = tree(GOLDEN)
    assert sorted(produced) == sorted(expected)
    for name, data in produced.items():
        assert data == expected[name], f"{name} differs from the golden file"


def test_golden_layout_names_every_category_safely(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    report = publish(sample_entries(), make_config(out))
    slugs = {f.category: f.slug for f in report.feeds}
    assert slugs[None] is None
    assert slugs["C++"] == "c-plus-plus"
    assert slugs["C#"] == "c-sharp"
    assert slugs["C"] == "c"
    assert slugs["金融"] == "金融"
    assert slugs["../etc"] == "etc"
    assert slugs["🚀"] == "rocket"
    # Tech and tech are one category, one feed.
    assert [c for c in slugs if c and c.casefold() == "tech"] == ["Tech"]
    for slug in filter(None, slugs.values()):
        assert (out / slug).resolve().parent == out.resolve()
        assert {p.name for p in (out / slug).iterdir()} == {"atom.xml", "rss.xml", "feed.json"}


# --------------------------------------------------------------------------- round trips


def test_atom_round_trips_through_feedparser(tmp_path: Path) -> None:
    files = render_outputs(sample_entries(), make_config(tmp_path / "feeds"))
    parsed = feedparser.parse(files["atom.xml"])
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "张家港新闻"
    assert parsed.feed.id == "https://news.example.com/feeds/atom.xml"
    assert parsed.feed.updated_parsed[:5] == (2024, 3, 1, 13, 0)  # newest change: dock at +5h
    by_id = {e.id: e for e in parsed.entries}
    assert [e.id for e in parsed.entries] == [
        "tag:remote.example.org,2024:42",
        "https://news.example.com/posts/cpp/",
        "https://news.example.com/posts/c/",
        "https://news.example.com/2024/03/01/dock/",
    ]
    cpp = by_id["https://news.example.com/posts/cpp/"]
    assert cpp.title == "C++ & C# <compared>"
    assert cpp.content[0].value == "<p>Templates &amp; generics: <code>a &lt; b</code></p>"
    assert cpp.content[0].type == "text/html"
    assert [t.term for t in cpp.tags] == ["C++", "C#", "C", "tech"]
    assert cpp.author_detail == {
        "name": "Ann Lee",
        "email": "ann@example.com",
        "href": "https://ann.example.com/",
    }
    dock = by_id["https://news.example.com/2024/03/01/dock/"]
    assert dock.summary == "<p>新码头今天开工。</p>"
    assert dock.published_parsed[:4] == (2024, 3, 1, 8)
    assert dock.updated_parsed[:4] == (2024, 3, 1, 13)
    assert [(e.href, e.type, e.length) for e in dock.enclosures] == [
        ("https://news.example.com/img/dock.jpg", "image/jpeg", "2048")
    ]
    assert dock.media_thumbnail == [{"url": "https://news.example.com/img/dock.jpg"}]
    remote = by_id["tag:remote.example.org,2024:42"]
    assert len(remote.enclosures) == 2  # Atom keeps every enclosure
    assert remote.source.title == "Remote Space"
    assert remote.source.id == "urn:uuid:60a76c80-d399-11d9-b91C-0003939e0af6"
    assert remote.link == "https://remote.example.org/launch"


def test_rss_round_trips_through_feedparser(tmp_path: Path) -> None:
    files = render_outputs(sample_entries(), make_config(tmp_path / "feeds"))
    parsed = feedparser.parse(files["rss.xml"])
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.link == "https://news.example.com/"
    assert parsed.feed.subtitle == "本地新闻 and notes"
    by_id = {e.id: e for e in parsed.entries}
    cpp = by_id["https://news.example.com/posts/cpp/"]
    assert cpp.title == "C++ & C# <compared>"
    assert cpp.content[0].value == "<p>Templates &amp; generics: <code>a &lt; b</code></p>"
    assert cpp.author == "ann@example.com (Ann Lee)"
    assert cpp.published_parsed[:4] == (2024, 3, 1, 10)
    dock = by_id["https://news.example.com/2024/03/01/dock/"]
    assert dock.summary == "<p>新码头今天开工。</p>"  # description = summary
    assert dock.content[0].value.startswith("<p>新码头今天开工。</p><p><img")  # full content
    assert dock.author == "王记者"  # no e-mail: dc:creator
    remote = by_id["tag:remote.example.org,2024:42"]
    assert remote.guidislink is False
    assert [(e.href, e.type) for e in remote.enclosures] == [
        ("https://remote.example.org/launch.mp3", "audio/mpeg")
    ]  # RSS: the first enclosure only
    assert remote.source == {"href": "https://remote.example.org/feed.xml", "title": "Remote Space"}
    plain_c = by_id["https://news.example.com/posts/c/"]
    assert [t.term for t in plain_c.tags] == ["C", "systems"]
    root = parse_xml(files["rss.xml"])
    permalinks = {g.text: g.get("isPermaLink") for g in root.iter("guid")}
    assert permalinks["https://news.example.com/posts/cpp/"] == "true"  # id is the link
    assert permalinks["tag:remote.example.org,2024:42"] == "false"
    item = next(i for i in root.iter("item") if i.findtext("guid").endswith("/posts/c/"))
    assert item.find("author") is None  # two authors: dc:creator for each, never both forms
    creators = [c.text for c in item.iter("{http://purl.org/dc/elements/1.1/}creator")]
    assert creators == ["Bob", "Cy"]


def test_category_feeds_name_their_category(tmp_path: Path) -> None:
    files = render_outputs(sample_entries(), make_config(tmp_path / "feeds"))
    atom = parse_xml(files["c-sharp/atom.xml"])
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert [c.get("term") for c in atom.findall("a:category", ns)] == ["C#"]
    assert atom.findtext("a:title", namespaces=ns) == "张家港新闻 - C#"
    self_link = atom.find("a:link[@rel='self']", ns).get("href")
    assert self_link == "https://news.example.com/feeds/c-sharp/atom.xml"
    rss = parse_xml(files["金融/rss.xml"])
    channel = rss.find("channel")
    assert [c.text for c in channel.findall("category")] == ["金融"]
    self_href = channel.find("{http://www.w3.org/2005/Atom}link").get("href")
    assert self_href == "https://news.example.com/feeds/%E9%87%91%E8%9E%8D/rss.xml"
    assert {i.findtext("title") for i in channel.iter("item")} == {"港口新码头开工"}


def test_every_output_is_well_formed_and_rss_has_required_channel_elements(tmp_path: Path) -> None:
    files = render_outputs(sample_entries(), make_config(tmp_path / "feeds"))
    for name, data in files.items():
        if name.endswith(".json"):
            doc = json.loads(data)
            assert doc["version"] == "https://jsonfeed.org/version/1.1"
            assert all(i["id"] and "content_html" in i for i in doc["items"])
            continue
        root = parse_xml(data)
        if name.endswith("rss.xml"):
            channel = root.find("channel")
            for required in ("title", "link", "description"):
                assert channel.findtext(required), (name, required)
            for item in channel.iter("item"):
                assert len(item.findall("enclosure")) <= 1
                assert len(item.findall("author")) <= 1


def test_json_feed_and_opml(tmp_path: Path) -> None:
    files = render_outputs(sample_entries(), make_config(tmp_path / "feeds"))
    doc = json.loads(files["c-plus-plus/feed.json"])
    assert doc["feed_url"] == "https://news.example.com/feeds/c-plus-plus/feed.json"
    assert doc["title"] == "张家港新闻 - C++"
    [item] = doc["items"]
    assert item["content_html"] == "<p>Templates &amp; generics: <code>a &lt; b</code></p>"
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


# --------------------------------------------------------------------------- writing


def test_same_input_gives_identical_bytes_in_any_folder_and_order(tmp_path: Path) -> None:
    entries = sample_entries()
    publish(entries, make_config(tmp_path / "one" / "feeds"))
    publish(list(reversed(entries)), make_config(tmp_path / "two" / "feeds"))
    first, second = tree(tmp_path / "one" / "feeds"), tree(tmp_path / "two" / "feeds")
    assert first == second
    assert not any(str(tmp_path).encode() in data for data in first.values())


def test_unchanged_build_rewrites_nothing(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    config = make_config(out)
    first = publish(sample_entries(), config)
    assert first.unchanged == [] and "atom.xml" in first.written
    old = 1_000_000_000_000_000_000
    for path in out.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(old, old))
    second = publish(sample_entries(), config)
    assert second.written == [] and second.removed == []
    assert sorted(second.unchanged) == sorted(first.written)
    assert all(p.stat().st_mtime_ns == old for p in out.rglob("*") if p.is_file())

    # One changed entry rewrites only the feeds it is in.
    changed = [
        replace(e, title="Plain C, revised", updated=at(9)) if e.id.endswith("/c/") else e
        for e in sample_entries()
    ]
    third = publish(changed, config)
    assert sorted(third.written) == [
        "atom.xml",
        "c/atom.xml",
        "c/feed.json",
        "c/rss.xml",
        "feed.json",
        "rss.xml",
    ]
    assert (out / "c-sharp" / "atom.xml").stat().st_mtime_ns == old


def test_stale_category_files_removed_but_not_other_files(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    config = make_config(out)
    publish(sample_entries(), config)
    (out / "README.txt").write_text("mine")
    (out / "c-sharp" / "notes.txt").write_text("mine too")
    (out / "stray").mkdir()
    (out / "stray" / "atom.xml").write_text("not written by feedwright")

    without_cpp = [e for e in sample_entries() if "C#" not in e.categories]
    report = publish(without_cpp, config)
    assert sorted(report.removed) == [
        "c-plus-plus/atom.xml",
        "c-plus-plus/feed.json",
        "c-plus-plus/rss.xml",
        "c-sharp/atom.xml",
        "c-sharp/feed.json",
        "c-sharp/rss.xml",
    ]
    assert not (out / "c-plus-plus").exists()  # emptied folder removed
    assert (out / "c-sharp" / "notes.txt").read_text() == "mine too"  # folder kept for it
    assert (out / "README.txt").exists()
    assert (out / "stray" / "atom.xml").exists()
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert "c-sharp/atom.xml" not in manifest["files"]
    assert "atom.xml" in manifest["files"]


def test_failed_replace_keeps_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "feeds"
    config = make_config(out)
    publish(sample_entries(), config)
    before = tree(out)

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write_module.os, "replace", broken_replace)
    changed = [replace(e, title=e.title + "!") for e in sample_entries()]
    with pytest.raises(PublishError) as info:
        publish(changed, config)
    assert "atom.xml" in info.value.path
    assert "No space left" in str(info.value)
    assert tree(out) == before
    assert [p for p in out.rglob("*") if p.name.endswith(".tmp")] == []


def test_render_failure_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    config = make_config(out)
    publish(sample_entries(), config)
    before = tree(out)

    def exploding(entry: Entry) -> Entry:
        raise RuntimeError("markdown blew up")

    unrendered = entry(7, "C", content=None, body=Body("*hi*", "markdown", "https://x/"))
    with pytest.raises(RuntimeError):
        publish([*sample_entries(), unrendered], config, render=exploding)
    assert tree(out) == before


def test_atomic_write_temp_file_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        seen.append(Path(src).name)
        real_replace(src, dst)

    monkeypatch.setattr(write_module.os, "replace", spy)
    write_module.atomic_write(tmp_path / "atom.xml", b"<x/>")
    assert (tmp_path / "atom.xml").read_bytes() == b"<x/>"
    assert seen and all(n.startswith(".") and n.endswith(".tmp") for n in seen)
    assert (tmp_path / "atom.xml").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("bad", ["../x.xml", "/etc/x.xml", "a/../../x.xml", "a\\b.xml", "", "./x"])
def test_write_refuses_paths_outside_output(tmp_path: Path, bad: str) -> None:
    with pytest.raises(PublishError):
        write_module.write_outputs(tmp_path / "feeds", {bad: b"x"})
    assert not (tmp_path / "x.xml").exists()


def test_write_refuses_symlink_escaping_output(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    outside = tmp_path / "outside"
    outside.mkdir()
    out.mkdir()
    (out / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PublishError):
        write_module.write_outputs(out, {"evil/atom.xml": b"x"})
    assert list(outside.iterdir()) == []


def test_tampered_manifest_never_deletes_outside(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (out / MANIFEST_NAME).write_text(json.dumps({"files": ["../victim.txt", "/etc/passwd"]}))
    result = write_module.write_outputs(out, {"atom.xml": b"<feed/>"})
    assert result.removed == []
    assert victim.read_text() == "keep"


def test_output_dir_is_created(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "er" / "feeds"
    report = publish([entry(1, "News")], make_config(out, formats=("atom",)))
    assert sorted(report.written) == ["atom.xml", "index.opml", "news/atom.xml"]
    assert (out / "news" / "atom.xml").is_file()


# --------------------------------------------------------------------------- content rules


def test_xml_illegal_characters_are_stripped_and_counted(tmp_path: Path) -> None:
    nasty = entry(
        1,
        "Te\x1bch",
        title="Bad\x00 title\x1b here",
        content="<p>ok\x0b</p>",
        authors=(Person("N\x07ame"),),
    )
    site = replace(SITE, title="Site\x1f")
    out = tmp_path / "feeds"
    report = publish([nasty], make_config(out, site=site))
    # title 2, content 1, author 1, entry category 1, site title 1
    assert report.stripped_chars == 6
    for name, data in tree(out).items():
        if name.endswith(".xml"):
            parse_xml(data)
    parsed = feedparser.parse((out / "atom.xml").read_bytes())
    assert parsed.entries[0].title == "Bad title here"
    assert parsed.feed.title == "Site"
    assert (out / "tech" / "rss.xml").exists()


def test_unrendered_entries_render_once_and_only_when_published(tmp_path: Path) -> None:
    calls: list[str] = []

    def counting(e: Entry) -> Entry:
        calls.append(e.id)
        return fake_render(e)

    def post(n: int) -> Entry:
        return entry(
            n, "A", "B", "C", content=None, body=Body(f"text {n} <&>", "markdown", "https://x/")
        )

    files = render_outputs(
        [post(n) for n in range(1, 6)], make_config(tmp_path / "feeds", limit=2), render=counting
    )
    assert sorted(calls) == [post(4).id, post(5).id]  # in 4 feeds each, rendered once
    parsed = feedparser.parse(files["b/atom.xml"])
    assert [e.content[0].value for e in parsed.entries] == [
        "<p>text 5 &lt;&amp;&gt;</p>",
        "<p>text 4 &lt;&amp;&gt;</p>",
    ]


def test_default_render_is_normalize_render(tmp_path: Path) -> None:
    post = entry(
        1,
        "A",
        content=None,
        body=Body(
            "Intro\n\n<!-- more -->\n\n**Bold** [rel](img/x.png)",
            "markdown",
            "https://s.example/p/",
        ),
    )
    files = render_outputs([post], make_config(tmp_path / "feeds"))
    [parsed] = feedparser.parse(files["atom.xml"]).entries
    assert "<strong>Bold</strong>" in parsed.content[0].value
    assert 'href="https://s.example/p/img/x.png"' in parsed.content[0].value
    assert parsed.summary == "<p>Intro</p>"


def test_limit_ordering_and_feed_updated(tmp_path: Path) -> None:
    entries = [
        entry(3, "X"),
        entry(1, "X", updated=at(50)),  # old post, edited late
        entry(2, "Y"),
        # same time as post 3: the id breaks the tie
        entry(4, "X", published=at(3), updated=at(3), id="https://news.example.com/posts/3b/"),
    ]
    config = make_config(tmp_path / "feeds", limit=3)
    report = publish(entries, config)
    combined, x, _y = report.feeds
    assert [e.id for e in combined.entries] == [
        "https://news.example.com/posts/3/",
        "https://news.example.com/posts/3b/",
        "https://news.example.com/posts/2/",
    ]
    assert combined.updated == at(3)  # newest entry among those published
    assert [e.id for e in x.entries] == [
        "https://news.example.com/posts/3/",
        "https://news.example.com/posts/3b/",
        "https://news.example.com/posts/1/",
    ]
    assert x.updated == at(50)
    parsed = feedparser.parse((tmp_path / "feeds" / "x" / "atom.xml").read_bytes())
    assert parsed.feed.updated_parsed[:4] == (2024, 3, 3, 10)
    rss = parse_xml((tmp_path / "feeds" / "y" / "rss.xml").read_bytes())
    assert rss.find("channel").findtext("lastBuildDate") == "Fri, 01 Mar 2024 10:00:00 +0000"

    unlimited = render_outputs(entries, make_config(tmp_path / "feeds2", limit=0))
    assert len(feedparser.parse(unlimited["atom.xml"]).entries) == 4


def test_empty_feed_uses_fixed_epoch(tmp_path: Path) -> None:
    report = publish([], make_config(tmp_path / "feeds", categories=("Later",)))
    combined, later = report.feeds
    assert combined.updated == later.updated == EPOCH
    assert later.slug == "later" and later.entries == ()
    rss = parse_xml((tmp_path / "feeds" / "later" / "rss.xml").read_bytes())
    assert rss.find("channel").findtext("lastBuildDate") == "Sat, 01 Jan 2000 00:00:00 +0000"


def test_categories_filter_and_case_insensitive_matching(tmp_path: Path) -> None:
    entries = [entry(1, "Tech"), entry(2, "tech", "Sport"), entry(3, "ＴＥＣＨ"), entry(4, "Other")]
    report = publish(entries, make_config(tmp_path / "feeds", categories=("TECH", "Missing")))
    assert [(f.slug, f.category, len(f.entries)) for f in report.feeds] == [
        (None, None, 4),
        ("missing", "Missing", 0),
        ("tech", "Tech", 3),  # display name: spelling of the oldest entry
    ]
    assert not (tmp_path / "feeds" / "sport").exists()


def test_rename_gives_explicit_slugs(tmp_path: Path) -> None:
    entries = [entry(1, "金融"), entry(2, "Tech"), entry(3, "Finance")]
    output = {"rename": {"金融": "finance", "TECH": "technology"}}
    report = publish(entries, make_config(tmp_path / "feeds", **output))
    slugs = {f.category: f.slug for f in report.feeds}
    assert slugs["金融"] == "finance"
    assert slugs["Tech"] == "technology"
    assert slugs["Finance"].startswith("finance-")  # the explicit name wins the clash
    assert (tmp_path / "feeds" / "finance" / "atom.xml").exists()


def test_summary_mode_publishes_no_full_content(tmp_path: Path) -> None:
    long_text = "word " * 200
    entries = [
        entry(1, "A", summary="<p>Short.</p>", content="<p>Long body.</p>"),
        entry(2, "A", content=f"<p>{long_text}</p>"),
    ]
    files = render_outputs(entries, make_config(tmp_path / "feeds", content="summary"))
    atom = feedparser.parse(files["atom.xml"])
    rss = feedparser.parse(files["rss.xml"])
    for parsed in (atom, rss):
        first, second = parsed.entries
        assert "content" not in first and "content" not in second
        assert second.summary == "<p>Short.</p>"
        assert first.summary.endswith("…") and len(first.summary) < 300
    assert b"Long body" not in files["atom.xml"] + files["rss.xml"]
    assert json.loads(files["feed.json"])["items"][1]["content_html"] == "<p>Short.</p>"


def test_duplicate_ids_publish_once(tmp_path: Path) -> None:
    first = entry(1, "A", title="first")
    again = replace(first, title="second copy")
    report = publish([first, again], make_config(tmp_path / "feeds"))
    assert [e.title for e in report.feeds[0].entries] == ["first"]


def test_url_with_non_ascii_is_percent_encoded(tmp_path: Path) -> None:
    site = replace(SITE, url="https://新闻.example.com/站点/")
    e = entry(
        1, "A", link="https://news.example.com/文章/一/", id="https://news.example.com/文章/一/"
    )
    files = render_outputs([e], make_config(tmp_path / "源", site=site))
    rss = parse_xml(files["rss.xml"])
    channel = rss.find("channel")
    host = "新闻.example.com".encode("idna").decode()
    assert channel.findtext("link") == f"https://{host}/%E7%AB%99%E7%82%B9/"
    self_href = channel.find("{http://www.w3.org/2005/Atom}link").get("href")
    assert self_href.endswith("/%E6%BA%90/rss.xml")
    item = channel.find("item")
    assert item.findtext("link") == "https://news.example.com/%E6%96%87%E7%AB%A0/%E4%B8%80/"
    assert all(ord(c) < 128 for c in self_href)


def test_report_type(tmp_path: Path) -> None:
    report = publish([entry(1)], make_config(tmp_path / "feeds", formats=("rss",)))
    assert isinstance(report, PublishReport)
    assert report.written == ["index.opml", "rss.xml"]
    assert report.stripped_chars == 0
