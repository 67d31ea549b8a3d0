"""What a Hugo site's ``content`` folder says beyond its posts' own text, as
Hugo 0.111 reads it: which folder is a Hugo site's (:func:`naming`, with
what its config says of its pages' names), which file is a leaf bundle's
index (:func:`bundle_index`, the one test the walk, links and ``check``
share), which files are translations into a language other than the site's
default (:func:`translations`), and which file of several makes a page
(:func:`pages`).

- A bundle's index is ``index`` (in that case: ``INDEX.md`` and ``Index.md``
  are pages of their own to Hugo), then at most one more part (a language,
  ``index.fr.md``, or any other word, ``index.backup.md``), then a post
  suffix. The folder is its page.
- A translation is ``name.<lang>.md`` (or ``index.<lang>.md``) where
  ``<lang>`` is one of the languages the Hugo config sets (``languages:``),
  written as it is (``post.FR.md`` is a page ``post.FR``), and not its
  ``defaultContentLanguage`` (``en`` unless set). Hugo lists such a page
  under ``/<lang>/`` and in that language's RSS, never in the main one.
  ``post.de.md`` where ``de`` is no language of the site is the page
  ``post.de``.
- ``post.en.md`` where ``en`` is the default language is the page ``post``
  (:func:`page_name`), at the site's root, or under ``/en/`` with
  ``defaultContentLanguageInSubdir`` and several languages
  (``Naming.prefix``). With ``post.md`` beside it, Hugo makes the page of
  one file only (:func:`pages`).
- A config file that is there but cannot be read (a TOML, YAML or JSON
  error, no permission) leaves the languages it sets unknown: it is a
  problem of the posts folder (``Naming.unread``, :func:`unread_configs`),
  never taken for a site of one language without a word.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ..exceptions import PostError
from .walk import POST_SUFFIXES, Stamp

_SUFFIXES = "|".join(sorted(suffix[1:] for suffix in POST_SUFFIXES))
# A leaf bundle's index: ``index``, one more part or none, a post suffix (in any case).
_BUNDLE_INDEX = re.compile(rf"index(?:\.([^.]+))?\.(?i:{_SUFFIXES})", re.DOTALL)
# A file's name: its stem's last part after a dot (the language, if any), its suffix.
_LAST_PART = re.compile(rf".+\.([^.]+)\.(?i:{_SUFFIXES})", re.DOTALL)
# A language's code as a Hugo config writes it (keys are lower case to Hugo).
LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")

# What only a Hugo site holds beside its ``content`` folder.
_HUGO_CONFIGS = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json", "config.toml")
# Names another tool's config may have (feedwright's own config.yaml):
# Hugo's when they set baseURL.
_MAYBE_HUGO = ("config.yaml", "config.yml", "config.json")
_BASE_URL = re.compile(rb'(?:^|[{,])\s*"?baseurl"?\s*:', re.IGNORECASE | re.MULTILINE)
_CONFIG_DIR = Path("config", "_default")
_MAX_CONFIG = 1 << 20


def bundle_index(name: str) -> bool:
    """Whether a file of this name (no folder) is a leaf bundle's index to Hugo."""
    return _BUNDLE_INDEX.fullmatch(name) is not None


def index_part(name: str) -> str | None:
    """The part between ``index`` and the suffix of a bundle's index
    (``fr`` of ``index.fr.md``; None: there is none, or ``name`` is no index)."""
    found = _BUNDLE_INDEX.fullmatch(name)
    return found[1] if found else None


def _site(folder: str | Path) -> Path | None:
    """The Hugo site whose ``content`` folder holds ``folder``: the nearest
    folder named ``content`` at or above it has a Hugo config beside it."""
    text = os.fspath(folder)
    if "content" not in text:
        return None  # (nearly always: no stat, no Path; read_post asks once a post)
    path = Path(text)
    content = next((p for p in (path, *path.parents) if p.name == "content"), None)
    if content is None:
        return None
    site = content.parent
    if (
        any((site / name).is_file() for name in _HUGO_CONFIGS)
        or (site / _CONFIG_DIR).is_dir()
        or any(_hugo_yaml(site / name) is not None for name in _MAYBE_HUGO)
    ):
        return site
    return None


def _hugo_yaml(path: Path) -> bytes | None:
    """The text of ``path`` if it is a Hugo config (it sets baseURL)."""
    with contextlib.suppress(OSError), open(path, "rb") as file:
        text = file.read(_MAX_CONFIG)
        if _BASE_URL.search(text):
            return text
    return None


