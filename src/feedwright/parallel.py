"""The one way feedwright runs work in other processes.

A :class:`Pool` keeps a few worker processes and hands each one item at a
time: a module-level function and plain picklable arguments in, a plain
picklable value back. Reading posts, parsing remote feeds and rendering
Markdown all go through it::

    with Pool() as pool:
        for result in pool.map(read_chunk, chunks):          # in input order
            if isinstance(result, Failed): ...               # that item only
        html = await pool.apply(parse_body, content, url)    # from asyncio code

Why it is built this way:

- **A worker's death is a value.** The pool knows which item each worker
  holds. A worker that dies (a segfault in a C library, the OOM killer, a
  ``MemoryError``), raises, or holds an item longer than ``timeout`` costs
  that item only: its result is :class:`Failed` with the reason, the worker
  is replaced, and the other items go on. No call waits forever.
- **Fork when it is safe, at the moment a worker starts.** Forking is fast
  (the worker has every module already), but forking a process in which
  another thread runs can copy a lock that thread holds, held forever, into
  the child. So each start checks: no other thread alive, fork; else each
  worker is a fresh interpreter (``workerproc.py``), which never imports
  the caller's main file and leaves no helper process behind.
- **No thread of its own.** Results are collected by whoever waits for them
  (``map`` in the caller's thread; ``apply`` through the running event
  loop's readers), so a pool never makes its own process unsafe to fork.
- **Plain values across.** Arguments and results are pickled; everything
  feedwright sends (config dataclasses, bytes, tuples, its exceptions)
  pickles, and a test holds every error and report type to that.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import asyncio
    from multiprocessing.connection import Connection

# (asyncio and multiprocessing are imported where a pool first needs them: a
# build with nothing to do needs neither.)

# A worker whose result cannot be sent back (it does not pickle) reports this.
_UNSENDABLE = "its result could not be sent back"
# Workers that die this many times in a row, with no item done in between,
# mean workers cannot run here at all (no memory, a broken interpreter): the
# items still waiting fail rather than kill worker after worker.
MAX_DEATHS_IN_A_ROW = 10
# How long close() waits for an idle worker to leave before killing it.
_CLOSE_GRACE = 2.0


class Failed(NamedTuple):
    """An item that produced no result: the reason, for a report, and the
    worker's traceback when it raised (for a log, not for users)."""

    reason: str
    traceback: str = ""


