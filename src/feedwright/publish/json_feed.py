"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1) for the same feeds as Atom/RSS.

Takes the same prepared :class:`FeedPlan` as :mod:`.atom_rss`. Keys are
written in a fixed order and the text is UTF-8 with a trailing newline, so
equal inputs give equal bytes.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from ..config import Site
from ..model import Entry, Person, rfc3339
from .atom_rss import GENERATOR
from .plan import FeedPlan, entry_terms, entry_texts, excerpt, html_to_text

VERSION = "https://jsonfeed.org/version/1.1"
MEDIA_TYPE = "application/feed+json"


def _author(person: Person) -> dict[str, str]:
    data = {"name": person.name}
    if person.uri:
        data["url"] = person.uri
    elif person.email:
        data["url"] = f"mailto:{person.email}"
    return data


def _item(entry: Entry, mode: Literal["full", "summary"]) -> dict[str, Any]:
    summary, content = entry_texts(entry, mode)
    item: dict[str, Any] = {"id": entry.id}
    if entry.link:
        item["url"] = entry.link
    item["title"] = entry.title
    # JSON Feed needs content_html or content_text; in summary mode the summary is it.
    item["content_html"] = content if content is not None else (summary or "")
    if summary is not None:
        # JSON Feed's summary is plain text, not HTML.
        item["summary"] = excerpt(html_to_text(summary), 500)
    if entry.images:
        item["image"] = entry.images[0].url
    item["date_published"] = rfc3339(entry.published)
    item["date_modified"] = rfc3339(entry.updated)
    if entry.authors:
        item["authors"] = [_author(a) for a in entry.authors]
    terms = entry_terms(entry)
    if terms:
        item["tags"] = list(terms)
    if entry.language:
        item["language"] = entry.language
    if entry.enclosures:
        item["attachments"] = [
            {"url": e.url, "mime_type": e.type, **({"size_in_bytes": e.length} if e.length else {})}
            for e in entry.enclosures
        ]
        if entry.episode is not None and entry.episode.duration is not None:
            item["attachments"][0]["duration_in_seconds"] = entry.episode.duration
    if entry.source is not None:
        # Not in the JSON Feed spec: an extension key (leading underscore) says where it came from.
        item["_source"] = {
            k: v
            for k, v in (
                ("url", entry.source.url),
                ("title", entry.source.title),
                ("home_page_url", entry.source.link),
            )
            if v
        }
    return item


def feed_json(
    feed: FeedPlan,
    site: Site,
    *,
    self_url: str,
    content: Literal["full", "summary"] = "full",
    hubs: tuple[str, ...] = (),
) -> bytes:
    """One JSON Feed document for ``feed`` (prepared entries, newest first);
    ``hubs``: the WebSub hubs to name."""
    doc: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "home_page_url": site.url,
        "feed_url": self_url,
    }
    if site.description:
        doc["description"] = site.description
    if site.author is not None:
        doc["authors"] = [_author(site.author)]
    if site.language:
        doc["language"] = site.language
    if hubs:
        doc["hubs"] = [{"type": "WebSub", "url": hub} for hub in hubs]
    doc["_feedwright"] = {"generator": GENERATOR, "updated": rfc3339(feed.updated)}
    if feed.category is not None:
        doc["_feedwright"]["category"] = feed.category
    doc["items"] = [_item(e, content) for e in feed.entries]
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    return (text + "\n").encode("utf-8")


__all__ = ["MEDIA_TYPE", "VERSION", "feed_json"]
