"""Atom 1.0 and RSS 2.0 documents, built with feedgen.

Both formats come out of :func:`feed_xml`; every place where they differ is
in that one function (pelican's ``_add_item_to_the_feed`` shape), so a
reader of the code sees at once what RSS loses (one enclosure, one author
with an e-mail) and what Atom adds (``<source>``, per-entry language).

Callers hand in *prepared* data: entries already rendered, every string free
of XML-illegal characters and every URL percent-encoded. Nothing here reads
the clock: feedgen defaults ``updated``/``lastBuildDate`` to "now", and both
are always overwritten with the feed's newest entry time.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import datetime
from typing import Any, Literal

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from ..config import Site
from ..model import Enclosure, Entry, Person, Provenance
from .plan import FeedPlan, entry_terms, entry_texts, excerpt, html_to_text

XmlKind = Literal["atom", "rss"]
ContentMode = Literal["full", "summary"]

MEDIA_TYPES: dict[XmlKind, str] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
}
GENERATOR = "feedwright"
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


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
_URN = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{1,31}:[^\s]+$", re.I)


def atom_id(value: str) -> str:
    """An Atom id must be an absolute IRI; a remote guid like ``12345`` or ``urn:x``
    is not. Such ids are published as a name-based UUID URN of the original: the
    same id always gives the same URN, so readers still never see a duplicate."""
    lower = value.lower()
    if lower.startswith("urn:uuid:"):
        try:
            uuid.UUID(value[9:])
        except ValueError:
            pass
        else:
            return value
    elif _URI.match(value) and (not lower.startswith("urn:") or _URN.match(value)):
        return value
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, value)}"


def _person(person: Person) -> dict[str, str]:
    data = {"name": person.name}
    if person.email:
        data["email"] = person.email
    if person.uri:
        data["uri"] = person.uri
    return data


def _title(entry: Entry) -> str:
    """Both formats need a non-empty title; remote entries sometimes have none."""
    if entry.title.strip():
        return entry.title
    text = excerpt(html_to_text(entry.summary or entry.content or ""), 80)
    return text or entry.link or entry.id


def feed_xml(
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


__all__ = ["GENERATOR", "MEDIA_TYPES", "ContentMode", "XmlKind", "feed_xml"]
