"""The direct XML writer against feedgen, the serialiser it replaced.

feedgen stays a dependency as the oracle: the old feedgen-based
``feed_xml`` is kept here verbatim (as ``feedgen_xml``), and every feed
below must come out of the new writer byte for byte as it did from feedgen,
escaping and odd fields included.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from lxml import etree

from feedwright.config import Site
from feedwright.model import Enclosure, Entry, Person, Provenance
from feedwright.publish.atom_rss import (
    GENERATOR,
    MEDIA_TYPES,
    EntryMemo,
    _title,
    atom_id,
    feed_xml,
)
from feedwright.publish.plan import FeedPlan, entry_terms, entry_texts
from feedwright.publish.xmlwriter import XmlWriter, encode, escape_attr, escape_text

XmlKind = Literal["atom", "rss"]
ContentMode = Literal["full", "summary"]

# --------------------------------------------------------------------------- oracle
# The feedgen implementation of feed_xml as it was before the direct writer.

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class _FeedwrightFeedExtension(BaseExtension):  # type: ignore[misc]
    """Feed half of the extension below; feedgen requires one, it adds nothing."""

    def extend_ns(self) -> dict[str, str]:
        return {}


class _FeedwrightEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """What feedgen 1.0 cannot say in Atom.

    A full ``<source>``, per-entry ``xml:lang``, and enclosure links: feedgen
    drops the ``rel``/``type``/``length`` of entry links (a shadowed variable
    in ``FeedEntry.atom_entry``), which would turn enclosures into alternates.
    """

    def __init__(self) -> None:
        self.source: Provenance | None = None
        self.updated: datetime | None = None
        self.language: str | None = None
        self.enclosures: tuple[Enclosure, ...] = ()

    def extend_atom(self, entry: Any) -> Any:
        if self.language:
            entry.set(_XML_LANG, self.language)
        for enc in self.enclosures:
            link = xml_elem("link", entry, rel="enclosure", href=enc.url, type=enc.type)
            if enc.length > 0:
                link.set("length", str(enc.length))
        if self.source is not None:
            prov = self.source
            source = xml_elem("source", entry)
            xml_elem("id", source).text = atom_id(prov.id or prov.url)
            if prov.title:
                xml_elem("title", source).text = prov.title
            if self.updated is not None:
                xml_elem("updated", source).text = self.updated.isoformat()
            if prov.link:
                xml_elem("link", source, rel="alternate", href=prov.link)
            xml_elem("link", source, rel="self", href=prov.url)
        return entry

    def extend_rss(self, item: Any) -> Any:
        return item


def _person(person: Person) -> dict[str, str]:
    data = {"name": person.name}
    if person.email:
        data["email"] = person.email
    if person.uri:
        data["uri"] = person.uri
    return data


def feedgen_xml(
    kind: XmlKind,
    feed: FeedPlan,
    site: Site,
    *,
    self_url: str,
    content: ContentMode = "full",
) -> bytes:
    """One Atom or RSS document for ``feed`` (prepared entries, newest first)."""
    fg = FeedGenerator()
    fg.load_extension("media")
    if kind == "rss":
        fg.load_extension("dc")
    fg.register_extension("feedwright", _FeedwrightFeedExtension, _FeedwrightEntryExtension)

    fg.id(self_url)
    fg.title(feed.title)
    fg.link(href=self_url, rel="self", type=MEDIA_TYPES[kind])
    fg.link(href=site.url, rel="alternate")  # last: feedgen makes the last link RSS's <link>
    fg.generator(GENERATOR)
    fg.updated(feed.updated)
    fg.lastBuildDate(feed.updated)
    if site.language:
        fg.language(site.language)
    if feed.category is not None:
        fg.category(term=feed.category)

    if kind == "atom":
        # Atom requires an author for every entry; a feed-level one covers them all.
        fg.author(_person(site.author or Person(name=site.title)))
        if site.description:
            fg.subtitle(site.description)
    else:
        # RSS requires a non-empty channel description.
        fg.description(site.description or feed.title)
        if site.author is not None and site.author.email:
            fg.managingEditor(f"{site.author.email} ({site.author.name})")

    for entry in feed.entries:
        _add_entry(fg, kind, entry, site, content)

    out: bytes
    if kind == "atom":
        out = _zulu(fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True))
    else:
        out = _plain_text_refs(fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True))
    return out


_ATOM_DATE = re.compile(rb"<(updated|published)>([^<]*)\+00:00</\1>")
_RSS_TITLE = re.compile(rb"<title>([^<]*)</title>")


def _zulu(atom: bytes) -> bytes:
    """``2024-03-01T08:00:00Z`` rather than feedgen's ``+00:00``: every date here is UTC."""
    return _ATOM_DATE.sub(rb"<\1>\2Z</\1>", atom)


