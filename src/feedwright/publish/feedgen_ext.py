"""What feedgen cannot say, as one feedgen extension of ours.

feedgen (1.0) writes every Atom and RSS document; :mod:`.atom_rss` drives
it. This module adds what feedgen lacks, the way its own ``media`` and
``podcast`` extensions do: a :class:`~feedgen.ext.base.BaseExtension` for
the feed and a :class:`~feedgen.ext.base.BaseEntryExtension` for each
entry, registered together under the name ``feedwright``::

    fg.register_extension("feedwright", FeedwrightExtension, FeedwrightEntryExtension)
    fg.feedwright          # this feed's FeedwrightExtension
    fe.feedwright          # one entry's FeedwrightEntryExtension

feedgen calls ``extend_atom``/``extend_rss`` on the feed extension with the
document's root element (``<feed>``, ``<rss>``) before it appends the
entries, and on each entry's extension with the entry's element once
feedgen has written it. Extensions are called in the order they were
registered, so ``media`` (registered first) keeps its elements before ours.

Per entry, today:

- an Atom ``<source>`` that says where a remote entry came from: the origin
  feed's id, title, ``updated``, its home page and its own URL (feedgen
  writes only a title and a bare link);
- ``xml:lang`` on an Atom entry in another language than its feed;
- Atom enclosure links with their ``rel``, ``type`` and ``length``
  (feedgen 1.0's ``FeedEntry.atom_entry`` keeps only the ``href`` of an
  entry's links, so an enclosure given to feedgen would come out as a
  second alternate link).

Per entry, for podcasts: ``<itunes:explicit>true|false</itunes:explicit>``
(feedgen's ``podcast`` extension writes ``yes``/``no``/``clean``, which the
W3C validator now refuses); feedgen's extension writes the rest.

Feed level, where the planned features go (one attribute each on
:class:`FeedwrightExtension`, its namespace in :meth:`~FeedwrightExtension.extend_ns`
only while it is used, so documents never declare what they do not use):

- ``<?xml-stylesheet?>`` (``stylesheet``, done): a processing instruction
  before the root,
  ``root.addprevious(etree.ProcessingInstruction("xml-stylesheet", ...))``;
  lxml serialises a root's preceding siblings with the document.
- RFC 5005 archives (``archive``, ``links``, done): ``<fh:archive/>`` in
  archive documents. Their ``prev-archive``/``next-archive``/``current``
  links are feedgen's in Atom (``fg.link`` accepts those relations); RSS
  keeps only the ``self`` link, so the others become ``atom:link`` elements
  of the channel here.
- RFC 6721 tombstones (``tombstones``, done): ``<at:deleted-entry ref= when=>``
  children of the feed (Atom) or the channel (RSS, as an extension element).
- WebSub (``hubs``, done): ``<link rel="hub">`` is feedgen's in Atom, an ``atom:link`` of the
  channel here for RSS.
- ``<itunes:explicit>`` of a podcast's channel (``explicit``, done; the
  namespace is feedgen's ``podcast`` extension's).

Nothing here reads the clock or depends on the order of a dict we did not
build: the same data gives the same elements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from lxml.etree import ProcessingInstruction, SubElement

from ..model import Enclosure

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ATOM_LINK = "{http://www.w3.org/2005/Atom}link"
ITUNES_EXPLICIT = "{http://www.itunes.com/dtds/podcast-1.0.dtd}explicit"
FH_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
AT_NS = "http://purl.org/atompub/tombstones/1.0"  # RFC 6721


@dataclass(frozen=True, slots=True)
class Source:
    """An Atom ``<source>``: the feed a remote entry was taken from."""

    id: str  # an absolute IRI (atom_id of the origin's id, else of its URL)
    url: str  # the origin feed's own URL: link rel="self"
    updated: datetime  # when the origin feed last changed, as far as we know
    title: str | None = None
    link: str | None = None  # the origin's home page: link rel="alternate"


class FeedwrightExtension(BaseExtension):  # type: ignore[misc]
    """The feed half: set its attributes, feedgen calls ``extend_atom``/``extend_rss``."""

    def __init__(self) -> None:
        self.stylesheet: str | None = None  # the href of an XSLT stylesheet
        self.hubs: tuple[str, ...] = ()  # WebSub hubs (RSS; Atom's are feedgen's links)
        self.explicit: bool | None = None  # a podcast channel's itunes:explicit
        self.archive = False  # an RFC 5005 archive document: <fh:archive/>
        self.links: tuple[tuple[str, str], ...] = ()  # (rel, href): RSS atom:links
        self.tombstones: tuple[tuple[str, str], ...] = ()  # (ref, when): at:deleted-entry

    def extend_ns(self) -> dict[str, str]:
        ns = {"fh": FH_NS} if self.archive else {}
        return {**ns, "at": AT_NS} if self.tombstones else ns

    def extend_atom(self, feed: Any) -> Any:
        self._stylesheet(feed)
        self._history(feed)
        return feed

    def extend_rss(self, rss: Any) -> Any:
        self._stylesheet(rss)
        channel = rss[0]
        for hub in self.hubs:
            SubElement(channel, ATOM_LINK, rel="hub", href=hub)
        for rel, href in self.links:
            SubElement(channel, ATOM_LINK, rel=rel, href=href)
        if self.explicit is not None:
            SubElement(channel, ITUNES_EXPLICIT).text = _truth(self.explicit)
        self._history(channel)
        return rss

    def _history(self, parent: Any) -> None:
        if self.archive:
            SubElement(parent, f"{{{FH_NS}}}archive")
        for ref, when in self.tombstones:
            SubElement(parent, f"{{{AT_NS}}}deleted-entry", ref=ref, when=when)

    def _stylesheet(self, root: Any) -> None:
        if self.stylesheet:
            href = self.stylesheet.replace("&", "&amp;").replace('"', "&quot;")
            pi = ProcessingInstruction("xml-stylesheet", f'type="text/xsl" href="{href}"')
            root.addprevious(pi)


class FeedwrightEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """The entry half: set its attributes, feedgen calls ``extend_atom``."""

    def __init__(self) -> None:
        self.language: str | None = None  # xml:lang, when it differs from the feed's
        self.enclosures: tuple[Enclosure, ...] = ()  # Atom link rel="enclosure"
        self.source: Source | None = None
        self.explicit: bool | None = None  # an episode's itunes:explicit (RSS)
        # Atom link rel="related": other copies of the article (feedgen drops
        # the rel of an entry's links, so they are written here).
        self.related: tuple[str, ...] = ()

    def extend_atom(self, entry: Any) -> Any:
        if self.language:
            entry.set(XML_LANG, self.language)
        for enc in self.enclosures:
            link = SubElement(entry, "link", rel="enclosure", href=enc.url, type=enc.type)
            if enc.length > 0:
                link.set("length", str(enc.length))
        for href in self.related:
            SubElement(entry, "link", rel="related", href=href)
        if self.source is not None:
            _source(entry, self.source)
        return entry

    def extend_rss(self, item: Any) -> Any:
        # RSS says the rest of ours with feedgen alone (<source url>, one enclosure).
        if self.explicit is not None:
            SubElement(item, ITUNES_EXPLICIT).text = _truth(self.explicit)
        return item


def _truth(value: bool) -> str:
    return "true" if value else "false"


def _source(entry: Any, source: Source) -> None:
    element = SubElement(entry, "source")
    SubElement(element, "id").text = source.id
    if source.title:
        SubElement(element, "title").text = source.title
    SubElement(element, "updated").text = source.updated.isoformat()
    if source.link:
        SubElement(element, "link", rel="alternate", href=source.link)
    SubElement(element, "link", rel="self", href=source.url)


__all__ = [
    "ATOM_LINK",
    "AT_NS",
    "FH_NS",
    "ITUNES_EXPLICIT",
    "XML_LANG",
    "FeedwrightEntryExtension",
    "FeedwrightExtension",
    "Source",
]
