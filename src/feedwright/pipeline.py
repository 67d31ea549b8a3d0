"""One build, the thing ``feedwright build``, the daemon and ``feedwright.build`` run.

The sequence::

    lock output.dir                   (LockError: another writer is busy)
    refresh due remote feeds          -> saved in the store (skipped offline)
    find the post files               the no-change check (incremental.unchanged):
                                      nothing changed since the last build -> done
                                      posts only edited in place, none moved -> the
                                      last build's feeds, only those holding an
                                      edited post made again (stages.py)
    (the rest, in stages.py)
    read the posts                    unchanged files from the post cache, the rest
                                      read (in worker processes when many)
    gather                            posts due by `now` + stored remote entries,
                                      one per id
    render                            the posts that reach a feed (their HTML from
                                      the store when unchanged)
    settle episodes' audio lengths    (media.py) an episode without one is held back
    follow                            (publish/history.py) each feed against what it
                                      showed: tombstones, archive pages
    publish                           feeds whose inputs are unchanged are not even
                                      serialised; every changed file that passes the
                                      validation gate, or none, is written
    record                            what this build was made from, for the next one
    ping                              (websub.py) the hubs, for the feeds whose bytes
                                      changed, and every ping still pending (not offline)

``now`` is passed in; nothing below reads the clock. Heavy libraries (httpx,
feedparser, feedgen, the Markdown renderer) are imported only by a build that
needs them, so a build with nothing to do costs about a walk of the posts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from . import incremental, ledger, posts
from .config import MANIFEST_NAME, Config, PostsSource
from .exceptions import ConfigError
from .lock import output_lock
from .model import MAX_YEAR, MIN_YEAR, Entry, P, check_clock, in_years, rfc3339
from .parallel import Pool
from .publish.write import sweep_temp_files
from .report import BUILD_FETCHES, BuildReport, FeedSummary, PublishSummary, cached_report
from .store import Store, StoredEntry
from .text import bad_tag_uri

if TYPE_CHECKING:
    from .progress import Report
    from .update import Progress, SourceResult

log = logging.getLogger("feedwright.build")

# How long one item of work (a feed to parse, a chunk of posts) may take in a
# worker before it is stopped and reported.
WORK_TIMEOUT = 120.0
# Parse workers yield to this process, which fetches and feeds them.
WORKER_NICENESS = 5


_GLOBAL_ID = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S{2,}$")


def scope_id(entry: Entry) -> Entry:
    """A remote entry whose id is not a global URI (``<guid>1</guid>``) is only
    unique inside its own feed: two blogs may both say ``1``. Such ids are
    published scoped by the subscription, as a stable name-based UUID URN.
    So is an id that claims to be a tag: URI and is not one (``tag:post-1``):
    the publish gate would refuse every feed holding it."""
    if _GLOBAL_ID.match(entry.id) and not bad_tag_uri(entry.id):
        return entry
    import uuid

    scoped = uuid.uuid5(uuid.NAMESPACE_URL, f"{entry.origin}\x00{entry.id}")
    return replace(entry, id=f"urn:uuid:{scoped}")


def remote_entries(
    config: Config, store: Store, now: datetime, notes: dict[str, str] | None = None
) -> list[tuple[Entry, str]]:
    """Stored remote entries with their content hashes, ids scoped, the copy
    seen first (then the one whose subscription comes first in the config)
    ahead of later duplicates. Dates outside the years an entry may carry
    are mended first (:func:`mend_dates`), what was mended said in ``notes``
    (source key -> note)."""
    order = {s.key: i for i, s in enumerate(config.feed_sources)}
    stored = mend_dates(store, store.entries(list(order)), now, {} if notes is None else notes)
    stored.sort(key=lambda s: (s.first_seen, order.get(s.entry.origin, 0)))
    filtering = {s.key: s.filters for s in config.feed_sources if s.filters}
    if filtering:  # a source's filters decide which of its stored entries are published
        from .filters import keep

        stored = [
            s for s in stored if (f := filtering.get(s.entry.origin)) is None or keep(s.entry, f)
        ]
    return [(scope_id(s.entry), s.content_hash) for s in stored]


def mend_dates(
    store: Store, stored: list[StoredEntry], now: datetime, notes: dict[str, str]
) -> list[StoredEntry]:
    """``stored`` with every date outside the years an entry may carry (a
    state written under a wrong clock: an undated entry first seen "in 3001")
    made ``now``, and saved so: the publish gate would refuse every feed
    holding such an entry, on every build. ``notes`` gets one line per feed
    whose entries' dates were mended (a first-seen time alone is mended unsaid)."""
    mended: list[tuple[str, Entry, datetime]] = []
    counts: dict[str, int] = {}
    out: list[StoredEntry] = []
    for item in stored:
        entry, first_seen = item.entry, item.first_seen
        dated = in_years(entry.published) and in_years(entry.updated)
        if dated and in_years(first_seen):
            out.append(item)
            continue
        key = entry.origin or ""
        if not dated:
            counts[key] = counts.get(key, 0) + 1
        published = entry.published if in_years(entry.published) else now
        updated = max(entry.updated if in_years(entry.updated) else now, published)
        entry = replace(entry, published=published, updated=updated)
        first_seen = first_seen if in_years(first_seen) else now
        mended.append((key, entry, first_seen))
        out.append(StoredEntry(entry, first_seen, entry.content_hash()))
    if mended:
        store.mend_entries(mended)
    for key, count in sorted(counts.items()):
        notes[key] = (
            f"{count} stored {'entry' if count == 1 else 'entries'} dated outside the years"
            f" {MIN_YEAR} to {MAX_YEAR} (set under a wrong clock): dated {rfc3339(now)},"
            " the time first seen with a right one"
        )
    return out


