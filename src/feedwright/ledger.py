"""The id ledger: the id and date each local post was first published with.

A plain-text file beside the config (``ids:``, default ``feedwright.ids``),
meant to be committed with the site, and mirrored in the state store, so
that either one alone keeps every id: a fresh clone, a deleted state, a new
``site.url`` or ``permalink`` pattern never changes an id a reader has seen.
One line per post, sorted by path, fields separated by a tab::

    posts/2023/hello.md	9f3c2a0d5e7b1c44	tag:example.com,2000:2023/hello	2023-11-02T08:00:00Z
    path (POSIX, relative to the config's folder), fingerprint (of the body),
    id, first date

How a build uses it (:func:`resolve`, pure but for the clock; the caller reads the files)::

    a post whose path has a line      keeps the line's id, unless its front matter
                                      sets ``id``/``guid`` (that wins: an id change,
                                      reported); keeps the line's date unless it has
                                      one of its own (front matter, Jekyll file name)
    a post new to the ledger whose    moved or renamed: keeps that line's id and date
    fingerprint is that of exactly    (reported)
    one line whose file is gone
    any other post                    its own id and date, recorded
    a post without a date of its own  never held back: a date ahead of the clock (its
    (given ``now``)                   file's time or its line's) is a wrong clock's: it
                                      takes ``now``, recorded (:func:`ahead`)

Lines of files that are gone (and not moved) leave the ledger. A damaged line
is a warning naming the file and line; the file is then left as it is (never
rewritten over what a person may want back) until it is fixed, except for a
line repeating another's id, or one whose id is a malformed ``tag:`` URI (no
feed holding it passes the publish gate: no reader has it), which is dropped
when the file is next written, its post taking the id it has without it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .model import rfc3339
from .text import bad_tag_uri

if TYPE_CHECKING:
    from .store import Store

log = logging.getLogger("feedwright.build")

META_KEY = "ids"  # the store's copy of the ledger text
HEADER = (
    "# feedwright id ledger: the id each post was first published with (docs/ids.md).\n"
    "# Commit it with the site. path<TAB>fingerprint<TAB>id<TAB>first date\n"
)
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")
# How a problem the next write of the file mends ends (parse): it does not freeze the file.
DROPPED = "; line ignored, and dropped when the file is next written"
# How far an undated post's date may be ahead of the clock without a word (:func:`ahead`):
# machines sharing a folder disagree by seconds (Kerberos allows 5 minutes).
SKEW = timedelta(minutes=5)


class Line(NamedTuple):
    """What the ledger keeps of one post (10,000 made each time the file is read)."""

    path: str  # POSIX, relative to the config's folder
    fingerprint: str  # of the post's body: finds it again when moved or renamed
    id: str
    date: datetime  # UTC
    # The line as the file has it (read from it and unchanged since): written back as it is.
    text: str = ""


@dataclass(slots=True)
class Ledger:
    """The ledger as read. Its lines are parsed when first asked for: a build
    that finds nothing changed needs only the file's text."""

    file: Path
    text: str | None = None  # the file's text (None: no file)
    source: str = ""  # the text the lines come from: the file's, or the state's copy
    where: str = ""  # what problems name: the file, or its copy in the state
    parsed: tuple[dict[str, Line], list[str]] | None = None
    # The text is the one the last build wrote and found sound: no problems,
    # and its lines are parsed only when asked for (resolve_edits needs a few).
    sound: bool = False

    @property
    def lines(self) -> dict[str, Line]:
        """The lines, by path."""
        return self._parse()[0]

    @property
    def problems(self) -> list[str]:
        """``file:line: reason`` for each line left out (or the file unreadable)."""
        if self.parsed is None and self.sound:
            return []
        return self._parse()[1]

    @property
    def frozen(self) -> bool:
        """Whether the file must be left as it is: a line is damaged in a way a
        person may want to mend by hand (only a repeated id is mended here)."""
        return any(not p.endswith(DROPPED) for p in self.problems)

    def _parse(self) -> tuple[dict[str, Line], list[str]]:
        if self.parsed is None:
            self.parsed = parse(self.source, self.where)
        return self.parsed


class Post(NamedTuple):
    """What resolving needs of one readable post (one per post file, every build)."""

    key: str  # its path, POSIX, relative to the config's folder
    fingerprint: str
    id: str  # as its front matter and path make it
    date: datetime


