"""Decide which feeds to publish and what goes in each (pure, no I/O).

``plan(entries, output, site)`` groups entries by category (matched with
:func:`feedwright.text.category_key`, so ``Tech`` and ``tech`` are one feed),
picks a safe folder name (slug) for each, orders entries newest first and
applies ``output.limit``. The combined feed comes first, then category feeds
by slug, so the result never depends on the order entries arrive in.

Slugs are folder names under ``output.dir``. A slug is derived from its
category alone wherever possible (``C++`` -> ``c-plus-plus``, ``C#`` ->
``c-sharp``), so adding a category never renames another's feed; only a true
collision, a reserved name or an unreadable name falls back to a short hash
of the category key.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from ..config import Output, Site
from ..model import Entry, P, Planned, newest_first
from ..text import category_key, strip_xml_illegal
from .archives import Chain
from .slugs import EPOCH, assign_slugs

# (covariant: a feed of entries is a feed of entries or heads)
P_co = TypeVar("P_co", bound=Planned, covariant=True)


@dataclass(frozen=True, slots=True)
class FeedOf(Generic[P_co]):
    """One feed to publish: the combined feed (``slug is None``) or one category.

    Planned on entries or on their heads (``model.Head``: a build plans every
    post but publishes a few); publishers take :data:`FeedPlan`, of entries."""

    slug: str | None  # folder under output.dir; None for the combined feed
    category: str | None  # display name; None for the combined feed
    title: str
    entries: tuple[P_co, ...]  # newest first, at most output.limit (0 = all)
    updated: datetime  # newest change among the entries; EPOCH when there are none
    chain: Chain | None = None  # RFC 5005: where it sits among its archives (history.py)
    tombstones: tuple[tuple[str, datetime], ...] = ()  # RFC 6721: (entry id, when it left)

    def path(self, filename: str) -> str:
        """Where one of this feed's files lives, relative to output.dir (POSIX)."""
        return filename if self.slug is None else f"{self.slug}/{filename}"


FeedPlan = FeedOf[Entry]


@functools.lru_cache(maxsize=4096)
def _clean_name(category: str) -> tuple[str, str]:
    """(the name without XML-illegal characters and with its runs of spaces
    made one, its category key)."""
    name = strip_xml_illegal(category)[0]
    return " ".join(name.split()), category_key(name)


