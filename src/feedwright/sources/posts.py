"""Read a folder of local posts (Hexo, Jekyll, Hugo conventions) into entries.

``read_posts`` walks a posts folder recursively in sorted order and turns
every post file into an :class:`~feedwright.model.Entry` whose body is left
*unrendered* (``Entry.body``); Markdown is rendered later by
``normalize.render``, only for entries that reach a feed. While the body is
unrendered, ``Entry.summary`` (from ``summary``/``description``/``excerpt``
front matter) is in the body's format too, and ``render`` converts both.

A post file is ``.md``/``.markdown``/``.txt`` (CommonMark, raw HTML passes
through) or ``.html``/``.htm`` (HTML as is). Hidden files and folders, editor
backups (``~``) and every other suffix are skipped silently; posts under a
``_drafts`` folder are counted as skipped, like ``draft: true``.

Reading one file::

    bytes (<= 16 MB)  -> text: BOM (UTF-8/UTF-16), else UTF-8, else GB18030;
                         anything else is a PostError, never mojibake
    front matter      -> YAML ``---`` (<= 4 MB, YAML 1.2-ish scalars: only
                         true/false/null are not strings, so ``title: no`` stays
                         "no"; alias bombs refused), TOML ``+++``, or a JSON
                         object at the start of the file (Hugo)
    fields            -> Entry (below); a bad value is a PostError naming it

Fields:

- ``title``; else the first ``# heading`` / ``<h1>`` of the body; else the
  file name (Jekyll date prefix removed, ``-``/``_`` as spaces).
- ``date`` (or Hugo ``publishDate``/``pubdate``/date-valued ``published``):
  RFC 2822, ISO 8601, ``YYYY-MM-DD[ HH:MM[:SS]]``, YAML/TOML dates; dates
  without a zone are in ``site.timezone``. Without one: the Jekyll file-name
  date (``2022-06-27-slug.md``), else the file's modification time, which is
  what Hexo does (note a fresh git checkout resets mtimes; give posts a date).
  ``updated``/``lastmod``/``modified``/``last_modified_at``, else the date.
- ``categories``/``category`` and ``tags``/``tag``: a list (Hexo nested lists
  are flattened) or a string split on commas if it has any, else on spaces;
  the source's ``categories`` are added; duplicates (case-insensitive) dropped.
- ``author``/``authors``: a name, ``{name, email, uri|url}``, or a list.
- ``headimg``/``thumbnail``/``image``/``cover``/``images``: image enclosures.
- ``draft: true`` or ``published: false``: not published (counted in ``skipped``).
- ``lang``/``language``, else ``site.language``.

Identity (``Entry.id``) never depends on the title, date, body, categories,
the checkout folder or the machine. The first of:

1. ``id`` or ``guid`` front matter (a value without a URI scheme becomes
   ``tag:<host>,2000:<value>``);
2. an explicit ``permalink``/``link`` front matter (made absolute);
3. ``tag:<site host>,2000:<site path><path relative to the posts folder, without suffix>``
   (for ``index.md`` the folder is the path: Hugo page bundles). Moving or
   renaming the posts folder keeps every id; moving a file inside it changes
   its id (give such posts an ``id``). Two posts folders holding the same
   relative path give one id: the first folder's post is published.

The source's ``permalink`` pattern is deliberately *not* used for the id: a
pattern with ``{year}`` or ``{title}`` changes when the date or title is
edited, and a reader would see a duplicate.

Link (``Entry.link``): ``permalink``/``link`` front matter (relative ones
resolve against ``site.url``); else ``site.url`` + the source's ``permalink``
pattern, with ``{year} {month} {day}`` (zero-padded, in ``site.timezone``),
``{slug}`` (``slug`` front matter, else the file name without a Jekyll date
prefix), ``{title}`` (the title, slugified), ``{category}`` (the first one),
``{filename}`` (file name without suffix); else ``site.url`` + the folder
relative to the posts folder + the slug + ``/`` (like Hugo's default:
``posts/news/2023-11-02-opening.md`` -> ``<site.url>news/opening/``).
Relative URLs in the body and images resolve against the link.

Performance: about 0.2 ms of CPU a post on the benchmark machine (10,000
posts: ~2 s in one process; a cold build splits them over two). Each file is
read once, in 64 KB reads; the common front matter shape (``key: value``
lines and simple lists) is parsed without PyYAML, anything else goes to
PyYAML's C loader; the common date shapes (ISO 8601, RFC 2822) by one regex each;
Markdown is not rendered here (``read_body`` gives a cached post's body back
to render it).
"""

from __future__ import annotations

import hashlib
import html
import json
import marshal
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from .. import forking
from ..config import PostsSource, Site
from ..decode import DecodeError, decode_post
from ..exceptions import PostError
from ..model import Body, BodyFormat, Enclosure, Entry, Person
from ..packing import cached_entry, new_entry, pack, pack_for_cache, unpack
from ..remote.sanitize import safe_url
from ..text import category_key, join_url, strip_xml_illegal
from .files import POST_SUFFIXES, Stamp

if TYPE_CHECKING:
    import yaml

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_FRONT_MATTER_BYTES = 4 * 1024 * 1024
# YAML nodes visited when walking front matter *through* aliases: a real front
# matter has dozens; a "billion laughs" document has billions.
MAX_YAML_NODES = 10_000

_HTML_SUFFIXES = frozenset({".html", ".htm"})
_DRAFTS_DIR = "_drafts"
_TAG_DATE = "2000"


class PostRecord(NamedTuple):
    """What reading one file gave, keyed by its stamp, so the caller can cache it.

    ``entry`` None and ``error`` None: a draft or ``published: false``. A named
    tuple rather than a frozen dataclass: a build makes one per cached post
    (10,000), and a tuple is made in C.
    """

    stamp: Stamp
    entry: Entry | None = None
    error: str | None = None
    stripped: int = 0  # XML-illegal characters removed from the file's text
    # The entry as ``packing.pack(entry, body_text=False)`` when a forked read
    # or the post cache made it so; saved again as it is.
    packed: bytes | None = None


@dataclass(frozen=True, slots=True)
class PostsResult:
    entries: list[Entry] = field(default_factory=list)  # future-dated ones too
    errors: list[PostError] = field(default_factory=list)
    skipped: int = 0  # drafts and ``published: false``
    records: dict[str, PostRecord] = field(default_factory=dict)  # rel path -> record
    reused: int = 0  # records taken from ``previous`` unread
    stripped: int = 0  # XML-illegal characters removed from the published posts' text


# Below this many files to read, a second process costs more than it saves.
PARALLEL_THRESHOLD = 2000


