"""The SQLite state store, on real database files in tmp_path."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import MISSING, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import feedwright
from feedwright.exceptions import StoreError
from feedwright.model import Body, Enclosure, Entry, Person, Provenance
from feedwright.store import (
    SCHEMA_VERSION,
    CachedPost,
    SaveResult,
    SourceState,
    Store,
    from_json,
    to_json,
)
from feedwright.store.migrations import migrate

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
KEY_A = "https://a.example/feed.xml"
KEY_B = "https://b.example/feed.xml"


def make_entry(id: str, *, hours: int = 0, title: str | None = None, **kw: Any) -> Entry:
    when = NOW - timedelta(hours=hours)
    title = f"Title {id}" if title is None else title
    return Entry(id=id, title=title, published=when, updated=when, **kw)


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
)


ROUND_TRIP = [
    FULL,
    replace(FULL, body=None),  # a rendered/remote entry
    replace(FULL, content=None, summary=None, source=None),  # an unrendered post
    make_entry("minimal"),
    make_entry("old", hours=24 * 365 * 60),  # before 1970
    make_entry("", title="\x00 ctrl \t\n quotes \" ' \\ \U0001f600"),
    replace(FULL, authors=(Person(""),), categories=("",), enclosures=()),
    replace(FULL, published=datetime(1, 1, 1, tzinfo=UTC)),
    replace(FULL, updated=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    replace(FULL, summary="", content="nul \x00 inside", body=Body("", "html", "")),
]
ROUND_TRIP_IDS = [f"{n}-{e.id[:8]}" for n, e in enumerate(ROUND_TRIP)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state.db") as s:
        yield s


# --------------------------------------------------------------------------- open / migrate


def test_open_creates_folders_migrates_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.db"
    with Store.open(path) as store:
        store.set_meta("k", "v")
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    with Store.open(path) as store:
        assert store.get_meta("k") == "v"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store.open(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StoreError, match="newer") as info:
        Store.open(path)
    assert info.value.path == str(path)


def test_garbage_file_is_refused_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    garbage = b"this is not a database\x00\xff" * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as info:
        Store.open(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == garbage


def test_other_applications_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE notes (x)")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="not a feedwright"):
        Store.open(path)
    raw = sqlite3.connect(path)
    tables = [r[0] for r in raw.execute("SELECT name FROM sqlite_master")]
    raw.close()
    assert tables == ["notes"]


def test_folder_as_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="folder") as info:
        Store.open(tmp_path)
    assert info.value.path == str(tmp_path)


def test_failed_migration_rolls_back_only_itself(tmp_path: Path) -> None:
    def first(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE one (x)")

    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE two (x)")
        db.execute("THIS IS NOT SQL")

    db = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    with pytest.raises(StoreError, match="version 2"):
        migrate(db, path="m.db", migrations=[first, broken])
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert tables == {"one"}
    db.close()


# --------------------------------------------------------------------------- sources


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
    )
    assert store.source_state(KEY_A) is None
    store.save_source_state(state)
    assert store.source_state(KEY_A) == state
    fixed = replace(state, error_count=0, last_error=None, last_result="ok", retry_after=None)
    store.save_source_state(fixed)
    store.save_source_state(SourceState(key=KEY_B, url=KEY_B))
    assert store.source_states() == {KEY_A: fixed, KEY_B: SourceState(key=KEY_B, url=KEY_B)}
    got = store.source_state(KEY_A)
    assert got is not None and got.next_check is not None
    assert got.next_check.tzinfo is not None and got.next_check.utcoffset() == timedelta(0)


def test_due_sources(store: Store) -> None:
    later, earlier = NOW + timedelta(minutes=1), NOW - timedelta(minutes=1)
    states = {
        "waiting": SourceState("waiting", "u", next_check=later),
        "reached": SourceState("reached", "u", next_check=earlier),
        "exact": SourceState("exact", "u", next_check=NOW),
        "unset": SourceState("unset", "u"),
        "gone": SourceState("gone", "u", status="gone", next_check=earlier),
        "retry": SourceState("retry", "u", next_check=earlier, retry_after=later),
    }
    for state in states.values():
        store.save_source_state(state)
    keys = ["never", *states]
    assert store.due_sources(keys, NOW) == ["never", "reached", "exact", "unset"]
    assert store.due_sources(["retry"], later) == ["retry"]
    assert store.due_sources([], NOW) == []


def test_forget_sources(store: Store) -> None:
    for key in (KEY_A, KEY_B, "c"):
        store.save_source_state(SourceState(key, key))
    store.save_entries(KEY_A, [make_entry("1")], NOW)
    store.save_entries(KEY_B, [make_entry("1")], NOW)
    store.save_entries("entries-only", [make_entry("1")], NOW)
    assert store.forget_sources([KEY_A]) == 3
    assert set(store.source_states()) == {KEY_A}
    assert [e.origin for e in store.entries()] == [KEY_A]
    assert store.forget_sources([KEY_A]) == 0


# --------------------------------------------------------------------------- entries


def test_save_entries_counts_and_keeps_first_seen(store: Store) -> None:
    first = [make_entry("1"), make_entry("2"), make_entry("3")]
    assert store.save_entries(KEY_A, first, NOW) == SaveResult(new=3)

    later = NOW + timedelta(hours=5)
    second = [first[0], replace(first[1], title="changed"), make_entry("4")]
    assert store.save_entries(KEY_A, second, later) == SaveResult(new=1, updated=1, unchanged=1)

    seen = {e.id: (e.title, when) for e, when in store.entries_with_first_seen([KEY_A])}
    assert seen == {
        "1": ("Title 1", NOW),
        "2": ("changed", NOW),  # updated, but first seen before
        "3": ("Title 3", NOW),  # dropped off the feed, still kept
        "4": ("Title 4", later),
    }
    assert store.entry_count(KEY_A) == 4
    assert store.entry_count(KEY_B) == 0


def test_origin_change_alone_is_unchanged(store: Store) -> None:
    store.save_entries(KEY_A, [make_entry("1", origin="x")], NOW)
    assert store.save_entries(KEY_A, [make_entry("1", origin="y")], NOW) == SaveResult(unchanged=1)


def test_repeated_id_in_one_batch_first_wins(store: Store) -> None:
    batch = [make_entry("1", title="first"), make_entry("1", title="second")]
    assert store.save_entries(KEY_A, batch, NOW) == SaveResult(new=1)
    assert [e.title for e in store.entries()] == ["first"]


def test_undated_entries_keep_their_first_seen_date(store: Store) -> None:
    # The parser stamps undated entries with the fetch time; the store pins them
    # to when they were first seen, so a re-fetch neither moves nor "updates" them.
    day1, day2 = NOW, NOW + timedelta(days=1)
    undated = make_entry("u", hours=-99)
    assert store.save_entries(KEY_A, [undated], day1, undated={"u"}) == SaveResult(new=1)
    refetched = replace(undated, published=day2, updated=day2)
    got = store.save_entries(KEY_A, [refetched], day2, undated={"u"})
    assert got == SaveResult(unchanged=1)
    (entry,) = store.entries()
    assert entry.published == entry.updated == day1

    edited = replace(refetched, title="edited")
    assert store.save_entries(KEY_A, [edited], day2, undated={"u"}) == SaveResult(updated=1)
    (entry,) = store.entries()
    assert (entry.title, entry.published, entry.updated) == ("edited", day1, day1)


def test_entries_filter_origin_and_dedupe_order(store: Store) -> None:
    # The same entry id through two subscriptions: B saw it first, so it comes
    # first; a tie on first_seen falls back to the source key.
    store.save_entries(KEY_B, [make_entry("shared"), make_entry("b-only")], NOW)
    store.save_entries(KEY_A, [make_entry("shared"), make_entry("a-only")], NOW + timedelta(1))
    store.save_entries("https://0.example/", [make_entry("tie")], NOW)
    store.save_entries("https://z.example/", [make_entry("tie")], NOW)

    order = [(e.origin, e.id) for e in store.entries()]
    assert order == [
        ("https://0.example/", "tie"),
        (KEY_B, "b-only"),
        (KEY_B, "shared"),
        ("https://z.example/", "tie"),
        (KEY_A, "a-only"),
        (KEY_A, "shared"),
    ]
    assert {(e.origin, e.id) for e in store.entries([KEY_A])} == {
        (KEY_A, "a-only"),
        (KEY_A, "shared"),
    }
    assert store.entries([]) == []
    assert len(store.entries(iter([KEY_A, KEY_B, "unknown"]))) == 4


@pytest.mark.parametrize("entry", ROUND_TRIP, ids=ROUND_TRIP_IDS)
def test_stored_entry_round_trips(store: Store, entry: Entry) -> None:
    store.save_entries(KEY_A, [entry], NOW)
    assert store.entries() == [replace(entry, origin=KEY_A)]  # origin: the source key
    store.save_posts("/posts", {"p.md": CachedPost(1, 2, entry)})
    assert store.cached_posts("/posts") == {"p.md": CachedPost(1, 2, entry)}


def test_prune_keeps_newest_by_published(store: Store) -> None:
    entries = [make_entry(str(h), hours=h) for h in range(10)]
    entries.append(make_entry("tie-b", hours=2))
    store.save_entries(KEY_A, entries, NOW)
    store.save_entries(KEY_B, [make_entry("other", hours=100)], NOW)
    assert store.prune(KEY_A, 0) == 0
    assert store.prune(KEY_A, 4) == 7
    assert sorted(e.id for e in store.entries([KEY_A])) == ["0", "1", "2", "tie-b"]
    assert store.prune(KEY_A, 3) == 1  # tie on published: the larger id goes
    assert sorted(e.id for e in store.entries([KEY_A])) == ["0", "1", "2"]
    assert store.entry_count(KEY_B) == 1
    with pytest.raises(ValueError):
        store.prune(KEY_A, -1)


def test_unreadable_stored_entry_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        store.save_entries(KEY_A, [make_entry("1")], NOW)
    raw = sqlite3.connect(path)
    raw.execute("UPDATE entries SET data = '{\"id\": 1}'")
    raw.commit()
    raw.close()
    with Store.open(path) as store, pytest.raises(StoreError) as info:
        store.entries()
    assert info.value.path == str(path)


# --------------------------------------------------------------------------- JSON


def test_full_sample_sets_every_entry_field() -> None:
    # If Entry gains a field, this fails until FULL (and so the round trip) covers it.
    defaults = {f.name: f.default for f in fields(Entry) if f.default is not MISSING}
    left_default = [name for name, value in defaults.items() if getattr(FULL, name) == value]
    assert left_default == []


@pytest.mark.parametrize("entry", ROUND_TRIP, ids=ROUND_TRIP_IDS)
def test_entry_json_round_trip(entry: Entry) -> None:
    text = to_json(entry)
    back = from_json(text)
    assert back == entry
    assert back.content_hash() == entry.content_hash()
    assert back.published.utcoffset() == timedelta(0)
    assert to_json(back) == text


def test_json_datetimes_are_iso_utc() -> None:
    text = to_json(replace(FULL, published=datetime(2024, 1, 2, 8, 0, tzinfo=UTC)))
    assert '"published":"2024-01-02T08:00:00.000000+00:00"' in text


def test_from_json_rejects_non_entries() -> None:
    with pytest.raises(ValueError):
        from_json("[]")
    with pytest.raises(KeyError):
        from_json('{"id": "x", "title": "t"}')


# --------------------------------------------------------------------------- meta, posts


def test_meta(store: Store) -> None:
    assert store.get_meta("fingerprint") is None
    store.set_meta("fingerprint", "a")
    store.set_meta("fingerprint", "b")
    assert store.get_meta("fingerprint") == "b"


def test_post_cache_round_trip_and_replacement(store: Store) -> None:
    post = replace(FULL, content=None, source=None)
    first = {
        "2024/a.md": CachedPost(size=10, mtime_ns=1_700_000_000_123_456_789, entry=post),
        "bad.md": CachedPost(size=3, mtime_ns=5, error="bad.md: no closing ---"),
        "draft.md": CachedPost(size=4, mtime_ns=6),
    }
    store.save_posts("/posts", first)
    store.save_posts("/other", {"x.md": CachedPost(1, 1)})
    assert store.cached_posts("/posts") == first

    second = {"2024/a.md": replace(first["2024/a.md"], size=11), "new.md": CachedPost(2, 2)}
    store.save_posts("/posts", second)
    assert store.cached_posts("/posts") == second
    assert store.cached_posts("/other") == {"x.md": CachedPost(1, 1)}
    store.save_posts("/posts", {})
    assert store.cached_posts("/posts") == {}
    assert store.cached_posts("/never") == {}


def test_post_cache_of_ten_thousand_posts(store: Store) -> None:
    posts = {
        f"{i:05}.md": CachedPost(
            size=i,
            mtime_ns=i * 1000,
            entry=make_entry(
                f"p{i}", body=Body(f"text {i} " * 40, "markdown", "https://s.example/")
            ),
        )
        for i in range(10_000)
    }
    store.save_posts("/posts", posts)
    got = store.cached_posts("/posts")
    assert len(got) == 10_000
    assert got["04242.md"] == posts["04242.md"]
    del posts["00000.md"]
    store.save_posts("/posts", posts)
    assert len(store.cached_posts("/posts")) == 9_999


# --------------------------------------------------------------------------- crash safety


def test_exception_inside_transaction_keeps_prior_data(store: Store) -> None:
    store.save_entries(KEY_A, [make_entry("kept")], NOW)
    store.set_meta("m", "before")
    with pytest.raises(RuntimeError), store.transaction():
        store.save_entries(KEY_A, [make_entry("lost"), make_entry("kept", title="lost")], NOW)
        store.set_meta("m", "after")
        store.save_source_state(SourceState(KEY_A, KEY_A))
        raise RuntimeError("crash mid-save")
    assert [(e.id, e.title) for e in store.entries()] == [("kept", "Title kept")]
    assert store.get_meta("m") == "before"
    assert store.source_state(KEY_A) is None
    # The connection is usable again afterwards.
    store.set_meta("m", "later")
    assert store.get_meta("m") == "later"


def test_nested_transaction_is_a_savepoint(store: Store) -> None:
    with store.transaction():
        store.set_meta("outer", "1")
        with pytest.raises(RuntimeError), store.transaction():
            store.set_meta("inner", "1")
            raise RuntimeError
        store.set_meta("after", "1")
    assert (store.get_meta("outer"), store.get_meta("inner"), store.get_meta("after")) == (
        "1",
        None,
        "1",
    )


def test_two_connections_share_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store.open(path).close()
    locked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def daemon() -> None:
        try:
            with Store.open(path) as store, store.transaction():
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
        with Store.open(path, timeout=0.05) as build:
            # WAL: reading is never blocked and sees only committed data.
            assert build.get_meta("owner") is None
            with pytest.raises(StoreError, match="locked") as info:
                build.set_meta("owner", "build")
            assert info.value.path == str(path)
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
    timer = threading.Timer(0.05, release.set)
    timer.start()
    with Store.open(path, timeout=10) as build:
        build.set_meta("owner", "build")
        assert build.get_meta("owner") == "build"
    holder.join(10)
    timer.join()
    assert errors == []


_WRITER = """
import sys
from datetime import UTC, datetime
from feedwright.model import Entry
from feedwright.store import Store

