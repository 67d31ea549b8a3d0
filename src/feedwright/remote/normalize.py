"""Raw entries -> :class:`~feedwright.model.Entry`: what every reader ends with.

The readers (feedparser in parse.py, the lxml fast path, JSON Feed) each
turn their document into :class:`Raw` values, already sanitised; this module
gives them ids, dates, categories, enclosures and provenance, the same way
for all three.

Decisions worth knowing:

- **Ids**: Atom id / RSS guid / JSON Feed id, else the entry link, else
  ``urn:sha256:<hash of title, summary, content>``. When one feed repeats an
  id, an exact repeat (same content) is dropped; a different entry with the
  same id becomes ``<id>#<12 hex digits>`` of a hash of its own link (else of
  its content), which stays the same from fetch to fetch and through edits
  of its text; the first of them keeps the id as given.
- **Dates**: published, else updated; ``updated`` defaults to published and
  is never earlier than it. Dates more than a day after ``now`` (and after
  the clock) and dates outside 1800-2999 (``model.in_years``) count as no date.
  Entries with no date at all get ``now`` and their ids are listed in
  :attr:`ParsedFeed.undated_ids`: the caller (the store) replaces that with
  the time it first saw the entry, so the date never moves between fetches.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from ..config import FeedSource
from ..model import Enclosure, Entry, Episode, Person, Provenance, in_years
from ..sanitize import plain_text, safe_url
from ..text import category_key

Parser = Literal["lxml", "feedparser", "json"]


FUTURE_SLACK = timedelta(days=1)
# Entries read from one document at most; the rest (feeds list the newest
# first) are ignored and noted. The store keeps `retention` of them anyway.
MAX_ENTRIES = 10_000


def entries_dropped(count: int) -> str:
    return f"{count:,} entries past the first {MAX_ENTRIES:,} ignored"


def join_notes(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """One parsed response: the origin feed's own metadata and its entries."""

    title: str | None
    link: str | None
    feed_id: str | None
    entries: list[Entry]
    bozo: str | None  # a recovered problem (ill-formed XML, guessed encoding), for logging
    # Entries whose feed gave no date: their published/updated are `now` and the
    # caller should keep the first-seen time instead.
    undated_ids: frozenset[str] = field(default_factory=frozenset)
    parser: Parser = "feedparser"  # which reader made it: the differential test compares them
    # What reading it changed that the feed's owner would want to know (bytes
    # that were not valid in the declared encoding replaced, an encoding
    # guessed, bare "&" repaired): reported with the source, never an error.
    note: str | None = None


def normalise(
    raws: Iterable[Raw],
    *,
    url: str,
    source: FeedSource,
    now: datetime,
    title: str | None,
    link: str | None,
    feed_id: str | None,
    bozo: str | None,
    parser: Parser,
    note: str | None = None,
) -> ParsedFeed:
    """The one way every reader (feedparser, fast path, JSON) ends: Raw -> ParsedFeed."""
    norm = _Normaliser(
        url=url,
        source=source,
        now=now,
        provenance=Provenance(url=url, title=source.title or title, link=link, id=feed_id),
    )
    for raw in raws:
        norm.add(raw)
    return ParsedFeed(
        title=title,
        link=link,
        feed_id=feed_id,
        entries=norm.entries,
        bozo=bozo,
        undated_ids=frozenset(norm.undated),
        parser=parser,
        note=note,
    )


@dataclass(slots=True)
class Raw:
    """One entry as read from either format, before normalising."""

    id: str | None
    title: str
    link: str | None
    published: datetime | None
    updated: datetime | None
    authors: tuple[Person, ...]
    categories: list[str]
    summary: str | None  # sanitised HTML
    content: str | None  # sanitised HTML
    enclosures: list[Enclosure]
    language: str | None
    hash_basis: str  # raw title/summary/content, for the content-hash id and duplicates
    # A podcast item's own tags (itunes:duration and the like, JSON Feed's
    # duration_in_seconds), when it has some: episode_tags()
    episode: Episode | None = None


def make_person(name: object, email: object, uri: object, base: str) -> Person | None:
    clean_name = opt_text(name)
    clean_email = opt_text(email)
    clean_uri = safe_url(str(uri), base) if uri else None
    if not (clean_name or clean_email):
        return None
    return Person(name=clean_name or clean_email or "", email=clean_email, uri=clean_uri)


