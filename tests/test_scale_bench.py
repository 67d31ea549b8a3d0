"""bench/scale_out.py runs end to end at a tiny size (200 feeds) against real
PostgreSQL, Redis and nginx, and says clearly what is missing otherwise.
Skipped, naming the service, where one is not reachable."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "scale_out.py"
PG = os.environ.get("FEEDWRIGHT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = "redis://127.0.0.1:6379/0"

pytest.importorskip("celery", reason="celery is not installed (pip install -e '.[test]')")
psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")


def nginx() -> str | None:
    found = shutil.which("nginx")
    return found or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


def require_services() -> str:
    binary = nginx()
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install -y nginx)")
    try:
        psycopg.connect(PG, connect_timeout=3).close()
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL is not reachable at {PG}: {exc}")
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError as exc:
        pytest.skip(f"Redis is not reachable at 127.0.0.1:6379: {exc}")
    return binary


def bench(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), "--pg", PG, "--queue", REDIS, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_the_bench_prints_every_figure_at_a_tiny_size() -> None:
    binary = require_services()
    run = bench(
        "--feeds", "200", "--hosts", "8", "--claim-sources", "5000", "--claims", "10",
        "--nginx", binary,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert re.search(r"^scale_out: 200 feeds \(", out, flags=re.M), out
    for workers in ("1 worker ", "2 workers"):
        for what in ("first refresh", "all-304 refresh"):
            line = re.search(rf"^{workers} {what}: +([\d.]+) feeds/s whole round \(200/200 ", out,
                             flags=re.M)  # fmt: skip
            assert line and float(line.group(1)) > 0, out
        assert re.search(rf"^{workers} publish after it: [\d.]+ s$", out, flags=re.M), out
        memory = re.search(rf"^{workers} peak memory: dispatcher (\d[\d,]*) MB", out, flags=re.M)
        assert memory and int(memory.group(1).replace(",", "")) > 0, out
    assert out.count("worker2 ") == 1, out  # the second round has two workers
    claim = re.search(r"^claim query: .*with 5,000 sources.*median ([\d.]+) ms", out, flags=re.M)
    assert claim and float(claim.group(1)) > 0, out


def test_without_nginx_it_says_how_to_get_it_and_exits_2(tmp_path: Path) -> None:
    run = bench("--feeds", "10", "--nginx", str(tmp_path / "no-nginx"), timeout=60)
    assert run.returncode == 2
    assert "apt-get install -y nginx" in run.stderr
    assert run.stdout == ""
