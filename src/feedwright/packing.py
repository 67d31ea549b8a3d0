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
from typing import Any

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
    return _entry(
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
            None if body is None else Body(*body),
            tuple(Enclosure(*x) for x in enclosures) if enclosures else (),
            provenance,
            language,
            origin,
        )
    )


# Entry's own __init__ sets each frozen field through object.__setattr__ and
# then checks the times: ~6 us an entry, most of decoding 10,000 cached posts.
# Values from entry_values (checked above: both times UTC) are set straight
# into the slots instead, in field order: ~2 us.
_SLOTS = tuple(getattr(Entry, f.name).__set__ for f in fields(Entry))


def _entry(values: tuple[Any, ...]) -> Entry:
    if len(values) != len(_SLOTS):
        raise ValueError(f"{len(values)} values for {len(_SLOTS)} fields")
    entry: Entry = object.__new__(Entry)
    for put, value in zip(_SLOTS, values, strict=True):
        put(entry, value)
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


__all__ = ["entry_values", "from_values", "pack", "unpack"]
