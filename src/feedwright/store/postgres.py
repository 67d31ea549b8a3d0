"""A PostgreSQL connection for the store (psycopg 3, the ``postgres`` extra).

:class:`PgConnection` looks like the part of ``sqlite3.Connection`` the store
uses (``execute``, ``executemany``, ``in_transaction``, ``close``), takes the
store's SQL as written (``?`` placeholders) and adds what a long-running
process needs from a server database:

- A dropped connection (a server restart, ``pg_terminate_backend``, a
  network cut) fails the operation it happened in; the next operation
  connects again, waiting up to the store's timeout for the server to come
  back. A statement outside a transaction that fails because the connection
  was already dead is run again on the new one; inside a transaction it is
  not (its earlier writes are gone): the transaction fails as a whole.
- The connection belongs to the thread that opened it, as SQLite's does.
- Autocommit: transactions are the store's own ``BEGIN``/``COMMIT``.
- Any Python string round-trips, as in SQLite: PostgreSQL text holds no NUL
  and no lone surrogate, so such a string is stored as a mark and the hex of
  its bytes, and read back as it was (:class:`_SafeStrDumper`, ``_SafeTextLoader``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from ..exceptions import StoreError
from .dialects import Dialect, postgres_dialect

try:
    import psycopg
    from psycopg import pq
    from psycopg.types.string import StrDumperUnknown, TextLoader
except ImportError:  # the extra is not installed: only a postgresql:// state needs it
    psycopg = None  # type: ignore[assignment]

_MARK = "\x01\x02"  # a string PostgreSQL cannot hold: the mark, then the hex of its bytes

if psycopg is not None:

    class _SafeStrDumper(StrDumperUnknown):
        def dump(self, obj: str) -> bytes:
            if "\x00" not in obj and not obj.startswith(_MARK):
                try:
                    return obj.encode("utf-8")
                except UnicodeEncodeError:
                    pass
            return (_MARK + obj.encode("utf-8", "surrogatepass").hex()).encode("ascii")

    class _SafeTextLoader(TextLoader):
        def load(self, data: Any) -> str:
            text = bytes(data).decode("utf-8")
            if text.startswith(_MARK):
                return bytes.fromhex(text[len(_MARK) :]).decode("utf-8", "surrogatepass")
            return text


class MisuseError(Exception):
    """The connection was used from another thread, or after close()."""


class LockedError(Exception):
    """A write waited longer than the store's timeout for another writer's rows."""


def dialect() -> Dialect:
    assert psycopg is not None
    return postgres_dialect((psycopg.Error, MisuseError, LockedError))


def _translate(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    head, sep, tail = url.partition("://")
    if "@" not in tail.split("/", 1)[0]:
        return url
    auth, _, rest = tail.partition("@")
    user = auth.split(":", 1)[0]
    return f"{head}{sep}{user}@{rest}" if user else f"{head}{sep}{rest}"


class PgConnection:
    def __init__(self, url: str, timeout: float) -> None:
        if psycopg is None:
            raise StoreError(
                "a postgresql:// state needs psycopg: pip install 'feedwright[postgres]'",
                path=redact(url),
            )
        self.url = url
        self.timeout = timeout
        self._owner = threading.get_ident()
        self._closed = False
        self._sql: dict[str, str] = {}
        self._conn = self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        deadline = time.monotonic() + self.timeout
        delay = 0.05
        while True:
            try:
                conn = psycopg.connect(
                    self.url, autocommit=True, connect_timeout=max(2, int(self.timeout))
                )
                conn.execute("SET client_encoding = 'UTF8'")
                conn.adapters.register_dumper(str, _SafeStrDumper)
                conn.adapters.register_loader("text", _SafeTextLoader)
                # Wait for another writer's rows as long as SQLite waits for its lock.
                conn.execute(f"SET lock_timeout = {max(1, int(self.timeout * 1000))}")
                return conn
            except psycopg.OperationalError:
                if time.monotonic() + delay >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _check(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise MisuseError("the store is closed")
        if threading.get_ident() != self._owner:
            raise MisuseError("a store belongs to the thread that opened it")
        if self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _query(self, sql: str) -> str:
        query = self._sql.get(sql)
        if query is None:
            query = self._sql[sql] = _translate(sql)
        return query

    @property
    def in_transaction(self) -> bool:
        if self._closed or self._conn.closed:
            return False
        return self._conn.info.transaction_status != pq.TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        conn = self._check()
        idle = not self.in_transaction
        try:
            return conn.execute(self._query(sql), tuple(params))
        except psycopg.errors.LockNotAvailable:
            raise LockedError(
                f"database is locked: another writer held the rows for {self.timeout:g}s"
            ) from None
        except psycopg.OperationalError:
            if not (idle and conn.closed):
                raise
            # The connection had died before this statement (which wrote
            # nothing): run it again on a new one.
            self._conn = self._connect()
            return self._conn.execute(self._query(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        conn = self._check()
        cursor = conn.cursor()
        batch = [tuple(row) for row in rows]
        if batch:
            cursor.executemany(self._query(sql), batch)
        return cursor

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._conn.close()


def open_postgres(url: str, timeout: float) -> PgConnection:
    try:
        return PgConnection(url, timeout)
    except psycopg.Error as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"cannot connect: {message}", path=redact(url)) from None


__all__ = ["LockedError", "MisuseError", "PgConnection", "dialect", "open_postgres", "redact"]
