"""The distributed mode at scale (issue 18): feeds per second, the claim query, memory.

Generates ``--feeds`` RSS feeds (default 20,000; 5-40 entries of 150-1,500
characters each, most 5-30 kB), serves them from nginx on 127.0.0.1 ...
127.0.0.<hosts> (separate hosts for the per-host politeness; static files
with ETags, so a second request is a 304), then, for 1 and then 2 workers,
from a fresh PostgreSQL schema each:

- starts the dispatcher (``feedwright run`` with ``queue:``) and the
  workers (``feedwright worker --concurrency 4``) and times the **first
  refresh** (every source fetched once, counted in the store);
- waits for the dispatcher's publish after it (timed);
- makes every source due again and times the **all-304 refresh**;
- prints feeds per second over each whole round and between 10 % and 90 %
  of it (start-up and tail left out), and the peak memory (VmHWM) of the
  dispatcher, of each worker, and of the largest of their parse processes.

Then times the claim query with ``--claim-sources`` (default 1,000,000)
sources in the table (bench/claim_query.py). The goals (issue 18, on a
2-core machine): at least 280 feeds/s sustained on all-304 rounds, rising
with workers; the claim under 50 ms at 1,000,000 sources.

Needs PostgreSQL, Redis (or RabbitMQ) and nginx; installs nothing (a missing
one is named, exit 2). The logs of every process stay in the run folder
with --keep.

    python bench/scale_out.py [--feeds 20000] [--hosts 100] [--workers 1,2]
        [--pg postgresql://postgres@127.0.0.1:5432/test] [--queue redis://127.0.0.1:6379/0]
        [--claim-sources 1000000] [--nginx /usr/sbin/nginx] [--keep]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale_harness as h  # bench/ is not a package: found through sys.path


def check_services(args: argparse.Namespace) -> str:
    """The nginx binary; exit 2 naming what is missing."""
    binary = h.find_nginx(args.nginx)
    if binary is None:
        _missing(h.NGINX_HINT)
        raise AssertionError
    try:
        psycopg.connect(args.pg, connect_timeout=5).close()
    except psycopg.Error as exc:
        _missing(f"PostgreSQL not reachable at {args.pg}: {str(exc).strip()}")
    parts = urlsplit(args.queue)
    port = parts.port or (6379 if parts.scheme.startswith("redis") else 5672)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=5).close()
    except OSError as exc:
        _missing(f"the queue broker is not reachable at {parts.hostname}:{port}: {exc}")
    return binary


def _missing(message: str) -> None:
    print(f"scale_out: {message}", file=sys.stderr)
    raise SystemExit(2)


def one_setup(args: argparse.Namespace, root: Path, urls: list[str], workers: int) -> None:
    with h.scratch_schema(args.pg) as state:
        config = h.site(root / f"w{workers}", urls, state, args.queue, args.batch)
        total = len(urls)
        started = time.perf_counter()
        procs = [h.start(config, "dispatcher", "run")]
        procs += [
            h.start(config, f"worker{i + 1}", "worker", "--concurrency", str(args.concurrency))
            for i in range(workers)
        ]
        try:
            first = h.follow(state, 1, total, procs, args.timeout, started)
            # The publish after the first round (all its entries): wait until
            # the dispatcher published and then stayed idle for 5 s.
            t0 = time.perf_counter()
            seen, busy = h.published_count(procs[0].log), t0
            cpu = h.cpu_seconds(procs[0].popen.pid)
            while time.perf_counter() - t0 < 1800:
                time.sleep(1.0)
                for proc in procs:
                    proc.sample()
                used, cpu = -cpu, h.cpu_seconds(procs[0].popen.pid)
                if used + cpu > 0.1:  # CPU seconds in the last second
                    busy = time.perf_counter()
                published = h.published_count(procs[0].log) > seen
                if published and time.perf_counter() - busy > 5.0:
                    break
            publish = busy - t0
            h.make_all_due(state)
            again = h.follow(state, 2, total, procs, args.timeout, time.perf_counter())
        finally:
            for proc in procs:
                proc.stop()
    s = "s" if workers > 1 else " "
    print(
        f"{workers} worker{s} first refresh:   {first.rate():6.1f} feeds/s whole round"
        f" ({first.done:,}/{total:,} in {first.seconds:.1f} s from the processes' start),"
        f" {first.sustained():6.1f} feeds/s 10-90%",
        flush=True,
    )
    print(f"{workers} worker{s} publish after it: {publish:.1f} s", flush=True)
    print(
        f"{workers} worker{s} all-304 refresh: {again.rate():6.1f} feeds/s whole round"
        f" ({again.done:,}/{total:,} in {again.seconds:.1f} s),"
        f" {again.sustained():6.1f} feeds/s 10-90%",
        flush=True,
    )
    memory = ", ".join(
        f"{p.name} {h.mb(p.peak)} (parse processes up to {h.mb(p.child_peak)})" for p in procs
    )
    print(f"{workers} worker{s} peak memory: {memory}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20_000)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100, help="queue_batch")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--queue", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--claim-sources", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per round at most")
    parser.add_argument("--nginx", help="the nginx binary (default: found on PATH or /usr/sbin)")
    parser.add_argument("--keep", action="store_true", help="keep the run folder (logs)")
    args = parser.parse_args()
    binary = check_services(args)
    # Stopped with SIGTERM (kill, timeout): clean up as after Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    tmp = tempfile.mkdtemp(prefix="fw-scale-")
    root = Path(tmp)
    os.chmod(root, 0o755)  # nginx's worker may run as another user
    try:
        started = time.perf_counter()
        size = h.write_feeds(root / "www", args.feeds)
        version = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip()
        print(
            f"scale_out: {args.feeds:,} feeds ({size / 2**20:,.0f} MB,"
            f" {size / args.feeds / 1024:.1f} kB each on average)"
            f" written in {time.perf_counter() - started:.1f} s;"
            f" {version.split(': ')[-1]} on {args.hosts} loopback hosts;"
            f" PostgreSQL + {args.queue.split(':')[0]}; {os.cpu_count()} cores,"
            f" load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        with h.nginx(binary, root / "www", args.hosts) as port:
            urls = [
                f"http://127.0.0.{n % args.hosts + 1}:{port}/f/{n}.xml" for n in range(args.feeds)
            ]
            for workers in [int(w) for w in args.workers.split(",") if w]:
                one_setup(args, root, urls, workers)
        if args.claim_sources:
            claim = Path(__file__).resolve().parent / "claim_query.py"
            out = (
                subprocess.run(
                    [
                        sys.executable,
                        str(claim),
                        "--url",
                        args.pg,
                        "--sources",
                        str(args.claim_sources),
                        "--claims",
                        str(args.claims),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()
            )
            print(f"claim query: {out[-1]}", flush=True)
    finally:
        if args.keep:
            print(f"run folder kept: {root}")
        else:
            subprocess.run(["rm", "-rf", str(root)], check=False)


if __name__ == "__main__":
    main()
