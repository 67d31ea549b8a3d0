"""JSON Feed (1.0 and 1.1) -> raw entries."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..config import FeedSource
from ..decode import decode_feed
from ..exceptions import ParseError
from ..model import Enclosure, Person
from ..sanitize import looks_like_html, plain_text, safe_url, sanitize_html
from .normalize import (
    MAX_ENTRIES,
    ParsedFeed,
    Raw,
    add_enclosure,
    entries_dropped,
    episode_tags,
    join_notes,
    make_person,
    normalise,
    opt_text,
)

# --------------------------------------------------------------------------- JSON Feed


def is_json(content: bytes, media_type: str) -> bool:
    head = content[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return True
    return media_type in ("application/feed+json", "application/json") and not head.startswith(b"<")


def parse_json(
    content: bytes, charset: str | None, *, url: str, source: FeedSource, now: datetime
) -> ParsedFeed:
    text, note = decode_feed(content, [charset])
    text = text.lstrip("\ufeff")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not a feed: invalid JSON ({exc})", url=url) from None
    if not isinstance(doc, dict) or not (
        str(doc.get("version", "")).startswith("https://jsonfeed.org/version/")
        or isinstance(doc.get("items"), list)
    ):
        raise ParseError("not a feed: JSON without a JSON Feed version or items", url=url)
    items = doc.get("items")
    if not isinstance(items, list):
        items = []
    if len(items) > MAX_ENTRIES:
        note = join_notes(note, entries_dropped(len(items) - MAX_ENTRIES))
        items = items[:MAX_ENTRIES]

    title = opt_text(doc.get("title"))
    link = safe_url(_str_or_none(doc.get("home_page_url")), url)
    feed_id = safe_url(_str_or_none(doc.get("feed_url")), url)
    feed_language = opt_text(doc.get("language"))
    feed_authors = _json_authors(doc, url)
    raws = (
        _json_entry(item, url=url, feed_language=feed_language, authors=feed_authors)
        for item in items
        if isinstance(item, dict)
    )
    return normalise(
        raws,
        url=url,
        source=source,
        now=now,
        title=title,
        link=link,
        feed_id=feed_id,
        bozo=note,
        parser="json",
        note=note,
    )


def _json_entry(
    item: Mapping[str, Any], *, url: str, feed_language: str | None, authors: tuple[Person, ...]
) -> Raw:
    link = safe_url(_str_or_none(item.get("url")), url) or safe_url(
        _str_or_none(item.get("external_url")), url
    )
    content_html = _str_or_none(item.get("content_html"))
    content_text = _str_or_none(item.get("content_text"))
    summary_raw = _str_or_none(item.get("summary"))
    content: str | None = None
    if content_html:
        content = sanitize_html(content_html, url) or None
    elif content_text:
        content = sanitize_html(html.escape(content_text, quote=False), url) or None
    summary = sanitize_html(html.escape(summary_raw, quote=False), url) if summary_raw else None

    enclosures: list[Enclosure] = []
    for key in ("image", "banner_image"):
        add_enclosure(enclosures, _str_or_none(item.get(key)), None, None, url, image=True)
    duration: object = None
    for att in item.get("attachments") or []:
        if isinstance(att, dict):
            add_enclosure(
                enclosures,
                _str_or_none(att.get("url")),
                _str_or_none(att.get("mime_type")),
                att.get("size_in_bytes"),
                url,
            )
            seconds = att.get("duration_in_seconds")
            if duration is None and isinstance(seconds, int | float) and seconds is not True:
                duration = str(int(seconds)) if 0 <= seconds < 2**31 else None

    raw_id = item.get("id")
    title_raw = _str_or_none(item.get("title")) or ""
    return Raw(
        id=opt_text(str(raw_id)) if isinstance(raw_id, str | int) else None,
        title=plain_text(title_raw, markup=looks_like_html(title_raw)),  # text, by the spec
        link=link,
        published=_iso_date(item.get("date_published")),
        updated=_iso_date(item.get("date_modified")),
        authors=_json_authors(item, url) or authors,
        categories=[t for t in item.get("tags") or [] if isinstance(t, str)],
        summary=summary or None,
        content=content,
        enclosures=enclosures,
        language=opt_text(item.get("language")) or feed_language,
        hash_basis="\n".join((title_raw, summary_raw or "", content_html or content_text or "")),
        episode=episode_tags(duration, None, None, None, None, url),
    )


def _json_authors(obj: Mapping[str, Any], base: str) -> tuple[Person, ...]:
    raw = obj.get("authors")
    if not isinstance(raw, list):
        raw = [obj["author"]] if isinstance(obj.get("author"), dict) else []  # JSON Feed 1.0
    people: list[Person] = []
    for item in raw:
        if isinstance(item, dict):
            person = make_person(item.get("name"), None, _str_or_none(item.get("url")), base)
            if person is not None and person not in people:
                people.append(person)
    return tuple(people)


def _iso_date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


__all__ = ["is_json", "parse_json"]
