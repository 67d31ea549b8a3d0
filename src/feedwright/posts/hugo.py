"""What a Hugo site's ``content`` folder says beyond its posts' own text, as
Hugo 0.111 reads it: which folder is a Hugo site's (:func:`in_hugo_site`),
which file is a leaf bundle's index (:func:`bundle_index`, the one test the
walk, links and ``check`` share), and which files are translations into a
language other than the site's default (:func:`translations`).

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
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
    path = Path(folder)
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


def in_hugo_site(folder: str | Path) -> bool:
    """Whether ``folder`` is a Hugo site's ``content`` folder or inside one.
    Jekyll and Hexo sites never are, and their posts keep being read
    whatever folder they are in."""
    return _site(folder) is not None


def _hugo_yaml(path: Path) -> bytes | None:
    """The text of ``path`` if it is a Hugo config (it sets baseURL)."""
    with contextlib.suppress(OSError), open(path, "rb") as file:
        text = file.read(_MAX_CONFIG)
        if _BASE_URL.search(text):
            return text
    return None


def _load(path: Path) -> Mapping[str, Any]:
    """A Hugo config file as a mapping (nothing: it is missing or unreadable)."""
    try:
        with open(path, "rb") as file:
            text = file.read(_MAX_CONFIG)
        if path.suffix == ".toml":
            import tomllib

            doc: Any = tomllib.loads(text.decode("utf-8"))
        elif path.suffix == ".json":
            doc = json.loads(text)
        else:
            import yaml

            doc = yaml.safe_load(text)
    except (OSError, ValueError, UnicodeError, ImportError, RecursionError):
        return {}
    except Exception as exc:  # PyYAML's errors (YAMLError) and its kin
        if type(exc).__module__.startswith("yaml"):
            return {}
        raise
    return doc if isinstance(doc, dict) else {}


def _key(doc: Mapping[str, Any], name: str) -> Any:
    """``doc[name]`` with keys in any case (as Hugo reads them)."""
    return next((v for k, v in doc.items() if str(k).lower() == name), None)


def languages(folder: str | Path) -> tuple[str, frozenset[str]]:
    """The default content language of the Hugo site that holds ``folder``
    and every language its config sets (the default among them): ``("en",
    {"en"})`` for a site of one language, or no Hugo site."""
    site = _site(folder)
    docs: list[Mapping[str, Any]] = []
    if site is not None:
        for name in (*_HUGO_CONFIGS, *_MAYBE_HUGO):
            if (site / name).is_file() and (name not in _MAYBE_HUGO or _hugo_yaml(site / name)):
                docs.append(_load(site / name))
                break  # Hugo reads the first of them
        for name in ("hugo", "config"):
            for suffix in (".toml", ".yaml", ".yml", ".json"):
                docs.append(_load(site / _CONFIG_DIR / (name + suffix)))
    default, codes = "en", set[str]()
    for doc in docs:
        if isinstance(found := _key(doc, "defaultcontentlanguage"), str) and found.strip():
            default = found.strip().lower()
        if isinstance(found := _key(doc, "languages"), dict):
            codes.update(str(code).lower() for code in found)
    if site is not None:
        for suffix in (".toml", ".yaml", ".yml", ".json"):
            codes.update(
                str(code).lower() for code in _load(site / _CONFIG_DIR / f"languages{suffix}")
            )
    return default, frozenset({*codes, default})


def translations(
    files: dict[str, Stamp], folder: str | Path
) -> tuple[dict[str, Stamp], tuple[str, ...]]:
    """``files`` (of the posts folder ``folder``, in a Hugo site) without the
    translations into another language than the site's default, and those."""
    default, codes = languages(folder)
    if len(codes) < 2:
        return files, ()
    kept: dict[str, Stamp] = {}
    left: list[str] = []
    for rel, stamp in files.items():
        found = _LAST_PART.fullmatch(rel.rpartition("/")[2])
        if found and found[1] in codes and found[1] != default:
            left.append(rel)
        else:
            kept[rel] = stamp
    return kept, tuple(left)


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
    "bundle_index",
    "bundled",
    "in_hugo_site",
    "index_part",
    "languages",
    "translations",
]