now = datetime(2024, 1, 1, tzinfo=UTC)
store = Store.open(sys.argv[1])
batch = 0
while True:
    with store.transaction():
        entries = [
            Entry(id=f"{batch}-{i}", title="x" * 300, published=now, updated=now)
            for i in range(200)
        ]
        store.save_entries("k", entries, now)
        store.set_meta("batches", str(batch + 1))
    batch += 1
    print(batch, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_writer_leaves_only_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    src = Path(feedwright.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(src)}
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env
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

    with Store.open(path) as store:
        batches = int(store.get_meta("batches") or 0)
        assert batches >= 5
        ids = [e.id for e in store.entries()]
    assert len(ids) == batches * 200
    per_batch: dict[str, int] = {}
    for id in ids:
        per_batch[id.split("-")[0]] = per_batch.get(id.split("-")[0], 0) + 1
    assert per_batch == {str(b): 200 for b in range(batches)}
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()


def test_closed_store_raises_store_error(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    store.close()
    store.close()
    with pytest.raises(StoreError):
        store.get_meta("x")


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    # The daemon and a `build` may both be the first to open a new state file.
    path = tmp_path / "new" / "state.db"
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def opener(n: int) -> None:
        try:
            start.wait(10)
            with Store.open(path) as store:
                store.set_meta(f"opener-{n}", "ok")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    with Store.open(path) as store:
        assert [store.get_meta(f"opener-{n}") for n in range(4)] == ["ok"] * 4


def test_version_2_database_drops_its_json_post_cache_and_keeps_the_rest(tmp_path: Path) -> None:
    from feedwright.store.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, path=str(path), migrations=MIGRATIONS[:2])
    db.execute(
        "INSERT INTO posts (root, rel_path, size, mtime_ns, error, stripped)"
        " VALUES ('r', 'a.md', 1, 2, 'x', 3)"
    )
    db.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
    db.close()
    with Store.open(path) as store:
        # A cache: the next build reads the posts again and fills it anew.
        assert store.cached_posts("r") == {}
        assert store.get_meta("k") == "v"
        post = make_entry("p", body=Body("# hi", "markdown", "https://e.org/p/", "d1"))
        store.update_posts("r", {"b.md": CachedPost(3, 4, post, None, stripped=5)})
        assert store.cached_posts("r") == {"b.md": CachedPost(3, 4, post, None, 5)}


def test_version_3_database_drops_its_row_per_post_cache_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    from feedwright.store.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, path=str(path), migrations=MIGRATIONS[:3])
    db.execute("INSERT INTO posts (root, rel_path, size, mtime_ns) VALUES ('r', 'a.md', 1, 2)")
    db.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
    db.close()
    with Store.open(path) as store:
        assert store.cached_posts("r") == {}
        assert store.get_meta("k") == "v"


def test_updating_the_post_cache_keeps_the_other_posts_and_path_order(store: Store) -> None:
    posts = {
        name: CachedPost(n, n, make_entry(name, body=Body(f"# {name}", "markdown", "https://e/")))
        for n, name in enumerate(["b.md", "a/z.md", "c.md"])
    }
    store.save_posts("/p", posts)
    edited = CachedPost(9, 9, make_entry("b2", body=Body("# b2", "markdown", "https://e/")))
    store.update_posts("/p", {"b.md": edited, "a.md": CachedPost(5, 5, error="bad")}, ["c.md"])

    got = store.cached_posts("/p")
    assert list(got) == ["a.md", "a/z.md", "b.md"]
    assert got == {"a.md": CachedPost(5, 5, error="bad"), "a/z.md": posts["a/z.md"], "b.md": edited}
    assert [row[0] for row in store.cached_post_rows("/p", bodies=False)] == list(got)
    store.forget_post_caches(["/other"])
    assert store.cached_posts("/p") == {}
