"""Worker processes for a program that calls feedwright as a library.

:func:`start` runs a fresh interpreter (``python -c``), never a fork of the
caller, and hands it a worker's life (``parallel._serve``) over a pipe. Unlike
``multiprocessing``'s spawn and forkserver starts, the worker does not import
the caller's main file (a script without an ``if __name__ == "__main__":``
guard, a program read from standard input), no fork server or resource
tracker is left running, ``multiprocessing``'s default start method stays
unchosen, and the worker may be started from a daemonic process (a
``multiprocessing.Pool`` worker). It runs in a session of its own, so a
Ctrl-C at the terminal reaches the caller, whose pool then stops it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

# What the new interpreter runs: take the caller's import path, then the
# function to serve (pickled by reference: imported with that path) and its
# arguments, and serve on the same pipe.
_BOOT = (
    "import sys\n"
    "from multiprocessing.connection import Connection\n"
    "conn = Connection(int(sys.argv[1]))\n"
    "sys.path[:] = conn.recv()\n"
    "serve, args = conn.recv()\n"
    "serve(conn, *args)\n"
)


class Child:
    """A started worker, with what :class:`~feedwright.parallel.Pool` uses of
    a ``multiprocessing.Process``: ``sentinel`` (readable once it has ended),
    ``is_alive``, ``kill``, ``join``, ``exitcode`` (minus the signal that
    ended it) and ``close``."""

    def __init__(self, popen: subprocess.Popen[bytes], sentinel: int) -> None:
        self._popen = popen
        self.pid = popen.pid
        self.sentinel = sentinel

    @property
    def exitcode(self) -> int | None:
        return self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self._popen.kill()

    def join(self, timeout: float | None = None) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout)

    def close(self) -> None:
        """Let go of the sentinel (once the worker has ended and is unwatched)."""
        if self.sentinel >= 0:
            os.close(self.sentinel)
            self.sentinel = -1


def start(serve: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Child, Connection]:
    """A new worker running ``serve(conn, *args)``; the caller's end of ``conn``."""
    from multiprocessing.spawn import get_executable

    ours, theirs = socket.socketpair()
    # The worker holds the write end until it ends: then the read end is at EOF.
    sentinel, held = os.pipe()
    try:
        popen = subprocess.Popen(
            [os.fsdecode(get_executable()), "-c", _BOOT, str(theirs.fileno())],
            stdin=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(), held),
            start_new_session=True,
        )
    except BaseException:
        ours.close()
        os.close(sentinel)
        raise
    finally:
        theirs.close()
        os.close(held)
    conn = Connection(ours.detach())
    try:
        conn.send(list(sys.path))
        conn.send((serve, args))
    except OSError:
        pass  # it died at once: the pool sees its sentinel and its pipe's end
    return Child(popen, sentinel), conn


__all__ = ["Child", "start"]
