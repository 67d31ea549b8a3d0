"""feedwright.parallel: one way to run work in other processes; a death is a value."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest

from feedwright.parallel import Failed, Pool, chunked


def square(n: int) -> int:
    return n * n


def whose(n: int) -> tuple[int, int]:
    return n, os.getpid()


def trouble(n: int) -> int:
    if n == 3:
        os.kill(os.getpid(), signal.SIGSEGV)
    if n == 4:
        os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does
    if n == 5:
        raise ValueError("five is right out")
    if n == 6:
        raise MemoryError
    if n == 7:
        time.sleep(60)
    return n * n


def test_map_gives_results_in_input_order_from_other_processes() -> None:
    with Pool(2) as pool:
        results = list(pool.map(whose, range(20)))
    assert [n for n, _ in results] == list(range(20))
    assert os.getpid() not in {pid for _, pid in results}


def test_each_kind_of_death_costs_only_its_item() -> None:
    with Pool(2, timeout=2.0) as pool:
        results = list(pool.map(trouble, range(10)))
    assert results[:3] == [0, 1, 4]
    assert results[8:] == [64, 81]
    reasons = {n: r.reason for n, r in enumerate(results) if isinstance(r, Failed)}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "SIGSEGV" in reasons[3]
    assert "SIGKILL" in reasons[4] and "out of memory" in reasons[4]
    assert reasons[5] == "ValueError: five is right out"
    assert "ran out of memory" in reasons[6]
    assert "longer than 2s" in reasons[7]
    failed = results[5]
    assert isinstance(failed, Failed) and "Traceback" in failed.traceback


def test_asyncio_callers_await_items_and_get_deaths_as_values() -> None:
    async def main(pool: Pool) -> list[object]:
        return list(await asyncio.gather(*(pool.apply(trouble, n) for n in (1, 2, 3, 5, 8))))

    with Pool(2, timeout=5.0) as pool:
        results = asyncio.run(main(pool))
    assert results[0:2] == [1, 4] and results[4] == 64
    assert isinstance(results[2], Failed) and isinstance(results[3], Failed)


def test_a_hung_item_is_stopped_from_asyncio_too() -> None:
    async def main(pool: Pool) -> object:
        return await pool.apply(trouble, 7)

    started = time.monotonic()
    with Pool(1, timeout=1.0) as pool:
        result = asyncio.run(main(pool))
    assert isinstance(result, Failed) and "longer than 1s" in result.reason
    assert time.monotonic() - started < 10


def test_a_pool_in_a_threaded_process_does_not_fork_it() -> None:
    # Another thread is alive: the workers come from a fork server, so no lock
    # that thread holds can be copied into them. They still do the work.
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with Pool(1) as pool:
            assert list(pool.map(square, [3])) == [9]
    finally:
        stop.set()
        other.join()


def test_no_worker_is_left_behind() -> None:
    with Pool(2) as pool:
        pids = {pid for _, pid in pool.map(whose, range(6))}
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_workers_leave_when_their_parent_is_killed(tmp_path: object) -> None:
    # A parent killed with -9 leaves no orphan workers: each sees its pipe close.
    import subprocess
    import sys

    code = (
        "import time\n"
        "from feedwright.parallel import Pool\n"
        "pool = Pool(2); pool.start()\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    pids = _children(child.pid)
    assert len(pids) == 2
    child.kill()
    child.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)


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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_chunked() -> None:
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunked([], 3)) == []
