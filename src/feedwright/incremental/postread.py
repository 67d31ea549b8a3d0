"""Reading posts through the post cache: every post file, from the store's
cache when its stamp (size, mtime) is unchanged, the rest read (in worker
processes when many); then the id ledger's ids and dates, and the one
record a build plans from (:class:`PostsRead`).

A post that was published and then fails to read (a typo in its front
matter, a bad encoding after an edit) keeps its last good version from the
cache, and its problem is reported on every build until the file is fixed.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import EllipsisType
from typing import TYPE_CHECKING, Any, cast

from .. import build_id, ledger, posts
from ..config import Config, PostsSource, Site
from ..exceptions import PostError
from ..model import (
    ENTRY_FIELDS,
    Entry,
    Head,
    from_tuple,
    head_fields,
    head_of,
    to_tuple,
    with_identity,
)
from ..parallel import Failed, Pool, chunked, worker_count
from ..posts import hugo
from ..store import CachedPost, Store, cached_post
from . import resolution

if TYPE_CHECKING:
    from ..posts import Found

log = logging.getLogger("feedwright.build")

# Below this many posts to read or render, worker processes cost more than they save.
PARALLEL_POSTS = 400
CHUNK = 100  # posts per item handed to a worker


@dataclass(slots=True)
class PostsRead:
    """Every post of every posts folder, as a build needs them: the head of
    each (all planning needs) and its entry as plain values, made into an
    :class:`Entry` only for the posts a build publishes (:meth:`entry`)."""

    heads: list[Head] = field(default_factory=list)  # one per id; future-dated ones too
    packed: dict[str, bytes] = field(default_factory=dict)  # id -> model.to_tuple, marshalled
    every: list[bytes] = field(default_factory=list)  # every readable post's, marshalled
    where: dict[str, tuple[PostsSource, str]] = field(default_factory=dict)  # id -> folder, rel
    # id -> what hash_of hashes: the folder's settings, the file's hash, and the
    # id and date the ledger gives it (None: its own)
    made_of: dict[str, tuple[bytes, str, tuple[str, datetime] | None]] = field(default_factory=dict)
    problems: list[PostError] = field(default_factory=list)
    drafts: int = 0
    stripped: int = 0  # XML-illegal characters removed from the posts' text
    stripped_in: list[tuple[str, int]] = field(default_factory=list)  # (file, how many)
    resolved: ledger.Resolved | None = None  # what the id ledger made of them (when given)
    # Each posts folder's cache root and ledger key prefix (resolution.save).
    folders: list[tuple[str, str]] = field(default_factory=list)
    # Each posts folder's part of ``problems`` after its walk's: the problems
    # of its files (path in the folder, message), in the walk's order, then
    # its posts' conflicts (edits.py makes ``problems`` again from these).
    by_folder: list[tuple[list[tuple[str, str]], list[PostError]]] = field(default_factory=list)

    def values_of(self, entry_id: str) -> tuple[Any, ...]:
        """A post's entry as plain values (``model.to_tuple``)."""
        return cast(tuple[Any, ...], marshal.loads(self.packed[entry_id]))

    def entry(self, entry_id: str) -> Entry:
        return from_tuple(self.values_of(entry_id))

    def path_of(self, entry_id: str) -> str:
        """A post's file, as problems name it (its folder joined to its path)."""
        source, rel = self.where[entry_id]
        return str(source.path / rel)

    def every_entry(self) -> list[Entry]:
        """Every readable post's entry (``check``: ids repeated too)."""
        return [from_tuple(marshal.loads(packed)) for packed in self.every]

    def hash_of(self, entry_id: str) -> str | None:
        """The content hash of a post's entry (None: no post has this id),
        made when asked: a build needs it for the few hundred posts that
        reach a feed, not for all of them."""
        made_of = self.made_of.get(entry_id)
        if made_of is None:
            return None
        settings, file_hash, given = made_of
        h = hashlib.blake2b(settings, digest_size=16)
        h.update(file_hash.encode())
        if given is not None:
            h.update(f"\0{given[0]}\0{given[1].isoformat()}".encode("utf-8", "surrogatepass"))
        return h.hexdigest()


_BODY = ENTRY_FIELDS.index("body")  # in model.to_tuple: (text, format, base_url, digest)


