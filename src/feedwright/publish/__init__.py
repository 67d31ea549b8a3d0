"""Publishers: entries in, Atom/RSS/JSON Feed/OPML files under ``output.dir`` out.

The sequence, all of it in this process::

    plan        which feeds exist (combined + one per category), which entries each gets
    skip        a feed whose inputs (its entries' digests, the settings) are what
                produced the files now on disk is not rendered or serialised at all
    prepare     render each entry that reaches a feed still to write, once however
                many feeds it is in; strip XML-illegal characters from every
                string (counted); percent-encode URLs
    serialise   each output file exactly once, to bytes: feedgen for Atom and RSS
                (``render_outputs`` stops here)
                beside each feed its page (``pages.py``, ``output.pages``); once,
                the XSLT stylesheet the Atom and RSS files name (``stylesheet.py``)
    write       every changed file of the build or none (``write.write_files``);
                unchanged bytes are left alone, stale files of ours removed

Layout under ``output.dir``::

    atom.xml  rss.xml  [feed.json]  [index.html]   the combined feed (and its page,
                                                   which lists every category's)
    <slug>/atom.xml  <slug>/rss.xml  [<slug>/feed.json]  [<slug>/index.html]
    index.opml                                     every published feed
    [feed.xsl]                                     output.stylesheet
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from .. import build_id
from ..config import FILENAMES, Config, Format, Output, Podcast, Site
from ..model import Alternate, Enclosure, Entry, Person, Provenance
from ..parallel import Failed, Pool
from ..text import strip_xml_illegal
from .plan import (
    FeedPlan,
    category_title,
    entry_texts,
    excerpt,
    feed_url,
    html_to_text,
    plan,
    to_uri,
)
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
    feeds: list[FeedPlan]  # as published: rendered entries, cleaned titles (skipped: as planned)
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
    feeds: list[FeedPlan]  # every feed (skipped ones as planned)
    site: Site  # cleaned
    opml: bytes
    stripped: int
    keys: dict[str, str]  # every published file -> the hash of its inputs
    skipped: list[str]
    hubs: tuple[str, ...] = ()  # WebSub hubs every feed names
    podcast: Podcast | None = None


Skip = Callable[[str, str], bool]  # (relative path, inputs key) -> already on disk?


def _feed_key(feed: FeedPlan, config: Config, digests: dict[str, str], extra: object = None) -> str:
    """A hash of everything a feed file is made from; equal keys give equal bytes.
    ``digests``: entry id -> content hash, those known already (filled in here);
    ``extra``: anything else its files show (the top page: every category)."""
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
            digest = digests[entry.id] = entry.content_hash()
        h.update(f"{entry.id}\0{digest}\0".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


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
    plans: list[FeedPlan] | None = None,
    hashes: Mapping[str, str] | None = None,
    archives: Iterable[FeedPlan] = (),
) -> _Prepared:
    """Plan, skip what is up to date, prepare the rest's entries; all but
    serialising. ``archives``: archive pages, published beside ``plans`` but
    in no index (OPML, the top page)."""
    output = config.output
    if plans is None:
        plans = plan(entries, output, config.site)

    keys: dict[str, str] = {}
    digests: dict[str, str] = dict(hashes or {})  # of the entries as given, before rendering
    todo: list[FeedPlan] = []
    skipped: list[str] = []
    listed = [(p.slug, p.category) for p in plans] if output.pages else None
    for p in [*plans, *archives]:
        rels = [p.path(name) for name in _names(output, p)]
        key = _feed_key(p, config, digests, listed if p.slug is None else None)
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
            unique.setdefault(entry.id, entry)
    prepared, stripped = prepare_entries(unique.values(), render or _default_render)

    from .opml import Outline, opml

    outlines: list[Outline] = []
    feeds: list[FeedPlan] = []
    ready: list[FeedPlan] = []
    rendered = {id(p) for p in todo}
    for p in [*plans, *archives]:
        title = site.title if p.category is None else category_title(site, p.category)
        feed = replace(p, title=title)
        if id(p) in rendered:
            feed = replace(feed, entries=tuple(prepared[e.id] for e in p.entries))
            ready.append(feed)
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
    if output.stylesheet:
        from .stylesheet import STYLESHEET_NAME, stylesheet

        keys[STYLESHEET_NAME] = hashlib.sha256(stylesheet(output)).hexdigest()
    hubs = tuple(clean.url(hub) or hub for hub in config.websub.hub)
    stripped += clean.stripped
    return _Prepared(ready, feeds, site, index, stripped, keys, skipped, hubs, config.podcast)


# Below this many entries to write (all feeds together), worker processes
# cost more than they save.
PARALLEL_ENTRIES = 1000
# Entries per share of the feeds handed to one worker: shares come back as
# they are done, so a full-history build holds a few of them, not all.
_SHARE_ENTRIES = 2000


@dataclass(frozen=True, slots=True)
class Extras:
    """What a feed's files say besides its own entries; plain values, so it
    goes to the worker processes with them."""

    hubs: tuple[str, ...] = ()  # WebSub hubs every feed names
    podcast: Podcast | None = None  # feeds holding episodes are podcasts
    categories: tuple[tuple[str, str], ...] = ()  # every category feed's (slug, name): the top page


def serialise_feeds(
    feeds: list[FeedPlan], site: Site, output: Output, extras: Extras = Extras()
) -> list[tuple[str, bytes]]:
    """The files of ``feeds`` (prepared entries) and their bytes, in order
    (each feed's formats, then its page); a pure function of its arguments,
    so a worker process can run it."""
    from .archives import links
    from .atom_rss import FeedWriter  # (feedgen and lxml: only for a build that writes)
    from .json_feed import feed_json
    from .pages import PAGE_NAME, feed_page
    from .stylesheet import href

    hubs = extras.hubs
    xml = FeedWriter(site, output.content, hubs=hubs, podcast=extras.podcast)
    excerpt = _Excerpts(output.content)
    files: list[tuple[str, bytes]] = []
    for feed in feeds:
        archive = feed.chain is not None and feed.chain.page > 0
        for fmt in output.formats:
            if archive and fmt == "json":
                continue  # RFC 5005 is Atom's (and RSS's); JSON Feed has no archives
            rel = feed.path(FILENAMES[fmt])
            url = feed_url(site, output, rel)
            if fmt == "json":
                data = feed_json(feed, site, self_url=url, content=output.content, hubs=hubs)
            else:
                pi = href(rel) if output.stylesheet else None
                chain = () if feed.chain is None else links(feed.chain, FILENAMES[fmt])
                urls = tuple((name, feed_url(site, output, to)) for name, to in chain)
                data = xml.xml(fmt, feed, self_url=url, stylesheet=pi, links=urls)
            files.append((rel, data))
        if output.pages and not archive:
            top = extras.categories if feed.slug is None else ()
            files.append((feed.path(PAGE_NAME), feed_page(feed, site, output, excerpt, top)))
    return files


def _shares(feeds: list[FeedPlan], workers: int = 1) -> list[list[FeedPlan]]:
    """The feeds in consecutive shares: at most _SHARE_ENTRIES entries each, and
    at least two shares for each of ``workers`` (a slower core takes fewer)."""
    total = sum(len(f.entries) + 1 for f in feeds)
    limit = max(100, min(_SHARE_ENTRIES, total // (2 * workers)))
    shares: list[list[FeedPlan]] = [[]]
    size = 0
    for feed in feeds:
        if size >= limit:
            shares.append([])
            size = 0
        shares[-1].append(feed)
        size += len(feed.entries) + 1
    return shares


def _serialise_share(
    args: tuple[list[FeedPlan], Site, Output, Extras],
) -> list[tuple[str, bytes, list[Violation]]]:
    # Each file with what the publish gate finds in it: checked here, in the
    # worker, rather than one after another in the process that writes.
    return [(rel, data, check_file(rel, data)) for rel, data in serialise_feeds(*args)]


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
    shares = _shares(prepared.ready, 1 if pool is None else pool.size)
    many = sum(len(f.entries) for f in prepared.ready) >= PARALLEL_ENTRIES
    if pool is None or not many or len(shares) < 2:
        for share in shares:
            yield from serialise_feeds(share, site, output, extras)
    else:
        done = pool.map(_serialise_share, [(share, site, output, extras) for share in shares])
        for share, files in zip(shares, done, strict=True):
            if isinstance(files, Failed):
                yield from serialise_feeds(share, site, output, extras)  # here: its error is raised
                continue
            for rel, data, found in files:
                if verdicts is not None:
                    verdicts[rel] = found
                yield rel, data
    if output.stylesheet:
        from .stylesheet import STYLESHEET_NAME, stylesheet

        yield STYLESHEET_NAME, stylesheet(output)
    yield OPML_NAME, prepared.opml


_EXCERPT_HTML = 2000  # (as much as feed.xsl reads)


class _Excerpts:
    """Each entry's plain-text excerpt for the pages, once however many feeds it is in."""

    def __init__(self, content: Literal["full", "summary"]) -> None:
        self.content = content
        self.done: dict[int, str] = {}

    def __call__(self, entry: Entry) -> str:
        found = self.done.get(id(entry))
        if found is None:
            summary, body = entry_texts(entry, self.content)
            # The head of the HTML is enough for a 300-character excerpt (lxml
            # mends what the cut leaves open); a whole body is a parse for nothing.
            head = (summary or body or "")[:_EXCERPT_HTML]
            found = self.done[id(entry)] = excerpt(html_to_text(head), 300)
        return found


def _names(output: Output, feed: FeedPlan | None = None) -> list[str]:
    """The files of one feed (an archive page: its XML formats only)."""
    archive = feed is not None and feed.chain is not None and feed.chain.page > 0
    names = [FILENAMES[fmt] for fmt in output.formats if not (archive and fmt == "json")]
    return [*names, "index.html"] if output.pages and not archive else names  # (pages.PAGE_NAME)


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
    plans: list[FeedPlan] | None = None,
    hashes: Mapping[str, str] | None = None,
    pool: Pool | None = None,
    archives: list[FeedPlan] | None = None,
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
    Every changed file passes the validation gate (``validate.py``) first;
    one that fails is not published (``rejected``), the others are.
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
    "prepare_entries",
    "publish",
    "render_outputs",
]
