"""Builds after posts were only edited in place: the last build's feeds still hold.

A build plans every post (10,000 heads: read from the post cache, resolved,
gathered, planned) to publish a few feeds. When the only change since the
last build is that some posts' files were edited, and no edit moved its
post (same id, dates, categories and link, after the id ledger), every feed
has the same entries as before: only the feeds holding an edited post have
new bytes. The state keeps, after a build, what such a build needs (a
:class:`Lane`): each post file's stamp, the feeds as published, each
published post's entry, and the build's counts and problems. The next build
(:func:`take`) reads the edited files, checks that none moved, and makes a
:class:`~feedwright.incremental.PostsRead` of the published posts only.

Kept only where nothing else could change a feed: posts only (no remote
feeds, no podcast, no archive pages, a limit), and after a build that
published all it planned (no post it could not render, no file the gate
refused). Used only while the rest holds: the same config, posts folders,
drafts and ledger text, no file added or removed, the post cache as that
build left it (whatever updates it forgets the lane first, as the id
ledger's resolution), no scheduled post, post's end (``expiryDate``) or
tombstone's end due, at most
:data:`MAX_EDITS` files edited, none of them a draft or unreadable before.
Anything else is a whole build: :func:`take` answers None before changing
anything. Stored with a CRC, as the post cache: a damaged lane is none.
"""

from __future__ import annotations

import binascii
import hashlib
import marshal
import os
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from .. import build_id, ledger
from ..config import Config
from ..exceptions import PostError
from ..model import Head, from_micros, head_fields, head_of, micros, with_identity
from ..store import CachedPost, Store
from . import resolution
from .postread import (
    PostsRead,
    carry,
    folder_keys,
    folder_settings,
    read_chunk,
    resolve_edited,
    update_cache,
)

if TYPE_CHECKING:
    from ..posts import Found
    from ..publish.plan import FeedOf

KEY = "edits"  # store meta
MAX_EDITS = 20  # more edited files than this: a whole build

# A feed as published: slug, category, title, entry ids, updated (µs),
# tombstones ((id, µs), ...)
_Feed = tuple[str | None, str | None, str, tuple[str, ...], int, tuple[tuple[str, int], ...]]
# A published post: its folder (index), path, entry (model.to_tuple with the
# ledger's id and date, marshalled), head (model.head_fields), file's hash,
# the id and date the ledger gives it (None: its own)
_Post = tuple[int, str, bytes, tuple[Any, ...], str, tuple[str, int] | None]


class Lane(NamedTuple):
    key: str  # the config, folders, drafts and ledger text it holds for
    stamps: list[dict[str, tuple[int, int]]]  # each folder's files
    feeds: list[_Feed]
    posts: dict[str, _Post]  # by id: those in a feed
    # each folder's file problems (path, message) and conflicts (path, message)
    problems: list[tuple[list[tuple[str, str]], list[tuple[str, str]]]]
    counts: tuple[int, int, int, int, int | None]  # posts, held, drafts, stripped, next (µs)


class Taken(NamedTuple):
    """What a build of edits publishes from."""

    read: PostsRead  # of the published posts (and every post's counts, problems)
    feeds: list[FeedOf[Head]]  # as the last build published them
    posts: int
    held: int
    next_post_at: datetime | None


def applies(config: Config) -> bool:
    """Whether a build with this config may keep a lane."""
    return (
        not config.feed_sources
        and config.podcast is None
        and not config.output.archives
        and config.output.limit > 0
    )


def _key(config: Config, read_folders: list[tuple[str, str]], found: Mapping[str, Found]) -> str:
    h = hashlib.blake2b(f"{build_id()}|".encode(), digest_size=16)
    h.update(repr(config).encode("utf-8", "surrogatepass"))
    h.update(marshal.dumps(read_folders))
    for source in config.posts_sources:
        h.update(marshal.dumps(sorted(found[str(source.path)].drafts)))
    return h.hexdigest()


def _load(store: Store) -> Lane | None:
    raw = store.get_meta(KEY)
    if not raw:
        return None
    try:
        version, crc, data = marshal.loads(binascii.a2b_base64(raw))
        if version != build_id() or zlib.crc32(data) != crc:
            return None
        return Lane(*marshal.loads(data))
    except Exception:  # whatever damaged text decodes to (or fails with)
        return None


def forget(store: Store) -> None:
    if store.get_meta(KEY):
        store.set_meta(KEY, "")