def read_chunk(
    source: PostsSource,
    site: Site,
    files: list[tuple[str, tuple[int, int]]],
    keep_text: bool = False,
    hugo_site: hugo.Naming | EllipsisType | None = ...,
) -> list[tuple[str, CachedPost]]:
    """Read some files of one posts folder (in a worker process, or here);
    bodies without their text unless ``keep_text`` (the file keeps it).
    ``hugo_site``: the walk's ``Found.hugo`` (read from the folder's Hugo
    config when not given)."""
    out: list[tuple[str, CachedPost]] = []
    if hugo_site is ...:
        hugo_site = hugo.naming(source.path)
    with posts.Folders(source.path) as folders:
        for rel, stamp in files:
            out.append((rel, _read_one(source, site, rel, stamp, folders, keep_text, hugo_site)))
    return out


def _read_one(
    source: PostsSource,
    site: Site,
    rel: str,
    stamp: tuple[int, int],
    folders: posts.Folders,
    keep_text: bool,
    hugo_site: hugo.Naming | None,
) -> CachedPost:
    size, mtime_ns = stamp
    try:
        post = posts.read(os.path.join(folders.root, rel), rel, source, site, folders, hugo_site)
    except PostError as exc:
        return CachedPost(size, mtime_ns, error=exc.message)
    except Exception as exc:  # a bug's victim is that file alone, as in a worker
        return CachedPost(size, mtime_ns, error=f"cannot read: {type(exc).__name__}: {exc}")
    entry = post.entry
    if entry is None:
        return CachedPost(size, mtime_ns, stripped=post.stripped)
    values = to_tuple(entry)
    if entry.body is not None and not keep_text:  # the file keeps it
        values = (*values[:_BODY], (None, *values[_BODY][1:]), *values[_BODY + 1 :])
    return cached_post(
        size, mtime_ns, values, None, post.stripped, post.digest, post.own_id, post.dated
    )


def carry(old: CachedPost | None, post: CachedPost) -> CachedPost:
    """A file as read now (``post``) after ``old``, its cache: a post published
    before and broken now keeps its last good version (and says so)."""
    if post.error is not None and old is not None and old.packed is not None:
        return old._replace(
            size=post.size,
            mtime_ns=post.mtime_ns,
            error=post.error + " (its last good version stays published until this is fixed)",
            stripped=post.stripped,
        )
    return post


def cache_root(config: Config, source: PostsSource) -> str:
    """The post cache's key: everything that changes how a file becomes an
    entry (a Hugo site's config too: its languages name its pages; not
    which of its files could not be read, a problem of the folder)."""
    site = hugo.naming(source.path)
    site = site and site._replace(unread=())
    settings = repr((build_id(), config.site, source, site))
    return f"{source.path}|{hashlib.sha256(settings.encode()).hexdigest()[:16]}"


def folder_keys(config: Config) -> list[tuple[str, str]]:
    """Each posts folder's :func:`cache_root` and id ledger key prefix."""
    parent = config.path.parent
    return [
        (cache_root(config, s), ledger.key_prefix(parent, s.named or s.path))
        for s in config.posts_sources
    ]


