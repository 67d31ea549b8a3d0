"""One bad source never costs the rest of the site (issue 13): dying workers, hung
servers, Retry-After, internal errors, all through the command and real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

import feedwright
from feedwright.cli import main

POST = """---
title: 本地简报
date: 2024-05-17 09:00
categories: [金融]
---
简报正文。
"""


# Markup to sanitise: what makes parsing a big feed take a while.
DESCRIPTION = (
    "&lt;p&gt;words &lt;b&gt;bold&lt;/b&gt; &lt;a href='/x'&gt;link&lt;/a&gt;&lt;/p&gt;" * 6
)


def rss(items: int, title: str = "Wire") -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
        f"<title>{title}</title><link>https://wire.example/</link><description>d</description>",
    ]
    for n in range(items):
        parts.append(
            f"<item><title>Item {n}</title><link>https://wire.example/{n}</link>"
            f"<guid>https://wire.example/{n}</guid>"
            f"<pubDate>Tue, 14 May 2024 18:00:00 +0000</pubDate>"
            f"<description>{DESCRIPTION}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def make_site(tmp_path: Path, feeds: list[str], extra: str = "") -> Path:
    (tmp_path / "posts").mkdir(parents=True)
    (tmp_path / "posts" / "brief.md").write_text(POST, encoding="utf-8")
    sources = "".join(f"  - feed: {url}\n" for url in feeds)
    (tmp_path / "config.yaml").write_text(
        "site:\n  title: 江南新闻\n  url: https://news.example.com/\n"
        f"sources:\n  - posts: posts\n{sources}{extra}",
        encoding="utf-8",
    )
    return tmp_path / "config.yaml"


def build(config: Path, *args: str) -> tuple[int, dict[str, Any]]:
    from contextlib import redirect_stdout
    from io import StringIO

    out = StringIO()
    with redirect_stdout(out):
        code = main(["build", "-c", str(config), "--json", *args])
    return code, json.loads(out.getvalue())


def results(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["source"]: r for r in view["sources"]}


def test_a_server_that_never_answers_costs_only_itself(tmp_path: Path, http_server: Any) -> None:
    hung = threading.Event()

    def never(request: BaseHTTPRequestHandler) -> None:
        hung.wait(30)  # holds the connection; the client gives up first

    good = http_server.route("/good.xml", body=rss(3), headers={"Content-Type": "text/xml"})
    slow = http_server.route("/slow.xml", handler=never)
    config = make_site(tmp_path, [good, slow], "fetch:\n  timeout: 20s\n  deadline: 2s\n")
    started = time.monotonic()
    try:
        code, view = build(config)
    finally:
        hung.set()
    assert time.monotonic() - started < 15
    assert code == 1
    by_source = results(view)
    assert by_source[good]["result"] == "ok"
    assert by_source[slow]["result"] == "timed-out"
    assert "fetch.deadline" in by_source[slow]["error"]
    assert view["posts"] == 1 and view["remote_entries"] == 3
    # Not saved as a failure: the source is simply due again next run.
    status = {s.source: s for s in feedwright.status(config)}
    assert status[slow].result == "never fetched"


def test_retry_after_is_honoured_even_when_sooner_than_the_backoff(
    tmp_path: Path, http_server: Any
) -> None:
    busy = http_server.route("/busy.xml", status=503, headers={"Retry-After": "1"})
    config = make_site(tmp_path, [busy], "schedule:\n  every: 1h\n")
    before = datetime.now(UTC)
    code, view = build(config)
    assert code == 1 and results(view)[busy]["result"] == "rate-limited"
    (state,) = feedwright.status(config)
    assert state.next_due is not None
    assert state.next_due <= before + timedelta(seconds=3)  # not an hour of backoff
    code, view = build(config)
    assert results(view)[busy]["result"] == "skipped"  # asked for a second's rest
    time.sleep(1.2)
    http_server.route("/busy.xml", body=rss(1), headers={"Content-Type": "text/xml"})
    code, view = build(config)
    assert code == 0 and results(view)[busy]["result"] == "ok"


def test_repeated_failures_with_retry_after_still_back_off(
    tmp_path: Path, http_server: Any
) -> None:
    busy = http_server.route("/busy.xml", status=503, headers={"Retry-After": "1"})
    config = make_site(tmp_path, [busy], "schedule:\n  every: 1h\n")
    build(config)
    time.sleep(1.2)
    started = datetime.now(UTC)
    build(config)  # the second failure in a row
    (state,) = feedwright.status(config)
    assert state.error_streak == 2
    assert state.next_due is not None and state.next_due >= started + timedelta(minutes=59)


def test_a_killed_parser_costs_only_its_feed(tmp_path: Path, http_server: Any) -> None:
    # A feed big enough that its parse takes a while: the parse worker is
    # killed as the OOM killer would, from outside, while the build runs.
    big = http_server.route("/big.xml", body=rss(10000), headers={"Content-Type": "text/xml"})
    small = http_server.route(
        "/small.xml", body=rss(2, "Small"), headers={"Content-Type": "text/xml"}
    )
    config = make_site(tmp_path, [small, big])
    child = subprocess.Popen(
        [sys.executable, "-m", "feedwright.cli", "build", "--json", "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = _kill_busy_worker(child.pid, child)
    out, err = child.communicate(timeout=120)
    assert killed, "no parse worker was seen working"
    assert child.returncode == 1, err
    assert "Traceback" not in err
    view = json.loads(out)
    by_source = results(view)
    assert by_source[small]["result"] == "ok"
    assert by_source[big]["result"] == "error"
    assert "worker process died" in by_source[big]["error"]
    assert "SIGKILL" in by_source[big]["error"]
    assert view["posts"] == 1
    assert (tmp_path / "feeds" / "atom.xml").exists()


def _kill_busy_worker(parent: int, child: subprocess.Popen[str]) -> bool:
    """SIGKILL the first of ``parent``'s children seen using a second of CPU."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        for pid in _children(parent):
            if _cpu_seconds(pid) >= 0.3:
                os.kill(pid, 9)
                return True
        time.sleep(0.02)
    return False


