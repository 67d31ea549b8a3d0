"""The publish stage, :func:`publish`: plan, skip, prepare, serialise, write
(the package docstring has the sequence and the output layout)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import build_id
from ..config import FILENAMES, Config, Format, Output, Podcast, Site
from ..model import Alternate, Enclosure, Entry, Head, Person, Provenance
from ..parallel import Failed, Pool
from ..text import strip_xml_illegal
from .plan import (
    FeedOf,
    FeedPlan,
    category_title,
    feed_url,
    plan,
    to_uri,
)
from .serialise import PARALLEL_ENTRIES, Extras, serialise_feeds, serialise_share, shares
from .validate import Violation, check_file
from .write import FileStamp, write_files

Render = Callable[[Entry], Entry]

OPML_NAME = "index.opml"
# The format index.opml points readers at, most widely supported first.
_OPML_PREFERENCE: tuple[Format, ...] = ("rss", "atom", "json")


@dataclass(frozen=True, slots=True)
class PublishReport:
    written: list[str]  # paths relative to output.dir, POSIX
    unchanged: list[str]
    removed: list[str]
    stripped_chars: int  # XML-illegal characters removed from the published text
    feeds: list[Planned]  # as published: rendered entries, cleaned titles (skipped: as planned)
    stamps: dict[str, FileStamp] = field(default_factory=dict)  # for the next publish
    skipped: list[str] = field(default_factory=list)  # not even serialised: inputs unchanged
    rejected: list[Violation] = field(default_factory=list)  # failed the gate: not published


def _default_render(entry: Entry) -> Entry:
    # Imported on first use: a build whose entries are all rendered (remote
    # feeds) never loads the Markdown machinery.
    from ..render import render

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
            episode=None
            if entry.episode is None
            else replace(entry.episode, image=self.url(entry.episode.image)),
            alternates=tuple(
                Alternate(self.url(a.link), self.url(a.feed), self.opt(a.title))
                for a in entry.alternates
            ),
        )


@dataclass(frozen=True, slots=True)
class _Prepared:
    ready: list[FeedPlan]  # to serialise: rendered, cleaned entries
    feeds: list[Planned]  # every feed (skipped ones as planned)
    site: Site  # cleaned
    opml: bytes
    stripped: int
    keys: dict[str, str]  # every published file -> the hash of its inputs
    skipped: list[str]
    hubs: tuple[str, ...] = ()  # WebSub hubs every feed names
    podcast: Podcast | None = None


Skip = Callable[[str, str], bool]  # (relative path, inputs key) -> already on disk?


# A feed as the publisher takes it: of entries, or, in a feed the caller
# found up to date (:func:`up_to_date`), of heads too (never serialised).
Planned = FeedOf[Entry | Head]


def _feed_key(
    feed: Planned, config: Config, digests: dict[str, str], extra: object = None
) -> str | None:
    """A hash of everything a feed file is made from; equal keys give equal bytes.
    ``digests``: entry id -> content hash, those known already (filled in here);
    ``extra``: anything else its files show (the top page: every category).
    None when an entry is a head whose hash is not among ``digests``."""
    h = hashlib.sha256()
    settings = (
        build_id(),
        config.site,
        config.output,
        config.websub,
        config.podcast,
        feed.slug,
        feed.category,
        feed.title,
        feed.chain,
        feed.tombstones,
        extra,
    )
    h.update(repr(settings).encode("utf-8"))
    for entry in feed.entries:
        digest = digests.get(entry.id)
        if digest is None:
            if not isinstance(entry, Entry):
                return None
            digest = digests[entry.id] = entry.content_hash()
        h.update(f"{entry.id}\0{digest}\0".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _keyed(
    plans: Sequence[Planned], archives: Iterable[Planned], config: Config, digests: dict[str, str]
) -> Iterator[tuple[Planned, list[str], str | None]]:
    """Each feed (``plans``, then ``archives``), its files and their inputs' key."""
    output = config.output
    listed = [(p.slug, p.category) for p in plans] if output.pages else None
    for p in [*plans, *archives]:
        key = _feed_key(p, config, digests, listed if p.slug is None else None)
        yield p, feed_files(output, p), key


def up_to_date(
    plans: Sequence[Planned],
    archives: Iterable[Planned],
    config: Config,
    previous: Mapping[str, FileStamp],
    hashes: Mapping[str, str],
) -> set[str]:
    """The files of ``plans`` and ``archives`` that are on disk as the last
    publish (its ``stamps``: ``previous``) left them, made from the same
    inputs: :func:`publish` need not make them again, nor their entries be
    rendered. Planned on heads, a feed is up to date only when ``hashes``
    has every head's hash."""
    root = config.output.dir
    fresh: set[str] = set()
    for _, rels, key in _keyed(plans, archives, config, dict(hashes)):
        if key is not None and all(_on_disk(root, previous, rel, key) for rel in rels):
            fresh.update(rels)
    return fresh


