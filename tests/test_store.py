"""The state store's own suite, against ``feedwright.store.Store`` and its records.

Every test here goes through the store's public interface (the package
docstring of ``feedwright.store``), so that another back end can be held to
the same suite: the ``backend`` fixture is the one place that knows which
database is under test: a SQLite file, and a new schema on the test
PostgreSQL server (``postgres_url`` in conftest.py; skipped, saying so,
where that server is unreachable). Tests of what only a file database has (a
garbage file, a folder, another application's SQLite file, migrations from
the schema versions feedwright released on SQLite) are in their own section.

``backend`` (tests/conftest.py) is a SQLite file, then a new PostgreSQL
schema. ``Backend.execute`` runs SQL on the database beside the store, for the few
tests that damage what the store wrote; nothing else reaches past the store.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import Backend
from test_model import CASES, FULL, IDS

import feedwright
from feedwright.exceptions import StoreError
from feedwright.model import Body, Enclosure, Entry, Person, Provenance, to_tuple
from feedwright.store import (
    SCHEMA_VERSION,
    BuildLog,
    CachedPost,
    Rendered,
    SaveResult,
    SourceState,
    Store,
    StoredEntry,
    cached_post,
    entry_row,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
KEY_A = "https://a.example/feed.xml"
KEY_B = "https://b.example/feed.xml"


# --------------------------------------------------------------------------- back ends


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    with backend.open() as opened:
        yield opened


# --------------------------------------------------------------------------- entries to store


def make_entry(id: str, *, hours: float = 0, title: str | None = None, **kw: Any) -> Entry:
    when = NOW - timedelta(hours=hours)
    title = f"Title {id}" if title is None else title
    return Entry(id=id, title=title, published=when, updated=when, **kw)


def save(
    store: Store,
    key: str,
    entries: Iterable[Entry],
    now: datetime = NOW,
    *,
    undated: frozenset[str] = frozenset(),
) -> SaveResult:
    return store.save_entry_rows(key, [entry_row(e) for e in entries], now, undated=undated)


def stored(store: Store, keys: Iterable[str] = (KEY_A, KEY_B)) -> list[Entry]:
    return [s.entry for s in store.entries(list(keys))]


# Entries that exercise every field and the edge values of each (test_model.py).
ROUND_TRIP, ROUND_TRIP_IDS = CASES, IDS


def without_text(entry: Entry | None) -> Entry | None:
    """What the post cache keeps of an entry: all but its body text (the file has it)."""
    if entry is None or entry.body is None:
        return entry
    return replace(entry, body=replace(entry.body, text=None))


def cached(size: int, mtime_ns: int, entry: Entry | None = None, *rest: Any) -> CachedPost:
    """A CachedPost of ``entry`` as a build makes it: plain values, body text left out."""
    kept = without_text(entry)
    values = None if kept is None else to_tuple(kept)
    return cached_post(size, mtime_ns, values, *rest)


# --------------------------------------------------------------------------- open


def test_open_creates_and_reopens(backend: Backend) -> None:
    with backend.open() as store:
        assert store.get_meta("k") is None
        store.set_meta("k", "v")
    with backend.open() as store:
        assert store.get_meta("k") == "v"


def test_a_closed_store_raises_store_error_naming_it(backend: Backend) -> None:
    store = backend.open()
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StoreError) as info:
        store.get_meta("x")
    assert info.value.path == backend.location
    with pytest.raises(StoreError), store.transaction():
        pass


def test_a_store_belongs_to_the_thread_that_opened_it(store: Store) -> None:
    errors: list[BaseException] = []

    def other() -> None:
        try:
            store.get_meta("x")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(10)
    assert [type(e) for e in errors] == [StoreError]


def test_concurrent_first_opens(backend: Backend) -> None:
    # The daemon and a `build` (or `status`) may both be the first to open a new database.
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def opener(n: int) -> None:
        try:
            start.wait(10)
            with backend.open() as store:
                store.set_meta(f"opener-{n}", "ok")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    with backend.open() as store:
        assert [store.get_meta(f"opener-{n}") for n in range(4)] == ["ok"] * 4


# --------------------------------------------------------------------------- sources


def test_published_since_gives_each_sources_entry_dates_oldest_first(store: Store) -> None:
    def entry(n: int, hours: int) -> Entry:
        when = NOW - timedelta(hours=hours)
        return Entry(id=f"urn:{n}", title="t", published=when, updated=when)

    store.save_entry_rows(KEY_A, [entry_row(entry(1, 1)), entry_row(entry(2, 50))], NOW)
    store.save_entry_rows(KEY_B, [entry_row(entry(3, 3)), entry_row(entry(4, 2))], NOW)
    since = NOW - timedelta(days=1)
    assert store.published_since([KEY_A, KEY_B], since) == {
        KEY_A: [NOW - timedelta(hours=1)],
        KEY_B: [NOW - timedelta(hours=3), NOW - timedelta(hours=2)],
    }
    assert store.published_since([KEY_B], NOW) == {}


def test_logged_builds_come_back_newest_first_and_only_the_newest_are_kept(
    store: Store,
) -> None:
    assert store.recent_builds() == []
    for n in range(5):
        store.log_build(
            BuildLog(NOW + timedelta(minutes=n), {"n": n, "written": ["金融/atom.xml"]}), keep=3
        )
    logs = store.recent_builds(10)
    assert [log.summary["n"] for log in logs] == [4, 3, 2]
    assert logs[0].at == NOW + timedelta(minutes=4)
    assert logs[0].summary["written"] == ["金融/atom.xml"]
    assert [log.summary["n"] for log in store.recent_builds(1)] == [4]


def test_source_state_round_trip(store: Store) -> None:
    state = SourceState(
        key=KEY_A,
        url="https://a.example/moved.xml",
        title="A",
        link="https://a.example/",
        feed_id="urn:a",
        etag='W/"1"',
        last_modified="Wed, 01 May 2024 10:00:00 GMT",
        body_hash="abc",
        last_fetch=NOW,
        last_success=NOW - timedelta(hours=1),
        last_result="error",
        next_check=NOW + timedelta(minutes=30, microseconds=5),
        error_count=3,
        last_error="HTTP 500",
        status="active",
        retry_after=NOW + timedelta(hours=2),
        requests=12,
        not_modified=7,
        unchanged=2,
        bytes_down=123_456,
        bytes_saved=98_765,
        body_size=20_000,
        validators_ignored=2,
        churned=1,
        ttl=60,
        skip_hours="0,1,2",
        skip_days="5,6",
        interval=5400.0,
    )
    # Every field differs from its default, so the round trip covers them all.
    defaults = SourceState._field_defaults
    assert [name for name, value in defaults.items() if getattr(state, name) == value] == ["status"]
    assert store.source_states() == {}
    store.save_source_state(state)
    assert store.source_states() == {KEY_A: state}

    fixed = state._replace(error_count=0, last_error=None, last_result="ok", retry_after=None)
    gone = SourceState(key=KEY_B, url=KEY_B, status="gone")
    store.save_source_state(fixed)
    store.save_source_state(gone)
    assert store.source_states() == {KEY_A: fixed, KEY_B: gone}
    got = store.source_states()[KEY_A].next_check
    assert got is not None and got.utcoffset() == timedelta(0)


def test_source_state_times_in_other_zones_come_back_as_utc(store: Store) -> None:
    shanghai = timezone(timedelta(hours=8))
    store.save_source_state(
        SourceState(KEY_A, KEY_A, last_fetch=datetime(2024, 5, 1, 20, 0, tzinfo=shanghai))
    )
    got = store.source_states()[KEY_A].last_fetch
    assert got == NOW and got is not None and got.tzinfo == UTC


def test_forget_sources(store: Store) -> None:
    for key in (KEY_A, KEY_B, "c"):
        store.save_source_state(SourceState(key, key))
    save(store, KEY_A, [make_entry("1")])
    save(store, KEY_B, [make_entry("1")])
    save(store, "entries-only", [make_entry("1")])
    generation = store.entries_generation()

    assert store.forget_sources([KEY_A]) == sorted([KEY_B, "c", "entries-only"])
    assert set(store.source_states()) == {KEY_A}
    assert [e.origin for e in stored(store, [KEY_A, KEY_B, "c", "entries-only"])] == [KEY_A]
    assert store.entry_counts() == {KEY_A: 1}
    assert store.entries_generation() != generation  # the published feeds must change

    generation = store.entries_generation()
    assert store.forget_sources(iter([KEY_A])) == []
    assert store.entries_generation() == generation
    assert store.forget_sources([]) == [KEY_A]
    assert store.source_states() == {} and store.entry_counts() == {}


# --------------------------------------------------------------------------- entries


def test_save_counts_and_keeps_first_seen(store: Store) -> None:
    first = [make_entry("1"), make_entry("2"), make_entry("3")]
    assert save(store, KEY_A, first) == SaveResult(new=3)

    later = NOW + timedelta(hours=5)
    second = [first[0], replace(first[1], title="changed"), make_entry("4")]
    assert save(store, KEY_A, second, later) == SaveResult(new=1, updated=1, unchanged=1)

    seen = {s.entry.id: (s.entry.title, s.first_seen) for s in store.entries([KEY_A])}
    assert seen == {
        "1": ("Title 1", NOW),
        "2": ("changed", NOW),  # updated, but first seen before
        "3": ("Title 3", NOW),  # dropped off the feed, still kept
        "4": ("Title 4", later),
    }
    assert store.entry_counts() == {KEY_A: 4}
    assert save(store, KEY_A, []) == SaveResult()


def test_stored_entries_carry_their_content_hash(store: Store) -> None:
    entry = make_entry("1", content="<p>x</p>")
    save(store, KEY_A, [entry])
    (got,) = store.entries([KEY_A])
    assert got == StoredEntry(replace(entry, origin=KEY_A), NOW, entry.content_hash())


def test_an_origin_change_alone_is_unchanged(store: Store) -> None:
    save(store, KEY_A, [make_entry("1", origin="x")])
    assert save(store, KEY_A, [make_entry("1", origin="y")]) == SaveResult(unchanged=1)


def test_the_same_id_in_two_sources_is_two_entries(store: Store) -> None:
    assert save(store, KEY_A, [make_entry("1", title="from a")]) == SaveResult(new=1)
    assert save(store, KEY_B, [make_entry("1", title="from b")]) == SaveResult(new=1)
    assert sorted((e.origin, e.title) for e in stored(store)) == [
        (KEY_A, "from a"),
        (KEY_B, "from b"),
    ]


def test_a_repeated_id_in_one_batch_first_wins(store: Store) -> None:
    batch = [make_entry("1", title="first"), make_entry("1", title="second")]
    assert save(store, KEY_A, batch) == SaveResult(new=1)
    assert [e.title for e in stored(store)] == ["first"]
    again = [make_entry("1", title="first"), make_entry("1", title="third")]
    assert save(store, KEY_A, again) == SaveResult(unchanged=1)
    assert [e.title for e in stored(store)] == ["first"]


def test_undated_entries_keep_their_first_seen_date(store: Store) -> None:
    # The parser stamps undated entries with the fetch time; the store pins them
    # to when they were first seen, so a re-fetch neither moves nor "updates" them.
    day1, day2 = NOW, NOW + timedelta(days=1)
    undated = make_entry("u", hours=-99)
    dated = make_entry("d", hours=3)
    got = save(store, KEY_A, [undated, dated], day1, undated=frozenset({"u"}))
    assert got == SaveResult(new=2)
    refetched = replace(undated, published=day2, updated=day2)
    assert save(store, KEY_A, [refetched, dated], day2, undated=frozenset({"u"})) == SaveResult(
        unchanged=2
    )
    by_id = {e.id: e for e in stored(store)}
    assert by_id["u"].published == by_id["u"].updated == day1
    assert by_id["d"].published == dated.published  # a dated entry keeps its own date

    edited = replace(refetched, title="edited")
    assert save(store, KEY_A, [edited], day2, undated=frozenset({"u"})) == SaveResult(updated=1)
    (entry,) = [e for e in stored(store) if e.id == "u"]
    assert (entry.title, entry.published, entry.updated) == ("edited", day1, day1)


def test_entries_order_and_origin(store: Store) -> None:
    # The same entry id through two subscriptions: B saw it first, so it comes
    # first; a tie on first_seen falls back to the source key, then the id.
    save(store, KEY_B, [make_entry("shared"), make_entry("b-only")], NOW)
    save(store, KEY_A, [make_entry("shared"), make_entry("a-only")], NOW + timedelta(1))
    save(store, "https://0.example/", [make_entry("tie")], NOW)
    save(store, "https://z.example/", [make_entry("tie")], NOW)
    everything = [KEY_A, KEY_B, "https://0.example/", "https://z.example/"]

    order = [(s.entry.origin, s.entry.id) for s in store.entries(everything)]
    assert order == [
        ("https://0.example/", "tie"),
        (KEY_B, "b-only"),
        (KEY_B, "shared"),
        ("https://z.example/", "tie"),
        (KEY_A, "a-only"),
        (KEY_A, "shared"),
    ]
    assert [(s.entry.origin, s.entry.id) for s in store.entries([KEY_A])] == [
        (KEY_A, "a-only"),
        (KEY_A, "shared"),
    ]
    assert store.entries([]) == []
    assert len(store.entries(iter([KEY_A, KEY_B, "unknown"]))) == 4
    assert store.entry_counts() == {
        KEY_A: 2,
        KEY_B: 2,
        "https://0.example/": 1,
        "https://z.example/": 1,
    }


def test_many_source_keys_at_once(store: Store) -> None:
    keys = [f"https://s{n}.example/feed.xml" for n in range(2000)]
    for key in keys[:50]:
        save(store, key, [make_entry("1")])
    assert len(store.entries(keys)) == 50


@pytest.mark.parametrize("entry", ROUND_TRIP, ids=ROUND_TRIP_IDS)
def test_a_stored_entry_round_trips(store: Store, entry: Entry) -> None:
    save(store, KEY_A, [entry])
    (got,) = store.entries([KEY_A])
    assert got.entry == replace(entry, origin=KEY_A)  # origin: the source key
    assert got.content_hash == entry.content_hash()
    assert got.entry.published.utcoffset() == timedelta(0)
    assert save(store, KEY_A, [got.entry]) == SaveResult(unchanged=1)


@pytest.mark.parametrize("entry", ROUND_TRIP, ids=ROUND_TRIP_IDS)
def test_a_cached_post_round_trips(store: Store, entry: Entry) -> None:
    post = cached(1, 2, entry, None, 3, entry.content_hash())
    store.update_posts("/posts", {"p.md": post})
    assert store.cached_posts("/posts") == {"p.md": post}


def test_prune_keeps_the_newest_by_published(store: Store) -> None:
    entries = [make_entry(str(h), hours=h) for h in range(10)]
    entries.append(make_entry("tie-b", hours=2))
    save(store, KEY_A, entries)
    save(store, KEY_B, [make_entry("other", hours=100)])
    generation = store.entries_generation()
    assert store.prune(KEY_A, 0) == 0  # 0 keeps all
    assert store.prune(KEY_A, 100) == 0
    assert store.entries_generation() == generation
    assert store.prune(KEY_A, 4) == 7
    assert sorted(e.id for e in stored(store, [KEY_A])) == ["0", "1", "2", "tie-b"]
    assert store.entries_generation() != generation
    assert store.prune(KEY_A, 3) == 1  # a tie on published: the larger id goes
    assert sorted(e.id for e in stored(store, [KEY_A])) == ["0", "1", "2"]
    assert store.entry_counts() == {KEY_A: 3, KEY_B: 1}
    assert store.prune("unknown", 1) == 0


def test_an_unreadable_stored_entry_is_a_store_error(backend: Backend, store: Store) -> None:
    save(store, KEY_A, [make_entry("1")])
    backend.execute("UPDATE entries SET data = ?", ('{"id": 1}',))
    with pytest.raises(StoreError, match=KEY_A) as info:
        store.entries([KEY_A])
    assert info.value.path == backend.location


# --------------------------------------------------------------------------- meta


def test_meta(store: Store) -> None:
    assert store.get_meta("record") is None
    store.set_meta("record", "a")
    store.set_meta("record", "b")
    store.set_meta("other", "张家港 \x00 {}")
    assert store.get_meta("record") == "b"
    assert store.get_meta("other") == "张家港 \x00 {}"


def test_the_entries_generation_moves_whenever_remote_entries_change(store: Store) -> None:
    seen = [store.entries_generation()]

    def moved() -> bool:
        seen.append(store.entries_generation())
        return seen[-1] != seen[-2]

    assert seen == [0]
    save(store, KEY_A, [make_entry("1"), make_entry("2")])
    assert moved()
    save(store, KEY_A, [make_entry("1"), make_entry("2")])
    assert not moved()  # nothing new
    save(store, KEY_A, [make_entry("1", title="edited")])
    assert moved()
    save(store, KEY_A, [make_entry("3")], undated=frozenset({"3"}))
    assert moved()
    store.set_meta("x", "y")
    store.save_source_state(SourceState(KEY_A, KEY_A, etag='"e"'))
    store.update_posts("/p", {"a.md": cached(1, 1)})
    store.save_rendered("/p", {"a.md": Rendered("h", "<p>x</p>", None)})
    assert not moved()  # only remote entries count
    assert store.prune(KEY_A, 1) == 2
    assert moved()
    store.forget_sources([])
    assert moved()
    with pytest.raises(RuntimeError), store.transaction():
        save(store, KEY_B, [make_entry("lost")])
        raise RuntimeError
    assert not moved()  # a write that was rolled back moved nothing
    # It never comes back to an earlier value: a build record made then would match again.
    values = [v for n, v in enumerate(seen) if n == 0 or v != seen[n - 1]]
    assert len(values) == len(set(values)) == 6


# --------------------------------------------------------------------------- the post cache


def post_entry(name: str) -> Entry:
    return make_entry(name, body=Body(f"# {name}", "markdown", "https://e/", f"digest-{name}"))


def test_the_post_cache_round_trip_and_updates(store: Store) -> None:
    entry = replace(FULL, content=None, source=None)
    first = {
        "2024/a.md": cached(10, 1_700_000_000_123_456_789, entry, None, 0, "h1"),
        "bad.md": cached(3, 5, None, "bad.md: no closing ---"),
        "draft.md": cached(4, 6),
        "broken-later.md": cached(7, 8, post_entry("kept"), "a typo", 2, "h2"),
        "张家港/新闻.md": cached(9, 9, post_entry("中文")),
    }
    store.update_posts("/posts", first)
    store.update_posts("/other", {"x.md": cached(1, 1)})
    expected = {rel: p for rel, p in first.items()}
    assert store.cached_posts("/posts") == expected

    edited = cached(11, 12, post_entry("a2"), None, 0, "h3")
    store.update_posts("/posts", {"2024/a.md": edited, "new.md": cached(2, 2)}, ["bad.md"])
    expected |= {"2024/a.md": edited, "new.md": cached(2, 2)}
    del expected["bad.md"]
    assert store.cached_posts("/posts") == expected
    assert store.cached_posts("/other") == {"x.md": cached(1, 1)}

    store.update_posts("/posts", {}, [*expected, "never-there.md"])
    assert store.cached_posts("/posts") == {}
    assert store.cached_posts("/never") == {}
    assert store.cached_posts("/other") == {"x.md": cached(1, 1)}


def test_a_post_cache_of_ten_thousand_posts(store: Store) -> None:
    posts = {
        f"{i:05}.md": cached(
            i,
            i * 1000,
            make_entry(f"p{i}", body=Body(None, "markdown", "https://s.example/", f"d{i}")),
        )
        for i in range(10_000)
    }
    store.update_posts("/posts", posts)
    got = store.cached_posts("/posts")
    assert got == posts
    store.update_posts("/posts", {"04242.md": cached(1, 1)}, ["00000.md"])
    got = store.cached_posts("/posts")
    assert len(got) == 9_999 and got["04242.md"] == cached(1, 1)
    assert got["09999.md"] == posts["09999.md"]


def test_forget_post_caches(store: Store) -> None:
    for root in ("/a", "/b", "/c"):
        store.update_posts(root, {"x.md": cached(1, 1, post_entry(root))})
        store.save_rendered(root, {"x.md": Rendered("h", f"<p>{root}</p>", None)})
    store.forget_post_caches(iter(["/b", "/elsewhere"]))
    assert store.cached_posts("/a") == store.cached_posts("/c") == {}
    assert store.rendered("/a", ["x.md"]) == store.rendered("/c", ["x.md"]) == {}
    assert list(store.cached_posts("/b")) == ["x.md"]
    assert store.rendered("/b", ["x.md"]) == {"x.md": Rendered("h", "<p>/b</p>", None)}
    store.forget_post_caches([])
    assert store.cached_posts("/b") == {} and store.rendered("/b", ["x.md"]) == {}


@pytest.mark.parametrize(
    "damage",
    [b"", b"not a cache", b"\x00" * 64, json.dumps({"a.md": [1, 2]}).encode()],
    ids=["empty", "text", "zeros", "json"],
)
def test_a_damaged_post_cache_reads_as_empty(backend: Backend, store: Store, damage: bytes) -> None:
    store.update_posts("/p", {f"{n}.md": cached(n, n, post_entry(str(n))) for n in range(40)})
    backend.execute("UPDATE post_caches SET data = ?", (damage,))
    assert store.cached_posts("/p") == {}  # only a cache: the posts are read again
    store.update_posts("/p", {"0.md": cached(5, 5)}, ["1.md"])  # and it can be refilled
    fresh = {f"{n}.md": cached(n, n) for n in range(40)}
    store.update_posts("/p", fresh)
    assert store.cached_posts("/p") == fresh


def test_a_post_cache_damaged_anywhere_is_never_trusted(backend: Backend, store: Store) -> None:
    # Whatever a damaged copy holds (cut off anywhere, any byte changed), it reads as
    # empty (or, where the change means nothing, as written), never as other posts
    # or an exception, and the next update rewrites it.
    entry = replace(FULL, content=None, source=None)
    post = cached(1, 2, entry, "e", 3, "h")
    store.update_posts("/p", {"a.md": post})
    ((blob,),) = backend.execute("SELECT data FROM post_caches")
    damaged = [blob[:n] for n in range(0, len(blob), 3)]
    for i in range(len(blob)):
        for value in (0, 0xFF, blob[i] ^ 0x01, blob[i] ^ 0x80):
            damaged.append(blob[:i] + bytes([value]) + blob[i + 1 :])
    for data in damaged:
        backend.execute("UPDATE post_caches SET data = ?", (data,))
        assert store.cached_posts("/p") in ({}, {"a.md": post}), data
        store.update_posts("/p", {"b.md": cached(1, 3)})
        assert store.cached_posts("/p").get("b.md") == cached(1, 3), data
        store.update_posts("/p", {"a.md": post}, ["b.md"])


# Paths as a posts folder may hold them: a file name written by a Latin-1 or
# Shift-JIS system arrives as surrogates (os.fsdecode), and a name may hold
# any character but "/" and NUL.
ODD_NAMES = [
    os.fsdecode(b"caf\xe9.md"),
    os.fsdecode(b"\x82\xa0/\x82\xa2.md"),
    "café.md",
    "\x01",
    "\x01" + os.fsencode(os.fsdecode(b"caf\xe9.md")).hex(),
    "\x01" + os.fsdecode(b"caf\xe9.md").encode("utf-8", "surrogatepass").hex(),
    "\\xe9.md",
    "emoji 😀.md",
]


def test_any_path_is_a_key_of_its_own(store: Store) -> None:
    roots = ["/site/posts", os.fsdecode(b"/srv/caf\xe9/posts"), "\x01/r"]
    for n, root in enumerate(roots):
        posts = {name: cached(n, i, post_entry(name)) for i, name in enumerate(ODD_NAMES)}
        store.update_posts(root, posts)
        html = {name: Rendered(f"h{i}", f"<p>{n} {i}</p>", None) for i, name in enumerate(posts)}
        store.save_rendered(root, html)
    for n, root in enumerate(roots):
        got = store.cached_posts(root)
        assert got == {name: cached(n, i, post_entry(name)) for i, name in enumerate(ODD_NAMES)}
        assert store.rendered(root, ODD_NAMES) == {
            name: Rendered(f"h{i}", f"<p>{n} {i}</p>", None) for i, name in enumerate(ODD_NAMES)
        }
    store.update_posts(roots[1], {}, ODD_NAMES[:2])
    assert sorted(store.cached_posts(roots[1])) == sorted(ODD_NAMES[2:])
    assert sorted(store.rendered(roots[1], ODD_NAMES)) == sorted(ODD_NAMES[2:])
    store.forget_post_caches([roots[1]])
    assert store.cached_posts(roots[0]) == store.cached_posts(roots[2]) == {}
    assert sorted(store.cached_posts(roots[1])) == sorted(ODD_NAMES[2:])
    assert store.rendered(roots[0], ODD_NAMES) == {}


# --------------------------------------------------------------------------- rendered HTML


def test_rendered_round_trip(store: Store) -> None:
    html = {
        "a.md": Rendered("hash-a", "<p>A 张家港</p>", "<p>A</p>"),
        "b.md": Rendered("hash-b", "", None),
    }
    store.save_rendered("/p", html)
    assert store.rendered("/p", ["a.md", "b.md", "never.md"]) == html
    assert store.rendered("/p", iter(["b.md"])) == {"b.md": html["b.md"]}
    assert store.rendered("/p", []) == {}
    assert store.rendered("/other", ["a.md"]) == {}

    store.save_rendered("/p", {"a.md": Rendered("hash-a2", "<p>A2</p>", None)})
    assert store.rendered("/p", ["a.md"]) == {"a.md": Rendered("hash-a2", "<p>A2</p>", None)}


def test_a_post_removed_from_the_cache_loses_its_html(store: Store) -> None:
    store.update_posts("/p", {"a.md": cached(1, 1), "b.md": cached(2, 2)})
    store.save_rendered("/p", {"a.md": Rendered("h", "A", None), "b.md": Rendered("h", "B", None)})
    store.update_posts("/p", {}, ["a.md"])
    assert store.rendered("/p", ["a.md", "b.md"]) == {"b.md": Rendered("h", "B", None)}


# --------------------------------------------------------------------------- transactions


def test_an_exception_inside_a_transaction_keeps_what_was_there(store: Store) -> None:
    save(store, KEY_A, [make_entry("kept")])
    store.set_meta("m", "before")
    store.update_posts("/p", {"a.md": cached(1, 1)})
    with pytest.raises(RuntimeError), store.transaction():
        save(store, KEY_A, [make_entry("lost"), make_entry("kept", title="lost")])
        store.set_meta("m", "after")
        store.save_source_state(SourceState(KEY_A, KEY_A))
        store.update_posts("/p", {"b.md": cached(2, 2)}, ["a.md"])
        store.save_rendered("/p", {"a.md": Rendered("h", "lost", None)})
        store.forget_sources([])
        raise RuntimeError("crash mid-save")
    assert [(e.id, e.title) for e in stored(store)] == [("kept", "Title kept")]
    assert store.get_meta("m") == "before"
    assert store.source_states() == {}
    assert store.cached_posts("/p") == {"a.md": cached(1, 1)}
    assert store.rendered("/p", ["a.md"]) == {}
    # The connection is usable again afterwards.
    store.set_meta("m", "later")
    assert store.get_meta("m") == "later"


def test_a_transaction_commits_everything_at_its_end(backend: Backend, store: Store) -> None:
    with store.transaction():
        store.set_meta("a", "1")
        save(store, KEY_A, [make_entry("1")])
        with backend.open(timeout=0.05) as other:
            assert other.get_meta("a") is None  # not yet
            assert other.entry_counts() == {}
    with backend.open() as other:
        assert other.get_meta("a") == "1"
        assert other.entry_counts() == {KEY_A: 1}


def test_a_nested_transaction_is_a_savepoint(store: Store) -> None:
    with store.transaction():
        store.set_meta("outer", "1")
        with pytest.raises(RuntimeError), store.transaction():
            store.set_meta("inner", "1")
            with store.transaction():
                store.set_meta("innermost", "1")
            raise RuntimeError
        with store.transaction():
            store.set_meta("second inner", "1")
        store.set_meta("after", "1")
    got = {k: store.get_meta(k) for k in ("outer", "inner", "innermost", "second inner", "after")}
    assert got == {
        "outer": "1",
        "inner": None,
        "innermost": None,
        "second inner": "1",
        "after": "1",
    }


def test_an_outer_rollback_undoes_a_released_savepoint(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        with store.transaction():
            store.set_meta("inner", "1")
        raise RuntimeError
    assert store.get_meta("inner") is None


# --------------------------------------------------------------------------- several processes


def test_two_connections_share_the_database(backend: Backend) -> None:
    backend.open().close()
    locked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def daemon() -> None:
        try:
            with backend.open() as store, store.transaction():
                store.set_meta("owner", "daemon")
                locked.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)
            locked.set()

    holder = threading.Thread(target=daemon)
    holder.start()
    assert locked.wait(10)
    try:
        with backend.open(timeout=0.05) as build:
            # Reading is never blocked and sees only committed data.
            assert build.get_meta("owner") is None
            with pytest.raises(StoreError, match="locked") as info:
                build.set_meta("owner", "build")
            assert info.value.path == backend.location
            assert build.get_meta("owner") is None  # and the failed write left nothing
    finally:
        release.set()
        holder.join(10)
    assert errors == []

    # A patient writer waits for the lock instead of failing.
    locked.clear()
    release.clear()
    holder = threading.Thread(target=daemon)
    holder.start()
    assert locked.wait(10)
    timer = threading.Timer(0.1, release.set)
    timer.start()
    with backend.open(timeout=10) as build:
        build.set_meta("owner", "build")
        assert build.get_meta("owner") == "build"
    holder.join(10)
    timer.join()
    assert errors == []


WRITER = """
import sys
from datetime import UTC, datetime
from feedwright.model import Entry
from feedwright.store import Store, entry_row