@functools.lru_cache(maxsize=4096)
def _cleaned(categories: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(cleaned name, category key) of each. A 10,000-post site has ~4,000
    distinct tuples but only tens of names: each name is cleaned once (a
    build would clean every tuple's names anew)."""
    return tuple(map(_clean_name, categories))


@functools.lru_cache(maxsize=4096)
def category_keys(categories: tuple[str, ...]) -> tuple[str, ...]:
    """The distinct category keys of ``categories``, in order."""
    return tuple(dict.fromkeys([key for _, key in _cleaned(categories)]))


def _groups(pool: list[P]) -> dict[tuple[str, ...], list[int]]:
    """The positions in ``pool`` of the entries with each tuple of categories,
    ascending (so each group is newest first too), in order of first appearance.
    A 10,000-post site has a few thousand distinct tuples: the rest of the
    plan works per group, not per entry."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, entry in enumerate(pool):
        categories = entry.categories
        if categories:
            group = groups.get(categories)
            if group is None:
                groups[categories] = [index]
            else:
                group.append(index)
    return groups


def _display_names(
    pool: list[P],
    groups: dict[tuple[str, ...], list[int]] | None = None,
    preferred: Iterable[str] = (),
) -> dict[str, str]:
    """Category key -> the spelling most of its entries use; ties go to the
    spelling first in ``preferred`` (the config's), then to the oldest entry's
    (by published, then id). Keys in the order they first appear oldest first.

    ``pool`` is newest first (:func:`newest_first`), ``groups`` its
    :func:`_groups`. Most used, then oldest, so a feed's title does not change
    when one new post spells the category differently.
    """
    if groups is None:
        groups = _groups(pool)
    # key -> spelling -> [entries using it, the oldest of them (published, id), position]
    spellings: dict[str, dict[str, list[Any]]] = {}
    for categories, group in groups.items():
        # Newest first with ties by id: the oldest time is at the end, and of
        # the entries sharing it, the first has the smallest id.
        at = len(group) - 1
        oldest = pool[group[at]].published
        while at > 0 and pool[group[at - 1]].published == oldest:
            at -= 1
        mark = (oldest, pool[group[at]].id)
        counted: set[str] = set()
        for index, (spelling, key) in enumerate(_cleaned(categories)):
            if key:
                if spelling in counted:
                    continue
                counted.add(spelling)
                seen = spellings.setdefault(key, {}).get(spelling)
                if seen is None:
                    spellings[key][spelling] = [len(group), mark, index]
                else:
                    seen[0] += len(group)
                    if mark < seen[1]:
                        seen[1:] = [mark, index]
    rank: dict[str, int] = {}
    for name in preferred:
        rank.setdefault(" ".join(strip_xml_illegal(name)[0].split()), len(rank))
    last = len(rank)
    chosen: dict[str, tuple[str, tuple[Any, ...]]] = {}
    for key, options in spellings.items():
        spelling = min(
            options, key=lambda s: (-options[s][0], rank.get(s, last), options[s][1], options[s][2])
        )
        first = min((o[1], o[2]) for o in options.values())
        chosen[key] = (spelling, first)
    order = sorted(chosen, key=lambda key: chosen[key][1])
    return {key: chosen[key][0] for key in order}


def _members(
    pool: list[P],
    groups: dict[tuple[str, ...], list[int]],
    wanted: Iterable[str],
    limit: int,
) -> dict[str, tuple[P, ...]]:
    """Each wanted category key's entries, newest first, at most ``limit`` (0: all).

    Each group gives its newest ``limit`` to every key of its tuple; a key's
    groups are then merged by position in ``pool``.
    """
    runs: dict[str, list[list[int]]] = {key: [] for key in wanted}
    for categories, group in groups.items():
        head = group[:limit] if limit > 0 else group
        for key in category_keys(categories):
            if (found := runs.get(key)) is not None:
                found.append(head)
    members: dict[str, tuple[P, ...]] = {}
    for key, found in runs.items():
        if len(found) == 1:
            merged = found[0]
        else:
            merged = sorted(chain.from_iterable(found))  # timsort merges the runs
            if limit > 0:
                del merged[limit:]
        members[key] = tuple(pool[i] for i in merged)
    return members


def newest(entries: Iterable[P]) -> datetime:
    """A feed's ``updated``: its newest entry's time (EPOCH for none)."""
    return max((max(e.updated, e.published) for e in entries), default=EPOCH)


def _limited(ordered: list[P], limit: int) -> tuple[P, ...]:
    return tuple(ordered[:limit] if limit > 0 else ordered)


def category_title(site: Site, category: str) -> str:
    return f"{site.title} - {category}"


def plan(
    entries: Iterable[P], output: Output, site: Site, held: Mapping[str, str] | None = None
) -> list[FeedOf[P]]:
    """Every feed to publish: combined first, then one per category ordered by slug.

    Entries sharing an id are published once (the first one given wins).
    Category names are matched and displayed without XML-illegal characters.
    With ``output.categories`` as a list, only those categories get feeds,
    and each gets one even while it has no entries (subscribers see an empty
    feed rather than a 404); the combined feed always has everything.
    ``held``: the folders earlier builds published (slugs.assign_slugs).
    """
    unique: dict[str, P] = {}
    for entry in entries:
        unique.setdefault(entry.id, entry)
    # Sorted once, newest first: every feed's members are then collected in
    # feed order, instead of each feed sorting (and keying) its own again.
    pool = newest_first(unique.values())
    groups = _groups(pool)

    preferred = [] if output.categories == "all" else list(output.categories)
    names = _display_names(pool, groups, [*preferred, *output.rename])
    wanted: Mapping[str, str]
    if output.categories == "all":
        wanted = names
    else:
        wanted = {}
        for name in output.categories:
            name = strip_xml_illegal(name)[0]
            key = category_key(name)
            if key:
                wanted.setdefault(key, names.get(key, " ".join(name.split())))
    slugs = assign_slugs(wanted.values(), output, held)

    members = _members(pool, groups, wanted, output.limit)

    combined = _limited(pool, output.limit)
    plans = [FeedOf(None, None, site.title, combined, newest(combined))]
    for key in sorted(wanted, key=lambda k: slugs[k]):
        chosen = members[key]
        plans.append(
            FeedOf(
                slug=slugs[key],
                category=wanted[key],
                title=category_title(site, wanted[key]),
                entries=chosen,
                updated=newest(chosen),
            )
        )
    return plans


# --------------------------------------------------------------------------- helpers
# Shared by every serialiser so Atom, RSS and JSON say the same thing.

_URI_SAFE = "!#$%&'()*+,/:;=?@[]~"


def to_uri(url: str) -> str:
    """Percent-encode what a URI may not carry (non-ASCII, spaces); IDNA for hosts.

    Existing ``%xx`` escapes are kept, so encoding twice changes nothing.
    """
    url = url.strip()
    if url.isascii() and " " not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return quote(url, safe=_URI_SAFE)
    netloc = parts.netloc
    if not netloc.isascii():
        userinfo, at, hostport = netloc.rpartition("@")
        host, colon, port = hostport.partition(":")
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            host = quote(host, safe="")
        netloc = quote(userinfo, safe=_URI_SAFE) + at + host + colon + port
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=_URI_SAFE),
            quote(parts.query, safe=_URI_SAFE),
            quote(parts.fragment, safe=_URI_SAFE),
        )
    )


def feed_url(site: Site, output: Output, relpath: str) -> str:
    """Public URL of an output file: site.url serves output.dir's parent folder."""
    folder = output.dir.name
    prefix = f"{quote(folder, safe='')}/" if folder else ""
    return to_uri(site.url) + prefix + quote(relpath, safe="/")


def entry_terms(entry: Entry) -> tuple[str, ...]:
    """Categories then tags, each once (case-insensitively), in the order written."""
    seen: dict[str, str] = {}
    for term in (*entry.categories, *entry.tags):
        key = category_key(term)
        if key and key not in seen:
            seen[key] = " ".join(term.split())
    return tuple(seen.values())


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment, whitespace collapsed."""
    if not fragment.strip():
        return ""
    # Imported here: most builds never need it, and lxml.html is slow to import.
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return " ".join(fragment.split())
    return " ".join(str(root.text_content()).split())


def excerpt(text: str, limit: int = 280) -> str:
    """At most ``limit`` characters of ``text``, cut between words."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def entry_texts(entry: Entry, mode: Literal["full", "summary"]) -> tuple[str | None, str | None]:
    """(summary HTML, content HTML) to publish for ``output.content`` = ``mode``.

    ``summary`` publishes no content; an entry without a summary gets a plain
    excerpt of its content instead, so readers still see something.
    """
    summary = entry.summary or None
    if mode == "full":
        return summary, entry.content or None
    if summary is None and entry.content:
        text = excerpt(html_to_text(entry.content))
        summary = html.escape(text, quote=False) if text else None
    return summary, None


__all__ = [
    "FeedPlan",
    "category_keys",
    "category_title",
    "entry_terms",
    "entry_texts",
    "excerpt",
    "feed_url",
    "html_to_text",
    "newest",
    "plan",
    "to_uri",
]