def read_posts(
    source: PostsSource,
    site: Site,
    *,
    previous: Mapping[str, PostRecord] | None = None,
    workers: int = 1,
    stamps: Mapping[str, Stamp] | None = None,
    keep_text: bool = True,
) -> PostsResult:
    """Read every post under ``source.path``; a bad post is an error value, not a raise.

    ``previous`` (records of an earlier read with the same settings) lets
    files whose size and mtime are unchanged be reused without reading them.
    ``stamps`` (rel path -> stamp, from ``files.snapshot``) saves walking the
    folder again. With ``workers`` > 1 and many files to read, the reading is
    split across forked processes (cold builds of large sites).
    ``keep_text=False`` drops each body's text once its digest is taken
    (``Body.text`` None): most posts never reach a feed, and the few that do
    are read again to render them. It is how a build with a post cache reads:
    every record it makes then has ``packed`` (the cache's bytes), and its
    entry is a ``packing.CachedEntry`` carrying them.
    """
    if not source.path.is_dir():
        err = PostError("posts folder does not exist", path=str(source.path))
        return PostsResult([], [err], 0)
    previous = previous or {}
    records: dict[str, PostRecord] = {}
    drafts: set[str] = set()
    todo: list[tuple[str, str, Stamp]] = []
    reused = 0
    root = str(source.path)
    if stamps is not None:
        # The common incremental case, kept lean: 10,000 stamps, a few to read.
        prefix = root.rstrip(os.sep) + os.sep
        for rel, stamp in stamps.items():
            if _DRAFTS_DIR in rel and _DRAFTS_DIR in rel.split("/")[:-1]:
                drafts.add(rel)
                continue
            old = previous.get(rel)
            if old is not None and old.stamp == stamp:
                records[rel] = old
                reused += 1
            else:
                todo.append((prefix + rel.replace("/", os.sep), rel, stamp))
        found = []
    else:
        found = _walk(root)
    for where, rel, is_draft in found:
        if is_draft:
            drafts.add(rel)
            continue
        try:
            st = os.stat(where)
        except OSError as exc:
            records[rel] = PostRecord((0, 0), error=f"cannot read: {exc.strerror or exc}")
            continue
        stamp = (st.st_size, st.st_mtime_ns)
        old = previous.get(rel)
        if old is not None and old.stamp == stamp:
            records[rel] = old
            reused += 1
        else:
            todo.append((where, rel, stamp))

    for rel, record in _read_many(todo, source, site, workers, keep_text):
        records[rel] = record

    entries: list[Entry] = []
    errors: list[PostError] = []
    skipped = len(drafts)
    stripped = 0
    # Folder by folder ("a/b" before "a-c"): "/" made the lowest character.
    for rel in sorted(records, key=lambda r: r.replace("/", "\x00")):
        record = records[rel]
        if record.error is not None:
            errors.append(PostError(record.error, path=str(source.path / rel)))
        elif record.entry is None:
            skipped += 1
        else:
            entries.append(record.entry)
            stripped += record.stripped
    return PostsResult(entries, errors, skipped, records, reused, stripped)


def _digest(text: str) -> str:
    # Identity, not security: BLAKE2 is the fastest of hashlib's stable digests.
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _read_one(
    where: str, rel: str, stamp: Stamp, source: PostsSource, site: Site, keep_text: bool
) -> PostRecord:
    counts: list[int] = []
    try:
        entry = _read(where, rel, source, site, keep_text, counts)
    except PostError as exc:
        return PostRecord(stamp, error=exc.message)
    return PostRecord(stamp, entry, stripped=sum(counts))


def _cacheable(record: PostRecord) -> PostRecord:
    """A record read with ``keep_text=False`` (for the post cache), with its
    entry's packed bytes, and its entry a ``packing.CachedEntry`` of them: a
    feed's key digests those bytes, so a post digests the same in the build
    that read it as in every later one that takes it from the cache. (The
    entry just read is dropped: the few that reach a feed decode again.)"""
    if record.entry is None:
        return record
    top, packed = pack_for_cache(record.entry)
    return record._replace(entry=cached_entry(top, packed, ""), packed=packed)


def _read_chunk(
    todo: list[tuple[str, str, Stamp]], source: PostsSource, site: Site, keep_text: bool
) -> list[tuple[str, PostRecord]]:
    if keep_text:
        return [
            (rel, _read_one(where, rel, stamp, source, site, True)) for where, rel, stamp in todo
        ]
    return [
        (rel, _cacheable(_read_one(where, rel, stamp, source, site, False)))
        for where, rel, stamp in todo
    ]


def _read_chunk_packed(
    todo: Iterable[tuple[str, str, Stamp]], source: PostsSource, site: Site, keep_text: bool
) -> bytes:
    """A forked worker's part of a read, as one marshal blob: pickling 5,000
    entries (dataclass by dataclass, in Python) and unpickling them cost as much
    as reading them; packed entries cost a tenth of that, and the post cache
    saves the same bytes."""
    out = []
    for where, rel, stamp in todo:
        r = _read_one(where, rel, stamp, source, site, keep_text)
        entry = r.entry
        packed = top = None
        if entry is not None:
            if keep_text:
                packed = pack(entry)
            else:
                top, packed = pack_for_cache(entry)
        out.append((rel, stamp, r.error, r.stripped, packed, top))
    return marshal.dumps(out)


def _unpack_chunk(blob: bytes, keep_text: bool) -> list[tuple[str, PostRecord]]:
    rows = marshal.loads(blob)
    if not keep_text:
        # Text-less bytes are what the post cache stores; the entries are
        # decoded from them as they would be from the cache: the head now,
        # the rest by the few posts that reach a feed.
        return [
            (
                rel,
                PostRecord(
                    stamp, None if p is None else cached_entry(top, p, ""), error, stripped, p
                ),
            )
            for rel, stamp, error, stripped, p, top in rows
        ]
    memo: dict[tuple[Any, ...], Any] = {}
    return [
        (rel, PostRecord(stamp, None if p is None else unpack(p, memo), error, stripped))
        for rel, stamp, error, stripped, p, _ in rows
    ]


# A forked read hands out the files in chunks of this many, from a pipe the
# processes share: a slower core (this VM's second gives 1.0-1.6x of the first)
# then reads fewer, instead of everyone waiting for its fixed half. Measured:
# with fixed halves the worker finished 0.1-0.4 s after this process.
READ_CHUNK = 100
# Chunk numbers are written to the pipe before forking, so all of them must fit
# in its buffer: 4 KiB at most (4 bytes each), the least a Linux pipe holds
# (one page, when the user has many pipes); a huge site takes bigger chunks.
_MAX_CHUNKS = 1024
# (chunks, the pipe's read end, source, site, keep_text): inherited by forked workers.
_READ_WORK: tuple[list[list[tuple[str, str, Stamp]]], int, PostsSource, Site, bool] | None = None


