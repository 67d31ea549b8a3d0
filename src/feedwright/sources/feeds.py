"""Remote feeds: the bytes of one HTTP response -> normalised entries.

:func:`parse_feed` is the whole public surface. It reads, in order::

    bytes + headers
      -> JSON Feed?  (content type, or a body starting with "{")  -> json.loads
      -> else XML:   decode (BOM, HTTP charset, XML declaration, then a guess)
                     -> re-encode as UTF-8 with a matching declaration
                     -> drop every DOCTYPE (no entity can ever be expanded)
                     -> feedparser (strict, falling back to its lenient parser)
      -> normalise each entry into model.Entry (ids, dates, links, authors,
         categories, enclosures, sanitised HTML; see _Normaliser)

It takes only picklable arguments and keeps no global state, so it can run in
a process pool. Nothing here does I/O: feedparser gets a byte stream, never a
string it could take for a URL or a file name.

Decisions worth knowing:

- **Ids**: Atom id / RSS guid / JSON Feed id, else the entry link, else
  ``urn:sha256:<hash of title, summary, content>``. When one feed repeats an
  id, an exact repeat (same content) is dropped; a different entry with the
  same id becomes ``<id>#<12 hex digits of its content hash>``, which stays
  the same from fetch to fetch and does not depend on the entries' order.
- **Dates**: published, else updated; ``updated`` defaults to published and
  is never earlier than it. Dates more than a day after ``now`` are clamped
  to ``now``. Entries with no date at all get ``now`` and their ids are listed
  in :attr:`ParsedFeed.undated_ids`: the caller (the store) replaces that with
  the time it first saw the entry, so the date never moves between fetches.
- **Encoding**: a declared single-byte encoding (Latin-1, cp1252, ...) loses
  to bytes that are valid UTF-8; bytes that do not decode as declared are
  tried as UTF-8, then GB18030 or cp1252 (whichever the byte pattern fits).
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import xml.sax
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from feedparser.sanitizer import _sanitize_html as _fp_sanitize

from ..config import FeedSource
from ..decode import decode_feed
from ..exceptions import ParseError
from ..model import Enclosure, Entry, Person, Provenance, utc
from ..sanitize import feedparser_attribute_order, plain_text, safe_url, sanitize_html
from ..text import category_key, strip_xml_illegal
from . import fastfeed

FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """One parsed response: the origin feed's own metadata and its entries."""

    title: str | None
    link: str | None
    feed_id: str | None
    entries: list[Entry]
    bozo: str | None  # a recovered problem (ill-formed XML, guessed encoding), for logging
    # Entries whose feed gave no date: their published/updated are `now` and the
    # caller should keep the first-seen time instead.
    undated_ids: frozenset[str] = field(default_factory=frozenset)


def parse_feed(
    content: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    source: FeedSource,
    now: datetime,
    fast: bool = True,
) -> ParsedFeed:
    """Parse one response body; raise ParseError if no feed can be read from it.

    ``fast=False`` skips the lxml reader (:mod:`.fastfeed`) and always uses
    feedparser: the reference the fast path is tested against.
    """
    now = utc(now)
    lower = {k.lower(): v for k, v in headers.items()}
    media_type, charset = _content_type(lower.get("content-type", ""))
    if _is_json(content, media_type):
        return _parse_json(content, charset, url=url, source=source, now=now)
    return _parse_xml(content, charset, lower, url=url, source=source, now=now, fast=fast)


def parse_feed_slow(
    content: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    source: FeedSource,
    now: datetime,
) -> ParsedFeed:
    """:func:`parse_feed` through feedparser only (the reference behaviour)."""
    return parse_feed(content, url=url, headers=headers, source=source, now=now, fast=False)


# --------------------------------------------------------------------------- XML


