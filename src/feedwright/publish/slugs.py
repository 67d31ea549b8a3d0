"""Category slugs: the folder names of category feeds under ``output.dir``.

A slug is derived from its category alone wherever possible (``C++`` ->
``c-plus-plus``, ``C#`` -> ``c-sharp``), so adding a category never renames
another's feed; only a true collision, a reserved name or an unreadable name
falls back to a short hash of the category key.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ..config import Output
from ..text import category_key
from .write import MANIFEST_NAME

SlugMode = Literal["unicode", "ascii"]

#: The store's meta key of the folder memory: which category each published
#: category folder was for (a new category never takes another's folder).
FOLDERS_KEY = "category-folders"

#: Feed files at the top of ``output.dir``; no category folder may take these names.
TOP_LEVEL_FILES = ("atom.xml", "rss.xml", "feed.json", "index.opml", "index.html", "feed.xsl")
# Files of other parts of feedwright that live in output.dir (the build lock).
_OTHER_RESERVED = (MANIFEST_NAME, ".feedwright.lock")

# `updated` of a feed with no entries: fixed, never the clock; 1970 would trip
# validators' "implausible date" check (anything before 1990).
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MAX_SLUG_BYTES = 80
_HASH_LEN = 8

# Names Windows refuses as files or folders, whatever the extension.
_WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{i}" for i in range(10)]
    + [f"lpt{i}" for i in range(10)]
    + ["com¹", "com²", "com³", "lpt¹", "lpt²", "lpt³"]
)

# Symbols that carry meaning in category names (C++ vs C# vs C): spelled out, not dropped.
_SYMBOL_WORDS = {
    "+": "plus",
    "#": "sharp",
    "&": "and",
    "@": "at",
    "%": "percent",
    "=": "equals",
    "<": "lt",
    ">": "gt",
    "$": "dollar",
    "€": "euro",
    "£": "pound",
    "¥": "yen",
    "*": "star",
    "~": "tilde",
    "|": "pipe",
}

# Latin letters NFKD does not decompose into ASCII.
_ASCII_LETTERS = {
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ł": "l",
    "ı": "i",
    "ŋ": "ng",
    "ħ": "h",
}

# Emoji presentation selectors and joiners: invisible, never part of a slug.
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufe00-\ufe0f\U000e0000-\U000e007f]")
_DASHES = re.compile("-{2,}")
# Characters no file system accepts in a name (besides the separators handled above).
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_LEN]


def _word_chars(text: str, keep: str) -> str:
    """Letters and digits kept; meaningful symbols spelled out; the rest become ``-``."""
    out: list[str] = []
    for ch in text:
        if ch in _SYMBOL_WORDS:
            out.append(f"-{_SYMBOL_WORDS[ch]}-")
            continue
        cat = unicodedata.category(ch)
        if cat[0] in keep:
            out.append(ch)
        elif cat == "So":
            # Emoji and pictographs: their Unicode name is a readable, stable slug part.
            name = unicodedata.name(ch, "")
            out.append(f"-{name.lower().replace(' ', '-')}-" if name else "-")
        else:
            out.append("-")
    return "".join(out)


def _to_ascii(text: str) -> tuple[str, bool]:
    """Transliterate Latin letters; report whether any letter had to be dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    out: list[str] = []
    lost = False
    for ch in decomposed:
        if ch.isascii():
            out.append(ch)
        elif unicodedata.category(ch) == "Mn":
            continue  # accents: é -> e
        elif ch in _ASCII_LETTERS:
            out.append(_ASCII_LETTERS[ch])
        elif unicodedata.category(ch)[0] in "LN":
            lost = True
            out.append("-")
        else:
            out.append(ch)  # symbols: spelled out or turned into separators later
    return "".join(out), lost


def _with_hash(base: str, digest: str) -> str:
    """``base-digest``, trimming ``base`` so the whole stays within MAX_SLUG_BYTES."""
    budget = MAX_SLUG_BYTES - len(digest) - 1
    cut = base.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip("-")
    return f"{cut}-{digest}" if cut else f"c-{digest}"


def _cap(slug: str, key: str) -> str:
    if len(slug.encode("utf-8")) <= MAX_SLUG_BYTES:
        return slug
    return _with_hash(slug, short_hash(key))


