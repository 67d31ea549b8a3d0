"""What differs between the two databases the store runs on, in one small object.

The store's SQL is written once, with ``?`` placeholders and syntax both
SQLite and PostgreSQL accept (``INSERT ... ON CONFLICT ... DO UPDATE``,
``RETURNING``); a :class:`Dialect` supplies the rest: the few types that are
spelt differently, how a list parameter becomes a set of values, how a write
transaction starts, which errors the driver raises, and the row-number
column. The connection objects (``sqlite.py``, ``postgres.py``) take the SQL
as written; the PostgreSQL one turns the placeholders into psycopg's.
:func:`guarded` turns those errors, leaving a store method, into
``StoreError``.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, NamedTuple, ParamSpec, Protocol, TypeVar

from ..exceptions import StoreError


class Dialect(NamedTuple):
    name: str  # "sqlite" | "postgresql"
    errors: tuple[type[BaseException], ...]  # what the driver raises: become StoreError
    begin: str  # starts a write transaction
    real: str  # a float column
    bigint: str  # a counter that may pass 2**31
    blob: str  # bytes
    text: str  # text that is compared and ordered byte by byte
    row_id: str  # the builds table's insertion order
    skip_locked: str  # after a claim's inner SELECT: rows another claimer holds are skipped
    # A list parameter (as JSON text) as a subquery of its values: ``x IN ({values})``.
    values: str

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgresql"


SQLITE = Dialect(
    name="sqlite",
    errors=(sqlite3.Error,),
    begin="BEGIN IMMEDIATE",  # take the write lock up front (see sqlite.py)
    real="REAL",
    bigint="INTEGER",
    blob="BLOB",
    text="TEXT",
    row_id="rowid",
    skip_locked="",  # BEGIN IMMEDIATE already lets one claimer in at a time
    values="SELECT value FROM json_each(?)",
)


def postgres_dialect(errors: tuple[type[BaseException], ...]) -> Dialect:
    """The PostgreSQL dialect; ``errors``: psycopg's base error and the store's own."""
    return Dialect(
        name="postgresql",
        errors=errors,
        begin="BEGIN",
        real="DOUBLE PRECISION",
        bigint="BIGINT",
        blob="BYTEA",
        # The C collation orders as SQLite does (by bytes), whatever the
        # database's locale: same sources, same order, same output.
        text='TEXT COLLATE "C"',
        row_id="id",
        skip_locked=" FOR UPDATE SKIP LOCKED",
        values="SELECT json_array_elements_text(CAST(? AS json))",
    )


class _Connected(Protocol):
    _dialect: Dialect
    path: Path | str  # the file, or the URL without its password


S = TypeVar("S", bound=_Connected)
P = ParamSpec("P")
R = TypeVar("R")


_DAMAGED = ("malformed", "not a database", "file is encrypted", "database corrupt")


def explained(message: str) -> str:
    """A driver's message, with what to do when it says the file is damaged."""
    if any(word in message for word in _DAMAGED):
        return (
            f"{message}: the file is damaged; delete it (and its -wal and -shm files) and"
            " the next build makes a new one: posts are read again, remote feeds fetched"
            " again, and feedwright.ids keeps every post's id"
        )
    return message


def guarded(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Turn driver errors into StoreError naming the database."""

    @functools.wraps(method)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except self._dialect.errors as exc:
            raise StoreError(explained(str(exc)), path=str(self.path)) from exc

    return wrapper


def is_postgres_url(location: object) -> bool:
    """Whether a ``state:`` value names a PostgreSQL database rather than a file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


__all__ = ["SQLITE", "Dialect", "explained", "guarded", "is_postgres_url", "postgres_dialect"]