now = datetime(2024, 1, 1, tzinfo=UTC)
store = Store.open(sys.argv[1])
batch = 0
while True:
    with store.transaction():
        rows = [
            entry_row(Entry(id=f"{batch}-{i}", title="x" * 300, published=now, updated=now))
            for i in range(200)
        ]
        store.save_entry_rows("k", rows, now)
        store.set_meta("batches", str(batch + 1))
    batch += 1
    print(batch, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_writer_leaves_only_whole_batches(backend: Backend) -> None:
    src = Path(feedwright.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(src)}
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, backend.location], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    try:
        for line in child.stdout:
            if int(line) >= 5:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with backend.open() as store:
        batches = int(store.get_meta("batches") or 0)
        assert batches >= 5
        ids = [s.entry.id for s in store.entries(["k"])]
        assert store.entry_counts() == {"k": len(ids)}
        store.set_meta("after", "the kill")  # still writable
    per_batch: dict[str, int] = {}
    for id in ids:
        per_batch[id.split("-")[0]] = per_batch.get(id.split("-")[0], 0) + 1
    assert per_batch == {str(b): 200 for b in range(batches)}


# --------------------------------------------------------------------------- a SQLite file


def test_a_new_file_gets_its_folders_wal_and_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.db"
    Store.open(path).close()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        store.set_meta("k", "v")
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StoreError, match="newer") as info:
        Store.open(path)
    assert info.value.path == str(path)
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT value FROM meta").fetchall() == [("v",)]  # left alone
    raw.close()


