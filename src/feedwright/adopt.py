"""Adopting the ids readers know: a site moved to feedwright from Jekyll,
Hexo or Hugo publishes its posts under the ids (and dates) its old feed gave
them, so that no subscriber sees every post again as new (docs/ids.md,
"Moving from Jekyll, Hexo or Hugo")::

    read_feeds(feeds)        each old feed (a file, an http(s) URL) parsed as a
                             build parses remote feeds: ids, links, titles, dates
    posts_now(config, book, now)  every readable post with the id ledger's line for
                             it, resolved as a build resolves it (moves included)
    match(old, posts)        each old entry to one post: the same id, else the same
                             link (normalised: same_link), else the same title
                             (normalised: same_title) dated within WINDOW;
                             an entry matching two posts, or two entries one
                             post, is ambiguous and skipped
    adopt_ids(...)           the matched posts' ledger lines take the old id (and,
                             for a post without a date of its own, the old date),
                             written through ledger.save; a post whose front
                             matter sets ``id``/``guid`` keeps it (front matter wins)
"""

from __future__ import annotations

import marshal
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote, urlsplit

from . import ledger
from .config import Config, FeedSource
from .exceptions import ConfigError, FetchError, ParseError
from .model import from_tuple, head_of, rfc3339
from .report import plural
from .text import bad_tag_uri

if TYPE_CHECKING:
    from .model import Head
    from .store import CachedPost, Store

# How far an old entry's date may be from a post's for their titles to match:
# a day, and the hours a time zone told differently (site.timezone) can add.
WINDOW = timedelta(hours=36)


@dataclass(frozen=True, slots=True)
class OldEntry:
    """One entry of an old feed, as readers know it."""

    feed: str  # the FEED as given (a path or a URL)
    id: str  # Atom id, RSS guid, JSON Feed id (else its link)
    link: str | None
    title: str
    published: datetime | None  # None: the feed gave no date


@dataclass(frozen=True, slots=True)
class Adoption:
    """A post matched to an old entry, and what its ledger line becomes."""

    post: str  # the ledger's key: the path relative to the config's folder
    entry: OldEntry
    by: str  # what matched: "id", "link" or "title"
    was: str  # the id the post had (the ledger's, or its own)
    was_date: datetime
    id: str  # the id it publishes with from now on
    date: datetime  # the date it publishes with from now on


@dataclass(frozen=True, slots=True)
class Ambiguity:
    """An old entry that was not adopted: it matches several posts, or a post
    matched by several entries."""

    entry: OldEntry
    posts: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class AdoptReport:
    """What :func:`feedwright.adopt_ids` did (or would do, ``dry_run``)."""

    ledger: Path  # the id ledger's file
    entries: int  # old entries read (one per id)
    adopted: list[Adoption] = field(default_factory=list)  # written now
    already: list[Adoption] = field(default_factory=list)  # the ledger has them already
    kept: list[Adoption] = field(default_factory=list)  # their front matter's id wins
    unmatched: list[OldEntry] = field(default_factory=list)  # readers keep these as they are
    ambiguous: list[Ambiguity] = field(default_factory=list)  # skipped
    # Skipped: an id the publish gate refuses (a malformed tag: URI), for the post named.
    refused: list[Ambiguity] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # dates that differ, moves found
    written: bool = False
    dry_run: bool = False


class _Now(NamedTuple):
    """A readable post as the next build would publish it."""

    key: str
    line: ledger.Line  # its line after resolving: the id and date it publishes with
    own: str  # the id its front matter and path make
    own_id: str | None  # its front matter's id/guid, as written
    dated: bool  # a date of its own (front matter, file name)
    link: str | None
    title: str


# --------------------------------------------------------------------------- matching


def same_link(url: str) -> str:
    """What a link is compared by: what differs harmlessly between generators
    left out (the scheme, the host's case, a default port, a trailing ``/``,
    ``index.html`` or ``.html``, percent-encoding and its case, a fragment)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # a broken [IPv6] host: compared as written
        return url.strip()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port not in (None, 80, 443):
        host += f":{port}"
    path = unquote(parts.path)
    for tail in ("index.html", "index.htm", ".html", ".htm"):
        if path.endswith(tail):
            path = path[: -len(tail)]
            break
    query = unquote(parts.query)
    return host + path.rstrip("/") + (f"?{query}" if query else "")


_TYPOGRAPHY = str.maketrans(
    {"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "–": "--", "—": "---", "…": "..."}
)


def same_title(title: str) -> str:
    """What a title is compared by: its words, case folded, the quotes and
    dashes Jekyll's ``smartify`` makes as typed."""
    return " ".join(title.translate(_TYPOGRAPHY).split()).casefold()


