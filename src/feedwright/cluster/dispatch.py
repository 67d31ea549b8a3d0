"""The dispatcher: ``feedwright run`` with ``queue:`` set.

It is the daemon (daemon.py: the tick, posts, the outbox, the debounced
rebuild, reloads, signals) with two steps of its own::

    tick    the batches sent earlier that finished: log each source, and a
            batch that changed entries makes the output dirty (one publish,
            coalesced, for every batch that ends before it); so do entries
            another dispatcher's batches stored (the store's entries
            generation moved since this one last published)
            claim due sources (store.claim_due: a lease of `queue_lease`, FOR
            UPDATE SKIP LOCKED on PostgreSQL) and send them in batches of
            `queue_batch` to the workers
    rebuild only while holding the cluster-wide publish lock
            (store.publish_lock); another publisher busy -> try again shortly;
            while batches are in flight, not sooner than COALESCE seconds, nor
            than twice the last publish's time, after the last one ended (so
            publishing takes at most a third of the time). It runs in a
            thread of its own: while it publishes, each tick still collects,
            claims and sends (and does nothing else: config reloads, posts
            and the outbox wait for it), so the workers always have batches

Politeness across workers: every source of a host goes into one batch, and a
host is in at most one batch in flight, so the fetcher's per-host limit
(remote/fetch.py) holds across all the workers of this dispatcher. (Two
dispatchers on one store each keep their own hosts apart: at most two
batches per host then.) The host is that of the URL in the config.

A batch whose result never comes (its worker died, the broker lost it) is
forgotten once its lease ran out: its sources are due again and are claimed
again. Celery is called from one thread of its own, never the event loop's,
so a broker that is down slows the dispatcher's sends, not its publishing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..config import Config
from ..daemon import Daemon
from ..exceptions import FetchError
from ..logs import fields, log_source
from ..pipeline import BuildReport
from ..store import Store
from ..update import SourceResult, reschedule
from .app import TASK, make_app

log = logging.getLogger("feedwright.daemon")

MAX_IN_FLIGHT = 16  # batches sent and not finished: more wait in the store, not the queue
PUBLISH_RETRY = 2.0  # seconds: another process holds the publish lock
# While batches are in flight, publish at most this often (seconds after the
# last publish ended): a publish of a large store takes cores the workers want.
COALESCE = 10.0


@dataclass
class Batch:
    owner: str
    keys: list[str]
    hosts: frozenset[str]
    sent: float  # time.time()
    result: Any = None  # celery AsyncResult
    done: bool = False
    value: dict[str, Any] = field(default_factory=dict)


class Dispatcher(Daemon):
    """The daemon that leaves fetching to ``feedwright worker`` processes."""

    def __init__(self, config: Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.app = make_app(config)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.claims = itertools.count(1)
        self.in_flight: list[Batch] = []
        self.registered: Config | None = None
        self.last_publish = 0.0  # time.monotonic() when the last publish ended
        self.publish_took = 0.0  # seconds the last publish took
        self.hosts: dict[str, str] = {}  # source key -> host, for the registered config
        # A batch ended without a result we could read (it failed, or was lost
        # with its worker or the broker): what it saved is not known, so publish
        # (the pipeline's no-change check makes that cheap if nothing changed).
        self.unknown_outcome = False
        # The store's entries generation when this dispatcher last published:
        # another dispatcher on the same store sends batches this one never
        # collects, and what they stored must reach this output too.
        self.published_generation: int | None = None
        self.others_stored = False
        # Celery's client is not thread-safe and may block on a broker that is
        # down: it lives on this one thread.
        self.celery_thread = ThreadPoolExecutor(1, thread_name_prefix="feedwright-queue")
        # Publishing runs here, off the event loop, one publish at a time.
        self.publish_thread = ThreadPoolExecutor(1, thread_name_prefix="feedwright-publish")
        self.publishing: asyncio.Future[None] | None = None

    async def tick(self) -> None:
        """The daemon's round; while a publish runs, only collect, claim and send."""
        if self.publishing is None:
            await super().tick()
            return
        async with self._busy:
            if not self.stopping:
                await self.refresh_step()

    async def refresh_due(self) -> list[SourceResult]:
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(self.celery_thread, self.dispatch_round)
        for result in results:
            log_source(result)
        if any(r.new or r.updated for r in results) or self.unknown_outcome or self.others_stored:
            self._mark_dirty()
            self.unknown_outcome = self.others_stored = False
        return results

    def dispatch_round(self) -> list[SourceResult]:
        """Collect finished batches, claim due sources, send them; the results collected."""
        config = self.config
        lease = config.queue_lease.total_seconds()
        now = time.time()
        results = self.collect(now, lease)
        with Store.open(config.state) as store:
            published = self.published_generation
            if published is not None and store.entries_generation() != published:
                self.others_stored = True
            if self.registered is not config:
                store.add_sources((s.key, s.url) for s in config.feed_sources)
                reschedule(store, config)
                self.registered, self.hosts = config, hosts_of(config)
            room = MAX_IN_FLIGHT - len(self.in_flight)
            if room <= 0:
                return results
            owner = f"{self.name}:{next(self.claims)}"
            keys = store.claim_due(owner, now, room * config.queue_batch, lease)
            if not keys:
                return results
            busy = frozenset().union(*(b.hosts for b in self.in_flight))
            batches, held_back = plan_batches(keys, self.hosts, busy, config.queue_batch)
            batches, extra = batches[:room], [k for b in batches[room:] for k in b]
            for batch_keys in batches:
                if not self.send(owner, batch_keys, self.hosts, now, lease):
                    held_back.extend(batch_keys)
            if held_back or extra:
                store.release(owner, held_back + extra)
        return results

    def send(
        self, owner: str, keys: list[str], hosts: dict[str, str], now: float, lease: float
    ) -> bool:
        batch = Batch(owner, keys, frozenset(hosts.get(k, "") for k in keys), now)
        try:
            batch.result = self.app.send_task(
                TASK,
                args=[keys, owner, lease],
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
            )
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.error(
                "cannot send %d sources to the queue (tried again next tick): %s",
                len(keys),
                error,
                extra=fields("queue-failed", error=error, sources=len(keys)),
            )
            return False
        self.in_flight.append(batch)
        log.debug("sent %d sources (%s)", len(keys), owner, extra=fields("batch-sent"))
        return True

    def collect(self, now: float, lease: float) -> list[SourceResult]:
        """The results of the batches that finished; forget those whose lease ran out."""
        results: list[SourceResult] = []
        for batch in list(self.in_flight):
            try:
                ready = bool(batch.result.ready())
                value = batch.result.get(timeout=5, propagate=False) if ready else None
            except Exception as exc:  # the result backend is down: ask again next tick
                log.debug("result of %s unknown yet: %s", batch.owner, exc)
                ready, value = False, None
            if ready:
                self.in_flight.remove(batch)
                if isinstance(value, dict):
                    moved, notes = value.get("moved") or {}, value.get("notes") or {}
                    results.extend(source_result(v, moved, notes) for v in value.get("results", []))
                else:
                    self.unknown_outcome = True
                    # The task raised (e.g. the store was unreachable): its sources
                    # stay leased until the lease runs out, then are claimed again.
                    log.warning(
                        "a batch of %d sources failed: %s",
                        len(batch.keys),
                        value,
                        extra=fields("batch-failed", error=str(value), sources=len(batch.keys)),
                    )
                with suppress(Exception):
                    batch.result.forget()
            elif now > batch.sent + lease:
                self.in_flight.remove(batch)
                self.unknown_outcome = True
                log.warning(
                    "a batch of %d sources did not finish within queue_lease: claimed again",
                    len(batch.keys),
                    extra=fields("batch-lost", sources=len(batch.keys)),
                )
        return results

    def rebuild(self) -> BuildReport | None:
        """Start publishing in the publish thread (see :meth:`publish_off_loop`);
        while batches are in flight, coalesced (see the module's docstring).
        The report is not waited for: None."""
        if self.publishing is not None:
            return None  # the output stays dirty: published again after this one
        wait = max(COALESCE, 2 * self.publish_took) - (time.monotonic() - self.last_publish)
        if self.in_flight and wait > 0:
            self._schedule_rebuild(wait)
            return None
        self.publishing = asyncio.ensure_future(self.publish_off_loop())
        return None

    async def publish_off_loop(self) -> None:
        """Publish in the publish thread, holding the cluster-wide publish lock;
        if another process holds it, publish a moment later."""
        loop = asyncio.get_running_loop()
        config, now, started = self.config, self.clock(), time.monotonic()
        since = self.publish_started()
        report: BuildReport | None = None
        try:
            report = await loop.run_in_executor(
                self.publish_thread, self.publish_locked, config, now
            )
        except asyncio.CancelledError:
            # Stopping: the publish under way ends before the output's lock is released.
            self.publish_thread.shutdown(wait=True)
            raise
        except Exception as exc:
            self.publish_failed(exc, since)
            return
        finally:
            self.last_publish = time.monotonic()
            self.publish_took = self.last_publish - started
            self.publishing = None
        if report is None:
            log.info("another process is publishing: waiting", extra=fields("publish-waiting"))
            self._mark_dirty()
            self._schedule_rebuild(PUBLISH_RETRY)
            return
        self.published(report, now)
        if self.dirty and not self.rebuild_pending:  # batches that ended meanwhile
            self._schedule_rebuild(self.debounce)

    def publish_locked(self, config: Config, now: datetime) -> BuildReport | None:
        """The publish thread: publish if the cluster-wide lock is free (else None)."""
        with Store.open(config.state) as store, store.publish_lock() as taken:
            if not taken:
                return None
            generation = store.entries_generation()  # (read before the build reads entries)
            report = self.publish(config, now)
            self.published_generation = generation
            return report

    def stop(self) -> None:
        super().stop()
        self.celery_thread.shutdown(wait=False, cancel_futures=True)