def _parse_xml(
    content: bytes,
    charset: str | None,
    headers: Mapping[str, str],
    *,
    url: str,
    source: FeedSource,
    now: datetime,
    fast: bool = True,
) -> ParsedFeed:
    text, encoding_note = decode_xml(content, charset)
    # Stray control characters are a common reason an otherwise fine feed is not XML.
    text = strip_xml_illegal(strip_doctype(text))[0]
    if fast:
        quick = fastfeed.read(text, headers)
        if quick is not None:
            try:
                return _from_fast(quick, url=url, source=source, now=now, note=encoding_note)
            except _NeedsFeedparser:
                pass
    content_language = headers.get("content-language")
    parsed = _feedparser(text, content_language)
    if parsed.get("bozo") and isinstance(parsed.get("bozo_exception"), xml.sax.SAXException):
        # The commonest breakage is a bare "&" (in titles, in URLs). feedparser's lenient
        # parser mangles those ("?a=1&b=2" -> "?a=1&b;=2"), so escape them and retry.
        repaired = escape_bare_ampersands(text)
        if repaired != text:
            second = _feedparser(repaired, content_language)
            if not second.get("bozo"):
                parsed = second
                encoding_note = "; ".join(
                    n for n in (encoding_note, "unescaped '&' characters repaired") if n
                )
    feed = parsed.get("feed", {})
    raw_entries = parsed.get("entries", [])
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not parsed.get("version"):
        reason = f" ({problem})" if problem else ""
        raise ParseError(f"not a feed: no RSS, Atom or JSON Feed structure{reason}", url=url)
    if problem is not None and not raw_entries and not feed.get("title"):
        raise ParseError(f"not a usable feed: {problem}", url=url)
    notes = [n for n in (encoding_note, str(problem) if problem else None) if n]

    title = _opt_text(feed.get("title"))
    link = safe_url(feed.get("link"), url)
    feed_id = _opt_text(feed.get("id"))
    feed_language = _opt_text(feed.get("language")) or _opt_text(headers.get("content-language"))
    feed_authors = _fp_authors(feed.get("authors"), url)
    raws = (
        _fp_entry(raw, url=url, feed_language=feed_language, feed_authors=feed_authors)
        for raw in raw_entries
    )
    bozo = "; ".join(notes) or None
    return _normalise(
        raws, url=url, source=source, now=now, title=title, link=link, feed_id=feed_id, bozo=bozo
    )


def _normalise(
    raws: Iterable[_Raw],
    *,
    url: str,
    source: FeedSource,
    now: datetime,
    title: str | None,
    link: str | None,
    feed_id: str | None,
    bozo: str | None,
) -> ParsedFeed:
    """The one way every reader (feedparser, fast path, JSON) ends: _Raw -> ParsedFeed."""
    norm = _Normaliser(
        url=url,
        source=source,
        now=now,
        provenance=Provenance(url=url, title=source.title or title, link=link, id=feed_id),
    )
    for raw in raws:
        norm.add(raw)
    return ParsedFeed(
        title=title,
        link=link,
        feed_id=feed_id,
        entries=norm.entries,
        bozo=bozo,
        undated_ids=frozenset(norm.undated),
    )


def _feedparser(text: str, content_language: str | None) -> Any:
    data = ('<?xml version="1.0" encoding="utf-8"?>\n' + text).encode("utf-8")
    headers = {
        # We transcoded to UTF-8 ourselves; an XML media type keeps feedparser on
        # its strict parser even when the server said text/html or text/plain.
        "content-type": "application/xml; charset=utf-8",
        # No Content-Location on purpose: feedparser resolves ids as URIs, which would
        # turn <guid>123</guid> into "<feed url>/123" and change every id when the feed
        # moves. Relative links are resolved against the feed URL later instead
        # (xml:base, which is in the document, still applies).
    }
    if content_language:
        headers["content-language"] = content_language
    # feedparser sanitises, but URL resolution in HTML is left to sanitize_html: feedparser
    # resolves attribute values before decoding character references, so it turns
    # "&#106;avascript:" into a path on the feed's host instead of rejecting it.
    return feedparser.parse(
        io.BytesIO(data), response_headers=headers, sanitize_html=True, resolve_relative_uris=False
    )


