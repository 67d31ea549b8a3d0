"""Render a post's body to feed-ready HTML (pure functions, no I/O).

Rendering is the expensive part of reading posts, so ``posts`` leaves
bodies unrendered and :func:`render` runs only for entries that reach a feed::

    Body.text --(markdown: CommonMark + tables, raw HTML kept | html: as is)--> HTML
    summary   <- front matter summary (same format as the body), else the
                 part before ``<!-- more -->``, else none
    a leading <h1> that says the entry's title -> dropped (readers show the
                 title above the content)
    relative href/src/srcset/poster -> absolute against Body.base_url
    XML-illegal characters          -> removed
"""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

import cmarkgfm
from cmarkgfm.cmark import Options

from .model import Body, Entry
from .text import join_url, strip_xml_illegal

# GitHub's cmark: C speed (about 20x markdown-it-py), CommonMark exactly.
# UNSAFE keeps raw HTML, which posts with HTML bodies in .txt/.md files (Hexo
# exports) depend on; local posts are the site owner's own, not sanitised.
# Only the table and strikethrough extensions: "tagfilter" would mangle an
# author's own <iframe> embeds, "autolink" would rewrite plain text.
_CMARK_OPTIONS = Options.CMARK_OPT_UNSAFE
_EXTENSIONS = ["table", "strikethrough"]

_MORE = re.compile(r"<!--\s*more\s*-->", re.I)


def render_markdown(text: str) -> str:
    """CommonMark (plus tables) to HTML; raw HTML blocks and inline HTML pass through."""
    html: str = cmarkgfm.markdown_to_html_with_extensions(
        text, options=_CMARK_OPTIONS, extensions=_EXTENSIONS
    )
    return html


def render(entry: Entry, *, text: str | None = None) -> Entry:
    """The entry with ``content`` (and ``summary``) as HTML and ``body`` cleared.

    ``text`` is the body's text for an entry that carries none (read again
    from its file). Already-rendered entries (``body is None``) come back unchanged.
    """
    body = entry.body
    if body is None:
        return entry
    if text is None:
        text = body.text
    if text is None:
        raise ValueError(f"{entry.origin}: body not loaded; read the post again to render it")
    content = without_title(_to_html(text, body), entry.title)
    if entry.summary is not None:
        summary: str | None = _to_html(entry.summary, body)
    else:
        more = _MORE.search(text)
        summary = without_title(_to_html(text[: more.start()], body), entry.title) if more else None
        if summary is not None and not summary.strip():
            summary = None
    return replace(entry, content=content, summary=summary, body=None)


_LEADING_H1 = re.compile(r"\s*<h1(?:\s[^>]*)?>(.*?)</h1\s*>[ \t]*\n?", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")


def without_title(html: str, title: str) -> str:
    """``html`` without the ``<h1>`` it starts with when that heading says
    ``title`` (tags, entities and spacing aside): a post titled by its first
    heading, or whose heading repeats its front matter ``title``. Readers
    show the title above the content, so the heading would be seen twice.
    Any other heading, or one further down, stays."""
    found = _LEADING_H1.match(html)
    if found is None:
        return html
    said = _words(found.group(1))
    # (a title taken from a Markdown heading keeps what raw HTML it had)
    same = said and said in (" ".join(title.split()), _words(title))
    return html[found.end() :] if same else html


def _words(html: str) -> str:
    """The text of an HTML fragment, its spacing collapsed."""
    return " ".join(unescape(_TAG.sub("", html)).split())


def _to_html(text: str, body: Body) -> str:
    # Before rendering: cmark would turn NUL into U+FFFD rather than drop it.
    text = strip_xml_illegal(text)[0]
    html = render_markdown(text) if body.format == "markdown" else text
    return absolutize_urls(html, body.base_url)


# One start tag that has attributes: its name, then attributes (quoted values
# may hold ">"). Tags without any (<p>, <li>, <em>: most of them) are not
# matched at all, which changes nothing: such a tag holds no "<" but its
# first, so no match could start inside it either.
_START_TAG = re.compile(
    r"<[A-Za-z][^\s/>]*(?:\s+[^\s/>\"'=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)+\s*/?>"
)
# One attribute; matched in sequence so text inside another value never matches.
_ATTR = re.compile(r"(\s+)([^\s/>\"'=]+)(?:(\s*=\s*)(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+)))?")
_URL_ATTRS = frozenset({"href", "src", "poster", "cite", "action", "data", "background"})
_NAME_END = re.compile(r"[\s/>]")
_MAYBE_URL_ATTR = re.compile(r"(?i)(?:href|src|srcset|poster|cite|action|data|background)\s*=")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def absolutize_urls(html: str, base_url: str) -> str:
    """Make relative URLs in start-tag attributes absolute against ``base_url``.

    Covers ``href``, ``src``, ``poster``, ``cite``, ``action``, ``data``,
    ``background`` and every candidate of ``srcset``. URLs with a scheme
    (``https:``, ``mailto:``, ``data:``) are left alone; the rest of the markup
    is untouched byte for byte.
    """
    if "<" not in html:
        return html

    def join(url: str) -> str:
        stripped = url.strip()
        if _ABSOLUTE.match(stripped):
            return url
        return join_url(base_url, stripped)

    def attr(m: re.Match[str]) -> str:
        name = m.group(2).lower()
        if m.group(3) is None or (name not in _URL_ATTRS and name != "srcset"):
            return m.group(0)
        value = next(g for g in m.groups()[3:] if g is not None)
        quote = "'" if m.group(5) is not None else '"'
        if name == "srcset":
            candidates = []
            for candidate in value.split(","):
                parts = candidate.strip().split(None, 1)
                if parts:
                    parts[0] = join(parts[0])
                    candidates.append(" ".join(parts))
            new = ", ".join(candidates)
        else:
            new = join(value)
        if new == value:
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}{m.group(3)}{quote}{_attr_escape(new, quote)}{quote}"

    def tag(m: re.Match[str]) -> str:
        text = m.group(0)
        if not _MAYBE_URL_ATTR.search(text):
            return text  # most tags (<p>, <li>, <strong>) carry no URL at all
        name_end = _NAME_END.search(text, 1)
        assert name_end is not None
        i = name_end.start()
        return text[:i] + _ATTR.sub(attr, text[i:])

    return _START_TAG.sub(tag, html)


def _attr_escape(value: str, quote: str) -> str:
    # Values keep their entities (``&amp;``) as written; only the quote that
    # delimits them (which a base URL could bring) needs escaping.
    return value.replace(quote, "&quot;" if quote == '"' else "&#39;")


__all__ = ["absolutize_urls", "render", "render_markdown", "without_title"]
