"""The one entry model every source produces and every publisher consumes.

Everything is a frozen dataclass; every datetime is timezone-aware UTC.
Local posts may carry their body *unrendered* (:class:`Body`): rendering
Markdown is the expensive part of a build, so it is done only for entries
that reach a published feed (``render.py``). Remote entries arrive with
``content``/``summary`` already as sanitised HTML.

The entry's fields are declared once, here. Everything that needs them
walks :func:`dataclasses.fields`:

- :func:`to_dict` / :func:`from_dict`: a JSON-ready mapping keyed by field
  name, fields at their default left out. What the store keeps; readable by
  any later version (a field added later takes its default).
- :func:`to_tuple` / :func:`from_tuple`: the same values by position, plain
  tuples of str/int/None: cheap to marshal or pickle, for the post cache and
  for crossing process boundaries within one version.
- :meth:`Entry.content_hash`: a hash of everything a reader sees.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

BodyFormat = Literal["markdown", "html"]

# The years an entry's dates may fall in: what feed readers and validators take
# (the publish gate refuses others). The one rule for every date feedwright
# gives an entry (docs/history.md, "Dates and the clock"):
#
# - a post's own date outside them is a problem of that post, reported and left out;
# - a remote entry's date outside them counts as no date;
# - a date from the clock (``now``: an undated remote entry's first-seen time,
#   a tombstone's; a post file's mtime) is used only inside them. A build or
#   refresh whose ``now`` is outside them stops (ClockError) before it stores
#   or publishes anything; a post whose mtime is outside them takes ``now``;
# - a stored date outside them (a state written under a wrong clock by an
#   older version, a hand edit) is mended by the next build: it becomes ``now``.
MIN_YEAR = 1800
MAX_YEAR = 2999


def in_years(when: datetime) -> bool:
    """Whether ``when`` falls in the years an entry may carry (MIN_YEAR to MAX_YEAR)."""
    return MIN_YEAR <= when.year <= MAX_YEAR


def check_clock(now: datetime) -> None:
    """Raise ClockError when ``now`` (the build's clock) is outside the years
    an entry may carry: everything dated by it would fail the publish gate."""
    if not in_years(now):
        from .exceptions import ClockError

        raise ClockError(
            f"the clock says {now.isoformat()}, outside the years {MIN_YEAR} to {MAX_YEAR}"
            " that feeds may carry: nothing fetched or published (set the system clock"
            " right; the next build with it goes on as before)",
            now=now,
        )


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
class Episode:
    """A podcast episode's own tags; its audio is the entry's first enclosure.
    A post's come from its front matter (``audio:``, podcast.py); a remote
    entry with audio or video is an episode too, with the tags its feed gave."""

    duration: int | None = None  # seconds
    episode: int | None = None
    season: int | None = None
    explicit: bool | None = None
    image: str | None = None  # artwork: a .jpg or .png URL
    file: str | None = None  # the audio's path in the site folder; None: a remote URL


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a remote entry came from, published as Atom/RSS ``<source>``."""

    url: str  # the feed URL we fetched (after permanent redirects)
    title: str | None = None
    link: str | None = None  # the origin site's home page
    id: str | None = None  # the origin feed's own id (Atom) if any


@dataclass(frozen=True, slots=True)
class Alternate:
    """Another copy of the same article, reached through another source and
    not published (the entry is the best copy): where it is, and through which
    feed (None: a local post)."""

    link: str | None
    feed: str | None = None  # the source feed's URL
    title: str | None = None  # the source's title


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
    episode: Episode | None = None  # a podcast episode (``audio:``; remote: audio or video)
    # The same article reached through other sources (bestcopy.py): the copies
    # not published, best first.
    alternates: tuple[Alternate, ...] = ()
    # A post's end (Hugo's ``expiryDate``): from then on it is in no feed.
    # Not something a reader sees: left out of :meth:`content_hash`.
    expires: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("published", "updated", "expires"):
            value = getattr(self, name)
            if value is None and name == "expires":
                continue
            if value.tzinfo is None or value.utcoffset() != timedelta(0):
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
        """A hash of everything a reader sees (all but ``origin``; a body's text
        stands in by its digest when it has one), so "changed?" is one comparison.
        Stable within one feedwright version (stored hashes carry its build)."""
        values = list(to_tuple(self))
        del values[_EXPIRES]  # (the last field: the hash of an entry without one is as before)
        values[_ORIGIN] = ""
        body = values[_BODY]
        if body is not None and body[3]:  # (text, format, base_url, digest)
            values[_BODY] = (None, *body[1:])
        return hashlib.sha256(repr(values).encode("utf-8", "surrogatepass")).hexdigest()


# --------------------------------------------------------------------------- codecs

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Encode = Callable[[Any], Any]


def _codec(annotation: Any) -> tuple[Encode, Encode, Encode, Encode]:
    """(to dict value, from dict value, to tuple value, from tuple value) for one type."""
    if annotation == datetime | None:
        return (
            lambda v: None if v is None else v.isoformat(),
            lambda v: None if v is None else datetime.fromisoformat(v).astimezone(UTC),
            lambda v: None if v is None else (v - _EPOCH) // _MICROSECOND,
            lambda v: None if v is None else _EPOCH + timedelta(microseconds=v),
        )
    if annotation is datetime:
        return (
            lambda v: v.isoformat(),
            lambda v: datetime.fromisoformat(v).astimezone(UTC),
            lambda v: (v - _EPOCH) // _MICROSECOND,
            lambda v: _EPOCH + timedelta(microseconds=v),
        )
    args = typing.get_args(annotation)
    many = typing.get_origin(annotation) is tuple
    part = next((a for a in args if dataclasses.is_dataclass(a)), None)
    if part is None:
        return (list, tuple, _same, tuple) if many else (_same, _same, _same, _same)
    cls: Any = part
    values = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))
    if many:
        return (
            lambda v: [_small_dict(p) for p in v],
            lambda v: tuple(cls(**p) for p in v),
            lambda v: tuple(map(values, v)),
            lambda v: tuple(cls(*p) for p in v),
        )
    return (
        lambda v: None if v is None else _small_dict(v),
        lambda v: None if v is None else cls(**v),
        lambda v: None if v is None else values(v),
        lambda v: None if v is None else cls(*v),
    )


