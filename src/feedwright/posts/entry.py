"""Front matter + body -> :class:`~feedwright.model.Entry`: the one entry builder.

The body is left unrendered (``Entry.body``, a :class:`~feedwright.model.Body`
in the file's format); Markdown is rendered later, only for entries that
reach a feed. ``Entry.summary`` is in the body's format too until then.

Fields:

- ``title``; else the body's first level-1 heading (``# x``, ``x`` over
  ``===``, ``<h1>``); else the
  file name (Jekyll date prefix removed, ``-``/``_`` as spaces). A leading
  heading that says the title is dropped at render (``render.without_title``).
- ``date`` (or Hugo ``publishDate``/``pubdate``/date-valued ``published``);
  else the Jekyll file-name date (``2022-06-27-slug.md``); else the file's
  modification time, which is what Hexo does (a fresh git checkout resets
  mtimes: give posts a date). ``updated``/``lastmod``/``modified``/
  ``last_modified_at``, else the date. ``expiryDate`` (Hugo; or its
  ``unpublishDate``): the post's end, in no feed from then on.
- ``categories``/``category`` and ``tags``/``tag``: a list (Hexo nested lists
  are flattened) or, for the plural keys, a string split on commas if it has
  any, else on spaces (Jekyll); a singular key's string is one name;
  the source's ``categories`` are added; duplicates (case-insensitive) dropped.
- ``author``/``authors``: a name, ``{name, email, uri|url|link}``, or a list.
- ``headimg``/``thumbnail``/``image``/``cover``/``images``: image enclosures.
- ``audio`` (with ``length``, ``duration``, ``episode``, ``season``,
  ``explicit``): a podcast episode, its audio the first enclosure (``podcast.py``).
- ``draft: true`` or ``published: false``: not published (None); nor a
  page Hugo lists in no RSS (:func:`unlisted`: ``build: {list: never}``).
- ``summary``/``description``/``excerpt``, else the body before the post's
  ``excerpt_separator`` (Jekyll; else ``<!-- more -->``, at render);
  ``lang``/``language``, else
  ``site.language``; ``slug``; ids and links: see ``links.py``.

Relative URLs (images, the body's base) resolve against the post's link.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

from ..config import PostsSource, Site
from ..configsources import colon_placeholder
from ..exceptions import PostError
from ..model import Body, Enclosure, Entry, Person
from ..podcast import episode_of
from ..sanitize import safe_url
from ..text import PATH_SAFE, bad_tag_uri, category_key
from . import hugo, links
from .dates import first_date, zone

_TRUE_WORDS = frozenset({"true", "yes", "on", "1", "y"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0", "n"})
_DATE_KEYS = ("date", "publishdate", "pubdate")  # (keys as :func:`fold_keys` gives them)
_PUBLISH_KEYS = ("publishdate", "pubdate")  # Hugo's: not published before
EXPIRY_KEYS = ("expirydate", "unpublishdate")  # Hugo's: in no feed from then on
_UPDATED_KEYS = ("updated", "lastmod", "modified", "last_modified_at")
_SUMMARY_KEYS = ("summary", "description", "excerpt")
_IMAGE_KEYS = ("headimg", "thumbnail", "image", "cover", "images")
# Our own table: the mimetypes module reads /etc/mime.types, which differs by
# machine, and the output must not.
_IMAGE_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "jpe": "image/jpeg", "png": "image/png",
    "gif": "image/gif", "webp": "image/webp", "avif": "image/avif", "svg": "image/svg+xml",
    "bmp": "image/bmp", "ico": "image/x-icon", "tif": "image/tiff", "tiff": "image/tiff",
    "heic": "image/heic",
}  # fmt: skip
# Every front matter key a post's entry is made of (``check`` suggests the
# nearest one for a near miss such as ``titel:``).
FRONT_MATTER_KEYS = frozenset(
    {"title", "categories", "category", "tags", "tag", "author", "authors", "draft"}
    | {"published", "slug", "id", "guid", "link", "permalink", "url", "lang", "language"}
    | {"excerpt_separator"}
    | set(_DATE_KEYS + EXPIRY_KEYS + _UPDATED_KEYS + _SUMMARY_KEYS + _IMAGE_KEYS)
)
DATE_KEYS = (*_DATE_KEYS, "published")
DATED_KEYS = frozenset((*DATE_KEYS, *EXPIRY_KEYS, *_UPDATED_KEYS))  # every key read as a date
_SPLIT_COMMAS = re.compile(r"[,，、]")
_SPACES = re.compile(r"\s+")
_MD_HEADING = re.compile(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.M)
_MAILBOX = re.compile(r"([^<>]*[^<>\s])\s*<([^<>@\s]+@[^<>@\s]+)>")
_MD_SETEXT = re.compile(r"^ {0,3}([^\s=<>#][^\n]*?)[ \t]*\n {0,3}=+[ \t]*$", re.M)
_HTML_H1 = re.compile(r"<h1(?:\s[^>]*)?>(.*?)</h1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")
_MD_INLINE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|[*_`]+")


class Built(NamedTuple):
    """The entry a post makes, and what the id ledger may not override in it."""

    entry: Entry
    own_id: str | None  # its front matter's ``id``/``guid``, as written (None: none)
    dated: bool  # a date of its own (front matter, a Jekyll file name), not its mtime


def build(
    meta: Mapping[str, Any],
    body: str,
    rel: str,
    source: PostsSource,
    site: Site,
    mtime: int,
    path: str,
    hugo_site: hugo.Naming | None = None,
) -> Built | None:
    """The entry a post makes; None for a draft. ``rel``: its path relative to
    the posts folder; ``mtime``: its modification time (seconds), the date of
    last resort; ``hugo_site``: the Hugo site the posts folder is in, if any
    (its links are Hugo's). Raises PostError naming ``path``."""
    meta = fold_keys(meta)
    if _is_draft(meta, path) or unlisted(
        meta, "/" in rel and hugo.bundle_index(rel.rsplit("/")[-1])
    ):
        return None
    local = zone(site.timezone)
    name = links.file_name(rel, hugo_site)

    title = _clean(_text(meta.get("title"), "title", path) or "")
    if not title:
        title = (
            _first_heading(body) or name.slug.replace("-", " ").replace("_", " ").strip()
        ) or name.stem

    own_date = _own_date(meta, name, local, path)
    published = own_date or datetime.fromtimestamp(mtime, UTC)
    updated = first_date(meta, _UPDATED_KEYS, local, path)
    if updated is None or updated < published:
        updated = published
    expires = first_date(meta, EXPIRY_KEYS, local, path)

    categories = _names(
        [meta.get("categories"), _one(meta.get("category")), source.categories], path
    )
    tags = _names([meta.get("tags"), _one(meta.get("tag"))], path)

    own_slug = (_text(meta.get("slug"), "slug", path) or "").strip().strip("/") or None
    slug = own_slug or name.slug
    written = (
        _text(meta.get("permalink"), "permalink", path)
        or _text(meta.get("link"), "link", path)
        or _text(meta.get("url"), "url", path)  # Hugo's
    )
    if written and (colon := colon_placeholder(written)):
        # Jekyll fills these in; taken as written, every such post would share one link.
        raise PostError(
            f"its link {written!r} holds :{colon}, a Jekyll placeholder feedwright does not fill"
            " in a post: give its own link, or leave it out and set the posts folder's"
            " `permalink` in config.yaml ({year}/{month}/{slug}/)",
            path=path,
        )
    explicit = links.explicit_link(written, site.url)
    try:
        link = explicit or links.derived_link(
            source.permalink,
            site.url,
            local,
            published,
            name,
            slug,
            title,
            categories,
            site.language,
            hugo_site=hugo_site,
            style=source.style,
            own_slug=own_slug,
            folder_categories=source.categories,
        )
    except UnicodeEncodeError:
        if _utf8(rel):
            raise PostError(
                "cannot make its link: a front matter value it is made of (slug, title,"
                " categories) holds half a character (an escape like \\ud800)",
                path=path,
            ) from None
        raise PostError(
            "its file name is not UTF-8 (a system in another encoding named it), and its"
            " link is made of its name: rename it, or give it a `link:` and an `id:`",
            path=path,
        ) from None
    except ValueError as exc:
        raise PostError(str(exc), path=path) from None
    id_key = "id" if _text(meta.get("id"), "id", path) else "guid"
    explicit_id = _text(meta.get(id_key), id_key, path)
    entry_id = links.entry_id(explicit_id, explicit, name.rel_stem, site.url)
    if explicit_id and bad_tag_uri(entry_id):
        raise PostError(_bad_tag_message(id_key, entry_id, site.url, published, slug), path=path)

    summary = None
    for key in _SUMMARY_KEYS:
        value = _text(meta.get(key), key, path)
        if value and value.strip():
            summary = value.strip()
            break
    separator = _text(meta.get("excerpt_separator"), "excerpt_separator", path)
    if summary is None and separator and separator.strip() and separator in body:
        # Jekyll's own marker for this post, in place of <!-- more -->.
        summary = body.split(separator, 1)[0].strip() or None
    language = _text(meta.get("lang"), "lang", path) or _text(
        meta.get("language"), "language", path
    )
    digest = body_digest(body)
    images = _images(meta, link, site.url, path)
    episode = episode_of(meta, site.url, path, images)  # (podcast.py: ``audio:`` and its tags)
    entry = Entry(
        id=entry_id,
        title=title,
        published=published,
        updated=updated,
        link=link,
        authors=_authors(meta.get("author", meta.get("authors")), path),
        categories=categories,
        tags=tags,
        summary=summary,
        content=None,
        body=Body(body, name.format, link, digest),
        enclosures=images if episode is None else (episode[0], *images),
        language=(language.strip() if language else None) or name.language or site.language,
        origin=rel,
        episode=None if episode is None else episode[1],
        expires=expires,
    )
    return Built(entry, explicit_id or None, own_date is not None)


def fold_keys(meta: Mapping[str, Any]) -> Mapping[str, Any]:
    """Front matter with its keys in lower case, as Hugo reads them (``Title``,
    ``publishDate``, ``Draft``); a key written in lower case wins over
    another spelling of it."""
    if all(key == key.lower() for key in meta):
        return meta  # nearly every post
    folded = {key.lower(): value for key, value in meta.items() if key != key.lower()}
    folded.update((key, value) for key, value in meta.items() if key == key.lower())
    return folded


def replaces(own_id: str | None, old_id: str) -> bool:
    """Whether a post's own ``id``/``guid`` (``Built.own_id``) replaces
    ``old_id``, the id ledger's (a scheme-less value is the same id under
    another site URL)."""
    return bool(own_id and own_id.strip()) and not links.names_value(old_id, own_id or "")


def _own_date(
    meta: Mapping[str, Any], name: links.FileName, local: tzinfo, path: str
) -> datetime | None:
    """A post's date of its own: front matter, else a Jekyll file name's
    ``YYYY-MM-DD-`` (None: it has none, and takes its file's mtime)."""
    found = first_date(meta, ("date",), local, path)
    held = first_date(meta, _PUBLISH_KEYS, local, path)
    if held is not None and (found is None or held > found):
        found = held  # a later publishDate: held until then (Hugo), and dated then
    if found is None and _bool_word(meta.get("published")) is None:
        found = first_date(meta, ("published",), local, path)
    if found is None and name.date is not None:
        found = datetime.combine(name.date, time(), local).astimezone(UTC)
    return found


def _bad_tag_message(key: str, value: str, site_url: str, published: datetime, slug: str) -> str:
    """What is wrong with a post's own ``tag:`` id, and how to write it (a
    feed holding it would fail the publish gate's ``tag-uri`` rule)."""
    host = (urlsplit(site_url).hostname or "").lower().rstrip(".")
    example = f"tag:{host},{published.year:04d}:{quote(slug, safe=PATH_SAFE)}"
    if bad_tag_uri(example):
        example = "tag:example.com,2024:my-post"
    return (
        f"{key}: {value.strip()!r} is not a tag: URI (RFC 4151: tag:<domain or e-mail>,<date>:"
        f"<name>), and would fail the publish gate in every feed holding the post: write"
        f" it as {example}, or a name alone ({key}: {slug}) for feedwright to make one"
    )


def _utf8(text: str) -> bool:
    """Whether ``text`` holds no lone surrogate (what a name in no UTF-8 decodes to)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def body_digest(body: str) -> str:
    """What identifies a body's text (``Body.digest``): an entry cached without
    its text hashes the same, and a render can tell the file still holds it."""
    return hashlib.blake2b(body.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _bool_word(value: object) -> bool | None:
    """Booleans as YAML 1.1 authors write them (``draft: yes``), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def unlisted(meta: Mapping[str, Any], bundle: bool) -> bool:
    """Whether Hugo lists the page in none of its RSS feeds (``meta``: keys
    as :func:`fold_keys` gives them; ``bundle``: the post is a bundle's
    index): ``build``/``_build`` with ``list: never`` (or ``false``) or
    ``list: local`` (in its section's list only, not the site's nor a
    taxonomy's), or a headless bundle."""
    if bundle and _bool_word(meta.get("headless")) is True:
        return True
    options = meta.get("_build", meta.get("build"))
    if not isinstance(options, Mapping):
        return False
    listed = fold_keys(options).get("list")
    return listed in ("never", "local") or listed is False


def _is_draft(meta: Mapping[str, Any], path: str) -> bool:
    draft = meta.get("draft")
    if draft is not None and _bool_word(draft) is None:
        raise PostError(f"draft: expected true or false, got {draft!r}", path=path)
    return _bool_word(draft) is True or _bool_word(meta.get("published")) is False


def _text(value: object, key: str, path: str) -> str | None:
    """A scalar front matter value as the text the author wrote."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise PostError(f"{key}: expected text, got a {type(value).__name__}", path=path)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _first_heading(body: str) -> str | None:
    found: list[tuple[int, str]] = []
    for md in (_MD_HEADING.search(body), _MD_SETEXT.search(body)):
        if md:
            found.append((md.start(), _MD_INLINE.sub(lambda m: m.group(1) or "", md.group(1))))
    h1 = _HTML_H1.search(body)
    if h1:
        found.append((h1.start(), _TAG.sub("", h1.group(1))))
    for _, raw in sorted(found):
        title = _clean(html.unescape(raw))
        if title:
            return title
    return None


def _names(values: Iterable[object], path: str) -> tuple[str, ...]:
    """Categories or tags in first-seen order, one per case-insensitive name."""
    seen: dict[str, str] = {}
    for name in _flatten(values, path):
        name = _clean(name)
        key = category_key(name)
        if key and key not in seen:
            seen[key] = name
    return tuple(seen.values())


def _one(value: object) -> object:
    """A singular key (``category: New York``) names one category, as in Jekyll
    and Hexo: only the plural keys' strings are split."""
    return [value] if isinstance(value, str) else value


def _flatten(values: Iterable[object], path: str) -> Iterator[str]:
    for value in values:
        if value is None:
            continue
        if isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, list | tuple):
                    yield from _flatten(item, path)
                elif item is not None:
                    yield _text(item, "categories", path) or ""
        elif isinstance(value, str):
            yield from (_SPLIT_COMMAS if _SPLIT_COMMAS.search(value) else _SPACES).split(value)
        else:
            yield _text(value, "categories", path) or ""