def _next_files() -> Iterator[tuple[str, str, Stamp]]:
    """The files of the chunks this process takes, until none is left.

    Each chunk is a 4-byte number read from the shared pipe: a read of the
    pipe takes whole numbers (all were written before any read), and an empty
    read means every chunk is taken.
    """
    assert _READ_WORK is not None
    chunks, tokens = _READ_WORK[0], _READ_WORK[1]
    while len(token := os.read(tokens, 4)) == 4:
        yield from chunks[int.from_bytes(token, "little")]


def _read_share(worker: int) -> list[tuple[str, PostRecord]] | bytes:
    """One process's part of a forked read. This process (worker 0) makes its
    records here (for the post cache: packed, their entries lazy views of the
    bytes); a forked one sends back the packed bytes and heads alone."""
    assert _READ_WORK is not None
    _, _, source, site, keep_text = _READ_WORK
    if worker == 0:
        records = []
        for where, rel, stamp in _next_files():
            record = _read_one(where, rel, stamp, source, site, keep_text)
            if not keep_text:
                # Packed for the post cache here, while the workers still read,
                # rather than by the cache's save after them.
                record = _cacheable(record)
            records.append((rel, record))
        return records
    return _read_chunk_packed(_next_files(), source, site, keep_text)


def _read_many(
    todo: list[tuple[str, str, Stamp]],
    source: PostsSource,
    site: Site,
    workers: int,
    keep_text: bool,
) -> list[tuple[str, PostRecord]]:
    global _READ_WORK
    if workers <= 1 or len(todo) < PARALLEL_THRESHOLD or not forking.fork_safe():
        return _read_chunk(todo, source, site, keep_text)
    size = max(READ_CHUNK, -(-len(todo) // _MAX_CHUNKS))
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    tokens, feed = os.pipe()
    try:
        os.write(feed, b"".join(i.to_bytes(4, "little") for i in range(len(chunks))))
    finally:
        os.close(feed)
    _READ_WORK = (chunks, tokens, source, site, keep_text)
    try:
        shares = forking.in_shares(_read_share, list(range(workers)))
    finally:
        _READ_WORK = None
        os.close(tokens)
    results: list[tuple[str, PostRecord]] = []
    for share in shares:
        results.extend(_unpack_chunk(share, keep_text) if isinstance(share, bytes) else share)
    return results


def _walk(root: str) -> list[tuple[str, str, bool]]:
    """(path, POSIX path relative to root, inside ``_drafts``) per post file, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        prefix = "" if rel_dir == "." else rel_dir + "/"
        in_drafts = _DRAFTS_DIR in prefix.split("/")
        for name in filenames:
            if name.startswith(".") or name.endswith("~"):
                continue
            if os.path.splitext(name)[1].lower() in POST_SUFFIXES:
                found.append((os.path.join(dirpath, name), prefix + name, in_drafts))
    found.sort(key=lambda item: item[1].split("/"))
    return found


def read_post(path: Path, source: PostsSource, site: Site) -> Entry | None:
    """Read one post file; None for a draft. Raises PostError naming ``path``."""
    return _read(str(path), _relative(path, source.path), source, site)


def read_body(path: Path) -> str:
    """The body text :func:`read_post` would give the file, without making an
    entry of its front matter: what a build needs to render a post it has
    cached (it is most of re-reading one). Raises PostError naming ``path``."""
    where = str(path)
    raw = _read_bytes(where)
    text, utf8 = _decode(raw, where)
    if not (utf8 and _utf8_clean(raw)):
        text = strip_xml_illegal(text)[0]
    return _split_front_matter(text, where, parse=False)[1]


def _read(
    where: str,
    rel: str,
    source: PostsSource,
    site: Site,
    keep_text: bool = True,
    counts: list[int] | None = None,
) -> Entry | None:
    raw = _read_bytes(where)
    # Characters XML 1.0 forbids go once, here, for the whole file (front
    # matter and body); ``counts`` gets how many, for the build report.
    text, utf8 = _decode(raw, where)
    exact = utf8 and _utf8_clean(raw, text)
    if exact:
        stripped = 0
    else:
        text, stripped = strip_xml_illegal(text)
    if counts is not None:
        counts.append(stripped)
    # Clean UTF-8 without DEL or any C1 control (UTF-8 C2 80-9F): nothing
    # YAML refuses can be in it, so the front matter need not be scanned.
    printable = exact and b"\x7f" not in raw and b"\xc2" not in raw
    meta, body = _split_front_matter(text, where, printable=printable)
    digest = None
    if exact and "\r" not in text:
        # The body is then the tail of the file's own bytes: hash those rather
        # than encode the body again (the digest _digest gives, a test holds).
        head = len(text) - len(body)
        start = (3 if raw.startswith(b"\xef\xbb\xbf") else 0) + len(text[:head].encode("utf-8"))
        digest = hashlib.blake2b(memoryview(raw)[start:], digest_size=16).hexdigest()
    return _entry(where, rel, meta, body, source, site, keep_text, digest)


def _relative(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root)
    except ValueError:
        try:
            rel = path.absolute().relative_to(root.absolute())
        except ValueError:
            rel = Path(path.name)
    return rel.as_posix()


# --------------------------------------------------------------------------- bytes -> text


# Bytes asked of the OS per read: asking for MAX_FILE_BYTES at once would
# allocate 16 MB for every 4 KB post (that was 80% of the time spent reading).
_CHUNK = 1 << 16


def _read_bytes(where: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    try:
        fd = os.open(where, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            while total <= MAX_FILE_BYTES:
                chunk = os.read(fd, min(_CHUNK, MAX_FILE_BYTES + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        raise PostError(f"cannot read: {exc.strerror or exc}", path=where) from None
    if total > MAX_FILE_BYTES:
        raise PostError(f"file is larger than {MAX_FILE_BYTES // 2**20} MB", path=where)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


# The C0 controls XML 1.0 forbids, as bytes; U+FFFE/U+FFFF are EF BF BE/BF in
# UTF-8 and surrogates cannot come out of a strict UTF-8 decode at all.
_ILLEGAL_C0 = bytes(c for c in range(32) if c not in (9, 10, 13))


def _utf8_clean(raw: bytes, text: str | None = None) -> bool:
    """Whether UTF-8 ``raw`` (decoded: ``text``) surely decodes to no
    XML-illegal character: a scan of the bytes in C, several times cheaper
    than the regex over the text, and nearly every post is clean."""
    if len(raw.translate(None, _ILLEGAL_C0)) != len(raw):
        return False
    if text is not None:
        # One character in the text is found faster than three bytes in the bytes.
        return "\ufffe" not in text and "\uffff" not in text
    return b"\xef\xbf\xbe" not in raw and b"\xef\xbf\xbf" not in raw


def _decode(raw: bytes, where: str) -> tuple[str, bool]:
    """The file's text (see ``decode.decode_post``), and whether it was UTF-8."""
    try:
        text = decode_post(raw)
    except DecodeError as exc:
        raise PostError(str(exc), path=where) from None
    utf8 = not raw.startswith((b"\xff\xfe", b"\xfe\xff")) and (
        raw.startswith(b"\xef\xbb\xbf") or text.encode("utf-8", "surrogatepass") == raw
    )
    return text, utf8


# --------------------------------------------------------------------------- front matter


@lru_cache(maxsize=1)
def _loader() -> type[yaml.CSafeLoader]:
    """YAML with 1.2-ish scalars: only true/false/null resolve; everything else is text.

    PyYAML's YAML 1.1 rules turn ``title: no`` into False, ``title: 1:20`` into
    80 and ``title: 010`` into 8. Dates are parsed by us, so they stay text too.

    Made on first use: most front matter never needs PyYAML (``_simple_yaml``),
    and importing it costs an edit build ~35-50 ms.
    """
    import yaml

    class Loader(yaml.CSafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {}
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
    )
    Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])
    return Loader


