"""forking.in_shares: plain os.fork workers, results back through pipes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from feedwright import forking
from feedwright.sources import posts as posts_module


def _square_with_pid(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def test_each_share_but_the_first_runs_in_its_own_worker() -> None:
    results = forking.in_shares(_square_with_pid, [1, 2, 3, 4])
    assert [r for r, _ in results] == [1, 4, 9, 16]  # in share order
    pids = [pid for _, pid in results]
    assert pids[0] == os.getpid() and len(set(pids)) == 4


def test_big_results_come_back_whole() -> None:
    def big(n: int) -> bytes:
        return bytes([n]) * 5_000_000  # far beyond a pipe's buffer

    assert forking.in_shares(big, [1, 2, 3]) == [bytes([n]) * 5_000_000 for n in (1, 2, 3)]


def _fail(n: int) -> int:
    if n == 2:
        raise ValueError(f"share {n}")
    return n


def test_a_workers_exception_is_raised_here() -> None:
    with pytest.raises(ValueError, match="share 2"):
        forking.in_shares(_fail, [1, 2, 3])


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    def die(n: int) -> int:
        if n:
            os._exit(3)
        return n

    with pytest.raises(RuntimeError, match="died"):
        forking.in_shares(die, [0, 1])


def test_no_worker_is_left_behind() -> None:
    results = forking.in_shares(_square_with_pid, [1, 2, 3])
    for _, pid in results[1:]:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped already: not even a zombie


def test_a_forked_read_takes_every_chunk_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chunks go out through a pipe of numbers; with more chunks than the
    # cap, they get bigger rather than overflow the pipe.
    from feedwright.config import PostsSource, Site

    folder = tmp_path / "posts"
    folder.mkdir()
    for i in range(60):
        (folder / f"p{i:02}.md").write_text(f"---\ntitle: P{i}\ndate: 2024-01-01\n---\nb{i}\n")
    monkeypatch.setattr(posts_module, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(posts_module, "READ_CHUNK", 1)
    monkeypatch.setattr(posts_module, "_MAX_CHUNKS", 7)
    site = Site(title="S", url="https://s.example/")
    result = posts_module.read_posts(PostsSource(path=folder), site, workers=3, keep_text=False)
    assert sorted(e.title for e in result.entries) == sorted(f"P{i}" for i in range(60))
    assert len(result.records) == 60 and not result.errors
