"""When to check a remote feed next, and the duration/size syntax of config.yaml.

Everything here is a pure function of its arguments (no clock, no I/O), so
the scheduling policy can be read and tested in one place::

    success  -> now + every + jitter
                (every: the source's own, or, with schedule.adaptive, one
                adapted to how often the feed really publishes: adaptive_interval)
                but not before now + Cache-Control max-age or RSS <ttl>
                (each capped at a day), and never in an hour or on a day the
                feed's <skipHours> / <skipDays> rule out
    error n  -> now + backoff(n, every) + jitter    (every, 2*every, 4*every, ... <= a day)
    error n with Retry-After (capped at a week)
             -> when the server said, even if sooner than the backoff; but a
                streak still backs off: not before now + backoff(n - 1, every)
                (n = 1: exactly when the server said)
    410 Gone -> no next check at all (decided by the caller)

Jitter is derived from a hash of the source's key, so it is the same on every
run and machine (testable, and a restart does not reshuffle the schedule),
yet feeds of one host that share an interval do not all fire at once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

# Neither an erroring feed nor a Cache-Control header may push the next check
# further out than this (unless the feed's own interval is longer).
MAX_BACKOFF = timedelta(days=1)
MAX_CACHE_WAIT = timedelta(days=1)
# The longest a server's Retry-After is believed.
MAX_RETRY_AFTER = timedelta(days=7)

# 2**30 intervals is far beyond MAX_BACKOFF for any sane interval; clamping the
# exponent keeps timedelta arithmetic from overflowing on a huge error streak.
_MAX_EXPONENT = 30


def next_check(
    *,
    now: datetime,
    every: timedelta,
    key: str,
    jitter: float = 0.1,
    error_count: int = 0,
    retry_after: datetime | None = None,
    max_age: timedelta | None = None,
    ttl: timedelta | None = None,
    skip_hours: frozenset[int] = frozenset(),
    skip_days: frozenset[int] = frozenset(),
) -> datetime:
    """The moment a feed keyed ``key`` is due again (see the module docstring for the rules).

    ``skip_hours`` are UTC hours (0-23), ``skip_days`` weekdays (0 = Monday).
    """
    if retry_after is not None and error_count > 0:
        retry_after = min(retry_after, now + MAX_RETRY_AFTER)
        if error_count == 1:
            return max(retry_after, now)
        return max(retry_after, now + backoff(error_count - 1, every))
    interval = backoff(error_count, every) if error_count > 0 else every
    when = now + interval + jitter_for(key, interval, jitter)
    if error_count <= 0:
        for wait in (max_age, ttl):
            if wait is not None:
                when = max(when, now + min(wait, MAX_CACHE_WAIT))
        when = skip_ahead(when, skip_hours, skip_days)
    if retry_after is not None:
        when = max(when, retry_after)
    return when


def skip_ahead(when: datetime, skip_hours: frozenset[int], skip_days: frozenset[int]) -> datetime:
    """``when``, or the start of the first later hour that is neither a skipped
    hour nor on a skipped day (UTC). A feed that skips every hour of the week is
    not believed."""
    if not skip_hours and not skip_days:
        return when
    if len(skip_hours) >= 24 or len(skip_days) >= 7:
        return when
    at = when.astimezone(UTC)
    moved = False
    for _ in range(24 * 7):
        if at.hour not in skip_hours and at.weekday() not in skip_days:
            return at if moved else when
        at = at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        moved = True
    return when  # pragma: no cover (every hour of the week cannot be skipped here)


# How far back adaptive_interval looks, and how many checks it wants per gap
# between two posts.
ADAPT_WINDOW = timedelta(days=30)
CHECKS_PER_GAP = 2


def adaptive_interval(
    published: Sequence[datetime],
    now: datetime,
    *,
    minimum: timedelta,
    maximum: timedelta,
    window: timedelta = ADAPT_WINDOW,
) -> timedelta:
    """A refresh interval from how often a feed really publishes: its entries
    dated in the last ``window``; the mean gap between them, checked
    :data:`CHECKS_PER_GAP` times, within ``[minimum, maximum]``. A feed with
    nothing new in the window is checked every ``maximum``."""
    since = now - window
    count = sum(1 for p in published if since < p <= now)
    if count == 0:
        return maximum
    gap = window / count
    return min(max(gap / CHECKS_PER_GAP, minimum), maximum)


def backoff(error_count: int, every: timedelta) -> timedelta:
    """Wait after ``error_count`` consecutive failures: ``every * 2**(n-1)``, at most a day.

    A feed whose own interval is longer than a day keeps that interval: failing
    never makes a feed polled more often than a healthy one. Jitter is added by
    :func:`next_check`, which knows the feed's key.
    """
    if error_count <= 1:
        return every
    exponent = min(error_count - 1, _MAX_EXPONENT)
    return min(every * (1 << exponent), max(MAX_BACKOFF, every))


def jitter_for(key: str, every: timedelta, fraction: float) -> timedelta:
    """A deterministic offset in ``[0, fraction * every)`` for the source ``key``."""
    fraction = min(max(fraction, 0.0), 1.0)
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    unit = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    return timedelta(microseconds=int(every / timedelta(microseconds=1) * fraction * unit))


_DURATION_UNITS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")


def parse_duration(text: str) -> timedelta:
    """``"30s"``, ``"15m"``, ``"2h"``, ``"1d"``, ``"1w"``, combinations like ``"1h30m"``.

    A bare number is seconds. Zero and negative durations are refused: every
    duration in the config is a timeout or an interval.
    """
    raw = text.strip().lower()
    seconds = 0.0
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        seconds = float(raw)
    else:
        pos = 0
        for match in _DURATION_PART.finditer(raw):
            unit = _DURATION_UNITS.get(match.group(2))
            if match.start() != pos or unit is None:
                break
            seconds += float(match.group(1)) * unit
            pos = match.end()
            while pos < len(raw) and raw[pos] == " ":
                pos += 1
        if pos != len(raw) or not raw:
            raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 2h, 1d or 1h30m)")
    return seconds_duration(seconds, text)


# Past this, an interval added to today can leave the calendar datetime knows,
# and a wait for it exceeds what threading takes (threading.TIMEOUT_MAX).
MAX_DURATION = timedelta(days=36_500)


def seconds_duration(seconds: float, written: object) -> timedelta:
    """``seconds`` as a duration: more than zero, at most 100 years
    (:data:`MAX_DURATION`); ``written`` is what the user wrote, for the error."""
    if not seconds > 0:  # (NaN too)
        raise ValueError(f"duration must be more than zero, got {written!r}")
    if not seconds <= MAX_DURATION.total_seconds():  # (infinity too)
        raise ValueError(f"duration must be at most 100 years (36500d), got {written!r}")
    return timedelta(seconds=seconds)


# Decimal units as disk and network vendors (and the SPEC's "10MB") mean them;
# binary units for those who say so.
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")


def parse_size(text: str | int) -> int:
    """A byte count: ``123``, ``"500KB"`` (500,000), ``"10MB"``, ``"1GB"``, ``"64KiB"`` (65,536).

    KB/MB/GB are decimal (powers of 1000); KiB/MiB/GiB are binary. Must be
    more than zero.
    """
    if isinstance(text, int):
        size = text
    else:
        match = _SIZE.fullmatch(text.strip().lower())
        unit = _SIZE_UNITS.get(match.group(2)) if match else None
        if match is None or unit is None:
            raise ValueError(f"not a size: {text!r} (use e.g. 500KB, 10MB, 1GB or 64KiB)")
        size = int(float(match.group(1)) * unit)
    if size <= 0:
        raise ValueError(f"size must be more than zero, got {text!r}")
    return size
