"""One copy of each article, the best one (pure, no I/O).

The same article often arrives through several sources: the author's blog,
and two planets that repost it. It is published once::

    copies are the same article when
        their canonical links are equal (canonical_link: no scheme, no
        ``www.``/``m.``/``amp.``, no trailing slash or fragment, no
        ``utm_*``/``fbclid``-style parameters, AMP variants as the page),
        or, failing that, two remote entries' fingerprints are
        (title + the start of the text, case and spacing ignored),
        or two entries of one feed without a link have the same title and text
    the best copy is the one with the smallest rank:
        (-priority,                  the source's ``priority:`` (default 0)
         0 local posts | 1 the feed whose site is the article's host | 2 any other feed,
         the source's position in the config,
         the copy seen first,        (of one feed's copies: they come in that order)
         the entry's id)
    the winner keeps its own link; it gets the categories of every copy,
    and the others as ``Entry.alternates`` (link, feed, title), best first;
    a remote winner is published under the id its article was first
    published with (:func:`first_ids`), its own id otherwise.

Local posts are planned by their heads (no text): they are matched by link
only. Two local posts are never merged with each other (the posts reader
reports two posts with one link).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit

from .config import Config, FeedSource, PostsSource
from .model import Alternate, Entry, Head

# Query parameters that say how a reader got to a page, not which page it is.
TRACKING = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
        "mc_cid", "mc_eid", "_ga", "_gl", "ref_src", "ref_url", "cmpid", "ncid",
        "spm", "share", "amp", "outputtype", "output",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "hmb_", "pk_", "mtm_", "at_", "oly_")
_HOST_PREFIXES = ("www.", "m.", "amp.", "mobile.")
_AMP_CACHE = re.compile(r"^[^/]+\.cdn\.ampproject\.org$")
_WORDS = re.compile(r"\w+")
_TAGS = re.compile(r"<[^>]*>")
FINGERPRINT_TEXT = 300  # characters of text a fingerprint takes (after the title)
HTML_LOOKED_AT = 1500  # characters of an entry's HTML read to find them
# The store's meta key for first_ids' memory: canonical link -> the id its article keeps.
ARTICLE_IDS = "article-ids"
MIN_FINGERPRINT_TEXT = 40  # less text than this: too little to tell two articles apart


@functools.lru_cache(maxsize=1 << 16)  # the daemon plans the same links build after build
def canonical_link(link: str | None) -> str | None:
    """The page a link names, for comparing: ``https://www.Example.com/a/?utm_source=x``
    and ``http://example.com/a`` are one. None for what is not an http(s) URL."""
    if not link:
        return None
    try:
        parts = urlsplit(link.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    path = parts.path or "/"
    if _AMP_CACHE.match(host):
        # Google's AMP cache: /c/s/example.com/path (s: https) names the page.
        bits = path.split("/")
        at = 3 if len(bits) > 3 and bits[1] in ("c", "v") and bits[2] == "s" else 2
        if len(bits) > at:
            host, path = bits[at].lower(), "/" + "/".join(bits[at + 1 :])
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
            break
    if port not in (None, 80, 443):
        host = f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", path)
    path = re.sub(r"(?:/amp|\.amp)(?=/?$)|/amp(?=/)", "", path, flags=re.I)
    path = re.sub(r"\.amp(\.html?)$", r"\1", path, flags=re.I)
    path = re.sub(r"/(?:index\.html?)?$", "", path, flags=re.I)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING and not k.lower().startswith(_TRACKING_PREFIXES)
    ]
    tail = "?" + urlencode(sorted(query)) if query else ""
    return f"{host}{path}{tail}"


def _words(entry: Entry) -> str:
    """The start of an entry's text: its words, lower-cased."""
    # The start is all a fingerprint takes: bound the work for a long article.
    text = (entry.content or entry.summary or "")[:HTML_LOOKED_AT]
    if "<" in text:
        text = _TAGS.sub(" ", text)
    return " ".join(_WORDS.findall(unicodedata.normalize("NFKC", text).casefold()))


def fingerprint(entry: Entry) -> str | None:
    """Title + the start of the text, lower-cased, punctuation and spacing
    ignored; None when the text is too short to tell two articles apart."""
    words = _words(entry)
    if len(words) < MIN_FINGERPRINT_TEXT:
        return None
    digest = hashlib.sha256(f"{title_key(entry)}\0{words[:FINGERPRINT_TEXT]}".encode())
    return digest.hexdigest()[:32]


def title_key(entry: Entry | Head) -> str:
    """A title's words, lower-cased: copies with different links are only
    fingerprinted when their titles agree (cheap, and most titles are unique)."""
    title = getattr(entry, "title", "") or ""
    return " ".join(_WORDS.findall(unicodedata.normalize("NFKC", title).casefold()))


Candidate = Head | Entry
# Which posts folder a post (by id) came from.
PostSourceOf = Callable[[str], PostsSource | None]


class Chosen(NamedTuple):
    """What :func:`choose` makes of the candidates."""

    planned: list[Candidate]  # the best copy of each article, in their order
    # For each winning *post* that took something from other copies: its
    # categories now and its alternates, to apply to its entry once made
    # (posts are planned by heads, which carry neither).
    posts: dict[str, tuple[tuple[str, ...], tuple[Alternate, ...]]]
    # For each winning remote entry: the ids of the copies it won over, best first.
    beaten: dict[str, tuple[str, ...]]


