"""The pieces of bench/scale_out.py: feeds on disk, nginx, a scratch PostgreSQL
schema, feedwright processes, their progress in the store and their peak memory.

Nothing here installs anything: :func:`find_nginx` names the Debian package
when nginx is missing.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

NGINX_HINT = (
    "nginx not found (looked on PATH and in /usr/sbin): install it with"
    " `apt-get install -y nginx` (Debian's package) or pass --nginx /path/to/nginx"
)


# --------------------------------------------------------------------------- feeds


def feed_body(n: int) -> bytes:
    """Feed ``n``: RSS 2.0 of 5-40 entries, each 150-1,500 characters of text
    (a deterministic mix: most feeds 5-30 kB, some up to ~60 kB)."""
    rng = random.Random(n)
    words = ("river", "market", "council", "library", "harbour", "school", "report", "night")
    items = []
    for k in range(rng.randint(5, 40)):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(25, 250)))
        items.append(
            f"<item><title>Feed {n} entry {k}: {text[:60]}</title>"
            f"<link>https://f{n}.example/{k}</link><guid>https://f{n}.example/{k}</guid>"
            f"<pubDate>Mon, {k % 28 + 1:02d} Jun 2025 {k % 24:02d}:00:00 +0000</pubDate>"
            f"<description>&lt;p&gt;{text}&lt;/p&gt;</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {n}</title><link>https://f{n}.example/</link>"
        f"<description>Bench feed {n}</description>{''.join(items)}</channel></rss>"
    ).encode()


def write_feeds(root: Path, count: int) -> int:
    """``count`` feeds as root/f/<n>.xml; their total size in bytes."""
    folder = root / "f"
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for n in range(count):
        body = feed_body(n)
        (folder / f"{n}.xml").write_bytes(body)
        total += len(body)
    return total


# --------------------------------------------------------------------------- nginx


def find_nginx(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def nginx(binary: str, root: Path, hosts: int) -> Iterator[int]:
    """Serve ``root`` on 127.0.0.1 ... 127.0.0.<hosts> (one port), static files
    with ETags (nginx's default) and 304s; yields the port."""
    port = free_port()
    work = root.parent / "nginx"
    work.mkdir(exist_ok=True)
    listens = "\n".join(f"    listen 127.0.0.{h + 1}:{port};" for h in range(hosts))
    conf = f"""
worker_processes 1;
worker_rlimit_nofile 8192;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {work}/body;
  proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fastcgi;
  uwsgi_temp_path {work}/uwsgi;
  scgi_temp_path {work}/scgi;
  types {{ application/rss+xml xml; }}
  keepalive_requests 100000;
  server {{
{listens}
    root {root};
  }}
}}
"""
    (work / "nginx.conf").write_text(conf, encoding="utf-8")
    proc = subprocess.Popen(
        [binary, "-p", str(work), "-c", str(work / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise SystemExit(f"nginx did not start: {err.strip()}") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- store


@contextmanager
def scratch_schema(pg: str) -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards; yields the state URL for it."""
    schema = f"fw_scale_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(pg, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def fetched(state: str, rounds: int) -> int:
    """Sources requested at least ``rounds`` times (0 while the schema is being made)."""
    try:
        with psycopg.connect(state, autocommit=True) as db:
            row = db.execute("SELECT count(*) FROM sources WHERE requests >= %s", (rounds,))
            return int(row.fetchone()[0])  # type: ignore[index]
    except psycopg.Error:
        return 0


def make_all_due(state: str) -> int:
    """Every source due now (their validators kept): the next round is all 304s."""
    with psycopg.connect(state, autocommit=True) as db:
        return db.execute("UPDATE sources SET due_at = 0").rowcount


def site(folder: Path, urls: list[str], state: str, queue: str | None, batch: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["site:", "  title: Scale bench", "  url: https://example.com/", "sources:"]
    lines += [f"  - feed: {url}" for url in urls]
    lines += ["output:", "  dir: out", "schedule:", "  every: 6h", f"state: {state}"]
    if queue:
        lines += [f"queue: {queue}", f"queue_batch: {batch}"]
    path = folder / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- processes


def peak_rss(pid: int) -> int:
    """VmHWM of ``pid`` in bytes (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and its children (user + system), in seconds."""
    total = 0.0
    for each in [pid, *children(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found += [int(c) for c in text]
    except OSError:
        pass
    return found


@dataclass
class Proc:
    """A feedwright process; its peak memory and that of its largest child
    (the parse pool's processes), sampled while it runs."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    peak: int = 0
    child_peak: int = 0

    def sample(self) -> None:
        self.peak = max(self.peak, peak_rss(self.popen.pid))
        for child in children(self.popen.pid):
            self.child_peak = max(self.child_peak, peak_rss(child))

    def stop(self) -> None:
        self.sample()
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def start(config: Path, name: str, *args: str) -> Proc:
    log = config.parent / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "feedwright.cli", *args, "-c", str(config)],
            cwd=config.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Proc(name, popen, log)


def published_count(log: Path) -> int:
    """How many publishes (`published ...` or `up to date ...`) ``log`` shows."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    return text.count("published ") + text.count("up to date: ")


@dataclass
class Round:
    """A refresh round's progress: (seconds since its start, sources done)."""

    total: int
    points: list[tuple[float, int]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.points[-1][0] if self.points else 0.0

    @property
    def done(self) -> int:
        return self.points[-1][1] if self.points else 0

    def rate(self) -> float:
        """Feeds per second over the whole round (its start to the last source)."""
        return self.done / self.seconds if self.seconds else 0.0

    def sustained(self, low: float = 0.1, high: float = 0.9) -> float:
        """Feeds per second between ``low`` and ``high`` of the round's sources
        (start-up and the tail left out)."""
        lo = next((p for p in self.points if p[1] >= self.total * low), None)
        hi = next((p for p in self.points if p[1] >= self.total * high), None)
        if lo is None or hi is None or hi[0] <= lo[0]:
            return self.rate()
        return (hi[1] - lo[1]) / (hi[0] - lo[0])


def follow(
    state: str, rounds: int, total: int, procs: list[Proc], timeout: float, started: float
) -> Round:
    """Poll the store until ``total`` sources were requested ``rounds`` times
    (or ``timeout`` seconds passed); sample the processes' memory meanwhile."""
    progress = Round(total)
    while True:
        done = fetched(state, rounds)
        now = time.perf_counter() - started
        progress.points.append((now, done))
        for proc in procs:
            proc.sample()
        if done >= total or now > timeout:
            return progress
        dead = [p.name for p in procs if p.popen.poll() is not None]
        if dead:
            raise SystemExit(f"{', '.join(dead)} exited: see {procs[0].log.parent}/*.log")
        time.sleep(0.25)


def mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"
