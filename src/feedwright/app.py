"""``run_once``: one whole build, the thing `build` and the daemon both call.

The sequence::

    lock output.dir                  (LockError: another writer is busy)
    refresh due remote feeds         -> saved in the store (skipped with --offline)
    stat every post file             nothing changed since the last build (posts,
                                     config, remote entries, output files, no
                                     scheduled post due)? -> done, nothing read
    read the posts                   unchanged files come from the store's post
                                     cache; the rest are read (in parallel when many)
    gather: posts due by `now` + stored remote entries, one per id
    publish                          feeds whose inputs are unchanged are not even
                                     serialised; only changed bytes are written

``now`` is passed in (the CLI and daemon read the clock; nothing below does).
Heavy modules (httpx, feedparser, lxml, the Markdown renderer) are imported
only when a build needs them, so a build with nothing to do stays near the
cost of stat-ing the posts.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from . import build_id, forking
from .config import Config, PostsSource
from .exceptions import PostError, SourceError
from .lock import output_lock
from .model import Entry, newest_first
from .quick import Snapshot, outputs_intact, quick_record
from .quick import fingerprint as build_fingerprint
from .sources.files import snapshot as stat_posts
from .statedb import BUILD_KEY
from .store import CachedPost, Store

if TYPE_CHECKING:
    from .publish import FeedPlan, FileStamp
    from .sources.posts import PostRecord, PostsResult
    from .update import Progress, SourceResult

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class PublishSummary:
    """What a publish did; the fields of ``publish.PublishReport`` a caller reads."""

    written: list[str]
    unchanged: list[str]
    removed: list[str]
    stripped_chars: int
    feeds: list[FeedPlan]
    categories: int


@dataclass(frozen=True, slots=True)
class BuildReport:
    posts: int  # local posts published (due by now)
    remote: int  # remote entries considered
    held: int  # future-dated posts held back
    skipped: int  # drafts and unpublished posts
    publish: PublishSummary
    sources: list[SourceResult] = field(default_factory=list)
    post_errors: list[PostError] = field(default_factory=list)
    next_post_at: datetime | None = None  # when the earliest held-back post is due
    cached: bool = False  # nothing had changed: no post was read, no feed rendered

    @property
    def source_errors(self) -> list[SourceError]:
        return [r.error for r in self.sources if r.error is not None]

    @property
    def problems(self) -> list[str]:
        return [str(e) for e in self.post_errors] + [str(e) for e in self.source_errors]

    @property
    def categories(self) -> int:
        return self.publish.categories


@dataclass(frozen=True, slots=True)
class Posts:
    entries: list[Entry]
    errors: list[PostError]
    skipped: int
    files: dict[str, tuple[PostsSource, str]] = field(default_factory=dict)  # id -> (source, rel)
    stripped: int = 0  # XML-illegal characters removed from the posts' text


def _cache_root(config: Config, source: PostsSource) -> str:
    """The post cache's key: everything that changes how a file becomes an entry."""
    settings = repr((build_id(), config.site, source))
    return f"{source.path}|{hashlib.sha256(settings.encode()).hexdigest()[:16]}"


def read_all_posts(
    config: Config,
    store: Store | None = None,
    snap: dict[tuple[str, str], tuple[int, int]] | None = None,
) -> Posts:
    """Every posts folder, reusing the store's post cache for unchanged files.

    Cached entries come without their body text (``Body.text`` None); the
    returned ``Posts.files`` says where each post lives, for ``render_post``.
    ``snap`` (``files.snapshot`` of the posts folders) saves walking them again.
    """
    from .sources.posts import PostRecord, read_posts

    entries: list[Entry] = []
    errors: list[PostError] = []
    files: dict[str, tuple[PostsSource, str]] = {}
    skipped = 0
    stripped = 0
    roots: list[str] = []
    workers = forking.workers()
    for source in config.posts_sources:
        root = _cache_root(config, source)
        roots.append(root)
        previous: dict[str, PostRecord] = {}
        if store is not None:
            previous = {
                rel: PostRecord((size, mtime_ns), entry, error, stripped, packed)
                for rel, size, mtime_ns, error, stripped, entry, packed in store.cached_post_rows(
                    root, bodies=False
                )
            }
        stamps = None
        if snap is not None:
            base = str(source.path)
            stamps = {rel: st for (r, rel), st in snap.items() if r == base}
        result = read_posts(
            source,
            config.site,
            previous=previous,
            workers=workers,
            stamps=stamps,
            keep_text=store is None,
        )
        if store is not None:
            _save_cache(store, root, previous, result)
        for entry in result.entries:
            # One post per id, the first read (folder order, then path order),
            # as posts.py documents; a later one would be published with the
            # first one's body, which is what render_post reads back.
            if entry.id not in files:
                files[entry.id] = (source, entry.origin)
                entries.append(entry)
        errors.extend(result.errors)
        skipped += result.skipped
        stripped += result.stripped
    if store is not None:
        store.forget_post_caches(roots)
    return Posts(entries, errors, skipped, files, stripped)