def slugify(name: str, mode: SlugMode) -> str:
    """A safe folder name for a category; depends on the category alone.

    ``unicode`` keeps letters of every script (NFKC, lower case, ``-``
    between words); ``ascii`` transliterates Latin accents and, when letters
    cannot be transliterated (CJK, ...), keeps what it can plus a hash of the
    category so distinct categories stay distinct.
    """
    key = category_key(name)
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", name)).casefold()
    lost = False
    if mode == "ascii":
        text, lost = _to_ascii(text)
        text = _word_chars(text, keep="LN")
        text = "".join(ch if ch.isascii() and (ch.isalnum() or ch == "-") else "-" for ch in text)
    else:
        text = _word_chars(text, keep="LNM")
    slug = _DASHES.sub("-", text).strip("-")
    if not slug:
        return f"c-{short_hash(key)}"
    if lost:
        slug = f"{slug}-{short_hash(key)}"
    if slug in _WINDOWS_RESERVED:
        slug = f"{slug}-{short_hash(key)}"
    return _cap(slug, key)


def is_safe_slug(slug: str) -> bool:
    """A single, portable folder name that cannot clash with feedwright's own files."""
    return bool(
        slug
        and not slug.startswith(".")
        and not slug.endswith((".", " "))
        and not _UNSAFE_IN_NAME.search(slug)
        and slug.split(".")[0].casefold() not in _WINDOWS_RESERVED
        and _fold(slug) not in _RESERVED_FOLDED
        and len(slug.encode("utf-8")) <= MAX_SLUG_BYTES
    )


def _fold(slug: str) -> str:
    # Case-insensitive, normalisation-insensitive file systems (macOS, Windows)
    # treat these as the same name, so collisions are judged on this form.
    return unicodedata.normalize("NFC", slug).casefold()


_RESERVED_FOLDED = frozenset(_fold(n) for n in (*TOP_LEVEL_FILES, *_OTHER_RESERVED))


def _renames(output: Output) -> dict[str, str]:
    return {category_key(name): slug for name, slug in sorted(output.rename.items())}


def _hashed(base: str, key: str, length: int) -> str:
    return _with_hash(base, hashlib.sha256(key.encode("utf-8")).hexdigest()[:length])


def _one_of(folder: str, wanted: str, key: str) -> bool:
    """Whether ``folder`` is a name :func:`assign_slugs` gives ``key`` (wanting
    ``wanted``): the slug itself or one of its hashed forms."""
    if _fold(folder) == _fold(wanted):
        return True
    return any(folder == _hashed(wanted, key, n) for n in range(_HASH_LEN, 65, 4))


