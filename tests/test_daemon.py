"""The daemon: ``feedwright run`` in a subprocess, and its jobs on an asyncio loop.

End-to-end cases start ``python -m feedwright.cli run`` on a temporary site
(a loopback feed server where a remote feed is needed, real signals) and poll
the published files or its log with a deadline, never sleep-and-assert. Where
a subprocess is too slow or too blunt, :class:`feedwright.daemon.Daemon` runs
its public jobs (``tick``, ``rebuild_job``, ``post_due_job``, ``rebuild``,
``scan_posts``, ``refresh_due``) on an asyncio loop with an injected clock,
and no waiting at all.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import feedparser
import pytest

import feedwright
from feedwright.cliparser import parse_args
from feedwright.config import Config
from feedwright.daemon import STOP_GRACE, Daemon
from feedwright.exceptions import ConfigError
from feedwright.logs import JsonFormatter
from feedwright.parallel import Pool
from feedwright.rundaemon import parse_address

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 15.0  # seconds any awaited effect may take before the test fails

T = TypeVar("T")


# --------------------------------------------------------------------------- helpers


def wait_for(what: str, check: Callable[[], T | None], timeout: float = DEADLINE) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def write_config(folder: Path, *, feeds: Sequence[str] = (), every: str = "2s") -> Path:
    lines = [
        "site:",
        "  title: Test Site",
        "  url: https://example.com/",
        "sources:",
        "  - posts: posts",
    ]
    for url in feeds:
        lines += [f"  - feed: {url}", f"    every: {every}"]
    lines += ["output:", "  dir: out", "schedule:", "  jitter: 0.1", "state: state.db", ""]
    (folder / "posts").mkdir(exist_ok=True)
    path = folder / "config.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_post(folder: Path, name: str, title: str, date: str, category: str = "金融") -> Path:
    path = folder / "posts" / name
    path.write_text(
        f"---\ntitle: {title}\ndate: {date}\ncategories: [{category}]\n---\n\nBody of {title}.\n",
        encoding="utf-8",
    )
    return path


def titles(feed: Path) -> list[str]:
    """Entry titles of a published feed; [] while it does not exist yet."""
    try:
        data = feed.read_bytes()
    except FileNotFoundError:
        return []
    return [e.title for e in feedparser.parse(data).entries]


def published(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feedwright.cli", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class DaemonProcess:
    """``feedwright run`` in a subprocess, its stderr collected line by line."""

    def __init__(self, config: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "feedwright.cli", "run", "-c", str(config), *args],
            cwd=config.parent,
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_log(self, pattern: str, after: int = 0) -> re.Match[str]:
        """The first line from number ``after`` on that matches ``pattern``."""
        return wait_for(
            f"log line /{pattern}/ (log so far:\n{self.log})",
            lambda: next(
                (m for line in self.lines[after:] if (m := re.search(pattern, line))), None
            ),
        )

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send ``sig``; the exit code, which must come within DEADLINE."""
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=DEADLINE)
        self._reader.join(timeout=DEADLINE)
        return code

    def kill(self) -> None:
        print(self.log)  # shown by pytest when the test failed
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def daemons() -> Iterator[Callable[..., DaemonProcess]]:
    started: list[DaemonProcess] = []

    def start(config: Path, *args: str) -> DaemonProcess:
        started.append(DaemonProcess(config, *args))
        return started[-1]

    yield start
    for daemon in started:
        daemon.kill()


def assert_clean_exit(daemon: DaemonProcess, out: Path, config: Path) -> None:
    """Exited 0, said so, left no temporary file, and let go of the output."""
    assert "Traceback" not in daemon.log
    assert re.search(r"stopped", daemon.log), daemon.log
    assert temp_files(out) == []
    after = cli("build", "-c", str(config), "--offline", "--json", cwd=config.parent)
    assert after.returncode in (0, 1), after.stderr
    assert "another feedwright" not in after.stderr


# --------------------------------------------------------------------------- a conditional feed


