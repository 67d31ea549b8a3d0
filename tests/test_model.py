"""model: the entry's fields declared once, and every codec derived from them."""

from __future__ import annotations

import json
import pickle
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import pytest

from feedwright.model import (
    ENTRY_FIELDS,
    Alternate,
    Body,
    Enclosure,
    Entry,
    Episode,
    Person,
    Provenance,
    from_dict,
    from_tuple,
    to_dict,
    to_tuple,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

FULL = Entry(
    id="tag:a.example,2024:1",
    title="Ünïcode & <escaped> 张家港",
    published=datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    updated=datetime(2024, 1, 3, 0, 0, tzinfo=UTC),
    link="https://a.example/1",
    authors=(Person("Ann", "ann@a.example", "https://a.example/ann"), Person("编辑部")),
    categories=("金融", "Tech"),
    tags=("x", "y"),
    summary="<p>summary</p>",
    content="<p>content \u2028 line</p>",
    body=Body(text="# Hi\n\nbody", format="markdown", base_url="https://site.example/p/"),
    enclosures=(
        Enclosure("https://a.example/i.png", "image/png", 123),
        Enclosure("https://a.example/a.mp3", "audio/mpeg"),
    ),
    source=Provenance("https://a.example/feed.xml", "A", "https://a.example/", "urn:a"),
    language="zh-CN",
    origin="2024/post.md",
    episode=Episode(duration=3723, episode=3, season=1, explicit=False, image="https://a/c.jpg"),
    alternates=(
        Alternate("https://planet.example/a", "https://planet.example/feed", "Planet"),
        Alternate("https://b.example/a"),
    ),
    expires=datetime(2030, 6, 1, 8, 30, 0, 250, tzinfo=UTC),
)


def make_entry(id: str, *, hours: int = 0, title: str | None = None) -> Entry:
    when = NOW - timedelta(hours=hours)
    return Entry(
        id=id, title=f"Title {id}" if title is None else title, published=when, updated=when
    )


CASES = [
    FULL,
    replace(FULL, body=None),  # a rendered/remote entry
    replace(FULL, content=None, summary=None, source=None),  # an unrendered post
    replace(FULL, body=Body(None, "html", "https://b/", "digest")),  # from the post cache
    make_entry("minimal"),
    make_entry("old", hours=24 * 365 * 60),  # before 1970
    make_entry("", title="\x00 ctrl \t\n quotes \" ' \\ \U0001f600"),
    replace(FULL, authors=(Person(""),), categories=("",), enclosures=()),
    replace(FULL, published=datetime(1, 1, 1, tzinfo=UTC)),
    replace(FULL, updated=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    replace(FULL, summary="", content="nul \x00 inside", body=Body("", "html", "")),
]
IDS = [f"{n}-{e.id[:8]}" for n, e in enumerate(CASES)]


def test_the_sample_sets_every_field() -> None:
    for f in fields(Entry):
        assert getattr(FULL, f.name) != f.default, f.name
    assert tuple(f.name for f in fields(Entry)) == ENTRY_FIELDS


@pytest.mark.parametrize("entry", CASES, ids=IDS)
def test_dict_round_trip_through_json(entry: Entry) -> None:
    data = json.loads(json.dumps(to_dict(entry)))
    assert from_dict(data) == entry


@pytest.mark.parametrize("entry", CASES, ids=IDS)
def test_tuple_round_trip_through_pickle(entry: Entry) -> None:
    values = pickle.loads(pickle.dumps(to_tuple(entry)))
    assert from_tuple(values) == entry


def test_dict_leaves_defaults_out_and_ignores_unknown_keys() -> None:
    data = to_dict(make_entry("a"))
    assert set(data) == {"id", "title", "published", "updated"}
    assert from_dict({**data, "a_field_of_a_later_version": 1}) == make_entry("a")


def test_datetimes_are_iso_utc_in_dicts() -> None:
    assert to_dict(FULL)["published"] == "2024-01-02T03:04:05.678901+00:00"


def test_from_dict_rejects_what_is_not_an_entry() -> None:
    with pytest.raises((TypeError, ValueError, KeyError)):
        from_dict({"id": "x"})
    with pytest.raises((TypeError, ValueError, KeyError)):
        from_dict({"id": "x", "title": "t", "published": "soon", "updated": "later"})


def test_entries_hold_utc_datetimes_only() -> None:
    naive = datetime(2024, 1, 1)
    with pytest.raises(ValueError, match="UTC"):
        Entry(id="x", title="t", published=naive, updated=NOW)
    with pytest.raises(ValueError, match="UTC"):
        Entry(id="x", title="t", published=NOW, updated=NOW, expires=naive)


def test_origin_and_a_digested_text_do_not_change_the_hash() -> None:
    with_digest = replace(FULL, body=Body("a", "markdown", "https://b/", "d"))
    assert replace(with_digest, origin="elsewhere.md").content_hash() == with_digest.content_hash()
    text_less = replace(with_digest, body=Body(None, "markdown", "https://b/", "d"))
    assert text_less.content_hash() == with_digest.content_hash()
    assert replace(FULL, title="other").content_hash() != FULL.content_hash()


def test_a_posts_end_does_not_change_the_hash() -> None:
    """A reader sees no ``expires`` (it decides whether they see the entry)."""
    assert replace(FULL, expires=None).content_hash() == FULL.content_hash()
    assert replace(FULL, expires=NOW).content_hash() == FULL.content_hash()


@pytest.mark.parametrize("name", [n for n in ENTRY_FIELDS if n not in ("origin", "expires")])
def test_every_field_but_origin_and_the_end_changes_the_hash(name: str) -> None:
    other = make_entry("other", hours=5)
    changed = replace(FULL, **{name: getattr(other, name)})
    if getattr(changed, name) == getattr(FULL, name):
        pytest.skip("the other entry has the same value")
    assert changed.content_hash() != FULL.content_hash()


def test_newest_first_is_the_sort_key_order() -> None:
    import random
    from datetime import UTC, datetime, timedelta

    from feedwright.model import newest_first

    rnd = random.Random(3)
    base = datetime(2025, 6, 27, 6, 42, 52, tzinfo=UTC)
    entries = [
        replace(
            FULL,
            id=rnd.choice("abcdef") + str(n),
            published=base + timedelta(microseconds=rnd.choice([0, 1, 2, 10**6, -1])),
        )
        for n in range(300)
    ]
    assert newest_first(entries) == sorted(entries, key=Entry.sort_key)
    assert newest_first(reversed(entries)) == sorted(entries, key=Entry.sort_key)