_MICROSECOND = timedelta(microseconds=1)


def _same(value: Any) -> Any:
    return value


def _small_dict(part: Any) -> dict[str, Any]:
    """A part's fields, those at their default left out (a body's text: always there)."""
    return {
        f.name: value
        for f in dataclasses.fields(part)
        if (value := getattr(part, f.name)) != f.default or f.name == "text"
    }


_HINTS = typing.get_type_hints(Entry)
_FIELDS = tuple(dataclasses.fields(Entry))
#: The entry's field names, in order: the one list.
ENTRY_FIELDS = tuple(f.name for f in _FIELDS)
_CODECS = tuple(_codec(_HINTS[name]) for name in ENTRY_FIELDS)
_ORIGIN = ENTRY_FIELDS.index("origin")
_BODY = ENTRY_FIELDS.index("body")
_EXPIRES = ENTRY_FIELDS.index("expires")
_DEFAULTS = tuple(
    f.default if f.default is not dataclasses.MISSING else dataclasses.MISSING for f in _FIELDS
)


def to_dict(entry: Entry) -> dict[str, Any]:
    """The entry as a JSON-ready mapping; fields at their default are left out."""
    out: dict[str, Any] = {}
    for name, default, (encode, _, _, _) in zip(ENTRY_FIELDS, _DEFAULTS, _CODECS, strict=True):
        value = getattr(entry, name)
        if value != default:
            out[name] = encode(value)
    return out


def from_dict(data: Mapping[str, Any]) -> Entry:
    """The inverse of :func:`to_dict`. Keys it does not know are ignored (written
    by a later version); missing ones take the field's default. Raises
    ValueError, TypeError or KeyError on data that is not an entry."""
    values = {
        name: decode(data[name])
        for name, (_, decode, _, _) in zip(ENTRY_FIELDS, _CODECS, strict=True)
        if name in data
    }
    return Entry(**values)


def to_tuple(entry: Entry) -> tuple[Any, ...]:
    """The entry as a tuple of plain values, field by field (one version only)."""
    return tuple(
        encode(getattr(entry, name))
        for name, (_, _, encode, _) in zip(ENTRY_FIELDS, _CODECS, strict=True)
    )


def from_tuple(values: Iterable[Any]) -> Entry:
    """The inverse of :func:`to_tuple`."""
    return Entry(*(decode(v) for v, (_, _, _, decode) in zip(values, _CODECS, strict=True)))


class Head(NamedTuple):
    """What planning needs of an entry (who it is, when, which feeds), read
    off its plain values without making the entry: a build plans 10,000 posts
    and publishes a few hundred of them."""

    id: str
    published: datetime
    updated: datetime
    categories: tuple[str, ...]
    link: str | None
    source: None = None  # a post's: only remote entries have a source
    expires: datetime | None = None  # its end (``Entry.expires``)


_HEAD_AT = tuple(
    ENTRY_FIELDS.index(name) for name in ("id", "published", "updated", "categories", "link")
)
_HEAD_FIELDS = operator.itemgetter(*_HEAD_AT)


