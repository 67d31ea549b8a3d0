"""Where a post lives on the site and what it is called for good: links, ids, slugs.

Identity (``Entry.id``) never depends on the title, date, body, categories,
the checkout folder or the machine. The first of:

1. ``id`` or ``guid`` front matter (a value without a URI scheme becomes
   ``tag:<host>,2000:<value>``; one that starts ``tag:`` and is no tag: URI
   is a problem of the post, entry.py);
2. an explicit ``permalink``/``link`` front matter (made absolute);
3. ``tag:<site host>,2000:<site path><path relative to the posts folder,
   without suffix>`` (for ``index.md`` the folder is the path: Hugo page
   bundles).

The source's ``permalink`` pattern is deliberately *not* used for the id: a
pattern with ``{year}`` or ``{title}`` changes when the date or title is
edited, and a reader would see a duplicate.

Link: ``permalink``/``link`` front matter (relative ones and paths resolve
against ``site.url``, its path included; only http(s) links are kept); else
``site.url`` + the source's ``permalink`` pattern, with ``{year} {month}
{day}`` (zero-padded, in ``site.timezone``), ``{slug}`` (``slug`` front
matter, else the file name without a Jekyll date prefix), ``{title}`` (the
title, slugified), ``{category}`` (the first one), ``{categories}`` (every
one, the source's first, joined with ``/``), ``{filename}`` (file name
without suffix), ``{slug}`` and ``{categories}`` as Jekyll or Hexo filled
them with the source's ``style`` (styles.py); else ``site.url`` + the folder
relative to the posts folder, the slug and ``/`` (``news/2023-11-02-opening.md`` ->
``<site.url>news/opening/``; Hugo's default keeps the date prefix and
lowercases the path, ``News/My Post.md`` -> ``news/my-post/``, where this
keeps the name as written: ``News/My%20Post/``).
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import unicodedata
from datetime import date, datetime, tzinfo
from functools import cache
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from ..configsources import PLACEHOLDER as _PLACEHOLDER
from ..configsources import PLACEHOLDERS, Style
from ..model import BodyFormat
from ..sanitize import safe_url
from ..text import PATH_SAFE, category_key, join_url, on_site
from . import hugo, styles

_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_TAG_DATE = "2000"
_SPACE = re.compile(r"\s")
_JEKYLL_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-(.+)$")
_HTML_SUFFIXES = (".html", ".htm")
_SLUG_JUNK = re.compile(r"[^\w]+")
_TAG_HEAD = re.compile(r"^tag:[^,/]*,2000:(?:.*/)?$")


class FileName(NamedTuple):
    """What a post's path relative to its folder says about it."""

    rel_stem: str  # without suffix; for a page bundle's index, the folder
    format: BodyFormat
    parent: str  # the folder of rel_stem ("" at the top)
    stem: str  # file (or bundle folder) name without suffix
    slug: str  # the stem without a Jekyll date prefix
    date: date | None  # the Jekyll date prefix
    language: str | None = None  # a Hugo bundle's index in one language: ``index.fr.md``


def file_name(rel: str, hugo_site: hugo.Naming | None = None) -> FileName:
    """What ``rel`` says; ``hugo_site``: the Hugo site whose posts folder it
    is in, where a name's part in the site's language is no part of the
    page's name (``post.en.md`` is the page ``post``, ``{slug}`` and
    ``{filename}`` are ``post``), as Hugo names it."""
    rel_stem, suffix = posixpath.splitext(rel)
    parent, _, stem = rel_stem.rpartition("/")
    language = None
    if parent and hugo.bundle_index(rel.rpartition("/")[2]):
        # A Hugo page bundle's index: the folder is the post. One with a part
        # more (``index.fr.md``, ``index.backup.md``) keeps its whole path in
        # its id, so each language keeps its own.
        part = hugo.index_part(rel.rpartition("/")[2])
        if part is None:
            rel_stem = parent
        elif hugo.LANGUAGE.fullmatch(part):
            language = part
        parent, _, stem = parent.rpartition("/")
    elif hugo_site is not None:
        stem = hugo.page_name(stem, hugo_site)
    name_date: date | None = None
    slug = stem
    jekyll = _JEKYLL_NAME.match(stem)
    if jekyll:
        try:
            name_date = date(int(jekyll[1]), int(jekyll[2]), int(jekyll[3]))
            slug = jekyll[4]
        except ValueError:
            name_date = None
    fmt: BodyFormat = "html" if suffix.lower() in _HTML_SUFFIXES else "markdown"
    return FileName(rel_stem, fmt, parent, stem, slug, name_date, language)


