"""A fast reader for plain, well-formed RSS 2.0 and Atom 1.0, or None to say "use feedparser".

feedparser costs about 70 times a bare lxml parse, and most feeds in the wild
use a small, regular subset of their format. :func:`read` handles that subset
with ``lxml.etree`` (no DTD, no entities, no network) and returns the raw
fields feedparser would have given, still unsanitised; fastpath.py
sanitises and normalises them exactly as it does feedparser's output.

feedparser stays the reference. Whenever this reader meets anything whose
feedparser treatment it does not reproduce exactly, it returns None and the
caller takes the feedparser path::

    not well-formed XML, a DOCTYPE, xml:base, RSS 0.9x/1.0, Atom 0.3, a root
    or child element (or namespace) not in the tables below, text fields with
    markup or "&" in them, XHTML or out-of-line content, dates in a format
    other than RFC 822 / RFC 3339, entries without an id and a link, ids
    repeated within the feed, RSS <author>, several alternate links, ...

Tests pin that, for every sample feed this reader accepts, ``parse_feed``
gives the same entries with and without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from .fastfields import (
    Unsupported,
    absolute,
    as_feedparser,
    check_id,
    first_lang,
    has_attrs,
    html_field,
    lang_attr,
    rfc822,
    rfc3339,
    scoped_lang,
    simple,
    text_field,
)

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
SY = "{http://purl.org/rss/1.0/modules/syndication/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Children whose values we either read or know feedparser's output of is unused.
_RSS_CHANNEL = frozenset(
    {"title", "link", "description", "language", "item", "lastBuildDate", "pubDate",
     "generator", "ttl", "docs", "copyright", "category", f"{ATOM}link",
     f"{SY}updatePeriod", f"{SY}updateFrequency"}
)  # fmt: skip
_RSS_ITEM = frozenset(
    {"title", "link", "guid", "pubDate", "description", f"{CONTENT}encoded", f"{DC}creator",
     "category", "enclosure", "comments"}
)  # fmt: skip
_ATOM_FEED = frozenset(
    {f"{ATOM}{n}" for n in ("title", "id", "link", "updated", "author", "subtitle",
                            "generator", "rights", "icon", "logo", "category", "entry")}
)  # fmt: skip
_ATOM_ENTRY = frozenset(
    {f"{ATOM}{n}" for n in ("title", "id", "link", "published", "updated", "author",
                            "category", "summary", "content")}
)  # fmt: skip

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    recover=False,
    remove_comments=True,
    remove_pis=True,
    strip_cdata=True,
)


@dataclass(slots=True)
class FastPerson:
    name: str | None
    email: str | None
    uri: str | None


@dataclass(slots=True)
class FastEnclosure:
    href: str
    type: str | None
    length: str | None


@dataclass(slots=True)
class FastEntry:
    """One entry's raw values, as feedparser would report them (before sanitising)."""

    id: str | None
    title: str
    link: str | None
    link_from_guid: bool  # the link is an RSS permalink guid: never resolved
    published: datetime | None
    updated: datetime | None
    authors: list[FastPerson]
    categories: list[str]
    summary: str | None  # HTML, or plain text when summary_is_text
    summary_is_text: bool
    content: str | None
    content_is_text: bool
    enclosures: list[FastEnclosure]
    language: str | None  # xml:lang in scope at the first of title/content/summary
    # Summary or content changed by as_feedparser beyond stripping: feedparser repairs
    # after sanitising, so its sanitiser cannot be run on the repaired value alone.
    html_repaired: bool = False


@dataclass(slots=True)
class FastFeed:
    title: str | None
    link: str | None
    id: str | None
    language: str | None
    authors: list[FastPerson]
    entries: list[FastEntry] = field(default_factory=list)
    link_from_id: bool = False  # no alternate link: the id stands in (never resolved)


