"""A fast reader for plain, well-formed RSS 2.0 and Atom 1.0, or None to say "use feedparser".

feedparser costs about 70 times a bare lxml parse, and most feeds in the wild
use a small, regular subset of their format. :func:`read` handles that subset
with ``lxml.etree`` (no DTD, no entities, no network) and returns the raw
fields feedparser would have given, still unsanitised; ``sources.feeds``
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

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
SY = "{http://purl.org/rss/1.0/modules/syndication/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"

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


class _Unsupported(Exception):
    """Something feedparser should handle; never escapes this module."""


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
    lang = _lang_attr(headers.get("content-language"))
    try:
        if root.tag == "rss" and root.get("version") in ("2.0", "2.0.1", "2.00"):
            return _rss(root, lang)
        if root.tag == f"{ATOM}feed":
            return _atom(root, lang)
    except _Unsupported:
        return None
    return None


# --------------------------------------------------------------------------- RSS 2.0


def _rss(root: etree._Element, lang: str | None) -> FastFeed:
    if len(root) != 1 or root[0].tag != "channel" or _has_attrs(root, {"version"}):
        raise _Unsupported
    lang = _scoped_lang(root, lang)
    channel = root[0]
    lang = _scoped_lang(channel, lang)
    feed = FastFeed(title=None, link=None, id=None, language=None, authors=[])
    seen_item = False
    ids: set[str] = set()
    for child in channel:
        tag = child.tag
        if tag not in _RSS_CHANNEL:
            raise _Unsupported
        if tag == "item":
            seen_item = True
            feed.entries.append(_rss_item(child, lang, ids))
        elif seen_item and tag in ("title", "link", "language"):
            raise _Unsupported  # feedparser's context switching: not worth imitating
        elif tag == "title":
            feed.title = _text_field(child, feed.title)
        elif tag == "link":
            feed.link = _simple(child, feed.link)
        elif tag == "language":
            feed.language = _simple(child, feed.language)
        elif tag == f"{ATOM}link":
            if child.get("rel", "alternate") == "alternate" or len(child):
                raise _Unsupported
        elif tag in ("description", "category") and len(child):
            raise _Unsupported
    if feed.language is None:
        feed.language = lang
    return feed


def _rss_item(item: etree._Element, lang: str | None, ids: set[str]) -> FastEntry:
    if item.attrib:
        raise _Unsupported
    lang = _scoped_lang(item, lang)
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
            raise _Unsupported
        if tag == "title":
            title = _text_field(child, title)
            title_lang = _scoped_lang(child, lang)
        elif tag == "link":
            link = _simple(child, link)
        elif tag == "guid":
            if guid is not None or _has_attrs(child, {"isPermaLink"}):
                raise _Unsupported
            guid = _simple(child, None)
            permalink = child.get("isPermaLink", "true") == "true"
        elif tag == "pubDate":
            if published is not None:
                raise _Unsupported
            published = _rfc822(_simple(child, None))
        elif tag == "description":
            summary, fixed = _html_field(child, summary)
            repaired |= fixed
            summary_lang = _scoped_lang(child, lang)
        elif tag == f"{CONTENT}encoded":
            content, fixed = _html_field(child, content)
            repaired |= fixed
            content_lang = _scoped_lang(child, lang)
        elif tag == f"{DC}creator":
            name = _simple(child, None)
            if authors or "@" in name or "(" in name or "<" in name:
                raise _Unsupported  # feedparser splits e-mail addresses out of names
            authors.append(FastPerson(name=name, email=None, uri=None))
        elif tag == "category":
            if _has_attrs(child, {"domain"}):
                raise _Unsupported
            categories.append(_text_field(child, None))
        elif tag == "enclosure":
            if len(child) or _has_attrs(child, {"url", "type", "length"}) or not child.get("url"):
                raise _Unsupported
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
        elif not _absolute(link):
            raise _Unsupported
        else:
            from_guid = False
    else:
        from_guid = False
    entry_id = guid
    _check_id(entry_id, link, ids)
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
        language=_first_lang(title, title_lang, content, content_lang, summary, summary_lang),
        html_repaired=repaired,
    )


# --------------------------------------------------------------------------- Atom 1.0


def _atom(root: etree._Element, lang: str | None) -> FastFeed:
    lang = _scoped_lang(root, lang)
    feed = FastFeed(title=None, link=None, id=None, language=lang, authors=[])
    ids: set[str] = set()
    seen_entry = False
    alternates = 0
    for child in root:
        tag = child.tag
        if tag not in _ATOM_FEED:
            raise _Unsupported
        if tag == f"{ATOM}entry":
            seen_entry = True
            feed.entries.append(_atom_entry(child, lang, ids))
        elif seen_entry and tag in (f"{ATOM}title", f"{ATOM}link", f"{ATOM}id", f"{ATOM}author"):
            raise _Unsupported
        elif tag == f"{ATOM}title":
            feed.title = _atom_text(child, feed.title)
        elif tag == f"{ATOM}id":
            feed.id = _simple(child, feed.id)
        elif tag == f"{ATOM}link":
            href = _atom_link(child)
            if href is not None:
                alternates += 1
                feed.link = href
        elif tag == f"{ATOM}author":
            feed.authors.append(_atom_person(child))
        elif tag in (f"{ATOM}subtitle", f"{ATOM}rights") and len(child):
            raise _Unsupported
    if alternates > 1:
        raise _Unsupported
    return feed


def _atom_entry(entry: etree._Element, lang: str | None, ids: set[str]) -> FastEntry:
    if _has_attrs(entry, set()):
        raise _Unsupported
    lang = _scoped_lang(entry, lang)
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
            raise _Unsupported
        if tag == f"{ATOM}title":
            title = _atom_text(child, title)
            title_lang = _scoped_lang(child, lang)
        elif tag == f"{ATOM}id":
            entry_id = _simple(child, entry_id)
        elif tag == f"{ATOM}link":
            rel = child.get("rel", "alternate")
            if rel == "enclosure":
                if len(child) or _has_attrs(child, {"rel", "href", "type", "length", "title"}):
                    raise _Unsupported
                href = child.get("href", "").strip()
                if not href:
                    raise _Unsupported
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
                raise _Unsupported
            published = _rfc3339(_simple(child, None))
        elif tag == f"{ATOM}updated":
            if updated is not None:
                raise _Unsupported
            updated = _rfc3339(_simple(child, None))
        elif tag == f"{ATOM}author":
            authors.append(_atom_person(child))
        elif tag == f"{ATOM}category":
            if len(child) or _has_attrs(child, {"term", "scheme", "label"}):
                raise _Unsupported
            term = child.get("term") or child.get("label") or ""
            if "<" in term or "&" in term:
                raise _Unsupported
            categories.append(term)
        elif tag == f"{ATOM}summary":
            summary, summary_text, fixed = _atom_content(child, summary)
            repaired |= fixed
            summary_lang = _scoped_lang(child, lang)
        elif tag == f"{ATOM}content":
            content, content_text, fixed = _atom_content(child, content)
            repaired |= fixed
            content_lang = _scoped_lang(child, lang)
    if alternates > 1:
        raise _Unsupported
    _check_id(entry_id, link, ids)
    return FastEntry(
        id=entry_id,
        title=title or "",
        link=link,
        link_from_guid=False,
        published=published,
        updated=updated,
        authors=authors,
        categories=categories,
        summary=summary,
        summary_is_text=summary_text,
        content=content,
        content_is_text=content_text,
        enclosures=enclosures,
        language=_first_lang(title, title_lang, content, content_lang, summary, summary_lang),
        html_repaired=repaired,
    )


def _atom_link(link: etree._Element) -> str | None:
    """The href of an alternate HTML link; None for other relations."""
    if len(link) or _has_attrs(link, {"rel", "href", "type", "title", "hreflang", "length"}):
        raise _Unsupported
    if link.get("rel", "alternate") != "alternate":
        return None
    if link.get("type", "text/html") not in ("text/html", "application/xhtml+xml"):
        raise _Unsupported
    href = str(link.get("href", "")).strip()
    if not href or not href.isascii():
        raise _Unsupported
    return href


def _atom_text(element: etree._Element, previous: str | None) -> str:
    if element.get("type", "text") != "text" or _has_attrs(element, {"type", XML_LANG}):
        raise _Unsupported
    return _text_field(element, previous)


def _atom_content(element: etree._Element, previous: str | None) -> tuple[str, bool, bool]:
    """The value, whether it is plain text, and whether as_feedparser changed it."""
    kind = element.get("type", "text")
    if _has_attrs(element, {"type", XML_LANG}):
        raise _Unsupported
    value = _simple(element, previous)
    repaired = value != (element.text or "").strip()
    if kind == "html":
        return value, False, repaired
    if kind == "text" and "<" not in value and "&" not in value:
        return value, True, repaired
    raise _Unsupported


def _atom_person(element: etree._Element) -> FastPerson:
    if element.attrib:
        raise _Unsupported
    person = FastPerson(name=None, email=None, uri=None)
    for child in element:
        if child.tag == f"{ATOM}name" and person.name is None:
            person.name = _simple(child, None)
            if "@" in person.name or "(" in person.name or "<" in person.name:
                raise _Unsupported
        elif child.tag == f"{ATOM}email" and person.email is None:
            person.email = _simple(child, None)
        elif child.tag == f"{ATOM}uri" and person.uri is None:
            person.uri = _simple(child, None)
        else:
            raise _Unsupported
    if person.name is None:
        raise _Unsupported  # feedparser derives names from e-mail addresses
    return person


# --------------------------------------------------------------------------- fields


# feedparser maps C1 controls to the characters cp1252 has there (html.py's _cp1252).
_CP1252 = {
    i: bytes([i]).decode("cp1252") for i in range(128, 160) if i not in (129, 141, 143, 144, 157)
}
_C1 = re.compile("[\x80-\x9f]")


def as_feedparser(value: str) -> str:
    """What feedparser's pop() does to every value after parsing (for UTF-8 input)."""
    value = value.strip()
    if value.isascii():
        return value
    # Text that is really UTF-8 read as Latin-1 is repaired.
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    if _C1.search(value):
        value = value.translate(_CP1252)
    return value


