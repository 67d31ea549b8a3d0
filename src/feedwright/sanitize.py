"""Make untrusted feed text safe to republish.

Three helpers, used on every string a remote feed gives us:

- :func:`sanitize_html` for HTML fields (summary, content): an explicit
  tag/attribute allowlist through ``nh3`` (after feedparser's own sanitiser
  has run), with every URL attribute resolved to absolute and limited to
  ``http``, ``https`` and ``mailto``. feedparser alone is not enough: it lets
  ``data:`` URLs through and resolves ``&#106;avascript:`` as if it were a path.
- :func:`safe_url` for single URLs (entry links, enclosures, images): resolved
  against a base, returned only if its scheme is allowed.
- :func:`plain_text` for text fields (titles, names, categories): tags
  stripped, entities unescaped exactly once, whitespace collapsed.

Every result also loses the characters XML 1.0 cannot carry
(:func:`feedwright.text.strip_xml_illegal`), so publishing never fails on them.

Links keep nh3's default ``rel="noopener noreferrer"``: republished content
links to third-party sites, and the origin has no business knowing the reader.
"""

from __future__ import annotations

import functools
import html
import html.entities
import re
from urllib.parse import urljoin, urlsplit

import nh3

from .text import strip_xml_illegal

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})

_TAGS = frozenset(
    {
        "a", "abbr", "acronym", "address", "article", "aside", "audio", "b", "bdi", "bdo",
        "big", "blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup",
        "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
        "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "i", "img", "ins",
        "kbd", "li", "mark", "ol", "p", "picture", "pre", "q", "rp", "rt", "ruby", "s",
        "samp", "section", "small", "source", "span", "strike", "strong", "sub", "summary",
        "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul",
        "var", "video", "wbr",
    }
)  # fmt: skip

# Tags removed together with everything inside them (their text is not content).
_CLEAN_CONTENT_TAGS = frozenset(
    {"script", "style", "iframe", "object", "embed", "form", "noscript", "template", "svg",
     "math", "textarea", "select", "button", "frame", "frameset", "applet", "title", "head"}
)  # fmt: skip

_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"title", "lang", "dir"},
    "a": {"href", "hreflang"},
    "abbr": {"title"},
    "audio": {"src", "controls"},
    "blockquote": {"cite"},
    "col": {"span"},
    "colgroup": {"span"},
    "del": {"cite", "datetime"},
    "img": {"src", "alt", "width", "height"},
    "ins": {"cite", "datetime"},
    "li": {"value"},
    "ol": {"start", "reversed", "type"},
    "q": {"cite"},
    "source": {"src", "type"},
    "td": {"colspan", "rowspan", "headers", "align"},
    "th": {"colspan", "rowspan", "headers", "scope", "align"},
    "time": {"datetime"},
    "video": {"src", "poster", "controls", "width", "height"},
}

_URL_ATTRIBUTES = frozenset({"href", "src", "cite", "poster"})

# WHATWG URL parsing deletes these anywhere in a URL, so "jav\tascript:" is "javascript:".
_URL_DELETED = re.compile(r"[\t\n\r]")
_SPACE = re.compile(r"\s+")
# Characters an IRI may not contain: percent-encoded so published links validate.
_IRI_ESCAPES = str.maketrans({c: f"%{ord(c):02X}" for c in ' "<>\\^`{|}'})


# An absolute http(s) URL that safe_url returns as it is, whatever the base:
# lower-case scheme (urlsplit lower-cases it), a host without userinfo or
# brackets, no ";" (urljoin drops an empty parameter), no empty "?" or "#"
# (urljoin drops those), and only characters that are neither deleted,
# stripped nor percent-encoded.
_PLAIN_URL = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?"
    r"(?:/[A-Za-z0-9._~!$&'()*+,=:@%/-]*)?"
    r"(?:\?[A-Za-z0-9._~!$&'()*+,=:@%/?-]+)?"
    r"(?:#[A-Za-z0-9._~!$&'()*+,=:@%/?-]+)?"
)