def _close(post: _Now, entry: OldEntry) -> bool:
    """Whether a post's date allows it to be ``entry`` (a post dated by its
    file's mtime has no date worth comparing)."""
    if entry.published is None or not post.dated:
        return True
    return abs(post.line.date - entry.published) <= WINDOW


def match(
    old: Sequence[OldEntry], posts: Sequence[_Now]
) -> tuple[list[tuple[_Now, OldEntry, str]], list[OldEntry], list[Ambiguity]]:
    """Each old entry's post (with what matched), the entries no post
    matches, and those skipped as ambiguous."""
    by_id = {p.line.id: p for p in posts}
    by_link: dict[str, list[_Now]] = {}
    by_title: dict[str, list[_Now]] = {}
    for post in posts:
        if post.link:
            by_link.setdefault(same_link(post.link), []).append(post)
        if post.title.strip():
            by_title.setdefault(same_title(post.title), []).append(post)
    found: dict[str, list[tuple[_Now, OldEntry, str]]] = {}
    unmatched: list[OldEntry] = []
    ambiguous: list[Ambiguity] = []
    for entry in old:
        hits, by = ([by_id[entry.id]] if entry.id in by_id else []), "id"
        links = [u for u in (entry.link, entry.id) if u and u.startswith(("http:", "https:"))]
        for url in links:
            if not hits:
                hits, by = by_link.get(same_link(url), []), "link"
        if not hits and entry.title.strip():
            hits, by = (
                [p for p in by_title.get(same_title(entry.title), []) if _close(p, entry)],
                "title",
            )
        if not hits:
            unmatched.append(entry)
        elif len(hits) > 1:
            keys = tuple(p.key for p in hits)
            ambiguous.append(Ambiguity(entry, keys, f"matches {len(keys)} posts by {by}"))
        else:
            found.setdefault(hits[0].key, []).append((hits[0], entry, by))
    matched: list[tuple[_Now, OldEntry, str]] = []
    for key, pairs in found.items():
        if len(pairs) == 1:
            matched.append(pairs[0])
            continue
        ids = ", ".join(e.id for _, e, _ in pairs)
        for _, entry, _by in pairs:
            reason = f"{len(pairs)} old entries match {key} ({ids})"
            ambiguous.append(Ambiguity(entry, (key,), reason))
    return matched, unmatched, ambiguous


# --------------------------------------------------------------------------- reading


def read_feeds(feeds: Iterable[str], config: Config, now: datetime) -> list[OldEntry]:
    """Every entry of the old feeds, one per id (the first feed's, when two
    give one id). Raises FetchError or ParseError naming the feed as given."""
    from .remote.fetch import FetchRequest, default_user_agent, fetch_one
    from .remote.parse import parse_feed

    out: dict[str, OldEntry] = {}
    for feed in feeds:
        headers: Mapping[str, str] = {}
        if feed.startswith(("http://", "https://")):
            agent = config.fetch.user_agent or default_user_agent(config.site.url)
            try:
                got = fetch_one(config.fetch, FetchRequest(feed), user_agent=agent, now=now)
            except FetchError as exc:
                raise FetchError(exc.message, url=feed, status=exc.status) from None
            content, headers, url = got.content, got.headers, got.url
        else:
            try:
                content = Path(feed).read_bytes()
            except OSError as exc:
                raise FetchError(f"cannot read: {exc.strerror or exc}", url=feed) from None
            url = Path(feed).absolute().as_uri()
        try:
            parsed = parse_feed(
                content, url=url, headers=dict(headers), source=FeedSource(url=url), now=now
            )
        except ParseError as exc:
            raise ParseError(exc.message, url=feed) from None
        for entry in parsed.entries:
            undated = entry.id in parsed.undated_ids
            out.setdefault(
                entry.id,
                OldEntry(
                    feed, entry.id, entry.link, entry.title, None if undated else entry.published
                ),
            )
    return list(out.values())


