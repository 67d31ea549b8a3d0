"""feedwright called from another program (docs/api.md, "Embedding feedwright").

Each test writes a small host program and runs it in a Python of its own,
against a site whose one remote feed (served here on 127.0.0.1) is parsed in
a worker process. The host says what it saw on its standard output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LoopbackServer

import feedwright

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<link>https://wire.example/</link><item><title>Rates</title><link>https://wire.example/1</link>
<guid>w1</guid><pubDate>Tue, 14 May 2024 18:00:00 +0000</pubDate></item></channel></rss>"""

POST = "---\ntitle: Hello\ndate: 2024-01-02\ncategories: [General]\n---\nHi *there*.\n"


@pytest.fixture
def site(tmp_path: Path, http_server: LoopbackServer) -> Path:
    url = http_server.route("/wire.xml", body=RSS, headers={"Content-Type": "application/rss+xml"})
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "hello.md").write_text(POST)
    (tmp_path / "config.yaml").write_text(
        "site:\n  title: Host\n  url: https://host.example/\n"
        f"sources:\n  - posts: posts\n  - feed: {url}\n"
        "output:\n  dir: feeds\n"
    )
    return tmp_path


def run_host(site: Path, code: str, *argv: str, stdin: str | None = None) -> str:
    """Run ``code`` as a host program's main file (or ``stdin`` as ``python -``)
    in ``site``; its standard output, after checking it ended well and wrote
    nothing to standard error."""
    env = dict(os.environ)
    src = str(Path(feedwright.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    if stdin is None:
        (site / "host.py").write_text(code)
        argv = ("host.py", *argv)
    done = subprocess.run(
        [sys.executable, *argv],
        cwd=site,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    return done.stdout


SNAPSHOT = """
import asyncio, gc, json, locale, logging, multiprocessing, os, signal, sys, threading, warnings

def processes_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            found.append(int(entry))
    return found

def state():
    mask = os.umask(0o022)
    os.umask(mask)
    root = logging.getLogger()
    return {
        "gc": [gc.isenabled(), gc.get_freeze_count(), list(gc.get_threshold())],
        "recursion limit": sys.getrecursionlimit(),
        "switch interval": sys.getswitchinterval(),
        "signals": {s.name: repr(signal.getsignal(s)) for s in (
            signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGPIPE)},
        "cwd": os.getcwd(),
        "umask": mask,
        "sys.path": list(sys.path),
        "warnings": [repr(f) for f in warnings.filters],
        "root logger": [root.level, [repr(h) for h in root.handlers]],
        "handlers of loggers": sorted(
            name for name, one in logging.root.manager.loggerDict.items()
            if isinstance(one, logging.Logger) and (one.handlers or one.level)),
        "locale": locale.setlocale(locale.LC_ALL),
        "environ": dict(os.environ),
        "streams": [id(sys.stdout), id(sys.stderr), id(sys.stdin)],
        "start method": multiprocessing.get_start_method(allow_none=True),
        "children": processes_of(os.getpid()),
        "fds": sorted(os.listdir("/proc/self/fd")),
        "threads": sorted(t.name for t in threading.enumerate()),
        "event loop policy": type(asyncio.get_event_loop_policy()).__name__,
    }
"""


def test_a_host_keeps_its_interpreter_state(site: Path) -> None:
    # A host with a thread of its own running (forking it would be unsafe)
    # calls each function, one build from a worker thread: afterwards nothing
    # listed in state() differs, nothing was printed, no Python-level fork of
    # the host happened, and multiprocessing's start method is still its to set.
    out = run_host(
        site,
        SNAPSHOT
        + """
import feedwright

def main():
    forks = []
    os.register_at_fork(before=lambda: forks.append(1))
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait, name="host's own")
    busy.start()
    before = state()
    report = feedwright.build("config.yaml")
    helper = threading.Thread(target=feedwright.build, args=("config.yaml",), name="helper")
    helper.start()
    helper.join()
    feedwright.check("config.yaml")
    feedwright.plan("config.yaml")
    feedwright.status("config.yaml")
    after = state()
    stop.set()
    busy.join()
    multiprocessing.set_start_method("spawn")  # still unchosen: no RuntimeError
    changed = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    print(json.dumps({"changed": changed, "forks": len(forks),
                      "outcomes": [s.outcome for s in report.sources]}))

if __name__ == "__main__":
    main()
""",
    )
    said = json.loads(out)
    assert said == {"changed": {}, "forks": 0, "outcomes": ["ok"]}


UNGUARDED = """
import feedwright

with open("runs.txt", "a") as runs:
    runs.write("ran\\n")
report = feedwright.build("config.yaml")
print(report.posts, [s.outcome for s in report.sources], report.problems)
"""


def test_a_script_without_a_main_guard_runs_once(site: Path) -> None:
    # The workers never import the host's main file: its top-level code runs
    # once, in the host, and the feed parsed in a worker is published.
    out = run_host(site, UNGUARDED)
    assert out.splitlines() == ["1 ['ok'] []"]
    assert (site / "runs.txt").read_text() == "ran\n"
    assert b"Rates" in (site / "feeds" / "atom.xml").read_bytes()


def test_a_program_read_from_standard_input_builds(site: Path) -> None:
    # `python -` has no main file a worker could import.
    out = run_host(site, "", "-", stdin=UNGUARDED)
    assert out.splitlines() == ["1 ['ok'] []"]


def test_an_interrupted_build_lets_the_next_one_run(
    site: Path, http_server: LoopbackServer
) -> None:
    # Ctrl-C arrives while the build waits for the feed: the host gets its
    # KeyboardInterrupt, no worker outlives the call, and the next build runs.
    pid_file = site / "host.pid"

    def interrupt(request: object) -> None:
        os.kill(int(pid_file.read_text()), signal.SIGINT)
        http_server.route("/wire.xml", body=RSS)  # answered next time

    http_server.route("/wire.xml", handler=interrupt)
    out = run_host(
        site,
        SNAPSHOT
        + """
import feedwright

def main():
    with open("host.pid", "w") as f:
        f.write(str(os.getpid()))
    try:
        feedwright.build("config.yaml")
        print("not interrupted")
    except KeyboardInterrupt:
        print("interrupted", processes_of(os.getpid()))
    report = feedwright.build("config.yaml")
    print(report.posts, [s.outcome for s in report.sources], report.problems)

if __name__ == "__main__":
    main()
""",
    )
    assert out.splitlines() == ["interrupted []", "1 ['ok'] []"]
