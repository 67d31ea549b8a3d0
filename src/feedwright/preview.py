"""``feedwright plan``: what the next build would publish, writing nothing.

The build itself runs, on copies::

    copy      the state (a SQLite file through SQLite's online backup; a
              PostgreSQL store is read, never written, into a temporary SQLite
              file), the output folder (bytes and mtimes) and the id ledger,
              into a temporary folder
    refresh   only with ``fetch=True``, into the copy of the state
    build     pipeline.run_once on the copies, offline (no ping, no HEAD),
              ids allowed to change (the gate's verdict is computed, not raised)
    compare   each published feed before and after: entries added, removed,
              changed (which fields), ids changed; files created, removed,
              rewritten
    remove    the temporary folder

So the posts, the config, the ledger, the state and the published files
keep their bytes and mtimes, and nobody (hub, audio host) hears of it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from . import incremental
from .changes import feed_file, too_many
from .config import Config
from .exceptions import StoreError
from .lock import LOCK_NAME
from .parallel import Pool
from .pipeline import BuildReport, refresh, run_once
from .publish.feedgen_ext import AT_NS
from .publish.write import MANIFEST_NAME
from .store import Store, exists
from .store.dialects import explained, is_postgres_url

_ATOM = "{http://www.w3.org/2005/Atom}"
_SKIP = {LOCK_NAME, MANIFEST_NAME}


@dataclass(frozen=True, slots=True)
class EntryChange:
    """One entry of a feed that readers would see differently."""

    id: str
    title: str
    fields: tuple[str, ...] = ()  # changed: the elements that differ
    old_id: str | None = None  # an id change: the id it was published with


@dataclass(frozen=True, slots=True)
class FeedPreview:
    """One published feed, before and after the next build."""

    feed: str  # its first format's file, relative to output.dir
    added: list[EntryChange] = field(default_factory=list)
    removed: list[EntryChange] = field(default_factory=list)
    tombstoned: list[str] = field(default_factory=list)  # ids newly announced as deleted
    changed: list[EntryChange] = field(default_factory=list)
    id_changes: list[EntryChange] = field(default_factory=list)
    entries: int = 0  # after the build
    refused: bool = False  # `build` would refuse it (exit 4) without --allow-id-changes

    @property
    def quiet(self) -> bool:
        return not (self.added or self.removed or self.changed or self.id_changes)


@dataclass(frozen=True, slots=True)
class Plan:
    """What ``feedwright plan`` found (``feedwright.plan``)."""

    feeds: list[FeedPreview]
    created: list[str]  # output files (relative to output.dir)
    removed: list[str]
    rewritten: list[str]
    unchanged: int
    report: BuildReport  # the build as run on the copies

    @property
    def refused(self) -> list[str]:
        return [f.feed for f in self.feeds if f.refused]


_PLAN_PREFIX = "feedwright-plan-"


def _sweep_plan_folders() -> None:
    """Remove the copies a ``plan`` killed outright (SIGKILL) left in the
    temporary folder: ours (``feedwright-plan-<pid>-...``), of a process that
    is gone."""
    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{_PLAN_PREFIX}*-*"):
        pid = folder.name[len(_PLAN_PREFIX) :].split("-", 1)[0]
        try:
            if not pid.isdigit() or folder.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def plan(config: Config, *, now: datetime, pool: Pool, fetch: bool = False) -> Plan:
    """Build on copies of the state, the output and the ledger; compare."""
    _sweep_plan_folders()
    with tempfile.TemporaryDirectory(prefix=f"{_PLAN_PREFIX}{os.getpid()}-") as temp:
        work = Path(temp)
        state = work / "state.db"
        _copy_state(config, state)
        output = work / "output" / config.output.dir.name  # its name is in the feeds' URLs
        if config.output.dir.is_dir():
            shutil.copytree(
                config.output.dir,
                output,
                symlinks=True,
                ignore=lambda _, names: [n for n in names if n == LOCK_NAME],
            )
        ids = work / "ids" / config.ids.name
        ids.parent.mkdir()
        if config.ids.is_file():
            shutil.copy2(config.ids, ids)
        # (Local files, such as a podcast's audio, are still the site folder's.)
        moved = replace(config.output, dir=output, site_folder=config.output.served)
        copy = replace(config, state=state, output=moved, ids=ids)
        if fetch and copy.feed_sources:
            with Store.open(state) as store:
                refresh(copy, store, pool, now=now)
        report = run_once(copy, now=now, offline=True, allow_id_changes=True, pool=pool)
        # What the report says names the copies: name the files a person can act on.
        real = ((str(ids), str(config.ids)), (str(output), str(config.output.dir)))

        def named(text: str) -> str:
            for temp, path in real:
                text = text.replace(temp, path)
            return text

        report = replace(
            report,
            ids=tuple(named(line) for line in report.ids),
            publish=replace(
                report.publish, rejected=[named(line) for line in report.publish.rejected]
            ),
        )
        return _compare(config, config.output.dir, output, report)


def as_dict(found: Plan) -> dict[str, Any]:
    """``plan --json``: plain JSON values."""

    def entries(changes: list[EntryChange]) -> list[dict[str, Any]]:
        return [
            {"id": c.id, "title": c.title}
            | ({"fields": list(c.fields)} if c.fields else {})
            | ({"old_id": c.old_id} if c.old_id else {})
            for c in changes
        ]

    return {
        "feeds": [
            {
                "feed": f.feed,
                "entries": f.entries,
                "added": entries(f.added),
                "removed": entries(f.removed),
                "tombstoned": f.tombstoned,
                "changed": entries(f.changed),
                "id_changes": entries(f.id_changes),
                "refused": f.refused,
            }
            for f in found.feeds
        ],
        "files": {
            "created": found.created,
            "removed": found.removed,
            "rewritten": found.rewritten,
            "unchanged": found.unchanged,
        },
        "refused": found.refused,
        "problems": found.report.problems,
        "warnings": found.report.warnings,
    }


def as_lines(found: Plan) -> list[str]:
    """``plan``'s text: a line per feed, then one per entry (``+ - ~ !``), then the files."""
    out = []
    for feed in found.feeds:
        if feed.quiet:
            out.append(f"{feed.feed}: no change")
            continue
        ids = len(feed.id_changes)
        out.append(
            f"{feed.feed}: {len(feed.added)} added, {len(feed.removed)} removed,"
            f" {len(feed.changed)} changed, {ids} id change{'' if ids == 1 else 's'}"
        )
        out += [f"  + {c.id}  {c.title}" for c in feed.added]
        out += [
            f"  - {c.id}  {c.title}" + (" (tombstoned)" if c.id in feed.tombstoned else "")
            for c in feed.removed
        ]
        out += [f"  ~ {c.id}  {c.title} ({', '.join(c.fields)})" for c in feed.changed]
        out += [f"  ! {c.old_id} -> {c.id}  {c.title}" for c in feed.id_changes]
    out.append(
        f"files: {len(found.created)} created, {len(found.removed)} removed,"
        f" {len(found.rewritten)} rewritten, {found.unchanged} unchanged"
    )
    out += [f"  + {rel}" for rel in found.created]
    out += [f"  - {rel}" for rel in found.removed]
    return out