def _save(store: Store, lane: Lane, ledger_text: str) -> None:
    lane = lane._replace(key=f"{lane.key}|{resolution.digest(ledger_text)}")
    data = marshal.dumps(tuple(lane))
    blob = marshal.dumps((build_id(), zlib.crc32(data), data))
    store.set_meta(KEY, binascii.b2a_base64(blob, newline=False).decode("ascii"))


def keep(
    store: Store,
    config: Config,
    found: Mapping[str, Found],
    read: PostsRead,
    feeds: list[FeedOf[Any]],
    counts: tuple[int, int, datetime | None],
    ledger_text: str | None,
) -> None:
    """After a build that :func:`applies` and published everything it
    planned: its lane (``counts``: posts published, held back, the next
    held-back one's date). ``ledger_text``: as the build left it."""
    if ledger_text is None:
        forget(store)
        return
    sources = config.posts_sources
    index = {source: n for n, source in enumerate(sources)}
    heads = {}
    for feed in feeds:
        for entry in feed.entries:
            heads[entry.id] = entry
    posts: dict[str, _Post] = {}
    for id_, entry in heads.items():
        source, rel = read.where[id_]
        _, file_hash, given = read.made_of[id_]
        posts[id_] = (
            index[source],
            rel,
            read.packed[id_],
            (id_, micros(entry.published), micros(entry.updated), entry.categories, entry.link),
            file_hash,
            None if given is None else (given[0], micros(given[1])),
        )
    posts_count, held, next_at = counts
    lane = Lane(
        _key(config, read.folders, found),
        [dict(found[str(s.path)].files) for s in sources],
        [
            (
                f.slug,
                f.category,
                f.title,
                tuple(e.id for e in f.entries),
                micros(f.updated),
                tuple((i, micros(when)) for i, when in f.tombstones),
            )
            for f in feeds
        ],
        posts,
        [
            (errors, [(p.path or "", p.message) for p in conflicts])
            for errors, conflicts in read.by_folder
        ],
        (
            posts_count,
            held,
            read.drafts,
            read.stripped,
            None if next_at is None else micros(next_at),
        ),
    )
    _save(store, lane, ledger_text)


def take(
    config: Config,
    store: Store,
    found: Mapping[str, Found],
    book: ledger.Ledger,
    now: datetime,
    due: datetime | None,
) -> Taken | None:
    """The posts and feeds of a build of edits, the post cache updated; None
    (nothing changed) when this build is not one (a whole build then).
    ``due``: the last build's record's ``next_post_at``."""
    if not applies(config) or (due is not None and now >= due) or book.text is None:
        return None
    lane = _load(store)
    kept = resolution.load(store)
    if lane is None or kept is None:
        return None
    sources = config.posts_sources
    folders = folder_keys(config)
    key = f"{_key(config, folders, found)}|{resolution.digest(book.text)}"
    if lane.key != key or kept.folders != folders or kept.ledger != resolution.digest(book.text):
        return None
    edited: list[list[tuple[str, tuple[int, int]]]] = []
    for source, stamps in zip(sources, lane.stamps, strict=True):
        files = found[str(source.path)].files
        if files.keys() != stamps.keys():
            return None  # a file added or removed
        edited.append([(rel, st) for rel, st in files.items() if stamps[rel] != st])
    if not 0 < sum(map(len, edited)) <= MAX_EDITS:
        return None
    # Read the edited files; each must have been a post and still be one.
    olds: list[dict[str, CachedPost]] = []
    news: list[dict[str, CachedPost]] = []
    for (root, _), source, todo in zip(folders, sources, edited, strict=True):
        old = store.cached_posts(root, [rel for rel, _ in todo]) if todo else {}
        new = {}
        for rel, post in read_chunk(source, config.site, todo):
            new[rel] = carry(old.get(rel), post)
            if old.get(rel) is None or old[rel].head is None or new[rel].head is None:
                return None
        olds.append(old)
        news.append(new)
    resolved = _resolve(book, folders, news, kept.ids, now)
    if resolved is None:
        return None
    # None moved: the same head after the ledger (and the same end), before and after.
    for (_, prefix), old, new in zip(folders, olds, news, strict=True):
        for rel, post in new.items():
            key_ = ledger.key_of(prefix, rel)
            before = _values(old[rel], kept.ids.get(key_))
            after = _values(post, resolved.ids.get(key_))
            if _moved(head_fields(before), head_fields(after)):
                book.sound = False  # (a whole build resolves every post)
                return None
    # An edit it is: the post cache takes the edited files.
    for (root, _), new in zip(folders, news, strict=True):
        if new:
            update_cache(store, root, new)
    return _taken(config, found, lane, folders, olds, news, resolved)


