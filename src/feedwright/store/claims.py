"""Sharing due sources out among several processes: claims with a lease.

A part of :class:`~feedwright.store.Store` (it inherits these methods)::

    store.add_sources([(key, url), ...])         sources never fetched yet: due now
                                                  (those already known are left alone)
    store.claim_due(owner, now, limit, lease_seconds) -> [key]
                                                  up to ``limit`` due sources (the
                                                  earliest due), leased to ``owner``
    store.renew(owner, keys, until) -> [key]     extend ``owner``'s leases (those it holds)
    store.release(owner, keys, due=now)          give leases back unfetched: due at ``due``
    store.publish_lock() -> context manager of bool
                                                  one publisher across the cluster

Times are epoch seconds (``time.time()``). A source's ``due_at`` is when it
may next be claimed: saving its state (``save_source_state``) sets it from
``next_check`` and ``retry_after`` and ends the lease; a claim pushes it to
the lease's end, so a claimer that dies (kill -9) loses nothing: its sources
are due again when their leases run out. A gone source is never due; one
due (or leased) past the years a clock may say, as a state saved under a
wrong clock holds (docs/history.md, "Dates and the clock"), is due now.

PostgreSQL: the claim is one ``UPDATE ... WHERE key IN (SELECT ... ORDER BY
due_at LIMIT n FOR UPDATE SKIP LOCKED) RETURNING key``, so two claimers
never get the same source and never wait for each other. SQLite: the same
statement in a ``BEGIN IMMEDIATE`` transaction (one writer at a time).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..exceptions import StoreError
from ..model import MAX_YEAR
from .dialects import Dialect

# pg_try_advisory_lock key of the cluster-wide publish lock ("fwpb"), paired
# with a hash of the store's schema: stores in other schemas of the same
# database (other sites, the tests' schemas) publish independently.
PUBLISH_LOCK = 0x66777062
_LOCK_ARGS = "?, hashtext(current_schema())"
# The first due_at (epoch seconds) past the years a clock may say (model.MAX_YEAR).
PAST_THE_YEARS = datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC).timestamp()


class Claims:
    """The claims part of the Store (see the module docstring)."""

    _db: Any
    _dialect: Dialect
    _depth: int
    path: Path | str
    transaction: Callable[[], AbstractContextManager[None]]

    def _claims_sql(self, sql: str, params: Iterable[Any], *, mend: bool = False) -> list[Any]:
        try:
            with self.transaction():
                if self._dialect.is_postgres and self._depth == 1:
                    # A lease lost in a server crash only makes its sources due
                    # again: not worth waiting for the WAL flush.
                    self._db.execute("SET LOCAL synchronous_commit = off")
                if mend:
                    # Due (or leased) past the years a clock may say: saved under a
                    # wrong clock (by a version before due_at ignored such times),
                    # so due now, as update.is_due has it. The top of the due_at
                    # index: nearly always empty, and the claim stays one range of it.
                    self._db.execute(
                        "UPDATE sources SET due_at = 0, lease_owner = NULL, lease_until = NULL"
                        " WHERE due_at >= ?",
                        (PAST_THE_YEARS,),
                    )
                return list(self._db.execute(sql, tuple(params)).fetchall())
        except self._dialect.errors as exc:
            raise StoreError(str(exc), path=str(self.path)) from exc

    def add_sources(self, sources: Iterable[tuple[str, str]]) -> None:
        """Make sources that have no state yet known, due at once."""
        rows = [(key, url) for key, url in sources]
        if not rows:
            return
        try:
            with self.transaction():
                self._db.executemany(
                    "INSERT INTO sources (key, url, due_at) VALUES (?, ?, 0)"
                    " ON CONFLICT (key) DO NOTHING",
                    rows,
                )
        except self._dialect.errors as exc:
            raise StoreError(str(exc), path=str(self.path)) from exc

    def claim_due(self, owner: str, now: float, limit: int, lease_seconds: float) -> list[str]:
        """Lease up to ``limit`` sources due at ``now`` (the earliest due) to ``owner``
        until ``now + lease_seconds``; return their keys (in no particular order)."""
        if limit <= 0:
            return []
        until = now + lease_seconds
        rows = self._claims_sql(
            "UPDATE sources SET lease_owner = ?, lease_until = ?, due_at = ?"
            " WHERE key IN (SELECT key FROM sources"
            " WHERE due_at <= ? AND (lease_until IS NULL OR lease_until < ?)"
            f" ORDER BY due_at LIMIT ?{self._dialect.skip_locked}) RETURNING key",
            (owner, until, until, now, now, limit),
            mend=True,
        )
        return [row[0] for row in rows]

    def renew(self, owner: str, keys: Iterable[str], until: float) -> list[str]:
        """Extend ``owner``'s leases on ``keys`` to ``until``; the keys it still held."""
        rows = self._claims_sql(
            "UPDATE sources SET lease_until = ?, due_at = ?"
            f" WHERE lease_owner = ? AND key IN ({self._dialect.values}) RETURNING key",
            (until, until, owner, json.dumps(sorted(set(keys)))),
        )
        return sorted(row[0] for row in rows)

    def release(self, owner: str, keys: Iterable[str], due: float | None = None) -> list[str]:
        """End ``owner``'s leases on ``keys`` (not fetched after all): due again at
        ``due`` (default: now). Sources whose state was saved meanwhile are not
        leased any more and stay as saved. Returns the keys released."""
        rows = self._claims_sql(
            "UPDATE sources SET lease_owner = NULL, lease_until = NULL, due_at = ?"
            f" WHERE lease_owner = ? AND key IN ({self._dialect.values}) RETURNING key",
            (time.time() if due is None else due, owner, json.dumps(sorted(set(keys)))),
        )
        return sorted(row[0] for row in rows)

    @contextmanager
    def publish_lock(self) -> Iterator[bool]:
        """Hold the cluster-wide publish lock while inside: yields whether it was
        taken (False: another process is publishing; do not wait for it).

        PostgreSQL: a session advisory lock (per schema), freed at the block's end or when
        the holder's connection ends (a killed publisher frees it). SQLite:
        always True; one machine's publishers already take the output folder's
        lock (``lock.py``).
        """
        if not self._dialect.is_postgres:
            yield True
            return
        try:
            row = self._db.execute(
                f"SELECT pg_try_advisory_lock({_LOCK_ARGS})", (PUBLISH_LOCK,)
            ).fetchone()
        except self._dialect.errors as exc:
            raise StoreError(str(exc), path=str(self.path)) from exc
        taken = bool(row[0])
        try:
            yield taken
        finally:
            if taken:
                # A connection that is gone took the lock with it.
                with suppress(*self._dialect.errors):
                    self._db.execute(f"SELECT pg_advisory_unlock({_LOCK_ARGS})", (PUBLISH_LOCK,))


__all__ = ["PAST_THE_YEARS", "PUBLISH_LOCK", "Claims"]