# --------------------------------------------------------------------------- the copies


def _copy_state(config: Config, target: Path) -> None:
    """The state as it is, into ``target`` (a SQLite file); the original is only read."""
    location = config.state
    if is_postgres_url(location):
        _copy_store(config, target)
    elif exists(location):
        _snapshot(Path(location), target)


def _snapshot(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite file: SQLite's online backup, in one read
    transaction, so a daemon writing meanwhile (it holds the output lock only
    while it builds) never gives a copy of half a build. Raises StoreError
    naming ``source`` when SQLite cannot read it."""
    import sqlite3

    try:
        with (
            # (read-write, though it only reads: a read-only connection to a WAL
            # database leaves its -wal and -shm files behind)
            closing(sqlite3.connect(source)) as db,
            closing(sqlite3.connect(target)) as copy,
        ):
            db.backup(copy)
    except sqlite3.Error as exc:
        said = explained(str(exc))
        raise StoreError(f"cannot use as a state database: {said}", path=str(source)) from None


def _copy_store(config: Config, target: Path) -> None:
    """What a build reads of a server store, through the store's interface."""
    from .bestcopy import ARTICLE_IDS
    from .ledger import META_KEY
    from .publish.slugs import FOLDERS_KEY
    from .store import entry_row

    with Store.open(config.state) as source, Store.open(target) as copy:
        keys = [s.key for s in config.feed_sources]
        for state in source.source_states(keys).values():
            copy.save_source_state(state)
        by_first: dict[tuple[datetime, str], list[Any]] = {}
        for stored in source.entries(keys):
            by_first.setdefault((stored.first_seen, stored.entry.origin or ""), []).append(
                entry_row(stored.entry)
            )
        for (first_seen, key), rows in sorted(by_first.items()):
            copy.save_entry_rows(key, rows, first_seen)  # first_seen: the order kept
        for key in (incremental.RECORD_KEY, META_KEY, ARTICLE_IDS, FOLDERS_KEY):
            value = source.get_meta(key)
            if value is not None:
                copy.set_meta(key, value)
        for posts in config.posts_sources:
            root = incremental.cache_root(config, posts)
            cached = source.cached_posts(root)
            if cached:
                copy.update_posts(root, cached, [])
                copy.save_rendered(root, source.rendered(root, list(cached)))
        copy.save_feed_history(dict(source.feed_history()))  # tombstones, archive pages


# --------------------------------------------------------------------------- comparing


def _files(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p
        for p in root.rglob("*")
        if p.is_file() and p.name not in _SKIP
    }


def _compare(config: Config, old_root: Path, new_root: Path, report: BuildReport) -> Plan:
    old, new = _files(old_root), _files(new_root)
    created = sorted(new.keys() - old.keys())
    removed = sorted(old.keys() - new.keys())
    rewritten = sorted(
        rel for rel in old.keys() & new.keys() if old[rel].read_bytes() != new[rel].read_bytes()
    )
    unchanged = len(old.keys() & new.keys()) - len(rewritten)
    name = feed_file(None, config)
    feeds = sorted(
        rel for rel in old.keys() | new.keys() if rel == name or rel.endswith("/" + name)
    )
    previews = [_feed(rel, old.get(rel), new.get(rel), report.id_changes, config) for rel in feeds]
    return Plan(previews, created, removed, rewritten, unchanged, report)


def _feed(
    rel: str, old: Path | None, new: Path | None, moved: Mapping[str, str], config: Config
) -> FeedPreview:
    before, stones_before = _read(old)
    after, stones_after = _read(new)
    renamed = {new_id: moved[new_id] for new_id in after if new_id in moved}
    gone = set(renamed.values())
    preview = FeedPreview(
        rel,
        added=[EntryChange(i, after[i][0]) for i in after if i not in before and i not in renamed],
        removed=[EntryChange(i, before[i][0]) for i in before if i not in after and i not in gone],
        tombstoned=sorted(stones_after - stones_before),
        changed=[
            EntryChange(i, after[i][0], _differ(before[i][1], after[i][1]))
            for i in after
            if i in before and before[i][1] != after[i][1]
        ],
        id_changes=[EntryChange(i, after[i][0], old_id=o) for i, o in renamed.items()],
        entries=len(after),
    )
    return replace(preview, refused=too_many(len(preview.id_changes), len(after), config))


def _differ(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k)))


