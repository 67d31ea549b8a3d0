"""What the store keeps of local posts: each posts folder's cache and the rendered HTML.

A part of :class:`~feedwright.store.Store` (it inherits these methods)::

    store.cached_posts(root[, rels]) -> {rel: CachedPost}
    store.update_posts(root, changed, removed)
    store.forget_post_caches(keep_roots)
    store.rendered(root, rels) -> {rel: Rendered}
    store.save_rendered(root, {rel: Rendered})

- A posts folder's cache is a few rows ("buckets", by a hash of the path),
  each a marshal blob of its posts' rows (``CachedPost``): an
  edit rewrites one bucket, not the whole folder's cache, and loading
  10,000 posts is a few blobs, not 10,000 rows. Each blob carries a CRC of
  its rows: a damaged bucket (or one of another format) reads as absent, so
  its posts are read again and the bucket is written anew, never trusted.
- A posts folder or post path is stored as it is, or, when it cannot be
  UTF-8 (a file name in another encoding arrives with surrogates), as a mark
  and the hex of its bytes: any two paths stay two keys.
"""

from __future__ import annotations

import json
import marshal
import zlib
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from .dialects import Dialect, guarded
from .records import CachedPost, Rendered

_CACHE_FORMAT = 7  # 7: a head holds the post's end (model.head_fields)
_KEY_MARK = "\x01"
_BUCKETS = 32
# rel path, size, mtime_ns, error, stripped, head (model.head_fields) and entry
# (model.to_tuple, marshalled) or None, content hash, own id, dated
_CacheRow = tuple[
    str, int, int, str | None, int, tuple[Any, ...] | None, bytes | None, str, str | None, bool
]


def _key(name: str) -> str:
    """A posts folder or post path as stored: itself, unless it cannot be UTF-8
    (a file name in another encoding comes as surrogates) or starts with the
    mark; then the mark and the hex of its bytes. (JSON-safe: SQLite's JSON
    functions stop at a NUL.)"""
    if not name.startswith(_KEY_MARK):
        try:
            name.encode("utf-8")
            return name
        except UnicodeEncodeError:
            pass
    return _KEY_MARK + name.encode("utf-8", "surrogatepass").hex()


def _bucket(rel: str) -> int:
    return zlib.crc32(rel.encode("utf-8", "surrogatepass")) % _BUCKETS


def _cache_row(rel: str, post: CachedPost) -> _CacheRow:
    head = None if post.head is None else tuple(post.head)
    return (
        rel,
        post.size,
        post.mtime_ns,
        post.error,
        post.stripped,
        head,
        post.packed,
        post.content_hash,
        post.own_id,
        post.dated,
    )


def _pack_bucket(rows: Iterable[_CacheRow]) -> bytes:
    data = marshal.dumps(sorted(rows))
    return marshal.dumps((_CACHE_FORMAT, zlib.crc32(data), data))


def _bucket_rows(blob: bytes) -> list[_CacheRow] | None:
    """A bucket's rows; None when it is damaged or of another format."""
    try:
        version, crc, data = marshal.loads(blob)
        if version != _CACHE_FORMAT or zlib.crc32(data) != crc:
            return None
        rows: list[_CacheRow] = marshal.loads(data)
        return rows
    except Exception:  # whatever damaged bytes decode to (or fail with)
        return None


