"""Entries as compact bytes: the post cache's rows and what forked readers send back.

A build of a large site moves every post's entry twice in bulk: from the
reading processes to the main one, and between the main one and the post
cache. JSON and pickle both spend most of their time in Python there (field
by field, dataclass by dataclass); here an entry becomes a tuple of plain
values that :mod:`marshal` (C, no code runs on load) turns into bytes and
back. Datetimes travel as ISO 8601 text (UTC, exact to the microsecond):
``datetime.fromisoformat`` is the cheapest way back to an aware datetime.

The layout is private to one feedwright version: the post cache is keyed by
``build_id()``, so bytes written by another version are never read.
"""

from __future__ import annotations

import marshal
from dataclasses import fields
from datetime import UTC, datetime
from hashlib import blake2b
from typing import Any

from .exceptions import StoreError
from .model import Body, Enclosure, Entry, Person, Provenance


def entry_values(e: Entry, *, body_text: bool = True) -> tuple[Any, ...]:
    """The entry as a tuple of str/int/None/tuples (``body_text=False`` leaves
    the body's text out: it comes back None)."""
    body = e.body
    src = e.source
    return (
        e.id,
        e.title,
        e.published.isoformat(),
        e.updated.isoformat(),
        e.link,
        tuple((p.name, p.email, p.uri) for p in e.authors),
        e.categories,
        e.tags,
        e.summary,
        e.content,
        None
        if body is None
        else (body.text if body_text else None, body.format, body.base_url, body.digest),
        tuple((x.url, x.type, x.length) for x in e.enclosures),
        None if src is None else (src.url, src.title, src.link, src.id),
        e.language,
        e.origin,
    )


def from_values(values: tuple[Any, ...], memo: dict[tuple[Any, ...], Any] | None = None) -> Entry:
    """The inverse of :func:`entry_values`. ``memo`` shares equal authors and
    provenances between the entries decoded with it (they are immutable)."""
    (
        id_,
        title,
        published,
        updated,
        link,
        authors,
        categories,
        tags,
        summary,
        content,
        body,
        enclosures,
        source,
        language,
        origin,
    ) = values
    if memo is None:
        memo = {}
    people = memo.get(authors) if authors else ()
    if people is None:
        people = memo[authors] = tuple(Person(*p) for p in authors)
    provenance = None
    if source is not None:
        provenance = memo.get(source)
        if provenance is None:
            provenance = memo[source] = Provenance(*source)
    published_at = datetime.fromisoformat(published)
    updated_at = datetime.fromisoformat(updated)
    if published_at.tzinfo is not UTC or updated_at.tzinfo is not UTC:
        raise ValueError("entry times must be UTC")
    return new_entry(
        (
            id_,
            title,
            published_at,
            updated_at,
            link,
            people,
            categories,
            tags,
            summary,
            content,
            None if body is None else _body(body),
            tuple(Enclosure(*x) for x in enclosures) if enclosures else (),
            provenance,
            language,
            origin,
        )
    )


# Entry's own __init__ sets each frozen field through object.__setattr__ and
# then checks the times: ~6 us an entry, most of decoding 10,000 cached posts.
# Values from entry_values (checked above: both times UTC) are set straight
# into the slots instead, in field order, one named setter each (a loop over
# them cost a third more): ~2 us. Body likewise (its dataclass __init__ was
# another ~2 us).
_SLOTS = tuple(getattr(Entry, f.name).__set__ for f in fields(Entry))
(
    _set_id,
    _set_title,
    _set_published,
    _set_updated,
    _set_link,
    _set_authors,
    _set_categories,
    _set_tags,
    _set_summary,
    _set_content,
    _set_body,
    _set_enclosures,
    _set_source,
    _set_language,
    _set_origin,
) = _SLOTS
_BODY_SLOTS = tuple(getattr(Body, f.name).__set__ for f in fields(Body))
_set_text, _set_format, _set_base_url, _set_digest = _BODY_SLOTS
_new = object.__new__


def _body(values: tuple[Any, ...]) -> Body:
    text, format_, base_url, digest = values
    body: Body = _new(Body)
    _set_text(body, text)
    _set_format(body, format_)
    _set_base_url(body, base_url)
    _set_digest(body, digest)
    return body


def new_entry(values: tuple[Any, ...]) -> Entry:
    """An Entry from its field values in field order, without its __init__:
    for callers that have checked what __init__ checks (both times UTC)."""
    if len(values) != len(_SLOTS):
        raise ValueError(f"{len(values)} values for {len(_SLOTS)} fields")
    entry: Entry = _new(Entry)
    _set_id(entry, values[0])
    _set_title(entry, values[1])
    _set_published(entry, values[2])
    _set_updated(entry, values[3])
    _set_link(entry, values[4])
    _set_authors(entry, values[5])
    _set_categories(entry, values[6])
    _set_tags(entry, values[7])
    _set_summary(entry, values[8])
    _set_content(entry, values[9])
    _set_body(entry, values[10])
    _set_enclosures(entry, values[11])
    _set_source(entry, values[12])
    _set_language(entry, values[13])
    _set_origin(entry, values[14])
    return entry


def pack(entry: Entry, *, body_text: bool = True) -> bytes:
    """One entry as bytes (see :func:`entry_values`)."""
    return marshal.dumps(entry_values(entry, body_text=body_text))


def unpack(data: bytes, memo: dict[tuple[Any, ...], Any] | None = None) -> Entry:
    """The entry :func:`pack` made. Raises ValueError on bytes it did not make."""
    try:
        values = marshal.loads(data)
        if not isinstance(values, tuple):
            raise TypeError(f"a {type(values).__name__}, not a tuple")
        return from_values(values, memo)
    except (EOFError, TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"not a packed entry: {exc}") from None


