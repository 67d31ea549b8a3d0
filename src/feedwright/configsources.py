"""config.yaml's ``sources:`` list: local posts folders and remote feeds.

Each item is ``posts: <folder>`` (a :class:`PostsSource`) or ``feed: <url>``
(a :class:`FeedSource`: its own title, categories, category map, interval,
``filters:`` and priority). :func:`read_sources` checks the list for
:func:`feedwright.config.parse`, naming the key and line of a mistake. The
keys are documented with all the others, in config.py's docstring.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from .configdoc import Doc as _Doc
from .configdoc import Section as _Section
from .configdoc import any_int as _any_int
from .configdoc import boolean as _bool
from .configdoc import did_you_mean, name_list
from .configdoc import duration as _duration
from .configdoc import string as _str
from .configdoc import url as _url
from .filters import Filters

# Whose rules fill a posts folder's {slug} and {categories} (posts/styles.py).
Style = Literal["jekyll", "hexo"]
STYLES: tuple[Style, ...] = ("jekyll", "hexo")


@dataclass(frozen=True, slots=True)
class PostsSource:
    path: Path  # absolute
    permalink: str | None = None  # e.g. "{year}/{month}/{day}/{slug}/"
    style: Style | None = None  # fill {slug}, {categories} as Jekyll or Hexo did (posts/styles.py)
    categories: tuple[str, ...] = ()  # added to every post of this folder
    priority: int = 0  # the same article from several sources: the highest wins (bestcopy.py)
    # The folder as the config names it (absolute, symlinks kept): the id
    # ledger's paths are relative to the config's folder through it, so a
    # symlinked posts folder or site folder does not make them the machine's.
    named: Path | None = field(default=None, metadata={"internal": True})

    @property
    def key(self) -> str:
        return f"posts:{self.path}"


@dataclass(frozen=True, slots=True)
class FeedSource:
    url: str
    title: str | None = None
    categories: tuple[str, ...] = ()
    category_map: Mapping[str, str | None] = field(default_factory=dict)
    keep_categories: bool = True
    every: timedelta | None = None  # None: schedule.every
    filters: Filters = field(default_factory=Filters)  # which entries are published
    priority: int = 0  # the same article from several sources: the highest wins (bestcopy.py)

    @property
    def key(self) -> str:
        return self.url


Source = PostsSource | FeedSource


def read_sources(doc: _Doc, root: _Section, base: Path) -> tuple[Source, ...]:
    """The ``sources:`` list (relative folders resolve against ``base``); a
    source listed twice is a mistake."""
    root.seen.add("sources")
    raw_sources = root.value.get("sources") or []
    if not isinstance(raw_sources, list):
        raise doc.error("sources", "must be a list of `- posts: ...` / `- feed: ...` items")
    sources = tuple(_source(doc, f"sources[{i}]", v, base) for i, v in enumerate(raw_sources))
    seen: dict[str, str] = {}
    for i, source in enumerate(sources):
        # One address however its scheme and host are cased (HTTP://Example.com/f).
        same = same_address(source.key)
        if same in seen:
            other = "" if seen[same] == source.key else f" (as {seen[same]})"
            raise doc.error(f"sources[{i}]", f"listed twice: {source.key}{other}")
        seen[same] = source.key
    return sources


def same_address(key: str) -> str:
    """A feed's URL with its scheme and host in lower case (what tells two
    subscriptions apart); a posts folder's key as it is."""
    scheme, sep, rest = key.partition("://")
    if not sep:
        return key
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


def _category_map(value: Any) -> dict[str, str | None]:
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of incoming category -> name (or null to drop)")
    return {_str(k): (None if v is None else _str(v)) for k, v in value.items()}


# What a posts folder's ``permalink`` pattern may hold (posts/links.py fills them).
PLACEHOLDERS = ("year", "month", "day", "slug", "title", "category", "categories", "filename")
PLACEHOLDER = re.compile(r"\{(\w*)\}")
# Jekyll's and Hexo's ":year/:month/:title/": a pattern copied from their config.
_COLON = re.compile(r"(?:^|/|-|_|\.):([a-z_]+)")


def _permalink(value: Any) -> str:
    """A posts folder's link pattern, its placeholders checked now: one
    unknown placeholder would otherwise fail every post of the folder and
    empty its feeds."""
    pattern = _str(value)
    unknown = [name for name in PLACEHOLDER.findall(pattern) if name not in PLACEHOLDERS]
    known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    if unknown:
        raise ValueError(f"unknown placeholder {{{unknown[0]}}} (use {known})")
    if pattern in _JEKYLL_NAMED:
        written = _JEKYLL_NAMED[pattern]
        ours = _from_colons(written)
        said = f"{pattern!r} is Jekyll's name for {written!r}"
        if ours is None:
            raise ValueError(f"{said}, which feedwright cannot fill (use {known})")
        raise ValueError(f"{said}: write {ours!r} with `style: jekyll`")
    if not colon_placeholder(pattern) and not {"slug", "title", "filename"} & set(
        PLACEHOLDER.findall(pattern)
    ):
        raise ValueError(
            f"{pattern!r} names no post: every post would have one link; add {{slug}}"
            " (or {title}, {filename}), as in {year}/{month}/{slug}/"
        )
    if colon := colon_placeholder(pattern):
        said = f"placeholders are written {{year}}, not :{colon} as in Jekyll and Hexo"
        if (ours := _from_colons(pattern)) is not None:
            jekyll = ":output_ext" in pattern or "categories" in _COLON.findall(pattern)
            style = "`style: jekyll`" if jekyll else "`style: jekyll` (or `style: hexo`)"
            raise ValueError(
                f"{said}: write {ours!r} with {style}, which fills {{slug}} as its :title"
            )
        raise ValueError(f"{said} (use {known})")
    return pattern


