"""Atom 1.0 and RSS 2.0 documents, written by feedgen.

:class:`FeedWriter` is the one entry point: one per publish, one call of
:meth:`FeedWriter.xml` per document. Where the two formats differ is in
two functions, :func:`_channel` for the feed and :func:`_feed_entry` for an
entry (pelican's ``_add_item_to_the_feed`` shape), so a reader sees at once
what RSS loses (one enclosure, one author with an e-mail) and what Atom adds
(``<source>``, per-entry language). What feedgen cannot say is in our
extension, :mod:`.feedgen_ext`; feedgen's ``media`` extension writes image
thumbnails, its ``dc`` extension RSS's ``dc:creator``.

Callers hand in *prepared* data: entries already rendered, every string free
of XML-illegal characters and every URL percent-encoded. Nothing here reads
the clock: every date feedgen would default to "now" (feed ``updated``,
``lastBuildDate``, an entry's ``updated``) is set, from the feed's newest
entry and the entries' own dates, and the generator carries no version, so
the same feed gives the same bytes on every run and every machine.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any, Literal

from feedgen.entry import FeedEntry
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.ext.media import MediaEntryExtension, MediaExtension
from feedgen.ext.podcast import PodcastExtension
from feedgen.ext.podcast_entry import PodcastEntryExtension
from feedgen.feed import FeedGenerator

from ..config import Podcast, Site
from ..model import Entry, Person, shown_title
from .feedgen_ext import FeedwrightEntryExtension, FeedwrightExtension, Source
from .plan import FeedPlan, entry_terms, entry_texts, excerpt, html_to_text

XmlKind = Literal["atom", "rss"]
ContentMode = Literal["full", "summary"]

MEDIA_TYPES: dict[XmlKind, str] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
}
GENERATOR = "feedwright"


class _Zulu(datetime):
    """A UTC time that feedgen writes as ``2024-03-01T08:00:00Z``.

    feedgen writes Atom dates with ``isoformat()``, which spells UTC
    ``+00:00``; ``Z`` is the form feeds have always had (RFC 3339 allows
    both), so a file does not change, and readers fetch it again, only for
    that. RSS dates are feedgen's RFC 822 either way.
    """

    __slots__ = ()

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        text = super().isoformat(sep, timespec)
        return text[:-6] + "Z" if text.endswith("+00:00") else text


def _utc(dt: datetime) -> datetime:
    return _Zulu.combine(dt.date(), dt.timetz())


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
_URN = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{1,31}:[^\s]+$", re.I)


def atom_id(value: str) -> str:
    """An Atom id must be an absolute IRI; a remote guid like ``12345`` or ``urn:x``
    is not. Such ids are published as a name-based UUID URN of the original: the
    same id always gives the same URN, so readers still never see a duplicate."""
    import uuid

    lower = value.lower()
    if lower.startswith("urn:uuid:"):
        try:
            uuid.UUID(value[9:])
        except ValueError:
            pass
        else:
            return value
    elif _URI.match(value) and (not lower.startswith("urn:") or _URN.match(value)):
        return value
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, value)}"


class FeedWriter:
    """The Atom and RSS documents of one publish (one site, one content mode).

    Each entry becomes a feedgen ``FeedEntry`` once per format, however many
    feeds it is in (the combined feed and each of its categories), and that
    one object is added to every ``FeedGenerator`` that needs it: feedgen
    builds the entry's elements from it for each document, and the work of
    filling it (feedgen checks and copies every value, and sets up its
    extensions) is done once rather than once per feed. (An RSS item that is
    no episode but has an enclosure is made twice on a podcast site: without
    its enclosure for the feeds that are podcasts, with it for the others.)
    A writer lives as long as one publish: the entries it has seen stay
    alive with it.
    """

    def __init__(
        self,
        site: Site,
        content: ContentMode = "full",
        *,
        hubs: tuple[str, ...] = (),
        podcast: Podcast | None = None,
    ) -> None:
        self.site = site
        self.content = content
        self.hubs = hubs  # WebSub hubs, named by every document
        self.podcast = podcast  # a feed holding episodes is a podcast (RSS: itunes tags)
        # By format and object identity (the entry is kept alive beside its
        # FeedEntry): two entries whose ids cleaned to the same text stay apart.
        # ``bare``: the entry as a podcast's item that is no episode (no enclosure).
        self._entries: dict[tuple[XmlKind, int, bool], tuple[Entry, Any]] = {}

    def xml(
        self,
        kind: XmlKind,
        feed: FeedPlan,
        *,
        self_url: str,
        stylesheet: str | None = None,
        links: tuple[tuple[str, str], ...] = (),
    ) -> bytes:
        """One Atom or RSS document for ``feed`` (prepared entries, newest first);
        ``stylesheet``: the href of its ``<?xml-stylesheet?>``, if any; ``links``:
        (rel, URL) of its RFC 5005 archive chain. An archive page names no hubs
        (it never changes)."""
        archive = feed.chain is not None and feed.chain.page > 0
        hubs = () if archive else self.hubs
        fg = _channel(kind, feed, self.site, self_url, hubs, links)
        ext: FeedwrightExtension = fg.feedwright
        ext.stylesheet = stylesheet
        ext.archive = archive
        ext.tombstones = tuple(
            (atom_id(ref) if kind == "atom" else ref, _utc(when).isoformat())
            for ref, when in feed.tombstones
        )
        podcast = self.podcast if kind == "rss" else None
        is_podcast = False
        if podcast is not None and any(e.episode is not None for e in feed.entries):
            _podcast(fg, podcast, self.site)
            is_podcast = True
        titles = [feed.title]
        for entry in feed.entries:
            # Podcast apps take every item with an <enclosure> for an episode:
            # in a podcast, an item that is none has no enclosure (its images
            # are still Media RSS, as everywhere).
            bare = is_podcast and entry.episode is None and bool(entry.enclosures)
            fe = self._entry(kind, entry, bare)
            fg.add_entry(fe, order="append")
            titles.append(fe.title())
        out: bytes
        if kind == "atom":
            out = fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
        else:
            out = fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
            if any("&" in t or "<" in t for t in titles):
                out = _plain_text_refs(out)  # a copy: not made for feeds that need none
        return out

    def _entry(self, kind: XmlKind, entry: Entry, bare: bool = False) -> Any:
        key = (kind, id(entry), bare)
        found = self._entries.get(key)
        if found is None:
            fe = _feed_entry(kind, entry, self.site, self.content, enclosure=not bare)
            if kind == "rss" and self.podcast is not None:
                _episode(fe, entry)
            found = self._entries[key] = (entry, fe)
        return found[1]


_RSS_TITLE = re.compile(rb"<title>([^<]*)</title>")


def _plain_text_refs(rss: bytes) -> bytes:
    """``&`` and ``<`` in RSS titles as ``&#x26;``/``&#x3C;``, the same characters.

    RSS never said whether a title is text or HTML; these references are the
    one spelling every reader decodes to the same plain text (the RSS
    Advisory Board's best practice; the W3C validator warns about ``&amp;``).
    lxml always writes ``&amp;``/``&lt;``, so they are respelled in its output:
    a ``<title>`` holds text only, and its text has no other markup.
    """

    def refs(match: re.Match[bytes]) -> bytes:
        text = match.group(1)
        if b"&" not in text:
            return match.group(0)
        text = text.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")
        return b"<title>" + text + b"</title>"

    return _RSS_TITLE.sub(refs, rss)


def _person(person: Person) -> dict[str, str]:
    data = {"name": person.name}
    if person.email:
        data["email"] = person.email
    if person.uri:
        data["uri"] = person.uri
    return data


def _channel(
    kind: XmlKind,
    feed: FeedPlan,
    site: Site,
    self_url: str,
    hubs: tuple[str, ...] = (),
    links: tuple[tuple[str, str], ...] = (),
) -> Any:
    """A FeedGenerator holding everything of ``feed`` but its entries."""
    fg = FeedGenerator()
    # By class, as load_extension("media") would but without its import of a
    # module "feedgen.ext.media_entry" that does not exist.
    fg.register_extension("media", MediaExtension, MediaEntryExtension)
    if kind == "rss":
        # dc:creator for authors RSS's <author> cannot say
        fg.register_extension("dc", DcExtension, DcEntryExtension)
    fg.register_extension("feedwright", FeedwrightExtension, FeedwrightEntryExtension)

    fg.id(self_url)
    fg.title(feed.title)
    if kind == "atom":
        # The site first: readers that take a feed's first <link> for its home
        # page (@extractus/feed-extractor) would show the feed's own URL.
        fg.link(href=site.url, rel="alternate")
        fg.link(href=self_url, rel="self", type=MEDIA_TYPES[kind])
        for hub in hubs:
            fg.link(href=hub, rel="hub")
        for rel, href in links:
            fg.link(href=href, rel=rel)
    else:
        fg.link(href=self_url, rel="self", type=MEDIA_TYPES[kind])
        fg.feedwright.hubs = hubs  # feedgen's RSS keeps only the self link
        fg.feedwright.links = links
        fg.link(href=site.url, rel="alternate")  # last: feedgen makes the last link RSS's <link>
    fg.generator(GENERATOR)
    fg.updated(_utc(feed.updated))  # also lastBuildDate: the newest entry, never the clock
    if site.language:
        fg.language(site.language)
    if feed.category is not None:
        fg.category(term=feed.category)

    if kind == "atom":
        # Atom requires an author for every entry; a feed-level one covers them all.
        fg.author(_person(site.author or Person(name=site.title)))
        if site.description:
            fg.subtitle(site.description)
    else:
        # RSS requires a non-empty channel description.
        fg.description(site.description or feed.title)
        if site.author is not None and site.author.email:
            fg.managingEditor(f"{site.author.email} ({site.author.name})")
    return fg


def _podcast(fg: Any, podcast: Podcast, site: Site) -> None:
    """The iTunes channel tags: ``fg`` is a podcast (it holds episodes)."""
    fg.register_extension("podcast", PodcastExtension, PodcastEntryExtension)
    fg.podcast.itunes_author(site.author.name if site.author is not None else site.title)
    fg.podcast.itunes_image(podcast.image)
    category = {"cat": podcast.category[0]}
    if len(podcast.category) > 1:
        category["sub"] = podcast.category[1]
    fg.podcast.itunes_category(category)
    owner = podcast.owner or site.author
    if owner is not None and owner.email:
        fg.podcast.itunes_owner(name=owner.name, email=owner.email)
    fg.podcast.itunes_type(podcast.type)
    fg.feedwright.explicit = podcast.explicit


def _episode(fe: Any, entry: Entry) -> None:
    """An RSS item's iTunes tags (feedgen's podcast extension, and our explicit)."""
    fe.register_extension("podcast", PodcastEntryExtension, atom=False)
    episode = entry.episode
    if episode is None:
        return
    if episode.duration is not None:
        fe.podcast.itunes_duration(str(episode.duration))
    if episode.episode is not None:
        fe.podcast.itunes_episode(episode.episode)
    if episode.season is not None:
        fe.podcast.itunes_season(episode.season)
    if episode.image is not None:
        fe.podcast.itunes_image(episode.image)
    ext: FeedwrightEntryExtension = fe.feedwright
    ext.explicit = episode.explicit


def _title(entry: Entry) -> str:
    """Both formats need a non-empty title; remote entries sometimes have none."""
    if entry.title.strip():
        return entry.title
    text = excerpt(html_to_text(entry.summary or entry.content or ""), 80)
    return text or shown_title(entry)


def _feed_entry(
    kind: XmlKind, entry: Entry, site: Site, mode: ContentMode, *, enclosure: bool = True
) -> Any:
    """``entry`` as a feedgen FeedEntry for ``kind`` documents, with our extensions;
    ``enclosure``: False for an RSS item that must have none (a podcast's non-episode)."""
    fe = FeedEntry()
    # The same extensions, in the same order, as _channel registers: feedgen
    # calls them in this order, and skips them when the entry joins a feed.
    # By class: FeedEntry.load_extension("media") first tries to import a
    # module "feedgen.ext.media_entry", and a failing import searches every
    # folder of sys.path again each time, for every entry and extension.
    fe.register_extension("media", MediaEntryExtension)
    if kind == "rss":
        fe.register_extension("dc", DcEntryExtension)
    fe.register_extension("feedwright", FeedwrightEntryExtension)
    summary, body = entry_texts(entry, mode)
    title = _title(entry)
    fe.title(title)
    if entry.link:
        fe.link(href=entry.link, rel="alternate")
    fe.published(_utc(entry.published))
    fe.updated(_utc(entry.updated))
    terms = entry_terms(entry)
    if terms:
        fe.category([{"term": t} for t in terms])

    if kind == "atom":
        ext: FeedwrightEntryExtension = fe.feedwright
        fe.id(atom_id(entry.id))
        # The same article elsewhere (bestcopy.py).
        ext.related = tuple(
            dict.fromkeys(a.link for a in entry.alternates if a.link and a.link != entry.link)
        )
        if body is None and not entry.link:
            # Atom: an entry without an alternate link must carry content.
            body = entry.content or summary or html.escape(title, quote=False)
        if body is not None:
            fe.content(body, type="html")
        if summary is not None:
            fe.summary(summary, type="html")
        if entry.authors:
            fe.author([_person(a) for a in entry.authors])
        ext.enclosures = entry.enclosures
        if entry.language and entry.language != site.language:
            ext.language = entry.language
        if entry.source is not None:
            prov = entry.source
            ext.source = Source(
                id=atom_id(prov.id or prov.url),
                url=prov.url,
                # The origin feed changed no earlier than this entry did: the
                # best deterministic value we have for <source><updated>.
                updated=_utc(entry.updated),
                title=prov.title,
                link=prov.link,
            )
    else:
        fe.guid(entry.id, permalink=entry.link is not None and entry.id == entry.link)
        description = summary if summary is not None else body
        if description is not None:
            fe.description(description)
        if body is not None:
            fe.content(body)  # content:encoded: the full text, beside the description
        # RSS <author> is one e-mail address. Anything else (no e-mail, several
        # authors) is said with dc:creator alone: validators flag an item with both.
        if len(entry.authors) == 1 and entry.authors[0].email:
            fe.author(_person(entry.authors[0]))
        else:
            for person in entry.authors:
                fe.dc.dc_creator(person.name)
        if entry.enclosures and enclosure:
            # RSS allows one enclosure per item: the first that is not an
            # image (images are Media RSS below), else the first.
            first = next((e for e in entry.enclosures if e not in entry.images), None)
            first = first or entry.enclosures[0]
            fe.enclosure(first.url, str(first.length), first.type)
        if entry.source is not None:
            prov = entry.source
            fe.source(url=prov.url, title=prov.title or prov.link or prov.url)

    # Media RSS for images, in both formats: every image, the first as thumbnail.
    for i, image in enumerate(entry.images):
        media = {"url": image.url, "type": image.type, "medium": "image"}
        if image.length > 0:
            media["fileSize"] = str(image.length)
        fe.media.content(media, group=None)
        if i == 0:
            fe.media.thumbnail({"url": image.url}, group=None)
    return fe


__all__ = [
    "GENERATOR",
    "MEDIA_TYPES",
    "ContentMode",
    "FeedWriter",
    "XmlKind",
    "atom_id",
]