def head_fields(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """What :func:`head_of` reads of an entry given as :func:`to_tuple` values,
    then its body's digest (what the id ledger finds a moved post by: ``""``
    without a body). A cached post keeps these beside its packed values, so
    that a build plans every post without unpacking them. Then its end
    (``expires``, µs; None: none)."""
    body = values[_BODY]
    return (*_HEAD_FIELDS(values), "" if body is None else body[3], values[_EXPIRES])


def head_of(fields: tuple[Any, ...]) -> Head:
    """The :class:`Head` of an entry given as :func:`head_fields` (or its
    first five: no end)."""
    id_, published_us, updated_us, categories, link = fields[:5]
    published = _EPOCH + timedelta(microseconds=published_us)
    expires_us = fields[6] if len(fields) > 6 else None
    return Head(
        id_,
        published,
        # (nearly always the same instant: one datetime made, not two)
        published if updated_us == published_us else _EPOCH + timedelta(microseconds=updated_us),
        tuple(categories),
        link,
        None,
        None if expires_us is None else _EPOCH + timedelta(microseconds=expires_us),
    )


def gone(entry: Planned, now: datetime) -> bool:
    """Whether a post has reached its end (``expires``) by ``now``: it is in no feed."""
    return entry.expires is not None and entry.expires <= now


def with_identity(values: tuple[Any, ...], id_: str, published: datetime) -> tuple[Any, ...]:
    """:func:`to_tuple` values with another id and publication date (the id
    ledger's); ``updated`` moves with ``published`` unless the post set its
    own later one."""
    id_at, published_at, updated_at, _, _ = _HEAD_AT
    when = (published - _EPOCH) // _MICROSECOND
    updated = values[updated_at]
    updated = when if updated == values[published_at] or updated < when else updated
    out = list(values)
    out[id_at], out[published_at], out[updated_at] = id_, when, updated
    return tuple(out)


# --------------------------------------------------------------------------- helpers


class Planned(Protocol):
    """What planning reads of an entry: an :class:`Entry` or a :class:`Head`."""

    @property
    def id(self) -> str: ...
    @property
    def published(self) -> datetime: ...
    @property
    def updated(self) -> datetime: ...
    @property
    def categories(self) -> tuple[str, ...]: ...
    @property
    def source(self) -> Provenance | None: ...
    @property
    def expires(self) -> datetime | None: ...


P = TypeVar("P", bound=Planned)

_BY_ID = operator.attrgetter("id")
_BY_PUBLISHED = operator.attrgetter("published")


def shown_title(entry: Entry) -> str:
    """What a reader sees for an entry with no title of its own (remote
    entries sometimes have none): its link, else its first enclosure's file
    name (``episode-12.mp3``), else its id."""
    if entry.link:
        return entry.link
    for enclosure in entry.enclosures:
        name = unquote(urlsplit(enclosure.url).path.rstrip("/").rsplit("/", 1)[-1]).strip()
        if name:
            return name
    return entry.id


def newest_first(entries: Iterable[P]) -> list[P]:
    """``sorted(entries, key=Entry.sort_key)``: newest first, ties by id."""
    ordered = sorted(entries, key=_BY_ID)
    ordered.sort(key=_BY_PUBLISHED, reverse=True)
    return ordered


def micros(when: datetime) -> int:
    """An aware datetime as microseconds since 1970 (as :func:`to_tuple` keeps it)."""
    return (when - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """:func:`micros` back to a datetime (UTC)."""
    return _EPOCH + timedelta(microseconds=value)


def rfc3339(when: datetime) -> str:
    """``2024-03-01T08:00:00Z``: an aware time as feeds, JSON and logs write it."""
    if when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    return when.isoformat().replace("+00:00", "Z")


def rfc3339_or_none(when: datetime | None) -> str | None:
    """:func:`rfc3339`, or None for no time (a report's optional times)."""
    return rfc3339(when) if when else None


def utc(dt: datetime) -> datetime:
    """Convert an aware datetime to UTC (naive input is a programming error)."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}")
    return dt.astimezone(UTC)


__all__ = [
    "ENTRY_FIELDS",
    "MAX_YEAR",
    "MIN_YEAR",
    "Alternate",
    "Body",
    "BodyFormat",
    "Enclosure",
    "Entry",
    "Episode",
    "Head",
    "Person",
    "Planned",
    "Provenance",
    "check_clock",
    "from_dict",
    "from_micros",
    "from_tuple",
    "gone",
    "head_fields",
    "head_of",
    "in_years",
    "micros",
    "newest_first",
    "rfc3339",
    "rfc3339_or_none",
    "shown_title",
    "to_dict",
    "to_tuple",
    "utc",
    "with_identity",
]
