"""Local posts (Hexo, Jekyll, Hugo conventions) read into entries.

The stages, one module each, data flowing down::

    walk.py         find(): the post files of a folder (regular files inside it
                    only) and their stamps; read_bytes(): one file, opened once
    decode          feedwright.decode.decode_post: BOM (UTF-8, UTF-16), UTF-8,
                    GB18030/GBK; anything else (Latin-1...) is a PostError
                    then control characters are stripped (XML-illegal ones, DEL,
                    C1), and counted
    frontmatter.py  python-frontmatter with our handlers: YAML ``---`` (safe
                    scalars, no tags, alias cap), TOML ``+++``, JSON ``{``/``;;;``
    dates.py        the one date parser
    entry.py        front matter + body -> Entry (body unrendered)
    links.py        links, ids, slugs

Every function here is pure but for reading the file named, and takes and
gives plain picklable values, so it can run in a worker process. Nothing here
knows of caches or processes.

Use::

    found = find(source.path)
    for rel in found.files:
        post = read(source.path / rel, rel, source, site)  # raises PostError
    problems = [*found.problems, *conflicts({rel: entry, ...})]
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from types import EllipsisType
from typing import NamedTuple

from ..config import PostsSource, Site
from ..exceptions import PostError
from ..model import Entry, Head
from ..text import strip_xml_illegal
from . import hugo
from .walk import Folders, Found, Stamp, find, read_bytes

# DEL and the C1 controls: XML 1.0 allows them but YAML cannot read them, and
# in text they are debris of a wrong encoding. NEL (U+0085) is a line break to
# YAML and whitespace to a title: it becomes a space.
_CONTROLS = re.compile("[\x7f-\x9f]")
# What a UTF-8 file holds of those and of the C0 controls XML forbids.
_BAD_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13)) + b"\x7f"


def _control(found: re.Match[str]) -> str:
    return " " if found[0] == "\x85" else ""


class Post(NamedTuple):
    """What reading one post file gave."""

    entry: Entry | None  # None: a draft or ``published: false``
    stripped: int  # control characters removed from the text (XML-illegal ones, DEL, C1)
    # The file's identity as read: a hash of its bytes and modification time
    # (the date of an undated post). The same digest, the same entry, as long
    # as the posts folder's settings are the same: "changed?" without a look
    # at the entry.
    digest: str = ""
    own_id: str | None = None  # its front matter's id/guid (the id ledger's rules)
    dated: bool = False  # it has a date of its own, not its file's mtime


def _clean(raw: bytes, encoding: str) -> bool:
    """Whether the text decoded from ``raw`` as ``encoding`` surely holds no
    character to strip: a scan of the bytes in C, where nearly every post
    ends. The bytes tell only of UTF-8 text (other encodings take the long
    way: :func:`strip_xml_illegal` and ``_CONTROLS`` on the text)."""
    return (
        encoding == "utf-8"
        and len(raw.translate(None, _BAD_BYTES)) == len(raw)
        and b"\xc2" not in raw  # the lead byte of every C1 control in UTF-8
        and b"\xef\xbf\xbe" not in raw  # U+FFFE
        and b"\xef\xbf\xbf" not in raw  # U+FFFF
    )


def _text(
    path: str | os.PathLike[str],
    root: str | os.PathLike[str] | None,
    rel: str | None = None,
    folders: Folders | None = None,
) -> tuple[dict[str, object], str, int, int, str, str]:
    """(front matter, body, characters stripped, mtime, digest, the whole
    text) of the post at ``path``."""
    where = os.fspath(path)
    raw, mtime = read_bytes(where, root, rel, folders)
    # What the entry is made of (with the folder's settings, which key the cache).
    made_of = hashlib.blake2b(f"{rel}\0{mtime}\0".encode("utf-8", "surrogatepass"))
    made_of.update(raw)
    digest = made_of.hexdigest()[:32]
    from ..decode import DecodeError, decode_post  # (only when a post is read)

    try:
        text, encoding = decode_post(raw)
    except DecodeError as exc:
        raise PostError(str(exc), path=where) from None
    text = text.removeprefix("\ufeff")
    if not text or text.isspace():
        # (An editor's new file, or one emptied by accident: not an entry
        # titled with its file name that readers keep once they have it.)
        raise PostError(
            "is empty: nothing to publish (write the post, or remove the file)", path=where
        )
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    stripped = 0
    if not _clean(raw, encoding):
        text, stripped = strip_xml_illegal(text)
        if _CONTROLS.search(text):
            text, more = _CONTROLS.subn(_control, text)
            stripped += more
    from . import frontmatter  # (python-frontmatter, PyYAML: only when a post is read)

    meta, body = frontmatter.split(text, where)
    return meta, body, stripped, mtime, digest, text


def read(
    path: str | os.PathLike[str],
    rel: str,
    source: PostsSource,
    site: Site,
    folders: Folders | None = None,
    hugo_site: hugo.Naming | EllipsisType | None = ...,
) -> Post:
    """Read the post file at ``path`` (``rel``: its POSIX path relative to
    ``source.path``, what its id is made of). The file must be a regular file
    inside ``source.path``. ``folders``: the open folders of ``source.path``
    (reading many of its files); ``hugo_site``: ``hugo.naming(source.path)``
    (reading many of its files; found here when not given). Raises PostError
    naming ``path``."""
    where = os.fspath(path)
    meta, body, stripped, mtime, digest, _ = _text(where, source.path, rel, folders)
    from . import entry as _entry

    if hugo_site is ...:
        hugo_site = hugo.naming(source.path)
    built = _entry.build(meta, body, rel, source, site, mtime, where, hugo_site)
    if built is None:
        return Post(None, stripped, digest)
    return Post(built.entry, stripped, digest, built.own_id, built.dated)


class FrontMatter(NamedTuple):
    """A post's front matter, as ``check`` looks at it."""

    meta: dict[str, object]
    body: str
    text: str  # the whole file's, decoded (``frontmatter.repeated_keys`` reads it)


