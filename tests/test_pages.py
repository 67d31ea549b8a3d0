"""Feeds that read as pages: the XSLT stylesheet every Atom and RSS file names
(applied here with lxml's XSLT 1.0, as browsers do) and the plain ``index.html``
beside each feed; both through ``feedwright.build`` on real files.

The same pages in a real browser: ``tests/test_browser.py``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urljoin

import feedparser
import pytest
from lxml import etree, html

import feedwright

NOW = datetime(2024, 5, 1, tzinfo=UTC)
SITE = "https://news.example.com/"
XSL_PI = re.compile(rb'^<\?xml-stylesheet type="text/xsl" href="([^"]+)"\?>$', re.M)

POSTS = {
    "dock.md": """\
---
title: 港口新码头开工
date: 2024-03-01T08:00:00Z
categories: [金融, Tech]
summary: "<p>新码头<b>今天</b>开工 &amp; 庆祝。</p>"
---
新码头今天开工。
""",
    "cpp.md": """\
---
title: "C++ & C# <compared>"
date: 2024-03-02T10:00:00Z
categories: [C++, Tech]
---
Templates &amp; generics: `a < b`, <em>fast</em>.

A second paragraph that is long enough to be cut short in the excerpt of the page. """
    + "Words " * 80
    + "\n",
    "plain.md": "---\ntitle: Plain\ndate: 2024-03-03\n---\nNo category at all.\n",
}


def make_site(root: Path, output: str = "") -> Path:
    (root / "posts").mkdir(parents=True, exist_ok=True)
    for name, text in POSTS.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")
    config = root / "config.yaml"
    config.write_text(
        f"site:\n  title: 张家港新闻\n  url: {SITE}\n  description: 本地新闻 and notes\n"
        "  language: zh-CN\nsources:\n  - posts: posts\n"
        f"output:\n  dir: feeds\n  formats: [atom, rss, json]\n{output}",
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pages")
    report = feedwright.build(make_site(root), now=NOW)
    assert not report.problems
    return root / "feeds"


def xml_files(out: Path) -> list[Path]:
    return sorted([*out.rglob("atom.xml"), *out.rglob("rss.xml")])


def transform(out: Path, feed: Path) -> html.HtmlElement:
    """The feed as a browser that applies XSLT shows it: through the stylesheet
    its processing instruction names."""
    found = XSL_PI.search(feed.read_bytes())
    assert found, feed
    sheet = (feed.parent / found.group(1).decode()).resolve()
    assert sheet == (out / "feed.xsl").resolve()
    xslt = etree.XSLT(etree.parse(str(sheet)))
    result = xslt(etree.parse(str(feed)))
    assert not xslt.error_log, xslt.error_log
    page = html.fromstring(str(result))
    assert isinstance(page, html.HtmlElement)
    return page


def text(node: html.HtmlElement) -> str:
    return " ".join(node.text_content().split())


# --------------------------------------------------------------------------- the stylesheet


def test_every_atom_and_rss_file_names_the_stylesheet_first(site: Path) -> None:
    for feed in xml_files(site):
        lines = feed.read_bytes().split(b"\n", 2)
        assert lines[0] == b"<?xml version='1.0' encoding='UTF-8'?>"
        depth = len(feed.relative_to(site).parts) - 1
        assert (
            lines[1]
            == f'<?xml-stylesheet type="text/xsl" href="{"../" * depth}feed.xsl"?>'.encode()
        )
    assert b"xml-stylesheet" not in (site / "feed.json").read_bytes()


def test_the_stylesheet_shows_each_feed_as_a_page(site: Path) -> None:
    for feed in xml_files(site):
        page = transform(site, feed)
        parsed = feedparser.parse(feed.read_bytes())
        assert page.findtext(".//title") == parsed.feed.title
        assert page.findtext(".//h1") == parsed.feed.title
        assert page.get("lang") == "zh-CN"
        note = text(page.xpath(".//*[@class='note']")[0])
        assert "This is a web feed" in note and "feed reader" in note
        self_url = f"{SITE}feeds/{feed.relative_to(site).as_posix()}"
        assert unquote(page.findtext(".//code")) == self_url
        # The other formats and the page beside it, relative to the feed.
        links = [a.get("href") for a in page.xpath(".//ul[@class='formats']//a")]
        assert links == ["atom.xml", "rss.xml", "feed.json", "index.html"]
        for href in links:
            assert (feed.parent / href).is_file()
        # Entries: titles linking to the posts, dates, summaries as plain text.
        articles = page.xpath(".//article")
        assert [text(a.xpath(".//h2")[0]) for a in articles] == [e.title for e in parsed.entries]
        assert [a.xpath(".//h2//a")[0].get("href") for a in articles] == [
            e.link for e in parsed.entries
        ]
        for article in articles:
            assert re.fullmatch(
                r"\d{4}-\d\d-\d\d|\d\d [A-Z][a-z]{2} \d{4}", text(article.xpath(".//time")[0])
            )


def test_summaries_are_shown_as_text_without_markup(site: Path) -> None:
    for name in ("atom.xml", "rss.xml"):
        page = transform(site, site / name)
        summaries = {
            text(a.xpath(".//h2")[0]): text(a.xpath(".//p")[-1]) for a in page.xpath(".//article")
        }
        assert summaries["港口新码头开工"] == "新码头今天开工 & 庆祝。"
        cpp = summaries["C++ & C# <compared>"]
        assert cpp.startswith("Templates & generics: a < b, fast. A second paragraph")
        assert "<" not in cpp.replace("a < b", "") and "&amp;" not in cpp
        assert cpp.endswith("…") and len(cpp) <= 301


def test_feed_readers_still_read_the_feeds(site: Path) -> None:
    for feed in xml_files(site):
        data = feed.read_bytes()
        parsed = feedparser.parse(data)
        assert not parsed.bozo, (feed, parsed.get("bozo_exception"))
        assert len(parsed.entries) == len(
            etree.fromstring(data).xpath("//*[local-name()='entry' or local-name()='item']")
        )
        # Our own reader, both paths, reads exactly what it reads without the instruction.
        bare = XSL_PI.sub(b"", data, count=1).replace(b"\n\n", b"\n", 1)
        url = f"{SITE}feeds/{feed.relative_to(site).as_posix()}"
        for fast in (True, False):
            ours = feedwright.parse_feed(data, url=url, fast=fast, now=NOW)
            assert (
                ours.entries
                and ours.entries == feedwright.parse_feed(bare, url=url, fast=fast, now=NOW).entries
            )


# --------------------------------------------------------------------------- the pages


def page_of(site: Path, rel: str) -> html.HtmlElement:
    data = (site / rel).read_bytes()
    etree.fromstring(data)  # well-formed XML too
    page = html.fromstring(data)
    assert isinstance(page, html.HtmlElement)
    return page


def test_a_page_beside_every_feed_with_autodiscovery_links(site: Path) -> None:
    feeds = sorted(p.parent for p in site.rglob("atom.xml"))
    assert sorted(p.parent for p in site.rglob("index.html")) == feeds
    for folder in feeds:
        rel = folder.relative_to(site).as_posix()
        prefix = "" if rel == "." else rel + "/"
        page = page_of(site, prefix + "index.html")
        assert page.xpath(".//script") == [] and page.xpath(".//*[@onclick]") == []
        alternates = [
            (link.get("type"), unquote(link.get("href")))
            for link in page.xpath(".//link[@rel='alternate']")
        ]
        assert alternates == [
            ("application/atom+xml", f"{SITE}feeds/{prefix}atom.xml"),
            ("application/rss+xml", f"{SITE}feeds/{prefix}rss.xml"),
            ("application/feed+json", f"{SITE}feeds/{prefix}feed.json"),
        ]
        feed = json.loads((folder / "feed.json").read_bytes())
        assert page.findtext(".//h1") == feed["title"]
        assert "This is a web feed" in text(page.xpath(".//*[@class='note']")[0])
        assert [text(a.xpath(".//h2")[0]) for a in page.xpath(".//article")] == [
            i["title"] for i in feed["items"]
        ]
        for anchor in page.xpath(".//a"):
            href = anchor.get("href")
            if not href.startswith("https://"):
                assert (folder / unquote(href)).is_file(), href


def test_the_top_page_links_every_category_page_and_its_feeds(site: Path) -> None:
    page = page_of(site, "index.html")
    listed = page.xpath(".//nav//li")
    categories = sorted(p.parent.name for p in site.glob("*/atom.xml"))
    assert len(listed) == len(categories) == 3  # 金融, tech, c-plus-plus
    for item in listed:
        hrefs = [unquote(a.get("href")) for a in item.xpath(".//a")]
        folder = hrefs[0].split("/")[0]
        assert hrefs == [
            f"{folder}/{name}" for name in ("index.html", "atom.xml", "rss.xml", "feed.json")
        ]
        assert folder in categories
        category = page_of(site, f"{folder}/index.html")
        assert category.findtext(".//h1") == f"张家港新闻 - {text(item.xpath('.//a')[0])}"
        back = category.xpath(".//footer//a")[0]
        assert urljoin(f"{folder}/index.html", back.get("href")) == "index.html"


def test_pages_and_stylesheet_can_be_turned_off(tmp_path: Path) -> None:
    config = make_site(tmp_path, "  pages: false\n  stylesheet: false\n")
    feedwright.build(config, now=NOW)
    out = tmp_path / "feeds"
    assert not list(out.rglob("index.html")) and not (out / "feed.xsl").exists()
    assert all(b"xml-stylesheet" not in f.read_bytes() for f in xml_files(out))
    # Turned on: written; off again: removed (they are feedwright's files).
    config.write_text(config.read_text().replace("false", "true"))
    report = feedwright.build(config, now=NOW)
    assert "feed.xsl" in report.publish.written and "index.html" in report.publish.written
    config.write_text(config.read_text().replace("true", "false"))
    report = feedwright.build(config, now=NOW)
    assert "feed.xsl" in report.publish.removed and "tech/index.html" in report.publish.removed
    assert not list(out.rglob("index.html"))


def test_pages_and_stylesheet_are_written_only_when_their_bytes_change(tmp_path: Path) -> None:
    config = make_site(tmp_path)
    feedwright.build(config, now=NOW)
    again = feedwright.build(config, now=NOW)
    assert again.cached and again.publish.written == []
    # A post in one category edited: its pages and the top one, nothing else.
    post = tmp_path / "posts" / "plain.md"
    post.write_text(post.read_text().replace("No category", "Still no category"))
    edit = feedwright.build(config, now=NOW)
    assert [f for f in edit.publish.written if not f.endswith((".xml", ".json"))] == ["index.html"]
    assert "feed.xsl" in edit.publish.unchanged


def test_the_same_site_gives_the_same_pages_anywhere(tmp_path: Path, site: Path) -> None:
    config = make_site(tmp_path / "elsewhere")
    feedwright.build(config, now=NOW)
    out = tmp_path / "elsewhere" / "feeds"
    for name in ["feed.xsl", *(p.relative_to(site).as_posix() for p in site.rglob("index.html"))]:
        assert (out / name).read_bytes() == (site / name).read_bytes(), name


def test_a_page_shows_each_date_in_the_sites_time_zone(tmp_path: Path) -> None:
    """23:30 in New York is the next day in UTC: the page shows the site's day."""
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "late.md").write_text(
        "---\ntitle: Late\ndate: 2024-03-01 23:30\n---\nNight news.\n", encoding="utf-8"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        f"site:\n  title: T\n  url: {SITE}\n  timezone: America/New_York\n"
        "sources:\n  - posts: posts\noutput:\n  dir: feeds\n",
        encoding="utf-8",
    )
    feedwright.build(config, now=NOW)
    (stamp,) = html.parse(str(tmp_path / "feeds" / "index.html")).xpath("//article//time")
    assert stamp.get("datetime") == "2024-03-02T04:30:00Z"
    assert stamp.text_content() == "2024-03-01"
