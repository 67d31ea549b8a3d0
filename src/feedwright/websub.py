"""WebSub: tell the hubs (``websub.hub``) which feeds changed, and keep at it.

Every feed names its hubs (``rel="hub"`` links, JSON Feed ``hubs``); after a
publish, each hub is told about exactly the feeds whose bytes changed::

    queue       the feed files a publish wrote -> one pending ping per hub and
                feed URL, in the store (pings of hubs taken out of the config
                are dropped before a send)
    send        per hub (hubs at once), one form-encoded POST (hub.mode=publish and
                a hub.url per feed, at most BATCH a request); 2xx: those pings are done;
                anything else (an error status, a timeout, a refused
                connection): they stay pending, with the reason and when to try
                again (``retry_at``: backing off up to a day)

A failing hub never fails a build: the failure is a :class:`PingResult` in
the build's report, and the pings wait in the store for the next build
(which tries every pending ping) or the daemon's next tick (which tries
those whose time has come). ``build --offline`` and ``run --offline`` queue
pings and send none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .config import FILENAMES, Config

if TYPE_CHECKING:
    from .remote.fetch import Fetcher
    from .store import PendingPing, Store

BATCH = 100  # hub.url values in one request
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PingResult:
    """One request to a hub: the feeds it named, and its failure, if any."""

    hub: str
    feeds: tuple[str, ...]
    error: str | None = None  # None: the hub took them

    def __str__(self) -> str:
        count = f"{len(self.feeds)} feed{'s' if len(self.feeds) != 1 else ''}"
        if self.error is None:
            return f"{self.hub}: pinged for {count}"
        return f"{self.hub}: WebSub ping failed ({self.error}); {count} to ping again later"


def retry_at(attempts: int, now: datetime) -> datetime:
    """When to try a ping (or a lookup) again after ``attempts`` failures in a row."""
    wait: timedelta = FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20)
    return now + min(wait, LONGEST_WAIT)


def changed_feeds(written: Iterable[str], config: Config) -> list[str]:
    """The public URLs of the feed files among ``written`` (paths relative to output.dir)."""
    from .publish.archives import is_archive_path
    from .publish.plan import feed_url

    return sorted(
        feed_url(config.site, config.output, rel)
        for rel in written
        if rel.rsplit("/", 1)[-1] in FILENAMES.values() and not is_archive_path(rel)
    )


def queue(store: Store, config: Config, written: Iterable[str], now: datetime) -> int:
    """Remember a ping per hub for each feed file among ``written``; how many."""
    hubs = config.websub.hub
    urls = changed_feeds(written, config) if hubs else []
    store.queue_pings(((hub, url) for hub in hubs for url in urls), now)
    return len(urls) * len(hubs)


def due(pending: Iterable[PendingPing], now: datetime) -> list[PendingPing]:
    """The pings whose time to try (again) has come."""
    return [p for p in pending if p.next_try is None or p.next_try <= now]


async def send(
    fetcher: Fetcher, store: Store, pending: list[PendingPing], now: datetime
) -> list[PingResult]:
    """Ping the hubs of ``pending``; done pings leave the store, failed ones
    wait with their reason. One result per request, in hub order."""
    from .exceptions import FetchError

    by_hub: dict[str, list[PendingPing]] = {}
    for ping in pending:
        by_hub.setdefault(ping.hub, []).append(ping)

    async def one_hub(hub: str, pings: list[PendingPing]) -> list[PingResult]:
        results: list[PingResult] = []
        for at in range(0, len(pings), BATCH):
            batch = pings[at : at + BATCH]
            urls = tuple(p.url for p in batch)
            fields = [("hub.mode", "publish"), *(("hub.url", url) for url in urls)]
            try:
                await fetcher.post_form(hub, fields, now=now)
            except FetchError as exc:
                attempts = max(p.attempts for p in batch) + 1
                store.pings_failed(hub, urls, exc.message, retry_at(attempts, now))
                results.append(PingResult(hub, urls, exc.message))
            else:
                store.pings_sent(hub, urls)
                results.append(PingResult(hub, urls))
        return results

    # Hubs at once: a silent one costs the others no time.
    done = await asyncio.gather(*(one_hub(hub, by_hub[hub]) for hub in sorted(by_hub)))
    return [result for results in done for result in results]


async def send_due(
    config: Config, store: Store, now: datetime, *, every: bool = False
) -> list[PingResult]:
    """Send the pending pings whose time has come (``every``: all of them)."""
    pending = store.pending_pings()
    if not every:
        pending = due(pending, now)
    if not pending:
        return []
    from .remote.fetch import Fetcher, default_user_agent

    agent = config.fetch.user_agent or default_user_agent(config.site.url)
    async with Fetcher(config.fetch, user_agent=agent) as fetcher:
        return await send(fetcher, store, pending, now)


__all__ = [
    "BATCH",
    "PingResult",
    "changed_feeds",
    "due",
    "queue",
    "retry_at",
    "send",
    "send_due",
]