_FENCE = re.compile(r"^(-{3,}|\+{3,})[ \t]*\n", re.ASCII)
_CLOSE_YAML = re.compile(r"\n(?:-{3,}|\.\.\.)[ \t]*$", re.M)
_CLOSE_TOML = re.compile(r"\n\+{3,}[ \t]*$", re.M)
_JSON_START = re.compile(r'\{\s*(?:"|\})')
_CLOSE_HEXO_JSON = re.compile(r"^;{3,}[ \t]*$", re.M)


def _split_front_matter(
    text: str, where: str, *, parse: bool = True, printable: bool = False
) -> tuple[dict[str, Any], str]:
    """(front matter, body); ``parse=False`` leaves YAML and TOML front matter
    unread (an empty mapping) when only the body is wanted. ``printable``: the
    caller knows the text holds nothing YAML refuses to read."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.removeprefix("\ufeff")
    # Hexo writes (and the sample corpus has) blank lines before the opening fence.
    start = len(text) - len(text.lstrip(" \t\n"))
    start = text.rfind("\n", 0, start) + 1 if start else 0
    head = text[start:]
    fence = _FENCE.match(head)
    if fence:
        marker = fence.group(1)[0] * 3
        # Searched from the fence's own newline: a pattern that starts with
        # "\n" is found by a fast scan, one that starts with "^" is tried at
        # every character (``end.start() + 1`` is where the closing line starts).
        end = (
            _CLOSE_TOML.search(head, fence.end() - 1)
            if marker == "+++"
            else _CLOSE_YAML.search(head, fence.end() - 1)
        )
        if end is None:
            raise PostError(f"front matter opened with {marker!r} is never closed", path=where)
        raw_meta = head[fence.end() : end.start() + 1]
        body = head[end.end() + 1 :]
        if not parse:
            return {}, body
        if (
            len(raw_meta) * 4 > MAX_FRONT_MATTER_BYTES
            and len(raw_meta.encode("utf-8")) > MAX_FRONT_MATTER_BYTES
        ):
            raise PostError(
                f"front matter is larger than {MAX_FRONT_MATTER_BYTES // 2**20} MB", path=where
            )
        first_line = text.count("\n", 0, start) + 2
        if marker == "+++":
            meta = _load_toml(raw_meta, where)
        else:
            meta = _load_yaml(raw_meta, where, first_line, printable)
        return meta, body
    if head.startswith(";;;\n"):
        # Hexo's JSON front matter: the members of an object between ";;;" lines.
        end = _CLOSE_HEXO_JSON.search(head, 4)
        if end is None:
            raise PostError("front matter opened with ';;;' is never closed", path=where)
        raw_meta = head[4 : end.start()].strip()
        if not raw_meta.startswith("{"):
            raw_meta = "{" + raw_meta + "}"
        meta, rest = _load_json(raw_meta, where)
        if rest.strip():
            raise PostError("front matter between ';;;' lines is not one JSON object", path=where)
        return meta, head[end.end() + 1 :]
    if _JSON_START.match(head):
        return _load_json(head, where)
    return {}, text


# Characters YAML refuses to read at all; a stray one must not cost the post.
_YAML_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")


def _load_yaml(raw: str, where: str, first_line: int, printable: bool = False) -> dict[str, Any]:
    if not printable and _YAML_UNPRINTABLE.search(raw):
        raw = _YAML_UNPRINTABLE.sub("", raw)
    simple = _simple_yaml(raw)
    if simple is not None:
        return simple
    import yaml

    loader = _loader()(raw)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        if "*" in raw:
            _check_expansion(node, where)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = f" (line {first_line + mark.line})" if mark is not None else ""
        raise PostError(f"front matter is not valid YAML{line}: {problem}", path=where) from None
    except RecursionError:
        raise PostError("front matter is nested too deeply", path=where) from None
    finally:
        loader.dispose()
    return _mapping(data, "YAML", where)


_SIMPLE_KEY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_FLOW_QUOTED = re.compile(r"\[[ \t]*'[^',\[\]]*'(?:[ \t]*,[ \t]*'[^',\[\]]*')*[ \t]*\]")
_QUOTED_ITEM = re.compile(r"'([^',\[\]]*)'")
_PLAIN_BAD_START = frozenset("[]{}#&*!|>%@`,?:-'\"")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NOT_SIMPLE = object()


def _simple_yaml(raw: str) -> dict[str, Any] | None:
    """The common front matter shape without PyYAML, or None to let PyYAML decide.

    Handles ``key: scalar``, ``key: [a, b]`` and ``key:`` followed by ``- item``
    lines, with plain, single- or simply double-quoted scalars; anything else
    (anchors, block scalars, nesting, comments, escapes) returns None. The
    result equals what :class:`_Loader` gives (a test holds the two together).
    PyYAML is most of the cost of reading a post; this is ~10x faster.
    """
    data: dict[str, Any] = {}
    block_keys: list[str] = []
    items: list[Any] | None = None  # the list ``- item`` lines append to
    indent: str | None = None
    cache = _LINE_CACHE
    for line in raw.split("\n"):
        token = cache.get(line)
        if token is None:
            token = _simple_line(line)
            if len(cache) >= _LINE_CACHE_SIZE:
                cache.clear()
            cache[line] = token
        kind = token[0]
        if kind is _BLANK:
            continue
        if kind is _ITEM:
            if items is None or (indent is not None and token[1] != indent):
                return None
            indent = token[1]
            items.append(token[2])
            continue
        if kind is _NOT_SIMPLE:
            return None
        key = token[1]
        if key in data:
            return None
        if kind is _BLOCK:
            items, indent = [], None
            data[key] = items
            block_keys.append(key)
            continue
        items = None
        value = token[2]
        data[key] = list(value) if kind is _FLOW else value
    for key in block_keys:
        if not data[key]:
            data[key] = None  # ``key:`` with no items under it is null, not []
    return data


# What one front matter line is, whatever lines surround it, as a token for
# _simple_yaml: (_BLANK,), (_ITEM, indent, value), (_BLOCK, key),
# (_SCALAR, key, value), (_FLOW, key, values) or (_NOT_SIMPLE,). Posts of one
# site repeat most lines (``comments: false``, ``- Category``, the authors), so
# tokens are kept: emptied when full rather than kept in LRU order.
_BLANK, _ITEM, _BLOCK, _SCALAR, _FLOW = "blank", "item", "block", "scalar", "flow"
_LINE_CACHE: dict[str, tuple[Any, ...]] = {}
_LINE_CACHE_SIZE = 4096


def _simple_line(line: str) -> tuple[Any, ...]:
    # _SIMPLE_ITEM and _SIMPLE_KEY, taken apart with string methods: their lazy
    # ``(.*?)[ \t]*\Z`` tries the end of the line at every character.
    if not line or line.isspace():
        return (_BLANK,)
    first = line[0]
    if first == " " or first == "-":
        rest = line.lstrip(" ")
        if rest[:1] != "-" or rest[1:2] not in (" ", "\t"):
            return (_NOT_SIMPLE,)
        value = _simple_scalar(rest[2:].strip(" \t"))
        if value is _NOT_SIMPLE:
            return (_NOT_SIMPLE,)
        return (_ITEM, line[: len(line) - len(rest)], value)
    key, colon, rest = line.partition(":")
    key = key.rstrip(" \t")
    if not colon or not _SIMPLE_KEY_NAME.fullmatch(key):
        return (_NOT_SIMPLE,)
    if key in _NULLS or key in _BOOLS:
        return (_NOT_SIMPLE,)
    text = rest.strip(" \t")
    if not text:
        return (_BLOCK, key)
    if rest[0] != " " and rest[0] != "\t":
        return (_NOT_SIMPLE,)
    if text[0] == "[" and text[-1] == "]":
        if _FLOW_QUOTED.fullmatch(text):
            # Hexo's ``tags: ['a', 'b']``: what the general loop below gives.
            return (_FLOW, key, tuple(_QUOTED_ITEM.findall(text)))
        inner = text[1:-1].strip()
        values = [_simple_scalar(v.strip()) for v in inner.split(",")] if inner else []
        for v in values:
            if v is None or v is _NOT_SIMPLE or (type(v) is str and ("[" in v or "]" in v)):
                return (_NOT_SIMPLE,)
        return (_FLOW, key, tuple(values))
    value = _simple_scalar(text)
    if value is _NOT_SIMPLE:
        return (_NOT_SIMPLE,)
    return (_SCALAR, key, value)


def _simple_scalar(text: str) -> Any:
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    first = text[0]
    if first == "'":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != "'" or "'" in inner.replace("''", ""):
            return _NOT_SIMPLE
        return inner.replace("''", "'")
    if first == '"':
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != '"' or '"' in inner or "\\" in inner:
            return _NOT_SIMPLE
        return inner
    if first in _PLAIN_BAD_START or ": " in text or ":\t" in text or " #" in text or "\t#" in text:
        return _NOT_SIMPLE
    if text[-1] == ":" or "{" in text or "}" in text:
        return _NOT_SIMPLE
    return text


def _check_expansion(node: yaml.Node, where: str) -> None:
    """Refuse alias bombs: count nodes as a consumer walking the data would see them."""
    import yaml

    budget = MAX_YAML_NODES
    stack: list[yaml.Node] = [node]
    while stack:
        current = stack.pop()
        budget -= 1
        if budget < 0:
            raise PostError(
                f"front matter expands to more than {MAX_YAML_NODES} values through YAML"
                " aliases (an alias bomb?)",
                path=where,
            )
        if isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.append(key)
                stack.append(value)


def _load_toml(raw: str, where: str) -> dict[str, Any]:
    import tomllib  # here: Hugo's TOML front matter is the rare case

    try:
        return tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise PostError(f"front matter is not valid TOML: {exc}", path=where) from None
    except RecursionError:
        raise PostError("front matter is nested too deeply", path=where) from None


def _load_json(text: str, where: str) -> tuple[dict[str, Any], str]:
    try:
        data, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise PostError(
            f"front matter is not valid JSON (line {exc.lineno}): {exc.msg}", path=where
        ) from None
    except RecursionError:
        raise PostError("front matter is nested too deeply", path=where) from None
    if end * 4 > MAX_FRONT_MATTER_BYTES and len(text[:end].encode()) > MAX_FRONT_MATTER_BYTES:
        raise PostError(
            f"front matter is larger than {MAX_FRONT_MATTER_BYTES // 2**20} MB", path=where
        )
    return _mapping(data, "JSON", where), text[end:].lstrip(" \t").removeprefix("\n")


def _mapping(data: object, kind: str, where: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PostError(
            f"front matter must be a {kind} mapping of keys to values, got a {type(data).__name__}",
            path=where,
        )
    return {str(k): v for k, v in data.items()}


# --------------------------------------------------------------------------- fields -> entry


@lru_cache(maxsize=32)
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


_JEKYLL_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-(.+)$")


def _entry(
    where: str,
    rel: str,
    meta: dict[str, Any],
    body: str,
    source: PostsSource,
    site: Site,
    keep_text: bool = True,
    digest: str | None = None,
) -> Entry | None:
    """The entry a post's front matter and body make; None for a draft.

    ``digest``: the body's, when the caller has it (see _read)."""
    entry = _entry_fast(where, rel, meta, body, source, site, keep_text, digest)
    if entry is not None:
        return entry
    return _entry_general(where, rel, meta, body, source, site, keep_text, digest)


