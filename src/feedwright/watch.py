"""What the daemon watches: the posts folders' files, and when a feed is next due.

Pure functions of their inputs but for :func:`snapshot_posts`, which stats
the posts folders (the files a build would read).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import posts
from .config import FeedSource
from .model import in_years
from .store import SourceState

# A post file: (posts folder, path relative to it) -> (size, mtime_ns).
Snapshot = dict[tuple[str, str], tuple[int, int]]


def snapshot_posts(roots: Iterable[Path]) -> Snapshot:
    """Every post file's stamp under ``roots`` (what a build would read)."""
    snap: Snapshot = {}
    for root in roots:
        for rel, stamp in posts.find(root).files.items():
            snap[(str(root), rel)] = stamp
    return snap


@dataclass(frozen=True, slots=True)
class PostChanges:
    added: tuple[str, ...] = ()
    edited: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.edited or self.deleted)

    def describe(self) -> str:
        return f"{len(self.added)} new, {len(self.edited)} edited, {len(self.deleted)} deleted"


def diff_snapshots(old: Snapshot, new: Snapshot) -> PostChanges:
    """What happened between two snapshots, as sorted relative paths."""

    def names(keys: Iterable[tuple[str, str]]) -> tuple[str, ...]:
        return tuple(sorted(rel for _, rel in keys))

    return PostChanges(
        added=names(new.keys() - old.keys()),
        edited=names(k for k in new.keys() & old.keys() if new[k] != old[k]),
        deleted=names(old.keys() - new.keys()),
    )


def earliest_due(
    states: Mapping[str, SourceState], sources: Iterable[FeedSource]
) -> datetime | None:
    """When the first of ``sources`` becomes due (``update.is_due`` with ``daemon=True``).

    None when one is due at once (never fetched, or no next check recorded);
    ``datetime.max`` when every source is gone.
    """
    earliest = datetime.max.replace(tzinfo=UTC)
    for source in sources:
        state = states.get(source.key)
        if state is None or state.next_check is None:
            if state is None or state.status != "gone":
                return None
            continue
        if state.status == "gone":
            continue
        due = max(state.next_check, state.retry_after or state.next_check)
        if not in_years(due):
            return None  # set under a wrong clock: due now (update.is_due)
        earliest = min(earliest, due)
    return earliest


__all__ = ["PostChanges", "Snapshot", "diff_snapshots", "earliest_due", "snapshot_posts"]
