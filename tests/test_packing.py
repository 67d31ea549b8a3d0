"""packing: entries as marshal bytes for the post cache and forked readers."""

from __future__ import annotations

import marshal
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from test_store import FULL, ROUND_TRIP, ROUND_TRIP_IDS

from feedwright.exceptions import StoreError
from feedwright.model import Body, Entry
from feedwright.packing import entry_values, from_values, pack, unpack
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


def test_a_corrupt_cached_post_is_a_store_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        store.save_posts("/posts", {"a.md": CachedPost(1, 2, FULL)})
    db = sqlite3.connect(path)
    ((data,),) = db.execute("SELECT data FROM post_caches").fetchall()
    version, ((rel, size, mtime, error, stripped, _packed, text),) = marshal.loads(data)
    bad = marshal.dumps((version, [(rel, size, mtime, error, stripped, b"\x00\xff", text)]))
    db.execute("UPDATE post_caches SET data = ?", (bad,))
    db.commit()
    db.close()
    with Store.open(path) as store, pytest.raises(StoreError, match="cached post") as info:
        store.cached_posts("/posts")
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