Entries = dict[str, tuple[str, dict[str, str]]]


def _read(path: Path | None) -> tuple[Entries, set[str]]:
    """A published feed's entries, id -> (title, element name -> its serialised
    value(s)), and the refs of its RFC 6721 ``at:deleted-entry`` elements."""
    if path is None:
        return {}, set()
    data = path.read_bytes()
    if path.suffix == ".json":
        try:
            items = json.loads(data).get("items", [])
        except (ValueError, AttributeError):
            return {}, set()
        entries = {
            str(item.get("id")): (
                str(item.get("title", "")),
                {k: json.dumps(v, sort_keys=True) for k, v in item.items()},
            )
            for item in items
            if isinstance(item, dict)
        }
        return entries, set()
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return {}, set()
    out: Entries = {}
    for item in _items(root):
        parts: dict[str, list[str]] = {}
        for child in item:
            if isinstance(child.tag, str):
                local = etree.QName(child).localname
                # Exclusive C14N: only the namespaces the element uses, so a feed that
                # gains a namespace (a first tombstone) does not change every entry.
                text = etree.tostring(child, method="c14n", exclusive=True).decode()
                parts.setdefault(local, []).append(text)
        id_ = item.findtext(f"{_ATOM}id") or item.findtext("guid") or item.findtext("link") or ""
        title = item.findtext(f"{_ATOM}title") or item.findtext("title") or ""
        out[id_.strip()] = (title.strip(), {k: "\n".join(v) for k, v in parts.items()})
    return out, {e.get("ref", "") for e in root.iter(f"{{{AT_NS}}}deleted-entry")}


def _items(root: Any) -> Iterator[Any]:
    yield from root.iterfind(f"{_ATOM}entry")
    yield from root.iterfind("channel/item")


__all__ = ["EntryChange", "FeedPreview", "Plan", "as_dict", "as_lines", "plan"]
