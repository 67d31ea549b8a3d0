"""The lxml reader's output -> raw entries, exactly as the feedparser path makes them.

:mod:`.fastfeed` reads the XML; this module sanitises its values the way
parse.py sanitises feedparser's. feedparser runs its own sanitiser before
ours (nh3); for markup where the two agree, nh3 alone gives the same result
once attributes are put in feedparser's order. Where they might not (the
:data:`_SUSPECT` constructs, malformed or cut-off tags, scripts that are not a
plain pair), the value goes through feedparser's sanitiser first, as the
slow path does. :class:`NeedsFeedparser` sends the whole feed to feedparser
when even that cannot reproduce it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from feedparser.sanitizer import _sanitize_html as _fp_sanitize

from ..config import FeedSource
from ..model import Enclosure, Person
from ..sanitize import feedparser_attribute_order, plain_text, safe_url, sanitize_html
from . import fastfeed
from .normalize import ParsedFeed, Raw, add_enclosure, make_person, normalise, opt_text


def from_fast(
    feed: fastfeed.FastFeed, *, url: str, source: FeedSource, now: datetime, note: str | None
) -> ParsedFeed:
    """What :func:`_parse_xml` would give for ``feed``; NeedsFeedparser if unsure."""
    title = opt_text(feed.title)
    link = safe_url(feed.link, None if feed.link_from_id else url)
    feed_id = opt_text(feed.id)
    feed_language = opt_text(feed.language)
    feed_authors = _fast_people(feed.authors, url)
    raws = _fast_raws(feed, url=url, feed_language=feed_language, feed_authors=feed_authors)
    return normalise(
        raws,
        url=url,
        source=source,
        now=now,
        title=title,
        link=link,
        feed_id=feed_id,
        bozo=note,
        parser="lxml",
        note=note,
    )


def _fast_raws(
    feed: fastfeed.FastFeed,
    *,
    url: str,
    feed_language: str | None,
    feed_authors: tuple[Person, ...],
) -> Iterator[Raw]:
    for item in feed.entries:
        summary = _fast_html(item.summary, item.summary_is_text, url, item.html_repaired)
        content = _fast_html(item.content, item.content_is_text, url, item.html_repaired)
        if summary is not None and summary == content:
            summary = None
        enclosures: list[Enclosure] = []
        for enc in item.enclosures:
            add_enclosure(enclosures, enc.href, enc.type, enc.length, url)
        yield Raw(
            id=opt_text(item.id),
            title=plain_text(item.title),
            link=safe_url(item.link, None if item.link_from_guid else url),
            published=item.published,
            updated=item.updated,
            authors=_fast_people(item.authors, url) or feed_authors,
            categories=item.categories,
            summary=summary,
            content=content,
            enclosures=enclosures,
            language=opt_text(item.language) or feed_language,
            hash_basis="",  # unused: fastfeed refuses feeds that would need it
        )


class NeedsFeedparser(Exception):
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
        raise NeedsFeedparser
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
        person = make_person(item.name, item.email, item.uri, base)
        if person is not None and person not in found:
            found.append(person)
    return tuple(found)


__all__ = ["NeedsFeedparser", "from_fast"]