@dataclass(slots=True)
class Resolved:
    """What the ledger makes of this build's posts."""

    ids: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # key -> (id, date)
    changed: dict[str, str] = field(default_factory=dict)  # new id -> the ledger's old id
    notes: list[str] = field(default_factory=list)  # moves and id changes, one line each
    lines: dict[str, Line] = field(default_factory=dict)  # the ledger after this build
    # The ledger's whole text after this build, when resolving made it already
    # (resolve_edits: only the edited posts' lines are in ``lines``).
    text: str | None = None


# --------------------------------------------------------------------------- the file


def key_prefix(config_dir: Path, folder: Path) -> str:
    """What a posts folder's files' keys start with (``posts/``; ``../x/`` outside)."""
    rel = Path(os.path.relpath(folder, config_dir)).as_posix()
    return "" if rel == "." else rel + "/"


def fingerprint(body_digest: str) -> str:
    return body_digest[:16] or "-"


def _escape(text: str) -> str:
    if not _NEEDS_ESCAPE.search(text):
        return text  # nearly always: paths, hex fingerprints, ids, dates
    return "".join(_ESCAPES.get(c, c) for c in text)


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out, chars = [], iter(text)
    for c in chars:
        if c == "\\":
            nxt = next(chars, "")
            if nxt not in _UNESCAPES:
                raise ValueError(f"unknown escape \\{nxt}")
            c = _UNESCAPES[nxt]
        out.append(c)
    return "".join(out)


def parse(text: str, where: str) -> tuple[dict[str, Line], list[str]]:
    """The lines of a ledger's text and its problems (``where:N: reason``);
    a damaged line, or one repeating a path or an id, is left out."""
    lines: dict[str, Line] = {}
    by_id: dict[str, int] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        fields = raw.split("\t")
        try:
            if len(fields) != 4:
                raise ValueError(f"expected 4 tab-separated fields, found {len(fields)}")
            path, mark, id_, date = fields if "\\" not in raw else map(_unescape, fields)
            if not path or not id_ or not mark:
                raise ValueError("an empty path, fingerprint or id")
            when = datetime.fromisoformat(date)
            if when.tzinfo is None:
                raise ValueError(f"date without a zone: {date}")
            if when.tzinfo is not UTC:
                when = when.astimezone(UTC)
        except ValueError as exc:
            problems.append(f"{where}:{number}: {exc}; line ignored")
            continue
        if bad_tag_uri(id_):
            # A hand edit, a bad merge, or what a site.url with an IPv6 host made
            # (before config.py refused one): never published, since the gate
            # refuses every feed holding it; nothing here to keep for a reader.
            problems.append(
                f"{where}:{number}: the id {id_.strip()!r} of {path} is not a tag: URI"
                " (RFC 4151: tag:<domain or e-mail>,<date>:<name>), which the publish gate"
                " refuses in every feed holding it: the post is published under the id it"
                f" has without this line{DROPPED}"
            )
            continue
        if path in lines:
            problems.append(f"{where}:{number}: {path} is listed twice; line ignored")
            continue
        if id_ in by_id:
            # No help to anyone (an id is one post's): not kept when the file is
            # next written (an older feedwright wrote such lines for two posts
            # sharing a permalink), where other damage freezes the file.
            problems.append(
                f"{where}:{number}: duplicate id {id_} (also line {by_id[id_]}){DROPPED}"
            )
            continue
        by_id[id_] = number
        lines[path] = Line(path, mark, id_, when, raw)
    return lines, problems


def line_text(line: Line) -> str:
    """A line as the file has it (without its end)."""
    if line.text:
        return line.text
    fields = (line.path, line.fingerprint, line.id, rfc3339(line.date))
    if _NEEDS_ESCAPE.search("".join(fields)) is None:
        return "\t".join(fields)  # nearly always: paths, hex fingerprints, ids, dates
    return "\t".join(_escape(f) for f in fields)


def dump(lines: Iterable[Line]) -> str:
    rows = sorted(lines, key=lambda line: line.path)
    return HEADER + "".join(line_text(r) + "\n" for r in rows)


def dumps_clean(lines: Mapping[str, Line]) -> bool:
    """Whether :func:`dump` of these lines parses back with no problem: no
    id twice, no empty field, no malformed tag: URI (what lets a later build
    trust the text unread)."""
    ids = {line.id for line in lines.values()}
    return len(ids) == len(lines) and all(
        line.path and line.fingerprint and line.id and not bad_tag_uri(line.id)
        for line in lines.values()
    )


def stored(store: Store) -> str | None:
    """The store's copy of the ledger's text."""
    raw = store.get_meta(META_KEY)
    try:
        text = json.loads(raw) if raw else None
    except ValueError:
        return None
    return text if isinstance(text, str) else None


