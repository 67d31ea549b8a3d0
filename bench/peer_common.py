"""Helpers shared by the peer clients of bench_aggregate.py (stdlib only).

The peer clients run under the peer virtualenv's Python (``bench/out/peer-venv``),
which has neither feedwright nor the project's dependencies, so this module
imports nothing outside the standard library. A client times two rounds over
the same URLs and writes them as JSON in the shape ``bench_aggregate`` reads
for feedwright: wall, CPU (main process + children), outcomes, the server's
200/304 counts during the round, and the first few errors.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any


def stats(base: str) -> dict[str, float]:
    with urllib.request.urlopen(base + "/__stats", timeout=10) as resp:
        data: dict[str, float] = json.loads(resp.read())
        return data


def cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def urls(base: str, count: int) -> list[str]:
    """The same URLs, in the same order, as the feedwright config lists."""
    return [f"{base}/feed-{n:04d}.xml" for n in range(count)]


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--base", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=1)
    return parser.parse_args()


Round = Callable[[int], tuple[dict[str, int], list[str]]]


def timed_round(base: str, number: int, body: Round) -> dict[str, Any]:
    """Run ``body(number)`` (returns outcome counts and errors) and measure it."""
    before = stats(base)
    cpu0 = cpu()
    t0 = time.perf_counter()
    outcomes, errors = body(number)
    wall = time.perf_counter() - t0
    cpu1 = cpu()
    after = stats(base)
    return {
        "wall": wall,
        "cpu_main": cpu1[0] - cpu0[0],
        "cpu_workers": cpu1[1] - cpu0[1],
        "outcomes": outcomes,
        "server": {k: round(after.get(k, 0) - before.get(k, 0), 3) for k in after},
        "errors": errors[:5],
    }


def write(result: Path, imported: float, rounds: list[dict[str, Any]], **extra: Any) -> None:
    result.write_text(json.dumps({"import": imported, "rounds": rounds, **extra}))