def _plain_text_refs(rss: bytes) -> bytes:
    """Write ``&`` and ``<`` in RSS titles as ``&#x26;``/``&#x3C;``.

    RSS never said whether a title is text or HTML; numeric references are
    the one spelling every reader decodes to the same plain text (RSS
    Advisory Board best practice, and what the W3C validator asks for).
    """

    def refs(match: re.Match[bytes]) -> bytes:
        text = match.group(1).replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")
        return b"<title>" + text + b"</title>"

    return _RSS_TITLE.sub(refs, rss)


def _add_entry(fg: Any, kind: XmlKind, entry: Entry, site: Site, mode: ContentMode) -> None:
    fe = fg.add_entry(order="append")
    summary, body = entry_texts(entry, mode)
    fe.title(_title(entry))
    if entry.link:
        fe.link(href=entry.link, rel="alternate")
    fe.published(entry.published)
    fe.updated(entry.updated)
    terms = entry_terms(entry)
    if terms:
        fe.category([{"term": t} for t in terms])
    images = entry.images

    if kind == "atom":
        fe.id(atom_id(entry.id))
        if body is None and not entry.link:
            # Atom: an entry without an alternate link must carry content.
            body = entry.content or summary or html.escape(fe.title(), quote=False)
        if body is not None:
            fe.content(body, type="html")
        if summary is not None:
            fe.summary(summary, type="html")
        if entry.authors:
            fe.author([_person(a) for a in entry.authors])
        ext = fe.feedwright
        ext.enclosures = entry.enclosures
        ext.source = entry.source
        # The origin feed changed no earlier than this entry did: the best
        # deterministic value we have for <source><updated>.
        ext.updated = entry.updated
        if entry.language and entry.language != site.language:
            ext.language = entry.language
    else:
        fe.guid(entry.id, permalink=entry.link is not None and entry.id == entry.link)
        description = summary if summary is not None else body
        if description is not None:
            fe.description(description)
        if body is not None:
            fe.content(body)  # content:encoded: the full text, beside the description
        # RSS <author> is one e-mail address. Anything else (no e-mail, several
        # authors) is said with dc:creator alone: validators flag an item with both.
        if len(entry.authors) == 1 and entry.authors[0].email:
            fe.author(_person(entry.authors[0]))
        else:
            for person in entry.authors:
                fe.dc.dc_creator(person.name)
        if entry.enclosures:
            first = entry.enclosures[0]  # RSS allows one enclosure per item
            fe.enclosure(first.url, str(first.length), first.type)
        if entry.source is not None:
            prov = entry.source
            fe.source(url=prov.url, title=prov.title or prov.link or prov.url)

    for i, image in enumerate(images):
        media: dict[str, str] = {"url": image.url, "type": image.type, "medium": "image"}
        if image.length > 0:
            media["fileSize"] = str(image.length)
        fe.media.content(media, group=None)
        if i == 0:
            fe.media.thumbnail({"url": image.url}, group=None)


# --------------------------------------------------------------------------- feeds

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
SITE = Site(
    title="张家港新闻",
    url="https://news.example.com/",
    description="本地新闻 & <notes>",
    author=Person("编辑部", "desk@example.com", "https://news.example.com/about"),
    language="zh-CN",
)
BARE_SITE = Site(title="Bare & <Co>", url="https://bare.example.org/")
NAMELESS_SITE = Site(title="T", url="https://t.example/", author=Person("", "a@t.example"))
AWKWARD = "Tom & Jerry <b>\"quoted\"</b> 'apos' >\r\n\ttab 🚀 ]]> &amp; &#x26;"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def varied_entries() -> list[Entry]:
    return [
        Entry(
            id="https://news.example.com/a/",
            title="C++ & C# <compared>",
            published=at(10),
            updated=at(12),
            link="https://news.example.com/a/",
            authors=(Person("Ann", "ann@example.com", "https://ann.example.com/"),),
            categories=("Tech", "C++"),
            tags=("tech", "新闻 "),
            summary="<p>Short & sweet</p>",
            content=f"<p>{'Long body. ' * 80}</p><p>a &lt; b &amp; c</p>",
        ),
        Entry(
            id="12345",  # not an IRI: published as a UUID URN in Atom
            title="   ",  # blank: the title falls back to an excerpt
            published=at(
                9,
            ),
            updated=at(9),
            link=None,
            authors=(Person("Bob"), Person("Cy", "cy@example.com"), Person("")),
            summary=None,
            content="<p>No link, \r\n so content carries it.</p>",
            enclosures=(
                Enclosure("https://cdn.example.com/a.mp3", "audio/mpeg", 1000),
                Enclosure("https://cdn.example.com/p.png", "image/png"),
                Enclosure('https://cdn.example.com/q.jpg?x=1&y="2"', "image/jpeg", 77),
            ),
            language="en",
        ),
        Entry(
            id="tag:remote.example.org,2024:42",
            title=AWKWARD,
            published=datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
            updated=datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
            link="https://remote.example.org/x?a=1&b=<2>",
            authors=(Person("Dee", "dee@example.com"),),
            categories=(AWKWARD,),
            summary=AWKWARD,
            content=None,
            enclosures=(Enclosure("", "image/"), Enclosure("https://cdn.example.com/e", "")),
            source=Provenance(
                url="https://remote.example.org/feed.xml",
                title="Remote & Space",
                link="https://remote.example.org/",
                id="urn:x",
            ),
            language="zh-CN",  # the site's own language: no xml:lang
        ),
        Entry(
            id="https://news.example.com/b/",
            title="",
            published=at(1),
            updated=at(1),
            link="https://news.example.com/b/",
            authors=(Person("", "noname@example.com"),),
            summary="<p>Only a summary</p>",
            source=Provenance(url="https://other.example.net/rss"),
        ),
        Entry(
            id="https://news.example.com/c/",
            title="中文标题：全角，标点",
            published=datetime(1999, 12, 31, 0, 0, tzinfo=UTC),
            updated=datetime(2000, 1, 1, 0, 0, tzinfo=UTC),
            link="https://news.example.com/c/",
            source=Provenance(url="https://s.example/", title=None, link="https://s.example/h"),
            enclosures=(Enclosure("https://cdn.example.com/v.mp4", "video/mp4", 0),),
        ),
    ]