def load(file: Path, stored: Callable[[], str | None]) -> Ledger:
    """The ledger at ``file``; the store's copy (``stored()``, read only then)
    when the file is missing. An unreadable file is a problem, never a crash."""
    try:
        # Paths that are not UTF-8 (file names in a legacy encoding) come back as they went.
        text = file.read_bytes().decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        return Ledger(file, source=stored() or "", where=f"{file} (the state's copy)")
    except (OSError, UnicodeDecodeError) as exc:
        return Ledger(file, text="", parsed=({}, [f"{file}: cannot read: {exc}; left as it is"]))
    return Ledger(file, text=text, source=text, where=str(file))


def save(ledger: Ledger, resolved: Resolved) -> str | None:
    """Write the ledger's new text atomically if it changed (and the file is
    sound); the new text, or None if there is nothing to keep."""
    if resolved.text is not None:
        text = resolved.text
    elif not resolved.lines and ledger.text is None:
        return None
    else:
        text = dump(resolved.lines.values())
    if text != ledger.text and not ledger.frozen:
        from .publish.write import atomic_write

        atomic_write(ledger.file, text.encode("utf-8", "surrogateescape"))
        log.debug("wrote %s", ledger.file)
    return text


def keep(ledger: Ledger, resolved: Resolved, store: Store) -> str | None:
    """Once published: the ledger's file (:func:`save`) and the store's copy.
    The file's text now (None: there is no file)."""
    text = save(ledger, resolved)
    if text is not None and (copy := json.dumps(text)) != store.get_meta(META_KEY):
        store.set_meta(META_KEY, copy)  # ASCII: a path may not be UTF-8
    return ledger.text if text is None or ledger.frozen else text


# --------------------------------------------------------------------------- resolving


class Clock(NamedTuple):
    now: datetime  # the build's time, to the second (as the ledger writes dates)
    latest: datetime  # ``now`` or the machine's clock, whichever is later


def clock(now: datetime) -> Clock:
    """What a resolve at ``now`` goes by. (A build told an earlier ``now``, a
    replay, still holds back a post written since: its time is no wrong clock's.)"""
    now = now.replace(microsecond=0)
    return Clock(now, max(now, datetime.now(UTC)))


def ahead(out: Resolved, key: str, date: datetime, what: str, why: str, at: Clock) -> datetime:
    """The date of a post without a date of its own whose ``date`` (``what``,
    ``why``: whence) is later than ``at.latest``: no schedule but a wrong clock's
    (a file copied from a machine whose clock ran ahead, an archive extracted
    with bad times), so ``at.now``. More than SKEW ahead, a note says so."""
    if date > at.latest + SKEW:
        out.notes.append(
            f"{key}: {what}, {rfc3339(date)}, is ahead of the clock ({why}): no schedule, as"
            " the post has no date of its own; dated by the build that first publishes it"
            f" (this one: {rfc3339(at.now)}), whose date the id ledger keeps (`date:` in its"
            " front matter sets another)"
        )
    return at.now


def resolve(
    ledger: Ledger,
    posts: Iterable[Post],
    present: Iterable[str],
    declares: Callable[[str, str], tuple[bool, bool]],
    now: datetime | None = None,
) -> Resolved:
    """Each post's id and date by the ledger (only those that differ from the
    post's own are in ``Resolved.ids``). ``present``: the keys of every post
    file there is (drafts and unreadable ones too: their lines stay);
    ``declares(key, old_id)``: whether that post sets its own id in place of
    ``old_id``, and whether it has its own date; ``now``: the build's time,
    given to a post without a date of its own whose date is ahead of the
    clock (:func:`ahead`; None: none is)."""
    out = Resolved()
    at = None if now is None else clock(now)
    lines = ledger.lines
    there = set(present)
    waiting: list[Post] = []
    for post in posts:
        line = lines.get(post.key)
        if line is None:
            waiting.append(post)
        else:
            _keep(out, post, line, declares, at)
    # Moved or renamed: one gone file's line and one new post share a fingerprint.
    gone: dict[str, list[Line]] = {}
    for line in lines.values():
        if line.path not in there:
            gone.setdefault(line.fingerprint, []).append(line)
    new: dict[str, list[Post]] = {}
    for post in waiting:
        new.setdefault(post.fingerprint, []).append(post)
    for post in waiting:
        lost = gone.get(post.fingerprint, [])
        if post.fingerprint != "-" and len(lost) == 1 and len(new[post.fingerprint]) == 1:
            line = lost[0]
            out.notes.append(f"{post.key}: moved from {line.path}; keeps its id {line.id}")
            _keep(out, post, line, declares, at)
        else:
            date = post.date
            if at is not None and date > at.latest and not declares(post.key, post.id)[1]:
                why = "a wrong clock where the file was written or copied?"
                date = ahead(out, post.key, date, "its file's mtime", why, at)
                out.ids[post.key] = (post.id, date)
            out.lines[post.key] = Line(post.key, post.fingerprint, post.id, date)
    for key in there:  # drafts, unreadable posts: their lines stay
        if key not in out.lines and key in lines:
            out.lines[key] = lines[key]
    _one_line_per_id(out, lines)
    return out