def noted(sources: list[SourceResult], notes: Mapping[str, str]) -> list[SourceResult]:
    """``sources`` with ``notes`` (source key -> note) added to their results'
    notes, which a build prints as warnings naming the feed; a note of a
    source with no result this build (offline) is logged."""
    if not notes:
        return sources
    from .remote.normalize import join_notes

    out = [
        replace(r, note=join_notes(r.note, notes[r.key])) if r.key in notes else r for r in sources
    ]
    for key in sorted(set(notes) - {r.key for r in sources}):
        log.warning("%s: %s", key, notes[key])
    return out


def dedupe(entries: Iterable[P]) -> list[P]:
    """One entry per id: the first one wins (callers order posts before remote
    entries). An entry reached through several subscriptions is published once,
    in the categories all of them give it."""
    kept: dict[str, P] = {}
    for entry in entries:
        first = kept.get(entry.id)
        if first is None:
            kept[entry.id] = entry
        elif first.source is not None and entry.source is not None:
            extra = tuple(c for c in entry.categories if c not in first.categories)
            if extra:
                merged: Any = replace(cast(Entry, first), categories=first.categories + extra)
                kept[entry.id] = merged
    return list(kept.values())


def refresh(
    config: Config,
    store: Store,
    pool: Pool,
    *,
    now: datetime,
    daemon: bool = False,
    only: Iterable[str] | None = None,
    progress: Progress | None = None,
) -> list[SourceResult]:
    """Refresh the due remote feeds (or those in ``only``) into the store."""
    import asyncio

    from .update import refresh as refresh_feeds

    # The workers are started now, before the event loop's resolver threads
    # exist, so they can be forked.
    pool.start()
    return asyncio.run(
        refresh_feeds(
            config,
            store,
            now=now,
            pool=pool,
            daemon=daemon,
            only=None if only is None else list(only),
            progress=progress,
        )
    )


def run_once(
    config: Config,
    *,
    now: datetime,
    offline: bool = False,
    daemon: bool = False,
    lock_wait: float = 0.0,
    locked: bool = False,
    pool: Pool | None = None,
    progress: Report | None = None,
    refresh_only: Iterable[str] | None = None,
    allow_id_changes: bool = False,
) -> BuildReport:
    """Refresh, read, publish; problems come back in the report, not as exceptions.

    Raises IdChangeError, writing nothing, when too many of a feed's ids would
    change (changes.py), unless ``allow_id_changes``.

    ``refresh_only``: fetch these sources (keys) now, whatever the schedule
    says, and no others (``build --refresh``).

    ``locked=True``: the caller (the daemon) holds the output lock already.
    ``pool``: worker processes to use (the daemon keeps one); else the build
    makes its own and stops it before returning.

    Raises ClockError, touching nothing, when ``now`` is outside the years an
    entry may carry (``model.check_clock``).
    """
    check_clock(now)
    with (
        nullcontext()
        if locked
        else output_lock(config.output.dir, wait=lock_wait, config=str(config.path)),
        Store.open(config.state) as store,
        nullcontext(pool) if pool is not None else _own_pool() as workers,
    ):
        # A build killed earlier may have left temp files: a build with
        # nothing to publish removes them too.
        sweep_temp_files(config.output.dir)
        # A feed taken out of the config leaves the store, so its entries
        # leave the published feeds.
        store.forget_sources(s.key for s in config.feed_sources)
        sources: list[SourceResult] = []
        if config.feed_sources and not offline:
            sources = refresh(
                config,
                store,
                workers,
                now=now,
                daemon=daemon,
                progress=None if progress is None else phase(progress, "fetching"),
                only=refresh_only,
            )
        elif config.feed_sources:
            sources = _never_fetched(config, store)
        failing = _failing(config, store)
        found = find_posts(config)
        record = incremental.load_record(store)
        book = ledger.load(config.ids, lambda: ledger.stored(store))
        inputs = incremental.fingerprint(config, found, store.entries_generation())
        report = None
        if incremental.unchanged(
            record,
            incremental.with_ledger(inputs, book.text),
            now,
            config.output.dir,
            config.output.served,
        ):
            assert record is not None
            cached = cached_report(record, sources)
            log.debug("nothing changed since the last build: nothing read, nothing written")
            if cached is not None:
                report = replace(cached, failing=failing)
        if report is None:
            from .stages import Job, build

            job = Job(
                config,
                store,
                workers,
                now,
                found,
                inputs,
                record,
                sources,
                book,
                allow_id_changes=allow_id_changes,
                network=not offline,
                progress=progress,
            )
            report = replace(build(job), failing=failing)
        if config.websub.hub and not offline:
            report = ping(config, store, report, now)
        return report