def folder_settings(root: str) -> bytes:
    """What a post's hash (:meth:`PostsRead.hash_of`) takes of its folder: its cache root."""
    return hashlib.blake2b(root.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def update_cache(
    store: Store, root: str, changed: Mapping[str, CachedPost], removed: Iterable[str] = ()
) -> None:
    """Write posts to the post cache of ``root``, forgetting first what the last
    build resolved and published (resolution.py, edits.py): both hold only
    while the post cache is as that build left it."""
    from .edits import forget as forget_lane

    resolution.forget(store)
    forget_lane(store)
    store.update_posts(root, changed, removed)


def _read_files(
    source: PostsSource,
    site: Site,
    todo: list[tuple[str, tuple[int, int]]],
    pool: Pool,
    keep_text: bool,
    hugo_site: hugo.Naming | None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, CachedPost]:
    if len(todo) < PARALLEL_POSTS or worker_count() < 2:
        return dict(read_chunk(source, site, todo, keep_text, hugo_site))
    chunks = list(chunked(todo, CHUNK))
    out: dict[str, CachedPost] = {}
    results = pool.map(
        _read_item, [(source, site, chunk, keep_text, hugo_site) for chunk in chunks]
    )
    for chunk, result in zip(chunks, results, strict=True):
        if progress is not None:
            progress(len(out) + len(chunk), len(todo))
        if isinstance(result, Failed):
            # One file killed its worker: read the chunk's files one by one,
            # so that only that file fails.
            for one, alone in zip(
                chunk,
                pool.map(_read_item, [(source, site, [f], keep_text, hugo_site) for f in chunk]),
                strict=True,
            ):
                if isinstance(alone, Failed):
                    problem = f"cannot read: {alone.reason}"
                    size, mtime_ns = one[1]
                    out[one[0]] = CachedPost(size, mtime_ns, error=problem)
                else:
                    out.update(alone)
        else:
            out.update(result)
    return out


def _read_item(
    args: tuple[PostsSource, Site, list[tuple[str, tuple[int, int]]], bool, hugo.Naming | None],
) -> Any:
    return read_chunk(*args)


# One posts folder as read: its source, its posts by path (from the cache or
# read now), what the walk found, its cache root, and each readable post's head.
_Folder = tuple[PostsSource, dict[str, CachedPost], "Found", str, dict[str, Head]]


def read_posts(
    config: Config,
    store: Store | None,
    found: Mapping[str, Found],
    pool: Pool,
    progress: Callable[[int, int], None] | None = None,
    book: ledger.Ledger | None = None,
    now: datetime | None = None,
) -> PostsRead:
    """Every posts folder's posts, reusing the store's post cache for unchanged
    files. Without a store (``check``), the entries keep their body text.
    With the id ledger (``book``), each post gets the id and date it keeps;
    ``now`` (the build's time) dates a post without a date of its own whose
    file's time is ahead of the clock (ledger.ahead)."""
    result = PostsRead()
    folders: list[_Folder] = []
    # What the last build resolved, while the post cache is as it left it.
    kept = resolution.load(store) if store is not None and book is not None else None
    edited: list[tuple[str, str]] = []  # (ledger key prefix, path) of posts read again
    same_files = True  # no post file added or removed since the post cache was made
    result.folders = folder_keys(config)
    for source, (root, prefix) in zip(config.posts_sources, result.folders, strict=True):
        seen = found[str(source.path)]
        result.problems.extend(seen.problems)
        cached = store.cached_posts(root) if store is not None else {}
        current: dict[str, CachedPost] = {}
        todo = []
        edits = len(edited)
        for rel, stamp in seen.files.items():
            old = cached.get(rel)
            if old is not None and (old.size, old.mtime_ns) == stamp:
                current[rel] = old
            else:
                todo.append((rel, stamp))
                if old is None:
                    same_files = False
                else:
                    edited.append((prefix, rel))
        if len(cached) != len(current) + len(edited) - edits:
            same_files = False  # files removed
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s: %d post files, %d from the cache, %d to read",
                source.path,
                len(seen.files),
                len(seen.files) - len(todo),
                len(todo),
            )
            for rel, _ in todo[:50]:
                log.debug("reading %s", rel)
        for rel, post in _read_files(
            source, config.site, todo, pool, store is None, seen.hugo, progress
        ).items():
            current[rel] = carry(cached.get(rel), post)
        if store is not None:
            changed = {rel: post for rel, post in current.items() if cached.get(rel) is not post}
            removed = [rel for rel in cached if rel not in current]
            if changed or removed:
                update_cache(store, root, changed, removed)
        heads = {rel: head_of(post.head) for rel, post in current.items() if post.head is not None}
        folders.append((source, current, seen, root, heads))
    if store is not None:
        store.forget_post_caches(root for root, _ in result.folders)
    ids: dict[str, tuple[str, datetime]] = {}
    if book is not None:
        if (
            kept is not None
            and same_files
            and kept.folders == result.folders
            and book.text is not None
            and kept.ledger == resolution.digest(book.text)
        ):
            currents = {p: f[1] for f, (_, p) in zip(folders, result.folders, strict=True)}
            posts_now = {ledger.key_of(p, rel): currents[p][rel] for p, rel in edited}
            result.resolved = resolve_edited(book, posts_now, kept.ids, now)
        if result.resolved is None:
            book.sound = False
            result.resolved = _resolve(config, book, folders, now)
        ids = result.resolved.ids
    gathered = [
        _gather(result, source, current, heads, seen, ids, prefix)
        for (source, current, seen, _, heads), (_, prefix) in zip(
            folders, result.folders, strict=True
        )
    ]
    # Ids and links are checked across every posts folder: two folders may
    # hold the same relative path (``_posts/x.md``, ``news/_posts/x.md``),
    # which is the same ``tag:`` id, and a reader would see one of them only.
    clashes = posts.conflicts({path: g[0] for _, good, _ in gathered for path, g in good.items()})
    by_path = {c.path: c for c in clashes}
    for (source, good, errors), (_, _, _, root, _) in zip(gathered, folders, strict=True):
        base = str(source.path) + os.sep
        mine = [by_path[path] for path in good if path in by_path]
        result.problems.extend(PostError(message, path=base + rel) for rel, message in errors)
        result.problems.extend(mine)
        result.by_folder.append((errors, mine))
        _collect(result, source, good, root)
    return result