@cache  # one site URL per config: parsed once
def tag_prefix(site_url: str) -> str:
    """``tag:host,2000:path/`` (RFC 4151): ids that do not pretend to be links.

    RFC 4151 takes a DNS name: a host in another script is written as IDNA
    spells it (``xn--mnchen-3ya.example``), without a final dot; a space in
    the path is percent-encoded. (Such ids were never published: the gate
    refuses a tag: URI that is not one.)"""
    parts = urlsplit(site_url)
    host = (parts.hostname or "localhost").lower().rstrip(".")
    if not host.isascii():
        with contextlib.suppress(UnicodeError):  # (one IDNA refuses: the gate names the id)
            host = host.encode("idna").decode("ascii")
    path = _SPACE.sub(lambda m: quote(m[0]), parts.path.strip("/"))
    return f"tag:{host},{_TAG_DATE}:{path + '/' if path else ''}"


def tag_host_problem(site_url: str) -> str | None:
    """What keeps ``site_url``'s host from making the posts' ``tag:`` ids
    (:func:`tag_prefix`), said for ``site.url``; None when it makes good ones.

    RFC 4151 takes a domain name (or an e-mail address): an IPv6 literal
    (``tag:::1,2000:``) or a name with ``_`` is none, and the publish gate
    refuses every feed holding such an id. A name, ``localhost`` and an IPv4
    address are taken."""
    from ..text import bad_tag_uri

    if not bad_tag_uri(tag_prefix(site_url)):
        return None
    parts = urlsplit(site_url)
    host = parts.hostname or ""
    ipv6 = ":" in host
    instead = "a domain name: the site's own"
    if ipv6:
        import ipaddress

        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(host.partition("%")[0]).is_loopback:
                port = f":{parts.port}" if parts.port else ""
                local = parts._replace(netloc=f"localhost{port}").geturl()
                instead = f"localhost for this machine ({local}), or the site's own domain"
    what = "an IPv6 address" if ipv6 else "not a domain name"
    return (
        f"{site_url!r}: its host {host} is {what}, and the posts' ids are made of it"
        f" (tag:<host>,2000:<path>; RFC 4151 takes a domain name): the publish gate would"
        f" refuse every feed holding a post. Write the host as {instead}"
    )


def names_value(old_id: str, value: str) -> bool:
    """Whether ``old_id`` is the id a scheme-less ``id:`` ``value`` made under
    some site URL (another host or path): the same explicit id."""
    tail = quote(value.strip(), safe=PATH_SAFE)
    head = old_id[: len(old_id) - len(tail)]
    return old_id.endswith(tail) and bool(_TAG_HEAD.match(head))


def explicit_link(value: str | None, site_url: str) -> str | None:
    """A ``permalink``/``link`` from front matter, absolute, if it is http(s).

    A path is the site's: ``/about/`` under ``https://example.org/blog/`` is
    ``https://example.org/blog/about/``, as Jekyll's ``absolute_url`` and
    Hexo's ``root`` make it (one that starts with the site's path already,
    ``/blog/about/``, is taken as it is)."""
    if not value or not value.strip():
        return None
    url = safe_url(join(site_url, on_site(value.strip(), site_url)))
    return url if url and url.startswith(("http://", "https://")) else None


def entry_id(explicit: str | None, link: str | None, rel_stem: str, site_url: str) -> str:
    """The id: ``explicit`` (``id``/``guid``), else an explicit ``link``, else the path."""
    if explicit and explicit.strip():
        value = explicit.strip()
        if _HAS_SCHEME.match(value):
            return value
        return tag_prefix(site_url) + quote(value, safe=PATH_SAFE)
    if link:
        return link
    return tag_prefix(site_url) + quote(rel_stem)


