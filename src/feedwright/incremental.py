"""Doing less: the post cache, the build record and the one no-change check.

Everything that lets a build skip work lives here::

    fingerprint(config, found, generation)  every input of a build, cheaply: the
                                            version, the config, every post
                                            file's stamp, the stored entries' generation
    unchanged(record, fingerprint, now, output)
                                            THE no-change check: same fingerprint, no
                                            held-back post due, every published file as
                                            the last build left it -> nothing to do
    read_posts(config, store, found, pool)  every post, from the post cache when its
                                            file's stamp is unchanged; the rest read
                                            (in worker processes when many)
    render_posts(...)                       a post's HTML, from the store when the entry
                                            it was rendered from is unchanged

A post that was published and then fails to read (a typo in its front
matter, a bad encoding after an edit) keeps its last good version from the
cache, and its problem is reported on every build until the file is fixed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import marshal
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from . import build_id, ledger, posts
from .config import Config, PostsSource, Site
from .exceptions import PostError
from .model import (
    ENTRY_FIELDS,
    Entry,
    Head,
    from_tuple,
    head_fields,
    head_of,
    to_tuple,
    with_identity,
)
from .parallel import Failed, Pool, chunked, worker_count
from .publish.write import FileStamp
from .store import CachedPost, Rendered, Store, cached_post

if TYPE_CHECKING:
    from .posts import Found

log = logging.getLogger("feedwright.build")

RECORD_KEY = "build"  # store meta: what the last successful publish was made from
# Below this many posts to read or render, worker processes cost more than they save.
PARALLEL_POSTS = 400
_CHUNK = 100  # posts per item handed to a worker


# --------------------------------------------------------------------------- the record


class Record(NamedTuple):
    """The last build: its inputs' fingerprint, the files it left, what it reported."""

    fingerprint: str
    stamps: dict[str, FileStamp]  # output path (POSIX, relative to output.dir) -> stamp
    summary: dict[str, Any]  # the report's counts and problems, as plain JSON
    next_post_at: datetime | None = None  # the earliest held-back post


def fingerprint(config: Config, found: Mapping[str, Found], generation: int) -> str:
    """Everything a build reads, cheaply: version, the config, post stamps,
    the stored remote entries' generation (then :func:`with_ledger`)."""
    h = hashlib.sha256(f"{build_id()}|{generation}|".encode())
    # The config in force, not the file's bytes now: the daemon may run from a
    # config read before the file changed (and reload it later).
    h.update(repr(config).encode("utf-8", "surrogatepass"))
    for root in sorted(found):
        h.update(marshal.dumps((root, sorted(found[root].files.items()))))
        h.update(marshal.dumps(sorted(found[root].drafts)))
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
    }
    store.set_meta(RECORD_KEY, json.dumps(data))  # (ASCII: a path may not be UTF-8)


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


def unchanged(record: Record | None, fingerprint: str, now: datetime, output: Path) -> bool:
    """The no-change check: building now would give exactly what is published."""
    return (
        record is not None
        and record.fingerprint == fingerprint
        and (record.next_post_at is None or now < record.next_post_at)
        and outputs_intact(output, record.stamps)
    )


# --------------------------------------------------------------------------- reading posts


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
    resolved: ledger.Resolved | None = None  # what the id ledger made of them (when given)

    def values_of(self, entry_id: str) -> tuple[Any, ...]:
        """A post's entry as plain values (``model.to_tuple``)."""
        return cast(tuple[Any, ...], marshal.loads(self.packed[entry_id]))

    def entry(self, entry_id: str) -> Entry:
        return from_tuple(self.values_of(entry_id))

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
) -> list[tuple[str, CachedPost]]:
    """Read some files of one posts folder (in a worker process, or here);
    bodies without their text unless ``keep_text`` (the file keeps it)."""
    out: list[tuple[str, CachedPost]] = []
    for rel, (size, mtime_ns) in files:
        try:
            post = posts.read(source.path / rel, rel, source, site)
        except PostError as exc:
            out.append((rel, CachedPost(size, mtime_ns, error=exc.message)))
            continue
        except Exception as exc:  # a bug's victim is that file alone, as in a worker
            problem = f"cannot read: {type(exc).__name__}: {exc}"
            out.append((rel, CachedPost(size, mtime_ns, error=problem)))
            continue
        entry = post.entry
        if entry is None:
            out.append((rel, CachedPost(size, mtime_ns, stripped=post.stripped)))
            continue
        values = to_tuple(entry)
        if entry.body is not None and not keep_text:  # the file keeps it
            values = (*values[:_BODY], (None, *values[_BODY][1:]), *values[_BODY + 1 :])
        cached = cached_post(
            size, mtime_ns, values, None, post.stripped, post.digest, post.own_id, post.dated
        )
        out.append((rel, cached))
    return out


