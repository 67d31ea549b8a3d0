"""Sharing a big build's CPU work with forked copies of this process.

Reading 10,000 posts, rendering the ones that reach a feed and serialising
the feeds each split into shares: forked workers inherit the loaded modules
and the data (no pickling on the way in) and start in milliseconds, and this
process works on the first share itself instead of waiting.

A process that runs other threads (the daemon) never forks: a lock one of
them holds at that moment would stay held forever in the child. It does the
work itself. multiprocessing is imported only when a build does fork.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

Share = TypeVar("Share")
Result = TypeVar("Result")

MAX_WORKERS = 4  # beyond this, the shares of a site's build are too small to pay


def workers() -> int:
    """How many processes (this one included) a build may share work among."""
    return min(os.cpu_count() or 1, MAX_WORKERS)


def fork_safe() -> bool:
    """Whether this process may fork workers now (single-threaded, fork available)."""
    if threading.active_count() > 1:
        return False
    import multiprocessing as mp

    return "fork" in mp.get_all_start_methods()


def in_shares(work: Callable[[Share], Result], shares: Sequence[Share]) -> list[Result]:
    """``[work(share) for share in shares]``, the first share here and each other
    in a forked worker (check :func:`fork_safe` first). ``work`` and what it
    reads reach the workers by inheritance; only the results are pickled."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(
        max_workers=len(shares) - 1, mp_context=mp.get_context("fork")
    ) as pool:
        futures = [pool.submit(work, share) for share in shares[1:]]
        results = [work(shares[0])]
        results.extend(future.result() for future in futures)
    return results


__all__ = ["MAX_WORKERS", "fork_safe", "in_shares", "workers"]
