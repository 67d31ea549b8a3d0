"""Refresh remote feeds: decide what is due, fetch, parse, normalise, save.

The pipeline, for one round::

    due = [source for source in config if is_due(state, source, now)]
    for each due source, concurrently (httpx, bounded, conditional GET):
        304                      -> state: not-modified (nothing parsed, nothing written)
        200                      -> in a worker process (parallel.Pool): body hash
                                    unchanged? -> state: unchanged; else parse and make
                                    the entries' store rows -> saved
        error                    -> state: error streak + 1, backoff (or Retry-After);
                                    410 -> gone
    every source's next check = schedule.next_check(...)
    saved as sources finish, many sources per transaction (a round of 304s: one)
    the whole round ends by fetch.deadline: sources still under way then are
    reported as timed out, and stay due

Parsing untrusted bytes always happens in a worker: a feed that crashes the
parser, eats all memory or never ends costs its own source, named in the
results, and nothing else. A failing source is a value in the results
(``SourceResult.error``), never an exception that stops the batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .config import Config, FeedSource
from .exceptions import FetchError, GoneError, ParseError, RateLimitedError, SourceError
from .model import check_clock, in_years
from .parallel import Failed, Pool
from .politeness import Hints, account, feed_hints, hints_of, interval_of, with_hints
from .remote.fetch import Fetcher, FetchRequest, FetchResponse, default_user_agent, fetch_or_error
from .remote.parse import parse_feed
from .schedule import ADAPT_WINDOW, adaptive_interval, next_check
from .store import EntryRow, SourceState, Store, entry_row

log = logging.getLogger(__name__)

# Finished sources are saved once their parsed entries reach this many (or at the
# end of the round): big enough that a commit is rare, small enough that saving
# starts while most feeds are still being fetched and parsed.
SAVE_BATCH_ENTRIES = 2000
HEARTBEAT = 0.25  # seconds between progress reports while a round waits on the network

Progress = Callable[[int, int], None]
Fetched = FetchResponse | FetchError


@dataclass(frozen=True, slots=True)
class Ready:
    """A new body parsed and made ready to store (see :func:`parse_job`)."""

    title: str | None
    link: str | None
    feed_id: str | None
    undated_ids: frozenset[str]
    rows: list[EntryRow]
    body_hash: str
    note: str | None = None  # a problem the parser recovered from (bad bytes replaced)
    hints: Hints = field(default_factory=Hints)  # the feed's own <ttl>, <skipHours>, <skipDays>


ParseOutcome = Ready | ParseError | None  # None: nothing to parse (304, same body)
_Outcome = tuple[FeedSource, SourceState, Fetched, ParseOutcome]


@dataclass(frozen=True, slots=True)
class SourceResult:
    key: str
    url: str
    # ok | not-modified | unchanged | skipped | error | gone | rate-limited | timed-out
    outcome: str
    new: int = 0
    updated: int = 0
    error: SourceError | None = None
    note: str | None = None  # a problem the parser recovered from, worth a warning
    moved_to: str | None = None  # this fetch found a new address for good (a permanent redirect)
    discovered: bool = False  # ... because the address was a web page naming its feed
    # A source skipped while failing or backing off (or gone): its streak and
    # last error, so every build can say so, not only the one it failed in.
    streak: int = 0
    last_error: str | None = None
    next_due: datetime | None = None

    @property
    def failing(self) -> bool:
        return self.error is not None or self.streak > 0


# Store meta: each source's configured interval (seconds) when its next check was made.
EVERY_KEY = "configured-every"


def reschedule(store: Store, config: Config) -> None:
    """Follow a changed ``every`` (a feed's own, or ``schedule.every``): a feed
    whose next check was made under another interval is due again by the new
    one from its last fetch, if that is sooner (a shorter interval never
    waits out the longer one; a longer one applies from the next fetch).
    Cheap when nothing changed: one meta value read."""
    every = {s.key: (s.every or config.schedule.every).total_seconds() for s in config.feed_sources}
    raw = store.get_meta(EVERY_KEY)
    try:
        known = json.loads(raw) if raw else {}
    except ValueError:
        known = {}
    if known == every:
        return
    changed = [s for s in config.feed_sources if known.get(s.key, every[s.key]) != every[s.key]]
    states = store.source_states([s.key for s in changed]) if changed else {}
    with store.transaction():
        for source in changed:
            state = states.get(source.key)
            if state is None or state.next_check is None or state.last_fetch is None:
                continue
            if state.error_count or state.status == "gone":
                continue  # backing off, or never asked again: as it was
            hints = hints_of(state)
            sooner = next_check(
                now=state.last_fetch,
                every=interval_of(state, source, config),
                key=source.key,
                jitter=config.schedule.jitter,
                ttl=None if hints.ttl is None else timedelta(minutes=hints.ttl),
                skip_hours=hints.skip_hours,
                skip_days=hints.skip_days,
            )
            if sooner < state.next_check:
                store.save_source_state(state._replace(next_check=sooner))
                log.debug("%s: next check %s (every changed)", state.url, sooner.isoformat())
        store.set_meta(EVERY_KEY, json.dumps(every, sort_keys=True))


def is_due(state: SourceState | None, source: FeedSource, now: datetime, *, daemon: bool) -> bool:
    """Whether ``source`` should be fetched now.

    A one-shot build fetches every source (conditionally) except those that
    are gone, under Retry-After, backing off after errors, or not due yet
    while they have an explicit ``every``, an adapted interval
    (``schedule.adaptive``) or hints of their own (RSS ``ttl``,
    ``skipHours``, ``skipDays``). The daemon follows ``next_check``.
    """
    if state is None:
        return True
    if state.status == "gone":
        return False
    # A time past the years a clock may say was set under a wrong clock (by a
    # version that still ran under one): due now, not in a thousand years.
    if state.retry_after is not None and state.retry_after > now and in_years(state.retry_after):
        return False
    if made_otherwise(state, source):
        return True  # its config changed what its entries are made of: read it again now
    waiting = state.next_check is not None and now < state.next_check and in_years(state.next_check)
    scheduled = source.every is not None or state.interval is not None
    hinted = bool(state.ttl or state.skip_hours or state.skip_days)
    if daemon or state.error_count > 0 or scheduled or hinted:
        return not waiting
    return True


def parse_job(
    content: bytes,
    url: str,
    headers: dict[str, str],
    source: FeedSource,
    now: datetime,
    known_hash: str | None,
) -> ParseOutcome:
    """Parse a body into store rows, or None if its hash is ``known_hash`` (the
    body parsed last time). A pure function of its arguments: it runs in a
    worker process."""
    body_hash = _body_hash(content, source)
    if body_hash == known_hash:
        return None
    try:
        feed = parse_feed(content, url=url, headers=headers, source=source, now=now)
    except ParseError as exc:
        return exc
    return Ready(
        title=feed.title,
        link=feed.link,
        feed_id=feed.feed_id,
        undated_ids=feed.undated_ids,
        # An undated entry's row is made again when saved (its dates are its
        # first_seen, which only the store knows); this one is then unused.
        rows=[entry_row(entry) for entry in feed.entries],
        body_hash=body_hash,
        note=feed.note,
        hints=feed_hints(content),
    )


# Bumped when parsing makes other entries of the same bytes (2: text titles
# keep "<template>"; 3: podcast items keep their episode tags): every feed is
# then fetched whole and parsed once more.
PARSED_BY = 3


def _settings_tag(source: FeedSource) -> str:
    """What a source's entries are made of besides its bytes: its ``title``,
    ``categories``, ``category_map`` and ``keep_categories`` (applied as a
    body is parsed), and the parser's :data:`PARSED_BY`."""
    made = (PARSED_BY, source.title, source.categories, sorted(source.category_map.items()))
    text = repr((*made, source.keep_categories))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _body_hash(content: bytes, source: FeedSource) -> str:
    """The body as parsed for ``source``: the same bytes under other settings
    are parsed again."""
    return f"{_settings_tag(source)}:{hashlib.sha256(content).hexdigest()}"


def made_otherwise(state: SourceState, source: FeedSource) -> bool:
    """Whether the source's stored entries were made under other settings
    than its config's now (a ``category_map`` edited, say): it is then due,
    fetched without validators and parsed again, since a 304 or the same
    bytes would keep its entries as they were made. (Entries no longer in
    its feed keep the categories they were stored with.)"""
    known = state.body_hash
    return known is not None and known != "" and not known.startswith(_settings_tag(source) + ":")


async def refresh(
    config: Config,
    store: Store,
    *,
    now: datetime,
    pool: Pool,
    daemon: bool = False,
    only: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> list[SourceResult]:
    """Fetch every due remote source (or those keyed in ``only``) and save what
    changed; the results in config order. Raises ClockError, fetching
    nothing, when ``now`` is outside the years an entry may carry."""
    check_clock(now)
    if only is None:
        reschedule(store, config)
    # Asked for a few sources (a worker's batch): their states only, not the table's.
    states = store.source_states(only) if only is not None else store.source_states()
    results: list[SourceResult] = []
    due: list[tuple[FeedSource, SourceState]] = []
    for source in config.feed_sources:
        state = states.get(source.key) or SourceState(key=source.key, url=source.url)
        if only is not None:
            # Asked for by name (build --refresh): fetched whatever the schedule says.
            wanted = source.key in only
        else:
            wanted = is_due(states.get(source.key), source, now, daemon=daemon)
        if wanted:
            due.append((source, state))
        elif state.error_count or state.status == "gone":
            results.append(
                SourceResult(
                    source.key,
                    state.url,
                    "skipped",
                    streak=state.error_count,
                    last_error=state.last_error,
                    next_due=None if state.status == "gone" else state.next_check,
                )
            )
        else:
            results.append(SourceResult(source.key, state.url, "skipped"))
    if not due:
        return results

    user_agent = config.fetch.user_agent or default_user_agent(config.site.url)
    done = 0

    async def one(source: FeedSource, state: SourceState) -> _Outcome:
        nonlocal done
        if made_otherwise(state, source):
            request = FetchRequest(state.url)  # no validators: the body is parsed again
        else:
            request = FetchRequest(state.url, etag=state.etag, last_modified=state.last_modified)
        started = time.monotonic()
        response = await fetch_or_error(fetcher, request, now=now)
        if log.isEnabledFor(logging.DEBUG):
            took = time.monotonic() - started
            if isinstance(response, FetchError):
                log.debug("GET %s: failed in %.2fs: %s", state.url, took, response.message)
            else:
                size = len(response.content)
                log.debug("GET %s: %d in %.2fs, %d bytes", state.url, response.status, took, size)
        done += 1
        if progress is not None:
            progress(done, len(due))
        if isinstance(response, FetchError) or response.status == 304:
            return source, state, response, None
        headers = dict(response.headers)
        ready = await pool.apply(
            parse_job, response.content, response.url, headers, source, now, state.body_hash
        )
        if isinstance(ready, Failed):
            log.debug("parsing %s failed:\n%s", state.url, ready.traceback)
            ready = ParseError(f"the parser failed: {ready.reason}", url=state.url)
        return source, state, response, ready

    pending: list[_Outcome] = []
    finished: set[str] = set()

    def save_pending() -> None:
        # One commit for many sources (a source's entries and state are a savepoint
        # inside it): 1,000 not-modified answers cost one write, not 1,000.
        with store.transaction():
            for outcome in pending:
                results.append(_save(store, config, now, *outcome))
                finished.add(outcome[0].key)
        pending.clear()

    deadline = config.fetch.deadline.total_seconds()
    beat = None
    if progress is not None:
        # A heartbeat, so that a display can show a slow round while no feed finishes.
        async def heartbeat() -> None:
            while True:
                progress(done, len(due))
                await asyncio.sleep(HEARTBEAT)

        beat = asyncio.ensure_future(heartbeat())
    async with Fetcher(config.fetch, user_agent=user_agent) as fetcher:
        tasks = [asyncio.ensure_future(one(source, state)) for source, state in due]
        try:
            async with asyncio.timeout(deadline):
                pending_entries = 0
                for next_done in asyncio.as_completed(tasks):
                    outcome = await next_done
                    pending.append(outcome)
                    if isinstance(outcome[3], Ready):
                        pending_entries += len(outcome[3].rows)
                    if pending_entries >= SAVE_BATCH_ENTRIES:
                        save_pending()
                        pending_entries = 0
        except TimeoutError:
            pass
        finally:
            for task in tasks:
                task.cancel()
            if beat is not None:
                beat.cancel()
            await asyncio.gather(*tasks, *([beat] if beat else []), return_exceptions=True)
    if pending:
        save_pending()
    for source, state in due:
        if source.key not in finished:
            # Not saved: the source stays due and is tried again next run.
            reason = (
                f"not refreshed: the round took longer than fetch.deadline ({deadline:g}s);"
                " tried again next run"
            )
            error = FetchError(reason, url=state.url)
            results.append(SourceResult(source.key, state.url, "timed-out", error=error))
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
        counted = account(state, status=None)
        store.save_source_state(_failed(counted, source, response, config, now))
        return SourceResult(source.key, state.url, _error_outcome(response), error=response)
    validated = bool(state.etag or state.last_modified)
    size = len(response.content)
    moved = response.permanent_url if response.permanent_url != state.url else None
    if response.status == 304:
        counted = account(state, status=304, validated=True)
        store.save_source_state(_succeeded(counted, source, response, config, now, "not-modified"))
        return SourceResult(source.key, state.url, "not-modified", moved_to=moved)
    if feed is None:
        counted = account(
            state, status=response.status, size=size, validated=validated, same_body=True
        )
        store.save_source_state(_succeeded(counted, source, response, config, now, "unchanged"))
        return SourceResult(source.key, state.url, "unchanged", moved_to=moved)
    if isinstance(feed, ParseError):
        # Keep the last good entries and do not store the validators, so the
        # next round fetches and parses again instead of getting a 304.
        counted = account(state, status=response.status, size=size)
        store.save_source_state(_failed(counted, source, feed, config, now))
        return SourceResult(source.key, state.url, "error", error=feed)
    with store.transaction():
        saved = store.save_entry_rows(source.key, feed.rows, now, undated=feed.undated_ids)
        if config.retention:
            store.prune(source.key, config.retention)
        counted = account(
            state,
            status=response.status,
            size=size,
            entries_changed=bool(saved.new or saved.updated),
        )
        counted = with_hints(counted, feed.hints)
        if source.every is None and config.schedule.adaptive:
            seen = store.published_since([source.key], now - ADAPT_WINDOW).get(source.key, [])
            interval = adaptive_interval(
                seen,
                now,
                minimum=config.schedule.min_every,
                maximum=config.schedule.max_every,
            )
            counted = counted._replace(interval=interval.total_seconds())
        else:
            counted = counted._replace(interval=None)
        new_state = _succeeded(counted, source, response, config, now, "ok")
        store.save_source_state(
            new_state._replace(
                title=feed.title,
                link=feed.link,
                feed_id=feed.feed_id,
                body_hash=feed.body_hash,
            )
        )
    return SourceResult(
        source.key,
        state.url,
        "ok",
        new=saved.new,
        updated=saved.updated,
        note=feed.note,
        moved_to=moved,
        discovered=moved is not None and response.discovered_from is not None,
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
    every = interval_of(state, source, config)
    hints = hints_of(state)
    return state._replace(
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
            ttl=None if hints.ttl is None else timedelta(minutes=hints.ttl),
            skip_hours=hints.skip_hours,
            skip_days=hints.skip_days,
        ),
    )


def _failed(
    state: SourceState, source: FeedSource, error: SourceError, config: Config, now: datetime
) -> SourceState:
    every = interval_of(state, source, config)
    errors = state.error_count + 1
    retry_after = error.retry_after if isinstance(error, FetchError) else None
    gone = isinstance(error, GoneError)
    return state._replace(
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
