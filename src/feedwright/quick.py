"""The no-change build, answered before the rest of feedwright is imported.

A ``feedwright build`` with nothing to do must cost little more than stating
the posts (issue 5: a tenth of Hugo's cold build). The build itself finds
"nothing changed" cheaply (``app.run_once``: a fingerprint of the config
bytes, every post's stamp and the stored entries' generation), but only after
importing the config machinery (PyYAML, the dataclasses), the store and the
rest: about half of such a build.

So every build leaves in its record (store meta ``build``) what the check
needs besides the config file: the resolved folders its config named, and
the summary to print. This module redoes the check with the standard library
alone. It needs the state database before the config is parsed, and guesses
its path from the config's text (a top-level ``state:`` line, or the
default); a wrong guess costs nothing, because the record must then name
this very config file, this database, and folders that still resolve where
they did. Anything it cannot vouch for (remote feeds to refresh, an odd
``state:`` line, a lock held, a symlink moved) returns None: build for real.
"""

from __future__ import annotations

import json
import marshal
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from . import build_id
from .lock import try_lock, unlock
from .sources.files import Stamp, snapshot
from .statedb import BUILD_KEY, DEFAULT_STATE, GENERATION_KEY

if TYPE_CHECKING:
    from datetime import datetime

    from .config import Config


def fingerprint(generation: int, config_bytes: bytes, snap: dict[tuple[str, str], Stamp]) -> str:
    """Everything a build reads, cheaply: version, the stored remote entries'
    generation, the config's bytes, every post's stamp."""
    h = sha256(f"{build_id()}|{generation}|".encode())
    h.update(config_bytes)
    # marshal: C-fast and exact for str/int tuples; the snapshot's order is
    # deterministic already (see files.snapshot).
    h.update(marshal.dumps(snap))
    return h.hexdigest()


def guess_state(config_path: str, text: str) -> str | None:
    """Where the config's ``state:`` points, read off its text without a YAML
    parser: a plain top-level ``state: path`` line, or the default when there
    is none. None when the text says it some other way."""
    found: str | None = None
    for line in text.splitlines():
        if not line.startswith("state"):
            continue
        rest = line[5:].lstrip(" \t")
        if not rest.startswith(":"):
            continue  # another key that starts with "state"
        value = rest[1:].strip()
        if value[:1] in ("'", '"'):
            end = value.find(value[0], 1)
            after = value[end + 1 :].strip() if end > 0 else "?"
            if after and not after.startswith("#"):
                return None  # unclosed, or an escaped quote ('' in YAML)
            value = value[1:end]
            if "\\" in value:
                return None  # escapes: YAML's business
        else:
            for mark in (" #", "\t#"):
                value = value.split(mark, 1)[0]
            value = value.rstrip()
            if not value or value[0] in "&*!|>{[@`%#":
                return None  # a tag, an anchor, a block or flow value, or nothing
        if found is not None:
            return None  # twice: YAML would complain, the real build will
        found = value
    base = os.path.dirname(config_path)
    return os.path.join(base, DEFAULT_STATE if found is None else found)


