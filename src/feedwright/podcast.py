"""Podcasts from front matter: what a post's ``audio:`` and the ``podcast:`` block say.

Pure functions and tables, no I/O: the config (``podcast:``) and the post
reader (``posts/entry.py``) call them. A post with ``audio:`` is an episode::

    audio: media/ep1.mp3        a path in the site folder (output.dir's parent,
                                served at site.url), or an http(s) URL
    length: 12345678            bytes; for a local file its size is taken instead
    duration: 1:02:03           seconds, M:SS or H:MM:SS
    episode: 3   season: 1      whole numbers from 1
    explicit: false
    image: cover.jpg            also the episode's itunes:image (a .jpg or .png)

The audio becomes the entry's first enclosure and the rest a
:class:`~feedwright.model.Episode`. Its length is settled later, by
:mod:`feedwright.media`, for the episodes that reach a feed.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from .exceptions import PostError
from .model import Enclosure, Episode
from .text import on_site

# Apple Podcasts' categories and subcategories (the list the W3C Feed
# Validation Service checks against; any other name is an error there).
APPLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": (
        "Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit",
    ),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": (
        "Alternative Health", "Fitness", "Medicine", "Mental Health", "Nutrition", "Sexuality",
    ),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": (
        "Animation & Manga", "Automotive", "Aviation", "Crafts", "Games", "Hobbies",
        "Home & Garden", "Video Games",
    ),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": (
        "Business News", "Daily News", "Entertainment News", "News Commentary", "Politics",
        "Sports News", "Tech News",
    ),
    "Religion & Spirituality": (
        "Buddhism", "Christianity", "Hinduism", "Islam", "Judaism", "Spirituality",
    ),
    "Science": (
        "Astronomy", "Chemistry", "Earth Sciences", "Life Sciences", "Mathematics",
        "Natural Sciences", "Nature", "Physics", "Social Sciences",
    ),
    "Society & Culture": (
        "Documentary", "Personal Journals", "Philosophy", "Places & Travel", "Relationships",
    ),
    "Sports": (
        "Baseball", "Basketball", "Cricket", "Fantasy Sports", "Football", "Golf", "Hockey",
        "Rugby", "Running", "Soccer", "Swimming", "Tennis", "Volleyball", "Wilderness",
        "Wrestling",
    ),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
}  # fmt: skip

# Our own table, as for images: the mimetypes module differs by machine.
AUDIO_TYPES = {
    "mp3": "audio/mpeg", "m4a": "audio/x-m4a", "aac": "audio/aac", "ogg": "audio/ogg",
    "oga": "audio/ogg", "opus": "audio/opus", "wav": "audio/wav", "flac": "audio/flac",
    "mp4": "video/mp4", "m4v": "video/x-m4v", "mov": "video/quicktime", "webm": "video/webm",
    "pdf": "application/pdf", "epub": "application/epub+zip",
}  # fmt: skip
EPISODE_KEYS = ("audio", "length", "duration", "episode", "season", "explicit")
_DURATION = re.compile(r"^(?:(\d+):)?(\d+):([0-5]\d)$")
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def itunes_category(names: Sequence[str]) -> tuple[str, ...]:
    """``(category,)`` or ``(category, subcategory)``, checked against Apple's list;
    ValueError naming the choices."""
    if not 1 <= len(names) <= 2:
        raise ValueError("must be a category, or [category, subcategory]")
    subs = APPLE_CATEGORIES.get(names[0])
    if subs is None:
        raise ValueError(
            f"{names[0]!r} is not an Apple Podcasts category: {', '.join(APPLE_CATEGORIES)}"
        )
    if len(names) == 2 and names[1] not in subs:
        choices = ", ".join(subs) or "none"
        raise ValueError(f"{names[1]!r} is not a subcategory of {names[0]!r} ({choices})")
    return tuple(names)


def cover_url(value: str, site_url: str) -> str:
    """The podcast's artwork: an http(s) URL (a path resolves against ``site.url``,
    ``/media/a.jpg`` under its path as a post's paths do) of a .jpg or .png, as
    Apple Podcasts requires."""
    url = urljoin(site_url, on_site(value.strip(), site_url))
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"must be an http(s) URL or a path on the site, got {value!r}")
    if not url.endswith((".jpg", ".png")):
        raise ValueError(f"must be a .jpg or .png image (Apple Podcasts), got {value!r}")
    return url


def audio_type(path: str) -> str | None:
    """The media type a file name's extension says; None when we do not know it."""
    name = urlsplit(path).path.rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return AUDIO_TYPES.get(ext)


