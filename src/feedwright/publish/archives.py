"""RFC 5005 archived feeds: each feed's older entries in immutable pages (pure).

With ``output.archives``, a feed's entries are split into archive pages of
``output.limit`` entries, numbered from the oldest (1, 2, ...), and the
current feed, which holds the entries no page holds yet (1 to ``limit``)::

    <feed>/atom.xml                   current: link rel="prev-archive" -> newest page
    <feed>/archive/<n>/atom.xml       page n: fh:archive, rel="current", "prev-archive"
                                      (n-1, from 2 on), "next-archive" (n+1)

(``<feed>/`` is nothing for the combined feed, the category's slug for the
others; the same for ``rss.xml``.) Following ``prev-archive`` from the
current feed reaches every entry of the feed exactly once.

Pages never change when posts are added: an entry is assigned to a page
once (the store keeps the assignment, ``FeedHistory.pages``), and a page's
``next-archive`` always names page n+1, which exists once the current feed
has filled again. A new entry always joins the current feed, even one dated
in the past; when the current feed holds more than ``limit`` entries, its
oldest ``limit`` become the next page. Editing an archived entry changes
its page (and only it); an entry that leaves the feed leaves its page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

ARCHIVE_DIR = "archive"
_ARCHIVE_PATH = re.compile(rf"(?:^|/){ARCHIVE_DIR}/[1-9][0-9]*/[^/]+$")
_FILE = re.compile(r"(?:^|/)[^/]+$")


@dataclass(frozen=True, slots=True)
class Chain:
    """Where one feed document sits in its feed's chain."""

    feed: str | None  # the current feed's slug (None: the combined feed)
    page: int = 0  # 0: the current feed; n: archive page n
    pages: int = 0  # archive pages the feed has (the current feed's prev-archive)


def folder(slug: str | None, page: int) -> str:
    """The slug-like folder of archive page ``page`` of the feed ``slug``."""
    return f"{ARCHIVE_DIR}/{page}" if slug is None else f"{slug}/{ARCHIVE_DIR}/{page}"


def is_archive_path(rel: str) -> bool:
    """Whether an output path is an archive page's file."""
    return bool(_ARCHIVE_PATH.search(rel))


def feed_of(rel: str) -> str:
    """The slug of the feed an output file belongs to (``""``: the combined feed)."""
    return _ARCHIVE_PATH.sub("", rel) if is_archive_path(rel) else _FILE.sub("", rel)


def links(chain: Chain, filename: str) -> list[tuple[str, str]]:
    """(rel, path relative to output.dir) of a document's chain links."""

    def at(page: int) -> str:
        where = chain.feed if page == 0 else folder(chain.feed, page)
        return filename if where is None else f"{where}/{filename}"

    if chain.page == 0:
        return [("prev-archive", at(chain.pages))] if chain.pages else []
    found = [("current", at(0))]
    if chain.page > 1:
        found.append(("prev-archive", at(chain.page - 1)))
    found.append(("next-archive", at(chain.page + 1)))
    return found


def paginate(
    members: Sequence[str], pages: Sequence[Sequence[str]], limit: int
) -> tuple[tuple[tuple[str, ...], ...], set[str]]:
    """(the archive pages now, oldest first; the ids of the current feed).

    ``members``: the feed's entry ids, newest first; ``pages``: its pages as
    the last build left them. A page keeps its entries that are still members
    (in the order given); the entries no page holds are the current feed
    while they are at most ``limit`` (``0``: no archives), else the oldest
    ``limit`` of them become a new page, and again.
    """
    present = set(members)
    kept = [tuple(i for i in page if i in present) for page in pages]
    archived = {i for page in kept for i in page}
    rest = [i for i in reversed(members) if i not in archived]  # oldest first
    if limit > 0:
        while len(rest) > limit:
            kept.append(tuple(rest[:limit]))
            rest = rest[limit:]
    return tuple(kept), set(rest)


__all__ = ["ARCHIVE_DIR", "Chain", "feed_of", "folder", "is_archive_path", "links", "paginate"]