def _from_fast(
    feed: fastfeed.FastFeed, *, url: str, source: FeedSource, now: datetime, note: str | None
) -> ParsedFeed:
    """What :func:`_parse_xml` would give for ``feed``; _NeedsFeedparser if unsure."""
    title = _opt_text(feed.title)
    link = safe_url(feed.link, url)
    feed_id = _opt_text(feed.id)
    feed_language = _opt_text(feed.language)
    feed_authors = _fast_people(feed.authors, url)
    raws = _fast_raws(feed, url=url, feed_language=feed_language, feed_authors=feed_authors)
    return _normalise(
        raws, url=url, source=source, now=now, title=title, link=link, feed_id=feed_id, bozo=note
    )


def _fast_raws(
    feed: fastfeed.FastFeed,
    *,
    url: str,
    feed_language: str | None,
    feed_authors: tuple[Person, ...],
) -> Iterator[_Raw]:
    for item in feed.entries:
        summary = _fast_html(item.summary, item.summary_is_text, url, item.html_repaired)
        content = _fast_html(item.content, item.content_is_text, url, item.html_repaired)
        if summary is not None and summary == content:
            summary = None
        enclosures: list[Enclosure] = []
        for enc in item.enclosures:
            _add_enclosure(enclosures, enc.href, enc.type, enc.length, url)
        yield _Raw(
            id=_opt_text(item.id),
            title=plain_text(item.title),
            link=safe_url(item.link, None if item.link_from_guid else url),
            published=item.published,
            updated=item.updated,
            authors=_fast_people(item.authors, url) or feed_authors,
            categories=item.categories,
            summary=summary,
            content=content,
            enclosures=enclosures,
            language=_opt_text(item.language) or feed_language,
            hash_basis="",  # unused: fastfeed refuses feeds that would need it
        )


class _NeedsFeedparser(Exception):
    """A value only feedparser's whole pipeline treats exactly as the slow path does."""


# Markup where feedparser's sanitiser and nh3 disagree on what survives (content
# of removed elements, CSS, SVG/MathML, comments, schemes, script cut off at the
# end, a "<" that starts no tag, which sgmllib may drop and nh3 keeps as text):
# for these values run feedparser's own sanitiser first, as the slow path does.
_SUSPECT = re.compile(
    r"<\s*(?:svg|math|style|object|embed|iframe|frame|frameset|form|base|meta|link|template"
    r"|noscript|textarea|select|button|applet|title|head)\b"
    r"|<!|<(?![A-Za-z/])|</(?![A-Za-z])"
    r"|\bstyle\s*=|javascript|vbscript|data:|expression\s*\(",
    re.I,
)


# _SUSPECT is slow on long values (every position tries every branch), so
# _suspect() asks two cheaper questions first and gives the same answer:
# - the tag branches all start with "<"; with it factored out the engine
#   jumps from "<" to "<" instead of trying each branch at each character;
# - the word branches need their letters, which a lower-cased copy shows with
#   ``in`` (after folding the three characters re.I also matches to ASCII
#   letters: "İ" and "ı" to "i", "ſ" to "s"). Only a value that has one of the
#   words is searched with _SUSPECT itself.
_SUSPECT_TAG = re.compile(
    r"<(?:\s*(?:svg|math|style|object|embed|iframe|frame|frameset|form|base|meta|link|template"
    r"|noscript|textarea|select|button|applet|title|head)\b"
    r"|!|(?![A-Za-z/])|/(?![A-Za-z]))",
    re.I,
)
_SUSPECT_WORDS = ("style", "javascript", "vbscript", "data:", "expression")


def _suspect(value: str) -> bool:
    """``_SUSPECT.search(value) is not None``, computed faster."""
    if _SUSPECT_TAG.search(value):
        return True
    folded = value
    if not folded.isascii():
        # str.replace, unlike str.translate, is a fast scan when the character is absent.
        folded = folded.replace("\u0130", "i").replace("\u0131", "i").replace("\u017f", "s")
    folded = folded.lower()
    if any(word in folded for word in _SUSPECT_WORDS):
        return _SUSPECT.search(value) is not None
    return False


