"""``feedwright worker``: a Celery worker that refreshes the batches the dispatcher sends.

Each batch is refreshed by :func:`feedwright.update.refresh`, the code
``run`` uses alone: the same conditional GET, parsing in worker processes
(``parallel.Pool``), normalising, saving and scheduling. The process runs::

    main thread      the Celery worker (a thread pool: ``--concurrency`` batches at once)
    one loop thread  an asyncio event loop that owns the parse pool; every batch
                     is a coroutine on it (update.refresh), so batches share the
                     pool and the network backend's timers
    parse workers    parallel.Pool, started before any thread (forked)

A batch first renews its lease (``store.renew``): the keys it gets back are
the sources still its own. A message redelivered after its lease ran out
(a worker killed mid-batch, a broker that restarted) finds them claimed
anew, by a later batch, and does nothing. Saving a source's state ends its
lease; a source not saved (the round's deadline) stays leased until the
lease runs out, then is due again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ..config import Config, FeedSource
from ..logs import daemon_logging, fields
from ..parallel import Pool
from ..pipeline import WORK_TIMEOUT, WORKER_NICENESS
from ..store import Store
from ..update import SourceResult, refresh
from .app import TASK, make_app, queue_name

log = logging.getLogger("feedwright.worker")

RESTART_PAUSE = 2.0  # seconds before the Celery worker is started again after an error


@dataclass
class _Context:
    config: Config
    pool: Pool
    loop: asyncio.AbstractEventLoop
    by_key: dict[str, FeedSource] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_key = {s.key: s for s in self.config.feed_sources}

    def batch_config(self, keys: list[str]) -> Config:
        """The config with only the batch's feed sources: a batch costs its own
        size, not the size of the whole list."""
        return replace(self.config, sources=tuple(self.by_key[k] for k in keys))


_running: list[_Context] = []  # the one context of this worker process


def refresh_batch(keys: list[str], owner: str, lease: float) -> dict[str, Any]:
    """The Celery task: refresh the sources ``keys`` claimed by ``owner``;
    plain values back: ``held``, ``results`` (see :func:`result_value`),
    ``moved`` (key -> the address a permanent redirect gave) and ``notes``
    (key -> what the parser repaired)."""
    ctx = _running[0]
    future: Future[dict[str, Any]] = asyncio.run_coroutine_threadsafe(
        _refresh(ctx, keys, owner, lease), ctx.loop
    )
    return future.result()


async def _refresh(ctx: _Context, keys: list[str], owner: str, lease: float) -> dict[str, Any]:
    with Store.open(ctx.config.state) as store:
        held = store.renew(owner, keys, time.time() + lease)
        if not held:
            log.info(
                "batch of %d sources: no longer ours (claimed again), skipped",
                len(keys),
                extra=fields("batch-stale", owner=owner, sources=len(keys)),
            )
            return {"held": 0, "results": []}
        unknown = [key for key in held if key not in ctx.by_key]
        if unknown:
            log.warning(
                "%d sources of the batch are not in %s (is it the dispatcher's config?): %s",
                len(unknown),
                ctx.config.path,
                ", ".join(unknown[:5]),
                extra=fields("batch-unknown", sources=unknown[:20]),
            )
        mine = set(held)
        config = ctx.batch_config([key for key in held if key in ctx.by_key])
        results = await refresh(
            config, store, now=datetime.now(UTC), pool=ctx.pool, daemon=True, only=held
        )
    done = [r for r in results if r.key in mine]
    log.info(
        "batch of %d sources refreshed: %d new, %d updated entries",
        len(done),
        sum(r.new for r in done),
        sum(r.updated for r in done),
        extra=fields("batch-done", owner=owner, sources=len(done)),
    )
    return {
        "held": len(held),
        "results": [result_value(r) for r in done],
        # Apart from "results", whose rows a dispatcher of an earlier version
        # unpacks as they were: it ignores a key it does not know.
        "moved": {r.key: r.moved_to for r in done if r.moved_to},
        # what the parser repaired, for the dispatcher's `repaired` line
        "notes": {r.key: r.note for r in done if r.note},
    }


def result_value(result: SourceResult) -> list[Any]:
    """A source's result as JSON-able values: key, url, outcome, new, updated, error."""
    error = None if result.error is None else result.error.message
    return [result.key, result.url, result.outcome, result.new, result.updated, error]


def run_worker(config: Config, *, concurrency: int = 4, verbose: bool = False) -> int:
    """Run a Celery worker for ``config.queue`` until SIGTERM/SIGINT; its exit code."""
    with daemon_logging(False, verbose), Pool(timeout=WORK_TIMEOUT, nice=WORKER_NICENESS) as pool:
        pool.start()  # forked now, while this process has one thread
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="feedwright-batches", daemon=True)
        thread.start()
        _running[:] = [_Context(config, pool, loop)]
        app = make_app(config)
        app.task(name=TASK)(refresh_batch)
        log.info(
            "worker started: %d batches at once, queue %s",
            concurrency,
            _safe_url(config.queue or ""),
            extra=fields("worker-started", pid=os.getpid(), concurrency=concurrency),
        )
        try:
            code = _serve(app, config, concurrency, verbose)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            _running.clear()
        log.info("worker stopped", extra=fields("worker-stopped"))
        return code


def _serve(app: Any, config: Config, concurrency: int, verbose: bool) -> int:
    """Run the Celery worker; start it again after an error that ended it
    (a broker that went away can end Celery's consumer for good), stop on a
    signal. The batches it held are not lost: their leases run out."""
    while True:
        worker = app.Worker(
            pool="threads",
            concurrency=concurrency,
            queues=[queue_name(config)],
            hostname=f"feedwright-{os.getpid()}@{socket.gethostname()}",
            loglevel="DEBUG" if verbose else "WARNING",
            without_gossip=True,
            without_mingle=True,
        )
        worker.start()
        code = int(worker.exitcode or 0)
        if code == 0:
            return 0
        log.error(
            "the Celery worker stopped (exit %d): starting it again in %.0fs",
            code,
            RESTART_PAUSE,
            extra=fields("worker-restart", code=code),
        )
        time.sleep(RESTART_PAUSE)


def _safe_url(url: str) -> str:
    """A broker URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"


__all__ = ["refresh_batch", "result_value", "run_worker"]