def plans() -> list[FeedPlan]:
    entries = tuple(varied_entries())
    return [
        FeedPlan(None, None, SITE.title, entries, at(12)),
        FeedPlan("tech", "Tech & <C>", "张家港新闻 - Tech & <C>", entries[:1], at(12)),
        FeedPlan("empty", "Empty", "Empty", (), datetime(2000, 1, 1, tzinfo=UTC)),
    ]


CASES = [
    (kind, site, mode, i)
    for kind in ("atom", "rss")
    for site in (SITE, BARE_SITE, NAMELESS_SITE)
    for mode in ("full", "summary")
    for i in range(3)
]


@pytest.mark.parametrize(("kind", "site", "mode", "index"), CASES)
def test_writer_matches_feedgen_byte_for_byte(
    kind: XmlKind, site: Site, mode: ContentMode, index: int
) -> None:
    feed = plans()[index]
    url = f"https://news.example.com/feeds/{feed.slug or 'all'}/{kind}.xml"
    expected = feedgen_xml(kind, feed, site, self_url=url, content=mode)
    got = feed_xml(kind, feed, site, self_url=url, content=mode)
    assert got == expected
    etree.fromstring(got)  # and well-formed


def test_an_illegal_character_fails_with_or_without_the_memo() -> None:
    (entry, *_) = varied_entries()
    feed = FeedPlan(None, None, SITE.title, (replace(entry, title="bad \ufffe"),), at(12))
    for memo in (None, {}):
        with pytest.raises(ValueError):
            feed_xml("atom", feed, SITE, self_url="https://x/atom.xml", memo=memo)


def test_varied_feed_exercises_every_branch() -> None:
    """The comparison above is only as good as its input: it must hold each odd case."""
    atom = feed_xml("atom", plans()[0], SITE, self_url="https://x/atom.xml").decode()
    rss = feed_xml("rss", plans()[0], SITE, self_url="https://x/rss.xml").decode()
    assert '<entry xml:lang="en">' in atom
    assert "<source>" in atom and "<media:thumbnail/>" in atom
    assert '<link rel="enclosure" href="https://cdn.example.com/a.mp3"' in atom
    assert "T23:59:59.123456Z</updated>" in atom
    assert "<title>Tom &#x26; Jerry &#x3C;b&gt;" in rss
    assert "&#13;" in rss and "<dc:creator>Bob</dc:creator>" in rss
    assert "<author>dee@example.com (Dee)</author>" in rss
    assert "<author>noname@example.com</author>" in rss
    assert "<pubDate>Fri, 31 Dec 1999 00:00:00 +0000</pubDate>" in rss


def test_many_entries_match_feedgen() -> None:
    base = varied_entries()
    entries = tuple(
        replace(base[i % len(base)], id=f"https://news.example.com/{i}/", published=at(-i))
        for i in range(200)
    )
    feed = FeedPlan(None, None, SITE.title, entries, at(12))
    for kind in ("atom", "rss"):
        expected = feedgen_xml(kind, feed, SITE, self_url="https://x/f.xml")
        assert feed_xml(kind, feed, SITE, self_url="https://x/f.xml") == expected


# --------------------------------------------------------------------------- escaping