def _simple(element: etree._Element, previous: str | None) -> str:
    """Text of a leaf element given once, as feedparser reports it."""
    if previous is not None or len(element):
        raise _Unsupported
    return as_feedparser(element.text or "")


def _text_field(element: etree._Element, previous: str | None) -> str:
    value = _simple(element, previous)
    # feedparser guesses that text with markup or entities in it is HTML and
    # sanitises it; not reproduced here.
    if "<" in value or "&" in value:
        raise _Unsupported
    return value


def _html_field(element: etree._Element, previous: str | None) -> tuple[str, bool]:
    """An HTML value, and whether as_feedparser changed it beyond stripping."""
    if element.attrib:
        raise _Unsupported
    value = _simple(element, previous)
    return value, value != (element.text or "").strip()


def _has_attrs(element: etree._Element, allowed: set[str]) -> bool:
    """Whether ``element`` has an attribute outside ``allowed`` (other than xml:lang)."""
    return any(name not in allowed and name != XML_LANG for name in element.attrib)


def _lang_attr(value: str | None) -> str | None:
    return value.replace("_", "-") if value else None


def _scoped_lang(element: etree._Element, inherited: str | None) -> str | None:
    own = element.get(XML_LANG)
    if own is None:
        return inherited
    return own.replace("_", "-") or None