def _on_disk(root: Path, previous: Mapping[str, FileStamp], rel: str, key: str) -> bool:
    """Whether ``rel`` is on disk as the last publish left it, made from ``key``."""
    stamp = previous.get(rel)
    return (
        stamp is not None and stamp.key == key and _stat(root / rel) == (stamp.size, stamp.mtime_ns)
    )


def prepare_entries(entries: Iterable[Entry], render: Render) -> tuple[dict[str, Entry], int]:
    """Each entry rendered (unless it already is) and cleaned, by its id as given,
    and how many XML-illegal characters were stripped.

    Rendering is most of a cold publish; this is the one place it happens,
    each entry independently of the others.
    """
    clean = _Cleaner()
    prepared = {e.id: clean.entry(e if e.is_rendered else render(e)) for e in entries}
    return prepared, clean.stripped


def _prepare_feeds(
    entries: Iterable[Entry],
    config: Config,
    render: Render | None,
    skip: Skip | None = None,
    plans: Sequence[Planned] | None = None,
    hashes: Mapping[str, str] | None = None,
    archives: Iterable[Planned] = (),
) -> _Prepared:
    """Plan, skip what is up to date, prepare the rest's entries; all but
    serialising. ``archives``: archive pages, published beside ``plans`` but
    in no index (OPML, the top page)."""
    output = config.output
    if plans is None:
        plans = list(plan(entries, output, config.site))

    keys: dict[str, str] = {}
    digests: dict[str, str] = dict(hashes or {})  # of the entries as given, before rendering
    todo: list[Planned] = []
    skipped: list[str] = []
    for p, rels, key in _keyed(plans, archives, config, digests):
        if key is None:
            raise ValueError(f"{p.path('')}: a feed to publish holds a head with no hash")
        keys.update((rel, key) for rel in rels)
        if skip is not None and all(skip(rel, key) for rel in rels):
            skipped.extend(rels)
        else:
            todo.append(p)

    clean = _Cleaner()
    site = clean.site(config.site)
    # Each entry once however many feeds it is in; entries no feed reaches
    # (beyond every limit), or only feeds that are up to date, never at all.
    unique: dict[str, Entry] = {}
    for p in todo:
        for entry in p.entries:
            if not isinstance(entry, Entry):  # only a feed up_to_date found so holds heads
                raise ValueError(f"{p.path('')}: a feed to publish holds an entry not read")
            unique.setdefault(entry.id, entry)
    prepared, stripped = prepare_entries(unique.values(), render or _default_render)

    from .opml import Outline, opml

    outlines: list[Outline] = []
    feeds: list[Planned] = []
    ready: list[FeedPlan] = []
    rendered = {id(p) for p in todo}
    for p in [*plans, *archives]:
        title = site.title if p.category is None else category_title(site, p.category)
        feed: Planned = replace(p, title=title)
        if id(p) in rendered:
            entries = tuple(prepared[e.id] for e in p.entries)
            made = FeedOf(p.slug, p.category, title, entries, p.updated, p.chain, p.tombstones)
            ready.append(made)
            feed = made
        if p.chain is not None and p.chain.page > 0:
            continue  # an archive page: in no index
        feeds.append(feed)
        fmt = next(f for f in _OPML_PREFERENCE if f in output.formats)
        outlines.append(
            Outline(feed.title, feed_url(site, output, feed.path(FILENAMES[fmt])), site.url)
        )
    owner = site.author.name if site.author is not None else None
    index = opml(site.title, outlines, owner=owner)
    keys[OPML_NAME] = hashlib.sha256(index).hexdigest()
    from .stylesheet import STYLESHEET_NAME, published, stylesheet

    if published(output):
        keys[STYLESHEET_NAME] = hashlib.sha256(stylesheet(output)).hexdigest()
    hubs = tuple(clean.url(hub) or hub for hub in config.websub.hub)
    stripped += clean.stripped
    return _Prepared(ready, feeds, site, index, stripped, keys, skipped, hubs, config.podcast)