def render_post(entry: Entry, posts: Posts, config: Config) -> Entry:
    """Render an entry for publishing, reading its body again if the cache left
    it out (the file is unchanged: its stamp matched)."""
    from .normalize import render

    body = entry.body
    if body is not None and body.text is None:
        from .sources.posts import read_body

        source, rel = posts.files[entry.id]
        try:
            text = read_body(source.path / rel)
        except PostError:
            text = ""
        return render(entry, text=text)
    return render(entry)


def _save_cache(
    store: Store, root: str, previous: dict[str, PostRecord], result: PostsResult
) -> None:
    # The entries come without body text (read_posts(keep_text=False)): bodies are
    # most of the cache's bytes, and render_post reads the few that reach a feed.
    changed = {
        rel: CachedPost(r.stamp[0], r.stamp[1], r.entry, r.error, r.stripped, r.packed)
        for rel, r in result.records.items()
        if previous.get(rel) is not r
    }
    removed = [rel for rel in previous if rel not in result.records]
    if changed or removed:
        store.update_posts(root, changed, removed)


_GLOBAL_ID = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S{2,}$")


def scope_id(entry: Entry) -> Entry:
    """A remote entry whose id is not a global URI (``<guid>1</guid>``) is only
    unique inside its own feed: two blogs may both say ``1``. Such ids are
    published scoped by the subscription, as a stable name-based UUID URN."""
    if _GLOBAL_ID.match(entry.id):
        return entry
    import uuid  # here: with platform, ~8 ms of every build's start

    scoped = uuid.uuid5(uuid.NAMESPACE_URL, f"{entry.origin}\x00{entry.id}")
    return replace(entry, id=f"urn:uuid:{scoped}")


def remote_entries(config: Config, store: Store) -> list[Entry]:
    """Stored remote entries, ids scoped, the copy seen first (then the one whose
    subscription comes first in the config) ahead of later duplicates."""
    order = {s.key: i for i, s in enumerate(config.feed_sources)}
    stored = store.entries_with_first_seen(list(order))
    stored.sort(key=lambda pair: (pair[1], order.get(pair[0].origin, 0)))
    return [scope_id(entry) for entry, _ in stored]


def dedupe(entries: Iterable[Entry]) -> list[Entry]:
    """One entry per id: the first one wins (callers order posts before remote
    entries). An entry reached through several subscriptions is published once,
    in the categories all of them give it."""
    kept: dict[str, Entry] = {}
    for entry in entries:
        first = kept.get(entry.id)
        if first is None:
            kept[entry.id] = entry
        elif first.source is not None and entry.source is not None:
            extra = tuple(c for c in entry.categories if c not in first.categories)
            if extra:
                kept[entry.id] = replace(first, categories=first.categories + extra)
    return list(kept.values())


def _config_bytes(config: Config) -> bytes:
    try:
        return config.path.read_bytes()
    except OSError:
        return repr(config).encode()


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _load_previous(store: Store) -> dict[str, Any] | None:
    raw = store.get_meta(BUILD_KEY)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("version") != build_id():
            return None
        # Read whole once here, so a damaged record (it is only a cache of the
        # last build) means a full build rather than a crash halfway.
        _cached_report(data, [])
        _stamps(data)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return data


def _stamps(previous: dict[str, Any] | None) -> dict[str, FileStamp]:
    from .publish import FileStamp

    if previous is None:
        return {}
    return {rel: FileStamp(*v) for rel, v in previous.get("stamps", {}).items()}


def _before_next_post(previous: dict[str, Any], now: datetime) -> bool:
    next_post = previous["summary"].get("next_post_at")
    return next_post is None or now < datetime.fromisoformat(next_post)


