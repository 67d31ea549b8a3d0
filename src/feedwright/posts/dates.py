"""Every date a post may carry, as an aware UTC datetime: the one date parser.

Accepted, tried in this order::

    datetime / date objects     TOML's (YAML dates stay text: see frontmatter.py)
    YYYY-MM-DD[ HH:MM[:SS[.f]]] with ``-`` or ``/``, ``T`` or spaces, and an
                                optional zone: Z, UTC, GMT, +08, +0800, +08:00
    ISO 8601                    what ``datetime.fromisoformat`` reads (basic
                                format ``20220627T210500``, week dates, ...)
    RFC 2822                    ``Mon, 27 Jun 2022 13:05:00 GMT`` / ``+0800``;
                                its date alone, ``27 Jun 2022`` (Hugo reads it)

A date without a zone is in ``site.timezone``. An impossible date (31
February, hour 25) and a zone offset of 24 hours or more are refused, never
wrapped around into another day.
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
    r"(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"[ \t]*(?:(Z|z|UTC|GMT)|([+-])(\d{1,2})(?::?(\d{2}))?)?\Z"
)
_ENDS_WITH_TIME = re.compile(r"\d:\d\d(?::\d\d)?\s*\Z")
_DAY_MONTH_YEAR = re.compile(r"(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\Z")
_DAY = timedelta(days=1)
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
        if m[8]:
            return dt.replace(tzinfo=UTC)
        if m[9]:
            offset = timedelta(hours=int(m[10]), minutes=int(m[11] or 0))
            if offset >= _DAY or int(m[11] or 0) >= 60:
                raise DateError("has a zone offset of 24 hours or more")
            return (dt - offset if m[9] == "+" else dt + offset).replace(tzinfo=UTC)
        return dt.replace(tzinfo=local).astimezone(UTC)
    try:
        iso = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return parse_date(iso, local)
    if _DAY_MONTH_YEAR.match(text):
        text += " 00:00"  # the day's start, in the local zone as below
    try:
        parts = parsedate_tz(text)
    except (ValueError, IndexError):  # digits beyond int()'s limit, odd tokens
        parts = None
    if parts is None:
        raise DateError(f"cannot be understood as a date ({_FORMS})")
    year, month, day, hour, minute, second = parts[:6]
    offset_seconds = parts[9]
    try:
        dt = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise DateError(f"is not a possible date ({exc})") from None
    if _ENDS_WITH_TIME.search(text):
        # No zone after the time: local, like every other zone-less date here.
        return dt.replace(tzinfo=local).astimezone(UTC)
    if offset_seconds is None:  # "-0000": RFC 2822's "UTC, local zone unknown"
        return dt.replace(tzinfo=UTC)
    if abs(offset_seconds) >= _DAY.total_seconds():
        raise DateError("has a zone offset of 24 hours or more")
    return (dt - timedelta(seconds=offset_seconds)).replace(tzinfo=UTC)


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


__all__ = ["DateError", "first_date", "parse_date", "zone"]