def _children(parent: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(name))
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SITECUSTOMIZE = """
import cmarkgfm
def boom(*args, **kwargs):
    raise RuntimeError("a library broke")
cmarkgfm.markdown_to_html_with_extensions = boom
"""


@pytest.mark.parametrize("verbose", [False, True])
def test_an_internal_error_is_one_line_and_a_log_file(tmp_path: Path, verbose: bool) -> None:
    # A bug below us (here: a library that fails for no reason of the input)
    # must not print a traceback unless -v asks for it.
    config = make_site(tmp_path, [])
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hooks), *sys.path])}
    args = [sys.executable, "-m", "feedwright.cli", "build", "-c", str(config)]
    done = subprocess.run(
        [*args, *(["-v"] if verbose else [])], capture_output=True, text=True, env=env
    )
    assert done.returncode == 70
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("feedwright: internal error in `build`: RuntimeError: a library broke")
    log = Path(last.split("details in ", 1)[1].split(";", 1)[0])
    assert log.is_file() and "Traceback" in log.read_text()
    assert ("Traceback" in done.stderr) is verbose


def feed_of(name: str, items: int) -> bytes:
    body = "".join(
        f"<item><title>{name} {n}</title><link>https://{name}.example/{n}</link>"
        f"<guid>https://{name}.example/{n}</guid><category>{name}</category>"
        f"<pubDate>Tue, {1 + n % 28:02d} May 2024 {n % 24:02d}:00:00 +0000</pubDate>"
        f"<description>&lt;p&gt;{name} item {n}&lt;/p&gt;</description></item>"
        for n in range(items)
    )
    return (
        f'<rss version="2.0"><channel><title>{name}</title><link>https://{name}.example/</link>'
        f"<description>d</description>{body}</channel></rss>"
    ).encode()


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def test_kill_9_during_a_remote_refresh_leaves_a_store_the_next_build_trusts(
    tmp_path: Path, http_server: Any
) -> None:
    import random

    rng = random.Random(13)
    names = [f"s{n}" for n in range(30)]
    urls = [http_server.route(f"/{n}.xml", body=feed_of(n, 20)) for n in names]
    config = make_site(tmp_path / "site", urls, "output:\n  limit: 0\n")
    out = tmp_path / "site" / "feeds"
    command = [sys.executable, "-m", "feedwright.cli", "build", "-c", str(config)]
    started = time.monotonic()
    assert subprocess.run(command, capture_output=True).returncode == 0
    duration = time.monotonic() - started
    for round_ in range(6):
        for name in rng.sample(names, 10):  # some feeds gain items (none lose any)
            http_server.route(f"/{name}.xml", body=feed_of(name, 20 + 5 * (round_ + 1)))
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, duration))
        child.kill()
        child.wait()
        for data in tree(out).values():
            etree_parse(data)  # whatever is there is whole
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        # The same feeds into a fresh folder and a fresh store give the same files.
        fresh = tmp_path / f"fresh-{round_}"
        fresh_config = make_site(fresh, urls, "output:\n  limit: 0\n")
        assert (
            subprocess.run([*command[:-1], str(fresh_config)], capture_output=True).returncode == 0
        )
        assert tree(out) == tree(fresh / "feeds"), f"round {round_}"


