"""``index.opml``: every published feed in one OPML 2.0 file, for subscribing in a reader.

One outline per feed (combined first, then categories by slug), pointing at
the RSS file when RSS is published, else Atom, else JSON Feed, so importing
it subscribes to each feed once. No ``dateCreated``: the file only changes
when the set of feeds does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .xmlwriter import XmlWriter


@dataclass(frozen=True, slots=True)
class Outline:
    title: str
    xml_url: str
    html_url: str


def opml(title: str, outlines: Sequence[Outline], *, owner: str | None = None) -> bytes:
    """The OPML 2.0 document listing ``outlines`` in the order given.

    Written with the feeds' :class:`XmlWriter` (lxml's exact layout; a test
    holds the two together), so a build does not import lxml for one file.
    """
    w = XmlWriter()
    w.start("opml", [("version", "2.0")])
    w.start("head")
    w.leaf("title", title)
    if owner:
        w.leaf("ownerName", owner)
    w.end()
    if not outlines:
        w.leaf("body")
    else:
        w.start("body")
        for item in outlines:
            attrs = [
                ("type", "rss"),  # OPML's word for any feed, Atom and JSON included
                ("text", item.title),
                ("title", item.title),
                ("xmlUrl", item.xml_url),
                ("htmlUrl", item.html_url),
            ]
            w.leaf("outline", None, attrs)
        w.end()
    w.end()
    return w.getvalue()


__all__ = ["Outline", "opml"]