def _authors(value: object, path: str) -> tuple[Person, ...]:
    items = value if isinstance(value, list) else [value]
    people: list[Person] = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, dict):
            name = _text(item.get("name"), "author.name", path)
            email = _text(item.get("email"), "author.email", path)
            uri = next(
                (
                    _text(item[k], f"author.{k}", path)
                    for k in ("uri", "url", "link")
                    if item.get(k) is not None
                ),
                None,
            )
            name = _clean(name or "") or (email or "").strip()
            if name:
                people.append(
                    Person(name, (email or "").strip() or None, (uri or "").strip() or None)
                )
        else:
            name = _clean(_text(item, "author", path) or "")
            # "Jane Roe <jane@example.org>", as git and package metadata write it.
            if (mailbox := _MAILBOX.fullmatch(name)) is not None:
                people.append(Person(mailbox[1], mailbox[2]))
            elif name:
                people.append(Person(name))
    return tuple(dict.fromkeys(people))


def _images(meta: Mapping[str, Any], base: str, site_url: str, path: str) -> tuple[Enclosure, ...]:
    urls: dict[str, None] = {}
    for key in _IMAGE_KEYS:
        for raw in _image_values(meta.get(key), key, path):
            text = links.on_site(raw.strip(), site_url)
            url = safe_url(links.join(base, text)) if text else None
            if url and url.startswith(("http://", "https://")):
                urls[url] = None
    return tuple(Enclosure(url, image_type(url)) for url in urls)


def _image_values(value: object, key: str, path: str) -> Iterator[str]:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, list | tuple):
        for item in value:
            yield from _image_values(item, key, path)
    elif isinstance(value, dict):
        # Hugo themes write ``cover: {image: ..., alt: ...}``.
        for sub in ("image", "url", "src"):
            if value.get(sub) is not None:
                yield from _image_values(value[sub], key, path)
                return
    else:
        yield _text(value, key, path) or ""


def image_type(url: str) -> str:
    """The media type an image URL's extension suggests; ``image/jpeg`` if unknown."""
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _IMAGE_TYPES.get(ext, "image/jpeg")


__all__ = ["EXPIRY_KEYS", "Built", "body_digest", "build", "fold_keys", "image_type", "replaces"]
