"""``feedwright run``: keep every feed current on a schedule until SIGTERM/SIGINT.

One process per output folder: the daemon holds the output lock for its whole
life, so a ``build`` beside it (or a second daemon) exits 3. It runs on one
asyncio event loop with APScheduler's ``AsyncIOScheduler`` (public API only);
every job is a coroutine, and one lock keeps two steps from ever overlapping::

    tick (every second; max_instances=1, coalesced: a slow round never stacks up)
        the output folder deleted or replaced: its lock taken again -> dirty
        stat-walk the posts folders; a new/edited/deleted post   -> dirty
        refresh the remote feeds whose next check has come
        (schedule.next_check: interval, jitter, backoff, Retry-After, 410)
        a feed with new or updated entries                        -> dirty
        the outbox (after a rebuild, or when a retry is due): WebSub pings
        the rebuilds queued or that failed (websub.py), episodes' remote
        audio lengths still unknown (media.py); a length learnt   -> dirty
        config.yaml changed (or SIGHUP)   -> read again (reload.py); an invalid one is
                                             logged and the old one keeps running
    rebuild (a one-off job ~0.5 s after the output became dirty)
        posts still changing? wait for them to settle (at most MAX_DELAY)
        pipeline.run_once(offline=True, locked=True): only changed bytes are written
        the earliest held-back post's time          -> the "next-post" job
    next-post (a one-off job at BuildReport.next_post_at)
        a future-dated post became due, a post expired            -> rebuild now

The daemon is the one place besides the API that reads the clock (``clock``,
injectable); every step gets ``now`` from it. A step that fails is logged
(traceback at debug level) and the next round runs. On SIGTERM/SIGINT the
scheduler stops, an in-flight fetch is cancelled, a publish under way
finishes (it only writes a few files), temporary files are swept, the worker
processes stop, the lock is released and the exit code is 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from .config import Config
from .exceptions import IdChangeError
from .lock import HeldLock
from .logs import fields, log_source
from .model import rfc3339_or_none
from .parallel import Pool
from .pipeline import BuildReport, fetch_first, run_once
from .progress import Display
from .reload import reload as reload_config
from .reload import stamp as config_stamp
from .report import lasting_warnings
from .store import Store
from .update import SourceResult, is_due, refresh, reschedule
from .watch import PostChanges, Snapshot, diff_snapshots, earliest_due, snapshot_posts

log = logging.getLogger("feedwright.daemon")

Clock = Callable[[], datetime]
Job = Callable[[], Coroutine[Any, Any, None]]

TICK = 1.0  # seconds between looks at the posts folders and the store
DEBOUNCE = 0.5  # quiet time after a change before rebuilding
MAX_DELAY = 5.0  # a folder that never stops changing is still published this often
MAX_RETRY = 60.0  # longest wait before retrying a rebuild that failed
MAX_REFRESH_PAUSE = 300.0  # longest pause of all fetching after a refresh crashed
STOP_GRACE = 10.0  # how long a stop waits for the step under way (deploy/: TimeoutStopSec)


def system_clock() -> datetime:
    return datetime.now(UTC)


class Daemon:
    """The daemon's state and its three jobs; :func:`run_daemon` wires it to a
    scheduler. Every job runs on the event loop, one at a time (``_busy``)."""

    def __init__(
        self,
        config: Config,
        pool: Pool,
        *,
        offline: bool = False,
        clock: Clock = system_clock,
        debounce: float = DEBOUNCE,
        scheduler: AsyncIOScheduler | None = None,
        progress: Display | None = None,
        lock: HeldLock | None = None,
    ) -> None:
        self.config = config
        self.lock = lock  # the output's (run_daemon's); kept if the folder is deleted
        # A terminal's progress display, for the start-up round only.
        self.progress = progress
        self.pool = pool
        self.offline = offline
        self.clock = clock
        self.debounce = debounce
        self.scheduler = scheduler
        self.snapshot: Snapshot = snapshot_posts(s.path for s in config.posts_sources)
        self.dirty = True  # publish once at start, whatever happened while we were down
        self.dirty_since: float | None = time.monotonic()
        self.rebuild_pending = False
        self.failures = 0  # consecutive failed rebuilds
        self.refused: str | None = None  # the id-change refusal last logged (changes.py)
        self.said: frozenset[str] = frozenset()  # the last publish's warnings, logged once
        self.refresh_failures = 0  # consecutive refresh rounds that raised
        self._refresh_paused_until = 0.0  # time.monotonic()
        self.next_post_at: datetime | None = None
        self.next_due: datetime | None = None  # earliest next check of any feed; None: unknown
        # The state file next_due was learnt from: another one (deleted, restored
        # from a backup) knows other schedules, or none (every feed due at once).
        self.state_seen: tuple[int, int] | None = None
        self.last_report: BuildReport | None = None
        # When the outbox (pings, audio lengths) may owe something; None: it owes nothing.
        self.outbox_at: datetime | None = datetime.min.replace(tzinfo=UTC)
        self.stopping = False
        self._busy = asyncio.Lock()
        self._refreshing: asyncio.Future[list[SourceResult]] | None = None
        self.config_stamp = config_stamp(config)
        self.reload_requested = False  # SIGHUP

    # ------------------------------------------------------------------ jobs

    def start(self, interval: float) -> None:
        """Queue the first rebuild (after the first refresh if pipeline.fetch_first)
        and the tick every ``interval`` seconds (scheduler started)."""
        if self.scheduler is None:
            raise RuntimeError("a daemon started without a scheduler")
        if self.offline or not fetch_first(self.config):
            self._schedule_rebuild(0.0)
        else:  # the first tick publishes once its refresh is done
            message = "feeds never fetched into this state: fetching them before publishing"
            log.info(message, extra=fields("fetch-first"))
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=interval,
            id="tick",
            next_run_time=_wall_in(0.0),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    async def tick(self) -> None:
        """One round: notice post changes, refresh the remote feeds that are due."""
        async with self._busy:
            if self.stopping:
                return
            with _step("reload"):
                self.check_config()
            with _step("output"):
                self.keep_output()
            with _step("tick"):
                self.scan_posts()
            await self.refresh_step()
            if self.stopping:
                return
            if not self.offline:
                with _step("outbox"):
                    await self.send_outbox()
            if self.dirty and not self.rebuild_pending:
                self._schedule_rebuild(self.debounce)

    async def refresh_step(self) -> None:
        """Refresh the remote feeds that are due, if any; a failure pauses
        fetching with backoff (the caller holds ``_busy``)."""
        if not self._refresh_wanted():
            return
        self._refreshing = asyncio.ensure_future(self.refresh_due())
        try:
            await self._refreshing
            self.refresh_failures = 0
        except asyncio.CancelledError:
            if not self.stopping:
                raise
            # What a source finished is saved whole; the rest stays due.
            log.info("refresh abandoned: stopping", extra=fields("refresh-abandoned"))
            return
        except Exception as exc:
            # A failure before the store recorded the fetch would leave every
            # feed due again next second: pause fetching rather than hammer.
            self.refresh_failures += 1
            pause = min(TICK * 2.0**self.refresh_failures, MAX_REFRESH_PAUSE)
            self._refresh_paused_until = time.monotonic() + pause
            error = f"{type(exc).__name__}: {exc}"
            log.error(
                "refresh failed (fetching paused %.0fs): %s",
                pause,
                error,
                extra=fields("refresh-failed", error=error, pause=pause),
            )
            log.debug("refresh failed", exc_info=True)
        finally:
            self._refreshing = None

    async def rebuild_job(self) -> None:
        """The debounced rebuild: wait for the posts to settle, then publish."""
        async with self._busy:
            self.rebuild_pending = False
            if self.stopping:
                return
            with _step("rebuild"):
                settling = self.scan_posts()
                waited = time.monotonic() - (self.dirty_since or time.monotonic())
                if settling and waited < MAX_DELAY:
                    self._schedule_rebuild(self.debounce)
                    return
                if self.dirty:  # else a next-post rebuild already published it all
                    self.rebuild()

    async def post_due_job(self) -> None:
        """A held-back post's time has come: publish it now, not after a debounce."""
        async with self._busy:
            if self.stopping:
                return
            at = rfc3339_or_none(self.next_post_at)
            log.info("a scheduled post is due", extra=fields("post-due", at=at))
            self._mark_dirty()
            with _step("rebuild"):
                self.rebuild()

    def request_reload(self) -> None:
        """SIGHUP: read config.yaml again at the next tick, changed or not."""
        log.info("received SIGHUP: reloading the config", extra=fields("signal", signum=1))
        self.reload_requested = True

    def check_config(self) -> bool:
        """Reload config.yaml if it changed (or SIGHUP asked); whether the config
        in force changed. An invalid file is logged (key and line) and the old
        config keeps running."""
        now_stamp = config_stamp(self.config)
        if not self.reload_requested and now_stamp == self.config_stamp:
            return False
        self.reload_requested = False
        self.config_stamp = now_stamp
        outcome = reload_config(self.config)
        if outcome.config is None:
            error = outcome.error
            log.error(
                "%s",
                outcome.message,
                extra=fields(
                    "config-invalid",
                    key=error.key if error else None,
                    line=error.line if error else None,
                ),
            )
            return False
        log.info("%s", outcome.message, extra=fields("config-reloaded"))
        if outcome.config == self.config:
            return False
        self.config = outcome.config
        # New or changed feeds are looked at now; the posts folders may be others.
        self.next_due = None
        self.snapshot = snapshot_posts(s.path for s in self.config.posts_sources)
        self._mark_dirty()
        return True

    def keep_output(self) -> None:
        """The output folder deleted (or replaced) under the daemon: take its lock
        file again, and publish it all again rather than at the next change."""
        if self.lock is not None and self.lock.keep():
            output = str(self.config.output.dir)
            log.warning(
                "the output folder was deleted or replaced: its lock taken again, publishing anew",
                extra=fields("output-gone", output=output),
            )
            self._mark_dirty()

    def stop(self) -> None:
        """The daemon is stopping: abandon a refresh under way (a publish under
        way finishes: it is not interrupted), start no new step."""
        self.stopping = True
        if self._refreshing is not None:
            self._refreshing.cancel()

    # ------------------------------------------------------------------ steps

    def scan_posts(self) -> PostChanges:
        """Compare the posts folders with the last snapshot; changes make the output dirty."""
        snap = snapshot_posts(s.path for s in self.config.posts_sources)
        changes = diff_snapshots(self.snapshot, snap)
        self.snapshot = snap
        if changes:
            # The first few paths of each kind: enough to recognise, bounded for a mass edit.
            log.info(
                "post changes seen: %s",
                changes.describe(),
                extra=fields(
                    "posts-changed",
                    added=list(changes.added[:10]),
                    edited=list(changes.edited[:10]),
                    deleted=list(changes.deleted[:10]),
                ),
            )
            self._mark_dirty()
        return changes

    async def refresh_due(self) -> list[SourceResult]:
        """Fetch the remote feeds whose next check has come; one log line per feed."""
        now = self.clock()
        state = _file_identity(self.config.state)
        if self.next_due is not None and now < self.next_due and state == self.state_seen:
            return []
        with Store.open(self.config.state) as store:
            reschedule(store, self.config)
            states = store.source_states()
            results: list[SourceResult] = []
            if any(
                is_due(states.get(s.key), s, now, daemon=True) for s in self.config.feed_sources
            ):
                show = self.progress
                results = await refresh(
                    self.config,
                    store,
                    now=now,
                    pool=self.pool,
                    daemon=True,
                    progress=None if show is None else (lambda d, t: show("fetching", d, t)),
                )
                states = store.source_states()
        self.next_due = earliest_due(states, self.config.feed_sources)
        self.state_seen = _file_identity(self.config.state)
        for result in results:
            log_source(result)
        if any(r.new or r.updated for r in results):
            self._mark_dirty()
        return results

    async def send_outbox(self) -> None:
        """Send the WebSub pings and learn the audio lengths whose time has come
        (reach.py); a length learnt makes the output dirty."""
        from .reach import pay_due

        now = self.clock()
        if self.outbox_at is None or now < self.outbox_at:
            return
        paid = await pay_due(self.config, now)
        self.outbox_at = paid.next_at
        for ping in paid.pings:
            level = logging.INFO if ping.error is None else logging.WARNING
            event = "pinged" if ping.error is None else "ping-failed"
            log.log(level, "%s", ping, extra=fields(event, hub=ping.hub, reason=ping.error))
        if paid.learnt:
            log.info("learnt %d audio lengths", paid.learnt, extra=fields("lengths-learnt"))
            self._mark_dirty()

    def rebuild(self) -> BuildReport | None:
        """Publish from the posts and the store; on failure, retry later with backoff."""
        now = self.clock()
        since = self.publish_started()
        try:
            report = self.publish(self.config, now)
        except Exception as exc:
            self.publish_failed(exc, since)
            return None
        return self.published(report, now)

    # The parts of a rebuild; the dispatcher (cluster/dispatch.py) runs
    # the middle one in a thread of its own, the others on the event loop.

    def publish_started(self) -> float | None:
        """The output is no longer dirty; when it became so (for publish_failed)."""
        self.dirty, since, self.dirty_since = False, self.dirty_since, None
        return since

    def publish(self, config: Config, now: datetime) -> BuildReport:
        """Publish ``config``'s output (pipeline.run_once, offline, under the output lock)."""
        return run_once(
            config, now=now, offline=True, locked=True, pool=self.pool, progress=self.progress
        )

    def publish_failed(self, exc: Exception, since: float | None) -> None:
        """A publish raised: the output is dirty again; retry with backoff.

        Refused for changing too many ids (changes.py) is not a failure to
        retry: nothing is published until the posts or the config change, and
        that is said once."""
        if isinstance(exc, IdChangeError):
            if str(exc) != self.refused:
                self.refused = str(exc)
                log.error("%s", exc, extra=fields("ids-refused", feeds=list(exc.feeds)))
            return
        self.failures += 1
        self._mark_dirty()  # (dirty since ``since``, or since a change during the publish)
        if since is not None:
            self.dirty_since = min(since, self.dirty_since or since)
        retry = min(2.0**self.failures, MAX_RETRY)
        log.error(
            "publishing failed (retrying in %.0fs): %s",
            retry,
            exc,
            extra=fields("publish-failed", error=str(exc), retry_in=retry),
        )
        log.debug("publishing failed", exc_info=True)
        self._schedule_rebuild(retry)

    def published(self, report: BuildReport, now: datetime) -> BuildReport:
        """Log a publish that ended well; schedule what it asks for."""
        self.failures = 0
        self.refused = None
        self.last_report = report
        self.outbox_at = now  # it may have queued pings, or wanted audio lengths
        if self.progress is not None:  # start-up is over: log lines only from now on
            self.progress.close()
            self.progress = None
        pub = report.publish
        if pub.written or pub.removed:
            message = "published %d files (%d unchanged, %d removed): %d posts, %d remote entries"
            counts: tuple[int, ...] = (len(pub.written), len(pub.unchanged), len(pub.removed))
        else:
            message = "up to date: %d files unchanged; %d posts, %d remote entries"
            counts = (len(pub.unchanged),)
        log.info(
            message,
            *counts,
            report.posts,
            report.remote,
            extra=fields(
                "published",
                written=list(pub.written),
                unchanged=len(pub.unchanged),
                removed=list(pub.removed),
                posts=report.posts,
                remote=report.remote,
                held=report.held,
            ),
        )
        # What build prints after a publish, each line once while it lasts: a
        # post broken for a week is one line, not one per publish.
        said = lasting_warnings(report, offline=self.offline)
        for text, event, values in said:
            if text not in self.said:
                log.warning("%s", text, extra=fields(event, **values))
        self.said = frozenset(text for text, _, _ in said)
        self._schedule_next_post(report.next_post_at, now)
        return report

    # ------------------------------------------------------------------ helpers

    def _refresh_wanted(self) -> bool:
        if self.offline or not self.config.feed_sources:
            return False
        return time.monotonic() >= self._refresh_paused_until

    def _mark_dirty(self) -> None:
        if not self.dirty:
            self.dirty, self.dirty_since = True, time.monotonic()

    def _once(
        self, job_id: str, func: Callable[[], Coroutine[Any, Any, None]], delay: float
    ) -> None:
        """(Re)schedule the one-off job ``job_id`` ``delay`` seconds from now."""
        if self.scheduler is None or not self.scheduler.running:
            return
        self.scheduler.add_job(
            func,
            "date",
            run_date=_wall_in(delay),
            id=job_id,
            replace_existing=True,
            misfire_grace_time=None,
        )

    def _schedule_rebuild(self, delay: float) -> None:
        self.rebuild_pending = True
        self._once("rebuild", self.rebuild_job, delay)

    def _schedule_next_post(self, when: datetime | None, now: datetime) -> None:
        previous, self.next_post_at = self.next_post_at, when
        if self.scheduler is None or not self.scheduler.running:
            return
        if when is None:
            if self.scheduler.get_job("next-post") is not None:
                self.scheduler.remove_job("next-post")
            return
        # ``when`` is on the daemon's clock (maybe a test's); APScheduler runs on
        # the wall clock, so schedule the same distance ahead of the wall clock.
        self._once("next-post", self.post_due_job, max((when - now).total_seconds(), 0.0))
        if when != previous:
            log.info(
                "next timed change (a post held back, a tombstone that expires) at %s",
                rfc3339_or_none(when),
                extra=fields("post-scheduled", at=rfc3339_or_none(when)),
            )


def _wall_in(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


@contextmanager
def _step(name: str) -> Iterator[None]:
    """Log a failing step and carry on: the next round must still run."""
    try:
        yield
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.error("%s failed: %s", name, error, extra=fields("step-failed", step=name, error=error))
        log.debug("%s failed", name, exc_info=True)


def _file_identity(state: Path | str) -> tuple[int, int] | None:
    """A SQLite state file's (device, inode); None for none (or a PostgreSQL URL)."""
    if not isinstance(state, Path):
        return None
    try:
        st = os.stat(state)
    except OSError:
        return None
    return st.st_dev, st.st_ino


__all__ = ["Daemon"]
