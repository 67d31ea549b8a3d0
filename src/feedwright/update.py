"""Refresh remote feeds: decide what is due, fetch, parse, normalise, save.

The pipeline, for one round::

    due = [source for source in config if is_due(state, source, now)]
    for each due source, concurrently (httpx, bounded, conditional GET):
        304                      -> state: not-modified (nothing parsed, nothing written)
        200, body hash unchanged -> state: unchanged
        200, new body            -> parse, then make the entries' store rows (process
                                    pool when many, started as each body arrives,
                                    overlapping the fetching) -> saved
        error                    -> state: error streak + 1, backoff; 410 -> gone
    every source's next check = schedule.next_check(...)
    saved as sources finish, many sources per transaction (a round of 304s: one)

The body hash, parsing and each entry's content hash and row all happen where
the parsing does, so this process (on the critical path: it fetches, feeds
the workers and writes) is left the HTTP and the SQL.

A failing source is a value in the results (``SourceResult.error``), never an
exception that stops the batch. The store keeps entries that dropped off a
feed; ``retention`` bounds how many per source.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from .config import Config, FeedSource
from .exceptions import FetchError, GoneError, ParseError, RateLimitedError, SourceError
from .remote.fetch import Fetcher, FetchRequest, FetchResponse, default_user_agent, fetch_or_error
from .remote.parse import parse_feed
from .schedule import next_check
from .store import EntryRow, SourceState, Store, entry_row

# Below this many bodies, starting worker processes costs more than it saves.
POOL_THRESHOLD = 8
# Finished sources are saved once their parsed entries reach this many (or at the
# end of the round): big enough that a commit is rare, small enough that saving
# starts while most feeds are still being fetched and parsed.
SAVE_BATCH_ENTRIES = 2000
# How much lower than this process the parse workers run (os.nice increment).
WORKER_NICENESS = 5

Progress = Callable[[int, int], None]
Fetched = FetchResponse | FetchError


@dataclass(frozen=True, slots=True)
class _Ready:
    """A new body parsed and made ready to store (see :func:`_parse_job`)."""

    title: str | None
    link: str | None
    feed_id: str | None
    undated_ids: frozenset[str]
    # store.sqlite.entry_row of each entry: plain tuples, which unpickle in C
    # (unpickling 35,000 dataclass entries cost this process over a second).
    rows: list[EntryRow]
    body_hash: str
    note: str | None = None  # ParsedFeed.note: reported with the source


ParseOutcome = _Ready | ParseError | None  # None: nothing to parse (304, same body)
_Outcome = tuple[FeedSource, SourceState, Fetched, ParseOutcome]


@dataclass(frozen=True, slots=True)
class SourceResult:
    key: str
    url: str
    outcome: str  # ok | not-modified | unchanged | skipped | error | gone | rate-limited
    new: int = 0
    updated: int = 0
    error: SourceError | None = None
    note: str | None = None  # the feed was read with a repair (ParsedFeed.note)


def is_due(state: SourceState | None, source: FeedSource, now: datetime, *, daemon: bool) -> bool:
    """Whether ``source`` should be fetched now.

    A one-shot build fetches every source (conditionally) except those that
    are gone, under Retry-After, backing off after errors, or that have an
    explicit ``every`` not yet elapsed. The daemon follows ``next_check``.
    """
    if state is None:
        return True
    if state.status == "gone":
        return False
    if state.retry_after is not None and state.retry_after > now:
        return False
    waiting = state.next_check is not None and state.next_check > now
    if daemon or state.error_count > 0 or source.every is not None:
        return not waiting
    return True


def _lower_priority() -> None:
    # This process fetches, feeds the workers and saves what they return; if it
    # waits for a core, the workers soon wait for bodies. Parsing yields to it.
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)


def _parse_job(
    content: bytes,
    url: str,
    headers: dict[str, str],
    source: FeedSource,
    now: datetime,
    known_hash: str | None,
) -> _Ready | ParseError | None:
    """Parse a body into store rows, or return None if its hash is ``known_hash``
    (the body parsed last time). A pure function of its arguments, run in a
    worker process when there are many bodies."""
    body_hash = _body_hash(content)
    if body_hash == known_hash:
        return None
    try:
        feed = parse_feed(content, url=url, headers=headers, source=source, now=now)
    except ParseError as exc:
        return exc
    return _Ready(
        title=feed.title,
        link=feed.link,
        feed_id=feed.feed_id,
        undated_ids=feed.undated_ids,
        # An undated entry's row is made again when saved (its dates are its
        # first_seen, which only the store knows); this one is then unused.
        rows=[entry_row(entry) for entry in feed.entries],
        body_hash=body_hash,
        note=feed.note,
    )


def _body_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


async def refresh(
    config: Config,
    store: Store,
    *,
    now: datetime,
    daemon: bool = False,
    only: Sequence[str] | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> list[SourceResult]:
    """Fetch every due remote source (or those keyed in ``only``) and save what changed."""
    states = store.source_states()
    results: list[SourceResult] = []
    due: list[tuple[FeedSource, SourceState]] = []
    for source in config.feed_sources:
        state = states.get(source.key) or SourceState(key=source.key, url=source.url)
        if only is not None:
            wanted = source.key in only and state.status != "gone"
        else:
            wanted = is_due(states.get(source.key), source, now, daemon=daemon)
        if wanted:
            due.append((source, state))
        else:
            results.append(SourceResult(source.key, state.url, "skipped"))
    if not due:
        return results

    user_agent = config.fetch.user_agent or default_user_agent(config.site.url)
    pool: Executor | None = executor
    own_pool = None
    if pool is None and len(due) >= POOL_THRESHOLD and (os.cpu_count() or 1) > 1:
        # Forking a threaded process (the daemon) can copy a held lock into the
        # child: there the workers come from a clean fork server instead.
        method = "forkserver" if threading.active_count() > 1 else "fork"
        if method not in mp.get_all_start_methods():
            method = "spawn"
        own_pool = pool = ProcessPoolExecutor(
            max_workers=os.cpu_count(),
            mp_context=mp.get_context(method),
            initializer=_lower_priority,
        )
    loop = asyncio.get_running_loop()
    done = 0

    async def one(source: FeedSource, state: SourceState) -> _Outcome:
        # Each body goes to the parser as soon as it arrives, so parsing in the
        # worker processes overlaps the rest of the fetching.
        nonlocal done
        request = FetchRequest(url=state.url, etag=state.etag, last_modified=state.last_modified)
        response = await fetch_or_error(fetcher, request, now=now)
        done += 1
        if progress is not None:
            progress(done, len(due))
        if isinstance(response, FetchError) or response.status == 304:
            return source, state, response, None
        job = (response.content, response.url, dict(response.headers), source, now)
        if pool is None:
            ready = await asyncio.to_thread(_parse_job, *job, state.body_hash)
        else:
            ready = await loop.run_in_executor(pool, _parse_job, *job, state.body_hash)
        return source, state, response, ready

    arrived: dict[int, _Outcome] = {}

    async def one_aside(n: int, source: FeedSource, state: SourceState) -> int:
        # A finished task holds its result until the round ends; handed over
        # aside, each body and its rows are freed once saved instead.
        arrived[n] = await one(source, state)
        return n

    pending: list[_Outcome] = []

    def save_pending() -> None:
        # One commit for many sources (a source's entries and state are a savepoint
        # inside it): 1,000 not-modified answers cost one write, not 1,000.
        with store.transaction():
            for outcome in pending:
                results.append(_save(store, config, now, *outcome))
        pending.clear()

    try:
        async with Fetcher(config.fetch, user_agent=user_agent) as fetcher:
            tasks = [
                asyncio.ensure_future(one_aside(n, source, state))
                for n, (source, state) in enumerate(due)
            ]
            try:
                # Sources are saved as they finish, in batches, so storing the first
                # feeds overlaps the fetching and parsing of the rest instead of
                # following it.
                pending_entries = 0
                for finished in asyncio.as_completed(tasks):
                    outcome = arrived.pop(await finished)
                    pending.append(outcome)
                    if isinstance(outcome[3], _Ready):
                        pending_entries += len(outcome[3].rows)
                    if pending_entries >= SAVE_BATCH_ENTRIES:
                        save_pending()
                        pending_entries = 0
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
    finally:
        if own_pool is not None:
            own_pool.shutdown(wait=False, cancel_futures=True)
    if pending:
        save_pending()
    order = {s.key: n for n, s in enumerate(config.feed_sources)}
    results.sort(key=lambda r: order.get(r.key, 0))
    return results


def _save(
    store: Store,
    config: Config,
    now: datetime,
    source: FeedSource,
    state: SourceState,
    response: Fetched,
    feed: ParseOutcome,
) -> SourceResult:
    """Record one source's outcome in the store (inside the caller's transaction)."""
    if isinstance(response, FetchError):
        store.save_source_state(_failed(state, source, response, config, now))
        return SourceResult(source.key, state.url, _error_outcome(response), error=response)
    if response.status == 304:
        store.save_source_state(_succeeded(state, source, response, config, now, "not-modified"))
        return SourceResult(source.key, state.url, "not-modified")
    if feed is None:
        store.save_source_state(_succeeded(state, source, response, config, now, "unchanged"))
        return SourceResult(source.key, state.url, "unchanged")
    if isinstance(feed, ParseError):
        # Keep the last good entries and do not store the validators, so the
        # next round fetches and parses again instead of getting a 304.
        store.save_source_state(_failed(state, source, feed, config, now))
        return SourceResult(source.key, state.url, "error", error=feed)
    with store.transaction():
        saved = store.save_entry_rows(source.key, feed.rows, now, undated=feed.undated_ids)
        if config.retention:
            store.prune(source.key, config.retention)
        new_state = _succeeded(state, source, response, config, now, "ok")
        store.save_source_state(
            replace(
                new_state,
                title=feed.title,
                link=feed.link,
                feed_id=feed.feed_id,
                body_hash=feed.body_hash,
            )
        )
    return SourceResult(
        source.key, state.url, "ok", new=saved.new, updated=saved.updated, note=feed.note
    )


def _error_outcome(error: FetchError) -> str:
    if isinstance(error, GoneError):
        return "gone"
    if isinstance(error, RateLimitedError):
        return "rate-limited"
    return "error"


def _succeeded(
    state: SourceState,
    source: FeedSource,
    response: FetchResponse,
    config: Config,
    now: datetime,
    outcome: str,
) -> SourceState:
    every = source.every or config.schedule.every
    return replace(
        state,
        url=response.permanent_url or state.url,
        etag=response.etag if response.status != 304 else (response.etag or state.etag),
        last_modified=(
            response.last_modified
            if response.status != 304
            else (response.last_modified or state.last_modified)
        ),
        last_fetch=now,
        last_success=now,
        last_result=outcome,
        error_count=0,
        last_error=None,
        retry_after=None,
        status="active",
        next_check=next_check(
            now=now,
            every=every,
            key=source.key,
            jitter=config.schedule.jitter,
            max_age=response.max_age,
        ),
    )


def _failed(
    state: SourceState, source: FeedSource, error: SourceError, config: Config, now: datetime
) -> SourceState:
    every = source.every or config.schedule.every
    errors = state.error_count + 1
    retry_after = error.retry_after if isinstance(error, RateLimitedError) else None
    gone = isinstance(error, GoneError)
    return replace(
        state,
        last_fetch=now,
        last_result=_error_outcome(error) if isinstance(error, FetchError) else "error",
        error_count=errors,
        last_error=error.message,
        retry_after=retry_after,
        status="gone" if gone else "active",
        # A parse failure must refetch the body next time, not get a 304.
        etag=None if isinstance(error, ParseError) else state.etag,
        last_modified=None if isinstance(error, ParseError) else state.last_modified,
        body_hash=None if isinstance(error, ParseError) else state.body_hash,
        next_check=None
        if gone
        else next_check(
            now=now,
            every=every,
            key=source.key,
            jitter=config.schedule.jitter,
            error_count=errors,
            retry_after=retry_after,
        ),
    )
