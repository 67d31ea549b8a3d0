"""The state database behind :class:`Store`: one class, one SQL text, two databases.

See the package docstring (``feedwright.store``) for the interface. The SQL
is written once; ``dialects.py`` holds what SQLite and PostgreSQL spell
differently, ``sqlite.py`` and ``postgres.py`` open the connection. Notes on
how it is built:

- The connection is in autocommit mode and every write runs inside
  :meth:`Store.transaction` (SQLite: ``BEGIN IMMEDIATE``, so a writer waits
  for the lock up front, under ``busy_timeout``, instead of failing half-way
  when it upgrades a read lock; PostgreSQL: ``BEGIN``). Nested
  ``transaction()`` blocks are savepoints.
- SQLite runs in WAL with ``synchronous=NORMAL``: a crash (even SIGKILL)
  loses at most uncommitted work; readers (``feedwright status``) never
  block the writer.
- A remote entry is one JSON object (``records.entry_row``) beside plain
  columns for lookups and ordering (published, first_seen, content hash).
- Local posts (each posts folder's cache, the rendered HTML) are
  ``postcache.py``'s part of the class, as the outbox, the claims and the
  feed history are ``outbox.py``'s, ``claims.py``'s and ``history.py``'s.
- Every driver error leaving a public method becomes ``StoreError``
  carrying the database's path (or URL, without its password):
  ``dialects.guarded``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence, Set
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ..exceptions import StoreError
from .claims import Claims
from .dialects import SQLITE, Dialect, guarded, is_postgres_url
from .history import History
from .migrations import due_at, migrate
from .outbox import Outbox
from .postcache import PostCache
from .records import (
    BuildLog,
    EntryRow,
    SaveResult,
    SourceState,
    StoredEntry,
    entry_row,
    row_entry,
)

if TYPE_CHECKING:
    from ..model import Entry

# Long enough that a daemon and a `build` (or `status`) sharing the file wait
# for each other's short write transactions instead of failing.
DEFAULT_TIMEOUT = 10.0
GENERATION_KEY = "entries-generation"  # meta: moves whenever remote entries change

_STATE_FIELDS = SourceState._fields
_STATE_TIMES = frozenset({"last_fetch", "last_success", "next_check", "retry_after"})
# Saving a state ends any lease on the source (claims.py) and sets when it is due.
_STATE_INSERT = (
    f"INSERT INTO sources ({', '.join(_STATE_FIELDS)}, due_at, lease_owner, lease_until) "
    f"VALUES ({', '.join('?' for _ in _STATE_FIELDS)}, ?, NULL, NULL) ON CONFLICT (key) "
    f"DO UPDATE SET {', '.join(f'{n} = excluded.{n}' for n in _STATE_FIELDS[1:])}, "
    "due_at = excluded.due_at, lease_owner = NULL, lease_until = NULL"
)
_STATE_SELECT = f"SELECT {', '.join(_STATE_FIELDS)} FROM sources"


def _iso(dt: datetime) -> str:
    # Fixed precision keeps stored text sortable in time order.
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _state_row(state: SourceState) -> tuple[object, ...]:
    row = tuple(
        (None if (v := getattr(state, name)) is None else _iso(v))
        if name in _STATE_TIMES
        else getattr(state, name)
        for name in _STATE_FIELDS
    )
    named = dict(zip(_STATE_FIELDS, row, strict=True))
    return (*row, due_at((state.status, named["next_check"], named["retry_after"])))


def _state_from_row(row: Sequence[Any]) -> SourceState:
    values: dict[str, Any] = {
        name: (None if value is None else _dt(value)) if name in _STATE_TIMES else value
        for name, value in zip(_STATE_FIELDS, row, strict=True)
    }
    return SourceState(**values)


class Store(PostCache, Outbox, Claims, History):
    """An open state database; create with :meth:`Store.open`.

    One Store belongs to one thread (the connection checks it); other
    processes may open the same database at the same time.
    """

    def __init__(self, db: Any, path: Path | str, dialect: Dialect = SQLITE) -> None:
        self._db = db
        self.path = path  # the file, or the URL without its password
        self._dialect = dialect
        self._depth = 0  # transaction nesting

    @classmethod
    def open(cls, location: Path | str, *, timeout: float = DEFAULT_TIMEOUT) -> Store:
        """Open and migrate the database at ``location``: a ``postgresql://`` URL,
        or a SQLite file's path (the file and its folders are created).

        Raises StoreError if it cannot be opened or reached, is not ours (another
        application's file or tables), or has a newer schema.
        """
        if is_postgres_url(location):
            from . import postgres

            url = str(location)
            where = postgres.redact(url)
            pg = postgres.open_postgres(url, timeout)
            dialect = postgres.dialect()
            try:
                migrate(pg, dialect, path=where)
            except dialect.errors as exc:
                pg.close()
                raise StoreError(f"cannot use as a state database: {exc}", path=where) from None
            except BaseException:
                pg.close()
                raise
            return cls(pg, where, dialect)
        from .sqlite import open_sqlite

        path = Path(location)
        return cls(open_sqlite(path, timeout), path)

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        try:
            if not self._db.in_transaction and not self._dialect.is_postgres:
                self._db.execute("PRAGMA optimize")  # keeps query plans good as tables grow
        except self._dialect.errors:
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
            self._db.execute(self._dialect.begin if depth == 0 else f"SAVEPOINT {name}")
        except self._dialect.errors as exc:
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
        except self._dialect.errors as exc:
            self._rollback(depth, name)
            raise StoreError(f"cannot commit: {exc}", path=str(self.path)) from exc

    def _rollback(self, depth: int, name: str) -> None:
        if not self._db.in_transaction:
            return  # already rolled back (SQLite: e.g. disk full; a dropped connection)
        try:
            if depth == 0:
                self._db.execute("ROLLBACK")
            else:
                self._db.execute(f"ROLLBACK TO {name}")
                self._db.execute(f"RELEASE {name}")
        except self._dialect.errors:
            if depth == 0 and self._dialect.is_postgres:
                return  # the connection died with the transaction: nothing is left of it
            raise

    # ----------------------------------------------------------------- sources

    @guarded
    def source_states(self, keys: Iterable[str] | None = None) -> dict[str, SourceState]:
        """Every source's state, or those of ``keys`` (a worker's batch)."""
        if keys is None:
            rows = self._db.execute(f"{_STATE_SELECT} ORDER BY key").fetchall()
        else:
            rows = self._db.execute(
                f"{_STATE_SELECT} WHERE key IN ({self._dialect.values}) ORDER BY key",
                (json.dumps(sorted(set(keys))),),
            ).fetchall()
        return {row[0]: _state_from_row(row) for row in rows}

    @guarded
    def save_source_state(self, state: SourceState) -> None:
        with self.transaction():
            self._db.execute(_STATE_INSERT, _state_row(state))

    @guarded
    def forget_sources(self, keep_keys: Iterable[str]) -> list[str]:
        """Drop state and entries of every source not in ``keep_keys``; return their keys."""
        keep = set(keep_keys)
        with self.transaction():
            known = {
                row[0]
                for row in self._db.execute(
                    "SELECT key FROM sources UNION SELECT DISTINCT source_key FROM entries"
                )
            }
            gone = sorted(known - keep)
            self._db.executemany("DELETE FROM sources WHERE key = ?", [(k,) for k in gone])
            self._db.executemany("DELETE FROM entries WHERE source_key = ?", [(k,) for k in gone])
            if gone:
                self._bump_generation()
        return gone

    # ----------------------------------------------------------------- entries

    @guarded
    def save_entry_rows(
        self,
        source_key: str,
        rows: Sequence[EntryRow],
        now: datetime,
        *,
        undated: Set[str] = frozenset(),
    ) -> SaveResult:
        """Insert or update one source's entries (``records.entry_row``), keyed by
        ``(source_key, id)``.

        ``first_seen`` is ``now`` on insert and never changes. Ids in
        ``undated`` (the feed gave no date) get ``published = updated =
        first_seen``, so their dates never move between fetches. A repeated id:
        the first wins. Entries absent from ``rows`` are kept (see :meth:`prune`).
        """
        now_iso = _iso(now)
        new = updated = unchanged = 0
        out: list[tuple[object, ...]] = []
        with self.transaction():
            existing = {
                row[0]: (row[1], row[2])
                for row in self._db.execute(
                    "SELECT id, content_hash, first_seen FROM entries WHERE source_key = ?",
                    (source_key,),
                )
            }
            seen: set[str] = set()
            for row in rows:
                id_ = row[0]
                if id_ in seen:
                    continue
                seen.add(id_)
                old = existing.get(id_)
                first_seen = now_iso if old is None else old[1]
                if id_ in undated:
                    when = _dt(first_seen)
                    row = entry_row(replace(row_entry(row[3]), published=when, updated=when))
                if old is None:
                    new += 1
                elif old[0] != row[2]:
                    updated += 1
                else:
                    unchanged += 1
                    continue
                out.append((source_key, row[0], row[1], first_seen, row[2], row[3]))
            self._db.executemany(
                "INSERT INTO entries (source_key, id, published, first_seen, content_hash, data)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source_key, id) DO UPDATE SET"
                " published = excluded.published, content_hash = excluded.content_hash,"
                " data = excluded.data",
                out,
            )
            if out:
                self._bump_generation()
        return SaveResult(new, updated, unchanged)

    @guarded
    def mend_entries(self, mended: Sequence[tuple[str, Entry, datetime]]) -> None:
        """Store entries again with mended dates, each ``(source key, entry,
        first seen)``: the build's mending of dates outside the years an entry
        may carry (``pipeline.remote_entries``). The one place ``first_seen``
        changes."""
        rows = []
        for key, entry, first_seen in mended:
            id_, published, digest, data = entry_row(entry)
            rows.append((published, _iso(first_seen), digest, data, key, id_))
        if not rows:
            return
        with self.transaction():
            self._db.executemany(
                "UPDATE entries SET published = ?, first_seen = ?, content_hash = ?, data = ?"
                " WHERE source_key = ? AND id = ?",
                rows,
            )
            self._bump_generation()

    @guarded
    def entries(self, source_keys: Iterable[str]) -> list[StoredEntry]:
        """Every stored entry of ``source_keys``, ``origin`` = its source key,
        ordered by (first_seen, source key, id)."""
        rows = self._db.execute(
            "SELECT first_seen, source_key, id, content_hash, data FROM entries"
            f" WHERE source_key IN ({self._dialect.values})",
            (json.dumps(list(source_keys)),),
        ).fetchall()
        rows.sort()
        out = []
        for first_seen, key, _id, digest, data in rows:
            try:
                entry = row_entry(data, key)
            except (ValueError, TypeError, KeyError) as exc:
                message = f"a stored entry of {key} cannot be read: {exc!r}"
                raise StoreError(message, path=str(self.path)) from exc
            out.append(StoredEntry(entry, _dt(first_seen), digest))
        return out

    @guarded
    def entry_counts(self) -> dict[str, int]:
        """How many entries each source has stored."""
        rows = self._db.execute("SELECT source_key, count(*) FROM entries GROUP BY source_key")
        return {key: int(count) for key, count in rows}

    @guarded
    def prune(self, source_key: str, keep: int) -> int:
        """Keep the newest ``keep`` entries of a source by published (ties: id); 0 keeps
        all. Returns how many were removed."""
        if keep <= 0:
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
        return int(cursor.rowcount)

    @guarded
    def published_since(
        self, source_keys: Iterable[str], since: datetime
    ) -> dict[str, list[datetime]]:
        """Each source's stored entries' published times after ``since``, oldest first."""
        rows = self._db.execute(
            "SELECT source_key, published FROM entries"
            f" WHERE source_key IN ({self._dialect.values}) AND published > ?"
            " ORDER BY source_key, published",
            (json.dumps(list(source_keys)), since.timestamp()),
        )
        out: dict[str, list[datetime]] = {}
        for key, published in rows:
            out.setdefault(key, []).append(datetime.fromtimestamp(published, UTC))
        return out

    # ----------------------------------------------------------------- builds

    @guarded
    def log_build(self, log: BuildLog, keep: int = 50) -> None:
        """Remember one build (its summary as JSON); only the newest ``keep`` stay."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO builds (at, summary) VALUES (?, ?)",
                (_iso(log.at), json.dumps(log.summary, ensure_ascii=False)),
            )
            row_id = self._dialect.row_id
            self._db.execute(
                f"DELETE FROM builds WHERE {row_id} NOT IN"
                f" (SELECT {row_id} FROM builds ORDER BY at DESC, {row_id} DESC LIMIT ?)",
                (keep,),
            )

    @guarded
    def recent_builds(self, count: int = 10) -> list[BuildLog]:
        """The newest ``count`` logged builds, newest first (unreadable ones left out)."""
        out = []
        for at, summary in self._db.execute(
            f"SELECT at, summary FROM builds ORDER BY at DESC, {self._dialect.row_id} DESC LIMIT ?",
            (count,),
        ):
            try:
                data = json.loads(summary)
                if isinstance(data, dict):
                    out.append(BuildLog(_dt(at), data))
            except ValueError:
                continue
        return out

    # ----------------------------------------------------------------- meta

    def _bump_generation(self) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, '1')"
            " ON CONFLICT (key) DO UPDATE SET"
            " value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)",
            (GENERATION_KEY,),
        )

    @guarded
    def entries_generation(self) -> int:
        """A counter that moves whenever stored remote entries are added, changed or
        removed: "did anything arrive?" without loading a single entry."""
        value = self.get_meta(GENERATION_KEY)
        return int(value) if value else 0

    @guarded
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @guarded
    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


__all__ = ["DEFAULT_TIMEOUT", "GENERATION_KEY", "Store"]