_ASCII_LETTER = re.compile(r"[A-Za-z]")


def _fast_html(value: str | None, is_text: bool, base: str, repaired: bool) -> str | None:
    if not value:
        return None
    if is_text:
        return sanitize_html(html.escape(value, quote=False), base) or None
    checked = value
    cut = value.rfind("<")
    if cut > value.rfind(">") and _ASCII_LETTER.fullmatch(value[cut + 1 : cut + 2]):
        # A tag cut off at the end (a truncated summary): both sanitisers drop it,
        # so drop it here before looking for a "<script" it could hide.
        checked = value[:cut]
        if checked[-1:].isspace():
            # sgmllib reads some cut-off tags whole and some not, which decides
            # whether feedparser strips the space before them.
            return _fp_then_nh3(value, base, repaired)
    if _odd_ending(checked) or _suspect(checked) or _malformed(checked):
        return _fp_then_nh3(value, base, repaired)
    return feedparser_attribute_order(sanitize_html(checked, base)) or None


def _fp_then_nh3(value: str, base: str, repaired: bool) -> str | None:
    """The slow path for one HTML value: feedparser's sanitiser, its pop() fix-ups, nh3."""
    if repaired:
        # feedparser sanitises before it repairs mis-decoded text; the raw value is gone.
        raise _NeedsFeedparser
    value = fastfeed.as_feedparser(_fp_sanitize(value, "utf-8", "text/html"))
    return sanitize_html(value, base) or None


# Tags written plainly. Anything else that starts with "<" (a tag broken in the middle,
# an attribute value with "<" in it) is read differently by sgmllib and by html5ever.
_PLAIN_TAG = re.compile(
    r"</?[A-Za-z][A-Za-z0-9]*"
    r"""(?:\s+[A-Za-z_:][-\w:.]*(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>=`]+))?)*\s*/?>"""
)


def _malformed(value: str) -> bool:
    """Whether some "<" in ``value`` does not start a plainly written tag."""
    return "<" in _PLAIN_TAG.sub("", value) if "<" in value else False


# A script element nh3 and feedparser both drop whole (feedparser keeps the character
# references inside a script, so "&" is not plain).
_WHOLE_SCRIPT = re.compile(r"<script(?:\s[^<>]*)?>[^<&]*</script>", re.I)


def _odd_ending(value: str) -> bool:
    """A ``<script>`` that is not a plain pair, or closes the value: read differently."""
    lower = value.lower()
    if lower.endswith("</script>"):
        return True
    return "script" in lower and "<script" in _WHOLE_SCRIPT.sub("", lower).replace("</", "<")


def _fast_people(people: Iterable[fastfeed.FastPerson], base: str) -> tuple[Person, ...]:
    found: list[Person] = []
    for item in people:
        person = _person(item.name, item.email, item.uri, base)
        if person is not None and person not in found:
            found.append(person)
    return tuple(found)


_BARE_AMPERSAND = re.compile(r"&(?!(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][\w.-]{0,40});)")


def escape_bare_ampersands(text: str) -> str:
    """Escape every ``&`` that starts no entity or character reference, outside CDATA."""
    out: list[str] = []
    i = 0
    while True:
        start = text.find("<![CDATA[", i)
        if start < 0:
            out.append(_BARE_AMPERSAND.sub("&amp;", text[i:]))
            return "".join(out)
        end = text.find("]]>", start)
        end = len(text) if end < 0 else end + 3
        out.append(_BARE_AMPERSAND.sub("&amp;", text[i:start]))
        out.append(text[start:end])
        i = end


@dataclass(slots=True)
class _Raw:
    """One entry as read from either format, before normalising."""

    id: str | None
    title: str
    link: str | None
    published: datetime | None
    updated: datetime | None
    authors: tuple[Person, ...]
    categories: list[str]
    summary: str | None  # sanitised HTML
    content: str | None  # sanitised HTML
    enclosures: list[Enclosure]
    language: str | None
    hash_basis: str  # raw title/summary/content, for the content-hash id and duplicates


