"""RFC 6721 tombstones: which entries left a feed for good, and since when (pure).

A feed's history (``store.history.FeedHistory``) says which entries it showed
after the last build. An entry that this build no longer shows *left* the
feed; it gets a tombstone (``at:deleted-entry ref=<id> when=<now>``) unless
it is still one of the feed's entries, only further down than
``output.limit`` shows (it scrolled away: no tombstone). So a post deleted,
made a draft or moved out of the category, and a remote entry whose source
was taken out of the config, each get one in every feed they left.

A tombstone is kept for ``output.tombstones`` (then it expires), and goes
at once when its entry is back in the feed. ``when`` is the time of the
build that noticed: the same store and inputs give the same files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta


def settle(
    shown_before: Iterable[str],
    stones: Mapping[str, datetime],
    shown: Iterable[str],
    member: Callable[[str], bool],
    now: datetime,
    keep: timedelta,
) -> tuple[tuple[str, ...], dict[str, datetime]]:
    """(the ids shown now, sorted; the tombstones now: id -> when it left).

    ``member(id)``: whether the entry still belongs to the feed (shown or not).
    ``keep``: how long a tombstone stays; zero: none at all.
    """
    now_shown = set(shown)
    kept: dict[str, datetime] = {}
    if keep > timedelta(0):
        kept = dict(stones)
        for entry_id in sorted(set(shown_before) - now_shown):
            if entry_id not in kept and not member(entry_id):
                kept[entry_id] = now
        for entry_id, when in list(kept.items()):
            if entry_id in now_shown or member(entry_id) or when + keep <= now:
                del kept[entry_id]
    return tuple(sorted(now_shown)), kept


def expiry(stones: Mapping[str, datetime], keep: timedelta) -> datetime | None:
    """When the first of ``stones`` expires (a build is due then), if any."""
    return min(stones.values()) + keep if stones else None


def ordered(stones: Mapping[str, datetime]) -> tuple[tuple[str, datetime], ...]:
    """Tombstones as a feed lists them: the newest first, ties by id."""
    return tuple(sorted(stones.items(), key=lambda item: (-item[1].timestamp(), item[0])))


__all__ = ["expiry", "ordered", "settle"]
