"""``run_once``: one whole build, the thing `build` and the daemon both call.

The sequence::

    lock output.dir                  (LockError: another writer is busy)
    read every posts folder          -> entries + one PostError per bad post
    refresh due remote feeds         -> saved in the store (skipped with --offline)
    gather: posts due by `now` + stored remote entries, one per id
    publish                          -> only files whose bytes changed are written

``now`` is passed in (the CLI and daemon read the clock; nothing below does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from .config import Config
from .exceptions import PostError, SourceError
from .lock import output_lock
from .model import Entry
from .publish import PublishReport, publish
from .sources.posts import read_posts
from .store import Store
from .update import Progress, SourceResult, refresh


@dataclass(frozen=True, slots=True)
class BuildReport:
    posts: int  # local posts published (due by now)
    remote: int  # remote entries considered
    held: int  # future-dated posts held back
    skipped: int  # drafts and unpublished posts
    publish: PublishReport
    sources: list[SourceResult] = field(default_factory=list)
    post_errors: list[PostError] = field(default_factory=list)
    next_post_at: datetime | None = None  # when the earliest held-back post is due

    @property
    def source_errors(self) -> list[SourceError]:
        return [r.error for r in self.sources if r.error is not None]

    @property
    def problems(self) -> list[str]:
        return [str(e) for e in self.post_errors] + [str(e) for e in self.source_errors]

    @property
    def categories(self) -> int:
        return sum(1 for f in self.publish.feeds if f.category is not None)


@dataclass(frozen=True, slots=True)
class Posts:
    entries: list[Entry]
    errors: list[PostError]
    skipped: int


def read_all_posts(config: Config) -> Posts:
    entries: list[Entry] = []
    errors: list[PostError] = []
    skipped = 0
    for source in config.posts_sources:
        result = read_posts(source, config.site)
        entries.extend(result.entries)
        errors.extend(result.errors)
        skipped += result.skipped
    return Posts(entries, errors, skipped)


def dedupe(entries: Iterable[Entry]) -> list[Entry]:
    """One entry per id: the first one wins (callers order posts before remote entries)."""
    seen: set[str] = set()
    out: list[Entry] = []
    for entry in entries:
        if entry.id not in seen:
            seen.add(entry.id)
            out.append(entry)
    return out


def run_once(
    config: Config,
    *,
    now: datetime,
    offline: bool = False,
    daemon: bool = False,
    lock_wait: float = 0.0,
    locked: bool = False,
    progress: Progress | None = None,
) -> BuildReport:
    """Refresh, read, publish; problems come back in the report, not as exceptions.

    ``locked=True`` means the caller (the daemon) already holds the output lock.
    """
    with nullcontext() if locked else output_lock(config.output.dir, wait=lock_wait):
        posts = read_all_posts(config)
        due_posts = [e for e in posts.entries if e.published <= now]
        future = [e.published for e in posts.entries if e.published > now]

        sources: list[SourceResult] = []
        remote: list[Entry] = []
        if config.feed_sources or _has_state(config):
            with Store.open(config.state) as store:
                if config.feed_sources and not offline:
                    sources = asyncio.run(
                        refresh(config, store, now=now, daemon=daemon, progress=progress)
                    )
                keys = [s.key for s in config.feed_sources]
                remote = store.entries(keys) if keys else []

        entries = dedupe([*sorted(due_posts, key=Entry.sort_key), *remote])
        report = publish(entries, config)
        return BuildReport(
            posts=len(due_posts),
            remote=len(remote),
            held=len(future),
            skipped=posts.skipped,
            publish=report,
            sources=sources,
            post_errors=posts.errors,
            next_post_at=min(future) if future else None,
        )


def _has_state(config: Config) -> bool:
    return config.state.exists()