def _load(path: Path, unread: list[tuple[str, str]]) -> Mapping[str, Any]:
    """A Hugo config file as a mapping (nothing: it is missing or cannot be
    read; then, if it is there, it goes to ``unread`` with why)."""
    try:
        with open(path, "rb") as file:
            text = file.read(_MAX_CONFIG)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        unread.append((str(path), f"cannot read: {exc.strerror or exc}"))
        return {}
    try:
        if path.suffix == ".toml":
            import tomllib

            doc: Any = tomllib.loads(text.decode("utf-8"))
        elif path.suffix == ".json":
            doc = json.loads(text)
        else:
            import yaml

            doc = yaml.safe_load(text)
    except (ValueError, UnicodeError, RecursionError) as exc:  # (TOML's, JSON's errors too)
        unread.append((str(path), f"cannot be read as {_kind(path)}: {_first_line(exc)}"))
        return {}
    except Exception as exc:  # PyYAML's errors (YAMLError) and its kin
        if type(exc).__module__.startswith("yaml"):
            unread.append((str(path), f"cannot be read as YAML: {_first_line(exc)}"))
            return {}
        raise
    return doc if isinstance(doc, dict) else {}


def _kind(path: Path) -> str:
    """What a config file of this name is written in (``YAML`` for ``.yml``)."""
    return "YAML" if path.suffix == ".yml" else path.suffix[1:].upper()