# --------------------------------------------------------------------- lazy entries

#: What a post cache row keeps beside the packed entry: the fields a build
#: needs of every post (dedupe, order, categories), not only of those that
#: reach a feed. ``(id, published ISO, updated ISO, categories, origin)``.
Head = tuple[str, str, str, tuple[str, ...], str]


def head(entry: Entry) -> Head:
    """The fields of ``entry`` that :func:`cached_entry` sets at once."""
    try:
        made: Head = entry._head  # type: ignore[attr-defined]  # a CachedEntry's own
    except AttributeError:
        return (
            entry.id,
            entry.published.isoformat(),
            entry.updated.isoformat(),
            entry.categories,
            entry.origin,
        )
    return made


def pack_for_cache(entry: Entry) -> tuple[Head, bytes]:
    """``(head(entry), pack(entry, body_text=False))``, the dates written once."""
    values = entry_values(entry, body_text=False)
    return (values[0], values[2], values[3], values[6], values[14]), marshal.dumps(values)


_HEAD_FIELDS = frozenset(("id", "published", "updated", "categories", "origin"))
_FIELD_NAMES = tuple(f.name for f in fields(Entry))
# The setters of every other field, with that field's name.
_REST = tuple(
    (name, setter)
    for name, setter in zip(_FIELD_NAMES, _SLOTS, strict=True)
    if name not in _HEAD_FIELDS
)
_REST_NAMES = frozenset(name for name, _ in _REST)


class CachedEntry(Entry):
    """An entry from the post cache, decoded from its packed bytes on first use.

    An edit build loads 10,000 cached posts and needs, of most of them, only
    what :data:`Head` holds: which feeds they fall into and where. Decoding
    every entry whole cost 0.12-0.19 s of such a build; this one starts with
    the head's fields set and its other slots empty. The first read of an
    empty slot reaches ``__getattr__`` (Python calls it only when the slot
    raises AttributeError), which unpacks the bytes and fills every slot.

    It compares and hashes as the equal :class:`Entry` would (the dataclass
    ``__eq__`` wants the same class on both sides), and pickles as a plain
    Entry. A copy made with ``dataclasses.replace`` has every slot set.
    """

    __slots__ = ("_head", "_packed", "_where")
    _head: Head  # what it was made from, for the cache to save again as it is
    _packed: bytes
    _where: str  # the store's path, for the error if the bytes turn out damaged

    def __getattr__(self, name: str) -> Any:
        if name not in _REST_NAMES:
            raise AttributeError(name)
        try:
            full = unpack(self._packed)
            if (full.id, full.origin) != (self.id, self.origin):
                raise ValueError("its packed bytes are another entry's")
        except ValueError as exc:
            message = f"the cached post {self.origin} cannot be read: {exc}"
            raise StoreError(message, path=self._where) from None
        for field_name, setter in _REST:
            setter(self, getattr(full, field_name))
        return getattr(self, name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _FIELD_NAMES)

    __hash__ = Entry.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        return (new_entry, (tuple(getattr(self, n) for n in _FIELD_NAMES),))


_set_packed = vars(CachedEntry)["_packed"].__set__
_set_where = vars(CachedEntry)["_where"].__set__
_set_head = vars(CachedEntry)["_head"].__set__
_from_iso = datetime.fromisoformat


def cached_entry(values: Head, packed: bytes, where: str) -> Entry:
    """A :class:`CachedEntry`: ``values`` (from :func:`head`) now, the rest of
    ``packed`` (from :func:`pack` of the same entry) when first used; a
    StoreError naming ``where`` if those bytes cannot be decoded then."""
    id_, published, updated, categories, origin = values
    published_at = _from_iso(published)
    updated_at = _from_iso(updated)
    if published_at.tzinfo is not UTC or updated_at.tzinfo is not UTC:
        raise ValueError("entry times must be UTC")
    entry: CachedEntry = _new(CachedEntry)
    _set_id(entry, id_)
    _set_published(entry, published_at)
    _set_updated(entry, updated_at)
    _set_categories(entry, categories)
    _set_origin(entry, origin)
    _set_packed(entry, packed)
    _set_where(entry, where)
    _set_head(entry, values)
    return entry


def entry_digest(entry: Entry) -> str:
    """What a feed's key (publish) takes of one entry: equal digests mean
    equal entries. A post cache entry's is a BLAKE2 of its packed bytes, ~1 us
    and no decoding; any other entry's is its ``content_hash()`` (~30 us).

    The packed bytes are not canonical (marshal marks shared objects), so the
    same entry read twice may digest differently: a feed is then rendered
    again and found unchanged, never skipped wrongly. Every post of a build
    with a post cache carries its packed bytes (``read_posts(keep_text=False)``),
    so a post keeps one digest from the build that read it to every one that
    reuses the cache.
    """
    packed = packed_of(entry)
    if packed is None:
        return entry.content_hash()
    return "p" + blake2b(packed, digest_size=24).hexdigest()


def packed_of(entry: Entry) -> bytes | None:
    """The text-less packed bytes ``entry`` carries (a :class:`CachedEntry`
    from the post cache or a read for it), else None."""
    try:
        packed: bytes = entry._packed  # type: ignore[attr-defined]
    except AttributeError:
        return None
    return packed


__all__ = [
    "CachedEntry",
    "Head",
    "cached_entry",
    "entry_digest",
    "entry_values",
    "from_values",
    "head",
    "new_entry",
    "pack",
    "pack_for_cache",
    "packed_of",
    "unpack",
]
