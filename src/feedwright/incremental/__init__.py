"""Doing less: the post cache, the build record and the one no-change check.

Everything that lets a build skip work lives here::

    fingerprint(config, found, generation)  every input of a build, cheaply: the
                                            version, the config, every post
                                            file's stamp, the stored entries' generation
    unchanged(record, fingerprint, now, output, site)
                                            THE no-change check: same fingerprint, no
                                            held-back post due, every published file and
                                            every episode's audio file in the site folder
                                            as the last build left it -> nothing to do
    read_posts(config, store, found, pool)  every post, from the post cache when its
                                            file's stamp is unchanged; the rest read
                                            (in worker processes when many)
    render_posts(...)                       a post's HTML, from the store when the entry
                                            it was rendered from is unchanged
    edits.take(...)                         after posts were only edited in place, none
                                            moved: the last build's feeds, and only the
                                            published posts (not 10,000) to build from

The package's parts: this module (the build record and the check),
:mod:`.postread` (the post cache), :mod:`.rendered` (the HTML cache),
:mod:`.resolution` (what the id ledger gave every post, for a build that
resolves only the edited ones), :mod:`.edits` (builds of edits) and
:mod:`.configcache` (``build``'s parsed config, kept while its file holds).
Whatever updates the post cache forgets the resolution and the lane of
edits first; a published build keeps them again.
"""

from __future__ import annotations

import hashlib
import json
import marshal
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import build_id, ledger
from ..config import Config
from ..publish.write import FileStamp
from ..store import Store
from . import resolution
from .postread import PARALLEL_POSTS, PostsRead, cache_root, read_chunk, read_posts
from .rendered import Fresh, render_posts, save_rendered

if TYPE_CHECKING:
    from ..posts import Found

RECORD_KEY = "build"  # store meta: what the last successful publish was made from


class Record(NamedTuple):
    """The last build: its inputs' fingerprint, the files it left, what it reported."""

    fingerprint: str
    stamps: dict[str, FileStamp]  # output path (POSIX, relative to output.dir) -> stamp
    summary: dict[str, Any]  # the report's counts and problems, as plain JSON
    next_post_at: datetime | None = None  # the earliest held-back post or post's end
    # Episodes' local audio files (path in the site folder) and their
    # (size, mtime_ns) as published: a file replaced is a change.
    media: Mapping[str, tuple[int, int]] = MappingProxyType({})


def fingerprint(config: Config, found: Mapping[str, Found], generation: int) -> str:
    """Everything a build reads, cheaply: version, the config, post stamps,
    a Hugo site's config as its links are made of, the stored remote
    entries' generation (then :func:`with_ledger`)."""
    h = hashlib.sha256(f"{build_id()}|{generation}|".encode())
    # The config in force, not the file's bytes now: the daemon may run from a
    # config read before the file changed (and reload it later).
    h.update(repr(config).encode("utf-8", "surrogatepass"))
    for root in sorted(found):
        # The files in the walk's order, which depends on their names alone;
        # marshal version 2 writes no back-references, so equal stamps make
        # equal bytes whichever objects hold them.
        h.update(marshal.dumps((root, found[root].files), 2))
        h.update(marshal.dumps(sorted(found[root].drafts), 2))
        h.update(repr(found[root].hugo).encode())  # (a Hugo site's languages: its links)
    return h.hexdigest()


def with_ledger(fingerprint: str, text: str | None) -> str:
    """A build's :func:`fingerprint` and the id ledger's text (None: no file)."""
    if text is None:
        return fingerprint
    return hashlib.sha256(f"{fingerprint}|{text}".encode("utf-8", "surrogatepass")).hexdigest()


def load_record(store: Store) -> Record | None:
    """The last build's record; None when there is none or it is unreadable
    (a damaged record means a full build, never a crash)."""
    raw = store.get_meta(RECORD_KEY)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        if data.get("version") != build_id():
            return None
        stamps = {rel: _stamp(value) for rel, value in data["stamps"].items()}
        next_post = data.get("next_post_at")
        next_at = datetime.fromisoformat(next_post) if next_post else None
        if next_at is not None and next_at.tzinfo is None:
            return None
        return Record(
            fingerprint=str(data["fingerprint"]),
            stamps=stamps,
            summary=dict(data["summary"]),
            next_post_at=next_at,
            media={str(f): (int(n), int(ns)) for f, (n, ns) in data.get("media", {}).items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _stamp(value: Any) -> FileStamp:
    key, size, mtime_ns = value
    if not (isinstance(key, str) and type(size) is int and type(mtime_ns) is int):
        raise ValueError(f"not a file stamp: {value!r}")
    return FileStamp(key, size, mtime_ns)


def save_record(store: Store, record: Record) -> None:
    data = {
        "version": build_id(),
        "fingerprint": record.fingerprint,
        "stamps": {rel: [s.key, s.size, s.mtime_ns] for rel, s in sorted(record.stamps.items())},
        "summary": record.summary,
        "next_post_at": record.next_post_at.isoformat() if record.next_post_at else None,
        "media": {file: list(stamp) for file, stamp in sorted(record.media.items())},
    }
    store.set_meta(RECORD_KEY, json.dumps(data))  # (ASCII: a path may not be UTF-8)


def keep_resolution(store: Store, read: PostsRead, book: ledger.Ledger, text: str | None) -> None:
    """Once the ledger is kept (``text``: as this build left it): what resolving
    gave, for the next build to resolve only the posts edited since
    (resolution.py); nothing when that text is not one a build may trust unread."""
    resolved = read.resolved
    if (
        resolved is None
        or text is None
        or book.problems
        or (resolved.text is None and not ledger.dumps_clean(resolved.lines))
    ):
        resolution.forget(store)
        return
    resolution.save(store, read.folders, text, resolved.ids)


def outputs_intact(output: Path, stamps: Mapping[str, FileStamp]) -> bool:
    """Every file the last build left is still there, untouched (stat only)."""
    try:
        for rel, stamp in stamps.items():
            st = (output / rel).stat()
            if (st.st_size, st.st_mtime_ns) != (stamp.size, stamp.mtime_ns):
                return False
    except OSError:
        return False
    return bool(stamps)


def files_intact(site: Path, files: Mapping[str, tuple[int, int]]) -> bool:
    """Every episode's audio file the last build measured (paths in the site
    folder) is as it was then (stat only)."""
    try:
        for file, stamp in files.items():
            st = (site / file).stat()
            if (st.st_size, st.st_mtime_ns) != stamp:
                return False
    except OSError:
        return False
    return True


def unchanged(
    record: Record | None, fingerprint: str, now: datetime, output: Path, site: Path
) -> bool:
    """The no-change check: building now would give exactly what is published.
    ``site``: the folder episodes' local audio files are in (``output.served``)."""
    return (
        record is not None
        and record.fingerprint == fingerprint
        and (record.next_post_at is None or now < record.next_post_at)
        and outputs_intact(output, record.stamps)
        and files_intact(site, record.media)
    )


__all__ = [
    "PARALLEL_POSTS",
    "RECORD_KEY",
    "FileStamp",
    "Fresh",
    "PostsRead",
    "Record",
    "cache_root",
    "files_intact",
    "fingerprint",
    "keep_resolution",
    "load_record",
    "outputs_intact",
    "read_chunk",
    "read_posts",
    "render_posts",
    "save_record",
    "save_rendered",
    "unchanged",
    "with_ledger",
]
