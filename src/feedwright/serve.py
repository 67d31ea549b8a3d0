"""``feedwright run --serve HOST:PORT``: serve the output folder to feed readers over HTTP.

A small ``ThreadingHTTPServer`` for a site without a web server in front (or
for trying things out). It serves *only* the published files under
``output.dir``:

- paths are percent-decoded as UTF-8 (category folders like ``金融``), and any
  ``..``, hidden name (``.feedwright.lock``, the manifest, publish's temp
  files) or symlink leading outside the folder is a 404;
- feeds get their proper types (``application/atom+xml``, ``application/rss+xml``,
  ``application/feed+json``, ``text/x-opml``);
- a strong ``ETag`` (hash of the bytes) and ``Last-Modified`` on every file,
  answered with ``304`` on ``If-None-Match`` / an ``If-Modified-Since`` equal
  to the ``Last-Modified`` sent (as nginx); since a
  build that changes nothing rewrites nothing, polling readers mostly get 304s;
- ``gzip`` when the client accepts it (with ``Vary: Accept-Encoding``); the
  gzip copy has its own ETag, as a different representation must;
- ``GET`` and ``HEAD``; a folder is its ``index.html`` (the feed's page,
  ``output.pages``), else ``/`` is ``index.opml``, else a tiny HTML listing;
- a browser (its ``Accept`` prefers ``text/html`` to the feed types) gets
  ``atom.xml`` and ``rss.xml`` as ``application/xml``, which it shows through
  their ``feed.xsl`` (``Vary: Accept``); a reader gets the feed's own type;
- from the daemon, ``/status`` and ``/status.json``: every source's state and
  the last builds (statuspage.py), made fresh for each request.

Access logs go to the ``feedwright.serve`` logger at debug level.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import logging
import mimetypes
import os
import socket
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

log = logging.getLogger("feedwright.serve")

CONTENT_TYPES = {
    "atom.xml": "application/atom+xml; charset=utf-8",
    "rss.xml": "application/rss+xml; charset=utf-8",
    "feed.json": "application/feed+json",
}
SUFFIX_TYPES = {
    ".opml": "text/x-opml; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".xsl": "text/xsl; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
INDEX = "index.opml"
PAGE = "index.html"
# The feed files a browser is given as plain XML, so that it applies their stylesheet.
BROWSER_XML = frozenset({"atom.xml", "rss.xml"})
MIN_GZIP_BYTES = 256  # below this, gzip's header costs more than it saves
CACHE_FILES = 256  # bodies (and their gzip copies) kept in memory, keyed by stat
MAX_CACHED_BYTES = 4 * 1024 * 1024  # bigger files are hashed and compressed per request


def content_type(name: str) -> str:
    if name in CONTENT_TYPES:
        return CONTENT_TYPES[name]
    suffix = os.path.splitext(name)[1].lower()
    if suffix in SUFFIX_TYPES:
        return SUFFIX_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def prefers_html(accept: str) -> bool:
    """Whether an ``Accept`` header (a browser's) ranks ``text/html`` above every
    feed type: then a feed is sent as ``application/xml``, for its stylesheet."""
    ranks: dict[str, float] = {}
    for part in accept.lower().split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranks[kind] = max(q, ranks.get(kind, 0.0))
    html_q = ranks.get("text/html", 0.0)
    feeds = ("application/atom+xml", "application/rss+xml")
    return html_q > 0 and all(html_q > ranks.get(kind, 0.0) for kind in feeds)


def _compressible(ctype: str) -> bool:
    return ctype.startswith("text/") or "xml" in ctype or "json" in ctype


@dataclass(frozen=True, slots=True)
class _Body:
    data: bytes
    etag: str  # strong, quoted
    gz: bytes | None  # None when not worth compressing


class _BodyCache:
    """File bodies by (path, size, mtime_ns, inode): hashing and gzip once per version."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, int, int, int], _Body] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str, st: os.stat_result, data: bytes, ctype: str) -> _Body:
        key = (path, st.st_size, st.st_mtime_ns, st.st_ino)
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
                return body
        digest = hashlib.sha256(data).hexdigest()[:32]
        gz = None
        if _compressible(ctype) and len(data) >= MIN_GZIP_BYTES:
            # mtime=0: the same bytes always compress to the same bytes.
            gz = gzip.compress(data, compresslevel=6, mtime=0)
        body = _Body(data, f'"{digest}"', gz)
        if len(data) <= MAX_CACHED_BYTES:
            with self._lock:
                self._items[key] = body
                while len(self._items) > CACHE_FILES:
                    self._items.popitem(last=False)
        return body


def resolve(root: Path, url_path: str) -> Path | None:
    """The file or folder under ``root`` a request path names, or None (-> 404).

    ``root`` must already be resolved. Refused: undecodable UTF-8, NUL,
    backslashes, ``.``/``..`` segments, hidden names, and anything whose real
    path (symlinks followed) is outside ``root``.
    """
    try:
        decoded = unquote(url_path, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return None
    if "\x00" in decoded or "\\" in decoded:
        return None
    parts = [p for p in decoded.split("/") if p]
    if any(p.startswith(".") for p in parts):
        return None  # also rules out "." and ".."
    target = root.joinpath(*parts)
    try:
        real = target.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if real != root and not real.is_relative_to(root):
        return None
    return real


def _accepts_gzip(header: str | None) -> bool:
    if not header:
        return False
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        return q > 0
    return False


def _etag_matches(header: str, etags: tuple[str, ...]) -> bool:
    # If-None-Match uses the weak comparison: W/"x" matches "x".
    if header.strip() == "*":
        return True
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag in etags:
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    """GET/HEAD for the files under ``server.root`` (see the module docstring)."""

    server: FeedServer
    server_version = "feedwright"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # ------------------------------------------------------------------ internals

    def _serve(self, *, head: bool) -> None:
        url_path = urlsplit(self.path).path
        if url_path in ("/status", "/status.json") and self.server.status is not None:
            self._status(url_path.endswith(".json"), head=head)
            return
        root = self.server.root
        target = resolve(root, url_path)
        if target is None:
            self._plain(HTTPStatus.NOT_FOUND, "not found\n", head=head)
            return
        if target.is_dir():
            if not url_path.endswith("/"):
                self._redirect(url_path + "/", head=head)
                return
            index = target / INDEX
            if (target / PAGE).is_file():
                target = target / PAGE
            elif target == root and index.is_file():
                target = index
            else:
                self._listing(target, url_path, head=head)
                return
        self._file(target, head=head)

    def _file(self, path: Path, *, head: bool) -> None:
        try:
            # One open file: its stat and its bytes are the same version, even
            # if a build replaces the file (rename) meanwhile.
            with open(path, "rb") as fh:
                st = os.fstat(fh.fileno())
                if not stat.S_ISREG(st.st_mode):
                    raise FileNotFoundError(str(path))
                data = fh.read()
        except OSError:
            self._plain(HTTPStatus.NOT_FOUND, "not found\n", head=head)
            return
        ctype = content_type(path.name)
        browser = path.name in BROWSER_XML and prefers_html(self.headers.get("Accept", ""))
        body = self.server.cache.get(str(path), st, data, ctype)
        if browser:
            ctype = "application/xml; charset=utf-8"
        gz_etag = f'{body.etag[:-1]}-gzip"'
        use_gzip = body.gz is not None and _accepts_gzip(self.headers.get("Accept-Encoding"))
        etag = gz_etag if use_gzip else body.etag
        last_modified = formatdate(st.st_mtime, usegmt=True)

        headers = {
            "Content-Type": ctype,
            "ETag": etag,
            "Last-Modified": last_modified,
            "Cache-Control": "no-cache",  # readers may keep it, but revalidate (cheap: 304)
        }
        vary = ["Accept"] if path.name in BROWSER_XML else []
        if body.gz is not None:
            vary.append("Accept-Encoding")
        if vary:
            headers["Vary"] = ", ".join(vary)
        if self._not_modified(st, (body.etag, gz_etag)):
            self._send(HTTPStatus.NOT_MODIFIED, headers, b"", head=True)
            return
        payload = body.gz if use_gzip and body.gz is not None else body.data
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        self._send(HTTPStatus.OK, headers, payload, head=head)

    def _not_modified(self, st: os.stat_result, etags: tuple[str, ...]) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            # RFC 9110: If-Modified-Since is ignored when If-None-Match is present.
            return _etag_matches(inm, etags)
        ims = self.headers.get("If-Modified-Since")
        if ims is None:
            return False
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            return False
        # As nginx does by default (``if_modified_since exact``): not modified
        # only for the very date we sent as Last-Modified, which a reader
        # echoes. Any other date is no proof of what the client holds: a
        # date in the future (a wrong clock), or a later one while the file
        # went back to an older copy. HTTP dates have whole seconds.
        return int(st.st_mtime) == since.timestamp()

    def _listing(self, folder: Path, url_path: str, *, head: bool) -> None:
        items: list[str] = []
        try:
            children = sorted(folder.iterdir(), key=lambda p: p.name)
        except OSError:
            children = []
        for child in children:
            if child.name.startswith("."):
                continue
            name = child.name + ("/" if child.is_dir() else "")
            items.append(f'<li><a href="{quote(name)}">{html.escape(name)}</a></li>')
        title = html.escape(unquote(url_path))
        page = (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            f"<title>{title}</title></head>\n<body><h1>{title}</h1>\n<ul>\n"
            + "\n".join(items)
            + "\n</ul></body></html>\n"
        )
        self._send(
            HTTPStatus.OK,
            {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"},
            page.encode("utf-8"),
            head=head,
        )

    def _status(self, as_json: bool, *, head: bool) -> None:
        """The daemon's status page (statuspage.py), made fresh for each request."""
        assert self.server.status is not None
        try:
            body = self.server.status(as_json)
        except Exception as exc:  # a page must not take the server down
            log.warning("status page failed: %s", exc)
            self._plain(HTTPStatus.SERVICE_UNAVAILABLE, "status unavailable\n", head=head)
            return
        ctype = "application/json" if as_json else "text/html; charset=utf-8"
        self._send(
            HTTPStatus.OK, {"Content-Type": ctype, "Cache-Control": "no-store"}, body, head=head
        )

    def _redirect(self, location: str, *, head: bool) -> None:
        self._send(
            HTTPStatus.MOVED_PERMANENTLY,
            {"Location": quote(location, safe="/%"), "Content-Type": "text/plain; charset=utf-8"},
            b"moved\n",
            head=head,
        )

    def _plain(self, status: HTTPStatus, text: str, *, head: bool) -> None:
        self._send(status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode(), head=head)

    def _send(
        self, status: HTTPStatus, headers: dict[str, str], body: bytes, *, head: bool
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)


class FeedServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its root folder and keeps a body cache."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], root: Path, status: StatusPage | None = None
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.root = root.resolve()
        self.cache = _BodyCache()
        self.status = status


# ``status(as_json)`` -> the body of /status (HTML) or /status.json.
StatusPage = Callable[[bool], bytes]


def make_server(
    directory: Path, host: str, port: int, status: StatusPage | None = None
) -> ThreadingHTTPServer:
    """A server for ``directory`` bound to ``host:port`` (port 0: any free one); not
    started. ``status``: what ``/status`` and ``/status.json`` answer (the daemon's)."""
    return FeedServer((host, port), directory, status)


def start_server(
    directory: Path, host: str, port: int, status: StatusPage | None = None
) -> ThreadingHTTPServer:
    """``make_server`` and serve it in a background thread; stop with ``shutdown()``."""
    server = make_server(directory, host, port, status)
    # A short poll interval so that shutdown() (which waits one interval) is quick.
    thread = threading.Thread(
        target=server.serve_forever, args=(0.1,), name="feedwright-serve", daemon=True
    )
    thread.start()
    return server