def posts_now(
    config: Config, book: ledger.Ledger, now: datetime
) -> tuple[list[_Now], ledger.Resolved]:
    """Every readable post with its ledger line after resolving (as a build
    at ``now`` resolves them: posts.read, then ledger.resolve), and what
    resolving made."""
    from .incremental import read_chunk
    from .pipeline import find_posts
    from .posts.entry import replaces

    found = find_posts(config)
    present: list[str] = []
    heads: list[ledger.Post] = []
    read: dict[str, tuple[CachedPost, Head, str]] = {}  # key -> the post, its head, title
    for source in config.posts_sources:
        prefix = ledger.key_prefix(config.path.parent, source.named or source.path)
        files = list(found[str(source.path)].files.items())
        for rel, post in read_chunk(source, config.site, files):
            key = ledger.key_of(prefix, rel)
            present.append(key)
            if post.head is None or post.packed is None:
                continue  # a draft, or a file that cannot be read (check names it)
            head = head_of(post.head)
            heads.append(
                ledger.Post(key, ledger.fingerprint(post.head[5]), head.id, head.published)
            )
            read[key] = (post, head, from_tuple(marshal.loads(post.packed)).title)

    def declares(key: str, old_id: str) -> tuple[bool, bool]:
        post = read[key][0]
        return replaces(post.own_id, old_id), post.dated

    resolved = ledger.resolve(book, heads, present, declares, now)
    out: list[_Now] = []
    for mine in heads:
        line = resolved.lines.get(mine.key)
        if line is None:
            continue  # its id is another post's too: a problem check names
        post, head, title = read[mine.key]
        out.append(_Now(mine.key, line, mine.id, post.own_id, post.dated, head.link, title))
    return out, resolved


# --------------------------------------------------------------------------- adopting


def adopt_ids(config: Config, feeds: Sequence[str], *, dry_run: bool, now: datetime) -> AdoptReport:
    """See :func:`feedwright.adopt_ids`."""
    from . import store as state_store
    from .lock import output_lock

    old = read_feeds(feeds, config, now)
    with nullcontext() if dry_run else output_lock(config.output.dir, config=str(config.path)):
        # The state's copy of the ledger is what a build reads when the file is missing.
        if not state_store.exists(config.state) or (dry_run and config.ids.exists()):
            return _adopt(config, old, None, dry_run=dry_run, now=now)
        with state_store.open(config.state) as store:
            return _adopt(config, old, store, dry_run=dry_run, now=now)


def _adopt(
    config: Config, old: list[OldEntry], store: Store | None, *, dry_run: bool, now: datetime
) -> AdoptReport:
    from .posts.entry import replaces

    book = ledger.load(config.ids, lambda: ledger.stored(store) if store is not None else None)
    if book.frozen:
        raise ConfigError(
            "the id ledger has damaged lines; mend them first (`feedwright check` names"
            " them): " + "; ".join(book.problems),
            path=str(config.ids),
        )
    posts, resolved = posts_now(config, book, now)
    matched, unmatched, ambiguous = match(old, posts)
    report = AdoptReport(config.ids, len(old), unmatched=unmatched, ambiguous=ambiguous)
    # Lines the ledger drops when it is next written (a repeated id, a
    # malformed one): said as build says them, before this write drops them.
    report.notes.extend(book.problems)
    holders = {line.id: key for key, line in resolved.lines.items()}
    lines = dict(resolved.lines)
    for post, entry, by in sorted(matched, key=lambda m: m[0].key):
        line = post.line
        if post.own_id and post.own != entry.id and replaces(post.own_id, entry.id):
            report.kept.append(
                Adoption(post.key, entry, by, line.id, line.date, line.id, line.date)
            )
            continue
        if bad_tag_uri(entry.id):
            reason = (
                "not a tag: URI (RFC 4151), which the publish gate refuses in every feed:"
                f" {post.key} keeps its id {line.id} (readers of the old feed get it once more)"
            )
            report.refused.append(Ambiguity(entry, (post.key,), reason))
            continue
        holder = holders.get(entry.id, post.key)
        if holder != post.key:
            reason = f"its id is {holder}'s already (the id ledger's)"
            report.ambiguous.append(Ambiguity(entry, (post.key, holder), reason))
            continue
        date = line.date if post.dated or entry.published is None else entry.published
        done = Adoption(post.key, entry, by, line.id, line.date, entry.id, date)
        if (line.id, line.date) == (entry.id, date):
            report.already.append(done)
        else:
            report.adopted.append(done)
            lines[post.key] = ledger.Line(post.key, line.fingerprint, entry.id, date)
        if post.dated and entry.published is not None and not _same_date(entry.published, date):
            report.notes.append(_date_note(post.key, date, entry.published))
    report.notes.extend(resolved.notes)
    if report.adopted and not dry_run:
        done_lines = ledger.Resolved(lines=lines)
        if store is not None:
            ledger.keep(book, done_lines, store)
        else:
            ledger.save(book, done_lines)
        return replace(report, written=True)
    return replace(report, dry_run=dry_run)


