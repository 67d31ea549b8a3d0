"""packing: entries as marshal bytes for the post cache and forked readers."""

from __future__ import annotations

import marshal
import pickle
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from test_store import FULL, ROUND_TRIP, ROUND_TRIP_IDS

from feedwright.exceptions import StoreError
from feedwright.model import Body, Entry
from feedwright.packing import (
    CachedEntry,
    cached_entry,
    entry_digest,
    entry_values,
    from_values,
    head,
    pack,
    pack_for_cache,
    unpack,
)
from feedwright.store import CachedPost, Store


@pytest.mark.parametrize("entry", ROUND_TRIP, ids=ROUND_TRIP_IDS)
def test_pack_round_trips_every_field(entry: object) -> None:
    assert unpack(pack(entry)) == entry  # type: ignore[arg-type]


def test_body_text_can_be_left_out() -> None:
    entry = replace(FULL, body=Body("# Hi", "markdown", "https://site.example/p/", "d1"))
    back = unpack(pack(entry, body_text=False))
    assert back == replace(entry, body=Body(None, "markdown", "https://site.example/p/", "d1"))
    assert back.content_hash() == entry.content_hash()  # the digest stands for the text


def test_a_memo_shares_equal_authors_and_provenance() -> None:
    memo: dict[tuple[object, ...], object] = {}
    a = unpack(pack(FULL), memo)
    b = unpack(pack(replace(FULL, id="other")), memo)
    assert a.authors is b.authors and a.source is b.source


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", marshal.dumps([1, 2]), marshal.dumps(("too", "short")), pack(FULL)[:-3]],
)
def test_bytes_pack_did_not_make_are_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a packed entry"):
        unpack(data)


def _damage_packed_entry(path: Path, packed: bytes) -> None:
    db = sqlite3.connect(path)
    ((data,),) = db.execute("SELECT data FROM post_caches").fetchall()
    version, ((rel, size, mtime, error, stripped, _packed, text, top),) = marshal.loads(data)
    bad = marshal.dumps((version, [(rel, size, mtime, error, stripped, packed, text, top)]))
    db.execute("UPDATE post_caches SET data = ?", (bad,))
    db.commit()
    db.close()


def test_a_corrupt_cached_post_is_a_store_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        store.save_posts("/posts", {"a.md": CachedPost(1, 2, FULL)})
    _damage_packed_entry(path, b"\x00\xff")
    with Store.open(path) as store, pytest.raises(StoreError, match="cached post") as info:
        store.cached_posts("/posts")
    assert info.value.path == str(path)


@pytest.mark.parametrize(
    "packed", [b"\x00\xff", pack(replace(FULL, id="someone else"), body_text=False)]
)
def test_a_corrupt_lazily_decoded_post_is_a_store_error_when_first_used(
    tmp_path: Path, packed: bytes
) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        store.save_posts("/posts", {"a.md": CachedPost(1, 2, FULL)})
    _damage_packed_entry(path, packed)
    with Store.open(path) as store:
        (got,) = store.cached_posts("/posts", bodies=False).values()
    assert got.entry is not None and got.entry.id == FULL.id  # the head alone is fine
    with pytest.raises(StoreError, match="cached post") as info:
        got.entry.title  # noqa: B018 - the first use decodes the rest
    assert info.value.path == str(path)


@pytest.mark.parametrize("data", [b"\x00\xff", b"", marshal.dumps((99, [])), marshal.dumps([1])])
def test_a_damaged_post_cache_is_a_store_error_naming_the_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        store.save_posts("/posts", {"a.md": CachedPost(1, 2, FULL)})
    db = sqlite3.connect(path)
    db.execute("UPDATE post_caches SET data = ?", (data,))
    db.commit()
    db.close()
    with Store.open(path) as store:
        with pytest.raises(StoreError, match="cache of /posts is damaged") as info:
            store.cached_posts("/posts")
        assert info.value.path == str(path)


def test_the_cache_saves_bytes_it_was_given_without_packing_again(tmp_path: Path) -> None:
    packed = pack(FULL, body_text=False)
    with Store.open(tmp_path / "s.db") as store:
        store.save_posts("/p", {"a.md": CachedPost(1, 2, FULL, packed=packed)})
        (got,) = store.cached_posts("/p", bodies=False).values()
    assert got.packed == packed
    assert got.entry == unpack(packed)


