"""One writer per output folder: a `build` and a daemon never publish at once.

The lock is an advisory ``fcntl.flock`` on ``<output.dir>/.feedwright.lock``.
The kernel drops it when the process dies, so a crash never leaves a stale
lock behind. The file itself is left in place (deleting it would race).
A flock belongs to the open file, which a fork shares: a forked worker closes
its copy at once, so a worker that outlives a killed build (it notices the
lost parent only at its next message) never keeps the folder locked.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from .exceptions import ConfigError, LockError

if TYPE_CHECKING:
    from pathlib import Path

LOCK_NAME = ".feedwright.lock"

_held: set[int] = set()  # this process's lock descriptors


def _close_inherited() -> None:
    for fd in _held:
        with suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_inherited)


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
    _held.add(fd)
    return fd


def unlock(fd: int) -> None:
    _held.discard(fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def holder(lock_file: Path) -> str | None:
    """Who holds ``lock_file``: "PID 123: feedwright run -c config.yaml, since
    2024-05-14 18:00:00 UTC", from the kernel's table of locks (Linux's
    /proc/locks; nothing is written to the lock file). None where that cannot
    be known."""
    try:
        st = os.stat(lock_file)
        device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
        with open("/proc/locks", encoding="ascii", errors="replace") as table:
            pids = [
                int(parts[4])
                for line in table
                if len(parts := line.split()) > 5 and parts[1] == "FLOCK" and parts[5] == device
            ]
    except (OSError, ValueError):
        return None
    if not pids:
        return None
    pid = pids[0]
    if pid == os.getpid():
        return f"PID {pid}: this very process, another thread's build"
    said = f"PID {pid}"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
        started = _started(pid)
    except (OSError, ValueError, IndexError, StopIteration):
        return said
    command = " ".join(_short(argv))
    since = f", since {started}" if started else ""
    return f"{said}: {command}{since}" if command else said


def _short(argv: list[str]) -> list[str]:
    """``python -m feedwright.cli run`` and ``/venv/bin/feedwright run`` as ``feedwright run``."""
    for at, arg in enumerate(argv):
        if os.path.basename(arg) == "feedwright" or arg in ("feedwright.cli", "feedwright"):
            return ["feedwright", *argv[at + 1 :]]
    return argv


def _started(pid: int) -> str | None:
    """When process ``pid`` started, in UTC (its start time in clock ticks after boot)."""
    import datetime

    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = int(fields[19])  # field 22 of the line; the first two are before the ")"
    with open("/proc/stat", encoding="ascii") as fh:
        boot = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
    at = boot + ticks / os.sysconf("SC_CLK_TCK")
    moment = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def output_problem(output_dir: Path) -> str | None:
    """Why ``output_dir`` cannot be made or written, as far as can be told
    without writing (None: it can). ``check`` asks; a build finds out."""
    at = output_dir
    while True:
        try:
            mode = os.stat(at).st_mode
        except (FileNotFoundError, NotADirectoryError):
            if at.parent == at:
                return None
            at = at.parent  # made when the build starts: can it be, in what is there?
            continue
        except OSError as exc:
            return f"cannot use {at}: {exc.strerror or exc}"
        break
    import stat

    if not stat.S_ISDIR(mode):
        if at == output_dir:
            return f"{at} is a file, not a folder"
        return f"{at} is a file: no folder can be made in it"
    if not os.access(at, os.W_OK | os.X_OK):
        try:
            read_only = bool(os.statvfs(at).f_flag & os.ST_RDONLY)
        except (OSError, AttributeError):  # (no statvfs on Windows)
            read_only = False
        why = "a read-only file system" if read_only else "permission denied"
        return f"cannot write in {at}: {why}"
    return None


def _unusable(output_dir: Path, exc: OSError, config: str) -> ConfigError:
    problem = output_problem(output_dir) or f"cannot write in {output_dir}: {exc.strerror or exc}"
    return ConfigError(problem, key="output.dir", path=config)


class HeldLock:
    """The output lock :func:`output_lock` holds. A daemon holds it for days:
    if the folder (or the lock file) is deleted under it, another process
    could take a new lock file there; :meth:`keep` takes that one instead."""

    def __init__(self, output_dir: Path, fd: int) -> None:
        self.output_dir = output_dir
        self.fd = fd

    def lost(self) -> bool:
        """Whether the lock file held is no longer the folder's lock file."""
        try:
            there = os.stat(self.output_dir / LOCK_NAME)
        except OSError:
            return True
        held = os.fstat(self.fd)
        return (there.st_dev, there.st_ino) != (held.st_dev, held.st_ino)

    def keep(self) -> bool:
        """Take the folder's lock file again (making the folder) if it was lost;
        whether it had been. LockError if another process holds the new one;
        OSError if the folder cannot be made."""
        if not self.lost():
            return False
        self.output_dir.mkdir(parents=True, exist_ok=True)
        fd = try_lock(str(self.output_dir))
        if fd is None:
            who = holder(self.output_dir / LOCK_NAME)
            raise LockError(
                "the output folder was deleted or replaced, and another feedwright build"
                " or daemon" + (f" ({who})" if who else "") + " now holds its lock",
                path=str(self.output_dir / LOCK_NAME),
            )
        unlock(self.fd)
        self.fd = fd
        return True


@contextmanager
def output_lock(output_dir: Path, *, wait: float = 0.0, config: str = "") -> Iterator[HeldLock]:
    """Hold the output lock for the block; LockError if still held after
    ``wait`` seconds; ConfigError (naming ``output.dir`` of the ``config``
    file) if the folder cannot be made or written."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        fd = try_lock(str(output_dir))
    except OSError as exc:
        raise _unusable(output_dir, exc, config) from None
    deadline = time.monotonic() + wait
    while fd is None:
        if time.monotonic() >= deadline:
            who = holder(output_dir / LOCK_NAME)
            raise LockError(
                "another feedwright build or daemon"
                + (f" ({who})" if who else "")
                + " is publishing here;"
                " try again later, or wait for it (build --wait SECONDS; Python: wait=)",
                path=str(output_dir / LOCK_NAME),
            )
        time.sleep(0.05)
        fd = try_lock(str(output_dir))
    # Nothing is written to the lock file: it stays empty and its mtime
    # fixed, so two output folders compare equal and a deploy ignores it.
    held = HeldLock(output_dir, fd)
    try:
        yield held
    finally:
        unlock(held.fd)