def assign_slugs(
    categories: Iterable[str], output: Output, held: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map each category key to its folder name; distinct keys never share one.

    Explicit ``output.rename`` slugs are honoured first (if safe). ``held``
    (folder -> category, what earlier builds published: :func:`owners`)
    comes next: a category keeps the folder it was published in while that
    is still a name it would get, and a folder once published for one
    category is never given to another (but by ``output.rename``), even
    after that category left or moved, so a feed URL never changes hands. A
    generated slug that collides with another (or with a reserved name) gets
    a hash of its category key appended; when several new generated slugs
    collide, a category whose name equals the slug keeps it, else the key
    that sorts first.
    """
    renames = _renames(output)
    names: dict[str, str] = {}
    for name in categories:
        names.setdefault(category_key(name), name)
    keys = sorted(names)
    wanted: dict[str, str] = {}
    explicit: set[str] = set()
    for key in keys:
        chosen = renames.get(key)
        if chosen is not None and is_safe_slug(chosen):
            wanted[key] = chosen
            explicit.add(key)
        else:
            wanted[key] = slugify(chosen if chosen is not None else names[key], output.slugs)

    # The folders earlier builds published: kept by their category, barred to others.
    # A folder whose category has no feed now, or moved (output.rename,
    # output.slugs), stays barred: its subscribers would get another's entries.
    kept: dict[str, str] = {}
    barred: dict[str, str] = {}  # folded folder -> its category key
    for folder, name in sorted((held or {}).items()):
        owner = category_key(name)
        if owner in wanted and owner not in explicit and _one_of(folder, wanted[owner], owner):
            kept.setdefault(owner, folder)
        barred[_fold(folder)] = owner
    explicitly = {_fold(wanted[k]) for k in explicit}
    for key in [k for k, folder in kept.items() if _fold(folder) in explicitly]:
        del kept[key]  # output.rename gave its folder to another category

    result: dict[str, str] = {}
    used: set[str] = set(_RESERVED_FOLDED)

    # Explicit slugs claim their names first, then the folders categories
    # were published in, then categories whose name *is* the slug ("a-b"
    # before "A B").
    def rank(key: str) -> tuple[bool, bool, bool, str]:
        return (key not in explicit, key not in kept, _fold(wanted[key]) != _fold(key), key)

    for key in sorted(keys, key=rank):
        slug = kept.get(key, wanted[key])
        length = _HASH_LEN
        while _fold(slug) in used or (key not in explicit and barred.get(_fold(slug), key) != key):
            # Longer digests only matter if two keys share a prefix of their hash.
            slug = _hashed(wanted[key], key, length)
            length += 4
        used.add(_fold(slug))
        result[key] = slug
    return result


def held_folders(raw: str | None, output: Output) -> dict[str, str]:
    """The folder memory the last build left (folder -> category), from the
    text the store keeps under :data:`FOLDERS_KEY`; with none (a state from
    before it, or a lost one), what ``output.dir`` shows: the category of
    each folder's published feed."""
    if raw is None:
        return published_folders(output.dir)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}  # damaged: forgotten, as a lost state forgets it
    if not isinstance(data, dict):
        return {}
    return {f: k for f, k in data.items() if isinstance(f, str) and isinstance(k, str)}


_ATOM = "{http://www.w3.org/2005/Atom}"


def _feed_category(path: Path) -> str | None:
    """The feed-level category of a category feed feedwright published, read
    up to its first entry; None for any other file."""
    from lxml import etree

    category = None
    ours = False
    try:
        with path.open("rb") as file:  # (a path that is not UTF-8: lxml would refuse its name)
            for _, element in etree.iterparse(
                file, events=("end",), resolve_entities=False, no_network=True
            ):
                tag = element.tag
                if tag in (f"{_ATOM}entry", "item"):
                    break
                if tag == f"{_ATOM}category" and element.getparent().tag == f"{_ATOM}feed":
                    category = category or element.get("term")
                elif tag == "category" and element.getparent().tag == "channel":
                    category = category or element.text
                elif tag in (f"{_ATOM}generator", "generator"):
                    ours = (element.text or "").strip() == "feedwright"
    except (OSError, etree.Error):
        return None
    return category if ours and category else None


def published_folders(root: Path) -> dict[str, str]:
    """Folder -> category of the category feeds published in ``root``."""
    found: dict[str, str] = {}
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return found
    for folder in folders:
        for name in ("atom.xml", "rss.xml"):
            category = _feed_category(folder / name)
            if category is not None:
                found[folder.name] = category
                break
    return found


def folders_text(feeds: Mapping[str, str], held: Mapping[str, str]) -> str:
    """The folder memory to keep under :data:`FOLDERS_KEY` after a build:
    its category folders (category -> folder) beside every other folder
    held before (``held``: the memory it started with, :func:`held_folders`)."""
    return json.dumps(owners(feeds, held), ensure_ascii=True)


def owners(feeds: Mapping[str, str], held: Mapping[str, str]) -> dict[str, str]:
    """The folder memory after a build (folder -> category, as its feed
    names it): this build's ``feeds`` (category -> folder), and every other
    folder held before, by the category it was last published for."""
    now = {folder: name for name, folder in feeds.items()}
    taken = {_fold(folder) for folder in now}
    for folder, name in held.items():
        if _fold(folder) not in taken:
            now[folder] = name
    return dict(sorted(now.items()))


__all__ = [
    "EPOCH",
    "FOLDERS_KEY",
    "MAX_SLUG_BYTES",
    "TOP_LEVEL_FILES",
    "assign_slugs",
    "folders_text",
    "held_folders",
    "is_safe_slug",
    "owners",
    "published_folders",
    "short_hash",
    "slugify",
]
