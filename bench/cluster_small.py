"""A small distributed refresh next to the embedded one: feeds per second.

Serves ``--feeds`` RSS feeds (default 400, 20 entries each, with ETags) from
``--hosts`` loopback addresses (127.0.0.1, 127.0.0.2, ...: separate hosts for
the per-host politeness), then times, from a fresh store each:

- embedded: ``feedwright build -q`` (first refresh and publish, one process),
  on SQLite and on PostgreSQL;
- distributed: ``feedwright run`` with ``queue:`` (the dispatcher) and 1, then
  2, ``feedwright worker`` processes, from their start until every source
  was fetched once (polling the store), on PostgreSQL and Redis.

and prints feeds per second for each. A small-scale check of the cluster
code paths on one machine (all processes share its cores); the full-scale
benchmark is bench/scale_out.py.

    python bench/cluster_small.py [--feeds 400] [--hosts 4]
        [--pg postgresql://postgres@127.0.0.1:5432/test] [--queue redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

from feedwright.store import Store

ENTRIES = 20


def feed(n: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {n} entry {k}</title><link>https://f{n}.example/{k}</link>"
        f"<guid>https://f{n}.example/{k}</guid>"
        f"<pubDate>Mon, {k % 28 + 1:02d} Jun 2025 10:00:00 +0000</pubDate>"
        f"<description>{'Some text of the entry. ' * 20}</description></item>"
        for k in range(ENTRIES)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>'
        f"<link>https://f{n}.example/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def serve(count: int, hosts: int) -> tuple[list[str], list[ThreadingHTTPServer]]:
    bodies = {f"/feed{n}.xml": feed(n) for n in range(count)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = bodies.get(self.path)
            if body is None:
                self.send_error(404)
                return
            etag = f'"{len(body)}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    servers, urls = [], []
    for h in range(hosts):
        server = ThreadingHTTPServer((f"127.0.0.{h + 1}", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    for n in range(count):
        host, port = servers[n % hosts].server_address[:2]
        urls.append(f"http://{host}:{port}/feed{n}.xml")
    return urls, servers


def site(folder: Path, urls: list[str], state: str, queue: str | None) -> Path:
    folder.mkdir(parents=True)
    lines = ["site:", "  title: Bench", "  url: https://example.com/", "sources:"]
    lines += [f"  - feed: {url}" for url in urls]
    lines += ["output:", "  dir: out", "schedule:", "  every: 1h", f"state: {state}"]
    if queue:
        lines += [f"queue: {queue}", "queue_batch: 50"]
    path = folder / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fetched(state: str) -> int:
    with Store.open(state) as store:
        return sum(1 for s in store.source_states().values() if s.last_success is not None)


def feedwright(config: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "feedwright.cli", *args, "-c", str(config)],
        cwd=config.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def distributed(
    folder: Path, urls: list[str], pg: str, queue: str, workers: int
) -> tuple[float, int]:
    schema, state = scratch_schema(pg)
    config = site(folder, urls, state, queue)
    procs = []
    try:
        started = time.perf_counter()
        procs.append(feedwright(config, "run"))
        procs += [feedwright(config, "worker", "--concurrency", "4") for _ in range(workers)]
        done = 0
        while done < len(urls):
            time.sleep(0.2)
            try:
                done = fetched(state)
            except Exception:
                done = 0  # the dispatcher is still creating the schema
            if time.perf_counter() - started > 600:
                break
        took = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait()
        with psycopg.connect(pg, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
    return took, done


def scratch_schema(pg: str) -> tuple[str, str]:
    schema = f"fw_cluster_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    return schema, f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"


def embedded_pg(folder: Path, urls: list[str], pg: str) -> float:
    schema, state = scratch_schema(pg)
    config = site(folder, urls, state, None)
    try:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "feedwright.cli", "build", "-q", "-c", str(config)], check=True
        )
        return time.perf_counter() - started
    finally:
        with psycopg.connect(pg, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=400)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--queue", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    urls, servers = serve(args.feeds, args.hosts)
    with tempfile.TemporaryDirectory(prefix="fw-cluster-bench-") as tmp:
        root = Path(tmp)
        config = site(root / "embedded", urls, "state.db", None)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "feedwright.cli", "build", "-q", "-c", str(config)],
            check=True,
            env=dict(os.environ),
        )
        took = time.perf_counter() - started
        print(f"embedded build, SQLite:  {args.feeds / took:7.1f} feeds/s ({took:.1f}s)")
        took = embedded_pg(root / "embedded-pg", urls, args.pg)
        print(f"embedded build, PostgreSQL: {args.feeds / took:4.1f} feeds/s ({took:.1f}s)")
        for workers in (1, 2):
            took, done = distributed(root / f"w{workers}", urls, args.pg, args.queue, workers)
            print(
                f"distributed, {workers} worker{'s' if workers > 1 else ' '}:  "
                f"{done / took:7.1f} feeds/s ({took:.1f}s, {done}/{args.feeds} fetched,"
                " from the processes' start)"
            )
    for server in servers:
        server.shutdown()


if __name__ == "__main__":
    main()
