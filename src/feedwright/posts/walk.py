"""The posts folder on disk: which files are posts, and their bytes, never more.

Two rules hold for everything here:

- **Regular files only.** A FIFO, socket or device is never opened (opening
  a FIFO for reading blocks until someone writes): :func:`find` reports one
  whose name is a post's and skips it, and :func:`read_bytes` checks the
  file it opened, on the descriptor, before reading.
- **Never outside the folder.** A symlink, to a file or a folder, is
  followed only when what it resolves to is inside the posts folder
  (itself resolved, so a posts folder that is a link works). Any other is
  reported and skipped; a link to a folder that contains it (a loop) is
  reported and not followed again.

Hidden files and folders (``.x``), files whose name starts with ``_``
(Hugo's ``_index.md`` section pages; Jekyll and Hexo skip such files too),
editor backups (``x~``) and files of other suffixes are skipped without a
word; files under a ``_drafts`` folder are listed apart (counted as drafts,
never read). In a Hugo site (``hugo.py``), the files of a leaf bundle but its
index are page resources, translations into another language than the
site's default are not in its main RSS, and of files that make one page
(``post.md``, ``post.en.md``) Hugo takes one: the others are listed apart
and never read.
"""

from __future__ import annotations

import contextlib
import errno
import operator
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..config import MANIFEST_NAME
from ..exceptions import PostError

if TYPE_CHECKING:
    from .hugo import Naming

POST_SUFFIXES: frozenset[str] = frozenset({".md", ".markdown", ".txt", ".html", ".htm"})
DRAFTS_DIR = "_drafts"
# A post is text someone wrote; anything bigger is a mistake or an attack.
MAX_FILE_BYTES = 16 * 1024 * 1024

