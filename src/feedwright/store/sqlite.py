"""The state database: one SQLite file (stdlib ``sqlite3``) behind :class:`Store`.

See the package docstring (``feedwright.store``) for the interface. Notes on
how it is built:

- The connection is in autocommit mode and every write runs inside
  :meth:`Store.transaction` (``BEGIN IMMEDIATE``, so a writer waits for the
  lock up front, under ``busy_timeout``, instead of failing half-way when it
  upgrades a read lock). Nested ``transaction()`` blocks are savepoints.
- WAL + ``synchronous=NORMAL``: a crash (even SIGKILL) loses at most
  uncommitted work; readers (``feedwright status``) never block the writer.
- An entry is stored as the JSON of :func:`to_json` minus its big texts
  (summary, content, body text), which get columns of their own so loading
  50,000 entries does not JSON-scan every HTML page. Plain columns beside it
  (published timestamp, first_seen, content hash) serve lookups and ordering.
  Datetimes are ISO 8601 UTC with fixed microsecond precision, so text order
  is time order.
- :func:`entry_row` (content hash + row) is pure and needs no connection, so
  the parse workers make the rows and :meth:`Store.save_entry_rows` only runs
  the SQL; :meth:`Store.save_entries` makes the same rows itself.
- Every ``sqlite3.Error`` leaving a public method becomes ``StoreError``
  carrying the database path.
"""

from __future__ import annotations

import functools
import gc
import json
import marshal
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar, cast

from ..exceptions import StoreError
from ..model import Body, Enclosure, Entry, Person, Provenance, utc
from ..packing import Head, cached_entry, head, pack, packed_of, unpack
from ..statedb import GENERATION_KEY
from .migrations import migrate

# Long enough that a daemon and a `build` (or `status`) sharing the file wait
# for each other's short write transactions instead of failing.
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class SourceState:
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


@dataclass(frozen=True, slots=True)
class SaveResult:
    """How :meth:`Store.save_entries` classified the entries it was given."""

    new: int = 0
    updated: int = 0  # stored before, content hash changed
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class CachedPost:
    """A local post file as last read: its stat signature and what it parsed to."""

    size: int
    mtime_ns: int
    entry: Entry | None = None  # None when the file failed to parse or is skipped
    error: str | None = None  # the PostError message, if it failed
    stripped: int = 0  # XML-illegal characters removed from the file's text
    # ``packing.pack(entry, body_text=False)`` when the caller has it already
    # (forked readers send entries so): saved as is instead of packing again.
    packed: bytes | None = field(default=None, compare=False, repr=False)


# rel_path, size, mtime_ns, error, stripped, entry, packed (see Store.cached_post_rows)
CachedPostRow = tuple[str, int, int, str | None, int, Entry | None, bytes | None]


# --------------------------------------------------------------------------- JSON


def _iso(dt: datetime) -> str:
    # Fixed precision keeps stored text sortable in time order.
    if dt.tzinfo is UTC:  # every Entry's, nearly always: astimezone would return dt itself
        return dt.isoformat(timespec="microseconds")
    return utc(dt).isoformat(timespec="microseconds")


