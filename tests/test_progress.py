"""Progress on a terminal (issue 17): drawn for work that takes over a second,
on a real pseudo-terminal; nothing extra without one, with -q or --json; and a
build that changes nothing imports none of the heavy libraries (tqdm included)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Slow</title>'
    b"<link>https://slow.example/</link><item><title>One</title>"
    b"<link>https://slow.example/1</link></item></channel></rss>"
)


def slow(request: BaseHTTPRequestHandler) -> None:
    time.sleep(1.6)  # the work must take over a second for anything to be drawn
    request.send_response(200)
    request.send_header("Content-Length", str(len(RSS)))
    request.end_headers()
    request.wfile.write(RSS)


def make_site(tmp_path: Path, feeds: list[str]) -> Path:
    (tmp_path / "posts").mkdir(exist_ok=True)
    (tmp_path / "posts" / "a.md").write_text("---\ntitle: A\ndate: 2024-01-01\n---\nBody.\n")
    config = tmp_path / "config.yaml"
    lines = "".join(f"  - feed: {url}\n" for url in feeds)
    config.write_text(
        "site:\n  title: S\n  url: https://example.com/\n"
        f"sources:\n  - posts: posts\n{lines}output:\n  dir: out\nstate: state.db\n"
    )
    return config


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return dict(clean, PYTHONPATH=str(ROOT / "src"), TERM="xterm")


def on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run feedwright with stdout and stderr on a pseudo-terminal; (exit code, screen bytes)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "feedwright.cli", *args],
        cwd=cwd,
        env=env(),
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=30), out.decode("utf-8", "replace")


def test_a_slow_build_on_a_terminal_shows_progress_and_then_its_line(
    tmp_path: Path, http_server: Any
) -> None:
    config = make_site(tmp_path, [http_server.route("/slow.xml", handler=slow)])
    code, screen = on_a_terminal(["build", "-c", str(config)], tmp_path)
    assert code == 0, screen
    assert re.search(r"fetching: +\d+%.*[01]/1", screen), screen
    # The bar is cleared: the summary line stands alone at the end.
    assert screen.rstrip().splitlines()[-1].split("\r")[-1].startswith("1 post, ")


@pytest.mark.parametrize("flag", ["-q", "--json"])
def test_quiet_or_json_on_a_terminal_draws_nothing(
    tmp_path: Path, http_server: Any, flag: str
) -> None:
    config = make_site(tmp_path, [http_server.route("/slow.xml", handler=slow)])
    code, screen = on_a_terminal(["build", flag, "-c", str(config)], tmp_path)
    assert code == 0, screen
    assert "fetching" not in screen


def test_without_a_terminal_a_slow_build_prints_only_its_line(
    tmp_path: Path, http_server: Any
) -> None:
    config = make_site(tmp_path, [http_server.route("/slow.xml", handler=slow)])
    result = subprocess.run(
        [sys.executable, "-m", "feedwright.cli", "build", "-c", str(config)],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("1 post, ")


def test_a_no_change_build_imports_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    config = make_site(tmp_path, [])
    probe = (
        "import sys, json\n"
        "from feedwright.cli import main\n"
        f"assert main(['build', '-q', '-c', {str(config)!r}]) == 0\n"
        "heavy = ['feedgen', 'lxml', 'httpx', 'feedparser', 'rich', 'tqdm', 'yaml',"
        " 'frontmatter', 'cmarkgfm', 'feedwright.posts.frontmatter', 'feedwright.posts.entry']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    run = [sys.executable, "-c", probe]
    first = subprocess.run(run, cwd=tmp_path, env=env(), capture_output=True, text=True, check=True)
    assert first.returncode == 0
    again = subprocess.run(run, cwd=tmp_path, env=env(), capture_output=True, text=True, check=True)
    loaded = json.loads(again.stdout.strip().splitlines()[-1])
    # PyYAML reads config.yaml; nothing else heavy is loaded when nothing changed.
    assert [m for m in loaded if m != "yaml"] == []
