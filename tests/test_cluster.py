"""Distributed refresh (issue 18): ``feedwright run`` with ``queue:`` as the
dispatcher, ``feedwright worker`` processes, a real broker and a real store.

Every case serves its feeds from a loopback HTTP server in the test, runs the
dispatcher and the workers as subprocesses, and compares the published files
with what the embedded mode (``feedwright build``, no queue) publishes from
the same feeds: byte for byte, so a lost or duplicated entry shows. Faults
are real: ``kill -9`` of a worker, a restart of a private PostgreSQL
(initdb/pg_ctl, its own port) and of a private redis-server (its own port),
so the shared services are never disturbed. Each case skips, naming the
service, where it cannot be had.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from conftest import LoopbackServer

from feedwright.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 90.0  # seconds a distributed round may take before the test fails
RABBITMQ = os.environ.get("FEEDWRIGHT_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672//")
PG_BIN = Path("/usr/lib/postgresql/15/bin")

pytest.importorskip("celery", reason="celery is not installed (pip install -e '.[test]')")


# --------------------------------------------------------------------------- services


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def wait_for(what: str, check: Callable[[], Any], timeout: float = DEADLINE) -> Any:
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


class PrivateRedis:
    """A redis-server of the test's own (no persistence): restartable."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed: no private Redis to test with")
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for("the private redis-server", lambda: reachable(self.port), 20)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb as the postgres user,
    its own port and socket folder): restartable without disturbing others."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"no PostgreSQL server binaries in {PG_BIN}: no private PostgreSQL")
        self.folder = Path(tempfile.mkdtemp(prefix="fw-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_postgres = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        run = subprocess.run(
            [
                *self.as_postgres,
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            pytest.skip(f"initdb failed, no private PostgreSQL: {run.stderr.strip()[-300:]}")
        self.pg_ctl("start", "-w", "-o", f"-p {self.port} -k {self.folder} -c fsync=off")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        log = self.folder / "server.log"
        subprocess.run(
            [
                *self.as_postgres,
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(log),
                *list(args),
            ],
            check=True,
            capture_output=True,
        )

    def restart(self, down: float) -> None:
        self.pg_ctl("stop", "-m", "fast", "-w")
        time.sleep(down)
        self.pg_ctl("start", "-w", "-o", f"-p {self.port} -k {self.folder} -c fsync=off")

    def close(self) -> None:
        try:
            self.pg_ctl("stop", "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    yield server
    server.stop()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    yield server
    server.close()


@pytest.fixture
def rabbitmq() -> str:
    if not reachable(5672):
        pytest.skip(f"RabbitMQ at {RABBITMQ} is unreachable")
    return RABBITMQ


@pytest.fixture
def shared_postgres(postgres_url: str) -> str:
    return postgres_url


# --------------------------------------------------------------------------- sites


def feed_body(n: int, entries: int = 3) -> bytes:
    items = "".join(
        f"<item><title>Feed {n} entry {k}</title><link>https://f{n}.example/{k}</link>"
        f"<guid>https://f{n}.example/{k}</guid>"
        f"<pubDate>Mon, {k + 1:02d} Jun 2025 0{n % 10}:00:00 +0000</pubDate>"
        f"<description>Text {k} of feed {n}</description><category>c{n % 3}</category></item>"
        for k in range(entries)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>'
        f"<link>https://f{n}.example/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def serve_feeds(server: LoopbackServer, count: int, delay: float = 0.0) -> list[str]:
    """``count`` RSS feeds on the loopback server, each answering after ``delay``."""
    urls = []
    for n in range(count):
        body = feed_body(n)

        def answer(request: BaseHTTPRequestHandler, body: bytes = body) -> None:
            time.sleep(delay)
            request.send_response(200)
            request.send_header("Content-Type", "application/rss+xml")
            request.send_header("Content-Length", str(len(body)))
            request.send_header("ETag", f'"{len(body)}"')
            request.end_headers()
            request.wfile.write(body)

        urls.append(server.route(f"/feed{n}.xml", handler=answer))
    return urls


def write_site(folder: Path, feeds: Sequence[str], *, state: str, queue: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "posts").mkdir(exist_ok=True)
    (folder / "posts" / "hello.md").write_text(
        "---\ntitle: Hello\ndate: 2025-05-01T10:00:00Z\ncategories: [c0]\n---\nA post.\n",
        encoding="utf-8",
    )
    lines = ["site:", "  title: Cluster", "  url: https://example.com/", "sources:"]
    lines += ["  - posts: posts"] + [f"  - feed: {url}" for url in feeds]
    lines += ["output:", "  dir: out", "  limit: 0", "  formats: [atom, rss, json]"]
    lines += ["schedule:", "  every: 1h", "  jitter: 0", f"state: {state}"]
    if queue is not None:
        lines += [f"queue: {queue}", "queue_lease: 4s", "queue_batch: 5"]
    path = folder / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def published(folder: Path) -> dict[str, bytes]:
    out = folder / "out"
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def embedded(tmp_path: Path, feeds: Sequence[str]) -> dict[str, bytes]:
    """What the embedded mode publishes from the same feeds (SQLite, no queue)."""
    config = write_site(tmp_path / "embedded", feeds, state="state.db", queue=None)
    assert main(["build", "-q", "-c", str(config)]) == 0
    files = published(config.parent)
    assert any(b"Feed 0 entry 2" in body for body in files.values())
    return files


class Processes:
    """The dispatcher and workers of one test, stopped (and reaped) at its end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, config: Path, *args: str) -> subprocess.Popen[bytes]:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PYTHONUNBUFFERED="1")
        log = open(config.parent / f"{args[0]}-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "feedwright.cli", *args, "-c", str(config)],
            cwd=config.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def logs(self, folder: Path) -> str:
        return "\n".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
            for p in sorted(folder.glob("*.log"))
        )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def processes() -> Iterator[Processes]:
    procs = Processes()
    yield procs
    procs.stop()


def wait_same(folder: Path, expected: dict[str, bytes], procs: Processes) -> None:
    """Wait until the dispatcher's output equals ``expected``; fail with the difference."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if (folder / "out").is_dir() and published(folder) == expected:
            return
        for proc in procs.procs:
            assert proc.poll() is None or proc.returncode == -9, procs.logs(folder)
        time.sleep(0.2)
    got = published(folder)
    differ = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
    pytest.fail(
        f"the output never matched the embedded one; differing: {differ[:10]}\n"
        + procs.logs(folder)
    )


def fetches(server: LoopbackServer, count: int, since: int) -> list[int]:
    """How many times each of the ``count`` feeds was fetched since request ``since``."""
    paths = [r.path for r in server.requests[since:] if r.method == "GET"]
    return [paths.count(f"/feed{n}.xml") for n in range(count)]


# --------------------------------------------------------------------------- cases


@pytest.mark.parametrize("store", ["postgres", "sqlite"])
def test_distributed_output_is_byte_identical_to_embedded(
    tmp_path: Path,
    http_server: LoopbackServer,
    redis_server: PrivateRedis,
    processes: Processes,
    store: str,
    request: pytest.FixtureRequest,
) -> None:
    feeds = serve_feeds(http_server, 12)
    expected = embedded(tmp_path, feeds)
    state = request.getfixturevalue("shared_postgres") if store == "postgres" else "state.db"
    config = write_site(tmp_path / "cluster", feeds, state=state, queue=redis_server.url)
    before = len(http_server.requests)
    processes.start(config, "run")
    processes.start(config, "worker", "--concurrency", "2")
    processes.start(config, "worker", "--concurrency", "2")
    wait_same(config.parent, expected, processes)
    # Each feed was fetched once: a source is never claimed twice while leased.
    assert fetches(http_server, 12, before) == [1] * 12


def test_rabbitmq_broker_publishes_the_same_bytes(
    tmp_path: Path, http_server: LoopbackServer, rabbitmq: str, processes: Processes
) -> None:
    feeds = serve_feeds(http_server, 8)
    expected = embedded(tmp_path, feeds)
    config = write_site(tmp_path / "cluster", feeds, state="state.db", queue=rabbitmq)
    processes.start(config, "run")
    processes.start(config, "worker")
    wait_same(config.parent, expected, processes)


def test_a_worker_killed_mid_batch_loses_nothing(
    tmp_path: Path,
    http_server: LoopbackServer,
    redis_server: PrivateRedis,
    shared_postgres: str,
    processes: Processes,
) -> None:
    feeds = serve_feeds(http_server, 10, delay=1.5)
    expected = embedded(tmp_path, feeds)
    config = write_site(tmp_path / "cluster", feeds, state=shared_postgres, queue=redis_server.url)
    before = len(http_server.requests)
    processes.start(config, "run")
    victim = processes.start(config, "worker", "--concurrency", "1")
    # The victim is fetching its first batch (the feeds answer slowly): kill it.
    wait_for("the worker's first fetch", lambda: len(http_server.requests) > before)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    processes.start(config, "worker", "--concurrency", "2")
    wait_same(config.parent, expected, processes)


def test_two_dispatchers_never_claim_the_same_source(
    tmp_path: Path,
    http_server: LoopbackServer,
    redis_server: PrivateRedis,
    shared_postgres: str,
    processes: Processes,
) -> None:
    feeds = serve_feeds(http_server, 30)
    expected = embedded(tmp_path, feeds)
    first = write_site(tmp_path / "one", feeds, state=shared_postgres, queue=redis_server.url)
    second = write_site(tmp_path / "two", feeds, state=shared_postgres, queue=redis_server.url)
    before = len(http_server.requests)
    processes.start(first, "run")
    processes.start(second, "run")
    processes.start(first, "worker", "--concurrency", "3")
    wait_same(first.parent, expected, processes)
    wait_same(second.parent, expected, processes)
    assert fetches(http_server, 30, before) == [1] * 30


def test_a_postgresql_restart_during_a_run_is_survived(
    tmp_path: Path,
    http_server: LoopbackServer,
    redis_server: PrivateRedis,
    private_postgres: PrivatePostgres,
    processes: Processes,
) -> None:
    feeds = serve_feeds(http_server, 16, delay=0.5)
    expected = embedded(tmp_path, feeds)
    config = write_site(
        tmp_path / "cluster", feeds, state=private_postgres.url, queue=redis_server.url
    )
    before = len(http_server.requests)
    processes.start(config, "run")
    processes.start(config, "worker", "--concurrency", "2")
    wait_for("the first fetches", lambda: len(http_server.requests) > before)
    private_postgres.restart(down=2.0)
    wait_same(config.parent, expected, processes)


def test_a_broker_restart_during_a_run_is_survived(
    tmp_path: Path,
    http_server: LoopbackServer,
    redis_server: PrivateRedis,
    shared_postgres: str,
    processes: Processes,
) -> None:
    feeds = serve_feeds(http_server, 16, delay=0.5)
    expected = embedded(tmp_path, feeds)
    config = write_site(tmp_path / "cluster", feeds, state=shared_postgres, queue=redis_server.url)
    before = len(http_server.requests)
    processes.start(config, "run")
    processes.start(config, "worker", "--concurrency", "2")
    wait_for("the first fetches", lambda: len(http_server.requests) > before)
    # Redis without persistence: the queued batches and results are gone with it.
    redis_server.stop()
    time.sleep(2.0)
    redis_server.start()
    wait_same(config.parent, expected, processes)


def test_a_worker_without_queue_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_site(tmp_path / "site", [], state="state.db", queue=None)
    assert main(["worker", "-c", str(config)]) == 2
    err = capsys.readouterr().err
    assert "queue:" in err and str(config) in err and "Traceback" not in err


def test_a_bad_queue_url_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_site(tmp_path / "site", [], state="state.db", queue="http://nope/")
    assert main(["check", "-c", str(config)]) == 2
    err = capsys.readouterr().err
    assert "queue" in err and "redis://" in err and "Traceback" not in err


def test_a_dispatcher_publishes_what_another_dispatchers_batches_stored(
    tmp_path: Path,
    http_server: LoopbackServer,
    redis_server: PrivateRedis,
    shared_postgres: str,
    processes: Processes,
) -> None:
    """Two dispatchers on one store: the entries a batch of the other one
    fetched reach this one's output too (the store's entries generation moved
    since it published), not only with its own next batch, an hour away."""
    feeds = serve_feeds(http_server, 5, delay=0.6)
    expected = embedded(tmp_path, feeds)
    first = write_site(tmp_path / "one", feeds, state=shared_postgres, queue=redis_server.url)
    second = write_site(tmp_path / "two", feeds, state=shared_postgres, queue=redis_server.url)
    before = len(http_server.requests)
    processes.start(second, "run")
    processes.start(second, "worker", "--concurrency", "1")
    # Every source is claimed, in one batch, once its first fetch has begun.
    wait_for("the second dispatcher's batch", lambda: len(http_server.requests) > before)
    processes.start(first, "run")
    wait_same(first.parent, expected, processes)
    wait_same(second.parent, expected, processes)
    assert fetches(http_server, 5, before) == [1] * 5


def test_a_feed_that_moved_for_good_is_reported_by_the_dispatcher_and_status(
    tmp_path: Path,
    http_server: LoopbackServer,
    redis_server: PrivateRedis,
    shared_postgres: str,
    processes: Processes,
) -> None:
    """A worker follows a 301 and remembers it; the dispatcher's log says once
    where the feed went, as ``run`` alone does, and ``status`` says so too."""
    (feed,) = serve_feeds(http_server, 1)
    old = http_server.route("/old.xml", status=301, headers={"Location": "/feed0.xml"})
    config = write_site(tmp_path / "cluster", [old], state=shared_postgres, queue=redis_server.url)
    processes.start(config, "run")
    processes.start(config, "worker", "--concurrency", "1")
    run_log = config.parent / "run-0.log"
    wait_for("a publish with the feed's entries", lambda: "3 remote entries" in run_log.read_text())
    said = f"WARNING {old}: moved permanently to {feed}; fetched from there from now on"
    assert run_log.read_text().count(said) == 1, processes.logs(config.parent)
    shown = subprocess.run(
        [sys.executable, "-m", "feedwright.cli", "status", "-c", str(config)],
        env=dict(os.environ, PYTHONPATH=str(ROOT / "src")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert f"    moved permanently to {feed}" in shown.stdout.splitlines()


def test_what_the_parser_repaired_is_logged_by_the_dispatcher_as_build_prints_it(
    tmp_path: Path,
    http_server: LoopbackServer,
    redis_server: PrivateRedis,
    shared_postgres: str,
    processes: Processes,
) -> None:
    """A feed with a bare ``&`` is published repaired: ``build`` prints a
    warning saying so, and so does ``run`` alone; a dispatcher's log has the
    same line, though a worker parsed the feed (its batch result carries it)."""
    broken = (
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>Q & A</title>"
        b"<link>http://example.org/</link><item><title>Salt & pepper</title>"
        b"<guid>http://example.org/1</guid><link>http://example.org/1</link>"
        b"<pubDate>Mon, 01 Jan 2024 10:00:00 +0000</pubDate></item></channel></rss>"
    )
    url = http_server.route(
        "/broken.xml", body=broken, headers={"Content-Type": "application/rss+xml"}
    )
    alone = write_site(tmp_path / "alone", [url], state="state.db", queue=None)
    built = subprocess.run(
        [sys.executable, "-m", "feedwright.cli", "build", "-c", str(alone)],
        env=dict(os.environ, PYTHONPATH=str(ROOT / "src")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    said = next(line for line in built.stderr.splitlines() if "repaired" in line)
    config = write_site(tmp_path / "cluster", [url], state=shared_postgres, queue=redis_server.url)
    processes.start(config, "run")
    processes.start(config, "worker", "--concurrency", "1")
    run_log = config.parent / "run-0.log"
    wait_for("a publish with the feed's entry", lambda: "1 remote entr" in run_log.read_text())
    lines = run_log.read_text().splitlines()
    logged = [line for line in lines if "WARNING" in line and "repaired" in line]
    assert len(logged) == 1, processes.logs(config.parent)
    assert logged[0].endswith("WARNING " + said.removeprefix("warning: ")), logged