# Jekyll's and Hexo's default permalinks, with their style (docs/ids.md).
_DEFAULTS = {
    "jekyll": "{categories}/{year}/{month}/{day}/{slug}.html",
    "hexo": "{year}/{month}/{day}/{slug}/",
}
# Jekyll's named permalinks (its default is `date`).
_JEKYLL_NAMED = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}

# Jekyll's and Hexo's placeholders as ours: with a `style`, :title is {slug} and
# Jekyll's :categories {categories}; :name is the file name (Hexo's, after its
# folder), :post_title the title. (:i_month is not our zero-padded {month}.)
_COLON_NAMES = {
    "year": "year", "month": "month", "day": "day",
    "title": "slug", "slug": "slug", "name": "filename", "post_title": "title",
    "categories": "categories", "category": "category",
}  # fmt: skip


def _from_colons(pattern: str) -> str | None:
    """A Jekyll/Hexo pattern written with our placeholders; None if one has no equal."""
    pattern = pattern.replace(":output_ext", ".html")
    names = _COLON.findall(pattern)
    if any(name not in _COLON_NAMES for name in names):
        return None
    ours = _COLON.sub(lambda m: m[0][: -len(m[1]) - 1] + "{" + _COLON_NAMES[m[1]] + "}", pattern)
    return None if re.search(r":[a-z_]", ours) else ours


def colon_placeholder(link: str) -> str | None:
    """The first Jekyll/Hexo placeholder (``:year``) in a link pattern, if any."""
    found = _COLON.search(link)
    return found[1] if found else None


def _style(value: Any) -> Style:
    name = _str(value)
    for style in STYLES:
        if name == style:
            return style
    raise ValueError(f"{name!r} is no style: jekyll or hexo")


def _source(doc: _Doc, key: str, value: Any, base: Path) -> Source:
    sec = _Section(doc, key, value)
    if "posts" in sec.value and "feed" in sec.value:
        raise doc.error(key, "a source is either `posts:` or `feed:`, not both")
    if "posts" in sec.value:
        written = base / sec.require("posts", _str)
        folder = doc.resolve(written, sec.path("posts"))
        if not folder.is_dir():
            # A typo here must not publish empty feeds over the real ones.
            raise doc.error(sec.path("posts"), f"no such folder: {folder}")
        source: Source = PostsSource(
            path=folder,
            named=Path(os.path.normpath(written)),
            permalink=sec.get("permalink", _permalink, None),
            style=sec.get("style", _style, None),
            categories=sec.get("categories", name_list, ()),
            priority=sec.get("priority", _any_int, 0),
        )
    elif "feed" in sec.value:
        source = FeedSource(
            url=sec.require("feed", _url),
            title=sec.get("title", _str, None),
            categories=sec.get("categories", name_list, ()),
            category_map=sec.get("category_map", _category_map, {}),
            keep_categories=sec.get("keep_categories", _bool, True),
            every=sec.get("every", _duration, None),
            filters=_filters(doc, sec, "filters"),
            priority=sec.get("priority", _any_int, 0),
        )
    else:
        for name in sec.value:  # `post:`, `feeds:`: the key meant, named on its line
            hint = did_you_mean(str(name), ("posts", "feed"))
            if hint:
                raise doc.error(sec.path(str(name)), "unknown key" + hint)
        raise doc.error(key, "a source needs `posts: <folder>` or `feed: <url>`")
    if isinstance(source, PostsSource) and source.style and not source.permalink:
        raise doc.error(
            sec.path("style"),
            f"`style: {source.style}` fills the `permalink` pattern's placeholders: set"
            f" `permalink:` too ({_DEFAULTS[source.style]!r} is {source.style.title()}'s default)",
        )
    sec.finish()
    return source


def _filters(doc: _Doc, parent: _Section, name: str) -> Filters:
    """``filters: {include: [rule, ...], exclude: [...]}``; a bad rule names its own line."""
    from .filters import rule

    if parent.value.get(name) is None:
        parent.seen.add(name)
        return Filters()
    sec = parent.section(name)
    lists: dict[str, tuple[Any, ...]] = {}
    for kind in ("include", "exclude"):
        sec.seen.add(kind)
        raw = sec.value.get(kind)
        if raw is None:
            lists[kind] = ()
            continue
        items = raw if isinstance(raw, list) else [raw]
        rules = []
        for i, item in enumerate(items):
            key = sec.path(kind) + (f"[{i}]" if isinstance(raw, list) else "")
            try:
                rules.append(rule(item))
            except ValueError as exc:
                raise doc.error(key, str(exc)) from None
        lists[kind] = tuple(rules)
    sec.finish()
    return Filters(include=lists["include"], exclude=lists["exclude"])


__all__ = ["FeedSource", "PostsSource", "Source", "read_sources"]