def ping(config: Config, store: Store, report: BuildReport, now: datetime) -> BuildReport:
    """Send every pending WebSub ping (this build's and those that failed before)."""
    pending = store.pending_pings()
    if any(p.hub not in config.websub.hub for p in pending):
        store.forget_hubs(config.websub.hub)  # hubs taken out of the config
    if not any(p.hub in config.websub.hub for p in pending):
        return report
    import asyncio

    from .websub import send_due

    return replace(report, pings=asyncio.run(send_due(config, store, now, every=True)))


def phase(report: Report, name: str) -> Progress:
    """``report`` for one phase (fetching, reading): the progress callback a stage takes."""
    return lambda done, total: report(name, done, total)


def fetch_first(config: Config) -> bool:
    """Whether a daemon starting should refresh before it publishes: the output
    was published before and the state has never fetched some configured feeds
    (a new or deleted state). Published first, their entries would
    leave the feeds, and the hubs be told so, until the refresh ends."""
    if not config.feed_sources or not (config.output.dir / MANIFEST_NAME).exists():
        return False
    from . import store as state_store

    if not state_store.exists(config.state):
        return True
    with state_store.open(config.state) as store:
        states = store.source_states()
    return any(s.key not in states for s in config.feed_sources)


def _never_fetched(config: Config, store: Store) -> list[SourceResult]:
    """Offline: the configured feeds the state knows nothing of (a new or a
    deleted state), each a warning: their entries are not published (their
    categories leave the output) until a build fetches them."""
    states = store.source_states()
    missing = [s for s in config.feed_sources if s.key not in states]
    if not missing:
        return []  # (nearly always: and update.py, with the parsers, is not imported)
    from .update import SourceResult

    return [
        SourceResult(
            s.key,
            s.url,
            "skipped",
            note="never fetched into this state (a new or deleted state?): published"
            f" without its entries; {BUILD_FETCHES}",
        )
        for s in missing
    ]


def _failing(config: Config, store: Store) -> tuple[str, ...]:
    """The configured remote sources whose last fetch failed (backing off, gone)."""
    if not config.feed_sources:
        return ()
    states = store.source_states()
    return tuple(
        s.key for s in config.feed_sources if (st := states.get(s.key)) and st.error_count > 0
    )


def find_posts(config: Config) -> dict[str, posts.Found]:
    """Every posts folder's files. A folder that is gone (renamed, a deploy
    under way) is a ConfigError, as at load: it must never publish feeds
    emptied of its posts."""
    found = {}
    for n, source in enumerate(config.sources):
        if isinstance(source, PostsSource):
            seen = found[str(source.path)] = posts.find(source.path)
            if not seen.files and not source.path.is_dir():
                raise ConfigError(
                    f"no such folder: {source.path}",
                    key=f"sources[{n}].posts",
                    path=str(config.path),
                )
    return found


def _own_pool() -> Pool:
    return Pool(timeout=WORK_TIMEOUT, nice=WORKER_NICENESS)


__all__ = [
    "BuildReport",
    "FeedSummary",
    "PublishSummary",
    "dedupe",
    "find_posts",
    "mend_dates",
    "noted",
    "phase",
    "refresh",
    "remote_entries",
    "run_once",
]