def _legal_text() -> str:
    """Every character XML 1.0 can carry, in one string."""
    ranges = [(0x09, 0x0A), (0x0D, 0x0D), (0x20, 0xD7FF), (0xE000, 0xFFFD), (0x10000, 0x10FFFF)]
    return "".join(chr(c) for lo, hi in ranges for c in range(lo, hi + 1))


def test_escaping_matches_lxml_for_every_legal_character() -> None:
    text = _legal_text()
    element = etree.Element("t", v=text)
    element.text = text
    expected = etree.tostring(element, encoding="UTF-8").decode("utf-8")
    assert f'<t v="{escape_attr(text)}">{escape_text(text)}</t>' == expected


def test_writer_layout_matches_lxml_pretty_print() -> None:
    w = XmlWriter()
    w.start("r", [("a", 'x"y')])
    w.leaf("empty")
    w.leaf("blank", "")
    w.leaf("long", "é<" * 600, [("k", "\t\n")])
    w.start("inner")
    w.leaf("deep", "1")
    w.end()
    w.end()
    root = etree.Element("r", a='x"y')
    etree.SubElement(root, "empty")
    etree.SubElement(root, "blank").text = ""
    etree.SubElement(root, "long", k="\t\n").text = "é<" * 600
    etree.SubElement(etree.SubElement(root, "inner"), "deep").text = "1"
    expected = etree.tostring(root, pretty_print=True, encoding="UTF-8", xml_declaration=True)
    assert w.getvalue() == expected


@pytest.mark.parametrize(
    "bad", ["\x00", "\x01", "\x0b", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"]
)
def test_xml_illegal_characters_are_refused_like_lxml(bad: str) -> None:
    entry = replace(varied_entries()[0], summary=f"<p>bad {bad} char</p>")
    feed = FeedPlan(None, None, SITE.title, (entry,), at(12))
    for kind in ("atom", "rss"):
        with pytest.raises(ValueError):
            feedgen_xml(kind, feed, SITE, self_url="https://x/f.xml")
        with pytest.raises(ValueError, match="XML compatible"):
            feed_xml(kind, feed, SITE, self_url="https://x/f.xml")
    with pytest.raises(ValueError, match="XML compatible"):
        encode(f"<a>{bad}</a>")


def test_allowed_control_characters_pass() -> None:
    assert encode("<a>\t\n\r</a>") == b"<a>\t\n\r</a>"


def test_unclosed_element_is_a_programming_error() -> None:
    w = XmlWriter()
    w.start("r")
    with pytest.raises(ValueError, match="unclosed"):
        w.getvalue()


@pytest.mark.parametrize(("site", "mode"), [(SITE, "full"), (BARE_SITE, "summary")])
def test_an_entry_memo_changes_no_byte(site: Site, mode: ContentMode) -> None:
    # One memo across every feed and both formats, as a publish uses it; the
    # entries are shared between feeds, so the memo is really used.
    memo: EntryMemo = {}
    feeds = plans()
    for _ in range(2):
        for kind in ("atom", "rss"):
            for feed in feeds:
                url = f"https://news.example.com/feeds/{feed.slug or 'all'}/{kind}.xml"
                plain = feed_xml(kind, feed, site, self_url=url, content=mode)
                assert feed_xml(kind, feed, site, self_url=url, content=mode, memo=memo) == plain
    assert len(memo) == 2 * len(feeds[0].entries)


def _lxml_opml(title: str, outlines: list[Any], owner: str | None) -> bytes:
    # The writer opml() had before: lxml's tree and pretty printer.
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    if owner:
        etree.SubElement(head, "ownerName").text = owner
    body = etree.SubElement(root, "body")
    for item in outlines:
        node = etree.SubElement(body, "outline")
        node.set("type", "rss")
        node.set("text", item.title)
        node.set("title", item.title)
        node.set("xmlUrl", item.xml_url)
        node.set("htmlUrl", item.html_url)
    out: bytes = etree.tostring(root, pretty_print=True, encoding="UTF-8", xml_declaration=True)
    return out


@pytest.mark.parametrize("owner", [None, "", "编辑部 <ed> & co"])
@pytest.mark.parametrize("count", [0, 1, 3])
def test_opml_matches_lxml_byte_for_byte(owner: str | None, count: int) -> None:
    from feedwright.publish.opml import Outline, opml

    outlines = [
        Outline(f'张家港 "{n}" & <b>\t\n', f"https://n.example/{n}/rss.xml?a=1&b=2", "https://n/")
        for n in range(count)
    ]
    title = "Site & <title> \r\n"
    assert opml(title, outlines, owner=owner) == _lxml_opml(title, outlines, owner)


def test_opml_refuses_what_lxml_refuses() -> None:
    from feedwright.publish.opml import Outline, opml

    with pytest.raises(ValueError):
        _lxml_opml("bad \x01", [], None)
    with pytest.raises(ValueError):
        opml("bad \x01", [Outline("a", "b", "c")])
