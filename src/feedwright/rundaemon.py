"""Starting ``feedwright run``: the lock, the worker pool, the status page, signals, the scheduler.

daemon.py is what the daemon does each round (:class:`~feedwright.daemon.Daemon`);
this module sets it going and stops it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from contextlib import suppress
from datetime import UTC
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from .config import Config
from .daemon import STOP_GRACE, TICK, Daemon
from .exceptions import ConfigError
from .lock import HeldLock, output_lock
from .logs import daemon_logging, fields
from .parallel import Pool
from .pipeline import WORK_TIMEOUT, WORKER_NICENESS
from .publish.write import sweep_temp_files

log = logging.getLogger("feedwright.daemon")


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
    verbose: bool = False,
    hangups: list[int] | None = None,
) -> int:
    """Run until SIGTERM/SIGINT; return the exit code (0). ``hangups``: SIGHUPs
    received before the daemon listened (each asks for a reload, read then).

    Raises LockError if another build or daemon holds the output, ConfigError
    for a bad ``serve`` address.
    """
    address = parse_address(serve) if serve else None
    with daemon_logging(json_logs, verbose):
        _run(config, offline, address, serve, tick, json_logs, hangups or [])
        log.info("stopped: lock released", extra=fields("stopped"))
    return 0


def _run(
    config: Config,
    offline: bool,
    address: tuple[str, int] | None,
    serve: str | None,
    tick: float | None,
    json_logs: bool = False,
    hangups: list[int] | None = None,
) -> None:
    running: list[Daemon] = []  # the daemon whose status the page shows, once it runs
    with (
        output_lock(config.output.dir, config=str(config.path)) as lock,
        Pool(timeout=WORK_TIMEOUT, nice=WORKER_NICENESS) as pool,
    ):
        # Started first, while this process has no other thread: forked workers.
        pool.start()
        server = None
        if address is not None:
            from .serve import start_server

            try:
                server = start_server(
                    config.output.dir,
                    *address,
                    status=lambda as_json: _status_page(running, as_json),
                )
            except OSError as exc:
                raise ConfigError(
                    f"cannot listen on {serve}: {exc.strerror or exc}", path="--serve"
                ) from None
        try:
            asyncio.run(
                _main(
                    config, pool, offline, tick or TICK, server, running, json_logs, hangups, lock
                )
            )
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
            sweep_temp_files(config.output.dir)


async def _main(
    config: Config,
    pool: Pool,
    offline: bool,
    interval: float,
    server: Any,
    running: list[Daemon],
    json_logs: bool = False,
    hangups: list[int] | None = None,
    lock: HeldLock | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):

        def handle(sig: signal.Signals = sig) -> None:
            log.info("received %s", sig.name, extra=fields("signal", signum=int(sig)))
            stop.set()

        loop.add_signal_handler(sig, handle)
    reload_on: list[Daemon] = []

    def hangup() -> None:
        for each in reload_on:
            each.request_reload()

    loop.add_signal_handler(signal.SIGHUP, hangup)
    scheduler = AsyncIOScheduler(timezone=UTC)
    from .progress import for_terminal

    show = None if json_logs else for_terminal(sys.stderr, quiet=False)
    kind = Daemon
    if config.queue is not None:  # distributed refresh: fetching is the workers' (cluster/)
        from .cluster.dispatch import Dispatcher as kind
    daemon = kind(config, pool, offline=offline, scheduler=scheduler, progress=show, lock=lock)
    running.append(daemon)
    reload_on.append(daemon)
    if hangups:  # received while starting, before the handler above was set
        daemon.request_reload()
    scheduler.start()
    daemon.start(interval)
    serving = f"http://{_url_host(server.server_address)}/" if server else None
    log.info(
        "started: %d posts folders, %d remote feeds%s, output %s%s",
        len(config.posts_sources),
        len(config.feed_sources),
        " (offline)" if offline else "",
        config.output.dir,
        f", serving {serving}" if serving else "",
        extra=fields(
            "started",
            pid=os.getpid(),
            output=str(config.output.dir),
            tick=interval,
            offline=offline,
            serving=serving,
        ),
    )
    await stop.wait()
    log.info("stopping", extra=fields("stopping"))
    scheduler.shutdown(wait=False)
    daemon.stop()
    # Let the steps under way end (an abandoned fetch unwinds at once, a publish
    # finishes) so the store and the output are left consistent; whatever is
    # still running after STOP_GRACE is cancelled.
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if others:
        _done, late = await asyncio.wait(others, timeout=STOP_GRACE)
        for task in late:
            task.cancel()
        with suppress(asyncio.CancelledError):
            await asyncio.gather(*late, return_exceptions=True)


def _status_page(running: list[Daemon], as_json: bool) -> bytes:
    """Made on the server's thread, from the config in force, with the store opened anew."""
    from .statuspage import render_html, render_json, status_data

    if not running:
        raise RuntimeError("the daemon is starting")
    daemon = running[0]
    data = status_data(daemon.config, daemon.clock())
    return render_json(data) if as_json else render_html(data)


def _url_host(address: Any) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


__all__ = ["parse_address", "run_daemon"]