Stamp = tuple[int, int]  # (size, change time ns): "has this file changed?" without reading it
# A post's stamp takes the inode's change time, which a rename, a copy over
# it or an edit moves and no tool sets back (two posts swapped with ``mv``,
# or written within one clock tick, keep their size and mtime); on Windows,
# where st_ctime is the creation time, the mtime.
_CHANGE_TIME = os.name != "nt"

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_OPEN_FLAGS = (
    os.O_RDONLY
    | _NOFOLLOW
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO that appeared since the check opens, not blocks
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_NAME = operator.attrgetter("name")
_FORMAT, _REGULAR = stat.S_IFMT(0o177777), stat.S_IFREG  # a mode's file type; a regular file's
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


class Found(NamedTuple):
    """What :func:`find` saw in one posts folder."""

    files: dict[str, Stamp]  # POSIX path relative to the folder -> stamp, in order
    drafts: frozenset[str]  # files under _drafts/ (counted, not read)
    problems: tuple[PostError, ...]  # symlinks out, FIFOs, unreadable folders
    # Files named as posts but for a leading ``_`` (Hugo's ``_index`` aside):
    # never read; ``check`` names them.
    unread: tuple[str, ...] = ()
    # In a Hugo site, the other content files of a leaf bundle (a folder with
    # an ``index`` file): page resources to Hugo, never read; ``check`` names them.
    resources: tuple[str, ...] = ()
    # In a Hugo site of several languages, the translations into another
    # language than its default (``post.fr.md``): not in Hugo's main RSS, never read.
    translations: tuple[str, ...] = ()
    # In a Hugo site, the files of which Hugo makes no page because another
    # file of their folder is that page (``post.md`` beside ``post.en.md``),
    # each with that file: never read.
    replaced: tuple[tuple[str, str], ...] = ()
    # The Hugo site's config, as its links are made of (None: no Hugo site).
    hugo: Naming | None = None


# A post's name: not hidden (``.x``) nor ``_x``, then one of POST_SUFFIXES in
# any case (which also leaves out editor backups, ``x~``); one test in C per file.
_SUFFIXES = "|".join(sorted(suffix[1:] for suffix in POST_SUFFIXES))
_POST_NAME = re.compile(rf"[^._].*\.(?:{_SUFFIXES})", re.IGNORECASE | re.DOTALL)


# A post's name but for a leading "_": not read, and said (Hugo's _index is meant so).
_UNDERSCORED = re.compile(rf"_(?!index\.).*\.(?:{_SUFFIXES})", re.IGNORECASE | re.DOTALL)


def is_post_name(name: str) -> bool:
    """Whether a file of this name is a post (hidden files, ``_x`` and backups are not)."""
    return _POST_NAME.fullmatch(name) is not None


def _kind(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def find(root: Path) -> Found:
    """Every post file under ``root``, depth first in name order ("a/b" before
    "a-c"): an order that depends only on the names. A folder below ``root``
    that holds feedwright's output (its manifest) is not looked into."""
    base = os.fspath(root)
    try:
        real_root = os.path.realpath(base, strict=True)
        is_dir = os.path.isdir(real_root)
    except OSError:
        is_dir = False
    if not is_dir:
        return Found({}, frozenset(), (PostError("posts folder does not exist", path=base),))
    files: dict[str, Stamp] = {}
    drafts: set[str] = set()
    problems: list[PostError] = []
    unread: list[str] = []

    def walk(folder: str, real: str, prefix: str, in_drafts: bool, seen: frozenset[str]) -> None:
        # Listed through a descriptor of the folder, so that each entry's stat
        # looks up one name, not the whole path again.
        try:
            fd = os.open(folder, _DIR_FLAGS)
        except OSError as exc:
            problems.append(PostError(f"cannot read folder: {exc.strerror or exc}", path=folder))
            return
        if prefix and _holds_output(fd):  # feeds written inside the posts folder
            os.close(fd)
            return
        try:
            with os.scandir(fd) as it:
                items = sorted(it, key=_NAME)
        except OSError as exc:
            os.close(fd)
            problems.append(PostError(f"cannot read folder: {exc.strerror or exc}", path=folder))
            return
        try:
            look(items, folder, real, prefix, in_drafts, seen)
        finally:
            os.close(fd)

    def look(
        items: list[os.DirEntry[str]],
        folder: str,
        real: str,
        prefix: str,
        in_drafts: bool,
        seen: frozenset[str],
    ) -> None:
        post_name = _POST_NAME.fullmatch
        ctime = _CHANGE_TIME
        for item in items:
            name = item.name
            if name[0] == "." or name[-1] == "~":
                continue
            rel = prefix + name
            target = ""  # a folder's real path (a file's does not matter)
            named = False  # a post's name, known already
            try:
                if item.is_file(follow_symlinks=False):  # nearly every entry (no stat yet)
                    if post_name(name) is None:
                        if name[0] == "_" and not in_drafts and _UNDERSCORED.fullmatch(name):
                            unread.append(rel)
                        continue
                    named = True
                    st = item.stat(follow_symlinks=False)
                    if (st.st_mode & _FORMAT) == _REGULAR and not in_drafts:
                        # (the usual post; its change time: _CHANGE_TIME says why)
                        files[rel] = (st.st_size, st.st_ctime_ns if ctime else st.st_mtime_ns)
                        continue
                elif item.is_symlink():
                    where = os.path.join(folder, name)
                    target = os.path.realpath(where)
                    if not _inside(target, real_root):
                        if is_post_name(name) or os.path.isdir(target):
                            problems.append(
                                PostError(
                                    f"symlink to {target} outside the posts folder: not read",
                                    path=where,
                                )
                            )
                        continue
                    st = os.stat(where)
                elif item.is_dir(follow_symlinks=False):  # (from the folder listing: no stat)
                    target = os.path.join(real, name)
                    st = item.stat(follow_symlinks=False)
                elif not is_post_name(name):
                    continue
                else:  # a FIFO, a socket, a device: said below, never opened
                    named = True
                    st = item.stat(follow_symlinks=False)
            except OSError as exc:
                if is_post_name(name):
                    problems.append(
                        PostError(
                            f"cannot read: {exc.strerror or exc}", path=os.path.join(folder, name)
                        )
                    )
                continue
            if stat.S_ISDIR(st.st_mode) and target:
                where = os.path.join(folder, name)  # (a file become a folder: said below)
                if target in seen:
                    problems.append(
                        PostError("symlink to a folder that contains it: not followed", path=where)
                    )
                    continue
                walk(where, target, rel + "/", in_drafts or name == DRAFTS_DIR, seen | {target})
            elif not (named or is_post_name(name)):
                continue
            elif not stat.S_ISREG(st.st_mode):
                problems.append(
                    PostError(
                        f"{_kind(st.st_mode)}, not a file: not read",
                        path=os.path.join(folder, name),
                    )
                )
            elif in_drafts:
                drafts.add(rel)
            else:
                files[rel] = (st.st_size, st.st_ctime_ns if ctime else st.st_mtime_ns)

    walk(base, real_root, "", False, frozenset({real_root}))
    resources: tuple[str, ...] = ()
    translations: tuple[str, ...] = ()
    replaced: tuple[tuple[str, str], ...] = ()
    site = None
    if files:
        from . import hugo

        if (site := hugo.naming(real_root)) is not None:
            problems += hugo.unread_configs(site)
            files, resources = hugo.bundled(files)
            files, translations = hugo.translations(files, site)
            files, replaced = hugo.pages(files, site)
    return Found(
        files,
        frozenset(drafts),
        tuple(problems),
        tuple(unread),
        resources,
        translations,
        replaced,
        site,
    )


def _holds_output(folder: int) -> bool:
    """Whether the open ``folder`` is feedwright's output (it holds the
    manifest of a publish): its pages are never read as posts, wherever the
    config puts output.dir, now or before."""
    try:
        os.stat(MANIFEST_NAME, dir_fd=folder, follow_symlinks=False)
    except OSError:
        return False
    return True


def read_bytes(
    path: str | os.PathLike[str],
    root: str | os.PathLike[str] | None,
    rel: str | None = None,
    folders: Folders | None = None,
) -> tuple[bytes, int]:
    """The bytes of the post file at ``path`` and its modification time (seconds).

    With ``root`` (``rel``: the POSIX path of ``path`` relative to it, when
    known), the file must be inside that folder once every link is resolved:
    it is opened from ``root`` down one name at a time without following
    links; a link met on the way is resolved, checked to stay inside, and the
    walk starts again along the resolved path. A link swapped in meanwhile is
    refused, never followed. ``folders`` (of ``root``) keeps the folders
    opened on the way down for the next file read from them. Raises
    PostError naming ``path``.
    """
    where = os.fspath(path)
    try:
        if root is None:
            st = os.stat(where)
            if not stat.S_ISREG(st.st_mode):
                raise PostError(f"{_kind(st.st_mode)}, not a file: not read", path=where)
            fd = os.open(where, _OPEN_FLAGS & ~_NOFOLLOW)
        else:
            fd = _open_inside(where, os.fspath(root), rel, folders)
        try:
            st = os.fstat(fd)  # what was opened, not what was checked
            if not stat.S_ISREG(st.st_mode):
                raise PostError(f"{_kind(st.st_mode)}, not a file: not read", path=where)
            if st.st_size > MAX_FILE_BYTES:
                raise PostError(f"file is larger than {MAX_FILE_BYTES // 2**20} MB", path=where)
            data = _read_all(fd, st.st_size)
        finally:
            os.close(fd)
    except OSError as exc:
        raise PostError(f"cannot read: {exc.strerror or exc}", path=where) from None
    if len(data) > MAX_FILE_BYTES:  # it grew while being read
        raise PostError(f"file is larger than {MAX_FILE_BYTES // 2**20} MB", path=where)
    return data, int(st.st_mtime)


class Folders:
    """The folders of one posts folder opened so far (each from the posts
    folder down, one name at a time, without following links), kept open
    while some of its files are read: a post is then opened from its
    folder's descriptor, not from the top again. Use as a context manager;
    at most ``MAX_OPEN`` are kept at a time."""

    MAX_OPEN = 64

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.fspath(root)
        self._open: dict[tuple[str, ...], int] = {}

    def fd(self, parts: tuple[str, ...]) -> int:
        """The open folder ``parts`` (names below the root). Raises OSError,
        or _Link when a name on the way is a link."""
        fd = self._open.get(parts)
        if fd is None:
            if len(self._open) >= self.MAX_OPEN:
                self.close()
            fd = self._open[parts] = _folder_down(self.root, parts)
        return fd

    def close(self) -> None:
        for fd in self._open.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._open.clear()

    def __enter__(self) -> Folders:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Link(Exception):  # a signal inside this module, never raised out of it
    """A link (or ``..``) on the way down: resolve the path before going on."""


def _open_inside(where: str, root: str, rel: str | None, folders: Folders | None = None) -> int:
    parts = (rel if rel is not None else os.path.relpath(where, root)).split("/")
    try:
        if folders is None or folders.root != root or not _plain(parts):
            return _walk_down(root, parts, where)
        return _open_file(parts[-1], folders.fd(tuple(parts[:-1])), where)
    except _Link:
        pass
    real = os.path.realpath(where, strict=True)
    real_root = os.path.realpath(root)
    if not _inside(real, real_root):
        raise PostError(f"resolves to {real}, outside the posts folder: not read", path=where)
    try:
        return _walk_down(real_root, os.path.relpath(real, real_root).split(os.sep), where)
    except _Link:
        raise PostError("changed while being read (a link swapped in)", path=where) from None


def _plain(parts: list[str]) -> bool:
    return not any(part in ("", ".", "..") for part in parts)


def _walk_down(top: str, parts: list[str], where: str) -> int:
    """``top``/``parts`` opened one name at a time without following links."""
    if not _plain(parts):
        raise _Link
    folder = _folder_down(top, parts[:-1])
    try:
        return _open_file(parts[-1], folder, where)
    finally:
        os.close(folder)


def _folder_down(top: str, parts: Sequence[str]) -> int:
    """The folder ``top``/``parts`` opened one name at a time without following links."""
    fd = os.open(top, _DIR_FLAGS)
    for part in parts:
        try:
            child = os.open(part, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _Link from None
            raise
        finally:
            os.close(fd)
        fd = child
    return fd


def _open_file(name: str, folder: int, where: str) -> int:
    """The regular file ``name`` of the open ``folder``, opened without
    following a link and without blocking; anything else is never opened."""
    st = os.stat(name, dir_fd=folder, follow_symlinks=False)
    if stat.S_ISLNK(st.st_mode):
        raise _Link
    if not stat.S_ISREG(st.st_mode):
        raise PostError(f"{_kind(st.st_mode)}, not a file: not read", path=where)
    try:
        return os.open(name, _OPEN_FLAGS, dir_fd=folder)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # became a link since the stat
            raise _Link from None
        raise


def _read_all(fd: int, size: int) -> bytes:
    """The file open at ``fd``, ``size`` bytes as fstat said (nearly always
    one read: a read that gives exactly that much when asked for more is
    all of it)."""
    chunks: list[bytes] = []
    total = 0
    while total <= MAX_FILE_BYTES:
        # In 64 KB reads: asking for 16 MB at once allocates 16 MB for every post.
        want = min(1 << 16, MAX_FILE_BYTES + 1 - total)
        chunk = os.read(fd, want)
        if not chunk:
            break
        if not chunks and len(chunk) == size < want:
            return chunk
        chunks.append(chunk)
        total += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


__all__ = [
    "MAX_FILE_BYTES",
    "POST_SUFFIXES",
    "Folders",
    "Found",
    "Stamp",
    "find",
    "is_post_name",
    "read_bytes",
]
