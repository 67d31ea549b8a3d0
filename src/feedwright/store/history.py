"""What each published feed showed, for tombstones and archives (issue 15).

A part of :class:`~feedwright.store.Store` (it inherits these methods)::

    store.feed_history() -> {feed: FeedHistory}     feed: a slug, "" = the combined feed
    store.save_feed_history({feed: FeedHistory | None})
                                                    None forgets a feed (it is gone)

One row per feed, its lists as JSON: a build reads them all and rewrites
only the feeds whose history changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..exceptions import StoreError
from .dialects import Dialect
from .records import FeedHistory


def _encode(history: FeedHistory) -> tuple[str, str, str]:
    stones = {k: v.astimezone(UTC).isoformat() for k, v in sorted(history.tombstones.items())}
    return (
        json.dumps(list(history.shown)),
        json.dumps(stones),
        json.dumps([list(page) for page in history.pages]),
    )


def _decode(shown: str, tombstones: str, pages: str) -> FeedHistory:
    return FeedHistory(
        shown=tuple(json.loads(shown)),
        tombstones={k: datetime.fromisoformat(v) for k, v in json.loads(tombstones).items()},
        pages=tuple(tuple(page) for page in json.loads(pages)),
    )


class History:
    """The feed-history half of the Store (see the module docstring)."""

    _db: Any
    _dialect: Dialect
    path: Path | str
    transaction: Callable[[], AbstractContextManager[None]]

    def feed_history(self) -> dict[str, FeedHistory]:
        try:
            rows = self._db.execute(
                "SELECT feed, shown, tombstones, pages FROM feed_history"
            ).fetchall()
        except self._dialect.errors as exc:
            raise StoreError(str(exc), path=str(self.path)) from exc
        found: dict[str, FeedHistory] = {}
        for feed, shown, tombstones, pages in rows:
            try:
                found[feed] = _decode(shown, tombstones, pages)
            except (ValueError, TypeError, AttributeError):
                continue  # a damaged row: that feed starts again
        return found

    def save_feed_history(self, changes: Mapping[str, FeedHistory | None]) -> None:
        if not changes:
            return
        try:
            with self.transaction():
                for feed, history in sorted(changes.items()):
                    if history is None:
                        self._db.execute("DELETE FROM feed_history WHERE feed = ?", (feed,))
                        continue
                    self._db.execute(
                        "INSERT INTO feed_history (feed, shown, tombstones, pages)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT (feed) DO UPDATE SET"
                        " shown = excluded.shown, tombstones = excluded.tombstones,"
                        " pages = excluded.pages",
                        (feed, *_encode(history)),
                    )
        except self._dialect.errors as exc:
            raise StoreError(str(exc), path=str(self.path)) from exc


__all__ = ["FeedHistory", "History"]
