"""The daemon: real subprocesses on temp folders, a loopback feed server, real signals.

End-to-end cases run ``python -m feedwright.cli run`` and poll the published
files with a deadline (never sleep-and-assert); the scheduling decisions are
also tested in-process on :class:`feedwright.daemon.Daemon` with a fake clock,
which needs no waiting at all.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import feedparser
import pytest

from feedwright.cli import build_parser
from feedwright.config import Config, parse
from feedwright.daemon import (
    STOP_GRACE,
    Daemon,
    JsonFormatter,
    diff_snapshots,
    parse_address,
    snapshot_posts,
)
from feedwright.exceptions import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 10.0  # seconds any awaited effect may take before the test fails

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
        timeout=30,
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

    def wait_log(self, pattern: str) -> re.Match[str]:
        return wait_for(
            f"log line /{pattern}/ (log so far:\n{self.log})",
            lambda: next((m for line in self.lines if (m := re.search(pattern, line))), None),
        )

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=DEADLINE)
        self._reader.join(timeout=DEADLINE)
        return code

    def kill(self) -> None:
        print(self.log)  # shown by pytest when the test failed
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def fixed_file_bytes(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


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


# --------------------------------------------------------------------------- end to end


def test_daemon_publishes_post_changes_and_future_posts(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    write_post(tmp_path, "first.md", "First", "2024-01-01 10:00")
    out = tmp_path / "out"
    feed = out / "金融" / "atom.xml"
    daemon = DaemonProcess(config, "--serve", "127.0.0.1:0")
    try:
        base = daemon.wait_log(r"serving (http://127\.0\.0\.1:\d+)/").group(1)
        wait_for("the first build", lambda: titles(feed) == ["First"])
        # The feed is readable before the whole build is written: wait for its end.
        daemon.wait_log(r"published \d+ files")

        # One writer per output: a second daemon and a build beside it exit 3,
        # say why, and touch nothing.
        before = fixed_file_bytes(out)
        second = cli("run", "-c", str(config), cwd=tmp_path)
        assert second.returncode == 3
        assert "another feedwright build or daemon" in second.stderr
        build = cli("build", "-c", str(config), "--wait", "0.2", cwd=tmp_path)
        assert build.returncode == 3
        assert "another feedwright build or daemon" in build.stderr
        assert fixed_file_bytes(out) == before

        # A new post, and one dated a few seconds ahead, in the same second.
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
        write_post(tmp_path, "later.md", "Later", due.strftime("%Y-%m-%dT%H:%M:%SZ"))
        write_post(tmp_path, "second.md", "Second", "2024-01-02 10:00")
        published = wait_for("the new post", lambda: "Second" in titles(feed) and titles(feed))
        if datetime.now(UTC) < due:
            assert "Later" not in published
        wait_for("the future post, at its time", lambda: "Later" in titles(feed))
        assert datetime.now(UTC) >= due

        # Edited, then deleted.
        write_post(tmp_path, "first.md", "First, edited", "2024-01-01 10:00")
        wait_for("the edit", lambda: "First, edited" in titles(feed))
        assert "First" not in titles(feed)
        (tmp_path / "posts" / "second.md").unlink()
        wait_for("the deletion", lambda: "Second" not in titles(feed))
        assert sorted(titles(feed)) == ["First, edited", "Later"]
        assert re.search(r"post changes seen: [12] new, 0 edited", daemon.log)
        assert re.search(r"published \d+ files", daemon.log)

        # --serve answers with the published bytes, category folder percent-encoded.
        conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=5)
        conn.request("GET", "/" + quote("金融") + "/atom.xml")
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "application/atom+xml; charset=utf-8"
        assert response.read() == feed.read_bytes()
        conn.close()

        assert daemon.terminate() == 0
    finally:
        daemon.kill()
    assert "received SIGTERM" in daemon.log
    assert "stopped" in daemon.log
    assert list(out.rglob("*.tmp")) == []
    # The lock went with the daemon: a build now works, and has nothing to change.
    after = cli("build", "-c", str(config), "--json", cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["written"] == []


def test_daemon_polls_a_remote_feed_conditionally(tmp_path: Path, http_server: Any) -> None:
    remote = ConditionalFeed()
    url = http_server.route("/feed.xml", handler=remote)
    config = write_config(tmp_path, feeds=[url], every="2s")
    combined = tmp_path / "out" / "atom.xml"
    daemon = DaemonProcess(config, "--json")
    try:
        wait_for("the remote entry", lambda: "Remote one" in titles(combined))
        wait_for("a second, conditional poll", lambda: len(remote.requests) >= 2)

        # New entries upstream reach the published feed on the next poll.
        remote.set_items([("remote-2", "Remote two"), ("remote-1", "Remote one")])
        wait_for("the new remote entry", lambda: "Remote two" in titles(combined))

        # A failing server is logged; the next round still publishes posts.
        remote.fail = True
        failures = len(remote.requests)
        wait_for("a failed poll", lambda: len(remote.requests) > failures)
        write_post(tmp_path, "news.md", "News", "2024-02-01 10:00")
        wait_for("the post, despite the failing feed", lambda: "News" in titles(combined))
        assert daemon.terminate() == 0
    finally:
        daemon.kill()

    with remote.lock:
        requests = list(remote.requests)
    # Every poll after the first is conditional.
    for _, headers in requests[1:]:
        assert headers.get("if-none-match", "").startswith('"v')
        assert headers.get("if-modified-since") == "Mon, 01 Jan 2024 10:00:00 GMT"
    # Polled on its own `every: 2s` (jitter only adds), never more often.
    healthy = [t for t, _ in requests[: failures + 1]]
    assert all(b - a >= 1.5 for a, b in pairwise(healthy))  # 1 s ticks would poll every 1 s

    # --json: every line is one JSON object naming its event.
    events = [json.loads(line) for line in daemon.lines]
    assert all({"ts", "level", "event", "fields"} <= set(e) for e in events)
    kinds = {e["event"] for e in events}
    assert {"started", "fetched", "not-modified", "fetch-failed", "published"} <= kinds
    fetched = next(e for e in events if e["event"] == "fetched")
    assert fetched["fields"]["url"] == url
    assert fetched["fields"]["new"] == 1
    failed = next(e for e in events if e["event"] == "fetch-failed")
    assert failed["level"] == "warning"
    assert "500" in failed["message"]


def test_sigterm_during_a_slow_fetch_exits_promptly(tmp_path: Path, http_server: Any) -> None:
    arrived, release = threading.Event(), threading.Event()

    def hang(request: BaseHTTPRequestHandler) -> None:
        arrived.set()
        release.wait(DEADLINE)

    config = write_config(tmp_path, feeds=[http_server.route("/slow.xml", handler=hang)])
    daemon = DaemonProcess(config)
    try:
        assert arrived.wait(DEADLINE), daemon.log
        # fetch.timeout is 20 s; the fetch is abandoned, not waited out.
        assert daemon.terminate() == 0
    finally:
        release.set()
        daemon.kill()
    assert "refresh abandoned" in daemon.log
    assert list((tmp_path / "out").rglob("*.tmp")) == []
    assert cli("build", "-c", str(config), "--offline", cwd=tmp_path).returncode == 0


# --------------------------------------------------------------------------- in process, fake clock


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def load_config(folder: Path) -> Config:
    path = folder / "config.yaml"
    return parse(path.read_text(encoding="utf-8"), path)


START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_tick_fetches_only_due_feeds_and_marks_output_dirty(
    tmp_path: Path, http_server: Any
) -> None:
    remote = ConditionalFeed()
    url = http_server.route("/feed.xml", handler=remote)
    write_config(tmp_path, feeds=[url], every="2s")
    clock = FakeClock(START)
    daemon = Daemon(load_config(tmp_path), clock=clock)
    daemon.rebuild()
    assert not daemon.dirty

    daemon.tick()
    assert len(remote.requests) == 1
    assert daemon.dirty  # one new entry
    # Until then the store is not even opened: schedule.next_check with jitter < 10%.
    assert daemon.next_due is not None
    assert START + timedelta(seconds=2) <= daemon.next_due < START + timedelta(seconds=2.2)

    daemon.rebuild()
    assert titles(tmp_path / "out" / "atom.xml") == ["Remote one"]
    clock.advance(1.5)
    daemon.tick()
    assert len(remote.requests) == 1  # not due yet
    clock.advance(1.0)  # 2.5 s: past every (2 s) plus any jitter (< 0.2 s)
    daemon.tick()
    assert len(remote.requests) == 2
    assert remote.requests[1][1]["if-none-match"] == '"v1"'
    assert not daemon.dirty  # a 304 changes nothing, so nothing to rebuild


def test_changes_in_quick_succession_make_one_rebuild(tmp_path: Path) -> None:
    write_config(tmp_path)
    daemon = Daemon(load_config(tmp_path), clock=FakeClock(START))
    daemon.rebuild()
    daemon.last_report = None
    for n in range(10):
        write_post(tmp_path, f"p{n}.md", f"P{n}", "2024-01-01 10:00")
        if n == 0:
            daemon.tick()  # sees the first post and asks for a rebuild
        else:
            daemon.rebuild_job()  # the debounced rebuild finds the folder still changing
        assert daemon.dirty and daemon.rebuild_pending
        assert daemon.last_report is None  # so it waited instead of publishing
    daemon.rebuild_job()  # quiet now: one rebuild for all ten
    assert not daemon.dirty and not daemon.rebuild_pending
    assert daemon.last_report is not None and daemon.last_report.posts == 10


def test_future_post_is_held_until_its_time(tmp_path: Path) -> None:
    write_config(tmp_path)
    write_post(tmp_path, "now.md", "Now", "2026-03-01T11:00:00Z")
    write_post(tmp_path, "soon.md", "Soon", "2026-03-01T12:30:00Z")
    clock = FakeClock(START)
    daemon = Daemon(load_config(tmp_path), clock=clock)
    report = daemon.rebuild()
    assert report is not None and report.held == 1
    assert daemon.next_post_at == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    feed = tmp_path / "out" / "金融" / "atom.xml"
    assert titles(feed) == ["Now"]

    clock.advance(30 * 60)
    daemon.post_due_job()
    assert titles(feed) == ["Soon", "Now"]
    assert daemon.next_post_at is None


def test_a_failing_round_is_logged_and_the_next_one_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_config(tmp_path)
    write_post(tmp_path, "a.md", "A", "2024-01-01 10:00")
    config = load_config(tmp_path)
    daemon = Daemon(config, clock=FakeClock(START))
    caplog.set_level(logging.DEBUG, logger="feedwright")

    # The output folder cannot be created: publishing fails, the daemon lives on.
    (tmp_path / "out").write_text("a file where the output folder should be")
    assert daemon.rebuild() is None
    assert daemon.dirty and daemon.failures == 1
    assert any(r.message.startswith("publishing failed") for r in caplog.records)
    assert any(r.exc_info for r in caplog.records if r.levelno == logging.DEBUG)

    # The store is unusable (a folder where the database should be): the tick's
    # refresh fails, is logged, and the tick returns, so the next one runs.
    other = tmp_path / "other"
    other.mkdir()
    write_config(other, feeds=["http://127.0.0.1:9/feed.xml"])
    (other / "state.db").mkdir()
    broken = Daemon(load_config(other), clock=FakeClock(START))
    broken.tick()
    assert any(r.message.startswith("refresh failed") for r in caplog.records)
    assert broken.refresh_failures == 1
    broken.tick()  # fetching is paused a moment rather than retried every second
    assert broken.refresh_failures == 1

    (tmp_path / "out").unlink()
    report = daemon.rebuild()
    assert report is not None and not daemon.dirty and daemon.failures == 0
    assert titles(tmp_path / "out" / "atom.xml") == ["A"]


def test_stop_cancels_an_in_flight_fetch(tmp_path: Path, http_server: Any) -> None:
    arrived, release = threading.Event(), threading.Event()

    def hang(request: BaseHTTPRequestHandler) -> None:
        arrived.set()
        release.wait(10)

    url = http_server.route("/slow.xml", handler=hang)
    write_config(tmp_path, feeds=[url])
    daemon = Daemon(load_config(tmp_path), clock=FakeClock(START))
    worker = threading.Thread(target=daemon.tick)
    try:
        worker.start()
        assert arrived.wait(DEADLINE)
        daemon.stop()
        worker.join(timeout=STOP_GRACE)
        assert not worker.is_alive()  # fetch.timeout is 20 s: it was cancelled, not waited out
    finally:
        release.set()
        worker.join()


def test_snapshot_sees_new_edited_and_deleted_posts(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    (posts / "sub").mkdir(parents=True)
    (posts / "a.md").write_text("a")
    (posts / "sub" / "b.txt").write_text("b")
    (posts / ".a.md.swp").write_text("editor")
    (posts / "a.md~").write_text("backup")
    (posts / "notes.pdf").write_bytes(b"%PDF")
    (posts / ".git").mkdir()
    (posts / ".git" / "x.md").write_text("hidden")
    first = snapshot_posts([posts])
    assert sorted(rel for _, rel in first) == ["a.md", "sub/b.txt"]

    (posts / "a.md").write_text("a, longer")
    (posts / "sub" / "b.txt").unlink()
    (posts / "c.html").write_text("c")
    (posts / ".c.html.swp").write_text("editor")
    changes = diff_snapshots(first, snapshot_posts([posts]))
    assert changes.added == ("c.html",)
    assert changes.edited == ("a.md",)
    assert changes.deleted == ("sub/b.txt",)
    assert not diff_snapshots(first, first)


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_address("[::1]:0") == ("::1", 0)
    assert parse_address(":8000") == ("", 8000)
    for bad in ("8080", "localhost", "host:http", "host:70000"):
        with pytest.raises(ConfigError, match="HOST:PORT"):
            parse_address(bad)


def test_json_log_lines() -> None:
    record = logging.LogRecord("feedwright.daemon", logging.INFO, __file__, 1, "x %s", ("y",), None)
    record.event = "fetched"
    record.fields = {"url": "https://a/", "new": 2}
    line = json.loads(JsonFormatter().format(record))
    assert line["event"] == "fetched"
    assert line["message"] == "x y"
    assert line["level"] == "info"
    assert line["fields"] == {"url": "https://a/", "new": 2}
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


def test_systemd_unit_runs_the_daemon(tmp_path: Path) -> None:
    unit = ROOT / "deploy" / "feedwright.service"
    settings = unit_settings(unit)
    assert settings["Service.Type"] == ["simple"]
    assert settings["Service.Restart"] == ["on-failure"]
    assert settings["Service.KillSignal"] == ["SIGTERM"]
    stop_timeout = settings["Service.TimeoutStopSec"][0]
    assert int(stop_timeout.removesuffix("s")) > STOP_GRACE
    assert settings["Service.NoNewPrivileges"] == ["yes"]
    assert settings["Service.ProtectSystem"] == ["strict"]
    (workdir,) = settings["Service.WorkingDirectory"]
    assert settings["Service.ReadWritePaths"] == [workdir]
    assert settings["Service.User"][0] != "root"

    (exec_start,) = settings["Service.ExecStart"]
    args = build_parser().parse_args(feedwright_args(exec_start))
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


def test_crontab_example_runs_a_quiet_build() -> None:
    lines = [
        line
        for line in (ROOT / "deploy" / "crontab.example").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines
    for line in lines:
        fields = line.split(None, 5)
        assert len(fields) == 6
        schedule, command = fields[:5], fields[5]
        assert all(re.fullmatch(r"[\d*/,-]+", f) for f in schedule)
        run = next(part for part in command.split("&&") if "feedwright" in part)
        args = build_parser().parse_args(feedwright_args(run))
        assert args.command == "build"
        assert args.quiet
    assert "exit" in (ROOT / "deploy" / "crontab.example").read_text()
    assert " 3" in (ROOT / "deploy" / "crontab.example").read_text()