def _fp_entry(
    raw: Mapping[str, Any], *, url: str, feed_language: str | None, feed_authors: tuple[Person, ...]
) -> _Raw:
    base = url
    contents = raw.get("content") or []
    summary_detail = _own(raw, "summary_detail")
    summary_value = _own(raw, "summary")
    if summary_detail is None and contents and summary_value == contents[0].get("value"):
        # feedparser copies Atom content into "summary" without its detail (so without
        # its xml:base); that copy is not a summary.
        summary_value = None
    summary_html = _fp_html(summary_detail, summary_value, base)
    content_html = None
    content_raw = ""
    for item in contents:
        content_html = _fp_html(item, item.get("value"), base)
        content_raw = str(item.get("value") or "")
        if content_html:
            break
    if summary_html is not None and summary_html == content_html:
        summary_html = None  # feedparser copies Atom content into summary; keep one copy

    enclosures: list[Enclosure] = []
    for link in raw.get("links") or []:
        if link.get("rel") == "enclosure":
            _add_enclosure(enclosures, link.get("href"), link.get("type"), link.get("length"), url)
    for thumb in raw.get("media_thumbnail") or []:
        _add_enclosure(enclosures, thumb.get("url"), None, None, url, image=True)
    for media in raw.get("media_content") or []:
        mtype = str(media.get("type") or "")
        if media.get("medium") == "image" or mtype.startswith("image/"):
            _add_enclosure(
                enclosures, media.get("url"), mtype or None, media.get("filesize"), url, image=True
            )

    language = None
    for detail in (raw.get("title_detail"), *(contents or ()), raw.get("summary_detail")):
        if detail and detail.get("language"):
            language = _opt_text(detail.get("language"))
            break

    # A guid is a permalink by default, but "1234" is no URL: never resolve one.
    from_guid = bool(raw.get("guidislink")) and raw.get("link") == raw.get("id")
    link = safe_url(raw.get("link"), None if from_guid else url)
    title_raw = str(raw.get("title") or "")
    return _Raw(
        id=_opt_text(raw.get("id")),
        title=plain_text(title_raw),
        link=link,
        published=_struct_time(_own(raw, "published_parsed")),
        updated=_struct_time(_own(raw, "updated_parsed")),
        authors=_fp_authors(raw.get("authors"), url, raw.get("author")) or feed_authors,
        categories=[
            str(tag.get("term") or tag.get("label") or "") for tag in raw.get("tags") or []
        ],
        summary=summary_html,
        content=content_html,
        enclosures=enclosures,
        language=language or feed_language,
        hash_basis="\n".join((title_raw, str(raw.get("summary") or ""), content_raw)),
    )


def _own(raw: Mapping[str, Any], key: str) -> Any:
    # FeedParserDict.get aliases updated_parsed to published_parsed (with a warning);
    # we want to know which dates the feed really gave.
    return dict.get(raw, key) if isinstance(raw, dict) else raw.get(key)


def _fp_html(detail: Mapping[str, Any] | None, value: object, base: str) -> str | None:
    if not value:
        return None
    text = str(value)
    kind = str((detail or {}).get("type") or "text/html")
    base = urljoin(base, str((detail or {}).get("base") or ""))
    if kind == "text/plain":
        text = html.escape(text, quote=False)
    return sanitize_html(text, base) or None


# RSS <author>: "email (Name)". feedparser's own pattern only knows 2-4 letter TLDs
# and cuts "desk@radio.example (Desk)" into email "desk@radio.exam".
_RSS_AUTHOR = re.compile(r"^\s*([^\s@()<>]+@[^\s()<>]+)\s*\(([^()]*)\)\s*$")


def _fp_authors(raw: object, base: str, rss_author: object = None) -> tuple[Person, ...]:
    fixed = _RSS_AUTHOR.match(rss_author) if isinstance(rss_author, str) else None
    people: list[Person] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        email = item.get("email")
        if fixed and isinstance(email, str) and fixed.group(1).startswith(email):
            person = _person(fixed.group(2), fixed.group(1), item.get("href"), base)
        else:
            person = _person(item.get("name"), email, item.get("href"), base)
        if person is not None and person not in people:
            people.append(person)
    return tuple(people)