def _dt(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _opt_iso(dt: datetime | None) -> str | None:
    return None if dt is None else _iso(dt)


def _opt_dt(text: str | None) -> datetime | None:
    return None if text is None else _dt(text)


# One encoder, built once: json.dumps() with options builds a new one per call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _person(p: Person) -> dict[str, object]:
    out: dict[str, object] = {"name": p.name}
    if p.email is not None:
        out["email"] = p.email
    if p.uri is not None:
        out["uri"] = p.uri
    return out


def _enclosure(x: Enclosure) -> dict[str, object]:
    if x.length != 0:
        return {"url": x.url, "type": x.type, "length": x.length}
    return {"url": x.url, "type": x.type}


def _provenance(s: Provenance) -> dict[str, object]:
    out: dict[str, object] = {"url": s.url}
    if s.title is not None:
        out["title"] = s.title
    if s.link is not None:
        out["link"] = s.link
    if s.id is not None:
        out["id"] = s.id
    return out


def _entry_data(e: Entry, *, texts: bool = True) -> dict[str, Any]:
    # Written out field by field because it runs for every entry saved and
    # every post on every build; the round-trip test fails if Entry gains a
    # field this misses. The small parts leave out fields at their default
    # (smaller rows; decoding falls back to the same default), except a body's
    # text, which is always there. ``texts=False`` leaves out summary, content
    # and body text (the row keeps those in columns of their own).
    data: dict[str, Any] = {
        "id": e.id,
        "title": e.title,
        "published": _iso(e.published),
        "updated": _iso(e.updated),
    }
    if e.link is not None:
        data["link"] = e.link
    if e.authors:
        data["authors"] = [_person(p) for p in e.authors]
    if e.categories:
        data["categories"] = e.categories
    if e.tags:
        data["tags"] = e.tags
    if texts:
        if e.summary is not None:
            data["summary"] = e.summary
        if e.content is not None:
            data["content"] = e.content
    body = e.body
    if body is not None:
        part: dict[str, object] = (
            {"text": body.text, "format": body.format, "base_url": body.base_url}
            if texts
            else {"format": body.format, "base_url": body.base_url}
        )
        if body.digest != "":
            part["digest"] = body.digest
        data["body"] = part
    if e.enclosures:
        data["enclosures"] = [_enclosure(x) for x in e.enclosures]
    if e.source is not None:
        data["source"] = _provenance(e.source)
    if e.language is not None:
        data["language"] = e.language
    if e.origin:
        data["origin"] = e.origin
    return data


def to_json(entry: Entry) -> str:
    """Serialise an Entry (including an unrendered Body) to compact JSON."""
    return _JSON.encode(_entry_data(entry))


# How an entry sits in a row: JSON of the small fields, then the big texts in
# their own columns (SQLite hands those back as they are; JSON would scan them
# character by character on every load).
_Row = tuple[str, str | None, str | None, str | None]  # data, summary, content, body_text


def _to_row(entry: Entry) -> _Row:
    body = entry.body
    return (
        _JSON.encode(_entry_data(entry, texts=False)),
        entry.summary,
        entry.content,
        None if body is None else body.text,
    )


# An entry ready to store, all but its source key and first_seen:
# (id, published timestamp, content hash, data JSON, summary, content, body text).
EntryRow = tuple[str, float, str, str, str | None, str | None, str | None]


def entry_row(entry: Entry) -> EntryRow:
    """The row :meth:`Store.save_entries` stores for ``entry`` (if its id is not
    undated): a pure function, so parse workers can make rows in parallel and
    the saving process does only the SQL (:meth:`Store.save_entry_rows`)."""
    data, summary, content, body_text = _to_row(entry)
    digest = entry.content_hash()
    return entry.id, entry.published.timestamp(), digest, data, summary, content, body_text


# One posts folder's cache is a few rows ("buckets", by a hash of the path),
# each a marshal blob of ``_CacheRow`` tuples. As one row per post, a cold
# build's save of 10,000 cost ~0.1 s of CPU (about half as buckets); loading
# costs the same either way (decoding the entries is nearly all of it). As
# one blob, an edit rewrote all 4 MB of it (~50 ms); as 32 buckets it
# rewrites one (~130 KB).
_CACHE_FORMAT = 2
_BUCKETS = 32
# rel_path, size, mtime_ns, error, stripped, packed entry, body text, head
# (packing.head: what a build needs of every post, decoded without the rest)
_CacheRow = tuple[str, int, int, str | None, int, bytes | None, str | None, Head | None]


def _cache_row(rel: str, post: CachedPost) -> _CacheRow:
    # A post's entry is packed (packing.py) without its body text, which is
    # kept aside so that a build can load the cache without the texts.
    entry = post.entry
    packed = post.packed
    text = None
    top = None
    if entry is not None:
        carried = packed_of(entry)
        if packed is None:
            packed = carried or pack(entry, body_text=False)
        # An entry carrying packed bytes was made from text-less ones (and
        # asking for its body would decode it whole: 10,000 in a cold build).
        if carried is None and entry.body is not None:
            text = entry.body.text
        top = head(entry)
    else:
        packed = None
    return (rel, post.size, post.mtime_ns, post.error, post.stripped, packed, text, top)


def _bucket(rel: str) -> int:
    return zlib.crc32(rel.encode("utf-8", "surrogatepass")) % _BUCKETS


def from_json(text: str, *, origin: str | None = None) -> Entry:
    """The inverse of :func:`to_json`; ``origin`` overrides the stored one.

    Raises ValueError (or TypeError/KeyError) on text that is not a stored entry.
    """
    return _decode((text, None, None, None), origin, None)


_Part = TypeVar("_Part", Person, Enclosure, Provenance)
_Memo = dict[tuple[object, ...], Any]


def _part(cls: type[_Part], data: dict[str, Any], memo: _Memo | None) -> _Part:
    # Entries of one feed share their Provenance and usually their authors;
    # when decoding many, build each distinct one once (they are immutable).
    if memo is None:
        return cls(**data)
    key = (cls, *data.items())
    found: _Part | None = memo.get(key)
    if found is None:
        found = memo[key] = cls(**data)
    return found


def _decode(row: _Row, origin: str | None, memo: _Memo | None) -> Entry:
    text, summary, content, body_text = row
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("stored entry is not a JSON object")
    if summary is not None:
        data["summary"] = summary
    if content is not None:
        data["content"] = content
    if "body" in data and (body_text is not None or "text" not in data["body"]):
        data["body"]["text"] = body_text  # None: loaded without texts (cached_posts)
    data["published"] = _dt(data["published"])
    data["updated"] = _dt(data["updated"])
    if "categories" in data:
        data["categories"] = tuple(data["categories"])
    if "tags" in data:
        data["tags"] = tuple(data["tags"])
    if "authors" in data:
        data["authors"] = tuple(_part(Person, p, memo) for p in data["authors"])
    if "enclosures" in data:
        data["enclosures"] = tuple(_part(Enclosure, e, memo) for e in data["enclosures"])
    if "body" in data:
        data["body"] = Body(**data["body"])
    if "source" in data:
        data["source"] = _part(Provenance, data["source"], memo)
    if origin is not None:
        data["origin"] = origin
    return Entry(**data)


def _changed(old: tuple[str, str] | None, digest: str, counts: list[int]) -> bool:
    """Whether an entry must be written (new, or its hash moved); counted in
    ``counts`` (new, updated, unchanged)."""
    if old is None:
        counts[0] += 1
        return True
    if old[0] != digest:
        counts[1] += 1
        return True
    counts[2] += 1
    return False


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Decoding tens of thousands of entries makes only acyclic objects, yet the
    # cyclic collector would rescan the growing heap again and again meanwhile.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --------------------------------------------------------------------------- store

_STATE_FIELDS = tuple(f.name for f in fields(SourceState))
_STATE_TIMES = frozenset({"last_fetch", "last_success", "next_check", "retry_after"})
_STATE_INSERT = (
    f"INSERT OR REPLACE INTO sources ({', '.join(_STATE_FIELDS)}) "
    f"VALUES ({', '.join('?' for _ in _STATE_FIELDS)})"
)
_STATE_SELECT = f"SELECT {', '.join(_STATE_FIELDS)} FROM sources"

P = ParamSpec("P")
R = TypeVar("R")


def _guarded(method: Callable[Concatenate[Store, P], R]) -> Callable[Concatenate[Store, P], R]:
    """Turn sqlite3 errors into StoreError naming the database file."""

    @functools.wraps(method)
    def wrapper(self: Store, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreError(str(exc), path=str(self.path)) from exc

    return wrapper


def _state_row(state: SourceState) -> tuple[object, ...]:
    return tuple(
        _opt_iso(getattr(state, name)) if name in _STATE_TIMES else getattr(state, name)
        for name in _STATE_FIELDS
    )


def _state_from_row(row: Sequence[Any]) -> SourceState:
    values: dict[str, Any] = {
        name: _opt_dt(value) if name in _STATE_TIMES else value
        for name, value in zip(_STATE_FIELDS, row, strict=True)
    }
    return SourceState(**values)


def _use_wal(db: sqlite3.Connection, timeout: float) -> None:
    if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return  # the usual case: no lock needed
    # Switching needs an exclusive lock and SQLite reports "locked" at once
    # instead of calling the busy handler, so two processes opening a new file
    # together would fail; wait here instead, as busy_timeout would.
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


class Store:
    """An open state database; create with :meth:`Store.open`.

    One Store belongs to one thread (sqlite3's own check enforces it); other
    processes may open the same file at the same time.
    """

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self._depth = 0  # transaction nesting

    @classmethod
    def open(cls, path: Path | str, *, timeout: float = DEFAULT_TIMEOUT) -> Store:
        """Open (creating file and parent folders) and migrate the database at ``path``.

        ``timeout`` is how many seconds to wait for another process's lock.
        Raises StoreError if the file cannot be created, is not a SQLite
        database, belongs to another application, or has a newer schema.
        """
        path = Path(path)
        where = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create folder {path.parent}: {exc.strerror or exc}", path=where
            ) from None
        if path.is_dir():
            raise StoreError("is a folder, not a database file", path=where)
        try:
            db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open: {exc}", path=where) from None
        try:
            _use_wal(db, timeout)
            db.execute("PRAGMA synchronous = NORMAL")
            migrate(db, path=where)
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(f"cannot use as a state database: {exc}", path=where) from None
        except BaseException:
            db.close()
            raise
        return cls(db, path)

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        try:
            if not self._db.in_transaction:
                # Cheap, and keeps query plans good as tables grow.
                self._db.execute("PRAGMA optimize")
        except sqlite3.Error:
            pass
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: all of them are committed, or (on an exception) none.

        Nested blocks are savepoints: an exception caught inside the outer
        block undoes only the inner block's writes.
        """
        depth = self._depth
        name = f"fw_sp{depth}"
        try:
            self._db.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {name}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot start a write: {exc}", path=str(self.path)) from exc
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth = depth
            self._rollback(depth, name)
            raise
        self._depth = depth
        try:
            self._db.execute("COMMIT" if depth == 0 else f"RELEASE {name}")
        except sqlite3.Error as exc:
            self._rollback(depth, name)
            raise StoreError(f"cannot commit: {exc}", path=str(self.path)) from exc

    def _rollback(self, depth: int, name: str) -> None:
        if not self._db.in_transaction:
            return  # SQLite already rolled back (e.g. disk full)
        if depth == 0:
            self._db.execute("ROLLBACK")
        else:
            self._db.execute(f"ROLLBACK TO {name}")
            self._db.execute(f"RELEASE {name}")

    # ----------------------------------------------------------------- sources

    @_guarded
    def source_state(self, key: str) -> SourceState | None:
        row = self._db.execute(f"{_STATE_SELECT} WHERE key = ?", (key,)).fetchone()
        return None if row is None else _state_from_row(row)

    @_guarded
    def source_states(self) -> dict[str, SourceState]:
        rows = self._db.execute(f"{_STATE_SELECT} ORDER BY key").fetchall()
        return {row[0]: _state_from_row(row) for row in rows}

    @_guarded
    def save_source_state(self, state: SourceState) -> None:
        with self.transaction():
            self._db.execute(_STATE_INSERT, _state_row(state))

    @_guarded
    def due_sources(self, keys: Iterable[str], now: datetime) -> list[str]:
        """The keys (in the given order) to fetch at ``now``.

        Due: never checked, or ``next_check`` unset or reached. Never due:
        ``status == "gone"``, or ``retry_after`` still in the future.
        """
        states = self.source_states()
        due: list[str] = []
        for key in keys:
            state = states.get(key)
            if state is not None:
                if state.status == "gone":
                    continue
                if state.retry_after is not None and state.retry_after > now:
                    continue
                if state.next_check is not None and state.next_check > now:
                    continue
            due.append(key)
        return due

    @_guarded
    def forget_sources(self, keep_keys: Iterable[str]) -> int:
        """Drop state and entries of every source not in ``keep_keys``; return how many."""
        keep = set(keep_keys)
        with self.transaction():
            known = {
                row[0]
                for row in self._db.execute(
                    "SELECT key FROM sources UNION SELECT DISTINCT source_key FROM entries"
                )
            }
            gone = [(key,) for key in sorted(known - keep)]
            self._db.executemany("DELETE FROM sources WHERE key = ?", gone)
            self._db.executemany("DELETE FROM entries WHERE source_key = ?", gone)
            if gone:
                self._bump_generation()
        return len(gone)

    # ----------------------------------------------------------------- entries

    @_guarded
    def save_entries(
        self,
        source_key: str,
        entries: Sequence[Entry],
        now: datetime,
        *,
        undated: Set[str] = frozenset(),
    ) -> SaveResult:
        """Insert or update entries of one source, keyed by ``(source_key, entry.id)``.

        ``first_seen`` is set to ``now`` on insert and never changes. Ids in
        ``undated`` (the feed gave no date) get ``published = updated =
        first_seen``, so their dates never move between fetches. If an id
        repeats within ``entries`` the first occurrence wins. Entries absent
        from ``entries`` are kept (see :meth:`prune`).
        """
        return self.save_entry_rows(
            source_key, [entry_row(entry) for entry in entries], now, undated=undated
        )

    @_guarded
    def save_entry_rows(
        self,
        source_key: str,
        rows: Sequence[EntryRow],
        now: datetime,
        *,
        undated: Set[str] = frozenset(),
    ) -> SaveResult:
        """:meth:`save_entries` for entries already made rows by :func:`entry_row`.

        Same result, same stored bytes; only the SQL is left to do here (the
        rows are made in the parse workers). The rows of ``undated`` ids are
        made again here from the stored-to-be row, with their first_seen dates.
        """
        now_iso = _iso(now)
        counts = [0, 0, 0]  # new, updated, unchanged
        out: list[tuple[object, ...]] = []
        with self.transaction():
            existing = self._stored_entries(source_key)
            seen: set[str] = set()
            for row in rows:
                id_ = row[0]
                if id_ in seen:
                    continue
                seen.add(id_)
                old = existing.get(id_)
                first_seen = now_iso if old is None else old[1]
                if id_ in undated:
                    # Rare (a feed without dates) and only this process knows
                    # first_seen: the row goes back to the entry it was made from.
                    when = _dt(first_seen)
                    entry = self._decode(row[3:], None, {})
                    row = entry_row(replace(entry, published=when, updated=when))
                if _changed(old, row[2], counts):
                    out.append((source_key, first_seen, *row))
            self._write_entries(out)
        return SaveResult(*counts)

    def _stored_entries(self, source_key: str) -> dict[str, tuple[str, str]]:
        """id -> (content hash, first_seen) of every stored entry of one source."""
        return {
            row[0]: (row[1], row[2])
            for row in self._db.execute(
                "SELECT id, content_hash, first_seen FROM entries WHERE source_key = ?",
                (source_key,),
            )
        }

    def _write_entries(self, rows: list[tuple[object, ...]]) -> None:
        self._db.executemany(
            "INSERT INTO entries (source_key, first_seen, id, published, content_hash,"
            " data, summary, content, body_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (source_key, id) DO UPDATE SET"
            " published = excluded.published,"
            " content_hash = excluded.content_hash,"
            " data = excluded.data,"
            " summary = excluded.summary,"
            " content = excluded.content,"
            " body_text = excluded.body_text",
            rows,
        )
        if rows:
            self._bump_generation()

    @_guarded
    def entries(self, source_keys: Iterable[str] | None = None) -> list[Entry]:
        """Every stored entry (of ``source_keys``, or of all sources), ``origin`` = source key.

        Ordered by (first_seen, source key, id): keeping the first of each id
        therefore picks the copy seen earliest, ties broken by source key.
        """
        rows = self._entry_rows(source_keys)
        memo: _Memo = {}
        with _gc_paused():
            return [self._decode(row[3:], row[1], memo) for row in rows]

    @_guarded
    def entries_with_first_seen(
        self, source_keys: Iterable[str] | None = None
    ) -> list[tuple[Entry, datetime]]:
        """Like :meth:`entries`, each paired with when it was first stored."""
        rows = self._entry_rows(source_keys)
        memo: _Memo = {}
        with _gc_paused():
            return [(self._decode(row[3:], row[1], memo), _dt(row[0])) for row in rows]

    def _entry_rows(self, source_keys: Iterable[str] | None) -> list[Any]:
        sql = "SELECT first_seen, source_key, id, data, summary, content, body_text FROM entries"
        params: tuple[str, ...] = ()
        if source_keys is not None:
            # json_each takes any number of keys as one parameter (no variable limit).
            sql += " WHERE source_key IN (SELECT value FROM json_each(?))"
            params = (json.dumps(list(source_keys)),)
        rows = self._db.execute(sql, params).fetchall()
        # Sorting here is much cheaper than SQLite sorting whole rows (JSON
        # included) in a temporary b-tree; (source_key, id) is unique, so the
        # tuple comparison never reaches the entry's columns.
        rows.sort()
        return rows

    @_guarded
    def entry_count(self, source_key: str) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM entries WHERE source_key = ?", (source_key,)
        ).fetchone()
        return int(row[0])

    @_guarded
    def prune(self, source_key: str, keep: int) -> int:
        """Keep the newest ``keep`` entries of a source by published (ties: id); 0 keeps all.

        Returns how many were removed.
        """
        if keep < 0:
            raise ValueError(f"keep must be >= 0, got {keep}")
        if keep == 0:
            return 0
        with self.transaction():
            cursor = self._db.execute(
                "DELETE FROM entries WHERE source_key = ? AND id NOT IN ("
                " SELECT id FROM entries WHERE source_key = ?"
                " ORDER BY published DESC, id LIMIT ?)",
                (source_key, source_key, keep),
            )
            if cursor.rowcount:
                self._bump_generation()
        return cursor.rowcount

    # ----------------------------------------------------------------- meta

    def _bump_generation(self) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, '1')"
            " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            (GENERATION_KEY,),
        )

    @_guarded
    def entries_generation(self) -> int:
        """A counter that moves whenever stored remote entries are added, changed or removed.

        Cheap to compare, so a build can tell "nothing new arrived" without
        loading a single entry (the daemon refreshes feeds apart from publishing).
        """
        value = self.get_meta(GENERATION_KEY)
        return int(value) if value else 0

    @_guarded
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @_guarded
    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # ----------------------------------------------------------------- post cache

    @_guarded
    def cached_posts(self, root: str, *, bodies: bool = True) -> dict[str, CachedPost]:
        """The cache of one posts folder: relative path -> CachedPost.

        ``bodies=False`` leaves every ``Entry.body.text`` None (the bulk of the
        cache): a build renders only the few posts that reach a feed, and reads
        those files again.
        """
        return {
            rel: CachedPost(size, mtime_ns, entry, error, stripped, packed)
            for rel, size, mtime_ns, error, stripped, entry, packed in self.cached_post_rows(
                root, bodies=bodies
            )
        }

    @_guarded
    def cached_post_rows(self, root: str, *, bodies: bool = True) -> list[CachedPostRow]:
        """:meth:`cached_posts` as plain tuples ``(rel_path, size, mtime_ns,
        error, stripped, entry, packed)``, in path order: for a caller that makes
        records of its own from 10,000 of them (a build), one object less each.

        With ``bodies=False`` the entries are :class:`packing.CachedEntry`:
        only the fields every post is needed for are decoded now, the rest
        on first use (by the few posts that reach a feed).
        """
        memo: dict[tuple[Any, ...], Any] = {}
        unpack_ = self._unpack
        lazy = self._lazy
        where = str(self.path)
        # One pause for loading and decoding all: re-enabled between buckets,
        # the collector would rescan everything loaded so far.
        with _gc_paused():
            rows = self._cache_rows(root)
            return [
                (
                    rel,
                    size,
                    mtime_ns,
                    error,
                    stripped,
                    None if p is None else unpack_(p, t, memo) if bodies else lazy(p, h, where),
                    p,
                )
                for rel, size, mtime_ns, error, stripped, p, t, h in rows
            ]

    @_guarded
    def save_posts(self, root: str, posts: Mapping[str, CachedPost]) -> None:
        """Make the cache of ``root`` exactly ``posts``."""
        buckets: dict[int, list[_CacheRow]] = {}
        for rel, post in posts.items():
            buckets.setdefault(_bucket(rel), []).append(_cache_row(rel, post))
        with self.transaction():
            self._db.execute("DELETE FROM post_caches WHERE root = ?", (root,))
            for bucket, rows in buckets.items():
                self._save_bucket(root, bucket, rows)

    @_guarded
    def update_posts(
        self, root: str, changed: Mapping[str, CachedPost], removed: Iterable[str] = ()
    ) -> None:
        """Replace ``changed`` posts and drop ``removed`` ones in the cache of ``root``.

        Only the buckets holding them are rewritten; the other posts' entries
        are carried over as stored bytes, never decoded.
        """
        touched: dict[int, tuple[dict[str, CachedPost], list[str]]] = {}
        for rel, post in changed.items():
            touched.setdefault(_bucket(rel), ({}, []))[0][rel] = post
        for rel in removed:
            touched.setdefault(_bucket(rel), ({}, []))[1].append(rel)
        with self.transaction():
            for bucket, (put, drop) in touched.items():
                found = self._db.execute(
                    "SELECT data FROM post_caches WHERE root = ? AND bucket = ?", (root, bucket)
                ).fetchone()
                rows = (
                    {} if found is None else {r[0]: r for r in self._decode_bucket(root, found[0])}
                )
                for rel in drop:
                    rows.pop(rel, None)
                rows.update((rel, _cache_row(rel, post)) for rel, post in put.items())
                self._save_bucket(root, bucket, list(rows.values()))

    @_guarded
    def forget_post_caches(self, keep_roots: Iterable[str]) -> None:
        """Drop the post caches of every root not in ``keep_roots`` (old settings)."""
        keep = sorted(set(keep_roots))
        marks = ", ".join("?" * len(keep))
        with self.transaction():
            self._db.execute(f"DELETE FROM post_caches WHERE root NOT IN ({marks})", keep)

    def _cache_rows(self, root: str) -> list[_CacheRow]:
        """Every cached post of ``root``, in path order."""
        rows: list[_CacheRow] = []
        for (data,) in self._db.execute("SELECT data FROM post_caches WHERE root = ?", (root,)):
            rows.extend(self._decode_bucket(root, data))
        rows.sort(key=lambda row: row[0])
        return rows

    def _decode_bucket(self, root: str, data: bytes) -> list[_CacheRow]:
        try:
            version, rows = marshal.loads(data)
            if version != _CACHE_FORMAT or not isinstance(rows, list):
                raise ValueError(f"unknown format {version!r}")
        except (ValueError, TypeError, EOFError) as exc:
            message = f"a cached post cannot be read: the cache of {root} is damaged ({exc})"
            raise StoreError(message, path=str(self.path)) from exc
        return cast(list[_CacheRow], rows)

    def _save_bucket(self, root: str, bucket: int, rows: list[_CacheRow]) -> None:
        if not rows:
            self._db.execute(
                "DELETE FROM post_caches WHERE root = ? AND bucket = ?", (root, bucket)
            )
            return
        self._db.execute(
            "INSERT OR REPLACE INTO post_caches (root, bucket, data) VALUES (?, ?, ?)",
            (root, bucket, marshal.dumps((_CACHE_FORMAT, rows))),
        )

    def _lazy(self, packed: bytes, top: Head | None, where: str) -> Entry:
        try:
            if top is None:
                raise ValueError("no head")
            return cached_entry(top, packed, where)
        except (ValueError, TypeError) as exc:
            message = f"a cached post cannot be read: {exc}"
            raise StoreError(message, path=str(self.path)) from exc

    def _unpack(self, packed: bytes, text: str | None, memo: _Memo) -> Entry:
        try:
            entry = unpack(packed, memo)
        except ValueError as exc:
            message = f"a cached post cannot be read: {exc}"
            raise StoreError(message, path=str(self.path)) from exc
        if text is not None and entry.body is not None:
            entry = replace(entry, body=replace(entry.body, text=text))
        return entry

    def _decode(self, row: Sequence[Any], origin: str | None, memo: _Memo) -> Entry:
        try:
            return _decode(cast(_Row, tuple(row)), origin, memo)
        except (ValueError, TypeError, KeyError) as exc:
            message = f"a stored entry cannot be read: {exc!r}"
            raise StoreError(message, path=str(self.path)) from exc