def test_a_garbage_file_is_refused_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    garbage = b"this is not a database\x00\xff" * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as info:
        Store.open(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == garbage


def test_another_applications_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE notes (x)")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="not a feedwright"):
        Store.open(path)
    raw = sqlite3.connect(path)
    assert [r[0] for r in raw.execute("SELECT name FROM sqlite_master")] == ["notes"]
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 0
    raw.close()


def test_another_applications_versioned_database_is_refused_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    # Many applications number their schema in user_version too; one whose tables
    # share a name with ours must not be "migrated".
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE posts (title)")
    raw.execute("INSERT INTO posts VALUES ('keep me')")
    raw.execute("PRAGMA user_version = 2")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="not a feedwright") as info:
        Store.open(path)
    assert info.value.path == str(path)
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT name FROM sqlite_master").fetchall() == [("posts",)]
    assert raw.execute("SELECT title FROM posts").fetchall() == [("keep me",)]
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 2
    raw.close()


def test_a_folder_as_the_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="folder") as info:
        Store.open(tmp_path)
    assert info.value.path == str(tmp_path)


def test_a_folder_that_cannot_be_made_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way")
    with pytest.raises(StoreError, match="cannot create folder"):
        Store.open(tmp_path / "file" / "state.db")


# The schema as feedwright released it, before version 5: the sources and
# entries tables of version 1 (unchanged until 5), and the post cache of each
# version (dropped and rebuilt by the next build). Written out here, as the
# files on users' disks have it, not taken from the migrations.
OLD_TABLES = [
    """CREATE TABLE sources (
        key TEXT PRIMARY KEY, url TEXT NOT NULL, title TEXT, link TEXT, feed_id TEXT,
        etag TEXT, last_modified TEXT, body_hash TEXT, last_fetch TEXT, last_success TEXT,
        last_result TEXT, next_check TEXT, error_count INTEGER NOT NULL DEFAULT 0,
        last_error TEXT, status TEXT NOT NULL DEFAULT 'active', retry_after TEXT)""",
    """CREATE TABLE entries (
        source_key TEXT NOT NULL, id TEXT NOT NULL, published REAL NOT NULL,
        first_seen TEXT NOT NULL, content_hash TEXT NOT NULL, data TEXT NOT NULL,
        summary TEXT, content TEXT, body_text TEXT, PRIMARY KEY (source_key, id))""",
    "CREATE INDEX entries_by_published ON entries (source_key, published)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
]
OLD_POST_CACHES = {
    1: """CREATE TABLE posts (root TEXT NOT NULL, rel_path TEXT NOT NULL, size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL, error TEXT, data TEXT, summary TEXT, content TEXT,
        body_text TEXT, PRIMARY KEY (root, rel_path))""",
    2: """CREATE TABLE posts (root TEXT NOT NULL, rel_path TEXT NOT NULL, size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL, error TEXT, data TEXT, summary TEXT, content TEXT,
        body_text TEXT, stripped INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (root, rel_path))""",
    3: """CREATE TABLE posts (root TEXT NOT NULL, rel_path TEXT NOT NULL, size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL, error TEXT, stripped INTEGER NOT NULL DEFAULT 0,
        packed BLOB, body_text TEXT, PRIMARY KEY (root, rel_path))""",
    4: """CREATE TABLE post_caches (root TEXT NOT NULL, bucket INTEGER NOT NULL,
        data BLOB NOT NULL, PRIMARY KEY (root, bucket))""",
}
OLD_CACHE_ROWS = {
    1: "INSERT INTO posts (root, rel_path, size, mtime_ns, data) VALUES ('/p', 'a', 1, 2, '{}')",
    2: "INSERT INTO posts (root, rel_path, size, mtime_ns, stripped) VALUES ('/p', 'a', 1, 2, 3)",
    3: "INSERT INTO posts (root, rel_path, size, mtime_ns, packed) VALUES ('/p', 'a', 1, 2, x'00')",
    4: "INSERT INTO post_caches (root, bucket, data) VALUES ('/p', 7, x'e90200000029')",
}
# An entry as versions 1 to 4 stored it: JSON of the small fields (datetimes
# with microseconds), the big texts in columns of their own.
OLD_DATA = {
    "id": "tag:a.example,2024:1",
    "title": "Ünïcode & <escaped> 张家港",
    "published": "2024-01-02T03:04:05.678901+00:00",
    "updated": "2024-01-03T00:00:00.000000+00:00",
    "link": "https://a.example/1",
    "authors": [{"name": "Ann", "email": "ann@a.example", "uri": "https://a.example/ann"}],
    "categories": ["金融", "Tech"],
    "tags": ["x"],
    "enclosures": [{"url": "https://a.example/i.png", "type": "image/png", "length": 123}],
    "source": {"url": KEY_A, "title": "A", "link": "https://a.example/", "id": "urn:a"},
    "language": "zh-CN",
    "origin": KEY_A,
}
OLD_ENTRY = Entry(
    id="tag:a.example,2024:1",
    title="Ünïcode & <escaped> 张家港",
    published=datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    updated=datetime(2024, 1, 3, tzinfo=UTC),
    link="https://a.example/1",
    authors=(Person("Ann", "ann@a.example", "https://a.example/ann"),),
    categories=("金融", "Tech"),
    tags=("x",),
    summary="<p>summary</p>",
    content="<p>content</p>",
    enclosures=(Enclosure("https://a.example/i.png", "image/png", 123),),
    source=Provenance(KEY_A, "A", "https://a.example/", "urn:a"),
    language="zh-CN",
    origin=KEY_A,
)
OLD_STATE = SourceState(
    key=KEY_A,
    url="https://a.example/moved.xml",
    title="A",
    link="https://a.example/",
    etag='"v7"',
    last_modified="Wed, 01 May 2024 10:00:00 GMT",
    body_hash="abc",
    last_fetch=NOW,
    last_success=NOW - timedelta(hours=1),
    last_result="not-modified",
    next_check=NOW + timedelta(minutes=30),
    error_count=0,
    retry_after=None,
)


