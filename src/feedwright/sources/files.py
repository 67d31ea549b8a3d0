"""Which files are posts, and their stamps: the cheap half of reading posts.

Kept apart from ``posts`` (front matter, dates, Markdown) so that a build with
nothing to do, and the daemon's every-second look, import almost nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

POST_SUFFIXES: frozenset[str] = frozenset({".md", ".markdown", ".txt", ".html", ".htm"})

Stamp = tuple[int, int]  # (size, mtime_ns): "has this file changed?" without reading it


def _name(item: os.DirEntry[str]) -> str:
    return item.name


def snapshot(roots: Iterable[str | os.PathLike[str]]) -> dict[tuple[str, str], Stamp]:
    """Stamp every post file under ``roots``: (root, rel path) -> (size, mtime_ns),
    in an order that depends only on the names (not on the file system's).

    The files ``read_posts`` would read (hidden files, editor backups and other
    suffixes left out), cheaply: a plain scandir loop, 40-100 ms for 10,000 posts.
    """
    snap: dict[tuple[str, str], Stamp] = {}
    suffixes = POST_SUFFIXES
    for root in roots:
        base = os.fspath(root)
        stack = [(base, "")]
        while stack:
            folder, prefix = stack.pop()
            try:
                found = list(os.scandir(folder))
            except OSError:
                continue  # a missing or unreadable folder is reported by read_posts
            # In name order, so the snapshot's own order is the same on every run
            # (callers hash it as it is, rather than sorting 10,000 keys).
            found.sort(key=_name)
            for item in found:
                name = item.name
                if name[0] == "." or name[-1] == "~":
                    continue
                try:
                    if item.is_dir(follow_symlinks=False):
                        stack.append((item.path, f"{prefix}{name}/"))
                    elif "." + name.rpartition(".")[2].lower() in suffixes:
                        st = item.stat()
                        snap[(base, prefix + name)] = (st.st_size, st.st_mtime_ns)
                except OSError:
                    continue  # vanished between listing and stat
    return snap
