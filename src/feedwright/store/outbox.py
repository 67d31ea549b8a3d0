"""What the store keeps for other servers: WebSub pings to send, audio lengths to learn.

A part of :class:`~feedwright.store.Store` (it inherits these methods)::

    store.queue_pings([(hub, feed url), ...], now)   a ping for each; one already
                                                      waiting keeps its ``since``
    store.pending_pings() -> [PendingPing]            in (hub, url) order
    store.pings_sent(hub, urls)                       the hub took them: forgotten
    store.pings_failed(hub, urls, error, next_try)
    store.forget_hubs(keep)                           pings of hubs no longer configured
    store.media_lengths(urls) -> {url: MediaLength}   what HEAD requests said
    store.save_media_length(url, length, error, now, next_try)
    store.want_lengths(urls, now)                     to learn (those not known yet)
    store.wanted_lengths() -> [MediaLength]           not learnt yet
    store.forget_wanted_lengths(keep)                 unlearnt ones no episode needs now
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..exceptions import StoreError
from .dialects import Dialect
from .records import MediaLength, PendingPing


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _maybe(text: str | None) -> datetime | None:
    return None if text is None else _dt(text)


class Outbox:
    """The outbox half of the Store (see the module docstring)."""

    _db: Any
    _dialect: Dialect
    path: Path | str
    transaction: Callable[[], AbstractContextManager[None]]

    def _run(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        try:
            return list(self._db.execute(sql, tuple(params)).fetchall())
        except self._dialect.errors as exc:
            raise StoreError(str(exc), path=str(self.path)) from exc

    def _write(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        try:
            with self.transaction():
                self._db.executemany(sql, (tuple(row) for row in rows))
        except self._dialect.errors as exc:
            raise StoreError(str(exc), path=str(self.path)) from exc

    # ----------------------------------------------------------------- pings

    def queue_pings(self, pings: Iterable[tuple[str, str]], now: datetime) -> None:
        since = _iso(now)
        self._write(
            "INSERT INTO pings (hub, url, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            ((hub, url, since) for hub, url in pings),
        )

    def pending_pings(self) -> list[PendingPing]:
        rows = self._run(
            "SELECT hub, url, since, attempts, last_error, next_try FROM pings ORDER BY hub, url"
        )
        return [
            PendingPing(hub, url, _dt(since), attempts, error, _maybe(next_try))
            for hub, url, since, attempts, error, next_try in rows
        ]

    def pings_sent(self, hub: str, urls: Iterable[str]) -> None:
        self._write("DELETE FROM pings WHERE hub = ? AND url = ?", ((hub, url) for url in urls))

    def pings_failed(self, hub: str, urls: Iterable[str], error: str, next_try: datetime) -> None:
        self._write(
            "UPDATE pings SET attempts = attempts + 1, last_error = ?, next_try = ?"
            " WHERE hub = ? AND url = ?",
            ((error, _iso(next_try), hub, url) for url in urls),
        )

    def forget_hubs(self, keep: Iterable[str]) -> None:
        kept = json.dumps(sorted(set(keep)))
        self._write(f"DELETE FROM pings WHERE hub NOT IN ({self._dialect.values})", [[kept]])

    # ----------------------------------------------------------------- lengths

    def media_lengths(self, urls: Iterable[str]) -> dict[str, MediaLength]:
        rows = self._run(
            "SELECT url, length, checked, attempts, last_error, next_try FROM media_lengths"
            f" WHERE url IN ({self._dialect.values})",
            [json.dumps(sorted(set(urls)))],
        )
        return {row[0]: _length(row) for row in rows}

    def save_media_length(
        self,
        url: str,
        length: int | None,
        error: str | None,
        now: datetime,
        next_try: datetime | None = None,
    ) -> None:
        """What a HEAD request said: the length, or (``length`` None) why not."""
        self._write(
            "INSERT INTO media_lengths (url, length, checked, attempts, last_error, next_try)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET"
            " length = excluded.length, checked = excluded.checked,"
            " attempts = CASE WHEN excluded.length IS NULL"
            "   THEN media_lengths.attempts + 1 ELSE 0 END,"
            " last_error = excluded.last_error, next_try = excluded.next_try",
            [
                (
                    url,
                    length,
                    _iso(now),
                    0 if length is not None else 1,
                    error,
                    None if next_try is None else _iso(next_try),
                )
            ],
        )

    def want_lengths(self, urls: Iterable[str], now: datetime) -> None:
        """Remember to learn these lengths (those not known or wanted already)."""
        checked = _iso(now)
        self._write(
            "INSERT INTO media_lengths (url, checked) VALUES (?, ?) ON CONFLICT DO NOTHING",
            ((url, checked) for url in urls),
        )

    def wanted_lengths(self) -> list[MediaLength]:
        rows = self._run(
            "SELECT url, length, checked, attempts, last_error, next_try FROM media_lengths"
            " WHERE length IS NULL ORDER BY url"
        )
        return [_length(row) for row in rows]

    def forget_wanted_lengths(self, keep: Iterable[str]) -> None:
        kept = json.dumps(sorted(set(keep)))
        self._write(
            "DELETE FROM media_lengths WHERE length IS NULL"
            f" AND url NOT IN ({self._dialect.values})",
            [[kept]],
        )


def _length(row: Any) -> MediaLength:
    url, length, checked, attempts, error, next_try = row
    return MediaLength(url, length, _dt(checked), attempts, error, _maybe(next_try))


__all__ = ["Outbox"]
