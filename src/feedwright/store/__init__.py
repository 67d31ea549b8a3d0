"""The embedded state store: one SQLite file (``config.state``) that remembers
what feedwright learnt between runs.

Interface (everything else in this package is private)::

    Store.open(path, *, timeout=10.0) -> Store   create folders + file, migrate; StoreError if
                                                 unusable, corrupt, foreign or schema too new
    store.close() / with Store.open(...) as store:
    store.transaction()                          context manager: writes inside commit together
                                                 or not at all (nested blocks are savepoints)
  per remote source (SourceState, keyed by the configured URL)
    store.source_state(key) -> SourceState | None
    store.source_states() -> dict[key, SourceState]
    store.save_source_state(state)
    store.due_sources(keys, now) -> [key]        never checked / next_check reached; not gone,
                                                 not under a future retry_after
    store.forget_sources(keep_keys) -> int       drop state + entries of every other source
  remote entries, keyed by (source key, entry id)
    store.save_entries(key, entries, now, *, undated=frozenset()) -> SaveResult(new, updated,
                                                 unchanged); first_seen kept; undated ids get
                                                 published = updated = first_seen
    store.save_entry_rows(key, rows, now, *, undated=frozenset()) -> SaveResult
                                                 the same from entry_row(entry) rows, made
                                                 where the parsing is (worker processes)
    store.entries(keys=None) -> [Entry]          origin = source key; ordered by
                                                 (first_seen, source key, id)
    store.entries_with_first_seen(keys=None) -> [(Entry, first_seen)]
    store.entry_count(key) -> int
    store.prune(key, keep) -> removed            keep newest `keep` by published (0 = all)
  key/value metadata
    store.get_meta(key) -> str | None;  store.set_meta(key, value)
  local post cache, per posts folder ("root")
    store.cached_posts(root) -> {rel_path: CachedPost(size, mtime_ns, entry, error)}
    store.cached_post_rows(root) -> [(rel_path, size, mtime_ns, error, stripped, entry, packed)]
    store.save_posts(root, posts)                replace that root's cache with exactly ``posts``
    store.update_posts(root, changed, removed)   replace/drop some posts (their buckets only)
    store.forget_post_caches(keep_roots)         drop the caches of every other root
  entry serialisation
    to_json(entry) -> str;  from_json(text) -> Entry   exact round trip, Body included

Deduplicating the same entry reached through two subscriptions is the
caller's job at publish time; because :meth:`Store.entries` is ordered by
``(first_seen, source key, id)``, "keep the first of each id" picks the
earliest-seen copy, ties broken by source key, deterministically.

All datetimes in and out are timezone-aware UTC. Any database failure is a
:class:`~feedwright.exceptions.StoreError` carrying ``.path``. A Store
belongs to the thread that opened it; several processes (the daemon, a
`build`, `status`) may share the file: writers wait up to ``timeout``
seconds for each other, readers never wait.
"""

from .migrations import SCHEMA_VERSION
from .sqlite import (
    CachedPost,
    EntryRow,
    SaveResult,
    SourceState,
    Store,
    entry_row,
    from_json,
    to_json,
)

__all__ = [
    "SCHEMA_VERSION",
    "CachedPost",
    "EntryRow",
    "SaveResult",
    "SourceState",
    "Store",
    "entry_row",
    "from_json",
    "to_json",
]
