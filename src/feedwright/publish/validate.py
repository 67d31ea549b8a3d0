"""The validation gate: the rules a feed file must pass before it is published.

:func:`check_file` is the one entry point, a pure function of a file's path
(relative to ``output.dir``) and bytes; it returns the :class:`Violation`\\ s
found, the first few of each rule. The writer (``write.write_files``) calls it
before a changed file replaces the published one: a file that fails is not
published, the previous one stays. ``feedwright check --output [DIR]``
(:func:`check_output`) runs the same rules on every file in a folder, ours or
not. The rules, by name::

    well-formed      XML parses (no DTD, no entities resolved); JSON parses
    atom-required    <feed>: id, title, updated; each <entry>: id, title,
                     updated, and an author (its own, its source's or the feed's)
    rss-required     <rss version="2.0"><channel>: title, link, description;
                     each <item>: a title or a description
    json-required    JSON Feed: version, title, items (each with an id)
    self-link        the feed's self link (Atom link rel="self", RSS atom:link,
                     JSON feed_url) is an absolute http(s) URL
    enclosure        RSS <enclosure>: url, type and a whole-number length;
                     Atom link rel="enclosure": type, and a whole-number length
                     when given (RFC 4287 makes it optional)
    tag-uri          an id starting ``tag:`` follows RFC 4151
                     (``tag:authority,date:specific``)
    date             every date parses (RFC 3339 in Atom and JSON Feed, RFC 822
                     in RSS) to a real time between the years MIN_YEAR and MAX_YEAR

Files other than ``.xml``, ``.opml``, ``.xsl`` and ``.json`` are not checked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..model import MAX_YEAR, MIN_YEAR
from ..text import bad_tag_uri

ATOM_NS = "http://www.w3.org/2005/Atom"
_A = "{" + ATOM_NS + "}"
_PER_RULE = 3  # violations reported per rule and file: the first few say enough
CHECKED = (".xml", ".opml", ".xsl", ".json")


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule in one file."""

    path: str  # as given: relative to output.dir (the gate), or a file path (check)
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}: {self.message}"


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def _rfc3339(text: str) -> datetime | None:
    match = _RFC3339.match(text.strip())
    if match is None:
        return None
    try:
        return datetime.fromisoformat(text.strip().upper().replace("Z", "+00:00"))
    except ValueError:
        return None


def _rfc822(text: str) -> datetime | None:
    # (email.utils brings socket and more: imported by a build that writes RSS)
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None


