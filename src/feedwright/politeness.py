"""Politeness you can see: what fetching each source cost and saved (pure).

Per source, the store keeps (``SourceState``)::

    requests            fetches made
    not_modified        304s: nothing downloaded
    unchanged           200s whose body was the one parsed last time (nothing parsed)
    bytes_down          decoded bytes downloaded
    bytes_saved         what the 304s spared: the last full body's size, each time
    validators_ignored  200s with the very body we had, although we sent
                        If-None-Match / If-Modified-Since: the server ignores them
    churned             bodies that changed while none of their entries did (a
                        timestamp or a tracking token in the feed): every fetch
                        downloads and parses the whole feed for nothing

and the feed's own hints, read from the channel (RSS ``<ttl>``,
``<skipHours>``, ``<skipDays>``), which ``schedule.next_check`` honours with
``Cache-Control: max-age``. :func:`notes` turns the counters into what
``feedwright status`` says about a source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Config, FeedSource
    from .store import SourceState

# Counted as a habit once seen this often (one odd answer is not a habit).
HABIT = 2
# The channel's head: hints live before the first item (a few KB at most).
_HEAD_BYTES = 64 * 1024
_FIRST_ITEM = re.compile(rb"<(?:[\w-]+:)?(?:item|entry)[\s>]")
_TTL = re.compile(rb"<ttl>\s*(\d{1,6})\s*</ttl>", re.I)
_SKIP_HOURS = re.compile(rb"<skipHours>(.*?)</skipHours>", re.I | re.S)
_SKIP_DAYS = re.compile(rb"<skipDays>(.*?)</skipDays>", re.I | re.S)
_HOUR = re.compile(rb"<hour>\s*(\d{1,2})\s*</hour>", re.I)
_DAY = re.compile(rb"<day>\s*([A-Za-z]+)\s*</day>", re.I)
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class Hints:
    """What a feed says about when to fetch it again."""

    ttl: int | None = None  # minutes
    skip_hours: frozenset[int] = frozenset()  # UTC hours, 0-23
    skip_days: frozenset[int] = frozenset()  # weekdays, 0 = Monday


def feed_hints(content: bytes) -> Hints:
    """RSS ``<ttl>``, ``<skipHours>`` and ``<skipDays>`` of a feed document (its
    channel, before the first item); empty hints for anything else."""
    head = content[:_HEAD_BYTES]
    first = _FIRST_ITEM.search(head)
    if first is not None:
        head = head[: first.start()]
    ttl = _TTL.search(head)
    hours: set[int] = set()
    days: set[int] = set()
    if block := _SKIP_HOURS.search(head):
        # RSS 2.0 says 0-23; some feeds write 24 for midnight.
        hours = {int(h) % 24 for h in _HOUR.findall(block.group(1)) if int(h) <= 24}
    if block := _SKIP_DAYS.search(head):
        names = {d.decode("ascii").lower() for d in _DAY.findall(block.group(1))}
        days = {DAYS.index(n) for n in names if n in DAYS}
    return Hints(
        ttl=int(ttl.group(1)) or None if ttl else None,
        skip_hours=frozenset(hours),
        skip_days=frozenset(days),
    )


def hints_of(state: SourceState) -> Hints:
    """The hints stored with a source (kept from its last full body)."""
    return Hints(
        ttl=state.ttl,
        skip_hours=_numbers(state.skip_hours),
        skip_days=_numbers(state.skip_days),
    )


def with_hints(state: SourceState, hints: Hints) -> SourceState:
    return state._replace(
        ttl=hints.ttl,
        skip_hours=",".join(map(str, sorted(hints.skip_hours))) or None,
        skip_days=",".join(map(str, sorted(hints.skip_days))) or None,
    )


def _numbers(text: str | None) -> frozenset[int]:
    if not text:
        return frozenset()
    return frozenset(int(n) for n in text.split(",") if n.strip().isdigit())


def account(
    state: SourceState,
    *,
    status: int | None,
    size: int = 0,
    validated: bool = False,
    same_body: bool = False,
    entries_changed: bool = True,
) -> SourceState:
    """``state`` with one more fetch counted. ``status``: the HTTP status (None:
    the fetch failed before one came); ``size``: the decoded body's bytes;
    ``validated``: we sent If-None-Match or If-Modified-Since; ``same_body``:
    the body was the one parsed last time; ``entries_changed``: parsing it
    added or changed an entry."""
    counted = state._replace(requests=state.requests + 1)
    if status == 304:
        return counted._replace(
            not_modified=state.not_modified + 1,
            bytes_saved=state.bytes_saved + (state.body_size or 0),
        )
    if status is None or not 200 <= status < 300:
        return counted
    counted = counted._replace(bytes_down=state.bytes_down + size, body_size=size)
    if same_body:
        return counted._replace(
            unchanged=state.unchanged + 1,
            validators_ignored=state.validators_ignored + (1 if validated else 0),
        )
    if not entries_changed and state.body_size is not None:
        return counted._replace(churned=state.churned + 1)
    return counted


def notes(state: SourceState) -> list[str]:
    """What ``status`` says about a source's habits, if anything."""
    said = []
    if state.validators_ignored >= HABIT:
        said.append(
            f"ignores our validators ({state.validators_ignored} full answers"
            " with an unchanged body to a conditional request)"
        )
    if state.churned >= HABIT:
        said.append(f"its bytes change on every fetch, its entries do not ({state.churned} times)")
    return said


def describe_hints(state: SourceState) -> str | None:
    """``ttl 60m, skips hours 0-5, Sat, Sun`` or None."""
    hints = hints_of(state)
    said = []
    if hints.ttl:
        said.append(f"ttl {hints.ttl}m")
    if hints.skip_hours:
        said.append("skips hours " + _ranges(sorted(hints.skip_hours)) + " UTC")
    if hints.skip_days:
        said.append("skips " + ", ".join(DAYS[d][:3].title() for d in sorted(hints.skip_days)))
    return ", ".join(said) or None


def _ranges(numbers: list[int]) -> str:
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def interval_of(state: SourceState | None, source: FeedSource, config: Config) -> timedelta:
    """A source's refresh interval: its own ``every``; else, with
    ``schedule.adaptive``, the one adapted to it when its entries last changed;
    else ``schedule.every``."""
    if source.every is not None:
        return source.every
    if config.schedule.adaptive and state is not None and state.interval:
        return timedelta(seconds=state.interval)
    return config.schedule.every


def human_bytes(count: int) -> str:
    """``0 B``, ``512 B``, ``1.5 KB``, ``12 MB`` (decimal units, as the config's)."""
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" or size >= 100 else f"{size:.1f} {unit}"
        size /= 1000
    return f"{count} B"  # pragma: no cover


__all__ = [
    "DAYS",
    "HABIT",
    "Hints",
    "account",
    "describe_hints",
    "feed_hints",
    "hints_of",
    "human_bytes",
    "interval_of",
    "notes",
    "with_hints",
]
