"""The rendered-HTML cache: a post's HTML from the store when the entry it
was rendered from is unchanged, else rendered (in worker processes when
many), and kept once the build is published."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import posts
from ..config import Config
from ..exceptions import PostError
from ..model import Entry, from_tuple
from ..parallel import Failed, Pool, chunked, worker_count
from ..store import Rendered, Store
from .postread import CHUNK, PARALLEL_POSTS, PostsRead, cache_root


def render_one(entry_values: tuple[Any, ...], path: str, root: str) -> tuple[str, str | None] | str:
    """A post's (content, summary) HTML, its body read again from ``path``
    inside the posts folder ``root``; the problem as a message when the file
    cannot be read any more, or holds another body than the one its entry was
    made from (never a mix of two versions: the file changed since, or the
    entry is a broken post's last good version)."""
    from ..render import render

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
    roots = {source: cache_root(config, source) for source in config.posts_sources}
    for entry_id in ids:
        if entry_id not in read.where:
            continue
        source, rel = read.where[entry_id]
        by_root.setdefault(roots[source], {})[rel] = read.entry(entry_id)
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
        source, _ = read.where[entry.id]
        items.append((read.values_of(entry.id), read.path_of(entry.id), str(source.path)))
    if len(items) < PARALLEL_POSTS or worker_count() < 2:
        results = _render_item(items)
    else:
        results = []
        chunks = list(chunked(items, CHUNK))
        for chunk, out in zip(chunks, pool.map(_render_item, chunks), strict=True):
            if isinstance(out, Failed):
                out = [f"cannot render: {out.reason}"] * len(chunk)
            results.extend(out)
    problems: dict[str, PostError] = {}
    fresh: Fresh = {}
    for entry, outcome in zip(todo, results, strict=True):
        source, rel = read.where[entry.id]
        if isinstance(outcome, str):
            problems[entry.id] = PostError(outcome, path=read.path_of(entry.id))
            continue
        content, summary = outcome
        done[entry.id] = replace(entry, content=content, summary=summary, body=None)
        digest = read.hash_of(entry.id) or ""
        fresh.setdefault(roots[source], {})[rel] = Rendered(digest, content, summary)
    return done, problems, fresh


__all__ = ["Fresh", "render_one", "render_posts", "save_rendered"]