def _clean_chars(value: str) -> str:
    return strip_xml_illegal(value)[0]


# html5ever (under nh3) looks through the stack of open elements for each new
# block element, so markup nested tens of thousands deep costs quadratic time
# (100,000 nested <div>s: minutes). No real content nests this deep; such a
# value is reduced to its text before nh3 sees it.
MAX_DEPTH = 512
_ANY_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^<>]*?(/?)>")
_ANY_MARKUP = re.compile(r"<[^<>]*>?")
# Elements that never stay open: void ones, and those the next sibling closes.
_FLAT = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "rp", "rt"}
)  # fmt: skip


def _too_deep(value: str) -> bool:
    # Nesting past MAX_DEPTH takes at least 3 characters a level: most values
    # are answered by their length alone.
    if len(value) <= 3 * MAX_DEPTH or value.count("<") <= MAX_DEPTH:
        return False
    depth = 0
    for match in _ANY_TAG.finditer(value):
        if match.group(3) or match.group(2).lower() in _FLAT:
            continue
        if match.group(1):
            depth = max(depth - 1, 0)
        else:
            depth += 1
            if depth > MAX_DEPTH:
                return True
    return False


def _text_of(value: str) -> str:
    """Markup too deep to parse, as escaped text: every tag dropped."""
    return html.escape(html.unescape(_ANY_MARKUP.sub(" ", value)), quote=False)


def safe_url(url: str | None, base: str | None = None) -> str | None:
    """``url`` made absolute against ``base``, or None if it is empty or not http(s)/mailto.

    A relative URL with no usable base is None too: a link that cannot be
    followed from a feed reader is worth nothing.
    """
    if url is None:
        return None
    if _PLAIN_URL.fullmatch(url):
        # Already absolute and clean: _resolve would give it back unchanged.
        return url
    return _resolve(url, base)


def _resolve(url: str, base: str | None) -> str | None:
    cleaned = _URL_DELETED.sub("", _clean_chars(url)).strip(" \x00\x0c\u00a0")
    if not cleaned:
        return None
    if base:
        try:
            cleaned = urljoin(base, cleaned)
        except ValueError:
            return None
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in SAFE_SCHEMES:
        return None
    if scheme in ("http", "https") and not parts.netloc:
        return None
    return cleaned.translate(_IRI_ESCAPES)


def _url_attribute(base: str | None, value: str) -> str | None:
    if base:
        return safe_url(value, base)
    # No base to resolve against: a relative URL is harmless, a schemed one must be allowed.
    stripped = _URL_DELETED.sub("", value).strip()
    try:
        parts = urlsplit(stripped)
    except ValueError:
        return None
    if not parts.scheme and not stripped.startswith("//"):
        return stripped
    return safe_url(stripped)


def sanitize_html(html_text: str, base_url: str | None = None) -> str:
    """Safe HTML: allowlisted tags and attributes, absolute http(s)/mailto URLs only."""
    if _too_deep(html_text):
        html_text = _text_of(html_text)
    cleaned = _cleaner(base_url).clean(_clean_chars(html_text))
    return _clean_chars(cleaned).strip()


# Turning the allowlists into nh3's own sets costs more than cleaning a typical
# value, so each base URL gets one Cleaner (a feed's values share one base).
@functools.lru_cache(maxsize=64)
def _cleaner(base_url: str | None) -> nh3.Cleaner:
    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if attribute in _URL_ATTRIBUTES:
            return _url_attribute(base_url, value)
        return value

    return nh3.Cleaner(
        tags=set(_TAGS),
        clean_content_tags=set(_CLEAN_CONTENT_TAGS),
        attributes={tag: set(attrs) for tag, attrs in _ATTRIBUTES.items()},
        attribute_filter=attribute_filter,
        url_schemes=set(SAFE_SCHEMES),
        strip_comments=True,
    )


# A start tag as nh3 serialises it: every value double-quoted, '"' and '&' escaped.
_SERIALISED_TAG = re.compile(r'<([a-z][a-z0-9]*)((?: [^\s="<>/]+="[^"]*")+)>')
_SERIALISED_ATTR = re.compile(r' ([^\s="<>/]+)="([^"]*)"')