def read(text: str, headers: Mapping[str, str]) -> FastFeed | None:
    """The feed in ``text`` (decoded, declaration and DOCTYPE removed), or None.

    ``headers`` are the response headers with lower-case names (only
    ``content-language`` matters: feedparser takes it as the default language).
    """
    if "<!DOCTYPE" in text[:4096] or "xml:base" in text:
        return None
    try:
        root = etree.fromstring(text.encode("utf-8"), _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    lang = lang_attr(headers.get("content-language"))
    try:
        if root.tag == "rss" and root.get("version") in ("2.0", "2.0.1", "2.00"):
            return _rss(root, lang)
        if root.tag == f"{ATOM}feed":
            return _atom(root, lang)
    except Unsupported:
        return None
    return None


# --------------------------------------------------------------------------- RSS 2.0


def _rss(root: etree._Element, lang: str | None) -> FastFeed:
    if len(root) != 1 or root[0].tag != "channel" or has_attrs(root, {"version"}):
        raise Unsupported
    lang = scoped_lang(root, lang)
    channel = root[0]
    lang = scoped_lang(channel, lang)
    feed = FastFeed(title=None, link=None, id=None, language=None, authors=[])
    seen_item = False
    ids: set[str] = set()
    for child in channel:
        tag = child.tag
        if tag not in _RSS_CHANNEL:
            raise Unsupported
        if tag == "item":
            seen_item = True
            feed.entries.append(_rss_item(child, lang, ids))
        elif seen_item and tag in ("title", "link", "language"):
            raise Unsupported  # feedparser's context switching: not worth imitating
        elif tag == "title":
            feed.title = text_field(child, feed.title)
        elif tag == "link":
            feed.link = simple(child, feed.link)
        elif tag == "language":
            feed.language = simple(child, feed.language)
        elif tag == f"{ATOM}link":
            if child.get("rel", "alternate") == "alternate" or len(child):
                raise Unsupported
        elif tag in ("description", "category") and len(child):
            raise Unsupported
    if feed.language is None:
        feed.language = lang
    return feed


def _rss_item(item: etree._Element, lang: str | None, ids: set[str]) -> FastEntry:
    if item.attrib:
        raise Unsupported
    lang = scoped_lang(item, lang)
    title = link = guid = summary = content = None
    permalink = False
    published: datetime | None = None
    authors: list[FastPerson] = []
    categories: list[str] = []
    enclosures: list[FastEnclosure] = []
    title_lang = content_lang = summary_lang = None
    repaired = False
    for child in item:
        tag = child.tag
        if tag not in _RSS_ITEM:
            raise Unsupported
        if tag == "title":
            title = text_field(child, title)
            title_lang = scoped_lang(child, lang)
        elif tag == "link":
            link = simple(child, link)
        elif tag == "guid":
            if guid is not None or has_attrs(child, {"isPermaLink"}):
                raise Unsupported
            guid = simple(child, None)
            permalink = child.get("isPermaLink", "true") == "true"
        elif tag == "pubDate":
            if published is not None:
                raise Unsupported
            published = rfc822(simple(child, None))
        elif tag == "description":
            summary, fixed = html_field(child, summary)
            repaired |= fixed
            summary_lang = scoped_lang(child, lang)
        elif tag == f"{CONTENT}encoded":
            content, fixed = html_field(child, content)
            repaired |= fixed
            content_lang = scoped_lang(child, lang)
        elif tag == f"{DC}creator":
            name = simple(child, None)
            if authors or "@" in name or "(" in name or "<" in name:
                raise Unsupported  # feedparser splits e-mail addresses out of names
            authors.append(FastPerson(name=name, email=None, uri=None))
        elif tag == "category":
            if has_attrs(child, {"domain"}):
                raise Unsupported
            categories.append(text_field(child, None))
        elif tag == "enclosure":
            if len(child) or has_attrs(child, {"url", "type", "length"}) or not child.get("url"):
                raise Unsupported
            enclosures.append(
                FastEnclosure(
                    href=as_feedparser(child.get("url", "")),
                    type=child.get("type"),
                    length=child.get("length"),
                )
            )
    if guid is not None and permalink:
        # feedparser turns a permalink guid into the link, with rules about
        # element order; reproduce only the case where order cannot matter.
        if link is None:
            link, from_guid = guid, True
        elif not absolute(link):
            raise Unsupported
        else:
            from_guid = False
    else:
        from_guid = False
    entry_id = guid
    check_id(entry_id, link, ids)
    return FastEntry(
        id=entry_id,
        title=title or "",
        link=link,
        link_from_guid=from_guid,
        published=published,
        updated=None,
        authors=authors,
        categories=categories,
        summary=summary,
        summary_is_text=False,
        content=content,
        content_is_text=False,
        enclosures=enclosures,
        language=first_lang(title, title_lang, content, content_lang, summary, summary_lang),
        html_repaired=repaired,
    )


# --------------------------------------------------------------------------- Atom 1.0


def _atom(root: etree._Element, lang: str | None) -> FastFeed:
    lang = scoped_lang(root, lang)
    feed = FastFeed(title=None, link=None, id=None, language=lang, authors=[])
    ids: set[str] = set()
    seen_entry = False
    alternates = 0
    for child in root:
        tag = child.tag
        if tag not in _ATOM_FEED:
            raise Unsupported
        if tag == f"{ATOM}entry":
            seen_entry = True
            feed.entries.append(_atom_entry(child, lang, ids))
        elif seen_entry and tag in (f"{ATOM}title", f"{ATOM}link", f"{ATOM}id", f"{ATOM}author"):
            raise Unsupported
        elif tag == f"{ATOM}title":
            feed.title = _atom_text(child, feed.title)
        elif tag == f"{ATOM}id":
            feed.id = simple(child, feed.id)
        elif tag == f"{ATOM}link":
            href = _atom_link(child)
            if href is not None:
                alternates += 1
                feed.link = href
        elif tag == f"{ATOM}author":
            feed.authors.append(_atom_person(child))
        elif tag in (f"{ATOM}subtitle", f"{ATOM}rights") and len(child):
            raise Unsupported
    if alternates > 1:
        raise Unsupported
    if alternates == 0 and feed.id is not None:
        # feedparser: an Atom id is the link when there is no alternate link.
        feed.link, feed.link_from_id = feed.id, True
    return feed


def _atom_entry(entry: etree._Element, lang: str | None, ids: set[str]) -> FastEntry:
    if has_attrs(entry, set()):
        raise Unsupported
    lang = scoped_lang(entry, lang)
    title = entry_id = link = summary = content = None
    published = updated = None
    summary_text = content_text = False
    authors: list[FastPerson] = []
    categories: list[str] = []
    enclosures: list[FastEnclosure] = []
    title_lang = content_lang = summary_lang = None
    repaired = False
    alternates = 0
    for child in entry:
        tag = child.tag
        if tag not in _ATOM_ENTRY:
            raise Unsupported
        if tag == f"{ATOM}title":
            title = _atom_text(child, title)
            title_lang = scoped_lang(child, lang)
        elif tag == f"{ATOM}id":
            entry_id = simple(child, entry_id)
        elif tag == f"{ATOM}link":
            rel = child.get("rel", "alternate")
            if rel == "enclosure":
                if len(child) or has_attrs(child, {"rel", "href", "type", "length", "title"}):
                    raise Unsupported
                href = child.get("href", "").strip()
                if not href:
                    raise Unsupported
                enclosures.append(
                    FastEnclosure(as_feedparser(href), child.get("type"), child.get("length"))
                )
            else:
                href = _atom_link(child)
                if href is not None:
                    alternates += 1
                    link = href
        elif tag == f"{ATOM}published":
            if published is not None:
                raise Unsupported
            published = rfc3339(simple(child, None))
        elif tag == f"{ATOM}updated":
            if updated is not None:
                raise Unsupported
            updated = rfc3339(simple(child, None))
        elif tag == f"{ATOM}author":
            authors.append(_atom_person(child))
        elif tag == f"{ATOM}category":
            if len(child) or has_attrs(child, {"term", "scheme", "label"}):
                raise Unsupported
            term = child.get("term") or child.get("label") or ""
            if "<" in term or "&" in term:
                raise Unsupported
            categories.append(term)
        elif tag == f"{ATOM}summary":
            summary, summary_text, fixed = _atom_content(child, summary)
            repaired |= fixed
            summary_lang = scoped_lang(child, lang)
        elif tag == f"{ATOM}content":
            content, content_text, fixed = _atom_content(child, content)
            repaired |= fixed
            content_lang = scoped_lang(child, lang)
    if alternates > 1:
        raise Unsupported
    from_id = alternates == 0 and entry_id is not None
    if from_id:
        link = entry_id  # as feedparser does, see _atom
    check_id(entry_id, link, ids)
    return FastEntry(
        id=entry_id,
        title=title or "",
        link=link,
        link_from_guid=from_id,
        published=published,
        updated=updated,
        authors=authors,
        categories=categories,
        summary=summary,
        summary_is_text=summary_text,
        content=content,
        content_is_text=content_text,
        enclosures=enclosures,
        language=first_lang(title, title_lang, content, content_lang, summary, summary_lang),
        html_repaired=repaired,
    )


def _atom_link(link: etree._Element) -> str | None:
    """The href of an alternate HTML link; None for other relations."""
    if len(link) or has_attrs(link, {"rel", "href", "type", "title", "hreflang", "length"}):
        raise Unsupported
    if link.get("rel", "alternate") != "alternate":
        return None
    if link.get("type", "text/html") not in ("text/html", "application/xhtml+xml"):
        raise Unsupported
    href = str(link.get("href", "")).strip()
    if not href or not href.isascii():
        raise Unsupported
    return href


def _atom_text(element: etree._Element, previous: str | None) -> str:
    if element.get("type", "text") != "text" or has_attrs(element, {"type", XML_LANG}):
        raise Unsupported
    return text_field(element, previous)


def _atom_content(element: etree._Element, previous: str | None) -> tuple[str, bool, bool]:
    """The value, whether it is plain text, and whether as_feedparser changed it."""
    kind = element.get("type", "text")
    if has_attrs(element, {"type", XML_LANG}):
        raise Unsupported
    value = simple(element, previous)
    repaired = value != (element.text or "").strip()
    if kind == "html":
        return value, False, repaired
    if kind == "text" and "<" not in value and "&" not in value:
        return value, True, repaired
    raise Unsupported


def _atom_person(element: etree._Element) -> FastPerson:
    if element.attrib:
        raise Unsupported
    person = FastPerson(name=None, email=None, uri=None)
    for child in element:
        if child.tag == f"{ATOM}name" and person.name is None:
            person.name = simple(child, None)
            if "@" in person.name or "(" in person.name or "<" in person.name:
                raise Unsupported
        elif child.tag == f"{ATOM}email" and person.email is None:
            person.email = simple(child, None)
        elif child.tag == f"{ATOM}uri" and person.uri is None:
            person.uri = simple(child, None)
        else:
            raise Unsupported
    if person.name is None:
        raise Unsupported  # feedparser derives names from e-mail addresses
    return person


__all__ = ["FastEnclosure", "FastEntry", "FastFeed", "FastPerson", "as_feedparser", "read"]
