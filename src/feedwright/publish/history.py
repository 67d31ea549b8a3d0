"""Each feed against what it showed before: tombstones and archive pages.

:func:`follow` is the step between planning and publishing, when
``output.tombstones`` or ``output.archives`` is on::

    for each planned feed (all its entries when archiving, else its newest `limit`)
      archives     split into the pages the store remembers (plus any new full
                   page) and the current feed          (archives.paginate)
      tombstones   entries it showed that left it for good, since when
                                                       (tombstones.settle)
      record       its history for the store, when it changed
    feeds gone since the last build: their history forgotten

Pure: the store's histories in, the feeds and the histories to save out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Generic

from ..config import Output
from ..model import Entry, Head, P, in_years
from ..store.records import FeedHistory
from ..text import category_key
from . import tombstones
from .archives import Chain, folder, paginate
from .plan import FeedOf, category_keys, newest


@dataclass(frozen=True, slots=True)
class Followed(Generic[P]):
    current: list[FeedOf[P]]  # the feeds, as planned but for archived entries; tombstones set
    archives: list[FeedOf[P]]  # every archive page of every feed
    changes: dict[str, FeedHistory | None] = field(default_factory=dict)  # for the store
    due: datetime | None = None  # when the first tombstone expires


def follow(
    plans: list[FeedOf[P]],
    pool: Iterable[Head | Entry],
    read_history: Callable[[], Mapping[str, FeedHistory]],
    output: Output,
    now: datetime,
) -> Followed[P]:
    """``plans`` (every entry of each feed when ``output.archives``, else as
    published) split and marked; ``pool``: every entry published, any feed;
    ``read_history``: what each feed showed before (read only when archives or
    tombstones are on)."""
    if not output.archives and not output.tombstones:
        return Followed(plans, [])
    before = read_history()
    archiving = output.archives and output.limit > 0
    now = now.replace(microsecond=0)  # a tombstone's `when`: whole seconds are enough
    found: dict[str, Head | Entry] | None = None
    current: list[FeedOf[P]] = []
    archives: list[FeedOf[P]] = []
    changes: dict[str, FeedHistory | None] = {}
    due: list[datetime] = []
    for feed in plans:
        key = feed.slug or ""
        last = before.get(key, FeedHistory())
        ids = [e.id for e in feed.entries]
        pages: tuple[tuple[str, ...], ...] = ()
        if archiving:
            pages, rest = paginate(ids, last.pages, output.limit)
            at = {entry_id: k for k, entry_id in enumerate(ids)}  # its place in the feed
            for n, page in enumerate(pages, 1):
                entries = tuple(feed.entries[k] for k in sorted(at[i] for i in page))
                # No page count on a page (only the current feed links by it), so a
                # new page leaves the older pages' keys, and their bytes, alone.
                chain = Chain(feed.slug, n)
                page_slug = folder(feed.slug, n)
                archives.append(
                    replace(
                        feed, slug=page_slug, entries=entries, updated=newest(entries), chain=chain
                    )
                )
            kept = tuple(e for e in feed.entries if e.id in rest)
            feed = replace(feed, entries=kept, chain=Chain(feed.slug, 0, len(pages)))
        wanted = None if feed.category is None else category_key(feed.category)

        def member(entry_id: str, wanted: str | None = wanted) -> bool:
            nonlocal found
            if found is None:
                found = {e.id: e for e in pool}
            entry = found.get(entry_id)
            return entry is not None and (
                wanted is None or wanted in category_keys(entry.categories)
            )

        # A tombstone's `when` outside the years a feed may carry (set under a
        # wrong clock by an older version) would fail the gate until it
        # expired, in a thousand years: it left now.
        before_stones = {k: w if in_years(w) else now for k, w in last.tombstones.items()}
        shown, stones = tombstones.settle(
            last.shown, before_stones, ids, member, now, output.tombstones
        )
        history = FeedHistory(shown, stones, pages)
        if history != last:
            changes[key] = history
        if (expires := tombstones.expiry(stones, output.tombstones)) is not None:
            due.append(expires)
        current.append(replace(feed, tombstones=tombstones.ordered(stones)))
    live = {feed.slug or "" for feed in plans}
    changes.update((key, None) for key in before if key not in live)
    return Followed(current, archives, changes, min(due, default=None))


__all__ = ["Followed", "follow"]