def old_database(path: Path, version: int, entries: list[tuple[str, str, dict[str, Any]]]) -> None:
    """A state database as feedwright ``version`` left it, made by hand."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA application_id = 1719104372")  # "fwst"
    for sql in [*OLD_TABLES, OLD_POST_CACHES[version], OLD_CACHE_ROWS[version]]:
        db.execute(sql)
    db.execute(
        "INSERT INTO sources (key, url, title, link, etag, last_modified, body_hash, last_fetch,"
        " last_success, last_result, next_check, error_count) VALUES"
        " (?, ?, 'A', 'https://a.example/', '\"v7\"', 'Wed, 01 May 2024 10:00:00 GMT', 'abc',"
        " '2024-05-01T12:00:00.000000+00:00', '2024-05-01T11:00:00.000000+00:00',"
        " 'not-modified', '2024-05-01T12:30:00.000000+00:00', 0)",
        (KEY_A, "https://a.example/moved.xml"),
    )
    for key, first_seen, data in entries:
        db.execute(
            "INSERT INTO entries (source_key, id, published, first_seen, content_hash, data,"
            " summary, content, body_text) VALUES (?, ?, ?, ?, 'an old hash', ?, ?, ?, NULL)",
            (
                key,
                data["id"],
                datetime.fromisoformat(data["published"]).timestamp(),
                first_seen,
                json.dumps(data, ensure_ascii=False),
                "<p>summary</p>",
                "<p>content</p>",
            ),
        )
    db.execute("INSERT INTO meta (key, value) VALUES ('entries-generation', '41')")
    db.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
    db.execute(f"PRAGMA user_version = {version}")
    db.close()


@pytest.mark.parametrize("version", sorted(OLD_POST_CACHES))
def test_an_older_database_keeps_its_remote_entries_and_source_state(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "old.db"
    seen = "2024-04-01T08:00:00.000000+00:00"
    other = {**OLD_DATA, "id": "https://b.example/2", "title": "B", "origin": KEY_B}
    old_database(path, version, [(KEY_A, seen, OLD_DATA), (KEY_B, seen, other)])
    with Store.open(path) as store:
        assert store.source_states() == {KEY_A: OLD_STATE}
        (got,) = store.entries([KEY_A])
        assert got.entry == OLD_ENTRY
        assert got.first_seen == datetime(2024, 4, 1, 8, 0, tzinfo=UTC)
        assert got.content_hash == OLD_ENTRY.content_hash()
        assert store.entry_counts() == {KEY_A: 1, KEY_B: 1}
        assert store.get_meta("k") == "v"
        # The next fetch of the same entry changes nothing, keeps first_seen.
        assert save(store, KEY_A, [OLD_ENTRY], NOW) == SaveResult(unchanged=1)
        assert store.entries([KEY_A])[0].first_seen == got.first_seen
        # The post cache was only a cache: the next build reads the posts and fills it.
        assert store.cached_posts("/p") == {}
        post = cached(1, 2, post_entry("a"))
        store.update_posts("/p", {"a.md": post})
        assert store.cached_posts("/p") == {"a.md": post}
        generation = store.entries_generation()
        save(store, KEY_A, [make_entry("new")])
        assert store.entries_generation() != generation
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()


def test_an_older_database_that_cannot_be_migrated_is_refused_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    seen = "2024-04-01T08:00:00.000000+00:00"
    old_database(path, 4, [(KEY_A, seen, OLD_DATA)])
    raw = sqlite3.connect(path)
    raw.execute("UPDATE entries SET data = 'not json'")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="version 5") as info:
        Store.open(path)
    assert info.value.path == str(path)
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 4
    assert raw.execute("SELECT data FROM entries").fetchall() == [("not json",)]
    raw.close()