def cache_root(config: Config, source: PostsSource) -> str:
    """The post cache's key: everything that changes how a file becomes an entry."""
    settings = repr((build_id(), config.site, source))
    return f"{source.path}|{hashlib.sha256(settings.encode()).hexdigest()[:16]}"


def _read_files(
    source: PostsSource,
    site: Site,
    todo: list[tuple[str, tuple[int, int]]],
    pool: Pool,
    keep_text: bool,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, CachedPost]:
    if len(todo) < PARALLEL_POSTS or worker_count() < 2:
        return dict(read_chunk(source, site, todo, keep_text))
    chunks = list(chunked(todo, _CHUNK))
    out: dict[str, CachedPost] = {}
    results = pool.map(_read_item, [(source, site, chunk, keep_text) for chunk in chunks])
    for chunk, result in zip(chunks, results, strict=True):
        if progress is not None:
            progress(len(out) + len(chunk), len(todo))
        if isinstance(result, Failed):
            # One file killed its worker: read the chunk's files one by one,
            # so that only that file fails.
            for one, alone in zip(
                chunk,
                pool.map(_read_item, [(source, site, [f], keep_text) for f in chunk]),
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


def _read_item(args: tuple[PostsSource, Site, list[tuple[str, tuple[int, int]]], bool]) -> Any:
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
) -> PostsRead:
    """Every posts folder's posts, reusing the store's post cache for unchanged
    files. Without a store (``check``), the entries keep their body text.
    With the id ledger (``book``), each post gets the id and date it keeps."""
    result = PostsRead()
    roots = []
    folders: list[_Folder] = []
    for source in config.posts_sources:
        seen = found[str(source.path)]
        result.problems.extend(seen.problems)
        root = cache_root(config, source)
        roots.append(root)
        cached = store.cached_posts(root) if store is not None else {}
        current: dict[str, CachedPost] = {}
        todo = []
        for rel, stamp in seen.files.items():
            old = cached.get(rel)
            if old is not None and (old.size, old.mtime_ns) == stamp:
                current[rel] = old
            else:
                todo.append((rel, stamp))
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
            source, config.site, todo, pool, store is None, progress
        ).items():
            old = cached.get(rel)
            if post.error is not None and old is not None and old.packed is not None:
                # Published before and broken now: the last good version stays.
                post = old._replace(
                    size=post.size,
                    mtime_ns=post.mtime_ns,
                    error=post.error
                    + " (its last good version stays published until this is fixed)",
                    stripped=post.stripped,
                )
            current[rel] = post
        if store is not None:
            changed = {rel: post for rel, post in current.items() if cached.get(rel) is not post}
            removed = [rel for rel in cached if rel not in current]
            if changed or removed:
                store.update_posts(root, changed, removed)
        heads = {rel: head_of(post.head) for rel, post in current.items() if post.head is not None}
        folders.append((source, current, seen, root, heads))
    if store is not None:
        store.forget_post_caches(roots)
    ids: dict[str, tuple[str, datetime]] = {}
    if book is not None:
        result.resolved = _resolve(config, book, folders)
        ids = result.resolved.ids
    for source, current, seen, root, heads in folders:
        prefix = ledger.key_prefix(config.path.parent, source.path) if ids else ""
        _collect(result, source, current, heads, seen, root, ids, prefix)
    return result


def _resolve(config: Config, book: ledger.Ledger, folders: list[_Folder]) -> ledger.Resolved:
    """Every post's id and date by the id ledger (ledger.py)."""
    from .posts.entry import replaces

    present: list[str] = []  # every post file's key (drafts, broken ones too)
    readable: dict[str, CachedPost] = {}
    found: list[ledger.Post] = []
    for source, current, _, _, heads in folders:
        prefix = ledger.key_prefix(config.path.parent, source.path)
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

    return ledger.resolve(book, found, present, declares)