class ConditionalFeed:
    """A feed that answers 304 to a matching If-None-Match, and records each request."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = [("remote-1", "Remote one")]
        self.fail = False
        self.version = 1
        self.requests: list[tuple[float, dict[str, str]]] = []
        self.lock = threading.Lock()

    def set_items(self, items: list[tuple[str, str]]) -> None:
        with self.lock:
            self.items = items
            self.version += 1

    def body(self) -> bytes:
        entries = "".join(
            f"<item><guid>urn:x:{guid}</guid><title>{title}</title>"
            f"<link>https://remote.example/{guid}</link>"
            "<pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>"
            "<category>Remote</category></item>"
            for guid, title in self.items
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Remote</title><link>https://remote.example/</link>{entries}"
            "</channel></rss>"
        ).encode()

    def __call__(self, request: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self.lock:
            self.requests.append((time.monotonic(), headers))
            etag = f'"v{self.version}"'
            fail, body = self.fail, self.body()
        if fail:
            request.send_response(500)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        if headers.get("if-none-match") == etag:
            request.send_response(304)
            request.send_header("ETag", etag)
            request.end_headers()
            return
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("ETag", etag)
        request.send_header("Last-Modified", "Mon, 01 Jan 2024 10:00:00 GMT")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


def hang_until(release: threading.Event, arrived: threading.Event) -> Callable[..., None]:
    def hang(request: BaseHTTPRequestHandler) -> None:
        arrived.set()
        release.wait(DEADLINE * 2)

    return hang


# --------------------------------------------------------------------------- end to end


def test_the_daemon_publishes_post_changes_and_future_posts(
    tmp_path: Path, daemons: Callable[..., DaemonProcess]
) -> None:
    config = write_config(tmp_path)
    write_post(tmp_path, "first.md", "First", "2024-01-01 10:00")
    out = tmp_path / "out"
    feed = out / "金融" / "atom.xml"
    daemon = daemons(config, "--serve", "127.0.0.1:0")
    base = daemon.wait_log(r"serving (http://127\.0\.0\.1:\d+)/").group(1)
    wait_for("the first build", lambda: titles(feed) == ["First"])
    daemon.wait_log(r"published \d+ files")  # the feed is there before the whole build

    # A new post, and one dated a few seconds ahead, in the same second.
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    write_post(tmp_path, "later.md", "Later", due.strftime("%Y-%m-%dT%H:%M:%SZ"))
    write_post(tmp_path, "second.md", "Second", "2024-01-02 10:00")
    seen = wait_for("the new post", lambda: "Second" in titles(feed) and titles(feed))
    if datetime.now(UTC) < due:
        assert "Later" not in seen
    daemon.wait_log(r"next timed change \(a post held back, a tombstone that expires\) at")
    wait_for("the future post, at its time", lambda: "Later" in titles(feed))
    assert datetime.now(UTC) >= due
    daemon.wait_log(r"a scheduled post is due")

    # Edited, then deleted.
    write_post(tmp_path, "first.md", "First, edited", "2024-01-01 10:00")
    wait_for("the edit", lambda: "First, edited" in titles(feed))
    assert "First" not in titles(feed)
    (tmp_path / "posts" / "second.md").unlink()
    wait_for("the deletion", lambda: "Second" not in titles(feed))
    assert sorted(titles(feed)) == ["First, edited", "Later"]
    assert re.search(r"post changes seen: [12] new, 0 edited, 0 deleted", daemon.log)
    assert re.search(r"post changes seen: 0 new, 0 edited, 1 deleted", daemon.log)

    # --serve answers with the published bytes, the category folder percent-encoded.
    conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=5)
    conn.request("GET", "/" + quote("金融") + "/atom.xml")
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/atom+xml; charset=utf-8"
    assert response.read() == feed.read_bytes()
    conn.close()

    assert daemon.stop() == 0
    assert "received SIGTERM" in daemon.log
    assert_clean_exit(daemon, out, config)
    # The build after it has nothing to change.
    after = cli("build", "-c", str(config), "--json", cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["written"] == []


def test_one_writer_per_output_a_second_daemon_or_a_build_exits_3(
    tmp_path: Path, daemons: Callable[..., DaemonProcess]
) -> None:
    config = write_config(tmp_path)
    write_post(tmp_path, "first.md", "First", "2024-01-01 10:00")
    out = tmp_path / "out"
    daemon = daemons(config)
    daemon.wait_log(r"published \d+ files")
    before = published(out)
    for command in (["run"], ["build"], ["build", "--wait", "0.2"], ["build", "--offline"]):
        done = cli(*command, "-c", str(config), cwd=tmp_path)
        assert done.returncode == 3, (command, done.stderr)
        assert "another feedwright build or daemon" in done.stderr
        assert "Traceback" not in done.stderr
    assert published(out) == before
    # `status` and `check` only read: they work beside the daemon.
    assert cli("status", "-c", str(config), cwd=tmp_path).returncode == 0
    assert cli("check", "-c", str(config), cwd=tmp_path).returncode == 0
    assert daemon.stop() == 0
    assert_clean_exit(daemon, out, config)


def test_a_daemon_started_on_a_lost_state_fetches_before_it_publishes(
    tmp_path: Path, http_server: Any, daemons: Callable[..., DaemonProcess]
) -> None:
    """The state deleted while the daemon was stopped: published at once, the
    feeds would lose every remote entry (and a category feed of them) until the
    first refresh ends, and the hubs would be told. The refresh comes first."""
    remote = ConditionalFeed()
    url = http_server.route("/feed.xml", handler=remote)
    config = write_config(tmp_path, feeds=[url], every="1h")
    write_post(tmp_path, "first.md", "First", "2024-01-01 10:00")
    out = tmp_path / "out"
    assert cli("build", "-q", "-c", str(config), cwd=tmp_path).returncode == 0
    assert sorted(titles(out / "atom.xml")) == ["First", "Remote one"]
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    arrived, release = threading.Event(), threading.Event()

    def slow(request: BaseHTTPRequestHandler) -> None:
        arrived.set()
        release.wait(DEADLINE * 2)
        remote(request)

    http_server.route("/feed.xml", handler=slow)
    daemon = daemons(config)
    try:
        assert arrived.wait(DEADLINE), daemon.log
        daemon.wait_log(r"fetching them before publishing")
        assert "published" not in daemon.log
        assert sorted(titles(out / "atom.xml")) == ["First", "Remote one"]
    finally:
        release.set()
    # Nothing to write: the output never lost the remote entry.
    daemon.wait_log(r"up to date: \d+ files unchanged; 1 posts, 1 remote entries")
    assert sorted(titles(out / "atom.xml")) == ["First", "Remote one"]
    assert daemon.stop() == 0


def test_the_daemon_logs_what_build_would_say_of_ids_and_files_not_published(
    tmp_path: Path, daemons: Callable[..., DaemonProcess]
) -> None:
    """A post moved (it keeps its id: the ledger says so) and a file another
    tool wrote where a new category's feed goes: each a WARNING line, as
    ``build`` prints them on stderr."""
    config = write_config(tmp_path)
    write_post(tmp_path, "first.md", "First", "2024-01-01 10:00")
    out = tmp_path / "out"
    daemon = daemons(config)
    wait_for("the first publish", lambda: "First" in titles(out / "atom.xml"))

    (tmp_path / "posts" / "first.md").rename(tmp_path / "posts" / "renamed.md")
    daemon.wait_log(r"WARNING posts/renamed\.md: moved from posts/first\.md; keeps its id")

    (out / "sport").mkdir()
    (out / "sport" / "atom.xml").write_text("<feed>another tool's</feed>", encoding="utf-8")
    write_post(tmp_path, "run.md", "Run", "2024-01-02 10:00", category="sport")
    daemon.wait_log(
        r"WARNING .*out/sport/atom\.xml: not published, a file feedwright did not write is there"
    )
    assert (out / "sport" / "atom.xml").read_text(encoding="utf-8") == "<feed>another tool's</feed>"
    assert "Run" in titles(out / "atom.xml")
    assert daemon.stop() == 0
    assert_clean_exit(daemon, out, config)


def test_a_post_problem_is_logged_once_while_it_lasts(
    tmp_path: Path, daemons: Callable[..., DaemonProcess]
) -> None:
    """A post broken for a week is one WARNING line, not one per publish;
    fixed, then broken again, it is said again."""
    config = write_config(tmp_path)
    write_post(tmp_path, "first.md", "First", "2024-01-01 10:00")
    broken = tmp_path / "posts" / "broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\nBody.\n", encoding="utf-8")
    out = tmp_path / "out"
    daemon = daemons(config)
    daemon.wait_log(r"WARNING .*broken\.md: front matter")

    def said() -> int:
        return sum("broken.md: front matter" in line for line in daemon.lines)

    def publish(name: str, title: str) -> None:
        seen = len(daemon.lines)
        write_post(tmp_path, name, title, "2024-01-02 10:00")
        daemon.wait_log(r"INFO published", after=seen)
        wait_for(title, lambda: title in titles(out / "atom.xml"))
        time.sleep(0.5)  # (the publish's warnings follow its line at once)

    publish("second.md", "Second")
    assert said() == 1, daemon.log

    broken.write_text("---\ntitle: Mended\n---\nBody.\n", encoding="utf-8")
    wait_for("the mended post", lambda: "Mended" in titles(out / "atom.xml"))
    broken.write_text("---\ntitle: [unclosed again\n---\nBody.\n", encoding="utf-8")
    wait_for("said again", lambda: said() == 2)
    publish("third.md", "Third")
    assert said() == 2, daemon.log
    assert daemon.stop() == 0


def test_an_output_folder_deleted_under_the_daemon_is_published_again_and_locked(
    tmp_path: Path, daemons: Callable[..., DaemonProcess]
) -> None:
    """``rm -rf`` of the output: published again at once (not at the next
    change), and its new lock file is the daemon's, so a build still exits 3."""
    config = write_config(tmp_path)
    write_post(tmp_path, "first.md", "First", "2024-01-01 10:00")
    out = tmp_path / "out"
    daemon = daemons(config)
    wait_for("the first publish", lambda: "First" in titles(out / "atom.xml"))
    shutil.rmtree(out)
    wait_for("the output again", lambda: "First" in titles(out / "atom.xml"))
    daemon.wait_log(r"WARNING the output folder was deleted or replaced")
    beside = cli("build", "-c", str(config), cwd=tmp_path)
    assert beside.returncode == 3, beside.stderr
    assert daemon.stop() == 0
    assert_clean_exit(daemon, out, config)


