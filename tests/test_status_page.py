"""The daemon's /status page and /status.json (issue 17), from a real
``feedwright run --serve`` subprocess, looked at in a real headless browser.

The browser is Debian's chromium, driven over the DevTools protocol through
``--remote-debugging-pipe`` (JSON messages ending in NUL on file descriptors 3
and 4: no WebSocket, no extra package). Its screenshot is kept in
``tests/artifacts/status.png`` (git-ignored). Where chromium is not installed
(``.ci/run`` installs it with apt-get), the browser test skips, saying so;
the rest runs anyway.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from daemon_process import DaemonProcess

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"


def _midday() -> datetime:
    """Halfway between midnight (UTC) and now: an entry "d days ago" dated so
    lands on that calendar day whatever the time of day the test runs (an hour
    before now was yesterday when CI ran between 00:00 and 01:00). Taken when a
    feed is made, not when the tests are collected: a suite that runs past
    midnight would date "today" yesterday."""
    now = datetime.now(UTC)
    return now - (now - now.replace(hour=0, minute=0, second=0, microsecond=0)) / 2


def rss(name: str, days: list[int]) -> bytes:
    midday = _midday()
    items = "".join(
        f"<item><title>{name} {n}</title><link>https://{name}.example/{n}</link>"
        f"<pubDate>{(midday - timedelta(days=d)).strftime('%a, %d %b %Y %H:%M:%S +0000')}"
        "</pubDate></item>"
        for n, d in enumerate(days)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
        f"<link>https://{name}.example/</link>{items}</channel></rss>"
    ).encode()


@pytest.fixture
def daemon(tmp_path: Path, http_server: Any) -> Any:
    busy = http_server.route("/busy.xml", body=rss("busy", [0, 0, 0, 1, 2, 2, 5, 9, 9, 20, 29]))
    quiet = http_server.route("/quiet.xml", body=rss("quiet", [3]), headers={"ETag": '"q"'})
    broken = http_server.route("/broken.xml", status=500, body=b"down for maintenance")
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "hello.md").write_text(
        "---\ntitle: Hello\ndate: 2024-01-01\ncategories: [news]\n---\nBody.\n"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        "site:\n  title: Planet <Test>\n  url: https://example.com/\n"
        f"sources:\n  - posts: posts\n  - feed: {busy}\n  - feed: {quiet}\n  - feed: {broken}\n"
        "output:\n  dir: out\nstate: state.db\n",
        encoding="utf-8",
    )
    running = DaemonProcess(config, "--serve", "127.0.0.1:0")
    try:
        base = running.wait_log(r"serving (http://\S+/)")[1]
        running.wait_log(r"published \d+ files")
        running.wait_log(r"fetch failed")
        yield base
    finally:
        running.stop()


def get(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers["Content-Type"], response.read()


def test_status_json_has_every_source_and_the_last_builds(daemon: str) -> None:
    ctype, body = get(daemon + "status.json")
    assert ctype == "application/json"
    data = json.loads(body)
    states = {s["source"].rsplit("/", 1)[1]: s for s in data["sources"]}
    assert set(states) == {"busy.xml", "quiet.xml", "broken.xml"}
    assert states["busy.xml"]["state"] == "ok"
    assert states["busy.xml"]["entries_per_day"][-1] == 3  # three entries today
    assert sum(states["busy.xml"]["entries_per_day"]) == 11
    assert len(states["busy.xml"]["entries_per_day"]) == data["days"] == 30
    broken = states["broken.xml"]
    assert broken["state"] == "failing" and broken["error_streak"] == 1
    assert "500" in broken["last_error"] and broken["next_due"]
    assert data["failing"] == 1
    assert data["builds"] and "atom.xml" in data["builds"][0]["written"]


def test_status_html_needs_no_javascript(daemon: str) -> None:
    ctype, body = get(daemon + "status")
    page = body.decode()
    assert ctype == "text/html; charset=utf-8"
    assert "<script" not in page and "Planet &lt;Test&gt;" in page
    assert (
        page.count("<svg") == 3 and "down for maintenance" not in page
    )  # the body is not the error
    assert "HTTP 500" in page


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip(
            "chromium is not installed here (.ci/run installs Debian's with"
            " `apt-get install -y chromium`); the status page was not looked at in a browser"
        )
    return path


class Browser:
    """Headless chromium over the DevTools protocol on a pipe (fds 3 and 4)."""

    def __init__(self, executable: str, profile: Path) -> None:
        args = [
            executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--no-default-browser-check",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # The shell hands chromium our stdin as fd 3 (it reads commands there)
        # and our stdout as fd 4 (it writes answers there).
        self.proc = subprocess.Popen(
            ["sh", "-c", 'exec "$@" 3<&0 4>&1 0</dev/null 1>/dev/null', "sh", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.next_id = 0
        self.buffer = b""
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def send(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\0")
        self.proc.stdin.flush()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for reply in self._read(end):
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        raise AssertionError(f"{method}: {reply['error']}")
                    result: dict[str, Any] = reply.get("result", {})
                    return result
                self.events.append(reply)
        raise AssertionError(f"no answer to {method} in {timeout}s")

    def wait_event(self, method: str, timeout: float = 30) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event
            self.events.extend(self._read(end))
        raise AssertionError(f"no {method} in {timeout}s")

    def _read(self, end: float) -> list[dict[str, Any]]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select(
            [self.proc.stdout], [], [], max(0.0, min(0.5, end - time.monotonic()))
        )
        if ready:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not chunk:
                raise AssertionError("chromium closed the pipe")
            self.buffer += chunk
        *whole, self.buffer = self.buffer.split(b"\0")
        return [json.loads(m) for m in whole if m]

    def open(self, url: str, width: int = 1280, height: int = 900) -> None:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.send("Page.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.send("Emulation.setScriptExecutionDisabled", value=True)  # the page must not need it
        self.send("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        self.send("Emulation.setScriptExecutionDisabled", value=False)
        try:
            result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        finally:
            self.send("Emulation.setScriptExecutionDisabled", value=True)
        return result["result"].get("value")

    def screenshot(self) -> bytes:
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        return base64.b64decode(data)

    def close(self) -> None:
        with contextlib.suppress(AssertionError, BrokenPipeError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def test_status_page_in_a_real_browser(daemon: str, tmp_path: Path) -> None:
    browser = Browser(_chromium(), tmp_path / "profile")
    try:
        browser.open(daemon + "status")
        seen = browser.evaluate(
            """(() => {
                const rows = [...document.querySelectorAll('#sources tbody tr')];
                const charts = [...document.querySelectorAll('#sources svg.chart')];
                return {
                    title: document.title,
                    rows: rows.map(r => [...r.cells].map(c => c.innerText.trim())),
                    charts: charts.map(s => {
                        const box = s.getBoundingClientRect();
                        return {w: box.width, h: box.height,
                                bars: [...s.querySelectorAll('rect')]
                                    .filter(r => r.getBoundingClientRect().height > 0).length};
                    }),
                    states: [...document.querySelectorAll('.state')].map(
                        e => [e.innerText, getComputedStyle(e).backgroundColor]),
                    builds: document.querySelectorAll('#builds tbody tr').length,
                    overflow: document.documentElement.scrollWidth > window.innerWidth,
                };
            })()"""
        )
        png = browser.screenshot()
    finally:
        browser.close()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "status.png").write_bytes(png)

    assert seen["title"] == "Planet <Test> - feedwright status"
    assert len(seen["rows"]) == 3
    by_name = {row[0].split("\n")[0].rsplit("/", 1)[1]: row for row in seen["rows"]}
    assert by_name["broken.xml"][1] == "failing" and "HTTP 500" in by_name["broken.xml"][0]
    assert by_name["busy.xml"][1] == "ok"
    # Each chart is drawn at its size; busy's has a bar for each day it published.
    assert all(c["w"] == 150 and c["h"] == 32 for c in seen["charts"])
    assert sorted(c["bars"] for c in seen["charts"]) == [0, 1, 7]
    colours = dict(seen["states"])
    assert colours["ok"] != colours["failing"]
    assert seen["builds"] >= 1
    assert not seen["overflow"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
