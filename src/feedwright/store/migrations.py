"""Schema migrations for the state database, run automatically on open.

The schema version is a number: a new database is 0, and after migration *n*
it is *n*. SQLite keeps it in ``PRAGMA user_version`` (and marks the file as
ours with ``PRAGMA application_id``); PostgreSQL in a one-row table
``feedwright_schema`` (``schema_pg.py``). Each migration runs in its own
write transaction together with the version bump, so a crash or error
mid-migration leaves the previous version intact; in PostgreSQL an advisory
lock lets one process migrate at a time. Migrations are only ever appended; a
released one is never edited.

SQLite files go through every migration from the version they have. A
PostgreSQL database starts at the schema of version 7 in one step (PostgreSQL
support came with version 8: no older database exists there), then follows
the shared migrations from 8 on, written against the dialect.

A database whose version is newer than :data:`SCHEMA_VERSION` was written by
a newer feedwright and is refused rather than guessed at; so is some other
application's database (SQLite: a foreign ``application_id`` or tables
without a version; PostgreSQL: tables in the schema but no version table).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ..exceptions import StoreError
from ..model import in_years
from .dialects import SQLITE, Dialect

Migration = Callable[[Any], None]

# "fwst" in ASCII: tells our files from any other SQLite database.
APPLICATION_ID = 0x66777374


def _statements(*sql: str) -> Migration:
    # executescript() would COMMIT the surrounding transaction, so run one by one.
    def run(db: sqlite3.Connection) -> None:
        for statement in sql:
            db.execute(statement)

    return run


_V1 = _statements(
    f"PRAGMA application_id = {APPLICATION_ID}",
    """
    CREATE TABLE sources (
        key TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        title TEXT,
        link TEXT,
        feed_id TEXT,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        last_fetch TEXT,
        last_success TEXT,
        last_result TEXT,
        next_check TEXT,
        error_count INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        status TEXT NOT NULL DEFAULT 'active',
        retry_after TEXT
    )
    """,
    # An entry is JSON of its small fields (data) plus its big texts in their
    # own columns, which load without being parsed. Plain rowid tables: rows
    # of kilobytes would spill into overflow pages in a WITHOUT ROWID b-tree.
    # No foreign key to sources: entries are saved before the source's state
    # in the same transaction, and forget_sources() removes both anyway.
    """
    CREATE TABLE entries (
        source_key TEXT NOT NULL,
        id TEXT NOT NULL,
        published REAL NOT NULL,
        first_seen TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        data TEXT NOT NULL,
        summary TEXT,
        content TEXT,
        body_text TEXT,
        PRIMARY KEY (source_key, id)
    )
    """,
    "CREATE INDEX entries_by_published ON entries (source_key, published)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """
    CREATE TABLE posts (
        root TEXT NOT NULL,
        rel_path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        error TEXT,
        data TEXT,
        summary TEXT,
        content TEXT,
        body_text TEXT,
        PRIMARY KEY (root, rel_path)
    )
    """,
)

# 2: how many XML-illegal characters each cached post had, so a build that
# reuses the cache still reports them.
_V2 = _statements("ALTER TABLE posts ADD COLUMN stripped INTEGER NOT NULL DEFAULT 0")

# 3: a cached post is one marshal blob (``packing.pack``), which decodes about
# three times faster than JSON; the cache is rebuilt by the next build.
_V3 = _statements(
    "DROP TABLE posts",
    """
    CREATE TABLE posts (
        root TEXT NOT NULL,
        rel_path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        error TEXT,
        stripped INTEGER NOT NULL DEFAULT 0,
        packed BLOB,
        body_text TEXT,
        PRIMARY KEY (root, rel_path)
    )
    """,
)

# 4: a posts folder's cache in a few marshal blobs, one per bucket of posts
# (see the store's ``_BUCKETS``): saving 10,000 SQLite rows cost a cold build
# twice the CPU. A cache again: the next build refills it.
_V4 = _statements(
    "DROP TABLE posts",
    """
    CREATE TABLE post_caches (
        root TEXT NOT NULL,
        bucket INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (root, bucket)
    )
    """,
)


def _v5(db: sqlite3.Connection) -> None:
    """5: an entry is one JSON object of every field (``model.to_dict``), its
    hash taken the way ``Entry.content_hash`` takes it now; the post cache is
    rebuilt in a new layout; rendered post bodies get a table of their own."""
    import json

    from ..model import from_dict
    from .records import entry_row

    db.execute(
        """
        CREATE TABLE entries_v5 (
            source_key TEXT NOT NULL,
            id TEXT NOT NULL,
            published REAL NOT NULL,
            first_seen TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (source_key, id)
        )
        """
    )
    rows = db.execute(
        "SELECT source_key, first_seen, data, summary, content, body_text FROM entries"
    )
    for key, first_seen, data, summary, content, body_text in rows.fetchall():
        values = json.loads(data)
        if summary is not None:
            values["summary"] = summary
        if content is not None:
            values["content"] = content
        if "body" in values:
            values["body"]["text"] = body_text
        id_, published, digest, text = entry_row(from_dict(values))
        db.execute(
            "INSERT OR REPLACE INTO entries_v5 VALUES (?, ?, ?, ?, ?, ?)",
            (key, id_, published, first_seen, digest, text),
        )
    db.execute("DROP TABLE entries")
    db.execute("ALTER TABLE entries_v5 RENAME TO entries")
    db.execute("CREATE INDEX entries_by_published ON entries (source_key, published)")
    db.execute("DELETE FROM post_caches")
    db.execute(
        """
        CREATE TABLE rendered (
            root TEXT NOT NULL,
            rel_path TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            content TEXT NOT NULL,
            summary TEXT,
            PRIMARY KEY (root, rel_path)
        )
        """
    )


# 6: what must reach other servers and has not yet: WebSub pings per hub and
# feed (kept until a hub takes them), and the lengths of remote episodes'
# audio (HEAD requests), answered or still to be learnt.
_V6 = _statements(
    """
    CREATE TABLE pings (
        hub TEXT NOT NULL,
        url TEXT NOT NULL,
        since TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_try TEXT,
        PRIMARY KEY (hub, url)
    )
    """,
    """
    CREATE TABLE media_lengths (
        url TEXT PRIMARY KEY,
        length INTEGER,
        checked TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_try TEXT
    )
    """,
)


# 7: politeness you can see (issue 17): per source, what its fetches cost and
# saved, servers that ignore our validators, the feed's own scheduling hints
# (RSS ttl, skipHours, skipDays) and the interval in force; and a short log
# of the builds that changed something (the daemon's /status page).
_V7 = _statements(
    *(
        f"ALTER TABLE sources ADD COLUMN {column}"
        for column in (
            "requests INTEGER NOT NULL DEFAULT 0",
            "not_modified INTEGER NOT NULL DEFAULT 0",
            "unchanged INTEGER NOT NULL DEFAULT 0",
            "bytes_down INTEGER NOT NULL DEFAULT 0",
            "bytes_saved INTEGER NOT NULL DEFAULT 0",
            "body_size INTEGER",
            "validators_ignored INTEGER NOT NULL DEFAULT 0",
            "churned INTEGER NOT NULL DEFAULT 0",
            "ttl INTEGER",
            "skip_hours TEXT",
            "skip_days TEXT",
            "interval REAL",
        )
    ),
    """
    CREATE TABLE builds (
        at TEXT NOT NULL,
        summary TEXT NOT NULL
    )
    """,
)


def due_at(state: tuple[str | None, str | None, str | None]) -> float | None:
    """``sources.due_at`` for (status, next_check, retry_after) as stored: when the
    source is next due, in epoch seconds (0: now); None for a gone source."""
    status, next_check, retry_after = state
    if status == "gone":
        return None
    # A time past the years a clock may say was set under a wrong one: due now
    # (as update.is_due has it), never in a thousand years.
    times = [datetime.fromisoformat(t) for t in (next_check, retry_after) if t]
    return max((t.timestamp() for t in times if in_years(t)), default=0.0)


def v8(db: Any, dialect: Dialect) -> None:
    """8: sources that several processes share out (issue 18): ``due_at`` (epoch
    seconds, kept by the store from next_check and retry_after, pushed to the
    lease's end while one is held), who holds a source (``lease_owner``) and
    until when (``lease_until``); an index that finds the due ones in order."""
    for column in (f"due_at {dialect.real}", "lease_owner TEXT", f"lease_until {dialect.real}"):
        db.execute(f"ALTER TABLE sources ADD COLUMN {column}")
    rows = db.execute("SELECT key, status, next_check, retry_after FROM sources").fetchall()
    db.executemany(
        "UPDATE sources SET due_at = ? WHERE key = ?",
        [(due_at((status, nc, ra)), key) for key, status, nc, ra in rows],
    )
    db.execute("CREATE INDEX sources_by_due ON sources (due_at)")


def v9(db: Any, dialect: Dialect) -> None:
    """9: what each published feed showed (issue 15): per feed (its slug, ``""``
    for the combined one) the entry ids it held, its RFC 6721 tombstones and
    its RFC 5005 archive pages, each a JSON text (``history.py``)."""
    t = dialect.text
    db.execute(
        f"CREATE TABLE feed_history (feed {t} PRIMARY KEY, shown {t} NOT NULL,"
        f" tombstones {t} NOT NULL, pages {t} NOT NULL)"
    )


def v10(db: Any, dialect: Dialect) -> None:
    """10: no table changes; what the state means did (2026-12-07): the ids
    an article keeps across copies (meta ``article-ids``), each feed's
    configured interval (``configured-every``), post stamps by change time.
    A feedwright before it refuses the database rather than publish from a
    state it misreads (its copies of a feed's entries as new, say)."""


MIGRATIONS: tuple[Migration, ...] = (
    _V1,
    _V2,
    _V3,
    _V4,
    _v5,
    _V6,
    _V7,
    lambda db: v8(db, SQLITE),
    lambda db: v9(db, SQLITE),
    lambda db: v10(db, SQLITE),
)
SCHEMA_VERSION = len(MIGRATIONS)


def user_version(db: sqlite3.Connection) -> int:
    row = db.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(
    db: Any,
    dialect: Dialect = SQLITE,
    *,
    path: str,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> int:
    """Bring ``db`` (an autocommit connection) up to date; return the final version.

    Raises StoreError if the database is newer than ``migrations`` knows, is
    some other application's, or a migration fails (that migration is rolled
    back; earlier ones stay applied).
    """
    if dialect.is_postgres:
        from .schema_pg import migrate_pg

        return migrate_pg(db, dialect, path=path)
    latest = len(migrations)
    while True:
        # Cheap check first, so an up-to-date database never takes the write lock.
        current = user_version(db)
        if current >= latest:
            break
        db.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the lock: another process may have migrated meanwhile.
            current = user_version(db)
            if current >= latest:
                db.execute("COMMIT")
                break
            if current == 0 and _has_tables(db):
                raise StoreError(
                    "not a feedwright state database (it already has other tables)", path=path
                )
            # Other applications number their schemas in user_version too: never
            # "migrate" their tables (a name shared with ours would be dropped).
            _check_application(db, path)
            migrations[current](db)
            db.execute(f"PRAGMA user_version = {current + 1}")
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(exc, Exception) and not isinstance(exc, StoreError):
                # Rows an old version wrote that this one cannot read (sqlite3,
                # JSON or value errors alike): the file stays as it was.
                raise StoreError(
                    f"migration to schema version {current + 1} failed: {exc}", path=path
                ) from exc
            raise

    version = user_version(db)
    if version > latest:
        raise StoreError(
            f"schema version {version} is newer than this feedwright understands "
            f"({latest}); upgrade feedwright or point `state:` at another file",
            path=path,
        )
    if version > 0:
        _check_application(db, path)
    return version


def _check_application(db: sqlite3.Connection, path: str) -> None:
    """Refuse a database that has a schema version but is not ours (migration 1
    marks ours; a fresh file has neither)."""
    if user_version(db) == 0:
        return
    app_id = int(db.execute("PRAGMA application_id").fetchone()[0])
    if app_id != APPLICATION_ID:
        raise StoreError("not a feedwright state database (foreign application_id)", path=path)


def _has_tables(db: sqlite3.Connection) -> bool:
    row = db.execute("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchone()
    return int(row[0]) > 0
