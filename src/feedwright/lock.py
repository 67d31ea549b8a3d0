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
from pathlib import Path

from .exceptions import LockError

LOCK_NAME = ".feedwright.lock"


@contextmanager
def output_lock(output_dir: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the output lock for the block; LockError if still held after ``wait`` seconds."""
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockError(
                        "another feedwright build or daemon is publishing here; try again later",
                        path=str(path),
                    ) from None
                time.sleep(0.05)
        # Nothing is written to the lock file: it stays empty and its mtime
        # fixed, so two output folders compare equal and a deploy ignores it.
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