class _FileName(NamedTuple):
    """What a post's path says about it."""

    rel_stem: str  # without suffix; for a page bundle's index, the folder
    fmt: BodyFormat
    parent: str
    stem: str
    slug: str  # the stem without a Jekyll date prefix
    name_date: date | None  # the Jekyll date prefix


def _file_name(rel: str) -> _FileName:
    rel_stem, suffix = os.path.splitext(rel)
    suffix = suffix.lower()
    parent, _, stem = rel_stem.rpartition("/")
    if stem in ("index", "_index") and parent:
        # A Hugo page bundle: the folder is the post.
        rel_stem = parent
        parent, _, stem = parent.rpartition("/")
    name_date: date | None = None
    slug = stem
    jekyll = _JEKYLL_NAME.match(stem)
    if jekyll:
        try:
            name_date = date(int(jekyll[1]), int(jekyll[2]), int(jekyll[3]))
            slug = jekyll[4]
        except ValueError:
            name_date = None
    fmt: BodyFormat = "html" if suffix in _HTML_SUFFIXES else "markdown"
    return _FileName(rel_stem, fmt, parent, stem, slug, name_date)


def _entry_general(
    where: str,
    rel: str,
    meta: dict[str, Any],
    body: str,
    source: PostsSource,
    site: Site,
    keep_text: bool,
    digest: str | None,
) -> Entry | None:
    if _is_draft(meta, where):
        return None
    zone = _zone(site.timezone)
    rel_stem, fmt, parent, stem, slug, name_date = _file_name(rel)

    title = _text(meta.get("title"), "title", where)
    if title:
        title = _clean(title)
    if not title:
        title = _first_heading(body) or slug.replace("-", " ").replace("_", " ").strip() or stem

    published = _first_date(meta, ("date", "publishDate", "pubdate"), zone, where)
    if published is None and not isinstance(_bool_word(meta.get("published")), bool):
        published = _first_date(meta, ("published",), zone, where)
    if published is None and name_date is not None:
        published = datetime.combine(name_date, time(), zone).astimezone(UTC)
    if published is None:
        published = _mtime(where)
    updated = _first_date(meta, ("updated", "lastmod", "modified", "last_modified_at"), zone, where)
    if updated is None or updated < published:
        updated = published

    categories = _names(
        [meta.get("categories"), meta.get("category"), list(source.categories)], where
    )
    tags = _names([meta.get("tags"), meta.get("tag")], where)

    explicit_slug = _text(meta.get("slug"), "slug", where)
    if explicit_slug:
        slug = explicit_slug.strip().strip("/") or slug

    explicit_link = _text(meta.get("permalink"), "permalink", where) or _text(
        meta.get("link"), "link", where
    )
    if explicit_link and explicit_link.strip():
        # Only http(s)/mailto links are published: a `javascript:` link in
        # front matter is dropped like one in a remote feed.
        explicit_link = safe_url(_join(site.url, explicit_link.strip()))
    if explicit_link:
        link = explicit_link
    else:
        link = _derived_link(
            source, site, zone, published, parent, stem, slug, title, categories, where
        )

    explicit_id = _text(meta.get("id"), "id", where) or _text(meta.get("guid"), "guid", where)
    if explicit_id and explicit_id.strip():
        entry_id = explicit_id.strip()
        if not _HAS_SCHEME.match(entry_id):
            entry_id = _tag_prefix(site.url) + quote(entry_id, safe=_URI_SAFE)
    elif explicit_link:
        entry_id = link
    else:
        entry_id = _tag_prefix(site.url) + _quote(rel_stem)

    summary = None
    for key in ("summary", "description", "excerpt"):
        value = _text(meta.get(key), key, where)
        if value and value.strip():
            summary = strip_xml_illegal(value.strip())[0]
            break

    language = _text(meta.get("lang"), "lang", where) or _text(
        meta.get("language"), "language", where
    )

    return Entry(
        id=entry_id,
        title=title,
        published=published,
        updated=updated,
        link=link,
        authors=_authors(meta.get("author", meta.get("authors")), where),
        categories=categories,
        tags=tags,
        summary=summary,
        content=None,
        body=Body(body if keep_text else None, fmt, link, digest or _digest(body)),
        enclosures=_images(meta, link, where),
        language=(language.strip() if language else None) or site.language,
        origin=rel,
    )