def _one_line_per_id(out: Resolved, before: Mapping[str, Line]) -> None:
    """Posts sharing an id are problems, and none of them is published under
    it: a line that would give its id to a second post is not recorded (the
    post keeps its line as it was, or gets none), so the ledger never holds
    an id twice, which its own rules would call damage."""
    holders: dict[str, list[str]] = {}
    for key, line in out.lines.items():
        holders.setdefault(line.id, []).append(key)
    for keys in holders.values():
        if len(keys) < 2:
            continue
        for key in keys:
            old = before.get(key)
            if old is None:
                del out.lines[key]
            elif out.lines[key] != old:
                out.lines[key] = old


def resolve_edits(
    ledger: Ledger,
    posts: Iterable[Post],
    declares: Callable[[str, str], tuple[bool, bool]],
    now: datetime | None = None,
) -> Resolved | None:
    """:func:`resolve` for posts edited in place, when the ledger's text is
    the one the last build left and no post file was added or removed since:
    every other post would resolve as it did then. Only these posts' lines
    are found (by a search of the text) and rewritten; ``Resolved.text`` is
    the new text, ``ids`` those of these posts only. None when one of them
    has no line or would take another id than its line's: :func:`resolve`
    does the whole then."""
    text = ledger.source
    out = Resolved()
    ticks = None if now is None else clock(now)
    spans: list[tuple[int, int, str]] = []
    for post in posts:
        if _NEEDS_ESCAPE.search(post.key):
            return None
        start = text.find(f"\n{post.key}\t") + 1
        if start == 0:
            return None
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        found, problems = parse(text[start:end], ledger.where)
        line = found.get(post.key)
        if problems or line is None:
            return None
        _keep(out, post, line, declares, ticks)
        new = out.lines[post.key]
        if new.id != line.id:
            return None
        spans.append((start, end, line_text(new)))
    pieces, at = [], 0
    for start, end, new_text in sorted(spans):
        pieces += [text[at:start], new_text]
        at = end
    pieces.append(text[at:])
    out.text = "".join(pieces)
    return out


def _keep(
    out: Resolved,
    post: Post,
    line: Line,
    declares: Callable[[str, str], tuple[bool, bool]],
    at: Clock | None,
) -> None:
    id_, date = line.id, line.date
    own_date = False
    if post.id != line.id or post.date != line.date or (at and line.date > at.latest):
        own_id, own_date = declares(post.key, line.id)
        if post.id != line.id and own_id:
            id_ = post.id
            out.changed[post.id] = line.id
            out.notes.append(
                f"{post.key}: its id changes from {line.id} to {post.id} (its front matter's id)"
            )
        if own_date:
            date = post.date
    if not own_date and at is not None and date > at.latest:  # (an earlier feedwright's)
        why = "a `date:` since removed, or an earlier feedwright's record of its file's mtime?"
        date = ahead(out, post.key, date, "its date in the id ledger", why, at)
    if (id_, date) != (post.id, post.date):
        out.ids[post.key] = (id_, date)
    if (line.path, line.fingerprint, line.id, line.date) == (post.key, post.fingerprint, id_, date):
        out.lines[post.key] = line  # unchanged: written back as it was read
    else:
        out.lines[post.key] = Line(post.key, post.fingerprint, id_, date)


def key_of(prefix: str, rel: str) -> str:
    """A post's key: its folder's :func:`key_prefix` and its path in the folder,
    as the walk gives it (names joined by ``/``, never ``.`` or ``..``): already
    normal, so the two are only joined."""
    return prefix + rel


__all__ = [
    "HEADER",
    "META_KEY",
    "Ledger",
    "Line",
    "Post",
    "Resolved",
    "dump",
    "dumps_clean",
    "fingerprint",
    "keep",
    "key_of",
    "key_prefix",
    "line_text",
    "load",
    "parse",
    "resolve",
    "resolve_edits",
    "save",
    "stored",
]