def _record(state: str) -> tuple[dict[str, Any], int] | None:
    """The last build's record and the entries generation, or None."""
    if not os.path.isfile(state):
        return None  # never create a database here
    try:
        db = sqlite3.connect(state, timeout=1.0, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        rows = dict(
            db.execute(
                "SELECT key, value FROM meta WHERE key IN (?, ?)", (BUILD_KEY, GENERATION_KEY)
            ).fetchall()
        )
    except sqlite3.Error:
        return None
    finally:
        db.close()
    try:
        record = json.loads(rows.get(BUILD_KEY) or "null")
        generation = int(rows.get(GENERATION_KEY) or 0)
    except ValueError:
        return None
    return (record, generation) if isinstance(record, dict) else None


def quick_record(
    config: Config, config_bytes: bytes, next_post: datetime | None
) -> dict[str, Any] | None:
    """What a build adds to its record for :func:`cached_build` (None for a
    config that was not loaded from its file)."""
    if not config.resolved:
        return None
    from .config import to_bytes

    return {
        "config_sha": sha256(config_bytes).hexdigest(),
        "parsed": to_bytes(config).hex(),
        "config": os.path.abspath(config.path),
        "state": os.path.abspath(config.state),
        "output": str(config.output.dir),
        "roots": [str(s.path) for s in config.posts_sources],
        "resolved": [list(pair) for pair in config.resolved],
        "remote": bool(config.feed_sources),
        "next_post_ts": None if next_post is None else next_post.timestamp(),
    }


Snapshot = tuple[list[str], dict[tuple[str, str], Stamp]]  # (posts folders, files.snapshot)


class Miss:
    """A build is needed. ``snapshot``, if the posts were stated already, saves
    the build stating them again (``app.run_once(snapshot=...)``); ``parsed``,
    if the config file is the one the last build parsed (same path and bytes,
    its folders where they were), is that parse (``config.from_bytes``)."""

    __slots__ = ("parsed", "snapshot")

    def __init__(self, snapshot: Snapshot | None = None, parsed: bytes | None = None) -> None:
        self.snapshot = snapshot
        self.parsed = parsed


def cached_build(config_path: str, *, offline: bool) -> dict[str, Any] | Miss:
    """The last build's record if building now would change nothing, else a Miss.

    Holds the output lock while it looks, as a build would, and writes nothing.
    """
    path = os.path.abspath(config_path)
    try:
        with open(path, "rb") as f:
            config_bytes = f.read()
        text = config_bytes.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return Miss()
    state = guess_state(path, text)
    if state is None:
        return Miss()
    state = os.path.abspath(state)
    found = _record(state)
    if found is None:
        return Miss()
    record, generation = found
    quick = record.get("quick")
    if (
        record.get("version") != build_id()
        or not isinstance(quick, dict)
        or quick.get("config") != path
        or quick.get("state") != state
    ):
        return Miss()
    try:
        if any(os.path.realpath(joined) != resolved for joined, resolved in quick["resolved"]):
            return Miss()  # a folder the config names now resolves elsewhere
        roots: list[str] = quick["roots"]
        parsed = None
        # (parsing checks that the posts folders exist; a saved parse must too)
        if quick["config_sha"] == sha256(config_bytes).hexdigest() and all(
            os.path.isdir(root) for root in roots
        ):
            parsed = bytes.fromhex(quick["parsed"])
        if quick["remote"] and not offline:
            return Miss(parsed=parsed)  # remote feeds to refresh
        next_post = quick["next_post_ts"]
        if next_post is not None and time.time() >= next_post:
            return Miss(parsed=parsed)  # a held-back post is due
        output: str = quick["output"]
        stamps: dict[str, list[Any]] = record["stamps"]
    except (KeyError, TypeError, ValueError):
        return Miss()
    if not stamps or not os.path.isdir(output):
        return Miss(parsed=parsed)
    fd = try_lock(output)
    if fd is None:
        return Miss(parsed=parsed)  # someone is publishing: the real build waits or says so
    try:
        posts: Snapshot = (roots, snapshot(roots))
        same = fingerprint(generation, config_bytes, posts[1]) == record.get("fingerprint")
        if not (same and outputs_intact(output, stamps)):
            return Miss(posts, parsed)
    finally:
        unlock(fd)
    return record


def outputs_intact(output: str, stamps: Mapping[str, Sequence[Any]]) -> bool:
    """Every file the last publish left (``stamps``: rel path -> [key, size,
    mtime_ns]) is still in ``output``, untouched (stat only). Stamps not of
    that shape (a damaged record) are not intact either."""
    try:
        for rel, (_key, size, mtime_ns) in stamps.items():
            st = os.stat(os.path.join(output, rel))
            if (st.st_size, st.st_mtime_ns) != (size, mtime_ns):
                return False
    except (OSError, ValueError, TypeError):
        return False
    return bool(stamps)