def _derived_link(
    source: PostsSource,
    site: Site,
    zone: tzinfo,
    published: datetime,
    parent: str,
    stem: str,
    slug: str,
    title: str,
    categories: tuple[str, ...],
    where: str,
) -> str:
    """The link of a post without a ``permalink``/``link`` of its own."""
    if not source.permalink:
        return _join(site.url, _quote(f"{parent}/{slug}/" if parent else f"{slug}/"))
    local = published.astimezone(zone)
    values = {
        "year": f"{local.year:04d}",
        "month": f"{local.month:02d}",
        "day": f"{local.day:02d}",
        "slug": slug,
        "filename": stem,
    }
    # Slugifying costs more than all the rest: only for a pattern that uses it.
    wanted = _pattern_parts(source.permalink)[1::2]
    if "title" in wanted:
        values["title"] = _slugify(title) or slug
    if "category" in wanted:
        values["category"] = _slugify(categories[0]) if categories else "uncategorized"
    return _join(site.url, _fill(source.permalink, values, where))


# Front matter keys only _entry_general reads: a post without any of them
# (most posts) can take _entry_fast.
_GENERAL_KEYS = frozenset(
    {
        "draft",
        "published",
        "publishDate",
        "pubdate",
        "updated",
        "lastmod",
        "modified",
        "last_modified_at",
        "category",
        "tag",
        "slug",
        "permalink",
        "link",
        "id",
        "guid",
        "summary",
        "description",
        "excerpt",
        "lang",
        "language",
        "authors",
        "image",
        "cover",
        "images",
    }
)


def _entry_fast(
    where: str,
    rel: str,
    meta: dict[str, Any],
    body: str,
    source: PostsSource,
    site: Site,
    keep_text: bool,
    digest: str | None,
) -> Entry | None:
    """_entry_general for the common shape, or None to leave the post to it.

    The shape: none of _GENERAL_KEYS; a text ``title`` and ``date``; text or
    lists of text for ``categories``/``tags``, ``author``, ``headimg`` and
    ``thumbnail``. Then nothing can be an error but the date (left to the
    general path) and most steps reduce to a lookup; a test holds the two
    paths together.
    """
    if not meta.keys().isdisjoint(_GENERAL_KEYS):
        return None
    title = meta.get("title")
    value = meta.get("date")
    if type(title) is not str or type(value) is not str or value == "":
        return None
    title = " ".join(title.split())
    if not title:
        return None
    zone = _zone(site.timezone)
    try:
        published = parse_date(value, zone)
    except (ValueError, OverflowError):
        return None
    categories = _names_fast(meta.get("categories"), source.categories)
    tags = _names_fast(meta.get("tags"), ())
    author = meta.get("author")
    headimg = meta.get("headimg")
    thumbnail = meta.get("thumbnail")
    if (
        categories is None
        or tags is None
        or not (author is None or type(author) is str)
        or not (headimg is None or type(headimg) is str)
        or not (thumbnail is None or type(thumbnail) is str)
    ):
        return None
    rel_stem, fmt, parent, stem, slug, _ = _file_name(rel)
    link = _derived_link(
        source, site, zone, published, parent, stem, slug, title, categories, where
    )
    enclosures: tuple[Enclosure, ...] = ()
    if headimg is not None or thumbnail is not None:
        enclosures = _images(meta, link, where)
    values = (
        _tag_prefix(site.url) + _quote(rel_stem),  # id
        title,
        published,
        published,  # updated
        link,
        () if author is None else _author(author),
        categories,
        tags,
        None,  # summary
        None,  # content
        Body(body if keep_text else None, fmt, link, digest or _digest(body)),
        enclosures,
        None,  # source
        site.language,
        rel,  # origin
    )
    if published.tzinfo is not UTC:
        return Entry(*values)
    # Entry's __init__ sets each frozen field through object.__setattr__, then
    # checks that the times are UTC (as they are here): a sixth of the cost of
    # this function. The fields are set straight into the slots instead.
    return new_entry(values)


