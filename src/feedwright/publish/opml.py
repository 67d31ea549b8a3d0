"""``index.opml``: every published feed in one OPML 2.0 file, for subscribing in a reader.

One outline per feed (combined first, then categories by slug), pointing at
the RSS file when RSS is published, else Atom, else JSON Feed, so importing
it subscribes to each feed once. No ``dateCreated``: the file only changes
when the set of feeds does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree


@dataclass(frozen=True, slots=True)
class Outline:
    title: str
    xml_url: str
    html_url: str


def opml(title: str, outlines: Sequence[Outline], *, owner: str | None = None) -> bytes:
    """The OPML 2.0 document listing ``outlines`` in the order given (lxml's
    pretty layout; ValueError for a string XML cannot carry)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    head.append(etree.Comment(" published by feedwright "))
    etree.SubElement(head, "title").text = title
    if owner:
        etree.SubElement(head, "ownerName").text = owner
    body = etree.SubElement(root, "body")
    for item in outlines:
        etree.SubElement(
            body,
            "outline",
            # "rss" is OPML's word for any feed, Atom and JSON Feed included.
            {
                "type": "rss",
                "text": item.title,
                "title": item.title,
                "xmlUrl": item.xml_url,
                "htmlUrl": item.html_url,
            },
        )
    out: bytes = etree.tostring(root, pretty_print=True, encoding="UTF-8", xml_declaration=True)
    return out


__all__ = ["Outline", "opml"]