def _moved(before: tuple[Any, ...], after: tuple[Any, ...]) -> bool:
    """Whether an edit changed a post's head (model.head_fields) but for its
    body's digest: its id, dates, categories, link or end (``expires``)."""
    return before[:5] != after[:5] or before[6:] != after[6:]


def _values(post: CachedPost, given: tuple[str, datetime] | None) -> tuple[Any, ...]:
    values = cast(tuple[Any, ...], marshal.loads(cast(bytes, post.packed)))
    return values if given is None else with_identity(values, *given)


def _resolve(
    book: ledger.Ledger,
    folders: list[tuple[str, str]],
    news: list[dict[str, CachedPost]],
    kept: Mapping[str, tuple[str, datetime]],
    now: datetime,
) -> ledger.Resolved | None:
    edited = {
        ledger.key_of(prefix, rel): post
        for (_, prefix), new in zip(folders, news, strict=True)
        for rel, post in new.items()
    }
    done = resolve_edited(book, edited, kept, now)  # (take checked the ledger's text)
    if done is None or done.changed or done.notes:
        book.sound = False
        return None
    return done


def _taken(
    config: Config,
    found: Mapping[str, Found],
    lane: Lane,
    folders: list[tuple[str, str]],
    olds: list[dict[str, CachedPost]],
    news: list[dict[str, CachedPost]],
    resolved: ledger.Resolved,
) -> Taken:
    sources = config.posts_sources
    read = PostsRead(folders=folders, resolved=resolved)
    settings = [folder_settings(root) for root, _ in folders]
    for id_, (n, rel, packed, head, file_hash, given) in lane.posts.items():
        read.where[id_] = (sources[n], rel)
        read.packed[id_] = packed
        read.made_of[id_] = (
            settings[n],
            file_hash,
            None if given is None else (given[0], from_micros(given[1])),
        )
        read.heads.append(head_of(head))
    posts_count, held, drafts, stripped, next_at = lane.counts
    for n, ((_, prefix), old, new) in enumerate(zip(folders, olds, news, strict=True)):
        for rel, post in new.items():
            stripped += post.stripped - old[rel].stripped
            gives = resolved.ids.get(ledger.key_of(prefix, rel))
            values = _values(post, gives)
            id_ = head_fields(values)[0]
            if id_ in lane.posts and lane.posts[id_][:2] == (n, rel):
                read.packed[id_] = marshal.dumps(values)
                read.made_of[id_] = (settings[n], post.content_hash, gives)
    for source in sources:
        read.problems.extend(found[str(source.path)].problems)
    for source, (errors, conflicts), new in zip(sources, lane.problems, news, strict=True):
        errors_now = errors
        if new:  # (in the walk's order, as a whole build has them)
            order = {rel: k for k, rel in enumerate(found[str(source.path)].files)}
            now_errors = dict(errors)
            for rel, post in new.items():
                now_errors.pop(rel, None)
                if post.error is not None:
                    now_errors[rel] = post.error
            errors_now = sorted(now_errors.items(), key=lambda item: order[item[0]])
        base = str(source.path) + os.sep
        clashes = [PostError(message, path=path) for path, message in conflicts]
        read.problems.extend(PostError(message, path=base + rel) for rel, message in errors_now)
        read.problems.extend(clashes)
        read.by_folder.append((errors_now, clashes))
    read.drafts = drafts
    read.stripped = stripped
    from ..publish.plan import FeedOf

    heads = {h.id: h for h in read.heads}
    feeds = [
        FeedOf(
            slug,
            category,
            title,
            tuple(heads[i] for i in ids),
            from_micros(updated),
            None,
            tuple((i, from_micros(w)) for i, w in stones),
        )
        for slug, category, title, ids, updated, stones in lane.feeds
    ]
    return Taken(read, feeds, posts_count, held, None if next_at is None else from_micros(next_at))


__all__ = ["KEY", "MAX_EDITS", "Lane", "Taken", "applies", "forget", "keep", "take"]
