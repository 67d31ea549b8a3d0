"""Remote feeds: the bytes of one HTTP response -> :class:`ParsedFeed`.

:func:`parse_feed` reads, in order::

    bytes + headers
      -> JSON Feed?  (content type, or a body starting with "{")  -> jsonfeed.py
      -> else XML:   decode (BOM, HTTP charset, XML declaration, then a guess:
                     decode.py, the project's one encoding guesser)
                     -> drop every DOCTYPE (no entity can ever be expanded or loaded)
                     -> the lxml fast path (fastfeed.py, fastpath.py) when the
                        document is plain RSS 2.0 / Atom 1.0 it reproduces exactly
                     -> else feedparser, the parser of record (strict, falling back
                        to its lenient parser; a bare "&" repaired and retried)
      -> normalise.py: ids, dates, categories, enclosures, provenance

``ParsedFeed.parser`` says which reader made the result. It takes only
picklable arguments and keeps no global state, so it can run in a worker
process. Nothing here does I/O: feedparser gets a byte stream, never a
string it could take for a URL or a file name. Text is decoded once, by
us: a declared single-byte encoding (Latin-1, cp1252, ...) loses to bytes
that are valid UTF-8, a few bad bytes in UTF-8 become U+FFFD, and
``ParsedFeed.note`` says so (how many, or which encoding was guessed); the
build reports it with the source. ``ParsedFeed.bozo`` adds feedparser's own
recovered problems, for logging.
"""

from __future__ import annotations

import html
import io
import re
import xml.sax
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from ..config import FeedSource
from ..decode import decode_feed
from ..exceptions import ParseError
from ..model import Enclosure, Person, utc
from ..sanitize import looks_like_html, plain_text, safe_url, sanitize_html
from ..text import strip_xml_illegal
from . import fastfeed
from .fastpath import NeedsFeedparser, from_fast
from .jsonfeed import is_json, parse_json
from .normalize import (
    MAX_ENTRIES,
    ParsedFeed,
    Raw,
    add_enclosure,
    entries_dropped,
    episode_tags,
    join_notes,
    make_person,
    normalise,
    opt_text,
    plausible_offset,
    struct_time,
)


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
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = utc(now)
    if not content.strip():
        raise ParseError("the server sent an empty body: no feed to read", url=url)
    lower = {k.lower(): v for k, v in headers.items()}
    media_type, charset = _content_type(lower.get("content-type", ""))
    if is_json(content, media_type):
        return parse_json(content, charset, url=url, source=source, now=now)
    return _parse_xml(content, charset, lower, url=url, source=source, now=now, fast=fast)


# --------------------------------------------------------------------------- XML

_ENTRY_END = re.compile(r"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")


def cap_entries(text: str) -> tuple[str, int]:
    """The document without its entries past the first :data:`MAX_ENTRIES`, and
    how many went. Done on the text, so neither reader spends time on them
    (feedparser takes over a millisecond an entry)."""
    if text.count("</") <= MAX_ENTRIES:
        return text, 0
    count = 0
    cut = last = -1
    for match in _ENTRY_END.finditer(text):
        count += 1
        if count == MAX_ENTRIES:
            cut = match.end()
        last = match.end()
    if count <= MAX_ENTRIES:
        return text, 0
    return text[:cut] + text[last:], count - MAX_ENTRIES


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
    text = drop_illegal_char_refs(strip_xml_illegal(strip_doctype(text))[0])
    text, dropped = cap_entries(text)
    if dropped:
        encoding_note = join_notes(encoding_note, entries_dropped(dropped))
    if fast:
        quick = fastfeed.read(text, headers)
        if quick is not None:
            try:
                return from_fast(quick, url=url, source=source, now=now, note=encoding_note)
            except NeedsFeedparser:
                pass
    content_language = headers.get("content-language")
    parsed = _feedparser(text, content_language, url)
    if parsed.get("bozo") and isinstance(parsed.get("bozo_exception"), xml.sax.SAXException):
        # The commonest breakage is a bare "&" (in titles, in URLs). feedparser's lenient
        # parser mangles those ("?a=1&b=2" -> "?a=1&b;=2"), so escape them and retry.
        repaired = escape_bare_ampersands(text)
        if repaired != text:
            second = _feedparser(repaired, content_language, url)
            if not second.get("bozo"):
                parsed = second
                encoding_note = join_notes(encoding_note, "unescaped '&' characters repaired")
    feed = parsed.get("feed", {})
    raw_entries = parsed.get("entries", [])
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not parsed.get("version"):
        reason = f" ({problem})" if problem else ""
        raise ParseError(f"not a feed: no RSS, Atom or JSON Feed structure{reason}", url=url)
    if problem is not None and not raw_entries and not feed.get("title"):
        raise ParseError(f"not a usable feed: {problem}", url=url)
    notes = [n for n in (encoding_note, str(problem) if problem else None) if n]
    if isinstance(problem, xml.sax.SAXParseException):
        # Read as far as it could be (a cut-off download, a broken tag):
        # the source works, and whoever runs the build should hear of it.
        encoding_note = join_notes(
            encoding_note,
            f"not well-formed XML ({problem.getMessage()}): what could be read of it was used",
        )

    title = opt_text(feed.get("title"))
    # An id standing in for the link ("guidislink") is no path to resolve.
    from_id = bool(feed.get("guidislink")) and feed.get("link") == feed.get("id")
    link = safe_url(feed.get("link"), None if from_id else url)
    feed_id = opt_text(feed.get("id"))
    feed_language = opt_text(feed.get("language")) or opt_text(headers.get("content-language"))
    feed_authors = _fp_authors(feed.get("authors"), url)
    atom = str(parsed.get("version")).startswith("atom")
    raws = (
        _fp_entry(raw, url=url, atom=atom, feed_language=feed_language, feed_authors=feed_authors)
        for raw in raw_entries
    )
    bozo = "; ".join(notes) or None
    return normalise(
        raws,
        url=url,
        source=source,
        now=now,
        title=title,
        link=link,
        feed_id=feed_id,
        bozo=bozo,
        parser="feedparser",
        note=encoding_note,
    )


