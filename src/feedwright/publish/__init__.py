"""Publishers: entries in, Atom/RSS/JSON Feed/OPML files under ``output.dir`` out.

The sequence::

    plan        which feeds exist (combined + one per category), which entries each gets
    skip        a feed whose inputs (its entries' content hashes, the settings) are
                what produced the file now on disk is not rendered at all
    prepare     render each entry that reaches some feed, once; strip XML-illegal
                characters from every string (counted); percent-encode URLs
    serialise   each output file exactly once, to bytes          (render_outputs)
    write       atomically, only files whose bytes changed; stale ones removed

Layout under ``output.dir``::

    atom.xml  rss.xml  [feed.json]             the combined feed
    <slug>/atom.xml  <slug>/rss.xml  [<slug>/feed.json]
    index.opml                                  every published feed
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import build_id
from ..config import Config, Format, Output, Site
from ..model import Enclosure, Entry, Person, Provenance
from ..text import strip_xml_illegal
from .atom_rss import feed_xml
from .json_feed import feed_json
from .opml import Outline, opml
from .plan import FeedPlan, category_title, feed_url, plan, to_uri
from .write import write_outputs

Render = Callable[[Entry], Entry]

FILENAMES: dict[Format, str] = {"atom": "atom.xml", "rss": "rss.xml", "json": "feed.json"}
OPML_NAME = "index.opml"
# The format index.opml points readers at, most widely supported first.
_OPML_PREFERENCE: tuple[Format, ...] = ("rss", "atom", "json")


@dataclass(frozen=True, slots=True)
class FileStamp:
    """What produced a published file, and the file as it was left on disk."""

    key: str  # hash of the feed's inputs
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class PublishReport:
    written: list[str]  # paths relative to output.dir, POSIX
    unchanged: list[str]
    removed: list[str]
    stripped_chars: int  # XML-illegal characters removed from the published text
    feeds: list[FeedPlan]  # as published: rendered entries, cleaned titles (skipped: as planned)
    stamps: dict[str, FileStamp] = field(default_factory=dict)  # for the next publish
    skipped: list[str] = field(default_factory=list)  # not even serialised: inputs unchanged


def _default_render(entry: Entry) -> Entry:
    # Imported on first use: a build whose entries are all rendered (remote
    # feeds) never loads the Markdown machinery.
    from ..normalize import render

    return render(entry)


class _Cleaner:
    """Strips XML-illegal characters from every string, counting them; encodes URLs."""

    def __init__(self) -> None:
        self.stripped = 0

    def text(self, value: str) -> str:
        cleaned, count = strip_xml_illegal(value)
        self.stripped += count
        return cleaned

    def opt(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    def url(self, value: str | None) -> str | None:
        return None if value is None else to_uri(self.text(value))

    def person(self, person: Person) -> Person:
        return Person(self.text(person.name), self.opt(person.email), self.url(person.uri))

    def people(self, people: Iterable[Person]) -> tuple[Person, ...]:
        cleaned = (self.person(p) for p in people)
        return tuple(p for p in cleaned if p.name.strip())

    def site(self, site: Site) -> Site:
        return replace(
            site,
            title=self.text(site.title),
            url=to_uri(self.text(site.url)),
            description=self.text(site.description),
            author=None if site.author is None else self.person(site.author),
            language=self.opt(site.language),
        )

    def entry(self, entry: Entry) -> Entry:
        source = entry.source
        return replace(
            entry,
            id=self.text(entry.id),
            title=self.text(entry.title),
            link=self.url(entry.link),
            authors=self.people(entry.authors),
            categories=tuple(self.text(c) for c in entry.categories),
            tags=tuple(self.text(t) for t in entry.tags),
            summary=self.opt(entry.summary),
            content=self.opt(entry.content),
            enclosures=tuple(
                Enclosure(to_uri(self.text(e.url)), self.text(e.type), e.length)
                for e in entry.enclosures
            ),
            source=None
            if source is None
            else Provenance(
                url=to_uri(self.text(source.url)),
                title=self.opt(source.title),
                link=self.url(source.link),
                id=self.opt(source.id),
            ),
            language=self.opt(entry.language),
        )


@dataclass(frozen=True, slots=True)
class _Rendered:
    files: dict[str, bytes]
    feeds: list[FeedPlan]
    stripped: int
    keys: dict[str, str]  # every published file -> the hash of its inputs
    skipped: list[str]


Skip = Callable[[str, str], bool]  # (relative path, inputs key) -> already on disk?


def _feed_key(feed: FeedPlan, config: Config, hashes: dict[str, str]) -> str:
    """A hash of everything a feed file is made from; equal keys give equal bytes."""
    h = hashlib.sha256()
    settings = (build_id(), config.site, config.output, feed.slug, feed.category, feed.title)
    h.update(repr(settings).encode("utf-8"))
    for entry in feed.entries:
        digest = hashes.get(entry.id)
        if digest is None:
            digest = hashes[entry.id] = entry.content_hash()
        h.update(digest.encode("ascii"))
    return h.hexdigest()


def _render(
    entries: Iterable[Entry], config: Config, render: Render | None, skip: Skip | None = None
) -> _Rendered:
    output = config.output
    render = render or _default_render
    plans = plan(entries, output, config.site)

    keys: dict[str, str] = {}
    hashes: dict[str, str] = {}
    todo: list[FeedPlan] = []
    skipped: list[str] = []
    for p in plans:
        rels = [p.path(FILENAMES[fmt]) for fmt in output.formats]
        key = _feed_key(p, config, hashes)
        keys.update((rel, key) for rel in rels)
        if skip is not None and all(skip(rel, key) for rel in rels):
            skipped.extend(rels)
        else:
            todo.append(p)

    clean = _Cleaner()
    site = clean.site(config.site)
    # Render each entry once however many feeds it is in; entries no feed
    # reaches (beyond every limit), or only feeds that are up to date, are
    # never rendered at all.
    prepared: dict[str, Entry] = {}
    for p in todo:
        for entry in p.entries:
            if entry.id not in prepared:
                done = entry if entry.is_rendered else render(entry)
                prepared[entry.id] = clean.entry(done)

    outlines: list[Outline] = []
    feeds: list[FeedPlan] = []
    ready: list[FeedPlan] = []
    rendered = {id(p) for p in todo}
    for p in plans:
        title = site.title if p.category is None else category_title(site, p.category)
        feed = replace(p, title=title)
        if id(p) in rendered:
            feed = replace(feed, entries=tuple(prepared[e.id] for e in p.entries))
            ready.append(feed)
        feeds.append(feed)
        fmt = next(f for f in _OPML_PREFERENCE if f in output.formats)
        outlines.append(
            Outline(feed.title, feed_url(site, output, feed.path(FILENAMES[fmt])), site.url)
        )
    files = _serialise_all(ready, site, output)
    owner = site.author.name if site.author is not None else None
    files[OPML_NAME] = opml(site.title, outlines, owner=owner)
    keys[OPML_NAME] = hashlib.sha256(files[OPML_NAME]).hexdigest()
    return _Rendered(files, feeds, clean.stripped, keys, skipped)


# Below this many entries to serialise, forking a second process costs more
# than it saves (a 10,000-post site with limit 20 has about 2,000).
PARALLEL_ENTRIES = 1000
_WORK: tuple[list[FeedPlan], Site, Output] | None = None  # inherited by forked workers


def _serialise(feed: FeedPlan, site: Site, output: Output) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for fmt in output.formats:
        rel = feed.path(FILENAMES[fmt])
        url = feed_url(site, output, rel)
        if fmt == "json":
            files[rel] = feed_json(feed, site, self_url=url, content=output.content)
        else:
            files[rel] = feed_xml(fmt, feed, site, self_url=url, content=output.content)
    return files


def _serialise_share(indexes: list[int]) -> dict[str, bytes]:
    assert _WORK is not None
    feeds, site, output = _WORK
    files: dict[str, bytes] = {}
    for i in indexes:
        files.update(_serialise(feeds[i], site, output))
    return files


def _serialise_all(feeds: list[FeedPlan], site: Site, output: Output) -> dict[str, bytes]:
    """Every feed file; serialising is the costliest step of a big publish, so
    with many entries the feeds are shared among forked processes (which
    inherit the rendered entries instead of receiving them pickled)."""
    global _WORK
    workers = min(os.cpu_count() or 1, 4)
    total = sum(len(f.entries) for f in feeds)
    # Forking a process that runs other threads (the daemon) could copy a held
    # lock into the child; there the feeds are serialised in this process.
    if (
        workers < 2
        or total < PARALLEL_ENTRIES
        or threading.active_count() > 1
        or "fork" not in mp.get_all_start_methods()
    ):
        files: dict[str, bytes] = {}
        for feed in feeds:
            files.update(_serialise(feed, site, output))
        return files
    shares: list[list[int]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for i in sorted(range(len(feeds)), key=lambda i: -len(feeds[i].entries)):
        k = loads.index(min(loads))
        shares[k].append(i)
        loads[k] += len(feeds[i].entries) + 1
    _WORK = (feeds, site, output)
    try:
        ctx = mp.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers - 1, mp_context=ctx) as pool:
            futures = [pool.submit(_serialise_share, share) for share in shares[1:]]
            done = _serialise_share(shares[0])
            for future in futures:
                done.update(future.result())
    finally:
        _WORK = None
    # The same order as a serial run, so nothing downstream depends on timing.
    order = [feed.path(FILENAMES[fmt]) for feed in feeds for fmt in output.formats]
    return {rel: done[rel] for rel in order}


def render_outputs(
    entries: Iterable[Entry], config: Config, render: Render | None = None
) -> dict[str, bytes]:
    """Every output file as exact bytes, keyed by POSIX path relative to output.dir; no I/O."""
    return _render(entries, config, render).files


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def publish(
    entries: Iterable[Entry],
    config: Config,
    *,
    render: Render | None = None,
    previous: Mapping[str, FileStamp] | None = None,
) -> PublishReport:
    """Plan, render, serialise and write every feed; only changed files are rewritten.

    ``render`` turns an unrendered entry (``entry.body``) into HTML; it
    defaults to ``normalize.render``. ``previous`` is the ``stamps`` of the
    last publish: a feed whose inputs are unchanged and whose files are on
    disk as that publish left them is not rendered or serialised again.
    Raises PublishError naming the path when a file cannot be written.
    """
    root = config.output.dir
    skip: Skip | None = None
    if previous:
        old = previous

        def skip(rel: str, key: str) -> bool:
            stamp = old.get(rel)
            return (
                stamp is not None
                and stamp.key == key
                and _stat(root / rel) == (stamp.size, stamp.mtime_ns)
            )

    result = _render(entries, config, render, skip)
    written = write_outputs(root, result.files, keep=result.skipped)
    stamps: dict[str, FileStamp] = {}
    for rel, key in result.keys.items():
        if rel in result.skipped and previous is not None:
            stamps[rel] = previous[rel]
        elif (st := _stat(root / rel)) is not None:
            stamps[rel] = FileStamp(key, *st)
    return PublishReport(
        written=written.written,
        unchanged=written.unchanged,
        removed=written.removed,
        stripped_chars=result.stripped,
        feeds=result.feeds,
        stamps=stamps,
        skipped=result.skipped,
    )


__all__ = [
    "FILENAMES",
    "OPML_NAME",
    "FeedPlan",
    "FileStamp",
    "PublishReport",
    "publish",
    "render_outputs",
]