def _cached_report(previous: dict[str, Any], sources: list[SourceResult]) -> BuildReport:
    summary = previous["summary"]
    next_post = summary.get("next_post_at")
    return BuildReport(
        posts=summary["posts"],
        remote=summary["remote"],
        held=summary["held"],
        skipped=summary["skipped"],
        publish=PublishSummary(
            written=[],
            unchanged=sorted(previous["stamps"]),
            removed=[],
            stripped_chars=summary.get("stripped_chars", 0),
            feeds=[],
            categories=summary["categories"],
        ),
        sources=sources,
        post_errors=[PostError(m, path=p) for p, m in summary["post_errors"]],
        next_post_at=datetime.fromisoformat(next_post) if next_post else None,
        cached=True,
    )


@contextmanager
def _frozen(load: Callable[[], _T]) -> Iterator[_T]:
    """``load()``'s objects, kept from the cyclic collector until the block ends.

    They live until the build ends anyway. The collector is off while they
    load (tens of thousands of acyclic objects, which it would rescan as they
    grow), and they are frozen before it is back on: re-enabled first, it ran
    a full collection of them at once (~30 ms of an edit build). Frozen, forked
    workers also do not copy their pages by touching them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        value = load()
        gc.freeze()  # (also resets the young generation's count)
    finally:
        if enabled:
            gc.enable()
    try:
        yield value
    finally:
        gc.unfreeze()  # a daemon's next rounds may drop these objects


def run_once(
    config: Config,
    *,
    now: datetime,
    offline: bool = False,
    daemon: bool = False,
    lock_wait: float = 0.0,
    locked: bool = False,
    progress: Progress | None = None,
    snapshot: Snapshot | None = None,
) -> BuildReport:
    """Refresh, read, publish; problems come back in the report, not as exceptions.

    ``locked=True`` means the caller (the daemon) already holds the output lock.
    ``snapshot`` (from ``quick.cached_build``, a moment ago) stands for stating
    the posts folders again, if it is of the same folders.
    """
    with (
        nullcontext() if locked else output_lock(config.output.dir, wait=lock_wait),
        Store.open(config.state) as store,
    ):
        # If this build dies after saving new remote entries but before
        # publishing them, the next one will not take the shortcut: saving
        # moves the store's entries generation, which is in the fingerprint.
        previous = _load_previous(store)

        sources: list[SourceResult] = []
        if config.feed_sources and not offline:
            import asyncio

            from .update import refresh

            sources = asyncio.run(refresh(config, store, now=now, daemon=daemon, progress=progress))

        roots = [str(s.path) for s in config.posts_sources]
        snap = snapshot[1] if snapshot is not None and snapshot[0] == roots else stat_posts(roots)
        config_bytes = _config_bytes(config)
        fingerprint = build_fingerprint(store.entries_generation(), config_bytes, snap)
        if (
            previous is not None
            and previous.get("fingerprint") == fingerprint
            and _before_next_post(previous, now)
            and outputs_intact(str(config.output.dir), previous.get("stamps", {}))
        ):
            return _cached_report(previous, sources)

        with _frozen(lambda: read_all_posts(config, store, snap)) as posts:
            due_posts = [e for e in posts.entries if e.published <= now]
            future = [e.published for e in posts.entries if e.published > now]
            remote = remote_entries(config, store) if config.feed_sources else []

            from .publish import publish

            entries = dedupe([*newest_first(due_posts), *remote])
            report = publish(
                entries,
                config,
                render=lambda e: render_post(e, posts, config),
                previous=_stamps(previous),
            )
            summary = PublishSummary(
                written=report.written,
                unchanged=report.unchanged,
                removed=report.removed,
                stripped_chars=report.stripped_chars + posts.stripped,
                feeds=report.feeds,
                categories=sum(1 for f in report.feeds if f.category is not None),
            )
            build = BuildReport(
                posts=len(due_posts),
                remote=len(remote),
                held=len(future),
                skipped=posts.skipped,
                publish=summary,
                sources=sources,
                post_errors=posts.errors,
                next_post_at=min(future) if future else None,
            )
            record = {
                "version": build_id(),
                "fingerprint": fingerprint,
                "stamps": {
                    rel: [s.key, s.size, s.mtime_ns] for rel, s in sorted(report.stamps.items())
                },
                "quick": quick_record(config, config_bytes, build.next_post_at),
                "summary": {
                    "posts": build.posts,
                    "remote": build.remote,
                    "held": build.held,
                    "skipped": build.skipped,
                    "categories": build.categories,
                    "stripped_chars": summary.stripped_chars,
                    "next_post_at": _dt(build.next_post_at),
                    "post_errors": [[e.path, e.message] for e in build.post_errors],
                },
            }
            store.set_meta(BUILD_KEY, json.dumps(record, ensure_ascii=False))
            return build