def derived_link(
    pattern: str | None,
    site_url: str,
    local: tzinfo,
    published: datetime,
    name: FileName,
    slug: str,
    title: str,
    categories: tuple[str, ...],
    site_language: str | None = None,
    *,
    hugo_site: hugo.Naming | None = None,
    style: Style | None = None,
    own_slug: str | None = None,
    folder_categories: tuple[str, ...] = (),
) -> str:
    """The link of a post without a ``permalink``/``link`` of its own.

    A bundle's index in a language other than ``site_language`` (else
    English, Hugo's default) is under that language's folder, as Hugo
    publishes it: ``news/trip/index.fr.md`` -> ``<site.url>fr/news/trip/``;
    in a Hugo site (``hugo_site``: what its config says), every page
    feedwright reads is in its default language, under ``hugo_site.prefix``.
    ``{categories}`` is every category, the ``folder_categories`` (the
    source's) first; ``style`` fills it and ``{slug}`` as that generator did
    (styles.py; ``own_slug``: the ``slug`` front matter, if any).
    Raises ValueError for a pattern with an unknown placeholder.
    """
    lang = ""
    if hugo_site is not None:
        lang = hugo_site.prefix
    elif name.language and _primary(name.language) != _primary(site_language or "en"):
        lang = name.language.lower() + "/"
    if not pattern:
        path = f"{name.parent}/{slug}/" if name.parent else f"{slug}/"
        return join(site_url, quote(lang + path))
    day = published.astimezone(local)
    values = {  # percent-encoded
        "year": f"{day.year:04d}",
        "month": f"{day.month:02d}",
        "day": f"{day.day:02d}",
        "slug": quote(slug, safe="/"),
        "filename": quote(name.stem, safe=""),
    }
    if style == "jekyll":
        values["slug"] = styles.jekyll_title(own_slug, name.stem)
    elif style == "hexo":
        values["slug"] = styles.hexo_title(name.parent, name.stem)
    parts = _PLACEHOLDER.split(pattern.lstrip("/"))
    if "title" in parts[1::2]:
        values["title"] = quote(slugify(title) or slug, safe="")
    if "category" in parts[1::2]:
        values["category"] = quote(
            slugify(categories[0]) if categories else "uncategorized", safe=""
        )
    if "categories" in parts[1::2]:
        values["categories"] = _categories(categories, folder_categories, style)
    for i in range(1, len(parts), 2):
        key = parts[i]
        if key not in values:
            raise ValueError(
                f"permalink pattern {pattern!r}: unknown placeholder {{{key}}}"
                f" (use {', '.join('{' + k + '}' for k in PLACEHOLDERS)})"
            )
        parts[i] = values[key]
        if key == "categories" and not parts[i]:  # none: left out with its "/", as Jekyll does
            if parts[i + 1].startswith("/"):
                parts[i + 1] = parts[i + 1][1:]
            elif parts[i - 1].endswith("/"):
                parts[i - 1] = parts[i - 1][:-1]
    return join(site_url, lang + "".join(parts))


def _categories(categories: tuple[str, ...], folder: tuple[str, ...], style: Style | None) -> str:
    """``{categories}``: the folder's first, then the post's own, joined with ``/``."""
    order = {category_key(name): i for i, name in enumerate(folder)}
    first = sorted(
        (c for c in categories if category_key(c) in order), key=lambda c: order[category_key(c)]
    )
    ordered = first + [c for c in categories if category_key(c) not in order]
    if style == "jekyll":
        return styles.jekyll_categories(ordered)
    slugs = dict.fromkeys(quote(s, safe="") for c in ordered if (s := slugify(c)))
    return "/".join(slugs)


def _primary(language: str) -> str:
    return language.replace("_", "-").partition("-")[0].lower()


def slugify(text: str) -> str:
    return _SLUG_JUNK.sub("-", unicodedata.normalize("NFKC", text).lower()).strip("-_")


def join(base: str, ref: str) -> str:
    """``urljoin``, except that a URL with a scheme is taken as it is."""
    if _HAS_SCHEME.match(ref):
        return ref
    return join_url(base, ref)


__all__ = [
    "PLACEHOLDERS",
    "FileName",
    "derived_link",
    "entry_id",
    "explicit_link",
    "file_name",
    "join",
    "on_site",
    "slugify",
    "tag_host_problem",
    "tag_prefix",
]