def _feedparser(text: str, content_language: str | None, url: str) -> Any:
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
    try:
        return feedparser.parse(
            io.BytesIO(data),
            response_headers=headers,
            sanitize_html=True,
            resolve_relative_uris=False,
        )
    except MemoryError:
        raise
    except Exception as exc:
        # feedparser's own bug on a hostile document: that document's problem,
        # reported with its source, never the build's.
        raise ParseError(f"feedparser failed: {type(exc).__name__}: {exc}"[:300], url=url) from None


# A character reference to something XML cannot carry (NUL, a surrogate, past
# U+10FFFF): feedparser's lenient parser crashes on some, publishers on all.
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9A-Fa-f]{1,16})|([0-9]{1,24}));?")


def drop_illegal_char_refs(text: str) -> str:
    """``text`` without character references to characters XML 1.0 forbids."""
    if "&#" not in text:
        return text

    def keep(match: re.Match[str]) -> str:
        hex_digits, digits = match.groups()
        code = int(hex_digits, 16) if hex_digits else int(digits)
        legal = (
            code in (0x9, 0xA, 0xD)
            or 0x20 <= code <= 0xD7FF
            or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF
        )
        return match.group(0) if legal else ""

    return _CHAR_REF.sub(keep, text)


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


def _fp_entry(
    raw: Mapping[str, Any],
    *,
    url: str,
    atom: bool,
    feed_language: str | None,
    feed_authors: tuple[Person, ...],
) -> Raw:
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
            add_enclosure(enclosures, link.get("href"), link.get("type"), link.get("length"), url)
    for thumb in raw.get("media_thumbnail") or []:
        add_enclosure(enclosures, thumb.get("url"), None, None, url, image=True)
    for media in raw.get("media_content") or []:
        mtype = str(media.get("type") or "")
        if media.get("medium") == "image" or mtype.startswith("image/"):
            add_enclosure(
                enclosures, media.get("url"), mtype or None, media.get("filesize"), url, image=True
            )

    language = None
    for detail in (raw.get("title_detail"), *(contents or ()), raw.get("summary_detail")):
        if detail and detail.get("language"):
            language = opt_text(detail.get("language"))
            break

    # A guid is a permalink by default, but "1234" is no URL: never resolve one.
    from_guid = bool(raw.get("guidislink")) and raw.get("link") == raw.get("id")
    link = safe_url(raw.get("link"), None if from_guid else url)
    title_raw = str(raw.get("title") or "")
    # Markup if the feed says so (Atom's type; feedparser's guess for RSS) or
    # by our broader guess (feedparser takes "<script>" for text; an Atom
    # text title is text unless a tag in it runs or loads something); plain
    # text keeps its "<" and "&".
    plain = (raw.get("title_detail") or {}).get("type") == "text/plain"
    markup = not plain or looks_like_html(title_raw, declared_text=atom)
    return Raw(
        id=opt_text(raw.get("id")),
        title=plain_text(title_raw, markup=markup),
        link=link,
        published=_date(raw, "published"),
        updated=_date(raw, "updated"),
        authors=_fp_authors(raw.get("authors"), url, raw.get("author")) or feed_authors,
        categories=[
            str(tag.get("term") or tag.get("label") or "") for tag in raw.get("tags") or []
        ],
        summary=summary_html,
        content=content_html,
        enclosures=enclosures,
        language=language or feed_language,
        hash_basis="\n".join((title_raw, str(raw.get("summary") or ""), content_raw)),
        # feedparser: itunes:explicit "yes" is True, "clean" False, else None
        # ("true" too: so it is left unsaid rather than guessed)
        episode=episode_tags(
            raw.get("itunes_duration"),
            raw.get("itunes_episode"),
            raw.get("itunes_season"),
            raw.get("itunes_explicit"),
            (raw.get("image") or {}).get("href"),
            url,
        ),
    )


def _date(raw: Mapping[str, Any], key: str) -> datetime | None:
    if not plausible_offset(_own(raw, key)):
        return None
    return struct_time(_own(raw, f"{key}_parsed"))


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
            person = make_person(fixed.group(2), fixed.group(1), item.get("href"), base)
        else:
            person = make_person(item.get("name"), email, item.get("href"), base)
        if person is not None and person not in people:
            people.append(person)
    return tuple(people)


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
    "decode_xml",
    "escape_bare_ampersands",
    "parse_feed",
    "strip_doctype",
]