def _person(name: object, email: object, uri: object, base: str) -> Person | None:
    clean_name = _opt_text(name)
    clean_email = _opt_text(email)
    clean_uri = safe_url(str(uri), base) if uri else None
    if not (clean_name or clean_email):
        return None
    return Person(name=clean_name or clean_email or "", email=clean_email, uri=clean_uri)


def _struct_time(value: object) -> datetime | None:
    if not isinstance(value, Sequence) or len(value) < 6:
        return None
    try:
        year, month, day, hour, minute, second = (int(v) for v in value[:6])
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


# --------------------------------------------------------------------------- JSON Feed


def _is_json(content: bytes, media_type: str) -> bool:
    head = content[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return True
    return media_type in ("application/feed+json", "application/json") and not head.startswith(b"<")


def _parse_json(
    content: bytes, charset: str | None, *, url: str, source: FeedSource, now: datetime
) -> ParsedFeed:
    text, note = decode_text(content, charset)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not a feed: invalid JSON ({exc})", url=url) from None
    if not isinstance(doc, dict) or not (
        str(doc.get("version", "")).startswith("https://jsonfeed.org/version/")
        or isinstance(doc.get("items"), list)
    ):
        raise ParseError("not a feed: JSON without a JSON Feed version or items", url=url)
    items = doc.get("items")
    if not isinstance(items, list):
        items = []

    title = _opt_text(doc.get("title"))
    link = safe_url(_str_or_none(doc.get("home_page_url")), url)
    feed_id = safe_url(_str_or_none(doc.get("feed_url")), url)
    feed_language = _opt_text(doc.get("language"))
    feed_authors = _json_authors(doc, url)
    raws = (
        _json_entry(item, url=url, feed_language=feed_language, authors=feed_authors)
        for item in items
        if isinstance(item, dict)
    )
    return _normalise(
        raws, url=url, source=source, now=now, title=title, link=link, feed_id=feed_id, bozo=note
    )


def _json_entry(
    item: Mapping[str, Any], *, url: str, feed_language: str | None, authors: tuple[Person, ...]
) -> _Raw:
    link = safe_url(_str_or_none(item.get("url")), url) or safe_url(
        _str_or_none(item.get("external_url")), url
    )
    content_html = _str_or_none(item.get("content_html"))
    content_text = _str_or_none(item.get("content_text"))
    summary_raw = _str_or_none(item.get("summary"))
    content: str | None = None
    if content_html:
        content = sanitize_html(content_html, url) or None
    elif content_text:
        content = sanitize_html(html.escape(content_text, quote=False), url) or None
    summary = sanitize_html(html.escape(summary_raw, quote=False), url) if summary_raw else None

    enclosures: list[Enclosure] = []
    for key in ("image", "banner_image"):
        _add_enclosure(enclosures, _str_or_none(item.get(key)), None, None, url, image=True)
    for att in item.get("attachments") or []:
        if isinstance(att, dict):
            _add_enclosure(
                enclosures,
                _str_or_none(att.get("url")),
                _str_or_none(att.get("mime_type")),
                att.get("size_in_bytes"),
                url,
            )

    raw_id = item.get("id")
    title_raw = _str_or_none(item.get("title")) or ""
    return _Raw(
        id=_opt_text(str(raw_id)) if isinstance(raw_id, str | int) else None,
        title=plain_text(title_raw),
        link=link,
        published=_iso_date(item.get("date_published")),
        updated=_iso_date(item.get("date_modified")),
        authors=_json_authors(item, url) or authors,
        categories=[t for t in item.get("tags") or [] if isinstance(t, str)],
        summary=summary or None,
        content=content,
        enclosures=enclosures,
        language=_opt_text(item.get("language")) or feed_language,
        hash_basis="\n".join((title_raw, summary_raw or "", content_html or content_text or "")),
    )


def _json_authors(obj: Mapping[str, Any], base: str) -> tuple[Person, ...]:
    raw = obj.get("authors")
    if not isinstance(raw, list):
        raw = [obj["author"]] if isinstance(obj.get("author"), dict) else []  # JSON Feed 1.0
    people: list[Person] = []
    for item in raw:
        if isinstance(item, dict):
            person = _person(item.get("name"), None, _str_or_none(item.get("url")), base)
            if person is not None and person not in people:
                people.append(person)
    return tuple(people)


def _iso_date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


# --------------------------------------------------------------------------- normalising


class _Normaliser:
    """Turns _Raw entries into Entries: ids, dates, categories, provenance."""

    def __init__(self, *, url: str, source: FeedSource, now: datetime, provenance: Provenance):
        self.url = url
        self.source = source
        self.now = now
        self.provenance = provenance
        self.category_map = {category_key(k): v for k, v in source.category_map.items()}
        self.entries: list[Entry] = []
        self.undated: list[str] = []
        self._seen: dict[str, str] = {}  # id -> content hash of the entry that took it

    def add(self, raw: _Raw) -> None:
        digest = hashlib.sha256(raw.hash_basis.encode("utf-8", "surrogatepass")).hexdigest()
        entry_id = raw.id or raw.link or f"urn:sha256:{digest}"
        if entry_id in self._seen:
            if self._seen[entry_id] == digest:
                return  # the same entry listed twice
            entry_id = f"{entry_id}#{digest[:12]}"
            if entry_id in self._seen:
                return
        self._seen[entry_id] = digest

        published = raw.published or raw.updated
        updated = raw.updated or published
        if published is None or updated is None:
            published = updated = self.now
            self.undated.append(entry_id)
        limit = self.now + FUTURE_SLACK
        published = self.now if published > limit else published
        updated = self.now if updated > limit else updated
        updated = max(updated, published)

        self.entries.append(
            Entry(
                id=entry_id,
                title=raw.title,
                published=published,
                updated=updated,
                link=raw.link,
                authors=raw.authors,
                categories=self._categories(raw.categories),
                summary=raw.summary,
                content=raw.content,
                enclosures=tuple(raw.enclosures),
                source=self.provenance,
                language=raw.language,
                origin=self.url,
            )
        )

    def _categories(self, incoming: Iterable[str]) -> tuple[str, ...]:
        names: list[str] = []
        if self.source.keep_categories:
            for name in incoming:
                name = plain_text(name)
                if not name:
                    continue
                key = category_key(name)
                if key in self.category_map:
                    mapped = self.category_map[key]
                    if mapped is None:
                        continue
                    name = mapped
                names.append(name)
        names.extend(self.source.categories)
        seen: set[str] = set()
        result: list[str] = []
        for name in names:
            key = category_key(name)
            if key and key not in seen:
                seen.add(key)
                result.append(name)
        return tuple(result)


# --------------------------------------------------------------------------- enclosures

_EXTENSION_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
    "webp": "image/webp", "avif": "image/avif", "svg": "image/svg+xml", "bmp": "image/bmp",
    "mp3": "audio/mpeg", "m4a": "audio/mp4", "aac": "audio/aac", "ogg": "audio/ogg",
    "oga": "audio/ogg", "opus": "audio/opus", "wav": "audio/wav", "flac": "audio/flac",
    "mp4": "video/mp4", "m4v": "video/mp4", "webm": "video/webm", "mov": "video/quicktime",
    "ogv": "video/ogg", "pdf": "application/pdf", "epub": "application/epub+zip",
    "zip": "application/zip",
}  # fmt: skip
_MIME = re.compile(r"^[\w.+-]+/[\w.+-]+$")


