"""``feedwright run`` in a subprocess for the issue-17 tests (status page, reload):
its log lines read as they come, waited for with a deadline."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


class DaemonProcess:
    """``feedwright run [ARGS] -c CONFIG``; its stderr lines in ``lines``."""

    def __init__(self, config: Path, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "feedwright.cli", "run", *args, "-c", str(config)],
            cwd=config.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.seen = 0

    def wait_log(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """The first line matching ``pattern`` after the last one waited for."""
        assert self.proc.stderr is not None
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            while self.seen < len(self.lines):
                self.seen += 1
                if found := re.search(pattern, self.lines[self.seen - 1]):
                    return found
            ready, _, _ = select.select([self.proc.stderr], [], [], 0.2)
            if ready:
                line = self.proc.stderr.readline()
                if not line and self.proc.poll() is not None:
                    break
                self.lines.append(line)
        pytest.fail(f"no log line {pattern!r}; got:\n{''.join(self.lines)}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def wait_until(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)
