"""An HTML page instead of a feed: find the feed it links to.

A user often subscribes to a site's address rather than its feed. The Fetcher
asks :func:`is_html` of every 200 answer; for a page it takes
:func:`discover_feed`'s ``<link rel="alternate">`` target and fetches that
once (a page that leads to another page is returned as it is, and the parser
reports it).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from html.parser import HTMLParser

import httpx

# Feed types a <link rel="alternate"> may name, best first. WordPress marks its
# REST API with type="application/json" on every page, so plain JSON comes last:
# it is taken only when nothing more specific is offered. Within a rank the
# page's own order wins (a site lists its main feed before its comments feed).
_FEED_TYPES = {
    "application/atom+xml": 0,
    "application/rss+xml": 0,
    "application/rdf+xml": 0,
    "application/feed+json": 1,
    "application/json": 2,
}


class _LinkFinder(HTMLParser):
    """Collects ``<link rel="alternate" type="<feed type>" href>`` and ``<base href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[int, str]] = []  # (rank, href) in document order
        self.base: str | None = None
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "body":
            self.done = True  # feed links live in <head>; the rest can be large
            return
        values = {name: (value or "") for name, value in attrs}
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"].strip()
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            kind = values.get("type", "").split(";")[0].strip().lower()
            href = values.get("href", "").strip()
            if "alternate" in rels and kind in _FEED_TYPES and href:
                self.links.append((_FEED_TYPES[kind], href))

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.done = True


def discover_feed(html: bytes, page_url: str, charset: str | None = None) -> str | None:
    """The absolute URL of the best feed an HTML page links to, or None.

    Best = Atom/RSS before JSON Feed before plain JSON; the first in document
    order within each. Relative links resolve against ``<base href>`` or the page.
    """
    text = html.decode(charset or "utf-8", errors="replace")
    finder = _LinkFinder()
    # Feed in slices so a huge page stops being parsed once <head> is over.
    for start in range(0, len(text), 16384):
        finder.feed(text[start : start + 16384])
        if finder.done:
            break
    if not finder.links:
        return None
    href = min(finder.links, key=lambda link: link[0])[1]
    try:
        base = httpx.URL(page_url)
        if finder.base:
            base = base.join(finder.base)
        return str(base.join(href))
    except (httpx.InvalidURL, UnicodeError):
        return None


_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:rdf)[\s>]", re.I)
_HTML_ROOT = re.compile(rb"<(?:!doctype\s+html|html)[\s>]", re.I)


def is_html(headers: Mapping[str, str], content: bytes) -> bool:
    """An HTML page rather than a feed, judged by its first bytes, then its content type.

    Some servers label feeds text/html, so a feed's root element wins over the label.
    """
    head = content[:1024].removeprefix(b"\xef\xbb\xbf").lstrip()
    if _FEED_ROOT.search(head) or head.startswith((b"{", b"[")):
        return False
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        return True
    # Skip an XML declaration and comments by hand: a regex with a repeated
    # lazy group backtracks exponentially on a hostile run of comments.
    while head.startswith((b"<?", b"<!--")):
        close = b"?>" if head.startswith(b"<?") else b"-->"
        end = head.find(close)
        if end < 0:
            return False
        head = head[end + len(close) :].lstrip()
    return _HTML_ROOT.match(head) is not None


def charset(headers: Mapping[str, str]) -> str | None:
    """The codec a Content-Type's ``charset`` names, or None."""
    match = re.search(r"charset=[\"']?([\w.:-]+)", headers.get("content-type", ""), re.I)
    if match is None:
        return None
    try:
        return codecs.lookup(match.group(1)).name
    except LookupError:
        return None


__all__ = ["charset", "discover_feed", "is_html"]