def read_meta(path: Path, root: Path | None = None) -> FrontMatter:
    """The front matter of the post at ``path`` (``check`` looks at its keys).
    Raises PostError naming ``path``."""
    meta, body, _, _, _, text = _text(path, root)
    return FrontMatter(meta, body, text)


def read_body(path: Path, root: Path | None = None) -> str:
    """The body text :func:`read` gives the file (to render a post whose entry
    was cached without it). ``root``: the posts folder the file must be in.
    Raises PostError naming ``path``."""
    return _text(path, root)[1]


def body_digest(text: str) -> str:
    """What a post's ``Body.digest`` is for the body ``text``."""
    from . import entry as _entry

    return _entry.body_digest(text)


def conflicts(posts: Mapping[str, Entry | Head]) -> list[PostError]:
    """One PostError per file whose post shares its id or its link with
    another of ``posts`` (path -> entry, every posts folder's), naming the others.

    Two posts with one id are one entry to a reader (one of them is lost);
    two with one link (the same slug and date under a date pattern) send a
    reader of either to the same page.
    """
    ids = {entry.id for entry in posts.values()}
    links = [entry.link for entry in posts.values() if entry.link]
    if len(ids) == len(posts) and len(set(links)) == len(links):
        return []  # the usual case, told without a list per post
    by_id: defaultdict[str, list[str]] = defaultdict(list)
    by_link: defaultdict[str, list[str]] = defaultdict(list)
    for path, entry in posts.items():
        by_id[entry.id].append(path)
        if entry.link:
            by_link[entry.link].append(path)
    said: defaultdict[str, list[str]] = defaultdict(list)
    for kind, groups in (("id", by_id), ("link", by_link)):
        for value, paths in groups.items():
            if len(paths) < 2:
                continue
            for path in paths:
                others = ", ".join(p for p in paths if p != path)
                if kind == "link" and set(paths) <= set(by_id[posts[path].id]):
                    continue  # the same posts as the id: said once
                said[path].append(f"its {kind} {value} is also the {kind} of {others}")
    return [PostError("; ".join(said[path]), path=path) for path in posts if path in said]


__all__ = [
    "Folders",
    "Found",
    "FrontMatter",
    "Post",
    "Stamp",
    "body_digest",
    "conflicts",
    "find",
    "read",
    "read_body",
    "read_meta",
]