_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})$")


def plausible_offset(written: object) -> bool:
    """Whether a date as written has no zone offset beyond what exists (±23:59).

    feedparser applies "+25:00" as given, moving the date by a day; such a
    date is no date (the entry counts as undated) rather than a wrong one.
    """
    if not isinstance(written, str):
        return True
    match = _OFFSET.search(written.strip())
    return match is None or (int(match.group(2)) < 24 and int(match.group(3)) < 60)


def struct_time(value: object) -> datetime | None:
    if not isinstance(value, Sequence) or len(value) < 6:
        return None
    try:
        year, month, day, hour, minute, second = (int(v) for v in value[:6])
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _in_range(when: datetime | None) -> datetime | None:
    """None for a date outside the years readers take (``model.in_years``),
    whatever the clock says; the far future is no date either, below
    (clamped to ``now``, it would move with every fetch)."""
    return when if when is not None and in_years(when) else None


# --------------------------------------------------------------------------- normalising


class _Normaliser:
    """Turns Raw entries into Entries: ids, dates, categories, provenance."""

    def __init__(self, *, url: str, source: FeedSource, now: datetime, provenance: Provenance):
        self.url = url
        self.source = source
        self.now = now
        self.provenance = provenance
        self.category_map = {category_key(k): v for k, v in source.category_map.items()}
        self.entries: list[Entry] = []
        self.undated: list[str] = []
        # id -> the content hash and link of the entry that took it
        self._seen: dict[str, tuple[str, str | None]] = {}

    def add(self, raw: Raw) -> None:
        digest = hashlib.sha256(raw.hash_basis.encode("utf-8", "surrogatepass")).hexdigest()
        entry_id = raw.id or raw.link or f"urn:sha256:{digest}"
        if entry_id in self._seen:
            first_digest, first_link = self._seen[entry_id]
            if first_digest == digest:
                return  # the same entry listed twice
            # Told apart by its own link where it has one (an edit of its text
            # then keeps its id), else by its text.
            own = raw.link if raw.link and raw.link != first_link else None
            mark = (
                hashlib.sha256(own.encode("utf-8", "surrogatepass")).hexdigest() if own else digest
            )
            entry_id = f"{entry_id}#{mark[:12]}"
            if entry_id in self._seen:
                return
        self._seen[entry_id] = (digest, raw.link)

        # A date before the years readers take (a typo, "0001-01-01") is no date.
        # So is one more than a day ahead (a typo, "2099"): dated as first seen.
        # Ahead of the clock too: a build told an earlier `now` (a test, a
        # replay) must not take every real date for a typo.
        limit = max(self.now, datetime.now(UTC)) + FUTURE_SLACK
        raw_published, raw_updated = (
            when if when is not None and when <= limit else None
            for when in (_in_range(raw.published), _in_range(raw.updated))
        )
        published = raw_published or raw_updated
        updated = raw_updated or published
        if published is None or updated is None:
            published = updated = self.now
            self.undated.append(entry_id)
        updated = max(updated, published)
        enclosures, episode = _episode(raw.enclosures, raw.episode)

        self.entries.append(
            Entry(
                id=entry_id,
                title=raw.title,
                published=published,
                updated=updated,
                link=raw.link,
                authors=raw.authors,
                categories=self._categories(raw.categories),
                summary=raw.summary,
                content=raw.content,
                enclosures=enclosures,
                source=self.provenance,
                language=raw.language,
                origin=self.url,
                episode=episode,
            )
        )

    def _categories(self, incoming: Iterable[str]) -> tuple[str, ...]:
        names: list[str] = []
        if self.source.keep_categories:
            for name in incoming:
                name = plain_text(name)
                if not name:
                    continue
                key = category_key(name)
                if key in self.category_map:
                    mapped = self.category_map[key]
                    if mapped is None:
                        continue
                    name = mapped
                names.append(name)
        names.extend(self.source.categories)
        seen: set[str] = set()
        result: list[str] = []
        for name in names:
            key = category_key(name)
            if key and key not in seen:
                seen.add(key)
                result.append(name)
        return tuple(result)


# --------------------------------------------------------------------------- enclosures