def hosts_of(config: Config) -> dict[str, str]:
    """Each feed source's key -> the host of its URL (lower case)."""
    return {s.key: (urlsplit(s.url).hostname or "") for s in config.feed_sources}


def plan_batches(
    keys: Iterable[str], hosts: dict[str, str], busy: frozenset[str], size: int
) -> tuple[list[list[str]], list[str]]:
    """Group claimed keys into batches of at most ``size``: every source of a
    host in one batch, hosts in ``busy`` (a batch in flight) held back; a
    host with more than ``size`` sources sends ``size`` and holds back the
    rest. Returns (batches, held back)."""
    by_host: dict[str, list[str]] = {}
    held: list[str] = []
    for key in keys:
        host = hosts.get(key, "")
        if host in busy:
            held.append(key)
        else:
            by_host.setdefault(host, []).append(key)
    batches: list[list[str]] = []
    current: list[str] = []
    for group in by_host.values():
        group, rest = group[:size], group[size:]
        held.extend(rest)
        if current and len(current) + len(group) > size:
            batches.append(current)
            current = []
        current.extend(group)
    if current:
        batches.append(current)
    return batches, held


def source_result(
    value: list[Any], moved: dict[str, Any], notes: dict[str, Any] | None = None
) -> SourceResult:
    """A worker's plain result (worker.result_value) as a SourceResult;
    ``moved``: the batch's key -> new address of feeds permanently redirected;
    ``notes``: key -> what the parser repaired (both empty from a worker of
    an earlier version)."""
    key, url, outcome, new, updated, error = value
    failure = None if error is None else FetchError(str(error), url=str(url))
    to = moved.get(str(key))
    note = (notes or {}).get(str(key))
    return SourceResult(
        str(key),
        str(url),
        str(outcome),
        int(new),
        int(updated),
        error=failure,
        moved_to=None if to is None else str(to),
        note=None if note is None else str(note),
    )


__all__ = ["Dispatcher", "plan_batches"]