def _first_lang(*pairs: str | None) -> str | None:
    # feedparser's entry language: the first of title, content, summary present.
    for i in range(0, len(pairs), 2):
        if pairs[i] and pairs[i + 1]:
            return pairs[i + 1]
    return None


def _check_id(entry_id: str | None, link: str | None, ids: set[str]) -> None:
    # Content-hash ids and duplicate handling hash feedparser's own output.
    key = entry_id or link
    if not key or key in ids:
        raise _Unsupported
    ids.add(key)


_ABSOLUTE = re.compile(r"^https?://[^/\s]", re.I)


def _absolute(url: str) -> bool:
    return _ABSOLUTE.match(url) is not None


# --------------------------------------------------------------------------- dates

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
_RFC822 = re.compile(
    r"^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s+)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+"
    r"(\d{2}):(\d{2}):(\d{2})\s+(GMT|UT|UTC|Z|[+-]\d{4})$"
)
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)


def _rfc822(value: str) -> datetime:
    match = _RFC822.match(value)
    if match is None or match.group(2).lower() not in _MONTHS:
        raise _Unsupported
    day, _, year, hour, minute, second, zone = match.groups()
    return _moment(
        int(year), _MONTHS[match.group(2).lower()], int(day), int(hour), int(minute),
        int(second), _offset(zone.replace(":", "")),
    )  # fmt: skip


def _rfc3339(value: str) -> datetime:
    match = _RFC3339.match(value)
    if match is None:
        raise _Unsupported
    year, month, day, hour, minute, second, zone = match.groups()
    return _moment(
        int(year), int(month), int(day), int(hour), int(minute), int(second),
        _offset(zone.replace(":", "")),
    )  # fmt: skip


def _offset(zone: str) -> timedelta:
    if zone in ("GMT", "UT", "UTC", "Z"):
        return timedelta(0)
    sign = -1 if zone[0] == "-" else 1
    return sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))


def _moment(
    year: int, month: int, day: int, hour: int, minute: int, second: int, offset: timedelta
) -> datetime:
    if second > 59 or hour > 23 or minute > 59 or year < 1900:
        raise _Unsupported  # leap seconds and odd values: feedparser's rules apply
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except (ValueError, OverflowError):
        raise _Unsupported from None
    return local.astimezone(UTC)


__all__ = ["FastEnclosure", "FastEntry", "FastFeed", "FastPerson", "as_feedparser", "read"]
