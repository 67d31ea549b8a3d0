"""The lxml reader's field rules: each value as feedparser would report it, or
:class:`Unsupported` when feedparser's treatment is not reproduced here."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta, timezone

from lxml import etree

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class Unsupported(Exception):
    """Something feedparser should handle; never escapes the fast path."""


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


def simple(element: etree._Element, previous: str | None) -> str:
    """Text of a leaf element given once, as feedparser reports it."""
    if previous is not None or len(element):
        raise Unsupported
    return as_feedparser(element.text or "")


def text_field(element: etree._Element, previous: str | None) -> str:
    value = simple(element, previous)
    # feedparser guesses that text with markup or entities in it is HTML and
    # sanitises it; not reproduced here.
    if "<" in value or "&" in value:
        raise Unsupported
    return value


def html_field(element: etree._Element, previous: str | None) -> tuple[str, bool]:
    """An HTML value, and whether as_feedparser changed it beyond stripping."""
    if element.attrib:
        raise Unsupported
    value = simple(element, previous)
    return value, value != (element.text or "").strip()


def has_attrs(element: etree._Element, allowed: set[str]) -> bool:
    """Whether ``element`` has an attribute outside ``allowed`` (other than xml:lang)."""
    return any(name not in allowed and name != XML_LANG for name in element.attrib)


def lang_attr(value: str | None) -> str | None:
    return value.replace("_", "-") if value else None


def scoped_lang(element: etree._Element, inherited: str | None) -> str | None:
    own = element.get(XML_LANG)
    if own is None:
        return inherited
    return own.replace("_", "-") or None


def first_lang(*pairs: str | None) -> str | None:
    # feedparser's entry language: the first of title, content, summary present.
    for i in range(0, len(pairs), 2):
        if pairs[i] and pairs[i + 1]:
            return pairs[i + 1]
    return None


def check_id(entry_id: str | None, link: str | None, ids: set[str]) -> None:
    # Content-hash ids and duplicate handling hash feedparser's own output.
    key = entry_id or link
    if not key or key in ids:
        raise Unsupported
    ids.add(key)


_ABSOLUTE = re.compile(r"^https?://[^/\s]", re.I)


def absolute(url: str) -> bool:
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


def rfc822(value: str) -> datetime:
    match = _RFC822.match(value)
    if match is None or match.group(2).lower() not in _MONTHS:
        raise Unsupported
    day, _, year, hour, minute, second, zone = match.groups()
    return _moment(
        int(year), _MONTHS[match.group(2).lower()], int(day), int(hour), int(minute),
        int(second), _offset(zone.replace(":", "")),
    )  # fmt: skip


def rfc3339(value: str) -> datetime:
    match = _RFC3339.match(value)
    if match is None:
        raise Unsupported
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
        raise Unsupported  # leap seconds and odd values: feedparser's rules apply
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except (ValueError, OverflowError):
        raise Unsupported from None
    return local.astimezone(UTC)


__all__ = [
    "Unsupported",
    "absolute",
    "as_feedparser",
    "check_id",
    "first_lang",
    "has_attrs",
    "html_field",
    "lang_attr",
    "rfc822",
    "rfc3339",
    "scoped_lang",
    "simple",
    "text_field",
]  # fmt: skip
