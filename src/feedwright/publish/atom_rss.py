"""Atom 1.0 and RSS 2.0 documents.

Both formats come out of :func:`feed_xml`; every place where they differ is
in that one function and :func:`_write_entry` (pelican's
``_add_item_to_the_feed`` shape), so a reader of the code sees at once what
RSS loses (one enclosure, one author with an e-mail) and what Atom adds
(``<source>``, per-entry language).

The documents are written directly with :class:`.xmlwriter.XmlWriter`
rather than through feedgen, whose per-entry bookkeeping was most of the
time of a big build. They keep feedgen's layout byte for byte (element and
attribute order, namespace declarations, RFC 822 dates), so published feeds
did not change; ``tests/test_xmlwriter.py`` holds feedgen as the oracle.

Callers hand in *prepared* data: entries already rendered, every string free
of XML-illegal characters and every URL percent-encoded. Nothing here reads
the clock: ``updated``/``lastBuildDate`` are the feed's newest entry time.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Literal

from ..config import Site
from ..model import Entry, Person
from .plan import FeedPlan, entry_terms, entry_texts, excerpt, html_to_text
from .xmlwriter import XmlWriter, escape_text

XmlKind = Literal["atom", "rss"]
ContentMode = Literal["full", "summary"]

MEDIA_TYPES: dict[XmlKind, str] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
}
GENERATOR = "feedwright"
RSS_DOCS = "http://www.rssboard.org/rss-specification"

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"

_TYPE_HTML = ' type="html"'
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
_URN = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{1,31}:[^\s]+$", re.I)


def atom_id(value: str) -> str:
    """An Atom id must be an absolute IRI; a remote guid like ``12345`` or ``urn:x``
    is not. Such ids are published as a name-based UUID URN of the original: the
    same id always gives the same URN, so readers still never see a duplicate."""
    # uuid is imported only where needed: with platform, it was ~8 ms of
    # every build's start, and a post's id is a URL.
    lower = value.lower()
    if lower.startswith("urn:uuid:"):
        import uuid

        try:
            uuid.UUID(value[9:])
        except ValueError:
            pass
        else:
            return value
    elif _URI.match(value) and (not lower.startswith("urn:") or _URN.match(value)):
        return value
    import uuid

    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, value)}"


def _title(entry: Entry) -> str:
    """Both formats need a non-empty title; remote entries sometimes have none."""
    if entry.title.strip():
        return entry.title
    text = excerpt(html_to_text(entry.summary or entry.content or ""), 80)
    return text or entry.link or entry.id


def _atom_date(dt: datetime) -> str:
    """``2024-03-01T08:00:00Z``: every date here is UTC."""
    text = dt.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _rss_date(dt: datetime) -> str:
    """RFC 822 with English names whatever the locale (``Fri, 01 Mar 2024 08:00:00 +0000``)."""
    return dt.strftime(f"{_DAYS[dt.weekday()]}, %d {_MONTHS[dt.month - 1]} %Y %H:%M:%S %z")


def _rss_title(text: str) -> str:
    """``&`` and ``<`` in RSS titles as ``&#x26;``/``&#x3C;``.

    RSS never said whether a title is text or HTML; numeric references are
    the one spelling every reader decodes to the same plain text (RSS
    Advisory Board best practice, and what the W3C validator asks for).
    """
    return (
        text.replace("&", "&#x26;")
        .replace("<", "&#x3C;")
        .replace(">", "&gt;")
        .replace("\r", "&#13;")
    )


def _atom_person(w: XmlWriter, tag: str, person: Person) -> None:
    if not person.name:
        return  # Atom requires a name
    w.start(tag)
    w.leaf("name", person.name)
    if person.email:
        w.leaf("email", person.email)
    if person.uri:
        w.leaf("uri", person.uri)
    w.end()


def _link(href: str, rel: str, type_: str = "") -> list[tuple[str, str]]:
    attrs = [("href", href), ("rel", rel)]
    if type_:
        attrs.append(("type", type_))
    return attrs


# Written entries as UTF-8, by format and entry object: a prepared entry is
# the same bytes in every feed of one format (combined, each of its
# categories), so it is escaped, encoded and checked once. Keyed by identity,
# not by id: the memo lives only while the feeds holding the entries do, and
# two entries whose ids clean to the same text stay apart.
EntryMemo = dict[tuple[XmlKind, int], bytes]


def feed_xml(
    kind: XmlKind,
    feed: FeedPlan,
    site: Site,
    *,
    self_url: str,
    content: ContentMode = "full",
    memo: EntryMemo | None = None,
) -> bytes:
    """One Atom or RSS document for ``feed`` (prepared entries, newest first).

    ``memo``, shared by the documents of one publish (same site and content
    mode, entries prepared once), lets each entry be written once per format
    rather than once per feed it is in."""
    if not (feed.title and self_url):
        raise ValueError("Required fields not set (title, id)")
    w = XmlWriter()
    self_link = _link(self_url, "self", MEDIA_TYPES[kind])
    if kind == "atom":
        root = [("xmlns:media", MEDIA_NS), ("xmlns", ATOM_NS)]
        if site.language:
            root.append(("xml:lang", site.language))
        w.start("feed", root)
        w.leaf("id", self_url)
        w.leaf("title", feed.title)
        w.leaf("updated", _atom_date(feed.updated))
        # Atom requires an author for every entry; a feed-level one covers them all.
        _atom_person(w, "author", site.author or Person(name=site.title))
        w.leaf("link", None, self_link)
        w.leaf("link", None, _link(site.url, "alternate"))
        if feed.category is not None:
            w.leaf("category", None, [("term", feed.category)])
        w.leaf("generator", GENERATOR)
        if site.description:
            w.leaf("subtitle", site.description)
    else:
        # RSS requires a link and a non-empty channel description.
        if not site.url:
            raise ValueError("Required fields not set (link)")
        root = [
            ("xmlns:media", MEDIA_NS),
            ("xmlns:dc", DC_NS),
            ("xmlns:atom", ATOM_NS),
            ("xmlns:content", CONTENT_NS),
            ("version", "2.0"),
        ]
        w.start("rss", root)
        w.start("channel")
        w.raw_leaf("title", _rss_title(feed.title))
        w.leaf("link", site.url)
        w.leaf("description", site.description or feed.title)
        w.leaf("atom:link", None, self_link)
        if feed.category is not None:
            w.leaf("category", feed.category)
        w.leaf("docs", RSS_DOCS)
        w.leaf("generator", GENERATOR)
        if site.language:
            w.leaf("language", site.language)
        w.leaf("lastBuildDate", _rss_date(feed.updated))
        if site.author is not None and site.author.email:
            w.leaf("managingEditor", f"{site.author.email} ({site.author.name})")

    if memo is None:
        for entry in feed.entries:
            _write_entry(w, kind, entry, site, content)
        if kind == "rss":
            w.end()  # channel
        w.end()
        return w.getvalue()

    # Joined as bytes: with limit 0 a 10,000-post site's feeds hold each entry
    # ~3.6 times (combined + its categories); encoding every document whole
    # cost a third of serialising them.
    chunks = [w.take()]
    for entry in feed.entries:
        data = memo.get((kind, id(entry)))
        if data is None:
            _write_entry(w, kind, entry, site, content)
            data = memo[kind, id(entry)] = w.take()
        chunks.append(data)
    if kind == "rss":
        w.end()  # channel
    w.end()
    chunks.append(w.getvalue())
    return b"".join(chunks)


def _write_entry(w: XmlWriter, kind: XmlKind, entry: Entry, site: Site, mode: ContentMode) -> None:
    summary, body = entry_texts(entry, mode)
    title = _title(entry)
    terms = entry_terms(entry)

    if kind == "atom":
        if not title:
            raise ValueError("Required fields not set")
        if body is None and not entry.link:
            # Atom: an entry without an alternate link must carry content.
            body = entry.content or summary or html.escape(title, quote=False)
        if entry.language and entry.language != site.language:
            w.start("entry", [("xml:lang", entry.language)])
        else:
            w.start("entry")
        w.leaf("id", atom_id(entry.id))
        w.leaf("title", title)
        w.leaf("updated", _atom_date(entry.updated))
        for person in entry.authors:
            _atom_person(w, "author", person)
        if body:
            w.raw_leaf("content", escape_text(body), _TYPE_HTML)
        elif body is not None:
            w.leaf("content", None, [("type", "html")])
        if entry.link:
            w.leaf("link", None, [("href", entry.link)])
        if summary is not None:
            w.raw_leaf("summary", escape_text(summary), _TYPE_HTML)
        for term in terms:
            w.leaf("category", None, [("term", term)])
        w.leaf("published", _atom_date(entry.published))
        _write_media(w, entry)
        for enc in entry.enclosures:
            attrs = [("rel", "enclosure"), ("href", enc.url), ("type", enc.type)]
            if enc.length > 0:
                attrs.append(("length", str(enc.length)))
            w.leaf("link", None, attrs)
        if entry.source is not None:
            prov = entry.source
            w.start("source")
            w.leaf("id", atom_id(prov.id or prov.url))
            if prov.title:
                w.leaf("title", prov.title)
            # The origin feed changed no earlier than this entry did: the best
            # deterministic value we have for <source><updated>.
            w.leaf("updated", _atom_date(entry.updated))
            if prov.link:
                w.leaf("link", None, [("rel", "alternate"), ("href", prov.link)])
            w.leaf("link", None, [("rel", "self"), ("href", prov.url)])
            w.end()
    else:
        description = summary if summary is not None else body
        if not (title or description):
            raise ValueError("Required fields not set")
        w.start("item")
        if title:
            w.raw_leaf("title", _rss_title(title))
        if entry.link:
            w.leaf("link", entry.link)
        if description is not None:
            escaped = escape_text(description)
            w.raw_leaf("description", escaped)
            if body is not None:
                # content:encoded: the full text, beside the description
                w.raw_leaf("content:encoded", escaped if body is description else escape_text(body))
        # RSS <author> is one e-mail address. Anything else (no e-mail, several
        # authors) is said with dc:creator alone: validators flag an item with both.
        one_mail = len(entry.authors) == 1 and bool(entry.authors[0].email)
        if one_mail:
            person = entry.authors[0]
            w.leaf("author", f"{person.email} ({person.name})" if person.name else person.email)
        if entry.id:
            permalink = entry.link is not None and entry.id == entry.link
            w.leaf("guid", entry.id, [("isPermaLink", "true" if permalink else "false")])
        for term in terms:
            w.leaf("category", term)
        if entry.enclosures:
            first = entry.enclosures[0]  # RSS allows one enclosure per item
            attrs = [("url", first.url), ("length", str(first.length)), ("type", first.type)]
            w.leaf("enclosure", None, attrs)
        w.leaf("pubDate", _rss_date(entry.published))
        if entry.source is not None:
            prov = entry.source
            w.leaf("source", prov.title or prov.link or prov.url, [("url", prov.url)])
        _write_media(w, entry)
        if not one_mail:
            for person in entry.authors:
                w.leaf("dc:creator", person.name)
    w.end()


def _write_media(w: XmlWriter, entry: Entry) -> None:
    """Media RSS for images, in both formats: every image, the first as thumbnail."""
    images = entry.images
    for image in images:
        attrs = [("url", image.url)] if image.url else []
        if image.length > 0:
            attrs.append(("fileSize", str(image.length)))
        if image.type:
            attrs.append(("type", image.type))
        attrs.append(("medium", "image"))
        w.leaf("media:content", None, attrs)
    if images and images[0].url:
        w.leaf("media:thumbnail", None, [("url", images[0].url)])
    elif images:
        w.leaf("media:thumbnail")


__all__ = ["GENERATOR", "MEDIA_TYPES", "ContentMode", "EntryMemo", "XmlKind", "feed_xml"]