def test_unpacked_entries_are_checked_like_constructed_ones() -> None:
    values = list(entry_values(FULL))
    values[2] = "2024-01-02T03:04:05+08:00"  # not UTC
    with pytest.raises(ValueError, match="not a packed entry"):
        unpack(marshal.dumps(tuple(values)))
    back = from_values(entry_values(FULL))
    assert back == FULL and hash(back) == hash(FULL) and type(back) is Entry


# ------------------------------------------------------------------ lazy cached entries


def _lazy(entry: Entry) -> Entry:
    return cached_entry(head(entry), pack(entry, body_text=False), "state.db")


@pytest.mark.parametrize("entry", ROUND_TRIP, ids=ROUND_TRIP_IDS)
def test_a_cached_entry_is_the_entry_it_was_packed_from(entry: Entry) -> None:
    stored = unpack(pack(entry, body_text=False))  # what the post cache holds
    lazy = _lazy(entry)
    assert isinstance(lazy, CachedEntry)
    # Equal both ways round (the dataclass __eq__ wants one class), same hash.
    assert lazy == stored and stored == lazy and hash(lazy) == hash(stored)
    assert lazy != replace(stored, title="other") and replace(stored, title="other") != lazy
    assert lazy.content_hash() == stored.content_hash()
    assert repr(lazy) == repr(stored).replace("Entry(", "CachedEntry(", 1)


def test_a_cached_entry_decodes_the_rest_on_first_use_only() -> None:
    lazy = _lazy(FULL)
    # The head's fields are set; no other slot is filled yet.
    assert (lazy.id, lazy.published, lazy.updated, lazy.categories, lazy.origin) == (
        FULL.id,
        FULL.published,
        FULL.updated,
        FULL.categories,
        FULL.origin,
    )
    with pytest.raises(AttributeError):
        object.__getattribute__(lazy, "title")
    assert lazy.title == FULL.title
    assert object.__getattribute__(lazy, "summary") == FULL.summary  # all filled at once
    with pytest.raises(AttributeError):
        lazy.no_such_field  # type: ignore[attr-defined]  # noqa: B018


def test_a_cached_entry_pickles_and_replaces_as_a_plain_entry() -> None:
    lazy = _lazy(FULL)
    back = pickle.loads(pickle.dumps(lazy))
    assert type(back) is Entry and back == lazy
    changed = replace(lazy, title="new")
    assert changed.title == "new" and changed.summary == FULL.summary
    assert entry_digest(changed) == changed.content_hash()  # no packed bytes any more


def test_the_feed_digest_of_a_cached_post_is_its_packed_bytes() -> None:
    packed = pack(FULL, body_text=False)
    lazy = cached_entry(head(FULL), packed, "")
    top, again = pack_for_cache(unpack(packed))
    assert top == head(FULL) == head(lazy) and marshal.loads(again) == marshal.loads(packed)
    copy = cached_entry(top, packed, "")
    assert entry_digest(lazy) == entry_digest(copy) != entry_digest(FULL)
    assert entry_digest(FULL) == FULL.content_hash()
    other = pack(replace(FULL, title="changed"), body_text=False)
    assert entry_digest(cached_entry(head(FULL), other, "")) != entry_digest(lazy)
    assert copy == lazy and type(copy) is CachedEntry


def test_saving_a_cached_entry_does_not_decode_it(tmp_path: Path) -> None:
    # A cold build saves 10,000 entries that forked readers sent as bytes;
    # the save must take the bytes as they are, not decode every entry.
    packed = pack(FULL, body_text=False)
    lazy = cached_entry(head(FULL), packed, "")
    with Store.open(tmp_path / "s.db") as store:
        store.save_posts("/p", {"a.md": CachedPost(1, 2, lazy, packed=packed)})
        with pytest.raises(AttributeError):
            object.__getattribute__(lazy, "title")  # still not decoded
        (got,) = store.cached_posts("/p").values()
    assert got.entry == unpack(packed) and got.packed == packed
