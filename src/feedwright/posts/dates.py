"""Every date a post may carry, as an aware UTC datetime: the one date parser.

Accepted, tried in this order::

    datetime / date objects     TOML's (YAML dates stay text: see frontmatter.py)
    YYYY-MM-DD[ HH:MM[:SS[.f]]] with ``-`` or ``/``, ``T`` or spaces, and an
                                optional zone: Z, +08, +0800, +08:00, or
                                any RFC 2822's may have (``CST``,
                                ``GMT+0800``), or Go's ``+0800 CST``; a
                                date alone: Z, UTC, GMT or an offset
    ISO 8601                    what ``datetime.fromisoformat`` reads (basic
                                format ``20220627T210500``, week dates, ...)
    RFC 2822                    ``Mon, 27 Jun 2022 13:05:00 GMT`` / ``+0800`` /
                                ``+08:00`` / ``GMT+0800`` / ``UTC+8``, then
                                maybe a comment, ``(CST)``; the form of
                                ``date`` and JavaScript's ``Date`` too
                                (``Mon Jun 27 13:05:00 CST 2022``,
                                ``Mon Jun 27 2022 13:05:00 GMT+0800``); its
                                date alone, ``27 Jun 2022`` (Hugo reads it)

A date without a zone is in ``site.timezone``. Every form reads its zone
by one rule, :func:`_zone_offset`'s: an offset is what it says (a name
after it, as Go prints a time, ``+0800 CST``, only labels it); ``UT``,
``UTC``, ``GMT`` and ``Z`` are UTC; a zone name is RFC 2822's (``EST`` ...
``PDT``) unless it is the name ``site.timezone`` goes by at that time
(``CST`` in ``Asia/Shanghai``: China's, as ``date`` printed it there); any
other name (``BST``, ``Asia/Shanghai``) is refused, never read as UTC.
The weekday RFC 2822 may name is not read, as Go, Ruby, JavaScript and
``email.utils`` parse past it (``check`` warns when it is not the date's:
:func:`wrong_weekday`). An impossible date (31 February, hour 25) and a
zone offset of 24 hours or more are refused, never wrapped around into
another day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from email.utils import parsedate_tz
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from ..exceptions import PostError
from ..model import MAX_YEAR, MIN_YEAR

_DATE = re.compile(
    r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
    r"(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"[ \t]*([A-Za-z+-].*)?"  # after a time, any zone: _zone_offset reads it or says why not
    r"|[ \t]*([Zz]|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?)?)\Z"  # after a date alone, these
)
_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")  # the first one: the time of day
_COMMENT = re.compile(r"\s*\([^()]*\)\s*\Z")  # "(China Standard Time)"
_OFFSET = re.compile(
    r"(?:(?:GMT|UTC|UT)(?=[+-]))?([+-])(\d{1,2})(?::?(\d{2})(?::(\d{2}))?)?\Z", re.I
)  # +08:00:30 too, as datetime.fromisoformat reads it
_LABELLED = re.compile(r"([+-]\d{4}) (?:[A-Za-z]{2,6}|[+-]\d{2}(?:\d{2})?)\Z")
_UTC_NAMES = frozenset({"UT", "UTC", "GMT", "Z"})
_FIXED: dict[str, timedelta] = {}  # a zone as written -> its offset, whatever site or date
_RFC_2822_ZONES = {"EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
                   "MST": -7, "MDT": -6, "PST": -8, "PDT": -7}  # fmt: skip
_DAY_MONTH_YEAR = re.compile(r"(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\Z")
_DAY = timedelta(days=1)
_WEEKDAY = re.compile(r"([A-Za-z]{3,9}),?\s")  # "Wed, 05 Mar 2024", "Wed Mar 05 ..."
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY_NAMES = {name.lower(): i for i, day in enumerate(_WEEKDAYS) for name in (day, day[:3])}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December")  # fmt: skip
_FORMS = "use RFC 2822, ISO 8601 or YYYY-MM-DD HH:MM:SS"


class DateError(ValueError):
    """Why a value is not a date, as the end of a sentence about it."""


@cache
def zone(name: str) -> tzinfo:
    """The IANA time zone ``name`` (validated by the config)."""
    return ZoneInfo(name)


def parse_date(value: object, local: tzinfo) -> datetime:
    """``value`` as an aware UTC datetime; without a zone it is in ``local``.

    Raises DateError saying why not.
    """
    try:
        if isinstance(value, datetime):
            dt = value if value.tzinfo is not None else value.replace(tzinfo=local)
            found = dt.astimezone(UTC)
        elif isinstance(value, date):
            found = datetime.combine(value, time(), local).astimezone(UTC)
        elif isinstance(value, time):
            raise DateError("is a time of day without a date")
        elif not isinstance(value, str):
            raise DateError(f"cannot be understood as a date ({_FORMS})")
        else:
            found = _parse_text(value.strip(), local)
    except OverflowError:
        raise DateError("is out of the range of dates") from None
    if not MIN_YEAR <= found.year <= MAX_YEAR:
        raise DateError(f"is out of the range of dates (years {MIN_YEAR} to {MAX_YEAR})")
    return found


def _parse_text(text: str, local: tzinfo) -> datetime:
    m = _DATE.match(text)
    if m:
        frac = (m[7] or "")[:6].ljust(6, "0")
        try:
            dt = datetime(
                int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0), int(m[6] or 0),
                int(frac),
            )  # fmt: skip
        except ValueError as exc:
            raise DateError(f"is not a possible date ({exc})") from None
        zone_text = m[8] or m[9]
        if zone_text is None:
            return dt.replace(tzinfo=local).astimezone(UTC)
        return (dt - _zone_offset(zone_text, dt, local)).replace(tzinfo=UTC)
    try:
        iso = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return parse_date(iso, local)
    if _DAY_MONTH_YEAR.match(text):
        text += " 00:00"  # the day's start, in the local zone as below
    # The zone is read here, not by parsedate_tz: it reads every zone it does
    # not know (GMT+0800, +08:00, BST) as UTC, and so a date whose year
    # follows the time (`date`'s form), zone-less, too.
    head, zone_text = _split_zone(text)
    try:
        parts = parsedate_tz(head)
    except (ValueError, IndexError):  # digits beyond int()'s limit, odd tokens
        parts = None
    if parts is None:
        raise DateError(f"cannot be understood as a date ({_FORMS})")
    year, month, day, hour, minute, second = parts[:6]
    try:
        dt = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise DateError(f"is not a possible date ({exc})") from None
    if not zone_text:  # no zone after the time: local, like every zone-less date here
        return dt.replace(tzinfo=local).astimezone(UTC)
    return (dt - _zone_offset(zone_text, dt, local)).replace(tzinfo=UTC)


def _split_zone(text: str) -> tuple[str, str]:
    """``text`` without its zone (a year after the time kept), and the zone."""
    time_of_day = _TIME.search(text)
    if time_of_day is None:
        return text, ""
    head, rest = text[: time_of_day.end()], _COMMENT.sub("", text[time_of_day.end() :])
    words = rest.split()
    if words and re.fullmatch(r"\d{4}", words[-1]):  # Mon Jun 27 13:05:00 [CST] 2022
        head += " " + words.pop()
    return head, " ".join(words)


def _zone_offset(name: str, wall: datetime, local: tzinfo) -> timedelta:
    """The offset from UTC of the zone ``name`` written after the time
    ``wall``: every form of date reads its zone here, by one rule."""
    fixed = _FIXED.get(name)
    if fixed is not None:  # nearly every date: Z, GMT, +08:00 seen before
        return fixed
    labelled = _LABELLED.match(name)  # Go's "+0800 CST": the offset says it
    m = _OFFSET.match(labelled[1] if labelled else name)
    if m:
        minutes, seconds = int(m[3] or 0), int(m[4] or 0)
        offset = timedelta(hours=int(m[2]), minutes=minutes, seconds=seconds)
        if offset >= _DAY or minutes >= 60 or seconds >= 60:
            raise DateError("has a zone offset of 24 hours or more")
        return _fixed(name, offset if m[1] == "+" else -offset)
    upper = name.upper()
    if upper in _UTC_NAMES:
        return _fixed(name, timedelta(0))
    at = wall.replace(tzinfo=local)
    if upper == (at.tzname() or "").upper():  # the name the site's zone goes by then
        return at.utcoffset() or timedelta(0)
    if upper in _RFC_2822_ZONES:
        return timedelta(hours=_RFC_2822_ZONES[upper])
    if upper in ("AM", "PM"):  # not a zone: a 12-hour clock, which no form here is
        raise DateError(f"cannot be understood as a date ({_FORMS})")
    raise DateError(
        f"has a time zone that cannot be read ({name!r}): write it as an offset, as +0800"
    )


def _fixed(name: str, offset: timedelta) -> timedelta:
    """``offset``, remembered as what ``name`` says whatever the date and site."""
    if len(_FIXED) < 512:
        _FIXED[name] = offset
    return offset


def wrong_weekday(value: object) -> str | None:
    """What is wrong when ``value`` names a weekday its date does not fall
    on (``Wed, 05 Mar 2024``: "says Wednesday, but 5 March 2024 is a
    Tuesday"); None when it names none, the right one, or is no such date.
    The date as written is the one read: only ``check`` asks this."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    named = _WEEKDAY.match(text)
    if named is None or named[1].lower() not in _WEEKDAY_NAMES:
        return None
    if _DAY_MONTH_YEAR.match(text):
        text += " 00:00"
    try:
        parts = parsedate_tz(_split_zone(text)[0])
        day = date(*parts[:3]) if parts else None
    except (ValueError, IndexError, OverflowError):
        return None
    weekday = _WEEKDAY_NAMES[named[1].lower()]
    if day is None or day.weekday() == weekday:
        return None
    return (
        f"says {_WEEKDAYS[weekday]}, but {day.day} {_MONTHS[day.month - 1]} {day.year}"
        f" is a {_WEEKDAYS[day.weekday()]}"
    )


def first_date(
    meta: Mapping[str, Any], keys: Iterable[str], local: tzinfo, path: str
) -> datetime | None:
    """The date under the first of ``keys`` that has one; None if none has.

    Raises PostError naming the key and the value when that one is no date.
    """
    for key in keys:
        value = meta.get(key)
        if value is None or value == "":
            continue
        try:
            return parse_date(value, local)
        except DateError as exc:
            if str(exc).startswith("cannot be understood"):
                message = f"{key}: cannot understand {value!r} as a date ({_FORMS})"
            else:
                message = f"{key}: {value!r} {exc}"
            raise PostError(message, path=path) from None
    return None


__all__ = ["DateError", "first_date", "parse_date", "wrong_weekday", "zone"]