def feedparser_attribute_order(cleaned: str) -> str:
    """nh3 output with each tag's attributes as feedparser's sanitiser leaves them.

    feedparser sorts attributes by name and lower-cases ``type`` values; nh3
    keeps what it is given and appends ``rel`` to links. Applied to
    ``sanitize_html(x)``, this gives ``sanitize_html(feedparser_sanitise(x))``
    for markup both sanitisers keep, which lets the fast feed reader skip
    feedparser.
    """

    def reorder(match: re.Match[str]) -> str:
        attrs = _SERIALISED_ATTR.findall(match.group(2))
        rel = [a for a in attrs if a[0] == "rel"]
        rest = sorted(
            ((name, value.lower() if name == "type" else value) for name, value in attrs
             if name != "rel"),
        )  # fmt: skip
        body = "".join(f' {name}="{value}"' for name, value in (*rest, *rel))
        return f"<{match.group(1)}{body}>"

    if "=" not in cleaned:
        return cleaned
    return _SERIALISED_TAG.sub(reorder, cleaned)


_TEXT_ONLY = nh3.Cleaner(tags=set(), clean_content_tags=set(_CLEAN_CONTENT_TAGS))


def plain_text(value: str, *, markup: bool = True) -> str:
    """Text for a title-like field: tags dropped, entities decoded once, one line.

    ``AT&amp;T`` becomes ``AT&T``; ``<b>x</b>`` becomes ``x``; the contents of
    ``<script>``/``<style>`` are dropped, not shown. The result is text, not
    HTML: publishers escape it when writing. ``markup=False``: the value is
    text already (an Atom ``type="text"`` title, a JSON Feed title that does
    not :func:`look like HTML <looks_like_html>`), so ``std::vector<bool>``
    and ``&`` stay as written.
    """
    value = _clean_chars(value)
    if markup and ("<" in value or "&" in value):
        if _too_deep(value):
            value = _text_of(value)
        # nh3 with no allowed tags keeps only text (escaped); unescaping that once
        # gives the text a browser would have shown.
        value = html.unescape(_TEXT_ONLY.clean(value))
        value = _clean_chars(value)
    return _SPACE.sub(" ", value).strip()


_CLOSE_TAG = re.compile(r"</\w+>")
_ENTITY_REF = re.compile(r"&(#?\w+);")
_OPEN_TAG = re.compile(r"<([a-zA-Z][\w-]*)")
# An opening tag with attributes, or of an element that runs or loads something.
_ACTIVE_TAG = re.compile(
    r"<(?:[a-z][\w-]*\s[^<>]*=|(?:script|style|iframe|frame|img|svg|math|object|embed"
    r"|link|meta|base|form|input|button|body|html|video|audio|source)\b)",
    re.IGNORECASE,
)


def looks_like_html(text: str, *, declared_text: bool = False) -> bool:
    """Whether a title that may be text (RSS, JSON Feed) holds markup: a
    closing tag, a character reference HTML knows (``&amp;``, ``&#20013;``),
    or an opening tag of an HTML element (``<b>``, ``<img src=...>``);
    ``vector<bool>`` and ``the <template> element`` are text.
    ``declared_text``: the feed says it is text (Atom ``type="text"``), which
    only a tag that runs or loads something (``<script>``, a tag with
    attributes) overrules."""
    if _ACTIVE_TAG.search(text):
        return True
    if declared_text:
        return False
    if _CLOSE_TAG.search(text):
        return True
    if any(name.lower() in nh3.ALLOWED_TAGS for name in _OPEN_TAG.findall(text)):
        return True
    return any(
        ref[0] == "#" or ref in html.entities.entitydefs for ref in _ENTITY_REF.findall(text)
    )


__all__ = [
    "SAFE_SCHEMES",
    "feedparser_attribute_order",
    "looks_like_html",
    "plain_text",
    "safe_url",
    "sanitize_html",
]