def _same_date(old: datetime, own: datetime) -> bool:
    """Whether the old feed's date is the post's own as far as the feed could
    say it: RSS (Hugo's) and most Atom feeds write whole seconds, so a
    post's fraction of a second is not a difference."""
    return old == own or (old.microsecond == 0 and own.replace(microsecond=0) == old)


def _date_note(key: str, date: datetime, old: datetime) -> str:
    return (
        f"{key}: keeps its own date {rfc3339(date)} (its front matter's or file name's);"
        f" the old feed dated it {rfc3339(old)}: `date: {rfc3339(old)}` in its front"
        " matter publishes that"
    )


# --------------------------------------------------------------------------- showing


def _old(entry: OldEntry) -> str:
    """``link ("title", date)``: an old entry as messages name it."""
    about = [f'"{entry.title}"'] if entry.title else []
    about += [rfc3339(entry.published)] if entry.published else []
    return f"{entry.link or entry.id} ({', '.join(about)})" if about else entry.link or entry.id


def as_lines(report: AdoptReport) -> tuple[list[str], list[str]]:
    """What ``adopt-ids`` prints: the posts' lines and the summary (stdout),
    and the warnings (stderr)."""
    out: list[str] = []
    for a in report.adopted:
        said = f"{a.post}: adopts {a.id} (was {a.was})"
        if a.date != a.was_date:
            said += f" and its date {rfc3339(a.date)} (was {rfc3339(a.was_date)})"
        out.append(said)
    out += [f"{a.post}: already adopted {a.id}" for a in report.already]
    out += [
        f"{a.post}: keeps its front matter id {a.was} (front matter wins; the old feed's"
        f" id is {a.entry.id})"
        for a in report.kept
    ]
    warnings = [
        f"{e.feed}: no post matches {_old(e)}: readers keep it as it is" for e in report.unmatched
    ]
    warnings += [
        f"{a.entry.feed}: {a.entry.id} skipped: {a.reason} ({', '.join(a.posts)}); set `id:`"
        " in the right post's front matter"
        for a in report.ambiguous
    ]
    warnings += [f"{a.entry.feed}: {a.entry.id} skipped: {a.reason}" for a in report.refused]
    warnings += report.notes
    if report.dry_run:
        end = "dry run: nothing written"
    elif report.written:
        end = f"written to {report.ledger}"
    else:
        end = "nothing to write"
    read = plural(report.entries, "old entry", "old entries")
    out.append(
        f"{plural(len(report.adopted), 'id')} adopted, {len(report.already)} already adopted,"
        f" {len(report.kept)} kept (front matter), {len(report.unmatched)} unmatched,"
        f" {len(report.ambiguous)} ambiguous,"
        + (f" {len(report.refused)} refused (ids no feed may hold)," if report.refused else "")
        + f" of {read}; {end}"
    )
    return out, warnings


def as_dict(report: AdoptReport) -> dict[str, Any]:
    """``adopt-ids --json``."""

    def entry(e: OldEntry) -> dict[str, Any]:
        when = rfc3339(e.published) if e.published else None
        return {"feed": e.feed, "id": e.id, "link": e.link, "title": e.title, "published": when}

    def adoption(a: Adoption) -> dict[str, Any]:
        return {
            "post": a.post,
            "id": a.id,
            "date": rfc3339(a.date),
            "was": a.was,
            "was_date": rfc3339(a.was_date),
            "by": a.by,
            "entry": entry(a.entry),
        }

    return {
        "ledger": str(report.ledger),
        "entries": report.entries,
        "adopted": [adoption(a) for a in report.adopted],
        "already": [adoption(a) for a in report.already],
        "kept": [adoption(a) for a in report.kept],
        "unmatched": [entry(e) for e in report.unmatched],
        "ambiguous": [
            {"entry": entry(a.entry), "posts": list(a.posts), "reason": a.reason}
            for a in report.ambiguous
        ],
        "refused": [
            {"entry": entry(a.entry), "posts": list(a.posts), "reason": a.reason}
            for a in report.refused
        ],
        "notes": report.notes,
        "written": report.written,
        "dry_run": report.dry_run,
    }


__all__ = [
    "WINDOW",
    "AdoptReport",
    "Adoption",
    "Ambiguity",
    "OldEntry",
    "adopt_ids",
    "as_dict",
    "as_lines",
    "match",
    "posts_now",
    "read_feeds",
    "same_link",
    "same_title",
]
