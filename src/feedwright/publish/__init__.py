"""Publishers: entries in, Atom/RSS/JSON Feed/OPML files under ``output.dir`` out.

The sequence::

    plan        which feeds exist (combined + one per category), which entries each gets
    skip        a feed whose inputs (its entries' content hashes, the settings) are
                what produced the file now on disk is not rendered at all
    prepare     render each entry that reaches some feed, once; strip XML-illegal
                characters from every string (counted); percent-encode URLs
                (many entries: shared among forked processes)
    serialise   each output file exactly once, to bytes          (render_outputs)
    write       atomically, only files whose bytes changed; stale ones removed
                (many entries: each forked process writes the files it serialised,
                once the manifest owns every path of the plan)

Layout under ``output.dir``::

    atom.xml  rss.xml  [feed.json]             the combined feed
    <slug>/atom.xml  <slug>/rss.xml  [<slug>/feed.json]
    index.opml                                  every published feed
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import build_id
from ..config import Config, Format, Output, Site
from ..model import Enclosure, Entry, Person, Provenance
from ..text import strip_xml_illegal
from .atom_rss import EntryMemo, feed_xml
from .json_feed import feed_json
from .opml import Outline, opml
from .plan import FeedPlan, category_title, feed_url, plan, to_uri
from .write import write_outputs

Render = Callable[[Entry], Entry]


def entry_digest(entry: Entry) -> str:
    return entry.content_hash()


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
class _Prepared:
    ready: list[FeedPlan]  # to serialise: rendered entries
    feeds: list[FeedPlan]
    site: Site  # cleaned
    opml: bytes
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
            digest = hashes[entry.id] = entry_digest(entry)
        h.update(digest.encode("ascii"))
    return h.hexdigest()


def _prepare_feeds(
    entries: Iterable[Entry], config: Config, render: Render | None, skip: Skip | None = None
) -> _Prepared:
    """Plan, skip what is up to date, render the rest's entries; everything but serialising."""
    output = config.output
    render = render or _default_render
    plans = plan(entries, output, config.site)

    keys: dict[str, str] = {}
    hashes: dict[str, str] = {}
    todo: list[FeedPlan] = []
    skipped: list[str] = []
    if skip is None:
        # Nothing to compare the keys with before rendering, so the entries'
        # hashes (half a second for 10,000) are taken in the rendering workers.
        todo = list(plans)
    else:
        for p in plans:
            rels = [p.path(FILENAMES[fmt]) for fmt in output.formats]
            key = _feed_key(p, config, hashes)
            keys.update((rel, key) for rel in rels)
            if all(skip(rel, key) for rel in rels):
                skipped.extend(rels)
            else:
                todo.append(p)

    clean = _Cleaner()
    site = clean.site(config.site)
    # Render each entry once however many feeds it is in; entries no feed
    # reaches (beyond every limit), or only feeds that are up to date, are
    # never rendered at all.
    unique: dict[str, Entry] = {}
    for p in todo:
        for entry in p.entries:
            unique.setdefault(entry.id, entry)
    prepared = _prepare_all(list(unique.values()), render, clean, hashes if skip is None else None)
    if skip is None:
        for p in plans:
            key = _feed_key(p, config, hashes)
            keys.update((p.path(FILENAMES[fmt]), key) for fmt in output.formats)

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
    owner = site.author.name if site.author is not None else None
    index = opml(site.title, outlines, owner=owner)
    keys[OPML_NAME] = hashlib.sha256(index).hexdigest()
    return _Prepared(ready, feeds, site, index, clean.stripped, keys, skipped)


def _files(prepared: _Prepared, output: Output) -> dict[str, bytes]:
    """Every file to write as bytes (index.opml last)."""
    files = _serialise_all(prepared.ready, prepared.site, output)
    files[OPML_NAME] = prepared.opml
    return files


def _prepare(entry: Entry, render: Render, clean: _Cleaner) -> Entry:
    return clean.entry(entry if entry.is_rendered else render(entry))


def _prepare_all(
    entries: list[Entry], render: Render, clean: _Cleaner, hashes: dict[str, str] | None = None
) -> dict[str, Entry]:
    """Each entry rendered (unless it already is) and cleaned, by id, in input order;
    with ``hashes``, each input entry's digest put there by its id."""
    if hashes is not None:
        hashes.update((e.id, entry_digest(e)) for e in entries)
    return {e.id: _prepare(e, render, clean) for e in entries}


def _serialise(
    feed: FeedPlan, site: Site, output: Output, memo: EntryMemo | None = None
) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for fmt in output.formats:
        rel = feed.path(FILENAMES[fmt])
        url = feed_url(site, output, rel)
        if fmt == "json":
            files[rel] = feed_json(feed, site, self_url=url, content=output.content)
        else:
            files[rel] = feed_xml(fmt, feed, site, self_url=url, content=output.content, memo=memo)
    return files


def _serialise_all(feeds: list[FeedPlan], site: Site, output: Output) -> dict[str, bytes]:
    """Every feed file, in plan order."""
    files: dict[str, bytes] = {}
    memo: EntryMemo = {}
    for feed in feeds:
        files.update(_serialise(feed, site, output, memo))
    return files


def render_outputs(
    entries: Iterable[Entry], config: Config, render: Render | None = None
) -> dict[str, bytes]:
    """Every output file as exact bytes, keyed by POSIX path relative to output.dir; no I/O."""
    return _files(_prepare_feeds(entries, config, render), config.output)


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

    result = _prepare_feeds(entries, config, render, skip)
    written = write_outputs(root, _files(result, config.output), keep=result.skipped)
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