def site_path(value: str) -> str | None:
    """A path in the site folder (``media/a.mp3``, ``/media/a.mp3``) as a clean
    relative POSIX path; None if it leaves the folder."""
    clean = posixpath.normpath(value.strip().replace("\\", "/").lstrip("/"))
    if clean in (".", "..") or clean.startswith("../") or "\x00" in clean:
        return None
    return clean


def _whole(value: object, key: str, path: str, minimum: int = 1) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PostError(f"{key}: expected a whole number, got {value!r}", path=path)
    text = str(value).strip()
    if not text.isdigit() or int(text) < minimum:
        raise PostError(f"{key}: expected a whole number >= {minimum}, got {value!r}", path=path)
    return int(text)


def duration_seconds(value: object, path: str) -> int | None:
    """``duration`` front matter (seconds, ``M:SS`` or ``H:MM:SS``) in seconds."""
    if value is None or (isinstance(value, int | str) and str(value).strip().isdigit()):
        return _whole(value, "duration", path, 0)
    match = _DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise PostError(f"duration: expected seconds or H:MM:SS, got {value!r}", path=path)
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _flag(value: object, key: str, path: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("true", "yes"):
        return True
    if word in ("false", "no"):
        return False
    raise PostError(f"{key}: expected true or false, got {value!r}", path=path)


def episode_of(
    meta: Mapping[str, Any], site_url: str, path: str, images: tuple[Enclosure, ...]
) -> tuple[Enclosure, Episode] | None:
    """The audio enclosure and the episode a post's front matter makes; None
    without ``audio:``. ``images``: the post's image enclosures (the first
    .jpg or .png is the episode's artwork). Raises PostError naming ``path``."""
    raw = meta.get("audio")
    if raw is None:
        return None  # (``duration:`` and the like may mean something else to a theme)
    if not isinstance(raw, str) or not raw.strip():
        raise PostError(f"audio: expected a path or an http(s) URL, got {raw!r}", path=path)
    text = raw.strip()
    file: str | None = None
    if _HAS_SCHEME.match(text):
        try:
            parts = urlsplit(text)
        except ValueError as exc:  # a broken [IPv6] host
            raise PostError(f"audio: not a URL ({exc}): {text!r}", path=path) from None
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise PostError(f"audio: only http(s) URLs, got {text!r}", path=path)
        url = text
    else:
        file = site_path(text)
        if file is None:
            raise PostError(f"audio: {text!r} leaves the site folder", path=path)
        url = site_url + quote(file, safe="/")
    kind = audio_type(url)
    if kind is None:
        known = ", ".join(f".{ext}" for ext in AUDIO_TYPES)
        raise PostError(f"audio: unknown kind of file {text!r} (known: {known})", path=path)
    length = _whole(meta.get("length"), "length", path) or 0
    artwork = next((i.url for i in images if i.url.endswith((".jpg", ".png"))), None)
    episode = Episode(
        duration=duration_seconds(meta.get("duration"), path),
        episode=_whole(meta.get("episode"), "episode", path),
        season=_whole(meta.get("season"), "season", path),
        explicit=_flag(meta.get("explicit"), "explicit", path),
        image=artwork,
        file=file,
    )
    return Enclosure(url, kind, length), episode


__all__ = [
    "APPLE_CATEGORIES",
    "AUDIO_TYPES",
    "EPISODE_KEYS",
    "audio_type",
    "cover_url",
    "duration_seconds",
    "episode_of",
    "itunes_category",
    "site_path",
]
