"""One build, the thing ``feedwright build``, the daemon and ``feedwright.build`` run.

The sequence::

    lock output.dir                   (LockError: another writer is busy)
    refresh due remote feeds          -> saved in the store (skipped offline)
    find the post files               the no-change check (incremental.unchanged):
                                      nothing changed since the last build -> done
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
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from . import incremental, ledger, posts
from .config import Config, PostsSource
from .exceptions import ConfigError, PostError
from .incremental import Record
from .lock import output_lock
from .model import Entry, Head, P, newest_first
from .parallel import Pool
from .publish.write import sweep_temp_files
from .report import BuildReport, FeedSummary, PublishSummary, cached_report, summary
from .store import Store

if TYPE_CHECKING:
    from .media import Settled
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
    published scoped by the subscription, as a stable name-based UUID URN."""
    if _GLOBAL_ID.match(entry.id):
        return entry
    import uuid

    scoped = uuid.uuid5(uuid.NAMESPACE_URL, f"{entry.origin}\x00{entry.id}")
    return replace(entry, id=f"urn:uuid:{scoped}")


def remote_entries(config: Config, store: Store) -> list[tuple[Entry, str]]:
    """Stored remote entries with their content hashes, ids scoped, the copy
    seen first (then the one whose subscription comes first in the config)
    ahead of later duplicates."""
    order = {s.key: i for i, s in enumerate(config.feed_sources)}
    stored = store.entries(list(order))
    stored.sort(key=lambda s: (s.first_seen, order.get(s.entry.origin, 0)))
    filtering = {s.key: s.filters for s in config.feed_sources if s.filters}
    if filtering:  # a source's filters decide which of its stored entries are published
        from .filters import keep

        stored = [
            s for s in stored if (f := filtering.get(s.entry.origin)) is None or keep(s.entry, f)
        ]
    return [(scope_id(s.entry), s.content_hash) for s in stored]


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
    """
    with (
        nullcontext() if locked else output_lock(config.output.dir, wait=lock_wait),
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
                progress=None if progress is None else _phase(progress, "fetching"),
                only=refresh_only,
            )
        failing = _failing(config, store)
        found = find_posts(config)
        record = incremental.load_record(store)
        book = ledger.load(config.ids, lambda: ledger.stored(store))
        inputs = incremental.fingerprint(config, found, store.entries_generation())
        report = None
        if incremental.unchanged(
            record, incremental.with_ledger(inputs, book.text), now, config.output.dir
        ):
            assert record is not None
            cached = cached_report(record, sources)
            log.debug("nothing changed since the last build: nothing read, nothing written")
            if cached is not None:
                report = replace(cached, failing=failing)
        if report is None:
            built = _build(
                config,
                store,
                workers,
                now,
                found,
                inputs,
                record,
                sources,
                book,
                allow_id_changes,
                not offline,
                progress,
            )
            report = replace(built, failing=failing)
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


def _phase(report: Report, phase: str) -> Progress:
    return lambda done, total: report(phase, done, total)


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


def _build(
    config: Config,
    store: Store,
    pool: Pool,
    now: datetime,
    found: dict[str, posts.Found],
    fingerprint: str,
    record: Record | None,
    sources: list[SourceResult],
    book: ledger.Ledger,
    allow_id_changes: bool = False,
    network: bool = True,
    progress: Report | None = None,
) -> BuildReport:
    from .publish.archives import feed_of
    from .publish.history import follow
    from .publish.plan import FeedOf, plan
    from .publish.publisher import feed_files, publish, up_to_date

    read = incremental.read_posts(
        config, store, found, pool, None if progress is None else _phase(progress, "reading"), book
    )
    resolved = read.resolved or ledger.Resolved()
    due = [h for h in read.heads if h.published <= now]
    future = [h.published for h in read.heads if h.published > now]
    stored = remote_entries(config, store) if config.feed_sources else []
    remote = [entry for entry, _ in stored]
    # Posts are planned by their heads; only those that reach a feed become
    # entries (and are rendered).
    planned: list[Head | Entry] = dedupe([*newest_first(due), *remote])
    won: dict[str, Any] = {}  # posts that are the best copy of something remote
    if remote:
        from .bestcopy import choose

        planned, won = choose(
            planned, config, lambda i: read.where[i][0] if i in read.where else None
        )
    # The hashes known already: a stored entry's (unless dedupe merged another
    # subscription's categories into it: then it is new), a post's (unless
    # it won over a remote copy, or its audio's length settled since).
    kept = {id(entry) for entry in planned}
    known = {entry.id: digest for entry, digest in stored if id(entry) in kept}
    unknown: set[str] = set(won)

    # Only the feeds whose files are not up to date are made again, and only
    # their posts rendered. Posts that cannot be rendered, or episodes whose
    # audio has no length yet, are never published empty: left out (and
    # reported) until they can be. Planning again may bring another post into
    # a feed: it is rendered then.
    rendered: dict[str, Entry] = {}
    failed: dict[str, PostError] = {}
    fresh: incremental.Fresh = {}
    wanted: set[str] = set()  # remote audio whose length is still unknown
    held = False  # an episode left out for want of its audio's length
    # Archiving plans every entry of each feed (history.follow splits them).
    archiving = config.output.archives and config.output.limit > 0
    planning = replace(config.output, limit=0) if archiving else config.output
    previous = {} if record is None else record.stamps
    while True:
        plans = plan(planned, planning, config.site)
        followed = follow(plans, planned, store.feed_history, config.output, now)
        every = [*followed.current, *followed.archives]
        # The hashes known already (the publisher makes the rest, of entries).
        hashes = {}
        for p in every:
            for entry in p.entries:
                if entry.id in known:
                    hashes[entry.id] = known[entry.id]
                elif entry.id not in unknown and (digest := read.hash_of(entry.id)) is not None:
                    hashes[entry.id] = digest
        current = up_to_date(followed.current, followed.archives, config, previous, hashes)
        stale = {id(p) for p in every if not current.issuperset(feed_files(config.output, p))}
        reaching = {e.id for p in every if id(p) in stale for e in p.entries} - rendered.keys()
        more, bad, new = incremental.render_posts(reaching, read, store, pool, config)
        if config.podcast is not None or any(e.episode for e in more.values()):
            settled = _settle(more, read, config, store, now, network)
            more, wanted = settled.entries, wanted | settled.wanted
            bad.update(settled.problems)
            held = held or bool(settled.problems)
            unknown.update(settled.changed)  # its hash was of the post as read
        rendered.update(more)
        failed.update(bad)
        for root, done in new.items():
            fresh.setdefault(root, {}).update(done)
        if bad:
            planned = [e for e in planned if e.id not in bad]
        elif not any(e.id in unknown for p in every if id(p) not in stale for e in p.entries):
            break  # (else a feed found up to date holds an entry whose hash changed)
    if wanted or store.wanted_lengths():
        store.forget_wanted_lengths(wanted)
    full: dict[str, Entry] = {e.id: e for e in planned if isinstance(e, Entry)}
    full.update(rendered)
    for id_, (categories, alternates) in won.items():
        if id_ in full:
            full[id_] = replace(full[id_], categories=categories, alternates=alternates)

    if not allow_id_changes:
        from .changes import gate

        gate(plans, resolved.changed, config)
    if progress is not None:
        progress("publishing", 0, len(plans))

    def made(p: FeedOf[Head | Entry]) -> FeedOf[Head | Entry]:
        if id(p) not in stale:
            return p  # up to date: planned on heads, never serialised
        return replace(p, entries=tuple(full[e.id] for e in p.entries))

    report = publish(
        [],
        config,
        previous=previous,
        plans=[made(p) for p in followed.current],
        hashes=hashes,
        pool=pool,
        archives=[made(p) for p in followed.archives],
        fresh=current,
    )
    # A feed whose file the gate refused still shows what it showed before.
    refused = {feed_of(v.path) for v in report.rejected}
    store.save_feed_history({k: h for k, h in followed.changes.items() if k not in refused})
    if progress is not None:
        progress("publishing", len(plans), len(plans))
    incremental.save_rendered(store, fresh)  # once published: a cache of what is out there
    # The ledger as this build leaves it is an input of the next one.
    left = ledger.keep(book, resolved, store)
    incremental.keep_resolution(store, read, book, left)
    fingerprint = incremental.with_ledger(fingerprint, left)
    for rel in report.written:
        log.debug("wrote %s", config.output.dir / rel)
    for rel in report.removed:
        log.debug("removed %s", config.output.dir / rel)
    log.debug("%d files unchanged (not rewritten)", len(report.unchanged))
    post_errors = [*read.problems, *failed.values()]
    published = PublishSummary(
        written=report.written,
        unchanged=report.unchanged,
        removed=report.removed,
        stripped_chars=report.stripped_chars + read.stripped,
        categories=sum(1 for f in report.feeds if f.category is not None),
        rejected=[
            f"{config.output.dir / v.path}: not published, {v.rule}: {v.message}"
            for v in report.rejected
        ],
        feeds=[
            FeedSummary(f.slug, f.category, f.title, tuple(e.id for e in f.entries), f.updated)
            for f in report.feeds
        ],
    )
    build = BuildReport(
        posts=sum(1 for e in planned if e.source is None),
        remote=len(remote),
        held=len(future),
        skipped=read.drafts,
        publish=published,
        sources=sources,
        post_errors=post_errors,
        next_post_at=min(future) if future else None,
        # Damaged lines are said on every build until the file is fixed.
        ids=(*book.problems, *resolved.notes),
        id_changes=dict(resolved.changed),
    )
    if config.websub.hub and report.written:
        from .websub import queue

        queue(store, config, report.written, now)
    if report.written or report.removed:
        from .store import BuildLog

        # What it changed, for the daemon's /status page (the newest few are kept).
        store.log_build(
            BuildLog(
                now,
                {
                    **summary(build),
                    "post_errors": len(build.post_errors),
                    "written": report.written,
                    "removed": report.removed,
                },
            )
        )
    stamps = report.stamps
    incremental.save_record(
        store,
        Record(
            # An episode held back for its length, a file the gate refused:
            # the next build tries again.
            fingerprint="" if held or report.rejected else fingerprint,
            stamps=stamps,
            summary={**summary(build), "ledger_problems": book.problems},
            # A tombstone that expires is a change too.
            next_post_at=min(
                (t for t in (build.next_post_at, followed.due) if t is not None), default=None
            ),
        ),
    )
    return build


def _settle(
    entries: dict[str, Entry],
    read: incremental.PostsRead,
    config: Config,
    store: Store,
    now: datetime,
    network: bool,
) -> Settled:
    """Episodes' audio lengths (media.py)."""
    from . import media

    def path_of(entry: Entry) -> str:
        source, rel = read.where[entry.id]
        return str(source.path / rel)

    return media.settle(entries.values(), config, store, now, network=network, path_of=path_of)


__all__ = [
    "BuildReport",
    "FeedSummary",
    "PublishSummary",
    "dedupe",
    "find_posts",
    "refresh",
    "remote_entries",
    "run_once",
]