def choose(candidates: Sequence[Candidate], config: Config, post_source: PostSourceOf) -> Chosen:
    """The best copy of each article among ``candidates`` (one per id
    already; remote entries in the order they were first seen)."""
    order = {id(s): n for n, s in enumerate(config.sources)}
    feeds = {s.key: s for s in config.feed_sources}
    ranks: list[tuple[Any, ...]] = []
    for arrival, c in enumerate(candidates):
        if c.source is None:
            src: PostsSource | FeedSource | None = post_source(c.id)
            klass = 0
        else:
            src = feeds.get(c.origin) if isinstance(c, Entry) else None
            klass = 1 if _same_site(c) else 2
        priority = src.priority if src is not None else 0
        position = order.get(id(src), len(order)) if src is not None else len(order)
        # ``arrival``: remote entries come in the order they were first seen
        # (pipeline.remote_entries), so of one feed's copies the oldest wins.
        ranks.append((-priority, klass, position, arrival, c.id))

    groups = _groups(candidates)
    if not groups:
        return Chosen(list(candidates), {}, {})
    out: list[Candidate | None] = list(candidates)
    posts_changed: dict[str, tuple[tuple[str, ...], tuple[Alternate, ...]]] = {}
    beaten: dict[str, tuple[str, ...]] = {}
    for members in groups:
        members.sort(key=lambda i: ranks[i])
        best, rest = members[0], members[1:]
        winner = candidates[best]
        categories = list(winner.categories)
        seen = {c.casefold() for c in categories}
        alternates = []
        for i in rest:
            other = candidates[i]
            out[i] = None
            for cat in other.categories:
                if cat.casefold() not in seen:
                    seen.add(cat.casefold())
                    categories.append(cat)
            alternates.append(_alternate(other, feeds))
        if isinstance(winner, Entry):
            out[best] = replace(
                winner,
                categories=tuple(categories),
                alternates=winner.alternates + tuple(alternates),
            )
            beaten[winner.id] = tuple(candidates[i].id for i in rest)
        else:
            out[best] = winner._replace(categories=tuple(categories))
            posts_changed[winner.id] = (tuple(categories), tuple(alternates))
    return Chosen([c for c in out if c is not None], posts_changed, beaten)


def first_ids(
    chosen: Chosen, kept: Mapping[str, str], shown: Callable[[], set[str]]
) -> tuple[list[Candidate], dict[str, str]]:
    """The chosen copies, each remote winner under the id its article was
    first published with: readers know an article by that id, so a better
    copy arriving later (the author's own feed, added or back from a failure,
    after a planet's copy was published) must not make it new to them.

    ``kept``: canonical link -> the id its article keeps (what this returned
    before); ``shown()``: the ids the feeds showed after the last build (read
    only when a winner beat a copy). Returns the planned list and ``kept`` as
    it is now (an article no longer planned is forgotten)."""
    planned = chosen.planned
    if not kept and not chosen.beaten:
        return planned, {}
    taken = {c.id for c in planned}
    seen: set[str] | None = None
    now: dict[str, str] = {}
    out: list[Candidate] = []
    for c in planned:
        link = canonical_link(c.link) if isinstance(c, Entry) and c.source else None
        if link is None or not isinstance(c, Entry):
            out.append(c)
            continue
        first = kept.get(link)
        if first is None and (beaten := chosen.beaten.get(c.id)):
            seen = shown() if seen is None else seen
            if c.id not in seen:
                first = next((i for i in beaten if i in seen), None)
        if first is not None and (first == c.id or first not in taken):
            now[link] = first
            if first != c.id:
                c = replace(c, id=first)
        out.append(c)
    return out, now


def _groups(candidates: Sequence[Candidate]) -> list[list[int]]:
    """Positions of the copies of each article seen more than once (union-find
    over the canonical links and fingerprints)."""
    parent = list(range(len(candidates)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    has_post = [c.source is None for c in candidates]  # by root
    titles: dict[str, int] = {}
    for c in candidates:
        if isinstance(c, Entry) and c.source is not None:
            key = title_key(c)
            titles[key] = titles.get(key, 0) + 1
    for i, c in enumerate(candidates):
        keys = []
        link = canonical_link(c.link)
        if link is not None:
            keys.append("L" + link)
        if isinstance(c, Entry) and c.source is not None and titles[title_key(c)] > 1:
            print_ = fingerprint(c)
            if print_ is not None:
                keys.append("F" + print_)
            elif link is None:
                # No link, too little text to fingerprint: the same title and
                # text again in one feed is that entry again (a feed that makes
                # new guids on every fetch), not another article.
                keys.append(f"S{c.origin}\0{title_key(c)}\0{_words(c)}")
        for key in keys:
            other = first.setdefault(key, i)
            a, b = find(other), find(i)
            if a == b or (has_post[a] and has_post[b]):
                continue  # two local posts are never one article here
            root, child = min(a, b), max(a, b)
            parent[child] = root
            has_post[root] = has_post[root] or has_post[child]
    groups: dict[int, list[int]] = {}
    for i in range(len(candidates)):
        groups.setdefault(find(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def _host(url: str | None) -> str | None:
    link = canonical_link(url)
    return None if link is None else link.split("/", 1)[0]


def _same_site(entry: Candidate) -> bool:
    """Whether a remote entry comes from the feed of the site it links to."""
    source = entry.source
    article = _host(entry.link)
    if source is None or article is None:
        return False
    return article in (_host(source.link), _host(source.url))


def _alternate(other: Candidate, feeds: Mapping[str, FeedSource]) -> Alternate:
    source = other.source
    if source is None:
        return Alternate(link=other.link)
    return Alternate(link=other.link, feed=source.url, title=source.title)


__all__ = [
    "ARTICLE_IDS",
    "TRACKING",
    "Chosen",
    "canonical_link",
    "choose",
    "fingerprint",
    "first_ids",
]
