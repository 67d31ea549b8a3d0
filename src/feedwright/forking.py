"""Sharing a big build's CPU work with forked copies of this process.

Reading 10,000 posts, rendering the ones that reach a feed and serialising
the feeds each split into shares: forked workers inherit the loaded modules
and the data (no pickling on the way in) and start in milliseconds, and this
process works on the first share itself instead of waiting.

A process that runs other threads (the daemon) never forks: a lock one of
them holds at that moment would stay held forever in the child. It does the
work itself.
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
    return hasattr(os, "fork") and threading.active_count() == 1


def in_shares(work: Callable[[Share], Result], shares: Sequence[Share]) -> list[Result]:
    """``[work(share) for share in shares]``, the first share here and each other
    in a forked worker (check :func:`fork_safe` first). ``work`` and what it
    reads reach the workers by inheritance; only the results are pickled, back
    through a pipe each. A worker's exception is raised here (as a
    RuntimeError naming it if it cannot be pickled), after this process's own
    share is done.

    Plain ``os.fork``: a ProcessPoolExecutor (and the multiprocessing and
    concurrent.futures it imports, ~25 ms) with its queue and manager threads
    cost a cold build more than the pipes do.
    """
    import pickle

    children: list[tuple[int, int]] = []  # (pid, read end of its pipe)
    try:
        for share in shares[1:]:
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: never returns
                os.close(read_end)
                _work_and_exit(work, share, write_end)
            os.close(write_end)
            children.append((pid, read_end))
        results = [work(shares[0])]
        for _pid, read_end in children:
            with os.fdopen(read_end, "rb", closefd=False) as pipe:
                data = pipe.read()
            if not data:
                raise RuntimeError("a forked worker died before sending its result")
            ok, value = pickle.loads(data)
            if not ok:
                raise value
            results.append(value)
        return results
    finally:
        for pid, read_end in children:
            os.close(read_end)  # a worker still writing gets EPIPE and exits
            os.waitpid(pid, 0)


def _work_and_exit(work: Callable[[Share], Result], share: Share, write_end: int) -> None:
    import pickle

    code = 1
    try:
        try:
            payload = pickle.dumps((True, work(share)), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # sent back, raised by the parent
            try:
                payload = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
                pickle.loads(payload)  # keyword-only arguments pickle, then fail to load
            except Exception:
                failure = RuntimeError(f"in a forked worker: {type(exc).__name__}: {exc}")
                payload = pickle.dumps((False, failure), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
        code = 0
    finally:
        # Never back into the parent's stack (its finally blocks, its locks,
        # its buffered output): leave now.
        os._exit(code)


__all__ = ["MAX_WORKERS", "fork_safe", "in_shares", "workers"]
