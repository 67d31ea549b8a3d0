"""Serialising: prepared feeds in, each output file's bytes out; pure
functions of their arguments, so worker processes can run them.

    serialise_feeds   a share of the feeds: each feed's formats (feedgen for Atom
                      and RSS, ``json_feed.py``), then its page (``pages.py``)
    shares            the feeds cut into shares for the worker processes
    serialise_share   one share in a worker, with the publish gate's verdict on
                      each file (``validate.check_file``)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config import FILENAMES, Output, Podcast, Site
from ..model import Entry
from .plan import FeedPlan, entry_texts, excerpt, feed_url, html_to_text
from .validate import Violation, check_file

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
    excerpt = Excerpts(output.content)
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


def shares(feeds: list[FeedPlan], workers: int = 1) -> list[list[FeedPlan]]:
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


def serialise_share(
    args: tuple[list[FeedPlan], Site, Output, Extras],
) -> list[tuple[str, bytes, list[Violation]]]:
    # Each file with what the publish gate finds in it: checked here, in the
    # worker, rather than one after another in the process that writes.
    return [(rel, data, check_file(rel, data)) for rel, data in serialise_feeds(*args)]


_EXCERPT_HTML = 2000  # (as much as feed.xsl reads)


class Excerpts:
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


__all__ = [
    "PARALLEL_ENTRIES",
    "Excerpts",
    "Extras",
    "serialise_feeds",
    "serialise_share",
    "shares",
]
