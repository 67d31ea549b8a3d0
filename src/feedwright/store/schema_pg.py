"""The store's schema in PostgreSQL, and how its version is kept there.

A new database (or schema: the connection's ``search_path`` decides where
the tables go) gets the tables of schema version 7 in one step, then the
shared migrations from 8 on (``migrations.py``). The version is the one row
of ``feedwright_schema``; an advisory lock taken inside each migration's
transaction lets one process migrate at a time, so several workers starting
together on an empty database do not trip over each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exceptions import StoreError
from .dialects import Dialect

# pg_advisory_xact_lock key for migrations: "fwst" as in SQLite's application_id.
MIGRATION_LOCK = 0x66777374
_FIRST = 7  # the version a new PostgreSQL database starts at


def _v7(db: Any, d: Dialect) -> None:
    t, real, big = d.text, d.real, d.bigint
    times = ", ".join(
        f"{name} {t}" for name in ("last_fetch", "last_success", "last_result", "next_check")
    )
    db.execute(
        f"""
        CREATE TABLE sources (
            key {t} PRIMARY KEY, url {t} NOT NULL, title {t}, link {t}, feed_id {t},
            etag {t}, last_modified {t}, body_hash {t}, {times},
            error_count INTEGER NOT NULL DEFAULT 0, last_error {t},
            status {t} NOT NULL DEFAULT 'active', retry_after {t},
            requests {big} NOT NULL DEFAULT 0, not_modified {big} NOT NULL DEFAULT 0,
            unchanged {big} NOT NULL DEFAULT 0, bytes_down {big} NOT NULL DEFAULT 0,
            bytes_saved {big} NOT NULL DEFAULT 0, body_size {big},
            validators_ignored {big} NOT NULL DEFAULT 0, churned {big} NOT NULL DEFAULT 0,
            ttl INTEGER, skip_hours {t}, skip_days {t}, interval {real}
        )
        """
    )
    db.execute(
        f"""
        CREATE TABLE entries (
            source_key {t} NOT NULL, id {t} NOT NULL, published {real} NOT NULL,
            first_seen {t} NOT NULL, content_hash {t} NOT NULL, data {t} NOT NULL,
            PRIMARY KEY (source_key, id)
        )
        """
    )
    db.execute("CREATE INDEX entries_by_published ON entries (source_key, published)")
    db.execute(f"CREATE TABLE meta (key {t} PRIMARY KEY, value {t} NOT NULL)")
    db.execute(
        f"""
        CREATE TABLE post_caches (
            root {t} NOT NULL, bucket INTEGER NOT NULL, data {d.blob} NOT NULL,
            PRIMARY KEY (root, bucket)
        )
        """
    )
    db.execute(
        f"""
        CREATE TABLE rendered (
            root {t} NOT NULL, rel_path {t} NOT NULL, content_hash {t} NOT NULL,
            content {t} NOT NULL, summary {t}, PRIMARY KEY (root, rel_path)
        )
        """
    )
    db.execute(
        f"""
        CREATE TABLE pings (
            hub {t} NOT NULL, url {t} NOT NULL, since {t} NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error {t}, next_try {t},
            PRIMARY KEY (hub, url)
        )
        """
    )
    db.execute(
        f"""
        CREATE TABLE media_lengths (
            url {t} PRIMARY KEY, length {big}, checked {t} NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error {t}, next_try {t}
        )
        """
    )
    db.execute(
        f"CREATE TABLE builds (id BIGSERIAL PRIMARY KEY, at {t} NOT NULL, summary {t} NOT NULL)"
    )


def _steps() -> dict[int, Callable[[Any, Dialect], None]]:
    from .migrations import v8, v9, v10

    return {7: _v7, 8: v8, 9: v9, 10: v10}  # the version each step reaches


def _version(db: Any) -> int | None:
    """The stored version; None when the version table does not exist."""
    # pg_tables, not to_regclass(): a name lookup may not yet see a table that
    # another process created while this one waited for the migration lock.
    found = db.execute(
        "SELECT count(*) FROM pg_tables"
        " WHERE schemaname = current_schema() AND tablename = 'feedwright_schema'"
    ).fetchone()
    if not found[0]:
        return None
    row = db.execute("SELECT version FROM feedwright_schema").fetchone()
    return 0 if row is None else int(row[0])


def _has_tables(db: Any) -> bool:
    row = db.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
    ).fetchone()
    return int(row[0]) > 0


def migrate_pg(db: Any, dialect: Dialect, *, path: str) -> int:
    from .migrations import SCHEMA_VERSION

    steps = _steps()
    while True:
        current = _version(db)
        if current is not None and current >= SCHEMA_VERSION:
            break
        db.execute("BEGIN")
        target = 0
        try:
            db.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            current = _version(db)
            if current is not None and current >= SCHEMA_VERSION:
                db.execute("COMMIT")
                break
            if current is None:
                if _has_tables(db):
                    raise StoreError(
                        "not a feedwright state database (its schema already has other tables)",
                        path=path,
                    )
                db.execute("CREATE TABLE feedwright_schema (version INTEGER NOT NULL)")
                db.execute("INSERT INTO feedwright_schema VALUES (0)")
                current = 0
            target = max(current + 1, _FIRST)
            steps[target](db, dialect)
            db.execute("UPDATE feedwright_schema SET version = ?", (target,))
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(exc, Exception) and not isinstance(exc, StoreError):
                raise StoreError(
                    f"migration to schema version {target} failed: {exc}", path=path
                ) from exc
            raise
    version = _version(db) or 0
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"schema version {version} is newer than this feedwright understands "
            f"({SCHEMA_VERSION}); upgrade feedwright or point `state:` at another database",
            path=path,
        )
    return version


__all__ = ["MIGRATION_LOCK", "migrate_pg"]
