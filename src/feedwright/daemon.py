"""``feedwright run``: keep every feed current on a schedule until SIGTERM/SIGINT.

One process per output folder: the daemon holds the output lock for its whole
life, so a ``build`` beside it (or a second daemon) exits 3. Inside, one
APScheduler ``BackgroundScheduler`` runs every job in a single worker thread,
so no two steps ever overlap::

    tick (every second, max_instances=1, coalesced: a slow round never stacks up)
        stat-walk the posts folders; any new/edited/deleted post  -> dirty
        ask the store which remote feeds are due (schedule.next_check already
        holds each feed's interval, jitter, backoff, Retry-After, 410)
        refresh only those; a feed with new or updated entries     -> dirty
    rebuild (a one-off job ~0.5 s after the output became dirty)
        posts still changing? wait for them to settle (at most MAX_DELAY)
        app.run_once(offline=True, locked=True): only changed bytes are written
        the earliest held-back post's time            -> the "next-post" job
    next-post (a one-off job at BuildReport.next_post_at)
        a future-dated post became due                            -> rebuild now

The daemon is the one place that reads the clock (``clock``, injectable); every
step below gets ``now`` from it. A step that fails is logged (traceback at
debug level) and the next round runs. On SIGTERM/SIGINT the scheduler stops,
an in-flight fetch is cancelled, a running publish is allowed to finish (it
only takes as long as writing a few files), temporary files are swept, the
lock is released and the exit code is 0.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.schedulers.background import BackgroundScheduler

from .app import BuildReport, run_once
from .config import Config, FeedSource
from .exceptions import ConfigError
from .lock import output_lock
from .sources.files import snapshot
from .store import SourceState, Store
from .update import SourceResult, is_due, refresh

log = logging.getLogger("feedwright.daemon")

Clock = Callable[[], datetime]
T = TypeVar("T")

TICK = 1.0  # seconds between looks at the posts folders and the store
DEBOUNCE = 0.5  # quiet time after a change before rebuilding
MAX_DELAY = 5.0  # a folder that never stops changing is still published this often
STOP_GRACE = 5.0  # how long a stop waits for the running step before abandoning it
MAX_RETRY = 60.0  # longest wait before retrying a rebuild that failed
MAX_REFRESH_PAUSE = 300.0  # longest pause of all fetching after a refresh crashed

# A post folder entry: (posts folder, path relative to it) -> (size, mtime_ns).
Snapshot = dict[tuple[str, str], tuple[int, int]]


def system_clock() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- watching posts


def snapshot_posts(roots: Iterable[Path]) -> Snapshot:
    """Stat every post file under ``roots`` (the files ``read_posts`` would read).

    An editor's swap or backup file does not trigger a rebuild. This runs every
    tick: 40-100 ms for 10,000 posts (warm cache).
    """
    return snapshot(roots)


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


# --------------------------------------------------------------------------- the daemon


class Daemon:
    """The daemon's state and its three jobs; :func:`run_daemon` wires it to a scheduler.

    Every method that does work runs in the scheduler's single worker thread,
    so the state below needs no lock; only :meth:`stop` is called from
    another thread, and it touches nothing but the stop flag and the
    in-flight fetch.
    """

    def __init__(
        self,
        config: Config,
        *,
        offline: bool = False,
        clock: Clock = system_clock,
        debounce: float = DEBOUNCE,
        scheduler: BackgroundScheduler | None = None,
    ) -> None:
        self.config = config
        self.offline = offline
        self.clock = clock
        self.debounce = debounce
        self.scheduler = scheduler
        self.snapshot: Snapshot = snapshot_posts(s.path for s in config.posts_sources)
        self.dirty = True  # publish once at start, whatever happened while we were down
        self.dirty_since: float | None = time.monotonic()
        self.rebuild_pending = False
        self.failures = 0  # consecutive failed rebuilds
        self.refresh_failures = 0  # consecutive refresh rounds that raised
        self._refresh_paused_until = 0.0  # time.monotonic()
        self.next_post_at: datetime | None = None
        self.next_due: datetime | None = None  # earliest next check of any feed; None: unknown
        self.last_report: BuildReport | None = None
        self._stopping = threading.Event()
        self._inflight: tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]] | None = None
        self._inflight_lock = threading.Lock()

    # ------------------------------------------------------------------ jobs

    def tick(self) -> None:
        """One round: notice post changes, refresh the remote feeds that are due."""
        if self._stopping.is_set():
            return
        with _step("tick"):
            self.scan_posts()
        if self._refresh_wanted():
            try:
                self.refresh_due()
                self.refresh_failures = 0
            except Exception as exc:
                # A failure before the store recorded the fetch would leave every
                # feed due again next second: pause fetching rather than hammer.
                self.refresh_failures += 1
                pause = min(TICK * 2.0**self.refresh_failures, MAX_REFRESH_PAUSE)
                self._refresh_paused_until = time.monotonic() + pause
                log.error(
                    "refresh failed (fetching paused %.0fs): %s: %s",
                    pause,
                    type(exc).__name__,
                    exc,
                    extra=_fields(
                        "refresh-failed", error=f"{type(exc).__name__}: {exc}", pause=pause
                    ),
                )
                log.debug("refresh failed", exc_info=True)
        if self.dirty and not self.rebuild_pending:
            self._schedule_rebuild(self.debounce)

    def rebuild_job(self) -> None:
        """The debounced rebuild: wait for the posts to settle, then publish."""
        self.rebuild_pending = False
        if self._stopping.is_set():
            return
        with _step("rebuild"):
            settling = self.scan_posts()
            waited = time.monotonic() - (self.dirty_since or time.monotonic())
            if settling and waited < MAX_DELAY:
                self._schedule_rebuild(self.debounce)
                return
            if self.dirty:  # else a next-post rebuild already published it all
                self.rebuild()

    def post_due_job(self) -> None:
        """A held-back post's time has come: publish it now, not after a debounce."""
        if self._stopping.is_set():
            return
        log.info("a scheduled post is due", extra=_fields("post-due", at=_iso(self.next_post_at)))
        self._mark_dirty()
        with _step("rebuild"):
            self.rebuild()

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
                extra=_fields(
                    "posts-changed",
                    added=list(changes.added[:10]),
                    edited=list(changes.edited[:10]),
                    deleted=list(changes.deleted[:10]),
                ),
            )
            self._mark_dirty()
        return changes

    def refresh_due(self) -> list[SourceResult]:
        """Fetch the remote feeds whose next check has come; log one line per fetched feed.

        The store is only opened once the earliest next check it holds has
        come: nothing else writes those times while we hold the lock.
        """
        now = self.clock()
        if self.next_due is not None and now < self.next_due:
            return []
        with Store.open(self.config.state) as store:
            states = store.source_states()
            if any(
                is_due(states.get(s.key), s, now, daemon=True) for s in self.config.feed_sources
            ):
                try:
                    results = self._run_async(refresh(self.config, store, now=now, daemon=True))
                except asyncio.CancelledError:
                    log.info("refresh abandoned: stopping", extra=_fields("refresh-abandoned"))
                    return []
                states = store.source_states()
            else:
                results = []
        self.next_due = earliest_due(states, self.config.feed_sources)
        for result in results:
            _log_source(result)
        if any(r.new or r.updated for r in results):
            self._mark_dirty()
        return results

    def rebuild(self) -> BuildReport | None:
        """Publish from the posts and the store; on failure, retry later with backoff."""
        now = self.clock()
        self.dirty, since, self.dirty_since = False, self.dirty_since, None
        try:
            report = run_once(self.config, now=now, offline=True, locked=True)
        except Exception as exc:
            self.failures += 1
            self.dirty, self.dirty_since = True, since
            retry = min(2.0**self.failures, MAX_RETRY)
            log.error(
                "publishing failed (retrying in %.0fs): %s",
                retry,
                exc,
                extra=_fields("publish-failed", error=str(exc), retry_in=retry),
            )
            log.debug("publishing failed", exc_info=True)
            self._schedule_rebuild(retry)
            return None
        self.failures = 0
        self.last_report = report
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
            extra=_fields(
                "published",
                written=[str(p) for p in pub.written],
                unchanged=len(pub.unchanged),
                removed=[str(p) for p in pub.removed],
                posts=report.posts,
                remote=report.remote,
                held=report.held,
            ),
        )
        for error in report.post_errors:
            log.warning("%s", error, extra=_fields("post-problem", path=error.path))
        self._schedule_next_post(report.next_post_at, now)
        return report

    # ------------------------------------------------------------------ stopping

    def stop(self) -> None:
        """Ask the running step to end: flag it, and cancel an in-flight fetch."""
        self._stopping.set()
        with self._inflight_lock:
            if self._inflight is not None:
                loop, task = self._inflight
                # RuntimeError: the loop has just finished on its own.
                with suppress(RuntimeError):
                    loop.call_soon_threadsafe(task.cancel)

    # ------------------------------------------------------------------ helpers

    def _refresh_wanted(self) -> bool:
        if self.offline or not self.config.feed_sources or self._stopping.is_set():
            return False
        return time.monotonic() >= self._refresh_paused_until

    def _mark_dirty(self) -> None:
        if not self.dirty:
            self.dirty, self.dirty_since = True, time.monotonic()

    def _run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on a fresh event loop that :meth:`stop` can cancel from outside."""

        async def main() -> T:
            task = asyncio.current_task()
            assert task is not None
            with self._inflight_lock:
                self._inflight = (asyncio.get_running_loop(), task)
            if self._stopping.is_set():
                coro.close()
                raise asyncio.CancelledError
            return await coro

        try:
            with asyncio.Runner() as runner:
                return runner.run(main())
        finally:
            with self._inflight_lock:
                self._inflight = None

    def _once(self, job_id: str, func: Callable[[], None], delay: float) -> None:
        """(Re)schedule the one-off job ``job_id`` ``delay`` seconds from now."""
        assert self.scheduler is not None
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
        if self.scheduler is not None and not self._stopping.is_set():
            self._once("rebuild", self.rebuild_job, delay)

    def _schedule_next_post(self, when: datetime | None, now: datetime) -> None:
        previous, self.next_post_at = self.next_post_at, when
        if self.scheduler is None or self._stopping.is_set():
            return
        if when is None:
            if self.scheduler.get_job("next-post") is not None:
                self.scheduler.remove_job("next-post")
            return
        # ``when`` is on the daemon's clock (maybe a test's); APScheduler runs on
        # the wall clock, so schedule the same distance ahead of the wall clock.
        delay = max((when - now).total_seconds(), 0.0)
        self._once("next-post", self.post_due_job, delay)
        if when != previous:
            log.info(
                "next scheduled post at %s",
                _iso(when),
                extra=_fields("post-scheduled", at=_iso(when)),
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
        earliest = min(earliest, due)
    return earliest


def _wall_in(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


@contextmanager
def _step(name: str) -> Iterator[None]:
    """Log a failing step and carry on: the next round must still run."""
    try:
        yield
    except Exception as exc:
        log.error(
            "%s failed: %s: %s",
            name,
            type(exc).__name__,
            exc,
            extra=_fields("step-failed", step=name, error=f"{type(exc).__name__}: {exc}"),
        )
        log.debug("%s failed", name, exc_info=True)


def _log_source(result: SourceResult) -> None:
    if result.outcome == "skipped":
        return
    if result.error is not None:
        log.warning(
            "fetch failed (%s): %s",
            result.outcome,
            result.error,
            extra=_fields(
                "fetch-failed", url=result.url, outcome=result.outcome, reason=result.error.message
            ),
        )
    elif result.outcome == "ok":
        log.info(
            "fetched %d new, %d updated from %s",
            result.new,
            result.updated,
            result.url,
            extra=_fields("fetched", url=result.url, new=result.new, updated=result.updated),
        )
    else:
        log.info(
            "%s: %s",
            result.outcome,
            result.url,
            extra=_fields(result.outcome, url=result.url),
        )


# --------------------------------------------------------------------------- the scheduler


class _SerialExecutor(BaseExecutor):  # type: ignore[misc]
    """Run jobs one after another in a single *daemon* thread.

    APScheduler's thread pool uses ``concurrent.futures``, whose threads the
    interpreter joins at exit: a step stuck in slow I/O would then hold the
    process past SIGTERM. Here the stop path waits for the step a few seconds
    (:meth:`join`), then lets the process end.
    """

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._queue: queue.SimpleQueue[tuple[Any, list[datetime]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="feedwright-daemon", daemon=True)
        self._thread.start()

    def shutdown(self, wait: bool = True) -> None:
        self._queue.put(None)
        if wait:
            self._thread.join()

    def join(self, timeout: float) -> bool:
        """Wait for the queued and running jobs to end; False if still running."""
        thread: threading.Thread | None = getattr(self, "_thread", None)
        if thread is None:
            return True  # never started
        thread.join(timeout)
        return not thread.is_alive()

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        self._queue.put((job, run_times))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            job, run_times = item
            try:
                events = run_job(job, job._jobstore_alias, run_times, self._logger.name)
            except BaseException:
                self._run_job_error(job.id, *sys.exc_info()[1:])
            else:
                self._run_job_success(job.id, events)


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[::1]:PORT`` or ``:PORT`` (every interface) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"expected HOST:PORT (e.g. 127.0.0.1:8080), got {text!r}", path="--serve")
    return host, int(port)


def run_daemon(
    config: Config,
    *,
    offline: bool = False,
    serve: str | None = None,
    json_logs: bool = False,
    tick: float | None = None,
    clock: Clock | None = None,
    verbose: bool | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or ``stop`` is set); return the exit code (0).

    Raises LockError if another build or daemon holds the output, ConfigError
    for a bad ``serve`` address. ``verbose`` (debug logs, tracebacks) defaults
    to whether the root logger shows INFO, i.e. ``feedwright -v``.
    """
    address = parse_address(serve) if serve else None
    if verbose is None:
        verbose = logging.getLogger().getEffectiveLevel() <= logging.INFO
    stop = stop or threading.Event()
    with _daemon_logging(json_logs, verbose):
        with output_lock(config.output.dir):
            server = None
            if address is not None:
                from .serve import start_server

                try:
                    server = start_server(config.output.dir, *address)
                except OSError as exc:
                    raise ConfigError(
                        f"cannot listen on {serve}: {exc.strerror or exc}", path="--serve"
                    ) from None
            executor = _SerialExecutor()
            scheduler = BackgroundScheduler(executors={"default": executor}, timezone=UTC)
            daemon = Daemon(
                config, offline=offline, clock=clock or system_clock, scheduler=scheduler
            )
            previous = _install_signal_handlers(stop)
            try:
                interval = tick or TICK
                scheduler.add_job(daemon.rebuild_job, id="rebuild", misfire_grace_time=None)
                daemon.rebuild_pending = True
                scheduler.add_job(
                    daemon.tick,
                    "interval",
                    seconds=interval,
                    id="tick",
                    next_run_time=_wall_in(0.0),
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=None,
                )
                scheduler.start()
                log.info(
                    "started: %d posts folders, %d remote feeds%s, output %s%s",
                    len(config.posts_sources),
                    len(config.feed_sources),
                    " (offline)" if offline else "",
                    config.output.dir,
                    f", serving http://{_url_host(server.server_address)}/" if server else "",
                    extra=_fields(
                        "started",
                        pid=os.getpid(),
                        output=str(config.output.dir),
                        tick=interval,
                        offline=offline,
                        serving=f"http://{_url_host(server.server_address)}/" if server else None,
                    ),
                )
                while not stop.wait(1.0):
                    pass
                log.info("stopping", extra=_fields("stopping"))
            finally:
                _restore_signal_handlers(previous)
                daemon.stop()
                if scheduler.running:
                    scheduler.shutdown(wait=False)
                if not executor.join(STOP_GRACE):
                    log.warning(
                        "the current step did not finish in %.0fs; abandoning it",
                        STOP_GRACE,
                        extra=_fields("step-abandoned", grace=STOP_GRACE),
                    )
                if server is not None:
                    server.shutdown()
                    server.server_close()
                _sweep_temp_files(config.output.dir)
        log.info("stopped: lock released", extra=_fields("stopped"))
        return 0