def resolve_edited(
    book: ledger.Ledger,
    edited: Mapping[str, CachedPost],
    kept: Mapping[str, tuple[str, datetime]],
    now: datetime | None = None,
) -> ledger.Resolved | None:
    """Every post's id and date when only the post files of ``edited`` (by
    ledger key, as read now) changed since the last build resolved them all
    (``kept``: its ``Resolved.ids``; ``now``: the build's time, as for
    :func:`read_posts`); None when the ledger cannot say without
    resolving the whole (resolution.py). The caller has checked that the
    ledger's text is the one the last build wrote and checked: ``book.sound``."""
    from ..posts.entry import replaces

    posts: list[ledger.Post] = []
    for key, post in edited.items():
        if post.head is not None:
            head = head_of(post.head)
            posts.append(
                ledger.Post(key, ledger.fingerprint(post.head[5]), head.id, head.published)
            )

    def declares(key: str, old_id: str) -> tuple[bool, bool]:
        post = edited[key]
        return replaces(post.own_id, old_id), post.dated

    book.sound = True
    done = ledger.resolve_edits(book, posts, declares, now)
    if done is None:
        book.sound = False  # (a whole resolve parses it)
        return None
    ids = dict(kept)
    for key in edited:
        ids.pop(key, None)
    ids.update(done.ids)
    done.ids = ids
    return done


def _resolve(
    config: Config, book: ledger.Ledger, folders: list[_Folder], now: datetime | None
) -> ledger.Resolved:
    """Every post's id and date by the id ledger (ledger.py)."""
    from ..posts.entry import replaces

    present: list[str] = []  # every post file's key (drafts, broken ones too)
    readable: dict[str, CachedPost] = {}
    found: list[ledger.Post] = []
    for source, current, _, _, heads in folders:
        prefix = ledger.key_prefix(config.path.parent, source.named or source.path)
        for rel, post in current.items():
            key = ledger.key_of(prefix, rel)
            present.append(key)
            if post.head is not None:
                readable[key] = post
                head = heads[rel]
                mark = ledger.fingerprint(post.head[5])
                found.append(ledger.Post(key, mark, head.id, head.published))

    def declares(key: str, old_id: str) -> tuple[bool, bool]:
        # What the file gave when last read well (the post cache): never read again.
        post = readable[key]
        return replaces(post.own_id, old_id), post.dated

    return ledger.resolve(book, found, present, declares, now)


_Good = tuple[Head, CachedPost, bytes, "tuple[str, datetime] | None"]


def _gather(
    result: PostsRead,
    source: PostsSource,
    current: Mapping[str, CachedPost],
    heads: Mapping[str, Head],
    seen: Found,
    ids: Mapping[str, tuple[str, datetime]],
    prefix: str,
) -> tuple[PostsSource, dict[str, _Good], list[tuple[str, str]]]:
    """One folder's readable posts by path (the folder's path joined to each
    file's), with the id and date the ledger gives each (``ids``, by
    ``prefix`` + path), and its files' problems (path in the folder, message);
    drafts and stripped characters counted."""
    result.drafts += len(seen.drafts)
    base = str(source.path) + os.sep
    good: dict[str, _Good] = {}
    errors: list[tuple[str, str]] = []
    for rel, post in current.items():
        if post.error is not None:
            errors.append((rel, post.error))
        packed = post.packed
        if packed is None:
            if post.error is None:
                result.drafts += 1
            continue
        if post.stripped:
            result.stripped += post.stripped
            result.stripped_in.append((base + rel, post.stripped))
        head, given = heads[rel], None
        if ids and (given := ids.get(ledger.key_of(prefix, rel))) is not None:
            values = with_identity(cast(tuple[Any, ...], marshal.loads(packed)), *given)
            head = head_of(head_fields(values))
            packed = marshal.dumps(values)
        good[base + rel] = (head, post, packed, given)
    return source, good, errors


def _collect(result: PostsRead, source: PostsSource, good: Mapping[str, _Good], root: str) -> None:
    """Add one folder's readable posts (:func:`_gather`) to ``result``: one
    per id, the first in folder and path order. A post's hash is its file's
    with its folder's settings (``root``) and the id and date the ledger
    gives it: each changes the entry."""
    settings = folder_settings(root)
    cut = len(str(source.path)) + len(os.sep)
    for path, (head, post, packed, given) in good.items():
        result.every.append(packed)
        if head.id not in result.where:
            result.where[head.id] = (source, path[cut:])
            result.made_of[head.id] = (settings, post.content_hash, given)
            result.packed[head.id] = packed
            result.heads.append(head)


__all__ = [
    "CHUNK",
    "PARALLEL_POSTS",
    "PostsRead",
    "cache_root",
    "carry",
    "folder_keys",
    "folder_settings",
    "read_chunk",
    "read_posts",
    "resolve_edited",
    "update_cache",
]
