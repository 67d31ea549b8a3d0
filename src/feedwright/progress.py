"""Progress on a terminal: fetching, reading, publishing (tqdm, only when shown).

The pipeline reports ``(phase, done, total)`` to a callback; :class:`Display`
is the one the command line gives it when stderr is a terminal (never with
``-q`` or ``--json``, never in cron). Nothing is drawn until the work has taken
:data:`DELAY` seconds, so a quick build prints exactly what it did before,
and tqdm is imported only then (a no-change build never loads it). The bar of
each phase is cleared when the next one starts and when the work ends, so the
summary line stands alone.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

DELAY = 1.0  # seconds of work before anything is drawn

Report = Callable[[str, int, int], None]  # (phase, done, total)

_UNITS = {"fetching": "feed", "reading": "post", "publishing": "feed"}


class Display:
    """A :data:`Report` that draws one tqdm bar per phase on ``stream``."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        delay: float = DELAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.clock = clock
        self.started = clock()
        self.phase: str | None = None
        self.bar: Any = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self._clear()
            self.phase = phase
        if self.bar is None:
            if self.clock() - self.started < self.delay:
                return
            import shutil

            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                desc=phase,
                unit=_UNITS.get(phase, "item"),
                file=self.stream,
                leave=False,
                # A terminal that reports no width (a bare pty) gets 80 columns.
                ncols=shutil.get_terminal_size().columns,
                mininterval=0.1,
            )
        if self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.bar.refresh()  # the last state is drawn even within tqdm's mininterval

    def close(self) -> None:
        self._clear()

    def _clear(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def for_terminal(stream: TextIO, *, quiet: bool) -> Display | None:
    """A display for ``stream`` when it is a terminal and the user did not ask
    for quiet (or machine-readable) output; else None."""
    if quiet:
        return None
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return Display(stream)


__all__ = ["DELAY", "Display", "Report", "for_terminal"]
