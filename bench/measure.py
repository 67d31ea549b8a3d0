"""Whole-process measurement shared by the bench scripts (not a script itself).

``run(cmd)`` starts one child and returns its wall time, peak RSS and CPU
time. Peak RSS comes from ``/usr/bin/time -v`` when it exists, else from
``getrusage(RUSAGE_CHILDREN)`` inside a tiny wrapper process that starts
nothing else. Either way it is the largest single process among the child
and the descendants it waited for (a pool worker counts on its own, not
summed). ``feedwright_env()`` runs the checkout's ``src/`` when feedwright
is not installed. ``print_profile`` shows a cProfile dump's top functions.
"""

from __future__ import annotations

import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
TIME = Path("/usr/bin/time")

_WRAPPER = (
    "import json, resource, subprocess, sys\n"
    "rc = subprocess.run(sys.argv[2:]).returncode\n"
    "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    json.dump([ru.ru_maxrss, ru.ru_utime + ru.ru_stime], f)\n"
    "sys.exit(rc)\n"
)


@dataclass(frozen=True, slots=True)
class Measured:
    wall: float  # seconds
    rss_mb: float  # peak resident set of the largest single process, MB
    cpu: float  # user + system seconds of the child and its waited-for descendants
    returncode: int
    stdout: str
    stderr: str


def feedwright_env() -> dict[str, str]:
    """The environment for ``python -m feedwright.cli``: adds ``src/`` unless installed."""
    env = dict(os.environ)
    probe = subprocess.run(
        [sys.executable, "-c", "import feedwright"],
        capture_output=True,
        check=False,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    if probe.returncode != 0:
        src = str(ROOT / "src")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def run(
    cmd: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Measured:
    """Run ``cmd`` to completion and measure it."""
    with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
        report = Path(tmp) / "usage"
        if TIME.exists():
            full = [str(TIME), "-v", "-o", str(report), *cmd]
        else:
            full = [sys.executable, "-c", _WRAPPER, str(report), *cmd]
        start = time.perf_counter()
        done = subprocess.run(full, env=env, cwd=cwd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        text = report.read_text() if report.exists() else ""
    if TIME.exists():
        rss_kb, cpu = _parse_time_v(text)
    else:
        rss_kb, cpu = json.loads(text) if text else (0, 0.0)
    return Measured(wall, rss_kb / 1024, cpu, done.returncode, done.stdout, done.stderr)


def _parse_time_v(text: str) -> tuple[int, float]:
    rss = 0
    cpu = 0.0
    for line in text.splitlines():
        key, _, value = line.strip().rpartition(": ")
        if key == "Maximum resident set size (kbytes)":
            rss = int(value)
        elif key in ("User time (seconds)", "System time (seconds)"):
            cpu += float(value)
    return rss, cpu


@dataclass(frozen=True, slots=True)
class Summary:
    median: float
    low: float
    high: float
    rss_mb: float  # the highest peak over the repeats
    cpu: float  # median CPU seconds

    def cell(self) -> str:
        return f"{self.median:8.3f}  {self.low:7.3f}–{self.high:<7.3f}"


def summarize(runs: Sequence[Measured]) -> Summary:
    walls = [r.wall for r in runs]
    return Summary(
        median=statistics.median(walls),
        low=min(walls),
        high=max(walls),
        rss_mb=max(r.rss_mb for r in runs),
        cpu=statistics.median(r.cpu for r in runs),
    )


def print_profile(dump: Path, *, top: int = 15, title: str = "", sort: str = "cumulative") -> None:
    """Print the ``top`` functions of a cProfile dump, by ``sort`` (cumulative or tottime)."""
    out = io.StringIO()
    stats = pstats.Stats(str(dump), stream=out)
    stats.strip_dirs().sort_stats(sort).print_stats(top)
    print(f"\n--- cProfile, top {top} by {sort}: {title}")
    body = out.getvalue()
    # pstats opens with the dump's path and blank lines; the table is what matters.
    start = body.find("   ncalls")
    lead = body[:start].strip().splitlines()
    print("\n".join(line for line in lead if "function calls" in line))
    print(body[start:].rstrip())


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)
