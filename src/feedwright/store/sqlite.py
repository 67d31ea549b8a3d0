"""Opening the embedded SQLite database (stdlib ``sqlite3``): the default store.

The connection is in autocommit mode (the store runs its own transactions),
in WAL with ``synchronous=NORMAL`` (a crash, even SIGKILL, loses at most
uncommitted work; readers never block the writer), and waits up to
``timeout`` for another process's write lock. sqlite3 ties it to the thread
that opened it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ..exceptions import StoreError
from .dialects import explained
from .migrations import migrate


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


def open_sqlite(path: Path, timeout: float) -> sqlite3.Connection:
    """Open (creating file and parent folders) and migrate the file at ``path``.

    Raises StoreError if the file cannot be created, is not a SQLite
    database, belongs to another application, or has a newer schema.
    """
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
        said = explained(str(exc))
        raise StoreError(f"cannot use as a state database: {said}", path=where) from None
    except BaseException:
        db.close()
        raise
    return db


__all__ = ["open_sqlite"]