def _url_host(address: Any) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _install_signal_handlers(stop: threading.Event) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}  # signals are only delivered to the main thread (tests run us elsewhere)

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name, extra=_fields("signal", signum=signum))
        stop.set()

    return {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _sweep_temp_files(output_dir: Path) -> None:
    """Remove temporary files an abandoned publish may have left (never finished files).

    publish.write names them ``.<target>.<random>.tmp`` beside their target.
    """
    for dirpath, _dirnames, filenames in os.walk(output_dir):
        for name in filenames:
            if name.startswith(".") and name.endswith(".tmp"):
                with suppress(OSError):
                    os.unlink(os.path.join(dirpath, name))


# --------------------------------------------------------------------------- logging


def _fields(event: str, **fields: Any) -> dict[str, Any]:
    """``extra=`` for a log call: the event name and its structured fields."""
    return {"event": event, "fields": fields}


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event, message, fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None) or record.name.rsplit(".", 1)[-1],
            "message": record.getMessage(),
            "fields": getattr(record, "fields", None) or {},
        }
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


@contextmanager
def _daemon_logging(json_logs: bool, verbose: bool) -> Iterator[None]:
    """Route ``feedwright.*`` logs to stderr at INFO (DEBUG if verbose) for the daemon's life.

    A daemon's log is its only voice, so it logs events even when the CLI's
    default level (WARNING) would hide them. APScheduler's own chatter
    (every job run, skipped ticks while a slow round runs) is kept quiet.
    """
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    ours, aps = logging.getLogger("feedwright"), logging.getLogger("apscheduler")
    saved = (ours.level, ours.propagate, aps.level)
    ours.addHandler(handler)
    ours.setLevel(logging.DEBUG if verbose else logging.INFO)
    ours.propagate = False
    aps.setLevel(logging.WARNING if verbose else logging.ERROR)
    try:
        yield
    finally:
        ours.removeHandler(handler)
        ours.setLevel(saved[0])
        ours.propagate = saved[1]
        aps.setLevel(saved[2])