def _first_line(exc: BaseException) -> str:
    """The first line of what a parser said (its name when it said nothing)."""
    return next(
        (line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__
    )


def _key(doc: Mapping[str, Any], name: str) -> Any:
    """``doc[name]`` with keys in any case (as Hugo reads them)."""
    return next((v for k, v in doc.items() if str(k).lower() == name), None)


class Naming(NamedTuple):
    """How Hugo names the pages feedwright reads of a Hugo site: those of its
    default content language (the others are translations, never read)."""

    language: str  # ``defaultContentLanguage`` (``en`` unless set), as Hugo lowercases it
    codes: tuple[str, ...]  # every language its config sets (the default among them), sorted
    prefix: str  # ``en/`` where Hugo publishes the default language under its folder, else ""
    # Each config file that is there but could not be read, and why (the
    # languages it sets are unknown); in the build's fingerprint with the rest.
    unread: tuple[tuple[str, str], ...] = ()


def naming(folder: str | Path) -> Naming | None:
    """What the config of the Hugo site that holds ``folder`` (a ``content``
    folder or one inside it) says of its pages' names and links (None:
    ``folder`` is in no Hugo site; Jekyll and Hexo sites never are, and
    their posts keep being read whatever folder they are in)."""
    site = _site(folder)
    if site is None:
        return None
    docs: list[Mapping[str, Any]] = []
    unread: list[tuple[str, str]] = []
    for name in (*_HUGO_CONFIGS, *_MAYBE_HUGO):
        if (site / name).is_file() and (name not in _MAYBE_HUGO or _hugo_yaml(site / name)):
            docs.append(_load(site / name, unread))
            break  # Hugo reads the first of them
    for name in ("hugo", "config"):
        for suffix in (".toml", ".yaml", ".yml", ".json"):
            docs.append(_load(site / _CONFIG_DIR / (name + suffix), unread))
    default, codes, in_subdir = "en", set[str](), False
    for doc in docs:
        if isinstance(found := _key(doc, "defaultcontentlanguage"), str) and found.strip():
            default = found.strip().lower()
        if isinstance(found := _key(doc, "languages"), dict):
            codes.update(str(code).lower() for code in found)
        if (found := _key(doc, "defaultcontentlanguageinsubdir")) is not None:
            in_subdir = _true(found)
    for suffix in (".toml", ".yaml", ".yml", ".json"):
        found = _load(site / _CONFIG_DIR / f"languages{suffix}", unread)
        codes.update(str(code).lower() for code in found)
    all_codes = tuple(sorted({*codes, default}))  # (sorted: the post cache's key holds it)
    # (A site of one language is at its root whatever the setting says.)
    prefix = f"{default}/" if in_subdir and len(all_codes) > 1 else ""
    return Naming(default, all_codes, prefix, tuple(unread))


def unread_configs(site: Naming) -> tuple[PostError, ...]:
    """A problem of the posts folder for each config file of ``site`` that
    could not be read: a translation it sets would be read as a post."""
    return tuple(
        PostError(
            f"{why}: the Hugo site's languages are unknown, so a translation"
            " (name.<language>.md) is read as a post of its own until it is fixed",
            path=path,
        )
        for path, why in site.unread
    )


def _true(value: Any) -> bool:
    """Whether Hugo takes a config value for true (``true``, ``"true"``, 1)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true")
    return value is True or (type(value) is int and value != 0)


def translations(files: dict[str, Stamp], site: Naming) -> tuple[dict[str, Stamp], tuple[str, ...]]:
    """``files`` (of a posts folder in the Hugo site ``site``) without the
    translations into another language than the site's default, and those."""
    if len(site.codes) < 2:
        return files, ()
    kept: dict[str, Stamp] = {}
    left: list[str] = []
    for rel, stamp in files.items():
        found = _LAST_PART.fullmatch(rel.rpartition("/")[2])
        if found and found[1] in site.codes and found[1] != site.language:
            left.append(rel)
        else:
            kept[rel] = stamp
    return kept, tuple(left)


def page_name(stem: str, site: Naming) -> str:
    """A file's name (without its suffix) as Hugo names its page in ``site``:
    without the default language's part (``post.en`` -> ``post``), the
    only language a file feedwright reads of it may have."""
    lang = "." + site.language
    return stem[: -len(lang)] if stem.endswith(lang) and len(stem) > len(lang) else stem


def pages(
    files: dict[str, Stamp], site: Naming
) -> tuple[dict[str, Stamp], tuple[tuple[str, str], ...]]:
    """``files`` (of a posts folder in the Hugo site ``site``, without its
    page resources and translations) with one file for each page Hugo makes,
    and the others, each with the file Hugo makes that page of.

    Hugo takes a folder's files with a language part first (``post.en.md``,
    ``index.en.md``), then in the order of their names. A bundle's first
    index is its page (``index.en.md``, else ``index.backup.md`` before
    ``index.md``; the others are page resources). Of files that make one
    page (``post.md``, ``post.en.md``, ``Post.html``: their names without the
    language part and suffix are one in any case) the first of each suffix
    is taken, and the last of those is the page (``post.en.md`` before
    ``post.md``, then ``post.html`` before ``post.md``).
    """
    groups: dict[tuple[str, str], list[tuple[int, str, str, str]]] = {}
    for rel in files:
        parent, _, name = rel.rpartition("/")
        stem, _, suffix = name.rpartition(".")
        base = page_name(stem, site)
        weight = 0 if base == stem else -1  # a language part first
        # A bundle's indexes make the folder's page (bundled() left no other file there).
        key = (parent, "/") if parent and bundle_index(name) else (parent, base.lower())
        groups.setdefault(key, []).append((weight, name, f"{base}.{suffix}", rel))
    replaced: dict[str, str] = {}
    for (_, page), group in groups.items():
        if len(group) < 2:
            continue
        group.sort()
        if page == "/":
            page_file = group[0][3]
        else:
            first: dict[str, str] = {}  # each base name with its suffix: its first file
            for _, _, with_suffix, rel in group:
                first.setdefault(with_suffix, rel)
            page_file = list(first.values())[-1]
        replaced.update((rel, page_file) for *_, rel in group if rel != page_file)
    if not replaced:
        return files, ()
    kept = {rel: stamp for rel, stamp in files.items() if rel not in replaced}
    return kept, tuple(replaced.items())


def bundled(files: dict[str, Stamp]) -> tuple[dict[str, Stamp], tuple[str, ...]]:
    """``files`` without the page resources of Hugo leaf bundles below the
    posts folder: every other file under a folder that holds an index
    (Hugo renders the index only; an index further down is a resource too)."""
    bundles = {
        rel.rpartition("/")[0] + "/"
        for rel in files
        if "/" in rel and bundle_index(rel.rpartition("/")[2])
    }
    if not bundles:
        return files, ()
    kept: dict[str, Stamp] = {}
    resources: list[str] = []
    for rel, stamp in files.items():
        parts = rel.split("/")
        outer = next(
            (i for i in range(1, len(parts)) if "/".join(parts[:i]) + "/" in bundles), None
        )
        if outer is None or (outer == len(parts) - 1 and bundle_index(parts[-1])):
            kept[rel] = stamp
        else:
            resources.append(rel)
    return kept, tuple(resources)


__all__ = [
    "LANGUAGE",
    "Naming",
    "bundle_index",
    "bundled",
    "index_part",
    "naming",
    "page_name",
    "pages",
    "translations",
    "unread_configs",
]
