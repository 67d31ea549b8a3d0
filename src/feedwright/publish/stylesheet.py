"""``feed.xsl``: the XSLT 1.0 stylesheet that makes every Atom and RSS file a page.

Each Atom and RSS document starts with ``<?xml-stylesheet type="text/xsl"
href="feed.xsl"?>`` (``../feed.xsl`` one folder down): a browser that still
applies XSLT shows the feed as a page (its title and description, a line
saying it is a feed and which address to copy into a reader, its entries
with titles, dates and summaries, links to the other formats), while feed
readers ignore the instruction. The same page as plain HTML is
:mod:`.pages`' ``index.html``, for browsers that dropped XSLT.

The stylesheet depends only on ``output.formats`` and ``output.pages`` (the
sibling files it links to, relatively), so it is written once and then left
alone. Summaries are HTML escaped inside the feed; XSLT 1.0 cannot parse
them, so the stylesheet (:data:`TEMPLATE`, ``feed.xsl`` beside this module)
strips their tags, decodes the common entities and cuts
them short, all in XPath string functions (the input is cut first, which
bounds the recursion).
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..config import Format, Output
from .pages import FORMAT_NAMES, MEDIA_TYPES, NOTE, PAGE_NAME, STYLE

STYLESHEET_NAME = "feed.xsl"
PI_TARGET = "xml-stylesheet"

# The stylesheet with its @STYLE@, @NOTE@ and @FORMATS@ still to fill in.
TEMPLATE = Path(__file__).with_name("feed.xsl")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def published(output: Output) -> bool:
    """Whether a build publishes the stylesheet: ``output.stylesheet`` and an
    Atom or RSS format to name it (JSON Feed has no ``<?xml-stylesheet?>``)."""
    return output.stylesheet and any(fmt != "json" for fmt in output.formats)


def stylesheet(output: Output) -> bytes:
    """The stylesheet's bytes for ``output`` (its formats; ``index.html`` when
    pages are published)."""
    return _stylesheet(output.formats, output.pages)


@functools.cache
def _stylesheet(formats: tuple[Format, ...], pages: bool) -> bytes:
    from ..config import FILENAMES

    links = [
        f'<li><a href="{FILENAMES[fmt]}" type="{MEDIA_TYPES[fmt]}">{FORMAT_NAMES[fmt]}</a></li>'
        for fmt in formats
    ]
    if pages:
        links.append(f'<li><a href="{PAGE_NAME}">Web page</a></li>')
    text = (
        TEMPLATE.read_text(encoding="utf-8")
        .replace("@STYLE@", "\n" + _escape(STYLE))
        .replace("@NOTE@", _escape(NOTE))
        .replace("@FORMATS@", "".join(links))
    )
    return text.encode("utf-8")


def href(rel: str) -> str:
    """The stylesheet's address as seen from the published file ``rel``."""
    return "../" * rel.count("/") + STYLESHEET_NAME


__all__ = ["PI_TARGET", "STYLESHEET_NAME", "TEMPLATE", "href", "published", "stylesheet"]
