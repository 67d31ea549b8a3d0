"""Local posts: find the files of a posts folder and read each into an Entry.

(A stand-in over ``sources.posts`` until the package's own modules land.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..config import PostsSource, Site
from ..exceptions import PostError
from ..model import Entry

Stamp = tuple[int, int]  # (size, mtime_ns)


@dataclass(frozen=True, slots=True)
class Found:
    """The post files of one folder."""

    files: dict[str, Stamp] = field(default_factory=dict)  # rel POSIX path -> stamp, in order
    drafts: frozenset[str] = frozenset()  # files under _drafts/ (counted, not read)
    problems: tuple[PostError, ...] = ()


@dataclass(frozen=True, slots=True)
class Post:
    entry: Entry | None  # None: a draft or `published: false`
    stripped: int = 0  # XML-illegal characters removed from the text


def find(root: Path) -> Found:
    from ..sources.files import snapshot

    base = str(root)
    if not os.path.isdir(base):
        return Found(problems=(PostError("posts folder does not exist", path=base),))
    files: dict[str, Stamp] = {}
    drafts = set()
    for (_, rel), stamp in sorted(snapshot([base]).items(), key=lambda i: i[0][1].split("/")):
        if "_drafts" in rel.split("/")[:-1]:
            drafts.add(rel)
        else:
            files[rel] = stamp
    return Found(files, frozenset(drafts))


def read(path: Path, rel: str, source: PostsSource, site: Site) -> Post:
    from ..sources import posts

    counts: list[int] = []
    entry = posts._read(str(path), rel, source, site, True, counts)
    return Post(entry, sum(counts))


def read_body(path: Path) -> str:
    from ..sources.posts import read_body as body

    return body(path)


def body_digest(text: str) -> str:
    """What a post's ``Body.digest`` is for the body ``text``."""
    from ..sources.posts import _digest

    return _digest(text)


def conflicts(posts: Mapping[str, Entry]) -> list[PostError]:
    by_id: dict[str, list[str]] = {}
    by_link: dict[str, list[str]] = {}
    for rel, entry in posts.items():
        by_id.setdefault(entry.id, []).append(rel)
        if entry.link:
            by_link.setdefault(entry.link, []).append(rel)
    problems = []
    for what, groups in (("id", by_id), ("link", by_link)):
        for value, rels in groups.items():
            if len(rels) > 1:
                for rel in rels:
                    others = ", ".join(r for r in rels if r != rel)
                    problems.append(PostError(f"same {what} {value} as {others}", path=rel))
    return problems


__all__ = ["Found", "Post", "Stamp", "body_digest", "conflicts", "find", "read", "read_body"]
