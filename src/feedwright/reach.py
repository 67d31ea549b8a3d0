"""What a build owes other servers, paid when its time comes: the daemon's turn.

A ``feedwright build`` pings the hubs and learns audio lengths inline. The
daemon's builds make no requests (they run between its ticks, on its event
loop); they leave the work in the store, and each tick calls
:func:`pay_due`::

    WebSub pings       queued by a rebuild, or failed before and due again
                       (websub.py; a hub that fails waits longer each time)
    audio lengths      of remote episodes held back for want of one (media.py);
                       one learnt means a rebuild will publish its episode
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .config import Config
from .store import Store
from .websub import PingResult

NEVER_TWICE = timedelta(seconds=1)  # the soonest the outbox is looked at again


@dataclass(frozen=True, slots=True)
class Paid:
    """One turn: the pings sent, how many lengths were learnt, when to look again."""

    pings: list[PingResult] = field(default_factory=list)
    learnt: int = 0
    next_at: datetime | None = None  # None: nothing is owed


async def pay_due(config: Config, now: datetime) -> Paid:
    """Send the pings and learn the lengths whose time has come."""
    from . import media, websub

    with Store.open(config.state) as store:
        pings: list[PingResult] = []
        if config.websub.hub:
            if any(p.hub not in config.websub.hub for p in store.pending_pings()):
                store.forget_hubs(config.websub.hub)  # hubs taken out of the config
            pings = await websub.send_due(config, store, now)
        learnt = await media.learn_due(config, store, now)
        owed = [p.next_try for p in store.pending_pings()]
        owed += [w.next_try for w in store.wanted_lengths()]
    times = [max(when or now, now + NEVER_TWICE) for when in owed]
    return Paid(pings, learnt, min(times) if times else None)


__all__ = ["Paid", "pay_due"]