def _names_fast(value: object, extra: tuple[str, ...]) -> tuple[str, ...] | None:
    """``_names([value, list(extra)])`` for None or a list of texts; else None."""
    if value is None:
        items: list[str] = []
    elif type(value) is list:
        items = value
    else:
        return None
    seen: dict[str, str] = {}
    for group in (items, extra):
        for item in group:
            if type(item) is not str:
                return None
            name, key = _name_key(item)
            if key and key not in seen:
                seen[key] = name
    return tuple(seen.values())


@lru_cache(maxsize=8192)  # a site has few distinct names, used on every post
def _name_key(item: str) -> tuple[str, str]:
    """A category or tag as _names keeps it, and its identity."""
    name = _clean(item)
    return name, category_key(name)


@lru_cache(maxsize=1024)  # a site has few authors
def _author(name: str) -> tuple[Person, ...]:
    return _authors(name, "")


_TRUE_WORDS = frozenset({"true", "yes", "on", "1", "y"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0", "n"})


def _bool_word(value: object) -> bool | None:
    """Booleans as YAML 1.1 authors write them (``draft: yes``), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def _is_draft(meta: dict[str, Any], where: str) -> bool:
    draft = meta.get("draft")
    if draft is not None and _bool_word(draft) is None:
        raise PostError(f"draft: expected true or false, got {draft!r}", path=where)
    return _bool_word(draft) is True or _bool_word(meta.get("published")) is False


def _text(value: object, key: str, where: str) -> str | None:
    """A scalar front matter value as the text the author wrote."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise PostError(f"{key}: expected text, got a {type(value).__name__}", path=where)


def _clean(text: str) -> str:
    # XML-illegal characters already went with the whole file in _read.
    return " ".join(text.split())


_MD_HEADING = re.compile(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.M)
_HTML_H1 = re.compile(r"<h1(?:\s[^>]*)?>(.*?)</h1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")
_MD_INLINE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|[*_`]+")


def _first_heading(body: str) -> str | None:
    found: list[tuple[int, str]] = []
    md = _MD_HEADING.search(body)
    if md:
        found.append((md.start(), _MD_INLINE.sub(lambda m: m.group(1) or "", md.group(1))))
    h1 = _HTML_H1.search(body)
    if h1:
        found.append((h1.start(), _TAG.sub("", h1.group(1))))
    for _, raw in sorted(found):
        title = _clean(html.unescape(raw))
        if title:
            return title
    return None


_DATE = re.compile(
    r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
    r"(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"[ \t]*(?:(Z|z|UTC|GMT)|([+-])(\d{1,2})(?::?(\d{2}))?)?\Z"
)


_RFC2822 = re.compile(
    r"(?:[A-Za-z]{3}, ?)?(\d{1,2}) ([A-Za-z]{3}) (\d{4})"
    r" (\d{2}):(\d{2})(?::(\d{2}))? (?:([+-])(\d{2})(\d{2})|(?i:(GMT|UTC?|Z)))\Z"
)
_NO_OFFSET = timedelta()
_ISO_SECONDS = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[+-][0-9]{2}:[0-9]{2})?\Z"
)
_DAY = timedelta(days=1)
_MONTH_NUMBERS = {
    name: n
    for n, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def parse_date(value: object, zone: tzinfo) -> datetime:
    """A front matter date as UTC; dates without a zone are in ``zone``. Raises ValueError."""
    if isinstance(value, datetime):
        dt = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return dt.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), zone).astimezone(UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    text = value.strip()
    if _ISO_SECONDS.match(text):
        # The shape most posts carry, by the C parser; _DATE reads it the same
        # way (a test holds the two together), and whatever the C parser
        # refuses or cannot convert is left to _DATE's own error.
        try:
            iso = datetime.fromisoformat(text)
            if iso.tzinfo is None:
                return iso.replace(tzinfo=zone).astimezone(UTC)
            return iso.astimezone(UTC)
        except (ValueError, OverflowError):
            pass
    m = _DATE.match(text)
    if m:
        frac = m[7] or ""
        try:
            dt = datetime(
                int(m[1]),
                int(m[2]),
                int(m[3]),
                int(m[4] or 0),
                int(m[5] or 0),
                int(m[6] or 0),
                int((frac + "000000")[:6]),
            )
        except ValueError as exc:
            raise ValueError(f"not a date: {value!r} ({exc})") from None
        if m[8]:
            return dt.replace(tzinfo=UTC)
        if m[9]:
            offset = timedelta(hours=int(m[10]), minutes=int(m[11] or 0))
            return (dt - offset if m[9] == "+" else dt + offset).replace(tzinfo=UTC)
        return dt.replace(tzinfo=zone).astimezone(UTC)
    rfc_match = _RFC2822.match(text)
    if rfc_match and rfc_match[2].lower() in _MONTH_NUMBERS:
        # The shape Hexo and most exporters write (``Sat, 28 Jun 2025 06:42:52
        # +0800``), without parsedate's general tokenizer; a test holds the two
        # together. An impossible date (31 Feb) falls through to parsedate.
        day, month, year, hour, minute, second, sign, hh, mm, _ = rfc_match.groups()
        try:
            if not sign and int(year) < 100:
                # parsedate reads 0001-0099 as two-digit years (2001); only
                # the zone-name shape, which always went to it, follows it here.
                raise ValueError("a year parsedate reads as two digits")
            dt = datetime(
                int(year),
                _MONTH_NUMBERS[month.lower()],
                int(day),
                int(hour),
                int(minute),
                int(second or 0),
            )
            # A zone name (GMT, UT, UTC, Z) is UTC to parsedate.
            offset = timedelta(hours=int(hh), minutes=int(mm)) if sign else _NO_OFFSET
            if offset >= _DAY:
                raise ValueError("offset of a day or more")
        except ValueError:
            pass
        else:
            return (dt - offset if sign == "+" else dt + offset).replace(tzinfo=UTC)
    try:
        iso = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return parse_date(iso, zone)
    try:
        from email.utils import parsedate_to_datetime  # on first use: ~8 ms to import

        rfc = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"not a date: {value!r}") from None
    # RFC 2822 "-0000" means "UTC, local zone unknown"; parsedate returns it naive.
    return (rfc if rfc.tzinfo is not None else rfc.replace(tzinfo=UTC)).astimezone(UTC)


def _first_date(
    meta: dict[str, Any], keys: tuple[str, ...], zone: tzinfo, where: str
) -> datetime | None:
    for key in keys:
        value = meta.get(key)
        if value is None or value == "":
            continue
        try:
            return parse_date(value, zone)
        except (ValueError, OverflowError):
            raise PostError(
                f"{key}: cannot understand {value!r} as a date"
                " (use RFC 2822, ISO 8601 or YYYY-MM-DD HH:MM:SS)",
                path=where,
            ) from None
    return None


def _mtime(where: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(os.stat(where).st_mtime), UTC)
    except OSError as exc:
        raise PostError(f"cannot read: {exc.strerror or exc}", path=where) from None


_SPLIT_COMMAS = re.compile(r"[,，、]")


def _names(values: Iterable[object], where: str) -> tuple[str, ...]:
    """Categories or tags in first-seen order, one per case-insensitive name."""
    seen: dict[str, str] = {}
    for name in _flatten(values, where):
        name = _clean(name)
        key = category_key(name)
        if key and key not in seen:
            seen[key] = name
    return tuple(seen.values())


def _flatten(values: Iterable[object], where: str) -> Iterator[str]:
    for value in values:
        if value is None:
            continue
        if isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, list | tuple):
                    yield from _flatten(item, where)
                elif item is not None:
                    yield _text(item, "categories", where) or ""
        elif isinstance(value, str):
            yield from (_SPLIT_COMMAS if _SPLIT_COMMAS.search(value) else _SPACES).split(value)
        else:
            yield _text(value, "categories", where) or ""


_SPACES = re.compile(r"\s+")


def _authors(value: object, where: str) -> tuple[Person, ...]:
    items = value if isinstance(value, list) else [value]
    people: list[Person] = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, dict):
            name = _text(item.get("name"), "author.name", where)
            email = _text(item.get("email"), "author.email", where)
            uri = next(
                (
                    _text(item[k], f"author.{k}", where)
                    for k in ("uri", "url", "link")
                    if item.get(k) is not None
                ),
                None,
            )
            name = _clean(name or "") or (email or "").strip()
            if name:
                people.append(
                    Person(name, (email or "").strip() or None, (uri or "").strip() or None)
                )
        else:
            name = _clean(_text(item, "author", where) or "")
            if name:
                people.append(Person(name))
    return tuple(dict.fromkeys(people))


_IMAGE_KEYS = ("headimg", "thumbnail", "image", "cover", "images")
# Our own table: the mimetypes module reads /etc/mime.types, which differs by
# machine, and the output must not.
_IMAGE_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpe": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "svg": "image/svg+xml",
    "bmp": "image/bmp",
    "ico": "image/x-icon",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "heic": "image/heic",
}


def _images(meta: dict[str, Any], base: str, where: str) -> tuple[Enclosure, ...]:
    if meta.keys().isdisjoint(_IMAGE_KEYS):
        return ()
    urls: dict[str, None] = {}
    for key in _IMAGE_KEYS:
        for raw in _image_values(meta.get(key), key, where):
            text = raw.strip()
            url = safe_url(_join(base, text)) if text else None
            if url:
                urls[url] = None
    return tuple(Enclosure(url, image_type(url)) for url in urls)


def _image_values(value: object, key: str, where: str) -> Iterator[str]:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, list | tuple):
        for item in value:
            yield from _image_values(item, key, where)
    elif isinstance(value, dict):
        # Hugo themes write ``cover: {image: ..., alt: ...}``.
        for sub in ("image", "url", "src"):
            if value.get(sub) is not None:
                yield from _image_values(value[sub], key, where)
                return
    else:
        yield _text(value, key, where) or ""


def image_type(url: str) -> str:
    """The media type an image URL's extension suggests; ``image/jpeg`` if unknown."""
    # urlsplit(url).path, without urlsplit's cost (most posts have an image).
    path = url.split("#", 1)[0].split("?", 1)[0]
    scheme = path.find("://")
    if scheme >= 0:
        slash = path.find("/", scheme + 3)
        path = "" if slash < 0 else path[slash:]
    name = path.rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _IMAGE_TYPES.get(ext, "image/jpeg")


_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_URI_SAFE = "/:@!$&'()*+,;=-._~"


@lru_cache(maxsize=32)
def _tag_prefix(site_url: str) -> str:
    """``tag:host,2000:path/`` (RFC 4151): ids that do not pretend to be links."""
    parts = urlsplit(site_url)
    host = (parts.hostname or "localhost").lower()
    path = parts.path.strip("/")
    return f"tag:{host},{_TAG_DATE}:{path + '/' if path else ''}"


def _join(base: str, ref: str) -> str:
    """``urljoin``, except that a URL with a scheme is taken as it is."""
    if _HAS_SCHEME.match(ref):
        return ref
    return join_url(base, ref)


_PLACEHOLDER = re.compile(r"\{(\w*)\}")
PLACEHOLDERS = ("year", "month", "day", "slug", "title", "category", "filename")


@lru_cache(maxsize=64)
def _pattern_parts(pattern: str) -> tuple[str, ...]:
    """A permalink pattern split into literal text (even) and placeholder names (odd)."""
    return tuple(_PLACEHOLDER.split(pattern.lstrip("/")))


def _fill(pattern: str, values: dict[str, str], where: str) -> str:
    parts = _pattern_parts(pattern)
    out = list(parts)
    for i in range(1, len(parts), 2):
        name = parts[i]
        if name not in values:
            raise PostError(
                f"permalink pattern {pattern!r}: unknown placeholder {{{name}}}"
                f" (use {', '.join('{' + k + '}' for k in PLACEHOLDERS)})",
                path=where,
            )
        value = values[name]
        out[i] = (
            value
            if _UNRESERVED.fullmatch(value)
            else quote(value, safe="/" if name == "slug" else "")
        )
    return "".join(out)


# What ``quote`` leaves alone whatever ``safe`` is: most paths and every
# number are all of it, and ``quote`` is slow to find that out.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
_UNRESERVED_PATH = re.compile(r"[A-Za-z0-9_.~/-]*")


def _quote(path: str) -> str:
    """``quote(path)`` (``/`` kept), with a fast path for paths it leaves alone."""
    return path if _UNRESERVED_PATH.fullmatch(path) else quote(path)


_SLUG_JUNK = re.compile(r"[^\w]+")


def _slugify(text: str) -> str:
    return _SLUG_JUNK.sub("-", unicodedata.normalize("NFKC", text).lower()).strip("-_")


__all__ = [
    "MAX_FILE_BYTES",
    "MAX_FRONT_MATTER_BYTES",
    "POST_SUFFIXES",
    "PostsResult",
    "image_type",
    "parse_date",
    "read_body",
    "read_post",
    "read_posts",
]
