"""Log lines: one per meaningful event, as text or as JSON objects.

Every log call of ours passes ``extra=fields(event, **values)``: the event's
name and its structured values, which the JSON formatter prints as they are
(``feedwright run --json``) and the text formatter leaves to the message.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .model import rfc3339

if TYPE_CHECKING:
    from .update import SourceResult

log = logging.getLogger("feedwright.daemon")


def fields(event: str, **values: Any) -> dict[str, Any]:
    """``extra=`` for a log call: the event name and its structured fields."""
    return {"event": event, "fields": values}


def moved_message(url: str, to: str, *, discovered: bool = False) -> str:
    """What is said of a feed that answered with a permanent redirect, or
    (``discovered``) whose address is a web page naming its feed."""
    if discovered:
        return f"{url}: a web page, not a feed; its feed {to} is fetched from now on"
    return f"{url}: moved permanently to {to}; fetched from there from now on"


def log_source(result: SourceResult) -> None:
    """The daemon's line (or lines) for one source's refresh."""
    if result.outcome == "skipped":
        return
    if result.error is not None:
        log.warning(
            "fetch failed (%s): %s",
            result.outcome,
            result.error,
            extra=fields(
                "fetch-failed", url=result.url, outcome=result.outcome, reason=result.error.message
            ),
        )
    elif result.outcome == "ok":
        log.info(
            "fetched %d new, %d updated from %s",
            result.new,
            result.updated,
            result.url,
            extra=fields("fetched", url=result.url, new=result.new, updated=result.updated),
        )
    else:
        log.info("%s: %s", result.outcome, result.url, extra=fields(result.outcome, url=result.url))
    if result.note and result.error is None:
        # What the parser repaired or guessed (bytes replaced, an encoding,
        # entries dropped), as build prints it; said when a feed's new bytes
        # are parsed (a 304 parses nothing).
        log.warning("%s: %s", result.url, result.note, extra=fields("repaired", url=result.url))
    if result.moved_to:
        log.warning(
            "%s",
            moved_message(result.url, result.moved_to, discovered=result.discovered),
            extra=fields("moved", url=result.url, to=result.moved_to, source=result.key),
        )


class TextFormatter(logging.Formatter):
    """``2024-03-01T08:00:00.123Z INFO message``: stamped in UTC, as the messages
    and the JSON lines write times (a local time would repeat an hour each autumn)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event, message, fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": rfc3339(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None) or record.name.rsplit(".", 1)[-1],
            "message": record.getMessage(),
            "fields": getattr(record, "fields", None) or {},
        }
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


@contextmanager
def daemon_logging(json_logs: bool, verbose: bool) -> Iterator[None]:
    """Route ``feedwright.*`` logs to stderr at INFO (DEBUG if verbose) for the daemon's life.

    A daemon's log is its only voice, so it logs events even when the CLI's
    default level (WARNING) would hide them. APScheduler's own chatter
    (every job run, skipped ticks while a slow round runs) is kept quiet; what
    it does say goes through the same handler (one JSON object a line with
    ``--json``), never to Python's last-resort printer.
    """
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    ours, aps = logging.getLogger("feedwright"), logging.getLogger("apscheduler")
    saved = (ours.level, ours.propagate, aps.level, aps.propagate)
    for logger in (ours, aps):
        logger.addHandler(handler)
        logger.propagate = False
    ours.setLevel(logging.DEBUG if verbose else logging.INFO)
    aps.setLevel(logging.WARNING if verbose else logging.ERROR)
    try:
        yield
    finally:
        for logger in (ours, aps):
            logger.removeHandler(handler)
        ours.setLevel(saved[0])
        ours.propagate = saved[1]
        aps.setLevel(saved[2])
        aps.propagate = saved[3]


__all__ = [
    "JsonFormatter",
    "TextFormatter",
    "daemon_logging",
    "fields",
    "log_source",
    "moved_message",
]
