"""One writer per output folder: a `build` and a daemon never publish at once.

The lock is an advisory ``fcntl.flock`` on ``<output.dir>/.feedwright.lock``.
The kernel drops it when the process dies, so a crash never leaves a stale
lock behind. The file itself is left in place (deleting it would race).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .exceptions import LockError

if TYPE_CHECKING:
    from pathlib import Path

LOCK_NAME = ".feedwright.lock"


def try_lock(output_dir: str) -> int | None:
    """The output lock's file descriptor, held; None if someone else holds it.

    The output folder must exist. Release with :func:`unlock`.
    """
    fd = os.open(os.path.join(output_dir, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def unlock(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def output_lock(output_dir: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the output lock for the block; LockError if still held after ``wait`` seconds."""
    output_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    while (fd := try_lock(str(output_dir))) is None:
        if time.monotonic() >= deadline:
            raise LockError(
                "another feedwright build or daemon is publishing here; try again later",
                path=str(output_dir / LOCK_NAME),
            )
        time.sleep(0.05)
    # Nothing is written to the lock file: it stays empty and its mtime
    # fixed, so two output folders compare equal and a deploy ignores it.
    try:
        yield
    finally:
        unlock(fd)
