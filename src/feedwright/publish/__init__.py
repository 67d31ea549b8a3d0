"""Publishers: entries in, Atom/RSS/JSON Feed/OPML files under ``output.dir`` out.

The sequence::

    plan        which feeds exist (combined + one per category), which entries each gets
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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from ..config import Config, Format, Site
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
class PublishReport:
    written: list[str]  # paths relative to output.dir, POSIX
    unchanged: list[str]
    removed: list[str]
    stripped_chars: int  # XML-illegal characters removed from the published text
    feeds: list[FeedPlan]  # as published: rendered entries, cleaned titles


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


def _render(entries: Iterable[Entry], config: Config, render: Render | None) -> _Rendered:
    output = config.output
    render = render or _default_render
    plans = plan(entries, output, config.site)

    clean = _Cleaner()
    site = clean.site(config.site)
    # Render each entry once however many feeds it is in; entries no feed
    # reaches (beyond every limit) are never rendered at all.
    prepared: dict[str, Entry] = {}
    for p in plans:
        for entry in p.entries:
            if entry.id not in prepared:
                done = entry if entry.is_rendered else render(entry)
                prepared[entry.id] = clean.entry(done)

    feeds: list[FeedPlan] = []
    for p in plans:
        feeds.append(
            replace(
                p,
                title=site.title if p.category is None else category_title(site, p.category),
                entries=tuple(prepared[e.id] for e in p.entries),
            )
        )

    files: dict[str, bytes] = {}
    outlines: list[Outline] = []
    for feed in feeds:
        for fmt in output.formats:
            rel = feed.path(FILENAMES[fmt])
            url = feed_url(site, output, rel)
            if fmt == "json":
                files[rel] = feed_json(feed, site, self_url=url, content=output.content)
            else:
                files[rel] = feed_xml(fmt, feed, site, self_url=url, content=output.content)
        fmt = next(f for f in _OPML_PREFERENCE if f in output.formats)
        outlines.append(
            Outline(feed.title, feed_url(site, output, feed.path(FILENAMES[fmt])), site.url)
        )
    owner = site.author.name if site.author is not None else None
    files[OPML_NAME] = opml(site.title, outlines, owner=owner)
    return _Rendered(files, feeds, clean.stripped)


def render_outputs(
    entries: Iterable[Entry], config: Config, render: Render | None = None
) -> dict[str, bytes]:
    """Every output file as exact bytes, keyed by POSIX path relative to output.dir; no I/O."""
    return _render(entries, config, render).files


def publish(
    entries: Iterable[Entry], config: Config, *, render: Render | None = None
) -> PublishReport:
    """Plan, render, serialise and write every feed; only changed files are rewritten.

    ``render`` turns an unrendered entry (``entry.body``) into HTML; it
    defaults to ``normalize.render``. Raises PublishError naming the path
    when a file cannot be written.
    """
    result = _render(entries, config, render)
    written = write_outputs(config.output.dir, result.files)
    return PublishReport(
        written=written.written,
        unchanged=written.unchanged,
        removed=written.removed,
        stripped_chars=result.stripped,
        feeds=result.feeds,
    )


__all__ = ["FILENAMES", "OPML_NAME", "FeedPlan", "PublishReport", "publish", "render_outputs"]
