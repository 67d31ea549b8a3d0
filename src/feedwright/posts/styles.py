"""How Jekyll and Hexo filled their permalink placeholders (``sources[].style``).

A site that moves to feedwright keeps its pages where its old generator put
them; with ``style: jekyll`` or ``style: hexo`` the posts folder's
``permalink`` pattern fills ``{slug}`` and ``{categories}`` as that generator
filled ``:title`` and ``:categories``, so the feeds link to those pages.
Checked by hand against Jekyll 4.3.1 and Hexo 7.3.0 (docs/ids.md).

- Jekyll's ``:title``: the ``slug`` front matter, else the file name after its
  date prefix (trailing dots dropped), slugified in Jekyll's ``pretty`` mode
  with its case kept: every run of characters other than letters, marks,
  digits and ``._~!$&'()+,;=@`` is one ``-``, and one ``-`` is dropped from
  each end (``2024-01-03-Hello World!.md`` -> ``Hello-World!``).
- Jekyll's ``:categories``: every category (the folder's first), in lower
  case, each once, joined with ``/``, not slugified
  (``[New York, Travel]`` -> ``new%20york/travel``); none: left out with its
  ``/``.
- Hexo's ``:title``: the file's path under the posts folder (``source/_posts``)
  without its suffix, as written: subfolders and a date prefix kept, ``slug``
  front matter ignored (Hexo 7 ignores it too): ``2024/a.md`` -> ``2024/a``.

Each is percent-encoded as those generators encode a URL path: what RFC 3986
allows in a path (``!``, ``&``, ``+``, ...) is kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote

from ..text import PATH_SAFE

# Jekyll's Document::DATE_FILENAME_MATCHER, on the file's name.
_JEKYLL_DATED = re.compile(r"\d{2,4}-\d{1,2}-\d{1,2}-(.*)", re.S)
_PRETTY_KEPT = frozenset("._~!$&'()+,;=@")


def jekyll_pretty(text: str) -> str:
    """``Jekyll::Utils.slugify(text, mode: "pretty", cased: true)``."""
    out: list[str] = []
    for ch in text:
        kind = unicodedata.category(ch)
        if kind[0] in "LM" or kind == "Nd" or ch in _PRETTY_KEPT:
            out.append(ch)
        elif not out or out[-1] != "-":  # (a "-" is never kept: each in out ends a run)
            out.append("-")
    return "".join(out).removeprefix("-").removesuffix("-")


def jekyll_title(own_slug: str | None, stem: str) -> str:
    """Jekyll's ``:title``, percent-encoded: ``own_slug`` (front matter), else
    the file name ``stem`` after its date prefix, without trailing dots."""
    if own_slug is None:
        dated = _JEKYLL_DATED.fullmatch(stem)
        own_slug = (dated[1] if dated else stem).rstrip(".")
    return quote(jekyll_pretty(own_slug), safe=PATH_SAFE)


def jekyll_categories(categories: Iterable[str]) -> str:
    """Jekyll's ``:categories``, percent-encoded ("" for none)."""
    seen: dict[str, None] = {}
    for name in categories:
        if name:
            seen.setdefault(name.lower(), None)
    return quote("/".join(seen), safe=PATH_SAFE)


def hexo_title(parent: str, stem: str) -> str:
    """Hexo's ``:title`` (with its default ``new_post_name: :title.md``),
    percent-encoded: the path under the posts folder, without suffix."""
    return quote(f"{parent}/{stem}" if parent else stem, safe=PATH_SAFE)


__all__ = [
    "hexo_title",
    "jekyll_categories",
    "jekyll_pretty",
    "jekyll_title",
]
