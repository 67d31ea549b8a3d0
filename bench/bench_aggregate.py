"""Time the remote-feed refresh against 1,000 feeds served from loopback (issues 3 and 5).

What it does, in order:

1. Generates F feeds (default 1,000; seeded, so always the same bytes) into
   ``bench/out/feeds-F-SEED/``: 20-50 entries each, HTML content, ~80 KB per
   feed, RSS 2.0 and Atom 1.0 alternating, some relative links and some
   hostile markup for the sanitiser.
2. Starts a threaded HTTP/1.1 (keep-alive) server on 127.0.0.1 in a separate
   *process* (its CPU never shares the client's GIL). It answers with an
   ETag and Last-Modified and gives 304 to conditional requests that match,
   counts 200s and 304s, and stops itself after ``--lifetime`` seconds at
   the latest (or when the benchmark ends).
3. Writes a config with those F feed sources and no posts.
4. For each of ``--repeat`` runs: a fresh client *process* with a fresh,
   empty store calls ``asyncio.run(update.refresh(config, store, now=...))``
   twice, in-process: round 1 (fetch + parse + store of everything) and
   round 2 (everything answers 304). Each round's wall time, CPU time
   (main process + parse workers, so cpu/wall near 2.0 means both cores
   busy), outcomes and the server's 200/304 counts are recorded; the
   client's peak RSS comes from ``/usr/bin/time -v`` around it.
5. Prints medians and min–max, feeds/s and the round-2 speed-up.

``--cli`` also times two whole-process ``feedwright build`` runs on the same
config (fresh state; then again, which refreshes every feed conditionally:
``update.is_due`` fetches every source without an explicit ``every``).
``--profile`` runs both rounds once more under cProfile and prints the top
15 functions by cumulative and by own time; parsing then runs inline in the
main thread (no process pool, no worker thread) so its cost shows.
``--serial`` times with inline parsing (no pool) too.
``--quick`` is F=50, one repeat: a smoke test in a few seconds.

``--peers reader,floor`` (or ``--peer reader --peer floor``) runs the
issue-5 peers against the same served feeds in each repeat, right after
feedwright's client, and prints their rows and the ratios in the same table:
``reader`` is lemon24/reader's ``update_feeds`` (``bench/peer_reader.py``:
first update, then again, every feed conditional), ``floor`` is aiohttp at
50 concurrent plus a bare ``lxml.etree.fromstring`` of each body
(``bench/peer_floor.py``). Peers run under their own virtualenv's Python,
``bench/out/peer-venv`` (``--peer-venv``), never the project's. A peer
that is not installed there is an error (exit 2) naming the command that
installs it; ``--install-peers`` creates the venv and pip-installs them.

Usage::

    python bench/bench_aggregate.py [--feeds 1000] [--repeat 3] [--quick]
        [--cli] [--profile] [--serial] [--seed 1] [--lifetime 900]
        [--peers reader,floor] [--install-peers] [--peer-venv DIR] [--reader-workers 1]

Traffic goes only to 127.0.0.1. Internal modes (``--serve``, ``--client``)
are how the script starts its own child processes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import Executor, Future
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from xml.sax.saxutils import escape

import gen_posts
import measure
import peer_common

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
PEER_VENV = OUT / "peer-venv"
# reader's vendored feedparser imports ``sgmllib``, which recent feedparser
# releases no longer pull in, so sgmllib3k is named explicitly.
PEER_PACKAGES = ("reader", "sgmllib3k", "aiohttp", "lxml")
# name -> (client script, modules that must import in the peer venv)
PEERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "reader": ("peer_reader.py", ("reader", "sgmllib")),
    "floor": ("peer_floor.py", ("aiohttp", "lxml.etree")),
}
LAST_MODIFIED = format_datetime(datetime(2026, 1, 1, tzinfo=UTC), usegmt=True)
FEED_BYTES = 80_000

P = ParamSpec("P")
T = TypeVar("T")


# --- feeds ------------------------------------------------------------------


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    """A pool of HTML paragraphs that entries draw from (much faster than fresh text)."""
    pool: list[str] = []
    for i in range(count):
        text = " ".join(gen_posts.sentence(rng, rng.random() < 0.5) for _ in range(3))
        roll = i % 10
        if roll == 0:
            text += f' <a href="/related/{i}/">相关阅读</a>'
        elif roll == 1:
            text += f' <img src="https://img.example.com/{i}.jpg" alt="图 {i}" width="400">'
        elif roll == 2:
            text += f' <a href="https://example.org/{i}" onclick="steal()">source</a>'
        elif roll == 3:
            text = f"<strong>{text}</strong> <script>alert({i})</script>"
        elif roll == 4:
            text += " &amp; &lt;code&gt; &copy; &#169;"
        pool.append(f"<p>{text}</p>")
    return pool


def _entry_html(rng: random.Random, pool: list[str], size: int) -> str:
    parts: list[str] = []
    total = 0
    while total < size:
        para = rng.choice(pool)
        parts.append(para)
        total += len(para.encode())
    return "\n".join(parts)


def make_feed(n: int, rng: random.Random, pool: list[str]) -> bytes:
    entries = rng.randint(20, 50)
    per_entry = FEED_BYTES // entries - 1100  # markup, title, summary, overshoot
    site = f"https://site-{n}.example.com/"
    categories = gen_posts.category_names(50)
    newest = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(minutes=rng.randrange(100_000))
    items: list[str] = []
    atom = n % 2 == 1
    for i in range(entries):
        when = newest - timedelta(hours=i * rng.randint(1, 30))
        title = escape(gen_posts.sentence(rng, rng.random() < 0.5)[:60])
        html = _entry_html(rng, pool, per_entry)
        cats = rng.sample(categories, rng.randint(1, 2))
        link = f"{site}{when:%Y/%m}/entry-{i}.html"
        author = rng.choice(gen_posts.AUTHORS)
        if atom:
            stamp = when.isoformat().replace("+00:00", "Z")
            cat_xml = "".join(f'<category term="{escape(c)}"/>' for c in cats)
            items.append(
                f"<entry><title>{title}</title><id>tag:site-{n}.example.com,2026:{i}</id>"
                f'<link rel="alternate" href="{link}"/><published>{stamp}</published>'
                f"<updated>{stamp}</updated><author><name>{escape(author)}</name></author>"
                f'{cat_xml}<summary type="html">{escape(html[:300])}</summary>'
                f'<content type="html">{escape(html)}</content></entry>'
            )
        else:
            cat_xml = "".join(f"<category>{escape(c)}</category>" for c in cats)
            items.append(
                f"<item><title>{title}</title><link>{link}</link>"
                f'<guid isPermaLink="false">site-{n}-entry-{i}</guid>'
                f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
                f"<dc:creator>{escape(author)}</dc:creator>{cat_xml}"
                f"<description>{escape(html[:300])}</description>"
                f"<content:encoded><![CDATA[{html}]]></content:encoded></item>"
            )
    body = "\n".join(items)
    if atom:
        doc = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">'
            f"<title>Feed {n} 资讯</title><id>tag:site-{n}.example.com,2026:feed</id>"
            f'<link rel="alternate" href="{site}"/>'
            f"<updated>{newest.isoformat().replace('+00:00', 'Z')}</updated>\n{body}\n</feed>\n"
        )
    else:
        doc = (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
            f"<title>Feed {n} 资讯</title><link>{site}</link>"
            f"<description>Synthetic feed {n}</description><language>zh-CN</language>\n"
            f"{body}\n</channel></rss>\n"
        )
    return doc.encode("utf-8")


def generate_feeds(count: int, seed: int) -> Path:
    """Write the feeds once per (count, seed); later runs reuse them."""
    folder = OUT / f"feeds-{count}-{seed}"
    done = folder / ".complete"
    if done.exists():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    pool = _paragraphs(rng, 3000)
    for n in range(count):
        (folder / f"feed-{n:04d}.xml").write_bytes(make_feed(n, rng, pool))
    done.write_text("ok\n")
    return folder


# --- server (its own process) -----------------------------------------------


class _Feeds:
    def __init__(self, folder: Path) -> None:
        self.bodies: dict[str, tuple[bytes, str, str]] = {}
        for path in sorted(folder.glob("feed-*.xml")):
            body = path.read_bytes()
            kind = "atom" if b"<feed" in body[:200] else "rss"
            etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
            self.bodies["/" + path.name] = (body, etag, f"application/{kind}+xml; charset=utf-8")
        self.counts = {"200": 0, "304": 0, "404": 0}
        self.lock = threading.Lock()

    def count(self, status: int) -> None:
        with self.lock:
            self.counts[str(status)] = self.counts.get(str(status), 0) + 1


def serve(folder: Path, lifetime: float) -> int:
    feeds = _Feeds(folder)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real server

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/__stats":
                times = os.times()
                with feeds.lock:
                    stats = dict(feeds.counts, cpu=round(times.user + times.system, 3))
                self._send(200, json.dumps(stats).encode(), {"Content-Type": "application/json"})
                return
            if self.path == "/__quit":
                self._send(200, b"bye\n", {"Content-Type": "text/plain"})
                threading.Thread(target=server.shutdown, daemon=True).start()
                return
            found = feeds.bodies.get(self.path)
            if found is None:
                feeds.count(404)
                self._send(404, b"not found\n", {"Content-Type": "text/plain"})
                return
            body, etag, ctype = found
            validators = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if (inm is not None and etag in inm) or (inm is None and ims == LAST_MODIFIED):
                feeds.count(304)
                self._send(304, b"", validators)
                return
            feeds.count(200)
            self._send(200, body, {"Content-Type": ctype, **validators})

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 512  # the default backlog of 5 drops bursts of connects

    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    # The server ends itself even if the benchmark dies without saying goodbye.
    timer = threading.Timer(lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    server.serve_forever()
    server.server_close()
    return 0


class Served:
    """The server process, started and stopped by the benchmark."""

    def __init__(self, folder: Path, lifetime: float) -> None:
        cmd = [sys.executable, __file__, "--serve", str(folder), "--lifetime", str(lifetime)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.proc.kill()
            measure.fail(f"feed server did not start (said {line!r})")
        self.base = f"http://127.0.0.1:{line}"

    def stats(self) -> dict[str, float]:
        with urllib.request.urlopen(self.base + "/__stats", timeout=10) as resp:
            data: dict[str, float] = json.loads(resp.read())
            return data

    def stop(self) -> None:
        try:
            urllib.request.urlopen(self.base + "/__quit", timeout=5).close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def diff(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: round(after.get(k, 0) - before.get(k, 0), 3) for k in after}


# --- client (its own process) -----------------------------------------------


class InlineExecutor(Executor):
    """Runs each job at once in the calling thread, so cProfile sees parsing."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def client(config_path: Path, base: str, result: Path, profile: Path | None, inline: bool) -> int:
    """Two refresh rounds in this process, with a fresh store; results as JSON."""
    import asyncio
    import cProfile
    from collections import Counter

    started = time.perf_counter()
    from feedwright import config as fwconfig
    from feedwright import update
    from feedwright.store import Store

    imported = time.perf_counter() - started
    cfg = fwconfig.load(config_path)
    if cfg.state.exists():
        measure.fail(f"state {cfg.state} should have been removed before the run")
    from feedwright.parallel import Pool
    from feedwright.pipeline import WORK_TIMEOUT, WORKER_NICENESS

    # Parsing always runs in the worker pool now (update.refresh takes a Pool);
    # --serial/--profile keep their flags but no longer parse inline.
    pool = Pool(timeout=WORK_TIMEOUT, nice=WORKER_NICENESS, fork=True)
    pool.start()
    if profile is not None:
        # cProfile sees one thread only; refresh hands parsing to a worker thread.
        async def to_thread(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
            return func(*args, **kwargs)

        asyncio.to_thread = to_thread
    rounds: list[dict[str, Any]] = []
    with Store.open(cfg.state) as store:
        for n in (1, 2):
            before = peer_common.stats(base)
            cpu0 = peer_common.cpu()
            t0 = time.perf_counter()
            prof = cProfile.Profile() if profile is not None else None
            if prof is not None:
                prof.enable()
            results = asyncio.run(update.refresh(cfg, store, now=datetime.now(UTC), pool=pool))
            if prof is not None:
                prof.disable()
                prof.dump_stats(f"{profile}.{n}")
            wall = time.perf_counter() - t0
            cpu1 = peer_common.cpu()
            errors = [f"{r.url}: {r.error}" for r in results if r.error is not None]
            rounds.append(
                {
                    "wall": wall,
                    "cpu_main": cpu1[0] - cpu0[0],
                    "cpu_workers": cpu1[1] - cpu0[1],
                    "outcomes": dict(Counter(r.outcome for r in results)),
                    "new": sum(r.new for r in results),
                    "server": diff(peer_common.stats(base), before),
                    "errors": errors[:5],
                }
            )
        entries = len(store.entries([s.key for s in cfg.feed_sources]))
    pool.close()
    result.write_text(json.dumps({"import": imported, "rounds": rounds, "entries": entries}))
    return 0


# --- the benchmark ----------------------------------------------------------


def write_config(folder: Path, base: str, count: int) -> Path:
    lines = [
        "# Generated by bench/bench_aggregate.py: remote feeds only, no posts.",
        "site:",
        "  title: Aggregation bench",
        "  url: https://news.example.com/",
        "sources:",
    ]
    lines += [f"  - feed: {base}/feed-{n:04d}.xml" for n in range(count)]
    lines += [
        "output:",
        "  dir: public",
        "  formats: [atom, rss]",
        "  limit: 20",
        "state: .feedwright/state.db",
        "",
    ]
    path = folder / "config.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _clean(work: Path) -> None:
    for name in ("public", ".feedwright"):
        if (work / name).exists():
            shutil.rmtree(work / name)


def _fmt(values: list[float]) -> str:
    spread = f"{min(values):.3f}–{max(values):.3f}"
    return f"{statistics.median(values):8.3f}  {spread:<15}"


def run_client(
    args: argparse.Namespace, work: Path, config: Path, base: str, env: dict[str, str]
) -> tuple[dict[str, Any], measure.Measured]:
    _clean(work)
    result = work / "client.json"
    cmd = [sys.executable, __file__, "--client", str(config), "--base", base]
    cmd += ["--result", str(result)]
    if args.serial:
        cmd.append("--inline")
    m = measure.run(cmd, env=env, cwd=work)
    if m.returncode != 0:
        sys.stderr.write(m.stderr[-4000:])
        measure.fail(f"client exited {m.returncode}", code=1)
    data: dict[str, Any] = json.loads(result.read_text())
    return data, m


# --- peers (their own virtualenv) ---------------------------------------------


def _install_hint(venv: Path) -> str:
    default = " --peer-venv " + str(venv) if venv != PEER_VENV else ""
    return (
        f"run `python bench/bench_aggregate.py --peers reader,floor --install-peers{default}` "
        f"once, or by hand: `python -m venv {venv} && {venv}/bin/python -m pip install "
        f"{' '.join(PEER_PACKAGES)}`"
    )


def _missing(python: Path, peers: list[str]) -> list[str]:
    """The peers whose modules do not import under ``python`` (all of them if it is absent)."""
    if not python.exists():
        return list(peers)
    missing: list[str] = []
    for name in peers:
        probe = "; ".join(f"import {module}" for module in PEERS[name][1])
        done = subprocess.run([str(python), "-c", probe], capture_output=True, check=False)
        if done.returncode != 0:
            missing.append(name)
    return missing


def ensure_peers(peers: list[str], venv: Path, install: bool) -> Path:
    """The peer venv's python, with every peer importable; installs or fails loudly."""
    python = venv / "bin" / "python"
    missing = _missing(python, peers)
    if missing and install:
        print(f"peers: installing {' '.join(PEER_PACKAGES)} into {venv} ...", flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", *PEER_PACKAGES]
        if subprocess.run(pip, check=False).returncode != 0:
            measure.fail(f"pip install into {venv} failed; {_install_hint(venv)}")
        missing = _missing(python, peers)
    if missing:
        where = f"{venv} does not exist" if not python.exists() else f"not importable in {venv}"
        measure.fail(
            f"peer {', '.join(missing)} missing ({where}); the benchmark does not skip a "
            f"missing peer. Install: {_install_hint(venv)}"
        )
    return python


def run_peer(
    name: str, python: Path, work: Path, base: str, count: int, workers: int
) -> tuple[dict[str, Any], measure.Measured]:
    result = work / f"peer-{name}.json"
    result.unlink(missing_ok=True)
    cmd = [str(python), str(BENCH / PEERS[name][0]), "--base", base, "--count", str(count)]
    cmd += ["--result", str(result), "--work", str(work / f"peer-{name}")]
    cmd += ["--workers", str(workers)]
    # The peer venv must not see the project's PYTHONPATH (src/, the shared venv).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    m = measure.run(cmd, env=env, cwd=work)
    if m.returncode != 0:
        sys.stderr.write(m.stderr[-4000:])
        measure.fail(f"peer {name} exited {m.returncode}", code=1)
    data: dict[str, Any] = json.loads(result.read_text())
    shutil.rmtree(work / f"peer-{name}", ignore_errors=True)
    return data, m


def _print_run(label: str, data: dict[str, Any]) -> None:
    r1, r2 = data["rounds"]
    print(
        f"  {label}: round 1 {r1['wall']:.2f}s {r1['outcomes']} "
        f"server {r1['server']}; round 2 {r2['wall']:.3f}s {r2['outcomes']} "
        f"server {r2['server']}",
        flush=True,
    )
    for r in (r1, r2):
        for error in r["errors"]:
            print(f"    error: {error}")


def benchmark(args: argparse.Namespace) -> int:
    count = 50 if args.quick else args.feeds
    repeat = 1 if args.quick else args.repeat
    python = ensure_peers(args.peers, args.peer_venv, args.install_peers) if args.peers else None
    print(f"feeds: generating/reusing {count} feeds (seed {args.seed}) ...", flush=True)
    folder = generate_feeds(count, args.seed)
    size = sum(p.stat().st_size for p in folder.glob("feed-*.xml"))
    work = Path(tempfile.mkdtemp(prefix="fw-bench-agg-"))
    served = Served(folder, args.lifetime)
    env = measure.feedwright_env()
    try:
        config = write_config(work, served.base, count)
        runs: list[tuple[dict[str, Any], measure.Measured]] = []
        peer_runs: dict[str, list[tuple[dict[str, Any], measure.Measured]]] = {
            name: [] for name in args.peers
        }
        for i in range(repeat):
            data, m = run_client(args, work, config, served.base, env)
            _print_run(f"run {i + 1} feedwright", data)
            runs.append((data, m))
            # Each peer right after feedwright, so machine noise hits all of them alike.
            for name in args.peers:
                assert python is not None
                got = run_peer(name, python, work, served.base, count, args.reader_workers)
                _print_run(f"run {i + 1} {name}", got[0])
                peer_runs[name].append(got)
        report(runs, count, size, args.serial, peer_runs)
        if args.cli:
            cli_builds(work, config, served, env, count)
        if args.profile:
            _clean(work)
            dump = work / "round1.prof"
            cmd = [sys.executable, __file__, "--client", str(config), "--base", served.base]
            cmd += ["--result", str(work / "profile.json"), "--profile-out", str(dump)]
            cmd += ["--inline"]
            done = subprocess.run(cmd, env=env, cwd=work, check=False)
            if done.returncode != 0:
                measure.fail("profiled client failed", code=1)
            for n, what in ((1, "fetch + parse + store"), (2, "all 304")):
                title = f"refresh round {n} ({what}), parsing inline in the main thread"
                measure.print_profile(Path(f"{dump}.{n}"), title=title)
                measure.print_profile(Path(f"{dump}.{n}"), title=title, sort="tottime")
    finally:
        served.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


Runs = list[tuple[dict[str, Any], measure.Measured]]


def _median_wall(runs: Runs, n: int) -> float:
    walls: list[float] = [d["rounds"][n]["wall"] for d, _ in runs]
    return statistics.median(walls)


def report(
    runs: Runs, count: int, size: int, serial: bool, peer_runs: dict[str, Runs] | None = None
) -> None:
    peer_runs = peer_runs or {}
    print()
    print(
        f"{count} feeds, {size / 1e6:.1f} MB, {runs[0][0]['entries']} entries stored; "
        f"parsing {'inline (--serial)' if serial else 'with the default pool'}; "
        f"feedwright import {statistics.median(d['import'] for d, _ in runs):.3f}s"
    )
    for name, got in peer_runs.items():
        entries = got[0][0].get("entries")
        stored = f", {entries} entries stored" if entries is not None else ""
        print(f"peer {name}: {got[0][0]['version']}{stored}")
    print(
        f"{'client':<11} {'round':<22} {'median s':>8}  {'min–max s':<15} {'feeds/s':>8}"
        f" {'cpu/wall':>8}  {'server 200/304':>14}  {'peak MB':>7}"
    )
    for client_name, got in (("feedwright", runs), *peer_runs.items()):
        peak = max(m.rss_mb for _, m in got)
        for n, name in enumerate(("1: fetch+parse+store", "2: all conditional")):
            rounds = [d["rounds"][n] for d, _ in got]
            walls = [r["wall"] for r in rounds]
            med = statistics.median(walls)
            cpu = statistics.median((r["cpu_main"] + r["cpu_workers"]) / r["wall"] for r in rounds)
            s = rounds[-1]["server"]
            print(
                f"{client_name:<11} {name:<22} {_fmt(walls)} {count / med:8.0f} {cpu:8.2f}"
                f"  {int(s.get('200', 0)):>6}/{int(s.get('304', 0)):<6}"
                f"  {f'{peak:.1f}' if n == 0 else '':>7}"
            )
    ratio = _median_wall(runs, 0) / _median_wall(runs, 1)
    peak = max(m.rss_mb for _, m in runs)
    procs = statistics.median(m.wall for _, m in runs)
    print(f"feedwright round 1 / round 2: {ratio:.1f}× (issue 5 target ≥ 10×)")
    print(f"client process: peak RSS {peak:.1f} MB (largest single process), wall {procs:.2f}s")
    print(
        "server CPU (round 1 / round 2): "
        f"{statistics.median(d['rounds'][0]['server']['cpu'] for d, _ in runs):.2f}s / "
        f"{statistics.median(d['rounds'][1]['server']['cpu'] for d, _ in runs):.2f}s"
    )
    if "reader" in peer_runs:
        first = _median_wall(peer_runs["reader"], 0) / _median_wall(runs, 0)
        again = _median_wall(peer_runs["reader"], 1) / _median_wall(runs, 1)
        verdict = "met" if first >= 3 else "NOT met"
        print(
            f"reader / feedwright, round 1: {first:.2f}× (issue 5 target ≥ 3×: {verdict}); "
            f"round 2: {again:.2f}×"
        )
    if "floor" in peer_runs:
        first = _median_wall(runs, 0) / _median_wall(peer_runs["floor"], 0)
        again = _median_wall(runs, 1) / _median_wall(peer_runs["floor"], 1)
        verdict = "met" if first <= 10 else "NOT met"
        print(
            f"feedwright / floor, round 1: {first:.2f}× (issue 5 target ≤ 10×: {verdict}); "
            f"round 2: {again:.2f}×"
        )


def cli_builds(work: Path, config: Path, served: Served, env: dict[str, str], count: int) -> None:
    _clean(work)
    print("\nwhole-process `feedwright build` (includes publishing):")
    for name in ("first build (fresh state)", "second build (conditional)"):
        before = served.stats()
        m = measure.run(
            [sys.executable, "-m", "feedwright.cli", "build", "--json", "-c", str(config)],
            env=env,
            cwd=work,
        )
        s = diff(served.stats(), before)
        if m.returncode not in (0, 1):
            sys.stderr.write(m.stderr[-4000:])
            measure.fail(f"feedwright build exited {m.returncode}", code=1)
        print(
            f"  {name:<27} {m.wall:7.2f}s {count / m.wall:7.0f} feeds/s  peak {m.rss_mb:6.1f} MB"
            f"  cpu/wall {m.cpu / m.wall:4.2f}  exit {m.returncode}"
            f"  server 200/304 {int(s.get('200', 0))}/{int(s.get('304', 0))}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="50 feeds, one run")
    parser.add_argument("--cli", action="store_true", help="also time `feedwright build` twice")
    parser.add_argument("--profile", action="store_true", help="cProfile round 1 (inline parse)")
    parser.add_argument("--serial", action="store_true", help="parse inline, without the pool")
    parser.add_argument("--lifetime", type=float, default=900.0, help="server stops after (s)")
    parser.add_argument(
        "--peers", default="", help=f"comma-separated peers to run too: {', '.join(PEERS)}"
    )
    parser.add_argument(
        "--peer", action="append", default=[], choices=sorted(PEERS), help="one peer (repeatable)"
    )
    parser.add_argument(
        "--install-peers", action="store_true", help="create the peer venv and pip-install peers"
    )
    parser.add_argument("--peer-venv", type=Path, default=PEER_VENV, help="the peers' virtualenv")
    parser.add_argument(
        "--reader-workers", type=int, default=1, help="update_feeds(workers=...) for reader"
    )
    # Internal: the script's own child processes.
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--client", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--inline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        return serve(args.serve, args.lifetime)
    if args.client is not None:
        return client(args.client, args.base, args.result, args.profile_out, args.inline)
    if args.feeds < 1 or args.repeat < 1:
        measure.fail("--feeds and --repeat must be at least 1")
    peers = [p.strip() for p in args.peers.split(",") if p.strip()] + args.peer
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        measure.fail(f"unknown peer {', '.join(unknown)}; choose from {', '.join(PEERS)}")
    args.peers = list(dict.fromkeys(peers))
    args.peer_venv = args.peer_venv.resolve()
    return benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