class PostCache:
    """The local-posts part of the Store (see the module docstring)."""

    _db: Any
    _dialect: Dialect
    path: Path | str
    transaction: Callable[[], AbstractContextManager[None]]

    @guarded
    def cached_posts(self, root: str, rels: Iterable[str] | None = None) -> dict[str, CachedPost]:
        """The cache of one posts folder: relative path -> CachedPost (only
        ``rels``, when given, of those cached). The posts of a damaged part of
        it are absent: it is only a cache, they are read again."""
        out: dict[str, CachedPost] = {}
        wanted = None if rels is None else set(rels)
        if wanted is None:
            query = "SELECT data FROM post_caches WHERE root = ?"
            found = list(self._db.execute(query, (_key(root),)))
        else:  # the few buckets holding them
            query = "SELECT data FROM post_caches WHERE root = ? AND bucket = ?"
            found = []
            for bucket in sorted({_bucket(rel) for rel in wanted}):
                found.extend(self._db.execute(query, (_key(root), bucket)))
        for (data,) in found:
            rows = _bucket_rows(data)
            if rows is None:
                continue
            for rel, size, mtime_ns, error, stripped, head, packed, digest, own, dated in rows:
                if wanted is None or rel in wanted:
                    out[rel] = CachedPost(
                        size, mtime_ns, head, packed, error, stripped, digest, own, dated
                    )
        return out

    @guarded
    def update_posts(
        self, root: str, changed: Mapping[str, CachedPost], removed: Iterable[str] = ()
    ) -> None:
        """Replace ``changed`` posts and drop ``removed`` ones in the cache of
        ``root``; only the buckets holding them are rewritten."""
        touched: dict[int, tuple[dict[str, CachedPost], list[str]]] = {}
        for rel, post in changed.items():
            touched.setdefault(_bucket(rel), ({}, []))[0][rel] = post
        for rel in removed:
            touched.setdefault(_bucket(rel), ({}, []))[1].append(rel)
        root = _key(root)
        with self.transaction():
            for bucket, (put, drop) in touched.items():
                found = self._db.execute(
                    "SELECT data FROM post_caches WHERE root = ? AND bucket = ?", (root, bucket)
                ).fetchone()
                old = None if found is None else _bucket_rows(found[0])
                rows = {row[0]: row for row in old or ()}
                for rel in drop:
                    rows.pop(rel, None)
                rows.update((rel, _cache_row(rel, post)) for rel, post in put.items())
                if rows:
                    self._db.execute(
                        "INSERT INTO post_caches (root, bucket, data) VALUES (?, ?, ?)"
                        " ON CONFLICT (root, bucket) DO UPDATE SET data = excluded.data",
                        (root, bucket, _pack_bucket(rows.values())),
                    )
                else:
                    self._db.execute(
                        "DELETE FROM post_caches WHERE root = ? AND bucket = ?", (root, bucket)
                    )
                for rel in drop:
                    self._db.execute(
                        "DELETE FROM rendered WHERE root = ? AND rel_path = ?", (root, _key(rel))
                    )

    @guarded
    def forget_post_caches(self, keep_roots: Iterable[str]) -> None:
        """Drop the caches of every posts folder not in ``keep_roots``."""
        keep = json.dumps(sorted({_key(root) for root in keep_roots}))
        with self.transaction():
            for table in ("post_caches", "rendered"):
                self._db.execute(
                    f"DELETE FROM {table} WHERE root NOT IN ({self._dialect.values})",
                    (keep,),
                )

    @guarded
    def rendered(self, root: str, rels: Iterable[str]) -> dict[str, Rendered]:
        """The stored HTML of these posts of ``root`` (those that have any)."""
        names = {_key(rel): rel for rel in rels}
        rows = self._db.execute(
            "SELECT rel_path, content_hash, content, summary FROM rendered"
            f" WHERE root = ? AND rel_path IN ({self._dialect.values})",
            (_key(root), json.dumps(list(names))),
        )
        return {
            names[key]: Rendered(digest, content, summary) for key, digest, content, summary in rows
        }

    @guarded
    def save_rendered(self, root: str, rendered: Mapping[str, Rendered]) -> None:
        with self.transaction():
            self._db.executemany(
                "INSERT INTO rendered (root, rel_path, content_hash, content, summary)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (root, rel_path) DO UPDATE SET"
                " content_hash = excluded.content_hash, content = excluded.content,"
                " summary = excluded.summary",
                [
                    (_key(root), _key(rel), r.content_hash, r.content, r.summary)
                    for rel, r in rendered.items()
                ],
            )


__all__ = ["PostCache"]