def _episode(
    found: list[Enclosure], tags: Episode | None
) -> tuple[tuple[Enclosure, ...], Episode | None]:
    """An entry whose first enclosure that is no image is audio or video (what
    RSS publishes as its one enclosure) is a podcast episode, as a local post
    with ``audio:`` is: that enclosure first (the episode's audio, as the
    publishers take it), with the item's own tags if it had some."""
    media = next((e for e in found if not e.type.startswith("image/")), None)
    if media is None or not media.type.startswith(("audio/", "video/")):
        return tuple(found), None
    rest = (e for e in found if e is not media)
    return (media, *rest), tags or Episode()


_CLOCK = re.compile(r"^(?:([0-9]{1,6}):)?([0-9]{1,6}):([0-9]{1,6})(?:\.[0-9]*)?$")
_SECONDS = re.compile(r"^([0-9]{1,10})(?:\.[0-9]*)?$")


def episode_tags(
    duration: object,
    episode: object,
    season: object,
    explicit: object,
    image: object,
    base: str,
) -> Episode | None:
    """A remote item's podcast tags as an :class:`Episode`; None when it has
    none. Lenient, as feeds are: a value that is no duration (seconds,
    ``M:SS``, ``H:MM:SS``) or no whole number from 1 is left out."""
    text = str(duration).strip() if isinstance(duration, str | int | float) else ""
    seconds: int | None = None
    if match := _CLOCK.match(text):
        hours, minutes, secs = (int(part or 0) for part in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    elif match := _SECONDS.match(text):
        seconds = int(match.group(1))
    if seconds is not None and seconds >= 2**31:
        seconds = None
    art = safe_url(image, base) if isinstance(image, str) and image.strip() else None
    tags = Episode(
        duration=seconds,
        episode=_positive(episode),
        season=_positive(season),
        explicit=explicit if isinstance(explicit, bool) else None,
        image=art if art is not None and art.startswith(("http://", "https://")) else None,
    )
    return None if tags == Episode() else tags


def _positive(value: object) -> int | None:
    text = str(value).strip() if isinstance(value, str | int) else ""
    return int(text) if text.isdecimal() and len(text) < 10 and int(text) > 0 else None


_EXTENSION_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
    "webp": "image/webp", "avif": "image/avif", "svg": "image/svg+xml", "bmp": "image/bmp",
    "mp3": "audio/mpeg", "m4a": "audio/mp4", "aac": "audio/aac", "ogg": "audio/ogg",
    "oga": "audio/ogg", "opus": "audio/opus", "wav": "audio/wav", "flac": "audio/flac",
    "mp4": "video/mp4", "m4v": "video/mp4", "webm": "video/webm", "mov": "video/quicktime",
    "ogv": "video/ogg", "pdf": "application/pdf", "epub": "application/epub+zip",
    "zip": "application/zip",
}  # fmt: skip
_MIME = re.compile(r"^[\w.+-]+/[\w.+-]+$")


def add_enclosure(
    found: list[Enclosure],
    href: object,
    mime: object,
    length: object,
    base: str,
    *,
    image: bool = False,
) -> None:
    url = safe_url(str(href), base) if href else None
    if url is None or any(e.url == url for e in found):
        return
    kind = str(mime or "").strip().lower().split(";")[0].strip()
    if not _MIME.match(kind):
        kind = _guess_type(url, image=image)
    found.append(Enclosure(url=url, type=kind, length=_length(length)))


def _guess_type(url: str, *, image: bool) -> str:
    # A fixed table rather than `mimetypes`, whose answers depend on the machine.
    path = urlsplit(url).path
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    guessed = _EXTENSION_TYPES.get(ext)
    if image:
        return guessed if guessed and guessed.startswith("image/") else "image/jpeg"
    return guessed or "application/octet-stream"


def _length(value: object) -> int:
    try:
        number = int(str(value).strip()) if value is not None else 0
    except ValueError:
        return 0
    return max(number, 0)


# --------------------------------------------------------------------------- text


def opt_text(value: object) -> str | None:
    if value is None:
        return None
    text = plain_text(str(value))
    return text or None


__all__ = [
    "FUTURE_SLACK",
    "MAX_ENTRIES",
    "ParsedFeed",
    "Parser",
    "Raw",
    "add_enclosure",
    "entries_dropped",
    "episode_tags",
    "join_notes",
    "make_person",
    "normalise",
    "opt_text",
    "plausible_offset",
    "struct_time",
]