def etree_parse(data: bytes) -> None:
    from lxml import etree

    if data.lstrip().startswith(b"<"):
        etree.fromstring(data)


def test_a_worker_that_outlives_a_killed_build_does_not_keep_the_output_locked(
    tmp_path: Path,
) -> None:
    # A build's forked workers notice a lost parent only at their next message;
    # until then they must not hold the output folder's lock (a flock is shared
    # across fork), or the next build after a kill -9 exits 3.
    config = make_site(tmp_path / "site", [])
    out = tmp_path / "site" / "feeds"
    script = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from feedwright.lock import output_lock\n"
        "with output_lock(Path(sys.argv[1])):\n"
        "    child = os.fork()\n"
        "    if child == 0:\n"
        "        os.close(1)\n"
        "        os.close(2)\n"
        "        time.sleep(30)\n"
        "        os._exit(0)\n"
        "    print(child, flush=True)\n"
        "    os.kill(os.getpid(), 9)\n"
    )
    parent = subprocess.run(
        [sys.executable, "-c", script, str(out)], capture_output=True, text=True, timeout=60
    )
    assert parent.returncode == -9, parent.stderr
    child = int(parent.stdout)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "feedwright.cli", "build", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    finally:
        os.kill(child, 9)


def test_sigterm_stops_a_build_as_ctrl_c_does(tmp_path: Path, http_server: Any) -> None:
    """`timeout`, cron and systemd stop with SIGTERM: exit 143, one line, no
    worker tracebacks, no temp files; the next build publishes."""
    hung = threading.Event()
    asked = threading.Event()

    def slow(request: BaseHTTPRequestHandler) -> None:
        asked.set()
        hung.wait(30)

    url = http_server.route("/slow.xml", handler=slow)
    config = make_site(tmp_path, [url], "fetch:\n  timeout: 20s\n")
    build_cmd = [sys.executable, "-m", "feedwright.cli", "build", "-c", str(config)]
    try:
        proc = subprocess.Popen(
            build_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert asked.wait(60)  # the build is waiting on the feed: its workers are up
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    finally:
        hung.set()
    assert proc.returncode == 143, err
    assert err.strip() == "feedwright: terminated (SIGTERM)"
    assert not [p for p in tmp_path.rglob("*.tmp")]
    http_server.route("/slow.xml", body=rss(2), headers={"Content-Type": "text/xml"})
    assert build(config)[0] == 0


def test_plan_copies_left_by_a_killed_plan_are_swept(tmp_path: Path) -> None:
    """A plan killed outright leaves its copies (state, output) in the temp
    folder: the next plan removes those whose process is gone, no others."""
    import tempfile

    root = Path(tempfile.gettempdir())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    gone = root / f"feedwright-plan-{dead.stdout.strip()}-test"
    alive = root / f"feedwright-plan-{os.getpid()}-test"
    for folder in (gone, alive):
        (folder / "output").mkdir(parents=True, exist_ok=True)
    try:
        config = make_site(tmp_path, [])
        feedwright.plan(config)
        assert not gone.exists() and alive.exists()
    finally:
        import shutil

        shutil.rmtree(alive, ignore_errors=True)
        shutil.rmtree(gone, ignore_errors=True)