def _collect(
    result: PostsRead,
    source: PostsSource,
    current: Mapping[str, CachedPost],
    heads: Mapping[str, Head],
    seen: Found,
    root: str,
    ids: Mapping[str, tuple[str, datetime]],
    prefix: str,
) -> None:
    """Add one folder's posts to ``result``: one per id, the first in path order.
    A post's hash is its file's with its folder's settings (``root``) and the
    id and date the ledger gives it (``ids``, by ``prefix`` + path): each
    changes the entry."""
    result.drafts += len(seen.drafts)
    base = str(source.path) + os.sep
    good: dict[str, tuple[Head, CachedPost, bytes, tuple[str, datetime] | None]] = {}
    for rel, post in current.items():
        if post.error is not None:
            result.problems.append(PostError(post.error, path=base + rel))
        packed = post.packed
        if packed is None:
            if post.error is None:
                result.drafts += 1
            continue
        result.stripped += post.stripped
        head, given = heads[rel], None
        if ids and (given := ids.get(ledger.key_of(prefix, rel))) is not None:
            values = with_identity(cast(tuple[Any, ...], marshal.loads(packed)), *given)
            head = head_of(head_fields(values))
            packed = marshal.dumps(values)
        good[rel] = (head, post, packed, given)
    result.problems.extend(posts.conflicts({base + r: g[0] for r, g in good.items()}))
    settings = hashlib.blake2b(root.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    for rel, (head, post, packed, given) in good.items():
        result.every.append(packed)
        if head.id not in result.where:
            result.where[head.id] = (source, rel)
            result.made_of[head.id] = (settings, post.content_hash, given)
            result.packed[head.id] = packed
            result.heads.append(head)


# --------------------------------------------------------------------------- rendering


def render_one(entry_values: tuple[Any, ...], path: str, root: str) -> tuple[str, str | None] | str:
    """A post's (content, summary) HTML, its body read again from ``path``
    inside the posts folder ``root``; the problem as a message when the file
    cannot be read any more, or holds another body than the one its entry was
    made from (never a mix of two versions: the file changed since, or the
    entry is a broken post's last good version)."""
    from .render import render

    entry = from_tuple(entry_values)
    try:
        text = posts.read_body(Path(path), Path(root))
    except PostError as exc:
        return exc.message
    if entry.body is not None and entry.body.digest not in ("", posts.body_digest(text)):
        return "its body is no longer the one read (the file changed): left out of this build"
    done = render(entry, text=text)
    return done.content or "", done.summary


def _render_item(items: list[tuple[tuple[Any, ...], str, str]]) -> list[Any]:
    return [render_one(*item) for item in items]


# posts folder (cache root) -> rel path -> HTML rendered by this build
Fresh = dict[str, dict[str, Rendered]]


def save_rendered(store: Store, fresh: Fresh) -> None:
    """Keep the HTML a build rendered, for the next build's unchanged posts."""
    for root, rendered in fresh.items():
        store.save_rendered(root, rendered)


def render_posts(
    ids: Iterable[str], read: PostsRead, store: Store | None, pool: Pool, config: Config
) -> tuple[dict[str, Entry], dict[str, PostError], Fresh]:
    """The posts of ``ids`` (others are ignored) as entries with their HTML (by
    id): from the store when the file it was rendered from is unchanged, else
    rendered (in worker processes when many). A post whose file can no longer
    be read is not rendered but reported (by id): never published empty. The
    HTML made here comes back too, for :func:`save_rendered` once the build
    is published."""
    todo: list[Entry] = []
    done: dict[str, Entry] = {}
    by_root: dict[str, dict[str, Entry]] = {}
    for entry_id in ids:
        if entry_id not in read.where:
            continue
        source, rel = read.where[entry_id]
        by_root.setdefault(cache_root(config, source), {})[rel] = read.entry(entry_id)
    stored: dict[str, Rendered] = {}
    for root, members in by_root.items():
        if store is not None:
            for rel, kept in store.rendered(root, members).items():
                stored[members[rel].id] = kept
    for members in by_root.values():
        for entry in members.values():
            html = stored.get(entry.id)
            if html is not None and html.content_hash == read.hash_of(entry.id):
                done[entry.id] = replace(
                    entry, content=html.content, summary=html.summary, body=None
                )
            else:
                todo.append(entry)
    items = []
    for entry in todo:
        source, rel = read.where[entry.id]
        items.append((read.values_of(entry.id), str(source.path / rel), str(source.path)))
    if len(items) < PARALLEL_POSTS or worker_count() < 2:
        results = _render_item(items)
    else:
        results = []
        chunks = list(chunked(items, _CHUNK))
        for chunk, out in zip(chunks, pool.map(_render_item, chunks), strict=True):
            if isinstance(out, Failed):
                out = [f"cannot render: {out.reason}"] * len(chunk)
            results.extend(out)
    problems: dict[str, PostError] = {}
    fresh: Fresh = {}
    for entry, outcome in zip(todo, results, strict=True):
        source, rel = read.where[entry.id]
        if isinstance(outcome, str):
            problems[entry.id] = PostError(outcome, path=str(source.path / rel))
            continue
        content, summary = outcome
        done[entry.id] = replace(entry, content=content, summary=summary, body=None)
        digest = read.hash_of(entry.id) or ""
        fresh.setdefault(cache_root(config, source), {})[rel] = Rendered(digest, content, summary)
    return done, problems, fresh


__all__ = [
    "FileStamp",
    "PostsRead",
    "Record",
    "cache_root",
    "fingerprint",
    "load_record",
    "outputs_intact",
    "read_chunk",
    "read_posts",
    "render_posts",
    "save_record",
    "unchanged",
    "with_ledger",
]