def _serialised(
    prepared: _Prepared,
    output: Output,
    pool: Pool | None = None,
    verdicts: dict[str, list[Violation]] | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Every file to write and its bytes, each serialised once (the stylesheet,
    then index.opml last), a share of the feeds at a time: a full-history
    build's feeds are hundreds of megabytes. With many entries and a pool,
    shares are serialised in its worker processes, which also run the publish
    gate on their files (into ``verdicts``, by path)."""
    site = prepared.site
    categories = tuple(
        (f.slug, f.category or f.title) for f in prepared.feeds if f.slug is not None
    )
    extras = Extras(prepared.hubs, prepared.podcast, categories)
    parts = shares(prepared.ready, 1 if pool is None else pool.size)
    many = sum(len(f.entries) for f in prepared.ready) >= PARALLEL_ENTRIES
    if pool is None or not many or len(parts) < 2:
        for share in parts:
            yield from serialise_feeds(share, site, output, extras)
    else:
        done = pool.map(serialise_share, [(share, site, output, extras) for share in parts])
        for share, files in zip(parts, done, strict=True):
            if isinstance(files, Failed):
                yield from serialise_feeds(share, site, output, extras)  # here: its error is raised
                continue
            for rel, data, found in files:
                if verdicts is not None:
                    verdicts[rel] = found
                yield rel, data
    from .stylesheet import STYLESHEET_NAME, published, stylesheet

    if published(output):
        yield STYLESHEET_NAME, stylesheet(output)
    yield OPML_NAME, prepared.opml


def _names(output: Output, feed: Planned | None = None) -> list[str]:
    """The files of one feed (an archive page: its XML formats only)."""
    archive = feed is not None and feed.chain is not None and feed.chain.page > 0
    names = [FILENAMES[fmt] for fmt in output.formats if not (archive and fmt == "json")]
    return [*names, "index.html"] if output.pages and not archive else names  # (pages.PAGE_NAME)


def feed_files(output: Output, feed: Planned) -> list[str]:
    """A feed's files, relative to output.dir."""
    return [feed.path(name) for name in _names(output, feed)]


def render_outputs(
    entries: Iterable[Entry], config: Config, render: Render | None = None
) -> dict[str, bytes]:
    """Every output file as exact bytes, keyed by POSIX path relative to output.dir; no I/O."""
    return dict(_serialised(_prepare_feeds(entries, config, render), config.output))


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
    plans: Sequence[Planned] | None = None,
    hashes: Mapping[str, str] | None = None,
    pool: Pool | None = None,
    archives: Sequence[Planned] | None = None,
    fresh: Collection[str] | None = None,
) -> PublishReport:
    """Plan, render, serialise and write every feed; only changed files are rewritten.

    ``render`` turns an unrendered entry (``entry.body``) into HTML; it
    defaults to ``render.render``. ``previous`` is the ``stamps`` of the
    last publish: a feed whose inputs are unchanged and whose files are on
    disk as that publish left them is not rendered or serialised again.
    ``plans`` (``plan(entries, ...)``, when the caller has it) and ``hashes``
    (entry id -> ``Entry.content_hash()``, those the caller knows) save
    doing that work again. ``pool``: worker processes that may serialise feeds.
    ``archives``: RFC 5005 archive pages (``history.follow``) to publish too.
    ``fresh``: the files :func:`up_to_date` found so (not looked at again);
    only their feeds may be planned on heads.
    Every changed file passes the validation gate (``validate.py``) first;
    one that fails is not published (``rejected``), the others are.
    Raises PublishError naming the path when a file cannot be written.
    """
    root = config.output.dir
    skip: Skip | None = None
    if fresh is not None:
        up = fresh

        def skip(rel: str, key: str) -> bool:
            return rel in up

    elif previous:
        old = previous

        def skip(rel: str, key: str) -> bool:
            return _on_disk(root, old, rel, key)

    result = _prepare_feeds(entries, config, render, skip, plans, hashes, archives or ())
    verdicts: dict[str, list[Violation]] = {}  # files the workers checked already

    def gate(rel: str, data: bytes) -> list[Violation]:
        found = verdicts.pop(rel, None)
        return check_file(rel, data) if found is None else found

    written = write_files(
        root, _serialised(result, config.output, pool, verdicts), keep=result.skipped, gate=gate
    )
    refused = {v.path for v in written.rejected}
    stamps: dict[str, FileStamp] = {}
    for rel, key in result.keys.items():
        if rel in refused:
            continue  # the next publish makes it again
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
        rejected=written.rejected,
    )


__all__ = [
    "FILENAMES",
    "OPML_NAME",
    "FeedPlan",
    "FileStamp",
    "PublishReport",
    "feed_files",
    "prepare_entries",
    "publish",
    "render_outputs",
    "up_to_date",
]