def test_a_sighup_while_the_daemon_starts_is_a_reload_not_its_end(
    tmp_path: Path, daemons: Callable[..., DaemonProcess]
) -> None:
    """``systemctl reload`` right after ``start``: the SIGHUP arrives while the
    daemon reads its config (a FIFO here, so the moment is certain). Its default
    action would end the process, and systemd does not restart one ended so."""
    written = write_config(tmp_path)
    text = written.read_text(encoding="utf-8")
    regular = tmp_path / "config.regular"
    written.rename(regular)
    config = tmp_path / "config.yaml"
    os.mkfifo(config)
    daemon = daemons(config)

    def reader_is_there() -> int | None:
        try:
            return os.open(config, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: nobody reads it yet
            return None

    fd = wait_for("the daemon opening its config", reader_is_there)
    daemon.proc.send_signal(signal.SIGHUP)
    os.write(fd, text.encode())
    os.close(fd)
    os.replace(regular, config)  # what later reads of config.yaml find
    daemon.wait_log(r"received SIGHUP: reloading the config")
    daemon.wait_log(r"config reloaded")
    daemon.wait_log(r"published \d+ files")
    assert daemon.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_idle_exits_0(
    tmp_path: Path, daemons: Callable[..., DaemonProcess], sig: signal.Signals
) -> None:
    config = write_config(tmp_path)
    write_post(tmp_path, "first.md", "First", "2024-01-01 10:00")
    daemon = daemons(config)
    daemon.wait_log(r"published \d+ files")
    started = time.monotonic()
    assert daemon.stop(sig) == 0
    assert time.monotonic() - started < DEADLINE
    assert f"received {sig.name}" in daemon.log
    assert_clean_exit(daemon, tmp_path / "out", config)


def test_the_daemon_polls_a_remote_feed_conditionally(
    tmp_path: Path, http_server: Any, daemons: Callable[..., DaemonProcess]
) -> None:
    remote = ConditionalFeed()
    url = http_server.route("/feed.xml", handler=remote)
    config = write_config(tmp_path, feeds=[url], every="2s")
    combined = tmp_path / "out" / "atom.xml"
    daemon = daemons(config, "--json")
    wait_for("the remote entry", lambda: "Remote one" in titles(combined))
    wait_for("a second, conditional poll", lambda: len(remote.requests) >= 2)

    # New entries upstream reach the published feed on the next poll.
    remote.set_items([("remote-2", "Remote two"), ("remote-1", "Remote one")])
    wait_for("the new remote entry", lambda: "Remote two" in titles(combined))

    # A failing server is logged; the next rounds still publish posts.
    remote.fail = True
    failures = len(remote.requests)
    wait_for("a failed poll", lambda: len(remote.requests) > failures)
    write_post(tmp_path, "news.md", "News", "2024-02-01 10:00")
    wait_for("the post, despite the failing feed", lambda: "News" in titles(combined))
    assert {"Remote one", "Remote two"} <= set(titles(combined))  # kept while failing
    assert daemon.stop() == 0

    with remote.lock:
        requests = list(remote.requests)
    # Every poll after the first is conditional.
    for _, headers in requests[1:]:
        assert headers.get("if-none-match", "").startswith('"v')
        assert headers.get("if-modified-since") == "Mon, 01 Jan 2024 10:00:00 GMT"
    # Polled on its own `every: 2s` (jitter only adds), never on each 1 s tick.
    healthy = [t for t, _ in requests[: failures + 1]]
    assert all(b - a >= 1.5 for a, b in pairwise(healthy))

    # --json: every line is one JSON object naming its event.
    events = [json.loads(line) for line in daemon.lines]
    assert all({"ts", "level", "event", "message", "fields"} <= set(e) for e in events)
    kinds = {e["event"] for e in events}
    assert {"started", "fetched", "not-modified", "fetch-failed", "published", "stopped"} <= kinds
    fetched = next(e for e in events if e["event"] == "fetched")
    assert fetched["fields"]["url"] == url and fetched["fields"]["new"] == 1
    failed = next(e for e in events if e["event"] == "fetch-failed")
    assert failed["level"] == "warning" and "500" in failed["message"]
    assert failed["fields"]["url"] == url
    changed = next(e for e in events if e["event"] == "posts-changed")
    assert changed["fields"]["added"] == ["news.md"]
    assert not any("traceback" in e for e in events)


def test_sigterm_during_a_slow_fetch_exits_promptly(
    tmp_path: Path, http_server: Any, daemons: Callable[..., DaemonProcess]
) -> None:
    arrived, release = threading.Event(), threading.Event()
    url = http_server.route("/slow.xml", handler=hang_until(release, arrived))
    config = write_config(tmp_path, feeds=[url])
    write_post(tmp_path, "first.md", "First", "2024-01-01 10:00")
    daemon = daemons(config)
    try:
        assert arrived.wait(DEADLINE), daemon.log
        started = time.monotonic()
        assert daemon.stop() == 0  # fetch.timeout is 20 s: the fetch is abandoned
        assert time.monotonic() - started < 10
    finally:
        release.set()
    assert "refresh abandoned" in daemon.log
    assert_clean_exit(daemon, tmp_path / "out", config)
    assert "First" in titles(tmp_path / "out" / "atom.xml")
    # Nothing half-saved: the source is simply due again.
    (state,) = feedwright.status(config)
    assert state.result == "never fetched"


def test_an_offline_daemon_says_once_which_feeds_the_state_never_fetched(
    tmp_path: Path, http_server: Any, daemons: Callable[..., DaemonProcess]
) -> None:
    """``run --offline`` on a state that never fetched a feed publishes without
    its entries: its log says so, as ``build --offline`` does, once while it
    lasts (not again at every publish), and fetches nothing."""
    url = http_server.route("/feed.xml", handler=ConditionalFeed())
    config = write_config(tmp_path, feeds=[url])
    write_post(tmp_path, "first.md", "First", "2024-01-01 10:00")
    out = tmp_path / "out"
    daemon = daemons(config, "--offline", "--json")
    wait_for("the first publish", lambda: "First" in titles(out / "atom.xml"))
    write_post(tmp_path, "second.md", "Second", "2024-01-02 10:00")
    wait_for("the second publish", lambda: "Second" in titles(out / "atom.xml"))
    wait_for("its log line", lambda: sum('"event": "published"' in x for x in daemon.lines) >= 2)
    assert daemon.stop() == 0
    events = [json.loads(line) for line in daemon.lines]
    said = [e for e in events if e["event"] == "never-fetched"]
    assert len(said) == 1, daemon.log
    assert said[0]["level"] == "warning"
    assert said[0]["fields"] == {"url": url}
    assert said[0]["message"] == (
        f"{url}: never fetched into this state (a new or deleted state?): published"
        " without its entries; the daemon started again without --offline fetches it"
    )
    assert http_server.requests == []


def test_a_feed_that_moved_for_good_is_logged_once_and_shown_by_status(
    tmp_path: Path, http_server: Any, daemons: Callable[..., DaemonProcess]
) -> None:
    """A 301 is followed and remembered; the operator is told once where the feed
    went (its later lines name the new address), and ``status`` says so too."""
    old = http_server.route("/old.xml", status=301, headers={"Location": "/new.xml"})
    new = http_server.route("/new.xml", handler=ConditionalFeed())
    config = write_config(tmp_path, feeds=[old], every="1s")
    daemon = daemons(config, "--json")
    wait_for("polls at the new address", lambda: daemon.log.count(f'"url": "{new}"') >= 3)
    events = [json.loads(line) for line in daemon.lines]
    moved = [e for e in events if e["event"] == "moved"]
    assert len(moved) == 1, daemon.log
    assert moved[0]["level"] == "warning"
    assert moved[0]["fields"] == {"url": old, "to": new, "source": old}
    assert (
        moved[0]["message"] == f"{old}: moved permanently to {new}; fetched from there from now on"
    )
    shown = cli("status", "-c", str(config), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"    moved permanently to {new}" in shown.stdout.splitlines()
    assert daemon.stop() == 0


def test_what_the_parser_repaired_in_a_feed_is_logged_as_build_prints_it(
    tmp_path: Path, http_server: Any, daemons: Callable[..., DaemonProcess]
) -> None:
    """A feed with a bare ``&`` is published repaired: build prints a warning
    saying so, and the daemon's log carries the same line."""
    broken = (
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>Q & A</title>"
        b"<link>http://example.org/</link><item><title>Salt & pepper</title>"
        b"<guid>http://example.org/1</guid><link>http://example.org/1</link>"
        b"<pubDate>Mon, 01 Jan 2024 10:00:00 +0000</pubDate></item></channel></rss>"
    )
    url = http_server.route(
        "/feed.xml", body=broken, headers={"Content-Type": "application/rss+xml"}
    )
    (tmp_path / "build").mkdir()
    alone = write_config(tmp_path / "build", feeds=[url], every="1h")
    built = cli("build", "-c", str(alone), cwd=tmp_path / "build")
    said = next(line for line in built.stderr.splitlines() if "repaired" in line)
    config = write_config(tmp_path, feeds=[url], every="1h")
    daemon = daemons(config, "--json")
    wait_for("its fetch", lambda: '"event": "fetched"' in daemon.log)
    wait_for("its publish", lambda: '"event": "published"' in daemon.log)
    assert daemon.stop() == 0
    events = [json.loads(line) for line in daemon.lines]
    repaired = [e for e in events if e["event"] == "repaired"]
    assert len(repaired) == 1, daemon.log
    assert repaired[0]["level"] == "warning" and repaired[0]["fields"] == {"url": url}
    assert said.removeprefix("warning: ") == repaired[0]["message"]


def test_text_log_lines_are_stamped_in_utc_whatever_the_local_zone(
    tmp_path: Path, daemons: Callable[..., DaemonProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages give times in UTC (``next timed change at ...Z``); so does each
    line's stamp, which in a local zone would also repeat an hour when DST ends."""
    monkeypatch.setenv("TZ", "America/New_York")
    config = write_config(tmp_path)
    daemon = daemons(config)
    stamp = daemon.wait_log(r"^(.*?) INFO started: ")[1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp), stamp
    assert abs(datetime.fromisoformat(stamp) - datetime.now(UTC)) < timedelta(minutes=5)
    assert daemon.stop() == 0


@pytest.mark.parametrize("address", ["8080", "localhost", "host:http", "host:70000"])
def test_a_bad_serve_address_is_a_usage_error(tmp_path: Path, address: str) -> None:
    config = write_config(tmp_path)
    done = cli("run", "-c", str(config), "--serve", address, cwd=tmp_path)
    assert done.returncode == 2
    assert "HOST:PORT" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_serve_addresses() -> None:
    assert parse_address("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_address("[::1]:0") == ("::1", 0)
    assert parse_address(":8000") == ("", 8000)
    for bad in ("8080", "localhost", "host:http", "host:70000", "host:-1"):
        with pytest.raises(ConfigError, match="HOST:PORT"):
            parse_address(bad)


# --------------------------------------------------------------------------- in process, fake clock


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def run(scenario: Callable[[Pool], Coroutine[Any, Any, None]]) -> None:
    """Run ``scenario(pool)`` on a fresh event loop, with worker processes for parsing."""
    with Pool(2, timeout=60) as pool:
        asyncio.run(scenario(pool))


def load(folder: Path) -> Config:
    return feedwright.load_config(folder / "config.yaml")


def test_tick_fetches_only_due_feeds_and_marks_the_output_dirty(
    tmp_path: Path, http_server: Any
) -> None:
    remote = ConditionalFeed()
    url = http_server.route("/feed.xml", handler=remote)
    write_config(tmp_path, feeds=[url], every="2s")
    clock = FakeClock(START)

    async def scenario(pool: Pool) -> None:
        daemon = Daemon(load(tmp_path), pool, clock=clock)
        assert daemon.dirty  # whatever happened while it was down is published first
        daemon.rebuild()
        assert not daemon.dirty

        await daemon.tick()
        assert len(remote.requests) == 1
        assert daemon.dirty  # one new entry
        # Until then nothing is fetched: every (2 s) plus jitter (< 10%).
        assert daemon.next_due is not None
        assert START + timedelta(seconds=2) <= daemon.next_due < START + timedelta(seconds=2.2)

        daemon.rebuild()
        assert titles(tmp_path / "out" / "atom.xml") == ["Remote one"]
        clock.advance(1.5)
        assert await daemon.refresh_due() == []
        await daemon.tick()
        assert len(remote.requests) == 1  # not due yet
        clock.advance(1.0)  # 2.5 s: past every plus any jitter
        await daemon.tick()
        assert len(remote.requests) == 2
        assert remote.requests[1][1]["if-none-match"] == '"v1"'
        assert not daemon.dirty  # a 304 changes nothing, so nothing to rebuild

        remote.set_items([("remote-2", "Remote two")])
        clock.advance(2.5)
        (result,) = await daemon.refresh_due()
        assert (result.outcome, result.new) == ("ok", 1) and daemon.dirty

    run(scenario)


def test_changes_in_quick_succession_make_one_rebuild(tmp_path: Path) -> None:
    write_config(tmp_path)

    async def scenario(pool: Pool) -> None:
        daemon = Daemon(load(tmp_path), pool, clock=FakeClock(START))
        daemon.rebuild()
        daemon.last_report = None
        for n in range(10):
            write_post(tmp_path, f"p{n}.md", f"P{n}", "2024-01-01 10:00")
            if n == 0:
                await daemon.tick()  # sees the first post and asks for a rebuild
            else:
                await daemon.rebuild_job()  # the debounced rebuild finds it still changing
            assert daemon.dirty and daemon.rebuild_pending
            assert daemon.last_report is None  # so it waited instead of publishing
        await daemon.rebuild_job()  # quiet now: one rebuild for all ten
        assert not daemon.dirty and not daemon.rebuild_pending
        assert daemon.last_report is not None and daemon.last_report.posts == 10
        assert titles(tmp_path / "out" / "金融" / "atom.xml") != []

    run(scenario)


def test_scan_posts_sees_new_edited_and_deleted_posts(tmp_path: Path) -> None:
    write_config(tmp_path)
    posts = tmp_path / "posts"
    (posts / "sub").mkdir()
    (posts / "a.md").write_text("a")
    (posts / "sub" / "b.txt").write_text("b")
    (posts / "gone.md").write_text("gone")

    async def scenario(pool: Pool) -> None:
        daemon = Daemon(load(tmp_path), pool, clock=FakeClock(START))
        assert not daemon.scan_posts()
        (posts / "a.md").write_text("a, longer")
        (posts / "gone.md").unlink()
        (posts / "c.html").write_text("c")
        for name in (".c.html.swp", "a.md~", "notes.pdf"):  # editors' and other files
            (posts / name).write_text("x")
        (posts / ".git").mkdir()
        (posts / ".git" / "x.md").write_text("hidden")
        changes = daemon.scan_posts()
        assert changes.added == ("c.html",)
        assert changes.edited == ("a.md",)
        assert changes.deleted == ("gone.md",)
        assert changes.describe() == "1 new, 1 edited, 1 deleted"
        assert not daemon.scan_posts()  # seen once

    run(scenario)


def test_a_future_post_is_held_until_its_time(tmp_path: Path) -> None:
    write_config(tmp_path)
    write_post(tmp_path, "now.md", "Now", "2026-03-01T11:00:00Z")
    write_post(tmp_path, "soon.md", "Soon", "2026-03-01T12:30:00Z")
    clock = FakeClock(START)
    feed = tmp_path / "out" / "金融" / "atom.xml"

    async def scenario(pool: Pool) -> None:
        daemon = Daemon(load(tmp_path), pool, clock=clock)
        report = daemon.rebuild()
        assert report is not None and report.held == 1
        assert daemon.next_post_at == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
        assert titles(feed) == ["Now"]

        clock.advance(30 * 60)
        await daemon.post_due_job()
        assert titles(feed) == ["Soon", "Now"]
        assert daemon.next_post_at is None

    run(scenario)


def test_a_failing_round_is_logged_and_the_next_one_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_config(tmp_path)
    write_post(tmp_path, "a.md", "A", "2024-01-01 10:00")
    other = tmp_path / "other"
    other.mkdir()
    write_config(other, feeds=["http://127.0.0.1:9/feed.xml"])
    (other / "state.db").mkdir()  # a folder where the database should be
    caplog.set_level(logging.DEBUG, logger="feedwright")

    async def scenario(pool: Pool) -> None:
        daemon = Daemon(load(tmp_path), pool, clock=FakeClock(START))
        # The output folder cannot be made: publishing fails, the daemon lives on.
        (tmp_path / "out").write_text("a file where the output folder should be")
        assert daemon.rebuild() is None
        assert daemon.dirty and daemon.failures == 1 and daemon.rebuild_pending
        assert any(r.message.startswith("publishing failed") for r in caplog.records)
        assert any(r.exc_info for r in caplog.records if r.levelno == logging.DEBUG)
        assert not any(r.exc_info for r in caplog.records if r.levelno > logging.DEBUG)

        # The store is unusable: the tick's refresh fails, is logged, and the tick
        # returns, so the next one runs; fetching pauses rather than retrying each second.
        broken = Daemon(load(other), pool, clock=FakeClock(START))
        await broken.tick()
        assert any(r.message.startswith("refresh failed") for r in caplog.records)
        assert broken.refresh_failures == 1
        await broken.tick()
        assert broken.refresh_failures == 1

        (tmp_path / "out").unlink()
        await daemon.rebuild_job()
        assert not daemon.dirty and daemon.failures == 0
        assert titles(tmp_path / "out" / "atom.xml") == ["A"]

    run(scenario)


def test_a_posts_folder_that_goes_away_never_empties_the_feeds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A deploy that swaps the posts folder, a mount that drops: the daemon waits
    # for the folder instead of publishing feeds without its posts.
    write_config(tmp_path)
    write_post(tmp_path, "a.md", "A", "2024-01-01 10:00")
    out = tmp_path / "out"

    async def scenario(pool: Pool) -> None:
        daemon = Daemon(load(tmp_path), pool, clock=FakeClock(START))
        await daemon.rebuild_job()
        before = published(out)
        (tmp_path / "posts").rename(tmp_path / "away")
        assert daemon.scan_posts().deleted == ("a.md",)
        assert daemon.rebuild() is None and daemon.dirty  # retried later
        assert any("no such folder" in r.message for r in caplog.records)
        assert published(out) == before
        (tmp_path / "away").rename(tmp_path / "posts")
        await daemon.rebuild_job()  # the folder is back: let it settle
        await daemon.rebuild_job()
        assert not daemon.dirty and daemon.failures == 0 and published(out) == before

    run(scenario)


def test_a_cancelled_tick_abandons_its_fetch_at_once(tmp_path: Path, http_server: Any) -> None:
    arrived, release = threading.Event(), threading.Event()
    url = http_server.route("/slow.xml", handler=hang_until(release, arrived))
    write_config(tmp_path, feeds=[url])

    async def scenario(pool: Pool) -> None:
        daemon = Daemon(load(tmp_path), pool, clock=FakeClock(START))
        tick = asyncio.ensure_future(daemon.tick())
        while not arrived.is_set():
            await asyncio.sleep(0.02)
        tick.cancel()
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(tick, DEADLINE)
        assert time.monotonic() - started < 5  # fetch.timeout is 20 s
        # The next step runs: the daemon is not left holding its lock.
        assert daemon.rebuild() is not None

    try:
        run(scenario)
    finally:
        release.set()


def test_stop_abandons_the_fetch_under_way_and_starts_no_new_step(
    tmp_path: Path, http_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    arrived, release = threading.Event(), threading.Event()
    url = http_server.route("/slow.xml", handler=hang_until(release, arrived))
    write_config(tmp_path, feeds=[url])
    write_post(tmp_path, "a.md", "A", "2024-01-01 10:00")
    caplog.set_level(logging.INFO, logger="feedwright")

    async def scenario(pool: Pool) -> None:
        daemon = Daemon(load(tmp_path), pool, clock=FakeClock(START))
        tick = asyncio.ensure_future(daemon.tick())
        while not arrived.is_set():
            await asyncio.sleep(0.02)
        daemon.stop()
        await asyncio.wait_for(tick, 5)  # returns, not raises: the stop was asked for
        assert any(r.message == "refresh abandoned: stopping" for r in caplog.records)
        for job in (daemon.tick, daemon.rebuild_job, daemon.post_due_job):
            await job()
        assert daemon.last_report is None and not (tmp_path / "out").exists()

    try:
        run(scenario)
    finally:
        release.set()
    (state,) = feedwright.status(tmp_path / "config.yaml")
    assert state.result == "never fetched"  # nothing half-saved: due again next time


def test_json_log_lines() -> None:
    record = logging.LogRecord("feedwright.daemon", logging.INFO, __file__, 1, "x %s", ("y",), None)
    record.event = "fetched"
    record.fields = {"url": "https://a/", "new": 2, "when": START}
    line = json.loads(JsonFormatter().format(record))
    assert line["event"] == "fetched"
    assert line["message"] == "x y"
    assert line["level"] == "info"
    assert line["logger"] == "feedwright.daemon"
    assert line["fields"] == {"url": "https://a/", "new": 2, "when": str(START)}
    assert datetime.fromisoformat(line["ts"].replace("Z", "+00:00")).tzinfo is not None


# --------------------------------------------------------------------------- deployment files


def unit_settings(path: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault(f"{section}.{key}", []).append(value)
    return settings


def feedwright_args(command: str) -> list[str]:
    argv = shlex.split(command)
    index = next(i for i, arg in enumerate(argv) if Path(arg).name == "feedwright")
    return argv[index + 1 :]


def test_the_systemd_unit_runs_the_daemon(tmp_path: Path) -> None:
    unit = ROOT / "deploy" / "feedwright.service"
    settings = unit_settings(unit)
    assert settings["Service.Type"] == ["simple"]
    assert settings["Service.Restart"] == ["on-failure"]
    assert settings["Service.KillSignal"] == ["SIGTERM"]
    # systemd waits longer than the daemon waits for a step under way.
    stop_timeout = settings["Service.TimeoutStopSec"][0]
    assert int(stop_timeout.removesuffix("s")) > STOP_GRACE
    assert settings["Service.NoNewPrivileges"] == ["yes"]
    assert settings["Service.ProtectSystem"] == ["strict"]
    (workdir,) = settings["Service.WorkingDirectory"]
    assert settings["Service.ReadWritePaths"] == [workdir]
    assert settings["Service.User"][0] != "root"

    (exec_start,) = settings["Service.ExecStart"]
    args = parse_args(feedwright_args(exec_start))
    assert args.command == "run"
    assert Path(args.config).is_absolute()
    assert Path(args.config).parent == Path(workdir)

    # systemd's own check, with ExecStart pointed at something that exists here.
    analyze = "/usr/bin/systemd-analyze"
    if not os.access(analyze, os.X_OK):
        pytest.skip("systemd-analyze not available")
    copy = tmp_path / "feedwright.service"
    copy.write_text(unit.read_text().replace(exec_start.split()[0], "/bin/true"))
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, check=False, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "ignoring" not in result.stderr, result.stderr


def test_the_crontab_example_runs_a_quiet_build() -> None:
    text = (ROOT / "deploy" / "crontab.example").read_text()
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines
    for line in lines:
        fields = line.split(None, 5)
        assert len(fields) == 6
        schedule, command = fields[:5], fields[5]
        assert all(re.fullmatch(r"[\d*/,-]+", f) for f in schedule)
        run = next(part for part in command.split("&&") if "feedwright" in part)
        args = parse_args(feedwright_args(run))
        assert args.command == "build"
        assert args.quiet
    assert "exit" in text and " 3" in text  # says what a build beside a daemon does
