"""The state store: what feedwright learnt between runs, behind one small interface.

``Store.open(location)`` (or ``store.open(config.state)``) opens, creating
and migrating, what ``state:`` names: the embedded SQLite file (a path, the
default) or a PostgreSQL database (a ``postgresql://`` URL, psycopg 3: the
``postgres`` extra). Both run the same schema, migrations and SQL
(``sql.py``, ``dialects.py``)::

    store.transaction()                       writes inside commit together or not at all
  remote sources (SourceState, keyed by the configured URL)
    store.source_states() -> {key: SourceState}
    store.save_source_state(state)
    store.forget_sources(keep_keys) -> [key]  drop every other source's state and entries
  remote entries, keyed by (source key, entry id)
    store.save_entry_rows(key, rows, now, *, undated) -> SaveResult(new, updated, unchanged)
                                              rows from records.entry_row (made where the
                                              parsing is); first_seen kept
    store.entries(keys) -> [StoredEntry]      ordered by (first_seen, source key, id)
    store.entry_counts() -> {key: n}
    store.prune(key, keep) -> removed         keep the newest `keep` by published
    store.entries_generation() -> int         moves whenever remote entries change
    store.published_since(keys, since) -> {key: [published]}
                                              each source's entry dates after `since`
  builds (the daemon's status page)
    store.log_build(BuildLog, keep)           the newest `keep` are kept
    store.recent_builds(n) -> [BuildLog]      newest first
  metadata
    store.get_meta(key) / store.set_meta(key, value)
  local posts (postcache.py), per posts folder ("root"): the cache, the rendered HTML
    store.cached_posts(root[, rels]) -> {rel: CachedPost}
    store.update_posts(root, changed, removed)
    store.forget_post_caches(keep_roots)
    store.rendered(root, rels) -> {rel: Rendered};  store.save_rendered(root, {rel: Rendered})
  for other servers (outbox.py): WebSub pings to send, remote audio lengths to learn
    store.queue_pings / pending_pings / pings_sent / pings_failed / forget_hubs
    store.media_lengths / save_media_length / wanted_lengths / forget_wanted_lengths
  what each published feed showed (history.py): tombstones and archive pages
    store.feed_history() -> {feed: FeedHistory}
    store.save_feed_history({feed: FeedHistory | None})
  sharing sources out among processes (claims.py): leases on due sources
    store.add_sources / claim_due / renew / release;  store.publish_lock()

All datetimes in and out are timezone-aware UTC. Any database failure is a
:class:`~feedwright.exceptions.StoreError` carrying ``.path`` (the file, or
the URL without its password). A Store belongs to the thread that opened it;
several processes (the daemon, a ``build``, ``status``, workers) may share
the database.
"""

from __future__ import annotations

from pathlib import Path

from .dialects import is_postgres_url
from .migrations import SCHEMA_VERSION
from .records import (
    BuildLog,
    CachedPost,
    EntryRow,
    FeedHistory,
    MediaLength,
    PendingPing,
    Rendered,
    SaveResult,
    SourceState,
    StoredEntry,
    cached_post,
    entry_row,
    row_entry,
)
from .sql import DEFAULT_TIMEOUT, Store


def exists(location: Path | str) -> bool:
    """Whether there is a state database to read at ``location`` (a server
    database always counts: opening it creates the schema, nothing on disk)."""
    return is_postgres_url(location) or Path(location).exists()


def open(location: Path | str, *, timeout: float = DEFAULT_TIMEOUT) -> Store:
    """``Store.open(location)``: what ``state:`` names, opened and migrated."""
    return Store.open(location, timeout=timeout)


__all__ = [
    "SCHEMA_VERSION",
    "BuildLog",
    "CachedPost",
    "EntryRow",
    "FeedHistory",
    "MediaLength",
    "PendingPing",
    "Rendered",
    "SaveResult",
    "SourceState",
    "Store",
    "StoredEntry",
    "cached_post",
    "entry_row",
    "exists",
    "is_postgres_url",
    "open",
    "row_entry",
]