def worker_count() -> int:
    """The cores this process may use (at least one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def fork_is_safe() -> bool:
    """Whether forking now copies no other thread's held locks (and is allowed:
    ``multiprocessing`` lets no daemonic process have children of its own)."""
    import multiprocessing as mp
    import threading

    return (
        "fork" in mp.get_all_start_methods()
        and threading.active_count() == 1
        and not mp.current_process().daemon
    )


def _context(fork: bool) -> Any:
    import multiprocessing as mp

    if fork:
        return mp.get_context("fork")
    methods = mp.get_all_start_methods()
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


def _signal_name(exitcode: int | None) -> str:
    if exitcode is None:
        return "it stopped answering"
    if exitcode < 0:
        import signal

        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if name == "SIGKILL":
            return "it was killed (SIGKILL; out of memory?)"
        return f"it was killed by {name}"
    return f"it exited with code {exitcode}"


def _serve(conn: Connection, nice: int, inherited: list[int]) -> None:
    """A worker's life: take one (function, arguments), send back its outcome."""
    import faulthandler
    import signal

    for fd in inherited:  # the parent's ends of the pipes: their EOF must not wait for us
        with contextlib.suppress(OSError):
            os.close(fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # (not the parent's handler: just end)
    faulthandler.disable()  # a crash is the parent's to report, in one line
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if job is None:
            return
        fn, args = job
        try:
            outcome: tuple[str, Any] = ("ok", fn(*args))
        except MemoryError:
            conn.send(("failed", Failed("it ran out of memory")))
            return  # start afresh: the heap may be in pieces
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            outcome = ("failed", Failed(reason, _traceback()))
        try:
            conn.send(outcome)
        except (BrokenPipeError, ConnectionResetError):
            return  # the parent is gone (killed, interrupted): nothing to say to anyone
        except Exception:
            conn.send(("failed", Failed(_UNSENDABLE, _traceback())))


def _traceback() -> str:
    import traceback

    return traceback.format_exc()


class _Task(NamedTuple):
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    done: Callable[[Any], None]


class _Worker:
    __slots__ = ("conn", "process", "since", "task")

    def __init__(self, process: Any, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.task: _Task | None = None
        self.since = 0.0


class Pool:
    """Worker processes that run one item at a time each; see the module docstring.

    ``workers`` defaults to the cores available; ``timeout`` (seconds) is
    how long one item may take; ``nice`` lowers the workers' priority (the
    parent, which feeds them, must not wait for a core). ``fork=False``
    never forks this process: workers are fresh interpreters (for a host
    program that calls feedwright as a library). Workers start on first use.
    A pool belongs to the thread that made it.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        timeout: float | None = None,
        nice: int = 0,
        fork: bool = True,
    ) -> None:
        self.size = workers or worker_count()
        self.fork = fork
        self.timeout = timeout
        self.nice = nice
        self._workers: list[_Worker] = []
        self._queue: deque[_Task] = deque()
        self._deaths = 0  # in a row, since the last item done
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ use

    def map(self, fn: Callable[..., Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn(item)`` for each item, in order; a failed item gives :class:`Failed`.

        Items are handed out as workers free up, so a slow item does not hold
        up the others; results are yielded in input order.
        """
        results: dict[int, Any] = {}
        count = 0
        for n, item in enumerate(items):
            self._submit(fn, (item,), lambda value, n=n: results.__setitem__(n, value))
            count += 1
        for n in range(count):
            while n not in results:
                self._pump()
            yield results.pop(n)

    async def apply(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker, awaited; :class:`Failed` if it failed."""
        import asyncio

        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def done(value: Any) -> None:
            if not future.done():
                future.set_result(value)

        self._attach(loop)
        self._submit(fn, args, done)
        return await future

    def start(self) -> None:
        """Start every worker now (rather than on first use): while this process
        has no other thread, so that they can be forked."""
        while len(self._workers) < self.size and not self._closed:
            self._start()

    def close(self) -> None:
        """Stop every worker (idle ones leave, busy ones are killed)."""
        self._closed = True
        self._detach()
        for worker in self._workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        deadline = time.monotonic() + _CLOSE_GRACE
        for worker in self._workers:
            if worker.task is not None:
                worker.process.kill()
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
            worker.process.close()
        self._workers.clear()
        for task in self._queue:
            task.done(Failed("the pool was closed"))
        self._queue.clear()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ machinery

    def _submit(self, fn: Callable[..., Any], args: tuple[Any, ...], done: Any) -> None:
        if self._closed:
            raise RuntimeError("the pool is closed")
        self._queue.append(_Task(fn, args, done))
        self._dispatch()

    def _start(self) -> _Worker:
        process, conn = self._launch()
        worker = _Worker(process, conn)
        self._workers.append(worker)
        if self._loop is not None:
            self._watch(worker)
        return worker

    def _launch(self) -> tuple[Any, Connection]:
        """A new worker process (forked only when ``fork`` and it is safe) and
        this process's end of its pipe."""
        forking = self.fork and fork_is_safe()
        if not forking and os.name == "posix":
            from .workerproc import start

            return start(_serve, (self.nice, []))  # a fresh interpreter: workerproc.py
        context = _context(forking)
        parent_end, child_end = context.Pipe()
        # A forked worker must not keep the parent's ends of any pipe (its own
        # included): when the parent dies, the worker's read must see EOF.
        inherited = []
        if context.get_start_method() == "fork":
            inherited = [parent_end.fileno()]
            inherited += [w.conn.fileno() for w in self._workers]
            inherited += [w.process.sentinel for w in self._workers]
        process = context.Process(
            target=_serve, args=(child_end, self.nice, inherited), daemon=True
        )
        process.start()
        child_end.close()
        return process, parent_end

    def _dispatch(self) -> None:
        while self._queue:
            idle = next((w for w in self._workers if w.task is None), None)
            if idle is None:
                if len(self._workers) >= self.size:
                    return
                idle = self._start()
            task = self._queue.popleft()
            idle.task, idle.since = task, time.monotonic()
            try:
                idle.conn.send((task.fn, task.args))
            except Exception as exc:  # arguments that do not pickle; a dead pipe
                idle.task = None
                if isinstance(exc, OSError | EOFError):
                    self._queue.appendleft(task)
                    self._retire(idle, None)
                else:
                    task.done(Failed(f"its input could not be sent: {exc}"))

    def _pump(self) -> None:
        """Wait for the next result or death (or timeout) and act on it."""
        if not self._workers:
            self._dispatch()
        busy = [w for w in self._workers if w.task is not None]
        if not busy:
            raise RuntimeError("nothing to wait for")
        from multiprocessing.connection import wait

        waits = {w.conn: w for w in busy} | {w.process.sentinel: w for w in busy}
        ready = wait(list(waits), self._wait_time(busy))
        for obj in ready:
            worker = waits[obj]
            if worker in self._workers:
                self._service(worker)
        self._enforce_timeouts()

    def _wait_time(self, busy: list[_Worker]) -> float | None:
        if self.timeout is None:
            return None
        now = time.monotonic()
        return max(0.0, min(w.since + self.timeout for w in busy) - now) + 0.01

    def _service(self, worker: _Worker) -> None:
        """The worker's pipe or process became ready: a result, or its death."""
        task = worker.task
        try:
            if worker.conn.poll():
                _kind, value = worker.conn.recv()
                worker.task = None
                self._deaths = 0
                if task is not None:
                    task.done(value)
                if isinstance(value, Failed) and value.reason == "it ran out of memory":
                    self._retire(worker, None)  # it leaves by itself; replace it now
                self._dispatch()
                return
        except (EOFError, OSError):
            pass
        if worker.process.is_alive():
            return  # a spurious wake-up
        worker.process.join()
        self._retire(worker, task)

    def _retire(self, worker: _Worker, task: _Task | None, reason: str = "") -> None:
        """Forget a dead (or to-be-killed) worker; its item fails with the reason."""
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()
        self._unwatch(worker)
        worker.conn.close()
        self._workers.remove(worker)
        worker.task = None
        if task is not None:
            reason = reason or f"the worker process died: {_signal_name(worker.process.exitcode)}"
            task.done(Failed(reason))
            self._deaths += 1
            if self._deaths >= MAX_DEATHS_IN_A_ROW:
                for pending in self._queue:
                    pending.done(Failed(f"worker processes keep dying here ({reason})"))
                self._queue.clear()
        worker.process.close()
        self._dispatch()

    def _enforce_timeouts(self) -> None:
        if self.timeout is None:
            return
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.task is not None and now - worker.since > self.timeout:
                stopped = f"it took longer than {self.timeout:g}s and was stopped"
                self._retire(worker, worker.task, stopped)

    # ------------------------------------------------------------------ asyncio

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop:
            return
        self._detach()
        self._loop = loop
        for worker in self._workers:
            self._watch(worker)
        if self.timeout is not None:
            loop.call_later(self.timeout / 4, self._tick)

    def _tick(self) -> None:
        if self._loop is None or self._closed:
            return
        self._enforce_timeouts()
        self._loop.call_later((self.timeout or 1.0) / 4, self._tick)

    def _detach(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None or loop.is_closed():
            return
        for worker in self._workers:
            loop.remove_reader(worker.conn.fileno())
            loop.remove_reader(worker.process.sentinel)

    def _watch(self, worker: _Worker) -> None:
        assert self._loop is not None
        self._loop.add_reader(worker.conn.fileno(), self._service, worker)
        self._loop.add_reader(worker.process.sentinel, self._service, worker)

    def _unwatch(self, worker: _Worker) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.remove_reader(worker.conn.fileno())
            loop.remove_reader(worker.process.sentinel)


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


__all__ = ["Failed", "Pool", "chunked", "fork_is_safe", "worker_count"]
