"""The one entry model every source produces and every publisher consumes.

Everything is a frozen dataclass; every datetime is timezone-aware UTC.
Local posts may carry their body *unrendered* (:class:`Body`): rendering
Markdown is the expensive part of a build, so it is done only for entries
that reach a published feed (see ``normalize.render``). Remote entries
arrive with ``content``/``summary`` already as sanitised HTML.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

BodyFormat = Literal["markdown", "html"]


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str | None = None
    uri: str | None = None


@dataclass(frozen=True, slots=True)
class Enclosure:
    """A media attachment; images found in front matter are enclosures too."""

    url: str
    type: str
    length: int = 0


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a remote entry came from, published as Atom/RSS ``<source>``."""

    url: str  # the feed URL we fetched (after permanent redirects)
    title: str | None = None
    link: str | None = None  # the origin site's home page
    id: str | None = None  # the origin feed's own id (Atom) if any


@dataclass(frozen=True, slots=True)
class Body:
    """A post body as written, not yet rendered to HTML.

    ``base_url`` is what relative URLs in it resolve against. ``digest``
    identifies ``text``, so an entry loaded from the post cache without its
    text (``text`` None: read the file again to render it) hashes the same.
    """

    text: str | None
    format: BodyFormat
    base_url: str
    digest: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    title: str  # plain text
    published: datetime
    updated: datetime
    link: str | None = None
    authors: tuple[Person, ...] = ()
    categories: tuple[str, ...] = ()  # as written; matching is case/normalisation-insensitive
    tags: tuple[str, ...] = ()
    summary: str | None = None  # HTML
    content: str | None = None  # HTML; None while ``body`` is unrendered
    body: Body | None = None
    enclosures: tuple[Enclosure, ...] = ()
    source: Provenance | None = None  # None for local posts
    language: str | None = None
    origin: str = ""  # posts: path relative to the posts folder; remote: the source URL

    def __post_init__(self) -> None:
        if self.published.tzinfo is UTC and self.updated.tzinfo is UTC:
            return  # the common case, checked cheaply: entries are made by the ten thousand
        for name in ("published", "updated"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() != UTC.utcoffset(None):
                raise ValueError(f"Entry.{name} must be timezone-aware UTC, got {value!r}")

    @property
    def is_rendered(self) -> bool:
        return self.body is None

    @property
    def images(self) -> tuple[Enclosure, ...]:
        return tuple(e for e in self.enclosures if e.type.startswith("image/"))

    def sort_key(self) -> tuple[float, str]:
        """Newest first, ties broken by id so order never depends on input order."""
        return (-self.published.timestamp(), self.id)

    def content_hash(self) -> str:
        """A hash of everything a reader sees, so "changed?" is one comparison."""
        return hash_fields(self)


# sort_keys: the hash must not depend on the order fields are listed in below.
_HASH_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def hash_fields(entry: Entry) -> str:
    """SHA-256 of the JSON of every field but ``origin`` (dataclasses as
    objects, datetimes in ISO 8601); a body's text is left out when its
    digest stands for it. Written out field by field: it runs for every entry
    saved or published, and a generic walk of the dataclasses was most of the
    cost. ``tests/test_model.py`` holds it to that walk."""
    body = entry.body
    source = entry.source
    data = {
        "id": entry.id,
        "title": entry.title,
        "published": entry.published.isoformat(),
        "updated": entry.updated.isoformat(),
        "link": entry.link,
        "authors": [{"name": p.name, "email": p.email, "uri": p.uri} for p in entry.authors],
        "categories": entry.categories,
        "tags": entry.tags,
        "summary": entry.summary,
        "content": entry.content,
        "body": None
        if body is None
        else {"format": body.format, "base_url": body.base_url, "digest": body.digest}
        if body.digest
        else {
            "text": body.text,
            "format": body.format,
            "base_url": body.base_url,
            "digest": body.digest,
        },
        "enclosures": [
            {"url": x.url, "type": x.type, "length": x.length} for x in entry.enclosures
        ],
        "source": None
        if source is None
        else {"url": source.url, "title": source.title, "link": source.link, "id": source.id},
        "language": entry.language,
    }
    return hashlib.sha256(_HASH_JSON.encode(data).encode("utf-8")).hexdigest()


_BY_ID = operator.attrgetter("id")
_BY_PUBLISHED = operator.attrgetter("published")


def newest_first(entries: Iterable[Entry]) -> list[Entry]:
    """``sorted(entries, key=Entry.sort_key)``, by two stable sorts on C keys
    (id, then published descending; ``reverse`` keeps ties in order): no
    Python call per entry, which counts with 10,000 of them."""
    ordered = sorted(entries, key=_BY_ID)
    ordered.sort(key=_BY_PUBLISHED, reverse=True)
    return ordered


def utc(dt: datetime) -> datetime:
    """Convert an aware datetime to UTC (naive input is a programming error)."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}")
    return dt.astimezone(UTC)


__all__ = [
    "Body",
    "BodyFormat",
    "Enclosure",
    "Entry",
    "Person",
    "Provenance",
    "hash_fields",
    "newest_first",
    "utc",
]