def _absolute(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class _Found:
    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[Violation] = []
        self.counts: dict[str, int] = {}

    def add(self, rule: str, message: str) -> None:
        count = self.counts.get(rule, 0)
        self.counts[rule] = count + 1
        if count < _PER_RULE:
            self.items.append(Violation(self.path, rule, message))

    def date(self, text: str | None, where: str, parse: Any) -> None:
        if text is None:
            return
        when = parse(text)
        if when is None:
            self.add("date", f"{where}: not a valid date: {text.strip()!r}")
        elif not MIN_YEAR <= when.year <= MAX_YEAR:
            self.add("date", f"{where}: {text.strip()!r} is out of range")

    def tag(self, value: str | None, where: str) -> None:
        if value is not None and bad_tag_uri(value):
            self.add("tag-uri", f"{where}: {value.strip()!r} is not a tag: URI (RFC 4151)")


def _text(element: Any, name: str) -> str | None:
    child = element.find(name)
    if child is None:
        return None
    return "".join(child.itertext())


def _atom(root: Any, found: _Found) -> None:
    for name in ("id", "title", "updated"):
        if root.find(_A + name) is None:
            found.add("atom-required", f"<feed> has no <{name}>")
    found.tag(_text(root, _A + "id"), "feed id")
    found.date(_text(root, _A + "updated"), "feed updated", _rfc3339)
    selfs = [link for link in root.findall(_A + "link") if link.get("rel") == "self"]
    for link in selfs:
        if not _absolute(link.get("href")):
            found.add("self-link", f"feed self link {link.get('href')!r} is not absolute")
    feed_author = root.find(_A + "author") is not None
    for n, entry in enumerate(root.iter(_A + "entry"), 1):
        where = f"entry {n}"
        for name in ("id", "title", "updated"):
            if entry.find(_A + name) is None:
                found.add("atom-required", f"{where} has no <{name}>")
        source = entry.find(_A + "source")
        has_author = entry.find(_A + "author") is not None or (
            source is not None and source.find(_A + "author") is not None
        )
        if not (feed_author or has_author):
            found.add("atom-required", f"{where} has no <author> (nor has the feed)")
        found.tag(_text(entry, _A + "id"), f"{where} id")
        for name in ("updated", "published"):
            found.date(_text(entry, _A + name), f"{where} {name}", _rfc3339)
        for link in entry.findall(_A + "link"):
            if link.get("rel") != "enclosure":
                continue
            length = link.get("length")
            if not link.get("type") or (length is not None and not length.strip().isdigit()):
                found.add(
                    "enclosure", f"{where}: enclosure {link.get('href')!r} needs type and length"
                )
    for deleted in root.iter("{http://purl.org/atompub/tombstones/1.0}deleted-entry"):
        found.tag(deleted.get("ref"), "deleted-entry ref")
        found.date(deleted.get("when"), "deleted-entry when", _rfc3339)


def _rss(root: Any, found: _Found) -> None:
    if root.get("version") != "2.0":
        found.add("rss-required", f"<rss> version is {root.get('version')!r}, not '2.0'")
    channel = root.find("channel")
    if channel is None:
        found.add("rss-required", "<rss> has no <channel>")
        return
    for name in ("title", "link", "description"):
        if channel.find(name) is None:
            found.add("rss-required", f"<channel> has no <{name}>")
    for name in ("pubDate", "lastBuildDate"):
        found.date(_text(channel, name), f"channel {name}", _rfc822)
    for link in channel.findall(_A + "link"):
        if link.get("rel") == "self" and not _absolute(link.get("href")):
            found.add("self-link", f"channel self link {link.get('href')!r} is not absolute")
    for n, item in enumerate(channel.iter("item"), 1):
        where = f"item {n}"
        if item.find("title") is None and item.find("description") is None:
            found.add("rss-required", f"{where} has neither <title> nor <description>")
        found.tag(_text(item, "guid"), f"{where} guid")
        found.date(_text(item, "pubDate"), f"{where} pubDate", _rfc822)
        for enc in item.findall("enclosure"):
            length = enc.get("length") or ""
            if not enc.get("url") or not enc.get("type") or not length.strip().isdigit():
                found.add("enclosure", f"{where}: enclosure needs url, length and type")
    for deleted in channel.iter("{http://purl.org/atompub/tombstones/1.0}deleted-entry"):
        found.date(deleted.get("when"), "deleted-entry when", _rfc3339)


def _json_feed(data: bytes, found: _Found) -> None:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        found.add("well-formed", f"not JSON: {exc}")
        return
    except RecursionError:
        found.add("well-formed", "not JSON a reader can take: arrays or objects nested too deep")
        return
    if not isinstance(doc, dict) or "jsonfeed.org/version/" not in str(doc.get("version", "")):
        return  # another JSON file (ours are all JSON Feeds but the manifest)
    for name in ("title", "items"):
        if name not in doc:
            found.add("json-required", f"no {name!r}")
    feed_url = doc.get("feed_url")
    if "feed_url" in doc and not (isinstance(feed_url, str) and _absolute(feed_url)):
        found.add("self-link", f"feed_url {feed_url!r} is not absolute")
    items = doc.get("items")
    for n, item in enumerate(items if isinstance(items, list) else [], 1):
        if not isinstance(item, dict) or not item.get("id"):
            found.add("json-required", f"item {n} has no id")
            continue
        found.tag(str(item["id"]), f"item {n} id")
        for name in ("date_published", "date_modified"):
            if isinstance(item.get(name), str):
                found.date(item[name], f"item {n} {name}", _rfc3339)


def check_file(path: str, data: bytes) -> list[Violation]:
    """Every rule ``data`` breaks (a few per rule), as the file at ``path``."""
    found = _Found(path)
    lower = path.lower()
    if lower.endswith(".json"):
        _json_feed(data, found)
        return found.items
    if not lower.endswith(CHECKED):
        return []
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        found.add("well-formed", f"not well-formed XML: {exc}")
        return found.items
    if root.tag == _A + "feed":
        _atom(root, found)
    elif root.tag == "rss":
        _rss(root, found)
    return found.items


@dataclass(frozen=True, slots=True)
class OutputCheck:
    """What :func:`check_output` found in a folder."""

    folder: Path
    files: list[str]  # the files checked, relative to the folder (POSIX)
    problems: list[Violation]  # paths as the folder joined with the file's


def check_output(folder: Path | str) -> OutputCheck:
    """The gate's rules on every checked file under ``folder`` (any feeds,
    hand-edited or not ours), in path order. Raises FileNotFoundError (naming
    it) when ``folder`` is not a folder."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    found: list[Violation] = []
    files: list[str] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or not path.name.lower().endswith(CHECKED):
            continue
        if path.name.startswith("."):
            continue  # our manifest, temp files
        files.append(path.relative_to(root).as_posix())
        try:
            data = path.read_bytes()
        except OSError as exc:
            found.append(Violation(str(path), "readable", exc.strerror or str(exc)))
            continue
        found.extend(check_file(str(path), data))
    return OutputCheck(root, files, found)


__all__ = [
    "CHECKED",
    "MAX_YEAR",
    "MIN_YEAR",
    "OutputCheck",
    "Violation",
    "check_file",
    "check_output",
]
