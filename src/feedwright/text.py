"""Small text helpers shared by sources and publishers (pure, no I/O)."""

from __future__ import annotations

import functools
import re
import unicodedata
from urllib.parse import urljoin, urlsplit

# Characters XML 1.0 forbids: C0 controls except TAB/LF/CR, surrogates, U+FFFE/U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def strip_xml_illegal(text: str) -> tuple[str, int]:
    """Remove characters XML 1.0 cannot carry; return the text and how many went."""
    cleaned, count = _XML_ILLEGAL.subn("", text)
    return cleaned, count


@functools.lru_cache(maxsize=8192)  # a site has few distinct names, used on every entry
def category_key(name: str) -> str:
    """The identity of a category: ``Tech``, ``tech`` and ``ＴＥＣＨ`` are one."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


#: What a URL path keeps unescaped: RFC 3986's pchar and "/" (as Jekyll's
#: Addressable and Hexo's WHATWG URL keep it too).
PATH_SAFE = "/:@!$&'()*+,;=-._~"

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# RFC 4151: tag:authority,date:specific; authority a DNS name or an e-mail address,
# date YYYY, YYYY-MM or YYYY-MM-DD.
_TAG_URI = re.compile(
    r"^tag:(?:[A-Za-z0-9._~+-]+@)?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?,"
    r"\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)?:[^\s]*$"
)


def bad_tag_uri(value: str) -> bool:
    """Whether an id claims to be a tag: URI (it starts ``tag:``, in any case)
    and is not one by RFC 4151 (``tag:authority,date:specific``): the publish
    gate (publish/validate.py, rule ``tag-uri``) refuses a feed holding it."""
    text = value.strip()
    return text[:4].lower() == "tag:" and _TAG_URI.match(text) is None


def on_site(ref: str, site_url: str) -> str:
    """A front matter path (``/about/``, ``/images/a.png``) as a reference
    inside the site's folder: relative to ``site_url`` when the site has a
    path that ``ref`` does not start with already, else as it is."""
    if not ref.startswith("/") or ref.startswith("//"):
        return ref
    base = urlsplit(site_url).path or "/"
    return ref if ref.startswith(base) else site_url + ref.lstrip("/")


def _urljoin(base: str, ref: str) -> str:
    """``urljoin``; a reference it refuses (``//[::1/x``, a broken IPv6 host)
    is left as written: no reader can follow it, and it costs no post."""
    try:
        return urljoin(base, ref)
    except ValueError:
        return ref


def join_url(base: str, ref: str) -> str:
    """``urljoin(base, ref)``, with fast paths for the shapes posts are full of.

    ``urljoin`` parses both URLs on every call and was the slowest step of
    rendering a post. A plain relative path against a base ending in ``/``
    and a root-relative path are joined by concatenation; anything that
    needs resolving (dot segments, queries, fragments, odd characters,
    other schemes) still goes to ``urljoin``. A test holds the two together.
    """
    if (
        not base.startswith(("https://", "http://"))
        or "?" in base
        or "#" in base
        or "//" in base[8:]  # urljoin collapses empty segments
    ):
        return _urljoin(base, ref)
    start_base, start_ref = base, ref
    # Hexo and Jekyll posts point at images as ../images/x.png: climb here.
    if ref.startswith(("../", "./")):
        while ref.startswith(("../", "./")) and base.endswith("/") and base.count("/") > 3:
            if ref[1] == "/":
                ref = ref[2:]
            else:
                ref = ref[3:]
                base = base[: base.rindex("/", 0, -1) + 1]
        if ref.startswith(("/", ".")):
            return _urljoin(start_base, start_ref)
    if (
        ref
        and ref[0] > " "
        and "/." not in ref
        and "//" not in ref
        and "?#" not in ref  # urljoin drops an empty query or fragment
        and not ref.endswith(("?", "#"))
        and "\t" not in ref
        and "\n" not in ref
        and "\r" not in ref
    ):
        first = ref[0]
        if first == "/":
            slash = base.find("/", base.index("//") + 2)
            return (base if slash < 0 else base[:slash]) + ref
        elif first not in ".?#" and base.endswith("/") and not _SCHEME.match(ref):
            return base + ref
    return _urljoin(start_base, start_ref)
