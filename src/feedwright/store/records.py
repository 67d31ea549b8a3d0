"""What the store keeps, as plain frozen values (no database here)."""

from __future__ import annotations

import json
import marshal
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from ..model import Entry, head_fields, to_dict


class SourceState(NamedTuple):
    """What we remember about one remote subscription between runs."""

    key: str  # the configured URL (stable identity of the subscription)
    url: str  # the URL to fetch now (updated after a permanent redirect)
    title: str | None = None  # origin feed metadata
    link: str | None = None
    feed_id: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_fetch: datetime | None = None  # last attempt
    last_success: datetime | None = None
    last_result: str | None = None  # ok | not-modified | unchanged | error | gone | rate-limited
    next_check: datetime | None = None  # None: due now
    error_count: int = 0  # current streak; reset to 0 on success
    last_error: str | None = None
    status: str = "active"  # active | gone
    retry_after: datetime | None = None
    # Politeness you can see (politeness.py): what fetching it cost and saved.
    requests: int = 0  # fetches made (each counts once, redirects and all)
    not_modified: int = 0  # 304s
    unchanged: int = 0  # 200s whose body was the one parsed last time
    bytes_down: int = 0  # decoded body bytes downloaded
    bytes_saved: int = 0  # bytes a 304 spared (the last full body's size each time)
    body_size: int | None = None  # the last full body's size
    validators_ignored: int = 0  # 200 with the same body although we sent ETag/date
    churned: int = 0  # bodies that changed while none of their entries did
    ttl: int | None = None  # RSS <ttl>, minutes
    skip_hours: str | None = None  # RSS <skipHours>: UTC hours, "0,1,23"
    skip_days: str | None = None  # RSS <skipDays>: weekdays, 0 = Monday, "5,6"
    interval: float | None = None  # seconds: the refresh interval in force (adaptive)


class BuildLog(NamedTuple):
    """One build that published something, as the daemon's status page lists it."""

    at: datetime
    summary: dict[str, Any]  # JSON: counts, files written and removed, problems


class SaveResult(NamedTuple):
    """How a save classified the entries it was given."""

    new: int = 0
    updated: int = 0  # stored before, content hash changed
    unchanged: int = 0


class StoredEntry(NamedTuple):
    """A remote entry as stored: the entry, when it was first seen, its hash."""

    entry: Entry  # origin = the source key
    first_seen: datetime
    content_hash: str


class CachedPost(NamedTuple):
    """A local post file as last read: its stamp and what it gave.

    ``packed`` is the last good entry as plain values (``model.to_tuple``,
    its body's text left out: the file has it), marshalled: 10,000 cached
    posts load without unpacking 10,000 entries, and a build unpacks only
    those it publishes. ``head`` is what every build needs of every post
    (``model.head_fields``). ``error`` is the problem of the last read. Both
    at once: the file broke after it was published, and its last good
    version is kept meanwhile. :func:`cached_post` makes one from the values.
    """

    size: int
    mtime_ns: int
    head: tuple[Any, ...] | None = None
    packed: bytes | None = None
    error: str | None = None
    stripped: int = 0  # XML-illegal characters removed from the file's text
    content_hash: str = ""  # of the entry (for a post: of its file)
    # What the id ledger may not override (posts.entry.Built): kept here so
    # that resolving a post against the ledger never reads its file again.
    own_id: str | None = None  # its front matter's id/guid, as written
    dated: bool = False  # a date of its own, not its file's mtime


def cached_post(
    size: int,
    mtime_ns: int,
    values: tuple[Any, ...] | None = None,
    error: str | None = None,
    stripped: int = 0,
    content_hash: str = "",
    own_id: str | None = None,
    dated: bool = False,
) -> CachedPost:
    """A :class:`CachedPost` of an entry given as plain values (or None)."""
    if values is None:
        return CachedPost(size, mtime_ns, None, None, error, stripped, content_hash, own_id, dated)
    return CachedPost(
        size,
        mtime_ns,
        head_fields(values),
        marshal.dumps(values),
        error,
        stripped,
        content_hash,
        own_id,
        dated,
    )


class Rendered(NamedTuple):
    """A post's body as HTML, and the hash of the entry it was rendered from."""

    content_hash: str
    content: str
    summary: str | None


class PendingPing(NamedTuple):
    """A WebSub ping a hub has not taken yet: its feed changed ``since``."""

    hub: str
    url: str  # the feed that changed
    since: datetime
    attempts: int = 0  # failed so far
    last_error: str | None = None
    next_try: datetime | None = None  # None: at once


class MediaLength(NamedTuple):
    """What a HEAD request said of a remote enclosure (``length`` None: not yet learnt)."""

    url: str
    length: int | None
    checked: datetime
    attempts: int = 0  # failed so far
    last_error: str | None = None
    next_try: datetime | None = None


# An entry ready to store: (id, published timestamp, content hash, data JSON).
EntryRow = tuple[str, float, str, str]


def entry_row(entry: Entry) -> EntryRow:
    """The row the store keeps for ``entry``: a pure function, so the parse
    workers make rows and the saving process only runs the SQL."""
    data = json.dumps(to_dict(entry), ensure_ascii=False, separators=(",", ":"))
    return entry.id, entry.published.timestamp(), entry.content_hash(), data


def row_entry(data: str | bytes, origin: str | None = None) -> Entry:
    """The entry of a row's data; ``origin`` overrides the stored one.
    Raises ValueError (or TypeError/KeyError) on data that is not an entry."""
    from ..model import from_dict

    values: dict[str, Any] = json.loads(data)
    if not isinstance(values, dict):
        raise ValueError("stored entry is not a JSON object")
    if origin is not None:
        values["origin"] = origin
    return from_dict(values)


_NONE: Mapping[str, datetime] = MappingProxyType({})  # (a default no feed can change)


class FeedHistory(NamedTuple):
    """One feed as the last build left it."""

    shown: tuple[str, ...] = ()  # the entry ids it held (current and archived), sorted
    tombstones: Mapping[str, datetime] = _NONE  # id -> when it left
    pages: tuple[tuple[str, ...], ...] = ()  # archive pages, oldest first: their entry ids


__all__ = [
    "BuildLog",
    "CachedPost",
    "EntryRow",
    "FeedHistory",
    "MediaLength",
    "PendingPing",
    "Rendered",
    "SaveResult",
    "SourceState",
    "StoredEntry",
    "cached_post",
    "entry_row",
    "row_entry",
]