def _add_enclosure(
    found: list[Enclosure],
    href: object,
    mime: object,
    length: object,
    base: str,
    *,
    image: bool = False,
) -> None:
    url = safe_url(str(href), base) if href else None
    if url is None or any(e.url == url for e in found):
        return
    kind = str(mime or "").strip().lower().split(";")[0].strip()
    if not _MIME.match(kind):
        kind = _guess_type(url, image=image)
    found.append(Enclosure(url=url, type=kind, length=_length(length)))


def _guess_type(url: str, *, image: bool) -> str:
    # A fixed table rather than `mimetypes`, whose answers depend on the machine.
    path = urlsplit(url).path
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    guessed = _EXTENSION_TYPES.get(ext)
    if image:
        return guessed if guessed and guessed.startswith("image/") else "image/jpeg"
    return guessed or "application/octet-stream"


def _length(value: object) -> int:
    try:
        number = int(str(value).strip()) if value is not None else 0
    except ValueError:
        return 0
    return max(number, 0)


# --------------------------------------------------------------------------- text


def _opt_text(value: object) -> str | None:
    if value is None:
        return None
    text = plain_text(str(value))
    return text or None


# --------------------------------------------------------------------------- bytes -> text

_XML_DECL = re.compile(rb"^<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
_XML_DECL_TEXT = re.compile(r"^<\?xml[^>]{0,300}?\?>")


def _content_type(value: str) -> tuple[str, str | None]:
    media, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip():
            charset = val.strip().strip("\"'")
    return media.strip().lower(), charset


def decode_xml(content: bytes, charset: str | None) -> tuple[str, str | None]:
    """Bytes -> text without its BOM or XML declaration, plus a note if it was a guess."""
    declared = None
    match = _XML_DECL.match(content.lstrip(b"\xef\xbb\xbf \t\r\n"))
    if match:
        declared = match.group(1).decode("ascii")
    text, note = decode_feed(content, [charset, declared])
    text = text.lstrip("\ufeff \t\r\n")
    return _XML_DECL_TEXT.sub("", text, count=1), note


def decode_text(content: bytes, charset: str | None) -> tuple[str, str | None]:
    """Bytes of a non-XML document (JSON) -> text, plus a note if it was a guess."""
    text, note = decode_feed(content, [charset])
    return text.lstrip("\ufeff"), note


# --------------------------------------------------------------------------- DOCTYPE

_DOCTYPE_SPECIAL = re.compile(r"[\"'\]<>\[]")


def strip_doctype(text: str) -> str:
    """Remove every DOCTYPE from the prolog, internal subset included, in linear time.

    With no DOCTYPE there are no entity declarations, so neither expat nor
    feedparser's lenient parser can expand one (billion laughs) or load one
    (XXE). Predefined entities and character references still work; unknown
    ones like ``&nbsp;`` push feedparser to its lenient parser, which knows HTML's.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ws = i
        while i < n and text[i] in " \t\r\n":
            i += 1
        if text.startswith("<?", i):
            end = text.find("?>", i + 2)
            stop = n if end < 0 else end + 2
            out.append(text[ws:stop])
            i = stop
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            stop = n if end < 0 else end + 3
            out.append(text[ws:stop])
            i = stop
        elif text[i : i + 9].upper() == "<!DOCTYPE":
            out.append(text[ws:i])
            i = _doctype_end(text, i + 9)
        else:
            out.append(text[ws:])
            break
    return "".join(out)


def _doctype_end(text: str, i: int) -> int:
    """Index just past the DOCTYPE whose keyword ends at ``i`` (len(text) if unterminated)."""
    n = len(text)
    in_subset = False
    while True:
        match = _DOCTYPE_SPECIAL.search(text, i)
        if match is None:
            return n
        char, i = match.group(), match.start()
        if char in "\"'":
            end = text.find(char, i + 1)
            if end < 0:
                return n
            i = end + 1
        elif char == "[":
            in_subset = True
            i += 1
        elif char == "]":
            in_subset = False
            i += 1
        elif char == "<" and text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                return n
            i = end + 3
        elif char == ">" and not in_subset:
            return i + 1
        else:
            i += 1


__all__ = [
    "ParsedFeed",
    "decode_text",
    "decode_xml",
    "escape_bare_ampersands",
    "parse_feed",
    "parse_feed_slow",
    "strip_doctype",
]
