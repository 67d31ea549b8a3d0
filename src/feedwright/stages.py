"""One build's stages after the no-change check (pipeline.py runs them):
read the posts, gather, plan, render, settle episodes, follow, publish,
record. :func:`build` takes the short way after posts were only edited in
place (incremental/edits.py) when it holds, else the whole way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from . import incremental, ledger, posts
from .config import Config
from .exceptions import PostError
from .incremental import Record
from .model import Entry, Head, gone, newest_first
from .parallel import Pool
from .pipeline import dedupe, noted, phase, remote_entries
from .report import BuildReport, FeedSummary, PublishSummary, summary
from .store import Store

if TYPE_CHECKING:
    from .media import Settled
    from .progress import Report
    from .publish.plan import FeedOf
    from .publish.publisher import PublishReport
    from .publish.write import FileStamp
    from .store import FeedHistory
    from .update import SourceResult

log = logging.getLogger("feedwright.build")


class Job(NamedTuple):
    """What a build that has work starts from (pipeline.run_once gathers it)."""

    config: Config
    store: Store
    pool: Pool
    now: datetime
    found: dict[str, posts.Found]
    fingerprint: str  # incremental.fingerprint of this build's inputs
    record: Record | None
    sources: list[SourceResult]
    book: ledger.Ledger
    allow_id_changes: bool = False
    network: bool = True
    progress: Report | None = None


def build(job: Job) -> BuildReport:
    """A build that has work: the short way when only posts were edited in
    place (:func:`_edits`), else the whole way (:func:`_whole`)."""
    short = _edits(job)
    return short if short is not None else _whole(job)


def _whole(job: Job) -> BuildReport:
    config, store, pool, now = job.config, job.store, job.pool, job.now
    record, progress = job.record, job.progress
    from .publish.history import follow
    from .publish.plan import plan
    from .publish.publisher import publish
    from .publish.slugs import FOLDERS_KEY, held_folders

    read = incremental.read_posts(
        config,
        store,
        job.found,
        pool,
        None if progress is None else phase(progress, "reading"),
        job.book,
        now,
    )
    resolved = read.resolved or ledger.Resolved()
    # A post dated later is held back until then; one past its end (expiryDate)
    # is in no feed, and leaves those it was in as a deleted post does.
    live = [h for h in read.heads if not gone(h, now)]
    due = [h for h in live if h.published <= now]
    future = [h.published for h in live if h.published > now]
    ends = [h.expires for h in live if h.expires is not None]
    mended: dict[str, str] = {}  # source key -> what mending its stored dates did
    stored = remote_entries(config, store, now, mended) if config.feed_sources else []
    job = job._replace(sources=noted(job.sources, mended))
    remote = [entry for entry, _ in stored]
    # Posts are planned by their heads; only those that reach a feed become
    # entries (and are rendered).
    planned: list[Head | Entry] = dedupe([*newest_first(due), *remote])
    won: dict[str, Any] = {}  # posts that are the best copy of something remote
    if remote:
        planned, won = _best_copies(planned, config, store, read.where)
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
    # Episodes' local audio files with their stamps (size, mtime_ns): part of
    # their posts' hashes, so a file replaced under its name makes its feeds again.
    audio: dict[str, tuple[int, int]] = {}
    post_hash = _post_hash(read, config, record, audio)
    # Archiving plans every entry of each feed (history.follow splits them).
    archiving = config.output.archives and config.output.limit > 0
    planning = replace(config.output, limit=0) if archiving else config.output
    previous = {} if record is None else record.stamps
    # The category folders published before, and for which category.
    folders = held_folders(store.get_meta(FOLDERS_KEY), config.output)
    while True:
        plans = plan(planned, planning, config.site, folders)
        followed = follow(plans, planned, store.feed_history, config.output, now)
        every = [*followed.current, *followed.archives]
        # The hashes known already (the publisher makes the rest, of entries).
        hashes = {}
        for p in every:
            for entry in p.entries:
                if entry.id in known:
                    hashes[entry.id] = known[entry.id]
                elif entry.id not in unknown and (digest := post_hash(entry.id)) is not None:
                    hashes[entry.id] = digest
        current, stale = _stale(followed.current, followed.archives, config, previous, hashes)
        reaching = {e.id for p in every if id(p) in stale for e in p.entries} - rendered.keys()
        more, bad, new = incremental.render_posts(reaching, read, store, pool, config)
        if config.podcast is not None or any(e.episode for e in more.values()):
            settled = _settle(more, read, config, store, now, job.network)
            more, wanted = settled.entries, wanted | settled.wanted
            audio.update(settled.files)
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

    if record is None and not job.book.source.strip():
        from .changes import guessed  # no state and no ledger: the files are the memory

        every_post = {h.id for h in read.heads}
        resolved.changed = {**guessed(plans, every_post, config), **resolved.changed}
    if not job.allow_id_changes:
        from .changes import gate

        gate(plans, resolved.changed, config)
    if progress is not None:
        progress("publishing", 0, len(plans))

    report = publish(
        [],
        config,
        previous=previous,
        plans=[_made(p, stale, full) for p in followed.current],
        hashes=hashes,
        pool=pool,
        archives=[_made(p, stale, full) for p in followed.archives],
        fresh=current,
    )
    return _finish(
        job,
        report,
        read,
        feeds=followed.current,
        history=followed.changes,
        rendered=fresh,
        failed=failed,
        counts=(
            sum(1 for e in planned if e.source is None),
            len(future),
            min([*future, *ends], default=None),
        ),
        remote=len(remote),
        held=held,
        due=followed.due,
        audio=audio,
        folders=folders,
    )


def _post_hash(
    read: incremental.PostsRead,
    config: Config,
    record: Record | None,
    audio: dict[str, tuple[int, int]],
) -> Callable[[str], str | None]:
    """``read.hash_of``, with the stamp of an episode's local audio file in it
    (kept in ``audio``), on a site that has a podcast or had local audio."""
    if config.podcast is None and not (record is not None and record.media):
        # A first episode is a new post, so its feeds are made; the record
        # keeps its file as settling measured it.
        return read.hash_of
    from .media import audio_stamp, local_audio

    made: dict[str, str | None] = {}

    def hash_of(entry_id: str) -> str | None:
        if entry_id in made:
            return made[entry_id]
        digest = read.hash_of(entry_id)
        file = None if digest is None else local_audio(read.values_of(entry_id))
        if file is not None:
            stamp = audio_stamp(config, file)
            if stamp is not None:
                audio[file] = stamp
            digest = f"{digest}:{stamp}"
        made[entry_id] = digest
        return digest

    return hash_of


def _best_copies(
    candidates: list[Head | Entry],
    config: Config,
    store: Store,
    where: Mapping[str, tuple[Any, ...]],
) -> tuple[list[Head | Entry], dict[str, Any]]:
    """One copy of each article (bestcopy.choose), remote ones under the id
    their article was first published with (bestcopy.first_ids; the store
    keeps those that differ from the winner's own under ``article-ids``)."""
    import json

    from .bestcopy import ARTICLE_IDS, choose, first_ids

    chosen = choose(candidates, config, lambda i: where[i][0] if i in where else None)
    raw = store.get_meta(ARTICLE_IDS)
    kept = json.loads(raw) if raw else {}

    def shown() -> set[str]:
        return {i for history in store.feed_history().values() for i in history.shown}

    planned, now = first_ids(chosen, kept if isinstance(kept, dict) else {}, shown)
    if now != kept and (now or raw):
        store.set_meta(ARTICLE_IDS, json.dumps(now, sort_keys=True) if now else "")
    return planned, chosen.posts


def _edits(job: Job) -> BuildReport | None:
    """A build after posts were only edited in place (incremental/edits.py):
    the last build's feeds, only those holding an edited post made again.
    None when this build is not one (nothing published: a whole build then)."""
    from .incremental import edits
    from .publish.publisher import publish

    config, store, pool, record = job.config, job.store, job.pool, job.record
    if record is None or not record.fingerprint:
        return None
    taken = edits.take(config, store, job.found, job.book, job.now, record.next_post_at)
    if taken is None:
        return None
    read, feeds = taken.read, taken.feeds
    hashes = {e.id: read.hash_of(e.id) or "" for p in feeds for e in p.entries}
    current, stale = _stale(feeds, [], config, record.stamps, hashes)
    reaching = {e.id for p in feeds if id(p) in stale for e in p.entries}
    rendered, bad, fresh = incremental.render_posts(reaching, read, store, pool, config)
    if bad or any(e.episode is not None for e in rendered.values()):
        return None  # (the post cache holds the edits: the whole build reads none again)
    if job.progress is not None:
        job.progress("publishing", 0, len(feeds))
    report = publish(
        [],
        config,
        previous=record.stamps,
        plans=[_made(p, stale, rendered) for p in feeds],
        hashes=hashes,
        pool=pool,
        fresh=current,
    )
    log.debug("posts edited in place: %d feeds made again", len(stale))
    return _finish(
        job,
        report,
        read,
        feeds=feeds,
        history={},
        rendered=fresh,
        failed={},
        counts=(taken.posts, taken.held, taken.next_post_at),
        remote=0,
        held=False,
        due=record.next_post_at,
    )


def _stale(
    feeds: list[FeedOf[Any]],
    archives: list[FeedOf[Any]],
    config: Config,
    previous: Mapping[str, FileStamp],
    hashes: Mapping[str, str],
) -> tuple[set[str], set[int]]:
    """The files up to date (publisher.up_to_date) and the feeds (by ``id``)
    that are not: only those are made again, and only their posts rendered."""
    from .publish.publisher import feed_files, up_to_date

    current = up_to_date(feeds, archives, config, previous, hashes)
    output = config.output
    every = [*feeds, *archives]
    return current, {id(p) for p in every if not current.issuperset(feed_files(output, p))}


def _made(
    feed: FeedOf[Head | Entry], stale: set[int], entries: Mapping[str, Entry]
) -> FeedOf[Head | Entry]:
    """A feed as publish takes it: of ``entries`` when it is made again, else
    as planned on heads (up to date: never serialised)."""
    if id(feed) not in stale:
        return feed
    from .publish.plan import FeedOf

    made = tuple(entries[e.id] for e in feed.entries)
    return FeedOf(
        feed.slug, feed.category, feed.title, made, feed.updated, feed.chain, feed.tombstones
    )


def _finish(
    job: Job,
    report: PublishReport,
    read: incremental.PostsRead,
    *,
    feeds: list[FeedOf[Any]],
    history: dict[str, FeedHistory | None],
    rendered: incremental.Fresh,
    failed: dict[str, PostError],
    counts: tuple[int, int, datetime | None],
    remote: int,
    held: bool,
    due: datetime | None,
    audio: Mapping[str, tuple[int, int]] | None = None,
    folders: Mapping[str, str] | None = None,
) -> BuildReport:
    """Once published: the feed history, the HTML cache, the id ledger, the
    report, the record (and the lane of edits) for the next build.
    ``counts``: posts published, held back, the next held-back one's date
    (or a post's end, if sooner);
    ``due``: when the first tombstone expires; ``audio``: the episodes'
    local audio files measured (media.Settled.files); ``folders``: the
    category folders' owners the build started with (slugs.held_folders)."""
    from .incremental import edits
    from .publish.archives import feed_of
    from .publish.slugs import FOLDERS_KEY, folders_text, held_folders

    config, store, now, book, progress = job.config, job.store, job.now, job.book, job.progress
    resolved = read.resolved or ledger.Resolved()
    posts_count, held_back, next_post_at = counts
    # A feed whose file the gate refused still shows what it showed before.
    refused = {feed_of(v.path) for v in report.rejected}
    store.save_feed_history({k: h for k, h in history.items() if k not in refused})
    mine = {f.category: f.slug for f in feeds if f.category and f.slug}
    kept = store.get_meta(FOLDERS_KEY)
    memory = folders_text(mine, held_folders(kept, config.output) if folders is None else folders)
    if memory != kept:
        store.set_meta(FOLDERS_KEY, memory)
    if progress is not None:
        progress("publishing", len(feeds), len(feeds))
    incremental.save_rendered(store, rendered)  # once published: a cache of what is out there
    # The ledger as this build leaves it is an input of the next one.
    left = ledger.keep(book, resolved, store)
    incremental.keep_resolution(store, read, book, left)
    fingerprint = incremental.with_ledger(job.fingerprint, left)
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
    # The next timed change: a held-back post due, a post's end, a tombstone that expires.
    next_change = min((t for t in (next_post_at, due) if t is not None), default=None)
    build = BuildReport(
        posts=posts_count,
        remote=remote,
        held=held_back,
        skipped=read.drafts,
        publish=published,
        sources=job.sources,
        post_errors=post_errors,
        next_post_at=next_change,
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
            # (A repeated id's line is gone once the file was written: not said again.)
            summary={
                **summary(build),
                "ledger_problems": book.problems
                if book.frozen
                else [p for p in book.problems if not p.endswith(ledger.DROPPED)],
            },
            next_post_at=next_change,
            media=dict(audio or {}),
        ),
    )
    # (A lane knows nothing of audio files: a site publishing episodes of
    # local audio takes the whole way, which measures them again.)
    if edits.applies(config) and not (held or report.rejected or failed or audio):
        edits.keep(store, config, job.found, read, feeds, counts, left)
    else:
        edits.forget(store)
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

    return media.settle(
        entries.values(), config, store, now, network=network, path_of=lambda e: read.path_of(e.id)
    )


__all__ = ["Job", "build"]
